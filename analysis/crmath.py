"""Correctly rounded exp, log, log1p and expm1 in every format of the study,
and a correctly rounded conversion from float64 to each format.

These are the elementary functions of the *model arithmetic*: the standard
model of floating-point arithmetic that the theorems of Blanchard, Higham &
Higham (2021, §2) assume, fl(f(x)) = f(x)(1 + delta), |delta| <= u, made
exact by rounding once to nearest (ties to even).  numpy's own exp/log
(the "host" arithmetic) have no such promise and differ between CPUs
(numpy dispatches its SIMD kernels by CPU feature); results computed here
are the same bytes on every machine.

``log2`` is here too, for the bits of error log2(1 + ulps) of
:mod:`analysis.metrics` (numpy's log2 also differs by CPU).

``exp(x)`` etc. take an array of a study dtype and return the same dtype.
How a value is found and proved:

- float16, bfloat16 and the float8 formats: a table of all 2**16 (2**8)
  inputs, made once per process by the path below.
- float32 and float64: the value is formed as a double-double ``2**a (h +
  low)`` with a rigorous error bound, by the building blocks of
  :mod:`analysis.fastref` (its ``exp`` within ``EXP_REL = 2**-96`` relative,
  double-double operations within ``EPS = 2**-100``), and rounded by
  ``fastref._decide``: a value is kept only when the whole interval (the
  bound times ``fastref.MARGIN = 4``) rounds to one number of the format.
  ``log``, ``log1p``: one Newton step on exp from numpy's float64 ``log``
  or ``log1p`` (a seed of any accuracy: the step is taken only when the
  correction ``|w| <= 2**-40``, and its bound is proved from ``w``), so the
  host's result never reaches the output.  ``expm1``: a Taylor polynomial
  for ``|x| <= 2**-8``, else ``exp(x) - 1`` in double-double.
- Where fastref runs compiled (``fastref.COMPILED``: Numba installed and
  ``SOFTMAX_STUDY_FASTREF`` not ``numpy``), the float64 arguments of every
  format go through :mod:`analysis.crmath_kernel`, the same operations in
  the same order with the same seeds and the same decision, value by value
  (the tests compare both paths bit for bit, every narrow format's table
  included); otherwise through the numpy functions below.
- What the interval cannot decide (a value within about ``2**-90``
  relative of a rounding boundary) is evaluated by Ziv's strategy with
  mpmath intervals (:func:`_ziv`, directed roundings and the stated margin of
  :mod:`analysis.reference`), doubling the precision until both ends round
  alike.

Special values as IEEE 754-2019 §9.2 prescribes: exp(-inf) = +0, exp(+inf)
= +inf; log(±0) = -inf, log(x < 0) = NaN; log1p(-1) = -inf, log1p(x < -1)
= NaN, log1p(±0) = ±0; expm1(±0) = ±0, expm1(-inf) = -1.  A result beyond
the format's range is ±inf, or NaN in float8_e4m3fn, which has no infinity
(as ``reference.round_mpf``).

References: J.-M. Muller et al., *Handbook of Floating-Point Arithmetic*,
2nd ed., Birkhäuser 2018, §10.5 (correct rounding, the table maker's
dilemma) and §4.4 (double-word arithmetic); A. Ziv, ACM TOMS 17(3), 1991;
S. Boldo, G. Melquiond, "When double rounding is odd", IMACS 2005 (the
conversion); P. Blanchard, D. J. Higham, N. J. Higham, IMA J. Numer. Anal.
41(4), 2021, https://doi.org/10.1093/imanum/draa038.
"""

from __future__ import annotations

import math
from functools import cache, lru_cache

import numpy as np
from mpmath.libmp import (
    fone,
    from_float,
    from_int,
    mpf_abs,
    mpf_add,
    mpf_div,
    mpf_exp,
    mpf_ln,
    mpf_ln2,
    mpf_shift,
    mpf_sub,
    round_ceiling,
    round_floor,
)

from . import fastref, reference
from .formats import FORMATS, Format, format_of

FUNCTIONS = ("exp", "log", "log1p", "expm1", "log2")

