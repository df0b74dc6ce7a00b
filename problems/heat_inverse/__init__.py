r"""Heat-equation inversion: recover a log-conductivity from the end state of an explicit diffusion solve.

    ∂u/∂t = ∂/∂x ( κ(x) ∂u/∂x )   on x ∈ [0, 1],   u(0, t) = u(1, t) = 0,   u(x, 0) = u0(x),

in dimensionless units (length 1, conductivity ~ 1, time in units of L²/κ).

Grid (node-based): N interior nodes x_i = i h, i = 1 … N, h = 1/(N + 1); the wall nodes hold u_0 = u_{N+1} = 0.
Conductivity κ_i = exp(y_i) at the interior nodes, extended to the walls by its edge values
(κ_0 = κ_1, κ_{N+1} = κ_N); at the N + 1 faces, between nodes i and i + 1 (i = 0 … N), the arithmetic
mean κ_{i+½} = (κ_i + κ_{i+1})/2.

Scheme: explicit (forward) Euler, T = `steps` steps of size dt, r = dt/h²,

    u_i^{n+1} = u_i^n + r [ κ_{i+½} (u_{i+1}^n − u_i^n) − κ_{i−½} (u_i^n − u_{i−1}^n) ],

i.e. u^{n+1} = A u^n with A = I + r L(κ) symmetric. The update is a convex combination of neighbours
whenever r (κ_{i−½} + κ_{i+½}) ≤ 1, which holds for dt ≤ h²/(2 max κ): then max|u| cannot grow (the
discrete maximum principle). `build` takes dt = 0.9 · h²/(2 exp(LOG_KAPPA_BOUND)) from the bound on
the input range |y| ≤ LOG_KAPPA_BOUND, so dt is stable for every input it can draw, and one Python
float per size (JAX compiles once per size).

    simulate(y, args)  = u^T,  shape (N,)
    objective(y, args) = ½ ‖u^T − u_obs‖² + reg Σ_{i=1}^{N−1} (y_{i+1} − y_i)²

Layout: y = log κ (N,); args = {u0: (N,), u_obs: (N,), dt: float, steps: int, reg: float}.
Inputs: u0(x) = sin(πx) exp(−((x − ½)/0.2)²), a smooth bump vanishing at the walls;
log κ*(x) = 0.4 sin(2πx) + 0.2 cos(5πx); u_obs = simulate(log κ*); y = log κ* + 0.1 U(−1, 1) per node;
reg = 1e-4.

Gradient (the reference): the discrete adjoint. With λ^T = u^T − u_obs and λ^n = Aᵀ λ^{n+1} = A λ^{n+1},

    ∂J/∂κ_{j+½} = −r Σ_{n=0}^{T−1} (u_{j+1}^n − u_j^n)(λ_{j+1}^{n+1} − λ_j^{n+1})   (wall values 0),

then through the face means and the edge extension to κ, times ∂κ/∂y = κ, plus the regulariser's
2 reg Dᵀ D y. It uses arithmetic and exp only, so complex step differentiates it once more (the Hessian).

Checkpointing (`objective_checkpointed`, the same maths): the T steps run as `count` segments of
`length` = ⌊√T⌋ steps and a remainder of T − count·length < length steps (`checkpoint_segments`). Each
full segment is rematerialised: only its input state is kept for the backward pass and its steps are
recomputed there, so reverse mode holds O(√T · N) numbers instead of O(T · N). JAX: `jax.checkpoint`
around a segment's inner `lax.scan`, inside an outer `lax.scan` over segments (nested scans; a bare
`jax.checkpoint` on the one-step body would still keep every step's state, O(T · N)). Torch:
`torch.utils.checkpoint.checkpoint(..., use_reentrant=False)` per segment — which torch.func.grad
refuses (see the known failure), so the torch-only variants `grad_classic` and
`grad_classic_checkpointed` take the gradient with classic `torch.autograd.grad` instead, for the
benchmark's peak memory against T with and without checkpointing.
"""

from __future__ import annotations

import math

import numpy as np

from sciad.spec import KnownFailure, Layout, Problem, Reference, Tolerance, Variant

LOG_KAPPA_BOUND = 0.7  # |y| ≤ 0.7 for every drawn input: |log κ*| ≤ 0.6 plus a perturbation ≤ 0.1
SAFETY = 0.9  # dt as a fraction of the stability limit h²/(2 max κ)
REG = 1e-4


def nodes(n: int) -> np.ndarray:
    """The interior nodes x_i = i/(N + 1), i = 1 … N."""
    return np.arange(1, n + 1) / (n + 1)


def stable_dt(n: int) -> float:
    """0.9 h²/(2 κ_max) with κ_max = exp(LOG_KAPPA_BOUND), the largest conductivity of the input range."""
    h = 1.0 / (n + 1)
    return SAFETY * h * h / (2.0 * math.exp(LOG_KAPPA_BOUND))


def checkpoint_segments(steps: int) -> tuple[int, int, int]:
    """(length, count, rest): `count` rematerialised segments of `length` = ⌊√steps⌋ steps, then `rest`."""
    length = max(1, math.isqrt(steps))
    count = steps // length
    return length, count, steps - count * length


# ---------------------------------------------------------------------------------------------
# The NumPy reference: the same discrete scheme, complex-safe (arithmetic and exp only).


def face_conductivity(y):
    kappa = np.exp(y)
    padded = np.concatenate([kappa[:1], kappa, kappa[-1:]])
    return 0.5 * (padded[:-1] + padded[1:])


def heat_step(u, faces, rate):
    return u + rate * np.diff(faces * np.diff(np.pad(u, 1)))


