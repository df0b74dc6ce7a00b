"""Lennard-Jones forces over a device mesh in JAX: the particle axis split over the devices (`jax.shard_map`).

Each device holds a block of particles, gathers all positions (`lax.all_gather`) and computes its rows of
the pair matrix: F_i = −∂/∂y_i Σ_{j≠i} φ(r_ij) for i in its block, with the gathered positions held fixed —
the same truncated-shifted pair potential and minimum image as `jax_impl`, whose `forces` (−∇ of the energy
summed over i < j) it equals row by row, each pair's force now computed by each of its two particles'
devices.
"""

import jax
import jax.numpy as jnp
from jax import lax
from jax.sharding import NamedSharding
from jax.sharding import PartitionSpec as P

from sciad.frameworks.jax_sharded import AXIS, mesh


def row_energy(y_block, y_all, first: int, args):
    """Σ over the block's particles i and every j ≠ i of φ(r_ij): each pair once per particle of the block."""
    box, eps, sigma = args["box"], args["epsilon"], args["sigma"]
    d = y_block[:, None, :] - y_all[None, :, :]
    d = d - box * jnp.round(d / box)
    r2 = jnp.sum(d * d, axis=-1)
    rows = first + jnp.arange(y_block.shape[0])
    inside = (r2 < args["r_cut"] ** 2) & (rows[:, None] != jnp.arange(y_all.shape[0])[None, :])
    r2 = jnp.where(inside, r2, 1.0)  # a safe r² on masked pairs keeps 0·∞ out of the gradient
    s6 = (sigma**2 / r2) ** 3
    c6 = (sigma / args["r_cut"]) ** 6
    phi = 4.0 * eps * (s6 * s6 - s6) - 4.0 * eps * (c6 * c6 - c6)
    return jnp.sum(jnp.where(inside, phi, 0.0))


def forces(y, args, devices: int):
    """`jax_impl.forces` with the particles split over `devices` devices: (n, 3)."""

    def local(y_block):
        y_all = lax.all_gather(y_block, AXIS, tiled=True)
        first = lax.axis_index(AXIS) * y_block.shape[0]
        return -jax.grad(row_energy)(y_block, y_all, first, args)  # y_all held fixed: this block's rows only

    return jax.shard_map(local, mesh=mesh(devices), in_specs=P(AXIS), out_specs=P(AXIS))(y)


def layout(y, devices: int):
    """y placed on the mesh (`NamedSharding`), the particles split: before calling `forces` (under jit too)."""
    return jax.device_put(y, NamedSharding(mesh(devices), P(AXIS)))
