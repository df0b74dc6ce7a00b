"""The layering is a contract: the core finds its problems through entry points, imports no framework
outside the adapters, and has no import cycles. A problem package outside this repository, installed with
its own metadata, joins `sciad list | check | bench` like ours."""

from __future__ import annotations

import json
import os
import pathlib
import shutil
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
BIN = pathlib.Path(sys.executable).parent


def test_import_contracts_hold():
    """import-linter's contracts in pyproject.toml: no `problems` in the core, frameworks only in the adapters,
    no cycles."""
    result = subprocess.run([str(BIN / "lint-imports")], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-3000:]
    assert "Contracts: 3 kept, 0 broken." in result.stdout


@pytest.mark.parametrize(
    "module",
    ["sciad", "sciad.transforms", "sciad.checks", "sciad.parity", "sciad.registry", "sciad.cli", "sciad.bench.cli",
     "sciad.bench.cases", "sciad.bench.results", "sciad.bench.runner", "sciad.bench.worker", "sciad.bench.report"],
)
def test_importing_the_core_loads_no_problem_and_no_framework(module):
    code = f"import sys, {module}; print(' '.join(sorted({{m.split('.')[0] for m in sys.modules}})))"
    loaded = set(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split())
    assert not loaded & {"problems", "jax", "torch", "equinox", "diffrax", "optax"}


def _package(tmp: pathlib.Path, distribution: str, problem: str, registered_as: str) -> pathlib.Path:
    """A problem package made from a copy of problems/rosenbrock, with its own pyproject.toml."""
    source = tmp / distribution
    module = distribution.replace("-", "_")
    package = source / module / problem
    shutil.copytree(ROOT / "problems" / "rosenbrock", package, ignore=shutil.ignore_patterns("__pycache__"))
    init = package / "__init__.py"
    init.write_text(init.read_text().replace('name="rosenbrock"', f'name="{registered_as}"'))
    (source / module / "__init__.py").write_text("")
    (source / "pyproject.toml").write_text(
        f"""[build-system]
requires = ["setuptools>=68"]
build-backend = "setuptools.build_meta"

[project]
name = "{distribution}"
version = "0.0.1"

[project.entry-points."sciad.problems"]
{registered_as} = "{module}.{problem}"

[tool.setuptools.packages.find]
include = ["{module}*"]
"""
    )
    return source


def _install(source: pathlib.Path, site: pathlib.Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", "--target", str(site), str(source)],
        check=True,
        capture_output=True,
    )


def _sciad(site: pathlib.Path, *argv, cwd: pathlib.Path):
    env = dict(os.environ, PYTHONPATH=str(site))
    return subprocess.run([sys.executable, "-m", "sciad", *argv], cwd=cwd, env=env, capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def outside(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("outside")
    site = tmp / "site"
    _install(_package(tmp, "quartic-problems", "quartic", "quartic"), site)
    return tmp, site


def test_an_installed_package_s_problem_is_listed_checked_and_benchmarked(outside):
    tmp, site = outside
    listed = _sciad(site, "list", cwd=tmp)
    assert listed.returncode == 0, listed.stderr
    assert "quartic" in listed.stdout and "rosenbrock" in listed.stdout

    checked = _sciad(site, "check", "--problem", "quartic", "--dtype", "float64", cwd=tmp)
    assert checked.returncode == 0, checked.stdout[-2000:] + checked.stderr[-2000:]
    passed = [line for line in checked.stdout.splitlines() if line.endswith(" failed")][-1]
    assert passed.split()[0] != "0" and passed.endswith(" 0 failed"), passed

    out = tmp / "quartic.jsonl"
    bench = _sciad(
        site, "bench", "--problem", "quartic", "--transform", "grad", "--framework", "jax", "--size", "small",
        "--min-runs", "1", "--min-time", "0", "--out", str(out), cwd=tmp,
    )  # fmt: skip
    assert bench.returncode == 0, bench.stdout[-2000:] + bench.stderr[-2000:]
    cases = [json.loads(line) for line in out.read_text().splitlines() if '"kind": "environment"' not in line]
    assert {(c["problem"], c["framework"], c["status"]) for c in cases} == {("quartic", "jax", "ok")}


def test_a_problem_registered_twice_is_one_sentence_naming_both_packages(outside, tmp_path):
    _, site = outside
    _install(_package(tmp_path, "rival-problems", "rosenbrock_copy", "rosenbrock"), site)
    try:
        listed = _sciad(site, "list", cwd=tmp_path)
    finally:
        for path in site.glob("rival*"):
            shutil.rmtree(path)
    assert listed.returncode == 2
    assert "Traceback" not in listed.stderr
    assert "problem 'rosenbrock' is registered twice, by " in listed.stderr
    assert "rival-problems (rival_problems.rosenbrock_copy)" in listed.stderr and "sciad (problems.rosenbrock)" in listed.stderr
