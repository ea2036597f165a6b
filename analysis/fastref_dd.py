"""The double-double arithmetic, ``exp`` and the decision of
:mod:`analysis.fastref` in numpy, on whole arrays (the numpy path; the
compiled kernels in :mod:`analysis.kernel_dd` and
:mod:`analysis.kernel_decide` do the same operations value by value).

The error bounds and the proof of the decision are in
:mod:`analysis.fastref`'s docstring; :mod:`analysis.crmath` uses these
building blocks for its correctly rounded ``exp``, ``log``, ``log1p`` and
``expm1``.  References: Joldes, Muller, Popescu, ACM TOMS 44(2), 2017
(double-word arithmetic); Handbook of Floating-Point Arithmetic, 2nd ed.,
§4.3-4.4 (error-free transformations).
"""

from __future__ import annotations

import math
from functools import lru_cache

import mpmath
import numpy as np

EPS = 2.0**-100  # relative error of one double-double operation (see docstring)
EXP_REL = 2.0**-96  # relative error of exp_dd
UNDERFLOW = 2.0**-1064  # absolute slack for underflow in the last operations (each <= 2**-1074)
MARGIN = 4.0  # the stated margin on every bound
CLAMP = -(2.0**16)
TAYLOR_DEGREE = 10


# --- error-free transformations and double-double arithmetic --------------


def _two_sum(a, b):
    s = a + b
    bb = s - a
    return s, (a - (s - bb)) + (b - bb)


def _fast_two_sum(a, b):  # |a| >= |b| (or a == 0)
    s = a + b
    return s, b - (s - a)


def _split(a):  # Veltkamp: a = hi + lo, each with at most 26 bits
    c = 134217729.0 * a  # 2**27 + 1
    hi = c - (c - a)
    return hi, a - hi


def _two_prod(a, b):  # Dekker: a*b = p + e exactly
    p = a * b
    ah, al = _split(a)
    bh, bl = _split(b)
    return p, ((ah * bh - p) + ah * bl + al * bh) + al * bl


def _add(xh, xl, yh, yl):  # AccurateDWPlusDW (JMP 2017, Alg. 6)
    sh, sl = _two_sum(xh, yh)
    th, tl = _two_sum(xl, yl)
    vh, vl = _fast_two_sum(sh, sl + th)
    return _fast_two_sum(vh, tl + vl)


def _mul(xh, xl, yh, yl):  # DWTimesDW1 (JMP 2017, Alg. 10)
    ch, cl1 = _two_prod(xh, yh)
    return _fast_two_sum(ch, cl1 + (xh * yl + xl * yh))


def _mul_d(xh, xl, y):  # DWTimesFP1 (JMP 2017, Alg. 7)
    ch, cl1 = _two_prod(xh, y)
    return _fast_two_sum(ch, cl1 + xl * y)


def _div(xh, xl, yh, yl):
    """x / y: q1 = xh/yh, r = x - y q1 in double-double, q2 = rh/yh.
    |r| <= 2**-52 |x| so q2's own error (2**-52 relative) is 2**-104 |x/y|;
    the product and difference add 2u**2 |x| + 3u**2 |r|: below 4u**2."""
    q1 = xh / yh
    ph, pl = _mul_d(yh, yl, q1)
    rh, rl = _add(xh, xl, -ph, -pl)
    return _fast_two_sum(q1, rh / yh)


# --- constants, made once with mpmath ---------------------------------------


@lru_cache(maxsize=1)
def _constants():
    with mpmath.workprec(300):
        c = mpmath.log(2) / 64
        parts = []
        rest = c
        for _ in range(3):  # 30-bit parts: k * part is exact for |k| < 2**23
            e = int(mpmath.floor(mpmath.log(abs(rest), 2)))
            part = mpmath.floor(rest * 2 ** (29 - e)) / 2 ** (29 - e)
            parts.append(float(part))
            rest -= part
        parts.append(float(rest))
        table_hi, table_lo = [], []
        for i in range(64):
            t = mpmath.mpf(2) ** (mpmath.mpf(i) / 64)
            hi = float(t)
            table_hi.append(hi)
            table_lo.append(float(t - hi))
        coef = []
        for i in range(TAYLOR_DEGREE + 2):
            f = 1 / mpmath.factorial(i)
            hi = float(f)
            coef.append((hi, float(f - hi)))
        return {
            "c": parts,
            "inv_c": float(1 / c),
            "table": (np.array(table_hi), np.array(table_lo)),
            "coef": coef,
        }


