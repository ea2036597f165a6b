"""The data folder's interface (analysis.store): the artifact registry, the
code each artifact depends on (derived from imports), and the one manifest."""

import json

import pytest

from analysis import config
from analysis.report import sections
from analysis.store import deps, manifest, registry


def test_every_data_file_belongs_to_exactly_one_artifact():
    files = [f for a in registry.ARTIFACTS for f in a.files]
    assert len(files) == len(set(files))
    assert {"sweep.parquet", "thresholds.json", "gstar.csv", "logsoftmax.json", "examples.json",
            "host.json"} <= set(files)  # fmt: skip
    assert {f for a in registry.ARTIFACTS for f in a.host_dependent} <= set(files)


def test_an_artifacts_code_is_what_its_study_imports():
    """The sweep's rows depend on the methods (through analysis.peers) and the
    truth (fastref), found by following imports; not on the report."""
    code = registry.BY_NAME["sweep"].code()
    assert {"analysis.studies.sweep", "analysis.peers", "analysis.softmax", "analysis.fastref",
            "analysis.reference", "analysis.studies.thresholds", "analysis.crmath"} <= set(code)  # fmt: skip
    assert not [m for m in code if m.startswith(("analysis.report", "analysis.pipeline", "analysis.sweep"))]
    # A function-level import counts: analysis.studies.special imports peers inside a function.
    assert "analysis.peers" in deps.direct_imports("analysis.studies.special")


def test_the_report_imports_no_study_and_no_numerics():
    """The report reads the data folder: its code (every section's) imports
    the store and the format constants, nothing that computes."""
    modules = ["analysis.report", "analysis.report.compose"] + [s.module for s in sections.SECTIONS]
    outside = {m for m in deps.closure(*modules) if not m.startswith("analysis.report")}
    assert outside <= {"analysis", "analysis.formats"} | {m for m in outside if m.startswith("analysis.store")}


def test_a_change_of_code_changes_the_key(monkeypatch):
    key = registry.key("examples", {"dtypes": ["float16"]})
    assert key == registry.key("examples", {"dtypes": ["float16"]})
    assert key != registry.key("examples", {"dtypes": ["float32"]})
    real = deps.module_path

    def edited(module):
        path = real(module)
        if module == "analysis.metrics":  # imported by the examples study
            copy = path.parent.parent / "tests" / "__init__.py"  # another file's bytes: "the code changed"
            return copy
        return path

    monkeypatch.setattr(deps, "module_path", edited)
    assert registry.key("examples", {"dtypes": ["float16"]}) != key


def test_the_manifest_records_checks_and_keeps_every_artifact(tmp_path):
    (tmp_path / "manifest.json").write_text('{"outputs_key": "of an older layout"}')
    manifest.record(tmp_path, "examples", "k1", {"dtypes": []}, {"examples.json": b"{}\n"})
    manifest.record(tmp_path, "methods_real", "k2", {}, {"methods_real.json": b"[]\n"}, top={"seed": 7})
    document = json.loads((tmp_path / "manifest.json").read_text())
    assert set(document["checksums"]) == {"examples.json", "methods_real.json"}
    assert document["seed"] == 7 and document["artifacts"]["examples"]["code"]
    assert "outputs_key" not in document
    assert manifest.up_to_date(tmp_path, "examples", "k1")
    assert not manifest.up_to_date(tmp_path, "examples", "another key")
    (tmp_path / "examples.json").write_text("{ }\n")  # changed after it was recorded
    assert not manifest.up_to_date(tmp_path, "examples", "k1")
    assert manifest.up_to_date(tmp_path, "methods_real", "k2")


@pytest.mark.parametrize("extra, expected", [((), False), (("scipy",), True)])
def test_host_dependent_files(extra, expected):
    import dataclasses

    cfg = dataclasses.replace(config.load(quick=True), extra_methods=extra)
    files = registry.host_dependent(cfg)
    assert {"host.json", "special_values.json", "methods_real.json"} <= set(files)
    assert ("sweep.parquet" in files) is expected
