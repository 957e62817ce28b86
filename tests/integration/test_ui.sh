#!/bin/sh
# The web dashboard in a real browser.  curl checks what otad serves under
# /ui/ (types, ETag/304, the CSP and other headers on every answer, 404 as
# JSON) and the routes written for it (whoami, fleet summary, rollout
# series) against figures set up here.  Then Debian's chromium, driven over
# the DevTools protocol (tests/ui_browser.py), signs in with a release
# token, reads a running rollout whose reports this script posted, sees
# the page follow a new report by itself, pauses the rollout from the page
# (reason + confirmation) and signs in again as a viewer, who gets no
# action button.  The API must then show the pause and its reason; no URL
# the browser asked for may hold a token; no CSP violation may occur.
# UI_SCREENSHOT=FILE keeps the screenshot of the rollout page there
# (docs/ui-rollout.png is one).
. "$(dirname "$0")/../lib.sh"

otad_setup
otad_start || exit 1
tokens

# ---- what /ui/ serves ------------------------------------------------------

CSP="default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
# ui_headers WHAT: the dashboard's security headers on the last answer.
ui_headers() {
	expect_eq "$1: CSP" "$CSP" "$(header Content-Security-Policy)"
	expect_eq "$1: nosniff" nosniff "$(header X-Content-Type-Options)"
	expect_eq "$1: no referrer" no-referrer "$(header Referrer-Policy)"
}
api GET /ui/ ""
expect_eq "GET /ui/ without a token: 200" 200 "$STATUS"
expect_eq "/ui/ is HTML" "text/html; charset=utf-8" "$(header Content-Type)"
ui_headers "/ui/"
check "/ui/ loads its script as a module file, no inline script" \
    sh -c "grep -q '<script type=\"module\" src=\"app.js\"></script>' '$T/body' &&
        ! grep -q '<script>' '$T/body' && ! grep -qi ' style=' '$T/body'"
ETAG=$(header ETag)
check "/ui/ has an ETag" test -n "$ETAG"
api GET /ui/ "" -H "If-None-Match: $ETAG"
expect_eq "same ETag: 304" 304 "$STATUS"
ui_headers "304"
api GET /ui/index.html "" -H 'If-None-Match: "other"'
expect_eq "another ETag: 200" 200 "$STATUS"
api GET /ui/app.js ""
expect_eq "app.js: 200" 200 "$STATUS"
expect_eq "app.js is JavaScript" "text/javascript; charset=utf-8" \
    "$(header Content-Type)"
api GET /ui/style.css ""
expect_eq "style.css is CSS" "text/css; charset=utf-8" "$(header Content-Type)"
api GET /ui/no-such.js ""
expect_eq "unknown asset: 404" 404 "$STATUS"
expect_eq "unknown asset: JSON error" "not_found" "$(jqb .error)"
ui_headers "404"
# A name that is not UTF-8: still the dashboard's 404 (not a 503).
api GET /ui/%ff%fe.js ""
expect_eq "unknown asset, not UTF-8: 404" "404 not_found" "$STATUS $(jqb .error)"
ui_headers "404 of a name that is not UTF-8"
api GET /ui/../server/main.c "" --path-as-is
check "no file outside the embedded set ($STATUS)" test "$STATUS" = 404
api GET / ""
expect_eq "/ redirects" "302 /ui/" "$STATUS $(header Location)"
api HEAD /ui/app.js "" -I
expect_eq "HEAD /ui/app.js: 200" 200 "$STATUS"

# ---- whoami ----------------------------------------------------------------

api GET /api/v1/whoami "$VIEW"
expect_eq "whoami: viewer" '["api","viewer","dash"]' \
    "$(jq -c '[.kind, .role, .name]' "$T/body")"
check "whoami holds no secret" sh -c "! grep -qF '$VIEW' '$T/body'"
api GET /api/v1/whoami "$REL"
expect_eq "whoami: release" release "$(jqb .role)"
api GET /api/v1/whoami ""
expect_eq "whoami without a token: 401" 401 "$STATUS"

# ---- an image, 200 devices, a running rollout with reports -----------------

