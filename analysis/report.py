"""Findings + figures -> one self-contained HTML file, through report_templates/.

``python -m analysis report [--quick] [--config PATH] [--data-dir DIR] [--out FILE]``
runs the sweep (cached: cheap when nothing changed), reads ``sweep.csv``,
``thresholds.json`` and ``manifest.json`` from the data folder, checks them
against the manifest's checksums, computes the key findings and the tables,
draws the figures (:mod:`analysis.figures`) and renders the templates.

Every number the report states is computed here from the data (or from the
format constants of :mod:`analysis.formats`); the templates only place text
and values.  Values reach the templates as :class:`Value` objects, which
carry the exact number (rendered in a ``<data value=...>`` element, so a
reader or a test can check it) and its display text.

The output is byte-identical for identical inputs: the only date shown comes
from ``SOURCE_DATE_EPOCH`` (else the commit time of HEAD), the figures are
deterministic, and the HTML is written to a temporary file in the output
folder and renamed over the previous report only when complete.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import hashlib
import json
import math
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import jinja2
import numpy as np
from latex2mathml.converter import convert as latex_to_mathml
from markupsafe import Markup

from . import config, figures
from . import sweep as _sweep  # its cache (load_cached, store_cached) also holds the figures
from .formats import ALL_DTYPES, FORMATS, STUDY_DTYPES
from .logsoftmax import GRID_STEP

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE_DIR = ROOT / "report_templates"
DATA_DIR = ROOT / "reports" / "data"
REPORT_PATH = ROOT / "reports" / "softmax_study.html"

COLUMNS, TEXT_COLUMNS, FLOAT_COLUMNS = _sweep.COLUMNS, _sweep.TEXT_COLUMNS, _sweep.FLOAT_COLUMNS  # sweep.csv's
FUNCTIONS = ("softmax", "logsumexp", "log_softmax")
METHODS = ("naive", "shifted")
KINDS = ("overflow", "underflow", "nan")
# How a failed status reads in the examples tables.
STATUS_WORDS = {"nan": "NaN", "inf": "overflow", "zero": "spurious 0"}
# The examples of the Background section, computed in every format.
EXAMPLE_VECTORS = ((1.0, 2.0), (10.0, 20.0), (1000.0, 1.0, 1.0))

REFERENCES = {
    "bhh": {
        "key": "bhh",
        "label": "Blanchard, Higham & Higham 2021",
        "authors": "P. Blanchard, D. J. Higham and N. J. Higham",
        "title": "Accurately computing the log-sum-exp and softmax functions",
        "venue": "IMA Journal of Numerical Analysis 41(4), 2311–2330",
        "year": "2021",
        "doi": "10.1093/imanum/draa038",
    },
    "gbc": {
        "key": "gbc",
        "label": "Goodfellow, Bengio & Courville 2016",
        "authors": "I. Goodfellow, Y. Bengio and A. Courville",
        "title": "Deep Learning",
        "venue": "MIT Press, §4.1 (overflow and underflow) and §6.2.2.3 (softmax units)",
        "year": "2016",
        "doi": "",
    },
    "herbie": {
        "key": "herbie",
        "label": "Panchekha et al. 2015",
        "authors": "P. Panchekha, A. Sanchez-Stern, J. R. Wilcox and Z. Tatlock",
        "title": "Automatically improving accuracy for floating point expressions",
        "venue": "PLDI 2015, §3 (bits of error)",
        "year": "2015",
        "doi": "10.1145/2737924.2737959",
    },
    "ziv": {
        "key": "ziv",
        "label": "Ziv 1991",
        "authors": "A. Ziv",
        "title": "Fast evaluation of elementary mathematical functions with correctly rounded last bit",
        "venue": "ACM Transactions on Mathematical Software 17(3), 410–423",
        "year": "1991",
        "doi": "10.1145/114697.116813",
    },
    "higham": {
        "key": "higham",
        "label": "Higham 2002",
        "authors": "N. J. Higham",
        "title": "Accuracy and Stability of Numerical Algorithms",
        "venue": "2nd ed., SIAM, ch. 4 (summation)",
        "year": "2002",
        "doi": "10.1137/1.9780898718027",
    },
}

FORMULAS = {
    "softmax": r"\mathrm{softmax}(z)_i = \frac{e^{z_i}}{\sum_{j=1}^{n} e^{z_j}}",
    "std_norm": r"\mathrm{std\_norm}(z)_i = \frac{z_i}{\sum_{j=1}^{n} z_j}",
    "lse": r"\mathrm{lse}(z) = \log \sum_{j=1}^{n} e^{z_j}",
    "log_softmax": r"\log \mathrm{softmax}(z)_i = z_i - \mathrm{lse}(z)",
    "max": r"m = \max_{j} z_j",
    "softmax_shifted": r"\mathrm{softmax}(z)_i = \frac{e^{z_i - m}}{\sum_{j=1}^{n} e^{z_j - m}}",
    "lse_shifted": r"\mathrm{lse}(z) = m + \log \sum_{j=1}^{n} e^{z_j - m}",
    "log_softmax_shifted": r"\log \mathrm{softmax}(z)_i = (z_i - m) - \log \sum_{j=1}^{n} e^{z_j - m}",
    "max_approx": r"\log \mathrm{softmax}(z)_i \approx z_i - m, \quad 0 \le \mathrm{lse}(z) - m \le \log n",
    "two_level": r"z = (c,\ c-g,\ \ldots,\ c-g) \in \mathbb{R}^{n}",
    "scaled_normal": r"z = s\,x, \quad x_j \text{ independent standard normal}",
    "bits": r"\mathrm{bits}(\hat y, y) = \log_2\bigl(1 + \mathrm{ulps}(\hat y, y)\bigr)",
    "overflow": r"e^{c} > \max \iff c > \ln \max",
    "u": r"u = 2^{-p}",
    "max_error_two_level": r"L(g) = \mathrm{lse}(z) - \max_j z_j = \log\bigl(1 + (n-1)\,e^{-g}\bigr) \quad "
    r"\text{for } z = (0,\ -g,\ \ldots,\ -g)",
    "gstar_top": r"\mathrm{fl}(-L(g)) = 0 \iff L(g) < \tfrac{s}{2} \iff g > g^*_{\mathrm{top}} = "
    r"\log(n-1) - \log\bigl(e^{s/2} - 1\bigr)",
    "gstar_rest": r"\mathrm{fl}(-g - L(g)) = -g \iff L(g) < \tfrac{1}{2}\,\mathrm{ulp}(g) \approx u\,g",
    "cross_entropy": r"\ell(z, y) = -\log \mathrm{softmax}(z)_y, \qquad \nabla_z \ell = \mathrm{softmax}(z) - e_y, "
    r"\qquad z = (m,\ 0,\ \ldots,\ 0),\ y = 1",
}


class ReportError(RuntimeError):
    """The data cannot make a report; the message says why."""


# --- values that reach the templates ---------------------------------------------


@dataclass(frozen=True)
class Value:
    """A number (or text) as the report shows it.

    ``text`` is what the reader sees; ``value`` the exact number as a
    string (``repr`` of the float, so it round-trips), rendered as
    ``<data value="...">`` and checked by the tests; ``key`` names it.
    """

    text: str
    value: str | None = None
    key: str | None = None
    css: str = ""


_SUPERSCRIPT = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")


def format_number(x: float | int | None, digits: int = 4) -> str:
    """``digits`` significant digits, scientific as m×10ⁿ outside [1e-3, 1e5)."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "—"
    if isinstance(x, int | np.integer):
        return f"{int(x):,}".replace(",", " ") if abs(x) >= 10000 else str(int(x))
    if math.isinf(x):
        return "∞" if x > 0 else "−∞"
    if x == 0:
        return "0"
    exponent = math.floor(math.log10(abs(x)))
    if -3 <= exponent < 5:
        text = f"{x:.{max(digits - 1 - exponent, 0)}f}"
        if "." in text:
            text = text.rstrip("0").rstrip(".")
    else:
        mantissa, exponent = f"{x:.{digits - 1}e}".split("e")
        mantissa = mantissa.rstrip("0").rstrip(".")
        text = f"{mantissa}×10{str(int(exponent)).translate(_SUPERSCRIPT)}"
    return text.replace("-", "−")


def in_format(x: float, dtype: str) -> str:
    """The shortest decimal that rounds back to ``x`` in the format ``dtype``."""
    if x is None:
        return "none"
    text = repr(float(x)) if dtype == "float64" else str(FORMATS[dtype].dtype.type(x))
    return text.replace("-", "−").replace("inf", "∞").replace("nan", "NaN")


def number(x, key: str | None = None, digits: int = 4, css: str = "") -> Value:
    exact = None if x is None else (str(int(x)) if isinstance(x, int | np.integer) else repr(float(x)))
    return Value(format_number(x, digits), exact, key, css)


def percent(fraction: float, key: str | None = None) -> Value:
    return Value(format_number(100 * fraction, 3) + " %", repr(float(fraction)), key)


def format_value(x: float | None, dtype: str, key: str | None = None) -> Value:
    return Value(in_format(x, dtype), None if x is None else repr(float(x)), key)


def text(t: str, css: str = "") -> Value:
    return Value(t, None, None, css)


