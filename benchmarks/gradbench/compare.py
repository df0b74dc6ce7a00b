"""sciad against GradBench's own JAX and PyTorch tools: the same computation, the same inputs, the same protocol.

    python benchmarks/gradbench/compare.py --gradbench /path/to/gradbench/python/gradbench \
        --out benchmarks/gradbench/results-cpu.jsonl
    python benchmarks/gradbench/compare.py --table benchmarks/gradbench/results-cpu.jsonl   # print the table again

GradBench (https://github.com/gradbench/gradbench) is not vendored: its Python package is imported at run
time from the path given (`--gradbench`, the folder that holds the `gradbench` package). Its LSTM reader
needs `dataclasses-json`; install it anywhere and pass `--deps DIR` (appended to `sys.path`).

For every (problem, function, framework) GradBench has a tool for, and each size:

1. inputs are built once by sciad (`problems.get(name).make_inputs(...)`, float64) and converted to the
   JSON dict GradBench's eval sends (lists and numbers), which GradBench's own `prepare_input` turns into
   its prepared inputs, outside any timing;
2. in one spawned worker process per (problem, size, framework) — JAX is never imported in a forked
   process — pinned to one CPU with one thread (OMP/MKL/OpenBLAS = 1, `torch.set_num_threads(1)`,
   XLA's `--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1`), each implementation is
   called once (the first call, trace and compile included, is recorded apart), and the outputs are
   compared part by part with GradBench's as the base (float64: |a−b|/max(1, |a|+|b|) elementwise and
   ‖a−b‖/‖a‖, both ≤ 1e-10; integer parts exactly); a mismatch is recorded and not timed;
3. then the implementations run in alternating chunks (each chunk ≥ `--chunk-time` seconds, at least
   one call) until each has ≥ `--min-runs` calls and ≥ `--min-time` seconds, every call followed by
   `jax.block_until_ready` (torch on the CPU returns when done). The median call time is reported.

GradBench's side is the function its `gradbench.wrap` times, called on its prepared inputs exactly as
the wrapper calls it (for its JAX tools whose `prepare_input` leaves NumPy arrays, the host-to-device
copy is inside its jitted call, as in GradBench; the mode `jit-device-inputs` times the same function on
inputs already on the device). sciad's side is `sciad.transform(problem, transform, framework, mode)`'s
raw function (validated once, on the first call) or, for a vector-valued function GradBench times
(ode's primal, ba's residual and CSR Jacobian), the implementation's function under `sciad.compile`.
sciad runs in every mode of its mode table (`sciad.names.MODE_TABLE`) that can express the function,
but those `NOT_TIMED` lists; an implementation function runs only in the torch.func modes (classic
autograd would call it the same way). Where GradBench has no tool in one framework (lstm and ba: no JAX;
ode: no PyTorch), sciad in that framework is timed in its own worker and checked against GradBench's
output from the other framework: cross-framework rows, not interleaved.

One JSON line per (problem, function, size, framework, implementation, mode) follows sciad's environment
record (`sciad.bench.results.environment`; its options are the protocol, GradBench's checkout added). The
table gives GradBench median / sciad median per mode (> 1: sciad faster) and each row's best sciad mode.

Why not `sciad bench`'s runner: it times one case at a time against sciad's reference, so it cannot
alternate two implementations on the same inputs or check one against the other; its cases take one
named size or one `param=value`, where GradBench's instances set two or three; ode's primal and ba's
functions are not transforms. What is GradBench's own stays here: its evals, inputs, tools and output
layouts, and that protocol. The rest (environment, mode table, known failures, formatting, agreement
metric, inductor cache) is sciad's.
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import importlib
import json
import math
import multiprocessing
import os
import pathlib
import queue
import statistics
import subprocess
import sys
import time
import traceback

from sciad import to_numpy  # these load neither framework
from sciad.bench import results as sciad_results
from sciad.bench.format import best_mode, fmt_time, markdown_table, text_table
from sciad.frameworks import use_local_inductor_cache
from sciad.names import FRAMEWORKS, MODE_TABLE

TOLERANCE = 1e-10
GRADBENCH_MODE = {"jax": "jit", "torch": "eager"}
# sciad's modes not timed against GradBench's tools, with why; every other mode of the mode table is.
NOT_TIMED = {("jax", "eager"): "GradBench's JAX tools are jitted; JAX op by op is not what they are compared with"}
SCIAD_MODES = {fw: tuple(m for m in MODE_TABLE if m.framework == fw and (fw, m.name) not in NOT_TIMED) for fw in FRAMEWORKS}
XLA_ONE_THREAD = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"


# ---------------------------------------------------------------------------------------------
# What GradBench has: its evals, their functions, the sciad computation each one is, and the sizes.


@dataclasses.dataclass(frozen=True)
class Function:
    gradbench: str  # the function GradBench's tool exposes (wrapped by gradbench.wrap)
    sciad: str  # a sciad transform name, or an implementation function name when kind == "function"
    kind: str = "transform"


@dataclasses.dataclass(frozen=True)
class Eval:
    name: str  # GradBench's eval name
    problem: str  # sciad's problem
    functions: tuple[Function, ...]
    tools: dict  # framework -> (GradBench module, its prepare function)
    sizes: tuple[dict, ...]  # GradBench's size parameters, in GradBench's names
    base_size: str = "bench"  # sciad's named size that GradBench's parameters override (its known failures' size)


EVALS = {
    "gmm": Eval(
        "gmm",
        "gmm",
        (Function("objective", "value"), Function("jacobian", "grad")),
        {"jax": ("gradbench.tools.jax.gmm", "prepare"), "torch": ("gradbench.tools.pytorch.gmm", "prepare")},
        # GradBench's default d × k grid at n = 1000: its smallest, a middle and its largest instance.
        ({"d": 2, "k": 5, "n": 1000}, {"d": 20, "k": 25, "n": 1000}, {"d": 64, "k": 100, "n": 1000}),
    ),
    "kmeans": Eval(
        "kmeans",
        "kmeans",
        (Function("cost", "value"), Function("dir", "newton_direction")),
        {"jax": ("gradbench.tools.jax.kmeans", "prepare_input"), "torch": ("gradbench.tools.pytorch.kmeans", "prepare_input")},
        # GradBench's k ∈ {10, 100, 1000}, n ∈ {1000, 10000}, d ∈ {8, 16}: smallest, middle, largest.
        ({"k": 10, "n": 1000, "d": 8}, {"k": 100, "n": 10000, "d": 16}, {"k": 1000, "n": 10000, "d": 16}),
    ),
    "lse": Eval(
        "lse",
        "lse",
        (Function("primal", "value"), Function("gradient", "grad")),
        {"jax": ("gradbench.tools.jax.lse", "prepare_input"), "torch": ("gradbench.tools.pytorch.lse", "prepare_input")},
        ({"n": 2500}, {"n": 80000}, {"n": 1280000}),  # GradBench's n = 2500 · 2^j, j = 0 … 9
    ),
    "ode": Eval(
        "ode",
        "ode_chain",
        (Function("primal", "solve", "function"), Function("gradient", "grad")),
        {"jax": ("gradbench.tools.jax.ode", "prepare_input")},
        # GradBench's n ∈ {1000, 10000, 100000} × s ∈ {1, 10, 100}; all have n > 4s, where the last component
        # and so the gradient are exactly zero, so n = 400, s = 100 (not a GradBench size) is added: there
        # the gradient is non-zero and the agreement check means something.
        ({"n": 400, "s": 100}, {"n": 1000, "s": 10}, {"n": 10000, "s": 100}, {"n": 100000, "s": 100}),
    ),
    "lstm": Eval(
        "lstm",
        "lstm",
        (Function("objective", "value"), Function("jacobian", "grad")),
        {"torch": ("gradbench.tools.pytorch.lstm", "prepare_input")},
        # GradBench's l ∈ {2, 4, 6}, c ∈ {1024, 4096, 8192}; b = 14 bits per character as ADBench's files (the
        # characters of GradBench's text need 14 bits). torch.compile unrolls the whole loop, so the
        # largest instances are left out.
        ({"l": 2, "c": 1024, "b": 14}, {"l": 4, "c": 1024, "b": 14}),
    ),
    "ba": Eval(
        "ba",
        "bundle_adjustment",
        (Function("objective", "residual", "function"), Function("jacobian", "jacobian_csr", "function")),
        {"torch": ("gradbench.tools.pytorch.ba", "prepare_input")},
        ({"n": 49, "m": 7776, "p": 31843},),  # ba1_n49_m7776_p31843, GradBench's first data file
        base_size="medium",  # GradBench's replicated form
    ),
}

# sciad modes not attempted by default (--try-skipped runs them), besides the problem's own known failures
# (`Problem.known_failures`, at `Eval.base_size`), with what was measured when they were tried.
SKIPPED: dict[tuple[str, str, str], str] = {}  # none today: lstm's autograd_compile compiles its step (a region)

# Parts of an output whose comparison follows another rule, with the reason.
LOOSER = {
    ("ba", "objective", "w_err"): (
        1e-7,
        "GradBench's PyTorch BA keeps w_err in torch.zeros(p), a float32 tensor (torch's default dtype), so its "
        "1 - w^2 is rounded to float32; sciad's is float64",
    ),
}


def sciad_inputs(ev: Eval, params: dict, seed: int):
    """sciad's NumPy inputs (y, args) for GradBench's size parameters."""
    import problems

    spec = problems.get(ev.problem)
    if ev.name == "gmm":
        # sciad's gmm draws as GradBench's generator does (m = 0, γ = 1 by default): seed 31337 is GradBench's input.
        return spec.make_inputs(ev.base_size, seed, "float64", K=params["k"], D=params["d"], N=params["n"])
    if ev.name == "kmeans":
        return spec.make_inputs(ev.base_size, seed, "float64", k=params["k"], n=params["n"], d=params["d"])
    if ev.name == "lse":
        return spec.make_inputs(ev.base_size, seed, "float64", n=params["n"])
    if ev.name == "ode":
        return spec.make_inputs(ev.base_size, seed, "float64", n=params["n"], steps=params["s"])
    if ev.name == "lstm":
        return spec.make_inputs(ev.base_size, seed, "float64", l=params["l"], b=params["b"], c=params["c"])
    if ev.name == "ba":
        # GradBench's form: one camera, point, weight and feature replicated, cyclic observations.
        y, args = spec.make_inputs(ev.base_size, seed, "float64", n=params["n"], m=params["m"], p=params["p"])
        if "replicated" not in spec.sizes[ev.base_size]:
            raise SystemExit("bundle_adjustment's medium size is not GradBench's replicated form any more")
        return y, args
    raise KeyError(ev.name)


def gradbench_input(ev: Eval, y, args) -> dict:
    """The `input` of GradBench's evaluate message for these inputs: JSON values (lists, numbers)."""
    if ev.name == "gmm":
        n, d = args["x"].shape
        return {
            "d": d,
            "k": len(y["alpha"]),
            "n": n,
            "x": args["x"].tolist(),
            "m": int(args["m"]),
            "gamma": float(args["gamma"]),
            "alpha": y["alpha"].tolist(),
            "mu": y["mu"].tolist(),
            "q": y["q"].tolist(),
            "l": y["l"].tolist(),
        }
    if ev.name == "kmeans":
        return {"points": args["points"].tolist(), "centroids": y.tolist()}
    if ev.name == "lse":
        return {"x": y.tolist()}
    if ev.name == "ode":
        return {"x": y.tolist(), "s": int(args["steps"])}
    if ev.name == "lstm":
        return {
            "main_params": y["main"].tolist(),
            "extra_params": y["extra"].tolist(),
            "state": args["state"].tolist(),
            "sequence": args["sequence"].tolist(),
        }
    if ev.name == "ba":
        cams, points, weights, features = y["cams"], y["points"], y["weights"], args["features"]
        return {
            "n": len(cams),
            "m": len(points),
            "p": len(weights),
            "cam": cams[0].tolist(),
            "x": points[0].tolist(),
            "w": float(weights[0]),
            "feat": features[0].tolist(),
        }
    raise KeyError(ev.name)


