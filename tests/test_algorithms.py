"""The algorithms of the literature and the SciPy peers:
BHH 2021 Algorithm 4.1 ("log1p"), the division-free softmax ("exp_lse"), the
online softmax of Milakov & Gimelshein 2018 ("online"), compensated
summation ("kahan"), float32 arithmetic for narrow formats ("shifted_fp32"),
the float8 formats, and scipy.special.

Error bounds are those of Blanchard, Higham & Higham, IMA J. Numer. Anal.
41(4), 2021 (BHH), made rigorous to all orders with gamma_B = B u / (1 - B u),
and measured in ulps of the correctly rounded truth t as in
tests/test_softmax.py: |x^ - x| <= gamma_B |x| and |x| < 2**(e+1) with
ulp = 2**(e-p+1) give |x^ - t| <= gamma_B (1 + u) 2**p + 1/2 ulps.  The
theorems assume every operation has relative error <= u; the methods run in
the model arithmetic (their default), where exp, log and log1p are correctly
rounded (analysis.crmath) and +, -, / round once, so u itself is the bound.
"""

import math

import ml_dtypes
import numpy as np
import pytest
import scipy.special
from hypothesis import assume, given
from hypothesis import strategies as st

from analysis import config, peers, reference
from analysis import softmax as sm
from analysis.formats import ALL_DTYPES, FORMATS
from analysis.metrics import ulp_distance
from tests.test_softmax import assert_max_ulp

ALL = [FORMATS[name].dtype for name in ALL_DTYPES]
# The bounds of the theorems say nothing in float8: at n = 2 and spread 0,
# B u = 4 u is 1/2 in float8_e5m2 (u = 1/8) and 1/4 in e4m3fn (u = 1/16), and
# the spread term alone reaches 1/2 at a spread of 2.  The bound tests run on
# the four formats with p >= 8; float8 is covered by the exact cases below.
BOUNDED = [FORMATS[name].dtype for name in ("float16", "bfloat16", "float32", "float64")]


def effective_u(dtype) -> float:
    """The unit roundoff the bounds use: u, every operation of the model
    arithmetic being correctly rounded."""
    return FORMATS[dtype.name].unit_roundoff


def max_ulp(B: float, dtype) -> int:
    """Ulps of the correctly rounded truth allowed by a first-order bound B u_eff."""
    u_eff = effective_u(dtype)
    gamma = B * u_eff / (1 - B * u_eff)
    return math.floor(gamma * (1 + FORMATS[dtype.name].unit_roundoff) * 2 ** FORMATS[dtype.name].precision + 0.5)


def draw_vector(data, dtype, max_n=64, max_spread=200.0):
    """A seeded random vector whose theorem-4.3 bound is below 1/2."""
    u_eff = effective_u(dtype)
    n = data.draw(st.integers(1, max_n))
    assume(3 * n + 2 < 0.45 / u_eff)
    spread = data.draw(st.floats(0, min(max_spread, (0.45 / u_eff - 3 * n - 2) / 2)))
    seed = data.draw(st.integers(0, 2**32 - 1))
    z = (np.random.default_rng(seed).uniform(0, 1, n) * spread - spread / 2).astype(dtype)
    return z, z.astype(np.float64)


def normal_part(truth, dtype):
    """The theorems assume no underflow: the components with |truth| >= the
    smallest normal number."""
    return np.abs(truth.astype(np.float64)) >= FORMATS[dtype.name].smallest_normal


@pytest.mark.parametrize("dtype", BOUNDED, ids=lambda d: d.name)
@given(data=st.data())
def test_log1p_softmax_obeys_theorem_4_3(dtype, data):
    """BHH 2021, Algorithm 4.1 lines 5-7 and Theorem 4.3: softmax_i =
    exp(z_i - m) / (1 + s) with relative error <= (n + 2 + 2 (max z - min z)) u
    to first order (the proof is that of the shifted sum: fl(1 + s) is a
    recursive sum of the same n terms)."""
    z, zf = draw_vector(data, dtype)
    B = z.size + 2 + 2 * (zf.max() - zf.min())
    assume(B * effective_u(dtype) < 0.5)
    truth = reference.softmax(z)
    keep = normal_part(truth, dtype)
    assert_max_ulp(sm.softmax_log1p(z)[keep], truth[keep], max_ulp(B, dtype), f"B={B:.1f}")


