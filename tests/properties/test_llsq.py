"""Invariants of the linear least-squares objective: f is quadratic, so its Hessian AᵀA is positive
semidefinite and the same at every x, and its gradient is affine, ∇f(x + v) − ∇f(x) = H v."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

import problems

from ..support import run

NAME = "llsq"
SPEC = problems.get(NAME)
seeds = st.integers(0, 2**31 - 1)
EPS = float(np.finfo(np.float64).eps)


def _point(seed: int, scale: float):
    # Any x, not only the spec's U(0, 1) draws: neither property depends on where f is evaluated.
    y, args = SPEC.make_inputs("small", seed=seed)
    return scale * np.random.default_rng(seed).standard_normal(y.shape), args


@given(seed=seeds, scale=st.floats(0.1, 100.0))
def test_hessian_is_positive_semidefinite_and_the_same_at_every_x(framework, seed, scale):
    x, args = _point(seed, scale)
    at_x = run(NAME, "hessian", framework, x, args)
    at_zero = run(NAME, "hessian", framework, np.zeros_like(x), args)
    # x enters no tangent of a quadratic: the Hessian is the same computation wherever it is taken.
    np.testing.assert_array_equal(at_x, at_zero)
    eigenvalues = np.linalg.eigvalsh(at_x)
    assert eigenvalues.min() >= -64 * EPS * eigenvalues.max()


@given(seed=seeds, scale=st.floats(0.1, 100.0), step=st.floats(1e-3, 10.0))
def test_gradient_is_affine_with_the_hessian_as_slope(framework, seed, scale, step):
    x, args = _point(seed, scale)
    v = step * np.random.default_rng(seed + 1).standard_normal(x.shape)
    before, after = run(NAME, "grad", framework, x, args), run(NAME, "grad", framework, x + v, args)
    hessian = run(NAME, "hessian", framework, x, args)
    # Each gradient carries the rounding of sums of n terms up to |A||x| in size, about ulp(n·(|x| + 1))
    # per component (|A_ij| ≤ 1); measured at most 0.4 ulp of n·(‖x‖₁ + ‖x + v‖₁ + 1) over 40 seeds.
    n, size = args["n"], np.abs(x).sum() + np.abs(x + v).sum() + 1.0
    np.testing.assert_allclose(after - before, hessian @ v, rtol=0, atol=2 * EPS * n * size)
