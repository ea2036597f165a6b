"""The computations under study: examples, summation orders, failure modes,
and the error bound of Blanchard, Higham & Higham (2021), Theorem 4.3."""

import math

import mpmath
import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from analysis import reference
from analysis import softmax as sm
from analysis.formats import FORMATS, format_of
from analysis.metrics import ulp_distance
from tests.conftest import DTYPES

SUMMING = [
    sm.softmax_naive,
    sm.softmax_shifted,
    sm.logsumexp_naive,
    sm.logsumexp_shifted,
    sm.log_softmax_naive,
    sm.log_softmax_shifted,
    sm.std_norm,
]
ALL = SUMMING + [sm.log_softmax_max_approx]


def assert_max_ulp(actual, desired, maxulp, what=""):
    """ulp_distance(actual, desired) <= maxulp everywhere (any study dtype)."""
    distance = ulp_distance(actual, desired)
    worst = np.max(distance)
    assert worst <= maxulp, f"{what}: {worst} ulp > {maxulp} ulp at {np.argmax(distance)}"


# --- the examples users start from ----------------------------------------


def test_softmax_examples_float64():
    for f in (sm.softmax_naive, sm.softmax_shifted):
        # Each is a handful of correctly rounded operations on n = 2: the
        # measured error is at most 1 ulp of the correctly rounded truth.
        assert_max_ulp(f(np.array([1.0, 2.0])), reference.softmax(np.array([1.0, 2.0])), 1, f.__name__)
        np.testing.assert_allclose(f(np.array([1.0, 2.0])), [0.26894142, 0.73105858], rtol=2e-8)
        np.testing.assert_allclose(f(np.array([10.0, 20.0])), [4.5397868e-05, 0.9999546], rtol=1e-7)


def test_std_norm_ignores_scale_softmax_does_not():
    for z in ([1.0, 2.0], [10.0, 20.0]):
        # Two correctly rounded divisions by an exact sum: exactly fl(1/3), fl(2/3).
        np.testing.assert_array_equal(sm.std_norm(np.array(z)), [1 / 3, 2 / 3])
    assert not np.allclose(sm.softmax_shifted(np.array([1.0, 2.0])), sm.softmax_shifted(np.array([10.0, 20.0])))


def test_logsumexp_examples_float64():
    cases = {
        (1.0, 2.0, 3.0): 3.407605964444380,
        (1.0, 2.0, 30.0): 30.000000000000945,
        (1.0, 2.0, -3.0): 2.318175429247454,
    }
    for z, truth in cases.items():
        for f in (sm.logsumexp_naive, sm.logsumexp_shifted):
            # n = 3, |lse| >= 2.3: the bounds of BHH Thm 3.2/4.2 are a few u
            # relative, i.e. a few ulp; 2 ulp is what float64 gives here.
            assert_max_ulp(f(np.array(z)), np.float64(truth), 2, f"{f.__name__}{z}")


def test_zeros_100():
    z = np.zeros(100)
    for f in (sm.logsumexp_naive, sm.logsumexp_shifted):
        # The sum is 100 exactly, so only log rounds: <= 1 ulp (numpy's log
        # is faithful in float64).
        assert_max_ulp(f(z), np.float64(math.log(100)), 1)
    for f in (sm.softmax_naive, sm.softmax_shifted):
        np.testing.assert_array_equal(f(z), np.full(100, 0.01))  # 1/100 correctly rounded


def test_1000_1_1_overflows_naive_not_shifted():
    z = np.array([1000.0, 1.0, 1.0])
    naive = sm.softmax_naive(z)
    assert not np.all(np.isfinite(naive))  # exp(1000) = inf, inf/inf = NaN
    np.testing.assert_array_equal(sm.softmax_shifted(z), reference.softmax(z))
    assert sm.logsumexp_naive(z) == np.inf
    assert sm.logsumexp_shifted(z) == 1000.0


# --- summation orders and what np.sum does --------------------------------


