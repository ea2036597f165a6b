"""The figures' shared plumbing: matplotlib settings, styles, SVG output,
selections and axis helpers.  Drawing only: data in, SVG text out."""

from __future__ import annotations

import io
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import matplotlib
import numpy as np
from matplotlib.figure import Figure
from matplotlib.path import Path as MplPath

RC = {
    "svg.hashsalt": "softmax-study",
    # Text stays text (searchable, selectable, a fraction of the size of glyph
    # outlines); matplotlib lays it out with DejaVu Sans and the browser draws
    # it with the first font of the stack it has.
    "svg.fonttype": "none",
    "font.family": "sans-serif",
    "font.sans-serif": ["DejaVu Sans", "Verdana", "Arial", "Helvetica"],
    "font.size": 9,
    "axes.titlesize": 9,
    "axes.labelsize": 9,
    "legend.fontsize": 8,
    "xtick.labelsize": 8,
    "ytick.labelsize": 8,
    "hatch.linewidth": 0.8,
    "path.simplify": False,
    "savefig.dpi": 72,  # the rasterized layers of the dense figures (72 dpi: the report stays under 1.5 MB)
}

# Grade of a computed vector (analysis.metrics.grade) -> how it is drawn:
# pale and unhatched for the grades that are not failures, saturated and
# hatched for lost, inf and NaN; flushed has a colour of its own.
GRADE_STYLE = {
    "exact": {"label": "exact", "color": "#FFFFFF", "hatch": ""},
    "accurate": {"label": "accurate: ≤ 1 ulp (log outputs: ≤ u absolute)", "color": "#EBEBEB", "hatch": ""},
    "flushed": {"label": "flushed: tiny, 1 ulp from the truth", "color": "#F0E442", "hatch": ""},
    "inaccurate": {"label": "inaccurate: > 1 ulp, leading bit right", "color": "#C4C4C4", "hatch": ""},
    "lost": {"label": "lost: off by half the truth or more", "color": "#E69F00", "hatch": "---"},
    "inf": {"label": "inf: some output overflowed", "color": "#D55E00", "hatch": "////"},
    "nan": {"label": "NaN: some output is NaN", "color": "#0072B2", "hatch": "xx"},
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


_COORDINATES = re.compile(r'(\s(?:d|x|y)=")([^"]*)(")')
_DECIMALS = re.compile(r"-?\d+\.\d\d+")


def _compact_path(data: str) -> str:
    """Path data on one line, numbers to 0.1 pt, no space after a command letter."""
    data = _DECIMALS.sub(lambda x: f"{float(x.group(0)):.1f}", data)
    return re.sub(r"\s*([MLCQZz])\s*", r"\1", re.sub(r"\s+", " ", data)).strip()


def _round_coordinates(svg: str) -> str:
    """Smaller SVG, same drawing: positions (path data, x, y) to 0.1 pt, a
    tenth of a screen pixel at most (matplotlib writes six decimals), path
    data on one line, no indentation, and no id that nothing refers to."""
    svg = _COORDINATES.sub(lambda m: m.group(1) + _compact_path(m.group(2)) + m.group(3), svg)
    svg = re.sub(r">\n\s+<", ">\n<", svg)
    used = set(re.findall(r'(?:href="#|url\(#)([^")]+)', svg))
    svg = re.sub(r'\sid="([^"]+)"', lambda m: m.group(0) if m.group(1) in used else "", svg)
    svg = _drop_bare_groups(svg)
    # A run of markers (<use>) with one style: the style once, on a group around them (it is inherited).
    svg = _MARKER_RUN.sub(lambda m: f'<g style="{m.group(2)}">\n' + m.group(1).replace(f' style="{m.group(2)}"', "")
                          + "</g>\n", svg)  # fmt: skip
    return _PNG.sub(lambda m: m.group(1) + _small_png(m.group(2)), svg)


def _drop_bare_groups(svg: str) -> str:
    """Remove every <g> without attributes (left when its id is dropped) and its </g>."""
    out, stack, last = [], [], 0
    for m in re.finditer(r"<g>\n?|<g\s[^>]*>|</g>\n?", svg):
        tag = m.group(0)
        if tag.startswith("</g>"):
            if stack.pop():
                out.append(svg[last : m.start()])
                last = m.end()
        else:
            bare = tag.rstrip("\n") == "<g>"
            stack.append(bare)
            if bare:
                out.append(svg[last : m.start()])
                last = m.end()
    out.append(svg[last:])
    return "".join(out)


_MARKER_RUN = re.compile(r'((?:<use [^>]*?style="([^"]*)"/>\n)(?:<use [^>]*?style="\2"/>\n)+)')
_PNG = re.compile(r"(data:image/png;base64,)([A-Za-z0-9+/=]+)")


def _small_png(data: str) -> str:
    """A rasterized layer as a 64-colour palette PNG (a quarter of the RGBA size)."""
    import base64

    from PIL import Image

    image = Image.open(io.BytesIO(base64.b64decode(data)))
    out = io.BytesIO()
    image.quantize(colors=64, method=Image.Quantize.FASTOCTREE).save(out, format="PNG", optimize=True)
    return base64.b64encode(out.getvalue()).decode("ascii")


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
    # Short ids, numbered in order of appearance and prefixed with the figure's name.
    short: dict[str, str] = {}
    for ident in re.findall(r'\bid="([^"]+)"', svg):
        short.setdefault(ident, f"{name}-{len(short)}")
    svg = re.sub(r'\bid="([^"]+)"', lambda m: f'id="{short[m.group(1)]}"', svg)
    svg = re.sub(r'(href="#|url\(#)([^")]+)', lambda m: m.group(1) + short.get(m.group(2), f"{name}-{m.group(2)}"),
                 svg)  # fmt: skip
    svg = svg.replace("xlink:href=", "href=")  # SVG 2
    svg = _round_coordinates(svg)
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


