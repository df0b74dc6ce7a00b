"""GradBench's linear least-squares objective in PyTorch."""

import torch


def objective(y, args):
    x, n = y, args["n"]
    # t_i = (2i − (n−1))/(n−1) rounds once, so for odd n the middle point is exactly 0 and sign(0) = 0.
    i = torch.arange(n, dtype=x.dtype, device=x.device)
    t = (2 * i - (n - 1)) / (n - 1)
    s = torch.sign(t)
    powers = torch.arange(x.shape[0], dtype=x.dtype, device=x.device)
    A = t[:, None] ** powers
    r = s - A @ x
    return 0.5 * torch.sum(r * r)
