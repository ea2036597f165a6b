"""The compiled decision of the kernels: :func:`analysis.fastref_dd._decide`
for one value (``_decide``), and its vectorizable form without the rare
steps (``_decide_fast``, which asks for ``_decide`` where it would differ).
The proof is in :mod:`analysis.fastref`'s docstring.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from .kernel_dd import _INLINE, _JIT, _add_err, _frexp_exponent, _ldexp, _nextafter, _pow2, _sign, _two_sum, stamp_cache


@njit(**_INLINE)
def _offset(vs, vt, ws, wt, n):
    """value / 2**q - n as a double-double, and its error (fastref._decide's
    offset), from vh, vl, wh, wl already scaled by 2**-q."""
    dh, dl = _two_sum(vs, -n)  # exact
    dh, dl, e1 = _add_err(dh, dl, vt, 0.0 * dh)
    dh, dl, e2 = _add_err(dh, dl, ws, wt)
    return dh, dl, e1 + e2


@njit(**_INLINE)
def _interval(n, q, dh, dl, tau, fmt):
    """Whether the value n + dh + dl (units of 2**q), known within tau, lies
    inside the rounding interval of n: (above, below, up, low), the interval
    being (n - below, n + above), and up / low whether the value is proved
    below its top / above its bottom (with a 2**-51 slack for the rounded
    margins)."""
    p, emin, _, _, _, two_p1 = fmt
    # The rounding interval of n is (n - below, n + above) in units: 1/2,
    # or 1/4 on the side toward zero of a normal power of two.
    power = (abs(n) == two_p1) & (q > emin - p + 1)
    above = 0.25 if power & (n < 0) else 0.5
    below = 0.25 if power & (n > 0) else 0.5
    up_margin = above - dh
    low_margin = below + dh
    up = up_margin - dl > tau + 2.0**-51 * (abs(up_margin) + abs(dl))
    low = low_margin + dl > tau + 2.0**-51 * (abs(low_margin) + abs(dl))
    return above, below, up, low


@njit(**_INLINE)
def _finish(value, n, dh, dl, tau, binade, ah, err, fmt, zero_sign, inside):
    """The last step of _decide and _decide_fast: from n 2**q (``value``),
    the offset dh + dl of the value from n within tau (in units of 2**q),
    and whether the rounding interval of n holds it (``inside``): the result
    rounded to ``fmt`` (inf or NaN on overflow, a signed zero) and whether
    it is decided, as (value, decided)."""
    _, _, emax, fmax, has_inf, two_p1 = fmt
    finite = abs(value) <= fmax
    # Overflow: the whole interval at or above 2**(emax+1) rounds to inf.
    big = (binade >= emax + 1) & ((abs(n) - abs(dh) - abs(dl) - tau) * (1 - 2.0**-40) >= two_p1)
    # Zero: |v| below half the smallest subnormal, with a known sign.
    proved = _sign(dh) if abs(dh) * (1 - 2.0**-50) - abs(dl) * 1.01 > tau else 0.0
    zsign = zero_sign if zero_sign != 0 else proved
    zero = n == 0
    inf = (math.inf if has_inf else math.nan) * _sign(ah)
    value = inf if big else (math.copysign(0.0, zsign) if zero else value)
    ok = big | (zero & inside & (zsign != 0)) | ((n != 0) & inside & finite)
    ok = ok & math.isfinite(ah) & math.isfinite(err) & math.isfinite(dh)
    # 1 or 0 rather than a bool: Numba's alias analysis counts a bool variable
    # in a prange loop as a possible alias, and the loop then loses LLVM's
    # noalias on its arrays (and its vectorization).
    return value, np.uint8(ok)


@njit(**_JIT)  # called per row and for the rare redo: not inlined, which keeps the compilation short
def _decide(vh, vl, scale, err, fmt, zero_sign, wh, wl, w_sign, margin):
    """fastref._decide for one value: round 2**scale (vh + vl + wh + wl),
    known within 2**scale err, to the format ``fmt`` = (p, emin, emax, max,
    has_inf, 2**(p-1)).  Returns (value, decided)."""
    p, emin, _, _, _, _ = fmt
    ah, _, _ = _add_err(vh, vl, wh, wl)  # only to choose the binade and N
    if ah == 0:
        binade = emin - p - 2
    else:
        binade = _frexp_exponent(ah) - 1 + scale
    q = max(binade, emin) - p + 1
    shift = min(max(scale - q, -3000), 3000)  # beyond, ldexp is 0 or inf anyway
    t = _ldexp(ah, shift)
    # Off an exact half, toward the side of an unresolved w.
    if w_sign != 0:
        t = _nextafter(t, t + w_sign)
    n = np.rint(t)
    # The scaled parts (fastref scales them in each call of its offset(): the same values).
    vs, vt, ws, wt = _ldexp(vh, shift), _ldexp(vl, shift), _ldexp(wh, shift), _ldexp(wl, shift)
    dh, dl, e12 = _offset(vs, vt, ws, wt, n)
    # ah lost w's bits: on an exact half, the side of w decides the nearest n.
    # (Here and below & and | rather than `and` and `or`: their branches
    # would keep LLVM from vectorizing the loops that call this.)
    if (abs(dh) > 0.5) | ((abs(dh) == 0.5) & (dh * dl > 0)):
        n = n + _sign(dh)
        dh, dl, e12 = _offset(vs, vt, ws, wt, n)
    # ldexp is exact unless it underflows (<= 2**-1074 each, four calls)
    tau = _ldexp(err * margin, shift) * (1 + 2.0**-50) + e12 + 2.0**-1069
    above, below, up, low = _interval(n, q, dh, dl, tau, fmt)
    # With a signed w and an exact v: v itself bounds the value strictly.
    exact_v = (_ldexp(vt, -shift) == vl) & (_ldexp(vs, -shift) == vh) & (shift == scale - q)
    a, b = _two_sum(vs, -n)
    s, e = _two_sum(b, vt)  # offset of v = a + s + e exactly
    up = up | ((w_sign < 0) & exact_v & ((above - a) - s >= e))
    low = low | ((w_sign > 0) & exact_v & ((below + a) + s >= -e))
    inside = up & low
    return _finish(_ldexp(n, q), n, dh, dl, tau, binade, ah, err, fmt, zero_sign, inside)


@njit(**_INLINE)
def _decide_fast(vh, vl, scale, err, fmt, zero_sign, wh, wl, w_sign, margin, second_offset):
    """_decide without its rare steps, for the vectorized loops:
    (value, decided, redo).  Where ``redo`` is 1 the caller calls _decide
    (value and decided are then meaningless); elsewhere they are _decide's,
    bit for bit, because what is left out would not have changed them:

    - every ldexp of _decide is one multiplication by 2**shift or 2**q when
      shift and q lie in [-1022, 1023], which is what _ldexp computes there
      (its two pre-scalings multiply by 1); redo otherwise;
    - the second offset, for an n moved off an exact half: with
      ``second_offset`` (a constant at each call) it is computed for every
      entry, with n unchanged where _decide keeps the first (the same values
      again); without, redo where it is needed.  A signed w needs it often:
      in float64 the step off the half moves t by a whole unit;
    - the bound by an exact v only widens a rounding interval that w's sign
      would leave too narrow: redo when w is signed and the interval test
      failed.
    """
    p, emin, _, _, _, _ = fmt
    ah, _, _ = _add_err(vh, vl, wh, wl)  # only to choose the binade and N
    binade = emin - p - 2 if ah == 0 else _frexp_exponent(ah) - 1 + scale
    q = max(binade, emin) - p + 1
    shift = min(max(scale - q, -3000), 3000)
    scaled = (shift >= -1022) & (shift <= 1023) & (q >= -1022) & (q <= 1023)
    two_shift = _pow2(min(max(shift, -1022), 1023))
    t = ah * two_shift
    if w_sign != 0:
        t = _nextafter(t, t + w_sign)
    n = np.rint(t)
    vs, vt, ws, wt = vh * two_shift, vl * two_shift, wh * two_shift, wl * two_shift
    dh, dl, e12 = _offset(vs, vt, ws, wt, n)
    beyond = (abs(dh) > 0.5) | ((abs(dh) == 0.5) & (dh * dl > 0))
    if second_offset:
        n = n + _sign(dh) if beyond else n
        dh, dl, e12 = _offset(vs, vt, ws, wt, n)
        beyond = False
    tau = (err * margin) * two_shift * (1 + 2.0**-50) + e12 + 2.0**-1069
    _, _, up, low = _interval(n, q, dh, dl, tau, fmt)
    inside = up & low
    redo = (scaled ^ True) | beyond | ((w_sign != 0) & (inside ^ True))
    value, ok = _finish(n * _pow2(min(max(q, -1022), 1023)), n, dh, dl, tau, binade, ah, err, fmt, zero_sign, inside)
    return value, ok, np.uint8(redo)


@njit(**_JIT)  # per row: not inlined
def _decide_once(vh, vl, scale, err, fmt, zero_sign, wh, wl, w_sign, margin):
    """_decide, by way of _decide_fast where that suffices (the same result)."""
    value, ok, redo = _decide_fast(vh, vl, scale, err, fmt, zero_sign, wh, wl, w_sign, margin, True)
    if redo:
        return _decide(vh, vl, scale, err, fmt, zero_sign, wh, wl, w_sign, margin)
    return value, ok


stamp_cache(globals())
