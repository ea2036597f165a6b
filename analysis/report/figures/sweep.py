"""The sweep's figures: failure maps, bits of error against scale, thresholds."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib import patheffects
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, PathPatch

from ...formats import FORMATS
from ...store.schema import FAILURES
from .common import (
    GRADE_STYLE,
    METHOD_STYLE,
    N_MARKERS,
    SvgFigure,
    _cell_edges,
    _log_ticks,
    _margins,
    _new_figure,
    _rectangles_path,
    _status_rectangles,
    _subset,
    _symlog,
    _symlog_ticks,
    to_svg,
)

# --- failure maps ---------------------------------------------------------------------


def predicted_lines(function: str, method: str, dtype: str, n: int) -> list[dict]:
    """The curves in the (offset c, gap g) plane where the format's constants
    predict a failure of ``method`` for the two-level vector (c, c-g, ..., c-g).

    Each is {"key", "kind": "vertical" | "horizontal" | "curve", "value" or
    "curve": g -> c}.  exp rounds to inf above ln(max) (up to half an ulp of
    max) and to 0 at or below ln(tiny/2), tiny the smallest subnormal.
    """
    fmt = FORMATS[dtype]
    ln_max = fmt.ln_max
    ln_half_tiny = fmt.ln_smallest_subnormal - math.log(2)  # tiny / 2 itself underflows in float64
    lines = []
    if method == "naive":
        lines.append({"key": "lnmax", "kind": "vertical", "value": ln_max})
        if n > 1:
            lines.append({"key": "sum", "kind": "curve", "curve": lambda g: ln_max - np.log1p((n - 1) * np.exp(-g))})
        lines.append({"key": "alltiny", "kind": "vertical", "value": ln_half_tiny})
        if function == "softmax":
            lines.append({"key": "diag", "kind": "curve", "curve": lambda g: g + ln_half_tiny})
    if function == "softmax":
        lines.append({"key": "shift", "kind": "horizontal", "value": -ln_half_tiny})
    else:
        lines.append({"key": "one", "kind": "horizontal", "value": fmt.precision * math.log(2)})
    return lines


LINE_STYLE = {
    "lnmax": {"label": "c = ln(max): exp(c) overflows", "color": "#000000", "linestyle": (0, (6, 2))},
    "sum": {"label": "Σ exp(z) reaches max", "color": "#CC79A7", "linestyle": (0, (1, 1))},
    "alltiny": {"label": "c = ln(tiny/2): every exp(z) underflows", "color": "#000000", "linestyle": (0, (1, 1.5))},
    "diag": {"label": "c − g = ln(tiny/2): exp(c − g) underflows", "color": "#009E73", "linestyle": (0, (6, 2, 1, 2))},
    "shift": {
        "label": "g = −ln(tiny/2): the true softmax underflows too",
        "color": "#555555",
        "linestyle": (0, (10, 3)),
    },
    "one": {"label": "g = p ln 2: 1 + exp(−g) rounds to 1", "color": "#56B4E9", "linestyle": (0, (3, 1, 1, 1, 1, 1))},
}
# Lines are drawn with a white halo so they stay visible over the hatching.
HALO = [patheffects.withStroke(linewidth=3.2, foreground="white")]


def failure_map(
    records: Mapping[str, np.ndarray],
    function: str,
    n: int,
    dtypes: Sequence[str],
    methods: Sequence[str] = ("naive", "shifted"),
) -> SvgFigure:
    """Grade (metrics.grade) of ``function`` over the two-level grid (offset c × gap g), one
    row of panels per format, one column per method, at vector length ``n``.

    Axes are symmetric-log (the grid spans decades on both sides of 0); the
    format's predicted failure curves are drawn over the cells.
    """
    records = _subset(records, family="two_level", function=function, n=n)
    base = np.ones(len(records["family"]), dtype=bool)
    offsets_all = np.unique(records["offset"])
    gaps_all = np.unique(records["gap"])
    positive_gaps = gaps_all[gaps_all > 0]
    x_linthresh = 1.0
    y_linthresh = float(positive_gaps.min()) if len(positive_gaps) else 1.0
    fx, ix = _symlog(x_linthresh)
    fy, iy = _symlog(y_linthresh)
    x_edges = _cell_edges(offsets_all, fx, ix)
    y_edges = _cell_edges(gaps_all, fy, iy)

    panel_height = 2.0
    legend_height = 0.75 + 0.2 * 6  # x label, then up to six legend rows (seven grades, five lines, two columns)
    fig = _new_figure(8.0, (panel_height + 0.35) * len(dtypes) + legend_height + 0.3)
    axes = fig.subplots(len(dtypes), len(methods), sharex=True, sharey=True, squeeze=False)
    _margins(fig, left=0.85, right=0.15, top=0.3, bottom=legend_height, hspace=0.35 / panel_height, wspace=0.08)
    counts = {}
    any_blank = False
    line_keys: list[str] = []
    for row, dtype in enumerate(dtypes):
        for col, method in enumerate(methods):
            ax = axes[row, col]
            mask = base & (records["dtype"] == dtype) & (records["method"] == method)
            status = np.full((len(gaps_all), len(offsets_all)), "", dtype=object)
            oi = np.searchsorted(offsets_all, records["offset"][mask])
            gi = np.searchsorted(gaps_all, records["gap"][mask])
            status[gi, oi] = records["grade"][mask]
            any_blank = any_blank or bool((status == "").any())
            for name, rects in sorted(_status_rectangles(status, x_edges, y_edges).items()):
                style = GRADE_STYLE[name]
                ax.add_patch(
                    PathPatch(
                        _rectangles_path(rects),
                        facecolor=style["color"],
                        edgecolor="#333333" if style["hatch"] else "none",
                        hatch=style["hatch"],
                        linewidth=0,
                        rasterized=True,  # a palette PNG layer: the cells as vectors made the report too big
                    )
                )
            values, numbers = np.unique(records["grade"][mask], return_counts=True)
            counts[dtype, method] = dict(zip(values.tolist(), numbers.tolist(), strict=True))
            ax.set_xscale("symlog", linthresh=x_linthresh, linscale=0.5)
            ax.set_yscale("symlog", linthresh=y_linthresh, linscale=0.5)
            ax.set_xlim(x_edges[0], x_edges[-1])
            ax.set_ylim(y_edges[0], y_edges[-1])
            _symlog_ticks(ax.xaxis, x_edges[0], x_edges[-1], 100 * x_linthresh, every=2)
            _symlog_ticks(ax.yaxis, y_edges[0], y_edges[-1], y_linthresh, every=1)
            for line in predicted_lines(function, method, dtype, n):
                style = LINE_STYLE[line["key"]]
                kw = {"color": style["color"], "linestyle": style["linestyle"], "linewidth": 1.4, "path_effects": HALO}
                if line["kind"] == "vertical":
                    ax.axvline(line["value"], **kw)
                elif line["kind"] == "horizontal":
                    ax.axhline(line["value"], **kw)
                else:
                    g = iy(np.linspace(fy(y_edges[0])[0], fy(y_edges[-1])[0], 400))
                    ax.plot(line["curve"](g), g, **kw)
                if line["key"] not in line_keys:
                    line_keys.append(line["key"])
            ax.set_title(f"{dtype}, {METHOD_STYLE[method]['label']}", loc="left", fontweight="bold")
            if row == len(dtypes) - 1:
                ax.set_xlabel("offset c = max z (logits, symlog scale)")
            if col == 0:
                ax.set_ylabel("gap g (logits, symlog)")
            ax.tick_params(axis="x", labelbottom=row == len(dtypes) - 1)
    present = sorted({s for c in counts.values() for s in c}, key=list(GRADE_STYLE).index)
    handles = [
        Patch(
            facecolor=GRADE_STYLE[s]["color"],
            edgecolor="#333333",
            hatch=GRADE_STYLE[s]["hatch"],
            label=GRADE_STYLE[s]["label"],
        )
        for s in present
    ]
    if any_blank:
        handles.append(Patch(facecolor="white", edgecolor="#999999", label="blank: not in the sweep"))
    handles += [
        Line2D(
            [],
            [],
            color=LINE_STYLE[k]["color"],
            linestyle=LINE_STYLE[k]["linestyle"],
            linewidth=1.4,
            label=LINE_STYLE[k]["label"],
        )
        for k in line_keys
    ]
    fig.legend(handles=handles, loc="lower center", bbox_to_anchor=(0.5, 0.0), ncol=2, frameon=False)
    parts = []
    for dtype in dtypes:
        for method in methods:
            c = counts[dtype, method]
            total = sum(c.values())
            failed = sum(c.get(g, 0) for g in FAILURES)
            parts.append(f"{dtype} {method}: {failed} of {total} cells fail, {c.get('flushed', 0)} flushed")
    alt = (
        f"Failure map of {function} for vectors of length {n} over offset and gap, "
        f"one row per format, naive and max-shifted side by side. " + "; ".join(parts) + "."
    )
    return to_svg(fig, f"failure-{function}-n{n}", alt)


# --- accuracy against the temperature scale --------------------------------------------------------


def _length_colours(count: int) -> list:
    """Colours for the lengths n, in order: samples of viridis, whose
    lightness grows monotonically, so the order survives greyscale."""
    from matplotlib import colormaps

    cmap = colormaps["viridis"]
    return [cmap(0.85 * k / max(count - 1, 1)) for k in range(count)]


def bits_vs_scale(
    records: Mapping[str, np.ndarray],
    function: str,
    dtypes: Sequence[str],
    methods: Sequence[str] = ("naive", "shifted"),
) -> SvgFigure:
    """Bits of error of ``function`` on z = scale · N(0, 1) draws against the
    scale (log axis): one row per format, naive and shifted side by side, a
    line per length n (the median over draws of the worst component's bits).
    Scales at which some draw fails (lost, inf or NaN) are marked
    with a cross on the top edge of the panel instead of a value."""
    records = _subset(records, family="scaled_normal", function=function)
    lengths = sorted({int(v) for v in records["n"]})
    colours = _length_colours(len(lengths))
    panel_height, legend_height = 1.75, 0.95
    fig = _new_figure(8.0, (panel_height + 0.35) * len(dtypes) + legend_height + 0.3)
    axes = fig.subplots(len(dtypes), len(methods), sharex=True, sharey="row", squeeze=False)
    _margins(fig, left=0.75, right=0.15, top=0.3, bottom=legend_height, hspace=0.35 / panel_height, wspace=0.08)
    summary = []
    all_scales = records["scale"]
    for row, dtype in enumerate(dtypes):
        in_format = records["dtype"] == dtype
        finite = in_format & ~np.isin(records["grade"], FAILURES) & ~np.isnan(records["max_bits"])
        largest = float(np.max(records["max_bits"][finite])) if finite.any() else 1.0
        # The axis ends a little above the largest error; failures are marked on its top edge.
        top = max(3.0, math.ceil(largest * 1.1 + 0.5))
        for col, method in enumerate(methods):
            ax = axes[row, col]
            first_failure = math.inf
            for k, n in enumerate(lengths):
                mask = in_format & (records["method"] == method) & (records["n"] == n)
                scales = np.unique(records["scale"][mask])
                medians, failed = [], []
                for scale in scales:
                    at = mask & (records["scale"] == scale)
                    ok = at & ~np.isin(records["grade"], FAILURES) & ~np.isnan(records["max_bits"])
                    medians.append(float(np.median(records["max_bits"][ok])) if ok.any() else np.nan)
                    failed.append(bool((at & np.isin(records["grade"], FAILURES)).any()))
                medians, failed = np.array(medians), np.array(failed, dtype=bool)
                ax.plot(scales, medians, color=colours[k], marker=N_MARKERS[k % len(N_MARKERS)], markersize=3,
                        linewidth=1.1)  # fmt: skip
                if failed.any():
                    ax.plot(scales[failed], np.full(failed.sum(), top), linestyle="none", marker="x",
                            color=colours[k], markersize=5, clip_on=False)  # fmt: skip
                    first_failure = min(first_failure, float(scales[failed].min()))
            summary.append(
                f"{dtype} {method}: "
                + (f"fails from scale {first_failure:.3g}" if first_failure < math.inf else "no failure")
            )
            ax.set_xscale("log")
            ax.set_ylim(-0.3, top)
            if len(all_scales):
                low, high = float(np.min(all_scales)), float(np.max(all_scales))
                ax.set_xlim(low / 2, high * 2)
                decades = math.log10(high) - math.log10(low)
                _log_ticks(ax.xaxis, low / 2, high * 2, every=1 if decades <= 5 else 2)
            ax.set_title(f"{dtype}, {METHOD_STYLE[method]['label']}", loc="left", fontweight="bold")
            if col == 0:
                ax.set_ylabel("bits of error")
            if row == len(dtypes) - 1:
                ax.set_xlabel("scale s of z = s·x (log scale)")
            ax.tick_params(axis="x", labelbottom=row == len(dtypes) - 1)
            ax.grid(True, which="major", color="#DDDDDD", linewidth=0.6)
    handles = [
        Line2D([], [], color=colours[k], marker=N_MARKERS[k % len(N_MARKERS)], markersize=3, label=f"n = {n}")
        for k, n in enumerate(lengths)
    ]
    handles.append(Line2D([], [], color="#444444", linestyle="none", marker="x", markersize=5,
                          label="some draw fails (top edge)"))  # fmt: skip
    fig.legend(handles=handles, loc="lower center", bbox_to_anchor=(0.5, 0.0), ncol=len(handles), frameon=False)
    alt = (
        f"Bits of error of {function} against the scale of normally distributed logits, one row per format, "
        f"naive and max-shifted side by side, one line per length ({', '.join(map(str, lengths))}). "
        + "; ".join(summary)
        + "."
    )
    return to_svg(fig, f"bits-{function}", alt)


# --- thresholds ------------------------------------------------------------------------


def thresholds_scatter(thresholds: Sequence[Mapping]) -> SvgFigure:
    """Observed failure threshold against the predicted one (absolute values,
    log-log), one marker per kind, with the line observed = predicted."""
    kinds = {
        "sum_overflow": ("s", "#CC79A7"),
        "lost": ("o", "#E69F00"),
        "nonfinite": ("^", "#D55E00"),
        "nonfinite_below": ("v", "#0072B2"),
    }
    fig = _new_figure(5.0, 4.2)
    ax = fig.subplots()
    _margins(fig, left=0.8, right=0.2, top=0.2, bottom=0.6)
    # An offset of 0 (lost at every offset) has no place on log axes.
    both = [t for t in thresholds if t["observed"] and t["predicted"]]
    values = [abs(t[k]) for t in both for k in ("observed", "predicted")]
    low, high = (min(values) / 1.5, max(values) * 1.5) if values else (1.0, 10.0)
    ax.plot(
        [low, high], [low, high], color="#777777", linewidth=0.8, linestyle=(0, (2, 2)), label="observed = predicted"
    )
    for kind, (marker, color) in kinds.items():
        points = [t for t in both if t["kind"] == kind]
        if points:
            ax.plot(
                [abs(t["predicted"]) for t in points],
                [abs(t["observed"]) for t in points],
                linestyle="none",
                marker=marker,
                color=color,
                markerfacecolor="none",
                label=kind,
            )
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlim(low, high)
    ax.set_ylim(low, high)
    _log_ticks(ax.xaxis, low, high)
    _log_ticks(ax.yaxis, low, high)
    ax.set_xlabel("|predicted threshold| (logits, log scale)")
    ax.set_ylabel("|observed threshold| (logits, log scale)")
    ax.grid(True, color="#DDDDDD", linewidth=0.6)
    ax.legend(loc="upper left", frameon=False)
    exact = sum(1 for t in both if t["observed"] == t["predicted"])
    worst = max((abs(t["observed"] / t["predicted"] - 1) for t in both if t["predicted"]), default=0.0)
    alt = (
        f"Observed against predicted failure thresholds on log axes: {len(both)} thresholds where both "
        f"exist, {exact} of them exactly equal, the largest relative difference {worst:.2g}."
        if both
        else "No threshold with both an observed and a predicted value."
    )
    return to_svg(fig, "thresholds", alt)


