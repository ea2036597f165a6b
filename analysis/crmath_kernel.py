"""The compiled double-double evaluations of :mod:`analysis.crmath` for
float64 arguments: ``exp``, ``log``, ``log1p``, ``expm1`` and ``log2``,
each value formed as in crmath's numpy path (``_exp_parts``,
``_log_parts``, ``_log1p_parts``, ``_expm1_parts``, ``_log2_parts``: the
same operations in the same order, the same error bounds, stated there) and
rounded by the kernels' decision (:func:`analysis.kernel_decide._decide`,
fastref's ``_decide`` value by value).  What it cannot decide comes back
with ``ok = 0``, and crmath sends it to Ziv's loop, as on the numpy path.

The float64 seeds of the Newton steps (numpy's ``log`` and ``log1p`` on
the numpy path) are computed by crmath with the same numpy functions and
passed in: ``seed_small`` = log1p(s) for the small branch of log1p,
``seed_log`` = log(1 + s) for its general branch, or log(x) for log's far
branch.  Parallel over blocks of the arguments (``prange``), cached on
disk like the other kernels (:func:`analysis.kernel_dd.stamp_cache`).
"""

from __future__ import annotations

from numba import njit, prange

from .fastref_kernel import _PRANGE_ONLY, BLOCK
from .kernel_dd import (
    _INLINE,
    _JIT,
    EPS,
    EXP_REL,
    UNDERFLOW,
    _add,
    _div,
    _exp_dd,
    _expm1_small,
    _fast_two_sum,
    _frexp_exponent,
    _ldexp,
    _mul,
    _sign,
    _two_sum,
    stamp_cache,
)
from .kernel_decide import _decide, _decide_fast

# crmath's codes of the functions and its largest Newton correction (a test
# checks that they are crmath's).
CODES = {"exp": 0, "log": 1, "log1p": 2, "expm1": 3, "log2": 4}
NEWTON_MAX = 2.0**-40


@njit(**_INLINE)
def _log_dd(sh, sl, seed, consts):
    """crmath._log_dd for one S = sh + sl > 0: (h, low, err, ok)."""
    ex = _frexp_exponent(sh)
    mx = _ldexp(sh, -ex)  # frexp's mantissa: exact
    a, mh, ml = _exp_dd(-seed, 0.0, consts)
    ph, pl = _mul(mh, ml, mx, _ldexp(sl, -ex))
    ph, pl = _ldexp(ph, a + ex), _ldexp(pl, a + ex)  # p ~ 1: exact
    wh, wl = _add(ph, pl, -1.0, 0.0)
    ch, cl = _mul(wh, wl, 1.0, -wh / 2)
    rh, rl = _add(seed, 0.0, ch, cl)
    err = (EXP_REL + 3 * EPS) * abs(ph) * 1.01 + abs(wh) ** 3.0 + wh * wh * 2.0**-52 + abs(rh) * 2 * EPS + UNDERFLOW
    return rh, rl, err, abs(wh) <= NEWTON_MAX


@njit(**_INLINE)
def _log1p_parts(t, seed_small, seed_log, consts):
    """crmath._log1p_parts for one finite t > -1, t != 0: (h, low, err, ok) at scale 0."""
    if abs(t) < 2.0**-60:
        sq = t * t
        h, low = _fast_two_sum(t, -sq / 2)
        return h, low, abs(t) ** 3.0 + sq * 2.0**-53 + UNDERFLOW, True
    if abs(t) <= 2.0**-9:
        x0 = seed_small
        eh, el = _expm1_small(x0, consts)
        nh, nl = _add(t, 0.0, -eh, -el)
        dh, dl = _add(1.0, 0.0, eh, el)
        wh, wl = _div(nh, nl, dh, dl)
        ch, cl = _mul(wh, wl, 1.0, -wh / 2)
        rh, rl = _add(x0, 0.0, ch, cl)
        err = (
            (2.0**-96 * abs(eh) + 4 * EPS * abs(nh)) * 1.01
            + abs(wh) ** 3.0
            + wh * wh * 2.0**-52
            + abs(rh) * 2 * EPS
            + UNDERFLOW
        )
        return rh, rl, err, (abs(wh) <= NEWTON_MAX) & (abs(x0) <= 2.0**-8)
    sh, sl = _two_sum(1.0, t)
    return _log_dd(sh, sl, seed_log, consts)


@njit(**_INLINE)
def _log_parts(x, seed_small, seed_log, consts):
    """crmath._log_parts for one finite x > 0, x != 1: log1p(x - 1) on [1/2, 2], else _log_dd."""
    if (x >= 0.5) & (x <= 2.0):
        return _log1p_parts(x - 1.0, seed_small, seed_log, consts)
    return _log_dd(x, 0.0, seed_log, consts)


