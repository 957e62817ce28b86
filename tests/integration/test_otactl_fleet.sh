#!/bin/sh
# otactl driving a real otad over HTTPS, as an operator would: devices
# import from CSV (quoted fields, groups, labels, batches, bad rows found
# before anything is sent, a failure mid-way reported batch by batch, the
# tokens file), listings, group membership from a file, device and gateway
# tokens, and every rollout transition.  The server's state is checked
# through the API with curl, not through otactl itself.
. "$(dirname "$0")/../lib.sh"

otad_setup
otad_start || exit 1
ADMIN=$(token admin ops)
REL=$(token release ci)
VIEW=$(token viewer dash)
export OTACTL_SERVER="$BASE" OTACTL_CACERT="$DATA/tls/cert.pem"
unset OTACTL_TOKEN

# ctl TOKEN ARGS...: runs otactl with TOKEN (in its environment, never
# on its command line); stdout in $T/out, stderr in $T/err; sets RC.
ctl() {
	tok=$1
	shift
	OTACTL_TOKEN=$tok "$OTACTL_BIN" "$@" >"$T/out" 2>"$T/err"
	RC=$?
}
err_has() { grep -qF -- "$1" "$T/err"; }
out_has() { grep -qF -- "$1" "$T/out"; }

# device_count [QUERY]: devices otad lists (one page of up to 1000).
device_count() {
	api GET "/api/v1/devices?limit=1000${1:+&$1}" "$VIEW"
	jqb '.devices | length'
}
# group_members NAME: otad's member count of a group.
group_members() {
	api GET "/api/v1/groups/$1" "$VIEW"
	jqb .devices
}

# Help and version: the whole usage, one command's, a subcommand's from
# its --help, and a command otactl does not have.
ctl "" --version
expect_eq "otactl --version: otad's version" \
    "otactl $("$OTAD_BIN" --version | cut -d' ' -f2) 0" "$(cat "$T/out") $RC"
ctl "" help
check "otactl help: every command" test "$RC" -eq 0 -a \
    "$(grep -cE '^  (keygen|upload|devices list|rollouts create|token create)' "$T/out")" -eq 5
ctl "" help rollouts
check "otactl help rollouts: its subcommands only" test "$RC" -eq 0 -a \
    "$(grep -c '^  rollouts ' "$T/out")" -eq 6 -a \
    "$(grep -c '^  devices ' "$T/out")" -eq 0
ctl "" devices list --help
check "devices list --help: that subcommand only" test "$RC" -eq 0 -a \
    "$(grep -c '^  [a-z]' "$T/out")" -eq 1 -a \
    "$(grep -c '^  devices list ' "$T/out")" -eq 1
ctl "" devices revoke-token --help
check "devices revoke-token --help: its line" out_has "revoke-token ID"
ctl "" help frobnicate
check "otactl help frobnicate: usage error" test "$RC" -eq 2
check "otactl help frobnicate: says so" err_has "help: no command 'frobnicate'"
ctl "" devices
check "otactl devices: points at its help" err_has "(otactl help devices for usage)"

ctl "$ADMIN" groups create eu --description "EU fleet"
expect_eq "groups create: exit 0" 0 "$RC"
ctl "$ADMIN" groups create beta
ctl "$ADMIN" groups list
expect_eq "groups list: a table of both groups" "NAME beta eu" \
    "$(awk '{print $1}' "$T/out" | tr '\n' ' ' | sed 's/ $//')"
ctl "$ADMIN" groups create eu
expect_eq "groups create taken name: exit 1" 1 "$RC"
check "groups create taken name: server's reason (409)" err_has "HTTP 409"

# --- devices import -----------------------------------------------------
# 300 devices: quoted ids, labels with commas and doubled quotes, CRLF
# lines, blank lines, groups eu (i%3 != 2) and beta (i%3 == 0).
awk 'BEGIN {
	printf "\357\273\277id,hardware,version,groups,labels\r\n"
	for (i = 1; i <= 300; i++) {
		id = sprintf("dev-%04d", i)
		if (i % 7 == 0) id = "\"" id "\""
		hw = i % 2 ? "revA" : "revB"
		ver = i % 4 ? "1.0." (i % 4) : ""
		grp = i % 3 == 0 ? "eu;beta" : (i % 3 == 1 ? "eu" : "")
		lab = "\"site=s" i "; note = a, \"\"b\"\"\""
		printf "%s,%s,%s,%s,%s%s", id, hw, ver, grp, lab, i % 2 ? "\n" : "\r\n"
		if (i % 50 == 0) printf "\n"
	}
}' >"$T/fleet.csv"

