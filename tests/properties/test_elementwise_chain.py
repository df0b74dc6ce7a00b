"""Invariants of the elementwise chain: each element's result depends on that element alone (the
gradient of one element's change is local), the orbit stays in [−1, 1.4], and the lax.fori_loop
gradient equals the unrolled one (JAX)."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

import problems

from ..support import run

NAME = "elementwise_chain"
SPEC = problems.get(NAME)
seeds = st.integers(0, 2**31 - 1)
ROUNDOFF = 1e-13


@given(seed=seeds, index=st.integers(0, SPEC.sizes["small"]["n"] - 1))
def test_changing_one_element_changes_only_its_gradient(framework, seed, index):
    x, args = SPEC.make_inputs("small", seed)
    moved = x.copy()
    moved[index] = -moved[index]
    before, after = run(NAME, "grad", framework, x, args), run(NAME, "grad", framework, moved, args)
    others = np.arange(x.size) != index
    assert np.array_equal(before[others], after[others])


@given(seed=seeds)
def test_values_stay_within_the_chains_bounds(framework, seed):
    x, args = SPEC.make_inputs("small", seed)
    value = float(run(NAME, "value", framework, x, args))
    assert -1.0 * x.size <= value <= 1.4 * x.size


@given(seed=seeds)
def test_fori_loop_gradient_equals_the_unrolled_one(seed):
    x, args = SPEC.make_inputs("small", seed)
    unrolled, scanned = run(NAME, "grad", "jax", x, args), run(NAME, "grad_scan", "jax", x, args)
    assert np.abs(unrolled - scanned).max() <= ROUNDOFF
