"""`sciad claims`: the claims people repeat about JAX and PyTorch, each measured into a verdict.

A claim is a record (`Claim`) written before anything is measured: its text, the cases that decide it
(problem, transform, framework, mode, size, dtype), the ratio it is about, the threshold, and on which
side of it the claim holds. Measuring runs those cases through the benchmark harness (`bench.runner`,
one JSON Lines file per repetition in ``DIR/results/``), `reps` times, interleaved: repetition k runs
every case (JAX's worker, then torch's) before repetition k + 1 starts, so slow drifts of a shared host
fall on both sides of every ratio alike. The ratio's 95 % confidence interval is a bootstrap over the
repetitions' medians (numerator and denominator resampled apart); a comparison is decided only when that
interval excludes the threshold. A claim **holds** when every deciding comparison holds, **fails** when
every one fails, and otherwise **depends** (on the condition named in its row, or on noise: an interval
that straddles the threshold decides nothing).

This module imports neither framework nor the problems: cases run in the harness's workers, and the
problems are found by name through the registry (the workers' business).
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import pathlib
import statistics
import textwrap

import numpy as np

from .errors import SciadError

HOLDS, FAILS, UNDECIDED, DEPENDS, NOT_MEASURED = "holds", "fails", "undecided", "depends", "not measured"
DTYPE = "float64"
DEVICE = "auto"
MEMORY_FLOOR = 64 * 1024  # bytes: below this the CPU meter (resident-set growth, in pages) reads noise
BOOTSTRAP = 2000


@dataclasses.dataclass(frozen=True)
class Side:
    """One side of a ratio: the best (smallest) of some cases' metric, per repetition."""

    cases: tuple  # of (problem, transform, framework, mode, size)

    def case_keys(self, dtype=DTYPE):
        """The harness's keys of these cases (`Case.key`, the key `results.case_key` reads back)."""
        from .bench.cases import Case

        return [Case(*c, dtype, DEVICE).key for c in self.cases]


def side(*cases) -> Side:
    return Side(tuple(cases))


@dataclasses.dataclass(frozen=True)
class Comparison:
    label: str  # e.g. "torch eager ÷ jax jit, d=256"
    numerator: Side
    denominator: Side
    metric: str = "median_s"  # a case record's field: median_s, first_call_s, peak_mem_bytes
    above: bool = True  # the claim holds here when the ratio is above the threshold (else below)
    decides: bool = True  # shown but not deciding (a middle point of a sweep)
    x: float | None = None  # the sweep value, for the plot


@dataclasses.dataclass(frozen=True)
class Claim:
    number: int
    text: str
    ratio: str  # what the ratio is, in words
    threshold: float
    rule: str  # the verdict rule, in words, beside the code's
    comparisons: tuple[Comparison, ...] = ()
    quick_comparisons: tuple[Comparison, ...] = ()
    x_label: str = ""  # the sweep's axis, when the comparisons are a sweep
    figure: str = ""  # name of an extra figure (see FIGURES)
    not_measured: str = ""  # why this claim has no cases yet
    determinism: bool = False  # decided by `sciad.sampling`'s bitwise checks, not by ratios of timings

    def selected(self, quick: bool) -> tuple[Comparison, ...]:
        return self.quick_comparisons if quick and self.quick_comparisons else self.comparisons


# -- the statistics ---------------------------------------------------------------------------------


def bootstrap_ratio(numerator, denominator, *, seed: int = 0, draws: int = BOOTSTRAP) -> tuple[float, float, float]:
    """(point, low, high): median(numerator) ÷ median(denominator) and its 95 % bootstrap interval, the two
    samples (per-repetition values) resampled independently."""
    a, b = np.asarray(numerator, dtype=float), np.asarray(denominator, dtype=float)
    if a.size == 0 or b.size == 0:
        raise ValueError("a ratio needs at least one value on each side")
    point = float(np.median(a) / np.median(b))
    rng = np.random.default_rng(seed)
    ratios = np.median(rng.choice(a, (draws, a.size)), axis=1) / np.median(rng.choice(b, (draws, b.size)), axis=1)
    low, high = np.percentile(ratios, [2.5, 97.5])
    return point, float(low), float(high)


def outcome(low: float, high: float, threshold: float, above: bool = True) -> str:
    """One comparison: holds or fails only when the interval [low, high] excludes the threshold."""
    if low > threshold:
        return HOLDS if above else FAILS
    if high < threshold:
        return FAILS if above else HOLDS
    return UNDECIDED


def verdict(outcomes) -> str:
    """A claim from its deciding comparisons: holds if all hold, fails if all fail, else depends."""
    outcomes = list(outcomes)
    if not outcomes:
        return NOT_MEASURED
    if all(o == HOLDS for o in outcomes):
        return HOLDS
    if all(o == FAILS for o in outcomes):
        return FAILS
    return DEPENDS


# -- the claims -------------------------------------------------------------------------------------

J, T = "jax", "torch"
MC, EC, RN = "matmul_chain", "elementwise_chain", "resnet_step"


