"""The ADBench bundle-adjustment text format (data/ba/ba*_n*_m*_p*.txt), read into and written from this problem's layout.

A file holds five lines of whitespace-separated numbers: `n m p`; one camera (11 parameters); one
point (3); one weight; one feature (2). ADBench and GradBench replicate them: n equal cameras, m
equal points, p equal weights and features, and observation i sees camera i mod n and point i mod m.
GradBench's protocol sends the same fields as JSON (n, m, p, cam, x, w, feat): see `from_gradbench`.
"""

from __future__ import annotations

import os
import pathlib

import numpy as np

FIELDS = (("camera", 11), ("point", 3), ("weight", 1), ("feature", 2))


def cyclic_observations(n: int, m: int, p: int) -> np.ndarray:
    """GradBench's observation pattern, (p, 2): observation i sees camera i mod n and point i mod m."""
    i = np.arange(p, dtype=np.int64)
    return np.stack([i % n, i % m], axis=1)


def replicate(n: int, m: int, p: int, camera, point, weight, feature):
    """`(y, args)` of GradBench's replicated form: one camera, point, weight and feature, repeated."""
    if min(n, m, p) < 1:
        raise ValueError(f"n={n}, m={m}, p={p} are not accepted; each must be at least 1")
    y = {
        "cams": np.tile(np.asarray(camera, np.float64).reshape(11), (n, 1)),
        "points": np.tile(np.asarray(point, np.float64).reshape(3), (m, 1)),
        "weights": np.full(p, float(weight)),
    }
    args = {"features": np.tile(np.asarray(feature, np.float64).reshape(2), (p, 1)), "obs": cyclic_observations(n, m, p)}
    return y, args


def read(path: str | os.PathLike):
    """`(y, args)` from an ADBench BA file, replicated as ADBench's and GradBench's readers do."""
    lines = [line.split() for line in pathlib.Path(path).read_text().splitlines() if line.strip()]
    if len(lines) != 1 + len(FIELDS) or len(lines[0]) != 3:
        raise ValueError(
            f"{path}: an ADBench BA file has 5 lines (`n m p`, a camera, a point, a weight, a feature); "
            f"found {len(lines)} lines, the first with {len(lines[0]) if lines else 0} numbers"
        )
    for (name, size), line in zip(FIELDS, lines[1:]):
        if len(line) != size:
            raise ValueError(f"{path}: the {name} line needs {size} numbers; it has {len(line)}")
    n, m, p = (int(token) for token in lines[0])
    camera, point, weight, feature = (np.array(line, dtype=np.float64) for line in lines[1:])
    return replicate(n, m, p, camera, point, weight[0], feature)


def is_replicated(y, args) -> bool:
    """Whether `(y, args)` is GradBench's replicated form, the only one the format can hold."""
    cams, points, weights, features = y["cams"], y["points"], y["weights"], args["features"]
    obs = cyclic_observations(len(cams), len(points), len(weights))
    return bool(
        np.all(cams == cams[0])
        and np.all(points == points[0])
        and np.all(weights == weights[0])
        and np.all(features == features[0])
        and np.array_equal(args["obs"], obs)
    )


def write(path: str | os.PathLike, y, args) -> None:
    """Write `(y, args)` in the ADBench format; they must be in the replicated form it holds."""
    if not is_replicated(y, args):
        raise ValueError(
            "the ADBench BA format holds one camera, point, weight and feature, replicated with cyclic "
            "observations; these inputs vary (build them with replicated=True, or read them from a file)"
        )
    numbers = [y["cams"][0], y["points"][0], y["weights"][:1], args["features"][0]]
    rows = [f"{len(y['cams'])} {len(y['points'])} {len(y['weights'])}"]
    rows += [" ".join(repr(float(v)) for v in values) for values in numbers]
    pathlib.Path(path).write_text("\n".join(rows) + "\n")


def from_gradbench(message: dict):
    """`(y, args)` from the `input` of a GradBench `ba` evaluate message (n, m, p, cam, x, w, feat)."""
    return replicate(
        int(message["n"]),
        int(message["m"]),
        int(message["p"]),
        message["cam"],
        message["x"],
        message["w"],
        message["feat"],
    )
