"""The registry is the architecture: folders on disk, registered names and both implementations agree."""

from __future__ import annotations

import pathlib
import subprocess
import sys

import pytest

import problems

ROOT = pathlib.Path(problems.__file__).resolve().parent


def test_every_problem_folder_is_registered():
    # A folder whose name starts with an underscore holds code shared by problems, not a problem.
    folders = {p.name for p in ROOT.iterdir() if (p / "__init__.py").exists() and not p.name.startswith("_")}
    assert folders == set(problems.names())


@pytest.mark.parametrize("name", problems.names())
def test_both_implementations_expose_the_public_functions(name):
    spec = problems.get(name)
    for framework in ("jax", "torch"):
        source = (ROOT / name / f"{framework}_impl.py").read_text()
        for function in spec.public_functions(framework):
            assert f"\ndef {function}(" in source, f"{framework}_impl of {name} lacks {function}()"


@pytest.mark.parametrize("name", problems.names())
def test_problem_package_is_numpy_only(name):
    source = (ROOT / name / "__init__.py").read_text()
    for framework in ("jax", "torch", "equinox", "diffrax"):
        assert f"import {framework}" not in source and f"from {framework}" not in source


@pytest.mark.parametrize("name", problems.names())
def test_inputs_follow_the_catalogue_layout(name):
    spec = problems.get(name)
    for dtype in ("float64", "float32"):
        y, args = spec.make_inputs("small", seed=3, dtype=dtype)
        assert spec.validate(y, args) == dtype


def _modules_loaded_by(statement: str) -> set[str]:
    code = f"import sys; {statement}; print(' '.join(sorted({{m.split('.')[0] for m in sys.modules}})))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    return set(out.split())


def test_importing_sciad_and_problems_loads_no_framework():
    loaded = _modules_loaded_by("import sciad, problems")
    assert not loaded & {"jax", "torch", "equinox", "diffrax", "optax"}


def test_jax_implementations_never_load_torch():
    imports = "; ".join(f"import problems.{name}.jax_impl" for name in problems.names())
    assert "torch" not in _modules_loaded_by(imports)


def test_torch_implementations_never_load_jax():
    imports = "; ".join(f"import problems.{name}.torch_impl" for name in problems.names())
    assert not _modules_loaded_by(imports) & {"jax", "equinox", "diffrax", "optax"}
