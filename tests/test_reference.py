"""The ground truth: rounding primitive, hard cases, special values, and
agreement with an independent evaluation (gmpy2/MPFR)."""

import math

import gmpy2
import mpmath
import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from analysis import reference
from analysis.formats import FORMATS, format_of
from analysis.metrics import ulp_distance
from tests.conftest import DTYPES

UINT = {2: np.uint16, 4: np.uint32, 8: np.uint64}


def mp_exact(x) -> mpmath.mpf:
    return mpmath.mpf(float(x))


def neighbours(dtype, x):
    """x and its successor in dtype, found by counting bit patterns (x > 0)."""
    a = np.array(x, dtype)
    b = (a.view(UINT[a.itemsize]) + 1).view(dtype)
    return a, b


def even_of(a, b):
    """The one of two neighbours whose significand's last bit is 0."""
    return a if int(a.view(UINT[a.itemsize])) % 2 == 0 else b


# --- the rounding primitive -----------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.name)
def test_round_mpf_midpoints_tie_to_even(dtype):
    fmt = FORMATS[dtype.name]
    starts = [1.0, 1.5, 3.0, 1000.0, fmt.smallest_normal, fmt.smallest_subnormal * 3, fmt.max / 3]
    for start in starts:
        a, b = neighbours(dtype, start)
        with mpmath.workprec(2000):
            mid = (mp_exact(a) + mp_exact(b)) / 2  # exact: one more bit
            assert reference.round_mpf(mid, dtype) == even_of(a, b)
            tiny = mid * mpmath.ldexp(1, -200)  # far below half an ulp
            assert reference.round_mpf(mid - tiny, dtype) == a
            assert reference.round_mpf(mid + tiny, dtype) == b
            assert reference.round_mpf(-mid, dtype) == -even_of(a, b)


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.name)
def test_round_mpf_overflow_threshold(dtype):
    fmt = FORMATS[dtype.name]
    big = mp_exact(fmt.max)
    half_ulp = mpmath.ldexp(1, fmt.emax - fmt.precision)  # ulp(max) / 2
    with mpmath.workprec(3000):  # every sum below is exact at 3000 bits
        eps = half_ulp * mpmath.ldexp(1, -200)
        # max + ulp/2 is a tie between max (odd significand) and 2**(emax+1):
        # ties to even goes up, i.e. overflows.
        assert reference.round_mpf(big + half_ulp, dtype) == np.inf
        assert reference.round_mpf(big + half_ulp - eps, dtype) == fmt.max
        assert reference.round_mpf(-(big + half_ulp), dtype) == -np.inf
        assert reference.round_mpf(big + 2 * half_ulp, dtype) == np.inf
        assert reference.round_mpf(mpmath.ldexp(1, 5000), dtype) == np.inf
    # One ULP either side of the threshold, in the format's own grid.
    below, _ = neighbours(dtype, fmt.max / 2)
    assert reference.round_mpf(mp_exact(fmt.max), dtype) == fmt.max
    assert reference.round_mpf(mp_exact(below), dtype) == below


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.name)
def test_round_mpf_subnormals_and_underflow(dtype):
    fmt = FORMATS[dtype.name]
    tiny = mpmath.ldexp(1, fmt.emin - fmt.precision + 1)  # smallest subnormal
    with mpmath.workprec(4000):
        eps = tiny * mpmath.ldexp(1, -200)
        assert reference.round_mpf(tiny / 2, dtype) == 0  # tie: 0 is even
        assert reference.round_mpf(tiny / 2 + eps, dtype) == fmt.smallest_subnormal
        assert reference.round_mpf(tiny / 2 - eps, dtype) == 0
        assert reference.round_mpf(3 * tiny / 2, dtype) == 2 * fmt.smallest_subnormal  # tie to even
        assert reference.round_mpf(5 * tiny / 2, dtype) == 2 * fmt.smallest_subnormal
        assert reference.round_mpf(mpmath.ldexp(1, -5000), dtype) == 0
        negative_zero = reference.round_mpf(-tiny / 4, dtype)
        assert negative_zero == 0 and np.signbit(negative_zero)
        # A subnormal that is not a multiple of the quantum rounds on the
        # subnormal grid (fixed quantum), not to p significant bits.
        x = tiny * 7 + tiny / 3
        assert reference.round_mpf(x, dtype) == 7 * fmt.smallest_subnormal
    assert reference.round_mpf(mpmath.mpf("-inf"), dtype) == -np.inf
    assert np.isnan(reference.round_mpf(mpmath.mpf("nan"), dtype))


