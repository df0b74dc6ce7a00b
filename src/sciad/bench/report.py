"""`sciad report`: results files → DIR/report.md with PNG plots (matplotlib, readable on GitHub).

Given two files (CPU vs GPU, before vs after) every table gets a column group per file and every plot
a panel or line style per file.
"""

from __future__ import annotations

import json
import math
import pathlib
import statistics
from collections import defaultdict

from .. import registry
from ..errors import SciadError
from ..names import BASELINE_LIBRARIES, FRAMEWORKS, MODE_TABLE, MODES
from . import results
from .format import best_mode, fmt_best, fmt_time, markdown_table

COMBOS = [(fw, mode) for fw, modes in MODES.items() for mode in modes]
CHEAP_GRADIENT_TARGET = 4.0
COMPILED = tuple((m.framework, m.name) for m in MODE_TABLE if m.compiled)


class Run:
    """One results file: its label, environment and the latest record of each case (a failure that a retry
    superseded is counted apart), with each case's settings."""

    def __init__(self, path):
        self.path = pathlib.Path(path)
        records = results.read(path)
        if not records:
            raise SciadError(f"results file {path} is empty, so there is no benchmark case to report")
        if not results.cases(records):
            raise SciadError(
                f"results file {path} holds no benchmark case, only its run's environment: the run stopped before "
                "its first case finished, and `sciad bench --resume` measures them"
            )
        envs = results.environments(records)
        self.env = envs[0] if envs else {}
        latest = results.latest(records)
        # Scaling cases (`sciad bench --devices`) have their own section; the other sections read the rest.
        self.scaling = [r for r in latest if r.get("devices") is not None]
        self.cases = [r for r in latest if r.get("devices") is None]
        self.superseded = results.superseded(records)
        settings = {id(r): s for r, s in zip(results.cases(records), results.settings_of(records))}
        self.settings = [settings[id(r)] for r in self.cases]
        gpu = (self.env.get("gpus") or [None])[0]
        devices = {r["device"] for r in self.cases}
        self.label = f"{self.path.stem} ({gpu.split(',')[0] if gpu and 'cuda' in devices else self.env.get('cpu', 'cpu')})"

    def ok(self):
        return [r for r in self.cases if r["status"] == "ok"]

    def median(self, problem, transform, framework, mode, size, dtype):
        for r in self.ok():
            if (r["problem"], r["transform"], r["framework"], r["mode"], r["size"], r["dtype"]) == (
                problem,
                transform,
                framework,
                mode,
                size,
                dtype,
            ):
                return r["median_s"]
        return None


def combos(records) -> list[tuple[str, str]]:
    """The (framework, mode) columns: every framework's modes, then the baselines (SciPy's methods) present."""
    baselines = sorted({(r["framework"], r["mode"]) for r in records if r["framework"] in BASELINE_LIBRARIES})
    return COMBOS + baselines


def _all_cases(runs):
    return [r for run in runs for r in run.cases]


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _headline_setting(run: Run):
    """The size and dtype most cases share: where ratios are compared ("bench", float64 by default)."""
    counts = defaultdict(int)
    for r in run.ok():
        counts[(r["size"], r["dtype"])] += 1
    if ("bench", "float64") in counts:
        return "bench", "float64"
    return max(counts, key=counts.get) if counts else ("bench", "float64")


# ---------------------------------------------------------------------------------------------


def _medians_section(runs) -> str:
    keys = sorted({(r["problem"], r["transform"], r["size"], r["dtype"]) for run in runs for r in run.cases})
    status = {}
    for i, run in enumerate(runs):
        for r in run.cases:
            status[(i, r["problem"], r["transform"], r["size"], r["dtype"], r["framework"], r["mode"])] = r
    columns = combos(_all_cases(runs))
    tag = [f" [{i + 1}]" if len(runs) > 1 else "" for i in range(len(runs))]
    header = ["problem", "transform", "size", "dtype"]
    header += [f"{fw} best" + tag[i] for fw in FRAMEWORKS for i in range(len(runs))]
    header += [f"{fw} {mode}" + tag[i] for fw, mode in columns for i in range(len(runs))]
    rows = []
    for key in keys:
        row = list(key)
        for fw in FRAMEWORKS:
            for i in range(len(runs)):
                medians = {mode: _ok_median(status.get((i, *key, fw, mode))) for mode in MODES[fw]}
                row.append(fmt_best(best_mode(fw, medians)))
        for fw, mode in columns:
            for i in range(len(runs)):
                r = status.get((i, *key, fw, mode))
                row.append("" if r is None else fmt_time(r["median_s"]) if r["status"] == "ok" else f"*{r['status']}*")
        rows.append(row)
    legend = "" if len(runs) == 1 else "\n\n" + "; ".join(f"[{i + 1}] = {run.label}" for i, run in enumerate(runs))
    return (
        "## Median time per call\n\nFirst call (trace + compile) excluded; the device waited on after every call. "
        "Each framework's best column is its fastest mode for that case, named."
        + _baseline_legend(runs)
        + legend
        + "\n\n"
        + markdown_table(header, rows)
    )


