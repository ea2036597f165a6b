"""The pipeline's side jobs: the Numba kernels compiled once before a cold
study starts its processes (subprocesses.compile_kernels), the host study
on a thread of its own beside the sweep (subprocesses.HostJob)."""

from __future__ import annotations

import ctypes
import os
import sys
import threading

import pytest

from analysis import allocator, fastref, kernel_warmup, subprocesses


def test_an_unknown_kernel_is_refused():
    with pytest.raises(ValueError, match="unknown kernel 'nope'"):
        kernel_warmup.warm("nope")


@pytest.mark.skipif(not fastref.COMPILED, reason="the compiled kernels are off")
def test_cached_kernels_are_not_compiled_again():
    for name in kernel_warmup.KERNELS:
        kernel_warmup.warm(name)  # compiled or loaded: the on-disk cache holds it now
        assert kernel_warmup.cached(name), name
    assert subprocesses.compile_kernels() == []


def test_host_job_gives_the_files_of_its_thread(monkeypatch):
    seen = []

    def fake(config_path, quick, children, stopping):
        seen.append((config_path, quick, threading.current_thread() is not threading.main_thread()))
        return {"host.json": {"levels": []}}

    monkeypatch.setattr(subprocesses, "host_files", fake)
    job = subprocesses.HostJob("study.toml", True)
    assert job.files() == {"host.json": {"levels": []}}
    assert seen == [("study.toml", True, True)]
    job.stop()  # after the end: nothing left to stop


def test_host_job_raises_its_threads_error(monkeypatch):
    def failing(config_path, quick, children, stopping):
        raise RuntimeError("host measurement at X86_V3 failed: boom")

    monkeypatch.setattr(subprocesses, "host_files", failing)
    job = subprocesses.HostJob(None, False)
    with pytest.raises(RuntimeError, match="X86_V3 failed"):
        job.files()


def test_stop_ends_a_running_host_job(monkeypatch):
    """An interrupted pipeline stops the measurement (host_files checks
    ``stopping`` before each level) instead of waiting for it."""
    started = threading.Event()

    def running(config_path, quick, children, stopping):
        started.set()
        while not stopping:
            threading.Event().wait(0.01)
        raise RuntimeError("stopped")

    monkeypatch.setattr(subprocesses, "host_files", running)
    job = subprocesses.HostJob(None, False)
    assert started.wait(5)
    job.stop()
    assert not job.thread.is_alive() and str(job.error) == "stopped"


def test_the_commands_keep_freed_memory_for_the_next_call(monkeypatch):
    """analysis.allocator: the thresholds go to the environment (for the
    processes the command starts) and to glibc's mallopt; a user's own
    setting is kept, and one glibc would not read as a number is left to it."""
    monkeypatch.delenv("MALLOC_MMAP_THRESHOLD_", raising=False)
    monkeypatch.setenv("MALLOC_TRIM_THRESHOLD_", "268435456")
    took = allocator.keep_freed_memory()
    assert os.environ["MALLOC_MMAP_THRESHOLD_"] == str(allocator.MMAP_THRESHOLD)
    assert os.environ["MALLOC_TRIM_THRESHOLD_"] == "268435456"
    if sys.platform.startswith("linux") and hasattr(ctypes.CDLL(None), "mallopt"):
        assert took is True
    monkeypatch.setenv("MALLOC_MMAP_THRESHOLD_", "lots")
    assert allocator.keep_freed_memory() is False
