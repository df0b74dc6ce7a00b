"""Across devices: which transforms have a sharded form, what they split, and how the devices' results combine.

A `Sharding` record per transform kind says it once for both frameworks; the adapters
(`frameworks/jax_sharded.py`: a mesh, `NamedSharding` and `jax.shard_map`; `frameworks/torch_distributed.py`:
one process per rank, `torch.distributed` collectives over gloo) read the record and never a transform's name.

- `vmap` splits y's leading batch axis (hmc's chains, a batch of configurations); `args` are replicated.
  Each device differentiates its own members; the gradients are gathered in batch order.
- `per_sample_grad` splits the data rows (axis 0 of the args keys named by `Problem.per_sample`); y is
  replicated. Each device computes the gradients of its own rows; they are gathered in row order.
- `grad`, `value_and_grad` and `value` split the data rows with y replicated, for a problem whose
  objective is the mean of its per-sample loss plus terms of y alone (`DataMean`, below):
  L(y) = (1/n) Σ_i ℓ_i(y) + R(y). With n rows in N equal shards S_d, device d's objective over its rows is
  L_d(y) = (N/n) Σ_{i∈S_d} ℓ_i(y) + R(y), and (1/N) Σ_d L_d = L exactly, so the value and the gradient of
  the replicated y are the mean of the devices' (DDP's rule). Unequal shards would weight rows unequally:
  the split length must be a multiple of the device count.

The trap these combination rules avoid: inside `shard_map` (with `check_vma=True`, JAX's default), the
gradient of a replicated (device-invariant) y of a device-varying function is already summed over the
devices, by the transpose of the implicit broadcast. A further `psum` — or the DDP habit of averaging each
device's gradient with `pmean`, applied to that already-summed gradient — scales it by N, silently. So the
JAX adapter differentiates the devices' averaged objective (`pmean` before `grad`, nothing after), and runs
the per-device GATHER transforms without that tracking, so that no derivative taken inside them (a row's
gradient in the replicated y, pinn_poisson's Laplacian in its replicated points) is summed over devices.
tests/test_sharding.py plants the trap and shows the parity check catching it.

Torch runs on every rank of an initialised process group (`torchrun`, or `spawn` below): each rank is
given the same global inputs, computes its shard (`Plan.local_inputs`) and assembles the whole result with
`all_gather` or `all_reduce`, so every rank returns what one device would.
"""

from __future__ import annotations

import dataclasses
import math
import os
import pickle
import subprocess
import sys
import tempfile
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from . import checks, registry, transforms
from .errors import SciadError, choose
from .names import DTYPES, FRAMEWORKS, mode
from .trees import cast, leaves, tree_map

if TYPE_CHECKING:
    from .spec import Problem

BATCH, ROWS = "batch", "rows"  # what is split: y's leading batch axis, or the data rows of the per-sample args
GATHER, MEAN = "gather", "mean"  # how the devices' results combine: concatenated in order, or averaged
AXIS = "data"  # the mesh axis (JAX) the split runs along


@dataclasses.dataclass(frozen=True)
class Sharding:
    """The sharded form of one (base) transform: which axis is split over the devices and how their
    results combine. `data_mean`: valid only for a problem whose objective is a mean over its data rows
    (a `DataMean` declaration), since the combination averages the devices' objectives."""

    transform: str
    split: str  # BATCH or ROWS
    combine: str  # GATHER or MEAN
    summary: str
    data_mean: bool = False

    def __post_init__(self):
        choose("split", self.split, (BATCH, ROWS), f"of the sharding of {self.transform!r}")
        choose("combination", self.combine, (GATHER, MEAN), f"of the sharding of {self.transform!r}")
        choose("transform", self.transform, tuple(transforms.TRANSFORMS), "in the sharding table")
        if transforms.TRANSFORMS[self.transform].extra is not None:
            raise SciadError(f"the sharding of {self.transform!r}: a transform with a third input has no sharded form yet")


TABLE: tuple[Sharding, ...] = (
    Sharding("vmap", BATCH, GATHER, "y's batch split over the devices, args replicated; gradients gathered in batch order"),
    Sharding("per_sample_grad", ROWS, GATHER, "data rows split, y replicated; each row's gradient gathered in row order"),
    Sharding("grad", ROWS, MEAN, "data rows split, y replicated; the gradient is the devices' mean (DDP)", data_mean=True),
    Sharding("value_and_grad", ROWS, MEAN, "data rows split, y replicated; value and gradient averaged", data_mean=True),
    Sharding("value", ROWS, MEAN, "data rows split, y replicated; the objective is the devices' mean", data_mean=True),
)

