#!/bin/sh
# Prints the functions of the given C files (default: server/*.c tools/*.c)
# longer than LIMIT lines (default 80), longest first, as
# "lines file:line name".  Functions are found by the project's layout
# (style(9)): the name at column 0 and the braces alone at column 0.
# Usage: tools/func-sizes.sh [--check] [-n LIMIT] [file...]
#   --check: exit 1 when a function is longer than LIMIT (make test).
limit=80
check=0
if [ "${1:-}" = "--check" ]; then check=1; shift; fi
if [ "${1:-}" = "-n" ]; then limit=$2; shift 2; fi
[ $# -gt 0 ] || set -- server/*.c tools/*.c
out=$(awk -v limit="$limit" '
FNR == 1 { name = ""; start = 0 }
/^[A-Za-z_][A-Za-z0-9_]*\(/ { cand = $0; sub(/\(.*/, "", cand); candline = FNR }
/^\{/ && cand != "" { name = cand; start = candline; cand = "" }
/^\}/ && name != "" {
	n = FNR - start + 1
	if (n > limit) printf "%d %s:%d %s\n", n, FILENAME, start, name
	name = ""
}
' "$@" | sort -rn)
[ -n "$out" ] && echo "$out"
if [ "$check" = 1 ] && [ -n "$out" ]; then
	echo "func-sizes: functions over $limit lines (split them)" >&2
	exit 1
fi
exit 0
