#!/bin/sh
# bundles.sh: what a manifest poll answered with a three-part bundle costs
# against one answered with a single image, in the same otad, in the same
# run, side by side (issue 14: a bundle poll costs at most 1.5x a
# single-image poll, CPU per poll).  See bench/README.md.
#
#   1. otad (release build) on random ports, plain HTTP polled, a fresh
#      temp data dir, log_level=warn;
#   2. two fleets of BENCH_BUNDLE_DEVICES devices each, provisioned through
#      the API: "img-NNNNNN" (hardware revA, version 1.0.0) in group img,
#      and "bun-NNNNNN" in group bun, each with the three components of a
#      chain (ncp, mcu, hub relayed by mcu; each its own hardware, at
#      1.0.0);
#   3. an image rollout of fw 2.0.0 to img and a rollout of bundle chain
#      2.0.0 (three parts, each 2.0.0) to bun, both at 100 %: every poll
#      of either fleet is answered 200 with a signed manifest (the bundle's
#      lists the three parts, none skipped);
#   4. wrk (bench/polls.lua, every request a different device with its own
#      token; the bundle's polls report their three components,
#      component=ncp:1.0.0&component=mcu:1.0.0&component=hub:1.0.0),
#      alternating img, bun, img, bun (BENCH_BUNDLE_ROUNDS rounds of
#      BENCH_POLL_DURATION seconds each) after a warm-up of each;
#   5. the figures: polls/s, latency, otad's CPU microseconds per poll
#      (the best round of each), and the ratio bundle / image, with a
#      PASS/MISS line against 1.5.
#
# Exit status: 0 when everything ran (a MISS is not a failure), 1 when a
# step failed.
set -u

BENCH_DIR=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$BENCH_DIR/.." && pwd)
OTAD_BIN=${OTAD_BIN:-$ROOT/build/release/otad}
OTACTL_BIN=${OTACTL_BIN:-$ROOT/build/release/otactl}
WRK_BIN=${WRK_BIN:-wrk}
CORES=$(nproc)
NDEV=${BENCH_BUNDLE_DEVICES:-10000}
DURATION=${BENCH_POLL_DURATION:-10}
WARMUP=${BENCH_POLL_WARMUP:-5}
ROUNDS=${BENCH_BUNDLE_ROUNDS:-2}
CONNS=${BENCH_POLL_CONNECTIONS:-64}
WRK_THREADS=${BENCH_WRK_THREADS:-$CORES}
THREADS=${BENCH_THREADS:-$CORES}
TARGET_RATIO=1.5

T=$(mktemp -d /tmp/otad-bench.XXXXXX) || exit 1
. "$BENCH_DIR/lib.sh"

need "make; tools/install-deps.sh bench" "$OTAD_BIN" "$OTACTL_BIN" -- \
    "$WRK_BIN" curl jq openssl
[ "$NDEV" -ge 1 ] && [ "$NDEV" -le 100000 ] ||
    die "need 1 <= BENCH_BUNDLE_DEVICES <= 100000"

BUSY_BEFORE=$(machine_check)
say "machine CPU busy before the run: $(fmt "$BUSY_BEFORE")%"
mkdir -p "$T/img" "$T/prov" || exit 1
: >"$T/results"

# ---- 1. otad ------------------------------------------------------------------

otad_setup
otad_start "$THREADS"
ADMIN=$(token admin) && [ -n "$ADMIN" ] || exit 1
REL=$(token release) && [ -n "$REL" ] || exit 1
(umask 077 &&
    printf 'Authorization: Bearer %s\n' "$ADMIN" >"$T/admin.hdr" &&
    printf 'Authorization: Bearer %s\n' "$REL" >"$T/release.hdr") || exit 1

# ---- 2. the two fleets ----------------------------------------------------------

