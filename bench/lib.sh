# lib.sh: helpers of the bench/*.sh scripts (POSIX sh, sourced).  Expects
# $T (the temp dir), $BENCH_DIR and the *_BIN variables to be set by the
# script; sourcing it installs the trap that cleans up on exit.

# otad refuses an OTAD_* environment variable it does not know: keep the
# binaries' paths (given in the environment, as bench/compare.sh does) as
# shell variables only, so otad does not inherit them.
_ob=$OTAD_BIN; _oc=$OTACTL_BIN
unset OTAD_BIN OTACTL_BIN
OTAD_BIN=$_ob; OTACTL_BIN=$_oc

# The processes a script starts, stopped by bench_cleanup; "" until then.
OTAD_PID=""
NGINX_PID=""
MOSQ_PID=""
LOAD_PID=""
# More otad nodes (the stores' comparison), and whether pg_start ran.
NODE_PIDS=""
PG_STARTED=0
FAILED=0

# bench_cleanup: the EXIT trap, installed below: stops what the script
# started (the load client first, nginx's workers should the master die
# before them), removes $T and exits with the script's status.
bench_cleanup() {
	rc=$?
	trap - EXIT INT TERM
	stop_pid "$LOAD_PID"
	stop_pid "$OTAD_PID"
	for p in $NODE_PIDS; do
		stop_pid "$p"
	done
	[ "$PG_STARTED" = 1 ] && pg_stop >/dev/null 2>&1
	stop_pid "$MOSQ_PID"
	if [ -n "$NGINX_PID" ]; then
		workers=$(ps -o pid= --ppid "$NGINX_PID" 2>/dev/null)
		stop_pid "$NGINX_PID"
		for w in $workers; do
			kill -KILL "$w" 2>/dev/null
		done
	fi
	rm -rf "$T"
	exit "$rc"
}
trap bench_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# need HINT PATH... -- COMMAND...: dies unless every PATH is an executable
# (HINT says how to get it) and every COMMAND is on $PATH.
need() {
	hint=$1
	shift
	while [ $# -gt 0 ] && [ "$1" != "--" ]; do
		[ -x "$1" ] || die "$1 is missing ($hint)"
		shift
	done
	[ $# -gt 0 ] && shift
	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 ||
		    die "$c is missing (tools/install-deps.sh bench)"
	done
}

# say MESSAGE...: progress on stderr, so stdout carries only the figures.
say() { echo "bench: $*" >&2; }

# die MESSAGE...: a step could not run; exits non-zero (the trap cleans).
die() {
	echo "bench: FAILED: $*" >&2
	exit 1
}

# now_ns: monotonic enough wall clock in nanoseconds (GNU date).
now_ns() { date +%s%N; }

# calc EXPR: floating point arithmetic through awk, e.g. calc "1/3".
calc() { awk "BEGIN { printf \"%.6f\", ($1) }"; }

# ge A B: true when A >= B (floating point).
ge() { awk "BEGIN { exit !(($1) >= ($2)) }"; }

# ratio A B: A / B to 2 decimals, or nothing when either is empty or B
# is 0 (scale.sh's "poll reports dropped" row printed 0 of them at 100k
# and 99,910 at 1M as a ratio of 99910000000000000.00).
ratio() {
	[ -n "$1" ] && [ -n "$2" ] && awk "BEGIN { exit !(($2) != 0) }" &&
	    fmt "$(calc "$1 / ($2)")" 2
}

# fmt NUMBER [DECIMALS]: rounded (1 decimal by default), "-" if empty.
fmt() {
	if [ -z "${1:-}" ]; then
		echo "-"
	else
		awk "BEGIN { printf \"%.${2:-1}f\", $1 }"
	fi
}

# put KEY VALUE / get KEY: the results of this run, in $T/results.
put() { echo "$1 $2" >>"$T/results"; }
get() { awk -v k="$1" '$1 == k { v = $2 } END { print v }' "$T/results"; }

# random_port: the integration tests' port picker.
. "$BENCH_DIR/../tests/ports.sh"

# wait_url URL PID SECONDS: until URL answers (any HTTP status) or PID dies.
wait_url() {
	i=0
	while [ "$i" -lt $(($3 * 10)) ]; do
		if curl -s -k -o /dev/null "$1" 2>/dev/null; then
			return 0
		fi
		kill -0 "$2" 2>/dev/null || return 1
		sleep 0.1
		i=$((i + 1))
	done
	return 1
}

# stop_pid PID: SIGTERM, up to 15 s, then SIGKILL.  Only ever called with
# the ids of processes this script started.
stop_pid() {
	[ -n "${1:-}" ] || return 0
	kill -TERM "$1" 2>/dev/null || { wait "$1" 2>/dev/null; return 0; }
	i=0
	while kill -0 "$1" 2>/dev/null && [ "$i" -lt 150 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	kill -KILL "$1" 2>/dev/null
	wait "$1" 2>/dev/null
	return 0
}

# vm_hwm PID: peak resident set size (VmHWM) in KiB.
vm_hwm() { proc_kib "$1" VmHWM; }

# vm_rss PID: resident set size now (VmRSS) in KiB.
vm_rss() { proc_kib "$1" VmRSS; }

# proc_kib PID FIELD: a KiB field of /proc/PID/status (VmHWM, RssAnon...).
proc_kib() {
	awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status" 2>/dev/null
}

# metric_at HEADER-FILE HTTP-BASE NAME [LABELS]: one sample of the /metrics
# of the otad at HTTP-BASE (the token in HEADER-FILE), "" when absent.
metric_at() {
	m_name=$3
	[ -n "${4:-}" ] && m_name="$3{$4}"
	curl -sS -H "@$1" "$2/metrics" 2>/dev/null |
	    awk -v n="$m_name" '$1 == n { print $2 }'
}

# tls_cipher PORT: "TLSv1.3 TLS_AES_256_GCM_SHA384", as negotiated with an
# OpenSSL client (which is what wrk is).
tls_cipher() {
	echo | timeout 5 openssl s_client -connect "127.0.0.1:$1" \
	    -servername localhost 2>/dev/null |
	    awk '/^New, / { gsub(",", ""); print $2, $5; exit }'
}

# cpu_snap PID...: "TID TICKS" for every thread of the PIDs, TICKS being
# user + system time in clock ticks.
cpu_snap() {
	for p in "$@"; do
		for t in /proc/"$p"/task/*/stat; do
			[ -r "$t" ] || continue
			sed 's/^\([0-9]*\) .*) /\1 /' "$t" 2>/dev/null |
			    awk '{ print $1, $13 + $14 }'
		done
	done | sort
}

# cpu_delta BEFORE AFTER: "TOTAL_SECONDS BUSY" from two cpu_snap files,
# BUSY listing the seconds of each thread that used 0.1 s or more, busiest
# first, e.g. "3.41 1.80+1.61".
cpu_delta() {
	join "$1" "$2" | awk -v hz="$CLK_TCK" '
	    { d = ($3 - $2) / hz; tot += d; if (d >= 0.1) print d }
	    END { printf "T %.2f\n", tot }' | sort -k1,1 -rg | awk '
	    $1 == "T" { tot = $2; next }
	    { busy = busy (busy == "" ? "" : "+") sprintf("%.1f", $1) }
	    END { print tot, (busy == "" ? "-" : busy) }'
}
CLK_TCK=$(getconf CLK_TCK)

# busy_ticks: CPU ticks the whole machine spent busy (user, nice, system,
# irq, softirq, steal), from /proc/stat.
busy_ticks() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9 }' /proc/stat; }

# times_children FILE: the user + system seconds of this shell's waited-for
# children, from the output of the `times` builtin saved in FILE.
times_children() {
	awk 'NR == 2 { for (i = 1; i <= 2; i++) { split($i, a, "m");
	    sub("s", "", a[2]); t += a[1] * 60 + a[2] } print t }' "$1"
}

# machine_check: how busy the machine is before we start (1 s sample).
# Other processes on these cores make every figure lower and noisier.
machine_check() {
	b0=$(busy_ticks)
	sleep 1
	b1=$(busy_ticks)
	calc "($b1 - $b0) / $CLK_TCK / $CORES * 100"
}

# sig_json SIGFILE KEYID: the "signatures" part of an upload.
sig_json() {
	printf '[{"keyid":"%s","sig":"%s"}]' "$2" "$(base64 -w0 "$1")"
}

# fetch_check LABEL URL SHA256 SIZE: one GET with curl (verifying the dev
# certificate on https, sending the viewer token); dies unless it answers
# 200 with exactly the expected bytes.
fetch_check() {
	out=$(curl -sS --cacert "$CERT" -H "@$T/viewer.hdr" \
	    -o "$T/fetch.bin" -w '%{http_code}' "$2" 2>"$T/fetch.err") ||
	    die "$1: curl $2: $(cat "$T/fetch.err")"
	[ "$out" = 200 ] || die "$1: GET $2 answered $out, not 200"
	got=$(sha256sum "$T/fetch.bin" | cut -d' ' -f1)
	[ "$got" = "$3" ] || die "$1: GET $2 returned other bytes" \
	    "($(stat -c %s "$T/fetch.bin") bytes, sha256 $got, want $4 bytes" \
	    "sha256 $3)"
	rm -f "$T/fetch.bin"
}

# wrk_run KEY URL: one wrk run with $WRK_SCRIPT (default bench/wrk.lua,
# given the viewer token $VIEWER); stores every field of the script's
# BENCH line as KEY.w_FIELD, KEY.mibs, KEY.rps, KEY.p50_ms, KEY.p99_ms and
# KEY.ok (1, or 0 with KEY.why), and
# the CPU time the server processes $SERVER_PIDS used during the run:
# KEY.cpu (seconds), KEY.cpu_gib (seconds per GiB sent), KEY.busy (per
# thread, see cpu_delta); wrk's CPU seconds (KEY.wrk_cpu) and the share of
# the machine's CPU used by neither (KEY.other_pct).
# The full wrk output stays in $T/wrk-KEY.out while the script runs.
# BENCH_PERF=DIR: each wrk run whose name matches BENCH_PERF_RUNS (a grep
# -E pattern, default "\.http$") is profiled with perf (BENCH_PERF_FREQ, default 99, samples a
# second per CPU, the server processes only) and the top 25 symbols by
# self time go to DIR/perf-NAME.txt: where the time goes, for
# bench/README.md.  Off by default: perf costs a few percent.
perf_start() {
	PERF_PID=
	[ -n "${BENCH_PERF:-}" ] || return 0
	echo "$1" | grep -Eq "${BENCH_PERF_RUNS:-\.http\$}" || return 0
	command -v perf >/dev/null || die "BENCH_PERF: no perf (linux-perf)"
	mkdir -p "$BENCH_PERF" || die "BENCH_PERF: cannot create $BENCH_PERF"
	# shellcheck disable=SC2086
	perf record -q -F "${BENCH_PERF_FREQ:-99}" -o "$T/perf-$1.data" \
	    -p "$(echo $SERVER_PIDS | tr ' ' ',')" 2>"$T/perf-$1.err" &
	PERF_PID=$!
}

# perf_stop NAME: ends perf_start's recording and writes the report.
perf_stop() {
	[ -n "${PERF_PID:-}" ] || return 0
	kill -INT "$PERF_PID" 2>/dev/null
	wait "$PERF_PID" 2>/dev/null
	PERF_PID=
	{
		echo "# $1: top 25 symbols by self time (perf, server processes)"
		perf report -i "$T/perf-$1.data" --no-children --stdio \
		    --sort comm,dso,symbol 2>/dev/null |
		    grep -v '^#' | grep -v '^$' | sed 's/[ -]*$//' | head -n 25
	} >"$BENCH_PERF/perf-$1.txt"
	rm -f "$T/perf-$1.data"
	say "  perf profile: $BENCH_PERF/perf-$1.txt"
}

wrk_run() {
	o="$T/wrk-$1.out"
	say "wrk -t$WRK_THREADS -c$CONNS -d${DURATION}s $2"
	# shellcheck disable=SC2086
	cpu_snap $SERVER_PIDS >"$T/cpu-$1.before"
	times >"$T/times-$1.before"
	b0=$(busy_ticks)
	perf_start "$1"
	BENCH_TOKEN=${VIEWER:-} "$WRK_BIN" -t"$WRK_THREADS" -c"$CONNS" \
	    -d"${DURATION}s" --timeout 60s \
	    -s "${WRK_SCRIPT:-$BENCH_DIR/wrk.lua}" "$2" >"$o" 2>&1
	rc=$?
	perf_stop "$1"
	b1=$(busy_ticks)
	times >"$T/times-$1.after"
	# shellcheck disable=SC2086
	cpu_snap $SERVER_PIDS >"$T/cpu-$1.after"
	line=$(grep '^BENCH ' "$o" | tail -n 1)
	if [ $rc -ne 0 ] || [ -z "$line" ]; then
		put "$1.ok" 0
		put "$1.why" "wrk_exit_$rc"
		say "wrk failed (exit $rc):"
		sed 's/^/    /' "$o" >&2
		FAILED=1
		return 1
	fi
	# shellcheck disable=SC2086
	eval "$(echo "${line#BENCH }" | tr ' ' '\n' | sed 's/^/w_/')"
	for kv in ${line#BENCH }; do
		put "$1.w_${kv%%=*}" "${kv#*=}"
	done
	s=$(calc "$w_duration_us / 1000000")
	put "$1.mibs" "$(calc "$w_bytes / 1048576 / $s")"
	put "$1.rps" "$(calc "$w_requests / $s")"
	put "$1.p50_ms" "$(calc "$w_p50_us / 1000")"
	put "$1.p99_ms" "$(calc "$w_p99_us / 1000")"
	# shellcheck disable=SC2046
	set -- "$1" "$2" $(cpu_delta "$T/cpu-$1.before" "$T/cpu-$1.after")
	put "$1.cpu" "$3"
	put "$1.busy" "$4"
	put "$1.cpu_gib" "$(calc "$3 / ($w_bytes / 1073741824 + 1e-12)")"
	wrk_cpu=$(calc "$(times_children "$T/times-$1.after") - \
	    $(times_children "$T/times-$1.before")")
	put "$1.wrk_cpu" "$wrk_cpu"
	# What neither the server nor wrk used, in % of all cores: other
	# processes, and interrupt work not charged to a process.
	# Clock-tick rounding can make it slightly negative: shown as 0.
	other=$(calc "(($b1 - $b0) / $CLK_TCK - $3 - $wrk_cpu) / ($CORES * $s) \
	    * 100")
	ge "$other" 0 || other=0
	put "$1.other_pct" "$other"
	errs="connect=$w_connect read=$w_read write=$w_write timeout=$w_timeout"
	say "  $w_requests responses, $w_bytes bytes in ${s}s;" \
	    "non-2xx=$w_status socket errors: $errs"
	if [ "$w_status" -ne 0 ] || [ "$w_bytes" -eq 0 ]; then
		put "$1.ok" 0
		put "$1.why" "non2xx=$w_status,bytes=$w_bytes"
		FAILED=1
		return 1
	fi
	put "$1.ok" 1
	put "$1.errs" "$w_connect/$w_read/$w_write/$w_timeout"
	poll_advance "$w_requests" "$WRK_THREADS"
	return 0
}

# poll_advance REQUESTS THREADS: the next wrk run of bench/polls.lua goes on
# where this one stopped (BENCH_POLL_START, each thread's polls so far):
# at 1M devices a run of 15 s polls about half the fleet, and the next
# run starting over would poll the same half again, never the rest.
poll_advance() {
	BENCH_POLL_START=$((${BENCH_POLL_START:-0} + $1 / $2))
	export BENCH_POLL_START
}

# ---- otad -----------------------------------------------------------------
# Expects $OTAD_BIN and $OTACTL_BIN besides $T.

# nginx_start: nginx on random ports with $BENCH_DIR/nginx.conf.in, otad's
# dev certificate ($CERT, $KEY) and the script's $T/nginx/locations.conf;
# sets NGINX_PID, NG_PLAIN, NG_BASE, NGINX_CIPHER and SERVER_PIDS (the
# workers), or dies.
nginx_start() {
	NG_HTTP_PORT=$(random_port)
	NG_HTTPS_PORT=$(random_port)
	user_line=""
	[ "$(id -u)" = 0 ] && user_line="user root;  # to read 0700 directories"
	sed -e "s|@USER_LINE@|$user_line|" -e "s|@WORKERS@|$CORES|" \
	    -e "s|@DIR@|$T/nginx|g" -e "s|@CERT@|$CERT|" -e "s|@KEY@|$KEY|" \
	    -e "s|@HTTP_PORT@|$NG_HTTP_PORT|" -e "s|@HTTPS_PORT@|$NG_HTTPS_PORT|" \
	    "$BENCH_DIR/nginx.conf.in" >"$T/nginx/nginx.conf" || exit 1
	"$NGINX_BIN" -t -q -p "$T/nginx" -c "$T/nginx/nginx.conf" \
	    >"$T/nginx/start.log" 2>&1 || {
		sed 's/^/    nginx: /' "$T/nginx/start.log" >&2
		die "nginx rejected the generated configuration"
	}
	say "starting nginx ($("$NGINX_BIN" -v 2>&1 | sed 's/.*: //'))," \
	    "$CORES workers, ports $NG_HTTP_PORT and $NG_HTTPS_PORT"
	"$NGINX_BIN" -p "$T/nginx" -c "$T/nginx/nginx.conf" \
	    >>"$T/nginx/start.log" 2>&1 &
	NGINX_PID=$!
	NG_PLAIN="http://127.0.0.1:$NG_HTTP_PORT"
	NG_BASE="https://127.0.0.1:$NG_HTTPS_PORT"
	if ! wait_url "$NG_PLAIN/" "$NGINX_PID" 10 ||
	    ! wait_url "$NG_BASE/" "$NGINX_PID" 5; then
		cat "$T/nginx/start.log" "$T/nginx/error.log" 2>/dev/null |
		    sed 's/^/    nginx: /' >&2
		die "nginx did not start"
	fi
	NGINX_CIPHER=$(tls_cipher "$NG_HTTPS_PORT")
	SERVER_PIDS=$(ps -o pid= --ppid "$NGINX_PID")  # the workers
	[ -n "$SERVER_PIDS" ] || die "nginx has no worker processes"
}

# val KEY METRIC: the figure, or nothing when that wrk run failed.
val() {
	[ "$(get "$1.ok")" = 1 ] && get "$1.$2"
}

# wrk_pct KEY: wrk's CPU, in % of all cores.
wrk_pct() {
	c=$(val "$1" wrk_cpu) && d=$(val "$1" w_duration_us) && [ -n "$c" ] &&
	    calc "$c * 100 / ($CORES * $d / 1e6)"
}

# copy_run FROM TO: run FROM's figures put again as run TO's, marked as
# copies (not counted again in the polls by wrk).
copy_run() {
	awk -v f="$1." -v t="$2." 'index($1, f) == 1 && $3 != "copy" {
	    print t substr($1, length(f) + 1), $2, "copy" }' "$T/results" \
	    >"$T/copy" && cat "$T/copy" >>"$T/results"
}

# median_index: of the "VALUE INDEX" lines read, the INDEX of the median
# VALUE (the lower middle of an even count); lines without a value (a
# failed run) are left out.  Nothing when no line has one.
median_index() {
	awk 'NF == 2' | sort -g |
	    awk '{ i[NR] = $2 } END { if (NR > 0) print i[int((NR + 1) / 2)] }'
}

# median_value: of the values read, a line each, the median by
# median_index's rule (empty lines, failed runs, left out).
median_value() { awk 'NF == 1 { print $1, $1 }' | median_index; }

# target OK WHAT FIGURE: one PASS/MISS line.
target() {
	if [ -n "$3" ] && [ "$1" = 1 ]; then
		echo "PASS  $2: $3"
	else
		echo "MISS  $2: ${3:--}"
	fi
}

# otad_setup [DIR]: a fresh data dir $DATA (DIR, default $T/var) with a release key in
# release-keys/ (its private half in $T/keys/release.key), random loopback
# ports, and the OTAD_* environment every otad_start uses: HTTPS and plain
# HTTP, log_level=warn (no line per request).  Sets BASE, PLAIN (the two
# URLs), CERT and KEY (the dev TLS certificate otad writes at its first
# start).  A script exports more OTAD_* variables before otad_start to set
# other keys.
otad_setup() {
	DATA=${1:-$T/var}
	mkdir -p "$DATA/release-keys" "$T/keys" || exit 1
	OTAD_HTTPS_PORT=$(random_port)
	OTAD_HTTP_PORT=$(random_port)
	export OTAD_DATA_DIR="$DATA"
	export OTAD_HTTPS_PORT OTAD_HTTP_PORT
	export OTAD_LISTEN_ADDRESS=127.0.0.1
	export OTAD_LOG_LEVEL=warn
	BASE="https://127.0.0.1:$OTAD_HTTPS_PORT"
	PLAIN="http://127.0.0.1:$OTAD_HTTP_PORT"
	CERT="$DATA/tls/cert.pem"
	KEY="$DATA/tls/key.pem"
	# One release key per run: a second otad_setup (another store) reuses it.
	[ -f "$T/keys/release.key" ] ||
	    "$OTACTL_BIN" keygen --out "$T/keys/release" >/dev/null ||
	    die "otactl keygen"
	cp "$T/keys/release.pub" "$DATA/release-keys/release.pub" || exit 1
}

# otad_start THREADS: starts otad with http_threads=THREADS, its output
# appended to $T/otad.log; sets OTAD_PID and SERVER_PIDS (for wrk_run).
# otad_stop records its VmHWM as otad.tTHREADS.hwm_kib, then stops it.
otad_start() {
	say "starting otad, http_threads=$1, $BASE and $PLAIN"
	OTAD_HTTP_THREADS=$1 "$OTAD_BIN" >>"$T/otad.log" 2>&1 &
	OTAD_PID=$!
	OTAD_THREADS=$1
	SERVER_PIDS=$OTAD_PID
	if ! wait_url "$BASE/healthz" "$OTAD_PID" 20 ||
	    ! wait_url "$PLAIN/healthz" "$OTAD_PID" 5; then
		sed 's/^/    otad: /' "$T/otad.log" >&2
		die "otad did not become healthy"
	fi
}

otad_stop() {
	# The peak of every otad run with these threads (one may be started
	# again, bench/polls.sh's rounds).
	h=$(vm_hwm "$OTAD_PID")
	was=$(get "otad.t$OTAD_THREADS.hwm_kib" 2>/dev/null)
	[ -n "$was" ] && [ -n "$h" ] && [ "$was" -gt "$h" ] && h=$was
	put "otad.t$OTAD_THREADS.hwm_kib" "$h"
	stop_pid "$OTAD_PID"
	OTAD_PID=""
}

# token ROLE: creates a token named bench-ROLE and prints it, in the
# store otad uses: $OTAD_DATABASE when it is set (PostgreSQL; otactl reads
# it as otad does), else $DATA's.
token() {
	"$OTACTL_BIN" token create --data-dir "$DATA" --role "$1" \
	    --name "bench-$1" 2>"$T/token.err" ||
	    die "otactl token create: $(cat "$T/token.err")"
}

# api ROLE METHOD PATH [BODY-FILE]: one JSON request over HTTPS with the
# ROLE's token; the answer goes to $T/api.json, the status is printed.
api() {
	a_role=$1 a_method=$2 a_path=$3
	shift 3
	if [ -n "${1:-}" ]; then
		set -- -H 'Content-Type: application/json' --data-binary "@$1"
	fi
	curl -sS --cacert "$CERT" -H "@$T/$a_role.hdr" -X "$a_method" \
	    -o "$T/api.json" -w '%{http_code}' "$@" "$BASE$a_path" \
	    2>"$T/api.err" || die "curl $a_method $a_path: $(cat "$T/api.err")"
}

# api_ok STATUS ROLE METHOD PATH [BODY-FILE]: api, dying unless the answer
# has the STATUS.
api_ok() {
	want=$1
	shift
	st=$(api "$@") || exit 1
	[ "$st" = "$want" ] ||
	    die "$2 $3 answered $st, not $want: $(head -c 400 "$T/api.json")"
}

# ---- fleet ------------------------------------------------------------------

# provision_groups: groups g0..g<NGROUPS - 1>, one POST /api/v1/groups each
# over one curl process (keep-alive), as a provisioning script would, with
# the admin token ($T/admin.hdr); the wall time goes to prov.groups_s.
provision_groups() {
	i=0
	while [ $i -lt "$NGROUPS" ]; do
		[ $i -gt 0 ] && echo next
		printf 'url = "%s/api/v1/groups"\n' "$BASE"
		printf 'cacert = "%s"\nheader = "@%s"\n' "$CERT" "$T/admin.hdr"
		printf 'header = "Content-Type: application/json"\n'
		printf 'data = "{\\"name\\":\\"g%d\\"}"\n' $i
		printf 'output = "/dev/null"\nwrite-out = "%%{http_code}\\n"\n'
		i=$((i + 1))
	done >"$T/groups.curl"
	say "provisioning: $NGROUPS groups"
	t0=$(now_ns)
	curl -sS -K "$T/groups.curl" >"$T/groups.codes" 2>"$T/api.err" ||
	    die "curl POST /api/v1/groups: $(cat "$T/api.err")"
	t1=$(now_ns)
	n201=$(grep -c '^201$' "$T/groups.codes")
	[ "$n201" = "$NGROUPS" ] ||
	    die "POST /api/v1/groups: $n201 of $NGROUPS answered 201" \
	    "($(sort "$T/groups.codes" | uniq -c | tr '\n' ' '))"
	put prov.groups_s "$(calc "($t1 - $t0) / 1e9")"
}

# The devices, written by provision_curl or provision_otactl (which use
# NDEV, NGROUPS, BATCH and the admin token): device i has the id
# dev-<i, 6 digits>, group g<i % NGROUPS>, hardware revA or revB
# (alternating every 100 ids, so every group has both), installed version
# 1.0.0.  $T/devices gets "ID TOKEN HARDWARE VERSION" lines for the wrk
# scripts, in the order sent, once each answer has been checked to list
# the ids sent, in order.  ($T is 0700: the tokens stay private.)

# join_tokens TOKENS META: "ID TOKEN" and "ID HARDWARE VERSION" lines, in
# the same order, appended to $T/devices; false unless the ids match.
join_tokens() {
	awk 'NR == FNR { tok[FNR] = $0; n = FNR; next }
	    { split(tok[FNR], a, " ")
	      if (a[1] != $1 || a[2] == "") { bad = 1; exit 1 }
	      print $1, a[2], $2, $3 }
	    END { if (bad || FNR != n) exit 1 }' "$1" "$2" >>"$T/devices"
}

# provision_curl: the devices as JSON arrays of BATCH, one curl
# POST /api/v1/devices each.  The bodies are written before the clock
# starts.  Sets BATCHES, PROV_HOW, PROV_DETAIL.
provision_curl() {
	awk -v n="$NDEV" -v g="$NGROUPS" -v b="$BATCH" -v dir="$T/prov" '
	BEGIN {
		for (i = 0; i < n; i++) {
			k = int(i / b)
			f = sprintf("%s/batch-%04d.json", dir, k)
			m = sprintf("%s/batch-%04d.meta", dir, k)
			id = sprintf("dev-%06d", i)
			hw = (int(i / 100) % 2) ? "revB" : "revA"
			printf "%s{\"id\":\"%s\",\"hardware\":\"%s\"," \
			    "\"version\":\"1.0.0\",\"groups\":[\"g%d\"]}",
			    (i % b) ? "," : "[", id, hw, i % g > f
			print id, hw, "1.0.0" > m
			if (i % b == b - 1 || i == n - 1) {
				print "]" > f
				close(f)
				close(m)
			}
		}
	}' || die "cannot write the device batches"
	BATCHES=$(((NDEV + BATCH - 1) / BATCH))
	PROV_HOW="$BATCHES x POST /api/v1/devices with curl"
	bytes=$(wc -c <"$T/prov/batch-0000.json")
	say "provisioning: $NDEV devices, $BATCHES POSTs of up to $BATCH" \
	    "($bytes bytes each)"
	t0=$(now_ns)
	k=0
	for f in "$T"/prov/batch-*.json; do
		out=$(curl -sS --cacert "$CERT" -H "@$T/admin.hdr" \
		    -H 'Content-Type: application/json' --data-binary "@$f" \
		    -o "${f%.json}.out" -w '%{http_code} %{time_total}' \
		    "$BASE/api/v1/devices" 2>"$T/api.err") ||
		    die "curl POST /api/v1/devices: $(cat "$T/api.err")"
		[ "${out% *}" = 201 ] || die "POST /api/v1/devices ($f)" \
		    "answered ${out% *}: $(head -c 400 "${f%.json}.out")"
		put "prov.batch.$k" "${out#* }"
		k=$((k + 1))
	done
	t1=$(now_ns)
	put prov.devices_s "$(calc "($t1 - $t0) / 1e9")"
	PROV_DETAIL="seconds per POST:"
	k=0
	while [ $k -lt "$BATCHES" ]; do
		PROV_DETAIL="$PROV_DETAIL $(fmt "$(get "prov.batch.$k")" 2)"
		k=$((k + 1))
	done
	PROV_DETAIL="$PROV_DETAIL ($bytes bytes each)"
	for f in "$T"/prov/batch-*.json; do
		jq -r '.devices[] | "\(.id) \(.token)"' "${f%.json}.out" \
		    >"$T/tokens" 2>"$T/api.err" ||
		    die "the answer to $f is not the documented JSON"
		join_tokens "$T/tokens" "${f%.json}.meta" || die "the answer" \
		    "to $f does not list the devices sent, in order"
		rm -f "$f" "${f%.json}.out" "${f%.json}.meta"
	done
}

# provision_otactl: the devices as one CSV file, `otactl devices import`
# (its own batches: at most 5000 devices and 1,000,000 bytes each).  Sets
# BATCHES, PROV_HOW, PROV_DETAIL.
provision_otactl() {
	awk -v n="$NDEV" -v g="$NGROUPS" -v csv="$T/prov/fleet.csv" \
	    -v m="$T/prov/fleet.meta" 'BEGIN {
		print "id,hardware,version,groups" > csv
		for (i = 0; i < n; i++) {
			id = sprintf("dev-%06d", i)
			hw = (int(i / 100) % 2) ? "revB" : "revA"
			printf "%s,%s,1.0.0,g%d\n", id, hw, i % g > csv
			print id, hw, "1.0.0" > m
		}
	}' || die "cannot write the device CSV"
	(umask 077 && printf '%s\n' "$ADMIN" >"$T/admin.token") || exit 1
	say "provisioning: $NDEV devices, otactl devices import" \
	    "($(wc -c <"$T/prov/fleet.csv") bytes of CSV)"
	t0=$(now_ns)
	"$OTACTL_BIN" devices import "$T/prov/fleet.csv" \
	    --out "$T/prov/tokens.csv" --server "$BASE" --cacert "$CERT" \
	    --token-file "$T/admin.token" 2>"$T/import.err" >/dev/null ||
	    die "otactl devices import: $(cat "$T/import.err")"
	t1=$(now_ns)
	put prov.devices_s "$(calc "($t1 - $t0) / 1e9")"
	BATCHES=$(sed -n 's/.* in \([0-9]*\) batch.*/\1/p' "$T/import.err")
	PROV_HOW="otactl devices import, ${BATCHES:-?} POSTs"
	PROV_DETAIL="otactl: $(head -n 1 "$T/import.err" | sed 's/; tokens in .*//')"
	sed '1d; s/,/ /' "$T/prov/tokens.csv" >"$T/tokens" &&
	    join_tokens "$T/tokens" "$T/prov/fleet.meta" ||
	    die "otactl's tokens file does not list the devices, in order"
	rm -f "$T/prov/fleet.csv" "$T/prov/fleet.meta" "$T/prov/tokens.csv"
}

# release_image NAME VERSION: a 256 KiB random image for revA and revB,
# described and signed with otactl, uploaded with curl; prints its id.
release_image() {
	img="$T/img/$1-$2.bin"
	head -c 262144 /dev/urandom >"$img" || die "cannot write $img"
	"$OTACTL_BIN" describe "$img" --name "$1" --version "$2" \
	    --hardware revA --hardware revB --out "$img.json" >/dev/null ||
	    die "otactl describe $img"
	"$OTACTL_BIN" sign --key "$T/keys/release.key" --out "$img.json.sig" \
	    "$img.json" >/dev/null || die "otactl sign $img.json"
	st=$(curl -sS --cacert "$CERT" -H "@$T/release.hdr" \
	    -F "descriptor=@$img.json;type=application/json" \
	    -F "signatures=$(sig_json "$img.json.sig" release)" \
	    -F "image=@$img;type=application/octet-stream" \
	    -o "$T/api.json" -w '%{http_code}' "$BASE/api/v1/images" \
	    2>"$T/api.err") || die "curl upload of $img: $(cat "$T/api.err")"
	[ "$st" = 201 ] ||
	    die "upload of $img answered $st: $(head -c 400 "$T/api.json")"
	jq -r .id "$T/api.json"
}

# rollout_running IMAGE NAME G0 G1 PERCENT: a rollout of image IMAGE named
# NAME to groups gG0..gG1 with the default stages [1, 5, 25, 100], started
# and advanced until its stage is PERCENT; dies unless it is then running.
# BENCH_ROLLOUT_EXTRA, when set, is added to the create body as JSON
# members (policies on: '"from_version":">=1.0.0 <9.0.0"').  Prints its id.
rollout_running() {
	awk -v id="$1" -v a="$3" -v b="$4" -v v="$2" \
	    -v x="${BENCH_ROLLOUT_EXTRA:-}" 'BEGIN {
		printf "{\"image\":%d,\"name\":\"%s\",\"groups\":[", id, v
		for (g = a; g <= b; g++)
			printf "%s\"g%d\"", (g > a) ? "," : "", g
		print "]" (x != "" ? "," x : "") "}" }' >"$T/rollout.json"
	api_ok 201 release POST /api/v1/rollouts "$T/rollout.json"
	rid=$(jq -r .id "$T/api.json")
	api_ok 200 release POST "/api/v1/rollouts/$rid/start"
	n=0
	while [ "$(jq -r .stage_percent "$T/api.json")" != "$5" ]; do
		[ $n -lt 4 ] || die "rollout $rid never reached $5 %"
		api_ok 200 release POST "/api/v1/rollouts/$rid/advance"
		n=$((n + 1))
	done
	st=$(jq -r .state "$T/api.json")
	[ "$st" = running ] || die "rollout $rid is $st, not running"
	echo "$rid"
}

# rollouts_overlapping: the three rollouts of bench/polls.sh and
# bench/ddi.sh, "VERSION FROM TO PERCENT": image bench-fw VERSION to
# groups FROM% .. TO% of the $NGROUPS groups (0-20 %: g0..g19 of 100),
# started with the default stages [1, 5, 25, 100] and advanced to
# PERCENT.  They overlap: some groups are in two rollouts, where the
# higher version wins.  Writes "ID VERSION G0 G1 PERCENT" lines to
# $T/rollouts; dies unless all three are running.
rollouts_overlapping() {
	: >"$T/rollouts"
	printf '%s\n' "1.1.0 0 20 100" "1.2.0 10 50 25" "1.3.0 40 100 5" |
	while read -r ver from to pct; do
		id=$(release_image bench-fw "$ver") || exit 1
		g0=$((from * NGROUPS / 100))
		g1=$((to * NGROUPS / 100 - 1))
		rid=$(rollout_running "$id" "bench-$ver" "$g0" "$g1" "$pct") ||
		    exit 1
		say "rollout $rid: bench-fw $ver, groups g$g0..g$g1, at $pct %"
		echo "$rid $ver $g0 $g1 $pct" >>"$T/rollouts"
	done || exit 1
	[ "$(wc -l <"$T/rollouts")" = 3 ] ||
	    die "the rollouts were not all created"
}

# offer_share: the percentage of the $NDEV devices (spread evenly over
# the $NGROUPS groups) offered an update by the rollouts of $T/rollouts if
# buckets are uniform: a device of group g gets nothing only when it is
# outside the stage of every rollout targeting g (buckets of two rollouts
# are independent).
offer_share() {
	awk -v n="$NDEV" -v G="$NGROUPS" '
	{ a[NR] = $3; b[NR] = $4; p[NR] = $5 / 100; r = NR }
	END {
		for (g = 0; g < G; g++) {
			none = 1
			for (i = 1; i <= r; i++)
				if (g >= a[i] && g <= b[i])
					none *= 1 - p[i]
			cnt = int(n / G) + (g < n % G)
			off += cnt * (1 - none)
		}
		printf "%.4f", off / n * 100
	}' "$T/rollouts"
}

# ---- stores: PostgreSQL, one node and two ------------------------------------

# stores_list: the stores to compare, from BENCH_STORES ("sqlite pg pg2":
# SQLite, PostgreSQL with one otad, PostgreSQL with two otad sharing it);
# by default all three when PostgreSQL 15 is installed
# (tools/install-deps.sh test), else sqlite alone.
stores_list() {
	if [ -n "${BENCH_STORES:-}" ]; then
		echo "$BENCH_STORES"
	elif [ -x /usr/lib/postgresql/15/bin/postgres ]; then
		echo "sqlite pg pg2"
	else
		echo sqlite
	fi
}

# store_wanted NAME: true when NAME is in stores_list.
store_wanted() {
	case " $(stores_list) " in
	*" $1 "*) return 0 ;;
	esac
	return 1
}

# pg_bench_start: a private PostgreSQL cluster, the tests' own
# (tests/pg.sh: loopback, random port, fsync on), stopped by
# bench_cleanup; dies when it does not start.
pg_bench_start() {
	. "$BENCH_DIR/../tests/pg.sh"
	say "starting PostgreSQL (tests/pg.sh)"
	pg_start >"$T/pg.log" 2>&1 || {
		sed 's/^/    pg: /' "$T/pg.log" >&2
		die "PostgreSQL did not start"
	}
	PG_STARTED=1
	# otad refuses OTAD_* variables it does not know: keep pg_start's as
	# shell variables only.
	_pg_c=$OTAD_TEST_PG _pg_a=$OTAD_TEST_PG_ADMIN
	unset OTAD_TEST_PG OTAD_TEST_PG_ADMIN OTAD_TEST_PG_PW_USER \
	    OTAD_TEST_PG_PW_SECRET
	OTAD_TEST_PG=$_pg_c OTAD_TEST_PG_ADMIN=$_pg_a
}

# pg_bench_db NAME: a fresh database NAME owned by the otad role; prints
# its keyword conninfo.
pg_bench_db() {
	psql -X -q -v ON_ERROR_STOP=1 "$OTAD_TEST_PG_ADMIN" \
	    -c "CREATE DATABASE $1 OWNER otad TEMPLATE template0 ENCODING 'UTF8' \
	    LC_COLLATE 'C' LC_CTYPE 'C'" >/dev/null 2>"$T/psql.err" ||
	    die "CREATE DATABASE $1: $(cat "$T/psql.err")"
	echo "$OTAD_TEST_PG" | sed "s/dbname=[^ ]*/dbname=$1/"
}

# pg_server_pids: the postmaster and its children (one backend per
# connection of the otad pools, the writers), for cpu_snap.
pg_server_pids() {
	pm=$(head -n 1 "$PG_DIR/data/postmaster.pid" 2>/dev/null)
	[ -n "$pm" ] || return 0
	echo "$pm" $(ps -o pid= --ppid "$pm")
}

# otad_node_start DIR THREADS: one more otad node on the running otad's
# database ($OTAD_DATABASE), with its own data dir DIR and ports, the same
# server key (every node must sign with one key) and release keys, and
# http_threads=THREADS; waits until its /readyz answers 200.  Sets
# NODE_PID, NODE_BASE, NODE_PLAIN, and adds the pid to NODE_PIDS.
otad_node_start() {
	mkdir -p "$1/release-keys" &&
	    cp "$DATA/release-keys/"* "$1/release-keys/" &&
	    cp "$DATA/server.key" "$1/server.key" || exit 1
	n_https=$(random_port)
	n_http=$(random_port)
	NODE_BASE="https://127.0.0.1:$n_https"
	NODE_PLAIN="http://127.0.0.1:$n_http"
	say "starting otad node, http_threads=$2, $NODE_BASE and $NODE_PLAIN"
	OTAD_DATA_DIR=$1 OTAD_HTTPS_PORT=$n_https OTAD_HTTP_PORT=$n_http \
	    OTAD_HTTP_THREADS=$2 "$OTAD_BIN" >>"$T/otad.log" 2>&1 &
	NODE_PID=$!
	NODE_PIDS="$NODE_PIDS $NODE_PID"
	i=0
	until [ "$(curl -s -o /dev/null -w '%{http_code}' \
	    "$NODE_PLAIN/readyz" 2>/dev/null)" = 200 ]; do
		kill -0 "$NODE_PID" 2>/dev/null && [ $i -lt 200 ] || {
			sed 's/^/    otad: /' "$T/otad.log" | tail -n 20 >&2
			die "the second otad node did not become ready"
		}
		sleep 0.1
		i=$((i + 1))
	done
}

# pair_half a|b: the events.lua variables of one half of wrk_pair.
pair_half() {
	[ -n "${BENCH_TAG:-}" ] || return 0
	export BENCH_TAG="$BENCH_TAG$1" BENCH_ACKED="$BENCH_ACKED.$1"
}

# wrk_pair KEY URL1 URL2: two wrk runs at once, one per node, each with
# half of CONNS and WRK_THREADS, the second walking $BENCH_DEVICES from
# its middle (so the nodes poll different devices); KEY gets the sum of
# their requests and rates, the highest p99, and the CPU of SERVER_PIDS
# (both runs measure all of them over the same seconds: their mean).  The
# runs are KEY.a and KEY.b; for bench/events.lua each gets its own
# BENCH_TAG (suffixed a or b) and BENCH_ACKED (suffixed .a or .b).
wrk_pair() {
	p_c=$((CONNS / 2))
	p_t=$((WRK_THREADS / 2))
	[ "$p_t" -ge 1 ] || p_t=1
	n=$(wc -l <"$BENCH_DEVICES")
	h=$((n / 2))
	(umask 077 && { tail -n +$((h + 1)) "$BENCH_DEVICES" &&
	    head -n "$h" "$BENCH_DEVICES"; } >"$T/devices.b") || exit 1
	(CONNS=$p_c WRK_THREADS=$p_t && export BENCH_WRK_THREADS=$p_t &&
	    pair_half a && wrk_run "$1.a" "$2") &
	p_a=$!
	(CONNS=$p_c WRK_THREADS=$p_t && export BENCH_WRK_THREADS=$p_t &&
	    export BENCH_DEVICES="$T/devices.b" && pair_half b &&
	    wrk_run "$1.b" "$3") &
	p_b=$!
	wait "$p_a"
	wait "$p_b"
	rm -f "$T/devices.b"
	if [ "$(get "$1.a.ok")" != 1 ] || [ "$(get "$1.b.ok")" != 1 ]; then
		put "$1.ok" 0
		put "$1.why" "a:$(get "$1.a.why"),b:$(get "$1.b.why")"
		FAILED=1
		return 1
	fi
	for f in w_requests w_s200 w_s204 w_s304 w_s401 w_s403 w_s404 \
	    w_sother w_accepted w_duplicates w_rejected rps eps wrk_cpu; do
		a=$(get "$1.a.$f")
		b=$(get "$1.b.$f")
		[ -n "$a$b" ] && put "$1.$f" "$(calc "${a:-0} + ${b:-0}")"
	done
	put "$1.w_duration_us" "$(get "$1.a.w_duration_us")"
	put "$1.cpu" "$(calc "($(get "$1.a.cpu") + $(get "$1.b.cpu")) / 2")"
	p=$(get "$1.a.p99_ms")
	ge "$p" "$(get "$1.b.p99_ms")" || p=$(get "$1.b.p99_ms")
	put "$1.p99_ms" "$p"
	put "$1.p50_ms" "$(calc "($(get "$1.a.p50_ms") + \
	    $(get "$1.b.p50_ms")) / 2")"
	put "$1.busy" "$(get "$1.a.busy")"
	put "$1.ok" 1
	poll_advance "$(get "$1.a.w_requests")" "$p_t"
}
