"""ADBench/GradBench bundle-adjustment residuals and their sparse Jacobian in JAX."""

import jax
import jax.numpy as jnp

from . import BLOCK, CAMERA_PARAMETERS, COLUMN_ORDER


def rodrigues_rotate(rotation, point):
    # GradBench's v cos θ + (ω × v) sin θ + ω (ω·v)(1 − cos θ), ω = r/θ, written with r itself:
    # v c + (r × v) s + r (r·v) t, c = cos θ, s = sin θ / θ, t = (1 − cos θ) / θ². Its branch for an exact
    # θ² = 0, v + r × v, is the same expression with (c, s, t) = (1, 1, 0).
    sqtheta = jnp.sum(rotation * rotation, axis=-1, keepdims=True)
    regular = sqtheta != 0
    ones = jnp.ones_like(sqtheta)
    # Both branches are evaluated: the unused one's 1/θ must stay finite, or the 0·∞ of its derivative
    # turns reverse-mode derivatives at r = 0 into NaN.
    safe = jnp.where(regular, sqtheta, ones)
    theta = jnp.sqrt(safe)
    cos = jnp.cos(theta)
    c = jnp.where(regular, cos, ones)
    s = jnp.where(regular, jnp.sin(theta) / theta, ones)
    t = jnp.where(regular, (1.0 - cos) / safe, jnp.zeros_like(sqtheta))
    along = jnp.sum(rotation * point, axis=-1, keepdims=True)
    return point * c + jnp.cross(rotation, point) * s + rotation * (along * t)


def project(camera, point):
    # Indexing on the last axis serves one observation (11,) under vmap and all of them (p, 11) alike.
    camera_point = rodrigues_rotate(camera[..., 0:3], point - camera[..., 3:6])
    u = camera_point[..., :2] / camera_point[..., 2:]
    rho = jnp.sum(u * u, axis=-1, keepdims=True)
    distorted = u * (1.0 + camera[..., 9:10] * rho + camera[..., 10:11] * rho * rho)
    return distorted * camera[..., 6:7] + camera[..., 7:9]


def reprojection_error(camera, point, weight, feature):
    return weight[..., None] * (project(camera, point) - feature)


def weight_error(weight):
    # ones_like, not 1.0: a Python float against a 0-d float32 weight has a float64 tangent in torch (#90065).
    return jnp.ones_like(weight) - weight * weight


def residual(y, args):
    cams, points, weights = y["cams"], y["points"], y["weights"]
    features, obs = args["features"], args["obs"]
    errors = reprojection_error(cams[obs[:, 0]], points[obs[:, 1]], weights, features)
    return jnp.concatenate([errors.reshape(-1), weight_error(weights)])


def objective(y, args):
    r = residual(y, args)
    return 0.5 * jnp.sum(r * r)


def observation_residuals(camera, point, weight, feature):
    return jnp.concatenate([reprojection_error(camera, point, weight, feature), weight_error(weight)[None]])


def jacobian_csr(y, args):
    cams, points, weights = y["cams"], y["points"], y["weights"]
    features, obs = args["features"], args["obs"]
    n, m, p = cams.shape[0], points.shape[0], weights.shape[0]
    blocks = jax.vmap(jax.jacfwd(observation_residuals, argnums=(0, 1, 2)))(cams[obs[:, 0]], points[obs[:, 1]], weights, features)
    d_camera, d_point, d_weight = blocks  # (p, 3, 11), (p, 3, 3), (p, 3)
    # The w_err row depends on the weight alone: its camera and point entries are structural zeros.
    reprojection = jnp.concatenate([d_camera[:, :2], d_point[:, :2], d_weight[:, :2, None]], axis=2)
    data = jnp.concatenate([reprojection.reshape(-1), d_weight[:, 2]])
    weight_columns = CAMERA_PARAMETERS * n + 3 * m + jnp.arange(p, dtype=obs.dtype)
    columns = jnp.concatenate(
        [
            CAMERA_PARAMETERS * obs[:, :1] + jnp.arange(CAMERA_PARAMETERS, dtype=obs.dtype),
            CAMERA_PARAMETERS * n + 3 * obs[:, 1:2] + jnp.arange(3, dtype=obs.dtype),
            weight_columns[:, None],
        ],
        axis=1,
    )
    indices = jnp.concatenate([jnp.repeat(columns, 2, axis=0).reshape(-1), weight_columns])
    indptr = jnp.concatenate(
        [BLOCK * jnp.arange(2 * p + 1, dtype=obs.dtype), 2 * BLOCK * p + jnp.arange(1, p + 1, dtype=obs.dtype)]
    )
    return data, indices, indptr


def jvp_csr(y, args, tangent):
    data, indices, indptr = jacobian_csr(y, args)
    direction = jnp.concatenate([tangent[key].reshape(-1) for key in COLUMN_ORDER])
    # Row i owns entries indptr[i] … indptr[i+1] − 1; the total length is given, static for compilation.
    rows = jnp.repeat(jnp.arange(indptr.shape[0] - 1, dtype=indptr.dtype), jnp.diff(indptr), total_repeat_length=data.shape[0])
    product = jax.ops.segment_sum(data * direction[indices], rows, num_segments=indptr.shape[0] - 1)
    return residual(y, args), product