def _fusion(quick: bool):
    sizes = (16, 256) if quick else (16, 64, 256, 1024)
    out = [
        Comparison(
            f"{MC} value, d={d}: torch eager ÷ jax jit",
            side((MC, "value", T, "eager", f"d={d}")),
            side((MC, "value", J, "jit", f"d={d}")),
            x=d,
        )
        for d in sizes
    ]
    out.append(
        Comparison(
            f"{EC} value, n=1e5: torch eager ÷ jax jit",
            side((EC, "value", T, "eager", "bench")),
            side((EC, "value", J, "jit", "bench")),
        )
    )
    if not quick:
        out.append(
            Comparison(
                f"{EC} value, n=1e5: torch compile ÷ jax jit",
                side((EC, "value", T, "compile", "bench")),
                side((EC, "value", J, "jit", "bench")),
            )
        )
        for problem in ("rosenbrock", "logistic_regression", "lennard_jones", "nbody", "lotka_volterra"):
            out.append(
                Comparison(
                    f"{problem} grad: torch best ÷ jax best",
                    side(*((problem, "grad", T, m, "bench") for m in ("eager", "compile"))),
                    side(*((problem, "grad", J, m, "bench") for m in ("jit", "eager"))),
                )
            )
    return tuple(out)


def _resnet(quick: bool):
    batches = (2, 8) if quick else (4, 16, 64)
    out = []
    for b in batches:
        out.append(
            Comparison(
                f"B={b}: torch eager ÷ jax jit (time per step)",
                side((RN, "train", T, "eager", f"B={b}")),
                side((RN, "train", J, "jit", f"B={b}")),
                x=b,
            )
        )
        if not quick:
            out.append(
                Comparison(
                    f"B={b}: torch eager ÷ torch compile",
                    side((RN, "train", T, "eager", f"B={b}")),
                    side((RN, "train", T, "compile", f"B={b}")),
                    decides=False,
                    x=b,
                )
            )
    return tuple(out)


def _vmap_loop(quick: bool, sizes=None):
    sizes = sizes or ((4, 64) if quick else (2, 8, 32, 128))
    out = []
    for n in sizes:
        out.append(
            Comparison(
                f"jax, n={n}: loop of jitted grad (eager) ÷ jit(vmap(grad))",
                side((MC, "per_sample_grad_loop", J, "eager", f"n={n}")),
                side((MC, "per_sample_grad", J, "jit", f"n={n}")),
                x=n,
                decides=n == sizes[-1],
            )
        )
        out.append(
            Comparison(
                f"torch, n={n}: loop of grad ÷ vmap(grad) (eager)",
                side((MC, "per_sample_grad_loop", T, "eager", f"n={n}")),
                side((MC, "per_sample_grad", T, "eager", f"n={n}")),
                x=n,
                decides=n == sizes[-1],
            )
        )
    return tuple(out)


def _jit_pays(quick: bool):
    cases = [(EC, "grad", "bench"), (MC, "grad", "d=256")] + ([] if quick else [(RN, "value", "bench")])
    out = []
    for problem, transform, size in cases:
        for fw, eager, compiled in ((J, "eager", "jit"), (T, "eager", "compile")):
            out.append(
                Comparison(
                    f"{problem} {transform} {size}: {fw} {eager} ÷ {compiled} (per call)",
                    side((problem, transform, fw, eager, size)),
                    side((problem, transform, fw, compiled, size)),
                )
            )
    return tuple(out)


def _memory(quick: bool):
    sizes = (16, 256) if quick else (16, 64, 256, 1024)
    out = [
        Comparison(
            f"{MC} grad, d={d}: torch eager ÷ jax jit (peak bytes)",
            side((MC, "grad", T, "eager", f"d={d}")),
            side((MC, "grad", J, "jit", f"d={d}")),
            metric="peak_mem_bytes",
            x=d,
        )
        for d in sizes
    ]
    out.append(
        Comparison(
            f"{EC} grad, n=1e5: torch eager ÷ jax jit (peak bytes)",
            side((EC, "grad", T, "eager", "bench")),
            side((EC, "grad", J, "jit", "bench")),
            metric="peak_mem_bytes",
        )
    )
    return tuple(out)


def _fwd_rev(quick: bool):
    sizes = (2, 16, 128) if quick else (1, 4, 16, 64, 256)
    out = []
    for fw, mode in ((J, "jit"), (T, "eager")):
        for n in sizes:
            # Reverse mode should win with few outputs (n small), forward mode with many.
            small = n == sizes[0]
            out.append(
                Comparison(
                    f"{fw} {mode}, n={n} ({n * 16} outputs, 768 inputs): jacfwd ÷ jacrev",
                    side((MC, "jacfwd", fw, mode, f"n={n}")),
                    side((MC, "jacrev", fw, mode, f"n={n}")),
                    above=small,
                    decides=n in (sizes[0], sizes[-1]),
                    x=n * 16,
                )
            )
    return tuple(out)


def _per_sample(quick: bool):
    out = []
    for fw, loop_mode, mode in ((J, "eager", "jit"), (T, "eager", "eager")):
        out.append(
            Comparison(
                f"{fw}: loop ÷ vmap(grad), n=64",
                side((MC, "per_sample_grad_loop", fw, loop_mode, "n=64")),
                side((MC, "per_sample_grad", fw, mode, "n=64")),
            )
        )
        out.append(
            Comparison(
                f"{fw}: batched-autograd trick ÷ vmap(grad), n=64",
                side((MC, "per_sample_grad_trick", fw, mode, "n=64")),
                side((MC, "per_sample_grad", fw, mode, "n=64")),
            )
        )
    return tuple(out)


def _hvp(quick: bool):
    out = []
    for fw, mode in ((J, "jit"), (T, "eager")):
        out.append(
            Comparison(
                f"{EC} n=1e5, {fw} {mode}: reverse-over-reverse ÷ forward-over-reverse",
                side((EC, "hvp_rev_rev", fw, mode, "bench")),
                side((EC, "hvp_fwd_rev", fw, mode, "bench")),
            )
        )
    return tuple(out)