def _ok_median(record):
    return record["median_s"] if record is not None and record["status"] == "ok" else None


def _problems_notes():
    try:
        return {name: dict(registry.get(name).bench_notes) for name in registry.names()}
    except Exception:  # noqa: BLE001 — a report of results from another checkout still renders
        return {}


def _cheap_gradient(runs, out: pathlib.Path) -> str:
    notes = _problems_notes()
    plt = _plt()
    fig, axes = plt.subplots(1, len(runs), figsize=(7 * len(runs), 4), squeeze=False)
    rows = []
    for i, run in enumerate(runs):
        size, dtype = _headline_setting(run)
        problems_ = sorted({r["problem"] for r in run.ok()})
        ax = axes[0][i]
        if not problems_:
            _no_timings(ax, run)
            continue
        width = 0.8 / len(COMBOS)
        for j, (fw, mode) in enumerate(COMBOS):
            ratios = []
            for problem in problems_:
                value = run.median(problem, "value", fw, mode, size, dtype)
                grad = run.median(problem, "grad", fw, mode, size, dtype)
                ratio = grad / value if value and grad else None
                ratios.append(ratio if ratio else float("nan"))
                if ratio and (fw, mode) in COMPILED:
                    met = (
                        "yes"
                        if ratio <= CHEAP_GRADIENT_TARGET
                        else "no — " + notes.get(problem, {}).get("cheap_gradient", "not yet explained")
                    )
                    rows.append([problem, f"{fw} {mode}", f"{ratio:.2f}", met] + ([run.label] if len(runs) > 1 else []))
            ax.bar([k + j * width for k in range(len(problems_))], ratios, width, label=f"{fw} {mode}")
        ax.axhline(CHEAP_GRADIENT_TARGET, color="black", linestyle="--", linewidth=1)
        ax.set_xticks([k + 0.4 - width / 2 for k in range(len(problems_))], problems_, rotation=30, ha="right")
        ax.set_ylabel("grad time ÷ value time")
        ax.set_yscale("log")
        ax.set_title(f"cheap-gradient ratio, {size} {dtype}\n{run.label}", fontsize=9)
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out / "cheap_gradient.png", dpi=110)
    plt.close(fig)
    header = ["problem", "mode", "grad ÷ value", f"≤ {CHEAP_GRADIENT_TARGET:g}?"] + (["run"] if len(runs) > 1 else [])
    return (
        "## Cheap-gradient ratio\n\nReverse mode should cost a small constant times the function "
        f"(target ≤ {CHEAP_GRADIENT_TARGET:g} in the compiled modes).\n\n![cheap-gradient ratio](cheap_gradient.png)\n\n"
        + markdown_table(header, rows)
    )


def best_pairs(run: Run, size: str, dtype: str) -> tuple[list[str], list[str], list[list]]:
    """(problems, transforms, grid) for the JAX-against-torch map: each cell (torch best ÷ JAX best, JAX's
    best mode, torch's best mode), or None where either framework has no timing. Best: the fastest of the
    framework's modes in the mode table (`format.best_mode`)."""
    problems_ = sorted({r["problem"] for r in run.ok()})
    transforms = sorted({r["transform"] for r in run.ok()})
    grid = []
    for problem in problems_:
        row = []
        for transform in transforms:
            best = {
                fw: best_mode(fw, {m: run.median(problem, transform, fw, m, size, dtype) for m in MODES[fw]}) for fw in FRAMEWORKS
            }
            jax, torch = best["jax"], best["torch"]
            row.append((torch[1] / jax[1], jax[0], torch[0]) if jax and torch else None)
        grid.append(row)
    return problems_, transforms, grid


