"""Rosenbrock's function in JAX."""

import jax.numpy as jnp


def objective(y, args):
    x, a, b = y, args["a"], args["b"]
    return jnp.sum(b * (x[1:] - x[:-1] ** 2) ** 2 + (a - x[:-1]) ** 2)
