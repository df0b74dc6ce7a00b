"""Claim 9's probe: are sampled results bitwise reproducible, with JAX's explicit keys, a seeded
`torch.Generator`, and torch's global generator?

The sampler is the catalogue's HMC (problems/hmc: its Metropolis `transition`, on its logistic-regression
posterior at size small, float64): K chains of S transitions, each transition drawing a momentum (d,)
and a uniform per chain. Three ways to draw them, each as its users write it:

- ``keys`` (JAX, jitted): one key per chain, ``split(key(SEED), K)``; every transition splits a chain's
  key into its next key and its two draws; the chains run under ``jax.vmap``, the transitions under
  ``lax.scan``.
- ``generator`` (torch, eager): one ``torch.Generator`` seeded with SEED, drawing all chains' variates
  per transition outside ``torch.func.vmap`` (which cannot take a generator), as hmc's ``sample_native``.
- ``global`` (torch, eager): ``torch.manual_seed(SEED)``, then the draws inside
  ``torch.func.vmap(..., randomness="different")`` from the global generator.

Each is run as is (the base) and under perturbations that leave the maths unchanged: another component
drawing first (JAX: from its own key; torch: from the global generator), the chains run in two vmap
batches of K/2 (JAX: the same K keys split in two; torch: the same generator, or the global one, going
on into the second batch), 4 devices (JAX only: 4 host devices simulated by XLA_FLAGS, the chains'
keys sharded over them; torch has no simulated devices, so it is not measured on a one-device host),
and 1 thread instead of the run's count. "Across runs" is the base in separate processes: one per
repetition of `sciad claims`. The measure is a SHA-256 of the samples' float64 bytes: equal or not; the
draws themselves (momenta and uniforms) get their own digest, which tells a different random stream from
roundoff in the arithmetic that consumes it.

Every probe runs in a fresh subprocess (``python -m sciad.sampling FRAMEWORK THREADS DEVICES``, never a
fork after a framework is imported): thread count and device count are fixed before JAX or torch loads.
The parent writes one record per configuration to the claims run's results file, in the records' format
(problem "hmc", transform ``sample_<scheme>``, size naming the perturbation, `digest`).

This module is the probe's parent and child both, and imports no framework. The draws themselves are
framework code and live with the sampler they drive, in `problems/hmc/jax_probe.py` and
`problems/hmc/torch_probe.py`, which the child finds through the registry as it finds `jax_impl`.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import os
import subprocess
import sys
import time

import numpy as np

from . import frameworks

SEED = 9
CHAINS, TRANSITIONS, SIZE = 8, 8, "small"  # hmc's small posterior: n = 10 rows, d = 3, L = 3, ε = 0.6
DEVICES = 4
MARK = "SCIAD_SAMPLES "
TIMEOUT = 300.0

SCHEMES = {"keys": ("jax", "jit"), "generator": ("torch", "eager"), "global": ("torch", "eager")}
SCHEME_NAMES = {"keys": "JAX keys", "generator": "seeded torch.Generator", "global": "torch global generator"}
BASE, RERUN, OTHER, BATCHES, SHARDED, ONE_THREAD = "base", "rerun", "other draw first", "2 vmap batches", "4 devices", "1 thread"
PERTURBATIONS = (RERUN, OTHER, BATCHES, SHARDED, ONE_THREAD)
# What the claim says each scheme does under every perturbation: keys are reproducible, the global generator
# is not. The seeded torch.Generator is explicit state like a key: shown beside them, not deciding.
EXPECTED = {"keys": True, "global": False, "generator": True}
DECIDING = ("keys", "global")


def size_of(perturbation: str) -> str:
    base = f"K={CHAINS} S={TRANSITIONS}"
    return base if perturbation in (BASE, RERUN) else f"{base}, {perturbation}"


def key_fields(scheme: str, perturbation: str) -> dict:
    framework, mode = SCHEMES[scheme]
    return {
        "problem": "hmc", "transform": f"sample_{scheme}", "framework": framework, "mode": mode,
        "size": size_of(perturbation), "dtype": "float64", "device": "cpu", "device_requested": "cpu",
    }  # fmt: skip


def case_key(scheme: str, perturbation: str) -> tuple:
    """The key the results' reader files a probe's record under (`results.case_key`)."""
    from .bench import results

    return results.case_key(key_fields(scheme, perturbation))


# The subprocesses, as (framework, threads, host devices, the configurations it runs), for a run with `threads`;
# with `rerun_only`, only those that hold a base run (what a further run needs for the rerun check).
def groups(threads: int, rerun_only: bool = False) -> list[tuple[str, int, int, list[tuple[str, str]]]]:
    found = [
        ("jax", threads, 1, [("keys", BASE), ("keys", OTHER), ("keys", BATCHES)]),
        ("jax", threads, DEVICES, [("keys", SHARDED)]),
        ("torch", threads, 1, [(s, p) for s in ("generator", "global") for p in (BASE, OTHER, BATCHES)]),
    ]
    if threads > 1:
        found += [("jax", 1, 1, [("keys", ONE_THREAD)]), ("torch", 1, 1, [("generator", ONE_THREAD), ("global", ONE_THREAD)])]
    return [g for g in found if any(p == BASE for _, p in g[3])] if rerun_only else found


def unmeasured(threads: int) -> dict[tuple[str, str], str]:
    """The checks this run cannot make, and why."""
    why = "torch has no simulated host devices (XLA_FLAGS is JAX's); one CPU device here"
    found = {("generator", SHARDED): why, ("global", SHARDED): why}
    if threads == 1:
        found.update({(s, ONE_THREAD): "the run itself has 1 thread: no other count to compare" for s in SCHEMES})
    return found


def digest(samples) -> str:
    """SHA-256 of float64 values' bytes: equal only if every bit is."""
    return hashlib.sha256(np.ascontiguousarray(samples, dtype=np.float64).tobytes()).hexdigest()


