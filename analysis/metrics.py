"""Error metrics: ULP distance, bits of error, relative error, the graded taxonomy.

Pure numerics, no I/O.  All functions accept any binary format of
:mod:`analysis.formats` (float64, float32, float16, bfloat16, float8).
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np

from . import crmath
from .formats import format_of

_UINT = {1: np.uint8, 2: np.uint16, 4: np.uint32, 8: np.uint64}

STATUSES = ("ok", "nan", "inf", "zero")


def _same_format(a, b) -> tuple[np.ndarray, np.ndarray]:
    a, b = np.asarray(a), np.asarray(b)
    if a.dtype != b.dtype:
        raise TypeError(f"dtypes differ: {a.dtype.name} and {b.dtype.name}")
    format_of(a.dtype)
    return np.broadcast_arrays(a, b)


def _magnitude_and_sign(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """|x| as its bit pattern without the sign (the index of |x| in the
    ordered non-negative values: 0 for 0, 1 for the smallest subnormal, ...)
    and the sign bit."""
    bits = x.view(_UINT[x.dtype.itemsize]).astype(np.uint64)
    sign_bit = np.uint64(1) << np.uint64(8 * x.dtype.itemsize - 1)
    return bits & ~sign_bit, (bits & sign_bit) != 0


def canonical_bits(a) -> np.ndarray:
    """float64 bit patterns of ``a`` with every NaN made one pattern: equal
    patterns are the same values bit for bit (the sign of zero counted), a
    NaN's sign and payload being no part of a result."""
    a = np.asarray(a).astype(np.float64)
    return np.where(np.isnan(a), np.nan, a).view(np.uint64)


def ulp_distance(a, b) -> np.ndarray:
    """Number of representable values one steps over to go from ``a`` to ``b``.

    Both arrays must have the same dtype.  In a binary format the bit patterns
    of non-negative values, read as unsigned integers, are in the same order
    as the values and consecutive values differ by 1, so the distance is
    ``|ord(a) - ord(b)|`` with ``ord(x) = ±bits(|x|)``.  This is correct
    across binades and through the subnormals; ``-0.0`` and ``+0.0`` are the
    same point (distance 0) and the smallest subnormal is 1 from zero.

    Returns float64 (exact up to 2**53 steps): 0 where both are NaN or the
    same infinity, ``inf`` where only one side is NaN or an infinity the other
    does not match.

    Reference: J.-M. Muller, "On the definition of ulp(x)", INRIA RR-5504
    (2005); the ordering trick is IEEE 754-2019 §3.4 (lexicographic order of
    encodings).
    """
    a, b = _same_format(a, b)
    mag_a, neg_a = _magnitude_and_sign(a)
    mag_b, neg_b = _magnitude_and_sign(b)
    # Same sign: the magnitudes' difference; opposite signs: their sum (both
    # < 2**63, so the sum fits in uint64).
    same = neg_a == neg_b
    steps = np.where(
        same,
        np.maximum(mag_a, mag_b) - np.minimum(mag_a, mag_b),
        mag_a + mag_b,
    ).astype(np.float64)
    with np.errstate(invalid="ignore"):  # ml_dtypes warns on signalling NaNs
        nan_a, nan_b = np.isnan(a), np.isnan(b)
        inf_a, inf_b = np.isinf(a), np.isinf(b)
    special = nan_a | nan_b | inf_a | inf_b
    # Two NaNs, or the same infinity, are the same answer; every other pair
    # that involves a special value is infinitely wrong.
    same_special = (nan_a & nan_b) | (inf_a & inf_b & (neg_a == neg_b))
    steps = np.where(special, np.where(same_special, 0.0, np.inf), steps)
    return steps if steps.ndim else steps[()]


def bits_of_error(a, b) -> np.ndarray:
    """log2(1 + ulp_distance(a, b)), the error measure of Herbie.

    Reference: P. Panchekha, A. Sanchez-Stern, J. R. Wilcox, Z. Tatlock,
    "Automatically improving accuracy for floating point expressions",
    PLDI 2015, §3.  The logarithm is correctly rounded (analysis.crmath):
    numpy's log2 differs between CPUs.
    """
    return bits_from_ulps(ulp_distance(a, b))


def bits_from_ulps(ulps) -> np.ndarray:
    """log2(1 + ulps) correctly rounded to float64 (inf for inf)."""
    return crmath.log2(1.0 + np.asarray(ulps, dtype=np.float64))


