"""Reproduction of the half-precision experiment of Blanchard, Higham &
Higham (2021), Section 5, on their 2,500 MNIST logit vectors (n = 10).

Pure numerics, no I/O.  The algorithms are transcriptions of the authors'
MATLAB functions (higham/logsumexp-softmax-tests), vectorised over rows, with
every operation rounded to the format as their ``chop`` does:

- ``lse_chop.m`` ("naive"): e_i = exp(x_i), s = sum e_i recursively,
  f = log s, g_i = e_i / s (eq. (1.2), Theorem 3.3) and the division-free
  h_i = exp(x_i - f) (Theorem 3.4);
- ``lse_chopshift.m`` (Algorithm 4.1, "alg41"): a = max x (first index k),
  s = sum_{i != k} exp(x_i - a) recursively, f = a + log1p(s)
  (Theorem 4.2), g_i = exp(x_i - a) / (1 + s) with g_k = 1 / (1 + s)
  (Theorem 4.3) and h_i = exp(x_i - f) (Theorem 4.4).

These two functions reproduce the paper's code; the study's own methods
(``analysis.softmax.IMPLEMENTATIONS``) and SciPy are measured on the same data by
:func:`registry_errors`.

The errors are those of :mod:`analysis.studies.bounds`, in units of the format's u,
against our truth: the exact function at the (rounded) input, correctly
rounded to float64 (``analysis.reference``).  The authors' reference was the
unshifted algorithm ``lse_basichigh.m`` on the same rounded input, run in
double precision: ``data_presoftmax.mat`` stores the logits as double, so
MATLAB evaluates it in double (their scripts run in GNU Octave confirm it,
tests/data/bhh2021_octave); :func:`their_reference` recomputes it, so that
the difference it makes can be counted rather than asserted.

Reference: P. Blanchard, D. J. Higham, N. J. Higham, "Accurately computing
the log-sum-exp and softmax functions", IMA J. Numer. Anal. 41(4),
2311-2330, 2021, https://doi.org/10.1093/imanum/draa038, §5 and Figs 5.1-5.2.
"""

from __future__ import annotations

import numpy as np

from .. import crmath, fastref
from .. import softmax as sm
from ..formats import FORMATS
from ..metrics import ulp_distance
from . import bounds

FORMAT_NAMES = ("float16", "bfloat16", "float32", "float64")
# algorithm -> theorem of its bound, per function.
LSE_THEOREMS = {"naive": "3.2", "alg41": "4.2"}
SOFTMAX_THEOREMS = {"naive": "3.3", "exp_lse_naive": "3.4", "alg41": "4.3", "exp_lse_alg41": "4.4"}


def _chop(function: str, x: np.ndarray) -> np.ndarray:
    """chop(f(x)) of the authors' code: f in double precision (MATLAB's exp,
    log, log1p, here correctly rounded to float64 by analysis.crmath, so the
    result does not depend on the CPU), then rounded once to x's format."""
    return crmath.to_format(getattr(crmath, function)(x.astype(np.float64)), x.dtype)


def _recursive_sum(e: np.ndarray) -> np.ndarray:
    """s = 0; s = fl(s + e_i), i = 1..n (the loop of lse_chop.m)."""
    return np.add.accumulate(e, axis=-1, dtype=e.dtype)[..., -1]


def lse_chop(x: np.ndarray):
    """(f, g, h) of lse_chop.m for rows x in the arithmetic of x's dtype."""
    with sm.quiet():
        e = _chop("exp", x)
        s = _recursive_sum(e)
        f = _chop("log", s)
        g = e / s[..., None]
        h = _chop("exp", x - f[..., None])
    return f, g, h


def lse_chopshift(x: np.ndarray):
    """(f, g, h) of lse_chopshift.m (Algorithm 4.1) for rows x."""
    rows = np.arange(x.shape[0])
    k = np.argmax(x, axis=-1)  # the first maximum, as MATLAB's max
    a = x[rows, k]
    with sm.quiet():
        e = _chop("exp", x - a[:, None])
        e[rows, k] = 0  # the max term is left out of the sum (and 0 + t = t exactly)
        s = _recursive_sum(e)
        b = _chop("log1p", s)
        f = a + b
        h = _chop("exp", x - f[:, None])
        e[rows, k] = 1
        g = e / (s + np.ones_like(s))[:, None]
    return f, g, h


