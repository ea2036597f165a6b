"""The long-row figures (frameworks.json, :mod:`analysis.studies.frameworks`):
per format (columns) and function (rows), against n, one line per
implementation: the share of rows that fail (graded lost, inf or NaN), and
the error of the rows that do not (the largest, over the settings, of the
median worst-component ulps, with the 5-95 % band of that setting's rows)."""

from __future__ import annotations

from collections.abc import Mapping

from matplotlib.ticker import NullLocator

from ...store.schema import FAILURES
from .common import SvgFigure, _margins, _new_figure, to_svg
from .hero import HERO_STYLE

FAILED = FAILURES  # graded lost, inf or NaN
# (colour, line style, marker) per implementation: naive and max-shifted as in
# the report's first figure (hero.HERO_STYLE), the others their own.
STYLES = {
    **{impl: (style["color"], style["linestyle"], style["marker"]) for impl, style in HERO_STYLE.items()},
    "shifted_fp32": ("#009E73", "-.", "^"),
    "shifted_fp32_pairwise": ("#CC79A7", ":", "D"),
    "online_fp32": ("#56B4E9", "-", "v"),
    "jax": ("#E69F00", "-", "P"),
    "torch": ("#000000", "--", "X"),
}


def _records(records, impl: str, dtype: str, function: str, n: int) -> list | None:
    rs = [r for r in records if r["impl"] == impl and r["dtype"] == dtype and r["function"] == function
          and r["n"] == n]  # fmt: skip
    return None if not rs or any(r["error"] for r in rs) else rs


def failed_share(records, impl: str, dtype: str, function: str, n: int) -> float | None:
    """Share of rows (all settings pooled) graded lost, inf or NaN; None
    where the implementation raised."""
    rs = _records(records, impl, dtype, function, n)
    if rs is None:
        return None
    return sum(r["grades"].get(g, 0) for r in rs for g in FAILED) / sum(r["rows"] for r in rs)


def kept_error(records, impl: str, dtype: str, function: str, n: int) -> float | None:
    """The largest over the settings of the median worst-component ulps of
    the rows that did not fail; None where it raised or every row failed."""
    rs = _records(records, impl, dtype, function, n)
    values = [float(r["median_ok_ulp"]) for r in rs or () if r["median_ok_ulp"] is not None]
    return max(values) if values else None


def kept_band(records, impl: str, dtype: str, function: str, n: int) -> tuple[float, float] | None:
    """The 5th and 95th percentiles of the worst-component ulps of the rows
    that did not fail, in the setting whose median gives kept_error."""
    rs = [r for r in _records(records, impl, dtype, function, n) or () if r["median_ok_ulp"] is not None]
    if not rs or rs[0].get("p5_ok_ulp") is None:
        return None
    worst = max(rs, key=lambda r: float(r["median_ok_ulp"]))
    return float(worst["p5_ok_ulp"]), float(worst["p95_ok_ulp"])


def _length_label(n: int) -> str:
    """10, 1000, then powers of two as 2^k."""
    k = n.bit_length() - 1
    return f"2$^{{{k}}}$" if n == 2**k else str(n)


METRICS = {
    "failed": (failed_share, "% rows failed", lambda v: 100 * v, "linear"),
    "error": (kept_error, "ulps (median, worst setting)", lambda v: 1 + v, "log"),
}


def long_rows(doc: Mapping, metric: str = "failed", functions=("softmax", "logsumexp", "log_softmax")) -> SvgFigure:
    measure, label, transform, scale = METRICS[metric]
    records = doc["records"]
    dtypes = doc["settings"]["dtypes"]
    lengths = doc["settings"]["lengths"]
    fig = _new_figure(1.9 * len(dtypes) + 1.0, 1.8 * len(functions) + 1.3)
    axes = fig.subplots(len(functions), len(dtypes), squeeze=False, sharex=True, sharey=True)
    _margins(fig, left=0.8, right=0.15, top=0.35, bottom=1.0, wspace=0.12, hspace=0.25)
    for i, function in enumerate(functions):
        for j, dtype in enumerate(dtypes):
            ax = axes[i][j]
            for impl in doc["implementations"]:
                values = [measure(records, impl, dtype, function, n) for n in lengths]
                x = [n for n, v in zip(lengths, values) if v is not None]
                y = [transform(v) for v in values if v is not None]
                if x:
                    colour, dash, marker = STYLES.get(impl, ("#777777", "-", "."))
                    # one marker, at the line's end, tells the lines apart (one per point made the figure too big)
                    ax.plot(x, y, color=colour, linestyle=dash, marker=marker, markersize=3, linewidth=1,
                            markevery=[len(x) - 1], label=impl)  # fmt: skip
                    bands = [kept_band(records, impl, dtype, function, n) for n in x] if metric == "error" else []
                    if bands and all(b is not None for b in bands):
                        ax.fill_between(x, [transform(b[0]) for b in bands], [transform(b[1]) for b in bands],
                                        color=colour, alpha=0.12, linewidth=0)  # fmt: skip
            ax.set_xscale("log", base=2)
            # a few labelled lengths and no minor ticks: the figure stays small
            ticks = [n for n in (10, 1000, 2**15, 2**18) if lengths[0] <= n <= lengths[-1]]
            ax.set_xticks(ticks, [_length_label(n) for n in ticks])
            ax.xaxis.set_minor_locator(NullLocator())
            if scale == "log":
                ax.set_yscale("log")
            else:
                ax.set_ylim(-5, 105)
            ax.grid(True, axis="y", color="#DDDDDD", linewidth=0.6)
            if i == 0:
                ax.set_title(dtype, loc="left")
            if j == 0:
                ax.set_ylabel(f"{function}\n{label}")
            if i == len(functions) - 1:
                ax.set_xlabel("n")
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=len(labels), frameon=False)
    what = ("share of rows that fail (lost, inf or NaN)" if metric == "failed"
            else "1 + the median error in ulps of the rows that do not fail (worst setting)")
    alt = f"The {what} against the row length n, per format (columns) and function (rows), one line per implementation."
    return to_svg(fig, f"frameworks-{metric}", alt)
