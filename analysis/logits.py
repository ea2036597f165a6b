"""Realistic logit rows for the long-row study, all synthetic and seeded.

Pure numerics.  Every row is drawn in float64 from
``numpy.random.default_rng([seed, setting, n, draw])`` and rounded once to
the format by the caller.  No real model's logits are used: no package of
the project's registries ships a language model or attention scores that
run offline, so the rows below imitate the shapes that break softmax in
practice.  Each setting, and why it is there:

- ``normal`` (scale s): z = s x, x ~ N(0, 1).  The study's scaled-normal
  family carried to long rows: at s = 1 the row's sum is about n e^(1/2),
  past float16's largest value (65504) from n ~ 40,000 without a shift, and
  a recursive float16 sum of terms below 1 stops growing near 2,048.
- ``llm`` (temperature T): the output row of a language model over its
  vocabulary.  The bulk is 2 t_5 (Student-t, 5 degrees of freedom: real
  logit rows have heavier tails than a normal), plus 8 planted tokens at
  the bulk's maximum + U(5, 20) (the few plausible next tokens), the whole
  row offset so that its maximum is 25 (logits of open LLMs peak in the
  20s-30s, so the unshifted exp overflows float16 and float8), divided by
  T: T = 0.1 (near-greedy sampling sharpens the row 10x: the maximum is
  250, past float32's ln max 88.7), 1 and 2.
- ``attention`` (variant, head dimension d): scores q.k_j / sqrt(d) of one
  query against n keys.  "random": q, k_j ~ N(0, I_d), scores ~ N(0, 1).
  "correlated": k_j = 0.9 q + sqrt(1 - 0.81) xi_j with |q| ~ 3 sqrt(d)
  (query and keys share a direction, as after training; scores spread
  over about 10 sqrt(d)).  "outlier": random q, k_j, and one channel of
  magnitude 20 in q and 100 in 4 planted keys -- the few very large
  activation channels of trained transformers (Dettmers et al., "LLM.int8()",
  NeurIPS 2022; Sun et al., "Massive activations in large language
  models", COLM 2024) that make float16 attention overflow; those keys
  score about 2000 / sqrt(d) = 177 at d = 128.
"""

from __future__ import annotations

import numpy as np

# name -> (family, parameter, description); the order fixes the seed index.
SETTINGS = {
    "normal_s1": ("normal", 1.0, "standard normal, scale 1"),
    "normal_s10": ("normal", 10.0, "standard normal, scale 10"),
    "normal_s100": ("normal", 100.0, "standard normal, scale 100"),
    "llm_t0.1": ("llm", 0.1, "LLM-like output row, temperature 0.1"),
    "llm_t1": ("llm", 1.0, "LLM-like output row, temperature 1"),
    "llm_t2": ("llm", 2.0, "LLM-like output row, temperature 2"),
    "attn_random_d64": ("attention", ("random", 64), "attention scores, random q and k, d = 64"),
    "attn_corr_d128": ("attention", ("correlated", 128), "attention scores, correlated q and k, d = 128"),
    "attn_outlier_d128": ("attention", ("outlier", 128), "attention scores, 4 outlier keys, d = 128"),
}
LLM_PLANTED = 8
LLM_PEAK = 25.0
ATTENTION_OUTLIER_KEYS = 4


def _normal(rng, n: int, scale: float) -> np.ndarray:
    return scale * rng.standard_normal(n)


def _llm(rng, n: int, temperature: float) -> np.ndarray:
    z = 2.0 * rng.standard_t(5, n)
    planted = rng.choice(n, size=min(LLM_PLANTED, n), replace=False)
    z[planted] = z.max() + rng.uniform(5.0, 20.0, planted.size)
    return (z - z.max() + LLM_PEAK) / temperature


def _attention(rng, n: int, variant: str, d: int) -> np.ndarray:
    q = rng.standard_normal(d)
    xi = rng.standard_normal((n, d))
    if variant == "correlated":
        q *= 3.0
        k = 0.9 * q + np.sqrt(1 - 0.81) * 3.0 * xi
    else:
        k = xi
    if variant == "outlier":
        q[0] = 20.0
        k[: min(ATTENTION_OUTLIER_KEYS, n), 0] = 100.0
        k = k[rng.permutation(n)]
    return k @ q / np.sqrt(d)


def row(name: str, n: int, draw: int, seed: int) -> np.ndarray:
    """One float64 row of setting ``name`` (a key of SETTINGS)."""
    family, parameter, _ = SETTINGS[name]
    rng = np.random.default_rng([seed, list(SETTINGS).index(name), n, draw])
    if family == "normal":
        return _normal(rng, n, parameter)
    if family == "llm":
        return _llm(rng, n, parameter)
    return _attention(rng, n, *parameter)


def rows(name: str, n: int, draws: int, seed: int) -> np.ndarray:
    """``draws`` rows of setting ``name``, shape (draws, n), float64."""
    return np.stack([row(name, n, d, seed) for d in range(draws)])
