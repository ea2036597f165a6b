"""The data folder as the report reads it: every file checked against the
one manifest (:mod:`analysis.store.manifest`), then parsed.  The report reads
nothing else: no cache of the sweep, no numerics, no study run.

``Bundle.sweep`` is the sweep's table (sweep.parquet) as numpy columns, read
on first use; text columns are str arrays whose (distinct values, codes) are
kept for fast selection (:func:`select`, :func:`distinct`).
"""

from __future__ import annotations

import csv
import functools
import io
import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..formats import STUDY_DTYPES
from ..store import manifest as store_manifest
from ..store.files import sha256_file
from ..store.registry import ARTIFACTS
from ..store.schema import FAILURES, GRADES, GSTAR_COLUMNS, TEXT_COLUMNS
from ..store.tables import read_sweep

BENCH_KEYS = ("machine", "implementations", "report", "sweep", "ground_truth", "targets")
REQUIRED = ("sweep", "logsoftmax", "examples")  # artifacts without which there is no report


class ReportError(RuntimeError):
    """The data cannot make a report; the message says why."""


@dataclass
class Bundle:
    data_dir: Path
    manifest: dict
    files: dict[str, str]  # every data file -> its SHA-256 (checked)
    documents: dict[str, object] = field(default_factory=dict)  # JSON file name -> parsed
    bench: dict | None = None  # bench.json when `make bench` wrote one (optional)
    bench_sha256: str | None = None

    @functools.cached_property
    def sweep(self) -> dict[str, np.ndarray]:
        return load_sweep(self.data_dir / "sweep.parquet")

    @property
    def thresholds(self) -> list[dict]:
        return self.documents["thresholds.json"]

    @property
    def logsoftmax(self) -> dict:
        return self.documents["logsoftmax.json"]

    @property
    def methods_real(self) -> dict | None:
        return self.documents.get("methods_real.json")

    @functools.cached_property
    def _memo(self) -> dict:
        return {}

    def memo(self, key, compute):
        """compute() once per bundle under ``key``: a number that two
        sections show (the method rankings) is computed once per build."""
        if key not in self._memo:
            self._memo[key] = compute()
        return self._memo[key]

    def get(self, name: str):
        """A JSON document of the bundle, None when its artifact was not computed."""
        return self.documents.get(name)

    def checksums(self, artifacts) -> dict[str, str]:
        """The checksums of the files of ``artifacts`` (names in the registry)."""
        wanted = {f for a in ARTIFACTS if a.name in artifacts for f in a.files}
        out = {f: d for f, d in self.files.items() if f in wanted}
        if "bench" in artifacts:
            out["bench.json"] = self.bench_sha256
        return out


# --- the sweep's table ----------------------------------------------------------------

# Text column (by identity) -> (the column, its sorted distinct values, int32
# codes): comparing codes is ~20x faster than comparing millions of strings.
_CODES: dict[int, tuple] = {}


