"""GradBench's charged particle in JAX: an inner gradient in a bounded Euler scan, under an outer derivative."""

import jax
import jax.numpy as jnp
from jax import lax

from sciad.errors import choose

from . import MODES


def _basis(x):
    return jnp.eye(x.size, dtype=x.dtype).reshape((x.size, *x.shape))


def value_and_gradient(fn, x, mode):
    """(fn(x), ∇fn(x)) by reverse mode (one vjp) or forward mode (one jvp per basis direction)."""
    choose("AD mode", mode, MODES)
    if mode == "reverse":
        return jax.value_and_grad(fn)(x)
    pairs = [jax.jvp(fn, (x,), (e,)) for e in _basis(x)]
    return pairs[0][0], jnp.stack([tangent for _, tangent in pairs]).reshape(x.shape)


def gradient(fn, x, mode):
    return value_and_gradient(fn, x, mode)[1]


def _norm(v):
    return jnp.sqrt(jnp.sum(v * v))


def argmin(fn, x, args, mode):
    """GradBench's gradient descent (multivariate_argmin) from x, its gradients taken in `mode`."""
    tolerance, patience = args["tolerance"], args["patience"]

    def evaluate(z):
        return value_and_gradient(fn, z, mode)

    def iterate(state, _):
        x, fx, gx, eta, streak, running = state
        running = running & (_norm(gx) > tolerance)
        grow = running & (streak == patience)
        x_new = x - eta * gx
        running = running & (grow | (_norm(x - x_new) > tolerance))
        trying = running & ~grow
        # A finished or step-growing iteration evaluates nothing: the scan's tail then costs no derivatives.
        fx_new, gx_new = lax.cond(trying, evaluate, lambda z: (fx, gx), x_new)
        better = trying & (fx_new < fx)
        x, fx, gx = (jnp.where(better, new, old) for new, old in ((x_new, x), (fx_new, fx), (gx_new, gx)))
        eta = jnp.where(grow, 2 * eta, jnp.where(trying & ~better, eta / 2, eta))
        streak = jnp.where(grow | (trying & ~better), 0, jnp.where(better, streak + 1, streak))
        return (x, fx, gx, eta, streak, running), None

    fx, gx = evaluate(x)
    start = (x, fx, gx, jnp.asarray(args["eta"], x.dtype), jnp.asarray(0), jnp.asarray(True))
    # A bounded scan, not lax.while_loop: saddle's outer derivative runs through this loop, and reverse mode
    # cannot differentiate a while_loop.
    (x, _, _, _, _, running), _ = lax.scan(iterate, start, length=args["max_iterations"])
    return jnp.where(running, jnp.nan, x)


def miss(w, args, inner):
    """x_f: where the Euler path meets the x axis, the force −∇ₓp taken in mode `inner`."""
    control = args["control_charge"] - jnp.stack([jnp.zeros_like(w), w])
    charges = (control, args["fixed_charge"])
    dt = args["dt"]

    def potential(x):
        return sum(jnp.reciprocal(_norm(x - c)) for c in charges)

    def fall(state, _):
        x, v, flying = state
        x_new = x + dt * v
        flying = flying & (x_new[1] > 0)
        a = -gradient(potential, x, inner)
        return (jnp.where(flying, x_new, x), jnp.where(flying, v + dt * a, v), flying), None

    start = (args["position"], args["velocity"], jnp.asarray(True))
    # A bounded scan whose state freezes on landing: reverse mode cannot differentiate lax.while_loop.
    (x, v, flying), _ = lax.scan(fall, start, length=args["max_steps"])
    t = -x[1] / v[1]
    return jnp.where(flying, jnp.nan, x[0] + t * v[0])


def objective(y, args):
    return miss(y, args, "reverse") ** 2


def objective_inner_forward(y, args):
    return miss(y, args, "forward") ** 2


def solve(y, args, outer, inner):
    """w* from w₀ = y: GradBench's descent on objective, ∇ in mode `outer` over ∇ₓp in mode `inner`."""
    choose("AD mode", inner, MODES)
    return argmin(lambda w: miss(w, args, inner) ** 2, y, args, outer)
