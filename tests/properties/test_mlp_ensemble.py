"""Invariants of the MLP ensemble: one member's data reaches only that member's gradient and trained
parameters; permuting the members permutes every result; Adam's first step moves every coordinate
by the learning rate; the vmapped ensemble is its member modules, stacked."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

import problems
import sciad
from problems.mlp_ensemble import EPS

from ..support import compiled, run

NAME = "mlp_ensemble"
SPEC = problems.get(NAME)
seeds = st.integers(0, 2**31 - 1)
# Float64 roundoff of parameters of order one: the bound on discrepancies that have no mathematical cause.
ROUNDOFF = 1e-14
# Two Adam steps reach the optimiser's state (m, v) and keep torch's eager training loop short.
STEPS = 2


def _members_axis(args, order):
    return dict(args, x=args["x"][:, order], targets=args["targets"][:, order])


@given(seed=seeds)
def test_one_members_data_reaches_only_that_members_gradient_and_trained_parameters(framework, seed):
    rng = np.random.default_rng(seed)
    y, args = SPEC.make_inputs("small", seed=seed)
    args["steps"] = STEPS
    n, members = args["targets"].shape
    k = int(rng.integers(members))
    perturbed = dict(args, x=args["x"].copy(), targets=args["targets"].copy())
    perturbed["x"][:, k] += rng.uniform(-0.5, 0.5, (n, 1))
    perturbed["targets"][:, k] += rng.standard_normal(n)
    others = np.arange(members) != k
    # The perturbation does reach member k: its largest change, measured ≥ 0.045 for the gradient and
    # ≥ 7e-5 after two sign-like Adam steps, over 2000 seeds.
    for transform, reach in (("grad", 1e-2), ("train", 1e-5)):
        before = run(NAME, transform, framework, y, args)
        after = run(NAME, transform, framework, y, perturbed)
        for key in y:
            np.testing.assert_allclose(after[key][others], before[key][others], rtol=0, atol=ROUNDOFF)
        assert max(np.abs(after[key][k] - before[key][k]).max() for key in y) > reach


@given(seed=seeds)
def test_permuting_members_permutes_the_value_gradient_and_trained_parameters(framework, seed):
    y, args = SPEC.make_inputs("small", seed=seed)
    args["steps"] = STEPS
    order = np.random.default_rng(seed).permutation(args["targets"].shape[1])
    if np.all(order == np.sort(order)):
        order = order[::-1]  # never the identity, which would prove nothing
    permuted_y, permuted_args = {key: value[order] for key, value in y.items()}, _members_axis(args, order)
    value, permuted_value = run(NAME, "value", framework, y, args), run(NAME, "value", framework, permuted_y, permuted_args)
    assert abs(permuted_value - value) <= ROUNDOFF * max(1.0, abs(value))  # only the order of the sum over members changes
    for transform in ("grad", "train"):
        out = run(NAME, transform, framework, y, args)
        permuted = run(NAME, transform, framework, permuted_y, permuted_args)
        for key in y:
            np.testing.assert_allclose(permuted[key], out[key][order], rtol=0, atol=ROUNDOFF)


@given(seed=seeds)
def test_first_adam_step_moves_every_coordinate_by_the_learning_rate_against_its_gradient(framework, seed):
    y, args = SPEC.make_inputs("small", seed=seed)
    args["steps"] = 1
    gradient = run(NAME, "grad", framework, y, args)
    trained = run(NAME, "train", framework, y, args)
    rate = args["learning_rate"]
    for key in y:
        step, g = trained[key] - y[key], gradient[key]
        # m̂₁ = g and √v̂₁ = |g|: the step is −α g/(|g| + ε), of size α up to a relative ε/|g| (sign-like).
        assert np.all(np.abs(step) <= rate + ROUNDOFF)
        assert np.all(np.abs(step) >= rate * np.abs(g) / (np.abs(g) + EPS) - ROUNDOFF)
        assert np.all(np.sign(step) == -np.sign(g))


@given(seed=seeds)
def test_ensemble_is_its_member_modules_stacked(framework, seed):
    impl = SPEC.implementation(framework)
    y, args = SPEC.make_inputs("small", seed=seed)
    y_native, x_native = sciad.convert((y, args["x"]), framework)
    ensemble = sciad.to_numpy(compiled(NAME, "predict", framework)(y_native, x_native))
    models = impl.members(y_native)
    restacked = sciad.to_numpy(impl.stack_members(models))
    for key in y:
        np.testing.assert_array_equal(restacked[key], y[key])
    for k, model in enumerate(models):
        alone = sciad.to_numpy(_predict_alone(framework, model, x_native[:, k]))
        np.testing.assert_allclose(ensemble[:, k], alone, rtol=0, atol=ROUNDOFF)


def _predict_alone(framework, model, points):
    """One member module called on its own points (N, 1), as a user of that framework would."""
    if framework == "jax":
        import jax

        return jax.vmap(model)(points)
    return model(points).squeeze(-1)
