"""A fast ground truth: the results of :mod:`analysis.reference`, bit for bit.

``truths(z)`` returns exactly what ``reference.truths(z)`` returns (the
correctly rounded softmax, logsumexp and log-softmax), but decides most rows
with vectorised double-double arithmetic instead of mpmath, and proves every
result it keeps.  Rows it cannot decide go to ``reference._row`` (mpmath,
Ziv's loop), so the result never depends on this module being clever.

How a row is decided (all in numpy, many rows at once):

1. Equal entries are evaluated once: a row is a list of distinct-ish values
   ``u_j`` with counts ``c_j`` (the ``two_level`` family has two).
2. ``d_j = u_j - max u`` exactly, as a double-double (TwoSum, Knuth).
3. ``exp(d_j) = 2**a_j * M_j``: ``k = rint(64 d / ln 2)``, ``k = 64 a + i``,
   ``r = d - k ln2/64`` with ``ln2/64`` split in three 30-bit parts and a
   53-bit tail (``k c`` exact for ``|k| < 2**23``, so ``|d| <= 2**16``;
   smaller ``d`` are clamped to ``-2**16``, see below), a double-double table
   of ``2**(i/64)`` made once with mpmath, and the Taylor polynomial of degree
   10 on ``|r| <= 0.00542`` in double-double Horner form.
4. ``s = sum over the non-maximal entries of c_j exp(d_j) = 2**A sigma``
   (pairwise double-double sum), ``S = (count of the maximum) + s`` and
   ``L = log S``: for one maximal entry and ``s < 2**-60`` by
   ``log1p(s) = s(1 - s/2) + O(s**3)``; for ``s <= 2**-8`` by one Newton
   step on ``expm1`` (relative accuracy for tiny L); otherwise by one Newton
   step ``L = L0 + log1p(S exp(-L0) - 1)`` from ``L0 = log(S)`` in float64.
5. softmax_j = ``2**a_j M_j / S``, log_softmax_j = ``d_j - L``,
   logsumexp = ``max + L``, ``max_approx_error = L``.

Error bound (absolute, for every output).  Double-double operations
(Joldes, Muller, Popescu, "Tight and rigorous error bounds for basic building
blocks of double-word arithmetic", ACM TOMS 44(2), 2017: AccurateDWPlusDW
``3u**2``, DWTimesDW ``7u**2``, DWTimesFP ``2u**2``, and the division below
``<= 4u**2``, with ``u = 2**-53``) each have a relative error below
``EPS = 2**-100`` when nothing underflows; TwoSum, FastTwoSum (``|a| >= |b|``)
and Dekker's TwoProduct with Veltkamp splitting are exact (Handbook of
Floating-Point Arithmetic, 2nd ed., §4.3, §4.4).  The exponential: Taylor
remainder ``r**11/11! e**|r| < 2**-107``; table entries ``< 2**-105``
relative; reduction error ``|k| |ln2/64 - c1 - c2 - c3 - c4| + 3 EPS
0.02 < 2**-103`` absolute; Horner ``<= 2 EPS (1 + 1%)`` per step, 10 steps
without cancellation, and the final product: in all ``exp`` is within
``EXP_REL = 2**-96`` relative (a factor > 4 above the sum of these terms).
The sum of ``K`` positive terms by ``ceil(log2 K)`` pairwise levels adds
``ceil(log2 K) EPS`` relative, each ``ldexp`` that underflows at most
``2**-1073`` absolute.  Every step below propagates a bound this way (the
code states each), every bound of a value formed unscaled gets a further
``UNDERFLOW = 2**-1064`` absolute for underflow (each underflowing operation
errs by at most ``2**-1074``), and the decision multiplies the total by
``MARGIN = 4``.  The last addition of ``max + L`` and ``d - L`` is made in
the decision itself with an a-posteriori bound (only two of the roundings
in AccurateDWPlusDW err, each by at most ``2**-53`` of its own result), so
a tiny ``L`` next to a ``d`` on a boundary keeps its weight.

Clamping.  For ``d < -2**16``, ``exp(d) < 2**-94000`` is replaced by
``exp(-2**16)``: the true softmax is then in ``(0, 2**-94000)`` and the
computed one is too, both round to +0 in every format; the clamped terms are
counted in full in the error of ``s`` (100 % relative), so L's bound holds.

The decision (``_decide``).  A value ``v`` with bound ``e`` is expressed in
units of the quantum ``2**q`` of the binade of its high part (the subnormal
quantum below the normal range): ``t = v 2**-q``; the candidate is
``N = rint(t)``, i.e. ``c = N 2**q``.  It is accepted only if
``[t - e', t + e']`` lies strictly inside ``(N - h_low, N + 1/2)`` with
``h_low = 1/4`` when ``c`` is a normal power of two (the next value below is
half as far) and 1/2 otherwise.  Rounding is monotonic, so every value of the
interval, the exact one included, rounds to ``c``; strictness excludes the
midpoints, so ties never arise.  For ``max + L`` and ``d - L`` (``max``
and ``d`` exact, ``L > 0`` unless the row is one entry) the exact value also
lies strictly on ``L``'s side of ``max`` or ``d``; when ``L`` is too small
to resolve (``e**-300000``) that one-sided bound decides a ``d`` lying
exactly on a midpoint, as ``reference._plus_small`` does.  A candidate beyond the format's largest
value is accepted only as ±inf when the whole interval is at or above
``2**(emax+1)``.  Zero gets the sign the exact value has: known from the
structure (softmax > 0, log-softmax < 0 unless the row is one entry,
logsumexp of a row whose maximum is 0 is >= 0) or proved from the interval.

Rows with NaN or ±inf entries, overflowing differences (float64 rows wider
than the float64 range) and undecided values go to ``reference._row``.

Two implementations of ``_core`` (steps 2-5 and the decision): the numpy
one below, on whole arrays (its double-double arithmetic, ``exp`` and
``_decide`` in :mod:`analysis.fastref_dd`, re-exported here), and the
compiled kernel :mod:`analysis.fastref_kernel` (Numba; its arithmetic in
:mod:`analysis.kernel_dd`, its decision in :mod:`analysis.kernel_decide`),
entry by entry, with the same
operations in the same order and the same bounds, so the same values and the
same verdicts (the tests compare both, and the kernel's TwoProduct, TwoSum
and exp against these).  ``COMPILED`` chooses: the kernel when Numba is
installed, unless ``SOFTMAX_STUDY_FASTREF=numpy``.  On the compiled path
equal general rows are not merged (sorting long rows costs more than the
kernel saves); the two_level rows still are.
"""