def test_numpy_sum_behaviour():
    """Pins what np.sum does per dtype (documented in analysis/softmax.py)."""
    import ml_dtypes

    tenth16 = np.full((1, 4096), 0.1, np.float16)
    assert sm._sum(tenth16, "numpy")[0, 0] == 409.5  # float32 accumulator
    assert sm._sum(tenth16, "recursive")[0, 0] == 256.0  # stagnates: 256 + 0.1 -> 256
    assert sm._sum(tenth16, "pairwise")[0, 0] == 409.5  # exact doublings, one rounding
    tenth_bf = np.full((1, 4096), 0.1, ml_dtypes.bfloat16)
    assert sm._sum(tenth_bf, "numpy")[0, 0] == 32.0  # sequential, rounded every step
    assert sm._sum(tenth_bf, "recursive")[0, 0] == 32.0
    assert sm._sum(tenth_bf, "pairwise")[0, 0] == 410.0
    rng = np.random.default_rng(5)
    x = rng.random((40, 3000))
    for dtype in DTYPES:
        y = x.astype(dtype)
        numpy_sum = sm._sum(y, "numpy")[:, 0]
        recursive = sm._sum(y, "recursive")[:, 0]
        as_float32 = np.sum(y.astype(np.float32), axis=-1).astype(dtype)
        if dtype.name == "bfloat16":
            np.testing.assert_array_equal(numpy_sum, recursive)
        elif dtype.name == "float16":
            np.testing.assert_array_equal(numpy_sum, as_float32)
        else:  # pairwise in the format: differs from recursive on most rows
            assert np.mean(numpy_sum != recursive) > 0.5
        # A strided axis is summed sequentially by np.sum: same as recursive.
        strided = np.sum(np.asfortranarray(y), axis=-1)
        np.testing.assert_array_equal(strided, recursive)


@pytest.mark.parametrize("summation", sm.SUMMATIONS)
def test_summations_agree_on_exact_sums(summation, dtype):
    z = np.array([[0.5, 0.25, 0.125, 1.0, 2.0]], dtype)  # every partial sum exact
    assert sm._sum(z, summation)[0, 0] == 3.875


def test_bad_arguments():
    with pytest.raises(ValueError, match="summation 'bogus'"):
        sm.softmax_shifted(np.zeros(3), summation="bogus")
    for f in ALL:
        with pytest.raises(TypeError, match="int64"):
            f(np.arange(3))
        with pytest.raises(TypeError, match="complex64"):
            f(np.zeros(3, np.complex64))
        with pytest.raises(ValueError, match="empty"):
            f(np.zeros((2, 0)))


@pytest.mark.parametrize("f", ALL, ids=lambda f: f.__name__)
def test_dtype_shape_and_axis(f, dtype):
    rng = np.random.default_rng(2)
    z = rng.standard_normal((4, 3, 5)).astype(dtype)
    for axis in (0, 1, 2, -1):
        out = f(z, axis=axis)
        assert out.dtype == dtype
        reduces = f in (sm.logsumexp_naive, sm.logsumexp_shifted)
        assert out.shape == (tuple(np.delete(z.shape, axis)) if reduces else z.shape), (f.__name__, axis, out.shape)
        vector = np.moveaxis(z, axis, -1)[2, 1]
        expected = f(np.ascontiguousarray(vector))
        got = np.moveaxis(out, axis, -1)[2, 1] if out.ndim == 3 else out[(2, 1)]
        np.testing.assert_array_equal(got, expected)


# --- properties -------------------------------------------------------------


