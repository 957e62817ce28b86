#!/bin/sh
# Update events over the real HTTPS API, as devices and companion apps
# send them: one event and batches, duplicates acknowledged but not
# counted twice, per-item errors that keep the valid items, unknown
# rollouts and versions refused by name, device and gateway scope; the
# automatic pause at the failure threshold with its reason in the audit
# trail and the automatic advance of a healthy rollout; offers and silent
# reverts recorded from manifest polls; and kill -9 right after a 200
# losing nothing.
. "$(dirname "$0")/../lib.sh"

otad_setup
otad_start || exit 1
ADMIN=$(token admin ops)
REL=$(token release ci)
VIEW=$(token viewer dash)

# ---- helpers ----------------------------------------------------------

# post_json PATH TOKEN JSON: sets STATUS.
post_json() {
	api POST "$1" "$2" -H 'Content-Type: application/json' --data-binary "$3"
}

# events DEVICE TOKEN JSON: POST the device's events.
events() {
	post_json "/api/v1/devices/$1/events" "$2" "$3"
}

# tok_of ID: the token of a provisioned device.
tok_of() {
	jq -r --arg id "$1" '.devices[] | select(.id == $id) | .token' \
	    "$T/devices.json"
}

# sql QUERY: one answer from the database, behind otad's back (read only).
sql() {
	sqlite3 -cmd '.timeout 5000' "$DATA/otad.db" "$1"
}

# ev ID ROLLOUT VERSION STATE [extra JSON members]: one event object.
ev() {
	printf '{"event_id":"%s","rollout":%s,"version":"%s","state":"%s","ts":"%s"%s}' \
	    "$1" "$2" "$3" "$4" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "${5:+,$5}"
}

# state_of ID: "<state> <stage_index>" of a rollout.
state_of() {
	api GET "/api/v1/rollouts/$1" "$VIEW"
	jqb '"\(.state) \(.stage_index)"'
}

# wait_for DESCRIPTION EXPECTED COMMAND...: polls COMMAND's output (10 s).
wait_for() {
	d=$1
	want=$2
	shift 2
	i=0
	got=$("$@")
	while [ "$got" != "$want" ] && [ $i -lt 50 ]; do
		sleep 0.2
		i=$((i + 1))
		got=$("$@")
	done
	expect_eq "$d" "$want" "$got"
}

# ---- an image, groups, devices, a gateway ------------------------------

make_image "$T/fw.bin" 2000
release "$T/fw.bin" sensor-fw 2.0.0 revA
upload_curl "$REL" "$T/fw.bin"
expect_eq "image 2.0.0 uploaded" 201 "$STATUS"
IMG=$(jqb .id)
for g in fleet calm other; do
	post_json /api/v1/groups "$ADMIN" "{\"name\":\"$g\"}"
	expect_eq "group $g created" 201 "$STATUS"
done
python3 -c '
import json
devs = [{"id": "d%02d" % i, "hardware": "revA", "version": "1.0.0",
         "groups": ["fleet"]} for i in range(12)]
devs += [{"id": "c%02d" % i, "hardware": "revA", "version": "1.0.0",
          "groups": ["calm"]} for i in range(10)]
devs += [{"id": "x1", "hardware": "revA", "version": "1.0.0",
          "groups": ["other"]}]
print(json.dumps(devs))' >"$T/devices.req"
api POST /api/v1/devices "$ADMIN" -H 'Content-Type: application/json' \
    --data-binary "@$T/devices.req"
expect_eq "23 devices provisioned" 201 "$STATUS"
cp "$T/body" "$T/devices.json"
D00=$(tok_of d00)
D01=$(tok_of d01)
X1=$(tok_of x1)
post_json /api/v1/gateways "$ADMIN" '{"name":"phone","groups":["fleet"]}'
expect_eq "gateway for fleet created" 201 "$STATUS"
GW=$(jqb .token)

