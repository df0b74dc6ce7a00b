"""Robertson's kinetics in PyTorch: fixed-step Radau IIA, steps in `torch_backend.scan`, Newton iterations unrolled."""

import torch

from sciad.frameworks.torch_backend import constant, scan

from . import LINEAR, QUADRATIC, RADAU_A, step_sizes


def kinetics(y):
    """(L, Q) of f(u) = L u + ½ B(u, u) at rates k = exp(y), with B's k-index first: Q[k, 3i + j] = B[i, j, k]."""
    rates = torch.exp(y)
    linear = torch.einsum("m,mij->ij", rates, constant(LINEAR, y))
    quadratic = torch.einsum("m,mijk->kij", rates, constant(QUADRATIC, y)).reshape(3, 9)
    return linear, quadratic


def field_jacobian(u, linear, quadratic):
    return linear + (u @ quadratic).reshape(u.shape[:-1] + (3, 3))


def field(u, linear, jacobian):
    # f(u) = ½ (L + J(u)) u, as f is quadratic.
    return 0.5 * torch.sum((linear + jacobian) * u[..., None, :], dim=-1)


def radau_step(u, h, linear, quadratic, tableau, newton):
    identity = torch.eye(9, dtype=u.dtype, device=u.device)
    weights = h * tableau
    # Block (a, b) of the Newton matrix is δ_ab I − h a_ab J(stage b): index order (a, i, b, j).
    block_weights = weights[:, None, :, None]

    # A fixed count of full Newton iterations from Z = 0: no convergence test, so no data-dependent control flow.
    increments = torch.zeros((3, 3), dtype=u.dtype, device=u.device)
    for _ in range(newton):
        stages = u + increments
        jacobians = field_jacobian(stages, linear, quadratic)
        residual = increments - weights @ field(stages, linear, jacobians)
        matrix = identity - (block_weights * torch.swapaxes(jacobians, 0, 1)).reshape(9, 9)
        # torch.linalg.solve's own LU factor and solve, without its singularity check: under torch.compile that
        # check is an effectful op, and Inductor then bypasses its FX graph cache (a cold compile on every run).
        factors, pivots, _ = torch.linalg.lu_factor_ex(matrix)
        increments = increments - torch.linalg.lu_solve(factors, pivots, residual.reshape(9, 1)).reshape(3, 3)
    # Radau IIA is stiffly accurate: the last stage is the step's end.
    return u + increments[2]


def solve(y, args):
    u0, save_every, newton = args["u0"], args["save_every"], args["newton"]
    linear, quadratic = kinetics(y)
    tableau = constant(RADAU_A, y)
    steps = constant(step_sizes(args["t_first"], args["t_end"], args["intervals"]), y)

    def step(u, h):
        u = radau_step(u, h, linear, quadratic, tableau, newton)
        return u, u

    _, states = scan(step, u0, steps)
    # states[0] is at t_first; the saves are every save_every-th state after it.
    return states[save_every::save_every]


def objective(y, args):
    observations = args["observations"]
    scale = torch.amax(observations, dim=0)
    return torch.mean(((solve(y, args) - observations) / scale) ** 2)


def rhs(y, args):
    linear, quadratic = kinetics(y)
    observations = args["observations"]
    return field(observations, linear, field_jacobian(observations, linear, quadratic))
