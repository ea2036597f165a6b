"""The compiled kernel of :mod:`analysis.fastref`: the same arithmetic, per element.

``core(u, counts, consts, fmt..., margin)`` is ``fastref._core`` written
element by element for Numba: the same double-double operations in the same
order (TwoSum, FastTwoSum, Dekker's TwoProduct with Veltkamp splitting,
AccurateDWPlusDW, DWTimesDW1, DWTimesFP1, the division), the same reduction
and degree-10 Taylor polynomial for ``exp``, the same pairwise sum, the same
three ways to ``log S`` and the same decision (``_decide``) with the same
error bounds (the constants are imported from ``fastref``; ``margin`` is
passed in, so a test that raises ``fastref.MARGIN`` reaches the kernel).
The module docstring of :mod:`analysis.fastref` is the proof; this module
only has to compute what it says.  Rows it cannot decide come back with
``ok = False`` and ``fastref`` sends them to the mpmath path.

Exactness of the error-free transformations.  TwoSum, FastTwoSum and Dekker's
product are exact only if every ``+``, ``-`` and ``*`` is one IEEE binary64
operation rounded to nearest, in the written order: no fused multiply-add
(``a*b + c`` contracted into one rounding breaks Veltkamp's split and the
product's error term) and no reassociation.  What guarantees it here:

- every function is compiled with ``fastmath=False`` (Numba's default, stated
  explicitly), so Numba emits plain ``fmul``/``fadd``/``fsub`` without the
  LLVM fast-math flags ``contract`` or ``reassoc``;
- llvmlite creates its target machine with LLVM's default
  ``TargetOptions``, whose ``AllowFPOpFusion`` is ``Standard``: only the
  ``llvm.fmuladd`` intrinsic may become an FMA, and Numba never emits it;
- the tests check both consequences on this machine: the generated assembly
  of every kernel contains no FMA instruction (``vfmadd``/``vfmsub``/
  ``vfnmadd``/``vfnmsub``), and the compiled TwoProduct and TwoSum are exact
  on inputs where a contraction would change the result;
- ``error_model="numpy"``: a division by zero gives inf/NaN as in numpy
  (and the decision rejects it) instead of raising.

``ldexp`` and the exponent of ``frexp`` are done on the bits (``_ldexp`` is
musl's ``scalbn``: at most one rounding, in the last multiplication, so it is
the correctly rounded ``x 2**n`` that numpy's ``ldexp`` returns); ``rint``
is LLVM's ``llvm.rint`` (round half to even, the current rounding mode).
``log`` and ``log1p`` give only the float64 starting points ``L0`` of the
Newton steps: any approximation would do, since the bound on ``L`` is
computed a posteriori from the residual ``w``.

Parallel over rows and over the entries of long rows on every core
(``prange``; Numba's threading layer, ``workqueue`` unless TBB or OpenMP is
installed; ``NUMBA_NUM_THREADS`` sets the count).  Compiled on first use
(one signature: float64 arrays) and cached on disk (``cache=True``): Numba
writes the cache next to this module, in ``analysis/__pycache__/``
(``NUMBA_CACHE_DIR`` moves it), keyed by this file's modification time and
the CPU; a stale or foreign entry is recompiled, never reused.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

# The same constants as fastref's (see its docstring for their bounds).
EPS = 2.0**-100
EXP_REL = 2.0**-96
UNDERFLOW = 2.0**-1064
CLAMP = -(2.0**16)
TAYLOR_DEGREE = 10

# Layout of the ``consts`` array: c1..c4 (ln2/64 in parts), 64/ln2, then the
# table of 2**(i/64) (hi, lo) and the Taylor coefficients 1/i! (hi, lo).
C_PARTS, INV_C, TABLE_HI, TABLE_LO = 0, 4, 5, 69
COEF_HI = 133
COEF_LO = COEF_HI + TAYLOR_DEGREE + 2
CONSTS_SIZE = COEF_LO + TAYLOR_DEGREE + 2

_JIT = {"cache": True, "fastmath": False, "error_model": "numpy", "nogil": True}
_INT_MIN_HALF = np.iinfo(np.int64).min // 2


# --- bits ---------------------------------------------------------------------


@njit(**_JIT)
def _pow2(n):
    """2**n for an integer -1022 <= n <= 1023, exactly."""
    return np.int64((n + 1023) << 52).view(np.float64)


@njit(**_JIT)
def _ldexp(x, n):
    """x 2**n correctly rounded (musl's scalbn): the scalings before the
    last multiplication are exact, and 2**-1022 * 2**53 keeps a value that
    will be subnormal from being rounded twice."""
    if n > 1023:
        x *= 8.98846567431158e307  # 2**1023
        n -= 1023
        if n > 1023:
            x *= 8.98846567431158e307
            n -= 1023
            if n > 1023:
                n = 1023
    elif n < -1022:
        x *= 2.004168360008973e-292  # 2**-969 = 2**-1022 * 2**53
        n += 969
        if n < -1022:
            x *= 2.004168360008973e-292
            n += 969
            if n < -1022:
                n = -1022
    return x * _pow2(n)


@njit(**_JIT)
def _frexp_exponent(x):
    """The exponent e of frexp: x = f 2**e with 0.5 <= |f| < 1; 0 for 0,
    inf and NaN (as numpy's frexp)."""
    biased = (np.float64(x).view(np.int64) >> 52) & 0x7FF
    if biased == 0x7FF or x == 0:
        return np.int64(0)
    if biased == 0:  # subnormal: scale into the normal range first
        return ((np.float64(x * 1.8446744073709552e19).view(np.int64) >> 52) & 0x7FF) - 1022 - 64
    return biased - 1022


@njit(**_JIT)
def _sign(x):
    """numpy's sign: -1, 0, +1, NaN for NaN."""
    if x > 0:
        return 1.0
    if x < 0:
        return -1.0
    return x * 0.0  # 0 for +-0, NaN for NaN


# --- error-free transformations and double-double arithmetic --------------


@njit(**_JIT)
def _two_sum(a, b):
    s = a + b
    bb = s - a
    return s, (a - (s - bb)) + (b - bb)


@njit(**_JIT)
def _fast_two_sum(a, b):  # |a| >= |b| (or a == 0)
    s = a + b
    return s, b - (s - a)


@njit(**_JIT)
def _split(a):  # Veltkamp: a = hi + lo, each with at most 26 bits
    c = 134217729.0 * a  # 2**27 + 1
    hi = c - (c - a)
    return hi, a - hi


@njit(**_JIT)
def _two_prod(a, b):  # Dekker: a*b = p + e exactly
    p = a * b
    ah, al = _split(a)
    bh, bl = _split(b)
    return p, ((ah * bh - p) + ah * bl + al * bh) + al * bl


@njit(**_JIT)
def _add(xh, xl, yh, yl):  # AccurateDWPlusDW (JMP 2017, Alg. 6)
    sh, sl = _two_sum(xh, yh)
    th, tl = _two_sum(xl, yl)
    vh, vl = _fast_two_sum(sh, sl + th)
    return _fast_two_sum(vh, tl + vl)


@njit(**_JIT)
def _mul(xh, xl, yh, yl):  # DWTimesDW1 (JMP 2017, Alg. 10)
    ch, cl1 = _two_prod(xh, yh)
    return _fast_two_sum(ch, cl1 + (xh * yl + xl * yh))


@njit(**_JIT)
def _mul_d(xh, xl, y):  # DWTimesFP1 (JMP 2017, Alg. 7)
    ch, cl1 = _two_prod(xh, y)
    return _fast_two_sum(ch, cl1 + xl * y)


@njit(**_JIT)
def _div(xh, xl, yh, yl):  # as fastref._div
    q1 = xh / yh
    ph, pl = _mul_d(yh, yl, q1)
    rh, rl = _add(xh, xl, -ph, -pl)
    return _fast_two_sum(q1, rh / yh)


@njit(**_JIT)
def _add_err(xh, xl, yh, yl):  # as fastref._add_err
    sh, sl = _two_sum(xh, yh)
    th, tl = _two_sum(xl, yl)
    c = sl + th
    vh, vl = _fast_two_sum(sh, c)
    w = tl + vl
    zh, zl = _fast_two_sum(vh, w)
    return zh, zl, (abs(c) + abs(w)) * 2.0**-53 + 2.0**-1073


# --- exp ---------------------------------------------------------------------


@njit(**_JIT)
def _exp_dd(dh, dl, consts):
    """fastref._exp_dd for one d in [-2**16, 0]: (a, Mh, Ml)."""
    c1, c2, c3, c4 = consts[C_PARTS], consts[C_PARTS + 1], consts[C_PARTS + 2], consts[C_PARTS + 3]
    k = np.rint(dh * consts[INV_C])
    rh, rl = _two_sum(dh, -k * c1)  # k*c1, k*c2, k*c3 exact: 30-bit parts, |k| < 2**23
    th, tl = _two_sum(dl, -k * c2)
    rh, rl = _add(rh, rl, th, tl)
    rh, rl = _add(rh, rl, -k * c3, 0.0 * k)
    ph, pl = _two_prod(k, c4)
    rh, rl = _add(rh, rl, -ph, -pl)
    ph, pl = consts[COEF_HI + TAYLOR_DEGREE], consts[COEF_LO + TAYLOR_DEGREE]
    for i in range(TAYLOR_DEGREE - 1, -1, -1):
        ph, pl = _mul(ph, pl, rh, rl)
        ph, pl = _add(ph, pl, consts[COEF_HI + i], consts[COEF_LO + i])
    ki = np.int64(k)
    j = ki & 63  # ki mod 64, in [0, 64), as numpy's % for a positive modulus
    mh, ml = _mul(consts[TABLE_HI + j], consts[TABLE_LO + j], ph, pl)
    return (ki - j) >> 6, mh, ml


@njit(**_JIT)
def _expm1_small(x, consts):
    """fastref._expm1_small for one |x| <= 2**-8."""
    ph, pl = consts[COEF_HI + TAYLOR_DEGREE + 1], consts[COEF_LO + TAYLOR_DEGREE + 1]
    for i in range(TAYLOR_DEGREE, 0, -1):
        ph, pl = _mul(ph, pl, x, 0.0)
        ph, pl = _add(ph, pl, consts[COEF_HI + i], consts[COEF_LO + i])
    return _mul(ph, pl, x, 0.0)


# --- the decision -----------------------------------------------------------


@njit(**_JIT)
def _offset(vh, vl, wh, wl, shift, n):
    """value / 2**q - n as a double-double, and its error (fastref._decide)."""
    dh, dl = _two_sum(_ldexp(vh, shift), -n)  # exact
    dh, dl, e1 = _add_err(dh, dl, _ldexp(vl, shift), 0.0 * dh)
    dh, dl, e2 = _add_err(dh, dl, _ldexp(wh, shift), _ldexp(wl, shift))
    return dh, dl, e1 + e2


@njit(**_JIT)
def _decide(vh, vl, scale, err, p, emin, emax, fmax, has_inf, zero_sign, wh, wl, w_sign, margin):
    """fastref._decide for one value: round 2**scale (vh + vl + wh + wl),
    known within 2**scale err, to the format (p, emin, emax, fmax, has_inf).
    Returns (value, decided)."""
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
        t = np.nextafter(t, t + w_sign)
    n = np.rint(t)
    dh, dl, e12 = _offset(vh, vl, wh, wl, shift, n)
    # ah lost w's bits: on an exact half, the side of w decides the nearest n.
    if abs(dh) > 0.5 or (abs(dh) == 0.5 and dh * dl > 0):
        n = n + _sign(dh)
        dh, dl, e12 = _offset(vh, vl, wh, wl, shift, n)
    # ldexp is exact unless it underflows (<= 2**-1074 each, four calls)
    tau = _ldexp(err * margin, shift) * (1 + 2.0**-50) + e12 + 2.0**-1069
    # The rounding interval of n is (n - below, n + above) in units: 1/2,
    # or 1/4 on the side toward zero of a normal power of two.
    power = abs(n) == 2.0 ** (p - 1) and q > emin - p + 1
    above = 0.25 if power and n < 0 else 0.5
    below = 0.25 if power and n > 0 else 0.5
    up_margin = above - dh
    low_margin = below + dh
    up = up_margin - dl > tau + 2.0**-51 * (abs(up_margin) + abs(dl))
    low = low_margin + dl > tau + 2.0**-51 * (abs(low_margin) + abs(dl))
    if w_sign != 0:  # with a signed w and an exact v: v itself bounds the value strictly
        vt = _ldexp(vl, shift)
        vs = _ldexp(vh, shift)
        exact_v = _ldexp(vt, -shift) == vl and _ldexp(vs, -shift) == vh and shift == scale - q
        a, b = _two_sum(vs, -n)
        s, e = _two_sum(b, vt)  # offset of v = a + s + e exactly
        if exact_v and w_sign < 0 and (above - a) - s >= e:
            up = True
        if exact_v and w_sign > 0 and (below + a) + s >= -e:
            low = True
    inside = up and low
    value = _ldexp(n, q)
    finite = abs(value) <= fmax
    # Overflow: the whole interval at or above 2**(emax+1) rounds to inf.
    big = binade >= emax + 1 and (abs(n) - abs(dh) - abs(dl) - tau) * (1 - 2.0**-40) >= 2.0 ** (p - 1)
    # Zero: |v| below half the smallest subnormal, with a known sign.
    if zero_sign != 0:
        zsign = zero_sign
    elif abs(dh) * (1 - 2.0**-50) - abs(dl) * 1.01 > tau:
        zsign = _sign(dh)
    else:
        zsign = 0.0
    if big:
        value = (math.inf if has_inf else math.nan) * _sign(ah)
        ok = True
    elif n == 0:
        value = math.copysign(0.0, zsign)
        ok = inside and zsign != 0
    else:
        ok = inside and finite
    ok = ok and math.isfinite(ah) and math.isfinite(err) and math.isfinite(dh)
    return value, ok


# --- the rows ---------------------------------------------------------------


@njit(**_JIT)
def _pairwise_sum(hi, lo, width):
    """fastref._pairwise_sum in place on hi[:width], lo[:width] (both of
    length >= width + 1: an odd level is padded with a zero)."""
    levels = 0
    while width > 1:
        if width % 2:
            hi[width] = 0.0
            lo[width] = 0.0
            width += 1
        half = width // 2
        for i in range(half):
            hi[i], lo[i] = _add(hi[2 * i], lo[2 * i], hi[2 * i + 1], lo[2 * i + 1])
        width = half
        levels += 1
    return hi[0], lo[0], levels


@njit(**_JIT)
def _log_sum(sh, sl, big_a, width, levels, top_count, clamped_part, consts):
    """L = log S for S = top_count + 2**big_a (sh + sl): fastref._core's
    three branches.  Returns (Lh, Ll, L's scale, err_l, S hi, S lo, err_s, ok)."""
    err_sigma = sh * (EXP_REL + (levels + 1) * EPS) * 1.01 + width * 2.0**-1072 + clamped_part
    s_h, s_l = _ldexp(sh, big_a), _ldexp(sl, big_a)
    big_sh, big_sl = _add(top_count, 0.0 * top_count, s_h, s_l)
    err_s = _ldexp(err_sigma, big_a) + (big_sh * EPS + 2.0**-1070)
    log2_s = big_a + _frexp_exponent(sh)  # s < 2**log2_s
    single = top_count == 1
    tiny = single and log2_s < -60
    small = single and not tiny and log2_s <= -8
    ok = True
    l_scale = big_a if tiny else 0
    if tiny:
        # L = sigma (1 - s/2), |log1p(s) - s(1 - s/2)| <= s**3/3 < 2**-120 s,
        # and s/2 from float64 s: <= 2**-53 s**2.
        half_s = _ldexp(sh, big_a) / 2
        lh, ll = _mul(sh, sl, 1.0 - 0.0 * half_s, -half_s)
        err_l = err_sigma + abs(lh) * 2.0**-99
    elif small:
        # L0 = log1p(s) in float64, L = L0 + w - w**2/2 with
        # w = (s - expm1(L0)) / (1 + expm1(L0)), |w| <= 2**-40 checked.
        x0 = math.log1p(s_h)
        eh, el = _expm1_small(x0, consts)
        nh, nl = _add(s_h, s_l, -eh, -el)
        dh1, dl1 = _add(1.0 + 0.0 * eh, 0.0 * eh, eh, el)
        wh, wl = _div(nh, nl, dh1, dl1)
        ch, cl = _mul(wh, wl, 1.0 - wh / 2, 0.0 * wh)
        lh, ll = _add(x0, 0.0 * x0, ch, cl)
        err_l = (
            (_ldexp(err_sigma, big_a) + 2.0**-96 * abs(eh) + EPS * abs(nh)) * 1.01
            + abs(wh) ** 3.0
            + abs(lh) * 2 * EPS
        )
        ok = abs(wh) <= 2.0**-40
    else:
        # general: L0 = log(S), w = S exp(-L0) - 1, L = L0 + w - w**2/2.
        x0 = math.log(big_sh)
        ea, emh, eml = _exp_dd(-x0, 0.0 * x0, consts)
        emh, eml = _ldexp(emh, ea), _ldexp(eml, ea)
        ph, pl = _mul(big_sh, big_sl, emh, eml)
        wh, wl = _add(ph, pl, -1.0 + 0.0 * ph, 0.0 * ph)
        ch, cl = _mul(wh, wl, 1.0 - wh / 2, 0.0 * wh)
        lh, ll = _add(x0, 0.0 * x0, ch, cl)
        err_l = (err_s / big_sh + EXP_REL + 3 * EPS) * abs(ph) * 1.01 + abs(wh) ** 3.0 + abs(lh) * 2 * EPS
        ok = abs(wh) <= 2.0**-40
    if not tiny:  # underflow slack where L was computed unscaled
        err_l += UNDERFLOW
    return lh, ll, l_scale, err_l, big_sh, big_sl, err_s, ok


@njit(parallel=True, **_JIT)
def core(u, counts, consts, p, emin, emax, fmax, has_inf, margin):
    """fastref._core, compiled: (softmax, lse, log_softmax, max_err, ok)
    for rows u (R x K, finite float64) with counts (R x K)."""
    rows, width = u.shape
    size = rows * width
    f64_max = np.finfo(np.float64).max
    m = np.empty(rows)
    for r in prange(rows):
        m[r] = u[r].max()
    dh = np.empty(size)
    dl = np.empty(size)
    mh = np.empty(size)
    ml = np.empty(size)
    a = np.empty(size, np.int64)
    top = np.empty(size, np.bool_)
    clamped = np.empty(size, np.bool_)
    ok_entry = np.empty(size, np.bool_)
    # Per entry: d = u - max exactly, exp(d) = 2**a M.
    for i in prange(size):
        r = i // width
        h, lo = _two_sum(u[r, i - r * width], -m[r])
        top[i] = h == 0 and lo == 0
        ok_entry[i] = math.isfinite(h)
        if not math.isfinite(h):
            h = 0.0
        if not math.isfinite(lo):
            lo = 0.0
        dh[i], dl[i] = h, lo
        clamped[i] = h < CLAMP
        if clamped[i]:
            h, lo = CLAMP, 0.0
        a[i], mh[i], ml[i] = _exp_dd(h, lo, consts)

    # Per row: S, L, logsumexp and max_err.
    lse = np.empty(rows)
    max_err = np.empty(rows)
    ok = np.empty(rows, np.bool_)
    lsm_top = np.empty(rows)
    ok_top = np.empty(rows, np.bool_)
    row_luh = np.empty(rows)
    row_lul = np.empty(rows)
    row_err_lu = np.empty(rows)
    row_positive = np.empty(rows)
    row_one_entry = np.empty(rows, np.bool_)
    row_sh = np.empty(rows)
    row_sl = np.empty(rows)
    row_err_s = np.empty(rows)
    for r in prange(rows):
        start = r * width
        # s = 2**A sigma over the non-maximal entries.
        big_a = _INT_MIN_HALF
        has_rest = False
        top_count = 0.0
        row_ok = True
        for j in range(start, start + width):
            row_ok = row_ok and ok_entry[j]
            if top[j]:
                top_count += counts[r, j - start]
            else:
                has_rest = True
                big_a = max(big_a, a[j])
        if not has_rest:
            big_a = 0
        hi = np.empty(width + 1)
        lo = np.empty(width + 1)
        # The clamped terms, summed with an error far below their 2**-40 margin.
        clamped_h, clamped_l = 0.0, 0.0
        for j in range(start, start + width):
            shift = min(max(a[j] - big_a, -3000), 0)
            th, tl = _mul_d(mh[j], ml[j], counts[r, j - start])  # count * M: EPS
            th, tl = _ldexp(th, shift), _ldexp(tl, shift)  # underflow: <= 2**-1073 each
            if top[j]:
                th, tl = 0.0, 0.0
            hi[j - start], lo[j - start] = th, tl
            if clamped[j] and not top[j]:
                clamped_h, e = _two_sum(clamped_h, th)
                clamped_l += e
        # A compensated sum of positive terms: relative error below 2**-50,
        # so the margin of 2**-40 still makes it an upper bound.
        clamped_part = (clamped_h + clamped_l) * (1 + 2.0**-40)
        sh, sl, levels = _pairwise_sum(hi, lo, width)
        lh, ll, l_scale, err_l, big_sh, big_sl, err_s, l_ok = _log_sum(
            sh, sl, big_a, width, levels, top_count, clamped_part, consts
        )
        row_ok = row_ok and l_ok
        one_entry = top_count == 1 and not has_rest  # L == 0 exactly
        if one_entry:
            lh, ll, err_l = 0.0, 0.0, 0.0
        # max_approx_error = L in float64
        me, ok_e = _decide(lh, ll, l_scale, err_l, 53, -1022, 1023, f64_max, True, 1.0, 0.0, 0.0, 0.0, margin)
        row_ok = row_ok and ok_e
        # L unscaled, for max + L and d - L.
        luh, lul = _ldexp(lh, l_scale), _ldexp(ll, l_scale)
        err_lu = 0.0 if one_entry else _ldexp(err_l, l_scale) + UNDERFLOW
        positive = 0.0 if one_entry else 1.0  # the sign of L: 0 or > 0
        mr = m[r]
        if mr == 0:  # a zero maximum: logsumexp = L, decided from L's scaled form
            value, ok_l = _decide(lh, ll, l_scale, err_l, p, emin, emax, fmax, has_inf, 1.0, 0.0, 0.0, 0.0, margin)
        else:
            value, ok_l = _decide(mr, 0.0 * mr, 0, err_lu, p, emin, emax, fmax, has_inf, 0.0, luh, lul, positive,
                                  margin)  # fmt: skip
        row_ok = row_ok and ok_l
        # The maxima: log_softmax = -L, decided from L's scaled form.
        lsm_top[r], ok_top[r] = _decide(-lh, -ll, l_scale, err_l, p, emin, emax, fmax, has_inf,
                                        1.0 if one_entry else -1.0, 0.0, 0.0, 0.0, margin)  # fmt: skip
        lse[r], max_err[r], ok[r] = value, me, row_ok
        row_luh[r], row_lul[r], row_err_lu[r], row_positive[r] = luh, lul, err_lu, positive
        row_one_entry[r] = one_entry
        row_sh[r], row_sl[r], row_err_s[r] = big_sh, big_sl, err_s

    # Per entry: log_softmax = d - L, softmax = 2**a M / S.
    softmax = np.empty((rows, width))
    log_softmax = np.empty((rows, width))
    for i in prange(size):
        r = i // width
        j = i - r * width
        if top[i]:
            log_softmax[r, j] = lsm_top[r]
            entry_ok = ok_top[r]
        else:
            lsm_sign = -1.0
            log_softmax[r, j], entry_ok = _decide(dh[i], dl[i], 0, row_err_lu[r], p, emin, emax, fmax, has_inf,
                                                  lsm_sign, -row_luh[r], -row_lul[r], -row_positive[r], margin)  # fmt: skip
        big_sh = row_sh[r]
        qh, ql = _div(mh[i], ml[i], big_sh, row_sl[r])
        if clamped[i]:  # the exact value lies between 0 and the clamped one
            err_q = abs(qh) * 2
        else:
            err_q = abs(qh) * (EXP_REL + row_err_s[r] / big_sh + 2 * EPS) * 1.01 + UNDERFLOW
        softmax[r, j], ok_s = _decide(qh, ql, a[i], err_q, p, emin, emax, fmax, has_inf, 1.0, 0.0, 0.0, 0.0, margin)
        ok_entry[i] = entry_ok and ok_s
    for r in prange(rows):
        for j in range(r * width, (r + 1) * width):
            if not ok_entry[j]:
                ok[r] = False
                break
    return softmax, lse, log_softmax, max_err, ok
