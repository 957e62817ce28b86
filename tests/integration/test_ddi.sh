#!/bin/sh
# hawkBit DDI over the real HTTPS API, as SWUpdate, Zephyr or
# rauc-hawkbit-updater speak it (curl stands in for them): 401 for every
# refused caller, the tenant, configData asked for until received (a raw
# newline in its body), the deploymentBase of a running rollout with its
# hashes and artifact links (full, resumed with Range, HEAD, .MD5SUM),
# feedback turned into telemetry (started, completed, failed with its
# details, counted by the health gate that pauses a rollout), an action
# never offered again once closed, cancelAction for an aborted rollout
# and for a device that left its group, gateway tokens, the same decision
# as the REST manifest, a paused rollout carrying on running actions,
# retried feedback stored once, and malformed or foreign requests refused.
. "$(dirname "$0")/../lib.sh"

otad_setup
export OTAD_DDI_SLEEP_SEC=300
export OTAD_DDI_ACTION_SLEEP_SEC=30
otad_start || exit 1
ADMIN=$(token admin ops)
REL=$(token release ci)
VIEW=$(token viewer dash)

# ---- helpers (ddi and $DDI: tests/lib.sh) -------------------------------

# poll ID AUTH: the DDI poll of device ID.
poll() {
	ddi GET "$DDI/$1" "$2"
}

# feedback ID ACTION AUTH JSON [cancel]: POSTs a feedback.
feedback() {
	kind=deploymentBase
	[ "${5:-}" = cancel ] && kind=cancelAction
	ddi POST "$DDI/$1/$kind/$2/feedback" "$3" \
	    -H 'Content-Type: application/json' --data-binary "$4"
}

# fb ACTION EXECUTION FINISHED [DETAIL] [CNT OF]: a feedback body as
# SWUpdate builds it.
fb() {
	prog=""
	[ -n "${5:-}" ] && prog=",\"progress\":{\"cnt\":$5,\"of\":$6}"
	printf '{"id":"%s","time":"20261121T181754","status":{"execution":"%s","result":{"finished":"%s"%s},"details":["%s"]}}' \
	    "$1" "$2" "$3" "$prog" "${4:-}"
}

# action_of HREF: the action id in a deploymentBase or cancelAction href.
action_of() {
	printf '%s' "$1" | sed -E 's|.*/(deploymentBase\|cancelAction)/([0-9]+).*|\2|'
}

# state_of ID: the state of a rollout.
state_of() {
	api GET "/api/v1/rollouts/$1" "$VIEW"
	jqb .state
}

# rollout GROUP EXTRA_JSON: creates and starts a rollout of $IMG; prints
# its id.
rollout() {
	post_json /api/v1/rollouts "$REL" "{\"image\":$IMG,\"groups\":[\"$1\"]$2}"
	[ "$STATUS" = 201 ] || { fail "rollout for $1: $STATUS $(body)"; return; }
	r=$(jqb .id)
	api POST "/api/v1/rollouts/$r/start" "$REL"
	[ "$STATUS" = 200 ] || fail "rollout $r start: $STATUS $(body)"
	echo "$r"
}

# ---- an image, groups, devices, a gateway ------------------------------

make_image "$T/fw.swu" 300000
release "$T/fw.swu" sensor-fw 2.0.0 revA --filename "fw 2.swu"
upload_curl "$REL" "$T/fw.swu"
expect_eq "image 2.0.0 (filename 'fw 2.swu') uploaded" 201 "$STATUS"
IMG=$(jqb .id)
groups_create fleet fail out paused
cat >"$T/devices.req" <<'EOF'
[{"id":"d1","hardware":"revA","groups":["fleet"]},
 {"id":"d2","hardware":"revA","version":"1.0.0","groups":["fleet"]},
 {"id":"d3","hardware":"revA","version":"1.0.0","groups":["fleet"]},
 {"id":"f1","hardware":"revA","version":"1.0.0","groups":["fail"]},
 {"id":"o1","hardware":"revA","version":"1.0.0","groups":["out"]},
 {"id":"p1","hardware":"revA","version":"1.0.0","groups":["paused"]},
 {"id":"p2","hardware":"revA","version":"1.0.0","groups":["paused"]},
 {"id":"r1","hardware":"revA","version":"1.0.0","groups":["fleet"]}]