def _speed_ratio(runs, out: pathlib.Path) -> str:
    plt = _plt()
    settings = [_headline_setting(run) for run in runs]
    maps = [best_pairs(run, *setting) for run, setting in zip(runs, settings)]
    # Room for two lines of text per cell ("0.5" over "jit/autograd_compile"), however many problems and transforms.
    width = max([9.0] + [1.6 * len(transforms) + 2.5 for _, transforms, _ in maps])
    height = max([6.5] + [0.5 * len(problems_) + 2.0 for problems_, _, _ in maps])
    fig, axes = plt.subplots(1, len(runs), figsize=(width * len(runs), height), squeeze=False)
    text = []
    for i, run in enumerate(runs):
        (size, dtype), (problems_, transforms, grid) = settings[i], maps[i]
        if not problems_:
            _no_timings(axes[0][i], run)
            continue
        ax = axes[0][i]
        logs = [[math.log2(cell[0]) if cell else float("nan") for cell in row] for row in grid]
        bound = max([abs(v) for row in logs for v in row if v == v] or [1.0])
        image = ax.imshow(logs, cmap="RdBu", vmin=-bound, vmax=bound, aspect="auto")
        ax.set_xticks(range(len(transforms)), transforms, rotation=35, ha="right")
        ax.set_yticks(range(len(problems_)), problems_)
        for r, row in enumerate(grid):
            for c, cell in enumerate(row):
                if cell:
                    dark = abs(logs[r][c]) > 0.6 * bound
                    label = f"{cell[0]:.2g}\n{cell[1]}/{cell[2]}"
                    ax.text(c, r, label, ha="center", va="center", fontsize=6, color="white" if dark else "black")
        ax.set_title(f"torch time ÷ JAX time (best mode each: JAX/torch), {size} {dtype}\n{run.label}", fontsize=9)
        fig.colorbar(image, ax=ax, label="log2(ratio): blue = JAX faster")
        cells = [cell for row in grid for cell in row if cell]
        if cells:
            wins = {
                fw: ", ".join(f"{mode} {n}" for mode, n in _counts(cell[k] for cell in cells))
                for k, fw in ((1, "jax"), (2, "torch"))
            }
            text.append(
                f"- {run.label}: geometric mean {math.exp(statistics.fmean(math.log(cell[0]) for cell in cells)):.2f}"
                f" over {len(cells)} problem × transform pairs (> 1: JAX faster); the best JAX mode: {wins['jax']}; "
                f"the best torch mode: {wins['torch']}"
            )
    fig.tight_layout()
    fig.savefig(out / "speed_ratio.png", dpi=110)
    plt.close(fig)
    return (
        "## JAX against torch\n\nEach cell: the fastest torch mode's median ÷ the fastest JAX mode's median, with the "
        "winning modes beneath it (JAX/torch).\n\n![speed ratio](speed_ratio.png)\n\n" + "\n".join(text)
    )


def _counts(modes) -> list[tuple[str, int]]:
    """How often each mode won, most often first."""
    counts = defaultdict(int)
    for mode in modes:
        counts[mode] += 1
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))


def _first_call(runs, out: pathlib.Path) -> str:
    plt = _plt()
    fig, ax = plt.subplots(figsize=(7, 5))
    markers = ["o", "^"]
    columns = combos(_all_cases(runs))
    for i, run in enumerate(runs):
        for fw, mode in columns:
            points = [(r["median_s"], r["first_call_s"]) for r in run.ok() if (r["framework"], r["mode"]) == (fw, mode)]
            if points:
                ax.scatter(
                    *zip(*points), s=14, marker=markers[i % 2], label=f"{fw} {mode}" + (f" [{i + 1}]" if len(runs) > 1 else "")
                )
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("steady median per call (s)")
    ax.set_ylabel("first call: trace + compile + run (s)")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out / "first_call.png", dpi=110)
    plt.close(fig)
    rows = []
    for run in runs:
        for fw, mode in columns:
            firsts = [r["first_call_s"] for r in run.ok() if (r["framework"], r["mode"]) == (fw, mode)]
            if firsts:
                rows.append(
                    [f"{fw} {mode}", fmt_time(statistics.median(firsts)), fmt_time(max(firsts))]
                    + ([run.label] if len(runs) > 1 else [])
                )
    return "## First call against steady state\n\n![first call](first_call.png)\n\n" + markdown_table(
        ["mode", "median first call", "slowest first call"] + (["run"] if len(runs) > 1 else []), rows
    )


