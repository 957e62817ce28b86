#!/bin/sh
# ddi.sh: otad's hawkBit DDI poll rate (GET /DEFAULT/controller/v1/{id},
# each device with its own TargetToken, as SWUpdate's suricatta polls)
# beside the REST manifest poll rate, in the same run, with a fleet of
# 100,000 devices.  See bench/README.md.  `make bench` builds the release
# binaries first.
#
#   1. otad (release build) on random ports, HTTPS + plain HTTP, a fresh
#      temp data dir, log_level=warn, http_threads=BENCH_DDI_THREADS;
#   2. provisioning through the API, timed, as bench/polls.sh does:
#      groups g0..g99, then the devices (hardware revA/revB, installed
#      version 1.0.0) in batches of 10,000;
#   3. the three rollouts of bench/polls.sh (bench-fw 1.1.0, 1.2.0, 1.3.0
#      at 100 %, 25 % and 5 % of overlapping groups), so that about 30 %
#      of the devices are offered an update;
#   4. a sample of DDI polls with curl: statuses, deploymentBase links, one
#      deploymentBase read;
#   5. wrk with bench/ddi.lua until every device has sent one request:
#      PUT configData (the attributes SWUpdate sends: hw_revision and
#      sw_version), then a first DDI poll each (which opens the DDI action
#      of every device offered an update);
#   6. wrk for BENCH_DDI_DURATION seconds each: DDI polls (bench/ddi.lua)
#      and REST manifest polls (bench/polls.lua) of the same devices, over
#      HTTP and HTTPS, otad's VmRSS after each; BENCH_DDI_ROUNDS (3) rounds
#      of them in turn, the figures then the median round's (by DDI/REST
#      polls/s), every round printed;
#   7. configData PUTs paced at BENCH_DDI_PUT_RATE a second (wrk's
#      delay(), BENCH_DDI_PUT_CONNECTIONS connections, each request to the
#      next device of the permutation) for BENCH_DDI_DURATION seconds
#      over HTTP, while a second wrk polls DDI at full speed (16
#      connections): the PUTs' p50/p99 and the polls' rate beside;
#   8. the figures, and a PASS/MISS line for each of issue 13's targets:
#      the DDI poll at least 0.9x the REST poll over HTTP and over HTTPS,
#      configData PUTs at 5,000/s with a p99 of at most 50 ms.
#
# Exit status: 0 when everything ran, 1 when a step failed (otad did not
# start, a request was refused, wrk failed or saw answers other than
# 2xx/3xx).
set -u

BENCH_DIR=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$BENCH_DIR/.." && pwd)
OTAD_BIN=${OTAD_BIN:-$ROOT/build/release/otad}
OTACTL_BIN=${OTACTL_BIN:-$ROOT/build/release/otactl}
WRK_BIN=${WRK_BIN:-wrk}
CORES=$(nproc)
NDEV=${BENCH_DDI_DEVICES:-100000}
NGROUPS=${BENCH_DDI_GROUPS:-100}
BATCH=${BENCH_DDI_BATCH:-10000}
DURATION=${BENCH_DDI_DURATION:-15}
PASS_MAX=${BENCH_DDI_PASS_MAX:-300}
CONNS=${BENCH_DDI_CONNECTIONS:-64}
SAMPLE=${BENCH_DDI_SAMPLE:-300}
WRK_THREADS=${BENCH_WRK_THREADS:-$CORES}
HTTP_THREADS=${BENCH_DDI_THREADS:-$((CORES * 2))}
PUT_RATE=${BENCH_DDI_PUT_RATE:-5000}
PUT_CONNS=${BENCH_DDI_PUT_CONNECTIONS:-128}
ROUNDS=${BENCH_DDI_ROUNDS:-3}

T=$(mktemp -d /tmp/otad-bench.XXXXXX) || exit 1
. "$BENCH_DIR/lib.sh"

need "make; tools/install-deps.sh bench" "$OTAD_BIN" "$OTACTL_BIN" -- \
    "$WRK_BIN" curl jq openssl ss
[ "$NDEV" -ge "$NGROUPS" ] && [ "$NGROUPS" -ge 10 ] &&
    [ "$BATCH" -ge 1 ] && [ "$BATCH" -le 10000 ] &&
    [ "$SAMPLE" -ge 1 ] && [ "$SAMPLE" -le "$NDEV" ] &&
    [ "$PUT_RATE" -ge 1 ] && [ "$PUT_CONNS" -ge 1 ] &&
    [ $((PUT_CONNS * 1000 / PUT_RATE)) -ge 1 ] ||
    die "need BENCH_DDI_DEVICES >= BENCH_DDI_GROUPS >= 10," \
    "1 <= BENCH_DDI_BATCH <= 10000, 1 <= BENCH_DDI_SAMPLE <= devices" \
    "and BENCH_DDI_PUT_CONNECTIONS * 1000 >= BENCH_DDI_PUT_RATE >= 1"
