"""Helpers shared by the adapters."""

from __future__ import annotations

import numpy as np

from ..errors import SciadError, choose
from ..names import DEVICES, DTYPES


def check_options(dtype, device) -> None:
    if dtype is not None:
        choose("dtype", dtype, DTYPES)
    if device is not None:
        choose("device", device, DEVICES)


def numpy_leaf(value, framework: str) -> np.ndarray:
    """A NumPy array for conversion, or raise for a value that is neither array nor Python scalar."""
    if isinstance(value, np.ndarray):
        return value
    if isinstance(value, np.generic):
        return np.asarray(value)
    raise SciadError(
        f"cannot convert {type(value).__name__} to {framework}; NumPy arrays, Python scalars and "
        "nested dicts, tuples and lists of them are accepted"
    )
