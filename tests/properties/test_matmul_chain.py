"""Invariants of the matrix-product chain: the per-sample gradients (vmap, loop and batched-autograd
trick alike) average to the full gradient, and the objective is homogeneous of degree two in each matrix."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

import problems

from ..support import run

NAME = "matmul_chain"
SPEC = problems.get(NAME)
seeds = st.integers(0, 2**31 - 1)
ROUNDOFF = 1e-13  # float64 roundoff of O(1) sums of products


@given(seed=seeds)
def test_per_sample_gradients_average_to_the_gradient(framework, seed):
    y, args = SPEC.make_inputs("small", seed)
    full = run(NAME, "grad", framework, y, args)
    for transform in ("per_sample_grad", "per_sample_grad_loop", "per_sample_grad_trick"):
        rows = run(NAME, transform, framework, y, args)
        for key in y:
            assert rows[key].shape == (args["x"].shape[0], *y[key].shape)
            assert np.abs(rows[key].mean(axis=0) - full[key]).max() <= ROUNDOFF


@given(seed=seeds, scale=st.floats(0.25, 4.0))
def test_value_is_quadratic_in_each_matrix(framework, seed, scale):
    y, args = SPEC.make_inputs("small", seed)
    before = float(run(NAME, "value", framework, y, args))
    for key in y:
        after = float(run(NAME, "value", framework, dict(y, **{key: scale * y[key]}), args))
        assert abs(after - scale**2 * before) <= ROUNDOFF * max(1.0, scale**2 * before)
