"""Comparison metric, flattening, and references derived in NumPy float64.

Every transform's output is put in one canonical form (its record in sciad.transforms says how): a dict
of flat float64 vectors such as ``{"value": ..., "grad": ...}``, whatever the framework's nesting, so that
JAX, torch and the NumPy reference compare element by element. Flattening uses the sorted keys of dict
inputs, row-major.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from .spec import Reference

# ---------------------------------------------------------------------------------------------
# The metric (ADBench / GradBench): |x−y| / max(1, |x|+|y|), elementwise, reported as its maximum.


def error(expected: Mapping[str, np.ndarray], actual: Mapping[str, np.ndarray]) -> float:
    """Largest elementwise |x−y|/max(1,|x|+|y|) over all parts; inf on a shape mismatch or NaN."""
    worst = 0.0
    if set(expected) != set(actual):
        return float("inf")
    for key in expected:
        x, y = np.asarray(expected[key], np.float64), np.asarray(actual[key], np.float64)
        if x.shape != y.shape:
            return float("inf")
        if x.size == 0:
            continue
        scaled = np.abs(x - y) / np.maximum(1.0, np.abs(x) + np.abs(y))
        if np.isnan(scaled).any():
            return float("inf")
        worst = max(worst, float(scaled.max()))
    return worst


# ---------------------------------------------------------------------------------------------
# Flattening: y may be an array or a dict of arrays.


def ravel(tree) -> np.ndarray:
    """Concatenate the leaves of an array or dict (sorted keys), row-major, as float64 (or complex)."""
    if isinstance(tree, Mapping):
        parts = [np.ravel(np.asarray(tree[key])) for key in sorted(tree)]
        return np.concatenate(parts) if parts else np.zeros(0)
    return np.ravel(np.asarray(tree))


def unraveler(example) -> Callable[[np.ndarray], object]:
    """The inverse of `ravel` for structures shaped like `example`."""
    if isinstance(example, Mapping):
        keys = sorted(example)
        shapes = [np.shape(example[key]) for key in keys]
        sizes = [int(np.prod(shape)) for shape in shapes]
        offsets = np.cumsum([0, *sizes])

        def unravel(flat):
            pieces = {key: flat[offsets[i] : offsets[i + 1]].reshape(shapes[i]) for i, key in enumerate(keys)}
            # The example's own key order: torch.func treats a dict's key order as part of its structure.
            return {key: pieces[key] for key in example}

        return unravel
    shape = np.shape(example)
    return lambda flat: flat.reshape(shape)


def rows_by_y(tree, lead_ndim: int) -> np.ndarray:
    """A matrix whose rows follow the leading `lead_ndim` axes and whose columns follow y's layout."""
    if isinstance(tree, Mapping):
        blocks = [rows_by_y(tree[key], lead_ndim) for key in sorted(tree)]
        return np.hstack(blocks)
    array = np.asarray(tree, np.float64)
    rows = int(np.prod(array.shape[:lead_ndim]))
    return array.reshape(rows, -1)


def y_by_y(tree, y_example) -> np.ndarray:
    """The (P, P) matrix of a Hessian, from the nesting JAX and torch.func give for dict inputs."""
    if isinstance(y_example, Mapping):
        return np.vstack(
            [
                np.hstack(
                    [
                        np.asarray(tree[row][col], np.float64).reshape(np.size(y_example[row]), np.size(y_example[col]))
                        for col in sorted(y_example)
                    ]
                )
                for row in sorted(y_example)
            ]
        )
    size = np.size(y_example)
    return np.asarray(tree, np.float64).reshape(size, size)


# ---------------------------------------------------------------------------------------------
# Derivatives of NumPy references: complex step (exact to roundoff) or central differences.

# The complex step h: f(x + ih) = f(x) + ih f'(x) + O(h²), and Im/h is f' exact to roundoff once h² is
# below the dtype's resolution of f. Real and imaginary parts never round against each other, so h can be
# as small as the exponent range allows; 1e-30 leaves room for products of several perturbed factors.
COMPLEX_STEPS = {"float64": 1e-30, "float32": 1e-15}
COMPLEX_STEP = COMPLEX_STEPS["float64"]  # the references' dtype


