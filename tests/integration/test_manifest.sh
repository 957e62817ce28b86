#!/bin/sh
# Signed manifests and downloads through the real HTTPS interface, as a
# device, a companion app and a CDN would use them: offers decided by
# group, stage (recomputed here from the documented bucket hash),
# hardware, version and min_version; the server's signature checked with
# libsodium (otactl verify) and openssl against GET /api/v1/keys; the
# release signature of the descriptor; ETag/304; URL tokens recomputed
# from the documented algorithm, forged and expired; resumable downloads;
# gateway scope; one device's token refused for another.
. "$(dirname "$0")/../lib.sh"

otad_setup
# The shortest manifest lifetime: windows of 600/24 = 25 s.
export OTAD_MANIFEST_TTL_SEC=600
export OTAD_DOWNLOAD_URL_TTL_SEC=60
export OTAD_POLL_INTERVAL_SEC=30
otad_start || exit 1
ADMIN=$(token admin ops)
REL=$(token release ci)
VIEW=$(token viewer dash)

# ---- helpers ----------------------------------------------------------

# post_json METHOD PATH TOKEN JSON
post_json() {
	api "$1" "$2" "$3" -H 'Content-Type: application/json' --data-binary "$4"
}

# poll DEVICE TOKEN [QUERY] [curl args...]: GET the device's manifest.
poll() {
	d=$1
	tk=$2
	q=${3:-}
	shift 2
	[ $# -gt 0 ] && shift
	rm -f "$T/body" # curl leaves the old file when a reply has no body
	api GET "/api/v1/devices/$d/manifest${q:+?$q}" "$tk" "$@"
}

# body_bytes: size of the last reply's body (0 when there was none).
body_bytes() {
	if [ -f "$T/body" ]; then wc -c <"$T/body" | tr -d ' '; else echo 0; fi
}

# bucket SALT_HEX DEVICE: the device's bucket, per docs/rollouts.md.
bucket() {
	python3 -c '
import hashlib, sys
h = hashlib.blake2b(sys.argv[2].encode(), key=bytes.fromhex(sys.argv[1]),
                    digest_size=8)
print(int.from_bytes(h.digest(), "little") % 10000)' "$1" "$2"
}

# poll_many FILE QUERY: polls every device listed in $T/ids (one id a
# line) over one keep-alive connection; writes "id status" lines to FILE.
poll_many() {
	jq -r '.devices[] | "\(.id) \(.token)"' "$T/devices.json" |
	    awk -v base="$BASE" -v q="$2" -v ca="$DATA/tls/cert.pem" '
		NR == FNR { tok[$1] = $2; next }
		{ if (n++) print "next"
		  printf "url = \"%s/api/v1/devices/%s/manifest?%s\"\n", base, $1, q
		  printf "cacert = \"%s\"\n", ca
		  printf "header = \"Authorization: Bearer %s\"\n", tok[$1]
		  printf "output = \"/dev/null\"\n"
		  printf "write-out = \"%s %%{http_code}\\n\"\n", $1 }' \
	    - "$T/ids" >"$T/curl.cfg"
	curl -s -K "$T/curl.cfg" >"$1"
}

# ---- images, groups, devices, rollouts ------------------------------------

make_image "$T/a.bin" 3000000
release "$T/a.bin" sensor-fw 1.2.0 revA,revB --min-version 1.0.0 \
    --filename sensor-1.2.0.bin
upload_curl "$REL" "$T/a.bin"
expect_eq "image A (1.2.0, revA+revB, min 1.0.0) uploaded" 201 "$STATUS"
IMG_A=$(jqb .id)
SHA_A=$(sha256sum "$T/a.bin" | cut -d' ' -f1)
make_image "$T/b.bin" 20000
release "$T/b.bin" sensor-fw 1.3.0 revA --min-version 1.0.0
upload_curl "$REL" "$T/b.bin"
expect_eq "image B (1.3.0, revA) uploaded" 201 "$STATUS"
IMG_B=$(jqb .id)

for g in fleet pilot other; do
	post_json POST /api/v1/groups "$ADMIN" "{\"name\":\"$g\"}"
	expect_eq "group $g created" 201 "$STATUS"
done

NFLEET=300
python3 -c '
import json, sys
n = int(sys.argv[1])
devs = [{"id": "fleet-%04d" % i, "hardware": "revA", "version": "1.1.0",
         "groups": ["fleet"]} for i in range(n)]
devs += [{"id": "p1", "hardware": "revA", "version": "1.1.0",
          "groups": ["pilot"]},
         {"id": "p2", "hardware": "revB", "version": "1.1.0",
          "groups": ["pilot"]},
         {"id": "p3", "hardware": "revA", "groups": ["pilot"]},
         {"id": "o1", "hardware": "revA", "version": "1.1.0",
          "groups": ["other"]}]
print(json.dumps(devs))' "$NFLEET" >"$T/devices.req"
api POST /api/v1/devices "$ADMIN" -H 'Content-Type: application/json' \
    --data-binary "@$T/devices.req"
expect_eq "$NFLEET + 4 devices provisioned" 201 "$STATUS"
cp "$T/body" "$T/devices.json"
P1=$(tok_of p1)
P2=$(tok_of p2)
P3=$(tok_of p3)
O1=$(tok_of o1)
F0=$(tok_of fleet-0000)

# Nothing runs yet: no offer.
poll p1 "$P1" "hardware=revA&version=1.1.0"
expect_eq "no running rollout: 204" 204 "$STATUS"
expect_eq "204 has no body" 0 "$(body_bytes)"

# start_rollout IMAGE GROUP STAGES: creates and starts; prints id and salt.
start_rollout() {
	post_json POST /api/v1/rollouts "$REL" \
	    "{\"image\":$1,\"groups\":[\"$2\"],\"stages\":$3}"
	[ "$STATUS" = 201 ] || { echo "rollout create: $STATUS $(body)" >&2; return 1; }
	rid=$(jqb .id)
	rsalt=$(jqb .salt)
	api POST "/api/v1/rollouts/$rid/start" "$REL"
	[ "$STATUS" = 200 ] || { echo "rollout start: $STATUS $(body)" >&2; return 1; }
	echo "$rid $rsalt"
}

set -- $(start_rollout "$IMG_A" pilot '[100]')
R_A=$1
check "rollout of A to pilot at 100% running" test -n "$R_A"

# ---- the manifest -------------------------------------------------------

poll p1 "$P1" "hardware=revA&version=1.1.0"
expect_eq "offer: 200" 200 "$STATUS"
cp "$T/body" "$T/m1.json"
cp "$T/headers" "$T/m1.headers"
ETAG1=$(header ETag)
SIG1=$(header X-Otad-Signature)
KEYID1=$(header X-Otad-Key-Id)
expect_eq "manifest: device" p1 "$(jqb .device)"
expect_eq "manifest: rollout" "$R_A" "$(jqb .rollout)"
expect_eq "manifest: image" "$IMG_A sensor-fw 1.2.0" \
    "$(jqb '"\(.image.id) \(.image.name) \(.image.version)"')"
expect_eq "manifest: size" 3000000 "$(jqb .size)"
expect_eq "manifest: sha256" "$SHA_A" "$(jqb .sha256)"
expect_eq "manifest: poll interval from the config" 30 "$(jqb .poll_interval_sec)"
expect_eq "manifest: keys in the documented order" \
    "device rollout image descriptor signatures size sha256 url poll_interval_sec issued expires action forced_at maintenance_window window_opens_at window_closes_at" \
    "$(jq -r 'keys_unsorted | join(" ")' "$T/m1.json")"
check "manifest: compact JSON, one line" test "$(wc -l <"$T/m1.json")" -eq 0
expect_eq "manifest: Cache-Control" no-store "$(header Cache-Control)"
expect_eq "manifest: Content-Type" application/json "$(header Content-Type)"
ISSUED=$(jqb .issued)
EXPIRES=$(jqb .expires)
NOW=$(date +%s)
expect_eq "expires = issued + manifest_ttl_sec" 600 $((EXPIRES - ISSUED))
expect_eq "issued is on a 25 s window" 0 $((ISSUED % 25))
check "issued is now, rounded down to the window" \
    test "$ISSUED" -le "$NOW" -a "$NOW" -lt $((ISSUED + 25 + 2))
URL=$(jqb .url)
case "$URL" in
"$BASE/api/v1/devices/p1/download/$IMG_A?expires="*"&token="*) pass "url: base from the Host header, path, query" ;;
*) fail "url: unexpected '$URL'" ;;
esac
URL_EXP=$(printf '%s' "$URL" | sed 's/.*expires=\([0-9]*\).*/\1/')
URL_TOK=$(printf '%s' "$URL" | sed 's/.*token=//')
expect_eq "url expires = issued + window + download_url_ttl_sec" \
    $((ISSUED + 25 + 60)) "$URL_EXP"

