#!/bin/sh
# Three otad nodes on one database serve one fleet (docs/operations.md):
# a node whose server key differs from the one recorded refuses to start,
# naming both fingerprints, and a download URL signed by node 1 is good
# on node 2; an image uploaded on node 1 and a rollout started on node 2
# are offered by node 3 within a second (PostgreSQL: LISTEN/NOTIFY; on
# SQLite, where nodes are not told, within the offer cache's safety net
# of OFFERS_MAX_AGE_SEC); events sent to all three give the same health
# from each; the automatic pause and each timed advance happen once
# (counted in the audit trail); a consent answer sent to one node changes
# what another offers at once (PostgreSQL: the device cache's marks are
# forgotten on every node); kill -9 of one node under load loses no
# acknowledged event while the others keep serving; and, when images are
# kept in the database (blob_storage), a blob uploaded on node 1 is
# downloaded intact with Range from node 3.
. "$(dirname "$0")/../lib.sh"
. "$TESTS_DIR/nodes.sh"

otad_setup
nodes_database
# Images in the database, when this otad can: then every node serves
# every blob with no shared directory.
BLOBS_SHARED=0
if OTAD_BLOB_STORAGE=database "$OTAD_BIN" --check-config >/dev/null 2>&1; then
	export OTAD_BLOB_STORAGE=database
	BLOBS_SHARED=1
fi
# PostgreSQL tells every node at once; SQLite leaves it to the 5 s reload.
case $OTAD_DATABASE in
/* | sqlite) OFFER_SEC=6 ;;
*) OFFER_SEC=1 ;;
esac

node_start 1 || exit 1
tokens
node_prepare 2
node_prepare 3
node_start 2 || exit 1
node_start 3 || exit 1

# key_id LOG: the server key id a node logged at start.
key_id() {
	sed -n 's/.*msg="server signing key" key_id=\([0-9a-f]*\).*/\1/p' "$1" |
	    head -n 1
}

# ---- one server key for every node ----
KEY=other node_prepare 4
OTAD_DATA_DIR="$T/var4" OTAD_PORT_FILE="$T/node4.ports" \
    timeout 60 "$OTAD_BIN" >"$T/node4.log" 2>&1
expect_eq "a node with another server key refuses to start" 1 "$?"
k1=$(key_id "$T/otad.log")
k4=$(key_id "$T/node4.log")
check "it names its key and the recorded one ($k4, $k1)" \
    grep -q "differs.*key_id=$k4 recorded_key_id=$k1" "$T/node4.log"
expect_eq "nodes 2 and 3 have node 1's key" "$k1 $k1" \
    "$(key_id "$T/node2.log") $(key_id "$T/node3.log")"

# ---- upload on node 1, rollout started on node 2, offered by node 3 ----
node_use 1
make_image "$T/fw.bin" 300000
release "$T/fw.bin" sensor-fw 2.0.0 revA
upload_curl "$REL" "$T/fw.bin"
expect_eq "image uploaded on node 1" 201 "$STATUS"
IMG=$(jqb .id)
SHA=$(sha256sum "$T/fw.bin" | cut -d' ' -f1)
groups_create fleet fleet2 fleet3 fleet4
python3 -c '
import json
devs = [{"id": "n-%02d" % i, "hardware": "revA", "version": "1.0.0",
         "groups": ["fleet"]} for i in range(30)]
devs += [{"id": "f-%02d" % i, "hardware": "revA", "version": "1.0.0",
          "groups": ["fleet2"]} for i in range(12)]
devs += [{"id": "a-%02d" % i, "hardware": "revA", "version": "1.0.0",
          "groups": ["fleet3"]} for i in range(3)]
devs += [{"id": "c-%02d" % i, "hardware": "revA", "version": "1.0.0",
          "groups": ["fleet4"]} for i in range(2)]
print(json.dumps(devs))' >"$T/devices.req"
devices_provision "47 devices provisioned"

# poll NODE DEVICE: the device's manifest from NODE; sets STATUS.
poll() {
	node_use "$1"
	rm -f "$T/body"
	api GET "/api/v1/devices/$2/manifest" "$(tok_of "$2")"
}
poll 3 n-00
expect_eq "node 3: nothing offered yet" 204 "$STATUS"

node_use 2
post_json /api/v1/rollouts "$REL" \
    "{\"image\":$IMG,\"groups\":[\"fleet\"],\"stages\":[100]}"
