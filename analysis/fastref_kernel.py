"""The compiled kernel of :mod:`analysis.fastref`: the same arithmetic, entry by entry.

``core(u, counts, width, consts, p, emin, emax, max, has_inf, margin)`` is
``fastref._core`` written entry by entry for Numba: the same double-double
operations in the same order (TwoSum, FastTwoSum, Dekker's TwoProduct with
Veltkamp splitting, AccurateDWPlusDW, DWTimesDW1, DWTimesFP1, the
division), the same reduction and degree-10 Taylor polynomial for ``exp``,
the same pairwise sum, the same three ways to ``log S`` and the same
decision (``_decide``) with the same error bounds.  The module docstring of
:mod:`analysis.fastref` is the proof; this module only has to compute what
it says.  Rows it cannot decide come back with ``ok = 0`` and ``fastref``
sends them to the mpmath path.  The bounds' constants are copies of
fastref's (a test checks that they are equal; they live here so that a
change invalidates Numba's cache of this file), ``MARGIN`` and the table
of ``exp`` are passed in (``consts``, made by fastref with mpmath).

Exactness of the error-free transformations.  TwoSum and FastTwoSum are
exact only if every ``+`` and ``-`` is one IEEE binary64 operation rounded
to nearest, in the written order; Dekker's TwoProduct also needs its
products unfused (``a*b + c`` contracted into one rounding breaks
Veltkamp's split and the product's error term).  What guarantees it here:

- TwoProduct is ``p = a*b, e = fma(a, b, -p)`` where the CPU has an FMA
  (``USE_FMA``; LLVM's ``llvm.fma``, one rounding of ``a*b - p``, which is
  a float, so exact, whenever ``a*b`` does not underflow: the condition of
  Dekker's product too, and ours, whose products are of numbers near 1);
  Dekker's product with Veltkamp's split otherwise, as in the numpy path;
  the two give the same ``(p, e)``;
- every other operation is compiled with ``fastmath=False`` (Numba's
  default, stated explicitly), so Numba emits plain ``fmul``/``fadd``/
  ``fsub`` without the LLVM fast-math flags ``contract`` or ``reassoc``;
- llvmlite creates its target machine with LLVM's default
  ``TargetOptions``, whose ``AllowFPOpFusion`` is ``Standard``: only the
  ``llvm.fmuladd`` intrinsic may become an FMA, and Numba never emits it;
- the tests check the consequences on this machine: compiled with its
  explicit FMA switched off, the kernel's assembly has no FMA instruction;
  as used, its IR has no fast-math flag and no ``llvm.fmuladd``; the
  compiled TwoProduct and TwoSum are exact on inputs where a contraction
  would change the result; its exp is the numpy path's bit for bit, and the
  two paths decide the same rows;
- ``error_model="numpy"``: a division by zero gives inf/NaN as in numpy
  (and the decision rejects it) instead of raising.

``ldexp`` and the exponent of ``frexp`` are done on the bits (``_ldexp`` is
musl's ``scalbn``: at most one rounding, in the last multiplication, so it is
the correctly rounded ``x 2**n`` that numpy's ``ldexp`` returns); ``rint``
is LLVM's ``llvm.rint`` (round half to even, the current rounding mode).
``log`` and ``log1p`` give only the float64 starting points ``L0`` of the
Newton steps: any approximation would do, since the bound on ``L`` is
computed a posteriori from the residual ``w``.

Speed.  The per-entry passes are loops that LLVM vectorizes: the helpers
are inlined by LLVM (``forceinline``), the loops have no call and no branch
that cannot become a select (``ldexp``, ``frexp`` and ``nextafter`` on the
bits, ``&`` and ``|`` for the logic), their flags are 0/1 bytes (a bool
variable makes Numba's alias analysis drop ``noalias`` from the loop's
arrays), and the decision there is ``_decide_fast``, which leaves the rare
steps to a second pass through ``_decide`` (identical results, see it).
Parallel over rows and over blocks of the entries of long rows on every core
(``prange``; ``NUMBA_NUM_THREADS`` sets the count) with a fork-safe
threading layer (the sweep forks its workers; GNU OpenMP would abort them).
``fastref`` calls the kernel under a lock: Numba's workqueue layer must not
be entered from two threads at once.

Compiled on first use (one signature) in some seconds and cached on disk
(``cache=True``): Numba writes the cache next to this module, in
``analysis/__pycache__/`` (``NUMBA_CACHE_DIR`` moves it), keyed by this
file's modification time and the CPU; a stale or foreign entry is
recompiled, never reused.
"""

from __future__ import annotations

import math
import os

import llvmlite.binding
import numba
import numpy as np
from llvmlite import ir as llvm_ir
from numba import njit, prange, types
from numba.extending import intrinsic

# GNU OpenMP, Numba's first choice of threading layer where it is found
# (it is here), aborts a process forked after its threads started, and the
# sweep forks its workers: a fork-safe layer (TBB if installed, else Numba's
# own workqueue) unless NUMBA_THREADING_LAYER says otherwise.
if "NUMBA_THREADING_LAYER" not in os.environ:
    numba.config.THREADING_LAYER = "forksafe"

# TwoProduct by a fused multiply-add where the CPU has one (and Numba
# compiles for this CPU): exact like Dekker's product, in 2 operations
# instead of 17.  The choice is fixed at compilation, and Numba's cache is
# keyed by the CPU's features.
USE_FMA = (
    numba.config.CPU_NAME is None
    and numba.config.CPU_FEATURES is None
    and bool(llvmlite.binding.get_host_cpu_features().get("fma", False))
)

# Copies of fastref's constants (see its docstring for the bounds; a test
# checks that they are equal).
EPS = 2.0**-100
EXP_REL = 2.0**-96
UNDERFLOW = 2.0**-1064
CLAMP = -(2.0**16)
TAYLOR_DEGREE = 10

