"""The graded taxonomy (metrics.grade): a vector in each class, one on each
side of each boundary, and the cases that the old status called failures
although they were exact or one ulp away."""

import math

import numpy as np
import pytest

from analysis import metrics, reference
from analysis import softmax as sm
from analysis.formats import FORMATS


def g(x, t, dtype=np.float64, log_domain=False):
    return metrics.grade(np.array(x, dtype), np.array(t, dtype), log_domain=log_domain)


def test_each_class_and_its_boundaries():
    tiny = FORMATS["float64"].smallest_subnormal
    one_up = np.nextafter(1.0, 2.0)
    two_up = np.nextafter(one_up, 2.0)
    assert g([1.0, 0.5], [1.0, 0.5]) == "exact"
    assert g([one_up, 0.5], [1.0, 0.5]) == "accurate"  # 1 ulp: the boundary, inside
    assert g([two_up, 0.5], [1.0, 0.5]) == "inaccurate"  # 2 ulps: just outside
    assert g([0.0, 1.0], [tiny, 1.0]) == "flushed"  # 1 ulp, a zero
    assert g([tiny, 1.0], [2 * tiny, 1.0]) == "flushed"  # 1 ulp among subnormals, though half of it
    # Both below the smallest normal: flushed whatever the ulps (flush to zero,
    # as XLA on the CPU does); a normal truth returned as 0 is lost.
    normal = FORMATS["float64"].smallest_normal
    assert g([0.0, 1.0], [2 * tiny, 1.0]) == "flushed"  # 2 ulps, both subnormal or zero
    assert g([tiny, 1.0], [3 * tiny, 1.0]) == "flushed"
    assert g([0.0, 1.0], [np.nextafter(normal, 0.0), 1.0]) == "flushed"  # the largest subnormal flushed
    assert g([0.0, 1.0], [normal, 1.0]) == "lost"  # the smallest normal returned as 0
    assert g([0.0, 1.0], [np.nextafter(normal, 1.0), 1.0]) == "lost"
    assert g([normal / 4, 1.0], [normal, 1.0]) == "lost"  # a normal truth, 3/4 of it gone
    assert g([2 * tiny, 1.0], [3 * tiny, 1.0]) == "flushed"  # 1 ulp between subnormals: named apart
    assert g([0.25000001, 0.5], [0.5, 0.5]) == "inaccurate"  # relative error just below 1/2
    assert g([0.25, 0.5], [0.5, 0.5]) == "lost"  # exactly 1/2
    assert g([1.0, 0.0], [0.5, 0.5]) == "lost"  # 1 and 0 where the truth is 1/2
    assert g([math.inf, 0.5], [1.0, 0.5]) == "inf"
    assert g([math.nan, math.inf], [1.0, 0.5]) == "nan"  # the worse of the two
    assert g([math.nan, 0.5], [math.nan, 0.5]) == "exact"  # the truth itself is NaN


def test_log_domain_uses_the_absolute_error_near_zero():
    """log softmax of the top entry, -1e-22, computed as 0: relative error 1,
    absolute error far below u -- accurate as a log-probability, lost as a
    relative quantity.  One ulp of 1 more and it is not."""
    u = FORMATS["float64"].unit_roundoff
    assert g([0.0, -50.0], [-1.9e-22, -50.0], log_domain=True) == "accurate"
    assert g([0.0, -50.0], [-1.9e-22, -50.0]) == "lost"
    assert g([0.0, -50.0], [-2.5 * u, -50.0], log_domain=True) == "lost"


@pytest.mark.parametrize(
    "z, dtype, expected",
    [
        ([10.0, 20.0], np.float16, {"naive": "nan", "shifted": "exact"}),  # the teaching example
        # float64: shifted gives [1, 0] against the correctly rounded [1, 5e-324] (the issue's
        # example); naive's exp(z_2), correctly rounded in the model arithmetic, is 5e-324
        ([6e-14, -745.1332191019411], np.float64, {"naive": "exact", "shifted": "flushed"}),
        # naive softmax in float16 at c = 10.98, n = 2: e^c/inf = 0 everywhere though finite
        ([10.98, 10.98], np.float16, {"naive": "lost", "shifted": "exact"}),
    ],
)
def test_regression_cases_of_the_issue(z, dtype, expected):
    z = np.array(z, dtype)
    truth = reference.softmax(z)
    for method, grade in expected.items():
        assert metrics.grade(sm.IMPLEMENTATIONS["softmax", method](z), truth) == grade, method