def _codes(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(sorted distinct values, codes) of a text column, computed once per array."""
    hit = _CODES.get(id(values))
    if hit is None or hit[0] is not values:
        if len(_CODES) > 64:  # tables of earlier builds in this process
            _CODES.clear()
        uniques, codes = np.unique(values, return_inverse=True)
        hit = _CODES[id(values)] = (values, uniques, codes.astype(np.int32).reshape(values.shape))
    return hit[1], hit[2]


def distinct(column: np.ndarray, mask: np.ndarray | None = None) -> list:
    """The sorted distinct values of a text column (where mask is true)."""
    uniques, codes = _codes(column)
    present = np.bincount(codes if mask is None else codes[mask], minlength=len(uniques)) > 0
    return uniques[present].tolist()


def select(sweep, **equal) -> np.ndarray:
    """The rows of the table whose columns equal the given values."""
    mask = np.ones(len(sweep["family"]), dtype=bool)
    for column, value in equal.items():
        if column in TEXT_COLUMNS:
            uniques, codes = _codes(sweep[column])
            i = int(np.searchsorted(uniques, value))
            mask &= (codes == i) if i < len(uniques) and uniques[i] == value else False
        else:
            mask &= sweep[column] == value
    return mask


def failed(sweep) -> np.ndarray:
    """The rows whose grade is a failure (lost, inf or NaN: metrics.FAILURES)."""
    uniques, codes = _codes(sweep["grade"])  # integers compared, not millions of strings
    return np.isin(codes, np.flatnonzero(np.isin(uniques, FAILURES)))


# The range over which the report states shares: two-level vectors whose
# entries c and c - g all lie within ±RANGE_LN_MAX ln max of their format
# (this covers exp's overflow at ln max and its underflow at ln(tiny/2) in
# every format of the study), the same range in every format's own units.
RANGE_LN_MAX = 2


def in_range(sweep) -> np.ndarray:
    """The two-level rows whose entries lie within ±RANGE_LN_MAX ln max."""
    from ..formats import FORMATS

    limit = np.zeros(len(sweep["family"]))
    for dtype in distinct(sweep["dtype"]):
        limit[select(sweep, dtype=dtype)] = RANGE_LN_MAX * FORMATS[dtype].ln_max
    with np.errstate(invalid="ignore"):
        inside = (np.abs(sweep["offset"]) <= limit) & (np.abs(sweep["offset"] - sweep["gap"]) <= limit)
    return select(sweep, family="two_level") & inside


def dtypes_of(sweep) -> list[str]:
    present = set(distinct(sweep["dtype"]))
    return [d for d in STUDY_DTYPES if d in present]


def load_sweep(path: Path) -> dict[str, np.ndarray]:
    """sweep.parquet as columns: text columns as str arrays, ``n`` as int,
    the others as float64 with NaN where not applicable."""
    try:
        compact = read_sweep(path)
    except (OSError, ValueError) as err:
        raise ReportError(f"{path}: {err}") from None
    if len(compact["n"]) == 0:
        raise ReportError(f"{path}: no rows")
    unknown = set(compact["grade"][0].tolist()) - set(GRADES)
    if unknown:
        raise ReportError(f"{path}: unknown grade {sorted(unknown)}")
    table = {}
    for name, v in compact.items():
        if isinstance(v, tuple):
            table[name] = v[0][v[1]]
            _CODES[id(table[name])] = (table[name], *v)
        else:
            table[name] = v
    return table


# --- loading and checking ---------------------------------------------------------------


def _json(path: Path):
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ReportError(f"{path}: invalid JSON: {err}") from None


def _check_thresholds(path: Path, thresholds) -> None:
    for record in thresholds:
        missing = {"function", "method", "dtype", "n", "kind", "observed", "predicted", "note"} - set(record)
        if missing:
            raise ReportError(f"{path}: a record lacks {sorted(missing)}")
        for key in ("observed", "predicted"):
            value = record[key]
            if value is not None and not (isinstance(value, int | float) and math.isfinite(value)):
                raise ReportError(f"{path}: {key} = {value!r} is not a finite number or null")


def _gstar_rows(path: Path) -> list[dict]:
    rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"))))
    if not rows or tuple(rows[0]) != GSTAR_COLUMNS:
        raise ReportError(f"{path}: unexpected header {','.join(rows[0]) if rows else ''!r}")
    return [
        {"n": int(n), "dtype": d, "entry": e, "g_star_observed": float(o), "g_star_predicted": float(p)}
        for n, d, e, o, p in rows[1:]
    ]


def load_bench(data_dir: Path) -> tuple[dict | None, str | None]:
    """bench.json (``python -m analysis bench``), else bench_short.json (the
    short run of ``make report``), and its SHA-256, or (None, None) when
    neither exists: the report never needs it.  A file that
    exists but is damaged is an error, not silently left out."""
    path = Path(data_dir) / "bench.json"
    if not path.is_file():  # the short run of `make report` (analysis.bench.run_short), if any
        path = Path(data_dir) / "bench_short.json"
    if not path.is_file():
        return None, None
    document = _json(path)
    missing = [key for key in BENCH_KEYS if not isinstance(document, dict) or key not in document]
    if missing:
        raise ReportError(f"{path}: no {missing[0]!r}; rerun `make bench`")
    for r in document["implementations"]:
        need = {"function", "method", "summation", "dtype", "n", "shape", "elements", "seconds", "vs_naive",
                "vs_scipy", "vs_floor"}  # fmt: skip
        if need - set(r) or not all(
            isinstance(r["seconds"].get(k), int | float) and math.isfinite(r["seconds"][k]) and r["seconds"][k] > 0
            for k in ("median", "q1", "q3")
        ):
            raise ReportError(f"{path}: an implementation record is incomplete or has a non-positive time")
    return document, sha256_file(path)


def load(data_dir: str | Path) -> Bundle:
    """Read and check the data folder; ReportError says what is wrong."""
    data_dir = Path(data_dir)
    manifest_path = data_dir / store_manifest.NAME
    if not manifest_path.is_file():
        raise ReportError(f"{manifest_path} is missing: run `python -m analysis sweep` first")
    manifest = _json(manifest_path)
    for key in ("checksums", "artifacts", "config", "versions", "numpy_simd", "command"):
        if not isinstance(manifest, dict) or key not in manifest:
            raise ReportError(f"{manifest_path}: no {key!r}")
    for name in REQUIRED:
        if name not in manifest["artifacts"]:
            raise ReportError(f"{manifest_path}: no artifact {name!r}: run `python -m analysis sweep` first")
    files = {}
    for name, expected in sorted(manifest["checksums"].items()):
        path = data_dir / name
        if not path.is_file():
            raise ReportError(f"{path} is listed in the manifest but missing")
        files[name] = sha256_file(path)
        if files[name] != expected:
            raise ReportError(f"{path} does not match the manifest's checksum: the data changed after the study")
    bundle = Bundle(data_dir, manifest, files)
    for name in files:
        if name.endswith(".json"):
            bundle.documents[name] = _json(data_dir / name)
    _check_thresholds(data_dir / "thresholds.json", bundle.thresholds)
    for key in ("gstar", "error", "cross_entropy", "std_norm"):
        if key not in bundle.logsoftmax:
            raise ReportError(f"{data_dir / 'logsoftmax.json'}: no {key!r}")
    bundle.logsoftmax["gstar_csv"] = _gstar_rows(data_dir / "gstar.csv")
    bundle.bench, bundle.bench_sha256 = load_bench(data_dir)
    return bundle


FUNCTIONS = ("softmax", "logsumexp", "log_softmax")
PAIR = ("naive", "shifted")  # the two methods the Results section compares
