"""GradBench's ode chain in JAX: classical RK4 steps by the shared stepper, under lax.scan."""

import jax.numpy as jnp

from problems._stepping import RK4
from problems._stepping import jax_rk as rk

from . import T_FINAL


def vector_field(x, y):
    return jnp.concatenate([x[:1], x[1:] * y[:-1]])


def increment(t, y, args):
    x, h = args
    return h * vector_field(x, y)


def solve(y, args):
    x, steps = y, args["steps"]
    h = T_FINAL / steps
    return rk.integrate(increment, jnp.zeros_like(x), h, steps, (x, h), rk.scheme(RK4, x))


def objective(y, args):
    return solve(y, args)[-1]
