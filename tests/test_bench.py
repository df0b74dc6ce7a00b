"""The benchmark harness on tiny sizes: record schema, resume after a kill, error and invalid records,
bad options. (Speed targets are read off benchmark results, never asserted in unit tests.)"""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import time

import pytest

import problems
from sciad import checks, registry, transforms
from sciad.bench import cases as cases_module
from sciad.bench import report, results, worker
from sciad.bench.cases import Case
from sciad.errors import SciadError
from sciad.spec import Baseline, Reference

TINY = ["--size", "small", "--dtype", "float64", "--device", "cpu", "--min-runs", "2", "--min-time", "0"]


def sciad(*argv, **kwargs):
    return subprocess.run([sys.executable, "-m", "sciad.cli", *argv], capture_output=True, text=True, **kwargs)


def test_results_have_an_environment_record_then_one_record_per_case(tmp_path):
    out = tmp_path / "r.jsonl"
    result = sciad(
        "bench",
        "--problem",
        "rosenbrock",
        "--transform",
        "value",
        "--transform",
        "grad",
        "--framework",
        "jax",
        "--mode",
        "jit",
        *TINY,
        "--out",
        str(out),
    )
    assert result.returncode == 0, result.stderr
    records = results.read(out)
    assert records[0]["kind"] == "environment"
    assert {"versions", "cpu", "threads", "precision", "git_commit", "command"} <= set(records[0])
    cases = results.cases(records)
    assert [(r["transform"], r["status"]) for r in cases] == [("value", "ok"), ("grad", "ok")]
    for record in cases:
        assert set(results.CASE_FIELDS) <= set(record)
        assert record["runs"] >= 2 and 0 < record["min_s"] <= record["median_s"]
        assert record["check_error"] <= record["check_tolerance"]
        assert record["compilations"] == 1  # no retracing in steady state
    assert "median time per call" in result.stdout