# -- the parent: run the groups, write their records ------------------------------------------------


def _spawn(framework: str, threads: int, devices: int, configs) -> list[dict]:
    env = dict(os.environ, PYTHONUNBUFFERED="1", JAX_PLATFORMS="cpu")
    for variable in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        env[variable] = str(threads)
    flags = [f for f in env.get("XLA_FLAGS", "").split() if not f.startswith("--xla_force_host_platform_device_count")]
    if devices > 1:
        flags.append(f"--xla_force_host_platform_device_count={devices}")
    env["XLA_FLAGS"] = " ".join(flags)
    command = [sys.executable, "-m", "sciad.sampling", framework, str(threads), str(devices), json.dumps(configs)]
    try:
        done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        return [dict(scheme=s, perturbation=p, status="timeout", error=f"no result within {TIMEOUT:g} s") for s, p in configs]
    answers = [json.loads(line[len(MARK) :]) for line in done.stdout.splitlines() if line.startswith(MARK)]
    if done.returncode != 0 or len(answers) != len(configs):
        tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
        error = f"probe exited {done.returncode}: {tail}"
        return [dict(scheme=s, perturbation=p, status="error", error=error) for s, p in configs]
    return answers


def record(answer: dict, threads: int, devices: int) -> dict:
    # The host device count as `host_devices`: `devices` keys the harness's scaling cases.
    return {
        **key_fields(answer["scheme"], answer["perturbation"]), "scheme": answer["scheme"],
        "perturbation": answer["perturbation"], "threads": threads, "host_devices": devices,
        "chains": CHAINS, "transitions": TRANSITIONS, "seed": SEED,
        **{k: v for k, v in answer.items() if k not in ("scheme", "perturbation")},
    }  # fmt: skip


def run(file, *, threads: int, settings: dict, options: dict, console, rerun_only: bool = False) -> list[dict]:
    """Run every probe group whose records `file` lacks (with `rerun_only`, only the base runs); append their
    records (under the results lock)."""
    from .bench import results

    finished = []
    with results.ResultsFile(file, resume=True) as out:
        have = {results.case_key(r) for r in results.latest(out.records)}
        todo = [g for g in groups(threads, rerun_only) if not all(case_key(s, p) in have for s, p in g[3])]
        cannot = unmeasured(threads)
        missing = [k for k in cannot if case_key(*k) not in have]
        if not todo and not missing:
            return finished
        out.write(results.environment(threads, dict(options, suite="claims-prng")))
        for framework, group_threads, devices, configs in todo:
            console.print(
                f"claim 9: {framework}, {group_threads} thread(s), {devices} device(s): {len(configs)} sampling probes → {file}",
                markup=False,
                soft_wrap=True,
            )
            for answer in _spawn(framework, group_threads, devices, configs):
                rec = dict(record(answer, group_threads, devices), settings=settings)
                out.write(rec)
                finished.append(rec)
        for scheme, perturbation in missing:
            rec = dict(
                record({"scheme": scheme, "perturbation": perturbation, "status": "unsupported"}, threads, 1),
                error=cannot[(scheme, perturbation)],
                settings=settings,
            )
            out.write(rec)
            finished.append(rec)
    return finished


# -- the child: draw the samples ------------------------------------------------------------------


def probe(framework: str, configs, devices: int = 1, transitions: int = TRANSITIONS):
    """(scheme, perturbation, (samples (K, S, d), momenta (K, S, d), uniforms (K, S)), extra fields) per
    configuration, in this process: hmc's `<framework>_probe` module, found through the registry."""
    from . import registry

    spec = registry.get("hmc")
    impl = spec.implementation(framework)  # configures the framework (x64) before anything is built
    y, args = spec.make_inputs(SIZE, seed=0, dtype="float64")
    keep = ("X", "labels", "prior_scale", "step_size", "leapfrog_steps")
    start, args = frameworks.load(framework).convert((y, {k: args[k] for k in keep}), device="cpu")
    module = importlib.import_module(f"{spec.package}.{framework}_probe")
    return module.probe(impl, start, args, configs, seed=SEED, chains=CHAINS, transitions=transitions, devices=devices)


def _child(argv) -> int:
    framework, threads, devices, configs = argv[0], int(argv[1]), int(argv[2]), [tuple(c) for c in json.loads(argv[3])]
    os.sched_setaffinity(0, sorted(os.sched_getaffinity(0))[:threads])  # XLA's pool follows the affinity
    frameworks.load(framework).set_threads(threads)
    out, sys.stdout = sys.stdout, sys.stderr  # library chatter must not reach the answers
    started = time.perf_counter()
    for scheme, perturbation, (samples, momenta, uniforms), extra in probe(framework, configs, devices):
        answer = {
            "scheme": scheme, "perturbation": perturbation, "status": "ok", "digest": digest(samples),
            "draws_digest": digest(np.concatenate([momenta.ravel(), uniforms.ravel()])),
            "shape": list(samples.shape), "last_first_coordinate": samples[:, -1, 0].tolist(),
            "elapsed_s": time.perf_counter() - started, **extra,
        }  # fmt: skip
        out.write(MARK + json.dumps(answer) + "\n")
        out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(_child(sys.argv[1:]))
