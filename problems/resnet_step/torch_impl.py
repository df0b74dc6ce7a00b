"""A small residual CNN with group norm in PyTorch: an nn.Module under functional_call, torch.optim.SGD."""

import torch
import torch.func
from torch import nn

GROUPS, CLASSES, BLOCKS = 2, 10, 2


class Block(nn.Module):
    def __init__(self, channels, device=None):
        super().__init__()
        self.gn1 = nn.GroupNorm(GROUPS, channels, device=device)
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1, device=device)
        self.gn2 = nn.GroupNorm(GROUPS, channels, device=device)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1, device=device)

    def forward(self, h):
        t = self.conv1(torch.relu(self.gn1(h)))
        return h + self.conv2(torch.relu(self.gn2(t)))


class ResNet(nn.Module):
    def __init__(self, channels, device=None):
        super().__init__()
        self.stem = nn.Conv2d(3, channels, 3, padding=1, device=device)
        self.blocks = nn.ModuleList([Block(channels, device) for _ in range(BLOCKS)])
        self.head = nn.Linear(channels, CLASSES, device=device)

    def forward(self, images):
        h = self.stem(images)
        for block in self.blocks:
            h = block(h)
        return self.head(torch.mean(torch.relu(h), dim=(2, 3)))


# The network's structure only, on the meta device: functional_call replaces every parameter from y,
# and the layers take their shapes from them (GroupNorm checks C against its own count, so the
# skeleton is built per channel count, once).
_SKELETONS = {}

PARAMETERS = {"stem_w": "stem.weight", "stem_b": "stem.bias", "head_w": "head.weight", "head_b": "head.bias"}
for _j in range(BLOCKS):
    for _part, _name in (("gn1", "gn1"), ("conv1", "conv1"), ("gn2", "gn2"), ("conv2", "conv2")):
        PARAMETERS[f"b{_j}_{_part}_w"] = f"blocks.{_j}.{_name}.weight"
        PARAMETERS[f"b{_j}_{_part}_b"] = f"blocks.{_j}.{_name}.bias"


def _skeleton(channels):
    if channels not in _SKELETONS:
        _SKELETONS[channels] = ResNet(channels, device="meta")
    return _SKELETONS[channels]


def network(y):
    """The ResNet's parameters by module name, functional_call's form of a network."""
    return {PARAMETERS[key]: y[key] for key in PARAMETERS}


def objective(y, args):
    logits = torch.func.functional_call(_skeleton(y["stem_b"].shape[0]), network(y), (args["x"],))
    return torch.mean(torch.nn.functional.cross_entropy(logits, args["targets"], reduction="none"))


# The trained network, as PyTorch users hold it: one nn.Module per (channels, dtype, device), built once and
# reused by every call, its parameters loaded from y at the start of each.
_MODELS = {}


def _model(y):
    like = y["stem_b"]
    key = (like.shape[0], like.dtype, like.device)
    if key not in _MODELS:
        # Built on the meta device and given empty storage: no initialisation to draw (the global generator is
        # left alone), as every parameter is loaded from y before it is used.
        _MODELS[key] = ResNet(like.shape[0], device="meta").to_empty(device=like.device).to(like.dtype)
    return _MODELS[key]


def train(y, args):
    """`steps` SGD steps on the objective from θ = y; the final parameters."""
    # The step PyTorch users write: forward, loss.backward(), optimizer.step() on the module's own parameters.
    # (torch.func.grad of functional_call, the grad cells' route, took about twice as long per step; under it
    # group norm's backward is decomposed into elementwise ops: benchmarks/README.md.)
    model = _model(y)
    parameters = {key: model.get_parameter(name) for key, name in PARAMETERS.items()}
    with torch.no_grad():
        for key, parameter in parameters.items():
            parameter.copy_(y[key])  # y itself is left as it was
    optimizer = torch.optim.SGD(model.parameters(), lr=args["learning_rate"])
    for _ in range(args["steps"]):
        optimizer.zero_grad(set_to_none=True)
        loss = torch.nn.functional.cross_entropy(model(args["x"]), args["targets"])
        loss.backward()
        optimizer.step()
    return {key: parameter.detach().clone() for key, parameter in parameters.items()}