def _memory(runs, out: pathlib.Path) -> str:
    plt = _plt()
    fig, axes = plt.subplots(1, len(runs), figsize=(8 * len(runs), 4.5), squeeze=False)
    for i, run in enumerate(runs):
        size, dtype = _headline_setting(run)
        cases = [r for r in run.ok() if r["size"] == size and r["dtype"] == dtype and r.get("peak_mem_bytes") is not None]
        labels = sorted({(r["problem"], r["transform"]) for r in cases})
        ax = axes[0][i]
        columns = combos(run.cases)
        width = 0.8 / len(columns)
        for j, (fw, mode) in enumerate(columns):
            values = []
            for label in labels:
                match = [
                    r["peak_mem_bytes"]
                    for r in cases
                    if (r["problem"], r["transform"], r["framework"], r["mode"]) == (*label, fw, mode)
                ]
                values.append(match[0] / 2**20 if match else 0)
            ax.bar([k + j * width for k in range(len(labels))], values, width, label=f"{fw} {mode}")
        ax.set_xticks(
            [k + 0.4 for k in range(len(labels))], [f"{p}\n{t}" for p, t in labels], rotation=60, ha="right", fontsize=6
        )
        ax.set_ylabel("peak memory growth (MiB)")
        ax.set_title(f"peak memory, {size} {dtype}\n{run.label}", fontsize=9)
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out / "peak_memory.png", dpi=110)
    plt.close(fig)
    return "## Peak memory\n\n" + _memory_method(runs) + "\n\n![peak memory](peak_memory.png)"


def _memory_method(runs) -> str:
    """What `peak_mem_bytes` measured: it changed when the first call's memory got a field of its own."""
    separate = [r for r in _all_cases(runs) if "first_call_peak_mem_bytes" in r]
    if not separate:
        return (
            "On a GPU: device memory allocated during the timed calls. On a CPU: growth of the peak resident set "
            "from just before the first call (compilation included)."
        )
    text = (
        "Peak memory of one steady-state call (`peak_mem_bytes`), measured on its own right after the first call: "
        "compilation excluded. On a GPU: device memory allocated during the call (JAX reports only its lifetime "
        "peak, an upper bound). On a CPU: how far the resident set's high-water mark rises above the resident set "
        "at the call's start, after the C heap's free pages are returned to the OS (`malloc_trim`) and the mark is "
        "reset (`/proc/self/clear_refs`). That is a lower bound: memory the allocator still holds from earlier "
        "cases of the worker can be reused without growing the resident set, which hides up to a few MiB. For "
        "JAX jit the exact figure is XLA's buffer assignment (`xla_temp_bytes`: the temporaries of the compiled "
        "call beyond its inputs and outputs), recorded beside it. The first call's growth, compilation included, "
        "is `first_call_peak_mem_bytes`"
    )
    if len(separate) < len(_all_cases(runs)):
        text += "; results files written before it was recorded apart hold the first call's growth instead"
    text += "."
    for i, run in enumerate(runs):
        threshold = run.env.get("malloc_mmap_threshold")
        if threshold:
            text += (
                f" {'[' + str(i + 1) + '] ' if len(runs) > 1 else ''}{run.path.name} ran with glibc's mmap threshold "
                f"fixed at {threshold} bytes (`MALLOC_MMAP_THRESHOLD_`): every buffer that large is mapped when "
                "allocated and unmapped when freed, so its resident set counts live large buffers, not freed ones "
                "the heap keeps between them."
            )
    return text


def _time_vs_size(runs, out: pathlib.Path) -> str:
    """Time against the main dimension, per problem and transform, for every framework/mode (sweep runs)."""
    plt = _plt()
    sections = []
    series = defaultdict(list)
    for i, run in enumerate(runs):
        for r in run.ok():
            if "=" in r["size"]:
                parameter, value = r["size"].split("=")
                series[(r["problem"], r["transform"], r["dtype"], parameter)].append(
                    (i, r["framework"], r["mode"], int(value), r["median_s"])
                )
    by_problem = defaultdict(list)
    for key in series:
        by_problem[key[0]].append(key)
    columns = combos(_all_cases(runs))
    for problem, keys in sorted(by_problem.items()):
        fig, axes = plt.subplots(1, len(keys), figsize=(4.2 * len(keys), 3.6), squeeze=False)
        for ax, key in zip(axes[0], sorted(keys)):
            for i in range(len(runs)):
                for fw, mode in columns:
                    points = sorted((v, t) for j, f, m, v, t in series[key] if (j, f, m) == (i, fw, mode))
                    if points:
                        ax.plot(
                            *zip(*points),
                            marker="o",
                            linestyle="-" if i == 0 else "--",
                            label=f"{fw} {mode}" + (f" [{i + 1}]" if len(runs) > 1 else ""),
                        )
            ax.set_xscale("log")
            ax.set_yscale("log")
            _label_sizes(ax, sorted({v for _, _, _, v, _ in series[key]}))
            ax.set_xlabel(key[3])
            ax.set_ylabel("median (s)")
            ax.set_title(f"{problem} {key[1]} {key[2]}", fontsize=9)
            ax.legend(fontsize=6)
        fig.tight_layout()
        fig.savefig(out / f"size_{problem}.png", dpi=100)
        plt.close(fig)
        sections.append(f"![{problem}](size_{problem}.png)")
    if not sections:
        return "## Time against size\n\nNo sweep in these results (`sciad bench --sweep` measures one)."
    return "## Time against size\n\n" + "\n\n".join(sections)


