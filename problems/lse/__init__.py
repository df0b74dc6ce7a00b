r"""Log-sum-exp (GradBench's `lse`), written with the max-shift trick from a maximum and a sum.

    LSE(x) = log Σ_i exp(x_i) = m + log Σ_i exp(x_i − m),   m = max_i x_i.

The shift by m keeps every exponent ≤ 0, so float32 inputs of magnitude 1000 neither overflow
(exp(1000) = inf) nor lose the sum to underflow: the largest term is exactly 1. The derivatives
are the softmax s and its Jacobian,

    ∇LSE = s,   s_i = exp(x_i − LSE(x)),
    H    = diag(s) − s sᵀ   (positive semidefinite; H·1 = 0 since LSE(x + c·1) = LSE(x) + c).

Differentiating the implementation gives exactly these: m enters twice, as m and through −m inside
the exponents, and its two contributions cancel (coefficient 1 − Σ s = 0), so the gradient is the
softmax whichever element the max picks, ties included; max is piecewise linear, so it adds nothing
to the Hessian either. Neither implementation stops the gradient through m: GradBench asks for AD
through the primitive elements, not a hand-written rule.

Layout: y = x (n,), args = {} (nothing). Inputs: x ~ U(0, 1), as GradBench draws them; its sizes run
n = 2 500 … 1 280 000.

The reference is the closed form above; its value uses the same max shift on the real part (m is a
constant, so it stays complex-safe), and s is evaluated as exp(x − LSE(x)), which never overflows.
"""

from __future__ import annotations

import numpy as np

from sciad.spec import Layout, Problem, Reference, Tolerance


def build(rng: np.random.Generator, n: int):
    return rng.uniform(0.0, 1.0, n), {}


def value(x, args):
    m = np.max(np.real(x))
    return m + np.log(np.sum(np.exp(x - m)))


def softmax(x):
    return np.exp(x - value(x, {}))


def grad(x, args):
    return softmax(x)


def hessian(x, args):
    s = softmax(x)
    return np.diag(s) - np.outer(s, s)


SPEC = Problem(
    name="lse",
    summary="GradBench's log-sum-exp from max and sum (gradient softmax, Hessian diag(s) − ssᵀ)",
    build=build,
    sizes={"small": {"n": 16}, "medium": {"n": 1000}, "bench": {"n": 1_280_000}},
    layout=Layout(y=("n",), args={}),
    reference=Reference(value=value, grad=grad, hessian=hessian, complex_step=True),
    transforms=("value", "grad", "value_and_grad", "hessian", "hvp_fwd_rev", "hvp_rev_rev", "vmap"),
    transform_sizes={"hessian": ("small", "medium")},  # a dense (n, n) Hessian is for n ≤ 1000
    # float32: the worst element is the argmax's gradient, where m's two contributions cancel through
    # 1 − Σ s, a sum rounded to a few ulps of 1; measured ≤ 2.8e-7 (JAX, torch, and against each other)
    # over seeds 0–5 at sizes small and medium, so 1e-6 leaves a factor 3.5.
    tolerance=Tolerance(1e-10, 1e-6, "same maths in both; float32 rounding of Σ s, exposed by the max's cancellation"),
    sweep=("n", (2_500, 20_000, 160_000, 1_280_000)),  # GradBench's range, every third size
    bench_batch=8,  # 8 × 1.28M inputs and gradients is already 160 MB in float64
)
