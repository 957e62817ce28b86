#!/bin/sh
# reports.sh: does otad record every poll report of a large fleet?  Issue
# 13's target: no report dropped at a sustained 10,000 polls/s from
# distinct devices of a 1M fleet, and every device's first poll after a
# restart recorded within a minute.  `make bench BENCH=reports` builds the
# release binaries first.
#
#   1. otad (release build) on random ports, a fresh temp data dir,
#      log_level=warn; BENCH_REPORTS_DEVICES devices (default 1,000,000)
#      in 100 groups provisioned through the API (bench/lib.sh), and the
#      three overlapping rollouts of bench/polls.sh (some polls answered
#      with an offer, which is a report too);
#   2. paced: wrk (bench/reports.lua) polls distinct devices at
#      BENCH_REPORTS_RATE polls/s (10,000) for BENCH_REPORTS_DURATION s
#      (60), each device once; then, once otad's buffer is empty, the
#      dropped count of /metrics must be 0 and every polled device's
#      last_seen_at written (counted in the database);
#   3. the burst: otad restarted (its memory of recent reports is empty),
#      every device polls once as fast as wrk can; the database is counted
#      every 2 s until every device's last_seen_at is at or after the
#      restart: that must happen within 60 s of the burst's end;
#   4. the figures (rates, dropped, time until all recorded, peak RSS, the
#      writer's flushes from /metrics) and PASS/MISS lines.
#
# BENCH_STORES (bench/lib.sh's stores_list): "sqlite" and/or "pg" (the
# tests' private PostgreSQL cluster, one otad); default sqlite only: each
# store provisions its own fleet.
# Exit status: 0 when everything ran (a MISS is not a failure), 1 when a
# step failed.
set -u

BENCH_DIR=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$BENCH_DIR/.." && pwd)
OTAD_BIN=${OTAD_BIN:-$ROOT/build/release/otad}
OTACTL_BIN=${OTACTL_BIN:-$ROOT/build/release/otactl}
WRK_BIN=${WRK_BIN:-wrk}
CORES=$(nproc)
NDEV=${BENCH_REPORTS_DEVICES:-1000000}
NGROUPS=100
BATCH=10000
RATE=${BENCH_REPORTS_RATE:-10000}
PACED_S=${BENCH_REPORTS_DURATION:-60}
CONNS=${BENCH_REPORTS_CONNECTIONS:-64}
WRK_THREADS=${BENCH_WRK_THREADS:-$CORES}
STORES=${BENCH_STORES:-sqlite}
# Targets of issue 13.
TARGET_RATE=$RATE
TARGET_BURST_S=60

T=$(mktemp -d /tmp/otad-bench.XXXXXX) || exit 1
. "$BENCH_DIR/lib.sh"

need "make; tools/install-deps.sh bench" "$OTAD_BIN" "$OTACTL_BIN" -- \
    "$WRK_BIN" curl jq openssl sqlite3
[ "$NDEV" -ge "$NGROUPS" ] || die "BENCH_REPORTS_DEVICES >= $NGROUPS"
[ $((RATE * PACED_S)) -le "$NDEV" ] ||
    die "BENCH_REPORTS_RATE x BENCH_REPORTS_DURATION must not exceed" \
    "the devices (each is polled once)"

BUSY_BEFORE=$(machine_check)
say "machine CPU busy before the run: $(fmt "$BUSY_BEFORE")%"
: >"$T/results"

# metric NAME [LABELS]: one sample of otad's /metrics (the viewer token),
# "" when absent.
metric() { metric_at "$T/viewer.hdr" "$PLAIN" "$@"; }

