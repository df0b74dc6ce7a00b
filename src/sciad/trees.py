"""The one walker over nested inputs: dicts, tuples and lists of arrays and Python scalars."""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np


def tree_map(fn: Callable, tree):
    """`fn` applied to every leaf; dicts keep their key order, tuples and lists their type."""
    if isinstance(tree, Mapping):
        return {key: tree_map(fn, value) for key, value in tree.items()}
    if isinstance(tree, (tuple, list)):
        return type(tree)(tree_map(fn, value) for value in tree)
    return fn(tree)


def leaves(tree) -> list:
    """The leaves of a nested structure, in `tree_map`'s order."""
    found: list = []
    tree_map(found.append, tree)
    return found


def cast(tree, dtype: str):
    """Cast the floating NumPy arrays of a nested structure to `dtype`; everything else as it is."""

    def leaf(value):
        if isinstance(value, np.ndarray) and np.issubdtype(value.dtype, np.floating):
            return value.astype(dtype)
        return value

    return tree_map(leaf, tree)
