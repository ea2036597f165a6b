"""Safe to run and to share: one test (or more) per case of the fault list,
named after it (case1_* resource limits, case2_* the cache, case3_* the data
folder, case4_* validation, case5_* command line and API messages).  The
fault matrix in README.md lists them with what happens."""

import os
import pickle
import shutil
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from analysis import __main__ as cli
from analysis import config, fastref, pipeline, plan, reference, sweep
from analysis import softmax as sm
from analysis.store import files, folder, registry
from analysis.store import manifest as store_manifest

ROOT = Path(__file__).resolve().parent.parent
MAIN_THREAD = threading.current_thread() is threading.main_thread()


def study_file(tmp_path, edit=lambda text: text, name="study.toml"):
    path = tmp_path / name
    path.write_text(edit(config.DEFAULT_CONFIG.read_text(encoding="utf-8")), encoding="utf-8")
    return path


def one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    return lines[0]


def snapshot(data: Path) -> dict:
    """The folder's visible files and their bytes (the lock and hidden files aside)."""
    return {p.name: p.read_bytes() for p in sorted(data.iterdir()) if p.is_file() and not p.name.startswith(".")}


# --- case 1: resource limits -----------------------------------------------------------------


def test_case1_workers_beyond_the_cpus_are_refused_before_any_work(tmp_path, capsys):
    path = study_file(tmp_path, lambda t: t.replace("workers = 2", "workers = 100000"))
    code = cli.main(["sweep", "--config", str(path), "--data-dir", str(tmp_path / "data")])
    line = one_line(capsys.readouterr().err)
    assert code == 2 and "workers" in line and not (tmp_path / "data").exists()


def test_case1_a_length_of_ten_million_is_refused_by_the_plan(tmp_path, capsys):
    path = study_file(tmp_path, lambda t: t.replace("lengths = [2, 10, 100, 1000]", "lengths = [2, 10000000]"))
    start = time.perf_counter()
    code = cli.main(["sweep", "--config", str(path), "--data-dir", str(tmp_path / "data")])
    line = one_line(capsys.readouterr().err)
    assert code == 2 and "per worker" in line and "available" in line and "n=10000000" in line, line
    assert time.perf_counter() - start < 30 and not (tmp_path / "data").exists()


def test_case1_the_plan_refuses_more_memory_than_is_available(monkeypatch):
    cfg = config.load(quick=True)
    monkeypatch.setattr(plan, "available_memory", lambda: 100 * 2**20)  # 100 MiB: less than one idle worker
    with pytest.raises(plan.PlanError, match="available"):
        plan.check(plan.make(cfg))
    monkeypatch.setattr(plan, "available_memory", lambda: 64 * 2**30)
    plan.check(plan.make(cfg))


def test_case1_dry_run_prints_the_plan_and_writes_nothing(tmp_path, capsys):
    code = cli.main(["sweep", "--quick", "--dry-run", "--data-dir", str(tmp_path / "data")])
    out = capsys.readouterr().out
    assert code == 0 and not (tmp_path / "data").exists()
    for word in ("chunks:", "rows:", "memory:", "per worker", "time:"):
        assert word in out, out
    cfg = config.load(quick=True)
    assert f"chunks: {len(sweep.tasks(cfg))};" in out


@pytest.mark.parametrize("function", [fastref.truths, reference.softmax, reference.truths])
def test_case1_the_reference_paths_refuse_a_row_beyond_their_limit_at_once(function):
    z = np.zeros(10**6, np.float32)
    start = time.perf_counter()
    with pytest.raises(ValueError, match=r"limit of 262144 entries per row"):
        function(z)
    assert time.perf_counter() - start < 1  # refused, not computed (was 8.9 s and 26 s)


def test_case1_the_reference_paths_accept_the_longest_row_the_project_uses():
    assert fastref.MAX_ROW >= 2**18 and reference.MAX_ROW >= 2**18  # bench_truth.LONG_ROW
    assert fastref.MAX_ENTRIES > 5727 * 1000  # the sweep's largest chunk


# --- case 2: the cache runs nothing it is given ----------------------------------------------