def mathml(latex: str, display: str = "inline") -> Markup:
    out = latex_to_mathml(latex, display=display)
    return Markup(out.replace(' xmlns="http://www.w3.org/1998/Math/MathML"', ""))


# --- the data ---------------------------------------------------------------------


@dataclass
class StudyData:
    sweep: dict[str, np.ndarray]
    thresholds: list[dict]
    manifest: dict
    data_dir: Path
    files: dict[str, str] = field(default_factory=dict)  # name -> sha256
    logsoftmax: dict = field(default_factory=dict)  # logsoftmax.json, with gstar.csv's rows under "gstar_csv"
    bench: dict | None = None  # bench.json when `make bench` wrote one (optional)
    bench_sha256: str | None = None
    extras: dict = field(default_factory=dict)  # the files of analysis.outputs (load_extras)
    methods_real: dict | None = None  # methods_real.json, when the sweep wrote it


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _read_cells(path: Path) -> tuple[tuple[str, ...], list[list[str]]]:
    """The header and the columns of a CSV file as lists of strings.

    The sweep writes no quoted fields (no value contains a comma), so the fast
    path splits on commas; a file with quotes goes through the csv module."""
    text = path.read_text(encoding="utf-8")
    header_line, _, body = text.partition("\n")
    header = tuple(header_line.split(","))
    if '"' not in text:
        lines = body.count("\n") + (0 if body.endswith("\n") or not body else 1)
        cells = body.rstrip("\n").replace("\n", ",").split(",") if body.strip() else []
        if len(cells) == lines * len(header):
            return header, [cells[i :: len(header)] for i in range(len(header))]
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        header = tuple(next(reader, ()))
        rows = list(reader)
    bad = [i for i, row in enumerate(rows, start=2) if len(row) != len(header)]
    if bad:
        raise ReportError(f"{path}: line {bad[0]} has the wrong number of fields")
    return header, [list(column) for column in zip(*rows, strict=True)] if rows else [[] for _ in header]


def _load_compact(path: Path) -> dict:
    """sweep.csv as columns, text columns as (distinct values, codes)."""
    header, columns = _read_cells(path)
    if header != COLUMNS:
        raise ReportError(f"{path}: unexpected header {','.join(header)!r}; expected {','.join(COLUMNS)!r}")
    if not columns[0]:
        raise ReportError(f"{path}: no rows")
    table: dict = {}
    for name, values in zip(COLUMNS, columns, strict=True):
        try:
            if name in TEXT_COLUMNS:
                table[name] = _sweep.text_codes(values)
            elif name == "n":
                table[name] = np.array(values, dtype=np.int64)
            else:
                table[name] = np.array([float(v) if v else math.nan for v in values], dtype=np.float64)
        except ValueError as err:
            raise ReportError(f"{path}: column {name}: {err}") from None
        if name not in TEXT_COLUMNS and name != "n":
            # An empty cell is "not applicable"; a written NaN, or an infinity
            # anywhere but in rel_error (an overflowed logsumexp), is damage.
            suspects = np.flatnonzero(np.isnan(table[name]) if name == "rel_error" else ~np.isfinite(table[name]))
            bad = [int(i) for i in suspects if values[i]]
            if bad:
                row = bad[0]
                raise ReportError(f"{path}: column {name}, line {row + 2}: {values[row]!r} is not a finite number")
    unknown = set(table["status"][0].tolist()) - set(figures.STATUS_STYLE)
    if unknown:
        raise ReportError(f"{path}: unknown status {sorted(unknown)}")
    return table


def _expand(compact: dict) -> dict[str, np.ndarray]:
    table = {}
    for name, v in compact.items():
        if isinstance(v, tuple):
            table[name] = v[0][v[1]]
            _CODES[id(table[name])] = (table[name], *v)
        else:
            table[name] = v
    return table


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


def load_sweep(path: Path) -> dict[str, np.ndarray]:
    """sweep.csv as columns: text columns as str arrays, ``n`` as int,
    the others as float64 with NaN where the cell is empty."""
    return _expand(_load_compact(path))


def _cache_folder(name: str) -> Path:
    """``<cache>/<name>``: the sweep's cache folder (SOFTMAX_STUDY_CACHE, read
    now rather than at import, so that a test or a bench run can move it)."""
    return Path(os.environ.get("SOFTMAX_STUDY_CACHE", _sweep.CACHE_DIR)) / name


def cached_sweep(path: Path, sha256: str) -> dict[str, np.ndarray]:
    """load_sweep through a cache keyed by the file's SHA-256 (already checked
    against the manifest), the parser's code and numpy's version
    (analysis.sweep.table_key).  Parsing millions of rows is most of a build;
    the sweep stores the table it has just written as CSV under the same key
    (analysis.sweep.compact_table, equal to the parse: a test), and the
    cached table holds the text columns as codes into their distinct values."""
    key = _sweep.table_key(sha256)
    folder = _cache_folder("tables")
    stored = _sweep.load_cached(key, folder)
    if stored is not None:
        return _expand(stored)
    compact = _load_compact(path)
    try:
        _sweep.store_cached(key, compact, folder)
    except OSError:  # a read-only cache costs time, not correctness
        pass
    return _expand(compact)


