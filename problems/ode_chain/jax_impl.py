"""GradBench's ode chain in JAX: classical RK4 steps under lax.scan."""

import jax.numpy as jnp
from jax import lax

T_FINAL = 2.0


def vector_field(x, y):
    return jnp.concatenate([x[:1], x[1:] * y[:-1]])


def rk4_step(x, y, h):
    k1 = vector_field(x, y)
    k2 = vector_field(x, y + h * k1 / 2)
    k3 = vector_field(x, y + h * k2 / 2)
    k4 = vector_field(x, y + h * k3)
    return y + h * (k1 + 2 * k2 + 2 * k3 + k4) / 6


def solve(y, args):
    x, steps = y, args["steps"]
    h = T_FINAL / steps
    state, _ = lax.scan(lambda state, _: (rk4_step(x, state, h), None), jnp.zeros_like(x), length=steps)
    return state


def objective(y, args):
    return solve(y, args)[-1]
