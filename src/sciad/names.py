"""The names everything else is keyed by: frameworks, dtypes, devices, and the mode table.

A leaf module: it imports nothing of sciad's but the error type, so the CLIs, the spec, the adapters and the
benchmark can all depend on it without cycles.
"""

from __future__ import annotations

import dataclasses

from .errors import SciadError, choose

FRAMEWORKS = ("jax", "torch")
DTYPES = ("float64", "float32")
DEVICES = ("cpu", "cuda", "auto")

# Libraries a benchmark baseline may come from (`spec.Baseline`): a column of the benchmark beside the
# frameworks, never a framework of the parity suite. A baseline runs as it is written, NumPy float64 on
# the CPU, so it has one dtype; its mode names the library's method.
BASELINE_LIBRARIES = ("scipy",)
BASELINE_DTYPE = "float64"


@dataclasses.dataclass(frozen=True)
class Mode:
    """How a framework runs a transformed function.

    `compiled`: traced once and compiled (jax.jit, torch.compile); a compiled mode's first call is timed
    apart from its steady state. `default`: the mode `sciad.transform`, `sciad check` and the property
    tests use when none is named, one per framework — what that framework's users run by default.
    """

    framework: str
    name: str
    compiled: bool
    summary: str
    default: bool = False
    # How many of a problem's ranked transforms (`Transform.mode_cell_rank`) the parity suite runs in this
    # mode when it is not the default: compilation is costly, and one cell proves a mode that changes nothing
    # per transform.
    parity_transforms: int = 2
    # The problems the parity suite runs this mode on (None: all). A mode whose cold compilation costs
    # tens of seconds per problem proves itself on a few cheap ones; the benchmark runs it on all.
    parity_problems: tuple[str, ...] | None = None
    # How derivatives are taken: "func" (the framework's functional transforms: jax, torch.func) or
    # "autograd" (torch's classic autograd: torch.autograd.grad, create_graph, torch.autograd.forward_ad).
    differentiation: str = "func"
    # What a compiled mode compiles: the whole transform ("transform": jax.jit, torch.compile outside
    # torch.func) or the function before it is differentiated ("function": torch.compile of the objective,
    # its forward and backward compiled by AOTAutograd, classic autograd around it).
    compiles: str = "transform"
    # Regional compilation: a problem whose time loop has compile regions (`spec.Problem.compile_regions`)
    # has each compiled once, the derivative recording through them, instead of `compiles`' whole-function
    # graph (a loop unrolled into one graph compiles for minutes). A region is a whole loop written with
    # `torch_backend.scan` (torch's scan operator, the steps inside one compiled call), or a step marked
    # `torch_backend.region` called from an eager loop. Problems without regions compile as `compiles` says.
    regional: bool = False
    # The generic transforms this mode can express (None: all). A problem's variant is judged by its base
    # transform, unless it is prebuilt (it then runs as it is written, in any mode).
    supports: tuple[str, ...] | None = None
    # Why the transforms left out of `supports` are: one sentence, for the error that refuses them.
    unsupported_reason: str = ""

    def __post_init__(self):
        choose("framework", self.framework, FRAMEWORKS, f"of mode {self.name!r}")
        if not self.name.isidentifier():
            raise SciadError(f"mode name {self.name!r} must be an identifier")
        choose("differentiation", self.differentiation, ("func", "autograd"), f"of mode {self.name!r}")
        choose("compiles", self.compiles, ("transform", "function"), f"of mode {self.name!r}")
        if self.regional and not self.compiled:
            raise SciadError(f"mode {self.name!r} compiles regions and must be a compiled mode")
        if self.supports is not None and not self.unsupported_reason:
            raise SciadError(f"mode {self.name!r} leaves transforms out of `supports` and must say why (`unsupported_reason`)")

    def expresses(self, transform: str) -> bool:
        """Whether this mode can run generic transform `transform` (a variant's base)."""
        return self.supports is None or transform in self.supports

    @property
    def label(self) -> str:
        return f"{self.framework} {self.name}"