# The same file with three bad rows: nothing may be sent.  The repeated
# id comes first, so its report must not wait for the others.
awk 'NR == 10 { print "dev-0001,revA,,,"; next }
     NR == 20 { print "dev-9999,revA,1.0,eu,"; next }
     NR == 30 { print "bad id!,revA,1.0.0,,"; next }
     { print }' "$T/fleet.csv" >"$T/bad.csv"
ctl "$ADMIN" devices import "$T/bad.csv" --out "$T/bad-tokens.csv"
expect_eq "bad CSV: exit 1" 1 "$RC"
check "bad CSV: bad id reported with its line" \
    err_has "$T/bad.csv:30: id 'bad id!': want 1..128 of [A-Za-z0-9._:-]"
check "bad CSV: bad version reported with its line" \
    err_has "$T/bad.csv:20: version '1.0': not a SemVer version"
check "bad CSV: repeated id reported with both lines" \
    err_has "$T/bad.csv:10: id 'dev-0001' already on line 2"
expect_eq "bad CSV: reports in line order" "10 20 30" \
    "$(sed -n "s|^$T/bad.csv:\([0-9]*\):.*|\1|p" "$T/err" | tr '\n' ' ' | sed 's/ $//')"
check "bad CSV: summary says nothing was sent" \
    err_has "3 bad rows; nothing sent"
expect_eq "bad CSV: nothing stored" 0 "$(device_count)"
check "bad CSV: no tokens file left" test ! -e "$T/bad-tokens.csv"

ctl "$ADMIN" devices import "$T/fleet.csv" --out "$T/tokens.csv" --batch-size 128
expect_eq "import: exit 0" 0 "$RC"
check "import: summary on stderr" \
    err_has "imported 300 devices in 3 batches; tokens in $T/tokens.csv"
expect_eq "import: nothing on stdout with --out" "" "$(cat "$T/out")"
expect_eq "import: tokens file is 0600" 600 "$(stat -c %a "$T/tokens.csv")"
expect_eq "import: tokens file header" "id,token" "$(head -n 1 "$T/tokens.csv")"
expect_eq "import: one token per device, in file order" \
    "$(seq -f 'dev-%04g' 1 300 | tr '\n' ' ')" \
    "$(tail -n +2 "$T/tokens.csv" | cut -d, -f1 | tr '\n' ' ')"
expect_eq "import: 300 distinct tokens" 300 \
    "$(tail -n +2 "$T/tokens.csv" | cut -d, -f2 | sort -u | grep -c .)"
expect_eq "import: 300 devices stored" 300 "$(device_count)"
expect_eq "import: group eu" 200 "$(device_count group=eu)"
expect_eq "import: group beta" 100 "$(device_count group=beta)"
expect_eq "import: hardware revB" 150 "$(device_count hardware=revB)"
api GET /api/v1/devices/dev-0003 "$VIEW"
expect_eq "import: quoted label with comma and quotes" 'a, "b"' "$(jqb .labels.note)"
expect_eq "import: labels trimmed" s3 "$(jqb .labels.site)"
expect_eq "import: groups" "beta eu" "$(jqb '.groups | sort | join(" ")')"
expect_eq "import: version" 1.0.3 "$(jqb .version)"
api GET /api/v1/devices/dev-0004 "$VIEW"
expect_eq "import: empty version is unknown" null "$(jqb .version)"
api GET /api/v1/devices/dev-0007 "$VIEW"
expect_eq "import: quoted id" dev-0007 "$(jqb .id)"

# The components column: name=hardware[@version] entries.
printf 'id,hardware,components\nmcu-1,board,"ncp=esp32c6@1.2.0; mcu=nrf52840"\nmcu-2,board,\n' >"$T/comp.csv"
ctl "$ADMIN" devices import "$T/comp.csv" --out "$T/comp-tokens.csv"
expect_eq "import components: exit 0" 0 "$RC"
api GET /api/v1/devices/mcu-1 "$VIEW"
expect_eq "import components: stored" "mcu:nrf52840:null ncp:esp32c6:1.2.0" \
    "$(jqb '[.components[] | "\(.name):\(.hardware):\(.version)"] | join(" ")')"
