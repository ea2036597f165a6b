"""The computations under study, in the arithmetic of the input format.

Every function takes an array ``z`` of float64, float32, float16, bfloat16,
float8_e4m3fn or float8_e5m2 (the last three from ``ml_dtypes``), reduces
along ``axis`` (default -1) and returns the dtype of ``z``.  Every
operation -- subtraction, exp, log, division and each partial sum -- is
rounded to that format, as in the model of Blanchard, Higham &
Higham (2021, §2): fl(x op y) = (x op y)(1 + delta), |delta| <= u.
numpy's float16 and ml_dtypes' bfloat16 and float8 ufuncs compute each
operation in float32 and round the result once to the format; for +, -, /
that is the correctly rounded result, since float32's 24 bits are at least
2p + 2 for p <= 11 (verified over all 256 x 256 float8 operand pairs).

Elementary functions (keyword ``arithmetic=``):

- ``"model"`` (the default): exp, log and log1p correctly rounded to the
  format (:mod:`analysis.crmath`), the standard model the theorems assume
  with |delta| <= u exactly.  The results are the same bytes on every CPU.
- ``"host"``: numpy's own ``np.exp``, ``np.log``, ``np.log1p`` -- what a
  user's numpy computes.  numpy dispatches these by CPU feature (its SIMD
  kernels differ at AVX2 and AVX-512), promises no correct rounding, and
  computes float16/bfloat16/float8 in float32 rounded once more (a double
  rounding); the study measures what that adds (:mod:`analysis.studies.hostlib`).

Summation (keyword ``summation=``):

- ``"recursive"`` (the default): s = x_1; s = fl(s + x_j) for j = 2..n, left
  to right, every partial sum rounded to the format.  This is the model under
  which the published error bounds hold (BHH 2021, §2, with the recursive
  summation bound of Higham 2002, §4.2), it does not depend on the numpy
  version, the CPU's SIMD width or the array's memory layout, and it is the
  least accurate of the orders here, so the study does not flatter
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
- ``"kahan"``: compensated summation (Kahan 1965; Higham 2002, Algorithm
  4.2): s = x_1, c = 0; for j = 2..n: y = x_j - c, t = s + y,
  c = (t - s) - y, s = t -- every operation rounded to the format (numpy
  evaluates float16/bfloat16/float8 operations in float32 and rounds each
  result once, so the compensation is not lost to a wider accumulator).
  Error bound 2u + O(n u^2) times sum |x_j| (Higham 2002, eq. (4.8)).  A
  partial sum that overflows to inf drops the compensation (inf - inf would
  be NaN), so an overflowed sum is inf as in the other orders.

Methods beyond naive/shifted (the keys of ``IMPLEMENTATIONS``): "log1p"
(BHH 2021, Algorithm 4.1), "exp_lse" (the division-free softmax, BHH 2021
eq. (4.3)), "online" (Milakov & Gimelshein 2018), "shifted_kahan" and
"shifted_pairwise" (the shifted formulas with a fixed summation order) and
"shifted_fp32" (float32 arithmetic for narrower formats, one final
rounding).  A method whose name fixes its summation ("online",
"shifted_kahan", "shifted_pairwise") accepts the ``summation`` keyword for a
uniform call signature and ignores it.

References: P. Blanchard, D. J. Higham, N. J. Higham, "Accurately computing
the log-sum-exp and softmax functions", IMA J. Numer. Anal. 41(4),
2311-2330, 2021, https://doi.org/10.1093/imanum/draa038; N. J. Higham,
*Accuracy and Stability of Numerical Algorithms*, 2nd ed., SIAM 2002, ch. 4;
I. Goodfellow, Y. Bengio, A. Courville, *Deep Learning*, MIT Press 2016, §4.1;
M. Milakov, N. Gimelshein, "Online normalizer calculation for softmax",
arXiv:1805.02867, 2018; W. Kahan, "Further remarks on reducing truncation
errors", Comm. ACM 8(1), 40, 1965.
"""

