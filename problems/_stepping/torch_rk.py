"""Explicit Runge–Kutta steps in PyTorch, driven by a `problems._stepping.ButcherTableau`.

`step` is a plain function of tensors (besides the increment function); `integrate` runs it in
`torch_backend.scan`, which a regional mode compiles whole (torch's scan operator).
"""

from __future__ import annotations

from typing import NamedTuple

import torch

from sciad.frameworks.torch_backend import constant, scan


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


def step(increment, t, u, dt, args, scheme: Scheme):
    """u after one step of dt from time t. increment(t_i, u_i, args) returns the stage increment
    k_i = dt·f(t_i, u_i) (the caller folds dt in where it costs least); the step returns u + Σ_i b_i k_i."""
    ks = [increment(t, u, args)]
    for node, (stages, weights) in zip(scheme.nodes, scheme.sums):
        ks.append(increment(t + node * dt, _plus(u, ks, stages, weights), args))
    stages, weights = scheme.sums[-1]
    return _plus(u, ks, stages, weights)


def integrate(increment, u, dt, steps, args, scheme: Scheme, save_every=None, compile_loop=True):
    """u after `steps` steps of dt from t = 0 (t_n = n·dt); with save_every, the states after every
    save_every-th step, stacked on a new leading axis. `torch_backend.scan` over the steps; with
    compile_loop=False the loop stays in Python, for an increment that is a compile region itself: a field
    whose graph is costly compiles once, not once per stage."""

    def body(u, t):
        u = step(increment, t, u, dt, args, scheme)
        return u, (u if save_every else None)

    # The step times as a tensor the loop scans: a compiled loop reads each at run time, where a Python float
    # would be a constant of its graph.
    times = torch.arange(steps, dtype=u.dtype, device=u.device) * dt
    u, states = scan(body, u, times, compiled=compile_loop)
    return states[save_every - 1 :: save_every] if save_every else u