@pytest.mark.parametrize("dtype", BOUNDED, ids=lambda d: d.name)
@given(data=st.data())
def test_online_softmax_obeys_the_shifted_bound_with_two_more_roundings_per_step(dtype, data):
    """Milakov & Gimelshein 2018, Algorithm 3: d_j = d_{j-1} exp(m_{j-1} - m_j)
    + exp(z_j - m_j) makes at most 2 more roundings per step than the shifted
    recursive sum (the rescaling exp and the product), each contributing at
    most u to the relative error of d_n: Theorem 4.3's bound with n replaced
    by 3n."""
    z, zf = draw_vector(data, dtype)
    B = 3 * z.size + 2 + 2 * (zf.max() - zf.min())
    assume(B * effective_u(dtype) < 0.5)
    truth = reference.softmax(z)
    keep = normal_part(truth, dtype)
    assert_max_ulp(sm.softmax_online(z)[keep], truth[keep], max_ulp(B, dtype), f"B={B:.1f}")


@pytest.mark.parametrize("dtype", BOUNDED, ids=lambda d: d.name)
@given(data=st.data())
def test_log1p_logsumexp_obeys_theorem_4_2(dtype, data):
    """BHH 2021, Theorem 4.2 for Algorithm 4.1: relative error to first order
    (lse + n - min z) / |lse| u (the leading term as the paper's test code
    chop_test_softmax.m evaluates it, lseshiftbd1), plus 1 u for the final
    rounding of m + log1p(s), which we do not assume that term contains."""
    z, zf = draw_vector(data, dtype)
    lse = float(reference.logsumexp(z.astype(np.float64)))  # the exact value, to float64
    assume(abs(lse) > 0.5)
    B = 1 + (lse + z.size - zf.min()) / abs(lse)
    assume(B * effective_u(dtype) < 0.5)
    truth = reference.logsumexp(z)
    assert_max_ulp(sm.logsumexp_log1p(z), truth, max_ulp(B, dtype), f"B={B:.1f}")


@pytest.mark.parametrize("dtype", BOUNDED, ids=lambda d: d.name)
@given(data=st.data())
def test_exp_lse_softmax_obeys_theorem_4_4(dtype, data):
    """BHH 2021, Theorem 4.4 (the division-free softmax exp(z_i - lse) with lse
    from Algorithm 4.1): relative error <= (1 + max_i |z_i - lse| +
    |lse + n - min z|) u to first order (smbdaltshift in chop_test_softmax.m)."""
    z, zf = draw_vector(data, dtype, max_spread=20.0)
    lse = float(reference.logsumexp(z.astype(np.float64)))
    B = 1 + np.max(np.abs(zf - lse)) + abs(lse + z.size - zf.min())
    assume(B * effective_u(dtype) < 0.5)
    truth = reference.softmax(z)
    keep = normal_part(truth, dtype)
    assert_max_ulp(sm.softmax_exp_lse(z)[keep], truth[keep], max_ulp(B, dtype), f"B={B:.1f}")


@pytest.mark.parametrize("dtype", ALL, ids=lambda d: d.name)
def test_online_equals_shifted_when_the_max_comes_first(dtype):
    """With the max first, every rescaling is by exp(0) = 1 and d_j is the
    recursive shifted sum: bit for bit the same results; n = 1 likewise."""
    rng = np.random.default_rng(5)
    z = (rng.standard_normal((40, 17)) * 3).astype(dtype)
    z = np.sort(z.astype(np.float64), axis=-1)[:, ::-1].astype(dtype)
    for f_online, f_shifted in (
        (sm.softmax_online, sm.softmax_shifted),
        (sm.logsumexp_online, sm.logsumexp_shifted),
        (sm.log_softmax_online, sm.log_softmax_shifted),
    ):
        for vectors in (z, z[:, :1]):
            a, b = f_online(vectors), f_shifted(vectors)
            assert a.dtype == b.dtype == dtype
            np.testing.assert_array_equal(a.astype(np.float64), b.astype(np.float64))


def test_online_differs_from_shifted_when_the_max_comes_late():
    """The test above can fail: rescaling rounds, so a late max changes bits."""
    z = (np.random.default_rng(6).standard_normal((200, 17)) * 3).astype(np.float16)
    z = np.sort(z.astype(np.float64), axis=-1).astype(np.float16)  # max last
    assert not np.array_equal(sm.softmax_online(z), sm.softmax_shifted(z))


