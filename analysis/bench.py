"""``make bench``: what stability costs in time, on this machine, in one run.

``python -m analysis bench [--quick] [--out PATH]`` measures

- the softmax family (every ``(function, method)`` of
  :data:`analysis.softmax.IMPLEMENTATIONS` for softmax and logsumexp, with
  ``summation="numpy"`` and with the study's default ``"recursive"``, a
  sequential ``np.add.accumulate``), ``scipy.special.softmax`` /
  ``logsumexp`` and the memory-bandwidth floor ``np.copyto(out, x)`` (one
  read and one write of the same array) at n in {10, 1000, 10^6} in float32
  and float64, on ``rows x n`` arrays of the same number of elements;
  times are medians of repeated runs (timeit style: a warm-up call, then at
  least 7 repeats of a loop long enough to last a few milliseconds) with the
  quartiles and the extremes, and ratios to naive, to SciPy and to the floor;
  the methods that step through the columns in Python (COLUMN_LOOPS) only up
  to n = COLUMN_LOOP_MAX_N, the records left out listed in ``left_out``;
- the correctly rounded ground truth, fast path against the straightforward
  mpmath loop (:mod:`analysis.bench_truth`, when it is importable): on the
  sweep's vectors, and on general rows (standard normal x {0.3, 3, 30} at
  n = 10, 1000, 2**17 in float32 and float64) side by side with the loop at
  128 bits, every output checked against the proved path; the kernel's
  compile time (a fresh interpreter, empty Numba cache) and one 2**18-entry
  float32 row;
- the report's file size and its render time in headless Chromium (when
  installed: :func:`analysis.report.browser.measure`);
- ``python -m analysis report`` cold (fresh, empty cache and data folder,
  and an empty Numba cache, so the kernel's compilation is counted as on a
  fresh clone; not under ``--quick``) and warm (again, nothing changed), in a
  subprocess, in a temporary folder: the user's ``reports/`` is never touched;
- the sweep's points per second at two grid sizes (the [quick] grid and the
  default grid), each from an empty cache;
- the machine: CPU model, cores, numpy's SIMD features, BLAS, thread
  settings, versions and the date.

It writes ``reports/data/bench.json`` atomically and prints a table.  Speed
is measured, never asserted; ``--quick`` runs tiny sizes for the test.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import hashlib
import inspect
import io
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from . import softmax as sm
from .config import load as load_config
from .store.files import DATA_DIR, ROOT, atomic_write, jsonable
from .sweep import simd_features

try:
    from .bench_truth import (
        compile_seconds,
        general_rows_benchmark,
        ground_truth_benchmark,
        long_row_seconds,
        sweep_inputs,
    )
except ImportError as err:  # written in another branch; the bench runs without it
    ground_truth_benchmark = sweep_inputs = general_rows_benchmark = long_row_seconds = compile_seconds = None
    _TRUTH_MISSING = f"analysis.bench_truth is not importable ({err})"
else:
    _TRUTH_MISSING = ""

BENCH_PATH = DATA_DIR / "bench.json"
FUNCTIONS = ("softmax", "logsumexp")
SUMMATIONS = ("numpy", "recursive")
DTYPES = ("float32", "float64")
LENGTHS = (10, 1000, 10**6)
ELEMENTS = 10**6  # every array has rows * n = ELEMENTS
REPEATS = 9
MIN_SECONDS = 0.02  # each timed loop lasts at least this long (a few ms: timer and scheduler noise)
QUICK = {"lengths": (10, 100), "elements": 10**4, "repeats": 7, "min_seconds": 0.0005}
QUICK_TRUTH_SUBSET = 2_000  # elements per chunk for the mpmath loop under --quick
# The cost targets: shifted softmax at n = 10^6 in float32 at most 1.6 times naive and no slower than SciPy.
TARGET = {"function": "softmax", "dtype": "float32", "n": 10**6, "vs_naive": 1.6, "vs_scipy": 1.0}
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
# Methods whose cost grows with n at a fixed number of elements: they step
# through the columns in Python, one numpy call per column (the online method
# also one exp of the model arithmetic per column).  Timed up to
# COLUMN_LOOP_MAX_N: one call at n = 10^5 in float32 took 81 s (online) and
# 1.25 s (shifted_kahan), so at 10^6 a record (a warm-up and 9 repeats) would
# take hours and about 2 minutes, and make bench would not finish.
COLUMN_LOOPS = ("online", "shifted_kahan")
COLUMN_LOOP_MAX_N = 1000


# --- timing ----------------------------------------------------------------------------


def time_call(call, repeats: int = REPEATS, min_seconds: float = MIN_SECONDS) -> dict:
    """Seconds per call: one warm-up call, then a loop count doubled until a
    loop lasts ``min_seconds``, then ``repeats`` timed loops.  The median and
    the spread (quartiles, min, max) of the per-call times."""
    call()
    loops = 1
    while True:
        start = time.perf_counter()
        for _ in range(loops):
            call()
        if time.perf_counter() - start >= min_seconds:
            break
        loops *= 2
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(loops):
            call()
        samples.append((time.perf_counter() - start) / loops)
    q1, median, q3 = np.percentile(samples, [25, 50, 75]).tolist()
    return {"median": median, "q1": q1, "q3": q3, "min": min(samples), "max": max(samples),
            "loops": loops, "repeats": repeats}  # fmt: skip


def _takes_summation(implementation) -> bool:
    return "summation" in inspect.signature(implementation).parameters


def candidates(function: str, z: np.ndarray) -> list[tuple[str, str, object]]:
    """(method, summation, call) for every implementation of ``function`` in
    the registry and SciPy's; ``summation`` is "-" where it does not apply."""
    import scipy.special

    out = []
    for (name, method), implementation in sm.IMPLEMENTATIONS.items():
        if name != function:
            continue
        if _takes_summation(implementation):
            for summation in SUMMATIONS:
                out.append((method, summation, lambda f=implementation, s=summation: f(z, summation=s)))
        else:
            out.append((method, "-", lambda f=implementation: f(z)))
    peer = scipy.special.softmax if function == "softmax" else scipy.special.logsumexp
    out.append(("scipy", "-", lambda: peer(z, axis=-1)))
    return out


