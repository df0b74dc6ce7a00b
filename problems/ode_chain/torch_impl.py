"""GradBench's ode chain in PyTorch: classical RK4 steps in a Python loop."""

import torch

T_FINAL = 2.0


def vector_field(x, y):
    return torch.cat([x[:1], x[1:] * y[:-1]])


def rk4_step(x, y, h):
    k1 = vector_field(x, y)
    k2 = vector_field(x, y + h * k1 / 2)
    k3 = vector_field(x, y + h * k2 / 2)
    k4 = vector_field(x, y + h * k3)
    return y + h * (k1 + 2 * k2 + 2 * k3 + k4) / 6


def solve(y, args):
    x, steps = y, args["steps"]
    h = T_FINAL / steps
    state = torch.zeros_like(x)
    for _ in range(steps):
        state = rk4_step(x, state, h)
    return state


def objective(y, args):
    return solve(y, args)[-1]