from __future__ import annotations

import functools

import numpy as np

from . import crmath
from .formats import check_study_array

SUMMATIONS = ("recursive", "pairwise", "numpy", "kahan")
DEFAULT_SUMMATION = "recursive"
# The elementary functions: correctly rounded ("model") or numpy's ("host").
ARITHMETICS = {"model": crmath, "host": np}
DEFAULT_ARITHMETIC = "model"


def _elementary(arithmetic: str):
    """The module whose exp, log and log1p a method uses."""
    try:
        return ARITHMETICS[arithmetic]
    except (KeyError, TypeError):
        raise ValueError(f"unknown arithmetic {arithmetic!r}: expected one of {', '.join(ARITHMETICS)}") from None


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
    if summation == "kahan":
        total = x[..., 0].copy()
        compensation = np.zeros_like(total)
        for j in range(1, x.shape[-1]):
            y = x[..., j] - compensation
            t = total + y
            # (t - s) - y recovers the low-order part of y that t lost; once
            # t overflows it would be inf - inf = NaN, so the sum stays inf as
            # in the other orders.
            compensation = np.where(np.isinf(t), np.zeros_like(t), (t - total) - y)
            total = t
        return total[..., None]
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
def quiet():
    return np.errstate(over="ignore", under="ignore", invalid="ignore", divide="ignore")


def softmax_naive(z, axis: int = -1, summation: str = DEFAULT_SUMMATION, arithmetic: str = DEFAULT_ARITHMETIC):
    """softmax(z)_i = exp(z_i) / sum_j exp(z_j), evaluated as written.

    Overflows once some z_i > ln(max) of the format (about 11.09 in float16,
    88.72 in float32 and bfloat16, 709.78 in float64).  BHH 2021 eq. (1.2),
    Theorem 3.3.
    """
    z, axis = _last_axis(z, axis)
    f = _elementary(arithmetic)
    with quiet():
        e = f.exp(z)
        return _back(e / _sum(e, summation), axis, keep_axis=True)


def softmax_shifted(z, axis: int = -1, summation: str = DEFAULT_SUMMATION, arithmetic: str = DEFAULT_ARITHMETIC):
    """softmax(z)_i = exp(z_i - m) / sum_j exp(z_j - m), m = max_j z_j.

    Every exponent is <= 0 and the largest term is exactly 1, so the sum lies
    in [1, n]: no overflow for finite input, and no 0/0.  BHH 2021 eq. (4.2),
    Theorem 4.3: |computed_i - softmax_i| / softmax_i <=
    (n + 2 + 2 (max z - min z)) u + O(u^2), barring underflow.
    """
    z, axis = _last_axis(z, axis)
    f = _elementary(arithmetic)
    with quiet():
        # One temporary, reused: the same roundings as exp(z - m) / sum, with
        # two fewer array allocations (a measured cost at n = 10^6: make bench).
        e = np.subtract(z, _max_shift(z))
        e = f.exp(e, out=e) if f is np else f.exp(e)
        return _back(np.divide(e, _sum(e, summation), out=e), axis, keep_axis=True)


def logsumexp_naive(z, axis: int = -1, summation: str = DEFAULT_SUMMATION, arithmetic: str = DEFAULT_ARITHMETIC):
    """logsumexp(z) = log sum_j exp(z_j), evaluated as written.

    BHH 2021 eq. (1.1), Theorem 3.2.
    """
    z, axis = _last_axis(z, axis)
    f = _elementary(arithmetic)
    with quiet():
        return _back(f.log(_sum(f.exp(z), summation)), axis, keep_axis=False)


def logsumexp_shifted(z, axis: int = -1, summation: str = DEFAULT_SUMMATION, arithmetic: str = DEFAULT_ARITHMETIC):
    """logsumexp(z) = m + log sum_j exp(z_j - m), m = max_j z_j.

    BHH 2021 eq. (4.1), Theorem 4.2.
    """
    z, axis = _last_axis(z, axis)
    f = _elementary(arithmetic)
    with quiet():
        m = _max_shift(z)
        return _back(m + f.log(_sum(f.exp(z - m), summation)), axis, keep_axis=False)


