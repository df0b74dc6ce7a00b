"""`sciad list | check | bench | report` — the command line.

Bad input (an unknown name, a bad option value) is one sentence on stderr and exit code 2, never a
traceback. `check` exits 1 when a cell fails.
"""

from __future__ import annotations

import argparse
import sys
import time

from . import registry
from .console import console as _console
from .errors import SciadError, choose
from .names import DTYPES, FRAMEWORKS

# ---------------------------------------------------------------------------------------------


def cmd_list(options) -> int:
    from rich.table import Table

    table = Table(title="sciad problems", show_lines=False)
    for column in ("problem", "transforms", "sizes", "summary"):
        table.add_column(column, overflow="fold")
    for spec in registry.select(options.problem):
        sizes = ", ".join(f"{name} ({', '.join(f'{k}={v}' for k, v in params.items())})" for name, params in spec.sizes.items())
        table.add_row(spec.name, ", ".join(spec.transforms), sizes, spec.summary)
    _console().print(table)
    return 0


def cmd_check(options) -> int:
    from . import parity

    specs = registry.select(options.problem)
    frameworks = tuple(options.framework or FRAMEWORKS)
    dtypes = tuple(options.dtype or DTYPES)
    for framework in frameworks:
        choose("framework", framework, FRAMEWORKS)
    for dtype in dtypes:
        choose("dtype", dtype, DTYPES)
    if options.devices is not None:
        if options.device not in (None, "cpu"):
            raise SciadError("--devices runs on simulated CPU devices (JAX) and gloo ranks (torch); it takes no --device")
        return _check_devices(specs, frameworks, dtypes, options.devices)
    device = _device_preflight(options.device or "cpu", frameworks)
    cells = parity.cells(specs, frameworks, dtypes, device)
    console = _console()
    console.print(f"{len(cells)} cells on {device} ({', '.join(frameworks)}; {', '.join(dtypes)})")
    console.print(f"{'cell':<58} {'max error':>10} {'tolerance':>9}  status")
    counts = {"pass": 0, "fail": 0, "xfail": 0, "xpass": 0}
    started = time.perf_counter()
    for cell in cells:
        result = parity.run(cell)
        counts[result.status] += 1
        style = {"pass": "green", "xfail": "yellow"}.get(result.status, "bold red")
        console.print(f"{cell.id:<58} {result.error:>10.2e} {result.tolerance:>9.2g}  [{style}]{result.status}[/{style}]")
        if not result.passed:
            console.print(f"    {result.message}", markup=False)
        elif result.known_failure:
            console.print(f"    known failure: {result.known_failure}", markup=False)
    failed = counts["fail"] + counts["xpass"]
    passed = counts["pass"] + counts["xfail"]
    console.print(
        f"({counts['xfail']} known upstream failures as expected, {counts['xpass']} unexpectedly working; "
        f"{time.perf_counter() - started:.1f} s)"
    )
    print(f"{passed} passed, {failed} failed", flush=True)
    return 1 if failed else 0


def _device_preflight(device: str, frameworks) -> str:
    """Refuse a device a selected framework lacks, in one sentence, before any cell runs."""
    import os

    from . import frameworks as adapters

    choose("device", device, ("cpu", "cuda"))
    # JAX would reserve three quarters of the GPU at its first array, leaving torch's cells short of memory.
    os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")
    for framework in frameworks:
        adapters.load(framework).device(device)  # raises SciadError naming the framework and its devices
    return device


def _check_devices(specs, frameworks, dtypes, devices: int) -> int:
    """The shardable cells on `devices` devices: each framework's sharded result against its one-device
    result, and JAX-sharded against torch-distributed (`sciad.sharding`)."""
    from . import sharding

    console = _console()
    started = time.perf_counter()
    results = sharding.run(specs, frameworks, dtypes, devices)
    console.print(f"{len(results)} cells on {devices} devices ({', '.join(frameworks)}; {', '.join(dtypes)})")
    console.print(f"{'cell':<58} {'max error':>10} {'tolerance':>9}  status")
    for result in results:
        style = {"pass": "green", "skip": "yellow"}.get(result.status, "bold red")
        console.print(f"{result.cell.id:<58} {result.error:>10.2e} {result.tolerance:>9.2g}  [{style}]{result.status}[/{style}]")
        if result.status != "pass":
            console.print(f"    {result.message}", markup=False)
    failed = sum(not result.passed for result in results)
    skipped = sum(result.skipped for result in results)
    console.print(f"({time.perf_counter() - started:.1f} s)")
    print(f"{len(results) - failed - skipped} passed, {failed} failed" + (f", {skipped} skipped" if skipped else ""), flush=True)
    return 1 if failed else 0


# ---------------------------------------------------------------------------------------------


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one sentence, exit 2, no traceback (argparse's own convention)
        self.exit(2, f"sciad: error: {message}\n")


def parser() -> argparse.ArgumentParser:
    top = _Parser(prog="sciad", description="JAX vs PyTorch (torch.func): parity checks and benchmarks of function transforms.")
    sub = top.add_subparsers(dest="command", required=True, parser_class=_Parser)

    listing = sub.add_parser("list", help="problems, their transforms and sizes")
    listing.add_argument("--problem", action="append", metavar="P", help="only this problem (repeatable)")
    listing.set_defaults(run=cmd_list)

    check = sub.add_parser("check", help="run the parity cells on this host and print a table")
    check.add_argument("--problem", action="append", metavar="P", help="a registered problem (repeatable; default all)")
    check.add_argument("--framework", action="append", metavar="F", help="jax or torch (repeatable; default both)")
    check.add_argument("--dtype", action="append", metavar="D", help="float64 or float32 (repeatable; default both)")
    check.add_argument(
        "--device", metavar="DEV", help="cpu or cuda: where every cell's inputs and computation live (default cpu)"
    )
    check.add_argument(
        "--devices", type=int, metavar="N",
        help="the sharded transforms on N devices (JAX: N simulated CPU devices in a subprocess; torch: N gloo ranks), "
        "against one device and JAX against torch",
    )
    check.set_defaults(run=cmd_check)

    from .bench import cli as bench_cli

    bench_cli.add_commands(sub)

    from . import claims

    claims.add_command(sub)
    return top


def main(argv=None) -> int:
    options = parser().parse_args(argv)
    try:
        return options.run(options)
    except SciadError as exc:
        print(f"sciad: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("sciad: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
