"""Log-softmax, the approximation z_i - max z, cross-entropy and std_norm.

Pure numerics: no I/O, no plotting.  Everything is measured against the
correctly rounded ground truth of :mod:`analysis.reference` and compared
with a closed form.

The approximation log softmax(z)_i ~ z_i - max z errs by exactly
L = lse(z) - max z, 0 <= L <= log n.  For the two-level vector
z = (0, -g, ..., -g) of length n, L(g) = log(1 + (n - 1) e^-g), and

- the top entry's true value is -L, approximated by 0: the approximation is
  the correctly rounded value once L < s/2, half the smallest subnormal s
  (below it -L rounds to -0);
- every other entry's true value is -g - L, approximated by -g: exact once L
  is below half an ulp of g (about u*g), because -g - L then rounds to -g.

Solving L(g) = threshold gives the critical gaps g*
(:func:`predicted_g_star`); :func:`observed_g_star` finds them on a 0.01
grid from the implementation and the ground truth.  That part is
:mod:`analysis.studies.gstar`; its names are importable from here too.

Cross-entropy (:func:`cross_entropy_study`): loss -log softmax(z)_y and
gradient softmax(z) - onehot(y) for z = (margin, 0, ..., 0), y = 0, by the
naive route (log of the naive softmax) and by the shifted log-softmax and
softmax, with the thresholds where they break, measured on every value of
the format and predicted from its constants.

References: P. Blanchard, D. J. Higham, N. J. Higham, "Accurately computing
the log-sum-exp and softmax functions", IMA J. Numer. Anal. 41(4), 2021,
https://doi.org/10.1093/imanum/draa038; I. Goodfellow, Y. Bengio,
A. Courville, *Deep Learning*, MIT Press 2016, §4.1 and §6.2.2.3.
"""

from __future__ import annotations

import mpmath
import numpy as np

from .. import crmath, reference
from .. import softmax as sm
from ..families import geomspace
from ..formats import FORMATS, STUDY_DTYPES, Format, ulp  # noqa: F401 (ulp: part of this module's interface)
from ..metrics import FAILURES, bits_of_error, grade
from .gstar import (  # noqa: F401 -- the g* part, re-exported
    COARSE_POINTS,
    ENTRIES,
    G_STAR_LENGTHS,
    GRID_DIVISOR,
    GRID_STEP,
    WINDOW,
    WORK_BITS,
    closed_form_log10,
    error_curves,
    exact_condition,
    g_star_table,
    observed_g_star,
    predicted_g_star,
    predicted_g_star_on_grid,
)

# --- cross-entropy ---------------------------------------------------------------------------------------


def _ce_vectors(margins: np.ndarray, n: int, fmt: Format) -> np.ndarray:
    """z = (margin, 0, ..., 0) in the format: the correct class (index 0)
    leads the others by ``margin`` (behind when negative)."""
    z = np.zeros((len(margins), n), dtype=np.float64)
    z[:, 0] = margins
    return crmath.to_format(z, fmt.dtype)


def losses_and_gradients(margins, n: int, dtype: str) -> dict:
    """Computed loss and gradient of both routes for z = (m, 0, ..., 0), y = 0."""
    fmt = FORMATS[dtype]
    z = _ce_vectors(np.asarray(margins, dtype=np.float64), n, fmt)
    onehot = np.zeros(n, dtype=fmt.dtype)
    onehot[0] = 1
    with np.errstate(divide="ignore", invalid="ignore", over="ignore", under="ignore"):
        p_naive = sm.softmax_naive(z)
        p_shifted = sm.softmax_shifted(z)
        return {
            "z": z,
            "loss_naive": -crmath.log(p_naive[:, 0]),
            "loss_shifted": -sm.log_softmax_shifted(z)[:, 0],
            "grad_naive": p_naive - onehot,
            "grad_shifted": p_shifted - onehot,
        }


