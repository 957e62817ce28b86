#!/bin/sh
# run.sh: runs the unit test binaries given as arguments (Check suites,
# under ASan/UBSan) and then every tests/integration/test_*.sh against the
# real otad, and prints one closing line "N passed, N failed".  A unit
# binary counts as one test per Check test case it ran; an integration
# script reports its own counts through tests/lib.sh.
#   OTAD_BIN, OTACTL_BIN: binaries to test (set by the Makefile)
#   MQTT_LOAD_BIN: bench/mqtt_load, for test_mqtt_volume.sh (likewise)
#   TESTS=pattern: only integration scripts whose name contains pattern
#   UNIT_ONLY=1 / INTEGRATION_ONLY=1
set -u
here=$(cd "$(dirname "$0")" && pwd)
passed=0
failed=0
failures=""
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:halt_on_error=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

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
			failures="$failures $(basename "$bin")"
		fi
	done
fi

if [ -z "${UNIT_ONLY:-}" ]; then
	for t in "$here"/integration/test_*.sh; do
		[ -e "$t" ] || continue
		case "$(basename "$t")" in *"${TESTS:-}"*) ;; *) continue ;; esac
		res=$(mktemp)
		RESULT_FILE="$res" timeout 600 sh "$t" 2>&1 | sed "s|^|[$(basename "$t" .sh)] |"
		p=$(grep -c '^pass' "$res")
		f=$(grep -c '^fail' "$res")
		if [ "$p" -eq 0 ] && [ "$f" -eq 0 ]; then
			f=1 # a script that died before its first check
		fi
		passed=$((passed + p))
		failed=$((failed + f))
		[ "$f" -eq 0 ] || failures="$failures $(basename "$t")"
		rm -f "$res"
	done
fi

[ -z "$failures" ] || echo "failing:$failures"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