api GET /api/v1/devices/mcu-2 "$VIEW"
expect_eq "import components: empty column, none" "[]" "$(jqb '.components | tojson')"
printf 'id,hardware,components\nmcu-3,board,ncp=x;ncp=y\n' >"$T/comp-bad.csv"
ctl "$ADMIN" devices import "$T/comp-bad.csv" --out "$T/comp-bad-tokens.csv"
check "import components: a name twice refused with its line" \
    err_has "$T/comp-bad.csv:2: components[1].name: 'ncp' named twice"
ctl "$VIEW" devices show mcu-1
check "devices show: components in the CSV form" \
    grep -q '^components: *mcu=nrf52840,ncp=esp32c6@1.2.0$' "$T/out"
api DELETE /api/v1/devices/mcu-1 "$ADMIN"
api DELETE /api/v1/devices/mcu-2 "$ADMIN"

# The tokens file is never overwritten, and that is checked first.
sum=$(sha256sum "$T/tokens.csv")
ctl "$ADMIN" devices import "$T/fleet.csv" --out "$T/tokens.csv"
expect_eq "import over an existing tokens file: exit 1" 1 "$RC"
check "import over an existing tokens file: refused" err_has "refusing to overwrite"
expect_eq "import over an existing tokens file: unchanged" "$sum" "$(sha256sum "$T/tokens.csv")"

# A failure mid-way: 250 new devices, the 150th an id otad already has.
# Batches of 100: the first is stored, the second refused, the third not
# sent, and otactl says so, pointing at the row.
awk 'BEGIN { print "id,hardware"
	for (i = 1; i <= 250; i++)
		printf "%s,revA\n", i == 150 ? "dev-0042" : sprintf("new-%04d", i) }' \
    >"$T/more.csv"
ctl "$ADMIN" devices import "$T/more.csv" --out "$T/more-tokens.csv" --batch-size 100
expect_eq "mid-way failure: exit 1" 1 "$RC"
check "mid-way failure: the row otad refused, by line" err_has "$T/more.csv:151:"
check "mid-way failure: server's reason (409)" err_has "HTTP 409"
check "mid-way failure: batch 2 refused" \
    err_has "batch 2 of 3 (lines 102-201, 100 devices): refused, nothing of it stored"
check "mid-way failure: batch 1 stored" \
    err_has "batch 1 of 3 (lines 2-101, 100 devices): stored"
check "mid-way failure: batch 3 not sent" \
    err_has "batch 3 of 3 (lines 202-251, 50 devices): not sent"
expect_eq "mid-way failure: exactly batch 1 stored" 400 "$(device_count)"
api GET /api/v1/devices/new-0101 "$VIEW"
expect_eq "mid-way failure: batch 2 left nothing" 404 "$STATUS"
expect_eq "mid-way failure: tokens of batch 1 kept" 101 "$(wc -l <"$T/more-tokens.csv")"
expect_eq "mid-way failure: tokens file 0600" 600 "$(stat -c %a "$T/more-tokens.csv")"

# Tokens to stdout when there is no --out.
printf 'id,hardware\nsolo-1,revC\n' >"$T/solo.csv"
ctl "$ADMIN" devices import "$T/solo.csv"
expect_eq "import to stdout: exit 0" 0 "$RC"
expect_eq "import to stdout: id,token CSV" "id,token|solo-1|2" \
    "$(head -n 1 "$T/out")|$(tail -n 1 "$T/out" | cut -d, -f1)|$(wc -l <"$T/out")"

ctl "$VIEW" devices import "$T/solo.csv"
expect_eq "viewer import: exit 1" 1 "$RC"
check "viewer import: server's reason (403)" err_has "HTTP 403"
expect_eq "viewer import: nothing on stdout (no id,token header)" "" \
    "$(cat "$T/out")"
check "viewer import: says nothing was stored" err_has "no batch stored"
# Stored once already: otad refuses the only batch, stdout stays empty.
ctl "$ADMIN" devices import "$T/solo.csv"
expect_eq "import refused by otad: exit 1" 1 "$RC"
check "import refused by otad: server's reason (409)" err_has "HTTP 409"
expect_eq "import refused by otad: nothing on stdout" "" "$(cat "$T/out")"
check "import refused by otad: batch refused" \
    err_has "batch 1 of 1 (line 2, 1 device): refused, nothing of it stored"