def implementation_records(lengths, elements: int, repeats: int, min_seconds: float, log=print,
                           budget: float | None = None, left_out: list | None = None) -> list[dict]:  # fmt: skip
    """One record per (function, method, summation, dtype, n), plus the floor;
    with a ``budget`` in seconds, the (dtype, n) blocks after the first that
    would start once it is spent are left out.  The COLUMN_LOOPS methods
    beyond COLUMN_LOOP_MAX_N are left out, each (function, method,
    summation, dtype, n) appended to ``left_out`` when it is given."""
    rng = np.random.default_rng(20261125)
    records = []
    start = time.perf_counter()
    for dtype in DTYPES:
        for n in lengths:
            if budget is not None and records and time.perf_counter() - start > budget:
                log(f"  {dtype} n={n}: left out (the budget of {budget} s is spent)")
                continue
            rows = max(elements // n, 1)
            z = rng.standard_normal((rows, n)).astype(dtype)
            out = np.empty_like(z)
            base = {"dtype": dtype, "n": n, "shape": [rows, n], "elements": rows * n}
            floor = time_call(lambda z=z, out=out: np.copyto(out, z), repeats, min_seconds)
            records.append({"function": "copy", "method": "floor", "summation": "-", **base, "seconds": floor})
            for function in FUNCTIONS:
                for method, summation, call in candidates(function, z):
                    if method in COLUMN_LOOPS and n > COLUMN_LOOP_MAX_N:
                        if left_out is not None:
                            left_out.append({"function": function, "method": method, "summation": summation,
                                             "dtype": dtype, "n": n})  # fmt: skip
                        log(f"  {dtype} n={n} {function} {method} {summation}: left out (a Python loop over "
                            f"the columns; timed up to n = {COLUMN_LOOP_MAX_N})")  # fmt: skip
                        continue
                    with np.errstate(all="ignore"):
                        seconds = time_call(call, repeats, min_seconds)
                    records.append(
                        {"function": function, "method": method, "summation": summation, **base, "seconds": seconds}
                    )
                    log(f"  {dtype} n={n} {function} {method} {summation}: {seconds['median'] * 1e3:.3f} ms")
    return add_ratios(records)


def add_ratios(records: list[dict]) -> list[dict]:
    """Ratios of medians: to the naive method of the same function and
    summation (SciPy: to naive with summation="numpy", the same np.sum), to
    SciPy's function and to the floor, all at the same dtype and n."""

    def median(function, method, summation, dtype, n):
        for r in records:
            if (r["function"], r["method"], r["summation"], r["dtype"], r["n"]) == (function, method, summation,
                                                                                     dtype, n):  # fmt: skip
                return r["seconds"]["median"]
        return None

    for r in records:
        t, dtype, n = r["seconds"]["median"], r["dtype"], r["n"]
        floor = median("copy", "floor", "-", dtype, n)
        r["per_element_ns"] = t / r["elements"] * 1e9
        r["vs_floor"] = t / floor if floor else None
        if r["function"] == "copy":
            r["vs_naive"] = r["vs_scipy"] = None
            continue
        naive = median(r["function"], "naive", "numpy" if r["method"] == "scipy" else r["summation"], dtype, n)
        scipy_t = median(r["function"], "scipy", "-", dtype, n)
        r["vs_naive"] = t / naive if naive else None
        r["vs_scipy"] = t / scipy_t if scipy_t else None
    return records


def _overlap(a: dict, b: dict | None) -> bool | None:
    """Whether the quartile ranges of two timings overlap (then their order is not resolved)."""
    if b is None:
        return None
    return not (a["seconds"]["q3"] < b["seconds"]["q1"] or b["seconds"]["q3"] < a["seconds"]["q1"])


def targets(records: list[dict]) -> list[dict]:
    """The issue's targets for shifted softmax, per summation, as measured."""
    out = []
    for r in records:
        if (r["function"], r["method"], r["dtype"], r["n"]) != (
            TARGET["function"], "shifted", TARGET["dtype"], TARGET["n"]
        ):  # fmt: skip
            continue
        peer = next((q for q in records if (q["function"], q["method"], q["dtype"], q["n"]) ==
                     (r["function"], "scipy", r["dtype"], r["n"])), None)  # fmt: skip
        out.append({
            "function": r["function"], "n": r["n"], "dtype": r["dtype"], "summation": r["summation"],
            "vs_naive": r["vs_naive"], "vs_scipy": r["vs_scipy"],
            "vs_naive_target": TARGET["vs_naive"], "vs_scipy_target": TARGET["vs_scipy"],
            "met_vs_naive": r["vs_naive"] is not None and r["vs_naive"] <= TARGET["vs_naive"],
            "met_vs_scipy": r["vs_scipy"] is not None and r["vs_scipy"] <= TARGET["vs_scipy"],
            "quartiles_overlap_scipy": _overlap(r, peer),
        })  # fmt: skip
    return out


# --- the report and the sweep -----------------------------------------------------------


def report_times(quick: bool, workdir: Path) -> dict:
    """``python -m analysis report`` twice in a subprocess, with a fresh,
    empty cache and data folder under ``workdir``: cold, then warm."""
    cache, data, html = workdir / "cache", workdir / "data", workdir / "report.html"
    command = [sys.executable, "-m", "analysis", "report", "--data-dir", str(data), "--out", str(html)]
    if quick:
        command.append("--quick")
    env = {**os.environ, "SOFTMAX_STUDY_CACHE": str(cache), "PYTHONPATH": str(ROOT)}
    if not quick:  # as on a fresh clone: the compiled kernel is not cached yet
        env["NUMBA_CACHE_DIR"] = str(workdir / "numba-cache")
    seconds = {}
    for run in ("cold", "warm"):
        start = time.perf_counter()
        result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
        seconds[run] = time.perf_counter() - start
        if result.returncode != 0:
            raise RuntimeError(f"`{' '.join(command[1:])}` failed ({run}): {result.stderr.strip()[-300:]}")
    digest = hashlib.sha256(html.read_bytes()).hexdigest()
    from .report import browser

    try:  # the file a reader opens: its size, and its render time in headless Chromium (if installed)
        page = browser.measure(html, runs=1 if quick else 3)
    except (RuntimeError, OSError, subprocess.SubprocessError) as err:
        page = {"bytes": html.stat().st_size, "load_ms": None, "screenshot_seconds": None, "error": str(err)[-300:]}
    return {
        "page": page,
        "cold_seconds": seconds["cold"],
        "warm_seconds": seconds["warm"],
        "command": "python -m analysis report" + (" --quick" if quick else ""),
        "grid": "quick" if quick else "default",
        "html_sha256": digest,
        "targets": {"cold_seconds": 120, "warm_seconds": 10},
    }


def sweep_rates(configs: dict, workdir: Path) -> list[dict]:
    """Points per second of ``analysis.sweep.run`` (in this process, with its
    worker pool) for each named config, each from an empty cache."""
    from . import sweep

    out = []
    for name, cfg in configs.items():
        folder = workdir / f"sweep-{name}"
        start = time.perf_counter()
        sweep.run(cfg, data_dir=folder / "data", cache_dir=folder / "cache")
        seconds = time.perf_counter() - start
        manifest = json.loads((folder / "data" / "manifest.json").read_text())
        chunks = len(sweep.tasks(cfg))
        out.append({"grid": name, "points": manifest["points"], "chunks": chunks, "seconds": seconds,
                    "points_per_second": manifest["points"] / seconds, "workers": cfg.workers,
                    "lengths": list(cfg.lengths), "dtypes": list(cfg.dtypes)})  # fmt: skip
    return out


def ground_truth(cfg, subset_elements: int | None = 50_000, quick: bool = False) -> dict | None:
    """The fast ground truth against the straightforward mpmath loop, or None
    (with the reason in ``ground_truth_missing``) when it is not available.

    ``subset_elements``: elements per sweep chunk on which the (slow)
    straightforward loop is timed and then extrapolated to the chunk; None
    times it on every input (about 12 minutes on the default sweep, 2 cores).
    Under ``quick`` the general rows are tiny and the compile time is not
    measured (a fresh compilation takes seconds)."""
    if ground_truth_benchmark is None:
        return None
    out = ground_truth_benchmark(sweep_inputs(cfg), subset_elements=subset_elements)
    if quick:
        out["general"] = general_rows_benchmark(lengths=(10, 100), elements=300, repeats=3)
        out["long_row"] = long_row_seconds(n=2**10, repeats=3)
        out["compile"] = None
    else:
        out["general"] = general_rows_benchmark()
        out["long_row"] = long_row_seconds()
        out["compile"] = compile_seconds()
    return out


# --- the machine -------------------------------------------------------------------------


def _cpuinfo() -> dict:
    model, physical = None, set()
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        text = ""
    package = core = None
    for line in text.splitlines() + [""]:
        key, _, value = (part.strip() for part in line.partition(":"))
        if key == "model name" and model is None:
            model = value
        elif key == "physical id":
            package = value
        elif key == "core id":
            core = value
        elif not line.strip():
            if core is not None:
                physical.add((package, core))
            package = core = None
    return {"model": model or platform.processor() or None, "physical_cores": len(physical) or None}


def _blas() -> dict:
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        config = np.show_config(mode="dicts")
    deps = (config or {}).get("Build Dependencies", {})
    return {name: deps[name] for name in ("blas", "lapack") if name in deps}


def machine() -> dict:
    from importlib import metadata

    return {
        "cpu_model": _cpuinfo()["model"],
        "logical_cores": os.cpu_count(),
        "physical_cores": _cpuinfo()["physical_cores"],
        "usable_cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "platform": platform.platform(),
        "numpy_simd": simd_features(),
        "blas": _blas(),
        "threads": {name: os.environ.get(name) for name in THREAD_VARIABLES},
        "python": sys.version.split()[0],
        "versions": {name: metadata.version(name) for name in ("numpy", "scipy", "mpmath", "gmpy2")},
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        # Other work on the machine slows every timing; the ratios suffer less.
        "load_average": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
    }


# --- output --------------------------------------------------------------------------------


def _ratio(x) -> str:
    return "-" if x is None else f"{x:.2f}"


def table(document: dict) -> str:
    """The readable summary printed at the end of a run."""
    lines = []
    m = document["machine"]
    lines.append(f"machine: {m['cpu_model']}, {m['logical_cores']} logical / {m['physical_cores']} physical cores, "
                 f"numpy {m['versions']['numpy']}, {m['date']}")  # fmt: skip
    head = f"{'dtype':8} {'n':>8} {'shape':>14} {'function':10} {'method':10} {'summation':10} "
    head += f"{'median ms':>10} {'IQR ms':>15} {'ns/elem':>8} {'/naive':>7} {'/scipy':>7} {'/floor':>7}"
    lines.append(head)
    for r in document["implementations"]:
        s = r["seconds"]
        lines.append(
            f"{r['dtype']:8} {r['n']:>8} {'x'.join(map(str, r['shape'])):>14} {r['function']:10} {r['method']:10} "
            f"{r['summation']:10} {s['median'] * 1e3:>10.3f} {s['q1'] * 1e3:>7.3f}-{s['q3'] * 1e3:<7.3f} "
            f"{r['per_element_ns']:>8.2f} {_ratio(r['vs_naive']):>7} {_ratio(r['vs_scipy']):>7} "
            f"{_ratio(r['vs_floor']):>7}"
        )
    for t in document["targets"]:
        lines.append(
            f"target, shifted {t['function']} n={t['n']} {t['dtype']}, summation={t['summation']}: "
            f"{_ratio(t['vs_naive'])}x naive "
            f"(target <= {t['vs_naive_target']}: {'met' if t['met_vs_naive'] else 'MISSED'}), "
            f"{_ratio(t['vs_scipy'])}x scipy (target <= {t['vs_scipy_target']}: "
            f"{'met' if t['met_vs_scipy'] else 'MISSED'})"
        )
    rep = document["report"]
    if rep is not None:
        lines.append(f"report ({rep['grid']} grid): cold {rep['cold_seconds']:.1f} s, warm {rep['warm_seconds']:.1f} s")
        page = rep.get("page") or {}
        shown = "not measured (no chromium)" if page.get("load_ms") is None else (
            f"laid out {page['load_ms']:.0f} ms after navigation, a whole headless screenshot run "
            f"{page['screenshot_seconds']:.1f} s ({page.get('browser')})")  # fmt: skip
        lines.append(f"report file: {page.get('bytes', 0) / 1e6:.2f} MB; {shown}")
    for s in document["sweep"]:
        lines.append(f"sweep {s['grid']} grid: {s['points']} points in {s['seconds']:.1f} s = "
                     f"{s['points_per_second']:.0f} points/s")  # fmt: skip
    g = document["ground_truth"]
    if g is None:
        lines.append(f"ground truth: not measured ({document['ground_truth_missing']})")
    else:
        lines.append(f"ground truth on the sweep's vectors: {g.get('speedup')}x faster than the mpmath loop, "
                     f"fallback rate {g.get('fallback_rate')}, {g.get('disagreements')} disagreements "
                     f"on {g.get('elements')} elements")  # fmt: skip
        lines.extend(truth_lines(g))
    return "\n".join(lines)


def _spread(c: dict) -> str:
    """The rounds' ratios, min-max ('' for a record without them)."""
    return f"{c['ratio_min']:.0f}-{c['ratio_max']:.0f}x" if "ratio_min" in c else ""


def _best(c: dict) -> str:
    """The ratio of the fastest rounds ('' for a record without it)."""
    return f"{c['ratio_best']:.0f}x" if "ratio_best" in c else ""


def truth_lines(g: dict) -> list[str]:
    """The general-row table of the ground truth, the long row and the compile time."""
    general = g.get("general")
    if not general:
        return []
    lines = [f"ground truth on general rows (standard normal x {{0.3, 3, 30}}; loop at {general['prec']} bits):",
             f"{'dtype':8} {'n':>7} {'elements':>9} {'fast /s':>12} {'loop /s':>10} {'ratio':>7} "
             f"{'spread':>11} {'best':>6} {'fallback':>9} {'wrong':>6}"]  # fmt: skip
    for c in general["cases"]:
        loop = f"{c['straightforward_elements_per_second']:>10.4g}" + ("*" if c["straightforward_subset"] else " ")
        lines.append(f"{c['dtype']:8} {c['n']:>7} {c['elements']:>9} {c['fast_elements_per_second']:>12.4g} "
                     f"{loop} {c['ratio']:>6.0f}x {_spread(c):>11} {_best(c):>6} {c['fallback_rate']:>9.2g} "
                     f"{c['disagreements']:>6}")  # fmt: skip
    if any(c["straightforward_subset"] for c in general["cases"]):
        lines.append("* the loop timed on a seeded subset of the rows")
    row = g.get("long_row")
    if row:
        lines.append(f"one {row['n']}-entry {row['dtype']} row: {row['seconds'] * 1e3:.1f} ms "
                     f"({row['disagreements']} disagreements)")  # fmt: skip
    compiled = g.get("compile")
    if compiled:
        lines.append(f"first call in a fresh interpreter: {compiled['cold_seconds']:.1f} s with an empty Numba "
                     f"cache (compiling), {compiled['warm_seconds']:.1f} s with it filled")  # fmt: skip
    return lines


def run(quick: bool = False, log=print, truth_subset: int | None = 50_000) -> dict:
    settings = QUICK if quick else {"lengths": LENGTHS, "elements": ELEMENTS, "repeats": REPEATS,
                                     "min_seconds": MIN_SECONDS}  # fmt: skip
    default = load_config(None)
    small = load_config(None, quick=True)
    document = {"schema": 1, "quick": quick, "machine": machine()}
    log("implementations ...")
    document["left_out"] = []
    document["implementations"] = implementation_records(
        settings["lengths"], settings["elements"], settings["repeats"], settings["min_seconds"], log,
        left_out=document["left_out"],
    )
    document["targets"] = targets(document["implementations"])
    document["machine"]["load_average_after_timings"] = list(os.getloadavg()) if hasattr(os, "getloadavg") else None
    with tempfile.TemporaryDirectory(prefix="softmax-bench-") as workdir:
        workdir = Path(workdir)
        log("sweep at two grid sizes ...")
        grids = {"quick-n2": replace(small, lengths=small.lengths[:1]), "quick": small} if quick else {
            "quick": small, "default": default}  # fmt: skip
        document["sweep"] = sweep_rates(grids, workdir)
        log("make report, cold and warm ...")
        document["report"] = report_times(quick, workdir / "report")
    log("ground truth ...")
    # --quick is a schema check: a small side-by-side subset keeps it to seconds.
    truth = ground_truth(small if quick else default, min(truth_subset or QUICK_TRUTH_SUBSET, QUICK_TRUTH_SUBSET)
                         if quick else truth_subset, quick=quick)  # fmt: skip
    document["ground_truth"] = truth
    document["ground_truth_missing"] = _TRUTH_MISSING if truth is None else None
    document["settings"] = {"repeats": settings["repeats"], "min_seconds": settings["min_seconds"],
                            "elements": settings["elements"], "lengths": list(settings["lengths"])}  # fmt: skip
    return jsonable(document)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m analysis bench", description="Measure the cost of stability.")
    parser.add_argument("--quick", action="store_true", help="tiny sizes (a schema check, not a measurement)")
    parser.add_argument("--out", type=Path, default=BENCH_PATH, help="output file (default reports/data/bench.json)")
    parser.add_argument(
        "--truth-subset", type=int, default=50_000, metavar="N",
        help="elements per sweep chunk on which the straightforward mpmath loop is timed (0: all; ~12 min on 2 cores)",
    )  # fmt: skip
    args = parser.parse_args(argv)
    if args.truth_subset < 0:
        parser.error(f"--truth-subset {args.truth_subset} is negative")
    if args.out.exists() and args.out.is_dir():
        parser.error(f"--out {args.out} is a folder")
    try:
        document = run(args.quick, log=lambda s: print(s, file=sys.stderr), truth_subset=args.truth_subset or None)
    except (RuntimeError, OSError) as err:
        print(f"error: {err}; {args.out} is unchanged", file=sys.stderr)
        return 1
    atomic_write(args.out, (json.dumps(document, indent=1, sort_keys=True, allow_nan=False) + "\n").encode())
    print(table(document))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
