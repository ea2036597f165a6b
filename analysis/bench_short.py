"""The short benchmark ``make report`` runs when no timings exist yet
(neither bench.json nor bench_short.json in the data folder): the
implementations of :mod:`analysis.bench` only, on small arrays, stopped once
a time budget is spent, into ``bench_short.json``, so that the report's Cost
of stability section has numbers from this machine.  ``make bench`` measures
the full set (:mod:`analysis.bench`)."""

from __future__ import annotations

import json
import os
from pathlib import Path

from .bench import implementation_records, machine, targets
from .store.files import DATA_DIR, atomic_write, jsonable

# Seconds, not minutes: 1000-element arrays (rows of 100 and of 10: the methods in the
# model arithmetic that loop over a row's entries, such as "online", take ~0.7 s a call
# at n = 1000), 3 repeats, (format, n) blocks until 10 s are spent.
SHORT = {"lengths": (100, 10), "elements": 1000, "repeats": 3, "min_seconds": 0.001, "budget": 10.0}
SHORT_PATH = DATA_DIR / "bench_short.json"


def run_short(log=print) -> dict:
    """The short benchmark: the implementations only, at SHORT's sizes, with
    the machine, stopped once its budget is spent (a busy machine measures
    fewer (format, n) blocks: ``settings.measured`` lists them); no sweep,
    report or ground-truth timings (``make bench`` measures those).  Same
    schema as bench.json, with ``"short": true``."""
    document = {"schema": 1, "quick": False, "short": True, "machine": machine()}
    document["implementations"] = implementation_records(
        SHORT["lengths"], SHORT["elements"], SHORT["repeats"], SHORT["min_seconds"], log, SHORT.get("budget")
    )
    document["targets"] = targets(document["implementations"])
    document["machine"]["load_average_after_timings"] = list(os.getloadavg()) if hasattr(os, "getloadavg") else None
    document["sweep"] = []
    document["report"] = None
    document["ground_truth"] = None
    document["ground_truth_missing"] = "the short benchmark of make report does not time it; make bench does"
    document["settings"] = {"repeats": SHORT["repeats"], "min_seconds": SHORT["min_seconds"],
                            "elements": SHORT["elements"], "lengths": list(SHORT["lengths"]),
                            "budget_seconds": SHORT.get("budget"),
                            "measured": sorted({f"{r['dtype']} n={r['n']}" for r in document["implementations"]})}
    return jsonable(document)


def write_short(data_dir: Path, log=print) -> Path:
    """Run the short benchmark into ``data_dir``/bench_short.json (atomically)."""
    path = Path(data_dir) / SHORT_PATH.name
    document = run_short(log)
    atomic_write(path, (json.dumps(document, indent=1, sort_keys=True, allow_nan=False) + "\n").encode())
    return path
