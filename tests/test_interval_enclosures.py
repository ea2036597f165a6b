"""The two layers of the ground truth's proof, each checked on its own.

`analysis.reference` proves correct rounding by enclosing every exact value
in an interval (directed roundings) and then widening exp/log results by a
stated margin of 2**(1 - prec) (in case mpmath were only faithful).  If one
layer were broken the other would usually hide it, so these tests check each
alone:

- the margin switched off and mpmath's exp/log replaced by MPFR's (gmpy2),
  whose directed roundings are correct by specification: our own interval
  arithmetic (sums, products, quotients, log1p, the exact sums m + L) must
  then enclose every exact value -- at a low working precision, where a
  rounding in the wrong direction is large enough to cross it;
- the margin against its specification, and the margin with mpmath's own
  exp/log.  The margin is needed: mpmath 1.4.1's ``mpf_exp(-2**-30, 40,
  round_ceiling)`` returns a value *below* exp(-2**-30) (by 5e-7 units in
  the last place: faithful, but not directed).

The exact values come from mpmath at 1,200 bits, far beyond the 8-40 bits of
the enclosures under test.
"""

import math

import gmpy2
import mpmath
import numpy as np
import pytest
from mpmath.libmp import fone, from_float, from_man_exp, mpf_add, mpf_shift, mpf_sub, round_ceiling, round_floor

from analysis import reference
from analysis.formats import FORMATS

EXACT_BITS = 1200


def _mpf(raw):
    """The mpf of a raw tuple, exactly (mpmath.mpf rounds to the working
    precision)."""
    with mpmath.workprec(max(int(raw[3]), 1) + 2):
        return mpmath.mpf(raw)


def _to_mpfr(x):
    sign, man, exp, bc = x
    # Exact: enough bits for the significand; the negation too (outside this
    # context it would round to the caller's precision).
    with gmpy2.context(gmpy2.get_context(), precision=max(int(bc), 1) + 2):
        v = gmpy2.mul_2exp(gmpy2.mpfr(int(man)), int(exp))
        return -v if sign else v


def _mpfr_directed(function):
    """An mpf_exp / mpf_ln with MPFR's correctly directed roundings."""

    def directed(x, prec, rnd):
        mode = {round_floor: gmpy2.RoundDown, round_ceiling: gmpy2.RoundUp}[rnd]
        with gmpy2.context(gmpy2.get_context(), precision=prec, round=mode):
            y = function(_to_mpfr(x))
        man, exp = y.as_mantissa_exp()
        return from_man_exp(int(man), int(exp))

    return directed


def _mpfr_wrong_way(function):
    """A merely faithful mpf_exp / mpf_ln, as wrong as faithful allows: each
    endpoint is the neighbour on the wrong side of the exact value (floor
    asked, ceiling given; ceiling asked, floor given)."""

    def faithful(x, prec, rnd):
        flipped = {round_floor: round_ceiling, round_ceiling: round_floor}[rnd]
        return _mpfr_directed(function)(x, prec, flipped)

    return faithful


@pytest.fixture
def exact_directed_elementary(monkeypatch):
    monkeypatch.setattr(reference, "mpf_exp", _mpfr_directed(gmpy2.exp))
    monkeypatch.setattr(reference, "mpf_ln", _mpfr_directed(gmpy2.log))


def _exact(values):
    """(lse - max, [softmax per distinct value], [log-softmax per distinct
    value]) of the row, at EXACT_BITS, with its distinct values ascending."""
    uniq, counts = np.unique(values, return_counts=True)
    with mpmath.workprec(EXACT_BITS):
        m = mpmath.mpf(float(uniq[-1]))
        d = [mpmath.mpf(float(v)) - m for v in uniq]
        s = mpmath.fsum(int(c) * mpmath.exp(x) for x, c in zip(d, counts))
        big_l = mpmath.log(s)
        return m, big_l, [mpmath.exp(x) / s for x in d], [x - big_l for x in d], uniq, counts


def _rows():
    rng = np.random.default_rng(20261125)
    rows = [
        np.array([0.0, 1.0]),
        np.array([3.0, 3.0, 3.0]),  # ties at the top: log(3) without log1p
        np.array([2.0, 2.0, -1.0, 0.5]),
        np.array([0.0, -30.0]),  # s = e^-30 ~ 2^-43: the tiny-s bounds of log1p
        np.array([0.0, -60.0, -61.0]),
        np.array([7.5, -600.0]),  # L ~ e^-607: the exact sum m + L
        np.array([-3.0, -3.0 - 2.0**-30]),  # d with a long significand
        np.array([0.0, -1.0, -1.0, -1.0]),  # a multiplicity: the products exp(d) * count round
        np.array([1.0, 1.0, -0.25, -0.25, -0.25, -0.25, -0.25]),
    ]
    for n in (5, 12, 40):
        for _ in range(6):
            rows.append(rng.integers(-12, 1, n) / 4)  # many repeated values
    for n in (2, 3, 5, 17):
        for scale in (0.01, 1.0, 30.0):
            for _ in range(6):
                rows.append(rng.standard_normal(n) * scale)
    return rows


