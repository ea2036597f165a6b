"""fastref must return exactly what reference returns (bit for bit, NaN equal
to NaN, the sign of zero counted), deciding most rows itself and sending the
rest to the mpmath path; the fallback counter shows which."""

import math
import os
import re

import ml_dtypes
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from analysis import families, fastref, reference
from analysis.bench_truth import disagreements
from analysis.formats import FORMATS

from .conftest import DTYPES


def bits(a):
    a = np.asarray(a).astype(np.float64)
    return np.where(np.isnan(a), np.nan, a).view(np.uint64)


def assert_identical(z, axis=-1):
    """fastref == reference on z for all four outputs, bit for bit."""
    got = fastref.truths(z, axis) + (fastref.max_approx_error(z, axis),)
    expected = reference.truths(z, axis) + (reference.max_approx_error(z, axis),)
    for name, g, e in zip(("softmax", "logsumexp", "log_softmax", "max_approx_error"), got, expected):
        assert np.asarray(g).dtype == np.asarray(e).dtype, name
        assert np.shape(g) == np.shape(e), name
        differ = np.flatnonzero(bits(g) != bits(e))
        assert differ.size == 0, (name, np.asarray(g).ravel()[differ[:5]], np.asarray(e).ravel()[differ[:5]])


@pytest.mark.parametrize("n", [1, 2, 10, 100, 1000])
def test_random_normals_at_many_scales(dtype, n):
    # Every half decade from 1e-4 to 10**5.5 (underflow, overflow of exp
    # and of the format, clamped terms); fewer rows where rows are long.
    scales = np.logspace(-4, 5.5, 20)
    rows = {1: 12, 2: 12, 10: 6, 100: 2, 1000: 1}[n]
    rng = np.random.default_rng([20261125, n])
    with np.errstate(over="ignore"):
        for scale in scales[:: 1 if n <= 100 else 3]:
            z = (scale * rng.standard_normal((rows, n)) + rng.normal(0, scale, (rows, 1))).astype(dtype)
            assert_identical(z)


def test_two_level_near_every_threshold(dtype):
    offsets = families.offsets([-1.0, 4.0], 3, [0.99, 1.0, 1.01])
    gaps = families.gaps([-2.0, 3.0], 4, [0.99, 1.0, 1.01])
    c, g = (a.ravel() for a in np.meshgrid(offsets, gaps))
    rng = np.random.default_rng(11)  # seeded subsets of the grid's 3239 points
    with np.errstate(over="ignore", invalid="ignore"):
        for n, size in ((2, 600), (3, 600), (10, 600), (1000, 100)):
            pick = rng.choice(c.size, size, replace=False)
            assert_identical(families.two_level(c[pick], g[pick], n, dtype))


def test_special_values(dtype):
    inf, nan = math.inf, math.nan
    fmt = FORMATS[dtype.name]
    tiny = fmt.smallest_subnormal
    rows = [
        [0.0, -0.0, 0.0],
        [-0.0, -0.0, -0.0],
        [nan, 1.0, 2.0],
        [inf, 1.0, inf],
        [inf, -inf, 3.0],
        [-inf, -inf, -inf],
        [-inf, 1.0, -inf],
        [-inf, 0.0, -inf],
        [-inf, -0.0, -inf],
        [tiny, -tiny, 0.0],
        [fmt.smallest_normal, tiny, -fmt.smallest_normal],
        [fmt.max, -fmt.max, 0.0],
        [fmt.max, fmt.max, fmt.max],
        [-fmt.max, -fmt.max, fmt.ln_smallest_subnormal],
        [1.0, 1.0, 1.0],
        [0.5, 0.5, -1e4],
    ]
    with np.errstate(over="ignore"):
        z = np.array(rows).astype(dtype)
    assert_identical(z)
    for row in z:
        assert_identical(row)  # 1-D input gives scalars for logsumexp
        assert_identical(row[:1])  # n = 1
    assert_identical(z[:, :1])