EOF
devices_provision
D1="TargetToken $(tok_of d1)"
D2="TargetToken $(tok_of d2)"
D3="TargetToken $(tok_of d3)"
F1="TargetToken $(tok_of f1)"
O1="TargetToken $(tok_of o1)"
P1="TargetToken $(tok_of p1)"
P2="TargetToken $(tok_of p2)"
post_json /api/v1/gateways "$ADMIN" '{"name":"phone","groups":["fleet"]}'
expect_eq "gateway for fleet created" 201 "$STATUS"
GW=$(jqb .token)

R1=$(rollout fleet ',"stages":[100]')

# ---- refusals: 401 as hawkBit, 404 for another tenant --------------------

poll d1 ""
expect_eq "no Authorization: 401 unauthorized" "401 unauthorized" \
    "$STATUS $(jqb .error)"
expect_eq "its challenge names the DDI schemes, not Bearer" \
    'TargetToken realm="otad", GatewayToken realm="otad"' \
    "$(header WWW-Authenticate)"
poll d1 "$D2"
expect_eq "a refused token's challenge too" \
    'TargetToken realm="otad", GatewayToken realm="otad"' \
    "$(header WWW-Authenticate)"
poll d1 "Bearer $ADMIN"
expect_eq "an API token: 401" 401 "$STATUS"
poll d1 "TargetToken $ADMIN"
expect_eq "an API token as TargetToken: 401" 401 "$STATUS"
poll d1 "$D2"
expect_eq "another device's TargetToken: 401" 401 "$STATUS"
poll d1 "GatewayToken $(tok_of d1)"
expect_eq "a device token as GatewayToken: 401" 401 "$STATUS"
poll f1 "GatewayToken $GW"
expect_eq "a gateway out of its scope: 401" 401 "$STATUS"
poll ghost "GatewayToken $GW"
expect_eq "an unknown controller (gateway): 401" 401 "$STATUS"
poll ghost "$D1"
expect_eq "an unknown controller (device token): 401" 401 "$STATUS"
R1TOK=$(tok_of r1)
api POST /api/v1/devices/r1/token "$ADMIN"
expect_eq "r1's token rotated" 201 "$STATUS"
poll r1 "TargetToken $R1TOK"
expect_eq "a revoked token: 401" 401 "$STATUS"
ddi GET "/other/controller/v1/d1" "$D1"
expect_eq "another tenant: 404" "404 not_found" "$STATUS $(jqb .error)"
ddi GET "/default/controller/v1/d1" "$D1"
expect_eq "the tenant is case-insensitive" 200 "$STATUS"

# ---- configData: asked for until received --------------------------------

poll d1 "$D1"
expect_eq "poll: 200" 200 "$STATUS"
expect_eq "no version yet: configData asked for, no deployment" \
    "$BASE$DDI/d1/configData null 00:05:00" \
    "$(jqb '"\(._links.configData.href) \(._links.deploymentBase) \(.config.polling.sleep)"')"
printf '{"id":"","time":"20261121T181754","status":{"execution":"closed","result":{"finished":"success"},"details":[]},"data":{"hw_revision":"revA","sw_version":"1.0.0","note":"line one\nline two"}}' >"$T/config.json"
check "the configData body holds a raw newline" grep -q '^line two' "$T/config.json"
ddi PUT "$DDI/d1/configData" "$D1" -H 'Content-Type: application/json' \
    --data-binary "@$T/config.json"
expect_eq "configData: 200 with an empty body" "200 0" \
    "$STATUS $(wc -c <"$T/body")"
api GET /api/v1/devices/d1 "$VIEW"
expect_eq "the device's hardware, version and attributes" \
    "revA 1.0.0 1.0.0 line one
