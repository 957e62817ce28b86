# pg.sh: pg_start and pg_stop, a private PostgreSQL cluster for the tests
# (POSIX sh, sourced; tests/run.sh starts one for a whole run).  The
# cluster lives in a temporary directory, listens on 127.0.0.1 only, on a
# random port (tests/ports.sh), and is removed by pg_stop, which callers
# run from their exit trap.  PostgreSQL refuses to run as root: as root
# the server runs as the system user $PG_USER (created when missing, no
# login); as anyone else, as the current user.  PG_FSYNC (default on)
# sets fsync (PG_CONF_EXTRA: more postgresql.conf lines, for diagnosis):
# tests/run.sh turns it off, since no test kills PostgreSQL or
# the machine (what otad commits survives otad's kill -9 either way, and
# synchronous_commit stays on); the benchmarks keep it on, as in production.
#
# pg_start exports:
#   OTAD_TEST_PG       keyword conninfo of database otad as role otad
#                      (trusted on 127.0.0.1, may create databases)
#   OTAD_TEST_PG_ADMIN the same as the superuser, database postgres
#   OTAD_TEST_PG_PW_USER, OTAD_TEST_PG_PW_SECRET
#                      a role (CREATEDB) that must log in with this
#                      password (scram-sha-256): for database_password_file
# Every function keeps its state in PG_* / _pg_* globals (sh has no locals).

: "${PG_USER:=otadpg}"
PG_DIR=""
PG_PORT=""

# pg_bindir: prints the directory of initdb, pg_ctl and postgres
# (PG_BINDIR, else Debian's postgresql-15, else the newest installed).
pg_bindir() {
	if [ -n "${PG_BINDIR:-}" ]; then
		[ -x "$PG_BINDIR/initdb" ] || return 1
		echo "$PG_BINDIR"
		return 0
	fi
	for _pg_b in /usr/lib/postgresql/15/bin \
	    $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -rV); do
		if [ -x "$_pg_b/initdb" ] && [ -x "$_pg_b/postgres" ]; then
			echo "$_pg_b"
			return 0
		fi
	done
	command -v initdb >/dev/null 2>&1 || return 1
	dirname "$(command -v initdb)"
}

# pg_as COMMAND...: runs COMMAND as the cluster's owner.
pg_as() {
	if [ "$(id -u)" = 0 ]; then
		runuser -u "$PG_USER" -- "$@"
	else
		"$@"
	fi
}

# pg_user_ensure: as root, creates the system user PG_USER when missing.
pg_user_ensure() {
	[ "$(id -u)" = 0 ] || return 0
	id -u "$PG_USER" >/dev/null 2>&1 && return 0
	useradd --system --user-group --no-create-home --home-dir /nonexistent \
	    --shell /usr/sbin/nologin "$PG_USER" 2>/dev/null ||
	    id -u "$PG_USER" >/dev/null 2>&1
}

# pg_psql_admin SQL: runs SQL as the superuser on database postgres.
pg_psql_admin() {
	psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PG_PORT" -U postgres \
	    -d postgres -c "$1" >/dev/null
}

# pg_conf: the cluster's settings and who may connect how.  Trust for
# 127.0.0.1 (and the socket in PG_DIR, which only the owner reaches)
# except the password role; nothing else listens.
pg_conf() {
	cat >>"$PG_DIR/data/postgresql.conf" <<EOF
listen_addresses = '127.0.0.1'
unix_socket_directories = '$PG_DIR'
max_connections = 300
shared_buffers = 64MB
fsync = ${PG_FSYNC:-on}
synchronous_commit = on
full_page_writes = ${PG_FSYNC:-on}
max_wal_size = 256MB
logging_collector = off
log_min_messages = warning
log_line_prefix = '%m [%p] %u@%d '
${PG_CONF_EXTRA:-}
EOF
	cat >"$PG_DIR/data/pg_hba.conf" <<EOF
local all all trust
host all $OTAD_TEST_PG_PW_USER 127.0.0.1/32 scram-sha-256
host all all 127.0.0.1/32 trust
EOF
}

