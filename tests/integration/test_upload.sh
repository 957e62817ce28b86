#!/bin/sh
# Signed image upload, listing, download with ranges, and every refusal:
# each refusal must answer its status and store nothing.
. "$(dirname "$0")/../lib.sh"

otad_setup
export OTAD_MAX_IMAGE_BYTES=4M
otad_start || exit 1
ADMIN=$(token admin ops)
REL=$(token release ci)
VIEW=$(token viewer dash)

# count_state: "<images> <blob files> <temp files>"
count_state() {
	api GET "/api/v1/images?limit=1000" "$VIEW"
	printf '%s %s %s' "$(jqb '.images | length')" \
	    "$(ls "$DATA/blobs" | wc -l)" "$(ls "$DATA/tmp" | wc -l)"
}

# refused NAME STATUS: the last request got STATUS, a JSON error, and the
# store is as it was before ($BEFORE).
refused() {
	st=$STATUS
	err=$(jqb .error)
	det=$(jqb .detail)
	LAST_DETAIL=$det
	expect_eq "$1: status" "$2" "$st"
	check "$1: JSON error with detail ($err: $det)" \
	    test -n "$err" -a "$err" != null -a -n "$det" -a "$det" != null
	expect_eq "$1: nothing stored" "$BEFORE" "$(count_state)"
}

make_image "$T/fw1.bin" 1000000
release "$T/fw1.bin" sensor-fw 1.2.0 revA,revB --min-version 1.0.0 --filename fw1.bin
upload_curl "$REL" "$T/fw1.bin"
expect_eq "signed upload accepted: 201" 201 "$STATUS"
ID=$(jqb .id)
expect_eq "stored name" sensor-fw "$(jqb .name)"
expect_eq "stored version" 1.2.0 "$(jqb .version)"
expect_eq "stored hardware" "revA revB" "$(jqb '.hardware | join(" ")')"
expect_eq "stored sha256" "$(sha256sum "$T/fw1.bin" | cut -d' ' -f1)" "$(jqb .sha256)"
SHA1_1=$(sha1sum "$T/fw1.bin" | cut -d' ' -f1)
MD5_1=$(md5sum "$T/fw1.bin" | cut -d' ' -f1)
expect_eq "stored sha1 (computed while streaming)" "$SHA1_1" "$(jqb .sha1)"
expect_eq "stored md5 (computed while streaming)" "$MD5_1" "$(jqb .md5)"
expect_eq "uploader recorded" ci "$(jqb .created_by)"
jqb .descriptor | base64 -d >"$T/desc.back"
check "descriptor served verbatim" cmp -s "$T/desc.back" "$T/fw1.bin.json"
jqb '.signatures[0].sig' | base64 -d >"$T/sig.back"
check "signature served verbatim" cmp -s "$T/sig.back" "$T/fw1.bin.json.sig"

upload_curl "$REL" "$T/fw1.bin"
expect_eq "identical re-upload is idempotent: 200" 200 "$STATUS"
expect_eq "identical re-upload: same id" "$ID" "$(jqb .id)"
expect_eq "identical re-upload: same sha1" "$SHA1_1" "$(jqb .sha1)"
BEFORE=$(count_state)
expect_eq "one image, one blob, no temp file" "1 1 0" "$BEFORE"

# Same name and version, other bytes: conflict.
make_image "$T/fw1b.bin" 1000
release "$T/fw1b.bin" sensor-fw 1.2.0 revA
upload_curl "$REL" "$T/fw1b.bin"
refused "same name+version, other content" 409
# Same precedence (build metadata differs): also a conflict.
release "$T/fw1b.bin" sensor-fw 1.2.0+build.7 revA
upload_curl "$REL" "$T/fw1b.bin"
refused "same version precedence (+build)" 409

# Unsigned: no signatures part.
make_image "$T/fw2.bin" 5000
release "$T/fw2.bin" sensor-fw 1.3.0 revA
api POST /api/v1/images "$REL" -F "descriptor=@$T/fw2.bin.json" \
    -F "image=@$T/fw2.bin"
refused "unsigned upload" 400

# Tampered descriptor: signed bytes differ from the sent ones.
sed 's/1.3.0/1.3.1/' "$T/fw2.bin.json" >"$T/tampered.json"
api POST /api/v1/images "$REL" -F "descriptor=@$T/tampered.json" \
    -F "signatures=$(sig_json "$T/fw2.bin.json.sig" release)" \
    -F "image=@$T/fw2.bin"