line two" \
    "$(jqb '"\(.hardware) \(.version) \(.attributes.sw_version) \(.attributes.note)"')"
ddi PUT "$DDI/d1/configData" "$D1" -H 'Content-Type: application/json' \
    --data-binary '{"data":{"sw_version":"not a version"}}'
expect_eq "configData with an invalid version: 400 naming it" \
    "400 invalid_request" "$STATUS $(jqb .error)"
check "the detail names sw_version" sh -c "jq -r .detail '$T/body' | grep -q sw_version"

# ---- a running rollout: deploymentBase -----------------------------------

poll d1 "$D1"
DEP1=$(jqb ._links.deploymentBase.href)
expect_eq "configData received: the link is gone" null \
    "$(jqb ._links.configData)"
check "deploymentBase link with ?c=" sh -c "printf '%s' '$DEP1' | grep -Eq '^$BASE$DDI/d1/deploymentBase/[0-9]+[?]c=[0-9a-f]{16}\$'"
expect_eq "an action open: the shorter sleep" 00:00:30 \
    "$(jqb .config.polling.sleep)"
A1=$(action_of "$DEP1")
poll d1 "$D1"
expect_eq "the same action (and hash) on the next poll" "$DEP1" \
    "$(jqb ._links.deploymentBase.href)"
api GET "/api/v1/devices/d1/manifest" "$(tok_of d1)"
expect_eq "the REST manifest offers it too" 200 "$STATUS"
wait_for "the poll is recorded as an offer (seen)" "offered 1" 10 \
    sql "SELECT u.status || ' ' ||
    CASE WHEN d.last_seen_at IS NOT NULL THEN 1 ELSE 0 END FROM
    device_updates u JOIN device_seen d ON d.device_id = u.device_id
    WHERE u.device_id = 'd1' AND u.rollout_id = $R1"

ddi GET "${DEP1#"$BASE"}" "$D1"
expect_eq "deploymentBase: 200" 200 "$STATUS"
cp "$T/body" "$T/dep1.json"
expect_eq "deploymentBase: id, forced, one chunk" \
    "$A1 forced forced os 2.0.0 sensor-fw" \
    "$(jqb '"\(.id) \(.deployment.download) \(.deployment.update) \(.deployment.chunks[0].part) \(.deployment.chunks[0].version) \(.deployment.chunks[0].name)"')"
ART='.deployment.chunks[0].artifacts[0]'
expect_eq "artifact: filename and size" "fw 2.swu 300000" \
    "$(jqb "\"\(${ART}.filename) \(${ART}.size)\"")"
expect_eq "artifact: sha1 = sha1sum" "$(sha1sum "$T/fw.swu" | cut -c1-40)" \
    "$(jqb "${ART}.hashes.sha1")"
expect_eq "artifact: md5 = md5sum" "$(md5sum "$T/fw.swu" | cut -c1-32)" \
    "$(jqb "${ART}.hashes.md5")"
expect_eq "artifact: sha256 = sha256sum" \
    "$(sha256sum "$T/fw.swu" | cut -c1-64)" "$(jqb "${ART}.hashes.sha256")"
DL=$(jqb "${ART}._links.download.href")
expect_eq "download-http is the same href" "$DL" \
    "$(jqb "${ART}._links[\"download-http\"].href")"
check "download href: the encoded file name" sh -c "printf '%s' '$DL' | grep -q '/softwaremodules/$IMG/artifacts/fw%202.swu\$'"
expect_eq "md5sum href" "$DL.MD5SUM" "$(jqb "${ART}._links.md5sum.href")"

# ---- the artifact: full, resumed, HEAD, .MD5SUM ----------------------------

