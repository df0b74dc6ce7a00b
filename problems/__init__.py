"""The problem registry: one line per problem. Every test cell and benchmark case is generated from it.

    import problems
    problems.names()                      # registered names, in catalogue order
    spec = problems.get("lennard_jones")  # the Problem record
    from problems.lennard_jones import jax_impl, torch_impl

Importing this package loads NumPy only; a framework is loaded by `spec.implementation(framework)`.
"""

from __future__ import annotations

import importlib

from sciad.errors import choose
from sciad.spec import Problem

REGISTERED = (
    "rosenbrock",
    "logistic_regression",
    "lennard_jones",
    "nbody",
    "lotka_volterra",
    "double_pendulum",
    "heat_inverse",
    "robertson",
    "burgers_spectral",
    "pinn_poisson",
    "neural_ode",
    "hmc",
    "gmm",
    "bundle_adjustment",
    "lstm",
    "kmeans",
    "ode_chain",
    "lse",
    "llsq",
    "det",
    "particle",
    "saddle",
    "sinkhorn",
    "mlp_ensemble",
)

SPECS: tuple[Problem, ...] = tuple(importlib.import_module(f"{__name__}.{name}").SPEC for name in REGISTERED)
_BY_NAME = {spec.name: spec for spec in SPECS}


def names() -> tuple[str, ...]:
    return REGISTERED


def get(name: str) -> Problem:
    choose("problem", name, REGISTERED)
    return _BY_NAME[name]
