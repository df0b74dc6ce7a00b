"""Invariants of HMC on the logistic-regression posterior: the leapfrog flow is reversible and symplectic
(det 1) with an O(ε²) energy error; zero uniforms accept every proposal; a chain depends only on its own
randomness under vmap; native sampling is reproducible from its seed and its chains reach the posterior mean
within Monte-Carlo error."""

from __future__ import annotations

import functools

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

import problems
import sciad
from problems.hmc import log_density, posterior_moments
from sciad import frameworks
from sciad.spec import cast

from ..support import compiled

NAME = "hmc"
SPEC = problems.get(NAME)
seeds = st.integers(0, 2**31 - 1)


def _call(framework: str, function: str, y, args, *extra) -> np.ndarray:
    out = sciad.to_numpy(compiled(NAME, function, framework)(*sciad.convert((y, args, *extra), framework)))
    assert out.dtype == y.dtype
    return np.array(out)


@functools.cache
def _flow_jacobian(framework: str):
    fw = frameworks.load(framework)
    return fw.compile(fw.jacfwd(SPEC.implementation(framework).flow), sciad.default_mode(framework))


def _phase_point(y, args) -> np.ndarray:
    return np.stack([y, args["momentum"]])


def _flip_momentum(z: np.ndarray) -> np.ndarray:
    return np.stack([z[0], -z[1]])


def _energy(z, args) -> float:
    return float(-log_density(z[0], args) + 0.5 * z[1] @ z[1])


@given(seed=seeds)
def test_leapfrog_is_time_reversible(framework, seed):
    y, args = SPEC.make_inputs("small", seed=seed)
    start = _phase_point(y, args)
    there = _call(framework, "flow", start, args)
    back = _flip_momentum(_call(framework, "flow", _flip_momentum(there), args))
    assert np.abs(there - start).max() > 0.1  # the trajectory went somewhere
    # Each kick and drift is undone by its mirror image under p → −p; only roundoff remains (measured
    # ≤ 8.9e-16 over 100 seeds in both frameworks).
    assert np.abs(back - start).max() <= 1e-12


