"""Background: softmax and std_norm of two small vectors, and (shown in
Results) the example vectors computed by every method in every format, from
examples.json (:mod:`analysis.studies.examples`)."""

from __future__ import annotations

import numpy as np

from ..values import Value, format_number, text, vector_text
from . import Section

# How a failure (metrics.FAILURES) reads in the examples tables.
FAILURE_WORDS = {"nan": "NaN", "inf": "overflow", "lost": "lost"}


def _array(values) -> np.ndarray:
    return np.array([float(v) for v in values], dtype=np.float64)  # "inf", "nan" as JSON writes them


def _cell(values: str, cell: dict) -> Value:
    if cell["grade"] is None:  # not judged against the truth (std_norm computes another function)
        return text(values)
    if cell["grade"] in FAILURE_WORDS:
        return Value(f"{values} — {FAILURE_WORDS[cell['grade']]}", None, None, "failed")
    ulps = cell["ulps"]
    note = "exact" if ulps == 0 else f"{format_number(ulps)}\u00a0ulp"
    if cell["grade"] == "flushed":
        note += ", flushed"
    elif cell["grade"] == "accurate" and ulps > 1:  # a log output within u of the truth
        note = "within u"
    return Value(f"{values} — {note}", None, None, "" if ulps == 0 else "inexact")


def examples(doc: dict) -> dict:
    """The examples tables: per function, each (vector, format) row with every
    method's output, its grade or ULPs, and the correctly rounded result."""
    tables = []
    for table in doc["tables"]:
        rows = []
        for r in table["rows"]:
            cells = [text(vector_text(_array(r["z"]), "float64")), text(r["dtype"])]
            cells += [_cell(vector_text(_array(c["values"]), r["dtype"]), c) for c in r["cells"]]
            cells.append(text(vector_text(_array(r["truth"]), r["dtype"])))
            rows.append(cells)
        header = ["z", "format"] + table["methods"] + ["correctly rounded"]
        tables.append({"function": table["function"], "header": header, "rows": rows})
    return {"tables": tables}


def background_examples(doc: dict) -> dict:
    """softmax and std_norm of [1, 2] and [10, 20] in float64, and the
    float8_e4m3fn vector whose shift overflows, for the text."""
    out = {
        name: {
            "z": text(vector_text(_array(r["z"]), "float64")),
            "softmax": text("[" + ", ".join(format_number(float(v), 4) for v in r["softmax"]) + "]"),
            "std_norm": text("[" + ", ".join(format_number(float(v), 4) for v in r["std_norm"]) + "]"),
        }
        for name, r in doc["background"].items()
        if name != "float8"
    }
    f8 = doc["background"]["float8"]
    out["float8"] = {
        "z": text(vector_text(_array(f8["z"]), "float8_e4m3fn")),
        "spread": text(format_number(float(f8["spread"]))),
        "max": text(format_number(float(f8["max"]))),
        "shifted": text(vector_text(_array(f8["shifted"]), "float8_e4m3fn")),
    }
    return out


def context(bundle) -> dict:
    return {"background": background_examples(bundle.get("examples.json"))}


SECTION = Section("background", "Background", "background.html", ("examples",), context)
