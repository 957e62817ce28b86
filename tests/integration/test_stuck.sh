#!/bin/sh
# Stuck and failing devices (docs/rollouts.md), through the REST API, the
# manifest polls and telemetry, on the injectable clock (no sleeping
# through a timeout or a backoff):
#  * the policy's fields at create, in the rollout's JSON, refused out of
#    bounds, edited by PATCH (audited);
#  * device_timeout: offered, started and in-progress updates become
#    timed_out at the rollout timer's next pass once the clock passed the
#    timeout, shown in health; a late final report records the real
#    outcome;
#  * retries: a failed or timed-out device is told nothing during its
#    backoff, offered again when due (a new attempt, counted in health's
#    retries), left alone once max_retries are spent; without retries (the
#    default) a failed device is never offered the same image again;
#  * abort criteria: failures whose result code is ignored do not count,
#    a breach with breach_action abort ends the rollout;
#  * consent: a require_consent rollout's manifest says consent required
#    until the device reports accepted (then given), a declined device is
#    told nothing until consent_retry has passed, installing implies
#    consent, declines count against the gate when abort_on says so;
#  * DDI retries: a DDI device whose deployment failed gets a new action
#    (a new id) once its backoff is over, up to max_retries;
#  * DDI consent: hawkBit's confirmation flow (confirmationBase instead of
#    deploymentBase until the device confirms; denied is declined).
. "$(dirname "$0")/../lib.sh"

otad_setup
otad_start || exit 1
tokens

# ---- helpers ----------------------------------------------------------

# ts: a device time (now, real clock).
ts() { date -u +%Y-%m-%dT%H:%M:%SZ; }

# ev ID ROLLOUT STATE [extra JSON members]: one event object of 2.0.0.
ev() {
	printf '{"event_id":"%s","rollout":%s,"version":"2.0.0","state":"%s","ts":"%s"%s}' \
	    "$1" "$2" "$3" "$(ts)" "${4:+,$4}"
}

# report DEVICE EVENTS_JSON_ARRAY: the device posts its events; checks 200.
report() {
	events "$1" "$(tok_of "$1")" "$2"
	expect_eq "$1 reports" 200 "$STATUS"
}

# poll DEVICE: the device polls its manifest on 1.0.0; prints the status.
poll() {
	api GET "/api/v1/devices/$1/manifest?version=1.0.0" "$(tok_of "$1")"
	echo "$STATUS"
}

# status_of DEVICE ROLLOUT: "<status> <retries>" of its device_updates row.
status_of() {
	sql "SELECT status || ' ' || retries FROM device_updates
	    WHERE device_id = '$1' AND rollout_id = $2"
}

# timed_out_devices: the devices whose update is timed_out, sorted.
timed_out_devices() {
	sql "SELECT device_id FROM device_updates WHERE status = 'timed_out'
	    ORDER BY device_id" | paste -sd' ' -
}

# health ROLLOUT FILTER: jq FILTER on the rollout's health, compact.
health() {
	api GET "/api/v1/rollouts/$1/health" "$VIEW"
	jq -c "$2" "$T/body"
}

# state ROLLOUT: the rollout's state.
state() {
	api GET "/api/v1/rollouts/$1" "$VIEW"
	jqb .state
}

# metric SERIES: its value in a fresh scrape, "none" when absent.
metric() {
	api GET /metrics "$VIEW"
	awk -v s="$1" 'index($0, s " ") == 1 { v = substr($0, length(s) + 2) }
	    END { print (v == "" ? "none" : v) }' "$T/body"
}
# ---- an image, two groups, eleven devices --------------------------------

make_image "$T/fw.bin" 2000
release "$T/fw.bin" sensor-fw 2.0.0 revA
upload_curl "$REL" "$T/fw.bin"
expect_eq "image 2.0.0 uploaded" 201 "$STATUS"
IMG=$(jqb .id)
groups_create fleet lab rate tmo cns ddr dcn
python3 -c '
import json
devs = [{"id": "s-%d" % i, "hardware": "revA", "groups": ["fleet"]}
        for i in range(1, 7)]
devs += [{"id": "l-%d" % i, "hardware": "revA", "groups": ["lab"]}
         for i in range(1, 6)]
devs += [{"id": "r-%d" % i, "hardware": "revA", "groups": ["rate"]}
         for i in range(1, 6)]
devs.append({"id": "r-6", "hardware": "revA", "version": "1.0.0",
             "groups": ["rate"]})
devs += [{"id": "t-%d" % i, "hardware": "revA", "groups": ["tmo"]}
         for i in range(1, 3)]
devs += [{"id": "c-%d" % i, "hardware": "revA", "groups": ["cns"]}
         for i in range(1, 5)]
devs.append({"id": "d-1", "hardware": "revA", "version": "1.0.0",
             "groups": ["ddr"]})
