"""Benchmark cases, generated from the registry; named suites are filters over them."""

from __future__ import annotations

import dataclasses

from ..errors import SciadError, choose
from ..spec import DTYPES, FRAMEWORKS, MODES

DEVICES = ("cpu", "cuda", "auto")

# A suite fixes the options the user left out. "quick" is what `sciad bench` runs with no options: the
# value and gradient of the foundation problems (CATALOGUE Part 1) at their benchmark size in every
# framework and mode, float64 — a few minutes on a 2-core CPU. "full" is every problem and transform in
# both dtypes; "gpu" is "full" in float32 first (what a GPU is for) and float64.
FOUNDATION = ("rosenbrock", "logistic_regression", "lennard_jones", "nbody", "lotka_volterra")
SUITES = {
    "quick": {
        "problem": FOUNDATION,
        "transform": ("value", "grad"),
        "size": ("bench",),
        "dtype": ("float64",),
        "min_time": 0.2,
        "timeout": 120.0,
    },
    "full": {"size": ("bench",), "dtype": ("float64", "float32"), "min_time": 0.5, "timeout": 300.0},
    "gpu": {"size": ("bench",), "dtype": ("float32", "float64"), "min_time": 0.5, "timeout": 300.0},
}


@dataclasses.dataclass(frozen=True)
class Case:
    problem: str
    transform: str
    framework: str
    mode: str
    size: str  # a named size of the spec, or "param=value" for a sweep point
    dtype: str
    device: str

    @property
    def id(self) -> str:
        return "-".join((self.problem, self.transform, self.framework, self.mode, self.size, self.dtype, self.device))

    @property
    def key(self) -> tuple:
        return (self.problem, self.transform, self.framework, self.mode, self.size, self.dtype, self.device)

    def size_arguments(self, spec) -> tuple[str, dict]:
        """(named size, parameter overrides) for `spec.make_inputs`."""
        if "=" in self.size:
            parameter, value = self.size.split("=")
            return "bench", {parameter: int(value)}
        return self.size, {}


def generate(
    specs, *, transforms=None, frameworks=None, modes=None, sizes=None, dtypes=None, devices=("cpu",), sweep: bool = False
) -> list[Case]:
    """Every case that applies, in a stable order; a `None` filter means all that apply."""
    for framework in frameworks or ():
        choose("framework", framework, FRAMEWORKS)
    for mode in modes or ():
        choose("mode", mode, sorted({m for ms in MODES.values() for m in ms}))
    for dtype in dtypes or ():
        choose("dtype", dtype, DTYPES)
    for device in devices:
        choose("device", device, DEVICES)
    for transform in transforms or ():
        if not any(transform in spec.transforms for spec in specs):
            known = sorted({t for spec in specs for t in spec.transforms})
            raise SciadError(
                f"transform {transform!r} applies to none of the selected problems; their transforms are: {', '.join(known)}"
            )
    for size in sizes or ():
        if not any(size in spec.sizes for spec in specs):
            known = sorted({s for spec in specs for s in spec.sizes})
            raise SciadError(f"unknown size {size!r}; the selected problems' sizes are: {', '.join(known)}")
    cases = []
    for spec in specs:
        for transform in spec.transforms:
            if transforms and transform not in transforms:
                continue
            if sweep:
                if spec.sweep is None or "bench" not in spec.sizes_for(transform):
                    continue
                parameter, values = spec.sweep
                size_names = [f"{parameter}={value}" for value in values]
            else:
                size_names = [s for s in spec.sizes_for(transform) if not sizes or s in sizes]
            for framework in frameworks or FRAMEWORKS:
                if framework not in spec.frameworks_for(transform):
                    continue
                for mode in MODES[framework]:
                    if modes and mode not in modes:
                        continue
                    for size in size_names:
                        for dtype in dtypes or DTYPES:
                            for device in devices:
                                cases.append(Case(spec.name, transform, framework, mode, size, dtype, device))
    return cases
