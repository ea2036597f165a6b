"""Every method on the real MNIST logits, in every format (pure numerics).

For each format, the 2,500 ten-logit vectors of Blanchard, Higham & Higham
(2021) (``analysis.datasets.mnist_logits``, float32) are rounded to the
format (vectors with an entry that overflows the format are left out and
counted), every (function, method) of ``analysis.peers.IMPLEMENTATIONS`` is
applied, and each vector's error is summarised as the sweep does
(``analysis.studies.sweep._metrics_rows``): its grade (metrics.grade against
the correctly rounded truth of the rounded vector) and, when it is not a
failure, the bits of error of its worst component, log2(1 + ulps).  Per
(function, method, format) we keep the median and the maximum of those
worst-component bits and the number of failures (lost, inf or NaN) -- the
numbers the method ranking of the report shows next to the sweep's.

Reference: BHH 2021, Section 5 (the data); bits of error as in Herbie
(Panchekha et al., PLDI 2015, §3).
"""

from __future__ import annotations

import numpy as np

from .. import datasets, fastref, peers
from ..formats import ALL_DTYPES, FORMATS
from ..metrics import FAILURES, bits_from_ulps, grade, judged_by_ulps, ulp_distance
from ..reference import TRUTH_INDEX


def summarize(computed: np.ndarray, truth: np.ndarray, log_domain: bool = False) -> dict:
    """{"vectors", "not_ok" (failures: lost, inf or NaN), "flushed",
    "median_bits", "max_bits"} of the worst-component bits over the vectors
    (rows) that do not fail, measured in ulps as in the sweep."""
    if computed.ndim == 1:  # logsumexp: one value per vector
        computed, truth = computed[:, None], truth[:, None]
    grades = np.atleast_1d(grade(computed, truth, log_domain=log_domain))
    ok = ~np.isin(grades, FAILURES)
    ulps = ulp_distance(computed, truth)
    # As in the sweep: components judged by absolute error have no ULPs.
    ulps = np.where(judged_by_ulps(computed, truth, log_domain), ulps, np.nan)
    measured = ok & ~np.all(np.isnan(ulps), axis=1)
    worst = bits_from_ulps(np.nanmax(ulps[measured], axis=1)) if measured.any() else np.zeros(0)
    return {
        "vectors": int(ok.size),
        "not_ok": int((~ok).sum()),
        "flushed": int((grades == "flushed").sum()),
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
            methods[f"{function}/{method}"] = summarize(
                f(z), truths[TRUTH_INDEX[function]], log_domain=function in ("logsumexp", "log_softmax")
            )
        out[dtype_name] = {"skipped": int((~finite).sum()), "methods": methods}
    return out
