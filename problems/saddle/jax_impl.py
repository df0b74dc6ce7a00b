"""GradBench's saddle point in JAX: gradient descent on the result of an inner gradient ascent."""

import jax.numpy as jnp

# GradBench's solver and the nesting helpers are shared with particle (its solver.fut is shared too).
from problems.particle import MODES
from problems.particle.jax_impl import argmin, value_and_gradient  # noqa: F401
from sciad.errors import choose


def f(p1, p2):
    return (p1[0] ** 2 + p1[1] ** 2) - (p2[0] ** 2 + p2[1] ** 2)


def max_value(p1, args, inner):
    """F(p₁) = f(p₁, p₂*), p₂* from the inner ascent with its gradient in mode `inner`."""
    p2 = argmin(lambda p2: -f(p1, p2), args["start"], args, inner)
    return f(p1, p2)


def objective(y, args):
    return max_value(y, args, "reverse")


def objective_inner_forward(y, args):
    return max_value(y, args, "forward")


def solve(y, args, outer, inner):
    """(r₁, r₂): descent on F from y (∇ in mode `outer` over inner ascents in mode `inner`), then the ascent at r₁."""
    choose("AD mode", inner, MODES)
    r1 = argmin(lambda p1: max_value(p1, args, inner), y, args, outer)
    r2 = argmin(lambda p2: -f(r1, p2), args["start"], args, outer)
    return jnp.concatenate([r1, r2])
