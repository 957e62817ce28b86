#!/bin/sh
# The three ways to sign a release, proven against the real daemon over
# HTTPS: plain openssl, a PKCS#11 token (SoftHSM2 standing in for an HSM,
# driven by pkcs11-tool) and otactl; that their keys and signatures are
# interchangeable; tampering and size refusals; and the signature threshold.
# See docs/signing.md and /work/shared/reference/hsm-signing.md.
. "$(dirname "$0")/../lib.sh"

W="$T/work"
HSM="$T/hsm"
P11_MODULE=${P11_MODULE:-/usr/lib/softhsm/libsofthsm2.so}
HSM_PIN=123456 # test token only; real use lets pkcs11-tool prompt
CURL_MAX=60    # seconds, every curl below

# A private SoftHSM2 token directory under $T: the system one
# (/var/lib/softhsm/tokens) is never read or written.
SOFTHSM2_CONF="$HSM/softhsm2.conf"
export SOFTHSM2_CONF

# p11 ARGS...: pkcs11-tool on the test token, bounded in time.
p11() {
	timeout 60 pkcs11-tool --module "$P11_MODULE" --token-label otadtest \
	    "$@"
}

# hsm_sign IN OUT: pure Ed25519 (CKM_EDDSA) inside the token.
hsm_sign() {
	p11 --login --pin "$HSM_PIN" --sign --mechanism EDDSA --id 01 \
	    -i "$1" -o "$2"
}

# ossl_sign KEY IN OUT
ossl_sign() {
	openssl pkeyutl -sign -inkey "$1" -rawin -in "$2" -out "$3"
}

