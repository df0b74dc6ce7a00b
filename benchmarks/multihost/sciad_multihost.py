"""One sharded sciad transform across processes, started by the frameworks' own launchers.

JAX: one process per host (or per GPU), each calling `jax.distributed.initialize`; the mesh spans every
process's devices (`jax.devices()`), and the result is gathered to every process
(`jax.experimental.multihost_utils.process_allgather`).

    python sciad_multihost.py jax --coordinator HOST:PORT --num-processes P --process-id I [options]
    python sciad_multihost.py jax [options]            # under SLURM (srun): initialize() reads SLURM_* itself

torch: every rank started by `torchrun`, which sets RANK, WORLD_SIZE, MASTER_ADDR and MASTER_PORT;
`torch.distributed.init_process_group` reads them.

    torchrun --nnodes N --nproc-per-node G --rdzv-backend c10d --rdzv-endpoint HOST:PORT sciad_multihost.py torch [options]

Every process computes the same global inputs (seeded), its shard, and the whole result (as
`sciad.sharding` says); process 0 writes the canonical output to --out (an .npz), with the one-device result
beside it when --one-device is given, and prints their largest error.
"""

from __future__ import annotations

import argparse
import os
import sys

import numpy as np


def _jax(options):
    import jax

    if options.coordinator:
        jax.distributed.initialize(
            coordinator_address=options.coordinator, num_processes=options.num_processes, process_id=options.process_id
        )
    else:
        jax.distributed.initialize()  # auto-detected on SLURM (and other clusters JAX knows)
    from jax.experimental import multihost_utils

    from sciad import frameworks

    frameworks.load("jax")  # sciad's JAX settings (float64 enabled) before any array is made

    devices, rank = jax.device_count(), jax.process_index()

    def gather(out):
        return jax.tree.map(lambda leaf: np.asarray(multihost_utils.process_allgather(leaf, tiled=True)), out)

    def finish():
        jax.distributed.shutdown()

    def local(tree):
        # On this process's own default device: `sciad.convert` places on jax.devices()[0], which is process
        # 0's device in a multi-process job. The sharded transform lays the global value out from here.
        import jax.numpy as jnp

        from sciad.trees import tree_map

        return tree_map(lambda leaf: leaf if isinstance(leaf, (bool, int, float)) else jnp.asarray(leaf), tree)

    return devices, rank, gather, finish, local


def _torch(options):
    import torch
    import torch.distributed as dist

    gpu = torch.cuda.is_available()
    options.device = options.device or ("cuda" if gpu else "cpu")
    if options.device == "cuda":
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", 0)))  # torchrun's rank on this host: its GPU
    dist.init_process_group(
        options.backend or ("nccl" if gpu else "gloo")
    )  # torchrun's environment: RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT

    def finish():
        dist.barrier()
        dist.destroy_process_group()

    def local(tree):
        import sciad

        return sciad.convert(tree, "torch", device=options.device)

    return dist.get_world_size(), dist.get_rank(), lambda out: out, finish, local


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("framework", choices=("jax", "torch"))
    parser.add_argument("--problem", default="logistic_regression")
    parser.add_argument("--transform", action="append", help="repeatable (default: grad)")
    parser.add_argument("--dtype", default="float64")
    parser.add_argument(
        "--device", help="torch: cpu or cuda (default cuda where there is one; rank r on a host takes GPU LOCAL_RANK)"
    )
    parser.add_argument("--coordinator", help="JAX: HOST:PORT of process 0's coordinator (omit under SLURM)")
    parser.add_argument("--num-processes", type=int, help="JAX: the number of processes in the job")
    parser.add_argument("--process-id", type=int, help="JAX: this process's index, 0 to num-processes − 1")
    parser.add_argument("--backend", help="torch: gloo or nccl (default nccl where there is a GPU, else gloo)")
    parser.add_argument("--one-device", action="store_true", help="also compute each transform on one device (process 0)")
    parser.add_argument("--out", help="process 0 writes the canonical outputs here (.npz)")
    options = parser.parse_args(argv)

    import sciad
    from sciad import checks, registry, sharding, transforms
    from sciad.trees import cast

    devices, rank, gather, finish, local = (_jax if options.framework == "jax" else _torch)(options)
    spec = registry.get(options.problem)
    saved, worst = {}, 0.0
    for transform in options.transform or ["grad"]:
        y, args = sharding.inputs(spec, transform, options.dtype, devices)
        yf, af = local((y, args))
        many = sharding.build(spec, transform, options.framework, None, devices)
        y64, a64 = cast((y, args), "float64")
        sharded = transforms.canonical(spec, transform, sciad.to_numpy(gather(many(yf, af))), y64, a64)
        saved.update({f"{transform}/sharded/{k}": v for k, v in sharded.items()})
        if options.one_device and rank == 0:
            one = transforms.canonical(
                spec, transform, sciad.to_numpy(transforms.build(spec, transform, options.framework)(yf, af)), y64, a64
            )
            saved.update({f"{transform}/one/{k}": v for k, v in one.items()})
            err = checks.error(one, sharded)
            worst = max(worst, err)
            print(f"{options.framework} {spec.name} {transform}: {devices} devices against one, error {err:.3g}", flush=True)
    finish()
    if rank == 0 and options.out:
        np.savez(options.out, devices=devices, **saved)
    return 0


if __name__ == "__main__":
    sys.exit(main())
