"""Fault injection for `sciad bench` and `sciad report`: whatever happens to a run — killed, interrupted, its
worker killed, its file cut off, shared, read-only or out of space — no finished record is lost or
duplicated, and every refusal is one sentence on stderr, exit code 2, no traceback.

The runs are tiny (rosenbrock, small, float64, JAX eager); `--min-time 0.5` makes each case of a run that
is to be killed last long enough for the kill to land while a later case is being measured.
"""

from __future__ import annotations

import errno
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time

import pytest

from sciad import cli
from sciad.bench import results, runner
from sciad.names import MODES

BASE = ["--problem", "rosenbrock", "--size", "small", "--dtype", "float64", "--framework", "jax", "--mode", "eager"]
FAST = ["--min-runs", "1", "--min-time", "0"]
SLOW = ["--min-runs", "1", "--min-time", "0.5"]  # each case measures for half a second at least
THREE = ["--transform", "value", "--transform", "grad", "--transform", "hessian"]


def bench(out, *options):
    return ["bench", *BASE, *options, "--out", str(out)]


def sciad(*argv, **kwargs):
    return subprocess.run([sys.executable, "-m", "sciad.cli", *argv], capture_output=True, text=True, timeout=300, **kwargs)


def start(*argv):
    return subprocess.Popen(
        [sys.executable, "-m", "sciad.cli", *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group, as a terminal's job is
    )


def one_sentence(stderr: str) -> str:
    """The message of a refusal: one line, `sciad: error: ...`, one sentence, no traceback."""
    assert "Traceback" not in stderr, stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("sciad: error: "), stderr
    message = lines[0][len("sciad: error: ") :]
    assert not re.search(r"[.!?]\s+[A-Z]", message), f"more than one sentence: {message}"
    return message


def cases_in(path) -> list[dict]:
    return results.cases(results.read(path))


def keys(records) -> list[tuple]:
    return [results.case_key(r) for r in records]


def wait_for_cases(path, count: int, process, limit: float = 240) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline and process.poll() is None:
        if path.exists() and len(cases_in(path)) >= count:
            return
        time.sleep(0.05)
    raise AssertionError(f"{path} did not reach {count} cases while its run was alive")


def children(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    fields = stat.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry))
    return found


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def end(pids) -> None:
    """Kill what is left of processes this test started (an orphaned worker finishing its case)."""
    for pid in pids:
        if alive(pid):
            os.kill(pid, signal.SIGKILL)


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """A finished two-case results file, written with `--out *.log`: the workers' log goes elsewhere."""
    out = tmp_path_factory.mktemp("finished") / "base.log"
    result = sciad(*bench(out, "--transform", "value", "--transform", "grad", *FAST))
    assert result.returncode == 0, result.stderr
    return out


def copy(finished, tmp_path, name="r.jsonl"):
    out = tmp_path / name
    shutil.copyfile(finished, out)
    return out


# -- the results file ----------------------------------------------------------------------------------


def test_worker_logs_never_share_the_results_path(finished):
    records = results.read(finished)  # the issue's `--out same.log`: stderr used to land in the results
    assert [r["transform"] for r in results.cases(records)] == ["value", "grad"]
    assert finished.read_bytes().endswith(b"\n")
    assert results.side_file(finished, results.LOG_SUFFIX).exists()
    assert not results.side_file(finished, results.LOCK_SUFFIX).exists()  # released and removed at the end


def test_a_missing_final_newline_is_added_and_its_record_kept(finished, tmp_path):
    out = copy(finished, tmp_path)
    out.write_bytes(out.read_bytes()[:-1])
    before = cases_in(out)
    assert len(before) == 2  # the reader keeps a whole last record that lacks its newline

    result = sciad(*bench(out, "--transform", "value", "--transform", "grad", *FAST, "--resume"))
    assert result.returncode == 0, result.stderr
    assert f"{out} lacked its final newline; it was added" in result.stdout
    records = results.read(out)
    assert results.cases(records) == before  # nothing measured again, nothing lost
    assert results.environments(records)[-1]["cases_planned"] == 0
    assert not results.side_file(out, results.CORRUPT_SUFFIX).exists()


