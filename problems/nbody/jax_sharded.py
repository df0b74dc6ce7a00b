"""N-body over a device mesh in JAX: the particle axis split over the devices (`jax.shard_map`).

Each device holds a block of bodies (rows of q and v) and, every step, gathers all positions
(`lax.all_gather`) to compute its rows of the pair matrix: a_i = G Σ_j m_j (q_j − q_i) / (‖q_j − q_i‖² + s²)^{3/2}
for i in its block and every j — `jax_impl.accelerations` restricted to those rows, the same sum in the
same order over j. The leapfrog is `jax_impl.simulate`'s, step for step. Differentiating through it
transposes each all_gather into a reduce-scatter (`psum_scatter`): every device's rows receive the
sensitivities that all devices' forces have to them.
"""

import jax
import jax.numpy as jnp
from jax import lax
from jax.sharding import NamedSharding
from jax.sharding import PartitionSpec as P

from sciad.frameworks.jax_sharded import AXIS, mesh


def block_accelerations(q_block, q_all, masses, G, softening):
    """Rows `q_block` of `jax_impl.accelerations(q_all, ...)`: the block's bodies pulled by every body."""
    d = q_all[None, :, :] - q_block[:, None, :]
    r2 = jnp.sum(d * d, axis=-1) + softening**2
    weights = masses[None, :] / (r2 * jnp.sqrt(r2))
    return G * jnp.einsum("ij,ijk->ik", weights, d)


def layout(y, args, devices: int):
    """`(y, args)` placed on the mesh (`NamedSharding`): the bodies split, every other array on every device.
    Place the inputs so before calling the functions below (under `jax.jit` as well)."""
    the_mesh = mesh(devices)
    y = jax.device_put(y, NamedSharding(the_mesh, P(None, AXIS)))
    replicated = NamedSharding(the_mesh, P())
    return y, {
        key: value if isinstance(value, (int, float)) else jax.device_put(value, replicated) for key, value in args.items()
    }


def simulate(y, args, devices: int):
    """`jax_impl.simulate` with the bodies split over `devices` devices: the final state (2, N, 3)."""
    G, softening, dt, steps = args["G"], args["softening"], args["dt"], args["steps"]

    def local(y_block, masses):
        def acceleration(q):
            return block_accelerations(q, lax.all_gather(q, AXIS, tiled=True), masses, G, softening)

        def step(carry, _):
            q, v, a = carry
            v = v + 0.5 * dt * a
            q = q + dt * v
            a = acceleration(q)  # positions gathered every step; this block's rows of the force
            v = v + 0.5 * dt * a
            return (q, v, a), None

        q, v = y_block[0], y_block[1]
        (q, v, _), _ = lax.scan(step, (q, v, acceleration(q)), None, length=steps)
        return jnp.stack([q, v])

    on_devices = jax.shard_map(local, mesh=mesh(devices), in_specs=(P(None, AXIS), P()), out_specs=P(None, AXIS))
    return on_devices(y, args["masses"])


def objective(y, args, devices: int):
    """`jax_impl.objective` on the sharded simulation."""
    miss = simulate(y, args, devices)[0] - args["target"]
    return 0.5 * jnp.sum(miss * miss)
