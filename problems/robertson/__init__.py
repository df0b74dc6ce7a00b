r"""Robertson's stiff chemical kinetics: sensitivities of a stiff ODE solution to log reaction rates.

Three species A → B (k₁), B + B → C + B (k₂), B + C → A + C (k₃), dimensionless concentrations
y = (y₁, y₂, y₃), time in seconds:

    y₁' = −k₁y₁ + k₃y₂y₃
    y₂' =  k₁y₁ − k₂y₂² − k₃y₂y₃
    y₃' =  k₂y₂²

with k* = (0.04, 3·10⁷, 10⁴) (s⁻¹) and u(0) = (1, 0, 0). The rates span nine decades: y₂ rises to its
quasi-steady value √(k₁/k₂) ≈ 4·10⁻⁵ within ~10⁻³ s while y₁ decays over ~10² s, and the Jacobian's
fast eigenvalue, about −(2k₂y₂ + k₃y₃) ~ −10³…−10⁴, makes every explicit method useless. The three
right-hand sides sum to zero, so y₁ + y₂ + y₃ = 1 for all t.

Design. The natural choices are diffrax's adaptive Kvaerno5 on the JAX side and a fixed-step implicit
scheme on the torch side. Those are different discretisations, which would make the JAX-vs-torch cells
a comparison of two solvers' errors (~10⁻² at the small size) rather than a parity check. Instead both
frameworks' `solve` compute the same fixed-step scheme below, so the cross cells hold to roundoff (the
default 1e-10 in float64) and jvp, vjp, jacrev and vmap run in both; the adaptive diffrax solve is a
JAX-only variant (`solve_adaptive`, `objective_adaptive`) checked against the continuous reference alone.

Fixed-step scheme (`solve`, both frameworks): the 3-stage Radau IIA collocation method (order 5,
L-stable, stiffly accurate) on a geometric grid

    t₀ = 0,   t_{1+j} = t_first · ρʲ,  j = 0 … intervals (the last exactly t_end),
    ρ = (t_end / t_first)^(1/intervals),

i.e. one step of t_first from 0, then `intervals` steps whose length grows by ρ each (the solution
changes on a logarithmic time scale). A step of length h from u solves for the stage increments
Z = (Z₁, Z₂, Z₃), Zᵢ = h Σⱼ aᵢⱼ f(u + Zⱼ), by exactly `newton` full Newton iterations from Z = 0,

    [I₉ − h (A ⊗ I₃) diag(J(u + Zⱼ))] δ = −(Z − h (A ⊗ I₃) F(u + Z)),   Z ← Z + δ,

each a 9×9 LU solve, then u ← u + Z₃. The count is fixed (no convergence test), so there is no
data-dependent control flow and torch.func differentiates the unrolled iterations. The residual after
four iterations measured ≤ 1e-7 at intervals = 7 and ≤ 2e-16 at intervals ≥ 28, far below the
discretisation error either way. Saves are the step states themselves at t_first·ρ^(save_every·k),
k = 1 … intervals/save_every (no interpolation). The implementations write f in its quadratic form,
f(u) = L u + ½ B(u, u), J(u) = L + B(u, ·), f(u) = ½ (L + J(u)) u, with L and B assembled once per solve
from the constant tensors LINEAR and QUADRATIC: a few tensor operations per Newton iteration instead of
a dozen scalar ones (torch.compile's cost grows with every unrolled operation); the reference writes f
out term by term. JAX solves with jnp.linalg.solve; torch with torch.linalg.lu_factor_ex + lu_solve,
the factorisation torch.linalg.solve runs, without the singularity check that torch.compile turns into
an effectful operation, which makes Inductor bypass its FX graph cache (a cold compile on every run).
The steps run in lax.scan (JAX) and `torch_backend.scan` (torch), the Newton iterations in an inner lax.scan (JAX)
and a Python loop (torch).

Mass conservation of the scheme is exact in exact arithmetic, even for an unconverged Newton iteration:
1ᵀf ≡ 0 gives 1ᵀJ ≡ 0, so summing each 3-row block of the Newton system gives 1ᵀδᵢ = −1ᵀ(residual)ᵢ =
−1ᵀZᵢ, i.e. after any iteration every stage increment has zero total. Only roundoff remains (measured
≤ 4e-15 in float64). Positivity is not guaranteed by Radau IIA; from u0 = (1, 0, 0) no concentration
went negative (rates within ±1 of log k*), while a start with much B already present did (−5e-5).

Adaptive variant (`solve_adaptive`, JAX only): diffrax Kvaerno5 (ESDIRK 5(4)) with a PIDController
(integral-only, diffrax's default coefficients), rtol = 1e-8, atol = 1e-12 in float64 and rtol = 1e-4,
atol = 1e-8 in float32 (float32 cannot resolve 1e-8, and below atol = 1e-8 the error estimate of y₂ is
roundoff: every step is rejected until max_steps), dt0 = t_first, SaveAt(ts=save_times), the default
RecursiveCheckpointAdjoint. That adjoint is a jax.custom_vjp around diffrax's bounded while loop, so
reverse mode works and forward mode (jvp, jacfwd) does not ("can't apply forward-mode autodiff (jvp) to
a custom_vjp function"); the variant is therefore checked by value_and_grad only. About half of
Kvaerno5's steps are rejected here (1027 steps, 496 rejected in float64 at the small inputs).

Benchmark baselines (`value_and_grad_radau`, `value_and_grad_lsoda`, NumPy/SciPy only): the same value and
gradient as one would compute them without AD, by SciPy `solve_ivp` at diffrax's float64 rtol/atol on the
state and its forward sensitivities (the 12-equation system of the reference, with its analytic 12×12
Jacobian), dt0 = t_first. Radau is the like-for-like method (implicit Runge–Kutta of order 5, as Kvaerno5)
stepped in Python; LSODA (ODEPACK, Adams/BDF switching, compiled stepping) is SciPy's fastest here. Their
error control covers the sensitivities too, where diffrax's reverse mode controls the state alone. Against
the reference (value and full gradient, on the metric): Radau ≤ 8.1e-11 and LSODA ≤ 2.7e-9 over seeds 0–3
at small and bench size, within value_and_grad_adaptive's 1e-8 (Kvaerno5 itself: ≤ 1.2e-9).

Functions:

    solve(y, args)      → U (T, 3), the concentrations at the save times
    objective(y, args)  = mean over the T×3 entries of ((U − observations) / s)²,  s = max over time of
                          the observations per species, so the tiny y₂ weighs as much as y₁ and y₃
    rhs(y, args)        → f(observations, k), (T, 3): the rates at the observed states (jacfwd of it is
                          the transform `jacfwd_rhs`, the Jacobian of the right-hand side)

Layout: y = log k (3,); args = {u0 (3,), save_times (T,), observations (T, 3), t_first: float,
t_end: float, intervals: int, save_every: int, newton: int}. `save_times` must be the schedule's save
times (`build` makes them so): the fixed-step solve uses the Python scalars, the adaptive solve and the
reference the array.
Inputs: y = log k* + 0.05·N(0, 1); u0 = (1, 0, 0); t_first = 1e-5 s, t_end = 100 s, newton = 4;
observations = the reference solution at log k* (noise-free). Sizes: small 7 intervals (one per
decade) with saves at 10⁻⁴ … 10² s (T = 7); bench 224 intervals (32 per decade), T = 56. The small size
is coarse because torch.compile unrolls every Newton iteration of every step, and its cold compile grows
with their number (timings in benchmarks/README.md). The scheme's accuracy is checked instead by
a property test of its fifth-order convergence at 28 and 56 intervals.

Reference: SciPy `solve_ivp(method="Radau", rtol=1e-10, atol=1e-14)` on the state together with its
forward sensitivities S = ∂u/∂log k (12 equations, S' = J S + ∂f/∂log k, S(0) = 0), memoised per input.
The gradient and the Jacobian of `solve` come from S — the derivatives of the continuous solution to the
solver's tolerance — rather than from central differences of Radau solves: one solve per input instead
of seven, and no difference-quotient noise. Central differences (fd_step
1e-4 in log k) serve only the benchmark's projected check of vector maps. The fixed scheme differs from
this reference by its discretisation error: at one step per decade 1.3e-2 of each species' scale at
worst, falling 31× per halving of the steps from 28 intervals on (fifth order).
"""

