"""The log-softmax study: critical gaps g*, cross-entropy thresholds, std_norm.

Every threshold measured here is compared with its closed form (see
analysis/logsoftmax.py).  Tolerances are one ulp of the quantity that is
rounded, per format:

- g*: the measurement lives on a grid of step 0.01 and the gap is then
  converted to the format, so the measured g* is within max(0.01, ulp(g*))
  above the real solution of the closed form.  At these gaps ulp(g) is below
  0.01 in float64 (2^-43 at 745) and float32 (2^-17 at 113), so the grid
  step decides; in float16 ulp(g) is 2^-6 at 16..32 and 2^-7 at 8..16; in
  bfloat16 it is 0.5 at 64..128 (top) and 2^-5..2^-4 at 4..16 (rest).
- cross-entropy margins: measured on every value of the format, so within
  one ulp of the format at the margin of the real threshold (numpy's exp is
  not correctly rounded, which can move a threshold by that one value).
"""

from __future__ import annotations

import csv
import hashlib
import math

import mpmath
import numpy as np
import pytest

from analysis import pipeline, reference
from analysis import softmax as sm
from analysis.families import two_level
from analysis.formats import FORMATS, STUDY_DTYPES
from analysis.studies import logsoftmax as ls

# g* measured on the 0.01 grid (python -m analysis sweep, reports/data/gstar.csv): (top, rest).
PINNED = {
    "float16": {2: (17.34, 6.24), 10: (19.53, 8.0), 100: (21.93, 10.14), 1000: (24.25, 12.45), 10000: (26.54, 14.76)},
    "bfloat16": {2: (92.75, 4.15), 10: (95.26, 6.36), 100: (97.26, 8.04), 1000: (99.75, 10.35),
                 10000: (102.26, 12.66)},
    "float32": {2: (103.98, 14.56), 10: (106.17, 16.07), 100: (108.57, 18.46), 1000: (110.88, 20.77),
                10000: (113.19, 23.08)},
    "float64": {2: (745.14, 33.28), 10: (747.34, 35.47), 100: (749.73, 37.87), 1000: (752.04, 40.18),
                10000: (754.35, 42.49)},
}  # fmt: skip


def tolerance(g: float, dtype: str) -> float:
    """One grid step or one ulp of g in the format, whichever is larger (see the module docstring)."""
    return max(ls.GRID_STEP, ls.ulp(g, FORMATS[dtype]))


@pytest.mark.parametrize("dtype", STUDY_DTYPES)
def test_g_star_is_pinned_and_matches_the_closed_form(dtype):
    # 10 cases, each a window of ~100 reference rows with two distinct values: about a second.
    gstar = {(r["n"], r["dtype"], r["entry"]): r for r in ls.g_star_table(dtypes=(dtype,), coarse=4)}
    for n, (top, rest) in PINNED[dtype].items():
        for entry, pinned in (("top", top), ("rest", rest)):
            r = gstar[(n, dtype, entry)]
            g = r["g_star_observed"]
            assert abs(g - pinned) <= tolerance(pinned, dtype), (n, entry, g, pinned)
            # The closed form, evaluated at every grid gap in the format, gives the same grid point ...
            assert g == r["g_star_predicted_grid"], (n, entry)
            # ... and the real solution lies within one grid step or ulp below it.
            assert abs(g - r["g_star_predicted"]) <= tolerance(g, dtype), (n, entry)
            assert r["exact_beyond"], (n, entry)


