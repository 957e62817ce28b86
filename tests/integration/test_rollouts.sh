#!/bin/sh
# Rollouts over the real HTTPS API: create with defaults and custom
# policies, every validation error, every transition and every refused
# one, the full walk to completed, pause/resume reasons in the audit
# trail, roles, the image-delete guard, and the automatic advance driven by
# the running otad's own timer; policy edits (PATCH) while draft or paused,
# audited, refused otherwise.
. "$(dirname "$0")/../lib.sh"

otad_setup
otad_start || exit 1
ADMIN=$(token admin ops)
REL=$(token release ci)
VIEW=$(token viewer dash)

# post PATH TOKEN JSON: POST a JSON body; sets STATUS.
post() {
	api POST "$1" "$2" -H 'Content-Type: application/json' --data-binary "$3"
}

# refused NAME STATUS DETAIL: the last request got STATUS and a JSON error
# whose detail is DETAIL (or only non-empty when DETAIL is "").
refused() {
	expect_eq "$1: status" "$2" "$STATUS"
	if [ -n "$3" ]; then
		expect_eq "$1: detail" "$3" "$(jqb .detail)"
	else
		check "$1: JSON error with detail" test -n "$(jqb .detail)"
	fi
}

# act ID ACTION [JSON]: POST /api/v1/rollouts/ID/ACTION as release.
act() {
	if [ $# -ge 3 ]; then
		post "/api/v1/rollouts/$1/$2" "$REL" "$3"
	else
		api POST "/api/v1/rollouts/$1/$2" "$REL"
	fi
}

# state_of ID: "<state> <stage_index> <stage_percent>" of a rollout.
state_of() {
	api GET "/api/v1/rollouts/$1" "$VIEW"
	jqb '"\(.state) \(.stage_index) \(.stage_percent)"'
}

count_rollouts() {
	api GET "/api/v1/rollouts?limit=1000" "$VIEW"
	jqb '.rollouts | length'
}

# Two signed images and two groups.
make_image "$T/fw1.bin" 3000
release "$T/fw1.bin" sensor-fw 1.1.0 revA
upload_curl "$REL" "$T/fw1.bin"
expect_eq "image 1 uploaded" 201 "$STATUS"
IMG1=$(jqb .id)
make_image "$T/fw2.bin" 4000
release "$T/fw2.bin" sensor-fw 1.2.0 revA
upload_curl "$REL" "$T/fw2.bin"
expect_eq "image 2 uploaded" 201 "$STATUS"
IMG2=$(jqb .id)
for g in beta lab; do
	post /api/v1/groups "$ADMIN" "{\"name\":\"$g\"}"
	expect_eq "group $g created" 201 "$STATUS"
done

# ---- create ----
post /api/v1/rollouts "$REL" "{\"image\":$IMG1,\"groups\":[\"beta\"]}"
expect_eq "create with defaults: 201" 201 "$STATUS"
R1=$(jqb .id)
expect_eq "defaults: draft at stage 0 of 1%" "draft 0 1" \
    "$(jqb '"\(.state) \(.stage_index) \(.stage_percent)"')"
expect_eq "defaults: stages" "[1,5,25,100]" "$(jq -c .stages "$T/body")"
expect_eq "defaults: policy" "0.05 10 0 simple 0.95" \
    "$(jqb '"\(.failure_threshold) \(.min_reports) \(.advance_after) \(.gate) \(.confidence)"')"
expect_eq "image recorded" "$IMG1 sensor-fw 1.1.0" \
    "$(jqb '"\(.image.id) \(.image.name) \(.image.version)"')"
expect_eq "groups recorded" beta "$(jqb '.groups | join(",")')"
expect_eq "creator recorded" ci "$(jqb .created_by)"
check "salt is 64 hex digits" sh -c "jq -r .salt '$T/body' | grep -Eqx '[0-9a-f]{64}'"
expect_eq "not started yet" "null null null" \
    "$(jqb '"\(.started_at) \(.stage_started_at) \(.finished_at)"')"
SALT1=$(jqb .salt)

post /api/v1/rollouts "$REL" "{\"image\":$IMG2,\"groups\":[\"lab\",\"beta\"],
    \"name\":\"spring wave\",\"stages\":[0.5,10,100],
    \"failure_threshold\":0.1,\"min_reports\":20,\"advance_after\":3600,
    \"gate\":\"wilson\",\"confidence\":0.99}"
expect_eq "create with a custom policy: 201" 201 "$STATUS"
R2=$(jqb .id)
expect_eq "custom: gate" "wilson 0.99" "$(jqb '"\(.gate) \(.confidence)"')"
api GET "/api/v1/rollouts/$R2" "$VIEW"
expect_eq "custom: gate as stored" "wilson 0.99" \
    "$(jqb '"\(.gate) \(.confidence)"')"
expect_eq "custom: stages and current percent" "[0.5,10,100] 0.5" \
    "$(jq -c .stages "$T/body") $(jqb .stage_percent)"
expect_eq "custom: policy" "0.1 20 3600" \
    "$(jqb '"\(.failure_threshold) \(.min_reports) \(.advance_after)"')"
expect_eq "custom: name" "spring wave" "$(jqb .name)"
expect_eq "custom: groups sorted" "beta,lab" "$(jqb '.groups | join(",")')"
check "each rollout has its own salt" test "$(jqb .salt)" != "$SALT1"

# ---- validation: 400/404 naming the field; nothing stored ----
BEFORE=$(count_rollouts)
bad() {
	post /api/v1/rollouts "$REL" "$2"
	refused "$1" "$3" "$4"
}
G='"groups":["beta"]'
bad "stages not increasing" "{\"image\":$IMG1,$G,\"stages\":[5,1,100]}" \
    400 "stages[1]: must be greater than stages[0]"
bad "last stage not 100" "{\"image\":$IMG1,$G,\"stages\":[1,50]}" \
    400 "stages[1]: the last stage must be 100"
bad "stage too fine" "{\"image\":$IMG1,$G,\"stages\":[0.001,100]}" \
    400 "stages[0]: at most two decimals (0.01 steps)"
bad "no stages" "{\"image\":$IMG1,$G,\"stages\":[]}" \
    400 "stages: need 1 to 16 stages, got 0"
bad "17 stages" "{\"image\":$IMG1,$G,\"stages\":[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,100]}" \
    400 "stages: need 1 to 16 stages, got 17"
bad "stage not a number" "{\"image\":$IMG1,$G,\"stages\":[\"1\",100]}" \
    400 "stages[0]: must be a number"
bad "stage over 100" "{\"image\":$IMG1,$G,\"stages\":[1,150]}" \
    400 "stages[1]: must be a percentage > 0 and <= 100"
bad "threshold 0" "{\"image\":$IMG1,$G,\"failure_threshold\":0}" \
    400 "failure_threshold: must be > 0 and <= 1"
bad "threshold 1.5" "{\"image\":$IMG1,$G,\"failure_threshold\":1.5}" \
    400 "failure_threshold: must be > 0 and <= 1"
bad "threshold with 7 decimals" "{\"image\":$IMG1,$G,\"failure_threshold\":0.0000001}" \
    400 "failure_threshold: at most six decimals"
bad "min_reports 0" "{\"image\":$IMG1,$G,\"min_reports\":0}" \
    400 "min_reports: must be 1..1000000"
bad "advance_after too short" "{\"image\":$IMG1,$G,\"advance_after\":30}" \
    400 "advance_after: must be 0 (off) or 60..2592000 seconds"
bad "unknown gate" "{\"image\":$IMG1,$G,\"gate\":\"sprt\"}" \
    400 "gate: must be \"simple\" or \"wilson\""
bad "gate not a string" "{\"image\":$IMG1,$G,\"gate\":1}" \
    400 "gate: must be \"simple\" or \"wilson\""
bad "confidence 1" "{\"image\":$IMG1,$G,\"gate\":\"wilson\",\"confidence\":1}" \
    400 "confidence: must be 0.5..0.9999 with at most four decimals"
bad "confidence 0.4" "{\"image\":$IMG1,$G,\"confidence\":0.4}" \
    400 "confidence: must be 0.5..0.9999 with at most four decimals"
bad "confidence with 5 decimals" "{\"image\":$IMG1,$G,\"confidence\":0.95001}" \
    400 "confidence: must be 0.5..0.9999 with at most four decimals"
bad "confidence not a number" "{\"image\":$IMG1,$G,\"confidence\":\"high\"}" \
    400 "confidence: must be a number, e.g. 0.95"
bad "wilson gate at threshold 1" "{\"image\":$IMG1,$G,\"gate\":\"wilson\",\"failure_threshold\":1}" \
    400 "failure_threshold: must be below 1 with the wilson gate (no failure rate is above 100%)"
bad "unknown field" "{\"image\":$IMG1,$G,\"colour\":\"red\"}" 400 ""
bad "image missing" "{$G}" 400 "image: required, the id of an image"
bad "groups missing (and no selector)" "{\"image\":$IMG1}" 400 \
    "groups: required unless a selector names the devices (a rollout without groups targets every device its selector matches)"
bad "group named twice" "{\"image\":$IMG1,\"groups\":[\"beta\",\"lab\",\"beta\"]}" \
    400 "groups[2]: 'beta' appears twice"
bad "bad group name" "{\"image\":$IMG1,\"groups\":[\"no spaces\"]}" 400 ""
many=$(seq 1 65 | sed 's/.*/"g&"/' | paste -sd, -)
bad "65 groups" "{\"image\":$IMG1,\"groups\":[$many]}" 400 \
    "groups: an array of 0 to 64 group names (none: the selector's devices)"
bad "not JSON" "{image" 400 ""
expect_eq "not JSON: error name" invalid_json "$(jqb .error)"
bad "unknown image" "{\"image\":99999,$G}" 404 "image: no image with id 99999"
bad "unknown group" "{\"image\":$IMG1,\"groups\":[\"beta\",\"ghost\"]}" 404 \
    "groups: no group named 'ghost'"
expect_eq "nothing stored by refused creates" "$BEFORE" "$(count_rollouts)"

# ---- roles ----
post /api/v1/rollouts "$VIEW" "{\"image\":$IMG1,$G}"
expect_eq "viewer may not create: 403" 403 "$STATUS"
api POST "/api/v1/rollouts/$R1/start" "$VIEW"
expect_eq "viewer may not act: 403" 403 "$STATUS"
api GET "/api/v1/rollouts/$R1" ""
expect_eq "anonymous read: 401" 401 "$STATUS"
api GET "/api/v1/rollouts/$R1" "$VIEW"
expect_eq "viewer may read" 200 "$STATUS"
api GET "/api/v1/rollouts/$R1/events" "$VIEW"
expect_eq "viewer may read events" 200 "$STATUS"
post /api/v1/rollouts "$ADMIN" "{\"image\":$IMG1,$G}"
expect_eq "admin may create (admin includes release)" 201 "$STATUS"
R_ADMIN=$(jqb .id)
expect_eq "still draft after the viewer's start" "draft 0 1" "$(state_of "$R1")"

# ---- transitions from draft ----
act "$R1" pause
refused "pause a draft" 409 "cannot pause a draft rollout"
act "$R1" resume
refused "resume a draft" 409 "cannot resume a draft rollout"
act "$R1" advance
refused "advance a draft" 409 "cannot advance a draft rollout"
act "$R1" start '{"reason":"go for beta"}'
expect_eq "start: 200" 200 "$STATUS"
expect_eq "start: running at 1%" "running 0 1" \
    "$(jqb '"\(.state) \(.stage_index) \(.stage_percent)"')"
check "start: started_at set" test "$(jqb .started_at)" != null
expect_eq "start: stage clock = start" "$(jqb .started_at)" "$(jqb .stage_started_at)"

# ---- from running ----
act "$R1" start
refused "start a running rollout" 409 "cannot start a running rollout"
act "$R1" resume
refused "resume a running rollout" 409 "cannot resume a running rollout"
act "$R1" pause '{"reason":"crash reports from beta"}'
expect_eq "pause: 200" 200 "$STATUS"
expect_eq "pause: paused, reason recorded" "paused crash reports from beta" \
    "$(jqb '"\(.state) \(.reason)"')"

# ---- from paused ----
act "$R1" pause
refused "pause a paused rollout" 409 "cannot pause a paused rollout"
act "$R1" start
refused "start a paused rollout" 409 "cannot start a paused rollout"
act "$R1" advance '{"stage_index":0,"reason":"first click"}'
expect_eq "advance while paused: 200" 200 "$STATUS"
expect_eq "advance while paused stays paused at 5%" "paused 1 5" "$(state_of "$R1")"
act "$R1" advance '{"stage_index":0,"reason":"second click, same view"}'
refused "advance from a stale stage_index" 409 \
    "rollout $R1 is at stage_index 1, not 0: it moved since you looked"
expect_eq "stale advance did not move it" "paused 1 5" "$(state_of "$R1")"
act "$R1" advance '{"stage_index":"1"}'
expect_eq "stage_index must be an integer: 400" 400 "$STATUS"
act "$R1" resume '{"reason":"fixed in config"}'
expect_eq "resume: 200" 200 "$STATUS"
expect_eq "resume: running, reason cleared" "running " "$(jqb '"\(.state) \(.reason)"')"

# ---- bodies ----
long=$(head -c 257 /dev/zero | tr '\0' x)
act "$R1" pause "{\"reason\":\"$long\"}"
refused "reason over 256 bytes" 400 \
    "reason: a string of at most 256 bytes without control characters"
act "$R1" pause '{"reason":"two\nlines"}'
refused "reason with a control character" 400 \
    "reason: a string of at most 256 bytes without control characters"
act "$R1" pause "{\"reason\":\"$(head -c 5000 /dev/zero | tr '\0' z)\"}"
refused "action body over 4 KiB" 413 "an action's body is at most 4096 bytes"
act "$R1" pause '{"reason":42}'
refused "reason not a string" 400 ""
act "$R1" pause '{"why":"x"}'
refused "unknown body field" 400 "unknown field 'why'; expected reason or stage_index"
act "$R1" pause '{"reason":'
refused "body not JSON" 400 ""
act "$R1" pause '["reason"]'
refused "body not an object" 400 ""
act "$R1" pause "{\"reason\":\"$(head -c 256 /dev/zero | tr '\0' y)\"}"
expect_eq "reason of exactly 256 bytes: 200" 200 "$STATUS"
act "$R1" resume
expect_eq "resume without a body: 200" 200 "$STATUS"
expect_eq "refused requests changed nothing else" "running 1 5" "$(state_of "$R1")"
act "$R1" explode
refused "unknown action: 404" 404 ""
act 99999 start
refused "unknown rollout: 404" 404 "no rollout with id 99999"
api GET /api/v1/rollouts/99999 "$VIEW"
expect_eq "get unknown rollout: 404" 404 "$STATUS"
api GET /api/v1/rollouts/abc "$VIEW"
expect_eq "get non-numeric id: 404" 404 "$STATUS"
api GET /api/v1/rollouts/99999/events "$VIEW"
expect_eq "events of unknown rollout: 404" 404 "$STATUS"
api GET "/api/v1/rollouts/$R1/start" "$VIEW"
expect_eq "GET on an action: 405" 405 "$STATUS"

# ---- abort, and nothing after ----
act "$R1" abort '{"reason":"superseded by 1.2.0"}'
expect_eq "abort: 200" 200 "$STATUS"
expect_eq "abort: aborted, stage kept, reason" "aborted 1 superseded by 1.2.0" \
    "$(jqb '"\(.state) \(.stage_index) \(.reason)"')"
check "abort: finished_at set" test "$(jqb .finished_at)" != null
for a in start pause resume advance abort; do
	act "$R1" "$a"
	refused "$a an aborted rollout" 409 "cannot $a an aborted rollout"
done

# ---- the audit trail ----
api GET "/api/v1/rollouts/$R1/events" "$VIEW"
expect_eq "events: every committed action, in order" \
    "create start pause advance resume pause resume abort" \
    "$(jqb '[.events[].action] | join(" ")')"
expect_eq "events: actors" "ci ci ci ci ci ci ci ci" \
    "$(jqb '[.events[].actor] | join(" ")')"
expect_eq "events: pause reason recorded" "crash reports from beta" \
    "$(jqb '.events[2].reason')"
expect_eq "events: resume reason recorded" "fixed in config" \
    "$(jqb '.events[4].reason')"
expect_eq "events: create has no from_state" "null draft" \
    "$(jqb '"\(.events[0].from_state) \(.events[0].to_state)"')"
expect_eq "events: advance while paused" "paused paused 1" \
    "$(jqb '"\(.events[3].from_state) \(.events[3].to_state) \(.events[3].stage_index)"')"
check "events: times" test "$(jqb '[.events[].at | test("^[0-9-]+T[0-9:]+Z$")] | all')" = true

# ---- the full walk: 1 -> 5 -> 25 -> 100 -> completed ----
post /api/v1/rollouts "$REL" "{\"image\":$IMG1,$G}"
R3=$(jqb .id)
act "$R3" start
walk="$(jqb .stage_percent)"
for i in 1 2 3; do
	act "$R3" advance
	walk="$walk $(jqb .stage_percent)"
done
expect_eq "walk: 1 -> 5 -> 25 -> 100" "1 5 25 100" "$walk"
act "$R3" advance
expect_eq "advance from the last stage: 200" 200 "$STATUS"
expect_eq "walk ends completed, at the last stage" "completed 3 100" \
    "$(jqb '"\(.state) \(.stage_index) \(.stage_percent)"')"
check "completed: finished_at set" test "$(jqb .finished_at)" != null
act "$R3" advance
refused "advance a completed rollout" 409 "cannot advance a completed rollout"
expect_eq "409 error name" conflict "$(jqb .error)"
for a in start pause resume abort; do
	act "$R3" "$a"
	refused "$a a completed rollout" 409 "cannot $a a completed rollout"
done

# ---- list: filters and pages ----
api GET "/api/v1/rollouts?state=running" "$VIEW"
expect_eq "no running rollout now" 0 "$(jqb '.rollouts | length')"
api GET "/api/v1/rollouts?state=draft" "$VIEW"
expect_eq "filter by state" "$R2 $R_ADMIN" "$(jqb '[.rollouts[].id] | join(" ")')"
api GET "/api/v1/rollouts?image=$IMG2" "$VIEW"
expect_eq "filter by image" "$R2" "$(jqb '[.rollouts[].id] | join(" ")')"
api GET "/api/v1/rollouts?state=completed&image=$IMG1" "$VIEW"
expect_eq "filter by state and image" "$R3" "$(jqb '[.rollouts[].id] | join(" ")')"
api GET "/api/v1/rollouts?limit=2" "$VIEW"
expect_eq "page 1" "$R1 $R2" "$(jqb '[.rollouts[].id] | join(" ")')"
expect_eq "page 1: next_after" "$R2" "$(jqb .next_after)"
api GET "/api/v1/rollouts?limit=2&after=$R2" "$VIEW"
expect_eq "page 2" "$R_ADMIN $R3" "$(jqb '[.rollouts[].id] | join(" ")')"
api GET "/api/v1/rollouts?limit=2&after=$R3" "$VIEW"
expect_eq "last page: empty, next_after null" "0 null" \
    "$(jqb '"\(.rollouts | length) \(.next_after)"')"
api GET "/api/v1/rollouts?state=done" "$VIEW"
expect_eq "bad state filter: 400" 400 "$STATUS"
api GET "/api/v1/rollouts?limit=0" "$VIEW"
expect_eq "bad limit: 400" 400 "$STATUS"
api GET "/api/v1/rollouts?image=x" "$VIEW"
expect_eq "bad image filter: 400" 400 "$STATUS"

# ---- policy edits: PATCH while draft or paused, audited ----
# patch ID TOKEN JSON: PATCH /api/v1/rollouts/ID; sets STATUS.
patch() {
	api PATCH "/api/v1/rollouts/$1" "$2" -H 'Content-Type: application/json' --data-binary "$3"
}
api GET "/api/v1/rollouts/$R2/events" "$VIEW"
NEV=$(jqb '.events | length')
patch "$R2" "$REL" '{"min_reports":50,"gate":"simple","advance_after":0}'
expect_eq "patch a draft: 200" 200 "$STATUS"
expect_eq "patch: the new policy in the reply" "0.1 50 0 simple 0.99 draft" \
    "$(jqb '"\(.failure_threshold) \(.min_reports) \(.advance_after) \(.gate) \(.confidence) \(.state)"')"
jq -c 'keys' "$T/body" >"$T/patch.keys"
api GET /api/v1/openapi.json ""
expect_eq "openapi: PATCH documented, its answer has the Rollout schema's keys" \
    "updateRollout $(cat "$T/patch.keys")" \
    "$(jqb '.paths["/api/v1/rollouts/{rollout_id}"].patch.operationId') $(jq -c '.components.schemas.Rollout.required | sort' "$T/body")"
api GET "/api/v1/rollouts/$R2" "$VIEW"
expect_eq "patch: stored" "0.1 50 0 simple 0.99" \
    "$(jqb '"\(.failure_threshold) \(.min_reports) \(.advance_after) \(.gate) \(.confidence)"')"
api GET "/api/v1/rollouts/$R2/events" "$VIEW"
expect_eq "patch: one update event" "$((NEV + 1)) update ci draft draft" \
    "$(jqb '"\(.events | length) \(.events[-1].action) \(.events[-1].actor) \(.events[-1].from_state) \(.events[-1].to_state)"')"
expect_eq "patch: the event says what changed" \
    "min_reports 20 -> 50; advance_after 3600 -> 0; gate wilson -> simple" \
    "$(jqb '.events[-1].reason')"
patch "$R2" "$REL" '{"min_reports":50,"confidence":0.99}'
expect_eq "a patch that changes nothing: 200" 200 "$STATUS"
api GET "/api/v1/rollouts/$R2/events" "$VIEW"
expect_eq "a patch that changes nothing is not an event" "$((NEV + 1))" "$(jqb '.events | length')"
api GET "/api/v1/rollouts/$R2" "$VIEW"
UPDATED=$(jqb .updated_at)
pbad() {
	patch "$R2" "$REL" "$2"
	refused "$1" "$3" "$4"
}
pbad "patch: empty" '{}' 400 \
    "nothing to change: give at least one of failure_threshold, min_reports, advance_after, gate, confidence, from_version, start_at, selector, maintenance_windows, outside_window, action_type, forced_at, device_timeout, max_retries, retry_backoff, abort_on, ignore_results, breach_action, max_offers_per_minute, rate_ramp_minutes, rate_ramp_max, require_consent, consent_retry"
pbad "patch: unknown field" '{"stages":[1,100]}' 400 \
    "unknown field 'stages'; a rollout's editable fields are failure_threshold, min_reports, advance_after, gate, confidence, from_version, start_at, selector, maintenance_windows, outside_window, action_type, forced_at, device_timeout, max_retries, retry_backoff, abort_on, ignore_results, breach_action, max_offers_per_minute, rate_ramp_minutes, rate_ramp_max, require_consent, consent_retry"
pbad "patch: threshold 0" '{"failure_threshold":0}' 400 \
    "failure_threshold: must be > 0 and <= 1"
pbad "patch: min_reports not an integer" '{"min_reports":"5"}' 400 \
    "min_reports: must be an integer"
pbad "patch: advance_after too short" '{"advance_after":30}' 400 \
    "advance_after: must be 0 (off) or 60..2592000 seconds"
pbad "patch: unknown gate" '{"gate":"sprt"}' 400 "gate: must be \"simple\" or \"wilson\""
pbad "patch: confidence not a number" '{"confidence":null}' 400 "confidence: must be a number"
pbad "patch: judged whole (wilson at threshold 1)" \
    '{"gate":"wilson","failure_threshold":1}' 400 \
    "failure_threshold: must be below 1 with the wilson gate (no failure rate is above 100%)"
pbad "patch: one bad field refuses all" '{"min_reports":7,"confidence":2}' 400 \
    "confidence: must be 0.5..0.9999 with at most four decimals"
pbad "patch: not JSON" '{"min_reports":' 400 ""
pbad "patch: not an object" '[1]' 400 "body must be a JSON object"
patch "$R2" "$VIEW" '{"min_reports":7}'
expect_eq "patch: viewer 403" 403 "$STATUS"
patch 99999 "$REL" '{"min_reports":7}'
refused "patch: unknown rollout" 404 "no rollout with id 99999"
api GET "/api/v1/rollouts/$R2" "$VIEW"
expect_eq "refused patches changed nothing" "0.1 50 0 simple $UPDATED" \
    "$(jqb '"\(.failure_threshold) \(.min_reports) \(.advance_after) \(.gate) \(.updated_at)"')"
patch "$R1" "$REL" '{"min_reports":7}'
refused "patch an aborted rollout" 409 \
    "cannot update an aborted rollout: its policy is edited while draft or paused"
patch "$R3" "$REL" '{"min_reports":7}'
refused "patch a completed rollout" 409 \
    "cannot update a completed rollout: its policy is edited while draft or paused"
post /api/v1/rollouts "$REL" "{\"image\":$IMG1,$G}"
R6=$(jqb .id)
act "$R6" start
patch "$R6" "$REL" '{"failure_threshold":0.2}'
refused "patch a running rollout" 409 \
    "cannot update a running rollout: its policy is edited while draft or paused"
act "$R6" pause
patch "$R6" "$REL" '{"failure_threshold":0.2,"gate":"wilson","confidence":0.999}'
expect_eq "patch a paused rollout: 200" 200 "$STATUS"
expect_eq "patch (paused): stays paused, new policy" "paused 0.2 wilson 0.999" \
    "$(jqb '"\(.state) \(.failure_threshold) \(.gate) \(.confidence)"')"
api GET "/api/v1/rollouts/$R6/events" "$VIEW"
expect_eq "patch (paused): audited" \
    "update paused failure_threshold 5.0% -> 20.0%; gate simple -> wilson; confidence 95.0% -> 99.9%" \
    "$(jqb '"\(.events[-1].action) \(.events[-1].to_state) \(.events[-1].reason)"')"
act "$R6" abort

# ---- images and groups in use cannot be deleted ----
api DELETE /api/v1/groups/lab "$ADMIN"
expect_eq "delete a group a draft rollout targets: 409" 409 "$STATUS"
api DELETE "/api/v1/images/$IMG2" "$ADMIN"
refused "delete an image of a draft rollout" 409 \
    "image $IMG2 is used by rollout $R2 (draft); abort or complete it first"
act "$R2" start
api DELETE "/api/v1/images/$IMG2" "$ADMIN"
refused "delete an image of a running rollout" 409 \
    "image $IMG2 is used by rollout $R2 (running); abort or complete it first"
act "$R2" abort
api DELETE "/api/v1/images/$IMG2" "$ADMIN"
expect_eq "delete allowed once the rollout is aborted" 200 "$STATUS"
api GET "/api/v1/rollouts/$R2" "$VIEW"
expect_eq "the ended rollout keeps the image's name, not its id" \
    "null sensor-fw 1.2.0" \
    "$(jqb '"\(.image.id) \(.image.name) \(.image.version)"')"
api DELETE "/api/v1/images/$IMG1" "$ADMIN"
refused "image 1 still used by a draft" 409 \
    "image $IMG1 is used by rollout $R_ADMIN (draft); abort or complete it first"
act "$R_ADMIN" abort
api DELETE "/api/v1/images/$IMG1" "$ADMIN"
expect_eq "delete allowed when only ended rollouts used it" 200 "$STATUS"

# ---- automatic advance by the running otad's timer ----
make_image "$T/fw3.bin" 2000
release "$T/fw3.bin" sensor-fw 1.3.0 revA
upload_curl "$REL" "$T/fw3.bin"
IMG3=$(jqb .id)
post /api/v1/rollouts "$REL" "{\"image\":$IMG3,$G,\"advance_after\":60}"
R4=$(jqb .id)
post /api/v1/rollouts "$REL" "{\"image\":$IMG3,$G,\"advance_after\":60}"
R5=$(jqb .id)
act "$R4" start
act "$R5" start
act "$R5" pause '{"reason":"hold"}'
# Scheduled starts: R7 in 2099 (given with an offset), R8's moved to the
# past by a PATCH; the same timer pass starts R8 and leaves R7 a draft.
post /api/v1/rollouts "$REL" "{\"image\":$IMG3,$G,\"start_at\":\"2099-01-01T01:00:00.5+01:00\"}"
expect_eq "start_at: 201, kept in UTC" "201 2099-01-01T00:00:00Z draft" \
    "$STATUS $(jqb .start_at) $(jqb .state)"
R7=$(jqb .id)
post /api/v1/rollouts "$REL" "{\"image\":$IMG3,$G,\"start_at\":\"tomorrow\"}"
refused "start_at not a time" 400 \
    "start_at: must be an RFC 3339 time such as \"2026-12-24T02:00:00Z\", or null for none"
post /api/v1/rollouts "$REL" "{\"image\":$IMG3,$G,\"start_at\":\"2099-06-01T00:00:00Z\"}"
R8=$(jqb .id)
patch "$R8" "$REL" '{"start_at":"2020-01-01T00:00:00Z"}'
expect_eq "start_at moved to the past by a PATCH" "200 2020-01-01T00:00:00Z" \
    "$STATUS $(jqb .start_at)"
patch "$R5" "$REL" '{"start_at":"2020-01-01T00:00:00Z"}'
refused "start_at of a paused rollout" 400 \
    "start_at: only a draft's start is scheduled (this rollout is paused)"
# Make both stages look 10 minutes old; only the running one may move.
sql "UPDATE rollouts SET stage_started_at = '$(ago 600)' WHERE id IN ($R4, $R5)"
i=0
while [ $i -lt 24 ] && [ "$(state_of "$R4")" = "running 0 1" ]; do
	sleep 0.5
	i=$((i + 1))
done
expect_eq "advanced by itself within ~10 s" "running 1 5" "$(state_of "$R4")"
api GET "/api/v1/rollouts/$R4/events" "$VIEW"
expect_eq "automatic advance: actor otad" otad "$(jqb '.events[-1].actor')"
check "automatic advance: reason says why ($(jqb '.events[-1].reason'))" \
    sh -c "jq -r '.events[-1].reason' '$T/body' | grep -Eqx 'advance_after: stage 0 ran (6[0-9][0-9]) s'"
check "automatic advance logged" grep -q "rollout advanced automatically.*id=$R4 " "$OTAD_LOG"
expect_eq "a paused rollout does not advance by itself" "paused 0 1" "$(state_of "$R5")"
# The new stage's clock started at the advance: not due again.
sleep 6
expect_eq "one stage per advance_after" "running 1 5" "$(state_of "$R4")"
expect_eq "start_at passed: started by the timer" "running 0 1" "$(state_of "$R8")"
api GET "/api/v1/rollouts/$R8/events" "$VIEW"
expect_eq "scheduled start: audited" \
    "update start_at 2099-06-01T00:00:00Z -> 2020-01-01T00:00:00Z|start otad start_at 2020-01-01T00:00:00Z" \
    "$(jqb '"\(.events[1].action) \(.events[1].reason)|\(.events[2].action) \(.events[2].actor) \(.events[2].reason)"')"
check "scheduled start logged" grep -q "rollout started at its start_at\" id=$R8 " "$OTAD_LOG"
expect_eq "start_at in 2099: still a draft" "draft 0 1" "$(state_of "$R7")"
patch "$R7" "$REL" '{"start_at":null}'
expect_eq "start_at cleared" "200 null" "$STATUS $(jqb .start_at)"
# The injectable clock (test_clock_file): otad's clock moved to 2099 starts
# a draft due then at the next timer pass, and stores the times it writes
# by that clock.
post /api/v1/rollouts "$REL" "{\"image\":$IMG3,$G,\"start_at\":\"2099-03-01T00:00:00Z\"}"
R9=$(jqb .id)
expect_eq "start_at 2099-03-01: a draft" "draft 0 1" "$(state_of "$R9")"
clock_at 2099-03-01T00:00:05Z
i=0
while [ $i -lt 40 ] && [ "$(state_of "$R9")" = "draft 0 1" ]; do
	sleep 0.25
	i=$((i + 1))
done
expect_eq "test clock past start_at: started by the timer" "running 0 1" \
    "$(state_of "$R9")"
api GET "/api/v1/rollouts/$R9/events" "$VIEW"
check "the start is stamped by otad's clock ($(jqb '.events[-1].at'))" \
    sh -c "jq -r '.events[-1].at' '$T/body' | grep -q '^2099-03-01T00:0'"
clock_set 0
check "the moved clock is logged" grep -q 'wall clock moved by a test clock file' "$OTAD_LOG"

otad_stop
expect_eq "clean exit" 0 "$?"
check "sanitizers report nothing" sanitizer_clean
finish
