"""The log-softmax figures: the max approximation's error, cross-entropy, std_norm."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.lines import Line2D

from ...formats import FORMATS
from .common import METHOD_STYLE, N_MARKERS, SvgFigure, _decade_label, _log_ticks, _margins, _new_figure, to_svg
from .sweep import _length_colours

# --- log-softmax and the max approximation ------------------------------------------------------

FORMAT_STYLE = {
    "float16": {"color": "#E69F00", "marker": "o", "linestyle": (0, (1, 1))},
    "bfloat16": {"color": "#009E73", "marker": "s", "linestyle": (0, (6, 2))},
    "float32": {"color": "#0072B2", "marker": "^", "linestyle": (0, (6, 2, 1, 2))},
    "float64": {"color": "#CC79A7", "marker": "D", "linestyle": "-"},
}


def _log10_ticks(axis, low: float, high: float, step: int) -> None:
    """Ticks on an axis that holds log10 values, labelled 10^k."""
    from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator

    first = math.ceil(low / step) * step
    axis.set_major_locator(FixedLocator(list(range(first, math.floor(high) + 1, step))))
    axis.set_major_formatter(FuncFormatter(lambda v, _p=None: _decade_label(10.0 ** round(v)) if v else "1"))
    axis.set_minor_locator(NullLocator())


def max_approx_error(error: Mapping, gstar: Sequence[Mapping], dtypes: Sequence[str]) -> SvgFigure:
    """The error lse(z) - max z of z_i - max z against the gap, per n, on
    log axes (the vertical axis holds log10 of the error, so values far below
    float64's range are drawn): reference values (markers), closed form
    (line), bound log n (dashed).  Left: the rest criterion, half an ulp of g
    per format (staircases), with g* of the rest entries marked; right: the
    whole range, with half the smallest subnormal per format and g* of the
    top entry marked."""
    curves = error["curves"]
    colours = _length_colours(len(curves))
    fig = _new_figure(8.0, 4.7)
    axes = fig.subplots(1, 2, squeeze=False)[0]
    _margins(fig, left=0.75, right=0.15, top=0.3, bottom=1.45, wspace=0.28)
    panels = ((axes[0], "rest", -20.0, 1.0, 2), (axes[1], "top", -340.0, 5.0, 50))
    gaps_dense = np.geomspace(0.01, 1000.0, 600)
    for ax, entry, low, high, step in panels:
        for k, curve in enumerate(curves):
            colour = colours[k]
            ax.plot(np.log10(curve["closed_gap"]), curve["closed_log10"], color=colour, linewidth=1.1)
            exact = np.array(curve["exact"], dtype=float)
            positive = exact > 0
            marker = N_MARKERS[k % len(N_MARKERS)]
            ax.plot(np.log10(np.array(curve["gap"])[positive]), np.log10(exact[positive]), linestyle="none",
                    marker=marker, markersize=3, color=colour, markerfacecolor="none")  # fmt: skip
            ax.axhline(math.log10(curve["bound"]), color=colour, linewidth=0.8, linestyle=(0, (4, 3)))
        for dtype in dtypes:
            fmt, style = FORMATS[dtype], FORMAT_STYLE[dtype]
            if entry == "rest":
                # half an ulp of g in the format, a staircase in g
                half_ulp = [
                    math.log10(math.ldexp(1.0, max(math.frexp(g)[1] - 1, fmt.emin) - fmt.precision)) for g in gaps_dense
                ]
                ax.plot(np.log10(gaps_dense), half_ulp, color=style["color"], linestyle=style["linestyle"],
                        linewidth=0.9)  # fmt: skip
            else:
                half_s = math.log10(fmt.smallest_subnormal) - math.log10(2)
                ax.axhline(half_s, color=style["color"], linestyle=style["linestyle"], linewidth=0.9)
            for record in gstar:
                if record["dtype"] == dtype and record["entry"] == entry:
                    g = record["g_star_observed"]
                    k = [c["n"] for c in curves].index(record["n"]) if record["n"] in [c["n"] for c in curves] else None
                    if k is None:
                        continue
                    y = float(np.interp(math.log10(g), np.log10(curves[k]["closed_gap"]), curves[k]["closed_log10"]))
                    ax.plot([math.log10(g)], [y], marker=style["marker"], color=style["color"], markersize=5,
                            markeredgecolor="black", markeredgewidth=0.5, linestyle="none", zorder=5)  # fmt: skip
        ax.set_ylim(low, high)
        ax.set_xlim(-2, 3)
        _log10_ticks(ax.xaxis, -2, 3, 1)
        _log10_ticks(ax.yaxis, low, high, step)
        ax.set_xlabel("gap g (log scale)")
        ax.grid(True, color="#DDDDDD", linewidth=0.6)
        title = "rest entries: criterion ulp(g)/2" if entry == "rest" else "top entry: criterion s/2"
        ax.set_title(title, loc="left", fontweight="bold")
    axes[0].set_ylabel("lse(z) − max z (log scale)")
    handles = [Line2D([], [], color=colours[k], marker=N_MARKERS[k % len(N_MARKERS)], markersize=3,
                      markerfacecolor="none", label=f"n = {c['n']}") for k, c in enumerate(curves)]  # fmt: skip
    handles += [
        Line2D([], [], color="#444444", linewidth=1.1, label="closed form"),
        Line2D([], [], color="#444444", linestyle="none", marker="o", markerfacecolor="none", markersize=3,
               label="reference"),
        Line2D([], [], color="#444444", linewidth=0.8, linestyle=(0, (4, 3)), label="bound log n"),
    ]  # fmt: skip
    handles += [
        Line2D([], [], color=FORMAT_STYLE[d]["color"], linestyle=FORMAT_STYLE[d]["linestyle"],
               marker=FORMAT_STYLE[d]["marker"], markeredgecolor="black", markeredgewidth=0.5,
               label=f"{d}: criterion, g*")
        for d in dtypes
    ]  # fmt: skip
    fig.legend(handles=handles, loc="lower center", bbox_to_anchor=(0.5, 0.0), ncol=4, frameon=False,
               columnspacing=1.2, handlelength=2.2)  # fmt: skip
    summary = "; ".join(
        f"{d}: g* rest {min(r['g_star_observed'] for r in gstar if r['dtype'] == d and r['entry'] == 'rest'):g}"
        f" to {max(r['g_star_observed'] for r in gstar if r['dtype'] == d and r['entry'] == 'rest'):g}, top "
        f"{min(r['g_star_observed'] for r in gstar if r['dtype'] == d and r['entry'] == 'top'):g}"
        f" to {max(r['g_star_observed'] for r in gstar if r['dtype'] == d and r['entry'] == 'top'):g}"
        for d in dtypes
        if any(r["dtype"] == d for r in gstar)
    )
    alt = (
        "Error of the approximation z_i − max z against the gap g on log axes, one curve per length n "
        f"({', '.join(str(c['n']) for c in curves)}): the closed form and the reference agree and stay below "
        f"the bound log n. Critical gaps: {summary}."
    )
    return to_svg(fig, "max-approx-error", alt)


CE_LINES = {
    "naive_loss_inf": {"label": "naive loss = inf", "color": "#D55E00", "linestyle": (0, (6, 2))},
    "naive_grad_nan": {"label": "naive gradient NaN", "color": "#0072B2", "linestyle": (0, (1, 1))},
    "shifted_loss_zero": {"label": "log-softmax loss = 0", "color": "#009E73", "linestyle": (0, (6, 2, 1, 2))},
    "shifted_grad_zero": {"label": "gradient all 0", "color": "#000000", "linestyle": (0, (3, 1, 1, 1, 1, 1))},
}


def cross_entropy(ce: Mapping, dtypes: Sequence[str]) -> SvgFigure:
    """Bits of error of the cross-entropy loss and of its gradient (worst
    component) against the margin, naive route and log-softmax route, one
    row per format; outputs that are inf or NaN are crosses on the top edge;
    the measured thresholds are vertical lines."""
    from matplotlib.ticker import MaxNLocator

    panel_height, legend_height = 1.6, 1.0
    fig = _new_figure(8.0, (panel_height + 0.5) * len(dtypes) + legend_height + 0.3)
    axes = fig.subplots(len(dtypes), 2, squeeze=False)
    _margins(fig, left=0.75, right=0.15, top=0.3, bottom=legend_height + 0.45, hspace=0.5 / panel_height,
             wspace=0.2)  # fmt: skip
    summary = []
    for row, dtype in enumerate(dtypes):
        data = ce["formats"][dtype]
        curves, thresholds = data["curves"], data["thresholds"]
        margins = np.array(curves["margin"], dtype=float)
        top = FORMATS[dtype].precision + 14
        for col, quantity in enumerate(("loss", "grad")):
            ax = axes[row, col]
            for route in ("naive", "shifted"):
                style = METHOD_STYLE[route]
                bits = np.array([float(b) for b in curves[f"{quantity}_{route}_bits"]])
                finite = np.isfinite(bits)
                ax.plot(margins[finite], np.minimum(bits[finite], top), color=style["color"],
                        linestyle=style["linestyle"], linewidth=1.1)  # fmt: skip
                if (~finite).any():
                    ax.plot(margins[~finite], np.full((~finite).sum(), top), linestyle="none", marker="x",
                            color=style["color"], markersize=4, clip_on=False)  # fmt: skip
            for name, line in CE_LINES.items():
                value = thresholds[name]["observed"]
                if value is not None:
                    ax.axvline(value, color=line["color"], linestyle=line["linestyle"], linewidth=1.0)
            ax.set_ylim(-1, top)
            ax.set_xlim(margins.min(), margins.max())
            ax.xaxis.set_major_locator(MaxNLocator(7))
            ax.set_title(f"{dtype}: {'loss' if quantity == 'loss' else 'gradient'}", loc="left", fontweight="bold")
            if col == 0:
                ax.set_ylabel("bits of error")
            if row == len(dtypes) - 1:
                ax.set_xlabel("margin m = z_y − z_j (logits)")
            ax.grid(True, color="#DDDDDD", linewidth=0.6)
        t = thresholds
        summary.append(
            f"{dtype}: naive loss inf below {t['naive_loss_inf']['observed']:.4g}, naive gradient NaN from "
            f"{t['naive_grad_nan']['observed']:.4g}, log-softmax loss 0 from {t['shifted_loss_zero']['observed']:.4g}, "
            f"gradient all 0 from {t['shifted_grad_zero']['observed']:.4g}"
        )
    handles = [
        Line2D([], [], color=METHOD_STYLE["naive"]["color"], linestyle=METHOD_STYLE["naive"]["linestyle"],
               label="naive route"),
        Line2D([], [], color=METHOD_STYLE["shifted"]["color"], linestyle=METHOD_STYLE["shifted"]["linestyle"],
               label="log-softmax route"),
        Line2D([], [], color="#444444", linestyle="none", marker="x", markersize=4, label="inf or NaN (top edge)"),
    ]  # fmt: skip
    handles += [Line2D([], [], color=v["color"], linestyle=v["linestyle"], label=v["label"]) for v in CE_LINES.values()]
    fig.legend(handles=handles, loc="lower center", bbox_to_anchor=(0.5, 0.0), ncol=3, frameon=False)
    alt = (
        f"Bits of error of the cross-entropy loss and gradient against the margin for n = {ce['n']}, naive route "
        "and log-softmax route, one row per format. " + "; ".join(summary) + "."
    )
    return to_svg(fig, "cross-entropy", alt)


def std_norm_vs_softmax(std: Mapping) -> SvgFigure:
    """The share of the larger score under softmax and std_norm against the
    scale s of z = s * seed: softmax sharpens with the scale, std_norm does not move."""
    fig = _new_figure(5.5, 3.4)
    ax = fig.subplots()
    _margins(fig, left=0.75, right=0.2, top=0.25, bottom=1.05)
    colours = ("#0072B2", "#D55E00")
    for k, item in enumerate(std["sweep"]):
        seed = "[" + ", ".join(f"{v:g}" for v in item["seed"]) + "]"
        scales = np.array(item["scale"], dtype=float)
        ax.plot(scales, [float(v) for v in item["softmax_top"]], color=colours[k], linewidth=1.3,
                linestyle="-" if k == 0 else "--", label=f"softmax(s·{seed})")  # fmt: skip
        ax.plot(scales, [float(v) for v in item["std_norm_top"]], color=colours[k], linewidth=0,
                marker="o" if k == 0 else "s", markersize=3, markerfacecolor="none",
                label=f"std_norm(s·{seed})")  # fmt: skip
    scales = np.array(std["sweep"][0]["scale"], dtype=float)
    ax.set_xscale("log")
    ax.set_xlim(scales.min(), scales.max())
    _log_ticks(ax.xaxis, scales.min(), scales.max())
    ax.set_ylim(0.45, 1.02)
    ax.set_xlabel("scale s (log scale)")
    ax.set_ylabel("share of the larger score")
    ax.grid(True, color="#DDDDDD", linewidth=0.6)
    fig.legend(loc="lower center", bbox_to_anchor=(0.5, 0.0), ncol=2, frameon=False)
    first = std["sweep"][0]
    alt = (
        "Share of the larger score against the scale s: softmax goes from "
        f"{float(first['softmax_top'][0]):.3g} to {float(first['softmax_top'][-1]):.3g} over the scales, "
        f"std_norm stays at {float(first['std_norm_top'][0]):.3g} for every scale."
    )
    return to_svg(fig, "std-norm", alt)