def _fmt_bytes(count):
    if count is None:
        return ""
    for unit, scale in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if count >= scale:
            value = count / scale
            return f"{value:.3g} {unit}" if value < 999.5 else f"{value:.0f} {unit}"  # no 1e+03
    return f"{count} B"


def _label_sizes(ax, values) -> None:
    """Tick labels at the sweep's own values: a log axis's minor labels (3×10², 4×10², …) pile up otherwise."""
    from matplotlib.ticker import NullFormatter

    ax.set_xticks(values, [str(v) for v in values], fontsize=7)
    ax.xaxis.set_minor_formatter(NullFormatter())


def _growth_exponent(points) -> float | None:
    """The least-squares slope of log(memory) against log(size): 1 for O(T), ½ for O(√T)."""
    points = [(v, m) for v, m in points if m and m > 0]
    if len(points) < 3:
        return None
    xs, ys = [math.log(v) for v, _ in points], [math.log(m) for _, m in points]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    spread = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / spread if spread else None


# The memory figures of a sweep: (record field, row label, line style).
MEMORY_FIELDS = (
    ("peak_mem_bytes", "steady call", "-"),
    ("xla_temp_bytes", "XLA buffers", ":"),
    ("first_call_peak_mem_bytes", "first call (compile incl.)", None),  # table only: compilation swamps the plot
)


def _memory_vs_size(runs, out: pathlib.Path) -> str:
    """Peak memory against the sweep parameter, per problem and transform, one line per framework/mode (sweep runs)."""
    series = defaultdict(list)
    for i, run in enumerate(runs):
        for r in run.ok():
            if "=" in r["size"]:
                parameter, value = r["size"].split("=")
                series[(r["problem"], r["dtype"], parameter)].append((i, int(value), r))
    if not any(r.get("peak_mem_bytes") is not None for points in series.values() for _, _, r in points):
        return "## Peak memory against size\n\nNo sweep in these results (`sciad bench --sweep` measures one)."
    plt = _plt()
    sections = []
    columns = combos(_all_cases(runs))
    for problem, dtype, parameter in sorted(series):
        points = series[(problem, dtype, parameter)]
        transforms = sorted({r["transform"] for _, _, r in points})
        values = sorted({v for _, v, _ in points})
        fig, axes = plt.subplots(1, len(transforms), figsize=(4.2 * len(transforms), 3.8), squeeze=False, sharey=True)
        rows = []
        palette = plt.rcParams["axes.prop_cycle"].by_key()["color"]
        for ax, transform in zip(axes[0], transforms):
            for i in range(len(runs)):
                for k, (fw, mode) in enumerate(columns):
                    chosen = {
                        v: r for j, v, r in points if (j, r["transform"], r["framework"], r["mode"]) == (i, transform, fw, mode)
                    }
                    if not chosen:
                        continue
                    tag = f"{fw} {mode}" + (f" [{i + 1}]" if len(runs) > 1 else "")
                    for field, label, style in MEMORY_FIELDS:
                        line = sorted((v, r.get(field)) for v, r in chosen.items() if r.get(field) is not None)
                        if not line:
                            continue
                        exponent = _growth_exponent(line)
                        by_value = dict(line)
                        rows.append(
                            [transform, tag, label]
                            + [_fmt_bytes(by_value.get(v)) for v in values]
                            + ["" if exponent is None else f"{exponent:.2f}"]
                        )
                        plotted = [(v, m / 2**20) for v, m in line if m > 0]
                        if style and plotted:
                            # One colour per framework/mode, a line style per measure, a marker per results file.
                            ax.plot(
                                *zip(*plotted),
                                color=palette[k % len(palette)],
                                marker="os^v"[i % 4],
                                linestyle=style,
                                label=tag + ("" if field == "peak_mem_bytes" else f" ({label})"),
                            )
            ax.set_xscale("log")
            ax.set_yscale("log")
            _label_sizes(ax, values)
            ax.set_xlabel(parameter)
            ax.set_ylabel("peak memory (MiB)")
            ax.set_title(f"{problem} {transform} {dtype}", fontsize=9)
            ax.legend(fontsize=6)
        fig.tight_layout()
        name = f"memory_{problem}_{dtype}.png"
        fig.savefig(out / name, dpi=100)
        plt.close(fig)
        header = ["transform", "framework mode", "measure"] + [f"{parameter}={v}" for v in values] + ["growth exponent"]
        sections.append(f"![{problem} memory]({name})\n\n" + markdown_table(header, rows))
    return (
        "## Peak memory against size\n\n"
        + _memory_method(runs)
        + " The growth exponent is the least-squares slope of log(memory) against log(size) over the sweep: "
        "1 for memory proportional to the size, ½ for its square root (zero readings left out).\n\n" + "\n\n".join(sections)
    )


