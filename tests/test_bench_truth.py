"""The ground-truth benchmark: its inputs are the sweep's, and it checks
fastref against reference on every one of them."""

import numpy as np

from analysis import bench_truth, sweep
from analysis.config import load


def test_sweep_inputs_are_the_chunks_of_the_sweep():
    cfg = load(None, quick=True)
    inputs = list(bench_truth.sweep_inputs(cfg))
    tasks = sweep.tasks(cfg)
    assert [name for name, _ in inputs] == [t["dtype"] for t in tasks]
    for (name, z), task in zip(inputs, tasks):
        assert z.dtype.name == name and z.shape[1] == task["n"]
        assert np.isfinite(z.astype(np.float64)).all()


def test_benchmark_counts_and_agrees():
    rng = np.random.default_rng(1)
    inputs = [("float32", rng.normal(0, 10, (6, 50)).astype(np.float32)), ("float16", np.ones((3, 4), np.float16))]
    result = bench_truth.ground_truth_benchmark(inputs, subset_elements=100)
    assert result["disagreements"] == 0
    assert result["elements"] == 6 * 50 + 3 * 4
    assert result["straightforward_extrapolated"] is True  # 100 < 312 elements timed
    assert 0 <= result["fallback_rate"] <= 1
    assert set(result["elements_per_second"]) == {"fast", "reference", "straightforward"}


def test_disagreements_count_signed_zeros_and_nans():
    a = (np.array([0.0, np.nan, 1.0]),)
    assert bench_truth.disagreements(a, (np.array([-0.0, np.nan, 1.0]),)) == 1
    assert bench_truth.disagreements(a, (np.array([0.0, 1.0, 1.0]),)) == 1
    assert bench_truth.disagreements(a, a) == 0


def test_general_rows_are_fresh_seeded_normal_rows_at_three_scales():
    parts = bench_truth.general_rows("float32", 100, elements=1000)
    again = bench_truth.general_rows("float32", 100, elements=1000)
    assert [scale for scale, _ in parts] == list(bench_truth.GENERAL_SCALES)
    for (_, rows), (_, same) in zip(parts, again):
        assert rows.shape == (10, 100) and rows.dtype == np.float32
        np.testing.assert_array_equal(rows, same)  # seeded
    # Not the same draw at every scale, and at the stated scale.
    assert not np.array_equal(parts[0][1] / np.float32(0.3), parts[1][1] / np.float32(3.0))
    assert 20 < np.std(parts[2][1]) < 40


def test_general_rows_benchmark_on_tiny_sizes():
    result = bench_truth.general_rows_benchmark(lengths=(10,), dtypes=("float64",), elements=50, repeats=1,
                                                straightforward_rows=2)  # fmt: skip
    (case,) = result["cases"]
    assert case["elements"] == 3 * 5 * 10 and case["disagreements"] == 0
    assert case["straightforward_subset"] is True and case["straightforward_elements"] == 3 * 2 * 10
    # The rounds: ratio is the median round's own fast rate over its loop rate, inside the spread.
    assert case["rounds"] == 5 and len(case["ratios"]) == 5
    assert sorted(case["ratios"])[2] == case["ratio"]
    assert case["ratio"] == case["fast_elements_per_second"] / case["straightforward_elements_per_second"]
    assert case["ratio_min"] == min(case["ratios"]) <= case["ratio"] <= case["ratio_max"] == max(case["ratios"])
    assert case["ratio_best"] > 0
    assert result["prec"] == 128


def test_the_check_against_reference_splits_chunks_over_its_limit(monkeypatch):
    # A chunk of the default sweep (5,727,000 entries) exceeds reference's
    # limit per call: the benchmark's check calls it on parts of rows and
    # joins them, the same values as one call would give.
    from analysis import reference

    z = np.random.default_rng(5).standard_normal((7, 10)).astype(np.float32)
    whole = reference.truths(z)
    monkeypatch.setattr(reference, "MAX_ENTRIES", 30)  # three rows a call: parts of 3, 3, 1 rows
    calls = []
    truths = reference.truths
    monkeypatch.setattr(reference, "truths", lambda part: calls.append(len(part)) or truths(part))
    parts = bench_truth._proved(z)
    assert calls == [3, 3, 1]
    assert bench_truth.disagreements(parts, whole) == 0
    assert [a.shape for a in parts] == [a.shape for a in whole]
