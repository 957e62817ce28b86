#!/bin/sh
# events.sh: how many update events per second otad ingests and keeps,
# over REST (batches) and over MQTT QoS 1 through a local Mosquitto, on
# this machine, over loopback, and whether every acknowledged event is in
# the database.  See bench/README.md.  `make bench` builds the release
# binaries and bench/mqtt_load first.
#
#   1. Mosquitto (its own config in the temp dir) and otad (release build)
#      on random ports, HTTPS + plain HTTP, a fresh data dir,
#      log_level=warn, configured for the broker; admin and release tokens;
#   2. a fleet of BENCH_EVENTS_DEVICES devices in one group, provisioned
#      through the API; a signed image; a rollout to the group at 100 %;
#   3. REST: wrk (bench/events.lua) POSTs batches of BENCH_EVENTS_BATCH
#      events to /api/v1/devices/{id}/events, each request a different
#      device with its own token, over HTTP and HTTPS, once per
#      http_threads value in BENCH_THREADS; every acknowledged request is
#      written down;
#   4. MQTT: bench/mqtt_load publishes BENCH_MQTT_EVENTS events with QoS 1
#      to otad/devices/<id>/events and waits for every PUBACK, while the
#      rows otad stored are counted until all are there;
#   5. otad stops; sqlite3 looks for every acknowledged event in the
#      database (zero loss);
#   6. the stores (BENCH_STORES, see bench/lib.sh's stores_list): the
#      same fleet on PostgreSQL (tests/pg.sh's private cluster), REST over
#      HTTP through one otad, then through two otad on that one database
#      (two wrk at once, one per node), checked for zero loss with psql;
#   7. the figures, and a PASS/MISS line per target of issues 4 and 12.
#
# Exit status: 0 when everything ran (whatever the figures; a MISS is not a
# failure), 1 when a step failed (a server did not start, a request was
# refused, wrk or the load client failed).
set -u

BENCH_DIR=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$BENCH_DIR/.." && pwd)
OTAD_BIN=${OTAD_BIN:-$ROOT/build/release/otad}
OTACTL_BIN=${OTACTL_BIN:-$ROOT/build/release/otactl}
LOAD_BIN=${MQTT_LOAD_BIN:-$ROOT/build/release/bench/mqtt_load}
MOSQUITTO_BIN=${MOSQUITTO_BIN:-/usr/sbin/mosquitto}
WRK_BIN=${WRK_BIN:-wrk}
CORES=$(nproc)
NDEV=${BENCH_EVENTS_DEVICES:-10000}
EV_BATCH=${BENCH_EVENTS_BATCH:-100}
DURATION=${BENCH_EVENTS_DURATION:-15}
WARMUP=${BENCH_EVENTS_WARMUP:-3}
CONNS=${BENCH_EVENTS_CONNECTIONS:-64}
WRK_THREADS=${BENCH_WRK_THREADS:-$CORES}
THREADS_LIST=${BENCH_THREADS:-"$CORES $((CORES * 2))"}
MQTT_EVENTS=${BENCH_MQTT_EVENTS:-200000}
MQTT_PER_MSG=${BENCH_MQTT_PER_MESSAGE:-1}
MQTT_CONNS=${BENCH_MQTT_CONNECTIONS:-4}
MQTT_WINDOW=${BENCH_MQTT_WINDOW:-1000}
# Without a new row for this long (and the load client done), the MQTT
# run stops waiting: the missing events are lost.
MQTT_STALL_SEC=${BENCH_MQTT_STALL_SEC:-20}
# Targets of issue 4.
TARGET_REST=50000
TARGET_MQTT=10000
# Target of issue 12: REST events on PostgreSQL.
TARGET_PG_REST=30000
# Fixed: one group, devices provisioned in POSTs of 10,000.
NGROUPS=1
BATCH=10000

T=$(mktemp -d /tmp/otad-bench.XXXXXX) || exit 1
. "$BENCH_DIR/lib.sh"

need "make bench builds it; tools/install-deps.sh bench" "$OTAD_BIN" \
    "$OTACTL_BIN" "$LOAD_BIN" "$MOSQUITTO_BIN" -- "$WRK_BIN" curl jq \
    openssl ss sqlite3
[ "$NDEV" -ge 1 ] && [ "$EV_BATCH" -ge 1 ] && [ "$EV_BATCH" -le 1000 ] &&
    [ "$MQTT_EVENTS" -ge 1 ] && [ "$MQTT_PER_MSG" -ge 1 ] &&
    [ "$MQTT_PER_MSG" -le 1000 ] ||
    die "need BENCH_EVENTS_DEVICES >= 1, 1 <= BENCH_EVENTS_BATCH <= 1000," \
    "BENCH_MQTT_EVENTS >= 1, 1 <= BENCH_MQTT_PER_MESSAGE <= 1000"

BUSY_BEFORE=$(machine_check)
say "machine CPU busy before the run: $(fmt "$BUSY_BEFORE")%"
mkdir -p "$T/img" "$T/prov" "$T/acked" "$T/mosquitto" || exit 1
: >"$T/results"

