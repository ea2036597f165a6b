"""The sweep's runner: every chunk of the study (analysis.studies.sweep)
computed in parallel or loaded from the cache, then ``sweep.parquet`` and
``thresholds.json`` written atomically and recorded in the manifest.

Each chunk's rows are cached under ``reports/.cache/`` keyed by a hash of the
chunk's parameters, the code of the computation (its imports, followed by
:mod:`analysis.store.deps`) and the package versions; a rerun with nothing
changed recomputes nothing, and a config change recomputes only the chunks
whose parameters changed.  Cache entries are typed arrays and JSON (``.npz``
read without pickle, :func:`analysis.store.files.cache_entry`) with a SHA-256
of their content; an entry that does not match it, or is not a well-formed
chunk of its task (:func:`check_chunk`), is recomputed, never used.  Workers
send their chunks back in the same form.

The other artifacts are written by :mod:`analysis.pipeline`.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import functools
import hashlib
import json
import os
import platform
import signal
import sys
import threading
from pathlib import Path

import numpy as np

from .config import Config
from .config import load as load_config
from .store import deps, registry
from .store import manifest as store_manifest
from .store.files import (  # noqa: F401
    DATA_DIR,
    ROOT,
    atomic_write,
    cache_entry,
    load_cached,
    read_cache_entry,
    save_entry,
    store_cached,
)
from .store.folder import clean_temporaries
from .store.tables import sweep_parquet
from .studies import thresholds
from .studies.sweep import COLUMNS, IMPLEMENTATIONS, block_columns, chunk_vectors, compute_chunk, tasks  # noqa: F401

CACHE_DIR = Path(os.environ.get("SOFTMAX_STUDY_CACHE", ROOT / "reports" / ".cache"))
versions = registry.versions


def code_hash() -> str:
    """The code whose change invalidates cached rows: the chunk's computation
    and what it imports (not the writer of the table, not the thresholds)."""
    return deps.code_hash("analysis.studies.sweep")


def task_key(task: dict, code: str, vers: dict) -> str:
    blob = json.dumps({"task": task, "code": code, "versions": vers}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()


def _command(cfg: Config) -> str:
    """The command line that reproduces these files."""
    command = "python -m analysis sweep" + (" --quick" if cfg.quick else "")
    if Path(cfg.path).resolve() != (Path(__file__).parent / "study.toml").resolve():
        command += f" --config {cfg.path}"
    return command


def simd_features() -> dict:
    from numpy._core._multiarray_umath import __cpu_baseline__, __cpu_dispatch__, __cpu_features__

    return {
        "baseline": list(__cpu_baseline__),
        "dispatch": list(__cpu_dispatch__),
        "enabled": sorted(k for k, v in __cpu_features__.items() if v),
    }


def check_chunk(task: dict, chunk) -> None:
    """A cached chunk is what compute_chunk(task) returns in shape and kind:
    blocks of this task's family, dtype and n, the float columns as 1-D
    float64 arrays of one length, every grade a known one, sums_to_one
    True/False/None; ValueError otherwise (the entry is then recomputed)."""
    from .store.schema import FLOAT_COLUMNS, GRADES

    if type(chunk) is not dict:
        raise ValueError("not a chunk")
    for block, columns in chunk.items():
        family, function, method, dtype, n = block
        if (
            (family, dtype, n) != (task["family"], task["dtype"], task["n"])
            or function not in task["functions"]
            or method not in task["methods"]
            or set(columns) != {*FLOAT_COLUMNS, "grade", "sums_to_one"}
        ):
            raise ValueError(f"block {block!r} is not one of the task's")
        size = len(columns["grade"])
        for name in FLOAT_COLUMNS:
            column = columns[name]
            if not isinstance(column, np.ndarray) or column.dtype != np.float64 or column.shape != (size,):
                raise ValueError(f"column {name} of {block!r} is not {size} float64 numbers")
        if type(columns["grade"]) is not list or not set(columns["grade"]) <= set(GRADES):
            raise ValueError(f"unknown grade in {block!r}")
        sums = columns["sums_to_one"]
        if type(sums) is not list or len(sums) != size or any(v not in (True, False, None) for v in sums):
            raise ValueError(f"sums_to_one of {block!r} is not True/False/None")


def chunk_entry(task: dict, key: str) -> bytes:
    """compute_chunk(task) as the bytes of its cache entry: what a worker
    (a local process or a dask worker) sends back is plain typed arrays and
    JSON (analysis.store.files.cache_entry), never a pickled object."""
    return cache_entry(key, compute_chunk(task))


def chunk_from_entry(task: dict, key: str, blob) -> dict:
    """A worker's chunk, read and checked like a cache entry; RuntimeError
    when it is not a well-formed chunk of ``task``."""
    try:
        chunk = read_cache_entry(key, blob)
        check_chunk(task, chunk)
    except Exception as err:  # noqa: BLE001
        raise RuntimeError(f"a worker returned a malformed chunk ({type(err).__name__}: {err})") from None
    return chunk


def thresholds_json(cfg: Config) -> str:
    """thresholds.json's text (:func:`analysis.studies.thresholds.thresholds`);
    a worker sends it back as text, not as a pickled object."""
    return json.dumps(thresholds.thresholds(cfg), indent=1) + "\n"


def _checked_thresholds(text) -> str:
    """A worker's thresholds.json text, checked to be a JSON list of records."""
    if not isinstance(text, str) or not isinstance(json.loads(text), list):
        raise RuntimeError("a worker returned malformed thresholds")
    return text


