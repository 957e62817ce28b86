# lib.sh: shared helpers for integration tests (POSIX sh, sourced).
#
# Each test script sources this, calls otad_setup and otad_start, drives
# the real daemon over HTTPS with curl and otactl, and records every check
# with pass/fail (to $RESULT_FILE, read by tests/run.sh).  All servers are
# on 127.0.0.1 with random ports; everything is removed on exit.

set -u
: "${OTAD_BIN:?OTAD_BIN must point at the otad binary}"
: "${OTACTL_BIN:?OTACTL_BIN must point at the otactl binary}"
: "${RESULT_FILE:=/dev/null}"
# otad refuses unknown OTAD_* variables: keep the binaries' paths as
# plain shell variables, not in the environment otad inherits.
_b=$OTAD_BIN; _c=$OTACTL_BIN
unset OTAD_BIN OTACTL_BIN
OTAD_BIN=$_b; OTACTL_BIN=$_c
# The store under test: PostgreSQL when the runner set OTAD_TEST_PG (a
# cluster of tests/pg.sh), else SQLite.  Kept as shell variables too.
_p=${OTAD_TEST_PG:-}; _pa=${OTAD_TEST_PG_ADMIN:-}
_pu=${OTAD_TEST_PG_PW_USER:-}; _ps=${OTAD_TEST_PG_PW_SECRET:-}
unset OTAD_TEST_PG OTAD_TEST_PG_ADMIN OTAD_TEST_PG_PW_USER OTAD_TEST_PG_PW_SECRET
TEST_PG=$_p; TEST_PG_ADMIN=$_pa; TEST_PG_PW_USER=$_pu; TEST_PG_PW_SECRET=$_ps
# RECORD: a file (tests/run.sh's OTAD_RECORD) to which ddi (so api,
# post_json, events) appends every answer, for test_openapi.sh to
# validate against docs/openapi.json; empty: nothing recorded.
_r=${OTAD_RECORD:-}
unset OTAD_RECORD
RECORD=$_r
rreq=""
STORE=sqlite
[ -z "$TEST_PG" ] || STORE=pg
# PG_DBS: the databases this script created (db_new), dropped at exit.
PG_DBS=""
TESTS_DIR=$(cd "$(dirname "$0")/.." && pwd)
. "$TESTS_DIR/ports.sh"
T=$(mktemp -d /tmp/otad-test.XXXXXX)
DATA="$T/var"
OTAD_PID=""
OTAD_LOG="$T/otad.log"
NCHECK=0

MQ_PID=""
# Sanitizer reports of every instrumented process the script starts (otad,
# otactl, mqtt_load) go to files here, not to stderr, so none can be lost
# in an output nobody reads; sanitizer_clean and the exit hook read them.
SAN_DIR="$T/sanitizer"
mkdir -p "$SAN_DIR"
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:halt_on_error=1}:log_path=$SAN_DIR/asan"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}:log_path=$SAN_DIR/ubsan"
SAN_REPORTED=0

# san_check: records one failed check (once per script) when a sanitizer
# report exists, in a file of $SAN_DIR or in otad's log.  cleanup prints
# the reports at exit: there no caller's redirection (check ... otad_stop,
# cleanup's own otad_stop) can hide them, and later ones are included.
san_check() {
	[ "$SAN_REPORTED" -eq 0 ] || return 0
	sanitizer_clean && return 0
	SAN_REPORTED=1
	fail "sanitizer report (see below)"
}

