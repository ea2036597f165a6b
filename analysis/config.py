"""study.toml -> validated settings.

Every rule is checked before any work starts; a violation raises
:class:`ConfigError` whose one-line message names the file and the key.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import tomllib
from dataclasses import dataclass
from pathlib import Path

from .formats import ALL_DTYPES

DEFAULT_CONFIG = Path(__file__).with_name("study.toml")

FUNCTIONS = ("softmax", "logsumexp", "log_softmax")
# The method names of analysis.peers.IMPLEMENTATIONS (a test checks the two
# agree; not imported here, so that reading the config does not load SciPy).
METHODS = (
    "naive", "shifted", "log1p", "exp_lse", "online",
    "shifted_kahan", "shifted_pairwise", "shifted_fp32", "scipy",
)  # fmt: skip
SUMMATIONS = ("recursive", "pairwise", "numpy", "kahan")

# section -> key -> (type, check); the check returns an error text or None.
_SCHEMA = {
    "study": {
        "seed": int,
        "dtypes": list,
        "lengths": list,
        "functions": list,
        "methods": list,
        "summation": str,
        "workers": int,
    },
    "two_level": {
        "offset_decades": list,
        "offset_points": int,
        "gap_decades": list,
        "gap_points": int,
        "threshold_factors": list,
    },
    "scaled_normal": {"scale_decades": list, "scale_points": int, "draws": int},
    "comparison": {"extra_methods": list, "extra_lengths": list},
}
# [quick] may override any key of the other sections by its bare name.
_QUICK_KEYS = {key: section for section, keys in _SCHEMA.items() for key in keys}


class ConfigError(ValueError):
    """A bad study file: the message names the file and the key."""


@dataclass(frozen=True)
class Config:
    path: str
    quick: bool
    seed: int
    dtypes: tuple[str, ...]
    lengths: tuple[int, ...]
    functions: tuple[str, ...]
    methods: tuple[str, ...]
    summation: str
    workers: int
    offset_decades: tuple[float, float]
    offset_points: int
    gap_decades: tuple[float, float]
    gap_points: int
    threshold_factors: tuple[float, ...]
    scale_decades: tuple[float, float]
    scale_points: int
    draws: int
    extra_methods: tuple[str, ...]
    extra_lengths: tuple[int, ...]

    def as_dict(self) -> dict:
        """The settings that determine the results (not the file's path)."""
        d = {k: v for k, v in self.__dict__.items() if k not in ("path",)}
        return json.loads(json.dumps(d))

    @property
    def hash(self) -> str:
        return hashlib.sha256(json.dumps(self.as_dict(), sort_keys=True).encode()).hexdigest()


def _fail(path, key, problem) -> ConfigError:
    return ConfigError(f"{path}: {key}: {problem}")


def _type_name(t) -> str:
    return {int: "an integer", str: "a string", list: "a list", float: "a number"}[t]


def _check_type(path, key, value, expected):
    # bool is an int in Python; a TOML true is never a valid count.
    if isinstance(value, bool) or not isinstance(value, expected):
        raise _fail(path, key, f"expected {_type_name(expected)}, got {type(value).__name__} {value!r}")


def _numbers(path, key, values, *, integers=False, positive=False, min_len=1, increasing=True):
    if len(values) < min_len:
        raise _fail(path, key, f"needs at least {min_len} value(s), got {len(values)}")
    for v in values:
        if isinstance(v, bool) or not isinstance(v, int if integers else (int, float)):
            kind = "integers" if integers else "numbers"
            raise _fail(path, key, f"expected a list of {kind}, found {v!r}")
        if not math.isfinite(v):
            raise _fail(path, key, f"values must be finite numbers, found {v!r}")
        if positive and v <= 0:
            raise _fail(path, key, f"values must be positive, found {v!r}")
    if increasing and any(b <= a for a, b in zip(values, values[1:])):
        raise _fail(path, key, f"values must be strictly increasing, got {values!r}")
    return tuple(values)


def _choices(path, key, values, allowed):
    if not values:
        raise _fail(path, key, "must not be empty")
    for v in values:
        if v not in allowed:
            raise _fail(path, key, f"unsupported value {v!r}: expected one of {', '.join(allowed)}")
    if len(set(values)) != len(values):
        raise _fail(path, key, f"duplicate values in {values!r}")
    return tuple(values)


def _check_keys(path: Path, section: str, table: dict, keys: dict) -> None:
    """Every key of ``table`` is known, every known key is there, with its
    type (in the order: unknown keys first, then missing, then types)."""
    for key in table:
        if key not in keys:
            raise _fail(path, f"{section}.{key}", "unknown key")
    for key, expected in keys.items():
        if key not in table:
            raise _fail(path, f"{section}.{key}", "missing key")
        _check_type(path, f"{section}.{key}", table[key], expected)


def _read_toml(path: Path) -> dict:
    """The parsed study file; ConfigError naming the file on any problem."""
    try:
        return tomllib.loads(path.read_text(encoding="utf-8-sig"))  # a leading BOM (Windows editors) is not TOML
    except FileNotFoundError:
        raise ConfigError(f"{path}: file not found") from None
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(f"{path}: cannot read: {err}") from None
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{path}: not valid TOML: {err}") from None


def _optional_section(path: str | Path | None, section: str, keys: dict) -> tuple[Path, dict]:
    """The [section] table of a study file (default: analysis/study.toml),
    its keys checked, and the file it was read from: the default study
    file when the given file has no such table; ConfigError on any problem."""
    path = Path(path) if path is not None else DEFAULT_CONFIG
    raw = _read_toml(path)
    if section not in raw and path.resolve() != DEFAULT_CONFIG.resolve():
        return _optional_section(DEFAULT_CONFIG, section, keys)
    table = raw.get(section)
    if not isinstance(table, dict):
        raise _fail(path, section, "missing section" if table is None else "expected a table")
    _check_keys(path, section, table, keys)
    return path, table


def load(path: str | Path | None = None, quick: bool = False) -> Config:
    """Read and validate a study file; ConfigError on any problem."""
    path = Path(path) if path is not None else DEFAULT_CONFIG
    raw = _read_toml(path)

    for section in raw:
        if section not in _SCHEMA and section not in ("quick", "worstcase", "host", "frameworks"):
            raise _fail(path, section, "unknown section")
    values = {}
    for section, keys in _SCHEMA.items():
        table = raw.get(section)
        if table is None:
            raise _fail(path, section, "missing section")
        if not isinstance(table, dict):
            raise _fail(path, section, "expected a table")
        _check_keys(path, section, table, keys)
        for key in keys:
            values[key] = (f"{section}.{key}", table[key])
    quick_table = raw.get("quick", {})
    if not isinstance(quick_table, dict):
        raise _fail(path, "quick", "expected a table")
    for key, value in quick_table.items():
        if key not in _QUICK_KEYS:
            raise _fail(path, f"quick.{key}", "unknown key")
        _check_type(path, f"quick.{key}", value, _SCHEMA[_QUICK_KEYS[key]][key])
    # Every value is checked as written, also those [quick] overrides; then,
    # with --quick, the overrides and the effective combination.
    full = _build(path, values, False)
    if not quick:
        return full
    for key, value in quick_table.items():
        values[key] = (f"quick.{key}", value)
    return _build(path, values, True)


def _build(path: Path, values: dict, quick: bool) -> Config:
    """The Config of ``values`` (key -> (name for messages, value)), checked."""

    def get(key):
        return values[key]

    def decades(key):
        name, v = get(key)
        return _numbers(path, name, v, min_len=2) if len(v) == 2 else _fail_len(path, name, v)

    def count(key, minimum=1):
        name, v = get(key)
        if v < minimum:
            raise _fail(path, name, f"must be at least {minimum}, got {v}")
        return v

    return Config(
        path=str(path),
        quick=quick,
        seed=_nonnegative(path, *get("seed")),
        dtypes=_choices(path, *get("dtypes"), ALL_DTYPES),
        lengths=_lengths(path, *get("lengths")),
        functions=_choices(path, *get("functions"), FUNCTIONS),
        methods=_choices(path, *get("methods"), METHODS),
        summation=_choice(path, *get("summation"), SUMMATIONS),
        workers=_workers(path, count("workers"), get("workers")[0]),
        offset_decades=decades("offset_decades"),
        offset_points=count("offset_points", 2),
        gap_decades=decades("gap_decades"),
        gap_points=count("gap_points", 2),
        threshold_factors=_numbers(path, *get("threshold_factors"), positive=True),
        scale_decades=decades("scale_decades"),
        scale_points=count("scale_points", 2),
        draws=count("draws"),
        extra_methods=_extra_methods(path, get("methods")[1], *get("extra_methods")),
        extra_lengths=_numbers(path, *get("extra_lengths"), integers=True, positive=True),
    )


def _workers(path, v, name):
    """At most the machine's CPU count: more processes only compete."""
    cpus = os.cpu_count() or 1
    if v > cpus:
        raise _fail(path, name, f"{v} workers, but this machine has {cpus} CPU(s): use at most {cpus}")
    return v


def data_dir_argument(text: str) -> Path:
    """argparse type of --data-dir: a non-empty path (an empty one would
    write the study into the current folder)."""
    if not text.strip():
        raise argparse.ArgumentTypeError("must not be empty")
    return Path(text)


def _lengths(path, name, v):
    """Vector lengths: integers from 2 (a one-entry softmax is 1 whatever
    the input: nothing to measure), strictly increasing."""
    lengths = _numbers(path, name, v, integers=True, positive=True)
    if lengths[0] < 2:
        raise _fail(path, name, f"lengths must be at least 2, found {lengths[0]}")
    return lengths


def _extra_methods(path, methods, name, v):
    extra = _choices(path, name, v, METHODS)
    both = [m for m in extra if m in methods]
    if both:
        raise _fail(path, name, f"{both[0]!r} is already in study.methods")
    return extra


def _fail_len(path, name, v):
    raise _fail(path, name, f"expected [low, high], got {v!r}")


def _nonnegative(path, name, v):
    if v < 0:
        raise _fail(path, name, f"must be >= 0, got {v}")
    return v


def _choice(path, name, v, allowed):
    if v not in allowed:
        raise _fail(path, name, f"unsupported value {v!r}: expected one of {', '.join(allowed)}")
    return v


# --- [worstcase]: the worst-case search (analysis.studies.worstcase) ------------------

_WORSTCASE_KEYS = {"seed": int, "dtypes": list, "lengths": list, "budget": int, "restarts": int, "batch": int}


@dataclass(frozen=True)
class WorstcaseConfig:
    path: str
    seed: int
    dtypes: tuple[str, ...]
    lengths: tuple[int, int]  # smallest and largest n
    budget: int  # evaluations per (function, method, format)
    restarts: int
    batch: int

    def as_dict(self) -> dict:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in self.__dict__.items() if k != "path"}


