"""JAX and PyTorch as peers: their softmax, log-softmax and logsumexp on the
study's rows, and their autodiff of the cross-entropy loss.

Each adapter takes a 2-D numpy array in a study format (rows along the last
axis) and returns numpy arrays in that format, or raises (a framework that
refuses a format is a result, recorded as the error's first line).  Both
run on the CPU.  JAX must have x64 enabled for float64 (``enable_x64``, to
be called before any JAX computation; the study runs in its own process).

What each computes (read from the installed sources; the report repeats it):

- ``jax.nn.softmax`` (jax/_src/nn/functions.py, ``_softmax``): x_max =
  jnp.max, exp(x - x_max) in the input dtype, divided by jnp.sum of the
  exps.  ``jnp.sum`` (jax/_src/numpy/reductions.py, ``_reduce_sum`` with
  ``upcast_f16_for_computation``) converts float16 and bfloat16 to float32
  for the sum and rounds the sum back to the input dtype; float8 is summed
  in float8.  XLA's CPU backend evaluates float16/bfloat16 elementwise ops
  (exp, subtract, divide) in float32 and rounds each result.
- ``jax.nn.log_softmax``: shifted = x - max, shifted - log(jnp.sum(exp(shifted)))
  (the same upcast sum).
- ``jax.nn.logsumexp`` (= jax.scipy.special.logsumexp, jax/_src/ops/special.py):
  amax (0 where not finite), log(sum(exp(a - amax))) + amax, the sum upcast
  as above.
- ``torch.softmax`` / ``torch.log_softmax`` on CPU (aten/src/ATen/native/cpu/SoftMaxKernel.cpp,
  ``_vec_softmax_lastdim`` / ``_vec_log_softmax_lastdim``): for float16 and
  bfloat16 the row is converted to float (opmath type), max, exp and a
  vectorised sum in float32, one rounding of each output.
- ``torch.logsumexp`` (aten/src/ATen/native/ReduceOps.cpp, ``logsumexp_out_impl``):
  maxes = amax, (self - maxes).exp() in the input dtype, ``at::sum`` (which
  accumulates float16/bfloat16 in float32 with a cascade sum on CPU), log,
  + maxes.
- autodiff: ``jax.grad`` of -log_softmax(z)[t] gives softmax - onehot through
  log_softmax's VJP (exp(log_softmax) times the cotangent's sum); PyTorch's
  ``F.cross_entropy`` backward is log_softmax's backward: grad - exp(out) * sum(grad).
"""

from __future__ import annotations

import importlib.metadata

import numpy as np

FUNCTIONS = ("softmax", "logsumexp", "log_softmax")


def version(name: str) -> str | None:
    """The installed version of a distribution, or None."""
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def torch_available() -> bool:
    try:
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


# --- JAX ----------------------------------------------------------------------


def enable_x64() -> None:
    import jax

    jax.config.update("jax_enable_x64", True)
    jax.config.update("jax_platforms", "cpu")


def _jax_fns():
    """Each function jit-compiled on its own, per shape and format.  Not one
    program for the three: XLA then fuses them and the numbers change (the
    study's --quick run saw 5 of 486 records differ: float32 log_softmax by
    1 ulp, float8_e4m3fn softmax rows turning NaN), so each is measured as a
    standalone call."""
    import jax

    return {
        "softmax": jax.jit(lambda x: jax.nn.softmax(x, axis=-1)),
        "logsumexp": jax.jit(lambda x: jax.nn.logsumexp(x, axis=-1)),
        "log_softmax": jax.jit(lambda x: jax.nn.log_softmax(x, axis=-1)),
    }


_JAX = {}


