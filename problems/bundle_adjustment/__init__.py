r"""Bundle adjustment: ADBench's and GradBench's camera model, reprojection residuals and sparse Jacobian.

A camera holds 11 parameters in ADBench's order, c = (r₁ r₂ r₃, C₁ C₂ C₃, f, u₀ v₀, k₁ k₂): an
angle-axis rotation r, the camera centre C, the focal length f, the principal point (u₀, v₀) and two
radial distortion coefficients. Observation i sees camera c = cams[obs_i0] and point X = points[obs_i1]
at feature x̂_i with weight w_i:

    X_o = X − C,   X_c = R(r) X_o,                         (the projection uses R(X − C))
    R(r) v = v cos θ + (ω × v) sin θ + ω (ω·v)(1 − cos θ),   θ² = r·r ≠ 0,  ω = r/θ,
    R(r) v = v + r × v,                                       θ² = 0 exactly  (GradBench's branch),
    u = (X_c,1, X_c,2) / X_c,3,   ρ = ‖u‖²,   d = u (1 + k₁ρ + k₂ρ²),   proj = f d + (u₀, v₀),
    e_i = w_i (proj − x̂_i) ∈ ℝ²,   w_err,i = 1 − w_i².

    residual(y, args) = (e_0, e_1, …, e_{p−1}, w_err,0, …, w_err,p−1) ∈ ℝ³ᵖ   (e row-major, then w_err)
    objective(y, args) = ½ ‖residual‖²

Jacobian layout: rows follow `residual`; columns follow y ravelled as `sciad.checks.ravel` does, by
sorted key, which is `COLUMN_ORDER` = (cams (11n, row-major), points (3m), weights (p)). Rows 2i and
2i+1 hold 15 non-zeros in ascending columns (11 camera, 3 point, 1 weight); row 2p+i holds −2w_i at
column 11n + 3m + i. `jacobian_csr(y, args)` returns (data, indices, indptr) with exactly this
structure, structural zeros kept (∂e_i,1/∂u₀ = 0): GradBench's SparseMat, whose `vals`, `cols` and
`rows` are data, indices and indptr. The implementations compute the blocks by vmap over observations
of jacfwd of the per-observation map (camera, point, weight) ↦ (e_i, w_err,i) ∈ ℝ³. The variant
`jvp_csr` multiplies that CSR matrix by a tangent (each row index repeated over its entries, then a
segment sum): it checks data, indices and indptr together against the reference jvp at every size.

Layout: y = {cams (n, 11), points (m, 3), weights (p,)}; args = {features (p, 2), obs (p, 2) int}.
Inputs are varied seeded data: points ~ N(0, 1)³; rotations r ~ N(0, 1)³ (any angle); each centre is
placed so that the origin lies on the optical axis at depth U(6, 10), C = −R(r)ᵀ(0, 0, depth), so points
lie in front of every camera (X_c,3 = depth + (RX)_3 ≥ 6 − ‖X‖); f ~ U(300, 600), (u₀, v₀) ~ N(0, 5²),
k ~ U(−0.1, 0.1); w ~ U(0.5, 1.5); observation i sees a shuffled camera i mod n and point i mod m
(every camera and point observed when p ≥ n, m); features are the projections plus N(0, 2²) pixels of
noise. `replicated=True` builds GradBench's form instead (one camera, point, weight and feature drawn so, repeated, cyclic
observations: see `adbench.py`), the form of ADBench's data files and GradBench's protocol.

Reference: a NumPy re-implementation with explicit rotation matrices R = cos θ I + sin θ [ω]× +
(1 − cos θ) ωωᵀ (I + [r]× where θ² = 0), vectorised over observations and complex-safe: θ = √(Σ r²)
without abs, and the branch tests the real part of r. The Jacobian (jvp, vjp, jacfwd, jvp_csr) is the
complex step of `residual`; the gradient Jᵀ·residual is closed-form, from hand-derived blocks

    ∂X_c/∂r = −R [X_o]× (r rᵀ + (Rᵀ − I) [r]×) / θ²   (Gallego & Yezzi 2015; −[X_o]× where θ² = 0),
    ∂X_c/∂X = R = −∂X_c/∂C,   ∂u/∂X_c = [[1/z, 0, −x/z²], [0, 1/z, −y/z²]]  (X_c = (x, y, z)),
    ∂d/∂u = L I + 2(k₁ + 2k₂ρ) u uᵀ,  L = 1 + k₁ρ + k₂ρ²,   ∂d/∂(k₁, k₂) = (uρ, uρ²),
    ∂proj/∂f = d,   ∂proj/∂(u₀, v₀) = I,   ∂e/∂· = w ∂proj/∂·,   ∂e/∂w = proj − x̂,   ∂w_err/∂w = −2w,

complex-safe like the rest, so Hessian-vector references would be complex steps of it, exact to
roundoff (the tests check the closed-form Jacobian against the complex step).

Numerical choices: the implementations write GradBench's rotation with r itself,
v c + (r × v) s + r (r·v) t with c = cos θ, s = sin θ/θ, t = (1 − cos θ)/θ², the same maths with one
cross product (rounding differs from ω = r/θ first by ulps); GradBench's branch for θ² = 0 exactly is
the same expression with (c, s, t) = (1, 1, 0), selected by `where`. Both branches are evaluated, so θ²
is replaced by 1 where it is zero (the gradient-safe double where): the unused branch's 0·∞ would
otherwise turn reverse-mode derivatives at r = 0 into NaN. GradBench's small-angle branch is first
order: at exactly r = 0 values and first derivatives equal the limit of the full formula, but second
derivatives in r are 0 where the limit has those of ½ r × (r × v). Kept as GradBench defines it.

Transforms: value, grad, jvp, vjp, jacfwd (size small only: it is dense) and jvp_csr. Second-order
transforms and vmap are left out to keep this problem's share of the suite's time: each parity cell
costs an XLA compilation. Their cells passed when measured (hvp_fwd_rev and vmap within 3e-14 of the
reference in float64, hvp_rev_rev within tolerance); hvp_fwd_rev fails under torch.compile (CPU inductor:
AssertionError `index.is_vec` in the C++ codegen of the scatter-add that is the gathers' backward, as
gmm records).

Sizes: small n = 2, m = 5, p = 10 (every point seen twice); medium is ADBench's ba1 counts (n = 49,
m = 7776, p = 31843) in GradBench's replicated form; bench is ba1's counts with varied data; the sweep
varies p at ba1's n and m.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse

from sciad.errors import SciadError
from sciad.spec import Ints, Layout, Problem, Reference, Tolerance, Variant

from . import adbench

CAMERA_PARAMETERS = 11
BLOCK = CAMERA_PARAMETERS + 3 + 1  # non-zeros of a reprojection row: camera, point, weight
COLUMN_ORDER = ("cams", "points", "weights")  # sorted keys: sciad.checks.ravel's order, and the columns'


# ---------------------------------------------------------------------------------------------
# Inputs


def cameras(rng: np.random.Generator, count: int) -> np.ndarray:
    """`count` cameras looking at the origin from depth U(6, 10), in ADBench's parameter order."""
    rotation = rng.normal(size=(count, 3))
    depth = rng.uniform(6.0, 10.0, count)
    optical_axis = np.stack([np.zeros(count), np.zeros(count), depth], axis=1)
    centre = -np.einsum("kji,kj->ki", rotation_matrices(rotation), optical_axis)  # −Rᵀ(0, 0, depth)
    focal = rng.uniform(300.0, 600.0, (count, 1))
    principal = rng.normal(0.0, 5.0, (count, 2))
    distortion = rng.uniform(-0.1, 0.1, (count, 2))
    return np.concatenate([rotation, centre, focal, principal, distortion], axis=1)


