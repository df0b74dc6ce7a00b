"""Shared helpers for property tests: transformed functions built once per (problem, transform, framework),
shared with the parity cells (`parity.transformed`), so JAX compiles once per shape rather than once per
Hypothesis example or per test."""

from __future__ import annotations

import functools

import problems
import sciad
from sciad import frameworks, parity


def run(problem: str, transform: str, framework: str, y, args, *extra):
    """Apply a transform to NumPy inputs in `framework`'s default parity mode; NumPy out."""
    fn = parity.transformed(problem, transform, framework, sciad.default_mode(framework))
    return sciad.to_numpy(fn(*sciad.convert((y, args, *extra), framework)))


@functools.cache
def compiled(problem: str, function: str, framework: str):
    """An implementation function compiled in `framework`'s default parity mode, once per process, so JAX
    compiles once per shape and static arguments rather than once per Hypothesis example."""
    fn = getattr(problems.get(problem).implementation(framework), function)
    return frameworks.load(framework).compile(fn, sciad.default_mode(framework))