# --- devices list / show / tokens / delete -------------------------------
# 800 more (one batch) so that the fleet spans two of otad's pages.
seq -f 'bulk-%05g,revD' 1 800 | sed '1i id,hardware' >"$T/bulk.csv"
ctl "$ADMIN" devices import "$T/bulk.csv" --out "$T/bulk-tokens.csv"
check "bulk import: one batch" err_has "imported 800 devices in 1 batch;"
ctl "$VIEW" devices list --group beta --json
expect_eq "devices list --group --json" 100 "$(jq length "$T/out")"
ctl "$VIEW" devices list
expect_eq "devices list follows next_after over pages (header + 1201 rows)" \
    1202 "$(wc -l <"$T/out")"
expect_eq "devices list: no device twice" 1201 \
    "$(tail -n +2 "$T/out" | awk '{print $1}' | sort -u | wc -l)"
check "devices list: table header" \
    test "$(head -n 1 "$T/out" | tr -s ' ')" = "ID HARDWARE VERSION GROUPS LABELS LAST_SEEN"
ctl "$VIEW" devices list --hardware revB --version 1.0.2 --json
expect_eq "devices list --hardware --version" 75 "$(jq length "$T/out")"
ctl "$VIEW" devices show dev-0003
check "devices show: labels shown" out_has "labels:"
check "devices show: groups shown" grep -q '^groups: *beta,eu$' "$T/out"
ctl "$VIEW" devices show nope-1
expect_eq "devices show unknown: exit 1" 1 "$RC"
check "devices show unknown: server's reason" err_has "HTTP 404"

# The imported tokens are the devices' credentials: each polls its own
# manifest (204: no rollout yet) and not another device's.
MQ="manifest?hardware=revA&version=1.0.0"
api GET "/api/v1/devices/dev-0001/$MQ" "$(grep '^dev-0001,' "$T/tokens.csv" | cut -d, -f2)"
expect_eq "imported token polls its device" 204 "$STATUS"
api GET "/api/v1/devices/dev-0001/$MQ" "$(grep '^dev-0003,' "$T/tokens.csv" | cut -d, -f2)"
expect_eq "imported token refused for another device" 403 "$STATUS"

old=$(grep '^dev-0002,' "$T/tokens.csv" | cut -d, -f2)
ctl "$ADMIN" devices rotate-token dev-0002
expect_eq "rotate-token: exit 0" 0 "$RC"
new=$(cat "$T/out")
check "rotate-token: a new token, alone on stdout" \
    test -n "$new" -a "$new" != "$old" -a "$(wc -l <"$T/out")" -eq 1
check "rotate-token: note on stderr" err_has "shown only this once"
api GET "/api/v1/devices/dev-0002/$MQ" "$old"
expect_eq "rotate-token: the old token is refused" 401 "$STATUS"
api GET "/api/v1/devices/dev-0002/$MQ" "$new"
expect_eq "rotate-token: the new token polls" 204 "$STATUS"
ctl "$ADMIN" devices revoke-token dev-0002
expect_eq "revoke-token: exit 0" 0 "$RC"
api GET "/api/v1/devices/dev-0002/$MQ" "$new"
expect_eq "revoke-token: the token is refused" 401 "$STATUS"
ctl "$ADMIN" devices delete dev-0300
expect_eq "devices delete: exit 0" 0 "$RC"
api GET /api/v1/devices/dev-0300 "$VIEW"
expect_eq "devices delete: gone" 404 "$STATUS"

# --- group membership from a file ---------------------------------------
{
	echo "# the whole first import"
	seq -f 'dev-%04g' 1 299
	echo
	echo "  dev-0001  "
} >"$T/ids.txt"
ctl "$ADMIN" groups add beta --file "$T/ids.txt"
expect_eq "groups add --file: exit 0" 0 "$RC"
check "groups add --file: counts what changed" \
    out_has "group beta: added 200 devices (300 listed)"
