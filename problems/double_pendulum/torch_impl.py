"""The double pendulum in PyTorch: accelerations by torch.func of the Lagrangian, RK4 by the shared stepper in a Python loop."""

import torch
import torch.func

from problems._stepping import RK4
from problems._stepping import torch_rk as rk
from sciad.frameworks.torch_backend import constant, region


def lagrangian(q, q_dot, args):
    # Rods and masses as vectors: under torch's forward mode a Python float times a 0-d float32 tensor
    # gives a float64 tangent (pytorch#90065, #160513), so no 0-d arithmetic; one structure for both.
    lengths = constant([args["l1"], args["l2"]], q)
    masses = constant([args["m1"], args["m2"]], q)
    # Cartesian heights and velocities of the masses, left unsimplified: L is all the dynamics knows.
    z = -torch.cumsum(lengths * torch.cos(q), dim=0)
    x_dot = torch.cumsum(lengths * q_dot * torch.cos(q), dim=0)
    z_dot = torch.cumsum(lengths * q_dot * torch.sin(q), dim=0)
    kinetic = 0.5 * torch.sum(masses * (x_dot**2 + z_dot**2))
    potential = args["g"] * torch.sum(masses * z)
    return kinetic - potential


def accelerations(y, args):
    q, q_dot = y[:2], y[2:]

    def momentum_and_force(q, q_dot):
        force, momentum = torch.func.grad(lagrangian, argnums=(0, 1))(q, q_dot, args)
        return momentum, force

    # The q̇ rows of the Hessian of L, ∂²L/∂q̇∂q and ∂²L/∂q̇², with ∂L/∂q carried along. Reverse over
    # reverse, and Cramer's rule below rather than linalg.solve: torch.compile cannot cache a graph
    # holding a forward-mode nesting or linalg.solve's error check (its backward calls linalg.solve), and
    # recompiling this third-order graph is costly for every RK4 step. JAX does the same maths.
    (mixed, mass), force = torch.func.jacrev(momentum_and_force, argnums=(0, 1), has_aux=True)(q, q_dot)
    # Euler–Lagrange: (∂²L/∂q̇²) q̈ = ∂L/∂q − (∂²L/∂q̇∂q) q̇; the mass matrix is positive definite.
    rhs = force - mixed @ q_dot
    determinant = mass[0, 0] * mass[1, 1] - mass[0, 1] * mass[1, 0]
    return torch.stack([mass[1, 1] * rhs[0] - mass[0, 1] * rhs[1], mass[0, 0] * rhs[1] - mass[1, 0] * rhs[0]]) / determinant


def vector_field(y, args):
    return torch.concatenate([y[2:], accelerations(y, args)])


@region
def increment(t, y, args):
    return args["dt"] * vector_field(y, args)


def simulate(y, args):
    scheme = rk.scheme(RK4, y)
    # The region is the field, third order in L: compiled once, where a compiled RK4 step would hold four copies.
    return rk.integrate(increment, y, args["dt"], args["steps"], args, scheme, compile_loop=False)


def objective(y, args):
    lengths = constant([args["l1"], args["l2"]], y)
    # The upright point (0, l1 + l2) as a vector: no 0-d arithmetic with Python floats (see lagrangian).
    upright = constant([0.0, args["l1"] + args["l2"]], y)
    end = simulate(y, args)
    tip = torch.stack([torch.sum(lengths * torch.sin(end[:2])), -torch.sum(lengths * torch.cos(end[:2]))])
    miss = tip - upright
    return torch.sum(0.5 * miss * miss)
