#!/bin/sh
# MQTT and kill -9: a real Mosquitto, otad subscribed, 50 devices under a
# running rollout, bench/mqtt_load ($MQTT_LOAD_BIN) publishing N events
# with QoS 1 while otad is killed with SIGKILL in the middle of taking
# them, then restarted.
#  1. Devices that do not resend (20 events per message): what otad had
#     taken from the broker and not committed is lost (libmosquitto
#     acknowledges on receipt); that loss must stay within
#     mqtt_max_uncommitted plus one message (it was thousands of events
#     when the reads did not wait for the commits).
#  2. Devices that keep each event until otad's ack on
#     {prefix}/devices/{id}/acks and resend the others (mqtt_load --acks):
#     every event is stored exactly once.
. "$(dirname "$0")/../lib.sh"

: "${MQTT_LOAD_BIN:?MQTT_LOAD_BIN must point at bench/mqtt_load}"
N=20000
NDEV=50
MAX_UNCOMMITTED=200

otad_setup
# The broker keeps otad's session across the crash, with room for the
# whole run and the resends.
broker_setup "persistence false
max_queued_messages $((4 * N))
max_inflight_messages 100
log_type error
log_type warning
log_type notice"
broker_start || exit 1

export OTAD_MQTT_MAX_UNCOMMITTED=$MAX_UNCOMMITTED
otad_start_mqtt || exit 1

fleet_setup cr "$NDEV"
rollout_create '[100]'
rollout_start

# stored TAG: rows of the event ids TAG-*.
stored() {
	sql "SELECT count(*) FROM update_events WHERE event_id LIKE '$1-%'"
}

# metric NAME: the sum of NAME's samples in otad's /metrics.
metric() {
	api GET /metrics "$VIEW"
	awk -v n="$1" '$1 == n || index($1, n "{") == 1 { s += $2 }
	    END { printf "%d\n", s }' "$T/body"
}

# settle TAG: waits until the rows of TAG stop growing for 3 s (60 s at
# most); prints the count.
settle() {
	last=-1
	still=0
	i=0
	while [ $i -lt 600 ] && [ $still -lt 30 ]; do
		c=$(stored "$1")
		if [ "$c" = "$last" ]; then
			still=$((still + 1))
		else
			still=0
		fi
		last=$c
		sleep 0.1
		i=$((i + 1))
	done
	echo "$last"
}

# kill_midway TAG: kills otad with SIGKILL once it has stored a fifth of
# TAG's events (and before it has all), then restarts it.  Returns 1
# when otad could not be caught in the middle.
kill_midway() {
	i=0
	while [ $i -lt 600 ]; do
		c=$(stored "$1")
		[ "$c" -ge $((N / 5)) ] && break
		sleep 0.02
		i=$((i + 1))
	done
	otad_kill9
	c=$(stored "$1")
	echo "killed at $c of $N stored" >>"$T/kills"
	[ "$c" -ge $((N / 5)) ] && [ "$c" -lt "$N" ]
}

# ---- 1. no resend: the loss of a crash is bounded ----
"$MQTT_LOAD_BIN" --port "$MQ_PORT" --devices "$T/devices" --rollout "$R" \
    --version 1.1.0 --count $N --connections 4 --window 500 \
    --per-message 20 --tag nr \
    >"$T/load1.out" 2>"$T/load1.err" &
LOAD=$!
check "otad killed while taking the events in" kill_midway nr
wait $LOAD
expect_eq "the broker acknowledged every message" 0 "$?"
L=$(wc -l <"$OTAD_LOG")
otad_start || fail "otad restarts after kill -9"
check "otad resumes its session" log_wait \
    "mqtt connected.*session_present=1" "$L" 150
GOT=$(settle nr)
LOST=$((N - GOT))
echo "# MQTT events lost to one kill -9 without resends: $LOST of $N" \
    "(mqtt_max_uncommitted $MAX_UNCOMMITTED)"
check "a crash loses at most mqtt_max_uncommitted + 1 message ($LOST lost)" \
    test "$LOST" -le $((MAX_UNCOMMITTED + 19))
expect_eq "nothing stored twice" "$GOT" \
    "$(sql "SELECT count(DISTINCT event_id) FROM update_events WHERE event_id LIKE 'nr-%'")"
check "otad paused its reads for the commits" \
    test "$(metric otad_mqtt_read_pauses_total)" -ge 1

# ---- 2. devices resend what otad did not acknowledge: nothing lost ----
# A device resends what is not acknowledged after a while.  The writer
# must outpace the resends or they pile up as duplicates it must also
# write: on PostgreSQL under the sanitizers (a round trip per statement)
# it takes in a few hundred events a second, so the devices wait longer.
RESEND_MS=3000
[ "$STORE" = pg ] && RESEND_MS=30000
"$MQTT_LOAD_BIN" --port "$MQ_PORT" --devices "$T/devices" --rollout "$R" \
    --version 1.1.0 --count $N --connections 4 --window 500 --tag ack \
    --acks 1 --resend-ms $RESEND_MS >"$T/load2.out" 2>"$T/load2.err" &
LOAD=$!
check "otad killed while taking the events in" kill_midway ack
L=$(wc -l <"$OTAD_LOG")
otad_start || fail "otad restarts after kill -9"
check "otad resumes its session" log_wait \
    "mqtt connected.*session_present=1" "$L" 150
wait $LOAD
expect_eq "every event acknowledged by otad" 0 "$?"
cat "$T/load2.err" >&2
check "mqtt_load saw an ack for each of the $N events" grep -q \
    "confirmed=$N .*rejected=0" "$T/load2.out"
expect_eq "every published event stored" "$N" "$(stored ack)"
expect_eq "each exactly once" "$N" \
    "$(sql "SELECT count(DISTINCT event_id) FROM update_events WHERE event_id LIKE 'ack-%'")"
echo "# $(cat "$T/kills" | tr '\n' ';') load: $(cat "$T/load2.out")"
check "the acks were published" \
    test "$(metric otad_mqtt_published_total)" -ge 1

otad_stop
expect_eq "otad stops cleanly" 0 "$?"
check "no sanitizer report" sanitizer_clean
broker_stop
finish