SHARDINGS: dict[str, Sharding] = {s.transform: s for s in TABLE}


@dataclasses.dataclass(frozen=True)
class DataMean:
    """A problem whose objective is L(y) = (1/n) Σ_i ℓ_i(y) + R(y): the mean over its data rows of its
    per-sample loss (`Problem.per_sample`), plus terms of y alone. `maths` says why, from its docstring."""

    problem: str
    maths: str


# Checked against each problem's docstring and both implementations (objective = mean of the per-sample
# loss over axis 0 of the per-sample keys, plus terms without data). Problems with per-sample losses whose
# objective is not such a mean are not listed, and their data-sum transforms are refused.
DATA_MEANS: dict[str, DataMean] = {
    d.problem: d
    for d in (
        DataMean(
            "logistic_regression",
            "L(w) = (1/n) Σ_i [softplus(x_i·w) − t_i x_i·w] + (λ/2)‖w‖²: the mean of ℓ_i plus a ridge term of w",
        ),
        DataMean(
            "mlp_ensemble",
            "L(θ) = Σ_k (1/N) Σ_n (u_k(x_nk) − t_nk)² = (1/N) Σ_n ℓ_n(θ), ℓ_n summing sample n over members",
        ),
    )
}


def supports(spec: Problem, transform: str) -> bool:
    """Whether `spec`'s `transform` has a sharded form."""
    try:
        sharding_for(spec, transform)
    except SciadError:
        return False
    return True


def sharding_for(spec: Problem, transform: str) -> Sharding:
    """The `Sharding` of one of `spec`'s transforms, or one sentence saying why it has none."""
    spec.check_transform(transform)
    base = spec.base_transform(transform)
    variant = spec.variants.get(transform)
    if base not in SHARDINGS or (variant and variant.prebuilt):
        kinds = ", ".join(sorted(SHARDINGS))
        raise SciadError(f"transform {transform!r} of problem {spec.name!r} has no sharded form; transforms that shard: {kinds}")
    sharding = SHARDINGS[base]
    if sharding.split == ROWS and spec.per_sample is None:
        raise SciadError(
            f"transform {transform!r} of problem {spec.name!r} has no sharded form: "
            "the problem declares no data rows (per_sample)"
        )
    if sharding.data_mean and spec.name not in DATA_MEANS:
        raise SciadError(
            f"transform {transform!r} of problem {spec.name!r} has no sharded form: its objective is not declared "
            "a mean over its data rows (sciad.sharding.DATA_MEANS)"
        )
    return sharding


@dataclasses.dataclass(frozen=True)
class Plan:
    """One problem's transform, sharded over `devices` devices: what the adapters build from."""

    spec: Problem
    transform: str
    sharding: Sharding
    devices: int

    @property
    def record(self) -> transforms.Transform:
        return self.spec.transform_record(self.transform)

    @property
    def split_keys(self) -> tuple[str, ...]:
        """The args keys split along their axis 0 (the data rows); () when y's batch is split."""
        return tuple(self.spec.per_sample[1]) if self.sharding.split == ROWS else ()

    def _split_leaves(self, y, args) -> list[tuple[str, object]]:
        if self.sharding.split == BATCH:
            return [("y's batch axis", leaf) for leaf in leaves(y)]
        return [(f"args[{key!r}]'s rows", args[key]) for key in self.split_keys]

    def length(self, y, args) -> int:
        """The length of the split axis, after checking that every split array has it."""
        found = [(where, int(value.shape[0])) for where, value in self._split_leaves(y, args)]
        if len({n for _, n in found}) != 1:
            raise SciadError(f"the split axes of problem {self.spec.name!r} differ in length: {dict(found)}")
        return found[0][1]

    def check(self, y, args) -> int:
        """The length of the split axis; one sentence when the devices cannot split it evenly."""
        n = self.length(y, args)
        if n % self.devices:
            where = self._split_leaves(y, args)[0][0]
            raise SciadError(
                f"{where} has length {n}, which {self.devices} devices cannot split evenly "
                f"(problem {self.spec.name!r}, transform {self.transform!r}); give a multiple of {self.devices}"
            )
        return n

    def bounds(self, rank: int, n: int) -> slice:
        share = n // self.devices
        return slice(rank * share, (rank + 1) * share)

    def local_inputs(self, y, args, rank: int):
        """Rank `rank`'s `(y, args)`: its contiguous block of the split axis (framework arrays slice alike)."""
        part = self.bounds(rank, self.check(y, args))
        if self.sharding.split == BATCH:
            return tree_map(lambda value: value[part], y), args
        return y, {key: (value[part] if key in self.split_keys else value) for key, value in args.items()}


