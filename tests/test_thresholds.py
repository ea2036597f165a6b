"""The thresholds study (analysis.studies.thresholds) against an independent
search: the truth of the constant vector (c, ..., c) from its closed form in
mpmath (softmax 1/n, logsumexp c + ln n, log-softmax -ln n, each rounded once
by reference.round_mpf, not by the fast reference the study uses), a plain
scalar bisection over the format's values, and in float16 and bfloat16 a
full scan of every value, which also checks that the failing offsets form
one interval (what bisection assumes)."""

import math

import mpmath
import numpy as np
import pytest

from analysis import metrics, reference
from analysis import softmax as sm
from analysis.formats import FORMATS
from analysis.studies import thresholds

UINT = {1: np.uint8, 2: np.uint16, 4: np.uint32, 8: np.uint64}


def truth(function: str, c: np.ndarray, n: int, dtype) -> np.ndarray:
    """Correctly rounded truth of (c, ..., c) per row, from the closed form."""
    with mpmath.workprec(200):
        if function == "softmax":
            return np.full((len(c), n), reference.round_mpf(mpmath.mpf(1) / n, dtype), dtype)
        if function == "log_softmax":
            return np.full((len(c), n), reference.round_mpf(-mpmath.log(n), dtype), dtype)
        return np.array([[reference.round_mpf(mpmath.mpf(float(x)) + mpmath.log(n), dtype)] for x in c], dtype)


def grades(function: str, method: str, c: np.ndarray, n: int, fmt) -> np.ndarray:
    z = np.repeat(np.asarray(c, np.float64).astype(fmt.dtype)[:, None], n, axis=1)
    with np.errstate(all="ignore"):
        out = sm.IMPLEMENTATIONS[function, method](z)
    if function == "logsumexp":
        out = out[:, None]
    log_domain = function != "softmax"
    return np.atleast_1d(metrics.grade(out, truth(function, c, n, fmt.dtype), log_domain=log_domain))


def value(fmt, ordinal: int) -> float:
    return float(np.array(ordinal, UINT[fmt.dtype.itemsize]).view(fmt.dtype))


def independent_bisection(function, method, fmt, n, failing, sign=1.0):
    """The first format value c >= 0 (or <= 0 with sign -1) at which the
    grade of (sign c, ..., sign c) is in ``failing``; None if none."""

    def fails(ordinal):
        return grades(function, method, np.array([sign * value(fmt, ordinal)]), n, fmt)[0] in failing

    lo, hi = 0, int(np.array(fmt.max, fmt.dtype).view(UINT[fmt.dtype.itemsize]))
    if fails(lo):
        return 0.0
    if not fails(hi):
        return None
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if fails(mid) else (mid, hi)
    return sign * value(fmt, hi)


KIND_TEST = {
    "lost": (metrics.FAILURES, 1.0),
    "nonfinite": (("inf", "nan"), 1.0),
    "nonfinite_below": (("inf", "nan"), -1.0),
}


@pytest.mark.parametrize("dtype", ["float16", "bfloat16", "float32", "float64"])
@pytest.mark.parametrize("function", ["softmax", "logsumexp", "log_softmax"])
def test_thresholds_match_an_independent_bisection(dtype, function):
    fmt = FORMATS[dtype]
    for method in ("naive", "shifted"):
        for n in (2, 1000):
            for kind, (failing, sign) in KIND_TEST.items():
                observed = thresholds.observed(function, method, kind, fmt, n, "recursive")
                expected = independent_bisection(function, method, fmt, n, failing, sign)
                assert observed == expected, (method, n, kind, observed, expected)


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
@pytest.mark.parametrize("function", ["softmax", "logsumexp", "log_softmax"])
def test_every_value_scanned_gives_the_same_first_failure(dtype, function):
    """Every non-negative value of the format, at n = 2: the failing offsets
    are one interval [threshold, max] (what bisection assumes), and it starts
    where the study says."""
    fmt = FORMATS[dtype]
    c = np.arange(0, int(np.array(fmt.max, fmt.dtype).view(np.uint16)) + 1, dtype=np.uint16).view(fmt.dtype)
    c = c.astype(np.float64)
    for method in ("naive", "shifted"):
        for kind in ("lost", "nonfinite"):
            failing = np.isin(grades(function, method, c, 2, fmt), KIND_TEST[kind][0])
            observed = thresholds.observed(function, method, kind, fmt, 2, "recursive")
            if not failing.any():
                assert observed is None, (method, kind)
                continue
            first = int(np.argmax(failing))
            assert failing[first:].all(), (method, kind, "failing offsets are not one interval")
            assert observed == c[first], (method, kind, observed, c[first])


