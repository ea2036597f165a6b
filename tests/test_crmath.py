"""The model arithmetic's elementary functions (and log2, for the bits of
error) and the conversion to a format: correctly
rounded, checked against an independent evaluation -- MPFR (gmpy2), whose
exp, log, log1p, expm1 and log2 are correctly rounded by specification, in a
context with the target format's precision and exponent range
(subnormalize=True emulates gradual underflow).  Exhaustive over every bit
pattern of the 8- and 16-bit formats, seeded samples over every binade for
float32 and float64, and the special values of IEEE 754-2019 §9.2."""

import math

import gmpy2
import mpmath
import numpy as np
import pytest

from analysis import crmath, fastref, reference
from analysis.formats import ALL_DTYPES, FORMATS

needs_numba = pytest.mark.skipif(
    not fastref.COMPILED, reason="the compiled kernel is off (no numba, or SOFTMAX_STUDY_FASTREF=numpy)"
)
NARROW = ["float16", "bfloat16", "float8_e4m3fn", "float8_e5m2"]
MPFR = {"exp": gmpy2.exp, "log": gmpy2.log, "log1p": gmpy2.log1p, "expm1": gmpy2.expm1, "log2": gmpy2.log2}


def mpfr_rounded(name: str, x: np.ndarray, dtype_name: str) -> np.ndarray:
    """f(x) correctly rounded to the format by MPFR, as float64."""
    fmt = FORMATS[dtype_name]
    p = fmt.precision
    # MPFR's exponents: x = m 2**e with m in [1/2, 1); the smallest
    # subnormal 2**(emin - p + 1) is 2**(emin - p + 2) * 1/2.
    ctx = gmpy2.context(precision=p, emin=fmt.emin - p + 2, emax=fmt.emax + 1, subnormalize=True)
    out = np.empty(x.shape)
    with gmpy2.context(ctx):
        for i, v in enumerate(x.tolist()):
            y = float(MPFR[name](gmpy2.mpfr(v)))
            if math.isfinite(y) and abs(y) > fmt.max:  # e4m3fn stops below 2**(emax+1)
                y = math.copysign(math.inf, y)
            if math.isinf(y) and not fmt.has_inf:
                y = math.nan
            out[i] = y
    return out


def bits(a):
    a = np.asarray(a, dtype=np.float64)
    return np.where(np.isnan(a), np.nan, a).view(np.uint64)


def assert_same(got, expected, x, what):
    bad = np.flatnonzero(bits(got) != bits(expected))
    assert bad.size == 0, f"{what}: {bad.size} differ, e.g. x={x[bad[:3]]} got {got[bad[:3]]} want {expected[bad[:3]]}"


@pytest.mark.parametrize("name", crmath.FUNCTIONS)
@pytest.mark.parametrize("dtype_name", NARROW)
def test_every_bit_pattern_of_the_narrow_formats(name, dtype_name):
    fmt = FORMATS[dtype_name]
    uint = np.uint8 if fmt.dtype.itemsize == 1 else np.uint16
    x = np.arange(2 ** (8 * fmt.dtype.itemsize), dtype=np.int64).astype(uint).view(fmt.dtype)
    with np.errstate(invalid="ignore"):  # bfloat16 NaN patterns warn when cast
        got = getattr(crmath, name)(x).astype(np.float64)
        x64 = x.astype(np.float64)
    assert_same(got, mpfr_rounded(name, x64, dtype_name), x64, f"{name} {dtype_name}")


