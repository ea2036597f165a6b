"""The ground truth: softmax, logsumexp and log-softmax correctly rounded.

Every value returned here is the exact mathematical value of the function at
the exact binary values of the input, rounded once to the nearest value of
the input's format (ties to even), with subnormal results, underflow to 0 and
overflow to ±inf exactly as IEEE 754 rounding prescribes.

How correct rounding is proved (Ziv's strategy, with intervals):

1. Each quantity is enclosed in an interval ``[lo, hi]`` computed with
   mpmath's low-level arithmetic (gmpy2 backend) at a working precision
   ``prec``.  Additions, multiplications and divisions use directed rounding
   (floor for ``lo``, ceiling for ``hi``) and are exact roundings of exact
   integer operations.  ``exp`` and ``log`` are mpmath's, called with
   directed rounding; as a stated margin each of their endpoints is moved
   outward by a further ``2**(1 - prec)`` relative, so the enclosure holds
   even if mpmath's elementary functions were only faithful (error below one
   unit in the last place at ``prec``) rather than correctly rounded.
2. Both endpoints are rounded to the target format with :func:`round_mpf`.
   Rounding is monotonic, so when they agree every value in the interval, the
   exact one included, rounds to that same number: the result is proved.
3. When they differ the exact value lies too close to a rounding boundary
   (a midpoint between two neighbours, or the overflow/underflow threshold);
   the working precision is doubled and the row recomputed.

The first working precision is ``p + bit_length(n) + 24`` bits for a target
with ``p`` significand bits and ``n`` distinct entries: ``bit_length(n)``
bits absorb the widening of the enclosure by the ``n``-term sum and 24 guard
bits make a recomputation rare (it happens when the exact value lies within
about ``2**-24`` ulp of a boundary).  The loop terminates: the exact values
are never midpoints.  By the Lindemann–Weierstrass theorem ``exp`` of a
nonzero rational is transcendental and exponentials of distinct rationals
are linearly independent over the algebraic numbers, so softmax values are
either ``1/k`` (``k`` tied entries, never a dyadic midpoint) or
transcendental, and logsumexp and log-softmax are transcendental unless a
single finite entry makes them exact.  A precision cap still stops a runaway
loop with an error.

Rows are computed once per distinct row (an LRU cache keyed by the row's
bytes) and once per distinct value within a row, so a vector with two
distinct values (the ``two_level`` family) costs two exponentials whatever
its length.

Special values (IEEE-style limits):

- ``-inf`` entries contribute ``exp = 0``: softmax 0, log-softmax ``-inf``.
- A row of only ``-inf``: softmax NaN, logsumexp ``-inf``, log-softmax NaN.
- ``+inf`` entries take the limit in which they grow together: the ``k``
  entries equal to ``+inf`` share the mass (softmax ``1/k``, log-softmax
  ``-log k``), every other entry gets softmax 0 and log-softmax ``-inf``;
  logsumexp is ``+inf``.
- Any NaN makes the whole row NaN.
- ``n = 1``: softmax 1, logsumexp ``z``, log-softmax 0.

References: A. Ziv, "Fast evaluation of elementary mathematical functions
with correctly rounded last bit", ACM TOMS 17(3), 1991;
J.-M. Muller et al., *Handbook of Floating-Point Arithmetic*, 2nd ed., 2018,
§10.5 (the table maker's dilemma); P. Blanchard, D. J. Higham, N. J. Higham,
"Accurately computing the log-sum-exp and softmax functions", IMA J. Numer.
Anal. 41(4), 2021, https://doi.org/10.1093/imanum/draa038 (definitions).
"""

from __future__ import annotations

import math
from functools import lru_cache

import mpmath
import numpy as np
from mpmath.libmp import (
    finf,
    fnan,
    fninf,
    fone,
    from_float,
    from_int,
    fzero,
    mpf_add,
    mpf_div,
    mpf_exp,
    mpf_ln,
    mpf_mul,
    mpf_shift,
    mpf_sub,
    round_ceiling,
    round_floor,
)

