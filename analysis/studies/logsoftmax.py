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
grid from the implementation and the ground truth.

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

import math

import mpmath
import numpy as np

from .. import crmath, reference
from .. import softmax as sm
from ..families import geomspace, two_level
from ..formats import FORMATS, STUDY_DTYPES, Format, ulp  # noqa: F401 (ulp: part of this module's interface)
from ..metrics import FAILURES, bits_of_error, grade

G_STAR_LENGTHS = (2, 10, 100, 1000, 10000)
ENTRIES = ("top", "rest")
GRID_STEP = 0.01  # the gap grid is k * GRID_STEP, k = 0, 1, 2, ...
GRID_DIVISOR = 100  # k / 100 is the correctly rounded float64 of k * 0.01
WINDOW = 0.5  # grid points checked on each side of the prediction (at least)
COARSE_POINTS = 24  # log-spaced gaps checked beyond the window
WORK_BITS = 300  # mpmath precision of the closed forms


# --- closed forms ---------------------------------------------------------------------------------


def _max_error(g: mpmath.mpf, n: int) -> mpmath.mpf:
    """L(g) = log(1 + (n - 1) e^-g), at the current mpmath precision."""
    return mpmath.log1p((n - 1) * mpmath.exp(-g))


def closed_form_log10(gaps, n: int) -> np.ndarray:
    """log10 L(g) for each gap, from mpmath (no underflow however large g)."""
    with mpmath.workprec(WORK_BITS):
        return np.array([float(mpmath.log10(_max_error(mpmath.mpf(float(g)), n))) for g in gaps])


def exact_condition(g: float, n: int, fmt: Format, entry: str) -> bool:
    """True when z_i - max z is the correctly rounded log-softmax of ``entry``
    for the two-level vector with gap ``g`` (a value of the format), from the
    closed form: L(g) < s/2 (top), L(g) < ulp(g)/2 (rest)."""
    with mpmath.workprec(WORK_BITS):
        # s/2 is not a float64 for float64 itself (2^-1075): halve in mpmath.
        threshold = mpmath.mpf(fmt.smallest_subnormal if entry == "top" else ulp(g, fmt)) / 2
        return bool(_max_error(mpmath.mpf(g), n) < threshold)


def predicted_g_star(n: int, dtype: str, entry: str) -> float:
    """The smallest real gap g beyond which the condition of
    :func:`exact_condition` holds, solved in closed form.

    L(g) = h  <=>  g = log(n - 1) - log(expm1(h)).  For the top entry
    h = s/2.  For the rest h = ulp(g)/2 is constant on each binade
    [2^e, 2^(e+1)), so the binades are tried in increasing order and the
    first one that contains its solution (or starts above it: then the
    jump of the ulp at 2^e decides) gives g*.
    """
    fmt = FORMATS[dtype]
    with mpmath.workprec(WORK_BITS):

        def solve(quantum: float) -> mpmath.mpf:  # h = quantum / 2, halved exactly in mpmath
            return mpmath.log(n - 1) - mpmath.log(mpmath.expm1(mpmath.mpf(quantum) / 2))

        if entry == "top":
            return float(solve(fmt.smallest_subnormal))
        for e in range(-8, fmt.emax + 1):
            g = solve(ulp(math.ldexp(1.0, e), fmt))
            if g < mpmath.ldexp(1, e + 1):
                return float(max(g, mpmath.ldexp(1, e)))
    raise ArithmeticError(f"no g* for n={n} {dtype}")  # L < log n: never reached


def _in_format(g: float, fmt: Format) -> float:
    return float(crmath.to_format(np.float64(g), fmt.dtype))


def predicted_g_star_on_grid(n: int, dtype: str, entry: str, g_pred: float | None = None) -> float:
    """The smallest grid gap k/100 whose value in the format satisfies the
    closed-form condition, with the condition holding at every later grid
    point of the scanned window (the closed form is monotone in g)."""
    fmt = FORMATS[dtype]
    g_pred = predicted_g_star(n, dtype, entry) if g_pred is None else g_pred
    width = max(WINDOW, 2 * ulp(g_pred, fmt))
    ks = range(max(0, math.floor((g_pred - width) * GRID_DIVISOR)), math.ceil((g_pred + width) * GRID_DIVISOR) + 1)
    exact = [exact_condition(_in_format(k / GRID_DIVISOR, fmt), n, fmt, entry) for k in ks]
    last_inexact = max(i for i, ok in enumerate(exact) if not ok)
    return ks[last_inexact + 1] / GRID_DIVISOR


# --- measured g* -------------------------------------------------------------------------------------