expect_eq "groups add --file: members" 299 "$(group_members beta)"
seq -f 'dev-%04g' 1 150 >"$T/leave.txt"
ctl "$ADMIN" groups remove beta --file "$T/leave.txt"
check "groups remove --file" out_has "group beta: removed 150 devices"
expect_eq "groups remove --file: members" 149 "$(group_members beta)"
ctl "$ADMIN" groups add beta dev-0001 dev-0002
expect_eq "groups add IDs: members" 151 "$(group_members beta)"
ctl "$ADMIN" groups add beta dev-0003 ghost-1
expect_eq "groups add unknown device: exit 1" 1 "$RC"
check "groups add unknown device: server names it" err_has "ghost-1"
expect_eq "groups add unknown device: nothing changed" 151 "$(group_members beta)"
printf 'dev-0003\nnot an id\n' >"$T/badids.txt"
ctl "$ADMIN" groups add beta --file "$T/badids.txt"
expect_eq "groups add bad file: exit 1" 1 "$RC"
check "groups add bad file: line reported" err_has "$T/badids.txt:2:"
expect_eq "groups add bad file: nothing sent" 151 "$(group_members beta)"

# --- gateways -----------------------------------------------------------
ctl "$ADMIN" gateways create shop-app --group eu --group beta
expect_eq "gateways create: exit 0" 0 "$RC"
GW=$(cat "$T/out")
check "gateways create: the token alone on stdout" \
    test -n "$GW" -a "$(wc -l <"$T/out")" -eq 1
check "gateways create: note on stderr" err_has "shown only this once"
ctl "$ADMIN" gateways list --json
expect_eq "gateways list: groups" "beta eu" \
    "$(jq -r '.[] | select(.name == "shop-app") | .groups | sort | join(" ")' "$T/out")"
expect_eq "gateways list: active" null \
    "$(jq -r '.[] | select(.name == "shop-app") | .revoked_at' "$T/out")"
api GET "/api/v1/devices/dev-0001/$MQ" "$GW"
expect_eq "gateway token polls for a device of its groups" 204 "$STATUS"
api GET "/api/v1/devices/dev-0005/$MQ" "$GW"
expect_eq "gateway token refused outside its groups" 403 "$STATUS"
ctl "$ADMIN" gateways create other --group nope
expect_eq "gateways create unknown group: exit 1" 1 "$RC"
check "gateways create unknown group: server names it" err_has "nope"
ctl "$ADMIN" gateways revoke shop-app
expect_eq "gateways revoke: exit 0" 0 "$RC"
api GET "/api/v1/devices/dev-0001/$MQ" "$GW"
expect_eq "gateways revoke: the token is refused" 401 "$STATUS"
ctl "$ADMIN" gateways list --json
check "gateways revoke: revoked_at set" test "$(jq -r \
    '.[] | select(.name == "shop-app") | .revoked_at' "$T/out")" != null

# --- rollouts -----------------------------------------------------------
make_image "$T/fw.bin" 4000
release "$T/fw.bin" sensor-fw 1.1.0 revA
upload_curl "$REL" "$T/fw.bin"
IMG=$(jqb .id)
ctl "$REL" rollouts create --image "$IMG" --group eu --group beta \
    --name fw-1.1 --stages 1,50,100 --failure-threshold 0.1 \
    --min-reports 5 --advance-after 3600 --gate wilson --confidence 0.99 \
    --json
expect_eq "rollouts create: exit 0" 0 "$RC"
R=$(jq -r .id "$T/out")
expect_eq "rollouts create: a draft" draft "$(jq -r .state "$T/out")"
expect_eq "rollouts create: stages" "1 50 100" "$(jq -r '.stages | join(" ")' "$T/out")"
expect_eq "rollouts create: policy" "0.1 5 3600 wilson 0.99" \
    "$(jq -r '"\(.failure_threshold) \(.min_reports) \(.advance_after) \(.gate) \(.confidence)"' "$T/out")"
expect_eq "rollouts create: groups" "beta eu" "$(jq -r '.groups | sort | join(" ")' "$T/out")"
ctl "$REL" rollouts create --image "$IMG" --group eu --confidence high
expect_eq "rollouts create --confidence high: exit 2" 2 "$RC"
check "rollouts create --confidence high: says what it wants" \
    err_has "--confidence 'high': want a fraction 0..1, e.g. 0.95"
ctl "$REL" rollouts create --image "$IMG" --group eu --gate sprt
expect_eq "rollouts create --gate sprt: otad refuses (exit 1)" 1 "$RC"
check "rollouts create --gate sprt: otad's reason" \
    err_has 'gate: must be "simple" or "wilson"'

