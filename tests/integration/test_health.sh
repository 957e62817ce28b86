#!/bin/sh
# Rollout health, the audit trail and the Prometheus metrics over the real
# HTTPS API.  Devices report through POST /api/v1/devices/{id}/events; the
# health answer is checked against numbers recomputed here: targeted and
# in_stage from the target groups and the documented bucket hash (BLAKE2b
# keyed with the salt, in python), the counters per state, stage and
# result code, the failure rate and the breached flag.  The rollout then
# pauses itself; /audit lists that and the manual transitions.  /metrics
# must parse line by line, its counters must move by exactly what was
# sent (a real Mosquitto for the MQTT ones), and its authentication must
# follow metrics_auth.
. "$(dirname "$0")/../lib.sh"

otad_setup
otad_start || exit 1
ADMIN=$(token admin ops)
REL=$(token release ci)
VIEW=$(token viewer dash)

# ts N: an RFC 3339 device time N seconds after a fixed start.
ts() {
	date -u -d "@$((1780000000 + $1))" +%Y-%m-%dT%H:%M:%SZ
}

# report DEVICE EVENTS_JSON_ARRAY: the device posts its events; sets STATUS.
report() {
	post_json "/api/v1/devices/$1/events" "$(tok_of "$1")" "$2"
}

# ev ID STATE TS [EXTRA]: one event object of rollout $R (version $VER).
ev() {
	printf '{"event_id":"%s","rollout":%s,"version":"%s","state":"%s","ts":"%s"%s}' \
	    "$1" "$R" "$VER" "$2" "$(ts "$3")" "${4:+,$4}"
}

# health: GET the health of $R as viewer into $T/health.json.
health() {
	api GET "/api/v1/rollouts/$R/health" "$VIEW"
	cp "$T/body" "$T/health.json"
}

# hq FILTER: jq on the last health answer, compact.
hq() { jq -c "$1" "$T/health.json"; }

# ---- an image, two overlapping groups, 40 devices ----------------------

make_image "$T/fw.bin" 5000
release "$T/fw.bin" sensor-fw 2.0.0 revA
upload_curl "$REL" "$T/fw.bin"
expect_eq "image uploaded" 201 "$STATUS"
IMG=$(jqb .id)
VER=2.0.0
for g in fleet lab; do
	post_json /api/v1/groups "$ADMIN" "{\"name\":\"$g\"}"
	expect_eq "group $g created" 201 "$STATUS"
done
# d-01..d-30 in fleet, d-25..d-34 in lab (d-25..d-30 in both), d-35..d-40
# in neither: 34 distinct devices targeted.
python3 -c '
import json
devs = []
for i in range(1, 41):
    g = (["fleet"] if i <= 30 else []) + (["lab"] if 25 <= i <= 34 else [])
    devs.append({"id": "d-%02d" % i, "hardware": "revA", "version": "1.0.0",
                 "groups": g})
print(json.dumps(devs))' >"$T/devices.req"
api POST /api/v1/devices "$ADMIN" -H 'Content-Type: application/json' \
    --data-binary "@$T/devices.req"
expect_eq "40 devices provisioned" 201 "$STATUS"
cp "$T/body" "$T/devices.json"

post_json /api/v1/rollouts "$REL" "{\"image\":$IMG,
    \"groups\":[\"fleet\",\"lab\"],\"stages\":[20,60,100],
    \"failure_threshold\":0.25,\"min_reports\":10}"
expect_eq "rollout created" 201 "$STATUS"
R=$(jqb .id)
SALT=$(jqb .salt)

