#!/bin/sh
# provision.sh: how fast otad provisions a fleet through the API, on
# SQLite and then on PostgreSQL (tests/pg.sh's private cluster, fsync
# on), as bench/polls.sh does it: BENCH_PROV_GROUPS groups, then
# BENCH_PROV_DEVICES devices in POSTs of BENCH_PROV_BATCH
# (POST /api/v1/devices with curl, bench/lib.sh's provision_curl).
# Prints devices/s over the whole run and over the first and last tenth
# of the POSTs, otad's CPU seconds and peak RSS.  BENCH_STORES ("sqlite",
# "pg" or both: bench/lib.sh's stores_list) picks the stores;
# BENCH_PERF=DIR profiles each run (otad, and PostgreSQL's processes on
# pg) with bench/lib.sh's perf_start into DIR/perf-provision-STORE.txt.
#
# Exit status: 0 when everything ran, 1 when a step failed.
set -u

BENCH_DIR=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$BENCH_DIR/.." && pwd)
OTAD_BIN=${OTAD_BIN:-$ROOT/build/release/otad}
OTACTL_BIN=${OTACTL_BIN:-$ROOT/build/release/otactl}
CORES=$(nproc)
NDEV=${BENCH_PROV_DEVICES:-1000000}
NGROUPS=${BENCH_PROV_GROUPS:-100}
BATCH=${BENCH_PROV_BATCH:-10000}

T=$(mktemp -d /tmp/otad-bench.XXXXXX) || exit 1
. "$BENCH_DIR/lib.sh"

need "make; tools/install-deps.sh bench" "$OTAD_BIN" "$OTACTL_BIN" -- \
    curl jq
[ "$NDEV" -ge "$NGROUPS" ] && [ "$NGROUPS" -ge 1 ] &&
    [ "$BATCH" -ge 1 ] && [ "$BATCH" -le 10000 ] ||
    die "need BENCH_PROV_DEVICES >= BENCH_PROV_GROUPS >= 1 and" \
    "1 <= BENCH_PROV_BATCH <= 10000"
mkdir -p "$T/prov" || exit 1
: >"$T/results"
say "machine CPU busy before the run: $(fmt "$(machine_check)")%"

# rate FIRST LAST: devices/s over the POSTs FIRST..LAST (prov.batch.K).
rate() {
	s=0
	k=$1
	while [ "$k" -le "$2" ]; do
		s=$(calc "$s + $(get "prov.batch.$k")")
		k=$((k + 1))
	done
	calc "($2 - $1 + 1) * $BATCH / $s"
}

# run_store NAME: one otad on the store set up by the caller, the fleet
# provisioned through it, the figures printed.
run_store() {
	otad_start "$CORES"
	ADMIN=$(token admin) && [ -n "$ADMIN" ] || exit 1
	(umask 077 &&
	    printf 'Authorization: Bearer %s\n' "$ADMIN" >"$T/admin.hdr") ||
	    exit 1
	provision_groups
	: >"$T/devices"
	[ "$1" = pg ] && SERVER_PIDS="$OTAD_PID $(pg_server_pids)"
	BENCH_PERF_RUNS=. perf_start "provision-$1"
	cpu_snap "$OTAD_PID" >"$T/cpu0"
	DB_PIDS=
	[ "$1" = pg ] && DB_PIDS=$(pg_server_pids)
	cpu_snap $DB_PIDS >"$T/db0"
	provision_curl
	cpu_snap "$OTAD_PID" >"$T/cpu1"
	cpu_snap $DB_PIDS >"$T/db1"
	perf_stop "provision-$1"
	[ "$(wc -l <"$T/devices")" = "$NDEV" ] || die "not $NDEV tokens"
	tenth=$(((BATCHES + 9) / 10))
	secs=$(get prov.devices_s)
	say "$1: $NDEV devices in $(fmt "$secs" 2) s:" \
	    "$(fmt "$(calc "$NDEV / $secs")" 0) devices/s;" \
	    "first tenth $(fmt "$(rate 0 $((tenth - 1)))" 0)/s," \
	    "last tenth $(fmt "$(rate $((BATCHES - tenth)) $((BATCHES - 1)))" 0)/s;" \
	    "otad CPU s (threads) $(cpu_delta "$T/cpu0" "$T/cpu1");" \
	    "database processes CPU s $(cpu_delta "$T/db0" "$T/db1");" \
	    "peak RSS $(($(vm_hwm "$OTAD_PID") / 1024)) MiB"
	say "$1: $PROV_DETAIL"
	otad_stop
}

if store_wanted sqlite; then
	otad_setup "$T/var"
	run_store sqlite
fi
if store_wanted pg; then
	pg_bench_start
	OTAD_DATABASE=$(pg_bench_db bench_provision) || exit 1
	export OTAD_DATABASE
	otad_setup "$T/var-pg"
	run_store pg
	unset OTAD_DATABASE
fi
