#!/bin/sh
# blob_storage = database: image bytes stored in the database with their
# row, each otad's <data_dir>/blobs only a cache.  A download fills a
# missing cache file from the database (whole and with Range); a second
# otad on the same database (another data directory) serves what the
# first uploaded; a delete on one node is seen by the other, whose stale
# cache file goes at its next start; kill -9 in the middle of the
# upload's transaction leaves no image without all its bytes.
# The second otad shares PostgreSQL through OTAD_DATABASE; on SQLite it
# is given the first one's file there, and its checks are skipped (saying
# so) while otad takes no SQLite path in database.
. "$(dirname "$0")/../lib.sh"

otad_setup
export OTAD_BLOB_STORAGE=database
otad_start || exit 1
tokens
STORE=${STORE:-sqlite}

# sha FILE: its SHA-256.
sha() { sha256sum "$1" | cut -d' ' -f1; }

# download BASE_URL CACERT ID OUT [curl args...]: GETs the image's bytes
# into OUT (headers in $T/dl.headers); sets STATUS.
download() {
	u=$1 ca=$2 id=$3 out=$4
	shift 4
	STATUS=$(curl -s -o "$out" -D "$T/dl.headers" -w '%{http_code}' \
	    --cacert "$ca" -H "Authorization: Bearer $VIEW" "$@" \
	    "$u/api/v1/images/$id/blob")
}

# chunks_bad: the number of images whose chunks are not exactly their bytes (SQLite).
chunks_bad() {
	sql "SELECT COUNT(*) FROM images i WHERE i.size <> (SELECT
	    COALESCE(SUM(length(c.data)), 0) FROM image_chunks c
	    WHERE c.image_id = i.id)"
}

# An image of three chunks (1 MiB each but the last).
make_image "$T/fw.bin" 2500000
release "$T/fw.bin" sensor-fw 1.0.0 revA
upload_curl "$REL" "$T/fw.bin"
expect_eq "upload with blob_storage = database: 201" 201 "$STATUS"
ID=$(jqb .id)
SHA=$(sha "$T/fw.bin")
check "the upload keeps a cache file" test -s "$DATA/blobs/$SHA"
expect_eq "its bytes are three chunks in the database" \
    "3|2500000" "$(sql "SELECT COUNT(*), SUM(length(data)) FROM
    image_chunks WHERE image_id = $ID")"

# The cache is gone: the download fills it from the database.
rm -f "$DATA/blobs/$SHA"
download "$BASE" "$DATA/tls/cert.pem" "$ID" "$T/got"
expect_eq "download without a cache file: 200" 200 "$STATUS"
expect_eq "download without a cache file: the uploaded bytes" "$SHA" \
    "$(sha "$T/got")"
check "the download filled the cache" test -s "$DATA/blobs/$SHA"
expect_eq "the cache file is the image" "$SHA" "$(sha "$DATA/blobs/$SHA")"
expect_eq "no temp file left" 0 "$(ls "$DATA/tmp" | wc -l)"

# Range, on an empty cache, across a chunk boundary.
rm -f "$DATA/blobs/$SHA"
download "$BASE" "$DATA/tls/cert.pem" "$ID" "$T/part" \
    -H "Range: bytes=1048000-2097999"
expect_eq "Range without a cache file: 206" 206 "$STATUS"
dd if="$T/fw.bin" of="$T/want" bs=1000 skip=1048 count=1050 2>/dev/null
check "Range without a cache file: the bytes of the range" \
    cmp -s "$T/part" "$T/want"
check "Range: Content-Range" grep -qi \
    '^Content-Range: bytes 1048000-2097999/2500000' "$T/dl.headers"
download "$BASE" "$DATA/tls/cert.pem" "$ID" "$T/part" -H "Range: bytes=-100"
tail -c 100 "$T/fw.bin" >"$T/want"
expect_eq "suffix Range: 206" 206 "$STATUS"
check "suffix Range: the last 100 bytes" cmp -s "$T/part" "$T/want"