# expected_stages: per stage "index percent targeted in_stage" recomputed
# from the salt (docs/rollouts.md), then "total targeted".
expected_stages() {
	python3 -c '
import hashlib, sys
salt = bytes.fromhex(sys.argv[1])
ids = ["d-%02d" % i for i in range(1, 35)]
bps = [2000, 6000, 10000]
entered = [0, 0, 0]
for d in ids:
    h = hashlib.blake2b(d.encode(), key=salt, digest_size=8)
    b = int.from_bytes(h.digest(), "little") % 10000
    entered[next(i for i, bp in enumerate(bps) if b < bp)] += 1
cum = 0
for i, bp in enumerate(bps):
    cum += entered[i]
    print(i, bp // 100, cum, entered[i])
print("total", len(ids))' "$SALT"
}
expected_stages >"$T/expected"
# in_current STAGE_INDEX: devices inside the current stage.
in_current() {
	awk -v s="$1" '$1 != "total" && $1 <= s { n += $4 } END { print n }' \
	    "$T/expected"
}

# ---- health of a draft --------------------------------------------------

health
expect_eq "draft: 200" 200 "$STATUS"
expect_eq "draft: rollout, state, stage, policy" \
    "[$R,\"draft\",\"\",0,0.25,10]" \
    "$(hq '[.rollout, .state, .reason, .stage_index, .failure_threshold, .min_reports]')"
expect_eq "draft: targeted = 34 distinct members (6 in both groups)" 34 \
    "$(hq .total.targeted)"
expect_eq "draft: stages index, percent, targeted, in_stage (recomputed)" \
    "$(grep -v total "$T/expected" | tr '\n' ';')" \
    "$(jq -r '.stages[] | "\(.index) \(.percent) \(.targeted) \(.in_stage)"' \
        "$T/health.json" | tr '\n' ';')"
expect_eq "draft: total in_stage = devices of stage 0" "$(in_current 0)" \
    "$(hq .total.in_stage)"
expect_eq "draft: no stage started" "[null,null,null]" \
    "$(hq '[.stages[].started_at]')"
expect_eq "draft: nothing reported" \
    '[0,0,0,0,0,0,{},0]' \
    "$(hq '.total | [.offered, .started, .in_progress, .completed, .failed, .reverted, .failed_by_result, .failure_rate]')"
expect_eq "draft: not breached" false "$(hq .breached)"
# A small fleet's walk is fast: never given again, counted at this request.
at=$(date -u -d "$(jq -r .targeted_at "$T/health.json")" +%s 2>/dev/null || echo 0)
check "draft: targeted_at is now ($(hq .targeted_at))" \
    test $(($(date -u +%s) - at)) -le 5 -a $(($(date -u +%s) - at)) -ge -1

api GET /api/v1/rollouts/99999/health "$VIEW"
expect_eq "unknown rollout: 404" 404 "$STATUS"
api GET /api/v1/rollouts/abc/health "$VIEW"
expect_eq "malformed id: 404" 404 "$STATUS"
api GET "/api/v1/rollouts/$R/health" ""
expect_eq "health without a token: 401" 401 "$STATUS"
api GET "/api/v1/rollouts/$R/health" "$(tok_of d-01)"
expect_eq "health with a device token: 403" 403 "$STATUS"

# ---- stage 0: reports ---------------------------------------------------

api POST "/api/v1/rollouts/$R/start" "$REL"
expect_eq "started" 200 "$STATUS"
report d-01 "[$(ev a1 started 1),$(ev a2 progress 2 '"progress":50'),$(ev a3 completed 3)]"
expect_eq "d-01 reports: 200" 200 "$STATUS"
expect_eq "d-01: 3 accepted" 3 "$(jqb .accepted)"
report d-02 "[$(ev b1 started 1),$(ev b2 completed 5)]"
report d-03 "[$(ev c1 started 1),$(ev c2 failed 4 '"result":5,"detail":"sha mismatch"')]"
expect_eq "d-03 reports: 200" 200 "$STATUS"
report d-04 "[$(ev e1 started 1)]"
report d-05 "[$(ev f1 started 1),$(ev f2 progress 2 '"progress":10')]"
report d-06 "[$(ev g1 completed 3),$(ev g2 reverted 9)]"
# A retry of d-01's completion: acknowledged, not counted again.
report d-01 "[$(ev a3 completed 3)]"
expect_eq "resent event: a duplicate" "0 1" "$(jqb '"\(.accepted) \(.duplicates)"')"
# One unknown rollout in a batch: rejected, the rest stored.
post_json /api/v1/devices/d-07/events "$(tok_of d-07)" \
    "[{\"event_id\":\"x1\",\"rollout\":99999,\"version\":\"$VER\",\"state\":\"started\",\"ts\":\"$(ts 1)\"}]"
expect_eq "unknown rollout in a batch: 200, rejected" "200 1" \
    "$STATUS $(jqb .rejected)"

health
expect_eq "stage 0: state running at stage 0" '["running",0]' \
    "$(hq '[.state, .stage_index]')"
expect_eq "stage 0 counters (offered started in_progress completed failed reverted)" \
    '[6,6,2,2,1,1]' \
    "$(hq '.stages[0] | [.offered, .started, .in_progress, .completed, .failed, .reverted]')"
expect_eq "stage 0: failed by result code" '{"5":1}' \
    "$(hq '.stages[0].failed_by_result')"
expect_eq "stage 0: failure rate 2/4" 0.5 "$(hq '.stages[0].failure_rate')"
expect_eq "stage 1: nothing yet" '[0,0,0]' \
    "$(hq '.stages[1] | [.offered, .completed, .failure_rate]')"
expect_eq "total: 4 finished < min_reports 10, not breached" "false 0.5" \
    "$(hq .breached) $(hq .total.failure_rate)"
api GET "/api/v1/rollouts/$R/audit" "$VIEW"
START_AT=$(jqb '[.events[] | select(.action == "start")][0].at')
expect_eq "stage 0 started_at = the start event's time" "\"$START_AT\"" \
    "$(hq '.stages[0].started_at')"

# A manual pause and resume: in the audit trail, not a stage start.
post_json "/api/v1/rollouts/$R/pause" "$REL" '{"reason":"checking dashboards"}'
expect_eq "manual pause" 200 "$STATUS"
health
expect_eq "paused by hand: state and reason" \
    '["paused","checking dashboards"]' "$(hq '[.state, .reason]')"
api POST "/api/v1/rollouts/$R/resume" "$REL"
expect_eq "resume" 200 "$STATUS"

# ---- stage 1: healthy, then a breach -------------------------------------

api POST "/api/v1/rollouts/$R/advance" "$REL"
expect_eq "advance to stage 1" 200 "$STATUS"
for i in 10 11 12 13 14 15; do
	report "d-$i" "[$(ev "h$i" started 1),$(ev "k$i" completed 6)]"
done
expect_eq "six completions: 200" 200 "$STATUS"
health
expect_eq "stage 1 completed 6, stage 0 unchanged" "[6,2]" \
    "$(hq '[.stages[1].completed, .stages[0].completed]')"
expect_eq "total: 2 of 10 finished failed: 0.2 < 0.25, healthy" \
    "false 0.2 running" \
    "$(hq .breached) $(hq .total.failure_rate) $(jq -r .state "$T/health.json")"
expect_eq "total in_stage = devices of stages 0 and 1" "$(in_current 1)" \
    "$(hq .total.in_stage)"
check "stage 1 started_at is set" test "$(hq '.stages[1].started_at')" != null
expect_eq "stage 2 not started" null "$(hq '.stages[2].started_at')"

report d-16 "[$(ev m1 failed 7 '"result":2')]"
report d-17 "[$(ev n1 started 1),$(ev n2 failed 8 '"result":2')]"
expect_eq "two failures: 200" 200 "$STATUS"
# d-16's failure makes 3 of 11 finished failed or reverted: 0.27 >= 0.25.
# The writer pauses the rollout right after that commit; d-17's report
# still lands (a paused rollout keeps its telemetry).
i=0
while [ $i -lt 50 ]; do
	api GET "/api/v1/rollouts/$R" "$VIEW"
	[ "$(jqb .state)" = paused ] && break
	sleep 0.1
	i=$((i + 1))
done
health
expect_eq "breach: paused by itself" paused "$(jq -r .state "$T/health.json")"
check "breach: reason names the failure rate" \
    sh -c "jq -r .reason '$T/health.json' | grep -q 'failure rate 3/11'"
expect_eq "breach: breached" true "$(hq .breached)"
expect_eq "total counters (offered started in_progress completed failed reverted)" \
    '[14,14,2,8,3,1]' \
    "$(hq '.total | [.offered, .started, .in_progress, .completed, .failed, .reverted]')"
expect_eq "total: failed by result code" '{"2":2,"5":1}' \
    "$(hq '.total.failed_by_result')"
expect_eq "stage 1: failed by result code, rate 2/8" '[{"2":2},0.25]' \
    "$(hq '.stages[1] | [.failed_by_result, .failure_rate]')"
expect_eq "total failure rate 4/12" 0.333333333333333 \
    "$(hq .total.failure_rate)"
expect_eq "sums of stages = total" "$(hq '.total | [.offered, .completed, .failed, .reverted]')" \
    "$(hq '[.stages | map(.offered), map(.completed), map(.failed), map(.reverted) | add]')"

# ---- otactl reads the same health ----------------------------------------

# hctl ARGS...: otactl as the viewer; stdout in $T/ctl.out, status in RC.
hctl() {
	OTACTL_SERVER="$BASE" OTACTL_CACERT="$DATA/tls/cert.pem" \
	    OTACTL_TOKEN="$VIEW" "$OTACTL_BIN" "$@" >"$T/ctl.out" 2>"$T/ctl.err"
	RC=$?
}
hctl rollouts health "$R"
expect_eq "otactl rollouts health: exit 0" 0 "$RC"
check "otactl health: state, stage and gate" grep -qxF \
    "rollout $R: paused, stage 2 of 3" "$T/ctl.out"
check "otactl health: breached, 33.3% of 12 finished" grep -qF \
    "gate simple: 33.3% failed of 12 finished, threshold 25.0%, min_reports 10: BREACHED" \
    "$T/ctl.out"
expect_eq "otactl health: total row (in_stage offered started completed failed reverted)" \
    "$(jq -r '.total | [.in_stage, .offered, .started, .completed, .failed, .reverted] | map(tostring) | join(" ")' "$T/health.json")" \
    "$(awk '$1 == "total" { print $2, $3, $4, $5, $6, $7 }' "$T/ctl.out")"
expect_eq "otactl health: stage 1 is current, 25.0% failed" "1* 25.0%" \
    "$(awk '$1 == "1*" { print $1, $9 }' "$T/ctl.out")"
check "otactl health: failures by result code, named" grep -qxF \
    "failures by result: 2 (not enough flash) 2, 5 (integrity check failure) 1" \
    "$T/ctl.out"
hctl rollouts health "$R" --json
expect_eq "otactl health --json: the API's answer" "$(hq .total)" \
    "$(jq -c .total "$T/ctl.out")"
hctl rollouts health 99999
check "otactl health of an unknown rollout: exit 1, says 404" \
    sh -c "[ $RC -eq 1 ] && grep -q 404 '$T/ctl.err'"
hctl rollouts watch "$R" --interval 1 --count 2
expect_eq "otactl watch --count 2, piped: two plain lines" "0 2" \
    "$RC $(grep -c "^20.* rollout $R paused stage 1 offered 14 started 14 completed 8 failed 3 reverted 1 failure_rate 0.3333 breached$" "$T/ctl.out")"
hctl rollouts watch "$R" --interval 0
expect_eq "otactl watch --interval 0: usage error" 2 "$RC"

# A device's status per rollout (API and otactl) and its events.
api GET /api/v1/devices/d-17/updates "$VIEW"
expect_eq "device updates: d-17 failed in the rollout with result 2" \
    "200 [{\"rollout\":$R,\"rollout_state\":\"paused\",\"status\":\"failed\",\"result\":2,\"stage_index\":1}]" \
    "$STATUS $(jq -c '[.updates[] | {rollout, rollout_state, status, result, stage_index}]' "$T/body")"
expect_eq "device updates: d-17 reported without an offer: offered_at null" \
    "null" "$(jq -c '.updates[0].offered_at' "$T/body")"
api GET /api/v1/devices/nobody/updates "$VIEW"
expect_eq "device updates of an unknown device: 404" 404 "$STATUS"
api GET "/api/v1/devices/d-17/updates?before=x" "$VIEW"
expect_eq "device updates, bad before: 400" 400 "$STATUS"
api GET /api/v1/devices/d-30/updates "$VIEW"
expect_eq "device updates of a device never offered: empty" '200 []' \
    "$STATUS $(jq -c .updates "$T/body")"
hctl devices show d-17
check "otactl devices show: the record" grep -qE '^id: +d-17$' "$T/ctl.out"
expect_eq "otactl devices show: its rollout row" "$R paused failed 1 2" \
    "$(awk -v r="$R" '$1 == r { print $1, $3, $5, $6, $7 }' "$T/ctl.out")"
hctl devices show d-17 --json
expect_eq "otactl devices show --json: updates added" "d-17 failed" \
    "$(jq -r '"\(.id) \(.updates[0].status)"' "$T/ctl.out")"
hctl devices events d-17
expect_eq "otactl devices events: newest first" "failed started" \
    "$(awk 'NR > 1 { printf "%s%s", sep, $4; sep = " " }' "$T/ctl.out")"
hctl devices events d-17 --limit 1 --json
expect_eq "otactl devices events --limit 1 --json" '["failed"]' \
    "$(jq -c 'map(.state)' "$T/ctl.out")"
hctl devices events d-17 --limit 0
expect_eq "otactl devices events --limit 0: usage error" 2 "$RC"

# ---- the audit trail ------------------------------------------------------

api GET "/api/v1/rollouts/$R/audit" "$VIEW"
expect_eq "audit: 200" 200 "$STATUS"
cp "$T/body" "$T/audit.json"
expect_eq "audit: every transition, by whom" \
    "create:ci start:ci pause:ci resume:ci advance:ci pause:otad" \
    "$(jq -r '[.events[] | "\(.action):\(.actor)"] | join(" ")' "$T/audit.json")"
expect_eq "audit: the manual pause's reason" "checking dashboards" \
    "$(jq -r '.events[2].reason' "$T/audit.json")"
expect_eq "audit: the automatic pause's reason" "$(jq -r .reason "$T/health.json")" \
    "$(jq -r '.events[5].reason' "$T/audit.json")"
expect_eq "audit: from/to states of the automatic pause" "running paused 1" \
    "$(jq -r '.events[5] | "\(.from_state) \(.to_state) \(.stage_index)"' "$T/audit.json")"
api GET "/api/v1/rollouts/$R/events" "$VIEW"
check "audit = events" cmp -s "$T/body" "$T/audit.json"
api GET /api/v1/rollouts/99999/audit "$VIEW"
expect_eq "audit of an unknown rollout: 404" 404 "$STATUS"
api GET "/api/v1/rollouts/$R/audit" ""
expect_eq "audit without a token: 401" 401 "$STATUS"

# ---- /metrics ---------------------------------------------------------------

# scrape [TOKEN]: GET /metrics into $T/metrics.txt; sets STATUS.
scrape() {
	api GET /metrics "${1-$VIEW}"
	cp "$T/body" "$T/metrics.txt"
}

# metric SERIES: the value of one sample of the last scrape (or "none").
metric() {
	awk -v s="$1" 'index($0, s " ") == 1 { v = substr($0, length(s) + 2) }
	    END { print (v == "" ? "none" : v) }' "$T/metrics.txt"
}

# parses: every line is a HELP/TYPE comment or `name{labels} value`.
parses() {
	python3 -c '
import re, sys
sample = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*"
                    r"(\{([a-zA-Z_][a-zA-Z0-9_]*=\"([^\"\\\n]|\\[\\\"n])*\",?)*\})?"
                    r" (-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?|\+Inf|-Inf|NaN)$")
comment = re.compile(r"^# (HELP [a-zA-Z_:][a-zA-Z0-9_:]* .+|"
                     r"TYPE [a-zA-Z_:][a-zA-Z0-9_:]* (counter|gauge|histogram))$")
text = open(sys.argv[1]).read()
assert text.endswith("\n")
for line in text.splitlines():
    if not (comment.match(line) or sample.match(line)):
        sys.exit("bad line: %r" % line)' "$1"
}

