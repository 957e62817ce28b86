#!/bin/sh
# Daemon basics through the real interface: health, JSON errors, tokens
# and roles, config errors, schema refusal, clean shutdown.
. "$(dirname "$0")/../lib.sh"

otad_setup
otad_start || exit 1

api GET /healthz ""
expect_eq "healthz answers 200" 200 "$STATUS"
api GET /readyz ""
expect_eq "readyz answers 200 with the database open" 200 "$STATUS"
expect_eq "readyz body" ready "$(jqb .status)"

# Plain HTTP runs only because the test configured a port for it.
check "plain HTTP listener on the configured port" \
    curl -sf "$PLAIN/healthz"

# Ports "auto": the OS picks them, otad binds them and says which, in its
# log and in port_file (nothing can take the port between pick and bind).
check "port_file: an HTTPS port the OS picked" test "$HTTPS_PORT" -gt 0
check "port_file: an HTTP port the OS picked" test "$HTTP_PORT" -gt 0
check "the log names the bound HTTPS port" \
    grep -q "msg=\"listening\" url=https://127.0.0.1:$HTTPS_PORT\$" "$OTAD_LOG"
check "the log names the bound HTTP port" \
    grep -q "msg=\"listening\" url=http://127.0.0.1:$HTTP_PORT\$" "$OTAD_LOG"
# A port in use: the errors name it (libmicrohttpd's said "port 0").  The
# second otad has the first one's server key: on PostgreSQL they share the
# database, which refuses a node with another key before any bind.
mkdir -p "$T/other"
OTAD_DATA_DIR="$T/other" OTAD_HTTPS_PORT=$HTTPS_PORT OTAD_HTTP_PORT=0 \
    OTAD_SERVER_KEY_FILE="$DATA/server.key" \
    OTAD_PORT_FILE="$T/other.ports" timeout 20 "$OTAD_BIN" >"$T/out" 2>&1
expect_eq "a port in use stops the start" 1 "$?"
check "the bind error names the port in use" \
    grep -q "cannot start listener.* port=$HTTPS_PORT " "$T/out"
check "libmicrohttpd's bind error names it too" \
    grep -q "Failed to bind to port $HTTPS_PORT" "$T/out"
check "no port 0 in the errors" sh -c "! grep -q 'port 0\\|port=0' '$T/out'"
check "no port_file when the start failed" test ! -e "$T/other.ports"

# The data directory holds token hashes and the device inventory: the
# database files are the owner's only, whatever the umask, and a data
# directory open to others is reported at start.
if sqlite_only "otad.db file modes"; then
	expect_eq "otad.db is 0600" 600 "$(stat -c %a "$DATA/otad.db")"
	expect_eq "otad.db-wal is 0600" 600 "$(stat -c %a "$DATA/otad.db-wal")"
	expect_eq "otad.db-shm is 0600" 600 "$(stat -c %a "$DATA/otad.db-shm")"
fi
check "a data directory open to others is reported" \
    grep -q 'data directory is open to other users.* mode=755' "$OTAD_LOG"
if sqlite_only "otactl creates otad.db 0600"; then
	mkdir -p "$T/fresh"
	chmod 700 "$T/fresh"
	(umask 022 && "$OTACTL_BIN" token create --data-dir "$T/fresh" \
	    --role viewer --name v >/dev/null)
	expect_eq "otactl creates otad.db 0600 too" 600 \
	    "$(stat -c %a "$T/fresh/otad.db")"
fi

api GET /nope ""
expect_eq "unknown path is 404" 404 "$STATUS"
expect_eq "404 body has error" not_found "$(jqb .error)"
check "404 body has detail" test -n "$(jqb .detail)"
api PUT /api/v1/images ""
expect_eq "wrong method is 405" 405 "$STATUS"

ADMIN=$(token admin ops)
RELEASE=$(token release ci)
VIEWER=$(token viewer dash)
check "token create prints a token" test -n "$ADMIN"

api GET /api/v1/images ""
expect_eq "no token: 401" 401 "$STATUS"
expect_eq "401 error name" unauthorized "$(jqb .error)"
check "401 carries WWW-Authenticate" test -n "$(header WWW-Authenticate)"
api GET /api/v1/images "otad_0123456789abcdef_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
expect_eq "unknown token: 401" 401 "$STATUS"
api GET /api/v1/images "garbage"
expect_eq "malformed token: 401" 401 "$STATUS"
# Right id, wrong secret.
forged=$(printf '%s' "$VIEWER" | cut -c1-22)AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA
api GET /api/v1/images "$forged"
expect_eq "right id, wrong secret: 401" 401 "$STATUS"

