#!/bin/sh
# Debian's SWUpdate (2022.12, package swupdate) in suricatta mode, its
# hawkBit DDI client, unchanged, against the real otad over HTTPS: a
# signed .swu released through otad's normal flow (otactl describe/sign,
# upload, rollout) is polled, downloaded, verified and installed by a
# harmless handler into the temp dir, and its feedback becomes completed
# telemetry; an internally corrupt .swu (its sw-description's sha256 does
# not match the file inside, everything else valid and signed) ends as
# failed and pauses its rollout (min_reports 1); an aborted rollout's
# cancelAction is acknowledged.
#
# What SWUpdate 2022.12 needs and does (read in its source, watched on the
# wire against a fake server):
# - Command line: TMPDIR=DIR swupdate -v -f CFG -k SIGNER.crt -H board:revA
#   -u "-e" (first start), -u "-c 2" after the "reboot" (see below).  Runs
#   unprivileged: Debian builds no fixed IPC socket path, so its sockets
#   (sockinstctrl, swupdateprog) and temp files go to $TMPDIR; the default
#   bootloader "none" keeps its environment in RAM (nothing on disk).
# - CFG: suricatta { tenant; id (the otad device id); url (scheme, host and
#   port only); targettoken (kept out of the command line); cafile (otad's
#   certificate: libcurl verifies the server, no nocheckcert); polldelay
#   (the server's config.polling.sleep overrides it); retry; retrywait;
#   connection-timeout } and identify ({ name; value; } pairs: sent as
#   configData, here hw_revision and sw_version).  configData goes out on
#   the first loop of every start whatever the links say, with
#   Expect: 100-continue.
# - Signed images are compulsory (CMS; without -k it refuses to start):
#   sw-description.sig is `openssl cms -sign -binary -nosmimecap -outform
#   DER` of sw-description, and -k names the signer's certificate (or its
#   CA).  A self-signed EC P-256 certificate without extended key usage
#   passes the default cert-purpose check.
# - A .swu is `cpio -H crc` of sw-description, sw-description.sig, then the
#   files, each with its sha256 in sw-description; a "files" entry with a
#   "path" is written there by the rawfile handler.  Only artifacts named
#   *.swu are installed.
# - After installing it reports proceeding "All Chunks Installed." and
#   keeps state "installed" (ignoring the action at each poll) until it is
#   restarted, as after a reboot: with -u "-c 2" it polls, reads the
#   deploymentBase again and sends closed/success "Update Installed.".
#   With -m (no state marker) it would install the same action at every
#   poll instead.
# - A sha256 mismatch inside the .swu stops the install ("HASH mismatch",
#   "Image invalid or corrupted. Not installing") and it reports
#   closed/failure "No suitable .swu image found".  But the first install
#   of a process may be reported as "All Chunks Installed." whatever its
#   outcome, and even before the installer is done: suricatta's
#   ipc_wait_for_complete can end on a stale "idle" notification queued
#   at startup.  After a failure it then installs again at the next poll
#   and reports closed/failure the second time.  The server's sha1 is
#   checked only after the whole artifact went through the installer, so
#   a wrong sha1 also ends closed/failure, but with the files written.
# - A deployment of several chunks (a bundle) is installed chunk by chunk,
#   each artifact a .swu of its own, with proceeding "Installed Chunk."
#   (progress cnt of chunks) after each; a failing chunk ends it with
#   closed/failure whose progress says how many went in.  The early end of
#   the wait above can shift the installer's answers by one chunk: the
#   failure of the last is then taken for its success, all chunks are
#   "installed", and SWUpdate waits for a restart to report (-c 3 after
#   the device's own check says failed).
# - A cancelAction link wins over a deployment: it GETs the href, then
#   POSTs {href}/feedback {"id":<stopId>,"status":{"execution":"closed",
#   "result":{"finished":"success"},"details":["cancellation
#   acknowledged."]}} (and again at each poll while the link stays).
. "$(dirname "$0")/../lib.sh"

if ! command -v swupdate >/dev/null 2>&1 || ! command -v cpio >/dev/null 2>&1; then
	fail "swupdate and cpio are installed (tools/install-deps.sh test)"
	finish
	exit 1
