"""Bytes to files and back: the one atomic writer, strict JSON, and the
checksummed pickle cache under ``reports/.cache`` (or ``$SOFTMAX_STUDY_CACHE``)."""

from __future__ import annotations

import hashlib
import json
import math
import os
import pickle
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent.parent
DATA_DIR = ROOT / "reports" / "data"


def cache_dir() -> Path:
    """``$SOFTMAX_STUDY_CACHE`` or ``reports/.cache``, read now rather than at
    import, so that a test or a bench run can move it."""
    return Path(os.environ.get("SOFTMAX_STUDY_CACHE", ROOT / "reports" / ".cache"))


def atomic_write(path: Path, data: bytes | str) -> None:
    """Write to a temporary file in the same folder, then rename it over
    ``path``: a reader sees the old file or the new one, never a part."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        data = data.encode("utf-8")
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def jsonable(x):
    """Plain JSON values: numpy scalars as Python numbers, keys as text, and
    non-finite floats as their repr ("inf", "nan") so that the file is strict JSON."""
    if isinstance(x, dict):
        return {str(k): jsonable(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [jsonable(v) for v in x]
    if isinstance(x, np.generic):
        return jsonable(x.item())
    if isinstance(x, float) and not math.isfinite(x):
        return repr(x)
    return x


def json_bytes(document) -> bytes:
    """The document as strict, sorted, indented JSON with a final newline."""
    return (json.dumps(jsonable(document), indent=1, sort_keys=True, allow_nan=False) + "\n").encode()


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: Path) -> str:
    return sha256(Path(path).read_bytes())


def load_cached(key: str, folder: Path | None = None):
    """The cached value for key, or None if absent, truncated or altered.

    An entry is ``sha256(payload) + payload`` with payload the pickled
    ``(key, value)``; the digest is checked before anything is unpickled.
    """
    folder = cache_dir() if folder is None else Path(folder)
    try:
        blob = (folder / f"{key}.pickle").read_bytes()
    except OSError:
        return None
    digest, payload = blob[:32], blob[32:]
    if len(blob) < 33 or hashlib.sha256(payload).digest() != digest:
        return None
    stored_key, value = pickle.loads(payload)
    return value if stored_key == key else None


def store_cached(key: str, value, folder: Path | None = None) -> None:
    folder = cache_dir() if folder is None else Path(folder)
    payload = pickle.dumps((key, value), protocol=5)
    atomic_write(folder / f"{key}.pickle", hashlib.sha256(payload).digest() + payload)