from .formats import FORMATS, Format, check_size, check_study_array, format_of

GUARD_BITS = 24
MAX_PRECISION = 1 << 16  # bits; far beyond any hard case of these formats
# Size guards of the public functions (formats.check_size): mpmath costs
# about 26 us and 1.6 kB an entry (a float32 row of 10**6: 26 s, 1.6 GB);
# the longest row checked against it is the benchmark's 2**18.
MAX_ROW = 2**18
MAX_ENTRIES = 2**22


class NotDecidedError(ArithmeticError):
    """Raised if Ziv's loop reaches MAX_PRECISION (never observed)."""


# --- rounding primitive ----------------------------------------------------


def _round_raw(x: tuple, fmt: Format) -> float:
    """Round an mpmath raw mpf tuple to ``fmt``; the result as a float64.

    Every value of every supported format is exactly a float64, so the float
    is the rounded value itself.  Integer arithmetic on the significand:
    ``x = (-1)**sign * man * 2**exp`` is rounded to a multiple of the quantum
    ``2**q`` of its binade (the subnormal quantum below ``2**emin``), ties to
    an even multiple.
    """
    if x == fnan:
        return math.nan
    if x in (finf, fninf):
        return (math.inf if x == finf else -math.inf) if fmt.has_inf else math.nan
    sign, man, exp, bc = x
    if man == 0:
        return 0.0
    p = fmt.precision
    top = exp + bc - 1  # x lies in [2**top, 2**(top+1))
    if top < fmt.emin - p - 1:  # below a quarter of the smallest subnormal
        return -0.0 if sign else 0.0
    q = max(top, fmt.emin) - p + 1
    shift = q - exp
    if shift <= 0:
        n = int(man) << -shift
    else:
        n = int(man) >> shift
        rem = int(man) - (n << shift)
        half = 1 << (shift - 1)
        if rem > half or (rem == half and n & 1):
            n += 1
    if n >> p:  # the rounding carried into the next binade: n == 2**p
        n >>= 1
        q += 1
    if q + p - 1 > fmt.emax or math.ldexp(n, q) > fmt.max:
        value = math.inf if fmt.has_inf else math.nan
    else:
        value = math.ldexp(n, q)
    return -value if sign else value


def round_mpf(x, dtype):
    """Round ``x`` to the nearest value of ``dtype``, ties to even.

    ``x`` is an ``mpmath.mpf`` (or anything ``mpmath.mpf`` accepts exactly:
    int, float, ±inf, NaN).  Subnormal results are rounded on the subnormal
    grid, values below half the smallest subnormal become ±0, and values at or
    beyond ``max + ulp(max)/2`` become ±inf (NaN in a format without
    infinities).  The rounding is done once, from ``x`` itself: there is no
    intermediate float64 and so no double rounding.

    Returns a numpy scalar of ``dtype``.
    """
    fmt = format_of(dtype)
    value = _round_raw(mpmath.mpf(x)._mpf_, fmt)
    return np.array(value, dtype=np.float64).astype(fmt.dtype)[()]


# --- interval arithmetic on positive quantities ---------------------------


# The stated margin of step 1 above.  The tests switch it off to check that
# the directed roundings alone already enclose every exact value, so each of
# the two layers is verified on its own.
WIDEN = True


def _widen(lo: tuple, hi: tuple, prec: int) -> tuple[tuple, tuple]:
    """Move the endpoints of an exp/log result outward by 2**(1-prec) relative
    (the stated margin that covers a merely faithful mpmath).

    Both endpoints are >= 0 here: exp of anything, and log of numbers >= 1
    (every log taken is of a sum whose largest term is 1, or of a count).
    """
    if not WIDEN:
        return lo, hi
    eps = mpf_shift(fone, 1 - prec)
    # 1 -+ eps are exact at prec + 4 bits; the products round outward.
    lo = mpf_mul(lo, mpf_sub(fone, eps, prec + 4, round_floor), prec, round_floor)
    hi = mpf_mul(hi, mpf_add(fone, eps, prec + 4, round_ceiling), prec, round_ceiling)
    return lo, hi