def test_kahan_beats_recursive_on_an_adversarial_sum():
    """1 followed by 2000 copies of 2**-12 in float16: each 2**-12 is below
    half an ulp of 1 (2**-11), so the recursive sum stagnates at 1 (relative
    error 0.328, measured); compensated summation carries the lost parts and
    meets Higham (2002) eq. (4.8), |error| <= (2u + O(n u^2)) sum |x| -- with
    n u^2 = 2000 * 2**-22 < 2u we allow 4 u sum |x|.  Measured: exact."""
    x = np.array([1.0] + [2.0**-12] * 2000, np.float16)[None, :]
    exact = math.fsum(x[0].astype(np.float64))
    u = FORMATS["float16"].unit_roundoff
    recursive = abs(float(sm._sum(x, "recursive")[0, 0]) - exact)
    kahan = abs(float(sm._sum(x, "kahan")[0, 0]) - exact)
    assert kahan <= 4 * u * exact
    assert recursive > 100 * 4 * u * exact  # the adversarial case is adversarial


@pytest.mark.parametrize("dtype", ALL, ids=lambda d: d.name)
def test_kahan_sum_is_exact_where_every_partial_sum_is(dtype):
    # Partial sums 0.5, 1.5, 3.5, 4: at most 3 significant bits, exact in every format.
    z = np.array([[0.5, 1.0, 2.0, 0.5]], dtype)
    assert sm._sum(z, "kahan")[0, 0] == 4.0


@pytest.mark.parametrize("n", [2, 10, 100])
def test_float32_arithmetic_gives_float16_results_within_one_ulp(n):
    """For z in [-5, 5] and n <= 100 the float32 computation has relative
    error <= (n + 2 + 2 * 10) u_32 <= 122 * 2**-24 < 1e-5 (BHH 2021,
    Theorem 4.3, with numpy's float32 exp at 4 u_32: < 3e-5), far below
    half an ulp of float16 (2**-11 relative = 4.9e-4): the final rounding to
    float16 lands on the correctly rounded value or, when the float32 value
    sits within 3e-5 of a rounding boundary, on its neighbour -- at most
    1 ulp.  Measured: 0 or 1 ulp (softmax), 0 (logsumexp)."""
    z = np.random.default_rng(n).uniform(-5, 5, (300, n)).astype(np.float16)
    truth = reference.truths(z)
    assert_max_ulp(sm.softmax_shifted_fp32(z), truth[0], 1, "softmax")
    assert_max_ulp(sm.logsumexp_shifted_fp32(z), truth[1], 1, "logsumexp")
    assert_max_ulp(sm.log_softmax_shifted_fp32(z), truth[2], 1, "log_softmax")
    # ... and it is more accurate than the same formula in float16:
    assert ulp_distance(sm.softmax_shifted(z), truth[0]).max() > 1


@pytest.mark.parametrize("dtype", [np.dtype(np.float32), np.dtype(np.float64)], ids=str)
def test_fp32_is_shifted_for_wide_formats(dtype):
    z = np.random.default_rng(7).standard_normal((10, 30)).astype(dtype)
    for function in ("softmax", "logsumexp", "log_softmax"):
        a = sm.IMPLEMENTATIONS[function, "shifted_fp32"](z)
        np.testing.assert_array_equal(a, sm.IMPLEMENTATIONS[function, "shifted"](z))
        assert a.dtype == dtype


def test_fixed_summation_methods_ignore_the_keyword():
    z = np.array([1.0] + [2.0**-12] * 2000, np.float16)
    for summation in sm.SUMMATIONS:
        np.testing.assert_array_equal(
            sm.IMPLEMENTATIONS["logsumexp", "shifted_kahan"](z, summation=summation),
            sm.logsumexp_shifted(z, summation="kahan"),
        )


@pytest.mark.parametrize("name", ["float8_e4m3fn", "float8_e5m2"])
def test_float8_ufuncs_round_once(name):
    """ml_dtypes' float8 ufuncs compute in float32 and round once: checked on
    every pair of the 256 bit patterns (+, -, /) and every value (exp, log1p)."""
    dtype = FORMATS[name].dtype
    v = np.arange(256, dtype=np.uint8).view(dtype)
    w = v.astype(np.float32)
    with np.errstate(all="ignore"):
        pairs = [
            (v[:, None] + v[None, :], w[:, None] + w[None, :]),
            (v[:, None] - v[None, :], w[:, None] - w[None, :]),
            (v[:, None] / v[None, :], w[:, None] / w[None, :]),
            (np.exp(v), np.exp(w)),
            (np.log1p(v), np.log1p(w)),
        ]
        for got, wide in pairs:
            np.testing.assert_array_equal(got.astype(np.float64), wide.astype(dtype).astype(np.float64))


