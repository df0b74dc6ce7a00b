"""Generic properties of every problem's derivatives, in both frameworks, generated from the registry:
the adjoint identity ⟨J v, w⟩ = ⟨v, Jᵀ w⟩, Hessian symmetry, and hvp = Hessian · v (both nestings)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import problems
from sciad import checks

from .support import run

seeds = st.integers(0, 2**31 - 1)


def _with(transform):
    return [name for name in problems.names() if transform in problems.get(name).transforms]


def _random_like(tree, rng):
    return checks.unraveler(tree)(rng.standard_normal(checks.ravel(tree).size))


@pytest.mark.parametrize("name", [n for n in _with("jvp") if "vjp" in problems.get(n).transforms])
@given(seed=seeds)
def test_jvp_and_vjp_are_adjoint(name, framework, seed):
    spec = problems.get(name)
    rng = np.random.default_rng(seed)
    y, args = spec.make_inputs("small", seed=0)
    v = _random_like(y, rng)
    out, jv = run(name, "jvp", framework, y, args, v)
    w = _random_like(out, rng)
    _, jtw = run(name, "vjp", framework, y, args, w)
    lhs, rhs = float(checks.ravel(jv) @ checks.ravel(w)), float(checks.ravel(v) @ checks.ravel(jtw))
    assert abs(lhs - rhs) <= 1e-10 * max(1.0, abs(lhs) + abs(rhs))


@pytest.mark.parametrize("name", _with("hessian"))
@given(seed=seeds)
def test_hessian_is_symmetric(name, framework, seed):
    spec = problems.get(name)
    y, args = spec.make_inputs("small", seed=seed)
    h = checks.y_by_y(run(name, "hessian", framework, y, args), y)
    assert np.abs(h - h.T).max() <= 1e-10 * max(1.0, np.abs(h).max())


@pytest.mark.parametrize("hvp", ["hvp_fwd_rev", "hvp_rev_rev"])
@pytest.mark.parametrize("name", [n for n in _with("hessian") if "hvp_fwd_rev" in problems.get(n).transforms])
@given(seed=seeds)
def test_hvp_equals_hessian_times_vector(name, hvp, framework, seed):
    spec = problems.get(name)
    y, args = spec.make_inputs("small", seed=seed)
    v = _random_like(y, np.random.default_rng(seed + 1))
    h = checks.y_by_y(run(name, "hessian", framework, y, args), y)
    hv = checks.ravel(run(name, hvp, framework, y, args, v))
    expected = h @ checks.ravel(v)
    assert np.abs(hv - expected).max() <= 1e-10 * max(1.0, np.abs(expected).max())
