"""The per-artifact producers of the pipeline (:mod:`analysis.pipeline`):
each study's files computed by its module and recorded in the manifest,
unless the manifest says they are up to date (:func:`produce`).

- ``gstar.csv`` and ``logsoftmax.json``: :mod:`analysis.studies.logsoftmax`;
- ``examples.json``: :mod:`analysis.studies.examples`;
- ``methods_real.json``: every method on the MNIST logits (:mod:`analysis.studies.methods_real`);
- ``bhh2021.json`` (+ ``bhh2021_points.json``): :mod:`analysis.studies.bhh2021`;
- ``bounds.json``: :func:`analysis.studies.bounds.measure_sweep`;
- ``special_values.json``: :mod:`analysis.studies.special`;
- ``worst_cases.json``: :mod:`analysis.studies.worstcase`, each (function,
  method, format) cached under reports/.cache.

The studies run in their own interpreters (host.json, frameworks.json) are
in :mod:`analysis.subprocesses`.
"""

from __future__ import annotations

from pathlib import Path

from . import sweep
from .store import manifest as store_manifest
from .store import registry
from .store.files import DATA_DIR, json_bytes, load_cached, store_cached
from .store.tables import gstar_csv
from .sweep import CACHE_DIR, versions

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


def _host_settings(config_path, quick: bool, cfg) -> dict:
    """What host.json depends on besides code and versions: the machine (its
    CPU and numpy's dispatch targets on it) and the settings."""
    from .config import load_host
    from .studies import hostlib

    return {"cpu": hostlib.cpu_model(), "targets": hostlib.dispatch_targets(),
            "host": load_host(config_path, quick).as_dict(), "study": cfg.as_dict()}  # fmt: skip
