"""The pipeline: every artifact of the data folder brought up to date, each
computed only when its key changed, and ``python -m analysis report``: the
stale studies, then the report from the files alone.

The artifacts besides the sweep's (:mod:`analysis.sweep`):

- ``gstar.csv`` and ``logsoftmax.json``: the log-softmax study (:mod:`analysis.studies.logsoftmax`);
- ``examples.json``: the Background section's examples (:mod:`analysis.studies.examples`);
- ``methods_real.json``: every method on the MNIST logits (:mod:`analysis.studies.methods_real`);
- ``bhh2021.json`` (+ ``bhh2021_points.json`` for the figures): the
  reproduction of Blanchard, Higham & Higham 2021 (:mod:`analysis.studies.bhh2021`);
- ``bounds.json``: the theorems' bounds against the sweep's vectors
  (:func:`analysis.studies.bounds.measure_sweep`);
- ``special_values.json``: the special-values table (:mod:`analysis.studies.special`);
- ``worst_cases.json``: the worst-case search (:mod:`analysis.studies.worstcase`),
  each (function, method, format) cached under reports/.cache;
- ``host.json``: numpy's exp/log and their effect on the study at every SIMD
  dispatch level of this CPU (:mod:`analysis.studies.hostlib`), one worker process
  per level started with its ``NPY_DISABLE_CPU_FEATURES``.

Host-dependent by design (declared in :mod:`analysis.store.registry` and
recorded in the manifest): ``host.json``, and the files with SciPy's results
(``special_values.json``, ``methods_real.json``; ``sweep.parquet`` too when
the study's methods include "scipy"), since SciPy calls numpy's exp.  Every
other file is the same bytes on every CPU: the methods run in the model
arithmetic (:mod:`analysis.crmath`).

Each artifact is skipped when the manifest says it was made with the same
key (the code it imports, package versions, settings) and its checksums
still match; every file is written atomically, the manifest last.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

from . import sweep
from .config import data_dir_argument
from .formats import STUDY_DTYPES
from .store import folder, registry
from .store import manifest as store_manifest
from .store.files import DATA_DIR, atomic_write, json_bytes, load_cached, store_cached
from .store.tables import gstar_csv
from .sweep import CACHE_DIR, versions

HERE = Path(__file__).parent


# --- the smaller studies ------------------------------------------------------------------

QUICK_REAL_ROWS = 250  # --quick: the first 250 of the 2,500 vectors


def _command_of(quick: bool) -> str:
    return "python -m analysis sweep" + (" --quick" if quick else "")


def produce(data_dir: Path, name: str, settings, compute) -> bool:
    """Write artifact ``name`` (``compute()`` gives its files as bytes)
    unless the manifest says it is up to date; True if recomputed."""
    key = registry.key(name, settings)
    if store_manifest.up_to_date(data_dir, name, key):
        return False
    store_manifest.record(data_dir, name, key, settings, compute())
    return True


def logsoftmax_outputs(data_dir: Path = DATA_DIR, quick: bool = False) -> Path:
    """The log-softmax study (analysis.studies.logsoftmax.study): gstar.csv and
    logsoftmax.json, unless up to date (then this takes milliseconds; a
    cold run takes a few seconds)."""

    def compute():
        from .studies import logsoftmax

        study = logsoftmax.study(quick)
        document = {"quick": quick, "versions": versions(), "command": _command_of(quick), **study}
        return {"gstar.csv": gstar_csv(study["gstar"]), "logsoftmax.json": json_bytes(document)}

    produce(Path(data_dir), "logsoftmax", {"quick": quick}, compute)
    return Path(data_dir)


def methods_real_outputs(data_dir: Path = DATA_DIR, quick: bool = False) -> Path:
    """analysis.studies.methods_real.real_data_errors: methods_real.json, unless up to date."""

    def compute():
        from .studies import methods_real

        rows = QUICK_REAL_ROWS if quick else None
        document = {"quick": quick, "rows": rows or "all", "versions": versions(), "command": _command_of(quick),
                    "formats": methods_real.real_data_errors(rows)}  # fmt: skip
        return {"methods_real.json": json_bytes(document)}

    produce(Path(data_dir), "methods_real", {"quick": quick}, compute)
    return Path(data_dir)


def examples_outputs(data_dir: Path, dtypes) -> Path:
    """analysis.studies.examples: examples.json, unless up to date."""

    def compute():
        from .studies import examples

        return {"examples.json": json_bytes(examples.study(dtypes))}

    produce(Path(data_dir), "examples", {"dtypes": list(dtypes)}, compute)
    return Path(data_dir)


# --- the studies computed side by side on the worker processes ----------------------------


# --quick (a small grid for tests): the first QUICK_VECTORS MNIST vectors and a
# worst-case search of QUICK_BUDGET evaluations from one restart, in the first
# format of [worstcase] only (the searches are most of a quick study's time).
QUICK_VECTORS = 250
QUICK_BUDGET = 60


def bhh2021_files(quick: bool = False) -> dict:
    from . import datasets
    from .studies import bhh2021

    _, logits = datasets.mnist_logits()
    if quick:
        logits = logits[:QUICK_VECTORS]
    document, points = bhh2021.study(logits)
    return {"bhh2021.json": document, "bhh2021_points.json": {k: points[k] for k in ("float16", "bfloat16")}}


def bounds_files(cfg) -> dict:
    from .studies import bounds

    return {"bounds.json": bounds.measure_sweep(cfg)}


def special_files() -> dict:
    from .studies import special

    records = special.table()
    return {
        "special_values.json": {
            "match_ulps": special.MATCH_ULPS,
            "records": records,
            "mismatches": special.mismatches(records),
            "masked": special.masked_behaviour(records),
        }
    }


def _case_key(function: str, method: str, dtype_name: str, wcfg) -> str:
    task = {"function": function, "method": method, "dtype": dtype_name, **wcfg.as_dict()}
    return sweep.task_key(task, registry.BY_NAME["worstcase"].code_hash(), versions())


def worst_case_record(function: str, method: str, dtype_name: str, wcfg) -> dict:
    """The search for one (function, method, format), assessed."""
    from .studies import special, worstcase

    f = special.implementations(adapter=False)[function, method]
    found = worstcase.search(f, function, dtype_name, wcfg.seed, wcfg.budget, wcfg.restarts, wcfg.batch, wcfg.lengths)
    return {
        "function": function,
        "method": method,
        "dtype": dtype_name,
        "n": int(found["input"].size),
        "input_hex": worstcase.hex_list(found["input"]),
        "evaluations": found["evaluations"],
        **worstcase.assess(f, function, method, found["input"]),
    }


def _cases(wcfg) -> list[tuple[str, str, str]]:
    """Every (function, method) of analysis.softmax, in the model arithmetic,
    and format of [worstcase].  Not SciPy: it calls numpy's exp, whose
    results depend on the CPU, and so would the cases found and the
    regression baseline; its accuracy per CPU is the host study's."""
    from . import softmax

    return [(function, method, d) for function, method in sorted(softmax.IMPLEMENTATIONS)
            for d in wcfg.dtypes]  # fmt: skip


