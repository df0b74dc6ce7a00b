"""Results as JSON Lines: environment records (`"kind": "environment"`) and one record per case.

A run holds its results file exclusively (`ResultsFile`). Every record is written whole, with one write,
and flushed to disk as its case finishes, so a run killed at any moment keeps each finished case; a cut-off
last line (killed mid-write) is ignored on reading and moved aside before the next run appends. A case
measured again (`--retry-failed`) gets a new record that names the line it supersedes; nothing is rewritten.
"""

from __future__ import annotations

import datetime
import errno
import fcntl
import importlib.metadata
import json
import os
import pathlib
import platform
import subprocess
import sys
import time

from ..errors import SciadError

CASE_FIELDS = (
    "problem",
    "transform",
    "framework",
    "mode",
    "size",
    "dtype",
    "device",
    "status",
    "first_call_s",
    "median_s",
    "min_s",
    "iqr_s",
    "runs",
    "peak_mem_bytes",
    "error",
)
PACKAGES = (
    "sciad",
    "numpy",
    "scipy",
    "jax",
    "jaxlib",
    "jax-cuda12-plugin",
    "jax-cuda12-pjrt",
    "jax-cuda13-plugin",
    "jax-cuda13-pjrt",
    "torch",
    "triton",
    "equinox",
    "diffrax",
    "optax",
    "torchdiffeq",
)


# Files beside a results file: the lock held while a run writes it, cut-off lines moved out of it, and
# the workers' stderr. A results file may not itself be named like one of them.
LOCK_SUFFIX = ".lock"
CORRUPT_SUFFIX = ".corrupt"
LOG_SUFFIX = ".workers.log"
SIDE_SUFFIXES = (LOCK_SUFFIX, CORRUPT_SUFFIX, LOG_SUFFIX)

KEY_FIELDS = ("problem", "transform", "framework", "mode", "size", "dtype", "device")
RETRIED = ("error", "timeout")  # the statuses `--retry-failed` measures again
CUT_OFF = "cut_off"  # a case the run's --budget ended: every --resume measures it again
# The settings that decide a case's timing, recorded on each case (`settings`) and compared on resume.
SETTINGS = ("threads", "min_runs", "max_runs", "min_time", "timeout")
OPTION_NAMES = {name: "--" + name.replace("_", "-") for name in SETTINGS}


def side_file(path, suffix: str) -> pathlib.Path:
    path = pathlib.Path(path)
    return path.with_name(path.name + suffix)


def read(path) -> list[dict]:
    """The records of a results file; a cut-off last line (a run killed mid-write) is left out."""
    return [record for _, record in read_numbered(path)]


def read_numbered(path) -> list[tuple[int, dict]]:
    """(line number, record) for each record of a results file, checked to be sciad's."""
    path = pathlib.Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise SciadError(f"results file {path} does not exist") from None
    except IsADirectoryError:
        raise SciadError(f"results file {path} is a directory, not the JSON Lines file `sciad bench` writes") from None
    except OSError as exc:
        raise SciadError(f"cannot read results file {path} ({exc.strerror or exc})") from None
    return parse(data, path)


def parse(data: bytes, path) -> list[tuple[int, dict]]:
    lines = data.split(b"\n")
    fragment = lines.pop()  # b"" when the file ends with a newline
    numbered = []
    for number, line in enumerate(lines, 1):
        if line.strip():
            numbered.append((number, _record(line, path, number)))
    if fragment.strip() and not _cut_off(fragment):
        numbered.append((len(lines) + 1, _record(fragment, path, len(lines) + 1)))
    # A cut-off last line was being written when its run was killed: it is left out, and the next
    # `ResultsFile` moves it aside.
    return numbered


def _cut_off(fragment: bytes) -> bool:
    """Whether a last line lacking its newline is the start of a record rather than a whole line."""
    if not fragment.lstrip().startswith(b"{"):
        return False
    try:
        json.loads(fragment)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return True
    return False


