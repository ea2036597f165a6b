"""The temperature family's statistics (issue: at least 100 seeded draws
per scale for n <= 1000, a median with a 5-95 % band in the figure, counts
out of the draws in the table)."""

from __future__ import annotations

import numpy as np
import pytest

from analysis.config import load
from analysis.report.bundle import FAILURES
from analysis.report.figures import scale_percentiles
from analysis.report.sections.results import temperature_counts


def _failed(grades):
    return np.isin(grades, FAILURES)


def _records(bits_by_scale: dict, grades_by_scale: dict, n: int = 1000, method: str = "naive") -> dict:
    rows = [(s, b, g) for s in bits_by_scale for b, g in zip(bits_by_scale[s], grades_by_scale[s], strict=True)]
    size = len(rows)
    return {
        "family": np.array(["scaled_normal"] * size),
        "function": np.array(["softmax"] * size),
        "dtype": np.array(["float16"] * size),
        "method": np.array([method] * size),
        "n": np.full(size, n),
        "scale": np.array([r[0] for r in rows], float),
        "max_bits": np.array([r[1] for r in rows], float),
        "grade": np.array([r[2] for r in rows]),
    }


def test_the_default_study_draws_at_least_100_rows_per_scale():
    cfg = load(None, False)
    assert cfg.draws >= 100 and max(cfg.lengths) <= 1000


def test_percentiles_are_over_the_draws_that_do_not_fail_and_count_the_failures():
    rng = np.random.default_rng(7)
    bits = {0.1: rng.random(100) * 3, 10.0: rng.random(100) * 5}
    grades = {0.1: ["accurate"] * 100, 10.0: ["accurate"] * 90 + ["lost"] * 7 + ["nan"] * 2 + ["flushed"]}
    bits[10.0][90:99] = np.nan  # failures carry no bits
    q = scale_percentiles(_records(bits, grades), "float16", "naive", 1000, _failed)
    assert q["scale"].tolist() == [0.1, 10.0]
    assert q["draws"].tolist() == [100, 100] and q["failed"].tolist() == [0, 9]
    kept = np.concatenate([bits[10.0][:90], bits[10.0][99:]])
    np.testing.assert_array_equal([q["p5"][1], q["p50"][1], q["p95"][1]], np.percentile(kept, [5, 50, 95]))
    np.testing.assert_array_equal([q["p5"][0], q["p50"][0], q["p95"][0]], np.percentile(bits[0.1], [5, 50, 95]))


def test_counts_give_the_first_failing_scale_and_where_every_draw_fails():
    scales = [1.0, 10.0, 100.0, 1000.0]
    bad = {1.0: 0, 10.0: 3, 100.0: 100, 1000.0: 100}
    bits = {s: np.where(np.arange(100) < bad[s], np.nan, 1.0) for s in scales}
    grades = {s: ["inf" if k < bad[s] else "accurate" for k in range(100)] for s in scales}
    naive = _records(bits, grades)
    shifted = _records({s: np.ones(100) for s in scales}, {s: ["exact"] * 100 for s in scales}, method="shifted")
    sweep = {k: np.concatenate([naive[k], shifted[k]]) for k in naive}
    [row] = temperature_counts(sweep, ["float16"])["rows"]
    cells = [c.text for c in row]
    assert cells == ["float16", "1000", "10", "3 of 100", "100", "none", "–", "none"]


@pytest.mark.parametrize("fails_again", [False, True])
def test_every_draw_fails_only_from_a_scale_beyond_which_none_survives(fails_again):
    # 100/100 at s = 10, then a survivor at s = 100: "every draw fails from" is
    # the start of the final all-failing run (1000), not the first such scale.
    scales = [10.0, 100.0, 1000.0]
    bad = {10.0: 100, 100.0: 99, 1000.0: 100 if fails_again else 50}
    bits = {s: np.where(np.arange(100) < bad[s], np.nan, 1.0) for s in scales}
    grades = {s: ["lost" if k < bad[s] else "accurate" for k in range(100)] for s in scales}
    [row] = temperature_counts(_records(bits, grades), ["float16"])["rows"]
    assert row[2].text == "10" and row[3].text == "100 of 100"
    assert row[4].text == ("1000" if fails_again else "none")
