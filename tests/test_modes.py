"""The mode table's classic-autograd modes: the same results as torch.func, refusals in one sentence, and
no benchmark case for a transform a mode cannot express."""

from __future__ import annotations

import numpy as np
import pytest

import problems
import sciad
from sciad import names, parity, transforms
from sciad.bench import cases
from sciad.errors import SciadError

torch = pytest.importorskip("torch")

from sciad.frameworks import load  # noqa: E402


def _outputs(problem: str, transform: str, mode: str):
    spec = problems.get(problem)
    y, args, extra = transforms.inputs(spec, transform, "small", "float64")
    fn = transforms.build(spec, transform, "torch", mode)
    yt, at, et = sciad.convert((y, args, extra), "torch")
    return sciad.to_numpy(fn(yt, at, *et))


def _assert_trees_close(got, want):
    flat_got, flat_want = sciad.trees.leaves(got), sciad.trees.leaves(want)
    assert len(flat_got) == len(flat_want)
    for a, b in zip(flat_got, flat_want):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("transform", ["grad", "value_and_grad", "hessian", "hvp_fwd_rev", "hvp_rev_rev"])
def test_autograd_equals_torch_func_on_rosenbrock(transform):
    _assert_trees_close(_outputs("rosenbrock", transform, "autograd"), _outputs("rosenbrock", transform, "eager"))


@pytest.mark.parametrize("transform", ["jvp", "vjp", "jacrev"])
def test_autograd_equals_torch_func_on_a_vector_map(transform):
    _assert_trees_close(_outputs("double_pendulum", transform, "autograd"), _outputs("double_pendulum", transform, "eager"))


def test_autograd_primitives_take_trees():
    """Dict-valued inputs and outputs: classic autograd's Jacobian and Hessian keep torch.func's layout."""
    fw = load("torch")
    generator = torch.Generator().manual_seed(0)
    y = {
        "a": torch.randn(3, dtype=torch.float64, generator=generator),
        "b": torch.randn(2, 2, dtype=torch.float64, generator=generator),
    }

    def vector_map(y):
        return {"u": y["a"].sin() * y["b"].sum(), "v": (y["b"] ** 2).cumsum(0)}

    def objective(y):
        return (y["a"] ** 3).sum() * y["b"].prod()

    _assert_trees_close(fw.autograd.jacrev(vector_map)(y), torch.func.jacrev(vector_map)(y))
    _assert_trees_close(fw.autograd.hessian(objective)(y), torch.func.hessian(objective)(y))
    tangent = {key: torch.ones_like(value) for key, value in y.items()}
    _assert_trees_close(fw.autograd.jvp(vector_map, y, tangent), torch.func.jvp(vector_map, (y,), (tangent,)))
    _assert_trees_close(fw.autograd.grad(objective)(y), torch.func.grad(objective)(y))


def test_autograd_compile_compiles_the_function_and_differentiates_it_classically():
    _assert_trees_close(_outputs("rosenbrock", "grad", "autograd_compile"), _outputs("rosenbrock", "grad", "eager"))


@pytest.mark.parametrize(("problem", "transform", "mode"), [
    ("rosenbrock", "grad", "autograd"),
    ("lse", "vmap", "autograd"),
    ("logistic_regression", "per_sample_grad", "autograd"),
    ("double_pendulum", "jacfwd", "autograd"),
    ("double_pendulum", "jvp", "autograd_compile"),
    ("rosenbrock", "hvp_fwd_rev", "autograd_compile"),
])
def test_unsupported_pairs_are_refused_in_one_sentence(problem, transform, mode):
    record = names.mode("torch", mode)
    if record.expresses(transform):
        sciad.transform(problem, transform, "torch", mode)  # builds
        return
    with pytest.raises(SciadError) as caught:
        sciad.transform(problem, transform, "torch", mode)
    message = str(caught.value)
    assert "\n" not in message and message.count(". ") == 0
    assert transform in message and mode in message


def test_a_prebuilt_variant_runs_in_every_mode():
    spec = problems.get("heat_inverse")
    for record in names.MODE_TABLE:
        if record.framework == "torch":
            assert transforms.supported(spec, "grad_classic", record)


def test_mode_records_name_known_transforms():
    for record in names.MODE_TABLE:
        assert set(record.supports or ()) <= set(transforms.TRANSFORMS)


def test_bench_generates_no_case_a_mode_cannot_express():
    generated = cases.generate(problems.SPECS, frameworks=("torch",), sizes=("small",), dtypes=("float64",))
    for case in generated:
        assert transforms.supported(problems.get(case.problem), case.transform, names.mode("torch", case.mode)), case.id
    pairs = {(case.transform, case.mode) for case in generated}
    assert ("grad", "autograd") in pairs and ("grad", "autograd_compile") in pairs
    assert ("vmap", "eager") in pairs and ("vmap", "autograd") not in pairs
    assert ("jvp", "autograd") in pairs and ("jvp", "autograd_compile") not in pairs


def test_parity_cells_of_the_new_modes_are_expressible():
    for cell in parity.cells(problems.SPECS, frameworks=("torch",), dtypes=("float64",)):
        if cell.mode:
            assert transforms.supported(problems.get(cell.problem), cell.transform, names.mode("torch", cell.mode)), cell.id