# ---- 1. Mosquitto and otad ----------------------------------------------

# The broker: Debian's mosquitto with its defaults but for the queue of
# messages waiting for a slow subscriber.  Its default (1000 per client)
# would make the broker drop what otad has not taken yet when the load
# client publishes faster than otad reads: a broker setting, not otad's
# loss.  Here the queue can hold the whole run; drops, if any, are logged
# by mosquitto and counted below.  The log shows when otad has connected
# and subscribed.
MQTT_PORT=$(random_port)
MQTT_QUEUE=$((MQTT_EVENTS / MQTT_PER_MSG + 1000))
{
	echo "listener $MQTT_PORT 127.0.0.1"
	echo "allow_anonymous true"
	echo "persistence false"
	echo "max_queued_messages $MQTT_QUEUE"
	# Mosquitto started as root drops to the mosquitto user, which
	# cannot write to the 0700 temp dir.
	[ "$(id -u)" = 0 ] && echo "user root"
	echo "log_dest file $T/mosquitto/mosquitto.log"
	for t in error warning notice information subscribe; do
		echo "log_type $t"
	done
} >"$T/mosquitto/mosquitto.conf"
say "starting mosquitto ($("$MOSQUITTO_BIN" -h 2>&1 | head -n 1 |
    sed 's/.*version //')) on 127.0.0.1:$MQTT_PORT"
"$MOSQUITTO_BIN" -c "$T/mosquitto/mosquitto.conf" \
    >"$T/mosquitto/stdout.log" 2>&1 &
MOSQ_PID=$!
i=0
until ss -Hltn "sport = :$MQTT_PORT" 2>/dev/null | grep -q .; do
	kill -0 "$MOSQ_PID" 2>/dev/null && [ $i -lt 100 ] || {
		cat "$T/mosquitto/stdout.log" "$T/mosquitto/mosquitto.log" \
		    2>/dev/null | sed 's/^/    mosquitto: /' >&2
		die "mosquitto did not start"
	}
	sleep 0.1
	i=$((i + 1))
done

otad_setup
export OTAD_MQTT_HOST=127.0.0.1
export OTAD_MQTT_PORT="$MQTT_PORT"

# mqtt_ready: waits (10 s at most) until mosquitto's log shows a new
# connection of otad (client id "otad", the default) and otad's
# subscription to the events topic.  After a restart otad's persistent
# session keeps the subscription: the broker queues for it even before it
# subscribes again.
CONNECTS_SEEN=0
mqtt_ready() {
	i=0
	while [ $i -lt 100 ]; do
		n=$(grep -c ' as otad ' "$T/mosquitto/mosquitto.log" 2>/dev/null)
		if [ "${n:-0}" -gt "$CONNECTS_SEEN" ] &&
		    grep -q ' otad/devices/+/events$' \
		    "$T/mosquitto/mosquitto.log" 2>/dev/null; then
			CONNECTS_SEEN=$n
			return 0
		fi
		sleep 0.1
		i=$((i + 1))
	done
	sed 's/^/    otad: /' "$T/otad.log" >&2
	sed 's/^/    mosquitto: /' "$T/mosquitto/mosquitto.log" >&2
	die "otad did not connect to the broker and subscribe to" \
	    "otad/devices/+/events"
}

set -- $THREADS_LIST
otad_start "$1"
[ -f "$CERT" ] || die "otad wrote no dev certificate"
mqtt_ready

# tokens_make: admin, release and viewer tokens of the running otad's
# store, in $T/*.hdr.
tokens_make() {
	ADMIN=$(token admin) && [ -n "$ADMIN" ] || exit 1
	REL=$(token release) && [ -n "$REL" ] || exit 1
	VIEWER=$(token viewer) && [ -n "$VIEWER" ] || exit 1
	# Tokens go to curl through files, never on a command line.
	(umask 077 &&
	    printf 'Authorization: Bearer %s\n' "$ADMIN" >"$T/admin.hdr" &&
	    printf 'Authorization: Bearer %s\n' "$REL" >"$T/release.hdr" &&
	    printf 'Authorization: Bearer %s\n' "$VIEWER" >"$T/viewer.hdr") ||
	    exit 1
	# wrk_run would send it to otad with every request (bench/wrk.lua);
	# events.lua sends each device's own token instead.
	unset VIEWER
}
tokens_make

# metrics_snap FILE: otad's GET /metrics (viewer token) into FILE.
metrics_snap() {
	curl -sS --cacert "$CERT" -H "@$T/viewer.hdr" -o "$1" \
	    "$BASE/metrics" 2>/dev/null || : >"$1"
}

# metric_delta BEFORE AFTER NAME [FILTER]: how much the samples of the
# counter NAME whose labels contain FILTER grew between two snapshots.
metric_delta() {
	awk -v n="$3" -v f="${4:-}" '
	    /^#/ { next }
	    $1 == n || index($1, n "{") == 1 {
		if (f == "" || index($1, f)) s[FILENAME] += $NF }
	    END { printf "%.0f", s[ARGV[2]] - s[ARGV[1]] }' "$1" "$2"
}