devs += [{"id": "e-%d" % i, "hardware": "revA", "version": "1.0.0",
          "groups": ["dcn"]} for i in range(1, 3)]
devs += [{"id": "u-1", "hardware": "revA", "labels": {"ring": "canary"}},
         {"id": "u-2", "hardware": "revA", "labels": {"ring": "main"}},
         {"id": "u-3", "hardware": "revB", "labels": {"ring": "canary"}}]
print(json.dumps(devs))' >"$T/devices.req"
devices_provision "29 devices provisioned"

# ---- the policy at create, in JSON, refused out of bounds ----------------

# refused FIELD_JSON WANT_DETAIL: a create with FIELD_JSON answers 400
# naming the field.
refused() {
	post_json /api/v1/rollouts "$REL" \
	    "{\"image\":$IMG,\"groups\":[\"fleet\"],$1}"
	expect_eq "create with $1: 400" "400 $2" "$STATUS $(jqb .detail)"
}
refused '"device_timeout":30' \
    "device_timeout: must be 0 (none) or 60..2592000 seconds"
refused '"max_retries":101' "max_retries: must be 0..100"
refused '"retry_backoff":-1' "retry_backoff: must be 0..604800 seconds"
refused '"abort_on":["failed","accepted"]' \
    "abort_on: 'accepted' is not an outcome (failed, timed_out, reverted, declined)"
refused '"abort_on":"failed"' \
    'abort_on: must be an array of distinct outcomes among "failed", "timed_out", "reverted", "declined"'
refused '"consent_retry":60' \
    "consent_retry: only with require_consent (this rollout does not ask for consent)"
refused '"require_consent":"yes"' "require_consent: must be true or false"
refused '"require_consent":true,"consent_retry":-1' \
    "consent_retry: must be 0 (never ask again) or 1..31536000 seconds"
refused '"ignore_results":[12]' \
    "ignore_results: must be an array of distinct LwM2M result codes 0..11"
refused '"breach_action":"stop"' 'breach_action: must be "pause" or "abort"'
expect_eq "nothing stored on a refusal" 0 \
    "$(sql 'SELECT COUNT(*) FROM rollouts')"

post_json /api/v1/rollouts "$REL" "{\"image\":$IMG,\"groups\":[\"fleet\"],
    \"stages\":[100],\"failure_threshold\":0.9,\"min_reports\":100,
    \"device_timeout\":600,\"retry_backoff\":120,
    \"abort_on\":[\"timed_out\",\"failed\"],\"ignore_results\":[9,4]}"
expect_eq "rollout R1 created" 201 "$STATUS"
R1=$(jqb .id)
expect_eq "R1 shows its policy" \
    '[600,0,120,["failed","timed_out"],[4,9],"pause"]' \
    "$(jq -c '[.device_timeout, .max_retries, .retry_backoff, .abort_on, .ignore_results, .breach_action]' "$T/body")"
post_json /api/v1/rollouts "$REL" \
    "{\"image\":$IMG,\"groups\":[\"lab\"],\"stages\":[100]}"
expect_eq "a rollout without the policy: 201" 201 "$STATUS"
expect_eq "its defaults" '[0,0,300,["failed","timed_out","reverted"],[],"pause"]' \
    "$(jq -c '[.device_timeout, .max_retries, .retry_backoff, .abort_on, .ignore_results, .breach_action]' "$T/body")"
api POST "/api/v1/rollouts/$(jqb .id)/abort" "$REL"

# PATCH while a draft: one retry; audited; a bad value refuses the patch.
api PATCH "/api/v1/rollouts/$R1" "$REL" -H 'Content-Type: application/json' \
    --data-binary '{"max_retries":1,"breach_action":"pause"}'
expect_eq "PATCH max_retries: 200" "200 1" "$STATUS $(jqb .max_retries)"
api PATCH "/api/v1/rollouts/$R1" "$REL" -H 'Content-Type: application/json' \
    --data-binary '{"max_retries":2,"device_timeout":5}'
expect_eq "PATCH with a bad device_timeout: 400, nothing changed" \
    "400 device_timeout: must be 0 (none) or 60..2592000 seconds" \
    "$STATUS $(jqb .detail)"
api GET "/api/v1/rollouts/$R1/events" "$VIEW"
expect_eq "the edit is audited" "update max_retries 0 -> 1" \
    "$(jqb '.events[] | select(.action == "update") | "\(.action) \(.reason)"')"

# ---- device_timeout --------------------------------------------------------

api POST "/api/v1/rollouts/$R1/start" "$REL"
expect_eq "R1 started" 200 "$STATUS"
for d in s-1 s-2 s-3 s-4 s-5 s-6; do
	expect_eq "$d is offered R1" 200 "$(poll $d)"
