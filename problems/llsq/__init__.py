r"""GradBench's linear least-squares objective (`llsq`, from cmpad's `llsq_obj`): fit a polynomial of
degree m − 1 to the sign function sampled on n points of [−1, 1].

    t_i = −1 + 2i/(n − 1),   s_i = sign(t_i)   (sign(0) = 0),   i = 0, …, n − 1,
    f(x) = ½ Σ_i (s_i − Σ_j x_j t_iʲ)² = ½ ‖s − A x‖²,   A_ij = t_iʲ   (j = 0, …, m − 1, t⁰ = 1).

f is quadratic, so its derivatives are closed forms: ∇f = −Aᵀ(s − A x) and H = AᵀA, positive
semidefinite and independent of x; the gradient is affine, ∇f(x + v) − ∇f(x) = H v.

Layout: y = x (m,); args = {n: the number of sample points (Python int)}. Inputs: x ~ U(0, 1), as
GradBench draws them; its sizes are m = 128 with n = 16 … 16 392. The small size takes an odd n so
that the middle point t = 0, where sign(0) = 0, is in the parity cells (GradBench's n are all even).

Numerical choices. Both implementations build t, s and A from n inside the objective, in the dtype of
x: t_i = (2i − (n − 1))/(n − 1), the same number as GradBench's −1 + 2i/(n − 1) with a single
rounding, so the middle point of an odd n is exactly 0 (and its sign exactly 0) in every framework
and dtype; A_ij = t_i ** j elementwise. The reference follows GradBench's formula for t in float64
and builds A as NumPy's Vandermonde matrix (cumulative products), so it shares no code path with them.
"""

from __future__ import annotations

import numpy as np

from sciad.spec import Layout, Problem, Reference, Tolerance


def build(rng: np.random.Generator, m: int, n: int):
    return rng.uniform(0.0, 1.0, m), {"n": n}


def design(m: int, n: int):
    """(A, s): the Vandermonde matrix of the sample points and the signs to fit, in float64."""
    t = -1.0 + np.arange(n) * 2.0 / (n - 1)
    return np.vander(t, m, increasing=True), np.sign(t)


def value(x, args):
    A, s = design(x.size, args["n"])
    r = s - A @ x
    return 0.5 * (r @ r)  # r·r, not |r|²: analytic, so complex steps differentiate it exactly


def grad(x, args):
    A, s = design(x.size, args["n"])
    return -A.T @ (s - A @ x)


def hessian(x, args):
    A, _ = design(x.size, args["n"])
    return A.T @ A


SPEC = Problem(
    name="llsq",
    summary="GradBench's linear least squares: a polynomial fit to sign(t) (gradient −Aᵀ(s − Ax), Hessian AᵀA)",
    build=build,
    sizes={"small": {"m": 8, "n": 63}, "medium": {"m": 32, "n": 1024}, "bench": {"m": 128, "n": 16392}},
    layout=Layout(y=("m",), args={"n": int}),
    reference=Reference(value=value, grad=grad, hessian=hessian, complex_step=True),
    transforms=("value", "grad", "value_and_grad", "hessian", "hvp_fwd_rev", "hvp_rev_rev"),
    # float32: the gradient and the hvps are sums over the n points of terms up to about m·|x| that cancel to
    # much smaller results, measured ≤ 4.3e-6 over seeds 0–19 at size small (JAX, torch and against each other)
    # and growing with n·m (1.1e-4 at medium).
    tolerance=Tolerance(1e-10, 2e-5, "same maths in both; float32 rounding of cancelling sums over the n points"),
    sweep=("n", (16, 128, 1024, 8196, 16392)),  # GradBench's n at m = 128, including its 8196 and 16392
)
