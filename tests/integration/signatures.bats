#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# Signed images: a namespace's policy (config.toml [verify], namespace
# labels) against a real registry. Signatures in cosign's format are made
# by an independent signer (lib/cosignsign.py: openssl signs, python lays
# the .sig manifest out as cosign does) and ember's are checked by an
# independent verifier (lib/cosignverify.py: openssl verifies). Debian 12's
# skopeo 1.9.3 would be the oracle both ways, but Debian builds it with
# sigstore disabled ("Debian-local change: sigstore disabled", for signing
# and for sigstoreSigned policies alike): its test runs where a skopeo can.

bats_require_minimum_version 1.5.0
load helpers
load lib/image
load lib/registry
load lib/remote

setup() {
	setup_dirs
}

teardown() {
	remote_teardown
}

# keys NAME...: an ECDSA P-256 key pair per NAME, $T/NAME.pem and $T/NAME.pub.
keys() {
	local k
	for k in "$@"; do
		openssl ecparam -genkey -name prime256v1 -noout -out "$T/$k.pem" 2>/dev/null
		openssl ec -in "$T/$k.pem" -pubout -out "$T/$k.pub" 2>/dev/null
	done
}

# publish NAME: busybox pushed by skopeo as test/NAME:v1 of registry "r";
# REF is its reference, DIGEST its manifest digest.
publish() {
	[ -n "${REGISTRY_R_ADDR:-}" ] || registry_start r
	[ -d "$T/bb" ] || image_busybox "$T/bb"
	registry_push_oci "$T/bb" "$REGISTRY_R_ADDR/test/$1:v1"
	REF=$REGISTRY_R_ADDR/test/$1:v1
	DIGEST=$(registry_digest "$REF")
	[ -n "$DIGEST" ]
}

# sign NAME KEY [cosignsign.py flags]: openssl signs test/NAME's $DIGEST.
sign() {
	local name=$1 key=$2
	shift 2
	"$INFRA_PYTHON" "$INFRA_LIB/cosignsign.py" "$REGISTRY_R_URL" "test/$name" "$DIGEST" "$T/$key.pem" "$@" >/dev/null
}

# A daemon whose namespace "prod" requires signatures by the key "fleet".
prod_daemon() {
	daemon_up '[verify.namespaces.prod]' 'policy = "require"' "keys = [\"$T/fleet.pub\"]"
}

# What a refused pull must leave as it was: prod's images, the content
# store, prod's snapshots.
store_state() {
	e -n prod images ls -q
	echo --
	e content ls -q
	echo --
	e -n prod snapshots ls -q 2>/dev/null || true
}

@test "signatures: policy none (the default) pulls an unsigned image; GetVerification says none" {
	daemon_up
	publish plain
	run -0 e pull --plain-http "$REF"
	[ "${lines[-1]}" = "$REF: pulled $DIGEST" ]
	run -0 e namespaces verify default
	[ "$output" = "policy: none" ]
	run -0 e images inspect "$REF"
	[ "$(jget 'j.get("verified")' <<<"$output")" = null ]
}

