"""How timings are shown: `sciad bench`'s closing table, `sciad report` and benchmarks/gradbench/compare.py.

Framework-free and import-light (nothing but the mode table), so that a script outside the package can use it.
"""

from __future__ import annotations

from ..names import MODES


def fmt_time(seconds) -> str:
    """A duration with three significant digits in s, ms, µs or ns; "" for None."""
    if seconds is None:
        return ""
    for unit, scale in (("s", 1), ("ms", 1e-3), ("µs", 1e-6)):
        if seconds >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds * 1e9:.3g} ns"


def markdown_table(header, rows) -> str:
    lines = ["| " + " | ".join(str(cell) for cell in header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def text_table(header, rows) -> str:
    """Columns padded to their widest cell, two spaces apart."""
    table = [[str(cell) for cell in row] for row in [header, *rows]]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    return "\n".join("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in table)


def best_mode(framework: str, medians: dict) -> tuple[str, float] | None:
    """The fastest of `framework`'s modes (`names.MODES`, the mode table) in `medians` (mode → seconds or
    None): (mode, seconds), the table's order deciding a tie; None when no mode has a timing."""
    timed = [(medians[mode], index, mode) for index, mode in enumerate(MODES[framework]) if medians.get(mode)]
    if not timed:
        return None
    seconds, _, mode = min(timed)
    return mode, seconds


def fmt_best(best: tuple[str, float] | None) -> str:
    """A best-mode cell: "1.2 ms (jit)"; "" when no mode has a timing."""
    return "" if best is None else f"{fmt_time(best[1])} ({best[0]})"
