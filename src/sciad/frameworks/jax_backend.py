"""The JAX adapter. Importing it enables float64 — before any array exists — and full-precision matmuls."""

from __future__ import annotations

import jax

# x64 must be on before the first array is created, or float64 inputs silently become float32.
jax.config.update("jax_enable_x64", True)
# On GPUs JAX would compute float32 matmuls in TF32; torch does not. Parity needs both in IEEE fp32.
jax.config.update("jax_default_matmul_precision", "highest")

import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

from ..errors import SciadError  # noqa: E402
from ..names import Mode  # noqa: E402
from ..names import mode as mode_record  # noqa: E402
from ..trees import tree_map  # noqa: E402
from ._common import check_options, numpy_leaf  # noqa: E402

_SCALARS = (bool, int, float)
# A CUDA device's platform: "gpu" in the jaxlib releases sciad supports, "cuda" in some; accept both.
GPU_PLATFORMS = ("gpu", "cuda")


def _has_scalar(leaves) -> bool:
    for leaf in leaves:  # a plain loop: any() over a generator costs more per call
        if isinstance(leaf, _SCALARS):
            return True
    return False


def static_scalar_jit(fn):
    """`jax.jit` with the Python scalars of the inputs static (step counts drive lax.scan lengths).

    equinox.filter_jit does the same but costs ~60 µs per call on a CPU (measured: 75 µs against
    12.5 µs for a plain jax.jit closure on a 1000-element gradient), which would dominate every small
    benchmark. Every Python operation here is paid per call, so inputs without Python scalars go
    straight to a plain jax.jit (~1 µs over calling it directly: lse's n = 2500 gradient takes 22.5 µs
    against 21.5 µs). Otherwise a call flattens the inputs once, looks the compiled function up by the
    structure and the scalars' values, and passes the leaves on with each scalar replaced by None (an
    empty pytree), so only the arrays are traced (~3 µs over plain jax.jit).
    """
    plain = jax.jit(fn)
    cache = {}

    def split(inputs):
        """The jitted function for these inputs and the arguments to call it with."""
        leaves, treedef = jax.tree_util.tree_flatten(inputs)
        if not _has_scalar(leaves):
            return plain, inputs
        static = tuple([leaf if isinstance(leaf, _SCALARS) else None for leaf in leaves])
        jitted = cache.get((treedef, static))
        if jitted is None:

            def on_arrays(arrays):
                merged = [leaf if scalar is None else scalar for leaf, scalar in zip(arrays, static)]
                return fn(*jax.tree_util.tree_unflatten(treedef, merged))

            jitted = cache[(treedef, static)] = jax.jit(on_arrays)
        return jitted, ([leaf if scalar is None else None for leaf, scalar in zip(leaves, static)],)

    def call(*inputs):
        jitted, arguments = split(inputs)
        return jitted(*arguments)

    def lower(*inputs):
        """The `jax.stages.Lowered` of a call: XLA's cost analysis reads it."""
        jitted, arguments = split(inputs)
        return jitted.lower(*arguments)

    call.lower = lower
    return call


