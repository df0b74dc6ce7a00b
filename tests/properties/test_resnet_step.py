"""Invariants of the residual CNN: the hand-written NumPy gradient is the complex-step derivative of
the NumPy loss, a zero learning rate leaves the parameters as they were, and group norm makes the loss
blind to a common shift of the biases of the convolution before it."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

import problems
from problems import resnet_step

from ..support import run

NAME = "resnet_step"
SPEC = problems.get(NAME)
seeds = st.integers(0, 2**31 - 1)


@given(seed=seeds, key=st.sampled_from(sorted(SPEC.layout.y)), position=st.integers(0, 2**16))
def test_hand_gradient_is_the_complex_step_derivative(seed, key, position):
    y, args = SPEC.make_inputs("small", seed)
    index = position % y[key].size
    shifted = {k: v.astype(complex) for k, v in y.items()}
    flat = shifted[key].ravel()
    flat[index] += 1e-30j
    shifted[key] = flat.reshape(y[key].shape)
    expected = resnet_step.value(shifted, args).imag / 1e-30
    # Complex step is exact to roundoff; the hand sweep sums O(100) products of O(1) terms.
    assert abs(resnet_step.grad(y, args)[key].ravel()[index] - expected) <= 1e-13 * max(1.0, abs(expected))


@given(seed=seeds)
def test_zero_learning_rate_leaves_the_parameters(framework, seed):
    y, args = SPEC.make_inputs("small", seed)
    trained = run(NAME, "train", framework, y, dict(args, learning_rate=0.0))
    for key in y:
        assert np.array_equal(np.asarray(trained[key]), y[key])


@given(seed=seeds, shift=st.floats(-3.0, 3.0))
def test_loss_is_blind_to_a_common_shift_before_group_norm(framework, seed, shift):
    # conv1's output feeds GN2 alone, which subtracts each group's mean: a common shift of its bias is removed.
    y, args = SPEC.make_inputs("small", seed)
    before = float(run(NAME, "value", framework, y, args))
    after = float(run(NAME, "value", framework, dict(y, b0_conv1_b=y["b0_conv1_b"] + shift), args))
    assert abs(after - before) <= 1e-12 * max(1.0, abs(before))