fi

otad_setup
# Short polling sleeps: the client waits this long between loops.
export OTAD_DDI_SLEEP_SEC=2
export OTAD_DDI_ACTION_SLEEP_SEC=1
otad_start || exit 1
ADMIN=$(token admin ops)
REL=$(token release ci)
VIEW=$(token viewer dash)

# ---- helpers ----------------------------------------------------------

# same_file A B: "same" when the files have the same bytes.
same_file() { cmp -s "$1" "$2" && echo same; }

# action DEVICE: "ID STATUS RESULT" of the device's newest DDI action.
action() {
	api GET "/api/v1/devices/$1/actions" "$VIEW"
	jqb '.actions | max_by(.id) // {} | "\(.id) \(.status) \(.result)"'
}

# action_status DEVICE: the status of its newest action ("null": none).
action_status() { action "$1" | cut -d' ' -f2; }

# feedback_has DEVICE ACTION TEXT: 1 when one of the action's feedback
# details contains TEXT, else 0.
feedback_has() {
	api GET "/api/v1/devices/$1/actions/$2/feedback" "$VIEW"
	jq -r --arg t "$3" '[.feedback[]? | select((.details // "") |
	    contains($t))] | if length > 0 then 1 else 0 end' "$T/body"
}

# last_event DEVICE: "STATE TRANSPORT ROLLOUT VERSION" of its newest event.
last_event() {
	api GET "/api/v1/devices/$1/events" "$VIEW"
	jqb '.events[0] // {} | "\(.state) \(.transport) \(.rollout) \(.version)"'
}

# rollout_state ID
rollout_state() {
	api GET "/api/v1/rollouts/$1" "$VIEW"
	jqb .state
}

# ddi_poll DEVICE TOKEN: the DDI poll, as the device (body in $T/body).
ddi_poll() {
	api GET "/DEFAULT/controller/v1/$1" "" \
	    -H "Authorization: TargetToken $2"
}

# make_swu OUT VERSION DEST [corrupt]: a signed .swu whose one file
# (payload.bin, 64 KiB random, kept as OUT.payload) the rawfile handler
# writes to DEST.  corrupt: the archive carries other bytes (same size)
# than those whose sha256 sw-description states.
make_swu() {
	d="$OUT_DIR/$(basename "$1").d"
	mkdir -p "$d" || return 1
	head -c 65536 /dev/urandom >"$1.payload"
	sha=$(sha256sum "$1.payload" | cut -d' ' -f1)
	cat >"$d/sw-description" <<EOF
software =
{
	version = "$2";
	hardware-compatibility = [ "revA" ];
	files: (
		{
			filename = "payload.bin";
			path = "$3";
			sha256 = "$sha";
		}
	);
}
EOF
	if [ "${4:-}" = corrupt ]; then
		head -c 65536 /dev/urandom >"$d/payload.bin"
	else
		cp "$1.payload" "$d/payload.bin"
	fi
	openssl cms -sign -in "$d/sw-description" -out "$d/sw-description.sig" \
	    -signer "$T/swu-signer.crt" -inkey "$T/swu-signer.key" \
	    -outform DER -nosmimecap -binary &&
	    (cd "$d" && printf '%s\n' sw-description sw-description.sig \
	    payload.bin | cpio -o -H crc 2>/dev/null) >"$1"
}

# swu_conf DEVICE VERSION [IDENTIFY]: the device's SWUpdate configuration
# (its token inside, not on a command line), installed version VERSION,
# and more identify entries (a bundle's components: "<name>.version").
swu_conf() {
	dir="$T/dev/$1"
	mkdir -p "$dir/tmp" "$dir/out" || return 1
	(umask 077 && cat >"$dir/swupdate.cfg") <<EOF
globals :
{
	verbose = true;
	loglevel = 6;
};
suricatta :
{
	tenant = "DEFAULT";
	id = "$1";
	url = "$BASE";
	targettoken = "$(tok_of "$1")";
	cafile = "$DATA/tls/cert.pem";
	polldelay = 1;
	retry = 2;
	retrywait = 1;
	connection-timeout = 5;
};
identify : (
	{ name = "hw_revision"; value = "revA"; },
	{ name = "sw_version"; value = "$2"; }${3:+,
	$3}
);
EOF
}

