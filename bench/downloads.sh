#!/bin/sh
# downloads.sh: otad upload and download throughput against nginx on this
# machine, over loopback.
# See bench/README.md.  `make bench` builds the release binaries first.
#
#   1. otad (release build) on random ports, HTTPS + plain HTTP, in a temp
#      data dir with a release key and release + viewer tokens;
#   2. uploads of a BENCH_BIG_MIB random image over HTTPS, BENCH_RUNS times
#      with curl multipart and BENCH_RUNS times with `otactl upload`;
#   3. GET /api/v1/images/{id}/blob of that image and of a BENCH_SMALL_MIB
#      one with wrk (BENCH_CONNECTIONS connections, BENCH_DURATION s), over
#      HTTP and HTTPS, once for each http_threads value in BENCH_THREADS;
#   4. the same wrk runs against nginx serving the same blob files, with
#      otad's dev certificate;
#   5. a table: otad, nginx, ratio, "within 2x"; otad's peak RSS.
#
# Exit status: 0 when everything ran (whatever the figures), 1 when a step
# failed (a server did not start, an upload or a GET was refused or gave
# the wrong bytes, wrk failed or saw non-2xx answers).
set -u

BENCH_DIR=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$BENCH_DIR/.." && pwd)
OTAD_BIN=${OTAD_BIN:-$ROOT/build/release/otad}
OTACTL_BIN=${OTACTL_BIN:-$ROOT/build/release/otactl}
NGINX_BIN=${NGINX_BIN:-/usr/sbin/nginx}
WRK_BIN=${WRK_BIN:-wrk}
CORES=$(nproc)
DURATION=${BENCH_DURATION:-10}
BIG_MIB=${BENCH_BIG_MIB:-64}
SMALL_MIB=${BENCH_SMALL_MIB:-1}
RUNS=${BENCH_RUNS:-3}
CONNS=${BENCH_CONNECTIONS:-16}
WRK_THREADS=${BENCH_WRK_THREADS:-$CORES}
THREADS_LIST=${BENCH_THREADS:-"$CORES $((CORES * 2))"}

T=$(mktemp -d /tmp/otad-bench.XXXXXX) || exit 1
. "$BENCH_DIR/lib.sh"

need "make; tools/install-deps.sh bench" "$OTAD_BIN" "$OTACTL_BIN" \
    "$NGINX_BIN" -- "$WRK_BIN" curl jq openssl ss sha256sum

BUSY_BEFORE=$(machine_check)
say "machine CPU busy before the run: $(fmt "$BUSY_BEFORE")%"
BIG_BYTES=$((BIG_MIB * 1048576))
SMALL_BYTES=$((SMALL_MIB * 1048576))
mkdir -p "$T/img" "$T/nginx" || exit 1
: >"$T/results"

# ---- 1. otad --------------------------------------------------------------

otad_setup
# otad logs at warn (no line per request: nginx runs with access_log off);
# the log is shown if something fails.

set -- $THREADS_LIST
otad_start "$1"
[ -f "$CERT" ] && [ -f "$KEY" ] || die "otad wrote no dev certificate"

REL=$(token release) && [ -n "$REL" ] || exit 1
VIEWER=$(token viewer) && [ -n "$VIEWER" ] || exit 1
# Tokens go to curl and otactl through files, never on a command line.
(umask 077 &&
    printf 'Authorization: Bearer %s\n' "$REL" >"$T/release.hdr" &&
    printf '%s\n' "$REL" >"$T/release.token" &&
    printf 'Authorization: Bearer %s\n' "$VIEWER" >"$T/viewer.hdr") ||
    exit 1

# ---- 2. uploads -----------------------------------------------------------

# release IMG NAME VERSION: fresh random bytes in IMG, then IMG.json and
# IMG.json.sig.  Every upload is of different bytes, so none is a duplicate.
release() {
	head -c "$4" /dev/urandom >"$1" || die "cannot write $1"
	"$OTACTL_BIN" describe "$1" --name "$2" --version "$3" \
	    --hardware bench-hw --out "$1.json" >/dev/null ||
	    die "otactl describe $1"
	"$OTACTL_BIN" sign --key "$T/keys/release.key" --out "$1.json.sig" \
	    "$1.json" >/dev/null || die "otactl sign $1.json"
}

