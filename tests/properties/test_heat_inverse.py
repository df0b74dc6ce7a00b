"""Invariants of the explicit heat-equation solve: the discrete maximum principle at the stable dt, the
end state linear in the initial state, and the hand-derived adjoint gradient equal to complex step and AD."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

import problems
import sciad
from problems import heat_inverse
from sciad import checks

from ..support import compiled, run

NAME = "heat_inverse"
SPEC = problems.get(NAME)
seeds = st.integers(0, 2**31 - 1)


def _compiled(framework: str, function: str):
    return compiled(NAME, function, framework)


def _simulate(framework: str, y, args) -> np.ndarray:
    out = np.asarray(sciad.to_numpy(_compiled(framework, "simulate")(*sciad.convert((y, args), framework))))
    assert out.dtype == y.dtype
    return out


def _rough_inputs(seed: int):
    """Any log-conductivity of the input range (not only smooth ones) and an initial state of either sign."""
    rng = np.random.default_rng(seed)
    y, args = SPEC.make_inputs("small", seed=seed)
    bound = heat_inverse.LOG_KAPPA_BOUND
    return rng.uniform(-bound, bound, y.shape), dict(args, u0=rng.standard_normal(y.shape)), rng


@given(seed=seeds)
def test_max_abs_temperature_never_grows_at_the_stable_dt(framework, seed):
    y, args, _ = _rough_inputs(seed)
    one_step = dict(args, steps=1)
    u, peaks = args["u0"], [np.abs(args["u0"]).max()]
    for _ in range(30):
        u = _simulate(framework, y, dict(one_step, u0=u))
        peaks.append(np.abs(u).max())
    peaks = np.array(peaks)
    # Each update is a combination of neighbours with non-negative weights summing to at most 1, so only
    # roundoff (a few ulps) can lift max|u|; a dt above h²/(2 max κ) grows the highest mode instead.
    assert np.all(peaks[1:] <= peaks[:-1] * (1 + 1e-14))
    assert peaks[-1] < peaks[0]  # the zero walls drain heat: the check is not vacuous


@given(seed=seeds, alpha=st.floats(-10.0, 10.0), beta=st.floats(-10.0, 10.0))
def test_end_state_is_linear_in_the_initial_state(framework, seed, alpha, beta):
    y, args, rng = _rough_inputs(seed)
    other = rng.standard_normal(y.shape)
    combined = _simulate(framework, y, dict(args, u0=alpha * args["u0"] + beta * other))
    separate = alpha * _simulate(framework, y, args) + beta * _simulate(framework, y, dict(args, u0=other))
    # At fixed κ the step is u ↦ A u: only roundoff separates the two sides.
    scale = max(1.0, abs(alpha) + abs(beta)) * max(1.0, np.abs(args["u0"]).max(), np.abs(other).max())
    assert np.abs(combined - separate).max() <= 1e-13 * scale


@given(seed=seeds)
def test_adjoint_gradient_equals_complex_step_and_automatic_differentiation(framework, seed):
    y, args, _ = _rough_inputs(seed)
    args = dict(args, u_obs=np.random.default_rng(seed + 1).standard_normal(y.shape))
    adjoint = heat_inverse.adjoint_grad(y, args)
    complex_step = checks.jacobian(lambda x: np.asarray(heat_inverse.value(x, args)), y, complex_step=True, step=0.0)[0]
    automatic = run(NAME, "grad", framework, y, args)
    assert np.abs(adjoint).max() > 1e-3  # an informative gradient, not one lost under the tolerance
    # The adjoint recursion is the exact transposed Jacobian of the scheme: the three agree to roundoff.
    assert checks.error({"grad": complex_step}, {"grad": adjoint}) <= 1e-13
    assert checks.error({"grad": automatic}, {"grad": adjoint}) <= 1e-13
