"""Comparison metric, canonical output layout, and references derived in NumPy float64.

Every transform's output is put in one canonical form — a dict of flat float64 vectors such as
``{"value": ..., "grad": ...}`` — whatever the framework's nesting, so that JAX, torch and the NumPy
reference compare element by element. Flattening uses the sorted keys of dict inputs, row-major.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np

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


def canonical(base: str, out, y_example, map_ndim: int = 1) -> dict[str, np.ndarray]:
    """The canonical form of a transform's NumPy output. `map_ndim`: the vector map's output rank."""
    if base == "value":
        return {"value": np.atleast_1d(np.asarray(out, np.float64))}
    if base in ("grad", "hvp_fwd_rev", "hvp_rev_rev"):
        return {base.split("_")[0]: ravel(out).astype(np.float64)}
    if base == "value_and_grad":
        return {"value": np.atleast_1d(np.asarray(out[0], np.float64)), "grad": ravel(out[1]).astype(np.float64)}
    if base == "hessian":
        return {"hessian": y_by_y(out, y_example).ravel()}
    if base == "map":
        return {"map": ravel(out).astype(np.float64)}
    if base == "jvp":
        return {"value": ravel(out[0]).astype(np.float64), "tangent": ravel(out[1]).astype(np.float64)}
    if base == "vjp":
        return {"value": ravel(out[0]).astype(np.float64), "cotangent": ravel(out[1]).astype(np.float64)}
    if base in ("jacfwd", "jacrev"):
        return {"jacobian": rows_by_y(out, map_ndim).ravel()}
    if base in ("vmap", "per_sample_grad"):
        return {"grads": rows_by_y(out, 1).ravel()}
    raise ValueError(f"no canonical form for transform {base!r}")


# ---------------------------------------------------------------------------------------------
# Derivatives of NumPy references: complex step (exact to roundoff) or central differences.

COMPLEX_STEP = 1e-30


def jacobian(fn: Callable[[np.ndarray], np.ndarray], x: np.ndarray, *, complex_step: bool, step: float) -> np.ndarray:
    """The (M, P) Jacobian of a flat map. Complex step needs `fn` analytic in x (no abs, no comparisons
    on the imaginary part); central differences use a step scaled by max(1, |x_i|)."""
    x = np.asarray(x, np.float64)
    columns = []
    for i in range(x.size):
        if complex_step:
            shifted = x.astype(np.complex128)
            shifted[i] += 1j * COMPLEX_STEP
            columns.append(np.imag(np.ravel(fn(shifted))) / COMPLEX_STEP)
        else:
            h = step * max(1.0, abs(x[i]))
            plus, minus = x.copy(), x.copy()
            plus[i] += h
            minus[i] -= h
            columns.append((np.ravel(fn(plus)) - np.ravel(fn(minus))) / (2 * h))
    return np.stack(columns, axis=1)


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

    def expected(self, base: str, extra=None) -> dict[str, np.ndarray]:
        """The canonical reference output of transform `base`; `extra` is its tangent/cotangent."""
        if base == "value":
            return {"value": np.array([self.value()])}
        if base == "grad":
            return {"grad": self.grad()}
        if base == "value_and_grad":
            return {"value": np.array([self.value()]), "grad": self.grad()}
        if base == "hessian":
            return {"hessian": self.hessian().ravel()}
        if base in ("hvp_fwd_rev", "hvp_rev_rev"):
            return {"hvp": self.hessian() @ ravel(extra)}
        if base == "map":
            return {"map": self.vector_map()}
        if base == "jvp":
            return {"value": self.vector_map(), "tangent": self.jacobian() @ ravel(extra)}
        if base == "vjp":
            return {"value": self.vector_map(), "cotangent": self.jacobian().T @ ravel(extra)}
        if base in ("jacfwd", "jacrev"):
            return {"jacobian": self.jacobian().ravel()}
        if base == "per_sample_grad":
            return {"grads": self.per_sample_grad().ravel()}
        raise ValueError(f"no reference for transform {base!r}")


def expected_batch(reference: Reference, ys, args) -> dict[str, np.ndarray]:
    """Reference for `vmap`: the gradient of each batch member, stacked."""
    if isinstance(ys, Mapping):
        count = len(next(iter(ys.values())))
        members = [{key: value[i] for key, value in ys.items()} for i in range(count)]
    else:
        members = list(ys)
    return {"grads": np.concatenate([ReferenceModel(reference, member, args).grad() for member in members])}


# ---------------------------------------------------------------------------------------------
# A cheap check at benchmark sizes: project the output on random directions and compare with
# directional derivatives of the reference (JAX's check_grads idea), O(1) reference evaluations.


def _directional(phi: Callable[[np.ndarray], float], x: np.ndarray, v: np.ndarray, *, complex_ok: bool, step: float) -> float:
    if complex_ok:
        return float(np.imag(phi(x + 1j * COMPLEX_STEP * v)) / COMPLEX_STEP)
    h = step * max(1.0, float(np.abs(x).max()))
    return float((phi(x + h * v) - phi(x - h * v)) / (2 * h))


def projected(reference: Reference, base: str, y, args, extra, out, seed: int = 7) -> tuple[np.ndarray, np.ndarray]:
    """(expected, actual) projections of a transform's NumPy output `out` on random unit directions."""
    rng = np.random.default_rng(seed)
    cs, step = reference.complex_step, reference.fd_step
    if base == "vmap":
        member = {k: v[0] for k, v in y.items()} if isinstance(y, Mapping) else y[0]
        first = {k: v[0] for k, v in out.items()} if isinstance(out, Mapping) else out[0]
        return projected(reference, "grad", member, args, None, first, seed)
    x = ravel(y).astype(np.float64)
    unravel = unraveler(y)

    def unit(size):
        d = rng.standard_normal(size)
        return d / np.linalg.norm(d)

    def f(z):
        return reference.value(unravel(z), args)

    def grad_along(z, w):  # ⟨∇f(z), w⟩, complex-safe when the closed-form gradient is
        if reference.grad is not None:
            return ravel(reference.grad(unravel(z), args)) @ w
        return _directional(f, z, w, complex_ok=cs, step=step)

    def second(v, w):  # wᵀ H v
        inner_cs = cs and reference.grad is not None
        return _directional(lambda z: grad_along(z, w), x, v, complex_ok=inner_cs, step=step)

    v = unit(x.size)
    if base == "value":
        return np.array([f(x)]), np.array([float(out)])
    if base == "grad":
        return np.array([grad_along(x, v)]), np.array([ravel(out) @ v])
    if base == "value_and_grad":
        expected = [f(x), grad_along(x, v)]
        return np.array(expected), np.array([float(out[0]), ravel(out[1]) @ v])
    if base in ("hessian", "hvp_fwd_rev", "hvp_rev_rev"):
        if base != "hessian":
            v = ravel(extra)
        w = unit(x.size)
        actual = w @ (y_by_y(out, y) @ v) if base == "hessian" else ravel(out) @ w
        return np.array([second(v, w)]), np.array([actual])
    if base == "per_sample_grad":
        expected = rows_by_y(reference.per_sample_grad(y, args), 1)
        w = rng.standard_normal(expected.shape)
        return np.array([np.sum(expected * w)]), np.array([np.sum(rows_by_y(out, 1) * w)])
    # Vector maps: project the output on w and differentiate ⟨F, w⟩ along v.
    fx = ravel(reference.vector_map(y, args))
    w = ravel(extra) if base == "vjp" else unit(fx.size)
    if base == "map":
        return np.array([fx @ w]), np.array([ravel(out) @ w])
    if base == "jvp":
        v = ravel(extra)

    def projected_map(z):
        return ravel(reference.vector_map(unravel(z), args)) @ w

    derivative = _directional(projected_map, x, v, complex_ok=cs, step=step)
    if base == "jvp":
        return np.array([fx @ w, derivative]), np.array([ravel(out[0]) @ w, ravel(out[1]) @ w])
    if base == "vjp":
        return np.array([fx @ w, derivative]), np.array([ravel(out[0]) @ w, ravel(out[1]) @ v])
    jac = rows_by_y(out, np.ndim(reference.vector_map(y, args)))
    return np.array([derivative]), np.array([w @ (jac @ v)])