def _control_flow(quick: bool):
    sizes = (4, 32) if quick else (1, 4, 16, 64)
    out = []
    for steps in sizes:
        last = steps == sizes[-1]
        out.append(
            Comparison(
                f"steps={steps}: jax first call, Python loop ÷ fori_loop (compile)",
                side((EC, "grad", J, "jit", f"steps={steps}")),
                side((EC, "grad_scan", J, "jit", f"steps={steps}")),
                metric="first_call_s",
                decides=last,
                x=steps,
            )
        )
        if not quick:
            out.append(
                Comparison(
                    f"steps={steps}: torch first call, compile ÷ eager",
                    side((EC, "grad", T, "compile", f"steps={steps}")),
                    side((EC, "grad", T, "eager", f"steps={steps}")),
                    metric="first_call_s",
                    decides=last,
                    x=steps,
                )
            )
    return tuple(out)


CLAIMS: tuple[Claim, ...] = (
    Claim(
        1,
        "XLA's operator fusion makes JAX 2–5× faster than PyTorch",
        "torch time ÷ JAX time per call (value; eager torch against jitted JAX, and best against best)",
        2.0,
        "holds where the ratio's interval lies above 2 (the low end of 2–5×), fails where it lies below; "
        "every comparison decides",
        comparisons=_fusion(False),
        quick_comparisons=_fusion(True),
        x_label="matrix side d",
    ),
    Claim(
        2,
        "ResNet training throughput: JAX 130 % of PyTorch's (torch.compile 120 %), more so at small batch",
        "torch eager time ÷ JAX jit time per training call (3 SGD steps) = JAX's throughput relative to eager PyTorch",
        1.3,
        "holds where JAX's relative throughput's interval lies above 1.3, fails below; each batch size decides "
        "(torch.compile's ratio is shown, not deciding)",
        comparisons=_resnet(False),
        quick_comparisons=_resnet(True),
        x_label="batch size B",
        figure="images_per_s",
    ),
    Claim(
        3,
        "vmap beats a Python loop",
        "loop time ÷ vmap time (per-sample gradients of matmul_chain, n samples)",
        1.0,
        "holds where the loop's time over vmap's lies above 1 at the largest batch, in each framework; the "
        "smaller batches locate the crossover and do not decide",
        comparisons=_vmap_loop(False),
        quick_comparisons=_vmap_loop(True),
        x_label="batch size n",
        figure="crossover",
    ),
    Claim(
        4,
        "JIT compilation has a cost that pays off",
        "eager time ÷ compiled time per call (above 1: compiling saves per call, and pays off after "
        "(compiled first call − eager first call) ÷ saving calls)",
        1.0,
        "holds where the per-call saving is real (interval above 1), fails where the compiled call is slower; "
        "the break-even call count is the figure",
        comparisons=_jit_pays(False),
        quick_comparisons=_jit_pays(True),
        figure="break_even",
    ),
    Claim(
        5,
        "JAX uses memory more efficiently than PyTorch's dynamic graph",
        "torch peak ÷ JAX peak, steady-state peak memory of one gradient call (floored at 64 KiB, the CPU meter's noise)",
        1.0,
        "holds where torch's peak over JAX's lies above 1, fails below; every size decides",
        comparisons=_memory(False),
        quick_comparisons=_memory(True),
        x_label="matrix side d",
    ),
    Claim(
        6,
        "Reverse mode wins for few outputs, forward mode for many; the crossover sits at inputs ≈ outputs × c",
        "jacfwd time ÷ jacrev time for matmul_chain's map (768 inputs, 16·n outputs)",
        1.0,
        "holds when jacrev wins at the fewest outputs (ratio above 1) and jacfwd at the most (below 1) in both "
        "frameworks; the crossover's output count, against 768 ÷ c, is the figure",
        comparisons=_fwd_rev(False),
        quick_comparisons=_fwd_rev(True),
        x_label="outputs (16·n)",
        figure="crossover",
    ),
    Claim(
        7,
        "Per-sample gradients: vmap(grad) beats a loop and the batched-autograd trick",
        "loop (or trick) time ÷ vmap(grad) time, matmul_chain, 64 samples",
        1.0,
        "holds where each alternative's time over vmap's lies above 1, in each framework",
        comparisons=_per_sample(False),
    ),
    Claim(
        8,
        "Hessian-vector products: forward-over-reverse beats reverse-over-reverse",
        "reverse-over-reverse time ÷ forward-over-reverse time",
        1.0,
        "holds where the interval lies above 1, in each framework",
        comparisons=_hvp(False),
    ),
    Claim(
        9,
        "Explicit PRNG keys are reproducible; a global generator is not",
        "bitwise equality (SHA-256 of the float64 samples) of K HMC chains' samples under a perturbation against the "
        "same scheme's base run (`sciad.sampling`)",
        1.0,
        "a check, not a timing: JAX keys hold where their samples are bitwise identical to the base run under each "
        "perturbation (a rerun in another process, another component drawing first, the chains in two vmap batches, "
        "4 devices, 1 thread); the global generator holds where its samples differ under it; every such check decides "
        "(a seeded torch.Generator is shown, not deciding; a check this host cannot run is shown as not measured)",
        determinism=True,
    ),
    Claim(
        10,
        "Python control flow is free in define-by-run PyTorch; JAX needs lax control flow",
        "first-call (trace + compile + run) time of a Python loop under jax.jit ÷ that of lax.fori_loop, "
        "elementwise_chain's gradient",
        2.0,
        "holds where unrolling the longest loop costs at least 2× fori_loop's compile (interval above 2); "
        "torch.compile's first call against eager's is shown in the full run",
        comparisons=_control_flow(False),
        quick_comparisons=_control_flow(True),
        x_label="loop length (steps)",
    ),
)