def _record(line: bytes, path, number: int) -> dict:
    try:
        record = json.loads(line)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        reason = exc.msg if isinstance(exc, json.JSONDecodeError) else "not UTF-8 text"
        raise SciadError(f"{path} line {number} is not a JSON record ({reason}); is it a sciad results file?") from None
    if not isinstance(record, dict):
        raise SciadError(
            f"{path} line {number} is a JSON {type(record).__name__}, not a record (a JSON object); is it a sciad results file?"
        )
    kind = record.get("kind", "case")
    if kind == "case":
        missing = [field for field in (*KEY_FIELDS, "status") if field not in record]
        if missing:
            raise SciadError(
                f"{path} line {number} is a JSON object without a benchmark case's {', '.join(missing)}; "
                "is it a sciad results file?"
            )
    elif kind != "environment":
        raise SciadError(f"{path} line {number} is a record of kind {kind!r}; sciad's kinds are 'environment' and 'case'")
    return record


def cases(records) -> list[dict]:
    return [r for r in records if r.get("kind", "case") == "case"]


def environments(records) -> list[dict]:
    return [r for r in records if r.get("kind") == "environment"]


def case_key(record: dict) -> tuple:
    return (
        record["problem"],
        record["transform"],
        record["framework"],
        record["mode"],
        record["size"],
        record["dtype"],
        record.get("device_requested", record["device"]),
        record.get("devices"),  # scaling cases (`sciad bench --devices`): the device count and the scaling kind
        record.get("scaling"),
    )


def latest(records) -> list[dict]:
    """The last record of each case, in the order the cases first appear: a retried case's record supersedes
    the failed one before it, which stays in the file."""
    found = {}
    for record in cases(records):
        key = case_key(record)
        found.pop(key, None)
        found[key] = record
    return list(found.values())


def superseded(records) -> list[dict]:
    """The case records a later record of the same case replaced (failures `--retry-failed` measured again)."""
    last = {case_key(r): id(r) for r in cases(records)}
    return [r for r in cases(records) if last[case_key(r)] != id(r)]


def settings_of(records) -> list[dict]:
    """Each case record's settings: its own (`settings`, `versions`), or for a file written before cases
    recorded theirs, the environment record it follows. A setting nobody recorded is None."""
    found, env = [], {}
    for record in records:
        if record.get("kind") == "environment":
            env = record
            continue
        if isinstance(record.get("settings"), dict):
            settings = dict(record["settings"])
        else:
            options = env.get("options") or {}
            settings = {"threads": env.get("threads"), **{name: options.get(name) for name in SETTINGS[1:]}}
        versions = record.get("versions") or env.get("versions")
        settings["versions"] = versions if isinstance(versions, dict) else {}
        found.append(settings)
    return found


def _show(value) -> str:
    return f"{value:g}" if isinstance(value, (int, float)) and not isinstance(value, bool) else str(value)


def check_resume(records, path, settings: dict, env: dict) -> None:
    """Refuse to add cases measured under other settings, versions or hardware than `path`'s cases were."""
    if not cases(records):
        return
    differences = []
    recorded = settings_of(records)
    for name in SETTINGS:
        values = sorted({_show(s[name]) for s in recorded if s.get(name) is not None and s[name] != settings[name]})
        if values:
            differences.append(f"{OPTION_NAMES[name]} {', '.join(values)} (this run: {_show(settings[name])})")
    current = env["versions"]
    for package in current:
        values = sorted({str(s["versions"][package]) for s in recorded if s["versions"].get(package)} - {current[package]})
        if values:
            differences.append(f"{package} {', '.join(values)} (this run: {current[package]})")
    for field, label in (("cpu", "CPU"), ("gpus", "GPUs")):
        values = sorted({json.dumps(e.get(field)) for e in environments(records) if field in e} - {json.dumps(env[field])})
        if values:
            differences.append(f"{label} {', '.join(values)} (this run: {json.dumps(env[field])})")
    if differences:
        raise SciadError(
            f"{path} holds cases measured with {'; '.join(differences)}: resume with the options it was measured with, "
            "or pass --allow-mixed-settings to add cases measured differently (each case records its own settings)"
        )


