#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# The test infrastructure of the pull/push tests, proved with independent
# tools only (umoci, skopeo, curl, openssl; no ember): the images of
# lib/image.bash, the registries, token server and fault proxy of
# lib/registry.bash.

bats_require_minimum_version 1.5.0
load lib/image
load lib/registry

setup() {
	T=$BATS_TEST_TMPDIR
}

teardown() {
	infra_cleanup
	assert_nothing_running
}

# No process is left whose command line names this test's directory.
assert_nothing_running() {
	local p left=
	for p in /proc/[0-9]*; do
		[ "${p#/proc/}" = $$ ] && continue
		if { tr '\0' ' ' <"$p/cmdline"; } 2>/dev/null | grep -qF "$BATS_TEST_TMPDIR/"; then
			left+=" ${p#/proc/}"
		fi
	done
	if [ -n "$left" ]; then
		echo "processes left running:$left" >&2
		return 1
	fi
}

# docker-registry 2.8 answers 404 for an OCI manifest asked for without an
# Accept header naming its type (it tries to convert it to schema 1).
ACCEPT='Accept: application/vnd.oci.image.manifest.v1+json'

sha() {
	sha256sum "$1" | cut -d' ' -f1
}

# blob DIR DIGEST: the path of a blob in an OCI layout.
blob() {
	echo "$1/blobs/sha256/${2#sha256:}"
}

# jq-like: a Python expression over the JSON file or stdin (bound to j);
# with --lines instead of a file, over each line of stdin.
jq_py() {
	"$INFRA_PYTHON" -c '
import json, sys
def out(j):
    v = eval(sys.argv[1])
    print(v if isinstance(v, str) else json.dumps(v, sort_keys=True))
if sys.argv[2:] == ["--lines"]:
    for line in sys.stdin:
        out(json.loads(line))
else:
    out(json.load(open(sys.argv[2]) if len(sys.argv) > 2 else sys.stdin))' "$@"
}

# The manifest "latest" points at, and its config.
manifest_of() {
	cat "$(blob "$1" "$(image_digest "$1")")"
}

# A busybox image pushed to REGISTRY as test/busybox; sets LAYER and SIZE.
push_busybox() {
	image_busybox "$T/bb"
	registry_push_oci "$T/bb" "$1/test/busybox:latest"
	LAYER=$(manifest_of "$T/bb" | jq_py 'j["layers"][0]["digest"]')
	SIZE=$(manifest_of "$T/bb" | jq_py 'j["layers"][0]["size"]')
	LAYER_FILE=$(blob "$T/bb" "$LAYER")
}

# ---- images -------------------------------------------------------------------------

@test "image: busybox is deterministic, well-formed, and umoci unpacks it" {
	"$INFRA_PYTHON" "$INFRA_LIB/mkimage.py" busybox "$T/a" >"$T/a.json"
	"$INFRA_PYTHON" "$INFRA_LIB/mkimage.py" busybox "$T/b" >"$T/b.json"
	diff -r "$T/a" "$T/b"
	image_busybox "$T/bb"
	[ "$IMAGE_DIGEST" = "$(jq_py 'j["digest"]' "$T/a.json")" ]
	[ "$(jq_py 'j["manifests"][0]["annotations"]["org.opencontainers.image.ref.name"]' "$T/bb/index.json")" = latest ]
	[ "$(jq_py 'j["imageLayoutVersion"]' "$T/bb/oci-layout")" = 1.0.0 ]
	# Every blob is named by its digest.
	local f
	for f in "$T/bb"/blobs/sha256/*; do
		[ "$(sha "$f")" = "$(basename "$f")" ]
	done
	manifest_of "$T/bb" >"$T/manifest.json"
	[ "$(jq_py 'len(j["layers"])' "$T/manifest.json")" = 1 ]
	[ "$(jq_py 'j["layers"][0]["mediaType"]' "$T/manifest.json")" = application/vnd.oci.image.layer.v1.tar+gzip ]
	local config layer
	config=$(blob "$T/bb" "$(jq_py 'j["config"]["digest"]' "$T/manifest.json")")
	layer=$(blob "$T/bb" "$(jq_py 'j["layers"][0]["digest"]' "$T/manifest.json")")
	[ "$(jq_py 'j["os"]' "$config")" = linux ]
	[ "linux/$(jq_py 'j["architecture"] + ("/" + j["variant"] if "variant" in j else "")' "$config")" = "$(image_host_platform)" ]
	[ "$(jq_py 'j["config"]["Cmd"]' "$config")" = '["sh"]' ]
	[[ "$(jq_py 'j["config"]["Env"][0]' "$config")" == PATH=*/bin* ]]
	# diff_id: the digest of the uncompressed tar; gzip has no name or time.
	[ "$(jq_py 'j["rootfs"]["diff_ids"][0]' "$config")" = "sha256:$(gzip -dc "$layer" | sha256sum | cut -d' ' -f1)" ]
	[ "$(od -An -tx1 -j4 -N4 "$layer" | tr -d ' ')" = 00000000 ]
	# Sorted entries, fixed mtimes, root-owned.
	gzip -dc "$layer" | tar -t >"$T/names"
	LC_ALL=C sort -c "$T/names"
	[ "$(gzip -dc "$layer" | tar -tv --numeric-owner | awk '{print $2, $4, $5}' | sort -u)" = "0/0 2023-11-14 22:13" ]

	run -0 umoci stat --image "$T/bb:latest"
	[[ "$output" == *"ember tests: busybox"* ]]
	umoci unpack --rootless --image "$T/bb:latest" "$T/bundle"
	local r=$T/bundle/rootfs
	cmp "$r/bin/busybox" /bin/busybox
	for f in sh ls cat echo true sleep; do
		[ "$(readlink "$r/bin/$f")" = busybox ]
	done
	grep -q '^root:x:0:0:' "$r/etc/passwd"
	grep -q '^root:x:0:' "$r/etc/group"
	[ "$(stat -c %a "$r/tmp")" = 1777 ]
	# It runs (a chroot is enough for this oracle).
	run -0 chroot "$r" /bin/sh -c 'echo hello from $(cat /etc/passwd | head -1 | cut -d: -f1)'
	[ "$output" = "hello from root" ]
}

