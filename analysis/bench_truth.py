"""Timing of the ground truth: fastref vs the straightforward mpmath loop.

No I/O: ``ground_truth_benchmark`` takes the input vectors and returns
numbers; ``make bench`` writes them.  In one process, on the same inputs:

- ``fast_seconds``: ``fastref.truths`` on every input (caches cleared first,
  so the mpmath fallback rows are paid for);
- ``reference_seconds``: ``reference.truths`` (mpmath, interval Ziv loop) on
  every input, which is also the check: every fast result must equal the
  proved one bit for bit (NaN equal to NaN, the sign of zero counted), and
  ``disagreements`` counts the values that do not;
- ``straightforward_seconds``: ``fastref.straightforward_truths`` (one mpf
  exp per element at 256 bits).  On the whole default sweep this loop takes
  many minutes, so it is timed on a seeded subset of every chunk (at most
  ``subset_elements`` elements per chunk, whole rows) and extrapolated chunk
  by chunk at the rate measured on that chunk's subset
  (``straightforward_extrapolated: true`` in the result).  The fast path is
  timed on the same subset too (``fast_subset_seconds``), and ``speedup`` is
  the extrapolated straightforward time over the measured fast time on all
  inputs; ``speedup_subset`` compares the two on the identical subset, where
  the fast path's fixed cost per call (some hundred numpy operations, about
  10 ms) weighs on chunks of a few thousand elements, so it is much lower.
"""

from __future__ import annotations

import time

import numpy as np

from . import fastref, reference
from .config import load as load_config
from .studies import sweep


def sweep_inputs(cfg):
    """(dtype_name, 2-D array of vectors) for every chunk of the sweep
    ``cfg`` (a Config), exactly the inputs ``sweep.compute_chunk`` uses."""
    for task in sweep.tasks(cfg):
        z, _ = sweep.chunk_vectors(task)
        yield task["dtype"], z


def default_inputs(quick: bool = False):
    return list(sweep_inputs(load_config(None, quick)))


def _bits(a) -> np.ndarray:
    """float64 bit patterns with every NaN made one pattern."""
    a = np.asarray(a).astype(np.float64)
    return np.where(np.isnan(a), np.nan, a).view(np.uint64)


def disagreements(got, expected) -> int:
    """Values that differ bit for bit (NaN == NaN; -0.0 != +0.0)."""
    return int(sum(np.count_nonzero(_bits(g) != _bits(e)) for g, e in zip(got, expected)))


def _subset(z, seed: int, index: int, subset_elements: int | None) -> np.ndarray:
    if subset_elements is None:  # time the straightforward loop on everything
        return z
    rows = max(1, min(len(z), subset_elements // max(1, z.shape[1])))
    pick = np.random.default_rng([seed, index]).choice(len(z), size=rows, replace=False)
    return z[np.sort(pick)]


def ground_truth_benchmark(vectors_by_dtype, subset_elements: int | None = 5000, seed: int = 20261125) -> dict:
    """Time fastref.truths vs the straightforward loop and check fastref
    against reference.truths on every input.

    ``vectors_by_dtype``: iterable of (dtype_name, 2-D array), e.g.
    ``sweep_inputs(cfg)``.  ``subset_elements=None`` times the
    straightforward loop on every input (about 12 minutes on the default
    sweep, 2 cores: 735 s measured).
    """
    chunks = [(name, np.asarray(z)) for name, z in vectors_by_dtype if np.asarray(z).size]
    elements = sum(z.size for _, z in chunks)
    reference._row.cache_clear()
    fastref.reset_stats()
    start = time.perf_counter()
    fast = [fastref.truths(z) for _, z in chunks]
    fast_seconds = time.perf_counter() - start
    counts = fastref.stats()

    reference._row.cache_clear()
    start = time.perf_counter()
    proved = [reference.truths(z) for _, z in chunks]
    reference_seconds = time.perf_counter() - start
    wrong = sum(disagreements(f, p) for f, p in zip(fast, proved))

    subsets = [_subset(z, seed, i, subset_elements) for i, (_, z) in enumerate(chunks)]
    subset_size = sum(s.size for s in subsets)
    straight_seconds, extrapolated = 0.0, 0.0
    for (_, z), sub in zip(chunks, subsets):
        start = time.perf_counter()
        fastref.straightforward_truths(sub)
        seconds = time.perf_counter() - start
        straight_seconds += seconds
        extrapolated += seconds * z.size / sub.size
    reference._row.cache_clear()
    start = time.perf_counter()
    for sub in subsets:
        fastref.truths(sub)
    fast_subset_seconds = time.perf_counter() - start
    reference._row.cache_clear()
    return {
        "speedup": extrapolated / fast_seconds,
        "speedup_subset": straight_seconds / fast_subset_seconds,
        "speedup_vs_reference": reference_seconds / fast_seconds,
        "fallback_rate": counts["fallback_elements"] / max(1, counts["elements"]),
        "fallback_rows": counts["fallback_rows"],
        "rows": counts["rows"],
        "disagreements": wrong,
        "elements": elements,
        "fast_seconds": fast_seconds,
        "reference_seconds": reference_seconds,
        "straightforward_seconds": extrapolated,
        "straightforward_extrapolated": subset_size < elements,
        "straightforward_subset_elements": subset_size,
        "straightforward_subset_seconds": straight_seconds,
        "fast_subset_seconds": fast_subset_seconds,
        "elements_per_second": {
            "fast": elements / fast_seconds,
            "reference": elements / reference_seconds,
            "straightforward": subset_size / straight_seconds,
        },
    }