make_image "$T/fw.bin" 5000
release "$T/fw.bin" sensor-fw 2.0.0 revA --hardware revB
upload_curl "$REL" "$T/fw.bin"
expect_eq "image uploaded" 201 "$STATUS"
IMG=$(jqb .id)
groups_create fleet
# d-001..d-200: revA below 150, revB from there; 1.0.0 below 180, then
# 1.1.0; all in fleet.
python3 -c '
import json
print(json.dumps([{"id": "d-%03d" % i, "hardware": "revA" if i < 150 else "revB",
    "version": "1.0.0" if i < 180 else "1.1.0", "groups": ["fleet"],
    "labels": {"site": "lab"}} for i in range(1, 201)]))' |
    jq '.[199].components = [{"name": "radio", "hardware": "rf-1",
        "version": null}, {"name": "main", "hardware": "revB",
        "version": "1.1.0"}]' >"$T/devices.req"
devices_provision "200 devices provisioned"
post_json /api/v1/rollouts "$REL" "{\"image\":$IMG,\"name\":\"spring\",
    \"groups\":[\"fleet\"],\"stages\":[20,50,100],
    \"failure_threshold\":0.25,\"min_reports\":100}"
expect_eq "rollout created" 201 "$STATUS"
R=$(jqb .id)
SALT=$(jqb .salt)
api POST "/api/v1/rollouts/$R/start" "$REL"
expect_eq "rollout started" 200 "$STATUS"
# The devices of stage 0 (20%: 40 expected), by the documented bucket hash.
python3 -c '
import hashlib, sys
salt = bytes.fromhex(sys.argv[1])
for i in range(1, 201):
    d = "d-%03d" % i
    h = hashlib.blake2b(d.encode(), key=salt, digest_size=8)
    if int.from_bytes(h.digest(), "little") % 10000 < 2000:
        print(d)' "$SALT" >"$T/stage0"
N0=$(wc -l <"$T/stage0")
check "stage 0 holds at least 16 devices ($N0)" test "$N0" -ge 16

NOW=$(date +%s)
# ev DEV ID STATE SECONDS_AGO [EXTRA]: one event of rollout R.
ev() {
	printf '{"event_id":"%s","rollout":%s,"version":"2.0.0","state":"%s","ts":"%s"%s}' \
	    "$2" "$R" "$3" "$(date -u -d "@$((NOW - $4))" +%Y-%m-%dT%H:%M:%SZ)" \
	    "${5:+,$5}"
}
# report DEV FINAL SECONDS_AGO [EXTRA]: DEV started, then FINAL.
report() {
	events "$1" "$(tok_of "$1")" "[$(ev "$1" s-"$1" started \
	    $(($3 + 600))),$(ev "$1" f-"$1" "$2" "$3" "${4:-}")]"
}
# The first 12 devices of stage 0 complete, one every hour back from
# now; 2 fail (LwM2M 7 and 5), 1 reverts: 3 of 15 = 20%, under 25%.
i=0
while read -r d; do
	i=$((i + 1))
	case $i in
	3) report "$d" failed $((i * 3000)) '"result":7' ;;
	8) report "$d" failed $((i * 3000)) '"result":5' ;;
	11) report "$d" reverted $((i * 3000)) ;;
	1[6-9]|[2-9][0-9]) break ;;
	*) report "$d" completed $((i * 3000)) ;;
	esac
	[ "$STATUS" = 200 ] || fail "report of $d: $STATUS $(body)"
done <"$T/stage0"
LATE=$(sed -n 16p "$T/stage0")

api GET "/api/v1/rollouts/$R/health" "$VIEW"
expect_eq "health: 12 completed, 2 failed, 1 reverted, 20%" \
    '[12,2,1,0.2,false]' \
    "$(jq -c '.total | [.completed, .failed, .reverted, .failure_rate]' "$T/body" |
        sed 's/]$//'),$(jqb .breached)]"

# ---- the fleet summary -----------------------------------------------------

api GET /api/v1/fleet/summary "$VIEW"
expect_eq "summary: 200" 200 "$STATUS"
expect_eq "summary: devices, stale (none seen yet)" '[200,200,7]' \
    "$(jq -c '[.devices, .stale, .stale_days]' "$T/body")"
expect_eq "summary: last seen: never, all of them" '[0,0,0,0,200]' \
    "$(jq -c '.last_seen | [.hour, .day, .week, .older, .never]' "$T/body")"
check "summary: computed_at is a time" \
    sh -c "jq -e '.computed_at | test(\"^20[0-9-]+T[0-9:]+Z$\")' '$T/body'"
expect_eq "summary: by version, largest first" \
    '[["1.0.0",179,179],["1.1.0",21,21]]' \
    "$(jq -c '[.by_version[] | [.version, .devices, .stale]]' "$T/body")"