EPS, EXP_REL, UNDERFLOW = fastref.EPS, fastref.EXP_REL, fastref.UNDERFLOW
# Beyond these |x|, exp(x) is 0 or beyond every format's range (e^1100 >
# 2**1586, e^-1100 < 2**-1586, below half float64's smallest subnormal).
_FAR = 1100.0
_NEWTON_MAX = 2.0**-40  # the largest Newton correction w accepted
# The seeds of Newton's step: numpy's float64 log and log1p, of any accuracy
# (a test replaces them with seeds 1,000 ulps off: the results do not change).
_seed_log, _seed_log1p = np.log, np.log1p


# --- conversion -----------------------------------------------------------


def to_format(x, dtype) -> np.ndarray:
    """``x`` (float64 or narrower) rounded once to ``dtype``, to nearest, ties
    to even; beyond the range ±inf (NaN in float8_e4m3fn).

    numpy's casts from float64 to float32 and float16 round once.  ml_dtypes
    converts float64 to bfloat16 and float8 through float32, a double
    rounding (-0x1.c90000e0b263bp+124 became -0x1.c8p+124, not the nearest
    -0x1.cap+124).  Here float64 is first rounded to float32 *to odd*
    (truncate, then set the last bit if anything was lost): with at least
    two more bits than the target, rounding that to nearest gives the
    correctly rounded result (Boldo & Melquiond 2005, Theorem 1; float32 has
    24 bits against at most 8, and 2**-149 against the targets' subnormal
    quanta 2**-133 and above).
    """
    fmt = format_of(dtype)
    x = np.asarray(x)
    if x.dtype == fmt.dtype:
        return x.copy()
    if x.dtype != np.float64 or fmt.name in ("float64", "float32", "float16"):
        with np.errstate(over="ignore"):
            return x.astype(fmt.dtype)
    with np.errstate(over="ignore", invalid="ignore"):
        f = x.astype(np.float32)
        back = f.astype(np.float64)
        inexact = (back != x) & ~np.isnan(x)
        # Round to nearest went away from zero: step back toward zero.
        f = np.where(inexact & (np.abs(back) > np.abs(x)), np.nextafter(f, np.float32(0)), f)
        bits = f.view(np.uint32)
        f = np.where(inexact, bits | np.uint32(1), bits).view(np.float32)
        return f.astype(fmt.dtype)


# --- the double-double evaluations ------------------------------------------
#
# Each returns (scale, h, low, err, ok) for finite float64 arguments in the
# function's regular range: the value is 2**scale (h + low) within 2**scale err
# (before fastref._decide's MARGIN), ok False where a checked premise fails.


def _exp_parts(x):
    """exp(x) = 2**a (h + low) for |x| <= _FAR: fastref._exp_dd, whose
    reduction is exact for |x| <= 2**16 and whose Taylor, table and
    reduction errors add to below EXP_REL relative for either sign of x."""
    a, h, low = fastref._exp_dd(x, np.zeros_like(x))
    return a, h, low, np.abs(h) * EXP_REL * 1.01, np.ones(x.shape, dtype=bool)


def _log_dd(sh, sl, seed):
    """log(S) for a double-double S = sh + sl > 0 with |log S| >= 2**-10,
    from a float64 seed x0 ~ log S: p = S e^-x0, w = p - 1, log S = x0 +
    log1p(w) = x0 + w - w**2/2 + r, |r| <= |w|**3 (|w| <= 2**-40 checked).

    Errors: p within (EXP_REL + 3 EPS) |p| (exp, one DWTimesDW); w - w**2/2
    is formed as w (1 - wh/2) with 1 - wh/2 an exact double-double: error
    EPS |w| plus |wl wh|/2 <= 2**-53 w**2; the final sum EPS |L| (counted
    twice for the rounding of the product).  Everything is unscaled, so
    UNDERFLOW covers an underflowing partial result.
    """
    mx, ex = np.frexp(sh)
    a, mh, ml = fastref._exp_dd(-seed, np.zeros_like(seed))
    ph, pl = fastref._mul(mh, ml, mx, np.ldexp(sl, -ex))
    ph, pl = np.ldexp(ph, a + ex), np.ldexp(pl, a + ex)  # p ~ 1: exact
    wh, wl = fastref._add(ph, pl, -np.ones_like(ph), np.zeros_like(ph))
    ch, cl = fastref._mul(wh, wl, np.ones_like(wh), -wh / 2)
    rh, rl = fastref._add(seed, np.zeros_like(seed), ch, cl)
    err = (
        (EXP_REL + 3 * EPS) * np.abs(ph) * 1.01
        + np.abs(wh) ** 3
        + wh * wh * 2.0**-52
        + np.abs(rh) * 2 * EPS
        + UNDERFLOW
    )
    return rh, rl, err, np.abs(wh) <= _NEWTON_MAX


