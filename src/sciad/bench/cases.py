"""Benchmark cases, generated from the registry; named suites are filters over them."""

from __future__ import annotations

import dataclasses

from ..errors import SciadError, choose
from ..names import BASELINE_DTYPE, BASELINE_LIBRARIES, DEVICES, DTYPES, FRAMEWORKS, MODES, all_mode_names
from ..names import mode as mode_record
from ..transforms import supported

# A suite fixes the options the user left out. "quick" is what `sciad bench` runs with no options: the
# value and gradient of the five foundation problems (FOUNDATION) at their benchmark size in every
# framework and mode, float64 — a few minutes on a 2-core CPU. "full" is every problem and transform in
# both dtypes; "gpu" is "full" in float32 first (what a GPU is for) and float64.
FOUNDATION = ("rosenbrock", "logistic_regression", "lennard_jones", "nbody", "lotka_volterra")
# "gpu-quick" fits a short GPU slot: the problems that matter on an accelerator, each with its value, gradient and
# one higher-order transform, in the mode each framework's users would reach for first (and torch's compiled one).
GPU_QUICK = {
    "nbody": ("value", "grad", "jvp"),
    "lennard_jones": ("value", "grad", "hvp_fwd_rev"),
    "heat_inverse": ("value", "grad", "hvp_fwd_rev"),
    "burgers_spectral": ("value", "grad", "jvp"),
    "neural_ode": ("value", "grad", "jvp"),
    "hmc": ("value", "grad", "hvp_fwd_rev"),
    "gmm": ("value", "grad", "hvp_fwd_rev"),
    "lse": ("value", "grad", "hvp_fwd_rev"),
    "bundle_adjustment": ("value", "grad", "jvp"),
    "mlp_ensemble": ("value", "grad", "vmap"),
}
GPU_QUICK_MODES = (("jax", "jit"), ("torch", "eager"), ("torch", "compile"))