@pytest.mark.parametrize("dtype", ALL, ids=lambda d: d.name)
def test_every_method_accepts_every_format(dtype):
    z = np.array([[0.5, -1.0, 2.0], [0.0, 0.0, 0.0]], dtype)
    for (function, method), f in peers.IMPLEMENTATIONS.items():
        out = f(z)
        assert out.dtype == dtype
        assert out.shape == ((2,) if function == "logsumexp" else (2, 3))
        if method == "scipy" and dtype == np.float16:
            # np.sum of float16 keeps float32 partial sums on a contiguous
            # axis only (analysis.softmax, "numpy"): SciPy's results depend
            # on the memory layout there, ours do not.
            continue
        out_axis0 = f(z.T.copy(), axis=0)
        np.testing.assert_array_equal(np.asarray(out_axis0).T if out.ndim == 2 else out_axis0, out)


# --- SciPy ----------------------------------------------------------------


@pytest.mark.parametrize("dtype", ALL, ids=lambda d: d.name)
def test_scipy_wrappers_agree_with_scipy(dtype):
    z = (np.random.default_rng(8).standard_normal((20, 7)) * 4).astype(dtype)
    for ours, theirs in (
        (peers.scipy_softmax, scipy.special.softmax),
        (peers.scipy_logsumexp, scipy.special.logsumexp),
        (peers.scipy_log_softmax, scipy.special.log_softmax),
    ):
        expected = np.asarray(theirs(z, axis=-1)).astype(dtype)
        np.testing.assert_array_equal(ours(z).astype(np.float64), expected.astype(np.float64))


def test_scipy_dtypes():
    """What scipy 1.17.1 computes in (documented in analysis.peers): softmax
    and log_softmax keep the input dtype; logsumexp keeps float64/32/16 and
    promotes bfloat16 and float8_e4m3fn to float64, float8_e5m2 to float32."""
    promoted = {"bfloat16": "float64", "float8_e4m3fn": "float64", "float8_e5m2": "float32"}
    for name in ALL_DTYPES:
        z = np.array([1.0, 2.0, 3.5], FORMATS[name].dtype)
        assert scipy.special.softmax(z).dtype.name == name
        assert scipy.special.log_softmax(z).dtype.name == name
        assert np.asarray(scipy.special.logsumexp(z)).dtype.name == promoted.get(name, name)


def test_scipy_logsumexp_leaves_out_every_tied_max():
    """SciPy >= 1.15 takes all maxima out of the sum (lse = m + log c +
    log1p(s / c)); Algorithm 4.1 takes out one.  With 3 tied maxima and
    nothing else SciPy computes log(3) + log1p(0), the correctly rounded
    log 3; Algorithm 4.1 computes log1p(2), 1 ulp below it in float64
    (measured; libm's log1p is not correctly rounded)."""
    z = np.array([0.0, 0.0, 0.0])
    assert peers.scipy_logsumexp(z) == reference.logsumexp(z)
    assert ulp_distance(sm.logsumexp_log1p(z), reference.logsumexp(z)) <= 1


def test_config_methods_are_the_registry():
    assert set(config.METHODS) == {method for _, method in peers.IMPLEMENTATIONS}


# --- special values ---------------------------------------------------------

NAN = math.nan
INF = math.inf
# input -> {(function, method): expected output}, for what differs from the
# truth; every other (function, method) must equal reference.truths exactly.
SPECIAL = {
    "mask after the max": np.array([1.0, -INF, 0.5]),
    "leading mask": np.array([-INF, 1.0, 0.5]),
    "fully masked": np.array([-INF, -INF, -INF]),
    "n = 1": np.array([2.5]),
    "all equal": np.array([3.0, 3.0, 3.0, 3.0]),
}
# Where a method departs from the correctly rounded answer (checked below):
# the online softmax's first step exp(m_0 - m_1) is exp(-inf - (-inf)) = NaN
# for a leading mask and for a fully masked row; the division-free softmax's
# exp(z_i - lse) is -inf - (-inf) = NaN for a fully masked row, where the truth
# is NaN anyway (0/0).
DEPARTS = {
    "leading mask": {("softmax", "online"), ("logsumexp", "online"), ("log_softmax", "online")},
    "fully masked": {("logsumexp", "online")},
}