def test_a_cut_off_last_line_is_moved_aside_and_its_case_measured_again(finished, tmp_path):
    out = copy(finished, tmp_path)
    whole = out.read_bytes()
    cut = whole[:-40]  # killed in the middle of writing the grad record
    out.write_bytes(cut)
    assert [r["transform"] for r in cases_in(out)] == ["value"]

    result = sciad(*bench(out, "--transform", "value", "--transform", "grad", *FAST, "--resume"))
    assert result.returncode == 0, result.stderr
    corrupt = results.side_file(out, results.CORRUPT_SUFFIX)
    assert f"it was moved to {corrupt}" in result.stdout
    assert corrupt.read_bytes() == cut[cut.rfind(b"\n") + 1 :] + b"\n"
    records = results.cases(results.read(out))
    assert [(r["transform"], r["status"]) for r in records] == [("value", "ok"), ("grad", "ok")]
    assert out.read_bytes().startswith(cut[: cut.rfind(b"\n") + 1])  # the finished records, byte for byte
    report = sciad("report", str(out), "--out", str(tmp_path / "report"))
    assert report.returncode == 0, report.stderr


def test_a_garbage_middle_line_is_refused_and_the_file_left_alone(finished, tmp_path):
    out = copy(finished, tmp_path)
    lines = out.read_bytes().splitlines(keepends=True)
    out.write_bytes(lines[0] + b"garbage\n" + b"".join(lines[1:]))
    before = out.read_bytes()
    for argv in (bench(out, "--transform", "value", *FAST, "--resume"), ["report", str(out), "--out", str(tmp_path / "rep")]):
        result = sciad(*argv)
        assert result.returncode == 2
        assert one_sentence(result.stderr).startswith(f"{out} line 2 is not a JSON record")
    assert out.read_bytes() == before
    assert not (tmp_path / "rep").exists()


@pytest.mark.parametrize(
    "text, message",
    [
        ('{"a": 1}\n', "line 1 is a JSON object without a benchmark case's problem, transform"),
        ("[1, 2]\n", "line 1 is a JSON list, not a record (a JSON object)"),
        ("42\n", "line 1 is a JSON int, not a record (a JSON object)"),
        ('{"kind": "hello"}\n', "line 1 is a record of kind 'hello'"),
    ],
)
def test_resume_onto_json_that_is_not_sciads_is_refused(text, message, tmp_path, capsys):
    out = tmp_path / "r.jsonl"
    out.write_text(text)
    assert cli.main(bench(out, "--transform", "value", *FAST, "--resume")) == 2
    assert message in one_sentence(capsys.readouterr().err)
    assert out.read_text() == text


# -- killed, interrupted -------------------------------------------------------------------------------


def test_kill_9_of_the_run_keeps_every_finished_case_and_resume_runs_the_rest(tmp_path):
    out = tmp_path / "r.jsonl"
    argv = bench(out, *THREE, *SLOW)
    process = start(*argv)
    wait_for_cases(out, 1, process)
    workers = children(process.pid)
    os.kill(process.pid, signal.SIGKILL)  # the run alone, as the OOM killer would: its worker is orphaned
    process.wait()
    before_bytes = out.read_bytes()
    before = cases_in(out)
    try:
        result = sciad(*argv, "--resume")  # its lock died with it
    finally:
        end(workers)
    assert result.returncode == 0, result.stderr
    after = cases_in(out)
    assert out.read_bytes().startswith(before_bytes[: before_bytes.rfind(b"\n") + 1])
    assert after[: len(before)] == before
    assert len(set(keys(after))) == len(after) == 3
    assert results.environments(results.read(out))[-1]["cases_planned"] == 3 - len(before)


def test_kill_9_of_a_worker_records_its_case_and_retry_failed_measures_it_again(tmp_path):
    out = tmp_path / "r.jsonl"
    argv = bench(out, *THREE, *SLOW)
    process = start(*argv)
    wait_for_cases(out, 1, process)
    (worker,) = children(process.pid)
    os.kill(worker, signal.SIGKILL)  # while it measures the second case
    stdout, stderr = process.communicate(timeout=300)
    assert process.returncode == 0, stderr
    first = cases_in(out)
    assert [r["status"] for r in first] == ["ok", "error", "ok"]  # the run went on with a fresh worker
    assert first[1]["error"].startswith("the jax worker exited (code -9)")
    assert first[1]["device"] == "cpu"  # filed beside its measured neighbours, not under "auto"

    resumed = sciad(*argv, "--resume")
    assert resumed.returncode == 0 and cases_in(out) == first  # plain --resume does not retry

    retried = sciad(*argv, "--resume", "--retry-failed")
    assert retried.returncode == 0, retried.stderr
    numbered = [(n, r) for n, r in results.read_numbered(out) if r.get("kind", "case") == "case"]
    assert [r for _, r in numbered[:3]] == first  # the failed record stays, not rewritten
    (line, failed), (_, again) = numbered[1], numbered[3]
    assert again["transform"] == failed["transform"] and again["status"] == "ok"
    assert again["supersedes"] == {"line": line, "status": "error", "error": failed["error"]}
    latest = results.latest(results.read(out))
    assert len(latest) == len(set(keys(latest))) == 3 and {r["status"] for r in latest} == {"ok"}
    assert results.superseded(results.read(out)) == [failed]