# ---------------------------------------------------------------------------------------------
# Outputs as named parts (NumPy), GradBench's layout mapped onto sciad's explicitly.


def _array(value):
    import numpy as np

    return np.asarray(to_numpy(value))


def gradbench_parts(ev: Eval, function: str, out, params: dict) -> dict:
    if function in ("objective", "cost", "primal") and ev.name not in ("ode", "ba"):
        return {"value": _array(out).reshape(())}
    if ev.name == "gmm":  # jax: the gradient dict; torch: its input dict, gradients in .grad
        return {key: _array(out[key].grad if hasattr(out[key], "grad") else out[key]) for key in ("alpha", "mu", "q", "l")}
    if ev.name == "kmeans":
        return {"direction": _array(out)}
    if ev.name == "lse":
        return {"gradient": _array(out)}
    if ev.name == "ode":
        return {"y" if function == "primal" else "gradient": _array(out)}
    if ev.name == "lstm":  # main's gradient row-major, then extra's, concatenated
        flat = _array(out).ravel()
        main = 2 * params["l"] * 4 * params["b"]
        return {"main": flat[:main], "extra": flat[main:]}
    if ev.name == "ba":
        if function == "objective":  # (reprojection errors (2p,) row-major, weight errors (p,))
            reproj, w_err = out
            return {"reproj_error": _array(reproj), "w_err": _array(w_err)}
        # BASparseMat: CSR with rows = row pointers, cols = column indices, vals = values
        return {
            "vals": _array(out.vals[: len(out.vals)]),
            "cols": _array(out.cols[: len(out.cols)]).astype("int64"),
            "rows": _array(out.rows[: len(out.rows)]).astype("int64"),
        }
    raise KeyError(ev.name)