cleanup() {
	st=$?
	# A stop, not a kill: leak reports are written at exit.
	if [ -n "$OTAD_PID" ]; then
		otad_stop >/dev/null 2>&1
	fi
	if [ -n "$MQ_PID" ]; then
		kill -KILL "$MQ_PID" 2>/dev/null
		wait "$MQ_PID" 2>/dev/null
	fi
	[ -n "${EXTRA_CLEANUP:-}" ] && eval "$EXTRA_CLEANUP"
	for db in $PG_DBS; do
		psql -X -q -d "${TEST_PG_ADMIN:-$TEST_PG}" \
		    -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1
	done
	san_check
	if [ "$SAN_REPORTED" -ne 0 ]; then
		st=1
		echo "--- sanitizer reports:"
		cat "$SAN_DIR"/* 2>/dev/null | head -n 60
		grep -E -A20 'ERROR: (Address|Leak)Sanitizer|runtime error:' \
		    "$OTAD_LOG" 2>/dev/null | head -n 60
	fi
	# Something failed: otad's last words, for whoever reads the run.
	if [ "$st" -ne 0 ] && [ -s "$OTAD_LOG" ]; then
		echo "--- last lines of otad's log:"
		tail -n 40 "$OTAD_LOG"
	fi
	rm -rf "$T"
	exit "$st"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

pass() {
	NCHECK=$((NCHECK + 1))
	echo "pass $*" >>"$RESULT_FILE"
	echo "ok   $*"
}

fail() {
	NCHECK=$((NCHECK + 1))
	echo "fail $*" >>"$RESULT_FILE"
	echo "FAIL $*"
}

# check DESCRIPTION COMMAND...: passes when COMMAND succeeds.
check() {
	d=$1
	shift
	if "$@" >/dev/null 2>&1; then pass "$d"; else fail "$d"; fi
}

# expect_eq DESCRIPTION EXPECTED ACTUAL
expect_eq() {
	if [ "$2" = "$3" ]; then
		pass "$1"
	else
		fail "$1 (expected '$2', got '$3')"
	fi
}

# otad_setup: data dir, a release key pair in the keyring, env.  otad
# binds ports the OS picks and writes them to $PORT_FILE; otad_start
# reads them into HTTPS_PORT, HTTP_PORT, BASE and PLAIN, anew at every
# start, so no port can be taken by someone else in between.
otad_setup() {
	mkdir -p "$DATA/release-keys" "$T/keys"
	PORT_FILE="$T/otad.ports"
	export OTAD_DATA_DIR="$DATA"
	export OTAD_HTTPS_PORT=auto
	export OTAD_HTTP_PORT=auto
	export OTAD_PORT_FILE="$PORT_FILE"
	export OTAD_LISTEN_ADDRESS=127.0.0.1
	export OTAD_LOG_LEVEL=info
	# The injectable clock (clock_set): no file, the real time.
	export OTAD_TEST_CLOCK_FILE="$T/clock"
	if [ "$STORE" = pg ]; then
		db_new || { fail "a PostgreSQL database"; exit 1; }
		DB_TARGET=$DB_NEW
		export OTAD_DATABASE="$DB_TARGET"
	else
		DB_TARGET="$DATA/otad.db"
	fi
	"$OTACTL_BIN" keygen --out "$T/keys/release" >/dev/null ||
		{ fail "otactl keygen"; exit 1; }
	cp "$T/keys/release.pub" "$DATA/release-keys/release.pub"
}

# clock_set SECONDS: moves otad's wall clock SECONDS (signed) away from
# the real time from its next reading on (the config key test_clock_file):
# windows, deadlines and timeouts are reached without sleeping.  The file
# is replaced whole, so otad never reads half a number.  clock_set 0 puts
# the clock back.
clock_set() {
	printf '%s\n' "$1" >"$T/clock.new" && mv "$T/clock.new" "$T/clock"
}

# clock_at RFC3339: clock_set to the offset that makes otad's clock read
# the UTC time RFC3339 ("2099-03-01T00:00:05Z") now.
clock_at() {
	clock_set $(($(date -u -d "$1" +%s) - $(date -u +%s)))
}

# otad_read_ports: sets HTTPS_PORT, HTTP_PORT, BASE and PLAIN from
# $PORT_FILE; false while otad has not written it.
otad_read_ports() {
	[ -s "$PORT_FILE" ] || return 1
	HTTPS_PORT=$(sed -n 's/^https_port=//p' "$PORT_FILE")
	HTTP_PORT=$(sed -n 's/^http_port=//p' "$PORT_FILE")
	[ -n "$HTTPS_PORT" ] && [ -n "$HTTP_PORT" ] || return 1
	BASE="https://127.0.0.1:$HTTPS_PORT"
	PLAIN="http://127.0.0.1:$HTTP_PORT"
}

# otad_start [ARGS]: starts otad in the background and waits (bounded)
# until it has written its ports and answers /healthz.  A start that fails
# is a failed check (a daemon that cannot restart after a crash is the very
# thing a test must catch), and returns 1.
otad_start() {
	rm -f "$PORT_FILE"
	"$OTAD_BIN" "$@" >>"$OTAD_LOG" 2>&1 &
	OTAD_PID=$!
	i=0
	while [ $i -lt 300 ]; do
		if otad_read_ports && [ -f "$DATA/tls/cert.pem" ] &&
		    curl -s -o /dev/null --max-time 5 \
		    --cacert "$DATA/tls/cert.pem" "$BASE/healthz" 2>/dev/null
		then
			return 0
		fi
		if ! kill -0 "$OTAD_PID" 2>/dev/null; then
			wait "$OTAD_PID" 2>/dev/null
			echo "otad exited during start:" >&2
			tail -n 40 "$OTAD_LOG" >&2
			OTAD_PID=""
			fail "otad starts (it exited)"
			return 1
		fi
		sleep 0.1
		i=$((i + 1))
	done
	echo "otad did not become healthy in 30 s" >&2
	tail -n 40 "$OTAD_LOG" >&2
	fail "otad starts (not healthy in 30 s)"
	return 1
}

# otad_stop: SIGTERM, waits (bounded, then SIGKILL); returns otad's exit
# status.  A sanitizer report (leaks are reported at exit) is then a
# failed check.
otad_stop() {
	[ -n "$OTAD_PID" ] || return 0
	kill -TERM "$OTAD_PID" 2>/dev/null
	i=0
	while kill -0 "$OTAD_PID" 2>/dev/null && [ $i -lt 300 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	if kill -0 "$OTAD_PID" 2>/dev/null; then
		echo "otad did not stop in 30 s: killed" >&2
		kill -KILL "$OTAD_PID" 2>/dev/null
	fi
	wait "$OTAD_PID"
	rc=$?
	OTAD_PID=""
	san_check
	return $rc
}

# otad_kill9: the crash case.
otad_kill9() {
	[ -n "$OTAD_PID" ] || return 0
	kill -KILL "$OTAD_PID" 2>/dev/null
	wait "$OTAD_PID" 2>/dev/null
	OTAD_PID=""
}

# sanitizer_clean: true when no ASan/UBSan/LSan report was written, by any
# instrumented process of the script, to $SAN_DIR or otad's log.
sanitizer_clean() {
	for f in "$SAN_DIR"/*; do
		[ -e "$f" ] && return 1
	done
	! grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:' \
	    "$OTAD_LOG" 2>/dev/null
}

# token ROLE NAME: creates an API token with otactl, in the database of
# the otad under test, and prints it.
token() {
	"$OTACTL_BIN" token create --data-dir "$DATA" \
	    ${OTAD_DATABASE:+--database "$OTAD_DATABASE"} --role "$1" --name "$2"
}

# tokens: the API tokens ADMIN (admin "ops"), REL (release "ci") and VIEW
# (viewer "dash").
tokens() {
	ADMIN=$(token admin ops)
	REL=$(token release ci)
	VIEW=$(token viewer dash)
}

# groups_create NAME...: creates each group as ADMIN, a check each.
groups_create() {
	for g in "$@"; do
		post_json /api/v1/groups "$ADMIN" "{\"name\":\"$g\"}"
		expect_eq "group $g created" 201 "$STATUS"
	done
}

# ddi METHOD PATH AUTH [curl args...]: HTTPS request to PATH under $BASE,
# verifying the dev certificate, with the header "Authorization: AUTH"
# (none when AUTH is ""), e.g. a hawkBit DDI request to "$DDI/dev-1".
# Sets STATUS; the body is in $T/body, headers in $T/headers.  It sets
# the globals m, p, auth, rst and rreq (api also tok, record_answer rct,
# rq and rbody; sh has no locals): a caller's loop must not use those names.
DDI="/DEFAULT/controller/v1"
ddi() {
	m=$1
	p=$2
	auth=$3
	shift 3
	if [ -n "$auth" ]; then
		set -- -H "Authorization: $auth" "$@"
	fi
	rst=$(curl -s -o "$T/body" -D "$T/headers" \
	    -w '%{http_code} %{content_type}' \
	    --cacert "$DATA/tls/cert.pem" -X "$m" "$@" "$BASE$p")
	STATUS=${rst%% *}
	[ -z "$RECORD" ] || record_answer "${rst#* }"
	rreq=""
}

# record_answer CONTENT-TYPE: appends the last ddi answer to $RECORD as
# three lines: "REC METHOD STATUS CONTENT-TYPE PATH", the JSON request
# body post_json sent (else an empty line), and the answer's body when it
# is JSON, else an empty line (raw newlines, only ever whitespace in
# JSON, as spaces).  One printf: one answer is one append.
record_answer() {
	rct=${1%%;*}
	rbody=""
	case "$rct" in
	application/json) rbody=$(tr '\n' ' ' <"$T/body") ;;
	esac
	rq=""
	[ -z "$rreq" ] || rq=$(printf '%s' "$rreq" | tr '\n' ' ')
	printf 'REC %s %s %s %s\n%s\n%s\n' "$m" "$STATUS" "${rct:--}" "$p" \
	    "$rq" "$rbody" >>"$RECORD"
}

# api METHOD PATH TOKEN [curl args...]: ddi with "Bearer TOKEN" (no
# header when TOKEN is ""); sets STATUS, $T/body and $T/headers.
api() {
	m=$1
	p=$2
	tok=$3
	shift 3
	ddi "$m" "$p" "${tok:+Bearer $tok}" "$@"
}

# post_json PATH TOKEN JSON: POST with a JSON body; sets STATUS (as api).
post_json() {
	rreq=$3
	api POST "$1" "$2" -H 'Content-Type: application/json' --data-binary "$3"
}

# events DEVICE TOKEN JSON: POSTs the device's update events; sets STATUS
# (as api).
events() {
	post_json "/api/v1/devices/$1/events" "$2" "$3"
}

# db_new [OWNER]: creates a fresh, empty PostgreSQL database
# (t_<script>_<random>, dropped at exit) owned by OWNER (default: the role
# of OTAD_TEST_PG) and sets DB_NEW to its conninfo as that role (not in a
# $(...): the drop list is this shell's).  Only when STORE is pg.
db_new() {
	db=t_$(basename "$0" .sh | sed 's/^test_//; s/[^a-z0-9_]/_/g' |
	    cut -c1-30)_$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')
	owner=${1:-$(printf ' %s\n' "$TEST_PG" | sed -n 's/.* user=\([^ ]*\).*/\1/p')}
	psql -X -q -v ON_ERROR_STOP=1 -d "${TEST_PG_ADMIN:-$TEST_PG}" \
	    -c "CREATE DATABASE $db${owner:+ OWNER $owner}" >/dev/null || return 1
	PG_DBS="$PG_DBS $db"
	case " $TEST_PG " in
	*" dbname="*) DB_NEW=$(printf '%s\n' "$TEST_PG" |
	    sed "s/\(^\| \)dbname=[^ ]*/\1dbname=$db/") ;;
	*) DB_NEW="$TEST_PG dbname=$db" ;;
	esac
}

