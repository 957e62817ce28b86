#!/bin/sh
# Devices, groups and gateway tokens through the real HTTPS API: single
# and bulk provisioning (every refusal stores nothing), list filters and
# pages, labels, delete, token rotation and revocation, the role matrix
# for people, devices and gateways, bulk membership, and that no token
# ever reaches the log.
. "$(dirname "$0")/../lib.sh"

otad_setup
otad_start || exit 1
ADMIN=$(token admin ops)
REL=$(token release ci)
VIEW=$(token viewer dash)

# ndev: how many devices the store holds (through the API).
ndev() {
	api GET "/api/v1/devices?limit=1000" "$VIEW"
	jqb '.devices | length'
}

# refused NAME STATUS DETAIL: the last request got STATUS and a JSON
# error whose detail is DETAIL, and no device was stored ($BEFORE).
refused() {
	st=$STATUS
	det=$(jqb .detail)
	expect_eq "$1: status" "$2" "$st"
	expect_eq "$1: detail" "$3" "$det"
	expect_eq "$1: nothing stored" "$BEFORE" "$(ndev)"
}

# Groups.
post_json /api/v1/groups "$ADMIN" '{"name":"lab","description":"bench units"}'
expect_eq "group create: 201" 201 "$STATUS"
expect_eq "group create: body" "lab|bench units|0" \
    "$(jqb '[.name, .description, .devices] | map(tostring) | join("|")')"
post_json /api/v1/groups "$ADMIN" '{"name":"field"}'
expect_eq "second group: 201" 201 "$STATUS"
post_json /api/v1/groups "$ADMIN" '{"name":"lab"}'
expect_eq "duplicate group: 409" 409 "$STATUS"
post_json /api/v1/groups "$ADMIN" '{"name":"no spaces"}'
expect_eq "bad group name: 400" 400 "$STATUS"
post_json /api/v1/groups "$ADMIN" '{"name":"x","colour":"red"}'
expect_eq "unknown group field: 400 names it" "unknown field 'colour'" "$(jqb .detail)"
api GET /api/v1/groups "$VIEW"
expect_eq "groups listed by name" "field lab" "$(jqb '[.groups[].name] | join(" ")')"
api GET /api/v1/groups/nope "$VIEW"
expect_eq "unknown group: 404" 404 "$STATUS"

# Single provisioning: an object.
post_json /api/v1/devices "$ADMIN" '{"id":"solo-1","hardware":"revA"}'
expect_eq "single device: 201" 201 "$STATUS"
expect_eq "single device: its id" solo-1 "$(jqb '.devices[0].id')"
SOLO=$(jqb '.devices[0].token')
check "single device: a token" sh -c "printf '%s' '$SOLO' | grep -qE '^otad_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$'"

# Bulk: an array, answered in request order.
post_json /api/v1/devices "$ADMIN" '[
 {"id":"d3","hardware":"revB","version":"1.0.0","groups":["lab"],"labels":{"site":"lyon"}},
 {"id":"d1","hardware":"revA","version":"1.0.0","groups":["lab","field"]},
 {"id":"d2","hardware":"revB","version":"2.0.0-rc.1"},
 {"id":"d4","hardware":"revB","groups":["field"]},
 {"id":"d5","hardware":"revB","version":null,"labels":null}]'
expect_eq "bulk: 201" 201 "$STATUS"
expect_eq "bulk: request order" "d3 d1 d2 d4 d5" "$(jqb '[.devices[].id] | join(" ")')"
expect_eq "bulk: distinct tokens" 5 "$(jqb '[.devices[].token] | unique | length')"
D1=$(jqb '.devices[1].token')
D2=$(jqb '.devices[2].token')
jqb '.devices[].token' >"$T/tokens"
echo "$SOLO" >>"$T/tokens"
BEFORE=$(ndev)
expect_eq "six devices stored" 6 "$BEFORE"

