"""Bytes to files and back: the one atomic writer, strict JSON, and the
cache of typed arrays and JSON (no pickle) under ``reports/.cache`` (or ``$SOFTMAX_STUDY_CACHE``)."""

from __future__ import annotations

import dataclasses
import hashlib
import importlib
import io
import json
import math
import os
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent.parent
DATA_DIR = ROOT / "reports" / "data"
CACHE_SUFFIX = ".npz"


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
    # The pid in the name: analysis.store.folder.clean_temporaries removes
    # a temporary only once its process is gone.
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.{os.getpid()}.", suffix=".tmp")
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


# --- the cache: typed arrays and JSON, never code ---------------------------------------

# Classes a cached value may hold besides JSON's types, tuples and numpy
# arrays: the report's section values (text with markup, figures, numbers as
# shown).  Named, not pickled: a name outside this set is rejected on load.
CACHE_TYPES = frozenset({
    "markupsafe:Markup", "analysis.report.values:Value", "analysis.report.figures.common:SvgFigure",
})  # fmt: skip
CACHE_FORMAT = 1


class CacheEntryError(ValueError):
    """A cache entry that is not exactly what the cache writes."""


def _type_name(cls) -> str:
    return f"{cls.__module__}:{cls.__qualname__}"


def _encode(x, arrays: list):
    """x as JSON values, its numpy arrays appended to ``arrays`` (referred to
    by index); TypeError for anything else."""
    if x is None or type(x) in (bool, int, str):
        return x
    if type(x) is float:
        return x if math.isfinite(x) else {"float": repr(x)}
    if isinstance(x, np.generic) and x.dtype.kind in "biuf":
        return _encode(x.item(), arrays)
    if isinstance(x, np.ndarray):
        if x.dtype.kind not in "biufU":  # no object arrays: np.load would need pickle
            raise TypeError(f"cannot cache an array of {x.dtype}")
        arrays.append(np.ascontiguousarray(x))
        return {"array": len(arrays) - 1}
    if type(x) is list:
        return [_encode(v, arrays) for v in x]
    if type(x) is tuple:
        return {"tuple": [_encode(v, arrays) for v in x]}
    if type(x) is dict:
        return {"dict": [[_encode(k, arrays), _encode(v, arrays)] for k, v in x.items()]}
    name = _type_name(type(x))
    if name in CACHE_TYPES:
        if isinstance(x, str):
            return {"type": name, "text": str(x)}
        fields = {f.name: _encode(getattr(x, f.name), arrays) for f in dataclasses.fields(x)}
        return {"type": name, "fields": fields}
    raise TypeError(f"cannot cache a value of type {name}")


def _cache_class(name: str):
    if name not in CACHE_TYPES:
        raise CacheEntryError(f"type {name!r} is not one the cache holds")
    module, _, qualname = name.partition(":")
    return getattr(importlib.import_module(module), qualname)


def _decode(x, arrays: dict):
    if x is None or type(x) in (bool, int, float, str):
        return x
    if type(x) is list:
        return [_decode(v, arrays) for v in x]
    if type(x) is not dict or len(x) not in (1, 2):
        raise CacheEntryError("unexpected value")
    if set(x) == {"float"} and x["float"] in ("inf", "-inf", "nan"):
        return float(x["float"])
    if set(x) == {"array"} and type(x["array"]) is int and f"a{x['array']}" in arrays:
        return arrays[f"a{x['array']}"]
    if set(x) == {"tuple"} and type(x["tuple"]) is list:
        return tuple(_decode(v, arrays) for v in x["tuple"])
    if set(x) == {"dict"} and type(x["dict"]) is list:
        if not all(type(kv) is list and len(kv) == 2 for kv in x["dict"]):
            raise CacheEntryError("unexpected dict")
        return {_decode(k, arrays): _decode(v, arrays) for k, v in x["dict"]}
    if set(x) == {"type", "text"} and type(x["text"]) is str:
        return _cache_class(x["type"])(x["text"])
    if set(x) == {"type", "fields"} and type(x["fields"]) is dict:
        return _cache_class(x["type"])(**{k: _decode(v, arrays) for k, v in x["fields"].items()})
    raise CacheEntryError("unexpected value")


