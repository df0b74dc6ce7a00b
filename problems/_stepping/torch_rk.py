"""Explicit Runge–Kutta steps in PyTorch, driven by a `problems._stepping.ButcherTableau`.

`step` is a plain function of tensors (besides the increment function), called in a Python loop: the loop
stays torch's, and one step could be compiled on its own (regional compilation).
"""

from __future__ import annotations

from typing import NamedTuple

import torch

from sciad.frameworks.torch_backend import constant, region


class Scheme(NamedTuple):
    """A tableau's weighted sums for one solve: a lone weight as a Python float (one fused add), several as
    a tensor on the state's dtype and device (one matrix-vector product), built once rather than per step."""

    nodes: tuple[float, ...]  # c₂ … c_s
    sums: tuple[tuple[tuple[int, ...], float | torch.Tensor | None], ...]  # stage inputs 2 … s, then the solution


def scheme(tableau, like: torch.Tensor) -> Scheme:
    def weights(values):
        if len(values) < 2:
            return values[0] if values else None
        return constant(values, like)

    return Scheme(tableau.c[: tableau.stages - 1], tuple((stages, weights(values)) for stages, values in tableau.sums()))


def _plus(u, ks, stages, weights):
    """u + Σ_j w_j k_j over the stages read."""
    if not stages:
        return u
    if len(stages) == 1:
        return torch.add(u, ks[stages[0]], alpha=weights)
    stacked = torch.stack([ks[j] for j in stages], -1)
    # Few operations for Python to dispatch: a vector state takes one fused addmv, others one product.
    return torch.addmv(u, stacked, weights) if u.ndim == 1 else u + stacked @ weights


@region
def step(increment, t, u, dt, args, scheme: Scheme):
    """u after one step of dt from time t. increment(t_i, u_i, args) returns the stage increment
    k_i = dt·f(t_i, u_i) (the caller folds dt in where it costs least); the step returns u + Σ_i b_i k_i."""
    ks = [increment(t, u, args)]
    for node, (stages, weights) in zip(scheme.nodes, scheme.sums):
        ks.append(increment(t + node * dt, _plus(u, ks, stages, weights), args))
    stages, weights = scheme.sums[-1]
    return _plus(u, ks, stages, weights)


def integrate(increment, u, dt, steps, args, scheme: Scheme, save_every=None, compile_step=True):
    """u after `steps` steps of dt from t = 0 (t_n = n·dt); with save_every, the states after every
    save_every-th step, stacked on a new leading axis. The step is a compile region (`region`); with
    compile_step=False it is plain code, for an increment that is a region itself: a field whose graph is
    costly compiles once, not once per stage."""
    stepper = step if compile_step else step.region
    saved = []
    # The step times as a tensor: a compiled step (a compile region) reads a tensor's value at run time,
    # where a Python float would be a constant of its graph, compiled anew for every step.
    times = torch.arange(steps, dtype=u.dtype, device=u.device) * dt
    for n in range(steps):
        u = stepper(increment, times[n], u, dt, args, scheme)
        if save_every and (n + 1) % save_every == 0:
            saved.append(u)
    return torch.stack(saved) if save_every else u