# Layout of the ``consts`` array: c1..c4 (ln2/64 in parts), 64/ln2, then the
# table of 2**(i/64) (hi, lo) and the Taylor coefficients 1/i! (hi, lo).
C_PARTS, INV_C, TABLE_HI, TABLE_LO = 0, 4, 5, 69
COEF_HI = 133
COEF_LO = COEF_HI + TAYLOR_DEGREE + 2
CONSTS_SIZE = COEF_LO + TAYLOR_DEGREE + 2

_JIT = {"cache": True, "fastmath": False, "error_model": "numpy", "nogil": True}
# The helpers are inlined in Numba's IR (not left to LLVM's inliner, which
# keeps large functions out of line): a loop whose body has no call left is
# one LLVM can vectorize.
_INLINE = {**_JIT, "forceinline": True}
_INT_MIN_HALF = np.iinfo(np.int64).min // 2


# --- bits ---------------------------------------------------------------------


@njit(**_INLINE)
def _pow2(n):
    """2**n for an integer -1022 <= n <= 1023, exactly."""
    return np.int64((n + 1023) << 52).view(np.float64)


@njit(**_INLINE)
def _ldexp_step(n):
    """The exact pre-scaling of musl's scalbn for an exponent n: 2**1023 above
    the normal range, 2**-969 = 2**-1022 * 2**53 below it, else 1."""
    return 1023 if n > 1023 else (-969 if n < -1022 else 0)


@njit(**_INLINE)
def _ldexp(x, n):
    """x 2**n correctly rounded, as numpy's ldexp: musl's scalbn without
    branches (its steps of 2**0 are exact multiplications by 1).  Only the
    last multiplication can round: 2**-969 keeps a value that will end
    subnormal out of the subnormal range until then."""
    step = _ldexp_step(n)
    x *= _pow2(step)
    n -= step
    step = _ldexp_step(n)
    x *= _pow2(step)
    n -= step
    return x * _pow2(min(max(n, -1022), 1023))


@njit(**_INLINE)
def _frexp_exponent(x):
    """The exponent e of frexp: x = f 2**e with 0.5 <= |f| < 1; 0 for 0,
    inf and NaN (as numpy's frexp)."""
    biased = (np.float64(x).view(np.int64) >> 52) & 0x7FF
    # A subnormal is scaled by 2**64 into the normal range first.
    scaled = (np.float64(x * 1.8446744073709552e19).view(np.int64) >> 52) & 0x7FF
    exponent = biased - 1022 if biased != 0 else scaled - 1022 - 64
    return np.int64(0) if (biased == 0x7FF) | (x == 0) else exponent


@njit(**_INLINE)
def _nextafter(x, y):
    """numpy's nextafter(x, y) on the bits (no call: the loop stays vectorizable)."""
    bits = np.float64(x).view(np.int64)
    step = np.int64(1) if (x < y) == (x > 0) else np.int64(-1)
    result = np.int64(bits + step).view(np.float64)
    result = math.copysign(5e-324, y - x) if x == 0 else result
    result = y if x == y else result
    return x + y if (x != x) | (y != y) else result


@njit(**_INLINE)
def _sign(x):
    """numpy's sign: -1, 0, +1, NaN for NaN."""
    return 1.0 if x > 0 else (-1.0 if x < 0 else x * 0.0)  # x * 0: 0 for +-0, NaN for NaN


# --- error-free transformations and double-double arithmetic --------------


@njit(**_INLINE)
def _two_sum(a, b):
    s = a + b
    bb = s - a
    return s, (a - (s - bb)) + (b - bb)


@njit(**_INLINE)
def _fast_two_sum(a, b):  # |a| >= |b| (or a == 0)
    s = a + b
    return s, b - (s - a)


@njit(**_INLINE)
def _split(a):  # Veltkamp: a = hi + lo, each with at most 26 bits
    c = 134217729.0 * a  # 2**27 + 1
    hi = c - (c - a)
    return hi, a - hi


@intrinsic
def _fma(typingctx, a, b, c):
    """a * b + c rounded once (LLVM's llvm.fma, IEEE fusedMultiplyAdd)."""
    signature = types.float64(types.float64, types.float64, types.float64)

    def codegen(context, builder, sig, args):
        double = llvm_ir.DoubleType()
        fma = builder.module.declare_intrinsic("llvm.fma", [double], fnty=llvm_ir.FunctionType(double, [double] * 3))
        return builder.call(fma, args)

    return signature, codegen


@njit(**_INLINE)
def _two_prod(a, b):  # a*b = p + e exactly
    p = a * b
    if USE_FMA:
        # e = a*b - p is a float when a*b does not underflow (the same
        # condition as Dekker's), and one rounding of it is exact.
        return p, _fma(a, b, -p)
    # Dekker with Veltkamp's split.
    ah, al = _split(a)
    bh, bl = _split(b)
    return p, ((ah * bh - p) + ah * bl + al * bh) + al * bl


@njit(**_INLINE)
def _add(xh, xl, yh, yl):  # AccurateDWPlusDW (JMP 2017, Alg. 6)
    sh, sl = _two_sum(xh, yh)
    th, tl = _two_sum(xl, yl)
    vh, vl = _fast_two_sum(sh, sl + th)
    return _fast_two_sum(vh, tl + vl)


@njit(**_INLINE)
def _mul(xh, xl, yh, yl):  # DWTimesDW1 (JMP 2017, Alg. 10)
    ch, cl1 = _two_prod(xh, yh)
    return _fast_two_sum(ch, cl1 + (xh * yl + xl * yh))


@njit(**_INLINE)
def _mul_d(xh, xl, y):  # DWTimesFP1 (JMP 2017, Alg. 7)
    ch, cl1 = _two_prod(xh, y)
    return _fast_two_sum(ch, cl1 + xl * y)


