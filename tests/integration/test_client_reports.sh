#!/bin/sh
# What real clients report, taken at its word and no further: SWUpdate's
# "0 of 0" is no progress; a canceled DDI action is a final status in the
# rollout's health; a device whose hardware the admin changes loses what
# no longer fits it; a poll or configData naming another hardware changes
# nothing provisioned, gets no offer and shows as a mismatch (device,
# list filter, /metrics); a silent revert is judged at the next flush.
. "$(dirname "$0")/../lib.sh"

otad_setup
export OTAD_DDI_SLEEP_SEC=300
export OTAD_DDI_ACTION_SLEEP_SEC=30
otad_start || exit 1
tokens

# ---- helpers (ddi and $DDI: tests/lib.sh) -------------------------------

# poll ID: the DDI poll of device ID with its own TargetToken.
poll() {
	ddi GET "$DDI/$1" "TargetToken $(tok_of "$1")"
}

# feedback ID ACTION JSON [cancel]: POSTs a feedback as device ID.
feedback() {
	kind=deploymentBase
	[ "${4:-}" = cancel ] && kind=cancelAction
	ddi POST "$DDI/$1/$kind/$2/feedback" "TargetToken $(tok_of "$1")" \
	    -H 'Content-Type: application/json' --data-binary "$3"
}

# config ID JSON_DATA: PUTs configData {"data": JSON_DATA} as device ID.
config() {
	ddi PUT "$DDI/$1/configData" "TargetToken $(tok_of "$1")" \
	    -H 'Content-Type: application/json' \
	    --data-binary "{\"data\":$2}"
}

# action_of: the action id of the last poll's deploymentBase or
# cancelAction link ("" when none).
action_of() {
	jq -r '._links | (.deploymentBase // .cancelAction).href // ""' \
	    "$T/body" | sed -E 's|.*/(deploymentBase\|cancelAction)/([0-9]+).*|\2|'
}

# rollout GROUP: creates and starts a rollout of $IMG to GROUP (one
# stage of 100%); prints its id.
rollout() {
	post_json /api/v1/rollouts "$REL" \
	    "{\"image\":$IMG,\"groups\":[\"$1\"],\"stages\":[100]}"
	[ "$STATUS" = 201 ] || { fail "rollout for $1: $STATUS $(body)"; return; }
	r=$(jqb .id)
	api POST "/api/v1/rollouts/$r/start" "$REL"
	[ "$STATUS" = 200 ] || fail "rollout $r start: $STATUS $(body)"
	echo "$r"
}

# update_of DEVICE ROLLOUT: "status progress" of the device's update.
update_of() {
	sql "SELECT status || ' ' || COALESCE(CAST(progress AS TEXT), 'null')
	    FROM device_updates WHERE device_id = '$1' AND rollout_id = $2"
}

# hw_updates: "status progress|status progress" of h1 and h2 in $RH.
hw_updates() {
	printf '%s|%s' "$(update_of h1 "$RH")" "$(update_of h2 "$RH")"
}

# mismatch_of DEVICE: its hardware_mismatch.
mismatch_of() {
	api GET "/api/v1/devices/$1" "$VIEW"
	jqb .hardware_mismatch
}

# ---- an image for revA, groups, devices --------------------------------

make_image "$T/fw.swu" 100000
release "$T/fw.swu" sensor-fw 2.0.0 revA --filename fw.swu
upload_curl "$REL" "$T/fw.swu"
expect_eq "image 2.0.0 for revA uploaded" 201 "$STATUS"
IMG=$(jqb .id)
groups_create prog canc hw mis rev
cat >"$T/devices.req" <<'EOF'
[{"id":"s1","hardware":"revA","version":"1.0.0","groups":["prog"]},
 {"id":"c1","hardware":"revA","version":"1.0.0","groups":["canc"]},
 {"id":"v1","hardware":"revA","version":"1.0.0","groups":["rev"]},
 {"id":"h1","hardware":"revA","version":"1.0.0","groups":["hw"]},
 {"id":"h2","hardware":"revA","version":"1.0.0","groups":["hw"]},
 {"id":"m1","hardware":"revA","version":"1.0.0","groups":["mis"]},
 {"id":"m2","hardware":"revA","version":"1.0.0","groups":["mis"]},
 {"id":"m3","hardware":"bleA","version":"1.0.0","groups":["mis"]}]
