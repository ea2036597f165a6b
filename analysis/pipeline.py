"""The pipeline: every artifact of the data folder brought up to date, each
computed only when its key changed (:func:`write_study`), and
``python -m analysis report``: the stale studies, then the report from the
files alone (:mod:`analysis.report_cli`).

The artifacts besides the sweep's (:mod:`analysis.sweep`) are made by the
producers of :mod:`analysis.producers` (gstar.csv, logsoftmax.json,
examples.json, methods_real.json, bhh2021.json, bounds.json,
special_values.json, worst_cases.json) and of :mod:`analysis.subprocesses`
(host.json, frameworks.json: studies run in interpreters of their own).

Host-dependent by design (declared in :mod:`analysis.store.registry` and
recorded in the manifest): ``host.json``, and the files with SciPy's results
(``special_values.json``, ``methods_real.json``; ``sweep.parquet`` too when
the study's methods include "scipy"), since SciPy calls numpy's exp.  Every
other file is the same bytes on every CPU: the methods run in the model
arithmetic (:mod:`analysis.crmath`).

Each artifact is skipped when the manifest says it was made with the same
key (the code it imports, package versions, settings) and its checksums
still match; every file is written atomically, the manifest last.

Every public name of the producers, the subprocess runners and the report
command stays importable from here.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from . import sweep
from .formats import STUDY_DTYPES
from .producers import (  # noqa: F401 -- re-exported
    QUICK_BUDGET,
    QUICK_REAL_ROWS,
    QUICK_VECTORS,
    _case_key,
    _cases,
    _command_of,
    _host_settings,
    bhh2021_files,
    bounds_files,
    examples_outputs,
    logsoftmax_outputs,
    methods_real_outputs,
    produce,
    special_files,
    worst_case_record,
    worst_cases,
    worstcase_files,
)
from .report_cli import InputError, _command, _run_studies, _short_bench, check_inputs, failure, report_main  # noqa: F401
from .store import folder, registry
from .store import manifest as store_manifest
from .store.files import DATA_DIR, atomic_write, json_bytes, load_cached, store_cached
from .subprocesses import FrameworksJob, HostJob, compile_kernels, frameworks_outputs, host_files  # noqa: F401 -- re-exported


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


def produce_all(data_dir: Path = DATA_DIR, cfg=None, config_path=None, quick: bool = False, host=None) -> list[str]:
    """Write the outputs that are not up to date; the names of the parts
    recomputed.  ``host``: a running :class:`HostJob` whose files host.json
    is made of (else the host study runs here when it is out of date)."""
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
        ("host", _host_settings(config_path, quick, cfg),
         host.files if host is not None else lambda: host_files(config_path, quick)),
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
    # So does the host study (its workers are processes of their own), when
    # host.json is out of date.  The Numba kernels are compiled first, once,
    # when these or the sweep are to run: else every process compiles them.
    host_stale = not store_manifest.up_to_date(
        out, "host", registry.key("host", _host_settings(config_path, cfg.quick, cfg)))  # fmt: skip
    if host_stale or not sweep.up_to_date(cfg, out) or FrameworksJob.stale(out, config_path, cfg.quick):
        compile_kernels()
    job = FrameworksJob.start(out, config_path, cfg.quick)
    host = None
    try:
        if host_stale:
            host = HostJob(config_path, cfg.quick)
        sweep.run(cfg, data_dir=out, progress=progress, executor=executor)
        logsoftmax_outputs(out, quick=cfg.quick)
        examples_outputs(out, [d for d in STUDY_DTYPES if d in cfg.dtypes])
        produce_all(out, cfg=cfg, config_path=config_path, quick=cfg.quick, host=host)
        methods_real_outputs(out, quick=cfg.quick)
        if job is not None:
            job.finish()
    finally:
        if host is not None:
            host.stop()
        if job is not None:
            job.stop()
