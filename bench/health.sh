#!/bin/sh
# health.sh: how long GET /api/v1/rollouts/{id}/health takes for a rollout
# targeting a large fleet, over HTTPS, on this machine.  See
# bench/README.md ("Rollout health").  `make bench BENCH=health` builds the
# release binaries first.
#
#   1. otad (release build) on a random port, a fresh temp data dir,
#      log_level=warn; admin, release and viewer tokens;
#   2. BENCH_HEALTH_DEVICES devices (default 100,000) provisioned through
#      the API in batches of 10,000, all in group "fleet", plus a gateway
#      token for that group;
#   3. a signed image, a rollout of it to "fleet" (stages 1, 5, 25, 100),
#      started and advanced to 25 %;
#   4. BENCH_HEALTH_REPORTS devices (default 10,000) report "completed"
#      through the gateway token (one POST each, over 8 keep-alive
#      connections), so the reported counts are not empty;
#   5. BENCH_HEALTH_RUNS sequential health requests with curl; the answer
#      is checked (targeted = the fleet, completed = the reports) and the
#      first request's time (a walk over every targeted device) and the
#      min, median and max of curl's time_total printed;
#   6. a dashboard's rollout page: one health request every 3 s (its
#      refresh) for BENCH_HEALTH_VIEW_SEC seconds (default 60; 0 skips),
#      with a report arriving between requests: the median and max time
#      and otad's CPU over the view, as a share of one core.  A slow walk
#      is given again for a while (docs/health.md), so the page stays
#      responsive however large the fleet;
#   7. the dashboard itself in Debian's chromium (headless,
#      bench/ui_large.py): the fleet, devices, rollouts list and rollout
#      pages against this store, how long each takes to show its figures
#      (checked against the store), and the rollout page following a new
#      report by its own refresh.  BENCH_HEALTH_BROWSER=0 skips it.
#
# Exit status: 0 when everything ran, 1 when a step failed.
set -u

BENCH_DIR=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$BENCH_DIR/.." && pwd)
OTAD_BIN=${OTAD_BIN:-$ROOT/build/release/otad}
OTACTL_BIN=${OTACTL_BIN:-$ROOT/build/release/otactl}
CORES=$(nproc)
NDEV=${BENCH_HEALTH_DEVICES:-100000}
NREP=${BENCH_HEALTH_REPORTS:-10000}
RUNS=${BENCH_HEALTH_RUNS:-15}
VIEW_SEC=${BENCH_HEALTH_VIEW_SEC:-60}
BATCH=10000
TARGET_S=1.0 # "well under a second" for 100,000 targeted devices

T=$(mktemp -d /tmp/otad-bench.XXXXXX) || exit 1
. "$BENCH_DIR/lib.sh"

need make "$OTAD_BIN" "$OTACTL_BIN" -- curl jq ss
[ "$NDEV" -ge 1 ] && [ "$NREP" -ge 0 ] && [ "$NREP" -le "$NDEV" ] && [ "$RUNS" -ge 1 ] ||
    die "need 0 <= BENCH_HEALTH_REPORTS <= BENCH_HEALTH_DEVICES, RUNS >= 1"

say "machine CPU busy before the run: $(fmt "$(machine_check)")%"
mkdir -p "$T/prov" || exit 1
: >"$T/results"

# ---- 1. otad ----------------------------------------------------------------

otad_setup
otad_start 4

ADMIN=$(token admin) && [ -n "$ADMIN" ] || exit 1
REL=$(token release) && [ -n "$REL" ] || exit 1
VIEWER=$(token viewer) && [ -n "$VIEWER" ] || exit 1
# Tokens go to curl through files, never on a command line.
(umask 077 &&
    printf 'Authorization: Bearer %s\n' "$ADMIN" >"$T/admin.hdr" &&
    printf 'Authorization: Bearer %s\n' "$REL" >"$T/release.hdr" &&
    printf 'Authorization: Bearer %s\n' "$VIEWER" >"$T/viewer.hdr") ||
    exit 1

# ---- 2. the fleet -------------------------------------------------------------

printf '{"name":"fleet"}' >"$T/group.json"
api_ok 201 admin POST /api/v1/groups "$T/group.json"
awk -v n="$NDEV" -v b="$BATCH" -v dir="$T/prov" 'BEGIN {
	for (i = 0; i < n; i++) {
		f = sprintf("%s/batch-%04d.json", dir, int(i / b))
		printf "%s{\"id\":\"dev-%06d\",\"hardware\":\"revA\"," \
		    "\"version\":\"1.0.0\",\"groups\":[\"fleet\"]}",
		    (i % b) ? "," : "[", i > f
		if (i % b == b - 1 || i == n - 1) {
			print "]" > f
			close(f)
		}
	}
}' || die "cannot write the device batches"
say "provisioning $NDEV devices"
t0=$(now_ns)
for f in "$T"/prov/batch-*.json; do
	api_ok 201 admin POST /api/v1/devices "$f"