# ---- 2. fleet, image, rollout ---------------------------------------------

# fleet_build: the group, the devices ($T/devices), the image and the
# rollout at 100 % (ROLLOUT, VERSION), and one event over REST, checked by
# hand, before any load.
fleet_build() {
	provision_groups
	: >"$T/devices"
	provision_curl
	say "  $(fmt "$(get prov.devices_s)" 2) s"
	rm -f "$T/tokens"
	[ "$(wc -l <"$T/devices")" = "$NDEV" ] || die "not $NDEV tokens"
	IMAGE=$(release_image bench-fw 1.1.0) || exit 1
	ROLLOUT=$(rollout_running "$IMAGE" bench-1.1.0 0 0 100) || exit 1
	VERSION=1.1.0
	say "rollout $ROLLOUT: bench-fw $VERSION to g0 at 100 %"
	printf '{"event_id":"probe-1","rollout":%s,"version":"%s","state":"started","ts":"%s"}' \
	    "$ROLLOUT" "$VERSION" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
	    >"$T/probe.json"
	set -- $(head -n 1 "$T/devices")
	(umask 077 &&
	    printf 'Authorization: Bearer %s\n' "$2" >"$T/device.hdr") || exit 1
	api_ok 200 device POST "/api/v1/devices/$1/events" "$T/probe.json"
	jq -e '.accepted == 1' "$T/api.json" >/dev/null ||
	    die "the probe event was not accepted: $(head -c 400 "$T/api.json")"
}
fleet_build
put sq.devices_s "$(get prov.devices_s)"

# ---- 3. REST under wrk --------------------------------------------------

export BENCH_DEVICES="$T/devices"
export BENCH_WRK_THREADS="$WRK_THREADS"
export BENCH_ROLLOUT="$ROLLOUT" BENCH_VERSION="$VERSION"
export BENCH_BATCH="$EV_BATCH"
WRK_SCRIPT="$BENCH_DIR/events.lua"
SCENARIOS="http https"
RUNS=""

# rest_run KEY TAG URL: one wrk run; its acknowledged requests go to
# $T/acked/KEY (one line per 200: "REQUEST DEVICE ACCEPTED DUPLICATES
# REJECTED"), checked against otad's answers counted by events.lua.
rest_run() {
	export BENCH_TAG="$2" BENCH_ACKED="$T/acked/$1"
	RUNS="$RUNS $1"
	put "$1.tag" "$2"
	metrics_snap "$T/metrics.before"
	wrk_run "$1" "$3" || return 1
	metrics_snap "$T/metrics.after"
	put "$1.m_events" "$(metric_delta "$T/metrics.before" \
	    "$T/metrics.after" otad_events_total 'transport="rest"')"
	put "$1.m_commits" "$(metric_delta "$T/metrics.before" \
	    "$T/metrics.after" otad_events_commits_total)"
	rest_acked "$1" || return 1
	say "  events accepted $(get "$1.w_accepted"), duplicates" \
	    "$(get "$1.w_duplicates"), rejected $(get "$1.w_rejected")"
	put "$1.eps" "$(calc "$(get "$1.w_accepted") / \
	    ($(get "$1.w_duration_us") / 1e6)")"
}

# rest_acked KEY: gathers the acknowledged requests of run KEY (written
# per wrk thread) into $T/acked/KEY; false unless there is one line per
# answer 200 and every answer was readable.
rest_acked() {
	cat "$T/acked/$1".* >"$T/acked/$1" 2>/dev/null
	rm -f "$T/acked/$1".*
	lines=$(wc -l <"$T/acked/$1")
	s200=$(get "$1.w_s200")
	unparsed=$(get "$1.w_unparsed")
	put "$1.acked_requests" "$lines"
	if [ "$unparsed" != 0 ] || [ "$lines" != "$s200" ]; then
		say "  $s200 answers 200, $lines written down, $unparsed" \
		    "unreadable"
		put "$1.ok" 0
		put "$1.why" "acked_lines=$lines,s200=$s200,unparsed=$unparsed"
		FAILED=1
		return 1
	fi
}

# rest_pair KEY TAG URL1 URL2: rest_run through two nodes at once
# (wrk_pair): the halves KEY.a and KEY.b (tags TAGa, TAGb) are checked for
# loss one by one; KEY gets the summed rate.
rest_pair() {
	export BENCH_TAG="$2" BENCH_ACKED="$T/acked/$1"
	RUNS="$RUNS $1.a $1.b"
	put "$1.a.tag" "${2}a"
	put "$1.b.tag" "${2}b"
	wrk_pair "$1" "$3" "$4" || return 1
	rest_acked "$1.a" && rest_acked "$1.b" || {
		put "$1.ok" 0
		return 1
	}
	say "  events accepted $(get "$1.w_accepted"), duplicates" \
	    "$(get "$1.w_duplicates"), rejected $(get "$1.w_rejected")"
	put "$1.eps" "$(calc "$(get "$1.w_accepted") / \
	    ($(get "$1.w_duration_us") / 1e6)")"
}

