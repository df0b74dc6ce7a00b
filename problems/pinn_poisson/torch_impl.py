"""A physics-informed network for Poisson's equation in PyTorch: nn.Sequential + functional_call, Δu by torch.func.hessian."""

import math

import torch
import torch.func
from torch import nn

# The network's structure only: skip_init draws no random weights (it allocates them uninitialised),
# and functional_call replaces every parameter from y.
SKELETON = nn.Sequential(
    nn.utils.skip_init(nn.Linear, 2, 32),
    nn.Tanh(),
    nn.utils.skip_init(nn.Linear, 32, 32),
    nn.Tanh(),
    nn.utils.skip_init(nn.Linear, 32, 1),
)
PARAMETERS = {"w0": "0.weight", "b0": "0.bias", "w1": "2.weight", "b1": "2.bias", "w2": "4.weight", "b2": "4.bias"}


def network(y):
    """The MLP u_θ with θ = y, a function of one point."""
    parameters = {PARAMETERS[key]: y[key] for key in PARAMETERS}
    return lambda point: torch.func.functional_call(SKELETON, parameters, (point,)).squeeze(-1)


def _laplacian_at(model, point):
    # Under torch.compile the point's Hessian is taken reverse-over-reverse: dynamo cannot trace a
    # θ-derivative through forward-over-reverse (pytorch#183015), and AOTAutograd's backward of it writes
    # into a ZeroTensor. Eagerly, forward-over-reverse costs two tangents of the 2-D point.
    hessian = torch.func.jacrev(torch.func.jacrev(model)) if torch.compiler.is_compiling() else torch.func.hessian(model)
    return torch.trace(hessian(point))


def solution(y, points):
    model = network(y)
    return torch.func.vmap(model)(points)


def laplacian(y, points):
    model = network(y)
    return torch.func.vmap(lambda point: _laplacian_at(model, point))(points)


def source(points):
    return 2.0 * math.pi**2 * torch.sin(math.pi * points[:, 0]) * torch.sin(math.pi * points[:, 1])


def objective(y, args):
    interior, boundary = args["interior"], args["boundary"]
    residual = laplacian(y, interior) + source(interior)
    return torch.mean(residual**2) + torch.mean(solution(y, boundary) ** 2)
