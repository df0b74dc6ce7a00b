"""Lotka–Volterra in JAX: diffrax's Tsit5 at a constant step, states saved every `save_every` steps."""

import diffrax
import jax.numpy as jnp


def rates(theta):
    alpha, beta, gamma, delta = theta[0], theta[1], theta[2], theta[3]
    return jnp.stack([alpha, -gamma]), jnp.stack([-beta, delta])


def vector_field(t, u, args):
    # u̇₁ = u₁(α − βu₂), u̇₂ = u₂(δu₁ − γ): a few whole-vector operations instead of many scalar ones.
    intrinsic, interaction = args
    return u * (intrinsic + interaction * jnp.flip(u))


def solve(y, args):
    theta, u0, t1, steps, save_every = y, args["u0"], args["t1"], args["steps"], args["save_every"]
    # diffrax scales the vector field by the step: times in the state's dtype keep float32 in float32.
    t0, t1, dt = jnp.zeros((), u0.dtype), jnp.asarray(t1, u0.dtype), jnp.asarray(t1 / steps, u0.dtype)
    solution = diffrax.diffeqsolve(
        diffrax.ODETerm(vector_field),
        diffrax.Tsit5(),
        t0,
        t1,
        dt,
        u0,
        args=rates(theta),
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
