"""The host's exp and log as a measured axis: what numpy's own elementary
functions add to the study, at every SIMD dispatch level numpy can run on
this CPU.

numpy chooses its exp/log kernels at import time by CPU feature (its
``__cpu_dispatch__`` targets, e.g. X86_V3 = AVX2, X86_V4 = AVX-512), and
``NPY_DISABLE_CPU_FEATURES`` switches targets off.  A *level* is the set of
targets up to one of them: the baseline, then each target this CPU has,
every higher one disabled.  For each level, in a process started with that
setting (:func:`measure_level`, run as ``python -m analysis.studies.hostlib``):

- :func:`library_errors`: the distance in ulps between numpy's exp (and
  log) and the correctly rounded value (:mod:`analysis.crmath`) -- 0 is
  correctly rounded -- on every finite bit pattern of the 8- and 16-bit
  formats and on ``samples`` seeded arguments for float32 and float64: exp
  over [ln of the smallest subnormal, ln max] (uniform), log over the
  positive finite values (uniform in the exponent: every binade).
- :func:`study_effect`: the study's methods in the "host" arithmetic
  (numpy's exp/log/log1p) against the same methods in the "model"
  arithmetic, and SciPy (which calls numpy), on the sweep's vectors at
  ``lengths``: per (function, method, format), how many vectors change
  grade (metrics.grade) or worst-component ulps, and a digest of the model outputs, which
  must be the same at every level.

Pure numerics apart from :func:`main`, the worker's entry point (JSON on
standard output).  Reference: NumPy's "CPU build options" and "CPU/SIMD
optimizations" documentation (``NPY_DISABLE_CPU_FEATURES``).
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import hashlib
import json
import math
import os
import platform
import subprocess
import sys

import numpy as np

from .. import crmath, fastref, peers
from ..formats import ALL_DTYPES, FORMATS
from ..metrics import FAILURES, grade, ulp_distance
from ..reference import TRUTH_INDEX
from . import sweep

FUNCTIONS = ("exp", "log")


_TARGETS = (
    "from numpy._core._multiarray_umath import __cpu_dispatch__ as d, __cpu_features__ as f;"
    "print(' '.join(t for t in d if f.get(t)))"
)


def dispatch_targets() -> list[str]:
    """numpy's dispatch targets that this CPU supports, lowest first -- asked
    of a fresh interpreter without NPY_DISABLE_CPU_FEATURES when this process
    has it (numpy then reports the disabled ones as absent); found once per
    process (the pipeline's staleness check and the host study's settings
    both ask)."""
    return list(_dispatch_targets())


@functools.cache
def _dispatch_targets() -> tuple[str, ...]:
    if not os.environ.get("NPY_DISABLE_CPU_FEATURES"):
        from numpy._core._multiarray_umath import __cpu_dispatch__, __cpu_features__

        return tuple(t for t in __cpu_dispatch__ if __cpu_features__.get(t))
    env = {k: v for k, v in os.environ.items() if k != "NPY_DISABLE_CPU_FEATURES"}
    return tuple(subprocess.run([sys.executable, "-c", _TARGETS], env=env, capture_output=True, text=True,
                                check=True).stdout.split())  # fmt: skip


def levels() -> list[dict]:
    """[{"name", "disable"}]: the baseline and each supported target, with
    the NPY_DISABLE_CPU_FEATURES value that stops numpy above it."""
    from numpy._core._multiarray_umath import __cpu_baseline__

    targets = dispatch_targets()
    out = [{"name": f"baseline ({__cpu_baseline__[-1]})", "disable": " ".join(targets)}]
    for i, target in enumerate(targets):
        out.append({"name": target, "disable": " ".join(targets[i + 1 :])})
    return out


def cpu_model() -> str:
    """The CPU's model name (Linux /proc/cpuinfo, else platform)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def arguments(function: str, dtype_name: str, samples: int, seed: int) -> np.ndarray:
    """The arguments of one (function, format): every finite bit pattern of a
    format of at most 16 bits (positive ones for log), else ``samples``
    seeded values over the domain (see the module docstring)."""
    fmt = FORMATS[dtype_name]
    if fmt.dtype.itemsize <= 2:
        uint = np.uint8 if fmt.dtype.itemsize == 1 else np.uint16
        x = np.arange(2 ** (8 * fmt.dtype.itemsize), dtype=np.int64).astype(uint).view(fmt.dtype)
        with np.errstate(invalid="ignore"):
            x64 = x.astype(np.float64)
        keep = np.isfinite(x64) & ((x64 > 0) if function == "log" else True)
        return x[keep]
    rng = np.random.default_rng([seed, fmt.precision, FUNCTIONS.index(function)])
    if function == "exp":
        x = rng.uniform(fmt.ln_smallest_subnormal, fmt.ln_max, samples)
    else:
        x = np.exp2(rng.uniform(math.log2(fmt.smallest_subnormal), fmt.emax + 1, samples))
    with np.errstate(over="ignore"):
        x = crmath.to_format(x, fmt.dtype)
    return x[np.isfinite(x)]


