"""Sweep records -> figures, as SVG text ready to be inlined in the report.

Every function here takes the sweep table as columns (a mapping from the
column names of ``sweep.csv`` to numpy arrays, as :func:`analysis.report.load_sweep`
returns it) and returns a :class:`SvgFigure`: the SVG markup and its alt text.
Matplotlib is used only in this module, through the object-oriented API (no
pyplot, no global backend switch).

Determinism: ``svg.hashsalt`` is fixed, the SVG metadata (date, creator) is
dropped, and text is drawn as glyph paths (``svg.fonttype = "path"``) so the
output does not depend on the fonts of the machine that displays it.  The ids
inside each SVG are prefixed with the figure's name, so several figures can
share one HTML document without clashing ids.

Colours are the Okabe–Ito palette (distinguishable with the common colour
vision deficiencies); every status also has its own hatch and every line its
own dash pattern, so the figures survive greyscale printing.
"""

from __future__ import annotations

import io
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import matplotlib
import numpy as np
from matplotlib import patheffects
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, PathPatch
from matplotlib.path import Path as MplPath

from ..formats import FORMATS

RC = {
    "svg.hashsalt": "softmax-study",
    "svg.fonttype": "path",
    "font.family": "DejaVu Sans",
    "font.size": 9,
    "axes.titlesize": 9,
    "axes.labelsize": 9,
    "legend.fontsize": 8,
    "xtick.labelsize": 8,
    "ytick.labelsize": 8,
    "hatch.linewidth": 0.8,
    "path.simplify": False,
    "savefig.dpi": 150,  # the rasterized scatter layers of the dense figures
}

# Status of a computed vector (analysis.metrics.classify) -> how it is drawn.
STATUS_STYLE = {
    "ok": {"label": "ok (finite, nonzero where the truth is)", "color": "#F2F2F2", "hatch": ""},
    "inf": {"label": "inf: some output overflowed", "color": "#D55E00", "hatch": "////"},
    "nan": {"label": "NaN: some output is NaN", "color": "#0072B2", "hatch": "xx"},
    "zero": {"label": "zero: an output underflowed to 0", "color": "#E69F00", "hatch": "---"},
}
METHOD_STYLE = {
    "naive": {"color": "#D55E00", "linestyle": "-", "label": "naive"},
    "shifted": {"color": "#0072B2", "linestyle": "--", "label": "max-shifted"},
}
N_MARKERS = ("o", "s", "^", "D", "v", "P")


@dataclass(frozen=True)
class SvgFigure:
    """One figure: ``svg`` is the <svg> element (no XML prolog), with
    ``role="img"``, an ``aria-label`` and a <title> carrying ``alt``."""

    name: str
    svg: str
    alt: str

    def __html__(self) -> str:
        # Jinja2 / MarkupSafe insert objects with __html__ unescaped: the SVG
        # markup is produced here, not taken from user input.
        return self.svg

    def write(self, path: str | Path) -> Path:
        path = Path(path)
        path.write_text(self.svg, encoding="utf-8")
        return path


# --- SVG plumbing -----------------------------------------------------------------


def _escape_attr(text: str) -> str:
    return text.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;").replace(">", "&gt;")


def to_svg(fig: Figure, name: str, alt: str) -> SvgFigure:
    """Render ``fig`` to inline-ready SVG text, byte-identical run to run."""
    buffer = io.StringIO()
    with matplotlib.rc_context(RC):
        fig.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
    svg = buffer.getvalue()
    # An inline <svg> needs no prolog, doctype, namespaces or RDF metadata (the
    # HTML parser puts <svg> and xlink:href in their namespaces itself), and
    # leaving them out keeps every URL out of the report.
    svg = svg[svg.index("<svg") :]
    svg = re.sub(r"<metadata>.*?</metadata>\s*", "", svg, flags=re.S)
    svg = re.sub(r'\s+xmlns(:\w+)?="[^"]*"', "", svg)
    svg = re.sub(r'\bid="([^"]+)"', rf'id="{name}-\1"', svg)
    svg = re.sub(r'(href="#|url\(#)([^")]+)', rf"\1{name}-\2", svg)
    svg = svg.replace(
        "<svg ",
        f'<svg role="img" aria-label="{_escape_attr(alt)}" class="figure-svg" ',
        1,
    )
    svg = re.sub(r"(<svg[^>]*>)", lambda m: f"{m.group(1)}\n <title>{_escape_attr(alt)}</title>", svg, count=1)
    return SvgFigure(name=name, svg=svg.strip() + "\n", alt=alt)


