"""The studies run in interpreters of their own, each started by the
pipeline (:mod:`analysis.pipeline`) and dying with it:

- ``host.json``: numpy's exp/log and their effect on the study at every SIMD
  dispatch level of this CPU (:mod:`analysis.studies.hostlib`), one worker
  process per level started with its ``NPY_DISABLE_CPU_FEATURES``
  (:func:`host_files`);
- ``frameworks.json``: :mod:`analysis.studies.frameworks` (JAX's x64 mode is
  process-wide), started first and collected last (:class:`FrameworksJob`).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

from .producers import _command_of, produce
from .store import manifest as store_manifest
from .store import registry
from .store.files import json_bytes

HERE = Path(__file__).parent

# Run module argv[2] as __main__ in a child that gets SIGKILL when its parent
# (pid argv[1]) dies (Linux prctl PR_SET_PDEATHSIG, as the sweep's workers).
_DIE_WITH_PARENT = (
    "import ctypes, os, runpy, signal, sys; "
    "ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGKILL), 0, 0, 0); "
    "os.getppid() == int(sys.argv[1]) or os._exit(1); "
    "module = sys.argv[2]; sys.argv = [module] + sys.argv[3:]; "
    "runpy.run_module(module, run_name='__main__', alter_sys=True)"
)


def compile_kernels() -> list[str]:
    """The Numba kernels whose on-disk cache is cold, compiled side by side,
    each in a process of its own (:mod:`analysis.kernel_warmup`), before a
    study starts the processes that use them; the names compiled.  Nothing
    when they are cached or the numpy path is in use."""
    from . import fastref, kernel_warmup

    if not fastref.COMPILED:
        return []
    todo = [name for name in kernel_warmup.KERNELS if not kernel_warmup.cached(name)]
    env = {**os.environ, "PYTHONPATH": str(HERE.parent)}
    processes = [
        subprocess.Popen([sys.executable, "-c", _DIE_WITH_PARENT, str(os.getpid()), "analysis.kernel_warmup", name],
                         env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)  # fmt: skip
        for name in todo
    ]
    try:
        for name, process in zip(todo, processes):
            _, err = process.communicate()
            if process.returncode:
                raise RuntimeError(f"compiling the {name} kernel failed: {err.decode()[-500:]}")
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()
    return todo


def host_files(config_path, quick: bool, children: list | None = None, stopping: list | None = None) -> dict:
    """host.json: analysis.studies.hostlib run once per dispatch level, each in a
    fresh interpreter whose NPY_DISABLE_CPU_FEATURES stops numpy at that
    level (numpy reads it at import), two at a time.  ``children`` receives
    the running processes and a true item in ``stopping`` stops the
    measurement (:class:`HostJob`)."""
    import concurrent.futures

    from .config import load_host
    from .studies import hostlib

    children = [] if children is None else children
    stopping = [] if stopping is None else stopping

    def run(level: dict) -> dict:
        env = {**os.environ, "NPY_DISABLE_CPU_FEATURES": level["disable"], "PYTHONPATH": str(HERE.parent)}
        command = [sys.executable, "-m", "analysis.studies.hostlib"]
        if sys.platform.startswith("linux"):  # the child dies with this process, even a killed one
            command = [sys.executable, "-c", _DIE_WITH_PARENT, str(os.getpid()), "analysis.studies.hostlib"]
        command += ["--config", str(config_path)] if config_path else []
        if stopping:
            raise RuntimeError("stopped")
        child = subprocess.Popen(command + (["--quick"] if quick else []), env=env, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE)  # fmt: skip
        children.append(child)
        out, err = child.communicate()
        if child.returncode:
            raise RuntimeError(f"host measurement at {level['name']} failed: {err.decode()[-500:]}")
        return {**level, **json.loads(out)}

    levels = hostlib.levels()
    pool = concurrent.futures.ThreadPoolExecutor(2)
    try:
        measured = list(pool.map(run, levels))
    except BaseException:  # Ctrl-C or a failed level: stop the other measurements now, not when they end
        stopping.append(True)
        for child in children:
            child.kill()
        raise
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
    digests = {json.dumps([(r["function"], r["method"], r["dtype"], r["model_digest"]) for r in m["study"]])
               for m in measured}  # fmt: skip
    document = {
        "cpu": hostlib.cpu_model(),
        "settings": load_host(config_path, quick).as_dict(),
        "levels": measured,
        "model_identical_at_every_level": len(digests) == 1,
    }
    return {"host.json": document}


class HostJob:
    """:func:`host_files` on a thread of its own, started beside the sweep
    (its work is in child processes), collected by :meth:`files`;
    :meth:`stop` kills its children (an interrupted or failed pipeline)."""

    def __init__(self, config_path, quick: bool):
        self.children: list[subprocess.Popen] = []
        self.stopping: list[bool] = []
        self.result = self.error = None
        self.thread = threading.Thread(target=self._run, args=(config_path, quick), daemon=True)
        self.thread.start()

    def _run(self, config_path, quick: bool) -> None:
        try:
            self.result = host_files(config_path, quick, self.children, self.stopping)
        except BaseException as err:  # noqa: BLE001 -- raised again by files()
            self.error = err

    def files(self) -> dict:
        self.thread.join()
        if self.error is not None:
            raise self.error
        return self.result

    def stop(self) -> None:
        self.stopping.append(True)
        for child in list(self.children):
            if child.poll() is None:
                child.kill()
        self.thread.join()


class FrameworksJob:
    """analysis.studies.frameworks in its own interpreter (JAX's x64 mode is
    process-wide), writing frameworks.json when it ends.  Keyed also by the
    versions of jax, jaxlib and torch (None when not installed).  Without
    JAX nothing runs and the report's section says so."""

    def __init__(self, data_dir: Path, settings: dict, process, stdout, stderr, quick: bool):
        self.data_dir, self.settings, self.process = data_dir, settings, process
        self.stdout, self.stderr, self.quick = stdout, stderr, quick

    @staticmethod
    def settings(config_path=None, quick: bool = False) -> dict | None:
        """What frameworks.json depends on besides code; None without JAX."""
        from . import frameworks
        from .config import load_frameworks

        if frameworks.version("jax") is None:
            return None
        fcfg = load_frameworks(config_path, quick)
        return {**fcfg.as_dict(), "versions": {k: frameworks.version(k) for k in ("jax", "jaxlib", "torch")}}

    @classmethod
    def _stale_settings(cls, data_dir: Path, config_path=None, quick: bool = False) -> dict | None:
        """The settings when the study is to run: JAX present, frameworks.json out of date."""
        settings = cls.settings(config_path, quick)
        if settings is None or store_manifest.up_to_date(data_dir, "frameworks", registry.key("frameworks", settings)):
            return None
        return settings

    @classmethod
    def stale(cls, data_dir: Path, config_path=None, quick: bool = False) -> bool:
        """Whether start() would run the study."""
        return cls._stale_settings(data_dir, config_path, quick) is not None

    @classmethod
    def start(cls, data_dir: Path, config_path=None, quick: bool = False):
        """The running study, or None when frameworks.json is up to date or JAX is missing."""
        import tempfile

        settings = cls._stale_settings(data_dir, config_path, quick)
        if settings is None:
            return None
        env = {**os.environ, "PYTHONPATH": str(HERE.parent), "SOFTMAX_STUDY_PARENT_PID": str(os.getpid())}
        command = [sys.executable, "-m", "analysis.studies.frameworks"]
        command += ["--config", str(config_path)] if config_path else []
        stdout, stderr = tempfile.TemporaryFile(), tempfile.TemporaryFile()
        process = subprocess.Popen(command + (["--quick"] if quick else []), env=env, stdout=stdout, stderr=stderr)
        return cls(data_dir, settings, process, stdout, stderr, quick)

    def finish(self) -> None:
        """Wait for the study and record frameworks.json."""
        if self.process.wait():
            self.stderr.seek(0)
            raise RuntimeError(f"the frameworks study failed: {self.stderr.read().decode()[-500:]}")
        self.stdout.seek(0)
        document = {"quick": self.quick, "command": _command_of(self.quick), **json.loads(self.stdout.read())}
        produce(self.data_dir, "frameworks", self.settings, lambda: {"frameworks.json": json_bytes(document)})

    def stop(self) -> None:
        """End the study if it still runs (an interrupted or failed pipeline), close its files."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self.stdout.close()
        self.stderr.close()


def frameworks_outputs(data_dir: Path, config_path=None, quick: bool = False) -> Path:
    """frameworks.json, unless up to date (FrameworksJob, waited for)."""
    job = FrameworksJob.start(Path(data_dir), config_path, quick)
    if job is not None:
        try:
            job.finish()
        finally:
            job.stop()
    return Path(data_dir)