# What classic autograd expresses: reverse mode (double backward for second order, is_grads_batched for
# the Jacobian and the Hessian) and forward mode through torch.autograd.forward_ad.
_CLASSIC_AUTOGRAD = ("value", "grad", "value_and_grad", "hessian", "hvp_fwd_rev", "hvp_rev_rev", "map", "jvp", "vjp", "jacrev")
_CLASSIC_AUTOGRAD_LACKS = (
    "classic autograd has no vectorising map, so vmap, per_sample_grad and a batched forward-mode jacfwd "
    "need torch.func"
)
_FORWARD_MODE = ("jvp", "hvp_fwd_rev")
_COMPILED_LACKS = (
    "a torch.compile'd function has no forward-mode derivative (AOTAutograd compiles the backward only; "
    "torch 2.13 returns its output with no tangent), so jvp and hvp_fwd_rev are not run on it"
)

MODE_TABLE: tuple[Mode, ...] = (
    Mode("jax", "jit", True, "jax.jit with the inputs' Python scalars static", default=True),
    # Eager JAX compiles every small operation on its own, whatever the transform: grad alone covers it.
    Mode("jax", "eager", False, "op by op, each primitive dispatched (and cached-compiled) on its own", parity_transforms=1),
    Mode("torch", "eager", False, "torch.func transforms, op by op", default=True),
    # Not regional: a torch.func transform over a compiled step runs it eagerly (dynamo refuses to trace
    # under an active functorch transform, "Unsupported functorch tracing attempt", pytorch#128711; torch
    # 2.13), so this mode compiles a problem's whole loop, transform included.
    Mode(
        "torch",
        "compile",
        True,
        "torch.compile(dynamic=False) applied outside the torch.func transform, time loops included (torch.func over "
        "a compiled step would run it eagerly)",
        # One transform per problem in the suite: each cold compile costs seconds to tens of seconds, and the
        # benchmark checks every compiled transform against the reference before timing it.
        parity_transforms=1,
    ),
    Mode(
        "torch",
        "autograd",
        False,
        "classic autograd, op by op: torch.autograd.grad (create_graph for second order, is_grads_batched for "
        "Jacobians) and torch.autograd.forward_ad",
        differentiation="autograd",
        supports=_CLASSIC_AUTOGRAD,
        unsupported_reason=_CLASSIC_AUTOGRAD_LACKS,
    ),
    Mode(
        "torch",
        "autograd_compile",
        True,
        "torch.compile(dynamic=False) of the function, or of its time loop's step, differentiated by classic "
        "autograd (AOTAutograd compiles the forward and backward)",
        differentiation="autograd",
        compiles="function",
        regional=True,
        supports=tuple(t for t in _CLASSIC_AUTOGRAD if t not in _FORWARD_MODE),
        unsupported_reason=_CLASSIC_AUTOGRAD_LACKS + "; " + _COMPILED_LACKS,
        # The suite checks grad on five problems without a loop, and on lotka_volterra, whose loop is the
        # shared Runge–Kutta `torch_backend.scan` (`problems._stepping.torch_rk`, also neural_ode's and
        # ode_chain's): the regional path is two small mechanisms (`torch_backend.scan` and `region`, tested
        # on their own in tests/test_modes.py), and each cold compile costs tens of seconds of the suite's
        # budget. The benchmark runs the mode on every problem at every size.
        parity_transforms=1,
        parity_problems=("rosenbrock", "logistic_regression", "lennard_jones", "lse", "llsq", "lotka_volterra"),
    ),
)

# framework -> its mode names, default first: the shape the CLIs' help and choices want.
MODES: dict[str, tuple[str, ...]] = {
    framework: tuple(m.name for m in sorted((m for m in MODE_TABLE if m.framework == framework), key=lambda m: not m.default))
    for framework in FRAMEWORKS
}

for _framework in FRAMEWORKS:
    if sum(m.default for m in MODE_TABLE if m.framework == _framework) != 1:
        raise SciadError(f"framework {_framework!r} must have exactly one default mode")


def mode(framework: str, name: str | None = None) -> Mode:
    """The record of `framework`'s mode `name` (its default mode when `name` is None)."""
    choose("framework", framework, FRAMEWORKS)
    if name is None:
        return next(m for m in MODE_TABLE if m.framework == framework and m.default)
    choose("mode", name, MODES[framework], f"for framework {framework!r}")
    return next(m for m in MODE_TABLE if (m.framework, m.name) == (framework, name))


def compiled_mode(framework: str) -> Mode:
    """The framework's first compiled mode (jax jit, torch compile): what `sciad.compile` applies by default."""
    choose("framework", framework, FRAMEWORKS)
    return next(m for m in MODE_TABLE if m.framework == framework and m.compiled)


def all_mode_names() -> tuple[str, ...]:
    return tuple(dict.fromkeys(m.name for m in MODE_TABLE))