def jacobian(
    fn: Callable[[np.ndarray], np.ndarray],
    x: np.ndarray,
    *,
    complex_step: bool,
    step: float = 6e-6,
    batched: bool = False,
    chunk: int | None = None,
    dtype: str = "float64",
) -> np.ndarray:
    """The (M, P) Jacobian of a flat map at x, by complex step (exact to roundoff; `fn` must be analytic in x:
    no abs, no comparisons on the imaginary part) or by central differences (step scaled by max(1, |x_i|)).

    `batched`: `fn` maps a (k, P) stack of inputs to a (k, ...) stack of outputs, and is called on `chunk`
    perturbed inputs at once (256 by default) instead of once per column.
    """
    x = np.asarray(x, np.float64)
    if complex_step:
        h = COMPLEX_STEPS[dtype]
        shifts = 1j * h * np.eye(x.size)
    else:
        h = step * np.maximum(1.0, np.abs(x))
        shifts = np.diag(h)
    columns = []
    size = chunk or 256
    for start in range(0, x.size, size):
        block = shifts[start : start + size]
        if batched:
            evaluate = lambda z: np.reshape(fn(z), (len(z), -1))  # noqa: E731
        else:
            evaluate = lambda z: np.stack([np.ravel(fn(row)) for row in z])  # noqa: E731
        if complex_step:
            columns.append(np.imag(evaluate(x + block)) / h)
        else:
            columns.append((evaluate(x + block) - evaluate(x - block)) / (2 * h[start : start + size, None]))
    return np.concatenate(columns).T


def directional_derivative(fn: Callable, x: np.ndarray, direction: np.ndarray, step: float = 1e-6) -> np.ndarray:
    """Central difference of a flat map along `direction` (JAX's check_grads idea), float64."""
    h = step * max(1.0, float(np.linalg.norm(x)))
    return (np.ravel(fn(x + h * direction)) - np.ravel(fn(x - h * direction))) / (2 * h)


class ReferenceModel:
    """NumPy float64 derivatives of one problem's reference at one input, each computed on demand."""

    def __init__(self, reference: Reference, y, args):
        self.ref, self.y, self.args = reference, y, args
        self.unravel = unraveler(y)
        self.x = ravel(y).astype(np.float64)
        self._cache: dict[str, object] = {}

    def _once(self, key, compute):
        if key not in self._cache:
            self._cache[key] = compute()
        return self._cache[key]

    def _jacobian(self, flat_fn, complex_ok):
        return jacobian(flat_fn, self.x, complex_step=complex_ok and self.ref.complex_step, step=self.ref.fd_step)

    def value(self) -> float:
        return float(self.ref.value(self.y, self.args))

    def grad(self) -> np.ndarray:
        def compute():
            if self.ref.grad is not None:
                return ravel(self.ref.grad(self.y, self.args))
            return self._jacobian(lambda x: np.asarray(self.ref.value(self.unravel(x), self.args)), True)[0]

        return self._once("grad", compute)

    def hessian(self) -> np.ndarray:
        def compute():
            if self.ref.hessian is not None:
                return np.asarray(self.ref.hessian(self.y, self.args), np.float64)
            if self.ref.grad is not None:
                return self._jacobian(lambda x: ravel(self.ref.grad(self.unravel(x), self.args)), True)
            # The gradient is itself a complex-step or difference quotient: difference it once more.
            return jacobian(
                lambda x: ReferenceModel(self.ref, self.unravel(x), self.args).grad(),
                self.x,
                complex_step=False,
                step=self.ref.fd_step,
            )

        return self._once("hessian", compute)

    def vector_map(self) -> np.ndarray:
        return self._once("vector_map", lambda: ravel(self.ref.vector_map(self.y, self.args)))

    def jacobian(self) -> np.ndarray:
        def compute():
            if self.ref.jacobian is not None:
                return np.asarray(self.ref.jacobian(self.y, self.args), np.float64)
            return self._jacobian(lambda x: ravel(self.ref.vector_map(self.unravel(x), self.args)), True)

        return self._once("jacobian", compute)

    def per_sample_grad(self) -> np.ndarray:
        return rows_by_y(self.ref.per_sample_grad(self.y, self.args), 1)

    def map_ndim(self) -> int:
        """The rank of the vector map's output: a Jacobian's rows follow its shape."""
        return self._once("map_ndim", lambda: np.ndim(self.ref.vector_map(self.y, self.args)) if self.ref.vector_map else 1)

    def members(self) -> list[ReferenceModel]:
        """One model per member of a batched y (leading axis), sharing args."""
        y = self.y
        if isinstance(y, Mapping):
            count = len(next(iter(y.values())))
            ys = [{key: value[i] for key, value in y.items()} for i in range(count)]
        else:
            ys = list(y)
        return [ReferenceModel(self.ref, member, self.args) for member in ys]


