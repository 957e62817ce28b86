#!/bin/sh
# The authorization matrix, built from otad's own route table: every route
# that `otad --routes` lists is called over HTTPS with every kind of
# credential (none, garbage, revoked, each API role, a device's own token
# and another's, gateways in and out of scope, each scheme: Bearer,
# TargetToken, GatewayToken), and each answer is compared with the row of
# the expected table below.  A route without a row, a row without a route,
# a route whose credential class changed, or one cell that differs fails
# the test: a new route cannot ship without saying who may call it.
. "$(dirname "$0")/../lib.sh"

# ---- the expected table ---------------------------------------------------
#
# One row per route: method, pattern, the class `otad --routes` prints, and
# one letter per credential, grouped as the columns below:
#   A  allowed: anything but 401/403 (a 400 or 404 for the body or the ids
#      is fine; a 5xx or no answer is not)
#   U  401      F  403
#
# columns (in order):
#   no header, "Bearer garbage", a revoked admin token
#   viewer, release, admin
#   device d1's own token, device d2's token, d3's revoked device token
#   gateway in d1's scope, gateway out of it, revoked gateway (in scope)
#   TargetToken d1, TargetToken d2, GatewayToken in scope, GatewayToken out
#   TargetToken with a gateway's token, GatewayToken with d1's token,
#   TargetToken with the admin token
# (all "Bearer" unless named; every route's device is d1, its tenant the
# configured one, its image the one in the running rollout for d1's group)
matrix() {
	cat <<'EOF'
GET    /healthz                                               none     AAA AAA AAA AAA AAAA AAA
GET    /readyz                                                none     AAA AAA AAA AAA AAAA AAA
GET    /                                                      none     AAA AAA AAA AAA AAAA AAA
GET    /ui                                                    none     AAA AAA AAA AAA AAAA AAA
GET    /ui/                                                   none     AAA AAA AAA AAA AAAA AAA
GET    /ui/{}                                                 none     AAA AAA AAA AAA AAAA AAA
GET    /api/v1/whoami                                         viewer   UUU AAA FFU FFU FFFF UUU
GET    /api/v1/fleet/summary                                  viewer   UUU AAA FFU FFU FFFF UUU
GET    /api/v1/images                                         viewer   UUU AAA FFU FFU FFFF UUU
POST   /api/v1/images                                         release  UUU FAA FFU FFU FFFF UUU
GET    /api/v1/images/{}                                      viewer   UUU AAA FFU FFU FFFF UUU
DELETE /api/v1/images/{}                                      admin    UUU FFA FFU FFU FFFF UUU
GET    /api/v1/images/{}/blob                                 viewer   UUU AAA FFU FFU FFFF UUU
GET    /api/v1/bundles                                        viewer   UUU AAA FFU FFU FFFF UUU
POST   /api/v1/bundles                                        release  UUU FAA FFU FFU FFFF UUU
GET    /api/v1/bundles/{}                                     viewer   UUU AAA FFU FFU FFFF UUU
DELETE /api/v1/bundles/{}                                     admin    UUU FFA FFU FFU FFFF UUU
POST   /api/v1/devices                                        admin    UUU FFA FFU FFU FFFF UUU
GET    /api/v1/devices                                        viewer   UUU AAA FFU FFU FFFF UUU
GET    /api/v1/devices/{}                                     viewer   UUU AAA FFU FFU FFFF UUU
PATCH  /api/v1/devices/{}                                     admin    UUU FFA FFU FFU FFFF UUU
DELETE /api/v1/devices/{}                                     admin    UUU FFA FFU FFU FFFF UUU
POST   /api/v1/devices/{}/token                               admin    UUU FFA FFU FFU FFFF UUU
DELETE /api/v1/devices/{}/token                               admin    UUU FFA FFU FFU FFFF UUU
POST   /api/v1/groups                                         admin    UUU FFA FFU FFU FFFF UUU
GET    /api/v1/groups                                         viewer   UUU AAA FFU FFU FFFF UUU
GET    /api/v1/groups/{}                                      viewer   UUU AAA FFU FFU FFFF UUU
PATCH  /api/v1/groups/{}                                      admin    UUU FFA FFU FFU FFFF UUU
DELETE /api/v1/groups/{}                                      admin    UUU FFA FFU FFU FFFF UUU
POST   /api/v1/groups/{}/members                              admin    UUU FFA FFU FFU FFFF UUU
POST   /api/v1/gateways                                       admin    UUU FFA FFU FFU FFFF UUU
GET    /api/v1/gateways                                       admin    UUU FFA FFU FFU FFFF UUU
DELETE /api/v1/gateways/{}                                    admin    UUU FFA FFU FFU FFFF UUU
POST   /api/v1/rollouts                                       release  UUU FAA FFU FFU FFFF UUU
GET    /api/v1/rollouts                                       viewer   UUU AAA FFU FFU FFFF UUU
GET    /api/v1/rollouts/{}                                    viewer   UUU AAA FFU FFU FFFF UUU
PATCH  /api/v1/rollouts/{}                                    release  UUU FAA FFU FFU FFFF UUU
GET    /api/v1/rollouts/{}/events                             viewer   UUU AAA FFU FFU FFFF UUU
GET    /api/v1/rollouts/{}/health                             viewer   UUU AAA FFU FFU FFFF UUU
GET    /api/v1/rollouts/{}/audit                              viewer   UUU AAA FFU FFU FFFF UUU
GET    /api/v1/rollouts/{}/series                             viewer   UUU AAA FFU FFU FFFF UUU
POST   /api/v1/rollouts/{}/{}                                 release  UUU FAA FFU FFU FFFF UUU
GET    /api/v1/devices/{}/manifest                            device   UUU FFF AFU AFU AFAF UUU
GET    /api/v1/devices/{}/download/{}                         download UUU FFF AFU AFU AFAF UUU
GET    /api/v1/keys                                           none     AAA AAA AAA AAA AAAA AAA
GET    /api/v1/openapi.json                                   none     AAA AAA AAA AAA AAAA AAA
POST   /api/v1/devices/{}/events                              device   UUU FFF AFU AFU AFAF UUU
GET    /api/v1/devices/{}/events                              viewer   UUU AAA FFU FFU FFFF UUU
GET    /api/v1/devices/{}/updates                             viewer   UUU AAA FFU FFU FFFF UUU
GET    /metrics                                               metrics  UUU AAA FFU FFU FFFF UUU
GET    /{}/controller/v1/{}                                   ddi      UUU UUU AUU AUU AUAU UUU
GET    /{}/controller/v1/{}/deploymentBase/{}                 ddi      UUU UUU AUU AUU AUAU UUU
POST   /{}/controller/v1/{}/deploymentBase/{}/feedback        ddi      UUU UUU AUU AUU AUAU UUU
GET    /{}/controller/v1/{}/confirmationBase                  ddi      UUU UUU AUU AUU AUAU UUU
GET    /{}/controller/v1/{}/confirmationBase/{}               ddi      UUU UUU AUU AUU AUAU UUU
POST   /{}/controller/v1/{}/confirmationBase/{}               ddi      UUU UUU AUU AUU AUAU UUU
POST   /{}/controller/v1/{}/confirmationBase/{}/feedback      ddi      UUU UUU AUU AUU AUAU UUU
GET    /{}/controller/v1/{}/cancelAction/{}                   ddi      UUU UUU AUU AUU AUAU UUU
POST   /{}/controller/v1/{}/cancelAction/{}/feedback          ddi      UUU UUU AUU AUU AUAU UUU
PUT    /{}/controller/v1/{}/configData                        ddi      UUU UUU AUU AUU AUAU UUU
GET    /{}/controller/v1/{}/installedBase/{}                  ddi      UUU UUU AUU AUU AUAU UUU
GET    /{}/controller/v1/{}/softwaremodules/{}/artifacts/{}   ddi      UUU UUU AUU AUU AUAU UUU
GET    /api/v1/devices/{}/actions                             viewer   UUU AAA FFU FFU FFFF UUU
GET    /api/v1/devices/{}/actions/{}/feedback                 viewer   UUU AAA FFU FFU FFFF UUU
POST   /api/v1/devices/{}/attributes/refresh                  admin    UUU FFA FFU FFU FFFF UUU
EOF
}

