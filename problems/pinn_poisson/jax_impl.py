"""A physics-informed network for Poisson's equation in JAX: an equinox MLP, Δu by jax.hessian."""

import math

import equinox as eqx
import jax
import jax.numpy as jnp

# The network's structure only: eval_shape draws no random weights, and every array is replaced from y.
SKELETON = eqx.filter_eval_shape(eqx.nn.MLP, 2, "scalar", 32, 2, activation=jnp.tanh, key=jax.random.key(0))


def _layers(model):
    return [leaf for layer in model.layers for leaf in (layer.weight, layer.bias)]


def network(y):
    """The MLP u_θ with θ = y."""
    return eqx.tree_at(_layers, SKELETON, [y[key] for key in ("w0", "b0", "w1", "b1", "w2", "b2")])


def _laplacian_at(model, point):
    return jnp.trace(jax.hessian(model)(point))


def solution(y, points):
    model = network(y)
    return jax.vmap(model)(points)


def laplacian(y, points):
    model = network(y)
    return jax.vmap(lambda point: _laplacian_at(model, point))(points)


def source(points):
    return 2.0 * math.pi**2 * jnp.sin(math.pi * points[:, 0]) * jnp.sin(math.pi * points[:, 1])


def objective(y, args):
    interior, boundary = args["interior"], args["boundary"]
    residual = laplacian(y, interior) + source(interior)
    return jnp.mean(residual**2) + jnp.mean(solution(y, boundary) ** 2)