done
say "  $(fmt "$(calc "($(now_ns) - $t0) / 1e9")" 1) s"
rm -rf "$T/prov"
printf '{"name":"bench-app","groups":["fleet"]}' >"$T/gw.json"
api_ok 201 admin POST /api/v1/gateways "$T/gw.json"
(umask 077 && printf 'Authorization: Bearer %s\n' \
    "$(jq -r .token "$T/api.json")" >"$T/gateway.hdr") || exit 1

# ---- 3. the rollout -----------------------------------------------------------

img="$T/fw.bin"
head -c 65536 /dev/urandom >"$img" || exit 1
"$OTACTL_BIN" describe "$img" --name bench-fw --version 2.0.0 \
    --hardware revA --out "$img.json" >/dev/null &&
    "$OTACTL_BIN" sign --key "$T/keys/release.key" --out "$img.json.sig" \
    "$img.json" >/dev/null || die "otactl describe/sign"
st=$(curl -sS --cacert "$CERT" -H "@$T/release.hdr" -o "$T/api.json" \
    -w '%{http_code}' -F "descriptor=@$img.json;type=application/json" \
    -F "signatures=$(sig_json "$img.json.sig" release)" \
    -F "image=@$img;type=application/octet-stream" "$BASE/api/v1/images")
[ "$st" = 201 ] || die "upload answered $st: $(head -c 400 "$T/api.json")"
printf '{"image":%s,"groups":["fleet"]}' "$(jq -r .id "$T/api.json")" \
    >"$T/rollout.json"
api_ok 201 release POST /api/v1/rollouts "$T/rollout.json"
R=$(jq -r .id "$T/api.json")
api_ok 200 release POST "/api/v1/rollouts/$R/start"
api_ok 200 release POST "/api/v1/rollouts/$R/advance"
api_ok 200 release POST "/api/v1/rollouts/$R/advance"

# ---- 4. reports ---------------------------------------------------------------

# report_all: every one of the first NREP devices reports once, from
# PAR curl processes at a time (each one keep-alive connection), so the
# writer's group commit has company.
PAR=8
report_all() {
	i=0
	while [ $i -lt "$NREP" ]; do
		f="$T/reports.$((i % PAR)).curl"
		[ $i -ge $PAR ] && echo next >>"$f"
		{
			printf 'url = "%s/api/v1/devices/dev-%06d/events"\n' \
			    "$BASE" $i
			printf 'cacert = "%s"\nheader = "@%s"\n' "$CERT" \
			    "$T/gateway.hdr"
			printf 'header = "Content-Type: application/json"\n'
			printf 'data = "{\\"event_id\\":\\"e1\\",\\"rollout\\":%s,' \
			    "$R"
			printf '\\"version\\":\\"2.0.0\\",\\"state\\":\\"completed\\",'
			printf '\\"ts\\":\\"2026-01-01T00:00:00Z\\"}"\n'
			printf 'output = "/dev/null"\nwrite-out = "%%{http_code}\\n"\n'
		} >>"$f"
		i=$((i + 1))
	done
	say "$NREP devices report completed ($PAR connections)"
	t0=$(now_ns)
	pids=""
	for f in "$T"/reports.*.curl; do
		curl -sS -K "$f" >"$f.codes" 2>"$f.err" &
		pids="$pids $!"
	done
	for p in $pids; do
		wait "$p" || die "curl POST events: $(cat "$T"/reports.*.err)"
	done
	say "  $(fmt "$(calc "($(now_ns) - $t0) / 1e9")" 1) s"
	n200=$(cat "$T"/reports.*.codes | grep -c '^200$')
	[ "$n200" = "$NREP" ] || die "events: $n200 of $NREP answered 200"
}
[ "$NREP" -eq 0 ] || report_all

# ---- 5. health ------------------------------------------------------------------

say "$RUNS health requests"
: >"$T/times"
k=0
while [ $k -lt "$RUNS" ]; do
	out=$(curl -sS --cacert "$CERT" -H "@$T/viewer.hdr" -o "$T/health.json" \
	    -w '%{http_code} %{time_total}' "$BASE/api/v1/rollouts/$R/health") ||
	    die "curl health"
	[ "${out% *}" = 200 ] || die "health answered ${out% *}"
	echo "${out#* }" >>"$T/times"
	k=$((k + 1))
done
got=$(jq -r '"\(.total.targeted) \(.total.completed)"' "$T/health.json")
[ "$got" = "$NDEV $NREP" ] ||
    die "health says targeted, completed = $got, not $NDEV $NREP"
