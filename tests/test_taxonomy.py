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
    assert g([0.0, 1.0], [2 * tiny, 1.0]) == "lost"  # 2 ulps and all of it
    assert g([tiny, 1.0], [2 * tiny, 1.0]) == "flushed"  # 1 ulp among subnormals, though half of it
    assert g([tiny, 1.0], [3 * tiny, 1.0]) == "lost"  # 2 ulps and two thirds of it
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
