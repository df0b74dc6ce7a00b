"""Rosenbrock's function in PyTorch."""

import torch


def objective(y, args):
    x, a, b = y, args["a"], args["b"]
    return torch.sum(b * (x[1:] - x[:-1] ** 2) ** 2 + (a - x[:-1]) ** 2)