api GET /api/v1/devices/d3 "$VIEW"
expect_eq "get device" 'd3|revB|1.0.0|lyon|lab|false' \
    "$(jqb '[.id, .hardware, .version, .labels.site, (.groups | join(",")), (.created_at == null)] | map(tostring) | join("|")')"
expect_eq "never seen: last_seen_at null" null "$(jqb .last_seen_at)"
api GET /api/v1/devices/d5 "$VIEW"
expect_eq "no version: null" null "$(jqb .version)"
expect_eq "no labels: {}" '{}' "$(jqb '.labels | tojson')"
api GET /api/v1/devices/ghost "$VIEW"
expect_eq "unknown device: 404" 404 "$STATUS"

# Every refusal names the field and stores nothing.
post_json /api/v1/devices "$ADMIN" '[{"id":"n1","hardware":"revA"},{"id":"bad id","hardware":"revA"}]'
refused "bad id" 400 "devices[1].id: must be 1..128 characters of [A-Za-z0-9._:-]"
post_json /api/v1/devices "$ADMIN" '[{"id":"n1"}]'
refused "missing hardware" 400 "devices[0].hardware: required"
post_json /api/v1/devices "$ADMIN" '[{"id":"n1","hardware":"revA","version":"v1"}]'
refused "bad version" 400 "devices[0].version: must be a SemVer 2.0 version"
post_json /api/v1/devices "$ADMIN" '{"id":"n1","hardware":"revA","labels":{"n":1}}'
refused "label value not a string" 400 "labels.n: must be a string"
post_json /api/v1/devices "$ADMIN" '[{"id":"n1","hardware":"revA","labels":[]}]'
refused "labels not an object" 400 "devices[0].labels: must be an object of strings"
post_json /api/v1/devices "$ADMIN" '[{"id":"n1","hardware":"revA","group":["lab"]}]'
refused "unknown field" 400 "devices[0]: unknown field 'group'"
post_json /api/v1/devices "$ADMIN" '[{"id":"n1","hardware":"revA","groups":["a b"]}]'
refused "bad group name" 400 "devices[0].groups[0]: must be a group name (1..64 of [A-Za-z0-9._-])"
post_json /api/v1/devices "$ADMIN" '[]'
refused "empty array" 400 "devices: 1..10000 per request, got 0"
post_json /api/v1/devices "$ADMIN" '"d9"'
refused "neither object nor array" 400 "body must be a device object or an array of them"
api POST /api/v1/devices "$ADMIN"
refused "no body on a JSON route" 400 "body must be a device object or an array of them"
api POST /api/v1/devices "$ADMIN" -H 'Content-Length: 0'
refused "empty body on a JSON route" 400 "body must be a device object or an array of them"
post_json /api/v1/devices "$ADMIN" '[{"id":"n1",'
expect_eq "truncated JSON: 400 invalid_json" "400 invalid_json" "$STATUS $(jqb .error)"
post_json /api/v1/devices "$ADMIN" '{"id":"n1","id":"n2","hardware":"revA"}'
expect_eq "duplicate key: 400 invalid_json" "400 invalid_json" "$STATUS $(jqb .error)"
post_json /api/v1/devices "$ADMIN" '[{"id":"n1","hardware":"revA"},{"id":"d2","hardware":"revA"},{"id":"n2","hardware":"revA"}]'
refused "existing id" 409 "devices[1].id: device 'd2' already exists"
post_json /api/v1/devices "$ADMIN" '[{"id":"n1","hardware":"revA"},{"id":"n2","hardware":"revA"},{"id":"n1","hardware":"revB"}]'
refused "repeated id" 409 "devices[2].id: 'n1' repeats devices[0].id"
post_json /api/v1/devices "$ADMIN" '[{"id":"n1","hardware":"revA","groups":["lab"]},{"id":"n2","hardware":"revA","groups":["field","ghost"]}]'
refused "unknown group" 404 "devices[1].groups[1]: no group named 'ghost'"
api GET /api/v1/groups/lab "$VIEW"
expect_eq "refused batches added no member" 2 "$(jqb .devices)"
# 10,001 entries: over the per-call bound.
jq -cn '[range(10001) | {id: "x\(.)", hardware: "revA"}]' >"$T/over.json"
api POST /api/v1/devices "$ADMIN" --data-binary "@$T/over.json"
refused "10,001 devices" 400 "devices: 1..10000 per request, got 10001"
head -c 1100000 /dev/zero | tr '\0' ' ' >"$T/big.json"
api POST /api/v1/devices "$ADMIN" --data-binary "@$T/big.json"
expect_eq "body over max_json_bytes: 413" 413 "$STATUS"

