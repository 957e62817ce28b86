#!/bin/sh
# The database setting as an operator writes it: "sqlite" (the default,
# <data_dir>/otad.db) or a PostgreSQL conninfo, with the password in
# database_password_file (never in the target, never logged).  otad and
# otactl read the same setting (file or OTAD_* variables) and open the
# same store; /readyz follows the database, down and back.  A database
# that cannot be reached stops the start with a message that holds no
# password.
. "$(dirname "$0")/../lib.sh"

otad_setup

# readyz: the status code of GET /readyz.
readyz() {
	api GET /readyz ""
	echo "$STATUS"
}

# ---- unreachable: the start stops, the password is not printed ---------
NOPORT=$(random_port)
OTAD_DATABASE="postgresql://otad:SECRETPW@127.0.0.1:$NOPORT/none" \
    timeout 60 "$OTAD_BIN" >"$T/out" 2>&1
check "an unreachable PostgreSQL stops the start" test "$?" -ne 0 -a "$?" -ne 124
check "the error names the database" grep -qi 'database\|postgres' "$T/out"
check "the error holds no password" sh -c "! grep -q SECRETPW '$T/out'"
"$OTACTL_BIN" token list --database \
    "postgresql://otad:SECRETPW@127.0.0.1:$NOPORT/none" >"$T/out" 2>&1
check "otactl: an unreachable database fails" test "$?" -eq 1
check "otactl: the error holds no password" sh -c "! grep -q SECRETPW '$T/out'"

if [ "$STORE" = sqlite ]; then
	# ---- "sqlite": the file in the data directory -------------------
	export OTAD_DATABASE=sqlite
	otad_start || exit 1
	expect_eq "database = sqlite: ready" 200 "$(readyz)"
	check "database = sqlite is <data_dir>/otad.db" test -s "$DATA/otad.db"
	ADMIN=$("$OTACTL_BIN" token create --data-dir "$DATA" --role admin \
	    --name ops)
	api GET /api/v1/images "$ADMIN"
	expect_eq "otactl reads database = sqlite too: its token works" 200 \
	    "$STATUS"
	"$OTACTL_BIN" token list --database "$DATA/otad.db" >"$T/tokens"
	check "otactl --database PATH: the same tokens" grep -q ops "$T/tokens"
	otad_stop
	expect_eq "clean exit" 0 "$?"
	finish
	exit
fi

# ---- PostgreSQL with a password file ------------------------------------
db_new "$TEST_PG_PW_USER" || { fail "a database for the password role"; exit 1; }
PWDB=$db
PW_TARGET=$(printf '%s\n' "$DB_NEW" | sed "s/user=[^ ]*/user=$TEST_PG_PW_USER/")
printf 'wrong-password\n' >"$T/badpass"
printf '%s\n' "$TEST_PG_PW_SECRET" >"$T/pgpass"
chmod 600 "$T/badpass" "$T/pgpass"

OTAD_DATABASE="$PW_TARGET" OTAD_DATABASE_PASSWORD_FILE="$T/badpass" \
    timeout 60 "$OTAD_BIN" >"$T/out" 2>&1
check "a wrong password stops the start" test "$?" -ne 0 -a "$?" -ne 124
check "and says why" grep -qi 'password\|authentication' "$T/out"
check "without printing it" sh -c "! grep -q wrong-password '$T/out'"

export OTAD_DATABASE="$PW_TARGET"
export OTAD_DATABASE_PASSWORD_FILE="$T/pgpass"
otad_start || exit 1
expect_eq "password file: ready" 200 "$(readyz)"
check "the password is not logged" sh -c \
    "! grep -q '$TEST_PG_PW_SECRET' '$OTAD_LOG'"
# otactl reads database and database_password_file from the environment
# as otad does, and from a configuration file.
ADMIN=$("$OTACTL_BIN" token create --role admin --name ops)
api GET /api/v1/images "$ADMIN"
expect_eq "otactl token (OTAD_DATABASE): the token works on otad" 200 "$STATUS"
printf 'database = %s\ndatabase_password_file = %s\n' "$PW_TARGET" \
    "$T/pgpass" >"$T/otad.conf"
(unset OTAD_DATABASE OTAD_DATABASE_PASSWORD_FILE &&
    "$OTACTL_BIN" --config "$T/otad.conf" token create --role viewer \
    --name dash) >"$T/view.token"
api GET /api/v1/images "$(cat "$T/view.token")"
expect_eq "otactl --config: the token works on otad" 200 "$STATUS"
(unset OTAD_DATABASE OTAD_DATABASE_PASSWORD_FILE &&
    "$OTACTL_BIN" --database "$PW_TARGET" token revoke dash) >/dev/null 2>&1
check "otactl --database: revoke without the password fails" test "$?" -ne 0
"$OTACTL_BIN" --database "$PW_TARGET" token revoke dash >/dev/null
api GET /api/v1/images "$(cat "$T/view.token")"
expect_eq "otactl --database (password file from the environment): revoked" \
    401 "$STATUS"

# ---- /readyz follows the database -----------------------------------------
psql -X -q -d "$TEST_PG_ADMIN" -c "ALTER DATABASE $PWDB ALLOW_CONNECTIONS false" \
    -c "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
        WHERE datname = '$PWDB'" >/dev/null
wait_for "database gone: not ready" 503 15 readyz
check "otad still answers /healthz" curl -sf --cacert "$DATA/tls/cert.pem" \
    "$BASE/healthz"
psql -X -q -d "$TEST_PG_ADMIN" \
    -c "ALTER DATABASE $PWDB ALLOW_CONNECTIONS true" >/dev/null
wait_for "database back: ready again" 200 30 readyz
api GET /api/v1/images "$ADMIN"
expect_eq "and it serves again" 200 "$STATUS"
otad_stop
expect_eq "clean exit" 0 "$?"
finish