@st.composite
def finite_vectors(draw, dtype, max_n=1000):
    """Finite vectors of any length up to max_n and any scale the format
    holds, from a drawn seed (fast for long vectors)."""
    fmt = format_of(dtype)
    n = draw(st.integers(1, max_n))
    log_scale = draw(st.floats(-3, math.log10(fmt.max) - 1))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    z = rng.standard_normal(n) * 10.0**log_scale
    return np.clip(z, -fmt.max, fmt.max).astype(dtype)


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.name)
@pytest.mark.parametrize("summation", sm.SUMMATIONS)
@given(data=st.data())
def test_shifted_never_overflows_on_finite_input(dtype, summation, data):
    z = data.draw(finite_vectors(dtype))
    assert np.all(np.isfinite(sm.softmax_shifted(z, summation=summation)))
    assert np.isfinite(sm.logsumexp_shifted(z, summation=summation))
    assert not np.any(np.isnan(sm.log_softmax_shifted(z, summation=summation)))


def exp_error_u(d: np.ndarray, arithmetic: str) -> float:
    """c >= 1 such that the arithmetic's exp has relative error at most c u on
    the arguments d (values of one format) where its result is normal.

    "model": exp is correctly rounded (analysis.crmath, tested against MPFR),
    so |delta| <= u / (1 + u) < u: c = 1.  "host": numpy promises no bound
    and its kernels differ by CPU (AVX2, AVX-512), so c is measured here, on
    this machine and on these very arguments, against mpmath at 120 bits."""
    if arithmetic == "model":
        return 1.0
    fmt = format_of(d.dtype)
    with np.errstate(all="ignore"):
        y = np.exp(d)
    keep = np.isfinite(y) & (y.astype(np.float64) >= fmt.smallest_normal)
    worst = 0.0
    with mpmath.workprec(120):
        for a, b in zip(d[keep].astype(np.float64).tolist(), y[keep].astype(np.float64).tolist()):
            t = mpmath.exp(a)
            worst = max(worst, float(abs(mpmath.mpf(b) - t) / t))
    return max(1.0, worst / fmt.unit_roundoff)


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.name)
@pytest.mark.parametrize("summation", ["recursive", "pairwise"])
@pytest.mark.parametrize("arithmetic", sm.ARITHMETICS)
@given(data=st.data())
def test_shifted_softmax_obeys_theorem_4_3(dtype, summation, arithmetic, data):
    """BHH 2021, Theorem 4.3: the shifted softmax with recursive summation
    satisfies |g^_i - g_i| <= gamma_B g_i with B = n + 2 + 2 (max z - min z)
    (first order: B u), barring underflow.  Here gamma_B = B u / (1 - B u)
    makes it rigorous to all orders, and B is raised by 2 (c - 1) where the
    exp used has error c u instead of u (exp_error_u: c = 1 in the model
    arithmetic, measured on this CPU and these arguments for numpy's).
    Pairwise summation only lowers the n term.  Measured in ulps of the
    correctly rounded truth t: |g^ - t| <= gamma_B (1 + u) 2**p + 1/2 ulps."""
    fmt = FORMATS[dtype.name]
    u = fmt.unit_roundoff
    n = data.draw(st.integers(1, 64))
    assume(n + 2 < 0.45 / u)
    spread = data.draw(st.floats(0, min(200.0, (0.45 / u - n - 2) / 2)))
    seed = data.draw(st.integers(0, 2**32 - 1))
    z = (np.random.default_rng(seed).uniform(0, 1, n) * spread - spread / 2).astype(dtype)
    zf = z.astype(np.float64)
    c = exp_error_u(z - z.max(), arithmetic)  # on the arguments exp gets: fl(z - max z), as the method forms them
    B = n + 2 + 2 * (zf.max() - zf.min()) + 2 * (c - 1)
    assume(B * u < 0.5)
    gamma = B * u / (1 - B * u)
    computed = sm.softmax_shifted(z, summation=summation, arithmetic=arithmetic)
    truth = reference.softmax(z)
    normal = truth.astype(np.float64) >= fmt.smallest_normal  # the theorem assumes no underflow
    max_ulp = math.floor(gamma * (1 + u) * 2**fmt.precision + 0.5)
    assert_max_ulp(computed[normal], truth[normal], max_ulp, f"B={B:.1f}")