def test_round_mpf_no_double_rounding():
    # x is just above the float16 midpoint 1 + 2**-11 between 1 and 1+2**-10,
    # but so close that rounding to float64 first lands exactly on the
    # midpoint, which then ties to even (1.0): wrong. Direct rounding: 1+2**-10.
    with mpmath.workprec(200):
        x = 1 + mpmath.ldexp(1, -11) + mpmath.ldexp(1, -80)
        assert np.float16(float(x)) == np.float16(1.0)  # the double-rounding trap
        assert reference.round_mpf(x, np.float16) == np.float16(1 + 2**-10)


def test_round_mpf_rejects_unknown_dtype():
    with pytest.raises(TypeError, match="int32"):
        reference.round_mpf(1, np.int32)


# --- the examples users start from ---------------------------------------


def test_examples_float64():
    f64 = np.float64
    expected = [0.2689414213699951, 0.7310585786300049]  # mpmath at 200 bits, rounded once
    np.testing.assert_array_max_ulp(reference.softmax(np.array([1.0, 2.0])), expected, 0)
    np.testing.assert_allclose(reference.softmax(np.array([1.0, 2.0])), [0.26894142, 0.73105858], rtol=2e-8)
    np.testing.assert_allclose(reference.softmax(np.array([10.0, 20.0])), [4.5397868e-05, 0.9999546], rtol=1e-7)
    # Values correctly rounded to float64, from mpmath at 200 bits: 0 ulp.
    assert reference.logsumexp(np.array([1.0, 2, 3])) == f64(3.407605964444380)
    # log(e + e^2 + e^30) = 30.00000000000094580657...; the nearest double is
    # 30.000000000000945. (The 16-digit string 30.00000000000095 often quoted
    # parses to the next double up, 1 ulp away.)
    assert reference.logsumexp(np.array([1.0, 2, 30])) == f64(30.000000000000945)
    assert ulp_distance(reference.logsumexp(np.array([1.0, 2, 30])), f64(30.00000000000095)) == 1
    assert reference.logsumexp(np.array([1.0, 2, -3])) == f64(2.318175429247454)
    assert reference.logsumexp(np.zeros(100)) == f64(math.log(100))  # math.log is correctly rounded here
    np.testing.assert_array_equal(reference.softmax(np.zeros(100)), np.full(100, 0.01))


# --- an independent evaluation: MPFR via gmpy2 ----------------------------


def mpfr_round(x, fmt):
    """Round an mpfr to fmt with MPFR's own subnormal-aware rounding."""
    ctx = gmpy2.context(
        precision=fmt.precision,
        emin=fmt.emin - fmt.precision + 2,  # MPFR: values are 0.m * 2**e
        emax=fmt.emax + 1,
        subnormalize=True,
        round=gmpy2.RoundToNearest,
    )
    with ctx:
        return float(+x)


def independent_truth(z, dtype):
    """softmax, lse, log_softmax of a finite vector by MPFR, rounded once.

    The working precision holds every term exactly relative to the largest:
    600 bits plus log2(e) * (max z - min z) bits (the smallest term e^(min -
    max) must still move the last bits of max - lse) plus the exponent range
    of max z itself.  Without that, (z_i - m) - log(sum) can land exactly on
    a float32 midpoint at 600 bits when the exact value is 2**-890 away.
    """
    fmt = format_of(dtype)
    spread = float(np.max(z)) - float(np.min(z))
    top = abs(float(np.max(z))) + 1.0
    precision = 600 + int(1.45 * spread) + int(math.log2(top)) + 64
    with gmpy2.context(precision=precision):
        xs = [gmpy2.mpfr(float(v)) for v in z]
        m = max(xs)
        exps = [gmpy2.exp(x - m) for x in xs]
        total = sum(exps)
        log_total = gmpy2.log(total)
        softmax = [e / total for e in exps]
        lse = m + log_total
        log_softmax = [(x - m) - log_total for x in xs]
    return (
        np.array([mpfr_round(v, fmt) for v in softmax]),
        mpfr_round(lse, fmt),
        np.array([mpfr_round(v, fmt) for v in log_softmax]),
    )


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.name)
def test_agrees_bit_for_bit_with_independent_mpfr(dtype):
    fmt = FORMATS[dtype.name]
    rng = np.random.default_rng(7)
    vectors = []
    for _ in range(300):
        n = int(rng.integers(1, 40))
        scale = 10.0 ** rng.uniform(-3, math.log10(fmt.ln_max) + 1)
        vectors.append((rng.standard_normal(n) * scale).astype(dtype))
    # Vectors whose softmax lands in the subnormal range and underflows.
    for g in np.linspace(-fmt.ln_smallest_normal - 3, -fmt.ln_smallest_subnormal + 3, 40):
        vectors.append(np.array([0.0, -g, -g / 2], dtype))
    for z in vectors:
        sm, lse, lsm = independent_truth(z, dtype)
        assert reference.softmax(z).tobytes() == sm.astype(dtype).tobytes(), z
        assert reference.logsumexp(z) == np.array(lse, dtype), z
        np.testing.assert_array_equal(reference.log_softmax(z), lsm.astype(dtype), err_msg=str(z))


