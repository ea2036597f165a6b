"""Worst cases: the worst input found per function, method and format (worst_cases.json)."""

from __future__ import annotations

from ..values import in_u, number, text
from . import Section


def _compact_hex(h: str) -> str:
    """float.hex text without the trailing zeros of the significand (0x1.8p+1)."""
    if "." not in h:
        return h
    significand, exponent = h.split("p")
    return significand.rstrip("0").rstrip(".") + "p" + exponent


def worstcase_section(doc: dict | None) -> dict | None:
    """The worst input per (function, method, format) (worst_cases.json)."""
    if not doc:
        return None
    rows, inputs = [], []
    for r in doc["cases"]:
        key = f"worst/{r['function']}/{r['method']}/{r['dtype']}"
        verdict = "—" if r["within_bound"] is None else ("yes" if r["within_bound"] else "no")
        if r["bound_applies"] is False:
            verdict += " (not applicable)"
        rows.append([
            text(f"{r['function']}/{r['method']}"), text(r["dtype"]), number(r["n"]),
            number(r["ulps"], key), number(r["bits"], digits=3), text(r["theorem"] or "none"),
            in_u(r["error_u"]), in_u(r["componentwise_error_u"]), in_u(r["bound_u"]), text(verdict),
        ])  # fmt: skip
        inputs.append([text(f"{r['function']}/{r['method']}"), text(r["dtype"]),
                       text(", ".join(_compact_hex(h) for h in r["input_hex"]), "code")])  # fmt: skip
    settings = doc["settings"]
    return {
        "rows": rows,
        "count": number(len(rows)),
        "inputs": inputs,
        "budget": number(settings["budget"]),
        "seed": text(str(settings["seed"])),
        "lengths": text(f"{settings['lengths'][0]} to {settings['lengths'][1]}"),
        "restarts": number(settings["restarts"]),
    }


def context(bundle) -> dict:
    return {"worstcase": worstcase_section(bundle.get("worst_cases.json"))}


SECTION = Section("worstcase", "Worst cases", "worstcase.html", ("worstcase",), context)
