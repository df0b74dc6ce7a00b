"""GradBench's ode chain in PyTorch: classical RK4 steps by the shared stepper, in a Python loop."""

import torch

from problems._stepping import RK4
from problems._stepping import torch_rk as rk

from . import T_FINAL


def vector_field(x, y):
    return torch.cat([x[:1], x[1:] * y[:-1]])


def increment(t, y, args):
    x, h = args
    return h * vector_field(x, y)


def solve(y, args):
    x, steps = y, args["steps"]
    h = T_FINAL / steps
    return rk.integrate(increment, torch.zeros_like(x), h, steps, (x, h), rk.scheme(RK4, x))


def objective(y, args):
    return solve(y, args)[-1]
