"""The published bounds against the sweep's vectors (bounds.json)."""

from __future__ import annotations

from .. import figures
from ..bundle import dtypes_of
from ..values import in_u, number, text
from . import Section


def bounds_section(doc: dict | None, dtypes) -> dict | None:
    """The tightness table and figure (bounds.json)."""
    if not doc:
        return None
    rows = [
        [text(v["theorem"]), text(f"{v['function']}/{v['method']}"), text("yes" if v["exact_algorithm"] else "variant"),
         text(v["dtype"]), number(v["vectors"]), in_u(v["max_error_u"]), in_u(v["bound_at_max_error_u"]),
         in_u(v["tightness"]), number(v["exceeded"], f"bounds/{k}/exceeded"),
         number(v.get("exceeded_beyond_final_rounding"), f"bounds/{k}/exceeded1")]
        for k, v in doc.items()
    ]  # fmt: skip
    return {"rows": rows, "figure": figures.bounds_vs_sweep(doc, [d for d in dtypes if any(
        v["dtype"] == d for v in doc.values())])}  # fmt: skip


def context(bundle) -> dict:
    return {"bounds": bounds_section(bundle.get("bounds.json"), dtypes_of(bundle.sweep))}


SECTION = Section("bounds", "The published bounds", "bounds.html", ("sweep", "bounds"), context)