# --- special values --------------------------------------------------------


def test_special_values(dtype):
    inf, nan = np.inf, np.nan
    z = np.array([1.0, -inf, 2.0], dtype)
    np.testing.assert_array_equal(reference.softmax(z)[1], 0)
    assert reference.log_softmax(z)[1] == -inf
    np.testing.assert_array_equal(reference.softmax(z)[[0, 2]], reference.softmax(np.array([1.0, 2.0], dtype)))
    masked = np.array([-inf, -inf, -inf], dtype)
    assert np.all(np.isnan(reference.softmax(masked)))
    assert reference.logsumexp(masked) == -inf
    assert np.all(np.isnan(reference.log_softmax(masked)))
    assert math.isnan(reference.max_approx_error(masked))
    z = np.array([inf, 0.0, inf, -inf], dtype)
    np.testing.assert_array_equal(reference.softmax(z), np.array([0.5, 0, 0.5, 0], dtype))
    assert reference.logsumexp(z) == inf
    np.testing.assert_array_equal(reference.log_softmax(z), np.array([-math.log(2), -inf, -math.log(2), -inf], dtype))
    assert reference.max_approx_error(z) == math.log(2)
    np.testing.assert_array_equal(reference.softmax(np.array([inf, 5.0, inf, inf], dtype))[0], np.array(1 / 3, dtype))
    z = np.array([1.0, nan, 2.0], dtype)
    assert np.all(np.isnan(reference.softmax(z)))
    assert np.isnan(reference.logsumexp(z))
    assert np.all(np.isnan(reference.log_softmax(z)))
    one = np.array([3.5], dtype)
    assert reference.softmax(one)[0] == 1
    assert reference.logsumexp(one) == one[0]
    assert reference.log_softmax(one)[0] == 0
    assert reference.max_approx_error(one) == 0
    assert reference.logsumexp(np.array([-0.0, -inf], dtype)) == 0


def test_errors_on_bad_input():
    with pytest.raises(ValueError, match="empty"):
        reference.softmax(np.zeros((3, 0)))
    with pytest.raises(TypeError, match="int64"):
        reference.logsumexp(np.arange(3))
    with pytest.raises(TypeError, match="complex128"):
        reference.log_softmax(np.zeros(3, complex))
    with pytest.raises(ValueError, match="scalar"):
        reference.softmax(np.float64(1.0))


def test_shapes_and_axis(dtype):
    rng = np.random.default_rng(3)
    z = rng.standard_normal((3, 4, 5)).astype(dtype)
    for axis in (0, 1, -1):
        sm = reference.softmax(z, axis=axis)
        assert sm.shape == z.shape and sm.dtype == z.dtype
        lse = reference.logsumexp(z, axis=axis)
        assert lse.shape == tuple(np.delete(z.shape, axis))
        moved = np.moveaxis(z, axis, -1)
        np.testing.assert_array_equal(np.moveaxis(sm, axis, -1)[1, 2], reference.softmax(moved[1, 2]))
        assert lse[(1, 2)] == reference.logsumexp(moved[1, 2])
    assert reference.max_approx_error(z).dtype == np.float64


def test_max_approx_error_closed_form():
    # Two-level vector (c, c-g, ..., c-g): error = log(1 + (n-1) e^-g),
    # evaluated by mpmath at 300 bits and rounded once to float64.
    for n, g in [(2, 0.0), (10, 3.0), (1000, 20.0), (100, 700.0), (5, 1e-3)]:
        z = np.array([1.5] + [1.5 - g] * (n - 1))
        with mpmath.workprec(300):
            exact = mpmath.log1p((n - 1) * mpmath.exp(mp_exact(z[1]) - mp_exact(z[0])))
        assert reference.max_approx_error(z) == float(exact)


# --- properties ------------------------------------------------------------


def vectors(dtype, max_size=12):
    fmt = format_of(dtype)
    bound = min(fmt.max / 4, 1e4)
    return st.lists(
        st.floats(-bound, bound, allow_nan=False, allow_infinity=False, width=64),
        min_size=1,
        max_size=max_size,
    ).map(lambda v: np.array(v).astype(dtype))


