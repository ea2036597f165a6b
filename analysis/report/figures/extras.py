"""The other studies' figures: BHH 2021 and the bounds, the cost, the methods' ranking, the host's exp."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.lines import Line2D

from ...formats import FORMATS
from .common import SvgFigure, _margins, _new_figure, to_svg
from .logsoftmax import FORMAT_STYLE

# --- Blanchard, Higham & Higham 2021: measured error against the bound ------------------

THEOREM_TITLES = {
    "3.2": "Thm 3.2\nlogsumexp, unshifted",
    "4.2": "Thm 4.2\nlogsumexp, Alg. 4.1",
    "3.3": "Thm 3.3\nsoftmax, unshifted",
    "3.4": "Thm 3.4\nexp(z − lse), unshifted",
    "4.3": "Thm 4.3\nsoftmax, Alg. 4.1",
    "4.4": "Thm 4.4\nexp(z − lse), Alg. 4.1",
}


def _error_vs_bound_panel(ax, bound, error, title: str, colour: str = "#0072B2", marker: str = "o") -> None:
    """Measured error against the bound (both in units of u) with y = x."""
    bound, error = np.asarray(bound, dtype=float), np.asarray(error, dtype=float)
    high = max(float(bound.max()), float(error.max())) * 1.05 if bound.size else 1.0
    if bound.size:  # points closer than a marker are drawn once (keeps the SVG small)
        step_x, step_y = float(bound.max()) / 150, max(float(error.max()), 1.0) / 150
        drawn = np.unique(np.column_stack([np.round(bound / step_x), np.round(error / step_y)]), axis=0)
        drawn = drawn * [step_x, step_y]
        bound, error = drawn[:, 0], drawn[:, 1]
    ax.plot([0, high], [0, high], color="#D55E00", linewidth=1.2, label="error = bound (y = x)")
    ax.plot(bound, error, linestyle="none", marker=marker, markersize=2.5, color=colour, alpha=0.5, rasterized=True,
            markeredgewidth=0, label="one vector")  # fmt: skip
    ax.set_xlim(0, float(bound.max()) * 1.05 if bound.size else 1.0)
    ax.set_ylim(0, max(float(error.max()) * 1.15, 1.0) if error.size else 1.0)
    ax.set_title(title)
    ax.grid(True, color="#DDDDDD", linewidth=0.6)


def bhh_error_vs_bound(points: Mapping, dtype: str) -> SvgFigure:
    """One panel per theorem: the measured error of each MNIST vector against
    its bound, in units of u, with the line y = x (as in Figs 5.1-5.2 of
    Blanchard, Higham & Higham 2021; the bound lies above every point when
    it holds).  The vertical axis is scaled to the errors, so where they are
    far below the bound the line leaves the panel through its top."""
    fig = _new_figure(8.0, 5.6)
    axes = fig.subplots(2, 3, squeeze=False)
    _margins(fig, left=0.6, right=0.15, top=0.45, bottom=0.85, hspace=0.6, wspace=0.3)
    order = ("3.2", "4.2", "3.3", "3.4", "4.3", "4.4")
    for ax, theorem in zip(axes.flat, order):
        _error_vs_bound_panel(ax, points[theorem]["bound"], points[theorem]["error"], THEOREM_TITLES[theorem])
    for ax in axes[1]:
        ax.set_xlabel("bound (units of u)")
    for ax in axes[:, 0]:
        ax.set_ylabel("measured error (units of u)")
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=2, frameon=False)
    count = len(points[order[0]]["error"])
    above = sum(int(np.sum(np.asarray(points[t]["error"]) > np.asarray(points[t]["bound"]))) for t in order)
    worst = max(max(np.asarray(points[t]["error"]) / np.asarray(points[t]["bound"])) for t in order)
    alt = (
        f"{dtype}: measured error against the bound, in units of u, for {count} MNIST vectors and six theorems; "
        f"{above} points lie above the line y = x; the largest error is {worst:.2g} of its bound."
    )
    return to_svg(fig, f"bhh-{dtype}", alt)


def bounds_vs_sweep(summary: Mapping, dtypes: Sequence[str]) -> SvgFigure:
    """Per theorem (columns) the measured error of the sweep's vectors against
    the bound, one colour and marker per format, log-log, with y = x."""
    theorems = sorted({v["theorem"] for v in summary.values()})
    columns = 3
    rows = max(1, -(-len(theorems) // columns))
    fig = _new_figure(8.0, 2.6 * rows + 0.9)
    grid = fig.subplots(rows, columns, squeeze=False)
    for ax in grid.flat[len(theorems):]:
        ax.set_visible(False)
    axes = list(grid.flat[: max(len(theorems), 1)])
    _margins(fig, left=0.7, right=0.15, top=0.3, bottom=0.95, wspace=0.35, hspace=0.75)
    floor = 1e-3  # errors below 1/1000 u are drawn at 1/1000 u
    above = 0
    for ax, theorem in zip(axes, theorems):
        entries = [v for v in summary.values() if v["theorem"] == theorem and v["dtype"] in dtypes]
        values = [x for v in entries for x in v["points"]["bound"] + v["points"]["error"] if x > 0]
        low, high = floor, max(values, default=10.0) * 2
        ax.plot([low, high], [low, high], color="#D55E00", linewidth=1.0)
        for v in entries:
            style = FORMAT_STYLE[v["dtype"]]
            bound, error = np.asarray(v["points"]["bound"]), np.asarray(v["points"]["error"])
            above += int(np.sum(error > bound))
            ax.plot(bound, np.maximum(error, floor), linestyle="none", marker=style["marker"], markersize=2.5,
                    color=style["color"], markerfacecolor="none", markeredgewidth=0.6, alpha=0.6,
                    rasterized=True)  # fmt: skip
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlim(1.0, high)
        ax.set_ylim(low, high)
        methods = sorted({v["method"] for v in entries})
        ax.set_title(f"Thm {theorem} ({', '.join(methods)})")
        ax.set_xlabel("bound (u)")
        ax.grid(True, color="#DDDDDD", linewidth=0.6)
    for ax in grid[:, 0]:
        ax.set_ylabel("measured error (u)")
    handles = [Line2D([], [], color="#D55E00", label="error = bound")] + [
        Line2D([], [], linestyle="none", marker=FORMAT_STYLE[d]["marker"], color=FORMAT_STYLE[d]["color"],
               markerfacecolor="none", label=d)
        for d in dtypes
    ]  # fmt: skip
    fig.legend(handles=handles, loc="lower center", ncol=len(handles), frameon=False)
    alt = (
        f"Measured error against each theorem's bound over the sweep's vectors, log axes, one marker per format; "
        f"{above} points lie above the line error = bound."
    )
    return to_svg(fig, "bounds-sweep", alt)


# --- the cost of stability (make bench) --------------------------------------------------

_COST_PALETTE = ("#D55E00", "#0072B2", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#000000", "#882255",
                 "#44AA99", "#999933")  # fmt: skip
_SUMMATION_DASH = {"numpy": "-", "recursive": ":", "-": "-"}


def cost_per_element(implementations: Sequence[Mapping], dtypes: Sequence[str] = ("float32", "float64")) -> SvgFigure:
    """Median time per element against n (log-log), from the records of
    ``bench.json``: one panel per function and format, a line per method and
    summation (solid: summation="numpy", dotted: the sequential "recursive"),
    SciPy's function, and the memory-bandwidth floor (np.copyto of the same
    array) as a grey band at the bottom.  The quartiles of the repeats are
    in the table beside it, not drawn: error bars made the report's size
    depend on how many blocks the benchmark measured."""
    functions = [f for f in ("softmax", "logsumexp") if any(r["function"] == f for r in implementations)]
    methods = []
    for r in implementations:
        if r["function"] in functions and r["method"] != "scipy" and r["method"] not in methods:
            methods.append(r["method"])
    colour = {m: _COST_PALETTE[k % len(_COST_PALETTE)] for k, m in enumerate(methods)}
    colour["scipy"], colour["floor"] = "#009E73", "#555555"
    # The legend: a line per method and summation, SciPy and the floor, in three columns.
    legend_rows = -(-(2 * len(methods) + 2) // 3)
    legend_height = 0.75 + 0.19 * legend_rows
    fig = _new_figure(8.0, 2.2 * len(functions) + 0.3 + legend_height)
    axes = fig.subplots(len(functions), len(dtypes), sharex=True, sharey=True, squeeze=False)
    _margins(fig, left=0.8, right=0.15, top=0.3, bottom=legend_height, hspace=0.2, wspace=0.06)
    handles, summary = {}, []
    for row, function in enumerate(functions):
        for col, dtype in enumerate(dtypes):
            ax = axes[row, col]
            mine = [r for r in implementations if r["dtype"] == dtype and r["function"] in (function, "copy")]
            series = []
            for r in mine:
                key = (r["method"], r["summation"])
                if key not in series:
                    series.append(key)
            for method, summation in series:
                points = sorted((r for r in mine if (r["method"], r["summation"]) == (method, summation)),
                                key=lambda r: r["n"])  # fmt: skip
                n = np.array([r["n"] for r in points], dtype=float)
                per = np.array([r["seconds"]["median"] / r["elements"] * 1e9 for r in points])
                names = {"floor": "floor: np.copyto (one read, one write)",
                         "scipy": "SciPy: scipy.special.softmax / logsumexp"}  # fmt: skip
                label = names.get(method, f"{method}, summation={summation}")
                dash = "--" if method == "floor" else _SUMMATION_DASH[summation]
                style = {"color": colour[method], "marker": "s" if method in names else "o", "markersize": 3.5,
                         "linestyle": dash, "linewidth": 1.3}  # fmt: skip
                ax.plot(n, per, **style)
                handles.setdefault(label, Line2D([], [], **style, label=label))
                summary.append(f"{function} {dtype} {label}: {per[-1]:.3g} ns per element at n = {int(n[-1])}")
            ax.set_xscale("log")
            ax.set_yscale("log")
            ax.set_title(f"{function}, {dtype}", loc="left", fontweight="bold")
            ax.grid(True, which="major", color="#DDDDDD", linewidth=0.6)
            if col == 0:
                ax.set_ylabel("ns per element")
            if row == len(functions) - 1:
                ax.set_xlabel("length n of each row (log scale)")
    fig.legend(handles=list(handles.values()), loc="lower center", bbox_to_anchor=(0.5, 0.0), ncol=3, frameon=False,
               fontsize=7)  # fmt: skip
    alt = ("Median time per element against the row length n, log-log, one panel per function and format: "
           + "; ".join(summary) + ".")  # fmt: skip
    return to_svg(fig, "cost", alt)


# --- the methods compared: ranking per format ----------------------------------------------


def method_ranking(ranking: Mapping[str, Sequence[Mapping]], function: str = "softmax") -> SvgFigure:
    """Every method of one function, per format, ranked by robustness and bits of error.

    ``ranking`` maps a format to its rows, best first, each with "method",
    "sweep_median", "sweep_max", "sweep_not_ok" (fraction), "real_median",
    "real_max", "real_not_ok" (None where not measured), as prepared by
    :func:`analysis.report.method_ranking`.  One panel per format: a line
    from the median to the worst bits of error over the vectors that do not
    fail, filled markers for the sweep, hollow ones for the MNIST logits, and
    the share of vectors that fail (lost, inf or NaN) at the right.
    """
    formats = list(ranking)
    columns = 2
    rows = math.ceil(len(formats) / columns)
    most = max((len(r) for r in ranking.values()), default=1)
    panel_height = 0.26 * most + 0.55
    fig = _new_figure(8.0, panel_height * rows + 1.1)
    axes = fig.subplots(rows, columns, squeeze=False)
    _margins(fig, left=1.35, right=0.95, top=0.25, bottom=0.95, hspace=0.55 / panel_height, wspace=1.3)
    sweep_color, real_color = "#0072B2", "#D55E00"
    for index, ax in enumerate(axes.flat):
        if index >= len(formats):
            ax.set_visible(False)
            continue
        dtype = formats[index]
        entries = list(ranking[dtype])
        y = np.arange(len(entries))[::-1].astype(float)  # best at the top
        precision = FORMATS[dtype].precision
        for yi, e in zip(y, entries):
            if e["sweep_median"] is not None:
                ax.plot([e["sweep_median"], e["sweep_max"]], [yi + 0.14] * 2, color=sweep_color, linewidth=1.2)
                ax.plot(e["sweep_median"], yi + 0.14, "o", color=sweep_color, markersize=4)
                ax.plot(e["sweep_max"], yi + 0.14, "|", color=sweep_color, markersize=7, markeredgewidth=1.4)
            if e["real_median"] is not None:
                ax.plot([e["real_median"], e["real_max"]], [yi - 0.14] * 2, color=real_color, linewidth=1.0,
                        linestyle=(0, (2, 1)))  # fmt: skip
                ax.plot(e["real_median"], yi - 0.14, "D", color=real_color, markerfacecolor="white", markersize=4)
                ax.plot(e["real_max"], yi - 0.14, "|", color=real_color, markersize=7, markeredgewidth=1.4)
            shares = [s for s in (e["sweep_not_ok"], e["real_not_ok"]) if s is not None]
            if shares and max(shares) > 0:
                label = "/".join("–" if s is None else f"{100 * s:.2g}%" for s in (e["sweep_not_ok"], e["real_not_ok"]))
                ax.annotate(label, (1.0, yi), xycoords=("axes fraction", "data"), xytext=(3, 0),
                            textcoords="offset points", va="center", fontsize=7, color="#555555")  # fmt: skip
        ax.set_yticks(y)
        ax.set_yticklabels([e["method"] for e in entries])
        ax.set_ylim(-0.6, len(entries) - 0.4)
        # Up to p bits (an error of a whole binade) or the worst error, if larger.
        worst = max([precision] + [e[k] for e in entries for k in ("sweep_max", "real_max") if e[k] is not None])
        ax.set_xlim(-0.02 * worst, worst * 1.02)
        ax.set_title(f"{dtype} (p = {precision})", loc="left")
        ax.grid(True, axis="x", color="#DDDDDD", linewidth=0.6)
        if index >= len(formats) - columns:
            ax.set_xlabel("bits of error, worst component")
    handles = [
        Line2D([], [], color=sweep_color, marker="o", markersize=4, label="sweep: median (dot) to worst (bar)"),
        Line2D(
            [],
            [],
            color=real_color,
            marker="D",
            markerfacecolor="white",
            markersize=4,
            linestyle=(0, (2, 1)),
            label="MNIST logits: median to worst",
        ),  # fmt: skip
    ]
    handles.append(Line2D([], [], linestyle="none", label="right margin: % failing (sweep/MNIST), where not 0"))
    fig.legend(handles=handles, loc="lower center", ncol=2, frameon=False, bbox_to_anchor=(0.5, 0.0),
               handletextpad=0.4, columnspacing=1.2)  # fmt: skip
    best = {d: ranking[d][0]["method"] for d in formats if ranking[d]}
    alt = (
        f"{function}: methods ranked per format by the share of vectors not ok, then by the median bits of error "
        f"of their worst component over the sweep's ok vectors, with the worst case and the MNIST logits beside; "
        f"best per format: " + "; ".join(f"{d}: {m}" for d, m in best.items()) + "."
    )
    return to_svg(fig, f"ranking-{function}", alt)


LEVEL_COLOURS = ("#999999", "#56B4E9", "#0072B2", "#009E73", "#CC79A7", "#E69F00")
LEVEL_HATCHES = ("", "//", "xx", "..", "\\\\", "--")


def host_library(doc: Mapping) -> SvgFigure:
    """numpy's exp and log per format and SIMD dispatch level: the share of
    arguments whose result is not the correctly rounded one.

    ``doc`` is host.json (:func:`analysis.subprocesses.host_files`): per level,
    records with "function", "dtype", "arguments", "ulps" (counts at 0, 1,
    2, >= 3 ulps) and "max_ulps".  One panel per function, formats on the
    x axis, one bar per level (hatched as well as coloured), the largest
    distance in ulps printed above each bar.
    """
    levels = doc["levels"]
    functions = list(dict.fromkeys(r["function"] for r in levels[0]["library"]))
    dtypes = list(dict.fromkeys(r["dtype"] for r in levels[0]["library"]))
    fig = _new_figure(8.0, 3.4)
    axes = fig.subplots(1, len(functions), squeeze=False)[0]
    _margins(fig, left=0.75, right=0.15, top=0.3, bottom=1.35, wspace=0.2)
    width = 0.8 / len(levels)
    floor = 1e-3  # % (log axis): a share of 0 is marked at the floor with "0"
    for ax, function in zip(axes, functions):
        for k, level in enumerate(levels):
            records = {r["dtype"]: r for r in level["library"] if r["function"] == function}
            shares = [100 * (1 - records[d]["ulps"]["0"] / records[d]["arguments"]) for d in dtypes]
            x = np.arange(len(dtypes)) - 0.4 + width * (k + 0.5)
            ax.bar(x, [max(v, floor) if v > 0 else 0 for v in shares], width, bottom=floor,
                   color=LEVEL_COLOURS[k % 6], hatch=LEVEL_HATCHES[k % 6], edgecolor="#333333", linewidth=0.4,
                   label=level["name"])  # fmt: skip
            for xi, share, d in zip(x, shares, dtypes):
                label = f"{records[d]['max_ulps']:g}" if share > 0 else "0"
                ax.annotate(label, (xi, max(share, floor)), xytext=(0, 1.5), textcoords="offset points",
                            ha="center", va="bottom", fontsize=6, color="#333333")  # fmt: skip
        ax.set_yscale("log")
        ax.set_ylim(floor, 300)
        ax.set_xticks(np.arange(len(dtypes)))
        ax.set_xticklabels(dtypes, rotation=30, ha="right")
        ax.set_title(f"numpy's {function}", loc="left")
        ax.grid(True, axis="y", color="#DDDDDD", linewidth=0.6)
        ax.set_axisbelow(True)
    axes[0].set_ylabel("% not correctly rounded")
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=min(len(levels), 3), frameon=False,
               title="numpy dispatch level (above each bar: worst error in ulps; 0: every result correct)",
               title_fontsize=8, bbox_to_anchor=(0.5, 0.0))  # fmt: skip
    summary = "; ".join(
        f"{level['name']}: " + ", ".join(
            f"{r['function']} {r['dtype']} {100 * (1 - r['ulps']['0'] / r['arguments']):.3g}% (worst {r['max_ulps']:g})"
            for r in level["library"])
        for level in levels
    )  # fmt: skip
    alt = f"Share of arguments on which numpy's exp and log are not correctly rounded, per format and level: {summary}."
    return to_svg(fig, "host-library", alt)

