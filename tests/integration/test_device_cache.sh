#!/bin/sh
# The device cache (config device_cache) answers a device that polled
# recently from memory (never for its token id with another secret), and
# every change of what a poll reads is seen by
# the very next poll: a revoked token is refused (REST and DDI), a rotated
# one too while the new one works, a deleted device is refused, a new
# hardware (PATCH) loses the offer of the old one, a device added to the
# rollout's group is offered it and one removed is not, and a version the
# device reported (written by the poll-report flush) replaces the cached
# one.  The DDI poll's own facts too (its actions, configData wanted,
# the installed action): configData, a refresh asked, a feedback that
# closes the action, a device leaving the rollout's group, an aborted
# rollout and a deleted device are each seen by the very next DDI poll.
# The same script then runs again on a fresh fleet with device_cache = 0:
# the checks do not depend on the cache being on.  On PostgreSQL, a
# second node on the same database sees a revocation, a group change, a
# label change (a rollout's selector), a configData and a rollout aborted
# through node 1 within a second.
. "$(dirname "$0")/../lib.sh"
. "$TESTS_DIR/nodes.sh"

otad_setup
# Not nodes_database: a SQLite file named by 'database' may be shared,
# which turns the cache off; one node of SQLite keeps the default.
node_start 1 || exit 1
tokens
make_image "$T/fw.bin" 2000
release "$T/fw.bin" sensor-fw 1.1.0 revA
upload_curl "$REL" "$T/fw.bin"
expect_eq "image 1.1.0 for revA uploaded" 201 "$STATUS"
IMG=$(jqb .id)
groups_create fleet spare
post_json /api/v1/rollouts "$REL" \
    "{\"image\":$IMG,\"groups\":[\"fleet\"],\"stages\":[100]}"
expect_eq "rollout of group fleet created" 201 "$STATUS"
R=$(jqb .id)
api POST "/api/v1/rollouts/$R/start" "$REL"
expect_eq "rollout started" 200 "$STATUS"

# poll ID TOKEN [QUERY]: the status of the device's manifest poll (twice:
# the second one is answered from the cache when it is on).
poll() {
	api GET "/api/v1/devices/$1/manifest${3-?version=1.0.0}" "$2"
	api GET "/api/v1/devices/$1/manifest${3-?version=1.0.0}" "$2"
	echo "$STATUS"
}

# ddi_poll ID TOKEN: the status of the device's DDI poll.
ddi_poll() {
	ddi GET "$DDI/$1" "TargetToken $2"
	ddi GET "$DDI/$1" "TargetToken $2"
	echo "$STATUS"
}

# ddi_links ID TOKEN: the status of the device's DDI poll (twice, as
# ddi_poll) and the names of its answer's links, e.g.
# "200 configData,deploymentBase".
ddi_links() {
	ddi GET "$DDI/$1" "TargetToken $2"
	ddi GET "$DDI/$1" "TargetToken $2"
	[ "$STATUS" = 200 ] || { echo "$STATUS"; return; }
	echo "$STATUS $(jq -r '._links // {} | keys | join(",")' "$T/body")"
}

# ddi_rollout GROUP: creates and starts a rollout of $IMG to GROUP;
# prints its id.
ddi_rollout() {
	post_json /api/v1/rollouts "$REL" \
	    "{\"image\":$IMG,\"groups\":[\"$1\"],\"stages\":[100]}"
	[ "$STATUS" = 201 ] || { fail "rollout of $1: $STATUS"; return; }
	rid=$(jqb .id)
	api POST "/api/v1/rollouts/$rid/start" "$REL"
	[ "$STATUS" = 200 ] || fail "rollout $rid start: $STATUS"
	echo "$rid"
}