def _exact_quotient(d: Fraction, t: Fraction) -> float:
    """|d| / |t| rounded once to float64 (CPython's int / int is correctly
    rounded, subnormals included); inf beyond the largest float64."""
    q = abs(d) / abs(t)
    try:
        return q.numerator / q.denominator
    except OverflowError:
        return math.inf


def relative_error(a, b) -> np.ndarray:
    """|a - b| / |b|, with ``b`` the truth, correctly rounded to float64.

    The difference is formed in float64 and checked for exactness with
    Knuth's TwoSum (its rounding error e = (a - (d - v)) + (-b - v), v = d - a,
    is 0 exactly when d = a - b is exact; Knuth, TAOCP vol. 2, §4.2.2,
    Theorem B; Higham 2002, §4.3).  Then one IEEE division rounds the exact
    quotient once.  The rare differences that are not exact in float64
    (float64 operands far apart in magnitude) are formed as exact rationals.
    So the result is right even where ``a - b`` would cancel or underflow in
    the format.  0 where both are the same special value (both NaN, the same
    infinity, both zero); ``inf`` where only one is special or the truth is 0
    and ``a`` is not.
    """
    a, b = _same_format(a, b)
    with np.errstate(all="ignore"):  # ml_dtypes warns on signalling NaNs
        x, t = np.atleast_1d(a.astype(np.float64)), np.atleast_1d(b.astype(np.float64))
        d = x - t
        v = d - x
        e = (x - (d - v)) + (-t - v)
        out = np.abs(d) / np.abs(t)
        nan_x, nan_t = np.isnan(x), np.isnan(t)
        inf_x, inf_t = np.isinf(x), np.isinf(t)
    special = nan_x | nan_t | inf_x | inf_t | (t == 0)
    inexact = ~special & ~(np.isfinite(d) & (e == 0))
    for i in zip(*np.nonzero(inexact)):
        out[i] = _exact_quotient(Fraction(float(x[i])) - Fraction(float(t[i])), Fraction(float(t[i])))
    same = (nan_x & nan_t) | ((inf_x | inf_t | (t == 0)) & (x == t))
    out = np.where(special, np.where(same, 0.0, np.inf), out)
    return out if a.ndim else out[0]


def classify(computed, truth, axis: int = -1):
    """Status of each vector along ``axis``: "ok", "nan", "inf" or "zero".

    - "nan": some component is NaN where the truth is not;
    - "inf": some component is infinite where the truth is not that infinity
      (or, in a format without infinities, finite where the correctly
      rounded truth is NaN because the exact value overflows the format);
    - "zero": some component is 0 where the truth is nonzero (underflow);
    - "ok": none of these.

    The first that applies, in that order, wins.  Returns a str for a 1-D
    input and an array of str (the other axes' shape) otherwise.

    These are raw events, not failures: "zero" includes a result one ulp
    from a tiny truth, and "ok" a result that is finite but wrong in every
    bit.  The studies and the report grade outputs with :func:`grade`.
    """
    computed, truth = _same_format(computed, truth)
    with np.errstate(invalid="ignore"):  # ml_dtypes warns on signalling NaNs
        nan = np.isnan(computed) & ~np.isnan(truth)
        inf = np.isinf(computed) & ~(computed == truth)
        if not format_of(truth.dtype).has_inf:
            # float8_e4m3fn has no infinity: an exact value beyond the format's
            # range rounds to NaN, so a finite output there is an overflow too.
            inf |= np.isnan(truth) & ~np.isnan(computed)
        zero = (computed == 0) & (truth != 0) & ~np.isnan(truth)
    status = np.where(
        nan.any(axis=axis),
        "nan",
        np.where(inf.any(axis=axis), "inf", np.where(zero.any(axis=axis), "zero", "ok")),
    )
    return str(status) if status.ndim == 0 else status


# --- the graded taxonomy ------------------------------------------------------

# Least to most severe.  A vector is graded by its worst component.
GRADES = ("exact", "accurate", "flushed", "inaccurate", "lost", "inf", "nan")
FAILURES = ("lost", "inf", "nan")  # what a user would call a failure
ACCURATE_ULPS = 1  # "accurate": at most one step from the correctly rounded value
LOST_RELATIVE = 0.5  # "lost": not even the leading bit is right


