r"""Lotka–Volterra predator–prey dynamics: sensitivities of an ODE solution to its parameters.

    u̇₁ = α u₁ − β u₁ u₂        (prey)
    u̇₂ = δ u₁ u₂ − γ u₂        (predator)

in dimensionless time, θ = (α, β, γ, δ) > 0 (rates per unit time). The flow conserves

    V(u) = δ u₁ − γ ln u₁ + β u₂ − α ln u₂,

so every orbit in the positive quadrant is closed.

Scheme: Tsitouras' 5(4) Runge–Kutta pair (Tsit5, the tableau diffrax holds) at the constant step
dt = t1/steps from u(0) = u0, without error control. The state after step n is saved when n is a
multiple of `save_every`, so the saves are the discrete states themselves at t_k = k·save_every·dt,
k = 1 … steps/save_every (no dense interpolation; t = 0 is not saved).

    solve(θ, args)     → U, shape (T, 2), T = steps/save_every, U_k ≈ u(t_k)
    objective(θ, args) = mean over the T×2 entries of (U − observations)²

Layout: y = θ (4,); args = {u0: (2,), t1: float, steps: int, save_every: int, observations: (T, 2)}.
Inputs: θ* = (1.5, 1.0, 3.0, 1.0), u0 = (1, 1), t1 = 10; observations are SciPy's DOP853 solution at
θ* (rtol = atol = 1e-12) at the save times; θ = θ* + 0.1·N(0, 1).

Numerical choices. JAX saves with `SaveAt(steps=save_every)` rather than `SaveAt(ts=…)`: the latter
evaluates Tsit5's dense interpolant even at a step's end (measured equal to the step to 6e-15, but
it is interpolation, and under DirectAdjoint its inner save loop doubled the cost of jacrev). JAX
differentiates with `DirectAdjoint`, the one diffrax adjoint that supports both forward mode (jvp,
jacfwd) and reverse mode through the same solve. The reference is continuous — SciPy `solve_ivp`,
DOP853, rtol = atol = 1e-12 — with derivatives by central differences, so the implementations
differ from it by Tsit5's discretisation error at dt (global O(dt⁵)): about 1e-7 at steps = 200.
"""

from __future__ import annotations

import numpy as np

from sciad.errors import SciadError
from sciad.spec import Layout, Problem, Reference, Tolerance

THETA_STAR = (1.5, 1.0, 3.0, 1.0)
U0 = (1.0, 1.0)
T1 = 10.0


def save_times(args) -> np.ndarray:
    """t_k = k·save_every·dt, k = 1 … steps/save_every."""
    steps, save_every = args["steps"], args["save_every"]
    return args["t1"] * (np.arange(save_every, steps + 1, save_every) / steps)


def trajectory(theta, args):
    """The continuous solution at the save times, (T, 2): SciPy DOP853 at rtol = atol = 1e-12."""
    from scipy.integrate import solve_ivp  # lazily: `import problems` stays light

    alpha, beta, gamma, delta = (float(value) for value in np.asarray(theta, np.float64))

    def field(t, u):
        return [alpha * u[0] - beta * u[0] * u[1], delta * u[0] * u[1] - gamma * u[1]]

    times = save_times(args)
    solution = solve_ivp(field, (0.0, args["t1"]), np.asarray(args["u0"], np.float64), method="DOP853",
                         t_eval=times, rtol=1e-12, atol=1e-12)
    if not solution.success:
        raise SciadError(f"SciPy's reference solve failed at theta={theta}: {solution.message}")
    return solution.y.T


def value(theta, args):
    return np.mean((trajectory(theta, args) - np.asarray(args["observations"], np.float64)) ** 2)


def conserved_quantity(u, theta):
    """V = δu₁ − γ ln u₁ + βu₂ − α ln u₂, for states u of shape (..., 2)."""
    alpha, beta, gamma, delta = theta
    return delta * u[..., 0] - gamma * np.log(u[..., 0]) + beta * u[..., 1] - alpha * np.log(u[..., 1])


def build(rng: np.random.Generator, steps: int, save_every: int):
    if steps % save_every:
        raise SciadError(f"steps={steps} is not a multiple of save_every={save_every}; the saves must fall on steps")
    args = {"u0": np.array(U0), "t1": T1, "steps": steps, "save_every": save_every}
    args["observations"] = trajectory(np.array(THETA_STAR), args)
    theta = np.array(THETA_STAR) + 0.1 * rng.standard_normal(4)
    return theta, args


SPEC = Problem(
    name="lotka_volterra",
    summary="Lotka–Volterra parameter sensitivities through a constant-step Tsit5 solve (diffrax vs plain torch)",
    build=build,
    sizes={"small": {"steps": 200, "save_every": 10}, "bench": {"steps": 1000, "save_every": 10}},
    layout=Layout(
        y=(4,),
        args={"u0": (2,), "t1": float, "steps": int, "save_every": int, "observations": ("T", 2)},
    ),
    reference=Reference(value=value, vector_map=trajectory, complex_step=False, fd_step=1e-4),
    transforms=("value", "grad", "value_and_grad", "jvp", "vjp", "jacfwd", "jacrev", "vmap"),
    vector_map="solve",
)