@njit(**_INLINE)
def _div(xh, xl, yh, yl):  # as fastref._div
    q1 = xh / yh
    ph, pl = _mul_d(yh, yl, q1)
    rh, rl = _add(xh, xl, -ph, -pl)
    return _fast_two_sum(q1, rh / yh)


@njit(**_INLINE)
def _add_err(xh, xl, yh, yl):  # as fastref._add_err
    sh, sl = _two_sum(xh, yh)
    th, tl = _two_sum(xl, yl)
    c = sl + th
    vh, vl = _fast_two_sum(sh, c)
    w = tl + vl
    zh, zl = _fast_two_sum(vh, w)
    return zh, zl, (abs(c) + abs(w)) * 2.0**-53 + 2.0**-1073


# --- exp ---------------------------------------------------------------------


@njit(**_INLINE)
def _horner_step(ph, pl, rh, rl, ch, cl):
    ph, pl = _mul(ph, pl, rh, rl)
    return _add(ph, pl, ch, cl)


@njit(**_INLINE)
def _horner(rh, rl, consts):
    """The Taylor polynomial of degree 10 at r, Horner's rule written out
    (a loop inside the loop over the entries would keep LLVM from
    vectorizing the latter)."""
    ph, pl = consts[COEF_HI + 10], consts[COEF_LO + 10]
    ph, pl = _horner_step(ph, pl, rh, rl, consts[COEF_HI + 9], consts[COEF_LO + 9])
    ph, pl = _horner_step(ph, pl, rh, rl, consts[COEF_HI + 8], consts[COEF_LO + 8])
    ph, pl = _horner_step(ph, pl, rh, rl, consts[COEF_HI + 7], consts[COEF_LO + 7])
    ph, pl = _horner_step(ph, pl, rh, rl, consts[COEF_HI + 6], consts[COEF_LO + 6])
    ph, pl = _horner_step(ph, pl, rh, rl, consts[COEF_HI + 5], consts[COEF_LO + 5])
    ph, pl = _horner_step(ph, pl, rh, rl, consts[COEF_HI + 4], consts[COEF_LO + 4])
    ph, pl = _horner_step(ph, pl, rh, rl, consts[COEF_HI + 3], consts[COEF_LO + 3])
    ph, pl = _horner_step(ph, pl, rh, rl, consts[COEF_HI + 2], consts[COEF_LO + 2])
    ph, pl = _horner_step(ph, pl, rh, rl, consts[COEF_HI + 1], consts[COEF_LO + 1])
    return _horner_step(ph, pl, rh, rl, consts[COEF_HI], consts[COEF_LO])


@njit(**_INLINE)
def _exp_dd(dh, dl, consts):
    """fastref._exp_dd for one d in [-2**16, 0]: (a, Mh, Ml)."""
    c1, c2, c3, c4 = consts[C_PARTS], consts[C_PARTS + 1], consts[C_PARTS + 2], consts[C_PARTS + 3]
    k = np.rint(dh * consts[INV_C])
    rh, rl = _two_sum(dh, -k * c1)  # k*c1, k*c2, k*c3 exact: 30-bit parts, |k| < 2**23
    th, tl = _two_sum(dl, -k * c2)
    rh, rl = _add(rh, rl, th, tl)
    rh, rl = _add(rh, rl, -k * c3, 0.0 * k)
    ph, pl = _two_prod(k, c4)
    rh, rl = _add(rh, rl, -ph, -pl)
    ph, pl = _horner(rh, rl, consts)
    ki = np.int64(k)
    j = ki & 63  # ki mod 64, in [0, 64), as numpy's % for a positive modulus
    mh, ml = _mul(consts[TABLE_HI + j], consts[TABLE_LO + j], ph, pl)
    return (ki - j) >> 6, mh, ml


@njit(**_INLINE)
def _expm1_small(x, consts):
    """fastref._expm1_small for one |x| <= 2**-8 (its loop written out)."""
    ph, pl = consts[COEF_HI + TAYLOR_DEGREE + 1], consts[COEF_LO + TAYLOR_DEGREE + 1]
    ph, pl = _horner_step(ph, pl, x, 0.0, consts[COEF_HI + 10], consts[COEF_LO + 10])
    ph, pl = _horner_step(ph, pl, x, 0.0, consts[COEF_HI + 9], consts[COEF_LO + 9])
    ph, pl = _horner_step(ph, pl, x, 0.0, consts[COEF_HI + 8], consts[COEF_LO + 8])
    ph, pl = _horner_step(ph, pl, x, 0.0, consts[COEF_HI + 7], consts[COEF_LO + 7])
    ph, pl = _horner_step(ph, pl, x, 0.0, consts[COEF_HI + 6], consts[COEF_LO + 6])
    ph, pl = _horner_step(ph, pl, x, 0.0, consts[COEF_HI + 5], consts[COEF_LO + 5])
    ph, pl = _horner_step(ph, pl, x, 0.0, consts[COEF_HI + 4], consts[COEF_LO + 4])
    ph, pl = _horner_step(ph, pl, x, 0.0, consts[COEF_HI + 3], consts[COEF_LO + 3])
    ph, pl = _horner_step(ph, pl, x, 0.0, consts[COEF_HI + 2], consts[COEF_LO + 2])
    ph, pl = _horner_step(ph, pl, x, 0.0, consts[COEF_HI + 1], consts[COEF_LO + 1])
    return _mul(ph, pl, x, 0.0)


# --- the decision -----------------------------------------------------------


@njit(**_INLINE)
def _offset(vs, vt, ws, wt, n):
    """value / 2**q - n as a double-double, and its error (fastref._decide's
    offset), from vh, vl, wh, wl already scaled by 2**-q."""
    dh, dl = _two_sum(vs, -n)  # exact
    dh, dl, e1 = _add_err(dh, dl, vt, 0.0 * dh)
    dh, dl, e2 = _add_err(dh, dl, ws, wt)
    return dh, dl, e1 + e2


