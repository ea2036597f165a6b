"""Contracts of the public API that are not about accuracy: result types,
argument validation, floating-point flags and warnings."""

import warnings

import ml_dtypes
import mpmath
import numpy as np
import pytest

from analysis import reference
from analysis import softmax as sm
from analysis.metrics import classify, relative_error, ulp_distance

from .conftest import DTYPES

REDUCTIONS = [sm.logsumexp_naive, sm.logsumexp_shifted, reference.logsumexp]
VECTOR_FUNCTIONS = [
    sm.softmax_naive, sm.softmax_shifted, sm.log_softmax_naive, sm.log_softmax_shifted,
    sm.log_softmax_max_approx, sm.std_norm, reference.softmax, reference.log_softmax,
]  # fmt: skip


@pytest.mark.parametrize("function", REDUCTIONS, ids=lambda f: f"{f.__module__}.{f.__name__}")
def test_a_reduction_of_one_vector_is_a_numpy_scalar_of_its_dtype(function, dtype):
    out = function(np.arange(3).astype(dtype))
    assert type(out) is dtype.type
    rows = function(np.arange(6).reshape(2, 3).astype(dtype))
    assert isinstance(rows, np.ndarray) and rows.shape == (2,) and rows.dtype == dtype


def test_max_approx_error_is_a_float64_scalar():
    out = reference.max_approx_error(np.arange(3, dtype=np.float32))
    assert type(out) is np.float64
    assert reference.max_approx_error(np.zeros((2, 3), np.float16)).shape == (2,)


@pytest.mark.parametrize("function", VECTOR_FUNCTIONS, ids=lambda f: f"{f.__module__}.{f.__name__}")
def test_vector_results_keep_shape_dtype_and_axis(function, dtype):
    z = np.arange(12).reshape(3, 4).astype(dtype) / 4
    out = function(z, axis=0)
    assert out.shape == (3, 4) and out.dtype == dtype
    # axis=0 is the same computation as the transpose along the last axis
    np.testing.assert_array_equal(out, function(z.T).T)


@pytest.mark.parametrize("function", REDUCTIONS + VECTOR_FUNCTIONS, ids=lambda f: f"{f.__module__}.{f.__name__}")
def test_an_empty_reduction_axis_is_rejected_whatever_the_axis(function):
    z = np.zeros((0, 3), np.float32)
    with pytest.raises(ValueError, match="empty"):
        function(z, axis=0)


def test_metrics_of_scalars_are_numpy_float64_scalars():
    a, b = np.float32(1), np.float32(2)
    assert type(ulp_distance(a, b)) is np.float64
    assert type(relative_error(a, b)) is np.float64
    assert ulp_distance(np.ones((2, 2), np.float16), np.ones((2, 2), np.float16)).shape == (2, 2)
    assert relative_error(np.ones(2, np.float16), np.ones(2, np.float16)).shape == (2,)


def test_round_mpf_returns_a_scalar_of_the_target_dtype(dtype):
    x = reference.round_mpf(mpmath.mpf(1) / 3, dtype)
    assert type(x) is dtype.type


def test_an_unknown_summation_names_the_choices():
    with pytest.raises(ValueError, match="unknown summation 'kahn': expected one of " + ", ".join(sm.SUMMATIONS)):
        sm.softmax_shifted(np.ones(3), summation="kahn")


@pytest.mark.parametrize("function", [f for f in sm.IMPLEMENTATIONS.values()], ids=lambda f: f.__name__)
def test_implementations_compute_under_a_raising_errstate(function):
    """Overflow, underflow, inf - inf and log(0) are what the study measures:
    the implementations silence them locally, so a caller's
    np.errstate(all="raise") must not turn them into exceptions."""
    rows = np.array(
        [
            [100.0, 0.0, -120.0],  # exp overflows and underflows in float32
            [-np.inf, -np.inf, -np.inf],  # fully masked: 0/0, log(0), inf - inf
            [np.inf, 1.0, -np.inf],
        ],
        dtype=np.float32,
    )
    with np.errstate(all="raise"):
        function(rows)


def _signalling_nan_bfloat16():
    return np.array([0x7F81, 0x3F80], dtype=np.uint16).view(ml_dtypes.bfloat16)


def test_metrics_are_silent_on_signalling_nans():
    """ml_dtypes warns ("invalid value") when np.isnan meets a signalling
    bfloat16 NaN; the metrics treat it as any NaN, without a warning."""
    x = _signalling_nan_bfloat16()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        np.testing.assert_array_equal(ulp_distance(x, x), [0.0, 0.0])
        assert classify(x, x) == "ok"


def test_every_study_dtype_is_covered():
    assert {d.name for d in DTYPES} == {"float64", "float32", "float16", "bfloat16"}


def test_round_mpf_keeps_the_sign_of_infinity():
    for dtype in DTYPES:
        assert reference.round_mpf(mpmath.inf, dtype) == np.inf
        assert reference.round_mpf(-mpmath.inf, dtype) == -np.inf
    # float8_e4m3fn has no infinity: NaN
    assert np.isnan(reference.round_mpf(mpmath.inf, ml_dtypes.float8_e4m3fn))


@pytest.mark.parametrize(
    "axis, error, message",
    [(None, TypeError, "axis must be an integer, got None"), (2, ValueError, "axis 2 is out of range"),
     (-3, ValueError, "axis -3 is out of range"), (True, TypeError, "axis must be an integer")],
)  # fmt: skip
def test_a_bad_axis_is_named(axis, error, message):
    for function in (sm.softmax_shifted, reference.softmax, sm.logsumexp_naive):
        with pytest.raises(error, match=message):
            function(np.ones((2, 3)), axis=axis)


def test_big_endian_input_gives_the_native_result():
    z = np.array([1.0, 2.0, 30.0])
    np.testing.assert_array_equal(sm.softmax_shifted(z.astype(">f8")), sm.softmax_shifted(z))
    np.testing.assert_array_equal(reference.log_softmax(z.astype(">f4")), reference.log_softmax(z.astype("<f4")))
