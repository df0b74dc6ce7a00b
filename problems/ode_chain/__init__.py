r"""A chain of linear ODEs solved by classical Runge–Kutta, as GradBench's "ode" eval (from cmpad's an_ode).

For parameters x ∈ ℝⁿ the state y(t) ∈ ℝⁿ obeys

    y₀′ = x₀,    y_i′ = x_i y_{i−1}   (i = 1 … n−1),    y(0) = 0,

in dimensionless time, integrated to t = 2 by s steps of the classical fourth-order Runge–Kutta
scheme at h = 2/s (the field does not depend on t):

    k₁ = f(y),  k₂ = f(y + h k₁/2),  k₃ = f(y + h k₂/2),  k₄ = f(y + h k₃),
    y ← y + h (k₁ + 2k₂ + 2k₃ + k₄)/6,

GradBench's C++ `ode::primal`. (GradBench's README writes y_i′ = Σ_{j=1}^{i} x_j y_{i−1}; its
code, cmpad's, and this problem use x_i y_{i−1}.)

    solve(x, args)     → y(2), shape (n,)
    objective(x, args) = y_{n−1}(2)       (GradBench's "gradient" is the gradient of this)

The exact solution is y_i(t) = (Π_{j≤i} x_j) t^{i+1}/(i+1)!. The scheme is exact on it as far as
degree 4: with y_{−1} ≡ 1 the system is linear and nilpotent, one RK4 step multiplies the state by
the degree-4 Taylor polynomial T₄(hA) of exp(hA), and so

    y_i(2) computed = (Π_{j≤i} x_j) · [z^{i+1}] T₄(hz)ˢ,   T₄(w) = 1 + w + w²/2 + w³/6 + w⁴/24,

which equals the exact 2^{i+1}/(i+1)! for i ≤ 3, differs by O(h⁴) beyond, and vanishes for
i ≥ 4s — so n ≤ 4s is needed for a non-trivial objective. The solve's Jacobian is lower triangular.

Layout: y = x (n,); args = {steps: s (Python int)}. Inputs: x ~ U(0, high)ⁿ; high = 1 as GradBench,
except at size small (high = 4, below).

Numerical choices: both implementations step by the shared RK4 tableau (problems/_stepping, stage
increments h·f), the reference writes GradBench's form above by hand: the same discrete map up to
roundoff, complex-safe, so its derivatives are exact by complex step. GradBench's own sizes (n up to 10⁵ at s = 100) have n > 4s,
where the objective and its gradient are identically zero though the work is the same; the bench
size follows GradBench. The small size (n = 8, s = 4) keeps every component non-zero and four of
them beyond RK4's exactness, so that a wrong weight in the scheme shows in the parity cells; it
draws x ~ U(0, 4) because with U(0, 1) the objective Π x_j · 2⁸/8! is about 10⁻⁷, where the metric
|a−b| / max(1, |a|+|b|) is absolute and would let a relative error of 10⁻³ pass at 10⁻¹⁰; with
U(0, 4) the objective is of order 0.1.
"""

from __future__ import annotations

import numpy as np

from sciad.errors import SciadError
from sciad.spec import Layout, Problem, Reference, Tolerance

T_FINAL = 2.0


def build(rng: np.random.Generator, n: int, steps: int, high: float = 1.0):
    if n < 1 or steps < 1:
        raise SciadError(f"n={n} and steps={steps} are not accepted; both must be at least 1")
    return rng.uniform(0.0, high, n), {"steps": steps}


def vector_field(x, y):
    return np.concatenate([x[:1], x[1:] * y[:-1]])


def solve(x, args):
    """y(2) by s RK4 steps; complex-safe (only sums and products of x)."""
    steps = args["steps"]
    h = T_FINAL / steps
    y = np.zeros_like(x)
    for _ in range(steps):
        k1 = vector_field(x, y)
        k2 = vector_field(x, y + h * k1 / 2)
        k3 = vector_field(x, y + h * k2 / 2)
        k4 = vector_field(x, y + h * k3)
        y = y + h * (k1 + 2 * k2 + 2 * k3 + k4) / 6
    return y


def value(x, args):
    return solve(x, args)[-1]


def exact_solution(x, t):
    """y_i(t) = (Π_{j≤i} x_j) t^{i+1}/(i+1)!, the solution of the continuous problem."""
    degrees = np.arange(1, len(x) + 1)
    return np.cumprod(x) * np.cumprod(t / degrees)


def rk4_coefficients(n: int, steps: int) -> np.ndarray:
    """[z^{i+1}] T₄(hz)ˢ for i = 0 … n−1: the computed y_i(2) is (Π_{j≤i} x_j) times these."""
    h = T_FINAL / steps
    taylor = np.cumprod([1.0, h, h / 2, h / 3, h / 4])  # h^m / m!, m = 0 … 4
    power = np.zeros(n + 1)
    power[0] = 1.0
    for _ in range(steps):
        power = np.convolve(power, taylor)[: n + 1]
    return power[1:]


SPEC = Problem(
    name="ode_chain",
    summary="GradBench's ode: a chain y_i' = x_i y_(i-1) by s classical RK4 steps (lax.scan vs torch_backend.scan)",
    build=build,
    compile_regions=("objective", "solve"),
    sizes={
        "small": {"n": 8, "steps": 4, "high": 4.0},
        "medium": {"n": 400, "steps": 100},  # n = 4s: the largest n whose last component is not zero
        "bench": {"n": 10_000, "steps": 100},  # GradBench's middle n at its largest s
    },
    layout=Layout(y=("n",), args={"steps": int}),
    reference=Reference(value=value, vector_map=solve, complex_step=True),
    transforms=("value", "grad", "value_and_grad", "jvp", "vjp", "jacfwd", "jacrev", "vmap"),
    vector_map="solve",
    # float32: sums and products of positive numbers, no cancellation; the worst cell over 20 seeds of
    # size small is a jvp at 1.1e-6 (against the reference and across frameworks), 5e-7 at medium.
    tolerance=Tolerance(1e-10, 1e-5, "same discrete maths in both; float32 roundoff through 4s stages, measured ≤ 1.1e-6"),
    transform_sizes={"jacfwd": ("small", "medium"), "jacrev": ("small", "medium")},  # a dense (n, n) Jacobian
    sweep=("n", (1_000, 10_000, 100_000)),  # GradBench's n at s = 100
)