def _check_enclosures(prec):
    fmt = FORMATS["float32"]
    for values in _rows():
        m, big_l, softmax, log_softmax, uniq, counts = _exact(values)
        m_raw = from_float(float(uniq[-1]))
        shifted = [mpf_sub(from_float(float(v)), m_raw, 0) for v in uniq]
        intervals = reference._enclosures(m_raw, shifted, counts, fmt, prec)
        lse_lo, lse_hi, _ = intervals[0]
        l_lo, l_hi, _ = intervals[1]
        with mpmath.workprec(EXACT_BITS):
            # lse = m + L: compared through L, exactly, since m + L needs more
            # than EXACT_BITS bits when L is tiny.
            assert mpmath.fsub(_mpf(lse_lo), m, exact=True) <= big_l <= mpmath.fsub(_mpf(lse_hi), m, exact=True)
            assert _mpf(l_lo) <= big_l <= _mpf(l_hi), (values, prec)
            for k, p in enumerate(softmax):
                s_lo, s_hi, _ = intervals[2 + 2 * k]
                g_lo, g_hi, _ = intervals[3 + 2 * k]
                assert _mpf(s_lo) <= p <= _mpf(s_hi), (values, prec, k)
                d = _mpf(shifted[k])
                # d - L in [g_lo, g_hi]  <=>  L in [d - g_hi, d - g_lo]
                assert mpmath.fsub(d, _mpf(g_hi), exact=True) <= big_l, (values, prec, k)
                assert big_l <= mpmath.fsub(d, _mpf(g_lo), exact=True), (values, prec, k)


@pytest.mark.parametrize("prec", [8, 12, 24, 40])
def test_our_directed_roundings_alone_enclose_the_exact_values(monkeypatch, exact_directed_elementary, prec):
    monkeypatch.setattr(reference, "WIDEN", False)
    _check_enclosures(prec)


@pytest.mark.parametrize("prec", [8, 12, 24, 40])
def test_the_margin_covers_mpmaths_elementary_functions(prec):
    _check_enclosures(prec)


@pytest.mark.parametrize("prec", [8, 12, 24])
def test_the_margin_covers_any_faithful_exp_and_log(monkeypatch, prec):
    """The claim of the module docstring: with exp and log only faithful
    (here the worst faithful answer, the neighbour on the wrong side), the
    widened enclosures still contain every exact value.  The margin
    2**(1-prec) is exactly one ulp relative at the bottom of a binade, so this
    holds only if the widening products themselves round outward."""
    monkeypatch.setattr(reference, "mpf_exp", _mpfr_wrong_way(gmpy2.exp))
    monkeypatch.setattr(reference, "mpf_ln", _mpfr_wrong_way(gmpy2.log))
    _check_enclosures(prec)


def test_mpfr_directed_exp_is_directed():
    """The replacement used above, checked on the case where mpmath's is not."""
    d = from_float(-(2.0**-30))
    exp = _mpfr_directed(gmpy2.exp)
    with mpmath.workprec(EXACT_BITS):
        exact = mpmath.exp(mpmath.mpf(d))
    assert _mpf(exp(d, 40, round_floor)) < exact < _mpf(exp(d, 40, round_ceiling))
    # ... and the faithful adversary swaps them: one ulp (2**-40 here) on the wrong side.
    wrong = _mpfr_wrong_way(gmpy2.exp)
    with mpmath.workprec(EXACT_BITS):
        assert exact < _mpf(wrong(d, 40, round_floor)) < exact + mpmath.mpf(2) ** -40
        assert exact - mpmath.mpf(2) ** -40 < _mpf(wrong(d, 40, round_ceiling)) < exact


@pytest.mark.parametrize("prec", [8, 24, 53, 113])
def test_the_margin_is_exactly_two_to_the_one_minus_prec(prec):
    """The specification of step 1: endpoints move outward by 2**(1-prec)
    relative.  At x = 1 both moved endpoints are representable, so the
    result is exact."""
    lo, hi = reference._widen(fone, fone, prec)
    with mpmath.workprec(EXACT_BITS):
        eps = mpmath.mpf(2) ** (1 - prec)
        assert _mpf(lo) == 1 - eps
        assert _mpf(hi) == 1 + eps


def test_the_margin_switch_leaves_the_endpoints(monkeypatch):
    monkeypatch.setattr(reference, "WIDEN", False)
    x = from_float(0.7)
    assert reference._widen(x, x, 30) == (x, x)


