"""The sweep engine: config validation, reproducibility, cache, thresholds."""

import hashlib
import json
import math
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from analysis import config, families, reference, sweep
from analysis.formats import FORMATS
from analysis.metrics import FAILURES, grade, judged_by_ulps, ulp_distance
from analysis.store.files import atomic_write
from analysis.studies import thresholds

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    """One quick sweep shared by the tests of this module."""
    base = tmp_path_factory.mktemp("quick")
    cfg = config.load(quick=True)
    sweep.run(cfg, data_dir=base / "data", cache_dir=base / "cache")
    return cfg, base


def read_rows(path):
    return pq.read_table(path).to_pylist()


def test_outputs_exist_with_columns(quick_run):
    cfg, base = quick_run
    rows = read_rows(base / "data" / "sweep.parquet")
    assert list(rows[0]) == list(sweep.COLUMNS)
    assert {r["family"] for r in rows} == {"two_level", "scaled_normal"}
    assert {r["dtype"] for r in rows} == set(cfg.dtypes)
    manifest = json.loads((base / "data" / "manifest.json").read_text())
    for name in ("sweep.parquet", "thresholds.json"):
        assert manifest["checksums"][name] == hashlib.sha256((base / "data" / name).read_bytes()).hexdigest()
    assert manifest["config_hash"] == cfg.hash and manifest["seed"] == cfg.seed
    assert manifest["numpy_simd"]["enabled"]


def rebuild(row):
    dtype = FORMATS[row["dtype"]].dtype
    n = int(row["n"])
    if row["family"] == "two_level":
        return families.two_level(float(row["offset"]), float(row["gap"]), n, dtype)
    seed = config.load(quick=True).seed
    return families.scaled_normal(float(row["scale"]), seed, n, int(row["draw"]), dtype)


def test_rows_rebuild_from_their_parameters(quick_run):
    """A sample of rows recomputed independently of the sweep's code path:
    the vector from its float64 parameters, the truth per row, then grade
    and ULP numbers (log outputs: over the components measured in ULPs)."""
    _, base = quick_run
    rows = read_rows(base / "data" / "sweep.parquet")
    rng = np.random.default_rng(4)
    truth_of = {"softmax": reference.softmax, "logsumexp": reference.logsumexp, "log_softmax": reference.log_softmax}
    for i in rng.choice(len(rows), 150, replace=False):
        row = rows[i]
        z = rebuild(row)
        f = sweep.IMPLEMENTATIONS[row["function"], row["method"]]
        computed = np.atleast_1d(f(z))
        truth = np.atleast_1d(truth_of[row["function"]](z))
        log_domain = row["function"] != "softmax"
        assert grade(computed, truth, log_domain=log_domain) == row["grade"], row
        ulps = ulp_distance(computed, truth)
        ulps = ulps[judged_by_ulps(computed, truth, log_domain)]
        if row["grade"] not in FAILURES and ulps.size:
            assert float(row["max_ulp"]) == ulps.max()
            assert float(row["median_ulp"]) == np.median(ulps)
            assert float(row["max_bits"]) == math.log2(1 + ulps.max())
        else:
            assert row["max_ulp"] is None, row


def test_the_table_is_typed_and_the_report_reads_it_back_exactly(quick_run):
    """sweep.parquet: text as dictionaries, n as int64, the errors as float64
    with null where not applicable; the report's reader gives the same
    values as pyarrow's rows (null -> NaN, text -> codes into sorted values)."""
    from analysis.report import bundle

    _, base = quick_run
    path = base / "data" / "sweep.parquet"
    schema = pq.read_schema(path)
    assert pa.types.is_dictionary(schema.field("method").type) and schema.field("n").type == pa.int64()
    assert schema.field("max_bits").type == pa.float64() and schema.field("sums_to_one").type == pa.bool_()
    rows = read_rows(path)
    table = bundle.load_sweep(path)
    assert list(table) == list(sweep.COLUMNS)
    for name in ("family", "method", "dtype", "grade"):
        assert table[name].tolist() == [r[name] for r in rows], name
    for name in ("offset", "gap", "max_ulp", "rel_error"):
        expected = np.array([np.nan if r[name] is None else r[name] for r in rows])
        np.testing.assert_array_equal(table[name], expected, err_msg=name)
    assert table["n"].dtype == np.int64 and table["n"].tolist() == [r["n"] for r in rows]


