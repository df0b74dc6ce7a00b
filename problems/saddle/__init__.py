r"""GradBench's saddle point (`saddle`, from Siskind & Pearlmutter's perturbation-confusion
benchmarks): a min–max by gradient descent inside gradient descent, so the outer derivative
differentiates through a whole inner optimisation.

    f(p₁, p₂) = (p₁,₀² + p₁,₁²) − (p₂,₀² + p₂,₁²),      p₁, p₂ ∈ R²,
    F(p₁) = max_{p₂} f(p₁, p₂)   (found by the inner ascent, an argmin of −f(p₁, ·) from s),
    r₁ = argmin_{p₁} F(p₁) from s,   r₂ = argmax_{p₂} f(r₁, p₂) from s,   solve = (r₁, r₂) ∈ R⁴.

Every descent is GradBench's `multivariate_argmin` (see `problems.particle`): η = 10⁻⁵, stop when
‖∇‖ ≤ 10⁻⁵ or ‖x − x'‖ ≤ 10⁻⁵, double η after 10 accepted steps in a row, halve it on a rejected one.
The inner ascent's gradient (w.r.t. p₂, inside F) is taken in mode `inner`; the outer gradient of F,
which differentiates through the inner ascent, and the final ascent for r₂ in mode `outer` — four
nestings, all of which must give GradBench's (8.246324826140356e-06,)×4 from s = (1, 1) (to its
tolerance 10⁻⁴ under |x−y|/max(1,|x|+|y|)).

`objective(y, args)` is F(y): the inner ascent from s = args["start"], then f(y, p₂*) — the function the
outer descent minimises, so `grad` is its outer derivative. The ascent's path does not depend on p₁
(∇_{p₂}f = −2p₂), so by Danskin's theorem ∇F(y) = ∂f/∂p₁ = 2y; a confused nesting that leaks the outer
perturbation into the inner gradient does not give it.

Layout: y = p₁ (2,) (for `solve`: the outer descent's start, GradBench's s); args = {start (2,) = s, where
every inner ascent and the final one start, and the solver's eta: float, tolerance: float, patience: int,
max_iterations: int}. Parity inputs draw y ~ U(−1, 1)² with s = (1, 1).

Numerical choices as in `problems.particle`: loops bounded by `max_iterations` (JAX scans, torch Python
loops that break), NaN if a descent has not stopped by then; both implementations use that problem's
solver and nesting helpers. The reference is the same discrete maths in NumPy with the inner gradient
in closed form (2p₂ for −f), complex-safe, so its derivatives come by complex step. In float32 the
inner ascent's comparisons stop resolving f once |p₂|² falls below ulp(|p₁|²), so it stops earlier
(|p₂*| ≈ 10⁻⁴ instead of 10⁻⁵): F differs from float64 by about 10⁻⁸.
"""

from __future__ import annotations

import numpy as np

from problems.particle import complex_step, descend
from sciad.spec import Layout, Problem, Reference, Tolerance, Variant

EXPECTED = np.full(4, 8.246324826140356e-06)  # GradBench's published (r₁, r₂) (evals/saddle), from s = (1, 1)

CONSTANTS = {"start": np.array([1.0, 1.0]), "eta": 1e-5, "tolerance": 1e-5, "patience": 10, "max_iterations": 400}


def build(rng: np.random.Generator):
    return rng.uniform(-1.0, 1.0, 2), dict(CONSTANTS)


def f(p1, p2):
    return (p1[0] ** 2 + p1[1] ** 2) - (p2[0] ** 2 + p2[1] ** 2)


def ascend(p1, args):
    """p₂*: the inner ascent on f(p₁, ·) from s, its gradient −2p₂ of −f in closed form."""
    return descend(lambda p2: (-f(p1, p2), 2 * p2), args["start"] + 0 * p1, args)


def value(y, args):
    return f(y, ascend(y, args))


def solve(y, args):
    """(r₁, r₂) by GradBench's descents on the reference, the outer gradient by complex step."""
    r1 = descend(complex_step(lambda p1: value(p1, args)), np.asarray(y, np.float64), args)
    return np.concatenate([r1, ascend(r1, args)])


SPEC = Problem(
    name="saddle",
    summary="GradBench's saddle point: min over p₁ of an inner gradient ascent's max over p₂, differentiated through it",
    build=build,
    sizes={"small": {}, "bench": {}},
    layout=Layout(
        y=(2,),
        args={"start": (2,), "eta": float, "tolerance": float, "patience": int, "max_iterations": int},
    ),
    reference=Reference(value=value, complex_step=True),
    transforms=("value", "grad", "value_and_grad", "grad_inner_forward"),
    functions=("solve",),
    variants={"grad_inner_forward": Variant("grad", "objective_inner_forward")},
    # float32: F = |y|² − |p₂*|² carries the rounding of |y|² and an earlier stop of the inner ascent (see
    # above); measured ≤ 2.5e-8 against the reference and ≤ 4.0e-8 between JAX and torch over seeds 0–19.
    # ∇F = 2y is exact in both.
    tolerance=Tolerance(1e-10, 2e-7, "same discrete maths in both; float32 rounding of |y|² and of the inner ascent's stop"),
)