@test "signatures: an image signed in cosign's format (openssl) verifies and pulls; the record names the key" {
	keys fleet
	prod_daemon
	publish app
	sign app fleet --reference "$REGISTRY_R_ADDR/test/app:v1"
	run -0 e namespaces verify prod
	[ "${lines[0]}" = "policy: require" ]
	[[ "${lines[1]}" == "key: fleet ecdsa-p256 sha256:"*" (config)" ]]
	run -0 e -n prod pull --plain-http "$REF"
	[ "${lines[-1]}" = "$REF: pulled $DIGEST" ]
	run -0 e -n prod images inspect "$REF"
	echo "$output"
	[ "$(jget 'j["verified"]["key"]' <<<"$output")" = fleet ]
	[ "$(jget 'j["verified"]["digest"]' <<<"$output")" = "$DIGEST" ]
	[ "$(jget 'j["verified"]["fingerprint"]' <<<"$output")" = \
		"sha256:$(openssl ec -pubin -in "$T/fleet.pub" -outform DER 2>/dev/null | sha256sum | cut -d' ' -f1)" ]
	# Unpacked, as any pull.
	run -0 e -n prod images check "$REF"
	# Another tag of the same repository stays verified; a name in another
	# repository is refused (the signature names this one).
	run -0 e -n prod images tag "$REF" "$REGISTRY_R_ADDR/test/app:stable"
	[ "$(e -n prod images inspect "$REGISTRY_R_ADDR/test/app:stable" | jget 'j["verified"]["key"]')" = fleet ]
	run -1 e -n prod images tag "$REF" example.com/other:v1
	[ "${lines[-1]}" = "ember: refused by the signature policy of namespace prod: $REF is signed for its own repository, not for example.com/other:v1's" ]
	run -0 e -n prod images ls -q
	[ "${#lines[@]}" -eq 2 ]
	# A payload naming the repository alone (as cosign writes it) does too.
	publish app2
	sign app2 fleet --reference "$REGISTRY_R_ADDR/test/app2"
	run -0 e -n prod pull --plain-http "$REF"
}

@test "signatures: unsigned, wrongly signed, for another digest or repository, by an unknown key: one line each, exit 1, the store unchanged" {
	keys fleet rogue
	prod_daemon
	local before other=sha256:4242424242424242424242424242424242424242424242424242424242424242
	before=$(store_state)
	refused() { # NAME WHY...: the pull of test/NAME:v1 into prod is refused for WHY
		local name=$1
		shift
		run -1 e -n prod pull --plain-http "$REGISTRY_R_ADDR/test/$name:v1"
		echo "$output"
		[ "${#lines[@]}" -eq 1 ]
		[ "${lines[0]}" = "ember: pull $REGISTRY_R_ADDR/test/$name:v1: refused by the signature policy of namespace prod: $*" ]
		[ "$(store_state)" = "$before" ]
	}
	publish unsigned
	refused unsigned "unsigned: no signature at the tag ${DIGEST/:/-}.sig"
	publish garbage
	sign garbage fleet --garbage-signature
	refused garbage "wrongly signed: the signature is not an ECDSA or RSA signature"
	publish elsewhere
	sign elsewhere fleet --payload-digest "$other"
	refused elsewhere "signed for another digest: the signature is for $other, the image is $DIGEST"
	publish moved
	sign moved fleet --reference "$REGISTRY_R_ADDR/test/original:v1"
	refused moved "signed for another repository: the signature is for \"$REGISTRY_R_ADDR/test/original:v1\""
	publish stranger
	sign stranger rogue
	refused stranger "signed by an unknown key: no key of the policy verifies its signature"
	# The best signature wins: a good one beside the stranger's.
	sign stranger fleet
	run -0 e -n prod pull --plain-http "$REGISTRY_R_ADDR/test/stranger:v1"
	# Nothing was unpacked for the refused ones: the only snapshots are the
	# good image's.
	run -0 e -n prod images ls -q
	[ "$output" = "$REGISTRY_R_ADDR/test/stranger:v1" ]
	# Policy none elsewhere: the unsigned image pulls in default.
	run -0 e pull --plain-http "$REGISTRY_R_ADDR/test/unsigned:v1"
}