refused "tampered descriptor" 422

# Signed by a key the server does not trust.
"$OTACTL_BIN" keygen --out "$T/rogue" >/dev/null
"$OTACTL_BIN" sign --key "$T/rogue.key" --out "$T/rogue.sig" "$T/fw2.bin.json" >/dev/null
api POST /api/v1/images "$REL" -F "descriptor=@$T/fw2.bin.json" \
    -F "signatures=$(sig_json "$T/rogue.sig" rogue)" -F "image=@$T/fw2.bin"
refused "unknown key id" 422
api POST /api/v1/images "$REL" -F "descriptor=@$T/fw2.bin.json" \
    -F "signatures=$(sig_json "$T/rogue.sig" release)" -F "image=@$T/fw2.bin"
refused "rogue signature under a trusted key id" 422

# Image bytes that are not what the descriptor says.
make_image "$T/other.bin" 5000
api POST /api/v1/images "$REL" -F "descriptor=@$T/fw2.bin.json" \
    -F "signatures=$(sig_json "$T/fw2.bin.json.sig" release)" \
    -F "image=@$T/other.bin"
refused "sha256 mismatch" 422
head -c 4999 "$T/fw2.bin" >"$T/short.bin"
api POST /api/v1/images "$REL" -F "descriptor=@$T/fw2.bin.json" \
    -F "signatures=$(sig_json "$T/fw2.bin.json.sig" release)" \
    -F "image=@$T/short.bin"
refused "size mismatch" 422

# Malformed descriptor, validly signed (otactl refuses to sign it, so
# openssl does: the key files are interchangeable).
printf '{"name":"x"}' >"$T/bad.json"
openssl pkeyutl -sign -inkey "$T/keys/release.key" -rawin -in "$T/bad.json" \
    -out "$T/bad.sig"
api POST /api/v1/images "$REL" -F "descriptor=@$T/bad.json" \
    -F "signatures=$(sig_json "$T/bad.sig" release)" -F "image=@$T/fw2.bin"
refused "malformed descriptor" 400
expect_eq "malformed descriptor: detail names the field" \
    "descriptor: field 'version': missing" "$LAST_DETAIL"
api POST /api/v1/images "$REL" -F "descriptor=@$T/fw2.bin.json" \
    -F "signatures=not json" -F "image=@$T/fw2.bin"
refused "malformed signatures" 400
api POST /api/v1/images "$REL" -H 'Content-Type: application/json' \
    --data-binary '{}'
refused "not multipart" 415

# Multipart parts libmicrohttpd hands over without a name (no parseable
# name, no headers at all, an unquoted name, an empty one): a 400 JSON
# error, nothing stored, and otad still serving.  The first body is the
# one that crashed otad.
printf '%s' 'LS1YeVpiMHVuZGFyeQ0KQ29udGVudC1EaXNwb3NpdGlvbjogZm9ybS1kYXRhDQoNCmFiYw0KLS1YeVpiMHVuZGFyeS0tDQo=' |
    base64 -d >"$T/noname.body"
printf -- '--XyZb0undary\r\n\r\nabc\r\n--XyZb0undary--\r\n' >"$T/noheaders.body"
printf -- '--XyZb0undary\r\nContent-Disposition: form-data; name=descriptor\r\n\r\nabc\r\n--XyZb0undary--\r\n' \
    >"$T/unquoted.body"
printf -- '--XyZb0undary\r\nContent-Disposition: form-data; name=""\r\n\r\nabc\r\n--XyZb0undary--\r\n' \
    >"$T/emptyname.body"
printf -- '--XyZb0undary\r\nContent-Disposition: form-data; name="image"\r\nContent-Transfer-Encoding: base64\r\n\r\nYWJj\r\n--XyZb0undary--\r\n' \
    >"$T/base64.body"
for b in noname noheaders unquoted emptyname base64; do
	api POST /api/v1/images "$REL" \
	    -H 'Content-Type: multipart/form-data; boundary=XyZb0undary' \
	    --data-binary "@$T/$b.body"
	refused "multipart part ($b)" 400
	check "multipart part ($b): otad still serves" curl -sf -m 1 \
	    --cacert "$DATA/tls/cert.pem" "$BASE/healthz"
done

