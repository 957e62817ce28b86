#!/bin/sh
# run_selftest.sh: the runner is a test too.  Runs tests/run.sh on a
# directory of small scripts that each end badly in one way (a non-zero
# exit after a passing check, a timeout, a signal, no check at all, an otad
# that cannot restart after kill -9, a sanitizer report written at exit)
# and checks that the run fails and names each of them, and that a run of
# only good scripts passes.  Needs OTAD_BIN and OTACTL_BIN (the Makefile
# sets them) and cc.  Exits 0 when the runner behaves, 1 otherwise.
set -u
here=$(cd "$(dirname "$0")" && pwd)
D=$(mktemp -d /tmp/otad-selftest.XXXXXX)
trap 'rm -rf "$D"' EXIT
bad=0
ok() { echo "ok   runner: $*"; }
no() { echo "FAIL runner: $*"; bad=1; }

mkdir -p "$D/good" "$D/bad"
# lib.sh sources ports.sh from the directory above its script's, here $D.
ln -s "$here/ports.sh" "$D/ports.sh"
cat >"$D/good/test_good.sh" <<'S'
echo "pass fine" >>"$RESULT_FILE"
echo "ok   fine"
S
cat >"$D/bad/test_good.sh" <<'S'
echo "pass fine" >>"$RESULT_FILE"
S
cat >"$D/bad/test_exit1.sh" <<'S'
echo "pass one check" >>"$RESULT_FILE"
exit 1
S
cat >"$D/bad/test_hang.sh" <<'S'
echo "pass one check" >>"$RESULT_FILE"
sleep 60
S
cat >"$D/bad/test_segv.sh" <<'S'
echo "pass one check" >>"$RESULT_FILE"
kill -SEGV $$
S
cat >"$D/bad/test_nocheck.sh" <<'S'
exit 0
S
# otad runs, then cannot start again after a crash: lib.sh's otad_start
# must record a failed check even though the script goes on and exits 0.
cat >"$D/bad/test_norestart.sh" <<S
. "$here/lib.sh"
otad_setup
otad_start || exit 1
pass "first start"
otad_kill9
OTAD_HTTPS_PORT=99999 otad_start
otad_start
otad_stop
exit 0
S
# A sanitizer report of a process the script ran, found only at exit.
cat >"$D/ub.c" <<'C'
#include <limits.h>
int main(int argc, char **argv) { int x = INT_MAX; (void)argv; x += argc; return x == 0; }
C
if ! cc -fsanitize=undefined -o "$D/ub" "$D/ub.c"; then
	no "cannot build the UBSan probe"; exit 1
fi
cat >"$D/bad/test_sanitizer.sh" <<S
. "$here/lib.sh"
pass "a check"
"$D/ub" || true
exit 0
S

SCRIPT_TIMEOUT_SEC=3 INTEGRATION_ONLY=1 INTEGRATION_DIR="$D/good" \
    STORES=sqlite sh "$here/run.sh" >"$D/good.out" 2>&1
rc=$?
if [ $rc -eq 0 ] && tail -n 1 "$D/good.out" | grep -qx '1 passed, 0 failed'
then ok "a good run passes"; else no "a good run: rc $rc"; cat "$D/good.out"; fi

# The limit is test_hang's; the scripts that start otad (ASan, on a
# loaded machine) must end well within it.
SCRIPT_TIMEOUT_SEC=10 INTEGRATION_ONLY=1 INTEGRATION_DIR="$D/bad" \
    STORES=sqlite sh "$here/run.sh" >"$D/bad.out" 2>&1
rc=$?
[ $rc -ne 0 ] && ok "a bad run fails (rc $rc)" || no "a bad run passed"
line=$(grep '^failing:' "$D/bad.out")
for want in 'test_exit1.sh(exit 1)' 'test_hang.sh(timed out after 10 s)' \
    'test_segv.sh(killed by signal 11)' 'test_nocheck.sh(no check ran)' \
    'test_norestart.sh' 'test_sanitizer.sh(exit 1)'; do
	case "$line" in
	*"$want"*) ok "names $want" ;;
	*) no "does not name $want in '$line'" ;;
	esac
done
case "$line" in *test_good*) no "names the good script" ;; *) ok "spares the good script" ;; esac
grep -q 'FAIL otad starts (it exited)' "$D/bad.out" &&
    ok "a failed restart is a failed check" || no "no failed check for the restart"
[ $bad -eq 0 ] || { echo "--- runner output:"; cat "$D/bad.out"; }

# Both stores: each script runs again on a PostgreSQL cluster of the
# runner's own, named "pg:", and the cluster is gone afterwards.
SCRIPT_TIMEOUT_SEC=30 INTEGRATION_ONLY=1 INTEGRATION_DIR="$D/good" \
    STORES=both sh "$here/run.sh" >"$D/both.out" 2>&1
rc=$?
pgdir=$(sed -n 's/^pg_start: .* in \(.*\)$/\1/p' "$D/both.out")
if [ $rc -eq 0 ] && tail -n 1 "$D/both.out" | grep -qx '2 passed, 0 failed' &&
    grep -q '^\[pg:test_good\] ' "$D/both.out"
then ok "a good run passes on both stores"
else no "a good run on both stores: rc $rc"; cat "$D/both.out"; fi
if [ -n "$pgdir" ] && [ ! -e "$pgdir" ]; then ok "the cluster is removed"
else no "the cluster '$pgdir' is left behind"; fi

# A cluster that cannot start fails the run and says so.
SCRIPT_TIMEOUT_SEC=30 INTEGRATION_ONLY=1 INTEGRATION_DIR="$D/good" \
    STORES=pg PG_BINDIR="$D/nopg" sh "$here/run.sh" >"$D/nopg.out" 2>&1
rc=$?
if [ $rc -ne 0 ] && grep -q '^failing:.*pg:cluster(did not start)' "$D/nopg.out"
then ok "a cluster that does not start fails the run"
else no "no PostgreSQL: rc $rc"; cat "$D/nopg.out"; fi
exit $bad