def test_resume_after_a_kill_keeps_finished_cases_and_runs_only_the_rest(tmp_path):
    out = tmp_path / "r.jsonl"
    argv = [
        "bench",
        "--problem",
        "rosenbrock",
        "--problem",
        "logistic_regression",
        "--framework",
        "torch",
        "--mode",
        "eager",
        *TINY,
        "--out",
        str(out),
    ]
    process = subprocess.Popen(
        [sys.executable, "-m", "sciad.cli", *argv], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    deadline = time.time() + 240
    while time.time() < deadline and (not out.exists() or len(results.cases(results.read(out))) < 2):
        time.sleep(0.2)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    before = results.cases(results.read(out))
    assert 2 <= len(before) < 13, "the kill should land mid-run"

    resumed = sciad(*argv, "--resume")
    assert resumed.returncode == 0, resumed.stderr
    after = results.read(out)
    cases = results.cases(after)
    keys = [results.case_key(r) for r in cases]
    assert len(keys) == len(set(keys)) == 13  # 6 rosenbrock + 7 logistic_regression transforms, each once
    assert cases[: len(before)] == before  # nothing already measured is lost or rewritten
    assert len(results.environments(after)) == 2 and results.environments(after)[1]["resumed"]


def test_an_existing_results_file_is_never_overwritten(tmp_path):
    out = tmp_path / "r.jsonl"
    out.write_text('{"kind": "environment"}\n')
    result = sciad("bench", "--problem", "rosenbrock", *TINY, "--out", str(out))
    assert result.returncode == 2
    assert "exists; pass --resume" in result.stderr
    assert out.read_text() == '{"kind": "environment"}\n'


def test_a_case_that_raises_is_recorded_with_its_first_line_and_the_worker_goes_on():
    case = dict(vars(Case("nope", "grad", "jax", "jit", "small", "float64", "cpu")))
    good = dict(vars(Case("rosenbrock", "value", "jax", "jit", "small", "float64", "cpu")))
    options = {"min_runs": 1, "min_time": 0.0, "max_runs": 2}
    stdin = "".join(json.dumps({"case": c, "options": options}) + "\n" for c in (case, good))
    out = subprocess.run(
        [sys.executable, "-m", "sciad.bench.worker", "jax", "1"], input=stdin, capture_output=True, text=True, timeout=300
    ).stdout
    answers = [json.loads(line[len(worker.MARK) :]) for line in out.splitlines() if line.startswith(worker.MARK)]
    assert answers[0]["kind"] == "hello"
    assert answers[1]["status"] == "error"
    assert answers[1]["error"].startswith("SciadError: unknown problem 'nope'")
    assert answers[2]["status"] == "ok"


@pytest.mark.parametrize("framework", ["jax", "torch"])
def test_a_wrong_result_is_recorded_invalid_and_not_timed(monkeypatch, framework):
    spec = problems.get("rosenbrock")
    wrong = Reference(value=lambda y, args: spec.reference.value(y, args) + 1.0)
    monkeypatch.setattr(registry, "get", lambda name: dataclasses.replace(spec, reference=wrong))
    case = vars(Case("rosenbrock", "value", framework, "eager", "small", "float64", "cpu"))
    record = worker.run_case(dict(case), {"min_runs": 1, "min_time": 0.0, "max_runs": 2})
    assert record["status"] == "invalid"
    assert "median_s" not in record
    assert record["check_error"] > record["check_tolerance"]


@pytest.mark.parametrize(
    "argv, message",
    [
        (["bench", "--framework", "mxnet"], "unknown framework 'mxnet'; frameworks are: jax, torch"),
        (["bench", "--problem", "rosenbrock", "--size", "huge"], "unknown size 'huge'"),
        (["bench", "--problem", "rosenbrock", "--mode", "fast"], "unknown mode 'fast'"),
        (["bench", "--problem", "rosenbrock", "--transform", "jvp"], "transform 'jvp' applies to none of the selected problems"),
        (["bench", "--problem", "rosenbrock", "--min-runs", "0"], "--min-runs 0 is not accepted"),
        (["bench", "--suite", "huge"], "unknown suite 'huge'; suites are: quick, full, gpu"),
        (["bench", "--device", "tpu"], "unknown device 'tpu'; devices are: cpu, cuda, auto"),
        (
            ["bench", "--problem", "heat_inverse", "--framework", "scipy"],
            "framework 'scipy' is a benchmark baseline, and none of the selected problems (heat_inverse) has a scipy baseline",
        ),
        (
            ["bench", "--problem", "robertson", "--framework", "scipy", "--dtype", "float32"],
            "no scipy baseline case matches these options; scipy baselines run in float64 on the cpu, for: robertson "
            "value_and_grad_adaptive (radau)",
        ),
        (
            ["bench", "--problem", "robertson", "--mode", "bdf"],
            "unknown mode 'bdf'; modes are: jit, eager, compile, ",
        ),
        (["report", "missing.jsonl", "--out", "x"], "results file missing.jsonl does not exist"),
        (["report"], "the following arguments are required"),
    ],
)
def test_bad_options_exit_2_with_one_sentence(argv, message, tmp_path):
    result = sciad(*argv, cwd=tmp_path)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert not list(tmp_path.glob("bench-results/*"))


def test_report_renders_tables_and_plots(tmp_path):
    out = tmp_path / "r.jsonl"
    assert (
        sciad(
            "bench",
            "--problem",
            "rosenbrock",
            "--transform",
            "value",
            "--transform",
            "grad",
            "--framework",
            "jax",
            *TINY,
            "--out",
            str(out),
        ).returncode
        == 0
    )
    result = sciad("report", str(out), str(out), "--out", str(tmp_path / "report"))
    assert result.returncode == 0, result.stderr
    text = (tmp_path / "report" / "report.md").read_text()
    for heading in ("JAX against torch", "Cheap-gradient ratio", "Median time per call", "Peak memory", "Harness overhead"):
        assert f"## {heading}" in text
    for plot in ("speed_ratio.png", "cheap_gradient.png", "first_call.png", "peak_memory.png"):
        assert (tmp_path / "report" / plot).stat().st_size > 1000
    assert "| rosenbrock | grad | small | float64 |" in text


# -- baselines: an established library's implementation of a transform, timed beside the frameworks ------

BASELINES = [(spec, baseline) for spec in problems.SPECS for baseline in spec.baselines]


@pytest.mark.parametrize("spec, baseline", BASELINES, ids=[f"{s.name}-{b.transform}-{b.library}-{b.mode}" for s, b in BASELINES])
def test_every_baseline_agrees_with_the_reference_of_its_transform(spec, baseline):
    """A baseline is timed as the same computation: it must not be silently wrong (or solve a looser problem)."""
    y, args, extra = sciad_inputs(spec, baseline.transform)
    out = baseline.function(y, args, *extra)
    tolerance = spec.reference_tolerance_for(baseline.transform)["float64"]
    for direction_seed in (7, 8):
        expected, actual = transforms.projected(spec, baseline.transform, y, args, extra, out, seed=direction_seed)
        assert checks.error({"p": expected}, {"p": actual}) <= tolerance


def sciad_inputs(spec, transform):
    from sciad import transforms

    return transforms.inputs(spec, transform, "small", "float64")


def test_baseline_cases_are_float64_on_the_cpu_and_filtered_like_frameworks():
    spec = problems.get("robertson")
    generated = cases_module.generate([spec], transforms=("value_and_grad_adaptive",), sizes=("small",), devices=("auto", "cuda"))
    scipy = [c for c in generated if c.framework == "scipy"]
    assert {(c.mode, c.dtype, c.device) for c in scipy} == {("radau", "float64", "auto"), ("lsoda", "float64", "auto")}
    assert {c.framework for c in generated} == {"jax", "scipy"}  # the variant is JAX-only; torch has no case
    only_jit = cases_module.generate([spec], transforms=("value_and_grad_adaptive",), modes=("jit",), sizes=("small",))
    assert {c.framework for c in only_jit} == {"jax"}
    assert not [c for c in cases_module.generate([spec], transforms=("grad",), sizes=("small",)) if c.framework == "scipy"]


def test_a_baseline_for_a_transform_the_problem_lacks_is_refused():
    spec = problems.get("robertson")
    with pytest.raises(SciadError, match="unknown transform 'hessian' in a baseline of problem 'robertson'"):
        dataclasses.replace(spec, baselines=(Baseline("hessian", lambda y, args: None, "scipy", "radau"),))
    with pytest.raises(SciadError, match="two scipy radau baselines"):
        dataclasses.replace(spec, baselines=(spec.baselines[0], spec.baselines[0]))


def test_a_scipy_baseline_case_runs_in_a_worker_that_imports_neither_framework():
    case = dict(vars(Case("robertson", "value_and_grad_adaptive", "scipy", "lsoda", "small", "float64", "auto")))
    script = (
        "import json, sys\n"
        "from sciad.bench import worker\n"
        f"record = worker.run_case({case!r}, {{'min_runs': 2, 'min_time': 0.0, 'max_runs': 2}})\n"
        "print(json.dumps({'record': record, 'imported': [m for m in ('jax', 'torch') if m in sys.modules]}, default=float))\n"
    )
    answer = json.loads(subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120).stdout)
    record = answer["record"]
    assert answer["imported"] == []
    assert record["status"] == "ok", record.get("error")
    assert record["device"] == "cpu" and record["runs"] == 2
    assert record["check_error"] <= record["check_tolerance"]