def _log1p_parts(s):
    """log1p(s) for finite s > -1, s != 0, at scale 0.

    - |s| < 2**-60: s - s**2/2, truncation |s|**3/3, s*s rounded (2**-53).
    - |s| <= 2**-9: x0 = numpy's log1p(s), e = expm1(x0) by fastref's
      Taylor form (2**-97 relative for |x0| <= 2**-8, checked), w = (s - e)
      / (1 + e), log1p(s) = x0 + log1p(w) as in _log_dd; 1 + e >= 0.99, so
      the errors of e and of the division (4 EPS) enter w at most 1.01 fold.
    - otherwise: log(1 + s) by _log_dd, 1 + s exact as a double-double
      (TwoSum), |log(1 + s)| > 2**-10.
    """
    zero = np.zeros_like(s)
    h, low, err = zero.copy(), zero.copy(), zero.copy()
    ok = np.ones(s.shape, dtype=bool)
    tiny = np.abs(s) < 2.0**-60
    small = ~tiny & (np.abs(s) <= 2.0**-9)
    general = ~tiny & ~small
    if tiny.any():
        t = s[tiny]
        sq = t * t
        h[tiny], low[tiny] = fastref._fast_two_sum(t, -sq / 2)
        err[tiny] = np.abs(t) ** 3 + sq * 2.0**-53 + UNDERFLOW
    if small.any():
        t = s[small]
        x0 = _seed_log1p(t)
        eh, el = fastref._expm1_small(x0)
        nh, nl = fastref._add(t, np.zeros_like(t), -eh, -el)
        dh, dl = fastref._add(np.ones_like(t), np.zeros_like(t), eh, el)
        wh, wl = fastref._div(nh, nl, dh, dl)
        ch, cl = fastref._mul(wh, wl, np.ones_like(wh), -wh / 2)
        rh, rl = fastref._add(x0, np.zeros_like(x0), ch, cl)
        h[small], low[small] = rh, rl
        err[small] = (
            (2.0**-96 * np.abs(eh) + 4 * EPS * np.abs(nh)) * 1.01
            + np.abs(wh) ** 3
            + wh * wh * 2.0**-52
            + np.abs(rh) * 2 * EPS
            + UNDERFLOW
        )
        ok[small] = (np.abs(wh) <= _NEWTON_MAX) & (np.abs(x0) <= 2.0**-8)
    if general.any():
        t = s[general]
        sh, sl = fastref._two_sum(np.ones_like(t), t)
        h[general], low[general], err[general], ok[general] = _log_dd(sh, sl, _seed_log(sh))
    return np.zeros(s.shape, dtype=np.int64), h, low, err, ok


def _log_parts(x):
    """log(x) for finite x > 0, x != 1, at scale 0: log1p(x - 1) on [1/2, 2]
    (x - 1 exact there, Sterbenz's lemma), else _log_dd with |log x| >
    log 2."""
    near = (x >= 0.5) & (x <= 2.0)
    scale, h, low, err, ok = _log1p_parts(np.where(near, x - 1.0, 1.0))
    far = ~near
    if far.any():
        t = x[far]
        h[far], low[far], err[far], ok[far] = _log_dd(t, np.zeros_like(t), _seed_log(t))
    return scale, h, low, err, ok