case $ROUNDS in
[1-9]) ;;
*) die "BENCH_DDI_ROUNDS is 1 to 9, not '$ROUNDS'" ;;
esac

BUSY_BEFORE=$(machine_check)
say "machine CPU busy before the run: $(fmt "$BUSY_BEFORE")%"
mkdir -p "$T/img" "$T/prov" "$T/sample" "$T/done" || exit 1
: >"$T/results"

# ---- 1. otad ----------------------------------------------------------------

otad_setup
otad_start "$HTTP_THREADS"
[ -f "$CERT" ] || die "otad wrote no dev certificate"
ADMIN=$(token admin) && [ -n "$ADMIN" ] || exit 1
REL=$(token release) && [ -n "$REL" ] || exit 1
(umask 077 &&
    printf 'Authorization: Bearer %s\n' "$ADMIN" >"$T/admin.hdr" &&
    printf 'Authorization: Bearer %s\n' "$REL" >"$T/release.hdr") ||
    exit 1

# ---- 2. provisioning ----------------------------------------------------------

provision_groups
: >"$T/devices"
provision_curl
put prov.rss_kib "$(vm_rss "$OTAD_PID")"
say "  $(fmt "$(get prov.devices_s)" 2) s"
rm -f "$T/tokens"
[ "$(wc -l <"$T/devices")" = "$NDEV" ] || die "not $NDEV tokens"

# ---- 3. images and rollouts (as bench/polls.sh) -------------------------------

rollouts_overlapping
# The share of devices offered an update if buckets are uniform.
EXPECT_OFFER=$(offer_share)

# ---- 4. a sample of DDI polls ---------------------------------------------------

# sample_polls: the first SAMPLE devices poll once over HTTPS with curl
# (one process, keep-alive); "STATUS BYTES N" lines in $T/sample.codes,
# the bodies in $T/sample/N.body.
sample_polls() {
	head -n "$SAMPLE" "$T/devices" | awk -v base="$BASE" -v cert="$CERT" \
	    -v dir="$T/sample" '{
		if (NR > 1) print "next"
		printf "url = \"%s/DEFAULT/controller/v1/%s\"\n", base, $1
		printf "cacert = \"%s\"\n", cert
		printf "header = \"Authorization: TargetToken %s\"\n", $2
		printf "output = \"%s/%06d.body\"\n", dir, NR
		printf "write-out = \"%%{http_code} %%{size_download} %06d\\n\"\n", NR
	}' >"$T/sample.curl"
	chmod 600 "$T/sample.curl"
	curl -sS -K "$T/sample.curl" >"$T/sample.codes" 2>"$T/api.err" ||
	    die "curl DDI polls: $(cat "$T/api.err")"
	bad=$(awk '$1 != 200' "$T/sample.codes" | head -n 3)
	[ -z "$bad" ] || die "DDI polls answered other than 200:" \
	    "$(echo "$bad" | cut -d' ' -f1 | tr '\n' ' ')" \
	    "$(cat "$T/sample/$(echo "$bad" | head -n 1 | cut -d' ' -f3).body")"
}