def _baseline_legend(runs) -> str:
    """What each baseline column runs, from the problems' specs."""
    present = {
        (r["problem"], r["transform"], r["framework"], r["mode"])
        for r in _all_cases(runs)
        if r["framework"] in BASELINE_LIBRARIES
    }
    if not present:
        return ""
    try:
        lines = [
            f"- {problem} {transform}, {fw} {mode}: {b.note}"
            for problem, transform, fw, mode in sorted(present)
            if (b := registry.get(problem).baseline(transform, fw, mode)) is not None
        ]
    except Exception:  # noqa: BLE001 — a report of results from another checkout still renders
        lines = []
    return (
        " Columns named after a library (scipy …) are baselines: the same transform computed without an AD "
        "framework, checked against the reference like every case." + ("\n\n" + "\n".join(lines) if lines else "")
    )


def _harness(runs) -> str:
    rows = []
    for run in runs:
        timed = [r for r in run.ok() if r.get("bare_loop_s")]
        ratios = [r["median_s"] / r["bare_loop_s"] for r in timed]
        mean_ratios = [r["mean_s"] / r["bare_loop_s"] for r in timed if r.get("mean_s")]
        if ratios:
            ordered = sorted(ratios)
            rows.append(
                [
                    run.label,
                    len(ratios),
                    f"{statistics.median(ratios):.3f}",
                    f"{ordered[int(0.1 * (len(ratios) - 1))]:.3f}",
                    f"{ordered[int(0.9 * (len(ratios) - 1))]:.3f}",
                    sum(1 for x in ratios if 0.97 <= x <= 1.1),
                    f"{statistics.median(mean_ratios):.3f}" if mean_ratios else "–",
                ]
            )
    return (
        "## Harness overhead\n\nThe harness's median (one wait per call) ÷ a bare loop of the same callable (the median "
        "of five chunk means, one wait per chunk). Between 1 and 1.1 is the target; well below 1 would mean the "
        "harness does not wait for results, well above that it adds its own cost. On a loaded host the median of "
        "single calls skips the calls that were preempted while any loop average includes them, so the median ratio "
        "falls below 1 there; the harness's mean ÷ the bare loop (last column) compares like with like.\n\n"
        + markdown_table(
            ["run", "cases", "median ratio", "10th percentile", "90th percentile", "cases in [0.97, 1.1]", "median mean ratio"],
            rows,
        )
    )


def _environment(runs) -> str:
    rows = []
    for i, run in enumerate(runs):
        env, counts = run.env, defaultdict(int)
        for r in run.cases + run.scaling:
            counts[r["status"]] += 1
        versions = env.get("versions", {})
        threads = sorted({s["threads"] for s in run.settings if s.get("threads") is not None}) or [env.get("threads", "?")]
        rows.append(
            [
                f"[{i + 1}] {run.path.name}",
                env.get("cpu", "?"),
                ", ".join(env.get("gpus") or []) or "none",
                ", ".join(map(str, threads)) + (" (differ: see below)" if len(threads) > 1 else ""),
                f"jax {versions.get('jax', '?')}, torch {versions.get('torch', '?')}",
                env.get("git_commit", "?"),
                ", ".join(f"{n} {s}" for s, n in sorted(counts.items())),
            ]
        )
    problems_ = []
    for run in runs:
        for r in run.cases + run.scaling:
            if r["status"] not in ("ok", "known_failure"):
                problems_.append(
                    f"- `{r['problem']}-{r['transform']}-{r['framework']}-{r['mode']}-{r['size']}-{r['dtype']}`: "
                    f"**{r['status']}** — {r.get('error') or ''}"
                )
    body = markdown_table(["results", "CPU", "GPU", "threads", "versions", "commit", "cases"], rows)
    if problems_:
        body += "\n\nCases that did not produce a timing:\n\n" + "\n".join(problems_)
    for i, run in enumerate(runs):
        name = f"{'[' + str(i + 1) + '] ' if len(runs) > 1 else ''}{run.path.name}"
        if run.superseded:
            body += (
                f"\n\n{name}: {len(run.superseded)} records were superseded by a later record of the same case (a "
                "failure measured again by `sciad bench --resume --retry-failed`), and the tables show the later one; "
                "they stay in the file: " + ", ".join(f"`{_case_id(r)}` ({r['status']})" for r in run.superseded) + "."
            )
        body += _settings_differences(run, name)
    return "## Environment\n\n" + body


