"""Lotka–Volterra in PyTorch: diffrax's Tsit5 tableau at a constant step, in a Python loop."""

import torch

# Tsitouras (2011), as the float64 values diffrax's Tsit5 holds. The seventh stage only serves the
# error estimate and FSAL (its weight in the solution is 0), so a constant-step solve omits it.
TSIT5_C = (0.161, 0.327, 0.9, 0.9800255409045097, 1.0)
TSIT5_A = (
    (0.161,),
    (-0.008480655492356989, 0.335480655492357),
    (2.8971530571054935, -6.359448489975075, 4.3622954328695815),
    (5.325864828439257, -11.748883564062828, 7.4955393428898365, -0.09249506636175525),
    (5.86145544294642, -12.92096931784711, 8.159367898576159, -0.071584973281401, -0.028269050394068383),
)
TSIT5_B = (0.09646076681806523, 0.01, 0.4798896504144996, 1.379008574103742, -3.290069515436081, 2.324710524099774)


def rates(theta):
    alpha, beta, gamma, delta = theta[0], theta[1], theta[2], theta[3]
    return torch.stack([alpha, -gamma]), torch.stack([-beta, delta])


def vector_field(t, u, args):
    # u̇₁ = u₁(α − βu₂), u̇₂ = u₂(δu₁ − γ): a few whole-vector operations instead of many scalar ones.
    intrinsic, interaction = args
    return u * torch.addcmul(intrinsic, interaction, torch.flip(u, (0,)))


def tsit5_step(t, u, dt, increment_args, tableau):
    # As diffrax: stage increments k_i = dt·f(t_i, u_i), u_i = u + Σ_j a_ij k_j, then u + Σ b_i k_i.
    # The Python loop pays per tensor operation: each weighted sum is one matrix-vector product.
    a_rows, b = tableau
    ks = [vector_field(t, u, increment_args)]
    for c, a in zip(TSIT5_C, a_rows):
        ks.append(vector_field(t + c * dt, torch.addmv(u, torch.stack(ks, 1), a), increment_args))
    return torch.addmv(u, torch.stack(ks, 1), b)


def solve(y, args):
    theta, u0, t1, steps, save_every = y, args["u0"], args["t1"], args["steps"], args["save_every"]
    dt = t1 / steps
    tableau = (
        [torch.tensor(row, dtype=u0.dtype, device=u0.device) for row in TSIT5_A],
        torch.tensor(TSIT5_B, dtype=u0.dtype, device=u0.device),
    )
    # f is linear in the rates: rates scaled by dt make vector_field return the increment dt·f.
    increment_args = tuple(dt * rate for rate in rates(theta))
    u, saved = u0, []
    for step in range(steps):
        # Times as diffrax's ConstantStepSize makes them: a fraction of t1, not a running sum.
        u = tsit5_step(t1 * (step / steps), u, dt, increment_args, tableau)
        if (step + 1) % save_every == 0:
            saved.append(u)
    return torch.stack(saved)


def objective(y, args):
    return torch.mean((solve(y, args) - args["observations"]) ** 2)