# links NAME: how many sampled answers have the link NAME.
links() {
	cat "$T"/sample/*.body | jq -s --arg l "$1" \
	    '[.[] | select(._links[$l] != null)] | length'
}

say "a sample: $SAMPLE DDI polls with curl"
sample_polls
S_DEPLOY=$(links deploymentBase)
S_CONFIG=$(links configData)
[ "$S_DEPLOY" -gt 0 ] ||
    die "none of the first $SAMPLE devices was offered a deployment"
[ "$S_CONFIG" = "$SAMPLE" ] ||
    die "$S_CONFIG of $SAMPLE first polls ask for configData, not all"
S_BYTES=$(awk '{ s += $2 } END { printf "%d", s / NR + 0.5 }' \
    "$T/sample.codes")
# The REST manifest must offer an update to exactly these devices.
head -n "$SAMPLE" "$T/devices" | awk -v base="$BASE" -v cert="$CERT" '{
	if (NR > 1) print "next"
	printf "url = \"%s/api/v1/devices/%s/manifest?hardware=%s&version=%s\"\n",
	    base, $1, $3, $4
	printf "cacert = \"%s\"\n", cert
	printf "header = \"Authorization: Bearer %s\"\n", $2
	printf "output = \"/dev/null\"\n"
	printf "write-out = \"%%{http_code}\\n\"\n"
}' >"$T/rest.curl"
chmod 600 "$T/rest.curl"
curl -sS -K "$T/rest.curl" >"$T/rest.codes" 2>"$T/api.err" ||
    die "curl manifest polls: $(cat "$T/api.err")"
S_REST=$(grep -c '^200$' "$T/rest.codes")
[ "$S_REST" = "$S_DEPLOY" ] || die "of the first $SAMPLE devices, $S_DEPLOY" \
    "get a deploymentBase but $S_REST a manifest"
# One deploymentBase, read as SWUpdate reads it (the token in a file).
f=$(grep -l deploymentBase "$T"/sample/*.body | head -n 1)
href=$(jq -r ._links.deploymentBase.href "$f")
awk -v n="$(basename "$f" .body)" 'NR == n + 0 {
    print "Authorization: TargetToken " $2 }' "$T/devices" >"$T/device.hdr"
st=$(curl -sS --cacert "$CERT" -H "@$T/device.hdr" \
    -o "$T/deployment.json" -w '%{http_code}' "$href" 2>"$T/api.err") ||
    die "curl $href: $(cat "$T/api.err")"
[ "$st" = 200 ] && jq -e '.deployment.chunks[0].artifacts[0].hashes.sha1' \
    "$T/deployment.json" >/dev/null ||
    die "deploymentBase answered $st: $(head -c 300 "$T/deployment.json")"
say "  200 x $SAMPLE; deploymentBase x $S_DEPLOY (manifest x $S_REST);" \
    "mean answer $S_BYTES bytes"

# ---- 5. one request per device: configData, then the first poll ------------------

export BENCH_DEVICES="$T/devices"
export BENCH_WRK_THREADS="$WRK_THREADS"
# wrk, stopped with SIGINT (it then reports as usual) once every thread of
# ddi.lua has had the answers for its share of the devices.
cat >"$T/wrk-pass" <<EOF
#!/bin/sh
"$WRK_BIN" "\$@" &
p=\$!
while kill -0 "\$p" 2>/dev/null; do
	if [ "\$(ls "\$BENCH_DDI_DONE_DIR" | wc -l)" -ge $WRK_THREADS ]; then
		kill -INT "\$p"
		break
	fi
	sleep 0.05
done
wait "\$p"
EOF
chmod 700 "$T/wrk-pass" || exit 1

# pass KEY MODE: one ddi.lua request (MODE poll or config) per device over
# HTTP, at most PASS_MAX seconds.
pass() {
	rm -f "$T"/done/*
	w=$WRK_BIN
	d=$DURATION
	WRK_BIN=$T/wrk-pass
	DURATION=$PASS_MAX
	BENCH_DDI_MODE=$2
	BENCH_DDI_DONE_DIR=$T/done
	wrk_run "$1" "$PLAIN/"
	BENCH_DDI_DONE_DIR=
	WRK_BIN=$w
	DURATION=$d
	put "$1.rss_kib" "$(vm_rss "$OTAD_PID")"
}
WRK_SCRIPT="$BENCH_DIR/ddi.lua"
BENCH_DDI_MODE=poll
BENCH_DDI_DONE_DIR=
export BENCH_DDI_MODE BENCH_DDI_DONE_DIR
say "configData from every device"
pass pass.config config
say "a first DDI poll of every device"
pass pass.poll poll
sample_polls
S2_DEPLOY=$(links deploymentBase)
S2_CONFIG=$(links configData)
[ "$S2_CONFIG" = 0 ] ||
    die "$S2_CONFIG sampled polls still ask for configData after the PUTs"
[ "$S2_DEPLOY" = "$S_DEPLOY" ] ||
    die "$S2_DEPLOY sampled polls offer a deployment, $S_DEPLOY before"

# ---- 6. steady polls: DDI and REST, HTTP and HTTPS, in rounds ----------------------

# poll_run KIND SCHEME ROUND: one steady run of DDI (ddi.lua) or REST
# (polls.lua) polls, as KIND.SCHEME.rROUND, with otad's VmRSS after it.
poll_run() {
	case $1 in
	ddi) WRK_SCRIPT="$BENCH_DIR/ddi.lua" ;;
	rest) WRK_SCRIPT="$BENCH_DIR/polls.lua" ;;
	esac
	case $2 in
	http) b=$PLAIN ;;
	https) b=$BASE ;;
	esac
	wrk_run "$1.$2.r$3" "$b/"
	put "$1.$2.r$3.rss_kib" "$(vm_rss "$OTAD_PID")"
}

# ddi_lookups KEY: the DDI cache's hits and misses so far, as KEY.hit and
# KEY.miss.
ddi_lookups() {
	for x in hit miss; do
		put "$1.$x" "$(metric_at "$T/admin.hdr" "$PLAIN" \
		    otad_ddi_cache_lookups_total "result=\"$x\"")"
	done
}

# DDI and REST in turn, ROUNDS times a scheme, the first of the pair
# alternating from round to round (a drift of the machine then falls on
# both alike).
BENCH_DDI_MODE=poll
ddi_lookups lookups.before
for r in $(seq "$ROUNDS"); do
	[ "$ROUNDS" = 1 ] || say "round $r of $ROUNDS: DDI and REST polls in turn"
	for sc in http https; do
		if [ $((r % 2)) = 1 ]; then
			poll_run ddi "$sc" "$r"
			poll_run rest "$sc" "$r"
		else
			poll_run rest "$sc" "$r"
			poll_run ddi "$sc" "$r"
		fi
	done
done

ddi_lookups lookups.after

# The verdict is the median round's (by DDI/REST polls/s; a round whose
# runs failed is left out): its runs become ddi.SCHEME and rest.SCHEME,
# its ratio ratio.SCHEME; each round's is kept as ratio.SCHEME.rROUND.
for sc in http https; do
	for r in $(seq "$ROUNDS"); do
		d=$(val "ddi.$sc.r$r" rps) && q=$(val "rest.$sc.r$r" rps) &&
		    [ -n "$d" ] && [ -n "$q" ] &&
		    put "ratio.$sc.r$r" "$(calc "$d / ($q + 1e-12)")"
	done
	pick=$(for r in $(seq "$ROUNDS"); do
		echo "$(get "ratio.$sc.r$r") $r"; done | median_index)
	[ -n "$pick" ] || continue
	copy_run "ddi.$sc.r$pick" "ddi.$sc"
	copy_run "rest.$sc.r$pick" "rest.$sc"
	put "ratio.$sc" "$(get "ratio.$sc.r$pick")"
done

# ---- 7. configData PUTs paced, while the fleet polls --------------------------------

# The pace: ddi.lua sends on a fixed schedule, PUT_CONNS requests every
# PUT_DELAY ms, i.e. PUT_RATE a second whatever the latency while a
# connection is free (the rate reached is reported).
PUT_DELAY=$((PUT_CONNS * 1000 / PUT_RATE))
say "configData PUTs paced at $PUT_RATE/s ($PUT_CONNS connections, a" \
    "fixed schedule) while DDI polls run beside (16 connections)"
BENCH_DDI_MODE=poll "$WRK_BIN" -t1 -c16 -d"$((DURATION + 2))s" \
    --timeout 60s -s "$BENCH_DIR/ddi.lua" "$PLAIN/" >"$T/wrk-beside.out" 2>&1 &
BESIDE_PID=$!
sleep 1
WRK_SCRIPT="$BENCH_DIR/ddi.lua"
BENCH_DDI_MODE=config
BENCH_DDI_DELAY_MS=$PUT_DELAY
BENCH_DDI_THREAD_CONNS=$((PUT_CONNS / WRK_THREADS))
export BENCH_DDI_DELAY_MS BENCH_DDI_THREAD_CONNS
c=$CONNS
CONNS=$PUT_CONNS
wrk_run put.paced "$PLAIN/"
CONNS=$c
BENCH_DDI_DELAY_MS=
wait "$BESIDE_PID"
line=$(grep '^BENCH ' "$T/wrk-beside.out" | tail -n 1)
[ -n "$line" ] || die "wrk polls beside the PUTs: $(cat "$T/wrk-beside.out")"
for kv in ${line#BENCH }; do
	put "beside.w_${kv%%=*}" "${kv#*=}"
done
put otad.hwm_kib "$(vm_hwm "$OTAD_PID")"
stop_pid "$OTAD_PID"
OTAD_PID=""

# ---- 8. figures ------------------------------------------------------------------

# per_req KEY: the server's CPU microseconds per response.
per_req() {
	c=$(val "$1" cpu) && r=$(val "$1" w_requests) && [ -n "$c" ] &&
	    calc "$c * 1e6 / ($r + 1e-9)"
}
# pct KEY FIELD: FIELD (a count of ddi.lua/polls.lua) in % of responses.
pct() {
	f=$(val "$1" "w_$2") && r=$(val "$1" w_requests) && [ -n "$f" ] &&
	    calc "$f * 100 / ($r + 1e-9)"
}
# other KEY: the responses other than 200 in %.
other() {
	f=$(val "$1" w_s200) && r=$(val "$1" w_requests) && [ -n "$f" ] &&
	    calc "($r - $f) * 100 / ($r + 1e-9)"
}
ROW='%-18s %-14s %10s %10s %9s\n'
# row LABEL METRIC DDI REST [DECIMALS]: the figures and DDI/REST.
row() {
	r=-
	if [ -n "$3" ] && [ -n "$4" ]; then
		r=$(fmt "$(calc "$3 / ($4 + 1e-12)")" 2)
	fi
	printf "$ROW" "$1" "$2" "$(fmt "$3" "${5:-1}")" "$(fmt "$4" "${5:-1}")" \
	    "$r"
}
mib() { [ -n "$1" ] && calc "$1 / 1024"; }

echo
echo "otad hawkBit DDI polls beside REST manifest polls: $CORES cores" \
    "($(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo))," \
    "loopback; otad http_threads=$HTTP_THREADS;" \
    "wrk -t$WRK_THREADS -c$CONNS, keep-alive"
echo "machine CPU busy before the run (other processes): $(fmt "$BUSY_BEFORE")%"
if ge "$BUSY_BEFORE" 10; then
	echo "WARNING: the machine was busy before the run; every figure below is" \
	    "lower and noisier than on an idle machine"
fi
echo "fleet: $NDEV devices (revA/revB, installed 1.0.0) in $NGROUPS groups," \
    "device i in g<i % $NGROUPS>"
while read -r rid ver g0 g1 pct; do
	echo "  rollout $rid: bench-fw $ver to g$g0..g$g1, running at $pct %"
done <"$T/rollouts"
echo "provisioning over HTTPS: $NDEV devices in $(fmt "$(get prov.devices_s)" 2) s"
echo "sample of $SAMPLE first DDI polls (curl, HTTPS): 200 x $SAMPLE," \
    "deploymentBase x $S_DEPLOY ($(fmt "$(calc "$S_DEPLOY * 100 / $SAMPLE")")%;" \
    "expected from the stages: $(fmt "$EXPECT_OFFER")%), configData x $S_CONFIG;" \
    "mean answer $S_BYTES bytes"
echo
echo "one request per device, HTTP (wrk until every device had one)"
for k in pass.config pass.poll; do
	case $k in
	pass.config) l="PUT configData (hw_revision, sw_version)" ;;
	pass.poll) l="first DDI poll (opens the offered actions)" ;;
	esac
	printf '  %-44s %9s req/s  p50 %6s ms  p99 %7s ms  %s requests in %s s\n' \
	    "$l" "$(fmt "$(val "$k" rps)" 0)" "$(fmt "$(val "$k" p50_ms)" 2)" \
	    "$(fmt "$(val "$k" p99_ms)" 2)" "$(get "$k.w_requests")" \
	    "$(fmt "$(calc "$(get "$k.w_duration_us") / 1e6")")"
done
echo
echo "steady polls, ${DURATION} s each"
printf "$ROW" scenario metric DDI REST DDI/REST
printf "$ROW" -------- ------ --- ---- --------
for s in http https; do
	case $s in
	http) l="polls, HTTP" ;;
	https) l="polls, HTTPS" ;;
	esac
	row "$l" "req/s" "$(val "ddi.$s" rps)" "$(val "rest.$s" rps)" 0
	row "" "p50 ms" "$(val "ddi.$s" p50_ms)" "$(val "rest.$s" p50_ms)" 2
	row "" "p99 ms" "$(val "ddi.$s" p99_ms)" "$(val "rest.$s" p99_ms)" 2
	row "" "CPU us/req" "$(per_req "ddi.$s")" "$(per_req "rest.$s")"
	row "" "otad RSS MiB" "$(mib "$(get "ddi.$s.rss_kib")")" \
	    "$(mib "$(get "rest.$s.rss_kib")")"
done
echo
for s in http https; do
	echo "DDI $s answers: deploymentBase $(fmt "$(pct "ddi.$s" deploy)")%," \
	    "cancelAction $(fmt "$(pct "ddi.$s" cancel)")%," \
	    "configData $(fmt "$(pct "ddi.$s" config)")%," \
	    "other statuses $(fmt "$(other "ddi.$s")")%;" \
	    "REST: 200 $(fmt "$(pct "rest.$s" s200)")%," \
	    "204 $(fmt "$(pct "rest.$s" s204)")%"
done
echo
if [ "$(get put.paced.ok)" = 1 ]; then
	printf 'configData PUTs paced at %s/s (%s connections), %s s: %s PUTs/s,' \
	    "$PUT_RATE" "$PUT_CONNS" "$DURATION" "$(fmt "$(val put.paced rps)" 0)"
	printf ' p50 %s ms, p99 %s ms; server CPU %s us per request\n' \
	    "$(fmt "$(val put.paced p50_ms)" 2)" "$(fmt "$(val put.paced p99_ms)" 2)" \
	    "$(fmt "$(per_req put.paced)")"
	d=$(get beside.w_duration_us)
	printf '  DDI polls beside (16 connections): %s polls/s, p99 %s ms,' \
	    "$(fmt "$(calc "$(get beside.w_requests) * 1e6 / ($d + 1e-9)")" 0)" \
	    "$(fmt "$(calc "$(get beside.w_p99_us) / 1000")" 2)"
	printf ' non-2xx %s\n' "$(get beside.w_status)"
fi
echo "otad RSS after provisioning $(fmt "$(mib "$(get prov.rss_kib)")") MiB;" \
    "peak (VmHWM) $(fmt "$(mib "$(get otad.hwm_kib)")") MiB"
h0=$(get lookups.before.hit) h1=$(get lookups.after.hit)
m0=$(get lookups.before.miss) m1=$(get lookups.after.miss)
h=$(calc "${h1:-0} - ${h0:-0}") m=$(calc "${m1:-0} - ${m0:-0}")
echo "DDI cache in the steady runs: $(fmt "$h" 0) hits, $(fmt "$m" 0) misses" \
    "($(fmt "$(calc "$m * 100 / ($h + $m + 1e-9)")" 2)% of lookups read" \
    "the database)"
if [ "$ROUNDS" -gt 1 ]; then
	echo
	echo "$ROUNDS rounds, DDI and REST polls in turn (above: the round with" \
	    "the median DDI/REST polls/s), polls/s DDI / REST = ratio:"
	for r in $(seq "$ROUNDS"); do
		printf '  round %s:' "$r"
		for s in http https; do
			printf '  %s %s / %s = %s' "$s" \
			    "$(fmt "$(val "ddi.$s.r$r" rps)" 0)" \
			    "$(fmt "$(val "rest.$s.r$r" rps)" 0)" \
			    "$(fmt "$(get "ratio.$s.r$r")" 2)"
		done
		echo
	done
fi

# Issue 13's targets: the DDI poll at least 0.9x the REST poll (the
# median round), configData PUTs' p99 at most 50 ms at 5,000/s (the pace
# reached within 5 % of it).
echo
for s in http https; do
	q=$(get "ratio.$s")
	ok=0
	[ -n "$q" ] && ge "$q" 0.9 && ok=1
	target "$ok" "DDI poll >= 0.9x the REST poll, $s" "$(fmt "$q" 2)x"
done
ok=0
w=$(val put.paced rps) && p=$(val put.paced p99_ms) && [ -n "$w" ] &&
    [ -n "$p" ] && ge "$PUT_RATE" 5000 && ge "$w" 4750 && ge 50 "$p" && ok=1
target "$ok" "configData PUT p99 <= 50 ms at 5,000/s" \
    "$(fmt "$w" 0)/s, p99 $(fmt "$p" 2) ms"

awk '$1 ~ /\.why$/ { print $1, $2 }' "$T/results" | while read -r k why; do
	echo "FAILED: ${k%.why}: $why"
done
if grep -q . "$T/otad.log" 2>/dev/null; then
	echo
	echo "otad log, messages by count, numbers as N:"
	sed -e 's/^ts=[^ ]* //' -e 's|/v1/[^/ ]*|/v1/ID|g' \
	    -e 's|/devices/[^/ ]*/|/devices/ID/|g' -e 's/=[0-9][0-9]*/=N/g' \
	    "$T/otad.log" | sort | uniq -c | sort -rn | head -n 10 |
	    cut -c1-150 | sed 's/^/  /'
fi
[ "$FAILED" = 0 ] || exit 1
exit 0
