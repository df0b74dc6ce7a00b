r"""A neural ODE: derivatives of a fitted flow through a fixed-step solve, by several adjoints.

The vector field is a tanh MLP of widths 2-32-2 with parameters θ,

    f_θ(z) = W₁ tanh(W₀ z + b₀) + b₁,

and every row z_b(0) = z0_b of a batch (B, 2) flows under ż = f_θ(z) over dimensionless time
t ∈ [0, t1]. The loss is the mean squared error of the end states to targets,

    solve(θ, args)     = Z(t1), shape (B, 2)
    objective(θ, args) = 1/(2B) Σ_b ‖z_b(t1) − target_b‖².

Scheme: Kutta's 3/8 rule (the classical fourth-order Runge–Kutta variant torchdiffeq's fixed-grid
"rk4" runs), `steps` constant steps of dt = t1/steps, no error control:

    k₁ = dt f(z),  k₂ = dt f(z + k₁/3),  k₃ = dt f(z − k₁/3 + k₂),  k₄ = dt f(z + k₁ − k₂ + k₃),
    z ← z + (k₁ + 3k₂ + 3k₃ + k₄)/8.

Derivatives are discretise-then-differentiate: each framework differentiates this discrete map, so
JAX and torch agree to roundoff. JAX writes the rule as a diffrax `ButcherTableau` solver (diffrax has
no four-stage RK4) under `ConstantStepSize`; torch runs the same tableau in `torch_backend.scan`, with the
network an `nn.Sequential` evaluated by `torch.func.functional_call` (JAX: an equinox MLP placed from θ
by `eqx.tree_at`).

Adjoints (the problem's subject):

- `objective` (JAX) solves with diffrax's `RecursiveCheckpointAdjoint`, the reverse-mode default for
  training (grad, value_and_grad). It is a `custom_vjp`, which forward mode cannot enter, so the vector
  map `solve` uses `DirectAdjoint`, which differentiates the same solve in both modes (jvp, vjp).
- `grad_backsolve` (JAX only): diffrax's `BacksolveAdjoint`, the continuous adjoint of Chen et al.
  (2018): the adjoint ODE solved backwards with the same 3/8 rule and step. It is not the derivative
  of the discrete map: it agrees with it within the scheme's discretisation error, O(dt⁴).
- torchdiffeq, the library a PyTorch user would pick, on the grid t_n = n·dt with method "rk4" (the
  3/8 rule), differentiated by classic `torch.autograd` as its users do; these return the gradient
  themselves (prebuilt, torch only):
  `grad_torchdiffeq_classic` backpropagates through `odeint`: the same discrete map, so roundoff;
  `grad_torchdiffeq_adjoint_classic` uses `odeint_adjoint`, the continuous adjoint again, one "rk4"
  step per grid interval backwards: O(dt⁴) from the discrete gradient.
  `grad_torchdiffeq_adjoint` is torch.func.grad of `odeint_adjoint`: a known failure, since its
  autograd.Function has no `setup_context` (plain `odeint` runs under torch.func: it is torch ops).

Reference (NumPy, complex-safe): the same discrete map written in torchdiffeq's form above, not from
the tableau the implementations share. θ may carry leading batch axes, so `grad` and `jacobian` are
complex steps along all P = 1186 coordinates of θ in one batched solve (exact to roundoff).

Layout: y = θ = {b0 (32,), b1 (2,), w0 (32, 2), w1 (2, 32)} (torch's nn.Linear / equinox's Linear
weight layout, out × in); args = {z0 (B, 2), targets (B, 2), steps: int, t1: float}.
Inputs: weights Glorot-uniform, biases U(−0.5, 0.5); z0 ~ N(0, 1); the targets are z0 carried by the
damped rotation ż = A z, A = [[−0.1, 2], [−2, −0.1]], in closed form: e^{−0.1 t1} R(−2 t1) z0 —
the spiral the network would be trained to reproduce.

Sizes: small B = 4, 4 steps (dt = 0.25): torch.compile unrolls the step loop, so the parity cells
keep it short; medium B = 32, 20 steps; bench B = 256, 100 steps (dt = 0.01); the sweep runs 25 to
400 steps at B = 256: backpropagation through a loop stores every step (torch, torchdiffeq's odeint),
RecursiveCheckpointAdjoint a few binomial checkpoints, the continuous adjoints none.
jacfwd, jacrev and vmap are left out: jacfwd would push P = 1186 tangents through the solve for 2B
outputs; jacrev is vjp row by row; and each JAX transform costs a diffrax compilation per dtype in
the parity suite.

Invariants used by the tests: θ with W₁ = 0 and b₁ = 0 gives f ≡ 0, whose flow is the identity
exactly; negating (W₁, b₁) negates f, so solving again from Z(t1) returns to z0 within the scheme's
error; targets equal to Z(t1) give a zero gradient; permuting the batch rows permutes Z(t1).
"""

