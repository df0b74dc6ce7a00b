"""Plummer-softened N-body gravity and its kick-drift-kick leapfrog in JAX (lax.scan over steps)."""

import jax.numpy as jnp
from jax import lax


def accelerations(q, masses, G, softening):
    # The dense sum includes j = i: its separation is exactly zero and softening > 0 keeps r2 away
    # from zero, so the self term adds zero to the value and finite zeros to every derivative.
    d = q[None, :, :] - q[:, None, :]
    r2 = jnp.sum(d * d, axis=-1) + softening**2
    weights = masses[None, :] / (r2 * jnp.sqrt(r2))
    return G * jnp.einsum("ij,ijk->ik", weights, d)


def energy(y, args):
    q, v = y[0], y[1]
    masses, G, softening = args["masses"], args["G"], args["softening"]
    d = q[None, :, :] - q[:, None, :]
    r2 = jnp.sum(d * d, axis=-1) + softening**2
    # Each pair appears twice in the dense matrix; the diagonal (i = j) is masked out.
    pairs = 1 - jnp.eye(q.shape[0], dtype=q.dtype)
    kinetic = 0.5 * jnp.sum(masses[:, None] * v * v)
    potential = -0.5 * G * jnp.sum(pairs * masses[:, None] * masses[None, :] / jnp.sqrt(r2))
    return kinetic + potential


def simulate(y, args):
    q, v = y[0], y[1]
    masses, G, softening, dt = args["masses"], args["G"], args["softening"], args["dt"]

    def step(carry, _):
        q, v, a = carry
        v = v + 0.5 * dt * a
        q = q + dt * v
        # The end-of-step acceleration is carried into the next step: one force evaluation per step.
        a = accelerations(q, masses, G, softening)
        v = v + 0.5 * dt * a
        return (q, v, a), None

    a = accelerations(q, masses, G, softening)
    (q, v, _), _ = lax.scan(step, (q, v, a), None, length=args["steps"])
    return jnp.stack([q, v])


def objective(y, args):
    miss = simulate(y, args)[0] - args["target"]
    return 0.5 * jnp.sum(miss * miss)