def states(y, args):
    """u^0 … u^T, a list of (N,) arrays."""
    u0, dt, steps = args["u0"], args["dt"], args["steps"]
    rate = dt * (u0.shape[0] + 1) ** 2
    faces = face_conductivity(y)
    u = np.asarray(u0, dtype=np.result_type(y, u0))
    out = [u]
    for _ in range(steps):
        u = heat_step(u, faces, rate)
        out.append(u)
    return out


def simulate(y, args):
    return states(y, args)[-1]


def value(y, args):
    return 0.5 * np.sum((simulate(y, args) - args["u_obs"]) ** 2) + args["reg"] * np.sum(np.diff(y) ** 2)


def adjoint_grad(y, args):
    """The discrete adjoint of the explicit Euler recursion (A is symmetric, so Aᵀ λ = A λ)."""
    u0, dt, steps = args["u0"], args["dt"], args["steps"]
    rate = dt * (u0.shape[0] + 1) ** 2
    faces = face_conductivity(y)
    history = states(y, args)
    adjoint = history[-1] - args["u_obs"]
    grad_faces = np.zeros(faces.shape, dtype=adjoint.dtype)
    for n in range(steps - 1, -1, -1):
        grad_faces = grad_faces - rate * np.diff(np.pad(history[n], 1)) * np.diff(np.pad(adjoint, 1))
        adjoint = heat_step(adjoint, faces, rate)
    grad_padded = np.zeros(faces.shape[0] + 1, dtype=grad_faces.dtype)
    grad_padded[:-1] += 0.5 * grad_faces
    grad_padded[1:] += 0.5 * grad_faces
    grad_kappa = grad_padded[1:-1].copy()
    grad_kappa[0] += grad_padded[0]
    grad_kappa[-1] += grad_padded[-1]
    roughness = np.diff(y)
    grad_reg = np.zeros(y.shape, dtype=roughness.dtype)
    grad_reg[:-1] -= 2.0 * args["reg"] * roughness
    grad_reg[1:] += 2.0 * args["reg"] * roughness
    return grad_kappa * np.exp(y) + grad_reg


def true_log_kappa(x):
    return 0.4 * np.sin(2 * np.pi * x) + 0.2 * np.cos(5 * np.pi * x)


def build(rng: np.random.Generator, n: int, steps: int):
    x = nodes(n)
    u0 = np.sin(np.pi * x) * np.exp(-(((x - 0.5) / 0.2) ** 2))
    args = {"u0": u0, "dt": stable_dt(n), "steps": steps, "reg": REG}
    args["u_obs"] = simulate(true_log_kappa(x), args)
    return true_log_kappa(x) + 0.1 * rng.uniform(-1.0, 1.0, n), args


# Every torch transform the benchmark would compile (grad_checkpointed already fails in every mode).
SPEC = Problem(
    name="heat_inverse",
    summary="1-D heat-equation inversion for log κ through T explicit Euler steps, with √T checkpointing",
    build=build,
    # small: 5 steps (two checkpoint segments of 2 and a remainder of 1); torch.compile unrolls them all.
    sizes={"small": {"n": 16, "steps": 5}, "bench": {"n": 256, "steps": 2000}},
    layout=Layout(y=("N",), args={"u0": ("N",), "u_obs": ("N",), "dt": float, "steps": int, "reg": float}),
    reference=Reference(value=value, grad=adjoint_grad, vector_map=simulate, complex_step=True),
    transforms=(
        "value", "grad", "value_and_grad", "hvp_fwd_rev", "hvp_rev_rev", "jvp", "vjp",
        "grad_checkpointed", "grad_classic", "grad_classic_checkpointed",
    ),
    vector_map="simulate",
    # float32: measured at most 3.8e-8 (jvp/vjp, whose outputs u^T are O(1)); gradients and hvps are O(1e-3),
    # so their float32 errors stay near 5e-9 under the metric's floor of 1.
    tolerance=Tolerance(1e-10, 1e-6, "same discrete maths in both; float32 roundoff of u ~ 1 over T explicit steps"),
    functions=("simulate_checkpointed",),
    variants={
        "grad_checkpointed": Variant("grad", "objective_checkpointed"),
        "grad_classic": Variant("grad", "grad_classic", prebuilt=True, frameworks=("torch",)),
        "grad_classic_checkpointed": Variant("grad", "grad_classic_checkpointed", prebuilt=True, frameworks=("torch",)),
    },
    compile_regions=("objective", "simulate", "objective_checkpointed", "grad_classic", "grad_classic_checkpointed"),
    known_failures=(
        KnownFailure(
            "torch", "grad_checkpointed",
            "torch.utils.checkpoint (use_reentrant=False) installs saved-tensor hooks, which torch.func refuses: "
            "'RuntimeError: torch.func.{grad, vjp, jacrev, hessian} don't yet support saved tensor hooks. "
            "Please open an issue with your use case.' (torch 2.13; pytorch#122729, open). The reentrant "
            "variant is an autograd.Function without setup_context, which torch.func rejects as well.",
        ),
        KnownFailure(
            "torch", None,
            "torch.compile unrolls the T-step Python loop into one graph, whose cold compile grows with T (timings "
            "in benchmarks/README.md) and failed with an inductor CppCompileError at T = 100 (torch 2.13, CPU), so "
            "the benchmark's T ≥ 250 cannot compile within its timeout.",
            mode="compile", sizes=("bench",),
        ),
    ),
    sweep=("steps", (250, 500, 1000, 2000, 4000, 8000)),
)
