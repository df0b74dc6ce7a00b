"""The `Problem` record: one per problem, validated when built, drives every test cell and benchmark case.

A problem package (``problems/<name>/__init__.py``) is NumPy only: it states the maths, builds inputs
and references, and declares a `Problem`. The framework implementations live beside it in
``jax_impl.py`` and ``torch_impl.py``; `Problem.implementation(framework)` imports one on demand.
"""

from __future__ import annotations

import dataclasses
import importlib
import importlib.metadata
import math
from collections.abc import Callable, Mapping
from types import MappingProxyType, ModuleType
from typing import Any

import numpy as np
from packaging.requirements import InvalidRequirement, Requirement

from . import transforms
from .errors import SciadError, choose
from .names import BASELINE_DTYPE, BASELINE_LIBRARIES, DEVICES, DTYPES, FRAMEWORKS, MODES, all_mode_names
from .trees import cast

__all__ = [
    "BASELINE_DTYPE",
    "BASELINE_LIBRARIES",
    "DTYPES",
    "FRAMEWORKS",
    "MODES",
    "Baseline",
    "Ints",
    "KnownFailure",
    "Layout",
    "Problem",
    "Reference",
    "Tolerance",
    "Variant",
    "cast",
]

# The keys of `Problem.bench_notes` that `sciad report` prints: a note is read by name, so a misspelt key
# would be silently ignored.
BENCH_NOTE_KEYS = ("cheap_gradient",)


# ---------------------------------------------------------------------------------------------
# Input layout: symbolic shapes, checked on concrete inputs before any framework sees them.


@dataclasses.dataclass(frozen=True)
class Ints:
    """An integer array argument (indices, counts); its shape uses the same symbolic dimensions."""

    shape: tuple = ()


def _describe(value) -> str:
    if isinstance(value, (bool, int, float)):
        return f"{type(value).__name__} {value!r}"
    if not hasattr(value, "shape") or not hasattr(value, "dtype"):
        return f"a {type(value).__name__}"
    shape = tuple(getattr(value, "shape", ()))
    dtype = str(getattr(value, "dtype", type(value).__name__)).replace("torch.", "")
    return f"array of shape {shape} and dtype {dtype}"


def _dtype_name(value) -> str:
    return str(value.dtype).replace("torch.", "")


def _is_floating(value) -> bool:
    return _dtype_name(value) in ("float64", "float32", "float16", "bfloat16")


def _not_finite(value) -> bool:
    try:
        host = value.detach().cpu().numpy() if hasattr(value, "detach") else value
        return not bool(np.isfinite(np.asarray(host, dtype=np.float64)).all())
    except TypeError:
        return False  # a traced value: only concrete inputs are checked