def test_shapes_and_axis(dtype):
    z = np.random.default_rng(7).normal(0, 30, (3, 5, 4)).astype(dtype)
    for axis in (0, 1, -1):
        assert_identical(z, axis)


def test_same_errors_as_reference():
    for z, error in (
        (np.zeros(3, np.complex64), TypeError),
        (np.zeros((2, 0)), ValueError),
        (1.0, ValueError),
    ):
        for f in (reference.truths, fastref.truths):
            with pytest.raises(error):
                f(z)


def test_most_rows_decided_without_mpmath(dtype):
    z = np.random.default_rng(3).normal(0, 5, (200, 30)).astype(dtype)
    fastref.reset_stats()
    assert_identical(z)
    counts = fastref.stats()
    # Two calls (truths, max_approx_error) of 200 rows; a random row lies
    # within the bound (~2**-90 relative) of a rounding boundary with
    # probability far below 1e-9, so none should need mpmath.
    assert counts == {"elements": 2 * 200 * 30, "rows": 400, "fallback_rows": 0, "fallback_elements": 0}


def test_forced_fallback_gives_the_same_results(monkeypatch, dtype):
    # An error bound 2**80 times the proved one decides nothing near the
    # boundaries of any format: every such row must go to mpmath and still agree.
    z = np.random.default_rng(4).normal(0, 3, (20, 7)).astype(dtype)
    monkeypatch.setattr(fastref, "MARGIN", 2.0**82)
    fastref.reset_stats()
    assert_identical(z)
    assert fastref.stats()["fallback_rows"] == 40


def test_value_on_the_overflow_threshold_falls_back():
    # float16: d = -32768 - 32752 = -65520 = max + ulp(max)/2, exactly the
    # overflow threshold; log_softmax = d - L is just beyond it (-inf), which
    # the fast path cannot separate from the threshold.
    z = np.array([[32752.0, -32768.0]], dtype=np.float16)
    fastref.reset_stats()
    assert_identical(z)
    assert fastref.stats()["fallback_rows"] == 2
    assert np.isneginf(fastref.truths(z)[2][0, 1])


def test_exact_midpoint_plus_tiny_is_decided():
    # float32: d = -326825.015625 lies exactly on a float32 midpoint and
    # log_softmax = d - L with L ~ e**-326825 far below any double-double
    # resolution: decided by the sign of L (value strictly below d), no mpmath.
    z = np.array([[163412.5, -163412.515625]], dtype=np.float32)
    assert float(z[0, 1]) - float(z[0, 0]) == -326825.015625
    fastref.reset_stats()
    assert_identical(z)
    assert fastref.stats()["fallback_rows"] == 0


def test_three_tied_entries_float16():
    # softmax = 1/3 exactly (k = 3 tied maxima): never a midpoint, decided.
    z = np.array([[2.0, 2.0, 2.0, -30.0]], dtype=np.float16)
    fastref.reset_stats()
    assert_identical(z)
    assert fastref.stats()["fallback_rows"] == 0


def test_equal_rows_and_two_level_rows_are_compressed(dtype):
    z = np.tile(families.two_level([1.5], [3.0], 1000, dtype), (50, 1))
    assert_identical(z)


@settings(max_examples=60)
@given(data=st.data())
def test_arbitrary_finite_and_special_rows(data):
    dtype = data.draw(st.sampled_from(DTYPES))
    n = data.draw(st.integers(1, 12))
    # hypothesis has no bfloat16: draw float32 (NaN, inf, subnormals included) and convert.
    drawn = np.dtype(np.float32) if dtype.name == "bfloat16" else dtype
    z = data.draw(hnp.arrays(drawn, (3, n), elements=hnp.from_dtype(drawn)))
    with np.errstate(over="ignore"):
        assert_identical(z.astype(dtype))


def test_straightforward_loop_agrees_on_plain_rows():
    # The benchmark's baseline (256 bits, not proved) on ordinary rows.
    z = np.random.default_rng(5).normal(0, 4, (3, 20)).astype(np.float32)
    for got, expected in zip(fastref.straightforward_truths(z), reference.truths(z)):
        np.testing.assert_array_equal(bits(got), bits(expected))


