r"""Gravitational N-body dynamics with Plummer softening, integrated by kick-drift-kick leapfrog.

The Hamiltonian of N point masses m_i at positions q_i with velocities v_i is

    H(q, v) = Σ_i ½ m_i ‖v_i‖²  −  G Σ_{i<j} m_i m_j / √(‖q_i − q_j‖² + s²),

with s the Plummer softening length. The acceleration of body i is

    a_i(q) = G Σ_j m_j (q_j − q_i) / (‖q_j − q_i‖² + s²)^{3/2},

where the sum may include j = i: its numerator is exactly zero and, since s > 0, its denominator is s³,
so the self term contributes nothing to the value and nothing (finite zeros) to any derivative. No
square root of zero is ever taken, so every derivative is finite, also for coincident bodies.

Scheme: `steps` kick-drift-kick leapfrog steps of length dt,

    v_{n+½} = v_n + ½ dt a(q_n),   q_{n+1} = q_n + dt v_{n+½},   v_{n+1} = v_{n+½} + ½ dt a(q_{n+1}),

which is symplectic in the canonical coordinates (q, p = m v), time reversible, and conserves total
momentum Σ m_i v_i exactly (Newton's third law holds pair by pair). The acceleration at the end of a
step is reused at the start of the next, so `steps` steps cost `steps + 1` force evaluations; that
changes nothing in the discrete map.

Functions: `energy(y, args)` = H; `simulate(y, args)` → the final state (2, N, 3) (the vector map);
`objective(y, args)` = ½ ‖q_final − target‖² (a shooting loss on the final positions).

Layout: y = state (2, N, 3) = [positions, velocities]; args = {masses: (N,), G: 1.0, softening: 0.1,
dt: 0.01, steps: int, target: (N, 3)}.

Inputs (units G = 1 and total mass ≈ 1, Hénon's N-body units, so the dynamical time is ≈ 1 whatever N
and the sweep over N times the same physics): positions q ~ N(0, 1), velocities v ~ N(0, 0.1²) (a cold
start), masses m_i ~ U(0.5, 1.5) / N, target = q + N(0, 0.1²). Sizes: small N = 4 with 10 steps (t = 0.1),
medium N = 32 and bench N = 256 with 100 steps (t = 1, of the order of the dynamical time).
Energy: the leapfrog's error is O(dt²) times the squared frequency of the fastest motion, at most that of
the softened core, G M / s³ (M = Σ m_i); the property tests assert |H(t) − H(0)| / (K + |V|) ≤ dt² G M / s³
(measured at most 0.041 of that over 3·10⁴ seeds of the small inputs).

Reference: an independent NumPy leapfrog of the same discrete map that visits each pair i < j once and
applies Newton's third law instead of the implementations' dense (N, N) sum; it agrees with them to
roundoff and accepts states with leading batch axes (..., 2, N, 3). It is written complex-safe (no abs,
no comparisons), so the Jacobian of `simulate` and the gradient of the objective come from the complex
step, exact to roundoff. The Hessian of the energy is the complex step of the closed-form gradient
∂H/∂q_i = −m_i a_i, ∂H/∂v_i = m_i v_i.
"""

from __future__ import annotations

import numpy as np

from sciad.spec import KnownFailure, Layout, Problem, Reference, Tolerance, Variant


def build(rng: np.random.Generator, n: int, steps: int):
    positions = rng.standard_normal((n, 3))
    velocities = 0.1 * rng.standard_normal((n, 3))
    masses = rng.uniform(0.5, 1.5, n) / n
    target = positions + 0.1 * rng.standard_normal((n, 3))
    args = {"masses": masses, "G": 1.0, "softening": 0.1, "dt": 0.01, "steps": steps, "target": target}
    return np.stack([positions, velocities]), args


# ---------------------------------------------------------------------------------------------
# Reference: pair by pair (i < j), complex-safe; states may carry leading batch axes (..., 2, N, 3).


def _pair_terms(q, args):
    """The pairs i < j, their separations d = q_j − q_i and softened squared distances."""
    i, j = np.triu_indices(q.shape[-2], k=1)
    d = q[..., j, :] - q[..., i, :]
    r2 = np.sum(d * d, axis=-1) + args["softening"] ** 2
    return i, j, d, r2


