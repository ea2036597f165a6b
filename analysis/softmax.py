"""The computations under study, in the arithmetic of the input format.

Every function takes an array ``z`` of float64, float32, float16 or bfloat16
(``ml_dtypes``), reduces along ``axis`` (default -1) and returns the dtype of
``z``.  Every operation -- subtraction, exp, log, division and each partial
sum -- is rounded to that format, as in the model of Blanchard, Higham &
Higham (2021): numpy's float16 and ml_dtypes' bfloat16 ufuncs compute each
elementary operation in float32 and round the result once to the format (for
+, -, / that is the correctly rounded result, since float32's 24 bits are at
least 2p + 2 for p = 11 and p = 8; for exp and log it is float32's result
rounded once more).

Summation (keyword ``summation=``):

- ``"recursive"`` (the default): s = x_1; s = fl(s + x_j) for j = 2..n, left
  to right, every partial sum rounded to the format.  This is the model under
  which the published error bounds hold (BHH 2021, §2, with the recursive
  summation bound of Higham 2002, §4.2), it does not depend on the numpy
  version, the CPU's SIMD width or the array's memory layout, and it is the
  least accurate of the three orders here, so the study does not flatter
  low precision.  Implemented with ``np.add.accumulate``, which adds
  sequentially and rounds each partial sum to the output dtype.
- ``"pairwise"``: sum neighbours, then neighbours of the partial sums, ...;
  every partial sum rounded to the format (error bound ~ log2(n) u instead of
  (n - 1) u).
- ``"numpy"``: whatever ``np.sum`` does, which differs per dtype (measured
  with numpy 2.4 and ml_dtypes 0.6; the test ``test_numpy_sum_behaviour``
  pins it):

  * float64, float32: pairwise summation in the format (blocks of 128
    elements, 8 interleaved accumulators) -- when the summed axis is
    contiguous in memory;
  * float16: on a contiguous axis the partial sums are kept in float32 and
    rounded to float16 only at the end -- 4096 copies of fl16(0.1) sum to
    409.5 (4096 * 0.0999755859375 correctly rounded), where recursive float16
    summation stagnates at 256.0 (256 + 0.1 rounds back to 256);
  * bfloat16: a sequential loop with every partial sum rounded to bfloat16,
    bit-identical to "recursive": 4096 copies of bf16(0.1) sum to 32.0;
  * every dtype, when the summed axis is strided (e.g. ``axis=0`` of a
    C-ordered matrix): sequential, bit-identical to "recursive".

  So "numpy" depends on memory layout; the functions here move ``axis`` last
  without copying, and a strided ``axis`` is summed as numpy sums it.

References: P. Blanchard, D. J. Higham, N. J. Higham, "Accurately computing
the log-sum-exp and softmax functions", IMA J. Numer. Anal. 41(4),
2311-2330, 2021, https://doi.org/10.1093/imanum/draa038; N. J. Higham,
*Accuracy and Stability of Numerical Algorithms*, 2nd ed., SIAM 2002, ch. 4;
I. Goodfellow, Y. Bengio, A. Courville, *Deep Learning*, MIT Press 2016, §4.1.
"""

from __future__ import annotations

import numpy as np

from .formats import check_study_array

SUMMATIONS = ("recursive", "pairwise", "numpy")
DEFAULT_SUMMATION = "recursive"


def _sum(x: np.ndarray, summation: str) -> np.ndarray:
    """Sum along the last axis, keeping it (shape ``(..., 1)``), in the
    format of ``x`` with the given summation order."""
    if summation == "recursive":
        return np.add.accumulate(x, axis=-1, dtype=x.dtype)[..., -1:]
    if summation == "pairwise":
        while x.shape[-1] > 1:
            if x.shape[-1] % 2:
                # The odd element out waits for the next level.
                x = np.concatenate([x[..., 0:-1:2] + x[..., 1::2], x[..., -1:]], axis=-1)
            else:
                x = x[..., 0::2] + x[..., 1::2]
        return x
    if summation == "numpy":
        return np.sum(x, axis=-1, keepdims=True, dtype=x.dtype)
    raise ValueError(f"unknown summation {summation!r}: expected one of {', '.join(SUMMATIONS)}")


def _last_axis(z, axis: int) -> tuple[np.ndarray, int]:
    z = check_study_array(z, axis)
    return np.moveaxis(z, axis, -1), axis


def _back(result: np.ndarray, axis: int, keep_axis: bool) -> np.ndarray:
    if keep_axis:
        return np.moveaxis(result, -1, axis)
    result = result[..., 0]
    return result if result.ndim else result[()]


def _max_shift(z: np.ndarray) -> np.ndarray:
    """max z along the last axis (kept), replaced by 0 where it is not finite.

    A row of -inf (fully masked) or with +inf entries would give inf - inf =
    NaN in every shifted entry; with the shift 0 such a row is handled as by
    the unshifted formula (the choice of scipy.special.logsumexp).
    """
    m = np.max(z, axis=-1, keepdims=True)
    return np.where(np.isfinite(m), m, np.zeros_like(m))