def _check_case(record, case) -> None:
    """A cached worst case is a record of this (function, method, format)."""
    if type(record) is not dict or (record["function"], record["method"], record["dtype"]) != case:
        raise ValueError("not this case's record")


def worst_cases(wcfg, cache_dir: Path = CACHE_DIR) -> list[dict]:
    """The search for every case of _cases, each cached by code, versions and
    settings."""
    records = []
    for function, method, dtype_name in _cases(wcfg):
        key = _case_key(function, method, dtype_name, wcfg)
        record = load_cached(key, cache_dir, check=lambda r, case=(function, method, dtype_name): _check_case(r, case))
        if record is None:
            record = worst_case_record(function, method, dtype_name, wcfg)
            store_cached(key, record, cache_dir)
        records.append(record)
    return records


def worstcase_files(wcfg) -> dict:
    return {"worst_cases.json": {"settings": wcfg.as_dict(), "cases": worst_cases(wcfg)}}


# Run module argv[2] as __main__ in a child that gets SIGKILL when its parent
# (pid argv[1]) dies (Linux prctl PR_SET_PDEATHSIG, as the sweep's workers).
_DIE_WITH_PARENT = (
    "import ctypes, os, runpy, signal, sys; "
    "ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGKILL), 0, 0, 0); "
    "os.getppid() == int(sys.argv[1]) or os._exit(1); "
    "module = sys.argv[2]; sys.argv = [module] + sys.argv[3:]; "
    "runpy.run_module(module, run_name='__main__', alter_sys=True)"
)


