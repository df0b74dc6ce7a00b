"""GradBench's GMM log posterior in PyTorch."""

import math

import torch

from sciad.frameworks.torch_backend import constant

from . import fill_index, log_multigamma


def objective(y, args):
    alpha, mu, q, lvec = y["alpha"], y["mu"], y["q"], y["l"]
    x, m, gamma = args["x"], args["m"], args["gamma"]
    n, d = x.shape
    k = alpha.shape[0]
    # A gather from l with a leading zero builds the strictly-lower parts (a fixed index map, no scatter).
    padded = torch.cat([lvec.new_zeros((k, 1)), lvec], dim=1)
    lower = padded[:, constant(fill_index(d), lvec, dtype=torch.int64)]
    factors = lower + torch.exp(q)[:, :, None] * torch.eye(d, dtype=q.dtype, device=q.device)  # Q_k, (k, d, d)
    # Q_k (x_i − μ_k) = Q_k x_i − Q_k μ_k: one (n, d)·(d, kd) matrix product for every component instead
    # of k small products over an (n, k, d) array of centred points.
    qx = (x @ factors.reshape(k * d, d).T).reshape(n, k, d) - torch.einsum("krc,kc->kr", factors, mu)[None, :, :]
    beta = alpha + torch.sum(q, dim=1) - 0.5 * torch.sum(qx * qx, dim=2)
    normaliser = 0.5 * d * math.log(2.0 * math.pi) + torch.logsumexp(alpha, dim=0)
    log_likelihood = torch.sum(torch.logsumexp(beta, dim=1)) - n * normaliser
    # The constant terms depend only on Python scalars and shapes: plain math, static under jit.
    wishart_n = d + m + 1
    constant_terms = k * (wishart_n * d * math.log(gamma / math.sqrt(2.0)) - log_multigamma(0.5 * wishart_n, d))
    frobenius = torch.sum(torch.exp(2.0 * q)) + torch.sum(lvec * lvec)
    log_prior = constant_terms - 0.5 * gamma**2 * frobenius + m * torch.sum(q)
    return log_likelihood + log_prior