# The server's signature over the exact body bytes, checked with libsodium
# (otactl verify) and with openssl, against the key GET /api/v1/keys gives.
api GET /api/v1/keys ""
expect_eq "keys: 200 without a token" 200 "$STATUS"
cp "$T/body" "$T/keys.json"
expect_eq "keys: server algorithm" ed25519 "$(jqb .server.algorithm)"
expect_eq "keys: X-Otad-Key-Id names the server key" \
    "$(jqb .server.keyid)" "$KEYID1"
expect_eq "keys: the release key" release "$(jqb '.release[0].keyid')"
jq -j .server.pem "$T/body" >"$T/server.pem"
jqb .server.public_key | base64 -d >"$T/server.raw"
expect_eq "keys: raw public key is 32 bytes" 32 "$(wc -c <"$T/server.raw")"
printf '%s' "$SIG1" | base64 -d >"$T/m1.sig"
check "manifest signature verifies with libsodium (otactl verify, PEM)" \
    "$OTACTL_BIN" verify --pub "$T/server.pem" --sig "$T/m1.sig" "$T/m1.json"
check "manifest signature verifies with libsodium (raw public key)" \
    "$OTACTL_BIN" verify --pub "$T/server.raw" --sig "$T/m1.sig" "$T/m1.json"
check "manifest signature verifies with openssl" \
    openssl pkeyutl -verify -pubin -inkey "$T/server.pem" -rawin \
    -in "$T/m1.json" -sigfile "$T/m1.sig"
