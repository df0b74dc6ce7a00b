"""Claim 9's sampling probe, torch side: hmc's Metropolis transition with draws from a seeded
`torch.Generator` (outside vmap, which cannot take one) or from the global generator inside
`torch.func.vmap(randomness="different")` (`sciad.sampling` runs it in a fresh process and compares digests).

It lives with the problem because it is the problem's sampler driven with framework RNG calls; the core
(`sciad.sampling`) stays framework-free and finds it through the registry, as it finds `torch_impl`."""

import torch

from sciad.errors import SciadError
from sciad.sampling import BASE, BATCHES, ONE_THREAD, OTHER


def probe(impl, start, args, configs, *, seed: int, chains: int, transitions: int, devices: int):
    """(scheme, perturbation, (samples (K, S, d), momenta (K, S, d), uniforms (K, S)), extra) per config."""

    def transition(position, momentum, uniform):
        return impl.transition(position, momentum, uniform, args)

    step_given = torch.func.vmap(transition)

    def drawing(position):  # under vmap(randomness="different"): each chain's own draws from the global generator
        momentum, uniform = torch.randn_like(position), torch.rand_like(position[0])
        return transition(position, momentum, uniform), momentum, uniform

    step_global = torch.func.vmap(drawing, randomness="different")

    def run(k: int, generator):
        positions, out = start.expand(k, *start.shape), []
        for _ in range(transitions):
            if generator is None:
                positions, momenta, uniforms = step_global(positions)
            else:
                momenta = torch.randn((k, *start.shape), generator=generator, dtype=start.dtype)
                uniforms = torch.rand((k,), generator=generator, dtype=start.dtype)
                positions = step_given(positions, momenta, uniforms)
            out.append((positions, momenta, uniforms))
        return tuple(torch.stack(parts, dim=1) for parts in zip(*out))  # (k, S, d), (k, S, d), (k, S)

    for scheme, perturbation in configs:
        generator = None
        if scheme == "generator":
            generator = torch.Generator().manual_seed(seed)
        else:
            torch.manual_seed(seed)
        if perturbation == OTHER:
            torch.randn(3)  # another component (an initialiser, a dropout mask) draws from the global generator
        if perturbation == BATCHES:
            out = tuple(torch.cat(parts) for parts in zip(run(chains // 2, generator), run(chains // 2, generator)))
        elif perturbation in (BASE, OTHER, ONE_THREAD):
            out = run(chains, generator)
        else:
            raise SciadError(f"no torch probe for perturbation {perturbation!r}")
        yield scheme, perturbation, tuple(a.numpy() for a in out), {"torch_threads": torch.get_num_threads()}
