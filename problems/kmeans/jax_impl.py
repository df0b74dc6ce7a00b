"""k-means cost and Newton direction in JAX."""

import jax
import jax.numpy as jnp

# Below this many centroids each point's k distances are too short a row for XLA:CPU's min (and the
# derivative rules of min) to vectorize, and reducing over the leading axis of a (k, n) array is faster;
# with more centroids the (n, k) row reduction wins (timings in benchmarks/README.md).
FEW_CENTROIDS = 32


def squared_distances(points, centroids):
    # ‖P‖² + ‖C‖² − 2 P·Cᵀ, as GradBench: one matmul and (n, k) memory instead of (n, k, d).
    return jnp.sum(points**2, axis=1)[:, None] + jnp.sum(centroids**2, axis=1)[None, :] - 2.0 * points @ centroids.T


def nearest_squared_distances(points, centroids):
    if centroids.shape[0] < FEW_CENTROIDS:
        # The same distances laid out (k, n): C·Pᵀ, not (P·Cᵀ)ᵀ, so no transpose is materialised.
        transposed = jnp.sum(centroids**2, axis=1)[:, None] + jnp.sum(points**2, axis=1)[None, :] - 2.0 * centroids @ points.T
        return jnp.min(transposed, axis=0)
    return jnp.min(squared_distances(points, centroids), axis=1)


def objective(y, args):
    centroids, points = y, args["points"]
    return jnp.sum(nearest_squared_distances(points, centroids))


def newton_direction(y, args):
    centroids = y
    gradient = jax.grad(objective)
    # The Hessian is diagonal, so H·1 is its diagonal: one jvp of the gradient gives both.
    slope, curvature = jax.jvp(lambda c: gradient(c, args), (centroids,), (jnp.ones_like(centroids),))
    return slope / curvature
