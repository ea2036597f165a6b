"""The failure thresholds: observed (by bisection) next to predicted (closed forms).

Observed thresholds are found by bisection over the representable values of
the format (so they are exact, not limited by the sweep's grid) on the
``two_level`` family, with the implementations of :mod:`analysis.softmax`:

- ``overflow``: the smallest offset c >= 0 (gap 0, z = (c, ..., c)) at which
  some output is not finite;
- ``nan``: the negative offset closest to 0 (gap 0) at which some output is
  NaN (for the naive softmax: every exp underflowed, 0/0);
- ``underflow``: the smallest gap g (offset 0) at which some output component
  comes out exactly 0 although its exact value is nonzero.

Predictions come from the format's constants alone, evaluated in mpmath and
rounded up to the format's grid (the observed threshold is a value of the
format too):

- overflow (naive logsumexp, log-softmax): the recursive sum n e^c reaches
  max + ulp(max)/2 at c = ln(max + ulp(max)/2) - ln n, before any single exp
  overflows;
- overflow (naive softmax): e^c / inf = 0 is still finite (all components
  come out 0, status "zero"), so the output stops being finite only when
  fl(e^c) = inf itself: c = ln(max + ulp(max)/2);
- nan (naive softmax): fl(e^c) = 0 once e^c <= (smallest subnormal)/2, i.e.
  c <= ln(smallest subnormal / 2);
- underflow, softmax: fl(e^-g) = 0 once g >= -ln(smallest subnormal / 2);
- underflow, logsumexp and log-softmax at c = 0: the result is log of a sum
  that rounds to exactly 1 once every term e^-g added to 1 is at most u
  (half an ulp of 1, ties to even), i.e. g >= ln(1/u) = p ln 2;
- the shifted methods never overflow or produce NaN for finite input; they
  underflow exactly as the naive ones (same exponent -g at c = 0).

Observed and predicted differ by the rounding of exp and of the partial sums,
which the test bounds by Higham (2002), eq. (4.4): a recursive sum of n
terms has relative error at most gamma_{n-1} = (n-1)u / (1 - (n-1)u).
"""

from __future__ import annotations

import math

import mpmath
import numpy as np

from .. import families
from .. import softmax as sm
from ..formats import FORMATS, STUDY_DTYPES, Format
from ..metrics import ulp_distance

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


def predicted(function: str, method: str, kind: str, fmt: Format, n: int) -> float | None:
    with mpmath.workprec(200):
        half_ulp_max = mpmath.ldexp(1, fmt.emax - fmt.precision)
        half_tiny = mpmath.ldexp(1, fmt.emin - fmt.precision)  # smallest subnormal / 2
        if kind in ("overflow", "nan") and method == "shifted":
            return None
        if kind == "overflow":
            ln_overflow = mpmath.log(mpmath.mpf(fmt.max) + half_ulp_max)
            if function == "softmax":
                # An overflowed sum alone gives e^c / inf = 0, still finite
                # (status "zero"); inf / inf = NaN needs fl(e^c) = inf itself.
                return round_up(fmt, ln_overflow)
            return round_up(fmt, ln_overflow - mpmath.log(n))
        if kind == "nan":
            if function != "softmax":
                return None
            # the largest format value c < ln(tiny/2), as a negative offset
            return -round_up(fmt, -mpmath.log(half_tiny))
        if function == "softmax":
            return round_up(fmt, -mpmath.log(half_tiny))
        return round_up(fmt, fmt.precision * mpmath.log(2))


def observed(function: str, method: str, kind: str, fmt: Format, n: int, summation: str) -> float | None:
    f = _FUNCS[function, method]

    def out(offset, gap):
        return f(families.two_level(offset, gap, n, fmt.dtype), summation=summation).astype(np.float64)

    with np.errstate(invalid="ignore"):
        if kind == "overflow":
            return smallest_true(fmt, lambda c: not np.all(np.isfinite(out(c, 0.0))))
        if kind == "nan":
            x = smallest_true(fmt, lambda c: bool(np.any(np.isnan(out(-c, 0.0)))))
            return None if x is None else -x
        # underflow: gaps up to where c - g is still finite in the format
        return smallest_true(fmt, lambda g: bool(np.any(out(0.0, g) == 0)), upper=fmt.max / 2)


def _note(kind, obs, pred, fmt, n) -> str:
    if obs is None and pred is None:
        return "no failure of this kind for finite input"
    if obs is None or pred is None:
        return "observed and predicted disagree on whether it fails"
    steps = float(ulp_distance(np.array(obs, fmt.dtype), np.array(pred, fmt.dtype)))
    if steps == 0:
        return "observed = predicted"
    direction = "below" if obs < pred else "above"
    if kind == "overflow":
        why = "the sum n e^c is rounded n - 1 times (relative error up to gamma_{n-1}) and fl(e^c) by exp"
    elif kind == "underflow":
        why = "fl(e^-g) is rounded by exp (numpy's exp is not correctly rounded) before the test against the threshold"
    else:
        why = "fl(e^c) rounds to 0 a step earlier or later than e^c <= smallest subnormal / 2"
    return f"observed {steps:.0f} ulp {direction} predicted: {why}"


def thresholds(cfg) -> list[dict]:
    """Every (function, method, dtype, n, kind) threshold record."""
    records = []
    for function in cfg.functions:
        for method in (m for m in cfg.methods if m in THRESHOLD_METHODS):
            for dtype in (d for d in cfg.dtypes if d in THRESHOLD_DTYPES):
                fmt = FORMATS[dtype]
                for n in cfg.lengths:
                    for kind in ("overflow", "underflow", "nan"):
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
                                "note": _note(kind, obs, pred, fmt, n),
                            }
                        )
    return records


def gamma(k: int, u: float) -> float:
    """gamma_k = k u / (1 - k u) (Higham 2002, Lemma 3.1)."""
    return math.inf if k * u >= 1 else k * u / (1 - k * u)
