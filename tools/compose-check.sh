#!/bin/sh
# compose-check.sh: runs deploy/compose.yaml for real with Debian's podman
# and podman-compose (PostgreSQL, Mosquitto, two otad, HAProxy), then
# checks what several nodes promise: both nodes ready, a token made with
# otactl on the shared database, an upload on node 1, the same bytes (and
# a Range) downloaded from node 2 and through the load balancer, and a
# manifest's download URL signed by node 1 accepted by node 2.  Not part
# of `make test` (it builds four images).  Run as root from the repository:
#
#   tools/compose-check.sh          KEEP=1 leaves the stack running
#
# Needs a local debian:bookworm-slim image (no registry is used: --pull=never).
# Everything lives in a temp dir and in the compose project "otadcheck"; the
# stack and its volumes are removed on every exit unless KEEP=1.
set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd)
PROJECT=${PROJECT:-otadcheck}
KEEP=${KEEP:-0}
W=$(mktemp -d /tmp/otad-compose.XXXXXX)
# This machine cannot raise rlimits in a container: ask for what we have.
nofile=$(ulimit -Hn)
[ "$nofile" = unlimited ] && nofile=1048576
ULIMITS="--ulimit nofile=$nofile:$nofile --ulimit nproc=32768:32768"
PODMAN="podman --runtime runc --cgroup-manager cgroupfs --events-backend file"

. "$ROOT/tests/ports.sh"

say() { printf '\n$ %s\n' "$*"; }
die() {
	echo "compose-check: FAIL: $*" >&2
	exit 1
}

compose() {
	(cd "$W/deploy" && podman-compose -p "$PROJECT" \
	    --podman-run-args="$ULIMITS" "$@")
}

