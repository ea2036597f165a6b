"""ulp_distance, bits_of_error, relative_error and classify.

The ULP count is checked against an independent definition: the rank of a
value in the sorted list of all distinct finite values of the format, built
by sorting their float64 conversions (exhaustive for the 16-bit formats), and
against np.nextafter for float32/float64.
"""

import math

import ml_dtypes
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from analysis.formats import FORMATS
from analysis.metrics import bits_of_error, classify, relative_error, ulp_distance
from tests.conftest import DTYPES

UINT = {1: np.uint8, 2: np.uint16, 4: np.uint32, 8: np.uint64}


def all_values(dtype) -> np.ndarray:
    """Every bit pattern of a 16-bit format, as that dtype."""
    return np.arange(2**16, dtype=np.uint16).view(dtype)


@pytest.mark.parametrize("dtype", [np.dtype(np.float16), np.dtype(ml_dtypes.bfloat16)], ids=str)
def test_ulp_distance_is_rank_difference_exhaustively(dtype):
    values = all_values(dtype)
    with np.errstate(invalid="ignore"):  # ml_dtypes warns on signalling NaN patterns
        finite = values[np.isfinite(values)]
    as64 = finite.astype(np.float64)
    # Independent ordering: numeric sort of the exact float64 values, with
    # -0.0 and +0.0 collapsed into one point.
    ranks_of = {v: r for r, v in enumerate(np.unique(as64))}
    ranks = np.array([ranks_of[v] for v in as64])
    rng = np.random.default_rng(20261125)
    i = rng.integers(0, finite.size, 200_000)
    j = rng.integers(0, finite.size, 200_000)
    expected = np.abs(ranks[i] - ranks[j]).astype(np.float64)
    np.testing.assert_array_equal(ulp_distance(finite[i], finite[j]), expected)
    # Every pair of numeric neighbours is exactly 1 apart, zero included.
    order = np.argsort(as64, kind="stable")
    sorted_values = finite[order]
    steps = ulp_distance(sorted_values[:-1], sorted_values[1:])
    zero_pair = (sorted_values[:-1] == 0) & (sorted_values[1:] == 0)
    assert np.all(steps[~zero_pair] == 1)
    assert np.all(steps[zero_pair] == 0)


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=lambda d: np.dtype(d).name)
def test_ulp_distance_neighbours_by_nextafter(dtype):
    fmt = FORMATS[np.dtype(dtype).name]
    rng = np.random.default_rng(1)
    x = np.concatenate(
        [
            (rng.standard_normal(10_000) * 10.0 ** rng.integers(-30, 30, 10_000)).astype(dtype),
            np.array([0.0, -0.0, fmt.smallest_subnormal, fmt.smallest_normal, fmt.max, -fmt.max], dtype),
        ]
    )
    with np.errstate(over="ignore"):  # nextafter(max, inf) is inf
        up = np.nextafter(x, np.array(np.inf, dtype))
        down = np.nextafter(x, np.array(-np.inf, dtype))
    finite_up = np.isfinite(up)
    np.testing.assert_array_equal(ulp_distance(x[finite_up], up[finite_up]), 1.0)
    finite_down = np.isfinite(down) & (x != 0)  # nextafter(0, -inf) is -tiny: 1 away, checked below
    np.testing.assert_array_equal(ulp_distance(x[finite_down], down[finite_down]), 1.0)
    tiny = np.array(fmt.smallest_subnormal, dtype)
    assert ulp_distance(tiny, -tiny) == 2
    assert ulp_distance(np.array(0.0, dtype), -tiny) == 1
    assert ulp_distance(np.array(1.0, dtype), np.array(2.0, dtype)) == 2 ** (fmt.precision - 1)


def test_ulp_distance_special_values(dtype):
    inf, nan = np.array(np.inf, dtype), np.array(np.nan, dtype)
    big = np.array(FORMATS[dtype.name].max, dtype)
    assert ulp_distance(np.array(0.0, dtype), np.array(-0.0, dtype)) == 0
    assert ulp_distance(inf, inf) == 0
    assert ulp_distance(-inf, -inf) == 0
    assert ulp_distance(nan, nan) == 0
    assert ulp_distance(inf, -inf) == math.inf
    assert ulp_distance(big, inf) == math.inf  # overflow is not "one ulp off"
    assert ulp_distance(nan, big) == math.inf
    assert ulp_distance(np.array(1.0, dtype), nan) == math.inf


def test_ulp_distance_rejects_mixed_dtypes():
    with pytest.raises(TypeError, match="float32"):
        ulp_distance(np.float32(1), np.float64(1))
    with pytest.raises(TypeError, match="int64"):
        ulp_distance(np.int64(1), np.int64(1))


