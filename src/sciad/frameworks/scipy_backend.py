"""The adapter for benchmark baselines (`Baseline`): NumPy/SciPy functions, float64 on the CPU.

There is nothing to convert, synchronise or compile, so every method is the identity; the benchmark
worker drives a baseline through the same steps as a framework. Importing it loads neither jax nor torch.
"""

from __future__ import annotations

import numpy as np

from ..errors import SciadError
from ..names import BASELINE_DTYPE
from ..trees import tree_map
from ._common import check_options


class Adapter:
    name = "scipy"
    array_types = (np.ndarray,)

    def has_cuda(self) -> bool:
        return False

    def convert(self, tree, dtype: str | None = None, device: str | None = None):
        check_options(dtype, device)
        if device == "cuda":
            raise SciadError("device 'cuda' was asked for, but a SciPy baseline runs on the CPU; devices are: cpu")
        if dtype not in (None, BASELINE_DTYPE):
            raise SciadError(f"dtype {dtype!r} was asked for, but a SciPy baseline computes in {BASELINE_DTYPE}")
        return tree

    def to_numpy(self, tree):
        return tree_map(lambda v: np.asarray(v) if isinstance(v, np.generic) else v, tree)

    def sync(self, tree):
        return tree

    def devices(self) -> list[str]:
        return ["cpu"]

    def precision(self) -> dict:
        return {"numpy": "float64"}

    def set_threads(self, threads: int) -> None:
        pass  # BLAS threads follow OMP_NUM_THREADS, which the worker sets before NumPy loads

    def graph_count(self) -> None:
        return None

    def device_name(self, tree) -> str:
        return "cpu"

    def compile(self, fn, mode: str):
        return fn  # a baseline's mode names its method, chosen by the function itself
