"""Framework adapters, loaded only when used (einops' backends idea): `import sciad` loads neither.

Each adapter exposes the same small surface — conversion, dtype and device handling, synchronisation,
compilation and the primitive transforms — so that `sciad.transforms` is written once for both.
"""

from __future__ import annotations

import importlib
import os

from ..errors import choose
from ..names import BASELINE_LIBRARIES, FRAMEWORKS

_loaded: dict = {}


def load(name: str, *, baselines: bool = False):
    """The adapter for `name` ("jax" or "torch"), configured on first use.

    With `baselines`, also a benchmark baseline's library ("scipy": identity conversions), which only the
    benchmark worker asks for: the public `sciad.convert` and the parity suite know the two frameworks alone.
    """
    choose("framework", name, FRAMEWORKS + (BASELINE_LIBRARIES if baselines else ()))
    if name not in _loaded:
        _loaded[name] = importlib.import_module(f"{__name__}.{name}_backend").Adapter()
    return _loaded[name]


def use_local_inductor_cache() -> str:
    """Point torch.compile's cache at `.cache/inductor` under the working directory, unless the user chose one.

    The default cache under /tmp is shared with every other process on the machine, so one project's
    compilations would evict or race another's. The torch adapter calls this when it loads; the
    benchmark's parent passes the result on to its workers.
    """
    return os.environ.setdefault("TORCHINDUCTOR_CACHE_DIR", os.path.abspath(os.path.join(".cache", "inductor")))