def _approx_is_exact(gaps: np.ndarray, n: int, dtype: str, entry: str) -> np.ndarray:
    """For each gap: does log_softmax_max_approx equal reference.log_softmax
    at the ``entry`` (index 0 for top, 1 for rest) of two_level(0, g, n)?"""
    fmt = FORMATS[dtype]
    z = two_level(0.0, gaps, n, fmt.dtype)
    index = 0 if entry == "top" else 1
    approx = sm.log_softmax_max_approx(z)[:, index].astype(np.float64)
    truth = reference.log_softmax(z)[:, index].astype(np.float64)
    return approx == truth  # -0.0 == 0.0: the top entry's truth rounds to -0


def observed_g_star(n: int, dtype: str, entry: str, g_pred: float, coarse: int = COARSE_POINTS) -> dict:
    """The smallest grid gap g (step 0.01, offset 0) at which z_i - max z
    equals the correctly rounded log-softmax of ``entry`` and stays equal at
    every grid point of a window past it, and at ``coarse`` log-spaced gaps
    from the window's end up to max/4 of the format (or 1e300).

    The window is [g_pred - W, g_pred + W] with W = max(0.5, 2 ulp(g_pred));
    it is widened leftwards until it starts with an inexact point, so g* is
    bracketed.  The reference is evaluated on n-entry vectors with two
    distinct values (two exponentials per row).
    """
    fmt = FORMATS[dtype]
    width = max(WINDOW, 2 * ulp(g_pred, fmt))
    k_high = math.ceil((g_pred + width) * GRID_DIVISOR)
    k_low = max(0, math.floor((g_pred - width) * GRID_DIVISOR))
    try:
        while True:
            ks = np.arange(k_low, k_high + 1)
            exact = _approx_is_exact(ks / GRID_DIVISOR, n, dtype, entry)
            if not exact[0] or k_low == 0:
                break
            k_low = max(0, k_low - (k_high - k_low))
        inexact = np.flatnonzero(~exact)
        first = int(inexact[-1]) + 1 if len(inexact) else 0
        if first >= len(ks):
            raise ArithmeticError(f"{dtype} n={n} {entry}: not exact at the end of the window")
        window_end = float(ks[-1] / GRID_DIVISOR)
        far = min(fmt.max / 4, 1e300)
        beyond = geomspace(window_end * 1.01, far, coarse) if coarse else np.empty(0)
        beyond = np.unique(np.array([_in_format(g, fmt) for g in beyond]))
        beyond_exact = _approx_is_exact(beyond, n, dtype, entry) if len(beyond) else np.ones(0, bool)
    finally:
        # Rows of 10^4 entries are large; the reference's row cache is not needed again.
        reference._row.cache_clear()
    return {
        "g_star": float(ks[first] / GRID_DIVISOR),
        "window": [float(ks[0] / GRID_DIVISOR), window_end],
        "window_points": int(len(ks)),
        "coarse_up_to": float(beyond[-1]) if len(beyond) else window_end,
        "coarse_points": int(len(beyond)),
        "exact_beyond": bool(np.all(exact[first:]) and np.all(beyond_exact)),
    }


def g_star_table(lengths=G_STAR_LENGTHS, dtypes=STUDY_DTYPES, coarse: int = COARSE_POINTS) -> list[dict]:
    """One record per (n, dtype, entry): observed g*, the closed-form g*,
    and the closed form's g* on the grid (what the observation should be)."""
    records = []
    for n in lengths:
        for dtype in dtypes:
            for entry in ENTRIES:
                g_pred = predicted_g_star(n, dtype, entry)
                observed = observed_g_star(n, dtype, entry, g_pred, coarse)
                records.append(
                    {
                        "n": int(n),
                        "dtype": dtype,
                        "entry": entry,
                        "g_star_observed": observed.pop("g_star"),
                        "g_star_predicted": g_pred,
                        "g_star_predicted_grid": predicted_g_star_on_grid(n, dtype, entry, g_pred),
                        "ulp_at_g_star": ulp(_in_format(g_pred, FORMATS[dtype]), FORMATS[dtype]),
                        **observed,
                    }
                )
    return records


def error_curves(lengths=G_STAR_LENGTHS, points: int = 60) -> dict:
    """The error of z_i - max z against the gap, per n: the exact error from
    reference.max_approx_error (float64, so 0 once it underflows), the
    closed form log10 L(g) from mpmath, and the bound log n."""
    gaps = geomspace(0.01, 1000.0, points)
    dense = geomspace(0.01, 1000.0, 4 * points)
    curves = []
    for n in lengths:
        z = two_level(0.0, gaps, n, np.float64)
        exact = reference.max_approx_error(z)
        reference._row.cache_clear()
        curves.append(
            {
                "n": int(n),
                "gap": gaps.tolist(),
                "exact": [float(v) for v in exact],
                "closed_gap": dense.tolist(),
                "closed_log10": closed_form_log10(dense, n).tolist(),
                "bound": float(mpmath.log(n)),  # mpmath: the C library's log may differ by CPU
            }
        )
    return {"curves": curves}


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
