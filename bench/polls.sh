#!/bin/sh
# polls.sh: otad's manifest-poll rate against nginx serving a static JSON
# file of the same size, on this machine, over loopback.  See
# bench/README.md.  `make bench` builds the release binaries first.
#
#   1. otad (release build) on random ports, HTTPS + plain HTTP, a fresh
#      temp data dir, log_level=warn; admin and release tokens;
#   2. provisioning through the API, timed: BENCH_POLL_GROUPS groups
#      (POST /api/v1/groups), then BENCH_POLL_DEVICES devices in batches of
#      BENCH_POLL_BATCH (POST /api/v1/devices), device i in group g<i % G>;
#   3. 3 signed images and 3 overlapping rollouts started and advanced to
#      100 %, 25 % and 5 %, so that some polls get a manifest (200) and
#      most get nothing (204);
#   4. a sample of polls with curl: statuses, the mean manifest size;
#   5. wrk (bench/polls.lua: every request a different device, with its
#      own token and query) over HTTP and HTTPS, once per http_threads
#      value in BENCH_THREADS, after warm-up runs and one unmeasured run
#      as long as the measured ones (the fleet's steady state, see
#      steady below);
#   6. the same wrk runs against nginx serving a JSON file of the mean
#      manifest size for every device's manifest URL; with
#      BENCH_POLL_ROUNDS=R > 1, R - 1 more rounds of otad's and nginx's
#      runs in turn, each figure then the median round's (see 6b);
#   7. the stores (BENCH_STORES, see bench/lib.sh's stores_list): the
#      same fleet and rollouts on PostgreSQL (tests/pg.sh's private
#      cluster), polled over HTTP through one otad, then through two otad
#      on that one database (two wrk at once, one per node);
#   8. the figures, and a PASS/MISS line per target of issues 3 and 12.
#
# Exit status: 0 when everything ran (whatever the figures; a MISS is not a
# failure), 1 when a step failed (a server did not start, a request was
# refused, wrk failed or saw answers other than 2xx/3xx).
set -u

BENCH_DIR=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$BENCH_DIR/.." && pwd)
OTAD_BIN=${OTAD_BIN:-$ROOT/build/release/otad}
OTACTL_BIN=${OTACTL_BIN:-$ROOT/build/release/otactl}
NGINX_BIN=${NGINX_BIN:-/usr/sbin/nginx}
WRK_BIN=${WRK_BIN:-wrk}
CORES=$(nproc)
NDEV=${BENCH_POLL_DEVICES:-100000}
NGROUPS=${BENCH_POLL_GROUPS:-100}
BATCH=${BENCH_POLL_BATCH:-10000}
PROVISION=${BENCH_POLL_PROVISION:-curl}
DURATION=${BENCH_POLL_DURATION:-15}
WARMUP=${BENCH_POLL_WARMUP:-10}
WARMUP_PASSES=${BENCH_POLL_WARMUP_PASSES:-3}
WARMUP_MAX=${BENCH_POLL_WARMUP_MAX:-40}
CONNS=${BENCH_POLL_CONNECTIONS:-64}
ROUNDS=${BENCH_POLL_ROUNDS:-1}
SAMPLE=${BENCH_POLL_SAMPLE:-300}
WRK_THREADS=${BENCH_WRK_THREADS:-$CORES}
THREADS_LIST=${BENCH_THREADS:-"$CORES $((CORES * 2))"}
# Targets of issue 3.
TARGET_RPS=25000
TARGET_RATIO=0.333333
TARGET_RSS_MIB=64
# Target of issue 12: PostgreSQL, one node, against SQLite.
TARGET_PG_RATIO=0.7

T=$(mktemp -d /tmp/otad-bench.XXXXXX) || exit 1
. "$BENCH_DIR/lib.sh"

need "make; tools/install-deps.sh bench" "$OTAD_BIN" "$OTACTL_BIN" \
    "$NGINX_BIN" -- "$WRK_BIN" curl jq openssl ss
[ "$NDEV" -ge "$NGROUPS" ] && [ "$NGROUPS" -ge 10 ] &&
    [ "$BATCH" -ge 1 ] && [ "$BATCH" -le 10000 ] ||
    die "need BENCH_POLL_DEVICES >= BENCH_POLL_GROUPS >= 10 and" \
    "1 <= BENCH_POLL_BATCH <= 10000"
case $ROUNDS in
[1-9]) ;;
*) die "BENCH_POLL_ROUNDS is 1 to 9, not '$ROUNDS'" ;;
esac
case $PROVISION in
curl | otactl) ;;
*) die "BENCH_POLL_PROVISION is curl or otactl, not '$PROVISION'" ;;
esac

BUSY_BEFORE=$(machine_check)
say "machine CPU busy before the run: $(fmt "$BUSY_BEFORE")%"
mkdir -p "$T/img" "$T/prov" "$T/sample" "$T/nginx/static" || exit 1
: >"$T/results"

