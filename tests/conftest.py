"""Suite-wide settings: a project-local inductor cache, Hypothesis profiles, framework fixtures."""

from __future__ import annotations

import os
import pathlib

# The default inductor cache under /tmp is shared with other processes on the machine.
os.environ.setdefault("TORCHINDUCTOR_CACHE_DIR", str(pathlib.Path(__file__).resolve().parent.parent / ".cache" / "inductor"))

# Under pytest-xdist each worker gets one CPU thread: two workers on two cores then split the work instead
# of oversubscribing (OpenMP with more threads than free cores runs ~10x slower here). Set before
# either framework is imported.
if os.environ.get("PYTEST_XDIST_WORKER"):
    for _variable in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "TORCHINDUCTOR_COMPILE_THREADS"):
        os.environ[_variable] = "1"
    os.environ["XLA_FLAGS"] = (
        os.environ.get("XLA_FLAGS", "") + " --xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
    ).strip()

import pytest  # noqa: E402
from hypothesis import HealthCheck, settings  # noqa: E402

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
