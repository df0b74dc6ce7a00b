"""sciad: the same problems in JAX and PyTorch (torch.func), with derivatives proven to agree.

This package is framework-neutral: importing it loads neither jax nor torch. A framework is loaded the
first time something asks for it (`convert`, `transform`, `Problem.implementation`).
"""

from __future__ import annotations

from .errors import SciadError
from .names import DTYPES, FRAMEWORKS, MODES
from .spec import KnownFailure, Layout, Problem, Reference, Tolerance, Variant

__all__ = [
    "DTYPES",
    "FRAMEWORKS",
    "MODES",
    "KnownFailure",
    "Layout",
    "Problem",
    "Reference",
    "SciadError",
    "Tolerance",
    "Variant",
    "convert",
    "default_mode",
    "to_numpy",
    "transform",
]


def convert(tree, framework: str, dtype: str | None = None, device: str | None = None):
    """NumPy inputs (nested dicts/tuples of arrays and Python scalars) as `framework` arrays.

    Python scalars stay as they are; floating arrays are cast to `dtype` when given.
    """
    from . import frameworks

    return frameworks.load(framework).convert(tree, dtype=dtype, device=device)


def to_numpy(tree):
    """Framework arrays (any nesting) back to NumPy."""
    from .trees import tree_map

    def leaf(value):
        if hasattr(value, "detach"):
            return value.detach().cpu().numpy()
        if hasattr(value, "__array__") and not isinstance(value, (int, float)):
            import numpy as np

            return np.asarray(value)
        return value

    return tree_map(leaf, tree)


def compile(fn, framework: str, mode: str | None = None):
    """`fn` compiled the way sciad compiles transforms: jax 'jit' (Python scalars static), torch 'compile'.

    `mode` defaults to the framework's first compiled mode; an eager mode returns `fn` itself.
    """
    from . import frameworks
    from .names import compiled_mode

    return frameworks.load(framework).compile(fn, mode or compiled_mode(framework).name)


def default_mode(framework: str) -> str:
    """The mode sciad uses for `framework` when none is named: what its users run by default (jax 'jit',
    torch 'eager'). `sciad.transform`, `sciad check` and the property tests all use it."""
    from .names import mode

    return mode(framework).name


def transform(problem, transform: str, framework: str, mode: str | None = None, devices: int | None = None):
    """`problem`'s `transform` (see sciad.transforms) in `framework`, in `mode` (default: `default_mode`).

    `problem` is a registered name (`sciad list`) or a `Problem` record.

    `devices=N` shards it over N devices where `sciad.sharding.SHARDINGS` gives it a sharded form (vmap's
    batch, per_sample_grad's rows, a data mean's grad); any other transform is refused in one sentence.
    JAX runs it on a mesh of the first N devices (`jax.devices()`; on a CPU, simulate them with
    `XLA_FLAGS=--xla_force_host_platform_device_count=N` set before JAX is imported). torch: build and call
    it on every rank of an initialised process group of N ranks (launched by `torchrun`, or by
    `sciad.sharding.spawn`), each rank passing the same global inputs and getting the whole result.
    """
    from . import registry, transforms

    spec = registry.get(problem) if isinstance(problem, str) else problem
    if devices is not None:
        from . import sharding

        return sharding.build(spec, transform, framework, mode, devices)
    return transforms.build(spec, transform, framework, mode)