@st.composite
def bit_patterns(draw, dtype, size=3):
    """Any finite value of dtype, drawn by its bit pattern."""
    dtype = np.dtype(dtype)
    bits = draw(
        st.lists(st.integers(0, 2 ** (8 * dtype.itemsize) - 1), min_size=size, max_size=size)
    )
    values = np.array(bits, dtype=UINT[dtype.itemsize]).view(dtype)
    return values


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.name)
@given(data=st.data())
def test_ulp_distance_is_a_metric(dtype, data):
    a, b, c = data.draw(bit_patterns(dtype))
    d = data.draw(bit_patterns(dtype, 1))[0]
    with np.errstate(invalid="ignore"):
        if not all(np.isfinite([a, b, c, d])):
            return
    ab, ba = ulp_distance(a, b), ulp_distance(b, a)
    assert ab == ba
    assert (ab == 0) == (a == b)  # zero iff equal (-0.0 == +0.0)
    if dtype.itemsize < 8:  # float64 distances above 2**53 are rounded
        assert ulp_distance(a, c) <= ab + ulp_distance(b, c)
    assert ulp_distance(d, d) == 0


def test_bits_of_error():
    one = np.float32(1.0)
    assert bits_of_error(one, one) == 0.0
    assert bits_of_error(one, np.nextafter(one, np.float32(2))) == 1.0
    assert bits_of_error(np.float32(0), np.float32(np.inf)) == math.inf
    # 1.0 to 2.0 is 2**23 steps in float32: log2(1 + 2**23) bits.
    assert bits_of_error(np.float32(1), np.float32(2)) == pytest.approx(math.log2(1 + 2**23), rel=1e-15)


def test_relative_error_is_exact_where_float64_would_cancel():
    # 1 + 2**-52 vs 1: the difference is 2**-52 exactly.
    a, b = np.float64(1 + 2**-52), np.float64(1.0)
    assert relative_error(a, b) == 2**-52
    # 1e-300 vs 1e300: the float64 difference is fine, the quotient is 1.
    assert relative_error(np.float64(1e-300), np.float64(1e300)) == 1.0
    # float16 subnormal truth: exact ratio 1 (6e-08 vs 1.2e-07).
    tiny = np.float16(2.0**-24)
    assert relative_error(tiny, np.float16(2.0**-23)) == 0.5
    assert relative_error(np.float16(0), np.float16(0)) == 0.0
    assert relative_error(np.float16(1), np.float16(0)) == math.inf
    assert relative_error(np.float16(np.nan), np.float16(np.nan)) == 0.0
    assert relative_error(np.float16(np.inf), np.float16(1)) == math.inf
    # A NaN on one side only is infinitely wrong (both NaN: the same answer).
    assert relative_error(np.float32(np.nan), np.float32(1)) == math.inf
    assert relative_error(np.float32(1), np.float32(np.nan)) == math.inf
    assert relative_error(np.float32(1), np.float32(np.inf)) == math.inf
    assert relative_error(np.float32(-np.inf), np.float32(np.inf)) == math.inf
    assert relative_error(np.float32(np.inf), np.float32(np.inf)) == 0.0
    out = relative_error(np.array([1, 2, 3], np.float32), np.array([1, 1, 1], np.float32))
    np.testing.assert_array_equal(out, [0, 1, 2])


def _exact_relative_error(x: float, t: float) -> float:
    """|x - t| / |t| from Python's exact rationals, rounded once (int / int)."""
    from fractions import Fraction

    if math.isnan(x) or math.isnan(t):
        return 0.0 if math.isnan(x) and math.isnan(t) else math.inf
    if math.isinf(x) or math.isinf(t) or t == 0:
        return 0.0 if x == t else math.inf
    q = abs(Fraction(x) - Fraction(t)) / abs(Fraction(t))
    try:
        return q.numerator / q.denominator
    except OverflowError:
        return math.inf


FLOAT8 = [np.dtype(ml_dtypes.float8_e4m3fn), np.dtype(ml_dtypes.float8_e5m2)]


@pytest.mark.parametrize("dtype", DTYPES + FLOAT8, ids=str)
def test_relative_error_is_correctly_rounded_on_random_bit_patterns(dtype):
    """Random bit patterns (every binade, subnormals, specials) and near
    pairs (the cancelling case): equal, bit for bit, to the exact rational
    quotient rounded once to float64."""
    rng = np.random.default_rng(7)
    uint = UINT[dtype.itemsize]
    bits = rng.integers(0, np.iinfo(uint).max, size=(2, 4000), dtype=uint, endpoint=True)
    near = bits[0] + rng.integers(0, 4, size=4000).astype(uint)
    for a, b in ((bits[0], bits[1]), (bits[0], near), (bits[0], bits[0])):
        a, b = a.view(dtype), b.view(dtype)
        got = relative_error(a, b)
        with np.errstate(invalid="ignore"):
            pairs = zip(a.astype(np.float64).tolist(), b.astype(np.float64).tolist())
        want = [_exact_relative_error(x, t) for x, t in pairs]
        np.testing.assert_array_equal(got, want)
    # The differences that float64 cannot hold exactly: operands 2**80 apart.
    a = np.array([1.0, 3.0, -5.0], np.float64)
    b = a * 2.0**-80 + np.array([2.0**-140, 0, 2.0**-150])
    if dtype == np.float64:
        got = relative_error(a, b)
        np.testing.assert_array_equal(got, [_exact_relative_error(x, t) for x, t in zip(a.tolist(), b.tolist())])


