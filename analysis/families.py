"""Parameters -> vectors: the two families of the sweep.

Every vector is computed in float64 from its parameters and rounded once to
the format (:func:`analysis.crmath.to_format`: ml_dtypes' own cast to
bfloat16 and float8 rounds twice), so a row of the results can be rebuilt
exactly from the float64 parameters it records.
"""

from __future__ import annotations

import numpy as np

from .crmath import to_format
from .formats import FORMATS, STUDY_DTYPES


def format_thresholds() -> list[float]:
    """ln(max), -ln(smallest normal), -ln(smallest subnormal) of every study
    format: where exp overflows, leaves the normal range, underflows to 0."""
    return sorted(
        {
            t
            for name in STUDY_DTYPES
            for t in (
                FORMATS[name].ln_max,
                -FORMATS[name].ln_smallest_normal,
                -FORMATS[name].ln_smallest_subnormal,
            )
        }
    )


def _dense(factors) -> np.ndarray:
    return np.array([t * f for t in format_thresholds() for f in factors])


def offsets(decades, points, factors) -> np.ndarray:
    """0, +-10**linspace(*decades, points), and +-t*f around every threshold."""
    magnitudes = np.concatenate([np.logspace(*decades, points), _dense(factors)])
    return np.unique(np.concatenate([-magnitudes, [0.0], magnitudes]))


def gaps(decades, points, factors) -> np.ndarray:
    """0, 10**linspace(*decades, points), and t*f around every threshold."""
    return np.unique(np.concatenate([[0.0], np.logspace(*decades, points), _dense(factors)]))


def scales(decades, points) -> np.ndarray:
    return np.logspace(*decades, points)


def two_level(offset, gap, n: int, dtype) -> np.ndarray:
    """z = (c, c - g, ..., c - g): shape (..., n) for array-like c and g."""
    c = np.asarray(offset, dtype=np.float64)[..., None]
    g = np.asarray(gap, dtype=np.float64)[..., None]
    z = np.broadcast_to(c - g, np.broadcast(c, g).shape[:-1] + (n,)).copy()
    z[..., 0] = c[..., 0]
    return to_format(z, dtype)


def standard_normal(seed: int, n: int, draw: int) -> np.ndarray:
    """x ~ N(0, 1)^n, the same for every scale and dtype (common random
    numbers), from numpy.random.default_rng([seed, n, draw])."""
    return np.random.default_rng([seed, n, draw]).standard_normal(n)


def scaled_normal(scale, seed: int, n: int, draw: int, dtype) -> np.ndarray:
    """z = s * x: shape (..., n) for array-like s."""
    s = np.asarray(scale, dtype=np.float64)[..., None]
    with np.errstate(over="ignore"):  # values beyond the format become inf (and are skipped)
        return to_format(s * standard_normal(seed, n, draw), dtype)
