"""The failure thresholds: observed (by bisection) next to predicted (closed forms).

Observed thresholds are found by bisection over the representable values of
the format (so they are exact, not limited by the sweep's grid) on the
constant two-level vector z = (c, ..., c) (gap 0), with the implementations
of :mod:`analysis.softmax` graded against the correctly rounded truth by
:func:`analysis.metrics.grade`:

- ``sum_overflow``: the smallest offset c >= 0 at which the method's sum of
  exponentials, Σ fl(e^(z_i - shift)), is no longer finite;
- ``lost``: the smallest c >= 0 at which the output is a failure (grade
  lost, inf or NaN: metrics.FAILURES);
- ``nonfinite``: the smallest c >= 0 at which the output is inf or NaN;
- ``nonfinite_below``: the negative offset closest to 0 at which the output
  is inf or NaN (every exp underflows there).  No "lost" on that side: the
  naive log-softmax c - log(n fl(e^c)) loses -ln n to the rounding of the
  subnormal fl(e^c) at some offsets and not at their neighbours (float16,
  n = 2: first at -16.23, again at -17.0), so there is no threshold to
  bisect for; the naive softmax and logsumexp are not lost before they are
  not finite (a subnormal sum of equal terms is exact, and log of a
  subnormal fl(e^c) is within ln 2 of c).

An exact 0 and a result one ulp from a tiny truth (grade exact, accurate or
flushed) are not failures, so no threshold marks them (the truth of a
softmax entry e^-g is itself 0 beyond g = -ln(smallest subnormal / 2)).

Predictions come from the format's constants alone, evaluated in mpmath and
rounded up to the format's grid (the observed threshold is a value of the
format too); ln M = ln(max + ulp(max)/2) is where rounding to the format
overflows, ln t = ln(smallest subnormal / 2) where it underflows to 0:

- sum_overflow (naive): the recursive sum n e^c reaches max + ulp(max)/2 at
  c = ln M - ln n, before any single exp overflows;
- lost (naive): the same point.  The softmax's outputs become e^c / inf = 0
  where the truth is 1/n (lost, though finite); logsumexp and log-softmax
  become ±inf there;
- nonfinite (naive softmax): fl(e^c) = inf itself, c = ln M (inf / inf =
  NaN); naive logsumexp and log-softmax: c = ln M - ln n, as sum_overflow;
- nonfinite_below (naive): fl(e^c) = 0 once c <= ln t, then 0/0 = NaN,
  log 0 = -inf: the largest format value c <= ln t, as a negative offset;
- lost (softmax, both methods) at every offset once
  n >= 1.5 * 2**p: the recursive sum of n equal terms stagnates at 2**p
  terms, so the outputs are 1/2**p where the truth is 1/n (bfloat16,
  p = 8, at n = 1000); prediction 0;
- the shifted methods otherwise: their sum is at most n, their outputs stay finite
  and accurate for finite input; no threshold.

Observed and predicted differ by the rounding of exp and of the partial sums,
which the test bounds by Higham (2002), eq. (4.4): a recursive sum of n
terms has relative error at most gamma_{n-1} = (n-1)u / (1 - (n-1)u).
"""

from __future__ import annotations

import math

import mpmath
import numpy as np

from .. import crmath, fastref
from .. import softmax as sm
from ..formats import FORMATS, STUDY_DTYPES, Format
from ..metrics import FAILURES, grade, ulp_distance
from ..reference import TRUTH_INDEX

_UINT = {1: np.uint8, 2: np.uint16, 4: np.uint32, 8: np.uint64}

_FUNCS = sm.IMPLEMENTATIONS
# The methods and formats whose thresholds are predicted above; the others of
# the sweep (analysis.softmax, analysis.peers; float8) get no threshold
# records.  In float8 the model does not hold: a recursive sum of n equal
# terms stagnates at 2**p times the term (p = 3, 4) before it can overflow.
THRESHOLD_METHODS = ("naive", "shifted")
THRESHOLD_DTYPES = STUDY_DTYPES


def _value(fmt: Format, ordinal: int) -> float:
    """The non-negative format value whose bit pattern is ``ordinal``."""
    return float(np.array(ordinal, _UINT[fmt.dtype.itemsize]).view(fmt.dtype))


def _ordinal(fmt: Format, x: float) -> int:
    return int(np.array(x, fmt.dtype).view(_UINT[fmt.dtype.itemsize]))


def smallest_true(fmt: Format, predicate, upper: float | None = None) -> float | None:
    """The smallest non-negative format value x <= upper with predicate(x),
    assuming predicate is monotone (false, then true); None if never true."""
    lo, hi = 0, _ordinal(fmt, fmt.max if upper is None else upper)
    if predicate(_value(fmt, lo)):
        return 0.0
    if not predicate(_value(fmt, hi)):
        return None
    while hi - lo > 1:  # invariant: predicate(lo) false, predicate(hi) true
        mid = (lo + hi) // 2
        if predicate(_value(fmt, mid)):
            hi = mid
        else:
            lo = mid
    return _value(fmt, hi)


def round_up(fmt: Format, x: mpmath.mpf) -> float:
    """The smallest value of the format that is >= x (x > 0 finite).

    Steps over the bit patterns (non-negative values are ordered as their
    patterns), which works for every format, float8 included."""
    v = float(np.array(float(x), np.float64).astype(fmt.dtype))
    ordinal = _ordinal(fmt, min(v, fmt.max)) if math.isfinite(v) else _ordinal(fmt, fmt.max)
    while mpmath.mpf(_value(fmt, ordinal)) < x:
        ordinal += 1
    while ordinal > 0 and mpmath.mpf(_value(fmt, ordinal - 1)) >= x:
        ordinal -= 1
    return _value(fmt, ordinal)


