"""Long rows and frameworks: analysis.practical, analysis.frameworks,
analysis.logits and the study analysis.studies.frameworks."""

import subprocess
import sys
from pathlib import Path

import ml_dtypes
import mpmath
import numpy as np
import pytest

from analysis import fastref, frameworks, logits, practical, reference
from analysis import softmax as sm
from analysis.config import ConfigError, FrameworksConfig, load_frameworks
from analysis.formats import FORMATS
from analysis.metrics import grade

ROOT = Path(__file__).resolve().parent.parent
FORMATS_TESTED = ["float64", "float32", "float16", "bfloat16", "float8_e4m3fn", "float8_e5m2"]


def _rows(dtype_name: str, n: int = 37, rows: int = 4) -> np.ndarray:
    rng = np.random.default_rng([7, n])
    return (3 * rng.standard_normal((rows, n))).astype(FORMATS[dtype_name].dtype)


@pytest.mark.parametrize("dtype_name", FORMATS_TESTED)
def test_practical_matches_softmax(dtype_name):
    """naive, shifted, shifted_fp32 and the float32 pairwise sum are the
    functions of analysis.softmax bit for bit (the same operations in the
    same order); one exp pass serves the three functions."""
    z = _rows(dtype_name)
    out = practical.all_methods(z)
    for i, function in enumerate(("softmax", "logsumexp", "log_softmax")):
        for method in ("naive", "shifted", "shifted_fp32"):
            expected = sm.IMPLEMENTATIONS[function, method](z)
            np.testing.assert_array_equal(out[method][i].view(np.uint8), expected.view(np.uint8), err_msg=method)
        pairwise = sm._in_float32(sm.IMPLEMENTATIONS[function, "shifted_pairwise"])(z)
        np.testing.assert_array_equal(out["shifted_fp32_pairwise"][i].view(np.uint8), pairwise.view(np.uint8))


@pytest.mark.parametrize("dtype_name", ["float32", "float16", "bfloat16"])
def test_online_one_block_is_the_pairwise_shifted(dtype_name):
    """With one block (n <= BLOCK) the online state is (max, the block's
    pairwise sum): online_fp32 equals shifted_fp32_pairwise bit for bit."""
    z = _rows(dtype_name, n=practical.BLOCK)
    out = practical.all_methods(z)
    for a, b in zip(out["online_fp32"], out["shifted_fp32_pairwise"]):
        np.testing.assert_array_equal(a.view(np.uint8), b.view(np.uint8))


def test_online_many_blocks_is_accurate():
    """2**15 float16 entries in 256 blocks: the float32 state keeps every
    softmax entry within 1 ulp of the correctly rounded value (the float32
    error, about (n/BLOCK + log2 BLOCK + 3) u_32 < 2**-15 relative, is far
    below float16's half ulp 2**-11, so only a value within that distance
    of a rounding boundary can land 1 ulp off), while the float16 recursive
    sum of the same row is far off."""
    z = logits.rows("normal_s1", 2**15, 1, 3).astype(np.float16)
    truth = fastref.truths(z)[0]
    out = practical.all_methods(z)
    np.testing.assert_array_max_ulp(out["online_fp32"][0], truth, maxulp=1)
    assert grade(out["shifted"][0], truth)[0] in ("inaccurate", "lost")


def test_logits_are_seeded_and_shaped():
    for name in logits.SETTINGS:
        a, b = logits.rows(name, 300, 2, 5), logits.rows(name, 300, 2, 5)
        assert a.shape == (2, 300) and np.array_equal(a, b)
        assert not np.array_equal(a, logits.rows(name, 300, 2, 6))
    llm = logits.row("llm_t1", 1000, 0, 5)
    assert llm.max() == logits.LLM_PEAK  # the peak is placed exactly
    outlier = logits.row("attn_outlier_d128", 1000, 0, 5)
    # the 4 outlier keys score about 20 * 100 / sqrt(128) = 177, the rest ~N(0, 1)-ish
    assert (outlier > 100).sum() == logits.ATTENTION_OUTLIER_KEYS


# --- the frameworks -------------------------------------------------------------


def test_jax_float16_hand_checked():
    """softmax([10, 20]) in float16: e^-10 / (1 + e^-10) = 4.53978687e-05 is
    subnormal in float16 (spacing 2**-24): 761.64 steps, so 762 * 2**-24;
    the other entry rounds to 1.  logsumexp = 20 + 4.54e-05 rounds to 20.
    log_softmax: JAX rounds the sum 1 + 4.54e-05 to float16's 1 and returns
    -0 for the second entry where the truth is -762 * 2**-24: off by more
    than 1 ulp, but by less than u = 2**-11 in absolute terms ("accurate" in
    the log domain)."""
    z = np.array([[10.0, 20.0]], np.float16)
    softmax = frameworks.jax_call("softmax", z)
    assert softmax.dtype == np.float16
    assert softmax.tolist() == [[762 * 2.0**-24, 1.0]]
    assert frameworks.jax_call("logsumexp", z).tolist() == [20.0]
    log_softmax = frameworks.jax_call("log_softmax", z)
    assert log_softmax.tolist() == [[-10.0, 0.0]]
    truth = fastref.truths(z)
    assert truth[2].tolist() == [[-10.0, -762 * 2.0**-24]]
    assert grade(log_softmax, truth[2], log_domain=True)[0] == "accurate"


