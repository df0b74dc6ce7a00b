r"""A small residual CNN's training step: the image model of the training-throughput claim.

The network (pre-activation residual blocks with group norm, as in ResNet v2 with GN for BN), on
images x (B, 3, H, H) with one-hot targets t (B, 10):

    h₀ = conv(x; stem),
    h_{j+1} = h_j + conv(relu(GN(conv(relu(GN(h_j; gn1_j)); conv1_j); gn2_j)); conv2_j),   j = 0, 1,
    p = mean over the H×H positions of relu(h₂)   (B, C),     z = p headᵀ + head_b   (B, 10),
    L(θ) = (1/B) Σ_b [ log Σ_k e^{z_bk} − Σ_k t_bk z_bk ].

conv is a 3×3 convolution with zero padding 1 and a bias (C_out, C_in, 3, 3 weights, as torch and
equinox store them); GN normalises each of G = 2 channel groups of each image over its channels and
positions with the biased variance and ε = 1e-5, then scales and shifts per channel (torch's GroupNorm
and equinox's, both).

`train(θ, args)` takes `steps` plain SGD steps θ ← θ − α ∇L(θ) and returns the final parameters.
JAX: an equinox module (Conv2d, GroupNorm, Linear, vmapped over the batch, its arrays placed from θ)
and optax.sgd, stepped by `lax.scan`. torch: value and grad evaluate an `nn.Module` skeleton on the meta
device by `torch.func.functional_call`; `train` is the step PyTorch users write — one `nn.Module` kept
across calls, its parameters loaded from θ, then forward, `loss.backward()` and `torch.optim.SGD.step()`.

Reference (NumPy): the forward pass above and its reverse sweep by hand (the convolution as nine
shifted channel products; GN's backward dx̂ − mean(dx̂) − x̂·mean(dx̂ x̂), over σ); `train` is SGD on it.
Everything is complex-safe (relu keys on the real part), so second derivatives and the benchmark's
checks are complex steps; the property test holds the hand-written gradient to the complex step.

Layout: y = θ = {stem_w (C, 3, 3, 3), stem_b (C,), b{j}_gn1_w, b{j}_gn1_b, b{j}_conv1_w (C, C, 3, 3),
b{j}_conv1_b, b{j}_gn2_w, b{j}_gn2_b, b{j}_conv2_w, b{j}_conv2_b for j = 0, 1, head_w (10, C),
head_b (10,)}; args = {x (B, 3, H, H), targets (B, 10), learning_rate: float, steps: int}.
Inputs: He-normal convolution weights, small normal biases, GN scales 1 + N(0, 0.1²), x ~ N(0, 1)
(random CIFAR-shaped images at the benchmark size), uniformly drawn classes; α = 0.1.
"""

from __future__ import annotations

import numpy as np

from sciad.spec import Layout, Problem, Reference, Tolerance, Variant

GROUPS, CLASSES, BLOCKS, EPS = 2, 10, 2, 1e-5
BLOCK_PARTS = ("gn1_w", "gn1_b", "conv1_w", "conv1_b", "gn2_w", "gn2_b", "conv2_w", "conv2_b")
KEYS = ("stem_w", "stem_b", *(f"b{j}_{part}" for j in range(BLOCKS) for part in BLOCK_PARTS), "head_w", "head_b")


def build(rng: np.random.Generator, B: int, C: int, H: int, steps: int):
    theta = {
        "stem_w": rng.standard_normal((C, 3, 3, 3)) * np.sqrt(2.0 / 27),
        "stem_b": 0.1 * rng.standard_normal(C),
        "head_w": rng.standard_normal((CLASSES, C)) / np.sqrt(C),
        "head_b": 0.1 * rng.standard_normal(CLASSES),
    }
    for j in range(BLOCKS):
        for k in (1, 2):
            theta[f"b{j}_gn{k}_w"] = 1.0 + 0.1 * rng.standard_normal(C)
            theta[f"b{j}_gn{k}_b"] = 0.1 * rng.standard_normal(C)
            theta[f"b{j}_conv{k}_w"] = rng.standard_normal((C, C, 3, 3)) * np.sqrt(2.0 / (9 * C))
            theta[f"b{j}_conv{k}_b"] = 0.1 * rng.standard_normal(C)
    x = rng.standard_normal((B, 3, H, H))
    targets = np.eye(CLASSES)[rng.integers(0, CLASSES, B)]
    y = {key: theta[key] for key in sorted(theta)}
    return y, {"x": x, "targets": targets, "learning_rate": 0.1, "steps": steps}


# -- the NumPy reference: forward and reverse sweep by hand ----------------------------------------


def _conv(x, w, b):
    H, W = x.shape[2:]
    padded = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    out = sum(np.einsum("bchw,oc->bohw", padded[:, :, i : i + H, j : j + W], w[:, :, i, j]) for i in range(3) for j in range(3))
    return out + b[None, :, None, None], padded


def _conv_back(g, padded, w):
    H, W = g.shape[2:]
    dw = np.zeros(w.shape, dtype=np.result_type(g, padded))
    dpadded = np.zeros(padded.shape, dtype=np.result_type(g, w))
    for i in range(3):
        for j in range(3):
            dw[:, :, i, j] = np.einsum("bohw,bchw->oc", g, padded[:, :, i : i + H, j : j + W])
            dpadded[:, :, i : i + H, j : j + W] += np.einsum("bohw,oc->bchw", g, w[:, :, i, j])
    return dpadded[:, :, 1:-1, 1:-1], dw, g.sum(axis=(0, 2, 3))


