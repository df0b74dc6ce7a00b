"""Suite-wide settings: Hypothesis profiles, framework fixtures, and whole problems per xdist worker."""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, settings

# torch.compile's cache is chosen in one place, sciad.frameworks.use_local_inductor_cache, when the torch
# adapter loads: .cache/inductor under the directory pytest runs in.


def _share_the_cores_between_workers() -> None:
    """Under pytest-xdist, each worker takes its share of the cores, set before torch is imported here or in
    any subprocess a test starts. Left at its default, every worker's torch runs one OpenMP thread per core,
    and on a machine with as many workers as cores the threads of one worker spin-wait for cores the other
    holds. Inductor compiles in this process instead of a pool of compile workers that would compete with the
    other xdist worker.
    Results do not depend on it: the parity tolerances hold for any thread count."""
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "0"))
    if not workers:
        return
    share = str(max(1, len(os.sched_getaffinity(0)) // workers))
    for variable in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "TORCHINDUCTOR_COMPILE_THREADS"):
        os.environ.setdefault(variable, share)


_share_the_cores_between_workers()

# deadline=None: the first example of a property pays JIT compilation. The `framework` fixture is
# function-scoped but constant across examples, so Hypothesis may reuse it. Few examples per property keep
# the suite inside its time budget on a 2-core machine; `--hypothesis-profile=thorough` runs more.
settings.register_profile(
    "default", deadline=None, max_examples=8, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
)
settings.register_profile(
    "thorough", deadline=None, max_examples=200, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
)
settings.load_profile(os.environ.get("SCIAD_HYPOTHESIS_PROFILE", "default"))


@pytest.fixture(params=["jax", "torch"])
def framework(request):
    """Each property runs once per framework."""
    return request.param


def pytest_collection_modifyitems(config, items):
    """Under pytest-xdist (`-n 2 --dist loadgroup`) a problem's tests share one worker, so that every JAX
    compilation and torch.compile of a problem happens once, in the worker that reuses it."""
    import problems

    registered = set(problems.names())
    for item in items:
        params = getattr(item, "callspec", None)
        params = params.params if params else {}
        cell = params.get("cell")
        if cell is not None:
            name = cell.problem
        elif params.get("name") in registered:
            name = params["name"]
        else:
            name = item.module.__name__.rpartition(".test_")[2]
        if name in registered:
            item.add_marker(pytest.mark.xdist_group(name))
