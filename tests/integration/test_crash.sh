#!/bin/sh
# Crash safety: kill -9 in the middle of an upload leaves no visible
# partial image, leftovers are cleaned at start, and what was
# acknowledged (201) survives a kill -9.
. "$(dirname "$0")/../lib.sh"

otad_setup
otad_start || exit 1
REL=$(token release ci)
VIEW=$(token viewer dash)

make_image "$T/fw1.bin" 200000
release "$T/fw1.bin" sensor-fw 1.0.0 revA
upload_curl "$REL" "$T/fw1.bin"
expect_eq "first image stored" 201 "$STATUS"
ID=$(jqb .id)
SHA1=$(sha256sum "$T/fw1.bin" | cut -d' ' -f1)

# Acknowledged means durable: kill -9 right after the 201.
otad_kill9
otad_start || exit 1
api GET "/api/v1/images/$ID/blob" "$VIEW"
expect_eq "acknowledged image survives kill -9" "$SHA1" \
    "$(sha256sum "$T/body" | cut -d' ' -f1)"

# A slow upload, killed while its bytes are arriving.
make_image "$T/big.bin" 16000000
release "$T/big.bin" sensor-fw 2.0.0 revA
curl -s -o /dev/null --cacert "$DATA/tls/cert.pem" --limit-rate 2M \
    -H "Authorization: Bearer $REL" \
    -F "descriptor=@$T/big.bin.json" \
    -F "signatures=$(sig_json "$T/big.bin.json.sig" release)" \
    -F "image=@$T/big.bin" "$BASE/api/v1/images" &
CURL=$!
EXTRA_CLEANUP="kill $CURL 2>/dev/null"
i=0
partial=0
while [ $i -lt 100 ]; do
	f=$(ls "$DATA/tmp" 2>/dev/null | head -n 1)
	if [ -n "$f" ] && [ "$(stat -c %s "$DATA/tmp/$f" 2>/dev/null || echo 0)" -gt 1000000 ]; then
		partial=1
		break
	fi
	sleep 0.1
	i=$((i + 1))
done
expect_eq "upload in progress writes a temp file" 1 "$partial"
# A second otad on the same data directory (make run twice) stops at once,
# says which process holds it, and cleans nothing up.
OTAD_PORT_FILE="$T/second.ports" timeout 20 "$OTAD_BIN" >"$T/second.log" 2>&1
expect_eq "a second otad on the data directory exits 1" 1 "$?"
check "it names the otad that holds the directory" \
    grep -q "data directory in use by another otad.* pid=$OTAD_PID " "$T/second.log"
check "it removed no partial upload" sh -c "! grep -q 'partial' '$T/second.log'"
check "the upload's temp file is still there" test -e "$DATA/tmp/$f"
check "the first otad still serves" curl -sf --cacert "$DATA/tls/cert.pem" "$BASE/healthz"
otad_kill9
wait $CURL 2>/dev/null
check "the partial upload is not a blob" sh -c \
    "test \$(ls '$DATA/blobs' | wc -l) -eq 1"

# A blob whose row never committed (crash between rename and commit).
ORPHAN=$(printf 'orphan' | sha256sum | cut -d' ' -f1)
printf 'orphan' >"$DATA/blobs/$ORPHAN"

otad_start || exit 1
expect_eq "leftover temp files removed at start" 0 "$(ls "$DATA/tmp" | wc -l)"
check "unreferenced blob removed at start" test ! -e "$DATA/blobs/$ORPHAN"
api GET /api/v1/images "$VIEW"
expect_eq "only the acknowledged image is listed" "1.0.0" \
    "$(jqb '[.images[].version] | join(" ")')"
api GET "/api/v1/images/$ID/blob" "$VIEW"
expect_eq "stored image intact after the crash" "$SHA1" \
    "$(sha256sum "$T/body" | cut -d' ' -f1)"
if sqlite_only "PRAGMA integrity_check"; then
	check "database integrity" sh -c \
	    "sqlite3 '$DATA/otad.db' 'PRAGMA integrity_check' | grep -qx ok"
fi

# The interrupted release can simply be uploaded again.
upload_curl "$REL" "$T/big.bin"
expect_eq "re-upload after the crash: 201" 201 "$STATUS"
BIG=$(jqb .id)

# SIGTERM lets a download in flight finish (about 2 s at 8 MB/s).
curl -s --cacert "$DATA/tls/cert.pem" --limit-rate 8M \
    -H "Authorization: Bearer $VIEW" "$BASE/api/v1/images/$BIG/blob" \
    -o "$T/inflight" &
CURL=$!
sleep 0.5
otad_stop
expect_eq "clean exit" 0 "$?"
wait $CURL
expect_eq "download in flight during SIGTERM completes" \
    "$(sha256sum "$T/big.bin" | cut -d' ' -f1)" \
    "$(sha256sum "$T/inflight" | cut -d' ' -f1)"
check "sanitizers report nothing" sanitizer_clean
finish