@pytest.mark.parametrize("dtype", [np.dtype(np.float16)] + FLOAT8, ids=str)
def test_relative_error_takes_the_rational_path_only_where_float64_cannot_hold_the_difference(dtype, monkeypatch):
    """Every finite float16 is an integer multiple of 2**-24 below 2**16 in
    magnitude (float8 e5m2: of 2**-16, e4m3fn: of 2**-9), so the difference
    of two is a multiple below 2**17: at most 41 significant bits, exact in
    float64.  TwoSum must accept every such difference (the exact rational
    path is for float64 operands far apart, and costs ~100x more).  A wrong
    exactness test would still give right numbers through that path, only
    slowly; this is the test that sees it."""
    import analysis.metrics as metrics

    def no_rationals(*args):
        raise AssertionError("a float64-exact difference went to the rational path")

    monkeypatch.setattr(metrics, "_exact_quotient", no_rationals)
    rng = np.random.default_rng(8)
    uint = UINT[dtype.itemsize]
    bits = rng.integers(0, np.iinfo(uint).max, size=(2, 4000), dtype=uint, endpoint=True)
    relative_error(bits[0].view(dtype), bits[1].view(dtype))
    # And float64 operands 2**80 apart do take it.
    calls = []
    monkeypatch.setattr(metrics, "_exact_quotient", lambda d, t: calls.append(1) or 0.0)
    relative_error(np.array([1.0]), np.array([2.0**-80 + 2.0**-140]))
    assert calls == [1]


def test_classify(dtype):
    truth = np.array([[0.5, 0.25, 0.25]] * 5, dtype)
    computed = truth.copy()
    computed[1, 0] = np.nan
    computed[2, 1] = np.inf
    computed[3, 2] = 0
    computed[4, 0], computed[4, 1] = np.nan, np.inf  # nan wins
    np.testing.assert_array_equal(classify(computed, truth), ["ok", "nan", "inf", "zero", "nan"])
    assert classify(truth[0], truth[0]) == "ok"
    # A special value that the truth has too is not a failure.
    specials = np.array([-np.inf, 0.0, np.nan], dtype)
    assert classify(specials, specials) == "ok"
    assert classify(np.array([-np.inf, 1], dtype), np.array([np.inf, 1], dtype)) == "inf"


def test_classify_in_a_format_without_infinity():
    """float8_e4m3fn has no inf: there an overflow rounds to NaN.  A finite
    result where the truth is that NaN is an overflow ("inf"); a finite
    result next to a finite truth is "ok"; NaN where the truth is NaN too is
    the same answer."""
    e4m3 = ml_dtypes.float8_e4m3fn
    truth = np.array([[0.5, 0.25], [0.5, np.nan], [np.nan, 0.25], [0.5, 0.25]], e4m3)
    computed = np.array([[0.5, 0.25], [0.5, 448.0], [np.nan, 0.25], [0.5, 0.0]], e4m3)
    assert classify(computed, truth).tolist() == ["ok", "inf", "ok", "zero"]
    assert classify(truth[0], truth[0]) == "ok"


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("log_domain", [False, True])
def test_grade_and_judged_by_ulps_with_the_distance_given_are_the_same(dtype, log_domain):
    """The sweep passes ulp_distance(computed, truth) it already has; grade
    and judged_by_ulps must then answer exactly as when they compute it."""
    from analysis.metrics import grade, judged_by_ulps

    fmt = FORMATS[np.dtype(dtype).name]
    uint = {2: np.uint16, 4: np.uint32, 8: np.uint64}[fmt.dtype.itemsize]
    rng = np.random.default_rng(5)
    truth = (rng.standard_normal((400, 6)) * rng.choice([1e-6, 1.0, 1e3], (400, 1))).astype(fmt.dtype)
    steps = rng.choice([0, 1, 2, 9], truth.shape).astype(uint)  # ulps away from the truth (in magnitude)
    computed = (truth.view(uint) + steps).view(fmt.dtype)
    computed[rng.random(truth.shape) < 0.05] = 0  # flushed or lost
    computed[0, 0] = np.nan
    d = ulp_distance(computed, truth)
    np.testing.assert_array_equal(grade(computed, truth, log_domain=log_domain, ulps=d),
                                  grade(computed, truth, log_domain=log_domain))  # fmt: skip
    np.testing.assert_array_equal(judged_by_ulps(computed, truth, log_domain, ulps=d),
                                  judged_by_ulps(computed, truth, log_domain))  # fmt: skip


def test_canonical_bits_make_every_nan_one_pattern_and_keep_the_sign_of_zero():
    from analysis.metrics import canonical_bits

    nans = np.array([np.nan, -np.nan, np.float64(np.nan) * 0, np.uint64(0x7FF0000000000001).view(np.float64)])
    assert len(set(canonical_bits(nans).tolist())) == 1
    assert canonical_bits(np.float32(-0.0)) != canonical_bits(np.float32(0.0))
    np.testing.assert_array_equal(canonical_bits(np.array([1.5, -2.0], np.float16)),
                                  np.array([1.5, -2.0]).view(np.uint64))  # fmt: skip