# -- regional compilation ---------------------------------------------------------------------------

from sciad.frameworks import torch_backend  # noqa: E402


@torch_backend.region
def _damped_step(u, k):
    return u + k * torch.sin(u)


def _loop(u, steps=4):
    for _ in range(steps):
        u = _damped_step(u, 0.5)
    return torch.sum(u * u)


def _loop_gradient(regional: bool):
    u = torch.linspace(-1.0, 1.0, 5, dtype=torch.float64, requires_grad=True)
    loss = (torch_backend.regional(_loop) if regional else _loop)(u)
    return torch.autograd.grad(loss, u)[0]


def test_a_region_outside_a_regional_mode_is_the_plain_function():
    fw = load("torch")
    before = fw.graph_count()
    _loop_gradient(regional=False)
    assert fw.graph_count() == before


def test_a_regional_call_compiles_the_step_once_and_autograd_records_through_it():
    fw = load("torch")
    eager = _loop_gradient(regional=False)
    before = fw.graph_count()
    first = _loop_gradient(regional=True)
    compiled = fw.graph_count() - before
    second = _loop_gradient(regional=True)
    # One graph for the step, reused by every step of both loops; a Python number that changed per step
    # or a new closure per call would compile more.
    assert compiled == 1 and fw.graph_count() - before == 1
    # The derivative by hand: u ← u + k sin u has du'/du = 1 + k cos u, chained over the steps.
    u, chain = torch.linspace(-1.0, 1.0, 5, dtype=torch.float64), torch.ones(5, dtype=torch.float64)
    for _ in range(4):
        chain, u = chain * (1 + 0.5 * torch.cos(u)), u + 0.5 * torch.sin(u)
    for got in (first, second, eager):
        torch.testing.assert_close(got, 2 * u * chain, rtol=1e-12, atol=1e-12)


def test_regional_functions_are_the_torch_implementations_and_the_modes_regional_ones_are_compiled():
    for spec in problems.SPECS:
        assert set(spec.compile_regions) <= set(spec.public_functions("torch")), spec.name
    assert [m.name for m in names.MODE_TABLE if m.regional] == ["autograd_compile"]


def _scanned_loss(u, k, regional: bool):
    # A new closure per call, over a tensor computed per call, as the problems write their loops.
    rate = k * torch.ones_like(u)

    def step(carry, weight):
        carry = carry + rate * torch.sin(carry)
        return carry, weight * carry

    def loss(u):
        final, weighted = torch_backend.scan(step, u, torch.tensor([1.0, 2.0, 3.0, 4.0], dtype=u.dtype))
        return torch.sum(final * final) + torch.sum(weighted)

    return (torch_backend.regional(loss) if regional else loss)(u)


def test_scan_is_lax_scan_in_python_and_one_compiled_graph_in_a_regional_mode():
    fw = load("torch")
    u = torch.linspace(-1.0, 1.0, 5, dtype=torch.float64, requires_grad=True)
    before = fw.graph_count()
    eager = torch.autograd.grad(_scanned_loss(u, 0.5, regional=False), u)[0]
    assert fw.graph_count() == before
    first = torch.autograd.grad(_scanned_loss(u, 0.5, regional=True), u)[0]
    second = torch.autograd.grad(_scanned_loss(u, 0.5, regional=True), u)[0]
    # The whole loop is one graph, and a new closure of the same step reuses it.
    assert fw.graph_count() - before == 1
    # By hand: u_n = u_{n-1} + k sin u_{n-1}; the loss is Σ u_4² + Σ_n n u_n, so its derivative is
    # 2 u_4 ∂u_4/∂u + Σ_n n ∂u_n/∂u, with ∂u_n/∂u = Π (1 + k cos u_m) over m < n.
    x, chain = torch.linspace(-1.0, 1.0, 5, dtype=torch.float64), torch.ones(5, dtype=torch.float64)
    expected = torch.zeros(5, dtype=torch.float64)
    for n in range(1, 5):
        chain, x = chain * (1 + 0.5 * torch.cos(x)), x + 0.5 * torch.sin(x)
        expected += n * chain
    expected += 2 * x * chain
    for got in (eager, first, second):
        torch.testing.assert_close(got, expected, rtol=1e-12, atol=1e-12)


def test_scan_without_xs_or_ys_counts_steps_and_returns_no_ys_in_both_paths():
    def step(carry, x):
        assert x is None
        return carry * 2.0, None

    for run in (lambda f: f(), lambda f: torch_backend.regional(f)()):
        final, ys = run(lambda: torch_backend.scan(step, torch.ones(3, dtype=torch.float64), length=5))
        assert ys is None
        torch.testing.assert_close(final, torch.full((3,), 32.0, dtype=torch.float64))


def test_scan_of_no_steps_returns_the_carry_in_both_paths():
    # heat_inverse's checkpointed loop ends with a remainder of zero steps whenever √T divides T.
    start = torch.ones(3, dtype=torch.float64)
    for run in (lambda f: f(), lambda f: torch_backend.regional(f)()):
        final, ys = run(lambda: torch_backend.scan(lambda c, x: (c * 2.0, c), start, length=0))
        assert ys is None and torch.equal(final, start)