@test "signatures: ember push --sign-key: openssl verifies the signature; ember verifies it in a require namespace; signers add up" {
	keys fleet
	prod_daemon
	publish src
	run -0 e pull --plain-http "$REF"
	local dst=$REGISTRY_R_ADDR/test/pushed:v1
	run -0 e push --plain-http --sign-key "$T/fleet.pem" "$dst" "$REF"
	[ "${lines[-1]}" = "$dst: pushed" ]
	[ "$(registry_digest "$dst")" = "$DIGEST" ]
	run -0 "$INFRA_PYTHON" "$INFRA_LIB/cosignverify.py" "$REGISTRY_R_URL" test/pushed "$DIGEST" "$T/fleet.pub"
	[ "$output" = "verified $dst" ]
	run -0 e -n prod pull --plain-http "$dst"
	[ "$(e -n prod images inspect "$dst" | jget 'j["verified"]["key"]')" = fleet ]
	# A second signer's signature joins the first (as cosign's would); the
	# same one again adds nothing; both keys verify.
	keys vendor
	run -0 e push --plain-http --sign-key "$T/vendor.pem" "$dst" "$REF"
	run -0 e push --plain-http --sign-key "$T/fleet.pem" "$dst" "$REF"
	run -0 curl -sSf -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
		"$REGISTRY_R_URL/v2/test/pushed/manifests/${DIGEST/:/-}.sig"
	[ "$(jget 'len(j["layers"])' <<<"$output")" = 2 ]
	run -0 "$INFRA_PYTHON" "$INFRA_LIB/cosignverify.py" "$REGISTRY_R_URL" test/pushed "$DIGEST" "$T/vendor.pub"
	run -0 "$INFRA_PYTHON" "$INFRA_LIB/cosignverify.py" "$REGISTRY_R_URL" test/pushed "$DIGEST" "$T/fleet.pub"
	run -0 e -n prod pull --plain-http "$dst"
	# A PKCS#8 key signs too; an encrypted one is refused up front, and so
	# is a public key.
	openssl pkcs8 -topk8 -nocrypt -in "$T/fleet.pem" -out "$T/fleet8.pem"
	run -0 e push --plain-http --sign-key "$T/fleet8.pem" "$dst" "$REF"
	run -1 e push --plain-http --sign-key "$T/fleet.pub" "$REGISTRY_R_ADDR/test/nokey:v1" "$REF"
	[ "${lines[-1]}" = "ember: push $REGISTRY_R_ADDR/test/nokey:v1: sign_key: PEM PUBLIC KEY: want a PRIVATE KEY or EC PRIVATE KEY" ]
	run -1 registry_inspect "$REGISTRY_R_ADDR/test/nokey:v1"
}

@test "signatures: namespace labels: ember namespaces verify --require --key; bad keys are refused; labels cannot loosen the config" {
	keys fleet rogue
	prod_daemon
	publish app
	sign app rogue
	# default has no policy in the config: the labels make it require.
	run -0 e namespaces create default
	run -0 e namespaces verify default --require --key "rogue=$T/rogue.pub"
	[ "${lines[0]}" = "policy: require" ]
	[[ "${lines[1]}" == "key: rogue ecdsa-p256 sha256:"*" (label)" ]]
	run -0 e pull --plain-http "$REF"
	run -0 e call io.ember.Namespaces.GetVerification '{"name": "default"}'
	[ "$(jget 'j["verification"]["keys"][0]["source"]' <<<"$output")" = label ]
	# Removing the key: nothing verifies any more.
	run -0 e namespaces verify default --remove-key rogue
	[ "${#lines[@]}" -eq 1 ]
	run -1 e pull --plain-http "$REF"
	[[ "${lines[-1]}" == *"requires signed images but trusts no key"* ]]
	# Bad labels: one line naming the label.
	printf 'not a key\n' >"$T/bad.pub"
	run -1 e namespaces verify default --key "bad=$T/bad.pub"
	[ "${lines[-1]}" = 'ember: label ember.io/verify.key.bad: PEM: no "-----BEGIN" line' ]
	run -1 e namespaces label default ember.io/verify=maybe
	[ "${lines[-1]}" = 'ember: label ember.io/verify must be "none" or "require"' ]
	# prod requires by config: --none removes only the label; still require.
	run -0 e namespaces create prod
	run -0 e namespaces verify prod --none --key "rogue=$T/rogue.pub"
	[ "${lines[0]}" = "policy: require" ]
	[ "${#lines[@]}" -eq 3 ]
}