# ---------------------------------------------------------------------------------------------
# A cheap check at benchmark sizes: project the output on random directions and compare with
# directional derivatives of the reference (JAX's check_grads idea), O(1) reference evaluations.


class Probe:
    """Directional derivatives of a reference at one input, along seeded random unit directions.

    Each transform's record (sciad.transforms) says which projections of its output to compare; this
    class supplies the reference's side of them.
    """

    def __init__(self, reference, y, args, seed: int = 7):
        self.ref, self.y, self.args, self.seed = reference, y, args, seed
        self.rng = np.random.default_rng(seed)
        self.x = ravel(y).astype(np.float64)
        self.unravel = unraveler(y)
        self.v = self.unit(self.x.size)  # drawn first, whatever the transform

    def unit(self, size: int) -> np.ndarray:
        d = self.rng.standard_normal(size)
        return d / np.linalg.norm(d)

    def _directional(self, phi, x, v, *, complex_ok: bool) -> float:
        if complex_ok:
            h = COMPLEX_STEP
            return float(np.imag(phi(x + 1j * h * v)) / h)
        h = self.ref.fd_step * max(1.0, float(np.abs(x).max()))
        return float((phi(x + h * v) - phi(x - h * v)) / (2 * h))

    def value(self, z=None) -> float:
        return self.ref.value(self.unravel(self.x if z is None else z), self.args)

    def grad_along(self, w, z=None) -> float:
        """⟨∇f(z), w⟩, complex-safe when the closed-form gradient is."""
        z = self.x if z is None else z
        if self.ref.grad is not None:
            return ravel(self.ref.grad(self.unravel(z), self.args)) @ w
        return self._directional(self.value, z, w, complex_ok=self.ref.complex_step)

    def second(self, v, w) -> float:
        """wᵀ H v: from the closed-form Hessian where the reference has one, else a directional derivative of
        the gradient (by complex step only where the closed-form gradient is complex-safe)."""
        if self.ref.hessian is not None:
            return float(w @ (np.asarray(self.ref.hessian(self.y, self.args), np.float64) @ v))
        inner_complex_ok = self.ref.complex_step and self.ref.grad is not None
        return self._directional(lambda z: self.grad_along(w, z), self.x, v, complex_ok=inner_complex_ok)

    def vector_map(self) -> np.ndarray:
        return ravel(self.ref.vector_map(self.y, self.args))

    def map_derivative(self, v, w) -> float:
        """The derivative of ⟨F(x), w⟩ along v."""
        return self._directional(
            lambda z: ravel(self.ref.vector_map(self.unravel(z), self.args)) @ w, self.x, v, complex_ok=self.ref.complex_step
        )

    def map_ndim(self) -> int:
        return np.ndim(self.ref.vector_map(self.y, self.args))

    def first_member(self) -> Probe:
        """The probe of a batched y's first member."""
        member = {k: v[0] for k, v in self.y.items()} if isinstance(self.y, Mapping) else self.y[0]
        return Probe(self.ref, member, self.args, self.seed)