def test_g_star_closed_forms():
    # top, n = 2: log(1 + e^-g) < s/2 <=> g > -log(expm1(s/2)) = ln(2/s) - s/4 + O(s^2).
    for dtype in STUDY_DTYPES:
        s = FORMATS[dtype].smallest_subnormal
        expected = math.log(2) - math.log(s) - s / 4
        assert ls.predicted_g_star(2, dtype, "top") == pytest.approx(expected, rel=1e-15)
    # rest, float64, n = 2: e^-g = 2^-48 on the binade [32, 64) (ulp 2^-47): g = 48 ln 2.
    assert ls.predicted_g_star(2, "float64", "rest") == pytest.approx(48 * math.log(2), rel=1e-15)
    # float16, n = 10: the solution on [4, 8) lies above 8, on [8, 16) below 8: the ulp's jump at 8 decides.
    assert ls.predicted_g_star(10, "float16", "rest") == 8.0
    assert ls.exact_condition(8.0, 10, FORMATS["float16"], "rest")
    assert not ls.exact_condition(float(np.float16(8.0) - np.float16(2**-8)), 10, FORMATS["float16"], "rest")


def test_the_approximation_is_exact_just_at_g_star():
    """Directly, without the search: at g* both entries are exact, one grid step below they are not."""
    for dtype, n, entry in (("float32", 10, "top"), ("float32", 10, "rest"), ("float16", 100, "rest")):
        top, rest = PINNED[dtype][n]
        g = top if entry == "top" else rest
        index = 0 if entry == "top" else 1
        z = two_level(0.0, [g, g - ls.GRID_STEP], n, FORMATS[dtype].dtype)
        approx = sm.log_softmax_max_approx(z)[:, index]
        truth = reference.log_softmax(z)[:, index]
        assert approx[0] == truth[0] and approx[1] != truth[1], (dtype, n, entry)


def test_error_curves_follow_the_closed_form_and_the_bound():
    error = ls.error_curves(lengths=(2, 1000), points=10)
    for curve in error["curves"]:
        exact = np.array(curve["exact"])
        closed = 10 ** ls.closed_form_log10(curve["gap"], curve["n"])
        assert np.all(exact <= curve["bound"]) and np.all(exact >= 0)
        # Both are log(1 + (n-1)e^-g); the reference is correctly rounded, the closed form exact to 1e-15.
        assert np.allclose(exact, closed, rtol=1e-14, atol=0)