ctl "$REL" rollouts update "$R" --min-reports 8 --gate simple --json
expect_eq "rollouts update (draft): exit 0" 0 "$RC"
expect_eq "rollouts update: policy" "0.1 8 3600 simple 0.99" \
    "$(jq -r '"\(.failure_threshold) \(.min_reports) \(.advance_after) \(.gate) \(.confidence)"' "$T/out")"
ctl "$REL" rollouts update "$R" --start-at 2099-01-01T00:00:00Z \
    --from-version ">=1.0.0 <1.1.0" --json
expect_eq "rollouts update --start-at --from-version: the record" \
    "0 2099-01-01T00:00:00Z >=1.0.0 <1.1.0" \
    "$RC $(jq -r '"\(.start_at) \(.from_version)"' "$T/out")"
ctl "$REL" rollouts update "$R" --start-at "" --json
expect_eq "rollouts update --start-at '': cleared" "0 null" \
    "$RC $(jq -r .start_at "$T/out")"
ctl "$REL" rollouts update "$R"
expect_eq "rollouts update without a field: exit 2" 2 "$RC"
ctl "$REL" rollouts update "$R" --min-reports many
expect_eq "rollouts update --min-reports many: exit 2" 2 "$RC"
check "rollouts update --min-reports many: says what it wants" \
    err_has "--min-reports 'many': want a whole number"
ctl "$REL" rollouts update "$R" --failure-threshold 0.0000001
expect_eq "rollouts update, a threshold otad refuses: exit 1" 1 "$RC"
check "rollouts update: otad's reason" \
    err_has "failure_threshold: at most six decimals"
ctl "$REL" rollouts start "$R" --reason "CAB-1 approved"
expect_eq "rollouts start: exit 0" 0 "$RC"
expect_eq "rollouts start: summary" "rollout $R: running, stage 1/3 1%" "$(cat "$T/out")"
ctl "$REL" rollouts advance "$R" --stage-index 0
check "rollouts advance --stage-index: stage 2" out_has "rollout $R: running, stage 2/3 50%"
ctl "$REL" rollouts advance "$R" --stage-index 0
expect_eq "stale advance (--stage-index 0 at stage 1): exit 1" 1 "$RC"
check "stale advance: server's reason (409)" err_has "HTTP 409: conflict"
api GET "/api/v1/rollouts/$R" "$VIEW"
expect_eq "stale advance: still at stage index 1" 1 "$(jqb .stage_index)"
ctl "$REL" rollouts pause "$R" --reason "tickets"
check "rollouts pause" out_has "rollout $R: paused"
ctl "$REL" rollouts update "$R" --confidence 0.9
expect_eq "rollouts update (paused): exit 0" 0 "$RC"
check "rollouts update: prints the record" grep -q "^confidence: *0.9$" "$T/out"
ctl "$REL" rollouts pause "$R"
expect_eq "rollouts pause twice: exit 1" 1 "$RC"
check "rollouts pause twice: server's reason (409)" err_has "HTTP 409: conflict"
ctl "$REL" rollouts resume "$R"
check "rollouts resume" out_has "rollout $R: running"
ctl "$REL" rollouts update "$R" --min-reports 9
expect_eq "rollouts update (running): exit 1" 1 "$RC"
check "rollouts update (running): server's reason (409)" err_has "HTTP 409: conflict"
ctl "$VIEW" rollouts abort "$R"
expect_eq "viewer abort: exit 1" 1 "$RC"
ctl "$REL" rollouts abort "$R" --reason "bad battery"
check "rollouts abort" out_has "rollout $R: aborted"
ctl "$REL" rollouts advance "$R"
expect_eq "advance an aborted rollout: exit 1" 1 "$RC"
check "advance an aborted rollout: server's reason" err_has "HTTP 409"
api GET "/api/v1/rollouts/$R" "$VIEW"
expect_eq "rollout state in otad" aborted "$(jqb .state)"

ctl "$VIEW" rollouts show "$R" --json
expect_eq "rollouts show --json: events in order" \
    "update update update start advance pause update resume abort" \
    "$(jq -r '[.events[].action | select(. != "create")] | join(" ")' "$T/out")"
expect_eq "rollouts show --json: reasons kept" "CAB-1 approved|tickets|bad battery" \
    "$(jq -r '[.events[] | select(.action != "update" and .reason != "" and .reason != null) | .reason] | join("|")' "$T/out")"