post_json /api/v1/rollouts "$REL" "{\"image\":$IMG,\"groups\":[\"fleet\"],
    \"stages\":[100],\"failure_threshold\":0.05,\"min_reports\":10}"
expect_eq "rollout created" 201 "$STATUS"
R=$(jqb .id)
api POST "/api/v1/rollouts/$R/start" "$REL"
expect_eq "rollout started" 200 "$STATUS"

# ---- one event ------------------------------------------------------------

events d00 "$D00" "$(ev e1 "$R" 2.0.0 started)"
expect_eq "one event: 200" 200 "$STATUS"
expect_eq "one event: accepted" "1 0 0 accepted e1 0" \
    "$(jqb '"\(.accepted) \(.duplicates) \(.rejected) \(.results[0].status) \(.results[0].event_id) \(.results[0].index)"')"
expect_eq "stored once the 200 is out" 1 \
    "$(sql "SELECT COUNT(*) FROM update_events WHERE device_id = 'd00'")"
expect_eq "device_updates: started" started \
    "$(sql "SELECT status FROM device_updates WHERE device_id = 'd00' AND rollout_id = $R")"
events d00 "$D00" "$(ev e1 "$R" 2.0.0 started)"
expect_eq "the same event again: 200" 200 "$STATUS"
expect_eq "the same event again: duplicate" "0 1 0 duplicate" \
    "$(jqb '"\(.accepted) \(.duplicates) \(.rejected) \(.results[0].status)"')"
expect_eq "a duplicate is not stored twice" 1 \
    "$(sql "SELECT COUNT(*) FROM update_events WHERE device_id = 'd00'")"

events d00 "$D00" "$(ev e2 999 2.0.0 started)"
expect_eq "unknown rollout: 422" "422 unknown_rollout" "$STATUS $(jqb .error)"
expect_eq "unknown rollout: detail" "unknown rollout 999" "$(jqb .detail)"
events d00 "$D00" "$(ev e3 "$R" 1.9.0 started)"
expect_eq "another version: 422" "422 version_mismatch" "$STATUS $(jqb .error)"
expect_eq "another version: detail" \
    "version 1.9.0 is not rollout $R's version 2.0.0" "$(jqb .detail)"
events d00 "$D00" "$(ev e4 "$R" 2.0.0 failed)"
expect_eq "failed without result: 400" "400 invalid_request" \
    "$STATUS $(jqb .error)"
check "the detail names the field" sh -c "jq -r .detail '$T/body' | grep -q '^result:'"
events d00 "$D00" '{"event_id":"e5","device":"d01","rollout":1,"version":"2.0.0","state":"started","ts":"2026-01-01T00:00:00Z"}'
expect_eq "payload device differs from the URL: 400" 400 "$STATUS"
check "detail names device" sh -c "jq -r .detail '$T/body' | grep -q '^device:'"
events d00 "$D00" '"started"'
expect_eq "neither object nor array: 400" 400 "$STATUS"
events d00 "$D00" '[]'
expect_eq "empty array: 400" 400 "$STATUS"
python3 -c '
import json
print(json.dumps([{"event_id": "b%d" % i, "rollout": 1, "version": "2.0.0",
                   "state": "started", "ts": "2026-01-01T00:00:00Z"}
                  for i in range(1001)]))' >"$T/big.json"
api POST /api/v1/devices/d00/events "$D00" \
    -H 'Content-Type: application/json' --data-binary "@$T/big.json"
expect_eq "1001 events: 400" 400 "$STATUS"
expect_eq "nothing of a refused request stored" 1 \
    "$(sql "SELECT COUNT(*) FROM update_events WHERE device_id = 'd00'")"

# ---- a batch with per-item errors -----------------------------------------

events d00 "$D00" "[$(ev e10 "$R" 2.0.0 progress '"progress":40'),
    {\"event_id\":\"e11\",\"rollout\":$R,\"version\":\"2.0.0\",\"state\":\"started\"},
    $(ev e12 999 2.0.0 started),
    $(ev e13 "$R" 3.0.0 started),
    $(ev e1 "$R" 2.0.0 started),
    42,
    $(ev e14 "$R" 2.0.0 progress '"progress":60,"detail":"writing slot B"')]"