done
wait_for "the six offers are recorded" 6 10 \
    sql "SELECT COUNT(*) FROM device_updates WHERE rollout_id = $R1
        AND status = 'offered' AND attempt_at IS NOT NULL"
report s-1 "[$(ev a1 "$R1" started)]"
report s-3 "[$(ev c1 "$R1" completed)]"
report s-4 "[$(ev d1 "$R1" failed '"result":4')]"
report s-5 "[$(ev e1 "$R1" failed '"result":3')]"
report s-6 "[$(ev f1 "$R1" started),$(ev f2 "$R1" progress '"progress":40')]"
# Without retries left alone... R1 has one: s-4 (failed just now) waits.
expect_eq "s-4 failed: told nothing during its backoff" 204 "$(poll s-4)"
# Before the timeout nothing times out (the timer passes every 5 s).
clock_set 590
sleep 6
expect_eq "nothing timed out at 590 s" 0 \
    "$(sql "SELECT COUNT(*) FROM device_updates WHERE status = 'timed_out'")"
clock_set 610
wait_for "s-1 (started), s-2 (offered), s-6 (in progress) time out" \
    "s-1 s-2 s-6" 12 timed_out_devices
expect_eq "s-3 completed and s-4/s-5 failed stay" "completed 0|failed 0|failed 0" \
    "$(status_of s-3 "$R1")|$(status_of s-4 "$R1")|$(status_of s-5 "$R1")"
expect_eq "health: timed_out 3 (total and stage 0)" "[3,3]" \
    "$(health "$R1" '[.total.timed_out, .stages[0].timed_out]')"
# abort_on failed, timed_out; result 4 ignored: 1 good, 4 bad (s-5, 3x
# timed out); min_reports 100: not breached.
expect_eq "health: the gate's tally and no breach" \
    '[{"good":1,"bad":4},false,"running"]' \
    "$(health "$R1" '[.gate_counts, .breached, .state]')"
# A late final report after timed_out records the real outcome.
report s-6 "[$(ev f3 "$R1" completed)]"
expect_eq "s-6: its late completion is recorded" "completed 0" \
    "$(status_of s-6 "$R1")"
report s-1 "[$(ev a2 "$R1" progress '"progress":90')]"
expect_eq "s-1: a late progress does not undo timed_out" "timed_out 0" \
    "$(status_of s-1 "$R1")"

# ---- retries ---------------------------------------------------------------

# s-2 timed out at about 610 s: its backoff (120 s) runs.
expect_eq "s-2 timed out: told nothing during its backoff" 204 "$(poll s-2)"
# s-4 failed at about 0 s: its 120 s are over: retried.
expect_eq "s-4 is offered R1 again (its retry)" 200 "$(poll s-4)"
wait_for "s-4: a new attempt, retries 1" "offered 1" 10 status_of s-4 "$R1"
clock_set 760
expect_eq "s-2 is offered again once its backoff is over" 200 "$(poll s-2)"
wait_for "s-2: a new attempt, retries 1" "offered 1" 10 status_of s-2 "$R1"
expect_eq "health: retries 2" 2 "$(health "$R1" .total.retries)"
# s-4's retry fails again: its one retry is spent, it is left alone.
report s-4 "[$(ev d2 "$R1" failed '"result":3')]"
expect_eq "s-4 failed again" "failed 1" "$(status_of s-4 "$R1")"
clock_set 5000
expect_eq "s-4: retries spent, never offered again" 204 "$(poll s-4)"
expect_eq "s-5 (failed, a retry left) is offered" 200 "$(poll s-5)"
# s-2's second attempt times out too, 600 s after its retry.
clock_set 5400
wait_for "s-2's retry times out" "timed_out 1" 12 status_of s-2 "$R1"
expect_eq "s-2: retries spent after its second timeout" 204 "$(poll s-2)"
clock_set 0

# ---- otactl: every field on create and update ------------------------------

# ctl TOKEN ARGS...: otactl against this otad; output in $T/out, RC.
ctl() {
	tok=$1
	shift
	OTACTL_SERVER="$BASE" OTACTL_CACERT="$DATA/tls/cert.pem" \
	    OTACTL_TOKEN=$tok "$OTACTL_BIN" "$@" >"$T/out" 2>"$T/err"
	RC=$?
}
ctl "$REL" rollouts create --image "$IMG" --group lab --device-timeout 900 \
    --max-retries 3 --retry-backoff 60 --abort-on failed,reverted \
    --ignore-results 4 --breach-action abort --max-offers-per-minute 10 \
    --rate-ramp-minutes 5 --rate-ramp-max 80 --json
