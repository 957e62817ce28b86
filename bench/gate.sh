#!/bin/sh
# The health gates' simulation (bench/gate_sim.c): prints the tables of
# docs/rollouts.md, "Choosing a gate".  Seconds; no server, no network.
set -eu
cd "$(dirname "$0")/.."
make --no-print-directory build/release/bench/gate_sim >/dev/null
echo "== gate: health gates by simulation (fixed seed) =="
build/release/bench/gate_sim
