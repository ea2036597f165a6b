"""The error budgets: any increase of a worst or median ULP error, or of a
count of inf/NaN/spurious-zero outputs, on the fixed regression set fails
here with a table of what got worse.  Improvements pass and are printed;
`make baseline` accepts them."""

import json
import math

import numpy as np
import pytest

from analysis import reference
from analysis import softmax as sm
from analysis.formats import FORMATS
from analysis.metrics import ulp_distance
from analysis.studies import budgets


@pytest.fixture(scope="module")
def current():
    return budgets.measure()


def test_no_budget_got_worse(current, capsys):
    baseline = json.loads(budgets.BASELINE.read_text())
    worse, better = budgets.compare(baseline, current)
    if better:
        with capsys.disabled():
            print("\nerror budgets improved (accept with `make baseline`):\n  " + "\n  ".join(better))
    assert not worse, "error budgets got worse:\n  " + "\n  ".join(worse)


def test_compare_catches_each_kind_of_regression():
    counts = {"exact": 8, "accurate": 0, "flushed": 1, "inaccurate": 0, "lost": 0, "inf": 0, "nan": 1}
    base = {"f/m/d/s": {"worst_ulp": 2.0, "median_ulp": 0.0, "grades": counts}}
    for change, expected in [
        ({"worst_ulp": 3.0}, "worst_ulp 2 -> 3"),
        ({"median_ulp": 0.5}, "median_ulp 0 -> 0.5"),
        ({"grades": {**counts, "exact": 7, "inf": 1}}, "inf outputs 0 -> 1"),
        ({"grades": {**counts, "exact": 7, "lost": 1}}, "lost outputs 0 -> 1"),
    ]:
        worse, _ = budgets.compare(base, {"f/m/d/s": {**base["f/m/d/s"], **change}})
        assert len(worse) == 1 and expected in worse[0], worse
    worse, better = budgets.compare(base, {"f/m/d/s": {**base["f/m/d/s"], "worst_ulp": 1.0}})
    assert not worse and better
    assert budgets.compare(base, {})[0] == ["f/m/d/s: missing now"]


@pytest.mark.parametrize("dtype", ["float64", "float32", "float16", "bfloat16"])
@pytest.mark.parametrize("summation", sm.SUMMATIONS)
def test_shifted_softmax_budget_within_theorem_4_3(dtype, summation):
    """Every regression vector that Theorem 4.3 of Blanchard, Higham & Higham
    (2021) covers (gamma_B < 1/2, components not subnormal) stays within its
    bound in ulps, B = n + 2 + 2 (max z - min z): the methods run in the
    model arithmetic, where exp is correctly rounded (|delta| <= u)."""
    fmt = FORMATS[dtype]
    u = fmt.unit_roundoff
    checked = 0
    for z in budgets.regression_set(fmt.dtype):
        zf = z.astype(np.float64)
        bound_b = z.size + 2 + 2 * (zf.max() - zf.min())
        if bound_b * u >= 0.5:
            continue
        gamma = bound_b * u / (1 - bound_b * u)
        truth = reference.softmax(z)
        normal = truth.astype(np.float64) >= fmt.smallest_normal
        max_ulp = math.floor(gamma * (1 + u) * 2**fmt.precision + 0.5)
        distance = ulp_distance(sm.softmax_shifted(z, summation=summation)[normal], truth[normal])
        assert distance.max(initial=0) <= max_ulp, (z, distance.max(), max_ulp)
        checked += 1
    assert checked >= 20  # the theorem covers a real part of the set
