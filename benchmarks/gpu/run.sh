#!/usr/bin/env bash
# sciad on a GPU host with no network: parity on the GPU, the gpu-quick benchmark, and its report beside the
# committed CPU baseline, all written into one folder, under a time budget that the script enforces.
#
#   bash benchmarks/gpu/run.sh OUT [BUDGET_SECONDS]      # default budget 540 s (a 10-minute slot, less start-up)
#
# Run it again with the same OUT to finish what a budget cut off: the benchmark resumes its results file.
set -uo pipefail
cd "$(dirname "$0")/../.."

out=${1:-}
budget=${2:-540}
if [[ -z "$out" ]]; then
    echo "usage: bash benchmarks/gpu/run.sh OUT [BUDGET_SECONDS]" >&2
    exit 2
fi
if ! nvidia-smi -L >/dev/null 2>&1; then
    echo "benchmarks/gpu/run.sh: no GPU on this host (nvidia-smi lists none); run it on a GPU host" >&2
    exit 2
fi
started=$(date +%s)
left() { echo $((budget - ($(date +%s) - started))); }
mkdir -p "$out"

# The host has no network: install from the checkout with what is already there, else run from PYTHONPATH.
python=${PYTHON:-python3}
if ! "$python" -m pip install -q --no-build-isolation --no-deps -e . >"$out/install.log" 2>&1; then
    echo "pip install from the checkout failed (see $out/install.log); running from PYTHONPATH instead"
    export PYTHONPATH="$PWD/src:$PWD${PYTHONPATH:+:$PYTHONPATH}"
fi
sciad() { "$python" -m sciad "$@"; }
export TORCHINDUCTOR_CACHE_DIR=${TORCHINDUCTOR_CACHE_DIR:-$PWD/.cache/inductor}
nvidia-smi >"$out/nvidia-smi.txt" 2>&1

# 1. Parity on the GPU, float32 and float64, on a subset that takes about two minutes.
check_budget=$(( $(left) < 150 ? $(left) : 150 ))
echo "== sciad check --device cuda (at most ${check_budget} s)"
timeout "$check_budget" "$python" -m sciad check --device cuda --dtype float32 --dtype float64 \
    --problem rosenbrock --problem lennard_jones --problem nbody --problem lse --problem gmm \
    >"$out/check.log" 2>&1
echo "check exit code $? (0: every cell passed; 124: cut off by the budget)" | tee -a "$out/check.log"

# 2. The gpu-quick suite, resumable; the budget is the benchmark's own, so a cut-off case is recorded.
echo "== sciad bench --suite gpu-quick --device cuda (budget $(left) s)"
if (( $(left) > 30 )); then
    sciad bench --suite gpu-quick --device cuda --out "$out/gpu-quick.jsonl" --resume --budget $(( $(left) - 20 ))
    echo "bench exit code $?"
else
    echo "no time left for the benchmark; run the script again with the same OUT to resume"
fi

# 3. The report, with the committed CPU baseline side by side.
if [[ -s "$out/gpu-quick.jsonl" ]]; then
    sciad report benchmarks/results/cpu-quick.jsonl "$out/gpu-quick.jsonl" --out "$out/report"
fi
echo "done in $(( $(date +%s) - started )) s; everything is in $out"
