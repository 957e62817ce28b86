#!/bin/sh
# MQTT update hints with a real Mosquitto: 300 devices, a rollout of two
# stages (10 %, 100 %).  Starting it publishes {"rollout","version"} on
# otad/devices/{id}/update to exactly the devices of the first stage;
# advancing it to the devices the second stage takes in, each device once
# in all; at mqtt_hints_per_sec 100 the ~270 hints of the advance take
# seconds while the API call that advanced answers at once.  Creating a
# draft, and devices outside the rollout's groups, get nothing.  An
# advance by the rollout timer (advance_after) hints as well.
. "$(dirname "$0")/../lib.sh"

NDEV=300
RATE=100

otad_setup
broker_setup "persistence false
log_type error
log_type warning"
broker_start || exit 1

export OTAD_MQTT_HINTS_PER_SEC=$RATE
otad_start_mqtt || exit 1

# Every hint, one line each: receive time (unix s.ns), topic, payload.
mosquitto_sub -h 127.0.0.1 -p "$MQ_PORT" -q 1 -F '%U %t %p' \
    -t 'otad/devices/+/update' >"$T/hints" 2>"$T/sub.err" &
SUB=$!
EXTRA_CLEANUP="kill $SUB 2>/dev/null"

fleet_setup h "$NDEV"
post_json /api/v1/groups "$ADMIN" '{"name":"others"}'
post_json /api/v1/devices "$ADMIN" '[{"id":"outsider","hardware":"revA","groups":["others"]}]'
expect_eq "a device outside the rollout" 201 "$STATUS"
rollout_create '[10,100]'
# The subscriber is there before anything is published.
sleep 0.5
expect_eq "creating a draft sends no hint" 0 "$(wc -l <"$T/hints")"

# hinted: the distinct devices hinted so far, sorted.
hinted() {
	awk '{ split($2, t, "/"); print t[3] }' "$T/hints" | sort -u
}

# wait_hints N: waits (30 s at most) for N hint lines; prints the count.
wait_hints() {
	i=0
	while [ $i -lt 300 ] && [ "$(wc -l <"$T/hints")" -lt "$1" ]; do
		sleep 0.1
		i=$((i + 1))
	done
	sleep 0.3 # a little longer, so that too many is seen too
	wc -l <"$T/hints"
}

# ---- start: the devices of the first stage ----
api POST "/api/v1/rollouts/$R/start" "$REL"
expect_eq "rollout started" 200 "$STATUS"
api GET "/api/v1/rollouts/$R/health" "$VIEW"
N0=$(jqb '.stages[0].in_stage')
N1=$(jqb '.stages[1].in_stage')
expect_eq "the two stages hold every device" $NDEV $((N0 + N1))
expect_eq "one hint per device of the first stage" "$N0" "$(wait_hints "$N0")"
expect_eq "each to a distinct device" "$N0" "$(hinted | wc -l)"
check "the hint names the rollout and its version" grep -q \
    "^[0-9.]* otad/devices/h-[0-9]*/update {\"rollout\":$R,\"version\":\"1.1.0\"}\$" \
    "$T/hints"
check "no hint outside the rollout's groups" sh -c \
    "! grep -q outsider '$T/hints'"

# ---- advance: the devices the second stage takes in, paced ----
S=$(date +%s%N)
api POST "/api/v1/rollouts/$R/advance" "$REL"
E=$(date +%s%N)
expect_eq "rollout advanced" 200 "$STATUS"
check "the advance answered at once ($(((E - S) / 1000000)) ms)" \
    test $((E - S)) -lt 1000000000
expect_eq "every device hinted once in all" $NDEV "$(wait_hints $NDEV)"
expect_eq "each a distinct device" $NDEV "$(hinted | wc -l)"
check "no device of the first stage hinted again" sh -c \
    "[ \$(awk '{ split(\$2, t, \"/\"); print t[3] }' '$T/hints' | sort | uniq -d | wc -l) -eq 0 ]"
# Paced at RATE per second: the N1 hints of the advance span at least
# (N1 - 1) / RATE seconds, less a tick.
SPAN_MS=$(tail -n "$N1" "$T/hints" | awk 'NR == 1 { a = $1 } { b = $1 }
    END { printf "%d\n", (b - a) * 1000 }')
echo "# $N1 hints of the advance in $SPAN_MS ms at $RATE per second"
check "the hints were paced at $RATE per second ($SPAN_MS ms)" \
    test "$SPAN_MS" -ge $(((N1 - 1) * 1000 / RATE - 100))
api GET /metrics "$VIEW"
check "the hints are counted" grep -q \
    "^otad_mqtt_published_total{kind=\"hint\"} $NDEV\$" "$T/body"

# ---- the timer's advance: hints too ----
i=0
while [ $i -lt 100 ]; do
	echo "t-$i"
	i=$((i + 1))
done >"$T/devices2"
post_json /api/v1/groups "$ADMIN" '{"name":"fleet2"}'
post_json /api/v1/devices "$ADMIN" "$(jq -R '{id: ., hardware: "revA",
    groups: ["fleet2"]}' "$T/devices2" | jq -s -c .)"
expect_eq "100 more devices" 201 "$STATUS"
post_json /api/v1/rollouts "$REL" "{\"image\":$IMG,\"groups\":[\"fleet2\"],\"stages\":[10,100],\"advance_after\":60}"
expect_eq "a rollout that advances by itself" 201 "$STATUS"
R2=$(jqb .id)
api POST "/api/v1/rollouts/$R2/start" "$REL"
expect_eq "started" 200 "$STATUS"
api GET "/api/v1/rollouts/$R2/health" "$VIEW"
M0=$(jqb '.stages[0].in_stage')
expect_eq "its first stage hinted" $((NDEV + M0)) "$(wait_hints $((NDEV + M0)))"
# Its stage began long ago, as far as the timer can tell.
sql "UPDATE rollouts SET stage_started_at = '2020-01-01T00:00:00Z' WHERE id = $R2"
check "the timer advances it" log_wait "rollout advanced automatically\" id=$R2 " 1 150
expect_eq "the devices the timer's advance takes in are hinted" \
    $((NDEV + 100)) "$(wait_hints $((NDEV + 100)))"
expect_eq "each device of both rollouts once" $((NDEV + 100)) "$(hinted | wc -l)"

kill $SUB 2>/dev/null
otad_stop
expect_eq "otad stops cleanly" 0 "$?"
check "the hints thread says what it did" grep -q \
    "update hints stopped\" jobs=4 devices=$((NDEV + 100)) sent=$((NDEV + 100)) dropped=0" \
    "$OTAD_LOG"
check "no sanitizer report" sanitizer_clean
broker_stop
finish
