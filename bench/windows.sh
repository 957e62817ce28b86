#!/bin/sh
# What maintenance windows cost a poll (bench/windows_bench.c): the offer
# decision with and without windows, and the ICU computation the offer
# snapshot's cached spans avoid.  Seconds; no server, no network.
set -eu
cd "$(dirname "$0")/.."
make --no-print-directory build/release/bench/windows_bench >/dev/null
echo "== windows: maintenance windows per poll (1,000,000 polls each) =="
build/release/bench/windows_bench
