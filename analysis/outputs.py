"""The outputs beyond the sweep, written under reports/data/ (I/O only):

- ``bhh2021.json`` (+ ``bhh2021_points.json`` for the figures): the
  reproduction of Blanchard, Higham & Higham 2021 (:mod:`analysis.bhh2021`);
- ``bounds.json``: the theorems' bounds against the sweep's vectors
  (:func:`analysis.bounds.measure_sweep`);
- ``special_values.json``: the special-values table (:mod:`analysis.special`);
- ``worst_cases.json``: the worst-case search (:mod:`analysis.worstcase`),
  each (function, method, format) cached under reports/.cache;
- ``host.json``: numpy's exp/log and their effect on the study at every SIMD
  dispatch level of this CPU (:mod:`analysis.hostlib`), one worker process
  per level started with its ``NPY_DISABLE_CPU_FEATURES``.

Host-dependent by design (``HOST_DEPENDENT``, recorded in both manifests):
``host.json``, and the files with SciPy's results (``special_values.json``,
``methods_real.json``; ``sweep.csv`` too when the study's methods include
"scipy"), since SciPy calls numpy's exp.  Every other file is the same bytes
on every CPU: the methods run in the model arithmetic (:mod:`analysis.crmath`).

Each file is skipped when ``extras_manifest.json`` says it was made by the
same code (hash of the modules it depends on), package versions and config
and its checksum still matches; every file is written atomically, the
manifest last.  ``python -m analysis.outputs --write`` rewrites the
worst-case regression baseline ``tests/baselines/worst_cases.json`` (as
``make baseline`` does for the error budgets) and shows the difference.
"""

from __future__ import annotations

import argparse
import dataclasses
import difflib
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

from . import sweep
from .sweep import CACHE_DIR, DATA_DIR, atomic_write, load_cached, store_cached, versions

HERE = Path(__file__).parent
MANIFEST = "extras_manifest.json"
WORST_BASELINE = HERE.parent / "tests" / "baselines" / "worst_cases.json"
_NUMERICS = ("formats.py", "crmath.py", "softmax.py", "reference.py", "fastref.py", "metrics.py")
CODE = {
    "bhh2021": (
        *_NUMERICS,
        "bounds.py",
        "bhh2021.py",
        "datasets.py",
        "special.py",
        "peers.py",
        "data/bhh2021/mnist_presoftmax.csv",
    ),
    "bounds": (*_NUMERICS, "bounds.py", "families.py", "sweep.py"),
    "special": (*_NUMERICS, "special.py", "peers.py"),
    "worstcase": (*_NUMERICS, "bounds.py", "families.py", "worstcase.py", "special.py", "peers.py"),
    "host": (*_NUMERICS, "hostlib.py", "peers.py", "families.py", "sweep.py", "config.py"),
}
# Files whose bytes depend on the CPU by design (see the module docstring).
HOST_DEPENDENT = ("host.json", "special_values.json", "methods_real.json")


def host_dependent(cfg) -> list[str]:
    """The data files of a study that may differ between machines."""
    scipy_in_sweep = "scipy" in (*cfg.methods, *cfg.extra_methods)
    return sorted({*HOST_DEPENDENT, *(("sweep.csv",) if scipy_in_sweep else ())})


def code_hash(part: str) -> str:
    """SHA-256 over the files a part depends on (absent ones, e.g. a peers
    module not yet written, count as empty)."""
    h = hashlib.sha256()
    for name in CODE[part]:
        path = HERE / name
        h.update(name.encode() + b"\0" + (path.read_bytes() if path.exists() else b""))
    return h.hexdigest()