def test_gstar_csv_columns_and_cache(tmp_path):
    pipeline.logsoftmax_outputs(tmp_path, quick=True)
    with open(tmp_path / "gstar.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    assert tuple(rows[0]) == ("n", "dtype", "entry", "g_star_observed", "g_star_predicted")
    assert len(rows) == 1 + 2 * len(STUDY_DTYPES) * 2  # quick: n = 2, 10
    for n, dtype, entry, observed, predicted in rows[1:]:
        assert dtype in STUDY_DTYPES and entry in ("top", "rest")
        assert repr(float(observed)) == observed and repr(float(predicted)) == predicted
        assert float(observed) == PINNED[dtype][int(n)][0 if entry == "top" else 1]
    # A second call with nothing changed does not rewrite; a damaged file is recomputed.
    stamp = (tmp_path / "logsoftmax.json").stat().st_mtime_ns
    pipeline.logsoftmax_outputs(tmp_path, quick=True)
    assert (tmp_path / "logsoftmax.json").stat().st_mtime_ns == stamp
    good = (tmp_path / "gstar.csv").read_bytes()
    (tmp_path / "gstar.csv").write_bytes(good.replace(b"top", b"TOP", 1))
    pipeline.logsoftmax_outputs(tmp_path, quick=True)
    assert (tmp_path / "gstar.csv").read_bytes() == good
    assert hashlib.sha256(good).hexdigest() in (tmp_path / "manifest.json").read_text()


@pytest.fixture(scope="module")
def ce_thresholds():
    return {dtype: ls.cross_entropy_thresholds(10, dtype) for dtype in STUDY_DTYPES}


@pytest.mark.parametrize("dtype", STUDY_DTYPES)
def test_cross_entropy_thresholds_match_the_closed_forms(ce_thresholds, dtype):
    fmt = FORMATS[dtype]
    found = ce_thresholds[dtype]
    for name, t in found.items():
        assert t["observed"] is not None, name
        # Within one ulp of the format at the threshold (module docstring).
        assert abs(t["observed"] - t["predicted"]) <= ls.ulp(t["observed"], fmt), (name, t)
    # The closed forms themselves, independently of predicted_margins:
    s, n = fmt.smallest_subnormal, 10
    assert found["naive_loss_inf"]["predicted"] == pytest.approx(math.log((n - 1) / 2) + math.log(s), rel=1e-12)
    assert found["naive_grad_nan"]["predicted"] == pytest.approx(fmt.ln_max, rel=1e-3)
    assert found["shifted_loss_zero"]["predicted"] == pytest.approx(fmt.precision * math.log(2), rel=1e-15)
    assert found["shifted_grad_zero"]["predicted"] == pytest.approx(math.log(2) - math.log(s), rel=1e-15)
    assert found["true_loss_zero"]["predicted"] == ls.predicted_g_star(n, dtype, "top")


@pytest.mark.parametrize("dtype", STUDY_DTYPES)
def test_log_softmax_keeps_the_loss_where_the_naive_route_fails(ce_thresholds, dtype):
    found = ce_thresholds[dtype]
    inf_at, nan_at = found["naive_loss_inf"]["observed"], found["naive_grad_nan"]["observed"]
    zero_at = found["shifted_grad_zero"]["observed"]
    out = ls.losses_and_gradients([inf_at, nan_at, zero_at], 10, dtype)
    assert np.isposinf(out["loss_naive"][0]) and np.isnan(out["grad_naive"][1]).any()
    truth = ls.true_losses(out["z"])
    # Where the naive loss is inf the log-softmax loss is the correctly rounded one (-m + log 9 + tiny).
    assert out["loss_shifted"][0] == truth[0] and np.isfinite(out["loss_shifted"]).all()
    assert np.all(out["grad_shifted"][2] == 0)
    # One value of the format closer to 0, each failure is not there yet.
    fmt_type = FORMATS[dtype].dtype.type
    closer = [float(np.nextafter(fmt_type(m), fmt_type(0))) for m in (inf_at, nan_at, zero_at)]
    before = ls.losses_and_gradients(closer, 10, dtype)
    assert np.isfinite(before["loss_naive"][0]) and not np.isnan(before["grad_naive"][1]).any()
    assert np.any(before["grad_shifted"][2] != 0)


def test_true_gradient_is_the_closed_form():
    g = ls.true_gradient(3.0, 10, "float64")
    with mpmath.workdps(50):
        p = mpmath.exp(0) / (1 + 9 * mpmath.exp(-3))
    assert g[0] == float(p - 1) and g[1:].sum() == pytest.approx(-g[0], rel=1e-15)


@pytest.mark.parametrize("dtype", STUDY_DTYPES)
def test_std_norm_ignores_the_scale_and_softmax_does_not(dtype):
    t = FORMATS[dtype].dtype
    z = np.array([1.0, 2.0, 5.0], dtype=t)
    for power in (-4, 3, 6):  # powers of two: the scaled vector and its sum are exact
        scaled = (z.astype(np.float64) * 2.0**power).astype(t)
        assert np.array_equal(sm.std_norm(scaled), sm.std_norm(z))
        assert not np.array_equal(sm.softmax_shifted(scaled), sm.softmax_shifted(z))


def test_std_norm_failures():
    cases = {tuple(c["z"]): c for c in ls.std_norm_study(np.array([1.0]))["cases"]}
    assert cases[(1.0, -1.0)]["std_norm"] == [math.inf, -math.inf]
    assert all(math.isnan(v) for v in cases[(0.0, 0.0)]["std_norm"])
    assert cases[(2.0, -1.0)]["std_norm"] == [2.0, -1.0]
    assert cases[(2.0, -1.0)]["std_norm_problems"] == ["negative output"]
    assert cases[(-1.0, -2.0)]["std_norm_problems"] == ["largest score gets the smallest share"]
    assert cases[(1.0, 2.0)]["std_norm_problems"] == [] and cases[(10.0, 20.0)]["std_norm"] == [1 / 3, 2 / 3]
    assert all(c["softmax_problems"] == [] for c in cases.values())