# swu_start DEVICE SURICATTA-ARGS: starts SWUpdate for DEVICE (at most
# 60 s), its output appended to $T/dev/DEVICE/swupdate.log.
SWU_PID=""
swu_start() {
	dir="$T/dev/$1"
	echo "---- swupdate -u \"$2\"" >>"$dir/swupdate.log"
	TMPDIR="$dir/tmp" timeout 60 swupdate -v -f "$dir/swupdate.cfg" \
	    -k "$T/swu-signer.crt" -H board:revA -u "$2" \
	    >>"$dir/swupdate.log" 2>&1 &
	SWU_PID=$!
}

# swu_gone TENTHS: waits (TENTHS tenths of a second at most) until none
# of SWUpdate's processes is left; 0 when none is.
# ([s]: the pattern must not match the shell that runs pgrep.)
swu_gone() {
	i=0
	while pgrep -f "[s]wupdate -v -f $T/" >/dev/null; do
		[ $i -lt "$1" ] || return 1
		sleep 0.1
		i=$((i + 1))
	done
	return 0
}

# swu_stop: stops it (timeout passes SIGTERM on to SWUpdate, which stops
# its own processes), then waits (5 s at most, then SIGKILL) until none of
# SWUpdate's processes is left: its main process may end before the ones
# it forked (suricatta, the downloader), seen once in a loaded run.
swu_stop() {
	[ -n "$SWU_PID" ] || return 0
	kill -TERM "$SWU_PID" 2>/dev/null
	i=0
	while kill -0 "$SWU_PID" 2>/dev/null && [ $i -lt 50 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	kill -KILL "$SWU_PID" 2>/dev/null
	wait "$SWU_PID" 2>/dev/null
	SWU_PID=""
	swu_gone 50 && return 0
	echo "note: SWUpdate's processes outlived SIGTERM by 5 s: killed"
	pkill -KILL -f "[s]wupdate -v -f $T/" 2>/dev/null
	swu_gone 20
	return 0
}
EXTRA_CLEANUP=swu_stop

# swu_state DEVICE: "closed" once its newest action is; "pending" when
# SWUpdate took a failed install for a success (the early end of its wait,
# see the top) and waits for a restart; else the action's status.
swu_state() {
	st=$(action_status "$1")
	if [ "$st" != closed ] &&
	    grep -q 'pending testing' "$T/dev/$1/swupdate.log"; then
		st=pending
	fi
	echo "$st"
}

# swu_failed DEVICE: waits (30 s at most) until SWUpdate reported its
# failed install, or took it for a success (swu_state).
swu_failed() {
	i=0
	while [ $i -lt 150 ] && ! swu_state "$1" | grep -qx 'closed\|pending'; do
		sleep 0.2
		i=$((i + 1))
	done
}

# swu_failed_confirm DEVICE: when SWUpdate took the failed install for a
# success, restarts it as after the device's reboot whose check found the
# update missing (-c 3: failed), which reports closed/failure.
swu_failed_confirm() {
	[ "$(swu_state "$1")" = pending ] || return 0
	swu_stop
	swu_start "$1" "-c 3"
}

# section_begin / section_end DEVICE: SWUpdate's output is shown when a
# check between the two failed.
section_begin() { MARK=$(grep -c '^fail' "$RESULT_FILE" 2>/dev/null); }
section_end() {
	swu_stop
	[ "$(grep -c '^fail' "$RESULT_FILE" 2>/dev/null)" = "$MARK" ] && return 0
	echo "---- SWUpdate's output for $1 (last 40 lines):"
	tail -n 40 "$T/dev/$1/swupdate.log"
}

# ---- the signer, two .swu released through otad, devices, rollouts ---------

OUT_DIR="$T/swu"
mkdir -p "$OUT_DIR"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$T/swu-signer.key" -out "$T/swu-signer.crt" -days 1 \
    -subj /CN=otad-test-swu-signer >/dev/null 2>&1
check "SWUpdate signing certificate" test -s "$T/swu-signer.crt"

make_swu "$OUT_DIR/good.swu" 1.2.0 "$T/dev/sw-ok/out/payload.bin"
check "good .swu built (signed sw-description, payload)" test -s "$OUT_DIR/good.swu"
make_swu "$OUT_DIR/bad.swu" 1.2.1 "$T/dev/sw-bad/out/payload.bin" corrupt
check "corrupt .swu built (sha256 in sw-description wrong)" \
    test -s "$OUT_DIR/bad.swu"

release "$OUT_DIR/good.swu" sensor-fw 1.2.0 revA --filename sensor-fw-1.2.0.swu
upload_curl "$REL" "$OUT_DIR/good.swu"
expect_eq "good .swu uploaded (release flow)" 201 "$STATUS"
IMG_OK=$(jqb .id)
expect_eq "its sha1, as SWUpdate will check it" \
    "$(sha1sum "$OUT_DIR/good.swu" | cut -d' ' -f1)" "$(jqb .sha1)"
release "$OUT_DIR/bad.swu" sensor-fw 1.2.1 revA --filename sensor-fw-1.2.1.swu
upload_curl "$REL" "$OUT_DIR/bad.swu"
expect_eq "corrupt .swu uploaded (its signatures and digests are right)" \
    201 "$STATUS"
IMG_BAD=$(jqb .id)

for g in swu-ok swu-bad swu-cancel swu-skip; do
	post_json /api/v1/groups "$ADMIN" "{\"name\":\"$g\"}"
	expect_eq "group $g created" 201 "$STATUS"
done
post_json /api/v1/devices "$ADMIN" '[
  {"id":"sw-ok","hardware":"revA","version":"1.1.0","groups":["swu-ok"]},
  {"id":"sw-bad","hardware":"revA","version":"1.1.0","groups":["swu-bad"]},
  {"id":"sw-cancel","hardware":"revA","version":"1.1.0",
   "groups":["swu-cancel"]},
  {"id":"sw-skip","hardware":"revA","version":"1.1.0",
   "groups":["swu-skip"]}]'