@pytest.mark.parametrize("prec", [10, 30, 80])
def test_log1p_of_a_negligible_sum(prec):
    """s < 2**-prec: log1p(s) is enclosed by [s (1 - 2**-prec), s], rounded
    outward (s - s**2/2 >= s (1 - 2**-prec) there).  The enclosure must
    contain the exact value and be that tight: relative width at most
    2**-prec plus one rounding of the lower end (< 3.5 * 2**-prec)."""
    rng = np.random.default_rng(11)
    for shift in (2, 5, 30):  # s < 2**-prec: the branch under test
        for _ in range(40):
            s = float(rng.uniform(1, 2)) * 2.0 ** (-prec - shift)
            s_raw = from_float(s)
            lo, hi = reference._log_of_sum(1, s_raw, s_raw, prec)
            with mpmath.workprec(EXACT_BITS):
                exact = mpmath.log1p(mpmath.mpf(s))
                assert _mpf(lo) <= exact <= _mpf(hi), (s, prec)
                assert (_mpf(hi) - _mpf(lo)) / exact < 3.5 * mpmath.mpf(2) ** -prec, (s, prec)


@pytest.mark.parametrize("prec", [10, 30, 80])
def test_log1p_enclosure_is_tight(prec):
    """log(1 + s) for one top entry keeps its relative accuracy for every s:
    1 + s is formed with enough bits to hold all of s, so the enclosure's
    relative width is a few units of 2**-prec (measured: <= 6; the bound 16
    leaves room), never the 2**-prec / s of a sum rounded to prec bits."""
    rng = np.random.default_rng(7)
    for exponent in (-3, -20, -45, -70, -200):
        for _ in range(5):
            # s with a full 53-bit significand, so that dropping its low bits shows
            s = float(rng.uniform(1, 2)) * 2.0**exponent
            s_raw = from_float(s)
            lo, hi = reference._log_of_sum(1, s_raw, s_raw, prec)
            with mpmath.workprec(EXACT_BITS):
                exact = mpmath.log1p(mpmath.mpf(s))
                assert _mpf(lo) <= exact <= _mpf(hi)
                assert (_mpf(hi) - _mpf(lo)) / exact <= 16 * mpmath.mpf(2) ** -prec, (s, prec)


def test_plus_small_is_exact_for_long_significands():
    """m + L and d - L are formed without rounding, whatever the length of
    L's significand (here 1,500 bits)."""
    with mpmath.workprec(1500):
        third = mpmath.mpf(1) / 3
    a = from_float(5.25)
    raw = third._mpf_
    lo, hi = reference._plus_small(a, raw, raw, +1)
    assert lo == hi == mpf_add(a, raw, 0)
    lo, hi = reference._plus_small(a, raw, raw, -1)
    assert lo == hi == mpf_sub(a, raw, 0)


@pytest.mark.parametrize("sign", [+1, -1])
def test_plus_small_keeps_the_side_of_a_for_a_negligible_term(sign):
    """A term below 2**-1108 is replaced by one of the same sign that is
    still below every rounding boundary near a: the interval stays strictly
    on the correct side of a and within 2**-1100 of it."""
    a = from_float(1.5)
    with mpmath.workprec(64):
        tiny = (mpmath.mpf(2) ** -3000)._mpf_
    lo, hi = reference._plus_small(a, tiny, tiny, sign)
    low = mpmath.fsub(_mpf(lo), _mpf(a), exact=True)
    high = mpmath.fsub(_mpf(hi), _mpf(a), exact=True)
    assert low <= high
    if sign > 0:
        assert 0 < low and high < mpmath.mpf(2) ** -1100
    else:
        assert -(mpmath.mpf(2) ** -1100) < low and high < 0


def test_precision_cap_is_inclusive_and_reported(monkeypatch):
    """MAX_PRECISION is the last precision tried, and the error names what
    could not be decided."""
    row = np.array([0.0, 1.0], dtype=np.float32)
    first = max(FORMATS["float32"].precision, 53) + (2).bit_length() + reference.GUARD_BITS
    monkeypatch.setattr(reference, "MAX_PRECISION", first)
    reference._row.cache_clear()
    assert reference.logsumexp(row) == np.float32(math.log1p(math.e))
    monkeypatch.setattr(reference, "MAX_PRECISION", 8)
    reference._row.cache_clear()
    message = r"could not decide the rounding of array\(\[0\., 1\.\]\) at 8 bits"
    with pytest.raises(reference.NotDecidedError, match=message):
        reference.logsumexp(row)
    reference._row.cache_clear()


def test_precision_cap_for_infinite_rows(monkeypatch):
    """The +inf rows (shares 1/k and -log k) obey the same cap."""
    row = np.array([np.inf, np.inf, np.inf])
    first = FORMATS["float64"].precision + reference.GUARD_BITS
    monkeypatch.setattr(reference, "MAX_PRECISION", first)
    reference._row.cache_clear()
    assert reference.softmax(row)[0] == 1 / 3
    monkeypatch.setattr(reference, "MAX_PRECISION", 8)
    reference._row.cache_clear()
    with pytest.raises(reference.NotDecidedError, match=r"could not decide inverse\(3\)"):
        reference.softmax(row)
    reference._row.cache_clear()


def test_shift_of_two_to_the_k():
    # mpf_shift is used for 2**(1-prec); make sure of its meaning here.
    assert _mpf(mpf_shift(fone, -3)) == mpmath.mpf(1) / 8