def true_gradient(margin: float, n: int, dtype: str) -> np.ndarray:
    """softmax(z) - onehot(0) for z = (m, 0, ..., 0), from the closed form
    x = e^-m: component 0 is -(n-1)x / (1 + (n-1)x), the others
    x / (1 + (n-1)x); evaluated with 300-bit mpmath and rounded once
    (correct unless within 2^-290 relative of a rounding boundary)."""
    with mpmath.workprec(WORK_BITS):
        x = mpmath.exp(-mpmath.mpf(margin))
        denominator = 1 + (n - 1) * x
        top = reference.round_mpf(-(n - 1) * x / denominator, FORMATS[dtype].dtype)
        rest = reference.round_mpf(x / denominator, FORMATS[dtype].dtype)
    out = np.full(n, rest, dtype=FORMATS[dtype].dtype)
    out[0] = top
    return out


def true_losses(z: np.ndarray) -> np.ndarray:
    """-log softmax(z)_0, correctly rounded (reference.log_softmax)."""
    out = -reference.log_softmax(z)[:, 0]
    reference._row.cache_clear()
    return out


def _grade(computed: np.ndarray, truth: np.ndarray, log_domain: bool) -> list[str]:
    """metrics.grade per row; a loss is graded by its absolute error near 0."""
    return [str(s) for s in np.atleast_1d(grade(computed, truth, log_domain=log_domain))]


def margin_grid(dtype: str, points: int = 241) -> np.ndarray:
    """Margins from -1.15 T to 1.15 T, T = ln(2/s) (where e^-m underflows),
    plus 0: the grid of the cross-entropy figure."""
    fmt = FORMATS[dtype]
    reach = 1.15 * (float(mpmath.log(2)) - fmt.ln_smallest_subnormal)  # not the C library's log: see formats._ln
    return np.unique(np.concatenate([np.linspace(-reach, reach, points), [0.0]]))


def cross_entropy_curves(n: int, dtype: str, points: int = 241) -> dict:
    """Bits of error of the loss and of the gradient (worst component) of
    both routes against the margin, with the grade of each output
    (metrics.grade; the loss in the log domain)."""
    margins = margin_grid(dtype, points)
    computed = losses_and_gradients(margins, n, dtype)
    fmt_dtype = FORMATS[dtype].dtype
    loss_truth = true_losses(computed["z"]).astype(fmt_dtype)
    margins_in_format = computed["z"][:, 0].astype(np.float64)
    grad_truth = np.stack([true_gradient(float(m), n, dtype) for m in margins_in_format])
    out = {"margin": margins_in_format.tolist()}
    for route in ("naive", "shifted"):
        loss = computed[f"loss_{route}"].astype(fmt_dtype)
        grad = computed[f"grad_{route}"]
        out[f"loss_{route}_grade"] = _grade(loss[:, None], loss_truth[:, None], log_domain=True)
        out[f"loss_{route}_bits"] = [float(b) for b in bits_of_error(loss, loss_truth)]
        out[f"loss_{route}_zero"] = [bool(v) for v in (loss == 0) & (loss_truth != 0)]  # 0, the truth not
        out[f"grad_{route}_grade"] = _grade(grad, grad_truth, log_domain=False)
        out[f"grad_{route}_bits"] = [float(b) for b in np.max(bits_of_error(grad, grad_truth), axis=-1)]
        out[f"grad_{route}_all_zero"] = [bool(v) for v in np.all(grad == 0, axis=-1)]
    return out


# Predicates on one margin (a value of the format): each is False at margin 0
# and turns True once |margin| passes the threshold, in the direction given.
def _naive_loss_inf(m, n, dtype):
    return bool(np.isposinf(losses_and_gradients([m], n, dtype)["loss_naive"][0]))


def _naive_grad_nan(m, n, dtype):
    return bool(np.isnan(losses_and_gradients([m], n, dtype)["grad_naive"][0]).any())


def _shifted_loss_zero(m, n, dtype):
    return bool(losses_and_gradients([m], n, dtype)["loss_shifted"][0] == 0)


def _true_loss_zero(m, n, dtype):
    return bool(true_losses(_ce_vectors(np.array([m]), n, FORMATS[dtype]))[0] == 0)


def _shifted_grad_zero(m, n, dtype):
    return bool(np.all(losses_and_gradients([m], n, dtype)["grad_shifted"][0] == 0))


def _true_grad_zero(m, n, dtype):
    return bool(np.all(true_gradient(m, n, dtype) == 0))


