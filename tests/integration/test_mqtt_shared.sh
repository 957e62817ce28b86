#!/bin/sh
# Two otad nodes on one database and one Mosquitto 2.0, both with
# mqtt_shared_group: each subscribes with MQTT 5 to
# $share/{group}/otad/devices/+/events, so the broker hands each event to
# one node: every event is stored once, read by one node only (the
# nodes' message counters add up to the events sent, and both took a
# share), and acknowledged once, as stored.  A node left at the default
# client id takes "otad-{host name}"; the other sets its own.  Node 2
# killed (-9) in a burst: every event acknowledged is stored, and what
# was not is taken by node 1 when the devices send it again.
. "$(dirname "$0")/../lib.sh"
. "$TESTS_DIR/nodes.sh"

otad_setup
nodes_database
broker_setup
broker_start || exit 1
export OTAD_MQTT_HOST=127.0.0.1
export OTAD_MQTT_PORT="$MQ_PORT"
export OTAD_MQTT_SHARED_GROUP=otad
TOPIC='$share/otad/otad/devices/+/events'
NEVENTS=200
NDEV=20

# subscribed I: true once node I's log says it subscribed to the shared
# topic with QoS 1 (15 s at most).
subscribed() {
	node_use "$1"
	log_wait "mqtt subscribed\" topic=$TOPIC qos=1" 1 150
}

# counter I NAME: the value of a /metrics counter of node I.
counter() {
	node_use "$1"
	api GET /metrics "$VIEW"
	awk -v n="$2" '$1 == n { print $2 }' "$T/body"
}

# ---- two nodes, one group ----
node_start 1 || exit 1
node_prepare 2
OTAD_MQTT_CLIENT_ID=otad-node2 node_start 2 || exit 1
check "node 1 subscribes to the shared topic" subscribed 1
check "node 2 subscribes to the shared topic" subscribed 2
host=$(hostname | tr -c 'A-Za-z0-9._:\n-' '-' | cut -c1-59)
node_use 1
check "node 1, at the default client id, is otad-{host name}" \
    log_wait "mqtt connected\" host=127.0.0.1 port=$MQ_PORT client_id=otad-$host "
node_use 2
check "node 2 keeps the client id it was given" \
    log_wait "client_id=otad-node2 "

# ---- a rollout, and devices whose events it is about ----
node_use 1
fleet_setup sd "$NDEV"
rollout_create '[100]'
rollout_start

mosquitto_sub -h 127.0.0.1 -p "$MQ_PORT" -q 1 -v -t 'otad/devices/+/acks' \
    >"$T/acks" 2>"$T/acks.err" &
SUB=$!
EXTRA_CLEANUP="kill $SUB 2>/dev/null; $EXTRA_CLEANUP"
sleep 0.5

# ---- NEVENTS events, one message each, from NDEV devices ----
NOW=$(date -u +%Y-%m-%dT%H:%M:%SZ)
d=0
while [ $d -lt "$NDEV" ]; do
	i=0
	while [ $i -lt $((NEVENTS / NDEV)) ]; do
		printf '{"event_id":"e%d-%d","rollout":%s,"version":"1.1.0","state":"progress","progress":%d,"ts":"%s"}\n' \
		    "$d" "$i" "$R" "$i" "$NOW"
		i=$((i + 1))
	done >"$T/ev$d"
	mosquitto_pub -h 127.0.0.1 -p "$MQ_PORT" -q 1 -i "pub-$$-$d" \
	    -t "otad/devices/sd-$d/events" -l <"$T/ev$d" &
	d=$((d + 1))
done
wait_pubs() {
	for p in $(jobs -p); do
		[ "$p" = "$SUB" ] || wait "$p"
	done
}
wait_pubs

stored() {
	sql "SELECT count(*) || ' ' || count(DISTINCT event_id) FROM update_events
	    WHERE transport = 'mqtt'"
}
node_use 1
wait_for "every event stored, once" "$NEVENTS $NEVENTS" 20 stored
acks() {
	grep -o '"result":"[a-z]*"' "$T/acks" | sort | uniq -c |
	    awk '{ printf "%s%s %s", sep, $1, $2; sep = " " }'
}
wait_for "every event acknowledged once, as stored" \
    "$NEVENTS \"result\":\"stored\"" 15 acks
m1=$(counter 1 otad_mqtt_messages_total)
m2=$(counter 2 otad_mqtt_messages_total)
expect_eq "the nodes read each message once between them" "$NEVENTS" \
    "$((m1 + m2))"
check "node 1 took a share" test "$m1" -gt 0
check "node 2 took a share" test "$m2" -gt 0

# ---- kill -9 of node 2 in a burst: nothing acknowledged is lost ----
# burst FILE_PREFIX: NDEV devices publish NBURST events each at once.
NBURST=20
burst() {
	PUBS=""
	d=0
	while [ $d -lt "$NDEV" ]; do
		[ -s "$1$d" ] && mosquitto_pub -h 127.0.0.1 -p "$MQ_PORT" -q 1 \
		    -i "pub-$$-b$d" -t "otad/devices/sd-$d/events" -l <"$1$d" &
		PUBS="$PUBS $!"
		d=$((d + 1))
	done
}
d=0
while [ $d -lt "$NDEV" ]; do
	i=0
	while [ $i -lt $NBURST ]; do
		printf '{"event_id":"b%d-%d","rollout":%s,"version":"1.1.0","state":"progress","progress":%d,"ts":"%s"}\n' \
		    "$d" "$i" "$R" "$i" "$NOW"
		i=$((i + 1))
	done >"$T/b$d"
	d=$((d + 1))
done
burst "$T/b"
sleep 0.3
node_kill9 2
wait $PUBS
sleep 3
# The burst's events acknowledged (stored or duplicate), and those stored.
acked() {
	grep -o '"event_id":"b[0-9-]*","result":"\(stored\|duplicate\)"' \
	    "$T/acks" | cut -d'"' -f4 | sort -u
}
node_use 1
acked >"$T/acked"
sql "SELECT event_id FROM update_events WHERE event_id LIKE 'b%'" |
    sort >"$T/bstored"
expect_eq "every acknowledged event is stored ($(wc -l <"$T/acked") of $((NDEV * NBURST)) acknowledged)" \
    "" "$(comm -23 "$T/acked" "$T/bstored" | head -n 3 | tr '\n' ' ')"
# The devices send again what was not acknowledged: node 1 alone takes it.
sed 's/.*/"event_id":"&"/' "$T/acked" >"$T/acked.pat"
d=0
while [ $d -lt "$NDEV" ]; do
	grep -v -F -f "$T/acked.pat" "$T/b$d" >"$T/r$d" || :
	d=$((d + 1))
done
burst "$T/r"
wait $PUBS
bstored() {
	sql "SELECT count(*) || ' ' || count(DISTINCT event_id) FROM update_events
	    WHERE event_id LIKE 'b%'"
}
wait_for "after the resend, every event of the burst is stored, once" \
    "$((NDEV * NBURST)) $((NDEV * NBURST))" 15 bstored

check "node 1 stops cleanly" node_stop 1
finish