def test_same_config_twice_is_byte_identical(quick_run, tmp_path):
    cfg, base = quick_run
    # A fresh cache: everything is recomputed, and must come out the same.
    sweep.run(cfg, data_dir=tmp_path / "data", cache_dir=tmp_path / "cache")
    for name in ("sweep.parquet", "thresholds.json", "manifest.json"):
        assert (tmp_path / "data" / name).read_bytes() == (base / "data" / name).read_bytes(), name


def _first_array_byte(path):
    """The offset in a cache entry (an .npz: a zip of .npy files, stored) of
    the first data byte of its largest array."""
    import zipfile

    with zipfile.ZipFile(path) as archive:
        info = max((i for i in archive.infolist() if i.filename != "header.npy"), key=lambda i: i.file_size)
    raw = Path(path).read_bytes()
    local = info.header_offset  # zip local header: 30 bytes, the name, the extra field
    start = local + 30 + int.from_bytes(raw[local + 26 : local + 28], "little")
    start += int.from_bytes(raw[local + 28 : local + 30], "little")
    return start + 10 + int.from_bytes(raw[start + 8 : start + 10], "little")  # .npy 1.0: magic, version, header


def test_warm_run_uses_cache_and_corrupt_entries_are_recomputed(quick_run, tmp_path, monkeypatch):
    cfg, base = quick_run
    cache = base / "cache"
    calls = []
    monkeypatch.setattr(sweep, "compute_chunk", lambda t: calls.append(t) or {})
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as pool:
        sweep.run(cfg, data_dir=tmp_path / "warm", cache_dir=cache, executor=pool)
    assert calls == []  # nothing recomputed
    assert (tmp_path / "warm" / "sweep.parquet").read_bytes() == (base / "data" / "sweep.parquet").read_bytes()
    # Truncate one entry and change the content of another: both recomputed.
    entries = sorted(cache.glob("*.npz"))
    entries[0].write_bytes(entries[0].read_bytes()[:100])
    blob = bytearray(entries[1].read_bytes())
    blob[_first_array_byte(entries[1])] ^= 1  # one flipped bit in the payload
    entries[1].write_bytes(bytes(blob))
    assert sweep.load_cached(entries[0].stem, cache) is None
    assert sweep.load_cached(entries[1].stem, cache) is None
    monkeypatch.undo()
    with ThreadPoolExecutor(1) as pool:
        sweep.run(cfg, data_dir=tmp_path / "repaired", cache_dir=cache, executor=pool)
    assert (tmp_path / "repaired" / "sweep.parquet").read_bytes() == (base / "data" / "sweep.parquet").read_bytes()
    assert sweep.load_cached(entries[0].stem, cache) is not None  # rewritten


def test_unchanged_outputs_are_not_rewritten_but_damaged_ones_are(quick_run, tmp_path):
    cfg, base = quick_run
    data = tmp_path / "data"
    sweep.run(cfg, data_dir=data, cache_dir=base / "cache")
    before = {p.name: p.stat().st_mtime_ns for p in data.iterdir()}
    sweep.run(cfg, data_dir=data, cache_dir=base / "cache")
    assert {p.name: p.stat().st_mtime_ns for p in data.iterdir()} == before
    (data / "sweep.parquet").write_text("damaged\n")
    sweep.run(cfg, data_dir=data, cache_dir=base / "cache")
    assert (data / "sweep.parquet").read_bytes() == (base / "data" / "sweep.parquet").read_bytes()