@dataclasses.dataclass(frozen=True)
class Layout:
    """The argument layout of a problem, as its module docstring states it.

    `y` and each entry of `args` is one of: a tuple of dimension names or integers (a floating array of
    that shape), `Ints(shape)` (an integer array), or the type `float` / `int` (a Python scalar).
    A dimension name binds to the same length everywhere it appears.
    """

    y: Any
    args: Mapping[str, Any]

    def check(self, y, args, *, problem: str, batched: bool = False) -> str:
        """Validate concrete inputs; return their floating dtype. Raise `SciadError` on a mismatch."""
        dims: dict[str, int] = {}
        dtypes: set[str] = set()
        if not isinstance(args, Mapping):
            raise SciadError(
                f"args for problem {problem!r} must be a dict with keys {sorted(self.args)}; got {type(args).__name__}"
            )
        if set(args) != set(self.args):
            raise SciadError(f"args for problem {problem!r} have keys {sorted(args)}; expected exactly {sorted(self.args)}")
        # args first: they fix the dimensions, so a y (or a batch of y) that disagrees is the one named.
        for key, kind in self.args.items():
            self._check_leaf(f"args[{key!r}]", args[key], kind, dims, dtypes, problem, False)
        if isinstance(self.y, Mapping):
            if not isinstance(y, Mapping) or set(y) != set(self.y):
                got = sorted(y) if isinstance(y, Mapping) else _describe(y)
                raise SciadError(f"y for problem {problem!r} must be a dict with keys {sorted(self.y)}; got {got}")
            for key, shape in self.y.items():
                self._check_leaf(f"y[{key!r}]", y[key], shape, dims, dtypes, problem, batched)
        else:
            self._check_leaf("y", y, self.y, dims, dtypes, problem, batched)
        if len(dtypes) > 1:
            raise SciadError(
                f"inputs of problem {problem!r} mix floating dtypes {sorted(dtypes)}; convert them all to one "
                "dtype (sciad.convert(..., dtype=...))"
            )
        return dtypes.pop() if dtypes else "float64"

    @staticmethod
    def _check_leaf(where, value, kind, dims, dtypes, problem, batched):
        if kind in (float, int):
            ok = isinstance(value, (int, float)) and not isinstance(value, bool)
            if kind is int:
                ok = isinstance(value, int) and not isinstance(value, bool)
            if not ok:
                raise SciadError(f"{where} of problem {problem!r} must be a Python {kind.__name__}; got {_describe(value)}")
            if kind is float and not math.isfinite(value):
                raise SciadError(f"{where} of problem {problem!r} is {value}; a finite number is accepted")
            return
        integer = isinstance(kind, Ints)
        shape = kind.shape if integer else kind
        if not hasattr(value, "shape") or not hasattr(value, "dtype"):
            raise SciadError(f"{where} of problem {problem!r} must be an array of shape {shape}; got {_describe(value)}")
        actual = tuple(value.shape)
        if batched:
            actual = actual[1:]
        if len(actual) != len(shape):
            raise SciadError(
                f"{where} of problem {problem!r} has shape {tuple(value.shape)}; expected {'(batch, ' if batched else '('}"
                f"{', '.join(map(str, shape))}{')' if shape or batched else ')'}"
            )
        for name, length in zip(shape, actual):
            expected = dims.setdefault(name, length) if isinstance(name, str) else name
            if expected != length:
                batch = " (batch axis first)" if batched else ""
                raise SciadError(
                    f"{where} of problem {problem!r} has shape {tuple(value.shape)}{batch}, but dimension {name!r} "
                    f"must be {expected}, its length elsewhere in the inputs"
                    + ("; a batch of y stacks inputs along a new first axis" if batched else "")
                )
        if integer:
            if _is_floating(value):
                raise SciadError(f"{where} of problem {problem!r} must hold integers; got {_describe(value)}")
            return
        if not _is_floating(value):
            raise SciadError(f"{where} of problem {problem!r} must be float64 or float32; got {_describe(value)}")
        dtypes.add(_dtype_name(value))
        if _not_finite(value):
            raise SciadError(f"{where} of problem {problem!r} contains NaN or Inf; finite inputs are accepted")


# ---------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Tolerance:
    """A tolerance on the metric |x−y| / max(1, |x|+|y|), per dtype, with the reason it is what it is."""

    float64: float
    float32: float
    reason: str = ""

    def __post_init__(self):
        if not (0 < self.float64 <= self.float32):
            raise SciadError(f"tolerance {self} must satisfy 0 < float64 <= float32")

    def __getitem__(self, dtype: str) -> float:
        return getattr(self, dtype)


# Two frameworks computing the same discrete maths in float64 agree to roundoff.
SAME_MATHS = Tolerance(1e-10, 1e-4, "same discrete maths in both; float32 roundoff through the computation")


@dataclasses.dataclass(frozen=True)
class KnownFailure:
    """A transform cell that cannot work upstream today; run as a strict xfail carrying `reason`.

    It holds where its scope holds: a framework, and optionally a transform, mode, sizes, devices and the
    version range of the failing package (`versions`, a requirement such as "torch>=2.13" or
    "jax<0.11"). On another device the cell runs as any other, so a CPU-only failure is measured on a GPU.
    With another version of the package, the failure is unknown either way: the parity cell runs as a
    non-strict xfail and the benchmark measures it.
    """

    framework: str
    transform: str | None  # None: every transform of the problem
    reason: str
    mode: str | None = None  # None: every mode of the framework
    sizes: tuple[str, ...] | None = None  # None: every size; e.g. ("bench",) for a compile time that grows with steps
    devices: tuple[str, ...] | None = None  # None: every device; e.g. ("cpu",) for a CPU-only inductor failure
    versions: str | None = None  # None: every version; else a requirement on the failing package

    def __post_init__(self):
        for device in self.devices or ():
            choose("device", device, tuple(d for d in DEVICES if d != "auto"), "in a known failure")
        if self.versions is not None:
            try:
                Requirement(self.versions)
            except InvalidRequirement:
                raise SciadError(
                    f"known failure versions {self.versions!r} is not accepted; a requirement such as 'torch>=2.13,<2.15' is"
                ) from None

    def matches(self, framework: str, transform: str, mode: str, size: str = "small", device: str = "cpu") -> bool:
        """Whether the failure holds for this cell, with the packages installed here."""
        return self.applies(framework, transform, mode, size, device) and self.holds_for_installed_version()

    def applies(self, framework: str, transform: str, mode: str, size: str = "small", device: str = "cpu") -> bool:
        """Whether the cell is in the failure's scope, whatever the installed version."""
        return (
            self.framework == framework
            and self.transform in (None, transform)
            and self.mode in (None, mode)
            and (self.sizes is None or size in self.sizes)
            and (self.devices is None or device in self.devices)
        )

    def holds_for_installed_version(self) -> bool:
        if self.versions is None:
            return True
        requirement = Requirement(self.versions)
        try:
            installed = importlib.metadata.version(requirement.name)
        except importlib.metadata.PackageNotFoundError:
            return False
        return requirement.specifier.contains(installed, prereleases=True)


