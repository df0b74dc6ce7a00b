"""The transform table: one `Transform` record per transform, written once for both frameworks.

A record says everything sciad knows about a transform: which function of an implementation it
applies to, how to build it from a framework adapter, the extra input it takes after `(y, args)`, the
canonical layout of its output, its reference derivative, and how the benchmark projects its output on
random directions to check it cheaply at large sizes. Code elsewhere asks the record; it never compares
a transform's name.

A transformed function takes `(y, args)` and, where the record says so, a third argument: a tangent
shaped like `y` (`jvp`, the hvps) or a cotangent shaped like the vector map's output (`vjp`). A batched
transform (`vmap`) takes `y` with a leading batch axis and returns the batch of gradients;
`per_sample_grad` returns one gradient per data row, stacked on a leading axis.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

import numpy as np

from .checks import Probe, ReferenceModel, ravel, rows_by_y, unraveler, y_by_y
from .errors import SciadError, choose
from .names import DTYPES, Mode, mode
from .trees import cast, leaves

if TYPE_CHECKING:
    from .spec import Problem

OBJECTIVE, VECTOR_MAP, PER_SAMPLE = "objective", "vector_map", "per_sample"
TANGENT, COTANGENT = "tangent", "cotangent"


@dataclasses.dataclass(frozen=True)
class Transform:
    """One transform. The callables' arguments:

    - `build(fw, fn, spec)`: the transformed `fn` (the implementation's function), from adapter `fw`;
    - `output(out, model)`: the canonical form of a NumPy output; `model` is the reference at the inputs;
    - `expected(model, extra)`: the reference's canonical output, `extra` the tangent or cotangent;
    - `project(probe, out, extra)`: `(expected, actual)` projections on the probe's random directions.
    """

    name: str
    applies_to: str  # the implementation function: the objective, the vector map, or the per-sample loss
    build: Callable
    output: Callable
    expected: Callable
    project: Callable
    extra: str | None = None  # TANGENT, COTANGENT or None
    batched: bool = False  # y carries a leading batch axis
    # The parity suite runs a problem's non-default modes on a few transforms only (compilation is costly):
    # those with a rank, lowest first (`parity.mode_transforms`). grad always; then one that exercises a
    # different composition (forward-over-reverse, a pullback, a batch), the cheapest first.
    mode_cell_rank: int | None = None

    def __post_init__(self):
        choose("function kind", self.applies_to, (OBJECTIVE, VECTOR_MAP, PER_SAMPLE), f"of transform {self.name!r}")
        choose("extra input", self.extra, (None, TANGENT, COTANGENT), f"of transform {self.name!r}")


def _flat(x) -> np.ndarray:
    return ravel(x).astype(np.float64)


def _scalar(x) -> np.ndarray:
    return np.atleast_1d(np.asarray(x, np.float64))


def _with_tangent(fw, fn, primitive):
    return lambda y, args, tangent: primitive(lambda y_: fn(y_, args), y, _checked(tangent, y, TANGENT))


def _vjp(fw, fn, spec):
    def vjp(y, args, cotangent):
        out, pullback = fw.vjp(lambda y_: fn(y_, args), y)
        return out, pullback(_checked(cotangent, out, COTANGENT))

    return vjp


def _checked(extra, like, kind: str):
    """The extra input, after checking its structure and shapes against what it must match (static under
    jit and torch.compile, so the check costs nothing after tracing)."""
    if isinstance(like, Mapping):
        if not isinstance(extra, Mapping) or set(extra) != set(like):
            got = sorted(extra) if isinstance(extra, Mapping) else f"an array of shape {tuple(getattr(extra, 'shape', ()))}"
            raise SciadError(f"the {kind} must be a dict with keys {sorted(like)}, like y; got {got}")
        pairs = [(f"{kind}[{key!r}]", extra[key], like[key]) for key in like]
    else:
        pairs = [(f"the {kind}", extra, like)]
    for where, value, target in pairs:
        if tuple(getattr(value, "shape", ())) != tuple(target.shape) or not hasattr(value, "shape"):
            shape = tuple(value.shape) if hasattr(value, "shape") else type(value).__name__
            owner = "y" if kind == TANGENT else "the vector map's output"
            raise SciadError(f"{where} has shape {shape}; it must have the shape of {owner}, {tuple(target.shape)}")
    return extra


def _per_sample_grad(fw, fn, spec):
    _, sample_keys = spec.per_sample
    in_dims = {key: (0 if key in sample_keys else None) for key in spec.layout.args}
    return fw.vmap(fw.grad(fn), in_dims=(None, in_dims))


def _hvp_fwd_rev(fw, fn, spec):
    return _with_tangent(fw, fw.grad(fn), lambda gradient, y, tangent: fw.jvp(gradient, y, tangent)[1])


def _hvp_rev_rev(fw, fn, spec):
    # The Hessian is symmetric: the vjp of the gradient with v is Hv.
    return _with_tangent(fw, fw.grad(fn), lambda gradient, y, tangent: fw.vjp(gradient, y)[1](tangent))


def _project_hvp(p: Probe, out, extra):
    v, w = _flat(extra), p.unit(p.x.size)
    return np.array([p.second(v, w)]), np.array([_flat(out) @ w])


def _project_hessian(p: Probe, out, extra):
    w = p.unit(p.x.size)
    return np.array([p.second(p.v, w)]), np.array([w @ (y_by_y(out, p.y) @ p.v)])


def _project_map(p: Probe, out, extra):
    fx = p.vector_map()
    w = p.unit(fx.size)
    return np.array([fx @ w]), np.array([_flat(out) @ w])


def _project_jvp(p: Probe, out, extra):
    fx = p.vector_map()
    w, v = p.unit(fx.size), _flat(extra)
    return np.array([fx @ w, p.map_derivative(v, w)]), np.array([_flat(out[0]) @ w, _flat(out[1]) @ w])


def _project_vjp(p: Probe, out, extra):
    fx, w = p.vector_map(), _flat(extra)
    return np.array([fx @ w, p.map_derivative(p.v, w)]), np.array([_flat(out[0]) @ w, _flat(out[1]) @ p.v])


def _project_jacobian(p: Probe, out, extra):
    fx = p.vector_map()
    w = p.unit(fx.size)
    jac = rows_by_y(out, p.map_ndim())
    return np.array([p.map_derivative(p.v, w)]), np.array([w @ (jac @ p.v)])


def _project_per_sample(p: Probe, out, extra):
    expected = rows_by_y(p.ref.per_sample_grad(p.y, p.args), 1)
    w = p.rng.standard_normal(expected.shape)
    return np.array([np.sum(expected * w)]), np.array([np.sum(rows_by_y(out, 1) * w)])


def _first(out):
    return {k: v[0] for k, v in out.items()} if isinstance(out, Mapping) else out[0]


def _hessian_output(out, model):
    return {"hessian": y_by_y(out, model.y).ravel()}


# What the two orders of a Hessian-vector product, and the two modes of a Jacobian, share: they differ only
# in how they are built.
_HVP = dict(
    output=lambda out, model: {"hvp": _flat(out)},
    expected=lambda model, extra: {"hvp": model.hessian() @ ravel(extra)},
    project=_project_hvp,
    extra=TANGENT,
)
_JACOBIAN = dict(
    output=lambda out, model: {"jacobian": rows_by_y(out, model.map_ndim()).ravel()},
    expected=lambda model, extra: {"jacobian": model.jacobian().ravel()},
    project=_project_jacobian,
)

_GRAD_PROJECTION = lambda p, out, extra: (np.array([p.grad_along(p.v)]), np.array([_flat(out) @ p.v]))  # noqa: E731

TABLE: tuple[Transform, ...] = (
    Transform(
        "value",
        OBJECTIVE,
        build=lambda fw, fn, spec: fn,
        output=lambda out, model: {"value": _scalar(out)},
        expected=lambda model, extra: {"value": np.array([model.value()])},
        project=lambda p, out, extra: (np.array([p.value()]), np.array([float(out)])),
    ),
    Transform(
        "grad",
        OBJECTIVE,
        build=lambda fw, fn, spec: fw.grad(fn),
        output=lambda out, model: {"grad": _flat(out)},
        expected=lambda model, extra: {"grad": model.grad()},
        project=_GRAD_PROJECTION,
        mode_cell_rank=0,
    ),
    Transform(
        "value_and_grad",
        OBJECTIVE,
        build=lambda fw, fn, spec: fw.value_and_grad(fn),
        output=lambda out, model: {"value": _scalar(out[0]), "grad": _flat(out[1])},
        expected=lambda model, extra: {"value": np.array([model.value()]), "grad": model.grad()},
        project=lambda p, out, extra: (
            np.array([p.value(), p.grad_along(p.v)]),
            np.array([float(out[0]), _flat(out[1]) @ p.v]),
        ),
        mode_cell_rank=4,
    ),
    Transform(
        "hessian",
        OBJECTIVE,
        build=lambda fw, fn, spec: fw.hessian(fn),
        output=_hessian_output,
        expected=lambda model, extra: {"hessian": model.hessian().ravel()},
        project=_project_hessian,
    ),
    Transform(
        "hvp_fwd_rev",
        OBJECTIVE,
        build=_hvp_fwd_rev,
        mode_cell_rank=1,
        **_HVP,
    ),
    Transform(
        "hvp_rev_rev",
        OBJECTIVE,
        build=_hvp_rev_rev,
        **_HVP,
    ),
    Transform(
        "vmap",
        OBJECTIVE,
        build=lambda fw, fn, spec: fw.vmap(fw.grad(fn), in_dims=(0, None)),
        output=lambda out, model: {"grads": rows_by_y(out, 1).ravel()},
        expected=lambda model, extra: {"grads": np.concatenate([member.grad() for member in model.members()])},
        project=lambda p, out, extra: _GRAD_PROJECTION(p.first_member(), _first(out), None),
        batched=True,
        mode_cell_rank=3,
    ),
    Transform(
        "map",
        VECTOR_MAP,
        build=lambda fw, fn, spec: fn,
        output=lambda out, model: {"map": _flat(out)},
        expected=lambda model, extra: {"map": model.vector_map()},
        project=_project_map,
    ),
    Transform(
        "jvp",
        VECTOR_MAP,
        build=lambda fw, fn, spec: _with_tangent(fw, fn, fw.jvp),
        output=lambda out, model: {"value": _flat(out[0]), "tangent": _flat(out[1])},
        expected=lambda model, extra: {"value": model.vector_map(), "tangent": model.jacobian() @ ravel(extra)},
        project=_project_jvp,
        extra=TANGENT,
    ),
    Transform(
        "vjp",
        VECTOR_MAP,
        build=_vjp,
        output=lambda out, model: {"value": _flat(out[0]), "cotangent": _flat(out[1])},
        expected=lambda model, extra: {"value": model.vector_map(), "cotangent": model.jacobian().T @ ravel(extra)},
        project=_project_vjp,
        extra=COTANGENT,
        mode_cell_rank=2,
    ),
    Transform(
        "jacfwd",
        VECTOR_MAP,
        build=lambda fw, fn, spec: fw.jacfwd(fn),
        **_JACOBIAN,
    ),
    Transform(
        "jacrev",
        VECTOR_MAP,
        build=lambda fw, fn, spec: fw.jacrev(fn),
        **_JACOBIAN,
    ),
    Transform(
        "per_sample_grad",
        PER_SAMPLE,
        build=_per_sample_grad,
        output=lambda out, model: {"grads": rows_by_y(out, 1).ravel()},
        expected=lambda model, extra: {"grads": model.per_sample_grad().ravel()},
        project=_project_per_sample,
    ),
)

TRANSFORMS: dict[str, Transform] = {t.name: t for t in TABLE}


def get(name: str) -> Transform:
    """The record of a generic transform (a problem's variant names its base: `Problem.transform_record`)."""
    choose("transform", name, tuple(TRANSFORMS))
    return TRANSFORMS[name]


# ---------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Transformed:
    """A transformed, possibly compiled function. Calling it validates the inputs first (NumPy arrays are
    converted to the framework's); `raw` skips validation (the benchmark validates once, then times `raw`)."""

    problem: Problem
    transform: str
    framework: str
    mode: Mode
    raw: Callable

    def __call__(self, y, args, *extra):
        from . import frameworks

        record = self.problem.transform_record(self.transform)
        if len(extra) != (record.extra is not None):
            wanted = f"a {record.extra} as third argument" if record.extra else "no third argument"
            raise SciadError(f"transform {self.transform!r} takes (y, args) and {wanted}; got {2 + len(extra)} arguments")
        fw = frameworks.load(self.framework)
        if any(isinstance(leaf, np.ndarray) for leaf in leaves((y, args, extra))):
            # JAX would take NumPy arrays as they are and torch would refuse them: convert for both alike.
            y, args, extra = fw.convert((y, args, extra))
        dtype = self.problem.validate(y, args, batched=record.batched)
        for value in leaves(extra):
            _check_extra_leaf(value, dtype, record.extra, fw)
        return self.raw(y, args, *extra)


def _check_extra_leaf(value, dtype: str, kind: str, fw) -> None:
    if not isinstance(value, fw.array_types):
        raise SciadError(f"the {kind} must be a {fw.name} array (or NumPy); got {type(value).__name__}")
    got = str(value.dtype).replace("torch.", "")
    if got != dtype:
        raise SciadError(f"the {kind} has dtype {got}, but the inputs are {dtype}; give it the inputs' dtype")
    if not bool(np.isfinite(fw.to_numpy(value)).all()):
        raise SciadError(f"the {kind} contains NaN or Inf; finite values are accepted")


def build(spec: Problem, transform: str, framework: str, mode_name: str | None = None) -> Transformed:
    """`spec`'s `transform` in `framework`, in mode `mode_name` (the framework's default mode when None)."""
    from . import frameworks

    spec.check_transform(transform)
    chosen = mode(framework, mode_name)
    choose("framework", framework, spec.frameworks_for(transform), f"for transform {transform!r} of problem {spec.name!r}")
    refusal = unsupported(spec, transform, chosen)
    if refusal:
        raise SciadError(refusal)
    fw = frameworks.load(framework)
    fn = getattr(spec.implementation(framework), spec.function_for(transform))
    variant = spec.variants.get(transform)
    regional = chosen.regional and spec.function_for(transform) in spec.compile_regions
    if variant and variant.prebuilt:  # already the transform: run as written, compiled in a compiled mode
        return Transformed(spec, transform, framework, chosen, fw.regional(fn) if regional else fw.compile(fn, chosen))
    # The mode's primitive set: the adapter's own (jax, torch.func) or torch's classic autograd.
    primitives = fw.autograd if chosen.differentiation == "autograd" else fw
    record = spec.transform_record(transform)
    if regional:  # the marked steps compiled, the loop and the transform around it eager
        return Transformed(spec, transform, framework, chosen, fw.regional(record.build(primitives, fn, spec)))
    if chosen.compiles == "function":
        return Transformed(spec, transform, framework, chosen, record.build(primitives, fw.compile(fn, chosen), spec))
    return Transformed(spec, transform, framework, chosen, fw.compile(record.build(primitives, fn, spec), chosen))


def supported(spec: Problem, transform: str, chosen: Mode) -> bool:
    """Whether mode `chosen` can run `spec`'s `transform` (a prebuilt variant runs in every mode)."""
    return unsupported(spec, transform, chosen) is None


def unsupported(spec: Problem, transform: str, chosen: Mode) -> str | None:
    """One sentence saying why mode `chosen` cannot run `spec`'s `transform`; None when it can."""
    variant = spec.variants.get(transform)
    base = spec.transform_record(transform).name
    if (variant and variant.prebuilt) or chosen.expresses(base):
        return None
    named = f"transform {transform!r} (a {base})" if variant else f"transform {base!r}"
    return (
        f"{chosen.label} mode cannot run {named}: {chosen.unsupported_reason}; "
        f"it runs {', '.join(chosen.supports or ())}"
    )


def inputs(spec: Problem, transform: str, size: str, dtype: str, seed: int = 0, batch: int | None = None, **overrides):
    """NumPy inputs `(y, args, extra)` for one transform, identical for both frameworks.

    `extra` is `()` or a 1-tuple holding the tangent or cotangent (standard normal, seeded from
    `seed + 1`); for a batched transform, `y` carries a leading batch axis of length `batch` (default
    `spec.batch`).
    """
    choose("dtype", dtype, DTYPES)
    record = spec.transform_record(transform)
    if record.batched:
        y, args = spec.make_batch(size, seed, dtype, batch, **overrides)
        return y, args, ()
    y, args = spec.make_inputs(size, seed, dtype, **overrides)
    if record.extra is None:
        return y, args, ()
    like = y if record.extra == TANGENT else spec.reference_for(transform).vector_map(cast(y, "float64"), cast(args, "float64"))
    draws = np.random.default_rng(seed + 1).standard_normal(ravel(like).size)
    return y, args, (cast(unraveler(like)(draws), dtype),)


def reference_model(spec: Problem, transform: str, y, args) -> ReferenceModel:
    """The reference of `transform` at float64 inputs."""
    return ReferenceModel(spec.reference_for(transform), y, args)


def expected(spec: Problem, transform: str, y, args, extra) -> dict[str, np.ndarray]:
    """The reference's canonical output of `transform` at float64 inputs `(y, args, extra)`."""
    return spec.transform_record(transform).expected(reference_model(spec, transform, y, args), extra[0] if extra else None)


def canonical(spec: Problem, transform: str, out, y, args) -> dict[str, np.ndarray]:
    """A transform's NumPy output `out` in canonical form; `(y, args)` the float64 inputs it was computed at."""
    return spec.transform_record(transform).output(out, reference_model(spec, transform, y, args))


def projected(spec: Problem, transform: str, y, args, extra, out, seed: int = 7) -> tuple[np.ndarray, np.ndarray]:
    """(expected, actual) projections of `out` on random unit directions, at float64 inputs."""
    probe = Probe(spec.reference_for(transform), y, args, seed)
    return spec.transform_record(transform).project(probe, out, extra[0] if extra else None)