SUITES = {
    "quick": {
        "problem": FOUNDATION,
        "transform": ("value", "grad"),
        # Every mode but autograd_compile: compiling nbody's and lotka_volterra's whole time loops is minutes
        # of cold compilation at bench size; the full suite runs it.
        "mode": ("jit", "eager", "compile", "autograd"),
        "size": ("bench",),
        "dtype": ("float64",),
        "min_time": 0.2,
        "timeout": 120.0,
    },
    "full": {"size": ("bench",), "dtype": ("float64", "float32"), "min_time": 0.5, "timeout": 300.0},
    "gpu": {"size": ("bench",), "dtype": ("float32", "float64"), "min_time": 0.5, "timeout": 300.0},
    "gpu-quick": {
        "problem": tuple(GPU_QUICK),
        "size": ("bench",),
        "dtype": ("float32", "float64"),
        "min_time": 0.1,
        "timeout": 60.0,
        "keep": lambda case: case.transform in GPU_QUICK[case.problem] and (case.framework, case.mode) in GPU_QUICK_MODES,
    },
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
    # A scaling case (`sciad bench --devices`): the sharded transform on `devices` devices, and whether the
    # split axis keeps its length (STRONG) or grows ×devices (WEAK). None for a one-device case.
    devices: int | None = None
    scaling: str | None = None

    @property
    def id(self) -> str:
        parts = (self.problem, self.transform, self.framework, self.mode, self.size, self.dtype, self.device)
        return "-".join(parts + ((f"{self.scaling}{self.devices}",) if self.devices is not None else ()))

    @property
    def key(self) -> tuple:
        return (
            self.problem,
            self.transform,
            self.framework,
            self.mode,
            self.size,
            self.dtype,
            self.device,
            self.devices,
            self.scaling,
        )

    def size_arguments(self, spec) -> tuple[str, dict]:
        """(named size, parameter overrides) for `spec.make_inputs`."""
        if "=" in self.size:
            parameter, value = self.size.split("=")
            return "bench", {parameter: int(value)}
        return self.size, {}


def generate(
    specs, *, transforms=None, frameworks=None, modes=None, sizes=None, dtypes=None, devices=("cpu",), sweep: bool = False
) -> list[Case]:
    """Every case that applies, in a stable order; a `None` filter means all that apply.

    Besides the frameworks, each baseline of a problem (`Problem.baselines`) is a case whose framework is
    its library ("scipy") and whose mode is its method, float64 and on the CPU (device "cpu" or "auto").
    """
    for framework in frameworks or ():
        choose("framework", framework, FRAMEWORKS + BASELINE_LIBRARIES)
    baseline_modes = {b.mode for spec in specs for b in spec.baselines}
    for mode in modes or ():
        choose("mode", mode, list(all_mode_names()) + sorted(baseline_modes - {"eager"}))
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
            for framework in frameworks or FRAMEWORKS + BASELINE_LIBRARIES:
                if framework in BASELINE_LIBRARIES:
                    cases += [
                        Case(spec.name, transform, framework, baseline.mode, size, BASELINE_DTYPE, device)
                        for baseline in spec.baselines
                        if (baseline.transform, baseline.library) == (transform, framework)
                        and (not modes or baseline.mode in modes)
                        and (not dtypes or BASELINE_DTYPE in dtypes)
                        for size in size_names
                        for device in devices
                        if device != "cuda"
                    ]
                    continue
                if framework not in spec.frameworks_for(transform):
                    continue
                for mode in MODES[framework]:
                    if modes and mode not in modes:
                        continue
                    if not supported(spec, transform, mode_record(framework, mode)):
                        continue  # the mode cannot express it (`names.Mode.supports`): no case, not a failure
                    for size in size_names:
                        for dtype in dtypes or DTYPES:
                            for device in devices:
                                cases.append(Case(spec.name, transform, framework, mode, size, dtype, device))
    for library in (f for f in frameworks or () if f in BASELINE_LIBRARIES):
        if not any(case.framework == library for case in cases):
            raise SciadError(_no_baseline(specs, library))
    return cases


STRONG, WEAK = "strong", "weak"  # fixed total work; fixed work per device (the split axis grown ×devices)
SCALINGS = (STRONG, WEAK)


def parse_devices(text: str) -> tuple[int, ...]:
    """`--devices 1,2,4`: distinct positive device counts, ascending; one sentence otherwise."""
    try:
        counts = [int(part) for part in text.split(",")]
    except ValueError:
        counts = []
    if not counts or any(n < 1 for n in counts):
        raise SciadError(f"--devices {text!r} is not accepted; a comma-separated list of positive device counts is, e.g. 1,2,4")
    return tuple(sorted(set(counts)))


def generate_scaling(specs, counts, *, transforms=None, frameworks=None, modes=None, sizes=None, dtypes=None) -> list[Case]:
    """The scaling cases: each selected transform with a sharded form (`sciad.sharding`), in each framework's
    default mode unless `modes` names others, at each device count, strong and weak. A transform named in
    `transforms` that has no sharded form, or a selection with none, is refused in one sentence."""
    from .. import sharding
    from ..names import mode as default_mode

    for framework in frameworks or ():
        choose("framework", framework, FRAMEWORKS, "with --devices (baselines have no sharded form)")
    for transform in transforms or ():
        listing = [spec for spec in specs if transform in spec.transforms]
        if listing and not any(sharding.supports(spec, transform) for spec in listing):
            sharding.sharding_for(listing[0], transform)  # one sentence: why it has no sharded form
    cases = []
    for spec in specs:
        for transform in spec.transforms:
            if (transforms and transform not in transforms) or not sharding.supports(spec, transform):
                continue
            for framework in frameworks or FRAMEWORKS:
                if framework not in spec.frameworks_for(transform):
                    continue
                for mode in modes or (default_mode(framework).name,):
                    if mode not in MODES[framework] or not supported(spec, transform, mode_record(framework, mode)):
                        continue
                    for size in [s for s in spec.sizes_for(transform) if s in (sizes or ("bench",))]:
                        for dtype in dtypes or ("float64",):
                            for n in counts:
                                for scaling in SCALINGS:
                                    cases.append(Case(spec.name, transform, framework, mode, size, dtype, "cpu", n, scaling))
    if not cases:
        names = ", ".join(spec.name for spec in specs) if len(specs) <= 3 else f"{len(specs)} problems"
        raise SciadError(
            f"--devices selects no case: no selected transform of {names} has a sharded form in these modes and sizes "
            f"(transforms that shard: {', '.join(sorted(sharding.SHARDINGS))}; sizes default to bench)"
        )
    return cases


def _no_baseline(specs, library: str) -> str:
    """Why `--framework <library>` selected nothing: which baselines exist and what they run on."""
    held = [f"{spec.name} {b.transform} ({b.mode})" for spec in specs for b in spec.baselines if b.library == library]
    if not held:
        names = ", ".join(spec.name for spec in specs) if len(specs) <= 3 else f"{len(specs)} problems"
        return (
            f"framework {library!r} is a benchmark baseline, and none of the selected problems ({names}) has a {library} baseline"
        )
    return (
        f"no {library} baseline case matches these options; {library} baselines run in {BASELINE_DTYPE} on the cpu, "
        f"for: {', '.join(held)}"
    )
