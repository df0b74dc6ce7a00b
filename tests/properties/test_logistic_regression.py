"""Invariants of logistic regression: per-sample gradients average to the gradient; the Hessian's
spectrum is bounded below by the ridge weight λ."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

import problems

from ..support import run

NAME = "logistic_regression"
SPEC = problems.get(NAME)


def _run(framework: str, transform: str, y, args):
    return run(NAME, transform, framework, y, args)


@given(seed=st.integers(0, 2**31 - 1))
def test_mean_of_per_sample_grads_plus_ridge_term_equals_grad(framework, seed):
    y, args = SPEC.make_inputs("small", seed=seed)
    per_sample = _run(framework, "per_sample_grad", y, args)
    gradient = _run(framework, "grad", y, args)
    assert per_sample.shape == (args["X"].shape[0], y.shape[0])
    np.testing.assert_allclose(per_sample.mean(axis=0) + args["l2"] * y, gradient, rtol=0, atol=1e-14)


@given(
    seed=st.integers(0, 2**31 - 1),
    scale=st.floats(0.1, 30.0),
    l2=st.sampled_from([1e-3, 1e-2, 1e-1]),
)
def test_hessian_eigenvalues_are_at_least_l2_and_attain_it_when_samples_are_fewer_than_weights(framework, seed, scale, l2):
    # n = 4 < d = 8: the data term Xᵀ diag(σ(1−σ)) X / n has rank ≤ 4, so the smallest eigenvalue is λ
    # exactly; a large `scale` saturates σ and pushes the other eigenvalues towards λ too.
    y, args = SPEC.make_inputs("small", seed=seed, n=4)
    args["l2"] = l2
    hessian = _run(framework, "hessian", scale * y, args)
    np.testing.assert_allclose(hessian, hessian.T, rtol=0, atol=1e-15)  # eigvalsh reads one triangle only
    eigenvalues = np.linalg.eigvalsh(hessian)
    roundoff = 1e-13 * max(1.0, np.abs(eigenvalues).max())
    assert eigenvalues.min() >= l2 - roundoff
    assert abs(eigenvalues.min() - l2) <= roundoff
