r"""An ensemble of K small tanh MLP regressors trained in parallel: vmap over members, Adam on the stack.

Member k is a 1-W-W-1 tanh network (weights stored out × in, as nn.Linear and equinox's Linear do),

    a₀ = W₀ᵏ x + b₀ᵏ,  h₀ = tanh a₀,   a₁ = W₁ᵏ h₀ + b₁ᵏ,  h₁ = tanh a₁,   u_k(x) = W₂ᵏ h₁ + b₂ᵏ,

fitted to data of its own (x_nk, t_nk), n = 1..N. The objective is the members' mean-squared errors,
summed over members:

    L(θ) = Σ_k (1/N) Σ_n (u_k(x_nk) − t_nk)².

Member k's term depends on θᵏ only, so ∇_θᵏ L is member k's own gradient: one reverse pass over the
summed loss trains every member as if it were alone. The per-sample loss, the quantity
`per_sample_grad` differentiates row by row, is ℓ_n(θ) = Σ_k (u_k(x_nk) − t_nk)² (sample n of every
member), so that L = (1/N) Σ_n ℓ_n.

`train(y, args)` takes `steps` Adam steps on L from θ = y and returns the final stacked parameters.
With β₁ = 0.9, β₂ = 0.999, ε = 1e-8 and learning rate α, elementwise, from m₀ = v₀ = 0:

    g_t = ∇L(θ_{t−1}),   m_t = β₁ m_{t−1} + (1 − β₁) g_t,   v_t = β₂ v_{t−1} + (1 − β₂) g_t²,
    θ_t = θ_{t−1} − α m̂_t / (√v̂_t + ε),   m̂_t = m_t / (1 − β₁ᵗ),   v̂_t = v_t / (1 − β₂ᵗ).

optax.adam and torch.optim.Adam (as read in their sources; versions in benchmarks/README.md) both
implement exactly this: ε is added outside the square root, to the bias-corrected √v̂ (optax's
`eps_root`, inside the root, is 0 by default; neither uses the ε̂ = ε√(1 − β₂ᵗ) form of Kingma & Ba's
§2, which adds ε before the correction). They differ only in the order of floating-point operations:
torch updates m by `lerp`, divides √v by √(1 − β₂ᵗ) and scales by α/(1 − β₁ᵗ) in Python doubles;
optax divides m and v by their corrections and then scales by −α. At t = 1, m̂ = g and √v̂ = |g| (to
roundoff), so the first step moves every coordinate by α g/(|g| + ε): α in magnitude, up to a relative ε/|g|.

Implementations. JAX: an equinox MLP whose arrays are placed from y, with a leading member axis, and
called under `eqx.filter_vmap` over members (and `jax.vmap` over a member's points); `train` is a
`lax.scan` of `jax.grad` of the objective and an optax.adam update vmapped over members, so that each
member keeps an optimiser state of its own, as K separate trainers would (Adam is elementwise, so
this equals one update of the stacked tree). torch: one `nn.Sequential` skeleton on the meta device,
evaluated by `torch.func.functional_call` under `torch.func.vmap` over members; `stack_members`
builds y from K modules with `torch.func.stack_module_state`. `train` steps torch.optim.Adam over the
stacked leaf tensors (one optimiser over the stack is K separate ones, Adam being elementwise) and
takes the gradient from `torch.func.grad` of the same objective, assigned to `.grad`, rather than from
classic autograd: it is then the very function the grad cells check, so train's cells test the
optimiser alone, and no autograd graph is recorded on the leaves. torch.optim steps in place under
no_grad, so `train` is not differentiable in torch: it is a prebuilt variant (its output compared with
the reference as it is), not a vector map.

Layout: y = θ = {b0 (K, W), b1 (K, W), b2 (K, 1), w0 (K, W, 1), w1 (K, W, W), w2 (K, 1, W)}, the member
axis leading as `stack_module_state` stacks it; args = {x (N, K, 1), targets (N, K), learning_rate
(float), steps (int)}. Deviation from the (K, N, 1) data layout the issue suggests: the sample axis of
the data leads, so that `per_sample_grad` vmaps over rows on axis 0 as the generic transform does;
members are axis 1 of the data.
Inputs: per member, Glorot-uniform weights and U(−0.5, 0.5) biases (nonzero, so no unit is odd about
the origin); per member its own draws x ~ U(−2, 2), t = sin 2x + 0.1 N(0, 1) (bagging-like data);
α = 1e-2.

Reference (NumPy, closed form): the forward pass above and its reverse sweep written by hand, per
sample (`per_sample_grad`) and averaged (`grad`); products, sums and tanh only, so complex-safe, and
the benchmark's directional checks are complex steps. `train`'s reference is a NumPy Adam written from
the equations above, driven by that closed-form gradient; the `train` cells (base transform `map`:
the function's output compared as it is) compare the trained parameters with it.
"""

from __future__ import annotations

import numpy as np

from sciad.spec import Layout, Problem, Reference, Tolerance, Variant

BETA1, BETA2, EPS = 0.9, 0.999, 1e-8