expect_eq "otactl rollouts create with the stuck policy: exit 0" 0 "$RC"
expect_eq "otactl: the fields sent" '[900,3,60,["failed","reverted"],[4],"abort",10,5,80]' \
    "$(jq -c '[.device_timeout, .max_retries, .retry_backoff, .abort_on, .ignore_results, .breach_action, .max_offers_per_minute, .rate_ramp_minutes, .rate_ramp_max]' "$T/out")"
RC3=$(jq -r .id "$T/out")
ctl "$REL" rollouts update "$RC3" --abort-on "" --ignore-results "" \
    --max-retries 0
expect_eq "otactl rollouts update: exit 0" 0 "$RC"
check "otactl rollouts update: shown as a record" \
    grep -q '^breach_action: *abort$' "$T/out"
api GET "/api/v1/rollouts/$RC3" "$VIEW"
expect_eq "otactl: the fields updated" '[[],[],0]' \
    "$(jq -c '[.abort_on, .ignore_results, .max_retries]' "$T/body")"
ctl "$REL" rollouts update "$RC3" --ignore-results 4,x
expect_eq "otactl: a bad --ignore-results is a usage error" 2 "$RC"
api POST "/api/v1/rollouts/$RC3/abort" "$REL"

# ---- abort criteria: ignored result codes, breach_action abort -----------

post_json /api/v1/rollouts "$REL" "{\"image\":$IMG,\"groups\":[\"lab\"],
    \"stages\":[100],\"failure_threshold\":0.5,\"min_reports\":3,
    \"abort_on\":[\"failed\"],\"ignore_results\":[4],
    \"breach_action\":\"abort\"}"
expect_eq "rollout R2 created" 201 "$STATUS"
R2=$(jqb .id)
api POST "/api/v1/rollouts/$R2/start" "$REL"
expect_eq "R2 started" 200 "$STATUS"
report l-1 "[$(ev g1 "$R2" failed '"result":4')]"
report l-2 "[$(ev h1 "$R2" completed)]"
report l-3 "[$(ev i1 "$R2" failed '"result":4')]"
# Counting every failure, 2 of 3 (67%) would breach; result 4 does not
# count: 1 good, 0 bad.
expect_eq "R2: connection-lost failures do not count" \
    '[{"good":1,"bad":0},false,"running"]' \
    "$(health "$R2" '[.gate_counts, .breached, .state]')"
# Without retries (the default) a failed device is left alone.
expect_eq "l-1 failed, no retries: never offered again" 204 "$(poll l-1)"
expect_eq "l-4 (no report) is offered R2" 200 "$(poll l-4)"
report l-4 "[$(ev j1 "$R2" failed '"result":3')]"
expect_eq "R2 still running at 1 bad of 2" running "$(state "$R2")"
report l-5 "[$(ev k1 "$R2" failed '"result":8')]"
wait_for "R2 aborted by its gate (2 bad of 3)" aborted 10 state "$R2"
api GET "/api/v1/rollouts/$R2/events" "$VIEW"
expect_eq "the abort is audited by otad with the figures" \
    "abort otad failure rate 2/3 (66.7%) reached the threshold 50.0% (min_reports 3)" \
    "$(jqb '.events[] | select(.action == "abort") | "\(.action) \(.actor) \(.reason)"')"
expect_eq "an aborted rollout offers nothing" 204 "$(poll l-4)"

# ---- timeouts counted by the gate: the timer pauses ----------------------

post_json /api/v1/rollouts "$REL" "{\"image\":$IMG,\"groups\":[\"tmo\"],
    \"stages\":[100],\"failure_threshold\":0.5,\"min_reports\":1,
    \"device_timeout\":60,\"abort_on\":[\"timed_out\"]}"
expect_eq "rollout R5 (timeouts count, 60 s) created" 201 "$STATUS"
R5=$(jqb .id)
api POST "/api/v1/rollouts/$R5/start" "$REL"
expect_eq "t-1 and t-2 are offered R5" "200 200" "$(poll t-1) $(poll t-2)"
wait_for "their offers are recorded" 2 10 \
    sql "SELECT COUNT(*) FROM device_updates WHERE rollout_id = $R5"
report t-1 "[$(ev t1 "$R5" failed '"result":3')]"
expect_eq "a failure does not count (abort_on timed_out)" \
    '[{"good":0,"bad":0},false,"running"]' \
    "$(health "$R5" '[.gate_counts, .breached, .state]')"
clock_set 70
wait_for "t-2 times out and the timer's gate pauses R5" paused 12 state "$R5"
api GET "/api/v1/rollouts/$R5/events" "$VIEW"
expect_eq "the pause is otad's, with the figures" \
    "pause otad failure rate 1/1 (100.0%) reached the threshold 50.0% (min_reports 1)" \
    "$(jqb '.events[] | select(.action == "pause") | "\(.action) \(.actor) \(.reason)"')"
clock_set 0

