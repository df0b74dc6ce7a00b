"""Lennard-Jones forces across torch.distributed ranks: the particle axis split over the ranks.

Each rank holds a block of particles, gathers all positions (`torch.distributed.all_gather`) and computes
its rows of the pair matrix, F_i = −∂/∂y_i Σ_{j≠i} φ(r_ij) with the gathered positions held fixed (the
pair potential and minimum image of `torch_impl`); the blocks are gathered in rank order, so every rank
returns `torch_impl.forces(y, args)`.
"""

import torch
import torch.distributed as dist
import torch.func


def row_energy(y_block, y_all, first: int, args):
    """Σ over the block's particles i and every j ≠ i of φ(r_ij): each pair once per particle of the block."""
    box, eps, sigma = args["box"], args["epsilon"], args["sigma"]
    d = y_block[:, None, :] - y_all[None, :, :]
    d = d - box * torch.round(d / box)
    r2 = torch.sum(d * d, dim=-1)
    rows = first + torch.arange(y_block.shape[0], device=y_block.device)
    inside = (r2 < args["r_cut"] ** 2) & (rows[:, None] != torch.arange(y_all.shape[0], device=y_all.device)[None, :])
    r2 = torch.where(inside, r2, 1.0)  # a safe r² on masked pairs keeps 0·∞ out of the gradient
    s6 = (sigma**2 / r2) ** 3
    c6 = (sigma / args["r_cut"]) ** 6
    phi = 4.0 * eps * (s6 * s6 - s6) - 4.0 * eps * (c6 * c6 - c6)
    return torch.sum(torch.where(inside, phi, 0.0))


def _gather(block):
    parts = [torch.empty_like(block) for _ in range(dist.get_world_size())]
    dist.all_gather(parts, block.contiguous())
    return torch.cat(parts)


def forces(y, args):
    """`torch_impl.forces` on every rank of the process group, the particles split over the ranks."""
    world, rank = dist.get_world_size(), dist.get_rank()
    if y.shape[0] % world:
        raise ValueError(f"{y.shape[0]} particles cannot be split evenly over {world} ranks; give a multiple of {world}")
    share = y.shape[0] // world
    y_block = y[rank * share : (rank + 1) * share]
    y_all = _gather(y_block)  # every rank's block, in rank order: the positions, gathered
    return _gather(-torch.func.grad(row_energy)(y_block, y_all, rank * share, args))
