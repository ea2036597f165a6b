"""The answer, on the first screen: three sentences, the recommendation per
format, the [10, 20] example and the hero figure, all computed from the data.

Where the naive softmax breaks comes from one function, :func:`naive_breaks`
(the thresholds searched over every value of the format, else the sweep's
grid), so that a change of the failure classification is one place.
"""

from __future__ import annotations

import math

import numpy as np

from ...formats import ALL_DTYPES, FORMATS
from ...store.schema import FAILURES
from .. import figures
from ..bundle import FUNCTIONS, RANGE_LN_MAX, distinct, in_range, select
from ..values import Value, format_number, number, text
from . import Section
from .methods import METHOD_NAMES, rankings_of

# The formats of the recommendation table, widest first, the two float8 last.
WIDEST_FIRST = ("float64", "float32", "float16", "bfloat16", "float8_e4m3fn", "float8_e5m2")
ORDER = tuple(d for d in WIDEST_FIRST if d in ALL_DTYPES)
# Which grades count as a failure (lost, inf, NaN: metrics.FAILURES); an exact,
# accurate, flushed or inaccurate result is not one.
FAILED = FAILURES


def every_format(sweep) -> list[str]:
    """The sweep's formats, float8 included, widest first."""
    present = set(distinct(sweep["dtype"]))
    return [d for d in ORDER if d in present]


def failed(grade: np.ndarray) -> np.ndarray:
    """True where a vector's grade is a failure (lost, inf or NaN)."""
    return np.isin(grade, FAILED)


def naive_breaks(bundle, dtype: str, function: str = "softmax") -> dict:
    """Where the naive ``function`` first fails on the two-level vectors
    z = (c, c − g, …): the offset c from which its output is lost, inf or NaN
    (the thresholds' kind "lost", at gap 0: for n > 1 the sum overflows first
    and every output becomes e^c/inf = 0) and the offset below which it
    returns NaN ("nonfinite_below"), each the smallest/largest over the
    lengths n searched, with ``source`` "thresholds" (exact: every value of the
    format searched) or "grid" (the sweep's grid: located to its resolution).
    A "lost" threshold at offset 0 (lost at every offset, e.g. bfloat16's
    recursive sum stalling at n = 1000) is not an overflow and is left out."""
    records = [
        r for r in bundle.thresholds
        if (r["function"], r["method"], r["dtype"]) == (function, "naive", dtype) and r["observed"] is not None
    ]  # fmt: skip
    by_n = sorted((int(r["n"]), r["observed"]) for r in records if r["kind"] == "lost" and r["observed"] > 0)
    high = [c for _, c in by_n]
    low = [r["observed"] for r in records if r["kind"] == "nonfinite_below"]
    if high or low:
        return {"high": min(high) if high else None, "low": max(low) if low else None, "source": "thresholds",
                "span": (by_n[0], by_n[-1]) if len(by_n) > 1 and by_n[0][1] != by_n[-1][1] else None}
    sweep = bundle.sweep
    mask = select(sweep, family="two_level", function=function, method="naive", dtype=dtype) & (sweep["gap"] == 0)
    bad = mask & failed(sweep["grade"])
    by_n, low = [], []
    for n in sorted(set(sweep["n"][mask].tolist())):
        grid = sweep["offset"][mask & (sweep["n"] == n)]
        offsets = sweep["offset"][bad & (sweep["n"] == n)]
        # lost from the grid's first positive offset on: lost at every offset
        # (a stalled sum), not an overflow; left out as in the thresholds
        if (offsets > 0).any() and offsets[offsets > 0].min() > grid[grid > 0].min():
            by_n.append((int(n), float(offsets[offsets > 0].min())))
        if (offsets < 0).any() and offsets[offsets < 0].max() < grid[grid < 0].max():
            low.append(float(offsets[offsets < 0].max()))
    high = [c for _, c in by_n]
    return {
        "high": min(high) if high else None,
        "low": max(low) if low else None,
        "source": "grid",
        "span": (by_n[0], by_n[-1]) if len(by_n) > 1 and by_n[0][1] != by_n[-1][1] else None,
    }


def _breaks_text(breaks: dict, dtype: str) -> Value:
    """"max z ≥ a (r ln max); every z ≤ b (r ln max)", in 3 digits."""
    ln_max = FORMATS[dtype].ln_max
    parts = []
    if breaks.get("span"):
        (n_short, c_short), (n_long, c_long) = breaks["span"]
        parts.append(f"≥ {format_number(c_short, 3)} at n = {n_short} … {format_number(c_long, 3)} at n = {n_long} "
                     f"({format_number(c_short / ln_max, 2)}–{format_number(c_long / ln_max, 2)} ln max)")
    for key, sign in (("high", "≥"), ("low", "≤")):
        if key == "high" and breaks.get("span"):
            continue
        if breaks[key] is not None:
            parts.append(f"{sign} {format_number(breaks[key], 3)} ({format_number(breaks[key] / ln_max, 3)} ln max)")
    note = "" if breaks["source"] == "thresholds" else " (grid)"
    return text("max z " + " or ".join(parts) + note if parts else "not in the searched range")


def _share(fraction: float) -> str:
    if fraction == 0:
        return "0 %"
    return format_number(100 * fraction, 2) + " %"


