r"""Lennard-Jones fluid: N particles in a cubic periodic box, truncated and shifted 12-6 pair potential.

    φ(r) = 4ε[(σ/r)¹² − (σ/r)⁶] − φ_LJ(r_c)   for r < r_c,   φ(r) = 0 otherwise,
    E(y) = Σ_{i<j} φ(r_ij),   r_ij = ‖d_ij‖,   d_ij = (y_i − y_j) − L·round((y_i − y_j)/L)

(minimum image in a box of side L; reduced units, ε and σ set the energy and length scales).
The shift makes E continuous at r_c; the force is not (it jumps by φ'_LJ(r_c)), which no input
here comes near enough to matter. The closed-form gradient is

    ∇_i E = Σ_{j≠i, r_ij<r_c} φ'(r_ij)/r_ij · d_ij,   φ'(r)/r = −(24ε/r²)[2(σ/r)¹² − (σ/r)⁶],

and `forces(y, args) = −∇E`, which both implementations take by autodiff of the energy.

Layout: y = positions (n, 3); args = {box: L, epsilon: ε, sigma: σ, r_cut: r_c}, Python floats,
r_c = min(2.5σ, L/2) so that a particle meets at most one image of another.
Inputs: a simple-cubic lattice of n = m³ particles at number density 0.8 (L = (n/0.8)^{1/3}),
sites at the cell centres, each coordinate perturbed by 0.05σ·N(0, 1), then wrapped into [0, L).

Numerical choices. All n² pairs are evaluated and masked (i < j and r² < r_c²), so shapes never
depend on the data and vmap works in both frameworks. Masked pairs (the diagonal i = j, where
r² = 0, and pairs beyond r_c) get a safe r² = 1 before the division and their energy is then
masked out ("double where"): a single where would let 0·∞ = NaN into the gradient. The energy
works in r² throughout, so no square root appears. For n = 8 (m = 2) the lattice spacing equals
L/2 = r_c, so nearest neighbours straddle the cutoff: a valid, if sparse, test input.

References: NumPy energy and closed-form gradient, written complex-safe (minimum image and masks
act on the real part) so that the Hessian is the complex step of the closed-form gradient.
"""

from __future__ import annotations

import numpy as np

from sciad.errors import SciadError
from sciad.spec import Layout, Problem, Reference, Tolerance

DENSITY = 0.8


def build(rng: np.random.Generator, n: int):
    m = round(n ** (1.0 / 3.0))
    if m < 1 or m**3 != n:
        raise SciadError(
            f"n={n!r} particles cannot fill a simple-cubic lattice; a perfect cube (8, 27, 64, ...) is accepted"
        )
    box = (n / DENSITY) ** (1.0 / 3.0)
    sigma = 1.0
    cells = np.stack(np.meshgrid(*(np.arange(m),) * 3, indexing="ij"), axis=-1).reshape(n, 3)
    y = (cells + 0.5) * (box / m) + 0.05 * sigma * rng.standard_normal((n, 3))
    args = {"box": float(box), "epsilon": 1.0, "sigma": sigma, "r_cut": float(min(2.5 * sigma, box / 2.0))}
    return np.mod(y, box), args


def _pairs(y, args):
    """Minimum-image separations d_ij (n, n, 3), r²_ij, and the mask of interacting pairs i ≠ j."""
    box = args["box"]
    d = y[:, None, :] - y[None, :, :]
    d = d - box * np.round(d.real / box)
    r2 = np.sum(d * d, axis=-1)
    inside = (r2.real < args["r_cut"] ** 2) & ~np.eye(len(y), dtype=bool)
    return d, np.where(inside, r2, 1.0), inside


def value(y, args):
    eps, sigma = args["epsilon"], args["sigma"]
    _, r2, inside = _pairs(y, args)
    s6 = (sigma**2 / r2) ** 3
    c6 = (sigma / args["r_cut"]) ** 6
    phi = 4.0 * eps * (s6 * s6 - s6) - 4.0 * eps * (c6 * c6 - c6)
    return 0.5 * np.sum(np.where(inside, phi, 0.0))  # each pair counted twice over i ≠ j


def grad(y, args):
    eps, sigma = args["epsilon"], args["sigma"]
    d, r2, inside = _pairs(y, args)
    s6 = (sigma**2 / r2) ** 3
    dphi_over_r = np.where(inside, -24.0 * eps * (2.0 * s6 * s6 - s6) / r2, 0.0)
    return np.sum(dphi_over_r[:, :, None] * d, axis=1)


SPEC = Problem(
    name="lennard_jones",
    summary="Truncated-shifted Lennard-Jones energy of a periodic fluid (closed-form forces, masked all-pairs)",
    build=build,
    sizes={"small": {"n": 8}, "medium": {"n": 64}, "bench": {"n": 1000}},
    layout=Layout(y=("n", 3), args={"box": float, "epsilon": float, "sigma": float, "r_cut": float}),
    reference=Reference(value=value, grad=grad, complex_step=True),
    transforms=("value", "grad", "value_and_grad", "hessian", "hvp_fwd_rev", "hvp_rev_rev", "vmap"),
    functions=("forces",),
    tolerance=Tolerance(
        1e-10,
        1e-4,
        "float64: same discrete maths in both, and complex step makes the reference exact to roundoff. "
        "float32: the r⁻¹⁴ in the force and r⁻¹⁶ in the Hessian amplify the rounding of d_ij about 15-fold, "
        "and pair forces of order 10² cancel to net forces of order 1; measured up to 5.3e-5 over "
        "20 seeds of n = 8 and 5 seeds of n = 64 (1.6e-5 on the parity cells)",
    ),
    transform_sizes={"hessian": ("small", "medium")},  # a dense (3n, 3n) Hessian is for n ≤ 64
    # All pairs cost n² memory per configuration: a batch of 8 at n = 2197 already takes ~6 GB in eager
    # torch (measured on CPU), so the sweep stops there and the benchmark's vmap batch is 8, not 32.
    sweep=("n", (125, 343, 1000, 2197)),
    bench_batch=8,
)