from __future__ import annotations

import functools
import math

import numpy as np

from sciad.errors import SciadError
from sciad.spec import Baseline, KnownFailure, Layout, Problem, Reference, Tolerance, Variant

LOG_RATES = tuple(math.log(k) for k in (0.04, 3e7, 1e4))
U0 = (1.0, 0.0, 0.0)
T_FIRST, T_END, NEWTON = 1e-5, 100.0, 4

# Radau IIA, 3 stages (Hairer & Wanner, Solving ODEs II, Table IV.5.6): c = ((4 − √6)/10, (4 + √6)/10, 1).
_S6 = math.sqrt(6.0)
RADAU_A = (
    ((88 - 7 * _S6) / 360, (296 - 169 * _S6) / 1800, (-2 + 3 * _S6) / 225),
    ((296 + 169 * _S6) / 1800, (88 + 7 * _S6) / 360, (-2 - 3 * _S6) / 225),
    ((16 - _S6) / 36, (16 + _S6) / 36, 1 / 9),
)


# f is quadratic: f(u) = L u + ½ B(u, u), hence J(u) = L + B(u, ·), with L = Σₘ kₘ LINEAR[m] and
# B = Σₘ kₘ QUADRATIC[m] (B symmetric in its last two indices). The implementations build L and B once per
# solve and evaluate f = ½ (L + J(u)) u, which takes a few tensor operations instead of a dozen scalar ones
# (torch.compile's cost grows with the unrolled operation count). The reference writes f out term by term.
LINEAR = (
    ((-1.0, 0.0, 0.0), (1.0, 0.0, 0.0), (0.0, 0.0, 0.0)),  # k₁: A → B
    ((0.0,) * 3,) * 3,
    ((0.0,) * 3,) * 3,
)


