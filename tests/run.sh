#!/bin/sh
# run.sh: runs the unit test binaries given as arguments (Check suites,
# under ASan/UBSan) and then every test_*.sh of the integration directory
# against the real otad, and prints one closing line "N passed, N failed".
# A unit binary counts as one test per Check test case it ran; an
# integration script reports its own counts through tests/lib.sh.
#
# The runner fails the run when anything did not end well, not only when a
# check said "fail": a unit binary or a script that exits non-zero, dies of
# a signal or runs out of time counts as a failure, named (with why) in the
# "failing:" line, even after passing checks.
#   OTAD_BIN, OTACTL_BIN: binaries to test (set by the Makefile)
#   MQTT_LOAD_BIN: bench/mqtt_load, for test_mqtt_volume.sh (likewise)
#   TESTS=pattern: only integration scripts whose name contains pattern
#   UNIT_ONLY=1 / INTEGRATION_ONLY=1
#   INTEGRATION_DIR: where the scripts are (default tests/integration)
#   SCRIPT_TIMEOUT_SEC: a script's time limit (default 600)
set -u
here=$(cd "$(dirname "$0")" && pwd)
idir=${INTEGRATION_DIR:-$here/integration}
limit=${SCRIPT_TIMEOUT_SEC:-600}
passed=0
failed=0
failures=""
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:halt_on_error=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

# why_exit STATUS [timed]: how a process with exit status STATUS ended, in
# words; "timed" when it ran under timeout(1), which exits 124 when the
# limit is hit, 137 if it had to kill (a unit binary's 137 is a SIGKILL).
why_exit() {
	case "$1:${2:-}" in
	124:timed | 137:timed) echo "timed out after ${limit} s" ;;
	*) if [ "$1" -gt 128 ]; then echo "killed by signal $(($1 - 128))"
	   else echo "exit $1"; fi ;;
	esac
}

if [ -z "${INTEGRATION_ONLY:-}" ]; then
	for bin in "$@"; do
		out=$("$bin" 2>&1)
		rc=$?
		printf '%s\n' "$out" | sed "s|^|[$(basename "$bin")] |"
		# Check prints "NN%: Checks: X, Failures: Y, Errors: Z"
		line=$(printf '%s\n' "$out" | grep -E '^[0-9]+%: Checks: ' | tail -n 1)
		if [ -n "$line" ] && [ $rc -eq 0 ]; then
			n=$(printf '%s' "$line" | sed -E 's/.*Checks: ([0-9]+).*/\1/')
			passed=$((passed + n))
		else
			# "Failures: F, Errors: E" as "F + E" (empty: none said).
			fe=$(printf '%s' "$line" | sed -nE 's/.*Failures: ([0-9]+), Errors: ([0-9]+).*/\1 + \2/p')
			n=$(( ${fe:-0} ))
			[ "$n" -gt 0 ] || n=1
			failed=$((failed + n))
			failures="$failures $(basename "$bin")($(why_exit $rc))"
		fi
	done
fi

if [ -z "${UNIT_ONLY:-}" ]; then
	for t in "$idir"/test_*.sh; do
		[ -e "$t" ] || continue
		name=$(basename "$t")
		case "$name" in *"${TESTS:-}"*) ;; *) continue ;; esac
		res=$(mktemp)
		st=$(mktemp)
		# The script's own status goes through a file: a pipeline's
		# status is its last command's (sed), never the script's.
		{
			RESULT_FILE="$res" timeout -k 10 "$limit" sh "$t" 2>&1
			echo $? >"$st"
		} | sed "s|^|[$(basename "$t" .sh)] |"
		rc=$(cat "$st")
		p=$(grep -c '^pass' "$res")
		f=$(grep -c '^fail' "$res")
		why=""
		if [ "${rc:-1}" -ne 0 ]; then
			why=$(why_exit "${rc:-1}" timed)
			[ "$f" -gt 0 ] || f=1
		elif [ "$p" -eq 0 ] && [ "$f" -eq 0 ]; then
			why="no check ran"
			f=1
		fi
		passed=$((passed + p))
		failed=$((failed + f))
		if [ "$f" -ne 0 ]; then
			failures="$failures $name${why:+($why)}"
		fi
		rm -f "$res" "$st"
	done
fi

[ -z "$failures" ] || echo "failing:$failures"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