# ---- rate control -------------------------------------------------------------

refused '"rate_ramp_minutes":5' \
    "rate_ramp_minutes: must be 0 (no ramp) or 1..1440, with a max_offers_per_minute"
refused '"max_offers_per_minute":2,"rate_ramp_minutes":1,"rate_ramp_max":1' \
    "rate_ramp_max: must be max_offers_per_minute..1000000 with a ramp, 0 without"
post_json /api/v1/rollouts "$REL" "{\"image\":$IMG,\"groups\":[\"rate\"],
    \"stages\":[100],\"max_offers_per_minute\":2,\"rate_ramp_minutes\":1,
    \"rate_ramp_max\":8}"
expect_eq "rollout R3 (2 new offers a minute, doubling every minute up to 8) created" \
    201 "$STATUS"
R3=$(jqb .id)
api POST "/api/v1/rollouts/$R3/start" "$REL"
expect_eq "R3 started" 200 "$STATUS"
expect_eq "r-1, r-2 offered; r-3 told nothing (2 a minute)" "200 200 204" \
    "$(poll r-1) $(poll r-2) $(poll r-3)"
wait_for "the two offers are recorded" 2 10 \
    sql "SELECT COUNT(*) FROM device_updates WHERE rollout_id = $R3"
expect_eq "r-1 polls again: its offer is not a new one" 200 "$(poll r-1)"
ddi GET "$DDI/r-6" "TargetToken $(tok_of r-6)"
expect_eq "DDI: r-6 gets no deployment while the rate is spent" "200 null" \
    "$STATUS $(jq -c '._links.deploymentBase' "$T/body")"
expect_eq "health: the rate now and what it did" \
    '{"max_offers_per_minute":2,"per_minute":2,"admitted":2,"limited":2}' \
    "$(health "$R3" .rate)"
expect_eq "metrics: R3's rate, admitted and limited" "2 2 2" \
    "$(metric "otad_rollout_offer_rate{rollout=\"$R3\"}") $(metric "otad_rollout_offers_admitted_total{rollout=\"$R3\"}") $(metric "otad_rollout_offers_limited_total{rollout=\"$R3\"}")"
# A minute later the ramp doubled the rate: r-3 gets it at a later poll.
clock_set 61
expect_eq "a minute on: r-3 and r-4 offered" "200 200" "$(poll r-3) $(poll r-4)"
ddi GET "$DDI/r-6" "TargetToken $(tok_of r-6)"
expect_eq "DDI: r-6 gets its deployment at a later poll" "200 true" \
    "$STATUS $(jq -c '._links.deploymentBase.href != null' "$T/body")"
expect_eq "health: the ramp doubled the rate" 4 "$(health "$R3" .rate.per_minute)"
clock_set 0

# ---- a selector alone: every device it matches ---------------------------

post_json /api/v1/rollouts "$REL" "{\"image\":$IMG,\"stages\":[100]}"
expect_eq "no groups and no selector: 400" \
    "400 groups: required unless a selector names the devices (a rollout without groups targets every device its selector matches)" \
    "$STATUS $(jqb .detail)"
post_json /api/v1/rollouts "$REL" "{\"image\":$IMG,\"groups\":[],
    \"selector\":\"ring=canary\",\"stages\":[100]}"
expect_eq "a rollout of a selector alone: 201, no groups" "201 []" \
    "$STATUS $(jq -c .groups "$T/body")"
R4=$(jqb .id)
api POST "/api/v1/rollouts/$R4/start" "$REL"
expect_eq "R4 started" 200 "$STATUS"
expect_eq "u-1 (canary, in no group) is offered R4; u-2 (main) is not" \
    "200 204" "$(poll u-1) $(poll u-2)"
expect_eq "R4's manifest is R4's" "$R4" "$(poll u-1 >/dev/null; jqb .rollout)"
# Every device the selector matches whose hardware the image fits: u-1
# (u-3 is revB).
expect_eq "health: targeted follows the selector alone" 1 \
    "$(health "$R4" .total.targeted)"
wait_for "u-1's offer is recorded" 1 10 \
    sql "SELECT COUNT(*) FROM device_updates WHERE rollout_id = $R4"
report u-1 "[$(ev u1 "$R4" completed)]"
expect_eq "u-1's report counts for R4" 1 "$(health "$R4" .total.completed)"
events u-2 "$(tok_of u-2)" "[$(ev u2 "$R4" failed '"result":3')]"
expect_eq "u-2's report is refused: never offered R4" \
    "0 not_targeted" "$(jqb .accepted) $(jqb '.results[0].error')"
expect_eq "nothing counted for u-2" 0 "$(health "$R4" .total.failed)"
api POST "/api/v1/rollouts/$R4/pause" "$REL"
api PATCH "/api/v1/rollouts/$R4" "$REL" -H 'Content-Type: application/json' \
    --data-binary '{"selector":""}'