def load_worstcase(path: str | Path | None = None) -> WorstcaseConfig:
    """The [worstcase] table of a study file (that of the default study file
    when the given file has none); ConfigError on any problem.  The formats
    allowed are those analysis.softmax accepts (analysis.formats.SUPPORTED)."""
    from .formats import SUPPORTED

    path, table = _optional_section(path, "worstcase", _WORSTCASE_KEYS)
    names = tuple(d.name for d in SUPPORTED)
    lengths = _numbers(path, "worstcase.lengths", table["lengths"], integers=True, positive=True, min_len=2)
    if len(lengths) != 2 or lengths[0] < 2 or lengths[1] > 64:
        got = table["lengths"]
        raise _fail(path, "worstcase.lengths", f"expected [low, high] with 2 <= low < high <= 64, got {got!r}")
    for key, minimum in (("budget", 100), ("restarts", 1), ("batch", 1)):
        if table[key] < minimum:
            raise _fail(path, f"worstcase.{key}", f"must be at least {minimum}, got {table[key]}")
    return WorstcaseConfig(
        path=str(path),
        seed=_nonnegative(path, "worstcase.seed", table["seed"]),
        dtypes=_choices(path, "worstcase.dtypes", table["dtypes"], names),
        lengths=lengths,
        budget=table["budget"],
        restarts=table["restarts"],
        batch=table["batch"],
    )