@pytest.mark.parametrize("name", ["float8_e4m3fn", "float8_e5m2"])
def test_float8_bit_identical_to_reference(name):
    """float8 joined the study after the fast path was written: pairs of
    bit patterns (every special value included; e4m3fn has no infinity) and
    seeded normal rows at many scales, bit for bit against reference.  The
    same check over all 65,536 pairs of each format found 0 disagreements
    when it was added."""
    dtype = np.dtype(getattr(ml_dtypes, name))
    rng = np.random.default_rng(8)
    bits = np.arange(256, dtype=np.uint8).view(dtype)
    pairs = np.stack(np.meshgrid(bits, bits), -1).reshape(-1, 2)
    rows = [pairs[rng.choice(len(pairs), 3000, replace=False)]]
    for n in (1, 10, 100):
        for scale in (0.01, 1.0, 30.0, 300.0):
            rows.append((rng.standard_normal((10, n)) * scale).astype(dtype))
    for z in rows:
        fast, proved = fastref.truths(z), reference.truths(z)
        assert disagreements(fast, proved) == 0
        np.testing.assert_array_equal(fastref.max_approx_error(z), reference.max_approx_error(z))


# --- the compiled kernel (analysis/fastref_kernel.py) against the numpy path ---------------------

ALL_DTYPES = [np.dtype(d) for d in (np.float64, np.float32, np.float16, ml_dtypes.bfloat16, ml_dtypes.float8_e4m3fn,
                                    ml_dtypes.float8_e5m2)]  # fmt: skip
needs_numba = pytest.mark.skipif(
    not fastref.COMPILED, reason="the compiled kernel is off (no numba, or SOFTMAX_STUDY_FASTREF=numpy)"
)


def both_paths(z, monkeypatch):
    """(outputs of the compiled path, of the numpy path, fallback rows of each)."""
    out = []
    for compiled in (True, False):
        monkeypatch.setattr(fastref, "COMPILED", compiled)
        fastref.reset_stats()
        out.append((fastref.truths(z) + (fastref.max_approx_error(z),), fastref.stats()["fallback_rows"]))
    return out


