"""The arithmetic practitioners run, for long rows: each method gives
softmax, logsumexp and log-softmax of many rows from ONE pass of exp, and
the cross-entropy gradient's correctly rounded truth.

Pure numerics, in the model arithmetic of :mod:`analysis.crmath` (the same
bytes on every CPU).  The methods (keys of ``METHODS``) and the framework
kernel each models:

- ``naive``: exp(z_i) / sum_j exp(z_j) in the format, recursive sum --
  no framework; the textbook formula (BHH 2021 eq. (1.2)).
- ``shifted``: the max shift in the format, every operation and partial sum
  rounded to it, recursive sum (BHH 2021 eq. (4.1)-(4.2)) -- a kernel that
  keeps everything in the input format (numpy on bfloat16, SciPy).
- ``shifted_fp32``: the input widened to float32, the shifted formula with
  a sequential (left to right) float32 sum, each output rounded once --
  PyTorch's CPU softmax for float16/bfloat16 (a vectorised loop with a
  float accumulator).
- ``shifted_fp32_pairwise``: as ``shifted_fp32`` with the float32 sum by
  pairwise levels (a binary tree, log2(n) levels) -- XLA's and the GPU
  libraries' tree reductions (a block's threads combine partial sums by
  halving).
- ``online_fp32``: FlashAttention-style one-pass softmax with float32 state:
  blocks of ``BLOCK`` entries; per block its max m_b and the pairwise float32
  sum s_b of exp(z - m_b); the state (m, d) merged block by block,
  m' = max(m, m_b), d' = d exp(m - m') + s_b exp(m_b - m') (Milakov &
  Gimelshein 2018; Dao et al., "FlashAttention", NeurIPS 2022, Alg. 1);
  outputs exp(z_i - m) / d, m + log d, (z_i - m) - log d, rounded once.

For float32 and float64 input "float32" means the input format (no
narrowing): ``shifted_fp32`` is then ``shifted`` bit for bit.

Bit-identical to :mod:`analysis.softmax`: ``naive``, ``shifted`` and
``shifted_fp32`` equal ``softmax_naive``, ``softmax_shifted``,
``softmax_shifted_fp32`` (and their logsumexp/log-softmax) -- the same
operations in the same order; the test ``test_practical_matches_softmax``
pins it.
"""

from __future__ import annotations

import mpmath
import numpy as np

from . import crmath, fastref, reference
from . import softmax as sm
from .formats import FORMATS

METHODS = ("naive", "shifted", "shifted_fp32", "shifted_fp32_pairwise", "online_fp32")
BLOCK = 128  # FlashAttention's tile of keys (Dao et al. 2022 use 64-128)


def _work(z: np.ndarray) -> np.ndarray:
    """z in float32 when narrower (exact), else z itself."""
    return z.astype(np.float32) if z.dtype.itemsize < 4 else z


def _outputs(e, s, shifted, m, fmt_dtype):
    """(softmax, logsumexp, log_softmax) from e = exp(z - m), its sum s
    (kept axis), z - m and m (kept axis), each rounded once to fmt_dtype."""
    log_s = crmath.log(s)
    out = (np.divide(e, s), (m + log_s)[..., 0], shifted - log_s)
    # astype: one rounding to nearest, as analysis.softmax._in_float32
    return tuple(o.astype(fmt_dtype) for o in out)