def _gn(x, gamma, beta):
    B, C, H, W = x.shape
    groups = x.reshape(B, GROUPS, -1)
    centred = groups - groups.mean(axis=-1, keepdims=True)
    inv = 1.0 / np.sqrt((centred * centred).mean(axis=-1, keepdims=True) + EPS)
    xhat = (centred * inv).reshape(x.shape)
    return xhat * gamma[None, :, None, None] + beta[None, :, None, None], (xhat, inv)


def _gn_back(g, saved, gamma):
    xhat, inv = saved
    B = g.shape[0]
    dxhat = (g * gamma[None, :, None, None]).reshape(B, GROUPS, -1)
    flat = xhat.reshape(B, GROUPS, -1)
    dx = inv * (dxhat - dxhat.mean(axis=-1, keepdims=True) - flat * (dxhat * flat).mean(axis=-1, keepdims=True))
    return dx.reshape(g.shape), (g * xhat).sum(axis=(0, 2, 3)), g.sum(axis=(0, 2, 3))


def _relu(x):
    return np.where(np.real(x) > 0, x, 0.0)


def _forward(y, args):
    tape = {}
    h, tape["stem"] = _conv(args["x"], y["stem_w"], y["stem_b"])
    for j in range(BLOCKS):
        p = f"b{j}_"
        n1, tape[p + "gn1"] = _gn(h, y[p + "gn1_w"], y[p + "gn1_b"])
        t, tape[p + "conv1"] = _conv(_relu(n1), y[p + "conv1_w"], y[p + "conv1_b"])
        n2, tape[p + "gn2"] = _gn(t, y[p + "gn2_w"], y[p + "gn2_b"])
        t, tape[p + "conv2"] = _conv(_relu(n2), y[p + "conv2_w"], y[p + "conv2_b"])
        tape[p + "n1"], tape[p + "n2"] = n1, n2
        h = h + t
    tape["h"] = h
    pooled = _relu(h).mean(axis=(2, 3))
    tape["pooled"] = pooled
    return pooled @ y["head_w"].T + y["head_b"], tape


def _logsumexp(z):
    shift = np.max(np.real(z), axis=-1, keepdims=True)  # a constant: exact for complex steps too
    return np.log(np.sum(np.exp(z - shift), axis=-1)) + shift[:, 0]


def value(y, args):
    z, _ = _forward(y, args)
    return np.mean(_logsumexp(z) - np.sum(args["targets"] * z, axis=-1))


def grad(y, args):
    z, tape = _forward(y, args)
    B = z.shape[0]
    shift = np.max(np.real(z), axis=-1, keepdims=True)
    e = np.exp(z - shift)
    dz = (e / e.sum(axis=-1, keepdims=True) - args["targets"]) / B
    g = {"head_w": dz.T @ tape["pooled"], "head_b": dz.sum(axis=0)}
    h = tape["h"]
    dh = (dz @ y["head_w"])[:, :, None, None] * (np.real(h) > 0) / (h.shape[2] * h.shape[3])
    for j in reversed(range(BLOCKS)):
        p = f"b{j}_"
        dt, g[p + "conv2_w"], g[p + "conv2_b"] = _conv_back(dh, tape[p + "conv2"], y[p + "conv2_w"])
        dt = dt * (np.real(tape[p + "n2"]) > 0)
        dt, g[p + "gn2_w"], g[p + "gn2_b"] = _gn_back(dt, tape[p + "gn2"], y[p + "gn2_w"])
        dt, g[p + "conv1_w"], g[p + "conv1_b"] = _conv_back(dt, tape[p + "conv1"], y[p + "conv1_w"])
        dt = dt * (np.real(tape[p + "n1"]) > 0)
        dt, g[p + "gn1_w"], g[p + "gn1_b"] = _gn_back(dt, tape[p + "gn1"], y[p + "gn1_w"])
        dh = dh + dt
    _, g["stem_w"], g["stem_b"] = _conv_back(dh, tape["stem"], y["stem_w"])
    return {key: g[key] for key in sorted(g)}


def train(y, args):
    """`steps` SGD steps θ ← θ − α ∇L(θ) from θ = y."""
    theta = dict(y)
    for _ in range(args["steps"]):
        g = grad(theta, args)
        theta = {key: theta[key] - args["learning_rate"] * g[key] for key in theta}
    return theta


def trained_loss(y, args):
    return value(train(y, args), args)


_BLOCK_LAYOUT = {
    f"b{j}_{part}": (("C", "C", 3, 3) if part.endswith("conv1_w") or part.endswith("conv2_w") else ("C",))
    for j in range(BLOCKS)
    for part in BLOCK_PARTS
}

SPEC = Problem(
    name="resnet_step",
    summary="a small residual CNN (group norm) trained by SGD: equinox + optax against nn.Module + torch.optim",
    build=build,
    sizes={"small": {"B": 2, "C": 4, "H": 4, "steps": 3}, "bench": {"B": 16, "C": 8, "H": 32, "steps": 3}},
    layout=Layout(
        y={
            "stem_w": ("C", 3, 3, 3),
            "stem_b": ("C",),
            **_BLOCK_LAYOUT,
            "head_w": (CLASSES, "C"),
            "head_b": (CLASSES,),
        },
        args={"x": ("B", 3, "H", "H"), "targets": ("B", CLASSES), "learning_rate": float, "steps": int},
    ),
    reference=Reference(value=value, grad=grad, complex_step=True),
    transforms=("value", "grad", "train"),
    variants={"train": Variant("map", "train", reference=Reference(value=trained_loss, vector_map=train))},
    tolerance=Tolerance(
        1e-10,
        1e-4,
        "same discrete maths in both; float32 roundoff through convolutions, group norm's 1/σ and three SGD steps",
    ),
    # The throughput claim's sweep: images per step.
    sweep=("B", (4, 16, 64)),
)
