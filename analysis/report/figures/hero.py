"""The report's first figure: naive against max-shifted softmax on the same
axes, one panel per format, the largest logit in units of the format's ln max."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence

import numpy as np
from matplotlib.lines import Line2D

from ...formats import FORMATS
from .common import METHOD_STYLE, SvgFigure, _margins, _new_figure, _subset, to_svg

HERO_STYLE = {
    "naive": {**METHOD_STYLE["naive"], "marker": "o"},
    "shifted": {**METHOD_STYLE["shifted"], "marker": "s"},
}


def failure_share(records: Mapping[str, np.ndarray], dtype: str, method: str, failed: Callable) -> tuple:
    """Per offset c of the two-level grid (every gap and length n): c and the
    share of vectors whose softmax fails."""
    mask = (records["dtype"] == dtype) & (records["method"] == method)
    offsets = records["offset"][mask]
    bad = failed(records["grade"][mask])
    cs = np.unique(offsets)
    share = np.array([bad[offsets == c].mean() for c in cs])
    return cs, share


def _format_panels(dtypes: Sequence[str], panel_height: float, extra_height: float, bottom: float, wspace: float):
    """One panel per format on shared axes, 9 inches wide, 3 columns beyond 4
    formats (else 2), the panels left over hidden: the figure and, per format,
    (axes, format, whether it is in the first column, whether in the last row)."""
    columns = 3 if len(dtypes) > 4 else 2
    rows = math.ceil(len(dtypes) / columns)
    fig = _new_figure(9.0, panel_height * rows + extra_height)
    axes = fig.subplots(rows, columns, sharex=True, sharey=True, squeeze=False)
    _margins(fig, left=0.7, right=0.15, top=0.25, bottom=bottom, hspace=0.45, wspace=wspace)
    for ax in axes.flat[len(dtypes) :]:
        ax.set_visible(False)
    last_row = len(dtypes) - columns
    return fig, [(ax, d, k % columns == 0, k >= last_row) for k, (ax, d) in enumerate(zip(axes.flat, dtypes))]


def _label_panel(ax, dtype: str, first_column: bool, last_row: bool, ylabel: str, xlabel: str) -> None:
    """The grid and title of a format's panel; the y label on the first
    column, the x label and tick labels on the last row."""
    ax.grid(True, color="#DDDDDD", linewidth=0.6)
    ax.set_title(dtype, loc="left", fontweight="bold")
    if first_column:
        ax.set_ylabel(ylabel)
    if last_row:
        ax.set_xlabel(xlabel)
        ax.tick_params(axis="x", labelbottom=True)


def hero(records: Mapping[str, np.ndarray], dtypes: Sequence[str], failed: Callable) -> SvgFigure:
    """Share of two-level softmax vectors that fail against c / ln max, naive
    (solid, circles) and max-shifted (dashed, squares) overlaid, one panel per
    format on shared axes; the vertical lines mark c = ±ln max."""
    records = _subset(records, family="two_level", function="softmax")
    fig, panels = _format_panels(dtypes, panel_height=1.55, extra_height=1.1, bottom=0.85, wspace=0.1)
    summary = []
    for ax, dtype, first_column, last_row in panels:
        ln_max = FORMATS[dtype].ln_max
        parts = []
        for method, style in HERO_STYLE.items():
            cs, share = failure_share(records, dtype, method, failed)
            if not len(cs):
                continue
            ax.plot(cs / ln_max, 100 * share, color=style["color"], linestyle=style["linestyle"],
                    linewidth=1.6 if method == "naive" else 1.4, label=style["label"])  # fmt: skip
            worst = float(share.max()) if len(share) else 0.0
            parts.append(f"{method} fails on up to {100 * worst:.0f} % of the vectors at one offset")
        for x in (-1, 1):
            ax.axvline(x, color="#000000", linewidth=0.8, linestyle=(0, (1, 1.5)))
        ax.set_xscale("symlog", linthresh=1.0, linscale=1.0)
        ax.set_xlim(-200, 200)
        ax.set_ylim(-5, 105)
        ax.set_yticks([0, 50, 100])
        ax.set_xticks([-100, -10, -1, 0, 1, 10, 100])
        ax.set_xticklabels(["−100", "", "−1", "0", "1", "", "100"])
        _label_panel(ax, dtype, first_column, last_row, "vectors failing (%)", "largest logit c / ln max")
        summary.append(f"{dtype}: " + ", ".join(parts))
    handles = [
        Line2D([], [], color=s["color"], linestyle=s["linestyle"], linewidth=1.4, label=s["label"])
        for s in HERO_STYLE.values()
    ]
    handles.append(Line2D([], [], color="#000000", linewidth=0.8, linestyle=(0, (1, 1.5)), label="c = ±ln max"))
    fig.legend(handles=handles, loc="lower center", bbox_to_anchor=(0.5, 0.0), ncol=3, frameon=False)
    alt = (
        "Share of two-level softmax vectors (every gap and length) that fail, against the largest logit in units "
        "of the format's ln max, naive and max-shifted on the same axes, one panel per format. " + "; ".join(summary)
        + "."
    )
    return to_svg(fig, "hero", alt)


def scale_percentiles(records: Mapping[str, np.ndarray], dtype: str, method: str, n: int, failed: Callable) -> dict:
    """Per scale s of the scaled normal family (one format, method and
    length n): the 5th, 50th and 95th percentiles (numpy's linear
    interpolation) of the worst component's bits of error over the draws
    that do not fail, the number of draws and of failing draws.  Pure
    numbers: the figure and the report's table read them."""
    mask = (records["dtype"] == dtype) & (records["method"] == method) & (records["n"] == n)
    bits, bad = records["max_bits"][mask], failed(records["grade"][mask])
    scales, which = np.unique(records["scale"][mask], return_inverse=True)
    out = {"scale": scales, "p5": [], "p50": [], "p95": [], "draws": [], "failed": []}
    for k in range(len(scales)):
        at = which == k
        kept = bits[at & ~bad & ~np.isnan(bits)]
        q = np.percentile(kept, [5, 50, 95]) if kept.size else (np.nan,) * 3
        for key, v in zip(("p5", "p50", "p95"), q):
            out[key].append(float(v))
        out["draws"].append(int(at.sum()))
        out["failed"].append(int((at & bad).sum()))
    return {k: np.asarray(v) for k, v in out.items()}


