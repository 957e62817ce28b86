# nodes.sh: several otad nodes on one database, for the integration
# scripts that need them (POSIX sh, sourced after lib.sh and otad_setup).
# Node 1 is lib.sh's otad (data directory $T/var); node I > 1 has its own
# data directory $T/varI (its own lock, TLS certificate and blobs) with
# node 1's release keyring and server key, and the same database: the
# OTAD_DATABASE the environment sets (PostgreSQL), else node 1's SQLite
# file by its path.  node_use I points lib.sh's helpers (api, otad_stop,
# log_wait, ...) at node I.

NODES_STARTED=""

# node_dir I: node I's data directory.
node_dir() {
	if [ "$1" -eq 1 ]; then echo "$T/var"; else echo "$T/var$1"; fi
}

# node_use I: makes node I lib.sh's current otad: DATA, PORT_FILE,
# OTAD_LOG, OTAD_PID, BASE and PLAIN (once it wrote its ports).
node_use() {
	NODE_CUR=$1
	DATA=$(node_dir "$1")
	PORT_FILE="$T/node$1.ports"
	OTAD_LOG="$T/node$1.log"
	[ "$1" -eq 1 ] && OTAD_LOG="$T/otad.log"
	eval "OTAD_PID=\${NODE_PID_$1:-}"
	export OTAD_DATA_DIR="$DATA"
	export OTAD_PORT_FILE="$PORT_FILE"
	otad_read_ports || true
}

# node_save: remembers the current node's pid (after a start or stop).
node_save() {
	eval "NODE_PID_$NODE_CUR=\$OTAD_PID"
}

# node_prepare I: node I's data directory, for I > 1 once node 1 has
# started (it made the server key and the database).  KEY=other gives the
# node a server key of its own instead of node 1's.
node_prepare() {
	d=$(node_dir "$1")
	mkdir -p "$d/release-keys"
	chmod 700 "$d"
	cp "$T/var/release-keys/"* "$d/release-keys/"
	if [ "${KEY:-same}" = same ]; then
		cp "$T/var/server.key" "$d/server.key"
	fi
}

# nodes_database: exports OTAD_DATABASE, the database every node uses
# (node 1's SQLite file unless the environment chose one), or ends the
# script, passing, with the reason printed when this otad cannot be
# pointed at another node's database.
nodes_database() {
	[ -n "${OTAD_DATABASE:-}" ] && return 0
	export OTAD_DATABASE="$T/var/otad.db"
	if ! "$OTAD_BIN" --check-config >/dev/null 2>&1; then
		echo "skipped: this otad has no 'database' setting to share"
		pass "skipped: no 'database' setting (several nodes need one)"
		exit 0
	fi
}

# node_start I [ARGS]: starts node I (otad_start: a failed start is a
# failed check and returns 1).
node_start() {
	n=$1
	shift
	node_use "$n"
	otad_start "$@"
	rc=$?
	node_save
	case " $NODES_STARTED " in *" $n "*) ;; *) NODES_STARTED="$NODES_STARTED $n" ;; esac
	return $rc
}

# node_stop I: stops node I (otad_stop); node_kill9 I: kills it.
node_stop() {
	node_use "$1"
	otad_stop
	rc=$?
	node_save
	return $rc
}
node_kill9() {
	node_use "$1"
	otad_kill9
	node_save
}

# nodes_stop: stops every node still running (the exit hook, too).
nodes_stop() {
	for n in $NODES_STARTED; do
		eval "p=\${NODE_PID_$n:-}"
		[ -n "$p" ] && node_stop "$n" >/dev/null 2>&1
	done
	node_use 1
}
EXTRA_CLEANUP="${EXTRA_CLEANUP:+$EXTRA_CLEANUP; }nodes_stop"