def their_reference(x: np.ndarray, dtype) -> tuple[np.ndarray, np.ndarray]:
    """(lse, softmax) of lse_basichigh.m: the unshifted algorithm on the
    rounded input, run in ``dtype`` (float64, double, in their scripts: the
    .mat file holds the logits as double), as float64."""
    f, g, _ = lse_chop(np.asarray(x).astype(dtype))
    return f.astype(np.float64), g.astype(np.float64)


def run_format(logits: np.ndarray, name: str) -> dict:
    """Everything for one format: counts, per-vector errors and bounds."""
    fmt = FORMATS[name]
    u = fmt.unit_roundoff
    x = logits.astype(fmt.dtype)
    x64 = x.astype(np.float64)
    sm_true, lse_true, _ = fastref.truths(x64)  # correctly rounded to float64
    naive, shifted = lse_chop(x), lse_chopshift(x)
    lse_out = {"naive": naive[0], "alg41": shifted[0]}
    sm_out = {"naive": naive[1], "exp_lse_naive": naive[2], "alg41": shifted[1], "exp_lse_alg41": shifted[2]}
    # As the paper: the vectors on which the unshifted logsumexp is finite.
    kept = np.isfinite(naive[0])
    lse_bound_of = {"naive": lse_true, "alg41": lse_true}
    errors, bound_values = {}, {}
    for algorithm, theorem in LSE_THEOREMS.items():
        errors[theorem] = bounds.measured_error_u("logsumexp", lse_out[algorithm], lse_true, u)
        bound_values[theorem] = bounds.THEOREMS[theorem][2](x64, lse_bound_of[algorithm])
    for algorithm, theorem in SOFTMAX_THEOREMS.items():
        errors[theorem] = bounds.measured_error_u("softmax", sm_out[algorithm], sm_true, u)
        bound_values[theorem] = bounds.THEOREMS[theorem][2](x64, lse_true)
    return {
        "x": x,
        "kept": kept,
        "lse_out": lse_out,
        "sm_out": sm_out,
        "lse_true": lse_true,
        "sm_true": sm_true,
        "errors": errors,
        "bounds": bound_values,
    }


def _nonfinite_rows(values: np.ndarray) -> int:
    return int(np.sum(~np.all(np.isfinite(values), axis=-1)))


def summary(result: dict, name: str) -> dict:
    """The numbers of one format for bhh2021.json."""
    kept = result["kept"]
    errors, bound_values = result["errors"], result["bounds"]
    out = {
        "lse_naive_inf": int(np.sum(np.isinf(result["lse_out"]["naive"]))),
        "lse_shifted_inf": int(np.sum(np.isinf(result["lse_out"]["alg41"]))),
        "softmax_naive_nonfinite": _nonfinite_rows(result["sm_out"]["naive"]),
        "softmax_shifted_nonfinite": _nonfinite_rows(result["sm_out"]["alg41"]),
        "vectors": int(kept.size),
        "vectors_compared": int(kept.sum()),
        "unit_roundoff": FORMATS[name].unit_roundoff,
        "max_error_u": {},
        "median_error_u": {},
        "max_bound_u": {},
        "bound_ratio": {},
        "bound_exceeded": {},
    }
    for theorem in bounds.THEOREMS:
        err, bnd = errors[theorem][kept], bound_values[theorem][kept]
        out["max_error_u"][theorem] = float(np.max(err))
        out["median_error_u"][theorem] = float(np.median(err))
        out["max_bound_u"][theorem] = float(np.max(bnd))
        # The largest measured/bound over the vectors: <= 1 when every vector
        # is within its bound.
        out["bound_ratio"][theorem] = float(np.max(err / bnd))
        out["bound_exceeded"][theorem] = int(np.sum(err > bnd))
    return out