def test_shifted_never_non_finite_on_default_grid():
    """On the default two_level grid (every offset and gap, every n), the
    shifted methods return no inf/NaN for finite input -- except in
    float8_e4m3fn, which has no -inf: there z_j - max z itself overflows to
    NaN once the spread exceeds max + ulp(max)/2 = 464, and only then."""
    cfg = config.load()
    offsets = families.offsets(cfg.offset_decades, cfg.offset_points, cfg.threshold_factors)
    gaps = families.gaps(cfg.gap_decades, cfg.gap_points, cfg.threshold_factors)
    c, g = np.meshgrid(offsets, gaps)
    for dtype in cfg.dtypes:
        fmt = FORMATS[dtype]
        for n in cfg.lengths:
            z = families.two_level(c.ravel(), g.ravel(), n, fmt.dtype)
            z = z[np.all(np.isfinite(z), axis=-1)]
            zf = z.astype(np.float64)
            spread = zf.max(axis=-1) - zf.min(axis=-1)
            ulp_max = 2.0 ** (fmt.emax - fmt.precision + 1)
            shift_overflows = spread > fmt.max + ulp_max / 2 if not fmt.has_inf else np.zeros(len(z), bool)
            for function in cfg.functions:
                out = sweep.IMPLEMENTATIONS[function, "shifted"](z)
                finite = np.isfinite(out.astype(np.float64))
                finite = finite.all(axis=-1) if finite.ndim == 2 else finite
                np.testing.assert_array_equal(finite, ~shift_overflows, err_msg=f"{dtype} {n} {function}")


def test_each_threshold_is_where_its_event_starts(quick_run):
    """At the observed offset the event has happened, one value nearer 0 it
    has not: the output fails (lost, inf or NaN) for "lost", is inf or NaN
    for the two nonfinite kinds."""
    _, base = quick_run
    records = json.loads((base / "data" / "thresholds.json").read_text())
    assert {r["kind"] for r in records} == set(thresholds.KINDS)
    for r in records:
        if r["observed"] is None or r["kind"] == "sum_overflow" or r["observed"] == 0:
            continue
        fmt = FORMATS[r["dtype"]]
        failing = FAILURES if r["kind"] == "lost" else ("inf", "nan")
        at = np.array(r["observed"], fmt.dtype)
        nearer = float(np.nextafter(at, np.array(0, fmt.dtype)))
        assert thresholds.graded(r["function"], r["method"], fmt, r["n"], "recursive", float(at)) in failing, r
        assert thresholds.graded(r["function"], r["method"], fmt, r["n"], "recursive", nearer) not in failing, r


def test_observed_thresholds_agree_with_predicted(quick_run):
    """Observed vs predicted, within the rounding that explains a difference:
    where a sum of n terms overflows moves by at most ln(1 + gamma_{n-1}) +
    the exp's own error (Higham 2002, eq. 4.4) plus one ulp of c for the
    rounding of c to the format; where every exp underflows by one ulp (the
    exp's rounding at the boundary)."""
    _, base = quick_run
    records = json.loads((base / "data" / "thresholds.json").read_text())
    for r in records:
        fmt = FORMATS[r["dtype"]]
        if r["predicted"] is None or r["observed"] is None:
            assert r["predicted"] is None and r["observed"] is None, r
            continue
        if r["kind"] != "nonfinite_below":
            u = fmt.unit_roundoff
            tolerance = math.log1p(thresholds.gamma(r["n"] - 1, u) + 4 * u)
            tolerance += float(np.spacing(np.array(r["predicted"], fmt.dtype)))
            assert abs(r["observed"] - r["predicted"]) <= tolerance, r
        else:
            steps = ulp_distance(np.array(r["observed"], fmt.dtype), np.array(r["predicted"], fmt.dtype))
            assert steps <= 1, r


BAD_CONFIGS = {
    "unknown key": ("gap_points = 60", "gap_points = 60\ngap_pionts = 3", "two_level.gap_pionts"),
    "wrong type": ("gap_points = 60", 'gap_points = "sixty"', "two_level.gap_points"),
    "empty grid": ('lengths = [2, 10, 100, 1000]', "lengths = []", "study.lengths"),
    "non-monotone grid": ('lengths = [2, 10, 100, 1000]', "lengths = [2, 100, 10]", "study.lengths"),
    "unsupported dtype": (
        'dtypes = ["float64", "float32", "float16", "bfloat16", "float8_e4m3fn", "float8_e5m2"]',
        'dtypes = ["float64", "int8"]',
        "study.dtypes",
    ),
    "unknown method": ('"shifted_pairwise", "shifted_fp32"]', '"shifted_fp32", "kahan"]', "comparison.extra_methods"),
    "method twice": (
        'methods = ["naive", "shifted"]', 'methods = ["naive", "shifted", "log1p"]', "comparison.extra_methods"
    ),
    "bad decades": ("gap_decades = [-2.0, 3.0]", "gap_decades = [3.0, -2.0]", "two_level.gap_decades"),
    "unknown section": ("\n[quick]\n", "\n[quik]\n", "quik"),
    "not toml": ("\n[study]\n", "\n[study\n", "not valid TOML"),
}