def test_jax_gradient_is_softmax_minus_onehot():
    z = np.array([[1.0, 2.0, 3.0]], np.float32)
    g, loss = frameworks.jax_gradient(z, np.array([2]))
    p = frameworks.jax_call("softmax", z)
    # float32: the VJP's exp(log_softmax) differs from softmax by a few ulps at most
    np.testing.assert_array_max_ulp(g[0, :2], p[0, :2], maxulp=4)
    np.testing.assert_array_max_ulp(loss, -frameworks.jax_call("log_softmax", z)[:, 2], maxulp=1)


def _need_torch():
    if not frameworks.torch_available():
        pytest.skip("PyTorch is an optional extra (pip install '.[torch]'); its path is not tested without it")


def test_torch_float16_hand_checked():
    _need_torch()
    z = np.array([[10.0, 20.0]], np.float16)
    assert frameworks.torch_call("softmax", z).tolist() == [[762 * 2.0**-24, 1.0]]
    assert frameworks.torch_call("logsumexp", z).tolist() == [20.0]


def test_torch_bfloat16_round_trip_and_float8_refused():
    _need_torch()
    z = np.array([[1.0, 2.0, 3.0]], ml_dtypes.bfloat16)
    out = frameworks.torch_call("softmax", z)
    assert out.dtype == z.dtype
    np.testing.assert_array_max_ulp(out.astype(np.float32), fastref.truths(z)[0].astype(np.float32), maxulp=2**16)
    with pytest.raises(NotImplementedError):
        frameworks.torch_call("softmax", z.astype(ml_dtypes.float8_e4m3fn))


def test_torch_gradient_matches_autograd_formula():
    _need_torch()
    z = np.array([[1.0, 2.0, 3.0]], np.float64)
    g, loss = frameworks.torch_gradient(z, np.array([0]))
    p = np.exp(z - z.max()) / np.exp(z - z.max()).sum()
    # float64, n = 3: a few roundings of order u = 2**-53 each
    np.testing.assert_allclose(g, p - np.array([[1.0, 0.0, 0.0]]), rtol=1e-14, atol=0)
    np.testing.assert_allclose(loss, -np.log(p[:, 0]), rtol=1e-14)


# --- the gradient's truth -------------------------------------------------------


def _mpmath_gradient_target(row: np.ndarray, t: int, dtype) -> float:
    with mpmath.workprec(300):
        terms = [mpmath.exp(mpmath.mpf(float(v))) for v in row.astype(np.float64)]
        total = mpmath.fsum(terms)
        return reference.round_mpf(-(total - terms[t]) / total, dtype)


@pytest.mark.parametrize("dtype_name", ["float64", "float32", "float16", "bfloat16"])
def test_gradient_truth_is_correctly_rounded(dtype_name):
    z = _rows(dtype_name, n=50, rows=3)
    target = np.array([np.argmax(z[0].astype(np.float64)), 0, 49])
    grad, loss = practical.gradient_truth(z, target)
    p, _, lsm = reference.truths(z)
    for i, t in enumerate(target):
        expected = np.array(_mpmath_gradient_target(z[i], int(t), z.dtype), z.dtype)
        assert grad[i, t].tobytes() == expected.tobytes()
        others = np.arange(z.shape[1]) != t
        assert grad[i, others].tobytes() == p[i, others].tobytes()
        assert loss[i].tobytes() == (-lsm[i, t]).tobytes()


def test_gradient_of_a_confident_row_is_zero_when_rounded_naively():
    """[0, 20] in float32, target 1: p_1 rounds to 1, so fl(p_1) - 1 = 0,
    while the true gradient -e^-20 / (1 + e^-20) = -2.06e-09 is a normal
    float32 number: the gradient_truth keeps it."""
    z = np.array([[0.0, 20.0]], np.float32)
    target = np.array([1])
    grad, _ = practical.gradient_truth(z, target)
    expected = -mpmath.exp(-20) / (1 + mpmath.exp(-20))
    assert grad[0, 1] == np.float32(float(expected)) and grad[0, 1] != 0
    computed = practical.gradient(practical.all_methods(z)["shifted"][0], target)
    assert computed[0, 1] == 0


# --- the study ------------------------------------------------------------------


def test_small_study_runs_and_counts_every_row():
    from analysis.studies import frameworks as study

    cfg = FrameworksConfig(path="", seed=3, dtypes=("float16", "bfloat16"), lengths=(10, 300), draws=(2, 1),
                           gradient_lengths=(300,))  # fmt: skip
    doc = study.study(cfg)
    impls = doc["implementations"]
    assert "jax" in impls and ("torch" in impls) == frameworks.torch_available()
    expected = len(logits.SETTINGS) * 2 * 2 * len(impls) * 3
    assert len(doc["records"]) == expected
    for r in doc["records"]:
        assert r["error"] is None
        assert sum(r["grades"].values()) == r["rows"] == (2 if r["n"] == 10 else 1)
    assert len(doc["gradients"]) == len(study.GRADIENT_SETTINGS) * 2 * len(impls)
    # the float32 state keeps float16 exact or accurate on these short rows
    online = [r for r in doc["records"] if r["impl"] == "online_fp32" and r["dtype"] == "float16"]
    assert all(set(r["grades"]) <= {"exact", "accurate", "flushed"} for r in online)
    _section_renders(doc)


