"""The shared fixed-step Runge–Kutta code of problems/_stepping: the NumPy tableaus equal diffrax's where
diffrax has the scheme, satisfy the order conditions of their order, and each framework's stepper
converges at exactly that order on a linear ODE against the exact exponential."""

from __future__ import annotations

import math

import numpy as np
import pytest

import sciad
from problems import _stepping
from problems._stepping import EULER, RK4, THREE_EIGHTHS, TSIT5, ButcherTableau
from sciad import frameworks
from sciad.errors import SciadError


def _arrays(tableau: ButcherTableau):
    s = len(tableau.b_sol)
    a = np.zeros((s, s))
    for i, row in enumerate(tableau.a_lower):
        a[i + 1, : i + 1] = row
    return a, np.asarray(tableau.b_sol), np.concatenate([[0.0], tableau.c])


def test_tsit5_is_diffraxs_tableau():
    diffrax = pytest.importorskip("diffrax")
    theirs = diffrax.Tsit5().tableau
    assert np.array_equal(TSIT5.c, theirs.c)
    assert len(TSIT5.a_lower) == len(theirs.a_lower)
    assert all(np.array_equal(ours, row) for ours, row in zip(TSIT5.a_lower, theirs.a_lower))
    assert np.array_equal(TSIT5.b_sol, theirs.b_sol)
    assert np.array_equal(TSIT5.b_error, theirs.b_error)
    # The seventh stage only serves the error estimate: a constant step evaluates six.
    assert TSIT5.stages == 6


def test_rational_tableaus_are_the_textbook_fractions():
    # RK4 and the 3/8 rule (Kutta 1901; diffrax has neither): the float64 tuples are the nearest doubles.
    assert RK4.b_sol == (1 / 6, 1 / 3, 1 / 3, 1 / 6) and RK4.c == (0.5, 0.5, 1.0)
    assert RK4.a_lower == ((0.5,), (0.0, 0.5), (0.0, 0.0, 1.0))
    assert THREE_EIGHTHS.b_sol == (1 / 8, 3 / 8, 3 / 8, 1 / 8) and THREE_EIGHTHS.c == (1 / 3, 2 / 3, 1.0)
    assert THREE_EIGHTHS.a_lower == ((1 / 3,), (-1 / 3, 1.0), (1.0, -1.0, 1.0))
    assert EULER.b_sol == (1.0,) and EULER.stages == 1


def _order_conditions(a, b, c):
    """(order, Φ(t), 1/γ(t)) for the 17 rooted trees t of order ≤ 5 (Butcher's conditions b·Φ(t) = 1/γ(t))."""
    one = np.ones_like(c)
    ac, ac2, ac3 = a @ c, a @ c**2, a @ c**3
    return [
        (1, b @ one, 1.0),
        (2, b @ c, 1 / 2),
        (3, b @ c**2, 1 / 3), (3, b @ ac, 1 / 6),
        (4, b @ c**3, 1 / 4), (4, b @ (c * ac), 1 / 8), (4, b @ ac2, 1 / 12), (4, b @ (a @ ac), 1 / 24),
        (5, b @ c**4, 1 / 5), (5, b @ (c**2 * ac), 1 / 10), (5, b @ (c * ac2), 1 / 15), (5, b @ (c * (a @ ac)), 1 / 30),
        (5, b @ (ac * ac), 1 / 20), (5, b @ ac3, 1 / 20), (5, b @ (a @ (c * ac)), 1 / 40), (5, b @ (a @ ac2), 1 / 60),
        (5, b @ (a @ (a @ ac)), 1 / 120),
    ]  # fmt: skip


@pytest.mark.parametrize("tableau", _stepping.TABLEAUS, ids=lambda t: t.name)
def test_tableau_satisfies_the_order_conditions_of_its_order(tableau):
    conditions = _order_conditions(*_arrays(tableau))
    # Tsit5's decimals satisfy its conditions to roundoff only (measured ≤ 8.9e-16).
    assert all(abs(phi - target) <= 1e-14 for order, phi, target in conditions if order <= tableau.order)
    if tableau.order < 5:
        assert any(abs(phi - target) > 1e-6 for order, phi, target in conditions if order == tableau.order + 1)