@pytest.mark.parametrize("mistake", BAD_CONFIGS, ids=list(BAD_CONFIGS))
def test_bad_config_exits_2_naming_the_key_and_changes_nothing(mistake, tmp_path):
    old, new, key = BAD_CONFIGS[mistake]
    text = config.DEFAULT_CONFIG.read_text()
    assert old in text
    bad = tmp_path / "bad.toml"
    bad.write_text(text.replace(old, new, 1))
    data = tmp_path / "data"
    data.mkdir()
    (data / "sweep.parquet").write_text("previous results\n")
    result = subprocess.run(
        [sys.executable, "-m", "analysis", "sweep", "--config", str(bad), "--data-dir", str(data)],
        cwd=ROOT, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    assert result.returncode == 2, result.stderr
    message = result.stderr.strip()
    assert len(message.splitlines()) == 1 and key in message and str(bad) in message, message
    assert (data / "sweep.parquet").read_text() == "previous results\n"
    assert sorted(p.name for p in data.iterdir()) == ["sweep.parquet"]


def test_missing_config_file(tmp_path):
    with pytest.raises(config.ConfigError, match="file not found"):
        config.load(tmp_path / "nope.toml")


def test_atomic_write_leaves_old_file_on_failure(tmp_path, monkeypatch):
    target = tmp_path / "x.csv"
    target.write_text("old")

    def boom(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError):
        atomic_write(target, b"new")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["x.csv"]  # no temporary left behind


def _children(pid: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    return [int(x) for x in out.split()]


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return False


@pytest.mark.parametrize(
    "signal_name, target",
    [("SIGINT", "group"), ("SIGINT", "parent"), ("SIGTERM", "parent"), ("SIGKILL", "parent"), ("SIGKILL", "group")],
)
def test_interrupted_run_keeps_outputs_and_resumes(signal_name, target, quick_run, tmp_path):
    """Interrupt a quick sweep part-way (twice), then rerun: earlier outputs
    are untouched meanwhile, no worker outlives its parent, and the final
    outputs equal an uninterrupted run.  "group" is what Ctrl-C in a
    terminal does; "parent" is `kill PID` of the sweep alone."""
    import signal
    import time

    _, base = quick_run
    data = tmp_path / "data"
    data.mkdir()
    (data / "sweep.parquet").write_text("previous results\n")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "SOFTMAX_STUDY_CACHE": str(tmp_path / "cache")}
    command = [sys.executable, "-m", "analysis", "sweep", "--quick", "--data-dir", str(data)]
    interrupted = 0
    for delay in (1.0, 1.6):
        process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
        )
        time.sleep(delay)
        workers = _children(process.pid)
        sig = getattr(signal, signal_name)
        try:
            os.killpg(process.pid, sig) if target == "group" else process.send_signal(sig)
        except ProcessLookupError:
            pass
        process.wait(timeout=30)
        if process.returncode == 0:
            break  # finished before the signal: nothing to test on this round
        interrupted += 1
        # 130 when the sweep handled the signal; -2/-15/-9 when it came
        # during start-up, before the handlers exist: either way non-zero.
        assert process.returncode in (130, -2, -9, -15), process.returncode
        deadline = time.time() + 10
        while any(_alive(w) for w in workers) and time.time() < deadline:
            time.sleep(0.1)
        assert not any(_alive(w) for w in workers), "a worker outlived the sweep"
        # Never a partial file: the old content, or (a signal that came after
        # the writes) the complete new one.
        complete = (base / "data" / "sweep.parquet").read_bytes()
        assert (data / "sweep.parquet").read_bytes() in (b"previous results\n", complete)
    assert interrupted, "the sweep finished before any signal: the test tested nothing"
    subprocess.run(command, cwd=ROOT, env=env, check=True, capture_output=True)
    for name in ("sweep.parquet", "thresholds.json"):
        assert (data / name).read_bytes() == (base / "data" / name).read_bytes(), name
    assert [p.name for p in data.iterdir() if p.name.startswith(".")] == [".lock"]  # the lock (store.folder) only