NUMBERS = tuple(c.number for c in CLAIMS)


def get(number: int) -> Claim:
    for claim in CLAIMS:
        if claim.number == number:
            return claim
    raise SciadError(f"there is no claim {number}; claims are numbered {NUMBERS[0]} to {NUMBERS[-1]} (see `sciad claims --list`)")


def cases_for(claims, quick: bool):
    """The harness's cases, each once, in the order the claims first need them."""
    from .bench.cases import Case

    keys = {}
    for claim in claims:
        for comparison in claim.selected(quick):
            for s in (comparison.numerator, comparison.denominator):
                for key in s.case_keys():
                    keys.setdefault(key, None)
    return [Case(*key) for key in keys]


# -- measuring --------------------------------------------------------------------------------------

# probe_reps: the repetitions that also run claim 9's sampling probes (None: all); two separate runs are what
# "across runs" needs, and a quick run has no time for more: its second runs only the probes' base runs.
QUICK = {"reps": 3, "min_runs": 3, "max_runs": 100, "min_time": 0.03, "timeout": 120.0, "probe_reps": 2}
FULL = {"reps": 5, "min_runs": 5, "max_runs": 2000, "min_time": 0.2, "timeout": 300.0, "probe_reps": None}


def measure(claims, out: pathlib.Path, *, quick: bool, reps: int, resume: bool, console, threads: int) -> list[pathlib.Path]:
    """Run every repetition's cases through the harness (and claim 9's sampling probes, in their own
    subprocesses, into the same file); the results files, one per repetition."""
    from .bench import runner

    settings = QUICK if quick else FULL
    cases = cases_for(claims, quick)
    probes = any(c.determinism for c in claims)
    files = [out / "results" / f"rep{k + 1}.jsonl" for k in range(reps)]
    if not resume:
        for file in files:
            if file.exists():
                raise SciadError(f"{file} exists; pass --resume to complete it, or choose another --out")
    options = {k: settings[k] for k in ("min_runs", "max_runs", "min_time")}
    options.update(suite="claims-quick" if quick else "claims", sweep=False)
    recorded = {"threads": threads, **{k: settings[k] for k in ("min_runs", "max_runs", "min_time", "timeout")}}
    for k, file in enumerate(files):
        if cases:
            runner.run(
                cases,
                file,
                threads=threads,
                options=options,
                timeout=settings["timeout"],
                console=console,
                resume=resume,
                header=f"claims: repetition {k + 1} of {reps}, {len(cases)} cases → {file}",
            )
        if probes and (settings["probe_reps"] is None or k < settings["probe_reps"]):
            from . import sampling

            sampling.run(file, threads=threads, settings=recorded, options=options, console=console, rerun_only=quick and k > 0)
    return [file for file in files if file.exists()]  # claim 9 alone in a quick run writes only its probe_reps


def load(files) -> tuple[list[dict[tuple, dict]], list[dict]]:
    """Per repetition, the latest record of each case by key; and the environment records."""
    from .bench import results

    reps, environments = [], []
    for file in files:
        records = results.read(file)
        environments += results.environments(records)
        reps.append({results.case_key(r): r for r in results.latest(records)})
    return reps, environments


def _side_values(reps, s: Side, metric: str) -> list[float]:
    values = []
    for rep in reps:
        found = [rep.get(key) for key in s.case_keys()]
        found = [r[metric] for r in found if r and r.get("status") == "ok" and r.get(metric) is not None]
        if found:
            value = float(min(found))
            values.append(max(value, MEMORY_FLOOR) if metric == "peak_mem_bytes" else value)
    return values


@dataclasses.dataclass
class Measured:
    comparison: Comparison
    point: float | None
    low: float | None
    high: float | None
    outcome: str
    reps: int
    why: str = ""


def assess(claim: Claim, reps, quick: bool) -> tuple[str, list]:
    if claim.determinism:
        return assess_determinism(reps)
    measured = []
    for comparison in claim.selected(quick):
        num = _side_values(reps, comparison.numerator, comparison.metric)
        den = _side_values(reps, comparison.denominator, comparison.metric)
        if not num or not den:
            statuses = sorted(
                {
                    str(rep.get(key, {}).get("status", "missing"))
                    for rep in reps
                    for s in (comparison.numerator, comparison.denominator)
                    for key in s.case_keys()
                }
                - {"ok"}
            )
            measured.append(Measured(comparison, None, None, None, UNDECIDED, 0, why=", ".join(statuses) or "missing"))
            continue
        point, low, high = bootstrap_ratio(num, den)
        result = outcome(low, high, claim.threshold, comparison.above)
        measured.append(Measured(comparison, point, low, high, result, min(len(num), len(den))))
    if claim.not_measured:
        return NOT_MEASURED, measured
    return verdict(m.outcome for m in measured if m.comparison.decides), measured


