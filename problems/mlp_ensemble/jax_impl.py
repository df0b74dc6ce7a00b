"""An ensemble of tanh MLP regressors in JAX: a stacked equinox MLP under filter_vmap, optax Adam vmapped over members."""

import functools

import equinox as eqx
import jax
import jax.numpy as jnp
import optax
from jax import lax

KEYS = ("w0", "b0", "w1", "b1", "w2", "b2")  # y's arrays in the order of the network's layers


@functools.cache
def _skeleton(width):
    # The network's structure only: eval_shape draws no random weights, and every array is replaced from y.
    return eqx.filter_eval_shape(eqx.nn.MLP, 1, "scalar", width, 2, activation=jnp.tanh, key=jax.random.key(0))


def _layers(model):
    return [leaf for layer in model.layers for leaf in (layer.weight, layer.bias)]


def network(y):
    """The MLP with parameters y: one member's, or every member's stacked on a leading axis."""
    return eqx.tree_at(_layers, _skeleton(y["b0"].shape[-1]), [y[key] for key in KEYS])


def _member_predictions(model, points):
    # An equinox MLP maps one point (1,): vmap it over the member's points (N, 1).
    return jax.vmap(model)(points)


def predict(y, x):
    """Each member's outputs at its own inputs: x (N, K, 1) → (N, K)."""
    return eqx.filter_vmap(_member_predictions, in_axes=(eqx.if_array(0), 1), out_axes=1)(network(y), x)


def members(y):
    """The K members as networks of their own."""
    return [network({key: y[key][k] for key in KEYS}) for k in range(y["b0"].shape[0])]


def stack_members(models):
    """y from K member networks: their arrays stacked on a leading member axis."""
    stacked = jax.tree.map(lambda *leaves: jnp.stack(leaves), *[eqx.filter(model, eqx.is_array) for model in models])
    return dict(sorted(zip(KEYS, _layers(stacked))))


def _squared_errors(y, x, targets):
    return (predict(y, x) - targets) ** 2


def objective(y, args):
    return jnp.sum(jnp.mean(_squared_errors(y, args["x"], args["targets"]), axis=0))


def per_sample_loss(y, args):
    # Under vmap over rows, x is one row (K, 1) and targets (K,): one sample of every member.
    return jnp.sum(_squared_errors(y, args["x"][None], args["targets"][None]))


def train(y, args):
    """`steps` Adam steps on the objective from θ = y; the final stacked parameters."""
    # β₁ 0.9, β₂ 0.999, ε 1e-8: optax's defaults, and torch.optim.Adam's.
    optimizer = optax.adam(args["learning_rate"])
    # One optimiser state per member, as K separate trainers keep; Adam is elementwise, so this
    # equals one update of the stacked tree.
    update = jax.vmap(optimizer.update)
    gradient = jax.grad(objective)

    def step(carry, _):
        parameters, state = carry
        updates, state = update(gradient(parameters, args), state, parameters)
        return (optax.apply_updates(parameters, updates), state), None

    (parameters, _), _ = lax.scan(step, (y, jax.vmap(optimizer.init)(y)), length=args["steps"])
    return parameters