def log_softmax_naive(z, axis: int = -1, summation: str = DEFAULT_SUMMATION, arithmetic: str = DEFAULT_ARITHMETIC):
    """log softmax(z)_i = z_i - log sum_j exp(z_j), unshifted.

    Returns -inf or NaN as soon as the sum overflows.
    """
    z, axis = _last_axis(z, axis)
    f = _elementary(arithmetic)
    with quiet():
        return _back(z - f.log(_sum(f.exp(z), summation)), axis, keep_axis=True)


def log_softmax_shifted(z, axis: int = -1, summation: str = DEFAULT_SUMMATION, arithmetic: str = DEFAULT_ARITHMETIC):
    """log softmax(z)_i = (z_i - m) - log sum_j exp(z_j - m), m = max_j z_j.

    The sum lies in [1, n], so its log is in [0, log n] and never overflows.
    """
    z, axis = _last_axis(z, axis)
    f = _elementary(arithmetic)
    with quiet():
        shifted = z - _max_shift(z)
        return _back(shifted - f.log(_sum(f.exp(shifted), summation)), axis, keep_axis=True)


def log_softmax_max_approx(z, axis: int = -1, arithmetic: str = DEFAULT_ARITHMETIC):
    """log softmax(z)_i ~ z_i - max_j z_j.

    Exact error: logsumexp(z) - max z, between 0 and log n; for the two-level
    vector (c, c - g, ..., c - g) it is log(1 + (n - 1) e^-g), which falls
    below half an ulp of the result once the gap g is large enough.
    """
    z, axis = _last_axis(z, axis)
    with quiet():
        return _back(z - np.max(z, axis=-1, keepdims=True), axis, keep_axis=True)


def std_norm(z, axis: int = -1, summation: str = DEFAULT_SUMMATION, arithmetic: str = DEFAULT_ARITHMETIC):
    """The "standard normalization" z_i / sum_j z_j.

    Ignores the scale of z ([1, 2] and [10, 20] both give [1/3, 2/3]), gives
    negative "probabilities" when signs are mixed and inf/NaN when the sum is
    0 -- the reasons softmax is used instead (Goodfellow, Bengio & Courville,
    *Deep Learning*, §4.1 and §6.2.2.3).
    """
    z, axis = _last_axis(z, axis)
    with quiet():
        return _back(z / _sum(z, summation), axis, keep_axis=True)


# --- the algorithms of the literature ---------------------------------------


def _log1p_parts(z: np.ndarray, summation: str, f):
    """The pieces of BHH 2021, Algorithm 4.1, along the last axis (kept).

    Returns (m, e, s, finite): m the max (0 where it is not finite, see
    _max_shift), e_j = fl(exp(z_j - m)), s the sum of the e_j with the term
    of ONE maximum left out (the first, k = argmax, as MATLAB's ``max`` in
    the paper's ``lse_chopshift.m``; further ties stay in the sum as
    exp(0) = 1) and ``finite`` whether max z is finite.  Where it is not
    (a fully masked row of -inf, a +inf entry, a NaN) no term is left out and
    the callers fall back to the shifted formula with shift 0.
    """
    m = _max_shift(z)
    finite = np.isfinite(np.max(z, axis=-1, keepdims=True))
    e = f.exp(z - m)
    left_out = (np.arange(z.shape[-1]) == np.argmax(z, axis=-1)[..., None]) & finite
    s = _sum(np.where(left_out, np.zeros_like(e), e), summation)
    return m, e, s, finite


