"""SciPy's softmax, logsumexp and log_softmax as methods of the study ("scipy").

Each wrapper has the call signature of :mod:`analysis.softmax` (``z``,
``axis``, ``summation=``; SciPy sums with ``np.sum``, so ``summation`` is
accepted and ignored) and returns the dtype of ``z``.  What SciPy 1.17.1
(``scipy/special/_logsumexp.py``) computes, per function:

- ``softmax``: exp(z - max z) / sum exp(z - max z) with ``np.max``/``np.sum``,
  no guard for a non-finite max (a fully masked row of -inf gives
  -inf - (-inf) = NaN everywhere, as does a +inf entry).
- ``log_softmax``: (z - m) - log sum exp(z - m), m = max z replaced by 0 where
  it is not finite (a fully masked row: shift 0, then -inf - log 0 =
  -inf - (-inf) = NaN everywhere).
- ``logsumexp`` (since SciPy 1.15): BHH 2021's Algorithm 4.1 generalised to
  ties: ALL entries equal to the max (count c) are taken out of the sum,
  lse = m + log(c) + log1p(s / c), s = sum of exp(z_j - m) over the rest;
  a non-finite result falls back to log(sum(exp(z))) (so -inf for a fully
  masked row, +inf for a +inf entry).

Arithmetic per input dtype (measured; the test ``test_scipy_dtypes`` pins it):

- float64, float32, float16: every elementwise operation in the input dtype
  (float16 as numpy does it: each operation in float32, rounded once).  The
  sum is ``np.sum``: pairwise in the format for float64/float32 on a
  contiguous axis, and for float16 on a contiguous axis partial sums kept in
  float32 and rounded once at the end (see analysis.softmax, "numpy").
- bfloat16, float8: softmax and log_softmax in the input dtype (``np.sum`` of
  bfloat16 and float8 is sequential, each partial sum rounded); logsumexp
  promotes its input with ``xp_result_type(a, 1.0)`` and so computes in
  float64 for bfloat16 and float8_e4m3fn and in float32 for float8_e5m2
  (ml_dtypes' promotion with a Python float); the wrapper rounds that result
  once to the input format.

Reference: P. Virtanen et al., "SciPy 1.0", Nature Methods 17, 261-272,
2020; scipy.special.logsumexp documentation; BHH 2021 (see analysis.softmax).
"""

from __future__ import annotations

import numpy as np
import scipy.special

from . import softmax as sm
from .formats import check_study_array


def _host_only(arithmetic: str) -> None:
    """SciPy calls numpy's exp and log: it has only the host arithmetic."""
    if arithmetic != "host":
        raise ValueError(f"SciPy computes with numpy's exp/log: arithmetic must be 'host', got {arithmetic!r}")


def scipy_softmax(z, axis: int = -1, summation: str = sm.DEFAULT_SUMMATION, arithmetic: str = "host"):
    """scipy.special.softmax(z, axis), in the dtype of z (see the module)."""
    _host_only(arithmetic)
    z = check_study_array(z, axis)
    with sm.quiet():
        return np.asarray(scipy.special.softmax(z, axis=axis)).astype(z.dtype)


def scipy_logsumexp(z, axis: int = -1, summation: str = sm.DEFAULT_SUMMATION, arithmetic: str = "host"):
    """scipy.special.logsumexp(z, axis), rounded once to the dtype of z
    (SciPy returns float64 for bfloat16 and float8_e4m3fn, float32 for
    float8_e5m2)."""
    _host_only(arithmetic)
    z = check_study_array(z, axis)
    with sm.quiet():
        return sm.crmath.to_format(np.asarray(scipy.special.logsumexp(z, axis=axis)), z.dtype)[()]


def scipy_log_softmax(z, axis: int = -1, summation: str = sm.DEFAULT_SUMMATION, arithmetic: str = "host"):
    """scipy.special.log_softmax(z, axis), in the dtype of z (see the module)."""
    _host_only(arithmetic)
    z = check_study_array(z, axis)
    with sm.quiet():
        return np.asarray(scipy.special.log_softmax(z, axis=axis)).astype(z.dtype)


PEERS = {
    ("softmax", "scipy"): scipy_softmax,
    ("logsumexp", "scipy"): scipy_logsumexp,
    ("log_softmax", "scipy"): scipy_log_softmax,
}

# Every (function, method) the sweep can run: ours and the peers'.
IMPLEMENTATIONS = {**sm.IMPLEMENTATIONS, **PEERS}