@njit(**_JIT)  # called per row and for the rare redo: not inlined, which keeps the compilation short
def _decide(vh, vl, scale, err, fmt, zero_sign, wh, wl, w_sign, margin):
    """fastref._decide for one value: round 2**scale (vh + vl + wh + wl),
    known within 2**scale err, to the format ``fmt`` = (p, emin, emax, max,
    has_inf, 2**(p-1)).  Returns (value, decided)."""
    p, emin, emax, fmax, has_inf, two_p1 = fmt
    ah, _, _ = _add_err(vh, vl, wh, wl)  # only to choose the binade and N
    if ah == 0:
        binade = emin - p - 2
    else:
        binade = _frexp_exponent(ah) - 1 + scale
    q = max(binade, emin) - p + 1
    shift = min(max(scale - q, -3000), 3000)  # beyond, ldexp is 0 or inf anyway
    t = _ldexp(ah, shift)
    # Off an exact half, toward the side of an unresolved w.
    if w_sign != 0:
        t = _nextafter(t, t + w_sign)
    n = np.rint(t)
    # The scaled parts (fastref scales them in each call of its offset(): the same values).
    vs, vt, ws, wt = _ldexp(vh, shift), _ldexp(vl, shift), _ldexp(wh, shift), _ldexp(wl, shift)
    dh, dl, e12 = _offset(vs, vt, ws, wt, n)
    # ah lost w's bits: on an exact half, the side of w decides the nearest n.
    # (Here and below & and | rather than `and` and `or`: their branches
    # would keep LLVM from vectorizing the loops that call this.)
    if (abs(dh) > 0.5) | ((abs(dh) == 0.5) & (dh * dl > 0)):
        n = n + _sign(dh)
        dh, dl, e12 = _offset(vs, vt, ws, wt, n)
    # ldexp is exact unless it underflows (<= 2**-1074 each, four calls)
    tau = _ldexp(err * margin, shift) * (1 + 2.0**-50) + e12 + 2.0**-1069
    # The rounding interval of n is (n - below, n + above) in units: 1/2,
    # or 1/4 on the side toward zero of a normal power of two.
    power = (abs(n) == two_p1) & (q > emin - p + 1)
    above = 0.25 if power & (n < 0) else 0.5
    below = 0.25 if power & (n > 0) else 0.5
    up_margin = above - dh
    low_margin = below + dh
    up = up_margin - dl > tau + 2.0**-51 * (abs(up_margin) + abs(dl))
    low = low_margin + dl > tau + 2.0**-51 * (abs(low_margin) + abs(dl))
    # With a signed w and an exact v: v itself bounds the value strictly.
    exact_v = (_ldexp(vt, -shift) == vl) & (_ldexp(vs, -shift) == vh) & (shift == scale - q)
    a, b = _two_sum(vs, -n)
    s, e = _two_sum(b, vt)  # offset of v = a + s + e exactly
    up = up | ((w_sign < 0) & exact_v & ((above - a) - s >= e))
    low = low | ((w_sign > 0) & exact_v & ((below + a) + s >= -e))
    inside = up & low
    value = _ldexp(n, q)
    finite = abs(value) <= fmax
    # Overflow: the whole interval at or above 2**(emax+1) rounds to inf.
    big = (binade >= emax + 1) & ((abs(n) - abs(dh) - abs(dl) - tau) * (1 - 2.0**-40) >= two_p1)
    # Zero: |v| below half the smallest subnormal, with a known sign.
    proved = _sign(dh) if abs(dh) * (1 - 2.0**-50) - abs(dl) * 1.01 > tau else 0.0
    zsign = zero_sign if zero_sign != 0 else proved
    zero = n == 0
    inf = (math.inf if has_inf else math.nan) * _sign(ah)
    value = inf if big else (math.copysign(0.0, zsign) if zero else value)
    ok = big | (zero & inside & (zsign != 0)) | ((n != 0) & inside & finite)
    ok = ok & math.isfinite(ah) & math.isfinite(err) & math.isfinite(dh)
    # 1 or 0 rather than a bool: Numba's alias analysis counts a bool variable
    # in a prange loop as a possible alias, and the loop then loses LLVM's
    # noalias on its arrays (and its vectorization).
    return value, np.uint8(ok)


