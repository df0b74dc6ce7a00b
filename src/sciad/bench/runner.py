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

from . import results
from .cases import Case
from .worker import MARK


class Worker:
    """A worker subprocess for one framework, answering one case at a time with a time limit."""

    def __init__(self, framework: str, threads: int, log: pathlib.Path):
        env = dict(os.environ)
        env.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")  # JAX must not grab the GPU's memory up front
        env.setdefault("TORCHINDUCTOR_CACHE_DIR", os.path.abspath(os.path.join(".cache", "inductor")))
        env["PYTHONUNBUFFERED"] = "1"
        self.framework = framework
        self.log = open(log, "a")  # noqa: SIM115 — the worker's stderr, kept for diagnosis
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
        except Exception:
            self.close()
            raise

    def _read(self):
        for line in self.process.stdout:
            if line.startswith(MARK):
                self.answers.put(json.loads(line[len(MARK) :]))
        self.answers.put(None)  # the worker exited

    def _answer(self, timeout: float):
        try:
            answer = self.answers.get(timeout=timeout)
        except queue.Empty:
            raise TimeoutError from None
        if answer is None:
            raise RuntimeError(f"the {self.framework} worker exited (code {self.process.wait()}); see {self.log.name}")
        return answer

    def run(self, case: Case, options: dict, timeout: float) -> dict:
        self.process.stdin.write(json.dumps({"case": vars_of(case), "options": options}) + "\n")
        self.process.stdin.flush()
        return self._answer(timeout)

    def close(self):
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self.log.close()


def vars_of(case: Case) -> dict:
    return {field: getattr(case, field) for field in case.__dataclass_fields__}


def run(
    cases: list[Case], out: pathlib.Path, *, threads: int, options: dict, timeout: float, console, resume: bool
) -> list[dict]:
    """Run `cases` not already in `out`, appending one record each; return this run's records."""
    done = {results.case_key(r) for r in results.cases(results.read(out))} if resume and out.exists() else set()
    todo = [case for case in cases if case.key not in done]
    writer = results.Writer(out)
    writer.write(dict(results.environment(threads, options), resumed=bool(done), cases_planned=len(todo)))
    log = out.with_suffix(".log")
    finished: list[dict] = []
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("eta"),
        TimeRemainingColumn(),
    )
    workers: dict[str, Worker] = {}
    try:
        with Progress(*columns, console=console, transient=False) as progress:
            task = progress.add_task("starting", total=len(todo))
            # One framework at a time: its worker holds the device alone.
            for framework in dict.fromkeys(case.framework for case in todo):
                for case in (c for c in todo if c.framework == framework):
                    progress.update(task, description=case.id)
                    record = _run_one(workers, case, threads, options, timeout, log)
                    writer.write(record)
                    finished.append(record)
                    progress.advance(task)
                if framework in workers:
                    workers.pop(framework).close()
            progress.update(task, description=f"done: {len(finished)} cases")
    finally:
        for worker in workers.values():
            worker.close()
        writer.close()
    return finished


def _run_one(workers, case, threads, options, timeout, log) -> dict:
    started = time.perf_counter()
    try:
        if case.framework not in workers:
            workers[case.framework] = Worker(case.framework, threads, log)
        return workers[case.framework].run(case, options, timeout)
    except TimeoutError:
        worker = workers.pop(case.framework, None)
        if worker:
            worker.close()  # a stuck worker is replaced, not waited for
        return dict(
            vars_of(case),
            device_requested=case.device,
            status="timeout",
            error=f"no result within {timeout:.0f} s (compilation included)",
        )
    except RuntimeError as exc:
        worker = workers.pop(case.framework, None)
        if worker:
            worker.close()
        return dict(
            vars_of(case), device_requested=case.device, status="error", error=str(exc), elapsed_s=time.perf_counter() - started
        )