class Adapter:
    name = "jax"
    array_types = (jax.Array,)

    # -- conversion -------------------------------------------------------------------------------

    def device(self, device: str | None):
        if device in (None, "cpu"):
            return jax.devices("cpu")[0]
        gpus = [d for d in jax.devices() if d.platform in GPU_PLATFORMS]
        if device == "auto":
            return gpus[0] if gpus else jax.devices("cpu")[0]
        if not gpus:
            raise SciadError("device 'cuda' was asked for, but JAX sees no GPU; devices are: cpu")
        return gpus[0]

    def has_cuda(self) -> bool:
        return any(d.platform in GPU_PLATFORMS for d in jax.devices())

    def convert(self, tree, dtype: str | None = None, device: str | None = None):
        check_options(dtype, device)
        target = self.device(device)

        def leaf(value):
            if isinstance(value, (bool, int, float)):
                return value  # Python scalars stay static: step counts, constants
            if isinstance(value, jax.Array):
                array = value
            else:
                array = jnp.asarray(numpy_leaf(value, "jax"))
            if dtype is not None and jnp.issubdtype(array.dtype, jnp.floating):
                array = array.astype(dtype)
            return jax.device_put(array, target)

        return tree_map(leaf, tree)

    def to_numpy(self, tree):
        return tree_map(lambda v: np.asarray(v) if isinstance(v, (jax.Array, np.ndarray)) else v, tree)

    def sync(self, tree):
        return jax.block_until_ready(tree)

    def devices(self) -> list[str]:
        """The devices this framework sees, as `platform:id kind`."""
        return [f"{d.platform}:{d.id} {getattr(d, 'device_kind', '')}".strip() for d in jax.devices()]

    def precision(self) -> dict:
        return {
            "jax_enable_x64": bool(jax.config.jax_enable_x64),
            "jax_default_matmul_precision": str(jax.config.jax_default_matmul_precision),
        }

    def set_threads(self, threads: int) -> None:
        pass  # XLA's CPU thread pool follows the process's CPU affinity, which the worker sets

    def graph_count(self) -> None:
        return None  # the benchmark counts JAX's traces with the function it jits

    def _gpu_stats(self) -> dict:
        gpus = [d for d in jax.devices() if d.platform in GPU_PLATFORMS]
        return (gpus[0].memory_stats() or {}) if gpus else {}

    # JAX cannot reset its device's peak: `peak_bytes_in_use` is the process's lifetime peak. A case's peak
    # is known only where that lifetime peak rose during the case; elsewhere (after a larger case) it is
    # unknown, and the benchmark's record keeps XLA's own buffer assignment (`xla_temp_bytes`) instead.
    peak_memory_method = "rise of jax peak_bytes_in_use over bytes_in_use at the start, where the lifetime peak rose"

    def reset_peak_memory(self) -> tuple[int, int]:
        """Start a device-memory peak measurement: the bytes in use and the lifetime peak now."""
        stats = self._gpu_stats()
        return stats.get("bytes_in_use", 0), stats.get("peak_bytes_in_use", 0)

    def peak_memory(self, base: tuple[int, int]) -> int | None:
        in_use, lifetime_peak = base
        peak = self._gpu_stats().get("peak_bytes_in_use", 0)
        return int(peak - in_use) if peak > lifetime_peak else None

    def device_name(self, tree) -> str:
        leaves = [leaf for leaf in jax.tree_util.tree_leaves(tree) if isinstance(leaf, jax.Array)]
        return "cuda" if leaves and leaves[0].devices().pop().platform in GPU_PLATFORMS else "cpu"

    # -- modes ------------------------------------------------------------------------------------

    def compile(self, fn, mode: str | Mode):
        mode = mode_record(self.name, mode) if isinstance(mode, str) else mode
        return static_scalar_jit(fn) if mode.compiled else fn

    # -- primitive transforms, with one calling convention for both frameworks -------------------

    grad = staticmethod(jax.grad)
    jacfwd = staticmethod(jax.jacfwd)
    jacrev = staticmethod(jax.jacrev)
    hessian = staticmethod(jax.hessian)

    @staticmethod
    def value_and_grad(fn):
        return jax.value_and_grad(fn)

    @staticmethod
    def jvp(fn, primal, tangent):
        return jax.jvp(fn, (primal,), (tangent,))

    @staticmethod
    def vjp(fn, primal):
        """`(fn(primal), pullback)`, the pullback mapping an output cotangent to the input's."""
        out, pullback = jax.vjp(fn, primal)
        return out, lambda cotangent: pullback(cotangent)[0]

    @staticmethod
    def vmap(fn, in_dims):
        return jax.vmap(fn, in_axes=in_dims)