# ---- 1. otad --------------------------------------------------------------

otad_setup
# Devices reach otad at one address, as public_url sets it behind a proxy
# or for several nodes (docs/operations.md).  Without it a manifest names
# the scheme and port it was asked on, so the HTTPS runs, minutes after
# the HTTP ones, poll a second set of bodies: the signature cache holds
# both (its entries are young) and signs each of them once again.
OTAD_PUBLIC_URL=$BASE
export OTAD_PUBLIC_URL
# otad logs at warn (no line per request: nginx runs with access_log off);
# the warnings are summarised at the end.

set -- $THREADS_LIST
otad_start "$1"
[ -f "$CERT" ] && [ -f "$KEY" ] || die "otad wrote no dev certificate"

# tokens_make: the admin and release tokens of the running otad's store.
tokens_make() {
	ADMIN=$(token admin) && [ -n "$ADMIN" ] || exit 1
	REL=$(token release) && [ -n "$REL" ] || exit 1
	# Tokens go to curl through files, never on a command line.
	(umask 077 &&
	    printf 'Authorization: Bearer %s\n' "$ADMIN" >"$T/admin.hdr" &&
	    printf 'Authorization: Bearer %s\n' "$REL" >"$T/release.hdr") ||
	    exit 1
}
tokens_make

# ---- 2. provisioning ------------------------------------------------------
# ---- 3. images and rollouts -----------------------------------------------

# fleet_build PREFIX: groups and devices through the API (timed, results
# under PREFIX.), $T/devices, and the overlapping rollouts (see
# rollouts_overlapping in bench/lib.sh).
fleet_build() {
	provision_groups
	: >"$T/devices"
	case $PROVISION in
	curl) provision_curl ;;
	otactl) provision_otactl ;;
	esac
	put "$1.hwm_kib" "$(vm_hwm "$OTAD_PID")"
	put "$1.rss_kib" "$(vm_rss "$OTAD_PID")"
	say "  $(fmt "$(get prov.devices_s)" 2) s"
	# provision_* write prov.*: keep this store's figures apart.
	put "$1.groups_s" "$(get prov.groups_s)"
	put "$1.devices_s" "$(get prov.devices_s)"
	eval "${1}_HOW=\$PROV_HOW ${1}_DETAIL=\$PROV_DETAIL"
	rm -f "$T/tokens"
	[ "$(wc -l <"$T/devices")" = "$NDEV" ] || die "not $NDEV tokens"
	rollouts_overlapping
}
fleet_build sq
# The share of devices offered a manifest if buckets are uniform.
EXPECT_200=$(offer_share)

# ---- 4. a sample of polls -------------------------------------------------

# The first SAMPLE devices poll once over HTTPS with curl (one process,
# keep-alive): every answer must be 200 or 204; the 200 bodies give the
# mean manifest size, the size of nginx's static file.
head -n "$SAMPLE" "$T/devices" | awk -v base="$BASE" -v cert="$CERT" \
    -v dir="$T/sample" '{
	if (NR > 1) print "next"
	printf "url = \"%s/api/v1/devices/%s/manifest?hardware=%s&version=%s\"\n",
	    base, $1, $3, $4
	printf "cacert = \"%s\"\n", cert
	printf "header = \"Authorization: Bearer %s\"\n", $2
	printf "output = \"%s/%06d.body\"\n", dir, NR
	printf "write-out = \"%%{http_code} %%{size_download} %06d\\n\"\n", NR
}' >"$T/sample.curl"
chmod 600 "$T/sample.curl"
say "a sample: $SAMPLE polls with curl"
curl -sS -K "$T/sample.curl" >"$T/sample.codes" 2>"$T/api.err" ||
    die "curl polls: $(cat "$T/api.err")"
bad=$(awk '$1 != 200 && $1 != 204' "$T/sample.codes" | head -n 3)
[ -z "$bad" ] || die "polls answered other than 200/204:" \
    "$(echo "$bad" | cut -d' ' -f1 | tr '\n' ' ')" \
    "$(cat "$T/sample/$(echo "$bad" | head -n 1 | cut -d' ' -f3).body")"
S200=$(awk '$1 == 200' "$T/sample.codes" | wc -l)
S204=$(awk '$1 == 204' "$T/sample.codes" | wc -l)
[ "$S200" -gt 0 ] ||
    die "none of the first $SAMPLE devices was offered a manifest"