@njit(**_INLINE)
def _parts(code, x, seed_small, seed_log, consts, inv_ln2_h, inv_ln2_l):
    """(scale, h, low, err, ok) of crmath's _PARTS[name] for one argument."""
    scale = 0
    if code == 0:  # exp
        scale, h, low = _exp_dd(x, 0.0, consts)
        return scale, h, low, abs(h) * EXP_REL * 1.01, True
    if code == 2:  # log1p
        h, low, err, ok = _log1p_parts(x, seed_small, seed_log, consts)
        return scale, h, low, err, ok
    if code == 3:  # expm1
        if abs(x) <= 2.0**-8:
            h, low = _expm1_small(x, consts)
            return scale, h, low, abs(h) * 2.0**-96 + UNDERFLOW, True
        a, mh, ml = _exp_dd(x, 0.0, consts)
        up = x > 0
        one = _ldexp(1.0, -a if up else 0)
        vh = mh if up else _ldexp(mh, a)
        vl = ml if up else _ldexp(ml, a)
        h, low = _add(vh, vl, -one, 0.0)
        err = (abs(vh) * EXP_REL + abs(h) * EPS) * 1.01 + (0.0 if up else 2 * UNDERFLOW)
        return a if up else scale, h, low, err, True
    h, low, err, ok = _log_parts(x, seed_small, seed_log, consts)
    if code == 4:  # log2 = log / ln 2
        h, low = _mul(h, low, inv_ln2_h, inv_ln2_l)
        err = (err * 1.4427 + abs(h) * 2 * EPS) * 1.01
    return scale, h, low, err, ok


@njit(**_INLINE)
def _block(code, start, stop, x, seed_small, seed_log, consts, inv_ln2, fmt, margin, out, ok, redo):
    """The arguments start..stop-1 by _decide_fast (inlined with a constant
    ``code``, the loop has no branch on the function left)."""
    for i in range(start, stop):
        scale, h, low, err, good = _parts(code, x[i], seed_small[i], seed_log[i], consts, inv_ln2[0], inv_ln2[1])
        # The results here are nonzero: the sign of h is theirs.
        value, decided, again = _decide_fast(h, low, scale, err, fmt, _sign(h), 0.0, 0.0, 0.0, margin, True)
        out[i] = value
        ok[i] = decided & good
        redo[i] = again


@njit(parallel=_PRANGE_ONLY, **_JIT)
def evaluate(code, x, seed_small, seed_log, consts, inv_ln2, p, emin, emax, fmax, has_inf, margin, out, ok, redo):
    """crmath.evaluate's double-double path for the arguments ``x`` (finite,
    in the function's regular domain, float64, 1-D): the rounded values
    into ``out``, 1 or 0 (to Ziv's loop) into ``ok``; ``redo`` is scratch.
    The decision is _decide_once's, in two passes: _decide_fast on every
    argument, then _decide where it asked for it (the same results)."""
    fmt = (p, emin, emax, fmax, has_inf, 2.0 ** (p - 1))
    size = x.size
    tasks = (size + BLOCK - 1) // BLOCK
    for t in prange(tasks):
        start, stop = t * BLOCK, min((t + 1) * BLOCK, size)
        if code == 0:
            _block(0, start, stop, x, seed_small, seed_log, consts, inv_ln2, fmt, margin, out, ok, redo)
        elif code == 1:
            _block(1, start, stop, x, seed_small, seed_log, consts, inv_ln2, fmt, margin, out, ok, redo)
        elif code == 2:
            _block(2, start, stop, x, seed_small, seed_log, consts, inv_ln2, fmt, margin, out, ok, redo)
        elif code == 3:
            _block(3, start, stop, x, seed_small, seed_log, consts, inv_ln2, fmt, margin, out, ok, redo)
        else:
            _block(4, start, stop, x, seed_small, seed_log, consts, inv_ln2, fmt, margin, out, ok, redo)
    for t in prange(tasks):
        for i in range(t * BLOCK, min((t + 1) * BLOCK, size)):
            if redo[i]:
                scale, h, low, err, good = _parts(code, x[i], seed_small[i], seed_log[i], consts, inv_ln2[0],
                                                  inv_ln2[1])  # fmt: skip
                value, decided = _decide(h, low, scale, err, fmt, _sign(h), 0.0, 0.0, 0.0, margin)
                out[i] = value
                ok[i] = decided & good


stamp_cache(globals())