def test_tableau_record_is_validated():
    with pytest.raises(SciadError, match="row 2 of A sums"):
        ButcherTableau("bad", order=2, c=(0.5,), a_lower=((0.4,),), b_sol=(0.0, 1.0))
    with pytest.raises(SciadError, match="sum to"):
        ButcherTableau("bad", order=2, c=(0.5,), a_lower=((0.5,),), b_sol=(0.5, 0.4))
    with pytest.raises(SciadError, match="rows of A"):
        ButcherTableau("bad", order=2, c=(0.5,), a_lower=((0.25, 0.25),), b_sol=(0.0, 1.0))
    with pytest.raises(SciadError, match="non-finite"):
        ButcherTableau("bad", order=2, c=(math.nan,), a_lower=((0.5,),), b_sol=(0.0, 1.0))
    with pytest.raises(AttributeError):
        RK4.order = 5  # frozen


# u̇ = M u with M = −0.1 I + 2 [[0, 1], [−1, 0]]: exp(tM) = e^{−0.1 t} [[cos 2t, sin 2t], [−sin 2t, cos 2t]].
M = np.array([[-0.1, 2.0], [-2.0, -0.1]])
U0 = np.array([1.0, 0.5])
T = 1.0


def _exact(t):
    cos, sin = np.cos(2 * t), np.sin(2 * t)
    return np.exp(-0.1 * t) * (np.array([[cos, sin], [-sin, cos]]) @ U0)


def _stepper(framework, scan_stages=False):
    if framework == "jax":
        from problems._stepping import jax_rk

        return jax_rk, (lambda tableau, like: jax_rk.scheme(tableau, like, scan_stages=scan_stages))
    from problems._stepping import torch_rk

    return torch_rk, torch_rk.scheme


def _solve(framework, tableau, steps, dt=None, scan_stages=False, save_every=None):
    frameworks.load(framework)
    rk, scheme = _stepper(framework, scan_stages)
    u0, matrix = sciad.convert((U0, M), framework)
    dt = T / steps if dt is None else dt

    def increment(t, u, args):
        # dt·M u as a product over the last axis, so a batch of states would step too.
        return dt * (args @ u)

    return sciad.to_numpy(rk.integrate(increment, u0, dt, steps, matrix, scheme(tableau, u0), save_every=save_every))


# Heun's method behind a stage that nothing reads: an all-zero row of A and zero weights exercise the
# steppers' skipping of zero terms.
PADDED_HEUN = ButcherTableau("padded Heun", order=2, c=(0.0, 1.0), a_lower=((0.0,), (0.0, 1.0)), b_sol=(0.0, 0.5, 0.5))

# (tableau, steps of the coarser solve): errors far above roundoff, in the asymptotic range (Tsit5 nears
# it late: its stability polynomial matches e^z closely beyond degree 5).
CONVERGENCE = [(EULER, 256), (PADDED_HEUN, 64), (RK4, 16), (THREE_EIGHTHS, 16), (TSIT5, 32)]


@pytest.mark.parametrize("scan_stages", [False, True], ids=["unrolled", "scanned"])
@pytest.mark.parametrize(("tableau", "steps"), CONVERGENCE, ids=[t.name for t, _ in CONVERGENCE])
def test_stepper_converges_at_the_tableaus_order_on_a_linear_ode(framework, tableau, steps, scan_stages):
    if scan_stages and framework == "torch":
        pytest.skip("the stage scan is JAX's (one copy of the field in the compiled program)")
    exact = _exact(T)
    coarse = np.linalg.norm(_solve(framework, tableau, steps, scan_stages=scan_stages) - exact)
    fine = np.linalg.norm(_solve(framework, tableau, 2 * steps, scan_stages=scan_stages) - exact)
    # On a linear ODE a step multiplies by the stability polynomial R(dt·M), e^{dt·M} − R = O(dt^{p+1}):
    # halving dt divides the global error by 2^p up to O(dt) (measured within 0.06 of p).
    assert abs(math.log2(coarse / fine) - tableau.order) <= 0.1


@pytest.mark.parametrize("tableau", _stepping.TABLEAUS, ids=lambda t: t.name)
def test_saved_states_are_the_states_of_shorter_solves(framework, tableau):
    saved = _solve(framework, tableau, 6, save_every=2)
    assert saved.shape == (3, 2)
    # A solve of 2k steps of dt = T/6 is the prefix of the same step sequence: equal to roundoff.
    for k, state in enumerate(saved, start=1):
        np.testing.assert_allclose(state, _solve(framework, tableau, 2 * k, dt=T / 6), rtol=0, atol=1e-15)


def test_jax_and_torch_steppers_agree(framework):
    # Both frameworks' steps, and the JAX stage scan, give one discrete map: equal to roundoff.
    for tableau in (*_stepping.TABLEAUS, PADDED_HEUN):
        ours = _solve(framework, tableau, 10)
        assert np.allclose(ours, _solve("jax", tableau, 10, scan_stages=True), rtol=0, atol=1e-14)