def _exp(d: tuple, prec: int) -> tuple[tuple, tuple]:
    if d == fzero:
        return fone, fone
    return _widen(mpf_exp(d, prec, round_floor), mpf_exp(d, prec, round_ceiling), prec)


def _ln(lo: tuple, hi: tuple, prec: int) -> tuple[tuple, tuple]:
    return _widen(mpf_ln(lo, prec, round_floor), mpf_ln(hi, prec, round_ceiling), prec)


def _log_of_sum(top_count: int, s_lo: tuple, s_hi: tuple, prec: int):
    """Enclose log(top_count + s) for s in [s_lo, s_hi], s >= 0.

    With one top entry this is log1p(s), which must keep its relative
    accuracy when s is tiny: for s < 2**-prec the bounds
    s(1 - 2**-prec) <= s - s**2/2 <= log1p(s) <= s are used, and otherwise
    1 + s is formed with enough extra bits to hold every bit of s.
    """
    if top_count > 1 or s_hi == fzero:
        count = from_int(top_count)
        if s_hi == fzero:
            if top_count == 1:
                return fzero, fzero
            return _ln(count, count, prec)
        return _ln(
            mpf_add(count, s_lo, prec, round_floor),
            mpf_add(count, s_hi, prec, round_ceiling),
            prec,
        )
    s_exponent = s_hi[2] + s_hi[3]  # s_hi < 2**s_exponent
    if s_exponent < -prec:
        eps = mpf_shift(fone, -prec)
        lo = mpf_mul(s_lo, mpf_sub(fone, eps, prec + 2, round_floor), prec, round_floor)
        return lo, s_hi
    extra = max(0, -(s_lo[2] + s_lo[3])) + 4
    return _ln(
        mpf_add(fone, s_lo, prec + extra, round_floor),
        mpf_add(fone, s_hi, prec + extra, round_ceiling),
        prec,
    )


def _plus_small(a: tuple, lo: tuple, hi: tuple, sign: int) -> tuple[tuple, tuple]:
    """Enclose a + sign * [lo, hi] exactly (no rounding), for exact a and
    0 <= lo <= hi.

    The sum is formed exactly so that a tiny [lo, hi] is never lost against
    a large a (a may be exactly a midpoint of the target format, and then the
    side of it on which a - L lies decides the rounding).  When hi is below
    2**k, with k under the lowest bit of a and under 2**-1100 (finer than
    every rounding boundary of every format), no boundary lies between a and
    a +- hi, so [lo, hi] is replaced by [2**(k-1), 2**k]: same rounding, and
    an exact sum of bounded size even for e^-(10**300).
    """
    if a != fzero and hi != fzero:
        k = min(a[2], -1100) - 8
        if hi[2] + hi[3] <= k:
            lo, hi = mpf_shift(fone, k - 1), mpf_shift(fone, k)
    if sign > 0:
        return mpf_add(a, lo, 0), mpf_add(a, hi, 0)
    return mpf_sub(a, hi, 0), mpf_sub(a, lo, 0)


# --- one row ---------------------------------------------------------------


