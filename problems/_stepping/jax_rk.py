"""Explicit Runge–Kutta steps in JAX, driven by a `problems._stepping.ButcherTableau`, for problems that
step by hand under `lax.scan` (problems that solve with diffrax keep diffrax's solvers)."""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax


class Scheme(NamedTuple):
    """A tableau's weighted sums, stages unrolled: XLA fuses each sum of weighted increments."""

    nodes: tuple[float, ...]  # c₂ … c_s
    sums: tuple[tuple[tuple[int, ...], tuple[float, ...]], ...]  # stage inputs 2 … s, then the solution


class ScannedScheme(NamedTuple):
    """The tableau as arrays for a `lax.scan` over the stages: one copy of the increment function in the
    compiled program instead of one per stage, for fields whose compilation dominates."""

    nodes: jax.Array  # c₁ … c_s
    a: jax.Array  # (s, s), zero on and above the diagonal
    b: jax.Array  # (s,)


def scheme(tableau, like: jax.Array, scan_stages: bool = False) -> Scheme | ScannedScheme:
    if not scan_stages:
        return Scheme(tableau.c[: tableau.stages - 1], tableau.sums())
    s = tableau.stages
    a = np.zeros((s, s))
    for i, row in enumerate(tableau.a_lower[: s - 1]):
        a[i + 1, : i + 1] = row
    nodes, b = (0.0, *tableau.c[: s - 1]), tableau.b_sol[:s]
    return ScannedScheme(jnp.asarray(nodes, like.dtype), jnp.asarray(a, like.dtype), jnp.asarray(b, like.dtype))


def _plus(u, ks, stages, weights):
    """u + Σ_j w_j k_j over the stages read."""
    if not stages:
        return u
    total = weights[0] * ks[stages[0]]
    for j, w in zip(stages[1:], weights[1:]):
        total = total + w * ks[j]
    return u + total


def _scanned_step(increment, t, u, dt, args, scheme: ScannedScheme):
    def weighted(w, ks):
        # Products and a sum rather than a dot: no reduced-precision matmul on GPUs.
        return jnp.sum(jnp.reshape(w, w.shape + (1,) * u.ndim) * ks, axis=0)

    def stage(ks, row):
        i, node, a_i = row
        return ks.at[i].set(increment(t + node * dt, u + weighted(a_i, ks), args)), None

    s = scheme.b.shape[0]
    ks, _ = lax.scan(stage, jnp.zeros((s, *u.shape), u.dtype), (jnp.arange(s), scheme.nodes, scheme.a))
    return u + weighted(scheme.b, ks)


def step(increment, t, u, dt, args, scheme: Scheme | ScannedScheme):
    """u after one step of dt from time t. increment(t_i, u_i, args) returns the stage increment
    k_i = dt·f(t_i, u_i) (the caller folds dt in where it costs least); the step returns u + Σ_i b_i k_i."""
    if isinstance(scheme, ScannedScheme):
        return _scanned_step(increment, t, u, dt, args, scheme)
    ks = [increment(t, u, args)]
    for node, (stages, weights) in zip(scheme.nodes, scheme.sums):
        ks.append(increment(t + node * dt, _plus(u, ks, stages, weights), args))
    stages, weights = scheme.sums[-1]
    return _plus(u, ks, stages, weights)


def integrate(increment, u, dt, steps, args, scheme: Scheme | ScannedScheme, save_every=None):
    """u after `steps` steps of dt from t = 0 (t_n = n·dt); with save_every, the states after every
    save_every-th step, stacked on a new leading axis. `lax.scan` over the steps."""

    def body(u, n):
        return step(increment, n.astype(u.dtype) * dt, u, dt, args, scheme), None

    if not save_every:
        return lax.scan(body, u, jnp.arange(steps))[0]

    def segment(u, ns):
        u = lax.scan(body, u, ns)[0]
        return u, u

    return lax.scan(segment, u, jnp.arange(steps).reshape(-1, save_every))[1]