def path_rows(dtype):
    """Random rows at every scale, the two-level family near its thresholds,
    and the special values, for the comparison of the two paths."""
    rng = np.random.default_rng([20261126, dtype.itemsize])
    cases = []
    with np.errstate(over="ignore", invalid="ignore"):
        for n in (1, 2, 3, 10, 100, 1000):
            rows = max(1, 600 // n)
            for scale in np.logspace(-4, 5.5, 12):
                z = scale * rng.standard_normal((rows, n)) + rng.normal(0, scale, (rows, 1))
                cases.append(z.astype(dtype))
        offsets = families.offsets([-1.0, 4.0], 3, [0.99, 1.0, 1.01])
        gaps = families.gaps([-2.0, 3.0], 4, [0.99, 1.0, 1.01])
        c, g = (a.ravel() for a in np.meshgrid(offsets, gaps))
        pick = rng.choice(c.size, 400, replace=False)
        for n in (2, 10, 1000):
            cases.append(families.two_level(c[pick], g[pick], n, dtype))
        fmt = FORMATS[dtype.name]
        tiny = fmt.smallest_subnormal
        special = [[0.0, -0.0, 0.0], [math.nan, 1.0, 2.0], [math.inf, 1.0, math.inf], [-math.inf, 0.0, -math.inf],
                   [-math.inf] * 3, [tiny, -tiny, 0.0], [fmt.max, -fmt.max, 0.0], [fmt.max] * 3,
                   [-fmt.max, -fmt.max, fmt.ln_smallest_subnormal], [0.5, 0.5, -1e4]]  # fmt: skip
        cases.append(np.array(special).astype(dtype))
    return cases


@needs_numba
@pytest.mark.parametrize("dtype", ALL_DTYPES, ids=lambda d: d.name)
def test_compiled_and_numpy_paths_are_bit_identical(dtype, monkeypatch):
    # The kernel does the numpy path's arithmetic entry by entry, so besides
    # equal outputs (both are the correct rounding) it must decide the same
    # rows: equal fallback counts check that the port is faithful.
    for z in path_rows(dtype):
        (compiled, fallback_compiled), (numpy_path, fallback_numpy) = both_paths(z, monkeypatch)
        assert disagreements(compiled, numpy_path) == 0, z
        assert fallback_compiled == fallback_numpy, z


@needs_numba
def test_compiled_path_on_long_rows_and_a_single_row(monkeypatch):
    # Rows longer than the kernel's block of 1024 entries are shared between
    # tasks; one row of 2**15 and a few of 3000 (not a multiple of the block).
    rng = np.random.default_rng(12)
    long_rows = (rng.standard_normal((1, 2**15)).astype(np.float32), 30 * rng.standard_normal((3, 3000)))
    for z in long_rows:
        (compiled, _), (numpy_path, _) = both_paths(z, monkeypatch)
        assert disagreements(compiled, numpy_path) == 0
        assert disagreements(compiled[:3], reference.truths(z)) == 0


@needs_numba
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_compiled_path_on_groups_of_rows_with_and_without_small_sums(dtype, monkeypatch):
    # The kernel's per-row pass computes only the general branch of log S in
    # a group of rows where no row takes the tiny or the small branch: groups
    # of both kinds in one call (scale 0.3 never, scale 1e4 mostly).
    from analysis.fastref_kernel import GROUP

    per_group = GROUP // 10
    rng = np.random.default_rng(17)
    z = np.concatenate([0.3 * rng.standard_normal((per_group + 300, 10)), 1e4 * rng.standard_normal((per_group, 10)),
                        rng.standard_normal((per_group // 2, 10))]).astype(dtype)  # fmt: skip
    (compiled, fallback_compiled), (numpy_path, fallback_numpy) = both_paths(z, monkeypatch)
    assert disagreements(compiled, numpy_path) == 0
    assert fallback_compiled == fallback_numpy


@needs_numba
@pytest.mark.parametrize("n", [3, 1024, 1025], ids=lambda n: f"n={n}")
def test_compiled_path_on_both_schedules(n, monkeypatch):
    # Rows of up to BLOCK (1024) entries go through every pass in groups of
    # about GROUP entries, longer ones pass by pass: many groups with a last
    # partial one (n = 3), the longest short rows, the shortest long ones.
    from analysis.fastref_kernel import BLOCK, GROUP

    assert BLOCK == 1024
    rows = 3 * max(1, GROUP // n) + 5 if n <= BLOCK else 3
    rng = np.random.default_rng([18, n])
    z = (rng.standard_normal((rows, n)) * rng.choice([0.3, 3.0, 30.0, 3e3], (rows, 1))).astype(np.float32)
    (compiled, fallback_compiled), (numpy_path, fallback_numpy) = both_paths(z, monkeypatch)
    assert disagreements(compiled, numpy_path) == 0
    assert fallback_compiled == fallback_numpy


def _compiled_loop(helper, arity):
    """A fresh (uncached) Numba loop applying a kernel helper elementwise,
    compiled with the kernel's own options; arity 3: exp_dd (its constants
    are passed in, its exponent dropped)."""
    import numba

    from analysis import fastref_kernel

    options = {**fastref_kernel._JIT, "cache": False}
    if arity == 2:

        def loop(x, y, out_a, out_b):
            for i in range(x.size):
                out_a[i], out_b[i] = helper(x[i], y[i])

        return numba.njit(**options)(loop)

    def loop_consts(x, y, consts, out_a, out_b):
        for i in range(x.size):
            _, out_a[i], out_b[i] = helper(x[i], y[i], consts)

    compiled = numba.njit(**options)(loop_consts)
    return lambda x, y, out_a, out_b: compiled(x, y, fastref._kernel()[1], out_a, out_b)


@needs_numba
def test_compiled_error_free_transformations_are_exact():
    # Dekker's product and TwoSum are exact only without FMA contraction and
    # reassociation (see fastref_kernel's docstring); a contracted Veltkamp
    # split (c - (c - a) with c = (2**27 + 1) a fused) leaves more than 26
    # bits in each half and the error term wrong for most of these inputs.
    from fractions import Fraction

    from analysis import fastref_kernel

    rng = np.random.default_rng(13)
    a = rng.standard_normal(4000) * 2.0 ** rng.integers(-60, 60, 4000)
    b = rng.standard_normal(4000) * 2.0 ** rng.integers(-60, 60, 4000)
    p, e = np.empty_like(a), np.empty_like(a)
    s, t = np.empty_like(a), np.empty_like(a)
    _compiled_loop(fastref_kernel._two_prod, 2)(a, b, p, e)
    _compiled_loop(fastref_kernel._two_sum, 2)(a, b, s, t)
    for i in range(a.size):
        assert Fraction(p[i]) + Fraction(e[i]) == Fraction(a[i]) * Fraction(b[i]), (a[i], b[i])
        assert Fraction(s[i]) + Fraction(t[i]) == Fraction(a[i]) + Fraction(b[i]), (a[i], b[i])


@needs_numba
def test_compiled_exp_is_the_numpy_paths_bit_for_bit():
    # Every rounding of exp_dd in the same order: a contraction or a
    # reordering anywhere in the 500 operations would change some of these bits.
    from analysis import fastref_kernel

    rng = np.random.default_rng(14)
    dh = -np.concatenate([np.abs(rng.standard_normal(3000)) * 10.0 ** rng.uniform(-12, 4.8, 3000), [0.0, 2.0**16]])
    dl = dh * 2.0**-60 * rng.uniform(-1, 1, dh.size)
    mh, ml = np.empty_like(dh), np.empty_like(dh)
    _compiled_loop(fastref_kernel._exp_dd, 3)(dh, dl, mh, ml)
    _, expected_h, expected_l = fastref._exp_dd(dh, dl)
    np.testing.assert_array_equal(bits(mh), bits(expected_h))
    np.testing.assert_array_equal(bits(ml), bits(expected_l))


@needs_numba
def test_the_compiler_contracts_nothing_into_a_fused_multiply_add(tmp_path):
    """The kernel compiled afresh on this machine (empty Numba caches, so
    the code is generated and can be inspected), in two interpreters:

    - with its explicit FMA (TwoProduct) switched off, its assembly has no
      FMA instruction at all: LLVM fused no multiplication and addition of
      this code on its own;
    - as used, its optimized LLVM IR carries no fast-math flag on any
      operation and no llvm.fmuladd (the only license LLVM has to fuse), so
      its only fused operations are the explicit llvm.fma of TwoProduct.
    """
    import subprocess
    import sys
    from pathlib import Path

    from analysis import fastref_kernel

    root = Path(__file__).resolve().parent.parent
    script = (
        "import sys, numpy as np; from analysis import fastref, fastref_kernel, kernel_dd; "
        "kernel_dd.USE_FMA = kernel_dd.USE_FMA and sys.argv[1] == 'as-used'; "  # _two_prod's global
        "fastref.truths(np.zeros((1, 3), np.float32)); "
        "sig = fastref_kernel.core.signatures[0]; "
        "core = fastref_kernel.core; "
        "print(core.inspect_asm(sig) if sys.argv[1] == 'no-fma' else core.inspect_llvm(sig))"
    )
    runs = {}
    for mode in ("no-fma", "as-used"):
        env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / mode), "PYTHONPATH": str(root)}
        runs[mode] = subprocess.Popen([sys.executable, "-c", script, mode], cwd=root, env=env, text=True,
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip
    out = {}
    for mode, process in runs.items():
        out[mode], err = process.communicate(timeout=600)
        assert process.returncode == 0, err
    assembly, llvm_ir = out["no-fma"], out["as-used"]
    assert "vaddpd" in assembly and "vmulpd" in assembly  # the vectorized listing is the real one
    assert not re.search(r"\bv?f(n)?m(add|sub)\w*", assembly)  # x86 FMA3/FMA4 mnemonics
    assert "fsub" in llvm_ir and "fmul" in llvm_ir
    flags = r"(fast|contract|reassoc|nnan|ninf|nsz|arcp|afn)"
    assert not re.search(rf"\b(fadd|fsub|fmul|fdiv|fneg|fcmp|call)\s+{flags}\b", llvm_ir)
    assert "llvm.fmuladd" not in llvm_ir
    assert ("@llvm.fma." in llvm_ir) == fastref_kernel.USE_FMA


@needs_numba
def test_concurrent_calls_from_threads():
    # The kernel is called under a lock (Numba's workqueue layer must not be
    # entered from two threads at once): four threads, the same answers.
    from concurrent.futures import ThreadPoolExecutor

    rng = np.random.default_rng(15)
    inputs = [(rng.standard_normal((50, 200)) * s).astype(np.float32) for s in (0.3, 3, 30, 300)]
    expected = [fastref.truths(z) for z in inputs]
    with ThreadPoolExecutor(4) as pool:
        got = list(pool.map(fastref.truths, inputs * 3))
    for g, e in zip(got, expected * 3):
        assert disagreements(g, e) == 0


def _truths_in_child(z):
    return fastref.truths(z)


@needs_numba
def test_a_forked_child_can_use_the_kernel_after_the_parent():
    # The sweep forks its workers; GNU OpenMP (Numba's default layer where
    # present) aborts such a child once the parent has started its threads.
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    z = np.random.default_rng(16).standard_normal((40, 300)).astype(np.float32)
    expected = fastref.truths(z)  # the parent's threads are running now
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("fork")) as pool:
        got = pool.submit(_truths_in_child, z).result(timeout=600)
    assert disagreements(got, expected) == 0


@needs_numba
@pytest.mark.parametrize("name", ["float64", "float32", "float16", "float8_e5m2"])
def test_decide_fast_is_decide_wherever_it_does_not_ask_for_a_redo(name):
    # Values at every magnitude, exactly on and next to midpoints of the
    # format, zero, beyond the overflow threshold, with and without a signed
    # tiny w, bounds from 0 to far too wide.
    import numba

    from analysis import fastref_kernel

    fmt = FORMATS[name]
    fmt_tuple = (fmt.precision, fmt.emin, fmt.emax, fmt.max, fmt.has_inf, 2.0 ** (fmt.precision - 1))
    rng = np.random.default_rng([17, fmt.precision])
    size = 20000
    with np.errstate(all="ignore"):  # magnitudes from below the subnormals (0) to 2**(emax + 2) (inf)
        magnitude = 2.0 ** rng.integers(fmt.emin - fmt.precision - 4, fmt.emax + 3, size)
        quantum = magnitude * 2.0 ** (1 - fmt.precision)
        vh = rng.choice([-1, 1], size) * magnitude * rng.uniform(1, 2, size)
        on_grid = rng.random(size) < 0.5  # on a midpoint or a representable value of the format
        vh = np.where(on_grid, (np.round(vh / quantum * 2) / 2) * quantum, vh)
        vh[:200] = 0.0
        vl = np.where(rng.random(size) < 0.5, 0.0, vh * 2.0**-60 * rng.uniform(-1, 1, size))
        scale = rng.integers(-2000, 2000, size) * (rng.random(size) < 0.1)
        err = np.abs(vh) * 2.0 ** rng.uniform(-120, -10, size) * (rng.random(size) < 0.9)
        w_sign = rng.choice([-1.0, 0.0, 1.0], size)
        wh = w_sign * np.abs(vh) * 2.0 ** rng.uniform(-200, -55, size)
        wl = wh * 2.0**-60
        zero_sign = rng.choice([-1.0, 0.0, 1.0], size)

    def both(vh, vl, scale, err, wh, wl, w_sign, zero_sign, fmt_tuple, second_offset, out):
        for i in range(vh.size):
            v1, ok1, redo = fastref_kernel._decide_fast(vh[i], vl[i], scale[i], err[i], fmt_tuple, zero_sign[i], wh[i],
                                                        wl[i], w_sign[i], 4.0, second_offset)  # fmt: skip
            v2, ok2 = fastref_kernel._decide(vh[i], vl[i], scale[i], err[i], fmt_tuple, zero_sign[i], wh[i], wl[i],
                                             w_sign[i], 4.0)  # fmt: skip
            out[i, 0], out[i, 1], out[i, 2], out[i, 3], out[i, 4] = v1, v2, ok1, ok2, redo

    out = np.empty((size, 5))
    compiled = numba.njit(**{**fastref_kernel._JIT, "cache": False})(both)
    for second_offset in (False, True):
        with np.errstate(over="ignore", invalid="ignore"):
            compiled(vh, vl, scale, err, wh, wl, w_sign, zero_sign, fmt_tuple, second_offset, out)
        fast = out[:, 4] == 0
        assert fast.sum() > 2000 and (~fast).sum() > 200  # both kinds of entries were seen
        np.testing.assert_array_equal(bits(out[fast, 0]), bits(out[fast, 1]))
        np.testing.assert_array_equal(out[fast, 2], out[fast, 3])
        assert out[fast, 3].any() and not out[fast, 3].all()  # decided and undecided ones


@needs_numba
def test_kernel_constants_are_fastrefs():
    # The kernel keeps its own copies (a change of them must invalidate
    # Numba's cache of its file); they must be the bounds of fastref's proof.
    from analysis import fastref_kernel

    for name in ("EPS", "EXP_REL", "UNDERFLOW", "CLAMP", "TAYLOR_DEGREE"):
        assert getattr(fastref_kernel, name) == getattr(fastref, name), name


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_results_do_not_share_memory_between_calls(dtype):
    # The compiled path keeps its scratch from one call to the next and
    # returns float64 results without a copy: what a call returned must not
    # change with the next call, and the input (float64 rows are read where
    # they are) must not change at all.
    rng = np.random.default_rng(18)
    first = rng.standard_normal((20, 50)).astype(dtype)
    before = first.copy()
    kept = fastref.truths(first)
    expected = [np.array(a, copy=True) for a in kept]
    fastref.truths(rng.standard_normal((20, 50)).astype(dtype))
    fastref.truths(rng.standard_normal((400, 50)).astype(dtype))  # larger: the arrays grow
    assert disagreements(kept, expected) == 0
    assert disagreements(kept, reference.truths(first)) == 0
    np.testing.assert_array_equal(first, before)


@needs_numba
def test_the_kernels_cache_is_keyed_by_every_kernel_file():
    # Numba keys a cached function by its own file only; the kernels inline
    # helpers across four files, so each cached function must carry the
    # digest of all of them (else an edit of kernel_dd.py would leave
    # fastref_kernel.core's stale machine code in use).
    import hashlib
    import importlib
    from pathlib import Path

    from analysis import kernel_dd

    here = Path(kernel_dd.__file__).parent
    digest = hashlib.sha256(b"".join((here / name).read_bytes() for name in kernel_dd.KERNEL_FILES)).hexdigest()
    cached = 0
    for name in kernel_dd.KERNEL_FILES:
        module = importlib.import_module(f"analysis.{name[:-3]}")
        for value in vars(module).values():
            cache_file = getattr(getattr(value, "_cache", None), "_cache_file", None)
            if cache_file is not None and value.__module__ == module.__name__:
                assert cache_file._source_stamp[1] == digest, (name, value)
                cached += 1
    assert cached > 20  # every njit function of the four files (core, evaluate, the helpers)