def jax_call(function: str, z: np.ndarray) -> np.ndarray:
    """jax.nn.<function>(z, axis=-1) in z's dtype, as numpy."""
    import jax.numpy as jnp

    if function not in _JAX:
        _JAX.update(_jax_fns())
    x = jnp.asarray(z)
    if x.dtype != z.dtype:
        raise TypeError(f"JAX holds {z.dtype.name} as {x.dtype.name} (x64 disabled?)")
    return np.asarray(_JAX[function](x)).astype(z.dtype)


def jax_gradient(z: np.ndarray, target: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(gradient, loss) of the cross-entropy -log_softmax(z)[t] by jax.grad,
    per row, in z's dtype (one program: value_and_grad of the summed loss,
    whose gradient is each row's)."""
    import jax
    import jax.numpy as jnp

    if "grad" not in _JAX:

        def losses(x, t):
            return -jnp.take_along_axis(jax.nn.log_softmax(x, axis=-1), t[:, None], axis=-1)[:, 0]

        def total(x, t):
            per_row = losses(x, t)
            return per_row.sum(), per_row

        _JAX["grad"] = jax.jit(jax.grad(total, has_aux=True))
    x, t = jnp.asarray(z), jnp.asarray(target.astype(np.int32))
    g, loss = _JAX["grad"](x, t)
    return np.asarray(g).astype(z.dtype), np.asarray(loss).astype(z.dtype)


# --- PyTorch (optional) -------------------------------------------------------


def _torch_dtypes():
    import torch

    return {
        "float64": (torch.float64, None),
        "float32": (torch.float32, None),
        "float16": (torch.float16, None),
        "bfloat16": (torch.bfloat16, np.uint16),
        "float8_e4m3fn": (torch.float8_e4m3fn, np.uint8),
        "float8_e5m2": (torch.float8_e5m2, np.uint8),
    }


def _to_torch(z: np.ndarray):
    """A torch tensor holding z's bits (bfloat16 and float8 through an
    integer view: torch.from_numpy knows no ml_dtypes type)."""
    import torch

    dtype, view = _torch_dtypes()[z.dtype.name]
    z = np.ascontiguousarray(z)
    if view is None:
        return torch.from_numpy(z.copy())
    raw = torch.from_numpy(z.view(view).astype(np.int16 if view is np.uint16 else np.uint8))
    return raw.view(dtype)


def _from_torch(x, dtype: np.dtype) -> np.ndarray:
    import torch

    x = x.detach()
    if dtype.name in ("float64", "float32", "float16"):
        return x.numpy().astype(dtype)
    bits = x.view(torch.int16 if dtype.itemsize == 2 else torch.uint8).numpy()
    return bits.view(np.uint16 if dtype.itemsize == 2 else np.uint8).view(dtype)


def torch_call(function: str, z: np.ndarray) -> np.ndarray:
    """torch.<function>(z, dim=-1) in z's dtype, as numpy."""
    import torch

    x = _to_torch(z)
    with torch.no_grad():
        out = {"softmax": torch.softmax, "log_softmax": torch.log_softmax, "logsumexp": torch.logsumexp}[function](
            x, -1
        )
    if out.dtype != x.dtype:
        raise TypeError(f"torch returned {out.dtype} for {x.dtype}")
    return _from_torch(out, z.dtype)


def torch_gradient(z: np.ndarray, target: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(gradient, loss) of F.cross_entropy(z, t, reduction='sum') by autograd,
    per row (the sum's gradient is each row's), in z's dtype."""
    import torch
    import torch.nn.functional as F

    x = _to_torch(z).requires_grad_(True)
    t = torch.from_numpy(target.astype(np.int64))
    losses = F.cross_entropy(x, t, reduction="none")
    losses.sum().backward()
    return _from_torch(x.grad, z.dtype), _from_torch(losses, z.dtype)


def call(framework: str, function: str, z: np.ndarray) -> np.ndarray:
    return (jax_call if framework == "jax" else torch_call)(function, z)


def gradient(framework: str, z: np.ndarray, target: np.ndarray):
    return (jax_gradient if framework == "jax" else torch_gradient)(z, target)