def _exp_dd(dh, dl):
    """exp(d) = 2**a (Mh + Ml) for d = dh + dl in [-2**16, 0]; relative
    error of M below EXP_REL (see the module docstring)."""
    k_ = _constants()
    c1, c2, c3, c4 = k_["c"]
    k = np.rint(dh * k_["inv_c"])
    rh, rl = _two_sum(dh, -k * c1)  # k*c1, k*c2, k*c3 exact: 30-bit parts, |k| < 2**23
    rh, rl = _add(rh, rl, *_two_sum(dl, -k * c2))
    rh, rl = _add(rh, rl, -k * c3, 0.0 * k)
    rh, rl = _add(rh, rl, *(-p for p in _two_prod(k, c4)))
    coef = k_["coef"]
    ph, pl = coef[TAYLOR_DEGREE]
    ph, pl = np.full_like(rh, ph), np.full_like(rh, pl)
    for i in range(TAYLOR_DEGREE - 1, -1, -1):
        ph, pl = _mul(ph, pl, rh, rl)
        ph, pl = _add(ph, pl, coef[i][0], coef[i][1])
    ki = k.astype(np.int64)
    j = ki % 64
    th, tl = k_["table"]
    mh, ml = _mul(th[j], tl[j], ph, pl)
    return (ki - j) // 64, mh, ml


def _expm1_small(x):
    """expm1(x) for |x| <= 2**-8 as a double-double with relative error
    below 2**-97: x * sum_{i>=1} x**(i-1)/i!, degree 10, remainder
    |x|**10/11! < 2**-105."""
    coef = _constants()["coef"]
    ph, pl = np.full_like(x, coef[TAYLOR_DEGREE + 1][0]), np.full_like(x, coef[TAYLOR_DEGREE + 1][1])
    zero = np.zeros_like(x)
    for i in range(TAYLOR_DEGREE, 0, -1):
        ph, pl = _mul(ph, pl, x, zero)
        ph, pl = _add(ph, pl, coef[i][0], coef[i][1])
    return _mul(ph, pl, x, zero)


def _pairwise_sum(hi, lo):
    """Sum along the last axis by pairwise levels; returns (sum_hi, sum_lo, levels)."""
    levels = 0
    while hi.shape[-1] > 1:
        if hi.shape[-1] % 2:
            pad = np.zeros(hi.shape[:-1] + (1,))
            hi, lo = np.concatenate([hi, pad], axis=-1), np.concatenate([lo, pad], axis=-1)
        hi, lo = _add(hi[..., 0::2], lo[..., 0::2], hi[..., 1::2], lo[..., 1::2])
        levels += 1
    return hi[..., 0], lo[..., 0], levels


# --- the decision -----------------------------------------------------------


def _add_err(xh, xl, yh, yl):
    """AccurateDWPlusDW with an a-posteriori bound on its error: only the
    two rounded additions err, each by at most 2**-53 of its result (plus
    2**-1074 if it underflows)."""
    sh, sl = _two_sum(xh, yh)
    th, tl = _two_sum(xl, yl)
    c = sl + th
    vh, vl = _fast_two_sum(sh, c)
    w = tl + vl
    zh, zl = _fast_two_sum(vh, w)
    return zh, zl, (abs(c) + abs(w)) * 2.0**-53 + 2.0**-1073