expect_eq "rollout created on node 2" 201 "$STATUS"
R=$(jqb .id)
api POST "/api/v1/rollouts/$R/start" "$REL"
expect_eq "rollout started on node 2" 200 "$STATUS"
t0=$(date +%s%N)
while :; do
	poll 3 n-00
	[ "$STATUS" = 200 ] && break
	[ $(($(date +%s%N) - t0)) -gt $((OFFER_SEC * 2000000000)) ] && break
	sleep 0.05
done
ms=$((($(date +%s%N) - t0) / 1000000))
expect_eq "node 3 offers the rollout" "200 $R" "$STATUS $(jqb .rollout)"
check "within $OFFER_SEC s (took $ms ms)" test "$ms" -le $((OFFER_SEC * 1000))

# A group's maintenance windows set on node 1 reach node 3's offers as
# fast: a daily hour twelve hours from now is closed now.
# mwin NODE DEVICE: the device's maintenance_window from NODE's manifest.
mwin() {
	poll "$1" "$2"
	jqb .maintenance_window
}
# wait_mwin WANT: polls node 3 until n-02's window is WANT (2 OFFER_SEC).
wait_mwin() {
	t0=$(date +%s%N)
	while [ "$(mwin 3 n-02)" != "$1" ] &&
	    [ $(($(date +%s%N) - t0)) -le $((OFFER_SEC * 2000000000)) ]; do
		sleep 0.05
	done
	ms=$((($(date +%s%N) - t0) / 1000000))
}
node_use 1
api PATCH /api/v1/groups/fleet "$ADMIN" -H 'Content-Type: application/json' \
    --data-binary "{\"maintenance_windows\":\"daily $(printf %02d $((($(date -u +%-H) + 12) % 24))):00 1h UTC\"}"
expect_eq "group windows set on node 1" 200 "$STATUS"
wait_mwin unavailable
expect_eq "node 3: outside the group's window" unavailable "$(mwin 3 n-02)"
check "within $OFFER_SEC s (took $ms ms)" test "$ms" -le $((OFFER_SEC * 1000))
node_use 2
api PATCH /api/v1/groups/fleet "$ADMIN" -H 'Content-Type: application/json' \
    --data-binary '{"maintenance_windows":""}'
wait_mwin available
expect_eq "windows removed on node 2: node 3 says available" available \
    "$(mwin 3 n-02)"

# ---- a download URL signed by node 1 is good on node 2 ----
poll 1 n-01
URL=$(jqb .url)
node_use 1
B1=$BASE
node_use 2
if [ "$BLOBS_SHARED" -eq 0 ]; then
	# Images kept as files: node 2 needs the same files (a shared
	# directory, here a copy).
	cp -p "$T/var/blobs/"* "$T/var2/blobs/"
fi
STATUS=$(curl -s -o "$T/dl" -w '%{http_code}' --cacert "$DATA/tls/cert.pem" \
    "$BASE${URL#"$B1"}")
expect_eq "node 1's download URL works on node 2" \
    "200 $SHA" "$STATUS $(sha256sum "$T/dl" | cut -d' ' -f1)"

# ---- events to all three nodes: the same health from each ----
NOW=$(date -u +%Y-%m-%dT%H:%M:%SZ)
# ev ID ROLLOUT VERSION STATE [EXTRA]: one event object.
ev() {
	printf '{"event_id":"%s","rollout":%s,"version":"%s","state":"%s","ts":"%s"%s}' \
	    "$1" "$2" "$3" "$4" "$NOW" "${5:+,$5}"
}
i=0
while [ $i -lt 15 ]; do
	d=$(printf n-%02d $i)
	st=completed
	[ $((i % 5)) -eq 4 ] && st=started
	node_use $((i % 3 + 1))
	post_json "/api/v1/devices/$d/events" "$(tok_of "$d")" \
	    "[$(ev "h$i" "$R" 2.0.0 "$st")]"
	[ "$STATUS" = 200 ] || fail "event of $d on node $((i % 3 + 1)): $STATUS"
	i=$((i + 1))
done
for n in 1 2 3; do
	node_use $n
	api GET "/api/v1/rollouts/$R/health" "$VIEW"
	# targeted_at is when that node walked the members: its own second.
	jq -S -c 'del(.targeted_at)' "$T/body" >"$T/health$n"
done
expect_eq "health: 12 completed" 12 "$(jq -r .total.completed "$T/health1")"
check "node 2 gives node 1's health" cmp -s "$T/health1" "$T/health2"
check "node 3 gives node 1's health" cmp -s "$T/health1" "$T/health3"