@dataclasses.dataclass(frozen=True)
class Reference:
    """Independent NumPy float64 references. Only `value` is required; missing derivatives are derived.

    Derivatives not given in closed form are taken from the function below them: by complex step
    (exact to roundoff) when `complex_step` is true — the functions then accept complex inputs — and by
    central differences otherwise (the spec then states a looser `reference_tolerance`).
    """

    value: Callable
    grad: Callable | None = None
    hessian: Callable | None = None  # returns the (P, P) matrix over the flattened y
    vector_map: Callable | None = None
    jacobian: Callable | None = None  # returns the (M, P) matrix
    per_sample_grad: Callable | None = None  # returns (n, *y.shape)
    complex_step: bool = False
    fd_step: float = 6e-6  # central-difference step, scaled by max(1, |x_i|): about cbrt(machine epsilon)


@dataclasses.dataclass(frozen=True)
class Variant:
    """A problem-specific transform: a generic transform applied to another function of the
    implementation (a custom derivative rule, a checkpointed objective, the energy of a system).

    `reference` is that function's reference; None means it computes the objective (or the vector
    map), only differently, so the problem's own reference applies. `prebuilt` means the function
    already returns the transform's output (classic autograd, a library's adjoint) and is called as
    it is. `frameworks` names the implementations that have it.
    """

    base: str
    function: str
    reference: Reference | None = None
    prebuilt: bool = False
    frameworks: tuple[str, ...] = FRAMEWORKS


@dataclasses.dataclass(frozen=True)
class Baseline:
    """An implementation of one of a problem's transforms in an established non-AD library (SciPy's solvers,
    say), timed by the benchmark beside JAX and torch as what a user would otherwise run.

    `function(y, args, *extra)` takes the problem's NumPy float64 inputs and returns what the transform
    returns (`(value, grad)` for a value_and_grad). It lives in the problem's package, imports only NumPy
    and `library`, and is checked against the problem's reference like every benchmark case. `mode` is
    the benchmark's mode column for it: the library's method (a library offers several solvers, and the
    fastest one is the fair baseline, the closest one the like-for-like comparison).
    """

    transform: str
    function: Callable
    library: str = "scipy"
    mode: str = "eager"
    note: str = ""  # the method and settings, for the report