expect_eq "its selector cannot be removed (it would target everyone)" 400 \
    "$STATUS"
api POST "/api/v1/rollouts/$R4/abort" "$REL"

# ---- consent -------------------------------------------------------------------

# cev ID ROLLOUT STATE TS: an event of 2.0.0 at device time TS.
cev() {
	printf '{"event_id":"%s","rollout":%s,"version":"2.0.0","state":"%s","ts":"%s"}' \
	    "$1" "$2" "$3" "$4"
}
post_json /api/v1/rollouts "$REL" "{\"image\":$IMG,\"groups\":[\"cns\"],
    \"stages\":[100],\"require_consent\":true,\"consent_retry\":300,
    \"abort_on\":[\"failed\",\"declined\"],\"min_reports\":100}"
expect_eq "rollout R6 (consent, re-ask after 300 s) created" \
    "201 true 300" "$STATUS $(jqb .require_consent) $(jqb .consent_retry)"
R6=$(jqb .id)
api POST "/api/v1/rollouts/$R6/start" "$REL"
for d in c-1 c-2 c-3 c-4; do
	poll $d >/dev/null
	expect_eq "$d is offered R6, consent required" "200 required" \
	    "$STATUS $(jqb .consent)"
done
wait_for "the four offers are recorded" 4 10 \
    sql "SELECT COUNT(*) FROM device_updates WHERE rollout_id = $R6"
report c-1 "[$(cev ca1 "$R6" accepted 2026-01-01T00:00:01Z)]"
expect_eq "c-1 accepted: its manifest says consent given" "200 given" \
    "$(poll c-1) $(jqb .consent)"
report c-2 "[$(cev cb1 "$R6" declined 2026-01-01T00:00:01Z)]"
expect_eq "c-2 declined: told nothing" 204 "$(poll c-2)"
report c-3 "[$(cev cc1 "$R6" started 2026-01-01T00:00:01Z)]"
expect_eq "c-3 installs without answering: consent implied" "200 given" \
    "$(poll c-3) $(jqb .consent)"
events c-4 "$(tok_of c-4)" \
    "{\"event_id\":\"cd0\",\"rollout\":$R6,\"version\":\"2.0.0\",\"state\":\"accepted\",\"ts\":\"$(ts)\",\"progress\":5}"
expect_eq "accepted with a progress: refused" \
    "400 progress: only with state progress or started" \
    "$STATUS $(jqb .detail)"
expect_eq "statuses: accepted, declined, started, offered" \
    "accepted 0|declined 0|started 0|offered 0" \
    "$(status_of c-1 "$R6")|$(status_of c-2 "$R6")|$(status_of c-3 "$R6")|$(status_of c-4 "$R6")"
expect_eq "health: accepted, declined, awaiting_consent (c-4), offered" \
    '[1,1,1,4,1,1,1]' \
    "$(health "$R6" '[.total.accepted, .total.declined, .total.awaiting_consent, .total.offered, .stages[0].accepted, .stages[0].declined, .stages[0].awaiting_consent]')"
expect_eq "metrics: R6's devices awaiting consent, declined" "1 1" \
    "$(metric "otad_rollout_awaiting_consent{rollout=\"$R6\"}") $(metric "otad_rollout_declined{rollout=\"$R6\"}")"
expect_eq "metrics: the consent answers among the events" "1 1" \
    "$(metric 'otad_events_total{transport="rest",state="accepted"}') $(metric 'otad_events_total{transport="rest",state="declined"}')"
expect_eq "health: the decline counts against the gate (abort_on)" \
    '{"good":0,"bad":1}' "$(health "$R6" .gate_counts)"
# A change of mind: an accepted at a later device time wins...
report c-4 "[$(cev cd1 "$R6" declined 2026-01-01T00:00:05Z),$(cev cd2 "$R6" accepted 2026-01-01T00:00:09Z)]"
expect_eq "c-4: declined then accepted later: accepted" "accepted 0" \
    "$(status_of c-4 "$R6")"
# ... and a decline that arrives late (an earlier device time) does not.
report c-4 "[$(cev cd3 "$R6" declined 2026-01-01T00:00:07Z)]"
expect_eq "c-4: an older decline arriving late changes nothing" \
    "accepted 0" "$(status_of c-4 "$R6")"
clock_set 290
expect_eq "c-2 before consent_retry: still told nothing" 204 "$(poll c-2)"
clock_set 310
expect_eq "c-2 after consent_retry: asked again" "200 required" \
    "$(poll c-2) $(jqb .consent)"
