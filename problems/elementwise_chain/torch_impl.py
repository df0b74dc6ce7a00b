"""A chain of elementwise operations, iterated, in PyTorch."""

import torch


def chain(x):
    a1 = torch.sin(x)
    a2 = a1 * x
    a3 = torch.tanh(a2)
    a4 = a3 + 0.5 * x
    a5 = a4 * a4
    a6 = torch.exp(-a5)
    a7 = a6 * torch.cos(x)
    return a7 + 0.1 * x * x


def objective(y, args):
    x = y
    for _ in range(args["steps"]):
        x = chain(x)
    return torch.sum(x)