def sciad_parts(ev: Eval, function: str, out, params: dict) -> dict:
    if function in ("objective", "cost", "primal") and ev.name not in ("ode", "ba"):
        return {"value": _array(out).reshape(())}
    if ev.name == "gmm":  # same keys and layout (l filled column by column in both)
        return {key: _array(out[key]) for key in ("alpha", "mu", "q", "l")}
    if ev.name == "kmeans":
        return {"direction": _array(out)}
    if ev.name == "lse":
        return {"gradient": _array(out)}
    if ev.name == "ode":
        return {"y" if function == "primal" else "gradient": _array(out)}
    if ev.name == "lstm":
        return {"main": _array(out["main"]).ravel(), "extra": _array(out["extra"]).ravel()}
    if ev.name == "ba":
        if function == "objective":  # residual = (e_0, …, e_{p−1}, w_err_0, …): split at 2p
            flat = _array(out)
            return {"reproj_error": flat[: 2 * params["p"]], "w_err": flat[2 * params["p"] :]}
        data, indices, indptr = out
        return {"vals": _array(data), "cols": _array(indices).astype("int64"), "rows": _array(indptr).astype("int64")}
    raise KeyError(ev.name)


def compare(ev: Eval, function: str, expected: dict, actual: dict) -> dict:
    """Per part: elementwise |a−b|/max(1, |a|+|b|) (`sciad.checks.error`) and normwise ‖a−b‖/‖a‖; integers
    must be equal."""
    import numpy as np

    from sciad.checks import error as elementwise

    parts, ok, notes = {}, True, []
    for key, a in expected.items():
        b = actual.get(key)
        if b is None or np.shape(a) != np.shape(b):
            parts[key] = {
                "error": math.inf,
                "relative": math.inf,
                "shapes": [list(np.shape(a)), list(np.shape(b) if b is not None else ())],
            }
            ok = False
            continue
        if np.issubdtype(np.asarray(a).dtype, np.integer):
            equal = bool(np.array_equal(a, b))
            parts[key] = {
                "error": 0.0 if equal else math.inf,
                "relative": 0.0 if equal else math.inf,
                "dtype": str(np.asarray(a).dtype),
            }
            ok &= equal
            continue
        a64, b64 = np.asarray(a, np.float64), np.asarray(b, np.float64)
        error = elementwise({key: a64}, {key: b64})
        scale = float(np.linalg.norm(a64))
        relative = float(np.linalg.norm(a64 - b64)) / scale if scale > 0 else (0.0 if not np.any(b64) else math.inf)
        tolerance, reason = LOOSER.get((ev.name, function, key), (TOLERANCE, ""))
        parts[key] = {"error": error, "relative": relative, "dtype": str(np.asarray(a).dtype), "tolerance": tolerance}
        if reason:
            notes.append(f"{key}: tolerance {tolerance:g}: {reason}")
        ok &= max(error, relative) <= tolerance
    worst = max((max(p["error"], p["relative"]) for k, p in parts.items() if (ev.name, function, k) not in LOOSER), default=0.0)
    return {"ok": bool(ok), "error": worst, "parts": parts, "notes": notes}