def _quadratic(entries):
    tensor = [[[0.0] * 3 for _ in range(3)] for _ in range(3)]
    for (i, j, k), coefficient in entries.items():
        tensor[i][j][k] = coefficient
    return tuple(tuple(tuple(row) for row in matrix) for matrix in tensor)


QUADRATIC = (
    _quadratic({}),
    _quadratic({(1, 1, 1): -2.0, (2, 1, 1): 2.0}),  # k₂y₂²: ∂²/∂y₂² = 2
    _quadratic({(0, 1, 2): 1.0, (0, 2, 1): 1.0, (1, 1, 2): -1.0, (1, 2, 1): -1.0}),  # k₃y₂y₃
)


def grid(t_first: float, t_end: float, intervals: int) -> list[float]:
    """The step times t₀ = 0, t_first·ρʲ (j = 0 … intervals − 1), t_end: Python floats every implementation shares."""
    ratio = (t_end / t_first) ** (1.0 / intervals)
    # The last time is t_end itself, not t_first·ρ^intervals, which rounds above it (SaveAt needs ts ≤ t1).
    return [0.0] + [t_first * ratio**j for j in range(intervals)] + [t_end]


def step_sizes(t_first: float, t_end: float, intervals: int) -> list[float]:
    times = grid(t_first, t_end, intervals)
    return [later - earlier for earlier, later in zip(times[:-1], times[1:])]


def schedule_save_times(t_first: float, t_end: float, intervals: int, save_every: int) -> np.ndarray:
    """The states after steps save_every, 2·save_every, … of the geometric part: t_first·ρ^(save_every·k)."""
    return np.array(grid(t_first, t_end, intervals)[1 + save_every :: save_every])


# ---------------------------------------------------------------------------------------------
# The NumPy reference: SciPy Radau on the state and its forward sensitivities.


def field(u, rates):
    """f(u, k) for states u of shape (..., 3); complex-safe (arithmetic only)."""
    y1, y2, y3 = u[..., 0], u[..., 1], u[..., 2]
    r1, r2, r3 = rates[0] * y1, rates[1] * y2 * y2, rates[2] * y2 * y3
    return np.stack([-r1 + r3, r1 - r2 - r3, r2], axis=-1)


