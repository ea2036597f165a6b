"""What the CPU's exp adds: numpy's exp and log per SIMD dispatch level (host.json)."""

from __future__ import annotations

from .. import figures
from ..values import format_number, number, text
from . import Section


def _share_not_rounded(r: dict) -> str:
    """"k% (worst w)" for one record of host.json's library table."""
    share = 1 - r["ulps"]["0"] / r["arguments"]
    return f"{format_number(100 * share, 3)} % (worst {format_number(r['max_ulps'])})"


def host_section(doc: dict | None) -> dict | None:
    """What numpy's exp/log add, per dispatch level (host.json)."""
    if not doc:
        return None
    levels = doc["levels"]
    library = []
    for r in levels[0]["library"]:
        cells = [text(r["function"]), text(r["dtype"]),
                 text(("every one of " if r["exhaustive"] else "") + format_number(r["arguments"]))]  # fmt: skip
        for level in levels:
            same = next(x for x in level["library"] if x["function"] == r["function"] and x["dtype"] == r["dtype"])
            cells.append(text(_share_not_rounded(same)))
        library.append(cells)
    effect = []
    for r in levels[0]["study"]:
        cells = [text(f"{r['function']}/{r['method']}"), text(r["dtype"]), number(r["vectors"])]
        key = (r["function"], r["method"], r["dtype"])
        for level in levels:
            same = next(x for x in level["study"] if (x["function"], x["method"], x["dtype"]) == key)
            change = format_number(same["largest_change"])
            cells.append(text(f"{same['ulps_changed']} / {same['grade_changed']} (±{change})"))
        effect.append(cells)
    changed = {level["name"]: sum(x["ulps_changed"] + x["grade_changed"] for x in level["study"]) for level in levels}
    settings = doc["settings"]
    return {
        "cpu": text(doc["cpu"]),
        "levels": text(", ".join(level["name"] for level in levels)),
        "level_count": number(len(levels)),
        "samples": number(settings["samples"]),
        "lengths": text(", ".join(str(n) for n in settings["lengths"])),
        "methods": text(", ".join(settings["methods"])),
        "draws": number(settings["draws"]) if "draws" in settings else text("all"),
        "model_identical": text("yes" if doc["model_identical_at_every_level"] else "NO", ""
                                if doc["model_identical_at_every_level"] else "failed"),  # fmt: skip
        "library_header": ["function", "format", "arguments"] + [level["name"] for level in levels],
        "library": library,
        "effect_header": ["function/method", "format", "vectors"] + [level["name"] for level in levels],
        "effect": effect,
        "changed": [[text(k), number(v)] for k, v in changed.items()],
        "figure": figures.host_library(doc),
    }


def context(bundle) -> dict:
    return {"host": host_section(bundle.get("host.json"))}


SECTION = Section("host", "What the CPU's exp adds", "host.html", ("host",), context)
