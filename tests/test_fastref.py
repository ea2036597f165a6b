"""fastref must return exactly what reference returns (bit for bit, NaN equal
to NaN, the sign of zero counted), deciding most rows itself and sending the
rest to the mpmath path; the fallback counter shows which."""

import math

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
