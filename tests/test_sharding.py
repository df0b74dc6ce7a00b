"""Across devices (`sciad.sharding`): sharded transforms equal one device, JAX-sharded equals
torch-distributed, and the N× trap of data-parallel gradients is caught by the parity check.

JAX runs in a subprocess that simulates 4 CPU devices (XLA_FLAGS set before JAX is imported); torch runs on
2 gloo ranks started by spawn. Each runs once for the module (a fixture), computing every job and the
planted traps; the tests read its outputs.
"""

from __future__ import annotations

import json
import os
import pathlib
import pickle
import subprocess
import sys

import numpy as np
import pytest

import sciad
from sciad import checks, registry, sharding
from sciad.bench.cases import Case
from sciad.trees import tree_map

ROOT = pathlib.Path(__file__).resolve().parent.parent
JAX_DEVICES, TORCH_RANKS = 4, 2

# float64: vmap over a batch (hmc's chains, lennard_jones' configurations), per-sample gradients over data
# rows, and data-mean gradients of a replicated parameter (a vector, and mlp_ensemble's dict of arrays).
JOBS = [
    ("logistic_regression", "float64", "grad"),
    ("logistic_regression", "float64", "value_and_grad"),
    ("logistic_regression", "float64", "per_sample_grad"),
    ("mlp_ensemble", "float64", "grad"),
    ("mlp_ensemble", "float64", "per_sample_grad"),
    ("lennard_jones", "float64", "vmap"),
    ("hmc", "float64", "vmap"),
    # Differentiates in its replicated collocation points inside the vmapped gradient: summed over the
    # devices (relative error 1.0) if the per-device transforms ran with shard_map's check_vma.
    ("pinn_poisson", "float64", "vmap"),
]
TRAP_JOBS = [("logistic_regression", "float64", "grad"), ("mlp_ensemble", "float64", "grad")]


# -- the planted N× traps (module-level: the JAX worker and the torch ranks import them) ---------------


def ddp_habit_in_shard_map(plan, fw, fn):
    """JAX, written as DDP would be: each device's gradient of its own rows, then `pmean`. Inside
    shard_map the gradient of the replicated y is already summed over the devices, so this is N×."""
    import jax

    local = plan.record.build(fw, fn, plan.spec)
    return lambda y, args: jax.tree.map(lambda g: jax.lax.pmean(g, "data"), local(y, args))


def all_reduce_twice(out, world):
    """torch: the averaged gradient all-reduced again (an extra all_reduce after DDP's own): N×."""
    import torch.distributed as dist

    from sciad.frameworks import torch_distributed

    def again(t):
        dist.all_reduce(t, op=dist.ReduceOp.SUM)
        return t

    return tree_map(again, torch_distributed.all_reduce_mean(out, world))


def jax_worker(path: str) -> None:
    """In a process that sees JAX_DEVICES CPU devices: the jobs, the trap, and what JAX refuses."""
    import jax

    out = {
        "devices": len(jax.devices()),
        "jobs": sharding.compute("jax", JOBS, JAX_DEVICES),
        "trap": sharding.compute("jax", TRAP_JOBS, JAX_DEVICES, local=ddp_habit_in_shard_map),
        "particles": particles_and_training("jax"),
    }
    spec = registry.get("lennard_jones")
    y, args = sharding.inputs(spec, "vmap", "float64", JAX_DEVICES)
    gradients = sciad.transform(spec, "vmap", "jax", devices=JAX_DEVICES)(y, args)
    out["placed_on"] = len(gradients.sharding.device_set)
    for name, call in {
        "too_many": lambda: sciad.transform(spec, "vmap", "jax", devices=2 * JAX_DEVICES),
        "uneven": lambda: sciad.transform(spec, "vmap", "jax", devices=JAX_DEVICES)(y[:3], args),
    }.items():
        try:
            call()
            out[name] = ""
        except sciad.SciadError as exc:
            out[name] = str(exc)
    with open(path, "wb") as f:
        pickle.dump(out, f)


def torch_worker():
    """On every rank: the jobs and the trap; rank 0's outputs come back."""
    import torch.distributed as dist

    return {
        "world": dist.get_world_size(),
        "jobs": sharding.compute("torch", JOBS, TORCH_RANKS),
        "trap": sharding.compute("torch", TRAP_JOBS, TORCH_RANKS, combine=all_reduce_twice),
        "particles": particles_and_training("torch"),
    }