def _expm1_parts(x):
    """expm1(x) for finite x != 0, |x| <= _FAR.

    - |x| <= 2**-8: fastref._expm1_small, within 2**-97 relative (plus
      UNDERFLOW for a subnormal x), scale 0.
    - x > 2**-8: 2**a (M - 2**-a), M = exp's significand (EXP_REL), one
      AccurateDWPlusDW (EPS); M - 2**-a > M/2, scale a.
    - x < -2**-8: 2**a M - 1 at scale 0: |e^x - 1| >= 2**-8 e^x, so exp's
      error is at most 2**8 EXP_REL relative; ldexp may underflow (UNDERFLOW).
    """
    zero = np.zeros_like(x)
    scale = np.zeros(x.shape, dtype=np.int64)
    h, low, err = zero.copy(), zero.copy(), zero.copy()
    small = np.abs(x) <= 2.0**-8
    if small.any():
        eh, el = fastref._expm1_small(x[small])
        h[small], low[small] = eh, el
        err[small] = np.abs(eh) * 2.0**-96 + UNDERFLOW
    big = ~small
    if big.any():
        a, mh, ml = fastref._exp_dd(x[big], np.zeros_like(x[big]))
        up = x[big] > 0
        one = np.ldexp(np.ones_like(mh), np.where(up, -a, 0))
        vh, vl = (np.where(up, mh, np.ldexp(mh, a)), np.where(up, ml, np.ldexp(ml, a)))
        rh, rl = fastref._add(vh, vl, -one, np.zeros_like(one))
        h[big], low[big], scale[big] = rh, rl, np.where(up, a, 0)
        err[big] = (np.abs(vh) * EXP_REL + np.abs(rh) * EPS) * 1.01 + np.where(up, 0.0, 2 * UNDERFLOW)
    return scale, h, low, err, np.ones(x.shape, dtype=bool)


@lru_cache(maxsize=1)
def _inv_ln2() -> tuple[float, float]:
    """1/ln 2 as a double-double (error below 2**-106 relative)."""
    import mpmath

    with mpmath.workprec(200):
        v = 1 / mpmath.log(2)
        hi = float(v)
        return hi, float(v - hi)


def _log2_parts(x):
    """log2(x) = log(x) / ln 2 for finite x > 0 not a power of two (those
    are exact integers, rounded in _specials): _log_parts times 1/ln 2
    (DWTimesDW, EPS; the constant 2**-106)."""
    scale, h, low, err, ok = _log_parts(x)
    ch, cl = _inv_ln2()
    rh, rl = fastref._mul(h, low, np.full_like(h, ch), np.full_like(h, cl))
    return scale, rh, rl, (err * 1.4427 + np.abs(rh) * 2 * EPS) * 1.01, ok


# --- Ziv's loop with mpmath (the rare undecided values) ---------------------


def _widen(lo: tuple, hi: tuple, prec: int) -> tuple[tuple, tuple]:
    """Move both ends outward by 2**(1 - prec) of their magnitude: the stated
    margin of reference._widen, for ends of either sign."""
    if not reference.WIDEN:
        return lo, hi
    return (
        mpf_sub(lo, mpf_shift(mpf_abs(lo), 1 - prec), prec, round_floor),
        mpf_add(hi, mpf_shift(mpf_abs(hi), 1 - prec), prec, round_ceiling),
    )


def _enclosure(name: str, x: tuple, prec: int) -> tuple[tuple, tuple]:
    """[lo, hi] containing f(x) for a finite mpf x in f's regular domain."""
    if name == "exp":
        return _widen(mpf_exp(x, prec, round_floor), mpf_exp(x, prec, round_ceiling), prec)
    if name == "log":
        return _widen(mpf_ln(x, prec, round_floor), mpf_ln(x, prec, round_ceiling), prec)
    if name == "log1p":
        s = mpf_add(fone, x, 0)  # exact
        return _widen(mpf_ln(s, prec, round_floor), mpf_ln(s, prec, round_ceiling), prec)
    if name == "log2":  # [lo, hi] / [c, d], 0 < c <= ln 2 <= d
        lo, hi = _widen(mpf_ln(x, prec, round_floor), mpf_ln(x, prec, round_ceiling), prec)
        c, d = _widen(mpf_ln2(prec, round_floor), mpf_ln2(prec, round_ceiling), prec)
        return (
            mpf_div(lo, d if lo[0] == 0 else c, prec, round_floor),
            mpf_div(hi, c if hi[0] == 0 else d, prec, round_ceiling),
        )
    # expm1: e^x - 1 from an enclosure of e^x, the subtraction exact.
    lo, hi = _widen(mpf_exp(x, prec, round_floor), mpf_exp(x, prec, round_ceiling), prec)
    return mpf_sub(lo, fone, 0), mpf_sub(hi, fone, 0)