class Planted:
    """A pickle that runs a command when unpickled."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def _quick_keys():
    cfg = config.load(quick=True)
    code, vers = sweep.code_hash(), registry.versions()
    todo = sweep.tasks(cfg)
    return cfg, todo, [sweep.task_key(t, code, vers) for t in todo]


def _fake_chunk(task, grade="exact"):
    """A well-formed chunk of ``task``: one row in the block of its first function and method."""
    from analysis.store.schema import FLOAT_COLUMNS

    block = (task["family"], task["functions"][0], task["methods"][0], task["dtype"], task["n"])
    columns = {name: np.array([1.0]) for name in FLOAT_COLUMNS}
    return {block: {**columns, "grade": [grade], "sums_to_one": [True]}}


def test_case2_a_planted_pickle_entry_does_not_run(tmp_path, monkeypatch):
    cfg, todo, keys = _quick_keys()
    cache, marker = tmp_path / "cache", tmp_path / "marker"
    cache.mkdir()
    payload = pickle.dumps((keys[0], Planted(marker)))
    import hashlib

    for key in keys:  # the old layout (digest + pickle), and the same bytes under the new name
        blob = hashlib.sha256(payload).digest() + payload
        for suffix in (".pickle", ".npz"):  # the old layout's name, and the new
            (cache / f"{key}{suffix}").write_bytes(blob)
    # and an .npz whose header is an object array: np.load would need pickle
    np.savez(cache / f"{keys[1]}.npz", header=np.array([Planted(marker)], dtype=object))
    calls = []
    monkeypatch.setattr(sweep, "compute_chunk", lambda t: calls.append(t) or _fake_chunk(t))
    with ThreadPoolExecutor(1) as pool:
        sweep.run(cfg, data_dir=tmp_path / "data", cache_dir=cache, executor=pool)
    assert not marker.exists()
    assert len(calls) == len(keys)  # every planted entry recomputed
    assert all(files.load_cached(k, cache) is not None for k in keys)  # and replaced


def test_case2_a_forged_entry_with_an_unknown_grade_is_recomputed_not_published(tmp_path, monkeypatch):
    cfg, todo, keys = _quick_keys()
    cache = tmp_path / "cache"
    for task, key in zip(todo, keys):  # well-formed, with a digest that matches: only the content is wrong
        files.store_cached(key, _fake_chunk(task, "FORGED"), cache)
    calls = []
    monkeypatch.setattr(sweep, "compute_chunk", lambda t: calls.append(t) or _fake_chunk(t))
    with ThreadPoolExecutor(1) as pool:
        sweep.run(cfg, data_dir=tmp_path / "data", cache_dir=cache, executor=pool)
    from analysis.store.tables import read_sweep

    values, _ = read_sweep(tmp_path / "data" / "sweep.parquet")["grade"]
    assert len(calls) == len(keys) and list(values) == ["exact"]


def test_case2_an_entry_of_another_task_is_not_used(tmp_path):
    cfg, todo, keys = _quick_keys()
    files.store_cached(keys[0], _fake_chunk(todo[1]), tmp_path)
    assert files.load_cached(keys[0], tmp_path) is not None  # well-formed
    check = lambda chunk: sweep.check_chunk(todo[0], chunk)  # noqa: E731
    assert files.load_cached(keys[0], tmp_path, check=check) is None  # but not this task's


def test_case2_entries_are_data_and_round_trip():
    from markupsafe import Markup

    from analysis.report.values import Value

    value = {("a", 1): [np.arange(3.0), "ok", None, True], "m": Markup("<b>x</b>"), "v": Value("1", "1.0"),
             "x": (float("inf"), float("nan"), np.float32(0.5))}  # fmt: skip
    back = files.read_cache_entry("k", files.cache_entry("k", value))
    assert back[("a", 1)][1:] == ["ok", None, True] and back[("a", 1)][0].tolist() == [0.0, 1.0, 2.0]
    assert isinstance(back["m"], Markup) and back["v"] == Value("1", "1.0")
    assert back["x"][0] == np.inf and np.isnan(back["x"][1]) and back["x"][2] == 0.5
    with pytest.raises(TypeError):
        files.cache_entry("k", {"f": object()})
    with pytest.raises(files.CacheEntryError):  # the key is part of the entry
        files.read_cache_entry("other", files.cache_entry("k", value))


def test_case2_workers_send_plain_bytes_checked_like_the_cache(monkeypatch):
    cfg, todo, keys = _quick_keys()
    monkeypatch.setattr(sweep, "compute_chunk", _fake_chunk)
    blob = sweep.chunk_entry(todo[0], keys[0])
    assert isinstance(blob, bytes)
    chunk = sweep.chunk_from_entry(todo[0], keys[0], blob)
    assert list(chunk) == list(_fake_chunk(todo[0]))
    forged = files.cache_entry(keys[0], _fake_chunk(todo[0], "FORGED"))
    with pytest.raises(RuntimeError, match="malformed chunk"):
        sweep.chunk_from_entry(todo[0], keys[0], forged)
    with pytest.raises(RuntimeError, match="malformed chunk"):
        sweep.chunk_from_entry(todo[0], keys[0], pickle.dumps(_fake_chunk(todo[0])))


# --- case 3: the data folder ----------------------------------------------------------------


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_case3_only_temporaries_of_processes_that_are_gone_are_removed(tmp_path):
    dead = _dead_pid()
    (tmp_path / "tables").mkdir()
    user = tmp_path / ".notes.txt.tmp"
    live = tmp_path / f".sweep.parquet.{os.getpid()}.abcd1234.tmp"
    stale = [tmp_path / f".sweep.parquet.{dead}.abcd1234.tmp", tmp_path / "tables" / f".t.npz.{dead}.x_y12345.tmp",
             tmp_path / f".softmax_study.html.{dead}.zzzzzzzz.tmp"]  # fmt: skip
    for path in (user, live, *stale):
        path.write_text("x")
    assert sorted(folder.clean_temporaries(tmp_path)) == sorted(stale)
    assert user.exists() and live.exists()


def test_case3_a_killed_reports_temporary_is_removed_by_the_next_report(tmp_path, capsys):
    out = tmp_path / "site" / "softmax_study.html"
    out.parent.mkdir()
    dead = _dead_pid()
    stale = out.parent / f".softmax_study.html.{dead}.abcdefgh.tmp"
    (out.parent / "sub").mkdir()
    others = [out.parent / f".other.html.{dead}.abcdefgh.tmp", out.parent / "sub" / stale.name]
    for path in (stale, *others):
        path.write_bytes(b"x" * 1000)
    pipeline.report_main(["--no-sweep", "--data-dir", str(tmp_path / "absent"), "--out", str(out)])
    assert not stale.exists()
    assert all(p.exists() for p in others)  # the report's folder may be anyone's: only its own file's


def _fake_writer(version: str):
    """Every artifact of the registry written through the real store (record)."""

    def write_all(cfg, config_path, out, executor, progress):
        top = {"config": cfg.as_dict(), "config_hash": cfg.hash, "seed": cfg.seed, "versions": {}, "numpy_simd": {},
               "command": "test"}  # fmt: skip
        for artifact in registry.ARTIFACTS:
            settings = cfg.as_dict() if artifact.name in ("sweep", "bounds") else {"quick": cfg.quick}
            key = f"{version}-{artifact.name}"
            if store_manifest.up_to_date(out, artifact.name, key):
                continue
            data = {f: f"{version} {f}\n".encode() for f in artifact.files}
            top_ = top if artifact.name == "sweep" else None
            store_manifest.record(out, artifact.name, key, settings, data, top=top_)

    return write_all


@pytest.fixture
def old_and_new(tmp_path, monkeypatch):
    """A folder with the complete old set, and the new set as a clean run writes it."""
    cfg = config.load(quick=True)
    sets = {}
    for version in ("old", "new"):
        monkeypatch.setattr(pipeline, "_write_all", _fake_writer(version))
        pipeline.write_study(cfg, data_dir=tmp_path / version)
        sets[version] = snapshot(tmp_path / version)
    assert sets["old"].keys() == sets["new"].keys() and sets["old"] != sets["new"]
    return cfg, tmp_path / "old", sets


def _writes():
    """The import sites of the atomic writer."""
    return [(files, "atomic_write"), (store_manifest, "atomic_write"), (pipeline, "atomic_write")]


def _count_writes(cfg, data, monkeypatch):
    real, calls = files.atomic_write, []

    def counting(path, data_):
        calls.append(Path(path).name)
        real(path, data_)

    for module, name in _writes():
        monkeypatch.setattr(module, name, counting)
    pipeline.write_study(cfg, data_dir=data)
    monkeypatch.undo()
    return calls


@pytest.mark.parametrize("after", [False, True], ids=["before-the-write", "after-the-write"])
def test_case3_an_interrupt_at_every_write_leaves_the_old_set_or_the_new(old_and_new, tmp_path, monkeypatch, after):
    cfg, old, sets = old_and_new
    probe = tmp_path / "probe"
    shutil.copytree(old, probe)
    monkeypatch.setattr(pipeline, "_write_all", _fake_writer("new"))
    writes = _count_writes(cfg, probe, monkeypatch)
    assert len(writes) >= 20 and "COMMIT" in writes and writes.count("manifest.json") >= 10, writes
    real = files.atomic_write
    outcomes = []
    for k in range(len(writes)):
        data = tmp_path / f"run{k}"
        shutil.copytree(old, data)
        count = [0]

        def interrupting(path, data_, k=k, count=count):
            count[0] += 1
            if count[0] == k + 1 and not after:
                raise KeyboardInterrupt
            real(path, data_)
            if count[0] == k + 1:
                raise KeyboardInterrupt

        with monkeypatch.context() as mp:
            mp.setattr(pipeline, "_write_all", _fake_writer("new"))
            for module, name in _writes():
                mp.setattr(module, name, interrupting)
            with pytest.raises(folder.Interrupted) as caught:
                pipeline.write_study(cfg, data_dir=data)
        expected = "new" if caught.value.committed else "old"
        assert snapshot(data) == sets[expected], (k, writes[k])
        assert [p.name for p in data.iterdir() if p.name.startswith(".") and p.name != ".lock"] == [], k
        outcomes.append(expected)
    assert outcomes.count("old") == len(writes)  # a write is never after the commit; SIGINT waits (next test)


@pytest.mark.skipif(not MAIN_THREAD, reason="signals are delivered to the main thread")
def test_case3_ctrl_c_during_the_final_renames_waits_and_says_the_new_set_is_complete(old_and_new, monkeypatch):
    cfg, old, sets = old_and_new
    real = folder._finish

    def finish_with_sigint(*args):
        os.kill(os.getpid(), signal.SIGINT)  # arrives during the renames
        time.sleep(0.05)
        return real(*args)

    monkeypatch.setattr(folder, "_finish", finish_with_sigint)
    monkeypatch.setattr(pipeline, "_write_all", _fake_writer("new"))
    with pytest.raises(folder.Interrupted) as caught:
        pipeline.write_study(cfg, data_dir=old)
    assert caught.value.committed and snapshot(old) == sets["new"]


class Killed(BaseException):
    """SIGKILL: nothing after it runs."""


def test_case3_a_kill_during_the_final_renames_is_completed_by_the_next_run(old_and_new, tmp_path, monkeypatch):
    cfg, old, sets = old_and_new
    real_replace = os.replace
    for k in range(len(sets["new"])):  # every file changed: one rename each, the manifest last
        data = tmp_path / f"kill{k}"
        shutil.copytree(old, data)
        count = [0]

        def replace(src, dst, k=k, count=count):
            if Path(src).parent.name.startswith(".staging.") and Path(dst).parent != Path(src).parent:
                count[0] += 1
                if count[0] == k + 1:
                    raise Killed
            real_replace(src, dst)

        with monkeypatch.context() as mp:
            mp.setattr(pipeline, "_write_all", _fake_writer("new"))
            mp.setattr(folder.os, "replace", replace)
            with pytest.raises(Killed):
                pipeline.write_study(cfg, data_dir=data)
        pipeline.check_inputs(data)  # what the next report (or run) does first
        assert snapshot(data) == sets["new"], k
        assert not list(data.glob(".staging.*"))


def test_case3_a_kill_before_the_commit_mark_is_dropped_by_the_next_run(old_and_new, monkeypatch):
    cfg, old, sets = old_and_new
    staging = old / ".staging.999999999"
    staging.mkdir()
    (staging / "sweep.parquet").write_bytes(b"half-done")
    pipeline.check_inputs(old)
    assert not staging.exists() and snapshot(old) == sets["old"]


@pytest.mark.skipif(not MAIN_THREAD, reason="signals are delivered to the main thread")
def test_case3_a_sigint_after_the_sweeps_last_check_is_not_dropped():
    with pytest.raises(KeyboardInterrupt):
        with sweep._stop_requests():
            os.kill(os.getpid(), signal.SIGINT)  # e.g. during a slow fsync of the last write
            time.sleep(0.05)


def test_case3_a_second_writer_waits_and_says_who_holds_the_lock(tmp_path):
    data = tmp_path / "data"
    said, order = [], []
    with folder.locked(data):

        def second():
            with folder.locked(data, say=said.append):
                order.append("second")

        thread = threading.Thread(target=second)
        thread.start()
        time.sleep(0.3)
        order.append("first done")
    thread.join(10)
    assert order == ["first done", "second"]
    assert said == [f"waiting: {data} is being written by pid {os.getpid()}"]


def test_case3_two_concurrent_quick_runs(tmp_path):
    """Two `sweep --quick` into one folder, started together: one writes,
    the other waits for the lock, then finds everything up to date."""
    data = tmp_path / "data"
    env = {**os.environ, "SOFTMAX_STUDY_CACHE": str(tmp_path / "cache"), "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "analysis", "sweep", "--quick", "--data-dir", str(data)]
    runs = [subprocess.Popen(command, env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for _ in range(2)]  # fmt: skip
    results = [run.communicate(timeout=1200) for run in runs]
    assert [run.returncode for run in runs] == [0, 0], results
    outs = sorted(out for out, _ in results)
    assert outs[0].startswith("nothing to do") and outs[1].startswith("wrote "), outs
    assert any("waiting:" in err and "being written by pid" in err for _, err in results), results
    manifest = store_manifest.read(data)
    assert sorted(manifest["checksums"]) == sorted(f for a in registry.ARTIFACTS for f in a.files)
    for name, digest in manifest["checksums"].items():
        assert files.sha256_file(data / name) == digest, name
    assert [p.name for p in data.iterdir() if p.name.startswith(".")] == [".lock"]
    assert pipeline.report_main(["--no-sweep", "--data-dir", str(data), "--out", str(tmp_path / "r.html")]) == 0


def test_case3_the_manifest_stamps_every_artifact_with_the_config_hash(old_and_new):
    cfg, old, _ = old_and_new
    manifest = store_manifest.read(old)
    assert {e["config_hash"] for e in manifest["artifacts"].values()} == {cfg.hash}
    assert sorted(manifest["checksums"]) == sorted(snapshot(old).keys() - {"manifest.json"})


def test_case3_report_refuses_files_of_another_seed_naming_them(old_and_new, tmp_path, capsys):
    cfg, old, _ = old_and_new
    manifest = store_manifest.read(old)
    other = {**cfg.as_dict(), "seed": 7}
    manifest["artifacts"]["bounds"]["settings"] = other
    del manifest["artifacts"]["bounds"]["config_hash"]
    (old / "manifest.json").write_bytes(files.json_bytes(manifest))
    code = pipeline.report_main(["--no-sweep", "--data-dir", str(old), "--out", str(tmp_path / "r.html")])
    line = one_line(capsys.readouterr().err)
    assert code == 2 and "bounds.json" in line and "seed 7" in line, line
    assert not (tmp_path / "r.html").exists()


def test_case3_report_refuses_files_of_another_config_hash(old_and_new, tmp_path, capsys):
    cfg, old, _ = old_and_new
    manifest = store_manifest.read(old)
    manifest["artifacts"]["methods_real"]["config_hash"] = "0" * 64
    (old / "manifest.json").write_bytes(files.json_bytes(manifest))
    code = pipeline.report_main(["--no-sweep", "--data-dir", str(old), "--out", str(tmp_path / "r.html")])
    line = one_line(capsys.readouterr().err)
    assert code == 2 and "methods_real.json" in line, line


@pytest.mark.parametrize("name", ["methods_real.json", "logsoftmax.json"])
def test_case3_an_edited_file_is_refused_by_its_checksum(old_and_new, tmp_path, capsys, name):
    cfg, old, _ = old_and_new
    (old / name).write_text("edited, key kept\n")
    code = pipeline.report_main(["--no-sweep", "--data-dir", str(old), "--out", str(tmp_path / "r.html")])
    line = one_line(capsys.readouterr().err)
    assert code == 1 and name in line and "checksum" in line, line


# --- case 4: validation -------------------------------------------------------------------


@pytest.mark.parametrize(
    "edit, quick, word",
    [
        (lambda t: t.replace("[quick]\nlengths = [2, 10]", "[quick]\nlengths = [-5, 10]"), True, "lengths"),
        (lambda t: t.replace("gap_decades = [-2.0, 3.0]", "gap_decades = [nan, 3.0]"), False, "gap_decades"),
        (lambda t: t.replace("scale_decades = [-3.0, 5.0]", "scale_decades = [-3.0, inf]"), False, "scale_decades"),
        (lambda t: t.replace("lengths = [2, 10, 100, 1000]", "lengths = [1, 2]"), False, "lengths"),
    ],
    ids=["quick-override", "nan", "inf", "n=1"],
)  # fmt: skip
def test_case4_the_effective_config_is_validated(tmp_path, capsys, edit, quick, word):
    path = study_file(tmp_path, edit)
    argv = ["sweep", "--config", str(path), "--data-dir", str(tmp_path / "data")] + (["--quick"] if quick else [])
    code = cli.main(argv)
    line = one_line(capsys.readouterr().err)
    assert code == 2 and word in line and not (tmp_path / "data").exists(), line


@pytest.mark.parametrize("command", ["sweep", "report"])
def test_case4_an_empty_data_dir_is_refused(tmp_path, command):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    argv = [sys.executable, "-m", "analysis", command, "--data-dir", ""]
    done = subprocess.run(argv, cwd=tmp_path, env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 2 and "--data-dir: must not be empty" in done.stderr
    assert list(tmp_path.iterdir()) == []


# --- case 5: command line and API messages --------------------------------------------------


def test_case5_report_with_a_bad_config_exits_2_with_one_line(tmp_path, capsys):
    path = study_file(tmp_path, lambda t: t.replace("seed = 20261125", "seed = 'x'", 1))
    argv = ["--config", str(path), "--data-dir", str(tmp_path / "d"), "--out", str(tmp_path / "r")]
    code = pipeline.report_main(argv)
    line = one_line(capsys.readouterr().err)
    assert code == 2 and "seed" in line and "report build failed" not in line, line


def test_case5_ctrl_c_in_report_is_one_line_and_130(old_and_new, tmp_path, capsys, monkeypatch):
    cfg, old, _ = old_and_new

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    import analysis.report as report

    monkeypatch.setattr(report, "build", interrupted)
    code = pipeline.report_main(["--no-sweep", "--data-dir", str(old), "--out", str(tmp_path / "r.html")])
    line = one_line(capsys.readouterr().err)
    assert code == 130 and line.startswith("interrupted:") and "unchanged" in line


def test_case5_debug_prints_the_traceback_otherwise_one_line(old_and_new, tmp_path, capsys, monkeypatch):
    cfg, old, _ = old_and_new
    import analysis.report as report

    monkeypatch.setattr(report, "build", lambda *a, **k: 1 / 0)
    argv = ["--no-sweep", "--data-dir", str(old), "--out", str(tmp_path / "r.html")]
    assert pipeline.report_main(argv) == 1
    assert "ZeroDivisionError" in one_line(capsys.readouterr().err)
    assert pipeline.report_main(argv + ["--debug"]) == 1
    assert "Traceback" in capsys.readouterr().err


def test_case5_missing_bhh2021_points_is_one_line(old_and_new, tmp_path, capsys):
    cfg, old, _ = old_and_new
    (old / "bhh2021_points.json").unlink()
    code = pipeline.report_main(["--no-sweep", "--data-dir", str(old), "--out", str(tmp_path / "r.html")])
    line = one_line(capsys.readouterr().err)
    assert code == 1 and "bhh2021_points.json" in line and "missing" in line, line


@pytest.mark.parametrize(
    "z, axis, error, message",
    [(np.zeros(3), None, TypeError, "axis must be an integer"), (np.zeros((2, 3)), 2, ValueError, "axis 2"),
     (np.zeros(3, ">f8"), -1, None, None)],
    ids=["axis-None", "axis-out-of-range", "big-endian"],
)  # fmt: skip
def test_case5_api_messages(z, axis, error, message):
    """(also in test_api_contracts) the API names a bad axis, and takes big-endian input."""
    for function in (sm.softmax_shifted, reference.softmax, fastref.max_approx_error):
        if error is None:
            np.testing.assert_array_equal(function(z, axis=axis), function(z.astype("<f8"), axis=axis))
            continue
        with pytest.raises(error, match=message):
            function(z, axis=axis)


def test_case5_a_read_only_cache_warns_once_and_the_sweep_goes_on(tmp_path, monkeypatch, capsys):
    cfg, todo, keys = _quick_keys()
    blocked = tmp_path / "cache-is-a-file"
    blocked.write_text("not a folder")
    monkeypatch.setattr(sweep, "compute_chunk", _fake_chunk)
    with ThreadPoolExecutor(1) as pool:
        sweep.run(cfg, data_dir=tmp_path / "data", cache_dir=blocked, executor=pool)
    assert (tmp_path / "data" / "sweep.parquet").is_file()
    assert one_line(capsys.readouterr().err).startswith("warning: cache not written")


def test_case5_a_config_with_a_bom_is_read(tmp_path):
    path = tmp_path / "bom.toml"
    path.write_bytes(b"\xef\xbb\xbf" + config.DEFAULT_CONFIG.read_bytes())
    assert config.load(path).hash == config.load().hash


def test_case5_an_up_to_date_run_says_nothing_changed(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(pipeline, "_write_all", _fake_writer("v"))
    data = tmp_path / "data"
    assert cli.main(["sweep", "--quick", "--data-dir", str(data)]) == 0
    assert capsys.readouterr().out.startswith("wrote ")
    before = {p.name: p.stat().st_mtime_ns for p in data.iterdir()}
    assert cli.main(["sweep", "--quick", "--data-dir", str(data)]) == 0
    assert capsys.readouterr().out.startswith("nothing to do")
    assert {p.name: p.stat().st_mtime_ns for p in data.iterdir() if p.name != ".lock"} == {
        k: v for k, v in before.items() if k != ".lock"
    }


def test_case5_interrupted_sweep_says_which_set_the_folder_holds(old_and_new, monkeypatch, capsys):
    cfg, old, sets = old_and_new

    def interrupted(*args):
        raise KeyboardInterrupt

    monkeypatch.setattr(pipeline, "_write_all", interrupted)
    monkeypatch.setattr(cli, "_leave_if_interrupted", lambda code: code)  # not os._exit in the test
    assert cli.main(["sweep", "--quick", "--data-dir", str(old)]) == 130
    line = one_line(capsys.readouterr().err)
    assert "holds the earlier outputs, unchanged" in line and snapshot(old) == sets["old"]


def test_case2_a_flipped_bit_anywhere_in_an_entry_never_gives_another_value():
    """Every byte of a small entry, one bit flipped at a time: the entry is
    refused, or (a byte the format does not read, e.g. a zip timestamp) read
    as exactly the value written; never a different value."""
    value = {
        ("two_level", "softmax", "naive", "float16", 2): {"max_ulp": np.array([1.0, 2.5]), "status": ["ok", "nan"]}
    }
    blob = files.cache_entry("k", value)
    refused = 0
    for i in range(len(blob)):
        damaged = bytearray(blob)
        damaged[i] ^= 0x10
        try:
            back = files.read_cache_entry("k", bytes(damaged))
        except Exception:  # noqa: BLE001 -- any refusal
            refused += 1
            continue
        block = back[next(iter(value))]
        assert block["status"] == ["ok", "nan"] and block["max_ulp"].tolist() == [1.0, 2.5], i
    assert refused > len(blob) // 2
