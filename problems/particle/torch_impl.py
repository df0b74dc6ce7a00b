"""GradBench's charged particle in PyTorch: an inner gradient in an Euler loop, under an outer torch.func derivative."""

import torch

from sciad.errors import choose

from . import MODES


def _basis(x):
    return torch.eye(x.numel(), dtype=x.dtype, device=x.device).reshape((x.numel(), *x.shape))


def value_and_gradient(fn, x, mode):
    """(fn(x), ∇fn(x)) by reverse mode (one vjp) or forward mode (one jvp per basis direction)."""
    choose("AD mode", mode, MODES)
    if mode == "reverse":
        gradient_, value = torch.func.grad_and_value(fn)(x)
        return value, gradient_
    pairs = [torch.func.jvp(fn, (x,), (e,)) for e in _basis(x)]
    return pairs[0][0], torch.stack([tangent for _, tangent in pairs]).reshape(x.shape)


def gradient(fn, x, mode):
    return value_and_gradient(fn, x, mode)[1]


def _norm(v):
    return torch.sqrt(torch.sum(v * v))


def argmin(fn, x, args, mode):
    """GradBench's gradient descent (multivariate_argmin) from x, its gradients taken in `mode`."""
    tolerance, patience = args["tolerance"], args["patience"]

    def evaluate(z):
        return value_and_gradient(fn, z, mode)

    # Decisions read concrete values (bool() works under torch.func's grad and jvp), so the loop stops
    # where the JAX scan freezes its state.
    fx, gx = evaluate(x)
    eta, streak = args["eta"], 0
    for _ in range(args["max_iterations"]):
        if not bool(_norm(gx) > tolerance):
            return x
        if streak == patience:
            eta, streak = 2 * eta, 0
            continue
        x_new = x - eta * gx
        if not bool(_norm(x - x_new) > tolerance):
            return x
        fx_new, gx_new = evaluate(x_new)
        if bool(fx_new < fx):
            x, fx, gx, streak = x_new, fx_new, gx_new, streak + 1
        else:
            eta, streak = eta / 2, 0
    return torch.full_like(x, torch.nan)


def miss(w, args, inner):
    """x_f: where the Euler path meets the x axis, the force −∇ₓp taken in mode `inner`."""
    control = args["control_charge"] - torch.stack([torch.zeros_like(w), w])
    charges = (control, args["fixed_charge"])
    dt = args["dt"]

    def potential(x):
        return sum(torch.reciprocal(_norm(x - c)) for c in charges)

    x, v, flying = args["position"], args["velocity"], True
    for _ in range(args["max_steps"]):
        x_new = x + dt * v
        flying = bool(x_new[1] > 0)
        if not flying:
            break
        a = -gradient(potential, x, inner)
        x, v = x_new, v + dt * a
    t = -x[1] / v[1]
    return torch.full_like(t, torch.nan) if flying else x[0] + t * v[0]


def objective(y, args):
    return miss(y, args, "reverse") ** 2


def objective_inner_forward(y, args):
    return miss(y, args, "forward") ** 2


def solve(y, args, outer, inner):
    """w* from w₀ = y: GradBench's descent on objective, ∇ in mode `outer` over ∇ₓp in mode `inner`."""
    choose("AD mode", inner, MODES)
    return argmin(lambda w: miss(w, args, inner) ** 2, y, args, outer)