# ddi_scenario P WHAT: the DDI poll's facts, on devices P-h, P-i, P-k of
# group P-ddi and a rollout of it; WHAT names the configuration.
ddi_scenario() {
	pfx=$1
	w=$2
	groups_create "$pfx-ddi"
	jq -n -c --arg p "$pfx" '[("h","i","k") as $s |
	    {id: "\($p)-\($s)", hardware: "revA", version: "1.0.0",
	     groups: ["\($p)-ddi"]}]' >"$T/devices.req"
	devices_provision "$w: 3 DDI devices provisioned"
	H=$(tok_of "$pfx-h")
	I=$(tok_of "$pfx-i")
	K=$(tok_of "$pfx-k")
	RD=$(ddi_rollout "$pfx-ddi")

	expect_eq "$w: h's DDI poll: configData asked, deployment" \
	    "200 configData,deploymentBase" "$(ddi_links "$pfx-h" "$H")"
	AH=$(jqb ._links.deploymentBase.href |
	    sed -E 's|.*/deploymentBase/([0-9]+).*|\1|')
	ddi PUT "$DDI/$pfx-h/configData" "TargetToken $H" \
	    -H 'Content-Type: application/json' \
	    --data-binary '{"data":{"hw_revision":"revA","sw_version":"1.0.0"}}'
	expect_eq "$w: h's configData" 200 "$STATUS"
	expect_eq "$w: configData received: not asked at once" \
	    "200 deploymentBase" "$(ddi_links "$pfx-h" "$H")"
	api POST "/api/v1/devices/$pfx-h/attributes/refresh" "$ADMIN"
	expect_eq "$w: h's attributes refresh asked" 200 "$STATUS"
	expect_eq "$w: refresh asked: configData asked at once" \
	    "200 configData,deploymentBase" "$(ddi_links "$pfx-h" "$H")"
	ddi POST "$DDI/$pfx-h/deploymentBase/$AH/feedback" "TargetToken $H" \
	    -H 'Content-Type: application/json' --data-binary \
	    "{\"id\":\"$AH\",\"status\":{\"execution\":\"closed\",\"result\":{\"finished\":\"success\"},\"details\":[]}}"
	expect_eq "$w: h's closed feedback" 200 "$STATUS"
	expect_eq "$w: closed: no deployment, installedBase at once" \
	    "200 configData,installedBase" "$(ddi_links "$pfx-h" "$H")"

	expect_eq "$w: i's DDI poll: deployment" \
	    "200 configData,deploymentBase" "$(ddi_links "$pfx-i" "$I")"
	expect_eq "$w: k's DDI poll: deployment" \
	    "200 configData,deploymentBase" "$(ddi_links "$pfx-k" "$K")"
	post_json "/api/v1/groups/$pfx-ddi/members" "$ADMIN" \
	    "{\"remove\":[\"$pfx-k\"]}"
	expect_eq "$w: k removed from $pfx-ddi" 200 "$STATUS"
	expect_eq "$w: k left the rollout's group: cancelAction at once" \
	    "200 cancelAction,configData" "$(ddi_links "$pfx-k" "$K")"
	api POST "/api/v1/rollouts/$RD/abort" "$REL"
	expect_eq "$w: rollout $RD aborted" 200 "$STATUS"
	expect_eq "$w: i's rollout aborted: cancelAction at once" \
	    "200 cancelAction,configData" "$(ddi_links "$pfx-i" "$I")"
	api DELETE "/api/v1/devices/$pfx-h" "$ADMIN"
	expect_eq "$w: h deleted" 204 "$STATUS"
	expect_eq "$w: deleted h is refused by DDI at once" 401 \
	    "$(ddi_links "$pfx-h" "$H")"
}