from __future__ import annotations

import importlib.util
import os
import threading
from functools import lru_cache

import mpmath
import numpy as np

from . import reference
from .fastref_dd import (  # noqa: F401 (re-exported: crmath and the tests use them from here)
    CLAMP,
    EPS,
    EXP_REL,
    MARGIN,
    TAYLOR_DEGREE,
    UNDERFLOW,
    _add,
    _add_err,
    _constants,
    _decide,
    _div,
    _exp_dd,
    _expm1_small,
    _fast_two_sum,
    _mul,
    _mul_d,
    _pairwise_sum,
    _split,
    _two_prod,
    _two_sum,
)
from .formats import FORMATS, check_size, check_study_array

# Which path decides the rows: the compiled kernel (analysis.fastref_kernel,
# imported on first use) when Numba is installed, unless
# SOFTMAX_STUDY_FASTREF=numpy; the tests switch it to compare the two paths.
COMPILED = os.environ.get("SOFTMAX_STUDY_FASTREF", "") != "numpy" and importlib.util.find_spec("numba") is not None
# One call of the kernel at a time per process: it already uses every core,
# and Numba's workqueue threading layer must not be entered from two threads.
_KERNEL_LOCK = threading.Lock()

_STATS = {"elements": 0, "rows": 0, "fallback_rows": 0, "fallback_elements": 0}


