"""The worst cases found by the search, kept as regression tests: each stored
input's error is recomputed and must not have increased; where the theorem's
own algorithm is measured and its bound applies, the error is within it.
Rewrite the baseline with ``make worstcases`` (tools/baselines.py)."""

import json

import numpy as np
import pytest

from analysis import config
from analysis import softmax as sm
from analysis.formats import FORMATS
from analysis.studies import bounds, budgets, special, worstcase
from tests.conftest import DTYPES

CASES = json.loads(budgets.WORST_CASES.read_text(encoding="utf-8"))


def _id(case):
    return f"{case['function']}/{case['method']}/{case['dtype']}"


@pytest.mark.parametrize("case", CASES, ids=_id)
def test_worst_case_did_not_get_worse(case):
    f = special.implementations(adapter=False)[case["function"], case["method"]]
    z = worstcase.from_hex(case["input_hex"], case["dtype"])
    assessed = worstcase.assess(f, case["function"], case["method"], z)
    assert assessed["ulps"] <= case["ulps"], f"{_id(case)}: {case['ulps']} -> {assessed['ulps']} ulps"
    if assessed["bound_applies"] and (case["function"], case["method"]) in bounds.EXACT:
        # BHH 2021, the theorem named in the case (leading term of the bound).
        assert assessed["within_bound"], (assessed["error_u"], assessed["bound_u"])


def test_every_method_and_format_has_a_stored_case():
    wcfg = config.load_worstcase()
    stored = {_id(c) for c in CASES}
    assert {f"{f}/{m}/{d}" for f, m in sm.IMPLEMENTATIONS for d in wcfg.dtypes} <= stored, "run make worstcases"


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.name)
def test_ordinals_follow_the_values(dtype):
    fmt = FORMATS[dtype.name]
    values = np.array([-np.inf, -fmt.max, -1.0, -fmt.smallest_subnormal, -0.0, 0.0, fmt.smallest_subnormal,
                       1.0, fmt.max, np.inf]).astype(dtype)  # fmt: skip
    ordinal = worstcase.to_ordinal(values)
    assert np.all(np.diff(ordinal[[0, 1, 2, 3, 4, 6, 7, 8, 9]]) > 0) and ordinal[4] == ordinal[5] == 0
    assert ordinal[6] == 1 and ordinal[3] == -1
    back = worstcase.from_ordinal(ordinal, dtype).astype(np.float64)
    np.testing.assert_array_equal(back, values.astype(np.float64))  # -0.0 == 0.0


def test_every_float16_pattern_round_trips():
    """Exhaustive where cheap: all 65,536 bit patterns except the NaNs."""
    z = np.arange(1 << 16, dtype=np.uint32).astype(np.uint16).view(np.float16)
    z = z[~np.isnan(z)]
    back = worstcase.from_ordinal(worstcase.to_ordinal(z), np.float16)
    keep = z.view(np.uint16) != 0x8000  # -0.0 comes back as +0.0
    np.testing.assert_array_equal(back.view(np.uint16)[keep], z.view(np.uint16)[keep])


def test_search_is_seeded_and_finds_errors():
    first = worstcase.search(sm.softmax_naive, "softmax", "float16", seed=7, budget=200, batch=8)
    second = worstcase.search(sm.softmax_naive, "softmax", "float16", seed=7, budget=200, batch=8)
    assert first["ulps"] == second["ulps"] >= 1
    np.testing.assert_array_equal(first["input"], second["input"])
    assert first["evaluations"] <= 200 + 64  # the structured starts are evaluated whole


def test_hex_round_trip_and_rejection():
    z = np.array([0.1, -3.5], dtype=np.float16)
    assert worstcase.from_hex(worstcase.hex_list(z), "float16").tobytes() == z.tobytes()
    with pytest.raises(ValueError, match="not exactly float16"):
        worstcase.from_hex(["0x1.0000000001p+0"], "float16")


@pytest.mark.parametrize(
    "text, message",
    [
        ("budget = 10", "worstcase.budget: must be at least 100"),
        ('dtypes = ["float128"]', "unsupported value 'float128'"),
        ("lengths = [1, 8]", "2 <= low < high <= 64"),
        ("extra = 1", "worstcase.extra: unknown key"),
        ('seed = "x"', "worstcase.seed: expected an integer"),
    ],
)
def test_config_errors_name_the_key(tmp_path, text, message):
    table = {"seed": "1", "dtypes": '["float16"]', "lengths": "[2, 8]", "budget": "200", "restarts": "2",
             "batch": "8"}  # fmt: skip
    key = text.split(" =")[0]
    table[key] = text.split("= ", 1)[1]
    path = tmp_path / "study.toml"
    path.write_text("[worstcase]\n" + "".join(f"{k} = {v}\n" for k, v in table.items()))
    with pytest.raises(config.ConfigError, match=message.replace("(", r"\(").replace("[", r"\[")):
        config.load_worstcase(path)
