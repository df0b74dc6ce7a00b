r"""The double pendulum by Lagrangian mechanics: accelerations by automatic differentiation of L.

Two point masses m1, m2 hang on rigid massless rods of lengths l1, l2 in uniform gravity g; the angles
θ1, θ2 are measured from the downward vertical and ω = θ̇. In Cartesian coordinates

    x1 = l1 sin θ1,   z1 = −l1 cos θ1,   x2 = x1 + l2 sin θ2,   z2 = z1 − l2 cos θ2,

and the Lagrangian is written from the Cartesian velocities of the masses (as a learned Lagrangian
would be, with no trigonometric simplification):

    L(q, q̇) = ½ m1 (ẋ1² + ż1²) + ½ m2 (ẋ2² + ż2²) − g (m1 z1 + m2 z2),   q = (θ1, θ2).

The implementations obtain the accelerations from L alone, as in Lagrangian neural networks
(Cranmer et al. 2020): the Euler–Lagrange equations d/dt ∂L/∂q̇ = ∂L/∂q expand to

    q̈ = (∂²L/∂q̇²)⁻¹ [∂L/∂q − (∂²L/∂q̇∂q) q̇],

with the 2×2 mass matrix ∂²L/∂q̇² and the mixed block ∂²L/∂q̇∂q from one Jacobian (reverse mode) of the
q̇-gradient of L, ∂L/∂q carried along, and the 2×2 system solved by Cramer's rule (the mass matrix is
positive definite: its determinant is m2 l1² l2² (m1 + m2 sin²(θ1 − θ2)) > 0). Every evaluation of the
vector field therefore holds second derivatives of L, a gradient through the rollout is a third-order
derivative, and jacfwd of `simulate` nests forward mode over them. (Reverse over reverse and Cramer's
rule rather than forward over reverse and linalg.solve: torch.compile cannot cache a graph that holds a
forward-mode nesting or linalg.solve's error check, and recompiling this graph is costly for every RK4
step.)

Scheme: classical RK4 with step dt on the state y = (θ1, θ2, ω1, ω2), ẏ = (ω, q̈(y)), `steps` steps,
by the shared stepper of problems/_stepping driven by its RK4 tableau. JAX: `lax.scan` over steps and
over the four stages (one copy of the third-order field in the compiled program, half the compile time
of four); torch: Python loops.

Functions: `lagrangian(q, q_dot, args)`; `accelerations(y, args)` → q̈ (2,); `simulate(y, args)` → the
final state (4,) (the vector map, the flow map over t = steps·dt); `objective(y, args)` = a swing-up
shooting loss, half the squared distance of the second mass at the final time from the upright point
(0, l1 + l2):  ½ [x2(T)² + (z2(T) − l1 − l2)²].

Tangent growth: the jvp of `simulate` along a unit tangent v gives δy(T) = (∂y(T)/∂y0) v, and
log(‖δy(T)‖)/T estimates the largest Lyapunov exponent as T grows. For the bench inputs (T = 10 s) the
NumPy reference gives 0.04–0.44 s⁻¹ over ten seeds, shrinking to 0.03–0.18 s⁻¹ at T = 30 s: at these
energies (|θ| ≤ 1 rad) the motion is mostly regular and tangents grow slower than exponentially, so
gradients through the bench rollout stay of moderate size. The benchmark's jvp at bench size computes
exactly this; it is not a test, because the estimate only means something for T much longer than the
small size.

Units: SI (kg, m, s, rad). Constants m1 = 1.0, m2 = 1.5, l1 = 1.0, l2 = 0.7, g = 9.81 — unequal, so a
swapped mass or length shows in the closed-form comparison. dt = 0.01 s.
Inputs: θ ~ U(−1, 1) rad, ω ~ U(−1, 1) rad/s. Sizes: small 1 step (t = 0.01 s: each step of the
third-order graph is costly for torch.compile to trace; the property tests take more steps, which test
the carry from step to step), medium 100, bench 1000 (t = 10 s).

Reference: the textbook closed-form accelerations (derived from the same L by hand),

    Δ = θ1 − θ2,   D = 2 m1 + m2 − m2 cos 2Δ,
    θ̈1 = [−g (2m1 + m2) sin θ1 − m2 g sin(θ1 − 2θ2) − 2 m2 sin Δ (ω2² l2 + ω1² l1 cos Δ)] / (l1 D),
    θ̈2 = [2 sin Δ (ω1² l1 (m1 + m2) + g (m1 + m2) cos θ1 + ω2² l2 m2 cos Δ)] / (l2 D),

inside a NumPy RK4 of the same discrete map. Sines and cosines of complex numbers are analytic, so the
reference is complex-safe and its derivatives come from the complex step, exact to roundoff.
"""