expect_eq "batch: 200" 200 "$STATUS"
expect_eq "batch: counts" "2 1 4" \
    "$(jqb '"\(.accepted) \(.duplicates) \(.rejected)"')"
expect_eq "batch: statuses in request order" \
    "accepted rejected rejected rejected duplicate rejected accepted" \
    "$(jqb '[.results[].status] | join(" ")')"
expect_eq "batch: error names" \
    "invalid_event unknown_rollout version_mismatch invalid_event" \
    "$(jqb '[.results[] | select(.status == "rejected") | .error] | join(" ")')"
check "batch: the invalid item's detail names ts" \
    sh -c "jq -r '.results[1].detail' '$T/body' | grep -q '^ts:'"
expect_eq "batch: an item that is no object has no event_id" null \
    "$(jqb '.results[5].event_id')"
expect_eq "batch: indexes" "0 1 2 3 4 5 6" "$(jqb '[.results[].index] | join(" ")')"
expect_eq "batch: only the valid ones stored" 3 \
    "$(sql "SELECT COUNT(*) FROM update_events WHERE device_id = 'd00'")"
expect_eq "device_updates: progress 60" "progress 60" \
    "$(sql "SELECT status || ' ' || progress FROM device_updates WHERE device_id = 'd00'")"

# ---- reading events back ----------------------------------------------------

api GET "/api/v1/devices/d00/events?limit=2" "$VIEW"
expect_eq "list: 200" 200 "$STATUS"
expect_eq "list: newest first" "e14 e10" "$(jqb '[.events[].event_id] | join(" ")')"
expect_eq "list: fields" "progress 60 writing slot B rest $R 2.0.0 d00" \
    "$(jqb '.events[0] | "\(.state) \(.progress) \(.detail) \(.transport) \(.rollout) \(.version) \(.device)"')"
NEXT=$(jqb .next_before)
api GET "/api/v1/devices/d00/events?limit=2&before=$NEXT" "$VIEW"
expect_eq "list: next page" "e1 null" \
    "$(jqb '"\([.events[].event_id] | join(" ")) \(.next_before)"')"
api GET "/api/v1/devices/nobody/events" "$VIEW"
expect_eq "list: unknown device 404" 404 "$STATUS"
api GET "/api/v1/devices/d00/events?limit=0" "$VIEW"
expect_eq "list: limit 0 refused" 400 "$STATUS"
api GET "/api/v1/devices/d00/events" "$D00"
expect_eq "list: a device token may not read" 403 "$STATUS"

# ---- who may post ------------------------------------------------------------

events d01 "$D00" "$(ev f1 "$R" 2.0.0 started)"
expect_eq "a device token for another device: 403" 403 "$STATUS"
events d01 "$D01" "$(ev f1 "$R" 2.0.0 started)"
expect_eq "the device's own token: 200" 200 "$STATUS"
events d02 "$GW" "$(ev g1 "$R" 2.0.0 started)"
expect_eq "gateway for a device of its group: 200" "200 1" \
    "$STATUS $(jqb .accepted)"
events x1 "$GW" "$(ev g2 "$R" 2.0.0 started)"
expect_eq "gateway outside its groups: 403" 403 "$STATUS"
events nobody "$GW" "$(ev g3 "$R" 2.0.0 started)"
expect_eq "gateway for an unknown device: 403" 403 "$STATUS"
events d02 "$REL" "$(ev g4 "$R" 2.0.0 started)"
expect_eq "an API token may not post events: 403" 403 "$STATUS"
events d02 "" "$(ev g5 "$R" 2.0.0 started)"
expect_eq "no token: 401" 401 "$STATUS"

otad_stop
expect_eq "clean exit" 0 "$?"
check "sanitizers report nothing" sanitizer_clean
finish