START=$(date +%s)

# ---- the route table ------------------------------------------------------

"$OTAD_BIN" --routes >"$T/routes.tsv" 2>"$T/routes.err"
expect_eq "otad --routes: exit 0" 0 "$?"
NROUTES=$(wc -l <"$T/routes.tsv" | tr -d ' ')
check "otad --routes lists routes ($NROUTES)" test "$NROUTES" -gt 0
check "otad --routes: three tab-separated fields a line" \
    awk -F'\t' 'NF != 3 { exit 1 }' "$T/routes.tsv"

# Each route has a row (and its class is the row's); each row a route.
matrix | awk '{ print $1 " " $2 "\t" $3 }' | sort >"$T/rows"
awk -F'\t' '{ print $1 " " $2 "\t" $3 }' "$T/routes.tsv" | sort >"$T/real"
cut -f1 "$T/rows" | uniq -d >"$T/dups"
check "no route has two rows" test ! -s "$T/dups"
join -t "$(printf '\t')" -v 1 "$T/real" "$T/rows" | while IFS="$(printf '\t')" read -r r c; do
	fail "route '$r' ($c): no row in the authorization matrix"
done
join -t "$(printf '\t')" -v 2 "$T/real" "$T/rows" | while IFS="$(printf '\t')" read -r r c; do
	fail "matrix row '$r': no such route in otad --routes"