# writer_cpu: CPU seconds otad's writer of poll reports (the thread named
# otad-seen) used so far.
writer_cpu() {
	for t in /proc/"$OTAD_PID"/task/*; do
		[ "$(cat "$t/comm" 2>/dev/null)" = otad-seen ] || continue
		sed 's/^.*) //' "$t/stat" |
		    awk -v hz="$CLK_TCK" '{ printf "%.2f", ($12 + $13) / hz }'
	done
}

# count_seen SINCE: devices whose last_seen_at is at or after SINCE (RFC
# 3339), read from otad's database (device_seen, migration 0021).
count_seen() {
	if [ -n "${OTAD_DATABASE:-}" ]; then
		psql -X -A -t -q "$OTAD_DATABASE" -c "SELECT count(*) FROM \
		    device_seen WHERE last_seen_at >= '$1'" 2>>"$T/count.err"
	else
		sqlite3 -cmd ".timeout 5000" "$DATA/otad.db" "SELECT count(*) \
		    FROM device_seen WHERE last_seen_at >= '$1'" 2>>"$T/count.err"
	fi
}

# wait_pending SECONDS: until otad's buffer of poll reports is empty.
wait_pending() {
	i=0
	while [ "$(metric otad_poll_reports_pending)" != 0 ]; do
		[ $i -lt $(($1 * 10)) ] || return 1
		sleep 0.1
		i=$((i + 1))
	done
}

# rfc3339 [EPOCH]: UTC time as otad writes it.
rfc3339() { date -u -d "@${1:-$(date +%s)}" +%Y-%m-%dT%H:%M:%SZ; }

# tokens_make: admin, release and viewer tokens of the running otad's store.
tokens_make() {
	ADMIN=$(token admin) && [ -n "$ADMIN" ] || exit 1
	REL=$(token release) && [ -n "$REL" ] || exit 1
	VIEWER=$(token viewer) && [ -n "$VIEWER" ] || exit 1
	(umask 077 &&
	    printf 'Authorization: Bearer %s\n' "$ADMIN" >"$T/admin.hdr" &&
	    printf 'Authorization: Bearer %s\n' "$REL" >"$T/release.hdr" &&
	    printf 'Authorization: Bearer %s\n' "$VIEWER" >"$T/viewer.hdr") ||
	    exit 1
}

# store_run NAME: the whole scenario on the store otad is configured for
# (OTAD_DATABASE set: PostgreSQL); figures under NAME.
store_run() {
	mkdir -p "$T/img" "$T/prov" || exit 1
	otad_start "$CORES"
	tokens_make
	provision_groups
	: >"$T/devices"
	provision_curl
	put "$1.prov_s" "$(get prov.devices_s)"
	[ "$(wc -l <"$T/devices")" = "$NDEV" ] || die "not $NDEV tokens"
	rollouts_overlapping
	wait_pending 30 || die "the provisioning's reports were not written"
	export BENCH_DEVICES="$T/devices" BENCH_WRK_THREADS="$WRK_THREADS"
	WRK_SCRIPT="$BENCH_DIR/reports.lua"

	# 2. paced: distinct devices at RATE polls/s.
	d0=$(metric otad_poll_reports_total 'outcome="dropped"')
	since=$(rfc3339)
	sleep 1
	say "paced: $RATE polls/s for ${PACED_S}s, distinct devices"
	DURATION=$PACED_S
	BENCH_RATE=$RATE wrk_run "$1.paced" "$PLAIN/api/v1/devices/" ||
	    die "the paced run failed"
	put "$1.paced.hwm_kib" "$(vm_hwm "$OTAD_PID")"
	t=$(now_ns)
	wait_pending 120 || die "otad's buffer did not empty in 120 s"
	put "$1.paced.drain_s" "$(calc "($(now_ns) - $t) / 1e9")"
	d1=$(metric otad_poll_reports_total 'outcome="dropped"')
	[ -n "$d0" ] && [ -n "$d1" ] || die "no dropped count in /metrics"
	put "$1.paced.dropped" $((d1 - d0))
	put "$1.paced.seen" "$(count_seen "$since")"
	flush_figures "$1.paced"

	# 3. the burst after a restart.
	otad_stop
	otad_start "$CORES"
	sleep 1
	restart=$(rfc3339 $(($(date +%s) + 1)))
	sleep 1.2
	say "burst: every device polls once, as fast as possible"
	DURATION=600
	rm -rf "$T/done" && mkdir "$T/done" || exit 1
	t0=$(now_ns)
	BENCH_ONCE=1 BENCH_DONE_DIR="$T/done" \
	    wrk_run "$1.burst" "$PLAIN/api/v1/devices/" &
	wpid=$!
	# Counted every 2 s until all are recorded (or 120 s after the end).
	all=""
	end=""
	while :; do
		sleep 2
		now=$(now_ns)
		if [ -z "$end" ] && [ "$(ls "$T/done" | wc -l)" -ge \
		    "$WRK_THREADS" ]; then
			# Every thread is done: wrk (wrk_run's child) prints
			# its figures on SIGINT.
			end=$now
			for p in $(ps -o pid= --ppid "$wpid"); do
				kill -INT "$p" 2>/dev/null
			done
		fi
		if [ -z "$end" ] && ! kill -0 "$wpid" 2>/dev/null; then
			end=$now
		fi
		c=$(count_seen "$restart")
		put "$1.burst.count.$(calc "($now - $t0) / 1e9" | cut -d. -f1)" \
		    "${c:-0}"
		if [ "${c:-0}" -ge "$NDEV" ]; then
			all=$now
			break
		fi
		[ -n "$end" ] && [ $((now - end)) -gt 120000000000 ] && break
	done
	wait "$wpid" || die "the burst's wrk failed"
	[ -n "$end" ] || end=$(now_ns)
	put "$1.burst.hwm_kib" "$(vm_hwm "$OTAD_PID")"
	put "$1.burst.s" "$(calc "($end - $t0) / 1e9")"
	put "$1.burst.recorded" "$(count_seen "$restart")"
	if [ -n "$all" ]; then
		put "$1.burst.all_s" "$(calc "($all - $t0) / 1e9")"
		put "$1.burst.after_end_s" "$(calc "($all - $end) / 1e9")"
	fi
	put "$1.burst.dropped" "$(metric otad_poll_reports_total \
	    'outcome="dropped"')"
	flush_figures "$1.burst"
	otad_stop
	rm -rf "$T/img" "$T/prov"
}

# flush_figures KEY: the writer's figures from /metrics (absent on a build
# without them) and its CPU time (since otad started).
flush_figures() {
	put "$1.writer_cpu" "$(writer_cpu)"
	put "$1.flushes" "$(metric otad_poll_report_flushes_total)"
	put "$1.flush_s" "$(metric otad_poll_report_flush_seconds_total)"
	put "$1.flush_max_s" "$(metric otad_poll_report_flush_seconds_max)"
	put "$1.flush_rows" "$(metric otad_poll_report_flush_reports_max)"
	put "$1.buf_peak" "$(metric otad_poll_reports_buffer_peak_bytes)"
	put "$1.written" "$(metric otad_poll_reports_total \
	    'outcome="written"')"
}

for st in $STORES; do
	case $st in
	sqlite)
		unset OTAD_DATABASE
		otad_setup "$T/var-sqlite"
		;;
	pg)
		[ "$PG_STARTED" = 1 ] || pg_bench_start
		OTAD_DATABASE=$(pg_bench_db bench_reports) || exit 1
		export OTAD_DATABASE
		otad_setup "$T/var-pg"
		;;
	*) die "BENCH_STORES: sqlite or pg, not '$st'" ;;
	esac
	store_run "$st"
done

# ---- figures ------------------------------------------------------------------

# writer_lines KEY: the writer's figures of one phase (from /metrics and
# the otad-seen thread's CPU), two lines.
writer_lines() {
	echo "    writer: flushes $(get "$1.flushes")," \
	    "$(fmt "$(get "$1.flush_s")" 2) s writing in all," \
	    "longest $(fmt "$(get "$1.flush_max_s")" 3) s," \
	    "most rows $(get "$1.flush_rows");" \
	    "buffer peak $(fmt "$(get "$1.buf_peak") / 1048576" 1) MiB;" \
	    "otad VmHWM $(fmt "$(get "$1.hwm_kib") / 1024") MiB"
	echo "    writer CPU: $(get "$1.writer_cpu") s for" \
	    "$(get "$1.written") reports =" \
	    "$(fmt "$(calc "$(get "$1.writer_cpu") * 1e6 / \
	    ($(get "$1.written") + 1e-9)")") us/report"
}

echo
echo "otad poll reports: $CORES cores ($(awk -F': ' '/^model name/ {
    print $2; exit }' /proc/cpuinfo)), loopback, plain HTTP, $NDEV devices"
echo "machine CPU busy before the run (other processes): $(fmt "$BUSY_BEFORE")%"
for st in $STORES; do
	echo
	echo "store: $st"
	p=$(get "$st.paced.w_requests")
	ds=$(calc "$(get "$st.paced.w_duration_us") / 1e6")
	rate=$(calc "$p / $ds")
	echo "  provisioning: $(fmt "$(get "$st.prov_s")" 1) s" \
	    "($(fmt "$(calc "$NDEV / $(get "$st.prov_s")")" 0) devices/s)"
	echo "  paced: $p polls in $(fmt "$ds") s = $(fmt "$rate" 0)/s" \
	    "(p99 $(fmt "$(get "$st.paced.p99_ms")" 2) ms," \
	    "CPU $(fmt "$(calc "$(get "$st.paced.cpu") * 1e6 / $p")") us/poll);" \
	    "dropped $(get "$st.paced.dropped");" \
	    "last_seen_at written for $(get "$st.paced.seen");" \
	    "buffer empty $(fmt "$(get "$st.paced.drain_s")" 2) s after the run"
	writer_lines "$st.paced"
	b=$(get "$st.burst.w_requests")
	bs=$(calc "$(get "$st.burst.w_duration_us") / 1e6")
	echo "  burst: $b polls in $(fmt "$bs") s =" \
	    "$(fmt "$(calc "$b / $bs")" 0)/s; recorded" \
	    "$(get "$st.burst.recorded") of $NDEV;" \
	    "all recorded $(fmt "$(get "$st.burst.all_s")") s after the start," \
	    "$(fmt "$(get "$st.burst.after_end_s")") s after the end;" \
	    "dropped $(get "$st.burst.dropped")"
	writer_lines "$st.burst"
	echo "    recorded over time (s: devices):" "$(awk -v k="$st.burst.count." \
	    'index($1, k) == 1 { printf "%s:%s ", substr($1, length(k) + 1), $2 }' \
	    "$T/results")"
done
echo
echo "targets (issue 13)"
for st in $STORES; do
	p=$(get "$st.paced.w_requests")
	rate=$(calc "$p / ($(get "$st.paced.w_duration_us") / 1e6)")
	ok=0
	ge "$rate" "$(calc "$TARGET_RATE * 0.95")" && ok=1
	target $ok "$st: sustained $TARGET_RATE polls/s of distinct devices" \
	    "$(fmt "$rate" 0)/s"
	ok=0
	[ "$(get "$st.paced.dropped")" = 0 ] && ok=1
	target $ok "$st: no report dropped at that rate" \
	    "$(get "$st.paced.dropped") dropped"
	ok=0
	[ "$(get "$st.paced.seen")" -ge "$p" ] 2>/dev/null && ok=1
	target $ok "$st: every polled device's last_seen_at written" \
	    "$(get "$st.paced.seen") of $p polls"
	ok=0
	a=$(get "$st.burst.after_end_s")
	[ -n "$a" ] && ge "$TARGET_BURST_S" "$a" &&
	    [ "$(get "$st.burst.recorded")" = "$NDEV" ] && ok=1
	target $ok "$st: burst after a restart all recorded within" \
	    "${TARGET_BURST_S}s of its end" "${a:-never} s"
done
awk '$1 ~ /\.why$/ { print $1, $2 }' "$T/results" | while read -r k why; do
	echo "FAILED: ${k%.why}: $why"
done
if grep -q . "$T/otad.log" 2>/dev/null; then
	echo
	echo "otad log, messages by count, numbers as N:"
	sed -e 's/^ts=[^ ]* //' -e 's/=[0-9][0-9]*/=N/g' "$T/otad.log" |
	    sort | uniq -c | sort -rn | head -n 10 | cut -c1-150 |
	    sed 's/^/  /'
fi
[ "$FAILED" = 0 ] || exit 1
exit 0