def cache_entry(key: str, value) -> bytes:
    """The bytes of a cache entry: an ``.npz`` archive (numpy's zip of
    ``.npy`` files) of the value's arrays and ``header``, the UTF-8 JSON
    ``{"format", "key", "value", "sha256"}`` in which the arrays are
    referred to by name and ``sha256`` covers the value and every array's
    dtype, shape and bytes.  Read back with ``allow_pickle=False``: an entry
    is data, never code (numpy.lib.format; a pickled object array is refused)."""
    arrays: list = []
    document = {"format": CACHE_FORMAT, "key": key, "value": _encode(value, arrays)}
    named = {f"a{i}": a for i, a in enumerate(arrays)}
    document["sha256"] = _entry_digest(document, named)
    header = json.dumps(document, sort_keys=True, allow_nan=False).encode()
    out = io.BytesIO()
    np.savez(out, header=np.frombuffer(header, np.uint8), **named)
    return out.getvalue()


def _entry_digest(document: dict, arrays: dict) -> str:
    h = hashlib.sha256(json.dumps({k: document[k] for k in ("format", "key", "value")}, sort_keys=True).encode())
    for name in sorted(arrays):
        a = arrays[name]
        h.update(f"{name} {a.dtype.str} {a.shape}".encode() + b"\0" + a.tobytes())
    return h.hexdigest()


def read_cache_entry(key: str, blob: bytes):
    """The value of an entry written by :func:`cache_entry` for ``key``;
    CacheEntryError (or the error of numpy / zipfile / json) when the bytes
    are anything else."""
    with np.load(io.BytesIO(blob), allow_pickle=False) as archive:
        arrays = {name: archive[name] for name in archive.files}
    header = arrays.pop("header", None)
    if header is None or header.dtype != np.uint8 or header.ndim != 1:
        raise CacheEntryError("no header")
    document = json.loads(header.tobytes().decode("utf-8"))
    if type(document) is not dict or set(document) != {"format", "key", "value", "sha256"}:
        raise CacheEntryError("unexpected header")
    if document["format"] != CACHE_FORMAT or document["key"] != key:
        raise CacheEntryError("another format or key")
    if any(a.dtype.hasobject or a.dtype.kind not in "biufU" for a in arrays.values()):
        raise CacheEntryError("unexpected array type")
    if document["sha256"] != _entry_digest(document, arrays):
        raise CacheEntryError("content does not match its SHA-256")
    return _decode(document["value"], arrays)


def load_cached(key: str, folder: Path | None = None, check=None):
    """The cached value for ``key``, or None if absent, truncated, altered,
    or not what the cache writes; ``check(value)``, when given, validates
    the content (raises ValueError/TypeError/KeyError) and a failure counts
    as a miss too.  Nothing in an entry is ever executed (no pickle), and a
    doubtful entry is recomputed, never used.  The SHA-256 inside the entry
    catches damage, not forgery: whoever can write the cache folder can
    write a well-formed entry with wrong numbers (README, fault matrix)."""
    folder = cache_dir() if folder is None else Path(folder)
    try:
        blob = (folder / f"{key}{CACHE_SUFFIX}").read_bytes()
    except OSError:
        return None
    try:
        value = read_cache_entry(key, blob)
        if check is not None:
            check(value)
    except Exception:  # noqa: BLE001 -- whatever is wrong with an entry, it is recomputed
        return None
    return value


def store_cached(key: str, value, folder: Path | None = None) -> bool:
    """Write ``value`` (JSON types, tuples, numeric or text numpy arrays, the
    CACHE_TYPES) as the entry for ``key`` (TypeError for anything else);
    False when the folder cannot be written (see :func:`save_entry`)."""
    return save_entry(key, cache_entry(key, value), folder)


_UNWRITABLE: set[Path] = set()  # folders already warned about


def save_entry(key: str, blob: bytes, folder: Path | None = None) -> bool:
    """Write an entry made by :func:`cache_entry`; False (after one warning
    on stderr) when the cache folder cannot be written: the cache saves
    time, the run goes on without it."""
    folder = cache_dir() if folder is None else Path(folder)
    try:
        atomic_write(folder / f"{key}{CACHE_SUFFIX}", blob)
    except OSError as err:
        if folder not in _UNWRITABLE:
            _UNWRITABLE.add(folder)
            print(f"warning: cache not written ({err}); the run goes on without it", file=sys.stderr)
        return False
    return True
