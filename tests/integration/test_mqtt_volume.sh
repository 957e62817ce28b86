#!/bin/sh
# MQTT ingest in volume: a real Mosquitto on a loopback port, otad
# subscribed to it, 50 devices under a running rollout; bench/mqtt_load
# (libmosquitto, $MQTT_LOAD_BIN, built by `make test`) publishes N events
# with QoS 1, one per message, over 4 connections, and every one of them
# must be stored exactly once; publishing the same N event ids again
# stores nothing more (otad counts them as duplicates).
. "$(dirname "$0")/../lib.sh"

: "${MQTT_LOAD_BIN:?MQTT_LOAD_BIN must point at bench/mqtt_load}"
N=20000
NDEV=50

otad_setup
# The broker's queue for otad holds the whole run (its default, 1000,
# would drop what otad has not taken yet: the broker's loss, not otad's).
broker_setup "persistence false
max_queued_messages $((N + 1000))
log_type error
log_type warning
log_type notice
log_type subscribe"
broker_start || exit 1

otad_start_mqtt || exit 1

# ---- 50 devices under a running rollout ----
fleet_setup vol "$NDEV"
rollout_create '[100]'
rollout_start

# count: rows of update_events of the load client's event ids.
count() {
	sql "SELECT count(*) FROM update_events WHERE transport = 'mqtt'
	     AND event_id LIKE 'vol-%'"
}

# metric NAME: the sum of NAME's samples (any labels) in otad's /metrics.
metric() {
	api GET /metrics "$VIEW"
	awk -v n="$1" '$1 == n || index($1, n "{") == 1 { s += $2 }
	    END { printf "%d\n", s }' "$T/body"
}

# wait_metric NAME VALUE: waits until NAME reaches VALUE, at most 60 s
# and at most 10 s without progress; prints the last value seen.
wait_metric() {
	i=0
	last=-1
	still=0
	while [ $i -lt 300 ] && [ $still -lt 50 ]; do
		v=$(metric "$1")
		: "${v:=0}"
		[ "$v" -ge "$2" ] && break
		if [ "$v" = "$last" ]; then
			still=$((still + 1))
		else
			still=0
		fi
		last=$v
		sleep 0.2
		i=$((i + 1))
	done
	echo "$v"
}

# load: mqtt_load publishes the N events (ids vol-0..vol-N-1) and waits
# for every PUBACK.
load() {
	"$MQTT_LOAD_BIN" --port "$MQ_PORT" --devices "$T/devices" \
	    --rollout "$R" --version 1.1.0 --count $N --connections 4 \
	    --window 500 --tag vol >"$T/load.out" 2>"$T/load.err"
}

# ---- N events, each stored once ----
load
expect_eq "mqtt_load: the broker acknowledged every message" 0 "$?"
check "mqtt_load published $N messages" grep -q \
    "^BENCH events=$N messages=$N acked=$N " "$T/load.out"
expect_eq "otad counts $N events over mqtt" $N \
    "$(wait_metric otad_events_total $N)"
expect_eq "$N rows for the event ids" $N "$(count)"
expect_eq "one row per event id" $N \
    "$(sql "SELECT count(DISTINCT
        event_id) FROM update_events WHERE event_id LIKE 'vol-%'")"
expect_eq "spread over the $NDEV devices" $NDEV \
    "$(sql "SELECT count(DISTINCT
        device_id) FROM update_events WHERE event_id LIKE 'vol-%'")"
expect_eq "no message refused" 0 "$(metric otad_mqtt_refused_total)"

# ---- the same N event ids again: duplicates, no new row ----
load
expect_eq "mqtt_load: the second run acknowledged" 0 "$?"
expect_eq "otad counts $N duplicates" $N \
    "$(wait_metric otad_events_duplicates_total $N)"
expect_eq "still $N rows" $N "$(count)"
expect_eq "duplicates not counted as events" $N \
    "$(metric otad_events_total)"
expect_eq "otad took $((2 * N)) messages" $((2 * N)) \
    "$(metric otad_mqtt_messages_total)"
check "the broker dropped nothing" sh -c "! grep -qi 'dropped' '$MQ_LOG'"

otad_stop
expect_eq "otad stops cleanly" 0 "$?"
check "no sanitizer report" sanitizer_clean
finish
