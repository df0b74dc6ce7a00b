"""Invariants of the determinant by expansion by minors: det(AB) = det(A) det(B), a row swap flips
the sign, and Jacobi's formula: the gradient (the cofactor matrix C) satisfies C Aᵀ = det(A) I."""

from __future__ import annotations

import itertools

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

import problems

from ..support import run

NAME = "det"
SPEC = problems.get(NAME)
ELL = SPEC.sizes["small"]["ell"]  # one shape: JAX compiles once
seeds = st.integers(0, 2**31 - 1)
scales = st.floats(0.1, 10.0)
EPS = float(np.finfo(np.float64).eps)


def _matrix(seed: int, scale: float) -> np.ndarray:
    # Signed entries of any scale, not only the spec's U(0, 1): none of the identities depends on them.
    return scale * np.random.default_rng(seed).standard_normal((ELL, ELL))


def _size(M: np.ndarray) -> float:
    """Π_i ‖row_i‖₁ bounds the sum of |products| that expansion by minors adds up (the permanent of |M|),
    so roundoff in det(M) is at most a few ulps of it: measured ≤ 0.2 ulp in all three properties over
    40 seeds with scales 0.1–10, the tolerances below being 1 ulp."""
    return float(np.prod(np.abs(M).sum(axis=1)))


def _det(framework: str, M: np.ndarray) -> float:
    return float(run(NAME, "value", framework, M, {}))


@given(seed=seeds, scale=scales)
def test_determinant_of_a_product_is_the_product_of_determinants(framework, seed, scale):
    A, B = _matrix(seed, scale), _matrix(seed + 1, 1.0 / scale)
    product = _det(framework, A @ B)
    # The rounding of A @ B itself is bounded through |A||B|, whose row sums dominate those of AB.
    tolerance = EPS * (_size(A) * _size(B) + _size(np.abs(A) @ np.abs(B)))
    assert abs(product - _det(framework, A) * _det(framework, B)) <= tolerance


@given(seed=seeds, scale=scales, rows=st.sampled_from(list(itertools.combinations(range(ELL), 2))))
def test_swapping_two_rows_flips_the_sign(framework, seed, scale, rows):
    A = _matrix(seed, scale)
    swapped = A.copy()
    swapped[list(rows)] = A[list(reversed(rows))]
    assert abs(_det(framework, swapped) + _det(framework, A)) <= EPS * _size(A)


@given(seed=seeds, scale=scales)
def test_gradient_times_transpose_is_det_times_identity(framework, seed, scale):
    A = _matrix(seed, scale)
    det, cofactors = run(NAME, "value_and_grad", framework, A, {})
    # Σ_k C_ik A_jk is the expansion of det along row i (i = j) or of a matrix with two equal rows (i ≠ j).
    np.testing.assert_allclose(cofactors @ A.T, float(det) * np.eye(ELL), rtol=0, atol=EPS * _size(A))