cleanup() {
	rc=$?
	if [ "$rc" -ne 0 ]; then
		echo "---- logs (last lines) ----" >&2
		for s in postgres otad1 otad2 lb; do
			echo "== $s" >&2
			podman logs --tail 25 "${PROJECT}_${s}_1" >&2 2>&1 || :
		done
	fi
	if [ "$KEEP" = 1 ]; then
		echo "KEEP=1: stack left running; (cd $W/deploy &&" \
		    "podman-compose -p $PROJECT down -v) removes it" >&2
	else
		compose down -v >/dev/null 2>&1 || :
		# what down missed (a container restarting meanwhile)
		for c in $(podman ps -aq --filter "name=^${PROJECT}_"); do
			podman rm -f -t 2 "$c" >/dev/null 2>&1 || :
		done
		for v in pgdata mqttdata otad1-cache otad2-cache; do
			podman volume rm -f "${PROJECT}_$v" >/dev/null 2>&1 || :
		done
		podman network rm "${PROJECT}_default" >/dev/null 2>&1 || :
		rm -rf "$W"
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

command -v podman-compose >/dev/null ||
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q podman-compose \
	    >/dev/null
[ "$(id -u)" = 0 ] || die "run as root (rootful podman)"
podman image exists docker.io/library/debian:bookworm-slim ||
	die "no local debian:bookworm-slim image"

build() { # TAG CONTEXT [-f FILE]
	tag=$1
	ctx=$2
	shift 2
	echo "building $tag" >&2
	# shellcheck disable=SC2086
	$PODMAN build $ULIMITS --network host --pull=never --format docker \
	    -q -t "$tag" "$@" "$ctx" >/dev/null || die "build of $tag"
}
build localhost/otad:latest "$ROOT" -f "$ROOT/Dockerfile"
build localhost/otad-postgres:15 "$ROOT/deploy/postgres"
build localhost/otad-mosquitto:2 "$ROOT/deploy/mosquitto"
build localhost/otad-lb:latest "$ROOT/deploy/lb"

# The compose file with its shared secrets beside it, as compose.yaml's
# header describes them.
mkdir -p "$W/deploy/secrets" "$W/deploy/release-keys" "$W/keys" "$W/work"
cp "$ROOT/deploy/compose.yaml" "$W/deploy/"
head -c 24 /dev/urandom | base64 >"$W/deploy/secrets/db_password"
chown -R 10001:10001 "$W/deploy/secrets" "$W/keys" "$W/work"
otactl_run() { # otactl in the otad image, as otad, with $W/keys, $W/work
	podman run --rm $ULIMITS -v "$W/keys:/keys" -v "$W/work:/work" \
	    --health-cmd none --entrypoint otactl localhost/otad:latest "$@"
}
say otactl keygen --out secrets/server
otactl_run keygen --out /keys/server
say otactl keygen --out release
otactl_run keygen --out /keys/release
cp "$W/keys/server.key" "$W/deploy/secrets/server.key"
cp "$W/keys/release.pub" "$W/deploy/release-keys/release.pub"
chown -R 10001:10001 "$W/deploy/secrets" "$W/deploy/release-keys"
chmod 0600 "$W/deploy/secrets/"*

LB=$(random_port)
P1=$(random_port)
P2=$(random_port)
export OTAD_LB_PORT="$LB" OTAD1_PORT="$P1" OTAD2_PORT="$P2"
say podman-compose -p "$PROJECT" up -d --no-build
compose up -d --no-build >"$W/up.log" 2>&1 || {
	cat "$W/up.log" >&2
	die "podman-compose up"
}
podman ps --filter "name=${PROJECT}_" --format '{{.Names}}  {{.Status}}'

# ready URL NAME: waits up to 90 s for GET URL/readyz to answer 200.
ready() {
	i=0
	while [ $i -lt 450 ]; do
		code=$(curl -sk -o /dev/null -w '%{http_code}' "$1/readyz" ||
		    :)
		[ "$code" = 200 ] && return 0
		sleep 0.2
		i=$((i + 1))
	done
	die "$2 not ready at $1 (last status ${code:-none})"
}
N1=https://127.0.0.1:$P1
N2=https://127.0.0.1:$P2
VIA=https://127.0.0.1:$LB
ready "$N1" otad1
ready "$N2" otad2
ready "$VIA" "load balancer"
for u in "$N1 node 1" "$N2 node 2" "$VIA load balancer"; do
	say curl -sk "${u%% *}/readyz" "  # ${u#* }"
	curl -sk "${u%% *}/readyz"
	echo
done

say podman exec "${PROJECT}_otad1_1" otactl token create --role admin --name ops
ADMIN=$(podman exec "${PROJECT}_otad1_1" otactl token create --role admin \
    --name ops) || die "otactl token create on PostgreSQL"
echo "(token, ${#ADMIN} characters)"
say podman exec "${PROJECT}_otad2_1" otactl token list
podman exec "${PROJECT}_otad2_1" otactl token list || die "otactl token list"

api() { # METHOD URL [curl args]: sets STATUS, body in $W/body
	m=$1
	u=$2
	shift 2
	STATUS=$(curl -sk -o "$W/body" -w '%{http_code}' -X "$m" \
	    -H "Authorization: Bearer $ADMIN" "$@" "$u")
}

head -c 3000000 /dev/urandom >"$W/work/fw.bin"
chown 10001:10001 "$W/work/fw.bin"
otactl_run describe /work/fw.bin --name sensor-fw --version 1.1.0 \
    --hardware revA --out /work/fw.bin.json >/dev/null
otactl_run sign --key /keys/release.key --out /work/fw.bin.json.sig \
    /work/fw.bin.json >/dev/null
SUM=$(sha256sum <"$W/work/fw.bin" | cut -d' ' -f1)
say curl -sk -X POST "$N1/api/v1/images" -F descriptor=@fw.bin.json \
    -F signatures=... -F image=@fw.bin "   # node 1"
api POST "$N1/api/v1/images" \
    -F "descriptor=@$W/work/fw.bin.json;type=application/json" \
    -F "signatures=[{\"keyid\":\"release\",\"sig\":\"$(base64 -w0 \
    "$W/work/fw.bin.json.sig")\"}]" \
    -F "image=@$W/work/fw.bin;type=application/octet-stream"
echo "status $STATUS: $(jq -c '{id,name,version,size,sha256}' "$W/body")"
[ "$STATUS" = 201 ] || die "upload on node 1: $(cat "$W/body")"
IMG=$(jq -r .id "$W/body")

say curl -sk "$N2/api/v1/images/$IMG/blob" "| sha256sum   # node 2"
api GET "$N2/api/v1/images/$IMG/blob"
got=$(sha256sum <"$W/body" | cut -d' ' -f1)
echo "status $STATUS sha256 $got (uploaded: $SUM)"
[ "$STATUS" = 200 ] && [ "$got" = "$SUM" ] || die "download from node 2"

say curl -sk -r 1000000-1999999 "$N2/api/v1/images/$IMG/blob" "# node 2"
api GET "$N2/api/v1/images/$IMG/blob" -r 1000000-1999999
want=$(tail -c +1000001 "$W/work/fw.bin" | head -c 1000000 | sha256sum |
    cut -d' ' -f1)
got=$(sha256sum <"$W/body" | cut -d' ' -f1)
echo "status $STATUS bytes $(wc -c <"$W/body") match=$([ "$got" = "$want" ] &&
    echo yes || echo no)"
