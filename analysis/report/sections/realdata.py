"""Real logits (BHH 2021): the reproduction of their Section 5 (bhh2021.json)."""

from __future__ import annotations

from ...formats import STUDY_DTYPES
from .. import figures
from ..values import in_u, number, text
from . import Section


def realdata_section(doc: dict | None, points: dict | None) -> dict | None:
    """Tables and figures of the BHH 2021 reproduction (bhh2021.json)."""
    if not doc:
        return None
    formats = [f for f in STUDY_DTYPES if f in doc] + sorted(set(doc) - set(STUDY_DTYPES))
    counts = [
        [text(f), number(doc[f]["vectors"]), number(doc[f]["lse_naive_inf"], f"bhh/{f}/lse_naive_inf"),
         number(doc[f]["lse_shifted_inf"], f"bhh/{f}/lse_shifted_inf"), number(doc[f]["softmax_naive_nonfinite"]),
         number(doc[f]["softmax_shifted_nonfinite"]), number(doc[f]["vectors_compared"])]
        for f in formats
    ]  # fmt: skip
    errors = [
        [text(t), text(f), in_u(doc[f]["median_error_u"][t]), in_u(doc[f]["max_error_u"][t]),
         in_u(doc[f]["max_bound_u"][t]), in_u(doc[f]["bound_ratio"][t]),
         number(doc[f]["bound_exceeded"][t], f"bhh/{f}/exceeded/{t}")]
        for t in doc[formats[0]]["max_error_u"] for f in formats
    ]  # fmt: skip
    effect = [
        [text(f), text(ref), number(e["bound_verdict_changes"], f"bhh/{f}/{ref}/verdicts"),
         in_u(e["largest_error_change_u"]),
         text(", ".join(f"{k}: {v}" for k, v in e["ulp_differs"].items() if v) or "none")]
        for f in formats for ref, e in doc[f]["reference_effect"].items()
    ]  # fmt: skip
    methods = sorted(doc[formats[0]]["methods"])
    method_rows = [
        [text(m), *[v for f in formats for v in (number(doc[f]["methods"][m]["nonfinite"]),
                                                  number(doc[f]["methods"][m]["max_ulp"]))]]
        for m in methods
    ]  # fmt: skip
    f16 = doc.get("float16", doc[formats[0]])
    return {
        "formats": formats,
        "counts": counts,
        "error_header": ["theorem", "format", "median error", "max error", "max bound", "max error/bound",
                         "above bound"],
        "errors": errors,
        "effect": effect,
        "method_header": ["function/method"] + [f"{f} {c}" for f in formats for c in ("non-finite", "worst ULPs")],
        "methods": method_rows,
        "naive_inf": number(f16["lse_naive_inf"], "bhh/lse_naive_inf"),
        "shifted_inf": number(f16["lse_shifted_inf"], "bhh/lse_shifted_inf"),
        "vectors": number(f16["vectors"]),
        "figures": [{"dtype": d, "figure": figures.bhh_error_vs_bound(points[d], d)} for d in formats if d in points],
    }


def context(bundle) -> dict:
    return {"realdata": realdata_section(bundle.get("bhh2021.json"), bundle.get("bhh2021_points.json"))}


SECTION = Section("realdata", "Real logits (BHH 2021)", "realdata.html", ("bhh2021",), context)
