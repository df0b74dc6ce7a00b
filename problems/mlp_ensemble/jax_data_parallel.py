"""The ensemble trained data-parallel in JAX: plain SGD on `jax_impl.objective`, one `jax.jit` step whose
data rows arrive sharded over a device mesh (`NamedSharding`, rows on the mesh axis) and whose parameters
are replicated. XLA partitions the step (GSPMD): each device takes the loss and gradient of its rows, and
the mean over rows becomes a cross-device reduction; the step's code is the one-device code.
"""

import jax
from jax.sharding import NamedSharding
from jax.sharding import PartitionSpec as P

from sciad.frameworks.jax_sharded import AXIS, mesh

from . import jax_impl

DATA = ("x", "targets")  # the args with a leading row axis


def sgd(y, args, steps: int, learning_rate: float, devices: int | None = None) -> list[dict]:
    """The parameters after each of `steps` SGD steps θ ← θ − α ∇L(θ) from θ = y; with `devices`, the
    rows of x and targets split over that many devices and θ replicated on them."""
    data = {key: args[key] for key in DATA}
    if devices is not None:
        the_mesh = mesh(devices)
        data = {key: jax.device_put(value, NamedSharding(the_mesh, P(AXIS))) for key, value in data.items()}
        y = jax.device_put(y, NamedSharding(the_mesh, P()))

    @jax.jit
    def step(theta, data):
        gradient = jax.grad(jax_impl.objective)(theta, data)
        return jax.tree.map(lambda p, g: p - learning_rate * g, theta, gradient)

    history = []
    for _ in range(steps):
        y = step(y, data)
        history.append(y)
    return history