from __future__ import annotations

import numpy as np

from sciad.spec import Layout, Problem, Reference, Tolerance

CONSTANTS = {"m1": 1.0, "m2": 1.5, "l1": 1.0, "l2": 0.7, "g": 9.81}


def build(rng: np.random.Generator, steps: int):
    angles = rng.uniform(-1.0, 1.0, 2)
    angular_velocities = rng.uniform(-1.0, 1.0, 2)
    return np.concatenate([angles, angular_velocities]), dict(CONSTANTS, dt=0.01, steps=steps)


# ---------------------------------------------------------------------------------------------
# Reference: closed-form accelerations, complex-safe; states may carry leading batch axes (..., 4).


def accelerations(y, args):
    m1, m2, l1, l2, g = (args[key] for key in ("m1", "m2", "l1", "l2", "g"))
    theta1, theta2, omega1, omega2 = y[..., 0], y[..., 1], y[..., 2], y[..., 3]
    delta = theta1 - theta2
    denominator = 2 * m1 + m2 - m2 * np.cos(2 * delta)
    first = (
        -g * (2 * m1 + m2) * np.sin(theta1)
        - m2 * g * np.sin(theta1 - 2 * theta2)
        - 2 * m2 * np.sin(delta) * (omega2**2 * l2 + omega1**2 * l1 * np.cos(delta))
    ) / (l1 * denominator)
    second = (
        2 * np.sin(delta) * (omega1**2 * l1 * (m1 + m2) + g * (m1 + m2) * np.cos(theta1) + omega2**2 * l2 * m2 * np.cos(delta))
    ) / (l2 * denominator)
    return np.stack([first, second], axis=-1)


def energy(y, args):
    """T + V in the textbook form (the cos(θ1 − θ2) coupling), independent of the Cartesian L."""
    m1, m2, l1, l2, g = (args[key] for key in ("m1", "m2", "l1", "l2", "g"))
    theta1, theta2, omega1, omega2 = y[..., 0], y[..., 1], y[..., 2], y[..., 3]
    kinetic = (
        0.5 * (m1 + m2) * l1**2 * omega1**2
        + 0.5 * m2 * l2**2 * omega2**2
        + m2 * l1 * l2 * omega1 * omega2 * np.cos(theta1 - theta2)
    )
    potential = -(m1 + m2) * g * l1 * np.cos(theta1) - m2 * g * l2 * np.cos(theta2)
    return kinetic + potential


def _vector_field(y, args):
    return np.concatenate([y[..., 2:], accelerations(y, args)], axis=-1)


def simulate(y, args):
    dt = args["dt"]
    for _ in range(args["steps"]):
        k1 = _vector_field(y, args)
        k2 = _vector_field(y + 0.5 * dt * k1, args)
        k3 = _vector_field(y + 0.5 * dt * k2, args)
        k4 = _vector_field(y + dt * k3, args)
        y = y + dt / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
    return y


def objective(y, args):
    l1, l2 = args["l1"], args["l2"]
    end = simulate(y, args)
    x2 = l1 * np.sin(end[..., 0]) + l2 * np.sin(end[..., 1])
    z2 = -l1 * np.cos(end[..., 0]) - l2 * np.cos(end[..., 1])
    return 0.5 * (x2**2 + (z2 - l1 - l2) ** 2)


SPEC = Problem(
    name="double_pendulum",
    summary="Double pendulum, accelerations by autodiff of the Lagrangian (LNN style), RK4; swing-up shooting loss",
    build=build,
    # small: one RK4 step (four nested field evaluations), each a third-order graph under torch.compile(grad)
    # whose cold compile is costly; the property tests take more steps.
    compile_regions=("objective", "simulate"),
    sizes={"small": {"steps": 1}, "medium": {"steps": 100}, "bench": {"steps": 1000}},
    layout=Layout(
        y=(4,),
        args={"m1": float, "m2": float, "l1": float, "l2": float, "g": float, "dt": float, "steps": int},
    ),
    reference=Reference(value=objective, vector_map=simulate, complex_step=True),
    transforms=("value", "grad", "value_and_grad", "jvp", "vjp", "jacfwd", "jacrev", "vmap"),
    vector_map="simulate",
    functions=("lagrangian", "accelerations"),
    tolerance=Tolerance(
        1e-10,
        1e-6,
        "same discrete maths in both (autodiff accelerations against the closed form agree to roundoff); "
        "float32 roundoff through second derivatives of L, Cramer's rule and 2 RK4 steps, up to third order "
        "(measured ≤ 1.4e-7 over 20 seeds, every transform, against the reference and across frameworks)",
    ),
    sweep=("steps", (100, 1000, 10_000)),
)
