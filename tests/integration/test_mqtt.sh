#!/bin/sh
# MQTT ingest with a real Mosquitto on a loopback port (its own config,
# persistence in the test's directory): otad starts before the broker and
# connects when it comes up; QoS 1 events land, arrays too, duplicates
# once; a malformed payload, a topic/payload device mismatch and an
# unknown device are logged (without the payload) and ingestion goes on;
# with the broker down otad keeps serving HTTP; events published while
# otad is reconnecting to a restarted broker, or while otad is killed,
# wait in otad's persistent session and all land afterwards.  Every
# event is answered after its commit on otad/devices/{id}/acks: stored,
# duplicate, or rejected with its reason.
. "$(dirname "$0")/../lib.sh"

otad_setup
broker_setup "persistence true
persistence_location $T/mosquitto/
log_type all"

log_lines() { wc -l <"$OTAD_LOG"; }

# count [WHERE]: rows of update_events received over MQTT.
count() {
	sql "SELECT count(*) FROM update_events WHERE transport = 'mqtt' ${1:+AND $1}"
}

# wait_count N: waits (bounded, 15 s) until count is N; prints the count.
wait_count() {
	i=0
	while [ $i -lt 150 ]; do
		c=$(count)
		[ "$c" -ge "$1" ] && break
		sleep 0.1
		i=$((i + 1))
	done
	# A little longer, so that too many is seen too.
	sleep 0.2
	count
}

NOW=$(date -u +%Y-%m-%dT%H:%M:%SZ)
# ev EVENT_ID [STATE] [EXTRA]: one event JSON of the rollout.
ev() {
	printf '{"event_id":"%s","rollout":%s,"version":"1.1.0","state":"%s","ts":"%s"%s}' \
	    "$1" "$R" "${2:-started}" "$NOW" "${3:-}"
}

# pub DEVICE PAYLOAD: publishes with QoS 1 (mosquitto_pub waits for the
# broker's PUBACK).
pub() {
	mosquitto_pub -h 127.0.0.1 -p "$MQ_PORT" -q 1 -i "pub-$$" \
	    -t "otad/devices/$1/events" -m "$2"
}

# pub_lines DEVICE FILE: one QoS 1 message per line of FILE, one
# connection.
pub_lines() {
	mosquitto_pub -h 127.0.0.1 -p "$MQ_PORT" -q 1 -i "pub-$$" \
	    -t "otad/devices/$1/events" -l <"$2"
}

export OTAD_MQTT_HOST=127.0.0.1
export OTAD_MQTT_PORT="$MQ_PORT"
export OTAD_MQTT_RECONNECT_MAX_SEC=8

# ---- otad first, the broker later: otad serves, then connects ----
otad_start || exit 1
api GET /healthz ""
expect_eq "otad serves with the broker not up yet" 200 "$STATUS"
check "otad says it cannot connect yet" log_wait "mqtt cannot connect"
broker_start || exit 1
check "otad connects once the broker is up" log_wait "mqtt subscribed" 1 150
check "the broker granted QoS 1" log_wait "mqtt subscribed\" topic=otad/devices/+/events qos=1"

# Every ack otad publishes, one line each: topic and payload.
mosquitto_sub -h 127.0.0.1 -p "$MQ_PORT" -q 1 -v -t 'otad/devices/+/acks' \
    >"$T/acks" 2>"$T/acks.err" &
SUB=$!
EXTRA_CLEANUP="kill $SUB 2>/dev/null"

# ack_line LINE: 1 once LINE is a line of the acks seen (5 s at most).
ack_line() {
	i=0
	while [ $i -lt 50 ]; do
		grep -qxF -- "$1" "$T/acks" && break
		sleep 0.1
		i=$((i + 1))
	done
	grep -cxF -- "$1" "$T/acks"
}

# ---- a rollout for the events to be about ----
ADMIN=$(token admin ops)
REL=$(token release ci)
VIEW=$(token viewer dash)
make_image "$T/fw.bin" 2000
release "$T/fw.bin" sensor-fw 1.1.0 revA
upload_curl "$REL" "$T/fw.bin"
expect_eq "image uploaded" 201 "$STATUS"
IMG=$(jqb .id)
post_json /api/v1/groups "$ADMIN" '{"name":"fleet"}'
post_json /api/v1/devices "$ADMIN" '[{"id":"d1","hardware":"revA","groups":["fleet"]},
 {"id":"d2","hardware":"revA","groups":["fleet"]},
 {"id":"d3","hardware":"revA","groups":["fleet"]}]'
