"""The methods comparison in the report: ranking, cost from bench.json,
the figure, and the cached MNIST file (analysis.pipeline.methods_real_outputs)."""

import json

import numpy as np

from analysis import pipeline
from analysis.report import figures
from analysis.report.sections import methods


def synthetic_sweep(rows=None):
    """Three methods on the same two vectors at n = 2; naive also at n = 1000."""
    rows = rows or [
        # method, n, grade, max_bits
        ("naive", 2, "inf", np.nan), ("naive", 2, "exact", 0.5), ("naive", 1000, "accurate", 9.0),
        ("shifted", 2, "inaccurate", 2.0), ("shifted", 2, "inaccurate", 3.0), ("shifted", 1000, "accurate", 9.0),
        ("log1p", 2, "accurate", 1.0), ("log1p", 2, "inaccurate", 3.0),
    ]  # fmt: skip
    return {
        "family": np.array(["two_level"] * len(rows)),
        "function": np.array(["softmax"] * len(rows)),
        "dtype": np.array(["float16"] * len(rows)),
        "method": np.array([r[0] for r in rows]),
        "n": np.array([r[1] for r in rows]),
        "grade": np.array([r[2] for r in rows]),
        "max_bits": np.array([r[3] for r in rows]),
        "offset": np.ones(len(rows)),  # every vector within ±2 ln max
        "gap": np.zeros(len(rows)),
    }


def test_ranking_uses_common_lengths_and_puts_failures_last():
    ranking = methods.method_ranking(synthetic_sweep(), None, None, "softmax")["float16"]
    assert [r["method"] for r in ranking] == ["log1p", "shifted", "naive"]
    log1p, shifted, naive = ranking
    assert (log1p["sweep_median"], log1p["sweep_max"]) == (2.0, 3.0)
    assert (shifted["sweep_median"], shifted["sweep_max"]) == (2.5, 3.0)
    # n = 1000 (naive and shifted only) is left out: naive fails on 1 of 2 vectors.
    assert naive["sweep_not_ok"] == 0.5 and naive["sweep_max"] == 0.5
    assert all(r["lengths"] == [2] and r["cost"] is None and r["real_median"] is None for r in ranking)


def test_one_flush_does_not_decide_the_ranking():
    """The issue's float16 case: a method whose only blemish is one flushed
    vector (a tiny result one ulp from the truth) ranks by its bits, above a
    method with no flush and a worse error; the flush is counted apart."""
    rows = [
        ("shifted_kahan", 2, "flushed", 1.0), ("shifted_kahan", 2, "inaccurate", 3.32),
        ("exp_lse", 2, "inaccurate", 2.0), ("exp_lse", 2, "inaccurate", 12.3),
    ]  # fmt: skip
    ranking = methods.method_ranking(synthetic_sweep(rows), None, None, "softmax")["float16"]
    assert [r["method"] for r in ranking] == ["shifted_kahan", "exp_lse"]
    assert [(r["sweep_not_ok"], r["sweep_flushed"]) for r in ranking] == [(0.0, 1), (0.0, 0)]
    # a lost vector is a failure and does decide it
    rows[0] = ("shifted_kahan", 2, "lost", np.nan)
    ranking = methods.method_ranking(synthetic_sweep(rows), None, None, "softmax")["float16"]
    assert [r["method"] for r in ranking] == ["exp_lse", "shifted_kahan"]


def test_cost_relative_to_naive_at_the_largest_common_n():
    bench = {"implementations": [
        {"function": "softmax", "method": "naive", "dtype": "float16", "n": 10, "median_s": 1.0},
        {"function": "softmax", "method": "naive", "dtype": "float16", "n": 100, "median_s": 2.0},
        {"function": "softmax", "method": "log1p", "dtype": "float16", "n": 100, "median_s": 3.0},
        {"function": "softmax", "method": "log1p", "dtype": "float16", "n": 1000, "median_s": 9.0},
    ]}  # fmt: skip
    assert methods.bench_cost(bench, "softmax", "log1p", "float16") == 1.5
    assert methods.bench_cost(bench, "softmax", "log1p", "float32") is None
    assert methods.bench_cost(None, "softmax", "log1p", "float16") is None


def test_ranking_figure_renders():
    ranking = methods.method_ranking(synthetic_sweep(), None, None, "softmax")
    svg = figures.method_ranking(ranking, "softmax")
    assert svg.svg.startswith("<svg") and "float16: log1p" in svg.alt


def test_methods_real_is_cached(tmp_path, monkeypatch):
    calls = []

    def fake(rows=None):
        calls.append(rows)
        return {"float16": {"skipped": 0, "methods": {}}}

    from analysis.studies import methods_real

    monkeypatch.setattr(methods_real, "real_data_errors", fake)
    pipeline.methods_real_outputs(tmp_path, quick=True)
    stamp = (tmp_path / "methods_real.json").stat().st_mtime_ns
    pipeline.methods_real_outputs(tmp_path, quick=True)
    assert calls == [pipeline.QUICK_REAL_ROWS]
    assert (tmp_path / "methods_real.json").stat().st_mtime_ns == stamp
    document = json.loads((tmp_path / "methods_real.json").read_text())
    assert document["quick"] is True and document["formats"]["float16"]["skipped"] == 0
