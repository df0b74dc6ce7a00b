"""GradBench's linear least-squares objective in JAX."""

import jax.numpy as jnp


def objective(y, args):
    x, n = y, args["n"]
    # t_i = (2i − (n−1))/(n−1) rounds once, so for odd n the middle point is exactly 0 and sign(0) = 0.
    i = jnp.arange(n, dtype=x.dtype)
    t = (2 * i - (n - 1)) / (n - 1)
    s = jnp.sign(t)
    powers = jnp.arange(x.shape[0], dtype=x.dtype)
    A = t[:, None] ** powers
    r = s - A @ x
    return 0.5 * jnp.sum(r * r)