# mqtt_run: BENCH_MQTT_EVENTS events through the broker, timed until
# otad stored them all (or MQTT_STALL_SEC without a new row once the load
# client is done).  The rows are counted in the live database (WAL: a
# reader sees what is committed) as the highest id minus the highest id
# before the run: nothing else writes meanwhile and rows are never
# deleted, so ids are consecutive, and max(id) reads one b-tree path where
# count(*) would walk every new row ten times a second.  The exact count
# is taken after otad stops.
mqtt_run() {
	db="$DATA/otad.db"
	sleep 1 # REST requests still in flight when wrk stopped
	base=$(sqlite3 "$db" 'SELECT coalesce(max(id), 0) FROM update_events') ||
	    die "sqlite3 cannot read $db"
	say "MQTT: $MQTT_EVENTS events, $MQTT_PER_MSG per message," \
	    "$MQTT_CONNS connections, window $MQTT_WINDOW"
	metrics_snap "$T/metrics.before"
	cpu_snap "$OTAD_PID" >"$T/cpu.before"
	cpu_snap "$MOSQ_PID" >"$T/mosq.before"
	b0=$(busy_ticks)
	"$LOAD_BIN" --port "$MQTT_PORT" --devices "$T/devices" \
	    --rollout "$ROLLOUT" --version "$VERSION" --count "$MQTT_EVENTS" \
	    --per-message "$MQTT_PER_MSG" --connections "$MQTT_CONNS" \
	    --window "$MQTT_WINDOW" --tag mq >"$T/mqtt.out" 2>"$T/mqtt.err" &
	LOAD_PID=$!
	stored=0
	last_change=$(now_ns)
	done_ns=""
	load_rc=""
	while :; do
		now=$(now_ns)
		c=$(sqlite3 "$db" "SELECT coalesce(max(id), 0) - $base
		    FROM update_events" 2>/dev/null) || c=$stored
		if [ "$c" != "$stored" ]; then
			stored=$c
			last_change=$now
		fi
		if [ -z "$load_rc" ] && ! kill -0 "$LOAD_PID" 2>/dev/null; then
			wait "$LOAD_PID"
			load_rc=$?
			LOAD_PID=""
		fi
		if [ "$stored" -ge "$MQTT_EVENTS" ]; then
			done_ns=$now
			break
		fi
		if [ -n "$load_rc" ] &&
		    [ $((now - last_change)) -gt $((MQTT_STALL_SEC * 1000000000)) ]; then
			break
		fi
		sleep 0.1
	done
	b1=$(busy_ticks)
	[ -n "$load_rc" ] || { wait "$LOAD_PID"; load_rc=$?; LOAD_PID=""; }
	cpu_snap "$OTAD_PID" >"$T/cpu.after"
	cpu_snap "$MOSQ_PID" >"$T/mosq.after"
	metrics_snap "$T/metrics.after"
	for m in "messages otad_mqtt_messages_total" \
	    "refused otad_mqtt_refused_total" \
	    "commits otad_events_commits_total" \
	    "rejected otad_events_rejected_total" \
	    "duplicates otad_events_duplicates_total"; do
		set -- $m
		put "mqtt.m_$1" "$(metric_delta "$T/metrics.before" \
		    "$T/metrics.after" "$2")"
	done
	put mqtt.m_events "$(metric_delta "$T/metrics.before" \
	    "$T/metrics.after" otad_events_total 'transport="mqtt"')"
	line=$(grep '^BENCH ' "$T/mqtt.out" | tail -n 1)
	[ -n "$line" ] || die "mqtt_load printed no figures:" \
	    "$(cat "$T/mqtt.err")"
	for kv in ${line#BENCH }; do
		put "mqtt.l_${kv%%=*}" "${kv#*=}"
	done
	put mqtt.stored_live "$stored"
	put mqtt.base_id "$base"
	start=$(get mqtt.l_start_ns)
	put mqtt.publish_s "$(calc "($(get mqtt.l_end_ns) - $start) / 1e9")"
	if [ -n "$done_ns" ]; then
		put mqtt.store_s "$(calc "($done_ns - $start) / 1e9")"
		put mqtt.eps "$(calc "$MQTT_EVENTS / (($done_ns - $start) / 1e9)")"
	fi
	set -- $(cpu_delta "$T/cpu.before" "$T/cpu.after")
	put mqtt.otad_cpu "$1"
	put mqtt.otad_busy "$2"
	set -- $(cpu_delta "$T/mosq.before" "$T/mosq.after")
	put mqtt.mosq_cpu "$1"
	put mqtt.busy_all "$(calc "($b1 - $b0) / $CLK_TCK")"
	if [ "$load_rc" != 0 ]; then
		say "mqtt_load failed (exit $load_rc): $(cat "$T/mqtt.err")"
		put mqtt.why "mqtt_load_exit_$load_rc"
		FAILED=1
	fi
	say "  acknowledged by the broker in $(fmt "$(get mqtt.publish_s)" 2) s;" \
	    "$stored of $MQTT_EVENTS stored" \
	    "${done_ns:+in $(fmt "$(get mqtt.store_s)" 2) s}"
}

first=1
for th in $THREADS_LIST; do
	if [ $first -eq 0 ]; then
		otad_stop
		otad_start "$th"
		mqtt_ready
	fi
	first=0
	if [ "$WARMUP" -gt 0 ]; then
		d=$DURATION
		DURATION=$WARMUP
		rest_run "t$th.warmup" "w$th" "$PLAIN/api/v1/devices/"
		DURATION=$d
	fi
	for sc in $SCENARIOS; do
		case $sc in
		http) u="$PLAIN/api/v1/devices/" ;;
		https) u="$BASE/api/v1/devices/" ;;
		esac
		rest_run "t$th.$sc" "$sc$th" "$u"
		put "t$th.$sc.hwm_kib" "$(vm_hwm "$OTAD_PID")"
		put "t$th.$sc.rss_kib" "$(vm_rss "$OTAD_PID")"
	done
