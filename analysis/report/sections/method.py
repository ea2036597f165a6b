"""Method: the grid of the study and the formats' constants."""

from __future__ import annotations

import math

import numpy as np

from ...formats import FORMATS
from ..bundle import FUNCTIONS, dtypes_of, select
from ..values import Value, format_value, number, text
from . import Section


def grid_summary(sweep) -> dict:
    def axis(column, family):
        values = np.unique(sweep[column][select(sweep, family=family)])
        values = values[~np.isnan(values)]
        return {
            "count": number(len(values)),
            "min": number(float(values.min()) if len(values) else None),
            "max": number(float(values.max()) if len(values) else None),
            "min_positive": number(float(values[values > 0].min()) if (values > 0).any() else None),
        }

    lengths = sorted(set(sweep["n"].tolist()))
    return {
        "offset": axis("offset", "two_level"),
        "gap": axis("gap", "two_level"),
        "scale": axis("scale", "scaled_normal"),
        "draws": number(len(np.unique(sweep["draw"][select(sweep, family="scaled_normal")]))),
        "lengths": text(", ".join(str(n) for n in lengths)),
        "rows": number(len(sweep["family"])),
        "functions": text(", ".join(f for f in FUNCTIONS if (sweep["function"] == f).any())),
    }


def format_table(dtypes) -> list[list[Value]]:
    rows = []
    for dtype in dtypes:
        fmt = FORMATS[dtype]
        rows.append(
            [
                text(dtype),
                number(fmt.precision),
                number(fmt.unit_roundoff, digits=3),
                format_value(fmt.max, dtype),
                number(fmt.ln_max, digits=6),
                number(fmt.smallest_normal, digits=3),
                number(fmt.smallest_subnormal, digits=3),
                number(fmt.ln_smallest_subnormal - math.log(2), digits=6),
            ]
        )
    return rows


def grades() -> dict:
    """The taxonomy's constants (analysis.metrics) and the stated range of the shares."""
    from ...store.schema import ACCURATE_ULPS, FAILURES, GRADES, LOST_RELATIVE
    from ..bundle import RANGE_LN_MAX

    return {
        "names": text(", ".join(GRADES)),
        "failures": text(", ".join(FAILURES)),
        "ulps": number(ACCURATE_ULPS),
        "lost": number(LOST_RELATIVE),
        "range": number(RANGE_LN_MAX),
    }


def context(bundle) -> dict:
    return {"grid": grid_summary(bundle.sweep), "formats": format_table(dtypes_of(bundle.sweep)), "grades": grades()}


SECTION = Section("method", "Method", "method.html", ("sweep",), context)
