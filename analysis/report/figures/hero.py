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
    bad = failed(records["status"][mask])
    cs = np.unique(offsets)
    share = np.array([bad[offsets == c].mean() for c in cs])
    return cs, share


def hero(records: Mapping[str, np.ndarray], dtypes: Sequence[str], failed: Callable) -> SvgFigure:
    """Share of two-level softmax vectors that fail against c / ln max, naive
    (solid, circles) and max-shifted (dashed, squares) overlaid, one panel per
    format on shared axes; the vertical lines mark c = ±ln max."""
    records = _subset(records, family="two_level", function="softmax")
    columns = 3 if len(dtypes) > 4 else 2
    rows = math.ceil(len(dtypes) / columns)
    panel_height = 1.55
    fig = _new_figure(7.2, panel_height * rows + 1.1)
    axes = fig.subplots(rows, columns, sharex=True, sharey=True, squeeze=False)
    _margins(fig, left=0.7, right=0.15, top=0.25, bottom=0.85, hspace=0.45, wspace=0.1)
    summary = []
    for k, ax in enumerate(axes.flat):
        if k >= len(dtypes):
            ax.set_visible(False)
            continue
        dtype = dtypes[k]
        ln_max = FORMATS[dtype].ln_max
        parts = []
        for method, style in HERO_STYLE.items():
            cs, share = failure_share(records, dtype, method, failed)
            if not len(cs):
                continue
            ax.plot(cs / ln_max, 100 * share, color=style["color"], linestyle=style["linestyle"], marker=style["marker"],
                    markersize=2.5, linewidth=1.4, label=style["label"])  # fmt: skip
            worst = float(share.max()) if len(share) else 0.0
            parts.append(f"{method} fails on up to {100 * worst:.0f} % of the vectors at one offset")
        for x in (-1, 1):
            ax.axvline(x, color="#000000", linewidth=0.8, linestyle=(0, (1, 1.5)))
        ax.set_xscale("symlog", linthresh=1.0, linscale=1.0)
        ax.set_xlim(-200, 200)
        ax.set_ylim(-5, 105)
        ax.set_yticks([0, 50, 100])
        ax.set_xticks([-100, -10, -1, 0, 1, 10, 100])
        ax.set_xticklabels(["−100", "−10", "−1", "0", "1", "10", "100"])
        ax.grid(True, color="#DDDDDD", linewidth=0.6)
        ax.set_title(f"{dtype} (ln max = {ln_max:.3g})", loc="left", fontweight="bold")
        if k % columns == 0:
            ax.set_ylabel("vectors failing (%)")
        if k >= len(dtypes) - columns:
            ax.set_xlabel("largest logit c / ln max")
            ax.tick_params(axis="x", labelbottom=True)
        summary.append(f"{dtype}: " + ", ".join(parts))
    handles = [
        Line2D([], [], color=s["color"], linestyle=s["linestyle"], marker=s["marker"], markersize=3, label=s["label"])
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
