"""A neural ODE in JAX: an equinox MLP field, diffrax's constant-step 3/8 rule, three diffrax adjoints."""

from collections.abc import Callable
from typing import ClassVar

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from problems._stepping import THREE_EIGHTHS

from . import WIDTH


class ThreeEighths(diffrax.AbstractERK):
    """Kutta's 3/8 rule, fourth order, four stages; no embedded method, so constant steps only."""

    tableau: ClassVar[diffrax.ButcherTableau] = diffrax.ButcherTableau(
        c=np.array(THREE_EIGHTHS.c),
        a_lower=tuple(np.array(row) for row in THREE_EIGHTHS.a_lower),
        b_sol=np.array(THREE_EIGHTHS.b_sol),
        # No error estimate: ConstantStepSize never reads it.
        b_error=np.zeros(len(THREE_EIGHTHS.b_sol)),
    )
    interpolation_cls: ClassVar[Callable[..., diffrax.ThirdOrderHermitePolynomialInterpolation]] = (
        diffrax.ThirdOrderHermitePolynomialInterpolation.from_k
    )

    def order(self, terms):
        return 4


# The network's structure only: eval_shape draws no random weights, and every array is replaced from y.
SKELETON = eqx.filter_eval_shape(eqx.nn.MLP, 2, 2, WIDTH, 1, activation=jnp.tanh, key=jax.random.key(0))


def _layers(model):
    return [leaf for layer in model.layers for leaf in (layer.weight, layer.bias)]


def network(y):
    """The MLP f_θ with θ = y, a function of one state."""
    return eqx.tree_at(_layers, SKELETON, [y[key] for key in ("w0", "b0", "w1", "b1")])


def vector_field(t, z, model):
    return jax.vmap(model)(z)


def flow(y, args, adjoint):
    z0, t1, steps = args["z0"], args["t1"], args["steps"]
    # diffrax scales the vector field by the step: times in the state's dtype keep float32 in float32.
    t0, t1, dt = jnp.zeros((), z0.dtype), jnp.asarray(t1, z0.dtype), jnp.asarray(t1 / steps, z0.dtype)
    solution = diffrax.diffeqsolve(
        diffrax.ODETerm(vector_field),
        ThreeEighths(),
        t0,
        t1,
        dt,
        z0,
        # θ goes in through args, not a closure: BacksolveAdjoint differentiates args, not closed-over arrays.
        args=network(y),
        stepsize_controller=diffrax.ConstantStepSize(),
        saveat=diffrax.SaveAt(t1=True),
        max_steps=steps,
        adjoint=adjoint,
    )
    return solution.ys[0]


def loss(z, args):
    return jnp.mean((z - args["targets"]) ** 2)


def solve(y, args):
    # RecursiveCheckpointAdjoint is a custom_vjp, which jvp and jacfwd cannot enter; DirectAdjoint
    # differentiates the same solve in both modes.
    return flow(y, args, diffrax.DirectAdjoint())


def objective(y, args):
    return loss(flow(y, args, diffrax.RecursiveCheckpointAdjoint()), args)


def objective_backsolve(y, args):
    return loss(flow(y, args, diffrax.BacksolveAdjoint()), args)
