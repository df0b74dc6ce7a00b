"""Parity cells: every problem × transform × framework × dtype, against the reference and JAX against torch.

Shared by the pytest suite and `sciad check`, so that "do both frameworks agree on this machine?" has
one answer whichever way it is asked. A cell's id reads as a sentence:
``lennard_jones-torch-float32-grad`` (in the framework's default mode, `names.Mode.default`),
``...-grad-compile`` in another mode, and ``lennard_jones-jax_vs_torch-float64-grad`` for the cross-framework comparison.
"""

from __future__ import annotations

import dataclasses
import functools
import traceback

import numpy as np

from . import checks, frameworks, registry, transforms
from .errors import SciadError
from .names import DTYPES, FRAMEWORKS, MODE_TABLE, mode
from .spec import Problem
from .trees import cast, leaves

CROSS = "jax_vs_torch"
SIZE, SEED, EXTRA_SEED = "small", 0, 1


@dataclasses.dataclass(frozen=True)
class Cell:
    problem: str
    framework: str  # "jax", "torch", or CROSS
    dtype: str
    transform: str
    mode: str = ""  # "" is the framework's default mode
    device: str = "cpu"  # where the inputs and the computation live (`sciad check --device`)

    @property
    def id(self) -> str:
        device = "" if self.device == "cpu" else self.device
        return "-".join(part for part in (self.problem, self.framework, self.dtype, self.transform, self.mode, device) if part)

    def mode_for(self, framework: str) -> str:
        return self.mode or mode(framework).name


@dataclasses.dataclass(frozen=True)
class Result:
    cell: Cell
    error: float
    tolerance: float
    ok: bool
    known_failure: str | None = None
    message: str = ""
    # A known failure measured with another version of the failing package: this version may have it or not.
    maybe_failure: str | None = None

    @property
    def status(self) -> str:
        if self.known_failure:
            return "xpass" if self.ok else "xfail"
        if self.maybe_failure and not self.ok:
            return "xfail"
        return "pass" if self.ok else "fail"

    @property
    def passed(self) -> bool:
        """Strict: a known failure that starts working fails the run, so the suite notices the fix."""
        return self.status in ("pass", "xfail")


def mode_transforms(spec: Problem, framework: str, mode_name: str, device: str = "cpu") -> tuple[str, ...]:
    """The transforms the suite also runs in a framework's non-default mode (compilation is costly): by the
    transforms' `mode_cell_rank`, the first `Mode.parity_transforms` of those that apply. A declared known
    failure is already recorded on the spec (and in the benchmark) and costs as much as a passing compile,
    so a candidate failing in this mode is passed over."""
    record = mode(framework, mode_name)
    ranked = sorted((t for t in transforms.TABLE if t.mode_cell_rank is not None), key=lambda t: t.mode_cell_rank)
    # A mode that cannot express a transform (`Mode.supports`) has no cell for it.
    applicable = [t for t in ranked if t.name in spec.transforms and transforms.supported(spec, t.name, record)]
    first = [t.name for t in applicable if t.mode_cell_rank == 0]
    rest = [
        t.name
        for t in applicable
        if t.mode_cell_rank > 0 and not spec.known_failure(framework, t.name, mode_name, SIZE, device)
    ]
    if record.compiled and not record.regional and spec.compile_regions:
        # This mode would unroll the problem's time loop into one graph, the costliest cold compile of the
        # suite (figures in benchmarks/README.md, "The test suite's time"), for a graph PyTorch users of a
        # time loop do not build (they compile the step, as the
        # regional mode does, proven on lotka_volterra). The suite runs this mode on the problems without a
        # loop; the benchmark runs it everywhere and checks each result against the reference before timing.
        return ()
    chosen = (first + rest[:1])[: record.parity_transforms]
    return tuple(t for t in chosen if framework in spec.frameworks_for(t))


def cells(specs, frameworks=FRAMEWORKS, dtypes=DTYPES, device: str = "cpu") -> list[Cell]:
    out = []
    for spec in specs:
        for dtype in dtypes:
            for transform in spec.transforms:
                if SIZE not in spec.sizes_for(transform):
                    continue
                present = [fw for fw in frameworks if fw in spec.frameworks_for(transform)]
                out += [Cell(spec.name, fw, dtype, transform, device=device) for fw in present]
                if set(FRAMEWORKS) <= set(present):
                    out.append(Cell(spec.name, CROSS, dtype, transform, device=device))
        # Other modes: float64 where selected, since a wrong compilation cannot hide in its roundoff.
        mode_dtype = "float64" if "float64" in dtypes else dtypes[0]
        for other in (m for m in MODE_TABLE if not m.default and m.framework in frameworks):
            if other.parity_problems is not None and spec.name not in other.parity_problems:
                continue
            chosen = mode_transforms(spec, other.framework, other.name, device)
            out += [Cell(spec.name, other.framework, mode_dtype, t, other.name, device) for t in chosen]
    return out


