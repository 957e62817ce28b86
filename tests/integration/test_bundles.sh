#!/bin/sh
# Release bundles through the real HTTPS API and otactl: a dual-MCU and a
# three-part chain bundle signed with otactl, uploaded with otactl and
# curl; the same bundle again (200), the same name and version with other
# bytes (409); refusals naming the part: a part whose image is not stored
# (a tampered part: its sha256 names no signed image), an image that does
# not list the part's hardware, a component twice, a via to nothing, a
# relay cycle; bad and missing signatures; an image a bundle names cannot
# be deleted; list, show, delete; the role matrix of the routes.
. "$(dirname "$0")/../lib.sh"

otad_setup
otad_start || exit 1
tokens
export OTACTL_SERVER="$BASE" OTACTL_CACERT="$DATA/tls/cert.pem"
unset OTACTL_TOKEN
ctl() {
	tok=$1
	shift
	OTACTL_TOKEN=$tok "$OTACTL_BIN" "$@" >"$T/out" 2>"$T/err"
	RC=$?
}
err_has() { grep -qF -- "$1" "$T/err"; }

# Three images: the NCP's (esp32c6-r1), the main MCU's (nrf52840) and the
# sensor hub's (stm32-a, relayed by the MCU).
for p in ncp:esp32c6-r1 mcu:nrf52840 hub:stm32-a; do
	c=${p%%:*}
	make_image "$T/$c.bin" 3000
	release "$T/$c.bin" "$c-fw" 1.2.0 "${p#*:}"
	upload_curl "$REL" "$T/$c.bin"
	expect_eq "image $c uploaded" 201 "$STATUS"
done
sha() { sha256sum "$1" | cut -d' ' -f1; }
NCP=$(sha "$T/ncp.bin")
MCU=$(sha "$T/mcu.bin")
HUB=$(sha "$T/hub.bin")

# bundle FILE JSON: writes the descriptor FILE and signs it (FILE.sig;
# otactl sign refuses an invalid bundle: then FILE.sig is empty).
bundle() {
	printf '%s' "$2" >"$1"
	"$OTACTL_BIN" sign --key "$T/keys/release.key" --out "$1.sig" "$1" \
	    >/dev/null 2>"$T/sign.err" || : >"$1.sig"
}
# post_bundle FILE [SIGFILE]: POSTs FILE with its signature through curl.
post_bundle() {
	post_json /api/v1/bundles "$REL" "$(jq -n --rawfile d "$1" \
	    --arg s "$(base64 -w0 "${2:-$1.sig}")" \
	    '{descriptor: $d, signatures: [{keyid: "release", sig: $s}]}')"
}