from __future__ import annotations

import numpy as np

from sciad.checks import COMPLEX_STEP
from sciad.errors import SciadError
from sciad.spec import KnownFailure, Layout, Problem, Reference, Tolerance, Variant

WIDTH = 32

# Both implementations step by Kutta's 3/8 rule as problems._stepping.THREE_EIGHTHS holds it (JAX as a
# diffrax solver, torch by the shared stepper); the reference writes the rule out by hand.


def build(rng: np.random.Generator, batch: int, steps: int, t1: float = 1.0):
    if batch < 1 or steps < 1:
        raise SciadError(f"batch={batch} and steps={steps} are not accepted; both must be at least 1")
    theta = {}
    for k, (fan_in, fan_out) in enumerate([(2, WIDTH), (WIDTH, 2)]):
        limit = np.sqrt(6.0 / (fan_in + fan_out))
        theta[f"w{k}"] = rng.uniform(-limit, limit, (fan_out, fan_in))
        theta[f"b{k}"] = rng.uniform(-0.5, 0.5, fan_out)
    z0 = rng.standard_normal((batch, 2))
    args = {"z0": z0, "targets": spiral(z0, t1), "steps": steps, "t1": float(t1)}
    # Keys in sorted order, the order in which sciad.checks.ravel lays out y's coordinates.
    return {key: theta[key] for key in sorted(theta)}, args


def spiral(z0, t):
    """z0 carried by ż = A z, A = [[−0.1, 2], [−2, −0.1]], for time t: e^{−0.1 t} times a clockwise rotation
    by 2t, row by row."""
    cos, sin = np.cos(2.0 * t), np.sin(2.0 * t)
    return np.exp(-0.1 * t) * (z0 @ np.array([[cos, -sin], [sin, cos]]))


# The reference functions accept θ with leading batch axes (`...`) on every array, so that a
# derivative is one complex-step solve along all coordinates at once.


def _t(w):
    return np.swapaxes(w, -1, -2)


def field(theta, z):
    """f_θ(z) for states z of shape (..., B, 2)."""
    hidden = np.tanh(z @ _t(theta["w0"]) + theta["b0"][..., None, :])
    return hidden @ _t(theta["w1"]) + theta["b1"][..., None, :]


def solve(theta, args):
    """Z(t1), (..., B, 2), by `steps` steps of the 3/8 rule (torchdiffeq's rk4_alt_step_func form)."""
    z, steps = args["z0"], args["steps"]
    dt = args["t1"] / steps
    for _ in range(steps):
        k1 = field(theta, z)
        k2 = field(theta, z + dt * k1 / 3)
        k3 = field(theta, z + dt * (k2 - k1 / 3))
        k4 = field(theta, z + dt * (k1 - k2 + k3))
        z = z + dt * (k1 + 3 * (k2 + k3) + k4) / 8
    return z


def value(theta, args):
    return np.mean((solve(theta, args) - args["targets"]) ** 2, axis=(-2, -1))


def _complex_steps(fn, theta):
    """∂fn/∂θ_i for every coordinate i of θ (sorted keys, row-major), from one batched call: (P, *out)."""
    keys = sorted(theta)
    offsets = np.cumsum([0, *(theta[key].size for key in keys)])
    steps = 1j * COMPLEX_STEP * np.eye(offsets[-1])
    shifted = {
        key: theta[key] + steps[:, offsets[k] : offsets[k + 1]].reshape(-1, *theta[key].shape) for k, key in enumerate(keys)
    }
    return np.imag(fn(shifted)) / COMPLEX_STEP


def grad(theta, args):
    """∇_θ of `value` by complex steps (exact to roundoff), in θ's layout."""
    flat = _complex_steps(lambda shifted: value(shifted, args), theta)
    offsets = np.cumsum([0, *(theta[key].size for key in sorted(theta))])
    return {key: flat[offsets[k] : offsets[k + 1]].reshape(theta[key].shape) for k, key in enumerate(sorted(theta))}


