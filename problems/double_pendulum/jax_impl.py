"""The double pendulum in JAX: accelerations by autodiff of the Lagrangian, RK4 by lax.scan."""

import jax
import jax.numpy as jnp
from jax import lax


def lagrangian(q, q_dot, args):
    m1, m2, l1, l2, g = (args[key] for key in ("m1", "m2", "l1", "l2", "g"))
    theta1, theta2, omega1, omega2 = q[0], q[1], q_dot[0], q_dot[1]
    # Cartesian positions and velocities of the masses, left unsimplified: L is all the dynamics knows.
    z1 = -l1 * jnp.cos(theta1)
    z2 = z1 - l2 * jnp.cos(theta2)
    x1_dot = l1 * omega1 * jnp.cos(theta1)
    z1_dot = l1 * omega1 * jnp.sin(theta1)
    x2_dot = x1_dot + l2 * omega2 * jnp.cos(theta2)
    z2_dot = z1_dot + l2 * omega2 * jnp.sin(theta2)
    kinetic = 0.5 * m1 * (x1_dot**2 + z1_dot**2) + 0.5 * m2 * (x2_dot**2 + z2_dot**2)
    potential = g * (m1 * z1 + m2 * z2)
    return kinetic - potential


def accelerations(y, args):
    q, q_dot = y[:2], y[2:]
    # Euler–Lagrange: (∂²L/∂q̇²) q̈ = ∂L/∂q − (∂²L/∂q̇∂q) q̇.
    force = jax.grad(lagrangian, argnums=0)(q, q_dot, args)
    mass = jax.hessian(lagrangian, argnums=1)(q, q_dot, args)
    mixed = jax.jacfwd(jax.grad(lagrangian, argnums=1), argnums=0)(q, q_dot, args)
    return jnp.linalg.solve(mass, force - mixed @ q_dot)


def vector_field(y, args):
    return jnp.concatenate([y[2:], accelerations(y, args)])


def simulate(y, args):
    dt = args["dt"]

    def step(y, _):
        k1 = vector_field(y, args)
        k2 = vector_field(y + 0.5 * dt * k1, args)
        k3 = vector_field(y + 0.5 * dt * k2, args)
        k4 = vector_field(y + dt * k3, args)
        return y + dt / 6 * (k1 + 2 * k2 + 2 * k3 + k4), None

    y, _ = lax.scan(step, y, None, length=args["steps"])
    return y


def objective(y, args):
    l1, l2 = args["l1"], args["l2"]
    end = simulate(y, args)
    x2 = l1 * jnp.sin(end[0]) + l2 * jnp.sin(end[1])
    z2 = -l1 * jnp.cos(end[0]) - l2 * jnp.cos(end[1])
    return 0.5 * (x2**2 + (z2 - l1 - l2) ** 2)