sed 's/"p1"/"p2"/' "$T/m1.json" >"$T/m1.tampered"
check "a tampered manifest fails verification" \
    sh -c "! '$OTACTL_BIN' verify --pub '$T/server.pem' --sig '$T/m1.sig' '$T/m1.tampered'"
check "the server key in /keys is the one in the data dir, as openssl reads it" \
    sh -c "openssl pkey -in '$DATA/server.key' -pubout | cmp -s - '$T/server.pem'"

# The descriptor inside verifies with the release key, and describes the
# image: a device trusts the release team, not the server.
jq -r .descriptor "$T/m1.json" | base64 -d >"$T/m1.desc"
jq -r '.signatures[0].sig' "$T/m1.json" | base64 -d >"$T/m1.desc.sig"
check "descriptor is the exact signed bytes" cmp -s "$T/m1.desc" "$T/a.bin.json"
jq -j --arg k "$(jq -r '.signatures[0].keyid' "$T/m1.json")" \
    '.release[] | select(.keyid == $k) | .pem' "$T/keys.json" >"$T/release.pem"
check "descriptor verifies with the release key from /keys" \
    "$OTACTL_BIN" verify --pub "$T/release.pem" --sig "$T/m1.desc.sig" "$T/m1.desc"
expect_eq "descriptor sha256 = manifest sha256" "$SHA_A" "$(jq -r .sha256 "$T/m1.desc")"

# ETag and 304: the same window gives the same bytes.  The three polls
# must fall in one 25 s window, which the checks above (openssl, ASan
# builds) may have left: they run back to back on a fresh manifest, and
# again (at most 3 times) when the last one's "issued" shows that the
# window turned in between.
n=0
while :; do
	poll p1 "$P1" "hardware=revA&version=1.1.0"
	cp "$T/body" "$T/m2.json"
	ETAG2=$(header ETag)
	SIG2=$(header X-Otad-Signature)
	poll p1 "$P1" "hardware=revA&version=1.1.0" -H "If-None-Match: $ETAG2"
	S304=$STATUS
	E304=$(header ETag)
	B304=$(body_bytes)
	poll p1 "$P1" "hardware=revA&version=1.1.0" -H 'If-None-Match: "other"'
	[ "$(jqb .issued)" = "$(jq -r .issued "$T/m2.json")" ] && break
	n=$((n + 1))
	[ $n -lt 3 ] || break
