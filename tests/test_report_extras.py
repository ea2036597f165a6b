"""The report sections of analysis.outputs' files (analysis.report.sections) (real logits, bounds,
special values, worst cases) render from small real documents, show the
numbers of the data, and say so when the files are absent."""

import dataclasses
import json

import pytest

from analysis import config, datasets, report
from analysis.report import compose
from analysis.report.prose import PAPER
from analysis.report.sections import bounds as bounds_section
from analysis.report.sections import realdata, worstcase
from analysis.report.sections import special as special_section
from analysis.store.files import ROOT, jsonable
from analysis.studies import bhh2021, bounds, special

TEMPLATES = ("realdata.html", "bounds.html", "special.html", "worstcase.html")


@pytest.fixture(scope="module")
def extra():
    _, logits = datasets.mnist_logits()
    document, points = bhh2021.study(logits[:60], ("float16", "bfloat16"))
    document, points = json.loads(json.dumps(jsonable(document))), json.loads(json.dumps(points))
    cfg = dataclasses.replace(config.load(None, quick=True), dtypes=("float16",), lengths=(10,))
    records = special.table()
    cases = json.loads((ROOT / "tests" / "baselines" / "worst_cases.json").read_text())
    worst = {"settings": config.load_worstcase().as_dict(),
             "cases": [{**c, "n": len(c["input_hex"]), "bits": 1.0, "error_u": None, "componentwise_error_u": None,
                        "bound_u": None, "within_bound": None} for c in cases]}  # fmt: skip
    return {
        "paper": PAPER,
        "realdata": realdata.realdata_section(document, points),
        "bounds": bounds_section.bounds_section(bounds.measure_sweep(cfg, sample=6), ["float16"]),
        "special": special_section.special_section({"match_ulps": special.MATCH_ULPS, "records": records,
                                           "mismatches": special.mismatches(records),
                                           "masked": special.masked_behaviour(records)}),  # fmt: skip
        "worstcase": worstcase.worstcase_section(worst),
        "document": document,
        "glossary": compose.glossary(),  # the term macro links terms to it
    }


def test_sections_render_with_the_datas_numbers(extra):
    html = "".join(report.ENV.get_template(name).render(**extra) for name in TEMPLATES)
    naive = extra["document"]["float16"]["lse_naive_inf"]
    assert f'data-key="bhh/float16/lse_naive_inf">{naive}</data>' in html
    for section in ("realdata", "bounds", "special", "worstcase"):
        assert f'<section id="{section}">' in html
    assert "Not computed" not in html
    assert html.count("<svg") == 3  # two BHH figures and the bounds figure


def test_sections_without_files_say_so():
    empty = {"paper": {}, "realdata": None, "bounds": None, "special": None, "worstcase": None}
    for name in TEMPLATES:
        assert "Not computed" in report.ENV.get_template(name).render(**empty)