expect_eq "summary: by hardware" '[["revA",149],["revB",51]]' \
    "$(jq -c '[.by_hardware[] | [.hardware, .devices]]' "$T/body")"
# d-001 seen two hours ago, d-002 ten days ago (as the seen thread writes
# them; set here, not waited for): 199 stale at 7 days, 198 at 30.
sql "INSERT INTO device_seen (device_id, last_seen_at) VALUES ('d-001', '$(date -u -d '-2 hours' +%Y-%m-%dT%H:%M:%SZ)'), ('d-002', '$(date -u -d '-10 days' +%Y-%m-%dT%H:%M:%SZ)')"
api GET "/api/v1/fleet/summary?stale_days=7" "$VIEW"
expect_eq "7 days: 199 stale (d-002 too)" '[199,[179,178]]' \
    "$(jq -c '[.stale, (.by_version[0] | [.devices, .stale])]' "$T/body")"
expect_eq "last seen: d-001 within the day, d-002 older, 198 never" \
    '[0,1,0,1,198]' \
    "$(jq -c '.last_seen | [.hour, .day, .week, .older, .never]' "$T/body")"
api GET "/api/v1/fleet/summary?stale_days=30" "$VIEW"
expect_eq "30 days: 198 stale" 198 "$(jqb .stale)"
for bad in 0 3651 abc -1 ''; do
	api GET "/api/v1/fleet/summary?stale_days=$bad" "$VIEW"
	expect_eq "stale_days='$bad': 400" "400 invalid_request" \
	    "$STATUS $(jqb .error)"
done
api GET /api/v1/fleet/summary "$(tok_of d-003)"
expect_eq "summary with a device token: 403" 403 "$STATUS"

# otactl shows the same.
printf '%s\n' "$VIEW" >"$T/view.token"
octl() {
	"$OTACTL_BIN" "$@" --server "$BASE" --token-file "$T/view.token" \
	    --cacert "$DATA/tls/cert.pem" >"$T/out" 2>"$T/err"
}
octl whoami --json
expect_eq "otactl whoami" '["viewer","dash"]' "$(jq -c '[.role, .name]' "$T/out")"
octl fleet --stale-days 30
check "otactl fleet: the record and both tables" sh -c "
    grep -q '^devices: *200' '$T/out' && grep -q '^stale: *198' '$T/out' &&
    grep -qE '^1\.0\.0 +179 +177' '$T/out' && grep -qE '^revB +51 ' '$T/out'"
octl fleet --stale-days 0
check "otactl fleet --stale-days 0: usage error" test $? -eq 2

# ---- the rollout series ----------------------------------------------------

api GET "/api/v1/rollouts/$R/series?bucket_sec=86400" "$VIEW"
expect_eq "series: 200" 200 "$STATUS"
expect_eq "series: totals add up to 15 final reports, 3 failed" '[15,3,0.25]' \
    "$(jq -c '[([.buckets[] | .completed + .failed + .reverted] | add),
        ([.buckets[] | .failed + .reverted] | add), .failure_threshold]' \
        "$T/body")"
expect_eq "series: last bucket's cumulative rate is the health's" 0.2 \
    "$(jq -c '.buckets[-1].failure_rate_total' "$T/body")"
api GET "/api/v1/rollouts/$R/series?bucket_sec=3600" "$VIEW"
check "series: hourly buckets rise" sh -c "jq -e '[.buckets[].start] |
    . == sort and length >= 8' '$T/body' >/dev/null"
for bad in 59 604801 x; do
	api GET "/api/v1/rollouts/$R/series?bucket_sec=$bad" "$VIEW"
	expect_eq "bucket_sec=$bad: 400" 400 "$STATUS"
done
api GET /api/v1/rollouts/99999/series "$VIEW"
expect_eq "series of an unknown rollout: 404" 404 "$STATUS"
expect_eq "series of 8 hourly buckets: not truncated" false \
    "$(api GET "/api/v1/rollouts/$R/series" "$VIEW"; jqb .truncated)"
# 1001 more final reports, one a minute from tomorrow on (written into the
# store, removed after): the newest 1000 buckets are kept, the cumulative
# totals still count the cut one, and the answer says it was cut.
FUTURE=$(( ($(date +%s) + 86400) * 1000 ))
sql "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n
    WHERE i < 1001) INSERT INTO devices (id, hardware, labels, created_at)
    SELECT 'sx-' || i, 'revA', '{}', '2026-01-01T00:00:00Z' FROM n"
