"""A benchmark worker: one framework per process, started by spawn (never fork after JAX is imported).

Protocol: the parent writes one JSON case per line on stdin; the worker answers each with one line
`SCIAD_RESULT {json}` on stdout (other output from libraries is ignored by the parent). The first
answer, before any case, is `SCIAD_RESULT {"kind": "hello", ...}` describing the worker.

    python -m sciad.bench.worker FRAMEWORK THREADS

FRAMEWORK is "jax", "torch" or a baseline library ("scipy"), whose worker imports neither framework.
"""

from __future__ import annotations

import json
import os
import signal
import statistics
import sys
import time

import numpy as np

MARK = "SCIAD_RESULT "


def _pin_threads(threads: int) -> None:
    """Equal thread counts for both frameworks: CPU affinity (which XLA's pool follows) plus OpenMP/torch."""
    cores = sorted(os.sched_getaffinity(0))
    os.sched_setaffinity(0, cores[:threads])
    for variable in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[variable] = str(threads)


def _rss_bytes(field: str) -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field):
                return int(line.split()[1]) * 1024
    return 0


def _release_free_heap() -> None:
    """Return the C heap's free pages to the OS (glibc `malloc_trim`), where there is glibc.

    glibc keeps freed blocks (and, past its dynamic mmap threshold, even large ones) mapped for reuse: a
    call that reuses memory an earlier call or the compiler freed would not grow the resident set, and
    its peak would read as zero. Trimming first brings the growth of the high-water mark close to the memory
    the measured code itself touches; a lower bound still, as the heap keeps what it cannot trim.
    """
    try:
        import ctypes

        ctypes.CDLL(None).malloc_trim(0)
    except (OSError, AttributeError):
        pass


def _invalid(record: dict, spec, case_obj, fw, inputs, out) -> dict | None:
    """The case's record marked `invalid` if its output, projected on the reference's random directions, misses
    the reference by more than its tolerance; None if it is valid. Either way `record` gains the error and
    the tolerance."""
    from sciad import checks, transforms
    from sciad.trees import cast

    y64, args64, extra64 = cast(inputs, "float64")
    expected, actual = transforms.projected(spec, case_obj.transform, y64, args64, extra64, fw.to_numpy(out))
    err = checks.error({"p": expected}, {"p": actual})
    tolerance = max(spec.reference_tolerance_for(case_obj.transform)[case_obj.dtype], VALIDITY[case_obj.dtype])
    record.update(check_error=err, check_tolerance=tolerance)
    if not err <= tolerance:
        return dict(record, status="invalid", error=f"projected error {err:.3g} exceeds {tolerance:.1g}")
    return None


def _reset_peak_rss() -> None:
    try:
        with open("/proc/self/clear_refs", "w") as handle:
            handle.write("5")  # resets VmHWM (peak resident set) to the current resident set
    except OSError:
        pass


class Memory:
    """Peak memory of the code between `start` and `stop`: device memory on GPU, resident set growth on CPU.

    On CPU: free heap pages are returned to the OS, the high-water mark is reset to the current resident
    set, and `stop` reports how far the high-water mark rose above it.
    """

    CPU_METHOD = "rise of the resident set's high-water mark (VmHWM) after malloc_trim; a lower bound"

    def __init__(self, adapter, device: str):
        self.adapter, self.device = adapter, device
        self.method = adapter.peak_memory_method if device == "cuda" else self.CPU_METHOD

    def start(self):
        if self.device == "cuda":
            self.base = self.adapter.reset_peak_memory()
        else:
            _release_free_heap()
            _reset_peak_rss()
            self.base = _rss_bytes("VmRSS:")

    def stop(self) -> int | None:
        if self.device == "cuda":
            return self.adapter.peak_memory(self.base)
        return max(0, _rss_bytes("VmHWM:") - self.base)