def test_the_report_plots_peak_memory_against_the_sweep_and_shows_baselines(tmp_path):
    """Synthetic records (no timing): memory ∝ T gives exponent 1, ∝ √T gives ½; a baseline gets its column."""
    out = tmp_path / "r.jsonl"
    records = [{"kind": "environment", "cpu": "test cpu", "threads": 1}]
    for steps in (256, 1024, 4096):
        for transform, memory in (("grad", 1000 * steps), ("grad_checkpointed", 1000 * int(steps**0.5))):
            records.append(
                dict(
                    vars(Case("heat_inverse", transform, "jax", "jit", f"steps={steps}", "float64", "cpu")),
                    status="ok",
                    median_s=1e-3,
                    first_call_s=1.0,
                    peak_mem_bytes=memory,
                    first_call_peak_mem_bytes=memory + 50 * 2**20,
                    xla_temp_bytes=memory,
                )
            )
    records.append(
        dict(
            vars(Case("robertson", "value_and_grad_adaptive", "scipy", "lsoda", "bench", "float64", "cpu")),
            status="ok",
            median_s=0.03,
            first_call_s=0.03,
            peak_mem_bytes=0,
        )
    )
    out.write_text("".join(json.dumps(r) + "\n" for r in records))
    text = report.write([out], tmp_path / "report").read_text()
    assert "## Peak memory against size" in text
    assert "| grad | jax jit | steady call | 250 KiB | 1000 KiB | 3.91 MiB | 1.00 |" in text
    assert "| grad_checkpointed | jax jit | XLA buffers | 15.6 KiB | 31.2 KiB | 62.5 KiB | 0.50 |" in text
    assert (tmp_path / "report" / "memory_heat_inverse_float64.png").stat().st_size > 1000
    assert "scipy lsoda" in text and "solve_ivp LSODA" in text


# -- the best mode of each framework, named: `sciad bench`'s closing table and `sciad report` ------------------


def _best_mode_records():
    """rosenbrock at bench/float64 with known winners: grad — JAX jit, torch autograd (compile failed);
    value — JAX eager (faster than jit here), torch compile. A scipy baseline is never a framework's best."""
    from sciad.names import MODES

    timings = {
        "grad": {("jax", "jit"): 2e-3, ("jax", "eager"): 5e-3, ("torch", "eager"): 4e-3, ("torch", "autograd"): 1.5e-3},
        "value": {("jax", "jit"): 3e-3, ("jax", "eager"): 1e-3, ("torch", "eager"): 6e-3, ("torch", "compile"): 2e-3},
    }
    records = [{"kind": "environment", "cpu": "test cpu", "threads": 1}]
    for transform, by_mode in timings.items():
        for (framework, mode), median in by_mode.items():
            assert mode in MODES[framework]
            records.append(
                dict(
                    vars(Case("rosenbrock", transform, framework, mode, "bench", "float64", "cpu")),
                    status="ok",
                    median_s=median,
                    first_call_s=1.0,
                    peak_mem_bytes=0,
                )
            )
    records.append(
        dict(vars(Case("rosenbrock", "grad", "torch", "compile", "bench", "float64", "cpu")), status="error", error="x")
    )
    records.append(
        dict(
            vars(Case("rosenbrock", "grad", "scipy", "lsoda", "bench", "float64", "cpu")),
            status="ok",
            median_s=1e-6,
            first_call_s=0,
        )
    )
    return records


