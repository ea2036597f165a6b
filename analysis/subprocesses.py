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


def host_files(config_path, quick: bool) -> dict:
    """host.json: analysis.studies.hostlib run once per dispatch level, each in a
    fresh interpreter whose NPY_DISABLE_CPU_FEATURES stops numpy at that
    level (numpy reads it at import), two at a time."""
    import concurrent.futures

    from .config import load_host
    from .studies import hostlib

    children: list[subprocess.Popen] = []
    stopping = []

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


class FrameworksJob:
    """analysis.studies.frameworks in its own interpreter (JAX's x64 mode is
    process-wide), writing frameworks.json when it ends.  Keyed also by the
    versions of jax, jaxlib and torch (None when not installed).  Without
    JAX nothing runs and the report's section says so."""

    def __init__(self, data_dir: Path, settings: dict, process, stdout, stderr, quick: bool):
        self.data_dir, self.settings, self.process = data_dir, settings, process
        self.stdout, self.stderr, self.quick = stdout, stderr, quick

    @classmethod
    def start(cls, data_dir: Path, config_path=None, quick: bool = False):
        """The running study, or None when frameworks.json is up to date or JAX is missing."""
        import tempfile

        from . import frameworks
        from .config import load_frameworks

        if frameworks.version("jax") is None:
            return None
        fcfg = load_frameworks(config_path, quick)
        settings = {**fcfg.as_dict(), "versions": {k: frameworks.version(k) for k in ("jax", "jaxlib", "torch")}}
        if store_manifest.up_to_date(data_dir, "frameworks", registry.key("frameworks", settings)):
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