def _format_values(fmt: Format, sign: int, high: float) -> tuple[np.ndarray, callable]:
    """Bit patterns of the positive values of the format up to ``high``, and
    the map from a pattern to the signed value: patterns of positive values
    are ordered like the values, so a bisection over them visits every value."""
    uint = {2: np.uint16, 4: np.uint32, 8: np.uint64}[fmt.dtype.itemsize]
    top = int(np.array(high, dtype=np.float64).astype(fmt.dtype).view(uint))

    def value(bits: int) -> float:
        return sign * float(np.array(bits, dtype=uint).view(fmt.dtype))

    return top, value


def first_margin(predicate, n: int, dtype: str, sign: int) -> float | None:
    """The value of the format closest to 0 (on the side ``sign``) from which
    ``predicate`` holds, found by bisection over every value of the format
    (the predicates are monotone in |margin|); None if it never holds below
    the format's max."""
    fmt = FORMATS[dtype]
    top, value = _format_values(fmt, sign, fmt.max)
    if not predicate(value(top), n, dtype):
        return None
    low = 0  # the pattern of +0: the predicate is False there
    while top - low > 1:
        mid = (low + top) // 2
        if predicate(value(mid), n, dtype):
            top = mid
        else:
            low = mid
    return value(top)


def predicted_margins(n: int, dtype: str) -> dict:
    """The thresholds of the cross-entropy study from the format's constants
    (s: smallest subnormal, u = 2^-p), in the margin m, as real numbers."""
    fmt = FORMATS[dtype]
    s, u = fmt.smallest_subnormal, fmt.unit_roundoff
    with mpmath.workprec(WORK_BITS):
        largest = mpmath.mpf(fmt.max) + mpmath.mpf(ulp(fmt.max, fmt)) / 2
        half_s = mpmath.mpf(s) / 2
        # |true gradient_0| = (n-1)x / (1 + (n-1)x) = s/2  <=>  x = (s/2) / ((n-1)(1 - s/2)).
        x_grad = half_s / ((n - 1) * (1 - half_s))
        return {
            # fl(e^m) / (n-1) < s/2: the naive softmax of the correct class is 0, its log -inf.
            "naive_loss_inf": float(mpmath.log((n - 1) * half_s)),
            # e^m rounds to inf (>= max + ulp(max)/2): inf/inf = NaN.
            "naive_grad_nan": float(mpmath.log(largest)),
            # every fl(e^-m) <= u: each 1 + e^-m of the recursive sum rounds to 1, the loss to 0.
            "shifted_loss_zero": float(-mpmath.log(u)),
            # the true loss log(1 + (n-1) e^-m) < s/2 (the top entry's g*).
            "true_loss_zero": predicted_g_star(n, dtype, "top"),
            # e^-m < s/2 rounds to 0: every off-class probability is 0 and the sum is 1.
            "shifted_grad_zero": float(-mpmath.log(half_s)),
            # the true gradient's largest component rounds to 0.
            "true_grad_zero": float(-mpmath.log(x_grad)),
        }


THRESHOLDS = {
    "naive_loss_inf": (_naive_loss_inf, -1),
    "naive_grad_nan": (_naive_grad_nan, +1),
    "shifted_loss_zero": (_shifted_loss_zero, +1),
    "true_loss_zero": (_true_loss_zero, +1),
    "shifted_grad_zero": (_shifted_grad_zero, +1),
    "true_grad_zero": (_true_grad_zero, +1),
}


def cross_entropy_thresholds(n: int, dtype: str) -> dict:
    """Measured (every value of the format) and predicted margins per threshold."""
    predicted = predicted_margins(n, dtype)
    out = {}
    for name, (predicate, sign) in THRESHOLDS.items():
        observed = first_margin(predicate, n, dtype, sign)
        out[name] = {"observed": observed, "predicted": predicted[name]}
    return out