def test_naive_softmax_float16_is_lost_where_the_sum_overflows():
    """The issue's numbers: lost from 10.40 / 8.79 / 6.49 / 4.25 (n = 2, 10,
    100, 1000), where the recursive sum overflows and e^c / inf = 0, beside
    11.09 for inf/NaN (e^c itself overflows: inf / inf)."""
    fmt = FORMATS["float16"]
    for n, at in ((2, 10.3984375), (10, 8.7890625), (100, 6.48828125), (1000, 4.25)):
        assert thresholds.observed("softmax", "naive", "lost", fmt, n, "recursive") == at
        assert thresholds.observed("softmax", "naive", "sum_overflow", fmt, n, "recursive") == at
        assert thresholds.observed("softmax", "naive", "nonfinite", fmt, n, "recursive") == 11.09375
        below = float(np.nextafter(np.float16(at), np.float16(0)))
        assert grades("softmax", "naive", np.array([below]), n, fmt)[0] not in metrics.FAILURES
        assert grades("softmax", "naive", np.array([at]), n, fmt)[0] == "lost"


def test_bfloat16_sum_of_1000_equal_terms_is_lost_at_every_offset():
    """The recursive sum of n equal terms stagnates at 2**p = 256 terms in
    bfloat16 (the next term is half an ulp: ties to even), so softmax gives
    1/256 where the truth is 1/1000, naive and shifted alike: predicted 0."""
    fmt = FORMATS["bfloat16"]
    for method in ("naive", "shifted"):
        assert thresholds.observed("softmax", method, "lost", fmt, 1000, "recursive") == 0.0
        assert thresholds.predicted("softmax", method, "lost", fmt, 1000) == 0.0
    assert thresholds.predicted("softmax", "naive", "lost", fmt, 100) > 0
    assert grades("softmax", "shifted", np.array([0.0]), 100, fmt)[0] not in metrics.FAILURES


@pytest.mark.parametrize("dtype", ["float16", "bfloat16", "float32", "float64"])
def test_sum_overflow_against_a_scalar_recursive_sum(dtype):
    """sum_overflow: the first c at which fl(...fl(e^c + e^c)...) overflows,
    with each e^c rounded once from mpmath (reference.round_mpf) and each
    partial sum rounded by numpy in the format; checked at the threshold and
    one value below it."""
    fmt = FORMATS[dtype]
    for n in (2, 10, 100):

        def overflows(c, n=n):
            with mpmath.workprec(200):
                term = reference.round_mpf(mpmath.exp(mpmath.mpf(c)), fmt.dtype)
            total = term
            with np.errstate(over="ignore"):
                for _ in range(n - 1):
                    total = (np.array(total, fmt.dtype) + np.array(term, fmt.dtype)).astype(fmt.dtype)
            return not math.isfinite(float(total))

        at = thresholds.observed("softmax", "naive", "sum_overflow", fmt, n, "recursive")
        below = float(np.nextafter(np.array(at, fmt.dtype), np.array(0, fmt.dtype)))
        assert overflows(at) and not overflows(below), (n, at)
        assert thresholds.observed("softmax", "shifted", "sum_overflow", fmt, n, "recursive") is None
