"""Invariants of the PINN loss: each framework's nested-AD Laplacian equals the closed form, the loss
is unchanged by permuting hidden units, and the θ-gradient matches central differences of the NumPy loss."""

from __future__ import annotations

import functools

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

import problems
import sciad
from problems import pinn_poisson
from sciad import checks

from ..support import run

NAME = "pinn_poisson"
SPEC = problems.get(NAME)
seeds = st.integers(0, 2**31 - 1)


@functools.cache
def _laplacian(framework: str):
    # Compiled once per framework, so JAX compiles once per shape, not per example.
    return sciad.compile(SPEC.implementation(framework).laplacian, framework, sciad.default_mode(framework))


def _scaled(y, scale):
    return {key: scale * value for key, value in y.items()}


@given(seed=seeds, scale=st.floats(0.3, 3.0))
def test_laplacian_by_nested_autodiff_equals_closed_form(framework, seed, scale):
    # A larger scale saturates the tanh units, where the second-derivative terms dominate; points
    # also outside the unit square, since Δu is a property of the network, not of the domain.
    y, _ = SPEC.make_inputs("small", seed=seed)
    y = _scaled(y, scale)
    points = np.random.default_rng(seed).uniform(-1.0, 2.0, (16, 2))
    out = sciad.to_numpy(_laplacian(framework)(*sciad.convert((y, points), framework)))
    expected = pinn_poisson.laplacian(y, points)
    assert out.dtype == np.float64
    # Measured ≤ 6e-14: at scale 3 the Laplacian is a difference of large second-derivative terms.
    assert checks.error({"laplacian": expected}, {"laplacian": out}) <= 1e-12


def _permuted(y, first, second):
    # Hidden unit i of layer k is row i of w_k and b_k and column i of w_{k+1}.
    return {
        "b0": y["b0"][first],
        "b1": y["b1"][second],
        "b2": y["b2"],
        "w0": y["w0"][first],
        "w1": y["w1"][second][:, first],
        "w2": y["w2"][:, second],
    }


@given(seed=seeds)
def test_loss_is_invariant_under_permuting_hidden_units(framework, seed):
    y, args = SPEC.make_inputs("small", seed=seed)
    rng = np.random.default_rng(seed)
    first, second = rng.permutation(pinn_poisson.WIDTH), rng.permutation(pinn_poisson.WIDTH)
    before = float(run(NAME, "value", framework, y, args))
    after = float(run(NAME, "value", framework, _permuted(y, first, second), args))
    # Only the summation order over hidden units changes (measured 0 over 10 seeds); forgetting the
    # columns of w1 changes the loss by ≥ 5e-3.
    assert abs(after - before) <= 1e-13 * max(1.0, abs(before))


@given(seed=seeds)
def test_gradient_along_random_directions_matches_central_differences(framework, seed):
    y, args = SPEC.make_inputs("small", seed=seed)
    gradient = checks.ravel(run(NAME, "grad", framework, y, args))
    x, unravel = checks.ravel(y), checks.unraveler(y)
    rng = np.random.default_rng(seed)
    for _ in range(3):
        direction = rng.standard_normal(x.size)
        direction /= np.linalg.norm(direction)
        difference = checks.directional_derivative(lambda z: pinn_poisson.value(unravel(z), args), x, direction)[0]
        # Step 1e-6·‖θ‖ ≈ 6e-6: truncation h²·f‴ and roundoff ε·L/h are both ~1e-9 on a loss of order 100
        # (measured ≤ 1.2e-9).
        assert abs(gradient @ direction - difference) <= 1e-7 * max(1.0, abs(difference))
