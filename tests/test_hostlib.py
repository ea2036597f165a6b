"""The host study (analysis.studies.hostlib) and the promise it makes possible: every
data file not marked host-dependent is the same bytes at every numpy SIMD
dispatch level, because the methods run in the model arithmetic."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from analysis import config, crmath
from analysis.formats import FORMATS
from analysis.metrics import ulp_distance
from analysis.store import registry
from analysis.studies import hostlib

ROOT = Path(__file__).resolve().parent.parent


def test_levels_disable_everything_above_them():
    targets = hostlib.dispatch_targets()
    levels = hostlib.levels()
    assert len(levels) == len(targets) + 1
    assert levels[0]["disable"].split() == targets  # the baseline: every target off
    assert levels[-1]["disable"] == ""  # the top: numpy as it starts
    for level, target in zip(levels[1:], targets):
        assert level["name"] == target and target not in level["disable"].split()


def test_library_errors_count_the_distance_to_the_correctly_rounded_value():
    records = hostlib.library_errors(["float32", "float16"], samples=2000, seed=5)
    for r in records:
        x = hostlib.arguments(r["function"], r["dtype"], 2000, 5)
        with np.errstate(all="ignore"):
            d = ulp_distance(getattr(np, r["function"])(x), getattr(crmath, r["function"])(x))
        assert r["arguments"] == x.size == sum(r["ulps"].values())
        assert r["ulps"]["0"] == np.count_nonzero(d == 0) and r["max_ulps"] == d.max()
    f16 = next(r for r in records if r["dtype"] == "float16" and r["function"] == "log")
    assert f16["exhaustive"] and f16["arguments"] == 31743  # every positive finite float16


def test_arguments_cover_the_domain():
    fmt = FORMATS["float64"]
    x = hostlib.arguments("log", "float64", 100_000, 1)
    assert x.min() < 1e-300 and x.max() > 1e300 and np.all(x > 0)
    e = hostlib.arguments("exp", "float64", 100_000, 1)
    assert e.min() < fmt.ln_smallest_subnormal + 5 and e.max() > fmt.ln_max - 5


def _quick_study(folder: Path, disable: str) -> Path:
    env = {**os.environ, "NPY_DISABLE_CPU_FEATURES": disable, "SOFTMAX_STUDY_CACHE": str(folder / "cache")}
    data = folder / "data"
    done = subprocess.run([sys.executable, "-m", "analysis", "sweep", "--quick", "--data-dir", str(data)],
                          cwd=ROOT, env=env, capture_output=True, text=True)  # fmt: skip
    assert done.returncode == 0, done.stderr
    return data


def test_quick_study_is_the_same_bytes_at_the_lowest_and_highest_dispatch_level(tmp_path):
    """numpy's exp/log differ by SIMD level.  With the model arithmetic,
    only the files the manifest marks host-dependent may differ; every other
    checksum in the manifest must be equal."""
    levels = hostlib.levels()
    if len(levels) < 2:
        pytest.skip("numpy has a single dispatch level on this CPU: nothing to compare")
    low = _quick_study(tmp_path / "low", levels[0]["disable"])
    high = _quick_study(tmp_path / "high", levels[-1]["disable"])
    manifest = json.loads((low / "manifest.json").read_text())
    host_dependent = set(manifest["host_dependent"])
    assert host_dependent == set(registry.host_dependent(config.load(quick=True)))

    def checksums(folder):
        return dict(json.loads((folder / "manifest.json").read_text())["checksums"])

    a, b = checksums(low), checksums(high)
    assert set(a) == set(b) and "sweep.parquet" in a and "bhh2021.json" in a
    differ = sorted(name for name in a if name not in host_dependent and a[name] != b[name])
    assert not differ, f"CPU-dependent although not marked so: {differ}"
    for name in a:
        if name not in host_dependent:
            assert (low / name).read_bytes() == (high / name).read_bytes(), name
    # The host study itself ran every level, and the model results agreed at each.
    host = json.loads((low / "host.json").read_text())
    assert [lv["name"] for lv in host["levels"]] == [lv["name"] for lv in levels]
    assert host["model_identical_at_every_level"]


def test_default_grid_is_the_same_at_the_lowest_and_highest_dispatch_level():
    """Every input vector of the default study (not only the quick one): the
    grid's powers of ten once came from np.logspace, whose power is SIMD
    code, and 7 of the 60 default gap points differed in the last bit."""
    levels = hostlib.levels()
    if len(levels) < 2:
        pytest.skip("numpy has a single dispatch level on this CPU: nothing to compare")
    code = (
        "import hashlib\nfrom analysis import config, sweep\nh = hashlib.sha256()\n"
        "for t in sweep.tasks(config.load()):\n    h.update(sweep.chunk_vectors(t)[0].tobytes())\nprint(h.hexdigest())"
    )
    digests = set()
    for level in (levels[0], levels[-1]):
        env = {**os.environ, "NPY_DISABLE_CPU_FEATURES": level["disable"]}
        done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        digests.add(done.stdout.strip())
    assert len(digests) == 1