expect_eq "rollouts show --json: updates audited" \
    "min_reports 5 -> 8; gate wilson -> simple|from_version \"\" -> \">=1.0.0 <1.1.0\"; start_at none -> 2099-01-01T00:00:00Z|start_at 2099-01-01T00:00:00Z -> none|confidence 99.0% -> 90.0%" \
    "$(jq -r '[.events[] | select(.action == "update") | .reason] | join("|")' "$T/out")"
ctl "$VIEW" rollouts show "$R"
check "rollouts show: the record" grep -q "^state: *aborted$" "$T/out"
check "rollouts show: the events table" grep -q "^AT .*ACTION" "$T/out"

ctl "$REL" rollouts create --image "$IMG" --group eu
R2=$(awk '$1 == "id:" {print $2}' "$T/out")
ctl "$VIEW" rollouts list --state draft --json
expect_eq "rollouts list --state draft" "$R2" "$(jq -r '[.[].id] | join(" ")' "$T/out")"
ctl "$VIEW" rollouts list
check "rollouts list: a table of both" \
    test "$(awk 'NR > 1 {print $1}' "$T/out" | sort | tr '\n' ' ')" = "$(printf '%s\n' "$R" "$R2" | sort | tr '\n' ' ')"
ctl "$ADMIN" groups delete eu
expect_eq "groups delete while a draft targets it: exit 1" 1 "$RC"
check "groups delete while a draft targets it: 409" err_has "HTTP 409"
# The transitions exactly as docs/otactl.md shows them: each command of
# its example, run on R2 (a draft with the default stages, like the
# example's rollout 3), prints the line the doc shows under it.
awk 'function flush(out) {
		if (cmd != "") print cmd "\t" out
		cmd = "" }
     /^otactl rollouts list/ { exit }
     /^# rollout 3: / { flush($0); next }
     { flush("(no output shown)") }
     /^otactl rollouts (start|advance|pause|resume|abort) 3/ { cmd = $0 }
     END { flush("(no output shown)") }' \
    "$TESTS_DIR/../docs/otactl.md" >"$T/doc-transitions"
expect_eq "docs/otactl.md: five transitions with their output" 5 \
    "$(grep -c '# rollout 3: ' "$T/doc-transitions")"
while IFS="$(printf '\t')" read -r cmd want; do
	args=$(printf '%s\n' "$cmd" |
	    sed -e 's/^otactl //' -e 's/[][]//g' -e "s/ 3\b/ $R2/")
	eval "ctl \"\$REL\" $args" </dev/null
	expect_eq "docs/otactl.md: $cmd" \
	    "$(printf '%s\n' "$want" | sed "s/^# rollout 3: /rollout $R2: /")" \
	    "$(cat "$T/out")"
done <"$T/doc-transitions"
api GET "/api/v1/rollouts/$R2" "$VIEW"
expect_eq "docs/otactl.md example: R2 aborted" aborted "$(jqb .state)"
ctl "$ADMIN" groups delete eu
expect_eq "groups delete after abort: exit 0" 0 "$RC"

# --- progress bars: on a terminal only -----------------------------------
# (The imports and downloads above and below wrote stderr to a file.)
cr=$(printf '\r')
check "import to a file: no progress bar" sh -c '! grep -q "$1" "$2"' _ \
    "$cr" "$T/err"
awk 'BEGIN { print "id,hardware"
	for (i = 1; i <= 300; i++) printf "tty-%04d,revA\n", i }' >"$T/tty.csv"
# script(1) gives otactl a terminal; the token stays in the environment.
OTACTL_TOKEN=$ADMIN script -qec "'$OTACTL_BIN' devices import '$T/tty.csv' \
    --out '$T/tty-tokens.csv' --batch-size 100" /dev/null >"$T/tty.out" 2>&1
expect_eq "import on a terminal: 300 tokens" 301 "$(wc -l <"$T/tty-tokens.csv")"
check "import on a terminal: a bar that ends at 300 devices" \
    grep -q "import 100% \[#*\] 300 / 300 devices" "$T/tty.out"
check "import on a terminal: redrawn in place" grep -q "$cr" "$T/tty.out"
# The same file again: otad refuses the first batch; the message starts
# on a line of its own, not after the bar.
OTACTL_TOKEN=$ADMIN script -qec "'$OTACTL_BIN' devices import '$T/tty.csv' \
    --out '$T/tty-again.csv' --batch-size 100" /dev/null >"$T/tty.out" 2>&1