def _same(a, b) -> bool:
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return bool(np.all((a == b) | (np.isnan(a) & np.isnan(b))))


@pytest.mark.parametrize("case", SPECIAL, ids=list(SPECIAL))
def test_special_values(case):
    """Masks, a fully masked row, n = 1 and ties: every method returns the
    correctly rounded truth (NaN softmax for a fully masked row, -inf
    logsumexp) except the documented departures of DEPARTS."""
    z = SPECIAL[case]
    truth = dict(zip(("softmax", "logsumexp", "log_softmax"), reference.truths(z)))
    wrong = set()
    for (function, method), f in peers.IMPLEMENTATIONS.items():
        if method == "naive" or (method == "exp_lse" and case == "all equal"):
            continue  # naive: not a stable method; exp_lse rounds lse first (within its bound)
        with np.errstate(all="ignore"):
            out = f(z)
        if not _same(out, truth[function]):
            # n = 1, all-equal and masks are exact cases for every stable method
            # except where rounding lse first costs an ulp (checked by bounds above)
            if ulp_distance(out, truth[function]).max() <= 1 and np.all(np.isfinite(np.asarray(out, float))):
                continue
            wrong.add((function, method))
    assert wrong == DEPARTS.get(case, set())


def test_online_leading_mask_is_nan_as_written():
    out = sm.softmax_online(np.array([-INF, 1.0, 0.5]))
    assert np.all(np.isnan(out))


def test_float8_e4m3fn_has_no_inf_so_overflow_is_nan():
    z = np.array([400.0, 400.0], ml_dtypes.float8_e4m3fn)
    assert np.all(np.isnan(sm.softmax_naive(z).astype(np.float64)))
    np.testing.assert_array_equal(sm.softmax_log1p(z).astype(np.float64), [0.5, 0.5])


def test_finite_output_where_the_e4m3fn_truth_overflows_is_not_ok():
    """z = (16, -448): log_softmax_2 = -464 - tiny lies beyond max + ulp(max)/2
    = 464 of float8_e4m3fn, so the correctly rounded truth is NaN (no
    infinity); the shifted method returns a finite number there, which
    classify counts as an overflow ("inf"), not as ok."""
    from analysis.metrics import classify

    z = np.array([16.0, -448.0], ml_dtypes.float8_e4m3fn)
    truth = reference.log_softmax(z)
    assert np.isnan(float(truth[1]))
    computed = sm.log_softmax_shifted(z)
    assert np.isfinite(float(computed[1]))
    assert classify(computed, truth) == "inf"


def test_fixed_summation_variants_say_which_order_they_use():
    """help() on a variant names its fixed order before the formula."""
    for method, order in (("shifted_kahan", "kahan"), ("shifted_pairwise", "pairwise")):
        doc = sm.IMPLEMENTATIONS["softmax", method].__doc__
        assert doc.startswith(f"softmax_shifted with summation={order!r}"), doc


@pytest.mark.parametrize("dtype", ["float64", "float32", "float16", "bfloat16"])
def test_a_batch_equals_its_rows_one_by_one(dtype):
    """Every method works along its axis only: a row's result must not depend
    on the other rows of the batch -- a fully masked row, a +inf row or a
    NaN row next to ordinary ones included (a max, a mask or a finiteness
    test taken over the whole array instead of the row would differ)."""
    inf = math.inf
    rows = np.array(
        [[0.0, 1.0, -2.0], [-inf, -inf, -inf], [3.0, 3.0, -inf], [inf, 1.0, 0.0], [math.nan, 0.0, 1.0],
         [5.0, -1.0, 2.0]],  # fmt: skip
        FORMATS[dtype].dtype,
    )
    for (function, method), f in sm.IMPLEMENTATIONS.items():
        batch = np.asarray(f(rows)).astype(np.float64)
        alone = np.stack([np.asarray(f(row)).astype(np.float64) for row in rows])
        np.testing.assert_array_equal(batch, alone, err_msg=f"{function}/{method}")
        # The same along axis 0 of the transposed batch.
        columns = np.asarray(f(np.ascontiguousarray(rows.T), axis=0)).astype(np.float64)
        columns = columns.T if columns.ndim == 2 else columns
        np.testing.assert_array_equal(columns, batch, err_msg=f"{function}/{method}")
