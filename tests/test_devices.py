"""Device code paths that run without a GPU: refusals before anything runs, the device reaching conversion and
parity, known failures scoped by device and version, and the GPU script's refusal."""

from __future__ import annotations

import importlib.metadata
import os
import pathlib
import subprocess
import sys

import pytest

from sciad import parity, registry
from sciad.spec import KnownFailure

ROOT = pathlib.Path(__file__).resolve().parent.parent


def _cli(*argv, timeout=300):
    return subprocess.run([sys.executable, "-m", "sciad", *argv], capture_output=True, text=True, timeout=timeout, cwd=ROOT)


def _has_cuda() -> bool:
    import torch

    return torch.cuda.is_available()


@pytest.mark.parametrize(
    "command", [["check", "--problem", "rosenbrock"], ["bench", "--problem", "rosenbrock", "--out", "{tmp}/r.jsonl"]]
)
def test_cuda_without_a_gpu_is_one_line_and_exit_2(command, tmp_path):
    if _has_cuda():
        pytest.skip("this host has a GPU")
    result = _cli(*[part.format(tmp=tmp_path) for part in command], "--device", "cuda")
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert "device 'cuda' was asked for, but" in result.stderr and "sees no GPU" in result.stderr
    assert not (tmp_path / "r.jsonl").exists()  # refused before anything was written


def test_python_m_sciad_lists_the_problems():
    result = _cli("list")
    assert result.returncode == 0 and "rosenbrock" in result.stdout


def test_the_gpu_script_refuses_without_a_gpu(tmp_path):
    if _nvidia_smi() and subprocess.run(["nvidia-smi", "-L"], capture_output=True).returncode == 0:
        pytest.skip("this host has a GPU")
    result = subprocess.run(["bash", str(ROOT / "benchmarks/gpu/run.sh"), str(tmp_path / "out")], capture_output=True, text=True)
    assert result.returncode == 2
    assert result.stderr.strip() == "benchmarks/gpu/run.sh: no GPU on this host (nvidia-smi lists none); run it on a GPU host"
    assert not (tmp_path / "out").exists()


def _nvidia_smi() -> bool:
    return any((pathlib.Path(p) / "nvidia-smi").exists() for p in os.environ.get("PATH", "").split(os.pathsep))


def test_the_device_reaches_the_cells_and_their_conversion():
    spec = registry.get("rosenbrock")
    cells = parity.cells([spec], ("jax", "torch"), ("float64",), device="cuda")
    assert cells and all(cell.device == "cuda" and cell.id.endswith("-cuda") for cell in cells)
    if _has_cuda():
        pytest.skip("this host has a GPU: the cell would run")
    result = parity.run(next(cell for cell in cells if cell.framework == "torch"))
    assert not result.ok and "device 'cuda' was asked for, but torch sees no GPU" in result.message


def _installed(package: str) -> str:
    return importlib.metadata.version(package)


@pytest.mark.parametrize(
    "versions, holds",
    [
        (None, True),
        (f"torch=={_installed('torch')}", True),
        ("torch>=1", True),
        ("torch<1", False),
        ("jax>=1000", False),
        ("not-a-package-sciad-knows>=1", False),
    ],
)
def test_a_known_failure_holds_only_in_its_version_range(versions, holds):
    failure = KnownFailure("torch", "grad", "upstream reason", versions=versions)
    assert failure.matches("torch", "grad", "eager") is holds


def test_a_known_failure_holds_only_on_its_devices():
    failure = KnownFailure("torch", "grad", "an inductor failure on the CPU", devices=("cpu",))
    assert failure.matches("torch", "grad", "compile", device="cpu")
    assert not failure.matches("torch", "grad", "compile", device="cuda")


@pytest.mark.parametrize(
    "kwargs, message", [({"devices": ("tpu",)}, "unknown device 'tpu'"), ({"versions": "torch>>2"}, "requirement")]
)
def test_a_known_failure_s_scope_is_validated(kwargs, message):
    from sciad import SciadError

    with pytest.raises(SciadError, match=message):
        KnownFailure("torch", "grad", "reason", **kwargs)


def test_a_known_failure_of_another_version_is_a_maybe_not_a_must():
    import dataclasses

    spec = registry.get("rosenbrock")
    elsewhere = KnownFailure("torch", "grad", "fails on an old torch", versions="torch<1")
    here = KnownFailure("torch", "grad", "fails on this torch", versions=f"torch=={_installed('torch')}")
    cell = parity.Cell("rosenbrock", "torch", "float64", "grad")
    assert parity.known_failure(dataclasses.replace(spec, known_failures=(elsewhere,)), cell) is None
    assert "known to fail with torch<1" in parity.maybe_failure(dataclasses.replace(spec, known_failures=(elsewhere,)), cell)
    assert "fails on this torch" in parity.known_failure(dataclasses.replace(spec, known_failures=(here,)), cell)
    assert parity.maybe_failure(dataclasses.replace(spec, known_failures=(here,)), cell) is None


def test_torch_constants_are_built_once_per_dtype_and_device():
    import torch

    from sciad.frameworks.torch_backend import constant

    like64, like32 = torch.zeros(1, dtype=torch.float64), torch.zeros(1, dtype=torch.float32)
    assert constant([1.0, 2.0], like64) is constant([1.0, 2.0], like64)
    assert constant([1.0, 2.0], like32).dtype == torch.float32
    assert constant([1.0, 2.0], like32) is not constant([1.0, 2.0], like64)
    assert constant([1.0, 3.0], like64).tolist() == [1.0, 3.0]


@pytest.mark.parametrize("name", ["double_pendulum", "robertson", "gmm", "lotka_volterra"])
def test_a_torch_objective_builds_no_tensor_from_host_values_after_its_first_call(name, monkeypatch):
    """On a GPU each tensor built from host values is a blocking copy: the second call must build none."""
    import torch

    import sciad

    spec = registry.get(name)
    y, args = sciad.convert(spec.make_inputs("small"), "torch")
    objective = spec.implementation("torch").objective
    objective(y, args)
    built = []
    original = torch.tensor
    monkeypatch.setattr(torch, "tensor", lambda *a, **k: built.append(a) or original(*a, **k))
    objective(y, args)
    assert built == []


def test_each_case_records_the_precision_and_environment_its_worker_ran_with(tmp_path):
    import json

    out = tmp_path / "r.jsonl"
    argv = ["bench", "--problem", "rosenbrock", "--transform", "value", "--size", "small", "--framework", "jax"]
    result = _cli(*argv, "--mode", "jit", "--min-runs", "1", "--min-time", "0", "--out", str(out))
    assert result.returncode == 0, result.stderr
    case = [json.loads(line) for line in out.read_text().splitlines()][-1]
    assert case["worker_precision"] == {"jax_enable_x64": True, "jax_default_matmul_precision": "highest"}
    assert case["worker_environment"]["XLA_PYTHON_CLIENT_PREALLOCATE"] == "false"
    assert case["peak_mem_method"].startswith("rise of the resident set")
