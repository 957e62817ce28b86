#!/bin/sh
# install-deps.sh run|test|bench|fuzz: install the Debian packages otad needs that
# are missing.  Asks apt only when something is missing, so a second run is
# instant and works offline.  Needs root (or sudo) only to install.
set -eu

BUILD="build-essential pkg-config libmicrohttpd-dev libsodium-dev libjansson-dev
libsqlite3-dev libgnutls28-dev libcurl4-gnutls-dev openssl ca-certificates curl
libmosquitto-dev libpq-dev libicu-dev"
# nodejs: runs esptool-js, the independent reader test_upload.sh checks
# ESP-IDF images against (tools/fetch-npm.sh, pinned in the Makefile).
# python3-jsonschema: test_openapi.sh validates docs/openapi.json and the
# recorded API answers (Debian's /usr/bin/python3).
# postgresql-15: make test runs every store test and integration script a
# second time on a private cluster of its own (tests/pg.sh).
# chromium, python3-websocket: test_ui.sh drives the web dashboard in a
# headless browser over the DevTools protocol (tests/ui_browser.py).
TEST="check jq iproute2 mosquitto mosquitto-clients softhsm2 opensc sqlite3 procps
swupdate cpio python3 python3-jsonschema postgresql-15 postgresql-client-15 nodejs
chromium python3-websocket"
BENCH="nginx-light wrk"
# make fuzz: clang's libFuzzer (make fuzz-replay, in make test, needs only gcc).
FUZZ="clang-14 libclang-rt-14-dev"

case "${1:-run}" in
run) want="$BUILD" ;;
test) want="$BUILD $TEST" ;;
bench) want="$BUILD $TEST $BENCH" ;;
fuzz) want="$BUILD $FUZZ" ;;
*) echo "usage: $0 run|test|bench|fuzz" >&2; exit 2 ;;
esac

missing=""
for p in $want; do
	st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	case "$st" in
	*"ok installed"*) ;;
	*) missing="$missing $p" ;;
	esac
done
[ -z "$missing" ] && exit 0

echo "install-deps: installing:$missing" >&2
SUDO=""
if [ "$(id -u)" != 0 ]; then
	command -v sudo >/dev/null 2>&1 || {
		echo "install-deps: need root or sudo to install:$missing" >&2
		exit 1
	}
	SUDO=sudo
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q >/dev/null
# shellcheck disable=SC2086
$SUDO apt-get install -y -q --no-install-recommends $missing >/dev/null
