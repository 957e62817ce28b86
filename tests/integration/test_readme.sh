#!/bin/sh
# The README's quick start, as written: every ```sh block marked with
# "<!-- test_readme: NAME -->" is extracted from README.md and run in
# order, in a fresh directory laid out as `make run` leaves this one
# (./otactl, config/otad.conf, otad started from there with its data in
# ./var), against an otad started as `make run` starts it but on a port
# the OS picks.  The only substitution is the address: the README's
# https://127.0.0.1:8443 becomes that otad's, in the blocks and as
# OTACTL_SERVER (otactl's default).  Each step's outcome is checked, and
# the set of marked blocks is this script's list: the README cannot drift
# from what works.
. "$(dirname "$0")/../lib.sh"

README="$TESTS_DIR/../README.md"
QS="$T/qs"
STEPS="keys upload curl-upload fleet rollout poll advance health"

# ---- the blocks -----------------------------------------------------------

mkdir -p "$T/blocks" "$QS/config"
awk -v dir="$T/blocks" '
	/^<!-- test_readme: [a-z0-9-]+ -->$/ { name = $3; next }
	name != "" && /^```sh$/ { out = dir "/" name ".sh"; print name; next }
	out != "" && /^```$/ { close(out); out = ""; name = ""; next }
	out != "" { print >out; next }
	{ name = "" }
' "$README" >"$T/names"
expect_eq "README.md's marked blocks" "$STEPS" "$(tr '\n' ' ' <"$T/names" |
    sed 's/ $//')"

# ---- a directory as make run leaves it ------------------------------------

cp "$TESTS_DIR/../config/otad.conf" "$QS/config/otad.conf"
ln -s "$OTACTL_BIN" "$QS/otactl"
DATA="$QS/var"
PORT_FILE="$T/otad.ports"
export OTAD_HTTPS_PORT=auto
export OTAD_PORT_FILE="$PORT_FILE"
if [ "$STORE" = pg ]; then
	db_new || { fail "a PostgreSQL database"; exit 1; }
	export OTAD_DATABASE="$DB_NEW"
fi

# otad as make run starts it (./build/release/otad --config
# config/otad.conf, from the checkout): from $QS, where the steps run too.
cd "$QS" || exit 1

# step NAME: runs block NAME in $QS with sh -e, the variables the earlier
# blocks exported in scope; its output in $T/NAME.out, $T/NAME.err.
step() {
	sed "s|https://127.0.0.1:8443|$BASE|g" "$T/blocks/$1.sh" >"$QS/.step.sh"
	sh -e -c '[ ! -f .env ] || . ./.env; export OTACTL_SERVER="$0"
	    . ./.step.sh; export -p >.env' "$BASE" >"$T/$1.out" 2>"$T/$1.err"
	rc=$?
	expect_eq "README step '$1' runs" 0 "$rc"
	[ "$rc" -eq 0 ] || sed "s/^/  $1: /" "$T/$1.err" | tail -n 20
}

# out NAME PATTERN: step NAME's output has a line matching PATTERN.
out() {
	grep -q -- "$2" "$T/$1.out"
}

# ---- the walk -------------------------------------------------------------

otad_start --config config/otad.conf || exit 1
check "make run's otad: var/ made on first start" test -f var/tls/cert.pem
step keys
check "keys: release.pub trusted" test -s var/release-keys/release.pub
otad_stop
expect_eq "otad stops (Ctrl-C)" 0 "$?"
otad_start --config config/otad.conf || exit 1

step upload
check "upload: the image stored" out upload "^stored image 1 sensor-fw 1.4.0"
check "upload: otactl images lists it" out upload "^1 *sensor-fw *1.4.0 *1000000"
step curl-upload
check "curl upload: the same image, already stored" \
    grep -q '"id":1,' "$T/curl-upload.out"
step fleet
check "fleet: group beta created" out fleet "created group beta"
expect_eq "fleet: tokens.csv holds both devices' tokens" 3 \
    "$(grep -c '^id,token$\|^sensor-000[12],otad_' tokens.csv)"
api GET /api/v1/groups/beta "$(token viewer readme)"
expect_eq "fleet: group beta has 2 devices" 2 "$(jqb .devices)"
step rollout
check "rollout: started at 1%" out rollout "running, stage 1/2 1%"
step poll
check "poll: answered 204 or 200" out poll '^\(204\|.*}200\)$'
step advance
check "advance: at 100%" out advance "running, stage 2/2 100%"
check "advance: the poll answers 200 with the manifest" \
    out advance '^{"device":"sensor-0001","rollout":1,.*}200$'
step health
check "health: the event accepted" out health '"accepted":1'
check "health: one completed in the total" \
    out health '^total  *2  *1  *1  *1 '

otad_stop
expect_eq "clean stop" 0 $?
check "sanitizers report nothing" sanitizer_clean
finish