@dataclasses.dataclass
class Checked:
    """One of claim 9's checks: a scheme's samples under a perturbation against its base run, bitwise."""

    scheme: str
    perturbation: str
    identical: bool | None  # the samples; None: not measured, or not every run has its record
    outcome: str
    runs: int
    decides: bool
    why: str = ""  # a check not decided: the statuses; one that differs: by how much
    draws_identical: bool | None = None  # the momenta and uniforms drawn: a different stream, or only roundoff?

    @property
    def label(self) -> str:
        from . import sampling

        return f"{sampling.SCHEME_NAMES[self.scheme]}: {self.perturbation}"


def check_determinism(scheme: str, perturbation: str, reps) -> Checked:
    """Whether `scheme`'s samples under `perturbation` are bitwise those of its base run, in every repetition
    (each a separate process); a rerun compares the base runs of the repetitions with each other."""
    from . import sampling

    base_key, key = sampling.case_key(scheme, sampling.BASE), sampling.case_key(scheme, perturbation)
    decides = scheme in sampling.DECIDING
    base = [rep[base_key] for rep in reps if base_key in rep]
    other = [rep[key] for rep in reps if key in rep]
    unsupported = [r for r in other if r.get("status") == "unsupported"]
    if unsupported:
        return Checked(scheme, perturbation, None, NOT_MEASURED, 0, False, why=unsupported[0].get("error") or "unsupported")
    found = base + other
    failed = sorted({f"{r.get('status')}: {r.get('error')}" for r in found if r.get("status") != "ok"})
    runs = len(base) if perturbation == sampling.RERUN else min(len(base), len(other))
    if failed or not base or not other or (perturbation == sampling.RERUN and runs < 2):
        why = "; ".join(failed) or ("one run: a rerun needs two" if base else "no record")
        return Checked(scheme, perturbation, None, UNDECIDED, runs, decides, why=why)
    identical = len({r["digest"] for r in found}) == 1
    draws = {r.get("draws_digest") for r in found}
    draws_identical = None if None in draws else len(draws) == 1
    why = ""
    if not identical:
        values = np.array([r["last_first_coordinate"] for r in found], dtype=float)
        why = f"final x₀ of the chains differs by up to {np.max(np.abs(values - values[0])):.3g}"
    result = HOLDS if identical == sampling.EXPECTED[scheme] else FAILS
    return Checked(scheme, perturbation, identical, result, runs, decides, why=why, draws_identical=draws_identical)


def assess_determinism(reps) -> tuple[str, list[Checked]]:
    from . import sampling

    checked = [check_determinism(s, p, reps) for s in sampling.SCHEMES for p in sampling.PERTURBATIONS]
    if not any(c.runs for c in checked):
        return NOT_MEASURED, checked
    return verdict(c.outcome for c in checked if c.decides), checked


def _determinism_figure(checked: list[Checked]) -> str:
    """Per scheme, the perturbations its samples survive bitwise and those they do not (and whether its draws did)."""
    from . import sampling

    parts = []
    for scheme in sampling.SCHEMES:
        mine = [c for c in checked if c.scheme == scheme]
        same = [c.perturbation for c in mine if c.identical is True]
        differ = [c for c in mine if c.identical is False]
        text = [f"identical under {', '.join(same)}"] if same else []
        roundoff = [c.perturbation for c in differ if c.draws_identical]
        stream = [c.perturbation for c in differ if not c.draws_identical]
        if stream:
            text.append(f"differ under {', '.join(stream)}")
        if roundoff:
            text.append(f"differ in roundoff only (the same draws) under {', '.join(roundoff)}")
        if text:
            parts.append(f"{sampling.SCHEME_NAMES[scheme]}: {'; '.join(text)}")
    return ". ".join(parts)


