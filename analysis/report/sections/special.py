"""Special values: our methods and SciPy on inf, NaN, -inf and masked inputs (special_values.json)."""

from __future__ import annotations

from ..values import number, short, text
from . import Section


def _outputs_text(values) -> str:
    if values is None:
        return "error"
    if values and isinstance(values[0], list):  # long rows: [value, count] pairs
        return ", ".join(f"{c}×{short(v)}" for v, c in values)
    return "[" + ", ".join(short(v) for v in values) + "]"


def special_section(doc: dict | None) -> dict | None:
    """One table row per (case, function): the truth and each method's output."""
    if not doc:
        return None
    records = doc["records"]
    methods = sorted({r["method"] for r in records})
    rows = []
    for case in dict.fromkeys(r["case"] for r in records):
        for function in ("softmax", "logsumexp", "log_softmax"):
            by_method = {r["method"]: r for r in records if r["case"] == case and r["function"] == function}
            first = next(iter(by_method.values()))
            cells = [text(first["description"]), text(f"{first['dtype']}, n = {first['n']}"), text(function),
                     text(_outputs_text(first["truth"]))]  # fmt: skip
            for m in methods:
                r = by_method.get(m)
                cells.append(text("—") if r is None else text(
                    (r["error"] or _outputs_text(r["output"])), "" if r["match"] else "differs"))  # fmt: skip
            rows.append(cells)
    mismatch = [[text(k), number(len(v)), text(", ".join(v) or "none")] for k, v in doc["mismatches"].items()]
    masked = [
        [text(k), *[text(_outputs_text(v[c]["output"]), "" if v[c]["match"] else "differs")
                    for c in ("masked", "all_masked", "masked_large")]]
        for k, v in doc["masked"].items()
    ]  # fmt: skip
    all_masked = {k: v["all_masked"]["output"] for k, v in doc["masked"].items()}
    nan_methods = [k for k, out in all_masked.items() if k.startswith("softmax/") and "nan" in out]
    other_methods = [k for k, out in all_masked.items() if k.startswith("softmax/") and "nan" not in out]
    return {
        "masked_nan": text(", ".join(nan_methods) or "none"),
        "masked_other": text(", ".join(other_methods) or "none"),
        "header": ["case", "input", "function", "correct"] + methods,
        "rows": rows,
        "mismatches": mismatch,
        "masked": masked,
        "match_ulps": number(doc["match_ulps"]),
    }


def context(bundle) -> dict:
    return {"special": special_section(bundle.get("special_values.json"))}


SECTION = Section("special", "Special values", "special.html", ("special",), context)