def plan(spec: Problem, transform: str, devices: int) -> Plan:
    if isinstance(devices, bool) or not isinstance(devices, int) or devices < 1:
        raise SciadError(f"devices={devices!r} is not accepted; a positive integer is")
    return Plan(spec, transform, sharding_for(spec, transform), devices)


# ---------------------------------------------------------------------------------------------
# Scaling (`sciad bench --devices`): the split axis at fixed total length (strong) or grown ×devices (weak).


@dataclasses.dataclass(frozen=True)
class SplitAxis:
    """The split axis of one transform at one size: its length, and how to grow it (`batch`: y's batch
    length; otherwise the size parameter that sets the number of data rows)."""

    length: int
    parameter: str | None  # None: y's batch (`transforms.inputs(batch=...)`)


def split_axis(spec: Problem, transform: str, size: str) -> SplitAxis:
    """The length of the split axis in the benchmark's inputs at `size` and the knob that grows it.

    y's batch is the benchmark's vmap batch (`Problem.bench_batch`). Data rows are counted in the inputs
    themselves, and the size parameter that sets them is the one whose value is that count: a problem
    where none or several match is refused (weak scaling could not grow its rows unambiguously)."""
    p = plan(spec, transform, 1)
    if p.sharding.split == BATCH:
        return SplitAxis(spec.bench_batch, None)
    y, args, _ = transforms.inputs(spec, transform, size, "float64")
    length = p.length(y, args)
    matching = [name for name, value in spec.sizes[size].items() if value == length]
    if len(matching) != 1:
        raise SciadError(
            f"problem {spec.name!r} at size {size!r} has {length} data rows, but {len(matching) or 'none'} of its size "
            f"parameters ({', '.join(spec.sizes[size])}) equal that count, so its rows cannot be scaled"
        )
    return SplitAxis(length, matching[0])


def scaled_inputs(spec: Problem, transform: str, size: str, dtype: str, devices: int, weak: bool, seed: int = 0):
    """NumPy `(y, args, extra, size_parameters)` of a scaling case: the split axis as at one device (strong)
    or ×`devices` (weak); refused in one sentence when `devices` cannot split it evenly."""
    axis = split_axis(spec, transform, size)
    factor = devices if weak else 1
    overrides = {} if axis.parameter is None else {axis.parameter: axis.length * factor}
    batch = spec.bench_batch * factor if axis.parameter is None else None
    y, args, extra = transforms.inputs(spec, transform, size, dtype, seed, batch=batch, **overrides)
    plan(spec, transform, devices).check(y, args)
    parameters = {**spec.sizes[size], **overrides, **({"batch": batch} if batch else {})}
    return y, args, extra, parameters


def _adapter(framework: str):
    if framework == "jax":
        from .frameworks import jax_sharded

        return jax_sharded
    from .frameworks import torch_distributed

    return torch_distributed


def build(spec: Problem, transform: str, framework: str, mode_name: str | None, devices: int, **planted):
    """`spec`'s `transform` in `framework` over `devices` devices, as a `transforms.Transformed`.

    JAX: on a mesh of the first `devices` devices (`jax.devices()`); call it from one process.
    torch: call it on every rank of an initialised process group of `devices` ranks (launched by
    `torchrun`, or by `spawn`); every rank passes the same global inputs and gets the whole result.
    `planted` replaces the adapter's combination step (tests plant the N× trap with it).
    """
    from . import frameworks

    p = plan(spec, transform, devices)
    chosen = mode(framework, mode_name)
    choose("framework", framework, spec.frameworks_for(transform), f"for transform {transform!r} of problem {spec.name!r}")
    fw = frameworks.load(framework)
    fn = getattr(spec.implementation(framework), spec.function_for(transform))
    return transforms.Transformed(spec, transform, framework, chosen, _adapter(framework).shard(p, fw, fn, chosen, **planted))


