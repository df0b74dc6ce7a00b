"""`sciad claims`: the verdict rule on synthetic numbers, one cheap claim end to end, bad input."""

from __future__ import annotations

import json

import pytest

from sciad import claims, cli

pytestmark = pytest.mark.xdist_group("claims")


def test_an_interval_decides_only_when_it_excludes_the_threshold():
    assert claims.outcome(1.2, 1.5, 1.0) == claims.HOLDS
    assert claims.outcome(0.5, 0.9, 1.0) == claims.FAILS
    assert claims.outcome(0.9, 1.1, 1.0) == claims.UNDECIDED
    # A claim that holds below its threshold (fewer is better).
    assert claims.outcome(0.5, 0.9, 1.0, above=False) == claims.HOLDS
    assert claims.outcome(1.2, 1.5, 1.0, above=False) == claims.FAILS


def test_bootstrap_interval_of_separated_and_overlapping_samples():
    point, low, high = claims.bootstrap_ratio([3.0, 3.1, 2.9, 3.05], [1.0, 1.02, 0.98, 1.01])
    assert low <= point <= high and 2.7 < low and high < 3.3
    assert claims.outcome(low, high, 2.0) == claims.HOLDS and claims.outcome(low, high, 4.0) == claims.FAILS
    # Noisy samples straddling the threshold decide nothing.
    _, low, high = claims.bootstrap_ratio([0.8, 1.3, 0.9, 1.2], [1.0, 1.0, 1.0, 1.0])
    assert claims.outcome(low, high, 1.0) == claims.UNDECIDED


def test_a_claim_holds_fails_or_depends_on_its_deciding_comparisons():
    H, F, U = claims.HOLDS, claims.FAILS, claims.UNDECIDED
    assert claims.verdict([H, H]) == claims.HOLDS
    assert claims.verdict([F, F, F]) == claims.FAILS
    assert claims.verdict([H, F]) == claims.DEPENDS
    assert claims.verdict([H, U]) == claims.DEPENDS
    assert claims.verdict([]) == claims.NOT_MEASURED


def _record(case, seconds):
    problem, transform, framework, mode, size, dtype, device = case[:7]
    return {
        "problem": problem, "transform": transform, "framework": framework, "mode": mode, "size": size,
        "dtype": dtype, "device": "cpu", "device_requested": device, "status": "ok", "median_s": seconds,
    }  # fmt: skip


def test_assess_reads_repetitions_into_a_verdict():
    claim = claims.get(8)
    (jax_cmp, torch_cmp) = claim.selected(quick=True)
    reps = []
    for k in range(4):
        rep = {}
        # JAX: reverse-over-reverse 3x slower (holds); torch: 2x faster (fails): the claim depends.
        for comparison, num in ((jax_cmp, 3.0), (torch_cmp, 0.5)):
            (n,), (d,) = comparison.numerator.case_keys(), comparison.denominator.case_keys()
            rep[n] = _record(n, num * (1 + 0.01 * k))
            rep[d] = _record(d, 1.0 - 0.01 * k)
        reps.append(rep)
    result, measured = claims.assess(claim, reps, quick=True)
    assert [m.outcome for m in measured] == [claims.HOLDS, claims.FAILS]
    assert result == claims.DEPENDS
    assert "fails at" in claims.deciding_figure(claim, result, measured)


def _probe_record(scheme, perturbation, samples, draws=None):
    from sciad import sampling

    return {
        **sampling.key_fields(scheme, perturbation), "status": "ok", "digest": samples,
        "draws_digest": draws or samples, "last_first_coordinate": [float(len(samples))],
    }  # fmt: skip


def _probe_reps(runs, changed):
    """`runs` repetitions of every probe; `changed` maps (scheme, perturbation) to (samples, draws) digests that
    differ from the base's ("base", "base")."""
    from sciad import sampling

    reps = []
    for _ in range(runs):
        rep = {}
        for scheme in sampling.SCHEMES:
            for perturbation in (sampling.BASE, *sampling.PERTURBATIONS[1:]):
                samples, draws = changed.get((scheme, perturbation), ("base", "base"))
                record = _probe_record(scheme, perturbation, samples, draws)
                rep[sampling.case_key(scheme, perturbation)] = record
        reps.append(rep)
    return reps