# sql QUERY: runs QUERY (one or more statements) on the running otad's
# database, $DB_TARGET, and prints the rows of each as SQLite's shell
# does: columns separated by '|', NULL as nothing, no header.  On SQLite it
# waits up to 5 s for the locks.  QUERY must be portable SQL (no
# strftime, group_concat, zeroblob: see ago, sql_blob, and sort | paste).
sql() {
	if [ "$STORE" = pg ]; then
		psql -X -A -t -q -v ON_ERROR_STOP=1 -d "$DB_TARGET" -c "$1"
	else
		sqlite3 -cmd '.timeout 5000' "$DATA/otad.db" "$1"
	fi
}

# sql_blob HEX: an SQL literal of the bytes HEX for the store under test.
sql_blob() {
	if [ "$STORE" = pg ]; then
		printf "'\\\\x%s'::bytea" "$1"
	else
		printf "X'%s'" "$1"
	fi
}

# ago SECONDS: the UTC time SECONDS ago as otad stores it
# (2026-01-02T03:04:05Z), for rows planted with sql.
ago() {
	date -u -d "@$(($(date +%s) - $1))" +%Y-%m-%dT%H:%M:%SZ
}

# db_fingerprint: a digest of the whole database under test, to check that
# something left it untouched (otad stopped).
db_fingerprint() {
	if [ "$STORE" = pg ]; then
		# pg_dump's \restrict lines carry a random key.
		pg_dump -d "$DB_TARGET" | grep -v '^\\\(un\)\?restrict ' |
		    sha256sum | cut -d' ' -f1
	else
		sha256sum "$DATA/otad.db" | cut -d' ' -f1
	fi
}