EOF
devices_provision

# ---- SWUpdate's "0 of 0" is no progress ---------------------------------

RP=$(rollout prog)
poll s1
AS=$(action_of)
check "s1 has an action" test -n "$AS"
# What SWUpdate sends with its first log lines, before it knows a size.
feedback s1 "$AS" "{\"id\":\"$AS\",\"status\":{\"execution\":\"proceeding\",\"result\":{\"finished\":\"none\",\"progress\":{\"cnt\":0,\"of\":0}},\"details\":[\"Update started\"]}}"
expect_eq "feedback 0 of 0: 200" 200 "$STATUS"
expect_eq "0 of 0: started, no progress (not 100)" "started null" \
    "$(update_of s1 "$RP")"
api GET /api/v1/devices/s1/events "$VIEW"
expect_eq "the event has no progress" "started null" \
    "$(jqb '.events[0] | "\(.state) \(.progress)"')"
feedback s1 "$AS" "{\"id\":\"$AS\",\"status\":{\"execution\":\"proceeding\",\"result\":{\"finished\":\"none\",\"progress\":{\"cnt\":1,\"of\":4}},\"details\":[\"Downloading\"]}}"
expect_eq "then 1 of 4: progress 25" "progress 25" "$(update_of s1 "$RP")"

# ---- a canceled DDI action is a final status in health --------------------

RC=$(rollout canc)
poll c1
AC=$(action_of)
check "c1 has an action" test -n "$AC"
feedback c1 "$AC" "{\"id\":\"$AC\",\"status\":{\"execution\":\"proceeding\",\"result\":{\"finished\":\"none\"},\"details\":[\"Downloading\"]}}"
expect_eq "c1 started" "200 started null" "$STATUS $(update_of c1 "$RC")"
api POST "/api/v1/rollouts/$RC/abort" "$REL"
expect_eq "the rollout is aborted" 200 "$STATUS"
poll c1
expect_eq "aborted: c1 is told cancelAction" "$AC" \
    "$(jqb '._links.cancelAction.href' | sed -E 's|.*/||')"
feedback c1 "$AC" "{\"id\":\"$AC\",\"status\":{\"execution\":\"closed\",\"result\":{\"finished\":\"success\"},\"details\":[\"canceled\"]}}" cancel
expect_eq "c1 confirms the cancel" 200 "$STATUS"
api GET /api/v1/devices/c1/actions "$VIEW"
expect_eq "the action is canceled" canceled "$(jqb '.actions[0].status')"
expect_eq "the update is canceled" "canceled null" "$(update_of c1 "$RC")"
api GET "/api/v1/rollouts/$RC/health" "$VIEW"
expect_eq "health: no longer in progress, canceled 1 (offered started in_progress canceled)" \
    "1 0 0 1" \
    "$(jqb '.total | "\(.offered) \(.started) \(.in_progress) \(.canceled)"')"
expect_eq "the stage counts it too" "0 1" \
    "$(jqb '.stages[0] | "\(.in_progress) \(.canceled)"')"

# ---- the admin changes a device's hardware: what no longer fits ends -------

RH=$(rollout hw)
poll h1
AH=$(action_of)
check "h1 (DDI) has an action" test -n "$AH"
H2=$(tok_of h2)
api GET "/api/v1/devices/h2/manifest?version=1.0.0" "$H2"
expect_eq "h2 (REST) is offered the image" 200 "$STATUS"
wait_for "both offers recorded" "offered null|offered null" 5 hw_updates
api PATCH /api/v1/devices/h1 "$ADMIN" --data-binary '{"hardware":"revB"}'
expect_eq "PATCH hardware: 200, the new hardware" "200 revB false" \
    "$STATUS $(jqb '"\(.hardware) \(.hardware_mismatch)"')"