def check_out(path) -> None:
    """Refuse a results path that cannot be one, before anything runs."""
    path = pathlib.Path(path)
    if path.is_dir():
        raise SciadError(f"results file {path} is a directory; --out names the JSON Lines file to write, e.g. {path / 'r.jsonl'}")
    for suffix in SIDE_SUFFIXES:
        if path.name.endswith(suffix):
            raise SciadError(
                f"results file {path} ends in {suffix}, a name sciad gives the files beside a results file "
                f"({', '.join(SIDE_SUFFIXES)}); choose another --out"
            )


class ResultsFile:
    """A results file held exclusively by one run, from opening to `close`.

    Opening takes an exclusive lock (`fcntl.flock` on `<file>.lock`, which holds the PID of its holder), then
    creates the file (failing if it exists, unless resuming) or reads it. A cut-off last line, the trace of a
    run killed mid-write, is moved to `<file>.corrupt` before anything is appended (a complete record that
    lacks only its newline gets the newline). Each record is then written with one `write` and flushed to
    disk; a write that fails (disk full, file made read-only) is cut back to the last whole record, and
    raises `SciadError`.
    """

    def __init__(self, path, *, resume: bool):
        self.path = pathlib.Path(path)
        self.notes: list[str] = []
        check_out(self.path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise SciadError(f"cannot create the directory of results file {self.path} ({exc.strerror or exc})") from None
        self.lock = Lock(side_file(self.path, LOCK_SUFFIX), self.path)
        try:
            self.fd = self._open(resume)
        except BaseException:
            self.lock.release()
            raise
        try:
            self.numbered = self._read_and_repair()
        except BaseException:
            self.close()
            raise

    def _open(self, resume: bool) -> int:
        flags = os.O_RDWR | os.O_APPEND | os.O_CREAT | (0 if resume else os.O_EXCL)
        try:
            return os.open(self.path, flags, 0o644)
        except FileExistsError:
            raise SciadError(
                f"results file {self.path} exists; pass --resume to run only its missing cases, or choose another --out"
            ) from None
        except OSError as exc:
            raise SciadError(f"cannot write results file {self.path} ({exc.strerror or exc})") from None

    def _read_and_repair(self) -> list[tuple[int, dict]]:
        size = os.fstat(self.fd).st_size
        data = os.pread(self.fd, size, 0) if size else b""
        numbered = parse(data, self.path)  # a line that is not sciad's stops here, before anything is written
        if data and not data.endswith(b"\n"):
            cut = data.rfind(b"\n") + 1
            fragment = data[cut:]
            if not _cut_off(fragment):
                self._append(b"\n")  # a whole record that lacks only its newline
                self.notes.append(f"{self.path} lacked its final newline; it was added")
            else:
                corrupt = side_file(self.path, CORRUPT_SUFFIX)
                try:
                    with open(corrupt, "ab") as side:
                        side.write(fragment + b"\n")
                        side.flush()
                        os.fsync(side.fileno())
                    os.ftruncate(self.fd, cut)
                except OSError as exc:
                    raise SciadError(
                        f"{self.path} ends in a cut-off line that could not be moved to {corrupt} ({exc.strerror or exc})"
                    ) from None
                self.notes.append(
                    f"{self.path} ended in a cut-off line ({len(fragment)} bytes, from a run stopped mid-write); "
                    f"it was moved to {corrupt}"
                )
        size = os.fstat(self.fd).st_size
        self.next_line = os.pread(self.fd, size, 0).count(b"\n") + 1 if size else 1
        return numbered

    @property
    def records(self) -> list[dict]:
        return [record for _, record in self.numbered]

    def _append(self, data: bytes) -> None:
        # One write: O_APPEND puts it at the end, whole. A regular file takes fewer bytes only when it cannot
        # take them all (a full disk): writing the rest then raises the reason, and `write` cuts the part back.
        while data:
            written = os.write(self.fd, data)
            if not written:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            data = data[written:]

    def write(self, record: dict) -> None:
        data = (json.dumps(record, default=float) + "\n").encode()
        size = os.fstat(self.fd).st_size
        try:
            self._append(data)
            os.fsync(self.fd)
        except OSError as exc:
            try:
                os.ftruncate(self.fd, size)  # no part of a record stays behind
            except OSError:
                pass
            done = len(cases(self.records))
            raise SciadError(
                f"cannot write to results file {self.path} ({exc.strerror or exc}), so the last case was not recorded; "
                f"the {done} cases before it are intact, and --resume runs the rest"
            ) from None
        self.numbered.append((self.next_line, record))
        self.next_line += 1

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None
        self.lock.release()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class Lock:
    """An exclusive `flock` on a lock file beside the results file, holding the holder's PID.

    The kernel releases it when its process ends, however it ends. `release` removes the file while still
    holding it; a process that opened the old file meanwhile sees it is gone after locking, and retries.
    """

    def __init__(self, path: pathlib.Path, results_path: pathlib.Path):
        self.path = path
        while True:
            try:
                fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
            except OSError as exc:
                raise SciadError(
                    f"cannot create the lock file {path} beside results file {results_path} ({exc.strerror or exc})"
                ) from None
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                holder = _holder(fd)
                os.close(fd)
                raise SciadError(
                    f"results file {results_path} is being written by another sciad run "
                    f"({'PID ' + holder if holder else 'its PID not yet recorded'}); wait for it to end, or choose another --out"
                ) from None
            try:
                current = os.stat(path)
            except FileNotFoundError:
                current = None
            if current is not None and os.path.samestat(os.fstat(fd), current):
                break
            os.close(fd)  # its holder removed it between our open and our lock: take the new one
        content = os.pread(fd, 64, 0).strip()
        if content and not content.isdigit():
            os.close(fd)
            raise SciadError(f"{path} exists and is not a sciad lock file; move it, or choose another --out")
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self.fd = fd

    def release(self) -> None:
        if self.fd is None:
            return
        try:
            os.unlink(self.path)
        except OSError:
            pass
        os.close(self.fd)
        self.fd = None


def _holder(fd: int) -> str | None:
    """The PID in a lock file another process holds; it writes it just after locking, so wait a moment for it."""
    for _ in range(20):
        content = os.pread(fd, 64, 0).strip()
        if content.isdigit():
            return content.decode()
        time.sleep(0.05)
    return None


def package_version(package: str) -> str | None:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


def cpu_model() -> str:
    try:
        for line in pathlib.Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _gpus() -> list[str]:
    try:
        out = subprocess.run(
            ["nvidia-smi", "--query-gpu=name,memory.total,driver_version", "--format=csv,noheader"],
            capture_output=True,
            text=True,
            timeout=20,
        )
        return [line.strip() for line in out.stdout.splitlines() if line.strip()]
    except (OSError, subprocess.TimeoutExpired):
        return []


def _git_commit() -> str | None:
    try:
        root = pathlib.Path(__file__).resolve().parents[3]
        out = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10)
        dirty = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"], capture_output=True, text=True, timeout=10
        ).stdout.strip()
        return (out.stdout.strip() + ("-dirty" if dirty else "")) or None
    except (OSError, subprocess.TimeoutExpired):
        return None