report c-2 "[$(cev cb2 "$R6" declined 2026-01-01T00:00:30Z)]"
expect_eq "c-2 declines again: the wait starts over" 204 "$(poll c-2)"
clock_set 0
api POST "/api/v1/rollouts/$R6/pause" "$REL"
api PATCH "/api/v1/rollouts/$R6" "$REL" -H 'Content-Type: application/json' \
    --data-binary '{"consent_retry":0}'
expect_eq "PATCH consent_retry 0: 200" "200 0" "$STATUS $(jqb .consent_retry)"
api GET "/api/v1/rollouts/$R6/events" "$VIEW"
expect_eq "the consent edit is audited" "update consent_retry 300 -> 0" \
    "$(jqb '.events[] | select(.action == "update") | "\(.action) \(.reason)"')"
api POST "/api/v1/rollouts/$R6/resume" "$REL"
clock_set 100000
expect_eq "consent_retry 0: c-2 is never asked again" 204 "$(poll c-2)"
clock_set 0
ctl "$REL" rollouts update "$R6" --require-consent maybe
expect_eq "otactl: a bad --require-consent is a usage error" 2 "$RC"
api POST "/api/v1/rollouts/$R6/pause" "$REL"
ctl "$REL" rollouts update "$R6" --require-consent false
expect_eq "otactl rollouts update --require-consent false: exit 0" 0 "$RC"
api POST "/api/v1/rollouts/$R6/resume" "$REL"
expect_eq "without consent: no consent field, c-2 is offered" "200 null" \
    "$(poll c-2) $(jqb .consent)"
api POST "/api/v1/rollouts/$R6/abort" "$REL"

# ---- retries over DDI: a new action per attempt ---------------------------

# ddi_poll DEVICE: its DDI poll; prints the deploymentBase action id or
# "none".
ddi_poll() {
	ddi GET "$DDI/$1" "TargetToken $(tok_of "$1")"
	jq -r '._links.deploymentBase.href // "none"' "$T/body" |
	    sed -E 's|.*/deploymentBase/([0-9]+).*|\1|'
}
# ddi_fail DEVICE ACTION: the device reports its deployment failed.
ddi_fail() {
	ddi POST "$DDI/$1/deploymentBase/$2/feedback" "TargetToken $(tok_of "$1")" \
	    -H 'Content-Type: application/json' --data-binary \
	    "{\"id\":\"$2\",\"status\":{\"execution\":\"closed\",\"result\":{\"finished\":\"failure\"},\"details\":[\"flash\"]}}"
	expect_eq "$1 reports action $2 failed" 200 "$STATUS"
}
post_json /api/v1/rollouts "$REL" "{\"image\":$IMG,\"groups\":[\"ddr\"],
    \"stages\":[100],\"max_retries\":1,\"retry_backoff\":120}"
expect_eq "rollout R7 (one retry after 120 s) created" 201 "$STATUS"
R7=$(jqb .id)
api POST "/api/v1/rollouts/$R7/start" "$REL"
A1=$(ddi_poll d-1)
check "DDI: d-1 gets a deployment of R7 (action $A1)" test "$A1" != none
wait_for "d-1's offer is recorded" "offered 0" 10 status_of d-1 "$R7"
ddi_fail d-1 "$A1"
wait_for "d-1's update failed" "failed 0" 10 status_of d-1 "$R7"
expect_eq "DDI: no deployment during the backoff" none "$(ddi_poll d-1)"
clock_set 130
A2=$(ddi_poll d-1)
check "DDI: the retry is a new action ($A1 -> $A2)" \
    test "$A2" != none -a "$A2" != "$A1"
wait_for "d-1: a new attempt, retries 1" "offered 1" 10 status_of d-1 "$R7"
expect_eq "DDI: the new action is deployed again at the next poll" "$A2" \
    "$(ddi_poll d-1)"
expect_eq "the actions of d-1: the first closed, the retry open" \
    "closed 0|open 1" \
    "$(sql "SELECT status || ' ' || attempt FROM ddi_actions
        WHERE device_id = 'd-1' ORDER BY id" | paste -sd'|' -)"
ddi_fail d-1 "$A2"
wait_for "d-1's retry failed" "failed 1" 10 status_of d-1 "$R7"
clock_set 5000
expect_eq "DDI: retries spent, no deployment" none "$(ddi_poll d-1)"
clock_set 0
api POST "/api/v1/rollouts/$R7/abort" "$REL"

# ---- consent over DDI: hawkBit's confirmation flow -------------------------

# ddi_link DEVICE LINK: its DDI poll's _links.LINK href, or "none".
ddi_link() {
	ddi GET "$DDI/$1" "TargetToken $(tok_of "$1")"
	jq -r "._links.$2.href // \"none\"" "$T/body"
}
# confirm DEVICE ACTION BODY: POSTs a confirmation feedback.
confirm() {
	ddi POST "$DDI/$1/confirmationBase/$2/feedback" \
	    "TargetToken $(tok_of "$1")" -H 'Content-Type: application/json' \
	    --data-binary "$3"
}
post_json /api/v1/rollouts "$REL" "{\"image\":$IMG,\"groups\":[\"dcn\"],
    \"stages\":[100],\"require_consent\":true}"