# A second otad on the same database, with its own data directory.
DATA2="$T/var2"
LOG2="$T/otad2.log"
PORTS2="$T/otad2.ports"
OTAD2_PID=""
mkdir -p "$DATA2/release-keys"
cp "$DATA/release-keys/release.pub" "$DATA2/release-keys/"
DB2=${OTAD_DATABASE:-$DATA/otad.db}
EXTRA_CLEANUP='[ -z "$OTAD2_PID" ] || { kill -TERM "$OTAD2_PID"; wait "$OTAD2_PID"; }'

# node2_start [probe]: starts the second otad and waits (bounded) for
# /healthz; sets BASE2.  With probe, an otad that refuses the database
# target returns 2 and counts no check.
node2_start() {
	rm -f "$PORTS2"
	OTAD_DATA_DIR="$DATA2" OTAD_PORT_FILE="$PORTS2" OTAD_DATABASE="$DB2" \
	    OTAD_SERVER_KEY_FILE="$DATA/server.key" \
	    "$OTAD_BIN" >>"$LOG2" 2>&1 &
	OTAD2_PID=$!
	i=0
	while [ $i -lt 300 ]; do
		p=$(sed -n 's/^https_port=//p' "$PORTS2" 2>/dev/null)
		BASE2="https://127.0.0.1:$p"
		if [ -n "$p" ] && curl -s -o /dev/null --max-time 5 \
		    --cacert "$DATA2/tls/cert.pem" "$BASE2/healthz"; then
			pass "second otad on the same database starts"
			return 0
		fi
		kill -0 "$OTAD2_PID" 2>/dev/null || break
		sleep 0.1
		i=$((i + 1))
	done
	if ! kill -0 "$OTAD2_PID" 2>/dev/null; then
		wait "$OTAD2_PID"
		OTAD2_PID=""
		if [ "${1:-}" = probe ] && grep -q 'database must be' "$LOG2"
		then
			return 2
		fi
	fi
	tail -n 40 "$LOG2" >&2
	fail "second otad on the same database starts"
	return 1
}

node2_stop() {
	kill -TERM "$OTAD2_PID"
	wait "$OTAD2_PID"
	rc=$?
	OTAD2_PID=""
	return $rc
}

node2_start probe
r=$?
[ $r -eq 0 ] || [ $r -eq 2 ] || exit 1
if [ $r -eq 0 ]; then
	check "the second node has no cache file yet" test ! -e "$DATA2/blobs/$SHA"
	download "$BASE2" "$DATA2/tls/cert.pem" "$ID" "$T/got2" \
	    -H "Range: bytes=100-1500000"
	expect_eq "second node, Range of an image the first uploaded: 206" 206 \
	    "$STATUS"
	head -c 1500001 "$T/fw.bin" | tail -c +101 >"$T/want"
	check "second node, Range: the bytes of the range" cmp -s "$T/got2" "$T/want"
	download "$BASE2" "$DATA2/tls/cert.pem" "$ID" "$T/got2"
	expect_eq "second node, whole image: 200" 200 "$STATUS"
	expect_eq "second node, whole image: the uploaded bytes" "$SHA" \
	    "$(sha "$T/got2")"
	expect_eq "second node's cache file is the image" "$SHA" \
	    "$(sha "$DATA2/blobs/$SHA")"

	# An upload on the second node, served by the first.
	make_image "$T/fw2.bin" 300000
	release "$T/fw2.bin" sensor-fw 2.0.0 revA
	STATUS=$(curl -s -o "$T/body" -w '%{http_code}' --cacert "$DATA2/tls/cert.pem" \
	    -H "Authorization: Bearer $REL" \
	    -F "descriptor=@$T/fw2.bin.json;type=application/json" \
	    -F "signatures=$(sig_json "$T/fw2.bin.json.sig" release)" \
	    -F "image=@$T/fw2.bin;type=application/octet-stream" \
	    "$BASE2/api/v1/images")
	expect_eq "upload on the second node: 201" 201 "$STATUS"
	ID2=$(jqb .id)
	download "$BASE" "$DATA/tls/cert.pem" "$ID2" "$T/got"
	expect_eq "first node serves the second node's upload" "$(sha "$T/fw2.bin")" \
	    "$(sha "$T/got")"

	# Delete on the first node: the second answers 404, and its stale cache
	# file goes when it starts again.
	api DELETE "/api/v1/images/$ID" "$ADMIN"
	expect_eq "delete on the first node: 200" 200 "$STATUS"
	check "the first node's cache file is removed" test ! -e "$DATA/blobs/$SHA"
	download "$BASE2" "$DATA2/tls/cert.pem" "$ID" "$T/got2"
	expect_eq "second node: the deleted image is gone (404)" 404 "$STATUS"
	expect_eq "its chunks are deleted with it" 0 \
	    "$(sql "SELECT COUNT(*) FROM image_chunks WHERE image_id = $ID")"
	check "second node: the stale cache file is still there" \
	    test -e "$DATA2/blobs/$SHA"
	node2_stop
	expect_eq "second node stops cleanly" 0 "$?"
	node2_start || exit 1
	check "second node: stale cache file swept at start" \
	    test ! -e "$DATA2/blobs/$SHA"
	check "second node: a live image's cache file is kept" \
	    test -e "$DATA2/blobs/$(sha "$T/fw2.bin")"
	node2_stop
