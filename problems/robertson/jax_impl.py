"""Robertson's kinetics in JAX: fixed-step Radau IIA, steps and Newton iterations in lax.scan; adaptive diffrax Kvaerno5."""

import diffrax
import jax.numpy as jnp
from jax import lax

from . import LINEAR, QUADRATIC, RADAU_A, step_sizes

# The adaptive solve's (rtol, atol) per dtype: float32 cannot resolve rtol = 1e-8, and below atol = 1e-8
# its error estimate for y₂ is roundoff, so every step is rejected.
ADAPTIVE_TOLERANCES = {"float64": (1e-8, 1e-12), "float32": (1e-4, 1e-8)}


def kinetics(y):
    """(L, Q) of f(u) = L u + ½ B(u, u) at rates k = exp(y), with B's k-index first: Q[k, 3i + j] = B[i, j, k]."""
    rates = jnp.exp(y)
    linear = jnp.einsum("m,mij->ij", rates, jnp.asarray(LINEAR, dtype=y.dtype))
    quadratic = jnp.einsum("m,mijk->kij", rates, jnp.asarray(QUADRATIC, dtype=y.dtype)).reshape(3, 9)
    return linear, quadratic


def field_jacobian(u, linear, quadratic):
    return linear + (u @ quadratic).reshape(u.shape[:-1] + (3, 3))


def field(u, linear, jacobian):
    # f(u) = ½ (L + J(u)) u, as f is quadratic.
    return 0.5 * jnp.sum((linear + jacobian) * u[..., None, :], axis=-1)


def radau_step(u, h, linear, quadratic, tableau, newton):
    identity = jnp.eye(9, dtype=u.dtype)
    weights = h * tableau
    # Block (a, b) of the Newton matrix is δ_ab I − h a_ab J(stage b): index order (a, i, b, j).
    block_weights = weights[:, None, :, None]

    # A fixed count of full Newton iterations from Z = 0: no convergence test, so no data-dependent control flow.
    def newton_iteration(increments, _):
        stages = u + increments
        jacobians = field_jacobian(stages, linear, quadratic)
        residual = increments - weights @ field(stages, linear, jacobians)
        matrix = identity - (block_weights * jnp.swapaxes(jacobians, 0, 1)).reshape(9, 9)
        return increments - jnp.linalg.solve(matrix, residual.reshape(9)).reshape(3, 3), None

    increments, _ = lax.scan(newton_iteration, jnp.zeros((3, 3), dtype=u.dtype), length=newton)
    # Radau IIA is stiffly accurate: the last stage is the step's end.
    return u + increments[2]


def solve(y, args):
    u0, save_every, newton = args["u0"], args["save_every"], args["newton"]
    linear, quadratic = kinetics(y)
    tableau = jnp.asarray(RADAU_A, dtype=y.dtype)
    steps = jnp.asarray(step_sizes(args["t_first"], args["t_end"], args["intervals"]), dtype=y.dtype)

    def step(u, h):
        u = radau_step(u, h, linear, quadratic, tableau, newton)
        return u, u

    _, states = lax.scan(step, u0, steps)
    # states[0] is at t_first; the saves are every save_every-th state after it.
    return states[save_every::save_every]


def objective(y, args):
    observations = args["observations"]
    scale = jnp.max(observations, axis=0)
    return jnp.mean(((solve(y, args) - observations) / scale) ** 2)


def rhs(y, args):
    linear, quadratic = kinetics(y)
    observations = args["observations"]
    return field(observations, linear, field_jacobian(observations, linear, quadratic))


def vector_field(t, u, coefficients):
    linear, quadratic = coefficients
    return field(u, linear, field_jacobian(u, linear, quadratic))


def solve_adaptive(y, args):
    rtol, atol = ADAPTIVE_TOLERANCES[str(y.dtype)]
    solution = diffrax.diffeqsolve(
        diffrax.ODETerm(vector_field),
        diffrax.Kvaerno5(),
        0.0,
        args["t_end"],
        args["t_first"],
        args["u0"],
        args=kinetics(y),
        stepsize_controller=diffrax.PIDController(rtol=rtol, atol=atol),
        saveat=diffrax.SaveAt(ts=args["save_times"]),
        max_steps=4096,
    )
    return solution.ys


def objective_adaptive(y, args):
    observations = args["observations"]
    scale = jnp.max(observations, axis=0)
    return jnp.mean(((solve_adaptive(y, args) - observations) / scale) ** 2)
