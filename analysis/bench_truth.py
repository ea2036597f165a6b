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

``general_rows_benchmark`` measures the same on general rows, where nothing
repeats: standard normal rows times {0.3, 3, 30}, freshly seeded, at n = 10,
1000 and 2**17 in float32 and float64, ``elements`` entries per (dtype, n,
scale).  In one run, per (dtype, n), in alternating rounds on the same rows:
the fast path (once compiled: a warm-up call first; the median of
``repeats`` timed calls, 9 by default, the mpmath cache cleared before each
so the fallback rows are paid for; a call takes some 20 ms, and with fewer
calls a burst of other work on the machine moved a round's ratio by a
third) and the straightforward loop at ``prec`` = 128
bits on a seeded subset of the rows (stated in the result); the median
round's ratio and the spread of the rounds' ratios, the fallback rate, and
the check of every output against ``reference.truths`` bit for bit.  ``compile_seconds`` times the first call
in a fresh interpreter with an empty Numba cache (compilation) and again
with that cache filled (loading); ``row_seconds`` one long float32 row.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from . import fastref, reference
from .config import load as load_config
from .metrics import canonical_bits
from .studies import sweep

GENERAL_DTYPES = ("float32", "float64")
GENERAL_LENGTHS = (10, 1000, 2**17)
GENERAL_SCALES = (0.3, 3.0, 30.0)
GENERAL_ELEMENTS = 2**17  # entries per (dtype, n, scale)
GENERAL_SEED = 20261126
STRAIGHTFORWARD_PREC = 128
LONG_ROW = 2**18  # the single float32 row


def sweep_inputs(cfg):
    """(dtype_name, 2-D array of vectors) for every chunk of the sweep
    ``cfg`` (a Config), exactly the inputs ``sweep.compute_chunk`` uses."""
    for task in sweep.tasks(cfg):
        z, _ = sweep.chunk_vectors(task)
        yield task["dtype"], z


def default_inputs(quick: bool = False):
    return list(sweep_inputs(load_config(None, quick)))


def disagreements(got, expected) -> int:
    """Values that differ bit for bit (NaN == NaN; -0.0 != +0.0)."""
    return int(sum(np.count_nonzero(canonical_bits(g) != canonical_bits(e)) for g, e in zip(got, expected)))


