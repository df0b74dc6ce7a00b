"""Log-domain Sinkhorn between point clouds in JAX: unrolled through lax.scan, and an implicit jax.custom_vjp rule."""

import functools

import jax
import jax.numpy as jnp
from jax.scipy.special import logsumexp


def cost_matrix(x, target):
    # Differences rather than ‖x‖² + ‖y‖² − 2x·y: no cancellation between nearby points.
    return jnp.sum((x[:, None, :] - target[None, :, :]) ** 2, axis=-1)


def sinkhorn_potentials(cost, a, b, epsilon, iterations):
    log_a, log_b = jnp.log(a), jnp.log(b)

    def sweep(carry, _):
        _, g = carry
        f = -epsilon * logsumexp(log_b[None, :] + (g[None, :] - cost) / epsilon, axis=1)
        g = -epsilon * logsumexp(log_a[:, None] + (f[:, None] - cost) / epsilon, axis=0)
        return (f, g), None

    carry = (jnp.zeros(a.shape, dtype=cost.dtype), jnp.zeros(b.shape, dtype=cost.dtype))
    (f, g), _ = jax.lax.scan(sweep, carry, None, length=iterations)
    return f, g


def plan_from_potentials(cost, f, g, a, b, epsilon):
    return a[:, None] * b[None, :] * jnp.exp((f[:, None] + g[None, :] - cost) / epsilon)


def cost_pullback(plan, x, target):
    """The cotangents of x and the target from a cotangent `plan` of C_ij = ‖x_i − y_j‖²."""
    x_bar = 2.0 * (jnp.sum(plan, axis=1)[:, None] * x - plan @ target)
    target_bar = 2.0 * (jnp.sum(plan, axis=0)[:, None] * target - plan.T @ x)
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


@functools.partial(jax.custom_vjp, nondiff_argnums=(4, 5))
def fixed_point_value(x, target, a, b, epsilon, iterations):
    value, _ = fixed_point_forward(x, target, a, b, epsilon, iterations)
    return value


def fixed_point_forward(x, target, a, b, epsilon, iterations):
    cost = cost_matrix(x, target)
    f, g = sinkhorn_potentials(cost, a, b, epsilon, iterations)
    return dual_value(f, g, a, b), (x, target, a, b, f, g)


def fixed_point_backward(epsilon, iterations, residuals, value_cotangent):
    x, target, a, b, f, g = residuals
    plan = plan_from_potentials(cost_matrix(x, target), f, g, a, b, epsilon)
    x_bar, target_bar = cost_pullback(plan, x, target)
    # The weights are data: their gradient is defined only up to the constant shared by f and g.
    return value_cotangent * x_bar, value_cotangent * target_bar, None, None


fixed_point_value.defvjp(fixed_point_forward, fixed_point_backward)


def objective_implicit(y, args):
    return fixed_point_value(y, args["target"], args["a"], args["b"], args["epsilon"], args["iterations"])
