#!/bin/sh
# policies.sh: what the rollout policies cost a manifest poll (issue
# "Rollout policies": within 1.2x of a poll without them).  Runs
# bench/polls.sh twice in one session on the same machine, SQLite, one
# http_threads value: first the three rollouts as they are by default,
# then the same rollouts with every policy on, each chosen so that it is
# evaluated at every poll but changes no answer (the same devices are
# offered the same images, so the two runs do the same work but the
# policies'):
#   from_version ">=1.0.0 <9.0.0" and a selector "!bench.off" (every
#   device matches both), maintenance windows open all day in a named
#   zone on the rollout ("daily 00:00 24h Europe/Berlin"), action type
#   soft, a device timeout, retries with backoff, abort criteria with an
#   ignored result code, breach action abort, a rate limit far above
#   what the bench offers (1,000,000 new offers a minute, ramping), and
#   consent required (the bench's devices never answer: each poll decides
#   it from the device cache's marks and says "consent":"required", the
#   same offer with one more field).
# Prints both runs' figures and the ratios of server CPU per poll (HTTP,
# HTTPS) with a PASS/MISS line against 1.2x.  `make bench BENCH=policies`
# builds the release binaries first.  Knobs: those of polls.sh
# (BENCH_POLL_DEVICES, BENCH_POLL_DURATION, ...).
#
# Exit status: 0 when both runs ran (whatever the figures), 1 otherwise.
set -u

BENCH_DIR=$(cd "$(dirname "$0")" && pwd)
T=$(mktemp -d /tmp/otad-bench-policies.XXXXXX) || exit 1
trap 'rm -rf "$T"' EXIT INT TERM
TARGET=1.2
ALL='"from_version":">=1.0.0 <9.0.0","selector":"!bench.off",'
ALL=$ALL'"maintenance_windows":"daily 00:00 24h Europe/Berlin",'
ALL=$ALL'"action_type":"soft","device_timeout":86400,"max_retries":3,'
ALL=$ALL'"retry_backoff":60,"abort_on":["failed","timed_out"],'
ALL=$ALL'"ignore_results":[4],"breach_action":"abort",'
ALL=$ALL'"max_offers_per_minute":1000000,"rate_ramp_minutes":10,'
ALL=$ALL'"rate_ramp_max":1000000,"require_consent":true'

# run NAME [EXTRA]: polls.sh, its output in $T/NAME.out.
run() {
	echo "policies: polls.sh, $1" >&2
	BENCH_STORES=sqlite BENCH_THREADS=${BENCH_THREADS:-$(nproc)} \
	    BENCH_ROLLOUT_EXTRA=${2:-} "$BENCH_DIR/polls.sh" >"$T/$1.out" ||
	    { cat "$T/$1.out"; echo "policies: polls.sh ($1) failed" >&2; exit 1; }
}

# us_req NAME N: otad's CPU us per poll of the N-th scenario (1: HTTP,
# 2: HTTPS) of run NAME's table.
us_req() {
	awk -v n="$2" '$1 == "CPU" && $2 == "us/req" { if (++k == n) print $3 }' \
	    "$T/$1.out"
}

run none
run all "$ALL"
for r in none all; do
	echo "== polls, $r"
	sed -n '/^scenario/,/^expected 200 share/p' "$T/$r.out"
done
echo
echo "server CPU us per poll, SQLite, $(nproc) cores:"
printf '  %-8s %12s %12s %8s\n' "" "no policy" "all policies" ratio
verdict=PASS
for i in 1 2; do
	a=$(us_req none $i) b=$(us_req all $i)
	[ -n "$a" ] && [ -n "$b" ] || { echo "policies: no figures" >&2; exit 1; }
	ratio=$(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.2f", b / a }')
	printf '  %-8s %12s %12s %8s\n' "$([ $i = 1 ] && echo HTTP || echo HTTPS)" \
	    "$a" "$b" "$ratio"
	awk -v r="$ratio" -v t="$TARGET" 'BEGIN { exit !(r <= t) }' ||
	    verdict=MISS
done
echo "  $verdict all policies within ${TARGET}x of none (CPU per poll)"
