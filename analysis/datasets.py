"""Real data shipped with the project (I/O; no numerics).

``mnist_logits()``: the 2,500 ten-logit vectors of Blanchard, Higham &
Higham (2021) -- pre-softmax outputs of a small LeCun-style network on MNIST
validation images, float32 -- from the public repository
higham/logsumexp-softmax-tests (variable ``softmat`` of
``data_presoftmax.mat``), BSD licence in ``data/bhh2021/license.txt``,
provenance in ``data/bhh2021/README.md``.

Reference: P. Blanchard, D. J. Higham, N. J. Higham, "Accurately computing
the log-sum-exp and softmax functions", IMA J. Numer. Anal. 41(4), 2021,
https://doi.org/10.1093/imanum/draa038, Section 5.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

MNIST_CSV = Path(__file__).with_name("data") / "bhh2021" / "mnist_presoftmax.csv"
MNIST_SHA256 = "4c0219f5579493d056d285537ca9550fc06e2a5f5c921c4e9044fee82acd220d"


class DataError(ValueError):
    """A shipped data file is missing, altered or malformed."""


def mnist_logits() -> tuple[np.ndarray, np.ndarray]:
    """(labels int64 (2500,), logits float32 (2500, 10)), checksum-verified."""
    try:
        raw = MNIST_CSV.read_bytes()
    except OSError as err:
        raise DataError(f"{MNIST_CSV}: cannot read: {err}") from None
    if hashlib.sha256(raw).hexdigest() != MNIST_SHA256:
        raise DataError(f"{MNIST_CSV}: checksum mismatch (expected sha256 {MNIST_SHA256})")
    table = np.loadtxt(MNIST_CSV, delimiter=",", skiprows=1, dtype=np.float64)
    labels = table[:, 0].astype(np.int64)
    logits = table[:, 1:].astype(np.float32)
    # Each value was written so that it round-trips: float32 -> float64 is exact.
    if not np.array_equal(logits.astype(np.float64), table[:, 1:]):
        raise DataError(f"{MNIST_CSV}: values are not exactly float32")
    return labels, logits
