r"""A chain of elementwise operations, iterated: what operator fusion is for.

One step maps each element through eight operations,

    a₁ = sin x,  a₂ = a₁ x,  a₃ = tanh a₂,  a₄ = a₃ + x/2,  a₅ = a₄²,  a₆ = e^{−a₅},  a₇ = a₆ cos x,
    c(x) = a₇ + x²/10,

and the objective applies it `steps` times and sums: f(x) = Σ_i c^{∘steps}(x)_i. Unfused, every
operation reads and writes the whole array; fused, one pass does all of them.

The gradient is diagonal in each step, so it is the product of the steps' derivatives along the
orbit x⁽⁰⁾ = x, x⁽ᵏ⁺¹⁾ = c(x⁽ᵏ⁾):  ∂f/∂x_i = Π_k c′(x⁽ᵏ⁾_i), with

    a₁′ = cos x,  a₂′ = a₁′ x + a₁,  a₃′ = (1 − a₃²) a₂′,  a₄′ = a₃′ + ½,  a₅′ = 2 a₄ a₄′,
    a₆′ = −a₆ a₅′,  a₇′ = a₆′ cos x − a₆ sin x,  c′ = a₇′ + x/5.

c stays bounded (|c(x)| ≤ 1 + x²/10 and |x| ≤ 2 keeps it within [−1, 1.4]), so the orbit neither
overflows nor vanishes for any number of steps. The Hessian is diagonal (complex step of the
closed-form gradient, which is complex-safe).

The objective loops in Python (`for _ in range(steps)`): unrolled under jax.jit and torch.compile,
free in torch eager. The problem-specific transform `grad_scan` (JAX only) is the gradient of the same
chain written with `lax.fori_loop`: one traced step whatever `steps` is — the claims' control-flow
comparison (`sciad claims`).

Layout: y = x (n,), args = {steps: int}. Inputs x ~ U(−2, 2).
"""

from __future__ import annotations

import numpy as np

from sciad.spec import Layout, Problem, Reference, Variant


def build(rng: np.random.Generator, n: int, steps: int):
    return rng.uniform(-2.0, 2.0, n), {"steps": steps}


def chain(x):
    a3 = np.tanh(np.sin(x) * x)
    a4 = a3 + 0.5 * x
    return np.exp(-(a4 * a4)) * np.cos(x) + 0.1 * x * x


def chain_derivative(x):
    a1 = np.sin(x)
    a3 = np.tanh(a1 * x)
    d3 = (1.0 - a3 * a3) * (np.cos(x) * x + a1)
    a4 = a3 + 0.5 * x
    a6 = np.exp(-(a4 * a4))
    d6 = -a6 * 2.0 * a4 * (d3 + 0.5)
    return d6 * np.cos(x) - a6 * np.sin(x) + 0.2 * x


def value(x, args):
    for _ in range(args["steps"]):
        x = chain(x)
    return np.sum(x)


def grad(x, args):
    g = np.ones_like(x)
    for _ in range(args["steps"]):
        g = g * chain_derivative(x)
        x = chain(x)
    return g


SPEC = Problem(
    name="elementwise_chain",
    summary="eight elementwise operations per step, iterated: the fusion claim's other example (closed-form gradient)",
    build=build,
    sizes={"small": {"n": 5, "steps": 2}, "bench": {"n": 100_000, "steps": 1}},
    layout=Layout(y=("n",), args={"steps": int}),
    reference=Reference(value=value, grad=grad, complex_step=True),
    transforms=("value", "grad", "hvp_fwd_rev", "hvp_rev_rev", "grad_scan"),
    variants={"grad_scan": Variant("grad", "objective_scan", frameworks=("jax",))},
    # The control-flow claim's sweep: loop length.
    sweep=("steps", (1, 4, 16, 64)),
)
