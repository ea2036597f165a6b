"""The sweep on a dask.distributed cluster (``--scheduler ADDRESS``).

A LocalCluster of two worker processes on this machine runs the --quick
sweep through ``python -m analysis sweep --scheduler``; its sweep.parquet and
thresholds.json must be byte-identical to a local run (every chunk is a
pure function of its parameters).  A bad or unreachable address must fail
fast with a one-line error and write nothing.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from analysis import sweep

distributed = pytest.importorskip("distributed")

ROOT = Path(__file__).resolve().parent.parent


def _sweep(tmp_path: Path, name: str, *extra: str, timeout: float = 300) -> subprocess.CompletedProcess:
    env = {**os.environ, "SOFTMAX_STUDY_CACHE": str(tmp_path / f"cache-{name}"), "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "analysis", "sweep", "--quick", "--data-dir", str(tmp_path / name), *extra]
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout, check=False)


@pytest.fixture(scope="module")
def cluster():
    # Worker processes start from this interpreter, whose sys.path has the
    # project folder (pytest's pythonpath), so they can import analysis.
    with distributed.LocalCluster(
        n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None, host="127.0.0.1"
    ) as local:
        yield local


def test_dask_sweep_is_byte_identical_to_a_local_run(cluster, tmp_path):
    result = _sweep(tmp_path, "dask", "--scheduler", cluster.scheduler_address)
    assert result.returncode == 0, result.stderr
    # The chunks really ran on the cluster's workers.
    with distributed.Client(cluster.scheduler_address) as client:
        prefixes = client.run_on_scheduler(lambda dask_scheduler: sorted(dask_scheduler.task_prefixes))
    assert any(prefix.startswith("chunk_entry") for prefix in prefixes), prefixes  # compute_chunk, sent back as bytes
    sweep.run(None, quick=True, data_dir=tmp_path / "local", cache_dir=tmp_path / "cache-local")
    for name in ("sweep.parquet", "thresholds.json"):
        assert (tmp_path / "dask" / name).read_bytes() == (tmp_path / "local" / name).read_bytes(), name


@pytest.mark.parametrize("address", ["tcp://127.0.0.1:1", "not-an-address", "foo://host:1"])
def test_a_bad_scheduler_address_fails_fast_and_writes_nothing(tmp_path, address):
    start = time.monotonic()
    result = _sweep(tmp_path, "data", "--scheduler", address, timeout=60)
    elapsed = time.monotonic() - start
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: cannot use the dask scheduler"), result.stderr
    # The connection timeout is analysis.cluster.CONNECT_TIMEOUT = 5 s; the rest is start-up.
    assert elapsed < 30
    assert not (tmp_path / "data").exists()
    assert not (tmp_path / "cache-data").exists()