def _samples(name: str, dtype_name: str, count: int) -> np.ndarray:
    """Seeded arguments over every binade of the function's domain, plus
    the edges: the overflow and underflow thresholds, tiny arguments (where
    log1p and expm1 are x to within x**2) and arguments next to 1 for log."""
    fmt = FORMATS[dtype_name]
    rng = np.random.default_rng([20261202, FORMATS[dtype_name].precision, crmath.FUNCTIONS.index(name)])
    lo = math.log2(fmt.smallest_subnormal)
    magnitude = np.exp2(rng.uniform(lo, fmt.emax + 1, count))
    sign = rng.choice([-1.0, 1.0], count)
    with np.errstate(over="ignore"):
        if name in ("exp", "expm1"):
            x = np.concatenate([sign * magnitude, rng.uniform(-760, 720, count)])
        elif name in ("log", "log2"):
            x = np.concatenate([magnitude, 1 + rng.uniform(-0.5, 1, count) * 2.0 ** -rng.integers(0, 60, count)])
        else:  # log1p
            x = np.concatenate([sign * magnitude, rng.uniform(-1, 1, count) * 2.0 ** -rng.integers(0, 60, count)])
        x = x.astype(fmt.dtype)
    return x[np.isfinite(x)]


@pytest.mark.parametrize("name", crmath.FUNCTIONS)
@pytest.mark.parametrize("dtype_name", ["float32", "float64"])
def test_seeded_samples_in_every_binade(name, dtype_name):
    x = _samples(name, dtype_name, 6000)
    x64 = x.astype(np.float64)
    assert_same(getattr(crmath, name)(x).astype(np.float64), mpfr_rounded(name, x64, dtype_name), x64, name)


@pytest.mark.parametrize("dtype_name", ALL_DTYPES)
def test_special_values(dtype_name):
    fmt = FORMATS[dtype_name]
    big = math.inf if fmt.has_inf else math.nan
    with np.errstate(invalid="ignore"):  # inf -> float8_e4m3fn is NaN
        x = np.array([0.0, -0.0, 1.0, -1.0, math.inf, -math.inf, math.nan]).astype(fmt.dtype).astype(np.float64)
    with mpmath.workprec(200):
        e, ln2 = mpmath.e, mpmath.log(2)
        expected = {
            "exp": [1.0, 1.0, e, 1 / e, big, 0.0, math.nan],
            "log": [-big, -big, 0.0, math.nan, big, math.nan, math.nan],
            "log1p": [0.0, -0.0, ln2, -big, big, math.nan, math.nan],
            "expm1": [0.0, -0.0, e - 1, 1 / e - 1, big, -1.0, math.nan],
        }
    for name, values in expected.items():
        with np.errstate(invalid="ignore"):
            got = getattr(crmath, name)(x.astype(fmt.dtype)).astype(np.float64)
        want = np.array([reference.round_mpf(v, fmt.dtype) if mpmath.isfinite(v) and v else v for v in values],
                        np.float64)  # fmt: skip
        if not fmt.has_inf:  # e4m3fn: the inputs inf and -inf were NaN already
            want[[4, 5]] = math.nan
        assert_same(got, want, x, f"{name} {dtype_name}")


@pytest.mark.parametrize("name", crmath.FUNCTIONS)
def test_host_seeds_do_not_reach_the_result(name, monkeypatch):
    """log and log1p start Newton's step from numpy's float64 log/log1p; a
    seed 1,000 ulps off (far worse than any CPU's) gives the same bytes."""
    x = _samples(name, "float64", 3000).astype(np.float64)
    before = crmath.evaluate(name, x, FORMATS["float64"])
    real_log, real_log1p = np.log, np.log1p

    def off(f):
        return lambda t: f(t) * (1 + 1000 * 2.0**-52)

    monkeypatch.setattr(crmath, "_seed_log", off(real_log))
    monkeypatch.setattr(crmath, "_seed_log1p", off(real_log1p))
    assert_same(crmath.evaluate(name, x, FORMATS["float64"]), before, x, name)


@pytest.mark.parametrize("compiled", [False, pytest.param(True, marks=needs_numba)], ids=["numpy", "compiled"])
def test_undecided_values_go_to_ziv(compiled, monkeypatch):
    """With the double-double bound made useless, every value must come from
    Ziv's loop -- and be the same."""
    monkeypatch.setattr(fastref, "COMPILED", compiled)
    x = _samples("exp", "float32", 200).astype(np.float64)
    before = crmath.evaluate("exp", x, FORMATS["float32"])
    if compiled:  # the kernel's bounds are compiled in; its margin is passed at each call
        monkeypatch.setattr(fastref, "MARGIN", 2.0**100)
    else:
        monkeypatch.setattr(crmath, "EXP_REL", 1.0)
    stats = crmath.stats()
    after = crmath.evaluate("exp", x, FORMATS["float32"])
    # Every value but those whose whole (now huge) interval rounds to 0 or
    # overflows was undecided.
    assert crmath.stats()["fallback"] - stats["fallback"] >= np.count_nonzero((before > 0) & (before < np.inf))
    assert_same(after, before, x, "exp via Ziv")