ddi GET "${DL#"$BASE"}" "$D1"
expect_eq "artifact GET: 200" 200 "$STATUS"
check "artifact GET: the exact bytes" cmp "$T/body" "$T/fw.swu"
ddi GET "${DL#"$BASE"}" "$D1" -H 'Range: bytes=100000-'
expect_eq "artifact resumed: 206" 206 "$STATUS"
tail -c 200000 "$T/fw.swu" >"$T/tail.bin"
check "artifact resumed: the exact remaining bytes" cmp "$T/body" "$T/tail.bin"
head -c 100000 "$T/fw.swu" >"$T/joined.bin"
cat "$T/body" >>"$T/joined.bin"
check "resumed download joins to the image" cmp "$T/joined.bin" "$T/fw.swu"
ddi HEAD "${DL#"$BASE"}" "$D1" -I
expect_eq "artifact HEAD: 200, its length" "200 300000" \
    "$STATUS $(header Content-Length)"
ddi GET "${DL#"$BASE"}.MD5SUM" "$D1"
expect_eq "MD5SUM: 200" 200 "$STATUS"
mkdir -p "$T/md5" && cp "$T/fw.swu" "$T/md5/fw 2.swu" && cp "$T/body" "$T/md5/sum"
check "MD5SUM verifies with md5sum -c" sh -c "cd '$T/md5' && md5sum -c sum"
ddi GET "$DDI/d1/softwaremodules/$IMG/artifacts/other.swu" "$D1"
expect_eq "another file name: 404" 404 "$STATUS"
ddi GET "$DDI/o1/softwaremodules/$IMG/artifacts/fw%202.swu" "$O1"
expect_eq "a device outside the image's rollouts: 404" 404 "$STATUS"

# ---- feedback -> telemetry ------------------------------------------------

feedback d1 "$A1" "$D1" '{"status":{}}'
expect_eq "malformed feedback: 400 JSON" "400 invalid_request" \
    "$STATUS $(jqb .error)"
head -c 1100000 /dev/zero | tr '\0' ' ' >"$T/big.json"
feedback d1 "$A1" "$D1" "@$T/big.json"
expect_eq "feedback over max_json_bytes: 413 (the lax parse keeps the cap)" \
    413 "$STATUS"
feedback d1 "$A1" "$D1" 'not json'
expect_eq "feedback that is not JSON: 400" "400 invalid_json" \
    "$STATUS $(jqb .error)"
feedback d1 "$A1" "$D1" "$(fb 77 proceeding none 'x')"
expect_eq "feedback naming another action id: 400" 400 "$STATUS"
feedback d1 "$A1" "$D1" "$(fb "$A1" proceeding none 'Installing' 0 1)"
expect_eq "feedback proceeding: 200 with an empty body" "200 0" \
    "$STATUS $(wc -c <"$T/body")"
feedback d1 "$A1" "$D1" "$(fb "$A1" proceeding none 'Installing' 0 1)"
feedback d1 "$A1" "$D1" "$(fb "$A1" proceeding none 'Installing' 0 1)"
expect_eq "the same feedback twice more: 200" 200 "$STATUS"
api GET /api/v1/devices/d1/events "$VIEW"
expect_eq "one started event, transport ddi" "1 started ddi 2.0.0 $R1" \
    "$(jqb '"\(.events | length) \(.events[0].state) \(.events[0].transport) \(.events[0].version) \(.events[0].rollout)"')"
api GET "/api/v1/devices/d1/actions/$A1/feedback" "$VIEW"
expect_eq "every feedback recorded (3), action running" \
    "3 deployment proceeding none 0 1 running" \
    "$(jqb '"\(.feedback | length) \(.feedback[0].kind) \(.feedback[0].execution) \(.feedback[0].finished) \(.feedback[0].progress.cnt) \(.feedback[0].progress.of) \(.feedback[0].status_after)"')"
