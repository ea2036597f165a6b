"""Every floating-point format of the study and its constants, in one table.

A binary format with precision ``p`` (significand bits, hidden bit included)
and smallest normal exponent ``emin`` holds the numbers
``N * 2**(e - p + 1)`` with ``|N| < 2**p`` and ``e >= emin``; subnormals
share the quantum ``2**(emin - p + 1)``.  Unit roundoff ``u = 2**-p``.

Reference: IEEE Std 754-2019; bfloat16 and the float8 formats as
implemented by ``ml_dtypes`` (which follows the OCP 8-bit specification).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import ml_dtypes
import mpmath
import numpy as np

# The formats of the study, smallest to largest precision (the sections on
# thresholds and log-softmax cover these four) ...
STUDY_DTYPES = ("float16", "bfloat16", "float32", "float64")
# ... and the 8-bit formats, which the implementations, the ground truth and
# the sweep accept as well (smallest precision first).
FLOAT8_DTYPES = ("float8_e5m2", "float8_e4m3fn")
ALL_DTYPES = FLOAT8_DTYPES + STUDY_DTYPES

_NUMPY_DTYPES = {
    "float64": np.dtype(np.float64),
    "float32": np.dtype(np.float32),
    "float16": np.dtype(np.float16),
    "bfloat16": np.dtype(ml_dtypes.bfloat16),
    "float8_e4m3fn": np.dtype(ml_dtypes.float8_e4m3fn),
    "float8_e5m2": np.dtype(ml_dtypes.float8_e5m2),
}

# Dtypes the softmax implementations and the ground truth accept.
SUPPORTED = tuple(_NUMPY_DTYPES[name] for name in ALL_DTYPES)


@dataclass(frozen=True)
class Format:
    """Constants of one binary floating-point format."""

    name: str
    dtype: np.dtype
    precision: int  # p: significand bits including the hidden bit
    emin: int  # exponent of the smallest normal number, 2**emin
    emax: int  # exponent of the largest binade: max < 2**(emax + 1)
    max: float  # largest finite value
    has_inf: bool

    @property
    def unit_roundoff(self) -> float:
        """u = 2**-p, the bound on the relative error of one rounding."""
        return math.ldexp(1.0, -self.precision)

    @property
    def smallest_normal(self) -> float:
        return math.ldexp(1.0, self.emin)

    @property
    def smallest_subnormal(self) -> float:
        return math.ldexp(1.0, self.emin - self.precision + 1)

    @property
    def ln_max(self) -> float:
        """exp(z) overflows for z above this (up to the rounding of exp)."""
        return _ln(self.max)

    @property
    def ln_smallest_normal(self) -> float:
        return _ln(self.smallest_normal)

    @property
    def ln_smallest_subnormal(self) -> float:
        return _ln(self.smallest_subnormal)


def _ln(x: float) -> float:
    """log(x) by mpmath at 200 bits, rounded to float64: the C library's log
    may differ between CPUs (FMA variants), and these constants place grid
    points."""
    with mpmath.workprec(200):
        return float(mpmath.log(x))


def _format(name: str) -> Format:
    dtype = _NUMPY_DTYPES[name]
    info = ml_dtypes.finfo(dtype)
    return Format(
        name=name,
        dtype=dtype,
        precision=int(info.nmant) + 1,
        emin=int(info.minexp),
        emax=int(info.maxexp) - 1,
        max=float(info.max),
        has_inf=bool(np.isinf(np.array(np.inf).astype(dtype))),
    )


FORMATS = {name: _format(name) for name in _NUMPY_DTYPES}


def format_of(dtype) -> Format:
    """The Format of a numpy dtype (or dtype name); TypeError if unknown."""
    try:
        name = np.dtype(dtype).name
    except TypeError:
        raise TypeError(f"unsupported dtype {dtype!r}") from None
    if name not in FORMATS:
        raise TypeError(
            f"unsupported dtype {name}: expected one of {', '.join(FORMATS)}"
        )
    return FORMATS[name]


def check_study_array(z, axis: int = -1) -> np.ndarray:
    """Return ``z`` as an array of a study dtype with a non-empty ``axis``.

    A non-native byte order is converted (the same values).  TypeError names
    a dtype outside float64/float32/float16/bfloat16/float8 or an axis that is
    not an integer; ValueError names an empty axis or one out of range.
    """
    z = np.asarray(z)
    if z.dtype.byteorder not in ("=", "|") and z.dtype.newbyteorder("=") in SUPPORTED:
        z = z.astype(z.dtype.newbyteorder("="))  # the same values in the machine's byte order
    if isinstance(axis, bool) or not isinstance(axis, int | np.integer):
        raise TypeError(f"axis must be an integer, got {axis!r}")
    if z.dtype not in SUPPORTED:
        raise TypeError(
            f"unsupported dtype {z.dtype.name}: expected one of "
            f"{', '.join(ALL_DTYPES)}"
        )
    if z.ndim == 0:
        raise ValueError("expected an array with at least one axis, got a scalar")
    if not -z.ndim <= axis < z.ndim:
        raise ValueError(f"axis {axis} is out of range for an array of {z.ndim} dimension(s)")
    if z.shape[axis] == 0:
        raise ValueError(f"axis {axis} is empty (shape {z.shape})")
    return z


def ulp(x: float, fmt: Format) -> float:
    """The spacing of ``fmt`` just above |x| (x a value of the format)."""
    x = abs(x)
    e = max(math.frexp(x)[1] - 1 if x else fmt.emin, fmt.emin)
    return math.ldexp(1.0, e - fmt.precision + 1)


def check_size(z: np.ndarray, axis: int, max_row: int, max_entries: int, what: str) -> None:
    """ValueError naming the limit when ``z`` (already checked by
    check_study_array) has rows along ``axis`` longer than ``max_row`` or
    more than ``max_entries`` entries in all: the ground truths' cost grows
    with both (time and memory), and past these a call would take minutes
    and gigabytes rather than fail clearly."""
    n = z.shape[axis] if z.ndim else 1
    if n > max_row:
        raise ValueError(f"{what}: rows of {n} entries exceed its limit of {max_row} entries per row")
    if z.size > max_entries:
        raise ValueError(f"{what}: {z.size} entries exceed its limit of {max_entries} entries per call")
