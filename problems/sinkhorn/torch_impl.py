"""Log-domain Sinkhorn between point clouds in PyTorch: unrolled in `torch_backend.scan`, and an implicit autograd.Function."""

import torch

from sciad.frameworks.torch_backend import region, scan


def cost_matrix(x, target):
    # Differences rather than ‖x‖² + ‖y‖² − 2x·y: no cancellation between nearby points.
    return torch.sum((x[:, None, :] - target[None, :, :]) ** 2, dim=-1)


@region
def sweep(g, cost, log_a, log_b, epsilon):
    """One Sinkhorn sweep: f from g, then g from f."""
    f = -epsilon * torch.logsumexp(log_b[None, :] + (g[None, :] - cost) / epsilon, dim=1)
    g = -epsilon * torch.logsumexp(log_a[:, None] + (f[:, None] - cost) / epsilon, dim=0)
    return f, g


def sinkhorn_potentials(cost, a, b, epsilon, iterations):
    log_a, log_b = torch.log(a), torch.log(b)
    f = torch.zeros(a.shape, dtype=cost.dtype, device=cost.device)
    g = torch.zeros(b.shape, dtype=cost.dtype, device=cost.device)

    def step(potentials, _):
        return sweep(potentials[1], cost, log_a, log_b, epsilon), None

    # The loop stays in Python around the compiled sweep: Inductor refuses the backward of torch's scan
    # operator here ("scan might be aliasing the input or the output": a saved input of
    # the forward, pytorch#185332).
    return scan(step, (f, g), length=iterations, compiled=False)[0]


def plan_from_potentials(cost, f, g, a, b, epsilon):
    return a[:, None] * b[None, :] * torch.exp((f[:, None] + g[None, :] - cost) / epsilon)


def cost_pullback(plan, x, target):
    """The cotangents of x and the target from a cotangent `plan` of C_ij = ‖x_i − y_j‖²."""
    x_bar = 2.0 * (torch.sum(plan, dim=1)[:, None] * x - plan @ target)
    target_bar = 2.0 * (torch.sum(plan, dim=0)[:, None] * target - plan.T @ x)
    return x_bar, target_bar


def dual_value(f, g, a, b):
    # The exp term of the dual vanishes after a g-update (Σ P = 1): ⟨f, a⟩ + ⟨g, b⟩ is the dual itself.
    return f @ a + g @ b


def objective(y, args):
    x, target, a, b = y, args["target"], args["a"], args["b"]
    cost = cost_matrix(x, target)
    f, g = sinkhorn_potentials(cost, a, b, args["epsilon"], args["iterations"])
    return dual_value(f, g, a, b)


def transport_plan(y, args):
    x, target, a, b, epsilon = y, args["target"], args["a"], args["b"], args["epsilon"]
    cost = cost_matrix(x, target)
    f, g = sinkhorn_potentials(cost, a, b, epsilon, args["iterations"])
    return plan_from_potentials(cost, f, g, a, b, epsilon)


# ---------------------------------------------------------------------------------------------
# Implicit differentiation: the K-th iterate is taken as the fixed point, where the dual is stationary in
# (f, g), so dOT = ⟨P, dC⟩ (the envelope theorem) and reverse mode stores nothing of the iterations.


class FixedPointValue(torch.autograd.Function):
    """(OT_ε, f, g) with OT_ε's derivatives by the envelope theorem; the potentials are outputs so that the
    rules reuse them, and are not differentiable. Every method is plain tensor code: vmap's rule is generated."""

    generate_vmap_rule = True

    @staticmethod
    def forward(x, target, a, b, epsilon, iterations):
        cost = cost_matrix(x, target)
        f, g = sinkhorn_potentials(cost, a, b, epsilon, iterations)
        # Autodiff must never see the iterations: the rules below differentiate the fixed point. torch.compile
        # inlines forward and drops those rules (pytorch#192985: jvp, pytorch#193279: backward).
        # Detached, the drop shows as a wrong derivative the compiled cells catch. Undetached, the compiled
        # grad silently differentiated the K iterations instead, and the compiled jvp crashed the process.
        f, g = f.detach(), g.detach()
        return dual_value(f, g, a, b), f, g

    @staticmethod
    def setup_context(ctx, inputs, output):
        x, target, a, b, epsilon, _ = inputs
        _, f, g = output
        ctx.mark_non_differentiable(f, g)
        ctx.save_for_backward(x, target, a, b, f, g)
        ctx.save_for_forward(x, target, a, b, f, g)
        ctx.epsilon = epsilon

    @staticmethod
    def backward(ctx, value_cotangent, f_cotangent, g_cotangent):
        x, target, a, b, f, g = ctx.saved_tensors
        plan = plan_from_potentials(cost_matrix(x, target), f, g, a, b, ctx.epsilon)
        x_bar, target_bar = cost_pullback(plan, x, target)
        # The weights are data: their gradient is defined only up to the constant shared by f and g.
        return value_cotangent * x_bar, value_cotangent * target_bar, None, None, None, None

    @staticmethod
    def jvp(ctx, x_tangent, target_tangent, a_tangent, b_tangent, epsilon_tangent, iterations_tangent):
        x, target, a, b, f, g = ctx.saved_tensors
        plan = plan_from_potentials(cost_matrix(x, target), f, g, a, b, ctx.epsilon)
        x_bar, target_bar = cost_pullback(plan, x, target)
        value_tangent = torch.zeros((), dtype=x.dtype, device=x.device)
        if x_tangent is not None:
            value_tangent = value_tangent + torch.sum(x_bar * x_tangent)
        if target_tangent is not None:
            value_tangent = value_tangent + torch.sum(target_bar * target_tangent)
        return value_tangent, None, None


def objective_implicit(y, args):
    value, _, _ = FixedPointValue.apply(y, args["target"], args["a"], args["b"], args["epsilon"], args["iterations"])
    return value