api GET /api/v1/images "$VIEWER"
expect_eq "viewer may list" 200 "$STATUS"
api GET "/api/v1/images/$(head -c 200 /dev/zero | tr '\0' 7)" "$VIEWER"
expect_eq "over-long path segment: 404" 404 "$STATUS"
api GET /api/v1/images//blob "$VIEWER"
expect_eq "empty path segment: 404" 404 "$STATUS"
expect_eq "empty list" 0 "$(jqb '.images | length')"
api POST /api/v1/images "$VIEWER" -F descriptor=x
expect_eq "viewer may not upload: 403" 403 "$STATUS"
expect_eq "403 error name" forbidden "$(jqb .error)"
api DELETE /api/v1/images/1 "$RELEASE"
expect_eq "release may not delete: 403" 403 "$STATUS"
api DELETE /api/v1/images/1 "$ADMIN"
expect_eq "admin delete of a missing image: 404" 404 "$STATUS"

"$OTACTL_BIN" token list --data-dir "$DATA" >"$T/tokens"
check "token list shows names" grep -q dash "$T/tokens"
check "token list shows last use" grep -E 'dash.*viewer.*20[0-9][0-9]-' "$T/tokens"
check "token list never shows a secret" sh -c "! grep -q '$VIEWER' '$T/tokens'"
"$OTACTL_BIN" token revoke --data-dir "$DATA" dash >/dev/null
api GET /api/v1/images "$VIEWER"
expect_eq "revoked token: 401" 401 "$STATUS"
check "otactl token create refuses a bad role" sh -c \
    "! '$OTACTL_BIN' token create --data-dir '$DATA' --role root --name x"

# A token in flight is never written to the log.
check "no token in the log" sh -c "! grep -qF '${ADMIN#otad_}' '$OTAD_LOG' && ! grep -qF '${RELEASE#otad_}' '$OTAD_LOG'"
check "HTTPS requests are logged as tls=1" \
    grep -qE "path=/readyz status=200 .* tls=1" "$OTAD_LOG"
check "one log line per request with status and duration" \
    grep -qE 'method=GET path=/api/v1/images status=401 bytes=[0-9]+ duration_ms=' "$OTAD_LOG"

otad_stop
expect_eq "SIGTERM: clean exit 0" 0 "$?"
check "sanitizers report nothing" sanitizer_clean
check "port_file removed at a clean stop" test ! -e "$PORT_FILE"

# A database made readable by others (an old otad, a restore) is made
# private again at start.
if sqlite_only "an open otad.db is made 0600"; then
	chmod 644 "$DATA/otad.db"
	otad_start || exit 1
	expect_eq "an open otad.db is made 0600 at start" 600 \
	    "$(stat -c %a "$DATA/otad.db")"
	check "and the change is logged" grep -q 'was readable by others' \
	    "$OTAD_LOG"
	otad_stop
fi

# Configuration errors name the file, line and key, and stop the start.
printf 'https_port = 8443\nbogus_key = 1\n' >"$T/bad.conf"
"$OTAD_BIN" --config "$T/bad.conf" >"$T/out" 2>&1
expect_eq "unknown key stops the start" 1 "$?"
check "unknown key message names file, line and key" \
    grep -q "bad.conf:2: key 'bogus_key'" "$T/out"
printf 'http_threads = lots\n' >"$T/bad2.conf"
"$OTAD_BIN" --config "$T/bad2.conf" >"$T/out" 2>&1
check "bad value message names the key" grep -q "bad2.conf:1: key 'http_threads'" "$T/out"
OTAD_HTTPS_PORT=99999 "$OTAD_BIN" --check-config >"$T/out" 2>&1
check "bad environment value names the variable" grep -q OTAD_HTTPS_PORT "$T/out"
"$OTAD_BIN" --config "$T/missing.conf" >"$T/out" 2>&1
check "unreadable config file stops the start" sh -c "test $? -ne 0 && grep -q missing.conf '$T/out'"
"$OTAD_BIN" --config "$TESTS_DIR/../config/otad.conf" --check-config >"$T/out" 2>&1
check "shipped config/otad.conf is valid" grep -q 'configuration OK' "$T/out"

# One release key under two ids would let one signer count twice toward
# release_signatures_required: refused at start.
cp "$DATA/release-keys/release.pub" "$DATA/release-keys/twin.pub"
timeout 20 "$OTAD_BIN" >"$T/out" 2>&1
check "one key under two key ids stops the start" sh -c \
    "test $? -ne 0 && grep -q 'one public key under two key ids' '$T/out'"
rm "$DATA/release-keys/twin.pub"

# A database from a newer otad is refused and left untouched.
sql "INSERT INTO schema_migrations VALUES (9999, '9999_future', '2030-01-01T00:00:00Z')"
before=$(db_fingerprint)
"$OTAD_BIN" >"$T/out" 2>&1 &
pid=$!
i=0
while kill -0 $pid 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
if kill -0 $pid 2>/dev/null; then kill -KILL $pid; fi
wait $pid
rc=$?
check "newer schema: otad refuses to start" test "$rc" -ne 0
check "newer schema: message says so" grep -qi 'newer' "$T/out"
expect_eq "newer schema: database unchanged" "$before" "$(db_fingerprint)"
finish
