"""GradBench's GMM log posterior in JAX."""

import math

import jax.numpy as jnp
from jax import nn

from . import fill_index, log_multigamma


def objective(y, args):
    alpha, mu, q, lvec = y["alpha"], y["mu"], y["q"], y["l"]
    x, m, gamma = args["x"], args["m"], args["gamma"]
    n, d = x.shape
    k = alpha.shape[0]
    # A gather from l with a leading zero builds the strictly-lower parts (a fixed index map, no scatter).
    padded = jnp.concatenate([jnp.zeros((k, 1), dtype=lvec.dtype), lvec], axis=1)
    lower = padded[:, jnp.asarray(fill_index(d))]
    factors = lower + jnp.exp(q)[:, :, None] * jnp.eye(d, dtype=q.dtype)  # Q_k, (k, d, d)
    # Q_k (x_i − μ_k) = Q_k x_i − Q_k μ_k: one (n, d)·(d, kd) matrix product for every component instead
    # of k small products over an (n, k, d) array of centred points.
    qx = (x @ factors.reshape(k * d, d).T).reshape(n, k, d) - jnp.einsum("krc,kc->kr", factors, mu)[None, :, :]
    beta = alpha + jnp.sum(q, axis=1) - 0.5 * jnp.sum(qx * qx, axis=2)
    normaliser = 0.5 * d * math.log(2.0 * math.pi) + nn.logsumexp(alpha, axis=0)
    log_likelihood = jnp.sum(nn.logsumexp(beta, axis=1)) - n * normaliser
    # The constant terms depend only on Python scalars and shapes: plain math, static under jit.
    wishart_n = d + m + 1
    constant_terms = k * (wishart_n * d * math.log(gamma / math.sqrt(2.0)) - log_multigamma(0.5 * wishart_n, d))
    frobenius = jnp.sum(jnp.exp(2.0 * q)) + jnp.sum(lvec * lvec)
    log_prior = constant_terms - 0.5 * gamma**2 * frobenius + m * jnp.sum(q)
    return log_likelihood + log_prior