def _decide(vh, vl, scale, err, fmt, zero_sign, wh=0.0, wl=0.0, w_sign=0.0):
    """Round 2**scale (vh + vl + wh + wl), known within 2**scale err, to fmt.

    (vh, vl) and (wh, wl) are double-doubles; their sum is formed here with
    an a-posteriori error bound, so that a tiny w next to a v on a rounding
    boundary is not lost.  Where ``w_sign`` is +1 or -1, v is exact and the
    exact w has that sign (it may be too small to resolve): the exact value
    then also lies strictly on that side of v, which decides a v that sits
    exactly on a midpoint.  zero_sign: +1 / -1 where the sign of the exact
    value is known, 0 where it must be proved here.

    Returns (value as float64, decided mask).
    """
    p, emin, emax = fmt.precision, fmt.emin, fmt.emax
    vh, vl, err, wh, wl, w_sign = np.broadcast_arrays(vh, vl, err, wh, wl, w_sign)
    scale = np.broadcast_to(np.asarray(scale, dtype=np.int64), vh.shape)
    zero_sign = np.broadcast_to(zero_sign, vh.shape)
    with np.errstate(over="ignore", invalid="ignore"):
        ah, _, _ = _add_err(vh, vl, wh, wl)  # only to choose the binade and N
        _, ex = np.frexp(ah)
        binade = np.where(ah == 0, emin - p - 2, ex.astype(np.int64) - 1 + scale)
        q = np.maximum(binade, emin) - p + 1
        shift = np.clip(scale - q, -3000, 3000)  # beyond, ldexp is 0 or inf anyway
        t = np.ldexp(ah, shift)
        # Off an exact half, toward the side of an unresolved w.
        n = np.rint(np.where(w_sign != 0, np.nextafter(t, t + w_sign), t))

        def offset(n):  # value / 2**q - n, a double-double, and its error
            dh, dl = _two_sum(np.ldexp(vh, shift), -n)  # exact
            dh, dl, e1 = _add_err(dh, dl, np.ldexp(vl, shift), 0.0 * dh)
            dh, dl, e2 = _add_err(dh, dl, np.ldexp(wh, shift), np.ldexp(wl, shift))
            return dh, dl, e1 + e2

        dh, dl, e12 = offset(n)
        # ah lost w's bits: on an exact half, the side of w decides the nearest n.
        beyond = (np.abs(dh) > 0.5) | ((np.abs(dh) == 0.5) & (dh * dl > 0))
        if beyond.any():
            n = np.where(beyond, n + np.sign(dh), n)
            dh, dl, e12 = offset(n)
        # ldexp is exact unless it underflows (<= 2**-1074 each, four calls)
        tau = np.ldexp(err * MARGIN, shift) * (1 + 2.0**-50) + e12 + 2.0**-1069
        # The rounding interval of n is (n - below, n + above) in units: 1/2,
        # or 1/4 on the side toward zero of a normal power of two.
        power = (np.abs(n) == 2.0 ** (p - 1)) & (q > emin - p + 1)
        above = np.where(power & (n < 0), 0.25, 0.5)
        below = np.where(power & (n > 0), 0.25, 0.5)
        # The margins are exact or within 2**-53 of themselves; the final
        # subtraction rounds by 2**-53: the 2**-51 term covers both.
        up_margin = above - dh
        low_margin = below + dh
        up = up_margin - dl > tau + 2.0**-51 * (abs(up_margin) + abs(dl))
        low = low_margin + dl > tau + 2.0**-51 * (abs(low_margin) + abs(dl))
        # With a signed w and an exact v: v itself bounds the value strictly.
        vt = np.ldexp(vl, shift)
        vs = np.ldexp(vh, shift)
        exact_v = (np.ldexp(vt, -shift) == vl) & (np.ldexp(vs, -shift) == vh) & (shift == scale - q)
        a, b = _two_sum(vs, -n)
        s, e = _two_sum(b, vt)  # offset of v = a + s + e exactly
        up |= (w_sign < 0) & exact_v & ((above - a) - s >= e)
        low |= (w_sign > 0) & exact_v & ((below + a) + s >= -e)
        inside = up & low
        value = np.ldexp(n, q)
        finite = np.abs(value) <= fmt.max
        # Overflow: the whole interval at or above 2**(emax+1) rounds to inf.
        big = (binade >= emax + 1) & ((np.abs(n) - np.abs(dh) - np.abs(dl) - tau) * (1 - 2.0**-40) >= 2.0 ** (p - 1))
        inf = (math.inf if fmt.has_inf else math.nan) * np.sign(ah)
        # Zero: |v| below half the smallest subnormal, with a known sign.
        proved = np.where(np.abs(dh) * (1 - 2.0**-50) - np.abs(dl) * 1.01 > tau, np.sign(dh), 0.0)
        zsign = np.where(zero_sign != 0, zero_sign, proved)
    value = np.where(big, inf, np.where(n == 0, np.copysign(0.0, zsign), value))
    ok = np.where(big, True, np.where(n == 0, inside & (zsign != 0), inside & finite))
    ok &= np.isfinite(ah) & np.isfinite(err) & np.isfinite(dh)
    return value, ok