[ "$STATUS" = 206 ] && [ "$got" = "$want" ] || die "Range from node 2"

say curl -sk "$VIA/api/v1/images/$IMG/blob" "| sha256sum   # load balancer"
api GET "$VIA/api/v1/images/$IMG/blob"
got=$(sha256sum <"$W/body" | cut -d' ' -f1)
echo "status $STATUS sha256 $got"
[ "$STATUS" = 200 ] && [ "$got" = "$SUM" ] || die "download through the LB"

# A manifest from node 1; its signed download URL fetched from node 2.
api POST "$N1/api/v1/groups" -H 'Content-Type: application/json' \
    --data-binary '{"name":"fleet"}'
[ "$STATUS" = 201 ] || die "group: $(cat "$W/body")"
api POST "$N1/api/v1/devices" -H 'Content-Type: application/json' \
    --data-binary '[{"id":"dev-1","hardware":"revA","groups":["fleet"]}]'
[ "$STATUS" = 201 ] || die "device: $(cat "$W/body")"
DEV=$(jq -r '.devices[0].token' "$W/body")
api POST "$N2/api/v1/rollouts" -H 'Content-Type: application/json' \
    --data-binary "{\"image\":$IMG,\"groups\":[\"fleet\"],\"stages\":[100]}"
[ "$STATUS" = 201 ] || die "rollout on node 2: $(cat "$W/body")"
R=$(jq -r .id "$W/body")
api POST "$N2/api/v1/rollouts/$R/start"
[ "$STATUS" = 200 ] || die "rollout start on node 2: $(cat "$W/body")"
say "rollout $R created and started on node 2; device dev-1 polls node 1"
i=0
while :; do
	code=$(curl -sk -o "$W/manifest" -w '%{http_code}' \
	    -H "Authorization: Bearer $DEV" \
	    "$N1/api/v1/devices/dev-1/manifest?hardware=revA&version=1.0.0")
	[ "$code" = 200 ] && break
	i=$((i + 1))
	[ $i -lt 50 ] || die "no offer on node 1 within 5 s (status $code)"
	sleep 0.1
done
echo "offered by node 1 after ~$((i * 100)) ms: $(jq -c '{rollout,image,url}' \
    "$W/manifest")"
URL=$(jq -r .url "$W/manifest")
path=${URL#https://*/}
say curl -sk "$N2/$(echo "$path" | sed 's/token=[^&]*/token=.../')" \
    "| sha256sum   # node 2"
code=$(curl -sk -o "$W/dl" -w '%{http_code}' "$N2/$path")
got=$(sha256sum <"$W/dl" | cut -d' ' -f1)
echo "status $code sha256 $got"
[ "$code" = 200 ] && [ "$got" = "$SUM" ] ||
	die "node 2 refused a URL signed by node 1"
echo
echo "compose-check: OK"