def _blocked_state(w: np.ndarray):
    """(m, d) of the online softmax over blocks of BLOCK (see the module);
    the last block is padded with -inf, whose exp is 0.  The running max
    after block b is the cumulative max of the block maxima, so the
    rescaling factors exp(m_{b-1} - m_b) and exp(m_b^blk - m_b) are computed
    for all blocks at once; the recurrence d_b = d_{b-1} alpha_b + s_b beta_b
    then runs block by block, each product and sum rounded to w's format,
    as the sequential algorithm does."""
    rows, n = w.shape
    nb = -(-n // BLOCK)
    pad = nb * BLOCK - n
    blocks = np.concatenate([w, np.full((rows, pad), -np.inf, w.dtype)], axis=-1).reshape(rows, nb, BLOCK)
    mb = blocks.max(axis=-1, keepdims=True)
    e = crmath.exp(blocks - mb)  # exp(-inf) = 0 for the padding
    sb = sm._sum(e, "pairwise")[..., 0]
    mb = mb[..., 0]
    running = np.maximum.accumulate(mb, axis=-1)
    alpha = crmath.exp(running[:, :-1] - running[:, 1:])  # exp(m_{b-1} - m_b), b >= 1
    beta = crmath.exp(mb - running)  # exp(m_b^blk - m_b)
    d = sb[:, 0] * beta[:, 0]  # = s_0 exactly: beta_0 = exp(0) = 1
    for b in range(1, nb):
        d = d * alpha[:, b - 1] + sb[:, b] * beta[:, b]
    return running[:, -1:], d[:, None]


def all_methods(z: np.ndarray, methods=METHODS) -> dict:
    """method -> (softmax, logsumexp, log_softmax) of the rows of 2-D ``z``
    (finite entries), every output in z's format."""
    z = np.ascontiguousarray(z)
    out = {}
    with sm.quiet():
        if "naive" in methods:
            e = crmath.exp(z)
            s = sm._sum(e, "recursive")
            log_s = crmath.log(s)
            out["naive"] = (e / s, log_s[..., 0], z - log_s)
        m = z.max(axis=-1, keepdims=True)
        w = _work(z)
        mw = m.astype(w.dtype)
        shifted_w = w - mw
        e = crmath.exp(shifted_w)
        if "shifted" in methods:
            # for float32/float64 the work format is z's: the same e
            shifted, e_z = (shifted_w, e) if w is z else (z - m, crmath.exp(z - m))
            out["shifted"] = _outputs(e_z, sm._sum(e_z, "recursive"), shifted, m, z.dtype)
        if "shifted_fp32" in methods:
            out["shifted_fp32"] = _outputs(e, sm._sum(e, "recursive"), shifted_w, mw, z.dtype)
        if "shifted_fp32_pairwise" in methods:
            out["shifted_fp32_pairwise"] = _outputs(e, sm._sum(e, "pairwise"), shifted_w, mw, z.dtype)
        if "online_fp32" in methods:
            mo, d = _blocked_state(w)  # mo = max z: the running max ends at the row's max
            out["online_fp32"] = _outputs(e, d, shifted_w, mo, z.dtype)
    return out


def gradient(softmax: np.ndarray, target: np.ndarray) -> np.ndarray:
    """softmax - onehot(target) in the format of ``softmax``: the target's
    entry fl(p_t - 1), the others p_i (the cross-entropy gradient,
    d/dz_i (logsumexp(z) - z_t))."""
    g = softmax.copy()
    rows = np.arange(g.shape[0])
    with sm.quiet():
        g[rows, target] = g[rows, target] - np.ones((), g.dtype)
    return g


def _one_minus_p(z64: np.ndarray, t: int):
    """1 - p_t = R / S, R = sum_{j != t} exp(z_j - m), S = R + exp(z_t - m),
    as a double-double (qh, ql) with an error bound: fastref's exp (relative
    error below EXP_REL each), pairwise double-double sums (levels * 2**-100
    relative), terms that underflow in ldexp (2**-1073 absolute each) and the
    division (2**-104)."""
    m = z64.max()
    dh, dl = fastref._two_sum(z64, -m)
    a, mh, ml = fastref._exp_dd(np.maximum(dh, -(2.0**16)), np.where(dh < -(2.0**16), 0.0, dl))
    th, tl = np.ldexp(mh, a), np.ldexp(ml, a)
    keep = np.arange(z64.size) != t
    rh, rl, levels = fastref._pairwise_sum(th[keep], tl[keep])
    sh, sl = fastref._add(rh, rl, th[t], tl[t])
    qh, ql = fastref._div(rh, rl, sh, sl)
    rel = 2 * (fastref.EXP_REL + (levels + 1) * 2.0**-100) + 2.0**-104
    absolute = z64.size * 2.0**-1073 * 2 / max(sh, 1.0)
    return qh, ql, abs(qh) * rel + absolute


def gradient_truth(z: np.ndarray, target: np.ndarray):
    """(gradient, loss) correctly rounded to z's format, for the rows of 2-D
    ``z``: gradient_i = softmax_i for i != t (fastref's correctly rounded
    softmax), gradient_t = -(1 - p_t) decided from the double-double of
    _one_minus_p (both ends of its error interval round to the same value,
    else mpmath at 400 bits over the row), loss = -log_softmax_t (correctly
    rounded; negation is exact)."""
    fmt = FORMATS[z.dtype.name]
    p, _, lsm = fastref.truths(z)
    rows = np.arange(z.shape[0])
    grad = p.copy()
    loss = -lsm[rows, target]
    for i, t in enumerate(target):
        z64 = z[i].astype(np.float64)
        qh, ql, err = _one_minus_p(z64, int(t))
        q = mpmath.mpf(qh) + mpmath.mpf(ql)
        lo = reference._round_raw((-(q + err))._mpf_, fmt)
        hi = reference._round_raw((-(q - err))._mpf_, fmt)
        if lo != hi or err >= abs(qh):
            with mpmath.workprec(400):
                m = mpmath.mpf(float(z64.max()))
                terms = [mpmath.exp(mpmath.mpf(float(v)) - m) for v in z64]
                total = mpmath.fsum(terms)
                lo = reference._round_raw((-(total - terms[t]) / total)._mpf_, fmt)
        grad[i, t] = lo
    return grad, loss