first=$(head -n 1 "$T/times")
sort -g "$T/times" >"$T/times.sorted"
min=$(head -n 1 "$T/times.sorted")
max=$(tail -n 1 "$T/times.sorted")
med=$(awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }' "$T/times.sorted")
echo "rollout health, $NDEV targeted devices, $NREP reports, $CORES cores:"
echo "  GET /api/v1/rollouts/{id}/health over HTTPS (curl time_total, $RUNS runs):"
echo "  first (walks every targeted device) $(fmt "$(calc "$first * 1000")") ms"
echo "  min $(fmt "$(calc "$min * 1000")") ms, median $(fmt "$(calc "$med * 1000")") ms, max $(fmt "$(calc "$max * 1000")") ms"
echo "  in_stage at 25 %: $(jq -r .total.in_stage "$T/health.json")" \
    "($(fmt "$(calc "$(jq -r .total.in_stage "$T/health.json") * 100 / $NDEV")" 2) %)"
verdict="PASS median under $TARGET_S s"
ge "$TARGET_S" "$med" || verdict="MISS median over $TARGET_S s"

# ---- 6. a dashboard's view ------------------------------------------------------

# view_health: one health request every 3 s for VIEW_SEC seconds, with one
# more device reporting between requests (the page shows it at once: the
# reports are read anew); prints the median and max time, otad's CPU share
# of one core and how many answers were a walk given again.
view_health() {
	: >"$T/view.times"
	reused=0
	c0=$(awk '{ print $14 + $15 }' "/proc/$OTAD_PID/stat")
	t0=$(now_ns)
	k=0
	while [ $k -lt $((VIEW_SEC / 3)) ]; do
		i=$((NREP + k))
		[ $i -lt "$NDEV" ] || i=$((NDEV - 1))
		printf '{"event_id":"v%d","rollout":%s,"version":"2.0.0","state":"completed","ts":"2026-01-01T00:00:00Z"}' \
		    "$k" "$R" >"$T/view.event"
		curl -sS -o /dev/null --cacert "$CERT" -H "@$T/gateway.hdr" \
		    -H 'Content-Type: application/json' \
		    --data-binary "@$T/view.event" \
		    "$(printf '%s/api/v1/devices/dev-%06d/events' "$BASE" $i)" ||
		    die "curl POST event"
		out=$(curl -sS --cacert "$CERT" -H "@$T/viewer.hdr" \
		    -o "$T/health.json" -w '%{http_code} %{time_total}' \
		    "$BASE/api/v1/rollouts/$R/health") || die "curl health"
		[ "${out% *}" = 200 ] || die "health answered ${out% *}"
		echo "${out#* }" >>"$T/view.times"
		age=$(($(date -u +%s) - $(date -u -d "$(jq -r .targeted_at "$T/health.json")" +%s)))
		[ "$age" -lt 2 ] || reused=$((reused + 1))
		k=$((k + 1))
		sleep 3
	done
	c1=$(awk '{ print $14 + $15 }' "/proc/$OTAD_PID/stat")
	secs=$(calc "($(now_ns) - $t0) / 1e9")
	got=$(jq -r .total.completed "$T/health.json")
	[ "$got" = $((NREP + k)) ] ||
	    die "the page's last answer says completed = $got, not $((NREP + k))"
	sort -g "$T/view.times" >"$T/view.sorted"
	vmed=$(awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }' "$T/view.sorted")
	vmax=$(tail -n 1 "$T/view.sorted")
	echo "  a rollout page open for $(fmt "$secs" 0) s (a request every 3 s, a report between):"
	echo "  median $(fmt "$(calc "$vmed * 1000")") ms, max $(fmt "$(calc "$vmax * 1000")") ms;" \
	    "$reused of $k answers gave an earlier walk again;" \
	    "otad CPU $(fmt "$(calc "($c1 - $c0) / $CLK_TCK / $secs * 100")" 1) % of one core"
	ge "$TARGET_S" "$vmed" || verdict="MISS page median over $TARGET_S s"
}
[ "$VIEW_SEC" -lt 3 ] || view_health

# ---- 7. the dashboard in a browser ------------------------------------------------

if [ "${BENCH_HEALTH_BROWSER:-1}" != 0 ]; then
	echo "  the dashboard in chromium (headless), viewer token:"
	i=$((NDEV - 2))
	printf '{"event_id":"ui","rollout":%s,"version":"2.0.0","state":"completed","ts":"2026-01-01T00:00:00Z"}' \
	    "$R" >"$T/ui.event"
	after="curl -sS -o /dev/null --cacert '$CERT' -H '@$T/gateway.hdr'"
	after="$after -H 'Content-Type: application/json' --data-binary '@$T/ui.event'"
	after="$after '$(printf '%s/api/v1/devices/dev-%06d/events' "$BASE" $i)'"
	# Debian's python3 has python3-websocket (deps-test).
	py=python3
	[ ! -x /usr/bin/python3 ] || py=/usr/bin/python3
	UI_TOKEN=$VIEWER UI_AFTER_LOAD=$after timeout 300 "$py" "$BENCH_DIR/ui_large.py" \
	    "$BASE" "$CERT" "$T" "$R" "$NDEV" ||
	    { verdict="MISS the dashboard did not show the store's figures"; ui_rc=1; }
fi
echo "  $verdict"
exit "${ui_rc:-0}"
