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
    (data / "sweep.csv").write_text("previous results\n")
    return data


def run_cli(args, capsys):
    code = cli.main(args)
    err = capsys.readouterr().err.strip()
    return code, err


def test_config_that_is_a_directory(tmp_path, capsys):
    data = previous(tmp_path)
    code, err = run_cli(["sweep", "--config", str(tmp_path), "--data-dir", str(data)], capsys)
    assert code == 2 and "cannot read" in err and str(tmp_path) in err and len(err.splitlines()) == 1
    assert (data / "sweep.csv").read_text() == "previous results\n"


def test_config_that_is_not_text(tmp_path, capsys):
    data = previous(tmp_path)
    bad = tmp_path / "study.toml"
    bad.write_bytes(b"\xff\xfe\x00 binary")
    code, err = run_cli(["sweep", "--config", str(bad), "--data-dir", str(data)], capsys)
    assert code == 2 and "cannot read" in err and str(bad) in err
    assert sorted(p.name for p in data.iterdir()) == ["sweep.csv"]


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
    assert sorted(p.name for p in data.iterdir()) == ["sweep.csv"]
    assert (data / "sweep.csv").read_text() == "previous results\n"


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
