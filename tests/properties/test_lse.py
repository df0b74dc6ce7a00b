"""Invariants of log-sum-exp: the gradient (softmax) sums to one, a constant shift passes straight
through, the Hessian annihilates the ones vector, and float32 inputs near 1000 do not overflow."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

import problems

from ..support import run

NAME = "lse"
SPEC = problems.get(NAME)
seeds = st.integers(0, 2**31 - 1)
N = SPEC.sizes["small"]["n"]  # one shape: JAX compiles once
EPS = float(np.finfo(np.float64).eps)
EPS32 = float(np.finfo(np.float32).eps)


def _spread(seed: int, scale: float) -> np.ndarray:
    # Wider than the U(0, 1) inputs of the spec, so the softmax is far from uniform.
    return scale * np.random.default_rng(seed).standard_normal(N)


@given(seed=seeds, scale=st.floats(0.1, 30.0))
def test_softmax_gradient_sums_to_one(framework, seed, scale):
    x = _spread(seed, scale)
    s = run(NAME, "grad", framework, x, {})
    assert s.min() >= 0.0
    assert abs(s.sum() - 1.0) <= 8 * EPS  # measured at most 1 ulp over 40 seeds


@given(seed=seeds, shift=st.floats(-1000.0, 1000.0))
def test_value_shifts_by_the_constant_added_to_every_input(framework, seed, shift):
    x = _spread(seed, 3.0)
    before = float(run(NAME, "value", framework, x, {}))
    after = float(run(NAME, "value", framework, x + shift, {}))
    # x + shift is rounded to ulp(|shift| + |x|), and LSE is 1-Lipschitz in the max norm (measured ≤ 0.83 ulp).
    magnitude = abs(shift) + np.abs(x).max() + abs(before)
    assert abs(after - (before + shift)) <= 4 * EPS * magnitude


@given(seed=seeds, scale=st.floats(0.1, 30.0))
def test_hessian_annihilates_the_ones_vector(framework, seed, scale):
    x = _spread(seed, scale)
    hessian = run(NAME, "hessian", framework, x, {})
    # Row sums s_i − s_i Σ s of entries at most 1/4: roundoff, measured ≤ 0.8 ulp of 1 over 40 seeds.
    assert np.abs(hessian @ np.ones(x.size)).max() <= 4 * EPS


@given(seed=seeds, spread=st.floats(0.0, 3.0))
def test_float32_inputs_near_1000_neither_overflow_nor_lose_accuracy(framework, seed, spread):
    x = (1000.0 + spread * np.random.default_rng(seed).standard_normal(N)).astype(np.float32)
    x64 = x.astype(np.float64)  # the float32 inputs themselves, so input rounding is not charged
    value, gradient = run(NAME, "value_and_grad", framework, x, {})
    value, gradient = np.asarray(value), np.asarray(gradient)
    assert value.dtype == gradient.dtype == np.float32
    assert np.isfinite(value) and np.isfinite(gradient).all()
    expected = SPEC.reference.value(x64, {})
    # exp(1000) overflows float32 (and float64): without the max shift the value would be inf, the softmax NaN.
    # Measured over 40 seeds: the value within 0.25 eps32·|LSE|, the gradient within 1.3 eps32.
    assert abs(float(value) - expected) <= 2 * EPS32 * abs(expected)
    assert np.abs(gradient - SPEC.reference.grad(x64, {})).max() <= 4 * EPS32
    assert np.array_equal(run(NAME, "value", framework, x, {}), value)
