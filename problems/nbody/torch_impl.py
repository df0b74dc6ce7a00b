"""Plummer-softened N-body gravity and its kick-drift-kick leapfrog in PyTorch (`torch_backend.scan` over steps)."""

import torch

from sciad.frameworks.torch_backend import region, scan


def accelerations(q, masses, G, softening):
    # The dense sum includes j = i: its separation is exactly zero and softening > 0 keeps r2 away
    # from zero, so the self term adds zero to the value and finite zeros to every derivative.
    d = q[None, :, :] - q[:, None, :]
    r2 = torch.sum(d * d, dim=-1) + softening**2
    weights = masses[None, :] / (r2 * torch.sqrt(r2))
    return G * torch.einsum("ij,ijk->ik", weights, d)


def energy(y, args):
    q, v = y[0], y[1]
    masses, G, softening = args["masses"], args["G"], args["softening"]
    d = q[None, :, :] - q[:, None, :]
    r2 = torch.sum(d * d, dim=-1) + softening**2
    # Each pair appears twice in the dense matrix; the diagonal (i = j) is masked out.
    pairs = 1 - torch.eye(q.shape[0], dtype=q.dtype, device=q.device)
    kinetic = 0.5 * torch.sum(masses[:, None] * v * v)
    potential = -0.5 * G * torch.sum(pairs * masses[:, None] * masses[None, :] / torch.sqrt(r2))
    return kinetic + potential


@region
def leapfrog_step(q, v, a, masses, G, softening, dt):
    v = v + 0.5 * dt * a
    q = q + dt * v
    # The end-of-step acceleration is carried into the next step: one force evaluation per step.
    a = accelerations(q, masses, G, softening)
    v = v + 0.5 * dt * a
    return q, v, a


def simulate(y, args):
    q, v = y[0], y[1]
    masses, G, softening, dt = args["masses"], args["G"], args["softening"], args["dt"]
    a = accelerations(q, masses, G, softening)

    def step(state, _):
        return leapfrog_step(*state, masses, G, softening, dt), None

    # The loop stays in Python around the compiled step: Inductor refuses the backward of torch's scan
    # operator here ("scan might be aliasing the input or the output": a saved input of
    # the forward, pytorch#185332).
    (q, v, _), _ = scan(step, (q, v, a), length=args["steps"], compiled=False)
    return torch.stack([q, v])


def objective(y, args):
    miss = simulate(y, args)[0] - args["target"]
    return 0.5 * torch.sum(miss * miss)