KINDS = ("sum_overflow", "lost", "nonfinite", "nonfinite_below")
LOG_DOMAIN = ("logsumexp", "log_softmax")  # graded by absolute error near 0, as in the sweep


def predicted(function: str, method: str, kind: str, fmt: Format, n: int) -> float | None:
    """The threshold of ``kind`` from the format's constants (see the module
    docstring); None where the method does not fail that way."""
    with mpmath.workprec(200):
        ln_overflow = mpmath.log(mpmath.mpf(fmt.max) + mpmath.ldexp(1, fmt.emax - fmt.precision))
        ln_underflow = mpmath.log(mpmath.ldexp(1, fmt.emin - fmt.precision))  # smallest subnormal / 2
        if kind == "lost" and function == "softmax" and n >= 1.5 * 2**fmt.precision:
            # The recursive sum of n equal terms stagnates at 2**p terms (the
            # next term is half an ulp: ties to even keeps the sum), so every
            # output is 1/2**p where the truth is 1/n: lost at every offset.
            return 0.0
        if method == "shifted":
            return None
        if kind in ("sum_overflow", "lost") or (kind == "nonfinite" and function != "softmax"):
            return round_up(fmt, ln_overflow - mpmath.log(n))
        if kind == "nonfinite":
            return round_up(fmt, ln_overflow)
        # the largest format value c <= ln t, as a negative offset
        return -round_up(fmt, -ln_underflow)


def _vector(fmt: Format, c: float, n: int) -> np.ndarray:
    return np.full((1, n), c, fmt.dtype)


def _sum_overflows(method: str, fmt: Format, n: int, summation: str, c: float) -> bool:
    z = _vector(fmt, c, n)
    shift = z.max(axis=-1, keepdims=True) if method == "shifted" else np.zeros_like(z)
    with sm.quiet():
        total = sm._sum(crmath.exp(z - shift), summation)
    return not bool(np.all(np.isfinite(total.astype(np.float64))))


def graded(function: str, method: str, fmt: Format, n: int, summation: str, c: float) -> str:
    """The grade (metrics.grade) of the method's output on (c, ..., c)."""
    z = _vector(fmt, c, n)
    with sm.quiet():
        out = sm.IMPLEMENTATIONS[function, method](z, summation=summation)
    truth = fastref.truths(z)[TRUTH_INDEX[function]]
    if function == "logsumexp":
        out, truth = out[:, None], truth[:, None]
    return str(np.atleast_1d(grade(out, truth, log_domain=function in LOG_DOMAIN))[0])


def observed(function: str, method: str, kind: str, fmt: Format, n: int, summation: str) -> float | None:
    """The threshold of ``kind`` found by bisection over the format's values."""
    if kind == "sum_overflow":
        return smallest_true(fmt, lambda c: _sum_overflows(method, fmt, n, summation, c))
    failing = FAILURES if kind == "lost" else ("inf", "nan")
    sign = -1.0 if kind.endswith("_below") else 1.0
    x = smallest_true(fmt, lambda c: graded(function, method, fmt, n, summation, sign * c) in failing)
    return None if x is None else sign * x


def _note(kind, obs, pred, fmt, n) -> str:
    if obs is None and pred is None:
        return "no failure of this kind for finite input"
    if obs is None or pred is None:
        return "observed and predicted disagree on whether it fails"
    steps = float(ulp_distance(np.array(obs, fmt.dtype), np.array(pred, fmt.dtype)))
    if steps == 0 and obs == 0:
        return "observed = predicted: lost at every offset, the recursive sum of n equal terms stagnates at 2^p terms"
    if steps == 0:
        return "observed = predicted"
    direction = "below" if abs(obs) < abs(pred) else "above"
    if kind.endswith("_below"):
        why = "fl(e^c) rounds to 0 a step earlier or later than e^c <= smallest subnormal / 2"
    else:
        why = "the sum n e^c is rounded n - 1 times (relative error up to gamma_{n-1}) and fl(e^c) by exp"
    return f"observed {steps:.0f} ulp {direction} predicted: {why}"


def thresholds(cfg) -> list[dict]:
    """Every (function, method, dtype, n, kind) threshold record."""
    records = []
    for function in cfg.functions:
        for method in (m for m in cfg.methods if m in THRESHOLD_METHODS):
            for dtype in (d for d in cfg.dtypes if d in THRESHOLD_DTYPES):
                fmt = FORMATS[dtype]
                for n in cfg.lengths:
                    for kind in KINDS:
                        obs = observed(function, method, kind, fmt, n, cfg.summation)
                        pred = predicted(function, method, kind, fmt, n)
                        records.append(
                            {
                                "function": function,
                                "method": method,
                                "dtype": dtype,
                                "n": n,
                                "kind": kind,
                                "observed": obs,
                                "predicted": pred,
                                # in the format's own units: c / ln max, or c / |ln smallest subnormal|
                                "units": None if obs is None else obs / (
                                    -fmt.ln_smallest_subnormal if kind.endswith("_below") else fmt.ln_max
                                ),
                                "note": _note(kind, obs, pred, fmt, n),
                            }
                        )
    return records


def gamma(k: int, u: float) -> float:
    """gamma_k = k u / (1 - k u) (Higham 2002, Lemma 3.1)."""
    return math.inf if k * u >= 1 else k * u / (1 - k * u)