MEAN_BYTES=$(awk '$1 == 200 { s += $2; n++ }
    END { printf "%d", s / n + 0.5 }' "$T/sample.codes")
SMALLEST=$(awk '$1 == 200' "$T/sample.codes" | sort -k2,2n | head -n 1 |
    cut -d' ' -f3)
jq -e '.device and .rollout and .descriptor and .url' \
    "$T/sample/$SMALLEST.body" >/dev/null ||
    die "a 200 poll answer is not a manifest:" \
    "$(head -c 300 "$T/sample/$SMALLEST.body")"
# nginx's file: the smallest sampled manifest, padded with white space
# (still the same JSON) to the mean size.
STATIC="$T/nginx/static/manifest.json"
cp "$T/sample/$SMALLEST.body" "$STATIC" || exit 1
pad=$((MEAN_BYTES - $(wc -c <"$STATIC")))
[ $pad -gt 0 ] && printf "%${pad}s" "" >>"$STATIC"
STATIC_BYTES=$(wc -c <"$STATIC")
rm -rf "$T/sample" "$T/sample.curl"
say "  200 x $S200, 204 x $S204; mean manifest $MEAN_BYTES bytes"

# ---- 5. otad under wrk ------------------------------------------------------

export BENCH_DEVICES="$T/devices"
export BENCH_WRK_THREADS="$WRK_THREADS"
WRK_SCRIPT="$BENCH_DIR/polls.lua"
SCENARIOS="http https"
# url HTTP-BASE HTTPS-BASE SCENARIO: the URL wrk is given (polls.lua
# writes the requests; only the scheme, host and port are used).
url() {
	case $3 in
	http) echo "$1/api/v1/devices/" ;;
	https) echo "$2/api/v1/devices/" ;;
	esac
}

