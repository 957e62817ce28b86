#!/bin/sh
# Telemetry counts toward a rollout only from devices it targets: a
# gateway scoped to group A reporting `failed` for ten of its devices
# against a rollout of group B is refused (422 not_targeted, per item in
# a batch), touches nothing of the rollout's health and never pauses it;
# the same over MQTT (counted and logged) and for DDI feedback on an
# action that is not the device's.  Health's targeted/in_stage leave out
# members whose hardware the image does not fit.  A breached rollout held
# by the automatic advance is logged once, not at every timer pass.  A
# from-version range targets installed versions, on REST and DDI polls
# and in health, and can be edited while paused.  So does a label
# selector (groups AND selector): a device whose labels change is
# (un)targeted at its very next poll, REST and DDI.
. "$(dirname "$0")/../lib.sh"

otad_setup
broker_setup
broker_start || exit 1
otad_start_mqtt || exit 1
tokens
NOW=$(date -u +%Y-%m-%dT%H:%M:%SZ)

# ---- helpers ----------------------------------------------------------

# ev ID ROLLOUT STATE [extra JSON members]: one event object of 2.0.0.
ev() {
	printf '{"event_id":"%s","rollout":%s,"version":"2.0.0","state":"%s","ts":"%s"%s}' \
	    "$1" "$2" "$3" "$NOW" "${4:+,$4}"
}

# health ID: "<state> <targeted> <in_stage> <offered> <started> <failed>
# <completed>" of the rollout's total.
health() {
	api GET "/api/v1/rollouts/$1/health" "$VIEW"
	jqb '"\(.state) \(.total | "\(.targeted) \(.in_stage) \(.offered) \(.started) \(.failed) \(.completed)")"'
}

# metric SERIES: its value in a fresh scrape, "none" when absent.
metric() {
	api GET /metrics "$VIEW"
	awk -v s="$1" 'index($0, s " ") == 1 { v = substr($0, length(s) + 2) }
	    END { print (v == "" ? "none" : v) }' "$T/body"
}
rejected() {
	metric "otad_events_rejected_total{transport=\"$1\",reason=\"$2\"}"
}

# feedback DEVICE ACTION AUTH EXECUTION FINISHED: a deployment feedback.
feedback() {
	ddi POST "$DDI/$1/deploymentBase/$2/feedback" "$3" \
	    -H 'Content-Type: application/json' --data-binary \
	    "{\"id\":\"$2\",\"status\":{\"execution\":\"$4\",\"result\":{\"finished\":\"$5\"},\"details\":[\"x\"]}}"
}

# ---- an image for revA, groups A and B, a gateway of A -------------------

make_image "$T/fw.bin" 2000
release "$T/fw.bin" sensor-fw 2.0.0 revA
upload_curl "$REL" "$T/fw.bin"
expect_eq "image 2.0.0 for revA uploaded" 201 "$STATUS"
IMG=$(jqb .id)
groups_create A B C
# A: a00..a09 (revA).  B: b0..b3 (revA) and bl0, bl1 (bleA, which the
# image does not fit).  C: c0.
python3 -c '
import json
devs = [{"id": "a%02d" % i, "hardware": "revA", "version": "1.0.0",
         "groups": ["A"]} for i in range(10)]
devs += [{"id": "b%d" % i, "hardware": "revA", "version": "1.0.0",
          "groups": ["B"]} for i in range(4)]
devs += [{"id": "bl%d" % i, "hardware": "bleA", "version": "1.0.0",
          "groups": ["B"]} for i in range(2)]
devs += [{"id": "c0", "hardware": "revA", "version": "1.0.0",
          "groups": ["C"]}]
print(json.dumps(devs))' >"$T/devices.req"
api POST /api/v1/devices "$ADMIN" -H 'Content-Type: application/json' \
    --data-binary "@$T/devices.req"
expect_eq "17 devices provisioned" 201 "$STATUS"
cp "$T/body" "$T/devices.json"
post_json /api/v1/gateways "$ADMIN" '{"name":"phoneA","groups":["A"]}'
expect_eq "gateway of group A created" 201 "$STATUS"
GW=$(jqb .token)

post_json /api/v1/rollouts "$REL" "{\"image\":$IMG,\"groups\":[\"B\"],
    \"stages\":[100],\"failure_threshold\":0.05,\"min_reports\":10}"
expect_eq "rollout of group B created" 201 "$STATUS"
R=$(jqb .id)
api POST "/api/v1/rollouts/$R/start" "$REL"
expect_eq "rollout started" 200 "$STATUS"