def host_files(config_path, quick: bool) -> dict:
    """host.json: analysis.studies.hostlib run once per dispatch level, each in a
    fresh interpreter whose NPY_DISABLE_CPU_FEATURES stops numpy at that
    level (numpy reads it at import), two at a time."""
    import concurrent.futures

    from .config import load_host
    from .studies import hostlib

    children: list[subprocess.Popen] = []
    stopping = []

    def run(level: dict) -> dict:
        env = {**os.environ, "NPY_DISABLE_CPU_FEATURES": level["disable"], "PYTHONPATH": str(HERE.parent)}
        command = [sys.executable, "-m", "analysis.studies.hostlib"]
        if sys.platform.startswith("linux"):  # the child dies with this process, even a killed one
            command = [sys.executable, "-c", _DIE_WITH_PARENT, str(os.getpid()), "analysis.studies.hostlib"]
        command += ["--config", str(config_path)] if config_path else []
        if stopping:
            raise RuntimeError("stopped")
        child = subprocess.Popen(command + (["--quick"] if quick else []), env=env, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE)  # fmt: skip
        children.append(child)
        out, err = child.communicate()
        if child.returncode:
            raise RuntimeError(f"host measurement at {level['name']} failed: {err.decode()[-500:]}")
        return {**level, **json.loads(out)}

    levels = hostlib.levels()
    pool = concurrent.futures.ThreadPoolExecutor(2)
    try:
        measured = list(pool.map(run, levels))
    except BaseException:  # Ctrl-C or a failed level: stop the other measurements now, not when they end
        stopping.append(True)
        for child in children:
            child.kill()
        raise
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
    digests = {json.dumps([(r["function"], r["method"], r["dtype"], r["model_digest"]) for r in m["study"]])
               for m in measured}  # fmt: skip
    document = {
        "cpu": hostlib.cpu_model(),
        "settings": load_host(config_path, quick).as_dict(),
        "levels": measured,
        "model_identical_at_every_level": len(digests) == 1,
    }
    return {"host.json": document}


def _host_settings(config_path, quick: bool, cfg) -> dict:
    """What host.json depends on besides code and versions: the machine (its
    CPU and numpy's dispatch targets on it) and the settings."""
    from .config import load_host
    from .studies import hostlib

    return {"cpu": hostlib.cpu_model(), "targets": hostlib.dispatch_targets(),
            "host": load_host(config_path, quick).as_dict(), "study": cfg.as_dict()}  # fmt: skip


def _compute_in_parallel(data_dir: Path, parts, cfg, wcfg) -> dict:
    """The out-of-date parts, and every worst case missing from the cache,
    computed on ``cfg.workers`` processes (the searches are ~90 independent
    jobs); returns part -> a function giving its files.  Worst cases go to
    the cache, where worst_cases() then finds them."""
    todo = [(part, compute) for part, settings, compute in parts
            if not store_manifest.up_to_date(data_dir, part, registry.key(part, settings))]  # fmt: skip
    cases = []
    if any(part == "worstcase" for part, _ in todo):
        cases = [c for c in _cases(wcfg) if load_cached(_case_key(*c, wcfg)) is None]
    # host starts its own worker per dispatch level
    jobs = [part for part, _ in todo if part not in ("worstcase", "host")]
    if cfg.workers < 2 or len(jobs) + len(cases) < 2:
        return {}
    import concurrent.futures

    results = {}
    with concurrent.futures.ProcessPoolExecutor(cfg.workers, initializer=sweep._worker_init) as pool:
        parts_by_future = {pool.submit(_part_files, part, cfg, wcfg): part for part in jobs}
        cases_by_future = {pool.submit(worst_case_record, *case, wcfg): case for case in cases}
        for future in concurrent.futures.as_completed([*parts_by_future, *cases_by_future]):
            if future in parts_by_future:
                files = future.result()
                results[parts_by_future[future]] = lambda files=files: files
            else:
                store_cached(_case_key(*cases_by_future[future], wcfg), future.result())
    return results


