"""The reproduction of Blanchard, Higham & Higham (2021), Section 5: the
overflow counts they report, errors within their bounds (the y = x relation
of their figures), the transcriptions against the study's own methods, and
the shape of bhh2021.json."""

import json

import numpy as np
import pytest

from analysis import datasets
from analysis import softmax as sm
from analysis.store.files import jsonable
from analysis.studies import bhh2021, bounds


@pytest.fixture(scope="module")
def logits():
    return datasets.mnist_logits()[1]


@pytest.fixture(scope="module")
def results(logits):
    return {name: bhh2021.run_format(logits, name) for name in ("float16", "bfloat16")}


def test_float16_overflow_counts_of_the_paper(results):
    """Their §5: the unshifted logsumexp overflows on 475 of 2,500 vectors in
    half precision, Algorithm 4.1 on none."""
    summary = bhh2021.summary(results["float16"], "float16")
    assert (summary["lse_naive_inf"], summary["lse_shifted_inf"]) == (475, 0)
    assert summary["vectors_compared"] == 2500 - 475


def test_bfloat16_has_the_range_to_avoid_overflow(results):
    """bfloat16 shares float32's exponent range: ln max = 88.7, far above these logits."""
    summary = bhh2021.summary(results["bfloat16"], "bfloat16")
    assert (summary["lse_naive_inf"], summary["lse_shifted_inf"]) == (0, 0)


@pytest.mark.parametrize("name", ["float16", "bfloat16"])
def test_every_error_is_below_its_bound(results, name):
    """The points of their Figs 5.1-5.2 lie below y = x: measured error <= the
    leading term of each theorem's bound (Theorems 3.2, 3.3, 3.4, 4.2, 4.3,
    4.4), on every vector where the unshifted logsumexp is finite."""
    result = results[name]
    kept = result["kept"]
    for theorem in bounds.THEOREMS:
        error, bound = result["errors"][theorem][kept], result["bounds"][theorem][kept]
        assert np.all(np.isfinite(error)), theorem
        assert np.all(error <= bound), (theorem, float(np.max(error / bound)))


def test_transcription_of_lse_chop_is_the_studys_naive_method(logits):
    """lse_chop.m sums left to right, as the study's recursive summation does:
    the outputs are bit-identical."""
    x = logits.astype(np.float16)
    f, g, _ = bhh2021.lse_chop(x)
    np.testing.assert_array_equal(f, sm.logsumexp_naive(x))
    np.testing.assert_array_equal(g, sm.softmax_naive(x))


def test_alg41_leaves_the_max_out_of_the_sum():
    """Algorithm 4.1 on (0, -inf): s = 0, f = 0 + log1p(0) = 0, g = (1, 0)."""
    f, g, h = bhh2021.lse_chopshift(np.array([[0.0, -np.inf]], dtype=np.float16))
    assert f[0] == 0 and list(g[0]) == [1, 0] and list(h[0]) == [1, 0]


def test_document_schema(logits):
    document, points = bhh2021.study(logits[:40], ("float16", "float32"))
    assert list(document) == ["float16", "float32"]
    for entry in document.values():
        assert isinstance(entry["lse_naive_inf"], int) and isinstance(entry["lse_shifted_inf"], int)
        assert isinstance(entry["softmax_naive_nonfinite"], int)
        for key in ("max_error_u", "bound_ratio", "bound_exceeded", "max_bound_u", "median_error_u"):
            assert set(entry[key]) == set(bounds.THEOREMS), key
        assert set(entry["methods"]) == {f"{f}/{m}" for f, m in sm.IMPLEMENTATIONS}  # not SciPy: CPU-dependent
    # The authors' reference ran in double: float16 and float32 are compared with it.
    assert set(document["float16"]["reference_effect"]) == {"float64"}
    assert set(document["float32"]["reference_effect"]) == {"float64"}
    json.dumps(jsonable(document), allow_nan=False)
    assert set(points["float16"]) == set(bounds.THEOREMS)
