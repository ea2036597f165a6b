"""The leading terms of the rounding-error bounds of Blanchard, Higham & Higham.

Each function returns, for a vector ``z`` (float64, rows along the last axis)
and the exact ``lse = logsumexp(z)``, the first-order term of the theorem's
bound in units of the unit roundoff ``u`` of the working format, exactly as
the authors' MATLAB scripts plot it (``chop_test_softmax.m`` in
higham/logsumexp-softmax-tests: the O(u^2) terms are dropped).  The
measured error they compare it with is

- logsumexp: |f^ - f| / (u |f|), the relative error;
- softmax:   max_i |g^_i - g_i| / (u max_i g_i), a normwise relative error.

The bounds hold barring overflow and underflow; they apply to the recursive
summation order of the paper.

Reference: P. Blanchard, D. J. Higham, N. J. Higham, "Accurately computing
the log-sum-exp and softmax functions", IMA J. Numer. Anal. 41(4),
2311-2330, 2021, https://doi.org/10.1093/imanum/draa038 (Theorems 3.2, 3.3,
3.4, 4.2, 4.3, 4.4; Algorithm 4.1).
"""

from __future__ import annotations

import numpy as np

from ..formats import FORMATS, STUDY_DTYPES

STUDY_INDEX = {name: i for i, name in enumerate(STUDY_DTYPES)}


def _n(z) -> int:
    return np.shape(z)[-1]


def lse_naive_bound(z, lse):
    """Theorem 3.2 (unshifted logsumexp, eq. (1.1)): 1 + (n + 1) / |lse|."""
    with np.errstate(divide="ignore", over="ignore"):  # lse = 0 or tiny: no bound (inf)
        return 1.0 + (_n(z) + 1) / np.abs(lse)


def lse_shifted_bound(z, lse):
    """Theorem 4.2 (Algorithm 4.1, max pulled out, log1p):
    |lse + n - min z| / |lse|."""
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):  # lse = 0 or tiny: no bound
        return np.abs(lse + _n(z) - np.min(z, axis=-1)) / np.abs(lse)


def softmax_naive_bound(z, lse=None):
    """Theorem 3.3 (unshifted softmax, eq. (1.2)): n + 3."""
    return np.full(np.shape(z)[:-1], _n(z) + 3.0)


def softmax_exp_lse_bound(z, lse):
    """Theorem 3.4 (softmax_i = exp(z_i - lse) with the unshifted lse):
    |lse| + max |z - lse| + n + 2."""
    lse = np.asarray(lse)
    return np.abs(lse) + np.max(np.abs(z - lse[..., None]), axis=-1) + _n(z) + 2


def softmax_shifted_bound(z, lse=None):
    """Theorem 4.3 (Algorithm 4.1 softmax, exp(z_i - m) / (1 + s)):
    n + 2 + 2 (max z - min z)."""
    return _n(z) + 2 + 2 * (np.max(z, axis=-1) - np.min(z, axis=-1))


def softmax_exp_lse_shifted_bound(z, lse):
    """Theorem 4.4 (softmax_i = exp(z_i - lse) with the lse of Algorithm 4.1):
    1 + max |z - lse| + |lse + n - min z|."""
    lse = np.asarray(lse)
    return 1 + np.max(np.abs(z - lse[..., None]), axis=-1) + np.abs(lse + _n(z) - np.min(z, axis=-1))


# theorem -> (function, the algorithm it is about, bound).  The algorithm names
# are those of analysis.studies.bhh2021; the methods of analysis.softmax each theorem
# covers are in METHODS below.
THEOREMS = {
    "3.2": ("logsumexp", "naive", lse_naive_bound),
    "4.2": ("logsumexp", "alg41", lse_shifted_bound),
    "3.3": ("softmax", "naive", softmax_naive_bound),
    "3.4": ("softmax", "exp_lse_naive", softmax_exp_lse_bound),
    "4.3": ("softmax", "alg41", softmax_shifted_bound),
    "4.4": ("softmax", "exp_lse_alg41", softmax_exp_lse_shifted_bound),
}

# theorem -> the (function, method) pairs of analysis.softmax.IMPLEMENTATIONS
# whose algorithm it bounds.  "log1p" is Algorithm 4.1 itself; "shifted" (m +
# log of the sum that includes the term exp(0) = 1, divided by that sum) is a
# variant: its softmax has the same first-order analysis, but its logsumexp
# takes log(s) of an s near 1 where Algorithm 4.1 takes log1p of s - 1, and
# Theorem 4.2 does not cover it (the measurements show it exceeded).
METHODS = {
    "3.2": (("logsumexp", "naive"),),
    "4.2": (("logsumexp", "log1p"), ("logsumexp", "shifted")),
    "3.3": (("softmax", "naive"),),
    "4.3": (("softmax", "log1p"), ("softmax", "shifted")),
    "4.4": (("softmax", "exp_lse"),),
}
# The pairs that are the theorem's algorithm exactly, whose measured errors
# must stay within the bound (where it applies).
EXACT = {("logsumexp", "naive"), ("softmax", "naive"), ("logsumexp", "log1p"), ("softmax", "log1p")}