def _subset(z, seed: int, index: int, subset_elements: int | None) -> np.ndarray:
    if subset_elements is None:  # time the straightforward loop on everything
        return z
    rows = max(1, min(len(z), subset_elements // max(1, z.shape[1])))
    pick = np.random.default_rng([seed, index]).choice(len(z), size=rows, replace=False)
    return z[np.sort(pick)]


def _proved(z) -> tuple:
    """reference.truths(z) for a 2-D z, in parts of at most
    reference.MAX_ENTRIES entries (its limit per call; a chunk of the
    default sweep holds 5,727,000), joined again."""
    step = max(1, reference.MAX_ENTRIES // max(1, z.shape[1]))
    parts = [reference.truths(z[i : i + step]) for i in range(0, len(z), step)]
    return tuple(np.concatenate([part[k] for part in parts]) for k in range(len(parts[0])))


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
    _warm_up()
    reference._row.cache_clear()
    fastref.reset_stats()
    start = time.perf_counter()
    fast = [fastref.truths(z) for _, z in chunks]
    fast_seconds = time.perf_counter() - start
    counts = fastref.stats()

    reference._row.cache_clear()
    start = time.perf_counter()
    proved = [_proved(z) for _, z in chunks]
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


# --- general rows ----------------------------------------------------------------------------------


def _warm_up() -> None:
    """Compile (or load) the kernel before anything is timed."""
    fastref.truths(np.zeros((1, 3), np.float32))


def general_rows(dtype: str, n: int, elements: int = GENERAL_ELEMENTS, seed: int = GENERAL_SEED):
    """[(scale, rows)]: max(1, elements // n) standard normal rows of length
    n times each scale, drawn in float64 from default_rng([seed, n, k]) for
    the k-th scale and converted once to ``dtype``."""
    rows = max(1, elements // n)
    out = []
    for k, scale in enumerate(GENERAL_SCALES):
        x = np.random.default_rng([seed, n, k]).standard_normal((rows, n))
        out.append((scale, (scale * x).astype(dtype)))
    return out


def _median_seconds(call, repeats: int) -> float:
    samples = []
    for _ in range(repeats):
        reference._row.cache_clear()  # the fallback rows are paid for in every run
        start = time.perf_counter()
        call()
        samples.append(time.perf_counter() - start)
    return float(np.median(samples))


def general_rows_benchmark(lengths=GENERAL_LENGTHS, dtypes=GENERAL_DTYPES, elements: int = GENERAL_ELEMENTS,
                           repeats: int = 9, straightforward_rows: int | None = None, seed: int = GENERAL_SEED,
                           rounds: int = 5) -> dict:  # fmt: skip
    """The fast path against the straightforward loop on general rows, and
    every output against reference.truths (see the module docstring).

    The machine's speed drifts (other work shares it), so the two are timed
    in ``rounds`` alternating rounds on the same rows: each round times the
    fast path on every row (the median of ``repeats`` calls) and then the
    loop on a fixed seeded subset of ``straightforward_rows`` rows per scale
    (None: max(1, rows per scale // rounds), so that all rounds together
    cost the loop about one pass over the rows).  A round's ratio is its
    fast rate over its loop rate; ``ratio`` is the median round's (the
    rounds sorted by ratio, the middle one, so ``ratio`` is exactly that
    round's ``fast_elements_per_second / straightforward_elements_per_second``),
    ``ratio_min``/``ratio_max`` the spread, ``ratios`` every round's;
    ``ratio_best`` the fastest round's fast rate over the fastest round's
    loop rate (other work only ever slows either down, so the minima are
    the least disturbed estimates of each).
    Returns {"cases": [one record per (dtype, n)], "prec": ..., "elements_per_scale": ...}.
    """
    _warm_up()
    cases = []
    for dtype in dtypes:
        for n in lengths:
            parts = general_rows(dtype, n, elements, seed)
            z = np.concatenate([rows for _, rows in parts])
            reference._row.cache_clear()
            fastref.reset_stats()
            fast = fastref.truths(z)
            counts = fastref.stats()

            per_scale = max(1, len(parts[0][1]) // rounds) if straightforward_rows is None else straightforward_rows
            timed = np.concatenate([_subset(rows, seed, k, per_scale * n) for k, (_, rows) in enumerate(parts)])
            samples = []  # (ratio, fast seconds, loop seconds) per round
            for _ in range(rounds):
                fast_seconds = _median_seconds(lambda z=z: fastref.truths(z), repeats)
                start = time.perf_counter()
                fastref.straightforward_truths(timed, prec=STRAIGHTFORWARD_PREC)
                straight_seconds = time.perf_counter() - start
                samples.append(((z.size / fast_seconds) / (timed.size / straight_seconds), fast_seconds,
                                straight_seconds))  # fmt: skip
            ratios = sorted(r for r, _, _ in samples)
            _, fast_seconds, straight_seconds = sorted(samples)[(rounds - 1) // 2]

            reference._row.cache_clear()
            start = time.perf_counter()
            proved = reference.truths(z)
            reference_seconds = time.perf_counter() - start
            reference._row.cache_clear()
            fast_rate = z.size / fast_seconds
            straight_rate = timed.size / straight_seconds
            cases.append({
                "dtype": dtype, "n": n, "rows": z.shape[0], "elements": z.size, "scales": list(GENERAL_SCALES),
                "fast_seconds": fast_seconds, "fast_elements_per_second": fast_rate,
                "straightforward_seconds": straight_seconds, "straightforward_elements": timed.size,
                "straightforward_elements_per_second": straight_rate,
                "straightforward_subset": timed.size < z.size,
                "ratio": fast_rate / straight_rate, "ratio_min": ratios[0], "ratio_max": ratios[-1],
                "ratios": [r for r, _, _ in samples], "rounds": rounds,
                "ratio_best": (z.size / min(f for _, f, _ in samples)) / (timed.size / min(s for _, _, s in samples)),
                "reference_seconds": reference_seconds,
                "fallback_rows": counts["fallback_rows"], "fallback_elements": counts["fallback_elements"],
                "fallback_rate": counts["fallback_elements"] / counts["elements"],
                "checked_elements": z.size, "disagreements": disagreements(fast, proved),
            })  # fmt: skip
    return {"cases": cases, "prec": STRAIGHTFORWARD_PREC, "elements_per_scale": elements, "repeats": repeats,
            "rounds": rounds, "compiled": fastref.COMPILED}  # fmt: skip


def long_row_seconds(n: int = LONG_ROW, dtype: str = "float32", repeats: int = 7, seed: int = GENERAL_SEED) -> dict:
    """One standard normal row of n entries (once compiled): the median of
    ``repeats`` calls of fastref.truths, and the check against reference."""
    _warm_up()
    z = np.random.default_rng([seed, n]).standard_normal((1, n)).astype(dtype)
    seconds = _median_seconds(lambda: fastref.truths(z), repeats)
    return {"n": n, "dtype": dtype, "seconds": seconds, "repeats": repeats,
            "disagreements": disagreements(fastref.truths(z), reference.truths(z))}  # fmt: skip


_FIRST_CALL = (
    "import time; t = time.perf_counter(); import numpy as np; from analysis import fastref; "
    "fastref.truths(np.zeros((1, 3), np.float32)); print(time.perf_counter() - t)"
)


def compile_seconds() -> dict:
    """The first call of fastref.truths in a fresh interpreter (imports
    included) with an empty Numba cache (it compiles the kernel and writes
    the cache), then again with that cache (it loads it)."""
    root = Path(__file__).resolve().parent.parent
    out = {"compiled": fastref.COMPILED}
    with tempfile.TemporaryDirectory(prefix="softmax-numba-cache-") as cache:
        env = {**os.environ, "NUMBA_CACHE_DIR": cache, "PYTHONPATH": str(root)}
        for run in ("cold", "warm"):
            result = subprocess.run([sys.executable, "-c", _FIRST_CALL], cwd=root, env=env, capture_output=True,
                                    text=True, check=True)  # fmt: skip
            out[f"{run}_seconds"] = float(result.stdout.split()[-1])
    return out