def _sensitivity_field(t, w, rates):
    u, sens = w[:3], w[3:].reshape(3, 3)
    y1, y2, y3 = u
    r1, r2, r3 = rates[0] * y1, rates[1] * y2 * y2, rates[2] * y2 * y3
    jacobian = np.array(
        [
            [-rates[0], rates[2] * y3, rates[2] * y2],
            [rates[0], -2 * rates[1] * y2 - rates[2] * y3, -rates[2] * y2],
            [0.0, 2 * rates[1] * y2, 0.0],
        ]
    )
    by_log_rate = np.array([[-r1, 0.0, r3], [r1, -r2, -r3], [0.0, r2, 0.0]])  # ∂f/∂log kₘ = kₘ ∂f/∂kₘ
    return np.concatenate([field(u, rates), (jacobian @ sens + by_log_rate).ravel()])


@functools.lru_cache(maxsize=64)
def _radau(log_rates: tuple, u0: tuple, times: tuple) -> tuple[np.ndarray, np.ndarray]:
    from scipy.integrate import solve_ivp  # lazily: `import problems` stays light

    rates = np.exp(np.array(log_rates))
    start = np.concatenate([np.array(u0), np.zeros(9)])
    solution = solve_ivp(
        _sensitivity_field, (0.0, times[-1]), start, method="Radau", t_eval=np.array(times), args=(rates,), rtol=1e-10, atol=1e-14
    )
    if not solution.success:
        raise SciadError(f"SciPy's reference solve failed at log k = {log_rates}: {solution.message}")
    states = solution.y.T
    return states[:, :3], states[:, 3:].reshape(-1, 3, 3)


def radau(y, args) -> tuple[np.ndarray, np.ndarray]:
    """(U (T, 3), S (T, 3, 3) = ∂U/∂log k) of the continuous solution, memoised per input."""
    key = (
        tuple(np.asarray(y, np.float64).tolist()),
        tuple(np.asarray(args["u0"], np.float64).tolist()),
        tuple(np.asarray(args["save_times"], np.float64).tolist()),
    )
    return _radau(*key)


def trajectory(y, args) -> np.ndarray:
    return radau(y, args)[0]


def trajectory_jacobian(y, args) -> np.ndarray:
    """∂U/∂log k as the (T·3, 3) matrix."""
    return radau(y, args)[1].reshape(-1, 3)


# ---------------------------------------------------------------------------------------------
# The SciPy baseline of value_and_grad_adaptive: what one would run without an AD framework.

# diffrax's float64 tolerances (jax_impl.ADAPTIVE_TOLERANCES), so that both solve to the same accuracy target.
ADAPTIVE_RTOL, ADAPTIVE_ATOL = 1e-8, 1e-12


def _sensitivity_jacobian(t, w, rates):
    """The analytic (12, 12) Jacobian of `_sensitivity_field`: an implicit solver's Newton matrix would
    otherwise cost 12 extra right-hand sides by finite differences at every refresh."""
    u, sens = w[:3], w[3:].reshape(3, 3)
    y1, y2, y3 = u
    k1, k2, k3 = rates
    jacobian = np.array(
        [
            [-k1, k3 * y3, k3 * y2],
            [k1, -2 * k2 * y2 - k3 * y3, -k3 * y2],
            [0.0, 2 * k2 * y2, 0.0],
        ]
    )
    curvature = np.zeros((3, 3, 3))  # ∂J_ij/∂u_l, constant since f is quadratic
    curvature[0, 1, 2] = curvature[0, 2, 1] = k3
    curvature[1, 1, 1] = -2 * k2
    curvature[1, 1, 2] = curvature[1, 2, 1] = -k3
    curvature[2, 1, 1] = 2 * k2
    by_log_rate = np.zeros((3, 3, 3))  # ∂(∂f_i/∂log k_m)/∂u_l
    by_log_rate[0, 0, 0], by_log_rate[1, 0, 0] = -k1, k1
    by_log_rate[1, 1, 1], by_log_rate[2, 1, 1] = -2 * k2 * y2, 2 * k2 * y2
    by_log_rate[0, 2, 1], by_log_rate[0, 2, 2] = k3 * y3, k3 * y2
    by_log_rate[1, 2, 1], by_log_rate[1, 2, 2] = -k3 * y3, -k3 * y2
    out = np.zeros((12, 12))
    out[:3, :3] = jacobian
    out[3:, :3] = (np.einsum("ijl,jm->iml", curvature, sens) + by_log_rate).reshape(9, 3)
    out[3:, 3:] = np.kron(jacobian, np.eye(3))  # S' = J S acts on each column of S alike
    return out


