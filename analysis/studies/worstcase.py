"""Worst-case search: inputs that maximise the error of each method.

Pure numerics, no I/O.  For one (function, method, format) the objective of
an input vector z is the largest ULP distance between the method's output and
the correctly rounded truth (:mod:`analysis.reference`), over vectors whose
output is not a failure (grade lost, inf or NaN in metrics.grade: those are
failures the sweep counts, not errors to maximise); -1 otherwise.

The search, seeded and with a fixed budget of evaluations:

1. starting points: random vectors (n uniform in the length range, entries
   s * N(0, 1) with s log-uniform between 10**-2 and the format's ln max)
   and the two-level vectors (c, c - g, ..., c - g) of
   :func:`analysis.families.two_level` with c and g at +-0.9, 1 and 1.1 times
   the format's thresholds (ln max, -ln smallest normal);
2. hill climbing from the best ``restarts`` of them: each step proposes
   ``batch`` neighbours, each moving one entry by +-k ulps (k a random power
   of two up to 2**(p - 1), p the precision: a walk over the bit patterns
   that reaches the next binade in one step) and keeps the best if it is not
   worse (sideways moves let the walk cross plateaus).

The evaluations of a batch are one vectorised call of the method and one call
of the reference.

Reference: N. J. Higham, *Accuracy and Stability of Numerical Algorithms*,
2nd ed., SIAM 2002, §26.1 (direct search for maximising rounding errors);
P. Panchekha et al., PLDI 2015 (bits of error).
"""

from __future__ import annotations

import zlib

import mpmath
import numpy as np

from .. import crmath, families, fastref, reference
from ..formats import FORMATS
from ..metrics import FAILURES, bits_from_ulps, grade, judged_by_ulps, ulp_distance
from ..reference import TRUTH_INDEX
from . import bounds

_UINT = {1: np.uint8, 2: np.uint16, 4: np.uint32, 8: np.uint64}


def to_ordinal(z: np.ndarray) -> np.ndarray:
    """The bit patterns as int64 in the order of the values (-0.0 -> 0)."""
    nbits = 8 * z.dtype.itemsize
    bits = z.view(_UINT[z.dtype.itemsize]).astype(np.uint64)
    magnitude = (bits & np.uint64((1 << (nbits - 1)) - 1)).astype(np.int64)
    negative = (bits >> np.uint64(nbits - 1)) == 1
    return np.where(negative, -magnitude, magnitude)


def from_ordinal(ordinal: np.ndarray, dtype) -> np.ndarray:
    """Inverse of :func:`to_ordinal` (0 -> +0.0)."""
    dtype = np.dtype(dtype)
    sign = np.uint64(1 << (8 * dtype.itemsize - 1))
    magnitude = np.abs(ordinal).astype(np.uint64)
    bits = np.where(ordinal < 0, magnitude | sign, magnitude)
    return bits.astype(_UINT[dtype.itemsize]).view(dtype)


def objective(f, function: str, z: np.ndarray) -> np.ndarray:
    """Largest ULP error of each row of z; -1 where the output fails (grade
    lost, inf or NaN in :func:`analysis.metrics.grade`, e.g. an overflowed
    sum dividing into 0); for logsumexp and log-softmax a component judged
    by its absolute error (metrics.judged_by_ulps: its ULPs from a truth
    near 0 measure nothing a user sees) counts 0."""
    with np.errstate(all="ignore"):
        computed = np.asarray(f(z))
    truth = fastref.truths(z)[TRUTH_INDEX[function]]  # bit-identical to reference.truths, faster
    if computed.ndim == 1:
        computed, truth = computed[:, None], truth[:, None]
    log_domain = function in ("logsumexp", "log_softmax")
    ok = ~np.isin(np.atleast_1d(grade(computed, truth, log_domain=log_domain)), FAILURES)
    ulps = ulp_distance(computed, truth)
    ulps = np.where(judged_by_ulps(computed, truth, log_domain), ulps, 0.0)
    # Entries where both are the same special value (-inf for a log-softmax
    # of a masked entry) are exact: distance 0 already.
    return np.where(ok, np.max(np.where(np.isfinite(ulps), ulps, 0.0), axis=-1), -1.0)


def _random_starts(rng, fmt, count: int, lengths: tuple[int, int]) -> list[np.ndarray]:
    out = []
    for _ in range(count):
        n = int(rng.integers(lengths[0], lengths[1] + 1))
        # 10**e by mpmath: Python's ** and math.log10 are the C library's, which may differ by CPU.
        with mpmath.workprec(200):
            scale = float(mpmath.power(10, rng.uniform(-2.0, float(mpmath.log10(fmt.ln_max)))))
        with np.errstate(over="ignore"):
            out.append(crmath.to_format(scale * rng.standard_normal(n), fmt.dtype))
    return out


def _structured_starts(fmt, lengths: tuple[int, int]) -> list[np.ndarray]:
    thresholds = (fmt.ln_max, -fmt.ln_smallest_normal)
    points = [0.0] + [s * f * t for t in thresholds for f in (0.9, 1.0, 1.1) for s in (-1.0, 1.0)]
    gaps = [0.0, 1.0] + [f * t for t in thresholds for f in (0.9, 1.0, 1.1)]
    out = []
    for n in sorted({lengths[0], lengths[1]}):
        with np.errstate(over="ignore"):
            z = families.two_level([c for c in points for g in gaps], [g for c in points for g in gaps], n, fmt.dtype)
        out.extend(row for row in z if np.all(np.isfinite(row)))
    return out