@njit(**_INLINE)
def _decide_fast(vh, vl, scale, err, fmt, zero_sign, wh, wl, w_sign, margin, second_offset):
    """_decide without its rare steps, for the vectorized loops:
    (value, decided, redo).  Where ``redo`` is 1 the caller calls _decide
    (value and decided are then meaningless); elsewhere they are _decide's,
    bit for bit, because what is left out would not have changed them:

    - every ldexp of _decide is one multiplication by 2**shift or 2**q when
      shift and q lie in [-1022, 1023], which is what _ldexp computes there
      (its two pre-scalings multiply by 1); redo otherwise;
    - the second offset, for an n moved off an exact half: with
      ``second_offset`` (a constant at each call) it is computed for every
      entry, with n unchanged where _decide keeps the first (the same values
      again); without, redo where it is needed.  A signed w needs it often:
      in float64 the step off the half moves t by a whole unit;
    - the bound by an exact v only widens a rounding interval that w's sign
      would leave too narrow: redo when w is signed and the interval test
      failed.
    """
    p, emin, emax, fmax, has_inf, two_p1 = fmt
    ah, _, _ = _add_err(vh, vl, wh, wl)  # only to choose the binade and N
    binade = emin - p - 2 if ah == 0 else _frexp_exponent(ah) - 1 + scale
    q = max(binade, emin) - p + 1
    shift = min(max(scale - q, -3000), 3000)
    scaled = (shift >= -1022) & (shift <= 1023) & (q >= -1022) & (q <= 1023)
    two_shift = _pow2(min(max(shift, -1022), 1023))
    t = ah * two_shift
    if w_sign != 0:
        t = _nextafter(t, t + w_sign)
    n = np.rint(t)
    vs, vt, ws, wt = vh * two_shift, vl * two_shift, wh * two_shift, wl * two_shift
    dh, dl, e12 = _offset(vs, vt, ws, wt, n)
    beyond = (abs(dh) > 0.5) | ((abs(dh) == 0.5) & (dh * dl > 0))
    if second_offset:
        n = n + _sign(dh) if beyond else n
        dh, dl, e12 = _offset(vs, vt, ws, wt, n)
        beyond = False
    tau = (err * margin) * two_shift * (1 + 2.0**-50) + e12 + 2.0**-1069
    power = (abs(n) == two_p1) & (q > emin - p + 1)
    above = 0.25 if power & (n < 0) else 0.5
    below = 0.25 if power & (n > 0) else 0.5
    up_margin = above - dh
    low_margin = below + dh
    up = up_margin - dl > tau + 2.0**-51 * (abs(up_margin) + abs(dl))
    low = low_margin + dl > tau + 2.0**-51 * (abs(low_margin) + abs(dl))
    inside = up & low
    redo = (scaled ^ True) | beyond | ((w_sign != 0) & (inside ^ True))
    value = n * _pow2(min(max(q, -1022), 1023))
    finite = abs(value) <= fmax
    big = (binade >= emax + 1) & ((abs(n) - abs(dh) - abs(dl) - tau) * (1 - 2.0**-40) >= two_p1)
    proved = _sign(dh) if abs(dh) * (1 - 2.0**-50) - abs(dl) * 1.01 > tau else 0.0
    zsign = zero_sign if zero_sign != 0 else proved
    zero = n == 0
    inf = (math.inf if has_inf else math.nan) * _sign(ah)
    value = inf if big else (math.copysign(0.0, zsign) if zero else value)
    ok = big | (zero & inside & (zsign != 0)) | ((n != 0) & inside & finite)
    ok = ok & math.isfinite(ah) & math.isfinite(err) & math.isfinite(dh)
    return value, np.uint8(ok), np.uint8(redo)


@njit(**_JIT)  # per row: not inlined
def _decide_once(vh, vl, scale, err, fmt, zero_sign, wh, wl, w_sign, margin):
    """_decide, by way of _decide_fast where that suffices (the same result)."""
    value, ok, redo = _decide_fast(vh, vl, scale, err, fmt, zero_sign, wh, wl, w_sign, margin, True)
    if redo:
        return _decide(vh, vl, scale, err, fmt, zero_sign, wh, wl, w_sign, margin)
    return value, ok


# --- the rows ---------------------------------------------------------------


@njit(**_INLINE)
def _pairwise_sum(hi, lo, base, width):
    """fastref._pairwise_sum in place on hi[base:base + width], lo[...]:
    pairs (0, 1), (2, 3), ... at each level, the last entry of an odd level
    added to a zero (numpy's padding)."""
    levels = 0
    while width > 1:
        half = width // 2
        for i in range(half):
            hi[base + i], lo[base + i] = _add(hi[base + 2 * i], lo[base + 2 * i], hi[base + 2 * i + 1],
                                              lo[base + 2 * i + 1])  # fmt: skip
        if width % 2:
            hi[base + half], lo[base + half] = _add(hi[base + width - 1], lo[base + width - 1], 0.0, 0.0)
            half += 1
        width = half
        levels += 1
    return hi[base], lo[base], levels


@njit(**_INLINE)
def _log_general(x0, big_sh, big_sl, err_s, consts):
    """_log_sum's general branch: L0 = x0 = log(S) in float64,
    w = S exp(-L0) - 1, L = L0 + w - w**2/2; (Lh, Ll, its bound, |w| <= 2**-40)."""
    ea, emh, eml = _exp_dd(-x0, 0.0 * x0, consts)
    emh, eml = _ldexp(emh, ea), _ldexp(eml, ea)
    ph, pl = _mul(big_sh, big_sl, emh, eml)
    wh, wl = _add(ph, pl, -1.0 + 0.0 * ph, 0.0 * ph)
    ch, cl = _mul(wh, wl, 1.0 - wh / 2, 0.0 * wh)
    lh, ll = _add(x0, 0.0 * x0, ch, cl)
    # |wh| 2**-52: the factor 1 - wh/2 is rounded (2**-53) and wl is dropped from it (as fastref).
    err_l = (
        (err_s / big_sh + EXP_REL + 3 * EPS) * abs(ph) * 1.01 + abs(wh) ** 3.0 + abs(wh) * 2.0**-52
        + abs(lh) * 2 * EPS
    )  # fmt: skip
    return lh, ll, err_l, np.uint8(abs(wh) <= 2.0**-40)


@njit(**_INLINE)
def _log_tiny(sh, sl, big_a, err_sigma):
    """_log_sum's tiny branch: L = sigma (1 - s/2), |log1p(s) - s(1 - s/2)|
    <= s**3/3 < 2**-120 s, and s/2 from float64 s: <= 2**-53 s**2; L is
    2**big_a (Lh + Ll) within 2**big_a err."""
    half_s = _ldexp(sh, big_a) / 2
    lh, ll = _mul(sh, sl, 1.0 - 0.0 * half_s, -half_s)
    return lh, ll, err_sigma + abs(lh) * 2.0**-99