def _section_renders(doc):
    """The report's section from this document (as the pipeline stores it:
    strict JSON) names the versions and says in one line when torch is absent."""
    import json

    from analysis import report
    from analysis.report.sections.frameworks import frameworks_section
    from analysis.store.files import json_bytes

    stored = json.loads(json_bytes(doc))
    html = report.ENV.get_template("frameworks.html").render(frameworks=frameworks_section(stored))
    assert f"jax {frameworks.version('jax')}, jaxlib {frameworks.version('jaxlib')}" in html
    if frameworks.torch_available():
        assert f"torch {frameworks.version('torch')}" in html
    else:
        assert "PyTorch is not installed here" in html
    assert html.count("<svg") == 2 and "Which call to use" in html


def test_a_call_that_depends_on_earlier_calls_is_recorded_not_repeatable(monkeypatch):
    # JAX 0.10.2's float8_e4m3fn softmax gave outputs that depended on the
    # process's earlier work (see _repeatable_call): such a call must become
    # a "not repeatable" record, and a deterministic one keep its output.
    # A stand-in framework: its output drifts with every call when told to.
    from analysis.studies import frameworks as study

    calls = []

    def fake(framework, function, z, drift):
        calls.append(z.copy())
        out = z.astype(np.float64) * 0.5
        return out + len(calls) if drift else out

    z = np.arange(12.0).reshape(3, 4)
    monkeypatch.setattr(frameworks, "call", lambda f, fn, z: fake(f, fn, z, drift=False))
    np.testing.assert_array_equal(study._repeatable_call("jax", "softmax", z), z * 0.5)
    assert len(calls) == 3 and not np.array_equal(calls[1], z)  # the call between is on other rows
    monkeypatch.setattr(frameworks, "call", lambda f, fn, z: fake(f, fn, z, drift=True))
    assert study._repeatable_call("jax", "softmax", z) == study.NOT_REPEATABLE

    # A call known to vary from run to run is not made at all.
    def refuse(framework, function, z):
        raise AssertionError("called")

    monkeypatch.setattr(frameworks, "call", refuse)
    e4m3 = z.astype(ml_dtypes.float8_e4m3fn)
    assert study._repeatable_call("jax", "softmax", e4m3) == study.NOT_REPEATABLE
    with pytest.raises(AssertionError, match="called"):
        study._repeatable_call("jax", "log_softmax", e4m3)

    # NaN of either sign or payload is the same result; -0.0 is not 0.0.
    assert study._same(np.array([np.nan, 1.0]), np.array([-np.nan, 1.0]))
    assert not study._same(np.array([0.0]), np.array([-0.0]))
    assert not study._same(np.array([1.0]), np.array([np.nan]))

    # The report says so, in the tables and in one sentence with the count.
    from analysis.report import ENV
    from analysis.report.sections.frameworks import frameworks_section

    cfg = FrameworksConfig(path="", seed=3, dtypes=("float16",), lengths=(10,), draws=(2,), gradient_lengths=())
    monkeypatch.undo()
    doc = study.study(cfg)
    for r in doc["records"]:
        if r["impl"] == "jax" and r["function"] == "softmax" and r["setting"] == "normal_s1":
            r.clear()
            r.update({"setting": "normal_s1", "n": 10, "dtype": "float16", "skipped": 0, "impl": "jax",
                      "function": "softmax", "error": study.NOT_REPEATABLE})  # fmt: skip
    html = ENV.get_template("frameworks.html").render(frameworks=frameworks_section(doc))
    assert "not repeatable at n = 10" in html
    assert '<strong>Not repeatable:</strong> <data value="1">1</data> of the' in html
    assert "jax softmax in float16" in html


def test_config_checks(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('[frameworks]\nseed = 1\ndtypes = ["float16"]\nlengths = [10, 100]\ndraws = [3]\n'
                   'gradient_lengths = [100]\n')  # fmt: skip
    with pytest.raises(ConfigError, match="frameworks.draws"):
        load_frameworks(bad)
    done = subprocess.run([sys.executable, "-m", "analysis.studies.frameworks", "--config", str(bad)],
                          cwd=ROOT, capture_output=True, text=True)  # fmt: skip
    assert done.returncode == 2 and done.stdout == ""
    assert len(done.stderr.strip().splitlines()) == 1 and "frameworks.draws" in done.stderr
    quick = load_frameworks(None, quick=True)
    assert max(quick.lengths) <= 1000 and max(quick.draws) <= 2 and quick.dtypes == ("float32", "float16")
    full = load_frameworks(None)
    assert 2**18 in full.lengths and set(full.dtypes) == set(FORMATS_TESTED)