# warm_up NAME URL [URL2]: warm-up runs of WARMUP seconds over HTTP (not
# reported) until the fleet was polled WARMUP_PASSES times (at most
# WARMUP_MAX runs; each run goes on where the last one stopped, so the
# passes cover every device).  A device's first report changes what the
# store holds, which empties its device-cache entry: the cache answers
# from a device's third poll on, as in a fleet in service.  The caches
# that size themselves to the fleet (the signature cache, the memory of
# recent reports) grow during the first two passes at 1M devices, each
# growth starting empty: the third pass measures them grown.  With URL2, two wrk
# at once (wrk_pair, one per node).
warm_up() {
	[ "$WARMUP" -gt 0 ] || return 0
	wu_d=$DURATION
	DURATION=$WARMUP
	wu_n=0
	wu_i=0
	while [ "$wu_n" -lt $((WARMUP_PASSES * NDEV)) ] &&
	    [ "$wu_i" -lt "$WARMUP_MAX" ]; do
		if [ $# -ge 3 ]; then
			wrk_pair "$1.warmup$wu_i" "$2" "$3" || break
		else
			wrk_run "$1.warmup$wu_i" "$2" || break
		fi
		wu_n=$(awk -v a="$wu_n" -v b="$(get "$1.warmup$wu_i.w_requests")" \
		    'BEGIN { printf "%d", a + b }')
		wu_i=$((wu_i + 1))
	done
	DURATION=$wu_d
	say "  warm-up: $wu_n polls in $wu_i runs of ${WARMUP}s"
}

# settle: after the warm-up's writes (every device's first reports), a
# pause of 2 s, and on PostgreSQL a VACUUM (ANALYZE) of otad's database,
# as pgbench does before each run: the measured run then sees the steady
# state of a fleet in service, not autovacuum catching up with the
# warm-up's 200,000 updates of devices.
settle() {
	if [ -n "${OTAD_DATABASE:-}" ]; then
		psql -X -q -v ON_ERROR_STOP=1 "$OTAD_DATABASE" \
		    -c "VACUUM (ANALYZE)" >/dev/null 2>"$T/psql.err" ||
		    die "VACUUM: $(cat "$T/psql.err")"
	fi
	sleep 2
}

# steady NAME URL [URL2]: after settle, one run as long as the measured
# ones, not reported.  The warm-up records every device within a few
# minutes (on PostgreSQL at 1M devices, a cold pass of 150 s), so their
# refreshes, 45 to 75 s later, come in a wave: on a 1M PostgreSQL fleet
# the first 70 s after it cost 29.5 us a poll (otad and PostgreSQL),
# the runs after it 22.1 to 22.3.  The measured runs then see the fleet's
# steady state, not the tail of its first minutes (bench/README.md).
steady() {
	if [ $# -ge 3 ]; then
		wrk_pair "$1.steady" "$2" "$3"
	else
		wrk_run "$1.steady" "$2"
	fi
}

# caches_put NAME HTTP-BASE PID: what otad's memory holds after the runs:
# its anonymous and file-backed resident KiB (/proc), and from its
# /metrics the device cache's and the signature cache's bytes, the
# signature cache's places (it sizes itself to the fleet) and the most
# the poll-report buffers held.
caches_put() {
	for m in RssAnon RssFile; do
		put "$1.$m" "$(proc_kib "$3" "$m")"
	done
	for m in device_cache_bytes signature_cache_bytes \
	    signature_cache_entries poll_reports_buffer_peak_bytes; do
		put "$1.$m" "$(metric_at "$T/admin.hdr" "$2" "otad_$m")"
	done
}

# drops_put NAME HTTP-BASE: the poll reports otad has dropped since it
# started (its /metrics), after run NAME.
drops_put() {
	put "$1.dropped" "$(metric_at "$T/admin.hdr" "$2" \
	    otad_poll_reports_total 'outcome="dropped"')"
}

# log_dropped: the poll reports every otad so far logged as dropped.
log_dropped() {
	sed -n 's/.*msg="poll reports dropped[^"]*".* dropped=\([0-9]*\).*/\1/p' \
	    "$T/otad.log" 2>/dev/null | awk '{ s += $1 } END { print s + 0 }'
}

# mem_put NAME PID: PID's VmHWM and VmRSS after run NAME.
mem_put() {
	put "$1.hwm_kib" "$(vm_hwm "$2")"
	put "$1.rss_kib" "$(vm_rss "$2")"
}

# poll_ready NAME URL [URL2]: what comes before measured runs: the
# warm-up (not reported), settle, the steady run.
poll_ready() {
	warm_up "$@"
	settle
	steady "$@"
}

# poll_runs NAME HTTP-BASE HTTPS-BASE [PID]: poll_ready, then the measured
# runs; with PID (an otad), its VmHWM and VmRSS after each, and its caches.
poll_runs() {
	poll_ready "$1" "$(url "$2" "$3" http)"
	# Not $s: wrk_run sets it.
	for sc in $SCENARIOS; do
		wrk_run "$1.$sc" "$(url "$2" "$3" "$sc")"
		[ -z "${4:-}" ] || mem_put "$1.$sc" "$4"
		[ -z "${4:-}" ] || drops_put "$1.$sc" "$2"
	done
	[ -z "${4:-}" ] || caches_put "$1" "$2" "$4"
}

OTAD_CIPHER=$(tls_cipher "$OTAD_HTTPS_PORT")
first=1
for th in $THREADS_LIST; do
	if [ $first -eq 0 ]; then
		otad_stop
		otad_start "$th"
	fi
	first=0
	poll_runs "otad.t$th" "$PLAIN" "$BASE" "$OTAD_PID"
done
# With rounds, otad keeps running: its runs alternate with nginx's below.
[ "$ROUNDS" -gt 1 ] || otad_stop

# The faster http_threads: the higher geometric mean of polls/s over HTTP
# and HTTPS.
BEST=""
best_score=""
for th in $THREADS_LIST; do
	score=0
	for s in $SCENARIOS; do
		v=$(get "otad.t$th.$s.rps")
		score=$(calc "$score + log(${v:-0} + 1e-9) / 2")
	done
	score=$(calc "exp($score)")
	put "otad.t$th.score" "$score"
	if [ -z "$best_score" ] || ! ge "$best_score" "$score"; then
		BEST=$th
		best_score=$score
	fi
done

# ---- 6. nginx ---------------------------------------------------------------

# Every device's manifest URL (whatever the id and query) is the file.
cat >"$T/nginx/locations.conf" <<EOF
location /api/v1/devices/ {
	root $T/nginx/static;
	default_type application/json;
	try_files /manifest.json =404;
}
EOF
nginx_start
got=$(curl -sS --cacert "$CERT" -o /dev/null -w '%{http_code} %{size_download}' \
    "$NG_BASE/api/v1/devices/dev-000000/manifest?hardware=revA&version=1.0.0")
[ "$got" = "200 $STATIC_BYTES" ] ||
    die "nginx answered '$got', not '200 $STATIC_BYTES'"
poll_runs nginx "$NG_PLAIN" "$NG_BASE"

# ---- 6b. rounds: otad and nginx in turn ---------------------------------------

# With BENCH_POLL_ROUNDS=R > 1, R - 1 more rounds of measured runs, otad's
# and nginx's in turn (otad HTTP, nginx HTTP, otad HTTPS, nginx HTTPS):
# nginx's own p99 moved 2.4 to 6.8 ms between runs of 30 s minutes apart
# (bench/README.md), so one run of each compares two draws.  Each figure
# reported is then the round with the median polls/s, with the medians of
# the rounds' p50 and p99; every round is printed.  Each of otad's runs
# comes after an unreported one as long (steady): through nginx's run otad
# recorded nothing, so at its next run most of the fleet was due a
# refresh at once, a burst of writes (at 1M devices every poll for about
# 20 s) that its measured runs in turn would otherwise each begin with.

# median_round NAME SCENARIO: after the rounds, NAME.SCENARIO (round 1's
# run) is kept as NAME.r1.SCENARIO and becomes the round with the median
# polls/s, with the median p50 and p99 of all rounds.
median_round() {
	copy_run "$1.$2" "$1.r1.$2"
	pick=$(for i in $(seq "$ROUNDS"); do
		echo "$(val "$1.r$i.$2" rps) $i"; done | median_index)
	[ -z "$pick" ] || [ "$pick" = 1 ] || copy_run "$1.r$pick.$2" "$1.$2"
	for m in p50_ms p99_ms; do
		put "$1.$2.$m" "$(for i in $(seq "$ROUNDS"); do
			val "$1.r$i.$2" "$m"; done | median_value)"
	done
}

if [ "$ROUNDS" -gt 1 ]; then
	NG_PIDS=$SERVER_PIDS
	if [ "$OTAD_THREADS" != "$BEST" ]; then
		otad_stop
		otad_start "$BEST"
		poll_ready "otad.t$BEST.again" "$(url "$PLAIN" "$BASE" http)"
	fi
	for r in $(seq 2 "$ROUNDS"); do
		say "round $r of $ROUNDS: otad and nginx in turn"
		for sc in $SCENARIOS; do
			SERVER_PIDS=$OTAD_PID
			# otad idled through nginx's run: its fleet's
			# refreshes fell due together (steady).
			# Not named otad.t$BEST.r$r.$sc.*: median_round
			# copies that run's keys.
			steady "otad.t$BEST.r$r.before-$sc" \
			    "$(url "$PLAIN" "$BASE" "$sc")"
			wrk_run "otad.t$BEST.r$r.$sc" "$(url "$PLAIN" "$BASE" "$sc")"
			mem_put "otad.t$BEST.r$r.$sc" "$OTAD_PID"
			drops_put "otad.t$BEST.r$r.$sc" "$PLAIN"
			SERVER_PIDS=$NG_PIDS
			wrk_run "nginx.r$r.$sc" "$(url "$NG_PLAIN" "$NG_BASE" "$sc")"
		done
	done
	otad_stop
	for sc in $SCENARIOS; do
		median_round "otad.t$BEST" "$sc"
		median_round nginx "$sc"
	done
fi
stop_pid "$NGINX_PID"
NGINX_PID=""

# ---- 7. the stores -----------------------------------------------------------

# The same fleet and rollouts on PostgreSQL, polled over HTTP with the
# faster http_threads: one otad, then two otad on the one database.  The
# CPU per poll counts otad's and PostgreSQL's processes (SQLite's work is
# inside otad).
# Every SQLite otad has stopped: what they dropped, apart from PostgreSQL's.
put sq.dropped "$(log_dropped)"
if store_wanted pg || store_wanted pg2; then
	pg_bench_start
	OTAD_DATABASE=$(pg_bench_db bench_polls) || exit 1
	export OTAD_DATABASE
	otad_setup "$T/var-pg"
	OTAD_PUBLIC_URL=$BASE
	otad_start "$BEST"
	tokens_make
	fleet_build pgprov
	SCENARIOS=http
	# shellcheck disable=SC2046
	SERVER_PIDS="$OTAD_PID $(pg_server_pids)"
	store_wanted pg && poll_runs "pg1.t$BEST" "$PLAIN" "$BASE" "$OTAD_PID"
	if store_wanted pg2; then
		otad_node_start "$T/var-pg2" "$BEST"
		SERVER_PIDS="$OTAD_PID $NODE_PID $(pg_server_pids)"
		poll_ready pg2 "$(url "$PLAIN" "$BASE" http)" \
		    "$(url "$NODE_PLAIN" "$NODE_BASE" http)"
		wrk_pair "pg2.t$BEST.http" "$(url "$PLAIN" "$BASE" http)" \
		    "$(url "$NODE_PLAIN" "$NODE_BASE" http)"
		put "pg2.t$BEST.http.hwm_kib" "$(vm_hwm "$NODE_PID")"
		drops_put "pg2.t$BEST.http" "$NODE_PLAIN"
		stop_pid "$NODE_PID"
	fi
	put "pg1.t$BEST.http.hwm_kib" "$(vm_hwm "$OTAD_PID")"
	drops_put pg1.end "$PLAIN"
	stop_pid "$OTAD_PID"
	OTAD_PID=""
	unset OTAD_DATABASE
	SCENARIOS="http https"
fi

# ---- 8. figures -------------------------------------------------------------

# per_req KEY: the server's CPU microseconds per response.
per_req() {
	c=$(val "$1" cpu) && r=$(val "$1" w_requests) && [ -n "$c" ] &&
	    calc "$c * 1e6 / ($r + 1e-9)"
}
# share KEY FIELD...: the FIELDs' count in % of the responses counted by
# polls.lua (s200, s204, s304, s401, s403, s404, sother).
share() {
	[ "$(get "$1.ok")" = 1 ] || return 0
	k=$1
	shift
	awk -v k="$k" -v f=" $* " '
	    index($1, k ".w_s") == 1 { t += $2
		if (index(f, " " substr($1, length(k) + 4) " ")) v += $2 }
	    END { if (t > 0) printf "%.4f", v * 100 / t }' "$T/results"
}
label() {
	case $1 in
	http) echo "polls, HTTP" ;;
	https) echo "polls, HTTPS" ;;
	esac
}