# ---- health: members of another hardware are not targeted ----------------

expect_eq "health: targeted and in_stage count b0..b3, not bl0, bl1 (bleA)" \
    "running 4 4 0 0 0 0" "$(health "$R")"
api GET "/api/v1/rollouts/$R/health" "$VIEW"
expect_eq "the stage's targeted and in_stage too" "4 4" \
    "$(jqb '.stages[0] | "\(.targeted) \(.in_stage)"')"

# ---- the issue's case: a gateway of A reports failed for ten devices ----

out=""
for i in 0 1 2 3 4 5 6 7 8 9; do
	events "a0$i" "$GW" "$(ev "gw-fail-$i" "$R" failed '"result":8')"
	out="$out $STATUS:$(jqb .error)"
done
expect_eq "ten failed reports against a rollout of another group: 422 not_targeted each" \
    "$(for i in 0 1 2 3 4 5 6 7 8 9; do printf ' 422:not_targeted'; done)" "$out"
expect_eq "the detail says why" \
    "rollout $R does not target device 'a09': not in its groups, never offered it" \
    "$(jqb .detail)"
expect_eq "health unchanged: nothing offered, started or failed" \
    "running 4 4 0 0 0 0" "$(health "$R")"
expect_eq "nothing stored for the rollout" "0 0" \
    "$(sql "SELECT COUNT(*) FROM update_events WHERE rollout_id = $R") $(sql "SELECT COUNT(*) FROM device_updates WHERE rollout_id = $R")"
expect_eq "counted as not_targeted over REST" 10 "$(rejected rest not_targeted)"
expect_eq "no automatic pause" 0 "$(metric otad_rollout_auto_pauses_total)"

# In a batch, a per-item rejection; the targeted item beside it is stored.
events a00 "$GW" "[$(ev gw-batch-1 "$R" failed '"result":8')]"
expect_eq "a batch: 200, the item rejected as not_targeted" \
    "200 0 1 rejected not_targeted" \
    "$STATUS $(jqb '"\(.accepted) \(.rejected) \(.results[0].status) \(.results[0].error)"')"
events b0 "$(tok_of b0)" "[$(ev b0-start "$R" started),$(ev b0-wrong 999 started)]"
expect_eq "a targeted device's report is accepted" "200 1 accepted" \
    "$STATUS $(jqb '"\(.accepted) \(.results[0].status)"')"

# In the rollout's group, but of a hardware its image does not fit.
events bl0 "$(tok_of bl0)" "$(ev bl0-fail "$R" failed '"result":8')"
expect_eq "a member of another hardware: 422 not_targeted" \
    "422 not_targeted rollout $R does not target device 'bl0': its image does not fit hardware 'bleA'" \
    "$STATUS $(jqb .error) $(jqb .detail)"
expect_eq "health: b0 started, nothing failed" "running 4 4 1 1 0 0" \
    "$(health "$R")"

# ---- MQTT: refused, counted and logged; the targeted one lands -----------

mosquitto_pub -h 127.0.0.1 -p "$MQ_PORT" -q 1 -i "pub-a-$$" \
    -t "otad/devices/a01/events" -m "$(ev mq-a01 "$R" failed '"result":8')"
mosquitto_pub -h 127.0.0.1 -p "$MQ_PORT" -q 1 -i "pub-b-$$" \
    -t "otad/devices/b1/events" -m "$(ev mq-b1 "$R" started)"
wait_for "MQTT: the targeted device's event lands" 1 15 \
    sql "SELECT COUNT(*) FROM update_events WHERE event_id = 'mq-b1'"
wait_for "MQTT: the other is counted as not_targeted" 1 5 \
    rejected mqtt not_targeted
check "MQTT: the refusal is logged with its reason" \
    log_wait "event rejected\" transport=mqtt device=a01 event_id=mq-a01 rollout=$R error=not_targeted"
expect_eq "MQTT: nothing of a01 stored" 0 \
    "$(sql "SELECT COUNT(*) FROM update_events WHERE device_id = 'a01'")"
expect_eq "health: b0 and b1 started, nothing failed" "running 4 4 2 2 0 0" \
    "$(health "$R")"

# ---- DDI: feedback only on the device's own actions ----------------------