def _enclosures(m: tuple, shifted: list, counts, fmt: Format, prec: int) -> list[tuple]:
    """Intervals ``(lo, hi, format)`` at working precision ``prec`` that
    contain, in this order: lse = m + L, L = lse - max (float64), then for
    each distinct value (ascending) its softmax exp(d)/S and its log-softmax
    d - L, where d = z - m are the exact ``shifted`` values (the last is 0),
    ``counts`` their multiplicities, S = sum_j exp(d_j) and L = log S.
    """
    exps = [_exp(d, prec) for d in shifted[:-1]] + [(fone, fone)]
    s_lo, s_hi = fzero, fzero  # the sum of the terms below the top
    for (e_lo, e_hi), c in zip(exps[:-1], counts[:-1]):
        c = from_int(int(c))
        s_lo = mpf_add(s_lo, mpf_mul(e_lo, c, prec, round_floor), prec, round_floor)
        s_hi = mpf_add(s_hi, mpf_mul(e_hi, c, prec, round_ceiling), prec, round_ceiling)
    top_count = from_int(int(counts[-1]))
    sum_lo = mpf_add(top_count, s_lo, prec, round_floor)
    sum_hi = mpf_add(top_count, s_hi, prec, round_ceiling)
    ln_lo, ln_hi = _log_of_sum(int(counts[-1]), s_lo, s_hi, prec)
    intervals = [(*_plus_small(m, ln_lo, ln_hi, +1), fmt), (ln_lo, ln_hi, FORMATS["float64"])]
    for (e_lo, e_hi), d in zip(exps, shifted):
        intervals.append((mpf_div(e_lo, sum_hi, prec, round_floor), mpf_div(e_hi, sum_lo, prec, round_ceiling), fmt))
        intervals.append((*_plus_small(d, ln_lo, ln_hi, -1), fmt))
    return intervals


def _finite_row(values: np.ndarray, fmt: Format):
    """Correctly rounded (softmax, lse, log_softmax, lse - max) for a row of
    finite float64 values (at least one).

    softmax and log_softmax are returned per distinct value (the ascending
    order of ``np.unique``), lse rounded to ``fmt`` and lse - max to float64.
    """
    uniq, counts = np.unique(values, return_counts=True)
    m = from_float(float(uniq[-1]))
    # z_j - max z, exact (prec=0 means no rounding).
    shifted = [mpf_sub(from_float(float(v)), m, 0) for v in uniq]
    # lse - max is returned in float64 too, so the precision starts from
    # the larger of the target's and float64's significand.
    prec = max(8, max(fmt.precision, 53) + int(len(uniq)).bit_length() + GUARD_BITS)
    while prec <= MAX_PRECISION:
        rounded = []
        for lo, hi, f in _enclosures(m, shifted, counts, fmt, prec):
            a, b = _round_raw(lo, f), _round_raw(hi, f)
            # Both ends NaN: beyond max + ulp(max)/2 in a format without
            # infinities (float8_e4m3fn), decided.
            if math.isnan(a) and math.isnan(b):
                rounded.append(a)
                continue
            if a != b or math.copysign(1, a) != math.copysign(1, b):
                break
            rounded.append(a)
        else:
            lse, max_err = rounded[0], rounded[1]
            return rounded[2::2], lse, rounded[3::2], max_err, uniq
        prec *= 2
    raise NotDecidedError(f"could not decide the rounding of {values!r} at {MAX_PRECISION} bits")


def _ratio(k: int, fmt: Format, func) -> float:
    """round(func(k)) for the +inf rows: 1/k or -log(k), by the same Ziv loop."""
    prec = max(8, fmt.precision + GUARD_BITS)
    kk = from_int(k)
    while prec <= MAX_PRECISION:
        if func == "inverse":
            lo = mpf_div(fone, kk, prec, round_floor)
            hi = mpf_div(fone, kk, prec, round_ceiling)
        else:  # log k (callers negate)
            lo, hi = _ln(kk, kk, prec) if k > 1 else (fzero, fzero)
        a, b = _round_raw(lo, fmt), _round_raw(hi, fmt)
        if a == b:
            return a
        prec *= 2
    raise NotDecidedError(f"could not decide {func}({k})")