@pytest.mark.parametrize("n", [100, 1000])
def test_overflow_thresholds_of_long_vectors(n):
    """The default grid's long vectors, where the rounded recursive sum moves
    the overflow point most (float16, n = 1000: 17 ulp of c).  The bound:
    the computed sum is n e^c (1 + theta), |theta| <= gamma_{n-1} + 2u (exp
    and its argument), so the threshold in c moves by at most
    ln(1 + gamma_{n-1} + 4u) + one spacing of c (Higham 2002, eq. 4.4)."""
    for dtype in config.load().dtypes:
        fmt = FORMATS[dtype]
        for function in ("logsumexp", "log_softmax"):
            obs = thresholds.observed(function, "naive", "nonfinite", fmt, n, "recursive")
            pred = thresholds.predicted(function, "naive", "nonfinite", fmt, n)
            u = fmt.unit_roundoff
            tolerance = math.log1p(thresholds.gamma(n - 1, u) + 4 * u) + float(np.spacing(np.array(pred, fmt.dtype)))
            assert abs(obs - pred) <= tolerance, (dtype, function, obs, pred)
            # and the failure sits where observed says: finite one step below
            f = sweep.IMPLEMENTATIONS[function, "naive"]
            below = float(np.nextafter(np.array(obs, fmt.dtype), np.array(0, fmt.dtype)))
            assert np.all(np.isfinite(f(families.two_level(below, 0.0, n, fmt.dtype))))
            assert not np.all(np.isfinite(f(families.two_level(obs, 0.0, n, fmt.dtype))))


@pytest.mark.parametrize(
    "section_text, replacement, message",
    [
        # [quick] overrides lengths: the value as written is still checked
        ("lengths = [2, 10, 100, 1000]", "lengths = [-5, 10]", "study.lengths: values must be positive"),
        ("gap_decades = [-2.0, 3.0]", "gap_decades = [nan, 3.0]", "two_level.gap_decades: values must be finite"),
        ("scale_decades = [-3.0, 5.0]", "scale_decades = [-3.0, inf]",
         "scaled_normal.scale_decades: values must be finite"),
        ("lengths = [2, 10, 100, 1000]", "lengths = [1, 2]", "study.lengths: lengths must be at least 2"),
        ("workers = 2", "workers = 100000", "study.workers: 100000 workers, but this machine has"),
    ],
)
def test_config_holes_are_closed_with_and_without_quick(tmp_path, section_text, replacement, message):
    text = config.DEFAULT_CONFIG.read_text()
    assert section_text in text
    path = tmp_path / "study.toml"
    path.write_text(text.replace(section_text, replacement, 1))
    for quick in (False, True):
        with pytest.raises(config.ConfigError, match=re.escape(message)):
            config.load(path, quick=quick)


def test_an_empty_data_dir_is_refused(tmp_path):
    command = [sys.executable, "-m", "analysis", "sweep", "--quick", "--data-dir", ""]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True)
    assert done.returncode == 2 and "--data-dir: must not be empty" in done.stderr
    assert list(tmp_path.iterdir()) == []


def test_row_medians_are_numpys_nanmedian():
    """The sweep's per-row median of the ulps and bits (NaN where a component
    is not measured in ulps) is numpy's nanmedian, value for value."""
    from analysis.studies.sweep import _row_nanmedian

    rng = np.random.default_rng(11)
    for trial in range(300):
        rows, width = int(rng.integers(1, 30)), int(rng.integers(1, 25))
        a = rng.choice([0.0, 1.0, 2.0, 3.0, 7.5, 1e6, 2.0**53, np.inf], (rows, width))
        a[rng.random((rows, width)) < 0.4] = np.nan
        a[:, int(rng.integers(width))] = rng.choice([0.0, 1.0, 4.0], rows)  # every row has a number
        np.testing.assert_array_equal(_row_nanmedian(a), np.nanmedian(a, axis=1), err_msg=str(trial))