sql "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n
    WHERE i < 1001) INSERT INTO device_updates (rollout_id, device_id,
    version, status, stage_index, status_ts_ms, updated_at)
    SELECT $R, 'sx-' || i, '1.1.0', 'completed', 0, $FUTURE + i * 60000,
    '2026-01-01T00:00:00Z' FROM n"
api GET "/api/v1/rollouts/$R/series?bucket_sec=60" "$VIEW"
expect_eq "series over 1000 buckets: the newest 1000, truncated" \
    '[1000,true,17,1016]' "$(jq -c '[(.buckets | length), .truncated,
        .buckets[0].finished_total, .buckets[-1].finished_total]' "$T/body")"
expect_eq "series over 1000 buckets: it reaches the newest report" \
    "$(date -u -d "@$(( FUTURE / 1000 + 1001 * 60 ))" +%Y-%m-%dT%H:%M:00Z)" \
    "$(jqb '.buckets[-1].start')"
sql "DELETE FROM device_updates WHERE device_id LIKE 'sx-%';
    DELETE FROM devices WHERE id LIKE 'sx-%'"

# ---- a bundle and a draft rollout of it ------------------------------------

make_image "$T/radio.bin" 3000
release "$T/radio.bin" radio-fw 1.1.0 rf-1
upload_curl "$REL" "$T/radio.bin"
expect_eq "radio image uploaded" 201 "$STATUS"
RIMG=$(jqb .id)
printf '{"name":"sensor-kit","version":"3.0.0","parts":[%s,%s]}' \
    "{\"component\":\"main\",\"sha256\":\"$(sha256sum "$T/fw.bin" | cut -d' ' -f1)\",\"order\":2,\"hardware\":\"revB\"}" \
    "{\"component\":\"radio\",\"sha256\":\"$(sha256sum "$T/radio.bin" | cut -d' ' -f1)\",\"order\":1}" \
    >"$T/kit.json"
"$OTACTL_BIN" sign --key "$T/keys/release.key" --out "$T/kit.json.sig" \
    "$T/kit.json" >/dev/null
post_json /api/v1/bundles "$REL" "$(jq -n --rawfile d "$T/kit.json" \
    --arg s "$(base64 -w0 "$T/kit.json.sig")" \
    '{descriptor: $d, signatures: [{keyid: "release", sig: $s}]}')"
expect_eq "bundle uploaded" 201 "$STATUS"
BUN=$(jqb .id)
post_json /api/v1/rollouts "$REL" "{\"bundle\":$BUN,\"name\":\"kit\",
    \"groups\":[\"fleet\"],\"stages\":[10,100]}"
expect_eq "bundle rollout created" 201 "$STATUS"
BR=$(jqb .id)

# ---- the browser -----------------------------------------------------------

SHOT="$T/ui-rollout.png"
export UI_TOKEN_RELEASE="$REL" UI_TOKEN_VIEWER="$VIEW"
UI_DEVICE=$(sed -n 1p "$T/stage0")
export UI_DEVICE UI_BUNDLE_ROLLOUT="$BR" UI_BUNDLE="$BUN"
export UI_REASON="error spike on revB (paused from the dashboard)"
# The report the page must pick up by itself.
export UI_AFTER_LOAD="curl -sf -o /dev/null --cacert '$DATA/tls/cert.pem' \
    -H 'Authorization: Bearer $(tok_of "$LATE")' \
    -H 'Content-Type: application/json' --data-binary \
    '[$(ev "$LATE" s-late started 400),$(ev "$LATE" f-late completed 300)]' \
    '$BASE/api/v1/devices/$LATE/events'"
# Debian's python3, which has python3-websocket (deps-test), before any
# other on the PATH.
PY=python3
[ ! -x /usr/bin/python3 ] || PY=/usr/bin/python3
timeout 180 "$PY" "$TESTS_DIR/ui_browser.py" "$BASE" "$DATA/tls/cert.pem" \
    "$T" "$R" "$SHOT" >"$T/ui.json" 2>"$T/ui.err"
[ ! -s "$T/ui.err" ] || { echo "ui_browser.py:"; cat "$T/ui.err"; } >&2
expect_eq "the browser was driven to the end" "null" \
    "$(jq -c .failure "$T/ui.json" 2>&1)"
