"""Bad input and faults of the sweep's command line: a one-line error naming
the problem, a non-zero exit, and nothing previously written changed."""

import errno
import tempfile

import numpy as np
import pytest

from analysis import __main__ as cli
from analysis import config
from analysis import softmax as sm


def previous(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "sweep.parquet").write_text("previous results\n")
    return data


def run_cli(args, capsys):
    code = cli.main(args)
    err = capsys.readouterr().err.strip()
    return code, err


def test_config_that_is_a_directory(tmp_path, capsys):
    data = previous(tmp_path)
    code, err = run_cli(["sweep", "--config", str(tmp_path), "--data-dir", str(data)], capsys)
    assert code == 2 and "cannot read" in err and str(tmp_path) in err and len(err.splitlines()) == 1
    assert (data / "sweep.parquet").read_text() == "previous results\n"


def test_config_that_is_not_text(tmp_path, capsys):
    data = previous(tmp_path)
    bad = tmp_path / "study.toml"
    bad.write_bytes(b"\xff\xfe\x00 binary")
    code, err = run_cli(["sweep", "--config", str(bad), "--data-dir", str(data)], capsys)
    assert code == 2 and "cannot read" in err and str(bad) in err
    assert sorted(p.name for p in data.iterdir()) == ["sweep.parquet"]


def test_missing_config(tmp_path, capsys):
    code, err = run_cli(["sweep", "--config", str(tmp_path / "absent.toml")], capsys)
    assert code == 2 and "file not found" in err


def test_unwritable_output_folder(tmp_path, capsys, monkeypatch):
    """A read-only reports/ (simulated: the tests run as root, for whom the
    permission bits do not apply): exit 1 naming the problem, old files
    untouched, no temporary left."""
    data = previous(tmp_path)

    def refuse(*args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied", str(data))

    monkeypatch.setattr(tempfile, "mkstemp", refuse)
    monkeypatch.setenv("SOFTMAX_STUDY_CACHE", str(tmp_path / "cache"))
    cfg = config.load(quick=True)
    monkeypatch.setattr(config, "load", lambda path=None, quick=False: cfg)
    code, err = run_cli(["sweep", "--quick", "--data-dir", str(data)], capsys)
    assert code == 1 and "cannot write results" in err and "Permission denied" in err
    assert sorted(p.name for p in data.iterdir()) == [".lock", "sweep.parquet"]  # the folder's lock (store.folder)
    assert (data / "sweep.parquet").read_text() == "previous results\n"


@pytest.mark.parametrize("bad", [np.arange(3), np.zeros(3, np.complex64), np.array(["a", "b"])])
def test_api_rejects_unsupported_dtypes(bad):
    for f in sm.IMPLEMENTATIONS.values():
        with pytest.raises(TypeError, match=bad.dtype.name):
            f(bad)


@pytest.mark.parametrize("shape", [(0,), (3, 0)])
def test_api_rejects_empty_axis(shape):
    for f in sm.IMPLEMENTATIONS.values():
        with pytest.raises(ValueError, match="empty"):
            f(np.zeros(shape))


@pytest.fixture(scope="module")
def quick_data(tmp_path_factory):
    """Quick sweep output (and the log-softmax files the report needs)."""
    from analysis import pipeline, sweep

    base = tmp_path_factory.mktemp("faults")
    data = base / "data"
    sweep.run(config.load(quick=True), data_dir=data, cache_dir=base / "cache")
    pipeline.logsoftmax_outputs(data, quick=True)
    pipeline.examples_outputs(data, ("float64", "float16"))
    return data


def _damage(data, tmp_path, name, edit):
    """A copy of the data with one file edited and the manifest's checksum
    updated to match, so that only the content check can catch it."""
    import hashlib
    import json
    import shutil

    copy = tmp_path / "data"
    shutil.copytree(data, copy)
    path = copy / name
    edit(path)
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest["checksums"][name] = hashlib.sha256(path.read_bytes()).hexdigest()
    (copy / "manifest.json").write_text(json.dumps(manifest))
    return copy


def _in_first_ok_row(value):
    """An edit that writes value into max_ulp of the first row whose grade is exact."""

    def edit(path):
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = pq.read_table(path)
        grade = table.column("grade").to_pylist()
        column = table.column("max_ulp").to_pylist()
        column[grade.index("exact")] = value
        i = table.column_names.index("max_ulp")
        pq.write_table(table.set_column(i, "max_ulp", pa.array(column, pa.float64())), path)

    return edit


def _text(replace):
    def edit(path):
        path.write_text(replace(path.read_text()))

    return edit


@pytest.mark.parametrize(
    "name, edit, message",
    [
        ("sweep.parquet", _in_first_ok_row(float("nan")), "column max_ulp"),
        ("sweep.parquet", _in_first_ok_row(float("inf")), "column max_ulp"),
        ("thresholds.json", _text(lambda t: t.replace('"observed": null', '"observed": NaN', 1)), "observed"),
        ("thresholds.json", _text(lambda t: t.replace('"predicted": null', '"predicted": Infinity', 1)), "predicted"),
    ],
    ids=["nan-in-table", "inf-in-table", "nan-in-json", "inf-in-json"],
)
def test_report_rejects_non_finite_data(quick_data, tmp_path, capsys, name, edit, message):
    from analysis import pipeline

    data = _damage(quick_data, tmp_path, name, edit)
    out = tmp_path / "report.html"
    out.write_text("previous report")
    code = pipeline.report_main(["--no-sweep", "--quick", "--data-dir", str(data), "--out", str(out)])
    err = capsys.readouterr().err.strip()
    assert code != 0 and message in err and "finite" in err, err
    assert out.read_text() == "previous report"