def jacobian(theta, args):
    """The (2B, P) Jacobian of `solve` by complex steps."""
    columns = _complex_steps(lambda shifted: solve(shifted, args), theta)
    return columns.reshape(len(columns), -1).T


def negated(theta):
    """θ whose field is −f_θ (W₁, b₁ negated): solving with it runs the flow backwards in time."""
    return {key: -array if key in ("w1", "b1") else array for key, array in theta.items()}


# ---------------------------------------------------------------------------------------------

# The continuous adjoint differs from the derivative of the discrete map by the 3/8 rule's error on the
# adjoint ODE, O(dt⁴), beside which float32 roundoff (≤ 4.2e-7) is small.
_CONTINUOUS_ADJOINT = Tolerance(
    5e-5,
    5e-5,
    "continuous adjoint against the discrete gradient: the 3/8 rule's discretisation error on the "
    "backward adjoint solve at dt = 0.25, measured ≤ 2.0e-5 over seeds 0–39 (float64) and 0–15 (float32)",
)

SPEC = Problem(
    name="neural_ode",
    summary="neural ODE 2-32-2 tanh: fixed-step 3/8-rule RK4, diffrax adjoints vs torch.func vs torchdiffeq",
    build=build,
    sizes={
        "small": {"batch": 4, "steps": 4},
        "medium": {"batch": 32, "steps": 20},
        "bench": {"batch": 256, "steps": 100},
    },
    layout=Layout(
        y={"b0": (WIDTH,), "b1": (2,), "w0": (WIDTH, 2), "w1": (2, WIDTH)},
        args={"z0": ("B", 2), "targets": ("B", 2), "steps": int, "t1": float},
    ),
    reference=Reference(value=value, grad=grad, vector_map=solve, jacobian=jacobian, complex_step=True),
    transforms=(
        "value",
        "grad",
        "value_and_grad",
        "jvp",
        "vjp",
        "grad_backsolve",
        "grad_torchdiffeq_classic",
        "grad_torchdiffeq_adjoint_classic",
        "grad_torchdiffeq_adjoint",
    ),
    vector_map="solve",
    # Measured at most 1.7e-15 (float64, jvp) and 4.2e-7 (float32, jvp) between the frameworks and against
    # the reference, seeds 0–9 (float64) and 0–15 (float32).
    tolerance=Tolerance(
        1e-10, 2e-6, "the same 3/8-rule map in both; float32 roundoff through 4 steps of 4 network evaluations, measured ≤ 4.2e-7"
    ),
    reference_tolerance={
        "grad_backsolve": _CONTINUOUS_ADJOINT,
        "grad_torchdiffeq_adjoint_classic": _CONTINUOUS_ADJOINT,
        "grad_torchdiffeq_adjoint": _CONTINUOUS_ADJOINT,
    },
    variants={
        "grad_backsolve": Variant("grad", "objective_backsolve", frameworks=("jax",)),
        "grad_torchdiffeq_classic": Variant("grad", "grad_torchdiffeq_classic", prebuilt=True, frameworks=("torch",)),
        "grad_torchdiffeq_adjoint_classic": Variant(
            "grad", "grad_torchdiffeq_adjoint_classic", prebuilt=True, frameworks=("torch",)
        ),
        "grad_torchdiffeq_adjoint": Variant("grad", "objective_torchdiffeq_adjoint", frameworks=("torch",)),
    },
    compile_regions=("objective", "solve"),
    known_failures=(
        KnownFailure(
            "torch",
            "grad_torchdiffeq_adjoint",
            "torch.func cannot enter torchdiffeq.odeint_adjoint: its OdeintAdjointMethod is an autograd.Function "
            "with a combined forward(ctx, ...) and no setup_context staticmethod, which every torch.func transform "
            "requires ('RuntimeError: In order to use an autograd.Function with functorch transforms (vmap, grad, "
            "jvp, jacrev, ...), it must override the setup_context staticmethod', torchdiffeq 0.2.5, torch 2.13); "
            "classic autograd runs it (grad_torchdiffeq_adjoint_classic)",
        ),
        KnownFailure(
            "torch",
            None,
            "torch.compile unrolls the Python step loop into one graph (torch.func has no differentiable scan), whose "
            "cold compile grows with the steps beyond the benchmark's timeout at the 100 steps of bench and the "
            "sweep's 25 to 400 (timings in benchmarks/README.md)",
            mode="compile",
            sizes=("bench",),
        ),
    ),
    sweep=("steps", (25, 50, 100, 200, 400)),
    # The adjoints' timings at bench size: benchmarks/README.md.
)
