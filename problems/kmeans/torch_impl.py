"""k-means cost and Newton direction in PyTorch (torch.func)."""

import torch
import torch.func


def squared_distances(points, centroids):
    # ‖P‖² + ‖C‖² − 2 P·Cᵀ, as GradBench: one matmul and (n, k) memory instead of (n, k, d).
    return torch.sum(points**2, dim=1)[:, None] + torch.sum(centroids**2, dim=1)[None, :] - 2.0 * points @ centroids.T


def objective(y, args):
    centroids, points = y, args["points"]
    # amin, not min(dim=): its gradient splits ties evenly, as jnp.min's does.
    return torch.sum(torch.amin(squared_distances(points, centroids), dim=1))


def newton_direction(y, args):
    centroids = y
    gradient = torch.func.grad(objective)
    # The Hessian is diagonal, so H·1 is its diagonal: one jvp of the gradient gives both.
    slope, curvature = torch.func.jvp(lambda c: gradient(c, args), (centroids,), (torch.ones_like(centroids),))
    return slope / curvature