@pytest.mark.parametrize("dtype_name", ALL_DTYPES)
def test_conversion_rounds_once(dtype_name):
    """float64 -> format: one rounding to nearest, ties to even, equal to
    reference.round_mpf on random bit patterns of every binade, exact
    midpoints (ties) and their neighbours."""
    fmt = FORMATS[dtype_name]
    rng = np.random.default_rng(7)
    x = rng.integers(0, 2**64, 30_000, dtype=np.uint64).view(np.float64)
    x = x[np.isfinite(x)]
    exponents = rng.uniform(math.log2(fmt.smallest_subnormal) - 2, fmt.emax + 2, 30_000)
    with np.errstate(over="ignore", invalid="ignore"):  # beyond float64's range: inf, left out below
        scaled = rng.uniform(-1, 1, 30_000) * np.exp2(exponents)
        scaled = scaled[np.isfinite(scaled)]
        representable = np.unique(np.abs(scaled.astype(fmt.dtype).astype(np.float64)))
    representable = representable[np.isfinite(representable)]
    mids = representable[:-1] + (representable[1:] - representable[:-1]) / 2  # exact unless beyond float64
    ties = np.concatenate([mids, np.nextafter(mids, 0), np.nextafter(mids, np.inf)])
    for values in (x, scaled, ties, -ties):
        with np.errstate(over="ignore", invalid="ignore"):
            got = crmath.to_format(values, fmt.dtype).astype(np.float64)
        # (mpmath has no -0: a zero keeps its sign by itself)
        want = np.array([reference.round_mpf(v, fmt.dtype) if v else v for v in values.tolist()], dtype=np.float64)
        assert_same(got, want, values, dtype_name)


def test_conversion_regression_bfloat16_double_rounding():
    """ml_dtypes rounds float64 -> float32 -> bfloat16: -0x1.c90000e0b263bp+124
    became -0x1.c8p+124; the nearest bfloat16 is -0x1.cap+124."""
    x = np.array([float.fromhex("-0x1.c90000e0b263bp+124")])
    assert float(crmath.to_format(x, FORMATS["bfloat16"].dtype)[0]) == float.fromhex("-0x1.cap+124")


# --- the compiled path (analysis/crmath_kernel.py) against the numpy path ---------------------------


def both_paths(name, x, fmt, monkeypatch):
    """(values, Ziv count) of crmath.evaluate by the compiled and by the numpy path."""
    out = []
    for compiled in (True, False):
        monkeypatch.setattr(fastref, "COMPILED", compiled)
        before = crmath.stats()["fallback"]
        with np.errstate(invalid="ignore"):
            out.append((crmath.evaluate(name, x, fmt), crmath.stats()["fallback"] - before))
    return out


@needs_numba
@pytest.mark.parametrize("name", crmath.FUNCTIONS)
@pytest.mark.parametrize("dtype_name", ["float32", "float64"])
def test_compiled_and_numpy_paths_are_bit_identical(name, dtype_name, monkeypatch):
    # The same operations in the same order, with the same seeds: the same
    # values and the same verdicts (equal counts of values sent to Ziv's
    # loop; float64 sends some in every function but exp and log2 here).
    fmt = FORMATS[dtype_name]
    edges = [fmt.smallest_subnormal, fmt.max, 2.0**-60, 2.0**-9, 2.0**-8, 0.5, 2.0, 1 - 2.0**-24, 1 + 2.0**-23, 88.72,
             709.78, 745.1, 1099.0, 1100.0]  # fmt: skip
    x = np.concatenate([_samples(name, dtype_name, 6000).astype(np.float64), edges, np.negative(edges)])
    (compiled, ziv_compiled), (numpy_path, ziv_numpy) = both_paths(name, x, fmt, monkeypatch)
    assert_same(compiled, numpy_path, x, f"{name} {dtype_name}")
    assert ziv_compiled == ziv_numpy