check "the browser made requests" \
    sh -c "jq -e '.urls | length > 10' '$T/ui.json' >/dev/null"
U() { jq -c "$1" "$T/ui.json"; }
expect_eq "signed in as release" '"release"' "$(U .role)"
expect_eq "the fleet page: 200 devices" '"200"' "$(U .fleet_devices)"
expect_eq "the fleet page: last seen" \
    '{"hour":"0","day":"1","week":"0","older":"1","never":"198"}' \
    "$(U .fleet_last_seen)"
expect_eq "the fleet page: versions" '["1.0.0 179 178","1.1.0 21 21"]' \
    "$(U .fleet_versions)"
expect_eq "rollout page: state" '"running"' "$(U .state)"
expect_eq "rollout page: total completed, failed, reverted, rate" \
    '["12","2","1","20.0%"]' \
    "$(U '.funnel.total | [.completed, .failed, .reverted, .failure_rate]')"
expect_eq "funnel: the consent counts (none asked)" '["0","0","0"]' \
    "$(U '.funnel.total | [.awaiting_consent, .accepted, .declined]')"
expect_eq "rollout page: stage 0 targeted = in stage = $N0" \
    "[\"$N0\",\"$N0\"]" "$(U '.funnel["0"] | [.targeted, .in_stage]')"
expect_eq "rollout page: stage 0 offered, started" '["15","15"]' \
    "$(U '.funnel["0"] | [.offered, .started]')"
expect_eq "rollout page: stage 2 has nothing yet" '["0","0"]' \
    "$(U '.funnel["2"] | [.offered, .completed]')"
expect_eq "release sees the running rollout's actions" \
    '["action-pause","action-advance","action-abort"]' "$(U .buttons)"
expect_eq "the page refreshed itself: 13 completed" '"13"' \
    "$(U '.refreshed_funnel.total.completed')"
expect_eq "... without reloading" true "$(U .same_page)"
check "the failure-rate chart has points" \
    test "$(U .chart_points)" -ge 8
expect_eq "the audit trail: create and start" 2 "$(U .audit_rows)"
expect_eq "abort cancelled in its dialog: still running" '"running"' \
    "$(U .state_after_cancel)"
expect_eq "the dialog asks before pausing" "\"pause rollout #$R?\"" \
    "$(U .dialog_title)"
expect_eq "the page shows paused" '"paused"' "$(U .state_after)"
expect_eq "the page shows the reason" "\"$UI_REASON\"" "$(U .reason_shown)"
expect_eq "paused: resume, advance, abort" \
    '["action-resume","action-advance","action-abort"]' "$(U .buttons_after)"
check "an API error is shown with its error and detail" \
    sh -c "jq -r .error_shown '$T/ui.json' | grep -q 'not_found.*no rollout with id 999999'"
check "an id that is not a number: refused on the page" \
    sh -c "jq -r .bad_id_shown '$T/ui.json' | grep -q 'no such image id: ../keys'"
check "an id that is not a number: no API request made of it" \
    sh -c "! jq -r '.urls[]' '$T/ui.json' | grep -q '/api/v1/keys'"
expect_eq "signed in again as viewer" '"viewer"' "$(U .viewer_role)"
expect_eq "the viewer reads the same figures" '"13"' \
    "$(U '.viewer_funnel.total.completed')"
expect_eq "the viewer gets no action button" '[0,0]' \
    "$(U '[.viewer_buttons, .viewer_any_action]')"
expect_eq "rollouts list: not breached, 18.8% failed" '"ok 18.8% failed"' \
    "$(U .list_health)"
expect_eq "rollouts list: name, image, state with its reason" \
    "[\"#$R\",\"spring\",\"sensor-fw 2.0.0\",\"paused$UI_REASON\"]" \
    "$(U '.list_row[0:4]')"
expect_eq "rollouts list: a bar per stage" 3 "$(U .list_bars)"
expect_eq "image page: signer" '"release"' "$(U .image_signers)"
expect_eq "image page: its rollout" 1 "$(U .image_rollouts)"
expect_eq "device page: its status in the rollout" '"completed"' \
    "$(U .device_updates)"
expect_eq "the token stays in the tab's session storage" true \
    "$(U .token_in_storage)"
expect_eq "no CSP violation (events)" '[[],[]]' \
    "$(U '[.csp_release, .csp_viewer]')"