expect_eq "rollout R8 (consent, never asked again) created" 201 "$STATUS"
R8=$(jqb .id)
api POST "/api/v1/rollouts/$R8/start" "$REL"
for d in e-1 e-2; do
	H=$(ddi_link $d confirmationBase)
	expect_eq "DDI: $d is asked to confirm, no deploymentBase" "200 null" \
	    "$STATUS $(jq -c ._links.deploymentBase "$T/body")"
done
E1=$(ddi_link e-1 confirmationBase | sed -E 's|.*/confirmationBase/([0-9]+).*|\1|')
E2=$(ddi_link e-2 confirmationBase | sed -E 's|.*/confirmationBase/([0-9]+).*|\1|')
ddi GET "$DDI/e-1/confirmationBase/$E1" "TargetToken $(tok_of e-1)"
expect_eq "GET confirmationBase/{id}: the action to confirm" \
    "200 $E1 2.0.0 null" \
    "$STATUS $(jqb .id) $(jqb '.confirmation.chunks[0].version') $(jq -c .deployment "$T/body")"
ddi GET "$DDI/e-1/confirmationBase" "TargetToken $(tok_of e-1)"
expect_eq "GET confirmationBase: no auto-confirm, the action awaiting" \
    "200 false true" \
    "$STATUS $(jqb .autoConfirm.active) $(jq '._links.confirmationBase.href | endswith("/confirmationBase/'"$E1"'")' "$T/body")"
ddi POST "$DDI/e-1/confirmationBase/activateAutoConfirm" \
    "TargetToken $(tok_of e-1)" -H 'Content-Type: application/json' \
    --data-binary '{"initiator":"app"}'
expect_eq "activateAutoConfirm: refused, saying why" "409 conflict" \
    "$STATUS $(jqb .error)"
ddi POST "$DDI/e-1/confirmationBase/deactivateAutoConfirm" \
    "TargetToken $(tok_of e-1)"
expect_eq "deactivateAutoConfirm: what already holds" 200 "$STATUS"
expect_eq "metrics: DDI polls answered with confirmationBase" true \
    "$(metric 'otad_ddi_polls_total{result="confirm"}' | awk '{ print ($1 >= 4) ? "true" : "false" }')"
confirm e-1 "$E1" '{"confirmation":"maybe"}'
expect_eq "a confirmation that is neither: 400" \
    '400 confirmation: required, "confirmed" or "denied"' \
    "$STATUS $(jqb .detail)"
confirm e-1 "$E1" '{"confirmation":"denied","code":12,"details":["not now"]}'
expect_eq "e-1 denies: 200" 200 "$STATUS"
expect_eq "e-1's update is declined" "declined 0" "$(status_of e-1 "$R8")"
expect_eq "DDI: a declined device gets neither link" "none none" \
    "$(ddi_link e-1 confirmationBase) $(ddi_link e-1 deploymentBase)"
confirm e-2 "$E2" '{"confirmation":"confirmed"}'
expect_eq "e-2 confirms: 200, accepted" "200 accepted 0" \
    "$STATUS $(status_of e-2 "$R8")"
expect_eq "DDI: e-2 now gets its deployment, the same action" "$E2" \
    "$(ddi_link e-2 deploymentBase | sed -E 's|.*/deploymentBase/([0-9]+).*|\1|')"
expect_eq "the answers are in the actions' feedback" \
    "confirmation denied|confirmation confirmed" \
    "$(sql "SELECT kind || ' ' || execution FROM ddi_feedback
        WHERE action_id IN ($E1, $E2) ORDER BY id" | paste -sd'|' -)"
confirm e-2 "$E1" '{"confirmation":"confirmed"}'
expect_eq "a confirmation of another device's action: 404" 404 "$STATUS"
api POST "/api/v1/rollouts/$R8/abort" "$REL"

# ---- /metrics ----------------------------------------------------------------

# Timed out: s-1, s-2, s-6, then s-2 again, t-2; retries: s-4, s-2, s-5,
# d-1 (DDI).
expect_eq "metrics: updates timed out" 5 "$(metric otad_updates_timed_out_total)"
expect_eq "metrics: retries offered" 4 "$(metric otad_update_retries_total)"
expect_eq "metrics: one automatic abort, one pause" "1 1" \
    "$(metric otad_rollout_auto_aborts_total) $(metric otad_rollout_auto_pauses_total)"

otad_stop
expect_eq "otad stops cleanly" 0 $?
finish
