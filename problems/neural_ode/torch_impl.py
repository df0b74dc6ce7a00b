"""A neural ODE in PyTorch: an nn.Sequential field, the constant-step 3/8 rule by the shared stepper, and torchdiffeq."""

import torch
import torch.func
from torch import nn

from problems._stepping import THREE_EIGHTHS
from problems._stepping import torch_rk as rk

from . import WIDTH

# The network's structure only: skip_init draws no random weights (it allocates them uninitialised),
# and functional_call replaces every parameter from y.
SKELETON = nn.Sequential(nn.utils.skip_init(nn.Linear, 2, WIDTH), nn.Tanh(), nn.utils.skip_init(nn.Linear, WIDTH, 2))
PARAMETERS = {"w0": "0.weight", "b0": "0.bias", "w1": "2.weight", "b1": "2.bias"}


def network(y):
    """The MLP f_θ with θ = y, a function of a batch of states."""
    parameters = {PARAMETERS[key]: y[key] for key in PARAMETERS}
    return lambda z: torch.func.functional_call(SKELETON, parameters, (z,))


def vector_field(t, z, model):
    return model(z)


def increment(t, z, args):
    model, dt = args
    return dt * vector_field(t, z, model)


def flow(y, args):
    z0, t1, steps = args["z0"], args["t1"], args["steps"]
    dt = t1 / steps
    return rk.integrate(increment, z0, dt, steps, (network(y), dt), rk.scheme(THREE_EIGHTHS, z0))


def loss(z, args):
    return torch.mean((z - args["targets"]) ** 2)


def solve(y, args):
    return flow(y, args)


def objective(y, args):
    return loss(flow(y, args), args)


# torchdiffeq, the library a PyTorch user would pick, imported lazily so that importing this module
# stays light. Its fixed-grid "rk4" is the 3/8 rule, stepping from one grid time to the next.


def _grid(args):
    """t_n = t1·n/steps, n = 0 … steps."""
    z0, t1, steps = args["z0"], args["t1"], args["steps"]
    return t1 * (torch.arange(steps + 1, dtype=z0.dtype, device=z0.device) / steps)


def objective_torchdiffeq(y, args):
    from torchdiffeq import odeint

    model = network(y)
    states = odeint(lambda t, z: vector_field(t, z, model), args["z0"], _grid(args), method="rk4")
    return loss(states[-1], args)


def objective_torchdiffeq_adjoint(y, args):
    from torchdiffeq import odeint_adjoint

    model = network(y)
    # odeint_adjoint gathers its parameters from func when func is an nn.Module; θ lives in a closure here.
    states = odeint_adjoint(
        lambda t, z: vector_field(t, z, model), args["z0"], _grid(args), method="rk4", adjoint_params=tuple(y.values())
    )
    return loss(states[-1], args)


def _classic_grad(objective_fn, y, args):
    # Classic autograd, as torchdiffeq is used: a graph on the tensors, then torch.autograd.grad. It is
    # also the only way into odeint_adjoint, whose autograd.Function torch.func rejects (the spec's known failure).
    theta = {key: array.detach().requires_grad_() for key, array in y.items()}
    with torch.enable_grad():
        value = objective_fn(theta, args)
    grads = torch.autograd.grad(value, tuple(theta.values()))
    return {key: g.detach() for key, g in zip(theta, grads)}


def grad_torchdiffeq_classic(y, args):
    """∇_θ by backpropagation through torchdiffeq.odeint: the discrete gradient."""
    return _classic_grad(objective_torchdiffeq, y, args)


def grad_torchdiffeq_adjoint_classic(y, args):
    """∇_θ by torchdiffeq.odeint_adjoint: the continuous adjoint, one "rk4" step per grid interval backwards."""
    return _classic_grad(objective_torchdiffeq_adjoint, y, args)