def _cost_analysis(jitted, inputs) -> dict:
    """XLA's flop and byte estimates for a jitted call, and its buffer assignment's temporary bytes
    (what the computation holds beyond its arguments and outputs: on CPU the exact counterpart of the
    resident-set peak), where JAX provides them."""
    try:
        compiled = jitted.lower(*inputs).compile()
    except Exception:  # noqa: BLE001 — cost analysis is optional metadata
        return {}
    found = {}
    try:
        cost = compiled.cost_analysis()
        cost = cost[0] if isinstance(cost, (list, tuple)) else cost
        found.update(flops=float(cost.get("flops", 0.0)) or None, bytes_accessed=float(cost.get("bytes accessed", 0.0)) or None)
    except Exception:  # noqa: BLE001
        pass
    try:
        found["xla_temp_bytes"] = int(compiled.memory_analysis().temp_size_in_bytes)
    except Exception:  # noqa: BLE001
        pass
    return found


def run_case(case: dict, options: dict) -> dict:
    from sciad import frameworks, names, registry, transforms
    from sciad.bench.cases import Case
    from sciad.errors import SciadError

    case_obj = Case(**case)
    if case_obj.devices is not None:
        return run_scaling_case(case, options)
    spec = registry.get(case_obj.problem)
    fw = frameworks.load(case_obj.framework, baselines=True)
    record = dict(case, device_requested=case["device"], status="ok", error=None)
    if case_obj.device == "cuda" and not fw.has_cuda():
        return dict(record, status="unsupported", error="no CUDA device visible to this framework")
    failure = spec.known_failure(case_obj.framework, case_obj.transform, case_obj.mode, case_obj.size_arguments(spec)[0])
    if failure:
        # The device the case would have run on, so that the summary files it beside its measured neighbours.
        device = fw.device_name(fw.convert(np.zeros(1), device=case_obj.device))
        return dict(record, device=device, status="known_failure", error=failure.reason)

    size, overrides = case_obj.size_arguments(spec)
    y, args, extra = transforms.inputs(spec, case_obj.transform, size, case_obj.dtype, batch=spec.bench_batch, **overrides)
    record["size_parameters"] = {**spec.sizes[size], **overrides}
    traces = [0]
    baseline_case = case_obj.framework in names.BASELINE_LIBRARIES
    mode = None if baseline_case else names.mode(case_obj.framework, case_obj.mode)
    if baseline_case:
        baseline = spec.baseline(case_obj.transform, case_obj.framework, case_obj.mode)
        if baseline is None:
            raise SciadError(
                f"problem {spec.name!r} has no {case_obj.framework} {case_obj.mode} baseline for transform {case_obj.transform!r}"
            )
        fn = fw.compile(baseline.function, case_obj.mode)
    elif mode.compiles == "function" or mode.differentiation != "func":
        # Built as the mode builds it (`transforms.build`): its own primitives (classic autograd), compiled,
        # if at all, before it is differentiated; torch's graphs are counted by dynamo.
        fn = transforms.build(spec, case_obj.transform, case_obj.framework, case_obj.mode).raw
    else:
        eager = next(m.name for m in names.MODE_TABLE if m.framework == case_obj.framework and not m.compiled)
        transformed = transforms.build(spec, case_obj.transform, case_obj.framework, eager)

        def counted(*inputs):  # under jax.jit, runs once per trace: counts JAX's (re)compilations
            traces[0] += 1
            return transformed.raw(*inputs)

        # torch's graphs are counted by dynamo (`_graph_counter`); a Python side effect would only slow it.
        fn = fw.compile(counted if case_obj.framework == "jax" else transformed.raw, mode)
    inputs = fw.convert((y, args, *extra), device=case_obj.device)
    spec.validate(inputs[0], inputs[1], batched=spec.transform_record(case_obj.transform).batched)
    record["device"] = fw.device_name(inputs)
    graphs_before = fw.graph_count()
    memory = Memory(fw, record["device"])

    # First call: trace + compile + run, timed on its own. Its memory includes compilation (JAX's and
    # Inductor's run in this process), which can dwarf what the transform itself holds: it is recorded
    # apart from the peak of a steady-state call (`peak_mem_bytes`, below).
    memory.start()
    started = time.perf_counter()
    out = fw.sync(fn(*inputs))
    record["first_call_s"] = time.perf_counter() - started
    record["first_call_peak_mem_bytes"] = memory.stop()

    # Validity against the reference, before any timing counts.
    if invalid := _invalid(record, spec, case_obj, fw, (y, args, extra), out):
        return invalid

    # Peak memory of one steady-state call, measured on its own (trimming the heap inside the timed loop
    # would make every call fault its pages in afresh): compilation is over and no earlier output is alive.
    # It comes right after the first call because after a burst of calls the C heap keeps a buffer of
    # XLA's resident that malloc_trim does not return (measured: heat_inverse's 7.9 MB scan buffer read as
    # growth 7.9 MB on the second call and 0 after twenty more).
    del out
    memory.start()
    fw.sync(fn(*inputs))
    record["peak_mem_bytes"] = memory.stop()
    record["peak_mem_method"] = memory.method

    times = []
    total = 0.0
    while (len(times) < options["min_runs"] or total < options["min_time"]) and len(times) < options["max_runs"]:
        started = time.perf_counter()
        fw.sync(fn(*inputs))
        elapsed = time.perf_counter() - started
        times.append(elapsed)
        total += elapsed

    # A bare loop of the same callable, one wait per chunk: the floor the harness's median is held to. The
    # median of several chunk means, not one long mean, so that a single load spike on a shared host does not
    # make the bare loop look slower than the harness.
    chunk_means = []
    chunk = max(1, len(times) // BARE_CHUNKS)
    for _ in range(BARE_CHUNKS):
        started = time.perf_counter()
        for _ in range(chunk):
            out = fn(*inputs)
        fw.sync(out)
        chunk_means.append((time.perf_counter() - started) / chunk)
    record["bare_loop_s"] = statistics.median(chunk_means)

    q1, _, q3 = statistics.quantiles(times, n=4) if len(times) > 1 else (times[0], None, times[0])
    record.update(median_s=statistics.median(times), mean_s=total / len(times), min_s=min(times), iqr_s=q3 - q1, runs=len(times))
    if mode is not None and mode.compiled and hasattr(fn, "lower"):  # jax.jit: XLA's estimates and its trace count
        record["compilations"] = traces[0]
        cost = _cost_analysis(fn, inputs)
        record.update(cost)
        if cost.get("flops"):
            record["gflops_per_s"] = cost["flops"] / record["median_s"] / 1e9
        if cost.get("bytes_accessed"):
            record["gbytes_per_s"] = cost["bytes_accessed"] / record["median_s"] / 1e9
    elif graphs_before is not None and mode is not None and mode.compiled:
        record["compilations"] = fw.graph_count() - graphs_before
    return record


BARE_CHUNKS = 5


def run_scaling_case(case: dict, options: dict) -> dict:
    """A scaling case: JAX in this process (started with `devices` simulated CPU devices, see runner.Worker),
    torch on `devices` spawned gloo ranks, whose rank 0 returns the record."""
    if case["framework"] == "torch":
        from sciad import sharding

        return sharding.spawn(_scaling_rank, case["devices"], case, options, os.getpid())
    return _scaling_record(case, options)


def _scaling_rank(case: dict, options: dict, worker: int) -> dict:
    # A rank ends with its worker: one that timed out is killed, and its ranks must not go on measuring. A
    # worker killed while this rank was still starting is already gone (the rank's parent is then another).
    _die_with_parent()
    if os.getppid() != worker:
        os._exit(1)
    return _scaling_record(case, options)


def _scaling_record(case: dict, options: dict) -> dict:
    """Time the sharded transform of `case` (`sciad.sharding.build`) on its devices, after checking its
    first result against the problem's reference. On torch this runs on every rank in lockstep (each call
    ends in a collective); rank 0 decides when timing stops and tells the others, outside the timed calls."""
    from sciad import frameworks, registry, sharding
    from sciad.bench.cases import WEAK, Case

    case_obj = Case(**case)
    spec = registry.get(case_obj.problem)
    fw = frameworks.load(case_obj.framework)
    record = dict(case, device_requested=case["device"], status="ok", error=None)
    failure = spec.known_failure(case_obj.framework, case_obj.transform, case_obj.mode, case_obj.size)
    if failure:
        return dict(record, status="known_failure", error=failure.reason)
    weak = case_obj.scaling == WEAK
    y, args, extra, parameters = sharding.scaled_inputs(
        spec, case_obj.transform, case_obj.size, case_obj.dtype, case_obj.devices, weak
    )
    record["size_parameters"] = parameters
    record["split_length"] = sharding.plan(spec, case_obj.transform, case_obj.devices).length(y, args)
    sharded = sharding.build(spec, case_obj.transform, case_obj.framework, case_obj.mode, case_obj.devices)
    inputs = fw.convert((y, args), device="cpu")
    record["device"] = fw.device_name(inputs)
    record["simulated_devices"] = True  # JAX's host-platform devices and torch's gloo ranks share this host's cores
    record["cores"] = len(os.sched_getaffinity(0))
    more = _agreement(case_obj.framework)

    started = time.perf_counter()
    out = fw.sync(sharded(*inputs))
    record["first_call_s"] = time.perf_counter() - started
    if invalid := _invalid(record, spec, case_obj, fw, (y, args, extra), out):
        return invalid
    del out
    times, total = [], 0.0
    while more((len(times) < options["min_runs"] or total < options["min_time"]) and len(times) < options["max_runs"]):
        started = time.perf_counter()
        fw.sync(sharded(*inputs))
        elapsed = time.perf_counter() - started
        times.append(elapsed)
        total += elapsed
    q1, _, q3 = statistics.quantiles(times, n=4) if len(times) > 1 else (times[0], None, times[0])
    record.update(median_s=statistics.median(times), mean_s=total / len(times), min_s=min(times), iqr_s=q3 - q1, runs=len(times))
    return record


def _agreement(framework: str):
    """`more(flag)`: whether to time another call. On torch ranks, rank 0's flag, broadcast, so that every
    rank makes the same number of calls (a rank that stopped early would leave the others in a collective)."""
    if framework != "torch":
        return lambda flag: flag
    from sciad.frameworks import torch_distributed

    return torch_distributed.rank0_decides


# The benchmark's check catches wrong results at large sizes, not roundoff: its tolerance is at least this.
VALIDITY = {"float64": 1e-8, "float32": 1e-3}


def _describe(fw, framework: str) -> dict:
    """The worker's package versions, its devices, and where a case with device "auto" runs."""
    from sciad.bench.results import PACKAGES, package_version

    return {
        "versions": {p: v for p in PACKAGES if (v := package_version(p))},
        "devices": fw.devices(),
        "default_device": fw.device_name(fw.convert(np.zeros(1), device="auto")),
        # As the worker runs, not as the parent assumes: the precision its framework computes at, and the
        # environment that decides preallocation and the compile cache.
        "precision": fw.precision(),
        "environment": {
            name: os.environ.get(name)
            for name in ("XLA_PYTHON_CLIENT_PREALLOCATE", "TORCHINDUCTOR_CACHE_DIR", "XLA_FLAGS", "MALLOC_MMAP_THRESHOLD_")
        },
    }


def _die_with_parent() -> None:
    """End this worker when its run is killed (kill -9, the OOM killer), rather than let it finish its case
    beside the timings of the next run; Linux's PR_SET_PDEATHSIG (elsewhere it ends at its next read of stdin)."""
    try:
        import ctypes

        ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # 1 = PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    framework, threads = argv[0], int(argv[1])
    # Ctrl-C reaches the whole process group: the parent stops the run and ends its workers itself, so that
    # an interrupted case is not recorded as a worker that died.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _die_with_parent()
    _pin_threads(threads)
    from sciad import frameworks

    fw = frameworks.load(framework, baselines=True)
    fw.set_threads(threads)
    out = sys.stdout
    sys.stdout = sys.stderr  # library chatter must not reach the protocol stream
    out.write(
        MARK
        + json.dumps(
            {
                "kind": "hello",
                "framework": framework,
                "threads": threads,
                "affinity": sorted(os.sched_getaffinity(0)),
                "adapter": fw.name,
                **_describe(fw, framework),
            }
        )
        + "\n"
    )
    out.flush()
    for line in sys.stdin:
        request = json.loads(line)
        try:
            record = run_case(request["case"], request["options"])
        except Exception as exc:  # noqa: BLE001 — a failing case is data; the run goes on
            text = str(exc).strip().splitlines()
            record = dict(request["case"], status="error", error=f"{type(exc).__name__}: {text[0] if text else ''}")
        out.write(MARK + json.dumps(record, default=float) + "\n")
        out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
