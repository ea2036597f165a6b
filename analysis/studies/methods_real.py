"""Every method on the real MNIST logits, in every format (pure numerics).

For each format, the 2,500 ten-logit vectors of Blanchard, Higham & Higham
(2021) (``analysis.datasets.mnist_logits``, float32) are rounded to the
format (vectors with an entry that overflows the format are left out and
counted), every (function, method) of ``analysis.peers.IMPLEMENTATIONS`` is
applied, and each vector's error is summarised as the sweep does
(``analysis.sweep._metrics_rows``): its status ("ok", "nan", "inf", "zero"
against the correctly rounded truth of the rounded vector) and, when ok, the
bits of error of its worst component, log2(1 + ulps).  Per (function,
method, format) we keep the median and the maximum of those worst-component
bits over the ok vectors and the fraction of vectors that are not ok -- the
numbers the method ranking of the report shows next to the sweep's.

Reference: BHH 2021, Section 5 (the data); bits of error as in Herbie
(Panchekha et al., PLDI 2015, §3).
"""

from __future__ import annotations

import numpy as np

from .. import datasets, fastref, peers
from ..formats import ALL_DTYPES, FORMATS
from ..metrics import bits_from_ulps, classify, ulp_distance
from ..reference import TRUTH_INDEX


def summarize(computed: np.ndarray, truth: np.ndarray) -> dict:
    """{"vectors", "not_ok", "median_bits", "max_bits"} of the worst-component
    bits over the vectors (rows) whose status is ok."""
    if computed.ndim == 1:  # logsumexp: one value per vector
        computed, truth = computed[:, None], truth[:, None]
    ok = np.atleast_1d(classify(computed, truth)) == "ok"
    worst = bits_from_ulps(ulp_distance(computed, truth).max(axis=1))[ok]
    return {
        "vectors": int(ok.size),
        "not_ok": int((~ok).sum()),
        "median_bits": float(np.median(worst)) if worst.size else None,
        "max_bits": float(worst.max()) if worst.size else None,
    }


def real_data_errors(rows: int | None = None, dtypes=ALL_DTYPES) -> dict:
    """{dtype: {"skipped": count, "methods": {"function/method": summary}}}
    on the MNIST logits (the first ``rows`` vectors, or all)."""
    _, logits = datasets.mnist_logits()
    logits = logits[:rows] if rows else logits
    out = {}
    for dtype_name in dtypes:
        with np.errstate(over="ignore"):
            z = logits.astype(FORMATS[dtype_name].dtype)
        finite = np.all(np.isfinite(z), axis=-1)
        z = z[finite]
        truths = fastref.truths(z)  # bit-identical to reference.truths, faster
        methods = {}
        for (function, method), f in peers.IMPLEMENTATIONS.items():
            methods[f"{function}/{method}"] = summarize(f(z), truths[TRUTH_INDEX[function]])
        out[dtype_name] = {"skipped": int((~finite).sum()), "methods": methods}
    return out