@needs_numba
@pytest.mark.parametrize("name", crmath.FUNCTIONS)
def test_compiled_and_numpy_paths_agree_on_every_float16_and_e5m2(name, monkeypatch):
    # The tables of the narrow formats come from evaluate too: every bit
    # pattern (subnormal results, overflow, the formats' own decision).
    for dtype_name in ("float16", "float8_e5m2", "float8_e4m3fn"):
        fmt = FORMATS[dtype_name]
        uint = np.uint8 if fmt.dtype.itemsize == 1 else np.uint16
        x = np.arange(2 ** (8 * fmt.dtype.itemsize), dtype=np.int64).astype(uint).view(fmt.dtype).astype(np.float64)
        (compiled, ziv_compiled), (numpy_path, ziv_numpy) = both_paths(name, x, fmt, monkeypatch)
        assert_same(compiled, numpy_path, x, f"{name} {dtype_name}")
        assert ziv_compiled == ziv_numpy


@needs_numba
def test_kernel_constants_are_crmaths():
    from analysis import crmath_kernel

    assert crmath_kernel.NEWTON_MAX == crmath._NEWTON_MAX
    assert set(crmath_kernel.CODES) == set(crmath.FUNCTIONS)
    assert (crmath_kernel.EPS, crmath_kernel.EXP_REL, crmath_kernel.UNDERFLOW) == (crmath.EPS, crmath.EXP_REL,
                                                                                   crmath.UNDERFLOW)  # fmt: skip


@pytest.mark.parametrize("name", crmath.FUNCTIONS)
@pytest.mark.parametrize("dtype_name", ["float32", "float64"])
@pytest.mark.parametrize("layout", ["runs", "distinct", "signed_zeros", "one"])
def test_arrays_with_runs_give_what_each_entry_gives(name, dtype_name, layout):
    """crmath evaluates each run of equal neighbours once (two-level rows);
    every entry must still get f of its own argument, correctly rounded
    (MPFR), whatever the layout: runs, all distinct, -0.0 beside 0.0 (equal
    values, different bits: log1p and expm1 keep the sign), one entry."""
    rng = np.random.default_rng([7, len(name), len(layout)])
    dtype = FORMATS[dtype_name].dtype
    if layout == "runs":
        x = np.repeat(rng.uniform(0.01, 3.0, (60, 2)), [1, 37], axis=1)
    elif layout == "distinct":
        x = rng.uniform(0.01, 3.0, (5, 40))
    elif layout == "signed_zeros":
        x = np.array([[0.0, -0.0, -0.0, 0.0, 0.5, 0.5, -0.0] * 6])
    else:
        x = np.array([[0.75]])
    x = x.astype(dtype)
    got = getattr(crmath, name)(x)
    expected = mpfr_rounded(name, x.astype(np.float64).ravel(), dtype_name).reshape(x.shape)
    assert_same(np.asarray(got, np.float64).ravel(), expected.ravel(), x.ravel(), f"{name} {dtype_name} {layout}")
    assert np.array_equal(np.signbit(got), np.signbit(expected))


@pytest.mark.parametrize("dtype_name", ["float32", "float64"])
def test_log2_of_every_power_of_two_is_its_exponent(dtype_name):
    """log2(2**k) = k exactly (the vectorized special case), from the
    smallest subnormal to the largest power of the format, against MPFR."""
    fmt = FORMATS[dtype_name]
    k = np.arange(fmt.emin - fmt.precision + 1, fmt.emax + 1)
    x = np.ldexp(1.0, k).astype(fmt.dtype)
    got = np.asarray(crmath.log2(x), np.float64)
    np.testing.assert_array_equal(got, k.astype(np.float64))
    assert_same(got, mpfr_rounded("log2", x.astype(np.float64), dtype_name), x, "log2")