# wait_metric SERIES VALUE: scrapes until SERIES equals VALUE (a request is
# counted when it completes, which may trail its response by a moment).
wait_metric() {
	i=0
	while [ $i -lt 30 ]; do
		scrape
		[ "$(metric "$1")" = "$2" ] && return 0
		sleep 0.1
		i=$((i + 1))
	done
	return 1
}

# wait_metric_ge SERIES MIN [TENTHS]: scrapes (up to TENTHS tenths of a
# second, 30 by default) until SERIES >= MIN.
wait_metric_ge() {
	i=0
	while [ $i -lt "${3:-30}" ]; do
		scrape
		v=$(metric "$1")
		[ "$v" != none ] && [ "$v" -ge "$2" ] && return 0
		sleep 0.1
		i=$((i + 1))
	done
	return 1
}

scrape ""
expect_eq "metrics without a token (metrics_auth = viewer): 401" 401 "$STATUS"
scrape "$(tok_of d-01)"
expect_eq "metrics with a device token: 403" 403 "$STATUS"
scrape
expect_eq "metrics as viewer: 200" 200 "$STATUS"
check "Content-Type is the 0.0.4 text format" \
    sh -c "grep -qi '^Content-Type: text/plain; version=0.0.4' '$T/headers'"
check "every line parses" parses "$T/metrics.txt"