ROW='%-20s %-14s %10s %10s %7s\n'
# row LABEL METRIC OTAD NGINX [DECIMALS]: the figures and otad/nginx.
row() {
	r=-
	if [ -n "$3" ] && [ -n "$4" ]; then
		r=$(fmt "$(calc "$3 / ($4 + 1e-12)")" 2)
	fi
	printf "$ROW" "$1" "$2" "$(fmt "$3" "${5:-1}")" "$(fmt "$4" "${5:-1}")" \
	    "$r"
}

groups_s=$(get sq.groups_s)
devices_s=$(get sq.devices_s)
echo
echo "otad manifest polls: $CORES cores ($(awk -F': ' '/^model name/ {
    print $2; exit }' /proc/cpuinfo)), loopback;" \
    "wrk -t$WRK_THREADS -c$CONNS -d${DURATION}s per figure, keep-alive"
echo "TLS negotiated with an OpenSSL client (as wrk): otad $OTAD_CIPHER;" \
    "nginx $NGINX_CIPHER"
echo "machine CPU busy before the run (other processes): $(fmt "$BUSY_BEFORE")%"
if ge "$BUSY_BEFORE" 10; then
	echo "WARNING: the machine was busy before the run; every figure below is" \
	    "lower and noisier than on an idle machine"