expect_eq "devices provisioned" 201 "$STATUS"
post_json /api/v1/rollouts "$REL" "{\"image\":$IMG,\"groups\":[\"fleet\"],\"stages\":[100]}"
expect_eq "rollout created" 201 "$STATUS"
R=$(jqb .id)
api POST "/api/v1/rollouts/$R/start" "$REL"
expect_eq "rollout started" 200 "$STATUS"

# ---- events land ----
pub d1 "$(ev e1)"
expect_eq "one event lands" 1 "$(wait_count 1)"
expect_eq "and is acknowledged as stored after its commit" 1 \
    "$(ack_line 'otad/devices/d1/acks {"acks":[{"event_id":"e1","result":"stored"}]}')"
expect_eq "stored for the topic's device, over mqtt" "d1 e1 $R 1.1.0 started" \
    "$(sql "SELECT device_id, event_id, rollout_id, version, state
        FROM update_events" | tr '|' ' ')"
pub d2 "[$(ev a1),$(ev a2 progress ',"progress":50'),$(ev a3 completed)]"
expect_eq "an array of three lands" 4 "$(wait_count 4)"
expect_eq "one ack for the three, in order" 1 \
    "$(ack_line 'otad/devices/d2/acks {"acks":[{"event_id":"a1","result":"stored"},{"event_id":"a2","result":"stored"},{"event_id":"a3","result":"stored"}]}')"
expect_eq "the device's status follows them" completed \
    "$(sql "SELECT status FROM device_updates
        WHERE device_id = 'd2' AND rollout_id = $R")"
# The device id may be repeated in the payload.
pub d3 "$(ev b1 started ',"device":"d3"')"
expect_eq "an event naming its own device lands" 5 "$(wait_count 5)"

# ---- duplicates are acknowledged, stored once ----
pub d1 "$(ev e1)"
expect_eq "a duplicate is acknowledged as such" 1 \
    "$(ack_line 'otad/devices/d1/acks {"acks":[{"event_id":"e1","result":"duplicate"}]}')"
pub d1 "[$(ev e1),$(ev e2)]"
expect_eq "duplicates not stored twice" 6 "$(wait_count 6)"
expect_eq "e1 stored once" 1 "$(count "event_id = 'e1'")"
api GET /api/v1/devices/d1/events "$VIEW"
expect_eq "REST lists d1's events once each" "e1 e2" \
    "$(jqb '[.events[].event_id] | sort | join(" ")')"

# ---- refused messages are logged, and ingestion goes on ----
L=$(log_lines)
pub d1 '{"event_id": SECRET-in-garbage'
check "a malformed payload is logged with its topic" log_wait \
    'mqtt message refused" topic=otad/devices/d1/events.*invalid JSON' "$L"
pub d1 "$(ev m1 started ',"device":"d2"')"
check "a topic/payload mismatch is logged" log_wait \
    'mqtt events refused" topic=otad/devices/d1/events events=1 refused=1 mismatched=1' "$L"
expect_eq "and acknowledged as rejected, with the reason" 1 \
    "$(ack_line 'otad/devices/d1/acks {"acks":[{"event_id":"m1","result":"rejected","reason":"invalid_event","detail":"device: differs from the topic'"'"'s device"}]}')"
pub d1 "[$(ev m2 exploded),$(ev m3)]"
check "an invalid event in an array is logged" log_wait \
    'mqtt events refused" topic=otad/devices/d1/events events=2 refused=1 mismatched=0 first_index=0 reason=".*state' "$L"
pub ghost "$(ev g1)"
pub d1 "$(ev after)"
expect_eq "ingestion goes on: the valid events land" 8 "$(wait_count 8)"
check "an invalid event of an array is acknowledged as rejected" grep -q \
    '^otad/devices/d1/acks {"acks":\[{"event_id":"m2","result":"rejected","reason":"invalid_event","detail":"state' \
    "$T/acks"
expect_eq "the valid one next to it as stored" 1 \
    "$(ack_line 'otad/devices/d1/acks {"acks":[{"event_id":"m3","result":"stored"}]}')"
check "an unknown device's event is rejected with the writer's reason" grep -q \
    '^otad/devices/ghost/acks {"acks":\[{"event_id":"g1","result":"rejected","reason":"unknown_device","detail":' \
    "$T/acks"