# mkdesc IMAGE NAME VERSION OUT [PADTO]: writes the compact descriptor by
# hand (no otactl), optionally padded with an extra "notes" field (allowed
# and signed like the rest) to exactly PADTO bytes.
mkdesc() {
	sz=$(stat -c %s "$1")
	sha=$(sha256sum "$1" | cut -d' ' -f1)
	if [ $# -lt 5 ]; then
		printf '{"name":"%s","version":"%s","hardware":["revA"],"size":%s,"sha256":"%s"}' \
		    "$2" "$3" "$sz" "$sha" >"$4"
		return
	fi
	printf '{"name":"%s","version":"%s","hardware":["revA"],"size":%s,"sha256":"%s","notes":"' \
	    "$2" "$3" "$sz" "$sha" >"$4"
	pad=$(($5 - $(stat -c %s "$4") - 2))
	head -c "$pad" /dev/zero | tr '\0' x >>"$4"
	printf '"}' >>"$4"
}

# upload_sigs TOKEN IMAGE DESC SIGS_JSON: multipart upload through curl.
upload_sigs() {
	api POST /api/v1/images "$1" --max-time "$CURL_MAX" \
	    -F "descriptor=@$3;type=application/json" \
	    -F "signatures=$4" \
	    -F "image=@$2;type=application/octet-stream"
}

# sig2 SIGFILE1 KEYID1 SIGFILE2 KEYID2: signatures field with two entries.
sig2() {
	printf '[{"keyid":"%s","sig":"%s"},{"keyid":"%s","sig":"%s"}]' \
	    "$2" "$(base64 -w0 "$1")" "$4" "$(base64 -w0 "$3")"
}

image_count() {
	api GET "/api/v1/images?limit=1000" "$TOK" --max-time "$CURL_MAX"
	jqb '.images | length'
}
blob_count() { find "$DATA/blobs" -type f | wc -l; }
tmp_count() { find "$DATA/tmp" -mindepth 1 | wc -l; }

# stored_matches ID DESC SIGFILE: GET the image; its descriptor is DESC byte
# for byte and signatures[0].sig is SIGFILE.
stored_matches() {
	api GET "/api/v1/images/$1" "$TOK" --max-time "$CURL_MAX" &&
	    [ "$STATUS" = 200 ] &&
	    jqb .descriptor | base64 -d >"$W/got.json" &&
	    cmp -s "$2" "$W/got.json" &&
	    jqb '.signatures[0].sig' | base64 -d >"$W/got.sig" &&
	    cmp -s "$3" "$W/got.sig"
}

# No pkcs11-tool/softhsm2-util of this test (they carry our SOFTHSM2_CONF
# in their environment) may outlive it.
no_hsm_process_left() {
	for e in /proc/[0-9]*/environ; do
		[ "$e" = "/proc/$$/environ" ] && continue
		if tr '\0' '\n' <"$e" 2>/dev/null |
		    grep -qxF "SOFTHSM2_CONF=$SOFTHSM2_CONF"; then
			pid=${e#/proc/}
			pid=${pid%/environ}
			case "$(cat "/proc/$pid/comm" 2>/dev/null)" in
			pkcs11-tool | softhsm2-util) return 1 ;;
			esac
		fi
	done
	return 0
}

# The system token dir, listed to show the test leaves it alone.
sys_tokens() { ls -la --time-style=+%s /var/lib/softhsm/tokens 2>&1; }
SYS_TOKENS=$(sys_tokens)

otad_setup
mkdir -p "$W" "$HSM/tokens"

# --- keys; all in the keyring before otad starts (it loads it once) ------

# openssl: PKCS#8 private key, SPKI PEM public key.
openssl genpkey -algorithm ed25519 -out "$W/ossl.key" 2>/dev/null
openssl pkey -in "$W/ossl.key" -pubout -out "$W/ossl.pub.pem"
cp "$W/ossl.pub.pem" "$DATA/release-keys/ossl.pem"
check "openssl key pair generated" test -s "$DATA/release-keys/ossl.pem"

# HSM: the key pair is generated inside the token and never leaves it; only
# the public key (SPKI PEM) is read out.
printf 'directories.tokendir = %s/tokens\nobjectstore.backend = file\nlog.level = ERROR\n' \
    "$HSM" >"$SOFTHSM2_CONF"
check "softhsm token initialised in the test's own token dir" \
    timeout 60 softhsm2-util --init-token --free --label otadtest \
    --so-pin 12345678 --pin "$HSM_PIN"
# (the label selects the token: its slot number changes after init)
check "Ed25519 key pair generated inside the token" \
    p11 --login --pin "$HSM_PIN" --keypairgen --key-type EC:edwards25519 \
    --id 01 --label fwkey
check "HSM public key read out as PEM" \
    p11 --read-object --type pubkey --id 01 -o "$W/hsm.pub.pem"
cp "$W/hsm.pub.pem" "$DATA/release-keys/hsm.pem" 2>/dev/null
check "HSM public key is a 44-byte Ed25519 SPKI" \
    sh -c "openssl pkey -pubin -in '$W/hsm.pub.pem' -outform DER |
        wc -c | grep -qx 44"
no_privkey_out() {
	! p11 --read-object --type privkey --id 01 -o "$W/x" || [ ! -s "$W/x" ]
}
check "the private key cannot be read out of the token" no_privkey_out
check "the token lives in the test's own token dir" \
    test -n "$(ls "$HSM/tokens")"
expect_eq "system token dir untouched" "$SYS_TOKENS" "$(sys_tokens)"

# otactl
"$OTACTL_BIN" keygen --out "$W/ctl" >/dev/null 2>&1
cp "$W/ctl.pub" "$DATA/release-keys/ctl.pub"
check "otactl keygen wrote ctl.key and ctl.pub" \
    test -s "$W/ctl.key" -a -s "$DATA/release-keys/ctl.pub"

otad_start || exit 1
TOK=$(token release signing-test)
check "release token created" test -n "$TOK"

# --- 1. openssl route ------------------------------------------------------

make_image "$W/fw-ossl.bin" 70000
mkdesc "$W/fw-ossl.bin" fw-ossl 1.0.0 "$W/ossl.json"
ossl_sign "$W/ossl.key" "$W/ossl.json" "$W/ossl.sig"
expect_eq "openssl signature is 64 raw bytes" 64 "$(stat -c %s "$W/ossl.sig")"
upload_sigs "$TOK" "$W/fw-ossl.bin" "$W/ossl.json" "$(sig_json "$W/ossl.sig" ossl)"
expect_eq "openssl-signed upload (keyid ossl) is 201" 201 "$STATUS"
ID_OSSL=$(jqb .id)
check "stored descriptor and signature are the uploaded bytes (openssl)" \
    stored_matches "$ID_OSSL" "$W/ossl.json" "$W/ossl.sig"
check "openssl verifies the API's signature over the API's descriptor" \
    openssl pkeyutl -verify -pubin -inkey "$W/ossl.pub.pem" -rawin \
    -in "$W/got.json" -sigfile "$W/got.sig"
check "openssl verifies the API's signature over the original file" \
    openssl pkeyutl -verify -pubin -inkey "$W/ossl.pub.pem" -rawin \
    -in "$W/ossl.json" -sigfile "$W/got.sig"
api GET "/api/v1/images/$ID_OSSL/blob" "$TOK" --max-time "$CURL_MAX"
check "blob downloads back identical (openssl)" cmp -s "$W/fw-ossl.bin" "$T/body"

# --- 2. HSM route ----------------------------------------------------------

make_image "$W/fw-hsm.bin" 50000
mkdesc "$W/fw-hsm.bin" fw-hsm 2.0.0 "$W/hsm.json"
check "HSM signs the descriptor (CKM_EDDSA, one call)" \
    hsm_sign "$W/hsm.json" "$W/hsm.sig"
expect_eq "HSM signature is 64 raw bytes" 64 "$(stat -c %s "$W/hsm.sig" 2>/dev/null)"
check "openssl verifies the HSM signature with the exported key" \
    openssl pkeyutl -verify -pubin -inkey "$W/hsm.pub.pem" -rawin \
    -in "$W/hsm.json" -sigfile "$W/hsm.sig"

# Tampering first, while this image's blob is not stored yet: the same
# signature over a descriptor with one byte changed ("2.0.0" -> "2.0.1").
sed 's/"version":"2\.0\.0"/"version":"2.0.1"/' "$W/hsm.json" >"$W/hsm-bad.json"
expect_eq "tampered descriptor differs in exactly one byte" 1 \
    "$(cmp -l "$W/hsm.json" "$W/hsm-bad.json" | wc -l)"
n0=$(image_count)
b0=$(blob_count)
upload_sigs "$TOK" "$W/fw-hsm.bin" "$W/hsm-bad.json" "$(sig_json "$W/hsm.sig" hsm)"
expect_eq "HSM signature over a changed descriptor is 422" 422 "$STATUS"
expect_eq "422 error name" bad_signature "$(jqb .error)"
check "422 detail names the key" sh -c "jq -r .detail '$T/body' | grep -q hsm"
expect_eq "image count unchanged after 422" "$n0" "$(image_count)"
expect_eq "no new blob file after 422" "$b0" "$(blob_count)"
check "no blob named by the refused image's SHA-256" \
    sh -c "! find '$DATA/blobs' -type f | grep -q $(sha256sum "$W/fw-hsm.bin" | cut -d' ' -f1)"
expect_eq "tmp dir empty after 422" 0 "$(tmp_count)"

upload_sigs "$TOK" "$W/fw-hsm.bin" "$W/hsm.json" "$(sig_json "$W/hsm.sig" hsm)"
expect_eq "HSM-signed upload (keyid hsm) is 201" 201 "$STATUS"
ID_HSM=$(jqb .id)
check "stored descriptor and signature are the uploaded bytes (HSM)" \
    stored_matches "$ID_HSM" "$W/hsm.json" "$W/hsm.sig"
check "openssl verifies the API's HSM signature" \
    openssl pkeyutl -verify -pubin -inkey "$W/hsm.pub.pem" -rawin \
    -in "$W/got.json" -sigfile "$W/got.sig"

# Size limit.  pkcs11-tool passes a message of more than 1024 bytes to the
# token in parts (C_SignUpdate), and SoftHSM2's EdDSA, which only signs in
# one call, answers CKR_OPERATION_NOT_INITIALIZED: such a descriptor cannot
# be signed by the HSM at all.  otad's descriptor limit is therefore exactly
# 1024 bytes (DESCRIPTOR_MAX_BYTES); 1024 itself works (section 4).
make_image "$W/fw-big.bin" 1000
mkdesc "$W/fw-big.bin" fw-big 1.0.0 "$W/big.json" 1025
expect_eq "over-limit descriptor is 1025 bytes" 1025 "$(stat -c %s "$W/big.json")"
rm -f "$W/big.hsm.sig"
hsm_refuses_big() {
	! { hsm_sign "$W/big.json" "$W/big.hsm.sig" &&
	    test -s "$W/big.hsm.sig"; }
}
check "HSM cannot sign a 1025-byte descriptor in one call" hsm_refuses_big
# openssl can sign it, so otad sees a valid signature and refuses on size.
ossl_sign "$W/ossl.key" "$W/big.json" "$W/big.sig"
n0=$(image_count)
b0=$(blob_count)
upload_sigs "$TOK" "$W/fw-big.bin" "$W/big.json" "$(sig_json "$W/big.sig" ossl)"
expect_eq "1025-byte descriptor (validly signed) is 400" 400 "$STATUS"
check "400 detail mentions the descriptor" \
    sh -c "jq -r .detail '$T/body' | grep -q descriptor"
expect_eq "image count unchanged after 400" "$n0" "$(image_count)"
expect_eq "no new blob file after 400" "$b0" "$(blob_count)"
expect_eq "tmp dir empty after 400" 0 "$(tmp_count)"

# --- 3. otactl route -------------------------------------------------------

make_image "$W/fw-ctl.bin" 90000
"$OTACTL_BIN" describe "$W/fw-ctl.bin" --name fw-ctl --version 3.0.0 \
    --hardware revA --out "$W/ctl.json" >/dev/null
check "otactl describe wrote a descriptor" test -s "$W/ctl.json"
check "otactl sign" "$OTACTL_BIN" sign --key "$W/ctl.key" --out "$W/ctl.sig" \
    "$W/ctl.json"
check "otactl verify accepts it" "$OTACTL_BIN" verify --pub "$W/ctl.pub" \
    --sig "$W/ctl.sig" "$W/ctl.json"
check "openssl verifies otactl's signature with otactl's .pub" \
    openssl pkeyutl -verify -pubin -inkey "$W/ctl.pub" -rawin \
    -in "$W/ctl.json" -sigfile "$W/ctl.sig"
# Cross-check: the key files are interchangeable PKCS#8 PEM, and Ed25519 is
# deterministic, so both tools give the same 64 bytes with either key.
ossl_sign "$W/ctl.key" "$W/ctl.json" "$W/ctl.ossl.sig"
check "otactl sign == openssl pkeyutl -sign -rawin (otactl's key)" \
    cmp "$W/ctl.sig" "$W/ctl.ossl.sig"
"$OTACTL_BIN" sign --key "$W/ossl.key" --out "$W/ossl.ctl.sig" \
    "$W/ossl.json" >/dev/null 2>&1
check "otactl sign == openssl pkeyutl -sign -rawin (openssl's key)" \
    cmp "$W/ossl.sig" "$W/ossl.ctl.sig"
check "otactl verify accepts the HSM signature with the exported PEM" \
    "$OTACTL_BIN" verify --pub "$W/hsm.pub.pem" --sig "$W/hsm.sig" \
    "$W/hsm.json"

check "otactl upload (OTACTL_TOKEN, --cacert, OTACTL_SERVER) succeeds" \
    env OTACTL_TOKEN="$TOK" OTACTL_SERVER="$BASE" timeout "$CURL_MAX" \
    "$OTACTL_BIN" upload "$W/fw-ctl.bin" --descriptor "$W/ctl.json" \
    --sig "ctl:$W/ctl.sig" --cacert "$DATA/tls/cert.pem"
OTACTL_TOKEN="$TOK" OTACTL_SERVER="$BASE" OTACTL_CACERT="$DATA/tls/cert.pem" \
    timeout "$CURL_MAX" "$OTACTL_BIN" images --json >"$W/images.json" \
    2>"$W/images.err"
check "otactl images --json (OTACTL_CACERT) succeeds" test -s "$W/images.json"
expect_eq "otactl images --json lists the three images" \
    "fw-ctl fw-hsm fw-ossl" \
    "$(jq -r '[.[].name] | sort | join(" ")' "$W/images.json" 2>/dev/null)"
ID_CTL=$(jq -r '.[] | select(.name == "fw-ctl") | .id' "$W/images.json" \
    2>/dev/null)
check "stored descriptor and signature are the uploaded bytes (otactl)" \
    stored_matches "$ID_CTL" "$W/ctl.json" "$W/ctl.sig"
expect_eq "fw-ctl stored signature keyid" ctl "$(jqb '.signatures[0].keyid')"

# --- 4. threshold: two signatures from distinct trusted keys ---------------

check "otad stops cleanly" otad_stop
export OTAD_RELEASE_SIGNATURES_REQUIRED=2
otad_start || exit 1

# Exactly 1024 bytes: the largest descriptor otad takes, and the HSM still
# signs it in one call.
make_image "$W/fw-thr.bin" 30000
mkdesc "$W/fw-thr.bin" fw-thr 4.0.0 "$W/thr.json" 1024
expect_eq "threshold descriptor is 1024 bytes" 1024 "$(stat -c %s "$W/thr.json")"
ossl_sign "$W/ossl.key" "$W/thr.json" "$W/thr.ossl.sig"
check "HSM signs a 1024-byte descriptor" \
    hsm_sign "$W/thr.json" "$W/thr.hsm.sig"
n0=$(image_count)
b0=$(blob_count)
upload_sigs "$TOK" "$W/fw-thr.bin" "$W/thr.json" \
    "$(sig_json "$W/thr.ossl.sig" ossl)"
expect_eq "one valid signature when 2 are required is 422" 422 "$STATUS"
expect_eq "threshold 422 error name" bad_signature "$(jqb .error)"
check "threshold 422 detail mentions the requirement of 2" \
    sh -c "jq -r .detail '$T/body' | grep -q 'requires 2'"
expect_eq "nothing stored below the threshold" "$n0" "$(image_count)"
expect_eq "no new blob file below the threshold" "$b0" "$(blob_count)"
expect_eq "tmp dir empty below the threshold" 0 "$(tmp_count)"
upload_sigs "$TOK" "$W/fw-thr.bin" "$W/thr.json" \
    "$(sig2 "$W/thr.ossl.sig" ossl "$W/thr.hsm.sig" hsm)"
expect_eq "signed by ossl + hsm is 201" 201 "$STATUS"
ID_THR=$(jqb .id)
api GET "/api/v1/images/$ID_THR" "$TOK" --max-time "$CURL_MAX"
expect_eq "both signatures stored, in order" "ossl hsm" \
    "$(jqb '[.signatures[].keyid] | join(" ")')"
jqb .descriptor | base64 -d >"$W/got.json"
check "stored 1024-byte descriptor is the uploaded bytes" \
    cmp -s "$W/thr.json" "$W/got.json"
expect_eq "four images stored in all" 4 "$(image_count)"

check "otad stops cleanly at the end" otad_stop
check "no sanitizer report in the otad log" sanitizer_clean
check "no pkcs11-tool/softhsm2-util process left" no_hsm_process_left
finish