def _worker_init() -> None:
    """Workers leave Ctrl-C to the parent, which stops them (see run), and
    die with the parent: a worker of a parent killed with SIGKILL would
    otherwise wait forever for work (Linux prctl PR_SET_PDEATHSIG)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # not the parent's handler
    if sys.platform.startswith("linux"):
        import ctypes

        pr_set_pdeathsig = 1
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, int(signal.SIGKILL), 0, 0, 0)


def run(
    config: Config | str | Path | None = None,
    quick: bool = False,
    data_dir: Path = DATA_DIR,
    cache_dir: Path = CACHE_DIR,
    progress=None,
    executor=None,
) -> Path:
    """Compute (or load from the cache) every chunk and write sweep.parquet
    and thresholds.json atomically under data_dir, recorded in its manifest.

    ``config`` is a validated Config or the path of a study file (the default
    study.toml when None); ``quick`` applies its [quick] overrides.
    """
    cfg = config if isinstance(config, Config) else load_config(config, quick)
    data_dir, cache_dir = Path(data_dir), Path(cache_dir)
    clean_temporaries(data_dir, cache_dir)  # of runs that were killed; not another run's in mid-write
    code, vers = code_hash(), versions()
    todo = tasks(cfg)
    keys = [task_key(t, code, vers) for t in todo]
    # The chunks follow from the config, the code and the versions: if the
    # files on disk were made from exactly these and are intact, nothing to do.
    if up_to_date(cfg, data_dir):
        return data_dir
    key = registry.key("sweep", cfg.as_dict())
    with _stop_requests() as stop:
        return _compute_and_write(cfg, todo, keys, key, vers, data_dir, cache_dir, progress, executor, stop)


def up_to_date(cfg: Config, data_dir: Path) -> bool:
    """Whether the manifest says sweep.parquet and thresholds.json under
    ``data_dir`` were made from this config, this code and these versions."""
    return store_manifest.up_to_date(Path(data_dir), "sweep", registry.key("sweep", cfg.as_dict()))


@contextlib.contextmanager
def _stop_requests():
    """Turn SIGINT/SIGTERM into a flag that the sweep checks at safe points
    (between chunks, before writing), instead of an exception raised inside
    multiprocessing's machinery, which can deadlock the pool."""
    stop = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield stop
        return
    previous = {sig: signal.signal(sig, lambda signum, frame: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield stop
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if stop.is_set():  # a request after the last check (e.g. during the writes) is not dropped
        raise KeyboardInterrupt


def _compute_and_write(cfg, todo, keys, artifact_key, vers, data_dir, cache_dir, progress, executor, stop) -> Path:
    results = {}
    for t, k in zip(todo, keys):
        if stop.is_set():  # loading every entry can take seconds: a stop is acted on between them
            raise KeyboardInterrupt
        results[k] = load_cached(k, cache_dir, check=functools.partial(check_chunk, t))
    missing = [(t, k) for t, k in zip(todo, keys) if results[k] is None]
    # The longest chunks first, so the two workers finish together.
    missing.sort(key=lambda tk: -tk[0]["n"])
    threshold_text = None
    if missing:
        own = executor is None
        if own:
            executor = concurrent.futures.ProcessPoolExecutor(max_workers=cfg.workers, initializer=_worker_init)
        bar = progress(len(missing)) if progress else None
        cache_ok = True
        try:
            # The threshold search (seconds, serial) beside the chunks, not after them.
            threshold_future = executor.submit(thresholds_json, cfg)
            futures = {executor.submit(chunk_entry, t, k): (t, k) for t, k in missing}
            pending = set(futures) | {threshold_future}
            while pending:
                # A short timeout keeps the main thread responsive to Ctrl-C
                # (a signal is only acted on when this thread wakes up).
                if stop.is_set():
                    raise KeyboardInterrupt
                done, pending = concurrent.futures.wait(pending, timeout=0.2, return_when="FIRST_COMPLETED")
                for future in done:
                    if future is threshold_future:
                        threshold_text = _checked_thresholds(future.result())
                        continue
                    task, key = futures[future]
                    blob = future.result()
                    results[key] = chunk_from_entry(task, key, blob)
                    cache_ok = cache_ok and save_entry(key, blob, cache_dir)
                if bar is not None:
                    bar.update(len(done - {threshold_future}))
        except BaseException:
            if own:  # Ctrl-C or a failed chunk: stop the workers now, not after their chunk
                for process in list(getattr(executor, "_processes", {}).values()):
                    process.kill()
                executor.shutdown(wait=False, cancel_futures=True)
            raise
        finally:
            if bar is not None:
                bar.close()
        if own:
            executor.shutdown()
    if stop.is_set():
        raise KeyboardInterrupt
    blocks = {block: value for k in keys for block, value in results[k].items()}
    files = {
        "sweep.parquet": sweep_parquet(blocks),
        "thresholds.json": (threshold_text or thresholds_json(cfg)).encode(),
    }
    provenance = {
        "config": cfg.as_dict(),
        "config_hash": cfg.hash,
        "seed": cfg.seed,
        "versions": vers,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "machine": platform.machine(),
        "numpy_simd": simd_features(),
        "arithmetic": "model: exp, log, log1p correctly rounded to each format (analysis.crmath)",
        "host_dependent": registry.host_dependent(cfg),
        "points": sum(len(value["grade"]) for value in blocks.values()),
        "skipped_non_finite_inputs": "vectors whose entries overflow the format on conversion are not rows",
        "command": _command(cfg),
    }
    if stop.is_set():
        raise KeyboardInterrupt
    store_manifest.record(data_dir, "sweep", artifact_key, cfg.as_dict(), files, top=provenance)
    return data_dir
