"""Special values: what every method, and SciPy, returns on masked rows,
infinities, NaN, n = 1, very long rows, equal, subnormal and signed-zero
logits, next to the correct answer.

Pure numerics, no I/O.  The correct answer is :mod:`analysis.reference`'s
(correctly rounded, with the IEEE-style limits its docstring states: an
all -inf row has softmax NaN, logsumexp -inf, log-softmax NaN; +inf entries
share the mass).  An output *matches* when it is the same special value
where the truth is special and within ``MATCH_ULPS`` ULPs elsewhere.

The methods are those of ``analysis.softmax.IMPLEMENTATIONS``, of
``analysis.peers.IMPLEMENTATIONS`` when that module exists, and otherwise
SciPy's ``scipy.special.softmax``, ``logsumexp`` and ``log_softmax`` through
the small adapter below (method "scipy").

Reference: IEEE Std 754-2019 §6 (infinity and NaN); scipy.special.logsumexp
(SciPy >= 1.15: a non-finite maximum is replaced by 0 before the shift).
"""

from __future__ import annotations

import math

import ml_dtypes
import numpy as np

from .. import reference
from .. import softmax as sm
from ..formats import FORMATS
from ..metrics import ulp_distance
from ..reference import TRUTH_INDEX

# The cases have n <= 4 (except the long rows), where every method's
# rounding error is a few ulps (BHH 2021 Theorems 3.2-4.4 with n <= 4 and
# |z| <= 1000 in float32 give at most (n + 3) u normwise for softmax, i.e. a few ulps
# on the largest entry); the table is about special values and gross errors.
MATCH_ULPS = 4

_F32, _F16, _BF16 = np.float32, np.float16, ml_dtypes.bfloat16

# name -> (description, vector)
CASES = {
    "masked": ("one entry -inf (a masked position)", np.array([1.0, 2.0, -np.inf, 3.0], _F32)),
    "all_masked": ("every entry -inf (a fully masked row)", np.full(4, -np.inf, _F32)),
    "masked_large": ("a masked row whose other entry overflows exp", np.array([1000.0, -np.inf], _F32)),
    "pos_inf": ("one entry +inf", np.array([1.0, np.inf, 2.0], _F32)),
    "two_pos_inf": ("two entries +inf", np.array([np.inf, np.inf, 0.0], _F32)),
    "nan": ("one entry NaN", np.array([1.0, np.nan, 2.0], _F32)),
    "n1": ("n = 1", np.array([5.0], _F32)),
    "n1_large": ("n = 1, exp overflows", np.array([100.0], _F32)),
    "equal": ("all entries equal", np.full(4, 7.0, _F32)),
    "equal_large": ("all entries equal and large", np.full(3, 1000.0, _F32)),
    "subnormal": ("subnormal logits", np.array([2.0**-149, 2.0**-140, 0.0], _F32)),
    "signed_zero": ("-0.0 and +0.0", np.array([-0.0, 0.0], _F32)),
    "long_float16": ("4,096 equal entries in float16 (a float16 sum of ones stops at 2,048)", np.zeros(4096, _F16)),
    "long_bfloat16": ("512 equal entries in bfloat16 (a bfloat16 sum of ones stops at 256)", np.zeros(512, _BF16)),
}

FUNCTIONS = ("softmax", "logsumexp", "log_softmax")


def _scipy_adapter() -> dict:
    """SciPy's three functions as (function, "scipy") entries, over the last axis."""
    import scipy.special

    return {
        ("softmax", "scipy"): lambda z: scipy.special.softmax(z, axis=-1),
        ("logsumexp", "scipy"): lambda z: scipy.special.logsumexp(z, axis=-1),
        ("log_softmax", "scipy"): lambda z: scipy.special.log_softmax(z, axis=-1),
    }


def implementations(adapter: bool = True) -> dict:
    """(function, method) -> callable(z): the study's methods, the peers of
    ``analysis.peers.IMPLEMENTATIONS`` when that module exists, and (with
    ``adapter``) SciPy through the adapter above when no peer is "scipy"."""
    out = dict(sm.IMPLEMENTATIONS)
    try:
        from .. import peers

        out.update(getattr(peers, "IMPLEMENTATIONS", {}))
    except ImportError:
        pass
    if adapter and not any(method == "scipy" for _, method in out):
        out.update(_scipy_adapter())
    return out


def describe(values) -> list:
    """Values as JSON-ready floats (repr strings for inf/NaN); rows longer than
    16 entries as [[value, count], ...] of their distinct values."""

    def one(v):
        v = float(v)
        return v if math.isfinite(v) else repr(v)

    values = np.atleast_1d(np.asarray(values, dtype=np.float64))
    if values.size <= 16:
        return [one(v) for v in values]
    distinct, counts = np.unique(values, return_counts=True)
    return [[one(v), int(c)] for v, c in zip(distinct, counts)]


def compare(computed, truth) -> tuple[float, bool]:
    """(largest ULP distance, match) of an output against the truth."""
    ulps = np.atleast_1d(ulp_distance(np.asarray(computed), np.asarray(truth)))
    worst = float(np.max(ulps))
    return worst, worst <= MATCH_ULPS


def evaluate(f, z: np.ndarray):
    """(output in z's format, output dtype name, error text or None)."""
    try:
        with np.errstate(all="ignore"):
            out = np.asarray(f(z))
    except Exception as err:  # a peer may refuse a format: that is a result
        return None, None, f"{type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}"
    dtype_name = out.dtype.name
    with np.errstate(over="ignore"):
        return out.astype(z.dtype), dtype_name, None


def table() -> list[dict]:
    """One record per (case, function, method)."""
    methods = implementations()
    records = []
    for case, (description, z) in CASES.items():
        truth = reference.truths(z)
        for (function, method), f in sorted(methods.items()):
            expected = truth[TRUTH_INDEX[function]]
            computed, out_dtype, error = evaluate(f, z)
            record = {
                "case": case,
                "description": description,
                "dtype": FORMATS[z.dtype.name].name,
                "n": int(z.size),
                "input": describe(z),
                "function": function,
                "method": method,
                "truth": describe(expected),
            }
            if error is not None:
                record.update(output=None, output_dtype=None, error=error, max_ulp=None, match=False)
            else:
                worst, match = compare(computed, expected)
                record.update(
                    output=describe(computed),
                    output_dtype=out_dtype,
                    error=None,
                    max_ulp=worst if math.isfinite(worst) else repr(worst),
                    match=match,
                )
            records.append(record)
    return records


def masked_behaviour(records: list[dict]) -> dict:
    """'function/method' -> {case: output} for the masked cases."""
    out = {}
    for r in records:
        if r["case"] in ("masked", "all_masked", "masked_large"):
            out.setdefault(f"{r['function']}/{r['method']}", {})[r["case"]] = {
                "output": r["output"], "truth": r["truth"], "match": r["match"]
            }  # fmt: skip
    return out


def mismatches(records: list[dict]) -> dict:
    """'function/method' -> the cases where the output does not match."""
    out = {}
    for r in records:
        key = f"{r['function']}/{r['method']}"
        out.setdefault(key, [])
        if not r["match"]:
            out[key].append(r["case"])
    return out