expect_eq "4 devices provisioned" 201 "$STATUS"
cp "$T/body" "$T/devices.json"

# start_rollout IMAGE GROUP [EXTRA JSON]: created and started; prints its id.
start_rollout() {
	post_json /api/v1/rollouts "$REL" \
	    "{\"image\":$1,\"groups\":[\"$2\"],\"stages\":[100]${3:+,$3}}"
	[ "$STATUS" = 201 ] || { echo "rollout create: $STATUS $(body)" >&2; return 1; }
	rid=$(jqb .id)
	api POST "/api/v1/rollouts/$rid/start" "$REL"
	[ "$STATUS" = 200 ] || { echo "rollout start: $STATUS $(body)" >&2; return 1; }
	echo "$rid"
}
R_OK=$(start_rollout "$IMG_OK" swu-ok)
check "rollout of the good .swu running" test -n "$R_OK"
R_BAD=$(start_rollout "$IMG_BAD" swu-bad \
    '"failure_threshold":0.5,"min_reports":1')
check "rollout of the corrupt .swu running (min_reports 1)" test -n "$R_BAD"
R_CAN=$(start_rollout "$IMG_OK" swu-cancel)
check "rollout to be aborted running" test -n "$R_CAN"

# ---- (a) download, verify, install; success after the "reboot" --------------

section_begin
swu_conf sw-ok 1.1.0
swu_start sw-ok "-e"
wait_for "sw-ok: SWUpdate took the deployment (action running)" running 20 \
    action_status sw-ok
A_OK=$(action sw-ok | cut -d' ' -f1)
wait_for "sw-ok: feedback 'All Chunks Installed.' (verified, installed)" 1 20 \
    feedback_has sw-ok "$A_OK" "All Chunks Installed."
# (It may say so a moment before the installer is done: see above.)
wait_for "the rawfile handler wrote the payload, byte for byte" same 10 \
    same_file "$T/dev/sw-ok/out/payload.bin" "$OUT_DIR/good.swu.payload"
check "SWUpdate verified the CMS signature of sw-description" \
    grep -q 'Verified signature 0 in signer sequence' \
    "$T/dev/sw-ok/swupdate.log"