def build(rng: np.random.Generator, n: int, m: int, p: int, replicated: bool = False):
    if min(n, m, p) < 1:
        raise SciadError(f"n={n}, m={m}, p={p} are not accepted; each must be at least 1")
    if replicated:
        camera, point = cameras(rng, 1), rng.normal(size=(1, 3))
        weight = rng.uniform(0.5, 1.5)
        feature = projections(camera, point)[0] + rng.normal(0.0, 2.0, 2)
        return adbench.replicate(n, m, p, camera, point, weight, feature)
    cams, points = cameras(rng, n), rng.normal(size=(m, 3))
    weights = rng.uniform(0.5, 1.5, p)
    obs = np.stack([rng.permutation(np.arange(p) % n), rng.permutation(np.arange(p) % m)], axis=1).astype(np.int64)
    features = projections(cams[obs[:, 0]], points[obs[:, 1]]) + rng.normal(0.0, 2.0, (p, 2))
    # Keys in sorted order, the order in which sciad.checks.ravel lays out y's coordinates.
    return {"cams": cams, "points": points, "weights": weights}, {"features": features, "obs": obs}


# ---------------------------------------------------------------------------------------------
# Reference: explicit rotation matrices, vectorised over observations, complex-safe.


def cross_matrices(v):
    """[v]× for each row of v (..., 3): [v]× a = v × a."""
    zero = np.zeros_like(v[..., 0])
    return np.stack(
        [
            np.stack([zero, -v[..., 2], v[..., 1]], axis=-1),
            np.stack([v[..., 2], zero, -v[..., 0]], axis=-1),
            np.stack([-v[..., 1], v[..., 0], zero], axis=-1),
        ],
        axis=-2,
    )


