"""The torch adapter: torch.func, and classic autograd (`Autograd`) for the modes that differentiate with it.

Importing it turns TF32 off so float32 parity means IEEE fp32."""

from __future__ import annotations

import functools
import threading

import numpy as np
import torch
import torch.func
from torch.utils import _pytree as pytree

from ..errors import SciadError
from ..names import Mode
from ..names import mode as mode_record
from ..trees import leaves, tree_map
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


_constants: dict = {}


def constant(values, like: torch.Tensor, dtype: torch.dtype | None = None) -> torch.Tensor:
    """`values` (numbers, nested sequences or a NumPy array of constants) as a tensor on `like`'s device, of
    `like`'s dtype (or `dtype`), made once per (values, dtype, device) and reused.

    An implementation that builds `torch.tensor(<host values>, device=...)` on every call pays a blocking
    host-to-device copy per call on a GPU, where JAX folds the same values into its program. Under
    torch.compile the tensor is built as usual: the compiled graph holds it as a constant.
    """
    dtype = dtype or like.dtype
    if torch.compiler.is_compiling():
        return torch.tensor(values, dtype=dtype, device=like.device)
    array = np.asarray(values)
    key = (array.shape, array.dtype.str, array.tobytes(), dtype, like.device)
    found = _constants.get(key)
    if found is None:
        # Made outside any torch.func transform level: a tensor made inside one belongs to it, and reused at
        # another level it would escape.
        with torch._C._DisableFuncTorch():
            found = _constants[key] = torch.tensor(array, dtype=dtype, device=like.device)
    return found


# -- compile regions ------------------------------------------------------------------------------

_regional = threading.local()
_compiled_regions: dict = {}


def region(fn):
    """Marks `fn`, the step of a loop that Python drives, as a compile region (regional compilation).

    A whole loop is better written with `scan`, which a regional mode compiles in one call; a region is for
    a step that torch's scan operator refuses, or for a costly part of a step (a field called per stage).

    Outside a regional mode (`names.Mode.regional`) the marked function is `fn` itself. In one, a call
    outside any torch.compile trace runs `torch.compile(fn, dynamic=False)`, made once per function: the
    Python loop around it stays eager, and the autograd (or torch.func) transform around the loop records
    through each compiled step, whose forward and backward AOTAutograd compiled once. Inside a trace the
    region is inlined, so a whole-function compile still sees one graph.

    A region is a module-level function whose arguments carry everything that varies between calls: a
    closure's cells, like any argument, are guarded by value, so a new closure per call would recompile.
    Python numbers that change every step (a step's time) must not be read by the region, or each value
    compiles its own graph.
    """

    @functools.wraps(fn)
    def call(*args, **kwargs):
        if not getattr(_regional, "on", False) or torch.compiler.is_compiling():
            return fn(*args, **kwargs)
        compiled = _compiled_regions.get(fn)
        if compiled is None:
            compiled = _compiled_regions[fn] = torch.compile(fn, dynamic=False)
        return compiled(*args, **kwargs)

    return call


def scan(step, carry, xs=None, length=None, compiled=True):
    """`jax.lax.scan` for torch: `step(carry, x) -> (carry, y)` over the leading axis of `xs` (or `length`
    times with x = None), returning the last carry and the y's stacked (None where the step returns None, or
    where there is no step).

    Outside a regional mode (`names.Mode.regional`), or inside a torch.compile trace (where a whole-function
    compile unrolls it), the loop is a Python loop. In one, the whole loop is one compiled call of torch's
    scan operator (`torch._higher_order_ops.scan`): the step is traced and compiled once, forward and
    backward, and the steps run inside the compiled program, where a compiled step called from a Python
    loop pays Dynamo's guards and AOTAutograd's wrappers on every step (`benchmarks/README.md`, "Regional
    compilation", has the measurements that chose it). With compiled=False the loop stays in Python in
    every mode, for a loop the scan operator refuses or a step whose costly part is better compiled on its
    own: the step (or that part) is then a `region`.
    """
    if length is None:
        length = len(pytree.tree_leaves(xs)[0])
    if length == 0:  # no step to run, so nothing says what a y would be
        return carry, None
    if compiled and getattr(_regional, "on", False) and not torch.compiler.is_compiling():
        return _compiled_scan(step, carry, xs, length)
    if xs is None:
        per_step = [None] * length
    else:
        flat, structure = pytree.tree_flatten(xs)
        per_step = [pytree.tree_unflatten(list(values), structure) for values in zip(*(leaf.unbind(0) for leaf in flat))]
    ys = []
    for x in per_step:
        carry, y = step(carry, x)
        ys.append(y)
    if ys[0] is None:
        return carry, None
    flat_ys = [pytree.tree_flatten(y)[0] for y in ys]
    return carry, pytree.tree_unflatten([torch.stack(column) for column in zip(*flat_ys)], pytree.tree_structure(ys[0]))


