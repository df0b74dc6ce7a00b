"""A chain of elementwise operations, iterated, in JAX."""

import jax.numpy as jnp
from jax import lax


def chain(x):
    a1 = jnp.sin(x)
    a2 = a1 * x
    a3 = jnp.tanh(a2)
    a4 = a3 + 0.5 * x
    a5 = a4 * a4
    a6 = jnp.exp(-a5)
    a7 = a6 * jnp.cos(x)
    return a7 + 0.1 * x * x


def objective(y, args):
    x = y
    for _ in range(args["steps"]):
        x = chain(x)
    return jnp.sum(x)


def objective_scan(y, args):
    # Static bounds: fori_loop lowers to a scan, which reverse mode differentiates.
    return jnp.sum(lax.fori_loop(0, args["steps"], lambda _, x: chain(x), y))