expect_eq "no CSP violation (console)" '[]' "$(U .csp_console)"
check "the browser asked for the dashboard and the API" \
    sh -c "jq -e '[.urls[] | select(test(\"/ui/app.js$\"))] | length > 0' \
        '$T/ui.json' >/dev/null && jq -e '[.urls[] |
        select(test(\"/api/v1/rollouts/$R/health$\"))] | length > 0' \
        '$T/ui.json' >/dev/null"
for t in "$REL" "$VIEW"; do
	check "no URL requested holds a token" \
	    sh -c "! jq -r '.urls[]' '$T/ui.json' | grep -qF '$t'"
done
check "no token in otad's log" \
    sh -c "! grep -qF '$REL' '$OTAD_LOG' && ! grep -qF '$VIEW' '$OTAD_LOG'"

expect_eq "policy: shown on the page" \
    '["simple","25.0%","100","by hand only","every version","—"]' \
    "$(U '.policy | [.gate, .failure_threshold, .min_reports, .advance_after,
        .from_version, .start_at]')"
expect_eq "policy: windows, action type, stuck devices, rate and consent shown" \
    '["every device of the groups","any time","notify","forced","none","none","failed, timed_out, reverted","pause","no limit","not asked"]' \
    "$(U '.policy | [.selector, .maintenance_windows, .outside_window,
        .action_type, .device_timeout, .max_retries, .abort_on,
        .breach_action, .max_offers_per_minute, .require_consent]')"
expect_eq "paused: release gets the Edit policy form" true "$(U .edit_form)"
expect_eq "the policy dialog asks no reason" \
    "[\"Edit the policy of rollout #$R?\",true]" "$(U .policy_dialog)"
check "a refused policy edit shows the API's error and detail" \
    sh -c "jq -r .policy_error '$T/ui.json' | grep -q 'invalid_request.*min_reports'"
expect_eq "the page shows the edited policy" '"120"' "$(U .policy_after)"
expect_eq "the viewer gets no Edit policy" 0 "$(U .viewer_edit)"
expect_eq "bundle rollout page: what it ships" '"bundle sensor-kit 3.0.0"' \
    "$(U .bundle_ships)"
expect_eq "bundle rollout page: parts in install order" \
    "[\"1 radio #$RIMG — any its image lists\",\"2 main #$IMG — revB\"]" \
    "$(U .bundle_parts)"
expect_eq "rollouts list: the bundle rollout's row" \
    "[\"#$BR\",\"kit\",\"bundle sensor-kit 3.0.0\",\"draft\"]" \
    "$(U '.list_bundle_row[0:4]')"
expect_eq "bundles page: the bundle" "[[\"#$BUN\",\"sensor-kit\",\"3.0.0\",\"radio, main\",\"release\"]]" \
    "$(U '[.bundles_list[] | .[0:5]]')"
expect_eq "bundle page: signer, parts, rollouts" "[\"release\",2,[\"#$BR kit\"]]" \
    "$(U '[.bundle_signers, .bundle_part_rows, .bundle_rollouts]')"
expect_eq "bundle page: the descriptor as signed" '"sensor-kit"' \
    "$(U .bundle_descriptor_name)"
expect_eq "device page: components" \
    '["main revB 1.1.0","radio rf-1 not known"]' "$(U .device_components)"

# The pause the page made, as the API sees it.
api GET "/api/v1/rollouts/$R" "$VIEW"
expect_eq "API: paused with the page's reason" \
    "[\"paused\",\"$UI_REASON\"]" "$(jq -c '[.state, .reason]' "$T/body")"
api GET "/api/v1/rollouts/$R/audit" "$VIEW"
expect_eq "audit: the pause by the release token, then the page's policy edit" \
    "[[\"pause\",\"ci\",\"$UI_REASON\"],[\"update\",\"ci\",\"min_reports 100 -> 120\"]]" \
    "$(jq -c '[.events[-2:][] | [.action, .actor, .reason]]' "$T/body")"
api GET "/api/v1/rollouts/$R" "$VIEW"
expect_eq "API: the policy edited from the page" '[120,"simple"]' \
    "$(jq -c '[.min_reports, .gate]' "$T/body")"
check "the screenshot is a PNG" \
    sh -c "head -c 8 '$SHOT' | od -An -tx1 | grep -q '89 50 4e 47'"
[ -z "${UI_SCREENSHOT:-}" ] || cp "$SHOT" "$UI_SCREENSHOT"

finish
