"""The ADBench GMM text format (data/gmm/**/*.txt), read into and written from this problem's layout.

A file holds whitespace-separated numbers: `d k n`; then k values of α; k rows of d means; k rows of
d + d(d−1)/2 "inverse covariance factors" (the d log-diagonal entries q_k, then the strictly-lower
entries l_k in column order); then the points x; then `gamma m`. The points are n rows of d values,
or, in ADBench's replicated-point convention (its 2.5M-point sets), one row that stands for all n
points. GradBench's current protocol sends the same fields as JSON: see `from_gradbench`.
"""

from __future__ import annotations

import os
import pathlib

import numpy as np


def read(path: str | os.PathLike, replicate_point: bool | None = None):
    """`(y, args)` from an ADBench GMM file. `replicate_point=None` tells the two conventions apart by
    the count of numbers in the file; True or False insists on one."""
    tokens = pathlib.Path(path).read_text().split()
    if len(tokens) < 3:
        raise ValueError(f"{path}: an ADBench GMM file starts with 'd k n'; found {len(tokens)} numbers in all")
    d, k, n = (int(token) for token in tokens[:3])
    head = k + k * d + k * (d + d * (d - 1) // 2)
    counts = {False: 3 + head + n * d + 2, True: 3 + head + d + 2}
    if replicate_point is None:
        matching = [mode for mode, count in counts.items() if count == len(tokens)]
        if not matching:
            raise ValueError(
                f"{path}: d={d}, k={k}, n={n} needs {counts[False]} numbers (one row per point) or "
                f"{counts[True]} (one replicated point); the file has {len(tokens)}"
            )
        replicate_point = matching[0]
    elif counts[replicate_point] != len(tokens):
        raise ValueError(f"{path}: expected {counts[replicate_point]} numbers for d={d}, k={k}, n={n}; found {len(tokens)}")
    values = np.array(tokens[3:-2], dtype=np.float64)
    alpha, values = values[:k], values[k:]
    mu, values = values[: k * d].reshape(k, d), values[k * d:]
    icf, values = values[: head - k - k * d].reshape(k, -1), values[head - k - k * d:]
    x = np.tile(values[:d], (n, 1)) if replicate_point else values[: n * d].reshape(n, d)
    y = {"alpha": alpha, "mu": mu, "q": icf[:, :d].copy(), "l": icf[:, d:].copy()}
    return y, {"x": x, "m": int(tokens[-1]), "gamma": float(tokens[-2])}


def write(path: str | os.PathLike, y, args, replicate_point: bool = False) -> None:
    """Write `(y, args)` in the ADBench format; `replicate_point` writes only the first point."""
    x = np.asarray(args["x"])
    n, d = x.shape
    k = len(y["alpha"])
    rows = [f"{d} {k} {n}"]
    rows += [repr(float(a)) for a in y["alpha"]]
    rows += [" ".join(repr(float(v)) for v in row) for row in y["mu"]]
    rows += [" ".join(repr(float(v)) for v in row) for row in np.concatenate([y["q"], y["l"]], axis=1)]
    rows += [" ".join(repr(float(v)) for v in row) for row in (x[:1] if replicate_point else x)]
    rows.append(f"{float(args['gamma'])!r} {int(args['m'])}")
    pathlib.Path(path).write_text("\n".join(rows) + "\n")


def from_gradbench(message: dict):
    """`(y, args)` from the `input` of a GradBench `gmm` evaluate message (fields d, k, n, x, m, gamma,
    alpha, mu, q, l)."""
    d = int(message["d"])
    y = {
        "alpha": np.asarray(message["alpha"], np.float64).reshape(-1),
        "mu": np.asarray(message["mu"], np.float64).reshape(-1, d),
        "q": np.asarray(message["q"], np.float64).reshape(-1, d),
        "l": np.asarray(message["l"], np.float64).reshape(-1, d * (d - 1) // 2),
    }
    args = {"x": np.asarray(message["x"], np.float64).reshape(-1, d), "m": int(message["m"]),
            "gamma": float(message["gamma"])}
    return y, args
