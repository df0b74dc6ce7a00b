r"""A chain of three matrix products, the usual "XLA fuses it" example: U = x W₁ W₂ W₃.

    f(W) = (1/2n) Σ_ij U_ij²,   U = x W₁ W₂ W₃,   x (n, d),  W₁, W₂, W₃ (d, d).

With G = U / n, A = x W₁ and B = A W₂ (so U = B W₃), the gradient has a closed form:

    ∂f/∂W₃ = Bᵀ G,   ∂f/∂W₂ = Aᵀ G W₃ᵀ,   ∂f/∂W₁ = xᵀ G W₃ᵀ W₂ᵀ.

The per-sample loss is ℓ_i(W) = ½ ‖x_i W₁ W₂ W₃‖² (row i of x), so f = (1/n) Σ_i ℓ_i, and ∇ℓ_i is the
formula above with n = 1 and x = x_i. The vector map is U itself (`predict`, (n, d)): its Jacobian
with respect to the 3d² weights has n·d rows, so jacfwd (3d² forward passes) against jacrev (n·d
reverse passes) crosses over as n grows, at n·d ≈ 3d² / c with c the cost of a reverse pass relative
to a forward one.

Problem-specific transforms, for the benchmark's claims (`sciad claims`), each checked against the
same closed-form per-sample gradient:
- `per_sample_grad_loop`: a Python loop over samples of the per-sample gradient (JAX: a jitted
  `jax.grad` called per row; torch: `torch.func.grad` per row), stacked — what vmap replaces;
- `per_sample_grad_trick`: the batched-autograd trick — the weights broadcast to one copy per sample,
  the per-sample losses summed, and one reverse pass with respect to the copies (each copy's gradient
  is its sample's).

Matrix products have no elementwise neighbours to fuse with: XLA compiles each dot to one library
call, as torch eager does, so beyond dispatch overhead neither framework has anything to gain here.

Layout: y = {W1 (d, d), W2 (d, d), W3 (d, d)}, args = {x (n, d)}. Inputs: x ~ N(0, 1), W_k ~ N(0, 1/d)
(so U stays O(1)).
"""

from __future__ import annotations

import numpy as np

from sciad.spec import Layout, Problem, Reference, Variant


def build(rng: np.random.Generator, n: int, d: int):
    x = rng.standard_normal((n, d))
    y = {key: rng.standard_normal((d, d)) / np.sqrt(d) for key in ("W1", "W2", "W3")}
    return y, {"x": x}


def predict(y, args):
    return args["x"] @ y["W1"] @ y["W2"] @ y["W3"]


def value(y, args):
    u = predict(y, args)
    return 0.5 * np.sum(u * u) / u.shape[0]


def _grad(y, x, scale):
    a = x @ y["W1"]
    b = a @ y["W2"]
    g = (b @ y["W3"]) * scale
    g3 = g @ y["W3"].T
    return {"W1": x.T @ (g3 @ y["W2"].T), "W2": a.T @ g3, "W3": b.T @ g}


def grad(y, args):
    return _grad(y, args["x"], 1.0 / args["x"].shape[0])


def per_sample_grad(y, args):
    rows = [_grad(y, args["x"][i : i + 1], 1.0) for i in range(args["x"].shape[0])]
    return {key: np.stack([row[key] for row in rows]) for key in ("W1", "W2", "W3")}


SPEC = Problem(
    name="matmul_chain",
    summary="dot(dot(dot(x, W1), W2), W3) → ½‖·‖²/n: the fusion claim's example (closed-form gradient, per-sample gradients)",
    build=build,
    sizes={"small": {"n": 4, "d": 4}, "bench": {"n": 64, "d": 16}},  # n: rows that 2 and 4 devices split
    layout=Layout(y={"W1": ("d", "d"), "W2": ("d", "d"), "W3": ("d", "d")}, args={"x": ("n", "d")}),
    reference=Reference(value=value, grad=grad, vector_map=predict, per_sample_grad=per_sample_grad, complex_step=True),
    transforms=(
        "value",
        "grad",
        "jacfwd",
        "jacrev",
        "per_sample_grad",
        "per_sample_grad_loop",
        "per_sample_grad_trick",
    ),
    vector_map="predict",
    per_sample=("per_sample_loss", ("x",)),
    variants={
        "per_sample_grad_loop": Variant("per_sample_grad", "per_sample_grad_loop", prebuilt=True),
        "per_sample_grad_trick": Variant("per_sample_grad", "per_sample_grad_trick", prebuilt=True),
    },
    # The fusion claim's sweep: the matrices' side, at n = 64 rows.
    sweep=("d", (16, 64, 256, 1024)),
)