def _run_both(directory: pathlib.Path) -> dict:
    """The JAX worker (a subprocess) runs while the torch ranks do: the two overlap on the CPU."""
    path = directory / "jax.pkl"
    code = f"import tests.test_sharding as t; t.jax_worker({str(path)!r})"
    env = sharding.with_host_devices(os.environ, JAX_DEVICES)
    worker = subprocess.Popen(
        [sys.executable, "-c", code], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        torch_run = sharding.spawn(torch_worker, TORCH_RANKS)
        _, stderr = worker.communicate(timeout=300)
    finally:
        if worker.poll() is None:
            worker.kill()
    assert worker.returncode == 0, stderr[-3000:]
    with open(path, "rb") as f:
        return {"jax": pickle.load(f), "torch": torch_run}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Once per session. Under pytest-xdist the module's tests may land on both workers (with pytest 9,
    xdist 3.8's loadgroup does not group them), so the first worker computes and the other waits on a lock
    in the session's shared directory and reads the same outputs."""
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        return _run_both(tmp_path_factory.mktemp("sharding"))
    import fcntl

    shared = tmp_path_factory.getbasetemp().parent  # the session's directory, above each worker's own
    done = shared / "sharding-runs.pkl"
    with open(shared / "sharding-runs.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not done.exists():
            computed = _run_both(tmp_path_factory.mktemp("sharding"))
            with open(done, "wb") as f:
                pickle.dump(computed, f)
        with open(done, "rb") as f:
            return pickle.load(f)


@pytest.fixture(scope="module")
def jax_run(runs):
    return runs["jax"]


def _outputs(got, key):
    assert "error" not in got[key], got[key]["error"]
    return got[key]["one"], got[key]["sharded"]


@pytest.mark.parametrize("framework", ["jax", "torch"])
def test_sharded_equals_one_device_to_1e_12(runs, framework):
    """vmap, per-sample and data-mean gradients, replicated parameters included, on 4 JAX devices and 2 torch ranks."""
    run = runs[framework]
    assert run.get("devices", JAX_DEVICES) == JAX_DEVICES and run.get("world", TORCH_RANKS) == TORCH_RANKS
    errors = {key: checks.error(*_outputs(run["jobs"], key)) for key in JOBS}
    assert max(errors.values()) <= sharding.SAME_MATHS_FLOAT64, errors
    for key in JOBS:  # nothing trivially equal: every output has nonzero entries
        assert any(np.abs(part).max() > 0 for part in run["jobs"][key]["sharded"].values()), key


def test_jax_sharded_equals_torch_distributed(runs):
    errors = {}
    for key in JOBS:
        jax_sharded, torch_distributed = _outputs(runs["jax"]["jobs"], key)[1], _outputs(runs["torch"]["jobs"], key)[1]
        errors[key] = checks.error(jax_sharded, torch_distributed)
        assert errors[key] <= registry.get(key[0]).tolerance["float64"], (key, errors[key])


@pytest.mark.parametrize("framework, devices", [("jax", JAX_DEVICES), ("torch", TORCH_RANKS)])
def test_planted_n_times_trap_is_caught(runs, framework, devices):
    """A second reduction of an already-reduced gradient scales it by the device count; the parity check
    (the metric against the problem's tolerance) fails it, and the correct combination passes."""
    run = runs[framework]
    for key in TRAP_JOBS:
        tolerance = registry.get(key[0]).tolerance["float64"]
        one, correct = _outputs(run["jobs"], key)
        _, trapped = _outputs(run["trap"], key)
        assert checks.error(one, correct) <= tolerance
        assert checks.error(one, trapped) > tolerance, key
        for part in one:
            np.testing.assert_allclose(trapped[part], devices * one[part], rtol=1e-12, atol=1e-15)


def test_jax_results_live_on_every_device_and_bad_counts_are_one_sentence(jax_run):
    assert jax_run["placed_on"] == JAX_DEVICES
    assert jax_run["too_many"].startswith(f"devices={2 * JAX_DEVICES} was asked for, but JAX sees {JAX_DEVICES} cpu device(s)")
    assert "y's batch axis has length 3, which 4 devices cannot split evenly" in jax_run["uneven"]


@pytest.mark.parametrize(
    "problem, transform, message",
    [
        (
            "logistic_regression",
            "hessian",
            "transform 'hessian' of problem 'logistic_regression' has no sharded form; transforms that shard",
        ),
        ("lennard_jones", "grad", "has no sharded form: the problem declares no data rows (per_sample)"),
        ("mlp_ensemble", "train", "transform 'train' of problem 'mlp_ensemble' has no sharded form"),
    ],
)
def test_a_transform_without_a_sharded_form_is_refused_in_one_sentence(problem, transform, message):
    with pytest.raises(sciad.SciadError) as caught:
        sharding.plan(registry.get(problem), transform, 2)
    assert message in str(caught.value) and "\n" not in str(caught.value)


def test_every_data_mean_declaration_names_a_problem_with_per_sample_rows():
    for name in sharding.DATA_MEANS:
        assert registry.get(name).per_sample is not None, name
    for record in sharding.TABLE:
        assert record.transform in sciad.transforms.TRANSFORMS


def test_torch_outside_a_process_group_is_one_sentence():
    with pytest.raises(sciad.SciadError, match="runs on every rank of an initialised process group"):
        sciad.transform("logistic_regression", "grad", "torch", devices=2)


def _sciad(*argv):
    return subprocess.run([sys.executable, "-m", "sciad.cli", *argv], cwd=ROOT, capture_output=True, text=True, timeout=300)


def test_check_devices_runs_jax_on_simulated_devices():
    result = _sciad("check", "--devices", "2", "--problem", "logistic_regression", "--framework", "jax", "--dtype", "float64")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "logistic_regression-jax-float64-grad-devices2 " in result.stdout
    assert result.stdout.strip().splitlines()[-1] == "4 passed, 0 failed"


@pytest.mark.parametrize(
    "argv, message",
    [
        (
            ["--devices", "3", "--problem", "logistic_regression"],
            "args['X']'s rows has length 32, which 3 devices cannot split evenly",
        ),
        (["--devices", "0", "--problem", "logistic_regression"], "--devices 0 is not accepted; a positive integer is"),
        (["--devices", "2", "--problem", "rosenbrock"], "no transform of rosenbrock has a sharded form"),
    ],
)
def test_check_devices_bad_input_exits_2_with_one_sentence(argv, message):
    result = _sciad("check", *argv)
    assert result.returncode == 2 and message in result.stderr and result.stderr.count("\n") == 1, result.stderr


def test_importing_sharding_loads_no_framework():
    code = "import sys, sciad.sharding; print(' '.join(sorted({m.split('.')[0] for m in sys.modules})))"
    loaded = set(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split())
    assert not loaded & {"problems", "jax", "torch", "equinox", "diffrax", "optax"}


# -- scaling in the benchmark (`sciad bench --devices`) ---------------------------------------------------

SCALING = ["--problem", "logistic_regression", "--transform", "grad", "--size", "small", "--min-runs", "2", "--min-time", "0"]


def test_bench_devices_records_strong_and_weak_scaling_resumes_and_reports(tmp_path):
    out = tmp_path / "scaling.jsonl"
    result = _sciad("bench", "--devices", "1,2", "--framework", "jax", *SCALING, "--out", str(out))
    assert result.returncode == 0, result.stdout + result.stderr
    before = out.read_bytes()
    cases = [json.loads(line) for line in before.splitlines() if '"kind": "environment"' not in line.decode()]
    assert sorted((r["devices"], r["scaling"], r["status"]) for r in cases) == [
        (1, "strong", "ok"),
        (1, "weak", "ok"),
        (2, "strong", "ok"),
        (2, "weak", "ok"),
    ], cases
    # Strong scaling keeps logistic_regression's 32 rows; weak scaling gives each device 32.
    assert {(r["devices"], r["scaling"]): r["split_length"] for r in cases} == {
        (1, "strong"): 32,
        (1, "weak"): 32,
        (2, "strong"): 32,
        (2, "weak"): 64,
    }
    assert all(r["check_error"] <= r["check_tolerance"] for r in cases)  # each checked against the NumPy reference
    assert all(
        "--xla_force_host_platform_device_count=" + str(r["devices"]) in r["worker_environment"]["XLA_FLAGS"] for r in cases
    )

    again = _sciad("bench", "--devices", "1,2", "--framework", "jax", *SCALING, "--out", str(out), "--resume")
    assert again.returncode == 0 and "4 already in it, 0 to run" in again.stdout, again.stdout + again.stderr
    assert out.read_bytes().startswith(before)

    report_dir = tmp_path / "report"
    made = _sciad("report", str(out), "--out", str(report_dir))
    assert made.returncode == 0, made.stderr
    text = (report_dir / "report.md").read_text()
    assert "![scaling efficiency](scaling_efficiency.png)" in text and (report_dir / "scaling_efficiency.png").stat().st_size > 0
    assert "not speed-up" in text


LOGREG = ["--problem", "logistic_regression", "--transform", "grad", "--size", "small"]


@pytest.mark.parametrize(
    "argv, message",
    [
        (
            ["--devices", "1,3", *LOGREG],
            "the data rows (n) of problem 'logistic_regression', transform 'grad' at size 'small' "
            "has length 32, which 3 devices cannot split evenly",
        ),
        (["--devices", "1,2,400", *LOGREG], "--devices 400 is more devices than this host can simulate"),
        (
            ["--devices", "1,two", *LOGREG],
            "--devices '1,two' is not accepted; a comma-separated list of positive device counts is",
        ),
        (
            ["--devices", "2", "--problem", "rosenbrock"],
            "--devices selects no case: no selected transform of rosenbrock has a sharded form",
        ),
        (
            ["--devices", "2", "--problem", "logistic_regression", "--transform", "hessian"],
            "transform 'hessian' of problem 'logistic_regression' has no sharded form",
        ),
    ],
)
def test_bench_devices_bad_input_is_one_sentence_and_loses_nothing(tmp_path, argv, message):
    out = tmp_path / "r.jsonl"
    record = {
        "problem": "logistic_regression",
        "transform": "grad",
        "framework": "jax",
        "mode": "jit",
        "size": "small",
        "dtype": "float64",
        "device": "cpu",
        "devices": 1,
        "scaling": "strong",
        "status": "ok",
        "median_s": 1.0,
    }
    held = b'{"kind": "environment"}\n' + json.dumps(record).encode() + b"\n"
    out.write_bytes(held)
    result = _sciad("bench", *argv, "--out", str(out), "--resume")
    assert result.returncode == 2 and message in result.stderr and result.stderr.count("\n") == 1, result.stderr
    assert out.read_bytes() == held


def test_the_report_computes_strong_and_weak_efficiency(tmp_path):
    """Hand-made medians: strong E = T1/(N·TN), weak E = T1/TN."""
    base = {
        "problem": "hmc",
        "transform": "vmap",
        "framework": "torch",
        "mode": "eager",
        "size": "bench",
        "dtype": "float64",
        "device": "cpu",
        "status": "ok",
        "simulated_devices": True,
        "cores": 2,
    }
    medians = {("strong", 1): 1.0, ("strong", 2): 0.8, ("strong", 4): 0.5, ("weak", 1): 1.0, ("weak", 2): 1.25, ("weak", 4): 2.0}
    lines = [json.dumps({"kind": "environment", "cpu": "test"})]
    lines += [json.dumps(dict(base, scaling=kind, devices=n, median_s=t)) for (kind, n), t in medians.items()]
    path = tmp_path / "r.jsonl"
    path.write_text("\n".join(lines) + "\n")
    from sciad.bench import report

    text = report.write([path], tmp_path / "out").read_text()
    # strong: 1/(2·0.8) = 0.625, 1/(4·0.5) = 0.5; weak: 1/1.25 = 0.8, 1/2 = 0.5
    for kind, n, shown in (("strong", 2, "0.62"), ("strong", 4, "0.50"), ("weak", 2, "0.80"), ("weak", 4, "0.50")):
        assert any(
            row.startswith("| hmc | vmap") and f"| {kind} | {n} |" in row and row.endswith(f"| {shown} |")
            for row in text.splitlines()
        ), (kind, n, text)
    assert "simulated on one host" in text and (tmp_path / "out" / "scaling_efficiency.png").exists()


# -- across processes, on the frameworks' own launchers: README.md's "Across hosts" commands ----------------


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("localhost", 0))
        return s.getsockname()[1]


def _readme_commands() -> dict[str, str]:
    """The JAX and torchrun lines of README.md's "Across hosts" section, as written there."""
    section = (ROOT / "README.md").read_text().split("### Across hosts", 1)[1].split("\n## ", 1)[0]
    lines = section.split("```bash", 1)[1].split("```", 1)[0].splitlines()
    return {
        "jax": next(line for line in lines if line.startswith("python ") and "--coordinator" in line),
        "torch": next(line for line in lines if line.startswith("torchrun ")),
    }


def test_the_readme_multihost_commands_on_two_local_processes_agree_with_one_process(tmp_path):
    """README's 2-host × 8-GPU lines with the host counts changed, on this CPU: JAX in two processes
    (jax.distributed.initialize on localhost, one CPU device each), torch on torchrun's two gloo ranks.
    Each sharded result equals the one-device result (≤ 1e-12) and the NumPy reference, and JAX equals torch."""
    import shlex

    from sciad import transforms

    commands = _readme_commands()
    jax_line = (
        commands["jax"].replace("host0:12355", f"localhost:{_free_port()}").replace("--out jax.npz", f"--out {tmp_path}/jax.npz")
    )
    torch_line = (
        commands["torch"]
        .replace("--nnodes 2 --nproc-per-node 8", "--nnodes 1 --nproc-per-node 2")
        .replace("host0:29500", f"localhost:{_free_port()}")
        .replace("--out torch.npz", f"--out {tmp_path}/torch.npz")
    )
    assert jax_line.count("localhost") == torch_line.count("localhost") == 1 and "host0" not in jax_line + torch_line
    env = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}  # one CPU device per JAX process
    bin_dir = pathlib.Path(sys.executable).parent
    started = [
        subprocess.Popen(
            [sys.executable, *shlex.split(jax_line.replace("$i", str(i)))[1:]],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for i in (0, 1)
    ]
    started.append(
        subprocess.Popen(
            [str(bin_dir / "torchrun"), *shlex.split(torch_line)[1:]],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
    )
    logs = [process.communicate(timeout=240)[0] for process in started]
    assert all(process.returncode == 0 for process in started), "\n".join(log[-3000:] for log in logs)

    spec = registry.get("logistic_regression")
    outputs = {fw: dict(np.load(tmp_path / f"{fw}.npz")) for fw in ("jax", "torch")}
    assert outputs["jax"]["devices"] == outputs["torch"]["devices"] == 2
    for transform in ("grad", "per_sample_grad"):
        y, args = sharding.inputs(spec, transform, "float64", 2)
        reference = transforms.expected(spec, transform, y, args, ())
        got = {}
        for fw, saved in outputs.items():
            got[fw] = {k.split("/")[2]: v for k, v in saved.items() if k.startswith(f"{transform}/sharded/")}
            one = {k.split("/")[2]: v for k, v in saved.items() if k.startswith(f"{transform}/one/")}
            assert got[fw] and one.keys() == got[fw].keys()
            assert checks.error(one, got[fw]) <= 1e-12, (fw, transform)
            assert checks.error(reference, got[fw]) <= spec.tolerance["float64"], (fw, transform)
        assert checks.error(got["jax"], got["torch"]) <= spec.tolerance["float64"], transform


# -- particles split over devices (nbody, lennard_jones) and mlp_ensemble trained data-parallel ----------------

PARTICLE_DEVICES = {"jax": JAX_DEVICES, "torch": TORCH_RANKS}
SGD_STEPS, SGD_RATE = 3, 0.05
TORCH_SCALING_CASE = Case("logistic_regression", "grad", "torch", "eager", "small", "float64", "cpu", TORCH_RANKS, "weak")


def _particle_inputs():
    nbody = registry.get("nbody").make_inputs("medium", 0, "float64", n=16, steps=20)  # 16 bodies, 20 steps
    lj = registry.get("lennard_jones").make_inputs("medium", 0, "float64")  # 64 particles
    mlp = registry.get("mlp_ensemble").make_inputs("small", 0, "float64")  # 8 rows
    return nbody, lj, mlp


def particles_and_training(framework: str) -> dict:
    """One device's and the sharded results, as NumPy: nbody's final state and objective gradient, Lennard-Jones
    forces, and mlp_ensemble's parameters after each SGD step. JAX: in a process with JAX_DEVICES devices;
    torch: on every rank of a TORCH_RANKS process group (rank 0's result is kept)."""
    (yn, an), (yl, al), (ym, am) = _particle_inputs()
    from sciad import frameworks

    frameworks.load(framework)  # sciad's settings (JAX's float64) before any array is made
    yn, an, yl, al, ym, am = sciad.convert((yn, an, yl, al, ym, am), framework)
    from sciad.bench import worker

    devices = PARTICLE_DEVICES[framework]
    if framework == "jax":
        import jax

        from problems.lennard_jones import jax_impl as lj
        from problems.lennard_jones import jax_sharded as lj_sharded
        from problems.mlp_ensemble import jax_data_parallel as mlp
        from problems.nbody import jax_impl as nb
        from problems.nbody import jax_sharded as nb_sharded

        # Compiled as JAX's users would run them (op by op, the sharded gradients take tens of seconds here);
        # args close over the functions, as their step counts are Python ints.
        yn_placed, an_placed = nb_sharded.layout(yn, an, devices)
        yl_placed = lj_sharded.layout(yl, devices)
        out = {
            "nbody_simulate": (
                jax.jit(lambda y: nb.simulate(y, an))(yn),
                jax.jit(lambda y: nb_sharded.simulate(y, an_placed, devices))(yn_placed),
            ),
            "nbody_grad": (
                jax.jit(jax.grad(lambda y: nb.objective(y, an)))(yn),
                jax.jit(jax.grad(lambda y: nb_sharded.objective(y, an_placed, devices)))(yn_placed),
            ),
            "lj_forces": (
                jax.jit(lambda y: lj.forces(y, al))(yl),
                jax.jit(lambda y: lj_sharded.forces(y, al, devices))(yl_placed),
            ),
        }
        one, many = mlp.sgd(ym, am, SGD_STEPS, SGD_RATE), mlp.sgd(ym, am, SGD_STEPS, SGD_RATE, devices)
    else:
        import torch

        from problems.lennard_jones import torch_impl as lj
        from problems.lennard_jones import torch_sharded as lj_sharded
        from problems.mlp_ensemble import torch_data_parallel as mlp
        from problems.nbody import torch_impl as nb
        from problems.nbody import torch_sharded as nb_sharded

        leaf = yn.clone().requires_grad_(True)
        (one_grad,) = torch.autograd.grad(nb.objective(leaf, an), leaf)
        out = {
            "nbody_simulate": (nb.simulate(yn, an), nb_sharded.simulate(yn, an)),
            "nbody_grad": (one_grad, nb_sharded.value_and_grad(yn, an)[1]),
            "lj_forces": (lj.forces(yl, al), lj_sharded.forces(yl, al)),
        }
        one, many = mlp.sgd(ym, am, SGD_STEPS, SGD_RATE), mlp.sgd(ym, am, SGD_STEPS, SGD_RATE, parallel=True)
        # The N× trap planted: DDP's averaged gradients all-reduced once more.
        out["mlp_sgd_trap"] = (one[-1], mlp.sgd(ym, am, SGD_STEPS, SGD_RATE, parallel=True, planted=all_reduce_ddp_gradients)[-1])
        # On these ranks too (no second spawn): the torch side of `sciad bench --devices`.
        scaling = worker._scaling_record(vars(TORCH_SCALING_CASE), {"min_runs": 3, "max_runs": 5, "min_time": 0.0})
    for step, (a, b) in enumerate(zip(one, many)):
        out[f"mlp_sgd_step{step + 1}"] = (a, b)
    arrays = {name: (sciad.to_numpy(a), sciad.to_numpy(b)) for name, (a, b) in out.items()}
    return arrays if framework == "jax" else (arrays, scaling)


@pytest.fixture(scope="module")
def particle_runs(runs):
    """Computed in the same JAX process and on the same torch ranks as the transforms' runs (`runs`)."""
    torch_out, scaling = runs["torch"]["particles"]
    return {"jax": runs["jax"]["particles"], "torch": torch_out, "torch_scaling": scaling}


def _references() -> dict:
    """Independent NumPy results: the reference leapfrog, the closed-form Lennard-Jones gradient, SGD on the
    closed-form ensemble gradient."""
    import problems.lennard_jones as lj
    import problems.mlp_ensemble as mlp
    import problems.nbody as nb
    from sciad import transforms

    (yn, an), (yl, al), (ym, am) = _particle_inputs()
    found = {
        "nbody_simulate": nb.simulate(yn, an),
        "nbody_grad": transforms.expected(registry.get("nbody"), "grad", yn, an, ())["grad"].reshape(yn.shape),  # canonical: flat
        "lj_forces": -lj.grad(yl, al),
    }
    theta = dict(ym)
    for step in range(SGD_STEPS):
        gradient = mlp.grad(theta, am)
        theta = {key: value - SGD_RATE * gradient[key] for key, value in theta.items()}
        found[f"mlp_sgd_step{step + 1}"] = theta
    return found


@pytest.mark.parametrize("framework", ["jax", "torch"])
def test_particles_split_and_data_parallel_sgd_equal_one_device_to_1e_12(particle_runs, framework):
    """nbody (bodies split, positions gathered every step; its trajectory and the gradient through it),
    Lennard-Jones forces by row blocks, and mlp_ensemble's parameters after each SGD step (JAX: jit over a
    sharded batch; torch: DDP): the sharded result against one device ≤ 1e-12 in float64, and against the
    NumPy reference within the problem's tolerance."""
    references = _references()
    runs = {name: pair for name, pair in particle_runs[framework].items() if name != "mlp_sgd_trap"}
    assert set(runs) == set(references) and len([k for k in runs if k.startswith("mlp_sgd")]) == SGD_STEPS
    for name, (one, sharded) in runs.items():
        problem = {"nbody": "nbody", "lj": "lennard_jones", "mlp": "mlp_ensemble"}[name.split("_")[0]]
        assert _error(one, sharded) <= sharding.SAME_MATHS_FLOAT64, name
        assert _error(references[name], sharded) <= registry.get(problem).tolerance["float64"], name
    # SGD moved the parameters: the comparison is of training, not of the initial values.
    assert _error(runs["mlp_sgd_step3"][1], _particle_inputs()[2][0]) > 1e-6


def all_reduce_ddp_gradients(model):
    """The N× trap under DDP: gradients that DDP has already averaged over the ranks, summed over them again."""
    import torch.distributed as dist

    for parameter in model.parameters():
        dist.all_reduce(parameter.grad)


def test_the_planted_ddp_trap_is_caught(particle_runs):
    one, trapped = particle_runs["torch"]["mlp_sgd_trap"]
    assert _error(one, trapped) > 1e3 * sharding.SAME_MATHS_FLOAT64


def test_a_torch_scaling_case_times_the_ranks_in_lockstep(particle_runs):
    """The torch side of `sciad bench --devices`, on the ranks above: they time the sharded gradient together
    (rank 0 decides when to stop, so none waits in a collective alone), after checking it against the
    reference; the weak case doubles the rows."""
    record = particle_runs["torch_scaling"]
    assert record["status"] == "ok", record
    assert record["split_length"] == 32 * TORCH_RANKS and record["size_parameters"]["n"] == 32 * TORCH_RANKS
    assert record["check_error"] <= record["check_tolerance"] and record["runs"] == 3 and record["median_s"] > 0


def test_particles_and_data_parallel_sgd_jax_equals_torch(particle_runs):
    for name, (_, jax_sharded) in particle_runs["jax"].items():  # (the planted trap is torch's alone)
        torch_sharded = particle_runs["torch"][name][1]
        assert _error(jax_sharded, torch_sharded) <= sharding.SAME_MATHS_FLOAT64, name


def _error(a, b) -> float:
    """checks.error of two arrays, or of two dicts of arrays (the ensemble's parameters)."""
    return checks.error(a, b) if isinstance(a, dict) else checks.error({"p": a}, {"p": b})