# sqlite_only WHAT: true on SQLite; on PostgreSQL prints that the checks
# of WHAT (files of the SQLite database) are skipped, and is false.  No
# check is counted for them: "if sqlite_only ...; then checks; fi".
sqlite_only() {
	[ "$STORE" = sqlite ] && return 0
	echo "skip: sqlite file test: $1"
	return 1
}

# devices_provision [DESCRIPTION]: provisions the devices listed in
# $T/devices.req as ADMIN, checks the 201 (as DESCRIPTION, "devices
# provisioned" by default) and keeps the answer in $T/devices.json for
# tok_of.
devices_provision() {
	api POST /api/v1/devices "$ADMIN" -H 'Content-Type: application/json' \
	    --data-binary "@$T/devices.req"
	expect_eq "${1:-devices provisioned}" 201 "$STATUS"
	cp "$T/body" "$T/devices.json"
}

# tok_of ID: the token of a device whose provisioning answer is in
# $T/devices.json.
tok_of() {
	jq -r --arg id "$1" '.devices[] | select(.id == $id) | .token' \
	    "$T/devices.json"
}

# wait_for DESCRIPTION EXPECTED SECONDS COMMAND...: polls COMMAND's output
# every 0.2 s until it is EXPECTED or SECONDS have passed, then checks it.
wait_for() {
	d=$1
	want=$2
	n=$(($3 * 5))
	shift 3
	i=0
	got=$("$@")
	while [ "$got" != "$want" ] && [ $i -lt $n ]; do
		sleep 0.2
		i=$((i + 1))
		got=$("$@")
	done
	expect_eq "$d" "$want" "$got"
}

