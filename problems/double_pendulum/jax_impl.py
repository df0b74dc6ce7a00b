"""The double pendulum in JAX: accelerations by autodiff of the Lagrangian, RK4 by the shared stepper under lax.scan."""

import jax
import jax.numpy as jnp

from problems._stepping import RK4
from problems._stepping import jax_rk as rk


def lagrangian(q, q_dot, args):
    # Rods and masses as vectors: under torch's forward mode a Python float times a 0-d float32 tensor
    # gives a float64 tangent (pytorch#90065, #160513), so no 0-d arithmetic; one structure for both.
    lengths = jnp.asarray([args["l1"], args["l2"]], dtype=q.dtype)
    masses = jnp.asarray([args["m1"], args["m2"]], dtype=q.dtype)
    # Cartesian heights and velocities of the masses, left unsimplified: L is all the dynamics knows.
    z = -jnp.cumsum(lengths * jnp.cos(q), axis=0)
    x_dot = jnp.cumsum(lengths * q_dot * jnp.cos(q), axis=0)
    z_dot = jnp.cumsum(lengths * q_dot * jnp.sin(q), axis=0)
    kinetic = 0.5 * jnp.sum(masses * (x_dot**2 + z_dot**2))
    potential = args["g"] * jnp.sum(masses * z)
    return kinetic - potential


def accelerations(y, args):
    q, q_dot = y[:2], y[2:]

    def momentum_and_force(q, q_dot):
        force, momentum = jax.grad(lagrangian, argnums=(0, 1))(q, q_dot, args)
        return momentum, force

    # The q̇ rows of the Hessian of L, ∂²L/∂q̇∂q and ∂²L/∂q̇², with ∂L/∂q carried along. Reverse over
    # reverse, and Cramer's rule below rather than linalg.solve: torch.compile cannot cache a graph
    # holding a forward-mode nesting or linalg.solve's error check (its backward calls linalg.solve), and
    # recompiling this third-order graph is costly for every RK4 step. JAX does the same maths.
    (mixed, mass), force = jax.jacrev(momentum_and_force, argnums=(0, 1), has_aux=True)(q, q_dot)
    # Euler–Lagrange: (∂²L/∂q̇²) q̈ = ∂L/∂q − (∂²L/∂q̇∂q) q̇; the mass matrix is positive definite.
    rhs = force - mixed @ q_dot
    determinant = mass[0, 0] * mass[1, 1] - mass[0, 1] * mass[1, 0]
    return jnp.stack([mass[1, 1] * rhs[0] - mass[0, 1] * rhs[1], mass[0, 0] * rhs[1] - mass[1, 0] * rhs[0]]) / determinant


def vector_field(y, args):
    return jnp.concatenate([y[2:], accelerations(y, args)])


def increment(t, y, args):
    return args["dt"] * vector_field(y, args)


def simulate(y, args):
    # The four stages in a lax.scan: one copy of the third-order field in the compiled program instead of
    # four, which halves XLA's compile time.
    scheme = rk.scheme(RK4, y, scan_stages=True)
    return rk.integrate(increment, y, args["dt"], args["steps"], args, scheme)


def objective(y, args):
    lengths = jnp.asarray([args["l1"], args["l2"]], dtype=y.dtype)
    # The upright point (0, l1 + l2) as a vector: no 0-d arithmetic with Python floats (see lagrangian).
    upright = jnp.asarray([0.0, args["l1"] + args["l2"]], dtype=y.dtype)
    end = simulate(y, args)
    tip = jnp.stack([jnp.sum(lengths * jnp.sin(end[:2])), -jnp.sum(lengths * jnp.cos(end[:2]))])
    miss = tip - upright
    return jnp.sum(0.5 * miss * miss)
