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

    def __post_init__(self):
        choose("framework", self.framework, FRAMEWORKS, f"of mode {self.name!r}")
        if not self.name.isidentifier():
            raise SciadError(f"mode name {self.name!r} must be an identifier")

    @property
    def label(self) -> str:
        return f"{self.framework} {self.name}"


MODE_TABLE: tuple[Mode, ...] = (
    Mode("jax", "jit", True, "jax.jit with the inputs' Python scalars static", default=True),
    # Eager JAX compiles every small operation on its own, whatever the transform: grad alone covers it.
    Mode("jax", "eager", False, "op by op, each primitive dispatched (and cached-compiled) on its own", parity_transforms=1),
    Mode("torch", "eager", False, "torch.func transforms, op by op", default=True),
    Mode("torch", "compile", True, "torch.compile(dynamic=False) applied outside the torch.func transform"),
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
