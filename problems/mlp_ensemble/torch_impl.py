"""An ensemble of tanh MLP regressors in PyTorch: a meta-device skeleton under functional_call + vmap, torch.optim.Adam."""

import torch
import torch.func
from torch import nn

PARAMETERS = {"w0": "0.weight", "b0": "0.bias", "w1": "2.weight", "b1": "2.bias", "w2": "4.weight", "b2": "4.bias"}


def _module(width):
    # On the meta device: no weight is drawn or stored.
    return nn.Sequential(
        nn.Linear(1, width, device="meta"),
        nn.Tanh(),
        nn.Linear(width, width, device="meta"),
        nn.Tanh(),
        nn.Linear(width, 1, device="meta"),
    )


# The network's structure only, built once at import: a construction under torch.func.vmap would
# fail on nn.Linear's random initialisation, even on the meta device. functional_call replaces every
# parameter from y and nn.Linear takes its shapes from them, so the width here is a placeholder.
SKELETON = _module(1)


def network(y):
    """The MLP's parameters by module name, functional_call's form of a network: one member's, or every member's stacked."""
    return {PARAMETERS[key]: y[key] for key in PARAMETERS}


def _member_predictions(model, points):
    # nn.Linear maps a batch of points (N, 1) at once: no vmap over points.
    return torch.func.functional_call(SKELETON, model, (points,)).squeeze(-1)


def predict(y, x):
    """Each member's outputs at its own inputs: x (N, K, 1) → (N, K)."""
    return torch.func.vmap(_member_predictions, in_dims=(0, 1), out_dims=1)(network(y), x)


def members(y):
    """The K members as modules of their own."""
    models = []
    for k in range(y["b0"].shape[0]):
        model = _module(y["b0"].shape[-1]).to_empty(device=y["b0"].device).to(y["b0"].dtype)
        model.load_state_dict({name: value[k] for name, value in network(y).items()})
        models.append(model)
    return models


def stack_members(models):
    """y from K member modules: their parameters stacked on a leading member axis by stack_module_state."""
    stacked, _ = torch.func.stack_module_state(models)
    return {key: stacked[PARAMETERS[key]].detach() for key in sorted(PARAMETERS)}


def _squared_errors(y, x, targets):
    return (predict(y, x) - targets) ** 2


def objective(y, args):
    return torch.sum(torch.mean(_squared_errors(y, args["x"], args["targets"]), dim=0))


def per_sample_loss(y, args):
    # Under vmap over rows, x is one row (K, 1) and targets (K,): one sample of every member.
    return torch.sum(_squared_errors(y, args["x"][None], args["targets"][None]))


def train(y, args):
    """`steps` Adam steps on the objective from θ = y; the final stacked parameters."""
    # torch.optim steps leaf tensors in place; copies, so that y is left as it was.
    parameters = {key: value.detach().clone() for key, value in y.items()}
    # β₁ 0.9, β₂ 0.999, ε 1e-8: torch's defaults, and optax.adam's. One optimiser over the stacked
    # leaves is K separate ones: Adam is elementwise.
    optimizer = torch.optim.Adam(parameters.values(), lr=args["learning_rate"], betas=(0.9, 0.999), eps=1e-8)
    # torch.func.grad, not classic autograd: the gradient the grad cells check, and no graph on the leaves.
    gradient = torch.func.grad(objective)

    for _ in range(args["steps"]):
        gradients = gradient(parameters, args)
        for key, value in parameters.items():
            value.grad = gradients[key]
        optimizer.step()
    return parameters
