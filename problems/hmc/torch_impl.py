"""HMC on the logistic-regression posterior in PyTorch: a Python loop over transitions of a torch.func.vmap over chains."""

import torch
import torch.func

from problems.logistic_regression import torch_impl as likelihood
from sciad.frameworks.torch_backend import constant, region, scan


def objective(y, args):
    w, prior_scale = y, args["prior_scale"]
    # per_sample_loss on all rows is the vector of softplus(z_i) − t_i z_i.
    losses = likelihood.per_sample_loss(w, {"X": args["X"], "labels": args["labels"]})
    return -torch.sum(losses) - torch.sum(w * w * (0.5 / prior_scale**2))


def hamiltonian(position, momentum, args):
    return torch.sum(momentum * momentum * 0.5) - objective(position, args)


def integrate(position, momentum, args):
    step_size, steps = args["step_size"], args["leapfrog_steps"]
    # Kick-drift-kick with the half kicks of consecutive steps merged: the last kick is a half kick.
    kicks = constant([1.0] * (steps - 1) + [0.5], position)

    def step(state, kick):
        position, momentum = state
        position = position + step_size * momentum
        momentum = momentum + step_size * kick * torch.func.grad(objective)(position, args)
        return (position, momentum), None

    momentum = momentum + (0.5 * step_size) * torch.func.grad(objective)(position, args)
    (position, momentum), _ = scan(step, (position, momentum), kicks)
    return position, momentum


def flow(z, args):
    position, momentum = integrate(z[0], z[1], args)
    return torch.stack([position, momentum])


def leapfrog(y, args):
    return flow(torch.stack([y, args["momentum"]]), args)


def transition(position, momentum, uniform, args):
    proposal, end_momentum = integrate(position, momentum, args)
    log_ratio = hamiltonian(position, momentum, args) - hamiltonian(proposal, end_momentum, args)
    # log 0 = −inf accepts every proposal; a NaN ratio (a diverged trajectory) compares false and rejects.
    accept = torch.log(uniform) < log_ratio
    return torch.where(accept, proposal, position)


@region
def chain_transitions(positions, momenta, uniforms, args):
    """Every chain's transition, vmapped: the compile region (a torch.func transform refuses a compiled
    function inside it, so the region holds the vmap rather than one chain's transition)."""
    return torch.func.vmap(lambda p, m, u: transition(p, m, u, args))(positions, momenta, uniforms)


def sample(y, args):
    chains = args["uniforms"].shape[1]
    positions, samples = y.expand(chains, *y.shape), []
    for momenta, uniforms in zip(args["momenta"], args["uniforms"]):
        positions = chain_transitions(positions, momenta, uniforms, args)
        samples.append(positions)
    return torch.stack(samples)


def sample_native(y, args, seed):
    iterations, chains = args["uniforms"].shape
    starts = y.expand(chains, *y.shape)
    chain_transition = torch.func.vmap(lambda position, momentum, uniform: transition(position, momentum, uniform, args))
    # One generator for all chains (torch.func.vmap cannot take a generator): each transition draws every
    # chain's variates at once, iid as JAX's per-chain streams are, though not the same numbers.
    generator = torch.Generator(y.device).manual_seed(int(seed))

    def draw():
        momenta = torch.randn((chains, *y.shape), generator=generator, dtype=y.dtype, device=y.device)
        uniforms = torch.rand((chains,), generator=generator, dtype=y.dtype, device=y.device)
        return momenta, uniforms

    def step(positions, _):
        momenta, uniforms = draw()
        positions = chain_transition(positions, momenta, uniforms)
        return positions, positions

    positions, samples = starts, []
    for _ in range(iterations):
        positions, saved = step(positions, None)
        samples.append(saved)
    return torch.stack(samples)