def plot_determinism(claim: Claim, checked: list[Checked], path: pathlib.Path) -> bool:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.colors import to_rgba

    from . import sampling

    if not any(c.runs for c in checked):
        return False
    schemes, perturbations = list(sampling.SCHEMES), list(sampling.PERTURBATIONS)
    colours = {HOLDS: "tab:green", FAILS: "tab:red", UNDECIDED: "tab:gray", NOT_MEASURED: "white"}
    fig, ax = plt.subplots(figsize=(10, 3.4))
    for c in checked:
        x, y = perturbations.index(c.perturbation), schemes.index(c.scheme)
        colour = to_rgba(colours[c.outcome], 0.85 if c.decides else 0.35)
        ax.add_patch(plt.Rectangle((x - 0.48, y - 0.45), 0.96, 0.9, facecolor=colour, edgecolor="black", linewidth=0.5))
        unknown = "not measured" if c.outcome == NOT_MEASURED else "undecided"
        word = {True: "identical", False: "differ", None: unknown}[c.identical]
        draws = {True: "\ndraws identical", False: "\ndraws differ", None: ""}[c.draws_identical]
        runs = f"\n{c.runs} runs" if c.runs else ""
        ax.text(x, y, ("samples " if c.identical is not None else "") + word + draws + runs, ha="center", va="center", fontsize=7)
    ax.set_xlim(-0.5, len(perturbations) - 0.5)
    ax.set_ylim(len(schemes) - 0.5, -0.5)
    ax.set_xticks(range(len(perturbations)), perturbations, fontsize=8)
    labels = [sampling.SCHEME_NAMES[s] + ("" if s in sampling.DECIDING else "\n(not deciding)") for s in schemes]
    ax.set_yticks(range(len(schemes)), labels, fontsize=8)
    ax.set_xlabel(
        "perturbation against the scheme's base run (bitwise, SHA-256 of the samples); green: as the claim says, red: against it",
        fontsize=8,
    )
    ax.set_title(textwrap.fill(f"claim {claim.number}: {claim.text}", 90), fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


# -- figures ---------------------------------------------------------------------------------------


def _median_metric(reps, key, metric):
    values = [rep[key][metric] for rep in reps if key in rep and rep[key].get("status") == "ok" and rep[key].get(metric)]
    return statistics.median(values) if values else None


def _crossover(measured: list[Measured]) -> str:
    """Per framework, where the ratio crosses 1 along the sweep (log-linear interpolation)."""
    parts = []
    groups: dict[str, list[Measured]] = {}
    for m in measured:
        if m.point is not None and m.comparison.x is not None:
            groups.setdefault(m.comparison.label.split(",")[0].split(":")[0], []).append(m)
    for name, items in groups.items():
        items.sort(key=lambda m: m.comparison.x)
        found = None
        for a, b in zip(items, items[1:]):
            if (a.point - 1) * (b.point - 1) <= 0 and a.point != b.point:
                t = math.log(a.point) / (math.log(a.point) - math.log(b.point))
                found = math.exp(math.log(a.comparison.x) + t * (math.log(b.comparison.x) - math.log(a.comparison.x)))
                break
        last = items[-1]
        where = f"crosses 1 near {found:.3g}" if found else "does not cross 1 in the sweep"
        parts.append(f"{name}: {where}; {last.point:.2f}× at {last.comparison.x:g}")
    return "; ".join(parts)


def _break_even(measured: list[Measured], reps) -> str:
    parts = []
    for m in measured:
        (eager_key,), (compiled_key,) = m.comparison.numerator.case_keys(), m.comparison.denominator.case_keys()
        first_e, first_c = _median_metric(reps, eager_key, "first_call_s"), _median_metric(reps, compiled_key, "first_call_s")
        call_e, call_c = _median_metric(reps, eager_key, "median_s"), _median_metric(reps, compiled_key, "median_s")
        if None in (first_e, first_c, call_e, call_c):
            continue
        label = m.comparison.label.split(":")[0]
        fw = compiled_key[2]
        if call_e <= call_c:
            parts.append(f"{label} {fw}: never (compiled call not faster)")
        else:
            parts.append(f"{label} {fw}: {max(0.0, first_c - first_e) / (call_e - call_c):.3g} calls")
    return "break-even " + "; ".join(parts) if parts else ""


def _images_per_s(measured: list[Measured], reps) -> str:
    parts = []
    for m in measured:
        for s in (m.comparison.numerator, m.comparison.denominator):
            (key,) = s.case_keys()
            seconds = _median_metric(reps, key, "median_s")
            batch = int(key[4].split("=")[1])
            if seconds:
                parts.append((batch, f"{key[2]} {key[3]}", 3 * batch / seconds))  # 3 SGD steps per call
    seen, text = set(), []
    for batch, who, rate in parts:
        if (batch, who) not in seen:
            seen.add((batch, who))
            text.append(f"B={batch} {who} {rate:.0f} img/s")
    return "; ".join(text)


def figure_text(claim: Claim, measured, reps) -> str:
    if claim.figure == "crossover":
        return _crossover(measured)
    if claim.figure == "break_even":
        return _break_even(measured, reps)
    if claim.figure == "images_per_s":
        return _images_per_s(measured, reps)
    return ""


def deciding_figure(claim: Claim, result: str, measured: list[Measured]) -> str:
    """The comparison that decides the verdict: the weakest of the holding ones, or where it flips."""
    decided = [m for m in measured if m.comparison.decides and m.point is not None]
    if not decided:
        return "no comparison measured"

    def show(m):
        return f"{m.comparison.label}: {m.point:.3g}× [{m.low:.3g}, {m.high:.3g}]"

    if result in (HOLDS, FAILS):
        weakest = min(decided, key=lambda m: abs(math.log(m.point / claim.threshold)))
        return show(weakest)
    by = {}
    for m in decided:
        by.setdefault(m.outcome, []).append(m)
    return "; ".join(f"{o} at {show(ms[0])}" + (f" (+{len(ms) - 1} more)" if len(ms) > 1 else "") for o, ms in by.items())


def plot(claim: Claim, measured: list[Measured], path: pathlib.Path) -> bool:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    shown = [m for m in measured if m.point is not None]
    if not shown:
        return False
    fig, ax = plt.subplots(figsize=(10, 0.45 * len(shown) + 1.9))
    ys = np.arange(len(shown))
    colours = {HOLDS: "tab:green", FAILS: "tab:red", UNDECIDED: "tab:gray"}
    for y, m in zip(ys, shown):
        ax.errorbar(
            m.point,
            y,
            xerr=[[m.point - m.low], [m.high - m.point]],
            fmt="o" if m.comparison.decides else "s",
            color=colours[m.outcome],
            capsize=3,
            mfc=None if m.comparison.decides else "white",
        )
    ax.axvline(claim.threshold, color="black", linestyle="--", linewidth=1)
    ax.set_yticks(ys, [m.comparison.label for m in shown], fontsize=7)
    ax.set_xscale("log")
    ax.set_xlabel(f"ratio (threshold {claim.threshold:g}; 95 % bootstrap interval; hollow: not deciding)", fontsize=8)
    ax.set_title(textwrap.fill(f"claim {claim.number}: {claim.text}", 90), fontsize=9)
    ax.invert_yaxis()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


# -- the report ------------------------------------------------------------------------------------


def _conditions(claim: Claim, quick: bool, environments, reps_count: int) -> str:
    sizes = sorted({key[4] for m in claim.selected(quick) for s in (m.numerator, m.denominator) for key in s.case_keys()})
    modes = sorted(
        {f"{key[2]} {key[3]}" for m in claim.selected(quick) for s in (m.numerator, m.denominator) for key in s.case_keys()}
    )
    return f"{DTYPE}; sizes {', '.join(sizes)}; {', '.join(modes)}; {reps_count} reps"


def _determinism_report(claim: Claim, result: str, checked: list[Checked], out: pathlib.Path, reps):
    """Claim 9's row of the table and its section: checks, not ratios."""
    from . import sampling

    png = f"claim{claim.number}.png"
    has_plot = plot_determinism(claim, checked, out / png)
    runs = max((c.runs for c in checked), default=0)
    if result == NOT_MEASURED:
        figure, conditions = "not measured: no sampling probe's record in the results", "—"
    else:
        figure = _determinism_figure(checked)
        # JAX's random bits are the same however the keys are sharded only with this flag on (its default since 0.5).
        partitionable = sorted(
            {str(r["jax_threefry_partitionable"]) for rep in reps for r in rep.values() if "jax_threefry_partitionable" in r}
        )
        conditions = (
            f"float64; hmc {sampling.SIZE} posterior, K={sampling.CHAINS} chains × S={sampling.TRANSITIONS} transitions, "
            f"seed {sampling.SEED}; jax jit (jax_threefry_partitionable {'/'.join(partitionable) or '?'}), torch eager; "
            f"{runs} runs (separate processes)"
        )
    link = f"[plot]({png})" if has_plot else "—"
    row = f"| {claim.number} | {claim.text} | **{result}** | {figure} | {conditions} | {link} |"
    lines = [
        f"### Claim {claim.number}: {claim.text}",
        "",
        f"- Measure: {claim.ratio}.",
        f"- Rule (written before measuring): {claim.rule}.",
        f"- Verdict: **{result}**.",
        "",
        "| scheme: perturbation | samples | draws | runs | outcome | decides | note |",
        "|---|---|---|---:|---|---|---|",
    ]
    word = {True: "identical", False: "differ", None: "—"}
    for c in checked:
        lines.append(
            f"| {c.label} | {word[c.identical]} | {word[c.draws_identical]} | {c.runs} | {c.outcome} "
            f"| {'yes' if c.decides else 'no'} | {c.why} |"
        )
    lines.append("")
    if has_plot:
        lines += [f"![claim {claim.number}]({png})", ""]
    return row, lines


def write_report(claims, files, out: pathlib.Path, *, quick: bool, load_average, loaded: bool = False) -> pathlib.Path:
    reps, environments = load(files)
    env = environments[-1] if environments else {}
    versions = env.get("versions", {})
    device = ", ".join(env.get("gpus") or []) or env.get("cpu", "cpu")
    rows, details, verdicts = [], [], {}
    for claim in claims:
        result, measured = assess(claim, reps, quick)
        verdicts[claim.number] = result
        if claim.determinism:
            row, lines = _determinism_report(claim, result, measured, out, reps)
            rows.append(row)
            details.append("\n".join(lines))
            continue
        extra = figure_text(claim, measured, reps) if measured else ""
        png = f"claim{claim.number}.png"
        has_plot = plot(claim, measured, out / png) if measured else False
        if claim.not_measured:
            figure = f"not measured: {claim.not_measured}"
        else:
            figure = deciding_figure(claim, result, measured) + (f". {extra}" if extra else "")
        link = f"[plot]({png})" if has_plot else "—"
        conditions = _conditions(claim, quick, environments, len(files)) if measured else "—"
        rows.append(f"| {claim.number} | {claim.text} | **{result}** | {figure} | {conditions} | {link} |")
        lines = [
            f"### Claim {claim.number}: {claim.text}",
            "",
            f"- Ratio: {claim.ratio}.",
            f"- Threshold {claim.threshold:g}. Rule (written before measuring): {claim.rule}.",
            f"- Verdict: **{result}**." + (f" {extra}." if extra else ""),
            "",
        ]
        if measured:
            lines += ["| comparison | ratio | 95 % interval | reps | outcome | decides |", "|---|---:|---|---:|---|---|"]
            for m in measured:
                decides = "yes" if m.comparison.decides else "no"
                if m.point is None:
                    lines.append(f"| {m.comparison.label} | — | — | 0 | {m.outcome} ({m.why}) | {decides} |")
                else:
                    lines.append(
                        f"| {m.comparison.label} | {m.point:.3g} | [{m.low:.3g}, {m.high:.3g}] | {m.reps} | {m.outcome} "
                        f"| {decides} |"
                    )
            lines.append("")
        if has_plot:
            lines += [f"![claim {claim.number}]({png})", ""]
        details.append("\n".join(lines))
    shown = ("jax", "jaxlib", "torch", "equinox", "optax", "numpy")
    version_text = ", ".join(f"{k} {v}" for k, v in versions.items() if k in shown)
    head = [
        "# The usual claims about JAX and PyTorch, measured",
        "",
        f"Run: `sciad claims{' --quick' if quick else ''}` on {device} ({env.get('cpu_count', '?')} cores, "
        f"{env.get('threads', '?')} threads per framework), {env.get('platform', '')}; {version_text}; "
        f"git {env.get('git_commit', '?')}. Load average when the run started: {load_average}.",
        "",
        *(
            [
                "**The host was loaded** (1-minute load average above its core count): other work competed for the "
                "cores, and torch's OpenMP threads spin while they wait for each other, which made torch eager calls "
                "10× to over 1000× slower on this project's shared 2-core host (benchmarks/README.md). Read no timing below as "
                "the frameworks'; rerun on a quiet host, or with --threads 1.",
                "",
            ]
            if loaded
            else []
        ),
        "Each case ran in the benchmark harness (`sciad bench`'s workers and JSON Lines records, in `results/`), "
        f"{len(files)} times, interleaved (repetition k ran every case before k + 1 started). A ratio's interval is "
        "a 95 % bootstrap over the repetitions' medians; a comparison is decided only when it excludes the "
        "threshold, and a claim holds (or fails) only when every deciding comparison does; otherwise it depends. "
        "Claim 9 is a check, not a timing: bitwise equality of sampled results, from sampling probes in their own "
        "subprocesses (`sciad.sampling`), recorded in the same files.",
        "",
        "| # | claim | verdict | deciding figure | conditions | plot |",
        "|---|---|---|---|---|---|",
        *rows,
        "",
        "## Per claim: the rule, every comparison",
        "",
        "",
    ]
    path = out / "claims.md"
    path.write_text("\n".join(head) + "\n\n".join(details) + "\n")
    (out / "verdicts.json").write_text(json.dumps({str(k): v for k, v in verdicts.items()}, indent=1) + "\n")
    return path


# -- the command -----------------------------------------------------------------------------------


def add_command(sub) -> None:
    claims = sub.add_parser(
        "claims",
        help="measure the usual JAX-vs-PyTorch claims into verdicts (claims.md, plots, results)",
        description="Runs the cases each claim needs through the benchmark harness, several interleaved "
        "repetitions, and writes DIR/claims.md: per claim its verdict (holds, fails, depends), the figure that "
        "decides it, its conditions and a plot.",
    )
    claims.add_argument("--claim", type=int, action="append", metavar="N", help="only claim N (repeatable; default all)")
    claims.add_argument("--quick", action="store_true", help="fewer sizes and shorter timings: about 5 minutes on a 2-core CPU")
    claims.add_argument("--out", default="claims-results", metavar="DIR", help="directory for claims.md, plots and results")
    claims.add_argument("--resume", action="store_true", help="complete the results already in DIR instead of refusing")
    claims.add_argument("--reps", type=int, default=None, metavar="N", help="interleaved repetitions (default 3 quick, 5 full)")
    claims.add_argument(
        "--threads",
        type=int,
        default=None,
        metavar="N",
        help="threads per framework (default: every core this process may use); on a shared, loaded host 1 keeps "
        "torch's OpenMP threads from spinning against other work (benchmarks/README.md)",
    )
    claims.add_argument("--list", action="store_true", help="print the claims and their rules, run nothing")
    claims.set_defaults(run=cmd_claims)


def cmd_claims(options) -> int:
    from .console import console as _console

    console = _console()
    numbers = options.claim or list(NUMBERS)
    for n in numbers:
        get(n)
    if len(set(numbers)) != len(numbers):
        raise SciadError("--claim names a claim more than once; give each number once")
    chosen = [get(n) for n in sorted(numbers)]
    if options.list:
        for claim in chosen:
            rule = (
                f"measure: {claim.ratio}; {claim.rule}"
                if claim.determinism
                else f"ratio: {claim.ratio}; threshold {claim.threshold:g}; {claim.rule}"
            )
            console.print(f"{claim.number}. {claim.text}\n   {rule}", markup=False)
        return 0
    reps = options.reps if options.reps is not None else (QUICK if options.quick else FULL)["reps"]
    if reps < 2:
        raise SciadError(f"--reps {reps} is not accepted; an interval needs at least 2 repetitions")
    out = pathlib.Path(options.out)
    if out.exists() and not out.is_dir():
        raise SciadError(f"--out {out} is a file; it names the directory for claims.md, its plots and results")
    cores = len(os.sched_getaffinity(0))
    threads = cores if options.threads is None else options.threads
    if not 1 <= threads <= cores:
        raise SciadError(f"--threads {threads} is not accepted; this process may use 1 to {cores} cores")
    load = os.getloadavg()
    load_average = ", ".join(f"{x:.1f}" for x in load)
    if load[0] > cores:
        console.print(
            f"warning: load average {load[0]:.1f} on {cores} cores: other work competes for them, and torch's OpenMP "
            f"threads ({threads} per worker) spin while they wait; timings will not be the frameworks' "
            "(benchmarks/README.md)",
            markup=False,
            soft_wrap=True,
        )
    measured = [c for c in chosen if not c.not_measured]
    files = []
    if measured:
        files = measure(
            measured,
            out,
            quick=options.quick,
            reps=reps,
            resume=options.resume,
            console=console,
            threads=threads,
        )
    else:
        out.mkdir(parents=True, exist_ok=True)
    path = write_report(chosen, files, out, quick=options.quick, load_average=load_average, loaded=load[0] > cores)
    verdicts = json.loads((out / "verdicts.json").read_text())
    for claim in chosen:
        console.print(f"claim {claim.number}: {verdicts[str(claim.number)]} — {claim.text}", markup=False)
    console.print(f"written to {path}", markup=False)
    return 0