check "import on a terminal, refused: a bar was drawn" \
    grep -q "import   0% \[ *\] 0 / 300 devices" "$T/tty.out"
check "import on a terminal, refused: the error on its own line" \
    grep -q "^otactl: devices import failed: HTTP 409" "$T/tty.out"
# Tokens to a terminal's stdout: no bar to share their lines.
awk 'BEGIN { print "id,hardware"
	for (i = 1; i <= 150; i++) printf "ttyo-%04d,revA\n", i }' >"$T/ttyo.csv"
OTACTL_TOKEN=$ADMIN script -qec "'$OTACTL_BIN' devices import '$T/ttyo.csv' \
    --batch-size 100" /dev/null >"$T/tty.out" 2>&1
expect_eq "import, tokens on a terminal: 150 tokens" 150 \
    "$(grep -c '^ttyo-[0-9]*,' "$T/tty.out")"
check "import, tokens on a terminal: no bar" \
    sh -c '! grep -q "import  *[0-9]*%" "$1"' _ "$T/tty.out"

# --- images download ----------------------------------------------------
ctl "$VIEW" images download "$IMG" --out "$T/got.bin"
expect_eq "images download: exit 0" 0 "$RC"
check "images download: the image's bytes" cmp "$T/got.bin" "$T/fw.bin"
check "images download: says what it wrote" \
    out_has "downloaded image $IMG sensor-fw 1.1.0: $T/got.bin, 4000 bytes"
expect_eq "images download to a file: nothing on stderr" "" "$(cat "$T/err")"
check "images download: no part file left" test ! -e "$T/got.bin.part"
(cd "$T" && OTACTL_TOKEN=$VIEW "$OTACTL_BIN" images download "$IMG" \
    >/dev/null 2>&1)
check "images download: default file NAME-VERSION.bin" \
    cmp "$T/sensor-fw-1.1.0.bin" "$T/fw.bin"
OTACTL_TOKEN=$VIEW script -qec "'$OTACTL_BIN' images download $IMG \
    --out '$T/tty.bin'" /dev/null >"$T/tty.out" 2>&1
check "images download on a terminal: a bar" \
    grep -q "download 100% \[#*\]" "$T/tty.out"
check "images download on a terminal: the file" cmp "$T/tty.bin" "$T/fw.bin"
ctl "$VIEW" images download 9999 --out "$T/none.bin"
expect_eq "images download of an unknown image: exit 1" 1 "$RC"
check "images download of an unknown image: the server's 404" \
    err_has "HTTP 404"
check "images download of an unknown image: no file" test ! -e "$T/none.bin"
ctl "$VIEW" images download abc
expect_eq "images download of a bad id: usage error" 2 "$RC"
# A blob that is not the descriptor's (changed on disk): not kept.
BLOB="$DATA/blobs/$(sha256sum "$T/fw.bin" | cut -d' ' -f1)"
if [ "$STORE" = sqlite ] && [ -f "$BLOB" ]; then
	chmod u+w "$BLOB"
	printf 'X' | dd of="$BLOB" bs=1 seek=100 conv=notrunc 2>/dev/null
	ctl "$VIEW" images download "$IMG" --out "$T/bad.bin"
	expect_eq "images download of a damaged blob: exit 1" 1 "$RC"
	check "images download of a damaged blob: says why" \
	    err_has "not matching the descriptor's size 4000 and sha256"
	check "images download of a damaged blob: no file" \
	    test ! -e "$T/bad.bin" -a ! -e "$T/bad.bin.part"
fi

# --- usage --------------------------------------------------------------
ctl "$ADMIN" devices import
expect_eq "import without a file: usage error" 2 "$RC"
ctl "$REL" rollouts create --group beta
expect_eq "rollouts create without --image: usage error" 2 "$RC"
ctl "$ADMIN" devices list --token "$ADMIN"
expect_eq "a token on the command line is refused" 2 "$RC"
ctl "$ADMIN" devices frob
expect_eq "unknown subcommand: usage error" 2 "$RC"

otad_stop
expect_eq "clean exit" 0 "$?"
check "sanitizers report nothing" sanitizer_clean
finish
