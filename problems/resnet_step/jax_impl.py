"""A small residual CNN with group norm in JAX: an equinox module, optax SGD."""

import functools

import equinox as eqx
import jax
import jax.numpy as jnp
import optax
from jax import lax

GROUPS, CLASSES, BLOCKS = 2, 10, 2


class Block(eqx.Module):
    gn1: eqx.nn.GroupNorm
    conv1: eqx.nn.Conv2d
    gn2: eqx.nn.GroupNorm
    conv2: eqx.nn.Conv2d

    def __init__(self, channels, key):
        k1, k2 = jax.random.split(key)
        self.gn1 = eqx.nn.GroupNorm(GROUPS, channels)
        self.conv1 = eqx.nn.Conv2d(channels, channels, 3, padding=1, key=k1)
        self.gn2 = eqx.nn.GroupNorm(GROUPS, channels)
        self.conv2 = eqx.nn.Conv2d(channels, channels, 3, padding=1, key=k2)

    def __call__(self, h):
        t = self.conv1(jax.nn.relu(self.gn1(h)))
        return h + self.conv2(jax.nn.relu(self.gn2(t)))


class ResNet(eqx.Module):
    stem: eqx.nn.Conv2d
    blocks: list
    head: eqx.nn.Linear

    def __init__(self, channels, key):
        keys = jax.random.split(key, BLOCKS + 2)
        self.stem = eqx.nn.Conv2d(3, channels, 3, padding=1, key=keys[0])
        self.blocks = [Block(channels, k) for k in keys[1:-1]]
        self.head = eqx.nn.Linear(channels, CLASSES, key=keys[-1])

    def __call__(self, image):
        h = self.stem(image)
        for block in self.blocks:
            h = block(h)
        return self.head(jnp.mean(jax.nn.relu(h), axis=(1, 2)))


@functools.cache
def _skeleton(channels):
    # The network's structure only: eval_shape draws no weights; every array is replaced from y.
    return eqx.filter_eval_shape(ResNet, channels, key=jax.random.key(0))


def _where(model):
    leaves = [model.stem.weight, model.stem.bias]
    for block in model.blocks:
        leaves += [block.gn1.weight, block.gn1.bias, block.conv1.weight, block.conv1.bias]
        leaves += [block.gn2.weight, block.gn2.bias, block.conv2.weight, block.conv2.bias]
    return leaves + [model.head.weight, model.head.bias]


def network(y):
    """The equinox ResNet with parameters y (equinox keeps a convolution's bias as (C, 1, 1))."""
    arrays = [y["stem_w"], y["stem_b"][:, None, None]]
    for j in range(BLOCKS):
        p = f"b{j}_"
        arrays += [y[p + "gn1_w"], y[p + "gn1_b"], y[p + "conv1_w"], y[p + "conv1_b"][:, None, None]]
        arrays += [y[p + "gn2_w"], y[p + "gn2_b"], y[p + "conv2_w"], y[p + "conv2_b"][:, None, None]]
    arrays += [y["head_w"], y["head_b"]]
    return eqx.tree_at(_where, _skeleton(y["stem_b"].shape[0]), arrays)


def objective(y, args):
    logits = jax.vmap(network(y))(args["x"])  # equinox layers map one image: vmap over the batch
    return jnp.mean(optax.softmax_cross_entropy(logits, args["targets"]))


def train(y, args):
    """`steps` SGD steps on the objective from θ = y; the final parameters."""
    optimizer = optax.sgd(args["learning_rate"])
    gradient = jax.grad(objective)

    def step(carry, _):
        parameters, state = carry
        updates, state = optimizer.update(gradient(parameters, args), state, parameters)
        return (optax.apply_updates(parameters, updates), state), None

    (parameters, _), _ = lax.scan(step, (y, optimizer.init(y)), length=args["steps"])
    return parameters