def _case_id(r) -> str:
    scaling = f"-{r['scaling']}{r['devices']}" if r.get("devices") is not None else ""
    return f"{r['problem']}-{r['transform']}-{r['framework']}-{r['mode']}-{r['size']}-{r['dtype']}{scaling}"


def efficiency(scaling: str, devices: int, one: float, many: float) -> float:
    """Parallel efficiency on `devices` devices from the medians on one device and on `devices`: strong
    scaling (same total work) T1 / (N·TN), weak scaling (work ×N, the same per device) T1 / TN. 1 is ideal."""
    return one / (devices * many) if scaling == "strong" else one / many


def _scaling(runs, out: pathlib.Path) -> str:
    """Parallel efficiency against device count, per problem and transform, a line per framework/mode and
    scaling kind; the medians and efficiencies as a table; and, where the devices were simulated on one
    host's shared cores, what the figure measures."""
    plt = _plt()
    series = defaultdict(dict)  # (run, problem, transform, size, dtype, framework, mode, scaling) -> {N: median}
    simulated, cores = False, set()
    for i, run in enumerate(runs):
        for r in run.scaling:
            if r["status"] == "ok":
                series[(i, r["problem"], r["transform"], r["size"], r["dtype"], r["framework"], r["mode"], r["scaling"])][
                    r["devices"]
                ] = r["median_s"]
                simulated |= bool(r.get("simulated_devices"))
                cores.add(r.get("cores"))
    rows, panels = [], defaultdict(list)
    for key, medians in sorted(series.items()):
        i, problem, transform, size, dtype, fw, mode, kind = key
        one = medians.get(1)
        points = [(n, efficiency(kind, n, one, t)) for n, t in sorted(medians.items())] if one else []
        panels[(problem, transform, size, dtype)].append((i, fw, mode, kind, points))
        for n, t in sorted(medians.items()):
            eff = dict(points).get(n)
            rows.append(
                [problem, transform, size, dtype, f"{fw} {mode}", kind, n, fmt_time(t), "–" if eff is None else f"{eff:.2f}"]
                + ([f"[{i + 1}]"] if len(runs) > 1 else [])
            )
    failed = [f"`{_case_id(r)}` ({r['status']})" for run in runs for r in run.scaling if r["status"] != "ok"]
    if not panels:
        return "## Scaling across devices\n\nNo scaling case produced a timing" + (f": {', '.join(failed)}." if failed else ".")
    fig, axes = plt.subplots(1, len(panels), figsize=(4.4 * len(panels), 3.8), squeeze=False)
    counts = sorted({n for medians in series.values() for n in medians})
    for ax, (panel, lines) in zip(axes[0], sorted(panels.items())):
        for i, fw, mode, kind, points in lines:
            if points:
                ax.plot(
                    *zip(*points),
                    marker="o" if kind == "strong" else "s",
                    linestyle="-" if kind == "strong" else "--",
                    label=f"{fw} {mode}, {kind}" + (f" [{i + 1}]" if len(runs) > 1 else ""),
                )
        ax.axhline(1.0, color="grey", linewidth=0.8, linestyle=":")
        if simulated:  # what N devices on the one-device run's cores reach with no overhead at all
            ax.plot(counts, [1 / n for n in counts], color="grey", linewidth=0.8, linestyle="--", label="1/N: shared cores")
        ax.set_xscale("log", base=2)
        ax.set_xticks(counts, [str(n) for n in counts])
        ax.set_ylim(bottom=0)
        ax.set_xlabel("devices")
        ax.set_ylabel("parallel efficiency")
        ax.set_title(" ".join(panel), fontsize=9)
        ax.legend(fontsize=6)
    fig.tight_layout()
    fig.savefig(out / "scaling_efficiency.png", dpi=100)
    plt.close(fig)
    shown = " or ".join(str(c) for c in sorted(c for c in cores if c is not None)) or "?"
    note = (
        f"\n\n**The devices were simulated on one host** (JAX's host-platform CPU devices, torch's gloo ranks as "
        f"processes), sharing the cores its workers were pinned to ({shown}), which the one-device run already "
        "used all of: more devices add no compute here, so this figure measures the communication and partitioning "
        "overhead of the sharded transforms, not speed-up. With no overhead at all, N devices on those cores take as long "
        "as one for the same work and N times as long for N times the work, so both efficiencies would be 1/N (grey "
        "dashes): read the curves against 1/N, not against 1 (weak scaling can pass 1/N where a call's fixed cost, "
        "not its work, dominates its time)."
        if simulated
        else ""
    )
    header = ["problem", "transform", "size", "dtype", "framework", "scaling", "devices", "median", "efficiency"]
    return (
        "## Scaling across devices\n\nParallel efficiency of the sharded transforms (`sciad bench --devices`): strong "
        "scaling keeps the total work (the split axis's length) fixed, E = T1 / (N·TN); weak scaling grows the split "
        "axis ×N, the same work per device, E = T1 / TN. 1 is ideal (dotted)."
        + note
        + "\n\n![scaling efficiency](scaling_efficiency.png)\n\n"
        + markdown_table(header + (["results"] if len(runs) > 1 else []), rows)
        + (f"\n\nScaling cases without a timing: {', '.join(failed)}." if failed else "")
    )