@given(seed=seeds)
def test_leapfrog_flow_is_symplectic_with_unit_determinant(framework, seed):
    y, args = SPEC.make_inputs("small", seed=seed)
    size = 2 * y.size
    z = _phase_point(y, args)
    jacobian = np.asarray(sciad.to_numpy(_flow_jacobian(framework)(*sciad.convert((z, args), framework)))).reshape(size, size)
    identity, zero = np.eye(size // 2), np.zeros((size // 2, size // 2))
    omega = np.block([[zero, identity], [-identity, zero]])
    assert np.abs(jacobian - np.eye(size)).max() > 0.1  # a non-trivial flow map
    # A composition of shears (q, p) → (q, p + c ∇log π(q)) and (q, p) → (q + ε p, p): JᵀΩJ = Ω and
    # det J = 1 up to roundoff (measured ≤ 5.5e-16 and ≤ 8.9e-16 over 100 seeds).
    assert np.abs(jacobian.T @ omega @ jacobian - omega).max() <= 1e-12
    assert abs(np.linalg.det(jacobian) - 1.0) <= 1e-12


@given(seed=seeds)
def test_leapfrog_energy_error_falls_as_step_size_squared(framework, seed):
    y, args = SPEC.make_inputs("small", seed=seed)
    # Eight trajectories from w: the leapfrog momentum and the first seven chain momenta.
    starts = [np.stack([y, momentum]) for momentum in [args["momentum"], *args["momenta"].reshape(-1, y.size)[:7]]]
    rms = []
    for step_size, steps in ((0.1, 10), (0.05, 20)):  # the same trajectory length, 1
        trajectory = dict(args, step_size=step_size, leapfrog_steps=steps)
        errors = [_energy(_call(framework, "flow", start, trajectory), args) - _energy(start, args) for start in starts]
        rms.append(np.sqrt(np.mean(np.square(errors))))
    # Leapfrog's energy error over a fixed time is c ε² + O(ε⁴): halving ε divides it by 4. One
    # trajectory's c can nearly vanish, so the ratio is taken over eight: measured 3.96 to 4.09 over 2000
    # seeds (NumPy leapfrog), where a first-order integrator gives 2.
    assert 3.8 <= rms[0] / rms[1] <= 4.2


@given(seed=seeds)
def test_zero_uniforms_accept_every_proposal(framework, seed):
    y, args = SPEC.make_inputs("small", seed=seed)
    args = dict(args, uniforms=np.zeros_like(args["uniforms"]))
    samples = _call(framework, "sample", y, args)
    previous = np.concatenate([np.broadcast_to(y, (1, *samples.shape[1:])), samples[:-1]])
    # log 0 = −∞ lies below every energy difference: each sample is the leapfrog end of the one before,
    # up to the roundoff of batching the chains (measured ≤ 1.4e-15 over 100 seeds).
    for s, k in np.ndindex(*samples.shape[:2]):
        proposal = _call(framework, "flow", np.stack([previous[s, k], args["momenta"][s, k]]), args)[0]
        assert np.abs(samples[s, k] - proposal).max() <= 1e-12


@given(seed=seeds, chain=st.integers(0, SPEC.sizes["small"]["chains"] - 1))
def test_a_chain_ignores_the_other_chains_randomness(framework, seed, chain):
    y, args = SPEC.make_inputs("small", seed=seed)
    rng = np.random.default_rng(seed + 1)
    others = np.arange(args["uniforms"].shape[1]) != chain
    momenta, uniforms = args["momenta"].copy(), args["uniforms"].copy()
    momenta[:, others] = rng.standard_normal(momenta[:, others].shape)
    uniforms[:, others] = rng.uniform(size=uniforms[:, others].shape)
    before = _call(framework, "sample", y, args)
    after = _call(framework, "sample", y, dict(args, momenta=momenta, uniforms=uniforms))
    assert np.abs(before[:, others] - after[:, others]).max() > 1e-3  # the other chains did change
    # vmap batches the chains without mixing them: chain `chain` sees only its own momenta and
    # uniforms, so it is unchanged (bitwise in both frameworks over 100 seeds; roundoff is allowed).
    assert np.abs(before[:, chain] - after[:, chain]).max() <= 1e-12


# 64 chains of 70 transitions from w, the first 30 discarded: w can lie 3 posterior standard deviations
# from the mean, and after 10 transitions the common start still biased the mean by up to 6 standard
# errors (seed 37). Float32, so that the native draws' dtype is checked too. Both native properties share
# this shape (one JAX compilation) and, a call costing about 0.25 s of CPU in eager torch, run a quarter
# of the profile's examples.
NATIVE = {"chains": 64, "iterations": 70}
BURN_IN = 30
native_examples = settings(max_examples=max(2, settings.default.max_examples // 4))


@native_examples
@given(seed=seeds)
def test_native_sampling_is_reproducible_from_its_seed(framework, seed):
    y, args = SPEC.make_inputs("small", seed=0, dtype="float32", **NATIVE)
    first = _call(framework, "sample_native", y, args, np.int64(seed))
    again = _call(framework, "sample_native", y, args, np.int64(seed))
    other = _call(framework, "sample_native", y, args, np.int64(seed ^ 1))
    assert np.array_equal(first, again)
    assert not np.array_equal(first, other)
    assert len(np.unique(first[-1], axis=0)) == first.shape[1]  # every chain draws its own variates


@native_examples
@given(seed=seeds)
def test_native_chains_reach_the_posterior_mean_within_monte_carlo_error(framework, seed):
    y, args = SPEC.make_inputs("small", seed=seed, dtype="float32", **NATIVE)
    samples = _call(framework, "sample_native", y, args, np.int64(seed))[BURN_IN:].astype(np.float64)
    mean, covariance = posterior_moments(cast(args, "float64"))
    chain_means = samples.mean(axis=0)
    # The chains are independent, so the spread of their means gives the Monte-Carlo standard error
    # whatever the autocorrelation within a chain: about 0.012 posterior standard deviations (≤ 0.041).
    # |t| > 6 with 63 degrees of freedom has probability about 1e-7 per coordinate; measured |t| ≤ 3.4
    # over 500 seeds (JAX) and 40 (torch), while a sampler off target by a quarter of a posterior
    # standard deviation fails.
    standard_error = chain_means.std(axis=0, ddof=1) / np.sqrt(len(chain_means))
    assert np.all(standard_error <= 0.1 * np.sqrt(np.diag(covariance)))
    assert np.all(np.abs(samples.mean(axis=(0, 1)) - mean) <= 6 * standard_error)