@dataclasses.dataclass(frozen=True)
class Problem:
    """One problem of the catalogue. Built once in its package; validated on construction."""

    name: str
    summary: str
    build: Callable  # build(rng, **size_parameters) -> (y, args), all float64 NumPy
    sizes: Mapping[str, Mapping[str, Any]]  # size name -> parameters of `build`
    layout: Layout
    reference: Reference
    transforms: tuple[str, ...]
    vector_map: str | None = None  # the implementation's vector-valued map, if any
    per_sample: tuple[str, tuple[str, ...]] | None = None  # (loss function name, args keys with a sample axis)
    functions: tuple[str, ...] = ()  # further public functions both implementations expose
    variants: Mapping[str, Variant] = dataclasses.field(default_factory=dict)  # problem-specific transforms
    transform_sizes: Mapping[str, tuple[str, ...]] = dataclasses.field(default_factory=dict)  # transforms limited to some sizes
    tolerance: Tolerance = SAME_MATHS  # JAX against torch, and against exact references
    reference_tolerance: Mapping[str, Tolerance] = dataclasses.field(default_factory=dict)  # looser, per transform, with reasons
    known_failures: tuple[KnownFailure, ...] = ()
    sweep: tuple[str, tuple[int, ...]] | None = None  # benchmark sweep: (size parameter, values)
    # The torch implementation's functions whose time loop has compile regions: a `torch_backend.scan` (the
    # whole loop) or a step marked `torch_backend.region` in a Python loop. A regional mode
    # (`names.Mode.regional`) compiles those regions, each once, and runs the rest eagerly instead of
    # compiling the function; a transform of another function compiles as its mode says.
    compile_regions: tuple[str, ...] = ()
    batch: int = 3  # batch length of vmap cells in the parity suite
    bench_batch: int = 32  # batch length of vmap cases in the benchmark
    bench_notes: Mapping[str, str] = dataclasses.field(default_factory=dict)  # e.g. why a benchmark target is missed
    # Benchmark baselines, at most one per transform, library and mode: the benchmark's case key
    # (problem, transform, library, mode, ...) could not tell two apart.
    baselines: tuple[Baseline, ...] = ()
    # The package holding the problem (`SPEC` in its __init__, `jax_impl` and `torch_impl` beside it).
    # None: the module that defines `build`, which is that package for every problem laid out as documented.
    package: str | None = None

    def __post_init__(self):
        if not self.name.isidentifier():
            raise SciadError(f"problem name {self.name!r} must be a Python identifier")
        for required in ("small", "bench"):
            if required not in self.sizes:
                raise SciadError(f"problem {self.name!r} must define size {required!r}; it has {sorted(self.sizes)}")
        if self.package is None:
            # The package whose __init__ defines `build` is the problem's: its implementations sit beside it.
            object.__setattr__(self, "package", self.build.__module__)
        for transform in self.transforms:
            base = self.base_transform(transform)
            choose("transform", base, tuple(transforms.TRANSFORMS), f"named by transform {transform!r} of problem {self.name!r}")
            target = transforms.TRANSFORMS[base].applies_to
            if target == transforms.VECTOR_MAP and self.vector_map is None and transform not in self.variants:
                raise SciadError(f"problem {self.name!r} lists {transform!r}, which needs a vector map; set vector_map=")
            if target == transforms.PER_SAMPLE and self.per_sample is None:
                raise SciadError(f"problem {self.name!r} lists {transform!r}, which needs per_sample=(loss, keys)")
        for variant, record in self.variants.items():
            for framework in record.frameworks:
                choose("framework", framework, FRAMEWORKS, f"in variant {variant!r} of problem {self.name!r}")
            if variant not in self.transforms:
                raise SciadError(f"variant {variant!r} of problem {self.name!r} is not in its transforms")
        for transform, sizes in self.transform_sizes.items():
            for size in sizes:
                choose("size", size, tuple(self.sizes), f"in transform_sizes[{transform!r}] of problem {self.name!r}")
        for transform in self.reference_tolerance:
            choose("transform", transform, self.transforms, f"in reference_tolerance of problem {self.name!r}")
        for failure in self.known_failures:
            choose("framework", failure.framework, FRAMEWORKS, f"in a known failure of problem {self.name!r}")
            if failure.transform is not None:
                choose("transform", failure.transform, self.transforms, f"in a known failure of problem {self.name!r}")
            for size in failure.sizes or ():
                choose("size", size, tuple(self.sizes), f"in a known failure of problem {self.name!r}")
            if not failure.reason:
                raise SciadError(f"known failure {failure} of problem {self.name!r} must carry its upstream reason")
        seen = set()
        for baseline in self.baselines:
            choose("baseline library", baseline.library, BASELINE_LIBRARIES, f"of problem {self.name!r}")
            choose("transform", baseline.transform, self.transforms, f"in a baseline of problem {self.name!r}")
            if not callable(baseline.function):
                raise SciadError(
                    f"the {baseline.library} baseline of {self.name!r} for {baseline.transform!r} must be a function"
                )
            if not baseline.mode.isidentifier() or baseline.mode in set(all_mode_names()) - {"eager"}:
                raise SciadError(
                    f"baseline mode {baseline.mode!r} of problem {self.name!r} must be an identifier naming the "
                    "library's method, not a framework's compiled mode"
                )
            key = (baseline.transform, baseline.library, baseline.mode)
            if key in seen:
                raise SciadError(
                    f"problem {self.name!r} has two {baseline.library} {baseline.mode} baselines for {baseline.transform!r}; "
                    "one is accepted"
                )
            seen.add(key)
        for key in self.bench_notes:
            choose("bench note", key, BENCH_NOTE_KEYS, f"of problem {self.name!r}")
        # Records are immutable: freeze the mappings too.
        for field in ("sizes", "variants", "transform_sizes", "reference_tolerance", "bench_notes"):
            object.__setattr__(self, field, MappingProxyType(dict(getattr(self, field))))

    # -- names -----------------------------------------------------------------------------------

    def base_transform(self, transform: str) -> str:
        return self.variants[transform].base if transform in self.variants else transform

    def transform_record(self, transform: str) -> transforms.Transform:
        """The `Transform` record of one of this problem's transforms (a variant's is its base's)."""
        self.check_transform(transform)
        return transforms.TRANSFORMS[self.base_transform(transform)]

    def function_for(self, transform: str) -> str:
        """The implementation function a transform applies to."""
        if transform in self.variants:
            return self.variants[transform].function
        target = self.transform_record(transform).applies_to
        if target == transforms.VECTOR_MAP:
            return self.vector_map
        if target == transforms.PER_SAMPLE:
            return self.per_sample[0]
        return "objective"

    def public_functions(self, framework: str | None = None) -> tuple[str, ...]:
        """Functions the implementations expose (those of `framework`, when given)."""
        names = ["objective", *self.functions]
        if self.vector_map:
            names.append(self.vector_map)
        if self.per_sample:
            names.append(self.per_sample[0])
        names += [v.function for v in self.variants.values() if framework is None or framework in v.frameworks]
        return tuple(dict.fromkeys(names))

    def frameworks_for(self, transform: str) -> tuple[str, ...]:
        variant = self.variants.get(transform)
        return variant.frameworks if variant else FRAMEWORKS

    def sizes_for(self, transform: str) -> tuple[str, ...]:
        self.check_transform(transform)
        return tuple(self.transform_sizes.get(transform, self.sizes))

    def check_transform(self, transform: str) -> None:
        choose("transform", transform, self.transforms, f"for problem {self.name!r}")

    def known_failure(
        self, framework: str, transform: str, mode: str, size: str = "small", device: str = "cpu"
    ) -> KnownFailure | None:
        return next((f for f in self.known_failures if f.matches(framework, transform, mode, size, device)), None)

    def known_failure_elsewhere(
        self, framework: str, transform: str, mode: str, size: str = "small", device: str = "cpu"
    ) -> KnownFailure | None:
        """A known failure whose scope holds but whose version range excludes the installed package."""
        return next(
            (
                f
                for f in self.known_failures
                if f.applies(framework, transform, mode, size, device) and not f.holds_for_installed_version()
            ),
            None,
        )

    def baseline(self, transform: str, library: str, mode: str) -> Baseline | None:
        return next((b for b in self.baselines if (b.transform, b.library, b.mode) == (transform, library, mode)), None)

    def reference_for(self, transform: str) -> Reference:
        variant = self.variants.get(transform)
        return variant.reference if variant and variant.reference else self.reference

    def reference_tolerance_for(self, transform: str) -> Tolerance:
        return self.reference_tolerance.get(transform, self.tolerance)

    # -- inputs and references ------------------------------------------------------------------

    def make_inputs(self, size: str = "small", seed: int = 0, dtype: str = "float64", **overrides):
        """NumPy inputs `(y, args)` of a named size; floating arrays cast to `dtype`.

        `overrides` replace size parameters (the benchmark's sweep uses this).
        """
        choose("size", size, tuple(self.sizes), f"for problem {self.name!r}")
        choose("dtype", dtype, DTYPES)
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise SciadError(f"seed {seed!r} is not accepted; a non-negative integer is")
        parameters = dict(self.sizes[size])
        for key, value in overrides.items():
            choose("size parameter", key, tuple(parameters), f"for problem {self.name!r}")
            positive_int = isinstance(value, (int, np.integer)) and not isinstance(value, bool) and value >= 1
            if isinstance(parameters[key], int) and not positive_int:
                raise SciadError(
                    f"size parameter {key}={value!r} of problem {self.name!r} is not accepted; a positive integer is"
                )
            parameters[key] = value
        y, args = self.build(np.random.default_rng(seed), **parameters)
        return cast(y, dtype), cast(args, dtype)

    def make_batch(self, size: str = "small", seed: int = 0, dtype: str = "float64", batch: int | None = None, **overrides):
        """A batch of `y` (stacked along a new leading axis) sharing the `args` of `seed`."""
        batch = self.batch if batch is None else batch
        y, args = self.make_inputs(size, seed, dtype, **overrides)
        ys = [y] + [self.make_inputs(size, seed + 1 + i, dtype, **overrides)[0] for i in range(batch - 1)]
        if isinstance(y, Mapping):
            return {key: np.stack([item[key] for item in ys]) for key in y}, args
        return np.stack(ys), args

    def reference_value(self, y, args) -> float:
        return float(self.reference.value(y, args))

    def validate(self, y, args, batched: bool = False) -> str:
        """Check inputs against the catalogue layout; return their floating dtype."""
        return self.layout.check(y, args, problem=self.name, batched=batched)

    def implementation(self, framework: str) -> ModuleType:
        choose("framework", framework, FRAMEWORKS)
        from . import frameworks

        frameworks.load(framework)  # configure the framework (x64, precision) before the module builds arrays
        return importlib.import_module(f"{self.package}.{framework}_impl")