# upload_curl IMG: POST with curl; sets UP_ID, UP_SHA, UP_SECONDS.
upload_curl() {
	out=$(curl -sS --cacert "$CERT" -H "@$T/release.hdr" \
	    -F "descriptor=@$1.json;type=application/json" \
	    -F "signatures=$(sig_json "$1.json.sig" release)" \
	    -F "image=@$1;type=application/octet-stream" \
	    -o "$T/upload.json" -w '%{http_code} %{time_total}' \
	    "$BASE/api/v1/images" 2>"$T/upload.err") ||
	    die "curl upload of $1: $(cat "$T/upload.err")"
	[ "${out% *}" = 201 ] ||
	    die "upload of $1 answered ${out% *}: $(cat "$T/upload.json")"
	UP_SECONDS=${out#* }
	UP_ID=$(jq -r .id "$T/upload.json")
	UP_SHA=$(jq -r .sha256 "$T/upload.json")
}

say "uploads: $RUNS x $BIG_MIB MiB with curl, $RUNS x with otactl, HTTPS"
i=1
while [ $i -le "$RUNS" ]; do
	img="$T/img/curl-$i.bin"
	release "$img" bench-big "1.0.$i" "$BIG_BYTES"
	upload_curl "$img"
	mibs=$(calc "$BIG_MIB / $UP_SECONDS")
	say "  curl run $i: $UP_SECONDS s, $(fmt "$mibs") MiB/s"
	put "up.curl.$i" "$mibs"
	[ $i -eq 1 ] && { BIG_ID=$UP_ID; BIG_SHA=$UP_SHA; } ||
	    rm -f "$img"
	i=$((i + 1))
done
i=1
while [ $i -le "$RUNS" ]; do
	img="$T/img/otactl-$i.bin"
	release "$img" bench-big "1.1.$i" "$BIG_BYTES"
	t0=$(now_ns)
	"$OTACTL_BIN" upload "$img" --descriptor "$img.json" \
	    --sig "release:$img.json.sig" --server "$BASE" --cacert "$CERT" \
	    --token-file "$T/release.token" >"$T/otactl.out" 2>&1 ||
	    die "otactl upload $img: $(cat "$T/otactl.out")"
	t1=$(now_ns)
	secs=$(calc "($t1 - $t0) / 1000000000")
	mibs=$(calc "$BIG_MIB / $secs")
	say "  otactl run $i: $(fmt "$secs" 3) s, $(fmt "$mibs") MiB/s"
	put "up.otactl.$i" "$mibs"
	rm -f "$img"
	i=$((i + 1))
done
release "$T/img/small.bin" bench-small 1.0.0 "$SMALL_BYTES"
upload_curl "$T/img/small.bin"
SMALL_ID=$UP_ID
SMALL_SHA=$UP_SHA
[ "$BIG_SHA" = "$(sha256sum "$T/img/curl-1.bin" | cut -d' ' -f1)" ] ||
    die "otad reports another sha256 than the uploaded file's"
[ -f "$DATA/blobs/$BIG_SHA" ] && [ -f "$DATA/blobs/$SMALL_SHA" ] ||
    die "blob files not found under $DATA/blobs"

# ---- 3. otad GET /blob ----------------------------------------------------

# BENCH_SCENARIOS: a subset, e.g. "small_https" alone to profile one case.
SCENARIOS=${BENCH_SCENARIOS:-"big_http big_https small_http small_https"}
NSCEN=$(echo $SCENARIOS | wc -w)
# url SERVER-BASE-HTTP SERVER-BASE-HTTPS SCENARIO
url() {
	case $3 in
	big_http) echo "$1/api/v1/images/$BIG_ID/blob" ;;
	big_https) echo "$2/api/v1/images/$BIG_ID/blob" ;;
	small_http) echo "$1/api/v1/images/$SMALL_ID/blob" ;;
	small_https) echo "$2/api/v1/images/$SMALL_ID/blob" ;;
	esac
}