def measured_error_u(function: str, computed, truth, u: float, normwise: bool = True):
    """The error the bounds are about, in units of u (see the module text):
    relative for logsumexp, normwise relative for softmax (``normwise=False``:
    the componentwise |g^_i - g_i| / (u g_i) instead, one per entry).
    ``computed`` and ``truth`` are float64 arrays (rows along the last axis
    for softmax)."""
    computed, truth = np.asarray(computed, np.float64), np.asarray(truth, np.float64)
    with np.errstate(invalid="ignore", over="ignore"):
        if function == "logsumexp" or not normwise:
            # 0/0 (an exact zero) is no error.
            return np.where(computed == truth, 0.0, np.abs(computed - truth) / (u * np.abs(truth)))
        return np.max(np.abs(computed - truth), axis=-1) / (u * np.max(np.abs(truth), axis=-1))


# --- the bounds against measurements over the sweep's vectors ----------------------

SAMPLE = 48  # vectors per (family, dtype, n) chunk, drawn with the study's seed


def applies(z64, sm_true, lse_true, fmt, method: str):
    """Per row: the bounds hold barring underflow and overflow, so a row counts
    only if every exponential the method forms is a normal number (exp(z_i)
    unshifted, exp(z_i - max z) shifted), every softmax value is normal, and
    for the unshifted methods the sum does not overflow (lse < ln max)."""
    with np.errstate(invalid="ignore"):
        exponents = z64 if method == "naive" else z64 - np.max(z64, axis=-1, keepdims=True)
        normal = np.all((exponents == 0) | (exponents > fmt.ln_smallest_normal), axis=-1)
        normal &= np.all(exponents < fmt.ln_max, axis=-1)
        normal &= np.min(sm_true, axis=-1) >= fmt.smallest_normal
        if method == "naive":
            normal &= lse_true < fmt.ln_max
    return normal


def sweep_vectors(cfg, dtype_name: str, n: int, family: str, sample: int = SAMPLE) -> np.ndarray:
    """A seeded subset of the sweep's vectors of one chunk (built as
    analysis.studies.sweep.compute_chunk builds them; inputs that overflow the format
    on conversion are left out)."""
    from . import sweep

    task = next(t for t in sweep.tasks(cfg) if (t["family"], t["dtype"], t["n"]) == (family, dtype_name, n))
    z, _ = sweep.chunk_vectors(task)
    rng = np.random.default_rng([cfg.seed, n, STUDY_INDEX[dtype_name], family == "two_level"])
    return z[np.sort(rng.choice(len(z), min(sample, len(z)), replace=False))]


def measure_sweep(cfg, sample: int = SAMPLE) -> dict:
    """For every theorem, method of analysis.softmax.IMPLEMENTATIONS it covers
    and format of the study: the measured errors and bounds (units of u) on a
    seeded subset of the sweep's vectors where the bound applies, the worst
    error, the smallest ratio bound / error (the tightness) and the number of
    vectors above their bound."""
    from .. import fastref
    from .. import softmax as sm

    out = {}
    # The bounds use gamma_n = n u / (1 - n u): in float8 (u = 2**-4, 2**-3) n u >= 1
    # from n = 16 (e4m3fn) or 8 (e5m2) on, and the bounds are vacuous sooner; they
    # are measured in the four formats of the paper.
    for dtype_name in [d for d in cfg.dtypes if d in STUDY_INDEX]:
        fmt = FORMATS[dtype_name]
        for n in cfg.lengths:
            for family in ("two_level", "scaled_normal"):
                z = sweep_vectors(cfg, dtype_name, n, family, sample)
                if not len(z):
                    continue
                z64 = z.astype(np.float64)
                sm_true, lse_true, _ = fastref.truths(z64)
                for theorem, pairs in METHODS.items():
                    bound = THEOREMS[theorem][2]
                    for function, method in pairs:
                        if (function, method) not in sm.IMPLEMENTATIONS:
                            continue
                        with np.errstate(all="ignore"):
                            computed = np.asarray(sm.IMPLEMENTATIONS[function, method](z)).astype(np.float64)
                            truth = lse_true if function == "logsumexp" else sm_true
                            error = measured_error_u(function, computed, truth, fmt.unit_roundoff)
                            value = bound(z64, lse_true)
                        keep = applies(z64, sm_true, lse_true, fmt, method) & np.isfinite(error) & np.isfinite(value)
                        key = f"{theorem}/{function}/{method}/{dtype_name}"
                        entry = out.setdefault(key, {"bound": [], "error": []})
                        entry["bound"].extend(value[keep].tolist())
                        entry["error"].extend(error[keep].tolist())
    summary = {}
    for key, entry in sorted(out.items()):
        error, value = np.array(entry["error"]), np.array(entry["bound"])
        theorem, function, method, dtype_name = key.split("/")
        positive = error > 0
        worst = int(np.argmax(error)) if error.size else None
        summary[key] = {
            "theorem": theorem,
            "function": function,
            "method": method,
            "dtype": dtype_name,
            "vectors": int(error.size),
            "max_error_u": float(error[worst]) if worst is not None else None,
            "bound_at_max_error_u": float(value[worst]) if worst is not None else None,
            "tightness": float(np.min(value[positive] / error[positive])) if positive.any() else None,
            "exceeded": int(np.sum(error > value)),
            # The plotted leading term of Theorem 4.2, |lse + n - min z| / |lse|, can be
            # far below 1 when lse ~ min z - n (equal or nearly equal logits above n),
            # while the final rounding of m + log1p(s) alone costs up to u: measured
            # exceedances are all of that kind when error <= bound + 1 (one more u).
            "exceeded_beyond_final_rounding": int(np.sum(error > value + 1)),
            "exact_algorithm": (function, method) in EXACT,
            "points": {"bound": value.tolist(), "error": error.tolist()},
        }
    return summary