api GET "/api/v1/rollouts/$R1/health" "$VIEW"
expect_eq "health: started 1" 1 "$(jqb .total.started)"
# SWUpdate's hand-built JSON: a raw newline in details.
printf '{"id":"%s","time":"20261121T181754","status":{"execution":"proceeding","result":{"finished":"none","progress":{"cnt":1,"of":1}},"details":["log line\nsecond line"]}}' "$A1" >"$T/raw.json"
feedback d1 "$A1" "$D1" "@$T/raw.json"
expect_eq "feedback with a raw newline in details: 200" 200 "$STATUS"
api GET /api/v1/devices/d1/events "$VIEW"
expect_eq "progress event (cnt 1 of 1 = 100%)" "progress 100" \
    "$(jqb '.events[0] | "\(.state) \(.progress)"')"

feedback d1 "$A1" "$D1" "$(fb "$A1" closed success 'Update done')"
expect_eq "feedback closed+success: 200" 200 "$STATUS"
api GET /api/v1/devices/d1/events "$VIEW"
expect_eq "completed event" "completed ddi" \
    "$(jqb '.events[0] | "\(.state) \(.transport)"')"
api GET /api/v1/devices/d1 "$VIEW"
expect_eq "the device now runs 2.0.0" 2.0.0 "$(jqb .version)"
poll d1 "$D1"
expect_eq "closed: never offered again, installedBase shown" \
    "null $BASE$DDI/d1/installedBase/$A1 00:05:00" \
    "$(jqb '"\(._links.deploymentBase) \(._links.installedBase.href) \(.config.polling.sleep)"')"
ddi GET "$DDI/d1/installedBase/$A1" "$D1"
expect_eq "installedBase: the deployment" "200 $A1 2.0.0" \
    "$STATUS $(jqb '"\(.id) \(.deployment.chunks[0].version)"')"
ddi GET "${DEP1#"$BASE"}" "$D1"
expect_eq "deploymentBase of a closed action: 404" 404 "$STATUS"
feedback d1 "$A1" "$D1" "$(fb "$A1" closed success 'Update done')"
expect_eq "closed feedback retried: 200" 200 "$STATUS"
api GET /api/v1/devices/d1/events "$VIEW"
expect_eq "retried closed feedback: still one completed event" 1 \
    "$(jqb '[.events[] | select(.state == "completed")] | length')"
api GET /api/v1/devices/d1/actions "$VIEW"
expect_eq "actions list: closed, success" "1 $A1 $R1 closed success" \
    "$(jqb '"\(.actions | length) \(.actions[0].id) \(.actions[0].rollout) \(.actions[0].status) \(.actions[0].result)"')"
check "closed_at set" sh -c "jq -e '.actions[0].closed_at | test(\"Z\$\")' '$T/body'"

# ---- foreign actions ---------------------------------------------------------

ddi GET "$DDI/d2/deploymentBase/$A1" "$D2"
expect_eq "another device's action: 404" 404 "$STATUS"
feedback d2 "$A1" "$D2" "$(fb "$A1" proceeding none 'x')"
expect_eq "feedback on another device's action: 404" 404 "$STATUS"
feedback d2 999999 "$D2" "$(fb 999999 proceeding none 'x')"
expect_eq "feedback on an unknown action: 404" 404 "$STATUS"

# ---- gateway, configData refresh ---------------------------------------------

poll d2 "GatewayToken $GW"
expect_eq "a gateway token polls a device of its group" 200 "$STATUS"
DEP2=$(jqb ._links.deploymentBase.href)
A2=$(action_of "$DEP2")
check "d2 gets its own action" test "$A2" -gt "$A1"
api POST /api/v1/devices/d1/attributes/refresh "$ADMIN"
expect_eq "attributes refresh: 200" "200 d1 true" \
    "$STATUS $(jqb '"\(.device) \(.attributes_wanted)"')"
api POST /api/v1/devices/d1/attributes/refresh "$VIEW"
expect_eq "attributes refresh needs admin" 403 "$STATUS"
poll d1 "$D1"
expect_eq "refresh asked: configData link again" "$BASE$DDI/d1/configData" \
    "$(jqb ._links.configData.href)"

# ---- the device leaves the group: cancelAction -----------------------------