def environment(threads: int, options: dict) -> dict:
    """Everything a reader needs to interpret the numbers: versions, hardware, threads, precision."""
    return {
        "kind": "environment",
        "started": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "command": " ".join(["sciad", *sys.argv[1:]]) if sys.argv and sys.argv[0].endswith("sciad") else " ".join(sys.argv),
        "git_commit": _git_commit(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu": cpu_model(),
        "cpu_count": os.cpu_count(),
        "gpus": _gpus(),
        "pid": os.getpid(),
        "threads": threads,
        "versions": {p: v for p in PACKAGES if (v := package_version(p))},
        "precision": {
            "jax_enable_x64": True,
            "jax_default_matmul_precision": "highest",
            "torch_float32_matmul_precision": "highest",
            "torch_allow_tf32": False,
        },
        "options": options,
        "inductor_cache": os.environ.get("TORCHINDUCTOR_CACHE_DIR"),
        "xla_python_client_preallocate": os.environ.get("XLA_PYTHON_CLIENT_PREALLOCATE"),
        # Set, glibc maps every allocation this large on its own and unmaps it on free: CPU peak memory then
        # counts live large buffers, not freed ones the heap keeps (it also changes timings a little).
        "malloc_mmap_threshold": os.environ.get("MALLOC_MMAP_THRESHOLD_"),
    }