# Over max_image_bytes (4 MiB here): refused from Content-Length, and
# when streamed without one.
make_image "$T/big.bin" 5000000
release "$T/big.bin" sensor-fw 9.0.0 revA
upload_curl "$REL" "$T/big.bin"
refused "image over max_image_bytes" 413
api POST /api/v1/images "$REL" -H 'Transfer-Encoding: chunked' \
    -F "descriptor=@$T/big.bin.json" \
    -F "signatures=$(sig_json "$T/big.bin.json.sig" release)" \
    -F "image=@$T/big.bin"
refused "chunked image over max_image_bytes" 413

upload_curl "$VIEW" "$T/fw2.bin"
refused "viewer upload" 403
upload_curl "" "$T/fw2.bin"
refused "anonymous upload" 401

# A second good image, then listing and filters.
upload_curl "$REL" "$T/fw2.bin"
expect_eq "second image accepted" 201 "$STATUS"
ID2=$(jqb .id)
make_image "$T/fw3.bin" 3000
release "$T/fw3.bin" sensor-fw 1.3.0-rc.1 revB
upload_curl "$REL" "$T/fw3.bin"
expect_eq "pre-release image accepted" 201 "$STATUS"
make_image "$T/fw4.bin" 2000
release "$T/fw4.bin" cam-fw 0.9.0 camX
upload_curl "$REL" "$T/fw4.bin"
expect_eq "other product accepted" 201 "$STATUS"

api GET "/api/v1/images?name=sensor-fw" "$VIEW"
expect_eq "filter by name" 3 "$(jqb '.images | length')"
api GET "/api/v1/images?hardware=revB" "$VIEW"
expect_eq "filter by hardware" "1.2.0 1.3.0-rc.1" "$(jqb '[.images[].version] | join(" ")')"
api GET "/api/v1/images?name=sensor-fw&min_version=1.3.0-rc.1&max_version=1.3.0" "$VIEW"
expect_eq "filter by version range (SemVer order)" "1.3.0 1.3.0-rc.1" "$(jqb '[.images[].version] | join(" ")')"
api GET "/api/v1/images?limit=2" "$VIEW"
expect_eq "page 1 has 2" 2 "$(jqb '.images | length')"
next=$(jqb .next_after)
api GET "/api/v1/images?limit=2&after=$next" "$VIEW"
expect_eq "page 2 has the other 2" 2 "$(jqb '.images | length')"
api GET "/api/v1/images?limit=0" "$VIEW"
expect_eq "bad limit: 400" 400 "$STATUS"
api GET "/api/v1/images?min_version=banana" "$VIEW"
expect_eq "bad version filter: 400" 400 "$STATUS"
api GET "/api/v1/images/$ID" "$VIEW"
expect_eq "get one image" 1.2.0 "$(jqb .version)"
expect_eq "get one image: sha1" "$SHA1_1" "$(jqb .sha1)"
expect_eq "get one image: md5" "$MD5_1" "$(jqb .md5)"
api GET "/api/v1/images?name=cam-fw" "$VIEW"
ID4=$(jqb '.images[0].id')
expect_eq "listed image: sha1" "$(sha1sum "$T/fw4.bin" | cut -d' ' -f1)" "$(jqb '.images[0].sha1')"
expect_eq "listed image: md5" "$(md5sum "$T/fw4.bin" | cut -d' ' -f1)" "$(jqb '.images[0].md5')"

# Images stored before otad kept SHA-1 and MD5 get them at the next start,
# from their blobs; one whose blob file is gone is skipped, and otad starts.
otad_stop
expect_eq "stopped for the backfill" 0 "$?"
sql "UPDATE images SET sha1 = NULL, md5 = NULL"
rm "$DATA/blobs/$(sha256sum "$T/fw4.bin" | cut -d' ' -f1)"
otad_start || exit 1
check "backfill logged" grep -q 'msg="image digests backfilled" count=3 skipped=1' "$OTAD_LOG"
check "missing blob logged" grep -q "msg=\"image blob missing; digests not filled\" image=$ID4" "$OTAD_LOG"
api GET "/api/v1/images/$ID" "$VIEW"
expect_eq "backfilled sha1" "$SHA1_1" "$(jqb .sha1)"
expect_eq "backfilled md5" "$MD5_1" "$(jqb .md5)"
api GET "/api/v1/images/$ID2" "$VIEW"
expect_eq "backfilled sha1 (second image)" "$(sha1sum "$T/fw2.bin" | cut -d' ' -f1)" "$(jqb .sha1)"
expect_eq "backfilled md5 (second image)" "$(md5sum "$T/fw2.bin" | cut -d' ' -f1)" "$(jqb .md5)"
api GET "/api/v1/images/$ID4" "$VIEW"
expect_eq "blob gone: no sha1" null "$(jqb .sha1)"
expect_eq "blob gone: no md5" null "$(jqb .md5)"
expect_eq "nothing left without digests but that image" "$ID4" \
    "$(sql "SELECT id FROM images WHERE sha1 IS NULL ORDER BY id" | paste -sd,)"