done

# ---- 4. MQTT ----------------------------------------------------------------

mqtt_run
put mosq.hwm_kib "$(vm_hwm "$MOSQ_PID")"
otad_stop

# ---- 5. zero loss -----------------------------------------------------------

# Every acknowledged REST request names its events TAG-t-k-0.. and its
# device: all ACCEPTED + DUPLICATES of them must be rows.  The acked lists
# go into a scratch database beside otad's (attached read-only once otad
# has stopped).
say "checking every acknowledged event in the database"
CHECK="$T/check.db"
for key in $RUNS; do
	[ -s "$T/acked/$key" ] || continue
	tag=$(get "$key.tag")
	sqlite3 -batch "$CHECK" >"$T/check.out" 2>"$T/check.err" <<EOF
CREATE TABLE acked (p TEXT, dev TEXT, a INTEGER, du INTEGER, r INTEGER);
.separator " "
.import $T/acked/$key acked
ATTACH 'file:$DATA/otad.db?mode=ro' AS o;
SELECT count(*), coalesce(sum(a), 0), coalesce(sum(du), 0),
    coalesce(sum(r), 0) FROM acked;
SELECT count(*), coalesce(sum(want - got), 0) FROM (
    SELECT a + du AS want, (SELECT count(*) FROM o.update_events e
        WHERE e.device_id = acked.dev AND e.event_id >= acked.p || '-'
        AND e.event_id < acked.p || '.') AS got
    FROM acked) WHERE got < want;
SELECT count(*) FROM o.update_events
    WHERE event_id >= '$tag-' AND event_id < '$tag.' AND transport = 'rest';
EOF
	if [ $? -ne 0 ] || [ "$(wc -l <"$T/check.out")" != 3 ]; then
		die "sqlite3 check of $key: $(cat "$T/check.err")"
	fi
	set -- $(tr '|' ' ' <"$T/check.out")
	put "$key.db_requests" "$1"
	put "$key.db_acked_events" "$(($2 + $3))"
	put "$key.db_missing_requests" "$5"
	put "$key.db_missing_events" "$6"
	put "$key.db_stored" "$7"
	rm -f "$CHECK"
done
sqlite3 -batch "file:$DATA/otad.db?mode=ro" >"$T/check.out" 2>"$T/check.err" <<EOF
SELECT count(*), count(DISTINCT event_id) FROM update_events
    WHERE transport = 'mqtt' AND event_id >= 'mq-' AND event_id < 'mq.';
EOF
[ $? -eq 0 ] || die "sqlite3 check of the MQTT events: $(cat "$T/check.err")"
set -- $(tr '|' ' ' <"$T/check.out")
put mqtt.db_stored "$1"
put mqtt.db_distinct "$2"
put db.rows "$(sqlite3 "file:$DATA/otad.db?mode=ro" \
    'SELECT count(*) FROM update_events')"
put db.kib "$(cat "$DATA"/otad.db* | wc -c | awk '{ print int($1 / 1024) }')"

# ---- 6. the stores ---------------------------------------------------------

# pg_check KEY: the zero-loss check of run KEY (as above) on PostgreSQL.
pg_check() {
	tag=$(get "$1.tag")
	psql -X -A -t -q -v ON_ERROR_STOP=1 -F '|' "$OTAD_DATABASE" \
	    >"$T/check.out" 2>"$T/check.err" <<EOF
CREATE TEMP TABLE acked (p TEXT, dev TEXT, a INTEGER, du INTEGER, r INTEGER);
\\copy acked FROM '$T/acked/$1' WITH (DELIMITER ' ')
SELECT count(*), coalesce(sum(a), 0), coalesce(sum(du), 0),
    coalesce(sum(r), 0) FROM acked;
SELECT count(*), coalesce(sum(want - got), 0) FROM (
    SELECT a + du AS want, (SELECT count(*) FROM update_events e
        WHERE e.device_id = acked.dev
        AND starts_with(e.event_id, acked.p || '-')) AS got
    FROM acked) AS c WHERE got < want;
SELECT count(*) FROM update_events
    WHERE starts_with(event_id, '$tag-') AND transport = 'rest';
EOF
	if [ $? -ne 0 ] || [ "$(wc -l <"$T/check.out")" != 3 ]; then
		die "psql check of $1: $(cat "$T/check.err")"
	fi
	set -- "$1" $(tr '|' ' ' <"$T/check.out")
	put "$1.db_requests" "$2"
	put "$1.db_acked_events" "$(($3 + $4))"
	put "$1.db_missing_requests" "$6"
	put "$1.db_missing_events" "$7"
	put "$1.db_stored" "$8"
}

