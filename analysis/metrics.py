"""Error metrics: ULP distance, bits of error, relative error, failure status.

Pure numerics, no I/O.  All functions accept any binary format of
:mod:`analysis.formats` (float64, float32, float16, bfloat16, float8).
"""

from __future__ import annotations

import mpmath
import numpy as np

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
    PLDI 2015, §3.
    """
    return np.log2(1.0 + ulp_distance(a, b))


def _relative_error_scalar(computed: float, truth: float) -> float:
    if np.isnan(computed) and np.isnan(truth):
        return 0.0
    if np.isnan(computed) or np.isnan(truth):
        return np.inf
    if np.isinf(computed) or np.isinf(truth):
        return 0.0 if computed == truth else np.inf
    if truth == 0.0:
        return 0.0 if computed == 0.0 else np.inf
    # The difference of two floats is exact as an mpf (exact=True); only the
    # final quotient is rounded, to float64.
    diff = mpmath.fsub(mpmath.mpf(computed), mpmath.mpf(truth), exact=True)
    return float(mpmath.fdiv(abs(diff), abs(mpmath.mpf(truth)), prec=64))


_relative_error = np.frompyfunc(_relative_error_scalar, 2, 1)


def relative_error(a, b) -> np.ndarray:
    """|a - b| / |b|, with ``b`` the truth, as float64.

    The difference is formed exactly in mpmath and only the quotient is
    rounded (to 64 bits, then float64), so the result is accurate even when
    ``a - b`` would cancel or underflow in the format.  0 where both are the
    same special value (both NaN, the same infinity, both zero); ``inf`` where
    only one is special or the truth is 0 and ``a`` is not.
    """
    a, b = _same_format(a, b)
    out = _relative_error(a.astype(np.float64), b.astype(np.float64))
    out = np.asarray(out, dtype=np.float64)
    return out if out.ndim else out[()]


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