# A dual-MCU bundle, through otactl.
bundle "$T/dual.json" "{\"name\":\"thermo\",\"version\":\"2.0.0\",\"parts\":[
 {\"component\":\"mcu\",\"sha256\":\"$MCU\",\"order\":2},
 {\"component\":\"ncp\",\"sha256\":\"$NCP\",\"order\":1,\"hardware\":\"esp32c6-r1\"}]}"
ctl "$REL" bundles upload "$T/dual.json" --sig "release:$T/dual.json.sig"
expect_eq "otactl bundles upload: exit 0" 0 "$RC"
check "otactl bundles upload: says stored" grep -q '^stored bundle [0-9]*: thermo 2.0.0$' "$T/out"
check "otactl bundles upload: parts in install order" \
    sh -c "sed -n 2,3p '$T/out' | tr -s ' ' | cut -d' ' -f2,3 | tr '\n' ' ' | grep -qx '1. ncp: 2. mcu: '"
api GET /api/v1/bundles "$VIEW"
DUAL=$(jqb '.bundles[0].id')
expect_eq "list: the bundle" "thermo 2.0.0" "$(jqb '.bundles[0] | "\(.name) \(.version)"')"
api GET "/api/v1/bundles/$DUAL" "$VIEW"
expect_eq "get: parts in install order" "ncp:1:esp32c6-r1 mcu:2:null" \
    "$(jqb '[.parts[] | "\(.component):\(.order):\(.hardware)"] | join(" ")')"
expect_eq "get: parts name their images" "$NCP $MCU" "$(jqb '[.parts[].sha256] | join(" ")')"
expect_eq "get: the descriptor verbatim" "$(base64 -w0 "$T/dual.json")" "$(jqb .descriptor)"
expect_eq "get: the signatures" release "$(jqb '.signatures[0].keyid')"
check "get: the signature verifies over the descriptor" sh -c \
    "jq -r .descriptor '$T/body' | base64 -d >'$T/d.bin' && jq -r '.signatures[0].sig' '$T/body' | base64 -d >'$T/d.sig' && '$OTACTL_BIN' verify --pub '$T/keys/release.pub' --sig '$T/d.sig' '$T/d.bin' >/dev/null"
post_bundle "$T/dual.json"
expect_eq "same bundle again: 200, same id" "200 $DUAL" "$STATUS $(jqb .id)"

# A three-part chain: the hub's image is relayed by the MCU.
bundle "$T/chain.json" "{\"name\":\"thermo\",\"version\":\"2.1.0\",\"parts\":[
 {\"component\":\"ncp\",\"sha256\":\"$NCP\",\"order\":1},
 {\"component\":\"mcu\",\"sha256\":\"$MCU\",\"order\":2},
 {\"component\":\"hub\",\"sha256\":\"$HUB\",\"order\":3,\"via\":\"mcu\"}]}"
post_bundle "$T/chain.json"
expect_eq "chain: 201" 201 "$STATUS"
CHAIN=$(jqb .id)
expect_eq "chain: via shown" "null null mcu" "$(jqb '[.parts[].via | tostring] | join(" ")')"

# Refusals, each naming the part; nothing stored.
n_bundles() { api GET /api/v1/bundles "$VIEW"; jqb '.bundles | length'; }
BEFORE=$(n_bundles)
refused() {
	st=$STATUS det=$(jqb .detail)
	expect_eq "$1: status" "$2" "$st"
	expect_eq "$1: detail" "$3" "$det"
	expect_eq "$1: nothing stored" "$BEFORE" "$(n_bundles)"
}
# A tampered part: the bytes of the hub's image changed, so the sha256 the
# bundle signs names no stored (signed) image.
# One byte flipped (writing a fixed byte left the file unchanged in 1
# run of 256, when the random image had that byte there already).
python3 -c 'import sys; b = bytearray(open(sys.argv[1], "rb").read()); b[100] ^= 0xff; open(sys.argv[2], "wb").write(b)' \
    "$T/hub.bin" "$T/evil.bin"
check "the tampered copy differs" sh -c "! cmp -s '$T/hub.bin' '$T/evil.bin'"
EVIL=$(sha "$T/evil.bin")
bundle "$T/evil.json" "{\"name\":\"thermo\",\"version\":\"2.2.0\",\"parts\":[
 {\"component\":\"mcu\",\"sha256\":\"$MCU\",\"order\":1},
 {\"component\":\"hub\",\"sha256\":\"$EVIL\",\"order\":2,\"via\":\"mcu\"}]}"
post_bundle "$T/evil.json"
refused "tampered part" 422 "part 'hub': no stored image has sha256 $EVIL (upload the image first)"
bundle "$T/hw.json" "{\"name\":\"thermo\",\"version\":\"2.2.0\",\"parts\":[
 {\"component\":\"ncp\",\"sha256\":\"$NCP\",\"order\":1,\"hardware\":\"esp32s3\"}]}"
post_bundle "$T/hw.json"
refused "part for other hardware" 422 "part 'ncp': image ncp-fw 1.2.0 does not list hardware 'esp32s3'"
bundle "$T/twice.json" "{\"name\":\"thermo\",\"version\":\"2.2.0\",\"parts\":[
 {\"component\":\"ncp\",\"sha256\":\"$NCP\",\"order\":1},
 {\"component\":\"ncp\",\"sha256\":\"$MCU\",\"order\":2}]}"
post_bundle "$T/twice.json"
refused "component twice" 400 "parts[1].component: 'ncp' named twice (parts[0])"
bundle "$T/via.json" "{\"name\":\"thermo\",\"version\":\"2.2.0\",\"parts\":[
 {\"component\":\"hub\",\"sha256\":\"$HUB\",\"order\":1,\"via\":\"bridge\"}]}"
post_bundle "$T/via.json"
refused "via to nothing" 400 "parts[0].via: no part for component 'bridge'"
bundle "$T/cycle.json" "{\"name\":\"thermo\",\"version\":\"2.2.0\",\"parts\":[
 {\"component\":\"mcu\",\"sha256\":\"$MCU\",\"order\":1,\"via\":\"hub\"},
 {\"component\":\"hub\",\"sha256\":\"$HUB\",\"order\":2,\"via\":\"mcu\"}]}"
check "otactl sign: refuses an invalid bundle, naming the part" \
    grep -qF "parts[0].via: 'hub' relays back to 'mcu' (a cycle)" "$T/sign.err"
post_bundle "$T/cycle.json"
refused "relay cycle" 400 "parts[0].via: 'hub' relays back to 'mcu' (a cycle)"
# The chain's descriptor under the dual bundle's signature.
post_bundle "$T/chain.json" "$T/dual.json.sig"
expect_eq "wrong signature: 422" 422 "$STATUS"
post_json /api/v1/bundles "$REL" "{\"descriptor\":$(jq -Rs . "$T/chain.json"),\"signatures\":[]}"
expect_eq "no signature: 400" 400 "$STATUS"
post_json /api/v1/bundles "$REL" '{"signatures":[]}'
refused "no descriptor" 400 "descriptor: required, the bundle descriptor's exact text as a string"
bundle "$T/other.json" "{\"name\":\"thermo\",\"version\":\"2.0.0\",\"parts\":[
 {\"component\":\"mcu\",\"sha256\":\"$MCU\",\"order\":1}]}"
post_bundle "$T/other.json"
refused "same version, other bytes" 409 "bundle thermo 2.0.0 exists with other descriptor bytes"
ctl "$REL" bundles upload "$T/twice.json" --sig "release:$T/dual.json.sig"
expect_eq "otactl: refused upload exit 1" 1 "$RC"
check "otactl: the part named" err_has "parts[1].component: 'ncp' named twice (parts[0])"
ctl "$REL" bundles upload "$T/evil.json" --sig "release:$T/evil.json.sig"
expect_eq "otactl: refused by otad exit 1" 1 "$RC"
check "otactl: otad's reason" err_has "part 'hub': no stored image has sha256 $EVIL"

# Rollouts of a bundle: "bundle" instead of "image", exactly one of them;
# the same groups, stages and states.
groups_create fleet
post_json /api/v1/devices "$ADMIN" '{"id":"th-1","hardware":"thermo-b","groups":["fleet"],
 "components":[{"name":"ncp","hardware":"esp32c6-r1","version":"1.0.0"},
               {"name":"mcu","hardware":"nrf52840","version":"1.2.0"}]}'
expect_eq "device with components: 201" 201 "$STATUS"
TH1=$(jqb '.devices[0].token')
post_json /api/v1/rollouts "$REL" "{\"bundle\":$DUAL,\"groups\":[\"fleet\"],\"stages\":[100]}"
expect_eq "bundle rollout: 201" 201 "$STATUS"
BR=$(jqb .id)
expect_eq "bundle rollout: shows the bundle, no image" "$DUAL thermo 2.0.0 null" \
    "$(jqb '"\(.bundle.id) \(.bundle.name) \(.bundle.version) \(.image)"')"
ctl "$REL" rollouts create --bundle "$DUAL" --group fleet --name via-otactl
expect_eq "otactl rollouts create --bundle: exit 0" 0 "$RC"
check "otactl rollouts create --bundle: the bundle shown" grep -q '^bundle.name: *thermo$' "$T/out"
BR2=$(sed -n 's/^id: *//p' "$T/out")
post_json "/api/v1/rollouts/$BR2/abort" "$REL" '{"reason":"only a draft"}'
expect_eq "otactl's draft: aborted" 200 "$STATUS"
ctl "$REL" rollouts create --bundle "$DUAL" --image 1 --group fleet
expect_eq "otactl: --bundle and --image: usage error" 2 "$RC"
post_json /api/v1/rollouts "$REL" "{\"bundle\":$DUAL,\"image\":1,\"groups\":[\"fleet\"]}"
expect_eq "bundle and image: 400" "400 image or bundle: exactly one is required, the id of an image or of a bundle" \
    "$STATUS $(jqb .detail)"
post_json /api/v1/rollouts "$REL" '{"groups":["fleet"]}'
expect_eq "neither: 400, as before bundles" "400 image: required, the id of an image" "$STATUS $(jqb .detail)"
post_json /api/v1/rollouts "$REL" '{"bundle":99999,"groups":["fleet"]}'
expect_eq "unknown bundle: 404" "404 bundle: no bundle with id 99999" "$STATUS $(jqb .detail)"
post_json /api/v1/rollouts "$REL" '{"bundle":"x","groups":["fleet"]}'
expect_eq "bundle not an id: 400" "400 bundle: the id of a bundle" "$STATUS $(jqb .detail)"
api POST "/api/v1/rollouts/$BR/start" "$REL"
expect_eq "bundle rollout: starts" "200 running" "$STATUS $(jqb .state)"
api GET "/api/v1/rollouts?state=running" "$VIEW"
expect_eq "bundle rollout: listed with its bundle" "$DUAL" "$(jqb '.rollouts[] | select(.id == '"$BR"') | .bundle.id')"
# The manifest of a bundle (rollout BR of DUAL to fleet at 100%; th-1
# with ncp 1.0.0 and mcu 1.2.0).  Every part in
# install order, the current one skipped; descriptors and signatures
# verbatim; signed by the server; 304 on its ETag; each part downloaded
# with the device token and through its signed URL; reported component
# versions recorded; a downgrade and a part for the wrong hardware
# refused; a device outside the stage; a three-part chain; a single-image
# rollout beside it unaffected.
poll_th() { # poll_th DEVICE TOKEN QUERY [curl args]
	d=$1 tk=$2 q=$3
	shift 3
	api GET "/api/v1/devices/$d/manifest?$q" "$tk" "$@"
}
poll_th th-1 "$TH1" "hardware=thermo-b&version=1.0.0"
expect_eq "bundle offer: 200" 200 "$STATUS"
cp "$T/body" "$T/bm.json"
BM_ETAG=$(header ETag)
BM_SIG=$(header X-Otad-Signature)
expect_eq "bundle manifest: keys in the documented order" \
    "device rollout bundle descriptor signatures parts poll_interval_sec issued expires action forced_at maintenance_window window_opens_at window_closes_at" \
    "$(jqb 'keys_unsorted | join(" ")')"
expect_eq "bundle manifest: rollout and bundle" "$BR $DUAL thermo 2.0.0" \
    "$(jqb '"\(.rollout) \(.bundle.id) \(.bundle.name) \(.bundle.version)"')"
expect_eq "bundle manifest: the bundle descriptor verbatim" \
    "$(base64 -w0 "$T/dual.json")" "$(jqb .descriptor)"
expect_eq "bundle manifest: the bundle's signature verbatim" \
    "$(base64 -w0 "$T/dual.json.sig")" "$(jqb '.signatures[0].sig')"
expect_eq "bundle manifest: parts in install order, ncp installed, mcu current" \
    "ncp:1:false:$NCP mcu:2:true:$MCU" \
    "$(jqb '[.parts[] | "\(.component):\(.order):\(.skip):\(.sha256)"] | join(" ")')"
expect_eq "bundle manifest: part keys" \
    "component order via skip image descriptor signatures size sha256 url" \
    "$(jqb '.parts[0] | keys_unsorted | join(" ")')"
expect_eq "bundle manifest: each part's image descriptor verbatim" \
    "$(base64 -w0 "$T/ncp.bin.json") $(base64 -w0 "$T/mcu.bin.json")" \
    "$(jqb '[.parts[].descriptor] | join(" ")')"
expect_eq "bundle manifest: each part's signature verbatim" \
    "$(base64 -w0 "$T/ncp.bin.json.sig")" "$(jqb '.parts[0].signatures[0].sig')"
api GET /api/v1/openapi.json ""
expect_eq "openapi: the bundle manifest has the BundleManifest schema's keys" \
    "$(jq -c '[keys[]] | sort' "$T/bm.json") $(jq -c '.parts[0] | [keys[]] | sort' "$T/bm.json")" \
    "$(jq -c '.components.schemas.BundleManifest.required | sort' "$T/body") $(jq -c '.components.schemas.BundleManifestPart.required | sort' "$T/body")"
api GET /api/v1/keys ""
jq -j .server.pem "$T/body" >"$T/server.pem"
printf '%s' "$BM_SIG" | base64 -d >"$T/bm.sig"
check "bundle manifest: signed by the server" \
    "$OTACTL_BIN" verify --pub "$T/server.pem" --sig "$T/bm.sig" "$T/bm.json"
poll_th th-1 "$TH1" "hardware=thermo-b&version=1.0.0" -H "If-None-Match: $BM_ETAG"
expect_eq "bundle manifest: 304 on its ETag" 304 "$STATUS"
# A bundle's rollout follows its label selector like an image's.
api POST "/api/v1/rollouts/$BR/pause" "$REL"
api PATCH "/api/v1/rollouts/$BR" "$REL" -H 'Content-Type: application/json' \
    --data-binary '{"selector":"region=nowhere"}'
expect_eq "bundle rollout: selector set while paused" 200 "$STATUS"
api POST "/api/v1/rollouts/$BR/resume" "$REL"
poll_th th-1 "$TH1" "hardware=thermo-b&version=1.0.0"
expect_eq "bundle offer: labels outside the selector: 204" 204 "$STATUS"
api POST "/api/v1/rollouts/$BR/pause" "$REL"
api PATCH "/api/v1/rollouts/$BR" "$REL" -H 'Content-Type: application/json' \
    --data-binary '{"selector":""}'
api POST "/api/v1/rollouts/$BR/resume" "$REL"
poll_th th-1 "$TH1" "hardware=thermo-b&version=1.0.0"
expect_eq "bundle offer: selector removed: 200 again" 200 "$STATUS"
# And its maintenance windows and action type (the injectable clock):
# Tuesday 2099-03-03 12:00Z is outside "mon 03:00 1h UTC".
bpatch() {
	api POST "/api/v1/rollouts/$BR/pause" "$REL"
	api PATCH "/api/v1/rollouts/$BR" "$REL" \
	    -H 'Content-Type: application/json' --data-binary "$1"
	expect_eq "bundle rollout: $1 while paused" 200 "$STATUS"
	api POST "/api/v1/rollouts/$BR/resume" "$REL"
}
bpatch '{"maintenance_windows":"mon 03:00 1h UTC","action_type":"soft"}'
clock_at 2099-03-03T12:00:00Z
poll_th th-1 "$TH1" "hardware=thermo-b&version=1.0.0"
expect_eq "bundle offer outside its window: not now, and when" \
    "200 soft unavailable 2099-03-09T03:00:00Z" \
    "$STATUS $(jqb '"\(.action) \(.maintenance_window) \(.window_opens_at)"')"
bpatch '{"outside_window":"silent"}'
poll_th th-1 "$TH1" "hardware=thermo-b&version=1.0.0"
expect_eq "bundle offer outside its window, silent: 204" 204 "$STATUS"
clock_at 2099-03-09T03:30:00Z
poll_th th-1 "$TH1" "hardware=thermo-b&version=1.0.0"
expect_eq "bundle offer inside its window: install, until 04:00Z" \
    "200 soft available 2099-03-09T04:00:00Z" \
    "$STATUS $(jqb '"\(.action) \(.maintenance_window) \(.window_closes_at)"')"
clock_set 0
bpatch '{"maintenance_windows":"","outside_window":"notify","action_type":"forced"}'
poll_th th-1 "$TH1" "hardware=thermo-b&version=1.0.0"
expect_eq "bundle offer: windows removed, forced: 200 as before" \
    "200 forced available" \
    "$STATUS $(jqb '"\(.action) \(.maintenance_window)"')"
# Retries apply to a bundle's rollout as to an image's: a failed device
# is left alone without them (the default), offered again with one.
wait_for "bundle offer: th-1's offer recorded" offered 10 \
    sql "SELECT status FROM device_updates WHERE rollout_id = $BR AND device_id = 'th-1'"
events th-1 "$TH1" "[{\"event_id\":\"bf1\",\"rollout\":$BR,\"component\":\"mcu\",\"version\":\"1.2.0\",\"state\":\"failed\",\"result\":3,\"ts\":\"$(date -u +%Y-%m-%dT%H:%M:%SZ)\"}]"
expect_eq "bundle: th-1 reports a failure" "200 1" "$STATUS $(jqb .accepted)"
poll_th th-1 "$TH1" "hardware=thermo-b&version=1.0.0"
expect_eq "bundle offer: failed, no retry: 204" 204 "$STATUS"
api POST "/api/v1/rollouts/$BR/pause" "$REL"
api PATCH "/api/v1/rollouts/$BR" "$REL" -H 'Content-Type: application/json' \
    --data-binary '{"max_retries":1,"retry_backoff":0}'
expect_eq "bundle rollout: one retry set while paused" 200 "$STATUS"
api POST "/api/v1/rollouts/$BR/resume" "$REL"
poll_th th-1 "$TH1" "hardware=thermo-b&version=1.0.0"
expect_eq "bundle offer: its retry: 200" 200 "$STATUS"
wait_for "bundle: the retry is a new attempt" "offered 1" 10 \
    sql "SELECT status || ' ' || retries FROM device_updates WHERE rollout_id = $BR AND device_id = 'th-1'"
# Consent applies to a bundle as a whole: its manifest asks, the answer
# names no part and carries the bundle's version.
bpatch '{"require_consent":true}'
poll_th th-1 "$TH1" "hardware=thermo-b&version=1.0.0"
expect_eq "bundle offer under consent: required, the last key" \
    "200 required consent" "$STATUS $(jqb '"\(.consent) \(keys_unsorted | last)"')"
events th-1 "$TH1" "{\"event_id\":\"bc1\",\"rollout\":$BR,\"component\":\"mcu\",\"version\":\"1.2.0\",\"state\":\"accepted\",\"ts\":\"$(date -u +%Y-%m-%dT%H:%M:%SZ)\"}"
expect_eq "bundle: an answer naming a part: 422" \
    "422 component: a bundle is accepted as a whole (leave component out, version 2.0.0)" \
    "$STATUS $(jqb .detail)"
events th-1 "$TH1" "{\"event_id\":\"bc2\",\"rollout\":$BR,\"version\":\"2.0.0\",\"state\":\"accepted\",\"ts\":\"$(date -u +%Y-%m-%dT%H:%M:%SZ)\"}"
expect_eq "bundle: accepted as a whole" "200 accepted 1" \
    "$STATUS $(sql "SELECT status || ' ' || retries FROM device_updates WHERE rollout_id = $BR AND device_id = 'th-1'")"
poll_th th-1 "$TH1" "hardware=thermo-b&version=1.0.0"
expect_eq "bundle offer: consent given" "200 given" "$STATUS $(jqb .consent)"
bpatch '{"require_consent":false}'

# Each part: with the device's token and through its signed URL.
for i in 0 1; do
	c=$(jq -r ".parts[$i].component" "$T/bm.json")
	img=$(jq -r ".parts[$i].image.id" "$T/bm.json")
	want=$(jq -r ".parts[$i].sha256" "$T/bm.json")
	api GET "/api/v1/devices/th-1/download/$img" "$TH1"
	expect_eq "part $c: device token download" "200 $want" \
	    "$STATUS $(sha256sum "$T/body" | cut -d' ' -f1)"
	curl -s -o "$T/dl.bin" -w '%{http_code}' --cacert "$DATA/tls/cert.pem" \
	    "$(jq -r ".parts[$i].url" "$T/bm.json")" >"$T/code"
	expect_eq "part $c: signed URL download" "200 $want" \
	    "$(cat "$T/code") $(sha256sum "$T/dl.bin" | cut -d' ' -f1)"
done
api GET "/api/v1/devices/th-1/download/$(jq -r '.parts[0].image.id' "$T/bm.json")" "$VIEW"
expect_eq "part download with a viewer token: refused" 403 "$STATUS"

# The poll reports its components: a bad report is 400 and records
# nothing; a good one is recorded, and with every part current the
# device is current (204).
poll_th th-1 "$TH1" "hardware=thermo-b&version=1.0.0&component=ncp"
expect_eq "component without a version: 400" \
    "400 component: expected NAME:VERSION" "$STATUS $(jqb .detail)"
poll_th th-1 "$TH1" "hardware=thermo-b&version=1.0.0&component=ncp:1.x"
expect_eq "component with a bad version: 400" \
    "400 component 'ncp': version is not SemVer 2.0.0 (e.g. 1.4.2)" "$STATUS $(jqb .detail)"
Q17=$(i=0; while [ $i -lt 17 ]; do printf '&component=c%d:1.0.0' $i; i=$((i + 1)); done)
poll_th th-1 "$TH1" "hardware=thermo-b&version=1.0.0$Q17"
expect_eq "17 components in one poll: 400" "400 component: at most 16 per poll" \
    "$STATUS $(jqb .detail)"
poll_th th-1 "$TH1" "hardware=thermo-b&version=1.0.0&component=ncp:1.2.0&component=zz:9.9.9"
expect_eq "every part current: 204" 204 "$STATUS"
api GET /api/v1/devices/th-1 "$VIEW"
expect_eq "reported component version recorded" "mcu=1.2.0 ncp=1.2.0" \
    "$(jqb '[.components[] | "\(.name)=\(.version)"] | join(" ")')"
poll_th th-1 "$TH1" "hardware=thermo-b&version=1.0.0&component=ncp:1.1.0"
expect_eq "a part older again: offered again" "200 false true" \
    "$STATUS $(jqb '[.parts[].skip | tostring] | join(" ")')"

# Never a downgrade of any part, never a part for the wrong hardware, and
# a device without the components the bundle names gets nothing.
post_json /api/v1/devices "$ADMIN" '[
 {"id":"th-2","hardware":"thermo-b","groups":["fleet"],"components":[
  {"name":"ncp","hardware":"esp32c6-r1","version":"1.0.0"},
  {"name":"mcu","hardware":"nrf52840","version":"1.3.0"}]},
 {"id":"th-3","hardware":"thermo-b","groups":["fleet"],"components":[
  {"name":"ncp","hardware":"esp32s3","version":"1.0.0"},
  {"name":"mcu","hardware":"nrf52840","version":"1.0.0"}]},
 {"id":"th-4","hardware":"thermo-b","groups":["fleet"]}]'
expect_eq "devices th-2..4: 201" 201 "$STATUS"
TH2=$(jqb '.devices[0].token')
TH3=$(jqb '.devices[1].token')
TH4=$(jqb '.devices[2].token')
poll_th th-2 "$TH2" "hardware=thermo-b&version=1.0.0"
expect_eq "a component newer than its part: no downgrade (204)" 204 "$STATUS"
poll_th th-3 "$TH3" "hardware=thermo-b&version=1.0.0"
expect_eq "a component of other hardware: nothing (204)" 204 "$STATUS"
poll_th th-4 "$TH4" "hardware=thermo-b&version=1.0.0"
expect_eq "a device without components: nothing (204)" 204 "$STATUS"
poll_th th-1 "$TH1" "hardware=other&version=1.0.0"
expect_eq "a device reporting other hardware: nothing (204)" 204 "$STATUS"
# The components a poll decides on are remembered between polls, and
# forgotten when they change: th-1's ncp moved to another hardware (an
# admin's PATCH) gets nothing at its next poll, and the offer again once
# put back.
poll_th th-1 "$TH1" "hardware=thermo-b&version=1.0.0"
expect_eq "th-1 polls: the bundle" 200 "$STATUS"
api PATCH /api/v1/devices/th-1 "$ADMIN" -H 'Content-Type: application/json' \
    --data-binary '{"components":[{"name":"ncp","hardware":"esp32s3","version":"1.1.0"},{"name":"mcu","hardware":"nrf52840","version":"1.2.0"}]}'
expect_eq "th-1's ncp on other hardware (PATCH)" 200 "$STATUS"
poll_th th-1 "$TH1" "hardware=thermo-b&version=1.0.0"
expect_eq "the next poll sees it: nothing fits (204)" 204 "$STATUS"
api PATCH /api/v1/devices/th-1 "$ADMIN" -H 'Content-Type: application/json' \
    --data-binary '{"components":[{"name":"ncp","hardware":"esp32c6-r1","version":"1.1.0"},{"name":"mcu","hardware":"nrf52840","version":"1.2.0"}]}'
poll_th th-1 "$TH1" "hardware=thermo-b&version=1.0.0"
expect_eq "put back: the bundle again" 200 "$STATUS"

# Telemetry per component (rollout BR of DUAL: ncp order 1, mcu order 2,
# both parts version 1.2.0).  tm-1: the second part fails -> failed,
# naming it and its result; tm-2: both complete -> completed; tm-3: a
# part reverted -> reverted; tm-4 (mcu current, skipped): ncp completes
# -> completed, then a poll shows ncp older -> reverted (the coordinated
# rollback), while a poll with an older device version alone does not.
post_json /api/v1/devices "$ADMIN" "[$(for i in 1 2 3 4; do
	[ $i = 1 ] || printf ,
	m=1.0.0; [ $i = 4 ] && m=1.2.0
	printf '{"id":"tm-%s","hardware":"thermo-b","groups":["fleet"],"components":[{"name":"ncp","hardware":"esp32c6-r1","version":"1.0.0"},{"name":"mcu","hardware":"nrf52840","version":"%s"}]}' $i $m
done)]"
expect_eq "telemetry devices: 201" 201 "$STATUS"
for i in 1 2 3 4; do eval "TM$i=\$(jqb '.devices[$((i - 1))].token')"; done
NOW=$(date -u +%Y-%m-%dT%H:%M:%SZ)
# pev DEVICE TOKEN ID COMPONENT VERSION STATE [EXTRA]: posts one event.
pev() {
	c=${4:+\"component\":\"$4\",}
	post_json "/api/v1/devices/$1/events" "$2" \
	    "{\"event_id\":\"$3\",\"rollout\":$BR,$c\"version\":\"$5\",\"state\":\"$6\",\"ts\":\"$NOW\"${7:+,$7}}"
}
dstatus() { # dstatus DEVICE: "status component result" in BR
	sql "SELECT status || ' ' || COALESCE(component, '-') || ' ' ||
	    COALESCE(CAST(result AS TEXT), '-') FROM device_updates
	    WHERE rollout_id = $BR AND device_id = '$1'"
}
pev tm-1 "$TM1" e1 "" 1.2.0 completed
expect_eq "bundle event without a component: 422 naming the rule" \
    "422 component_mismatch component: required, rollout $BR rolls out bundle thermo 2.0.0 (name the part's component)" \
    "$STATUS $(jqb '"\(.error) \(.detail)"')"
pev tm-1 "$TM1" e2 hub 1.2.0 completed
expect_eq "a component not in the bundle: 422" \
    "422 component_mismatch component 'hub' is not a part of bundle thermo 2.0.0" \
    "$STATUS $(jqb '"\(.error) \(.detail)"')"
pev tm-1 "$TM1" e3 ncp 2.0.0 completed
expect_eq "the bundle's version instead of the part's: 422" \
    "422 version_mismatch version 2.0.0 is not the version of part 'ncp' (1.2.0)" \
    "$STATUS $(jqb '"\(.error) \(.detail)"')"
expect_eq "refused events: nothing stored" 0 \
    "$(sql "SELECT COUNT(*) FROM update_events WHERE device_id = 'tm-1'")"
pev tm-1 "$TM1" e4 ncp 1.2.0 completed
expect_eq "part ncp completed: accepted" 200 "$STATUS"
expect_eq "one part of two completed: in progress" "progress - -" "$(dstatus tm-1)"
pev tm-1 "$TM1" e5 mcu 1.2.0 failed '"result":5'
expect_eq "second part failed: accepted" 200 "$STATUS"
expect_eq "dual MCU, second part failed: failed naming mcu and its result" \
    "failed mcu 5" "$(dstatus tm-1)"
expect_eq "the event names its component" "mcu failed" \
    "$(sql "SELECT component || ' ' || state FROM update_events WHERE device_id = 'tm-1' AND event_id = 'e5'")"
post_json "/api/v1/devices/tm-2/events" "$TM2" "[
 {\"event_id\":\"a\",\"rollout\":$BR,\"component\":\"ncp\",\"version\":\"1.2.0\",\"state\":\"started\",\"ts\":\"$NOW\"},
 {\"event_id\":\"b\",\"rollout\":$BR,\"component\":\"ncp\",\"version\":\"1.2.0\",\"state\":\"completed\",\"ts\":\"$NOW\"},
 {\"event_id\":\"c\",\"rollout\":$BR,\"component\":\"mcu\",\"version\":\"1.2.0\",\"state\":\"completed\",\"ts\":\"$NOW\"}]"
expect_eq "tm-2: a batch, three accepted" "200 3" "$STATUS $(jqb .accepted)"
expect_eq "every part completed: completed" "completed - -" "$(dstatus tm-2)"
pev tm-3 "$TM3" r1 ncp 1.2.0 completed
pev tm-3 "$TM3" r2 mcu 1.2.0 completed
expect_eq "tm-3: completed first" "completed - -" "$(dstatus tm-3)"
pev tm-3 "$TM3" r3 mcu 1.2.0 reverted
expect_eq "one part reverted: reverted naming it" "reverted mcu -" "$(dstatus tm-3)"
poll_th tm-4 "$TM4" "hardware=thermo-b&version=1.0.0"
expect_eq "tm-4: offered, mcu skipped" "200 false true" \
    "$STATUS $(jqb '[.parts[].skip | tostring] | join(" ")')"
pev tm-4 "$TM4" n1 ncp 1.2.0 completed
expect_eq "the offered part completed, the skipped one current: completed" \
    "completed - -" "$(dstatus tm-4)"
# A poll with an older version of the device itself (not a part) is no
# revert of a bundle: judged a moment later, as a silent revert would be.
clock_set 3
poll_th tm-4 "$TM4" "hardware=thermo-b&version=0.9.0&component=ncp:1.2.0"
expect_eq "every part current: 204" 204 "$STATUS"
wait_for "the device's version recorded" 0.9.0 10 \
    sql "SELECT version FROM devices WHERE id = 'tm-4'"
expect_eq "an older device version: still completed" "completed - -" "$(dstatus tm-4)"
poll_th tm-4 "$TM4" "hardware=thermo-b&version=0.9.0&component=ncp:1.0.0&component=mcu:1.2.0"
expect_eq "ncp back on 1.0.0: offered again" 200 "$STATUS"
expect_eq "a poll shows a part older: reverted naming it" "reverted ncp -" "$(dstatus tm-4)"
api GET /api/v1/devices/tm-4/events "$VIEW"
expect_eq "the rollback is an event of otad's naming the part" "reverted otad ncp 1.2.0" \
    "$(jqb '.events[0] | "\(.state) \(.transport) \(.component) \(.version)"')"
clock_set 0
api GET "/api/v1/rollouts/$BR/health" "$VIEW"
expect_eq "health: failures by component" \
    '{"mcu":{"failed":1,"reverted":1},"ncp":{"failed":0,"reverted":1}}' \
    "$(jqb '.failures_by_component | tojson')"
expect_eq "health: totals (tm-2 completed, tm-1 failed, tm-3 and tm-4 reverted)" "1 1 2" "$(jqb '.total | "\(.completed) \(.failed) \(.reverted)"')"
ctl "$VIEW" rollouts health "$BR"
check "otactl rollouts health: failures by component" grep -qxF \
    "failures by component: mcu 1 failed 1 reverted, ncp 0 failed 1 reverted" "$T/out"
ctl "$VIEW" devices events tm-1
check "otactl devices events: the component column" \
    sh -c "grep -q '^RECEIVED .* TRANSPORT  *COMPONENT  *DETAIL' '$T/out' && grep -q ' 1.2.0  *failed  *-  *5  *rest  *mcu ' '$T/out'"

# A three-part chain to its own group, and a device outside the stage:
# the smallest stage (1 bp) leaves a device out but for 1 in 10,000.
groups_create chain few
post_json /api/v1/devices "$ADMIN" '[
 {"id":"ch-1","hardware":"thermo-c","groups":["chain"],"components":[
  {"name":"ncp","hardware":"esp32c6-r1","version":"1.0.0"},
  {"name":"mcu","hardware":"nrf52840"},{"name":"hub","hardware":"stm32-a","version":"1.0.0"}]},
 {"id":"ch-2","hardware":"thermo-c","groups":["few"],"components":[
  {"name":"ncp","hardware":"esp32c6-r1","version":"1.0.0"},
  {"name":"mcu","hardware":"nrf52840"},{"name":"hub","hardware":"stm32-a","version":"1.0.0"}]}]'
expect_eq "chain devices: 201" 201 "$STATUS"
CH1=$(jqb '.devices[0].token')
CH2=$(jqb '.devices[1].token')
post_json /api/v1/rollouts "$REL" "{\"bundle\":$CHAIN,\"groups\":[\"chain\"],\"stages\":[100]}"
CR=$(jqb .id)
api POST "/api/v1/rollouts/$CR/start" "$REL"
post_json /api/v1/rollouts "$REL" "{\"bundle\":$CHAIN,\"groups\":[\"few\"],\"stages\":[0.01,100]}"
FR=$(jqb .id)
api POST "/api/v1/rollouts/$FR/start" "$REL"
expect_eq "chain and few rollouts: running" running "$(jqb .state)"
poll_th ch-1 "$CH1" "hardware=thermo-c&version=1.0.0"
expect_eq "chain: the three parts in order, the relayed one with its via" \
    "200 $CR ncp:null:false mcu:null:false hub:mcu:false" \
    "$STATUS $(jqb .rollout) $(jqb '[.parts[] | "\(.component):\(.via):\(.skip)"] | join(" ")')"
CHV=$(jqb '[.parts[] | "\(.component)=\(.image.version)"] | join(" ")')
poll_th ch-2 "$CH2" "hardware=thermo-c&version=1.0.0"
expect_eq "a device outside the stage: 204" 204 "$STATUS"
# The relayed part (hub, via the MCU) fails after the other two went in:
# the chain fails, naming the hub and its result.
chv() { echo "$CHV" | tr ' ' '\n' | sed -n "s/^$1=//p"; }
post_json /api/v1/devices/ch-1/events "$CH1" "[
 {\"event_id\":\"c1\",\"rollout\":$CR,\"component\":\"ncp\",\"version\":\"$(chv ncp)\",\"state\":\"completed\",\"ts\":\"$NOW\"},
 {\"event_id\":\"c2\",\"rollout\":$CR,\"component\":\"mcu\",\"version\":\"$(chv mcu)\",\"state\":\"completed\",\"ts\":\"$NOW\"},
 {\"event_id\":\"c3\",\"rollout\":$CR,\"component\":\"hub\",\"version\":\"$(chv hub)\",\"state\":\"failed\",\"result\":8,\"ts\":\"$NOW\"}]"
expect_eq "chain: three part reports accepted" "200 3" "$STATUS $(jqb .accepted)"
expect_eq "chain: the relayed part failed: failed naming hub and its result" \
    "failed hub 8" \
    "$(sql "SELECT status || ' ' || COALESCE(component, '-') || ' ' ||
        COALESCE(CAST(result AS TEXT), '-') FROM device_updates
        WHERE rollout_id = $CR AND device_id = 'ch-1'")"
api GET "/api/v1/rollouts/$CR/health" "$VIEW"
expect_eq "chain health: the failure is the hub's" \
    '{"hub":{"failed":1,"reverted":0}} 1' \
    "$(jqb '.failures_by_component | tojson') $(jqb .total.failed)"
for r in $CR $FR; do
	post_json "/api/v1/rollouts/$r/abort" "$REL" '{"reason":"test"}'
done

# A single-image rollout beside the bundle's: its devices get the image,
# the bundle's devices still the bundle.
post_json /api/v1/devices "$ADMIN" '{"id":"plain-1","hardware":"nrf52840","groups":["fleet"]}'
PL1=$(jqb '.devices[0].token')
MCUIMG=$(jq -r '.parts[1].image.id' "$T/bm.json")
post_json /api/v1/rollouts "$REL" "{\"image\":$MCUIMG,\"groups\":[\"fleet\"],\"stages\":[100]}"
IR=$(jqb .id)
api POST "/api/v1/rollouts/$IR/start" "$REL"
poll_th plain-1 "$PL1" "hardware=nrf52840&version=1.0.0"
expect_eq "single image beside a bundle: the image" "200 $IR mcu-fw 1.2.0" \
    "$STATUS $(jqb '"\(.rollout) \(.image.name) \(.image.version)"')"
poll_th th-1 "$TH1" "hardware=thermo-b&version=1.0.0"
expect_eq "the bundle's device: still the bundle" "200 $BR thermo" \
    "$STATUS $(jqb '"\(.rollout) \(.bundle.name)"')"
post_json "/api/v1/rollouts/$IR/abort" "$REL" '{"reason":"test"}'
api DELETE "/api/v1/bundles/$DUAL" "$ADMIN"
expect_eq "bundle of a running rollout: delete 409" 409 "$STATUS"
post_json "/api/v1/rollouts/$BR/abort" "$REL" '{"reason":"test"}'
expect_eq "bundle rollout: aborts" "200 aborted" "$STATUS $(jqb .state)"

# An image a bundle names stays until the bundle goes.
api GET "/api/v1/bundles/$CHAIN" "$VIEW"
HUBIMG=$(jqb '.parts[2].image_id')
api DELETE "/api/v1/images/$HUBIMG" "$ADMIN"
expect_eq "image of a bundle: delete 409" 409 "$STATUS"

# Roles: a viewer reads, only release uploads, only admin deletes.
api GET "/api/v1/bundles/$CHAIN" "$VIEW"
expect_eq "viewer reads a bundle" 200 "$STATUS"
post_bundle "$T/chain.json"
api POST /api/v1/bundles "$VIEW" -H 'Content-Type: application/json' --data-binary "$(cat "$T/body")"
expect_eq "viewer cannot upload: 403" 403 "$STATUS"
api DELETE "/api/v1/bundles/$CHAIN" "$REL"
expect_eq "release cannot delete: 403" 403 "$STATUS"
api GET "/api/v1/bundles/99999" "$VIEW"
expect_eq "unknown bundle: 404" 404 "$STATUS"
api GET "/api/v1/bundles/abc" "$VIEW"
expect_eq "bad bundle id: 404" 404 "$STATUS"

ctl "$VIEW" bundles show "$CHAIN"
expect_eq "otactl bundles show: exit 0" 0 "$RC"
check "otactl bundles show: the relayed part" grep -q "3. hub: image $HUBIMG via mcu" "$T/out"
ctl "$VIEW" bundles list
expect_eq "otactl bundles list: both (exit, rows)" "0 2" "$RC $(grep -c thermo "$T/out")"
[ "$RC" = 0 ] || cat "$T/err" >&2
ctl "$ADMIN" bundles delete "$CHAIN"
expect_eq "otactl bundles delete: exit 0" 0 "$RC"
api GET "/api/v1/bundles/$CHAIN" "$VIEW"
expect_eq "deleted bundle: 404" 404 "$STATUS"
api DELETE "/api/v1/images/$HUBIMG" "$ADMIN"
expect_eq "image no bundle names: deleted" 200 "$STATUS"
api DELETE "/api/v1/bundles/$DUAL" "$ADMIN"
expect_eq "bundle of an ended rollout: deleted" 200 "$STATUS"
api GET "/api/v1/rollouts/$BR" "$VIEW"
expect_eq "ended rollout keeps its row, without the bundle" "null thermo 2.0.0" \
    "$(jqb '"\(.bundle) \(.image.name) \(.image.version)"')"

# otactl bundles describe: the descriptor from the image files, parts in
# the order given; checked before it is written; signed and uploaded.
ctl "$REL" bundles describe --name thermo --version 3.0.0 \
    --part "mcu=$T/mcu.bin" --part "ncp=$T/ncp.bin@mcu" --hardware ncp=esp32c6-r1 \
    --out "$T/d3.json"
expect_eq "bundles describe: exit 0" 0 "$RC"
check "bundles describe: says what it wrote" grep -qx "wrote $T/d3.json: thermo 3.0.0, 2 parts" "$T/out"
expect_eq "bundles describe: the parts" "mcu:1:null:null:$MCU ncp:2:mcu:esp32c6-r1:$NCP" \
    "$(jq -r '[.parts[] | "\(.component):\(.order):\(.via):\(.hardware):\(.sha256)"] | join(" ")' "$T/d3.json")"
"$OTACTL_BIN" sign --key "$T/keys/release.key" --out "$T/d3.sig" "$T/d3.json" >/dev/null
ctl "$REL" bundles upload "$T/d3.json" --sig "release:$T/d3.sig"
expect_eq "described bundle: uploaded" 0 "$RC"
ctl "$REL" bundles describe --name thermo --version 3.0.1 --part "ncp=$T/ncp.bin@bridge" --out "$T/d4.json"
expect_eq "bundles describe: a bad via, exit 1" 1 "$RC"
check "bundles describe: names the part" err_has "parts[0].via: no part for component 'bridge'"
check "bundles describe: nothing written" test ! -e "$T/d4.json"
# A --hardware whose component no --part names would leave the part it was
# meant for without a hardware constraint: refused, nothing written.
ctl "$REL" bundles describe --name thermo --version 3.0.1 --part "mcu=$T/mcu.bin" \
    --hardware mcu0=nrf52840 --out "$T/d4.json"
expect_eq "bundles describe: --hardware of no part, exit 2" 2 "$RC"
check "bundles describe: names the component" err_has "--hardware 'mcu0=nrf52840': no --part names component 'mcu0'"
ctl "$REL" bundles describe --name thermo --version 3.0.1 --part "mcu=$T/mcu.bin" \
    --hardware nrf52840 --out "$T/d4.json"
check "bundles describe: --hardware without a component" err_has "--hardware 'nrf52840': want COMPONENT=HARDWARE"
check "bundles describe: still nothing written" test ! -e "$T/d4.json"

finish