# log_wait PATTERN [FROM_LINE] [TENTHS]: waits (bounded, 10 s by default)
# until otad's log, from line FROM_LINE on, matches PATTERN.
log_wait() {
	i=0
	while [ $i -lt "${3:-100}" ]; do
		tail -n +"${2:-1}" "$OTAD_LOG" | grep -q -- "$1" && return 0
		sleep 0.1
		i=$((i + 1))
	done
	return 1
}

# broker_setup [CONFIG_LINES]: a Mosquitto configuration for a loopback
# port ($MQ_PORT), in $MQ_DIR, logging to $MQ_LOG, plus CONFIG_LINES.
broker_setup() {
	MOSQUITTO=$(command -v mosquitto || echo /usr/sbin/mosquitto)
	MQ_DIR="$T/mosquitto"
	MQ_LOG="$MQ_DIR/mosquitto.log"
	MQ_PORT=$(random_port)
	mkdir -p "$MQ_DIR"
	# "user": run as root, Mosquitto would switch to user mosquitto,
	# which cannot write the test's directory; as anyone else the line
	# is ignored.
	cat >"$MQ_DIR/mosquitto.conf" <<EOF
listener $MQ_PORT 127.0.0.1
allow_anonymous true
log_dest file $MQ_LOG
user $(id -un)
${1:-}
EOF
}

