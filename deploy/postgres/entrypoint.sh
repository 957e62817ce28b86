#!/bin/sh
# Starts PostgreSQL as user postgres.  When PGDATA holds no cluster yet:
# initdb (scram-sha-256 over TCP, peer on the socket), a role
# ${POSTGRES_USER:-otad} that may log in with the password in
# POSTGRES_PASSWORD_FILE, and its database ${POSTGRES_DB:-otad} (UTF8,
# collation C: otad compares and orders text bytewise, and checks).  Runs as
# root only to read the secret and fix the volume's owner.
set -eu

: "${PGDATA:=/var/lib/postgresql/data}"
user=${POSTGRES_USER:-otad}
db=${POSTGRES_DB:-otad}
as_pg() { setpriv --reuid=postgres --regid=postgres --init-groups "$@"; }

chown postgres:postgres "$PGDATA"
chmod 0700 "$PGDATA"
if [ ! -s "$PGDATA/PG_VERSION" ]; then
	[ -r "${POSTGRES_PASSWORD_FILE:-}" ] || {
		echo "POSTGRES_PASSWORD_FILE is not a readable file" >&2
		exit 1
	}
	pw=$(head -n 1 "$POSTGRES_PASSWORD_FILE")
	as_pg initdb -D "$PGDATA" -U postgres -E UTF8 --locale=C.UTF-8 \
	    --auth-local=peer --auth-host=scram-sha-256 >/dev/null
	cat >>"$PGDATA/postgresql.conf" <<CONF
listen_addresses = '*'
unix_socket_directories = '/tmp'
max_connections = ${POSTGRES_MAX_CONNECTIONS:-200}
password_encryption = scram-sha-256
CONF
	echo "host all all 0.0.0.0/0 scram-sha-256" >>"$PGDATA/pg_hba.conf"
	echo "host all all ::/0 scram-sha-256" >>"$PGDATA/pg_hba.conf"
	as_pg pg_ctl -D "$PGDATA" -w -o "-c listen_addresses=''" start >/dev/null
	printf '%s\n' \
	    "CREATE ROLE \"$user\" LOGIN PASSWORD :'pw';" \
	    "CREATE DATABASE \"$db\" OWNER \"$user\" TEMPLATE template0" \
	    "ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C';" |
	    as_pg psql -X -q -v ON_ERROR_STOP=1 -v pw="$pw" -h /tmp \
	    -U postgres -d postgres
	as_pg pg_ctl -D "$PGDATA" -w -m fast stop >/dev/null
	echo "initialised $PGDATA: role $user, database $db" >&2
fi
exec setpriv --reuid=postgres --regid=postgres --init-groups \
    postgres -D "$PGDATA"