poll d3 "$D3"
A3=$(action_of "$(jqb ._links.deploymentBase.href)")
check "d3 has an action" test -n "$A3"
post_json /api/v1/groups/fleet/members "$ADMIN" '{"remove":["d3"]}'
expect_eq "d3 leaves fleet" 200 "$STATUS"
poll d3 "$D3"
expect_eq "left the group: cancelAction, shorter sleep" \
    "$BASE$DDI/d3/cancelAction/$A3 null 00:00:30" \
    "$(jqb '"\(._links.cancelAction.href) \(._links.deploymentBase) \(.config.polling.sleep)"')"
ddi GET "$DDI/d3/cancelAction/$A3" "$D3"
expect_eq "cancelAction JSON" "200 $A3 $A3" \
    "$STATUS $(jqb '"\(.id) \(.cancelAction.stopId)"')"
feedback d3 "$A3" "$D3" "$(fb "$A3" closed success 'canceled')" cancel
expect_eq "cancel feedback: 200 empty" "200 0" "$STATUS $(wc -c <"$T/body")"
poll d3 "$D3"
expect_eq "canceled: no more action links" "null null" \
    "$(jqb '"\(._links.deploymentBase) \(._links.cancelAction)"')"

# ---- abort with an open action: cancelAction ------------------------------

api POST "/api/v1/rollouts/$R1/abort" "$REL"
expect_eq "rollout 1 aborted" 200 "$STATUS"
poll d2 "$D2"
expect_eq "aborted rollout: cancelAction" "$BASE$DDI/d2/cancelAction/$A2" \
    "$(jqb ._links.cancelAction.href)"
ddi GET "${DEP2#"$BASE"}" "$D2"
expect_eq "deploymentBase of a canceling action: 404" 404 "$STATUS"
feedback d2 "$A2" "$D2" "$(fb "$A2" closed success 'canceled')" cancel
expect_eq "cancel feedback closed: 200" 200 "$STATUS"
api GET /api/v1/devices/d2/actions "$VIEW"
expect_eq "the action is canceled" canceled "$(jqb '.actions[0].status')"
poll d2 "$D2"
expect_eq "no more action links" "null null" \
    "$(jqb '"\(._links.deploymentBase) \(._links.cancelAction)"')"

# ---- failure: details kept, counted by the health gate --------------------

R2=$(rollout fail ',"stages":[100],"failure_threshold":0.5,"min_reports":1')
poll f1 "$F1"
AF=$(action_of "$(jqb ._links.deploymentBase.href)")
check "f1 has an action" test -n "$AF"
feedback f1 "$AF" "$F1" "$(fb "$AF" closed failure 'checksum mismatch')"
expect_eq "closed+failure: 200" 200 "$STATUS"
api GET /api/v1/devices/f1/events "$VIEW"
expect_eq "failed event with its details" "failed 8 checksum mismatch ddi" \
    "$(jqb '.events[0] | "\(.state) \(.result) \(.detail) \(.transport)"')"
wait_for "1/1 failed at 50%: the rollout paused itself" paused 10 state_of "$R2"
api GET "/api/v1/rollouts/$R2/health" "$VIEW"
expect_eq "health: failed 1, breached" "1 true" \
    "$(jqb '"\(.total.failed) \(.breached)"')"
api GET /api/v1/devices/f1 "$VIEW"
expect_eq "a failure leaves the version" 1.0.0 "$(jqb .version)"
poll f1 "$F1"
expect_eq "a failed (closed) action is not offered again" null \
    "$(jqb ._links.deploymentBase)"

# ---- the same decision as the REST manifest ---------------------------------

