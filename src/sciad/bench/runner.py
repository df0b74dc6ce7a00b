"""The parent side of `sciad bench`: one spawned worker per framework, one record per finished case."""

from __future__ import annotations

import json
import os
import pathlib
import queue
import subprocess
import sys
import threading
import time

from ..errors import SciadError
from ..frameworks import use_local_inductor_cache
from . import results
from .cases import Case
from .worker import MARK


class Worker:
    """A worker subprocess for one framework, answering one case at a time with a time limit."""

    def __init__(self, framework: str, threads: int, log: pathlib.Path, devices: int | None = None):
        use_local_inductor_cache()  # in this process's environment, which the worker inherits
        env = dict(os.environ)
        if devices is not None and framework == "jax":
            from ..sharding import with_host_devices

            # Before JAX is imported in the worker: its CPU platform then shows `devices` devices.
            env = with_host_devices(env, devices)
        env.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")  # JAX must not grab the GPU's memory up front
        env["PYTHONUNBUFFERED"] = "1"
        self.framework = framework
        try:
            self.log = open(log, "a")  # noqa: SIM115 — the worker's stderr, kept for diagnosis
        except OSError as exc:
            raise SciadError(f"cannot write the workers' log {log} ({exc.strerror or exc})") from None
        self.process = subprocess.Popen(
            [sys.executable, "-m", "sciad.bench.worker", framework, str(threads)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.log,
            text=True,
            env=env,
        )
        self.answers: queue.Queue = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        try:
            self.hello = self._answer(timeout=300)
        except BaseException:
            self.close()
            raise

    def _read(self):
        for line in self.process.stdout:
            if line.startswith(MARK):
                self.answers.put(json.loads(line[len(MARK) :]))
        self.answers.put(None)  # the worker exited

    def _exited(self) -> RuntimeError:
        return RuntimeError(f"the {self.framework} worker exited (code {self.process.wait()}); see {self.log.name}")

    def _answer(self, timeout: float):
        try:
            answer = self.answers.get(timeout=timeout)
        except queue.Empty:
            raise TimeoutError from None
        if answer is None:
            raise self._exited()
        return answer

    def alive(self) -> bool:
        return self.process.poll() is None

    def run(self, case: Case, options: dict, timeout: float) -> dict:
        try:
            self.process.stdin.write(json.dumps({"case": vars_of(case), "options": options}) + "\n")
            self.process.stdin.flush()
        except OSError:  # the worker died before it was asked (a broken pipe)
            raise self._exited() from None
        return self._answer(timeout)

    def close(self):
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self.log.close()


def vars_of(case: Case) -> dict:
    return {field: getattr(case, field) for field in case.__dataclass_fields__}


def timeout_message(timeout: float) -> str:
    return f"no result within {timeout:g} s (compilation included)"


def run(
    cases: list[Case],
    out: pathlib.Path,
    *,
    threads: int,
    options: dict,
    timeout: float,
    console,
    resume: bool,
    retry_failed: bool = False,
    mixed_settings: bool = False,
    header: str = "",
    budget: float | None = None,
) -> list[dict]:
    """Run the `cases` that `out` lacks, appending one record each; return this run's records.

    `out` is held exclusively for the whole run (`results.ResultsFile`). On resume, the settings that decide
    a timing (threads, runs, times, timeout, package versions, hardware) must match those of the cases
    already in `out`, unless `mixed_settings`; with `retry_failed`, cases whose last record is an error or a
    timeout run again, and the new record names the line of the one it supersedes.
    """
    settings = {
        "threads": threads,
        "min_runs": options["min_runs"],
        "max_runs": options["max_runs"],
        "min_time": options["min_time"],
        "timeout": timeout,
    }
    environment = results.environment(threads, dict(options, timeout=timeout, budget=budget))
    finished: list[dict] = []
    preflight(cases, threads, results.side_file(out, results.LOG_SUFFIX))
    deadline = None if budget is None else time.monotonic() + budget
    with results.ResultsFile(out, resume=resume) as file:
        for note in file.notes:
            console.print(note, markup=False, soft_wrap=True)
        if not mixed_settings:
            results.check_resume(file.records, out, settings, environment)
        last = {}
        for line, record in file.numbered:
            if record.get("kind", "case") == "case":
                last[results.case_key(record)] = (line, record)
        todo, supersedes = [], {}
        for case in cases:
            line, record = last.get(case.key, (None, None))
            if record is None:
                todo.append(case)
            elif (retry_failed and record["status"] in results.RETRIED) or record["status"] == results.CUT_OFF:
                todo.append(case)
                supersedes[case.key] = {"line": line, "status": record["status"], "error": record.get("error")}
        file.write(dict(environment, resumed=bool(last), cases_planned=len(todo), cases_retried=len(supersedes)))
        if header:
            done = f"; {len(cases) - len(todo)} already in it, {len(todo)} to run" if last else ""
            retried = f" ({len(supersedes)} failed before, run again)" if supersedes else ""
            console.print(header + done + retried, markup=False, soft_wrap=True)
        try:
            _run_all(todo, file, finished, supersedes, threads, options, settings, timeout, console, deadline)
        except KeyboardInterrupt:
            console.print(
                f"interrupted: the {len(finished)} cases this run finished are in {out}; --resume runs the rest", soft_wrap=True
            )
            raise
    return finished


def preflight(cases, threads: int, log: pathlib.Path) -> None:
    """Refuse, before anything is measured or written, a `cuda` case whose framework sees no GPU: each such
    framework's worker starts once and reports its devices in its hello."""
    for framework in dict.fromkeys(c.framework for c in cases if c.device == "cuda"):
        worker = Worker(framework, threads, log)
        try:
            devices = worker.hello.get("devices", [])
        finally:
            worker.close()
        if not any(device.startswith(("cuda", "gpu")) for device in devices):
            raise SciadError(
                f"device 'cuda' was asked for, but {framework} sees no GPU (its devices: {', '.join(devices) or 'none'}); "
                "choose --device cpu, or name the frameworks that have one with --framework"
            )


def _run_all(todo, file, finished, supersedes, threads, options, settings, timeout, console, deadline=None) -> None:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("eta"),
        TimeRemainingColumn(),
    )
    log = results.side_file(file.path, results.LOG_SUFFIX)
    workers: dict[str, Worker] = {}
    hellos: dict[str, dict] = {}
    try:
        with Progress(*columns, console=console, transient=False) as progress:
            task = progress.add_task("starting", total=len(todo))
            # One framework at a time: its worker holds the device alone. Scaling cases get a worker per
            # device count (JAX's simulated devices are fixed when it is imported).
            for framework, devices in dict.fromkeys((case.framework, case.devices) for case in todo):
                for case in (c for c in todo if (c.framework, c.devices) == (framework, devices)):
                    left = None if deadline is None else deadline - time.monotonic()
                    if left is not None and left <= 0:
                        progress.update(task, description=f"--budget spent: {len(todo) - len(finished)} cases left for --resume")
                        return
                    progress.update(task, description=case.id)
                    record = _run_one(workers, hellos, case, threads, options, min(timeout, left or timeout), log)
                    if left is not None and left < timeout and record["status"] == "timeout":
                        # Cut off by the run's budget, not by its own timeout: --resume runs it again.
                        record.update(status=results.CUT_OFF, error=f"cut off by the run's --budget after {left:.3g} s")
                    record["settings"] = settings
                    if case.key in supersedes:
                        record["supersedes"] = supersedes[case.key]
                    file.write(record)
                    finished.append(record)
                    progress.advance(task)
                if (framework, devices) in workers:
                    workers.pop((framework, devices)).close()
            progress.update(task, description=f"done: {len(finished)} cases")
    finally:
        for worker in workers.values():
            worker.close()


