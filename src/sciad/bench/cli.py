"""Argument parsing and console output for `sciad bench` and `sciad report`."""

from __future__ import annotations

import datetime
import math
import os
import pathlib

from ..errors import SciadError
from ..names import BASELINE_LIBRARIES, DEVICES, DTYPES, FRAMEWORKS, MODES
from .cases import FOUNDATION, SUITES

FILTERS = ("problem", "transform", "framework", "mode", "size", "dtype", "device")


def add_commands(sub) -> None:
    bench = sub.add_parser(
        "bench",
        help="time problems × transforms × frameworks × modes on this host",
        description="With no options: the quick suite (value and gradient of the five foundation problems "
        f"({', '.join(FOUNDATION)}) at their benchmark size, every framework and mode, float64). Each option "
        "may repeat; an omitted one means all that apply.",
    )
    bench.add_argument("--problem", action="append", metavar="P")
    bench.add_argument("--transform", action="append", metavar="T")
    bench.add_argument(
        "--framework",
        action="append",
        metavar="F",
        help=f"one of {', '.join(FRAMEWORKS)}, or a baseline library: {', '.join(BASELINE_LIBRARIES)}",
    )
    bench.add_argument(
        "--mode",
        action="append",
        metavar="M",
        help="; ".join(f"{fw}: {', '.join(modes)}" for fw, modes in MODES.items()) + "; a baseline's mode is its method",
    )
    bench.add_argument("--size", action="append", metavar="S", help="a named size of the problems (small, medium, bench)")
    bench.add_argument(
        "--sweep", action="store_true", help="a geometric range of each problem's main dimension instead of named sizes"
    )
    bench.add_argument("--dtype", action="append", metavar="D", help=f"one of {', '.join(DTYPES)}")
    bench.add_argument("--device", action="append", metavar="DEV", help=f"one of {', '.join(DEVICES)} (default auto)")
    bench.add_argument(
        "--devices",
        metavar="N,N,...",
        help="scaling: the transforms with a sharded form on each device count (e.g. 1,2,4), strong (fixed total work) "
        "and weak (the split axis grown ×N); JAX on N simulated CPU devices, torch on N gloo ranks",
    )
    bench.add_argument("--suite", metavar="NAME", help=f"fill omitted options from a suite: {', '.join(SUITES)}")
    bench.add_argument("--out", metavar="FILE.jsonl", help="results file (default bench-results/<device>-<time>.jsonl)")
    bench.add_argument("--resume", action="store_true", help="append to --out, running only the cases it lacks")
    bench.add_argument(
        "--retry-failed",
        action="store_true",
        help="with --resume, also rerun the cases recorded as error or timeout (their records stay, marked superseded)",
    )
    bench.add_argument(
        "--allow-mixed-settings",
        action="store_true",
        help="with --resume, add cases even if the file's cases were measured with other threads, runs, times, "
        "timeout, package versions or hardware (each case records its own)",
    )
    bench.add_argument("--min-runs", type=int, default=5, metavar="N", help="timed calls at least (default 5)")
    bench.add_argument(
        "--min-time", type=float, default=None, metavar="S", help="timed seconds at least (default 0.5; quick 0.2)"
    )
    bench.add_argument("--max-runs", type=int, default=10_000, metavar="N", help="timed calls at most")
    bench.add_argument(
        "--threads", type=int, default=None, metavar="N", help="CPU threads for each framework (default: all cores)"
    )
    bench.add_argument(
        "--budget",
        type=float,
        default=None,
        metavar="S",
        help="seconds the whole run may take: no case starts after it, the case running then is recorded as cut_off, "
        "and --resume runs the rest",
    )
    bench.add_argument(
        "--timeout",
        type=float,
        default=None,
        metavar="S",
        help="seconds a case may take, compilation included (default 300; quick 120)",
    )
    bench.set_defaults(run=cmd_bench)

    report = sub.add_parser("report", help="turn results files into report.md with plots")
    report.add_argument("files", nargs="+", metavar="FILE.jsonl", help="one results file, or two to compare side by side")
    report.add_argument("--out", required=True, metavar="DIR", help="directory for report.md and its PNG plots")
    report.set_defaults(run=cmd_report)


