"""ADBench/GradBench bundle-adjustment residuals and their sparse Jacobian in PyTorch (torch.func)."""

import torch
import torch.func

from . import BLOCK, CAMERA_PARAMETERS, COLUMN_ORDER


def rodrigues_rotate(rotation, point):
    # GradBench's v cos θ + (ω × v) sin θ + ω (ω·v)(1 − cos θ), ω = r/θ, written with r itself:
    # v c + (r × v) s + r (r·v) t, c = cos θ, s = sin θ / θ, t = (1 − cos θ) / θ². Its branch for an exact
    # θ² = 0, v + r × v, is the same expression with (c, s, t) = (1, 1, 0).
    sqtheta = torch.sum(rotation * rotation, dim=-1, keepdim=True)
    regular = sqtheta != 0
    ones = torch.ones_like(sqtheta)
    # Both branches are evaluated: the unused one's 1/θ must stay finite, or the 0·∞ of its derivative
    # turns reverse-mode derivatives at r = 0 into NaN.
    safe = torch.where(regular, sqtheta, ones)
    theta = torch.sqrt(safe)
    cos = torch.cos(theta)
    c = torch.where(regular, cos, ones)
    s = torch.where(regular, torch.sin(theta) / theta, ones)
    t = torch.where(regular, (1.0 - cos) / safe, torch.zeros_like(sqtheta))
    along = torch.sum(rotation * point, dim=-1, keepdim=True)
    return point * c + torch.linalg.cross(rotation, point, dim=-1) * s + rotation * (along * t)


def project(camera, point):
    # Indexing on the last axis serves one observation (11,) under vmap and all of them (p, 11) alike.
    camera_point = rodrigues_rotate(camera[..., 0:3], point - camera[..., 3:6])
    u = camera_point[..., :2] / camera_point[..., 2:]
    rho = torch.sum(u * u, dim=-1, keepdim=True)
    distorted = u * (1.0 + camera[..., 9:10] * rho + camera[..., 10:11] * rho * rho)
    return distorted * camera[..., 6:7] + camera[..., 7:9]


def reprojection_error(camera, point, weight, feature):
    return weight[..., None] * (project(camera, point) - feature)


def weight_error(weight):
    # ones_like, not 1.0: a Python float against a 0-d float32 weight has a float64 tangent in torch (#90065).
    return torch.ones_like(weight) - weight * weight


def residual(y, args):
    cams, points, weights = y["cams"], y["points"], y["weights"]
    features, obs = args["features"], args["obs"]
    errors = reprojection_error(cams[obs[:, 0]], points[obs[:, 1]], weights, features)
    return torch.cat([errors.reshape(-1), weight_error(weights)])


def objective(y, args):
    r = residual(y, args)
    return 0.5 * torch.sum(r * r)


def observation_residuals(camera, point, weight, feature):
    return torch.cat([reprojection_error(camera, point, weight, feature), weight_error(weight)[None]])


def jacobian_csr(y, args):
    cams, points, weights = y["cams"], y["points"], y["weights"]
    features, obs = args["features"], args["obs"]
    n, m, p = cams.shape[0], points.shape[0], weights.shape[0]
    blocks = torch.func.vmap(torch.func.jacfwd(observation_residuals, argnums=(0, 1, 2)))(
        cams[obs[:, 0]], points[obs[:, 1]], weights, features
    )
    d_camera, d_point, d_weight = blocks  # (p, 3, 11), (p, 3, 3), (p, 3)
    # The w_err row depends on the weight alone: its camera and point entries are structural zeros.
    reprojection = torch.cat([d_camera[:, :2], d_point[:, :2], d_weight[:, :2, None]], dim=2)
    data = torch.cat([reprojection.reshape(-1), d_weight[:, 2]])
    weight_columns = CAMERA_PARAMETERS * n + 3 * m + torch.arange(p, dtype=obs.dtype, device=obs.device)
    columns = torch.cat(
        [
            CAMERA_PARAMETERS * obs[:, :1] + torch.arange(CAMERA_PARAMETERS, dtype=obs.dtype, device=obs.device),
            CAMERA_PARAMETERS * n + 3 * obs[:, 1:2] + torch.arange(3, dtype=obs.dtype, device=obs.device),
            weight_columns[:, None],
        ],
        dim=1,
    )
    indices = torch.cat([torch.repeat_interleave(columns, 2, dim=0).reshape(-1), weight_columns])
    indptr = torch.cat(
        [
            BLOCK * torch.arange(2 * p + 1, dtype=obs.dtype, device=obs.device),
            2 * BLOCK * p + torch.arange(1, p + 1, dtype=obs.dtype, device=obs.device),
        ]
    )
    return data, indices, indptr


def jvp_csr(y, args, tangent):
    data, indices, indptr = jacobian_csr(y, args)
    direction = torch.cat([tangent[key].reshape(-1) for key in COLUMN_ORDER])
    # Row i owns entries indptr[i] … indptr[i+1] − 1; the total length is given, static for compilation.
    rows = torch.repeat_interleave(
        torch.arange(indptr.shape[0] - 1, dtype=indptr.dtype, device=indptr.device), torch.diff(indptr), output_size=data.shape[0]
    )
    product = torch.zeros(indptr.shape[0] - 1, dtype=data.dtype, device=data.device).index_add(0, rows, data * direction[indices])
    return residual(y, args), product
