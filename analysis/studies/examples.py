"""The Background section's examples: a few small vectors computed by every
method in every format, next to the correctly rounded truth
(:mod:`analysis.reference`).  Plain records; the report formats them."""

from __future__ import annotations

import numpy as np

from .. import reference
from .. import softmax as sm
from ..formats import FORMATS
from ..metrics import FAILURES, grade, ulp_distance

VECTORS = ((1.0, 2.0), (10.0, 20.0), (1000.0, 1.0, 1.0))
# Per function: (label, implementation, whether its output is judged against the truth).
METHODS = {
    "softmax": (("naive", sm.softmax_naive, True), ("max-shifted", sm.softmax_shifted, True),
                ("std_norm (z/Σz)", sm.std_norm, False)),
    "logsumexp": (("naive", sm.logsumexp_naive, True), ("max-shifted", sm.logsumexp_shifted, True)),
    "log_softmax": (("naive", sm.log_softmax_naive, True), ("max-shifted", sm.log_softmax_shifted, True),
                    ("z − max z", sm.log_softmax_max_approx, True)),
}  # fmt: skip
TRUTHS = {"softmax": reference.softmax, "logsumexp": reference.logsumexp, "log_softmax": reference.log_softmax}


def _floats(values) -> list[float]:
    return [float(v) for v in np.atleast_1d(values)]


def tables(dtypes) -> list[dict]:
    """Per function: the methods' labels and, per (vector, format), each
    method's output, its grade against the truth (metrics.grade; log
    outputs in the log domain) and its worst ULPs where it does not fail."""
    out = []
    for function, implementations in METHODS.items():
        rows = []
        for vector in VECTORS:
            for dtype in dtypes:
                z = np.array(vector, dtype=np.float64).astype(FORMATS[dtype].dtype)
                truth = np.asarray(TRUTHS[function](z))
                cells = []
                for _label, implementation, judged in implementations:
                    with np.errstate(invalid="ignore"):
                        computed = np.asarray(implementation(z))
                    cell = {"values": _floats(computed), "grade": None, "ulps": None}
                    if judged:
                        log_domain = function in ("logsumexp", "log_softmax")
                        cell["grade"] = str(grade(np.atleast_1d(computed), np.atleast_1d(truth), log_domain=log_domain))
                        if cell["grade"] not in FAILURES:
                            cell["ulps"] = float(np.max(ulp_distance(computed, truth)))
                    cells.append(cell)
                rows.append({"z": list(vector), "dtype": dtype, "cells": cells, "truth": _floats(truth)})
        out.append({"function": function, "methods": [label for label, _, _ in implementations], "rows": rows})
    return out


FLOAT8_SHIFT_EXAMPLE = (240.0, -320.0)  # an input, chosen: both exact in float8_e4m3fn


def background() -> dict:
    """softmax and std_norm of [1, 2] and [10, 20] in float64, for the text;
    and the max-shifted softmax of FLOAT8_SHIFT_EXAMPLE in float8_e4m3fn,
    which has no infinity: z - max z itself overflows, to NaN."""
    out = {}
    for name, vector in (("small", VECTORS[0]), ("large", VECTORS[1])):
        z = np.array(vector, dtype=np.float64)
        out[name] = {"z": list(vector), "softmax": _floats(reference.softmax(z)), "std_norm": _floats(sm.std_norm(z))}
    fmt = FORMATS["float8_e4m3fn"]
    z = np.array(FLOAT8_SHIFT_EXAMPLE, dtype=fmt.dtype)
    with np.errstate(invalid="ignore"):
        shifted = sm.softmax_shifted(z)
    zf = z.astype(np.float64)
    out["float8"] = {"z": _floats(zf), "spread": float(zf.min() - zf.max()), "max": fmt.max,
                     "shifted": _floats(shifted.astype(np.float64))}  # fmt: skip
    return out


def study(dtypes) -> dict:
    return {"dtypes": list(dtypes), "tables": tables(dtypes), "background": background()}