HZ='otad_http_requests_total{route="/healthz",method="GET",code="200"}'
before=$(metric "$HZ")
[ "$before" = none ] && before=0
for i in 1 2 3; do api GET /healthz ""; done
check "3 requests of /healthz counted" wait_metric "$HZ" $((before + 3))
expect_eq "histogram _count of /healthz = its requests" $((before + 3)) \
    "$(metric 'otad_http_request_duration_seconds_count{route="/healthz"}')"
expect_eq "histogram +Inf bucket = _count" $((before + 3)) \
    "$(metric 'otad_http_request_duration_seconds_bucket{route="/healthz",le="+Inf"}')"
check "histogram buckets are cumulative" sh -c "
    grep '^otad_http_request_duration_seconds_bucket{route=\"/healthz\"' '$T/metrics.txt' |
    awk '{ if (\$2 < prev) exit 1; prev = \$2 }'"
check "histogram has 15 buckets and a _sum" sh -c "
    [ \$(grep -c '^otad_http_request_duration_seconds_bucket{route=\"/healthz\"' '$T/metrics.txt') = 15 ] &&
    grep -q '^otad_http_request_duration_seconds_sum{route=\"/healthz\"} [0-9]' '$T/metrics.txt'"
expect_eq "response bytes of /healthz: 15 a reply" $(((before + 3) * 15)) \
    "$(metric 'otad_http_response_bytes_total{route="/healthz"}')"