done
expect_eq "If-None-Match with the ETag: 304" 304 "$S304"
expect_eq "304 carries the ETag" "$ETAG2" "$E304"
expect_eq "304 has no body" 0 "$B304"
expect_eq "If-None-Match with another tag: 200" 200 "$STATUS"
check "same window: byte-identical body" cmp -s "$T/body" "$T/m2.json"
expect_eq "same window: same signature" "$SIG2" "$(header X-Otad-Signature)"
if [ "$(jq -r .issued "$T/m2.json")" = "$ISSUED" ]; then
	expect_eq "same window as the first poll: same ETag" "$ETAG1" "$ETAG2"
fi

# Over plain HTTP the URL follows the request's scheme and Host.
curl -s -o "$T/plain.json" -H "Authorization: Bearer $P1" \
    "$PLAIN/api/v1/devices/p1/manifest?hardware=revA&version=1.1.0"
case "$(jq -r .url "$T/plain.json")" in
"$PLAIN/api/v1/devices/p1/download/"*) pass "plain HTTP: http:// URL" ;;
*) fail "plain HTTP: url '$(jq -r .url "$T/plain.json")'" ;;
esac

# ---- which devices are offered what ---------------------------------------

# Before any other version is reported (polls record what they report).
poll p1 "$P1" ""
expect_eq "stored hardware and version used when not given: 200" 200 "$STATUS"

poll p1 "$P1" "hardware=revC&version=1.1.0"
expect_eq "hardware not in the image: 204" 204 "$STATUS"
poll p1 "$P1" "hardware=revA&version=1.2.0"
expect_eq "equal version: 204" 204 "$STATUS"
poll p1 "$P1" "hardware=revA&version=1.2.0%2Bbuild.5"
expect_eq "equal precedence (+build): 204" 204 "$STATUS"
poll p1 "$P1" "hardware=revA&version=1.10.0"
expect_eq "newer installed version (1.10.0 > 1.2.0): 204" 204 "$STATUS"
poll p1 "$P1" "hardware=revA&version=0.9.9"
expect_eq "below min_version: 204" 204 "$STATUS"
poll p1 "$P1" "hardware=revA&version=1.0.0"
expect_eq "exactly min_version: 200" 200 "$STATUS"
poll p1 "$P1" "hardware=revA&version=1.2.0-rc.1"
expect_eq "pre-release of the same version: 200" 200 "$STATUS"
poll p2 "$P2" "hardware=revB&version=1.1.0"
expect_eq "second hardware revision: 200" 200 "$STATUS"
poll o1 "$O1" "hardware=revA&version=1.1.0"
expect_eq "device outside the target groups: 204" 204 "$STATUS"
poll p1 "$P1" "version=1.0"
expect_eq "invalid SemVer: 400" 400 "$STATUS"
check "invalid SemVer: detail names version" sh -c "jq -r .detail '$T/body' | grep -q '^version'"
poll p1 "$P1" "hardware=rev%20A&version=1.1.0"
expect_eq "invalid hardware: 400" 400 "$STATUS"
check "invalid hardware: detail names hardware" sh -c "jq -r .detail '$T/body' | grep -q '^hardware'"
poll p3 "$P3" "hardware=revA"
expect_eq "version neither given nor stored: 400" 400 "$STATUS"
poll p3 "$P3" "hardware=revA&version=1.1.0"
expect_eq "version given: 200" 200 "$STATUS"

# The poll records what the device reports (written within a second or
# two by the background writer).
poll p2 "$P2" "hardware=revB&version=1.0.5"
i=0
while [ $i -lt 50 ]; do
	api GET /api/v1/devices/p2 "$VIEW"
	[ "$(jqb .version)" = 1.0.5 ] && break
	sleep 0.2
	i=$((i + 1))
