"""The data folder as one consistent set: one writer at a time, temporaries
owned by a process, and every update all or nothing.

- **Lock**: ``.lock`` in the data folder, held with ``fcntl.flock`` for the
  whole update and holding the writer's pid.  A second run *waits* for it,
  saying once which pid holds it (:func:`locked`).
- **Temporaries** are named ``.<file>.<pid>.<random>.tmp`` (by
  :func:`analysis.store.files.atomic_write`) and removed by
  :func:`clean_temporaries` only when that pid is gone: another process's
  file in mid-write, and any other ``.tmp`` file, are left alone.
- **Staging** (:func:`update`): the run writes into ``.staging.<pid>/``,
  which starts as hard links to the folder's current files.  When every
  study is done, the staged manifest is written, then a ``COMMIT`` mark:
  from that point the new set is complete, and the files are renamed into
  the folder, the manifest last (SIGINT and SIGTERM wait until this is
  done).  A run that stops before the mark leaves the folder as it was; a
  run killed after it is completed by the next run or report
  (:func:`recover`).  Either the old complete set or the new one.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import shutil
import signal
import sys
import threading
from pathlib import Path

LOCK = ".lock"
COMMIT = "COMMIT"
STAGING = re.compile(r"^\.staging\.(\d+)$")
# .<name>.<pid>.<8 random characters of tempfile.mkstemp>.tmp
TEMPORARY = re.compile(r"^\..+\.(\d+)\.[a-z0-9_]{8}\.tmp$")


def alive(pid: int) -> bool:
    """Whether process ``pid`` exists (it may belong to another user)."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def clean_temporaries(*folders: Path, recursive: bool = True, name: str | None = None) -> list[Path]:
    """Remove the temporaries of processes that are gone, in ``folders`` and
    (``recursive``) their subfolders, e.g. the cache's ``sections/``; only
    those of file ``name`` when given (the report's folder may be anyone's).
    The paths removed."""
    removed = []
    pattern = f".{name}.*.tmp" if name else ".*.tmp"
    for folder in map(Path, folders):
        if not folder.is_dir():
            continue
        for path in folder.rglob(pattern) if recursive else folder.glob(pattern):
            match = TEMPORARY.match(path.name)
            if match and not alive(int(match.group(1))):
                with contextlib.suppress(OSError):
                    path.unlink()
                    removed.append(path)
    return removed


@contextlib.contextmanager
def locked(data_dir: Path, shared: bool = False, say=None):
    """Hold the data folder's lock (exclusive to write, shared to read); a
    second writer waits, saying once who holds it.  A folder whose lock file
    cannot be created (read-only) is read without a lock."""
    data_dir = Path(data_dir)
    say = say or (lambda text: print(text, file=sys.stderr, flush=True))
    if shared and not data_dir.is_dir():
        yield
        return
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(data_dir / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError:
        if not shared:
            raise
        yield
        return
    try:
        mode = fcntl.LOCK_SH if shared else fcntl.LOCK_EX
        try:
            fcntl.flock(fd, mode | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "another process"
            say(f"waiting: {data_dir} is being written by pid {holder}")
            fcntl.flock(fd, mode)
        if not shared:
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield
    finally:
        os.close(fd)  # releases the lock


def _staged_files(staging: Path) -> list[str]:
    return sorted(p.name for p in staging.iterdir() if p.is_file() and p.name != COMMIT and not p.name.startswith("."))


def _finish(staging: Path, data_dir: Path, manifest: str) -> list[str]:
    """Move a committed staging folder's files into the data folder, the
    manifest last; the names whose content changed."""
    changed = []
    names = [n for n in _staged_files(staging) if n != manifest] + [manifest]
    for name in names:
        source, target = staging / name, data_dir / name
        if not source.exists():  # moved already, by a run that was killed
            continue
        with contextlib.suppress(OSError):
            if os.path.samefile(source, target):
                source.unlink()
                continue
        changed.append(name)
        os.replace(source, target)
    shutil.rmtree(staging, ignore_errors=True)
    return changed


def recover(data_dir: Path, manifest: str = "manifest.json") -> None:
    """Staging folders of runs that are gone (call with the lock held, so
    that none is in use): completed when committed, removed when not."""
    if not Path(data_dir).is_dir():
        return
    for staging in Path(data_dir).iterdir():
        if not STAGING.match(staging.name) or not staging.is_dir():
            continue
        if (staging / COMMIT).exists():
            _finish(staging, data_dir, manifest)
        else:
            shutil.rmtree(staging, ignore_errors=True)


class Update:
    """The staging folder of one update; ``committed`` once the new set is complete."""

    def __init__(self, data_dir: Path):
        self.data_dir = Path(data_dir)
        self.staging = self.data_dir / f".staging.{os.getpid()}"
        self.committed = False
        self.changed: list[str] = []

    def start(self) -> None:
        from .files import atomic_write

        shutil.rmtree(self.staging, ignore_errors=True)
        self.staging.mkdir()
        atomic_write(self.staging / ".writable", b"")  # fails now, not after the work, when nothing can be written
        (self.staging / ".writable").unlink()
        for path in self.data_dir.iterdir():
            if path.is_file() and not path.name.startswith("."):
                try:
                    os.link(path, self.staging / path.name)
                except OSError:  # a file system without hard links
                    shutil.copy2(path, self.staging / path.name)

    def commit(self, manifest: str, write_mark) -> None:
        """``write_mark(path)`` writes the COMMIT mark durably; then the
        files move in.  SIGINT/SIGTERM are held until this is done, then
        raised as KeyboardInterrupt (with ``committed`` set)."""
        held: list[int] = []
        previous = {}
        if threading.current_thread() is threading.main_thread():
            previous = {sig: signal.signal(sig, lambda signum, frame: held.append(signum))
                        for sig in (signal.SIGINT, signal.SIGTERM)}  # fmt: skip
        try:
            write_mark(self.staging / COMMIT)
            self.committed = True
            self.changed = _finish(self.staging, self.data_dir, manifest)
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        if held:
            raise KeyboardInterrupt


class Interrupted(KeyboardInterrupt):
    """Ctrl-C or SIGTERM during an update; ``committed`` says whether the
    folder then held the new complete set (else the old one, unchanged)."""

    def __init__(self, committed: bool):
        super().__init__()
        self.committed = committed


@contextlib.contextmanager
def update(data_dir: Path, finish, manifest: str = "manifest.json", say=None):
    """Lock ``data_dir``, finish or drop what killed runs left, and yield an
    :class:`Update` whose ``staging`` folder the run writes as if it were
    the data folder.  On success ``finish(staging)`` writes the staged
    manifest and the set is committed; on any exception the folder is left
    as it was.  A KeyboardInterrupt leaves as :class:`Interrupted`."""
    data_dir = Path(data_dir)
    with locked(data_dir, say=say):
        recover(data_dir, manifest)
        clean_temporaries(data_dir)
        run = Update(data_dir)
        try:
            run.start()
            yield run
            finish(run.staging)
            from .files import atomic_write

            run.commit(manifest, lambda path: atomic_write(path, f"{os.getpid()}\n"))
        except KeyboardInterrupt:
            if not run.committed:
                shutil.rmtree(run.staging, ignore_errors=True)
            raise Interrupted(run.committed) from None
        except BaseException:
            if not run.committed:
                shutil.rmtree(run.staging, ignore_errors=True)
            raise