def cmd_bench(options) -> int:

    from .. import registry
    from ..console import console as _console
    from . import cases as cases_module
    from . import results, runner

    given = {name: getattr(options, name) for name in FILTERS if getattr(options, name)}
    _check_options(options)
    suite_name = options.suite or (None if given or options.sweep or options.devices else "quick")
    if suite_name is not None and suite_name not in SUITES:
        raise SciadError(f"unknown suite {suite_name!r}; suites are: {', '.join(SUITES)}")
    suite = SUITES.get(suite_name, {})
    pick = {name: tuple(given.get(name) or suite.get(name) or ()) or None for name in FILTERS}
    specs = registry.select(pick["problem"])
    _check_modes(specs, pick["framework"], pick["mode"])
    if options.devices is not None:
        cases = _scaling_cases(options, specs, pick)
    else:
        cases = cases_module.generate(
            specs,
            transforms=pick["transform"],
            frameworks=pick["framework"],
            modes=pick["mode"],
            sizes=pick["size"],
            dtypes=pick["dtype"],
            devices=pick["device"] or ("auto",),
            sweep=options.sweep,
        )
    if "keep" in suite and not given.get("transform") and not given.get("mode"):
        cases = [case for case in cases if suite["keep"](case)]  # a suite's per-problem choice of transforms and modes
    if not cases:
        raise SciadError("these options select no benchmark case; `sciad list` shows each problem's transforms and sizes")
    for name, low in (("--min-runs", options.min_runs), ("--max-runs", options.max_runs), ("--threads", options.threads)):
        if low is not None and low < 1:
            raise SciadError(f"{name} {low} is not accepted; a positive integer is")
    threads = options.threads or len(os.sched_getaffinity(0))
    if threads > len(os.sched_getaffinity(0)):
        raise SciadError(f"--threads {threads} exceeds the {len(os.sched_getaffinity(0))} cores available to this process")
    out = pathlib.Path(options.out) if options.out else _default_out()
    results.check_out(out)
    run_options = {
        "min_runs": options.min_runs,
        "max_runs": options.max_runs,
        "min_time": options.min_time if options.min_time is not None else suite.get("min_time", 0.5),
        "suite": suite_name,
        "sweep": options.sweep,
    }
    timeout = options.timeout if options.timeout is not None else suite.get("timeout", 300.0)
    console = _console()
    records = runner.run(
        cases,
        out,
        threads=threads,
        options=run_options,
        timeout=timeout,
        console=console,
        resume=options.resume,
        retry_failed=options.retry_failed,
        mixed_settings=options.allow_mixed_settings,
        budget=options.budget,
        header=f"{len(cases)} cases ({suite_name or 'custom'} suite) → {out}; {threads} threads per framework; "
        f"min {run_options['min_runs']} runs and {run_options['min_time']:g} s per case, timeout {timeout:g} s",
    )
    summarise(console, results.latest(results.read(out)))
    invalid = [r for r in records if r["status"] == "invalid"]
    statuses = {}
    for record in records:
        statuses[record["status"]] = statuses.get(record["status"], 0) + 1
    console.print(
        f"{len(records)} cases this run: " + ", ".join(f"{n} {s}" for s, n in sorted(statuses.items())) + f"; results in {out}"
    )
    return 1 if invalid else 0


def _default_out() -> pathlib.Path:
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    return pathlib.Path("bench-results") / f"bench-{stamp}.jsonl"


def _check_options(options) -> None:
    """Ranges and combinations of `sciad bench`'s options, each refused in one sentence."""
    for name in FILTERS:
        values = getattr(options, name) or []
        for value in values:
            if values.count(value) > 1:
                raise SciadError(f"--{name} {value} is given {values.count(value)} times; give each value once")
    if options.sweep and options.size:
        raise SciadError(
            f"--size {options.size[0]} and --sweep exclude each other: a sweep times a range of each problem's main "
            "dimension in place of the named sizes"
        )
    if options.min_time is not None and not (math.isfinite(options.min_time) and options.min_time >= 0):
        raise SciadError(f"--min-time {options.min_time:g} is not accepted; a finite number of seconds, 0 or more, is")
    if options.budget is not None and not (math.isfinite(options.budget) and options.budget > 0):
        raise SciadError(f"--budget {options.budget:g} is not accepted; a finite number of seconds above 0 is")
    if options.timeout is not None and not (math.isfinite(options.timeout) and options.timeout > 0):
        raise SciadError(f"--timeout {options.timeout:g} is not accepted; a finite number of seconds above 0 is")
    if options.min_runs >= 1 and options.max_runs >= 1 and options.max_runs < options.min_runs:
        raise SciadError(
            f"--max-runs {options.max_runs} is less than --min-runs {options.min_runs}; timing stops at --max-runs, "
            "so it must be at least --min-runs"
        )
    for flag, given in (("--retry-failed", options.retry_failed), ("--allow-mixed-settings", options.allow_mixed_settings)):
        if given and not options.resume:
            raise SciadError(f"{flag} applies to the cases already in a results file, so it needs --resume")


# Simulated devices per core at most: each torch rank is a process with its own interpreter and heap, and
# beyond this the scheduler's time slicing, not the sharding, decides what is measured.
SIMULATED_PER_CORE = 8


