"""The gradient-parity suite, generated from the registry: one test per cell of `sciad.parity`.

Each framework cell compares a transform's output with the problem's independent NumPy reference;
each ``jax_vs_torch`` cell compares the two frameworks with each other. Known upstream gaps run as
strict xfails carrying their reason, where their version range holds; with another version of the failing
package they run as non-strict xfails, since the gap may or may not be there.
"""

from __future__ import annotations

import pytest

import problems
from sciad import parity


def _param(cell: parity.Cell):
    spec = problems.get(cell.problem)
    if reason := parity.known_failure(spec, cell):
        marks = [pytest.mark.xfail(reason=reason, strict=True)]
    elif reason := parity.maybe_failure(spec, cell):
        marks = [pytest.mark.xfail(reason=reason, strict=False)]
    else:
        marks = []
    return pytest.param(cell, id=cell.id, marks=marks)


@pytest.mark.parametrize("cell", [_param(cell) for cell in parity.cells(problems.SPECS)])
def test_cell_agrees(cell):
    result = parity.run(cell)
    assert result.ok, f"{cell.id}: {result.message}"