def test_grades_are_ordered_and_failures_are_the_last_three():
    assert metrics.GRADES[-3:] == metrics.FAILURES
    z = np.array([[10.0, 20.0], [1.0, 2.0]], np.float16)
    assert list(metrics.grade(sm.softmax_naive(z), reference.softmax(z))) == ["nan", "exact"]


@pytest.mark.parametrize("offset", [-53.37, -9.607, 102.25])
def test_bfloat16_shifted_flush_at_gap_93_is_not_a_failure(offset):
    """The issue's 12 bfloat16 "failures": at gap 93.11 the rounded inputs
    are 92.75 or 92.875 apart, the subtraction rounds the gap to 93 and
    exp(-93) < s/2 gives 0 where the truth is 2**-133, the smallest
    subnormal: one ulp, flushed."""
    from analysis import families

    for n in (2, 10):
        z = families.two_level(offset, 93.11, n, FORMATS["bfloat16"].dtype)
        computed = sm.softmax_shifted(z)
        truth = reference.softmax(z)
        assert float(computed[-1]) == 0.0 and float(truth[-1]) == 2.0**-133
        assert metrics.grade(computed, truth) == "flushed"


def test_log_softmax_top_entry_rounding_to_0_is_accurate():
    """Max-shifted log-softmax of (0, -50): the top entry is -log(1 + e^-50)
    = -1.9e-22, computed as 0 (1 + e^-50 rounds to 1): accurate in the log
    domain (absolute error far below u), and the sweep grades it so."""
    from analysis.studies.sweep import _metrics_rows

    z = np.array([[0.0, -50.0]])
    computed, truth = sm.log_softmax_shifted(z), reference.log_softmax(z[0])[None, :]
    assert computed[0, 0] == 0.0 and truth[0, 0] < 0
    assert metrics.grade(computed, truth, log_domain=True) == "accurate"
    (row,) = _metrics_rows("log_softmax", computed, truth, 2)
    assert row[0] == "accurate"
    assert row[1] == 0.0  # ULP statistics over the other entry, which is exact


def test_float8_shift_overflows_to_nan():
    """float8_e4m3fn has no infinity: z - max z for z = (240, -320) is -560,
    beyond the format, NaN; graded nan (the truth is finite)."""
    dtype = FORMATS["float8_e4m3fn"].dtype
    z = np.array([240.0, -320.0]).astype(dtype)
    assert metrics.grade(sm.softmax_shifted(z), reference.softmax(z)) == "nan"


def test_sweep_rows_carry_grades_not_the_old_status():
    """A chunk of the sweep: the grades are metrics.GRADES, the old statuses
    ("ok", "zero") are gone, and the float64 case of the issue is flushed."""
    from analysis.studies import sweep as study

    task = {"family": "two_level", "dtype": "float16", "n": 2, "offsets": [0.0, 10.98, 11.5], "gaps": [0.0, 30.0],
            "functions": ["softmax", "log_softmax"], "methods": ["naive", "shifted"],
            "summation": "recursive"}  # fmt: skip
    grades = {g for block in study.compute_chunk(task).values() for g in block["grade"]}
    assert grades <= set(metrics.GRADES) and "lost" in grades and not grades & {"ok", "zero"}


def test_the_data_schema_carries_the_same_taxonomy():
    """The report reads the grades from analysis.store.schema (it imports no
    numerics): those copies are metrics' and the thresholds study's own."""
    from analysis.store import schema
    from analysis.studies import thresholds

    assert schema.GRADES == metrics.GRADES and schema.FAILURES == metrics.FAILURES
    assert (schema.ACCURATE_ULPS, schema.LOST_RELATIVE) == (metrics.ACCURATE_ULPS, metrics.LOST_RELATIVE)
    assert schema.THRESHOLD_KINDS == thresholds.KINDS