# Overflow, underflow and inf - inf are what the study measures, so numpy's
# warnings about them are silenced in each computation (and only there).
def _quiet():
    return np.errstate(over="ignore", under="ignore", invalid="ignore", divide="ignore")


def softmax_naive(z, axis: int = -1, summation: str = DEFAULT_SUMMATION):
    """softmax(z)_i = exp(z_i) / sum_j exp(z_j), evaluated as written.

    Overflows once some z_i > ln(max) of the format (about 11.09 in float16,
    88.72 in float32 and bfloat16, 709.78 in float64).  BHH 2021 eq. (1.2),
    Theorem 3.3.
    """
    z, axis = _last_axis(z, axis)
    with _quiet():
        e = np.exp(z)
        return _back(e / _sum(e, summation), axis, keep_axis=True)


def softmax_shifted(z, axis: int = -1, summation: str = DEFAULT_SUMMATION):
    """softmax(z)_i = exp(z_i - m) / sum_j exp(z_j - m), m = max_j z_j.

    Every exponent is <= 0 and the largest term is exactly 1, so the sum lies
    in [1, n]: no overflow for finite input, and no 0/0.  BHH 2021 eq. (4.2),
    Theorem 4.3: |computed_i - softmax_i| / softmax_i <=
    (n + 2 + 2 (max z - min z)) u + O(u^2), barring underflow.
    """
    z, axis = _last_axis(z, axis)
    with _quiet():
        # One temporary, reused: the same roundings as exp(z - m) / sum, with
        # two fewer array allocations (a measured cost at n = 10^6: make bench).
        e = np.subtract(z, _max_shift(z))
        np.exp(e, out=e)
        return _back(np.divide(e, _sum(e, summation), out=e), axis, keep_axis=True)


def logsumexp_naive(z, axis: int = -1, summation: str = DEFAULT_SUMMATION):
    """logsumexp(z) = log sum_j exp(z_j), evaluated as written.

    BHH 2021 eq. (1.1), Theorem 3.2.
    """
    z, axis = _last_axis(z, axis)
    with _quiet():
        return _back(np.log(_sum(np.exp(z), summation)), axis, keep_axis=False)


def logsumexp_shifted(z, axis: int = -1, summation: str = DEFAULT_SUMMATION):
    """logsumexp(z) = m + log sum_j exp(z_j - m), m = max_j z_j.

    BHH 2021 eq. (4.1), Theorem 4.2.
    """
    z, axis = _last_axis(z, axis)
    with _quiet():
        m = _max_shift(z)
        return _back(m + np.log(_sum(np.exp(z - m), summation)), axis, keep_axis=False)


def log_softmax_naive(z, axis: int = -1, summation: str = DEFAULT_SUMMATION):
    """log softmax(z)_i = z_i - log sum_j exp(z_j), unshifted.

    Returns -inf or NaN as soon as the sum overflows.
    """
    z, axis = _last_axis(z, axis)
    with _quiet():
        return _back(z - np.log(_sum(np.exp(z), summation)), axis, keep_axis=True)


def log_softmax_shifted(z, axis: int = -1, summation: str = DEFAULT_SUMMATION):
    """log softmax(z)_i = (z_i - m) - log sum_j exp(z_j - m), m = max_j z_j.

    The sum lies in [1, n], so its log is in [0, log n] and never overflows.
    """
    z, axis = _last_axis(z, axis)
    with _quiet():
        shifted = z - _max_shift(z)
        return _back(shifted - np.log(_sum(np.exp(shifted), summation)), axis, keep_axis=True)


def log_softmax_max_approx(z, axis: int = -1):
    """log softmax(z)_i ~ z_i - max_j z_j.

    Exact error: logsumexp(z) - max z, between 0 and log n; for the two-level
    vector (c, c - g, ..., c - g) it is log(1 + (n - 1) e^-g), which falls
    below half an ulp of the result once the gap g is large enough.
    """
    z, axis = _last_axis(z, axis)
    with _quiet():
        return _back(z - np.max(z, axis=-1, keepdims=True), axis, keep_axis=True)


def std_norm(z, axis: int = -1, summation: str = DEFAULT_SUMMATION):
    """The "standard normalization" z_i / sum_j z_j.

    Ignores the scale of z ([1, 2] and [10, 20] both give [1/3, 2/3]), gives
    negative "probabilities" when signs are mixed and inf/NaN when the sum is
    0 -- the reasons softmax is used instead (Goodfellow, Bengio & Courville,
    *Deep Learning*, §4.1 and §6.2.2.3).
    """
    z, axis = _last_axis(z, axis)
    with _quiet():
        return _back(z / _sum(z, summation), axis, keep_axis=True)


# (function, method) -> implementation: the pairs the sweep compares.
IMPLEMENTATIONS = {
    ("softmax", "naive"): softmax_naive,
    ("softmax", "shifted"): softmax_shifted,
    ("logsumexp", "naive"): logsumexp_naive,
    ("logsumexp", "shifted"): logsumexp_shifted,
    ("log_softmax", "naive"): log_softmax_naive,
    ("log_softmax", "shifted"): log_softmax_shifted,
}