# The same fleet on PostgreSQL, REST over HTTP with the faster
# http_threads over HTTP on SQLite: one otad, then two otad on the one
# database.  The CPU per event counts otad's processes and PostgreSQL's.
PG_RUNS=""
if store_wanted pg || store_wanted pg2; then
	set -- $THREADS_LIST
	PBEST=$1
	pbest=""
	for th in $THREADS_LIST; do
		v=$(val "t$th.http" eps)
		if [ -n "$v" ] && { [ -z "$pbest" ] || ! ge "$pbest" "$v"; }; then
			PBEST=$th
			pbest=$v
		fi
	done
	pg_bench_start
	OTAD_DATABASE=$(pg_bench_db bench_events) || exit 1
	export OTAD_DATABASE
	unset OTAD_MQTT_HOST OTAD_MQTT_PORT
	otad_setup "$T/var-pg"
	otad_start "$PBEST"
	tokens_make
	fleet_build
	put pg.devices_s "$(get prov.devices_s)"
	export BENCH_ROLLOUT="$ROLLOUT" BENCH_VERSION="$VERSION"
	SERVER_PIDS="$OTAD_PID $(pg_server_pids)"
	sq_runs=$RUNS
	RUNS=""
	if [ "$WARMUP" -gt 0 ]; then
		d=$DURATION
		DURATION=$WARMUP
		rest_run pg1.warmup pgw "$PLAIN/api/v1/devices/"
		DURATION=$d
	fi
	store_wanted pg && rest_run pg1.http pg1 "$PLAIN/api/v1/devices/"
	if store_wanted pg2; then
		otad_node_start "$T/var-pg2" "$PBEST"
		SERVER_PIDS="$OTAD_PID $NODE_PID $(pg_server_pids)"
		rest_pair pg2.http pg2 "$PLAIN/api/v1/devices/" \
		    "$NODE_PLAIN/api/v1/devices/"
		stop_pid "$NODE_PID"
	fi
	stop_pid "$OTAD_PID"
	OTAD_PID=""
	PG_RUNS=$RUNS
	for key in $PG_RUNS; do
		[ -s "$T/acked/$key" ] && pg_check "$key"
	done
	RUNS="$sq_runs $PG_RUNS"
	unset OTAD_DATABASE
fi

# ---- 7. figures -------------------------------------------------------------

# per_event KEY: otad's CPU microseconds per accepted event.
per_event() {
	c=$(val "$1" cpu) && e=$(val "$1" w_accepted) && [ -n "$c" ] &&
	    calc "$c * 1e6 / ($e + 1e-9)"
}
# per_commit KEY: REST events otad stored per commit during the run
# (/metrics: otad_events_total and otad_events_commits_total).
per_commit() {
	e=$(val "$1" m_events) && c=$(val "$1" m_commits) &&
	    [ -n "$c" ] && [ "$c" -gt 0 ] && fmt "$(calc "$e / $c")" 0
}
label() {
	case $1 in
	http) echo "REST, HTTP" ;;
	https) echo "REST, HTTPS" ;;
	esac
}

# The faster http_threads: the higher geometric mean of events/s.
BEST=""
best_score=""
for th in $THREADS_LIST; do
	score=0
	for s in $SCENARIOS; do
		v=$(val "t$th.$s" eps)
		score=$(calc "$score + log(${v:-0} + 1e-9) / 2")
	done
	score=$(calc "exp($score)")
	if [ -z "$best_score" ] || ! ge "$best_score" "$score"; then
		BEST=$th
		best_score=$score
	fi
done

echo
echo "otad update events: $CORES cores ($(awk -F': ' '/^model name/ {
    print $2; exit }' /proc/cpuinfo)), loopback"
echo "machine CPU busy before the run (other processes): $(fmt "$BUSY_BEFORE")%"
if ge "$BUSY_BEFORE" 10; then
	echo "WARNING: the machine was busy before the run; every figure below is" \
	    "lower and noisier than on an idle machine"
fi
echo "fleet: $NDEV devices in group g0, provisioned in" \
    "$(fmt "$(get sq.devices_s)" 2) s; rollout $ROLLOUT (bench-fw" \
    "$VERSION) running at 100 %"