def _part_files(part: str, cfg, wcfg) -> dict:
    if part == "bhh2021":
        return bhh2021_files(cfg.quick)
    if part == "special":
        return special_files()
    return bounds_files(cfg)


def produce_all(data_dir: Path = DATA_DIR, cfg=None, config_path=None, quick: bool = False) -> list[str]:
    """Write the outputs that are not up to date; the names of the parts
    recomputed."""
    from .config import load, load_worstcase

    data_dir = Path(data_dir)
    cfg = cfg or load(config_path, quick)
    wcfg = load_worstcase(config_path)
    if quick:
        wcfg = dataclasses.replace(wcfg, budget=min(wcfg.budget, QUICK_BUDGET), restarts=1, dtypes=wcfg.dtypes[:1])
    done = []
    parts = (
        ("bhh2021", {"quick": quick}, lambda: bhh2021_files(quick)),
        ("special", {}, special_files),
        ("bounds", cfg.as_dict(), lambda: bounds_files(cfg)),
        ("worstcase", wcfg.as_dict(), lambda: worstcase_files(wcfg)),
        ("host", _host_settings(config_path, quick, cfg), lambda: host_files(config_path, quick)),
    )
    computed = _compute_in_parallel(data_dir, parts, cfg, wcfg)
    for part, settings, compute in parts:
        compute = computed.get(part, compute)
        if produce(data_dir, part, settings, lambda c=compute: {n: json_bytes(d) for n, d in c().items()}):
            done.append(part)
    return done


def write_study(
    cfg, config_path=None, data_dir: Path = DATA_DIR, executor=None, progress=None, changed: list | None = None
) -> Path:
    """Every data file of the study under ``data_dir``, each recomputed only
    when out of date: the sweep (sweep.parquet, thresholds.json;
    its chunks on ``executor`` when given), the log-softmax study (gstar.csv,
    logsoftmax.json), the examples (examples.json), the parts above, and
    methods_real.json.  What
    ``python -m analysis sweep`` and ``python -m analysis report`` run.

    All or nothing (:func:`analysis.store.folder.update`): the folder is
    locked, the files are written to a staging folder and moved in at the
    end, the manifest last, each artifact's entry stamped with the config's
    hash; an interruption leaves the old set (:class:`folder.Interrupted`
    says which).  First the checks of :mod:`analysis.plan` (PlanError) and
    of the study file's [worstcase] (ConfigError).  ``changed``, when given,
    receives the names of the files whose content changed."""

    def finish(staging: Path) -> None:
        path = staging / store_manifest.NAME
        manifest = store_manifest.read(staging)
        for entry in manifest.get("artifacts", {}).values():
            entry["config_hash"] = cfg.hash  # every artifact is now up to date for this config
        data = json_bytes(manifest)
        if not path.is_file() or path.read_bytes() != data:
            atomic_write(path, data)

    from . import plan
    from .config import load_worstcase

    load_worstcase(config_path)  # checked before any work starts
    plan.check(plan.make(cfg))
    with folder.update(Path(data_dir), finish) as run:
        _write_all(cfg, config_path, run.staging, executor, progress)
    if changed is not None:
        changed.extend(run.changed)
    return Path(data_dir)


def _write_all(cfg, config_path, out: Path, executor, progress) -> None:
    # The frameworks study runs in its own process from the start, beside the
    # rest (which leaves a core idle in its serial parts); collected last,
    # into the same staging folder.
    job = FrameworksJob.start(out, config_path, cfg.quick)
    try:
        sweep.run(cfg, data_dir=out, progress=progress, executor=executor)
        logsoftmax_outputs(out, quick=cfg.quick)
        examples_outputs(out, [d for d in STUDY_DTYPES if d in cfg.dtypes])
        produce_all(out, cfg=cfg, config_path=config_path, quick=cfg.quick)
        methods_real_outputs(out, quick=cfg.quick)
        if job is not None:
            job.finish()
    finally:
        if job is not None:
            job.stop()


