"""Key findings: the headline numbers, per format, from the sweep and its thresholds."""

from __future__ import annotations

import math

import numpy as np

from ...formats import FORMATS
from ..bundle import PAIR, RANGE_LN_MAX, dtypes_of, failed, in_range, select
from ..values import format_value, number, percent, text
from . import Section


def threshold(thresholds, function, method, dtype, n, kind) -> dict | None:
    for record in thresholds:
        if (record["function"], record["method"], record["dtype"], record["n"], record["kind"]) == (
            function, method, dtype, n, kind,
        ):  # fmt: skip
            return record
    return None


def failure_fraction(sweep, function: str, method: str, dtype: str) -> tuple[float, int, int]:
    """Over the two-level vectors (every n) whose entries lie within
    ±RANGE_LN_MAX ln max of the format (bundle.in_range): the fraction whose
    output is a failure (lost, inf or NaN), their count, and how many of
    them are flushed (a tiny result one ulp from the truth: not a failure)."""
    mask = select(sweep, function=function, method=method, dtype=dtype) & in_range(sweep)
    total = int(mask.sum())
    if total == 0:
        return math.nan, 0, 0
    flushed = int((sweep["grade"][mask] == "flushed").sum())
    return float(failed(sweep)[mask].sum()) / total, total, flushed


def paired_bits(sweep, function: str, dtype: str) -> dict:
    """Bits of error of the worst component (``max_bits``) of the naive and
    shifted methods on the vectors (both families, every n) where neither
    output is a failure: their medians, their maxima and how many vectors
    there are."""
    bits = {}
    for method in PAIR:
        mask = select(sweep, function=function, method=method, dtype=dtype) & ~failed(sweep)
        # A vector is identified by its parameters; empty (NaN) ones become -inf so that they compare equal.
        parameters = [sweep["family"][mask].tolist(), sweep["n"][mask].tolist()] + [
            np.where(np.isnan(sweep[c][mask]), -np.inf, sweep[c][mask]).tolist()
            for c in ("offset", "gap", "scale", "draw")
        ]
        keys = list(zip(*parameters, strict=True))
        bits[method] = dict(zip(keys, sweep["max_bits"][mask].tolist(), strict=True))
    common = sorted(set(bits["naive"]) & set(bits["shifted"]))
    out = {"count": len(common)}
    for method in PAIR:
        values = np.array([bits[method][k] for k in common], dtype=np.float64)
        out[method] = {
            "median": float(np.median(values)) if len(values) else math.nan,
            "worst": float(np.max(values)) if len(values) else math.nan,
        }
    return out


def _comparison(naive: float, shifted: float) -> str:
    if math.isnan(naive) or math.isnan(shifted):
        return "no vector where neither fails"
    if shifted < naive:
        return "the shift gains accuracy"
    if shifted > naive:
        return "the shift costs accuracy"
    return "no difference"


def _threshold_value(thresholds, function, method, dtype, n, kind):
    record = threshold(thresholds, function, method, dtype, n, kind)
    return None if record is None else record["observed"]


def key_findings(bundle) -> dict:
    """The numbers of the Key findings section, each a Value with a key."""
    sweep, thresholds = bundle.sweep, bundle.thresholds
    lengths = sorted({int(r["n"]) for r in thresholds}) or sorted(set(sweep["n"].tolist()))
    n_small, n_large = lengths[0], lengths[-1]
    per_format = []
    for dtype in dtypes_of(sweep):
        fmt = FORMATS[dtype]
        entry = {"dtype": dtype}
        for label, n in (("small", n_small), ("large", n_large)):
            lost = _threshold_value(thresholds, "softmax", "naive", dtype, n, "lost")
            entry[f"lost_{label}"] = format_value(lost, dtype, f"lost/{dtype}/n{n}")
            entry[f"lost_{label}_units"] = number(None if lost is None else lost / fmt.ln_max,
                                                  f"lost_units/{dtype}/n{n}", digits=3)  # fmt: skip
        nonfinite = _threshold_value(thresholds, "softmax", "naive", dtype, n_small, "nonfinite")
        entry["nonfinite"] = format_value(nonfinite, dtype, f"nonfinite/{dtype}")
        entry["ln_max"] = number(fmt.ln_max, f"ln_max/{dtype}", digits=6)
        for method in PAIR:
            fraction, total, flushed = failure_fraction(sweep, "softmax", method, dtype)
            entry[f"fail_{method}"] = percent(fraction, f"fail/{dtype}/{method}")
            entry[f"flushed_{method}"] = number(flushed, f"flushed/{dtype}/{method}")
            entry["grid_size"] = number(total, f"grid/{dtype}")
        bits = paired_bits(sweep, "softmax", dtype)
        entry["paired"] = number(bits["count"], f"paired/{dtype}")
        for method in PAIR:
            for stat in ("median", "worst"):
                entry[f"{stat}_{method}"] = number(bits[method][stat], f"bits/{dtype}/{method}/{stat}", digits=3)
        entry["median_verdict"] = _comparison(bits["naive"]["median"], bits["shifted"]["median"])
        entry["worst_verdict"] = _comparison(bits["naive"]["worst"], bits["shifted"]["worst"])
        per_format.append(entry)
    # The first format whose naive softmax of (c, ..., c) is lost, at the shortest length.
    losses = [(e["dtype"], float(e["lost_small"].value)) for e in per_format if e["lost_small"].value is not None]
    first = min(losses, key=lambda t: t[1]) if losses else None
    first_nonfinite = first and _threshold_value(thresholds, "softmax", "naive", first[0], n_small, "nonfinite")
    failure_kinds = ("lost", "nonfinite", "nonfinite_below")
    shifted_searches = [r for r in thresholds if r["method"] == "shifted" and r["kind"] in failure_kinds]
    shifted_failures = [r for r in shifted_searches if r["observed"] is not None]
    return {
        "n_small": number(n_small),
        "n_large": number(n_large),
        "range": number(RANGE_LN_MAX),
        "per_format": per_format,
        "first_dtype": text(first[0]) if first else text("none"),
        "first_offset": format_value(first[1], first[0], "first_lost") if first else text("none"),
        "first_nonfinite": format_value(first_nonfinite, first[0], "first_nonfinite") if first else text("none"),
        "shifted_failure_count": number(len(shifted_failures), "shifted_failures"),
        "shifted_failures": [
            text(f"{r['function']} {r['dtype']} n = {r['n']} ({r['kind']} from c = {r['observed']:g})")
            for r in shifted_failures
        ],
        "shifted_checked": number(len(shifted_searches), "shifted_checked"),
    }


def context(bundle) -> dict:
    return {"findings": key_findings(bundle)}


SECTION = Section("key-findings", "Key findings", "findings.html", ("sweep",), context)
