"""The methods of the literature and SciPy, compared: each method ranked per format, on the sweep and MNIST."""

from __future__ import annotations

import numpy as np

from ...formats import ALL_DTYPES
from .. import figures
from ..bundle import FUNCTIONS, RANGE_LN_MAX, distinct, failed, in_range, select
from ..values import number, percent, text
from . import Section

# Method -> how the report names it, in the order the legend lists them.
METHOD_NAMES = {
    "naive": "naive",
    "shifted": "shifted (max subtracted)",
    "log1p": "BHH Algorithm 4.1 (log1p)",
    "exp_lse": "division-free exp(z − lse)",
    "online": "online (Milakov & Gimelshein)",
    "shifted_kahan": "shifted, Kahan sum",
    "shifted_pairwise": "shifted, pairwise sum",
    "shifted_fp32": "shifted in float32",
    "scipy": "SciPy",
}


def _ranking_lengths(sweep, function: str, dtype: str) -> list[int]:
    """The lengths at which every method of the sweep ran for this function
    and format: the rows the methods are compared on (the same vectors)."""
    mask = select(sweep, function=function, dtype=dtype)
    methods = set(distinct(sweep["method"], mask))
    return sorted(
        n for n in np.unique(sweep["n"][mask]).tolist()
        if set(distinct(sweep["method"], mask & (sweep["n"] == n))) == methods
    )  # fmt: skip


def bench_cost(bench: dict | None, function: str, method: str, dtype: str) -> float | None:
    """Median time of the method over that of naive, same function and
    format, at the largest n measured for both; None when not measured."""
    if not bench:
        return None
    times = {}
    for r in bench.get("implementations", []):
        if r.get("function") == function and r.get("dtype") == dtype and r.get("method") in (method, "naive"):
            times[r["method"], r.get("n")] = r.get("median_s")
    common = [n for (m, n) in times if m == method and ("naive", n) in times and times["naive", n]]
    if not common:
        return None
    n = max(common)
    return times[method, n] / times["naive", n]


def rankings_of(bundle) -> dict:
    """{function: method_ranking(...)} of the bundle, computed once per build."""
    return bundle.memo("rankings", lambda: {
        f: method_ranking(bundle.sweep, bundle.methods_real, bundle.bench, f) for f in FUNCTIONS})  # fmt: skip


def method_ranking(sweep, real: dict | None, bench: dict | None, function: str) -> dict:
    """{dtype: [row, ...]} with the methods of ``function`` ranked (best
    first) by severity: the share of failures (lost, inf or NaN) over the
    two-level vectors whose entries lie within ±RANGE_LN_MAX ln max
    (bundle.in_range), then the median and the worst bits of error of the
    worst component over the vectors of both families that do not fail (and
    are measured in ulps), on the lengths at which every method ran.  Flushed
    vectors (a tiny result one ulp away) are not failures: counted apart, in
    the same range.  With the same numbers on the MNIST logits and the cost."""
    out = {}
    formats = [d for d in ALL_DTYPES if d in set(distinct(sweep["dtype"]))]
    fails, inside, flushed = failed(sweep), in_range(sweep), select(sweep, grade="flushed")
    for dtype in formats:
        lengths = _ranking_lengths(sweep, function, dtype)
        base = select(sweep, function=function, dtype=dtype) & np.isin(sweep["n"], lengths)
        rows = []
        for method in distinct(sweep["method"], base):
            mask = base & select(sweep, method=method)
            ranged = mask & inside
            measured = mask & ~fails & ~np.isnan(sweep["max_bits"])
            bits = sweep["max_bits"][measured]
            summary = (real or {}).get("formats", {}).get(dtype, {}).get("methods", {}).get(f"{function}/{method}")
            rows.append(
                {
                    "method": method,
                    "vectors": int(ranged.sum()),
                    "sweep_median": float(np.median(bits)) if bits.size else None,
                    "sweep_max": float(bits.max()) if bits.size else None,
                    "sweep_not_ok": float((ranged & fails).sum() / ranged.sum()) if ranged.any() else 0.0,
                    "sweep_flushed": int((ranged & flushed).sum()),
                    "real_median": summary["median_bits"] if summary else None,
                    "real_max": summary["max_bits"] if summary else None,
                    "real_not_ok": summary["not_ok"] / summary["vectors"] if summary and summary["vectors"] else None,
                    "cost": bench_cost(bench, function, method, dtype),
                    "lengths": lengths,
                }
            )
        # Most severe first: the share of failures (a method is not better for
        # being measured only where it did not fail), then the median and the
        # worst bits; a flush, not a failure, does not move a method.
        rows.sort(
            key=lambda r: (
                r["sweep_median"] is None, r["sweep_not_ok"],
                r["sweep_median"] or 0, r["sweep_max"] or 0, r["method"],
            )
        )  # fmt: skip
        out[dtype] = rows
    return out


def methods_section(bundle) -> dict:
    """The values and the figure of the methods subsection."""
    sweep = bundle.sweep
    present = set(distinct(sweep["method"]))
    tables = []
    figure = None
    if len(present) > 2:  # naive and shifted alone: the Results section covers them
        rankings = rankings_of(bundle)
        figure = figures.method_ranking(rankings["softmax"], "softmax")
        for dtype in rankings["softmax"]:
            rows = []
            for function in FUNCTIONS:
                for rank, r in enumerate(rankings[function].get(dtype, []), start=1):
                    rows.append(
                        [
                            text(function),
                            number(rank),
                            text(METHOD_NAMES.get(r["method"], r["method"])),
                            number(r["sweep_median"], digits=3),
                            number(r["sweep_max"], digits=3),
                            percent(r["sweep_not_ok"]),
                            number(r["sweep_flushed"]),
                            number(r["real_median"], digits=3) if bundle.methods_real else text("not computed"),
                            number(r["real_max"], digits=3) if bundle.methods_real else text("not computed"),
                            percent(r["real_not_ok"]) if r["real_not_ok"] is not None else text("—"),
                            number(r["cost"], digits=3) if r["cost"] is not None else text("not measured"),
                        ]
                    )
            lengths = rankings["softmax"][dtype][0]["lengths"] if rankings["softmax"][dtype] else []
            tables.append({"dtype": dtype, "rows": rows, "lengths": text(", ".join(str(n) for n in lengths))})
    real = bundle.methods_real or {}
    return {
        "present": figure is not None,
        "figure": figure,
        "tables": tables,
        "header": [
            "function", "rank", "method", "sweep: median bits", "sweep: worst bits", "sweep: fails (in range)",
            "sweep: flushed (in range)", "MNIST: median bits", "MNIST: worst bits", "MNIST: fails", "time / naive",
        ],  # fmt: skip
        # How many MNIST vectors were used (those that overflow a format are skipped there).
        "real_rows": number(
            max((f["skipped"] + max((v["vectors"] for v in f["methods"].values()), default=0)
                 for f in real.get("formats", {}).values()), default=0)
        ),  # fmt: skip
        "real_present": bool(bundle.methods_real),
        "bench_present": bool(bundle.bench),
        "names": {k: text(v) for k, v in METHOD_NAMES.items()},
        "range": number(RANGE_LN_MAX),
    }


def context(bundle) -> dict:
    return {"methods": methods_section(bundle)}


SECTION = Section("methods-compared", "The methods of the literature and SciPy, compared", "methods.html",
                  ("sweep", "methods_real", "bench"), context)