def _regular(rotation):
    """Where GradBench takes the full Rodrigues formula: θ² ≠ 0, judged on the real part."""
    return np.sum(np.real(rotation) ** 2, axis=-1) != 0


def rotation_matrices(rotation):
    """R(r) for each row of r (..., 3); GradBench's first-order I + [r]× where r is exactly zero."""
    regular = _regular(rotation)
    theta = np.sqrt(np.where(regular, np.sum(rotation * rotation, axis=-1), 1.0))[..., None, None]
    axis = rotation / theta[..., 0]
    rodrigues = (
        np.cos(theta) * np.eye(3)
        + np.sin(theta) * cross_matrices(axis)
        + (1.0 - np.cos(theta)) * axis[..., :, None] * axis[..., None, :]
    )
    return np.where(regular[..., None, None], rodrigues, np.eye(3) + cross_matrices(rotation))


def _camera_frame(cams, points):
    rotation = rotation_matrices(cams[..., 0:3])
    offset = points - cams[..., 3:6]
    return rotation, offset, np.einsum("...ij,...j->...i", rotation, offset)


def projections(cams, points):
    """The projected pixel of each point through its camera (rows paired), (..., 2)."""
    _, _, camera_point = _camera_frame(cams, points)
    u = camera_point[..., :2] / camera_point[..., 2:]
    rho = np.sum(u * u, axis=-1, keepdims=True)
    distorted = u * (1.0 + cams[..., 9:10] * rho + cams[..., 10:11] * rho * rho)
    return distorted * cams[..., 6:7] + cams[..., 7:9]


def residual(y, args):
    obs = args["obs"]
    weights = y["weights"]
    errors = weights[:, None] * (projections(y["cams"][obs[:, 0]], y["points"][obs[:, 1]]) - args["features"])
    return np.concatenate([errors.ravel(), 1.0 - weights * weights])


def value(y, args):
    r = residual(y, args)
    return 0.5 * np.sum(r * r)


def reprojection_blocks(y, args):
    """Closed-form ∂e_i/∂(camera, point, weight), (p, 2, 15), columns in the CSR order; complex-safe."""
    cams, obs, weights = y["cams"][args["obs"][:, 0]], args["obs"], y["weights"]
    points = y["points"][obs[:, 1]]
    rotation, offset, camera_point = _camera_frame(cams, points)
    r = cams[:, 0:3]
    regular = _regular(r)
    theta2 = np.where(regular, np.sum(r * r, axis=-1), 1.0)[:, None, None]
    transpose = np.swapaxes(rotation, -1, -2)
    full = (
        -rotation
        @ cross_matrices(offset)
        @ (r[:, :, None] * r[:, None, :] + (transpose - np.eye(3)) @ cross_matrices(r))
        / theta2
    )
    d_rotation = np.where(regular[:, None, None], full, -cross_matrices(offset))  # ∂X_c/∂r
    x, yc, z = camera_point[:, 0], camera_point[:, 1], camera_point[:, 2]
    zero = np.zeros_like(z)
    d_u = np.stack([np.stack([1 / z, zero, -x / z**2], -1), np.stack([zero, 1 / z, -yc / z**2], -1)], -2)  # (p, 2, 3)
    u = camera_point[:, :2] / camera_point[:, 2:]
    rho = np.sum(u * u, axis=-1)[:, None]
    k1, k2, focal = cams[:, 9:10], cams[:, 10:11], cams[:, 6:7]
    scale = 1.0 + k1 * rho + k2 * rho * rho
    d_distort = scale[:, :, None] * np.eye(2) + 2.0 * (k1 + 2.0 * k2 * rho)[:, :, None] * u[:, :, None] * u[:, None, :]
    d_camera_point = focal[:, :, None] * d_distort @ d_u  # ∂proj/∂X_c, (p, 2, 3)
    projection = u * scale * focal + cams[:, 7:9]
    blocks = np.concatenate(
        [
            d_camera_point @ d_rotation,  # r
            -d_camera_point @ rotation,  # C
            (u * scale)[:, :, None],  # f
            np.broadcast_to(np.eye(2), (len(obs), 2, 2)),  # u₀, v₀
            focal[:, :, None] * np.stack([u * rho, u * rho * rho], axis=-1),  # k₁, k₂
            d_camera_point @ rotation,  # X
        ],
        axis=-1,
    )
    blocks = weights[:, None, None] * blocks
    return np.concatenate([blocks, (projection - args["features"])[:, :, None]], axis=-1)


