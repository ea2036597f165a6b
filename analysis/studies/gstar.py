"""The critical gaps g* of the approximation log softmax(z)_i ~ z_i - max z
(part of the log-softmax study, :mod:`analysis.studies.logsoftmax`).

The approximation errs by exactly L = lse(z) - max z, 0 <= L <= log n.  For
the two-level vector z = (0, -g, ..., -g) of length n,
L(g) = log(1 + (n - 1) e^-g), and

- the top entry's true value is -L, approximated by 0: the approximation is
  the correctly rounded value once L < s/2, half the smallest subnormal s
  (below it -L rounds to -0);
- every other entry's true value is -g - L, approximated by -g: exact once L
  is below half an ulp of g (about u*g), because -g - L then rounds to -g.

Solving L(g) = threshold gives the critical gaps g* (:func:`predicted_g_star`);
:func:`observed_g_star` finds them on a 0.01 grid from the implementation and
the correctly rounded ground truth (:mod:`analysis.reference`);
:func:`g_star_table` tabulates both, :func:`error_curves` gives L(g) itself.
Pure numerics: no I/O, no plotting.

Reference: P. Blanchard, D. J. Higham, N. J. Higham, "Accurately computing
the log-sum-exp and softmax functions", IMA J. Numer. Anal. 41(4), 2021,
https://doi.org/10.1093/imanum/draa038.
"""

from __future__ import annotations

import math

import mpmath
import numpy as np

from .. import crmath, reference
from .. import softmax as sm
from ..families import geomspace, two_level
from ..formats import FORMATS, STUDY_DTYPES, Format, ulp

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
