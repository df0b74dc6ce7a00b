r"""Log-sum-exp (GradBench's `lse`), written with the max-shift trick from a maximum and a sum.

    LSE(x) = log Σ_i exp(x_i) = m + log Σ_i exp(x_i − m),   m = max_i x_i.

The shift by m keeps every exponent ≤ 0, so float32 inputs of magnitude 1000 neither overflow
(exp(1000) = inf) nor lose the sum to underflow: the largest term is exactly 1. The derivatives
are the softmax s and its Jacobian,

    ∇LSE = s,   s_i = exp(x_i − LSE(x)),
    H    = diag(s) − s sᵀ   (positive semidefinite; H·1 = 0 since LSE(x + c·1) = LSE(x) + c).

Both implementations hold m constant (stop_gradient / detach). That is exact, not an approximation:
LSE does not depend on the shift, and differentiating through m would add m's two contributions, as m
and through −m inside the exponents, whose coefficient 1 − Σ s is zero. Holding it constant computes the
same softmax without max's derivative rule (an equality mask and a tie count over x) and without the
float32 rounding of 1 − Σ s at the argmax (timings in benchmarks/README.md). It is still AD through the
primitive elements, as GradBench asks, not a hand-written rule; jax.nn.logsumexp and torch.logsumexp
hold the shift constant too.

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
    # float32: roundoff of the softmax and its products; measured ≤ 6.0e-8 over every transform, seeds
    # 0–5, sizes small and medium (JAX, torch, and against each other), so 2e-7 leaves a factor 3.3.
    tolerance=Tolerance(1e-10, 2e-7, "same maths in both; float32 roundoff of the softmax"),
    sweep=("n", (2_500, 20_000, 160_000, 1_280_000)),  # GradBench's range, every third size
    bench_batch=8,  # 8 × 1.28M inputs and gradients is already 160 MB in float64
)
