"""Results: the failure maps, bits of error against scale, the thresholds predicted and observed, and the examples."""

from __future__ import annotations

import numpy as np

from ...formats import STUDY_DTYPES
from ...store.schema import THRESHOLD_KINDS as KINDS
from .. import figures
from ..bundle import FUNCTIONS, dtypes_of, select
from ..values import format_value, number, text
from . import Section
from .background import examples
from .summary import every_format, failed


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
                    number(r.get("units"), digits=3),
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
    # An observed and predicted 0 (lost at every offset) is exact and has no relative difference.
    worst = max((abs(r["observed"] / r["predicted"] - 1) for r in both if r["predicted"]), default=0.0)
    return {
        "both": number(len(both), "thresholds_both"),
        "exact": number(sum(1 for r in both if r["observed"] == r["predicted"]), "thresholds_exact"),
        "worst": number(worst, "thresholds_worst_relative", digits=2),
    }


def _first(scales, mask) -> float | None:
    return float(scales[mask].min()) if mask.any() else None


def temperature_counts(sweep, dtypes) -> dict:
    """Softmax on the scaled normal family, per format and length n, naive
    and max-shifted: the smallest scale at which some draw fails (and how
    many of the draws fail there) and the smallest from which every draw
    fails, counted out of the draws (hero.scale_percentiles)."""
    records = select(sweep, family="scaled_normal", function="softmax")
    records = {k: v[records] for k, v in sweep.items()}
    rows, draws = [], set()
    for dtype in dtypes:
        for n in sorted({int(v) for v in records["n"][records["dtype"] == dtype]}):
            row = [text(dtype), number(n)]
            for method in ("naive", "shifted"):
                q = figures.scale_percentiles(records, dtype, method, n, failed)
                draws.update(q["draws"].tolist())
                some = _first(q["scale"], q["failed"] > 0)
                every = q["failed"] == q["draws"]
                # "from s on every draw fails": the smallest scale beyond which no scale has a surviving draw
                tail = np.flip(np.logical_and.accumulate(np.flip(every)))
                at = int(np.argmax(q["scale"] == some)) if some is not None else None
                row += [
                    text("none") if some is None else number(some, digits=3),
                    text("–") if at is None else text(f"{q['failed'][at]} of {q['draws'][at]}"),
                    text("none") if not tail.any() else number(_first(q["scale"], tail), digits=3),
                ]
            rows.append(row)
    most = max(draws, default=0)
    return {"rows": rows, "draws": number(most), "fewer": any(d < most for d in draws)}


def make_figures(bundle, dtypes) -> dict:
    sweep = bundle.sweep
    two_level_lengths = sorted(set(sweep["n"][select(sweep, family="two_level")].tolist()))
    out = {"failure": [], "bits": []}
    if two_level_lengths:
        # The longest vectors only: the maps at the shortest length repeat them.
        # Not logsumexp: its naive failures are those of the softmax's sum
        # (the thresholds in the appendix give them), and the report must
        # stay under 1.5 MB.
        plan = [(f, two_level_lengths[-1]) for f in FUNCTIONS if f != "logsumexp"]
        for function, n in plan:
            if select(sweep, family="two_level", function=function, n=n).any():
                out["failure"].append(
                    {"function": function, "n": number(n), "figure": figures.failure_map(sweep, function, n, dtypes)}
                )
    for function in ("softmax",):  # logsumexp and log-softmax: the log-domain table and the rankings
        if select(sweep, family="scaled_normal", function=function).any():
            figure = figures.bits_overlay(sweep, function, every_format(sweep), failed)
            longest = int(sweep["n"][select(sweep, family="scaled_normal", function=function)].max())
            out["bits"].append({"function": function, "figure": figure, "n": number(longest)})
    return out


def context(bundle) -> dict:
    return {
        "figures": make_figures(bundle, dtypes_of(bundle.sweep)),
        "threshold_summary": threshold_summary(bundle.thresholds),
        "temperature": temperature_counts(bundle.sweep, every_format(bundle.sweep)),
        "examples": examples(bundle.get("examples.json")),
    }


SECTION = Section("results", "Results", "results.html", ("sweep", "examples"), context)