def _new_figure(width: float, height: float) -> Figure:
    with matplotlib.rc_context(RC):
        return Figure(figsize=(width, height))


def _margins(
    fig: Figure, left: float, right: float, top: float, bottom: float, hspace: float = 0.0, wspace: float = 0.0
) -> None:
    """Fixed margins in inches (a fixed layout is deterministic and several
    times faster than matplotlib's automatic layout engines)."""
    width, height = fig.get_size_inches()
    fig.subplots_adjust(
        left=left / width,
        right=1 - right / width,
        top=1 - top / height,
        bottom=bottom / height,
        hspace=hspace,
        wspace=wspace,
    )


# --- selections ---------------------------------------------------------------------


def _select(records: Mapping[str, np.ndarray], **equal) -> np.ndarray:
    mask = np.ones(len(records["family"]), dtype=bool)
    for column, value in equal.items():
        mask &= records[column] == value
    return mask


def _subset(records: Mapping[str, np.ndarray], **equal) -> dict[str, np.ndarray]:
    """The rows whose columns equal the given values (a small table: the loops
    that follow then run over thousands of rows, not the whole sweep)."""
    mask = _select(records, **equal)
    return {column: values[mask] for column, values in records.items()}


def _cell_edges(values: np.ndarray, forward, inverse) -> np.ndarray:
    """Edges of the cells centred on sorted ``values``: midpoints in the
    axis' transformed coordinates, the outer cells as wide as their neighbour."""
    t = forward(values)
    if len(t) == 1:
        mids = np.array([t[0] - 0.5, t[0] + 0.5])
    else:
        inner = (t[:-1] + t[1:]) / 2
        mids = np.concatenate([[t[0] - (inner[0] - t[0])], inner, [t[-1] + (t[-1] - inner[-1])]])
    return inverse(mids)


def _symlog(linthresh: float, linscale: float = 0.5):
    """The forward and inverse symlog transforms matplotlib uses for an axis."""
    from matplotlib.scale import SymmetricalLogTransform

    transform = SymmetricalLogTransform(10, linthresh, linscale)
    inverse = transform.inverted()

    def forward(v):
        return transform.transform_non_affine(np.atleast_1d(np.asarray(v, dtype=float)))

    def backward(v):
        return inverse.transform_non_affine(np.atleast_1d(np.asarray(v, dtype=float)))

    return forward, backward


def _decade_label(value: float, _position=None) -> str:
    """0, ±1, ±10, ±10², ... in plain text (Unicode superscripts: no mathtext)."""
    if value == 0:
        return "0"
    exponent = int(round(math.log10(abs(value))))
    sign = "−" if value < 0 else ""
    if exponent == 0:
        return f"{sign}1"
    if exponent == 1:
        return f"{sign}10"
    return f"{sign}10{str(exponent).translate(_SUPERSCRIPT)}"


_SUPERSCRIPT = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")


def _log_ticks(axis, low: float, high: float, every: int = 1) -> None:
    """Major ticks at the decades in [low, high], no minor ticks."""
    from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator

    first, last = math.ceil(math.log10(low)), math.floor(math.log10(high))
    axis.set_major_locator(FixedLocator([10.0**k for k in range(first, last + 1, every)]))
    axis.set_major_formatter(FuncFormatter(_decade_label))
    axis.set_minor_locator(NullLocator())


def _symlog_ticks(axis, low: float, high: float, linthresh: float, every: int) -> None:
    """Major ticks at 0 and at every ``every``-th decade from ``linthresh`` on,
    labelled 10^k; no minor ticks (they crowd a symlog axis and slow drawing)."""
    from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator

    first = math.floor(math.log10(linthresh))
    ticks = [0.0] if low <= 0 <= high else []
    for exponent in range(first, first + 40, every):
        value = 10.0**exponent
        if value > max(abs(low), abs(high)):
            break
        ticks += [v for v in (-value, value) if low <= v <= high]
    axis.set_major_locator(FixedLocator(sorted(ticks)))
    axis.set_major_formatter(FuncFormatter(_decade_label))
    axis.set_minor_locator(NullLocator())