ddi GET "$DDI/b2" "TargetToken $(tok_of b2)"
expect_eq "DDI: b2 is offered the rollout" 200 "$STATUS"
AB2=$(jqb '._links.deploymentBase.href' | sed -E 's|.*/deploymentBase/([0-9]+).*|\1|')
check "DDI: b2 has an action" test -n "$AB2"
ddi GET "$DDI/a02" "TargetToken $(tok_of a02)"
expect_eq "DDI: a02 is offered nothing" null "$(jqb ._links.deploymentBase)"
feedback a02 "$AB2" "TargetToken $(tok_of a02)" closed failure
expect_eq "DDI: feedback on another device's action: 404" "404 not_found" \
    "$STATUS $(jqb .error)"
feedback a02 "$AB2" "GatewayToken $GW" closed failure
expect_eq "DDI: the gateway on another device's action: 404" 404 "$STATUS"
feedback a02 987654 "TargetToken $(tok_of a02)" closed failure
expect_eq "DDI: feedback on an action that does not exist: 404" 404 "$STATUS"
expect_eq "DDI: nothing stored for a02" "0 0" \
    "$(sql "SELECT COUNT(*) FROM update_events WHERE device_id = 'a02'") $(sql "SELECT COUNT(*) FROM ddi_feedback")"
wait_for "health: b2 offered (its poll), nothing failed" \
    "running 4 4 3 2 0 0" 10 health "$R"
expect_eq "the rollout still runs after everything" running \
    "$(sql "SELECT state FROM rollouts WHERE id = $R")"

# ---- the from-version range: targets installed versions -----------------

# Group V: v0 on 1.0.0, v1 on 1.2.0, v2 on 1.3.5, v3 on 1.4.0 (revA).
groups_create V
python3 -c '
import json
vers = ["1.0.0", "1.2.0", "1.3.5", "1.4.0"]
print(json.dumps([{"id": "v%d" % i, "hardware": "revA", "version": v,
                   "groups": ["V"]} for i, v in enumerate(vers)]))' >"$T/v.req"
api POST /api/v1/devices "$ADMIN" -H 'Content-Type: application/json' \
    --data-binary "@$T/v.req"
expect_eq "group V provisioned" 201 "$STATUS"
cp "$T/body" "$T/v.json"
vtok() { jq -r --arg id "$1" '.devices[] | select(.id == $id) | .token' "$T/v.json"; }
# vpoll: "<status> ..." of each V device's REST manifest poll (its stored
# version, or ?version= when given as v<i>=<version>).
vpoll() {
	out=""
	for d in v0 v1 v2 v3; do
		q=""
		for a in "$@"; do
			case $a in "$d="*) q="?version=${a#*=}" ;; esac
		done
		api GET "/api/v1/devices/$d/manifest$q" "$(vtok "$d")"
		out="$out $STATUS"
	done
	echo "${out# }"
}
post_json /api/v1/rollouts "$REL" "{\"image\":$IMG,\"groups\":[\"V\"],
    \"stages\":[100],\"from_version\":\"  >=1.2.0   <1.4.0 \"}"
expect_eq "a rollout from >=1.2.0 <1.4.0: 201, the range canonical" \
    "201 >=1.2.0 <1.4.0" "$STATUS $(jqb .from_version)"
RV=$(jqb .id)
post_json /api/v1/rollouts "$REL" "{\"image\":$IMG,\"groups\":[\"V\"],\"from_version\":\">=2.0.0 <1.0.0\"}"
expect_eq "an empty range is refused" \
    "400 from_version: '>=2.0.0' and '<1.0.0' exclude each other: no version matches" \
    "$STATUS $(jqb .detail)"
post_json /api/v1/rollouts "$REL" "{\"image\":$IMG,\"groups\":[\"V\"],\"from_version\":\"~1.2\"}"
expect_eq "a range that is not one is refused" \
    "400 from_version: comparator 1: want an operator (>=, >, <=, <, =) and a SemVer version, e.g. \">=1.2.0 <1.4.0\"" \
    "$STATUS $(jqb .detail)"
api POST "/api/v1/rollouts/$RV/start" "$REL"
expect_eq "the V rollout started" 200 "$STATUS"
expect_eq "REST polls: only v1 (1.2.0) and v2 (1.3.5) are offered" \
    "204 200 200 204" "$(vpoll)"
expect_eq "the offer is the rollout's" "$RV" \
    "$(api GET /api/v1/devices/v2/manifest "$(vtok v2)"; jqb .rollout)"
expect_eq "health: targeted and in_stage follow the range" "2 2" \
    "$(api GET "/api/v1/rollouts/$RV/health" "$VIEW"; jqb '.total | "\(.targeted) \(.in_stage)"')"
ddi GET "$DDI/v3" "TargetToken $(vtok v3)"
expect_eq "DDI: v3 (1.4.0) is offered nothing" "200 null" \
    "$STATUS $(jqb ._links.deploymentBase)"
