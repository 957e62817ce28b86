#!/bin/sh
# compare.sh: the benchmarks of BENCH (default: downloads polls events ddi)
# run for an earlier commit and for this tree, one after the other in the
# same session, so that a change is judged against the code before it on
# the same machine under the same load (a figure of another day is not a
# reference: this VM's speed varies by 2x from week to week).
#
#   bench/compare.sh REV        (make bench-compare BASE=REV)
#
# REV is built in a temporary git worktree (release build, removed at the
# end); this tree's release binaries must be built (make bench-compare
# does it).  For each benchmark: REV, this tree, then REV again, so a
# drift of the machine during the run shows as a difference between the
# two REV runs.  Each run's full output goes to stdout under a header; the
# last lines repeat the headline lines of each run one under the other.
# Exit status: 0 when every run ran, 1 otherwise.
set -u
REV=${1:?usage: bench/compare.sh REV}
BENCH_DIR=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$BENCH_DIR/.." && pwd)
BENCHES=${BENCH:-downloads polls events ddi}
# COMPARE_AGAIN=0 skips the second run of REV (a third less time).
AGAIN=${COMPARE_AGAIN:-1}
W=$(mktemp -d /tmp/otad-bench-base.XXXXXX) || exit 1
OUT=$(mktemp -d /tmp/otad-bench-out.XXXXXX) || exit 1
cleanup() {
	git -C "$ROOT" worktree remove --force "$W/tree" >/dev/null 2>&1
	rm -rf "$W" "$OUT"
}
trap cleanup EXIT INT TERM

base=$(git -C "$ROOT" rev-parse --short "$REV") || exit 1
here=$(git -C "$ROOT" rev-parse --short HEAD)
git -C "$ROOT" worktree add --detach "$W/tree" "$REV" >/dev/null 2>&1 || {
	echo "compare.sh: cannot check out $REV" >&2; exit 1; }
echo "compare.sh: building $base in $W/tree" >&2
make -C "$W/tree" --no-print-directory all build/release/bench/mqtt_load \
    >"$W/build.log" 2>&1 || {
	tail -20 "$W/build.log" >&2; echo "compare.sh: build of $base failed" >&2
	exit 1; }

# run NAME LABEL DIR: bench/NAME.sh of this tree with DIR's binaries
run() {
	echo "==== $1: $2 ===="
	OTAD_BIN=$3/build/release/otad OTACTL_BIN=$3/build/release/otactl \
	MQTT_LOAD_BIN=$3/build/release/bench/mqtt_load \
	    "$BENCH_DIR/$1.sh" >"$OUT/$1.$2" || rc=1
	cat "$OUT/$1.$2"
}
rc=0
for b in $BENCHES; do
	run "$b" "base-$base" "$W/tree"
	run "$b" "this-$here" "$ROOT"
	[ "$AGAIN" = 1 ] && run "$b" "base-$base-again" "$W/tree"
done
echo "==== headlines (REV, this tree, REV again) ===="
for b in $BENCHES; do
	for f in "$OUT/$b.base-$base" "$OUT/$b.this-$here" \
	    "$OUT/$b.base-$base-again"; do
		[ -f "$f" ] || continue
		echo "-- $(basename "$f")"
		grep -E 'PASS|MISS|ratio|/s' "$f" | head -30
	done
done
exit $rc