def grade(computed, truth, axis: int = -1, log_domain: bool = False, ulps=None):
    """The grade of each vector along ``axis``: its worst component's class,
    in GRADES order (least to most severe).  Per component, x computed and
    t the correctly rounded truth, d = ulp_distance(x, t), u the format's
    unit roundoff:

    - "nan": x is NaN and t is not;
    - "inf": x is infinite and t is not that infinity (in a format without
      infinities: x finite where t is NaN, the exact value beyond range);
    - "exact": d = 0;
    - "accurate": d <= ACCURATE_ULPS (one step from the correctly rounded
      value), neither side zero or subnormal; with ``log_domain`` (losses,
      log-probabilities, logsumexp) also any |x - t| <= u: such values are
      added to numbers of order 1, where that error is below half an ulp;
    - "flushed": x and t both below the smallest normal number (zero or
      subnormal), or d <= ACCURATE_ULPS with either of them so -- a tiny
      result rounded to 0 or to a subnormal neighbour, or flushed to 0 as
      flush-to-zero hardware and XLA on the CPU do.  Below the smallest
      normal a format keeps only an absolute accuracy of one subnormal step
      (IEEE 754-2019 §3.4; Higham 2002, §2.1), so this is not a failure
      (harmless unless its log is taken: log 0 = -inf);
    - "lost": d > ACCURATE_ULPS and |x - t| >= |t| / 2 (or t = 0): not even
      the leading bit is right -- 0 or 1 where the truth is far from it;
    - "inaccurate": every other error, d > ACCURATE_ULPS (see bits_of_error).

    Returns a str for a 1-D input and an array of str (the other axes'
    shape) otherwise.  The failures, as a user would call them, are
    FAILURES; an exact, accurate or flushed result is not one.  ``ulps``:
    ulp_distance(computed, truth) when the caller has it already.
    """
    computed, truth = _same_format(computed, truth)
    fmt = format_of(truth.dtype)
    with np.errstate(all="ignore"):  # ml_dtypes warns on signalling NaNs
        x, t = computed.astype(np.float64), truth.astype(np.float64)
        nan = np.isnan(x) & ~np.isnan(t)
        inf = np.isinf(x) & ~(x == t)
        if not fmt.has_inf:
            inf |= np.isnan(t) & ~np.isnan(x)
        d = ulp_distance(computed, truth) if ulps is None else ulps
        absolute = np.abs(x - t)
        tiny = (np.minimum(np.abs(x), np.abs(t)) < fmt.smallest_normal) & ~nan & ~inf
        close = d <= ACCURATE_ULPS
        if log_domain:
            close_abs = np.isfinite(absolute) & (absolute <= fmt.unit_roundoff)
        else:
            close_abs = np.zeros_like(close)
        lost = ~close & ~close_abs & np.isfinite(x) & ((t == 0) | (absolute >= LOST_RELATIVE * np.abs(t)))
        # Both below the smallest normal: a subnormal truth returned as 0 or
        # another subnormal, whatever the ulps (see "flushed" above).
        underflow = (np.abs(x) < fmt.smallest_normal) & (np.abs(t) < fmt.smallest_normal) & ~nan & ~inf
        lost &= ~underflow
        inaccurate = ~close & ~close_abs & ~underflow
        flushed = (close | (underflow & ~close_abs)) & tiny & (d > 0)
        level = np.select(
            [nan, inf, lost, inaccurate, flushed, (d > 0)],
            [6, 5, 4, 3, 2, 1],
            default=0,
        )
    worst = np.asarray(level).max(axis=axis)
    names = np.array(GRADES)[worst]
    return str(names) if names.ndim == 0 else names


def judged_by_ulps(computed, truth, log_domain: bool = True, ulps=None):
    """Per component: False where :func:`grade` judges it by its absolute
    error, so that its ULPs measure nothing a user sees; True elsewhere.
    That is where x and t both lie below the smallest normal number and are
    more than ACCURATE_ULPS ulps apart (flushed: a subnormal truth returned as
    0 or another subnormal), and, with ``log_domain``, where x is within u of
    t but more than ACCURATE_ULPS ulps from it (the top entry's
    log-probability near 0, graded accurate).  The accuracy statistics (ULPs,
    bits) are taken over the components where this is True.  ``ulps``:
    ulp_distance(computed, truth) when the caller has it already."""
    computed, truth = _same_format(computed, truth)
    fmt = format_of(truth.dtype)
    with np.errstate(all="ignore"):  # ml_dtypes warns on signalling NaNs
        x, t = computed.astype(np.float64), truth.astype(np.float64)
        gap = np.abs(x - t)
        far = (ulp_distance(computed, truth) if ulps is None else ulps) > ACCURATE_ULPS
        underflow = (np.abs(x) < fmt.smallest_normal) & (np.abs(t) < fmt.smallest_normal)
    by_absolute = far & underflow
    if log_domain:
        by_absolute |= far & (gap <= fmt.unit_roundoff)
    return ~by_absolute
