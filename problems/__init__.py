"""This repository's problems, one folder each, registered in pyproject.toml's `sciad.problems` entry points.

    import problems
    problems.names()                      # this package's problems, in catalogue order
    spec = problems.get("lennard_jones")  # the Problem record
    from problems.lennard_jones import jax_impl, torch_impl

sciad itself finds problems through the entry points (`sciad.registry`), so problems of other installed
packages join `sciad list | check | bench` too; this module is the research scripts' interface to ours.
Importing it loads NumPy and SciPy (the references), never a framework: `spec.implementation(framework)`
imports one.
"""

from __future__ import annotations

from sciad import registry
from sciad.errors import choose
from sciad.spec import Problem


def names() -> tuple[str, ...]:
    return tuple(name for name, entry in registry.entries().items() if entry.module.startswith(f"{__name__}."))


def get(name: str) -> Problem:
    choose("problem", name, names())
    return registry.get(name)


SPECS: tuple[Problem, ...] = tuple(get(name) for name in names())