def _scan_operator(step, carry, xs, counts_only):
    from torch._higher_order_ops.scan import scan as scan_operator

    like = pytree.tree_leaves(carry)[0]

    # The operator wants tensors for x and y: without xs it scans a (length, 0) tensor that only counts the
    # steps, and a y of None is an empty (0,) tensor, whose stack (length, 0) `_compiled_scan` turns back into
    # None. Its outputs may not alias each other, so a y that is (part of) the carry is copied.
    def body(carry, x):
        carry, y = step(carry, None if counts_only else x)
        if y is None:
            return carry, torch.zeros((0,), dtype=like.dtype, device=like.device)
        return carry, pytree.tree_map(torch.clone, y)

    return scan_operator(body, carry, xs)


@functools.cache
def _compiled_scan_operator():
    # One compiled function for every step: dynamo caches a graph per step code and input shapes (the
    # limits are lifted above), and reads a new closure of the same code as the same graph. Inductor
    # lowers the operator to a while loop in its wrapper; the C++ wrapper runs that loop in compiled code
    # instead of calling Python per step (the measurements are in benchmarks/README.md).
    return torch.compile(_scan_operator, fullgraph=True, dynamic=False, options={"cpp_wrapper": True})


def _compiled_scan(step, carry, xs, length):
    counts_only = xs is None
    if counts_only:
        like = pytree.tree_leaves(carry)[0]
        xs = torch.zeros((length, 0), dtype=like.dtype, device=like.device)
    # Fresh inputs: the operator refuses a carry that is a view of another input (nbody's q = y[0]).
    carry, ys = _compiled_scan_operator()(step, pytree.tree_map(torch.clone, carry), xs, counts_only)
    no_y = isinstance(ys, torch.Tensor) and ys.shape == (length, 0)
    return carry, None if no_y else ys


def regional(fn):
    """`fn` with the compile regions it reaches compiled (see `region`), the rest eager."""

    @functools.wraps(fn)
    def call(*args, **kwargs):
        before = getattr(_regional, "on", False)
        _regional.on = True
        try:
            return fn(*args, **kwargs)
        finally:
            _regional.on = before

    return call


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
        # Wait for the GPU only where an output lives on it: a CPU case on a GPU host must not pay for it.
        if torch.cuda.is_available() and any(isinstance(leaf, torch.Tensor) and leaf.is_cuda for leaf in leaves(tree)):
            torch.cuda.synchronize()
        return tree

    def devices(self) -> list[str]:
        """The devices this framework sees: the CPU and each CUDA device by name."""
        return ["cpu"] + [f"cuda:{i} {torch.cuda.get_device_name(i)}" for i in range(torch.cuda.device_count())]

    def precision(self) -> dict:
        return {
            "torch_float32_matmul_precision": torch.get_float32_matmul_precision(),
            "torch_cuda_matmul_allow_tf32": bool(torch.backends.cuda.matmul.allow_tf32),
            "torch_cudnn_allow_tf32": bool(torch.backends.cudnn.allow_tf32),
        }

    def set_threads(self, threads: int) -> None:
        torch.set_num_threads(threads)

    def graph_count(self) -> int:
        """How many graphs torch.compile has made in this process."""
        from torch._dynamo.utils import counters

        return int(counters["stats"].get("unique_graphs", 0))

    peak_memory_method = "torch.cuda.max_memory_allocated after reset_peak_memory_stats, over memory_allocated at the start"

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
        # The transform builder decides what is compiled (`names.Mode.compiles`): the torch.func transform
        # (dynamo traces through functorch transforms) or the function that classic autograd differentiates.
        # dynamic=False: a recompile for a new shape (the shared builder code again) would otherwise turn
        # on automatic dynamic shapes and time a symbolic-shape graph.
        return torch.compile(fn, dynamic=False) if mode.compiled else fn

    regional = staticmethod(regional)

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


# -- classic autograd ------------------------------------------------------------------------------


def _rebuilt(tree, values):
    """`tree` with its leaves replaced by `values`, in `tree_map`'s order."""
    it = iter(values)
    return tree_map(lambda _: next(it), tree)


def _tangent(t):
    return torch.autograd.forward_ad.unpack_dual(t).tangent if isinstance(t, torch.Tensor) else None