# Routes are patterns, never raw paths: the label set stays bounded.
api GET "/api/v1/rollouts/$R/health" "$VIEW"
api GET /no/such/path/4242 ""
scrape
check "health counted under its pattern" test \
    "$(metric 'otad_http_requests_total{route="/api/v1/rollouts/{}/health",method="GET",code="200"}')" != none
check "an unknown path counts as unmatched" test \
    "$(metric 'otad_http_requests_total{route="unmatched",method="GET",code="404"}')" != none
# Only label values can hold a path (a counter's value may contain 4242).
check "no raw path in any label" sh -c "! grep -qE '\"[^\"]*(4242|rollouts/$R/)[^\"]*\"' '$T/metrics.txt'"

# Manifest polls: a device outside every target group gets 204.
P204=$(metric 'otad_manifest_polls_total{result="204"}')
PRW=$(metric 'otad_poll_reports_total{outcome="written"}')
api GET "/api/v1/devices/d-40/manifest?hardware=revA&version=1.0.0" "$(tok_of d-40)"
expect_eq "poll of an untargeted device: 204" 204 "$STATUS"
check "manifest polls 204 counted" wait_metric \
    'otad_manifest_polls_total{result="204"}' $((P204 + 1))
# Its report (last seen, an unchanged version) is written within 10 s: a
# report that only refreshes last seen waits for a denser batch.
check "the poll's report counted as written" wait_metric_ge \
    'otad_poll_reports_total{outcome="written"}' $((PRW + 1)) 130