def test_the_report_names_each_frameworks_best_mode_and_maps_best_against_best(tmp_path):
    out = tmp_path / "r.jsonl"
    out.write_text("".join(json.dumps(r) + "\n" for r in _best_mode_records()))
    run = report.Run(out)
    problems_, transforms_, grid = report.best_pairs(run, "bench", "float64")
    assert (problems_, transforms_) == (["rosenbrock"], ["grad", "value"])
    ((grad, value),) = grid
    assert grad == pytest.approx((0.75, "jit", "autograd"))
    assert value == pytest.approx((2.0, "eager", "compile"))
    text = report.write([out], tmp_path / "report").read_text()
    assert "| jax best | torch best |" in text
    assert "| rosenbrock | grad | bench | float64 | 2 ms (jit) | 1.5 ms (autograd) |" in text
    assert "| rosenbrock | value | bench | float64 | 1 ms (eager) | 2 ms (compile) |" in text
    assert "the best JAX mode: eager 1, jit 1; the best torch mode: autograd 1, compile 1" in text
    assert (tmp_path / "report" / "speed_ratio.png").stat().st_size > 1000


def test_the_bench_table_names_each_frameworks_best_mode():
    from rich.console import Console

    from sciad.bench.cli import summarise

    console = Console(record=True, width=400)
    summarise(console, results.latest(_best_mode_records()))
    text = console.export_text()
    assert "jax best" in text and "torch best" in text
    grad_row = next(line for line in text.splitlines() if " grad " in line)
    assert "2 ms (jit)" in grad_row and "1.5 ms (autograd)" in grad_row and "error" in grad_row
    value_row = next(line for line in text.splitlines() if " value " in line)
    assert "1 ms (eager)" in value_row and "2 ms (compile)" in value_row


def test_best_mode_follows_the_mode_table():
    from sciad.bench.format import best_mode
    from sciad.names import MODES

    assert best_mode("torch", {}) is None
    assert best_mode("torch", {mode: None for mode in MODES["torch"]}) is None
    tie = dict.fromkeys(MODES["torch"], 1.0)
    assert best_mode("torch", tie) == (MODES["torch"][0], 1.0)  # a tie goes to the table's first (default) mode
    assert best_mode("jax", {"jit": 2.0, "eager": 1.0, "lsoda": 0.1}) == ("eager", 1.0)  # not a jax mode: ignored


def test_the_gradbench_comparison_uses_sciads_modes_and_names_the_best(capsys, monkeypatch):
    """benchmarks/gradbench/compare.py times every mode of the mode table but those it says it leaves out; its table
    has a column per mode timed and names the best sciad mode with its ratio."""
    import importlib.util
    import pathlib

    from sciad.names import MODE_TABLE

    path = pathlib.Path(__file__).resolve().parents[1] / "benchmarks" / "gradbench" / "compare.py"
    loaded = importlib.util.spec_from_file_location("gradbench_compare", path)
    compare = importlib.util.module_from_spec(loaded)
    monkeypatch.setitem(sys.modules, "gradbench_compare", compare)  # its dataclasses look their module up
    loaded.loader.exec_module(compare)
    for framework, modes in compare.SCIAD_MODES.items():
        expected = [m.name for m in MODE_TABLE if m.framework == framework and (framework, m.name) not in compare.NOT_TIMED]
        assert [m.name for m in modes] == expected
    base = {
        "kind": "result",
        "eval": "lse",
        "function": "gradient",
        "size": {"n": 2500},
        "framework": "torch",
        "check_error": 0.0,
    }
    records = [
        dict(base, implementation="gradbench", mode="eager", status="ok", median_s=2e-4),
        dict(base, implementation="sciad", mode="eager", status="ok", median_s=4e-4),
        dict(base, implementation="sciad", mode="autograd", status="ok", median_s=1e-4),
        dict(base, implementation="sciad", mode="compile", status="skipped", error="a reason"),
    ]
    compare.print_table(records, markdown=True)
    text = capsys.readouterr().out
    assert "| sciad eager | sciad compile | sciad autograd | best sciad mode, ratio |" in text
    assert (
        "| lse | gradient | n=2500 | torch | 200 µs | - | 400 µs (0.50) | skipped | 100 µs (2.00) | autograd 2.00 | 0e+00 |"
        in text
    )
