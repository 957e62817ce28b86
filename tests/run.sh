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
#   STORES=sqlite|pg|both (default both): which stores to run on
#   SERIAL=1: run the two stores' passes one after the other
#
# Every store runs the same tests.  The SQLite pass runs everything; the
# PostgreSQL pass then starts one private cluster (tests/pg.sh) and runs
# again, with OTAD_TEST_PG set, the unit suites that open a store
# (uses_store) and every integration script; its results are named
# "pg:<name>".  A cluster that does not start fails the run; it is
# stopped and removed on every way out.  An OTAD_TEST_PG set by the
# caller names a database to use instead of a cluster of our own.
set -u
here=$(cd "$(dirname "$0")" && pwd)
idir=${INTEGRATION_DIR:-$here/integration}
limit=${SCRIPT_TIMEOUT_SEC:-600}
passed=0
failed=0
failures=""
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:halt_on_error=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
# Check's own limit per test (4 s by default) is for hangs, not speed:
# under ASan, with both stores' passes running at once on two cores, a
# test of a large table can take longer without anything being wrong.
export CK_DEFAULT_TIMEOUT="${CK_DEFAULT_TIMEOUT:-30}"

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

# uses_store BIN: true when the unit suite BIN opens a store (its source
# tests/<name>.c calls store_open): the suites the PostgreSQL pass runs.
uses_store() {
	grep -q 'store_open' "$here/$(basename "$1").c" 2>/dev/null
}

# run_units STORE BIN...: runs each unit binary (STORE pg: only those that
# use a store), adding to passed, failed and failures.
run_units() {
	store=$1
	shift
	for bin in "$@"; do
		name=$(basename "$bin")
		if [ "$store" = pg ]; then
			uses_store "$bin" || continue
			name="pg:$name"
		fi
		out=$("$bin" 2>&1)
		rc=$?
		printf '%s\n' "$out" | sed "s|^|[$name] |"
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
			failures="$failures $name($(why_exit $rc))"
		fi
	done
}

# run_scripts STORE: runs every integration script (matching TESTS),
# adding to passed, failed and failures.  Each script's API answers are
# recorded (tests/lib.sh) in one file a store, which test_openapi.sh, run
# last, validates against docs/openapi.json.
run_scripts() {
	pre=""
	[ "$1" = pg ] && pre="pg:"
	OTAD_RECORD=$(mktemp)
	export OTAD_RECORD
	for t in "$idir"/test_*.sh; do
		[ -e "$t" ] || continue
		[ "$(basename "$t")" = test_openapi.sh ] || run_script "$t"
	done
	[ ! -e "$idir/test_openapi.sh" ] || run_script "$idir/test_openapi.sh"
	rm -f "$OTAD_RECORD"
	unset OTAD_RECORD
}

# run_script PATH: runs one integration script (when it matches TESTS)
# with the prefix pre, adding to passed, failed and failures.
run_script() {
	t=$1
	name=$(basename "$t")
	case "$name" in *"${TESTS:-}"*) ;; *) return 0 ;; esac
	res=$(mktemp)
	st=$(mktemp)
	# The script's own status goes through a file: a pipeline's
	# status is its last command's (sed), never the script's.
	{
		RESULT_FILE="$res" timeout -k 10 "$limit" sh "$t" 2>&1
		echo $? >"$st"
	} | sed "s|^|[$pre$(basename "$t" .sh)] |"
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
		failures="$failures $pre$name${why:+($why)}"
	fi
	rm -f "$res" "$st"
}

# run_store STORE BIN...: the unit suites and the scripts on STORE, and
# how long they took (the whole run must stay within its time budget).
run_store() {
	t0=$(date +%s)
	[ -n "${INTEGRATION_ONLY:-}" ] || run_units "$@"
	[ -n "${UNIT_ONLY:-}" ] || run_scripts "$1"
	echo "run.sh: the $1 pass took $(($(date +%s) - t0)) s"
}

# pg_wanted BIN...: true when the PostgreSQL pass has anything to run.
pg_wanted() {
	[ -z "${UNIT_ONLY:-}" ] && return 0
	[ -n "${INTEGRATION_ONLY:-}" ] && return 1
	for bin in "$@"; do
		uses_store "$bin" && return 0
	done
	return 1
}

stores=${STORES:-both}
case "$stores" in
sqlite | pg | both) ;;
*) echo "run.sh: STORES must be sqlite, pg or both, not '$stores'" >&2; exit 2 ;;
esac
ext_pg=${OTAD_TEST_PG:-}
unset OTAD_TEST_PG

# The SQLite pass runs in the background while the PostgreSQL pass runs
# (each script has its own directory, server and ports, so the two do not
# meet; lines stay prefixed with their script's name), unless SERIAL=1 or
# only one store runs.  Its counts come back through a file.
sq_res=""
sq_pid=""
if [ "$stores" != pg ]; then
	if [ "$stores" = both ] && [ -z "${SERIAL:-}" ] && pg_wanted "$@"; then
		sq_res=$(mktemp)
		(
			passed=0 failed=0 failures=""
			run_store sqlite "$@"
			printf '%s %s%s\n' "$passed" "$failed" "$failures" >"$sq_res"
		) &
		sq_pid=$!
	else
		run_store sqlite "$@"
	fi
fi

# sqlite_stop: ends a background SQLite pass still running (an interrupted
# run); the script it runs ends within its own time limit.
sqlite_stop() {
	[ -z "$sq_pid" ] || kill "$sq_pid" 2>/dev/null
	[ -z "$sq_res" ] || rm -f "$sq_res"
}

# sqlite_join: waits for a background SQLite pass and adds its counts; a
# pass that died without its counts fails the run.
sqlite_join() {
	[ -n "$sq_pid" ] || return 0
	wait "$sq_pid"
	sq_pid=""
	read -r sp sf sfail <"$sq_res" 2>/dev/null
	rm -f "$sq_res"
	if [ -z "${sp:-}" ] || [ -z "${sf:-}" ]; then
		failed=$((failed + 1))
		failures="$failures sqlite(pass ended without its counts)"
		return 0
	fi
	passed=$((passed + sp))
	failed=$((failed + sf))
	failures="$failures${sfail:+ $sfail}"
}

if [ "$stores" != sqlite ] && pg_wanted "$@"; then
	if [ -n "$ext_pg" ]; then
		OTAD_TEST_PG=$ext_pg
		export OTAD_TEST_PG
		run_store pg "$@"
	else
		. "$here/ports.sh"
		. "$here/pg.sh"
		# No test kills PostgreSQL or the machine: see pg.sh.
		PG_FSYNC=off
		trap 'pg_stop; sqlite_stop' EXIT
		trap 'exit 130' INT
		trap 'exit 143' TERM
		if pg_start; then
			run_store pg "$@"
		else
			failed=$((failed + 1))
			failures="$failures pg:cluster(did not start)"
		fi
		pg_stop
	fi
fi

sqlite_join
[ -z "$failures" ] || echo "failing:$failures"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
