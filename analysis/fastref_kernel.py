"""The compiled kernel of :mod:`analysis.fastref`: the same arithmetic, entry by entry.

``core(u, counts, width, consts, p, emin, emax, max, has_inf, margin)`` is
``fastref._core`` written entry by entry for Numba: the same double-double
operations in the same order (TwoSum, FastTwoSum, Dekker's TwoProduct with
Veltkamp splitting, AccurateDWPlusDW, DWTimesDW1, DWTimesFP1, the
division), the same reduction and degree-10 Taylor polynomial for ``exp``,
the same pairwise sum, the same three ways to ``log S`` and the same
decision (``_decide``) with the same error bounds.  The module docstring of
:mod:`analysis.fastref` is the proof; this module only has to compute what
it says.  Rows it cannot decide come back with ``ok = 0`` and ``fastref``
sends them to the mpmath path.  The bounds' constants are copies of
fastref's in :mod:`analysis.kernel_dd` (a test checks that they are equal),
``MARGIN`` and the table of ``exp`` are passed in (``consts``, made by
fastref with mpmath).  The arithmetic is in :mod:`analysis.kernel_dd`,
the decision in :mod:`analysis.kernel_decide` (both re-exported here).


``log`` and ``log1p`` give only the float64 starting points ``L0`` of the
Newton steps: any approximation would do, since the bound on ``L`` is
computed a posteriori from the residual ``w``.

Speed.  The per-entry passes are loops that LLVM vectorizes: the helpers
are inlined by LLVM (``forceinline``), the loops have no call and no branch
that cannot become a select (``ldexp``, ``frexp`` and ``nextafter`` on the
bits, ``&`` and ``|`` for the logic), their flags are 0/1 bytes (a bool
variable makes Numba's alias analysis drop ``noalias`` from the loop's
arrays), and the decision there is ``_decide_fast``, which leaves the rare
steps to a second pass through ``_decide`` (identical results, see it).
Parallel on every core (``prange``; ``NUMBA_NUM_THREADS`` sets the count):
rows of up to ``BLOCK`` entries in groups of about ``GROUP`` entries, each
group through every pass on one core while its scratch stays in that core's
cache (one parallel loop per call: the fixed cost of a call is ~0.13 ms
instead of ~1 ms for ten); longer rows pass by pass, over rows and over
blocks of their entries, with a fork-safe
threading layer (the sweep forks its workers; GNU OpenMP would abort them).
``fastref`` calls the kernel under a lock: Numba's workqueue layer must not
be entered from two threads at once.

Compiled on first use (one signature) in some seconds and cached on disk
(``cache=True``): Numba writes the cache next to these modules, in
``analysis/__pycache__/`` (``NUMBA_CACHE_DIR`` moves it), keyed by the
source of the kernel's files (``kernel_dd.stamp_cache``) and the CPU; a
stale or foreign entry is recompiled, never reused.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from .kernel_dd import (  # noqa: F401 (re-exported: fastref and the tests use them from here)
    _INLINE,
    _INT_MIN_HALF,
    _JIT,
    C_PARTS,
    CLAMP,
    COEF_HI,
    COEF_LO,
    CONSTS_SIZE,
    EPS,
    EXP_REL,
    INV_C,
    TABLE_HI,
    TABLE_LO,
    TAYLOR_DEGREE,
    UNDERFLOW,
    USE_FMA,
    _add,
    _div,
    _exp_dd,
    _expm1_small,
    _frexp_exponent,
    _ldexp,
    _mul,
    _mul_d,
    _two_prod,
    _two_sum,
    stamp_cache,
)
from .kernel_decide import _decide, _decide_fast, _decide_once, _offset  # noqa: F401 (re-exported)

# --- the rows ---------------------------------------------------------------


@njit(**_INLINE)
def _pairwise_sum(hi, lo, base, width):
    """fastref._pairwise_sum in place on hi[base:base + width], lo[...]:
    pairs (0, 1), (2, 3), ... at each level, the last entry of an odd level
    added to a zero (numpy's padding)."""
    levels = 0
    while width > 1:
        half = width // 2
        for i in range(half):
            hi[base + i], lo[base + i] = _add(hi[base + 2 * i], lo[base + 2 * i], hi[base + 2 * i + 1],
                                              lo[base + 2 * i + 1])  # fmt: skip
        if width % 2:
            hi[base + half], lo[base + half] = _add(hi[base + width - 1], lo[base + width - 1], 0.0, 0.0)
            half += 1
        width = half
        levels += 1
    return hi[base], lo[base], levels


@njit(**_INLINE)
def _log_general(x0, big_sh, big_sl, err_s, consts):
    """_log_sum's general branch: L0 = x0 = log(S) in float64,
    w = S exp(-L0) - 1, L = L0 + w - w**2/2; (Lh, Ll, its bound, |w| <= 2**-40)."""
    ea, emh, eml = _exp_dd(-x0, 0.0 * x0, consts)
    emh, eml = _ldexp(emh, ea), _ldexp(eml, ea)
    ph, pl = _mul(big_sh, big_sl, emh, eml)
    wh, wl = _add(ph, pl, -1.0 + 0.0 * ph, 0.0 * ph)
    ch, cl = _mul(wh, wl, 1.0 - wh / 2, 0.0 * wh)
    lh, ll = _add(x0, 0.0 * x0, ch, cl)
    # |wh| 2**-52: the factor 1 - wh/2 is rounded (2**-53) and wl is dropped from it (as fastref).
    err_l = (
        (err_s / big_sh + EXP_REL + 3 * EPS) * abs(ph) * 1.01 + abs(wh) ** 3.0 + abs(wh) * 2.0**-52
        + abs(lh) * 2 * EPS
    )  # fmt: skip
    return lh, ll, err_l, np.uint8(abs(wh) <= 2.0**-40)


@njit(**_INLINE)
def _log_tiny(sh, sl, big_a, err_sigma):
    """_log_sum's tiny branch: L = sigma (1 - s/2), |log1p(s) - s(1 - s/2)|
    <= s**3/3 < 2**-120 s, and s/2 from float64 s: <= 2**-53 s**2; L is
    2**big_a (Lh + Ll) within 2**big_a err."""
    half_s = _ldexp(sh, big_a) / 2
    lh, ll = _mul(sh, sl, 1.0 - 0.0 * half_s, -half_s)
    return lh, ll, err_sigma + abs(lh) * 2.0**-99


@njit(**_INLINE)
def _log_small(x0, s_h, s_l, err_sigma, big_a, consts):
    """_log_sum's small branch: L0 = x0 = log1p(s) in float64,
    L = L0 + w - w**2/2 with w = (s - expm1(L0)) / (1 + expm1(L0));
    (Lh, Ll, its bound, |w| <= 2**-40)."""
    eh, el = _expm1_small(x0, consts)
    nh, nl = _add(s_h, s_l, -eh, -el)
    dh1, dl1 = _add(1.0 + 0.0 * eh, 0.0 * eh, eh, el)
    wh, wl = _div(nh, nl, dh1, dl1)
    ch, cl = _mul(wh, wl, 1.0 - wh / 2, 0.0 * wh)
    lh, ll = _add(x0, 0.0 * x0, ch, cl)
    # |wh| 2**-52: the factor 1 - wh/2 is rounded (2**-53) and wl is dropped from it (as fastref).
    err_l = (
        (_ldexp(err_sigma, big_a) + 2.0**-96 * abs(eh) + EPS * abs(nh)) * 1.01 + abs(wh) ** 3.0
        + abs(wh) * 2.0**-52 + abs(lh) * 2 * EPS
    )  # fmt: skip
    return lh, ll, err_l, np.uint8(abs(wh) <= 2.0**-40)


@njit(**_JIT)  # once per row: not inlined
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
    ok = np.uint8(1)
    l_scale = big_a if tiny else 0
    if tiny:
        lh, ll, err_l = _log_tiny(sh, sl, big_a, err_sigma)
    elif small:
        lh, ll, err_l, ok = _log_small(math.log1p(s_h), s_h, s_l, err_sigma, big_a, consts)
    else:
        lh, ll, err_l, ok = _log_general(math.log(big_sh), big_sh, big_sl, err_s, consts)
    if not tiny:  # underflow slack where L was computed unscaled
        err_l += UNDERFLOW
    return lh, ll, l_scale, err_l, big_sh, big_sl, err_s, ok


@njit(**_INLINE)
def _row_log(r, others, width, margin, fmt, f64, consts, sigma_h, sigma_l, top_count, has_rest, m, row_x0, row_sh,
             row_sl, levels, row_clamped, big_a, lse, max_err, lsm_top, ok_top, ok, row_ok, row_luh, row_lul,
             row_err_lu, row_positive, row_s_rel, row_redo):  # fmt: skip
    """core's per-row pass on row r: L = log S, logsumexp, max_err and the
    maxima's log_softmax.  ``others`` 0 (a constant where it is inlined)
    says no row of the block takes the tiny or the small branch: the general
    branch alone is then computed (the same value: it is the one kept)."""
    sh, count, rest, mr = sigma_h[r], top_count[r], has_rest[r], m[r]
    x0, big_sh, big_sl = row_x0[r], row_sh[r], row_sl[r]
    err_sigma = sh * (EXP_REL + (levels[r] + 1) * EPS) * 1.01 + width * 2.0**-1072 + row_clamped[r]
    err_s = _ldexp(err_sigma, big_a[r]) + (big_sh * EPS + 2.0**-1070)
    # _log_sum's three branches, all computed (or the general one alone), one kept.
    ba, sl = big_a[r], sigma_l[r]
    log2_s = ba + _frexp_exponent(sh)  # s < 2**log2_s
    tiny = (count == 1) & (log2_s < -60) & (others != 0)
    small = (count == 1) & (log2_s >= -60) & (log2_s <= -8) & (others != 0)
    t_lh, t_ll, t_err = _log_tiny(sh, sl, ba, err_sigma)
    s_lh, s_ll, s_err, s_ok = _log_small(x0, _ldexp(sh, ba), _ldexp(sl, ba), err_sigma, ba, consts)
    g_lh, g_ll, g_err, g_ok = _log_general(x0, big_sh, big_sl, err_s, consts)
    lh = t_lh if tiny else (s_lh if small else g_lh)
    ll = t_ll if tiny else (s_ll if small else g_ll)
    # the underflow slack where L was computed unscaled
    err_l = t_err if tiny else (s_err if small else g_err) + UNDERFLOW
    l_ok = np.uint8(1) if tiny else (s_ok if small else g_ok)
    l_scale = ba if tiny else np.int64(0)
    one_entry = (count == 1) & (rest == 0)  # L == 0 exactly
    lh = 0.0 if one_entry else lh
    ll = 0.0 if one_entry else ll
    err_l = 0.0 if one_entry else err_l
    me, ok_e, redo_e = _decide_fast(lh, ll, l_scale, err_l, f64, 1.0, 0.0, 0.0, 0.0, margin, True)
    # L unscaled, for max + L and d - L.
    luh, lul = _ldexp(lh, l_scale), _ldexp(ll, l_scale)
    err_lu = 0.0 if one_entry else _ldexp(err_l, l_scale) + UNDERFLOW
    positive = 0.0 if one_entry else 1.0  # the sign of L: 0 or > 0
    value, ok_l, redo_l = _decide_fast(mr, 0.0 * mr, np.int64(0), err_lu, fmt, 0.0, luh, lul, positive, margin,
                                       True)  # fmt: skip
    top_value, top_ok, redo_t = _decide_fast(-lh, -ll, l_scale, err_l, fmt, 1.0 if one_entry else -1.0,
                                             0.0, 0.0, 0.0, margin, True)  # fmt: skip
    lse[r], max_err[r], lsm_top[r], ok_top[r] = value, me, top_value, top_ok
    ok[r] = row_ok[r] & l_ok & ok_e & ok_l
    row_luh[r], row_lul[r], row_err_lu[r], row_positive[r] = luh, lul, err_lu, positive
    # The relative bound of S, as the numpy path forms it (once per row here).
    row_s_rel[r] = EXP_REL + err_s / big_sh + 2 * EPS
    # A zero maximum: logsumexp = L, decided from L's scaled form, in the next pass.
    row_redo[r] = (mr == 0) | redo_e | redo_l | redo_t


BLOCK = 1024  # entries per task of the per-entry passes of long rows
# Rows of up to BLOCK entries are done in groups of about GROUP entries, every
# pass of a group one after the other on one core: its ~90 bytes of scratch
# an entry stay in that core's cache (each pass over the whole call's
# scratch went to memory and back, the larger part of the time on short rows).
GROUP = 4096
PASSES = 10  # the _pass_* functions, in the order core runs them
ROW_PASSES = (0, 2, 4, 5, 6, 9)  # those over rows (the others are over entries)
# Only the explicit prange loops run in parallel (Numba's other automatic
# parallelizations find nothing here and cost compilation time).
_PRANGE_ONLY = {"prange": True, "fusion": False, "comprehension": False, "reduction": False, "setitem": False,
                "numpy": False, "stencil": False, "inplace_binop": False}  # fmt: skip


# --- the passes, each over a range of rows or of entries -------------------


@njit(**_INLINE)
def _pass_max(first, last, width, u, row_of, m):
    """The maxima of rows first..last-1, and each entry's row."""
    for r in range(first, last):
        mr = u[r * width]
        for i in range(r * width, (r + 1) * width):
            mr = max(mr, u[i])
            row_of[i] = r
        m[r] = mr


@njit(**_INLINE)
def _pass_exp(first, last, u, m, row_of, consts, top, finite, dh, dl, clamped, a, mh, ml):
    """Per entry first..last-1: d = u - max exactly, exp(d) = 2**a M.  Flags are 1 or 0."""
    for i in range(first, last):
        h, lo = _two_sum(u[i], -m[row_of[i]])
        top[i] = (h == 0) & (lo == 0)
        finite[i] = math.isfinite(h)
        h = h if math.isfinite(h) else 0.0
        lo = lo if math.isfinite(lo) else 0.0
        dh[i] = h
        dl[i] = lo
        clamped[i] = h < CLAMP
        a[i], mh[i], ml[i] = _exp_dd(CLAMP if h < CLAMP else h, 0.0 if h < CLAMP else lo, consts)


@njit(**_INLINE)
def _pass_scale(first, last, width, finite, counts, top, a, big_a, has_rest, top_count, row_ok):
    """Per row: s = 2**A sigma over the non-maximal entries; A first."""
    for r in range(first, last):
        row_a = _INT_MIN_HALF
        rest = 0
        count = 0.0
        all_finite = 1
        for i in range(r * width, (r + 1) * width):
            all_finite &= finite[i]
            count += counts[i] if top[i] else 0.0
            rest |= 1 - top[i]
            row_a = row_a if top[i] else max(row_a, a[i])
        big_a[r] = row_a if rest else 0
        has_rest[r], top_count[r], row_ok[r] = rest, count, all_finite


@njit(**_INLINE)
def _pass_terms(first, last, a, big_a, row_of, mh, ml, counts, top, term_hi, term_lo):
    """Per entry: the terms count * M * 2**(a - A), 0 for the maxima."""
    for i in range(first, last):
        shift = min(max(a[i] - big_a[row_of[i]], -3000), 0)
        th, tl = _mul_d(mh[i], ml[i], counts[i])  # count * M: EPS
        th, tl = _ldexp(th, shift), _ldexp(tl, shift)  # underflow: <= 2**-1073 each
        term_hi[i] = 0.0 if top[i] else th
        term_lo[i] = 0.0 if top[i] else tl


@njit(**_INLINE)
def _pass_sum(first, last, width, clamped, top, term_hi, term_lo, row_clamped, sigma_h, sigma_l, levels, top_count,
              big_a, row_sh, row_sl, row_x0):  # fmt: skip
    """Per row: sigma (the pairwise sum) and the bound of the clamped terms;
    S = top_count + 2**A sigma and log(S) in float64, for the next pass."""
    for r in range(first, last):
        base = r * width
        # The clamped terms, summed with an error far below their 2**-40 margin.
        clamped_h, clamped_l = 0.0, 0.0
        for i in range(base, base + width):
            if clamped[i] and not top[i]:
                clamped_h, e = _two_sum(clamped_h, term_hi[i])
                clamped_l += e
        # A compensated sum of positive terms: relative error below 2**-50,
        # so the margin of 2**-40 still makes it an upper bound.
        row_clamped[r] = (clamped_h + clamped_l) * (1 + 2.0**-40)
        sigma_h[r], sigma_l[r], levels[r] = _pairwise_sum(term_hi, term_lo, base, width)
        count = top_count[r]
        row_sh[r], row_sl[r] = _add(count, 0.0 * count, _ldexp(sigma_h[r], big_a[r]), _ldexp(sigma_l[r], big_a[r]))
        # L0, the float64 start of the branch the next pass keeps (one call
        # per row): log1p(s) for the small branch, log(S) otherwise.
        log2_s = big_a[r] + _frexp_exponent(sigma_h[r])  # s < 2**log2_s
        small = (count == 1) & (log2_s >= -60) & (log2_s <= -8)
        row_x0[r] = math.log1p(_ldexp(sigma_h[r], big_a[r])) if small else math.log(row_sh[r])


@njit(**_INLINE)
def _pass_log(first, last, width, margin, fmt, f64, consts, sigma_h, sigma_l, top_count, has_rest, m, row_x0, row_sh,
              row_sl, levels, row_clamped, big_a, lse, max_err, lsm_top, ok_top, ok, row_ok, row_luh, row_lul,
              row_err_lu, row_positive, row_s_rel, row_redo):  # fmt: skip
    """Per row: L = log S, logsumexp, max_err and the maxima's log_softmax,
    vectorized over the rows; rows with a zero maximum and the rare steps of
    the decisions are left to _pass_redo_rows."""
    others = np.uint8(0)  # a row of the range with the tiny or the small branch
    for r in range(first, last):
        others |= np.uint8((top_count[r] == 1) & (big_a[r] + _frexp_exponent(sigma_h[r]) <= -8))
    if others:
        for r in range(first, last):
            _row_log(r, np.uint8(1), width, margin, fmt, f64, consts, sigma_h, sigma_l, top_count, has_rest, m,
                     row_x0, row_sh, row_sl, levels, row_clamped, big_a, lse, max_err, lsm_top, ok_top, ok,
                     row_ok, row_luh, row_lul, row_err_lu, row_positive, row_s_rel, row_redo)  # fmt: skip
    else:
        for r in range(first, last):
            _row_log(r, np.uint8(0), width, margin, fmt, f64, consts, sigma_h, sigma_l, top_count, has_rest, m,
                     row_x0, row_sh, row_sl, levels, row_clamped, big_a, lse, max_err, lsm_top, ok_top, ok,
                     row_ok, row_luh, row_lul, row_err_lu, row_positive, row_s_rel, row_redo)  # fmt: skip


@njit(**_INLINE)
def _pass_redo_rows(first, last, width, margin, fmt, f64, consts, sigma_h, sigma_l, top_count, has_rest, m, levels,
                    row_clamped, big_a, lse, max_err, lsm_top, ok_top, ok, row_ok, row_luh, row_lul, row_err_lu,
                    row_positive, row_sh, row_sl, row_s_rel, row_redo):  # fmt: skip
    """The rows _pass_log left, as fastref._core does them."""
    for r in range(first, last):
        if not row_redo[r]:
            continue
        lh, ll, l_scale, err_l, big_sh, big_sl, err_s, l_ok = _log_sum(
            sigma_h[r], sigma_l[r], big_a[r], width, levels[r], top_count[r], row_clamped[r], consts
        )
        one_entry = top_count[r] == 1 and not has_rest[r]  # L == 0 exactly
        if one_entry:
            lh, ll, err_l = 0.0, 0.0, 0.0
        # max_approx_error = L in float64
        me, ok_e = _decide_once(lh, ll, l_scale, err_l, f64, 1.0, 0.0, 0.0, 0.0, margin)
        # L unscaled, for max + L and d - L.
        luh, lul = _ldexp(lh, l_scale), _ldexp(ll, l_scale)
        err_lu = 0.0 if one_entry else _ldexp(err_l, l_scale) + UNDERFLOW
        positive = 0.0 if one_entry else 1.0  # the sign of L: 0 or > 0
        mr = m[r]
        if mr == 0:  # a zero maximum: logsumexp = L, decided from L's scaled form
            value, ok_l = _decide_once(lh, ll, l_scale, err_l, fmt, 1.0, 0.0, 0.0, 0.0, margin)
        else:
            value, ok_l = _decide_once(mr, 0.0 * mr, np.int64(0), err_lu, fmt, 0.0, luh, lul, positive, margin)
        # The maxima: log_softmax = -L, decided from L's scaled form.
        lsm_top[r], ok_top[r] = _decide_once(-lh, -ll, l_scale, err_l, fmt, 1.0 if one_entry else -1.0, 0.0, 0.0, 0.0,
                                             margin)  # fmt: skip
        lse[r], max_err[r] = value, me
        ok[r] = row_ok[r] & l_ok & ok_e & ok_l
        row_luh[r], row_lul[r], row_err_lu[r], row_positive[r] = luh, lul, err_lu, positive
        row_sh[r], row_sl[r], row_s_rel[r] = big_sh, big_sl, EXP_REL + err_s / big_sh + 2 * EPS


@njit(**_INLINE)
def _pass_out(first, last, margin, fmt, row_of, lsm_top, ok_top, top, row_sh, row_sl, row_s_rel, dh, dl, row_err_lu,
              row_luh, row_lul, row_positive, mh, ml, a, clamped, softmax, log_softmax, decided, redo):  # fmt: skip
    """Per entry: log_softmax = d - L, softmax = 2**a M / S; the rare entries
    that _decide_fast leaves undone are marked for _pass_redo_entries."""
    for i in range(first, last):
        re = row_of[i]
        # Every load unconditional: a load in one arm of a conditional
        # expression is a branch, and the loop is no longer vectorized.
        top_value, top_ok, is_top, s_hi, s_rel = lsm_top[re], ok_top[re], top[i], row_sh[re], row_s_rel[re]
        lsm, lsm_ok, lsm_redo = _decide_fast(dh[i], dl[i], np.int64(0), row_err_lu[re], fmt, -1.0, -row_luh[re],
                                             -row_lul[re], -row_positive[re], margin, True)  # fmt: skip
        log_softmax[i] = top_value if is_top else lsm
        qh, ql = _div(mh[i], ml[i], s_hi, row_sl[re])
        # Clamped entries: the exact value lies between 0 and the clamped one.
        err_q = abs(qh) * 2 if clamped[i] else abs(qh) * s_rel * 1.01 + UNDERFLOW
        sm, sm_ok, sm_redo = _decide_fast(qh, ql, a[i], err_q, fmt, 1.0, 0.0, 0.0, 0.0, margin, False)
        softmax[i] = sm
        decided[i] = (top_ok if is_top else lsm_ok) & sm_ok
        redo[i] = (0 if is_top else lsm_redo) | sm_redo


@njit(**_INLINE)
def _pass_redo_entries(first, last, margin, fmt, row_of, ok_top, top, row_sh, row_sl, row_s_rel, dh, dl, row_err_lu,
                       row_luh, row_lul, row_positive, mh, ml, a, clamped, softmax, log_softmax, decided,
                       redo):  # fmt: skip
    """The entries _pass_out left, decided by _decide."""
    for i in range(first, last):
        if redo[i]:
            re = row_of[i]
            lsm, lsm_ok = _decide(dh[i], dl[i], np.int64(0), row_err_lu[re], fmt, -1.0, -row_luh[re], -row_lul[re],
                                  -row_positive[re], margin)  # fmt: skip
            if not top[i]:
                log_softmax[i] = lsm
            qh, ql = _div(mh[i], ml[i], row_sh[re], row_sl[re])
            if clamped[i]:
                err_q = abs(qh) * 2
            else:
                err_q = abs(qh) * row_s_rel[re] * 1.01 + UNDERFLOW
            softmax[i], sm_ok = _decide(qh, ql, a[i], err_q, fmt, 1.0, 0.0, 0.0, 0.0, margin)
            decided[i] = (ok_top[re] if top[i] else lsm_ok) & sm_ok


@njit(**_INLINE)
def _pass_verdict(first, last, width, ok, decided):
    """Per row: decided when every entry is."""
    for r in range(first, last):
        verdict = ok[r]
        for i in range(r * width, (r + 1) * width):
            verdict &= decided[i]
        ok[r] = verdict


@njit(**_INLINE)
def _task(short, t, per_group, rows, width, size):
    """Task t's rows r0..r1-1 and entries e0..e1-1: a group of rows (short
    rows), else row t and the t-th BLOCK of entries."""
    r0 = t * per_group if short else t
    r1 = min((t + 1) * per_group, rows) if short else t + 1
    e0 = r0 * width if short else t * BLOCK
    e1 = r1 * width if short else min((t + 1) * BLOCK, size)
    return r0, r1, e0, e1


@njit(parallel=_PRANGE_ONLY, **_JIT)
def core(u, counts, width, consts, p, emin, emax, fmax, has_inf, margin, entry_f, entry_i, entry_b, row_f, row_i,
         row_b):  # fmt: skip
    """fastref._core, compiled, on rows of ``width`` entries stored one after
    the other in ``u`` and ``counts`` (finite float64, 1-D):
    (softmax, lse, log_softmax, max_err, ok), softmax and log_softmax 1-D,
    ok as 1 (decided) or 0 (to the mpmath path).

    The scratch arrays, and those of softmax and log_softmax, come from the
    caller, who keeps them from one call to the next (fresh memory costs a
    page fault per page, a third of the time here): ``entry_f`` 8 float64,
    ``entry_i`` 2 int64 and ``entry_b`` 5 uint8 arrays of u's size,
    ``row_f`` 14 float64, ``row_i`` 2 int64 and ``row_b`` 4 uint8 arrays of
    one entry per row (tuples of 1-D arrays, unpacked below into separate
    arrays: a view taken here would count as an alias and cost the loops
    their vectorization).

    The passes (``_pass_*``): the row maxima; per entry d = u - max and
    exp(d); per row the largest exponent; per entry the scaled terms; per
    row their pairwise sum and the float64 logs; per row L, logsumexp,
    max_err and the maxima's log_softmax (vectorized over the rows, then the
    rows with a zero maximum and the rare steps); per entry log_softmax and
    softmax (vectorized, then the rare steps); per row the verdict.  Rows of
    up to BLOCK entries: groups of rows of about GROUP entries in parallel,
    each group through all the passes on one core.  Longer rows: each pass
    in parallel over the whole call, the per-entry passes over tasks of
    BLOCK entries whatever the rows' length.  Every entry and every row goes
    through the same arithmetic either way.  The per-entry loops have no
    call, no branch that LLVM cannot turn into a select and no bool
    variable, and LLVM vectorizes them.
    """
    size = u.size
    rows = size // width
    fmt = (np.int64(p), np.int64(emin), np.int64(emax), fmax, has_inf, 2.0 ** (p - 1))
    f64 = (np.int64(53), np.int64(-1022), np.int64(1023), np.finfo(np.float64).max, np.bool_(True), 2.0**52)
    dh, dl, mh, ml, term_hi, term_lo, softmax, log_softmax = entry_f
    a, row_of = entry_i
    top, clamped, finite, decided, redo = entry_b
    m, top_count, lsm_top, row_luh, row_lul, row_err_lu, row_positive, row_sh, row_sl, row_s_rel = row_f[:10]
    sigma_h, sigma_l, row_clamped, row_x0 = row_f[10:]
    big_a, levels = row_i
    has_rest, ok_top, row_redo, row_ok = row_b
    ok = np.empty(rows, np.uint8)
    lse = np.empty(rows)
    max_err = np.empty(rows)

    # One parallel loop, each pass written once (a second copy of the
    # passes would double the compilation): rows of up to BLOCK entries in one
    # stage, a task per group of rows going through all ten passes; longer
    # rows in ten stages, one per pass, a task per row or per BLOCK entries.
    # (The passes as a chain of ifs, not a loop over k with elif: the same
    # work, and 20 s of compilation instead of 24.5 s.)
    short = width <= BLOCK
    per_group = max(1, GROUP // width)
    groups = (rows + per_group - 1) // per_group
    tasks = (size + BLOCK - 1) // BLOCK
    for stage in range(1 if short else PASSES):
        count = groups if short else (rows if stage in ROW_PASSES else tasks)
        first_pass = 0 if short else stage
        last_pass = PASSES if short else stage + 1
        for t in prange(count):
            r0, r1, e0, e1 = _task(short, t, per_group, rows, width, size)
            if first_pass <= 0 < last_pass:
                _pass_max(r0, r1, width, u, row_of, m)
            if first_pass <= 1 < last_pass:
                _pass_exp(e0, e1, u, m, row_of, consts, top, finite, dh, dl, clamped, a, mh, ml)
            if first_pass <= 2 < last_pass:
                _pass_scale(r0, r1, width, finite, counts, top, a, big_a, has_rest, top_count, row_ok)
            if first_pass <= 3 < last_pass:
                _pass_terms(e0, e1, a, big_a, row_of, mh, ml, counts, top, term_hi, term_lo)
            if first_pass <= 4 < last_pass:
                _pass_sum(r0, r1, width, clamped, top, term_hi, term_lo, row_clamped, sigma_h, sigma_l, levels,
                          top_count, big_a, row_sh, row_sl, row_x0)  # fmt: skip
            if first_pass <= 5 < last_pass:
                _pass_log(r0, r1, width, margin, fmt, f64, consts, sigma_h, sigma_l, top_count, has_rest, m,
                          row_x0, row_sh, row_sl, levels, row_clamped, big_a, lse, max_err, lsm_top, ok_top, ok,
                          row_ok, row_luh, row_lul, row_err_lu, row_positive, row_s_rel, row_redo)  # fmt: skip
            if first_pass <= 6 < last_pass:
                _pass_redo_rows(r0, r1, width, margin, fmt, f64, consts, sigma_h, sigma_l, top_count, has_rest, m,
                                levels, row_clamped, big_a, lse, max_err, lsm_top, ok_top, ok, row_ok, row_luh,
                                row_lul, row_err_lu, row_positive, row_sh, row_sl, row_s_rel, row_redo)  # fmt: skip
            if first_pass <= 7 < last_pass:
                _pass_out(e0, e1, margin, fmt, row_of, lsm_top, ok_top, top, row_sh, row_sl, row_s_rel, dh, dl,
                          row_err_lu, row_luh, row_lul, row_positive, mh, ml, a, clamped, softmax, log_softmax,
                          decided, redo)  # fmt: skip
            if first_pass <= 8 < last_pass:
                _pass_redo_entries(e0, e1, margin, fmt, row_of, ok_top, top, row_sh, row_sl, row_s_rel, dh, dl,
                                   row_err_lu, row_luh, row_lul, row_positive, mh, ml, a, clamped, softmax,
                                   log_softmax, decided, redo)  # fmt: skip
            if first_pass <= 9 < last_pass:
                _pass_verdict(r0, r1, width, ok, decided)
    return softmax, lse, log_softmax, max_err, ok


stamp_cache(globals())