def test_ctrl_c_ends_the_run_and_its_workers_keeping_finished_cases(tmp_path):
    out = tmp_path / "r.jsonl"
    process = start(*bench(out, *THREE, *SLOW))
    wait_for_cases(out, 1, process)
    workers = children(process.pid)
    assert workers
    before = out.read_bytes()
    os.killpg(process.pid, signal.SIGINT)  # what Ctrl-C sends: the whole process group
    stdout, stderr = process.communicate(timeout=120)
    try:
        assert process.returncode == 130
        assert stderr.strip() == "sciad: interrupted"
        assert "--resume runs the rest" in stdout
        assert not [pid for pid in workers if alive(pid)]
    finally:
        end(workers)
    assert out.read_bytes().startswith(before)
    records = cases_in(out)
    assert 1 <= len(records) == len(set(keys(records)))
    assert all(r["status"] == "ok" for r in records)  # the interrupted case is not recorded as a failure
    assert not results.side_file(out, results.LOCK_SUFFIX).exists()


# -- two runs on one file --------------------------------------------------------------------------------


def test_a_run_on_a_file_in_use_is_refused_naming_the_pid_that_holds_it(finished, tmp_path):
    out = copy(finished, tmp_path)
    before = out.read_bytes()
    held = results.ResultsFile(out, resume=True)  # this test process stands in for the run writing it
    try:
        for extra in (["--resume"], []):
            second = sciad(*bench(out, "--transform", "value", *FAST, *extra))
            assert second.returncode == 2
            assert one_sentence(second.stderr) == (
                f"results file {out} is being written by another sciad run (PID {os.getpid()}); wait for it to end, "
                "or choose another --out"
            )
    finally:
        held.close()
    assert out.read_bytes() == before
    assert not results.side_file(out, results.LOCK_SUFFIX).exists()


def test_two_runs_started_together_create_the_file_once(tmp_path):
    out = tmp_path / "r.jsonl"
    argv = bench(out, "--transform", "value", *FAST)
    processes = [start(*argv), start(*argv)]
    outcomes = [(p.communicate(timeout=300)[1], p.returncode)[::-1] for p in processes]
    assert sorted(code for code, _ in outcomes) == [0, 2]
    message = one_sentence(next(err for code, err in outcomes if code == 2))
    assert message.startswith(f"results file {out} exists; pass --resume") or "is being written by another sciad run" in message
    records = results.read(out)
    assert len(results.environments(records)) == 1 and len(results.cases(records)) == 1


# -- a results file that cannot be written ----------------------------------------------------------------


def test_a_full_disk_keeps_every_finished_record_and_resume_completes(finished, tmp_path, monkeypatch, capsys):
    out = copy(finished, tmp_path)
    before = out.read_bytes()
    real = results.ResultsFile._append
    calls = []

    def full_disk(self, data):
        calls.append(data)
        if len(calls) == 3:  # the environment record, value_and_grad's record, then hessian's
            os.write(self.fd, data[: len(data) // 2])
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real(self, data)

    monkeypatch.setattr(results.ResultsFile, "_append", full_disk)
    argv = bench(
        out, "--transform", "value", "--transform", "grad", "--transform", "hessian", "--transform", "value_and_grad", *FAST
    )
    assert cli.main([*argv, "--resume"]) == 2
    message = one_sentence(capsys.readouterr().err)
    assert message == (
        f"cannot write to results file {out} (No space left on device), so the last case was not recorded; "
        "the 3 cases before it are intact, and --resume runs the rest"
    )
    data = out.read_bytes()
    assert data.startswith(before) and data.endswith(b"\n")  # the half-written record is cut back
    assert [r["transform"] for r in cases_in(out)] == ["value", "grad", "value_and_grad"]
    assert not results.side_file(out, results.LOCK_SUFFIX).exists()

    monkeypatch.setattr(results.ResultsFile, "_append", real)
    resumed = sciad(*argv, "--resume")
    assert resumed.returncode == 0, resumed.stderr
    assert [r["transform"] for r in cases_in(out)] == ["value", "grad", "value_and_grad", "hessian"]


def test_a_read_only_results_file_is_refused_in_one_sentence(finished, tmp_path, monkeypatch, capsys):
    """Read-only as the kernel reports it (EACCES on open), injected: root writes files whatever their mode."""
    out = copy(finished, tmp_path)
    before = out.read_bytes()
    real = os.open

    def read_only(path, flags, *args, **kwargs):
        if os.fspath(path) == os.fspath(out) and flags & (os.O_WRONLY | os.O_RDWR):
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), os.fspath(path))
        return real(path, flags, *args, **kwargs)

    monkeypatch.setattr(os, "open", read_only)
    assert cli.main(bench(out, "--transform", "value", *FAST, "--resume")) == 2
    assert one_sentence(capsys.readouterr().err) == f"cannot write results file {out} (Permission denied)"
    assert out.read_bytes() == before
    assert not results.side_file(out, results.LOCK_SUFFIX).exists()


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes read-only files and directories")
def test_a_read_only_file_and_directory_are_refused_in_one_sentence(finished, tmp_path):
    out = copy(finished, tmp_path)
    out.chmod(0o444)
    result = sciad(*bench(out, "--transform", "value", *FAST, "--resume"))
    assert result.returncode == 2
    assert one_sentence(result.stderr) == f"cannot write results file {out} (Permission denied)"
    locked = tmp_path / "ro"
    locked.mkdir(mode=0o555)
    result = sciad(*bench(locked / "r.jsonl", "--transform", "value", *FAST))
    assert result.returncode == 2
    assert "(Permission denied)" in one_sentence(result.stderr)