R3=$(rollout out ',"stages":[0.01,100]')
api GET "/api/v1/rollouts/$R3" "$VIEW"
SALT=$(jqb .salt)
BUCKET=$(python3 -c '
import hashlib, sys
h = hashlib.blake2b(b"o1", key=bytes.fromhex(sys.argv[1]), digest_size=8)
print(int.from_bytes(h.digest(), "little") % 10000)' "$SALT")
api GET /api/v1/devices/o1/manifest "$(tok_of o1)"
REST=$STATUS
poll o1 "$O1"
DDI_DEP=$(jqb '._links.deploymentBase != null')
if [ "$BUCKET" -ge 1 ]; then
	expect_eq "out of stage: REST 204, no deploymentBase" "204 false" \
	    "$REST $DDI_DEP"
else
	expect_eq "in stage (bucket 0): REST 200, deploymentBase" "200 true" \
	    "$REST $DDI_DEP"
fi

# ---- a paused rollout: no new action, a running one carries on ----------------

R4=$(rollout paused ',"stages":[100]')
poll p1 "$P1"
AP=$(action_of "$(jqb ._links.deploymentBase.href)")
feedback p1 "$AP" "$P1" "$(fb "$AP" proceeding none 'Downloading')"
expect_eq "p1 running" 200 "$STATUS"
api POST "/api/v1/rollouts/$R4/pause" "$REL"
expect_eq "rollout 4 paused" 200 "$STATUS"
poll p2 "$P2"
expect_eq "paused: no new deploymentBase" null \
    "$(jqb ._links.deploymentBase)"
api GET /api/v1/devices/p2/manifest "$(tok_of p2)"
expect_eq "paused: REST 204 too" 204 "$STATUS"
poll p1 "$P1"
expect_eq "paused: the running action is still served" \
    "$AP" "$(action_of "$(jqb ._links.deploymentBase.href)")"

# ---- configData at once: one commit for many ------------------------------------

# Concurrent configData share one transaction.  Each must be stored and
# reach the very next poll (the device cache forgets every device of the
# commit), two of one device must both be merged, and one refused (an
# invalid version) must not fail those committed with it.
cp "$T/devices.json" "$T/devices.main.json"
{
	printf '['
	for i in 1 2 3 4 5 6 7 8 9 10 11 12; do
		[ "$i" = 1 ] || printf ','
		printf '{"id":"c%s","hardware":"revA","groups":["cc"]}' "$i"
	done
	printf ']'
} >"$T/devices.req"
groups_create cc
devices_provision "12 devices for concurrent configData"
cp "$T/devices.json" "$T/devices.cc.json"
cp "$T/devices.main.json" "$T/devices.json"
rollout cc ',"stages":[100]' >/dev/null
for i in 1 2 3 4 5 6 7 8 9 10 11 12; do
	poll "c$i" "TargetToken $(jq -r --arg id "c$i" \
	    '.devices[] | select(.id == $id) | .token' "$T/devices.cc.json")"
	printf '%s %s\n' "$STATUS" "$(jqb ._links.deploymentBase)"
done >"$T/cc.before"
expect_eq "no version yet: 12 polls, no deployment" "12" \
    "$(grep -c '^200 null$' "$T/cc.before")"
# cc_put N DEVICE JSON: one configData in the background, its status in
# $T/cc.N.
cc_put() {
	curl -s -o /dev/null -w '%{http_code}' --cacert "$DATA/tls/cert.pem" \
	    -X PUT -H "Authorization: TargetToken $(jq -r --arg id "$2" \
	    '.devices[] | select(.id == $id) | .token' "$T/devices.cc.json")" \
	    -H 'Content-Type: application/json' --data-binary "$3" \
	    "$BASE$DDI/$2/configData" >"$T/cc.$1" &
	CC_PIDS="$CC_PIDS $!"
}
CC_PIDS=
for i in 1 2 3 4 5 6 7 8 9 10 11 12; do
	cc_put "$i" "c$i" \
	    "{\"data\":{\"hw_revision\":\"revA\",\"sw_version\":\"1.0.$i\"}}"
done
cc_put a c1 '{"data":{"first":"a"}}'
cc_put b c1 '{"data":{"second":"b"}}'
cc_put bad c2 '{"data":{"sw_version":"not a version"}}'
# shellcheck disable=SC2086
wait $CC_PIDS
expect_eq "12 concurrent configData: 200 each" \
    "200 200 200 200 200 200 200 200 200 200 200 200 200 200 400" \
    "$(for f in 1 2 3 4 5 6 7 8 9 10 11 12 a b bad; do
	cat "$T/cc.$f"; echo; done | tr '\n' ' ' | sed 's/ $//')"
