#!/bin/sh
# What a hostile client can do to the HTTP side: forge log lines through
# the path, starve a listener from one address, hold a connection open with
# a trickle of header bytes; and what a descriptor's file name does to a
# download's Content-Disposition.
. "$(dirname "$0")/../lib.sh"

otad_setup
otad_start || exit 1

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

# A descriptor's file name with a quote, a semicolon and UTF-8 reaches
# Content-Disposition only encoded (RFC 6266).
REL=$(token release ci)
VIEW=$(token viewer dash)
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