# fleet PREFIX GROUP COMPONENTS-JSON QUERY-TAIL: NDEV devices in batches of
# up to 2000 (a body under 1 MiB); "ID TOKEN revA 1.0.0QUERY-TAIL" lines to $T/dev-PREFIX.
fleet() {
	printf '{"name":"%s"}' "$2" >"$T/group.json"
	api_ok 201 admin POST /api/v1/groups "$T/group.json"
	: >"$T/dev-$1"
	from=0
	while [ $from -lt "$NDEV" ]; do
		to=$((from + 2000))
		[ $to -le "$NDEV" ] || to=$NDEV
		awk -v a=$from -v b=$to -v p="$1" -v g="$2" -v c="$3" 'BEGIN {
			printf "["
			for (i = a; i < b; i++)
				printf "%s{\"id\":\"%s-%06d\",\"hardware\":\"revA\"," \
				    "\"version\":\"1.0.0\",\"groups\":[\"%s\"]%s}",
				    (i > a) ? "," : "", p, i, g,
				    c != "" ? ",\"components\":" c : ""
			print "]" }' >"$T/prov/batch.json"
		api_ok 201 admin POST /api/v1/devices "$T/prov/batch.json"
		jq -r --arg q "$4" '.devices[] | "\(.id) \(.token) revA 1.0.0\($q)"' \
		    "$T/api.json" >>"$T/dev-$1" || die "bad answer to provisioning"
		from=$to
	done
	[ "$(wc -l <"$T/dev-$1")" = "$NDEV" ] || die "fleet $1 incomplete"
}
COMPS='[{"name":"ncp","hardware":"ncp-r1","version":"1.0.0"},{"name":"mcu","hardware":"mcu-r1","version":"1.0.0"},{"name":"hub","hardware":"hub-r1","version":"1.0.0"}]'
QBUN='&component=ncp:1.0.0&component=mcu:1.0.0&component=hub:1.0.0'
say "provisioning: 2 x $NDEV devices"
fleet img img "" ""
fleet bun bun "$COMPS" "$QBUN"

# ---- 3. the image, the bundle, their rollouts --------------------------------------

# image NAME HW: a 64 KiB image fw NAME 2.0.0 for hardware HW, uploaded;
# prints "ID SHA256".
image() {
	f="$T/img/$1.bin"
	head -c 65536 /dev/urandom >"$f" || die "cannot write $f"
	"$OTACTL_BIN" describe "$f" --name "$1" --version 2.0.0 \
	    --hardware "$2" --out "$f.json" >/dev/null &&
	    "$OTACTL_BIN" sign --key "$T/keys/release.key" \
	    --out "$f.json.sig" "$f.json" >/dev/null || die "describe $f"
	st=$(curl -sS --cacert "$CERT" -H "@$T/release.hdr" \
	    -F "descriptor=@$f.json;type=application/json" \
	    -F "signatures=$(sig_json "$f.json.sig" release)" \
	    -F "image=@$f;type=application/octet-stream" \
	    -o "$T/api.json" -w '%{http_code}' "$BASE/api/v1/images") ||
	    die "upload $f"
	[ "$st" = 201 ] || die "upload $f: $st $(head -c 300 "$T/api.json")"
	echo "$(jq -r .id "$T/api.json") $(sha256sum "$f" | cut -d' ' -f1)"
}
# rollout BODY-MEMBER GROUP: created with stages [100] and started.
rollout() {
	printf '{%s,"groups":["%s"],"stages":[100]}' "$1" "$2" >"$T/r.json"
	api_ok 201 release POST /api/v1/rollouts "$T/r.json"
	rid=$(jq -r .id "$T/api.json")
	api_ok 200 release POST "/api/v1/rollouts/$rid/start"
}
set -- $(image fw revA)
rollout "\"image\":$1" img
set -- $(image ncp-fw ncp-r1) $(image mcu-fw mcu-r1) $(image hub-fw hub-r1)
printf '{"name":"chain","version":"2.0.0","parts":[{"component":"ncp","sha256":"%s","order":1},{"component":"mcu","sha256":"%s","order":2},{"component":"hub","sha256":"%s","order":3,"via":"mcu"}]}' \
    "$2" "$4" "$6" >"$T/chain.json"
"$OTACTL_BIN" sign --key "$T/keys/release.key" --out "$T/chain.json.sig" \
    "$T/chain.json" >/dev/null || die "otactl sign chain.json"
jq -n --rawfile d "$T/chain.json" --arg s "$(base64 -w0 "$T/chain.json.sig")" \
    '{descriptor: $d, signatures: [{keyid: "release", sig: $s}]}' >"$T/b.json"
api_ok 201 release POST /api/v1/bundles "$T/b.json"
rollout "\"bundle\":$(jq -r .id "$T/api.json")" bun