def _scaling_cases(options, specs, pick):
    """`--devices`: the scaling cases, refused in one sentence (before the results file is touched) where
    the device counts cannot exist here or cannot split a case's axis evenly."""
    from .. import registry, sharding
    from . import cases as cases_module

    counts = cases_module.parse_devices(options.devices)
    if options.sweep or options.suite:
        raise SciadError(f"--devices measures scaling at a named size; it takes no {'--sweep' if options.sweep else '--suite'}")
    if pick["device"] and set(pick["device"]) != {"cpu"}:
        raise SciadError(
            "--devices runs on simulated CPU devices (JAX) and gloo ranks (torch) on this host; it takes no --device "
            f"{', '.join(d for d in pick['device'] if d != 'cpu')} (a multi-GPU job: README.md, Across hosts)"
        )
    cores = len(os.sched_getaffinity(0))
    if max(counts) > SIMULATED_PER_CORE * cores:
        raise SciadError(
            f"--devices {max(counts)} is more devices than this host can simulate: {SIMULATED_PER_CORE} per core "
            f"on its {cores} cores, so at most {SIMULATED_PER_CORE * cores}"
        )
    cases = cases_module.generate_scaling(
        specs,
        counts,
        transforms=pick["transform"],
        frameworks=pick["framework"],
        modes=pick["mode"],
        sizes=pick["size"],
        dtypes=pick["dtype"],
    )
    for problem, transform, size in dict.fromkeys((c.problem, c.transform, c.size) for c in cases):
        axis = sharding.split_axis(registry.get(problem), transform, size)
        uneven = [n for n in counts if axis.length % n]
        if uneven:
            what = "the vmap batch" if axis.parameter is None else f"the data rows ({axis.parameter})"
            raise SciadError(
                f"{what} of problem {problem!r}, transform {transform!r} at size {size!r} has length {axis.length}, which "
                f"{uneven[0]} devices cannot split evenly for strong scaling; give device counts that divide {axis.length}"
            )
    return cases


def _check_modes(specs, frameworks, modes) -> None:
    """Each mode given must be a mode of a selected framework (`--framework torch --mode jit` names the mode)."""
    frameworks = frameworks or (*FRAMEWORKS, *BASELINE_LIBRARIES)
    held = {
        fw: list(MODES.get(fw, ())) + sorted({b.mode for spec in specs for b in spec.baselines if b.library == fw})
        for fw in frameworks
    }
    known = {m for fw_modes in MODES.values() for m in fw_modes} | {b.mode for spec in specs for b in spec.baselines}
    for mode in modes or ():
        if mode in known and not any(mode in fw_modes for fw_modes in held.values()):  # an unknown one: `generate`
            if len(held) == 1:
                ((fw, fw_modes),) = held.items()
                raise SciadError(
                    f"mode {mode!r} is not a mode of framework {fw}, whose modes are: {', '.join(fw_modes) or 'none here'}"
                )
            listed = "; ".join(f"{fw}: {', '.join(fw_modes) or 'none here'}" for fw, fw_modes in held.items())
            raise SciadError(f"mode {mode!r} is not a mode of any selected framework ({listed})")


def summarise(console, records) -> None:
    """A table of medians: one row per problem/transform/size/dtype/device; each framework's best mode, named,
    then one column per framework and mode."""
    from rich.table import Table

    from .format import best_mode, fmt_best, fmt_time
    from .report import combos

    columns = [f"{fw} {mode}" for fw, mode in combos(records)]
    best = [f"{fw} best" for fw in FRAMEWORKS]
    rows: dict[tuple, dict] = {}
    medians: dict[tuple, dict] = {}
    for r in records:
        device = r["device"] + (f" ×{r['devices']} {r['scaling']}" if r.get("devices") is not None else "")
        key = (r["problem"], r["transform"], r["size"], r["dtype"], device)
        row = rows.setdefault(key, {})
        if r["status"] == "ok":
            row[f"{r['framework']} {r['mode']}"] = fmt_time(r["median_s"])
            medians.setdefault((key, r["framework"]), {})[r["mode"]] = r["median_s"]
        else:
            row[f"{r['framework']} {r['mode']}"] = f"[yellow]{r['status']}[/yellow]"
    for (key, fw), timed in medians.items():
        if fw in FRAMEWORKS:
            rows[key][f"{fw} best"] = fmt_best(best_mode(fw, timed))
    table = Table(title="median time per call (first call excluded); each framework's best mode named")
    for column in ("problem", "transform", "size", "dtype", "device", *best, *columns):
        table.add_column(column, justify="right" if column in columns or column in best else "left")
    for key, row in rows.items():
        table.add_row(*key, *(row.get(c, "") for c in (*best, *columns)))
    console.print(table)


def cmd_report(options) -> int:
    from . import report

    for file in options.files:
        if pathlib.Path(file).is_dir():
            raise SciadError(f"{file} is a directory; sciad report reads results files (FILE.jsonl) that sciad bench writes")
        if not pathlib.Path(file).is_file():
            raise SciadError(f"results file {file} does not exist")
    if pathlib.Path(options.out).exists() and not pathlib.Path(options.out).is_dir():
        raise SciadError(f"--out {options.out} is a file; it names the directory to write report.md and its plots in")
    if len(options.files) > 2:
        raise SciadError(f"report compares at most two results files side by side; {len(options.files)} were given")
    path = report.write(options.files, pathlib.Path(options.out))
    print(f"report written to {path}")
    return 0