def _value_and_grad_scipy(y, args, method: str):
    """(value, grad) of the adaptive objective by SciPy's `method` at diffrax's tolerances with forward
    sensitivities: the state and S = ∂u/∂log k in one 12-equation solve, analytic Jacobian, dt0 = t_first.
    The sensitivities share the error control (diffrax's reverse mode controls the state alone)."""
    from scipy.integrate import solve_ivp  # lazily: `import problems` stays light

    rates = np.exp(np.asarray(y, np.float64))
    start = np.concatenate([np.asarray(args["u0"], np.float64), np.zeros(9)])
    solution = solve_ivp(
        _sensitivity_field,
        (0.0, args["t_end"]),
        start,
        method=method,
        t_eval=args["save_times"],
        args=(rates,),
        rtol=ADAPTIVE_RTOL,
        atol=ADAPTIVE_ATOL,
        jac=_sensitivity_jacobian,
        first_step=args["t_first"],
    )
    if not solution.success:
        raise SciadError(f"SciPy's {method} solve failed at log k = {np.asarray(y).tolist()}: {solution.message}")
    states, sens = solution.y.T[:, :3], solution.y.T[:, 3:].reshape(-1, 3, 3)
    scale = species_scale(args["observations"])
    residual = (states - args["observations"]) / scale
    return np.mean(residual**2), np.einsum("ts,tsm->m", 2.0 * residual / scale / states.size, sens)


def value_and_grad_radau(y, args):
    """The like-for-like baseline: Radau IIA (order 5, implicit Runge–Kutta like Kvaerno5), stepped in Python."""
    return _value_and_grad_scipy(y, args, "Radau")


def value_and_grad_lsoda(y, args):
    """SciPy's fastest here: ODEPACK's LSODA (Adams/BDF switching, compiled Fortran stepping)."""
    return _value_and_grad_scipy(y, args, "LSODA")


def species_scale(observations) -> np.ndarray:
    return np.max(np.asarray(observations, np.float64), axis=0)


def value(y, args):
    scale = species_scale(args["observations"])
    return np.mean(((trajectory(y, args) - args["observations"]) / scale) ** 2)


def grad(y, args):
    scale = species_scale(args["observations"])
    states, sens = radau(y, args)
    weighted = 2.0 * (states - args["observations"]) / scale**2 / states.size
    return np.einsum("ts,tsm->m", weighted, sens)


def rhs(y, args):
    """The rates f(observations, k), (T, 3): complex-safe, so jacfwd's reference is the complex step."""
    return field(np.asarray(args["observations"], np.float64), np.exp(y))


def rhs_size(y, args):
    """½‖f(observations, k)‖², the scalar Reference.value must name; jacfwd only uses `rhs`."""
    return 0.5 * np.sum(rhs(y, args) ** 2)


def build(rng: np.random.Generator, intervals: int, save_every: int):
    if intervals % save_every:
        raise SciadError(f"intervals={intervals} is not a multiple of save_every={save_every}; the saves must fall on steps")
    args = {
        "u0": np.array(U0),
        "save_times": schedule_save_times(T_FIRST, T_END, intervals, save_every),
        "t_first": T_FIRST,
        "t_end": T_END,
        "intervals": intervals,
        "save_every": save_every,
        "newton": NEWTON,
    }
    args["observations"] = trajectory(np.array(LOG_RATES), args)
    return np.array(LOG_RATES) + 0.05 * rng.standard_normal(3), args


# Against the continuous reference the fixed scheme is off by its discretisation error at one step per
# decade (7 intervals), which dwarfs float32 roundoff: one tolerance serves both dtypes, about 2.5× the
# worst measured over seeds 0–19 (float64 and float32 alike).
_DISCRETISATION = (
    "Radau IIA's discretisation error at one step per decade (h/t ≈ 0.9) against SciPy Radau "
    "at 1e-10 with forward sensitivities; measured worst over seeds 0–19, float32 alike"
)