done
join -t "$(printf '\t')" "$T/real" "$T/rows" | while IFS="$(printf '\t')" read -r r c1 c2; do
	[ "$c1" = "$c2" ] ||
	    fail "route '$r' needs '$c1', its matrix row says '$c2'"
done

# ---- the fleet and the credentials ---------------------------------------

otad_setup
otad_start || exit 1
tokens
REVOKED=$(token admin gone)
"$OTACTL_BIN" token revoke --data-dir "$DATA" gone >/dev/null
expect_eq "an admin token revoked" 0 "$?"

groups_create ga gb spare
post_json /api/v1/devices "$ADMIN" '[
 {"id":"d1","hardware":"revA","version":"1.0.0","groups":["ga"]},
 {"id":"d2","hardware":"revA","version":"1.0.0","groups":["gb"]},
 {"id":"d3","hardware":"revA","version":"1.0.0","groups":["ga"]}]'
expect_eq "devices d1 (ga), d2 (gb), d3 (ga) provisioned" 201 "$STATUS"
cp "$T/body" "$T/devices.json"
D1=$(tok_of d1)
D2=$(tok_of d2)
D3=$(tok_of d3)
api DELETE /api/v1/devices/d3/token "$ADMIN"
expect_eq "d3's token revoked" 204 "$STATUS"

# gateway NAME GROUP: creates a gateway token scoped to GROUP, prints it.
gateway() {
	post_json /api/v1/gateways "$ADMIN" "{\"name\":\"$1\",\"groups\":[\"$2\"]}"
	[ "$STATUS" = 201 ] || { echo "gateway $1: $STATUS $(body)" >&2; return 1; }
	jqb .token
}
GW_IN=$(gateway app-a ga)
GW_OUT=$(gateway app-b gb)
GW_REV=$(gateway app-gone ga)
api DELETE /api/v1/gateways/app-gone "$ADMIN"
expect_eq "gateway app-gone revoked" 204 "$STATUS"

# An image in a running rollout to d1's group, so that d1 (and the
# gateway in scope) may download it: the download routes' own checks
# then allow what the matrix says.
make_image "$T/fw.bin" 1000
release "$T/fw.bin" fw 2.0.0 revA
upload_curl "$REL" "$T/fw.bin"
expect_eq "image uploaded" 201 "$STATUS"
IMG=$(jqb .id)
post_json /api/v1/rollouts "$REL" "{\"image\":$IMG,\"groups\":[\"ga\"],\"stages\":[100]}"
expect_eq "rollout to ga created" 201 "$STATUS"
RID=$(jqb .id)
api POST "/api/v1/rollouts/$RID/start" "$REL"
expect_eq "rollout started" 200 "$STATUS"

# The credentials in the matrix's column order: name, then the whole
# Authorization header value ("-" for none).
cat >"$T/creds" <<EOF
none -
garbage Bearer otad_garbage_garbage
revoked Bearer $REVOKED
viewer Bearer $VIEW
release Bearer $REL
admin Bearer $ADMIN
own-device Bearer $D1
other-device Bearer $D2
revoked-device Bearer $D3
gateway-in-scope Bearer $GW_IN
gateway-out-of-scope Bearer $GW_OUT
revoked-gateway Bearer $GW_REV
TargetToken-own TargetToken $D1
TargetToken-other TargetToken $D2
GatewayToken-in-scope GatewayToken $GW_IN
GatewayToken-out-of-scope GatewayToken $GW_OUT
TargetToken-gateway TargetToken $GW_IN
GatewayToken-device GatewayToken $D1
TargetToken-admin TargetToken $ADMIN
EOF
NCRED=$(wc -l <"$T/creds" | tr -d ' ')
expect_eq "every matrix row has a cell (A, U or F) per credential" "" \
    "$(matrix | awk -v n="$NCRED" '{ c = ""; for (i = 4; i <= NF; i++) c = c $i
	if (length(c) != n || c !~ /^[AUF]+$/) print $1 " " $2 }')"