# --- [host]: numpy's exp/log per SIMD dispatch level (analysis.studies.hostlib) --------

_HOST_KEYS = {"seed": int, "samples": int, "lengths": list, "methods": list, "draws": int}
# --quick: this many seeded arguments at most, and the first length only.
QUICK_HOST_SAMPLES = 20_000


@dataclass(frozen=True)
class HostConfig:
    path: str
    seed: int
    samples: int  # seeded arguments per function for float32 and float64
    lengths: tuple[int, ...]  # the sweep's vectors at these lengths
    methods: tuple[str, ...]
    draws: int  # of the scaled normal family, the first this many draws per scale

    def as_dict(self) -> dict:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in self.__dict__.items() if k != "path"}


def load_host(path: str | Path | None = None, quick: bool = False) -> HostConfig:
    """The [host] table of a study file (that of the default study file when
    the given file has none); ConfigError on any problem."""
    path, table = _optional_section(path, "host", _HOST_KEYS)
    if table["samples"] < 1000:
        raise _fail(path, "host.samples", f"must be at least 1000, got {table['samples']}")
    lengths = _numbers(path, "host.lengths", table["lengths"], integers=True, positive=True)
    if lengths[0] < 2:
        raise _fail(path, "host.lengths", f"must be at least 2, got {lengths[0]}")
    methods = _choices(path, "host.methods", table["methods"], METHODS)
    _check_type(path, "host.draws", table["draws"], int)
    if table["draws"] < 1:
        raise _fail(path, "host.draws", f"must be at least 1, got {table['draws']}")
    return HostConfig(
        path=str(path),
        seed=_nonnegative(path, "host.seed", table["seed"]),
        samples=min(table["samples"], QUICK_HOST_SAMPLES) if quick else table["samples"],
        lengths=lengths[:1] if quick else lengths,
        methods=methods,
        draws=table["draws"],
    )