# A component on an image rollout's event (only a bundle rollout's name
# one: docs/bundles.md): refused by the writer, acknowledged, logged and
# counted under its reason.
pub d1 "$(ev c1 started ',"component":"mcu"')"
expect_eq "an event naming a component on an image rollout: rejected component_mismatch" 1 \
    "$(ack_line 'otad/devices/d1/acks {"acks":[{"event_id":"c1","result":"rejected","reason":"component_mismatch","detail":"component: rollout '"$R"' rolls out an image, not a bundle (leave component out)"}]}')"
check "and logged with its reason" log_wait \
    'event rejected" transport=mqtt device=d1 event_id=c1 .*error=component_mismatch' "$L"
check "no payload was acknowledged whole: malformed has no event ids" sh -c \
    "! grep -q SECRET '$T/acks'"
api GET /metrics "$VIEW"
check "acks are counted" grep -q '^otad_mqtt_published_total{kind="ack"} [1-9]' "$T/body"
check "the refusal is counted" grep -qxF \
    'otad_events_rejected_total{transport="mqtt",reason="component_mismatch"} 1' "$T/body"
expect_eq "only the valid ones" "after m3" \
    "$(sql "SELECT event_id FROM update_events WHERE event_id IN
         ('m1','m2','m3','g1','after') ORDER BY event_id" | paste -sd' ')"
check "the payload is never logged" sh -c "! grep -q SECRET '$OTAD_LOG'"

# ---- volume: 200 messages of 5 events ----
i=0
while [ $i -lt 200 ]; do
	printf '[%s,%s,%s,%s,%s]\n' "$(ev "v$i-1")" "$(ev "v$i-2")" \
	    "$(ev "v$i-3")" "$(ev "v$i-4")" "$(ev "v$i-5")"
	i=$((i + 1))
done >"$T/volume"
pub_lines d3 "$T/volume"
expect_eq "1000 events in 200 messages land" 1008 "$(wait_count 1008)"

# ---- broker down: otad keeps serving ----
kill $SUB 2>/dev/null
L=$(log_lines)
broker_stop
check "otad notices the broker is gone" log_wait "mqtt connection lost" "$L"
api GET /healthz ""
expect_eq "healthz with the broker down" 200 "$STATUS"
api GET /api/v1/devices/d1 "$VIEW"
expect_eq "REST with the broker down" 200 "$STATUS"

# ---- published while otad is reconnecting: queued in its session ----
# otad retries 1 s after the loss, then 2 s later, then 4 s later: start
# the broker after the second failure and publish before the third try.
check "otad retries" log_wait "mqtt cannot connect" "$L"
sleep 2.5
B0=$(wc -l <"$MQ_LOG")
broker_start || exit 1
i=0
while [ $i -lt 20 ]; do
	ev "r$i"
	echo
	i=$((i + 1))
done >"$T/during"
pub_lines d1 "$T/during"
B1=$(wc -l <"$MQ_LOG")
check "otad reconnects" log_wait "mqtt connected" "$L" 150
check "to the session the broker kept" log_wait \
    "mqtt connected.*session_present=1" "$L"
# The broker's own log: otad was not back while they were published.
check "the events were published while otad was away" sh -c \
    "sed -n '$((B0 + 1)),${B1}p' '$MQ_LOG' | grep -q 'Received PUBLISH from pub-' &&
     ! sed -n '$((B0 + 1)),${B1}p' '$MQ_LOG' | grep -q 'as otad'"
expect_eq "all 20 events published while otad reconnected land" 1028 \
    "$(wait_count 1028)"

# ---- published while otad is killed: delivered when it is back ----
otad_kill9
i=0
while [ $i -lt 20 ]; do
	ev "k$i"
	echo
	i=$((i + 1))
done >"$T/killed"
pub_lines d2 "$T/killed"
L=$(log_lines)
otad_start || fail "otad restarts after kill -9"
check "otad resumes its session" log_wait \
    "mqtt connected.*session_present=1" "$L"
expect_eq "all 20 events published while otad was down land" 1048 \
    "$(wait_count 1048)"

# ---- clean stop ----
L=$(log_lines)
otad_stop
expect_eq "otad stops cleanly" 0 "$?"
check "and says goodbye to the broker" log_wait "mqtt disconnected" "$L" 1
check "mqtt counters at stop" log_wait \
    "mqtt stopped\" messages=20 events=20 malformed=0" "$L" 1
check "no sanitizer report" sanitizer_clean
broker_stop
finish