def logsumexp_log1p(z, axis: int = -1, summation: str = DEFAULT_SUMMATION, arithmetic: str = DEFAULT_ARITHMETIC):
    """logsumexp(z) = m + log1p(sum_{j != k} exp(z_j - m)), m = z_k = max z.

    BHH 2021, Algorithm 4.1 (lines 1-4): the largest term, exactly 1, is
    taken out of the sum and added back inside log1p, so no rounding error
    of 1 + s is made.  Theorem 4.2: relative error at most, to first order,
    |lse + n - min z| u / |lse| (ignoring underflow; the leading term as
    the paper's own test code evaluates it, ``lseshiftbd1`` in
    ``chop_test_softmax.m``), plus one rounding of m + log1p(s).  Ties: only
    one maximum (the first) is left out.  Rows whose max is not finite:
    log sum_j exp(z_j) (-inf for a fully masked row, +inf with a +inf entry,
    NaN with a NaN).
    """
    z, axis = _last_axis(z, axis)
    f = _elementary(arithmetic)
    with quiet():
        m, _, s, finite = _log1p_parts(z, summation, f)
        return _back(np.where(finite, m + f.log1p(s), f.log(s)), axis, keep_axis=False)


def softmax_log1p(z, axis: int = -1, summation: str = DEFAULT_SUMMATION, arithmetic: str = DEFAULT_ARITHMETIC):
    """softmax(z)_i = exp(z_i - m) / (1 + s), s = sum_{j != k} exp(z_j - m).

    BHH 2021, Algorithm 4.1 (lines 5-7) and Theorem 4.3: relative error at
    most (n + 2 + 2 (max z - min z)) u + O(u^2) per component, as the
    shifted formula (the denominator fl(1 + s) is the same sum computed in
    a different order).  Rows whose max is not finite: e_i / sum_j e_j with
    shift 0 (NaN for a fully masked row and for +inf entries, as "shifted").
    """
    z, axis = _last_axis(z, axis)
    f = _elementary(arithmetic)
    with quiet():
        _, e, s, finite = _log1p_parts(z, summation, f)
        denominator = np.where(finite, np.ones_like(s) + s, s)
        return _back(e / denominator, axis, keep_axis=True)


def log_softmax_log1p(z, axis: int = -1, summation: str = DEFAULT_SUMMATION, arithmetic: str = DEFAULT_ARITHMETIC):
    """log softmax(z)_i = (z_i - m) - log1p(s), s = sum_{j != k} exp(z_j - m).

    The log-softmax companion of BHH 2021, Algorithm 4.1 (the paper computes
    no log-softmax; this is the choice of "shifted" with log(1 + s) replaced
    by log1p(s), rather than z_i - lse, which would round lse = m + log1p(s)
    before subtracting and lose the small log1p(s) against m).  Rows whose
    max is not finite: z_i - log sum_j exp(z_j).
    """
    z, axis = _last_axis(z, axis)
    f = _elementary(arithmetic)
    with quiet():
        m, _, s, finite = _log1p_parts(z, summation, f)
        return _back((z - m) - np.where(finite, f.log1p(s), f.log(s)), axis, keep_axis=True)


def softmax_exp_lse(z, axis: int = -1, summation: str = DEFAULT_SUMMATION, arithmetic: str = DEFAULT_ARITHMETIC):
    """softmax(z)_i = exp(z_i - lse(z)), lse by BHH 2021, Algorithm 4.1.

    The division-free softmax: BHH 2021 eq. (4.3) (the vector h of their
    ``lse_chopshift.m``), Theorem 4.4: relative error at most
    (1 + max_i |z_i - lse| + |lse + n - min z|) u + O(u^2) per component,
    larger than Theorem 4.3's when |lse| or the spread of z is large, since
    the rounding error of lse is amplified by exp.  The outputs need not sum
    to 1 within n u.  A fully masked row gives -inf - (-inf) = NaN, a row
    with +inf gives NaN for the +inf entries.
    """
    z, axis = _last_axis(z, axis)
    f = _elementary(arithmetic)
    with quiet():
        m, _, s, finite = _log1p_parts(z, summation, f)
        lse = np.where(finite, m + f.log1p(s), f.log(s))
        return _back(f.exp(z - lse), axis, keep_axis=True)