@njit(**_INLINE)
def _log_small(x0, s_h, s_l, err_sigma, big_a, consts):
    """_log_sum's small branch: L0 = x0 = log1p(s) in float64,
    L = L0 + w - w**2/2 with w = (s - expm1(L0)) / (1 + expm1(L0));
    (Lh, Ll, its bound, |w| <= 2**-40)."""
    eh, el = _expm1_small(x0, consts)
    nh, nl = _add(s_h, s_l, -eh, -el)
    dh1, dl1 = _add(1.0 + 0.0 * eh, 0.0 * eh, eh, el)
    wh, wl = _div(nh, nl, dh1, dl1)
    ch, cl = _mul(wh, wl, 1.0 - wh / 2, 0.0 * wh)
    lh, ll = _add(x0, 0.0 * x0, ch, cl)
    # |wh| 2**-52: the factor 1 - wh/2 is rounded (2**-53) and wl is dropped from it (as fastref).
    err_l = (
        (_ldexp(err_sigma, big_a) + 2.0**-96 * abs(eh) + EPS * abs(nh)) * 1.01 + abs(wh) ** 3.0
        + abs(wh) * 2.0**-52 + abs(lh) * 2 * EPS
    )  # fmt: skip
    return lh, ll, err_l, np.uint8(abs(wh) <= 2.0**-40)


@njit(**_JIT)  # once per row: not inlined
def _log_sum(sh, sl, big_a, width, levels, top_count, clamped_part, consts):
    """L = log S for S = top_count + 2**big_a (sh + sl): fastref._core's
    three branches.  Returns (Lh, Ll, L's scale, err_l, S hi, S lo, err_s, ok)."""
    err_sigma = sh * (EXP_REL + (levels + 1) * EPS) * 1.01 + width * 2.0**-1072 + clamped_part
    s_h, s_l = _ldexp(sh, big_a), _ldexp(sl, big_a)
    big_sh, big_sl = _add(top_count, 0.0 * top_count, s_h, s_l)
    err_s = _ldexp(err_sigma, big_a) + (big_sh * EPS + 2.0**-1070)
    log2_s = big_a + _frexp_exponent(sh)  # s < 2**log2_s
    single = top_count == 1
    tiny = single and log2_s < -60
    small = single and not tiny and log2_s <= -8
    ok = np.uint8(1)
    l_scale = big_a if tiny else 0
    if tiny:
        lh, ll, err_l = _log_tiny(sh, sl, big_a, err_sigma)
    elif small:
        lh, ll, err_l, ok = _log_small(math.log1p(s_h), s_h, s_l, err_sigma, big_a, consts)
    else:
        lh, ll, err_l, ok = _log_general(math.log(big_sh), big_sh, big_sl, err_s, consts)
    if not tiny:  # underflow slack where L was computed unscaled
        err_l += UNDERFLOW
    return lh, ll, l_scale, err_l, big_sh, big_sl, err_s, ok


BLOCK = 1024  # entries per task of the per-entry passes
# Only the explicit prange loops run in parallel (Numba's other automatic
# parallelizations find nothing here and cost compilation time).
_PRANGE_ONLY = {"prange": True, "fusion": False, "comprehension": False, "reduction": False, "setitem": False,
                "numpy": False, "stencil": False, "inplace_binop": False}  # fmt: skip