# broker_start: starts Mosquitto, waits (bounded) until it listens.  On
# its first start before otad is configured with it, a port that someone
# else took meanwhile is replaced by another (at most 5 times); MQ_PORT is
# the one it got.
broker_start() {
	tries=0
	while :; do
		"$MOSQUITTO" -c "$MQ_DIR/mosquitto.conf" >>"$MQ_DIR/stdout" 2>&1 &
		MQ_PID=$!
		i=0
		while [ $i -lt 100 ] && kill -0 "$MQ_PID" 2>/dev/null &&
		    ! ss -Hltn "sport = :$MQ_PORT" 2>/dev/null | grep -q .; do
			sleep 0.05
			i=$((i + 1))
		done
		# A bind that failed (someone took the port after
		# random_port) ends the broker at once: a listener of
		# another process must not pass for it.
		sleep 0.2
		if kill -0 "$MQ_PID" 2>/dev/null &&
		    ss -Hltn "sport = :$MQ_PORT" 2>/dev/null | grep -q .; then
			MQ_STARTED=1
			return 0
		fi
		kill -KILL "$MQ_PID" 2>/dev/null
		wait "$MQ_PID" 2>/dev/null
		MQ_PID=""
		tries=$((tries + 1))
		# Only a first start may move, and only while otad has not
		# been told the port (OTAD_MQTT_PORT): a moved broker that
		# otad cannot find would fail later and less clearly.
		if [ -n "${MQ_STARTED:-}" ] || [ $tries -ge 5 ] ||
		    [ "${OTAD_MQTT_PORT:-}" = "$MQ_PORT" ] ||
		    ! cat "$MQ_DIR/stdout" "$MQ_LOG" 2>/dev/null |
		    grep -q 'Address already in use'; then
			echo "mosquitto did not listen on $MQ_PORT" >&2
			cat "$MQ_DIR/stdout" "$MQ_LOG" >&2
			return 1
		fi
		old=$MQ_PORT
		MQ_PORT=$(random_port)
		sed -i "s/^listener $old /listener $MQ_PORT /" "$MQ_DIR/mosquitto.conf"
		: >"$MQ_DIR/stdout"
		: >"$MQ_LOG"
	done
}

# broker_stop: SIGTERM (Mosquitto saves its sessions), waits (bounded).
broker_stop() {
	[ -n "$MQ_PID" ] || return 0
	kill -TERM "$MQ_PID" 2>/dev/null
	i=0
	while kill -0 "$MQ_PID" 2>/dev/null && [ $i -lt 100 ]; do
		sleep 0.05
		i=$((i + 1))
	done
	wait "$MQ_PID" 2>/dev/null
	MQ_PID=""
}

# body: prints the last response body.  jqb FILTER: jq on it.
body() { cat "$T/body"; }
jqb() { jq -r "$1" "$T/body"; }

# header NAME: the value of a response header of the last api call.
header() {
	grep -i "^$1:" "$T/headers" | tail -n 1 | sed 's/^[^:]*: *//' | tr -d '\r'
}