def test_claim_9_verdict_from_bitwise_checks():
    from sciad import sampling

    global_differs = {("global", sampling.OTHER): ("other", "other"), ("global", sampling.BATCHES): ("split", "split")}
    global_differs.update({("global", sampling.SHARDED): ("x", "x"), ("global", sampling.ONE_THREAD): ("y", "y")})
    # Keys identical everywhere and the global generator changed by every perturbation but a rerun: a rerun of a
    # seeded global generator reproduces, against the claim, so the claim depends.
    result, checked = claims.assess_determinism(_probe_reps(2, global_differs))
    by = {(c.scheme, c.perturbation): c for c in checked}
    assert by[("keys", sampling.BATCHES)].outcome == claims.HOLDS
    assert by[("global", sampling.OTHER)].outcome == claims.HOLDS
    assert by[("global", sampling.RERUN)].outcome == claims.FAILS and result == claims.DEPENDS
    # A key's samples that differ only in roundoff (the same draws) fail the rule, which is about samples, and
    # the figure says it was roundoff.
    roundoff = {**global_differs, ("keys", sampling.SHARDED): ("sharded", "base")}
    result, checked = claims.assess_determinism(_probe_reps(2, roundoff))
    (sharded,) = [c for c in checked if (c.scheme, c.perturbation) == ("keys", sampling.SHARDED)]
    assert sharded.outcome == claims.FAILS and sharded.draws_identical is True
    assert "roundoff only (the same draws) under 4 devices" in claims._determinism_figure(checked)
    # One run cannot decide a rerun; a record the host could not make is not measured and does not decide.
    reps = _probe_reps(1, global_differs)
    reps[0][sampling.case_key("generator", sampling.SHARDED)].update(status="unsupported", error="one device")
    _, checked = claims.assess_determinism(reps)
    by = {(c.scheme, c.perturbation): c for c in checked}
    assert by[("keys", sampling.RERUN)].outcome == claims.UNDECIDED
    assert by[("generator", sampling.SHARDED)].outcome == claims.NOT_MEASURED and not by[("generator", sampling.SHARDED)].decides


def test_claim_9_probe_groups_cover_every_check_once():
    # Every scheme × perturbation is run by exactly one subprocess or recorded as not measurable, at any
    # thread count; at 1 thread "1 thread" is no perturbation and is not measured.
    from sciad import sampling

    wanted = {(s, p) for s in sampling.SCHEMES for p in (sampling.BASE, *sampling.PERTURBATIONS[1:])}
    for threads in (1, 2):
        run = [c for *_, configs in sampling.groups(threads) for c in configs]
        assert len(run) == len(set(run)) and set(run) | set(sampling.unmeasured(threads)) == wanted
        assert not set(run) & set(sampling.unmeasured(threads))
    assert ("keys", sampling.ONE_THREAD) in sampling.unmeasured(1)
    assert all(threads == 1 for _, threads, _, configs in sampling.groups(2) if ("keys", sampling.ONE_THREAD) in configs)
    # A further run of a quick claims run repeats only the base runs, each scheme's once.
    bases = [c for *_, configs in sampling.groups(2, rerun_only=True) for c in configs if c[1] == sampling.BASE]
    assert sorted(bases) == sorted((s, sampling.BASE) for s in sampling.SCHEMES)


def test_claim_9_probe_in_process_torch():
    # The real probe, two transitions: a seeded global generator reruns bitwise in one process; a draw in between
    # changes the draws and the samples.
    from sciad import sampling

    configs = [("global", sampling.BASE), ("global", sampling.OTHER), ("global", sampling.BASE)]
    found = [(sampling.digest(out[0]), sampling.digest(out[1])) for *_, out, _ in sampling.probe("torch", configs, transitions=2)]
    (base, base_draws), (other, other_draws), (again, again_draws) = found
    assert (base, base_draws) == (again, again_draws) and other != base and other_draws != base_draws


def test_every_claim_is_listed_with_its_rule(capsys):
    assert cli.main(["claims", "--list"]) == 0
    out = capsys.readouterr().out
    assert all(f"{n}. " in out for n in range(1, 11)) and "threshold" in out


def test_one_cheap_claim_end_to_end(tmp_path):
    # Claim 10 in --quick runs four JAX cases (one worker per repetition): the cheapest claim to measure.
    out = tmp_path / "claims"
    assert cli.main(["claims", "--claim", "10", "--quick", "--reps", "2", "--out", str(out)]) == 0
    text = (out / "claims.md").read_text()
    verdict = json.loads((out / "verdicts.json").read_text())["10"]
    assert verdict in (claims.HOLDS, claims.FAILS, claims.DEPENDS)
    assert f"**{verdict}**" in text and "| 10 |" in text and (out / "claim10.png").is_file()
    assert sorted(p.name for p in (out / "results").glob("*.jsonl")) == ["rep1.jsonl", "rep2.jsonl"]
    # Run again without --resume: refused in one sentence; with it, nothing is left to run.
    assert cli.main(["claims", "--claim", "10", "--quick", "--reps", "2", "--out", str(out)]) == 2
    assert cli.main(["claims", "--claim", "10", "--quick", "--reps", "2", "--out", str(out), "--resume"]) == 0


@pytest.mark.parametrize(
    "argv, words",
    [
        (["--claim", "11"], "there is no claim 11"),
        (["--claim", "3", "--claim", "3"], "more than once"),
        (["--reps", "1"], "at least 2 repetitions"),
        (["--threads", "0"], "1 to"),
        (["--claim", "x"], "invalid int value"),
    ],
)
def test_bad_input_is_one_sentence_and_exit_2(argv, words, capsys):
    try:
        code = cli.main(["claims", *argv])
    except SystemExit as exc:  # argparse's own errors exit from the parser
        code = exc.code
    err = capsys.readouterr().err
    assert code == 2 and words in err and len(err.strip().splitlines()) == 1


def test_out_naming_a_file_is_refused(tmp_path, capsys):
    file = tmp_path / "claims.md"
    file.write_text("")
    assert cli.main(["claims", "--claim", "9", "--out", str(file)]) == 2
    assert "is a file" in capsys.readouterr().err