def bits_overlay(
    records: Mapping[str, np.ndarray], function: str, dtypes: Sequence[str], failed: Callable
) -> SvgFigure:
    """Bits of error of ``function`` on z = s·x (x standard normal) at the
    longest length n of the sweep, against the scale s: one panel per format
    on shared axes, naive and max-shifted overlaid.  A line is the median
    over the draws of the worst component's bits (over the draws that do not
    fail), the band spans their 5th to 95th percentiles
    (:func:`scale_percentiles`); a cross on the top edge marks a scale at
    which some draw fails."""
    records = _subset(records, family="scaled_normal", function=function)
    n = int(np.max(records["n"])) if len(records["n"]) else 0
    records = _subset(records, n=n)
    ok_all = ~failed(records["grade"]) & ~np.isnan(records["max_bits"])
    largest = float(np.max(records["max_bits"][ok_all])) if ok_all.any() else 1.0
    top = max(3.0, math.ceil(largest * 1.1 + 0.5))
    fig, panels = _format_panels(dtypes, panel_height=1.6, extra_height=1.0, bottom=0.8, wspace=0.08)
    summary = []
    for ax, dtype, first_column, last_row in panels:
        for method, style in HERO_STYLE.items():
            q = scale_percentiles(records, dtype, method, n, failed)
            if not len(q["scale"]):
                continue
            scales, fails = q["scale"], q["failed"] > 0
            ax.fill_between(scales, q["p5"], q["p95"], color=style["color"], alpha=0.18, linewidth=0)
            ax.plot(scales, q["p50"], color=style["color"], linestyle=style["linestyle"], linewidth=1.4)
            if fails.any():
                ax.plot(scales[fails], np.full(fails.sum(), top), linestyle="none", marker="x", color=style["color"],
                        markersize=4, clip_on=False)  # fmt: skip
                summary.append(f"{dtype} {method}: some draw fails from scale {float(scales[fails].min()):.3g}")
            else:
                summary.append(f"{dtype} {method}: no failure, median up to {np.nanmax(q['p50']):.2g} bits")
        ax.set_xscale("log")
        ax.set_ylim(-0.3, top)
        _label_panel(ax, dtype, first_column, last_row, "bits of error", "scale s of z = s·x (log scale)")
    handles = [Line2D([], [], color=s["color"], linestyle=s["linestyle"], linewidth=1.4, label=s["label"])
               for s in HERO_STYLE.values()]  # fmt: skip
    handles.append(Line2D([], [], color="#444444", linestyle="none", marker="x", markersize=4,
                          label="some draw fails (top edge)"))  # fmt: skip
    fig.legend(handles=handles, loc="lower center", bbox_to_anchor=(0.5, 0.0), ncol=3, frameon=False)
    alt = (f"Bits of error of {function} at n = {n} against the scale of normally distributed logits, one panel per "
           "format on shared axes, naive and max-shifted overlaid, median and 5–95 % band over the draws. "
           + "; ".join(summary) + ".")  # fmt: skip
    return to_svg(fig, f"bits-{function}", alt)
