"""The command line: `sciad list` and `sciad check`; bad options exit 2 with one sentence, no traceback."""

from __future__ import annotations

import subprocess
import sys

import pytest


def sciad(*argv):
    return subprocess.run([sys.executable, "-m", "sciad.cli", *argv], capture_output=True, text=True)


def test_list_names_every_problem():
    import problems

    result = sciad("list")
    assert result.returncode == 0
    for name in problems.names():
        assert name in result.stdout


def test_check_passes_a_problem_and_closes_with_counts():
    result = sciad("check", "--problem", "rosenbrock", "--framework", "jax", "--dtype", "float64")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "rosenbrock-jax-float64-grad " in result.stdout
    assert result.stdout.strip().splitlines()[-1].endswith(" passed, 0 failed")


@pytest.mark.parametrize(
    "argv, message",
    [
        (["check", "--problem", "nope"], "unknown problem 'nope'; problems are: bundle_adjustment, burgers_spectral"),
        (["check", "--framework", "mxnet"], "unknown framework 'mxnet'; frameworks are: jax, torch"),
        (["check", "--dtype", "int8"], "unknown dtype 'int8'; dtypes are: float64, float32"),
        (["frobnicate"], "invalid choice: 'frobnicate'"),
    ],
)
def test_bad_options_exit_2_with_one_sentence(argv, message):
    result = sciad(*argv)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr
