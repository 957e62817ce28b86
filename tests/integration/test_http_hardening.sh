#!/bin/sh
# What a hostile client can do to the HTTP side: forge log lines through
# the path, starve a listener from one address, hold a connection open with
# a trickle of header bytes; and what a descriptor's file name does to a
# download's Content-Disposition.
. "$(dirname "$0")/../lib.sh"

otad_setup
# Small limits, so that one address could fill the listener without the
# per-address limit: 2 workers of 8 connections each.
PER_ADDRESS=4
HEADER_TIMEOUT=3
export OTAD_HTTP_THREADS=2
export OTAD_MAX_CONNECTIONS=16
export OTAD_MAX_CONNECTIONS_PER_ADDRESS=$PER_ADDRESS
export OTAD_HEADER_TIMEOUT_SEC=$HEADER_TIMEOUT
otad_start || exit 1

# One address (127.0.0.2) opens 40 idle connections, then trickles header
# bytes on as many as it may open; another address is served meanwhile.
python3 "$TESTS_DIR/slow_clients.py" "$BASE" "$DATA/tls/cert.pem" \
    "$PER_ADDRESS" "$HEADER_TIMEOUT" >"$T/slow.out" 2>&1
sed 's/^/  slow_clients: /' "$T/slow.out"
val() { sed -n "s/^$1=//p" "$T/slow.out"; }
expect_eq "one address holds at most max_connections_per_address" \
    "$PER_ADDRESS" "$(val idle_open)"
hz=$(val healthz)
expect_eq "another address is served meanwhile" 200 "${hz% *}"
check "... within a second (${hz#* } ms)" test "${hz#* }" -lt 1000 2>/dev/null
expect_eq "slow-header connections opened" "$PER_ADDRESS" "$(val slow_opened)"
expect_eq "slow-header connections closed despite the trickle" \
    "$PER_ADDRESS" "$(val slow_closed)"
last=$(val slow_last_sec)
check "closed by the header deadline (last after $last s)" python3 -c \
    "import sys; sys.exit(not ($HEADER_TIMEOUT - 0.5 <= float('$last') <= $HEADER_TIMEOUT + 2))"
check "header deadline logged" log_wait 'msg="request headers not received in time; connections closed"'
api GET /healthz ""
expect_eq "still serving after the attack" 200 "$STATUS"
n=$(grep -c 'msg="libmicrohttpd" ' "$OTAD_LOG")
check "refused connections do not flood the log ($n lines)" test "$n" -le 30

# Log injection: libmicrohttpd decodes %0d%0a and %20 in the path; the
# request log must keep it on one line, in one quoted field.
FORGED='ts=2001-01-01T00:00:00.000Z%20level=info%20method=DELETE%20path=/api/v1/devices/d1%20status=204'
curl -s -o /dev/null --path-as-is --cacert "$DATA/tls/cert.pem" \
    "$BASE/nope%0d%0a$FORGED"
curl -s -o /dev/null --path-as-is --cacert "$DATA/tls/cert.pem" \
    "$BASE/nope2%20status=200%20who=admin%22"
check "request with CR LF in the path logged" \
    log_wait 'path="/nope\\r\\nts=2001-01-01T00:00:00.000Z level=info method=DELETE'
check "no forged log line" sh -c "! grep -q '^ts=2001-01-01' '$OTAD_LOG'"
check "no line but otad's own" sh -c \
    "! grep -qvE '^ts=[0-9-]+T[0-9:.]+Z level=(error|warn|info|debug) ' '$OTAD_LOG'"
check "spaces and quotes stay inside one quoted value" \
    grep -qF 'path="/nope2 status=200 who=admin\"" status=404' "$OTAD_LOG"

VIEW=$(token viewer dash)
# Headers up to max_header_bytes (16 KiB by default) are served, over it
# refused with 431 and the JSON error: the connection's memory pool holds
# them with the read buffer and the response headers beside them.
pad() { head -c "$1" /dev/zero | tr '\0' a; }
api GET /api/v1/images "$VIEW" -H "X-Pad: $(pad 16000)"
expect_eq "16,000 bytes of headers served" 200 "$STATUS"
api GET /api/v1/images "$VIEW" -H "X-Pad: $(pad 17000)"
expect_eq "17,000 bytes of headers refused" 431 "$STATUS"
expect_eq "431 says why" headers_too_large "$(jqb .error)"

# A descriptor's file name with a quote, a semicolon and UTF-8 reaches
# Content-Disposition only encoded (RFC 6266).
REL=$(token release ci)
make_image "$T/fw.bin" 1000
release "$T/fw.bin" sensor-fw 1.0.0 revA --filename "$(printf 'fw "caf\303\251";x=1.bin')"
upload_curl "$REL" "$T/fw.bin"
expect_eq "image with an odd file name accepted" 201 "$STATUS"
api GET "/api/v1/images/$(jqb .id)/blob" "$VIEW"
expect_eq "download: Content-Disposition encoded" \
    "attachment; filename=\"fw _caf____x=1.bin\"; filename*=UTF-8''fw%20%22caf%C3%A9%22%3Bx%3D1.bin" \
    "$(header Content-Disposition)"

otad_stop
expect_eq "clean exit" 0 "$?"
check "sanitizers report nothing" sanitizer_clean
finish