def reference_effect(result: dict, name: str, reference_dtypes=("float64",)) -> dict:
    """How the authors' reference (the unshifted algorithm in double
    precision) changes the measurements against our correctly rounded truth.

    For each reference precision above the format's: for each algorithm, the
    number of compared vectors whose error in ULPs (the output against the
    reference rounded to the format, as against our truth correctly rounded
    to the format) differs between the two references; the number of vectors
    whose bound verdict (error <= bound) of some theorem changes; and the
    largest change of an error in units of u.
    """
    fmt = FORMATS[name]
    x, kept = result["x"], result["kept"]
    sm_fmt, lse_fmt, _ = fastref.truths(x)  # correctly rounded to the format
    out = {}
    for ref_name in reference_dtypes:
        if FORMATS[ref_name].precision <= fmt.precision:
            continue
        lse_ref, sm_ref = their_reference(x, FORMATS[ref_name].dtype)
        with np.errstate(over="ignore"):
            lse_ref_fmt, sm_ref_fmt = crmath.to_format(lse_ref, fmt.dtype), crmath.to_format(sm_ref, fmt.dtype)
        ulp_differs = {}
        for algorithm, computed in result["lse_out"].items():
            differs = ulp_distance(computed, lse_ref_fmt) != ulp_distance(computed, lse_fmt)
            ulp_differs[f"logsumexp/{algorithm}"] = int(np.sum(differs & kept))
        for algorithm, computed in result["sm_out"].items():
            differs = np.any(ulp_distance(computed, sm_ref_fmt) != ulp_distance(computed, sm_fmt), axis=-1)
            ulp_differs[f"softmax/{algorithm}"] = int(np.sum(differs & kept))
        largest_shift = 0.0
        changed = np.zeros(kept.size, dtype=bool)
        for theorem, (function, algorithm, _) in bounds.THEOREMS.items():
            if function == "logsumexp":
                err = bounds.measured_error_u(function, result["lse_out"][algorithm], lse_ref, fmt.unit_roundoff)
            else:
                err = bounds.measured_error_u(function, result["sm_out"][algorithm], sm_ref, fmt.unit_roundoff)
            ours, bnd = result["errors"][theorem], result["bounds"][theorem]
            with np.errstate(invalid="ignore"):
                changed |= kept & ((err <= bnd) != (ours <= bnd))
                shift = np.abs(err - ours)[kept]
            largest_shift = max(largest_shift, float(np.nanmax(shift)))
        out[ref_name] = {
            "ulp_differs": ulp_differs,
            "bound_verdict_changes": int(changed.sum()),
            "largest_error_change_u": largest_shift,
            "reference_lse_inf": int(np.sum(np.isinf(lse_ref))),
        }
    return out


def registry_errors(logits: np.ndarray, name: str) -> dict:
    """For every (function, method) of analysis.softmax.IMPLEMENTATIONS, in
    the model arithmetic: the worst and median ULP error against the truth
    correctly rounded to the format, over the vectors where that method's
    output is finite, and the number of vectors with a non-finite output.
    Not SciPy, whose numpy exp depends on the CPU: it is in
    methods_real.json (host-dependent) on the same vectors."""
    fmt = FORMATS[name]
    x = logits.astype(fmt.dtype)
    truths = dict(zip(("softmax", "logsumexp", "log_softmax"), fastref.truths(x)))
    out = {}
    for (function, method), f in sorted(sm.IMPLEMENTATIONS.items()):
        with sm.quiet():
            computed = np.asarray(f(x)).astype(fmt.dtype)
        truth = truths[function]
        if computed.ndim == 1:
            computed, truth = computed[:, None], truth[:, None]
        ulps = ulp_distance(computed, truth)
        finite = np.all(np.isfinite(ulps), axis=-1)
        worst = ulps[finite].max(axis=-1) if finite.any() else np.zeros(0)
        out[f"{function}/{method}"] = {
            "nonfinite": int((~finite).sum()),
            "max_ulp": float(worst.max()) if worst.size else None,
            "median_ulp": float(np.median(worst)) if worst.size else None,
        }
    return out


def study(logits: np.ndarray, formats=FORMAT_NAMES) -> tuple[dict, dict]:
    """(the bhh2021.json document, the per-vector points of the figures)."""
    document, points = {}, {}
    for name in formats:
        result = run_format(logits, name)
        document[name] = {
            **summary(result, name),
            "reference_effect": reference_effect(result, name),
            "methods": registry_errors(logits, name),
        }
        kept = result["kept"]
        points[name] = {
            theorem: {
                "bound": result["bounds"][theorem][kept].tolist(),
                "error": result["errors"][theorem][kept].tolist(),
            }
            for theorem in bounds.THEOREMS
        }
    return document, points
