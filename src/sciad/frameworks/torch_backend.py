"""The torch adapter (torch.func). Importing it turns TF32 off so float32 parity means IEEE fp32."""

from __future__ import annotations

import numpy as np
import torch
import torch.func

from ..errors import SciadError
from ..names import Mode
from ..names import mode as mode_record
from ..trees import tree_map
from . import use_local_inductor_cache
from ._common import check_options, numpy_leaf

use_local_inductor_cache()

torch.set_float32_matmul_precision("highest")
torch.backends.cuda.matmul.allow_tf32 = False
torch.backends.cudnn.allow_tf32 = False

# Every transform builder is one Python function whose closures differ by problem, so dynamo sees the
# same code object compiled again and again. Past its recompile limit (8) dynamo silently runs the
# function eagerly, and a "compile" cell or benchmark would measure eager torch.func. Lift the limits
# and make hitting them an error, so that compile always means compiled.
_dynamo_config = torch._dynamo.config
for _limit in ("recompile_limit", "cache_size_limit", "accumulated_recompile_limit", "accumulated_cache_size_limit"):
    if hasattr(_dynamo_config, _limit):
        setattr(_dynamo_config, _limit, 1_000_000)
_dynamo_config.fail_on_recompile_limit_hit = True


class Adapter:
    name = "torch"
    array_types = (torch.Tensor,)

    # -- conversion -------------------------------------------------------------------------------

    def device(self, device: str | None) -> torch.device:
        if device in (None, "cpu"):
            return torch.device("cpu")
        if device == "auto":
            return torch.device("cuda" if torch.cuda.is_available() else "cpu")
        if not torch.cuda.is_available():
            raise SciadError("device 'cuda' was asked for, but torch sees no GPU; devices are: cpu")
        return torch.device("cuda")

    def has_cuda(self) -> bool:
        return torch.cuda.is_available()

    def convert(self, tree, dtype: str | None = None, device: str | None = None):
        check_options(dtype, device)
        target = self.device(device)

        def leaf(value):
            if isinstance(value, (bool, int, float)):
                return value  # Python scalars stay Python: loop counts, constants
            tensor = value if isinstance(value, torch.Tensor) else torch.from_numpy(np.array(numpy_leaf(value, "torch")))
            if dtype is not None and tensor.is_floating_point():
                tensor = tensor.to(getattr(torch, dtype))
            return tensor.to(target)

        return tree_map(leaf, tree)

    def to_numpy(self, tree):
        return tree_map(lambda v: v.detach().cpu().numpy() if isinstance(v, torch.Tensor) else v, tree)

    def sync(self, tree):
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        return tree

    def devices(self) -> list[str]:
        """The devices this framework sees: the CPU and each CUDA device by name."""
        return ["cpu"] + [f"cuda:{i} {torch.cuda.get_device_name(i)}" for i in range(torch.cuda.device_count())]

    def set_threads(self, threads: int) -> None:
        torch.set_num_threads(threads)

    def graph_count(self) -> int:
        """How many graphs torch.compile has made in this process."""
        from torch._dynamo.utils import counters

        return int(counters["stats"].get("unique_graphs", 0))

    def reset_peak_memory(self) -> int:
        """Start a device-memory peak measurement; returns the bytes allocated now."""
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        return torch.cuda.memory_allocated()

    def peak_memory(self, base: int) -> int | None:
        return int(torch.cuda.max_memory_allocated() - base)

    def device_name(self, tree) -> str:
        found = []
        tree_map(lambda v: found.append(v.device.type) if isinstance(v, torch.Tensor) else None, tree)
        return found[0] if found else "cpu"

    # -- modes ------------------------------------------------------------------------------------

    def compile(self, fn, mode: str | Mode):
        mode = mode_record(self.name, mode) if isinstance(mode, str) else mode
        # torch.compile outside the torch.func transform: dynamo traces through functorch transforms.
        # dynamic=False: a recompile for a new shape (the shared builder code again) would otherwise turn
        # on automatic dynamic shapes and time a symbolic-shape graph.
        return torch.compile(fn, dynamic=False) if mode.compiled else fn

    # -- primitive transforms, with one calling convention for both frameworks -------------------

    grad = staticmethod(torch.func.grad)
    jacfwd = staticmethod(torch.func.jacfwd)
    jacrev = staticmethod(torch.func.jacrev)
    hessian = staticmethod(torch.func.hessian)

    @staticmethod
    def value_and_grad(fn):
        # torch.func.grad_and_value returns (grad, value): the reverse of jax.value_and_grad.
        grad_and_value = torch.func.grad_and_value(fn)

        def value_and_grad(*inputs):
            gradient, value = grad_and_value(*inputs)
            return value, gradient

        return value_and_grad

    @staticmethod
    def jvp(fn, primal, tangent):
        return torch.func.jvp(fn, (primal,), (tangent,))

    @staticmethod
    def vjp(fn, primal):
        """`(fn(primal), pullback)`, the pullback mapping an output cotangent to the input's."""
        out, pullback = torch.func.vjp(fn, primal)
        return out, lambda cotangent: pullback(cotangent)[0]

    @staticmethod
    def vmap(fn, in_dims):
        return torch.func.vmap(fn, in_dims=in_dims)