@lru_cache(maxsize=4096)
def _row(row_bytes: bytes, dtype_name: str):
    """All four truths for one row, as float64 lists/values (cached)."""
    fmt = FORMATS[dtype_name]
    z = np.frombuffer(row_bytes, dtype=fmt.dtype).astype(np.float64)
    n = z.size
    nan_row = ([math.nan] * n, math.nan, [math.nan] * n, math.nan)
    if np.isnan(z).any():
        return nan_row
    pos_inf = z == np.inf
    if pos_inf.any():
        k = int(pos_inf.sum())
        share = _ratio(k, fmt, "inverse")
        log_share = 0.0 - _ratio(k, fmt, "log")
        softmax = np.where(pos_inf, share, 0.0).tolist()
        log_softmax = np.where(pos_inf, log_share, -math.inf).tolist()
        return softmax, math.inf, log_softmax, _ratio(k, FORMATS["float64"], "log")
    finite = z > -np.inf
    if not finite.any():
        return [math.nan] * n, -math.inf, [math.nan] * n, math.nan
    sm_u, lse, lsm_u, max_err, uniq = _finite_row(z[finite], fmt)
    index = np.searchsorted(uniq, z[finite])
    softmax = np.zeros(n)
    log_softmax = np.full(n, -math.inf)
    softmax[finite] = np.asarray(sm_u)[index]
    log_softmax[finite] = np.asarray(lsm_u)[index]
    return softmax.tolist(), lse, log_softmax.tolist(), max_err


def _rows(z, axis: int):
    """Yield (row_truths) for each row of z along axis, plus the layout."""
    z = check_study_array(z, axis)
    check_size(z, axis, MAX_ROW, MAX_ENTRIES, "analysis.reference")
    moved = np.moveaxis(z, axis, -1)
    flat = np.ascontiguousarray(moved).reshape(-1, moved.shape[-1])
    name = z.dtype.name
    return z, moved.shape, [_row(row.tobytes(), name) for row in flat]


def _assemble(values, shape, dtype, axis: int | None = None):
    """Float64 results per row -> an array of ``dtype``: vectors (one value
    per entry, moved back to ``axis``) when ``axis`` is given, else one
    value per row (a scalar for a 1-D input)."""
    out = np.asarray(values, dtype=np.float64)
    if axis is None:
        out = out.reshape(shape[:-1])
    else:
        out = np.moveaxis(out.reshape(shape), -1, axis)
    out = out.astype(dtype, copy=False)  # values: fresh arrays or lists, never kept by the caller
    return out if out.ndim else out[()]


# The functions in the order truths() (and analysis.fastref.truths) return them.
TRUTHS = ("softmax", "logsumexp", "log_softmax")
TRUTH_INDEX = {name: i for i, name in enumerate(TRUTHS)}


def truths(z, axis: int = -1):
    """(softmax, logsumexp, log_softmax) of ``z`` from one evaluation per row
    (their positions: ``TRUTH_INDEX``)."""
    z, shape, rows = _rows(z, axis)
    return (
        _assemble([r[0] for r in rows], shape, z.dtype, axis),
        _assemble([r[1] for r in rows], shape, z.dtype),
        _assemble([r[2] for r in rows], shape, z.dtype, axis),
    )


def softmax(z, axis: int = -1):
    """exp(z_i) / sum_j exp(z_j), correctly rounded to the dtype of ``z``."""
    z, shape, rows = _rows(z, axis)
    return _assemble([r[0] for r in rows], shape, z.dtype, axis)


def logsumexp(z, axis: int = -1):
    """log sum_j exp(z_j), correctly rounded to the dtype of ``z``."""
    z, shape, rows = _rows(z, axis)
    return _assemble([r[1] for r in rows], shape, z.dtype)


def log_softmax(z, axis: int = -1):
    """z_i - log sum_j exp(z_j), correctly rounded to the dtype of ``z``."""
    z, shape, rows = _rows(z, axis)
    return _assemble([r[2] for r in rows], shape, z.dtype, axis)


def max_approx_error(z, axis: int = -1):
    """logsumexp(z) - max(z), exactly, correctly rounded to float64.

    This is the error of the approximation log softmax(z)_i ~ z_i - max z
    (the same for every i): 0 <= error <= log n for finite z, and
    log(1 + (n-1) e^-g) for the two-level vector (c, c-g, ..., c-g).
    NaN for a NaN or all -inf row; log k for a row with k entries +inf.
    """
    z, shape, rows = _rows(z, axis)
    return _assemble([r[3] for r in rows], shape, np.float64)
