"""Sharded transforms in torch: one process per rank in a `torch.distributed` process group (gloo on the
CPU), as `sciad.sharding`'s records say.

A sharded transform is called on every rank with the same global inputs: the rank takes its block of the
split axis (`Plan.local_inputs`), runs the ordinary transform on it (torch.func, in the chosen mode), and
assembles the whole result with the group's collectives, so that every rank returns what one device would:

- GATHER (vmap, per_sample_grad): `all_gather` of each rank's block, concatenated in rank order;
- MEAN (grad, value_and_grad, value of a data mean): `all_reduce(SUM)` divided by the world size — DDP's
  rule (gloo has no AVG). Each rank's gradient is of its own rows' objective; averaging once is the whole
  reduction, and a second all-reduce of the averaged gradient would give N×.

The process group comes from the launcher: `torchrun` (then `torch.distributed.init_process_group("gloo")`
reads its environment), or `spawn` below, which starts the ranks with the spawn method (never fork: a
forked child of a process that imported JAX or started threads can deadlock).
"""

from __future__ import annotations

import datetime
import os
import pickle
import tempfile

import torch
import torch.distributed as dist
import torch.multiprocessing

from ..errors import SciadError
from ..trees import tree_map


def group_size(devices: int) -> int:
    """The world size, after checking that this process is a rank of a group of `devices` ranks."""
    if not (dist.is_available() and dist.is_initialized()):
        raise SciadError(
            f"a torch transform on devices={devices} runs on every rank of an initialised process group; "
            "launch it with torchrun (and call torch.distributed.init_process_group) or with sciad.sharding.spawn"
        )
    world = dist.get_world_size()
    if world != devices:
        raise SciadError(f"devices={devices} was asked for, but the process group has {world} ranks")
    return world


def all_gather(tree, world: int):
    def leaf(t):
        parts = [torch.empty_like(t) for _ in range(world)]
        dist.all_gather(parts, t.contiguous())
        return torch.cat(parts)

    return tree_map(leaf, tree)


def all_reduce_mean(tree, world: int):
    def leaf(t):
        total = t.detach().clone()
        dist.all_reduce(total, op=dist.ReduceOp.SUM)
        return total / world

    return tree_map(leaf, tree)


COMBINE = {"gather": all_gather, "mean": all_reduce_mean}


def rank0_decides(flag: bool) -> bool:
    """Rank 0's `flag` on every rank (a broadcast): ranks that loop over collectives stop together."""
    decided = torch.tensor([int(flag)])
    dist.broadcast(decided, src=0)
    return bool(decided.item())


def shard(plan, fw, fn, mode, combine=None):
    """The sharded transform of `plan` (a `sciad.sharding.Plan`). `combine(out, world)` replaces the
    assembly of the ranks' results (tests plant the N× trap with it)."""
    group_size(plan.devices)
    local = fw.compile(plan.record.build(fw, fn, plan.spec), mode)
    assemble = combine or COMBINE[plan.sharding.combine]

    def call(y, args):
        world = group_size(plan.devices)
        y_local, args_local = plan.local_inputs(y, args, dist.get_rank())
        return assemble(local(y_local, args_local), world)

    return call


# ---------------------------------------------------------------------------------------------


def _rank(rank: int, world: int, rendezvous: str, results: str, threads: int, timeout: float, target, args, kwargs):
    torch.set_num_threads(threads)
    dist.init_process_group(
        "gloo", init_method=f"file://{rendezvous}", rank=rank, world_size=world, timeout=datetime.timedelta(seconds=timeout)
    )
    try:
        out = target(*args, **kwargs)
        dist.barrier()
    finally:
        dist.destroy_process_group()
    if rank == 0:
        with open(results, "wb") as f:
            pickle.dump(out, f)


def spawn(target, ranks: int, *args, timeout: float = 300.0, **kwargs):
    """`target(*args, **kwargs)` on `ranks` spawned processes, each a rank of one gloo process group (a file
    rendezvous: no port to pick); rank 0's return value. Each rank gets an equal share of the CPU threads."""
    if isinstance(ranks, bool) or not isinstance(ranks, int) or ranks < 1:
        raise SciadError(f"ranks={ranks!r} is not accepted; a positive integer is")
    threads = max(1, len(os.sched_getaffinity(0)) // ranks)  # this process's cores (a bench worker is pinned)
    with tempfile.TemporaryDirectory() as tmp:
        rendezvous, results = os.path.join(tmp, "rendezvous"), os.path.join(tmp, "rank0.pkl")
        torch.multiprocessing.start_processes(
            _rank,
            args=(ranks, rendezvous, results, threads, timeout, target, args, kwargs),
            nprocs=ranks,
            start_method="spawn",
        )
        with open(results, "rb") as f:
            return pickle.load(f)
