"""The vendored real logits: intact, exactly float32, as the paper reports."""

from pathlib import Path

import numpy as np
import pytest

from analysis import datasets
from analysis import softmax as sm

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "bhh2021" / "mnist_presoftmax.csv"


def test_checksum_shape_and_licence():
    labels, logits = datasets.mnist_logits()
    assert logits.shape == (2500, 10) and logits.dtype == np.float32
    assert set(labels.tolist()) == set(range(10))
    assert (datasets.MNIST_CSV.parent / "license.txt").is_file()  # BSD: keep the licence beside the data
    if SHARED.is_file():  # the copy is byte-identical to the shared original
        assert SHARED.read_bytes() == datasets.MNIST_CSV.read_bytes()


def test_altered_file_is_refused(tmp_path, monkeypatch):
    altered = tmp_path / "mnist_presoftmax.csv"
    altered.write_bytes(datasets.MNIST_CSV.read_bytes().replace(b"9.868", b"9.869", 1))
    monkeypatch.setattr(datasets, "MNIST_CSV", altered)
    with pytest.raises(datasets.DataError, match="checksum"):
        datasets.mnist_logits()


def test_half_precision_overflow_count_of_the_paper():
    """BHH 2021, Section 5: in half precision the unshifted log-sum-exp
    overflows on 475 of the 2,500 vectors and the shifted one on none (every
    summation order here agrees); bfloat16's range gives none either."""
    import ml_dtypes

    _, logits = datasets.mnist_logits()
    for summation in sm.SUMMATIONS:
        half = logits.astype(np.float16)
        assert np.isinf(sm.logsumexp_naive(half, summation=summation)).sum() == 475
        assert np.isinf(sm.logsumexp_shifted(half, summation=summation)).sum() == 0
        bf16 = logits.astype(ml_dtypes.bfloat16)
        assert np.isinf(sm.logsumexp_naive(bf16, summation=summation)).sum() == 0
