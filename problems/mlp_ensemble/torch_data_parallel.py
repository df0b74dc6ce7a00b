"""The ensemble trained data-parallel in torch: `DistributedDataParallel` around a module whose forward is
`torch_impl.objective` on the rows it is given, and `torch.optim.SGD`.

Each rank of the process group takes its contiguous block of the data rows; DDP averages the ranks'
gradients during `backward` (its all-reduce divided by the world size), which for equal blocks of a mean
over rows is the gradient over all rows. No further reduction: another all-reduce of those gradients would
scale them by the world size (the N× trap).
"""

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from . import torch_impl

DATA = ("x", "targets")  # the args with a leading row axis


class Ensemble(nn.Module):
    """The stacked parameters y as module parameters; forward is the objective on the given rows."""

    def __init__(self, y):
        super().__init__()
        self.stacked = nn.ParameterDict({key: nn.Parameter(value.detach().clone()) for key, value in y.items()})

    def forward(self, x, targets):
        return torch_impl.objective(dict(self.stacked), {"x": x, "targets": targets})


def sgd(y, args, steps: int, learning_rate: float, parallel: bool = False, planted=None) -> list[dict]:
    """The parameters after each of `steps` SGD steps from θ = y: on one process, or (`parallel`) under
    DDP on every rank of the initialised process group, each rank with its block of the rows.
    `planted(model)`, called after each backward, lets tests plant the N× trap."""
    model = Ensemble(y)
    x, targets = args["x"], args["targets"]
    if parallel:
        world, rank = dist.get_world_size(), dist.get_rank()
        if x.shape[0] % world:
            raise ValueError(f"{x.shape[0]} rows cannot be split evenly over {world} ranks; give a multiple of {world}")
        share = x.shape[0] // world
        x, targets = x[rank * share : (rank + 1) * share], targets[rank * share : (rank + 1) * share]
        trained = DistributedDataParallel(model)
    else:
        trained = model
    optimizer = torch.optim.SGD(trained.parameters(), lr=learning_rate)
    history = []
    for _ in range(steps):
        optimizer.zero_grad()
        trained(x, targets).backward()
        if planted is not None:
            planted(model)
        optimizer.step()
        history.append({key: value.detach().clone() for key, value in model.stacked.items()})
    return history