# get_runs NAME HTTP-BASE HTTPS-BASE: checks the bytes once, then wrk.
get_runs() {
	fetch_check "$1" "$(url "$2" "$3" big_http)" "$BIG_SHA" "$BIG_BYTES"
	fetch_check "$1" "$(url "$2" "$3" big_https)" "$BIG_SHA" "$BIG_BYTES"
	fetch_check "$1" "$(url "$2" "$3" small_http)" "$SMALL_SHA" \
	    "$SMALL_BYTES"
	fetch_check "$1" "$(url "$2" "$3" small_https)" "$SMALL_SHA" \
	    "$SMALL_BYTES"
	for s in $SCENARIOS; do
		wrk_run "$1.$s" "$(url "$2" "$3" "$s")"
	done
}

OTAD_CIPHER=$(tls_cipher "$OTAD_HTTPS_PORT")
first=1
for th in $THREADS_LIST; do
	if [ $first -eq 0 ]; then
		otad_stop
		otad_start "$th"
	fi
	first=0
	get_runs "otad.t$th" "$PLAIN" "$BASE"
done
otad_stop

# The faster http_threads: the higher geometric mean of the four primary
# figures (MiB/s for the big image, requests/s for the small one).
BEST=""
best_score=""
for th in $THREADS_LIST; do
	score=0
	for s in $SCENARIOS; do
		case $s in big*) m=mibs ;; *) m=rps ;; esac
		v=$(get "otad.t$th.$s.$m")
		score=$(calc "$score + log(${v:-0} + 1e-9) / $NSCEN")
	done
	score=$(calc "exp($score)")
	put "otad.t$th.score" "$score"
	if [ -z "$best_score" ] ||
	    ! ge "$best_score" "$score"; then
		BEST=$th
		best_score=$score
	fi
done

# ---- 4. nginx ---------------------------------------------------------------

for pair in "$BIG_ID:$BIG_SHA" "$SMALL_ID:$SMALL_SHA"; do
	printf 'location = /api/v1/images/%s/blob {\n\talias %s;\n}\n' \
	    "${pair%%:*}" "$DATA/blobs/${pair#*:}"
done >"$T/nginx/locations.conf"
nginx_start
get_runs nginx "$NG_PLAIN" "$NG_BASE"
stop_pid "$NGINX_PID"
NGINX_PID=""

# ---- 5. figures -------------------------------------------------------------

# median KEY-PREFIX: the median of KEY-PREFIX.1 .. .RUNS.
median() {
	i=1
	while [ $i -le "$RUNS" ]; do
		get "$1.$i"
		i=$((i + 1))
	done | sort -g | awk '{ v[NR] = $1 } END {
		if (NR % 2) print v[(NR + 1) / 2]
		else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
# runs KEY-PREFIX: the figures of every run.
runs() {
	i=1
	while [ $i -le "$RUNS" ]; do
		printf ' %s' "$(fmt "$(get "$1.$i")")"
		i=$((i + 1))
	done
}
label() {
	case $1 in
	big_http) echo "GET $BIG_MIB MiB, HTTP" ;;
	big_https) echo "GET $BIG_MIB MiB, HTTPS" ;;
	small_http) echo "GET $SMALL_MIB MiB, HTTP" ;;
	small_https) echo "GET $SMALL_MIB MiB, HTTPS" ;;
	esac
}

ROW='%-26s %-9s %10s %10s %7s  %s\n'
# row LABEL METRIC OTAD NGINX [KIND [DECIMALS]]: otad/nginx and, for a
# throughput (KIND "", higher is better), whether otad is at least half of
# nginx.  KIND "info" (CPU, latency: lower is better): the ratio only.
row() {
	# No reference (or one that rounds to 0: other CPU% of an idle
	# machine): no ratio, rather than a division by almost nothing.
	if [ -z "$3" ] || [ -z "$4" ] || ! ge "$4" 0.05; then
		printf "$ROW" "$1" "$2" "$(fmt "$3" "${6:-1}")" \
		    "$(fmt "$4" "${6:-1}")" - -
		return
	fi
	r=$(calc "$3 / ($4 + 1e-12)")
	if [ "${5:-}" = info ]; then
		v="(lower is better)"
	elif ge "$r" 0.5; then
		v=yes
	else
		v=NO
	fi
	printf "$ROW" "$1" "$2" "$(fmt "$3" "${6:-1}")" "$(fmt "$4" "${6:-1}")" \
	    "$(fmt "$r" 2)" "$v"
}

echo
echo "otad benchmark: $CORES cores ($(awk -F': ' '/^model name/ { print $2;
    exit }' /proc/cpuinfo)), loopback; GET: wrk -t$WRK_THREADS -c$CONNS" \
    "-d${DURATION}s per figure"
