"""Where problems come from: the entry-point group `sciad.problems`, the way pytest finds its plugins.

Each entry is `<problem name> = "<package>.<module>"`, a module laid out like this repository's problem
folders: `SPEC` (a `sciad.Problem`) in its `__init__`, `jax_impl` and `torch_impl` beside it. This
repository's own problems register themselves the same way, in its pyproject.toml, so another package's
problems appear in `sciad list | check | bench` and `sciad.transform` once it is pip-installed.

The core never imports a problem package by name: it asks this module.
"""

from __future__ import annotations

import functools
import importlib
import importlib.metadata
import pathlib
import tomllib
from typing import NamedTuple

from .errors import SciadError, choose
from .spec import Problem

GROUP = "sciad.problems"


class Entry(NamedTuple):
    name: str
    module: str
    distribution: str


@functools.cache
def entries() -> dict[str, Entry]:
    """Every registered problem, by name (installers do not keep the order a package declares them in)."""
    found: dict[str, Entry] = {}
    for name, module, distribution in _declared():
        if ":" in module or not all(part.isidentifier() for part in module.split(".")):
            raise SciadError(f"entry point {name} = {module!r} of {distribution} must name a module, as package.module")
        held = found.get(name)
        if held and held.module != module:
            raise SciadError(
                f"problem {name!r} is registered twice, by {held.distribution} ({held.module}) and by {distribution} "
                f"({module}); uninstall one of them"
            )
        found.setdefault(name, Entry(name, module, distribution))
    return dict(sorted(found.items()))


def _declared() -> list[tuple[str, str, str]]:
    """(problem name, module, distribution) of every entry point in the group."""
    points = importlib.metadata.entry_points(group=GROUP)
    declared = [(ep.name, ep.value, ep.dist.name if ep.dist else "an unknown package") for ep in points]
    if not any(distribution == "sciad" for _, _, distribution in declared) and _checkout_pyproject():
        # Run from a checkout without installing it (PYTHONPATH=src:. on a host with no network): there is no
        # metadata for this repository's own problems, so read them where pip would, from its pyproject.toml.
        table = _checkout_pyproject()["project"].get("entry-points", {}).get(GROUP, {})
        declared += [(name, module, "sciad (checkout)") for name, module in table.items()]
    return declared


@functools.cache
def _checkout_pyproject() -> dict | None:
    path = pathlib.Path(__file__).resolve().parents[2] / "pyproject.toml"
    if not path.is_file():
        return None
    declared = tomllib.loads(path.read_text())
    return declared if declared.get("project", {}).get("name") == "sciad" else None


def names() -> tuple[str, ...]:
    return tuple(entries())


@functools.cache
def get(name: str) -> Problem:
    """The `Problem` registered as `name`."""
    choose("problem", name, names())
    entry = entries()[name]
    spec = getattr(importlib.import_module(entry.module), "SPEC", None)
    if not isinstance(spec, Problem):
        raise SciadError(
            f"module {entry.module} (problem {name!r}, from {entry.distribution}) must define SPEC = sciad.Problem(...)"
        )
    if spec.name != name:
        raise SciadError(f"module {entry.module} is registered as problem {name!r}, but its SPEC is named {spec.name!r}")
    return spec


def select(selected=None) -> list[Problem]:
    """The named problems (each name checked, each once), or every registered one."""
    if not selected:
        return [get(name) for name in names()]
    for name in selected:
        choose("problem", name, names())
        if list(selected).count(name) > 1:
            raise SciadError(f"problem {name!r} is named {list(selected).count(name)} times; name each problem once")
    return [get(name) for name in selected]
