"""HMC on the logistic-regression posterior in JAX: lax.scan over transitions of a jax.vmap over chains."""

import jax
import jax.numpy as jnp
from jax import lax

from problems.logistic_regression import jax_impl as likelihood


def objective(y, args):
    w, prior_scale = y, args["prior_scale"]
    # per_sample_loss on all rows is the vector of softplus(z_i) − t_i z_i.
    losses = likelihood.per_sample_loss(w, {"X": args["X"], "labels": args["labels"]})
    return -jnp.sum(losses) - jnp.sum(w * w * (0.5 / prior_scale**2))


def hamiltonian(position, momentum, args):
    return jnp.sum(momentum * momentum * 0.5) - objective(position, args)


def integrate(position, momentum, args):
    step_size, steps = args["step_size"], args["leapfrog_steps"]
    score = jax.grad(objective)
    # Kick-drift-kick with the half kicks of consecutive steps merged: the last kick is a half kick.
    kicks = jnp.ones(steps, position.dtype).at[-1].set(0.5)

    def step(state, kick):
        position, momentum = state
        position = position + step_size * momentum
        momentum = momentum + step_size * kick * score(position, args)
        return (position, momentum), None

    momentum = momentum + (0.5 * step_size) * score(position, args)
    (position, momentum), _ = lax.scan(step, (position, momentum), kicks)
    return position, momentum


def flow(z, args):
    position, momentum = integrate(z[0], z[1], args)
    return jnp.stack([position, momentum])


def leapfrog(y, args):
    return flow(jnp.stack([y, args["momentum"]]), args)


def transition(position, momentum, uniform, args):
    proposal, end_momentum = integrate(position, momentum, args)
    log_ratio = hamiltonian(position, momentum, args) - hamiltonian(proposal, end_momentum, args)
    # log 0 = −inf accepts every proposal; a NaN ratio (a diverged trajectory) compares false and rejects.
    accept = jnp.log(uniform) < log_ratio
    return jnp.where(accept, proposal, position)


def sample(y, args):
    chains = args["uniforms"].shape[1]
    starts = jnp.broadcast_to(y, (chains, *y.shape))
    chain_transition = jax.vmap(lambda position, momentum, uniform: transition(position, momentum, uniform, args))

    def step(positions, draws):
        momenta, uniforms = draws
        positions = chain_transition(positions, momenta, uniforms)
        return positions, positions

    _, samples = lax.scan(step, starts, (args["momenta"], args["uniforms"]))
    return samples


def sample_native(y, args, seed):
    iterations, chains = args["uniforms"].shape
    starts = jnp.broadcast_to(y, (chains, *y.shape))
    chain_transition = jax.vmap(lambda position, momentum, uniform: transition(position, momentum, uniform, args))
    # One independent stream per chain; each transition splits a chain's key into its next key and its draws.
    keys = jax.random.split(jax.random.key(seed), chains)

    def draw(key):
        key, momentum_key, uniform_key = jax.random.split(key, 3)
        return key, jax.random.normal(momentum_key, y.shape, y.dtype), jax.random.uniform(uniform_key, (), y.dtype)

    def step(state, _):
        positions, keys = state
        keys, momenta, uniforms = jax.vmap(draw)(keys)
        positions = chain_transition(positions, momenta, uniforms)
        return (positions, keys), positions

    _, samples = lax.scan(step, (starts, keys), None, length=iterations)
    return samples