# 10,000 devices in one call, all in group "bulk"; then the same batch
# with one existing id at the very end is refused whole.
post_json /api/v1/groups "$ADMIN" '{"name":"bulk"}'
jq -cn '[range(10000) | {id: "bulk-\(. + 100000)", hardware: "revC", groups: ["bulk"]}]' >"$T/bulk.json"
t0=$(date +%s%N)
api POST /api/v1/devices "$ADMIN" --data-binary "@$T/bulk.json"
t1=$(date +%s%N)
expect_eq "10,000 devices in one call: 201" 201 "$STATUS"
echo "     (10,000 devices provisioned in $(((t1 - t0) / 1000000)) ms)"
expect_eq "10,000 distinct tokens" 10000 "$(jqb '[.devices[].token] | unique | length')"
expect_eq "10,000 answered in order" "bulk-100000 bulk-109999" "$(jqb '[.devices[0].id, .devices[9999].id] | join(" ")')"
jqb '.devices[].token' >>"$T/tokens"
api GET /api/v1/groups/bulk "$VIEW"
expect_eq "group bulk has 10,000 members" 10000 "$(jqb .devices)"
jq -cn '[range(10000) | {id: "late-\(.)", hardware: "revC", groups: ["bulk"]}] + [{id: "d1", hardware: "revA"}] | .[1:]' >"$T/late.json"
api POST /api/v1/devices "$ADMIN" --data-binary "@$T/late.json"
expect_eq "10,000 with the last id taken: 409" 409 "$STATUS"
expect_eq "10,000 with the last id taken: detail" "devices[9999].id: device 'd1' already exists" "$(jqb .detail)"
api GET /api/v1/devices/late-1 "$VIEW"
expect_eq "refused batch: first device absent" 404 "$STATUS"
api GET /api/v1/groups/bulk "$VIEW"
expect_eq "refused batch: group bulk unchanged" 10000 "$(jqb .devices)"
# Large bodies leave freed memory in the heap: it goes back to the
# system once they have been quiet for a second (memtrim).
i=0
while [ $i -lt 50 ] && ! grep -q 'msg="heap trimmed"' "$OTAD_LOG"; do
	sleep 0.1
	i=$((i + 1))