fi
echo
echo "fleet: $NDEV devices (revA/revB, installed 1.0.0) in $NGROUPS groups," \
    "device i in g<i % $NGROUPS>"
while read -r rid ver g0 g1 pct; do
	echo "  rollout $rid: bench-fw $ver to g$g0..g$g1, running at $pct %"
done <"$T/rollouts"
echo
echo "provisioning over HTTPS (admin token)"
printf '  %-54s %7s s %8s/s\n' "$NGROUPS groups (POST /api/v1/groups each)" \
    "$(fmt "$groups_s" 2)" "$(fmt "$(calc "$NGROUPS / $groups_s")" 0) groups"
printf '  %-54s %7s s %8s/s\n' "$NDEV devices ($sq_HOW)" \
    "$(fmt "$devices_s" 2)" "$(fmt "$(calc "$NDEV / $devices_s")" 0) devices"
echo "  $sq_DETAIL"
echo "  otad after provisioning: VmHWM $(fmt "$(get sq.hwm_kib) / 1024") MiB," \
    "VmRSS $(fmt "$(get sq.rss_kib) / 1024") MiB"
if [ -n "$(get pgprov.devices_s)" ]; then
	g=$(get pgprov.groups_s)
	d=$(get pgprov.devices_s)
	echo "  the same on PostgreSQL: groups $(fmt "$g" 2) s" \
	    "($(fmt "$(calc "$NGROUPS / $g")" 0)/s), devices $(fmt "$d" 2) s" \
	    "($(fmt "$(calc "$NDEV / $d")" 0)/s)"
fi
echo
echo "sample of $SAMPLE polls (curl, HTTPS): 200 x $S200, 204 x $S204;" \
    "mean manifest $MEAN_BYTES bytes (nginx's static file: $STATIC_BYTES)"

echo
echo "otad http_threads, the same wrk runs for each (the faster is used below)"
printf '  %-18s %-16s' scenario metric
for th in $THREADS_LIST; do printf ' %12s' "threads=$th"; done
echo
for s in $SCENARIOS; do
	for m in rps p99_ms us_req busy wrk_pct rss_mib hwm_mib; do
		printf '  %-18s %-16s' "$(label "$s")" "$m"
		for th in $THREADS_LIST; do
			k="otad.t$th.$s"
			case $m in
			us_req) v=$(fmt "$(per_req "$k")") ;;
			wrk_pct) v=$(fmt "$(wrk_pct "$k")") ;;
			busy) v=$(val "$k" busy) ;;
			rss_mib) v=$(fmt "$(get "$k.rss_kib") / 1024") ;;
			hwm_mib) v=$(fmt "$(get "$k.hwm_kib") / 1024") ;;
			p99_ms) v=$(fmt "$(val "$k" p99_ms)" 2) ;;
			*) v=$(fmt "$(val "$k" $m)") ;;
			esac
			printf ' %12s' "${v:--}"
		done
		echo
	done
done
printf '  %-35s' "peak RSS (VmHWM), MiB"
for th in $THREADS_LIST; do
	printf ' %12s' "$(fmt "$(get "otad.t$th.hwm_kib") / 1024")"
done
echo
echo "  (rps: polls/s; us_req: server CPU us per poll; busy: CPU s of each" \
    "busy thread; wrk_pct: wrk's CPU in % of all cores; rss_mib, hwm_mib:" \
    "otad's VmRSS and VmHWM after the run)"
echo "  -> http_threads=$BEST"

