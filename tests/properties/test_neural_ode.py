"""Invariants of the neural ODE's flow map Z(t1) = solve(θ, z0) and of its loss, in both frameworks."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

import problems
import sciad
from problems.neural_ode import negated

from ..support import compiled, run

NAME = "neural_ode"
SPEC = problems.get(NAME)
seeds = st.integers(0, 2**31 - 1)


def _solve(framework, theta, args):
    out = sciad.to_numpy(compiled(NAME, "solve", framework)(*sciad.convert((theta, args), framework)))
    assert out.dtype == args["z0"].dtype
    return out


@given(seed=seeds)
def test_flow_of_a_zero_field_is_the_identity(framework, seed):
    theta, args = SPEC.make_inputs("small", seed=seed)
    # W₁ = 0 and b₁ = 0 make f ≡ 0 whatever W₀, b₀: every stage increment is an exact zero.
    theta = dict(theta, w1=np.zeros_like(theta["w1"]), b1=np.zeros_like(theta["b1"]))
    np.testing.assert_array_equal(_solve(framework, theta, args), args["z0"])


@given(seed=seeds)
def test_solving_the_negated_field_returns_to_the_start(framework, seed):
    theta, args = SPEC.make_inputs("small", seed=seed)
    end = _solve(framework, theta, args)
    assert np.abs(end - args["z0"]).max() > 0.1  # the flow moved (≥ 0.2 measured over 300 seeds)
    back = _solve(framework, negated(theta), dict(args, z0=end))
    # −f runs the flow backwards, but the scheme only approximately: the round trip misses z0 by the
    # 3/8 rule's error, which falls 32× per halving of dt. Measured at size small (dt = 0.25) ≤ 3.8e-5
    # over 300 seeds (median 1e-7); forward Euler misses by ≥ 2.6e-3 (median 7e-2), Heun by a median 2e-4.
    assert np.abs(back - args["z0"]).max() <= 1e-4


@given(seed=seeds)
def test_loss_gradient_vanishes_when_the_targets_are_reached(framework, seed):
    theta, args = SPEC.make_inputs("small", seed=seed)
    args = dict(args, targets=_solve(framework, theta, args))
    gradient = np.concatenate([np.ravel(g) for g in run(NAME, "grad", framework, theta, args).values()])
    # Every residual is zero but for the roundoff between two compiled solves: the gradient, a sum of
    # residuals times sensitivities of order one, is zero to roundoff (an error would show as ~1e-2).
    assert np.abs(gradient).max() <= 1e-13


@given(seed=seeds, order=st.permutations(range(SPEC.sizes["small"]["batch"])))
def test_permuting_the_batch_permutes_the_end_states(framework, seed, order):
    theta, args = SPEC.make_inputs("small", seed=seed)
    end = _solve(framework, theta, args)
    permuted = _solve(framework, theta, dict(args, z0=args["z0"][list(order)]))
    # Each row flows on its own; only a matrix product's kernel may round a row differently by its position.
    np.testing.assert_allclose(permuted, end[list(order)], rtol=0, atol=1e-14)
