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


def vector_field(t, u, theta):
    alpha, beta, gamma, delta = theta[0], theta[1], theta[2], theta[3]
    prey, predator = u[0], u[1]
    return torch.stack([alpha * prey - beta * prey * predator, delta * prey * predator - gamma * predator])


def combine(weights, ks):
    total = weights[0] * ks[0]
    for weight, k in zip(weights[1:], ks[1:]):
        total = total + weight * k
    return total


def tsit5_step(t, u, dt, theta):
    # As diffrax: stage increments k_i = dt·f(t_i, u_i), then u + Σ b_i k_i.
    ks = [dt * vector_field(t, u, theta)]
    for c, a in zip(TSIT5_C, TSIT5_A):
        ks.append(dt * vector_field(t + c * dt, u + combine(a, ks), theta))
    return u + combine(TSIT5_B, ks)


def solve(y, args):
    theta, u0, t1, steps, save_every = y, args["u0"], args["t1"], args["steps"], args["save_every"]
    dt = t1 / steps
    u, saved = u0, []
    for step in range(steps):
        # Times as diffrax's ConstantStepSize makes them: a fraction of t1, not a running sum.
        u = tsit5_step(t1 * (step / steps), u, dt, theta)
        if (step + 1) % save_every == 0:
            saved.append(u)
    return torch.stack(saved)


def objective(y, args):
    return torch.mean((solve(y, args) - args["observations"]) ** 2)
