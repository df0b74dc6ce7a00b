"""Lotka–Volterra in PyTorch: diffrax's Tsit5 tableau at a constant step, by the shared stepper in a Python loop."""

import torch

from problems._stepping import TSIT5
from problems._stepping import torch_rk as rk


def rates(theta):
    alpha, beta, gamma, delta = theta[0], theta[1], theta[2], theta[3]
    return torch.stack([alpha, -gamma]), torch.stack([-beta, delta])


def vector_field(t, u, args):
    # u̇₁ = u₁(α − βu₂), u̇₂ = u₂(δu₁ − γ): a few whole-vector operations instead of many scalar ones.
    intrinsic, interaction = args
    return u * torch.addcmul(intrinsic, interaction, torch.flip(u, (0,)))


def solve(y, args):
    theta, u0, t1, steps, save_every = y, args["u0"], args["t1"], args["steps"], args["save_every"]
    dt = t1 / steps
    # f is linear in the rates: rates scaled by dt make vector_field return the stage increment dt·f.
    increment_args = tuple(dt * rate for rate in rates(theta))
    return rk.integrate(vector_field, u0, dt, steps, increment_args, rk.scheme(TSIT5, u0), save_every=save_every)


def objective(y, args):
    return torch.mean((solve(y, args) - args["observations"]) ** 2)