# Uploading the same image again brings its blob and digests back.
upload_curl "$REL" "$T/fw4.bin"
expect_eq "re-upload of the image without blob: 200" 200 "$STATUS"
expect_eq "re-upload: same id" "$ID4" "$(jqb .id)"
expect_eq "re-upload: sha1 filled" "$(sha1sum "$T/fw4.bin" | cut -d' ' -f1)" "$(jqb .sha1)"
expect_eq "re-upload: md5 filled" "$(md5sum "$T/fw4.bin" | cut -d' ' -f1)" "$(jqb .md5)"
api GET "/api/v1/images/$ID4/blob" "$VIEW"
expect_eq "re-upload: blob served again" "$(sha256sum "$T/fw4.bin" | cut -d' ' -f1)" \
    "$(sha256sum "$T/body" | cut -d' ' -f1)"
api GET "/api/v1/images/99999" "$VIEW"
expect_eq "get missing image: 404" 404 "$STATUS"
api GET "/api/v1/images/abc" "$VIEW"
expect_eq "get non-numeric id: 404" 404 "$STATUS"

# Download: whole, ranges, conditional requests, HEAD.
SHA=$(sha256sum "$T/fw1.bin" | cut -d' ' -f1)
api GET "/api/v1/images/$ID/blob" "$VIEW"
expect_eq "blob: 200" 200 "$STATUS"
expect_eq "blob: exact bytes" "$SHA" "$(sha256sum "$T/body" | cut -d' ' -f1)"
expect_eq "blob: ETag is the sha256" "\"$SHA\"" "$(header ETag)"
expect_eq "blob: Accept-Ranges" bytes "$(header Accept-Ranges)"
api GET "/api/v1/images/$ID/blob" "$VIEW" -r 100-199
expect_eq "range: 206" 206 "$STATUS"
expect_eq "range: Content-Range" "bytes 100-199/1000000" "$(header Content-Range)"
dd if="$T/fw1.bin" bs=1 skip=100 count=100 2>/dev/null >"$T/want"
check "range: exact bytes" cmp -s "$T/want" "$T/body"
api GET "/api/v1/images/$ID/blob" "$VIEW" -r 999990-
expect_eq "open range: Content-Range" "bytes 999990-999999/1000000" "$(header Content-Range)"
tail -c 10 "$T/fw1.bin" >"$T/want"
check "open range: exact bytes" cmp -s "$T/want" "$T/body"
api GET "/api/v1/images/$ID/blob" "$VIEW" -H 'Range: bytes=-5'
tail -c 5 "$T/fw1.bin" >"$T/want"
check "suffix range: exact bytes" cmp -s "$T/want" "$T/body"
api GET "/api/v1/images/$ID/blob" "$VIEW" -r 1000000-
expect_eq "range past the end: 416" 416 "$STATUS"
expect_eq "416 Content-Range" "bytes */1000000" "$(header Content-Range)"
api GET "/api/v1/images/$ID/blob" "$VIEW" -r 0-9 -H "If-Range: \"$SHA\""
expect_eq "If-Range matching: 206" 206 "$STATUS"
api GET "/api/v1/images/$ID/blob" "$VIEW" -r 0-9 -H 'If-Range: "stale"'
expect_eq "If-Range stale: whole file 200" 200 "$STATUS"
expect_eq "If-Range stale: all bytes" 1000000 "$(wc -c <"$T/body")"
api GET "/api/v1/images/$ID/blob" "$VIEW" -H "If-None-Match: \"$SHA\""
expect_eq "If-None-Match: 304" 304 "$STATUS"
api HEAD "/api/v1/images/$ID/blob" "$VIEW" -I
expect_eq "HEAD: 200" 200 "$STATUS"
expect_eq "HEAD: Content-Length" 1000000 "$(header Content-Length)"
# Resume a download in pieces, as a device would after losing the link.
: >"$T/resumed"
for r in 0-299999 300000-699999 700000-; do
	curl -s --cacert "$DATA/tls/cert.pem" -H "Authorization: Bearer $VIEW" \
	    -r "$r" "$BASE/api/v1/images/$ID/blob" >>"$T/resumed"
