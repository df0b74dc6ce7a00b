"""Framework adapters, loaded only when used (einops' backends idea): `import sciad` loads neither.

Each adapter exposes the same small surface — conversion, dtype and device handling, synchronisation,
compilation and the primitive transforms — so that `sciad.transforms` is written once for both.
"""

from __future__ import annotations

import importlib

from ..errors import choose
from ..spec import FRAMEWORKS

_loaded: dict = {}


def load(name: str):
    """The adapter for `name` ("jax" or "torch"), configured on first use."""
    choose("framework", name, FRAMEWORKS)
    if name not in _loaded:
        _loaded[name] = importlib.import_module(f"{__name__}.{name}_backend").Adapter()
    return _loaded[name]