def _settings_differences(run, name) -> str:
    """The settings of a file's cases, grouped, where they are not all the same (`--allow-mixed-settings`)."""
    flat = [{**{results.OPTION_NAMES[k]: s.get(k) for k in results.SETTINGS}, **s.get("versions", {})} for s in run.settings]
    varying = sorted({k for f in flat for k in f}, key=lambda k: (not k.startswith("--"), k))
    varying = [k for k in varying if len({json.dumps(f.get(k)) for f in flat}) > 1]
    if not varying:
        return ""
    groups = defaultdict(list)
    for record, f in zip(run.cases, flat):
        groups[tuple(f.get(k) for k in varying)].append(_case_id(record))
    rows = [
        ["" if v is None else f"{v:g}" if isinstance(v, (int, float)) else v for v in values]
        + [len(ids), ", ".join(ids[:3]) + (", …" if len(ids) > 3 else "")]
        for values, ids in groups.items()
    ]
    return (
        f"\n\n{name}: its cases were measured with different settings (resumed with `--allow-mixed-settings`); "
        "compare their timings with care:\n\n" + markdown_table([*varying, "cases", "for example"], rows)
    )


def write(paths, out: pathlib.Path) -> pathlib.Path:
    """Write `out`/report.md and its plots; every results file is read and checked before `out` is made."""
    runs = [Run(path) for path in paths]
    if out.exists() and not out.is_dir():
        raise SciadError(f"--out {out} is a file; it names the directory to write report.md and its plots in")
    try:
        out.mkdir(parents=True, exist_ok=True)
        title = "# sciad benchmark report\n\nGenerated by `sciad report " + " ".join(str(p) for p in paths) + f" --out {out}`."
        if not any(run.ok() for run in runs) and any(run.scaling for run in runs):
            sections = [title, _environment(runs), _scaling(runs, out)]
        elif not any(run.ok() for run in runs):
            sections = [
                title,
                _environment(runs),
                _medians_section(runs),
                "## Plots\n\nNo case produced a timing, so there is nothing to plot: the environment section lists why.",
            ]
        else:
            sections = [
                title,
                _environment(runs),
                _speed_ratio(runs, out),
                _cheap_gradient(runs, out),
                _medians_section(runs),
                _first_call(runs, out),
                _memory(runs, out),
                _time_vs_size(runs, out),
                _memory_vs_size(runs, out),
                _harness(runs),
            ] + ([_scaling(runs, out)] if any(run.scaling for run in runs) else [])
        path = out / "report.md"
        path.write_text("\n\n".join(sections) + "\n")
    except OSError as exc:
        raise SciadError(f"cannot write the report in {out} ({exc.strerror or exc})") from None
    return path


def _no_timings(ax, run) -> None:
    """An empty panel for a results file with no timed case, beside one that has some."""
    ax.text(0.5, 0.5, "no case produced a timing", ha="center", va="center", transform=ax.transAxes)
    ax.set_axis_off()
    ax.set_title(run.label, fontsize=9)
