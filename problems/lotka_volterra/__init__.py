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
Inputs: θ* = (1.5, 1.0, 3.0, 1.0), u0 = (1, 1); observations are SciPy's DOP853 solution at θ*
(rtol = atol = 1e-12) at the save times; θ = θ* + 0.1·N(0, 1). Sizes: bench t1 = 10, 1000 steps
(saves every 10); medium t1 = 10, 200 steps (every 10); small t1 = 0.4, 4 steps (every 2), because
torch.compile unrolls the step loop and its compile time grows with the number of steps.

Numerical choices. JAX saves with `SaveAt(steps=save_every)` rather than `SaveAt(ts=…)`: the latter
evaluates Tsit5's dense interpolant even at a step's end (measured equal to the step to 6e-15, but
it is interpolation, and under DirectAdjoint its inner save loop made jacrev costlier). JAX
differentiates with `DirectAdjoint`, the one diffrax adjoint that supports both forward mode (jvp,
jacfwd) and reverse mode through the same solve. Torch steps the same discrete map with the shared
explicit Runge–Kutta stepper of problems/_stepping and its copy of diffrax's Tsit5 tableau, written for
few tensor operations per step (each costs Python overhead, more so under torch.func): f is linear in
its rates, so rates scaled by dt give the stage increment dt·f directly, and each stage's weighted sum
is one matrix-vector product; it agrees with diffrax to ≤ 2e-15.
The reference is continuous — SciPy `solve_ivp`, DOP853, rtol = atol = 1e-12 — with derivatives by
central differences, so the implementations differ from it by Tsit5's discretisation error (global
O(dt⁵)): measured ≤ 2e-8 on the states and ≤ 3e-7 on their θ-derivatives at dt = 0.1,
t1 = 1, ≤ 2e-7 and ≤ 8e-6 at medium (dt = 0.05, t1 = 10), ≤ 5e-11 and ≤ 1e-9 at bench.
"""

from __future__ import annotations

import numpy as np

from sciad.errors import SciadError
from sciad.spec import KnownFailure, Layout, Problem, Reference, Tolerance

THETA_STAR = (1.5, 1.0, 3.0, 1.0)
U0 = (1.0, 1.0)
# Central-difference step, relative to max(1, |θ_i|). All 8 shifted points share one solve, hence one
# step sequence, so the differences carry no step-selection noise: against the exact sensitivities
# (the variational equations, DOP853 at 1e-13) the error falls as h² down to h ≈ 3e-6, where it is
# ≤ 3e-10 (Jacobian) and ≤ 3e-11 (gradient) at size small, ≤ 1e-8 and ≤ 2e-9 over t1 = 10 (seeds 0–2).
FD_STEP = 3e-6


def save_times(args) -> np.ndarray:
    """t_k = k·save_every·dt, k = 1 … steps/save_every."""
    steps, save_every = args["steps"], args["save_every"]
    return args["t1"] * (np.arange(save_every, steps + 1, save_every) / steps)


def trajectory(theta, args):
    """The continuous solution at the save times, (T, 2): SciPy DOP853 at rtol = atol = 1e-12.

    A batch of θ, shape (..., 4), gives (..., T, 2), from one solve of the stacked systems (one step
    sequence for all, which also keeps the central differences below free of step-selection noise).
    """
    from scipy.integrate import solve_ivp  # lazily: `import problems` stays light

    theta = np.asarray(theta, np.float64)
    alpha, beta, gamma, delta = np.reshape(theta, (-1, 4)).T

    def field(t, state):
        prey, predator = np.reshape(state, (2, -1))
        return np.concatenate([alpha * prey - beta * prey * predator, delta * prey * predator - gamma * predator])

    u0 = np.repeat(np.asarray(args["u0"], np.float64), alpha.size)
    solution = solve_ivp(field, (0.0, args["t1"]), u0, method="DOP853", t_eval=save_times(args),
                         rtol=1e-12, atol=1e-12)
    if not solution.success:
        raise SciadError(f"SciPy's reference solve failed at theta={theta.tolist()}: {solution.message}")
    states = np.reshape(solution.y, (2, alpha.size, -1))  # (component, member, time)
    return np.reshape(np.moveaxis(states, 0, -1), (*theta.shape[:-1], -1, 2))


def value(theta, args):
    return np.mean((trajectory(theta, args) - np.asarray(args["observations"], np.float64)) ** 2, axis=(-2, -1))


def _central_differences(fn, theta):
    """∂fn/∂θ_i ≈ (fn(θ + h_i e_i) − fn(θ − h_i e_i)) / 2h_i, h_i = FD_STEP·max(1, |θ_i|); all 8 points
    in one batched call. Output shape: fn's, with a trailing axis over θ."""
    steps = FD_STEP * np.maximum(1.0, np.abs(theta))
    shifts = np.diag(steps)
    points = np.concatenate([theta + shifts, theta - shifts])
    values = fn(points)
    return np.moveaxis((values[:4] - values[4:]) / np.reshape(steps, (-1,) + (1,) * (values.ndim - 1)), 0, -1) / 2


