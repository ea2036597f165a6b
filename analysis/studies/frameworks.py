"""Long rows and frameworks: our methods, JAX and (when installed) PyTorch on
rows up to n = 2**18 of realistic synthetic logits, in every format, against
the correctly rounded truth; and the cross-entropy gradient at scale.

For every setting of :mod:`analysis.logits`, length n and format of the
[frameworks] table of study.toml, ``draws[n]`` seeded rows are rounded to the
format (rows with an entry beyond the format's range are left out and
counted: that is the score's overflow, not softmax's), and each
implementation -- the methods of :mod:`analysis.practical` in the model
arithmetic, ``jax.nn.softmax``/``log_softmax``/``logsumexp`` (jit-compiled,
x64 enabled) and ``torch.softmax``/``log_softmax``/``logsumexp`` -- gives
the three functions.  Per (setting, n, format, implementation, function): the
rows, the worst and the median over rows of each row's worst-component ulp
distance to the truth (:func:`analysis.fastref.truths`, bit-identical to
mpmath's correctly rounded values) and the count of rows per grade of
:func:`analysis.metrics.grade` (log-domain for logsumexp and log-softmax).

The gradient: for the first draw of each of GRADIENT_SETTINGS at ``gradient_lengths``,
target t = the row's argmax (the trained, confident case, where p_t - 1
cancels), the cross-entropy loss -log softmax_t and gradient softmax -
onehot(t) by our methods (:func:`analysis.practical.gradient`), ``jax.grad``
and PyTorch's autograd of ``F.cross_entropy``, against
:func:`analysis.practical.gradient_truth`; per case the worst ulps, the
grade, and whether the target's entry is exactly 0 or NaN.

Not repeatable: a framework call whose output on the same rows changes
when it runs again after a call on other rows, or that is known to change
from run to run (``KNOWN_NOT_REPEATABLE``), is recorded with the error
``NOT_REPEATABLE`` and no counts (:func:`_repeatable_call`).

Host-dependent: JAX's and PyTorch's exp are their own kernels (XLA's and
ATen's vectorised code for this CPU); our methods' numbers are the same
bytes everywhere.  The study runs in its own process
(``python -m analysis.studies.frameworks``: JSON on standard output), so
that enabling JAX's x64 mode touches nothing else.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time

import numpy as np

from .. import fastref, frameworks, logits, practical
from ..formats import FORMATS
from ..metrics import FAILURES, GRADES, canonical_bits, grade, judged_by_ulps, ulp_distance

FUNCTIONS = ("softmax", "logsumexp", "log_softmax")
# The gradient's settings: one per family and the two that stress it most
# (the sharp T = 0.1 row, where p_t rounds to 1, and the outlier keys).  Its
# truth costs a double-double pass over the row, so not all nine.
GRADIENT_SETTINGS = ("normal_s1", "llm_t1", "llm_t0.1", "attn_outlier_d128")


def _summary(computed: np.ndarray, truth: np.ndarray, function: str) -> dict:
    """rows, worst and median of the per-row worst ulps (also over the rows
    that did not fail, with their 5th and 95th percentiles), grade counts."""
    if computed.ndim == 1:
        computed, truth = computed[:, None], truth[:, None]
    log_domain = function != "softmax"
    with np.errstate(invalid="ignore"):
        distance = np.atleast_1d(ulp_distance(computed, truth)).reshape(computed.shape)
        # Components graded by absolute error (a subnormal truth flushed to 0,
        # a log-probability within u of a truth near 0) have no ULPs: 0.
        judged = judged_by_ulps(computed, truth, log_domain, ulps=distance).reshape(computed.shape)
        worst = np.where(judged, distance, 0.0).max(axis=-1)
    grades = np.atleast_1d(grade(computed, truth, log_domain=log_domain, ulps=distance))
    kept = worst[~np.isin(grades, FAILURES)]
    return {
        "rows": int(worst.size),
        "worst_ulp": float(worst.max()),
        "median_ulp": float(np.median(worst)),
        # over the rows that did not fail (lost, inf, NaN): the error of the answers a user keeps
        "median_ok_ulp": float(np.median(kept)) if kept.size else None,
        "worst_ok_ulp": float(kept.max()) if kept.size else None,
        # their 5th and 95th percentiles (numpy's linear interpolation): the figure's band
        "p5_ok_ulp": float(np.percentile(kept, 5)) if kept.size else None,
        "p95_ok_ulp": float(np.percentile(kept, 95)) if kept.size else None,
        "grades": {g: int((grades == g).sum()) for g in GRADES if (grades == g).any()},
    }


def implementations(with_torch: bool) -> list[str]:
    return [*practical.METHODS, "jax", *(["torch"] if with_torch else [])]


def _error_text(err: Exception) -> str:
    return f"{type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}"


# The text of a record whose framework call gave other outputs for the same rows.
NOT_REPEATABLE = "not repeatable: the same rows gave other values after a call on other rows"


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    """The same values, bit for bit (the sign of zero counted), any NaN equal
    to any NaN (:func:`analysis.metrics.canonical_bits`)."""
    return np.array_equal(canonical_bits(a), canonical_bits(b))


# Calls known to give outputs that vary from run to run, which no check in
# one process catches every time (see _repeatable_call): recorded
# NOT_REPEATABLE without being made.
KNOWN_NOT_REPEATABLE = {
    # jax.nn.softmax starts its max from -inf, which float8_e4m3fn cannot hold
    # (NaN); on jax 0.10.2 the same 100 rows at n = 10 came out with 100, 99,
    # 96, 86, 80 or 3 rows NaN (the others "lost") from one run of the study
    # to the next, and with XLA's --xla_cpu_enable_fast_min_max=false too.
    ("jax", "float8_e4m3fn", "softmax"),
}


def _repeatable_call(framework: str, function: str, z: np.ndarray):
    """frameworks.call, then the same call on the rows in reverse order (other
    values, the same shape: the compiled program runs again with other data
    in its buffers) and on the rows again: the first output if the two on
    the rows agree (:func:`_same`), else NOT_REPEATABLE; NOT_REPEATABLE at
    once for the KNOWN_NOT_REPEATABLE calls.  A call whose numbers change
    with the process's earlier work has no numbers a reproducible study can
    print."""
    if (framework, z.dtype.name, function) in KNOWN_NOT_REPEATABLE:
        return NOT_REPEATABLE
    first = frameworks.call(framework, function, z)
    frameworks.call(framework, function, z[::-1].copy())
    return first if _same(first, frameworks.call(framework, function, z)) else NOT_REPEATABLE


def _outputs(z: np.ndarray, with_torch: bool) -> dict:
    """implementation -> [softmax, logsumexp, log_softmax], each an array or
    the error text of a call that raised (a refused format is a result) or
    that is not repeatable (:func:`_repeatable_call`)."""
    out = {m: list(v) for m, v in practical.all_methods(z).items()}
    for framework in ("jax", "torch") if with_torch else ("jax",):
        out[framework] = []
        for function in FUNCTIONS:
            try:
                out[framework].append(_repeatable_call(framework, function, z))
            except Exception as err:
                out[framework].append(_error_text(err))
    return out


def _gradient_record(z: np.ndarray, methods: dict, with_torch: bool) -> list[dict]:
    """The gradient records of one row (shape (1, n))."""
    target = np.argmax(z.astype(np.float64), axis=-1)
    truth_grad, truth_loss = practical.gradient_truth(z, target)
    t = int(target[0])
    computed = {m: (practical.gradient(out[0], target), -out[2][:, t]) for m, out in methods.items()
                if m in practical.METHODS}  # fmt: skip
    for framework in ("jax", "torch") if with_torch else ("jax",):
        try:
            computed[framework] = frameworks.gradient(framework, z, target)
        except Exception as err:
            computed[framework] = _error_text(err)
    records = []
    for impl, value in computed.items():
        if isinstance(value, str):
            records.append({"impl": impl, "error": value})
            continue
        g, loss = value
        with np.errstate(invalid="ignore"):
            ulps = ulp_distance(g, truth_grad)
            records.append({
                "impl": impl,
                "error": None,
                "worst_ulp": float(ulps.max()),
                "target_ulp": float(ulps[0, t]),
                "grade": str(grade(g[0], truth_grad[0])),
                "target_value": float(g[0, t]),
                "target_truth": float(truth_grad[0, t]),
                "target_zero": bool(g[0, t] == 0 and truth_grad[0, t] != 0),
                "nan": int(np.isnan(g).sum()),
                "zeros": int(((g == 0) & (truth_grad != 0)).sum()),
                "loss_ulp": float(ulp_distance(np.asarray(loss).reshape(1), truth_loss)[0]),
            })  # fmt: skip
    return records


def study(cfg, progress=None) -> dict:
    """The records of the module docstring for the settings ``cfg``
    (:class:`analysis.config.FrameworksConfig`)."""
    with_torch = frameworks.torch_available()
    records, gradients = [], []
    started = time.perf_counter()
    drawn = {}  # the float64 rows of each (setting, n), drawn once for every format
    for dtype_name in cfg.dtypes:
        dtype = FORMATS[dtype_name].dtype
        for n, draws in zip(cfg.lengths, cfg.draws):
            for setting in logits.SETTINGS:
                if (setting, n) not in drawn:
                    drawn[setting, n] = logits.rows(setting, n, draws, cfg.seed)
                with np.errstate(over="ignore"):
                    z = drawn[setting, n].astype(dtype)
                finite = np.all(np.isfinite(z.astype(np.float64)), axis=-1)
                base = {"setting": setting, "n": n, "dtype": dtype_name, "skipped": int((~finite).sum())}
                z = z[finite]
                if not z.shape[0]:
                    continue
                truths = fastref.truths(z)
                outputs = _outputs(z, with_torch)
                for impl, out in outputs.items():
                    for i, function in enumerate(FUNCTIONS):
                        if isinstance(out[i], str):
                            records.append({**base, "impl": impl, "function": function, "error": out[i]})
                        else:
                            records.append({**base, "impl": impl, "function": function, "error": None,
                                            **_summary(out[i], truths[i], function)})  # fmt: skip
                if n in cfg.gradient_lengths and setting in GRADIENT_SETTINGS:
                    one = {m: tuple(a[:1] for a in o) for m, o in outputs.items() if m in practical.METHODS}
                    for r in _gradient_record(z[:1], one, with_torch):
                        gradients.append({"setting": setting, "n": n, "dtype": dtype_name, **r})
            if progress:
                progress(f"{dtype_name} n={n}: {time.perf_counter() - started:.1f} s")
    return {
        "settings": cfg.as_dict(),
        "families": {k: {"family": f, "description": d} for k, (f, _, d) in logits.SETTINGS.items()},
        "implementations": implementations(with_torch),
        "methods_modelled": METHOD_MODELS,
        "versions": {"jax": frameworks.version("jax"), "jaxlib": frameworks.version("jaxlib"),
                     "torch": frameworks.version("torch")},  # fmt: skip
        "torch_available": with_torch,
        "block": practical.BLOCK,
        "gradient_settings": list(GRADIENT_SETTINGS),
        "records": records,
        "gradients": gradients,
    }


# What each of our methods models (analysis.practical's docstring, in short).
METHOD_MODELS = {
    "naive": "no framework: the textbook exp(z)/sum exp(z) in the format",
    "shifted": "everything in the input format, sequential sum (numpy/SciPy on bfloat16)",
    "shifted_fp32": "float32 arithmetic, sequential float32 sum, one rounding (PyTorch's CPU softmax)",
    "shifted_fp32_pairwise": "float32 arithmetic, pairwise-tree float32 sum (XLA and GPU tree reductions)",
    "online_fp32": "one pass, float32 running max and sum over blocks of 128 (FlashAttention)",
}


# The pipeline starts this study beside its other work and sets this to its
# pid: when that process dies (even by SIGKILL, which leaves it no chance to
# stop us), the study ends too instead of running on as an orphan.
PARENT_ENV = "SOFTMAX_STUDY_PARENT_PID"


def _exit_with_parent(parent: str | None) -> None:
    if not parent:
        return

    def watch():
        while os.getppid() == int(parent):
            time.sleep(0.2)
        os._exit(1)

    threading.Thread(target=watch, daemon=True).start()


def main(argv: list[str] | None = None) -> int:
    """``python -m analysis.studies.frameworks [--config PATH] [--quick]``:
    the study as JSON on standard output (x64 enabled for JAX first)."""
    from ..config import ConfigError, load_frameworks

    parser = argparse.ArgumentParser(prog="python -m analysis.studies.frameworks")
    parser.add_argument("--config", default=None)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    try:
        cfg = load_frameworks(args.config, args.quick)
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    _exit_with_parent(os.environ.get(PARENT_ENV))
    frameworks.enable_x64()
    document = study(cfg, progress=lambda s: print(s, file=sys.stderr))
    json.dump(document, sys.stdout, sort_keys=True, default=repr, allow_nan=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