done
expect_eq "reported version recorded" 1.0.5 "$(jqb .version)"
check "last seen recorded" test "$(jqb .last_seen_at)" != null
api GET /api/v1/devices/p3 "$VIEW"
expect_eq "first reported version recorded" 1.1.0 "$(jqb .version)"

# Two rollouts for one device: the highest version wins.
set -- $(start_rollout "$IMG_B" pilot '[100]')
R_B2=$1
poll p1 "$P1" "hardware=revA&version=1.1.0"
expect_eq "two rollouts: 1.3.0 wins over 1.2.0" "200 1.3.0 $R_B2" \
    "$STATUS $(jqb .image.version) $(jqb .rollout)"
poll p2 "$P2" "hardware=revB&version=1.1.0"
expect_eq "revB still gets 1.2.0 (1.3.0 lists only revA)" "200 1.2.0" \
    "$STATUS $(jqb .image.version)"
poll p1 "$P1" "hardware=revA&version=1.1.0" -H "If-None-Match: $ETAG1"
expect_eq "the old ETag no longer matches a new offer: 200" 200 "$STATUS"
api POST "/api/v1/rollouts/$R_B2/pause" "$REL"
poll p1 "$P1" "hardware=revA&version=1.1.0"
expect_eq "paused rollout stops offering at once" "200 1.2.0" \
    "$STATUS $(jqb .image.version)"
api POST "/api/v1/rollouts/$R_B2/abort" "$REL"

# ---- stages ---------------------------------------------------------------

