"""Lotka–Volterra in JAX: diffrax's Tsit5 at a constant step, states saved every `save_every` steps."""

import diffrax
import jax.numpy as jnp


def vector_field(t, u, theta):
    alpha, beta, gamma, delta = theta[0], theta[1], theta[2], theta[3]
    prey, predator = u[0], u[1]
    return jnp.stack([alpha * prey - beta * prey * predator, delta * prey * predator - gamma * predator])


def solve(y, args):
    theta, u0, t1, steps, save_every = y, args["u0"], args["t1"], args["steps"], args["save_every"]
    dt = t1 / steps
    solution = diffrax.diffeqsolve(
        diffrax.ODETerm(vector_field),
        diffrax.Tsit5(),
        0.0,
        t1,
        dt,
        u0,
        args=theta,
        stepsize_controller=diffrax.ConstantStepSize(),
        # steps=n saves the state after every n-th step itself: no dense interpolation, unlike ts=.
        saveat=diffrax.SaveAt(steps=save_every),
        max_steps=steps,
        # The default RecursiveCheckpointAdjoint is a custom_vjp, which jvp/jacfwd cannot enter;
        # DirectAdjoint supports forward and reverse mode through the same solve.
        adjoint=diffrax.DirectAdjoint(),
    )
    return solution.ys


def objective(y, args):
    return jnp.mean((solve(y, args) - args["observations"]) ** 2)