def _run_one(workers, hellos, case, threads, options, timeout, log) -> dict:
    started = time.perf_counter()
    which = (case.framework, case.devices)
    if which in workers and not workers[which].alive():
        workers.pop(which).close()  # it died between cases (killed from outside): start a fresh one
    try:
        if which not in workers:
            workers[which] = Worker(case.framework, threads, log, case.devices)
            hellos[case.framework] = workers[which].hello
        record = workers[which].run(case, options, timeout)
    except TimeoutError:
        worker = workers.pop(which, None)
        if worker:
            worker.close()  # a stuck worker is replaced, not waited for
        record = dict(vars_of(case), status="timeout", error=timeout_message(timeout))
    except RuntimeError as exc:
        worker = workers.pop(which, None)
        if worker:
            worker.close()
        record = dict(vars_of(case), status="error", error=str(exc), elapsed_s=time.perf_counter() - started)
    record.setdefault("device_requested", case.device)
    hello = hellos.get(case.framework) or {}
    if record.get("device") == "auto" and hello.get("default_device"):
        # A case that failed before reaching its device is filed beside its measured neighbours.
        record["device"] = hello["default_device"]
    if hello.get("versions"):
        record["versions"] = hello["versions"]
    for field in ("precision", "environment"):  # as the case's worker read them, not as this process set them
        if hello.get(field):
            record[f"worker_{field}"] = hello[field]
    return record