# --- [frameworks]: long rows, JAX and PyTorch (analysis.studies.frameworks) -----------

_FRAMEWORKS_KEYS = {"seed": int, "dtypes": list, "lengths": list, "draws": list, "gradient_lengths": list}
# --quick (run by every `sweep --quick`, so kept to seconds): lengths up to
# this, at most QUICK_FRAMEWORKS_DRAWS draws each, these formats only.
QUICK_FRAMEWORKS_LENGTH = 1000
QUICK_FRAMEWORKS_DRAWS = 2
QUICK_FRAMEWORKS_DTYPES = ("float32", "float16")


@dataclass(frozen=True)
class FrameworksConfig:
    path: str
    seed: int
    dtypes: tuple[str, ...]
    lengths: tuple[int, ...]
    draws: tuple[int, ...]  # seeded rows per setting at each length
    gradient_lengths: tuple[int, ...]  # lengths at which the gradient is studied (one row per setting)

    def as_dict(self) -> dict:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in self.__dict__.items() if k != "path"}


def load_frameworks(path: str | Path | None = None, quick: bool = False) -> FrameworksConfig:
    """The [frameworks] table of a study file (that of the default study
    file when the given file has none); ConfigError on any problem."""
    path, table = _optional_section(path, "frameworks", _FRAMEWORKS_KEYS)
    lengths = _lengths(path, "frameworks.lengths", table["lengths"])
    draws = _numbers(path, "frameworks.draws", table["draws"], integers=True, positive=True, increasing=False)
    if len(draws) != len(lengths):
        raise _fail(path, "frameworks.draws", f"needs one count per length ({len(lengths)}), got {len(draws)}")
    gradient_lengths = _numbers(path, "frameworks.gradient_lengths", table["gradient_lengths"], integers=True,
                                positive=True)  # fmt: skip
    missing = [n for n in gradient_lengths if n not in lengths]
    if missing:
        raise _fail(path, "frameworks.gradient_lengths", f"{missing[0]} is not in frameworks.lengths")
    if quick:
        keep = [i for i, n in enumerate(lengths) if n <= QUICK_FRAMEWORKS_LENGTH]
        lengths = tuple(lengths[i] for i in keep)
        draws = tuple(min(draws[i], QUICK_FRAMEWORKS_DRAWS) for i in keep)
        gradient_lengths = tuple(n for n in gradient_lengths if n in lengths)
    dtypes = _choices(path, "frameworks.dtypes", table["dtypes"], ALL_DTYPES)
    if quick:
        dtypes = tuple(d for d in dtypes if d in QUICK_FRAMEWORKS_DTYPES) or dtypes[:1]
    return FrameworksConfig(
        path=str(path),
        seed=_nonnegative(path, "frameworks.seed", table["seed"]),
        dtypes=dtypes,
        lengths=lengths,
        draws=draws,
        gradient_lengths=gradient_lengths,
    )
