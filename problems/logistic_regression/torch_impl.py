"""L2-regularised logistic regression in PyTorch."""

import torch


def _losses(w, X, labels):
    z = X @ w
    # logaddexp(0, z) is softplus without overflow for large z and without cancellation for small z;
    # torch.nn.functional.softplus switches to z above a threshold, off by about e^-threshold.
    return torch.logaddexp(torch.zeros_like(z), z) - labels * z


def objective(y, args):
    w, X, labels, l2 = y, args["X"], args["labels"], args["l2"]
    return torch.mean(_losses(w, X, labels)) + 0.5 * l2 * torch.sum(w * w)


def per_sample_loss(y, args):
    # Under vmap over rows, X is one row (d,) and labels a 0-d array: the loss of one sample.
    w, X, labels = y, args["X"], args["labels"]
    return _losses(w, X, labels)