echo
echo "REST: POST /api/v1/devices/{id}/events, $EV_BATCH events per request" \
    "(1 started, progress, 1 completed), each request a different device" \
    "with its own token; wrk -t$WRK_THREADS -c$CONNS -d${DURATION}s" \
    "(bench/events.lua), keep-alive"
printf '  %-14s %-22s' scenario metric
for th in $THREADS_LIST; do printf ' %12s' "threads=$th"; done
echo
for s in $SCENARIOS; do
	for m in eps rps p50_ms p99_ms ev_commit us_event busy wrk_pct \
	    hwm_mib; do
		printf '  %-14s %-22s' "$(label "$s")" "$m"
		for th in $THREADS_LIST; do
			k="t$th.$s"
			case $m in
			eps | rps) v=$(fmt "$(val "$k" $m)" 0) ;;
			p50_ms | p99_ms) v=$(fmt "$(val "$k" $m)" 1) ;;
			us_event) v=$(fmt "$(per_event "$k")" 2) ;;
			ev_commit) v=$(per_commit "$k") ;;
			busy) v=$(val "$k" busy) ;;
			wrk_pct) v=$(fmt "$(wrk_pct "$k")") ;;
			hwm_mib) v=$(fmt "$(get "$k.hwm_kib") / 1024") ;;
			esac
			printf ' %12s' "${v:--}"
		done
		echo
	done
done
echo "  (eps: events acknowledged per second; rps: requests answered per" \
    "second; p50/p99: wrk's latency per request; ev_commit: events per" \
    "group commit; us_event: otad CPU us per event; busy: CPU s of each busy otad thread; wrk_pct: wrk's CPU in %" \
    "of all cores; hwm_mib: otad's VmHWM after the run)"
echo "  -> http_threads=$BEST"
echo
echo "REST zero loss: acknowledged (200) requests and their events, looked up" \
    "in the database after otad stopped"
printf '  %-14s %9s %10s %6s %6s %10s %8s %12s\n' run requests events dup \
    rej stored missing "unanswered"
REST_LOST=0
REST_CHECKED=0
for key in $RUNS; do
	req=$(get "$key.db_requests")
	if [ -z "$req" ]; then
		printf '  %-14s %s\n' "$key" "not checked (the run failed)"
		REST_LOST=1
		continue
	fi
	REST_CHECKED=$((REST_CHECKED + 1))
	acked=$(get "$key.db_acked_events")
	stored=$(get "$key.db_stored")
	missing=$(get "$key.db_missing_events")
	[ "$missing" = 0 ] || REST_LOST=1
	printf '  %-14s %9s %10s %6s %6s %10s %8s %12s\n' "$key" "$req" \
	    "$(get "$key.w_accepted")" "$(get "$key.w_duplicates")" \
	    "$(get "$key.w_rejected")" "$stored" "$missing" \
	    "$((stored - acked))"
done
echo "  (events: accepted, as otad answered; stored: rows of the run;" \
    "missing: acknowledged events not in the database; unanswered: rows of" \
    "requests whose answer wrk did not read, in flight when it stopped)"

echo
if [ "$MQTT_PER_MSG" = 1 ]; then
	payload="one event object per message"
else
	payload="arrays of $MQTT_PER_MSG events per message"
fi
echo "MQTT: $MQTT_EVENTS events with QoS 1 to otad/devices/<id>/events," \
    "$payload, by bench/mqtt_load over $MQTT_CONNS connections, at most" \
    "$MQTT_WINDOW messages awaiting their PUBACK; Mosquitto" \
    "max_queued_messages $MQTT_QUEUE"
pub_s=$(get mqtt.publish_s)
echo "  all PUBACKs from the broker after $(fmt "$pub_s" 2) s:" \
    "$(fmt "$(calc "$(get mqtt.l_events) / ($pub_s + 1e-9)")" 0) events/s" \
    "($(get mqtt.l_acked) of $(get mqtt.l_messages) messages acknowledged)"
if [ -n "$(get mqtt.eps)" ]; then
	echo "  all stored by otad after $(fmt "$(get mqtt.store_s)" 2) s:" \
	    "$(fmt "$(get mqtt.eps)" 0) events/s"
else
	echo "  NOT all stored: $(get mqtt.stored_live) rows after the load" \
	    "client finished and $MQTT_STALL_SEC s without a new row"
fi
echo "  in the database after otad stopped: $(get mqtt.db_stored) of" \
    "$MQTT_EVENTS ($(get mqtt.db_distinct) distinct event_id)"
mqtt_s=$(get mqtt.store_s)
[ -n "$mqtt_s" ] || mqtt_s=$pub_s
echo "  otad's counters (/metrics) during the run: $(get mqtt.m_messages)" \
    "messages, $(get mqtt.m_events) events stored in $(get mqtt.m_commits)" \
    "commits, $(get mqtt.m_refused) messages refused, $(get \
    mqtt.m_rejected) events rejected, $(get mqtt.m_duplicates) duplicates"
echo "  CPU s during the run: otad $(get mqtt.otad_cpu) (busy threads" \
    "$(get mqtt.otad_busy)), mosquitto $(get mqtt.mosq_cpu), whole machine" \
    "$(fmt "$(get mqtt.busy_all)" 2) of $(fmt "$(calc "$mqtt_s * $CORES")" 2)"