def _best_of(f, function, vectors: list[np.ndarray]) -> list[tuple[float, np.ndarray]]:
    """(objective, vector) for each, grouped by length for vectorised calls."""
    scored = []
    for n in sorted({v.size for v in vectors}):
        group = np.stack([v for v in vectors if v.size == n])
        scored.extend(zip(objective(f, function, group).tolist(), group))
    return scored


def search(f, function: str, dtype_name: str, seed: int, budget: int, restarts: int = 4,
           batch: int = 16, lengths: tuple[int, int] = (2, 16)) -> dict:  # fmt: skip
    """The worst input found for one (function, method, format).

    Returns {"input": the vector (format dtype), "ulps": its objective,
    "evaluations": how many were spent}; the same arguments give the same
    result.
    """
    fmt = FORMATS[dtype_name]
    rng = np.random.default_rng([seed, zlib.crc32(f"{function}/{dtype_name}".encode())])
    structured = _structured_starts(fmt, lengths)
    starts = structured + _random_starts(rng, fmt, max(budget // 4, restarts), lengths)
    scored = _best_of(f, function, starts)
    evaluations = len(scored)
    scored.sort(key=lambda s: -s[0])
    best_score, best = scored[0]
    top_ordinal = to_ordinal(np.array(fmt.max, dtype=fmt.dtype))
    climbs = [(score, z) for score, z in scored[:restarts] if score >= 0]
    per_climb = max((budget - evaluations) // max(len(climbs), 1), 0)
    for score, z in climbs:
        spent = 0
        while spent + batch <= per_climb:
            ordinal = np.tile(to_ordinal(z), (batch, 1))
            entry = rng.integers(0, z.size, batch)
            step = rng.choice([-1, 1], batch) * (1 << rng.integers(0, fmt.precision, batch))
            rows = np.arange(batch)
            ordinal[rows, entry] = np.clip(ordinal[rows, entry] + step, -top_ordinal, top_ordinal)
            candidates = from_ordinal(ordinal, fmt.dtype)
            scores = objective(f, function, candidates)
            spent += batch
            i = int(np.argmax(scores))
            if scores[i] >= score:
                score, z = float(scores[i]), candidates[i]
        evaluations += spent
        if score > best_score:
            best_score, best = score, z
    return {"input": np.asarray(best), "ulps": float(best_score), "evaluations": int(evaluations)}


def hex_list(z: np.ndarray) -> list[str]:
    """Exact values as C99 hex floats (float.hex of the float64 value)."""
    return [float(v).hex() for v in np.asarray(z, dtype=np.float64)]


def from_hex(values: list[str], dtype_name: str) -> np.ndarray:
    z = np.array([float.fromhex(v) for v in values], dtype=np.float64)
    out = z.astype(FORMATS[dtype_name].dtype)
    if not np.array_equal(out.astype(np.float64), z, equal_nan=True):
        raise ValueError(f"{values!r} are not exactly {dtype_name} values")
    return out


def theorem_of(function: str, method: str) -> str | None:
    """The BHH 2021 theorem whose bound covers this method, if any."""
    for theorem, pairs in bounds.METHODS.items():
        if (function, method) in pairs:
            return theorem
    return None


def bound_applies(z: np.ndarray, dtype_name: str, method: str) -> bool:
    """The bounds hold barring underflow and overflow: every exponential the
    method forms (exp(z_i - max z) shifted, exp(z_i) unshifted) and every
    softmax value is a normal number of the format."""
    fmt = FORMATS[dtype_name]
    x = np.asarray(z, dtype=np.float64)
    exponents = x if method == "naive" else x - x.max()
    low = fmt.ln_smallest_normal
    softmax_low = float(np.min(reference.softmax(x)))
    # The unshifted sum overflows once logsumexp exceeds ln max.
    sum_ok = method != "naive" or float(reference.logsumexp(x)) < fmt.ln_max
    return bool(
        np.all(exponents[exponents != 0] > low)
        and np.all(exponents < fmt.ln_max)
        and softmax_low >= fmt.smallest_normal
        and sum_ok
    )


def assess(f, function: str, method: str, z: np.ndarray) -> dict:
    """Error of one stored input: ULPs, bits, and the theorem bound in units of u."""
    dtype_name = z.dtype.name
    fmt = FORMATS[dtype_name]
    ulps = float(objective(f, function, z[None, :])[0])
    theorem = theorem_of(function, method)
    out = {
        "ulps": ulps,
        "bits": float(bits_from_ulps(ulps)) if ulps >= 0 else None,
        "theorem": theorem,
        "error_u": None,
        "componentwise_error_u": None,
        "bound_u": None,
        "bound_applies": None,
        "within_bound": None,
    }
    if theorem is not None and ulps >= 0:
        x64 = z.astype(np.float64)[None, :]
        sm_true, lse_true, _ = reference.truths(x64)
        with np.errstate(all="ignore"):
            computed = np.asarray(f(z[None, :])).astype(np.float64)
        truth = lse_true if function == "logsumexp" else sm_true
        error_u = float(bounds.measured_error_u(function, computed, truth, fmt.unit_roundoff)[0])
        bound_u = float(bounds.THEOREMS[theorem][2](x64, lse_true)[0])
        out.update(
            error_u=error_u,
            componentwise_error_u=float(
                np.max(bounds.measured_error_u(function, computed, truth, fmt.unit_roundoff, normwise=False))
            ),
            bound_u=bound_u,
            bound_applies=bound_applies(z, dtype_name, method),
            within_bound=error_u <= bound_u,
        )
    return out