def csr_structure(n: int, m: int, obs):
    """(indices, indptr) of the Jacobian, NumPy int64: GradBench's SparseMat cols and rows."""
    p = len(obs)
    columns = np.concatenate(
        [
            CAMERA_PARAMETERS * obs[:, :1] + np.arange(CAMERA_PARAMETERS),
            CAMERA_PARAMETERS * n + 3 * obs[:, 1:2] + np.arange(3),
            (CAMERA_PARAMETERS * n + 3 * m + np.arange(p))[:, None],
        ],
        axis=1,
    ).astype(np.int64)
    indices = np.concatenate([np.repeat(columns, 2, axis=0).ravel(), columns[:, -1]])
    indptr = np.concatenate([BLOCK * np.arange(2 * p + 1), 2 * BLOCK * p + np.arange(1, p + 1)]).astype(np.int64)
    return indices, indptr


def jacobian_csr(y, args):
    """The closed-form Jacobian as (data, indices, indptr), the implementations' `jacobian_csr` layout."""
    indices, indptr = csr_structure(len(y["cams"]), len(y["points"]), args["obs"])
    data = np.concatenate([reprojection_blocks(y, args).reshape(-1), -2.0 * y["weights"]])
    return data, indices, indptr


def jacobian(y, args):
    """The closed-form Jacobian as a dense (3p, 11n + 3m + p) matrix."""
    data, indices, indptr = jacobian_csr(y, args)
    rows = np.repeat(np.arange(len(indptr) - 1), np.diff(indptr))
    size = sum(np.size(y[key]) for key in COLUMN_ORDER)
    dense = np.zeros((len(indptr) - 1, size), dtype=data.dtype)
    dense[rows, indices] = data
    return dense


def grad(y, args):
    # Jᵀr through the sparse Jacobian: the dense one is 40 GiB at bench size.
    data, indices, indptr = jacobian_csr(y, args)
    size = sum(np.size(y[key]) for key in COLUMN_ORDER)
    sparse = scipy.sparse.csr_matrix((data, indices, indptr), shape=(len(indptr) - 1, size))
    flat = sparse.T @ residual(y, args)
    sizes = np.cumsum([np.size(y[key]) for key in COLUMN_ORDER])[:-1]
    return {key: part.reshape(np.shape(y[key])) for key, part in zip(COLUMN_ORDER, np.split(flat, sizes))}


SPEC = Problem(
    name="bundle_adjustment",
    summary="ADBench/GradBench bundle adjustment: Rodrigues + radial distortion residuals, sparse CSR Jacobian",
    build=build,
    sizes={
        "small": {"n": 2, "m": 5, "p": 10},
        "medium": {"n": 49, "m": 7776, "p": 31843, "replicated": True},  # ADBench's ba1, GradBench's replicated form
        "bench": {"n": 49, "m": 7776, "p": 31843},  # ba1's counts, varied data
    },
    layout=Layout(
        y={"cams": ("n", 11), "points": ("m", 3), "weights": ("p",)},
        args={"features": ("p", 2), "obs": Ints(("p", 2))},
    ),
    reference=Reference(value=value, grad=grad, vector_map=residual, complex_step=True),
    transforms=("value", "grad", "jvp", "vjp", "jacfwd", "jvp_csr"),
    vector_map="residual",
    functions=("jacobian_csr",),
    # J·v through the implementation's own CSR matrix, against the reference jvp: data, indices and indptr
    # are all exercised, and the check scales to bench size where a dense Jacobian cannot.
    variants={"jvp_csr": Variant("jvp", "jvp_csr", prebuilt=True)},
    transform_sizes={"jacfwd": ("small",)},  # a dense (3p, 11n + 3m + p) Jacobian
    # float64: measured ≤ 4e-14. float32: projections of 300–600 px round to ulps of 3e-5–6e-5, which leave
    # absolute errors ~1e-4 px in residuals of a few pixels; the gradient Σ Jᵀr multiplies them by Jacobian
    # entries of 10²–10³, and where those sums cancel the small entries keep a relative error: grad measured
    # ≤ 4.0e-3 over 200 seeds of size small (median 2e-4; JAX against torch ≤ 3.5e-3), every other cell
    # ≤ 2.1e-4 over 30 seeds.
    tolerance=Tolerance(
        1e-10,
        1e-2,
        "same discrete maths in both; float32 rounding of pixel-scale projections "
        "(ulp ~5e-5 px) amplified by Jacobian entries of 10²–10³ in the cancelling sums of the gradient",
    ),
    sweep=("p", (3_000, 10_000, 31_843, 100_000)),
)
