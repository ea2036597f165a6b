"""Parameters -> vectors: the two families of the sweep.

Every vector is computed in float64 from its parameters and rounded once to
the format (:func:`analysis.crmath.to_format`: ml_dtypes' own cast to
bfloat16 and float8 rounds twice), so a row of the results can be rebuilt
exactly from the float64 parameters it records.
"""

from __future__ import annotations

import mpmath
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


def logspace(low: float, high: float, points: int) -> np.ndarray:
    """10**linspace(low, high, points), each power evaluated with mpmath at
    200 bits and rounded to float64: np.logspace's power differs by CPU
    (numpy's SIMD kernels), and the grid must be the same everywhere."""
    with mpmath.workprec(200):
        return np.array([float(mpmath.power(10, mpmath.mpf(float(e)))) for e in np.linspace(low, high, points)])


def geomspace(start: float, stop: float, points: int) -> np.ndarray:
    """np.geomspace(start, stop, points) for positive endpoints, the same on
    every CPU (see logspace); the endpoints exactly start and stop."""
    with mpmath.workprec(200):
        low, high = (float(mpmath.log10(mpmath.mpf(v))) for v in (start, stop))
    out = logspace(low, high, points)
    out[0], out[-1] = start, stop
    return out


def offsets(decades, points, factors) -> np.ndarray:
    """0, +-10**linspace(*decades, points), and +-t*f around every threshold."""
    magnitudes = np.concatenate([logspace(*decades, points), _dense(factors)])
    return np.unique(np.concatenate([-magnitudes, [0.0], magnitudes]))


def gaps(decades, points, factors) -> np.ndarray:
    """0, 10**linspace(*decades, points), and t*f around every threshold."""
    return np.unique(np.concatenate([[0.0], logspace(*decades, points), _dense(factors)]))


def scales(decades, points) -> np.ndarray:
    return logspace(*decades, points)


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
