"""Log-softmax and the max approximation: g*, cross-entropy thresholds, std_norm, the sweep's log-domain pairs."""

from __future__ import annotations

import math

import numpy as np

from ...formats import FORMATS, ulp
from ...store.schema import FAILURES
from .. import figures
from ..bundle import PAIR, RANGE_LN_MAX, dtypes_of, select
from ..values import format_value, length, number, short, text, vector_text
from . import Section

CE_THRESHOLD_WORDS = {
    "naive_loss_inf": ("naive loss is +∞", "below", "fl(e^m)/(n−1) < s/2: the naive softmax of the correct class is 0"),
    "naive_grad_nan": ("naive gradient is NaN", "from", "e^m rounds to ∞: ∞/∞"),
    "shifted_loss_zero": ("log-softmax loss is 0", "from", "e^−m ≤ u: each 1 + e^−m of the sum rounds to 1"),
    "true_loss_zero": ("correctly rounded loss is 0", "from", "log(1 + (n−1)e^−m) < s/2 (top g*)"),
    "shifted_grad_zero": ("computed gradient is all 0", "from", "e^−m < s/2 rounds to 0"),
    "true_grad_zero": ("true gradient rounds to 0", "from", "(n−1)e^−m/(1 + (n−1)e^−m) < s/2"),
}


def _ulps_apart(a: float, b: float, dtype: str) -> float:
    """Distance from b to a in ulps of the format at a (b need not be a value of the format)."""
    return abs(a - b) / ulp(a, FORMATS[dtype])


def logsoftmax_section(doc: dict, dtypes) -> dict:
    """Tables, findings and the explanation of the log-softmax section, from logsoftmax.json."""
    gstar = doc["gstar_csv"]
    extra = {(r["n"], r["dtype"], r["entry"]): r for r in doc["gstar"]}
    lengths = sorted({r["n"] for r in gstar})
    rows = []
    on_grid = within_ulp = 0
    for dtype in dtypes:
        for n in lengths:
            cells = [text(dtype), length(n)]
            for entry in ("top", "rest"):
                record = next((r for r in gstar if (r["n"], r["dtype"], r["entry"]) == (n, dtype, entry)), None)
                if record is None:
                    cells += [text("—")] * 3
                    continue
                more = extra[(n, dtype, entry)]
                same = record["g_star_observed"] == more["g_star_predicted_grid"]
                on_grid += same
                apart = abs(record["g_star_observed"] - record["g_star_predicted"])
                within_ulp += apart <= max(more["ulp_at_g_star"], doc["grid_step"])
                cells += [
                    number(record["g_star_observed"], f"gstar/{dtype}/n{n}/{entry}", digits=6),
                    number(record["g_star_predicted"], digits=6),
                    number(more["g_star_predicted_grid"], digits=6, css="" if same else "differs"),
                ]
            rows.append(cells)
    windows = doc["gstar"]
    ce = doc["cross_entropy"]
    ce_rows, ce_formats = [], []
    for dtype in dtypes:
        if dtype not in ce["formats"]:
            continue
        fmt = FORMATS[dtype]
        item = ce["formats"][dtype]
        for name, (words, side, why) in CE_THRESHOLD_WORDS.items():
            t = item["thresholds"][name]
            ce_rows.append(
                [
                    text(words),
                    text(dtype),
                    text(side),
                    format_value(t["observed"], dtype, f"ce/{dtype}/{name}"),
                    number(t["predicted"], digits=7),
                    number(_ulps_apart(t["observed"], t["predicted"], dtype), digits=2)
                    if t["observed"] is not None
                    else text("—"),
                    text(why),
                ]
            )
        accuracy = item["accuracy"]
        top = next((r for r in gstar if (r["dtype"], r["entry"], r["n"]) == (dtype, "top", ce["n"])), None)
        rest = next((r for r in gstar if (r["dtype"], r["entry"], r["n"]) == (dtype, "rest", ce["n"])), None)
        thresholds = item["thresholds"]
        ce_formats.append(
            {
                "dtype": dtype,
                "p": number(fmt.precision),
                "p_ln2": number(fmt.precision * math.log(2), digits=4),
                "neg_ln_half_s": number(math.log(2) - math.log(fmt.smallest_subnormal), digits=4),
                "top": number(top["g_star_observed"], digits=6) if top else text("—"),
                "rest": number(rest["g_star_observed"], digits=6) if rest else text("—"),
                **{name: format_value(t["observed"], dtype) for name, t in thresholds.items()},
                "worst_inf_side": number(accuracy["worst_bits_where_naive_inf"], digits=3),
                "inf_points": number(accuracy["points_where_naive_inf"]),
                "worst_before_zero": number(accuracy["worst_bits_before_zero"], digits=3),
                "spurious_zero_points": number(accuracy["spurious_zero_points"]),
                "zero_points_failed": number(accuracy.get("zero_points_failed")),
            }
        )
    std_rows = []
    for case in doc["std_norm"]["cases"]:
        problems = case["std_norm_problems"]
        std_rows.append(
            [
                text(vector_text(np.array(case["z"]), "float64")),
                text("[" + ", ".join(short(v) for v in case["softmax"]) + "]"),
                text("[" + ", ".join(short(v) for v in case["std_norm"]) + "]"),
                text("; ".join(problems) if problems else "a probability vector", "failed" if problems else ""),
            ]
        )
    sweep_first = doc["std_norm"]["sweep"][0]
    return {
        "gstar_rows": rows,
        "gstar_count": number(len(gstar)),
        "gstar_on_grid": number(on_grid, "gstar_on_grid"),
        "gstar_within_ulp": number(within_ulp, "gstar_within_ulp"),
        "grid_step": number(doc["grid_step"]),
        "window_points_min": number(min(r["window_points"] for r in windows)),
        "coarse_points": number(max(r["coarse_points"] for r in windows)),
        "all_exact_beyond": text("yes" if all(r["exact_beyond"] for r in windows) else "no"),
        "lengths": text(", ".join(str(n) for n in lengths)),
        "ce_n": number(ce["n"]),
        "ce_rows": ce_rows,
        "ce_formats": ce_formats,
        "std_rows": std_rows,
        "std_scale_low": number(float(sweep_first["scale"][0])),
        "std_scale_high": number(float(sweep_first["scale"][-1])),
        "std_softmax_low": number(float(sweep_first["softmax_top"][0]), digits=4),
        "std_softmax_high": number(float(sweep_first["softmax_top"][-1]), digits=4),
        "std_norm_value": number(float(sweep_first["std_norm_top"][0]), digits=4),
    }