ddi GET "$DDI/v1" "TargetToken $(vtok v1)"
check "DDI: v1 (1.2.0) has a deployment" test "$(jqb ._links.deploymentBase.href)" != null
expect_eq "a version reported at the poll applies at once" "200 200 200 204" \
    "$(vpoll v0=1.2.1)"
api PATCH "/api/v1/rollouts/$RV" "$REL" -H 'Content-Type: application/json' \
    --data-binary '{"from_version":""}'
expect_eq "the range of a running rollout is not edited" 409 "$STATUS"
api POST "/api/v1/rollouts/$RV/pause" "$REL"
api PATCH "/api/v1/rollouts/$RV" "$REL" -H 'Content-Type: application/json' \
    --data-binary '{"from_version":">=1.4.0"}'
expect_eq "paused: the range edited, audited" \
    "200 >=1.4.0 from_version \">=1.2.0 <1.4.0\" -> \">=1.4.0\"" \
    "$STATUS $(jqb .from_version) $(api GET "/api/v1/rollouts/$RV/events" "$VIEW"; jqb '.events[-1].reason')"
api POST "/api/v1/rollouts/$RV/resume" "$REL"
expect_eq "resumed: only v3 (1.4.0) is offered now" \
    "204 204 204 200" "$(vpoll)"
expect_eq "health: one targeted now" "1 1" \
    "$(api GET "/api/v1/rollouts/$RV/health" "$VIEW"; jqb '.total | "\(.targeted) \(.in_stage)"')"
api POST "/api/v1/rollouts/$RV/abort" "$REL"

# ---- the label selector: groups AND labels --------------------------------

# Group S: s0 eu/a, s1 eu/c, s2 us/a, s3 eu/b but beta (revA, 1.0.0).
groups_create S
python3 -c '
import json
labels = [{"region": "eu", "model": "a"}, {"region": "eu", "model": "c"},
          {"region": "us", "model": "a"},
          {"region": "eu", "model": "b", "beta": "yes"}]
print(json.dumps([{"id": "s%d" % i, "hardware": "revA", "version": "1.0.0",
                   "groups": ["S"], "labels": l}
                  for i, l in enumerate(labels)]))' >"$T/s.req"
api POST /api/v1/devices "$ADMIN" -H 'Content-Type: application/json' \
    --data-binary "@$T/s.req"
expect_eq "group S provisioned" 201 "$STATUS"
cp "$T/body" "$T/s.json"
stok() { jq -r --arg id "$1" '.devices[] | select(.id == $id) | .token' "$T/s.json"; }
# spoll: "<status> ..." of each S device's REST manifest poll.
spoll() {
	out=""
	for d in s0 s1 s2 s3; do
		api GET "/api/v1/devices/$d/manifest" "$(stok "$d")"
		out="$out $STATUS"
	done
	echo "${out# }"
}
# slabels DEVICE JSON: sets a device's labels.
slabels() {
	api PATCH "/api/v1/devices/$1" "$ADMIN" \
	    -H 'Content-Type: application/json' \
	    --data-binary "{\"labels\":$2}"
}
shealth() {
	api GET "/api/v1/rollouts/$1/health" "$VIEW"
	jqb '.total | "\(.targeted) \(.in_stage)"'
}
post_json /api/v1/rollouts "$REL" "{\"image\":$IMG,\"groups\":[\"S\"],
    \"stages\":[100],\"selector\":\" region = eu , model in ( a, b ), !beta\"}"
expect_eq "a rollout with a selector: 201, the selector canonical" \
    "201 region=eu,model in (a,b),!beta" "$STATUS $(jqb .selector)"
RS=$(jqb .id)
post_json /api/v1/rollouts "$REL" "{\"image\":$IMG,\"groups\":[\"S\"],\"selector\":\"region=\"}"
expect_eq "a selector that is not one is refused" "400 selector:" \
    "$STATUS $(jqb .detail | cut -d' ' -f1)"
post_json /api/v1/rollouts "$REL" "{\"image\":$IMG,\"groups\":[\"S\"],\"selector\":7}"
expect_eq "a selector that is not a string is refused" 400 "$STATUS"
api POST "/api/v1/rollouts/$RS/start" "$REL"
expect_eq "the S rollout started" 200 "$STATUS"
expect_eq "REST polls: only s0 (eu, a, not beta) is offered" \
    "200 204 204 204" "$(spoll)"
expect_eq "health: targeted and in_stage follow the selector" "1 1" \
    "$(shealth "$RS")"