got=""
for i in 1 2 3 4 5 6 7 8 9 10 11 12; do
	api GET "/api/v1/devices/c$i" "$VIEW"
	got="$got $(jqb .version)"
done
expect_eq "each device's version stored" \
    " 1.0.1 1.0.2 1.0.3 1.0.4 1.0.5 1.0.6 1.0.7 1.0.8 1.0.9 1.0.10 1.0.11 1.0.12" \
    "$got"
api GET /api/v1/devices/c1 "$VIEW"
expect_eq "two configData of one device: both merged" "a b 1.0.1" \
    "$(jqb '"\(.attributes.first) \(.attributes.second) \(.attributes.sw_version)"')"
for i in 1 2 3 4 5 6 7 8 9 10 11 12; do
	poll "c$i" "TargetToken $(jq -r --arg id "c$i" \
	    '.devices[] | select(.id == $id) | .token' "$T/devices.cc.json")"
	printf '%s %s\n' "$STATUS" "$(jqb ._links.configData)"
	action_of "$(jqb ._links.deploymentBase.href)"
	echo
done >"$T/cc.after"
expect_eq "the very next polls: no configData link, a deployment each" \
    "12 12" \
    "$(grep -c '^200 null$' "$T/cc.after") $(grep -Ec '^[0-9]+$' "$T/cc.after")"

# ---- a silent revert said in configData ---------------------------------------

# d1 completed 2.0.0 (rollout 1).  Its agent starts again on the old
# firmware and says so in configData (SWUpdate sends it at every start):
# the update is counted reverted, as a REST poll with 1.0.0 would be.
sleep 1 # the report must come after the completion (second resolution)
ddi PUT "$DDI/d1/configData" "$D1" -H 'Content-Type: application/json' \
    --data-binary '{"data":{"hw_revision":"revA","sw_version":"1.0.0"}}'
expect_eq "configData with the old version: 200" 200 "$STATUS"
wait_for "the completed update is now reverted" reverted 10 \
    sql "SELECT status FROM device_updates WHERE device_id = 'd1' AND rollout_id = $R1"
api GET "/api/v1/rollouts/$R1/health" "$VIEW"
expect_eq "health counts the revert" "1 0" \
    "$(jqb '"\(.total.reverted) \(.total.completed)"')"
api GET /api/v1/devices/d1/events "$VIEW"
expect_eq "the revert is in the device's trail" "reverted otad" \
    "$(jqb '.events[0] | "\(.state) \(.transport)"')"

# ---- metrics, shutdown ------------------------------------------------------

api GET /metrics "$VIEW"
check "metrics: DDI polls by result" grep -q '^otad_ddi_polls_total{result="deploy"} [1-9]' "$T/body"
check "metrics: DDI events" grep -q '^otad_events_total{transport="ddi",state="completed"} 1' "$T/body"
check "no token in the log" sh -c "! grep -q '$(tok_of d1)' '$OTAD_LOG'"
# configData parked for their group commit when the stop comes: each is
# answered (200: committed) or its connection closed, none hangs.
CC_PIDS=
for i in 1 2 3 4 5 6 7 8 9 10 11 12; do
	cc_put "stop$i" "c$i" \
	    "{\"data\":{\"hw_revision\":\"revA\",\"stop\":\"$i\"}}"
done
otad_stop
expect_eq "otad stops cleanly" 0 "$?"
# shellcheck disable=SC2086
wait $CC_PIDS
expect_eq "configData at the stop: each answered 200 or closed" "" \
    "$(for i in 1 2 3 4 5 6 7 8 9 10 11 12; do cat "$T/cc.stop$i"; echo
    done | grep -v -x -e 200 -e 000)"
check "no sanitizer report" sanitizer_clean
finish