# ---------------------------------------------------------------------------------------------
# The worker: one spawned process per (eval, size, framework), one CPU, one thread.


def _pin(cpu: int) -> None:
    os.sched_setaffinity(0, [cpu])
    for variable in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[variable] = "1"
    os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " " + XLA_ONE_THREAD).strip()


def _interleave(calls: dict, min_runs: int, min_time: float, chunk_time: float) -> dict:
    """Round-robin chunks over the implementations until each has ≥ min_runs calls and ≥ min_time seconds."""
    times = {key: [] for key in calls}

    def done(key):
        return len(times[key]) >= min_runs and sum(times[key]) >= min_time

    while not all(done(key) for key in calls):
        for key, call in calls.items():
            # The previous chunk's garbage (GradBench's PyTorch tools leave large autograd graphs) is collected
            # here, untimed, so that it never lands in another implementation's calls.
            gc.collect()
            chunk_start = time.perf_counter()
            while True:
                start = time.perf_counter()
                call()
                times[key].append(time.perf_counter() - start)
                if time.perf_counter() - chunk_start >= chunk_time:
                    break
    return times


def _summary(samples: list[float]) -> dict:
    ordered = sorted(samples)
    quartiles = statistics.quantiles(ordered, n=4) if len(ordered) >= 2 else [ordered[0]] * 3
    return {
        "median_s": statistics.median(ordered),
        "min_s": ordered[0],
        "iqr_s": quartiles[2] - quartiles[0],
        "runs": len(ordered),
        "total_s": sum(ordered),
    }