ddi GET "$DDI/s2" "TargetToken $(stok s2)"
expect_eq "DDI: s2 (us) is offered nothing" "200 null" \
    "$STATUS $(jqb ._links.deploymentBase)"
ddi GET "$DDI/s0" "TargetToken $(stok s0)"
check "DDI: s0 has a deployment" test "$(jqb ._links.deploymentBase.href)" != null
slabels s1 '{"region":"eu","model":"b"}'
expect_eq "s1's labels set to eu/b" 200 "$STATUS"
api GET /api/v1/devices/s1/manifest "$(stok s1)"
expect_eq "REST: s1 is offered at its very next poll" "200 $RS" \
    "$STATUS $(jqb .rollout)"
slabels s3 '{"region":"eu","model":"b"}'
ddi GET "$DDI/s3" "TargetToken $(stok s3)"
check "DDI: s3 (beta label gone) has a deployment at its next poll" \
    test "$(jqb ._links.deploymentBase.href)" != null
slabels s0 '{"region":"us","model":"a"}'
api GET /api/v1/devices/s0/manifest "$(stok s0)"
expect_eq "REST: s0 (now us) is offered nothing at its very next poll" \
    204 "$STATUS"
ddi GET "$DDI/s0" "TargetToken $(stok s0)"
check "DDI: s0's open deployment is canceled at its next poll" \
    test "$(jqb ._links.cancelAction.href)" != null
expect_eq "health: s1 and s3 now" "2 2" "$(shealth "$RS")"
api PATCH "/api/v1/rollouts/$RS" "$REL" -H 'Content-Type: application/json' \
    --data-binary '{"selector":""}'
expect_eq "the selector of a running rollout is not edited" 409 "$STATUS"
api POST "/api/v1/rollouts/$RS/pause" "$REL"
OTACTL_SERVER="$BASE" OTACTL_CACERT="$DATA/tls/cert.pem" OTACTL_TOKEN="$REL" \
    "$OTACTL_BIN" rollouts update "$RS" --selector ' region in ( us )' \
    --json >"$T/ctl.out" 2>&1
expect_eq "paused: otactl rollouts update --selector edits it, canonical" \
    "region in (us)" "$(jq -r .selector "$T/ctl.out")"
expect_eq "the edit is audited" \
    "selector \"region=eu,model in (a,b),!beta\" -> \"region in (us)\"" \
    "$(api GET "/api/v1/rollouts/$RS/events" "$VIEW"; jqb '.events[-1].reason')"
api PATCH "/api/v1/rollouts/$RS" "$REL" -H 'Content-Type: application/json' \
    --data-binary '{"selector":"!"}'
expect_eq "a bad selector is refused, nothing changed" \
    "400 region in (us)" \
    "$STATUS $(api GET "/api/v1/rollouts/$RS" "$VIEW"; jqb .selector)"
api POST "/api/v1/rollouts/$RS/resume" "$REL"
expect_eq "resumed: s0 and s2 (us) are offered now" \
    "200 204 200 204" "$(spoll)"
expect_eq "health: two targeted now" "2 2" "$(shealth "$RS")"
api POST "/api/v1/rollouts/$RS/abort" "$REL"

# ---- maintenance windows and action types (the injectable clock) --------

# Group W: w0, w2 poll REST, w1, w3 DDI; w2 is in group N too.
groups_create W N
python3 -c '
import json
print(json.dumps([{"id": "w%d" % i, "hardware": "revA", "version": "1.0.0",
                   "groups": ["W", "N"] if i == 2 else ["W"]}
                  for i in range(4)]))' >"$T/w.req"
api POST /api/v1/devices "$ADMIN" -H 'Content-Type: application/json' \
    --data-binary "@$T/w.req"
expect_eq "group W provisioned" 201 "$STATUS"
cp "$T/body" "$T/w.json"
wtok() { jq -r --arg id "$1" '.devices[] | select(.id == $id) | .token' "$T/w.json"; }
# wpoll DEVICE: "<status> <action> <window> <opens> <closes>" of a REST poll.
wpoll() {
	api GET "/api/v1/devices/$1/manifest" "$(wtok "$1")"
	if [ "$STATUS" = 200 ]; then
		echo "$STATUS $(jqb '"\(.action) \(.maintenance_window) \(.window_opens_at) \(.window_closes_at)"')"
	else
		echo "$STATUS"
	fi
}
# wddi DEVICE: "<download> <update> <maintenanceWindow>" of the device's
# deployment (its poll's deploymentBase link, kept in $T/wlink), "none"
# without one.
wddi() {
	ddi GET "$DDI/$1" "TargetToken $(wtok "$1")"
	jqb '._links.deploymentBase.href // empty' >"$T/wlink"
	if [ ! -s "$T/wlink" ]; then
		echo none
		return
	fi
	ddi GET "$(sed "s|^$BASE||" "$T/wlink")" "TargetToken $(wtok "$1")"
	jqb '.deployment | "\(.download) \(.update) \(.maintenanceWindow)"'
}
wpatch() {
	api PATCH "/api/v1/rollouts/$RW" "$REL" \
	    -H 'Content-Type: application/json' --data-binary "$1"
}

