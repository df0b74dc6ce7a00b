"""A chain of three matrix products in PyTorch."""

import torch
import torch.func


def predict(y, args):
    return torch.matmul(torch.matmul(torch.matmul(args["x"], y["W1"]), y["W2"]), y["W3"])


def objective(y, args):
    u = predict(y, args)
    return 0.5 * torch.sum(u * u) / u.shape[0]


def per_sample_loss(y, args):
    # Under vmap over rows, x is one row (d,).
    u = torch.matmul(torch.matmul(torch.matmul(args["x"], y["W1"]), y["W2"]), y["W3"])
    return 0.5 * torch.sum(u * u)


# The per-example function as a loop's user writes it, called per row.
_sample_grad = torch.func.grad(per_sample_loss)


def per_sample_grad_loop(y, args):
    rows = [_sample_grad(y, {"x": args["x"][i]}) for i in range(args["x"].shape[0])]
    return {key: torch.stack([row[key] for row in rows]) for key in y}


def _summed_losses(copies, x):
    # One copy of the weights per sample (leading axis n): Σ_i ℓ_i(W⁽ⁱ⁾).
    u = torch.einsum("ni,nij->nj", x, copies["W1"])
    u = torch.einsum("ni,nij->nj", u, copies["W2"])
    u = torch.einsum("ni,nij->nj", u, copies["W3"])
    return 0.5 * torch.sum(u * u)


def per_sample_grad_trick(y, args):
    n = args["x"].shape[0]
    copies = {key: value.expand(n, *value.shape) for key, value in y.items()}
    return torch.func.grad(_summed_losses)(copies, args["x"])