def _ziv(name: str, x: float, fmt: Format) -> float:
    """f(x) correctly rounded to fmt by Ziv's strategy: enclose at prec
    bits, round both ends, double prec until they agree (the values are
    transcendental for x != 0 by the Lindemann-Weierstrass theorem, so never
    a midpoint, and the loop ends)."""
    mx = from_float(x)
    prec = fmt.precision + reference.GUARD_BITS
    while prec <= reference.MAX_PRECISION:
        lo, hi = _enclosure(name, mx, prec)
        a, b = reference._round_raw(lo, fmt), reference._round_raw(hi, fmt)
        if (a == b and math.copysign(1, a) == math.copysign(1, b)) or (math.isnan(a) and math.isnan(b)):
            return a
        prec *= 2
    raise reference.NotDecidedError(f"could not decide {name}({x!r}) in {fmt.name}")


# --- whole arrays -----------------------------------------------------------

_PARTS = {"exp": _exp_parts, "log": _log_parts, "log1p": _log1p_parts, "expm1": _expm1_parts, "log2": _log2_parts}
_STATS = {"elements": 0, "fallback": 0}


def stats() -> dict:
    """Elements evaluated by the double-double path and how many of them went
    to Ziv's loop, since the process started."""
    return dict(_STATS)


def _specials(name: str, x: np.ndarray, fmt: Format):
    """(value, regular): the result where it follows from the special cases
    alone, and the mask of arguments left to evaluate."""
    big = math.inf if fmt.has_inf else math.nan
    with np.errstate(invalid="ignore"):
        value = np.full(x.shape, math.nan)
        if name == "exp":
            value = np.where(x > _FAR, big, np.where(x < -_FAR, 0.0, value))
            regular = np.abs(x) <= _FAR
        elif name == "log":
            value = np.where(x == 0, -big, np.where(x == 1, 0.0, np.where(x == np.inf, big, value)))
            regular = (x > 0) & (x < np.inf) & (x != 1)
        elif name == "log1p":
            value = np.where(x == -1, -big, np.where(x == 0, x, np.where(x == np.inf, big, value)))
            regular = (x > -1) & (x < np.inf) & (x != 0)
        elif name == "log2":  # log2(2**k) = k: exact, possibly a midpoint of a narrow format
            value = np.where(x == 0, -big, np.where(x == np.inf, big, value))
            regular = (x > 0) & (x < np.inf)
            power = regular & (np.frexp(np.where(regular, x, 1.0))[0] == 0.5)
            if fmt.precision >= 12:  # |k| <= 1075 < 2**11: exact in the format
                value[power] = np.frexp(x[power])[1] - 1
            else:
                for i in np.flatnonzero(power):
                    value[i] = reference._round_raw(from_int(int(np.frexp(x[i])[1]) - 1), fmt)
            regular &= ~power
        else:  # expm1
            value = np.where(x > _FAR, big, np.where(x < -_FAR, -1.0, np.where(x == 0, x, value)))
            regular = (np.abs(x) <= _FAR) & (x != 0)
    return value, regular


def _decided_numpy(name: str, xr: np.ndarray, fmt: Format):
    """(rounded values, decided mask) of the double-double path, in numpy."""
    with np.errstate(all="ignore"):  # underflow and overflow are in the bounds and the decision
        scale, h, low, err, ok = _PARTS[name](xr)
        sign = np.sign(h).astype(np.float64)  # never 0: the results here are nonzero
        decided, ok_d = fastref._decide(h, low, scale, err, fmt, sign)
    return decided, ok & ok_d


def _decided_compiled(name: str, xr: np.ndarray, fmt: Format):
    """The same by the compiled kernel (analysis.crmath_kernel), with the
    Newton seeds computed here by the same numpy functions as on the numpy
    path (_seed_log, _seed_log1p), so the same values and the same verdicts."""
    from . import crmath_kernel

    _, consts = fastref._kernel()
    zero = np.zeros_like(xr)
    seed_small = seed_log = zero
    with np.errstate(all="ignore"):  # seeds of arguments that do not use them may be anything
        if name in ("log", "log2"):
            near = (xr >= 0.5) & (xr <= 2.0)
            s = np.where(near, xr - 1.0, 1.0)
            seed_small, seed_log = _seed_log1p(s), np.where(near, _seed_log(1.0 + s), _seed_log(xr))
        elif name == "log1p":
            seed_small, seed_log = _seed_log1p(xr), _seed_log(1.0 + xr)
    out, ok, redo = np.empty_like(xr), np.empty(xr.shape, dtype=np.uint8), np.empty(xr.shape, dtype=np.uint8)
    with fastref._KERNEL_LOCK:
        crmath_kernel.evaluate(
            crmath_kernel.CODES[name], np.ascontiguousarray(xr), np.ascontiguousarray(seed_small, dtype=np.float64),
            np.ascontiguousarray(seed_log, dtype=np.float64), consts, np.array(_inv_ln2()), np.int64(fmt.precision),
            np.int64(fmt.emin), np.int64(fmt.emax), float(fmt.max), bool(fmt.has_inf), float(fastref.MARGIN), out, ok,
            redo,
        )  # fmt: skip
    return out, ok.astype(bool)