post_json /api/v1/rollouts "$REL" "{\"image\":$IMG,\"groups\":[\"W\"],
    \"stages\":[100],\"maintenance_windows\":\"Mon-Fri 22:00 240m Europe/Berlin\"}"
expect_eq "a rollout with windows: 201, canonical, notify, forced" \
    "201 mon-fri 22:00 4h Europe/Berlin notify forced null" \
    "$STATUS $(jqb '"\(.maintenance_windows) \(.outside_window) \(.action_type) \(.forced_at)"')"
RW=$(jqb .id)
post_json /api/v1/rollouts "$REL" "{\"image\":$IMG,\"groups\":[\"W\"],
    \"maintenance_windows\":\"mon 01:00 1h Mars/Olympus\"}"
expect_eq "an unknown time zone is refused, naming the field" \
    "400 maintenance_windows: window 1: unknown time zone 'Mars/Olympus' (want an IANA id such as Europe/Berlin)" \
    "$STATUS $(jqb .detail)"
post_json /api/v1/rollouts "$REL" "{\"image\":$IMG,\"groups\":[\"W\"],
    \"action_type\":\"time-forced\"}"
expect_eq "time-forced without forced_at is refused" \
    "400 forced_at: required for action_type time-forced (when the soft update becomes forced)" \
    "$STATUS $(jqb .detail)"
post_json /api/v1/rollouts "$REL" "{\"image\":$IMG,\"groups\":[\"W\"],
    \"forced_at\":\"2099-03-03T00:00:00Z\"}"
expect_eq "forced_at on a forced rollout is refused" \
    "400 forced_at: only for action_type time-forced (this rollout is forced)" \
    "$STATUS $(jqb .detail)"
post_json /api/v1/rollouts "$REL" "{\"image\":$IMG,\"groups\":[\"W\"],
    \"outside_window\":\"later\"}"
expect_eq "an unknown outside_window is refused" \
    "400 outside_window: must be \"notify\" or \"silent\"" \
    "$STATUS $(jqb .detail)"
api POST "/api/v1/rollouts/$RW/start" "$REL"
expect_eq "the W rollout started" 200 "$STATUS"

# Monday 2099-03-02 12:00Z is 13:00 in Berlin (CET): closed until 22:00
# CET, 21:00Z.
clock_at 2099-03-02T12:00:00Z
expect_eq "REST outside the window: offered, not now, and when" \
    "200 forced unavailable 2099-03-02T21:00:00Z null" "$(wpoll w0)"
expect_eq "DDI outside the window: download forced, update skip" \
    "forced skip unavailable" "$(wddi w1)"
SKIPPED_LINK=$(cat "$T/wlink")
AW=$(jqb .id)
# SWUpdate answers a skipped update with closed+success ("Skipped
# Update."), installing nothing: not an install.
feedback w1 "$AW" "TargetToken $(wtok w1)" closed success
expect_eq "closed+success on a skipped deployment: 200" 200 "$STATUS"
expect_eq "... recorded as nothing: the action stays open, no event" \
    "open 0" \
    "$(sql "SELECT status FROM ddi_actions WHERE id = $AW") $(sql "SELECT COUNT(*) FROM update_events WHERE rollout_id = $RW AND state = 'completed'")"
expect_eq "health: the window is closed until 21:00Z" \
    "forced false 2099-03-02T21:00:00Z" \
    "$(api GET "/api/v1/rollouts/$RW/health" "$VIEW"; jqb '"\(.action_type) \(.window.open) \(.window.next_change)"')"
expect_eq "metrics: the window is closed, and when it opens" \
    "0 $(date -u -d 2099-03-02T21:00:00Z +%s)" \
    "$(metric "otad_rollout_window_open{rollout=\"$RW\"}") $(metric "otad_rollout_window_next_change_seconds{rollout=\"$RW\"}")"