done
expect_eq "pieces reassemble the exact image" "$SHA" "$(sha256sum "$T/resumed" | cut -d' ' -f1)"
# Plain HTTP serves the same bytes (sendfile path).
curl -s -H "Authorization: Bearer $VIEW" "$PLAIN/api/v1/images/$ID/blob" >"$T/plain"
expect_eq "plain HTTP download: exact bytes" "$SHA" "$(sha256sum "$T/plain" | cut -d' ' -f1)"

# Delete: admin only; blob removed once unused.
api DELETE "/api/v1/images/$ID" "$ADMIN"
expect_eq "admin delete: 200" 200 "$STATUS"
check "deleted image's blob removed" test ! -e "$DATA/blobs/$SHA"
api GET "/api/v1/images/$ID" "$VIEW"
expect_eq "deleted image: 404" 404 "$STATUS"
api GET "/api/v1/images/$ID2/blob" "$VIEW"
expect_eq "other images still served" 200 "$STATUS"

# Images that say what they are (docs/images.md), built by tests/fwimage.py
# from the formats' published layouts: what they say is shown in the image
# JSON; a descriptor version that disagrees is refused (422, both values
# named) with nothing stored; an image of no known format shows null.
FWIMG="python3 $(dirname "$0")/../fwimage.py"
ctl() {
	OTACTL_TOKEN="$REL" OTACTL_SERVER="$BASE" \
	    OTACTL_CACERT="$DATA/tls/cert.pem" "$OTACTL_BIN" "$@"
}
api GET "/api/v1/images/$ID2" "$VIEW"
expect_eq "unknown format: embedded null" null "$(jqb .embedded)"
$FWIMG mcuboot "$T/mcu.bin" 1 2 3 4
release "$T/mcu.bin" mcu-fw 1.2.3+4 revA
upload_curl "$REL" "$T/mcu.bin"
expect_eq "MCUboot 1.2.3+4 as 1.2.3+4: 201" 201 "$STATUS"
IDM=$(jqb .id)
expect_eq "MCUboot header shown" "1.2.3+4 4 32" \
    "$(jqb '.embedded.mcuboot | "\(.version) \(.build) \(.header_size)"')"
api GET "/api/v1/images?name=mcu-fw" "$VIEW"
expect_eq "MCUboot header in the list" "$IDM 1.2.3+4" \
    "$(jqb '.images[0] | "\(.id) \(.embedded.mcuboot.version)"')"
$FWIMG mcuboot "$T/mcu2.bin" 2 0 0 0
for v in 2.0.1 2.0.0-rc.1 2.0.0+7 2.1.0; do
	release "$T/mcu2.bin" mcu-fw "$v" revA
	BEFORE=$(count_state)
	upload_curl "$REL" "$T/mcu2.bin"
	refused "MCUboot 2.0.0 as $v" 422
	check "MCUboot 2.0.0 as $v: both versions named ($LAST_DETAIL)" \
	    sh -c 'case "$1" in *"version 2.0.0;"*"says $2"*) ;; *) exit 1 ;; esac' \
	    _ "$LAST_DETAIL" "$v"
done
release "$T/mcu2.bin" mcu-fw 2.0.0+ci.9 revA
upload_curl "$REL" "$T/mcu2.bin"
expect_eq "MCUboot 2.0.0 (build 0) as 2.0.0+ci.9: 201" 201 "$STATUS"

# ESP-IDF: otactl describe takes name and version from the image.
$FWIMG esp "$T/esp.bin" v3.1.0 esp-fw
"$OTACTL_BIN" describe "$T/esp.bin" --hardware revA --out "$T/esp.bin.json" \
    >/dev/null 2>"$T/describe.err"
expect_eq "describe fills name and version from esp_app_desc_t" "esp-fw 3.1.0" \
    "$(jq -r '"\(.name) \(.version)"' "$T/esp.bin.json")"
check "describe says where they came from" \
    grep -q "version 3.1.0 from the image's own metadata" "$T/describe.err"
"$OTACTL_BIN" sign --key "$T/keys/release.key" --out "$T/esp.sig" \
    "$T/esp.bin.json" >/dev/null