def _paired(sweep, function: str, dtype: str) -> dict | None:
    """The naive and shifted rows of ``function`` on the two-level grid, aligned
    on (n, offset, gap): arrays n, gap and, per method, grade and max_bits
    (None when the two methods were not run on the same vectors)."""
    out = {}
    for method in PAIR:
        mask = select(sweep, family="two_level", function=function, method=method, dtype=dtype)
        order = np.lexsort((sweep["gap"][mask], sweep["offset"][mask], sweep["n"][mask]))
        columns = {c: sweep[c][mask][order] for c in ("n", "offset", "gap", "grade", "max_bits")}
        out[method] = columns
    naive, shifted = out["naive"], out["shifted"]
    if len(naive["n"]) == 0 or not all(np.array_equal(naive[c], shifted[c]) for c in ("n", "offset", "gap")):
        return None
    return {"n": naive["n"], "gap": naive["gap"], "naive": naive, "shifted": shifted}


def log_domain_rows(sweep, dtypes) -> dict:
    """Naive against shifted logsumexp and log-softmax on the two-level grid
    of the sweep, over the vectors whose entries lie within ±RANGE_LN_MAX
    ln max (bundle.in_range): where the naive one fails (lost, inf or NaN),
    how often the shifted one does not fail there, is exact there, its worst
    bits there (over the entries measured in ulps: the top entry's
    log-probability rounded to 0 beyond g = p ln 2 is accurate by its
    absolute error, not a failure), how often it fails itself there; and its
    worst bits at small gaps (g <= 1, every entry near -log n) for the
    shortest and the longest n."""
    lengths = sorted(set(sweep["n"][select(sweep, family="two_level")].tolist()))
    rows = []
    for function in ("logsumexp", "log_softmax"):
        for dtype in dtypes:
            pair = _paired(sweep, function, dtype)
            if pair is None:
                continue
            naive, shifted = pair["naive"], pair["shifted"]
            limit = RANGE_LN_MAX * FORMATS[dtype].ln_max
            inside = (np.abs(naive["offset"]) <= limit) & (np.abs(naive["offset"] - pair["gap"]) <= limit)
            failed = inside & np.isin(naive["grade"], FAILURES)
            shifted_failed = np.isin(shifted["grade"], FAILURES)
            rescued = failed & ~shifted_failed
            cells = [
                text(function), text(dtype), number(int(inside.sum())), number(int(failed.sum())),
                number(int(rescued.sum())), number(int((rescued & (shifted["grade"] == "exact")).sum())),
                number(float(np.nanmax(shifted["max_bits"][rescued])) if np.isfinite(shifted["max_bits"][rescued]).any()
                       else None, digits=3),
                number(int((failed & shifted_failed).sum())),
            ]  # fmt: skip
            for n in (lengths[0], lengths[-1]):
                small = (pair["n"] == n) & (pair["gap"] <= 1) & ~shifted_failed & np.isfinite(shifted["max_bits"])
                cells.append(number(float(shifted["max_bits"][small].max()) if small.any() else None, digits=3))
            rows.append(cells)
    header = ["function", "format", "vectors in range", "naive fails", "shifted does not fail there",
              "shifted exact there", "shifted worst bits there", "shifted fails there too",
              f"shifted worst bits, g ≤ 1, n = {lengths[0]}",
              f"shifted worst bits, g ≤ 1, n = {lengths[-1]}"] if lengths else []  # fmt: skip
    return {"header": header, "rows": rows, "range": number(RANGE_LN_MAX)}


def make_logsoftmax_figures(doc: dict, dtypes) -> dict:
    present = [d for d in dtypes if d in doc["cross_entropy"]["formats"]]
    return {
        "error": figures.max_approx_error(doc["error"], doc["gstar_csv"], dtypes),
        "cross_entropy": figures.cross_entropy(doc["cross_entropy"], present),
        "std_norm": figures.std_norm_vs_softmax(doc["std_norm"]),
    }


def context(bundle) -> dict:
    dtypes = dtypes_of(bundle.sweep)
    return {
        "logsoftmax": logsoftmax_section(bundle.logsoftmax, dtypes),
        "log_domain": log_domain_rows(bundle.sweep, dtypes),
        "logsoftmax_figures": make_logsoftmax_figures(bundle.logsoftmax, dtypes),
    }


SECTION = Section("logsoftmax", "Log-softmax and the max approximation", "logsoftmax.html", ("sweep", "logsoftmax"),
                  context)
