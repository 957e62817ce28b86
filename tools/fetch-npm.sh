#!/bin/sh
# fetch-npm.sh DIR NAME VERSION SHA512 FILE: puts the npm package NAME
# (e.g. esptool-js, or a scoped @scope/pkg) at VERSION in
# DIR/<pkg>-VERSION/package/, for test tools that read a pinned package's
# own files (make deps-test).  The tarball is fetched from the npm registry
# directly, checked against the integrity npm publishes for it (SHA512,
# base64 as in package-lock.json), and unpacked; no npm needed.  Does
# nothing when DIR/<pkg>-VERSION/package/FILE is already there.
set -eu
[ $# -eq 5 ] || {
	echo "usage: $0 DIR NAME VERSION SHA512 FILE" >&2
	exit 2
}
dir=$1 name=$2 ver=$3 want=$4 file=$5
base=${name##*/}
dest=$dir/$base-$ver
[ -f "$dest/package/$file" ] && exit 0
mkdir -p "$dir"
tmp=$(mktemp -d "$dir/.fetch.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
curl -fsS --retry 3 --max-time 120 -o "$tmp/p.tgz" \
    "https://registry.npmjs.org/$name/-/$base-$ver.tgz" || {
	echo "fetch-npm: cannot download $name $ver from registry.npmjs.org" >&2
	exit 1
}
got=$(openssl dgst -sha512 -binary "$tmp/p.tgz" | base64 -w0)
if [ "$got" != "$want" ]; then
	echo "fetch-npm: $base-$ver.tgz: sha512 $got, not the published $want" >&2
	exit 1
fi
tar -xzf "$tmp/p.tgz" -C "$tmp"
[ -f "$tmp/package/$file" ] || {
	echo "fetch-npm: $name $ver has no package/$file" >&2
	exit 1
}
rm -rf "$dest"
mkdir -p "$dest"
mv "$tmp/package" "$dest/package"
