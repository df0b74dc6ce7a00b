"""Parity cells: every problem × transform × framework × dtype, against the reference and JAX against torch.

Shared by the pytest suite and `sciad check`, so that "do both frameworks agree on this machine?" has
one answer whichever way it is asked. A cell's id reads as a sentence:
``lennard_jones-torch-float32-grad`` (default mode: jax jit, torch eager), ``...-grad-compile`` for the
other mode, and ``lennard_jones-jax_vs_torch-float64-grad`` for the cross-framework comparison.
"""

from __future__ import annotations

import dataclasses
import functools
import traceback

import numpy as np

from . import checks, transforms
from .errors import SciadError
from .spec import DTYPES, FRAMEWORKS, MODES, Problem, cast

DEFAULT_MODE = {"jax": "jit", "torch": "eager"}
OTHER_MODE = {"jax": "eager", "torch": "compile"}
CROSS = "jax_vs_torch"
SIZE, SEED, EXTRA_SEED = "small", 0, 1


@dataclasses.dataclass(frozen=True)
class Cell:
    problem: str
    framework: str  # "jax", "torch", or CROSS
    dtype: str
    transform: str
    mode: str = ""  # "" is the framework's default mode

    @property
    def id(self) -> str:
        return "-".join(part for part in (self.problem, self.framework, self.dtype, self.transform, self.mode) if part)

    def mode_for(self, framework: str) -> str:
        return self.mode or DEFAULT_MODE[framework]


@dataclasses.dataclass(frozen=True)
class Result:
    cell: Cell
    error: float
    tolerance: float
    ok: bool
    known_failure: str | None = None
    message: str = ""

    @property
    def status(self) -> str:
        if self.known_failure:
            return "xpass" if self.ok else "xfail"
        return "pass" if self.ok else "fail"

    @property
    def passed(self) -> bool:
        """Strict: a known failure that starts working fails the run, so the suite notices the fix."""
        return self.status in ("pass", "xfail")


def mode_transforms(spec: Problem) -> tuple[str, ...]:
    """Transforms also run compiled by torch: grad and one more (compilation is costly). The second is the
    first candidate torch.compile handles: a declared compile failure is already recorded on the spec (and
    in the benchmark), and a failing compile costs as much as a passing one. A spec may name the second
    itself (`Problem.compiled_transform`)."""
    second = spec.compiled_transform or next(
        (
            t
            for t in ("hvp_fwd_rev", "vjp", "vmap", "value_and_grad")
            if t in spec.transforms and not spec.known_failure("torch", t, "compile", SIZE)
        ),
        None,
    )
    return tuple(t for t in ("grad", second) if t in spec.transforms)


def cells(specs, frameworks=FRAMEWORKS, dtypes=DTYPES) -> list[Cell]:
    out = []
    for spec in specs:
        for dtype in dtypes:
            for transform in spec.transforms:
                if SIZE not in spec.sizes_for(transform):
                    continue
                present = [fw for fw in frameworks if fw in spec.frameworks_for(transform)]
                out += [Cell(spec.name, fw, dtype, transform) for fw in present]
                if set(FRAMEWORKS) <= set(present):
                    out.append(Cell(spec.name, CROSS, dtype, transform))
        # Compiled torch and eager JAX: float64 where selected, since a wrong compilation cannot hide in its roundoff.
        mode_dtype = "float64" if "float64" in dtypes else dtypes[0]
        for transform in mode_transforms(spec):
            for fw in frameworks:
                # Eager JAX compiles every small operation on its own: grad alone covers the mode.
                if fw in spec.frameworks_for(transform) and (fw == "torch" or transform == "grad"):
                    out.append(Cell(spec.name, fw, mode_dtype, transform, OTHER_MODE[fw]))
    return out


def known_failure(spec: Problem, cell: Cell) -> str | None:
    frameworks = FRAMEWORKS if cell.framework == CROSS else (cell.framework,)
    for fw in frameworks:
        failure = spec.known_failure(fw, cell.transform, cell.mode_for(fw))
        if failure:
            return f"{fw}: {failure.reason}"
    return None


# ---------------------------------------------------------------------------------------------


