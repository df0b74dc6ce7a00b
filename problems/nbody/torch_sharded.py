"""N-body across torch.distributed ranks: the particle axis split over the ranks of a process group.

Each rank holds a block of bodies and, every step, gathers all positions
(`torch.distributed.nn.functional.all_gather`, which autograd differentiates: its backward is a
reduce-scatter, an all-to-all on gloo) to compute its rows of the pair matrix — `torch_impl`'s dense
acceleration restricted to those rows. The leapfrog is `torch_impl.simulate`'s, step for step.

Gradient: each rank differentiates only its own rows' part of the loss, L_r = ½ Σ_{i∈r} ‖q_i − target_i‖²;
the all_gathers' backward delivers every other rank's sensitivities to this rank's bodies, so each rank
ends with its block of ∂(Σ_r L_r)/∂y. Differentiating the all-reduced total on every rank instead would
sum N copies of the gradient (the N× trap).
"""

import torch
import torch.distributed as dist
import torch.distributed.nn.functional as dist_nn


def block_accelerations(q_block, q_all, masses, G, softening):
    """Rows `q_block` of the dense acceleration of every body in `q_all` (torch_impl's pair sum)."""
    d = q_all[None, :, :] - q_block[:, None, :]
    r2 = torch.sum(d * d, dim=-1) + softening**2
    weights = masses[None, :] / (r2 * torch.sqrt(r2))
    return G * torch.einsum("ij,ijk->ik", weights, d)


def _block(n: int) -> slice:
    world, rank = dist.get_world_size(), dist.get_rank()
    if n % world:
        raise ValueError(f"{n} bodies cannot be split evenly over {world} ranks; give a multiple of {world}")
    share = n // world
    return slice(rank * share, (rank + 1) * share)


def _gather(block):
    return torch.cat(dist_nn.all_gather(block))


def simulate_block(y_block, args):
    """This rank's block (2, N/world, 3) of the final state."""
    masses, G, softening, dt = args["masses"], args["G"], args["softening"], args["dt"]

    def acceleration(q):
        return block_accelerations(q, _gather(q), masses, G, softening)

    q, v = y_block[0], y_block[1]
    a = acceleration(q)
    for _ in range(args["steps"]):
        v = v + 0.5 * dt * a
        q = q + dt * v
        a = acceleration(q)  # positions gathered every step; this rank's rows of the force
        v = v + 0.5 * dt * a
    return torch.stack([q, v])


def simulate(y, args):
    """`torch_impl.simulate` on every rank, the bodies split over the ranks: the whole final state."""
    block = _block(y.shape[1])
    return torch.cat(dist_nn.all_gather(simulate_block(y[:, block], args)), dim=1).detach()


def value_and_grad(y, args):
    """`torch_impl.objective` and its gradient in y, on every rank (each rank differentiates its own rows)."""
    block = _block(y.shape[1])
    y_block = y[:, block].detach().requires_grad_(True)
    miss = simulate_block(y_block, args)[0] - args["target"][block]
    local = 0.5 * torch.sum(miss * miss)
    (gradient,) = torch.autograd.grad(local, y_block)
    total = local.detach().clone()
    dist.all_reduce(total)
    return total, torch.cat(dist_nn.all_gather(gradient), dim=1)
