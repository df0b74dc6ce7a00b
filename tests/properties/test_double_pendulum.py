"""Invariants of the double pendulum: the accelerations that autodiff derives from the Lagrangian are the
textbook closed form, and RK4 conserves the energy up to its O(dt⁴) global error."""

from __future__ import annotations

import functools

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import problems
import sciad
from problems import double_pendulum
from sciad import frameworks

NAME = "double_pendulum"
SPEC = problems.get(NAME)
seeds = st.integers(0, 2**31 - 1)


@functools.cache
def _compiled(framework: str, function: str):
    # One compiled function per framework, so JAX compiles once per shape and static args, not per example.
    fn = getattr(SPEC.implementation(framework), function)
    return frameworks.load(framework).compile(fn, sciad.default_mode(framework))


def _call(framework: str, function: str, y, args) -> np.ndarray:
    out = np.asarray(sciad.to_numpy(_compiled(framework, function)(*sciad.convert((y, args), framework))))
    assert out.dtype == y.dtype
    return out


@given(seed=seeds)
def test_autodiff_accelerations_equal_the_closed_form(framework, seed):
    _, args = SPEC.make_inputs("small", seed=seed)
    rng = np.random.default_rng(seed)
    # Far beyond the inputs of the parity cells: any angles, fast rotations.
    y = np.concatenate([rng.uniform(-np.pi, np.pi, 2), rng.uniform(-5.0, 5.0, 2)])
    expected = double_pendulum.accelerations(y, args)
    actual = _call(framework, "accelerations", y, args)
    # Two routes to the same q̈ (a solve with autodiff second derivatives, the hand-derived formula):
    # roundoff only, measured ≤ 4e-15 on accelerations of order 10–100 rad/s².
    assert np.abs(actual - expected).max() <= 1e-12 * max(1.0, np.abs(expected).max())


@pytest.mark.parametrize("dt, steps", [(0.02, 5), (0.01, 10)])  # the same time t = 0.1 s
@given(seed=seeds)
def test_energy_drift_shrinks_as_the_fourth_power_of_dt(framework, dt, steps, seed):
    y, args = SPEC.make_inputs("small", seed=seed, steps=steps)
    args = dict(args, dt=dt)
    end = _call(framework, "simulate", y, args)
    assert np.abs(end - y).max() > 1e-3  # the pendulum moved
    drift = abs(double_pendulum.energy(end, args) - double_pendulum.energy(y, args))
    depth = args["g"] * (args["m1"] * args["l1"] + args["m2"] * (args["l1"] + args["l2"]))
    # RK4 conserves energy only up to its global error, C dt⁴ at fixed t. Over 2000 seeds the NumPy
    # reference measured C ≤ 2.16 (in units of the potential depth) at both step sizes, so one constant
    # fits both and the bound 10 dt⁴ holds with a margin of 4.6; a second-order error would not fit it.
    assert drift / depth <= 10 * dt**4