def dyadic_vectors(dtype, max_size=12):
    """Quarter-integers small enough that most shifts below stay exact in
    the format (random floats would almost never allow an exact z + c in
    bfloat16's 8 bits)."""
    k = 2 ** (format_of(dtype).precision - 3)
    return st.lists(st.integers(-k, k), min_size=1, max_size=max_size).map(
        lambda v: (np.array(v, dtype=np.float64) / 4).astype(dtype)
    )


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.name)
@given(data=st.data())
def test_invariant_under_exact_shift(dtype, data):
    z = data.draw(st.one_of(dyadic_vectors(dtype), vectors(dtype)))
    c = np.array(data.draw(st.sampled_from([1.0, -2.0, 0.5, 64.0, -1024.0, 3.25])), dtype)
    shifted = z + c
    # Only where every z_i + c is exact in the format (checked in mpmath).
    assume(all(mp_exact(s) == mpmath.fadd(mp_exact(x), mp_exact(c), exact=True) for s, x in zip(shifted, z)))
    assert reference.softmax(shifted).tobytes() == reference.softmax(z).tobytes()
    assert reference.log_softmax(shifted).tobytes() == reference.log_softmax(z).tobytes()
    assert reference.max_approx_error(shifted) == reference.max_approx_error(z)


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.name)
@given(data=st.data())
def test_equivariant_under_permutation(dtype, data):
    z = data.draw(vectors(dtype))
    perm = np.array(data.draw(st.permutations(range(z.size))))
    np.testing.assert_array_equal(reference.softmax(z[perm]), reference.softmax(z)[perm])
    np.testing.assert_array_equal(reference.log_softmax(z[perm]), reference.log_softmax(z)[perm])
    assert reference.logsumexp(z[perm]) == reference.logsumexp(z)


def test_ziv_recomputes_near_a_midpoint(monkeypatch):
    """With the guard bits removed the first precision cannot decide some
    roundings; the loop must raise the precision and still return the truth."""
    rng = np.random.default_rng(11)
    z = rng.standard_normal((50, 8)).astype(np.float16)
    expected = reference.softmax(z)
    # Rows with +inf entries take another loop (1/k and log k).
    with_inf = np.array([[np.inf, np.inf, np.inf, 1.0], [np.inf] * 3 + [np.inf]], np.float32)
    expected_inf = reference.truths(with_inf)
    reference._row.cache_clear()
    monkeypatch.setattr(reference, "GUARD_BITS", -50)
    precisions = set()
    original = reference._exp

    def recording(d, prec):
        precisions.add(prec)
        return original(d, prec)

    monkeypatch.setattr(reference, "_exp", recording)
    try:
        np.testing.assert_array_equal(reference.softmax(z), expected)
        for got, want in zip(reference.truths(with_inf), expected_inf):
            np.testing.assert_array_equal(got, want)
    finally:
        reference._row.cache_clear()
    assert len(precisions) > 1, precisions  # some rows were recomputed


def test_extreme_float64_rows():
    """Terms like e^(-2e308) must round to 0 without building 2**1e308-bit
    integers, and results beyond the range overflow exactly."""
    big = np.finfo(np.float64).max
    z = np.array([1e308, -1e308])
    np.testing.assert_array_equal(reference.softmax(z), [1.0, 0.0])
    assert reference.logsumexp(z) == 1e308
    np.testing.assert_array_equal(reference.log_softmax(z), [0.0, -np.inf])  # -2e308 overflows
    np.testing.assert_array_equal(reference.softmax(np.array([big, big])), [0.5, 0.5])
    assert reference.logsumexp(np.array([big, big])) == big  # max + log 2 rounds back to max
    assert reference.logsumexp(np.array([-big, -big])) == -big


def test_round_mpf_formats_without_infinity_and_signed_zero():
    """float8_e4m3fn has no infinity: overflow and +-inf become NaN there,
    while float8_e5m2 overflows to inf; far below the smallest subnormal a
    negative value rounds to -0.0 (found by mutation testing)."""
    import ml_dtypes

    e4m3, e5m2 = ml_dtypes.float8_e4m3fn, ml_dtypes.float8_e5m2
    assert np.isnan(reference.round_mpf(1000, e4m3))
    assert np.isnan(reference.round_mpf(mpmath.mpf("inf"), e4m3))
    assert np.isnan(reference.round_mpf(mpmath.mpf("-inf"), e4m3))
    assert reference.round_mpf(464, e4m3) == 448  # the tie between 448 and 480 goes to even
    assert reference.round_mpf(1e6, e5m2) == np.inf
    assert reference.round_mpf(-1e6, e5m2) == -np.inf
    for dtype in DTYPES:
        far_below = reference.round_mpf(-mpmath.ldexp(1, -5000), dtype)
        assert far_below == 0 and np.signbit(far_below)
        assert not np.signbit(reference.round_mpf(mpmath.ldexp(1, -5000), dtype))
