#!/bin/sh
# fetch-esptool-js.sh DIR: puts Espressif's esptool-js 0.7.0 (npm, Apache-2.0)
# in DIR/esptool-js-0.7.0/, for make test's cross-check of ESP-IDF images
# (tests/esptool_js_check.mjs, test_upload.sh).  Only the package's own
# files are used (image/ and targets/ import nothing else), so the tarball
# is fetched from the npm registry directly, checked against the integrity
# npm publishes for it (sha512), and unpacked; no npm needed.  Does nothing
# when DIR already holds it.
set -eu
dir=${1:?usage: $0 DIR}
ver=0.7.0
want=9wHuW/s9t4Vs6HKcr3pra3gbRVWwaN0eabMWodWH4KEJHEYZxgmWwZ3s0F4xcWVCZOc/L98bGZ4uWoZvR8KBKA==
dest=$dir/esptool-js-$ver
[ -f "$dest/package/lib/image/index.js" ] && exit 0
mkdir -p "$dir"
tmp=$(mktemp -d "$dir/.fetch.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
curl -fsS --retry 3 --max-time 120 -o "$tmp/p.tgz" \
    "https://registry.npmjs.org/esptool-js/-/esptool-js-$ver.tgz" || {
	echo "fetch-esptool-js: cannot download esptool-js $ver from registry.npmjs.org" >&2
	exit 1
}
got=$(openssl dgst -sha512 -binary "$tmp/p.tgz" | base64 -w0)
if [ "$got" != "$want" ]; then
	echo "fetch-esptool-js: esptool-js-$ver.tgz: sha512 $got, not the published $want" >&2
	exit 1
fi
tar -xzf "$tmp/p.tgz" -C "$tmp"
rm -rf "$dest"
mkdir -p "$dest"
mv "$tmp/package" "$dest/package"
