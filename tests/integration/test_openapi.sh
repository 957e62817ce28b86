#!/bin/sh
# The API contract, docs/openapi.json: it is a valid OpenAPI 3.1 document
# (the OpenAPI Initiative's meta-schema, from npm, pinned: Makefile's
# OPENAPI_SCHEMAS), its operations are exactly otad's routes with their
# roles, otad serves it as built, and every answer the integration
# scripts recorded (tests/run.sh runs this script last; tests/lib.sh
# records) is documented: status, content type and JSON body.  Run alone,
# it checks the answers of its own walk through the API.
. "$(dirname "$0")/../lib.sh"

PY=/usr/bin/python3
CHECK="$TESTS_DIR/openapi_check.py"
DOC="$TESTS_DIR/../docs/openapi.json"
SCHEMAS=${OPENAPI_SCHEMAS:-$TESTS_DIR/../build/deps/openapi-schemas-2.1.0/package/schemas}

# checked DESCRIPTION CMD...: check, with CMD's output shown.
checked() {
	d=$1
	shift
	if "$@" >"$T/check.out" 2>&1; then
		pass "$d: $(tail -n 1 "$T/check.out")"
	else
		sed 's/^/  /' "$T/check.out" | head -n 60
		fail "$d"
	fi
}

# ---- the document ---------------------------------------------------------

if [ -f "$SCHEMAS/v3.1/schema.json" ]; then
	checked "docs/openapi.json against the OpenAPI 3.1 meta-schema" \
	    "$PY" "$CHECK" doc "$DOC" "$SCHEMAS"
else
	fail "the OpenAPI 3.1 meta-schema in $SCHEMAS (make deps-test)"
fi
"$OTAD_BIN" --routes >"$T/routes.tsv"
checked "every route documented, every operation a route" \
    "$PY" "$CHECK" routes "$DOC" "$T/routes.tsv"

# The checker can fail: a route missing, a role changed.
jq 'del(.paths["/api/v1/keys"])' "$DOC" >"$T/doc-nokeys.json"
check "a route missing from the document is found" \
    sh -c '! "$0" "$1" routes "$2" "$3"' "$PY" "$CHECK" \
    "$T/doc-nokeys.json" "$T/routes.tsv"
jq '.paths["/api/v1/images"].get["x-otad-role"] = "admin"' "$DOC" \
    >"$T/doc-role.json"
check "a wrong x-otad-role is found" \
    sh -c '! "$0" "$1" routes "$2" "$3"' "$PY" "$CHECK" \
    "$T/doc-role.json" "$T/routes.tsv"

# ---- served as built ------------------------------------------------------

otad_setup
otad_start || exit 1
# Run alone (not by tests/run.sh), the answers of this walk are checked.
[ -n "$RECORD" ] || RECORD="$T/records"
api GET /api/v1/openapi.json ""
expect_eq "GET /api/v1/openapi.json without a token" 200 "$STATUS"
expect_eq "served as application/json" application/json \
    "$(header Content-Type)"
check "served byte for byte as docs/openapi.json" cmp "$T/body" "$DOC"

# ---- a walk through the API, recorded -------------------------------------

fleet_setup oa 3
api GET "/api/v1/devices?limit=2" "$VIEW"
expect_eq "devices listed" 200 "$STATUS"
api GET "/api/v1/devices?limit=0" "$VIEW"
expect_eq "a limit out of bounds: 400" 400 "$STATUS"
api GET /api/v1/devices/oa-0 "$VIEW"
expect_eq "a device" 200 "$STATUS"
api GET /api/v1/devices/nobody "$VIEW"
expect_eq "an unknown device: 404" 404 "$STATUS"
api GET /api/v1/images "$VIEW"
expect_eq "images listed" 200 "$STATUS"
api GET "/api/v1/images/$IMG" "$VIEW"
expect_eq "an image" 200 "$STATUS"
api GET /api/v1/groups "$VIEW"
expect_eq "groups listed" 200 "$STATUS"
api GET /api/v1/groups/fleet "$VIEW"
expect_eq "a group" 200 "$STATUS"
post_json /api/v1/groups "$ADMIN" '{"name":'
expect_eq "a body that is not JSON: 400" 400 "$STATUS"
rollout_create '[100]'
rollout_start
api GET "/api/v1/rollouts/$R" "$VIEW"
expect_eq "a rollout" 200 "$STATUS"
api GET /api/v1/rollouts "$VIEW"
expect_eq "rollouts listed" 200 "$STATUS"
post_json /api/v1/devices "$ADMIN" '[{"id":"oa-x","hardware":"revA",
    "version":"1.0.0","groups":["fleet"]}]'
expect_eq "one more device" 201 "$STATUS"
D0=$(jqb '.devices[0].token')
api GET "/api/v1/devices/oa-x/manifest" "$D0"
expect_eq "the device's poll" 200 "$STATUS"
events oa-x "$D0" "{\"event_id\":\"e1\",\"rollout\":$R,\"version\":\"1.1.0\",
    \"state\":\"started\",\"ts\":\"$(date -u +%Y-%m-%dT%H:%M:%SZ)\"}"
expect_eq "an update event" 200 "$STATUS"
api GET "/api/v1/rollouts/$R/health" "$VIEW"
expect_eq "the rollout's health" 200 "$STATUS"
api GET "/api/v1/rollouts/$R/audit" "$VIEW"
expect_eq "the rollout's audit" 200 "$STATUS"
api GET /api/v1/devices/oa-x/events "$VIEW"
expect_eq "the device's events" 200 "$STATUS"
api GET /api/v1/devices/oa-x/updates "$VIEW"
expect_eq "the device's updates" 200 "$STATUS"
ddi GET "$DDI/oa-x" "TargetToken $D0"
expect_eq "a DDI poll" 200 "$STATUS"
api GET /api/v1/keys ""
expect_eq "the keys" 200 "$STATUS"

# ---- the answers ----------------------------------------------------------

checked "recorded answers match the document ($(grep -c '^REC ' "$RECORD") recorded)" \
    "$PY" "$CHECK" answers "$DOC" "$RECORD"
# The checker can fail: an undocumented status, a body off its schema
# (on this script's own answers, the last recorded: quicker).
tail -n 150 "$RECORD" >"$T/rec-own"
{
	cat "$T/rec-own"
	printf 'REC GET 418 application/json /healthz\n\n{"error":"x","detail":"y"}\n'
} >"$T/rec-bad"
check "an undocumented status is found" \
    sh -c '! "$0" "$1" answers "$2" "$3"' "$PY" "$CHECK" "$DOC" "$T/rec-bad"
jq '.components.schemas.Error.required += ["trace"]' "$DOC" >"$T/doc-err.json"
check "an error body off its schema is found" \
    sh -c '! "$0" "$1" answers "$2" "$3"' "$PY" "$CHECK" \
    "$T/doc-err.json" "$T/rec-own"
jq '.paths["/api/v1/groups"].post.requestBody.content["application/json"]
    .schema.properties.name = {"type": "integer"}' "$DOC" >"$T/doc-req.json"
check "a request otad accepts but the document refuses is found" \
    sh -c '! "$0" "$1" answers "$2" "$3"' "$PY" "$CHECK" \
    "$T/doc-req.json" "$T/rec-own"

otad_stop
expect_eq "clean stop" 0 $?
check "sanitizers report nothing" sanitizer_clean
finish