def shifted_loss_accuracy(curves: dict, thresholds: dict) -> dict:
    """Worst bits of error of the shifted log-softmax loss on the grid: where
    the naive loss is inf (margin at or below its threshold), where the
    shifted loss is not yet 0 (below ``shifted_loss_zero``), the number of
    grid margins where it is 0 while the truth is not, and how many of those
    are failures (metrics.grade in the log domain: none while |truth| <= u)."""
    margins = np.array(curves["margin"])
    bits = np.array(curves["loss_shifted_bits"])
    inf_side = margins <= thresholds["naive_loss_inf"]["observed"]
    before_zero = margins < thresholds["shifted_loss_zero"]["observed"]

    def worst(mask):
        return float(bits[mask].max()) if mask.any() else None

    zero = curves["loss_shifted_zero"]

    return {
        "worst_bits_where_naive_inf": worst(inf_side),
        "points_where_naive_inf": int(inf_side.sum()),
        "worst_bits_before_zero": worst(before_zero),
        "spurious_zero_points": int(sum(zero)),
        "zero_points_failed": int(sum(z and g in FAILURES for z, g in zip(zero, curves["loss_shifted_grade"]))),
    }


def cross_entropy_study(n: int = 10, dtypes=STUDY_DTYPES, points: int = 241) -> dict:
    out = {"n": n, "y": 0, "formats": {}}
    for dtype in dtypes:
        curves = cross_entropy_curves(n, dtype, points)
        thresholds = cross_entropy_thresholds(n, dtype)
        out["formats"][dtype] = {
            "curves": curves,
            "thresholds": thresholds,
            "accuracy": shifted_loss_accuracy(curves, thresholds),
        }
    return out


# --- softmax vs std_norm ---------------------------------------------------------------------------------

STD_NORM_SEEDS = ((1.0, 2.0), (10.0, 20.0))
STD_NORM_CASES = ((1.0, 2.0), (10.0, 20.0), (-1.0, -2.0), (2.0, -1.0), (1.0, -1.0), (0.0, 0.0), (3.0, 1.0, -2.0))


def std_norm_problems(z, p) -> list[str]:
    """What is wrong with ``p`` as a probability vector for the scores ``z``."""
    z, p = np.asarray(z, dtype=np.float64), np.asarray(p, dtype=np.float64)
    problems = []
    if not np.all(np.isfinite(p)):
        problems.append("not finite (Σz = 0)")
    elif np.any(p < 0):
        problems.append("negative output")
    if np.all(np.isfinite(p)) and len(z) > 1 and np.argmax(p) != np.argmax(z):
        problems.append("largest score gets the smallest share")
    return problems


def std_norm_study(scales=None) -> dict:
    """softmax (correctly rounded) and std_norm (float64) of the seeds at
    every scale s (z = s * seed), and both on the failure cases."""
    scales = geomspace(0.01, 100.0, 41) if scales is None else np.asarray(scales, dtype=np.float64)
    sweep = []
    for seed in STD_NORM_SEEDS:
        z = np.asarray(seed)[None, :] * scales[:, None]
        sweep.append(
            {
                "seed": list(seed),
                "scale": scales.tolist(),
                "softmax_top": [float(v) for v in reference.softmax(z)[:, -1]],
                "std_norm_top": [float(v) for v in sm.std_norm(z)[:, -1]],
            }
        )
    cases = []
    for vector in STD_NORM_CASES:
        z = np.asarray(vector, dtype=np.float64)
        p_std = sm.std_norm(z)
        cases.append(
            {
                "z": list(vector),
                "softmax": [float(v) for v in reference.softmax(z)],
                "std_norm": [float(v) for v in p_std],
                "softmax_problems": std_norm_problems(z, reference.softmax(z)),
                "std_norm_problems": std_norm_problems(z, p_std),
            }
        )
    reference._row.cache_clear()
    return {"sweep": sweep, "cases": cases}


def study(quick: bool = False) -> dict:
    """Everything the report section needs; ``quick`` a smaller version
    (fewer lengths and points) for tests."""
    if quick:
        return {
            "grid_step": GRID_STEP,
            "gstar": g_star_table(lengths=(2, 10), coarse=4),
            "error": error_curves(lengths=(2, 10), points=12),
            "cross_entropy": cross_entropy_study(points=31),
            "std_norm": std_norm_study(geomspace(0.1, 10.0, 5)),
        }
    return {
        "grid_step": GRID_STEP,
        "gstar": g_star_table(),
        "error": error_curves(),
        "cross_entropy": cross_entropy_study(),
        "std_norm": std_norm_study(),
    }