def spawn(target: Callable, ranks: int, *args, timeout: float = 300.0, **kwargs):
    """Run `target(*args, **kwargs)` on `ranks` torch processes (spawned, never forked) in a gloo process group;
    return rank 0's result. `target` must be importable (a module-level function)."""
    from .frameworks import torch_distributed

    return torch_distributed.spawn(target, ranks, *args, timeout=timeout, **kwargs)


# ---------------------------------------------------------------------------------------------
# Parity across devices: `sciad check --devices N` and tests/test_sharding.py.

CROSS = "jax_vs_torch"
SIZE, SEED = "small", 0
# Sharded against one device, same framework: the same maths with sums regrouped by shard.
SAME_MATHS_FLOAT64 = 1e-12


@dataclasses.dataclass(frozen=True)
class Cell:
    problem: str
    framework: str  # "jax", "torch" (sharded against one device) or CROSS (JAX-sharded against torch-distributed)
    dtype: str
    transform: str
    devices: int

    @property
    def id(self) -> str:
        return f"{self.problem}-{self.framework}-{self.dtype}-{self.transform}-devices{self.devices}"


@dataclasses.dataclass(frozen=True)
class Result:
    cell: Cell
    error: float
    tolerance: float
    message: str = ""
    skipped: bool = False  # not run: the devices cannot split the cell's inputs evenly (`message` says so)

    @property
    def passed(self) -> bool:
        return self.skipped or self.error <= self.tolerance

    @property
    def status(self) -> str:
        return "skip" if self.skipped else "pass" if self.passed else "fail"


def inputs(spec: Problem, transform: str, dtype: str, devices: int):
    """The check's NumPy `(y, args)`: size small, seed 0; a vmap batch rounded up to a multiple of `devices`."""
    batch = devices * math.ceil(spec.batch / devices)
    y, args, _ = transforms.inputs(spec, transform, SIZE, dtype, SEED, batch=batch)
    return y, args


def jobs(specs, dtypes, devices: int) -> tuple[list[tuple[str, str, str]], dict[tuple[str, str, str], str]]:
    """(problem, dtype, transform) for every transform with a sharded form whose default modes are not a
    known failure; and apart, those whose inputs `devices` devices cannot split evenly, with the sentence."""
    out, uneven = [], {}
    for spec in specs:
        for transform in spec.transforms:
            if not supports(spec, transform) or SIZE not in spec.sizes_for(transform):
                continue
            if any(spec.known_failure(fw, transform, mode(fw).name, SIZE) for fw in spec.frameworks_for(transform)):
                continue
            for dtype in dtypes:
                y, args = inputs(spec, transform, dtype, devices)
                try:
                    plan(spec, transform, devices).check(y, args)
                except SciadError as exc:
                    uneven[(spec.name, dtype, transform)] = str(exc)
                    continue
                out.append((spec.name, dtype, transform))
    return out, uneven


def compute(framework: str, job_list, devices: int, **planted) -> dict:
    """For each job, `{"one": ..., "sharded": ...}` (canonical outputs: one device, and `devices` devices)
    or `{"error": sentence}`. JAX: in a process that sees `devices` devices; torch: on every rank."""
    import sciad

    results = {}
    for problem, dtype, transform in job_list:
        key = (problem, dtype, transform)
        spec = registry.get(problem)
        if framework not in spec.frameworks_for(transform):
            continue
        try:
            y, args = inputs(spec, transform, dtype, devices)
            one = transforms.build(spec, transform, framework)
            many = build(spec, transform, framework, None, devices, **planted)
            yf, af = sciad.convert((y, args), framework)
            y64, a64 = cast((y, args), "float64")
            results[key] = {
                "one": transforms.canonical(spec, transform, sciad.to_numpy(one(yf, af)), y64, a64),
                "sharded": transforms.canonical(spec, transform, sciad.to_numpy(many(yf, af)), y64, a64),
            }
        except Exception as exc:  # noqa: BLE001 — the cell reports what went wrong
            results[key] = {"error": f"{type(exc).__name__}: {(str(exc).strip().splitlines() or [''])[0]}"}
    return results


def _jax_worker(argv) -> None:
    """`python -m sciad.sharding JOBS OUT DEVICES`: JAX's outputs, in a process whose XLA_FLAGS were set
    before JAX was imported."""
    with open(argv[0], "rb") as f:
        job_list = pickle.load(f)
    results = compute("jax", job_list, int(argv[2]))
    with open(argv[1], "wb") as f:
        pickle.dump(results, f)


