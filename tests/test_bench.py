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
from sciad.bench import results, worker
from sciad.bench.cases import Case
from sciad.spec import Reference

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
    monkeypatch.setattr(problems, "get", lambda name: dataclasses.replace(spec, reference=wrong))
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