# ---- consent answered on node 1, seen by node 3's device cache ----
# On PostgreSQL only: SQLite nodes are not told of a device's change
# (their device caches would answer from what they read before).
# consent NODE DEVICE: "<status> <consent>" of the device's manifest.
consent() {
	poll "$1" "$2"
	if [ "$STATUS" = 200 ]; then
		echo "$STATUS $(jqb '.consent // "none"')"
	else
		echo "$STATUS none"
	fi
}
# wait_consent DEVICE WANT: polls node 3 until it answers WANT (2 s).
wait_consent() {
	t0=$(date +%s%N)
	while [ "$(consent 3 "$1")" != "$2" ] &&
	    [ $(($(date +%s%N) - t0)) -le 2000000000 ]; do
		sleep 0.05
	done
}
if [ "$OFFER_SEC" -eq 1 ]; then
	node_use 2
	post_json /api/v1/rollouts "$REL" "{\"image\":$IMG,
	    \"groups\":[\"fleet4\"],\"stages\":[100],\"require_consent\":true}"
	RC=$(jqb .id)
	api POST "/api/v1/rollouts/$RC/start" "$REL"
	expect_eq "a consent rollout started on node 2" 200 "$STATUS"
	wait_consent c-00 "200 required"
	expect_eq "node 3 asks c-00 and c-01 for consent" \
	    "200 required|200 required" \
	    "$(consent 3 c-00)|$(consent 3 c-01)"
	node_use 1
	post_json /api/v1/devices/c-00/events "$(tok_of c-00)" \
	    "[$(ev ca "$RC" 2.0.0 accepted)]"
	post_json /api/v1/devices/c-01/events "$(tok_of c-01)" \
	    "[$(ev cd "$RC" 2.0.0 declined)]"
	wait_consent c-00 "200 given"
	expect_eq "node 3: c-00 accepted on node 1, consent given" \
	    "200 given" "$(consent 3 c-00)"
	wait_consent c-01 "204 none"
	expect_eq "node 3: c-01 declined on node 1, told nothing" \
	    "204 none" "$(consent 3 c-01)"
fi

# ---- the automatic pause, once, whichever nodes see the breach ----
make_image "$T/fw2.bin" 2000
release "$T/fw2.bin" sensor-fw 2.1.0 revA
upload_curl "$REL" "$T/fw2.bin"
IMG2=$(jqb .id)
post_json /api/v1/rollouts "$REL" "{\"image\":$IMG2,\"groups\":[\"fleet2\"],
    \"stages\":[100],\"failure_threshold\":0.2,\"min_reports\":3}"
P=$(jqb .id)
api POST "/api/v1/rollouts/$P/start" "$REL"
expect_eq "a second rollout started" 200 "$STATUS"
i=0
PIDS=""
while [ $i -lt 12 ]; do
	d=$(printf f-%02d $i)
	n=$((i % 3 + 1))
	curl -s -o /dev/null --cacert "$(node_dir $n)/tls/cert.pem" \
	    -H "Authorization: Bearer $(tok_of "$d")" \
	    -H 'Content-Type: application/json' \
	    --data-binary "[$(ev "p$i" "$P" 2.1.0 failed '"result":3')]" \
	    "$(sed -n 's/^https_port=/https:\/\/127.0.0.1:/p' "$T/node$n.ports")/api/v1/devices/$d/events" &
	PIDS="$PIDS $!"
	i=$((i + 1))
done
# Not a bare wait: the nodes are this shell's children too.
wait $PIDS
state() { # state ROLLOUT: "state stage_index" as node 1 answers
	node_use 1
	api GET "/api/v1/rollouts/$1" "$VIEW"
	jqb '"\(.state) \(.stage_index)"'
}
wait_for "the breached rollout is paused" "paused 0" 10 state "$P"
sleep 1
pauses() {
	sql "SELECT count(*) FROM rollout_events
	    WHERE rollout_id = $P AND action = 'pause' AND actor = 'otad'"
}
node_use 1
expect_eq "paused once (one audit event)" 1 "$(pauses)"

# ---- each timed advance once, with three timers ----
make_image "$T/fw3.bin" 2000
release "$T/fw3.bin" sensor-fw 2.2.0 revA
upload_curl "$REL" "$T/fw3.bin"
IMG3=$(jqb .id)
post_json /api/v1/rollouts "$REL" "{\"image\":$IMG3,\"groups\":[\"fleet3\"],
    \"stages\":[10,50,100],\"advance_after\":60}"