def evaluate(name: str, x, fmt: Format) -> np.ndarray:
    """f(x) for float64 values x (any shape), correctly rounded to ``fmt``,
    as float64 (every value of every format is a float64).  The
    double-double path runs in the compiled kernel when fastref's does
    (``fastref.COMPILED``), else in numpy: the same values and verdicts."""
    x = np.asarray(x, dtype=np.float64)
    value, regular = _specials(name, x, fmt)
    xr = x[regular]
    if xr.size:
        decided, ok = (_decided_compiled if fastref.COMPILED else _decided_numpy)(name, xr, fmt)
        undecided = np.flatnonzero(~ok)
        for i in undecided:
            decided[i] = _ziv(name, float(xr[i]), fmt)
        value[regular] = decided
        _STATS["elements"] += xr.size
        _STATS["fallback"] += undecided.size
    return value


@cache
def _table(name: str, dtype_name: str) -> np.ndarray:
    """f at every bit pattern of a format of at most 16 bits."""
    fmt = FORMATS[dtype_name]
    uint = np.uint8 if fmt.dtype.itemsize == 1 else np.uint16
    every = np.arange(2 ** (8 * fmt.dtype.itemsize), dtype=np.int64).astype(uint).view(fmt.dtype)
    with np.errstate(invalid="ignore"):  # NaN patterns cast to NaN
        table = evaluate(name, every.astype(np.float64), fmt).astype(fmt.dtype)
    table.flags.writeable = False
    return table


def _apply(name: str, x) -> np.ndarray:
    x = np.asarray(x)
    fmt = format_of(x.dtype)
    if fmt.dtype.itemsize <= 2:
        uint = np.uint8 if fmt.dtype.itemsize == 1 else np.uint16
        return _table(name, fmt.name)[x.view(uint)]
    # Each run of equal neighbours once when runs are long (a two-level row
    # is two runs; sorting the runs' values, told apart by their bits since
    # -0.0 and 0.0 are equal but log1p keeps the sign, finds the repeats);
    # otherwise every entry: sorting general rows costs more than the
    # compiled evaluation of their repeats saves (measured on the sweep's
    # scaled normal chunks: 7.6 s with the sort, 4.1 s without).
    uint = np.uint32 if fmt.dtype.itemsize == 4 else np.uint64
    bits = np.ravel(x).view(uint)
    starts = np.flatnonzero(np.concatenate(([True], bits[1:] != bits[:-1])))
    with np.errstate(invalid="ignore", over="ignore"):  # NaN and inf results are values here
        if 2 * len(starts) < bits.size:
            patterns, inverse = np.unique(bits[starts], return_inverse=True)
            inverse = np.repeat(inverse.reshape(-1), np.diff(np.append(starts, bits.size)))
            values = patterns.view(fmt.dtype).astype(np.float64)
            out = evaluate(name, values, fmt).astype(fmt.dtype)[inverse].reshape(x.shape)
        else:
            out = evaluate(name, bits.view(fmt.dtype).astype(np.float64), fmt).astype(fmt.dtype).reshape(x.shape)
    return out if out.ndim else out[()]


def exp(x) -> np.ndarray:
    """e**x correctly rounded to the dtype of x (see the module docstring)."""
    return _apply("exp", x)


def log(x) -> np.ndarray:
    """The natural logarithm of x correctly rounded to the dtype of x."""
    return _apply("log", x)


def log1p(x) -> np.ndarray:
    """log(1 + x), the sum not rounded, correctly rounded to the dtype of x."""
    return _apply("log1p", x)


def expm1(x) -> np.ndarray:
    """e**x - 1, the difference not rounded, correctly rounded to the dtype of x."""
    return _apply("expm1", x)


def log2(x) -> np.ndarray:
    """The base-2 logarithm of x correctly rounded to the dtype of x (the
    bits of error log2(1 + ulps), the same on every CPU)."""
    return _apply("log2", x)