def worker(task: dict, results) -> None:
    """Run one task; put each record on `results` as soon as it is made, then None."""
    try:
        _worker(task, results)
    except BaseException:  # noqa: BLE001 — reported to the parent, which records it
        results.put({"kind": "worker_error", "error": traceback.format_exc()})
    finally:
        results.put(None)


def _worker(task: dict, results) -> None:
    _pin(task["cpu"])
    for path in (task["gradbench"], task.get("deps")):
        if path and path not in sys.path:
            sys.path.append(path)
    framework = task["framework"]
    import problems
    import sciad
    from sciad import frameworks, transforms

    fw = frameworks.load(framework)
    fw.set_threads(1)
    if framework == "torch":
        import torch

        torch.set_num_interop_threads(1)
    sync = fw.sync

    ev = EVALS[task["eval"]]
    spec = problems.get(ev.problem)
    y, args = task["y"], task["args"]
    converted = sciad.convert((y, args), framework)
    impl = spec.implementation(framework)
    with_gradbench = task["with_gradbench"]
    if with_gradbench:
        module_name, prepare_name = ev.tools[framework]
        module = importlib.import_module(module_name)
        prepare = getattr(module, prepare_name)
    base = {
        "kind": "result",
        "eval": ev.name,
        "problem": ev.problem,
        "size": task["params"],
        "framework": framework,
        "cross_framework": not with_gradbench,
        "cpu": task["cpu"],
        "threads": 1,
    }
    for function in ev.functions:
        if task["functions"] and function.gradbench not in task["functions"]:
            continue
        record_base = dict(base, function=function.gradbench, sciad=function.sciad, sciad_kind=function.kind)
        load_start = os.getloadavg()
        calls, firsts, checks, outputs, failed, skipped = {}, {}, {}, {}, [], []
        reference = task.get("reference", {}).get(function.gradbench)
        if with_gradbench:
            prepared = prepare(task["gradbench_input"])
            gradbench_fn = getattr(module, function.gradbench).function  # what gradbench.wrap times
            variants = [(GRADBENCH_MODE[framework], prepared)]
            if framework == "jax" and _has_numpy_leaf(prepared):
                import jax

                variants.append(
                    (
                        "jit-device-inputs",
                        jax.tree_util.tree_map(
                            lambda a: jax.device_put(a) if type(a).__module__ == "numpy" and hasattr(a, "shape") else a, prepared
                        ),
                    )
                )
            for mode, inputs in variants:
                key = ("gradbench", mode)
                call = lambda fn=gradbench_fn, inputs=inputs: sync(fn(inputs))
                start = time.perf_counter()
                out = call()
                firsts[key] = time.perf_counter() - start
                parts = gradbench_parts(ev, function.gradbench, out, task["params"])
                if mode == GRADBENCH_MODE[framework]:
                    reference = parts
                    outputs[function.gradbench] = parts
                checks[key] = compare(ev, function.gradbench, reference, parts)
                calls[key] = call
        for record in SCIAD_MODES[framework]:
            mode, key = record.name, ("sciad", record.name)
            if function.kind == "function" and record.differentiation != "func":
                continue  # an implementation function is called as written: the same call as eager or compile
            if function.kind == "transform" and (reason := transforms.unsupported(spec, function.sciad, record)):
                skipped.append((key, reason))
                continue
            failure = spec.known_failure(framework, function.sciad, mode, ev.base_size)
            reason = SKIPPED.get((ev.name, framework, mode)) or (failure.reason if failure else None)
            if reason and not task["try_skipped"]:
                skipped.append((key, reason))
                continue
            try:
                if function.kind == "transform":
                    transformed = sciad.transform(ev.problem, function.sciad, framework=framework, mode=mode)
                    first = lambda transformed=transformed: sync(transformed(*converted))  # validates
                    raw = transformed.raw
                else:
                    spec.validate(*converted)
                    raw = sciad.compile(getattr(impl, function.sciad), framework, mode)
                    first = lambda raw=raw: sync(raw(*converted))
                start = time.perf_counter()
                out = first()
                firsts[key] = time.perf_counter() - start
            except Exception:  # noqa: BLE001 — a failing mode is recorded, the others go on
                failed.append((key, traceback.format_exc(limit=4)))
                continue
            if reference is None:
                checks[key] = {"ok": False, "error": math.nan, "parts": {}, "notes": ["no GradBench output to compare with"]}
            else:
                checks[key] = compare(ev, function.gradbench, reference, sciad_parts(ev, function.gradbench, out, task["params"]))
            calls[key] = lambda raw=raw: sync(raw(*converted))
        timed = {key: call for key, call in calls.items() if checks[key]["ok"]}
        times = _interleave(timed, task["min_runs"], task["min_time"], task["chunk_time"]) if timed else {}
        load_end = os.getloadavg()
        for key in list(calls) + [key for key, _ in failed] + [key for key, _ in skipped]:
            implementation, mode = key
            record = dict(record_base, implementation=implementation, mode=mode, load_start=load_start, load_end=load_end)
            error = dict(failed).get(key)
            if key in dict(skipped):
                record.update(status="skipped", error=dict(skipped)[key])
            elif error:
                record.update(status="error", error=error)
            else:
                check = checks[key]
                record.update(
                    status="ok" if check["ok"] else "mismatch",
                    first_call_s=firsts[key],
                    check_error=check["error"],
                    check_parts=check["parts"],
                    check_notes=check["notes"],
                )
                if key in times:
                    record.update(_summary(times[key]))
            results.put(record)
        if outputs:
            results.put({"kind": "reference", "function": function.gradbench, "parts": outputs[function.gradbench]})