A=$(jqb .id)
api POST "/api/v1/rollouts/$A/start" "$REL"
expect_eq "a timed rollout started" 200 "$STATUS"
# Each stage made ten minutes old in turn: the timers (every 5 s on each
# node) find it due.
for want in "running 1" "running 2" "completed 2"; do
	old=$(date -u -d '-600 seconds' +%Y-%m-%dT%H:%M:%SZ)
	node_use 1
	sql "UPDATE rollouts SET stage_started_at = '$old' WHERE id = $A"
	wait_for "advanced by a timer to $want" "$want" 15 state "$A"
done
sleep 6
node_use 1
expect_eq "each stage advanced once (three audit events)" 3 \
    "$(sql "SELECT count(*) FROM rollout_events
        WHERE rollout_id = $A AND action = 'advance' AND actor = 'otad'")"

# ---- kill -9 of one node under load ----
# load NODE SECONDS: device events to NODE, one per request, for about
# SECONDS; writes "event_id" of each acknowledged (accepted) event to
# $T/acked.NODE and a line per failed request to $T/failed.NODE.
load() {
	port=$(sed -n 's/^https_port=//p' "$T/node$1.ports")
	ca="$(node_dir "$1")/tls/cert.pem"
	end=$(($(date +%s) + $2))
	k=0
	: >"$T/acked.$1"
	: >"$T/failed.$1"
	while [ "$(date +%s)" -lt $end ]; do
		d=$(printf n-%02d $((15 + k % 15)))
		id="k$1-$k"
		code=$(curl -s -o "$T/load.$1" -w '%{http_code}' --max-time 5 \
		    --cacert "$ca" -H "Authorization: Bearer $(tok_of "$d")" \
		    -H 'Content-Type: application/json' \
		    --data-binary "[$(ev "$id" "$R" 2.0.0 progress "\"progress\":$((k % 100))")]" \
		    "https://127.0.0.1:$port/api/v1/devices/$d/events")
		if [ "$code" = 200 ] &&
		    [ "$(jq -r .accepted "$T/load.$1" 2>/dev/null)" = 1 ]; then
			echo "$id" >>"$T/acked.$1"
		else
			echo "$id $code" >>"$T/failed.$1"
		fi
		k=$((k + 1))
	done
}
load 1 6 &
L1=$!
load 2 6 &
L2=$!
load 3 6 &
L3=$!
sleep 2
node_kill9 2
wait $L1 $L2 $L3
cat "$T/acked.1" "$T/acked.2" "$T/acked.3" | sort >"$T/acked"
node_use 1
sql "SELECT event_id FROM update_events WHERE event_id LIKE 'k%'" |
    sort >"$T/stored"
check "node 2 acknowledged events before it died ($(wc -l <"$T/acked.2"))" \
    test -s "$T/acked.2"
expect_eq "no acknowledged event lost ($(wc -l <"$T/acked") acknowledged)" \
    "" "$(comm -23 "$T/acked" "$T/stored" | head -n 3 | tr '\n' ' ')"
expect_eq "node 1 kept serving" 0 "$(wc -l <"$T/failed.1")"
expect_eq "node 3 kept serving" 0 "$(wc -l <"$T/failed.3")"
poll 3 n-20
expect_eq "node 3 still offers" "200 $R" "$STATUS $(jqb .rollout)"

# ---- a blob uploaded on node 1, downloaded with Range from node 3 ----
if [ "$BLOBS_SHARED" -eq 1 ]; then
	poll 3 n-02
	node_use 3
	curl -s -o "$T/part" -w '%{http_code}' -r 1000-99999 \
	    --cacert "$DATA/tls/cert.pem" "$(jqb .url)" >"$T/code"
	dd if="$T/fw.bin" bs=1000 skip=1 count=99 2>/dev/null >"$T/want"
	expect_eq "node 3 serves node 1's upload with Range: 206" 206 \
	    "$(cat "$T/code")"
	check "the range is intact" cmp -s "$T/part" "$T/want"
	curl -s -o "$T/whole" --cacert "$DATA/tls/cert.pem" "$(jqb .url)"
	expect_eq "and the whole image" "$SHA" \
	    "$(sha256sum "$T/whole" | cut -d' ' -f1)"
else
	echo "skipped: blob from node 1 to node 3 (this otad keeps images" \
	    "as files: no blob_storage = database)"
fi

check "node 3 stops cleanly" node_stop 3
check "node 1 stops cleanly" node_stop 1
finish
