"""Bad input gets one clear sentence naming the value and what is accepted."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import problems
import sciad
from sciad import SciadError


def test_unknown_problem_names_the_value_and_the_choices():
    with pytest.raises(SciadError, match=r"unknown problem 'nope'; problems are: rosenbrock"):
        problems.get("nope")


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"transform": "curl"}, r"unknown transform 'curl' for problem 'rosenbrock'; transforms are: value, grad"),
        ({"framework": "tensorflow"}, r"unknown framework 'tensorflow'; frameworks are: jax, torch"),
        ({"mode": "compile", "framework": "jax"}, r"unknown mode 'compile' for framework 'jax'; modes are: jit, eager"),
    ],
)
def test_unknown_transform_framework_or_mode(kwargs, message):
    options = {"transform": "grad", "framework": "torch", "mode": "eager", **kwargs}
    with pytest.raises(SciadError, match=message):
        sciad.transform("rosenbrock", options["transform"], framework=options["framework"], mode=options["mode"])


def test_unknown_size_names_the_problem_and_its_sizes():
    with pytest.raises(SciadError, match=r"unknown size 'huge' for problem 'rosenbrock'; sizes are: small, medium, bench"):
        problems.get("rosenbrock").make_inputs(size="huge")


@pytest.mark.parametrize("seed", [-1, 1.5, "0", True])
def test_bad_seed(seed):
    with pytest.raises(SciadError, match=r"seed .* is not accepted; a non-negative integer is"):
        problems.get("rosenbrock").make_inputs(seed=seed)


def test_unknown_dtype():
    with pytest.raises(SciadError, match=r"unknown dtype 'float16'; dtypes are: float64, float32"):
        problems.get("rosenbrock").make_inputs(dtype="float16")


@pytest.mark.parametrize("framework", ["jax", "torch"])
def test_mismatched_shapes_are_named(framework):
    spec = problems.get("rosenbrock")
    y, args = spec.make_inputs()
    fn = sciad.transform("rosenbrock", "grad", framework=framework)
    with pytest.raises(SciadError, match=r"y of problem 'rosenbrock' has shape \(4, 4\); expected \(n\)"):
        fn(*sciad.convert((y.reshape(4, 4), args), framework))


@pytest.mark.parametrize("framework", ["jax", "torch"])
def test_mixed_dtypes_are_named(framework):
    spec = problems.get("logistic_regression")
    y, args = spec.make_inputs()
    args = dict(args, X=args["X"].astype(np.float32))
    fn = sciad.transform("logistic_regression", "grad", framework=framework)
    with pytest.raises(SciadError, match=r"mix floating dtypes \['float32', 'float64'\]"):
        fn(*sciad.convert((y, args), framework))


@pytest.mark.parametrize("framework", ["jax", "torch"])
def test_nan_input_is_named(framework):
    spec = problems.get("rosenbrock")
    y, args = spec.make_inputs()
    y[3] = np.nan
    fn = sciad.transform("rosenbrock", "value", framework=framework)
    with pytest.raises(SciadError, match=r"y of problem 'rosenbrock' contains NaN; finite inputs are accepted"):
        fn(*sciad.convert((y, args), framework))


def test_missing_args_key_is_named():
    spec = problems.get("rosenbrock")
    y, args = spec.make_inputs()
    with pytest.raises(SciadError, match=r"have keys \['a'\]; expected exactly \['a', 'b'\]"):
        spec.validate(y, {"a": 1.0})


def test_convert_rejects_what_it_cannot_convert():
    with pytest.raises(SciadError, match=r"cannot convert str to torch"):
        sciad.convert({"x": "text"}, "torch")


def test_spec_naming_a_compiled_transform_it_lacks_is_refused():
    spec = problems.get("rosenbrock")
    with pytest.raises(SciadError, match="'jacfwd_rhs'.*compiled_transform of problem 'rosenbrock'"):
        dataclasses.replace(spec, compiled_transform="jacfwd_rhs")
