"""The sweep's computation: a study's grid split into chunks, one per
(family, dtype, n), each turned into rows of errors against the correctly
rounded truth.  Pure: no files; :mod:`analysis.sweep` caches and writes.
"""

from __future__ import annotations

import math

import numpy as np

from .. import families, fastref, peers
from ..formats import FORMATS
from ..metrics import FAILURES, bits_from_ulps, grade, judged_by_ulps, relative_error, ulp_distance
from ..reference import TRUTH_INDEX
from ..store.schema import BLOCK, COLUMNS, FLOAT_COLUMNS, TEXT_COLUMNS  # noqa: F401

IMPLEMENTATIONS = peers.IMPLEMENTATIONS  # ours and SciPy's
# Outputs that are logarithms (added to numbers of order 1): graded by absolute error near 0.
LOG_DOMAIN = ("logsumexp", "log_softmax")


def _row_nanmedian(a: np.ndarray) -> np.ndarray:
    """np.nanmedian(a, axis=1) for rows with at least one number, the same
    values ((a + b) / 2 of the middle pair of the sorted numbers, as numpy's
    median), without numpy's per-row loop when some rows hold a NaN."""
    s = np.sort(a, axis=1)  # NaNs last
    k = np.count_nonzero(~np.isnan(a), axis=1)
    rows = np.arange(len(a))
    low, high = s[rows, (k - 1) // 2], s[rows, k // 2]
    return (low + high) / 2


def _metrics_rows(function, computed, truth, n):
    """Per-vector grade (metrics.grade; log-domain for logsumexp and
    log-softmax), ULP and bits statistics where the grade is not a failure
    (over the components measured in ULPs: metrics.judged_by_ulps), relative
    error, sum check."""
    if computed.ndim == 1:  # logsumexp: one value per vector
        computed, truth = computed[:, None], truth[:, None]
    ulps = ulp_distance(computed, truth)
    grades = np.atleast_1d(grade(computed, truth, log_domain=function in LOG_DOMAIN, ulps=ulps))
    # A component graded by its absolute error (a log-probability within u of
    # a truth near 0; a subnormal truth flushed to 0): its ULPs measure
    # nothing a user sees, left out (NaN).
    ulps = np.where(judged_by_ulps(computed, truth, function in LOG_DOMAIN, ulps=ulps), ulps, np.nan)
    ok = ~np.isin(grades, FAILURES) & ~np.all(np.isnan(ulps), axis=1)
    bits = bits_from_ulps(ulps)  # bits_of_error, from the ULPs already at hand
    stats = np.full((len(grades), 4), np.nan)
    if ok.any():
        stats[ok] = np.column_stack(
            [np.nanmax(ulps[ok], axis=1), _row_nanmedian(ulps[ok]),
             np.nanmax(bits[ok], axis=1), _row_nanmedian(bits[ok])]
        )  # fmt: skip
    none = (None, None, None, None)
    # Python floats and lists once per chunk, not numpy scalars per row.
    stats = [tuple(s) if k else none for s, k in zip(stats.tolist(), ok.tolist())]
    if function == "logsumexp":
        rel = relative_error(computed[:, 0], truth[:, 0]).tolist()
    else:
        rel = [None] * len(grades)
    sums = [None] * len(grades)
    if function == "softmax":
        # The exact sum of the outputs (fsum), rounded to the format, within
        # n ulps of 1.
        totals = np.array([math.fsum(row) for row in computed.astype(np.float64).tolist()])
        with np.errstate(over="ignore", invalid="ignore"):
            close = ulp_distance(totals.astype(computed.dtype), np.ones_like(computed[:, 0])) <= n
        sums = np.atleast_1d(close).tolist()
    return [(gr, *s, r, c) for gr, s, r, c in zip(grades.tolist(), stats, rel, sums)]


def chunk_vectors(task: dict) -> tuple[np.ndarray, list[tuple]]:
    """The input vectors of one chunk (rows of a 2-D array in the chunk's
    dtype) and their (offset, gap, scale, draw) parameters; vectors that
    overflowed the format on conversion are left out."""
    family, dtype_name, n = task["family"], task["dtype"], task["n"]
    dtype = FORMATS[dtype_name].dtype
    if family == "two_level":
        grid = [(c, g) for c in task["offsets"] for g in task["gaps"]]
        z = families.two_level([p[0] for p in grid], [p[1] for p in grid], n, dtype)
        params = [(c, g, None, None) for c, g in grid]
    else:
        grid = [(s, d) for s in task["scales"] for d in range(task["draws"])]
        z = np.concatenate(
            [families.scaled_normal([s], task["seed"], n, d, dtype) for s, d in grid]
        ).reshape(len(grid), n)
        params = [(None, None, s, d) for s, d in grid]
    # An input that already overflowed the format is not a point of the study.
    with np.errstate(invalid="ignore"):
        keep = np.all(np.isfinite(z), axis=-1)
    return z[keep], [p for p, k in zip(params, keep) if k]


def _sort_key(row):
    def num(v):
        return -math.inf if v is None else v

    return (row[0], row[1], row[2], row[3], row[4], num(row[5]), num(row[6]), num(row[7]), num(row[8]))


def compute_chunk(task: dict) -> dict[tuple, dict]:
    """All rows of one (family, dtype, n) chunk, per (family, function,
    method, dtype, n) block, as columns (:func:`block_columns`), each block
    sorted by (offset, gap, scale, draw)."""
    family, dtype_name, n = task["family"], task["dtype"], task["n"]
    z, params = chunk_vectors(task)
    truths = fastref.truths(z)
    rows = []
    for function in task["functions"]:
        truth = truths[TRUTH_INDEX[function]]
        for method in task["methods"]:
            if (function, method) not in IMPLEMENTATIONS:  # e.g. exp_lse is a softmax only
                continue
            computed = IMPLEMENTATIONS[function, method](z, summation=task["summation"])
            for p, m in zip(params, _metrics_rows(function, computed, truth, n)):
                rows.append((family, function, method, dtype_name, n, *p, *m))
    rows.sort(key=_sort_key)
    blocks: dict[tuple, list] = {}
    for row in rows:
        blocks.setdefault(row[:5], []).append(row)
    return {block: block_columns(members) for block, members in blocks.items()}


def block_columns(rows: list[tuple]) -> dict:
    """Rows of one block as columns: the numbers as float64 (NaN where not
    applicable), ``grade`` as text, ``sums_to_one`` as True/False/None."""
    columns = dict(zip(COLUMNS, zip(*rows)))
    return {
        **{name: np.array(columns[name], np.float64) for name in FLOAT_COLUMNS},  # None -> NaN
        "grade": list(columns["grade"]),
        "sums_to_one": list(columns["sums_to_one"]),
    }


def tasks(cfg) -> list[dict]:
    """The chunks of a study (a :class:`analysis.config.Config`)."""
    common = {"functions": list(cfg.functions), "summation": cfg.summation}
    offsets = families.offsets(cfg.offset_decades, cfg.offset_points, cfg.threshold_factors).tolist()
    gaps = families.gaps(cfg.gap_decades, cfg.gap_points, cfg.threshold_factors).tolist()
    scales = families.scales(cfg.scale_decades, cfg.scale_points).tolist()
    out = []
    for dtype in cfg.dtypes:
        for n in cfg.lengths:
            # The comparison's extra methods run on the same vectors at the
            # extra_lengths only (their cost grows with n; see study.toml).
            methods = list(cfg.methods) + (list(cfg.extra_methods) if n in cfg.extra_lengths else [])
            task = {"methods": methods, **common}
            out.append({"family": "two_level", "dtype": dtype, "n": n, "offsets": offsets, "gaps": gaps, **task})
            out.append(
                {"family": "scaled_normal", "dtype": dtype, "n": n, "scales": scales,
                 "draws": cfg.draws, "seed": cfg.seed, **task}
            )  # fmt: skip
    return out