echo
printf "$ROW" scenario metric otad nginx ratio
printf "$ROW" -------- ------ ---- ----- -----
for s in $SCENARIOS; do
	k="otad.t$BEST.$s"
	row "$(label "$s")" "req/s" "$(val "$k" rps)" "$(val "nginx.$s" rps)" 0
	row "" "p50 ms" "$(val "$k" p50_ms)" "$(val "nginx.$s" p50_ms)" 2
	row "" "p99 ms" "$(val "$k" p99_ms)" "$(val "nginx.$s" p99_ms)" 2
	row "" "CPU us/req" "$(per_req "$k")" "$(per_req "nginx.$s")"
	row "" "wrk CPU %" "$(wrk_pct "$k")" "$(wrk_pct "nginx.$s")"
done
if [ "$ROUNDS" -gt 1 ]; then
	echo
	echo "$ROUNDS rounds, otad's and nginx's runs in turn (above: the" \
	    "round with the median req/s, with the medians of p50 and p99;" \
	    "dropped: otad's poll reports dropped since it started)"
	RROW='  %-14s %5s %11s %11s %6s %9s %9s %6s %9s\n'
	printf "$RROW" scenario round "otad req/s" "nginx req/s" ratio \
	    "otad p99" "nginx p99" ratio dropped
	for s in $SCENARIOS; do
		for i in $(seq "$ROUNDS"); do
			o=$(val "otad.t$BEST.r$i.$s" rps)
			n=$(val "nginx.r$i.$s" rps)
			op=$(val "otad.t$BEST.r$i.$s" p99_ms)
			np=$(val "nginx.r$i.$s" p99_ms)
			printf "$RROW" "$(label "$s")" "$i" "$(fmt "$o" 0)" \
			    "$(fmt "$n" 0)" "$(ratio "$o" "$n")" \
			    "$(fmt "$op" 2)" "$(fmt "$np" 2)" \
			    "$(ratio "$op" "$np")" \
			    "$(get "otad.t$BEST.r$i.$s.dropped")"
		done
	done
fi
echo
for s in $SCENARIOS; do
	k="otad.t$BEST.$s"
	echo "otad $(label "$s") status mix: 200 $(fmt "$(share "$k" s200)")%," \
	    "204 $(fmt "$(share "$k" s204)")%, other" \
	    "$(fmt "$(share "$k" s304 s401 s403 s404 sother)")%" \
	    "($(get "$k.w_requests") polls)"
done
echo "expected 200 share from the stages and groups (uniform buckets):" \
    "$(fmt "$EXPECT_200")%; in the curl sample:" \
    "$(fmt "$(calc "$S200 * 100 / ($S200 + $S204)")")%"
peak=$(get sq.hwm_kib)
for th in $THREADS_LIST; do
	h=$(get "otad.t$th.hwm_kib")
	[ -n "$h" ] && [ "$h" -gt "${peak:-0}" ] && peak=$h
done
echo "otad peak RSS (VmHWM, highest of the otad processes, provisioning" \
    "included): $(fmt "${peak:-0} / 1024") MiB"
for th in $THREADS_LIST; do
	k=otad.t$th
	[ -n "$(get "$k.device_cache_bytes")" ] || continue
	echo "  otad http_threads=$th after its runs: resident" \
	    "$(fmt "$(get "$k.RssAnon") / 1024") MiB anonymous and" \
	    "$(fmt "$(get "$k.RssFile") / 1024") MiB of files; device cache" \
	    "$(fmt "$(get "$k.device_cache_bytes") / 1048576") MiB, signature" \
	    "cache $(fmt "$(get "$k.signature_cache_bytes") / 1048576") MiB" \
	    "($(get "$k.signature_cache_entries") places), poll-report" \
	    "buffers at most" \
	    "$(fmt "$(get "$k.poll_reports_buffer_peak_bytes") / 1048576") MiB"
done

# The stores, polled alike over HTTP.
SROW='  %-22s %10s %8s %8s %12s %9s %7s\n'
if store_wanted pg || store_wanted pg2; then
	echo
	echo "stores: polls over HTTP, http_threads=$BEST, the same fleet and" \
	    "rollouts; CPU us/poll counts otad's processes and PostgreSQL's"
	printf "$SROW" store polls/s "p50 ms" "p99 ms" "CPU us/poll" "x SQLite" \
	    "200 %"
	sq=$(val "otad.t$BEST.http" rps)
	for st in sqlite pg1 pg2; do
		case $st in
		sqlite) k="otad.t$BEST.http" l="SQLite, 1 node" ;;
		pg1) k="pg1.t$BEST.http" l="PostgreSQL, 1 node" ;;
		pg2) k="pg2.t$BEST.http" l="PostgreSQL, 2 nodes" ;;
		esac
		[ -n "$(get "$k.ok")" ] || continue
		r=$(val "$k" rps)
		x=""
		[ -n "$r" ] && [ -n "$sq" ] && x=$(calc "$r / ($sq + 1e-12)")
		printf "$SROW" "$l" "$(fmt "$r" 0)" "$(fmt "$(val "$k" p50_ms)" 2)" \
		    "$(fmt "$(val "$k" p99_ms)" 2)" "$(fmt "$(per_req "$k")")" \
		    "$(fmt "$x" 2)" "$(fmt "$(share "$k" s200)")"
	done
	echo "  (2 nodes: two wrk at once, one per otad, each with half the" \
	    "connections; all of them share these $CORES cores with PostgreSQL)"