api PATCH /api/v1/devices/h2 "$ADMIN" --data-binary '{"hardware":"revB","labels":{"moved":"yes"}}'
expect_eq "PATCH hardware and labels together" "200 revB yes" \
    "$STATUS $(jqb '"\(.hardware) \(.labels.moved)"')"
check "the change is logged" grep -q 'device hardware set.*device=h1 hardware=revB updates_canceled=1 actions_canceling=1' "$OTAD_LOG"
expect_eq "h1's update is canceled" "canceled null" "$(update_of h1 "$RH")"
expect_eq "h2's update is canceled" "canceled null" "$(update_of h2 "$RH")"
api GET /api/v1/devices/h1/actions "$VIEW"
expect_eq "h1's open action is canceling" canceling "$(jqb '.actions[0].status')"
poll h1
expect_eq "h1 is told cancelAction" "$AH" \
    "$(jqb '._links.cancelAction.href' | sed -E 's|.*/||')"
api GET "/api/v1/devices/h2/manifest?version=1.0.0" "$H2"
expect_eq "h2 is no longer offered the revA image (204)" 204 "$STATUS"
api GET "/api/v1/rollouts/$RH/health" "$VIEW"
expect_eq "health (offered in_progress canceled)" "2 0 2" \
    "$(jqb '.total | "\(.offered) \(.in_progress) \(.canceled)"')"
api PATCH /api/v1/devices/h1 "$ADMIN" --data-binary '{"hardware":7}'
expect_eq "PATCH hardware that is not a string: 400" "400 invalid_request" \
    "$STATUS $(jqb .error)"
api PATCH /api/v1/devices/h1 "$VIEW" --data-binary '{"hardware":"revA"}'
expect_eq "a viewer may not PATCH: 403" 403 "$STATUS"
api GET /api/v1/devices/h1 "$VIEW"
expect_eq "refused PATCHes changed nothing" revB "$(jqb .hardware)"

# ---- a poll's hardware is a report, not the device's hardware --------------

M1=$(tok_of m1)
api GET "/api/v1/devices/m1/manifest?hardware=bleA&version=1.0.0" "$M1"
expect_eq "m1 (revA) polls saying bleA: nothing offered (204)" 204 "$STATUS"
wait_for "the report is recorded" bleA 5 \
    sql "SELECT COALESCE(reported_hardware, '') FROM devices WHERE id = 'm1'"
api GET /api/v1/devices/m1 "$VIEW"
expect_eq "m1 keeps its hardware; the report and the mismatch are shown" \
    "revA bleA true" \
    "$(jqb '"\(.hardware) \(.reported_hardware) \(.hardware_mismatch)"')"
api GET "/api/v1/devices/m1/manifest?version=1.0.0" "$M1"
expect_eq "a poll without hardware: the stored report still mismatches (204)" \
    204 "$STATUS"
# m3 is a bleA device that says revA (the image's hardware): it is offered
# nothing, where the poll's word used to be taken.
M3=$(tok_of m3)
RM=$(rollout mis)
api GET "/api/v1/devices/m3/manifest?hardware=revA&version=1.0.0" "$M3"
expect_eq "m3 (bleA) polls saying revA: nothing offered (204)" 204 "$STATUS"
# m2 is a DDI device whose configData names bleA.
config m2 '{"hw_revision":"bleA","sw_version":"1.0.0"}'
expect_eq "m2's configData naming bleA: 200" 200 "$STATUS"
poll m2
expect_eq "m2 (revA) said bleA: no deploymentBase" null \
    "$(jqb ._links.deploymentBase)"
api GET /api/v1/devices/m2 "$VIEW"
expect_eq "m2 keeps its hardware; the mismatch is shown" "revA bleA true" \
    "$(jqb '"\(.hardware) \(.reported_hardware) \(.hardware_mismatch)"')"
wait_for "m3's report is recorded" revA 5 \
    sql "SELECT COALESCE(reported_hardware, '') FROM devices WHERE id = 'm3'"
