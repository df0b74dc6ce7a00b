r"""Explicit Runge–Kutta schemes as Butcher tableaus, NumPy only: the one description of a fixed-step
scheme that each framework's stepper reads (`torch_rk`, `jax_rk`; a problem's own folder picks one).

A tableau of s stages, nodes c (c₁ = 0), strictly lower-triangular A and weights b steps u̇ = f(t, u)
by dt as

    k_i = dt·f(t + c_i dt, u + Σ_{j<i} a_ij k_j),   i = 1 … s,
    u  ←  u + Σ_i b_i k_i.

The fields follow `diffrax.ButcherTableau`, so that the two compare field by field (tests/properties/
test_stepping.py): `c` holds c₂ … c_s, `a_lower[i]` the i + 1 entries of row i + 2 of A left of the
diagonal, `b_sol` holds b, and `b_error` an embedded pair's error weights (a constant step never reads
them). Every value is a float64 tuple. Underscore-prefixed folders of `problems/` are not problems.
"""

from __future__ import annotations

import dataclasses
import math

from sciad.errors import SciadError


def _floats(values, what: str) -> tuple[float, ...]:
    values = tuple(float(v) for v in values)
    if not all(math.isfinite(v) for v in values):
        raise SciadError(f"{what} {values} holds a non-finite value; a Butcher tableau's entries are finite")
    return values


def _close(total: float, expected: float, terms) -> bool:
    # Entries are rounded decimals or quotients: their sums carry a few ulps of the terms' magnitudes.
    return abs(total - expected) <= 64 * 2.0**-52 * max(1.0, sum(abs(t) for t in terms))


@dataclasses.dataclass(frozen=True)
class ButcherTableau:
    """An explicit Runge–Kutta scheme of `order` (c₂ … c_s, the rows of A below the diagonal, b), validated."""

    name: str
    order: int
    c: tuple[float, ...]
    a_lower: tuple[tuple[float, ...], ...]
    b_sol: tuple[float, ...]
    b_error: tuple[float, ...] | None = None

    def __post_init__(self):
        stages = len(self.b_sol)
        set_ = object.__setattr__
        set_(self, "c", _floats(self.c, f"{self.name}'s c"))
        set_(self, "a_lower", tuple(_floats(row, f"{self.name}'s row {i + 2} of A") for i, row in enumerate(self.a_lower)))
        set_(self, "b_sol", _floats(self.b_sol, f"{self.name}'s b"))
        if self.b_error is not None:
            set_(self, "b_error", _floats(self.b_error, f"{self.name}'s error weights"))
        if stages < 1 or not isinstance(self.order, int) or self.order < 1:
            raise SciadError(f"{self.name}: {stages} stages of order {self.order!r}; a scheme has a stage and an order ≥ 1")
        if len(self.c) != stages - 1 or [len(row) for row in self.a_lower] != list(range(1, stages)):
            raise SciadError(
                f"{self.name}: {stages} weights need {stages - 1} nodes c₂ … c_s and rows of A of lengths 1 … {stages - 1}; "
                f"got {len(self.c)} nodes and rows of lengths {[len(row) for row in self.a_lower]}"
            )
        if self.b_error is not None and len(self.b_error) != stages:
            raise SciadError(f"{self.name}: {len(self.b_error)} error weights for {stages} stages")
        for i, (node, row) in enumerate(zip(self.c, self.a_lower)):
            if not _close(math.fsum(row), node, row):
                raise SciadError(f"{self.name}: row {i + 2} of A sums to {math.fsum(row)!r}, not its node c = {node!r}")
        if not _close(math.fsum(self.b_sol), 1.0, self.b_sol):
            raise SciadError(f"{self.name}: the weights b sum to {math.fsum(self.b_sol)!r}, not 1 (a consistent scheme)")

    @property
    def stages(self) -> int:
        """The stages a step evaluates: trailing stages of weight zero (Tsit5's seventh, which serves only its
        error estimate and first-same-as-last) feed nothing that a constant step reads."""
        used = len(self.b_sol)
        while used > 1 and self.b_sol[used - 1] == 0.0:
            used -= 1
        return used

    def sums(self) -> tuple[tuple[tuple[int, ...], tuple[float, ...]], ...]:
        """The weighted sums of one step, as (stages read, their weights) with zero weights left out: each
        stage's input Σ_j a_ij k_j for i = 2 … `stages`, then the solution's Σ_i b_i k_i."""
        rows = (*self.a_lower[: self.stages - 1], self.b_sol[: self.stages])
        return tuple(tuple(zip(*((j, w) for j, w in enumerate(row) if w != 0.0))) or ((), ()) for row in rows)


EULER = ButcherTableau("Euler", order=1, c=(), a_lower=(), b_sol=(1.0,))

# Classical fourth-order Runge–Kutta (Kutta 1901).
RK4 = ButcherTableau(
    "RK4", order=4, c=(0.5, 0.5, 1.0), a_lower=((0.5,), (0.0, 0.5), (0.0, 0.0, 1.0)), b_sol=(1 / 6, 1 / 3, 1 / 3, 1 / 6)
)

# Kutta's 3/8 rule, fourth order: torchdiffeq's fixed-grid "rk4".
THREE_EIGHTHS = ButcherTableau(
    "3/8 rule",
    order=4,
    c=(1 / 3, 2 / 3, 1.0),
    a_lower=((1 / 3,), (-1 / 3, 1.0), (1.0, -1.0, 1.0)),
    b_sol=(1 / 8, 3 / 8, 3 / 8, 1 / 8),
)

# Tsitouras' 5(4) pair (2011), as the float64 values diffrax's Tsit5 holds: seven stages, the last of weight
# zero in the solution (first same as last).
TSIT5 = ButcherTableau(
    "Tsit5",
    order=5,
    c=(0.161, 0.327, 0.9, 0.9800255409045097, 1.0, 1.0),
    a_lower=(
        (0.161,),
        (-0.008480655492356989, 0.335480655492357),
        (2.8971530571054935, -6.359448489975075, 4.3622954328695815),
        (5.325864828439257, -11.748883564062828, 7.4955393428898365, -0.09249506636175525),
        (5.86145544294642, -12.92096931784711, 8.159367898576159, -0.071584973281401, -0.028269050394068383),
        (0.09646076681806523, 0.01, 0.4798896504144996, 1.379008574103742, -3.290069515436081, 2.324710524099774),
    ),
    b_sol=(0.09646076681806523, 0.01, 0.4798896504144996, 1.379008574103742, -3.290069515436081, 2.324710524099774, 0.0),
    b_error=(
        0.0017800110522257773,
        0.0008164344596567463,
        -0.007880878010261994,
        0.1447110071732629,
        -0.5823571654525552,
        0.45808210592918686,
        -0.015151515151515152,
    ),
)

TABLEAUS = (EULER, RK4, THREE_EIGHTHS, TSIT5)