fi

# Issue 3's targets are a fleet of 100,000 devices' (a larger one is
# issue 13's, whose verdicts bench/scale.sh prints).
echo
if [ "$NDEV" -le 100000 ]; then
	echo "targets (issue 3)"
	v=$(val "otad.t$BEST.http" rps)
	ok=0
	[ -n "$v" ] && ge "$v" $TARGET_RPS && ok=1
	target $ok "polls/s over HTTP >= $TARGET_RPS" "$(fmt "$v" 0)"
	for s in $SCENARIOS; do
		o=$(val "otad.t$BEST.$s" rps)
		n=$(val "nginx.$s" rps)
		r=""
		ok=0
		if [ -n "$o" ] && [ -n "$n" ]; then
			r=$(calc "$o / ($n + 1e-12)")
			ge "$r" $TARGET_RATIO && ok=1
			r=$(fmt "$r" 2)
		fi
		target $ok "otad >= 1/3 of nginx's static rate, $(echo "$s" |
		    tr a-z A-Z)" "$r"
	done
	ok=0
	[ -n "$peak" ] && [ "$peak" -lt $((TARGET_RSS_MIB * 1024)) ] && ok=1
	target $ok "otad peak RSS < $TARGET_RSS_MIB MiB" \
	    "$(fmt "${peak:-0} / 1024") MiB"
else
	echo "targets (issue 3): set for 100,000 devices, not checked at" \
	    "$NDEV (bench/scale.sh prints issue 13's at 1,000,000)"
fi

if store_wanted pg; then
	echo
	echo "targets (issue 12)"
	r=""
	ok=0
	o=$(val "pg1.t$BEST.http" rps)
	sq=$(val "otad.t$BEST.http" rps)
	if [ -n "$o" ] && [ -n "$sq" ]; then
		r=$(calc "$o / ($sq + 1e-12)")
		ge "$r" $TARGET_PG_RATIO && ok=1
		r="$(fmt "$r" 2) ($(fmt "$o" 0) vs $(fmt "$sq" 0) polls/s)"
	fi
	target $ok \
	    "PostgreSQL one node >= $TARGET_PG_RATIO x SQLite polls/s, HTTP" "$r"
fi

# otad buffers the poll reports (last seen, reported version) and writes
# them in batches; when the writer falls behind it drops the oldest
# last-seen-only ones and logs how many.
polls=$(awk '$1 ~ /^otad\..*\.w_requests$/ && $3 != "copy" { s += $2 }
    END { printf "%d", s }' "$T/results")
dropped=$(get sq.dropped)
echo "poll reports otad dropped on SQLite (writer behind, logged): $dropped," \
    "of $polls polls by wrk"
d1=$(get pg1.end.dropped)
d2=$(get "pg2.t$BEST.http.dropped")
if [ -n "$d1$d2" ]; then
	echo "  on PostgreSQL (/metrics): the first otad ${d1:--}" \
	    "(its runs and the two-node run), the second node ${d2:--}"
fi

awk '$1 ~ /\.why$/ { print $1, $2 }' "$T/results" | while read -r k why; do
	echo "FAILED: ${k%.why}: $why"
done
if grep -q . "$T/otad.log" 2>/dev/null; then
	echo
	echo "otad log, messages by count, numbers as N (wrk drops its" \
	    "connections when a run ends):"
	sed -e 's/^ts=[^ ]* //' -e 's|/devices/[^/ ]*/|/devices/ID/|g' \
	    -e 's/=[0-9][0-9]*/=N/g' "$T/otad.log" | sort | uniq -c |
	    sort -rn | head -n 10 | cut -c1-150 | sed 's/^/  /'
fi
# BENCH_POLL_SAVE=FILE: this run's figures, for bench/scale.sh.
if [ -n "${BENCH_POLL_SAVE:-}" ]; then
	{
		cat "$T/results"
		echo "run.ndev $NDEV"
		echo "run.best $BEST"
		echo "run.polls $polls"
		echo "run.dropped $dropped"
		echo "run.peak_kib ${peak:-}"
		echo "run.static_bytes $STATIC_BYTES"
		echo "run.busy_before $BUSY_BEFORE"
		echo "run.failed $FAILED"
	} >"$BENCH_POLL_SAVE" || die "cannot write $BENCH_POLL_SAVE"
fi
[ "$FAILED" = 0 ] || exit 1
exit 0