else
	echo "skip: second node: otad takes no SQLite path in database ($DB2)"
fi

# in_upload_tx: true once the upload's transaction is writing chunks.
# SQLite: the WAL has grown well past what the earlier writes left in it
# ($WAL0), which only uncommitted chunk pages can do; PostgreSQL: a
# session of this database is running, or between, the chunk INSERTs.
in_upload_tx() {
	if [ "$STORE" = pg ]; then
		[ "$(sql "SELECT COUNT(*) FROM pg_stat_activity WHERE datname =
		    current_database() AND state IN ('active',
		    'idle in transaction') AND query LIKE
		    'INSERT INTO image_chunks%'")" -gt 0 ]
	else
		[ "$(stat -c %s "$DATA/otad.db-wal" 2>/dev/null || echo 0)" \
		    -gt $((WAL0 + 8000000)) ]
	fi
}

# kill -9 while the upload's transaction writes the chunks: afterwards no
# image lacks a byte, and the upload can be made again.
make_image "$T/big.bin" 48000000
release "$T/big.bin" sensor-fw 3.0.0 revA
WAL0=$(stat -c %s "$DATA/otad.db-wal" 2>/dev/null || echo 0)
upload_curl "$REL" "$T/big.bin" &
UP=$!
i=0
killed=0
while [ $i -lt 600 ]; do
	if in_upload_tx; then
		otad_kill9
		killed=1
		break
	fi
	sleep 0.05
	i=$((i + 1))
done
wait $UP 2>/dev/null
expect_eq "otad killed inside the upload's transaction" 1 "$killed"
[ "$killed" -eq 1 ] || otad_kill9
otad_start || exit 1
expect_eq "after kill -9: no image without all its chunks" 0 "$(chunks_bad)"
expect_eq "after kill -9: no temp file left" 0 "$(ls "$DATA/tmp" | wc -l)"
# Had the commit won the race, the image is whole (checked above) and the
# upload again finds it.
n=$(sql "SELECT COUNT(*) FROM images WHERE version = '3.0.0'")
upload_curl "$REL" "$T/big.bin"
expect_eq "the interrupted upload, again: stored" \
    "$([ "$n" -eq 0 ] && echo 201 || echo 200)" "$STATUS"
BIG=$(jqb .id)
BIGSHA=$(sha "$T/big.bin")
rm -f "$DATA/blobs/$BIGSHA"
download "$BASE" "$DATA/tls/cert.pem" "$BIG" "$T/got"
expect_eq "and it downloads intact from the database" "$BIGSHA" \
    "$(sha "$T/got")"
expect_eq "every image has all its chunks" 0 "$(chunks_bad)"
if [ "$STORE" = sqlite ]; then
	check "database integrity" sh -c \
	    "sqlite3 '$DATA/otad.db' 'PRAGMA integrity_check' | grep -qx ok"
fi

# A delete takes the chunks with the row, and this node's cache file.
api DELETE "/api/v1/images/$BIG" "$ADMIN"
expect_eq "delete: 200" 200 "$STATUS"
expect_eq "delete: the chunks go with the image" 0 \
    "$(sql "SELECT COUNT(*) FROM image_chunks WHERE image_id = $BIG")"
check "delete: the cache file goes" test ! -e "$DATA/blobs/$BIGSHA"

otad_stop
expect_eq "clean exit" 0 "$?"
check "sanitizers report nothing" sanitizer_clean
finish