expect_eq "no poll report dropped" 0 \
    "$(metric 'otad_poll_reports_total{outcome="dropped"}')"

expect_eq "rollout gauges by state" "0 0 1 0 0" \
    "$(for s in draft running paused completed aborted; do metric "otad_rollouts{state=\"$s\"}"; done | tr '\n' ' ' | sed 's/ $//')"
expect_eq "build info" 1 "$(metric "otad_build_info{version=\"$("$OTAD_BIN" --version | cut -d' ' -f2)\"}")"
check "process start time is recent" sh -c "
    v=\$(awk '/^process_start_time_seconds / { print \$2 }' '$T/metrics.txt');
    now=\$(date +%s); [ \$((now - v)) -ge 0 ] && [ \$((now - v)) -lt 600 ]"

# Events by transport and state, duplicates and rejections.
expect_eq "events over REST by state (started progress completed failed reverted)" \
    "12 2 9 3 1" \
    "$(for s in started progress completed failed reverted; do metric "otad_events_total{transport=\"rest\",state=\"$s\"}"; done | tr '\n' ' ' | sed 's/ $//')"
expect_eq "duplicates counted" 1 "$(metric otad_events_duplicates_total)"
expect_eq "rejections counted by transport and reason" 1 \
    "$(metric 'otad_events_rejected_total{transport="rest",reason="unknown_rollout"}')"