def _discretisation(tolerance: float, measured: float) -> Tolerance:
    return Tolerance(tolerance, tolerance, f"{_DISCRETISATION}: ≤ {measured:.2g}")


SPEC = Problem(
    name="robertson",
    summary="Robertson's stiff kinetics: fixed-step Radau IIA with unrolled Newton in both, adaptive diffrax Kvaerno5 in JAX",
    build=build,
    sizes={
        "small": {"intervals": 7, "save_every": 1},
        "bench": {"intervals": 224, "save_every": 4},
    },
    layout=Layout(
        y=(3,),
        args={
            "u0": (3,),
            "save_times": ("T",),
            "observations": ("T", 3),
            "t_first": float,
            "t_end": float,
            "intervals": int,
            "save_every": int,
            "newton": int,
        },
    ),
    reference=Reference(
        value=value, grad=grad, vector_map=trajectory, jacobian=trajectory_jacobian, complex_step=False, fd_step=1e-4
    ),
    transforms=(
        "value",
        "grad",
        "value_and_grad",
        "jvp",
        "vjp",
        "jacrev",
        "vmap",
        "jacfwd_rhs",
        "value_and_grad_adaptive",
    ),
    vector_map="solve",
    # JAX and torch run the same scheme: measured ≤ 4e-15 (float64) and ≤ 1.2e-6 (float32, vjp) over seeds 0–19.
    tolerance=Tolerance(
        1e-10,
        5e-6,
        "the same fixed-step Radau IIA map in both; float32 roundoff through the 32 "
        "Newton solves, whose 9×9 matrices hold entries up to h·k₂·y₂ ~ 10³",
    ),
    reference_tolerance={
        "value": _discretisation(5e-4, 1.8e-4),
        "grad": _discretisation(3e-3, 1.13e-3),
        "value_and_grad": _discretisation(3e-3, 1.13e-3),
        "vmap": _discretisation(3e-3, 1.13e-3),
        "jvp": _discretisation(3e-3, 1.18e-3),
        "vjp": _discretisation(3e-3, 1.23e-3),
        "jacrev": _discretisation(1.5e-3, 5.1e-4),
        "value_and_grad_adaptive": Tolerance(
            1e-8,
            1e-6,
            "Kvaerno5's global error at rtol 1e-8/atol 1e-12 (float64, measured ≤ 1.2e-9 over seeds "
            "0–19, 5.3e-9 at bench size where its dense output serves 56 save times) and rtol 1e-4/atol 1e-8 "
            "(float32, ≤ 2.4e-7; 3.1e-7 at bench size) against SciPy Radau at 1e-10",
        ),
    },
    variants={
        "jacfwd_rhs": Variant("jacfwd", "rhs", reference=Reference(value=rhs_size, vector_map=rhs, complex_step=True)),
        "value_and_grad_adaptive": Variant("value_and_grad", "objective_adaptive", frameworks=("jax",)),
    },
    compile_regions=("objective", "solve"),
    known_failures=(
        KnownFailure(
            "torch",
            None,
            "torch.compile unrolls the Python step loop and every Newton iteration in it into one graph (torch.func "
            "has no differentiable scan), whose cold compile grows with the steps and iterations (timings in "
            "benchmarks/README.md), so 225 steps × 4 cannot compile within the benchmark's limit",
            mode="compile",
            sizes=("bench",),
        ),
    ),
    sweep=("intervals", (28, 56, 112, 224, 448)),
    # value_and_grad_adaptive as one would compute it without AD: SciPy's stiff solvers on the forward
    # sensitivity system, at diffrax's float64 rtol/atol.
    baselines=(
        Baseline(
            "value_and_grad_adaptive",
            value_and_grad_radau,
            "scipy",
            "radau",
            "solve_ivp Radau, rtol 1e-8, atol 1e-12, forward sensitivities, analytic Jacobian",
        ),
        Baseline(
            "value_and_grad_adaptive",
            value_and_grad_lsoda,
            "scipy",
            "lsoda",
            "solve_ivp LSODA, rtol 1e-8, atol 1e-12, forward sensitivities, analytic Jacobian",
        ),
    ),
    # The adaptive solve against its SciPy baselines: benchmarks/README.md.
)