check "otactl upload of the ESP-IDF image succeeds" ctl upload "$T/esp.bin" \
    --sig "release:$T/esp.sig"
api GET "/api/v1/images?name=esp-fw" "$VIEW"
expect_eq "esp_app_desc_t shown" "v3.1.0 esp-fw v5.1.2 Dec  6 2026" \
    "$(jqb '.images[0].embedded.esp_app | "\(.version) \(.project_name) \(.idf_version) \(.build_date)"')"
$FWIMG esp "$T/esp2.bin" v3.1.0-2-g1a2b3c4 esp-fw
release "$T/esp2.bin" esp-fw 3.1.0 revA
BEFORE=$(count_state)
upload_curl "$REL" "$T/esp2.bin"
refused "ESP-IDF git describe as 3.1.0" 422
check "ESP-IDF refusal names both ($LAST_DETAIL)" sh -c \
    'case "$1" in *v3.1.0-2-g1a2b3c4*"says 3.1.0") ;; *) exit 1 ;; esac' _ "$LAST_DETAIL"
release "$T/esp2.bin" esp-fw 3.1.1-dev.2+g1a2b3c4 revA
upload_curl "$REL" "$T/esp2.bin"
expect_eq "ESP-IDF git describe, same commit in the build metadata: 201" 201 "$STATUS"

# Cross-check with Espressif's esptool-js (npm; set ESPTOOL_JS_LIB to its
# lib/ directory, docs/images.md): it reads tests/fwimage.py's image as
# one ESP32-S3 segment whose data (the descriptor otad read) is at 32, and
# otactl reads the descriptor of an image esptool-js wrote.
if [ -n "${ESPTOOL_JS_LIB:-}" ]; then
	XJS="$(dirname "$0")/../esptool_js_check.mjs"
	check "esptool-js and node are installed (make deps-test)" \
	    sh -c "command -v node && test -f '$ESPTOOL_JS_LIB/image/index.js'"
	expect_eq "esptool-js reads the ESP-IDF test image" \
	    '{"chip_id":9,"segments":[[1006632992,4096]],"desc_at":32}' \
	    "$(node "$XJS" "$ESPTOOL_JS_LIB" read "$T/esp.bin" 2>/dev/null)"
	node "$XJS" "$ESPTOOL_JS_LIB" write "$T/js.bin" v4.5.6 js-fw 2>/dev/null
	"$OTACTL_BIN" describe "$T/js.bin" --hardware revA \
	    --out "$T/js.bin.json" >/dev/null 2>&1
	expect_eq "otactl reads the image esptool-js wrote" "js-fw 4.5.6" \
	    "$(jq -r '"\(.name) \(.version)"' "$T/js.bin.json")"
fi

# Blynk: the tag straddles the first 64 KiB window; otactl upload refused.
$FWIMG blynk "$T/blynk.bin" 0.5.0 TMPLabc 65500
release "$T/blynk.bin" TMPLabc 0.5.1 revA
BEFORE=$(count_state)
ctl upload "$T/blynk.bin" --sig "release:$T/blynk.bin.json.sig" \
    >"$T/ctl.out" 2>&1
expect_eq "otactl upload, Blynk mcu 0.5.0 as 0.5.1: exit 1" 1 "$?"
check "otactl prints the refusal naming both" \
    grep -q "422.*Blynk tag (mcu) says version 0.5.0; the descriptor says 0.5.1" "$T/ctl.out"
expect_eq "Blynk refusal: nothing stored" "$BEFORE" "$(count_state)"
"$OTACTL_BIN" describe "$T/blynk.bin" --hardware revA \
    --out "$T/blynk.bin.json" >/dev/null 2>&1
"$OTACTL_BIN" sign --key "$T/keys/release.key" --out "$T/blynk.bin.json.sig" \
    "$T/blynk.bin.json" >/dev/null
check "otactl upload of the Blynk image succeeds" ctl upload "$T/blynk.bin" \
    --sig "release:$T/blynk.bin.json.sig"
api GET "/api/v1/images?name=TMPLabc" "$VIEW"
expect_eq "Blynk tag shown" "0.5.0 0.5.0 TMPLabc 65500" \
    "$(jqb '.images[0] | "\(.version) \(.embedded.blynk.tags.mcu) \(.embedded.blynk.tags["fw-type"]) \(.embedded.blynk.offset)"')"

otad_stop
expect_eq "clean exit" 0 "$?"
check "sanitizers report nothing" sanitizer_clean
finish
