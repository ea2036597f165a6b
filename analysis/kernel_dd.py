"""The compiled double-double arithmetic of the kernels: the building
blocks of :mod:`analysis.fastref` (and :mod:`analysis.crmath`) for Numba.

TwoSum, FastTwoSum, TwoProduct, AccurateDWPlusDW, DWTimesDW1, DWTimesFP1,
the division and the ``exp`` of :mod:`analysis.fastref_dd` (the numpy path,
which states the error bounds), one value at a time, the same operations in
the same order; ``ldexp``, ``frexp`` and ``nextafter`` on the bits.  Used by
:mod:`analysis.kernel_decide`, :mod:`analysis.fastref_kernel` and
:mod:`analysis.crmath_kernel`.

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

Numba's on-disk cache (``cache=True``) is keyed by the source of the file
that defines a function, not by the files it calls into.  The kernels span
four files (``KERNEL_FILES``), so ``stamp_cache`` keys every cached function
of them by all four: a change in any one makes every cached entry stale
(recompiled, never reused).
"""

from __future__ import annotations

import hashlib
import math
import os
from pathlib import Path

import llvmlite.binding
import numba
import numpy as np
from llvmlite import ir as llvm_ir
from numba import njit, types
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

KERNEL_FILES = ("kernel_dd.py", "kernel_decide.py", "fastref_kernel.py", "crmath_kernel.py")


def stamp_cache(namespace: dict) -> None:
    """Key the Numba cache of every cached function in ``namespace`` (a
    module's globals) by the source of all KERNEL_FILES, not only by its
    own file (Numba's default, which would reuse a function compiled
    against an older version of a helper it inlines from another file).
    Numba 0.68's cache keeps the stamp in ``_cache._cache_file._source_stamp``
    (compared with the index's on loading, written with it on saving)."""
    here = Path(__file__).resolve().parent
    digest = hashlib.sha256(b"".join((here / name).read_bytes() for name in KERNEL_FILES)).hexdigest()
    for value in list(namespace.values()):
        cache = getattr(value, "_cache", None)
        cache_file = getattr(cache, "_cache_file", None)
        if cache_file is not None and namespace.get("__name__") == getattr(value, "__module__", None):
            cache_file._source_stamp = (cache_file._source_stamp, digest)


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


stamp_cache(globals())