# make_image FILE SIZE_BYTES: random firmware bytes.
make_image() {
	head -c "$2" /dev/urandom >"$1"
}

# release IMAGE NAME VERSION HW [extra describe args]: writes IMAGE.json
# (descriptor) and IMAGE.json.sig (signed with the test release key).
release() {
	img=$1
	n=$2
	v=$3
	hw=$4
	shift 4
	"$OTACTL_BIN" describe "$img" --name "$n" --version "$v" \
	    --hardware "$hw" --out "$img.json" "$@" >/dev/null &&
	    "$OTACTL_BIN" sign --key "$T/keys/release.key" \
	    --out "$img.json.sig" "$img.json" >/dev/null
}

# sig_json SIGFILE KEYID: the signatures field for a multipart upload.
sig_json() {
	printf '[{"keyid":"%s","sig":"%s"}]' "$2" "$(base64 -w0 "$1")"
}

# upload_curl TOKEN IMAGE [KEYID]: uploads IMAGE with IMAGE.json and
# IMAGE.json.sig through curl multipart; sets STATUS.
upload_curl() {
	api POST /api/v1/images "$1" \
	    -F "descriptor=@$2.json;type=application/json" \
	    -F "signatures=$(sig_json "$2.json.sig" "${3:-release}")" \
	    -F "image=@$2;type=application/octet-stream"
}

# fleet_setup PREFIX N: the tokens ADMIN, REL and VIEW; an image IMG
# (sensor-fw 1.1.0 for revA); a group "fleet" of N revA devices named
# PREFIX-0 .. PREFIX-<N-1> (their ids also in $T/devices).  Checks each step.
fleet_setup() {
	tokens
	make_image "$T/fw.bin" 2000
	release "$T/fw.bin" sensor-fw 1.1.0 revA
	upload_curl "$REL" "$T/fw.bin"
	expect_eq "image uploaded" 201 "$STATUS"
	IMG=$(jqb .id)
	groups_create fleet
	i=0
	while [ $i -lt "$2" ]; do
		echo "$1-$i"
		i=$((i + 1))
	done >"$T/devices"
	post_json /api/v1/devices "$ADMIN" "$(jq -R '{id: ., hardware: "revA",
	    groups: ["fleet"]}' "$T/devices" | jq -s -c .)"
	expect_eq "$2 devices provisioned" 201 "$STATUS"
}

# rollout_create STAGES: a draft rollout of IMG to group fleet with the
# JSON array STAGES; sets R.
rollout_create() {
	post_json /api/v1/rollouts "$REL" \
	    "{\"image\":$IMG,\"groups\":[\"fleet\"],\"stages\":$1}"
	expect_eq "rollout created" 201 "$STATUS"
	R=$(jqb .id)
}

# rollout_start: starts rollout R.
rollout_start() {
	api POST "/api/v1/rollouts/$R/start" "$REL"
	expect_eq "rollout started" 200 "$STATUS"
}

# otad_start_mqtt: otad_start with the broker of broker_start, then waits
# (15 s at most) until this otad has subscribed to the events topic (a
# check); returns 1 when it did not, so that "|| exit 1" stops there.
otad_start_mqtt() {
	export OTAD_MQTT_HOST=127.0.0.1
	export OTAD_MQTT_PORT="$MQ_PORT"
	from=$(($(cat "$OTAD_LOG" 2>/dev/null | wc -l) + 1))
	otad_start || return 1
	if log_wait "mqtt subscribed\" topic=otad/devices/+/events qos=1" \
	    "$from" 150; then
		pass "otad subscribes to the broker"
	else
		fail "otad subscribes to the broker"
		return 1
	fi
}

# finish: prints the count; the exit status tells whether anything failed.
finish() {
	echo "$NCHECK checks"
	! grep -q '^fail' "$RESULT_FILE" 2>/dev/null
}
