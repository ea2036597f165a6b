"""The theorems' leading-term bounds (analysis.studies.bounds): values on vectors
worked by hand, the error measures, and the bounds against measurements."""

import dataclasses
import math

import numpy as np
import pytest

from analysis import config, reference
from analysis import softmax as sm
from analysis.formats import FORMATS
from analysis.studies import bounds


def test_bounds_on_a_vector_worked_by_hand():
    z = np.array([[0.0, -1.0, -3.0]])
    lse = np.array([math.log(1 + math.exp(-1) + math.exp(-3))])
    n = 3
    assert bounds.lse_naive_bound(z, lse)[0] == pytest.approx(1 + (n + 1) / lse[0], rel=1e-15)
    assert bounds.lse_shifted_bound(z, lse)[0] == pytest.approx(abs(lse[0] + n + 3) / lse[0], rel=1e-15)
    assert bounds.softmax_naive_bound(z)[0] == n + 3
    assert bounds.softmax_shifted_bound(z)[0] == n + 2 + 2 * 3
    assert bounds.softmax_exp_lse_bound(z, lse)[0] == pytest.approx(lse[0] + (3 + lse[0]) + n + 2, rel=1e-15)
    expected = 1 + (3 + lse[0]) + (lse[0] + n + 3)
    assert bounds.softmax_exp_lse_shifted_bound(z, lse)[0] == pytest.approx(expected, rel=1e-15)


def test_measured_error_is_relative_and_normwise():
    u = 2.0**-11
    assert bounds.measured_error_u("logsumexp", [2.0 * (1 + u)], [2.0], u)[0] == pytest.approx(1.0)
    # Normwise: the largest absolute error over the largest entry.
    computed, truth = np.array([[0.75, 0.25 + 0.5 * u]]), np.array([[0.75, 0.25]])
    assert bounds.measured_error_u("softmax", computed, truth, u)[0] == pytest.approx(0.5 / 0.75)
    componentwise = bounds.measured_error_u("softmax", computed, truth, u, normwise=False)
    assert componentwise[0, 1] == pytest.approx(2.0) and componentwise[0, 0] == 0


def test_applies_excludes_overflow_and_underflow():
    fmt = FORMATS["float16"]
    z = np.array([[0.0, -1.0], [12.0, 10.0], [0.0, -20.0]])
    sm_true, lse_true, _ = reference.truths(z)
    # Row 2: exp(12) > 65504 overflows float16 unshifted, not shifted; row 3:
    # exp(-20) is below float16's smallest normal 2**-14.
    assert list(bounds.applies(z, sm_true, lse_true, fmt, "naive")) == [True, False, False]
    assert list(bounds.applies(z, sm_true, lse_true, fmt, "shifted")) == [True, True, False]


@pytest.mark.parametrize("name", ["float16", "bfloat16", "float32"])
def test_the_exact_algorithms_stay_within_their_bounds(name):
    """Theorems 3.2 and 3.3 on seeded random vectors where they apply."""
    fmt = FORMATS[name]
    rng = np.random.default_rng(20261125)
    z = (rng.standard_normal((200, 8)) * 3).astype(fmt.dtype)
    z64 = z.astype(np.float64)
    sm_true, lse_true, _ = reference.truths(z64)
    keep = bounds.applies(z64, sm_true, lse_true, fmt, "naive")
    assert keep.sum() >= 100  # the test measures something
    lse_error = bounds.measured_error_u("logsumexp", sm.logsumexp_naive(z), lse_true, fmt.unit_roundoff)
    sm_error = bounds.measured_error_u("softmax", sm.softmax_naive(z), sm_true, fmt.unit_roundoff)
    assert np.all((lse_error <= bounds.lse_naive_bound(z64, lse_true))[keep])
    assert np.all((sm_error <= bounds.softmax_naive_bound(z64))[keep])


def test_measure_sweep_on_a_small_grid():
    cfg = dataclasses.replace(config.load(None, quick=True), dtypes=("float16",), lengths=(10,))
    summary = bounds.measure_sweep(cfg, sample=12)
    assert summary
    for key, entry in summary.items():
        theorem, function, method, dtype = key.split("/")
        assert (function, method) in bounds.METHODS[theorem] and dtype == "float16"
        assert entry["vectors"] == len(entry["points"]["error"]) <= 24
        if entry["exact_algorithm"]:
            # Measured: Algorithm 4.1's logsumexp exceeds the plotted leading term of
            # Theorem 4.2 on two-level vectors with lse ~ min z - n, by less than the
            # u of its final rounding (see bounds.measure_sweep); nothing exceeds
            # bound + 1.
            assert entry["exceeded_beyond_final_rounding"] == 0, key
    assert summary == bounds.measure_sweep(cfg, sample=12)  # seeded