@test "image: big has 5 layers (one zstd), thousands of files, and its whiteouts apply" {
	image_big "$T/big"
	local info=$IMAGE_INFO
	echo "$info"
	[ "$(jq_py 'len(j["manifests"][0]["layers"])' <<<"$info")" = 5 ]
	[ "$(jq_py '[l["mediaType"].rsplit("+", 1)[1] for l in j["manifests"][0]["layers"]]' <<<"$info")" = '["gzip", "zstd", "gzip", "gzip", "gzip"]' ]
	local total
	total=$(jq_py 'j["manifests"][0]["total"]' <<<"$info")
	[ "$total" -gt $((30 * 1024 * 1024)) ] && [ "$total" -lt $((50 * 1024 * 1024)) ]
	# The base layer is the busybox image's: one blob, shared.
	image_busybox "$T/bb"
	[ "$(manifest_of "$T/big" | jq_py 'j["layers"][0]["digest"]')" = "$(manifest_of "$T/bb" | jq_py 'j["layers"][0]["digest"]')" ]
	# skopeo reads it all, zstd included.
	run -0 skopeo_t inspect "oci:$T/big:latest"
	[ "$(jq_py 'len(j["Layers"])' <<<"$output")" = 5 ]
	# umoci 0.4.7 has no zstd: it refuses this layer as it is...
	run umoci unpack --rootless --image "$T/big:latest" "$T/direct"
	[ "$status" -ne 0 ]
	[[ "$output" == *"tar+zstd"* ]]
	# ...so image_unpack recompresses through skopeo first.
	image_unpack "$T/big" "$T/bundle"
	local r=$T/bundle/rootfs
	[ "$(cat "$r/etc/motd")" = "big image, layer 5" ]
	[ ! -e "$r/data/victim" ]
	[ ! -e "$r/data/victim-dir" ]
	[ ! -e "$r/data/random/random-3.bin" ]
	[ -s "$r/data/random/random-0.bin" ]
	[ "$(ls -A "$r/data/opaque")" = new ]
	[ -z "$(find "$r" -name '.wh.*')" ]
	[ "$(stat -c %h "$r/data/many/hardlink-to-f0000.txt")" = 2 ]
	[ "$(readlink "$r/data/many/symlink-to-f0001.txt")" = d01/f0001.txt ]
	[ -e "$r/usr/share/zoneinfo/UTC" ]
	[ "$(find "$r" -type f | wc -l)" -gt 3000 ]
	# The all-gzip variant: umoci unpacks it directly, to the same tree.
	image_big "$T/bigg" 40 gzip
	[ "$(jq_py '[l["mediaType"].rsplit("+", 1)[1] for l in j["manifests"][0]["layers"]]' <<<"$IMAGE_INFO")" = '["gzip", "gzip", "gzip", "gzip", "gzip"]' ]
	umoci unpack --rootless --image "$T/bigg:latest" "$T/bundleg"
	diff -r --no-dereference "$r" "$T/bundleg/rootfs"
	# A smaller one on request.
	image_big "$T/small" 8
	total=$(jq_py 'j["manifests"][0]["total"]' <<<"$IMAGE_INFO")
	[ "$total" -gt $((5 * 1024 * 1024)) ] && [ "$total" -lt $((12 * 1024 * 1024)) ]
}

@test "image: multiarch is an index, fakes first; skopeo and umoci select by platform" {
	image_multiarch "$T/ma"
	local index
	index=$(blob "$T/ma" "$IMAGE_DIGEST")
	[ "$(jq_py 'j["mediaType"]' "$index")" = application/vnd.oci.image.index.v1+json ]
	jq_py '[m["platform"]["os"] + "/" + m["platform"]["architecture"] + ("/" + m["platform"]["variant"] if "variant" in m["platform"] else "") for m in j["manifests"]]' "$index" >"$T/platforms"
	cat "$T/platforms"
	[ "$(jq_py 'len(j)' "$T/platforms")" = 3 ]
	grep -q '"linux/arm/v7"' "$T/platforms"
	[ "$(jq_py 'j[-1]' "$T/platforms")" = "$(image_host_platform)" ]
	# The host's entry is the busybox image, byte for byte.
	image_busybox "$T/bb"
	[ "$(jq_py 'j["manifests"][-1]["digest"]' "$index")" = "$IMAGE_DIGEST" ]
	# Every entry is a valid image: skopeo copies each by platform, umoci
	# unpacks it.
	image_unpack "$T/ma" "$T/host"
	cmp "$T/host/rootfs/bin/busybox" /bin/busybox
	image_unpack "$T/ma" "$T/armv7" --override-arch arm --override-variant v7
	[ "$(cat "$T/armv7/rootfs/etc/platform")" = linux/arm/v7 ]
	local other=arm64 want=linux/arm64/v8
	[ "$(uname -m)" = aarch64 ] && other=amd64 want=linux/amd64
	image_unpack "$T/ma" "$T/other" --override-arch "$other"
	[ "$(cat "$T/other/rootfs/etc/platform")" = "$want" ]
}

# ---- registries ------------------------------------------------------------------------

