r"""k-means clustering cost and its Newton direction, as GradBench's "kmeans" eval defines them.

For n points P_i ∈ ℝᵈ and k centroids C_j ∈ ℝᵈ,

    f(C) = Σ_i min_j ‖C_j − P_i‖²,

the sum of squared distances from each point to its nearest centroid (GradBench's README writes
|C_j − P_i|, but its golden PyTorch implementation and every tool square the distance; so do we).
With a(i) = argmin_j ‖C_j − P_i‖², cluster j = {i : a(i) = j} and its size n_j, f is piecewise
quadratic; away from ties (a point equidistant from two centroids, a set of measure zero) the
assignment is locally constant and

    ∂f/∂C_j = 2 Σ_{i ∈ cluster j} (C_j − P_i) = 2 (n_j C_j − Σ_{i ∈ cluster j} P_i),
    ∂²f/∂C_jc ∂C_lc' = 2 n_j δ_jl δ_cc'        (the Hessian is exactly diagonal).

Because H is diagonal, one Hessian-vector product with a vector of ones gives its diagonal, and the
Newton direction — the "dir" function of GradBench — is the elementwise quotient

    newton_direction(C) = ∇f / diag(H) = C_j − mean_{i ∈ cluster j} P_i,

so the Newton step C − newton_direction(C) is one Lloyd step: each centroid moves to the mean of
its cluster. Both implementations compute it as GradBench's golden tool does: the gradient and the
hvp with ones (jvp of grad), then the quotient. An empty cluster would give 0/0 = NaN there, as in
GradBench, which instead guarantees nonempty clusters by its inputs: the centroids are the last k
points, so each centroid has at least the point it sits on. `build` does the same.

Locally the Newton direction is itself a gradient, of the count-weighted cost with the assignment
held fixed, φ(C) = Σ_i ‖C_a(i) − P_i‖² / (2 n_a(i)); that φ is the reference value of the
`newton_direction` variant, so that the benchmark can validate it by directional derivatives.

Layout: y = C (k, d); args = {points: (n, d)}. Inputs as GradBench: P ~ U(0, 1)ⁿˣᵈ, C = the last k rows of P.

Numerical choices: the implementations expand ‖C_j − P_i‖² = ‖P_i‖² + ‖C_j‖² − 2 P_i·C_j as
GradBench does — one matmul and an (n, k) array instead of an (n, k, d) one. The reference computes
the differences directly, one centroid at a time (complex-safe, (n, k) memory), takes the
assignment from the real parts, and states the gradient, Hessian and Newton direction in closed form.
"""

from __future__ import annotations

import numpy as np

from sciad.errors import SciadError
from sciad.spec import Layout, Problem, Reference, Tolerance, Variant


def build(rng: np.random.Generator, k: int, n: int, d: int):
    if not 0 < k <= n:
        raise SciadError(f"k={k} centroids cannot be drawn from n={n} points; 0 < k <= n is accepted")
    points = rng.uniform(0.0, 1.0, (n, d))
    # As GradBench: each centroid sits on a point, so no cluster is empty and the Hessian is invertible.
    return points[-k:].copy(), {"points": points}


def squared_distances(points, centroids):
    """‖C_j − P_i‖², (n, k), by direct differences; complex-safe."""
    return np.stack([np.sum((points - centroid) ** 2, axis=1) for centroid in centroids], axis=1)


def assignment(centroids, points) -> np.ndarray:
    """The index of each point's nearest centroid, from the real parts (complex step leaves it as is)."""
    return np.argmin(squared_distances(points, np.real(centroids)), axis=1)


def cluster_sums(centroids, points):
    """(n_j, Σ_{i ∈ cluster j} P_i) for every centroid j."""
    nearest = assignment(centroids, points)
    counts = np.bincount(nearest, minlength=len(centroids)).astype(np.float64)
    sums = np.zeros((len(centroids), points.shape[1]))
    np.add.at(sums, nearest, points)
    return counts, sums


def value(centroids, args):
    points = args["points"]
    distances = squared_distances(points, centroids)
    return np.sum(distances[np.arange(len(points)), assignment(centroids, points)])


def grad(centroids, args):
    counts, sums = cluster_sums(centroids, args["points"])
    return 2.0 * (counts[:, None] * centroids - sums)


def hessian(centroids, args):
    counts, _ = cluster_sums(centroids, args["points"])
    return np.diag(np.repeat(2.0 * counts, centroids.shape[1]))


def newton_direction(centroids, args):
    counts, _ = cluster_sums(centroids, args["points"])
    with np.errstate(divide="ignore", invalid="ignore"):  # an empty cluster gives NaN, as in GradBench
        return grad(centroids, args) / (2.0 * counts[:, None])


def newton_potential(centroids, args):
    """φ(C) = Σ_i ‖C_a(i) − P_i‖² / (2 n_a(i)), assignment held at C: locally, ∇φ = newton_direction."""
    points = args["points"]
    nearest = assignment(centroids, points)
    counts = np.bincount(nearest, minlength=len(centroids)).astype(np.float64)
    distances = squared_distances(points, centroids)[np.arange(len(points)), nearest]
    return np.sum(distances / (2.0 * counts[nearest]))


SPEC = Problem(
    name="kmeans",
    summary="k-means cost (GradBench) and its Newton direction grad / diag(H) from one hvp with ones",
    build=build,
    sizes={
        "small": {"k": 4, "n": 32, "d": 3},
        "medium": {"k": 10, "n": 1_000, "d": 8},  # GradBench's smallest case
        # GradBench's largest n and d with its middle k: the (n, k) distance array and its reverse-mode
        # copies stay under a GiB; k = 1000 would need 0.8 GB per (n, k) array.
        "bench": {"k": 100, "n": 100_000, "d": 16},
    },
    layout=Layout(y=("k", "d"), args={"points": ("n", "d")}),
    reference=Reference(value=value, grad=grad, hessian=hessian, complex_step=True),
    transforms=("value", "grad", "value_and_grad", "hessian", "hvp_fwd_rev", "hvp_rev_rev", "newton_direction"),
    functions=("newton_direction",),
    variants={
        # The implementation returns the direction itself; its reference is the closed form, stated as
        # the gradient of the local potential φ so that "grad" is the right canonical comparison.
        "newton_direction": Variant(
            "grad",
            "newton_direction",
            reference=Reference(value=newton_potential, grad=newton_direction, complex_step=True),
            prebuilt=True,
        ),
    },
    # float32: the gradient 2(n_j C_j − Σ P_i) cancels terms of size n_j·|C_j| to a result of order
    # √n_j; measured ≤ 1.9e-6 over 20 seeds at size small and 4.3e-5 at medium (n_j ≈ 100).
    tolerance=Tolerance(1e-10, 1e-4, "same discrete maths in both; float32 cancellation in the gradient grows with cluster size"),
    transform_sizes={"hessian": ("small", "medium")},  # a dense (kd, kd) Hessian
    sweep=("n", (1_000, 10_000, 100_000)),
)
