"""Invariants of the fixed-step Radau IIA solve of Robertson's kinetics: total concentration conserved to
roundoff (even by an unconverged Newton iteration), no negative concentration from pure A, and the
scheme's fifth-order convergence to the continuous (SciPy Radau) solution."""

from __future__ import annotations

import functools

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import problems
import sciad
from problems.robertson import LOG_RATES, NEWTON
from sciad import frameworks

NAME = "robertson"
SPEC = problems.get(NAME)
seeds = st.integers(0, 2**31 - 1)


@functools.cache
def _compiled(framework: str, function: str):
    # One compiled function per framework, so JAX compiles once per shape and static args, not per example.
    fn = getattr(SPEC.implementation(framework), function)
    return frameworks.load(framework).compile(fn, sciad.default_mode(framework))


def _solve(framework: str, y, args) -> np.ndarray:
    out = np.asarray(sciad.to_numpy(_compiled(framework, "solve")(*sciad.convert((y, args), framework))))
    assert out.dtype == y.dtype
    return out


def _rates_within_one_of_the_standard(rng: np.random.Generator) -> np.ndarray:
    return np.array(LOG_RATES) + rng.uniform(-1.0, 1.0, 3)


# One Newton iteration from Z = 0 is far from converged (residual ~1e-1), NEWTON iterations converge.
# Measured worst drift over 300 inputs: 6e-11 after one iteration (roundoff on increments of order the
# unconverged, large Newton steps) and 3.7e-15 after NEWTON; a wrong stoichiometric coefficient moves
# the total by ~h·k·y ≥ 1e-4.
@pytest.mark.parametrize("newton, bound", [(1, 1e-9), (NEWTON, 1e-13)])
@given(seed=seeds)
def test_solve_conserves_total_concentration(framework, newton, bound, seed):
    rng = np.random.default_rng(seed)
    y = _rates_within_one_of_the_standard(rng)
    _, args = SPEC.make_inputs("small")
    # Any start on the simplex: y₁ + y₂ + y₃ = 1 whatever the mixture.
    args = dict(args, u0=rng.dirichlet(np.ones(3)), newton=newton)
    states = _solve(framework, y, args)
    assert np.ptp(np.vstack([args["u0"], states]), axis=0).max() > 1e-3  # the mixture reacted
    # 1ᵀf ≡ 0 makes every Newton update sum to zero per stage, converged or not: only roundoff remains.
    assert np.abs(states.sum(axis=1) - 1.0).max() <= bound


@given(seed=seeds)
def test_concentrations_stay_nonnegative_from_pure_a(framework, seed):
    y = _rates_within_one_of_the_standard(np.random.default_rng(seed))
    _, args = SPEC.make_inputs("small")
    states = _solve(framework, y, args)
    # Radau IIA does not preserve positivity in general (a start with much B measured −5e-5), but from
    # u0 = (1, 0, 0) the smallest concentration measured 3e-10 > 0 over 300 inputs (y₃ at 10⁻⁴ s);
    # −1e-15 allows roundoff around a zero.
    assert states.min() >= -1e-15


def test_solve_converges_at_fifth_order_to_the_continuous_solution(framework):
    errors = []
    for intervals in (28, 56):
        y, args = SPEC.make_inputs("small", seed=0, intervals=intervals, save_every=intervals // 7)
        states = _solve(framework, y, args)
        exact = SPEC.reference.vector_map(y, args)
        errors.append(np.max(np.abs(states - exact) / exact.max(axis=0)))
    # Fifth order halves the step and divides the error by 32: measured 31–33 (error 2.8e-6 → 9.1e-8 of
    # each species' scale, seeds 0–3). A wrong tableau entry or a broken Newton step lowers the order.
    assert errors[1] <= 1e-6
    assert errors[0] / errors[1] >= 2**4.5