@njit(parallel=_PRANGE_ONLY, **_JIT)
def core(u, counts, width, consts, p, emin, emax, fmax, has_inf, margin, entry_f, entry_i, entry_b, row_f, row_i,
         row_b):  # fmt: skip
    """fastref._core, compiled, on rows of ``width`` entries stored one after
    the other in ``u`` and ``counts`` (finite float64, 1-D):
    (softmax, lse, log_softmax, max_err, ok), softmax and log_softmax 1-D,
    ok as 1 (decided) or 0 (to the mpmath path).

    The scratch arrays, and those of softmax and log_softmax, come from the
    caller, who keeps them from one call to the next (fresh memory costs a
    page fault per page, a third of the time here): ``entry_f`` 8 float64,
    ``entry_i`` 2 int64 and ``entry_b`` 5 uint8 arrays of u's size,
    ``row_f`` 14 float64, ``row_i`` 2 int64 and ``row_b`` 4 uint8 arrays of
    one entry per row (tuples of 1-D arrays, unpacked below into separate
    arrays: a view taken here would count as an alias and cost the loops
    their vectorization).

    The passes, each parallel: the row maxima; per entry d = u - max and
    exp(d); per row the largest exponent; per entry the scaled terms; per
    row their pairwise sum and the float64 logs; per row L, logsumexp,
    max_err and the maxima's log_softmax (vectorized over the rows, then the
    rows with a zero maximum and the rare steps); per entry
    log_softmax and softmax (vectorized, then the rare steps); per row the
    verdict.  The per-entry passes run over tasks of BLOCK entries whatever
    the rows' length (long rows keep every core busy, short ones share a
    task); their loops have no call, no branch that LLVM cannot turn into a
    select and no bool variable, and LLVM vectorizes them.
    """
    size = u.size
    rows = size // width
    fmt = (np.int64(p), np.int64(emin), np.int64(emax), fmax, has_inf, 2.0 ** (p - 1))
    f64 = (np.int64(53), np.int64(-1022), np.int64(1023), np.finfo(np.float64).max, np.bool_(True), 2.0**52)
    tasks = (size + BLOCK - 1) // BLOCK
    dh, dl, mh, ml, term_hi, term_lo, softmax, log_softmax = entry_f
    a, row_of = entry_i
    top, clamped, finite, decided, redo = entry_b
    m, top_count, lsm_top, row_luh, row_lul, row_err_lu, row_positive, row_sh, row_sl, row_s_rel = row_f[:10]
    sigma_h, sigma_l, row_clamped, row_x0 = row_f[10:]
    big_a, levels = row_i
    has_rest, ok_top, row_redo, row_ok = row_b

    for r in prange(rows):
        mr = u[r * width]
        for i in range(r * width, (r + 1) * width):
            mr = max(mr, u[i])
            row_of[i] = r
        m[r] = mr

    # Per entry: d = u - max exactly, exp(d) = 2**a M.  Flags are 1 or 0.
    for t in prange(tasks):
        for i in range(t * BLOCK, min((t + 1) * BLOCK, size)):
            h, lo = _two_sum(u[i], -m[row_of[i]])
            top[i] = (h == 0) & (lo == 0)
            finite[i] = math.isfinite(h)
            h = h if math.isfinite(h) else 0.0
            lo = lo if math.isfinite(lo) else 0.0
            dh[i] = h
            dl[i] = lo
            clamped[i] = h < CLAMP
            a[i], mh[i], ml[i] = _exp_dd(CLAMP if h < CLAMP else h, 0.0 if h < CLAMP else lo, consts)

    # Per row: s = 2**A sigma over the non-maximal entries; A first.
    ok = np.empty(rows, np.uint8)
    for r in prange(rows):
        row_a = _INT_MIN_HALF
        rest = 0
        count = 0.0
        all_finite = 1
        for i in range(r * width, (r + 1) * width):
            all_finite &= finite[i]
            count += counts[i] if top[i] else 0.0
            rest |= 1 - top[i]
            row_a = row_a if top[i] else max(row_a, a[i])
        big_a[r] = row_a if rest else 0
        has_rest[r], top_count[r], row_ok[r] = rest, count, all_finite

    # Per entry: the terms count * M * 2**(a - A), 0 for the maxima.
    for t in prange(tasks):
        for i in range(t * BLOCK, min((t + 1) * BLOCK, size)):
            shift = min(max(a[i] - big_a[row_of[i]], -3000), 0)
            th, tl = _mul_d(mh[i], ml[i], counts[i])  # count * M: EPS
            th, tl = _ldexp(th, shift), _ldexp(tl, shift)  # underflow: <= 2**-1073 each
            term_hi[i] = 0.0 if top[i] else th
            term_lo[i] = 0.0 if top[i] else tl

    # Per row: sigma (the pairwise sum) and the bound of the clamped terms;
    # S = top_count + 2**A sigma and log(S) in float64, for the next pass.
    for r in prange(rows):
        base = r * width
        # The clamped terms, summed with an error far below their 2**-40 margin.
        clamped_h, clamped_l = 0.0, 0.0
        for i in range(base, base + width):
            if clamped[i] and not top[i]:
                clamped_h, e = _two_sum(clamped_h, term_hi[i])
                clamped_l += e
        # A compensated sum of positive terms: relative error below 2**-50,
        # so the margin of 2**-40 still makes it an upper bound.
        row_clamped[r] = (clamped_h + clamped_l) * (1 + 2.0**-40)
        sigma_h[r], sigma_l[r], levels[r] = _pairwise_sum(term_hi, term_lo, base, width)
        count = top_count[r]
        row_sh[r], row_sl[r] = _add(count, 0.0 * count, _ldexp(sigma_h[r], big_a[r]), _ldexp(sigma_l[r], big_a[r]))
        # L0, the float64 start of the branch the next pass keeps (one call
        # per row): log1p(s) for the small branch, log(S) otherwise.
        log2_s = big_a[r] + _frexp_exponent(sigma_h[r])  # s < 2**log2_s
        small = (count == 1) & (log2_s >= -60) & (log2_s <= -8)
        row_x0[r] = math.log1p(_ldexp(sigma_h[r], big_a[r])) if small else math.log(row_sh[r])

    # Per row: L = log S, logsumexp, max_err and the maxima's log_softmax,
    # vectorized over the rows; rows with a zero maximum and the rare steps
    # of the decisions in the pass after.
    lse = np.empty(rows)
    max_err = np.empty(rows)
    row_tasks = (rows + BLOCK - 1) // BLOCK
    for t in prange(row_tasks):
        for r in range(t * BLOCK, min((t + 1) * BLOCK, rows)):
            sh, count, rest, mr = sigma_h[r], top_count[r], has_rest[r], m[r]
            x0, big_sh, big_sl = row_x0[r], row_sh[r], row_sl[r]
            err_sigma = sh * (EXP_REL + (levels[r] + 1) * EPS) * 1.01 + width * 2.0**-1072 + row_clamped[r]
            err_s = _ldexp(err_sigma, big_a[r]) + (big_sh * EPS + 2.0**-1070)
            # _log_sum's three branches, all computed, one kept.
            ba, sl = big_a[r], sigma_l[r]
            log2_s = ba + _frexp_exponent(sh)  # s < 2**log2_s
            tiny = (count == 1) & (log2_s < -60)
            small = (count == 1) & (log2_s >= -60) & (log2_s <= -8)
            t_lh, t_ll, t_err = _log_tiny(sh, sl, ba, err_sigma)
            s_lh, s_ll, s_err, s_ok = _log_small(x0, _ldexp(sh, ba), _ldexp(sl, ba), err_sigma, ba, consts)
            g_lh, g_ll, g_err, g_ok = _log_general(x0, big_sh, big_sl, err_s, consts)
            lh = t_lh if tiny else (s_lh if small else g_lh)
            ll = t_ll if tiny else (s_ll if small else g_ll)
            # the underflow slack where L was computed unscaled
            err_l = t_err if tiny else (s_err if small else g_err) + UNDERFLOW
            l_ok = np.uint8(1) if tiny else (s_ok if small else g_ok)
            l_scale = ba if tiny else np.int64(0)
            one_entry = (count == 1) & (rest == 0)  # L == 0 exactly
            lh = 0.0 if one_entry else lh
            ll = 0.0 if one_entry else ll
            err_l = 0.0 if one_entry else err_l
            me, ok_e, redo_e = _decide_fast(lh, ll, l_scale, err_l, f64, 1.0, 0.0, 0.0, 0.0, margin, True)
            # L unscaled, for max + L and d - L.
            luh, lul = _ldexp(lh, l_scale), _ldexp(ll, l_scale)
            err_lu = 0.0 if one_entry else _ldexp(err_l, l_scale) + UNDERFLOW
            positive = 0.0 if one_entry else 1.0  # the sign of L: 0 or > 0
            value, ok_l, redo_l = _decide_fast(mr, 0.0 * mr, np.int64(0), err_lu, fmt, 0.0, luh, lul, positive, margin,
                                               True)  # fmt: skip
            top_value, top_ok, redo_t = _decide_fast(-lh, -ll, l_scale, err_l, fmt, 1.0 if one_entry else -1.0,
                                                     0.0, 0.0, 0.0, margin, True)  # fmt: skip
            lse[r], max_err[r], lsm_top[r], ok_top[r] = value, me, top_value, top_ok
            ok[r] = row_ok[r] & l_ok & ok_e & ok_l
            row_luh[r], row_lul[r], row_err_lu[r], row_positive[r] = luh, lul, err_lu, positive
            # The relative bound of S, as the numpy path forms it (once per row here).
            row_s_rel[r] = EXP_REL + err_s / big_sh + 2 * EPS
            # A zero maximum: logsumexp = L, decided from L's scaled form, in the next pass.
            row_redo[r] = (mr == 0) | redo_e | redo_l | redo_t

    # Those rows, as fastref._core does them.
    for r in prange(rows):
        if not row_redo[r]:
            continue
        lh, ll, l_scale, err_l, big_sh, big_sl, err_s, l_ok = _log_sum(
            sigma_h[r], sigma_l[r], big_a[r], width, levels[r], top_count[r], row_clamped[r], consts
        )
        one_entry = top_count[r] == 1 and not has_rest[r]  # L == 0 exactly
        if one_entry:
            lh, ll, err_l = 0.0, 0.0, 0.0
        # max_approx_error = L in float64
        me, ok_e = _decide_once(lh, ll, l_scale, err_l, f64, 1.0, 0.0, 0.0, 0.0, margin)
        # L unscaled, for max + L and d - L.
        luh, lul = _ldexp(lh, l_scale), _ldexp(ll, l_scale)
        err_lu = 0.0 if one_entry else _ldexp(err_l, l_scale) + UNDERFLOW
        positive = 0.0 if one_entry else 1.0  # the sign of L: 0 or > 0
        mr = m[r]
        if mr == 0:  # a zero maximum: logsumexp = L, decided from L's scaled form
            value, ok_l = _decide_once(lh, ll, l_scale, err_l, fmt, 1.0, 0.0, 0.0, 0.0, margin)
        else:
            value, ok_l = _decide_once(mr, 0.0 * mr, np.int64(0), err_lu, fmt, 0.0, luh, lul, positive, margin)
        # The maxima: log_softmax = -L, decided from L's scaled form.
        lsm_top[r], ok_top[r] = _decide_once(-lh, -ll, l_scale, err_l, fmt, 1.0 if one_entry else -1.0, 0.0, 0.0, 0.0,
                                             margin)  # fmt: skip
        lse[r], max_err[r] = value, me
        ok[r] = row_ok[r] & l_ok & ok_e & ok_l
        row_luh[r], row_lul[r], row_err_lu[r], row_positive[r] = luh, lul, err_lu, positive
        row_sh[r], row_sl[r], row_s_rel[r] = big_sh, big_sl, EXP_REL + err_s / big_sh + 2 * EPS

    # Per entry: log_softmax = d - L, softmax = 2**a M / S; the rare entries
    # that _decide_fast leaves undone are done again by _decide.
    for t in prange(tasks):
        for i in range(t * BLOCK, min((t + 1) * BLOCK, size)):
            re = row_of[i]
            # Every load unconditional: a load in one arm of a conditional
            # expression is a branch, and the loop is no longer vectorized.
            top_value, top_ok, is_top, s_hi, s_rel = lsm_top[re], ok_top[re], top[i], row_sh[re], row_s_rel[re]
            lsm, lsm_ok, lsm_redo = _decide_fast(dh[i], dl[i], np.int64(0), row_err_lu[re], fmt, -1.0, -row_luh[re],
                                                 -row_lul[re], -row_positive[re], margin, True)  # fmt: skip
            log_softmax[i] = top_value if is_top else lsm
            qh, ql = _div(mh[i], ml[i], s_hi, row_sl[re])
            # Clamped entries: the exact value lies between 0 and the clamped one.
            err_q = abs(qh) * 2 if clamped[i] else abs(qh) * s_rel * 1.01 + UNDERFLOW
            sm, sm_ok, sm_redo = _decide_fast(qh, ql, a[i], err_q, fmt, 1.0, 0.0, 0.0, 0.0, margin, False)
            softmax[i] = sm
            decided[i] = (top_ok if is_top else lsm_ok) & sm_ok
            redo[i] = (0 if is_top else lsm_redo) | sm_redo
    for t in prange(tasks):
        for i in range(t * BLOCK, min((t + 1) * BLOCK, size)):
            if redo[i]:
                re = row_of[i]
                lsm, lsm_ok = _decide(dh[i], dl[i], np.int64(0), row_err_lu[re], fmt, -1.0, -row_luh[re],
                                      -row_lul[re], -row_positive[re], margin)  # fmt: skip
                if not top[i]:
                    log_softmax[i] = lsm
                qh, ql = _div(mh[i], ml[i], row_sh[re], row_sl[re])
                if clamped[i]:
                    err_q = abs(qh) * 2
                else:
                    err_q = abs(qh) * row_s_rel[re] * 1.01 + UNDERFLOW
                softmax[i], sm_ok = _decide(qh, ql, a[i], err_q, fmt, 1.0, 0.0, 0.0, 0.0, margin)
                decided[i] = (ok_top[re] if top[i] else lsm_ok) & sm_ok
    for r in prange(rows):
        verdict = ok[r]
        for i in range(r * width, (r + 1) * width):
            verdict &= decided[i]
        ok[r] = verdict
    return softmax, lse, log_softmax, max_err, ok
