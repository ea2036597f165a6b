"""What adding a section takes: a module-level Section (anchor, title,
template, the artifacts it needs, ``context(bundle)``), a template, and its
place in the registry.  Registered here at run time with a template given
inline; base.html lists it in the contents and renders it, with a number
computed from the data folder."""

import jinja2
import numpy as np
import pytest

from analysis.report import compose, sections
from analysis.report.sections import Section
from analysis.report.values import number
from tests.test_report import EPOCH, parse, write_fixture

TEMPLATE = """<section id="tiny">
<h2>Rows of the sweep</h2>
<p>The sweep has {{ m.num(tiny.rows) }} rows, {{ m.num(tiny.ok) }} of them ok.</p>
</section>
"""


def tiny_context(bundle) -> dict:
    grade = bundle.sweep["grade"]
    return {"tiny": {"rows": number(len(grade), "tiny/rows"), "ok": number(int(np.sum(grade == "exact")), "tiny/ok")}}


@pytest.fixture
def registered(monkeypatch):
    loader = jinja2.ChoiceLoader([jinja2.DictLoader({"tiny.html": '{% import "macros.html" as m %}' + TEMPLATE}),
                                 compose.ENV.loader])  # fmt: skip
    monkeypatch.setattr(compose.ENV, "loader", loader)
    section = Section("tiny", "Rows of the sweep", "tiny.html", ("sweep",), tiny_context)
    sections.register(section, before="limitations")
    yield section
    sections.unregister("tiny")


def test_a_registered_section_is_in_the_contents_and_the_body(registered, tmp_path, monkeypatch):
    monkeypatch.setenv("SOFTMAX_STUDY_CACHE", str(tmp_path / "cache"))
    data = write_fixture(tmp_path / "data")
    out = compose.build(data, tmp_path / "r.html", environ={"SOURCE_DATE_EPOCH": EPOCH})
    html = out.read_text(encoding="utf-8")
    parsed = parse(html)
    assert parsed.errors == []
    assert '<li><a href="#tiny">Rows of the sweep</a></li>' in html
    assert parsed.sections.index("tiny") == parsed.sections.index("limitations") - 1
    shown = {d["attrs"]["data-key"]: float(d["attrs"]["value"]) for d in parsed.data if d["section"] == "tiny"}
    import pyarrow.parquet as pq

    grade = pq.read_table(data / "sweep.parquet").column("grade").to_pylist()
    assert shown == {"tiny/rows": len(grade), "tiny/ok": grade.count("exact")}


def test_the_contents_follow_the_registry():
    ids = [s.id for s in sections.SECTIONS]
    body = [s.id for s in sections.SECTIONS if s.part == "body"]
    appendix = [s.id for s in sections.SECTIONS if s.part == "appendix"]
    assert ids == body + appendix, "the appendix comes after the body"
    assert body[0] == "answer" and body[-1] == "references" and len(ids) == len(set(ids))
    assert appendix[0] == "appendix" and appendix[-1] == "reproducibility"
    base = (compose.TEMPLATE_DIR / "base.html").read_text(encoding="utf-8")
    assert "{% for s in sections %}" in base and "<li><a" not in base.replace('<li><a href="#{{ s.id }}">', "")
