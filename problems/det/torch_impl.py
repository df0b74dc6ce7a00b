"""The determinant by expansion by minors along the first row, in PyTorch."""

import torch


def _det(M):
    # M is a batch (..., k, k); Python recursion over k is fine under tracing, where shapes are static.
    k = M.shape[-1]
    if k == 1:
        return M[..., 0, 0]
    # Minor j of the first row keeps rows 1…k−1 and, at column c, column c of M if c < j, else c + 1:
    # one select builds all k minors on a new batch axis, (..., k, k − 1, k − 1), with no arithmetic.
    c = torch.arange(k - 1, device=M.device)
    j = torch.arange(k, device=M.device)[:, None]
    before = (c < j)[:, None, :]
    below = M[..., None, 1:, :]
    minors = torch.where(before, below[..., :-1], below[..., 1:])
    terms = M[..., 0, :] * _det(minors)
    return torch.sum(terms[..., 0::2], dim=-1) - torch.sum(terms[..., 1::2], dim=-1)


def objective(y, args):
    A = y
    return _det(A)