api GET /api/v1/devices/sw-ok "$VIEW"
expect_eq "configData: attributes from SWUpdate's identify section" \
    "revA 1.1.0" "$(jqb '"\(.attributes.hw_revision) \(.attributes.sw_version)"')"
api GET "/api/v1/devices/sw-ok/events" "$VIEW"
expect_eq "feedback 'proceeding' became a started event, transport ddi" \
    "started ddi $R_OK 1.2.0" \
    "$(jqb "[.events[] | select(.state == \"started\")][0] // {} |
    \"\(.state) \(.transport) \(.rollout) \(.version)\"")"
expect_eq "no closed feedback before the reboot: still running" running \
    "$(action_status sw-ok)"

# The reboot: the new firmware reports its version; -c 2 confirms success.
swu_stop
swu_conf sw-ok 1.2.0
swu_start sw-ok "-c 2"
wait_for "sw-ok: closed/success after the reboot" "$A_OK closed success" 20 \
    action sw-ok
wait_for "telemetry: completed, transport ddi, rollout, version" \
    "completed ddi $R_OK 1.2.0" 10 last_event sw-ok
check "sw-ok: feedback 'Update Installed.'" \
    test "$(feedback_has sw-ok "$A_OK" "Update Installed.")" = 1
api GET /api/v1/devices/sw-ok "$VIEW"
expect_eq "the device now runs 1.2.0" 1.2.0 "$(jqb .version)"
# SWUpdate sends {"cnt":0,"of":0} with its log lines (and with its final
# report), before it knows any size: no progress, so nothing claims 100%
# before its "Installed Chunk." (cnt 1 of 1).  An event may have no detail
# (feedback whose details are empty, on a loaded machine among the first).
api GET "/api/v1/devices/sw-ok/events" "$VIEW"
expect_eq "no event claims 100% before the chunk is installed (0 of 0)" 0 \
    "$(jqb '(.events | reverse) as $e
    | ($e | map(.detail // "" | startswith("Installed Chunk")) | index(true)) as $i
    | [$e[0:$i][] | select(.progress == 100)] | length')"
api GET "/api/v1/rollouts/$R_OK/health" "$VIEW"
expect_eq "health counts it: 1 completed, 0 failed" "1 0" \
    "$(jqb '.total | "\(.completed) \(.failed)"')"
ddi_poll sw-ok "$(tok_of sw-ok)"
expect_eq "after closed: the poll offers no deployment any more" "200 null" \
    "$STATUS $(jqb '._links.deploymentBase')"
section_end sw-ok

# ---- (b) a corrupt .swu: failed, the rollout pauses itself ------------------

section_begin
swu_conf sw-bad 1.1.0
swu_start sw-bad "-e"
swu_failed sw-bad
swu_failed_confirm sw-bad
wait_for "sw-bad: closed/failure" closed 30 action_status sw-bad
A_BAD=$(action sw-bad | cut -d' ' -f1)
expect_eq "sw-bad: the action's result" "$A_BAD closed failure" \
    "$(action sw-bad)"
check "SWUpdate found the sha256 mismatch" \
    grep -q 'HASH mismatch' "$T/dev/sw-bad/swupdate.log"
check "nothing was installed" test ! -e "$T/dev/sw-bad/out/payload.bin"
wait_for "telemetry: failed, transport ddi" "failed ddi $R_BAD 1.2.1" 10 \
    last_event sw-bad
api GET "/api/v1/devices/sw-bad/events" "$VIEW"
check "the failed event keeps SWUpdate's details" \
    test -n "$(jqb '.events[0].detail // empty')"
wait_for "1 failure of 1 (min_reports 1): the rollout paused itself" paused \
    10 rollout_state "$R_BAD"
api GET "/api/v1/rollouts/$R_BAD/health" "$VIEW"
expect_eq "health: 0 completed, 1 failed, breached" "0 1 true" \
    "$(jqb '"\(.total.completed) \(.total.failed) \(.breached)"')"
section_end sw-bad

# ---- (c) an aborted rollout: cancelAction acknowledged ----------------------

section_begin
TOK_CAN=$(tok_of sw-cancel)
ddi_poll sw-cancel "$TOK_CAN"
expect_eq "sw-cancel polls (curl): a deployment is offered" "200 true" \
    "$STATUS $(jqb '._links.deploymentBase.href != null')"
A_CAN=$(action sw-cancel | cut -d' ' -f1)
expect_eq "sw-cancel: its action is open" "$A_CAN open" \
    "$(action sw-cancel | cut -d' ' -f1,2)"
api POST "/api/v1/rollouts/$R_CAN/abort" "$REL"
expect_eq "rollout aborted" 200 "$STATUS"
swu_conf sw-cancel 1.1.0
swu_start sw-cancel "-e"
wait_for "sw-cancel: SWUpdate acknowledged the cancelAction (canceled)" \
    "$A_CAN canceled null" 20 action sw-cancel
check "the acknowledgement is cancel feedback" test "$(feedback_has \
    sw-cancel "$A_CAN" "cancellation acknowledged.")" = 1
api GET "/api/v1/devices/sw-cancel/actions/$A_CAN/feedback" "$VIEW"
expect_eq "only cancel feedback: SWUpdate never started the deployment" cancel \
    "$(jqb '[.feedback[].kind] | unique | join(",")')"
ddi_poll sw-cancel "$TOK_CAN"
expect_eq "afterwards the poll has no action link" "200 null null" \
    "$STATUS $(jqb '"\(._links.cancelAction) \(._links.deploymentBase)"')"
section_end sw-cancel

# ---- (d) download-only: update "skip" ---------------------------------------

# SWUpdate does not download a deployment whose "update" is "skip" (nor
# read maintenanceWindow): it answers closed/success "Skipped Update.",
# again at every poll, and then runs its post-update step as after an
# install: seen once (the IPC race above) to keep state "installed" and
# ignore every action ("pending testing") until restarted.  otad takes
# the answer for what it is, no install: the action stays open.  A
# SWUpdate fleet wants outside_window silent and forced or soft rollouts,
# never download-only (docs/ddi.md).
section_begin
R_SKIP=$(start_rollout "$IMG_OK" swu-skip '"action_type":"download-only"')
check "a download-only rollout running" test -n "$R_SKIP"
swu_conf sw-skip 1.1.0
swu_start sw-skip "-e"
check "sw-skip: SWUpdate reported 'Skipped Update.', not an install" \
    log_wait "DDI closed+success on a skipped deployment: not an install\" device=sw-skip " 1 200
A_SKIP=$(action sw-skip | cut -d' ' -f1)
expect_eq "sw-skip: the action stays open, nothing installed" \
    "$A_SKIP open null no" \
    "$(action sw-skip) $(test -e "$T/dev/sw-skip/out/payload.bin" && echo yes || echo no)"
api GET "/api/v1/rollouts/$R_SKIP/health" "$VIEW"
expect_eq "health: nothing completed" "0 0" \
    "$(jqb '.total | "\(.completed) \(.failed)"')"
section_end sw-skip
# ---- (e) a bundle: one deployment, one chunk per part, in install order ------
# A dual-MCU device (components ncp and mcu) targeted by a bundle rollout
# gets one deployment of two chunks (part = component); SWUpdate installs
# both .swu, and its closed/success completes every part.  A second bundle
# whose second chunk is corrupt fails the whole action.

section_begin
PARTS="$T/swu-parts"
mkdir -p "$PARTS"
make_swu "$OUT_DIR/ncp.swu" 1.2.0 "$PARTS/ncp.bin"
make_swu "$OUT_DIR/mcu.swu" 1.2.0 "$PARTS/mcu.bin"
make_swu "$OUT_DIR/mcu-bad.swu" 1.2.1 "$PARTS/mcu-bad.bin" corrupt
for p in ncp:1.2.0:ncp mcu:1.2.0:mcu mcu:1.2.1:mcu-bad; do
	c=${p%%:*} f=${p##*:} v=${p#*:}
	v=${v%%:*}
	release "$OUT_DIR/$f.swu" "$c-fw" "$v" "$c-r1" --filename "$c-fw-$v.swu"
	upload_curl "$REL" "$OUT_DIR/$f.swu"
	expect_eq "part image $c-fw $v uploaded" 201 "$STATUS"
done
sha() { sha256sum "$1" | cut -d' ' -f1; }
# bundle_up FILE VERSION MCU-SWU: signed and uploaded; prints its id.
bundle_up() {
	printf '{"name":"dual","version":"%s","parts":[{"component":"mcu","sha256":"%s","order":2},{"component":"ncp","sha256":"%s","order":1}]}' \
	    "$2" "$(sha "$3")" "$(sha "$OUT_DIR/ncp.swu")" >"$1"
	"$OTACTL_BIN" sign --key "$T/keys/release.key" --out "$1.sig" "$1" >/dev/null
	post_json /api/v1/bundles "$REL" "$(jq -n --rawfile d "$1" \
	    --arg s "$(base64 -w0 "$1.sig")" \
	    '{descriptor: $d, signatures: [{keyid: "release", sig: $s}]}')"
	jqb .id
}
B_OK=$(bundle_up "$T/dual.json" 2.0.0 "$OUT_DIR/mcu.swu")
B_BAD=$(bundle_up "$T/dual-bad.json" 2.0.1 "$OUT_DIR/mcu-bad.swu")
check "two bundles uploaded" test -n "$B_OK" -a -n "$B_BAD" -a "$B_OK" != "$B_BAD"
for g in swu-dual swu-dual-bad; do post_json /api/v1/groups "$ADMIN" "{\"name\":\"$g\"}"; done
post_json /api/v1/devices "$ADMIN" "[$(for d in dual dual-bad; do
	[ $d = dual ] || printf ,
	printf '{"id":"sw-%s","hardware":"revA","version":"1.1.0","groups":["swu-%s"],"components":[{"name":"ncp","hardware":"ncp-r1","version":"1.0.0"},{"name":"mcu","hardware":"mcu-r1","version":"1.0.0"}]}' $d $d
done)]"
expect_eq "two dual-MCU devices provisioned" 201 "$STATUS"
jq -s '{devices: (.[0].devices + .[1].devices)}' "$T/devices.json" "$T/body" >"$T/d2.json" &&
    mv "$T/d2.json" "$T/devices.json"
# start_bundle BUNDLE GROUP [EXTRA]: created and started; prints its id.
start_bundle() {
	post_json /api/v1/rollouts "$REL" \
	    "{\"bundle\":$1,\"groups\":[\"$2\"],\"stages\":[100]${3:+,$3}}"
	rid=$(jqb .id)
	api POST "/api/v1/rollouts/$rid/start" "$REL"
	[ "$STATUS" = 200 ] && echo "$rid"
}
R_DUAL=$(start_bundle "$B_OK" swu-dual)
R_DBAD=$(start_bundle "$B_BAD" swu-dual-bad '"failure_threshold":0.5,"min_reports":1')
check "bundle rollouts running" test -n "$R_DUAL" -a -n "$R_DBAD"
ddi_poll sw-dual "$(tok_of sw-dual)"
DEP=$(jqb '._links.deploymentBase.href')
check "sw-dual polls (curl): a deployment" test "$DEP" != null
api GET "${DEP#"$BASE"}" "" -H "Authorization: TargetToken $(tok_of sw-dual)"
expect_eq "one deployment, one chunk per part in install order (part = component)" \
    "ncp:ncp-fw:1.2.0:ncp-fw-1.2.0.swu:$(sha "$OUT_DIR/ncp.swu") mcu:mcu-fw:1.2.0:mcu-fw-1.2.0.swu:$(sha "$OUT_DIR/mcu.swu")" \
    "$(jqb '[.deployment.chunks[] | "\(.part):\(.name):\(.version):\(.artifacts[0].filename):\(.artifacts[0].hashes.sha256)"] | join(" ")')"
A_DUAL=$(action sw-dual | cut -d' ' -f1)
api GET /api/v1/devices/sw-dual/actions "$VIEW"
expect_eq "the action keeps the parts it deploys" '["ncp","mcu"]' \
    "$(jqb '.actions | max_by(.id) | .parts | tojson')"
swu_conf sw-dual 1.1.0
swu_start sw-dual "-e"
wait_for "sw-dual: SWUpdate installed both chunks" 1 30 \
    feedback_has sw-dual "$A_DUAL" "All Chunks Installed."
wait_for "chunk 1 (ncp) written byte for byte" same 10 \
    same_file "$PARTS/ncp.bin" "$OUT_DIR/ncp.swu.payload"
wait_for "chunk 2 (mcu) written byte for byte" same 10 \
    same_file "$PARTS/mcu.bin" "$OUT_DIR/mcu.swu.payload"
swu_stop
swu_conf sw-dual 1.1.0 '{ name = "ncp.version"; value = "1.2.0"; },
	{ name = "mcu.version"; value = "1.2.0"; }'
swu_start sw-dual "-c 2"
wait_for "sw-dual: the action closed with success" "$A_DUAL closed success" 20 \
    action sw-dual
wait_for "the device's status in the bundle rollout: completed" completed 10 \
    sql "SELECT status FROM device_updates WHERE rollout_id = $R_DUAL AND device_id = 'sw-dual'"
api GET /api/v1/devices/sw-dual/events "$VIEW"
expect_eq "one completed event per part, transport ddi" "mcu:1.2.0 ncp:1.2.0" \
    "$(jqb '[.events[] | select(.state == "completed" and .transport == "ddi") | "\(.component):\(.version)"] | sort | join(" ")')"
api GET /api/v1/devices/sw-dual "$VIEW"
expect_eq "the components run the parts' versions; the device's own version stays" \
    "mcu=1.2.0 ncp=1.2.0 1.1.0" \
    "$(jqb '([.components[] | "\(.name)=\(.version)"] | join(" ")) + " " + .version')"
ddi_poll sw-dual "$(tok_of sw-dual)"
expect_eq "after closed: no deployment any more" "200 null" \
    "$STATUS $(jqb '._links.deploymentBase')"
section_end sw-dual

section_begin
swu_conf sw-dual-bad 1.1.0
swu_start sw-dual-bad "-e"
swu_failed sw-dual-bad
check "SWUpdate found the sha256 mismatch of the second chunk" \
    grep -q 'HASH mismatch' "$T/dev/sw-dual-bad/swupdate.log"
check "the corrupt chunk installed nothing" test ! -e "$PARTS/mcu-bad.bin"
swu_failed_confirm sw-dual-bad
wait_for "sw-dual-bad: a corrupt second chunk fails the whole action" closed 30 \
    action_status sw-dual-bad
A_DBAD=$(action sw-dual-bad | cut -d' ' -f1)
expect_eq "sw-dual-bad: closed with failure" "$A_DBAD closed failure" "$(action sw-dual-bad)"
wait_for "the device's status in the bundle rollout: failed" failed 10 \
    sql "SELECT status FROM device_updates WHERE rollout_id = $R_DBAD AND device_id = 'sw-dual-bad'"
# The failure names the chunk that failed when the feedback says how many
# went in (SWUpdate's own report: 1 of 2, the second), else the first part.
api GET "/api/v1/devices/sw-dual-bad/actions/$A_DBAD/feedback" "$VIEW"
FAILED_PART=ncp
[ "$(jqb '[.feedback[] | select(.finished == "failure")][0].progress | tojson')" = \
    '{"cnt":1,"of":2}' ] && FAILED_PART=mcu
expect_eq "the failure names its part, result 8" "$FAILED_PART 8" \
    "$(sql "SELECT component || ' ' || result FROM device_updates
    WHERE rollout_id = $R_DBAD AND device_id = 'sw-dual-bad'")"
api GET "/api/v1/rollouts/$R_DBAD/health" "$VIEW"
expect_eq "health: one failed device, by component" \
    "1 {\"$FAILED_PART\":{\"failed\":1,\"reverted\":0}}" \
    "$(jqb '"\(.total.failed) \(.failures_by_component | tojson)"')"
wait_for "1 failure of 1 (min_reports 1): the bundle rollout paused itself" \
    paused 10 rollout_state "$R_DBAD"
section_end sw-dual-bad

check "no SWUpdate process left" swu_gone 0
otad_stop
expect_eq "otad exits 0 on SIGTERM" 0 $?
# After the stop: leaks are reported at exit.
check "no sanitizer report in otad's log" sanitizer_clean
finish
