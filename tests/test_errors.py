"""Bad input gets one clear sentence naming the value and what is accepted."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import problems
import sciad
from sciad import SciadError


def test_unknown_problem_names_the_value_and_the_choices():
    with pytest.raises(SciadError, match=r"unknown problem 'nope'; problems are: bundle_adjustment, .*rosenbrock"):
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
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_input_is_named(framework, bad):
    spec = problems.get("rosenbrock")
    y, args = spec.make_inputs()
    y[3] = bad
    fn = sciad.transform("rosenbrock", "value", framework=framework)
    with pytest.raises(SciadError, match=r"y of problem 'rosenbrock' contains NaN or Inf; finite inputs are accepted"):
        fn(*sciad.convert((y, args), framework))


@pytest.mark.parametrize("framework", ["jax", "torch"])
def test_numpy_inputs_are_converted_alike_in_both_frameworks(framework):
    spec = problems.get("rosenbrock")
    y, args = spec.make_inputs()
    from_numpy = sciad.to_numpy(sciad.transform("rosenbrock", "grad", framework=framework)(y, args))
    converted = sciad.to_numpy(sciad.transform("rosenbrock", "grad", framework=framework)(*sciad.convert((y, args), framework)))
    np.testing.assert_array_equal(from_numpy, converted)


def _tangent_call(framework, transform, tangent_of):
    spec = problems.get("rosenbrock")
    y, args = spec.make_inputs()
    fn = sciad.transform("rosenbrock", transform, framework=framework)
    return lambda: fn(*sciad.convert((y, args, tangent_of(y)), framework))


@pytest.mark.parametrize("framework", ["jax", "torch"])
@pytest.mark.parametrize("transform", ["hvp_fwd_rev", "hvp_rev_rev"])
@pytest.mark.parametrize(
    "tangent_of, message",
    [
        (lambda y: np.ones(y.size + 1), r"the tangent has shape \(17,\); it must have the shape of y, \(16,\)"),
        (lambda y: np.ones(y.shape, np.float32), r"the tangent has dtype float32, but the inputs are float64"),
        (lambda y: np.full(y.shape, np.nan), r"the tangent contains NaN or Inf; finite values are accepted"),
    ],
)
def test_bad_tangent_is_named(framework, transform, tangent_of, message):
    with pytest.raises(SciadError, match=message):
        _tangent_call(framework, transform, tangent_of)()


@pytest.mark.parametrize("framework", ["jax", "torch"])
def test_cotangent_of_the_wrong_shape_is_named(framework):
    spec = problems.get("nbody")
    y, args, (cotangent,) = sciad.transforms.inputs(spec, "vjp", "small", "float64")
    fn = sciad.transform(spec.name, "vjp", framework=framework)
    with pytest.raises(SciadError, match=r"the cotangent has shape .*; it must have the shape of the vector map's output"):
        fn(*sciad.convert((y, args, cotangent[..., :-1]), framework))


def test_missing_extra_input_is_named():
    spec = problems.get("rosenbrock")
    y, args = spec.make_inputs()
    with pytest.raises(SciadError, match=r"transform 'hvp_fwd_rev' takes \(y, args\) and a tangent as third argument"):
        sciad.transform("rosenbrock", "hvp_fwd_rev", framework="jax")(y, args)


@pytest.mark.parametrize("value", [-1, 0, 2.5, "abc", True])
def test_size_override_must_be_a_positive_integer(value):
    with pytest.raises(SciadError, match=rf"size parameter n={value!r} of problem 'rosenbrock' is not accepted; a positive"):
        problems.get("rosenbrock").make_inputs(n=value)


def test_a_list_is_described_as_a_list():
    spec = problems.get("rosenbrock")
    y, args = spec.make_inputs()
    with pytest.raises(SciadError, match=r"y of problem 'rosenbrock' must be an array of shape \('n',\); got a list$"):
        spec.validate(list(y), args)


def test_a_batch_on_the_wrong_axis_is_named_as_such():
    spec = problems.get("logistic_regression")
    y, args = spec.make_batch(batch=2)
    with pytest.raises(SciadError, match=r"\(batch axis first\).*a batch of y stacks inputs along a new first axis"):
        spec.validate(np.ascontiguousarray(y.T), args, batched=True)


def test_missing_args_key_is_named():
    spec = problems.get("rosenbrock")
    y, args = spec.make_inputs()
    with pytest.raises(SciadError, match=r"have keys \['a'\]; expected exactly \['a', 'b'\]"):
        spec.validate(y, {"a": 1.0})


def test_convert_rejects_what_it_cannot_convert():
    with pytest.raises(SciadError, match=r"cannot convert str to torch"):
        sciad.convert({"x": "text"}, "torch")


def test_a_bench_note_under_a_name_the_report_does_not_read_is_refused():
    spec = problems.get("rosenbrock")
    message = r"unknown bench note 'cheap_gradeint' of problem 'rosenbrock'; bench notes are: cheap_gradient"
    with pytest.raises(SciadError, match=message):
        dataclasses.replace(spec, bench_notes={"cheap_gradeint": "typo"})
