# lib.sh: helpers for bench/downloads.sh and bench/polls.sh (POSIX sh,
# sourced).  Expects $T (the temp dir), $BENCH_DIR and the *_BIN variables
# to be set by the script.

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

# random_port: a free TCP port in 20000..59999, never one handed out before
# by this run.
PORTS_TAKEN=""
random_port() {
	while :; do
		p=$(od -An -N2 -tu2 /dev/urandom | tr -d ' ')
		p=$((20000 + p % 40000))
		case " $PORTS_TAKEN " in *" $p "*) continue ;; esac
		if ! ss -Hltn "sport = :$p" 2>/dev/null | grep -q .; then
			PORTS_TAKEN="$PORTS_TAKEN $p"
			echo "$p"
			return
		fi
	done
}

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
vm_hwm() { awk '/^VmHWM:/ { print $2 }' "/proc/$1/status" 2>/dev/null; }

# vm_rss PID: resident set size now (VmRSS) in KiB.
vm_rss() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null; }

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
wrk_run() {
	o="$T/wrk-$1.out"
	say "wrk -t$WRK_THREADS -c$CONNS -d${DURATION}s $2"
	# shellcheck disable=SC2086
	cpu_snap $SERVER_PIDS >"$T/cpu.before"
	times >"$T/times.before"
	b0=$(busy_ticks)
	BENCH_TOKEN=${VIEWER:-} "$WRK_BIN" -t"$WRK_THREADS" -c"$CONNS" \
	    -d"${DURATION}s" --timeout 60s \
	    -s "${WRK_SCRIPT:-$BENCH_DIR/wrk.lua}" "$2" >"$o" 2>&1
	rc=$?
	b1=$(busy_ticks)
	times >"$T/times.after"
	# shellcheck disable=SC2086
	cpu_snap $SERVER_PIDS >"$T/cpu.after"
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
	set -- "$1" "$2" $(cpu_delta "$T/cpu.before" "$T/cpu.after")
	put "$1.cpu" "$3"
	put "$1.busy" "$4"
	put "$1.cpu_gib" "$(calc "$3 / ($w_bytes / 1073741824 + 1e-12)")"
	wrk_cpu=$(calc "$(times_children "$T/times.after") - \
	    $(times_children "$T/times.before")")
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
	return 0
}