set -- $(start_rollout "$IMG_B" fleet '[10, 50, 100]')
R_F=$1
SALT_F=$2
check "fleet rollout running with a salt" test ${#SALT_F} -eq 64
jq -r '.devices[].id' "$T/devices.json" | grep '^fleet-' >"$T/ids"
python3 -c '
import hashlib, sys
salt = bytes.fromhex(sys.argv[1])
for line in open(sys.argv[2]):
    d = line.strip()
    h = hashlib.blake2b(d.encode(), key=salt, digest_size=8)
    print(d, int.from_bytes(h.digest(), "little") % 10000)' \
    "$SALT_F" "$T/ids" >"$T/buckets"
for stage in 1000 5000; do
	poll_many "$T/got.$stage" "hardware=revA&version=1.1.0"
	awk -v bp=$stage '{print $1, ($2 < bp ? 200 : 204)}' "$T/buckets" \
	    >"$T/want.$stage"
	n_in=$(grep -c ' 200$' "$T/want.$stage")
	check "stage $((stage / 100))%: every device's 200/204 matches its recomputed bucket ($n_in of $NFLEET in)" \
	    cmp -s "$T/want.$stage" "$T/got.$stage"
	check "stage $((stage / 100))%: a plausible share is in ($n_in)" \
	    test "$n_in" -gt $((NFLEET * stage / 10000 / 3)) -a \
	    "$n_in" -lt $((NFLEET * stage / 10000 * 2 + 10))
	api POST "/api/v1/rollouts/$R_F/advance" "$REL"
done
expect_eq "stage 10% devices are all still in at 50%" "" \
    "$(join "$T/got.1000" "$T/got.5000" | awk '$2 == 200 && $3 != 200')"
poll_many "$T/got.all" "hardware=revA&version=1.1.0"
expect_eq "stage 100%: all $NFLEET devices offered" "$NFLEET" \
    "$(grep -c ' 200$' "$T/got.all")"

# ---- who may poll and fetch for whom ----------------------------------

poll p2 "$P1" "hardware=revB&version=1.1.0"
expect_eq "a device's token for another device: 403" 403 "$STATUS"
poll p1 "" "hardware=revA&version=1.1.0"
expect_eq "no token: 401" 401 "$STATUS"
poll p1 "$VIEW" "hardware=revA&version=1.1.0"
expect_eq "an API token is not a device token: 403" 403 "$STATUS"
post_json POST /api/v1/gateways "$ADMIN" '{"name":"phone-app","groups":["pilot"]}'
expect_eq "gateway token for pilot created" 201 "$STATUS"
GW=$(jqb .token)
poll p2 "$GW" "hardware=revB&version=1.1.0"
expect_eq "gateway polls for a device of its group: 200" 200 "$STATUS"
poll fleet-0001 "$GW" "hardware=revA&version=1.1.0"
expect_eq "gateway for a device outside its groups: 403" 403 "$STATUS"
poll nobody "$GW" "hardware=revA&version=1.1.0"
expect_eq "gateway for an unknown device: 403 (not revealed)" 403 "$STATUS"

# ---- downloads ------------------------------------------------------------

dl() { # dl PATH TOKEN [curl args]: download; body in $T/body
	api GET "$@"
}
PATH_A="/api/v1/devices/p1/download/$IMG_A"
dl "$PATH_A" "$P1"
expect_eq "device token download: 200" 200 "$STATUS"
expect_eq "device token download: exact bytes" "$SHA_A" "$(sha256sum "$T/body" | cut -d' ' -f1)"
expect_eq "download ETag is the sha256" "\"$SHA_A\"" "$(header ETag)"
dl "$PATH_A" "$GW" -r 0-99
expect_eq "gateway token download with Range: 206" 206 "$STATUS"
expect_eq "gateway range: 100 bytes" 100 "$(wc -c <"$T/body")"
dl "/api/v1/devices/fleet-0001/download/$IMG_A" "$GW"
expect_eq "gateway download outside its groups: 403" 403 "$STATUS"
dl "/api/v1/devices/p2/download/$IMG_A" "$P1"
expect_eq "device token downloading as another device: 403" 403 "$STATUS"
dl "/api/v1/devices/fleet-0000/download/$IMG_A" "$F0"
expect_eq "device not targeted by a rollout of the image: 403" 403 "$STATUS"
dl "$PATH_A" ""
expect_eq "no token and no URL token: 401" 401 "$STATUS"

# The manifest's URL, without any Authorization: a CDN or a phone fetches it.
curl -s -o "$T/dl.bin" -D "$T/headers" -w '%{http_code}' \
    --cacert "$DATA/tls/cert.pem" "$URL" >"$T/code"
expect_eq "signed URL: 200 without credentials" 200 "$(cat "$T/code")"
expect_eq "signed URL: exact bytes" "$SHA_A" "$(sha256sum "$T/dl.bin" | cut -d' ' -f1)"
expect_eq "signed URL: Content-Disposition filename" \
    'attachment; filename="sensor-1.2.0.bin"' "$(header Content-Disposition)"
curl -s -I -o /dev/null -D "$T/headers" -w '%{http_code}' \
    --cacert "$DATA/tls/cert.pem" "$URL" >"$T/code"
expect_eq "signed URL HEAD: 200" 200 "$(cat "$T/code")"
expect_eq "signed URL HEAD: Content-Length" 3000000 "$(header Content-Length)"
url_status() { # url_status URL [curl args]: prints the status; body in $T/body
	u=$1
	shift
	curl -s -o "$T/body" -D "$T/headers" -w '%{http_code}' \
	    --cacert "$DATA/tls/cert.pem" "$@" "$u"
}
expect_eq "signed URL, Range past the end: 416" 416 "$(url_status "$URL" -r 3000000-)"
expect_eq "signed URL, If-Range with the ETag: 206" 206 \
    "$(url_status "$URL" -r 10-19 -H "If-Range: \"$SHA_A\"")"
dd if="$T/a.bin" bs=1 skip=10 count=10 2>/dev/null >"$T/want"
check "signed URL, If-Range: exact bytes" cmp -s "$T/want" "$T/body"
expect_eq "signed URL, stale If-Range: whole file" "200 3000000" \
    "$(url_status "$URL" -r 10-19 -H 'If-Range: "stale"') $(wc -c <"$T/body")"

# Interrupted downloads resumed with curl -C - reassemble the exact image:
# each piece is a transfer cut after 700 kB (head closes the pipe, curl
# dies mid-body), resumed from the size already on disk; curl -C - -o
# finishes it.
: >"$T/resumed.bin"
i=0
while [ $i -lt 3 ]; do
	have=$(wc -c <"$T/resumed.bin" | tr -d ' ')
	curl -s -C "$have" --cacert "$DATA/tls/cert.pem" "$URL" 2>/dev/null |
	    head -c 700000 >>"$T/resumed.bin"
	i=$((i + 1))
