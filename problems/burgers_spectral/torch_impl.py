"""Viscous Burgers' equation, dealiased pseudo-spectral with integrating-factor RK4, in PyTorch (real FFTs, a scan)."""

import torch

from sciad.frameworks.torch_backend import region, scan


def spectral_operators(n, nu, dt, dtype, device):
    k = torch.arange(n // 2 + 1, dtype=dtype, device=device)
    # 2/3 rule: a quadratic product of modes 3k < n cannot alias back onto them; this also drops Nyquist.
    keep = (3 * k < n).to(dtype)
    derivative = -0.5j * k * keep
    half_step = torch.exp(-nu * k**2 * dt / 2)
    return keep, derivative, half_step


def nonlinear(v, n, keep, derivative):
    w = torch.fft.irfft(keep * v, n=n)
    return derivative * torch.fft.rfft(w * w)


@region
def step(v, n, dt, keep, derivative, half_step, full_step):
    """One integrating-factor RK4 step of the spectrum v."""
    a = nonlinear(v, n, keep, derivative)
    b = nonlinear(half_step * (v + 0.5 * dt * a), n, keep, derivative)
    c = nonlinear(half_step * v + 0.5 * dt * b, n, keep, derivative)
    d = nonlinear(full_step * v + dt * half_step * c, n, keep, derivative)
    return full_step * v + dt / 6 * (full_step * a + 2 * half_step * (b + c) + d)


def simulate(y, args):
    n, nu, dt = y.shape[-1], args["nu"], args["dt"]
    keep, derivative, half_step = spectral_operators(n, nu, dt, y.dtype, y.device)
    full_step = half_step**2

    def body(v, _):
        return step(v, n, dt, keep, derivative, half_step, full_step), None

    # The loop stays in Python around the compiled step: torch's scan operator does not lower a complex carry
    # (Inductor has no complex code generation).
    v, _ = scan(body, torch.fft.rfft(y), length=args["steps"], compiled=False)
    return torch.fft.irfft(v, n=n)


def objective(y, args):
    miss = simulate(y, args) - args["u_target"]
    # Scaled before the sum: torch's forward mode turns a Python float times a 0-d float32 tensor into a
    # float64 tangent (pytorch#90065, #160513), so jacfwd of the objective would change dtype.
    return torch.sum((0.5 / y.shape[-1]) * miss * miss)