def _online(z: np.ndarray, f):
    """Running max m and rescaled sum d after the last column (both kept):
    m_j = max(m_{j-1}, z_j), d_j = d_{j-1} exp(m_{j-1} - m_j) + exp(z_j - m_j)
    (Milakov & Gimelshein 2018, Algorithm 3), every operation rounded to the
    format; the rows advance together.  The paper starts from m_0 = -inf,
    d_0 = 0, whose first step gives m_1 = z_1, d_1 = exp(z_1 - z_1); we start
    there, because float8_e4m3fn has no -inf (it would be NaN)."""
    m = z[..., 0]
    d = f.exp(m - m)
    for j in range(1, z.shape[-1]):
        column = z[..., j]
        new_max = np.maximum(m, column)
        d = d * f.exp(m - new_max) + f.exp(column - new_max)
        m = new_max
    return m[..., None], d[..., None]


def softmax_online(z, axis: int = -1, summation: str = DEFAULT_SUMMATION, arithmetic: str = DEFAULT_ARITHMETIC):
    """softmax(z)_i = exp(z_i - m_n) / d_n after one pass of the online
    normalizer (Milakov & Gimelshein 2018, arXiv:1805.02867, Algorithm 3).

    d_n is the shifted sum accumulated left to right, each partial sum
    rescaled by exp(m_{j-1} - m_j) whenever the running max grows: at most
    2 more roundings per step than the recursive shifted sum (the rescaling
    exp and the product), so the bound of BHH 2021, Theorem 4.3 holds with
    n replaced by about 3n.  When the max comes first, every rescaling is
    by exp(0) = 1 exactly and the result equals "shifted" bit for bit.  The
    summation order is the algorithm's own; ``summation`` is ignored.
    Special values, as the algorithm is written: a -inf before the first
    finite entry (a leading mask) or a fully masked row makes
    -inf - (-inf) = NaN in d and every output NaN; +inf gives NaN.
    """
    z, axis = _last_axis(z, axis)
    f = _elementary(arithmetic)
    with quiet():
        m, d = _online(z, f)
        return _back(f.exp(z - m) / d, axis, keep_axis=True)


def logsumexp_online(z, axis: int = -1, summation: str = DEFAULT_SUMMATION, arithmetic: str = DEFAULT_ARITHMETIC):
    """logsumexp(z) = m_n + log d_n from the online normalizer (Milakov &
    Gimelshein 2018, Algorithm 3; see softmax_online).  ``summation`` is
    ignored."""
    z, axis = _last_axis(z, axis)
    f = _elementary(arithmetic)
    with quiet():
        m, d = _online(z, f)
        return _back(m + f.log(d), axis, keep_axis=False)


def log_softmax_online(z, axis: int = -1, summation: str = DEFAULT_SUMMATION, arithmetic: str = DEFAULT_ARITHMETIC):
    """log softmax(z)_i = (z_i - m_n) - log d_n from the online normalizer
    (Milakov & Gimelshein 2018, Algorithm 3; see softmax_online).
    ``summation`` is ignored."""
    z, axis = _last_axis(z, axis)
    f = _elementary(arithmetic)
    with quiet():
        m, d = _online(z, f)
        return _back((z - m) - f.log(d), axis, keep_axis=True)


def _in_float32(f):
    """The method f evaluated in float32 for inputs narrower than float32
    (float16, bfloat16, float8), its output rounded once to the input
    format; for float32 and float64 input, f itself."""

    @functools.wraps(f)
    def wide(z, axis: int = -1, summation: str = DEFAULT_SUMMATION, arithmetic: str = DEFAULT_ARITHMETIC):
        z = check_study_array(z, axis)
        if z.dtype.itemsize >= 4:
            return f(z, axis=axis, summation=summation, arithmetic=arithmetic)
        with quiet():
            wide = f(z.astype(np.float32), axis=axis, summation=summation, arithmetic=arithmetic)
            return np.asarray(wide).astype(z.dtype)[()]

    return wide