def accelerations(q, args):
    masses, G = args["masses"], args["G"]
    i, j, d, r2 = _pair_terms(q, args)
    pull = G * d / (r2 * np.sqrt(r2))[..., None]
    # Newton's third law: pair p pulls body i by m_j pull_p and body j by −m_i pull_p.
    share = np.zeros((q.shape[-2], i.size))
    share[i, np.arange(i.size)] = masses[j]
    share[j, np.arange(i.size)] = -masses[i]
    return share @ pull


def energy(y, args):
    q, v = y[..., 0, :, :], y[..., 1, :, :]
    masses, G = args["masses"], args["G"]
    i, j, _, r2 = _pair_terms(q, args)
    kinetic = 0.5 * np.sum(masses[:, None] * v * v, axis=(-2, -1))
    potential = -G * np.sum(masses[i] * masses[j] / np.sqrt(r2), axis=-1)
    return kinetic + potential


def energy_grad(y, args):
    q, v = y[..., 0, :, :], y[..., 1, :, :]
    masses = args["masses"][:, None]
    return np.stack([-masses * accelerations(q, args), masses * v], axis=-3)


def simulate(y, args):
    q, v = y[..., 0, :, :], y[..., 1, :, :]
    dt = args["dt"]
    a = accelerations(q, args)
    for _ in range(args["steps"]):
        v = v + 0.5 * dt * a
        q = q + dt * v
        a = accelerations(q, args)
        v = v + 0.5 * dt * a
    return np.stack([q, v], axis=-3)


def objective(y, args):
    miss = simulate(y, args)[..., 0, :, :] - args["target"]
    return 0.5 * np.sum(miss * miss, axis=(-2, -1))


SPEC = Problem(
    name="nbody",
    summary="Plummer-softened gravity, kick-drift-kick leapfrog; shooting loss on the final positions",
    build=build,
    sizes={"small": {"n": 4, "steps": 10}, "medium": {"n": 32, "steps": 100}, "bench": {"n": 256, "steps": 100}},
    layout=Layout(
        y=(2, "n", 3),
        args={"masses": ("n",), "G": float, "softening": float, "dt": float, "steps": int, "target": ("n", 3)},
    ),
    reference=Reference(value=objective, vector_map=simulate, complex_step=True),
    transforms=("value", "grad", "value_and_grad", "jvp", "vjp", "jacfwd", "jacrev", "hessian_energy", "vmap"),
    vector_map="simulate",
    variants={
        "hessian_energy": Variant("hessian", "energy", Reference(value=energy, grad=energy_grad, complex_step=True)),
    },
    # Dense (6N, 6N) matrices: 36·N² entries, each through the whole trajectory for the Jacobians.
    transform_sizes={name: ("small", "medium") for name in ("jacfwd", "jacrev", "hessian_energy")},
    tolerance=Tolerance(
        1e-10, 1e-5,
        "same discrete maths in both; float32 roundoff through 10 leapfrog steps (measured ≤ 1.9e-6 over 40 seeds)",
    ),
    sweep=("n", (16, 64, 256, 1024)),
    compile_regions=("objective", "simulate"),
    known_failures=(
        # torch.func cannot differentiate torch's scan operator, so in this mode the torch side is a Python loop,
        # and torch.compile unrolls it: 10 steps (the small parity cells) compile, 100 do not in time.
        KnownFailure("torch", None, "torch.compile unrolls the 100-step Python loop; compiling it exceeds the "
                     "benchmark's time limit (torch.func has no differentiable scan)", mode="compile", sizes=("medium", "bench")),
    ),
    bench_notes={
        # Printed by `sciad report` where the compiled ratio misses its target; the measurements are in
        # benchmarks/README.md.
        "cheap_gradient": "reverse mode through the leapfrog steps saves every step's (n, n, 3) pair arrays for the "
        "backward sweep, so the jitted gradient is memory-bound while the fused value is not (eager modes, which "
        "materialise the pairs in the value too, show lower ratios)",
    },
)
