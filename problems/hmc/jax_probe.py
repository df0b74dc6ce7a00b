"""Claim 9's sampling probe, JAX side: hmc's Metropolis transition with draws from explicit keys, one key per
chain, under jit and vmap (`sciad.sampling` runs it in a fresh process and compares digests).

It lives with the problem because it is the problem's sampler driven with framework RNG calls; the core
(`sciad.sampling`) stays framework-free and finds it through the registry, as it finds `jax_impl`."""

import jax
import jax.numpy as jnp
import numpy as np

from sciad.errors import SciadError
from sciad.sampling import BASE, BATCHES, ONE_THREAD, OTHER, SHARDED


def probe(impl, start, args, configs, *, seed: int, chains: int, transitions: int, devices: int):
    """(scheme, perturbation, (samples (K, S, d), momenta (K, S, d), uniforms (K, S)), extra) per config."""

    def chain(key):
        def step(carry, _):
            position, key = carry
            key, momentum_key, uniform_key = jax.random.split(key, 3)
            momentum = jax.random.normal(momentum_key, start.shape, start.dtype)
            uniform = jax.random.uniform(uniform_key, (), start.dtype)
            position = impl.transition(position, momentum, uniform, args)
            return (position, key), (position, momentum, uniform)

        return jax.lax.scan(step, (start, key), None, length=transitions)[1]

    sample = jax.jit(jax.vmap(chain))  # samples, momenta, uniforms of K chains from K keys

    def keys():
        return jax.random.split(jax.random.key(seed), chains)

    for scheme, perturbation in configs:
        extra = {"jax_threefry_partitionable": bool(jax.config.jax_threefry_partitionable)}
        if perturbation in (BASE, ONE_THREAD):
            out = sample(keys())
        elif perturbation == OTHER:
            jax.random.normal(jax.random.key(seed + 1), (3,)).block_until_ready()  # another component, its own key
            out = sample(keys())
        elif perturbation == BATCHES:
            k = keys()
            halves = sample(k[: chains // 2]), sample(k[chains // 2 :])
            out = tuple(jnp.concatenate(parts) for parts in zip(*halves))
        elif perturbation == SHARDED:
            cpus = jax.devices("cpu")
            if len(cpus) < devices:
                raise SciadError(f"{devices} host devices were asked for, JAX sees {len(cpus)}")
            mesh = jax.sharding.Mesh(np.array(cpus[:devices]), ("chains",))
            sharded = jax.device_put(keys(), jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec("chains")))
            out = sample(sharded)
            extra["output_devices"] = len(out[0].sharding.device_set)
        else:
            raise SciadError(f"no JAX probe for perturbation {perturbation!r}")
        yield scheme, perturbation, tuple(np.asarray(a) for a in out), extra