# A poll of each, with curl: 200, and the manifest's size.
sample() {
	set -- $(head -n 1 "$T/dev-$1")
	curl -sS -o "$T/sample.json" -w '%{http_code} %{size_download}' \
	    -H "Authorization: Bearer $2" \
	    "$PLAIN/api/v1/devices/$1/manifest?hardware=$3&version=$4"
}
for f in img bun; do
	set -- $(sample $f)
	[ "$1" = 200 ] || die "a poll of fleet $f answered $1, not 200"
	put "$f.bytes" "$2"
done
[ "$(jq -r '[.parts[].skip] | map(tostring) | join(",")' "$T/sample.json")" = \
    false,false,false ] || die "the bundle manifest does not install its 3 parts"

# ---- 4. wrk: img, bun, img, bun -------------------------------------------------

export BENCH_WRK_THREADS="$WRK_THREADS"
WRK_SCRIPT="$BENCH_DIR/polls.lua"
# poll KEY FLEET: one wrk run of FLEET's devices; KEY.us_poll.
poll() {
	export BENCH_DEVICES="$T/dev-$2"
	wrk_run "$1" "$PLAIN/api/v1/devices/" || die "wrk $1 failed"
	put "$1.us_poll" "$(calc "$(get "$1.cpu") * 1e6 / $(get "$1.w_requests")")"
	put "$1.s200_pct" "$(calc "$(get "$1.w_s200") * 100 / $(get "$1.w_requests")")"
}
d=$DURATION
DURATION=$WARMUP
poll warm.img img
poll warm.bun bun
DURATION=$d
r=1
while [ $r -le "$ROUNDS" ]; do
	poll "img.$r" img
	poll "bun.$r" bun
	r=$((r + 1))
done
otad_stop

# ---- 5. the figures ----------------------------------------------------------------

# best FLEET: the round of FLEET with the fewest CPU microseconds a poll.
best() {
	r=1 b=""
	while [ $r -le "$ROUNDS" ]; do
		u=$(get "$1.$r.us_poll")
		if [ -z "$b" ] || ! ge "$u" "$(get "$b.us_poll")"; then b="$1.$r"; fi
		r=$((r + 1))
	done
	echo "$b"
}
BI=$(best img)
BB=$(best bun)
RATIO=$(calc "$(get "$BB.us_poll") / $(get "$BI.us_poll")")
echo
echo "Manifest polls, image vs. three-part bundle: $NDEV devices each," \
    "otad http_threads=$THREADS, wrk -t$WRK_THREADS -c$CONNS, ${DURATION}s" \
    "x $ROUNDS rounds each (best shown), $CORES cores, machine" \
    "$(fmt "$BUSY_BEFORE")% busy before the run"
printf '%-24s %12s %12s\n' "" "image" "bundle (3)"
printf '%-24s %12s %12s\n' "manifest bytes" "$(get img.bytes)" "$(get bun.bytes)"
printf '%-24s %12s %12s\n' "answered 200 (%)" "$(fmt "$(get "$BI.s200_pct")" 1)" \
    "$(fmt "$(get "$BB.s200_pct")" 1)"
printf '%-24s %12s %12s\n' "polls/s" "$(fmt "$(get "$BI.rps")" 0)" \
    "$(fmt "$(get "$BB.rps")" 0)"
printf '%-24s %12s %12s\n' "p50 / p99 ms" \
    "$(fmt "$(get "$BI.p50_ms")" 2)/$(fmt "$(get "$BI.p99_ms")" 1)" \
    "$(fmt "$(get "$BB.p50_ms")" 2)/$(fmt "$(get "$BB.p99_ms")" 1)"
printf '%-24s %12s %12s\n' "otad CPU us / poll" "$(fmt "$(get "$BI.us_poll")" 1)" \
    "$(fmt "$(get "$BB.us_poll")" 1)"
r=1
while [ $r -le "$ROUNDS" ]; do
	printf '%-24s %12s %12s\n' "  round $r us / poll" \
	    "$(fmt "$(get "img.$r.us_poll")" 1)" "$(fmt "$(get "bun.$r.us_poll")" 1)"
	r=$((r + 1))
done
echo
ok=0
ge "$TARGET_RATIO" "$RATIO" && ok=1
target "$ok" "a bundle poll costs at most ${TARGET_RATIO}x a single-image poll (CPU)" \
    "$(fmt "$RATIO" 2)x"
[ "$FAILED" = 0 ]