def recommendations(bundle) -> dict:
    """Per format: where naive softmax breaks, the best-ranked method of each
    function (:func:`methods.method_ranking`), its worst error in bits and
    its share of failed vectors."""
    sweep = bundle.sweep
    present = set(distinct(sweep["dtype"]))
    rankings = rankings_of(bundle)
    rows, best = [], {}
    for dtype in (d for d in ORDER if d in present):
        fmt = FORMATS[dtype]
        cells = [text(dtype), _breaks_text(naive_breaks(bundle, dtype), dtype)]
        limits = []
        for function in FUNCTIONS:
            top = rankings[function].get(dtype, [None])[0]
            if top is None:
                cells.append(text("—"))
                continue
            best[dtype, function] = top
            cells.append(text(f"{function}_{top['method']}", "code"))
            if top["sweep_not_ok"] > 0:
                limits.append(f"{function} {_share(top['sweep_not_ok'])}")
        soft = best.get((dtype, "softmax"))
        worst = soft["sweep_max"] if soft else None
        cells.append(Value(f"{format_number(worst, 2)} of {fmt.precision}" if worst is not None else "—",
                           None if worst is None else repr(float(worst)), f"best-bits/{dtype}"))  # fmt: skip
        cells.append(text("; ".join(limits) if limits else "no failure"))
        rows.append(cells)
    return {"rows": rows, "best": best}


def answer(bundle, best: dict) -> dict:
    """The three sentences' numbers: the formats whose naive softmax breaks
    inside ±ln max·(1 + 1 %), the share of two-level vectors on which naive
    and shifted softmax fail, and the methods ranked first."""
    sweep = bundle.sweep
    present = [d for d in ORDER if d in set(distinct(sweep["dtype"]))]
    fail = {}
    ranged = in_range(sweep)  # the same range in every format's units, not the grid's extent
    for method in ("naive", "shifted"):
        mask = select(sweep, family="two_level", function="softmax", method=method) & ranged
        mask &= np.isin(sweep["dtype"], present)
        fail[method] = float(failed(sweep["grade"][mask]).mean()) if mask.any() else math.nan
    firsts = {}
    for (dtype, function), row in best.items():
        if function == "softmax":
            firsts.setdefault(row["method"], []).append(dtype)
    winners = sorted(firsts.items(), key=lambda kv: -len(kv[1]))
    methods = "; ".join(f"{METHOD_NAMES.get(m, m)} for {', '.join(ds)}" for m, ds in winners)
    worst_bits = [(row["sweep_max"], dtype) for (dtype, f), row in best.items()
                  if f == "softmax" and row["sweep_max"] is not None]  # fmt: skip
    worst = max(worst_bits) if worst_bits else (math.nan, "—")
    return {
        "fail_naive": Value(_share(fail["naive"]), repr(fail["naive"]), "answer/fail/naive"),
        "fail_shifted": Value(_share(fail["shifted"]), repr(fail["shifted"]), "answer/fail/shifted"),
        "methods": text(methods),
        "worst_bits": Value(format_number(worst[0], 2), repr(float(worst[0])), "answer/worst-bits"),
        "worst_dtype": text(worst[1]),
        "worst_precision": number(FORMATS[worst[1]].precision) if worst[1] in FORMATS else text("—"),
        "formats": text(", ".join(present)),
        "range": number(RANGE_LN_MAX),
        "lengths": text(", ".join(str(n) for n in sorted({int(r["n"]) for r in bundle.thresholds}
                                                         or set(sweep["n"].tolist())))),
    }


def teaching_example(doc: dict) -> dict | None:
    """softmax of [10, 20] in float16, naive and max-shifted, from examples.json."""
    for table in doc["tables"]:
        if table["function"] != "softmax":
            continue
        for r in table["rows"]:
            if [float(v) for v in r["z"]] == [10.0, 20.0] and r["dtype"] == "float16":
                out = {"z": text("[" + ", ".join(format_number(float(v)) for v in r["z"]) + "]"),
                       "ln_max": text(format_number(FORMATS["float16"].ln_max, 4))}
                for label, cell in zip(table["methods"], r["cells"], strict=True):
                    values = np.array([float(v) for v in cell["values"]])
                    short = "[" + ", ".join(format_number(float(v), 3) if np.isfinite(v) else
                                            ("NaN" if np.isnan(v) else "∞") for v in values) + "]"  # fmt: skip
                    out["naive" if label == "naive" else "shifted" if label == "max-shifted" else "other"] = text(short)
                out["truth"] = text("[" + ", ".join(format_number(float(v), 3) for v in r["truth"]) + "]")
                return out
    return None


def context(bundle) -> dict:
    rec = recommendations(bundle)
    present = [d for d in ORDER if d in set(distinct(bundle.sweep["dtype"]))]
    return {
        "summary": {
            "answer": answer(bundle, rec["best"]),
            "rows": rec["rows"],
            "example": teaching_example(bundle.get("examples.json")),
            "hero": figures.hero(bundle.sweep, present, failed),
        }
    }


SECTION = Section("answer", "The answer", "summary.html", ("sweep", "examples", "methods_real", "bench"), context)