def load_data(data_dir: str | Path) -> StudyData:
    """Read and check the sweep's output; ReportError says what is wrong."""
    data_dir = Path(data_dir)
    paths = {name: data_dir / name for name in ("sweep.csv", "thresholds.json", "manifest.json")}
    for path in paths.values():
        if not path.is_file():
            raise ReportError(f"{path} is missing: run `python -m analysis sweep` first")
    try:
        manifest = json.loads(paths["manifest.json"].read_text(encoding="utf-8"))
        thresholds = json.loads(paths["thresholds.json"].read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise ReportError(f"{data_dir}: invalid JSON: {err}") from None
    for key in (
        "config",
        "config_hash",
        "seed",
        "versions",
        "python",
        "platform",
        "numpy_simd",
        "checksums",
        "command",
    ):
        if key not in manifest:
            raise ReportError(f"{paths['manifest.json']}: no {key!r}")
    files = {}
    for name, expected in sorted(manifest["checksums"].items()):
        path = data_dir / name
        if not path.is_file():
            raise ReportError(f"{path} is listed in the manifest but missing")
        files[name] = _sha256(path)
        if files[name] != expected:
            raise ReportError(f"{path} does not match the manifest's checksum: the data changed after the sweep")
    for record in thresholds:
        missing = {"function", "method", "dtype", "n", "kind", "observed", "predicted", "note"} - set(record)
        if missing:
            raise ReportError(f"{paths['thresholds.json']}: a record lacks {sorted(missing)}")
        for key in ("observed", "predicted"):
            value = record[key]
            if value is not None and not (isinstance(value, int | float) and math.isfinite(value)):
                raise ReportError(f"{paths['thresholds.json']}: {key} = {value!r} is not a finite number or null")
    data = StudyData(cached_sweep(paths["sweep.csv"], files["sweep.csv"]), thresholds, manifest, data_dir, files)
    data.logsoftmax = load_logsoftmax(data_dir)
    files.update({name: _sha256(data_dir / name) for name in ("gstar.csv", "logsoftmax.json")})
    data.bench, data.bench_sha256 = load_bench(data_dir)
    data.methods_real = _optional_json(data_dir / "methods_real.json", "formats")
    if data.methods_real is not None:
        files["methods_real.json"] = _sha256(data_dir / "methods_real.json")
    return data


def _optional_json(path: Path, required: str) -> dict | None:
    """A JSON file that the report uses when present (None when absent);
    ReportError when present but unreadable or without ``required``."""
    if not path.is_file():
        return None
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as err:
        raise ReportError(f"{path}: invalid JSON: {err}") from None
    if not isinstance(document, dict) or required not in document:
        raise ReportError(f"{path}: no {required!r}")
    return document


GSTAR_COLUMNS = ("n", "dtype", "entry", "g_star_observed", "g_star_predicted")


def load_logsoftmax(data_dir: Path) -> dict:
    """logsoftmax.json and gstar.csv (written by analysis.sweep.logsoftmax_outputs),
    checked against each other; the CSV's rows go under "gstar_csv"."""
    paths = {name: data_dir / name for name in ("gstar.csv", "logsoftmax.json")}
    for path in paths.values():
        if not path.is_file():
            raise ReportError(f"{path} is missing: run `python -m analysis sweep` first")
    try:
        document = json.loads(paths["logsoftmax.json"].read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise ReportError(f"{paths['logsoftmax.json']}: invalid JSON: {err}") from None
    for key in ("gstar", "error", "cross_entropy", "std_norm", "gstar_sha256"):
        if key not in document:
            raise ReportError(f"{paths['logsoftmax.json']}: no {key!r}")
    if _sha256(paths["gstar.csv"]) != document["gstar_sha256"]:
        raise ReportError(f"{paths['gstar.csv']} does not match the checksum in logsoftmax.json")
    header, columns = _read_cells(paths["gstar.csv"])
    if header != GSTAR_COLUMNS:
        raise ReportError(f"{paths['gstar.csv']}: unexpected header {','.join(header)!r}")
    document["gstar_csv"] = [
        {"n": int(n), "dtype": d, "entry": e, "g_star_observed": float(o), "g_star_predicted": float(p)}
        for n, d, e, o, p in zip(*columns, strict=True)
    ]
    return document


# --- findings: data -> numbers ----------------------------------------------------------


def _select(sweep, **equal) -> np.ndarray:
    mask = np.ones(len(sweep["family"]), dtype=bool)
    for column, value in equal.items():
        if column in TEXT_COLUMNS:
            uniques, codes = _codes(sweep[column])
            i = int(np.searchsorted(uniques, value))
            mask &= (codes == i) if i < len(uniques) and uniques[i] == value else False
        else:
            mask &= sweep[column] == value
    return mask


def dtypes_of(sweep) -> list[str]:
    present = set(distinct(sweep["dtype"]))
    return [d for d in STUDY_DTYPES if d in present]


def threshold(thresholds, function, method, dtype, n, kind) -> dict | None:
    for record in thresholds:
        if (record["function"], record["method"], record["dtype"], record["n"], record["kind"]) == (
            function, method, dtype, n, kind,
        ):  # fmt: skip
            return record
    return None


def failure_fraction(sweep, function: str, method: str, dtype: str) -> tuple[float, int]:
    """Fraction of the two-level vectors (every n) whose output is not ok, and their count."""
    mask = _select(sweep, family="two_level", function=function, method=method, dtype=dtype)
    total = int(mask.sum())
    if total == 0:
        return math.nan, 0
    return float((sweep["status"][mask] != "ok").sum()) / total, total


def paired_bits(sweep, function: str, dtype: str) -> dict:
    """Bits of error of the worst component (``max_bits``) of the naive and
    shifted methods on the vectors (both families, every n) where both are
    ok: their medians, their maxima and how many vectors there are."""
    bits = {}
    for method in METHODS:
        mask = _select(sweep, function=function, method=method, dtype=dtype, status="ok")
        # A vector is identified by its parameters; empty (NaN) ones become -inf so that they compare equal.
        parameters = [sweep["family"][mask].tolist(), sweep["n"][mask].tolist()] + [
            np.where(np.isnan(sweep[c][mask]), -np.inf, sweep[c][mask]).tolist()
            for c in ("offset", "gap", "scale", "draw")
        ]
        keys = list(zip(*parameters, strict=True))
        bits[method] = dict(zip(keys, sweep["max_bits"][mask].tolist(), strict=True))
    common = sorted(set(bits["naive"]) & set(bits["shifted"]))
    out = {"count": len(common)}
    for method in METHODS:
        values = np.array([bits[method][k] for k in common], dtype=np.float64)
        out[method] = {
            "median": float(np.median(values)) if len(values) else math.nan,
            "worst": float(np.max(values)) if len(values) else math.nan,
        }
    return out


def _comparison(naive: float, shifted: float) -> str:
    if math.isnan(naive) or math.isnan(shifted):
        return "no vector where both are finite"
    if shifted < naive:
        return "the shift gains accuracy"
    if shifted > naive:
        return "the shift costs accuracy"
    return "no difference"


def key_findings(data: StudyData) -> dict:
    """The numbers of the Key findings section, each a Value with a key."""
    sweep, thresholds = data.sweep, data.thresholds
    lengths = sorted({int(r["n"]) for r in thresholds}) or sorted(set(sweep["n"].tolist()))
    n_small, n_large = lengths[0], lengths[-1]
    per_format = []
    for dtype in dtypes_of(sweep):
        fmt = FORMATS[dtype]
        entry = {"dtype": dtype}
        for label, n in (("small", n_small), ("large", n_large)):
            record = threshold(thresholds, "softmax", "naive", dtype, n, "overflow")
            observed = None if record is None else record["observed"]
            entry[f"overflow_{label}"] = format_value(observed, dtype, f"overflow/{dtype}/n{n}")
        entry["ln_max"] = number(fmt.ln_max, f"ln_max/{dtype}", digits=6)
        for method in METHODS:
            fraction, total = failure_fraction(sweep, "softmax", method, dtype)
            entry[f"fail_{method}"] = percent(fraction, f"fail/{dtype}/{method}")
            entry["grid_size"] = number(total, f"grid/{dtype}")
        bits = paired_bits(sweep, "softmax", dtype)
        entry["paired"] = number(bits["count"], f"paired/{dtype}")
        for method in METHODS:
            for stat in ("median", "worst"):
                entry[f"{stat}_{method}"] = number(bits[method][stat], f"bits/{dtype}/{method}/{stat}", digits=3)
        entry["median_verdict"] = _comparison(bits["naive"]["median"], bits["shifted"]["median"])
        entry["worst_verdict"] = _comparison(bits["naive"]["worst"], bits["shifted"]["worst"])
        per_format.append(entry)
    finite_overflows = [
        (e["dtype"], float(e["overflow_small"].value)) for e in per_format if e["overflow_small"].value is not None
    ]
    first = min(finite_overflows, key=lambda t: t[1]) if finite_overflows else None
    shifted_searches = [r for r in thresholds if r["method"] == "shifted" and r["kind"] in ("overflow", "nan")]
    shifted_failures = [r for r in shifted_searches if r["observed"] is not None]
    return {
        "n_small": number(n_small),
        "n_large": number(n_large),
        "per_format": per_format,
        "first_dtype": text(first[0]) if first else text("none"),
        "first_offset": format_value(first[1], first[0], "first_overflow") if first else text("none"),
        "shifted_failure_count": number(len(shifted_failures), "shifted_overflow_nan"),
        "shifted_checked": number(len(shifted_searches), "shifted_checked"),
    }


# --- tables ------------------------------------------------------------------------------


def threshold_tables(thresholds) -> list[dict]:
    """Per function: the predicted-vs-observed rows where either exists."""
    tables = []
    for function in FUNCTIONS:
        rows = []
        records = [r for r in thresholds if r["function"] == function]
        shown = [r for r in records if r["observed"] is not None or r["predicted"] is not None]
        shown.sort(
            key=lambda r: (
                KINDS.index(r["kind"]) if r["kind"] in KINDS else 9,
                r["method"],
                STUDY_DTYPES.index(r["dtype"]) if r["dtype"] in STUDY_DTYPES else 9,
                r["n"],
            )
        )
        exact = 0
        for r in shown:
            same = r["observed"] == r["predicted"]
            exact += same
            rows.append(
                [
                    text(r["kind"]),
                    text(r["method"]),
                    text(r["dtype"]),
                    number(r["n"]),
                    format_value(r["observed"], r["dtype"]),
                    format_value(r["predicted"], r["dtype"]),
                    text(r["note"], "" if same else "differs"),
                ]
            )
        if records:
            tables.append(
                {
                    "function": function,
                    "rows": rows,
                    "shown": number(len(shown)),
                    "exact": number(exact),
                    "never": number(len(records) - len(shown)),
                }
            )
    return tables


def threshold_summary(thresholds) -> dict:
    both = [r for r in thresholds if r["observed"] is not None and r["predicted"] is not None]
    worst = max((abs(r["observed"] / r["predicted"] - 1) for r in both if r["predicted"]), default=0.0)
    return {
        "both": number(len(both), "thresholds_both"),
        "exact": number(sum(1 for r in both if r["observed"] == r["predicted"]), "thresholds_exact"),
        "worst": number(worst, "thresholds_worst_relative", digits=2),
    }


def format_table(dtypes) -> list[list[Value]]:
    rows = []
    for dtype in dtypes:
        fmt = FORMATS[dtype]
        rows.append(
            [
                text(dtype),
                number(fmt.precision),
                number(fmt.unit_roundoff, digits=3),
                format_value(fmt.max, dtype),
                number(fmt.ln_max, digits=6),
                number(fmt.smallest_normal, digits=3),
                number(fmt.smallest_subnormal, digits=3),
                number(fmt.ln_smallest_subnormal - math.log(2), digits=6),
            ]
        )
    return rows


def _vector_text(values: np.ndarray, dtype: str) -> str:
    return "[" + ", ".join(in_format(float(v), dtype) for v in np.atleast_1d(values)) + "]"


def examples(dtypes) -> dict:
    """The example vectors computed by every method in every format, next to
    the correctly rounded truth (analysis.reference)."""
    from . import reference
    from . import softmax as sm
    from .metrics import classify, ulp_distance

    methods = {
        "softmax": [("naive", sm.softmax_naive), ("max-shifted", sm.softmax_shifted),
                    ("std_norm (z/Σz)", sm.std_norm)],
        "logsumexp": [("naive", sm.logsumexp_naive), ("max-shifted", sm.logsumexp_shifted)],
        "log_softmax": [("naive", sm.log_softmax_naive), ("max-shifted", sm.log_softmax_shifted),
                        ("z − max z", sm.log_softmax_max_approx)],
    }  # fmt: skip
    truths = {"softmax": reference.softmax, "logsumexp": reference.logsumexp, "log_softmax": reference.log_softmax}
    tables = []
    for function, implementations in methods.items():
        rows = []
        for vector in EXAMPLE_VECTORS:
            for dtype in dtypes:
                z = np.array(vector, dtype=np.float64).astype(FORMATS[dtype].dtype)
                truth = np.asarray(truths[function](z))
                cells = [text(_vector_text(np.array(vector), "float64")), text(dtype)]
                for label, implementation in implementations:
                    with np.errstate(invalid="ignore"):
                        computed = np.asarray(implementation(z))
                    values = _vector_text(computed, dtype)
                    if label.startswith("std_norm"):
                        cells.append(text(values))
                        continue
                    status = classify(np.atleast_1d(computed), np.atleast_1d(truth))
                    if status != "ok":
                        cells.append(Value(f"{values} — {STATUS_WORDS[status]}", None, None, "failed"))
                    else:
                        ulps = float(np.max(ulp_distance(computed, truth)))
                        note = "exact" if ulps == 0 else f"{format_number(ulps)}\u00a0ulp"
                        cells.append(Value(f"{values} — {note}", None, None, "" if ulps == 0 else "inexact"))
                cells.append(text(_vector_text(truth, dtype)))
                rows.append(cells)
        header = ["z", "format"] + [label for label, _ in implementations] + ["correctly rounded"]
        tables.append({"function": function, "header": header, "rows": rows})
    return {"tables": tables}


FLOAT8_SHIFT_EXAMPLE = (240.0, -320.0)  # an input, chosen: both exact in float8_e4m3fn


def background_examples() -> dict:
    """softmax and std_norm of [1, 2] and [10, 20] in float64, for the text."""
    from . import reference
    from . import softmax as sm

    out = {}
    for name, vector in (("small", EXAMPLE_VECTORS[0]), ("large", EXAMPLE_VECTORS[1])):
        z = np.array(vector, dtype=np.float64)
        out[name] = {
            "z": text(_vector_text(z, "float64")),
            "softmax": text("[" + ", ".join(format_number(float(v), 4) for v in reference.softmax(z)) + "]"),
            "std_norm": text("[" + ", ".join(format_number(float(v), 4) for v in sm.std_norm(z)) + "]"),
        }
    # float8_e4m3fn has no infinity: z - max z itself can overflow (to NaN).
    fmt = FORMATS["float8_e4m3fn"]
    z = np.array(FLOAT8_SHIFT_EXAMPLE, dtype=fmt.dtype)
    with np.errstate(invalid="ignore"):
        shifted = sm.softmax_shifted(z)
    out["float8"] = {
        "z": text(_vector_text(z, fmt.name)),
        "spread": text(format_number(float(z.astype(np.float64).min() - z.astype(np.float64).max()))),
        "max": text(format_number(fmt.max)),
        "shifted": text(_vector_text(shifted, fmt.name)),
    }
    return out


def grid_summary(sweep) -> dict:
    def axis(column, family):
        values = np.unique(sweep[column][_select(sweep, family=family)])
        values = values[~np.isnan(values)]
        return {
            "count": number(len(values)),
            "min": number(float(values.min()) if len(values) else None),
            "max": number(float(values.max()) if len(values) else None),
            "min_positive": number(float(values[values > 0].min()) if (values > 0).any() else None),
        }

    lengths = sorted(set(sweep["n"].tolist()))
    return {
        "offset": axis("offset", "two_level"),
        "gap": axis("gap", "two_level"),
        "scale": axis("scale", "scaled_normal"),
        "draws": number(len(np.unique(sweep["draw"][_select(sweep, family="scaled_normal")]))),
        "lengths": text(", ".join(str(n) for n in lengths)),
        "rows": number(len(sweep["family"])),
        "functions": text(", ".join(f for f in FUNCTIONS if (sweep["function"] == f).any())),
    }


# --- the cost of stability (bench.json, written by `make bench`) ------------------------------

BENCH_KEYS = ("machine", "implementations", "report", "sweep", "ground_truth", "targets")


def load_bench(data_dir: Path) -> tuple[dict | None, str | None]:
    """bench.json (``python -m analysis bench``) and its SHA-256, or (None,
    None) when it does not exist: the report never needs it.  A file that
    exists but is damaged is an error, not silently left out."""
    path = Path(data_dir) / "bench.json"
    if not path.is_file():
        return None, None
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ReportError(f"{path}: invalid JSON: {err}") from None
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
    return document, _sha256(path)


def _load(before, after) -> str:
    """The one-minute load averages around the timings, as text."""
    words = [format_number(float(v[0]), 3) if v else "not recorded" for v in (before, after)]
    return f"{words[0]} before, {words[1]} after the timings"


def _ratio(x) -> Value:
    return text("—") if x is None else number(x, digits=3)


def cost_section(bench: dict | None, manifest: dict) -> dict:
    """What the Cost of stability section shows: None when `make bench` has not run."""
    if bench is None:
        return {"present": False}
    m = bench["machine"]
    rows = []
    for r in bench["implementations"]:
        s = r["seconds"]
        rows.append([
            text(r["dtype"]), _length(r["n"]), text(" × ".join(str(v) for v in r["shape"])), text(r["function"]),
            text(r["method"]), text(r["summation"]), number(s["median"] * 1e3, digits=3),
            text(f"{format_number(s['q1'] * 1e3, 3)} – {format_number(s['q3'] * 1e3, 3)}"),
            number(s["median"] / r["elements"] * 1e9, digits=3),
            _ratio(r["vs_naive"]), _ratio(r["vs_scipy"]), _ratio(r["vs_floor"]),
        ])  # fmt: skip
    targets = [
        {
            "function": text(t["function"]),
            "n": number(t["n"]),
            "dtype": text(t["dtype"]),
            "summation": text(t["summation"]),
            "vs_naive": number(t["vs_naive"], f"cost/target/{t['summation']}/vs_naive", digits=3),
            "vs_naive_target": number(t["vs_naive_target"]),
            "met_vs_naive": text("met" if t["met_vs_naive"] else "missed", "" if t["met_vs_naive"] else "failed"),
            "vs_scipy": number(t["vs_scipy"], f"cost/target/{t['summation']}/vs_scipy", digits=3),
            "vs_scipy_target": number(t["vs_scipy_target"]),
            "met_vs_scipy": text("met" if t["met_vs_scipy"] else "missed", "" if t["met_vs_scipy"] else "failed"),
            "unresolved": bool(t.get("quartiles_overlap_scipy")),
        }
        for t in bench["targets"]
    ]
    truth = bench["ground_truth"]
    sweep_numpy = manifest.get("versions", {}).get("numpy")
    bench_numpy = m.get("versions", {}).get("numpy")
    rep = bench["report"]
    return {
        "present": True,
        "cpu": text(str(m.get("cpu_model"))),
        "cores": text(f"{m.get('logical_cores')} logical, {m.get('physical_cores')} physical"),
        "date": text(str(m.get("date"))),
        "platform": text(str(m.get("platform"))),
        "load": text(_load(m.get("load_average"), m.get("load_average_after_timings"))),
        "numpy": text(str(bench_numpy)),
        "numpy_differs": bench_numpy != sweep_numpy,
        "sweep_numpy": text(str(sweep_numpy)),
        "quick": bool(bench.get("quick")),
        "threads": text(", ".join(f"{k}={'unset' if v is None else v}" for k, v in sorted(m["threads"].items()))),
        "rows": rows,
        "targets": targets,
        "report_grid": text(str(rep["grid"])),
        "report_cold": number(rep["cold_seconds"], "cost/report/cold", digits=3),
        "report_warm": number(rep["warm_seconds"], "cost/report/warm", digits=3),
        "sweep": [
            [text(s["grid"]), number(int(s["points"])), number(int(s["chunks"])), number(s["seconds"], digits=3),
             number(s["points_per_second"], digits=3)]
            for s in bench["sweep"]
        ],  # fmt: skip
        "truth": None if truth is None else {
            "speedup": number(truth.get("speedup"), "cost/truth/speedup", digits=3),
            "fallback_rate": percent(truth["fallback_rate"], "cost/truth/fallback_rate")
            if truth.get("fallback_rate") is not None else text("—"),
            "disagreements": number(truth.get("disagreements"), "cost/truth/disagreements"),
            "elements": number(truth.get("elements"), "cost/truth/elements"),
        },  # fmt: skip
        "truth_missing": text(str(bench.get("ground_truth_missing") or "")),
    }


# --- provenance -----------------------------------------------------------------------------


def build_date(environ=os.environ) -> tuple[str, str]:
    """The date the report shows, and where it comes from."""
    epoch = environ.get("SOURCE_DATE_EPOCH")
    source = "SOURCE_DATE_EPOCH"
    if epoch is None:
        epoch, source = _git("log", "-1", "--format=%ct"), "the commit time of HEAD"
    if not epoch:
        return dt.datetime.now(dt.UTC).strftime("%Y-%m-%d"), "the build time (no SOURCE_DATE_EPOCH, no git)"
    try:
        moment = dt.datetime.fromtimestamp(int(epoch), dt.UTC)
    except ValueError:
        raise ReportError(f"SOURCE_DATE_EPOCH={epoch!r} is not an integer number of seconds") from None
    return moment.strftime("%Y-%m-%d"), source


def _git(*args: str) -> str:
    try:
        result = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return result.stdout.strip() if result.returncode == 0 else ""


def provenance(data: StudyData) -> dict:
    manifest = data.manifest
    simd = manifest["numpy_simd"]
    commit = _git("rev-parse", "HEAD")
    if commit and _git("status", "--porcelain", "--untracked-files=no"):
        commit += " (with uncommitted changes)"
    config = manifest["config"]
    return {
        "versions": [[text(k), text(str(v))] for k, v in sorted(manifest["versions"].items())],
        "python": text(str(manifest["python"])),
        "platform": text(str(manifest["platform"])),
        "simd": [
            [text(k), text(" ".join(map(str, v)) if isinstance(v, list) else str(v))] for k, v in sorted(simd.items())
        ],
        "config_hash": text(str(manifest["config_hash"])),
        "seed": text(str(manifest["seed"])),
        "checksums": [[text(k), text(v)] for k, v in sorted(data.files.items())],
        "sweep_command": text(str(manifest["command"])),
        "config_json": json.dumps(config, indent=1, sort_keys=True),
        "summation": text(str(config.get("summation", "recursive"))),
        "commit": text(commit or "unknown (not a git checkout)"),
        "bench_checksum": text(data.bench_sha256) if data.bench_sha256 else None,
    }


# --- rendering ---------------------------------------------------------------------------------

ENV = jinja2.Environment(
    loader=jinja2.FileSystemLoader(TEMPLATE_DIR),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)


# --- the log-softmax section ---------------------------------------------------------------------

CE_THRESHOLD_WORDS = {
    "naive_loss_inf": ("naive loss is +∞", "below", "fl(e^m)/(n−1) < s/2: the naive softmax of the correct class is 0"),
    "naive_grad_nan": ("naive gradient is NaN", "from", "e^m rounds to ∞: ∞/∞"),
    "shifted_loss_zero": ("log-softmax loss is 0", "from", "e^−m ≤ u: each 1 + e^−m of the sum rounds to 1"),
    "true_loss_zero": ("correctly rounded loss is 0", "from", "log(1 + (n−1)e^−m) < s/2 (top g*)"),
    "shifted_grad_zero": ("computed gradient is all 0", "from", "e^−m < s/2 rounds to 0"),
    "true_grad_zero": ("true gradient rounds to 0", "from", "(n−1)e^−m/(1 + (n−1)e^−m) < s/2"),
}


def _float(x) -> float:
    """A JSON number, or the repr of a non-finite one ("inf", "nan")."""
    return float(x)


def _short(x) -> str:
    x = _float(x)
    return "NaN" if math.isnan(x) else format_number(x, 4)


def _length(n: int) -> Value:
    """n without a breakable space (10 000 stays on one line in a narrow column)."""
    v = number(n)
    return Value(v.text.replace(" ", "\u00a0"), v.value, v.key, v.css)


def _ulps_apart(a: float, b: float, dtype: str) -> float:
    """Distance from b to a in ulps of the format at a (b need not be a value of the format)."""
    from .logsoftmax import ulp

    return abs(a - b) / ulp(a, FORMATS[dtype])


def logsoftmax_section(doc: dict, dtypes) -> dict:
    """Tables, findings and the explanation of the log-softmax section, from logsoftmax.json."""
    gstar = doc["gstar_csv"]
    extra = {(r["n"], r["dtype"], r["entry"]): r for r in doc["gstar"]}
    lengths = sorted({r["n"] for r in gstar})
    rows = []
    on_grid = within_ulp = 0
    for dtype in dtypes:
        for n in lengths:
            cells = [text(dtype), _length(n)]
            for entry in ("top", "rest"):
                record = next((r for r in gstar if (r["n"], r["dtype"], r["entry"]) == (n, dtype, entry)), None)
                if record is None:
                    cells += [text("—")] * 3
                    continue
                more = extra[(n, dtype, entry)]
                same = record["g_star_observed"] == more["g_star_predicted_grid"]
                on_grid += same
                apart = abs(record["g_star_observed"] - record["g_star_predicted"])
                within_ulp += apart <= max(more["ulp_at_g_star"], GRID_STEP)
                cells += [
                    number(record["g_star_observed"], f"gstar/{dtype}/n{n}/{entry}", digits=6),
                    number(record["g_star_predicted"], digits=6),
                    number(more["g_star_predicted_grid"], digits=6, css="" if same else "differs"),
                ]
            rows.append(cells)
    windows = doc["gstar"]
    ce = doc["cross_entropy"]
    ce_rows, ce_formats = [], []
    for dtype in dtypes:
        if dtype not in ce["formats"]:
            continue
        fmt = FORMATS[dtype]
        item = ce["formats"][dtype]
        for name, (words, side, why) in CE_THRESHOLD_WORDS.items():
            t = item["thresholds"][name]
            ce_rows.append(
                [
                    text(words),
                    text(dtype),
                    text(side),
                    format_value(t["observed"], dtype, f"ce/{dtype}/{name}"),
                    number(t["predicted"], digits=7),
                    number(_ulps_apart(t["observed"], t["predicted"], dtype), digits=2)
                    if t["observed"] is not None
                    else text("—"),
                    text(why),
                ]
            )
        accuracy = item["accuracy"]
        top = next((r for r in gstar if (r["dtype"], r["entry"], r["n"]) == (dtype, "top", ce["n"])), None)
        rest = next((r for r in gstar if (r["dtype"], r["entry"], r["n"]) == (dtype, "rest", ce["n"])), None)
        thresholds = item["thresholds"]
        ce_formats.append(
            {
                "dtype": dtype,
                "p": number(fmt.precision),
                "p_ln2": number(fmt.precision * math.log(2), digits=4),
                "neg_ln_half_s": number(math.log(2) - math.log(fmt.smallest_subnormal), digits=4),
                "top": number(top["g_star_observed"], digits=6) if top else text("—"),
                "rest": number(rest["g_star_observed"], digits=6) if rest else text("—"),
                **{name: format_value(t["observed"], dtype) for name, t in thresholds.items()},
                "worst_inf_side": number(accuracy["worst_bits_where_naive_inf"], digits=3),
                "inf_points": number(accuracy["points_where_naive_inf"]),
                "worst_before_zero": number(accuracy["worst_bits_before_zero"], digits=3),
                "spurious_zero_points": number(accuracy["spurious_zero_points"]),
            }
        )
    std_rows = []
    for case in doc["std_norm"]["cases"]:
        problems = case["std_norm_problems"]
        std_rows.append(
            [
                text(_vector_text(np.array(case["z"]), "float64")),
                text("[" + ", ".join(_short(v) for v in case["softmax"]) + "]"),
                text("[" + ", ".join(_short(v) for v in case["std_norm"]) + "]"),
                text("; ".join(problems) if problems else "a probability vector", "failed" if problems else ""),
            ]
        )
    sweep_first = doc["std_norm"]["sweep"][0]
    return {
        "gstar_rows": rows,
        "gstar_count": number(len(gstar)),
        "gstar_on_grid": number(on_grid, "gstar_on_grid"),
        "gstar_within_ulp": number(within_ulp, "gstar_within_ulp"),
        "grid_step": number(GRID_STEP),
        "window_points_min": number(min(r["window_points"] for r in windows)),
        "coarse_points": number(max(r["coarse_points"] for r in windows)),
        "all_exact_beyond": text("yes" if all(r["exact_beyond"] for r in windows) else "no"),
        "lengths": text(", ".join(str(n) for n in lengths)),
        "ce_n": number(ce["n"]),
        "ce_rows": ce_rows,
        "ce_formats": ce_formats,
        "std_rows": std_rows,
        "std_scale_low": number(float(sweep_first["scale"][0])),
        "std_scale_high": number(float(sweep_first["scale"][-1])),
        "std_softmax_low": number(_float(sweep_first["softmax_top"][0]), digits=4),
        "std_softmax_high": number(_float(sweep_first["softmax_top"][-1]), digits=4),
        "std_norm_value": number(_float(sweep_first["std_norm_top"][0]), digits=4),
    }


def _paired(sweep, function: str, dtype: str) -> dict | None:
    """The naive and shifted rows of ``function`` on the two-level grid, aligned
    on (n, offset, gap): arrays n, gap and, per method, status and max_bits
    (None when the two methods were not run on the same vectors)."""
    out = {}
    for method in METHODS:
        mask = _select(sweep, family="two_level", function=function, method=method, dtype=dtype)
        order = np.lexsort((sweep["gap"][mask], sweep["offset"][mask], sweep["n"][mask]))
        columns = {c: sweep[c][mask][order] for c in ("n", "offset", "gap", "status", "max_bits")}
        out[method] = columns
    naive, shifted = out["naive"], out["shifted"]
    if len(naive["n"]) == 0 or not all(np.array_equal(naive[c], shifted[c]) for c in ("n", "offset", "gap")):
        return None
    return {"n": naive["n"], "gap": naive["gap"], "naive": naive, "shifted": shifted}


def log_domain_rows(sweep, dtypes) -> dict:
    """Naive against shifted logsumexp and log-softmax on the two-level grid
    of the sweep: where the naive one fails (inf, NaN, spurious 0), how often
    the shifted one is ok and exact there, how often it returns a spurious 0
    there and how many of those lie beyond g = p ln 2, and its worst bits at
    small gaps (g <= 1, every entry near -log n) for the shortest and the
    longest n."""
    lengths = sorted(set(sweep["n"][_select(sweep, family="two_level")].tolist()))
    rows = []
    for function in ("logsumexp", "log_softmax"):
        for dtype in dtypes:
            pair = _paired(sweep, function, dtype)
            if pair is None:
                continue
            naive, shifted = pair["naive"], pair["shifted"]
            failed = naive["status"] != "ok"
            rescued = failed & (shifted["status"] == "ok")
            zero = failed & (shifted["status"] == "zero")
            beyond = zero & (pair["gap"] > FORMATS[dtype].precision * math.log(2))
            cells = [
                text(function), text(dtype), number(len(pair["n"])), number(int(failed.sum())),
                number(int(rescued.sum())), number(int((rescued & (shifted["max_bits"] == 0)).sum())),
                number(float(shifted["max_bits"][rescued].max()) if rescued.any() else None, digits=3),
                number(int(zero.sum())), number(int(beyond.sum())),
            ]  # fmt: skip
            for n in (lengths[0], lengths[-1]):
                small = (pair["n"] == n) & (pair["gap"] <= 1) & (shifted["status"] == "ok")
                cells.append(number(float(shifted["max_bits"][small].max()) if small.any() else None, digits=3))
            rows.append(cells)
    header = ["function", "format", "vectors", "naive fails", "shifted ok there", "shifted exact there",
              "shifted worst bits there", "shifted spurious 0 there", "of those, g > p ln 2",
              f"shifted worst bits, g ≤ 1, n = {lengths[0]}",
              f"shifted worst bits, g ≤ 1, n = {lengths[-1]}"] if lengths else []  # fmt: skip
    return {"header": header, "rows": rows}


def make_logsoftmax_figures(doc: dict, dtypes) -> dict:
    present = [d for d in dtypes if d in doc["cross_entropy"]["formats"]]
    return {
        "error": figures.max_approx_error(doc["error"], doc["gstar_csv"], dtypes),
        "cross_entropy": figures.cross_entropy(doc["cross_entropy"], present),
        "std_norm": figures.std_norm_vs_softmax(doc["std_norm"]),
    }


def make_figures(data: StudyData, dtypes) -> dict:
    sweep = data.sweep
    two_level_lengths = sorted(set(sweep["n"][_select(sweep, family="two_level")].tolist()))
    out = {"failure": [], "bits": [], "thresholds": None}
    if two_level_lengths:
        plan = [("softmax", two_level_lengths[-1])]
        if len(two_level_lengths) > 1:
            plan.append(("softmax", two_level_lengths[0]))
        plan += [(f, two_level_lengths[-1]) for f in ("logsumexp", "log_softmax")]
        for function, n in plan:
            if _select(sweep, family="two_level", function=function, n=n).any():
                out["failure"].append(
                    {"function": function, "n": number(n), "figure": figures.failure_map(sweep, function, n, dtypes)}
                )
    for function in FUNCTIONS:
        if _select(sweep, family="scaled_normal", function=function).any():
            out["bits"].append({"function": function, "figure": figures.bits_vs_scale(sweep, function, dtypes)})
    if data.thresholds:
        out["thresholds"] = figures.thresholds_scatter(data.thresholds)
    return out


# --- real logits, bounds, special values, worst cases (analysis.outputs) ----------------------

EXTRA_FILES = (
    "bhh2021.json", "bhh2021_points.json", "bounds.json", "special_values.json", "worst_cases.json", "host.json",
)  # fmt: skip


def load_extras(data_dir: Path) -> dict:
    """The files of analysis.outputs, checked against extras_manifest.json;
    {} when they were not computed (a data folder from before they existed)."""
    manifest_path = data_dir / "extras_manifest.json"
    if not manifest_path.is_file():
        return {}
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        checksums = {name: d for entry in manifest.values() for name, d in entry["checksums"].items()}
    except (ValueError, KeyError, TypeError, AttributeError) as err:
        raise ReportError(f"{manifest_path}: invalid: {err}") from None
    out = {"manifest": manifest}
    for name in EXTRA_FILES:
        path = data_dir / name
        if name not in checksums or not path.is_file():
            continue
        if _sha256(path) != checksums[name]:
            raise ReportError(f"{path} does not match the checksum in extras_manifest.json")
        try:
            out[name] = json.loads(path.read_text(encoding="utf-8"))
        except ValueError as err:
            raise ReportError(f"{path}: invalid JSON: {err}") from None
    return out


def _u(x) -> Value:
    return number(None if x is None else _float(x), digits=3)


def realdata_section(doc: dict | None, points: dict | None) -> dict | None:
    """Tables and figures of the BHH 2021 reproduction (bhh2021.json)."""
    if not doc:
        return None
    formats = [f for f in STUDY_DTYPES if f in doc] + sorted(set(doc) - set(STUDY_DTYPES))
    counts = [
        [text(f), number(doc[f]["vectors"]), number(doc[f]["lse_naive_inf"], f"bhh/{f}/lse_naive_inf"),
         number(doc[f]["lse_shifted_inf"], f"bhh/{f}/lse_shifted_inf"), number(doc[f]["softmax_naive_nonfinite"]),
         number(doc[f]["softmax_shifted_nonfinite"]), number(doc[f]["vectors_compared"])]
        for f in formats
    ]  # fmt: skip
    errors = [
        [text(t), text(f), _u(doc[f]["median_error_u"][t]), _u(doc[f]["max_error_u"][t]),
         _u(doc[f]["max_bound_u"][t]), _u(doc[f]["bound_ratio"][t]),
         number(doc[f]["bound_exceeded"][t], f"bhh/{f}/exceeded/{t}")]
        for t in doc[formats[0]]["max_error_u"] for f in formats
    ]  # fmt: skip
    effect = [
        [text(f), text(ref), number(e["bound_verdict_changes"], f"bhh/{f}/{ref}/verdicts"),
         _u(e["largest_error_change_u"]),
         text(", ".join(f"{k}: {v}" for k, v in e["ulp_differs"].items() if v) or "none")]
        for f in formats for ref, e in doc[f]["reference_effect"].items()
    ]  # fmt: skip
    methods = sorted(doc[formats[0]]["methods"])
    method_rows = [
        [text(m), *[v for f in formats for v in (number(doc[f]["methods"][m]["nonfinite"]),
                                                  number(doc[f]["methods"][m]["max_ulp"]))]]
        for m in methods
    ]  # fmt: skip
    f16 = doc.get("float16", doc[formats[0]])
    return {
        "formats": formats,
        "counts": counts,
        "error_header": ["theorem", "format", "median error", "max error", "max bound", "max error/bound",
                         "above bound"],
        "errors": errors,
        "effect": effect,
        "method_header": ["function/method"] + [f"{f} {c}" for f in formats for c in ("non-finite", "worst ULPs")],
        "methods": method_rows,
        "naive_inf": number(f16["lse_naive_inf"], "bhh/lse_naive_inf"),
        "shifted_inf": number(f16["lse_shifted_inf"], "bhh/lse_shifted_inf"),
        "vectors": number(f16["vectors"]),
        "figures": [{"dtype": d, "figure": figures.bhh_error_vs_bound(points[d], d)} for d in formats if d in points],
    }


def bounds_section(doc: dict | None, dtypes) -> dict | None:
    """The tightness table and figure (bounds.json)."""
    if not doc:
        return None
    rows = [
        [text(v["theorem"]), text(f"{v['function']}/{v['method']}"), text("yes" if v["exact_algorithm"] else "variant"),
         text(v["dtype"]), number(v["vectors"]), _u(v["max_error_u"]), _u(v["bound_at_max_error_u"]),
         _u(v["tightness"]), number(v["exceeded"], f"bounds/{k}/exceeded"),
         number(v.get("exceeded_beyond_final_rounding"), f"bounds/{k}/exceeded1")]
        for k, v in doc.items()
    ]  # fmt: skip
    return {"rows": rows, "figure": figures.bounds_vs_sweep(doc, [d for d in dtypes if any(
        v["dtype"] == d for v in doc.values())])}  # fmt: skip


def _outputs_text(values) -> str:
    if values is None:
        return "error"
    if values and isinstance(values[0], list):  # long rows: [value, count] pairs
        return ", ".join(f"{c}×{_short(v)}" for v, c in values)
    return "[" + ", ".join(_short(v) for v in values) + "]"


def special_section(doc: dict | None) -> dict | None:
    """One table row per (case, function): the truth and each method's output."""
    if not doc:
        return None
    records = doc["records"]
    methods = sorted({r["method"] for r in records})
    rows = []
    for case in dict.fromkeys(r["case"] for r in records):
        for function in ("softmax", "logsumexp", "log_softmax"):
            by_method = {r["method"]: r for r in records if r["case"] == case and r["function"] == function}
            first = next(iter(by_method.values()))
            cells = [text(first["description"]), text(f"{first['dtype']}, n = {first['n']}"), text(function),
                     text(_outputs_text(first["truth"]))]  # fmt: skip
            for m in methods:
                r = by_method.get(m)
                cells.append(text("—") if r is None else text(
                    (r["error"] or _outputs_text(r["output"])), "" if r["match"] else "differs"))  # fmt: skip
            rows.append(cells)
    mismatch = [[text(k), number(len(v)), text(", ".join(v) or "none")] for k, v in doc["mismatches"].items()]
    masked = [
        [text(k), *[text(_outputs_text(v[c]["output"]), "" if v[c]["match"] else "differs")
                    for c in ("masked", "all_masked", "masked_large")]]
        for k, v in doc["masked"].items()
    ]  # fmt: skip
    all_masked = {k: v["all_masked"]["output"] for k, v in doc["masked"].items()}
    nan_methods = [k for k, out in all_masked.items() if k.startswith("softmax/") and "nan" in out]
    other_methods = [k for k, out in all_masked.items() if k.startswith("softmax/") and "nan" not in out]
    return {
        "masked_nan": text(", ".join(nan_methods) or "none"),
        "masked_other": text(", ".join(other_methods) or "none"),
        "header": ["case", "input", "function", "correct"] + methods,
        "rows": rows,
        "mismatches": mismatch,
        "masked": masked,
        "match_ulps": number(doc["match_ulps"]),
    }


def _compact_hex(h: str) -> str:
    """float.hex text without the trailing zeros of the significand (0x1.8p+1)."""
    if "." not in h:
        return h
    significand, exponent = h.split("p")
    return significand.rstrip("0").rstrip(".") + "p" + exponent


def worstcase_section(doc: dict | None) -> dict | None:
    """The worst input per (function, method, format) (worst_cases.json)."""
    if not doc:
        return None
    rows, inputs = [], []
    for r in doc["cases"]:
        key = f"worst/{r['function']}/{r['method']}/{r['dtype']}"
        verdict = "—" if r["within_bound"] is None else ("yes" if r["within_bound"] else "no")
        if r["bound_applies"] is False:
            verdict += " (not applicable)"
        rows.append([
            text(f"{r['function']}/{r['method']}"), text(r["dtype"]), number(r["n"]),
            number(r["ulps"], key), number(r["bits"], digits=3), text(r["theorem"] or "none"),
            _u(r["error_u"]), _u(r["componentwise_error_u"]), _u(r["bound_u"]), text(verdict),
        ])  # fmt: skip
        inputs.append([text(f"{r['function']}/{r['method']}"), text(r["dtype"]),
                       text(", ".join(_compact_hex(h) for h in r["input_hex"]), "code")])  # fmt: skip
    settings = doc["settings"]
    return {
        "rows": rows,
        "inputs": inputs,
        "budget": number(settings["budget"]),
        "seed": text(str(settings["seed"])),
        "lengths": text(f"{settings['lengths'][0]} to {settings['lengths'][1]}"),
        "restarts": number(settings["restarts"]),
    }


def _share_not_rounded(r: dict) -> str:
    """"k% (worst w)" for one record of host.json's library table."""
    share = 1 - r["ulps"]["0"] / r["arguments"]
    return f"{format_number(100 * share, 3)} % (worst {format_number(r['max_ulps'])})"


def host_section(doc: dict | None) -> dict | None:
    """What numpy's exp/log add, per dispatch level (host.json)."""
    if not doc:
        return None
    levels = doc["levels"]
    library = []
    for r in levels[0]["library"]:
        cells = [text(r["function"]), text(r["dtype"]),
                 text(("every one of " if r["exhaustive"] else "") + format_number(r["arguments"]))]  # fmt: skip
        for level in levels:
            same = next(x for x in level["library"] if x["function"] == r["function"] and x["dtype"] == r["dtype"])
            cells.append(text(_share_not_rounded(same)))
        library.append(cells)
    effect = []
    for r in levels[0]["study"]:
        cells = [text(f"{r['function']}/{r['method']}"), text(r["dtype"]), number(r["vectors"])]
        key = (r["function"], r["method"], r["dtype"])
        for level in levels:
            same = next(x for x in level["study"] if (x["function"], x["method"], x["dtype"]) == key)
            change = format_number(same["largest_change"])
            cells.append(text(f"{same['ulps_changed']} / {same['status_changed']} (±{change})"))
        effect.append(cells)
    changed = {level["name"]: sum(x["ulps_changed"] + x["status_changed"] for x in level["study"]) for level in levels}
    settings = doc["settings"]
    return {
        "cpu": text(doc["cpu"]),
        "levels": text(", ".join(level["name"] for level in levels)),
        "level_count": number(len(levels)),
        "samples": number(settings["samples"]),
        "lengths": text(", ".join(str(n) for n in settings["lengths"])),
        "methods": text(", ".join(settings["methods"])),
        "model_identical": text("yes" if doc["model_identical_at_every_level"] else "NO", ""
                                if doc["model_identical_at_every_level"] else "failed"),  # fmt: skip
        "library_header": ["function", "format", "arguments"] + [level["name"] for level in levels],
        "library": library,
        "effect_header": ["function/method", "format", "vectors"] + [level["name"] for level in levels],
        "effect": effect,
        "changed": [[text(k), number(v)] for k, v in changed.items()],
        "figure": figures.host_library(doc),
    }


def attach_extras(data: StudyData) -> None:
    """Load the files of analysis.outputs into ``data`` and add their
    checksums to ``data.files`` (so that they key the figure cache and are
    listed under Reproducibility)."""
    data.extras = load_extras(data.data_dir)
    for name in EXTRA_FILES:
        if name in data.extras:
            data.files[name] = _sha256(data.data_dir / name)


def extra_sections(data: StudyData, dtypes) -> dict:
    extras = data.extras
    return {
        # Names of the paper's algorithm and theorem (labels, not results).
        "names": {"alg41": "Algorithm 4.1", "alg41_number": "4.1", "thm42": "Theorem 4.2"},
        "realdata": realdata_section(extras.get("bhh2021.json"), extras.get("bhh2021_points.json")),
        "bounds": bounds_section(extras.get("bounds.json"), dtypes),
        "special": special_section(extras.get("special_values.json")),
        "worstcase": worstcase_section(extras.get("worst_cases.json")),
        "host": host_section(extras.get("host.json")),
    }
def draw_figures(data: StudyData, dtypes) -> dict:
    """Every figure of the report (matplotlib: most of a warm build's time)."""
    return {
        "main": make_figures(data, dtypes),
        "logsoftmax": make_logsoftmax_figures(data.logsoftmax, dtypes),
        "cost": figures.cost_per_element(data.bench["implementations"]) if data.bench else None,
        "extra": extra_sections(data, dtypes),
        "methods": methods_section(data),
    }


# The code whose change redraws the figures.
_FIGURE_CODE = ("figures.py", "report.py", "formats.py", "logsoftmax.py")


def figure_cache_key(data: StudyData, dtypes) -> str:
    """SHA-256 of everything the figures depend on: the data files (their
    checksums), bench.json's, the figures' code and matplotlib's version."""
    from importlib import metadata

    code = {name: _sha256(Path(__file__).with_name(name)) for name in _FIGURE_CODE}
    blob = {"files": data.files, "bench": data.bench_sha256, "dtypes": list(dtypes), "code": code,
            "matplotlib": metadata.version("matplotlib"), "numpy": metadata.version("numpy")}  # fmt: skip
    return hashlib.sha256(json.dumps(blob, sort_keys=True).encode()).hexdigest()


def cached_figures(data: StudyData, dtypes, cache_dir: Path | None = None) -> dict:
    """draw_figures, through a cache under ``<cache>/figures/`` (the sweep's
    cache folder, SOFTMAX_STUDY_CACHE): entries are keyed by
    :func:`figure_cache_key`, written atomically and checked against their
    SHA-256 before use (analysis.sweep.load_cached); a warm build with
    unchanged data and code draws nothing and renders byte-identical HTML."""
    folder = _cache_folder("figures") if cache_dir is None else Path(cache_dir) / "figures"
    key = figure_cache_key(data, dtypes)
    drawn = _sweep.load_cached(key, folder)
    if drawn is None:
        drawn = draw_figures(data, dtypes)
        try:
            _sweep.store_cached(key, drawn, folder)
        except OSError:  # a read-only cache costs time, not correctness
            pass
    return drawn
# --- the methods compared (issue 6: algorithms of the literature, peers) -------------------------

# Method -> how the report names it, in the order the legend lists them.
METHOD_NAMES = {
    "naive": "naive",
    "shifted": "shifted (max subtracted)",
    "log1p": "BHH Algorithm 4.1 (log1p)",
    "exp_lse": "division-free exp(z − lse)",
    "online": "online (Milakov & Gimelshein)",
    "shifted_kahan": "shifted, Kahan sum",
    "shifted_pairwise": "shifted, pairwise sum",
    "shifted_fp32": "shifted in float32",
    "scipy": "SciPy",
}


def _ranking_lengths(sweep, function: str, dtype: str) -> list[int]:
    """The lengths at which every method of the sweep ran for this function
    and format: the rows the methods are compared on (the same vectors)."""
    mask = _select(sweep, function=function, dtype=dtype)
    methods = set(distinct(sweep["method"], mask))
    return sorted(
        n for n in np.unique(sweep["n"][mask]).tolist()
        if set(distinct(sweep["method"], mask & (sweep["n"] == n))) == methods
    )  # fmt: skip


def _bench_cost(bench: dict | None, function: str, method: str, dtype: str) -> float | None:
    """Median time of the method over that of naive, same function and
    format, at the largest n measured for both; None when not measured."""
    if not bench:
        return None
    times = {}
    for r in bench.get("implementations", []):
        if r.get("function") == function and r.get("dtype") == dtype and r.get("method") in (method, "naive"):
            times[r["method"], r.get("n")] = r.get("median_s")
    common = [n for (m, n) in times if m == method and ("naive", n) in times and times["naive", n]]
    if not common:
        return None
    n = max(common)
    return times[method, n] / times["naive", n]


def method_ranking(sweep, real: dict | None, bench: dict | None, function: str) -> dict:
    """{dtype: [row, ...]} with the methods of ``function`` ranked (best
    first) by the median, then the worst, bits of error of the worst
    component over the sweep's ok vectors, on the lengths at which every
    method ran; with the same numbers on the MNIST logits and the cost."""
    out = {}
    formats = [d for d in ALL_DTYPES if d in set(distinct(sweep["dtype"]))]
    for dtype in formats:
        lengths = _ranking_lengths(sweep, function, dtype)
        base = _select(sweep, function=function, dtype=dtype) & np.isin(sweep["n"], lengths)
        rows = []
        for method in distinct(sweep["method"], base):
            mask = base & _select(sweep, method=method)
            ok = mask & _select(sweep, status="ok")
            bits = sweep["max_bits"][ok]
            summary = (real or {}).get("formats", {}).get(dtype, {}).get("methods", {}).get(f"{function}/{method}")
            rows.append(
                {
                    "method": method,
                    "vectors": int(mask.sum()),
                    "sweep_median": float(np.median(bits)) if bits.size else None,
                    "sweep_max": float(bits.max()) if bits.size else None,
                    "sweep_not_ok": float(1 - ok.sum() / mask.sum()),
                    "real_median": summary["median_bits"] if summary else None,
                    "real_max": summary["max_bits"] if summary else None,
                    "real_not_ok": summary["not_ok"] / summary["vectors"] if summary and summary["vectors"] else None,
                    "cost": _bench_cost(bench, function, method, dtype),
                    "lengths": lengths,
                }
            )
        # Best first: fewest vectors not ok (a method is not better for being
        # measured only where it did not fail), then the median and the worst
        # bits over the ok vectors; a method with no ok vector last.
        rows.sort(
            key=lambda r: (
                r["sweep_median"] is None, r["sweep_not_ok"],
                r["sweep_median"] or 0, r["sweep_max"] or 0, r["method"],
            )
        )  # fmt: skip
        out[dtype] = rows
    return out


def methods_section(data: StudyData) -> dict:
    """The values and the figure of the methods subsection."""
    sweep = data.sweep
    present = set(distinct(sweep["method"]))
    tables = []
    figure = None
    if len(present) > 2:  # naive and shifted alone: the Results section covers them
        rankings = {f: method_ranking(sweep, data.methods_real, data.bench, f) for f in FUNCTIONS}
        figure = figures.method_ranking(rankings["softmax"], "softmax")
        for dtype in rankings["softmax"]:
            rows = []
            for function in FUNCTIONS:
                for rank, r in enumerate(rankings[function].get(dtype, []), start=1):
                    rows.append(
                        [
                            text(function),
                            number(rank),
                            text(METHOD_NAMES.get(r["method"], r["method"])),
                            number(r["sweep_median"], digits=3),
                            number(r["sweep_max"], digits=3),
                            percent(r["sweep_not_ok"]),
                            number(r["real_median"], digits=3) if data.methods_real else text("not computed"),
                            number(r["real_max"], digits=3) if data.methods_real else text("not computed"),
                            percent(r["real_not_ok"]) if r["real_not_ok"] is not None else text("—"),
                            number(r["cost"], digits=3) if r["cost"] is not None else text("not measured"),
                        ]
                    )
            lengths = rankings["softmax"][dtype][0]["lengths"] if rankings["softmax"][dtype] else []
            tables.append({"dtype": dtype, "rows": rows, "lengths": text(", ".join(str(n) for n in lengths))})
    real = data.methods_real or {}
    return {
        "present": figure is not None,
        "figure": figure,
        "tables": tables,
        "header": [
            "function", "rank", "method", "sweep: median bits", "sweep: worst bits", "sweep: not ok",
            "MNIST: median bits", "MNIST: worst bits", "MNIST: not ok", "time / naive",
        ],  # fmt: skip
        # How many MNIST vectors were used (those that overflow a format are skipped there).
        "real_rows": number(
            max((f["skipped"] + max((v["vectors"] for v in f["methods"].values()), default=0)
                 for f in real.get("formats", {}).values()), default=0)
        ),  # fmt: skip
        "real_present": bool(data.methods_real),
        "bench_present": bool(data.bench),
        "names": [{"method": text(k), "name": text(v)} for k, v in METHOD_NAMES.items()],
    }


def context(data: StudyData, environ=os.environ, command: str = "python -m analysis report") -> dict:
    dtypes = dtypes_of(data.sweep)
    attach_extras(data)
    drawn = cached_figures(data, dtypes)
    date, date_source = build_date(environ)
    return {
        "title": "Where softmax breaks in floating point",
        "date": date,
        "date_source": date_source,
        "findings": key_findings(data),
        "formulas": {name: mathml(latex, "block") for name, latex in FORMULAS.items()},
        "references": REFERENCES,
        "background": background_examples(),
        "grid": grid_summary(data.sweep),
        "formats": format_table(dtypes),
        "dtypes": text(", ".join(dtypes)),
        "figures": drawn["main"],
        "threshold_tables": threshold_tables(data.thresholds),
        "threshold_summary": threshold_summary(data.thresholds),
        "examples": examples(dtypes),
        "logsoftmax": logsoftmax_section(data.logsoftmax, dtypes),
        "log_domain": log_domain_rows(data.sweep, dtypes),
        "logsoftmax_figures": drawn["logsoftmax"],
        "extra": drawn["extra"],
        "cost": cost_section(data.bench, data.manifest),
        "cost_figure": drawn["cost"],
        "methods": drawn["methods"],
        "provenance": provenance(data),
        "report_command": text(command),
    }


def render(ctx: dict) -> str:
    return ENV.get_template("base.html").render(**ctx)


def write_atomically(path: Path, content: str) -> None:
    """Write ``content`` next to ``path`` and rename it over ``path``: a
    reader sees the old file or the new one, never a partial one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = tempfile.NamedTemporaryFile(
        "w", encoding="utf-8", dir=path.parent, prefix=f".{path.name}.", suffix=".tmp", delete=False
    )
    try:
        with handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(handle.name, 0o644)
        os.replace(handle.name, path)
    except BaseException:
        Path(handle.name).unlink(missing_ok=True)
        raise


def build(
    data_dir: str | Path = DATA_DIR,
    out: str | Path = REPORT_PATH,
    environ=os.environ,
    command: str = "python -m analysis report",
) -> Path:
    """Render the report from the data in ``data_dir`` into ``out``; ``command``
    is the command line the report names as the one that built it."""
    data = load_data(data_dir)
    html = render(context(data, environ, command))
    out = Path(out)
    write_atomically(out, html)
    return out


def _run_sweep(config: Path | None, quick: bool, data_dir: Path, scheduler: str | None = None) -> Path:
    """The study's data files (analysis.outputs.write_study): milliseconds
    when nothing changed."""
    from . import outputs
    from .cluster import executor
    from .config import load

    cfg = load(config, quick)
    with executor(scheduler) as pool:
        return outputs.write_study(cfg, config, data_dir, executor=pool)


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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m analysis report", description="Build the HTML report.")
    parser.add_argument("--config", type=Path, default=None, help="study file (default analysis/study.toml)")
    parser.add_argument("--quick", action="store_true", help="the small [quick] grid of the study file")
    parser.add_argument(
        "--data-dir", type=config.data_dir_argument, default=DATA_DIR, help="sweep output (default reports/data)"
    )
    parser.add_argument(
        "--out", type=Path, default=REPORT_PATH, help="report file (default reports/softmax_study.html)"
    )
    parser.add_argument("--no-sweep", action="store_true", help="use the data as they are; do not run the sweep")
    parser.add_argument(
        "--scheduler", default=None, metavar="ADDRESS", help="run the sweep on this dask.distributed scheduler"
    )
    args = parser.parse_args(argv)
    from .cluster import ClusterError

    try:
        data_dir = (
            args.data_dir if args.no_sweep else _run_sweep(args.config, args.quick, args.data_dir, args.scheduler)
        )
        out = build(data_dir, args.out, command=_command(args))
    except ClusterError as err:
        print(f"error: {err}; the previous report (if any) is unchanged", file=sys.stderr)
        sys.stderr.flush()
        os._exit(2)  # not sys.exit: a failed Client's finaliser would wait seconds to close
    except ReportError as err:
        print(f"error: {err}; the previous report (if any) is unchanged", file=sys.stderr)
        return 1
    except Exception as err:  # noqa: BLE001 -- any failure must leave the old report and exit non-zero
        print(
            f"error: report build failed: {type(err).__name__}: {err}; the previous report (if any) is unchanged",
            file=sys.stderr,
        )
        return 1
    print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
