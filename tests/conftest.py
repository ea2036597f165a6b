"""Shared test settings: deterministic hypothesis, the study's dtypes."""

import os

import ml_dtypes
import numpy as np
import pytest
from hypothesis import HealthCheck, settings

# A regression suite must be reproducible: the same examples every run.
settings.register_profile(
    "study",
    derandomize=True,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile("study")

DTYPES = [np.dtype(np.float64), np.dtype(np.float32), np.dtype(np.float16), np.dtype(ml_dtypes.bfloat16)]


@pytest.fixture(params=DTYPES, ids=lambda d: d.name)
def dtype(request):
    return request.param


@pytest.fixture(autouse=True)
def _reference_cache_empty_under_mutmut():
    """mutmut runs every mutant in a process forked from one that already
    ran the tests on the unmutated code, so reference._row's lru_cache would
    answer from the unmutated code and hide the mutant.  Under mutmut (which
    sets MUTANT_UNDER_TEST) each test starts with that cache empty."""
    if os.environ.get("MUTANT_UNDER_TEST"):
        from analysis import reference

        reference._row.cache_clear()
    yield
