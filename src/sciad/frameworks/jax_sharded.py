"""Sharded transforms in JAX: a one-axis mesh (`jax.make_mesh`), inputs placed with `NamedSharding`, and the
transform run per device under `jax.shard_map`, as `sciad.sharding`'s records say.

Inside `shard_map` with its default `check_vma=True`, JAX tracks which values vary across devices, and
the derivative of a device-varying value in a device-invariant (replicated) input is summed over the
devices, by the transpose of the implicit broadcast. The two combinations use that differently:

- MEAN (grad, value_and_grad, value of a data mean), `check_vma=True`: the record's transform of the
  devices' averaged objective, `pmean(objective over my rows)`. Its gradient in the replicated y is the
  mean of the devices' gradients with no further collective; a `pmean` or `psum` after `grad` (DDP's
  habit) would give N×.
- GATHER (vmap, per_sample_grad), `check_vma=False`: each device's own computation, with no collective
  inside. Under `check_vma=True` every derivative in a replicated input taken inside it would be summed
  over the devices: per_sample_grad's row gradients in the replicated y, and also pinn_poisson's Laplacian
  in its replicated collocation points (measured: relative error 1.0, silently); and solvers whose loop
  carry starts from a constant (diffrax, lax.scan, lax.cond) are refused for mixing invariant and varying
  types. Without the tracking, each device differentiates its own block and nothing is summed.
"""

from __future__ import annotations

import functools

import jax
import numpy as np
from jax.sharding import AxisType, NamedSharding
from jax.sharding import PartitionSpec as P

from ..errors import SciadError
from ..trees import tree_map

AXIS = "data"  # sciad.sharding.AXIS (this module imports nothing of sciad's core but names, errors and trees)
_SCALARS = (bool, int, float)


@functools.cache
def mesh(devices: int) -> jax.sharding.Mesh:
    """A one-axis mesh over the first `devices` devices JAX sees."""
    available = jax.devices()
    if devices > len(available):
        platform = available[0].platform
        hint = (
            f"; on a CPU, set XLA_FLAGS=--xla_force_host_platform_device_count={devices} before JAX is imported"
            if platform == "cpu"
            else ""
        )
        raise SciadError(f"devices={devices} was asked for, but JAX sees {len(available)} {platform} device(s){hint}")
    # Auto axes: results are ordinary global arrays to the code that reads them (Explicit axes would make
    # plain indexing of a sharded result ask for an out_sharding).
    return jax.make_mesh((devices,), (AXIS,), axis_types=(AxisType.Auto,), devices=available[:devices])


def _mean_local(plan, fw, fn):
    """Per device: the record's transform of the devices' mean objective (its gradient is summed by shard_map)."""
    return plan.record.build(fw, lambda y, args: jax.lax.pmean(fn(y, args), AXIS), plan.spec)


def _gather_local(plan, fw, fn):
    """Per device: the record's transform of its own block."""
    return plan.record.build(fw, fn, plan.spec)


LOCAL = {"mean": _mean_local, "gather": _gather_local}
OUT_SPECS = {"mean": P(), "gather": P(AXIS)}
CHECK_VMA = {"mean": True, "gather": False}


def place(value, sharding: NamedSharding) -> jax.Array:
    """`value` (the same global array on every process) laid out as `sharding` says. In one process,
    `device_put`; across processes (`jax.distributed`), each process builds the shards its own devices hold
    from its host copy (`make_array_from_callback`), since one process cannot put data on another's devices."""
    if jax.process_count() == 1:
        return jax.device_put(value, sharding)
    host = np.asarray(value)
    return jax.make_array_from_callback(host.shape, sharding, lambda index: host[index])


def shard(plan, fw, fn, mode, local=None):
    """The sharded transform of `plan` (a `sciad.sharding.Plan`), compiled as `mode` says (jit wraps the
    whole shard_map). `local(plan, fw, fn)` replaces the per-device function (tests plant the N× trap)."""
    the_mesh = mesh(plan.devices)
    per_device = (local or LOCAL[plan.sharding.combine])(plan, fw, fn)
    y_spec = P(AXIS) if plan.sharding.split == "batch" else P()

    def run(y, args):
        # Python scalars (step counts, constants) stay static: closed over, not passed through shard_map.
        static = {key: value for key, value in args.items() if isinstance(value, _SCALARS)}
        arrays = {key: value for key, value in args.items() if key not in static}
        specs = {key: (P(AXIS) if key in plan.split_keys else P()) for key in arrays}
        on_devices = jax.shard_map(
            lambda y_, arrays_: per_device(y_, {**arrays_, **static}),
            mesh=the_mesh,
            in_specs=(y_spec, specs),
            out_specs=OUT_SPECS[plan.sharding.combine],
            check_vma=CHECK_VMA[plan.sharding.combine],
        )
        return on_devices(y, arrays)

    compiled = fw.compile(run, mode)

    def call(y, args):
        plan.check(y, args)
        y = tree_map(lambda leaf: place(leaf, NamedSharding(the_mesh, y_spec)), y)
        args = {
            key: value
            if isinstance(value, _SCALARS)
            else place(value, NamedSharding(the_mesh, P(AXIS) if key in plan.split_keys else P()))
            for key, value in args.items()
        }
        return compiled(y, args)

    return call