def with_host_devices(env: Mapping[str, str], devices: int) -> dict[str, str]:
    """`env` with XLA_FLAGS asking the CPU platform for `devices` devices (other flags kept)."""
    flags = [f for f in env.get("XLA_FLAGS", "").split() if not f.startswith("--xla_force_host_platform_device_count")]
    return {**env, "XLA_FLAGS": " ".join(flags + [f"--xla_force_host_platform_device_count={devices}"])}


def jax_outputs(job_list, devices: int, timeout: float = 600.0) -> dict:
    """`compute("jax", ...)` in a fresh process simulating `devices` CPU devices (XLA_FLAGS must be set
    before JAX is imported, so never in this process)."""
    with tempfile.TemporaryDirectory() as tmp:
        jobs_path, out_path = os.path.join(tmp, "jobs.pkl"), os.path.join(tmp, "out.pkl")
        with open(jobs_path, "wb") as f:
            pickle.dump(list(job_list), f)
        command = [sys.executable, "-m", "sciad.sharding", jobs_path, out_path, str(devices)]
        env = with_host_devices(os.environ, devices)
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=timeout)
        if done.returncode != 0 or not os.path.exists(out_path):
            raise SciadError(f"the JAX worker on {devices} devices failed: {done.stderr.strip().splitlines()[-1:]}")
        with open(out_path, "rb") as f:
            return pickle.load(f)


def torch_outputs(job_list, devices: int, **planted) -> dict:
    """`compute("torch", ...)` on `devices` spawned gloo ranks; rank 0's outputs."""
    return spawn(compute, devices, "torch", list(job_list), devices, **planted)


def compare(outputs: Mapping[str, dict], job_list, devices: int) -> list[Result]:
    """Cells from the frameworks' outputs: each sharded against its one device, and JAX against torch."""
    results = []
    for problem, dtype, transform in job_list:
        spec = registry.get(problem)
        same = SAME_MATHS_FLOAT64 if dtype == "float64" else spec.tolerance[dtype]
        found = {fw: out[(problem, dtype, transform)] for fw, out in outputs.items() if (problem, dtype, transform) in out}
        for fw, got in found.items():
            cell = Cell(problem, fw, dtype, transform, devices)
            results.append(_result(cell, same, [got], lambda got=got: (got["one"], got["sharded"])))
        if set(FRAMEWORKS) <= set(found):
            cell, jax_out, torch_out = Cell(problem, CROSS, dtype, transform, devices), found["jax"], found["torch"]
            pair = lambda jax_out=jax_out, torch_out=torch_out: (jax_out["sharded"], torch_out["sharded"])  # noqa: E731
            results.append(_result(cell, spec.tolerance[dtype], [jax_out, torch_out], pair))
    return results


def _result(cell: Cell, tolerance: float, computed: list[dict], pair: Callable) -> Result:
    """The cell comparing `pair()`; a failed computation among `computed` fails it, with its sentence."""
    failed = [got["error"] for got in computed if "error" in got]
    if failed:
        return Result(cell, float("inf"), tolerance, failed[0])
    err = checks.error(*pair())
    return Result(cell, err, tolerance, f"error {err:.3g} against tolerance {tolerance:.2g}")


def run(specs, frameworks=FRAMEWORKS, dtypes=DTYPES, devices: int = 2) -> list[Result]:
    """Every shardable cell of `specs` on `devices` devices: JAX in a subprocess simulating them on the
    CPU, torch on spawned gloo ranks."""
    if isinstance(devices, bool) or not isinstance(devices, int) or devices < 1:
        raise SciadError(f"--devices {devices!r} is not accepted; a positive integer is")
    job_list, uneven = jobs(specs, dtypes, devices)
    if not job_list and uneven:
        raise SciadError(next(iter(uneven.values())))
    if not job_list:
        names = ", ".join(spec.name for spec in specs)
        raise SciadError(f"no transform of {names} has a sharded form; transforms that shard: {', '.join(sorted(SHARDINGS))}")
    outputs = {}
    if "jax" in frameworks:
        outputs["jax"] = jax_outputs(job_list, devices)
    if "torch" in frameworks:
        outputs["torch"] = torch_outputs(job_list, devices)
    skipped = [
        Result(Cell(key[0], "all", key[1], key[2], devices), float("nan"), 0.0, why, skipped=True) for key, why in uneven.items()
    ]
    return compare(outputs, job_list, devices) + skipped


if __name__ == "__main__":
    _jax_worker(sys.argv[1:])