def library_errors(dtypes, samples: int, seed: int) -> list[dict]:
    """For each function and format: numpy's result against the correctly
    rounded one, as the count of arguments at each ulp distance (0, 1, 2,
    >= 3) and the largest distance."""
    records = []
    for function in FUNCTIONS:
        for dtype_name in dtypes:
            x = arguments(function, dtype_name, samples, seed)
            with np.errstate(all="ignore"):
                host = getattr(np, function)(x)
                distance = ulp_distance(host, getattr(crmath, function)(x))
            counts = [int(np.count_nonzero(distance == k)) for k in (0, 1, 2)]
            records.append(
                {
                    "function": function,
                    "dtype": dtype_name,
                    "arguments": int(x.size),
                    "exhaustive": FORMATS[dtype_name].dtype.itemsize <= 2,
                    "ulps": {"0": counts[0], "1": counts[1], "2": counts[2], ">=3": int(x.size) - sum(counts)},
                    "max_ulps": float(distance.max()),
                }
            )
    return records


def _worst(computed, truth, log_domain: bool) -> tuple[np.ndarray, np.ndarray]:
    """Per vector: grade (metrics.grade) and worst-component ulps."""
    if computed.ndim == 1:
        computed, truth = computed[:, None], truth[:, None]
    grades = np.atleast_1d(grade(computed, truth, log_domain=log_domain))
    return grades, ulp_distance(computed, truth).max(axis=1)


def study_effect(cfg, lengths, methods, draws: int | None = None) -> list[dict]:
    """The methods in the host arithmetic against the model arithmetic on the
    sweep's vectors (both families, every format of ``cfg``) at ``lengths``,
    of the scaled normal family the first ``draws`` draws per scale (all
    when None).  SciPy has no model arithmetic: its host results are
    compared with the model results of "shifted", the formula it evaluates."""
    subset = dataclasses.replace(cfg, lengths=tuple(lengths), methods=("naive",), extra_methods=(),
                                 draws=cfg.draws if draws is None else min(draws, cfg.draws))  # fmt: skip
    totals: dict[tuple, dict] = {}
    for task in sweep.tasks(subset):
        z, _ = sweep.chunk_vectors(task)
        if not len(z):
            continue
        truths = fastref.truths(z)
        for function in cfg.functions:
            truth = truths[TRUTH_INDEX[function]]
            for method in methods:
                if (function, method) not in peers.IMPLEMENTATIONS:
                    continue
                f = peers.IMPLEMENTATIONS[function, method]
                with np.errstate(all="ignore"):
                    host = f(z, arithmetic="host")
                    model = peers.IMPLEMENTATIONS[function, "shifted" if method == "scipy" else method](z)
                    log_domain = function in ("logsumexp", "log_softmax")
                    grade_h, ulps_h = _worst(host, truth, log_domain)
                    grade_m, ulps_m = _worst(model, truth, log_domain)
                key = (function, method, task["dtype"])
                t = totals.setdefault(
                    key,
                    {"vectors": 0, "grade_changed": 0, "ulps_changed": 0, "max_ulps_host": 0.0,
                     "max_ulps_model": 0.0, "largest_change": 0.0, "model_digest": hashlib.sha256()},
                )  # fmt: skip
                ok = ~np.isin(grade_h, FAILURES) & ~np.isin(grade_m, FAILURES)
                t["vectors"] += len(z)
                t["grade_changed"] += int(np.count_nonzero(grade_h != grade_m))
                t["ulps_changed"] += int(np.count_nonzero(ok & (ulps_h != ulps_m)))
                if ok.any():
                    t["max_ulps_host"] = max(t["max_ulps_host"], float(ulps_h[ok].max()))
                    t["max_ulps_model"] = max(t["max_ulps_model"], float(ulps_m[ok].max()))
                    t["largest_change"] = max(t["largest_change"], float(np.abs(ulps_h[ok] - ulps_m[ok]).max()))
                t["model_digest"].update(np.ascontiguousarray(model).tobytes())
    return [
        {"function": f, "method": m, "dtype": d, **{k: v for k, v in t.items() if k != "model_digest"},
         "model_digest": t["model_digest"].hexdigest()[:16]}  # fmt: skip
        for (f, m, d), t in sorted(totals.items(), key=lambda kv: (kv[0][0], kv[0][1], ALL_DTYPES.index(kv[0][2])))
    ]


def measure_level(cfg, hcfg) -> dict:
    """Everything measured at the level this process runs at."""
    from numpy._core._multiarray_umath import __cpu_features__

    return {
        "features": sorted(k for k, v in __cpu_features__.items() if v),
        "library": library_errors(cfg.dtypes, hcfg.samples, hcfg.seed),
        "study": study_effect(cfg, hcfg.lengths, hcfg.methods, hcfg.draws),
    }


def main(argv: list[str] | None = None) -> int:
    """Worker: measure at the level set by NPY_DISABLE_CPU_FEATURES in this
    process's environment; print the result as JSON."""
    from ..config import ConfigError, load, load_host

    parser = argparse.ArgumentParser(prog="python -m analysis.studies.hostlib", description=main.__doc__)
    parser.add_argument("--config", default=None)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--list-lower-levels", action="store_true",
                        help="print NAME<TAB>NPY_DISABLE_CPU_FEATURES for the two lowest levels below the top one "
                             "(without AVX-512, without AVX2) and exit")  # fmt: skip
    args = parser.parse_args(argv)
    if args.list_lower_levels:
        for level in levels()[:-1][:2][::-1]:
            print(f"{level['name']}\t{level['disable']}")
        return 0
    try:
        cfg = load(args.config, quick=args.quick)
        hcfg = load_host(args.config, quick=args.quick)
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    json.dump(measure_level(cfg, hcfg), sys.stdout, sort_keys=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