done
check "heap trimmed after the large requests" grep -q 'msg="heap trimmed"' "$OTAD_LOG"
# The poll-report writer yields to the threads answering polls: its nice
# is 5 above otad's (at most 19).
main_nice=$(awk '{ print $19 }' "/proc/$OTAD_PID/stat")
seen_nice=$(for t in /proc/"$OTAD_PID"/task/*; do
	[ "$(cat "$t/comm")" = otad-seen ] && awk '{ print $19 }' "$t/stat"
done)
want_nice=$((main_nice + 5 < 19 ? main_nice + 5 : 19))
expect_eq "poll-report writer at nice +5" "$want_nice" "$seen_nice"

# List filters and pages.
api GET "/api/v1/devices?group=lab" "$VIEW"
expect_eq "filter group" "d1 d3" "$(jqb '[.devices[].id] | join(" ")')"
api GET "/api/v1/devices?hardware=revB" "$VIEW"
expect_eq "filter hardware" "d2 d3 d4 d5" "$(jqb '[.devices[].id] | join(" ")')"
api GET "/api/v1/devices?hardware=revB&group=field" "$VIEW"
expect_eq "filter hardware+group" "d4" "$(jqb '[.devices[].id] | join(" ")')"
api GET "/api/v1/devices?version=1.0.0" "$VIEW"
expect_eq "filter version" "d1 d3" "$(jqb '[.devices[].id] | join(" ")')"
api GET "/api/v1/devices?seen_after=2000-01-01T00:00:00Z" "$VIEW"
expect_eq "filter seen_after: none seen yet" 0 "$(jqb '.devices | length')"
sql "INSERT INTO device_seen (device_id, last_seen_at) VALUES ('d4', '2026-02-01T00:00:00Z')"
api GET "/api/v1/devices?seen_after=2026-01-01T00:00:00Z" "$VIEW"
expect_eq "filter seen_after" d4 "$(jqb '[.devices[].id] | join(" ")')"
api GET "/api/v1/devices?seen_before=2026-01-01T00:00:00Z&hardware=revB" "$VIEW"
expect_eq "filter seen_before (never seen included)" "d2 d3 d5" "$(jqb '[.devices[].id] | join(" ")')"
ids=""
after=""
pages=0
while [ $pages -lt 10 ]; do
	api GET "/api/v1/devices?hardware=revB&limit=2$after" "$VIEW"
	page=$(jqb '[.devices[].id] | join(" ")')
	[ -n "$page" ] && ids="$ids $page"
	pages=$((pages + 1))
	next=$(jqb .next_after)
	[ "$next" = null ] && break
	after="&after=$next"
done
expect_eq "pages of 2 walk every device once" " d2 d3 d4 d5" "$ids"
expect_eq "pages: a last page with next_after null" 3 "$pages"
api GET "/api/v1/devices?group=bulk&limit=1000&after=bulk-108999" "$VIEW"
expect_eq "bulk group: last full page" "1000 bulk-109999" "$(jqb '[(.devices | length), .next_after] | map(tostring) | join(" ")')"
api GET "/api/v1/devices?group=bulk&limit=1000&after=bulk-109999" "$VIEW"
expect_eq "bulk group: empty page after the end" "0 null" "$(jqb '[(.devices | length), .next_after] | map(tostring) | join(" ")')"
api GET "/api/v1/devices?limit=0" "$VIEW"
expect_eq "limit 0: 400" 400 "$STATUS"
expect_eq "limit 0: the detail names the range" \
    "limit: must be an integer 1..1000" "$(jqb .detail)"
api GET "/api/v1/devices?limit=1001" "$VIEW"
expect_eq "limit 1001: 400" 400 "$STATUS"
api GET "/api/v1/devices?seen_after=yesterday" "$VIEW"
expect_eq "bad seen_after: 400 names it" "400 seen_after" "$STATUS $(jqb '.detail | split(":")[0]')"
api GET "/api/v1/devices?version=latest" "$VIEW"
expect_eq "bad version filter: 400" 400 "$STATUS"
api GET "/api/v1/devices?group=ghost" "$VIEW"
expect_eq "unknown group filter: 404" 404 "$STATUS"

# Labels.
api PATCH /api/v1/devices/d1 "$ADMIN" --data-binary '{"labels":{"site":"oslo","rack":"7"}}'
expect_eq "patch labels: 200" 200 "$STATUS"
expect_eq "patch labels: replaced" '{"rack":"7","site":"oslo"}' "$(jqb '.labels | tojson')"
api PATCH /api/v1/devices/d1 "$ADMIN" --data-binary "{\"labels\":{\"k\":\"$(head -c 257 /dev/zero | tr '\0' v)\"}}"
expect_eq "patch: value over 256 characters: 400" "400 labels.k: at most 256 characters" "$STATUS $(jqb .detail)"
api PATCH /api/v1/devices/d1 "$ADMIN" --data-binary '{"version":"9.9.9"}'
expect_eq "patch: only labels and hardware may change" "400 unknown field 'version'" "$STATUS $(jqb .detail)"
api PATCH /api/v1/devices/d1 "$ADMIN" --data-binary '{"hardware":"rev Z","labels":{}}'
expect_eq "patch: an invalid hardware: 400 naming it" "400 hardware" "$STATUS $(jqb .detail | cut -d: -f1)"
api PATCH /api/v1/devices/d1 "$ADMIN"
expect_eq "patch without a body: 400" 400 "$STATUS"
api GET /api/v1/devices/d1 "$VIEW"
expect_eq "refused patches changed nothing" '{"rack":"7","site":"oslo"}|revA' "$(jqb '(.labels | tojson) + "|" + .hardware')"
api PATCH /api/v1/devices/ghost "$ADMIN" --data-binary '{"labels":{}}'
expect_eq "patch unknown device: 404" 404 "$STATUS"

# Role matrix.
post_json /api/v1/devices "$VIEW" '{"id":"v1","hardware":"revA"}'
expect_eq "viewer cannot provision: 403" 403 "$STATUS"
post_json /api/v1/devices "$REL" '{"id":"v1","hardware":"revA"}'
expect_eq "release cannot provision: 403" 403 "$STATUS"
post_json /api/v1/groups "$VIEW" '{"name":"v"}'
expect_eq "viewer cannot create groups: 403" 403 "$STATUS"
api DELETE /api/v1/devices/d1 "$VIEW"
expect_eq "viewer cannot delete devices: 403" 403 "$STATUS"
api GET /api/v1/gateways "$VIEW"
expect_eq "viewer cannot list gateways: 403" 403 "$STATUS"
api GET /api/v1/devices "$D1"
expect_eq "device token on a viewer route: 403" 403 "$STATUS"
expect_eq "device token: why" "device tokens may only poll and download" "$(jqb .detail)"
post_json /api/v1/devices "$D1" '{"id":"v1","hardware":"revA"}'
expect_eq "device token on an admin route: 403" 403 "$STATUS"
api DELETE /api/v1/images/1 "$D1"
expect_eq "device token cannot delete images: 403" 403 "$STATUS"
api GET /api/v1/devices/v1 "$VIEW"
expect_eq "refused provisioning stored nothing" 404 "$STATUS"

# Token rotation: the old token stops, the new one is recognised (a
# device token on a viewer route is 403, not 401).
api POST /api/v1/devices/d1/token "$ADMIN"
expect_eq "rotate: 201" 201 "$STATUS"
expect_eq "rotate: names the device" d1 "$(jqb .id)"
D1NEW=$(jqb .token)
echo "$D1NEW" >>"$T/tokens"
check "rotate: a new token" test "$D1NEW" != "$D1"
api GET /api/v1/devices "$D1"
expect_eq "rotated-out token: 401" 401 "$STATUS"
api GET /api/v1/devices "$D1NEW"
expect_eq "new token recognised: 403" 403 "$STATUS"
api POST /api/v1/devices/ghost/token "$ADMIN"
expect_eq "rotate unknown device: 404" 404 "$STATUS"
api DELETE /api/v1/devices/d1/token "$ADMIN"
expect_eq "revoke: 204" 204 "$STATUS"
check "revoke: no body" test ! -s "$T/body"
api GET /api/v1/devices "$D1NEW"
expect_eq "revoked token: 401" 401 "$STATUS"
api GET /api/v1/devices/d1 "$VIEW"
expect_eq "revoke keeps the device" 200 "$STATUS"

# Components: declared at provisioning, shown in name order, replaced
# whole by PATCH, gone with their device; a device with none shows [].
comps() { jqb '[.components[] | "\(.name):\(.hardware):\(.version)"] | join(" ")'; }
post_json /api/v1/devices "$ADMIN" '[{"id":"mc-1","hardware":"board-b","components":[
 {"name":"ncp","hardware":"esp32c6-r1","version":"1.2.0"},{"name":"mcu","hardware":"nrf52840"}]}]'
expect_eq "components: 201" 201 "$STATUS"
api GET /api/v1/devices/mc-1 "$VIEW"
expect_eq "components: in name order" "mcu:nrf52840:null ncp:esp32c6-r1:1.2.0" "$(comps)"
api GET /api/v1/devices/d3 "$VIEW"
expect_eq "no components: []" "[]" "$(jqb '.components | tojson')"
api GET "/api/v1/devices?hardware=board-b" "$VIEW"
expect_eq "components in the list" 2 "$(jqb '[.devices[] | select(.id == "mc-1") | .components[]] | length')"
BEFORE=$(ndev)
post_json /api/v1/devices "$ADMIN" '[{"id":"mc-2","hardware":"b"},{"id":"mc-3","hardware":"b","components":[
 {"name":"ncp","hardware":"x"},{"name":"ncp","hardware":"y"}]}]'
refused "components: a name twice" 400 "devices[1].components[1].name: 'ncp' named twice"
post_json /api/v1/devices "$ADMIN" '{"id":"mc-2","hardware":"b","components":[{"name":"NCP","hardware":"x"}]}'
refused "components: bad name" 400 "components[0].name: must be 1..32 characters of [a-z0-9._-]"
post_json /api/v1/devices "$ADMIN" '{"id":"mc-2","hardware":"b","components":[{"name":"ncp","hardware":"x","version":"v1"}]}'
refused "components: bad version" 400 "components[0].version: must be a SemVer 2.0 version"
post_json /api/v1/devices "$ADMIN" '{"id":"mc-2","hardware":"b","components":[{"name":"ncp"}]}'
refused "components: no hardware" 400 "components[0].hardware: must be 1..64 characters of [A-Za-z0-9._:-]"
post_json /api/v1/devices "$ADMIN" '{"id":"mc-2","hardware":"b","components":[{"name":"ncp","hardware":"x","rev":"2"}]}'
refused "components: unknown key" 400 "components[0]: unknown field 'rev'"
many=$(seq 1 17 | sed 's/.*/{"name":"c&","hardware":"h"}/' | paste -sd, -)
post_json /api/v1/devices "$ADMIN" "{\"id\":\"mc-2\",\"hardware\":\"b\",\"components\":[$many]}"
refused "components: over 16" 400 "components: at most 16 components"
api PATCH /api/v1/devices/mc-1 "$ADMIN" --data-binary '{"components":[{"name":"sensor-hub","hardware":"stm32","version":"0.9.0"}]}'
expect_eq "components patch: replaced whole" "200 sensor-hub:stm32:0.9.0" "$STATUS $(comps)"
api PATCH /api/v1/devices/mc-1 "$ADMIN" --data-binary '{"hardware":"board-c","components":[{"name":"a","hardware":"x"},{"name":"a","hardware":"x"}]}'
expect_eq "components patch: bad set 400" "400 components[1].name: 'a' named twice" "$STATUS $(jqb .detail)"
api GET /api/v1/devices/mc-1 "$VIEW"
expect_eq "components patch: nothing changed on 400" "board-b sensor-hub:stm32:0.9.0" "$(jqb .hardware) $(comps)"
api PATCH /api/v1/devices/mc-1 "$ADMIN" --data-binary '{"components":[]}'
expect_eq "components patch: [] clears" "200 []" "$STATUS $(jqb '.components | tojson')"
api PATCH /api/v1/devices/ghost "$ADMIN" --data-binary '{"components":[]}'
expect_eq "components patch: unknown device 404" 404 "$STATUS"
api PATCH /api/v1/devices/mc-1 "$ADMIN" --data-binary '{"components":[{"name":"ncp","hardware":"x","version":"2.0.0"}]}'
api DELETE /api/v1/devices/mc-1 "$ADMIN"
expect_eq "components: device delete 204" 204 "$STATUS"
post_json /api/v1/devices "$ADMIN" '{"id":"mc-1","hardware":"board-b"}'
api GET /api/v1/devices/mc-1 "$VIEW"
expect_eq "components: gone with their device" "[]" "$(jqb '.components | tojson')"
api DELETE /api/v1/devices/mc-1 "$ADMIN"

# Delete.
api DELETE /api/v1/devices/d2 "$ADMIN"
expect_eq "delete: 204" 204 "$STATUS"
api GET /api/v1/devices/d2 "$VIEW"
expect_eq "deleted device: 404" 404 "$STATUS"
api GET /api/v1/devices "$D2"
expect_eq "deleted device's token: 401" 401 "$STATUS"
api DELETE /api/v1/devices/d2 "$ADMIN"
expect_eq "delete again: 404" 404 "$STATUS"

# Bulk membership.
post_json /api/v1/groups/field/members "$ADMIN" '{"add":["d3","d5","d1"]}'
expect_eq "members add: 200" 200 "$STATUS"
expect_eq "members add: counts (d1 already in)" "2 0" "$(jqb '"\(.added) \(.removed)"')"
post_json /api/v1/groups/field/members "$ADMIN" '{"add":["d3","ghost"],"remove":["d1"]}'
expect_eq "members: unknown device 404 names it" "404 add[1]: no device 'ghost'" "$STATUS $(jqb .detail)"
api GET /api/v1/groups/field "$VIEW"
expect_eq "members: nothing changed on 404" 4 "$(jqb .devices)"
post_json /api/v1/groups/field/members "$ADMIN" '{"add":["bad id"]}'
expect_eq "members: bad id 400 names it" "400 add[0]" "$STATUS $(jqb '.detail | split(":")[0]')"
post_json /api/v1/groups/field/members "$ADMIN" '{"remove":["d1","d4","nobody"]}'
expect_eq "members remove: counts" "0 2" "$(jqb '"\(.added) \(.removed)"')"
api GET "/api/v1/devices?group=field" "$VIEW"
expect_eq "members now" "d3 d5" "$(jqb '[.devices[].id] | join(" ")')"
post_json /api/v1/groups/ghost/members "$ADMIN" '{"add":["d1"]}'
expect_eq "members of an unknown group: 404" 404 "$STATUS"
post_json /api/v1/groups/field/members "$VIEW" '{"add":["d1"]}'
expect_eq "viewer cannot change members: 403" 403 "$STATUS"

# Gateway tokens.
post_json /api/v1/gateways "$ADMIN" '{"name":"phone-app","groups":["field","lab"]}'
expect_eq "gateway create: 201" 201 "$STATUS"
expect_eq "gateway create: body" "phone-app|field,lab" "$(jqb '.name + "|" + (.groups | join(","))')"
GW=$(jqb .token)
GWID=$(jqb .id)
echo "$GW" >>"$T/tokens"
check "gateway token carries its id" sh -c "printf '%s' '$GW' | grep -q '^otad_${GWID}_'"
post_json /api/v1/gateways "$ADMIN" '{"name":"phone-app","groups":["lab"]}'
expect_eq "gateway: active name taken: 409" 409 "$STATUS"
# A name shaped like a token id (this gateway's, or any) is refused: the
# revoke route reads such a key as an id, so it names one token only.
post_json /api/v1/gateways "$ADMIN" "{\"name\":\"$GWID\",\"groups\":[\"lab\"]}"
expect_eq "gateway named like another's id: 400" 400 "$STATUS"
post_json /api/v1/gateways "$ADMIN" '{"name":"0123456789abcdef","groups":["lab"]}'
expect_eq "gateway named like a token id: 400" 400 "$STATUS"
api DELETE /api/v1/gateways/0123456789abcdef "$ADMIN"
expect_eq "revoke of an unknown id says it looked for an id" \
    "404 no active gateway token with id '0123456789abcdef'" "$STATUS $(jqb .detail)"
api GET /api/v1/gateways "$ADMIN"
expect_eq "gateway: still only phone-app, active" "phone-app null" \
    "$(jqb '.gateways | map("\(.name) \(.revoked_at)") | join(";")')"
post_json /api/v1/gateways "$ADMIN" '{"name":"other","groups":["lab","ghost"]}'
expect_eq "gateway: unknown group 404 names it" "404 groups[1]: no group named 'ghost'" "$STATUS $(jqb .detail)"
post_json /api/v1/gateways "$ADMIN" '{"name":"other","groups":[]}'
expect_eq "gateway: no group: 400" 400 "$STATUS"
api GET /api/v1/gateways "$ADMIN"
expect_eq "gateway list: one, never used" "phone-app null null" "$(jqb '.gateways | map("\(.name) \(.last_used_at) \(.revoked_at)") | join(";")')"
check "gateway list shows no token" sh -c "! grep -qF '${GW#otad_}' '$T/body'"
api GET /api/v1/devices "$GW"
expect_eq "gateway token on a viewer route: 403" "403 gateway tokens may only poll and download" "$STATUS $(jqb .detail)"
post_json /api/v1/groups "$GW" '{"name":"mine"}'
expect_eq "gateway token on an admin route: 403" 403 "$STATUS"
api GET /api/v1/gateways "$ADMIN"
check "gateway use recorded" test "$(jqb '.gateways[0].last_used_at')" != null
api DELETE /api/v1/gateways/phone-app "$ADMIN"
expect_eq "gateway revoke by name: 204" 204 "$STATUS"
api GET /api/v1/devices "$GW"
expect_eq "revoked gateway token: 401" 401 "$STATUS"
api DELETE /api/v1/gateways/phone-app "$ADMIN"
expect_eq "gateway revoke again: 404" 404 "$STATUS"
post_json /api/v1/gateways "$ADMIN" '{"name":"phone-app","groups":["lab"]}'
expect_eq "gateway name free again: 201" 201 "$STATUS"
GW2=$(jqb .token)
GW2ID=$(jqb .id)
echo "$GW2" >>"$T/tokens"
api DELETE "/api/v1/gateways/$GW2ID" "$ADMIN"
expect_eq "gateway revoke by id: 204" 204 "$STATUS"
api GET /api/v1/gateways "$ADMIN"
expect_eq "gateway list keeps revoked ones" "2 2" "$(jqb '"\(.gateways | length) \([.gateways[] | select(.revoked_at != null)] | length)"')"

# Group delete: refused while a live rollout targets the group (planted
# directly: rollouts have their own API), allowed once it ended.
sql "INSERT INTO rollouts (id, image_name, image_version, state, stages_bp, salt, failure_threshold, min_reports, created_at, created_by, updated_at) VALUES (1, 'fw', '1.0.0', 'running', '[10000]', $(sql_blob 0000000000000000000000000000000000000000000000000000000000000000), 0.05, 10, '2026-01-01T00:00:00Z', 'ci', '2026-01-01T00:00:00Z'); INSERT INTO rollout_groups SELECT 1, id FROM device_groups WHERE name = 'lab'"
api DELETE /api/v1/groups/lab "$ADMIN"
expect_eq "delete group of a running rollout: 409" 409 "$STATUS"
sql "UPDATE rollouts SET state = 'aborted' WHERE id = 1"
api DELETE /api/v1/groups/lab "$ADMIN"
expect_eq "delete group: 204" 204 "$STATUS"
api GET /api/v1/groups/lab "$VIEW"
expect_eq "deleted group: 404" 404 "$STATUS"
api GET /api/v1/devices/d3 "$VIEW"
expect_eq "devices stay, without the group" "200 field" "$STATUS $(jqb '.groups | join(",")')"

# No token, device or gateway, ever reaches the log.
sed 's/^otad_//' "$T/tokens" >"$T/secrets"
expect_eq "tokens collected" 10009 "$(wc -l <"$T/secrets" | tr -d ' ')"
check "no token in the log" sh -c "! grep -qF -f '$T/secrets' '$OTAD_LOG'"

otad_stop
expect_eq "SIGTERM: clean exit 0" 0 "$?"
check "sanitizers report nothing" sanitizer_clean
finish
