"""The determinant by expansion by minors along the first row, in JAX."""

import jax.numpy as jnp


def _det(M):
    # M is a batch (..., k, k); Python recursion over k is fine under tracing, where shapes are static.
    k = M.shape[-1]
    if k == 1:
        return M[..., 0, 0]
    # Minor j of the first row keeps rows 1…k−1 and, at column c, column c of M if c < j, else c + 1:
    # one select builds all k minors on a new batch axis, (..., k, k − 1, k − 1), with no arithmetic.
    c = jnp.arange(k - 1)
    j = jnp.arange(k)[:, None]
    before = (c < j)[:, None, :]
    below = M[..., None, 1:, :]
    minors = jnp.where(before, below[..., :-1], below[..., 1:])
    terms = M[..., 0, :] * _det(minors)
    return jnp.sum(terms[..., 0::2], axis=-1) - jnp.sum(terms[..., 1::2], axis=-1)


def objective(y, args):
    A = y
    return _det(A)
