r"""The determinant by expansion by minors (GradBench's `det`, from cmpad's `det_by_minor`).

Along the first row, recursively down to 1 × 1 minors:

    det(M) = Σ_j (−1)ʲ M_0j det(M^(0j)),   det([a]) = a,

where M^(0j) is M without row 0 and column j. For an ℓ × ℓ matrix that is ℓ! products, which is
why GradBench stops at small ℓ and this problem at ℓ ≤ 8. The gradient is the cofactor matrix,

    ∂det/∂A_ij = C_ij = (−1)^(i+j) det(A^(ij)) = det(A) (A⁻ᵀ)_ij   when A is invertible,

so C Aᵀ = det(A) I (Jacobi's formula); det is multilinear in the rows, flips sign when two rows
swap, and det(AB) = det(A) det(B).

Layout: y = A (ℓ, ℓ); args = {} (nothing). Inputs: A_ij ~ U(0, 1), as GradBench draws them.

Numerical choices. The implementations recurse in Python over the size, which is static under
tracing, and expand all minors of one level at once: the k minors of every matrix in the batch are
built on a new axis by one elementwise select (column c of minor j is column c of the lower rows if
c < j, else column c + 1), and the recursion continues on that batch. That is the same products as
cmpad's scalar recursion (nothing is shared between minors) in ℓ levels of a dozen array operations
instead of e·ℓ! scalar ones, which no tracer would digest at ℓ = 8. Alternatives: k column slices and
a concatenation per level run slower under jax.jit (measured in benchmarks/README.md); a gather with an
index array cannot be compiled by Inductor under forward-over-reverse (hvp_fwd_rev).
The alternating sum is evaluated as the sum of the even terms minus the sum of the odd ones.

The reference shares nothing with this: its value is numpy.linalg.det (LU), and its gradient the
cofactors as LU determinants of the ℓ² minors, which, unlike det(A)·A⁻ᵀ, stay accurate for a nearly
singular A; both survive a complex step (the pivots follow the real parts), which gives the Hessian.
"""

from __future__ import annotations

import numpy as np

from sciad.errors import SciadError
from sciad.spec import Layout, Problem, Reference, Tolerance

MAX_ELL = 8  # ℓ! products: 40 320 at ℓ = 8, 3.6 million at ℓ = 10


def build(rng: np.random.Generator, ell: int):
    if not 1 <= ell <= MAX_ELL:
        raise SciadError(f"ell={ell!r} is not accepted for problem 'det'; 1 ≤ ell ≤ {MAX_ELL} are "
                         "(expansion by minors costs ell! products)")
    return rng.uniform(0.0, 1.0, (ell, ell)), {}


def value(A, args):
    return np.linalg.det(A)


def grad(A, args):
    ell = A.shape[0]
    if ell == 1:
        return np.ones_like(A)
    rows = [np.delete(A, i, axis=0) for i in range(ell)]
    minors = np.stack([np.stack([np.delete(row, j, axis=1) for j in range(ell)]) for row in rows])
    signs = (-1.0) ** np.add.outer(np.arange(ell), np.arange(ell))
    return signs * np.linalg.det(minors)


SPEC = Problem(
    name="det",
    summary="GradBench's determinant by expansion by minors (gradient the cofactor matrix det(A)·A⁻ᵀ)",
    build=build,
    sizes={"small": {"ell": 4}, "medium": {"ell": 6}, "bench": {"ell": MAX_ELL}},
    layout=Layout(y=("ell", "ell"), args={}),
    reference=Reference(value=value, grad=grad, complex_step=True),
    transforms=("value", "grad", "value_and_grad", "hessian", "hvp_fwd_rev", "hvp_rev_rev", "vmap"),
    # A dense Hessian at ℓ = 8 is 64 forward-over-reverse passes over the 40 320 products: small and medium only.
    transform_sizes={"hessian": ("small", "medium")},
    # float32 rounding of the alternating sums of products measured ≤ 2.7e-7 over seeds 0–19 at size small (JAX,
    # torch and against each other), and up to 3e-6 for the hvps at ℓ = 8.
    tolerance=Tolerance(1e-10, 1.5e-6, "same maths in both; float32 rounding of the alternating sums of products"),
    sweep=("ell", (4, 5, 6, 7, 8)),
)
