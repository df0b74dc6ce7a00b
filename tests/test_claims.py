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
    problem, transform, framework, mode, size, dtype, device = case
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
