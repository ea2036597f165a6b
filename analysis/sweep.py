"""The sweep: grid -> records, in parallel, cached, written atomically.

Work is split into chunks, one per (family, dtype, n).  Each chunk's rows are
cached under ``reports/.cache/`` keyed by a hash of the chunk's parameters,
the code of the numerics and the package versions; a rerun with nothing
changed recomputes nothing, and a config change recomputes only the chunks
whose parameters changed.  Cache entries carry a SHA-256 of their content and
are recomputed, never used, when it does not match.

Besides sweep.csv, thresholds.json and manifest.json, the command line writes
gstar.csv and logsoftmax.json (:func:`logsoftmax_outputs`) and
methods_real.json (:func:`methods_real_outputs`: every method on the MNIST
logits), each cached by a hash of its code.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import csv
import functools
import hashlib
import io
import itertools
import json
import math
import operator
import os
import pickle
import platform
import signal
import sys
import tempfile
import threading
from importlib import metadata
from pathlib import Path

import numpy as np

from . import families, fastref, findings, peers
from .config import Config
from .config import load as load_config
from .formats import FORMATS
from .metrics import bits_from_ulps, classify, relative_error, ulp_distance

ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = ROOT / "reports" / "data"
CACHE_DIR = Path(os.environ.get("SOFTMAX_STUDY_CACHE", ROOT / "reports" / ".cache"))

COLUMNS = (
    "family", "function", "method", "dtype", "n", "offset", "gap", "scale", "draw",
    "status", "max_ulp", "median_ulp", "max_bits", "median_bits", "rel_error", "sums_to_one",
)  # fmt: skip
TEXT_COLUMNS = ("family", "function", "method", "dtype", "status", "sums_to_one")
FLOAT_COLUMNS = ("offset", "gap", "scale", "draw", "max_ulp", "median_ulp", "max_bits", "median_bits", "rel_error")

IMPLEMENTATIONS = peers.IMPLEMENTATIONS  # ours and SciPy's
_TRUTH_INDEX = {"softmax": 0, "logsumexp": 1, "log_softmax": 2}
# The code whose change invalidates cached rows.
_CODE = (
    "formats.py", "crmath.py", "softmax.py", "peers.py", "reference.py", "fastref.py", "metrics.py", "families.py",
    "sweep.py",
)  # fmt: skip
PACKAGES = ("numpy", "mpmath", "gmpy2", "ml_dtypes", "scipy", "matplotlib", "jinja2")


def versions() -> dict[str, str]:
    """The installed versions of PACKAGES (read once per process: each
    lookup parses the package's metadata, milliseconds a time)."""
    return dict(_versions())


@functools.cache
def _versions() -> tuple[tuple[str, str], ...]:
    return tuple((name, metadata.version(name)) for name in PACKAGES)


def code_hash() -> str:
    h = hashlib.sha256()
    for name in _CODE:
        h.update((Path(__file__).parent / name).read_bytes())
    return h.hexdigest()


# --- one chunk: pure computation -----------------------------------------


def _metrics_rows(function, computed, truth, n):
    """Per-vector status, ULP and bits statistics, relative error, sum check."""
    if computed.ndim == 1:  # logsumexp: one value per vector
        computed, truth = computed[:, None], truth[:, None]
    status = np.atleast_1d(classify(computed, truth))
    ok = status == "ok"
    ulps = ulp_distance(computed, truth)
    bits = bits_from_ulps(ulps)  # bits_of_error, from the ULPs already at hand
    stats = np.full((len(status), 4), np.nan)
    if ok.any():
        stats[ok] = np.column_stack(
            [ulps[ok].max(axis=1), np.median(ulps[ok], axis=1), bits[ok].max(axis=1), np.median(bits[ok], axis=1)]
        )
    none = (None, None, None, None)
    # Python floats and lists once per chunk, not numpy scalars per row.
    stats = [tuple(s) if k else none for s, k in zip(stats.tolist(), ok.tolist())]
    if function == "logsumexp":
        rel = relative_error(computed[:, 0], truth[:, 0]).tolist()
    else:
        rel = [None] * len(status)
    sums = [""] * len(status)
    if function == "softmax":
        # The exact sum of the outputs (fsum), rounded to the format, within
        # n ulps of 1.
        totals = np.array([math.fsum(row) for row in computed.astype(np.float64).tolist()])
        with np.errstate(over="ignore", invalid="ignore"):
            close = ulp_distance(totals.astype(computed.dtype), np.ones_like(computed[:, 0])) <= n
        sums = np.atleast_1d(close).tolist()
    return [(st, *s, r, c) for st, s, r, c in zip(status.tolist(), stats, rel, sums)]


def chunk_vectors(task: dict) -> tuple[np.ndarray, list[tuple]]:
    """The input vectors of one chunk (rows of a 2-D array in the chunk's
    dtype) and their (offset, gap, scale, draw) parameters; vectors that
    overflowed the format on conversion are left out."""
    family, dtype_name, n = task["family"], task["dtype"], task["n"]
    dtype = FORMATS[dtype_name].dtype
    if family == "two_level":
        grid = [(c, g) for c in task["offsets"] for g in task["gaps"]]
        z = families.two_level([p[0] for p in grid], [p[1] for p in grid], n, dtype)
        params = [(c, g, None, None) for c, g in grid]
    else:
        grid = [(s, d) for s in task["scales"] for d in range(task["draws"])]
        z = np.concatenate(
            [families.scaled_normal([s], task["seed"], n, d, dtype) for s, d in grid]
        ).reshape(len(grid), n)
        params = [(None, None, s, d) for s, d in grid]
    # An input that already overflowed the format is not a point of the study.
    with np.errstate(invalid="ignore"):
        keep = np.all(np.isfinite(z), axis=-1)
    return z[keep], [p for p, k in zip(params, keep) if k]


def compute_chunk(task: dict) -> dict[tuple, tuple[str, dict]]:
    """All rows of one (family, dtype, n) chunk, per (family, function,
    method, dtype, n) block: the block's lines of sweep.csv (sorted by
    offset, gap, scale, draw) and the same rows as columns
    (:func:`block_columns`).  The workers format the file and its table in
    parallel; the parent only puts the blocks in order."""
    family, dtype_name, n = task["family"], task["dtype"], task["n"]
    z, params = chunk_vectors(task)
    truths = fastref.truths(z)
    rows = []
    for function in task["functions"]:
        truth = truths[_TRUTH_INDEX[function]]
        for method in task["methods"]:
            if (function, method) not in IMPLEMENTATIONS:  # e.g. exp_lse is a softmax only
                continue
            computed = IMPLEMENTATIONS[function, method](z, summation=task["summation"])
            for p, m in zip(params, _metrics_rows(function, computed, truth, n)):
                rows.append((family, function, method, dtype_name, n, *p, *m))
    rows.sort(key=_sort_key)
    blocks = {}
    for block, members in itertools.groupby(rows, key=operator.itemgetter(0, 1, 2, 3, 4)):
        members = list(members)
        out = io.StringIO()
        csv.writer(out, lineterminator="\n").writerows(members)  # None -> "", a float -> repr
        blocks[block] = (out.getvalue(), block_columns(members))
    return blocks


def block_columns(rows: list[tuple]) -> dict:
    """Rows of one block as the report reads them back from sweep.csv: ``n``
    as int64, the numbers as float64 (NaN for an empty cell), ``status`` and
    ``sums_to_one`` as their CSV text."""
    columns = dict(zip(COLUMNS, zip(*rows)))
    return {
        "n": np.array(columns["n"], np.int64),
        **{name: np.array(columns[name], np.float64) for name in FLOAT_COLUMNS},  # None -> NaN
        "status": list(columns["status"]),
        "sums_to_one": [str(v) for v in columns["sums_to_one"]],  # "", "True", "False"
    }


def text_codes(values: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """A column of a few distinct strings as (sorted distinct values, int32
    codes into them): what np.unique(values, return_inverse=True) gives,
    without hashing millions of strings."""
    uniques = sorted(set(values))
    index = {v: i for i, v in enumerate(uniques)}
    return np.array(uniques, dtype=str), np.fromiter(map(index.__getitem__, values), np.int32, len(values))


def compact_table(blocks: dict[tuple, tuple[str, dict]]) -> dict:
    """The whole sweep.csv as columns, from the chunks' blocks in file order:
    what analysis.report parses the file into (text columns as
    (distinct values, codes)).  The report's cache of parsed tables gets it
    from here, so a cold build does not parse the file it was just given."""
    order = sorted(blocks)
    parts = [blocks[k][1] for k in order]
    sizes = [len(p["n"]) for p in parts]
    table = {}
    for i, name in enumerate(COLUMNS):
        if i < 4:  # family, function, method, dtype: one value per block
            uniques, codes = text_codes([k[i] for k in order])
            table[name] = (uniques, np.repeat(codes, sizes))
        elif name in ("status", "sums_to_one"):
            table[name] = text_codes([v for p in parts for v in p[name]])
        else:
            table[name] = np.concatenate([p[name] for p in parts])
    return table


def table_key(csv_sha256: str) -> str:
    """Key of sweep.csv's parsed table in <cache>/tables: the file's SHA-256,
    the code of the parser (report.py) and of this module, numpy's version."""
    here = Path(__file__).parent
    code = hashlib.sha256((here / "report.py").read_bytes() + (here / "sweep.py").read_bytes()).hexdigest()
    blob = {"csv": csv_sha256, "code": code, "numpy": versions()["numpy"]}
    return hashlib.sha256(json.dumps(blob, sort_keys=True).encode()).hexdigest()


def _host_dependent(cfg: Config) -> list[str]:
    """The data files that may differ between CPUs (analysis.outputs)."""
    from .outputs import host_dependent

    return host_dependent(cfg)


def tasks(cfg: Config) -> list[dict]:
    common = {"functions": list(cfg.functions), "summation": cfg.summation}
    offsets = families.offsets(cfg.offset_decades, cfg.offset_points, cfg.threshold_factors).tolist()
    gaps = families.gaps(cfg.gap_decades, cfg.gap_points, cfg.threshold_factors).tolist()
    scales = families.scales(cfg.scale_decades, cfg.scale_points).tolist()
    out = []
    for dtype in cfg.dtypes:
        for n in cfg.lengths:
            # The comparison's extra methods run on the same vectors at the
            # extra_lengths only (their cost grows with n; see study.toml).
            methods = list(cfg.methods) + (list(cfg.extra_methods) if n in cfg.extra_lengths else [])
            task = {"methods": methods, **common}
            out.append({"family": "two_level", "dtype": dtype, "n": n, "offsets": offsets, "gaps": gaps, **task})
            out.append(
                {"family": "scaled_normal", "dtype": dtype, "n": n, "scales": scales,
                 "draws": cfg.draws, "seed": cfg.seed, **task}
            )  # fmt: skip
    return out


# --- cache and atomic files -----------------------------------------------


def atomic_write(path: Path, data: bytes) -> None:
    """Write to a temporary file in the same folder, then rename over path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def task_key(task: dict, code: str, vers: dict) -> str:
    blob = json.dumps({"task": task, "code": code, "versions": vers}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()


def load_cached(key: str, cache_dir: Path = CACHE_DIR):
    """The cached rows for key, or None if absent, truncated or altered.

    An entry is ``sha256(payload) + payload`` with payload the pickled
    ``(key, rows)``; the digest is checked before anything is unpickled.
    """
    try:
        blob = (cache_dir / f"{key}.pickle").read_bytes()
    except OSError:
        return None
    digest, payload = blob[:32], blob[32:]
    if len(blob) < 33 or hashlib.sha256(payload).digest() != digest:
        return None
    stored_key, rows = pickle.loads(payload)
    return rows if stored_key == key else None


def store_cached(key: str, rows, cache_dir: Path = CACHE_DIR) -> None:
    payload = pickle.dumps((key, rows), protocol=5)
    atomic_write(cache_dir / f"{key}.pickle", hashlib.sha256(payload).digest() + payload)


# --- output --------------------------------------------------------------


def _sort_key(row):
    def num(v):
        return -math.inf if v is None else v

    return (row[0], row[1], row[2], row[3], row[4], num(row[5]), num(row[6]), num(row[7]), num(row[8]))


def csv_bytes(blocks: dict[tuple, tuple[str, dict]]) -> bytes:
    """sweep.csv from the chunks' blocks: the header, then the blocks in
    (family, function, method, dtype, n) order, each already sorted by its
    (offset, gap, scale, draw)."""
    return ",".join(COLUMNS).encode() + b"\n" + "".join(blocks[k][0] for k in sorted(blocks)).encode()


def simd_features() -> dict:
    from numpy._core._multiarray_umath import __cpu_baseline__, __cpu_dispatch__, __cpu_features__

    return {
        "baseline": list(__cpu_baseline__),
        "dispatch": list(__cpu_dispatch__),
        "enabled": sorted(k for k, v in __cpu_features__.items() if v),
    }


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


def _command(cfg: Config) -> str:
    """The command line that reproduces these files."""
    command = "python -m analysis sweep" + (" --quick" if cfg.quick else "")
    if Path(cfg.path).resolve() != (Path(__file__).parent / "study.toml").resolve():
        command += f" --config {cfg.path}"
    return command


def _up_to_date(data_dir: Path, outputs_key: str) -> bool:
    try:
        manifest = json.loads((data_dir / "manifest.json").read_text())
        if manifest.get("outputs_key") != outputs_key:
            return False
        return all(
            hashlib.sha256((data_dir / name).read_bytes()).hexdigest() == digest
            for name, digest in manifest["checksums"].items()
        )
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return False


def run(
    config: Config | str | Path | None = None,
    quick: bool = False,
    data_dir: Path = DATA_DIR,
    cache_dir: Path = CACHE_DIR,
    progress=None,
    executor=None,
) -> Path:
    """Compute (or load from the cache) every chunk and write sweep.csv,
    thresholds.json and manifest.json atomically under data_dir.

    ``config`` is a validated Config or the path of a study file (the default
    study.toml when None); ``quick`` applies its [quick] overrides.
    """
    cfg = config if isinstance(config, Config) else load_config(config, quick)
    data_dir, cache_dir = Path(data_dir), Path(cache_dir)
    for folder in (data_dir, cache_dir):  # temporaries of a run that was killed
        for stale in folder.glob(".*.tmp"):
            stale.unlink(missing_ok=True)
    code, vers = code_hash(), versions()
    todo = tasks(cfg)
    keys = [task_key(t, code, vers) for t in todo]
    # Everything the three files depend on: the chunks, the thresholds' code
    # and the config.  If the files on disk were made from exactly this and
    # are intact, there is nothing to do.
    outputs_key = hashlib.sha256(
        json.dumps(
            {"chunks": keys, "findings": hashlib.sha256(Path(findings.__file__).read_bytes()).hexdigest(),
             "config": cfg.as_dict()}, sort_keys=True
        ).encode()
    ).hexdigest()  # fmt: skip
    if _up_to_date(data_dir, outputs_key):
        return data_dir
    with _stop_requests() as stop:
        return _compute_and_write(cfg, todo, keys, outputs_key, vers, data_dir, cache_dir, progress, executor, stop)


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


def _compute_and_write(cfg, todo, keys, outputs_key, vers, data_dir, cache_dir, progress, executor, stop) -> Path:
    results = {k: load_cached(k, cache_dir) for k in keys}
    missing = [(t, k) for t, k in zip(todo, keys) if results[k] is None]
    # The longest chunks first, so the two workers finish together.
    missing.sort(key=lambda tk: -tk[0]["n"])
    if missing:
        own = executor is None
        if own:
            executor = concurrent.futures.ProcessPoolExecutor(max_workers=cfg.workers, initializer=_worker_init)
        bar = progress(len(missing)) if progress else None
        try:
            futures = {executor.submit(compute_chunk, t): k for t, k in missing}
            pending = set(futures)
            while pending:
                # A short timeout keeps the main thread responsive to Ctrl-C
                # (a signal is only acted on when this thread wakes up).
                if stop.is_set():
                    raise KeyboardInterrupt
                done, pending = concurrent.futures.wait(pending, timeout=0.2, return_when="FIRST_COMPLETED")
                for future in done:
                    key = futures[future]
                    chunk = future.result()
                    store_cached(key, chunk, cache_dir)
                    results[key] = chunk
                if bar is not None:
                    bar.update(len(done))
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
    blocks = {block: value for k in keys for block, value in results[k].items()}
    files = {
        "sweep.csv": csv_bytes(blocks),
        "thresholds.json": (json.dumps(findings.thresholds(cfg), indent=1) + "\n").encode(),
    }
    manifest = {
        "config": cfg.as_dict(),
        "config_hash": cfg.hash,
        "seed": cfg.seed,
        "versions": vers,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "machine": platform.machine(),
        "numpy_simd": simd_features(),
        "arithmetic": "model: exp, log, log1p correctly rounded to each format (analysis.crmath)",
        "host_dependent": _host_dependent(cfg),
        "points": sum(len(value[1]["n"]) for value in blocks.values()),
        "skipped_non_finite_inputs": "vectors whose entries overflow the format on conversion are not rows",
        "checksums": {name: hashlib.sha256(data).hexdigest() for name, data in files.items()},
        "outputs_key": outputs_key,
        "command": _command(cfg),
    }
    files["manifest.json"] = (json.dumps(manifest, indent=1, sort_keys=True) + "\n").encode()
    if stop.is_set():
        raise KeyboardInterrupt
    for name, data in files.items():  # manifest last: it vouches for the others
        atomic_write(data_dir / name, data)
    try:  # the parsed table for the report (a cache: failing to store costs time only)
        store_cached(table_key(manifest["checksums"]["sweep.csv"]), compact_table(blocks), cache_dir / "tables")
    except OSError:
        pass
    return data_dir


# --- the log-softmax study: reports/data/gstar.csv and logsoftmax.json ------------------------

GSTAR_COLUMNS = ("n", "dtype", "entry", "g_star_observed", "g_star_predicted")
_LOGSOFTMAX_CODE = (
    "formats.py", "crmath.py", "fastref.py", "softmax.py", "reference.py", "metrics.py", "families.py", "logsoftmax.py",
)  # fmt: skip


def _jsonable(x):
    """Non-finite floats as their repr ("inf", "nan"), so the file is strict JSON."""
    if isinstance(x, dict):
        return {k: _jsonable(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_jsonable(v) for v in x]
    if isinstance(x, float) and not math.isfinite(x):
        return repr(x)
    return x


def gstar_csv(records) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(GSTAR_COLUMNS)
    for r in records:
        writer.writerow([r["n"], r["dtype"], r["entry"], repr(r["g_star_observed"]), repr(r["g_star_predicted"])])
    return out.getvalue().encode()


def _outputs_key(code: tuple[str, ...], quick: bool, vers: dict | None) -> str:
    """SHA-256 of the code files an extra output depends on, ``quick`` and
    the package versions: the output is recomputed when it changes."""
    h = hashlib.sha256()
    for name in code:
        h.update((Path(__file__).parent / name).read_bytes())
    h.update(json.dumps({"quick": quick, "versions": vers or versions()}, sort_keys=True).encode())
    return h.hexdigest()


def logsoftmax_key(quick: bool, vers: dict | None = None) -> str:
    return _outputs_key(_LOGSOFTMAX_CODE, quick, vers)


def logsoftmax_outputs(data_dir: Path = DATA_DIR, quick: bool = False) -> Path:
    """Compute the log-softmax study (analysis.logsoftmax.study) and write
    gstar.csv and logsoftmax.json atomically, unless the files there were
    made by the same code, versions and ``quick`` and are intact (then this
    takes milliseconds; a cold run takes a few seconds)."""
    from . import logsoftmax

    data_dir = Path(data_dir)
    vers = versions()
    key = logsoftmax_key(quick, vers)
    try:
        existing = json.loads((data_dir / "logsoftmax.json").read_text(encoding="utf-8"))
        csv_digest = hashlib.sha256((data_dir / "gstar.csv").read_bytes()).hexdigest()
        if existing.get("key") == key and existing.get("gstar_sha256") == csv_digest:
            return data_dir
    except (OSError, ValueError, AttributeError):
        pass
    study = logsoftmax.study(quick)
    table = gstar_csv(study["gstar"])
    document = {
        "key": key,
        "quick": quick,
        "versions": vers,
        "gstar_sha256": hashlib.sha256(table).hexdigest(),
        "command": "python -m analysis sweep" + (" --quick" if quick else ""),
        **study,
    }
    atomic_write(data_dir / "gstar.csv", table)
    # The JSON last: its checksum of gstar.csv vouches for the pair.
    atomic_write(
        data_dir / "logsoftmax.json",
        (json.dumps(_jsonable(document), indent=1, sort_keys=True, allow_nan=False) + "\n").encode(),
    )
    return data_dir


# --- every method on the real MNIST logits: reports/data/methods_real.json ------------------

_METHODS_REAL_CODE = (
    "formats.py", "crmath.py", "softmax.py", "peers.py", "reference.py", "fastref.py", "metrics.py", "datasets.py",
    "comparison.py",
)  # fmt: skip
QUICK_REAL_ROWS = 250  # --quick: the first 250 of the 2,500 vectors


def methods_real_key(quick: bool, vers: dict | None = None) -> str:
    return _outputs_key(_METHODS_REAL_CODE, quick, vers)


def methods_real_outputs(data_dir: Path = DATA_DIR, quick: bool = False) -> Path:
    """Compute analysis.comparison.real_data_errors and write
    methods_real.json atomically, unless the file there was made by the same
    code, versions and ``quick`` (then this takes milliseconds)."""
    from . import comparison

    data_dir = Path(data_dir)
    vers = versions()
    key = methods_real_key(quick, vers)
    try:
        if json.loads((data_dir / "methods_real.json").read_text(encoding="utf-8")).get("key") == key:
            return data_dir
    except (OSError, ValueError, AttributeError):
        pass
    rows = QUICK_REAL_ROWS if quick else None
    document = {
        "key": key,
        "quick": quick,
        "rows": rows or "all",
        "versions": vers,
        "command": "python -m analysis sweep" + (" --quick" if quick else ""),
        "formats": comparison.real_data_errors(rows),
    }
    atomic_write(
        data_dir / "methods_real.json",
        (json.dumps(_jsonable(document), indent=1, sort_keys=True, allow_nan=False) + "\n").encode(),
    )
    return data_dir
