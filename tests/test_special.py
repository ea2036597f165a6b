"""The special-values table (analysis.studies.special): masked rows, infinities,
NaN, n = 1 and the rest, for the study's methods and SciPy."""

import json

import numpy as np
import pytest

from analysis import softmax as sm
from analysis.store.files import jsonable
from analysis.studies import special


@pytest.fixture(scope="module")
def records():
    return special.table()


def _record(records, case, function, method):
    return next(r for r in records if (r["case"], r["function"], r["method"]) == (case, function, method))


def test_fully_masked_row(records):
    """softmax._max_shift: a row of -inf is handled as by the unshifted
    formula (shift 0), so exp gives zeros and 0/0 = NaN, the reference's
    answer; logsumexp is -inf."""
    for method in ("naive", "shifted"):
        assert _record(records, "all_masked", "softmax", method)["output"] == ["nan"] * 4
        assert _record(records, "all_masked", "logsumexp", method)["output"] == ["-inf"]
        assert _record(records, "all_masked", "softmax", method)["match"]
    out = sm.softmax_shifted(np.full((1, 4), -np.inf, np.float32))
    assert np.all(np.isnan(out))


def test_scipy_is_in_the_table_with_its_output_recorded(records):
    scipy_records = [r for r in records if r["method"] == "scipy"]
    assert len(scipy_records) == 3 * len(special.CASES)
    assert all(r["output"] is not None or r["error"] for r in scipy_records)
    # SciPy >= 1.15 replaces a non-finite max by 0 and shifts: finite where exp(1000) would overflow.
    assert _record(records, "masked_large", "softmax", "scipy")["output"] == [1.0, 0.0]


def test_single_masked_entry_is_handled_by_every_method(records):
    for r in records:
        if r["case"] == "masked":
            assert r["match"], (r["function"], r["method"], r["output"])


def test_naive_overflow_is_a_mismatch(records):
    """n = 1 with exp(100) > float32 max: inf / inf = NaN where softmax is 1."""
    r = _record(records, "n1_large", "softmax", "naive")
    assert r["output"] == ["nan"] and r["truth"] == [1.0] and not r["match"]
    assert _record(records, "n1_large", "softmax", "shifted")["match"]


def test_long_rows_stagnate_in_low_precision(records):
    """4,096 ones summed recursively in float16 stop at 2,048 (2048 + 1 rounds
    to 2048): every softmax entry is 1/2048 instead of 1/4096."""
    r = _record(records, "long_float16", "softmax", "shifted")
    assert r["output"] == [[2.0**-11, 4096]] and r["truth"] == [[2.0**-12, 4096]] and not r["match"]


def test_describe_and_compare():
    assert special.describe(np.array([1.0, np.inf, np.nan])) == [1.0, "inf", "nan"]
    assert special.describe(np.zeros(20)) == [[0.0, 20]]
    assert special.compare(np.float32([1, np.nan]), np.float32([1, np.nan])) == (0.0, True)
    assert special.compare(np.float32([np.inf]), np.float32([1])) == (np.inf, False)


def test_records_are_strict_json(records):
    json.dumps(jsonable(records), allow_nan=False)
    assert set(special.mismatches(records)) == {f"{f}/{m}" for f, m in special.implementations()}