echo "TLS negotiated with an OpenSSL client (as wrk): otad $OTAD_CIPHER;" \
    "nginx $NGINX_CIPHER"
echo "machine CPU busy before the run (other processes): $(fmt "$BUSY_BEFORE")%"
if ge "$BUSY_BEFORE" 10; then
	echo "WARNING: the machine was busy before the run; every figure below is" \
	    "lower and noisier than on an idle machine"
fi

echo
echo "otad http_threads, the same wrk runs for each (the faster is used below)"
printf '  %-22s %-15s' scenario metric
for th in $THREADS_LIST; do printf ' %16s' "threads=$th"; done
echo
for s in $SCENARIOS; do
	for m in mibs rps cpu_gib busy other_pct; do
		d=1
		case $m in
		mibs) l="MiB/s" ;;
		rps) l="req/s" ;;
		cpu_gib) l="CPU s/GiB" d=2 ;;
		busy) l="CPU s/thread" ;;
		other_pct) l="other CPU%" ;;
		esac
		printf '  %-22s %-15s' "$(label "$s")" "$l"
		for th in $THREADS_LIST; do
			v=$(val "otad.t$th.$s" $m)
			[ $m = busy ] || v=$(fmt "$v" $d)
			printf ' %16s' "${v:--}"
		done
		echo
	done
done
printf '  %-38s' "geomean MiB/s (big), req/s (small)"
for th in $THREADS_LIST; do
	printf ' %16s' "$(fmt "$(get "otad.t$th.score")")"
done
echo
printf '  %-38s' "peak RSS (VmHWM), MiB"
for th in $THREADS_LIST; do
	printf ' %16s' "$(fmt "$(get "otad.t$th.hwm_kib") / 1024")"
done
echo
echo "  -> http_threads=$BEST"

echo
printf "$ROW" scenario metric otad nginx ratio "within 2x of nginx"
printf "$ROW" -------- ------ ---- ----- ----- ------------------
row "upload $BIG_MIB MiB, curl" "MiB/s" "$(median up.curl)" ""
row "upload $BIG_MIB MiB, otactl" "MiB/s" "$(median up.otactl)" ""
for s in $SCENARIOS; do
	k="otad.t$BEST.$s"
	row "$(label "$s")" "MiB/s" "$(val "$k" mibs)" "$(val "nginx.$s" mibs)"
	row "" "req/s" "$(val "$k" rps)" "$(val "nginx.$s" rps)"
	row "" "p99 ms" "$(val "$k" p99_ms)" "$(val "nginx.$s" p99_ms)" info
	row "" "CPU s/GiB" "$(val "$k" cpu_gib)" "$(val "nginx.$s" cpu_gib)" \
	    info 2
	row "" "other CPU%" "$(val "$k" other_pct)" \
	    "$(val "nginx.$s" other_pct)" info
done
echo
echo "uploads (HTTPS, MiB/s per run, median above): curl$(runs up.curl);" \
    "otactl$(runs up.otactl)"
printf 'nginx CPU s per worker:'
for s in $SCENARIOS; do
	printf ' %s %s;' "$(label "$s" | sed 's/^GET //')" \
	    "$(val "nginx.$s" busy)"
done
echo
peak=0
for th in $THREADS_LIST; do
	h=$(get "otad.t$th.hwm_kib")
	[ -n "$h" ] && [ "$h" -gt "$peak" ] && peak=$h
done
echo "otad peak RSS (VmHWM, highest of the otad processes):" \
    "$(fmt "$peak / 1024") MiB"
awk '$1 ~ /\.why$/ { print $1, $2 }' "$T/results" | while read -r k why; do
	echo "FAILED: ${k%.why}: $why"
done
if grep -q . "$T/otad.log" 2>/dev/null; then
	echo
	echo "otad log, messages by count (wrk drops its connections" \
	    "mid-response when a run ends):"
	sed -e 's/^ts=[^ ]* //' -e 's|/images/[0-9]*/|/images/N/|g' \
	    "$T/otad.log" | sort | uniq -c | sort -rn | head -n 10 |
	    cut -c1-150 | sed 's/^/  /'
fi
[ "$FAILED" = 0 ] || exit 1
exit 0