# 21:30Z: inside, until 01:00Z.
clock_at 2099-03-02T21:30:00Z
expect_eq "REST inside the window: install now, until it closes" \
    "200 forced available null 2099-03-03T01:00:00Z" "$(wpoll w0)"
expect_eq "DDI inside the window: forced, forced, available" \
    "forced forced available" "$(wddi w1)"
expect_eq "health and metrics: open until 01:00Z" \
    "true 2099-03-03T01:00:00Z 1" \
    "$(api GET "/api/v1/rollouts/$RW/health" "$VIEW"; jqb '"\(.window.open) \(.window.next_change)"') $(metric "otad_rollout_window_open{rollout=\"$RW\"}")"
check "the deployment link changed with its modes (a new ?c=)" \
    test "$(cat "$T/wlink")" != "$SKIPPED_LINK"

# A group's windows: every rollout honours them for its members.  N:
# 00:00-02:00Z daily; with the rollout's 21:00-01:00Z, w2 may install
# from 00:00Z to 01:00Z.
OTACTL_SERVER="$BASE" OTACTL_CACERT="$DATA/tls/cert.pem" OTACTL_TOKEN="$ADMIN" \
    "$OTACTL_BIN" groups update N --maintenance-windows 'DAILY 00:00 120m UTC' \
    --json >"$T/ctl.out" 2>&1
expect_eq "otactl groups update: group N gets windows, canonical" \
    "daily 00:00 2h UTC" "$(jq -r .maintenance_windows "$T/ctl.out")"
api PATCH /api/v1/groups/N "$ADMIN" -H 'Content-Type: application/json' \
    --data-binary '{"maintenance_windows":"daily 25:00 2h UTC"}'
expect_eq "a bad group window is refused" \
    "400 maintenance_windows: window 1: start '25:00': want a local time HH:MM, 00:00..23:59" \
    "$STATUS $(jqb .detail)"
expect_eq "w2 (W and N) waits for both: opens at 00:00Z" \
    "200 forced unavailable 2099-03-03T00:00:00Z null" "$(wpoll w2)"
expect_eq "w0 (W only) installs now" \
    "200 forced available null 2099-03-03T01:00:00Z" "$(wpoll w0)"
clock_at 2099-03-03T00:30:00Z
expect_eq "w2 at 00:30Z: inside both, until the rollout's closes" \
    "200 forced available null 2099-03-03T01:00:00Z" "$(wpoll w2)"
api PATCH /api/v1/groups/N "$ADMIN" -H 'Content-Type: application/json' \
    --data-binary '{"maintenance_windows":""}'
expect_eq "group N's windows removed" "200 " \
    "$STATUS $(jqb .maintenance_windows)"

# silent: outside the windows nothing is offered, REST nor DDI.
clock_at 2099-03-03T12:00:00Z
wpatch '{"outside_window":"silent"}'
expect_eq "PATCH of a running rollout is refused" 409 "$STATUS"
api POST "/api/v1/rollouts/$RW/pause" "$REL"
wpatch '{"outside_window":"silent"}'
expect_eq "PATCH while paused: silent" "200 silent" \
    "$STATUS $(jqb .outside_window)"
api GET "/api/v1/rollouts/$RW/events?limit=100" "$VIEW"
expect_eq "the edit is audited" "outside_window notify -> silent" \
    "$(jqb '[.events[] | select(.action == "update")] | last | .reason')"
api POST "/api/v1/rollouts/$RW/resume" "$REL"
expect_eq "silent outside the window: REST 204" 204 "$(wpoll w0)"
expect_eq "silent outside the window: no DDI deployment for w3" none \
    "$(wddi w3)"
expect_eq "... and w1's open action waits" none "$(wddi w1)"
clock_at 2099-03-03T21:30:00Z
expect_eq "silent inside the window: offered" \
    "200 forced available null 2099-03-04T01:00:00Z" "$(wpoll w0)"
expect_eq "w3 gets its deployment inside the window" \
    "forced forced available" "$(wddi w3)"

# Action types, inside the window.
api POST "/api/v1/rollouts/$RW/pause" "$REL"
wpatch '{"action_type":"soft"}'
api POST "/api/v1/rollouts/$RW/resume" "$REL"
expect_eq "soft: REST says soft" \
    "200 soft available null 2099-03-04T01:00:00Z" "$(wpoll w0)"
expect_eq "soft: DDI attempt, attempt" "attempt attempt available" \
    "$(wddi w1)"