def stats() -> dict:
    """Counts since the last reset_stats(): elements and rows seen, and how
    many rows (and their elements) went to the mpmath path."""
    return dict(_STATS)


def reset_stats() -> None:
    for key in _STATS:
        _STATS[key] = 0


# --- rows of (value, count) pairs ------------------------------------------


def _core(u, counts, fmt):
    """Decide (softmax, lse, log_softmax, lse - max) for rows of finite
    float64 values u (R x K) with counts (R x K, positive integers).

    Returns softmax (R x K), lse (R), log_softmax (R x K), max_err (R) as
    float64, and ok (R): False where some value was not decided.
    """
    f64 = FORMATS["float64"]
    rows, width = u.shape
    m = u.max(axis=1)
    dh, dl = _two_sum(u, -m[:, None])  # exact
    top = (dh == 0) & (dl == 0)
    ok = np.isfinite(dh).all(axis=1)
    dh = np.where(np.isfinite(dh), dh, 0.0)
    dl = np.where(np.isfinite(dl), dl, 0.0)
    clamped = dh < CLAMP
    a, mh, ml = _exp_dd(np.where(clamped, CLAMP, dh), np.where(clamped, 0.0, dl))
    # s = 2**A sigma over the non-maximal entries.
    a_rest = np.where(top, np.iinfo(np.int64).min // 2, a)
    big_a = a_rest.max(axis=1)
    has_rest = ~top.all(axis=1)
    big_a = np.where(has_rest, big_a, 0)
    shift = np.clip(a - big_a[:, None], -3000, 0)
    th, tl = _mul_d(mh, ml, counts)  # count * M: EPS
    th, tl = np.ldexp(th, shift), np.ldexp(tl, shift)  # underflow: <= 2**-1073 each
    th, tl = np.where(top, 0.0, th), np.where(top, 0.0, tl)
    sh, sl, levels = _pairwise_sum(th, tl)
    clamped_part = np.where(clamped & ~top, th, 0.0).sum(axis=1) * (1 + 2.0**-40)
    err_sigma = sh * (EXP_REL + (levels + 1) * EPS) * 1.01 + width * 2.0**-1072 + clamped_part
    top_count = np.where(top, counts, 0.0).sum(axis=1)

    # S = top_count + 2**A sigma
    s_h, s_l = np.ldexp(sh, big_a), np.ldexp(sl, big_a)
    big_sh, big_sl = _add(top_count, 0.0 * top_count, s_h, s_l)
    err_s = np.ldexp(err_sigma, big_a) + (big_sh * EPS + 2.0**-1070)

    # L = log S, as 2**LA (Lh + Ll) within 2**LA err_l.
    _, sig_exp = np.frexp(sh)
    log2_s = big_a + sig_exp.astype(np.int64)  # s < 2**log2_s
    single = top_count == 1
    tiny = single & (log2_s < -60)
    small = single & ~tiny & (log2_s <= -8)
    general = ~tiny & ~small
    l_scale = np.where(tiny, big_a, 0)

    lh, ll, err_l = np.zeros(rows), np.zeros(rows), np.zeros(rows)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        # tiny: L = sigma (1 - s/2), |log1p(s) - s(1 - s/2)| <= s**3/3 < 2**-120 s,
        # and s/2 from float64 s: <= 2**-53 s**2.
        if tiny.any():
            half_s = np.ldexp(sh, big_a) / 2
            th_, tl_ = _mul(sh, sl, 1.0 - 0.0 * half_s, -half_s)
            lh = np.where(tiny, th_, lh)
            ll = np.where(tiny, tl_, ll)
            err_l = np.where(tiny, err_sigma + abs(th_) * 2.0**-99, err_l)

        # small: L0 = log1p(s) in float64, L = L0 + w - w**2/2 with
        # w = (s - expm1(L0)) / (1 + expm1(L0)), |w| <= 2**-40 checked.
        small_ok = True
        if small.any():
            x0 = np.where(small, np.log1p(np.where(small, s_h, 0.0)), 0.0)
            eh, el = _expm1_small(x0)
            nh, nl = _add(s_h, s_l, -eh, -el)
            dh1, dl1 = _add(1.0 + 0.0 * eh, 0.0 * eh, eh, el)
            wh, wl = _div(nh, nl, dh1, dl1)
            ch, cl = _mul(wh, wl, 1.0 - wh / 2, 0.0 * wh)
            rh_, rl_ = _add(x0, 0.0 * x0, ch, cl)
            err_small = (
                (np.ldexp(err_sigma, big_a) + 2.0**-96 * abs(eh) + EPS * abs(nh)) * 1.01
                + abs(wh) ** 3
                + abs(wh) * 2.0**-52  # w (1 - wh/2): 1 - wh/2 rounded (2**-53), and wl's share
                + abs(rh_) * 2 * EPS
            )
            small_ok = abs(wh) <= 2.0**-40
            lh = np.where(small, rh_, lh)
            ll = np.where(small, rl_, ll)
            err_l = np.where(small, err_small, err_l)

        # general: L0 = log(S), w = S exp(-L0) - 1, L = L0 + w - w**2/2.
        x0 = np.where(general, np.log(big_sh), 0.0)
        ea, emh, eml = _exp_dd(-x0, 0.0 * x0)
        emh, eml = np.ldexp(emh, ea), np.ldexp(eml, ea)
        ph, pl = _mul(big_sh, big_sl, emh, eml)
        wh, wl = _add(ph, pl, -1.0 + 0.0 * ph, 0.0 * ph)
        ch, cl = _mul(wh, wl, 1.0 - wh / 2, 0.0 * wh)
        rh_, rl_ = _add(x0, 0.0 * x0, ch, cl)
        # |wh| 2**-52: the factor 1 - wh/2 is rounded (2**-53) and wl is dropped from it.
        err_general = (
            (err_s / big_sh + EXP_REL + 3 * EPS) * abs(ph) * 1.01 + abs(wh) ** 3 + abs(wh) * 2.0**-52
            + abs(rh_) * 2 * EPS
        )  # fmt: skip
        general_ok = abs(wh) <= 2.0**-40
        lh = np.where(general, rh_, lh)
        ll = np.where(general, rl_, ll)
        err_l = np.where(general, err_general, err_l)
    ok &= np.where(small, small_ok, True) & np.where(general, general_ok, True)
    # Underflow slack where L was computed unscaled (the tiny branch works on
    # sigma, of moderate size, and needs none).
    err_l = np.where(tiny, err_l, err_l + UNDERFLOW)
    one_entry = (top_count == 1) & ~has_rest  # L == 0 exactly
    lh, ll, err_l = (np.where(one_entry, 0.0, v) for v in (lh, ll, err_l))
    # max_approx_error = L in float64
    max_err, ok_e = _decide(lh, ll, l_scale, err_l, f64, 1.0)
    ok &= ok_e

    # L unscaled, for max + L and d - L.
    luh, lul = np.ldexp(lh, l_scale), np.ldexp(ll, l_scale)
    err_lu = np.where(one_entry, 0.0, np.ldexp(err_l, l_scale) + UNDERFLOW)

    # logsumexp = m + L
    positive = np.where(one_entry, 0.0, 1.0)  # the sign of L: 0 or > 0
    lse, ok_l = _decide(m, 0.0 * m, 0, err_lu, fmt, np.where(m == 0, 1.0, 0.0), luh, lul, positive)
    # A zero maximum: logsumexp = L, decided from L's scaled form.
    ok &= ok_l | (m == 0)
    if (m == 0).any():
        lse_zero, ok_z = _decide(lh, ll, l_scale, err_l, fmt, 1.0)
        lse = np.where(m == 0, lse_zero, lse)
        ok &= ok_z | (m != 0)

    # log_softmax = d - L
    lsm_sign = np.where(top & one_entry[:, None], 1.0, -1.0)
    lsm, ok_m = _decide(dh, dl, 0, err_lu[:, None], fmt, lsm_sign, -luh[:, None], -lul[:, None], -positive[:, None])
    # The maxima: log_softmax = -L, decided from L's scaled form.
    lsm_top, ok_t = _decide(-lh, -ll, l_scale, err_l, fmt, np.where(one_entry, 1.0, -1.0))
    lsm = np.where(top, lsm_top[:, None], lsm)
    ok &= np.where(top, ok_t[:, None], ok_m).all(axis=1)

    # softmax = 2**a M / S
    qh, ql = _div(mh, ml, big_sh[:, None], big_sl[:, None])
    err_q = abs(qh) * (EXP_REL + err_s[:, None] / big_sh[:, None] + 2 * EPS) * 1.01 + UNDERFLOW
    # Clamped entries: the exact value lies between 0 and the clamped one.
    err_q = np.where(clamped, abs(qh) * 2, err_q)
    sm, ok_s = _decide(qh, ql, a, err_q, fmt, 1.0)
    ok &= ok_s.all(axis=1)
    return sm, lse, lsm, max_err, ok


@lru_cache(maxsize=1)
def _kernel():
    """The compiled kernel module and _constants() in its flat layout."""
    from . import fastref_kernel as kernel

    k_ = _constants()
    consts = np.zeros(kernel.CONSTS_SIZE)
    consts[kernel.C_PARTS : kernel.C_PARTS + 4] = k_["c"]
    consts[kernel.INV_C] = k_["inv_c"]
    consts[kernel.TABLE_HI : kernel.TABLE_HI + 64] = k_["table"][0]
    consts[kernel.TABLE_LO : kernel.TABLE_LO + 64] = k_["table"][1]
    hi, lo = zip(*k_["coef"])
    consts[kernel.COEF_HI : kernel.COEF_HI + len(hi)] = hi
    consts[kernel.COEF_LO : kernel.COEF_LO + len(lo)] = lo
    consts.setflags(write=False)
    return kernel, consts


class _Scratch(threading.local):
    """The compiled path's arrays, kept from one call to the next in each
    thread (fresh memory costs a page fault per page: a third of the
    kernel's time on this project's machine), grown as needed, not kept past
    LIMIT entries: the float64 copy of the input, the counts of general
    rows (ones) and the kernel's scratch, which are therefore valid only
    until the thread's next call.  The kernel's softmax and log_softmax are
    fresh arrays, the caller's to keep (no copy of them on the way out)."""

    LIMIT = 2**22  # entries (about 360 MB: 85 bytes an entry)
    SHAPES = ((8, np.float64), (2, np.int64), (5, np.uint8))  # per entry: x, ones, then the kernel's
    ROW_SHAPES = ((14, np.float64), (2, np.int64), (4, np.uint8))  # per row

    def __init__(self):
        self.entries = self.rows = None

    def _get(self, name, shapes, size):
        kept = getattr(self, name)
        if kept is not None and kept[0].shape[1] >= size:
            return kept
        arrays = tuple(np.empty((count, size), dtype) for count, dtype in shapes)
        arrays[0][1].fill(1.0)  # the ones (harmless in the per-row block)
        if size <= self.LIMIT:
            setattr(self, name, arrays)
        return arrays

    def input(self, flat):
        """flat as float64, in the kept array."""
        x = self._get("entries", self.SHAPES, flat.size)[0][0, : flat.size].reshape(flat.shape)
        np.copyto(x, flat, casting="unsafe")
        return x

    def ones(self, size):
        return self._get("entries", self.SHAPES, size)[0][1, :size]

    def kernel(self, size: int, rows: int):
        """(entry_f, entry_i, entry_b, row_f, row_i, row_b): tuples of 1-D
        arrays of the sizes the kernel needs, entry_f's last two (its
        softmax and log_softmax) fresh."""
        entries = self._get("entries", self.SHAPES, size)
        per_row = self._get("rows", self.ROW_SHAPES, rows)
        f, i, b = entries
        outputs = (np.empty(size), np.empty(size))
        return (tuple(f[k, :size] for k in range(2, 8)) + outputs, tuple(i[k, :size] for k in range(2)),
                tuple(b[k, :size] for k in range(5)), *(tuple(block[k, :rows] for k in range(block.shape[0]))
                                                        for block in per_row))  # fmt: skip


_SCRATCH = _Scratch()


def _core_compiled(u, counts, fmt):
    """_core by the compiled kernel (analysis.fastref_kernel): the same
    arithmetic entry by entry, so the same values and the same ``ok``."""
    kernel, consts = _kernel()
    rows, width = u.shape
    u = np.ascontiguousarray(u, dtype=np.float64).reshape(-1)
    counts = np.ascontiguousarray(np.broadcast_to(counts, (rows, width)), dtype=np.float64).reshape(-1)
    with _KERNEL_LOCK:
        sm, lse, lsm, max_err, ok = kernel.core(
            u, counts, width, consts, fmt.precision, fmt.emin, fmt.emax, fmt.max, fmt.has_inf, float(MARGIN),
            *_SCRATCH.kernel(u.size, rows),
        )  # fmt: skip
    return sm.reshape(rows, width), lse, lsm.reshape(rows, width), max_err, ok.astype(bool)


# --- whole arrays -----------------------------------------------------------


def _compress(x):
    """Rows as (values, counts, index): index maps each entry to its value.

    Rows of the form (c, v, v, ..., v) -- the two_level family -- become two
    values; other rows keep every entry (counts and index None)."""
    rows, n = x.shape
    # (The third column first: general rows fail there without a full pass.)
    if n > 2 and (x[:, 2] == x[:, 1]).all() and (x[:, 2:] == x[:, 1:2]).all():
        u = x[:, :2]
        counts = np.broadcast_to(np.array([1.0, n - 1.0]), (rows, 2))
        index = np.concatenate([[0], np.ones(n - 1, dtype=np.int64)])
        return u, counts, index
    return x, None, None  # counts of one


def _compute(flat, dtype_name):
    """float64 (softmax, lse, log_softmax, max_err) for a 2-D array of rows."""
    fmt = FORMATS[dtype_name]
    rows, n = flat.shape
    if not COMPILED:
        x = flat.astype(np.float64)
    else:  # float64 rows as they are (the kernel only reads them), others converted into kept memory
        x = flat if flat.dtype == np.float64 else _SCRATCH.input(flat)
    softmax = np.empty((rows, n))
    log_softmax = np.empty((rows, n))
    lse = np.empty(rows)
    max_err = np.empty(rows)
    # The kernel rejects a row with a NaN or an inf itself (its differences
    # are not finite): no pass over the input for it here.
    finite = np.ones(rows, dtype=bool) if COMPILED else np.isfinite(x).all(axis=1)
    done = np.zeros(rows, dtype=bool)
    if finite.any():
        xf = x if finite.all() else x[finite]
        u, counts, index = _compress(xf)
        # Equal rows once (for the two_level rows, and on the numpy path;
        # sorting long general rows costs more than the kernel saves).
        if index is not None or not COMPILED:
            uniq, inverse = np.unique(u, axis=0, return_inverse=True)
            inverse = inverse.reshape(-1)
        else:
            uniq, inverse = u, None
        with np.errstate(all="ignore"):  # overflow and NaN are caught by the decision
            core = _core_compiled if COMPILED else _core
            if index is not None:
                counts = counts[: len(uniq)]
            elif COMPILED:
                counts = _SCRATCH.ones(uniq.size).reshape(uniq.shape)
            else:
                counts = np.ones_like(uniq)
            sm, ls, lsm, me, ok = core(uniq, counts, fmt)
        if inverse is not None:
            sm, ls, lsm, me, ok = sm[inverse], ls[inverse], lsm[inverse], me[inverse], ok[inverse]
        where = slice(None) if finite.all() else np.flatnonzero(finite)
        lse[where], max_err[where], done[where] = ls, me, ok
        if index is None and finite.all():  # the kernel's arrays are the result
            softmax, log_softmax = sm, lsm
        elif index is None:
            softmax[where], log_softmax[where] = sm, lsm
        elif finite.all():  # (c, v, ..., v): fill the columns by broadcasting
            softmax[:, 0], log_softmax[:, 0] = sm[:, 0], lsm[:, 0]
            softmax[:, 1:], log_softmax[:, 1:] = sm[:, 1:2], lsm[:, 1:2]
        else:
            softmax[where], log_softmax[where] = sm[:, index], lsm[:, index]
    fallback = np.flatnonzero(~done)
    for i in fallback:
        sm_, ls_, lsm_, me_ = reference._row(flat[i].tobytes(), dtype_name)
        softmax[i], lse[i], log_softmax[i], max_err[i] = sm_, ls_, lsm_, me_
    _STATS["elements"] += rows * n
    _STATS["rows"] += rows
    _STATS["fallback_rows"] += len(fallback)
    _STATS["fallback_elements"] += len(fallback) * n
    return softmax, lse, log_softmax, max_err


# Size guards (formats.check_size): the longest row anywhere in the project
# is the benchmark's 2**18 (bench_truth.LONG_ROW; ~180 MB, 2.3 s), the
# largest call the sweep's n = 1000 chunk of 5,727 vectors (~600 MB).
MAX_ROW = 2**18
MAX_ENTRIES = 2**24


def _all(z, axis):
    z = check_study_array(z, axis)
    check_size(z, axis, MAX_ROW, MAX_ENTRIES, "analysis.fastref")
    moved = np.moveaxis(z, axis, -1)
    flat = np.ascontiguousarray(moved).reshape(-1, moved.shape[-1])
    return z, moved.shape, _compute(flat, z.dtype.name)


def truths(z, axis: int = -1):
    """(softmax, logsumexp, log_softmax) of ``z``: bit-identical to
    ``reference.truths(z, axis)``, proved as described in the module
    docstring."""
    z, shape, (sm, lse, lsm, _) = _all(z, axis)
    return (
        reference._assemble(sm.reshape(-1), shape, z.dtype, axis),
        reference._assemble(lse, shape, z.dtype),
        reference._assemble(lsm.reshape(-1), shape, z.dtype, axis),
    )


def max_approx_error(z, axis: int = -1):
    """logsumexp(z) - max(z) correctly rounded to float64, as
    ``reference.max_approx_error``."""
    z, shape, (_, _, _, me) = _all(z, axis)
    return reference._assemble(me, shape, np.float64)


# --- the baseline of the benchmark ------------------------------------------


def straightforward_truths(z, prec: int = 256):
    """The straightforward mpmath loop the benchmark compares against: one
    mpf exp per element at a fixed ``prec`` bits, fsum, divide, log, each
    result rounded to the format once (``reference._round_raw``, the
    primitive of ``round_mpf``).  Not proved (a fixed precision cannot
    decide a value near a midpoint) and without special-value handling:
    finite rows only, 2-D input, rows along the last axis."""
    z = np.asarray(z)
    fmt = FORMATS[z.dtype.name]
    sm_out = np.empty(z.shape)
    lsm_out = np.empty(z.shape)
    lse_out = np.empty(z.shape[0])
    with mpmath.workprec(prec):
        for i, row in enumerate(z.astype(np.float64).tolist()):
            values = [mpmath.mpf(v) for v in row]
            m = max(values)
            exps = [mpmath.exp(v - m) for v in values]
            total = mpmath.fsum(exps)
            log_total = mpmath.log(total)
            lse_out[i] = reference._round_raw((m + log_total)._mpf_, fmt)
            sm_out[i] = [reference._round_raw((e / total)._mpf_, fmt) for e in exps]
            lsm_out[i] = [reference._round_raw((v - m - log_total)._mpf_, fmt) for v in values]
    return sm_out.astype(z.dtype), lse_out.astype(z.dtype), lsm_out.astype(z.dtype)
