"""make bench and the Cost of stability section.

The bench test is a schema test: ``--quick`` runs tiny sizes and the test
checks the file's structure, never a speed.  The report tests use a
synthetic bench.json, so they do not depend on this machine's timings.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import pytest
from matplotlib.figure import Figure

from analysis import bench, bench_short, pipeline, report
from analysis.report import browser, bundle, compose
from analysis.report.sections import SECTIONS
from analysis.store.files import load_cached
from tests.test_report import EPOCH, write_fixture

REQUIRED = ("machine", "implementations", "report", "sweep", "ground_truth", "targets")


@pytest.fixture(scope="module")
def quick_bench(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench") / "bench.json"
    assert bench.main(["--quick", "--out", str(out)]) == 0
    return json.loads(out.read_text(encoding="utf-8"))


def test_quick_bench_writes_every_required_key(quick_bench):
    doc = quick_bench
    assert set(REQUIRED) <= set(doc)
    assert doc["quick"] is True
    machine = doc["machine"]
    for key in ("cpu_model", "logical_cores", "physical_cores", "numpy_simd", "blas", "threads", "python",
                "versions", "date", "load_average"):  # fmt: skip
        assert key in machine
    assert set(machine["threads"]) == set(bench.THREAD_VARIABLES)
    # Every registered softmax/logsumexp implementation, both summations where they apply, SciPy and the floor.
    seen = {(r["function"], r["method"], r["summation"], r["dtype"], r["n"]) for r in doc["implementations"]}
    for dtype in bench.DTYPES:
        for n in bench.QUICK["lengths"]:
            assert ("copy", "floor", "-", dtype, n) in seen
            for (function, method), implementation in report_implementations():
                summations = bench.SUMMATIONS if bench._takes_summation(implementation) else ("-",)
                for summation in summations:
                    assert (function, method, summation, dtype, n) in seen
            for function in bench.FUNCTIONS:
                assert (function, "scipy", "-", dtype, n) in seen
    for r in doc["implementations"]:
        s = r["seconds"]
        assert 0 < s["min"] <= s["q1"] <= s["median"] <= s["q3"] <= s["max"]
        assert s["repeats"] >= 7
        assert r["shape"][0] * r["shape"][1] == r["elements"] and r["shape"][1] == r["n"]
        assert r["vs_floor"] > 0
        if r["method"] == "naive":
            assert r["vs_naive"] == 1.0
    assert doc["report"]["cold_seconds"] > 0 and doc["report"]["warm_seconds"] > 0
    # The report a reader opens: its size, and its render time when Chromium is installed.
    page = doc["report"]["page"]
    assert page["bytes"] > 10_000
    if browser.CHROMIUM is not None:
        assert page["load_ms"] > 0 and page["screenshot_seconds"] > 0 and page["browser"]
    assert [s["grid"] for s in doc["sweep"]] == ["quick-n2", "quick"]
    assert doc["sweep"][0]["points"] < doc["sweep"][1]["points"]
    if doc["ground_truth"] is None:
        assert doc["ground_truth_missing"]
    else:
        truth = doc["ground_truth"]
        assert {"speedup", "fallback_rate", "disagreements", "elements"} <= set(truth)
        # General rows: every (dtype, n) of the quick sizes, checked against the proved path.
        cases = truth["general"]["cases"]
        assert {(c["dtype"], c["n"]) for c in cases} == {(d, n) for d in ("float32", "float64") for n in (10, 100)}
        for c in cases:
            assert c["disagreements"] == 0 and c["checked_elements"] == c["elements"]
            assert c["fast_elements_per_second"] > 0 and c["straightforward_elements_per_second"] > 0
            assert c["ratio"] == c["fast_elements_per_second"] / c["straightforward_elements_per_second"]
            assert 0 <= c["fallback_rate"] <= 1
        assert truth["long_row"]["disagreements"] == 0 and truth["long_row"]["seconds"] > 0
        assert truth["compile"] is None  # not measured under --quick


def report_implementations():
    from analysis.softmax import IMPLEMENTATIONS

    return [(k, f) for k, f in IMPLEMENTATIONS.items() if k[0] in bench.FUNCTIONS]


@pytest.mark.parametrize("argv", [["--nonsense"], ["--quick", "extra"], ["--out"]])
def test_bad_arguments_exit_2(argv, capsys):
    with pytest.raises(SystemExit) as exit_info:
        bench.main(argv)
    assert exit_info.value.code == 2
    assert "error" in capsys.readouterr().err


# --- the report's Cost of stability section -------------------------------------------------------


def synthetic_bench() -> dict:
    """A bench.json as `make bench` writes it, with made-up times."""
    records = []
    for dtype in ("float32", "float64"):
        for k, n in enumerate((10, 1000, 10**6)):
            base = {"dtype": dtype, "n": n, "shape": [10**6 // n, n], "elements": 10**6}
            for function, method, summation, ms in (
                ("copy", "floor", "-", 0.25), ("softmax", "naive", "numpy", 3.0), ("softmax", "shifted", "numpy", 3.5),
                ("softmax", "scipy", "-", 3.75), ("logsumexp", "naive", "numpy", 2.0),
                ("logsumexp", "shifted", "numpy", 2.5), ("logsumexp", "scipy", "-", 5.0),
            ):  # fmt: skip
                t = ms * (1 + k) / 1000
                seconds = {"median": t, "q1": t * 0.96875, "q3": t * 1.0625, "min": t * 0.9375, "max": t * 1.25,
                           "loops": 1, "repeats": 9}  # fmt: skip
                records.append({"function": function, "method": method, "summation": summation, **base,
                                "seconds": seconds})  # fmt: skip
    records = bench.add_ratios(records)
    return {
        "schema": 1,
        "quick": False,
        "machine": {"cpu_model": "Test CPU 9000", "logical_cores": 2, "physical_cores": 2, "platform": "Linux-test",
                    "numpy_simd": {}, "blas": {}, "threads": {"OMP_NUM_THREADS": "1"}, "python": "3.11.0",
                    "versions": {"numpy": "0.0-test"}, "date": "2026-11-25T19:00:00Z"},  # fmt: skip
        "implementations": records,
        "targets": bench.targets(records),
        "report": {"cold_seconds": 75.5, "warm_seconds": 3.25, "grid": "default"},
        "sweep": [{"grid": "quick", "points": 30036, "chunks": 16, "seconds": 1.5, "points_per_second": 20024.0},
                  {"grid": "default", "points": 600000, "chunks": 32, "seconds": 60.0,
                   "points_per_second": 10000.0}],  # fmt: skip
        "ground_truth": {"speedup": 64.5, "fallback_rate": 0.001953125, "disagreements": 0, "elements": 123456},
        "ground_truth_missing": None,
        "left_out": [{"function": f, "method": "online", "summation": "numpy", "dtype": "float32", "n": 10**6}
                     for f in ("softmax", "logsumexp")],  # fmt: skip
    }


def _build(data_dir, out, monkeypatch, cache):
    monkeypatch.setenv("SOFTMAX_STUDY_CACHE", str(cache))
    report.build(data_dir, out, environ={"SOURCE_DATE_EPOCH": EPOCH})
    return out.read_text(encoding="utf-8")


def _section(html: str) -> str:
    start = html.index('<section id="cost">')
    return html[start : html.index("</section>", start)]


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """Two cold builds shared by the tests below (each copies the cache
    before changing it): the fixture data without bench.json ("plain") and
    with a synthetic one ("bench"): {variant: (data, cache, html, payload)}."""
    out = {}
    for variant in ("plain", "bench"):
        base = tmp_path_factory.mktemp(variant)
        data = write_fixture(base / "data")
        payload = None
        if variant == "bench":
            payload = json.dumps(synthetic_bench()).encode()
            (data / "bench.json").write_bytes(payload)
        with pytest.MonkeyPatch.context() as monkeypatch:
            html = _build(data, base / "cold.html", monkeypatch, base / "cache")
        out[variant] = (data, base / "cache", html, payload)
    return out


def _copy_cache(built_variant, tmp_path):
    import shutil

    return Path(shutil.copytree(built_variant[1], tmp_path / "cache"))


def test_cost_section_says_bench_has_not_run_without_bench_json(built):
    html = built["plain"][2]
    section = _section(html)
    assert "<code>make bench</code> has not been run" in section
    assert "<svg" not in section and "<data" not in section
    assert 'href="#cost"' in html


def test_cost_section_from_bench_json(built):
    doc = synthetic_bench()
    _, _, html, payload = built["bench"]
    section = _section(html)
    assert "not from this report's build" in section
    assert "Test CPU 9000" in section and "2026-11-25T19:00:00Z" in section
    assert "numpy 0.0-test" in section  # differs from the sweep's numpy: said so
    assert 'id="fig-cost"' in section and "<svg" in section

    def value(key):
        return float(re.search(rf'<data value="([^"]+)" data-key="{re.escape(key)}"', section).group(1))

    target = next(t for t in doc["targets"] if t["summation"] == "numpy")
    assert value("cost/target/numpy/vs_naive") == target["vs_naive"]
    assert value("cost/target/numpy/vs_scipy") == target["vs_scipy"]
    # The made-up quartiles of shifted (3.39-3.72 ms) and SciPy (3.63-3.98 ms) overlap: said so.
    assert "does not resolve which is faster" in section
    assert value("cost/report/cold") == 75.5 and value("cost/report/warm") == 3.25
    assert value("cost/truth/speedup") == 64.5 and value("cost/truth/disagreements") == 0
    assert value("cost/truth/fallback_rate") == 0.001953125
    # The records make bench left out (bench.COLUMN_LOOPS) are named under the table.
    assert "Not timed: online (logsumexp, softmax) at n = " in section
    # The checksum of bench.json is recorded under Reproducibility.
    assert hashlib.sha256(payload).hexdigest() in html[html.index('<section id="reproducibility">') :]


def test_damaged_bench_json_fails_the_build_and_keeps_the_old_report(tmp_path, monkeypatch, capsys):
    data = write_fixture(tmp_path / "data")
    doc = synthetic_bench()
    del doc["machine"]
    (data / "bench.json").write_text(json.dumps(doc), encoding="utf-8")
    out = tmp_path / "r.html"
    out.write_text("previous", encoding="utf-8")
    monkeypatch.setenv("SOFTMAX_STUDY_CACHE", str(tmp_path / "cache"))
    assert pipeline.report_main(["--no-sweep", "--data-dir", str(data), "--out", str(out)]) == 1
    assert "bench.json" in capsys.readouterr().err
    assert out.read_text(encoding="utf-8") == "previous"


def test_warm_build_is_byte_identical_and_draws_nothing(built, tmp_path, monkeypatch):
    """Against the module's cold build of the same data (which drew every figure)."""
    data, _, cold, _ = built["bench"]
    cache = _copy_cache(built["bench"], tmp_path)
    assert len(list((cache / "sections").glob("*.npz"))) == len(SECTIONS)

    def no_drawing(*args, **kwargs):
        raise AssertionError("a warm build with unchanged data must not draw")

    monkeypatch.setattr(Figure, "savefig", no_drawing)
    monkeypatch.setattr(bundle, "load_sweep", no_drawing)  # nor read the sweep's table
    warm = _build(data, tmp_path / "warm.html", monkeypatch, cache)
    assert warm == cold