# Every route's parameters: d1, the configured tenant, the rollout's
# image and rollout, a spare group; "x" for anything else (actions,
# gateway names, artifact names): unknown, answered 400 or 404 when
# allowed.
awk -F'\t' '{ print $1 "\t" $2 }' "$T/routes.tsv" | while IFS="$(printf '\t')" read -r m p; do
	u=$(printf '%s\n' "$p" | sed \
	    -e 's|^/{}/controller/v1/{}|/DEFAULT/controller/v1/d1|' \
	    -e 's|^/api/v1/devices/{}|/api/v1/devices/d1|' \
	    -e "s|^/api/v1/images/{}|/api/v1/images/$IMG|" \
	    -e "s|/download/{}|/download/$IMG|" \
	    -e "s|/softwaremodules/{}|/softwaremodules/$IMG|" \
	    -e "s|^/api/v1/rollouts/{}|/api/v1/rollouts/$RID|" \
	    -e 's|^/api/v1/groups/{}|/api/v1/groups/spare|' \
	    -e 's|{}|x|g')
	printf '%s\t%s\t%s\n' "$m" "$p" "$u"
done >"$T/calls"

# ---- the calls ------------------------------------------------------------

# One curl per credential, every route on one kept-alive connection; the
# admin's column runs last, as its calls delete d1, the spare group and
# the image.  $T/got.N: one status a route, in $T/calls' order.
order=$(awk '$1 != "admin" { print NR } $1 == "admin" { a = NR } END { print a }' "$T/creds")
for n in $order; do
	hdr=$(sed -n "${n}p" "$T/creds" | cut -d' ' -f2-)
	awk -F'\t' -v base="$BASE" -v ca="$DATA/tls/cert.pem" -v hdr="$hdr" '
	{
		if (NR > 1)
			print "next"
		printf "url = \"%s%s\"\n", base, $3
		printf "request = \"%s\"\n", $1
		printf "cacert = \"%s\"\n", ca
		if (hdr != "-")
			printf "header = \"Authorization: %s\"\n", hdr
		print "output = \"/dev/null\""
		print "max-time = 20"
		print "write-out = \"%{http_code}\\n\""
	}' "$T/calls" >"$T/curl.$n"
	curl -s -K "$T/curl.$n" >"$T/got.$n"
done

# ---- the comparison -------------------------------------------------------

# Per route: a pass when every cell is as expected, else one failure per
# differing cell naming the credential, the expected and the real status.
files=""
i=1
while [ $i -le "$NCRED" ]; do
	files="$files $T/got.$i"
	i=$((i + 1))
done
# shellcheck disable=SC2086
paste $files >"$T/got"
matrix >"$T/matrix"
awk -v credf="$T/creds" -v matf="$T/matrix" -v gotf="$T/got" '
BEGIN {
	FS = " "
	while ((getline l < credf) > 0) {
		split(l, f, " ")
		cred[++nc] = f[1]
	}
	while ((getline l < matf) > 0) {
		split(l, f, " ")
		cells = ""
		for (i = 4; i in f; i++)
			cells = cells f[i]
		want[f[1] " " f[2]] = cells
	}
	FS = "\t"
}
{
	# One line of gotf per call, rows or not: read it first.
	if ((getline g < gotf) <= 0)
		g = ""
	key = $1 " " $2
	if (!(key in want))
		next # reported above
	n = split(g, st, "\t")
	bad = 0
	for (i = 1; i <= nc; i++) {
		e = substr(want[key], i, 1)
		s = i <= n ? st[i] : "none"
		if (s == 401)
			a = "U"
		else if (s == 403)
			a = "F"
		else if (s ~ /^[1-4][0-9][0-9]$/)
			a = "A"
		else
			a = "!"
		if (a != e) {
			print "F\t" key " as " cred[i] ": expected " \
			    (e == "A" ? "allowed" : e == "U" ? "401" : "403") \
			    ", got " s
			bad = 1
		}
	}
	if (!bad)
		print "P\t" key ": all " nc " credentials as the matrix says"
}' "$T/calls" >"$T/verdicts"
expect_eq "a status for every route and credential" "$NROUTES" \
    "$(awk -F'\t' -v n="$NCRED" 'NF == n' "$T/got" | wc -l | tr -d ' ')"
while IFS="$(printf '\t')" read -r v d; do
	if [ "$v" = P ]; then pass "$d"; else fail "$d"; fi
done <"$T/verdicts"

# Said, not checked: a shared machine's load must not fail the test.
echo "matrix: $NROUTES routes x $NCRED credentials in $(($(date +%s) - START)) s"

otad_stop
expect_eq "SIGTERM: clean exit 0" 0 "$?"
check "sanitizers report nothing" sanitizer_clean
finish