expect_eq "no broker configured: MQTT not connected, nothing received" "0 0" \
    "$(metric otad_mqtt_connected) $(metric otad_mqtt_messages_total)"
check "the final scrape parses" parses "$T/metrics.txt"

# ---- metrics_auth = none, and an MQTT broker --------------------------------

# A real Mosquitto on a loopback port, so the MQTT gauge and counters are
# seen moving both ways.
broker_setup
broker_start || exit 1

otad_stop
expect_eq "clean stop" 0 $?
export OTAD_METRICS_AUTH=none OTAD_MQTT_HOST=127.0.0.1 OTAD_MQTT_PORT=$MQ_PORT
otad_start || exit 1
scrape ""
expect_eq "metrics_auth = none: no token needed" 200 "$STATUS"
check "metrics_auth = none: parses" parses "$T/metrics.txt"
api GET "/api/v1/rollouts/$R/health" ""
expect_eq "metrics_auth = none leaves the API closed" 401 "$STATUS"
health
expect_eq "health after a restart: same verdict" "paused true [14,8,3,1]" \
    "$(jq -r .state "$T/health.json") $(hq .breached) $(hq '.total | [.offered, .completed, .failed, .reverted]')"

# wait_scrape SERIES VALUE: as wait_metric, without a token, up to 10 s.
wait_scrape() {
	i=0
	while [ $i -lt 100 ]; do
		scrape ""
		[ "$(metric "$1")" = "$2" ] && return 0
		sleep 0.1
		i=$((i + 1))
	done
	return 1
}
check "MQTT connected: gauge 1" wait_scrape otad_mqtt_connected 1
mosquitto_pub -q 1 -p "$MQ_PORT" -t otad/devices/d-18/events \
    -m "$(ev q1 started 1)"
mosquitto_pub -q 1 -p "$MQ_PORT" -t otad/devices/d-18/events -m '{nope'
check "an MQTT event counted by transport and state" wait_scrape \
    'otad_events_total{transport="mqtt",state="started"}' 1
check "a malformed MQTT message counted" wait_scrape \
    'otad_mqtt_refused_total{reason="malformed"}' 1
expect_eq "MQTT messages counted" 2 "$(metric otad_mqtt_messages_total)"
check "the MQTT scrape parses" parses "$T/metrics.txt"
health
expect_eq "the MQTT report in the health: stage 1 in progress" 1 \
    "$(hq '.stages[1].in_progress')"
broker_stop
check "broker gone: gauge 0" wait_scrape otad_mqtt_connected 0

otad_stop
expect_eq "clean stop" 0 $?
check "sanitizers report nothing" sanitizer_clean
finish