def _inputs(spec: Problem, transform: str, dtype: str):
    return transforms.inputs(spec, transform, SIZE, dtype, SEED)


def _map_ndim(reference, y, args) -> int:
    return np.ndim(reference.vector_map(y, args)) if reference.vector_map else 1


@functools.cache
def expected(problem: str, dtype: str, transform: str) -> dict:
    """Reference output, in float64, on the cell's inputs after their cast to `dtype` (so that input
    rounding is not charged to the computation)."""
    spec = _spec(problem)
    y, args, extra = (cast(part, "float64") for part in _inputs(spec, transform, dtype))
    base = spec.base_transform(transform)
    reference = spec.reference_for(transform)
    if base == "vmap":
        return checks.expected_batch(reference, y, args)
    return checks.ReferenceModel(reference, y, args).expected(base, extra[0] if extra else None)


@functools.cache
def transformed(problem: str, transform: str, framework: str, mode: str):
    """One transformed function per process for each (problem, transform, framework, mode). JAX's jit and
    torch.compile keep their compilations on the function object, so the cells of both dtypes and the
    property tests (tests/support.py) reuse one compilation per shape instead of compiling anew."""
    import sciad

    return sciad.transform(problem, transform, framework=framework, mode=mode)


@functools.cache
def computed(problem: str, framework: str, dtype: str, transform: str, mode: str) -> dict:
    """A framework's canonical output for a cell; raises `AssertionError` on a wrong output dtype."""
    import sciad

    spec = _spec(problem)
    y, args, extra = _inputs(spec, transform, dtype)
    fn = transformed(problem, transform, framework, mode)
    yf, af, ef = sciad.convert((y, args, extra), framework)
    out = sciad.to_numpy(fn(yf, af, *ef))
    for leaf in _leaves(out):
        if np.issubdtype(np.asarray(leaf).dtype, np.floating) and np.asarray(leaf).dtype != np.dtype(dtype):
            raise AssertionError(f"{framework} returned dtype {np.asarray(leaf).dtype} for {dtype} inputs")
    y64, base = cast(y, "float64"), spec.base_transform(transform)
    # Only a Jacobian's rows follow the vector map's output shape (and vmap's y carries a batch axis).
    map_ndim = _map_ndim(spec.reference_for(transform), y64, cast(args, "float64")) if base in ("jacfwd", "jacrev") else 1
    return checks.canonical(base, out, y64, map_ndim)


def run(cell: Cell) -> Result:
    """Run one cell. Never raises for a failing computation: the result carries the reason."""
    spec = _spec(cell.problem)
    failure = known_failure(spec, cell)
    if cell.framework == CROSS:
        tolerance = spec.tolerance[cell.dtype]
    else:
        tolerance = spec.reference_tolerance_for(cell.transform)[cell.dtype]
    try:
        if cell.framework == CROSS:
            reference = computed(cell.problem, "jax", cell.dtype, cell.transform, cell.mode_for("jax"))
            actual = computed(cell.problem, "torch", cell.dtype, cell.transform, cell.mode_for("torch"))
        else:
            reference = expected(cell.problem, cell.dtype, cell.transform)
            actual = computed(cell.problem, cell.framework, cell.dtype, cell.transform, cell.mode_for(cell.framework))
    except Exception as exc:  # noqa: BLE001 — the cell reports what went wrong instead of stopping the run
        first = f"{type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc).strip() else ''}"
        if not isinstance(exc, (SciadError, AssertionError)) and not failure:
            first += "\n" + traceback.format_exc(limit=-3)
        return Result(cell, float("inf"), tolerance, False, failure, first)
    err = checks.error(reference, actual)
    message = f"error {err:.3g} against tolerance {tolerance:.2g}"
    return Result(cell, err, tolerance, err <= tolerance, failure, message)


def _spec(name: str) -> Problem:
    import problems

    return problems.get(name)


def _leaves(tree):
    if isinstance(tree, dict):
        for value in tree.values():
            yield from _leaves(value)
    elif isinstance(tree, (tuple, list)):
        for value in tree:
            yield from _leaves(value)
    else:
        yield tree


__all__ = ["CROSS", "Cell", "MODES", "Result", "cells", "run"]