# -- settings ---------------------------------------------------------------------------------------------


def test_resume_with_other_settings_is_refused_unless_allowed_and_each_case_keeps_its_own(finished, tmp_path, capsys):
    out = copy(finished, tmp_path)
    before = out.read_bytes()
    argv = bench(out, "--transform", "value", "--transform", "grad", "--transform", "hessian", "--min-runs", "2", "--resume")
    assert cli.main([*argv, "--min-time", "0"]) == 2
    assert one_sentence(capsys.readouterr().err) == (
        f"{out} holds cases measured with --min-runs 1 (this run: 2): resume with the options it was measured with, "
        "or pass --allow-mixed-settings to add cases measured differently (each case records its own settings)"
    )
    assert out.read_bytes() == before

    result = sciad(*argv, "--min-time", "0", "--allow-mixed-settings")
    assert result.returncode == 0, result.stderr
    settings = [r["settings"] for r in cases_in(out)]
    assert [s["min_runs"] for s in settings] == [1, 1, 2]
    assert all(s["timeout"] == 300 and s["min_time"] == 0 for s in settings)
    assert all(r["versions"]["jax"] for r in cases_in(out))  # from the worker's hello
    report = sciad("report", str(out), "--out", str(tmp_path / "report"))
    assert report.returncode == 0, report.stderr
    text = (tmp_path / "report" / "report.md").read_text()
    assert "its cases were measured with different settings" in text
    assert "| --min-runs | cases | for example |" in text


def test_a_timeout_is_worded_to_its_value_and_filed_under_the_device_it_would_run_on(tmp_path):
    assert runner.timeout_message(0.4) == "no result within 0.4 s (compilation included)"
    out = tmp_path / "r.jsonl"
    result = sciad(*bench(out, "--transform", "value", *FAST, "--timeout", "0.001"))
    assert result.returncode == 0, result.stderr
    (record,) = cases_in(out)
    assert record["status"] == "timeout"
    assert record["error"] == "no result within 0.001 s (compilation included)"
    assert record["device"] == "cpu" and record["device_requested"] == "auto"
    assert record["settings"]["timeout"] == 0.001
    assert results.environments(results.read(out))[0]["options"]["timeout"] == 0.001
    assert "│ auto" not in result.stdout


# -- options refused, each in one sentence ---------------------------------------------------------------