def _failure_of(cell: Cell, lookup):
    """(framework, KnownFailure) for the first of the cell's frameworks that `lookup` finds one for."""
    for fw in FRAMEWORKS if cell.framework == CROSS else (cell.framework,):
        if failure := lookup(fw, cell.transform, cell.mode_for(fw), SIZE, cell.device):
            return fw, failure
    return None, None


def known_failure(spec: Problem, cell: Cell) -> str | None:
    """The reason a cell must fail (a strict xfail), or None."""
    fw, failure = _failure_of(cell, spec.known_failure)
    return f"{fw}: {failure.reason}" if failure else None


def maybe_failure(spec: Problem, cell: Cell) -> str | None:
    """The reason a cell may fail (a non-strict xfail): a known failure of another version of its package."""
    fw, failure = _failure_of(cell, spec.known_failure_elsewhere)
    return f"{fw}: known to fail with {failure.versions}, not measured with this version: {failure.reason}" if failure else None


# ---------------------------------------------------------------------------------------------


def _inputs(spec: Problem, transform: str, dtype: str):
    return transforms.inputs(spec, transform, SIZE, dtype, SEED)


@functools.cache
def expected(problem: str, dtype: str, transform: str) -> dict:
    """Reference output, in float64, on the cell's inputs after their cast to `dtype` (so that input
    rounding is not charged to the computation)."""
    spec = registry.get(problem)
    y, args, extra = cast(_inputs(spec, transform, dtype), "float64")
    return transforms.expected(spec, transform, y, args, extra)


@functools.cache
def transformed(problem: str, transform: str, framework: str, mode: str):
    """One transformed function per process for each (problem, transform, framework, mode). JAX's jit and
    torch.compile keep their compilations on the function object, so the cells of both dtypes and the
    property tests (tests/support.py) reuse one compilation per shape instead of compiling anew."""
    return transforms.build(registry.get(problem), transform, framework, mode)


@functools.cache
def computed(problem: str, framework: str, dtype: str, transform: str, mode: str, device: str = "cpu") -> dict:
    """A framework's canonical output for a cell, computed on `device`; raises `AssertionError` on a wrong
    output dtype or an output that left the device."""
    spec = registry.get(problem)
    y, args, extra = _inputs(spec, transform, dtype)
    fn = transformed(problem, transform, framework, mode)
    fw = frameworks.load(framework)
    yf, af, ef = fw.convert((y, args, extra), device=device)
    raw = fn(yf, af, *ef)
    if fw.device_name(raw) != fw.device_name(yf):
        raise AssertionError(f"{framework} computed on {fw.device_name(raw)} for inputs on {fw.device_name(yf)}")
    out = fw.to_numpy(raw)
    for leaf in leaves(out):
        if np.issubdtype(np.asarray(leaf).dtype, np.floating) and np.asarray(leaf).dtype != np.dtype(dtype):
            raise AssertionError(f"{framework} returned dtype {np.asarray(leaf).dtype} for {dtype} inputs")
    return transforms.canonical(spec, transform, out, cast(y, "float64"), cast(args, "float64"))


def run(cell: Cell) -> Result:
    """Run one cell. Never raises for a failing computation: the result carries the reason."""
    spec = registry.get(cell.problem)
    failure, maybe = known_failure(spec, cell), maybe_failure(spec, cell)
    if cell.framework == CROSS:
        tolerance = spec.tolerance[cell.dtype]
    else:
        tolerance = spec.reference_tolerance_for(cell.transform)[cell.dtype]
    try:
        if cell.framework == CROSS:
            reference = computed(cell.problem, "jax", cell.dtype, cell.transform, cell.mode_for("jax"), cell.device)
            actual = computed(cell.problem, "torch", cell.dtype, cell.transform, cell.mode_for("torch"), cell.device)
        else:
            reference = expected(cell.problem, cell.dtype, cell.transform)
            fw, mode_name = cell.framework, cell.mode_for(cell.framework)
            actual = computed(cell.problem, fw, cell.dtype, cell.transform, mode_name, cell.device)
    except Exception as exc:  # noqa: BLE001 — the cell reports what went wrong instead of stopping the run
        first = f"{type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc).strip() else ''}"
        if not isinstance(exc, (SciadError, AssertionError)) and not (failure or maybe):
            first += "\n" + traceback.format_exc(limit=-3)
        return Result(cell, float("inf"), tolerance, False, failure, first, maybe)
    err = checks.error(reference, actual)
    message = f"error {err:.3g} against tolerance {tolerance:.2g}"
    return Result(cell, err, tolerance, err <= tolerance, failure, message, maybe)


__all__ = ["CROSS", "Cell", "Result", "cells", "run"]
