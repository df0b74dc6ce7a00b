"""Invariants of the leapfrog N-body map: total momentum conserved, time reversibility, a symplectic
Jacobian in the canonical coordinates (q, p = m v), and an energy drift bounded by (dt/t_s)²."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import problems
import sciad

from ..support import compiled, run

NAME = "nbody"
SPEC = problems.get(NAME)
seeds = st.integers(0, 2**31 - 1)


def _compiled(framework: str, function: str):
    return compiled(NAME, function, framework)


def _call(framework: str, function: str, y, args) -> np.ndarray:
    out = sciad.to_numpy(_compiled(framework, function)(*sciad.convert((y, args), framework)))
    assert out.dtype == y.dtype
    return np.array(out)


def _flip_velocities(state: np.ndarray) -> np.ndarray:
    return np.stack([state[0], -state[1]])


@given(seed=seeds)
def test_simulate_conserves_total_momentum(framework, seed):
    y, args = SPEC.make_inputs("small", seed=seed)
    masses = args["masses"][:, None]
    end = _call(framework, "simulate", y, args)
    before, after = np.sum(masses * y[1], axis=0), np.sum(masses * end[1], axis=0)
    # Pair forces cancel exactly up to summation order: roundoff (measured ≤ 1.2e-16) on momenta of order 0.1,
    # while a force breaking Newton's third law moves the momentum by about t·|a| ~ 1e-2.
    assert np.abs(after - before).max() <= 1e-13


@given(seed=seeds)
def test_simulate_is_time_reversible(framework, seed):
    y, args = SPEC.make_inputs("small", seed=seed)
    there = _call(framework, "simulate", y, args)
    back = _flip_velocities(_call(framework, "simulate", _flip_velocities(there), args))
    assert np.abs(there - y).max() > 1e-4  # the trajectory went somewhere
    # Kick-drift-kick is its own inverse under v → −v; only roundoff remains (measured ≤ 1.2e-16).
    assert np.abs(back - y).max() <= 1e-12


@given(seed=seeds)
def test_simulate_jacobian_is_symplectic_in_canonical_coordinates(framework, seed):
    y, args = SPEC.make_inputs("small", seed=seed)
    size = y.size
    jacobian = run(NAME, "jacfwd", framework, y, args)
    jacobian = np.asarray(jacobian).reshape(size, size)
    # From (q, v) to (q, p = m v): M_qp = D M D⁻¹ with D = diag(1, …, 1, m_1, m_1, m_1, …, m_N, m_N, m_N).
    scale = np.concatenate([np.ones(size // 2), np.repeat(args["masses"], 3)])
    canonical = scale[:, None] * jacobian / scale[None, :]
    identity, zero = np.eye(size // 2), np.zeros((size // 2, size // 2))
    omega = np.block([[zero, identity], [-identity, zero]])
    assert np.abs(canonical - np.eye(size)).max() > 1e-3  # a non-trivial flow map
    # Leapfrog is a composition of symplectic shears; only roundoff remains (measured ≤ 1.6e-15).
    assert np.abs(canonical.T @ omega @ canonical - omega).max() <= 1e-12


@pytest.mark.parametrize("dt, steps", [(1e-2, 10), (1e-3, 100)])  # the same time t = 0.1
@given(seed=seeds)
def test_energy_drift_is_bounded_by_the_softened_core_frequency(framework, dt, steps, seed):
    y, args = SPEC.make_inputs("small", seed=seed, steps=steps)
    args = dict(args, dt=dt)
    masses = args["masses"][:, None]
    start = float(_call(framework, "energy", y, args))
    end = float(_call(framework, "energy", _call(framework, "simulate", y, args), args))
    kinetic = 0.5 * np.sum(masses * y[1] ** 2)
    energy_scale = kinetic + abs(start - kinetic)  # K + |V|: H itself may be near zero
    # Leapfrog's energy error is O(dt²) times the squared frequency of the fastest motion, at most that
    # of the softened core, G·M/s³. The bound (dt/t_s)², t_s = √(s³/(G M)), holds with a margin of
    # about 24: the drift measured at most 0.041 (dt/t_s)² over 3·10⁴ seeds at dt = 0.01, 0.009 at dt = 0.001.
    core_frequency_squared = args["G"] * np.sum(args["masses"]) / args["softening"] ** 3
    assert abs(end - start) / energy_scale <= dt**2 * core_frequency_squared
