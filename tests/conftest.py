"""Shared test settings: deterministic hypothesis, the study's dtypes."""

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
