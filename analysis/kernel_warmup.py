"""Compile a Numba kernel into its on-disk cache:
``python -m analysis.kernel_warmup fastref|crmath``.

A cold study starts many processes at once (the sweep's workers, the
frameworks and host studies); each would compile the same kernels for
itself (~20 s for fastref's, ~13 s for crmath's on this project's
machine).  :func:`analysis.subprocesses.compile_kernels` runs this first,
one process per kernel side by side, so that the others load the cache.
"""

from __future__ import annotations

import sys

import numpy as np

KERNELS = ("fastref", "crmath")


def warm(name: str) -> None:
    """One call that compiles (or loads) kernel ``name``."""
    if name == "fastref":
        from . import fastref

        fastref.truths(np.zeros((1, 3), np.float32))
    elif name == "crmath":
        from . import crmath

        crmath.exp(np.array([0.5, 1.5], np.float32))
    else:
        raise ValueError(f"unknown kernel {name!r}: expected one of {', '.join(KERNELS)}")


def cached(name: str) -> bool:
    """Whether the on-disk cache holds kernel ``name`` for its current
    source (the stamp of kernel_dd.stamp_cache; Numba 0.68's cache
    internals, as there)."""
    if name == "fastref":
        from .fastref_kernel import core as dispatcher
    else:
        from .crmath_kernel import evaluate as dispatcher
    try:
        return bool(dispatcher._cache._cache_file._load_index())
    except Exception:  # noqa: BLE001 -- no readable index: not cached
        return False


if __name__ == "__main__":
    warm(sys.argv[1])