# scenario P WHAT: every change on a fresh fleet P-a .. P-g; WHAT names
# the configuration in the checks.  (Not $p: api and ddi set it.)
scenario() {
	pfx=$1
	w=$2
	jq -n -c --arg p "$pfx" '[("a","b","d","e","f","g") as $s |
	    {id: "\($p)-\($s)", hardware: "revA", version: "1.0.0",
	     groups: ["fleet"]}] +
	    [{id: "\($p)-c", hardware: "revA", version: "1.0.0",
	      groups: ["spare"]}]' >"$T/devices.req"
	devices_provision "$w: 7 devices provisioned"
	A=$(tok_of "$pfx-a")
	B=$(tok_of "$pfx-b")
	C=$(tok_of "$pfx-c")
	D=$(tok_of "$pfx-d")
	E=$(tok_of "$pfx-e")
	F=$(tok_of "$pfx-f")
	G=$(tok_of "$pfx-g")

	expect_eq "$w: a polls, offered" 200 "$(poll "$pfx-a" "$A")"
	# a's token id with another secret (its first character changed):
	# refused, while a's own token, remembered, still works.
	A_BAD=$(printf '%s\n' "$A" | awk '{ c = substr($0, 23, 1)
	    print substr($0, 1, 22) (c == "A" ? "B" : "A") substr($0, 24) }')
	expect_eq "$w: a's token id with another secret is refused" 401 \
	    "$(poll "$pfx-a" "$A_BAD")"
	expect_eq "$w: a's own token still works" 200 "$(poll "$pfx-a" "$A")"
	api DELETE "/api/v1/devices/$pfx-a/token" "$ADMIN"
	expect_eq "$w: a's tokens revoked" 204 "$STATUS"
	expect_eq "$w: a revoked token is refused at once" 401 \
	    "$(poll "$pfx-a" "$A")"

	expect_eq "$w: b polls, offered" 200 "$(poll "$pfx-b" "$B")"
	api POST "/api/v1/devices/$pfx-b/token" "$ADMIN"
	expect_eq "$w: b's token rotated" 201 "$STATUS"
	B2=$(jqb .token)
	expect_eq "$w: b's old token is refused at once" 401 \
	    "$(poll "$pfx-b" "$B")"
	expect_eq "$w: b's new token works" 200 "$(poll "$pfx-b" "$B2")"

	expect_eq "$w: c (not in fleet) is offered nothing" 204 \
	    "$(poll "$pfx-c" "$C")"
	post_json /api/v1/groups/fleet/members "$ADMIN" \
	    "{\"add\":[\"$pfx-c\"]}"
	expect_eq "$w: c added to fleet" 200 "$STATUS"
	expect_eq "$w: c is offered at once" 200 "$(poll "$pfx-c" "$C")"
	post_json /api/v1/groups/fleet/members "$ADMIN" \
	    "{\"remove\":[\"$pfx-c\"]}"
	expect_eq "$w: c removed from fleet" 200 "$STATUS"
	expect_eq "$w: c is offered nothing at once" 204 \
	    "$(poll "$pfx-c" "$C")"

	expect_eq "$w: d polls, offered" 200 "$(poll "$pfx-d" "$D")"
	api PATCH "/api/v1/devices/$pfx-d" "$ADMIN" \
	    -H 'Content-Type: application/json' \
	    --data-binary '{"hardware":"revB"}'
	expect_eq "$w: d's hardware set to revB" 200 "$STATUS"
	expect_eq "$w: d (revB) loses the revA offer at once" 204 \
	    "$(poll "$pfx-d" "$D")"

	expect_eq "$w: e polls, offered" 200 "$(poll "$pfx-e" "$E")"
	api DELETE "/api/v1/devices/$pfx-e" "$ADMIN"
	expect_eq "$w: e deleted" 204 "$STATUS"
	expect_eq "$w: deleted e is refused at once" 401 \
	    "$(poll "$pfx-e" "$E")"

	expect_eq "$w: f's DDI poll" 200 "$(ddi_poll "$pfx-f" "$F")"
	api DELETE "/api/v1/devices/$pfx-f/token" "$ADMIN"
	expect_eq "$w: f's tokens revoked" 204 "$STATUS"
	expect_eq "$w: f's revoked token is refused by DDI at once" 401 \
	    "$(ddi_poll "$pfx-f" "$F")"

	# The version g reports is written by the flush (about a second):
	# then a poll without ?version uses it, not the cached one.
	expect_eq "$w: g at 1.0.0 (stored) is offered" 200 \
	    "$(poll "$pfx-g" "$G" "")"
	expect_eq "$w: g reports 1.1.0" 204 \
	    "$(poll "$pfx-g" "$G" "?version=1.1.0")"
	wait_for "$w: g's reported version replaces the cached one" 204 5 \
	    poll "$pfx-g" "$G" ""
}

# cache_hits: the device cache's hits in a fresh scrape of /metrics,
# "none" when the cache is off.
cache_hits() {
	api GET /metrics "$VIEW"
	awk 'index($0, "otad_device_cache_lookups_total{result=\"hit\"} ") == 1 {
	    v = $2 } END { print (v == "" ? "none" : v) }' "$T/body"
}

scenario cached "device_cache on"
ddi_scenario cached "device_cache on"
h=$(cache_hits)
expect_eq "device_cache on: polls were answered from it (hits: $h)" yes \
    "$([ "$h" != none ] && [ "$h" -gt 0 ] && echo yes)"
h=$(awk 'index($0, "otad_ddi_cache_lookups_total{result=\"hit\"} ") == 1 {
    v = $2 } END { print (v == "" ? "none" : v) }' "$T/body")
expect_eq "device_cache on: DDI polls were answered from memory (hits: $h)" \
    yes "$([ "$h" != none ] && [ "$h" -gt 0 ] && echo yes)"
# metric NAME: its value in the last scrape ($T/body), "none" if absent.
metric() {
	awk -v n="$1 " 'index($0, n) == 1 { v = $2 }
	    END { print (v == "" ? "none" : v) }' "$T/body"
}
# Every offered poll above was made twice: the second manifest's
# signature came from memory.
expect_eq "signature cache: polls' signatures were found (hits: \
$(metric 'otad_signature_cache_lookups_total{result="hit"}'))" yes \
    "$([ "$(metric 'otad_signature_cache_lookups_total{result="hit"}')" \
    -gt 0 ] && echo yes)"
