"""Invariants of GradBench's GMM log posterior: the components are exchangeable, the mixture logits
matter only up to a common shift, the value is the log of SciPy's mixture and Wishart densities, and
ADBench's published value and gradient come back from its own text format once its prior sign is
restored."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from scipy.special import logsumexp
from scipy.stats import multivariate_normal, wishart

import problems
from problems import gmm
from problems.gmm import adbench
from sciad import checks

from ..support import run

NAME = "gmm"
SPEC = problems.get(NAME)
seeds = st.integers(0, 2**31 - 1)

# ADBench's data/gmm/test.txt (d = 2, k = 3, n = 1, γ = 1, m = 0) and the value and gradient its C++
# tests expect (test/cpp/modules/common/GmmTests.cpp), computed with ADBench's prior sign: L − log p(θ).
ADBENCH_TEST_FILE = """2 3 1
-0.649014
1.181166
-0.758453
0.092339 0.186260
0.345561 0.396767
0.538817 0.419195
0.586443 -0.851887 0.800321
-1.509405 0.875874 -0.242790
0.166813 -1.965419 -1.270071
1.175171 2.029160
1.000000 0
"""
ADBENCH_VALUE = 8.07380408004975791
ADBENCH_GRADIENT = [  # alpha (3), means (3 × 2), icf rows (3 × [q_0, q_1, l_0])
    1.08662855508652456e-01, -7.41270039523898472e-01, 6.32607184015246071e-01, 1.11692576532787013e+00,
    1.63333013551455269e-01, -2.19989824071193142e-02, 2.27778292254236098e-01, 1.20963025612832187e+00,
    -6.06375920733956339e-02, 2.58529994051162237e+00, 1.12632694524213789e-01, 3.85744309849611777e-01,
    7.35180573182305508e-02, 5.41836362715595232e+00, -3.21494409677446469e-01, 1.71892309775004937e+00,
    8.60091090790866875e-01, -9.94640930466322848e-01,
]


def _close(a, b, rtol=1e-12):
    return abs(a - b) <= rtol * max(1.0, abs(a) + abs(b))


@given(seed=seeds)
def test_value_is_invariant_under_permuting_components(framework, seed):
    y, args = SPEC.make_inputs("small", seed=seed)
    order = np.random.default_rng(seed).permutation(len(y["alpha"]))
    permuted = {key: value[order] for key, value in y.items()}
    assert _close(float(run(NAME, "value", framework, permuted, args)), float(run(NAME, "value", framework, y, args)))


@given(seed=seeds, shift=st.floats(-20.0, 20.0))
def test_value_is_invariant_under_a_common_shift_of_alpha_so_its_gradient_sums_to_zero(framework, seed, shift):
    y, args = SPEC.make_inputs("small", seed=seed)
    shifted = dict(y, alpha=y["alpha"] + shift)
    value, gradient = run(NAME, "value_and_grad", framework, y, args)
    assert _close(float(run(NAME, "value", framework, shifted, args)), float(value), rtol=1e-13 * (1 + abs(shift)))
    assert abs(gradient["alpha"].sum()) <= 1e-12 * args["x"].shape[0]


@given(seed=seeds)
def test_value_is_the_log_of_scipy_mixture_and_wishart_densities(framework, seed):
    # The naive definition (GradBench's --validate-naive): explicit precision matrices QᵀQ with Q filled
    # column by column (D = 3 at size small, so the fill order matters), SciPy's densities and constants.
    # m and γ stay at the small size's 2 and 0.7 (Python scalars are static under jit: one compilation);
    # the ADBench test below covers m = 0, γ = 1.
    y, args = SPEC.make_inputs("small", seed=seed)
    m, gamma = args["m"], args["gamma"]
    K, D = y["q"].shape
    Q = np.zeros((K, D, D))
    for k in range(K):
        Q[k][np.diag_indices(D)] = np.exp(y["q"][k])
        p = 0
        for col in range(D):
            for row in range(col + 1, D):
                Q[k, row, col] = y["l"][k, p]
                p += 1
    precisions = np.einsum("kji,kjl->kil", Q, Q)
    log_weights = y["alpha"] - logsumexp(y["alpha"])
    likelihood = sum(
        logsumexp([log_weights[k] + multivariate_normal(y["mu"][k], np.linalg.inv(precisions[k])).logpdf(x) for k in range(K)])
        for x in args["x"]
    )
    prior = sum(wishart(df=D + m + 1, scale=np.eye(D) / gamma**2).logpdf(precisions[k]) for k in range(K))
    assert _close(float(run(NAME, "value", framework, y, args)), likelihood + prior, rtol=1e-11)


@given(seed=seeds)
def test_reference_gradient_matches_complex_step_of_reference_value(seed):
    y, args = SPEC.make_inputs("small", seed=seed)
    x, unravel = checks.ravel(y), checks.unraveler(y)
    complex_step = checks.jacobian(lambda z: np.asarray(gmm.value(unravel(z), args)), x, complex_step=True, step=0.0)[0]
    assert checks.error({"g": complex_step}, {"g": checks.ravel(gmm.grad(y, args))}) <= 1e-13


def test_adbench_file_gives_adbench_published_value_and_gradient_with_its_prior_sign(framework, tmp_path):
    path = tmp_path / "gmm_test.txt"
    path.write_text(ADBENCH_TEST_FILE)
    y, args = adbench.read(path)
    SPEC.validate(y, args)
    value, gradient = run(NAME, "value_and_grad", framework, y, args)
    # GradBench's F = L + log p(θ); ADBench computed L − log p(θ). ∂ log p/∂q = −γ² e^{2q} + m, ∂ log p/∂l = −γ² l.
    prior = gmm.log_prior(y, args)
    gamma2, m = args["gamma"] ** 2, args["m"]
    prior_q, prior_l = -gamma2 * np.exp(2 * y["q"]) + m, -gamma2 * y["l"]
    icf = np.concatenate([gradient["q"] - 2 * prior_q, gradient["l"] - 2 * prior_l], axis=1)
    adbench_gradient = np.concatenate([gradient["alpha"], gradient["mu"].ravel(), icf.ravel()])
    assert _close(float(value) - 2 * prior, ADBENCH_VALUE, rtol=1e-13)
    np.testing.assert_allclose(adbench_gradient, ADBENCH_GRADIENT, rtol=0, atol=1e-13)


def test_adbench_reader_expands_a_replicated_point(tmp_path):
    lines = ADBENCH_TEST_FILE.splitlines()
    lines[0] = "2 3 4"  # n = 4 points, written once: ADBench's 2.5M-point convention
    path = tmp_path / "gmm_replicated.txt"
    path.write_text("\n".join(lines) + "\n")
    _, args = adbench.read(path)
    np.testing.assert_array_equal(args["x"], np.tile([[1.175171, 2.029160]], (4, 1)))
    assert (args["m"], args["gamma"]) == (0, 1.0)


@given(seed=seeds, replicate=st.booleans())
def test_adbench_writer_and_reader_round_trip(tmp_path_factory, seed, replicate):
    y, args = SPEC.make_inputs("small", seed=seed)
    if replicate:
        args = dict(args, x=np.tile(args["x"][:1], (len(args["x"]), 1)))
    path = tmp_path_factory.mktemp("gmm") / "gmm.txt"
    adbench.write(path, y, args, replicate_point=replicate)
    y_read, args_read = adbench.read(path, replicate_point=replicate)
    for key in y:
        np.testing.assert_array_equal(y_read[key], y[key])
    np.testing.assert_array_equal(args_read["x"], args["x"])
    assert (args_read["m"], args_read["gamma"]) == (args["m"], args["gamma"])


def test_gradbench_message_gives_the_catalogue_layout():
    y, args = SPEC.make_inputs("small", seed=1)
    K, D = y["q"].shape
    message = {"d": D, "k": K, "n": len(args["x"]), "m": args["m"], "gamma": args["gamma"],
               **{key: value.tolist() for key, value in y.items()}, "x": args["x"].tolist()}
    y_read, args_read = adbench.from_gradbench(message)
    SPEC.validate(y_read, args_read)
    assert gmm.value(y_read, args_read) == gmm.value(y, args)