def part_key(part: str, settings: dict, vers: dict) -> str:
    blob = json.dumps({"code": code_hash(part), "settings": settings, "versions": vers}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()


def _json_bytes(document) -> bytes:
    return (json.dumps(sweep._jsonable(document), indent=1, sort_keys=True, allow_nan=False) + "\n").encode()


def _read_manifest(data_dir: Path) -> dict:
    try:
        manifest = json.loads((data_dir / MANIFEST).read_text(encoding="utf-8"))
        return manifest if isinstance(manifest, dict) else {}
    except (OSError, ValueError):
        return {}


def _up_to_date(data_dir: Path, entry: dict | None, key: str) -> bool:
    if not isinstance(entry, dict) or entry.get("key") != key:
        return False
    try:
        return all(
            hashlib.sha256((data_dir / name).read_bytes()).hexdigest() == digest
            for name, digest in entry["checksums"].items()
        )
    except (OSError, KeyError, AttributeError, TypeError):
        return False


def _produce(data_dir: Path, part: str, settings: dict, compute, command: str) -> bool:
    """Write the files of one part unless up to date; True if recomputed."""
    vers = versions()
    key = part_key(part, settings, vers)
    manifest = _read_manifest(data_dir)
    if _up_to_date(data_dir, manifest.get(part), key):
        return False
    files = {name: _json_bytes(doc) for name, doc in compute().items()}
    for name, data in files.items():
        atomic_write(data_dir / name, data)
    manifest = _read_manifest(data_dir)  # re-read: keep the other parts' entries
    manifest[part] = {
        "host_dependent": sorted(name for name in files if name in HOST_DEPENDENT),
        "key": key,
        "settings": settings,
        "versions": vers,
        "command": command,
        "checksums": {name: hashlib.sha256(data).hexdigest() for name, data in files.items()},
    }
    atomic_write(data_dir / MANIFEST, (json.dumps(manifest, indent=1, sort_keys=True) + "\n").encode())
    return True


# --- the four parts ------------------------------------------------------------------


# --quick (a small grid for tests): the first QUICK_VECTORS MNIST vectors and a
# worst-case search of QUICK_BUDGET evaluations from one restart, in the first
# format of [worstcase] only (the searches are most of a quick study's time).
QUICK_VECTORS = 250
QUICK_BUDGET = 60


def bhh2021_files(quick: bool = False) -> dict:
    from . import bhh2021, datasets

    _, logits = datasets.mnist_logits()
    if quick:
        logits = logits[:QUICK_VECTORS]
    document, points = bhh2021.study(logits)
    return {"bhh2021.json": document, "bhh2021_points.json": {k: points[k] for k in ("float16", "bfloat16")}}


def bounds_files(cfg) -> dict:
    from . import bounds

    return {"bounds.json": bounds.measure_sweep(cfg)}


def special_files() -> dict:
    from . import special

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
    return sweep.task_key(task, code_hash("worstcase"), versions())


def worst_case_record(function: str, method: str, dtype_name: str, wcfg) -> dict:
    """The search for one (function, method, format), assessed."""
    from . import special, worstcase

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


def worst_cases(wcfg, cache_dir: Path = CACHE_DIR) -> list[dict]:
    """The search for every case of _cases, each cached by code, versions and
    settings."""
    records = []
    for function, method, dtype_name in _cases(wcfg):
        key = _case_key(function, method, dtype_name, wcfg)
        record = load_cached(key, cache_dir)
        if record is None:
            record = worst_case_record(function, method, dtype_name, wcfg)
            store_cached(key, record, cache_dir)
        records.append(record)
    return records


def worstcase_files(wcfg) -> dict:
    return {"worst_cases.json": {"settings": wcfg.as_dict(), "cases": worst_cases(wcfg)}}


def host_files(config_path, quick: bool) -> dict:
    """host.json: analysis.hostlib run once per dispatch level, each in a
    fresh interpreter whose NPY_DISABLE_CPU_FEATURES stops numpy at that
    level (numpy reads it at import), two at a time."""
    import concurrent.futures

    from . import hostlib
    from .config import load_host

    def run(level: dict) -> dict:
        env = {**os.environ, "NPY_DISABLE_CPU_FEATURES": level["disable"], "PYTHONPATH": str(HERE.parent)}
        command = [sys.executable, "-m", "analysis.hostlib"] + (["--config", str(config_path)] if config_path else [])
        done = subprocess.run(command + (["--quick"] if quick else []), env=env, capture_output=True, check=False)
        if done.returncode:
            raise RuntimeError(f"host measurement at {level['name']} failed: {done.stderr.decode()[-500:]}")
        return {**level, **json.loads(done.stdout)}

    levels = hostlib.levels()
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        measured = list(pool.map(run, levels))
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
    from . import hostlib
    from .config import load_host

    return {"cpu": hostlib.cpu_model(), "targets": hostlib.dispatch_targets(),
            "host": load_host(config_path, quick).as_dict(), "study": cfg.as_dict()}  # fmt: skip


def _compute_in_parallel(data_dir: Path, parts, cfg, wcfg) -> dict:
    """The out-of-date parts, and every worst case missing from the cache,
    computed on ``cfg.workers`` processes (the searches are ~90 independent
    jobs); returns part -> a function giving its files.  Worst cases go to
    the cache, where worst_cases() then finds them."""
    vers = versions()
    manifest = _read_manifest(data_dir)
    todo = [(part, compute) for part, settings, compute in parts
            if not _up_to_date(data_dir, manifest.get(part), part_key(part, settings, vers))]  # fmt: skip
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
    command = "python -m analysis sweep" + (" --quick" if quick else "")
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
        if _produce(data_dir, part, settings, computed.get(part, compute), command):
            done.append(part)
    return done


def write_study(cfg, config_path=None, data_dir: Path = DATA_DIR, executor=None, progress=None) -> Path:
    """Every data file of the study under ``data_dir``, each recomputed only
    when out of date: the sweep (sweep.csv, thresholds.json, manifest.json;
    its chunks on ``executor`` when given), the log-softmax study (gstar.csv,
    logsoftmax.json), the four parts above, and methods_real.json.  What
    ``python -m analysis sweep`` and ``python -m analysis report`` run."""
    out = sweep.run(cfg, data_dir=data_dir, progress=progress, executor=executor)
    sweep.logsoftmax_outputs(out, quick=cfg.quick)
    produce_all(out, cfg=cfg, config_path=config_path, quick=cfg.quick)
    sweep.methods_real_outputs(out, quick=cfg.quick)
    return out


# --- the regression baseline of the worst cases --------------------------------------


def baseline_text(records: list[dict]) -> str:
    """The stored cases: input (hex), ULPs, and the theorem verdict."""
    cases = [
        {k: r[k] for k in ("function", "method", "dtype", "input_hex", "ulps", "theorem", "bound_applies")}
        for r in records
        if r["ulps"] >= 0
    ]
    return json.dumps(cases, indent=1, sort_keys=True) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m analysis.outputs", description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="rewrite tests/baselines/worst_cases.json, show the diff")
    args = parser.parse_args(argv)
    from .config import ConfigError, load_worstcase

    try:
        wcfg = load_worstcase()
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    new = baseline_text(worst_cases(wcfg))
    if not args.write:
        sys.stdout.write(new)
        return 0
    old = WORST_BASELINE.read_text() if WORST_BASELINE.exists() else ""
    sys.stdout.writelines(difflib.unified_diff(old.splitlines(True), new.splitlines(True), str(WORST_BASELINE), "new"))
    atomic_write(WORST_BASELINE, new.encode())
    print(f"wrote {WORST_BASELINE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