# The user of w0 postpones it: deferred, neither success nor failure.
events w0 "$(wtok w0)" "$(ev w0-defer "$RW" deferred)"
expect_eq "a deferred report is accepted" "200 1" "$STATUS $(jqb .accepted)"
expect_eq "health: w0 deferred, nothing finished, not breached" \
    "1 0 0 0 false" \
    "$(api GET "/api/v1/rollouts/$RW/health" "$VIEW"; jqb '"\(.total.deferred) \(.total.started) \(.total.completed) \(.total.failed) \(.breached)"')"
expect_eq "metrics: one deferred event over REST" 1 \
    "$(metric 'otad_events_total{transport="rest",state="deferred"}')"
events w0 "$(wtok w0)" "$(ev w0-defer-2 "$RW" deferred '"progress":5')"
expect_eq "deferred takes no progress" \
    "400 progress: only with state progress or started" \
    "$STATUS $(jqb .detail)"
api POST "/api/v1/rollouts/$RW/pause" "$REL"
OTACTL_SERVER="$BASE" OTACTL_CACERT="$DATA/tls/cert.pem" OTACTL_TOKEN="$REL" \
    "$OTACTL_BIN" rollouts update "$RW" --action-type download-only \
    --json >"$T/ctl.out" 2>&1
expect_eq "otactl rollouts update --action-type" download-only \
    "$(jq -r .action_type "$T/ctl.out")"
api POST "/api/v1/rollouts/$RW/resume" "$REL"
expect_eq "download-only: REST says so" \
    "200 download-only available null 2099-03-04T01:00:00Z" "$(wpoll w0)"
expect_eq "download-only: DDI download forced, update skip" \
    "forced skip available" "$(wddi w1)"
api POST "/api/v1/rollouts/$RW/pause" "$REL"
wpatch '{"action_type":"time-forced","forced_at":"2099-03-04T00:00:00+01:00"}'
expect_eq "time-forced with its deadline (converted to UTC)" \
    "200 time-forced 2099-03-03T23:00:00Z" \
    "$STATUS $(jqb '"\(.action_type) \(.forced_at)"')"
api POST "/api/v1/rollouts/$RW/resume" "$REL"
api GET "/api/v1/devices/w0/manifest" "$(wtok w0)"
expect_eq "time-forced before its deadline: soft, the deadline told" \
    "soft 2099-03-03T23:00:00Z" "$(jqb '"\(.action) \(.forced_at)"')"
expect_eq "... DDI attempt" "attempt attempt available" "$(wddi w1)"
clock_at 2099-03-03T23:30:00Z
api GET "/api/v1/devices/w0/manifest" "$(wtok w0)"
expect_eq "time-forced after its deadline: forced" \
    "forced 2099-03-03T23:00:00Z" "$(jqb '"\(.action) \(.forced_at)"')"
expect_eq "... DDI forced" "forced forced available" "$(wddi w1)"
api POST "/api/v1/rollouts/$RW/abort" "$REL"
clock_set 0

# ---- a breached rollout held by the timer: logged once -------------------

post_json /api/v1/rollouts "$REL" "{\"image\":$IMG,\"groups\":[\"C\"],
    \"stages\":[50,100],\"failure_threshold\":0.05,\"min_reports\":1,
    \"advance_after\":60}"
R2=$(jqb .id)
api POST "/api/v1/rollouts/$R2/start" "$REL"
expect_eq "rollout of C started" 200 "$STATUS"
events c0 "$(tok_of c0)" "$(ev c0-fail "$R2" failed '"result":8')"
expect_eq "c0 fails" "200 1" "$STATUS $(jqb .accepted)"
wait_for "1/1 failed: paused by itself" paused 10 \
    sql "SELECT state FROM rollouts WHERE id = $R2"
api POST "/api/v1/rollouts/$R2/resume" "$REL"
expect_eq "resumed by hand while still breached" 200 "$STATUS"
# Due for its automatic advance (stage 0 ran 10 minutes), but breached.
sql "UPDATE rollouts SET stage_started_at = '$(ago 600)' WHERE id = $R2"
check "the timer holds it" \
    log_wait "automatic advance held: failure threshold reached\" id=$R2 " 1 100
# The timer passes every 5 s: two or three more passes.
sleep 11
expect_eq "a hold lasting three passes is logged once" 1 \
    "$(grep -c "automatic advance held: failure threshold reached\" id=$R2 " "$OTAD_LOG")"
expect_eq "still running at stage 0" "running 0" \
    "$(sql "SELECT state || ' ' || stage_index FROM rollouts WHERE id = $R2")"

otad_stop
expect_eq "clean exit" 0 "$?"
broker_stop
check "sanitizers report nothing" sanitizer_clean
finish
