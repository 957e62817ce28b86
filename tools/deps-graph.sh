#!/bin/sh
# deps-graph: the module graph of otad and otactl, and the checks of its
# direction (README "Source layout").  A module is a file name without its
# extension (store_images = server/store_images.c + .h).  Two kinds of edge:
#   include  A -> B  when A.c or A.h includes B.h (the sources);
#   call     A -> B  when A.o uses a symbol B.o defines (nm, build dir).
# Each module has a layer (the table below); an edge may go down or stay in
# its layer, never up.  Also refused: a cycle of either kind, and one
# handler (http_api_*) using another (only http_api, the route table,
# knows them all).
#
# Usage: tools/deps-graph.sh [--check] [--dot] [BUILD_DIR]
#   (default): prints every edge as "kind A -> B", then the violations;
#   --dot:     prints the call and include graph as Graphviz DOT;
#   --check:   prints only the violations; exits 1 when there is one.
# BUILD_DIR (default build/release) must hold the objects (make all).
set -u
mode=list
while [ $# -gt 0 ]; do
	case $1 in
	--check) mode=check; shift ;;
	--dot) mode=dot; shift ;;
	*) break ;;
	esac
done
B=${1:-build/release}
tmp=$(mktemp -d) || exit 2
trap 'rm -rf "$tmp"' EXIT

# The layers, bottom up.  A module not listed here is an error: a new
# file must say where it stands.
layer_of() {
	case $1 in
	errors | log | timeutil | names | semver | update_state | json_util | \
	fsutil | config | crypto | blob | descriptor | manifest | rollout | \
	ddi | upload_form | http_deadline | http_parse | sigcache | telemetry_parse | \
	metrics | migrations | tls | app_limits | intern | version | fwmeta | \
	memtrim | rollout_patch | semver_range | selector | mwindow | components | \
	bundles | walkcache | bundle_state)
		echo 0 ;; # pure logic and leaf utilities: no store, no threads
	db | db_sqlite | db_pg)
		echo 1 ;; # the database driver
	store | store_*)
		echo 2 ;; # typed rows
	images | offers | seen | auth | telemetry | hints | mqtt | \
	rollout_service | rollout_timer | ddi_service | device_service | app | cluster | devcache | ddicache | \
	fleet | bundle_service | compcache | devslots)
		echo 3 ;; # services: decide, keep invariants, own transactions
	http_server | http_req | http_reply | http_download | http_api | http_ui | \
	http_api_*)
		echo 4 ;; # HTTP: parse, authorize, reply
	main | otactl | otactl_*)
		echo 5 ;; # programs
	*) echo unknown ;;
	esac
}

# include edges
for f in server/*.[ch] tools/*.[ch]; do
	# foo_internal.h is module foo's own header for its family.
	m=$(basename "$f"); m=${m%.*}; m=${m%_internal}
	grep -o '^#include "[^"]*"' "$f" | sed 's/#include "//; s/\.h"//' |
	while read -r h; do
		h=${h%_internal}
		[ "$h" = "$m" ] || echo "include $m $h"
	done
done | sort -u >"$tmp/inc"

# call edges: who defines each global symbol, then who uses it
missing=0
for o in "$B"/server/*.o "$B"/tools/*.o; do
	[ -f "$o" ] || { missing=1; continue; }
	m=$(basename "$o" .o)
	nm -g --defined-only "$o" | awk -v m="$m" 'NF == 3 { print $3, m }'
done | sort -u >"$tmp/defs"
for o in "$B"/server/*.o "$B"/tools/*.o; do
	[ -f "$o" ] || continue
	m=$(basename "$o" .o)
	nm -u "$o" | awk -v m="$m" '{ print $NF, m }'
done | sort -u >"$tmp/uses"
if [ "$missing" = 1 ] || [ ! -s "$tmp/defs" ]; then
	echo "deps-graph: no objects under $B (run make all first)" >&2
	exit 2
fi
join "$tmp/uses" "$tmp/defs" | awk '$2 != $3 { print "call", $2, $3 }' |
	sort -u >"$tmp/call"
cat "$tmp/inc" "$tmp/call" >"$tmp/edges"

if [ "$mode" = dot ]; then
	echo "digraph otad {"
	echo "  rankdir=BT; node [shape=box, fontsize=10];"
	awk '{ s = ($1 == "include") ? " [style=dashed]" : "";
	       printf "  \"%s\" -> \"%s\"%s;\n", $2, $3, s }' "$tmp/edges"
	echo "}"
	exit 0
fi
[ "$mode" = list ] && awk '{ print $1, $2, "->", $3 }' "$tmp/edges"

# violations
: >"$tmp/bad"
while read -r kind a b; do
	la=$(layer_of "$a"); lb=$(layer_of "$b")
	for x in "$a:$la" "$b:$lb"; do
		case $x in *:unknown)
			echo "unlayered module ${x%:*} (add it to tools/deps-graph.sh)" ;;
		esac
	done
	if [ "$la" != unknown ] && [ "$lb" != unknown ] && [ "$lb" -gt "$la" ]; then
		echo "upward $kind: $a (layer $la) -> $b (layer $lb)"
	fi
	case $a:$b in
	http_api:*) ;;
	http_api_*:http_api_*)
		echo "handler uses handler ($kind): $a -> $b" ;;
	esac
done <"$tmp/edges" | sort -u >>"$tmp/bad"
for kind in include call; do
	awk -v k="$kind" '$1 == k { print $2, $3 }' "$tmp/edges" |
		tsort 2>&1 >/dev/null | sed -n 's/^tsort: //p' |
		awk -v k="$kind" '/input contains a loop/ { if (loop != "") print k " cycle:" loop; loop = ""; next }
		     { loop = loop " " $0 } END { if (loop != "") print k " cycle:" loop }' >>"$tmp/bad"
done
n=$(wc -l <"$tmp/bad")
[ "$mode" = list ] && echo "--"
cat "$tmp/bad"
echo "deps-graph: $(wc -l <"$tmp/edges") edges, $n violations" >&2
[ "$mode" = check ] && [ "$n" -gt 0 ] && exit 1
exit 0