def _differentiable(tree):
    """`(inputs, nested)`: `tree` with leaves that autograd records, and whether an outer derivative is
    being taken through this one (its leaves already record, or carry forward-mode tangents). A plain input
    becomes a detached copy that requires grad, as PyTorch users write it; an outer one is kept (a dual
    tensor made by `jvp` is a leaf and starts requiring grad in place), so that the outer derivative sees
    the inner one's graph (create_graph)."""
    nested = any(t.requires_grad or _tangent(t) is not None for t in leaves(tree))
    if nested:
        return tree_map(lambda t: t if t.requires_grad else t.requires_grad_(), tree), True
    return tree_map(lambda t: t.detach().requires_grad_(), tree), False


def _gradients(outputs, inputs, cotangents, create_graph: bool, batch: int | None = None):
    """The gradients of `outputs` with respect to the leaves of `inputs`, shaped like `inputs`; with
    `batch`, the cotangents carry a leading batch axis (is_grads_batched) and so do the gradients. An input
    the outputs do not depend on gets zeros (materialize_grads forgets the batch axis)."""
    flat = leaves(inputs)
    found = torch.autograd.grad(
        leaves(outputs),
        flat,
        grad_outputs=leaves(cotangents) if cotangents is not None else None,
        create_graph=create_graph,
        retain_graph=True if batch is not None else None,
        allow_unused=True,
        is_grads_batched=batch is not None,
    )
    leading = () if batch is None else (batch,)
    return _rebuilt(inputs, [g if g is not None else x.new_zeros(leading + x.shape) for g, x in zip(found, flat)])


def _result(tree, nested: bool):
    return tree if nested else tree_map(lambda t: t.detach() if isinstance(t, torch.Tensor) else t, tree)


class Autograd:
    """Classic autograd (torch.autograd.grad, create_graph, is_grads_batched, torch.autograd.forward_ad)
    behind torch.func's method names, so that the transform table's builders apply unchanged. What classic
    autograd cannot express (vmap and what needs it) is left out; the modes using it say so in
    `names.Mode.supports`."""

    @staticmethod
    def value_and_grad(fn):
        def value_and_grad(y, *rest):
            with torch.enable_grad():
                inputs, nested = _differentiable(y)
                value = fn(inputs, *rest)
                gradient = _gradients(value, inputs, None, create_graph=nested)
            return _result(value, nested), gradient

        return value_and_grad

    @staticmethod
    def grad(fn):
        value_and_grad = Autograd.value_and_grad(fn)
        return lambda y, *rest: value_and_grad(y, *rest)[1]

    @staticmethod
    def vjp(fn, primal):
        with torch.enable_grad():
            inputs, nested = _differentiable(primal)
            out = fn(inputs)

        def pullback(cotangent):
            with torch.enable_grad():
                return _gradients(out, inputs, cotangent, create_graph=nested)

        return _result(out, nested), pullback

    @staticmethod
    def jvp(fn, primal, tangent):
        forward_ad = torch.autograd.forward_ad
        with forward_ad.dual_level():
            duals = _rebuilt(primal, [forward_ad.make_dual(p, t) for p, t in zip(leaves(primal), leaves(tangent))])
            out = fn(duals)
            unpacked = [forward_ad.unpack_dual(o) for o in leaves(out)]
            value = _rebuilt(out, [u.primal.detach() for u in unpacked])
            derivative = _rebuilt(
                out, [u.tangent.detach() if u.tangent is not None else torch.zeros_like(u.primal) for u in unpacked]
            )
        return value, derivative

    @staticmethod
    def jacrev(fn):
        """Reverse-mode Jacobian, one backward pass batched over the output's basis (is_grads_batched);
        torch.func.jacrev's layout: an output leaf's shape, then the input leaf's."""

        def jacobian(y, *rest):
            with torch.enable_grad():
                inputs, nested = _differentiable(y)
                out = fn(inputs, *rest)
                per_output = []
                for o in leaves(out):
                    basis = torch.eye(o.numel(), dtype=o.dtype, device=o.device).reshape(o.numel(), *o.shape)
                    rows = _gradients(o, inputs, basis, create_graph=nested, batch=o.numel())
                    per_output.append(tree_map(lambda r, o=o: r.reshape(*o.shape, *r.shape[1:]), rows))
            return _rebuilt(out, per_output)

        return jacobian

    @staticmethod
    def hessian(fn):
        return Autograd.jacrev(Autograd.grad(fn))


Adapter.autograd = Autograd()  # the primitive set of the modes whose `differentiation` is "autograd"