def test_a_damaged_section_cache_entry_is_recomputed(built, tmp_path, monkeypatch):
    data, _, cold, _ = built["plain"]
    cache = _copy_cache(built["plain"], tmp_path)
    entries = sorted((cache / "sections").glob("*.npz"))
    blob = bytearray(entries[0].read_bytes())
    blob[len(blob) // 2] ^= 1
    entries[0].write_bytes(bytes(blob))
    assert load_cached(entries[0].stem, cache / "sections") is None
    assert _build(data, tmp_path / "again.html", monkeypatch, cache) == cold
    assert load_cached(entries[0].stem, cache / "sections") is not None  # rewritten


def test_a_sections_cache_key_follows_the_artifacts_it_needs(tmp_path):
    """bench.json keys the Cost section's values, not the Key findings'."""
    data = write_fixture(tmp_path / "data")
    by_id = {s.id: s for s in SECTIONS}
    before = {i: compose.section_key(by_id[i], report.load(data)) for i in ("cost", "key-findings")}
    (data / "bench.json").write_text(json.dumps(synthetic_bench()), encoding="utf-8")
    after = {i: compose.section_key(by_id[i], report.load(data)) for i in ("cost", "key-findings")}
    assert after["cost"] != before["cost"] and after["key-findings"] == before["key-findings"]


# --- the in-place shifted softmax (a bench finding) is bit-identical to the formula ---------------


@pytest.mark.parametrize("arithmetic", ["model", "host"])
@pytest.mark.parametrize("summation", ["recursive", "pairwise", "numpy"])
def test_shifted_softmax_in_place_is_bit_identical_to_the_formula(dtype, summation, arithmetic):
    """softmax_shifted reuses one temporary (np.exp(..., out=), np.divide(..., out=)); every
    operation and its rounding are those of exp(z - m) / sum(exp(z - m)), so the bits must be equal."""
    import numpy as np

    from analysis import softmax as sm

    rng = np.random.default_rng(7)
    z = (rng.standard_normal((40, 33)) * 30).astype(dtype)
    z[0, :] = -np.inf  # a fully masked row: shift 0
    z[1, 3] = np.inf
    with np.errstate(all="ignore"):
        m = np.max(z, axis=-1, keepdims=True)
        m = np.where(np.isfinite(m), m, np.zeros_like(m))
        e = sm.ARITHMETICS[arithmetic].exp(z - m)
        expected = e / sm._sum(e, summation)
        computed = sm.softmax_shifted(z, summation=summation, arithmetic=arithmetic)
    assert computed.dtype == z.dtype
    np.testing.assert_array_equal(computed.view(np.uint8), expected.view(np.uint8))


def test_report_runs_a_short_bench_once_when_no_timings_exist(tmp_path, monkeypatch):
    """No bench.json: the report's build writes bench_short.json (once), the Cost
    of stability section shows its numbers, and a rebuild is byte-identical."""
    monkeypatch.setenv("SOFTMAX_STUDY_CACHE", str(tmp_path / "cache"))
    short = {"lengths": (10,), "elements": 200, "repeats": 3, "min_seconds": 0.0001, "budget": 60.0}
    monkeypatch.setattr(bench_short, "SHORT", short)
    data = write_fixture(tmp_path / "data")
    pipeline._short_bench(data)
    short = data / "bench_short.json"
    first = short.read_bytes()
    doc = json.loads(first)
    assert doc["short"] is True and doc["report"] is None and doc["implementations"]
    assert {r["n"] for r in doc["implementations"]} == {10}
    pipeline._short_bench(data)  # timings exist now: nothing is rerun
    assert short.read_bytes() == first
    out1 = compose.build(data, tmp_path / "a.html", environ={"SOURCE_DATE_EPOCH": EPOCH})
    out2 = compose.build(data, tmp_path / "b.html", environ={"SOURCE_DATE_EPOCH": EPOCH})
    html = out1.read_text(encoding="utf-8")
    assert out1.read_bytes() == out2.read_bytes()
    cost = html[html.index('<section id="cost">') : html.index("</section>", html.index('<section id="cost">'))]
    assert "A short benchmark." in cost and "bench_short.json" in cost and "make bench" in cost
    assert 'id="fig-cost"' in cost and 'id="cost-table"' in cost


def test_no_short_bench_when_bench_json_exists(tmp_path, monkeypatch):
    (tmp_path / "bench.json").write_text("{}", encoding="utf-8")
    monkeypatch.setattr(bench_short, "run_short", lambda log=print: pytest.fail("the short bench ran"))
    pipeline._short_bench(tmp_path)
    assert not (tmp_path / "bench_short.json").exists()


def test_the_short_bench_stops_when_its_budget_is_spent(monkeypatch):
    short = {"lengths": (10, 20), "elements": 100, "repeats": 3, "min_seconds": 0.0001, "budget": 0.0}
    monkeypatch.setattr(bench_short, "SHORT", short)
    doc = bench_short.run_short(log=lambda s: None)
    # The first (format, n) block always runs; every later one starts after the budget and is left out.
    assert doc["settings"]["measured"] == [f"{bench.DTYPES[0]} n=10"]


def test_column_loop_methods_are_left_out_beyond_their_length():
    # The online method and Kahan summation loop over the columns in Python:
    # at n = 10^6 make bench would not finish (see bench.COLUMN_LOOPS).  Beyond
    # COLUMN_LOOP_MAX_N they are listed as left out and not timed; the others are.
    left_out = []
    n = bench.COLUMN_LOOP_MAX_N + 1
    records = bench.implementation_records((n,), n, repeats=1, min_seconds=0.0, log=lambda s: None,
                                           left_out=left_out)  # fmt: skip
    timed = {(r["function"], r["method"]) for r in records}
    skipped = {(r["function"], r["method"]) for r in left_out}
    assert skipped and all(method in bench.COLUMN_LOOPS for _, method in skipped)
    assert not timed & skipped
    for (function, method), _ in report_implementations():
        assert (function, method) in (skipped if method in bench.COLUMN_LOOPS else timed)
    assert {r["n"] for r in left_out} == {n} and len(left_out) == len({tuple(r.values()) for r in left_out})
