"""The transform table: each name builds the same composition in either framework.

A transformed function takes `(y, args)` and, where the transform needs one, a third argument:
`jvp` and the two hvps take a tangent shaped like `y`; `vjp` takes a cotangent shaped like the vector
map's output; `vmap` takes `y` with a leading batch axis and returns the batch of gradients;
`per_sample_grad` returns one gradient per data row, stacked on a leading axis.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import numpy as np

from . import checks, frameworks
from .errors import choose
from .spec import MODES, Problem, cast

# The extra input each transform takes after (y, args): a tangent like y, a cotangent like the
# vector map's output, or nothing.
EXTRA_INPUT = {"jvp": "tangent", "hvp_fwd_rev": "tangent", "hvp_rev_rev": "tangent", "vjp": "cotangent"}


def _value(fw, fn, spec):
    return fn


def _grad(fw, fn, spec):
    return fw.grad(fn)


def _value_and_grad(fw, fn, spec):
    return fw.value_and_grad(fn)


def _hessian(fw, fn, spec):
    return fw.hessian(fn)


def _jacfwd(fw, fn, spec):
    return fw.jacfwd(fn)


def _jacrev(fw, fn, spec):
    return fw.jacrev(fn)


def _jvp(fw, fn, spec):
    return lambda y, args, tangent: fw.jvp(lambda y_: fn(y_, args), y, tangent)


def _vjp(fw, fn, spec):
    return lambda y, args, cotangent: fw.vjp(lambda y_: fn(y_, args), y, cotangent)


def _hvp_fwd_rev(fw, fn, spec):
    gradient = fw.grad(fn)
    return lambda y, args, tangent: fw.jvp(lambda y_: gradient(y_, args), y, tangent)[1]


def _hvp_rev_rev(fw, fn, spec):
    gradient = fw.grad(fn)
    return lambda y, args, tangent: fw.vjp(lambda y_: gradient(y_, args), y, tangent)[1]


def _vmap(fw, fn, spec):
    return fw.vmap(fw.grad(fn), in_dims=(0, None))


def _per_sample_grad(fw, fn, spec):
    _, sample_keys = spec.per_sample
    in_dims = {key: (0 if key in sample_keys else None) for key in spec.layout.args}
    return fw.vmap(fw.grad(fn), in_dims=(None, in_dims))


BUILDERS: dict[str, Callable] = {
    "value": _value,
    "grad": _grad,
    "value_and_grad": _value_and_grad,
    "hessian": _hessian,
    "hvp_fwd_rev": _hvp_fwd_rev,
    "hvp_rev_rev": _hvp_rev_rev,
    "vmap": _vmap,
    "map": _value,
    "jvp": _jvp,
    "vjp": _vjp,
    "jacfwd": _jacfwd,
    "jacrev": _jacrev,
    "per_sample_grad": _per_sample_grad,
}


@dataclasses.dataclass(frozen=True)
class Transformed:
    """A transformed, possibly compiled function. Calling it validates the inputs first;
    `raw` skips validation (the benchmark validates once, then times `raw`)."""

    problem: Problem
    transform: str
    framework: str
    mode: str
    raw: Callable

    def __call__(self, y, args, *extra):
        self.problem.validate(y, args, batched=self.problem.base_transform(self.transform) == "vmap")
        return self.raw(y, args, *extra)


def build(spec: Problem, transform: str, framework: str, mode: str) -> Transformed:
    spec.check_transform(transform)
    choose("framework", framework, tuple(MODES))
    choose("mode", mode, MODES[framework], f"for framework {framework!r}")
    choose("framework", framework, spec.frameworks_for(transform), f"for transform {transform!r} of problem {spec.name!r}")
    fw = frameworks.load(framework)
    impl = spec.implementation(framework)
    fn = getattr(impl, spec.function_for(transform))
    variant = spec.variants.get(transform)
    transformed = fn if variant and variant.prebuilt else BUILDERS[spec.base_transform(transform)](fw, fn, spec)
    return Transformed(spec, transform, framework, mode, fw.compile(transformed, mode))


def inputs(spec: Problem, transform: str, size: str, dtype: str, seed: int = 0, batch: int | None = None, **overrides):
    """NumPy inputs `(y, args, extra)` for one transform, identical for both frameworks.

    `extra` is `()` or a 1-tuple holding the tangent or cotangent (standard normal, seeded from
    `seed + 1`); for `vmap`, `y` carries a leading batch axis of length `batch` (default `spec.batch`).
    """
    base = spec.base_transform(transform)
    if base == "vmap":
        y, args = spec.make_batch(size, seed, dtype, batch, **overrides)
        return y, args, ()
    y, args = spec.make_inputs(size, seed, dtype, **overrides)
    kind = EXTRA_INPUT.get(base)
    if kind is None:
        return y, args, ()
    if kind == "tangent":
        like = y
    else:  # a cotangent shaped like the vector map's output
        like = spec.reference_for(transform).vector_map(cast(y, "float64"), cast(args, "float64"))
    draws = np.random.default_rng(seed + 1).standard_normal(checks.ravel(like).size)
    return y, args, (cast(checks.unraveler(like)(draws), dtype),)