class FrameworksJob:
    """analysis.studies.frameworks in its own interpreter (JAX's x64 mode is
    process-wide), writing frameworks.json when it ends.  Keyed also by the
    versions of jax, jaxlib and torch (None when not installed).  Without
    JAX nothing runs and the report's section says so."""

    def __init__(self, data_dir: Path, settings: dict, process, stdout, stderr, quick: bool):
        self.data_dir, self.settings, self.process = data_dir, settings, process
        self.stdout, self.stderr, self.quick = stdout, stderr, quick

    @classmethod
    def start(cls, data_dir: Path, config_path=None, quick: bool = False):
        """The running study, or None when frameworks.json is up to date or JAX is missing."""
        import tempfile

        from . import frameworks
        from .config import load_frameworks

        if frameworks.version("jax") is None:
            return None
        fcfg = load_frameworks(config_path, quick)
        settings = {**fcfg.as_dict(), "versions": {k: frameworks.version(k) for k in ("jax", "jaxlib", "torch")}}
        if store_manifest.up_to_date(data_dir, "frameworks", registry.key("frameworks", settings)):
            return None
        env = {**os.environ, "PYTHONPATH": str(HERE.parent), "SOFTMAX_STUDY_PARENT_PID": str(os.getpid())}
        command = [sys.executable, "-m", "analysis.studies.frameworks"]
        command += ["--config", str(config_path)] if config_path else []
        stdout, stderr = tempfile.TemporaryFile(), tempfile.TemporaryFile()
        process = subprocess.Popen(command + (["--quick"] if quick else []), env=env, stdout=stdout, stderr=stderr)
        return cls(data_dir, settings, process, stdout, stderr, quick)

    def finish(self) -> None:
        """Wait for the study and record frameworks.json."""
        if self.process.wait():
            self.stderr.seek(0)
            raise RuntimeError(f"the frameworks study failed: {self.stderr.read().decode()[-500:]}")
        self.stdout.seek(0)
        document = {"quick": self.quick, "command": _command_of(self.quick), **json.loads(self.stdout.read())}
        produce(self.data_dir, "frameworks", self.settings, lambda: {"frameworks.json": json_bytes(document)})

    def stop(self) -> None:
        """End the study if it still runs (an interrupted or failed pipeline), close its files."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self.stdout.close()
        self.stderr.close()


def frameworks_outputs(data_dir: Path, config_path=None, quick: bool = False) -> Path:
    """frameworks.json, unless up to date (FrameworksJob, waited for)."""
    job = FrameworksJob.start(Path(data_dir), config_path, quick)
    if job is not None:
        try:
            job.finish()
        finally:
            job.stop()
    return Path(data_dir)


# --- python -m analysis report ------------------------------------------------------------


class InputError(ValueError):
    """Bad input found before any work (a data folder of mixed studies): one
    line, exit status 2."""


def _run_studies(config: Path | None, quick: bool, data_dir: Path, scheduler: str | None = None) -> Path:
    """Bring the data folder up to date (milliseconds when nothing changed)."""
    from .cluster import executor
    from .config import load

    cfg = load(config, quick)
    with executor(scheduler) as pool:
        return write_study(cfg, config, data_dir, executor=pool)


def check_inputs(data_dir: Path) -> None:
    """Finish or drop what an interrupted run left in ``data_dir``, then
    InputError naming the files when they come from different study
    configs (or seeds, or --quick)."""
    data_dir = Path(data_dir)
    try:
        if data_dir.is_dir():
            with folder.locked(data_dir):
                folder.recover(data_dir)
    except OSError:  # a read-only folder: read as it is
        pass
    mixed = store_manifest.mixed_inputs(store_manifest.read(data_dir))
    if mixed:
        raise InputError(f"{data_dir} mixes studies: {'; '.join(mixed)} differ from the sweep's config "
                         f"(run `python -m analysis report` without --no-sweep to bring them up to date)")  # fmt: skip


def _command(args: argparse.Namespace) -> str:
    """The command line as the report shows it: the options that change what
    is computed (output paths are left out: they do not change the content)."""
    words = ["python -m analysis report"]
    if args.quick:
        words.append("--quick")
    if args.config is not None:
        words.append(f"--config {args.config}")
    if args.no_sweep:
        words.append("--no-sweep")
    return " ".join(words)


def _short_bench(data_dir: Path) -> None:
    """No timings yet (neither bench.json nor bench_short.json): the short
    benchmark (analysis.bench.run_short, seconds) into bench_short.json, so the
    Cost of stability section has numbers from this machine.  Later builds
    reuse the file, so builds from the same data stay byte-identical."""
    if (data_dir / "bench.json").exists() or (data_dir / "bench_short.json").exists():
        return
    from .bench_short import write_short

    print("no timings yet: a short benchmark into bench_short.json (make bench runs the full one) ...",
          file=sys.stderr)  # fmt: skip
    write_short(data_dir, log=lambda s: None)


def failure(err: BaseException, debug: bool, consequence: str) -> int:
    """The one exit-code convention of every subcommand: 2 for bad input
    (a config, a data folder of mixed studies, an impossible plan), 130 for
    Ctrl-C/SIGTERM, 1 for any other failure; one line on stderr saying what
    happened and what it left, the traceback only with ``--debug``."""
    import traceback

    from .config import ConfigError
    from .plan import PlanError

    if debug and not isinstance(err, KeyboardInterrupt):
        traceback.print_exception(err)
    if isinstance(err, folder.Interrupted) and err.committed:
        print("interrupted after the new outputs were complete: the data folder holds the new set", file=sys.stderr)
        return 130
    if isinstance(err, KeyboardInterrupt):
        print(f"interrupted: {consequence}", file=sys.stderr)
        return 130
    if isinstance(err, ConfigError | InputError | PlanError):
        print(f"error: {err}", file=sys.stderr)
        return 2
    if isinstance(err, OSError):
        print(f"error: cannot write results: {err}; {consequence}", file=sys.stderr)
        return 1
    detail = str(err).splitlines()[0] if str(err) else ""
    name = "" if type(err).__name__ in ("ReportError",) else f"{type(err).__name__}: "
    print(f"error: {name}{detail}; {consequence}", file=sys.stderr)
    return 1


def report_main(argv: list[str] | None = None) -> int:
    """``python -m analysis report``: the stale studies, then the report."""
    from .report import REPORT_PATH, build

    parser = argparse.ArgumentParser(prog="python -m analysis report", description="Build the HTML report.")
    parser.add_argument("--config", type=Path, default=None, help="study file (default analysis/study.toml)")
    parser.add_argument("--quick", action="store_true", help="the small [quick] grid of the study file")
    parser.add_argument(
        "--data-dir", type=data_dir_argument, default=DATA_DIR, help="the data folder (default reports/data)"
    )
    parser.add_argument(
        "--out", type=Path, default=REPORT_PATH, help="report file (default reports/softmax_study.html)"
    )
    parser.add_argument("--no-sweep", action="store_true", help="use the data as they are; run no study")
    parser.add_argument(
        "--scheduler", default=None, metavar="ADDRESS", help="run the sweep on this dask.distributed scheduler"
    )
    parser.add_argument("--debug", action="store_true", help="on a failure, print the traceback too")
    args = parser.parse_args(argv)
    from .cluster import ClusterError, leave

    consequence = "the previous report (if any) is unchanged"
    try:
        out = Path(args.out)
        folder.clean_temporaries(out.parent, recursive=False, name=out.name)  # of reports whose writer was killed
        if args.no_sweep:
            check_inputs(args.data_dir)
            data_dir = args.data_dir
        else:
            consequence = "the data folder holds the earlier outputs, unchanged; " + consequence
            data_dir = _run_studies(args.config, args.quick, args.data_dir, args.scheduler)
            check_inputs(data_dir)
            consequence = "the data folder holds the new set; the previous report (if any) is unchanged"
            if not args.quick:
                _short_bench(Path(data_dir))
        with folder.locked(data_dir, shared=True):
            out = build(data_dir, args.out, command=_command(args))
    except ClusterError as err:
        leave(err, "the previous report (if any) is unchanged")
    except BaseException as err:  # noqa: BLE001 -- every failure: one line, the old report kept
        if isinstance(err, SystemExit):
            raise
        return failure(err, args.debug, consequence)
    print(out)
    return 0
