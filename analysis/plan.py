"""The pre-flight plan of a sweep: how many chunks and rows, the memory a
worker needs for its largest chunk, and a rough time, checked against the
machine before any work starts (``python -m analysis sweep --dry-run``
prints it).

The costs are measured, not derived: ``compute_chunk`` of the full study's
two_level float32 chunks under ``tracemalloc`` (numpy reports its buffers to
it) on the development machine, 2026-12-06: n = 1000, 5,727 vectors, 2
methods: peak 602 MB (105 bytes per entry), 38 s; n = 100, 8 methods: 315
bytes per entry, 39 s for 572,700 entries.  Hence about 40 + 36 bytes per
entry and method, rounded up below, and 3 to 9 µs per entry and method.  The
time is a rough guide (it depends on the CPU and the load); the memory is
what the check relies on, with a factor 1.5 of margin.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

BYTES_PER_ENTRY = 48  # the chunk's input and its truths
BYTES_PER_ENTRY_METHOD = 40  # each method's outputs and their errors
WORKER_BASE = 200 * 2**20  # an idle worker: Python, numpy, numba, the kernel
MARGIN = 1.5
SECONDS_PER_ENTRY_METHOD = 6e-6


class PlanError(ValueError):
    """A plan this machine cannot run; the message says why and what to change."""


@dataclass(frozen=True)
class Plan:
    chunks: int
    rows: int  # at most: vectors that overflow their format are left out
    largest: tuple[str, str, int, int]  # family, dtype, n, vectors of the largest chunk
    bytes_per_worker: int
    workers: int
    seconds: float
    available: int | None  # bytes of memory available now (None: unknown)


def available_memory() -> int | None:
    """MemAvailable of /proc/meminfo, else free pages (os.sysconf), in bytes."""
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, AttributeError):
        return None


def _vectors(task: dict) -> int:
    if task["family"] == "two_level":
        return len(task["offsets"]) * len(task["gaps"])
    return len(task["scales"]) * task["draws"]


def make(cfg) -> Plan:
    """The plan of the sweep of ``cfg`` (an analysis.config.Config)."""
    from .studies.sweep import tasks

    todo = tasks(cfg)
    rows, work, largest, peak = 0, 0.0, ("", "", 0, 0), 0
    for task in todo:
        vectors, methods = _vectors(task), len(task["methods"])
        entries = vectors * task["n"]
        rows += vectors * len(task["functions"]) * methods
        work += entries * methods * len(task["functions"]) / 3
        need = entries * (BYTES_PER_ENTRY + BYTES_PER_ENTRY_METHOD * methods)
        if need > peak:
            peak, largest = need, (task["family"], task["dtype"], task["n"], vectors)
    workers = max(1, min(cfg.workers, len(todo)))
    return Plan(
        chunks=len(todo),
        rows=rows,
        largest=largest,
        bytes_per_worker=int(WORKER_BASE + peak * MARGIN),
        workers=workers,
        seconds=work * SECONDS_PER_ENTRY_METHOD / workers,
        available=available_memory(),
    )


def _gib(x: float) -> str:
    return f"{x / 2**30:.2f} GiB"


def check(plan: Plan) -> None:
    """PlanError when the workers' memory exceeds what is available."""
    if plan.available is not None and plan.bytes_per_worker * plan.workers > plan.available:
        family, dtype, n, vectors = plan.largest
        raise PlanError(
            f"the sweep needs about {_gib(plan.bytes_per_worker)} per worker x {plan.workers} worker(s) "
            f"(largest chunk: {family} {dtype} n={n}, {vectors} vectors) but {_gib(plan.available)} is available; "
            f"lower the largest of lengths or the workers"
        )


def describe(plan: Plan, data_dir) -> str:
    family, dtype, n, vectors = plan.largest
    available = "unknown" if plan.available is None else _gib(plan.available)
    return "\n".join([
        f"plan for {data_dir}:",
        f"  chunks: {plan.chunks}; rows: at most {plan.rows:,}",
        f"  largest chunk: {family} {dtype} n={n}, {vectors} vectors",
        f"  memory: about {_gib(plan.bytes_per_worker)} per worker x {plan.workers} (available: {available})",
        f"  time: roughly {plan.seconds / 60:.1f} min on {plan.workers} worker(s), if no chunk is cached",
        "  (also run: the smaller studies, each skipped when up to date)",
    ])  # fmt: skip