# pg_try_port: starts the server on a new random port; 0 when it
# accepts connections, 2 when the port was taken, 1 on any other failure.
pg_try_port() {
	PG_PORT=$(random_port)
	rm -f "$PG_DIR/log"
	pg_as "$_pg_bin/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/log" -w -t 60 \
	    -o "-p $PG_PORT" start >/dev/null 2>&1 || {
		grep -q 'Address already in use\|could not bind' \
		    "$PG_DIR/log" && return 2
		return 1
	}
	_pg_i=0
	while [ $_pg_i -lt 100 ]; do
		pg_isready -q -h 127.0.0.1 -p "$PG_PORT" -t 1 && return 0
		sleep 0.1
		_pg_i=$((_pg_i + 1))
	done
	return 1
}

# pg_start: creates and starts the cluster, its roles and database otad,
# and exports OTAD_TEST_PG* (above).  Returns non-zero, after printing why
# and the server's log, when any step fails; call pg_stop anyway.
pg_start() {
	_pg_bin=$(pg_bindir) || {
		echo "pg_start: no PostgreSQL server (postgresql-15) installed" >&2
		return 1
	}
	pg_user_ensure || {
		echo "pg_start: cannot create user $PG_USER" >&2
		return 1
	}
	PG_DIR=$(mktemp -d /tmp/otad-pg.XXXXXX) || return 1
	[ "$(id -u)" != 0 ] || chown "$PG_USER:" "$PG_DIR"
	chmod 700 "$PG_DIR"
	OTAD_TEST_PG_PW_USER=otadpw
	OTAD_TEST_PG_PW_SECRET=$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')
	pg_as "$_pg_bin/initdb" -D "$PG_DIR/data" -U postgres -A trust \
	    -E UTF8 --locale=C -N >"$PG_DIR/initdb.log" 2>&1 || {
		echo "pg_start: initdb failed:" >&2
		cat "$PG_DIR/initdb.log" >&2
		return 1
	}
	pg_conf
	_pg_tries=0
	while :; do
		pg_try_port
		_pg_rc=$?
		[ $_pg_rc -eq 0 ] && break
		_pg_tries=$((_pg_tries + 1))
		if [ $_pg_rc -ne 2 ] || [ $_pg_tries -ge 5 ]; then
			echo "pg_start: the server did not start:" >&2
			tail -n 30 "$PG_DIR/log" >&2
			return 1
		fi
	done
	{ pg_psql_admin "CREATE ROLE otad LOGIN CREATEDB" &&
	    pg_psql_admin "CREATE DATABASE otad OWNER otad" &&
	    pg_psql_admin "CREATE ROLE $OTAD_TEST_PG_PW_USER LOGIN CREATEDB
	    PASSWORD '$OTAD_TEST_PG_PW_SECRET'"; } || {
		echo "pg_start: creating the roles failed" >&2
		return 1
	}
	OTAD_TEST_PG="host=127.0.0.1 port=$PG_PORT user=otad dbname=otad"
	OTAD_TEST_PG_ADMIN="host=127.0.0.1 port=$PG_PORT user=postgres dbname=postgres"
	export OTAD_TEST_PG OTAD_TEST_PG_ADMIN OTAD_TEST_PG_PW_USER \
	    OTAD_TEST_PG_PW_SECRET
	echo "pg_start: PostgreSQL $("$_pg_bin/postgres" -V | sed 's/^[^0-9]*\([0-9.]*\).*/\1/') on 127.0.0.1:$PG_PORT in $PG_DIR" >&2
}

# pg_stop: stops the cluster (fast shutdown, bounded, then SIGKILL) and
# removes its directory.  Safe to call twice, or after a failed pg_start.
pg_stop() {
	[ -n "$PG_DIR" ] || return 0
	if [ -f "$PG_DIR/data/postmaster.pid" ]; then
		_pg_bin=$(pg_bindir)
		pg_as "$_pg_bin/pg_ctl" -D "$PG_DIR/data" -m fast -w -t 30 \
		    stop >/dev/null 2>&1 || {
			_pg_pid=$(head -n 1 "$PG_DIR/data/postmaster.pid" 2>/dev/null)
			[ -n "$_pg_pid" ] && kill -KILL "$_pg_pid" 2>/dev/null
			sleep 0.5
		}
	fi
	rm -rf "$PG_DIR"
	PG_DIR=""
	unset OTAD_TEST_PG OTAD_TEST_PG_ADMIN OTAD_TEST_PG_PW_USER \
	    OTAD_TEST_PG_PW_SECRET
}
