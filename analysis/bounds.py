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


def _n(z) -> int:
    return np.shape(z)[-1]


def lse_naive(z, lse):
    """Theorem 3.2 (unshifted logsumexp, eq. (1.1)): 1 + (n + 1) / |lse|."""
    return 1.0 + (_n(z) + 1) / np.abs(lse)


def lse_shifted(z, lse):
    """Theorem 4.2 (Algorithm 4.1, max pulled out, log1p):
    |lse + n - min z| / |lse|."""
    return np.abs(lse + _n(z) - np.min(z, axis=-1)) / np.abs(lse)


def softmax_naive(z, lse=None):
    """Theorem 3.3 (unshifted softmax, eq. (1.2)): n + 3."""
    return np.full(np.shape(z)[:-1], _n(z) + 3.0)


def softmax_exp_lse(z, lse):
    """Theorem 3.4 (softmax_i = exp(z_i - lse) with the unshifted lse):
    |lse| + max |z - lse| + n + 2."""
    lse = np.asarray(lse)
    return np.abs(lse) + np.max(np.abs(z - lse[..., None]), axis=-1) + _n(z) + 2


def softmax_shifted(z, lse=None):
    """Theorem 4.3 (Algorithm 4.1 softmax, exp(z_i - m) / (1 + s)):
    n + 2 + 2 (max z - min z)."""
    return _n(z) + 2 + 2 * (np.max(z, axis=-1) - np.min(z, axis=-1))


def softmax_exp_lse_shifted(z, lse):
    """Theorem 4.4 (softmax_i = exp(z_i - lse) with the lse of Algorithm 4.1):
    1 + max |z - lse| + |lse + n - min z|."""
    lse = np.asarray(lse)
    return 1 + np.max(np.abs(z - lse[..., None]), axis=-1) + np.abs(lse + _n(z) - np.min(z, axis=-1))


# theorem -> (function, the algorithm it is about, bound).  The algorithm names
# are those of analysis.bhh2021; the methods of analysis.softmax each theorem
# covers are in METHODS below.
THEOREMS = {
    "3.2": ("logsumexp", "naive", lse_naive),
    "4.2": ("logsumexp", "alg41", lse_shifted),
    "3.3": ("softmax", "naive", softmax_naive),
    "3.4": ("softmax", "exp_lse_naive", softmax_exp_lse),
    "4.3": ("softmax", "alg41", softmax_shifted),
    "4.4": ("softmax", "exp_lse_alg41", softmax_exp_lse_shifted),
}

# theorem -> the (function, method) pairs of analysis.softmax.IMPLEMENTATIONS
# whose algorithm it bounds.  "shifted" (m + log of the sum including the term
# exp(0) = 1) is not Algorithm 4.1 but its error analysis is the same to first
# order (the sum lies in [1, n] as 1 + s does); "log1p" is Algorithm 4.1 itself.
METHODS = {
    "3.2": (("logsumexp", "naive"),),
    "4.2": (("logsumexp", "shifted"), ("logsumexp", "log1p")),
    "3.3": (("softmax", "naive"),),
    "4.3": (("softmax", "shifted"), ("softmax", "log1p")),
    "4.4": (("softmax", "exp_lse"),),
}


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
