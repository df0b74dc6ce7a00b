"""Invariants of GradBench's ode chain: a lower-triangular Jacobian (y_i depends on x_0 … x_i only),
the computed solution as the product of the inputs times a coefficient of RK4's step polynomial
(zero beyond component 4s), and fourth-order convergence to the exact solution for constant inputs."""

from __future__ import annotations

import functools

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import problems
import sciad
from problems import ode_chain
from sciad import frameworks

from ..support import run

NAME = "ode_chain"
SPEC = problems.get(NAME)
seeds = st.integers(0, 2**31 - 1)


@functools.cache
def _solve(framework: str):
    # One compiled solve per framework; JAX compiles once per step count (a static scan length).
    return frameworks.load(framework).compile(SPEC.implementation(framework).solve, sciad.default_mode(framework))


def _call_solve(framework: str, x, args) -> np.ndarray:
    out = np.asarray(sciad.to_numpy(_solve(framework)(*sciad.convert((x, args), framework))))
    assert out.dtype == x.dtype
    return out


@given(seed=seeds)
def test_solve_jacobian_is_lower_triangular(framework, seed):
    x, args = SPEC.make_inputs("small", seed=seed)
    jacobian = run(NAME, "jacrev", framework, x, args)
    # No path carries x_j into y_i for j > i: the cotangents there are exact zeros, not roundoff.
    assert np.all(np.triu(jacobian, 1) == 0.0)
    # With n ≤ 4s and x > 0, every entry on and below the diagonal is a positive product.
    assert np.all(jacobian[np.tril_indices(len(x))] > 0.0)


@pytest.mark.parametrize("steps", [1, 4])  # n = 8: four components beyond 4s = 4, or none
@given(seed=seeds)
def test_solve_is_the_input_product_times_the_rk4_polynomial_coefficient(framework, steps, seed):
    x, args = SPEC.make_inputs("small", seed=seed, steps=steps)
    computed = _call_solve(framework, x, args)
    expected = np.cumprod(x) * ode_chain.rk4_coefficients(len(x), steps)
    assert np.all(computed[4 * steps :] == 0.0)  # T₄(hz)ˢ has degree 4s: nothing reaches y_i for i ≥ 4s
    # Sums and products of positive numbers, no cancellation: relative roundoff of a few ulps
    # (measured ≤ 6.5e-16 over 100 seeds).
    assert np.all(np.abs(computed - expected) <= 1e-13 * np.abs(expected))


@given(c=st.floats(0.5, 2.0))
def test_rk4_converges_at_fourth_order_to_the_exact_solution_for_constant_inputs(framework, c):
    x = np.full(8, c)
    exact = ode_chain.exact_solution(x, ode_chain.T_FINAL)  # y_i(2) = c^{i+1} 2^{i+1} / (i+1)!
    coarse = _call_solve(framework, x, {"steps": 16})
    fine = _call_solve(framework, x, {"steps": 32})
    # y_0 … y_3 are polynomials of degree ≤ 4 in t, which RK4 integrates exactly (measured ≤ 8.5e-16).
    assert np.all(np.abs(fine[:4] - exact[:4]) <= 1e-13 * exact[:4])
    # Beyond, the error is O(h⁴): halving h divides it by 16 up to O(h) terms, which the exact
    # discrete coefficients put at 15.57, 15.16, 14.75 for y_5 … y_7 (exactly 16 for y_4).
    ratio = (exact[4:] - coarse[4:]) / (exact[4:] - fine[4:])
    assert np.all((14.5 <= ratio) & (ratio <= 16.0 + 1e-6))
