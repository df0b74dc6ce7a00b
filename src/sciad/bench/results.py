"""Results as JSON Lines: environment records (`"kind": "environment"`) and one record per case.

Every record is written and flushed as its case finishes, so a run killed at any moment keeps each
finished case; a torn last line (killed mid-write) is ignored on reading.
"""

from __future__ import annotations

import datetime
import importlib.metadata
import json
import os
import pathlib
import platform
import subprocess
import sys

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
    "torch",
    "equinox",
    "diffrax",
    "optax",
    "torchdiffeq",
)


def read(path) -> list[dict]:
    records = []
    text = pathlib.Path(path).read_text()
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError as exc:
            if number == len(text.splitlines()) and not text.endswith("\n"):
                continue  # the last line was being written when the run was killed
            raise SciadError(f"{path} line {number} is not a JSON record ({exc.msg}); is it a sciad results file?") from None
    return records


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
    )


class Writer:
    """Appends records to a results file, flushing each one to disk."""

    def __init__(self, path: pathlib.Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.handle = open(path, "a")  # noqa: SIM115 — kept open for the run

    def write(self, record: dict) -> None:
        self.handle.write(json.dumps(record, default=float) + "\n")
        self.handle.flush()
        os.fsync(self.handle.fileno())

    def close(self):
        self.handle.close()


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