@pytest.mark.parametrize(
    "options, message",
    [
        (["--timeout", "-1"], "--timeout -1 is not accepted; a finite number of seconds above 0 is"),
        (["--timeout", "0"], "--timeout 0 is not accepted; a finite number of seconds above 0 is"),
        (["--timeout", "nan"], "--timeout nan is not accepted"),
        (["--min-time", "-1"], "--min-time -1 is not accepted; a finite number of seconds, 0 or more, is"),
        (["--min-time", "nan"], "--min-time nan is not accepted"),
        (["--min-time", "inf"], "--min-time inf is not accepted"),
        (["--min-runs", "5", "--max-runs", "2"], "--max-runs 2 is less than --min-runs 5"),
        (["--problem", "rosenbrock"], "--problem rosenbrock is given 2 times; give each value once"),
        (["--sweep"], "--size small and --sweep exclude each other"),
        (["--framework", "jax"], "--framework jax is given 2 times"),
        (["--retry-failed"], "--retry-failed applies to the cases already in a results file, so it needs --resume"),
        (["--allow-mixed-settings"], "--allow-mixed-settings applies to the cases already in a results file"),
    ],
)
def test_an_option_out_of_range_is_refused_in_one_sentence(options, message, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert cli.main(bench(tmp_path / "r.jsonl", "--transform", "value", *FAST, *options)) == 2
    assert message in one_sentence(capsys.readouterr().err)
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize(
    "argv, message",
    [
        (
            ["bench", "--problem", "rosenbrock", "--framework", "torch", "--mode", "jit"],
            f"mode 'jit' is not a mode of framework torch, whose modes are: {', '.join(MODES['torch'])}",
        ),
        (
            ["bench", "--problem", "robertson", "--framework", "torch", "--framework", "scipy", "--mode", "jit"],
            f"mode 'jit' is not a mode of any selected framework (torch: {', '.join(MODES['torch'])}; scipy: lsoda, radau)",
        ),
    ],
)
def test_a_mode_of_another_framework_is_named(argv, message, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert cli.main(argv) == 2
    assert one_sentence(capsys.readouterr().err) == message


@pytest.mark.parametrize("resume", [[], ["--resume"]])
def test_a_directory_or_a_side_file_name_as_results_file_is_refused(resume, tmp_path, capsys):
    assert cli.main(bench(tmp_path, "--transform", "value", *FAST, *resume)) == 2
    assert one_sentence(capsys.readouterr().err).startswith(f"results file {tmp_path} is a directory; --out names")
    assert cli.main(bench(tmp_path / "r.jsonl.lock", "--transform", "value", *FAST, *resume)) == 2
    assert "ends in .lock, a name sciad gives the files beside a results file" in one_sentence(capsys.readouterr().err)
    assert not list(tmp_path.iterdir())


# -- sciad report --------------------------------------------------------------------------------------------


ENVIRONMENT = {"kind": "environment", "cpu": "test cpu", "threads": 1, "versions": {"jax": "0", "torch": "0"}}


def failed(transform, status="error"):
    case = dict(problem="rosenbrock", transform=transform, framework="jax", mode="jit", size="small", dtype="float64")
    return dict(case, device="cpu", device_requested="auto", status=status, error="boom")


@pytest.mark.parametrize(
    "records, message",
    [
        ([], "results file {path} is empty, so there is no benchmark case to report"),
        ([ENVIRONMENT], "results file {path} holds no benchmark case, only its run's environment"),
    ],
)
def test_report_on_a_file_without_cases_is_refused_and_makes_no_directory(records, message, tmp_path, capsys):
    path = tmp_path / "r.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    assert cli.main(["report", str(path), "--out", str(tmp_path / "report")]) == 2
    assert one_sentence(capsys.readouterr().err).startswith(message.format(path=path))
    assert not (tmp_path / "report").exists()


def test_report_on_a_file_where_every_case_failed_lists_the_failures(tmp_path, capsys):
    path = tmp_path / "r.jsonl"
    records = [ENVIRONMENT, failed("value"), failed("grad", "timeout"), failed("value", "timeout")]
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    assert cli.main(["report", str(path), "--out", str(tmp_path / "report")]) == 0
    text = (tmp_path / "report" / "report.md").read_text()
    assert "No case produced a timing, so there is nothing to plot" in text
    assert "`rosenbrock-grad-jax-jit-small-float64`: **timeout** — boom" in text
    assert "1 records were superseded by a later record of the same case" in text  # the first value record
    assert "`rosenbrock-value-jax-jit-small-float64` (error)" in text
    # The medians table: the best-mode columns are empty (nothing was timed) and the jit column names the status.
    row = next(line for line in text.splitlines() if line.startswith("| rosenbrock | value | small | float64 |"))
    assert "*timeout*" in row and "*error*" not in row


def test_report_refuses_a_directory_as_results_file_and_a_file_as_out(finished, tmp_path, capsys):
    assert cli.main(["report", str(tmp_path), "--out", str(tmp_path / "report")]) == 2
    assert one_sentence(capsys.readouterr().err) == (
        f"{tmp_path} is a directory; sciad report reads results files (FILE.jsonl) that sciad bench writes"
    )
    taken = tmp_path / "taken.md"
    taken.write_text("mine\n")
    assert cli.main(["report", str(finished), "--out", str(taken)]) == 2
    assert one_sentence(capsys.readouterr().err) == (
        f"--out {taken} is a file; it names the directory to write report.md and its plots in"
    )
    assert taken.read_text() == "mine\n"