expect_eq "signature cache: its first places (65,536 of 80 bytes)" \
    "65536 5242880" "$(metric otad_signature_cache_entries) \
$(metric otad_signature_cache_bytes)"
node_stop 1
export OTAD_DEVICE_CACHE=0 OTAD_SIGNATURE_CACHE=1024
node_start 1 || exit 1
scenario uncached "device_cache = 0"
ddi_scenario uncached "device_cache = 0"
expect_eq "device_cache = 0: no cache in /metrics" none "$(cache_hits)"
expect_eq "signature_cache = 1024: 1,024 places" 1024 \
    "$(metric otad_signature_cache_entries)"
expect_eq "signature_cache = 1024: signatures still found" yes \
    "$([ "$(metric 'otad_signature_cache_lookups_total{result="hit"}')" \
    -gt 0 ] && echo yes)"
node_stop 1
unset OTAD_DEVICE_CACHE OTAD_SIGNATURE_CACHE
node_start 1 || exit 1

# ---- two nodes on one PostgreSQL database ----------------------------

case ${OTAD_DATABASE:-sqlite} in
/* | sqlite)
	# Several processes on one SQLite file run without the cache.
	finish
	exit $?
	;;
esac
node_use 1
groups_create two-ddi two-lab
jq -n -c '[("h","i") as $s | {id: "two-\($s)", hardware: "revA",
    version: "1.0.0", groups: ["spare"]}] + [{id: "two-j",
    hardware: "revA", version: "1.0.0", groups: ["two-ddi"]}] +
    [{id: "two-k", hardware: "revA", version: "1.0.0",
    groups: ["two-lab"], labels: {ring: "0"}}]' \
    >"$T/devices.req"
devices_provision "two nodes: 4 devices provisioned"
H=$(tok_of two-h)
I=$(tok_of two-i)
J=$(tok_of two-j)
K=$(tok_of two-k)
RJ=$(ddi_rollout two-ddi)
post_json /api/v1/rollouts "$REL" \
    "{\"image\":$IMG,\"groups\":[\"two-lab\"],\"stages\":[100],\"selector\":\"ring=1\"}"
api POST "/api/v1/rollouts/$(jqb .id)/start" "$REL"
expect_eq "a rollout of two-lab with selector ring=1 started" 200 "$STATUS"
node_prepare 2
node_start 2 || exit 1
node_use 2
expect_eq "node 2: h polls, nothing offered" 204 "$(poll two-h "$H")"
expect_eq "node 2: i polls, nothing offered" 204 "$(poll two-i "$I")"
expect_eq "node 2: k (ring 0) polls, nothing offered" 204 \
    "$(poll two-k "$K")"
expect_eq "node 2: j's DDI poll: configData asked, deployment" \
    "200 configData,deploymentBase" "$(ddi_links two-j "$J")"
node_use 1
api DELETE /api/v1/devices/two-h/token "$ADMIN"
expect_eq "node 1: h's tokens revoked" 204 "$STATUS"
post_json /api/v1/groups/fleet/members "$ADMIN" '{"add":["two-i"]}'
expect_eq "node 1: i added to fleet" 200 "$STATUS"
api PATCH /api/v1/devices/two-k "$ADMIN" -H 'Content-Type: application/json' \
    --data-binary '{"labels":{"ring":"1"}}'
expect_eq "node 1: k's labels set to ring 1" 200 "$STATUS"
node_use 2
# Polled every 0.2 s: within a second.
wait_for "node 2 refuses h's revoked token within a second" 401 1 \
    poll two-h "$H"
wait_for "node 2 offers i (added to fleet) within a second" 200 1 \
    poll two-i "$I"
wait_for "node 2 offers k (its labels changed) within a second" 200 1 \
    poll two-k "$K"
node_use 1
ddi PUT "$DDI/two-j/configData" "TargetToken $J" \
    -H 'Content-Type: application/json' \
    --data-binary '{"data":{"hw_revision":"revA","sw_version":"1.0.0"}}'
expect_eq "node 1: j's configData" 200 "$STATUS"
node_use 2
wait_for "node 2: j's configData received within a second" \
    "200 deploymentBase" 1 ddi_links two-j "$J"
node_use 1
api POST "/api/v1/rollouts/$RJ/abort" "$REL"
expect_eq "node 1: j's rollout aborted" 200 "$STATUS"
node_use 2
wait_for "node 2: j's rollout aborted: cancelAction within a second" \
    "200 cancelAction" 1 ddi_links two-j "$J"
node_stop 2
node_use 1
finish