def jacobian(theta, args):
    """The (2T, 4) Jacobian of `trajectory` by central differences."""
    return np.reshape(_central_differences(lambda points: trajectory(points, args), np.asarray(theta, np.float64)), (-1, 4))


def grad(theta, args):
    """The gradient of `value` by central differences."""
    return _central_differences(lambda points: value(points, args), np.asarray(theta, np.float64))


def conserved_quantity(u, theta):
    """V = δu₁ − γ ln u₁ + βu₂ − α ln u₂, for states u of shape (..., 2)."""
    alpha, beta, gamma, delta = theta
    return delta * u[..., 0] - gamma * np.log(u[..., 0]) + beta * u[..., 1] - alpha * np.log(u[..., 1])


def build(rng: np.random.Generator, t1: float, steps: int, save_every: int):
    if steps % save_every:
        raise SciadError(f"steps={steps} is not a multiple of save_every={save_every}; the saves must fall on steps")
    args = {"u0": np.array(U0), "t1": float(t1), "steps": steps, "save_every": save_every}
    args["observations"] = trajectory(np.array(THETA_STAR), args)
    theta = np.array(THETA_STAR) + 0.1 * rng.standard_normal(4)
    return theta, args


# The continuous reference differs from the discrete map by Tsit5's global error at size small.
_DISCRETISATION = ("Tsit5's discretisation error at dt = 0.1 against SciPy DOP853 at 1e-12 with central "
                   "differences (≤ 3e-10), seeds 0–9 (float64) and 0–3 (float32, which adds roundoff)")

SPEC = Problem(
    name="lotka_volterra",
    summary="Lotka–Volterra parameter sensitivities through a constant-step Tsit5 solve (diffrax vs plain torch)",
    build=build,
    # torch.compile unrolls the Python loop into one graph whose cold compile grows with the steps, so the
    # parity cells' size takes 4 steps (dt = 0.1, two saves) over t1 = 0.4.
    sizes={
        "small": {"t1": 0.4, "steps": 4, "save_every": 2},
        "medium": {"t1": 10.0, "steps": 200, "save_every": 10},
        "bench": {"t1": 10.0, "steps": 1000, "save_every": 10},
    },
    layout=Layout(
        y=(4,),
        args={"u0": (2,), "t1": float, "steps": int, "save_every": int, "observations": ("T", 2)},
    ),
    reference=Reference(value=value, grad=grad, vector_map=trajectory, jacobian=jacobian, complex_step=False,
                        fd_step=FD_STEP),
    transforms=("value", "grad", "value_and_grad", "jvp", "vjp", "jacfwd", "jacrev", "vmap"),
    vector_map="solve",
    # Measured at most 1.7e-15 (float64) and 1.0e-6 (float32, grad) between the two, seeds 0–3.
    tolerance=Tolerance(1e-10, 5e-6, "the same Tsit5 map in both; float32 roundoff over the steps, and diffrax's "
                        "float32 steps t_{n+1} − t_n vary by an ulp where torch's dt is one constant"),
    reference_tolerance={
        "value": Tolerance(5e-8, 3e-6, f"{_DISCRETISATION}: measured ≤ 7.0e-9 (float64), ≤ 5.4e-7 (float32)"),
        "grad": Tolerance(5e-7, 5e-6, f"{_DISCRETISATION}: measured ≤ 9.9e-8 (float64), ≤ 1.1e-6 (float32)"),
        "value_and_grad": Tolerance(5e-7, 5e-6, f"{_DISCRETISATION}: measured ≤ 9.9e-8 (float64), ≤ 1.1e-6 (float32)"),
        "vmap": Tolerance(5e-7, 5e-6, f"{_DISCRETISATION}: measured ≤ 1.2e-7 (float64), ≤ 1.1e-6 (float32)"),
        "jvp": Tolerance(5e-6, 5e-6, f"{_DISCRETISATION}: measured ≤ 8.4e-7 (float64), ≤ 5.0e-7 (float32)"),
        "vjp": Tolerance(3e-6, 5e-6, f"{_DISCRETISATION}: measured ≤ 4.6e-7 (float64), ≤ 9.5e-7 (float32)"),
        "jacfwd": Tolerance(2e-6, 5e-6, f"{_DISCRETISATION}: measured ≤ 2.6e-7 (float64), ≤ 6.2e-7 (float32)"),
        "jacrev": Tolerance(2e-6, 5e-6, f"{_DISCRETISATION}: measured ≤ 2.6e-7 (float64), ≤ 6.2e-7 (float32)"),
    },
    compile_regions=("objective", "solve"),
    known_failures=(
        KnownFailure(
            "torch", None,
            "torch.compile unrolls the step loop into one graph whose cold compile grows with the steps (timings in "
            "benchmarks/README.md), so the 200 and 1000 steps of medium and bench cannot compile within a timeout",
            mode="compile", sizes=("medium", "bench"),
        ),
    ),
)
