"""Invariants of the Lennard-Jones energy: translation (with periodic wrap) and permutation invariance,
forces summing to zero, a Hessian blind to uniform translation, and the dimer at the potential minimum."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

import problems
import sciad

from ..support import compiled, run

NAME = "lennard_jones"
SPEC = problems.get(NAME)
seeds = st.integers(0, 2**31 - 1)


def _forces(framework: str):
    return compiled(NAME, "forces", framework)


def _run(framework: str, transform: str, y, args):
    return run(NAME, transform, framework, y, args)


def _energy(framework: str, y, args) -> float:
    return float(_run(framework, "value", y, args))


def _close(a: float, b: float, tolerance: float = 1e-10) -> bool:
    return abs(a - b) <= tolerance * max(1.0, abs(a) + abs(b))


@given(seed=seeds)
def test_energy_is_invariant_under_translation_with_periodic_wrap(framework, seed):
    y, args = SPEC.make_inputs("medium", seed=seed)
    box = args["box"]
    shift = np.random.default_rng(seed).uniform(-2.0 * box, 2.0 * box, 3)
    moved = np.mod(y + shift, box)  # particles leave through one face and come back through the other
    assert not np.allclose(moved - y, shift)
    assert _close(_energy(framework, moved, args), _energy(framework, y, args))


@given(seed=seeds)
def test_energy_is_invariant_under_permutation_of_particles(framework, seed):
    y, args = SPEC.make_inputs("medium", seed=seed)
    order = np.random.default_rng(seed).permutation(len(y))
    assert _close(_energy(framework, y[order], args), _energy(framework, y, args))


@given(seed=seeds)
def test_forces_sum_to_zero(framework, seed):
    y, args = SPEC.make_inputs("medium", seed=seed)
    forces = sciad.to_numpy(_forces(framework)(*sciad.convert((y, args), framework)))
    assert forces.shape == y.shape and forces.dtype == y.dtype
    # Newton's third law: each pair adds f to one particle and −f to the other, so only the
    # summation's roundoff is left, relative to the pair forces that cancel.
    assert np.abs(forces.sum(axis=0)).max() <= 1e-12 * np.abs(forces).sum()
    assert np.abs(forces).max() > 1.0  # the lattice is perturbed: there are forces to cancel


@given(seed=seeds)
def test_hessian_annihilates_uniform_translation(framework, seed):
    y, args = SPEC.make_inputs("small", seed=seed)
    size = y.size
    hessian = _run(framework, "hessian", y, args).reshape(size, size)
    direction = np.random.default_rng(seed).standard_normal(3)
    translation = np.tile(direction, len(y))
    roundoff = 1e-13 * np.abs(hessian).sum(axis=1).max() * np.abs(direction).max()
    assert np.abs(hessian @ translation).max() <= roundoff
    assert np.abs(hessian).max() > 1.0  # not vacuous: the Hessian is far from zero


@given(
    seed=seeds,
    epsilon=st.sampled_from([0.5, 1.0, 2.0]),
    sigma=st.sampled_from([0.8, 1.0, 1.3]),
)
def test_dimer_at_the_potential_minimum_has_energy_minus_epsilon_minus_cutoff_value(framework, seed, epsilon, sigma):
    # Two particles at r = 2^{1/6}σ in a box of 6σ: the only pair inside r_c = 2.5σ, placed anywhere
    # and oriented any way, across the periodic boundary included.
    rng = np.random.default_rng(seed)
    box, r_cut = 6.0 * sigma, 2.5 * sigma
    direction = rng.standard_normal(3)
    first = rng.uniform(0.0, box, 3)
    second = first + 2.0 ** (1.0 / 6.0) * sigma * direction / np.linalg.norm(direction)
    y = np.mod(np.stack([first, second]), box)
    args = {"box": box, "epsilon": epsilon, "sigma": sigma, "r_cut": r_cut}
    cutoff_value = 4.0 * epsilon * ((sigma / r_cut) ** 12 - (sigma / r_cut) ** 6)
    assert _close(_energy(framework, y, args), -epsilon - cutoff_value, 1e-13)