@test "signatures: import into a require namespace is refused; revisions stage pins only verified images" {
	keys fleet
	prod_daemon
	image_busybox "$T/bbi"
	tar -C "$T/bbi" -cf "$T/bb.tar" .
	run -1 e -n prod images import --base-name example.com/bb "$T/bb.tar"
	[ "${lines[-1]}" = "ember: import: refused by the signature policy of namespace prod: unsigned (an archive carries no signature ember can check: pull signed images from a registry)" ]
	run -0 e -n prod images ls -q
	[ -z "$output" ]
	# An image there from before the policy (imported into default, then
	# the label makes default require): a stage refuses it.
	run -0 e images import --base-name example.com/bb "$T/bb.tar"
	printf '{"id": "r1", "containers": [{"id": "c", "image": "example.com/bb:latest"}]}\n' >"$T/r1.json"
	run -0 e namespaces verify default --require --key "fleet=$T/fleet.pub"
	run -1 e revisions stage "$T/r1.json"
	[ "${lines[-1]}" = "ember: revision: containers[0] (c): image example.com/bb:latest was not verified, and namespace default requires signed images: pull it again" ]
	# Pulled (and verified) under that name, it stages.
	publish app
	sign app fleet
	run -0 e pull --plain-http "$REF"
	printf '{"id": "r2", "containers": [{"id": "c", "image": "%s"}]}\n' "$REF" >"$T/r2.json"
	run -0 e revisions stage "$T/r2.json"
	[[ "$output" == "r2: staged"* ]]
}

@test "signatures: skopeo's sigstoreSigned policy accepts ember's signatures, and ember skopeo's (where skopeo has sigstore)" {
	keys fleet
	daemon_up
	publish src
	run -0 e pull --plain-http "$REF"
	run -0 e push --plain-http --sign-key "$T/fleet.pem" "$REGISTRY_R_ADDR/test/pushed:v1" "$REF"
	mkdir -p "$T/rd"
	printf 'docker:\n  %s:\n    use-sigstore-attachments: true\n' "$REGISTRY_R_ADDR" >"$T/rd/ember.yaml"
	printf '{"default": [{"type": "reject"}], "transports": {"docker": {"%s": [{"type": "sigstoreSigned", "keyPath": "%s", "signedIdentity": {"type": "matchRepoDigestOrExact"}}]}}}\n' \
		"$REGISTRY_R_ADDR" "$T/fleet.pub" >"$T/policy.json"
	# skopeo_t's environment, with the policy instead of --insecure-policy.
	skopeo_t --version >/dev/null
	local h=$T/.skopeo
	run env HOME="$h/home" XDG_DATA_HOME="$h/data" XDG_CONFIG_HOME="$h/config" XDG_CACHE_HOME="$h/cache" \
		XDG_RUNTIME_DIR="$h/run" TMPDIR="$h/tmp" _CONTAINERS_ROOTLESS_UID=4242 \
		REGISTRY_AUTH_FILE="$h/auth.json" CONTAINERS_REGISTRIES_CONF="$h/registries.conf" \
		skopeo --policy "$T/policy.json" --registries.d "$T/rd" --tmpdir "$h/tmp" \
		copy -q --src-tls-verify=false "docker://$REGISTRY_R_ADDR/test/pushed:v1" "oci:$T/back:latest"
	echo "$output"
	if [[ "$output" == *"Debian-local change: sigstore disabled"* ]]; then
		skip "this skopeo ($(skopeo --version)) is built with sigstore disabled"
	fi
	[ "$status" -eq 0 ]
	# And the other way: skopeo signs (a cosign-format encrypted key).
	printf 'secret\n' >"$T/pass"
	"$INFRA_PYTHON" "$INFRA_LIB/cosignkey.py" "$T/fleet.pem" "$T/pass" "$T/fleet.key"
	skopeo_t --registries.d "$T/rd" copy -q --dest-tls-verify=false --sign-by-sigstore-private-key "$T/fleet.key" \
		--sign-passphrase-file "$T/pass" "oci:$T/bb:latest" "docker://$REGISTRY_R_ADDR/test/skopeo:v1"
	stop_daemon
	prod_daemon
	run -0 e -n prod pull --plain-http "$REGISTRY_R_ADDR/test/skopeo:v1"
}