def build(rng: np.random.Generator, K: int, N: int, W: int, steps: int):
    theta = {}
    for k, (fan_in, fan_out) in enumerate([(1, W), (W, W), (W, 1)]):
        limit = np.sqrt(6.0 / (fan_in + fan_out))
        theta[f"w{k}"] = rng.uniform(-limit, limit, (K, fan_out, fan_in))
        theta[f"b{k}"] = rng.uniform(-0.5, 0.5, (K, fan_out))
    x = rng.uniform(-2.0, 2.0, (N, K, 1))
    targets = np.sin(2.0 * x[..., 0]) + 0.1 * rng.standard_normal((N, K))
    # Keys in sorted order, the order in which sciad.checks.ravel lays out y's coordinates.
    y = {key: theta[key] for key in sorted(theta)}
    return y, {"x": x, "targets": targets, "learning_rate": 1e-2, "steps": steps}


def _t(w):
    return np.swapaxes(w, -1, -2)


def _forward(y, x):
    """Inputs (K, N, 1), both hidden layers (K, N, W) and outputs (K, N): members lead here."""
    points = np.swapaxes(x, 0, 1)
    h0 = np.tanh(points @ _t(y["w0"]) + y["b0"][:, None, :])
    h1 = np.tanh(h0 @ _t(y["w1"]) + y["b1"][:, None, :])
    return points, h0, h1, (h1 @ _t(y["w2"]))[..., 0] + y["b2"]


def value(y, args):
    *_, u = _forward(y, args["x"])
    return np.sum(np.mean((u - args["targets"].T) ** 2, axis=-1))


def _sweep(y, args, per_sample: bool):
    """The reverse sweep: ∇ℓ_n stacked on a leading sample axis, or their mean ∇L."""
    points, h0, h1, u = _forward(y, args["x"])
    g_u = 2.0 * (u - args["targets"].T)
    if not per_sample:
        g_u = g_u / u.shape[-1]
    g_a1 = g_u[..., None] * y["w2"] * (1.0 - h1**2)
    g_a0 = (g_a1 @ y["w1"]) * (1.0 - h0**2)
    g = {}
    # Each Linear layer's input and the cotangent on its output, (K, N, ·).
    for i, (inputs, cotangent) in enumerate([(points, g_a0), (h0, g_a1), (h1, g_u[..., None])]):
        if per_sample:
            inputs, cotangent = np.swapaxes(inputs, 0, 1), np.swapaxes(cotangent, 0, 1)
            g[f"w{i}"] = cotangent[..., :, None] * inputs[..., None, :]
            g[f"b{i}"] = cotangent
        else:
            g[f"w{i}"] = _t(cotangent) @ inputs
            g[f"b{i}"] = np.sum(cotangent, axis=1)
    return {key: g[key] for key in sorted(g)}


def grad(y, args):
    return _sweep(y, args, per_sample=False)


def per_sample_grad(y, args):
    return _sweep(y, args, per_sample=True)


def train(y, args):
    """`steps` Adam steps on L from θ = y, written from the equations of the docstring."""
    alpha = args["learning_rate"]
    theta = {key: np.array(value, dtype=np.float64) for key, value in y.items()}
    m = {key: np.zeros_like(value) for key, value in theta.items()}
    v = {key: np.zeros_like(value) for key, value in theta.items()}
    for t in range(1, args["steps"] + 1):
        g = grad(theta, args)
        for key in theta:
            m[key] = BETA1 * m[key] + (1.0 - BETA1) * g[key]
            v[key] = BETA2 * v[key] + (1.0 - BETA2) * g[key] ** 2
            m_hat = m[key] / (1.0 - BETA1**t)
            v_hat = v[key] / (1.0 - BETA2**t)
            theta[key] = theta[key] - alpha * m_hat / (np.sqrt(v_hat) + EPS)
    return theta


def trained_loss(y, args):
    """L at the trained parameters."""
    return value(train(y, args), args)


SPEC = Problem(
    name="mlp_ensemble",
    summary="K tanh MLP regressors trained in parallel: vmapped members, per-sample gradients, Adam (optax vs torch.optim)",
    build=build,
    sizes={"small": {"K": 3, "N": 8, "W": 8, "steps": 10}, "bench": {"K": 64, "N": 256, "W": 32, "steps": 100}},
    layout=Layout(
        y={"b0": ("K", "W"), "b1": ("K", "W"), "b2": ("K", 1), "w0": ("K", "W", 1), "w1": ("K", "W", "W"), "w2": ("K", 1, "W")},
        args={"x": ("N", "K", 1), "targets": ("N", "K"), "learning_rate": float, "steps": int},
    ),
    reference=Reference(value=value, grad=grad, per_sample_grad=per_sample_grad, complex_step=True),
    transforms=("value", "grad", "value_and_grad", "vmap", "per_sample_grad", "train"),
    per_sample=("per_sample_loss", ("x", "targets")),
    functions=("predict", "members", "stack_members"),
    variants={
        # The trained parameters, compared with the NumPy Adam's.
        "train": Variant("map", "train", reference=Reference(value=trained_loss, vector_map=train)),
    },
    # float32: the worst cells are the per-sample gradients (products of rounded activations and
    # residuals); measured ≤ 7e-7 over seeds 0–19 at size small for every cell (JAX, torch, and against
    # each other), ≤ 3e-7 for ten Adam steps, whose sign-like normalisation does not amplify roundoff here.
    tolerance=Tolerance(1e-10, 4e-6, "same discrete maths in both; float32 roundoff through the network, its gradients and Adam"),
    sweep=("K", (16, 64, 256)),
    bench_batch=8,
)
