"""Invariants of ADBench's diagonal LSTM with GradBench's loss: with zero output weights the loss is the
closed-form cross-entropy of the constant bias prediction; the b channels are interchangeable; and
ADBench's text format reads back into the catalogue layout."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

import problems
from problems import lstm
from problems.lstm import adbench

from ..support import run

NAME = "lstm"
SPEC = problems.get(NAME)
seeds = st.integers(0, 2**31 - 1)


def _close(a, b, rtol=1e-13):
    return abs(a - b) <= rtol * max(1.0, abs(a) + abs(b))


@given(seed=seeds)
def test_zero_output_weights_give_the_closed_form_loss_of_the_constant_bias_prediction(framework, seed):
    # ŷ_t = h ⊙ 0 + β with β = extra[2] at every step, so with S_k = Σ_{t≥1} sequence[t]_k and
    # Z = Σ_k exp(β_k) + 2: L = −Σ_k S_k (β_k − log Z) / ((c−1) b), ∂L/∂β_k = −(S_k − (Σ S) e^{β_k}/Z) / ((c−1) b),
    # and nothing upstream of the output weights (main, extra[0]) moves the loss.
    y, args = SPEC.make_inputs("small", seed=seed)
    y["extra"][1] = 0.0
    sequence = args["sequence"]
    count = (sequence.shape[0] - 1) * sequence.shape[1]
    beta, totals = y["extra"][2], sequence[1:].sum(axis=0)
    partition = np.exp(beta).sum() + 2.0
    expected_value = -np.sum(totals * (beta - np.log(partition))) / count
    expected_bias_grad = -(totals - totals.sum() * np.exp(beta) / partition) / count
    value, gradient = run(NAME, "value_and_grad", framework, y, args)
    assert _close(float(value), expected_value)
    np.testing.assert_allclose(gradient["extra"][2], expected_bias_grad, rtol=0, atol=1e-15)
    assert not np.any(gradient["main"]) and not np.any(gradient["extra"][0])


@given(seed=seeds)
def test_loss_is_invariant_under_a_consistent_permutation_of_the_channels(framework, seed):
    # Every weight is diagonal and the normaliser is symmetric in the channels.
    y, args = SPEC.make_inputs("small", seed=seed)
    b = y["extra"].shape[1]
    order = np.random.default_rng(seed).permutation(b)
    main = y["main"].reshape(len(y["main"]), 4, b)[:, :, order].reshape(y["main"].shape)
    permuted_y = {"extra": y["extra"][:, order], "main": main}
    permuted_args = {"state": args["state"][:, order], "sequence": args["sequence"][:, order]}
    permuted = float(run(NAME, "value", framework, permuted_y, permuted_args))
    assert _close(permuted, float(run(NAME, "value", framework, y, args)))


def test_adbench_file_reads_into_the_catalogue_layout(tmp_path):
    # Written the way ADBench's data/lstm/gen_data.py writes it: a header, a blank line, and each
    # matrix followed by a blank line.
    y, args = SPEC.make_inputs("small", seed=3)
    layers, b, c = len(args["state"]) // 2, args["state"].shape[1], len(args["sequence"])
    text = f"{layers} {c} {b}\n\n"
    for matrix in (y["main"], y["extra"], args["state"], args["sequence"].astype(int)):
        text += "".join(" ".join(str(v) for v in row) + "\n" for row in matrix) + "\n"
    path = tmp_path / "lstm_test.txt"
    path.write_text(text + "\n")
    y_read, args_read = adbench.read(path)
    SPEC.validate(y_read, args_read)
    for key in y:
        np.testing.assert_array_equal(y_read[key], y[key])
    for key in args:
        np.testing.assert_array_equal(args_read[key], args[key])
    assert lstm.value(y_read, args_read) == lstm.value(y, args)


@given(seed=seeds)
def test_adbench_writer_and_reader_round_trip(tmp_path_factory, seed):
    y, args = SPEC.make_inputs("small", seed=seed)
    path = tmp_path_factory.mktemp("lstm") / "lstm.txt"
    adbench.write(path, y, args)
    y_read, args_read = adbench.read(path)
    for key in y:
        np.testing.assert_array_equal(y_read[key], y[key])
    for key in args:
        np.testing.assert_array_equal(args_read[key], args[key])


def test_gradbench_message_gives_the_catalogue_layout():
    y, args = SPEC.make_inputs("small", seed=1)
    message = {"main_params": y["main"].tolist(), "extra_params": y["extra"].tolist(),
               "state": args["state"].tolist(), "sequence": args["sequence"].tolist()}
    y_read, args_read = adbench.from_gradbench(message)
    SPEC.validate(y_read, args_read)
    assert lstm.value(y_read, args_read) == lstm.value(y, args)