def _status_rectangles(status: np.ndarray, x_edges: np.ndarray, y_edges: np.ndarray) -> dict:
    """Cover the grid ``status[gap_index, offset_index]`` with few rectangles
    per status: runs along each row, merged with identical runs of the row below."""
    rects: dict[str, list[list[float]]] = {}
    open_runs: dict[tuple, list[float]] = {}
    for row in range(status.shape[0]):
        runs = {}
        start = 0
        for col in range(1, status.shape[1] + 1):
            if col == status.shape[1] or status[row, col] != status[row, start]:
                if status[row, start]:
                    runs[(start, col, status[row, start])] = None
                start = col
        still_open = {}
        for key in runs:
            if key in open_runs:
                rect = open_runs[key]
                rect[3] = y_edges[row + 1]
            else:
                start, stop, name = key
                rect = [x_edges[start], x_edges[stop], y_edges[row], y_edges[row + 1]]
                rects.setdefault(name, []).append(rect)
            still_open[key] = rect
        open_runs = still_open
    return rects


def _rectangles_path(rects: Sequence[Sequence[float]]) -> MplPath:
    vertices, codes = [], []
    for x0, x1, y0, y1 in rects:
        vertices += [(x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0)]
        codes += [MplPath.MOVETO, MplPath.LINETO, MplPath.LINETO, MplPath.LINETO, MplPath.CLOSEPOLY]
    return MplPath(np.array(vertices, dtype=float), codes)


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
    """Status of ``function`` over the two-level grid (offset c × gap g), one
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
    legend_height = 0.75 + 0.2 * 5  # x label, then up to five legend rows
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
            status[gi, oi] = records["status"][mask]
            any_blank = any_blank or bool((status == "").any())
            for name, rects in sorted(_status_rectangles(status, x_edges, y_edges).items()):
                style = STATUS_STYLE[name]
                ax.add_patch(
                    PathPatch(
                        _rectangles_path(rects),
                        facecolor=style["color"],
                        edgecolor="#333333" if style["hatch"] else "none",
                        hatch=style["hatch"],
                        linewidth=0,
                    )
                )
            values, numbers = np.unique(records["status"][mask], return_counts=True)
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
    present = sorted({s for c in counts.values() for s in c}, key=list(STATUS_STYLE).index)
    handles = [
        Patch(
            facecolor=STATUS_STYLE[s]["color"],
            edgecolor="#333333",
            hatch=STATUS_STYLE[s]["hatch"],
            label=STATUS_STYLE[s]["label"],
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
            failed = total - c.get("ok", 0)
            parts.append(f"{dtype} {method}: {failed} of {total} cells fail")
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
    Scales at which some draw fails (inf, NaN or an underflow to 0) are marked
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
        finite = in_format & (records["status"] == "ok")
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
                    ok = at & (records["status"] == "ok")
                    medians.append(float(np.median(records["max_bits"][ok])) if ok.any() else np.nan)
                    failed.append(bool((at & (records["status"] != "ok")).any()))
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
    kinds = {"overflow": ("o", "#D55E00"), "underflow": ("s", "#009E73"), "nan": ("^", "#0072B2")}
    fig = _new_figure(5.0, 4.2)
    ax = fig.subplots()
    _margins(fig, left=0.8, right=0.2, top=0.2, bottom=0.6)
    both = [t for t in thresholds if t["observed"] is not None and t["predicted"] is not None]
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
    array) as a grey band at the bottom.  Error bars span the quartiles of
    the repeats."""
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
                low = np.array([r["seconds"]["q1"] / r["elements"] * 1e9 for r in points])
                high = np.array([r["seconds"]["q3"] / r["elements"] * 1e9 for r in points])
                names = {"floor": "floor: np.copyto (one read, one write)",
                         "scipy": "SciPy: scipy.special.softmax / logsumexp"}  # fmt: skip
                label = names.get(method, f"{method}, summation={summation}")
                dash = "--" if method == "floor" else _SUMMATION_DASH[summation]
                style = {"color": colour[method], "marker": "s" if method in names else "o", "markersize": 3.5,
                         "linestyle": dash, "linewidth": 1.3}  # fmt: skip
                ax.errorbar(n, per, yerr=[per - low, high - per], capsize=2, elinewidth=0.8, **style)
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
    from the median to the worst bits of error over the ok vectors, filled
    markers for the sweep, hollow ones for the MNIST logits, and the share
    of vectors that are not ok at the right.
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
    handles.append(Line2D([], [], linestyle="none", label="right margin: % not ok (sweep/MNIST), where not 0"))
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

    ``doc`` is host.json (:func:`analysis.outputs.host_files`): per level,
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
