"""Invariants of ADBench's bundle-adjustment residuals: they are unchanged by a similarity transform of
the world applied to cameras and points alike, w_err depends on the weights alone, the CSR Jacobian is
the dense one, a zero rotation takes GradBench's first-order branch with finite derivatives, and
ADBench's published errors and Jacobian come back from its own text format."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse
from hypothesis import given
from hypothesis import strategies as st
from scipy.spatial.transform import Rotation

import problems
import sciad
from problems import bundle_adjustment
from problems.bundle_adjustment import adbench
from sciad import checks

from ..support import compiled, run

NAME = "bundle_adjustment"
SPEC = problems.get(NAME)
seeds = st.integers(0, 2**31 - 1)

# ADBench's data/ba/test.txt and the values its Python module tests expect
# (test/python/modules/common/ba_tests.py): every observation sees an identical camera and point.
ADBENCH_TEST_FILE = """2 10 10
1.797201 0.590697 -0.635786 90.859550 29.361415 28.777534 211.628116 -0.284531 -14.762924 0.058931 0.069976
4.173048 5.586898 1.403869
0.417022
-525.672849 161.811929
"""
ADBENCH_REPROJECTION_ERROR = [-2.69048849235189402e-01, 2.59944792677901881e-01]  # per observation
ADBENCH_WEIGHT_ERROR = 8.26092651515999976e-01
# The two rows of one observation: 11 camera, 3 point and 1 weight entries each.
ADBENCH_JACOBIAN_ROWS = np.array(
    """
    2.28877202208246757e+02 6.34574811495545418e+02 -7.82222866259340549e+02 2.42892615607159668e+00
    -1.17828079628011313e+01 2.54169312487743460e+00 -1.03657084958518086e+00 4.17022e-01 0.0
    -3.50739521096005205e+02 -9.12107773668008576e+02 -2.42892615607159668e+00 1.17828079628011313e+01
    -2.54169312487743460e+00 -6.45167039712987389e-01
    -1.20542435994996879e+02 -3.85673240766460424e+02 9.75476291403326456e+01 -1.78372108529576567e+00
    4.15466799433126077e+00 2.04025718029898906e+00 3.49176397433145880e-01 0.0 4.17022e-01
    1.18149147704414503e+02 3.07250108960343255e+02 1.78372108529576567e+00 -4.15466799433126077e+00
    -2.04025718029898906e+00 6.23335921553064054e-01
    """.split(),
    dtype=np.float64,
)
ADBENCH_WEIGHT_DERIVATIVE = -8.34044e-01


def _call(framework, function, y, args):
    return sciad.to_numpy(compiled(NAME, function, framework)(*sciad.convert((y, args), framework)))


def _residual(framework, y, args):
    return np.asarray(_call(framework, "residual", y, args))


def _without_rotation(y):
    """y with camera 0 turned to r = 0 exactly and moved to keep the origin ahead on its axis."""
    cams = y["cams"].copy()
    cams[0, 0:6] = [0.0, 0.0, 0.0, 0.0, 0.0, -np.linalg.norm(cams[0, 3:6])]
    return dict(y, cams=cams)


@given(seed=seeds, scale=st.floats(0.25, 4.0))
def test_residual_is_invariant_under_a_similarity_transform_of_the_world(framework, seed, scale):
    # X ↦ sQX + t and C ↦ sQC + t with R ↦ RQᵀ keep R(X − C) up to the factor s, which the perspective
    # division removes: the projections, and so every residual (distortion included), are unchanged.
    y, args = SPEC.make_inputs("small", seed=seed)
    rng = np.random.default_rng(seed)
    turn, shift = Rotation.random(random_state=rng), rng.normal(0.0, 10.0, 3)
    cams = y["cams"].copy()
    world_to_camera = Rotation.from_rotvec(cams[:, 0:3]) * turn.inv()
    cams[:, 0:3] = world_to_camera.as_rotvec()
    cams[:, 3:6] = scale * turn.apply(cams[:, 3:6]) + shift
    moved = dict(y, cams=cams, points=scale * turn.apply(y["points"]) + shift)
    before, after = _residual(framework, y, args), _residual(framework, moved, args)
    assert checks.error({"r": before}, {"r": after}) <= 1e-10


@given(seed=seeds, other=seeds)
def test_weight_error_depends_on_the_weights_alone(framework, seed, other):
    y, args = SPEC.make_inputs("small", seed=seed)
    elsewhere, other_args = SPEC.make_inputs("small", seed=other)
    mixed = dict(elsewhere, weights=y["weights"])  # other cameras, points, features and observations
    p = len(y["weights"])
    for inputs, arguments in ((y, args), (mixed, other_args)):
        np.testing.assert_allclose(_residual(framework, inputs, arguments)[2 * p :], 1.0 - y["weights"] ** 2, rtol=0, atol=1e-15)
        jacobian = run(NAME, "jacfwd", framework, inputs, arguments)
        assert not np.any(jacobian["cams"][2 * p :]) and not np.any(jacobian["points"][2 * p :])
        np.testing.assert_array_equal(jacobian["weights"][2 * p :], np.diag(-2.0 * y["weights"]))


@given(seed=seeds)
def test_jacobian_csr_is_the_dense_jacobian_with_gradbench_structure(framework, seed):
    y, args = SPEC.make_inputs("small", seed=seed)
    data, indices, indptr = _call(framework, "jacobian_csr", y, args)
    expected_indices, expected_indptr = bundle_adjustment.csr_structure(len(y["cams"]), len(y["points"]), args["obs"])
    np.testing.assert_array_equal(indices, expected_indices)
    np.testing.assert_array_equal(indptr, expected_indptr)
    dense = checks.rows_by_y(run(NAME, "jacfwd", framework, y, args), 1)
    from_csr = scipy.sparse.csr_matrix((data, indices, indptr), shape=dense.shape).toarray()
    assert checks.error({"J": dense}, {"J": from_csr}) <= 1e-12
    assert checks.error({"data": bundle_adjustment.jacobian_csr(y, args)[0]}, {"data": data}) <= 1e-12


@given(seed=seeds)
def test_zero_rotation_takes_the_first_order_branch_with_finite_derivatives(framework, seed):
    # Both branches are evaluated and selected by where: without the guard on θ, reverse mode would
    # return NaN at r = 0. The reference is GradBench's X_c = X_o + r × X_o there, and its closed form.
    y, args = SPEC.make_inputs("small", seed=seed)
    y = _without_rotation(y)
    residual = _residual(framework, y, args)
    gradient = checks.ravel(run(NAME, "grad", framework, y, args))
    assert checks.error({"r": bundle_adjustment.residual(y, args)}, {"r": residual}) <= 1e-10
    assert checks.error({"g": checks.ravel(bundle_adjustment.grad(y, args))}, {"g": gradient}) <= 1e-10


@given(seed=seeds)
def test_reference_closed_form_jacobian_matches_complex_step(seed):
    y, args = SPEC.make_inputs("small", seed=seed)
    if seed % 2:
        y = _without_rotation(y)  # the first-order branch's blocks too
    x, unravel = checks.ravel(y), checks.unraveler(y)
    complex_step = checks.jacobian(lambda z: bundle_adjustment.residual(unravel(z), args), x, complex_step=True, step=0.0)
    # Roundoff in entries up to ~10³: measured ≤ 2.4e-13 over 400 seeds.
    assert checks.error({"J": complex_step}, {"J": bundle_adjustment.jacobian(y, args)}) <= 1e-12


def test_adbench_file_gives_adbench_published_errors_and_jacobian(framework, tmp_path):
    path = tmp_path / "ba_test.txt"
    path.write_text(ADBENCH_TEST_FILE)
    y, args = adbench.read(path)
    SPEC.validate(y, args)
    p = len(y["weights"])
    expected_residual = np.concatenate([np.tile(ADBENCH_REPROJECTION_ERROR, p), np.full(p, ADBENCH_WEIGHT_ERROR)])
    # e = w (proj − x̂) and ∂e/∂w = proj − x̂ with proj ≈ −526 px: they differ from ADBench's by a few ulps
    # of the projection (1.1e-13 each), 4.5e-13 at most.
    assert checks.error({"r": expected_residual}, {"r": _residual(framework, y, args)}) <= 1e-12
    data, indices, indptr = _call(framework, "jacobian_csr", y, args)
    expected_data = np.concatenate([np.tile(ADBENCH_JACOBIAN_ROWS, p), np.full(p, ADBENCH_WEIGHT_DERIVATIVE)])
    assert checks.error({"J": expected_data}, {"J": data}) <= 1e-12
    assert (len(indptr) - 1, int(indices.max()) + 1, len(indices)) == (30, 62, 310)  # ADBench's J shape and count


@given(seed=seeds, sizes=st.tuples(st.integers(1, 4), st.integers(1, 6), st.integers(1, 12)))
def test_adbench_writer_and_reader_round_trip(tmp_path_factory, seed, sizes):
    n, m, p = sizes
    y, args = bundle_adjustment.build(np.random.default_rng(seed), n, m, p, replicated=True)
    path = tmp_path_factory.mktemp("ba") / "ba.txt"
    adbench.write(path, y, args)
    y_read, args_read = adbench.read(path)
    for key in y:
        np.testing.assert_array_equal(y_read[key], y[key])
    for key in args:
        np.testing.assert_array_equal(args_read[key], args[key])


def test_adbench_writer_refuses_inputs_the_format_cannot_hold(tmp_path):
    y, args = SPEC.make_inputs("small", seed=0)
    with pytest.raises(ValueError, match="replicated"):
        adbench.write(tmp_path / "ba.txt", y, args)


def test_gradbench_message_gives_the_inputs_of_the_file(tmp_path):
    path = tmp_path / "ba_test.txt"
    path.write_text(ADBENCH_TEST_FILE)
    lines = [[float(v) for v in line.split()] for line in ADBENCH_TEST_FILE.splitlines()]
    message = {"n": 2, "m": 10, "p": 10, "cam": lines[1], "x": lines[2], "w": lines[3][0], "feat": lines[4]}
    (y, args), (y_file, args_file) = adbench.from_gradbench(message), adbench.read(path)
    for key in y:
        np.testing.assert_array_equal(y[key], y_file[key])
    for key in args:
        np.testing.assert_array_equal(args[key], args_file[key])