done
expect_eq "three interrupted transfers left 2,100,000 bytes" 2100000 \
    "$(wc -c <"$T/resumed.bin" | tr -d ' ')"
curl -s -C - -o "$T/resumed.bin" --cacert "$DATA/tls/cert.pem" "$URL"
expect_eq "resumed download (curl -C -): exact sha256" "$SHA_A" \
    "$(sha256sum "$T/resumed.bin" | cut -d' ' -f1)"

# URL tokens: recomputed from docs/manifests.md with the data dir's key.
urltoken() { # urltoken DEVICE IMAGE SHA EXPIRES
	python3 -c '
import base64, hashlib, struct, sys
der = base64.b64decode("".join(l for l in open(sys.argv[1]).read().split()
                               if not l.startswith("-----")
                               and "PRIVATE" not in l and "KEY" not in l))
seed = der[-32:]
key = hashlib.blake2b(b"", key=seed, digest_size=32,
                      salt=struct.pack("<Q", 1) + bytes(8),
                      person=b"otadurl1" + bytes(8)).digest()
dev, img, sha, exp = sys.argv[2], int(sys.argv[3]), sys.argv[4], int(sys.argv[5])
msg = (b"otad-download-v1\0" + dev.encode() + b"\0" + struct.pack("<Q", img)
       + sha.encode() + b"\0" + struct.pack("<Q", exp))
mac = hashlib.blake2b(msg, key=key, digest_size=32).digest()
print(base64.urlsafe_b64encode(mac).decode().rstrip("="))' \
	    "$DATA/server.key" "$@"
}
expect_eq "URL token = the documented keyed BLAKE2b" "$URL_TOK" \
    "$(urltoken p1 "$IMG_A" "$SHA_A" "$URL_EXP")"
BASEPATH="$BASE$PATH_A"
PAST=$(($(date +%s) - 10))
code=$(url_status "$BASEPATH?expires=$PAST&token=$(urltoken p1 "$IMG_A" "$SHA_A" "$PAST")")
expect_eq "genuine but expired URL token: 403" 403 "$code"
check "expired: the detail says so" sh -c "jq -r .detail '$T/body' | grep -q expired"
FORGED=$(printf '%s' "$URL_TOK" | sed 's/^./A/;t;s/^./B/')
[ "$FORGED" = "$URL_TOK" ] && FORGED=B$(printf '%s' "$URL_TOK" | cut -c2-)
code=$(url_status "$BASEPATH?expires=$URL_EXP&token=$FORGED")
expect_eq "forged URL token: 403" 403 "$code"
check "forged: the detail says invalid" sh -c "jq -r .detail '$T/body' | grep -q invalid"
code=$(url_status "$BASEPATH?expires=$((URL_EXP + 86400))&token=$URL_TOK")
expect_eq "URL token with a later expiry written in: 403 invalid" \
    "403 invalid" "$code $(jqb .detail | grep -o invalid)"
code=$(url_status "$BASE/api/v1/devices/p2/download/$IMG_A?expires=$URL_EXP&token=$URL_TOK")
expect_eq "p1's URL token on p2's path: 403" 403 "$code"
code=$(url_status "$BASE/api/v1/devices/p1/download/$IMG_B?expires=$URL_EXP&token=$URL_TOK")
expect_eq "URL token for image A on image B: 403" 403 "$code"
code=$(url_status "$BASEPATH?expires=$URL_EXP")
expect_eq "expires without token: 403" 403 "$code"

# ---- a new window: new times, new ETag ----------------------------------

while [ "$(date +%s)" -lt $((ISSUED + 25)) ]; do sleep 0.5; done
poll p2 "$P2" "hardware=revB&version=1.1.0"
E_NOW=$(header ETag)
I_NOW=$(jqb .issued)
check "a later window moves issued ($ISSUED -> $I_NOW)" test "$I_NOW" -gt "$ISSUED"
poll p2 "$P2" "hardware=revB&version=1.1.0" -H "If-None-Match: $E_NOW"
expect_eq "and its ETag still gives 304 within it" 304 "$STATUS"

otad_stop
expect_eq "clean exit" 0 $?
check "sanitizers report nothing" sanitizer_clean
finish
