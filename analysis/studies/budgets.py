"""Error budgets: the regression guard on numerical error.

For every (function, method, dtype, summation) the worst and median ULP error
(over the components of the vectors that do not fail and, for the log
outputs, are measured in ulps: metrics.grade, metrics.judged_by_ulps) and the
counts of each grade on a fixed,
seeded regression set.  ``tests/test_budgets.py`` recomputes them and fails on
any increase; ``make baseline`` (``tools/baselines.py budgets``)
accepts improvements by rewriting ``tests/baselines/error_budgets.json`` and
shows the difference.

The regression set: random normal vectors (n = 2, 10, 100; scales 0.1 to
100; seeded), two-level vectors just below, at and above every format's
thresholds (ln max, -ln smallest normal, -ln smallest subnormal) on the
offset axis (gap 0) and on the gap axis (offset 0), 100 seeded rows of
the real MNIST logits of Blanchard, Higham & Higham (2021), and the worst
inputs of the worst-case search kept in ``tests/baselines/worst_cases.json``
(those found in the format being measured).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from .. import crmath, datasets, families, fastref
from .. import softmax as sm
from ..formats import FORMATS, STUDY_DTYPES
from ..metrics import FAILURES, GRADES, grade, judged_by_ulps, ulp_distance
from ..reference import TRUTH_INDEX

SEED = 20261125
BASELINE = Path(__file__).resolve().parent.parent.parent / "tests" / "baselines" / "error_budgets.json"
WORST_CASES = BASELINE.with_name("worst_cases.json")

# (function, method) -> (implementation, index into fastref.truths (= reference.truths), sums?)
CASES = {
    **{key: (f, TRUTH_INDEX[key[0]], True) for key, f in sm.IMPLEMENTATIONS.items()},
    ("log_softmax", "max_approx"): (sm.log_softmax_max_approx, 2, False),
}


def regression_set(dtype) -> list[np.ndarray]:
    """The fixed vectors of the budget, in dtype (inputs that overflow the
    format on conversion are left out)."""
    rng = np.random.default_rng(SEED)
    vectors = []
    for n in (2, 10, 100):
        for scale in (0.1, 1.0, 10.0, 100.0):
            for _ in range(5):
                vectors.append(rng.standard_normal(n) * scale)
    thresholds = families.format_thresholds()
    for n in (2, 100):
        for t in thresholds:
            for delta in (-0.5, 0.0, 0.5):
                vectors.append(families.two_level(t + delta, 0.0, n, np.float64))
                vectors.append(families.two_level(0.0, t + delta, n, np.float64))
    _, logits = datasets.mnist_logits()
    rows = np.random.default_rng(SEED).choice(len(logits), 100, replace=False)
    vectors.extend(logits[np.sort(rows)].astype(np.float64))
    if WORST_CASES.exists():  # written by tools/baselines.py worstcases (make worstcases)
        for case in json.loads(WORST_CASES.read_text(encoding="utf-8")):
            if case["dtype"] == np.dtype(dtype).name:
                vectors.append(np.array([float.fromhex(h) for h in case["input_hex"]]))
    out = []
    with np.errstate(over="ignore"):
        for v in vectors:
            z = crmath.to_format(np.asarray(v, dtype=np.float64), dtype)
            if np.all(np.isfinite(z)):
                out.append(z)
    return out


def measure(dtypes=STUDY_DTYPES) -> dict:
    """{'function/method/dtype/summation': {worst_ulp, median_ulp, grades}}.

    The vectors are evaluated as one 2-D array per length (every
    implementation works row by row, so the results are those of one call
    per vector)."""
    budgets = {}
    for dtype_name in dtypes:
        dtype = FORMATS[dtype_name].dtype
        vectors = regression_set(dtype)
        groups = [np.stack([z for z in vectors if z.size == n]) for n in sorted({z.size for z in vectors})]
        truths = [fastref.truths(z) for z in groups]  # bit-identical to reference.truths, faster
        for (function, method), (f, index, sums) in CASES.items():
            for summation in sm.SUMMATIONS if sums else ("none",):
                ulps, grades = [], {g: 0 for g in GRADES}
                log_domain = function in ("logsumexp", "log_softmax")
                for z, truth in zip(groups, truths):
                    computed = f(z, summation=summation) if sums else f(z)
                    expected = truth[index]
                    if computed.ndim == 1:  # logsumexp: one value per vector
                        computed, expected = computed[:, None], expected[:, None]
                    rows = np.atleast_1d(grade(computed, expected, log_domain=log_domain))
                    for g in grades:
                        grades[g] += int(np.sum(rows == g))
                    measured = np.broadcast_to(~np.isin(rows, FAILURES)[:, None], computed.shape)
                    measured = measured & judged_by_ulps(computed, expected, log_domain)
                    ulps.append(ulp_distance(computed, expected)[measured].ravel())
                all_ulps = np.concatenate(ulps)
                budgets[f"{function}/{method}/{dtype_name}/{summation}"] = {
                    "worst_ulp": float(all_ulps.max()) if all_ulps.size else 0.0,
                    "median_ulp": float(np.median(all_ulps)) if all_ulps.size else 0.0,
                    "grades": grades,
                }
    return budgets


def compare(baseline: dict, current: dict) -> tuple[list[str], list[str]]:
    """(regressions, improvements), one line each, against the baseline."""
    worse, better = [], []
    for key in sorted(set(baseline) | set(current)):
        if key not in current or key not in baseline:
            worse.append(f"{key}: {'missing now' if key not in current else 'not in the baseline'}")
            continue
        b, c = baseline[key], current[key]
        for field in ("worst_ulp", "median_ulp"):
            if c[field] > b[field]:
                worse.append(f"{key}: {field} {b[field]:g} -> {c[field]:g} (+{c[field] - b[field]:g} ulp)")
            elif c[field] < b[field]:
                better.append(f"{key}: {field} {b[field]:g} -> {c[field]:g}")
        for name in FAILURES:
            if c["grades"][name] > b["grades"][name]:
                worse.append(f"{key}: {name} outputs {b['grades'][name]} -> {c['grades'][name]}")
            elif c["grades"][name] < b["grades"][name]:
                better.append(f"{key}: {name} outputs {b['grades'][name]} -> {c['grades'][name]}")
    return worse, better


def render(budgets: dict) -> str:
    return json.dumps(budgets, indent=1, sort_keys=True) + "\n"