def _has_numpy_leaf(tree) -> bool:
    import jax

    return any(type(leaf).__module__ == "numpy" and hasattr(leaf, "shape") for leaf in jax.tree_util.tree_leaves(tree))


def run_task(task: dict, timeout: float):
    """Run a task in a spawned process; yield its records as they come (a timeout or crash is recorded)."""
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    process = context.Process(target=worker, args=(task, results), daemon=True)
    process.start()
    deadline = time.monotonic() + timeout
    while True:
        try:
            item = results.get(timeout=5.0)
        except queue.Empty:
            if not process.is_alive():
                yield {"kind": "worker_error", "error": f"worker exited with code {process.exitcode}"}
                break
            if time.monotonic() > deadline:
                process.terminate()
                yield {"kind": "worker_error", "error": f"timed out after {timeout:.0f} s"}
                break
            continue
        if item is None:
            break
        yield item
    process.join(timeout=30)


# ---------------------------------------------------------------------------------------------
# The parent: plan, environment record, table.


def _gradbench_commit(path: str, given: str | None) -> str:
    if given:
        return given
    try:
        return subprocess.run(["git", "-C", path, "rev-parse", "HEAD"], capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown (pass --gradbench-commit)"


def environment(options) -> dict:
    """sciad's environment record (`sciad.bench.results.environment`), with GradBench's checkout and the protocol."""
    protocol = {
        "min_runs": options.min_runs,
        "min_time_s": options.min_time,
        "chunk_time_s": options.chunk_time,
        "tolerance": TOLERANCE,
        "seed": options.seed,
        "xla_flags": XLA_ONE_THREAD,
        "timeout_s": options.timeout,
    }
    return dict(
        sciad_results.environment(1, protocol),
        gradbench_path=options.gradbench,
        gradbench_commit=_gradbench_commit(options.gradbench, options.gradbench_commit),
        pinned_cpu=options.cpu,
        loadavg=os.getloadavg(),
    )


def plan(options) -> list[dict]:
    tasks = []
    for name in options.eval or EVALS:
        ev = EVALS[name]
        for index, params in enumerate(ev.sizes):
            if options.quick and index > 0:
                break
            if options.size and index not in options.size:
                continue
            for framework in FRAMEWORKS:
                if options.framework and framework not in options.framework:
                    continue
                tasks.append({"eval": name, "params": params, "framework": framework, "with_gradbench": framework in ev.tools})
    # A framework without GradBench's tool runs after the one with it, whose outputs it is checked against.
    return sorted(
        tasks, key=lambda t: (list(EVALS).index(t["eval"]), EVALS[t["eval"]].sizes.index(t["params"]), not t["with_gradbench"])
    )


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--gradbench", help="folder holding GradBench's `gradbench` Python package (its python/gradbench)")
    parser.add_argument("--gradbench-commit", help="GradBench's commit, recorded (found by git when --gradbench is a checkout)")
    parser.add_argument("--deps", help="a folder with GradBench's extra dependencies (dataclasses-json), appended to sys.path")
    parser.add_argument("--out", type=pathlib.Path, help="JSON Lines results file")
    parser.add_argument("--append", action="store_true", help="append to --out instead of replacing it")
    parser.add_argument("--eval", action="append", choices=tuple(EVALS), help="GradBench evals to run (default: all)")
    parser.add_argument("--framework", action="append", choices=FRAMEWORKS)
    parser.add_argument("--function", action="append", help="GradBench function names to run (default: all)")
    parser.add_argument("--size", action="append", type=int, help="size indices to run (0 = the first of an eval's sizes)")
    parser.add_argument("--quick", action="store_true", help="the first size of each eval only")
    parser.add_argument("--seed", type=int, default=31337, help="input seed (31337: GradBench's)")
    parser.add_argument("--min-runs", type=int, default=10)
    parser.add_argument("--min-time", type=float, default=2.0)
    parser.add_argument("--chunk-time", type=float, default=0.05)
    parser.add_argument("--cpu", type=int, default=max(os.sched_getaffinity(0)), help="the CPU every worker is pinned to")
    parser.add_argument("--timeout", type=float, default=3600.0, help="seconds allowed per worker process")
    parser.add_argument(
        "--try-skipped",
        action="store_true",
        help="also run the modes SKIPPED and the problems' known failures list (hours of compiling)",
    )
    parser.add_argument("--table", type=pathlib.Path, help="only print the table of an existing results file")
    parser.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    options = parser.parse_args(argv)
    if options.table:
        print_table([json.loads(line) for line in options.table.read_text().splitlines() if line.strip()], options.markdown)
        return 0
    if not options.gradbench or not options.out:
        parser.error("--gradbench and --out are required (or --table FILE)")
    options.gradbench = str(pathlib.Path(options.gradbench).resolve())
    if not (pathlib.Path(options.gradbench) / "gradbench" / "wrap.py").is_file():
        parser.error(f"{options.gradbench} does not hold GradBench's `gradbench` package (gradbench/wrap.py)")
    if options.deps:
        options.deps = str(pathlib.Path(options.deps).resolve())
    use_local_inductor_cache()  # the spawned workers inherit it

    records = [environment(options)]
    options.out.parent.mkdir(parents=True, exist_ok=True)
    with options.out.open("a" if options.append else "w") as sink:
        sink.write(json.dumps(records[0]) + "\n")
        sink.flush()
        references = {}
        for task in plan(options):
            ev = EVALS[task["eval"]]
            y, args = sciad_inputs(ev, task["params"], options.seed)
            size_key = json.dumps(task["params"], sort_keys=True)
            task.update(
                y=y,
                args=args,
                cpu=options.cpu,
                gradbench=options.gradbench,
                deps=options.deps,
                functions=options.function,
                try_skipped=options.try_skipped,
                min_runs=options.min_runs,
                min_time=options.min_time,
                chunk_time=options.chunk_time,
                gradbench_input=gradbench_input(ev, y, args) if task["with_gradbench"] else None,
                reference=references.get((task["eval"], size_key), {}),
            )
            print(
                f"-- {task['eval']} {task['params']} {task['framework']}"
                f"{'' if task['with_gradbench'] else ' (sciad only, cross-framework)'}",
                flush=True,
            )
            for item in run_task(task, options.timeout):
                if item["kind"] == "reference":
                    references.setdefault((task["eval"], size_key), {})[item["function"]] = item["parts"]
                    continue
                if item["kind"] == "worker_error":
                    item.update(eval=task["eval"], size=task["params"], framework=task["framework"])
                    print(item["error"], file=sys.stderr, flush=True)
                else:
                    print(
                        f"   {item['function']:<10} {item['implementation']:<9} {item['mode']:<17} {item['status']:<8} "
                        f"median {fmt_time(item.get('median_s')) or '-'}  runs {item.get('runs', '-')}  "
                        f"check {item.get('check_error', float('nan')):.1e}",
                        flush=True,
                    )
                records.append(item)
                sink.write(json.dumps(item, default=_json_default) + "\n")
                sink.flush()
    print()
    print_table(records, options.markdown)
    return 0


def _json_default(value):
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


def _size_label(size: dict) -> str:
    return ",".join(f"{key}={value}" for key, value in size.items())


def print_table(records: list[dict], markdown: bool = False) -> None:
    """One row per (problem, function, size, framework): GradBench's median, sciad's per mode with the ratio
    GradBench / sciad in brackets (> 1: sciad faster), and the best sciad mode, named, with its ratio; then
    sciad in the framework GradBench has no tool for, against GradBench's tool in the other framework
    (cross-framework, not interleaved)."""
    found = [r for r in records if r.get("kind") == "result"]
    timed = {(r["framework"], r["mode"]) for r in found if r["implementation"] == "sciad"}
    modes = list(dict.fromkeys(m.name for m in MODE_TABLE if (m.framework, m.name) in timed))
    groups: dict = {}
    for r in found:
        groups.setdefault((r["eval"], r["function"], json.dumps(r["size"])), []).append(r)
    same, cross = [], []
    for (name, function, size), group in groups.items():
        gradbench = {
            r["framework"]: r for r in group if r["implementation"] == "gradbench" and r["mode"] == GRADBENCH_MODE[r["framework"]]
        }
        device = {r["framework"]: r for r in group if r["implementation"] == "gradbench" and r["mode"] == "jit-device-inputs"}
        for framework in FRAMEWORKS:
            sciad = {r["mode"]: r for r in group if r["implementation"] == "sciad" and r["framework"] == framework}
            if not sciad:
                continue
            base = gradbench.get(framework) or next(iter(gradbench.values()), None)
            base_s = base.get("median_s") if base else None
            cells = [EVALS[name].problem if name in EVALS else name, function, _size_label(json.loads(size)), framework]
            if framework in gradbench:
                cells += [fmt_time(base_s), fmt_time(device[framework].get("median_s")) if framework in device else "-"]
            else:
                other = "PyTorch" if base and base["framework"] == "torch" else "JAX"
                cells.append(f"{fmt_time(base_s)} ({other})" if base else "-")
            checks, medians = [], {}
            for mode in modes:
                r = sciad.get(mode)
                if r is None:
                    cells.append("")
                elif r["status"] != "ok" or not r.get("median_s"):
                    cells.append(r["status"])
                else:
                    medians[mode] = r["median_s"]
                    cells.append(fmt_time(r["median_s"]) + (f" ({base_s / r['median_s']:.2f})" if base_s else ""))
                    checks.append(r["check_error"])
            best = best_mode(framework, medians)
            cells.append("-" if best is None else f"{best[0]}" + (f" {base_s / best[1]:.2f}" if base_s else ""))
            cells.append(f"{max(checks):.0e}" if checks else "-")
            (same if framework in gradbench else cross).append(cells)
    sciad_columns = [f"sciad {mode}" for mode in modes] + ["best sciad mode, ratio", "max error"]
    head = ["problem", "function", "size"]
    render = markdown_table if markdown else text_table
    print(render([*head, "framework", "GradBench", "GradBench, inputs on device", *sciad_columns], same))
    if cross:
        print()
        print("Cross-framework: sciad where GradBench has no tool in that framework, against GradBench's other tool")
        print()
        print(render([*head, "sciad framework", "GradBench (its framework)", *sciad_columns], cross))


if __name__ == "__main__":
    sys.exit(main())