# push_and_compare NAME: push busybox, big and multiarch to registry NAME,
# read them back with skopeo (inspect and copy) and compare digests.
push_and_compare() {
	local addr=REGISTRY_$(infra_var "$1")_ADDR img d
	image_busybox "$T/bb"
	image_big "$T/big" 10
	image_multiarch "$T/ma"
	for img in bb big ma; do
		d=$(image_digest "$T/$img")
		registry_push_oci "$T/$img" "${!addr}/test/$img:v1"
		[ "$(registry_digest "${!addr}/test/$img:v1")" = "$d" ]
		run -0 registry_inspect "${!addr}/test/$img:v1" --raw
		[ "sha256:$(printf '%s' "$output" | sha256sum | cut -d' ' -f1)" = "$d" ]
	done
	# Read back: every blob as pushed.
	registry_pull_oci "${!addr}/test/big:v1" "$T/big-back"
	[ "$(image_digest "$T/big-back")" = "$(image_digest "$T/big")" ]
	for f in "$T/big"/blobs/sha256/*; do
		cmp "$f" "$T/big-back/blobs/sha256/$(basename "$f")"
	done
	registry_pull_oci "${!addr}/test/ma:v1" "$T/ma-back" --all
	[ "$(image_digest "$T/ma-back")" = "$(image_digest "$T/ma")" ]
	[ "$(ls "$T/ma-back/blobs/sha256" | wc -l)" = "$(ls "$T/ma/blobs/sha256" | wc -l)" ]
}

@test "registry: plain HTTP: push, inspect and copy back with skopeo; stop leaves nothing" {
	registry_start plain
	[[ "$REGISTRY_PLAIN_ADDR" == 127.0.0.1:* ]]
	[ "$REGISTRY_PLAIN_URL" = "http://$REGISTRY_PLAIN_ADDR" ]
	run -0 curl -sf "$REGISTRY_PLAIN_URL/v2/"
	push_and_compare plain
	run -0 curl -sf "$REGISTRY_PLAIN_URL/v2/_catalog"
	[ "$(jq_py 'sorted(j["repositories"])' <<<"$output")" = '["test/bb", "test/big", "test/ma"]' ]
	# Storage and logs stay in the test's directory.
	[ -d "$REGISTRY_PLAIN_DIR/storage/docker/registry/v2/repositories/test/bb" ]
	grep -q 'listening on 127.0.0.1:' "$REGISTRY_PLAIN_DIR/registry.log"
	# It listens on 127.0.0.1 only.
	local port=${REGISTRY_PLAIN_ADDR#*:}
	run ss -Hltn "sport = :$port"
	[[ "$output" == *"127.0.0.1:$port"* ]]
	[[ "$output" != *"*:$port"* ]]
	local pid=$REGISTRY_PLAIN_PID
	registry_stop plain
	run ! kill -0 "$pid"
	run curl -s "$REGISTRY_PLAIN_URL/v2/"
	[ "$status" -eq 7 ]
}

@test "registry: TLS: TLS 1.2 works, 1.1 is refused, the certificate names localhost and 127.0.0.1" {
	registry_start sec tls
	[ "$REGISTRY_SEC_URL" = "https://$REGISTRY_SEC_ADDR" ]
	[ -s "$REGISTRY_SEC_CA" ]
	cmp "$REGISTRY_SEC_CA" "$REGISTRY_SEC_CERTDIR/ca.crt"
	local port=${REGISTRY_SEC_ADDR#*:}
	run -0 curl -sf --tlsv1.2 --tls-max 1.2 --cacert "$REGISTRY_SEC_CA" "https://127.0.0.1:$port/v2/"
	run -0 curl -sf --tlsv1.2 --tls-max 1.2 --cacert "$REGISTRY_SEC_CA" "https://localhost:$port/v2/"
	run -0 openssl s_client -connect "127.0.0.1:$port" -tls1_2 -CAfile "$REGISTRY_SEC_CA" \
		-verify_hostname localhost -verify_return_error </dev/null
	[[ "$output" == *"Protocol  : TLSv1.2"* ]]
	[[ "$output" == *"Verify return code: 0 (ok)"* ]]
	run openssl s_client -connect "127.0.0.1:$port" -tls1_1 </dev/null
	[ "$status" -ne 0 ]
	# Without the CA, no.
	run curl -sf "https://127.0.0.1:$port/v2/"
	[ "$status" -eq 60 ]
	push_and_compare sec
}

@test "registry: basic auth: skopeo with credentials, 401 without" {
	registry_start auth basic
	[ "$REGISTRY_AUTH_CREDS" = "$REGISTRY_AUTH_USER:$REGISTRY_AUTH_PASS" ]
	[[ "$(cat "$REGISTRY_AUTH_HTPASSWD")" == "$REGISTRY_AUTH_USER:\$2y\$"* ]]
	run -0 curl -s -o /dev/null -w '%{http_code}' "$REGISTRY_AUTH_URL/v2/"
	[ "$output" = 401 ]
	run -0 curl -s -o /dev/null -w '%{http_code}' -u "$REGISTRY_AUTH_USER:wrong" "$REGISTRY_AUTH_URL/v2/"
	[ "$output" = 401 ]
	run -0 curl -sf -u "$REGISTRY_AUTH_CREDS" "$REGISTRY_AUTH_URL/v2/"
	image_busybox "$T/bb"
	run skopeo_t copy -q --dest-tls-verify=false "oci:$T/bb:latest" "docker://$REGISTRY_AUTH_ADDR/test/bb:latest"
	[ "$status" -ne 0 ]
	[[ "$output" == *"unauthorized"* || "$output" == *"authentication required"* ]]
	push_and_compare auth
}

@test "registry: TLS + basic auth, and mutual TLS" {
	registry_start tb tls-basic
	run -0 curl -s -o /dev/null -w '%{http_code}' --cacert "$REGISTRY_TB_CA" "$REGISTRY_TB_URL/v2/"
	[ "$output" = 401 ]
	push_busybox "$REGISTRY_TB_ADDR"
	[ "$(registry_digest "$REGISTRY_TB_ADDR/test/busybox:latest")" = "$(image_digest "$T/bb")" ]

	registry_start m mtls
	[ -s "$REGISTRY_M_CLIENT_CERT" ] && [ -s "$REGISTRY_M_CLIENT_KEY" ]
	run curl -s --cacert "$REGISTRY_M_CA" "$REGISTRY_M_URL/v2/"
	[ "$status" -ne 0 ]
	run -0 curl -sf --tls-max 1.2 --cacert "$REGISTRY_M_CA" --cert "$REGISTRY_M_CLIENT_CERT" \
		--key "$REGISTRY_M_CLIENT_KEY" "$REGISTRY_M_URL/v2/"
	registry_push_oci "$T/bb" "$REGISTRY_M_ADDR/test/busybox:latest"
	[ "$(registry_digest "$REGISTRY_M_ADDR/test/busybox:latest")" = "$(image_digest "$T/bb")" ]
}

# ---- the token server --------------------------------------------------------------------

# token_get NAME SCOPE [CURL-ARGS...]: a token from NAME's token server.
token_get() {
	local v=REGISTRY_$(infra_var "$1")_TOKEN_REALM
	curl -sS "${@:3}" "${!v}?service=ember-test-registry&scope=$2"
}

# jwt_part TOKEN 0|1: the header or claims, decoded.
jwt_part() {
	"$INFRA_PYTHON" -c '
import base64, sys
p = sys.argv[1].split(".")[int(sys.argv[2])]
print(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4)).decode())' "$1" "$2"
}

@test "token: the registry challenges, the token server issues a signed JWT it accepts" {
	registry_start tok token
	push_busybox "$REGISTRY_TOK_ADDR"
	# The challenge names the realm and the service.
	run -0 curl -s -D - -o /dev/null "$REGISTRY_TOK_URL/v2/test/busybox/manifests/latest"
	[[ "$output" == *" 401 "* ]]
	[[ "$output" == *"Bearer realm=\"$REGISTRY_TOK_TOKEN_REALM\",service=\"ember-test-registry\",scope=\"repository:test/busybox:pull\""* ]]
	# A token for pull, with the header docker-registry checks.
	run -0 token_get tok "repository:test/busybox:pull" -u "$REGISTRY_TOK_CREDS"
	local tok
	tok=$(jq_py 'j["token"]' <<<"$output")
	[ "$(jq_py 'j["access_token"]' <<<"$output")" = "$tok" ]
	[ "$(jq_py 'j["expires_in"]' <<<"$output")" = 300 ]
	[[ "$(jq_py 'j["issued_at"]' <<<"$output")" == 20*Z ]]
	jwt_part "$tok" 0 >"$T/header"
	jwt_part "$tok" 1 >"$T/claims"
	[ "$(jq_py 'j["alg"]' "$T/header")" = RS256 ]
	[ "$(jq_py 'len(j["x5c"])' "$T/header")" = 1 ]
	[[ "$(jq_py 'j["kid"]' "$T/header")" =~ ^([A-Z2-7]{4}:){11}[A-Z2-7]{4}$ ]]
	[ "$(jq_py 'j["iss"]' "$T/claims")" = ember-test-issuer ]
	[ "$(jq_py 'j["aud"]' "$T/claims")" = ember-test-registry ]
	[ "$(jq_py 'j["sub"]' "$T/claims")" = "$REGISTRY_TOK_USER" ]
	[ "$(jq_py 'j["access"]' "$T/claims")" = '[{"actions": ["pull"], "name": "test/busybox", "type": "repository"}]' ]
	# The x5c certificate is the one in the registry's rootcertbundle.
	[ "$(jq_py 'j["x5c"][0]' "$T/header")" = "$(openssl x509 -in "$REGISTRY_TOK_DIR/token/cert.pem" -outform DER | base64 -w0)" ]
	# The registry accepts it for pull...
	run -0 curl -sf -o "$T/m.json" -H "Authorization: Bearer $tok" \
		-H "$ACCEPT" "$REGISTRY_TOK_URL/v2/test/busybox/manifests/latest"
	cmp "$T/m.json" "$(blob "$T/bb" "$(image_digest "$T/bb")")"
	# ...but not for push.
	run -0 curl -s -o /dev/null -w '%{http_code}' -X POST -H "Authorization: Bearer $tok" \
		"$REGISTRY_TOK_URL/v2/test/busybox/blobs/uploads/"
	[ "$output" = 401 ]
	# A forged token (signed by another key) is refused.
	openssl req -x509 -nodes -newkey rsa:2048 -keyout "$T/k2.pem" -out "$T/c2.pem" -days 1 -subj /CN=forger 2>/dev/null
	local h c s
	h=$("$INFRA_PYTHON" -c '
import base64, json, sys
h = json.loads(open(sys.argv[1]).read())
h["x5c"] = [sys.argv[2]]
print(base64.urlsafe_b64encode(json.dumps(h).encode()).rstrip(b"=").decode())' "$T/header" "$(openssl x509 -in "$T/c2.pem" -outform DER | base64 -w0)")
	c=$(cut -d. -f2 <<<"$tok")
	s=$(printf '%s' "$h.$c" | openssl dgst -sha256 -sign "$T/k2.pem" | base64 -w0 | tr '+/' '-_' | tr -d '=')
	run -0 curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $h.$c.$s" \
		"$REGISTRY_TOK_URL/v2/test/busybox/manifests/latest"
	[ "$output" = 401 ]
}

@test "token: bad credentials, anonymous access, expires_in, OAuth2 POST, and the request log" {
	registry_start tok token
	push_busybox "$REGISTRY_TOK_ADDR"
	local before
	before=$(wc -l <"$REGISTRY_TOK_TOKEN_LOG")
	# skopeo's push asked for pull,push on the repository.
	[ "$before" -ge 1 ]
	grep -q '"scopes": \["repository:test/busybox:pull,push"\]' "$REGISTRY_TOK_TOKEN_LOG"
	grep -q '"granted": \[{"actions": \["pull", "push"\], "name": "test/busybox", "type": "repository"}\]' "$REGISTRY_TOK_TOKEN_LOG"
	# Wrong password, no credentials: 401.
	run -0 curl -s -o /dev/null -w '%{http_code}' -u "$REGISTRY_TOK_USER:nope" \
		"$REGISTRY_TOK_TOKEN_REALM?service=ember-test-registry&scope=repository:test/busybox:pull"
	[ "$output" = 401 ]
	run -0 curl -s -o /dev/null -w '%{http_code}' \
		"$REGISTRY_TOK_TOKEN_REALM?service=ember-test-registry&scope=repository:test/busybox:pull"
	[ "$output" = 401 ]
	[ "$(wc -l <"$REGISTRY_TOK_TOKEN_LOG")" = $((before + 2)) ]
	tail -2 "$REGISTRY_TOK_TOKEN_LOG" | grep -c '"ok": false' | grep -qx 2
	# The control file: anonymous pull, short tokens.
	echo '{"anonymous": "pull", "expires_in": 2}' >"$REGISTRY_TOK_TOKEN_CONTROL"
	run -0 token_get tok "repository:test/busybox:pull,push"
	local tok
	tok=$(jq_py 'j["token"]' <<<"$output")
	[ "$(jq_py 'j["expires_in"]' <<<"$output")" = 2 ]
	[ "$(jwt_part "$tok" 1 | jq_py 'j["exp"] - j["iat"]')" = 2 ]
	[ "$(jwt_part "$tok" 1 | jq_py 'j["access"][0]["actions"]')" = '["pull"]' ]
	run -0 curl -sf -o /dev/null -H "$ACCEPT" -H "Authorization: Bearer $tok" "$REGISTRY_TOK_URL/v2/test/busybox/manifests/latest"
	run -0 skopeo_t inspect --raw --no-creds --tls-verify=false "docker://$REGISTRY_TOK_ADDR/test/busybox:latest"
	# OAuth2: password grant with a refresh token, then the refresh grant.
	run -0 curl -sf -d grant_type=password -d service=ember-test-registry -d client_id=ember \
		-d access_type=offline -d "username=$REGISTRY_TOK_USER" -d "password=$REGISTRY_TOK_PASS" \
		--data-urlencode "scope=repository:test/busybox:pull repository:test/other:pull,push" \
		"$REGISTRY_TOK_TOKEN_REALM"
	local rt
	rt=$(jq_py 'j["refresh_token"]' <<<"$output")
	[ "$(jwt_part "$(jq_py 'j["access_token"]' <<<"$output")" 1 | jq_py 'len(j["access"])')" = 2 ]
	run -0 curl -sf -d grant_type=refresh_token -d service=ember-test-registry -d client_id=ember \
		-d "refresh_token=$rt" -d "scope=repository:test/busybox:pull" "$REGISTRY_TOK_TOKEN_REALM"
	tok=$(jq_py 'j["access_token"]' <<<"$output")
	run -0 curl -sf -o /dev/null -H "$ACCEPT" -H "Authorization: Bearer $tok" "$REGISTRY_TOK_URL/v2/test/busybox/manifests/latest"
	run -0 curl -s -o /dev/null -w '%{http_code}' -d grant_type=refresh_token -d service=ember-test-registry \
		-d refresh_token=unknown "$REGISTRY_TOK_TOKEN_REALM"
	[ "$output" = 401 ]
	# Every request was logged, one line each.
	"$INFRA_PYTHON" -c '
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
auths = [r["auth"] for r in recs]
assert "password" in auths and "refresh" in auths and "none" in auths, auths
assert all({"time", "method", "path", "status", "ok", "scopes"} <= set(r) for r in recs)' "$REGISTRY_TOK_TOKEN_LOG"
}

@test "token: ES256 signatures, and a TLS registry with token auth" {
	REGISTRY_TOKEN_ALG=ES256 registry_start es tls-token
	push_busybox "$REGISTRY_ES_ADDR"
	run -0 token_get es "repository:test/busybox:pull" -u "$REGISTRY_ES_CREDS"
	local tok
	tok=$(jq_py 'j["token"]' <<<"$output")
	[ "$(jwt_part "$tok" 0 | jq_py 'j["alg"]')" = ES256 ]
	run -0 curl -sf -o /dev/null --cacert "$REGISTRY_ES_CA" -H "$ACCEPT" -H "Authorization: Bearer $tok" \
		"$REGISTRY_ES_URL/v2/test/busybox/manifests/latest"
	[ "$(registry_digest "$REGISTRY_ES_ADDR/test/busybox:latest")" = "$(image_digest "$T/bb")" ]
}

# ---- the fault proxy -------------------------------------------------------------------------

# A plain registry with busybox, behind proxy "p"; BLOB_URL through it.
proxied_busybox() {
	registry_start up "${1:-plain}"
	push_busybox "$REGISTRY_UP_ADDR"
	faultproxy_start p up
	BLOB_URL=$PROXY_P_URL/v2/test/busybox/blobs/$LAYER
	LAYER_SHA=${LAYER#sha256:}
}

# last_log FIELD: FIELD of the proxy's last log record.
last_log() {
	tail -1 "$PROXY_P_LOG" | jq_py "j[\"$1\"]"
}

@test "proxy: passes requests through (skopeo pull and push), logging each" {
	proxied_busybox
	[[ "$PROXY_P_ADDR" == 127.0.0.1:* ]]
	run -0 curl -sf -o "$T/blob" "$BLOB_URL"
	[ "$(sha "$T/blob")" = "$LAYER_SHA" ]
	[ "$(last_log status)" = 200 ] && [ "$(last_log bytes)" = "$SIZE" ] && [ "$(last_log length)" = "$SIZE" ]
	[ "$(last_log fault)" = null ]
	registry_pull_oci "$PROXY_P_ADDR/test/busybox:latest" "$T/back"
	[ "$(image_digest "$T/back")" = "$(image_digest "$T/bb")" ]
	# A push through it: the registry's upload URLs point back at the proxy.
	image_big "$T/big" 6
	registry_push_oci "$T/big" "$PROXY_P_ADDR/test/big:latest"
	[ "$(registry_digest "$REGISTRY_UP_ADDR/test/big:latest")" = "$(image_digest "$T/big")" ]
	run -0 faultproxy_log p 'r["method"] == "PUT" and "/blobs/uploads/" in r["path"]'
	[ "${#lines[@]}" -ge 5 ]
	run -0 faultproxy_log p 'r["method"] == "PUT" and "/manifests/" in r["path"] and r["status"] == 201'
	[ "${#lines[@]}" -eq 1 ]
	# HEAD keeps the length and sends no body.
	run -0 curl -sfI "$BLOB_URL"
	[[ "$output" == *"Content-Length: $SIZE"* ]]
	[ "$(last_log bytes)" = 0 ] && [ "$(last_log method)" = HEAD ]
	# No upstream: 502.
	registry_stop up
	run -0 curl -s -o /dev/null -w '%{http_code}' "$BLOB_URL"
	[ "$output" = 502 ]
	[[ "$(last_log upstream)" == *"refused"* ]]
}

@test "proxy: Range requests pass through; drop_after then a Range resume gets the rest" {
	proxied_busybox
	run -0 curl -sf -r 100-199 -D "$T/h" -o "$T/part" "$BLOB_URL"
	[ "$(stat -c %s "$T/part")" = 100 ]
	cmp "$T/part" <(tail -c +101 "$LAYER_FILE" | head -c 100)
	grep -qi "^Content-Range: bytes 100-199/$SIZE" "$T/h"
	[ "$(last_log range)" = bytes=100-199 ] && [ "$(last_log status)" = 206 ]
	# Dropped after 300000 bytes, once.
	faultproxy_set p '{"rules": [{"path": "/blobs/sha256:", "method": "GET", "first": 1, "drop_after": 300000}]}'
	run curl -sS -o "$T/got" "$BLOB_URL"
	[ "$status" -eq 18 ] # partial file
	[ "$(stat -c %s "$T/got")" = 300000 ]
	[ "$(last_log fault)" = drop_after ] && [ "$(last_log bytes)" = 300000 ] && [ "$(last_log length)" = "$SIZE" ]
	# The resume asks for the rest; the rule is spent.
	run -0 curl -sf -C - -o "$T/got" "$BLOB_URL"
	[ "$(sha "$T/got")" = "$LAYER_SHA" ]
	[ "$(last_log range)" = bytes=300000- ] && [ "$(last_log status)" = 206 ] && [ "$(last_log bytes)" = $((SIZE - 300000)) ]
	# What a test asserts on the log: the blob was served about once.
	local served
	served=$(faultproxy_log p '"/blobs/" in r["path"] and r["method"] == "GET" and r["range"] != "bytes=100-199"' |
		jq_py 'j["bytes"]' --lines | awk '{s += $1} END {print s}')
	[ "$served" -eq "$SIZE" ]
	# With a TCP reset instead.
	faultproxy_set p '{"rules": [{"path": "/blobs/", "first": 1, "drop_after": 1000, "reset": true}]}'
	run curl -sS -o "$T/got" "$BLOB_URL"
	[ "$status" -eq 56 ]
	[[ "$output" == *"Connection reset by peer"* ]]
}

@test "proxy: corrupt, truncate and oversize" {
	proxied_busybox
	faultproxy_set p '{"rules": [{"path": "/blobs/", "first": 1, "corrupt": true}]}'
	run -0 curl -sf -o "$T/c" "$BLOB_URL"
	[ "$(stat -c %s "$T/c")" = "$SIZE" ]
	[ "$(sha "$T/c")" != "$LAYER_SHA" ]
	[ "$(cmp -l "$T/c" "$LAYER_FILE" | wc -l)" = 1 ]
	[ "$(last_log fault)" = corrupt ]
	# Counts restart when the control file changes; offset and count.
	faultproxy_set p '{"rules": [{"path": "/blobs/", "first": 1, "corrupt": true, "offset": 0, "count": 4}]}'
	run -0 curl -sf -o "$T/c" "$BLOB_URL"
	[ "$(cmp -l "$T/c" "$LAYER_FILE" | awk '{print $1}' | paste -sd,)" = 1,2,3,4 ]
	run -0 curl -sf -o "$T/c" "$BLOB_URL"
	[ "$(sha "$T/c")" = "$LAYER_SHA" ]
	# truncate: the full length declared, the last byte missing.
	faultproxy_set p '{"rules": [{"path": "/blobs/", "truncate": true}]}'
	run curl -sS -D "$T/h" -o "$T/t" "$BLOB_URL"
	[ "$status" -eq 18 ]
	grep -qi "^Content-Length: $SIZE" "$T/h"
	[ "$(stat -c %s "$T/t")" = $((SIZE - 1)) ]
	faultproxy_set p '{"rules": [{"path": "/blobs/", "truncate": 1000}]}'
	run curl -sS -o "$T/t" "$BLOB_URL"
	[ "$(stat -c %s "$T/t")" = $((SIZE - 1000)) ]
	# oversize: garbage appended, the length says so.
	faultproxy_set p '{"rules": [{"path": "/blobs/", "oversize": 100}]}'
	run -0 curl -sf -D "$T/h" -o "$T/o" "$BLOB_URL"
	grep -qi "^Content-Length: $((SIZE + 100))" "$T/h"
	[ "$(stat -c %s "$T/o")" = $((SIZE + 100)) ]
	cmp -n "$SIZE" "$T/o" "$LAYER_FILE"
	# oversize keeping the length: the extra bytes follow the body, then close.
	faultproxy_set p '{"rules": [{"path": "/blobs/", "oversize": 100, "keep_length": true}]}'
	run curl -sS -D "$T/h" -o "$T/o" "$BLOB_URL"
	grep -qi "^Content-Length: $SIZE" "$T/h"
	[ "$(last_log bytes)" = $((SIZE + 100)) ]
}

@test "proxy: stall_after, status (429 with Retry-After, 500, 401), delay, method and range filters" {
	proxied_busybox
	faultproxy_set p '{"rules": [{"path": "/blobs/", "stall_after": 5000, "stall_seconds": 1.5}]}'
	local t0=$SECONDS
	run curl -sS -o "$T/s" "$BLOB_URL"
	[ "$status" -eq 18 ]
	[ "$(stat -c %s "$T/s")" = 5000 ]
	[ $((SECONDS - t0)) -ge 1 ]
	# A client that gives up first: the proxy notices and ends the stall.
	faultproxy_set p '{"rules": [{"path": "/blobs/", "stall_after": 5000, "stall_seconds": 60}]}'
	run curl -sS --max-time 1 -o "$T/s" "$BLOB_URL"
	[ "$status" -eq 28 ]
	infra_wait 5 grep -q '"fault": "stall_after"' "$PROXY_P_LOG"
	# status
	faultproxy_set p '{"rules": [{"path": "/manifests/", "status": 429, "retry_after": 3}]}'
	run -0 curl -s -D "$T/h" -o "$T/b" "$PROXY_P_URL/v2/test/busybox/manifests/latest"
	grep -q '^HTTP/1.1 429' "$T/h"
	grep -qi '^Retry-After: 3' "$T/h"
	[ "$(jq_py 'j["errors"][0]["code"]' "$T/b")" = TOOMANYREQUESTS ]
	[ "$(last_log status)" = 429 ] && [ "$(last_log upstream)" = null ]
	faultproxy_set p '{"rules": [{"path": "/blobs/", "first": 2, "status": 500}]}'
	for i in 1 2; do
		run -0 curl -s -o /dev/null -w '%{http_code}' "$BLOB_URL"
		[ "$output" = 500 ]
	done
	run -0 curl -s -o /dev/null -w '%{http_code}' "$BLOB_URL"
	[ "$output" = 200 ]
	faultproxy_set p '{"rules": [{"path": "^/v2/$", "status": 401, "headers": {"WWW-Authenticate": "Bearer realm=\"http://127.0.0.1:1/token\""}}]}'
	run -0 curl -s -D - -o /dev/null "$PROXY_P_URL/v2/"
	[[ "$output" == *" 401 "* ]] && [[ "$output" == *'WWW-Authenticate: Bearer realm="http://127.0.0.1:1/token"'* ]]
	# Filters: HEAD only; requests without Range only.
	faultproxy_set p '{"rules": [{"path": "/blobs/", "method": "HEAD", "status": 404},
		{"path": "/blobs/", "range": false, "drop_after": 10}]}'
	run -0 curl -s -I -o /dev/null -w '%{http_code}' "$BLOB_URL"
	[ "$output" = 404 ]
	run curl -s -o "$T/x" "$BLOB_URL"
	[ "$status" -eq 18 ]
	run -0 curl -sf -r 0- -o "$T/x" "$BLOB_URL"
	[ "$(sha "$T/x")" = "$LAYER_SHA" ]
	# delay
	faultproxy_set p '{"rules": [{"path": "/manifests/", "delay": 1}]}'
	t0=$(date +%s%N)
	run -0 curl -sf -o /dev/null -H "$ACCEPT" "$PROXY_P_URL/v2/test/busybox/manifests/latest"
	[ $(($(date +%s%N) - t0)) -ge 900000000 ]
	# A broken control file keeps the last good rules.
	echo '{"rules": [' >"$PROXY_P_CONTROL"
	run -0 curl -sf -o /dev/null "$BLOB_URL"
	grep -q 'bad control file' "$PROXY_P_DIR/proxy.err"
}

@test "proxy: redirect answers 307 to /_redirect/<path>, which serves the blob (with auth carried over)" {
	proxied_busybox basic
	faultproxy_set p '{"rules": [{"path": "/blobs/sha256:", "redirect": true}]}'
	run -0 curl -s -D "$T/h" -o /dev/null -u "$REGISTRY_UP_CREDS" "$BLOB_URL"
	grep -q '^HTTP/1.1 307' "$T/h"
	grep -qi "^Location: $PROXY_P_URL/_redirect/v2/test/busybox/blobs/$LAYER" "$T/h"
	run -0 curl -sfL -u "$REGISTRY_UP_CREDS" -o "$T/r" "$BLOB_URL"
	[ "$(sha "$T/r")" = "$LAYER_SHA" ]
	run -0 faultproxy_log p
	[ "$(sed -n 2p <<<"$output" | jq_py '[j["status"], j["fault"]]')" = '[307, "redirect"]' ]
	[ "$(sed -n 3p <<<"$output" | jq_py '[j["path"], j["status"], j["bytes"]]')" = "[\"/_redirect/v2/test/busybox/blobs/$LAYER\", 200, $SIZE]" ]
	# To "another host" (localhost): curl drops the credentials, as a client
	# must; the proxy serves it like a pre-signed URL.
	faultproxy_set p '{"rules": [{"path": "/blobs/sha256:", "redirect": true, "host": "localhost"}]}'
	run -0 curl -sfL -u "$REGISTRY_UP_CREDS" -o "$T/r" "$BLOB_URL"
	[ "$(sha "$T/r")" = "$LAYER_SHA" ]
	[ "$(last_log auth)" = false ]
	[[ "$(last_log path)" == /_redirect/* ]]
	# Faults compose: the second leg drops.
	faultproxy_set p '{"rules": [{"path": "/blobs/sha256:", "redirect": true}, {"path": "^/_redirect/", "drop_after": 10}]}'
	run curl -sL -u "$REGISTRY_UP_CREDS" -o "$T/r" "$BLOB_URL"
	[ "$status" -eq 18 ]
	# skopeo follows it too.
	faultproxy_set p '{"rules": [{"path": "/blobs/sha256:", "method": "GET", "redirect": true}]}'
	registry_pull_oci "$PROXY_P_ADDR/test/busybox:latest" "$T/back"
	[ "$(image_digest "$T/back")" = "$(image_digest "$T/bb")" ]
	run -0 faultproxy_log p 'r["path"].startswith("/_redirect/") and r["status"] == 200'
	[ "${#lines[@]}" -ge 2 ]
}

@test "proxy: in front of a TLS registry with token auth, as HTTP and as HTTPS" {
	registry_start up tls-token
	push_busybox "$REGISTRY_UP_ADDR"
	faultproxy_start p up
	[[ "$PROXY_P_URL" == http://* ]]
	registry_pull_oci "$PROXY_P_ADDR/test/busybox:latest" "$T/back"
	[ "$(image_digest "$T/back")" = "$(image_digest "$T/bb")" ]
	run -0 faultproxy_log p 'r["status"] == 401'
	[ "${#lines[@]}" -ge 1 ]
	grep -q '"auth": "basic"' "$REGISTRY_UP_TOKEN_LOG"
	# HTTPS, TLS 1.2, with the registry's certificate; redirects stay HTTPS.
	faultproxy_start s up tls
	[[ "$PROXY_S_URL" == https://127.0.0.1:* ]]
	faultproxy_set s '{"rules": [{"path": "/blobs/sha256:", "method": "GET", "redirect": true}]}'
	registry_pull_oci "$PROXY_S_ADDR/test/busybox:latest" "$T/back2"
	[ "$(image_digest "$T/back2")" = "$(image_digest "$T/bb")" ]
	run -0 faultproxy_log s 'r["path"].startswith("/_redirect/") and r["status"] == 200'
	[ "${#lines[@]}" -ge 1 ]
	run -0 curl -s --tlsv1.2 --tls-max 1.2 --cacert "$PROXY_S_CA" -D - -o /dev/null "$PROXY_S_URL/v2/"
	[[ "$output" == *" 401 "* ]]
	[ "$(grep -ci '^date:' <<<"$output")" = 1 ]
}

# ---- nothing outside the tests' directories ----------------------------------------------

@test "infra: skopeo_t writes nothing outside the test's directory (and needs nothing from /etc/containers)" {
	registry_start plain
	image_busybox "$T/bb"
	# In a private mount namespace, empty file systems over the places
	# skopeo would write as root (blob-info cache, auth, configs) and over
	# /etc/containers: skopeo works, and they are still empty afterwards.
	# (Shared directories cannot be watched instead: other users of the
	# machine may run skopeo at the same time.)
	# Private propagation, so nothing mounted here reaches the machine. In a
	# chroot whose / is not a mount point unshare cannot set it; there the
	# mounts are already private (the chroot was made in a private mount
	# namespace), and "unchanged" keeps them so.
	local prop=private
	unshare -m --propagation private true 2>/dev/null || prop=unchanged
	run unshare -m --propagation "$prop" env INFRA_TMPDIR="$T" A="$REGISTRY_PLAIN_ADDR" \
		bash -c '
set -e
dirs="/var/lib /root /var/tmp /run /etc/containers"
for d in $dirs; do mkdir -p "$d"; mount -n -t tmpfs ember-test "$d"; done
. "$1/image.bash"
skopeo_t copy -q "oci:$INFRA_TMPDIR/bb:latest" "oci:$INFRA_TMPDIR/copy:latest"
skopeo_t copy -q --dest-tls-verify=false "oci:$INFRA_TMPDIR/bb:latest" "docker://$A/test/bb:latest"
skopeo_t inspect --tls-verify=false "docker://$A/test/bb:latest" >/dev/null
skopeo_t copy -q --src-tls-verify=false "docker://$A/test/bb:latest" "oci:$INFRA_TMPDIR/back:latest"
find $dirs -mindepth 1' _ "$INFRA_LIB"
	echo "$output"
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	# Its cache is the test's.
	[ -s "$T/.skopeo/data/containers/cache/blob-info-cache-v1.boltdb" ]
	[ "$(image_digest "$T/back")" = "$(image_digest "$T/bb")" ]
}