drops=$(grep -c -i 'dropped' "$T/mosquitto/mosquitto.log" 2>/dev/null)
echo "  mosquitto log lines about dropped messages: ${drops:-0}"

echo
echo "database after the run: $(get db.rows) events," \
    "$(fmt "$(get db.kib) / 1024" 0) MiB (otad.db and its WAL):" \
    "$(fmt "$(get db.kib) * 1024 / ($(get db.rows) + 1e-9)" 0) bytes per event"
peak=0
for th in $THREADS_LIST; do
	h=$(get "otad.t$th.hwm_kib")
	[ -n "$h" ] && [ "$h" -gt "$peak" ] && peak=$h
done
echo
echo "otad peak RSS (VmHWM, highest of the otad processes):" \
    "$(fmt "$peak / 1024") MiB; mosquitto: $(fmt "$(get mosq.hwm_kib) / 1024") MiB"

if [ -n "$PG_RUNS" ]; then
	echo
	echo "stores: REST over HTTP, http_threads=$PBEST, $EV_BATCH events per" \
	    "request; CPU us/event counts otad's processes and PostgreSQL's"
	printf '  %-22s %10s %10s %8s %12s %9s\n' store events/s requests/s \
	    "p99 ms" "CPU us/event" "x SQLite"
	sq=$(val "t$PBEST.http" eps)
	for k in "t$PBEST.http" pg1.http pg2.http; do
		case $k in
		pg1.*) l="PostgreSQL, 1 node" ;;
		pg2.*) l="PostgreSQL, 2 nodes" ;;
		*) l="SQLite, 1 node" ;;
		esac
		[ -n "$(get "$k.ok")" ] || continue
		v=$(val "$k" eps)
		x=""
		[ -n "$v" ] && [ -n "$sq" ] && x=$(calc "$v / ($sq + 1e-12)")
		printf '  %-22s %10s %10s %8s %12s %9s\n' "$l" "$(fmt "$v" 0)" \
		    "$(fmt "$(val "$k" rps)" 0)" "$(fmt "$(val "$k" p99_ms)" 1)" \
		    "$(fmt "$(per_event "$k")" 2)" "$(fmt "$x" 2)"
	done
	echo "  (2 nodes: two wrk at once, one per otad, each with half the" \
	    "connections; provisioning of the fleet on PostgreSQL:" \
	    "$(fmt "$(get pg.devices_s)" 2) s)"
fi

echo
echo "targets (issue 4)"
for s in $SCENARIOS; do
	v=$(val "t$BEST.$s" eps)
	ok=0
	[ -n "$v" ] && ge "$v" $TARGET_REST && ok=1
	what="events/s over REST, $(echo "$s" | tr a-z A-Z), batches of"
	target $ok "$what $EV_BATCH >= $TARGET_REST" "$(fmt "$v" 0)"
done
ok=0
[ "$REST_LOST" = 0 ] && [ "$REST_CHECKED" -gt 0 ] && ok=1
target $ok "REST zero loss (every acknowledged event stored, all runs)" \
    "$([ $ok = 1 ] && echo "0 missing" || echo "see above")"
v=$(get mqtt.eps)
ok=0
[ -n "$v" ] && ge "$v" $TARGET_MQTT && ok=1
target $ok "events/s over MQTT QoS 1 ($payload) >= $TARGET_MQTT" \
    "$(fmt "$v" 0)"
ok=0
[ "$(get mqtt.db_stored)" = "$MQTT_EVENTS" ] && ok=1
target $ok "MQTT zero loss (every published event stored)" \
    "$(get mqtt.db_stored) of $MQTT_EVENTS"
if [ -n "$PG_RUNS" ]; then
	echo
	echo "targets (issue 12)"
	for k in pg1.http pg2.http; do
		[ -n "$(get "$k.ok")" ] || continue
		v=$(val "$k" eps)
		ok=0
		[ -n "$v" ] && ge "$v" $TARGET_PG_REST && ok=1
		n="1 node"
		[ "$k" = pg2.http ] && n="2 nodes"
		target $ok "events/s over REST on PostgreSQL, $n, >= $TARGET_PG_REST" \
		    "$(fmt "$v" 0)"
	done
fi

awk '$1 ~ /\.why$/ { print $1, $2 }' "$T/results" | while read -r k why; do
	echo "FAILED: ${k%.why}: $why"
done
if grep -q . "$T/otad.log" 2>/dev/null; then
	echo
	echo "otad log, messages by count, numbers as N:"
	sed -e 's/^ts=[^ ]* //' -e 's|/devices/[^/ ]*/|/devices/ID/|g' \
	    -e 's/=[0-9][0-9]*/=N/g' "$T/otad.log" | sort | uniq -c |
	    sort -rn | head -n 10 | cut -c1-150 | sed 's/^/  /'
fi
[ "$FAILED" = 0 ] || exit 1
exit 0