softmax_shifted_fp32 = _in_float32(softmax_shifted)
softmax_shifted_fp32.__doc__ = """The shifted softmax with float32 arithmetic.

For float16, bfloat16 and float8 input: z is widened to float32 (exactly),
every subtraction, exp, partial sum and division is rounded to float32, and
the result is rounded once to the input format -- what mixed-precision
frameworks do (e.g. autocast's float32 softmax).  The float32 result has
relative error at most (n + 2 + 2 (max z - min z)) u_32 (BHH 2021,
Theorem 4.3 with u_32 = 2^-24), far below half an ulp of float16 for
moderate n and spread, so the final rounding dominates: about 1/2 ulp in the
format (1 ulp when the float32 error pushes a value across a rounding
boundary).  Identical to "shifted" for float32 and float64 input.
"""
logsumexp_shifted_fp32 = _in_float32(logsumexp_shifted)
logsumexp_shifted_fp32.__doc__ = """The shifted logsumexp with float32 arithmetic,
rounded once to the input format (see softmax_shifted_fp32; BHH 2021,
Theorem 4.2 with u = 2^-24 for the float32 part).  Identical to "shifted"
for float32 and float64 input."""
log_softmax_shifted_fp32 = _in_float32(log_softmax_shifted)
log_softmax_shifted_fp32.__doc__ = """The shifted log-softmax with float32
arithmetic, rounded once to the input format (see softmax_shifted_fp32).
Identical to "shifted" for float32 and float64 input."""


def _fixed_summation(f, order: str):
    """f with its summation order fixed to ``order``: the ``summation``
    keyword is accepted for a uniform call signature and ignored (a
    functools.partial would let the sweep's ``summation=`` override it)."""

    @functools.wraps(f)
    def fixed(z, axis: int = -1, summation: str = DEFAULT_SUMMATION, arithmetic: str = DEFAULT_ARITHMETIC):
        return f(z, axis=axis, summation=order, arithmetic=arithmetic)

    fixed.__doc__ = f"{f.__name__} with summation={order!r} whatever ``summation`` is passed.\n\n{f.__doc__}"
    return fixed


# (function, method) -> implementation: the pairs the sweep compares.
IMPLEMENTATIONS = {
    ("softmax", "naive"): softmax_naive,
    ("softmax", "shifted"): softmax_shifted,
    ("logsumexp", "naive"): logsumexp_naive,
    ("logsumexp", "shifted"): logsumexp_shifted,
    ("log_softmax", "naive"): log_softmax_naive,
    ("log_softmax", "shifted"): log_softmax_shifted,
    ("softmax", "log1p"): softmax_log1p,
    ("logsumexp", "log1p"): logsumexp_log1p,
    ("log_softmax", "log1p"): log_softmax_log1p,
    ("softmax", "exp_lse"): softmax_exp_lse,
    ("softmax", "online"): softmax_online,
    ("logsumexp", "online"): logsumexp_online,
    ("log_softmax", "online"): log_softmax_online,
    ("softmax", "shifted_fp32"): softmax_shifted_fp32,
    ("logsumexp", "shifted_fp32"): logsumexp_shifted_fp32,
    ("log_softmax", "shifted_fp32"): log_softmax_shifted_fp32,
}
# The shifted formulas with a fixed summation order, as methods of their own.
for _summation in ("kahan", "pairwise"):
    for _function, _f in (("softmax", softmax_shifted), ("logsumexp", logsumexp_shifted),
                          ("log_softmax", log_softmax_shifted)):  # fmt: skip
        IMPLEMENTATIONS[_function, f"shifted_{_summation}"] = _fixed_summation(_f, _summation)
del _summation, _function, _f