api GET "/api/v1/devices?hardware_mismatch=true" "$VIEW"
expect_eq "the list filter: the three mismatched devices" "m1 m2 m3" \
    "$(jqb '[.devices[].id] | join(" ")')"
api GET "/api/v1/devices?hardware_mismatch=true&group=mis&hardware=revA" "$VIEW"
expect_eq "with other filters" "m1 m2" "$(jqb '[.devices[].id] | join(" ")')"
api GET "/api/v1/devices?hardware_mismatch=false&group=mis" "$VIEW"
expect_eq "hardware_mismatch=false" "" "$(jqb '[.devices[].id] | join(" ")')"
api GET "/api/v1/devices?hardware_mismatch=yes" "$VIEW"
expect_eq "a bad hardware_mismatch: 400" "400 invalid_request" \
    "$STATUS $(jqb .error)"
api GET /metrics "$VIEW"
check "metrics: otad_devices_hardware_mismatch 3" \
    grep -q '^otad_devices_hardware_mismatch 3$' "$T/body"
OTACTL_TOKEN=$VIEW OTACTL_SERVER=$BASE OTACTL_CACERT="$DATA/tls/cert.pem" \
    "$OTACTL_BIN" devices list --hardware-mismatch true --json >"$T/ctl.json"
expect_eq "otactl devices list --hardware-mismatch true" "m1 m2 m3" \
    "$(jq -r '[.[].id] | join(" ")' "$T/ctl.json")"
OTACTL_TOKEN=$VIEW OTACTL_SERVER=$BASE OTACTL_CACERT="$DATA/tls/cert.pem" \
    "$OTACTL_BIN" devices show m1 >"$T/ctl.txt"
check "otactl devices show: the reported hardware" \
    grep -q '^reported_hardware: *bleA$' "$T/ctl.txt"
# Corrected reports: offered again, the mismatch gone.
config m2 '{"hw_revision":"revA"}'
poll m2
check "m2 reports revA again: deploymentBase" \
    test "$(jqb '._links.deploymentBase != null')" = true
api GET "/api/v1/devices/m1/manifest?hardware=revA&version=1.0.0" "$M1"
expect_eq "m1 reports revA: offered (200)" 200 "$STATUS"
wait_for "m1's mismatch is gone" false 5 mismatch_of m1
api GET /metrics "$VIEW"
check "metrics: one mismatch left (m3)" \
    grep -q '^otad_devices_hardware_mismatch 1$' "$T/body"

# ---- a silent revert is judged at the next flush ------------------------

# v1 polls on 1.0.0 and is offered 2.0.0; it reports completed, then
# its bootloader falls back to 1.0.0 and it polls again, reporting the
# version the store already holds.  That poll is judged at seen's next
# flush (about a second), not at the once-a-minute refresh.
RV=$(rollout rev)
V1=$(tok_of v1)
api GET "/api/v1/devices/v1/manifest?hardware=revA&version=1.0.0" "$V1"
expect_eq "v1 polls on 1.0.0: offered" 200 "$STATUS"
wait_for "the offer is recorded" "offered null" 5 update_of v1 "$RV"
post_json /api/v1/devices/v1/events "$V1" \
    "{\"event_id\":\"v1-done\",\"rollout\":$RV,\"version\":\"2.0.0\",\"state\":\"completed\",\"ts\":\"$(date -u +%Y-%m-%dT%H:%M:%SZ)\"}"
expect_eq "v1 reports completed" "200 1" "$STATUS $(jqb .accepted)"
sleep 1.1 # the report must come after the completion (second resolution)
api GET "/api/v1/devices/v1/manifest?hardware=revA&version=1.0.0" "$V1"
expect_eq "v1 polls on 1.0.0 again" 200 "$STATUS"
wait_for "the revert is recorded within 3 s" "reverted null" 3 \
    update_of v1 "$RV"

otad_stop
expect_eq "otad stops cleanly" 0 "$?"
check "no sanitizer report" sanitizer_clean
finish
