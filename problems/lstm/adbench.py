"""The ADBench LSTM text format (data/lstm/lstm_l*_c*.txt), read into and written from this problem's layout.

A file holds whitespace-separated numbers (blank lines between the blocks are not significant):
`l c b`; then main (2l rows of 4b); extra (3 rows of b); state (2l rows of b); the sequence (c rows
of b bits). GradBench's current protocol sends the same four arrays as JSON: see `from_gradbench`.
"""

from __future__ import annotations

import os
import pathlib

import numpy as np


def read(path: str | os.PathLike):
    """`(y, args)` from an ADBench LSTM file."""
    tokens = pathlib.Path(path).read_text().split()
    if len(tokens) < 3:
        raise ValueError(f"{path}: an ADBench LSTM file starts with 'l c b'; found {len(tokens)} numbers in all")
    layers, c, b = (int(token) for token in tokens[:3])
    shapes = {"main": (2 * layers, 4 * b), "extra": (3, b), "state": (2 * layers, b), "sequence": (c, b)}
    expected = 3 + sum(rows * cols for rows, cols in shapes.values())
    if len(tokens) != expected:
        raise ValueError(f"{path}: l={layers}, c={c}, b={b} needs {expected} numbers; the file has {len(tokens)}")
    values = np.array(tokens[3:], dtype=np.float64)
    arrays, start = {}, 0
    for name, (rows, cols) in shapes.items():
        arrays[name] = values[start:start + rows * cols].reshape(rows, cols)
        start += rows * cols
    return {"extra": arrays["extra"], "main": arrays["main"]}, {"state": arrays["state"], "sequence": arrays["sequence"]}


def write(path: str | os.PathLike, y, args) -> None:
    """Write `(y, args)` in the ADBench format."""
    layers, b = np.shape(args["state"])[0] // 2, np.shape(args["state"])[1]
    blocks = [f"{layers} {len(args['sequence'])} {b}\n"]
    for array in (y["main"], y["extra"], args["state"], args["sequence"]):
        blocks.append("\n".join(" ".join(repr(float(v)) for v in row) for row in np.asarray(array)) + "\n")
    pathlib.Path(path).write_text("\n".join(blocks))


def from_gradbench(message: dict):
    """`(y, args)` from the `input` of a GradBench `lstm` evaluate message (main_params, extra_params,
    state, sequence)."""
    def array(key):
        return np.asarray(message[key], np.float64)

    return ({"extra": array("extra_params"), "main": array("main_params")},
            {"state": array("state"), "sequence": array("sequence")})
