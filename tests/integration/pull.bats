#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# ember pull against real registries (docker-registry on 127.0.0.1, see
# lib/registry.bash): plain HTTP, TLS, mutual TLS, basic and token auth,
# mirrors from hosts.toml, Docker Hub names, digests, platforms, labels
# and the progress output. Every test has its own daemon and registries.

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

MT_MANIFEST=application/vnd.oci.image.manifest.v1+json
MT_INDEX=application/vnd.oci.image.index.v1+json

# busybox_on NAME [MODE]: a registry NAME with busybox as test/busybox:latest;
# sets REF (its reference there), and M_* (see info_manifest).
busybox_on() {
	registry_start "$1" "${2:-plain}"
	image_busybox "$T/bb"
	local a=REGISTRY_$(infra_var "$1")_ADDR
	registry_push_oci "$T/bb" "${!a}/test/busybox:latest"
	REF=${!a}/test/busybox:latest
	info_manifest
}

# The three blobs of busybox, sorted.
busybox_blobs() {
	sorted_words "$IMAGE_DIGEST" "$M_CONFIG" $M_LAYERS
}

# assert_pulled REF: the last line of the output says REF was pulled as
# $IMAGE_DIGEST, and the record agrees.
assert_pulled() {
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${lines[-1]}" = "$1: pulled $IMAGE_DIGEST" ]
	[ "$(record_digest "$1")" = "$IMAGE_DIGEST" ]
}

# ---- plain HTTP ----------------------------------------------------------------

@test "pull: plain HTTP: the record names the manifest, check --verify is complete, the store holds its 3 blobs" {
	busybox_on r
	daemon_up
	run e pull --plain-http "$REF"
	assert_pulled "$REF"
	run -0 e images inspect "$REF"
	[ "$(jget 'j["name"]' <<<"$output")" = "$REF" ]
	[ "$(jget 'j["target"]' <<<"$output")" = "{\"digest\": \"$IMAGE_DIGEST\", \"mediaType\": \"$MT_MANIFEST\", \"size\": $(ijson 'j["size"]')}" ]
	[ "$(jget 'j["labels"]' <<<"$output")" = "{}" ]
	assert_complete "$REF"
	[ "${lines[-1]}" = "$REF: complete (3/3 blobs, verified)" ]
	[ "$(store_digests)" = "$(busybox_blobs)" ]
	# Byte for byte what skopeo pushed.
	local d
	for d in $(busybox_blobs); do
		cmp "$(blob_path "$d")" "$(layout_blob "$T/bb" "$d")"
	done
	[ "$(ingests_json | jget 'len(j)')" = 0 ]
	[ "$(image_names)" = "$REF" ]
}

@test "pull: a second pull of the same image fetches no blob" {
	busybox_on r
	faultproxy_start p r
	daemon_up
	local ref=$PROXY_P_ADDR/test/busybox:latest
	run e pull --plain-http "$ref"
	assert_pulled "$ref"
	# The first pull fetched the config and the layer once each.
	[ "$(plog_count p "$(is_blob_get "$M_CONFIG")")" = 1 ]
	[ "$(plog_count p "$(is_blob_get $M_LAYERS)")" = 1 ]
	local n created
	n=$(plog_lines p)
	created=$(e images inspect "$ref" | jget 'j["created_at"]')
	run e pull --plain-http "$ref"
	assert_pulled "$ref"
	[[ "$output" == *"${M_LAYERS} exists ("* ]]
	# Only the manifest was asked for again; not one blob.
	[ "$(plog_after p "$n" | wc -l)" -ge 1 ]
	[ "$(plog_after p "$n" "'/blobs/' in r['path']" | wc -l)" = 0 ]
	[ "$(plog_after p "$n" "r['path'] == '/v2/test/busybox/manifests/latest'" | wc -l)" = 1 ]
	# The same record, updated.
	[ "$(e images inspect "$ref" | jget 'j["created_at"]')" = "$created" ]
	[ "$(store_digests)" = "$(busybox_blobs)" ]
}

@test "pull: Docker Hub names are normalised (busybox is docker.io/library/busybox:latest)" {
	busybox_on r
	registry_push_oci "$T/bb" "$REGISTRY_R_ADDR/library/busybox:latest"
	registry_push_oci "$T/bb" "$REGISTRY_R_ADDR/someone/tool:1.0"
	faultproxy_start p r
	# docker.io is this registry (through the proxy, which logs the paths).
	hosts_toml docker.io <<EOF
server = "http://$PROXY_P_ADDR"
EOF
	daemon_up
	run e pull busybox
	assert_pulled docker.io/library/busybox:latest
	run e pull someone/tool:1.0
	assert_pulled docker.io/someone/tool:1.0
	run e pull docker.io/busybox
	assert_pulled docker.io/library/busybox:latest
	run e pull index.docker.io/library/busybox:latest
	assert_pulled docker.io/library/busybox:latest
	[ "$(image_names)" = "$(sorted_words docker.io/library/busybox:latest docker.io/someone/tool:1.0)" ]
	# What went on the wire: the library/ path, the tag.
	[ "$(plog_count p "r['path'] == '/v2/library/busybox/manifests/latest'")" = 3 ]
	[ "$(plog_count p "r['path'] == '/v2/someone/tool/manifests/1.0'")" = 1 ]
	[ "$(plog_count p "'/manifests/' in r['path']")" = 4 ]
	# The short forms name the same records.
	[ "$(record_digest busybox)" = "$IMAGE_DIGEST" ]
	[ "$(record_digest library/busybox:latest)" = "$IMAGE_DIGEST" ]
	[ "$(e images inspect someone/tool:1.0 | jget 'j["name"]')" = docker.io/someone/tool:1.0 ]
	assert_complete busybox
}

@test "pull: --label labels the image; a malformed --label is a usage error" {
	busybox_on r
	daemon_up
	run e pull --plain-http --label team=edge --label ota.channel=beta "$REF"
	assert_pulled "$REF"
	[ "$(e images inspect "$REF" | jget 'j["labels"]')" = '{"ota.channel": "beta", "team": "edge"}' ]
	run -2 e pull --plain-http --label novalue "$REF"
	[[ "$output" == *"--label wants KEY=VALUE"* ]]
	run -2 e pull --plain-http --label =x "$REF"
	[[ "$output" == *"--label wants KEY=VALUE"* ]]
	# The record kept the labels of the good pull.
	[ "$(e images inspect "$REF" | jget 'j["labels"]')" = '{"ota.channel": "beta", "team": "edge"}' ]
}

@test "pull: by digest (REF@sha256:...) fetches that manifest; an unknown digest is NotFound" {
	busybox_on r
	faultproxy_start p r
	daemon_up
	local ref=$PROXY_P_ADDR/test/busybox@$IMAGE_DIGEST
	run e pull --plain-http "$ref"
	assert_pulled "$ref"
	[ "$(plog_count p "r['path'] == '/v2/test/busybox/manifests/$IMAGE_DIGEST'")" = 1 ]
	[ "$(plog_count p "r['path'].endswith('/manifests/latest')")" = 0 ]
	[ "$(image_names)" = "$ref" ]
	assert_complete "$ref"
	# A well-formed digest the registry does not have.
	local none=sha256:$(printf 'no such manifest' | sha256sum | cut -d' ' -f1)
	run -1 e --debug pull --plain-http "$PROXY_P_ADDR/test/busybox@$none"
	echo "$output"
	[[ "$output" == *"HTTP 404"* ]]
	[[ "$output" == *"io.ember.NotFound"* ]]
	assert_no_image "$PROXY_P_ADDR/test/busybox@$none"
	# A malformed one never reaches the registry.
	local n
	n=$(plog_lines p)
	run -1 e pull --plain-http "$PROXY_P_ADDR/test/busybox@sha256:1234"
	[[ "$output" == *"invalid reference"* ]]
	[ "$(plog_lines p)" = "$n" ]
	[ "$(image_names)" = "$ref" ]
}

# ---- platforms ---------------------------------------------------------------------

# The multiarch index on registry r, behind proxy p; sets REF (through p).
multiarch_on() {
	registry_start r
	image_multiarch "$T/ma"
	registry_push_oci "$T/ma" "$REGISTRY_R_ADDR/test/ma:latest"
	faultproxy_start p r
	REF=$PROXY_P_ADDR/test/ma:latest
}

# fetched DIGEST: how many times the proxy served it (manifest or blob).
fetched() {
	plog_count p "r['method'] == 'GET' and r['path'].endswith('/$1') and r['status'] == 200"
}

@test "pull: an index: the host's platform by default, --platform picks another, --all-platforms takes every one" {
	multiarch_on
	daemon_up
	local host arm64=linux/arm64/v8
	host=$(image_host_platform)
	[ "$host" = linux/arm64/v8 ] && arm64=linux/amd64
	info_manifest "$host"
	local h_manifest=$M_DIGEST h_config=$M_CONFIG h_layer=$M_LAYERS
	info_manifest linux/arm/v7
	local v7_manifest=$M_DIGEST v7_config=$M_CONFIG v7_layer=$M_LAYERS
	info_manifest "$arm64"
	local o_manifest=$M_DIGEST o_config=$M_CONFIG o_layer=$M_LAYERS

	# Default: this machine's platform.
	run e pull --plain-http "$REF"
	assert_pulled "$REF"
	[ "$(e images inspect "$REF" | jget 'j["target"]["mediaType"]')" = "$MT_INDEX" ]
	[ "$(fetched "$h_manifest")" = 1 ] && [ "$(fetched "$h_config")" = 1 ] && [ "$(fetched "$h_layer")" = 1 ]
	[ "$(fetched "$v7_manifest")" = 0 ] && [ "$(fetched "$v7_layer")" = 0 ]
	[ "$(fetched "$o_manifest")" = 0 ] && [ "$(fetched "$o_layer")" = 0 ]
	[ "$(store_digests)" = "$(sorted_words "$IMAGE_DIGEST" "$h_manifest" "$h_config" "$h_layer")" ]

	# --platform linux/arm/v7: the fake, told by its manifest, config and layer.
	run -0 e -n arm pull --plain-http --platform linux/arm/v7 "$REF"
	echo "$output"
	[ "${lines[-1]}" = "$REF: pulled $IMAGE_DIGEST" ]
	[ "$(fetched "$v7_manifest")" = 1 ] && [ "$(fetched "$v7_config")" = 1 ] && [ "$(fetched "$v7_layer")" = 1 ]
	[ "$(fetched "$o_manifest")" = 0 ]
	[ "$(store_digests)" = "$(sorted_words "$IMAGE_DIGEST" "$h_manifest" "$h_config" "$h_layer" \
		"$v7_manifest" "$v7_config" "$v7_layer")" ]
	# The host's blobs were not fetched again.
	[ "$(fetched "$h_layer")" = 1 ]
	[ "$(cat "$(blob_path "$v7_manifest")" | sha256sum | cut -d' ' -f1)" = "${v7_manifest#sha256:}" ]

	# --all-platforms: every manifest, config and layer of the index.
	run -0 e -n all pull --plain-http --all-platforms "$REF"
	echo "$output"
	[ "${lines[-1]}" = "$REF: pulled $IMAGE_DIGEST" ]
	[ "$(fetched "$o_manifest")" = 1 ] && [ "$(fetched "$o_config")" = 1 ] && [ "$(fetched "$o_layer")" = 1 ]
	[ "$(store_digests)" = "$(sorted_words "$IMAGE_DIGEST" "$h_manifest" "$h_config" "$h_layer" \
		"$v7_manifest" "$v7_config" "$v7_layer" "$o_manifest" "$o_config" "$o_layer")" ]
	run -0 e -n all images check --verify --all-platforms "$REF"
	echo "$output"
	[ "${lines[-1]}" = "$REF: complete (10/10 blobs, verified)" ]
	# Without --all-platforms, check looks at this machine's platform: 4 blobs.
	run -0 e -n all images check "$REF"
	[ "${lines[-1]}" = "$REF: complete (4/4 blobs)" ]
	# Nothing was fetched twice over the three pulls.
	[ "$(plog_count p "'/blobs/' in r['path'] and r['status'] == 200")" = 6 ]
}

@test "pull: a default-platform pull of an index is complete for images check" {
	multiarch_on
	daemon_up
	run e pull --plain-http "$REF"
	assert_pulled "$REF"
	# The pull succeeded and wrote the record: what it promised is there.
	assert_complete "$REF"
}

@test "pull: a platform the index lacks is a clear error (exit 1, no image, nothing fetched)" {
	multiarch_on
	daemon_up
	run -1 e --debug pull --plain-http --platform windows/s390x "$REF"
	echo "$output"
	[[ "$output" == *"no manifest for platform windows/s390x in index (has: linux/arm/v7, linux/arm64/v8, linux/amd64)"* ]]
	[[ "$output" == *"io.ember.NotFound"* ]]
	assert_no_image "$REF"
	[ "$(image_names)" = "" ]
	[ "$(plog_count p "'/blobs/' in r['path']")" = 0 ]
	# A malformed platform is refused before any request.
	local n
	n=$(plog_lines p)
	run -1 e pull --plain-http --platform 'linux//' "$REF"
	echo "$output"
	[[ "$output" == *"platform"* ]]
	[ "$(plog_lines p)" = "$n" ]
	assert_no_image "$REF"
}

# ---- TLS ---------------------------------------------------------------------------

# The registry's certificate names localhost, 127.0.0.1 and ::1. The TLS
# tests but the first reach it as localhost:PORT (see the first test).

@test "pull: TLS to a registry at an IP address (127.0.0.1), with the test CA in [host.\"https://127.0.0.1:PORT\"] ca" {
	busybox_on sec tls
	local a=$REGISTRY_SEC_ADDR
	hosts_toml "$a" <<EOF
[host."https://$a"]
  ca = "$REGISTRY_SEC_CA"
EOF
	daemon_up
	# curl verifies this with the same CA (the certificate has IP:127.0.0.1).
	curl -sf -o /dev/null --cacert "$REGISTRY_SEC_CA" "https://$a/v2/"
	run e pull "$REF"
	assert_pulled "$REF"
	assert_complete "$REF"
}

@test "pull: TLS to an IP address whose certificate does not name that address is refused" {
	# A certificate from a CA we trust, for localhost only (no IP:127.0.0.1):
	# the chain verifies, the address does not match.
	local d=$T/noip port
	mkdir -p "$d"
	(
		cd "$d"
		openssl req -x509 -nodes -newkey rsa:2048 -keyout ca.key -out ca.pem -days 30 -subj "/CN=test CA" \
			-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign
		openssl req -new -nodes -newkey rsa:2048 -keyout srv.key -out srv.csr -subj "/CN=localhost"
		printf '%s\n' "subjectAltName=DNS:localhost" "basicConstraints=critical,CA:FALSE" \
			"keyUsage=critical,digitalSignature,keyEncipherment" "extendedKeyUsage=serverAuth" >srv.ext
		openssl x509 -req -in srv.csr -CA ca.pem -CAkey ca.key -set_serial 5 -days 30 -extfile srv.ext -out srv.pem
	) >"$d/openssl.log" 2>&1
	port=$(infra_free_port)
	"$PYTHON" -c '
import http.server, ssl, sys
srv = http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), http.server.SimpleHTTPRequestHandler)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(sys.argv[2], sys.argv[3])
srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
srv.serve_forever()' "$port" "$d/srv.pem" "$d/srv.key" >"$d/server.log" 2>&1 &
	NOIP_PID=$!
	infra_wait 10 curl -sk -o /dev/null "https://127.0.0.1:$port/"
	hosts_toml "127.0.0.1:$port" <<EOF
[host."https://127.0.0.1:$port"]
  ca = "$d/ca.pem"
EOF
	daemon_up
	run e pull "127.0.0.1:$port/test/busybox:latest"
	kill "$NOIP_PID"; wait "$NOIP_PID" 2>/dev/null || true
	echo "$output"
	[ "$status" -eq 1 ]
	[[ "$output" == *"expected server name was not found"* ]]
	[ "$(e images ls -q)" = "" ]
}

@test "pull: TLS with the test CA in hosts.toml ([host.\"https://...\"] ca, or server + a relative ca)" {
	busybox_on sec tls
	local a=localhost:${REGISTRY_SEC_ADDR#*:}
	REF=$a/test/busybox:latest
	hosts_toml "$a" <<EOF
[host."https://$a"]
  ca = "$REGISTRY_SEC_CA"
EOF
	daemon_up
	run e pull "$REF"
	assert_pulled "$REF"
	assert_complete "$REF"
	# The other form, with a CA path relative to the hosts.toml directory.
	cp "$REGISTRY_SEC_CA" "$T/certs.d/$a/ca.crt"
	hosts_toml "$a" <<EOF
server = "https://$a"
ca = "ca.crt"
EOF
	e images rm "$REF"
	e content gc
	[ "$(store_digests)" = "" ]
	run e pull "$REF"
	assert_pulled "$REF"
	assert_complete "$REF"
}

@test "pull: TLS without the CA, or with another CA, is a clear certificate error; skip_verify = true works" {
	busybox_on sec tls
	local a=localhost:${REGISTRY_SEC_ADDR#*:}
	REF=$a/test/busybox:latest
	daemon_up
	run -1 e pull "$REF"
	echo "$output"
	[[ "$output" == *"$a"* ]]
	[[ "$output" == *[Cc]ertificate* || "$output" == *X.509* || "$output" == *x509* ]]
	assert_no_image "$REF"
	[ "$(store_digests)" = "" ]
	# A CA that did not sign it: the same.
	openssl req -x509 -nodes -newkey rsa:2048 -keyout "$T/other.key" -out "$T/other.pem" -days 1 \
		-subj "/CN=another CA" >/dev/null 2>&1
	hosts_toml "$a" <<EOF
server = "https://$a"
ca = "$T/other.pem"
EOF
	run -1 e pull "$REF"
	echo "$output"
	[[ "$output" == *[Cc]ertificate* || "$output" == *X.509* || "$output" == *x509* ]]
	assert_no_image "$REF"
	hosts_toml "$a" <<EOF
server = "https://$a"
skip_verify = true
EOF
	run e pull "$REF"
	assert_pulled "$REF"
	assert_complete "$REF"
}

@test "pull: mutual TLS with a client certificate from hosts.toml; without it the handshake fails" {
	busybox_on m mtls
	local a=localhost:${REGISTRY_M_ADDR#*:}
	REF=$a/test/busybox:latest
	hosts_toml "$a" <<EOF
server = "https://$a"
ca = "$REGISTRY_M_CA"
EOF
	daemon_up
	run -1 e pull "$REF"
	echo "$output"
	[[ "$output" == *"$a"* ]]
	assert_no_image "$REF"
	hosts_toml "$a" <<EOF
server = "https://$a"
ca = "$REGISTRY_M_CA"
client = [["$REGISTRY_M_CLIENT_CERT", "$REGISTRY_M_CLIENT_KEY"]]
EOF
	run e pull "$REF"
	assert_pulled "$REF"
	assert_complete "$REF"
}

# ---- authentication -------------------------------------------------------------------

@test "pull: basic auth with -u; without credentials or with a wrong password, a clear error" {
	busybox_on b basic
	daemon_up
	run -1 e --debug pull --plain-http "$REF"
	echo "$output"
	[[ "$output" == *"authentication required"* ]]
	[[ "$output" == *"io.ember.PermissionDenied"* ]]
	assert_no_image "$REF"
	run -1 e --debug pull --plain-http -u "$REGISTRY_B_USER:wrong" "$REF"
	echo "$output"
	[[ "$output" == *"the credentials were refused"* ]]
	[[ "$output" == *"io.ember.PermissionDenied"* ]]
	assert_no_image "$REF"
	[ "$(store_digests)" = "" ]
	run -2 e pull --plain-http -u nocolon "$REF"
	[[ "$output" == *"--user wants USER:PASSWORD"* ]]
	run e pull --plain-http -u "$REGISTRY_B_CREDS" "$REF"
	assert_pulled "$REF"
	assert_complete "$REF"
}

@test "pull: basic auth with credentials from docker_config (config.json)" {
	busybox_on b basic
	local auth
	auth=$(printf '%s' "$REGISTRY_B_CREDS" | base64 -w0)
	cat >"$T/docker.json" <<EOF
{"auths": {"other.example:5000": {"auth": "$(printf 'x:y' | base64 -w0)"},
           "$REGISTRY_B_ADDR": {"auth": "$auth"}}}
EOF
	daemon_up "docker_config = \"$T/docker.json\""
	run e pull --plain-http "$REF"
	assert_pulled "$REF"
	assert_complete "$REF"
	# A wrong password there: refused, clearly.
	cat >"$T/docker.json" <<EOF
{"auths": {"$REGISTRY_B_ADDR": {"auth": "$(printf '%s:wrong' "$REGISTRY_B_USER" | base64 -w0)"}}}
EOF
	e images rm "$REF"
	run -1 e pull --plain-http "$REF"
	echo "$output"
	[[ "$output" == *"the credentials were refused"* ]]
	assert_no_image "$REF"
	# -u wins over the file.
	run e pull --plain-http -u "$REGISTRY_B_CREDS" "$REF"
	assert_pulled "$REF"
}

@test "pull: token auth: one token request per scope for a whole multi-layer pull" {
	registry_start tok token
	image_big "$T/big" 8
	info_manifest
	registry_push_oci "$T/big" "$REGISTRY_TOK_ADDR/test/big:latest"
	local ref=$REGISTRY_TOK_ADDR/test/big:latest
	daemon_up
	local before
	before=$(wc -l <"$REGISTRY_TOK_TOKEN_LOG")
	run e pull --plain-http -u "$REGISTRY_TOK_CREDS" "$ref"
	assert_pulled "$ref"
	assert_complete "$ref"
	[ "$(wc -w <<<"$M_LAYERS")" = 5 ]
	# Manifest, config and five layers: one token, for one scope.
	tail -n +"$((before + 1))" "$REGISTRY_TOK_TOKEN_LOG" >"$T/tokens"
	cat "$T/tokens"
	[ "$(wc -l <"$T/tokens")" = 1 ]
	[ "$(jget 'j["scopes"]' <"$T/tokens")" = '["repository:test/big:pull"]' ]
	[ "$(jget 'j["auth"]' <"$T/tokens")" = basic ]
	[ "$(jget 'j["account"]' <"$T/tokens")" = "$REGISTRY_TOK_USER" ]
	[ "$(jget 'j["ok"]' <"$T/tokens")" = true ]
}

@test "pull: token auth: a wrong password or none is a clear error; anonymous pull when the server allows it" {
	busybox_on tok token
	daemon_up
	run -1 e --debug pull --plain-http -u "$REGISTRY_TOK_USER:wrong" "$REF"
	echo "$output"
	[[ "$output" == *"fetch token from $REGISTRY_TOK_TOKEN_REALM"* ]]
	[[ "$output" == *"HTTP 401"* ]]
	[[ "$output" == *"io.ember.PermissionDenied"* ]]
	assert_no_image "$REF"
	run -1 e pull --plain-http "$REF"
	echo "$output"
	[[ "$output" == *"401"* ]]
	assert_no_image "$REF"
	echo '{"anonymous": "pull"}' >"$REGISTRY_TOK_TOKEN_CONTROL"
	run e pull --plain-http "$REF"
	assert_pulled "$REF"
	[ "$(tail -1 "$REGISTRY_TOK_TOKEN_LOG" | jget 'j["auth"]')" = none ]
}

# ---- mirrors ------------------------------------------------------------------------------

# Registry r with busybox, reached through proxy "server" (as the server of
# hosts.toml) and proxy "mirror" (as a mirror in front of it).
mirror_setup() {
	busybox_on r
	faultproxy_start server r
	faultproxy_start mirror r
	REF=$PROXY_SERVER_ADDR/test/busybox:latest
}

# mirror_setup, with a mirror in hosts.toml that nothing listens on (its
# address in DEAD), and the daemon up.
dead_mirror_setup() {
	mirror_setup
	DEAD=127.0.0.1:$(infra_free_port)
	hosts_toml "$PROXY_SERVER_ADDR" <<EOF
server = "http://$PROXY_SERVER_ADDR"
[host."http://$DEAD"]
  capabilities = ["pull", "resolve"]
EOF
	daemon_up
}

@test "pull: a mirror in hosts.toml is used first" {
	mirror_setup
	hosts_toml "$PROXY_SERVER_ADDR" <<EOF
server = "http://$PROXY_SERVER_ADDR"
[host."http://$PROXY_MIRROR_ADDR"]
  capabilities = ["pull", "resolve"]
EOF
	daemon_up
	run e pull "$REF"
	assert_pulled "$REF"
	assert_complete "$REF"
	[ "$(plog_count mirror "r['path'] == '/v2/test/busybox/manifests/latest' and r['status'] == 200")" = 1 ]
	[ "$(plog_count mirror "$(is_blob_get $M_LAYERS) and r['status'] == 200")" = 1 ]
	[ "$(plog_count mirror "$(is_blob_get "$M_CONFIG") and r['status'] == 200")" = 1 ]
	[ "$(plog_lines server)" = 0 ]
}

@test "pull: a dead mirror falls back to the server" {
	dead_mirror_setup
	run e pull "$REF"
	assert_pulled "$REF"
	assert_complete "$REF"
	[ "$(plog_count server "r['path'] == '/v2/test/busybox/manifests/latest' and r['status'] == 200")" = 1 ]
	[ "$(plog_count server "$(is_blob_get $M_LAYERS) and r['status'] == 200")" = 1 ]
}

@test "pull: when every host fails, the error names each host and why" {
	dead_mirror_setup
	run -1 e pull "$PROXY_SERVER_ADDR/test/busybox:nope"
	echo "$output"
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == *"$PROXY_SERVER_ADDR"*"HTTP 404"* ]]
	[[ "$output" == *"tried before: $DEAD: "* ]]
}

@test "pull: a mirror that answers 404 falls back to the server" {
	mirror_setup
	# An empty registry as the mirror: 404 for everything of test/busybox.
	registry_start empty
	faultproxy_start m404 empty
	hosts_toml "$PROXY_SERVER_ADDR" <<EOF
server = "http://$PROXY_SERVER_ADDR"
[host."http://$PROXY_M404_ADDR"]
  capabilities = ["pull", "resolve"]
EOF
	daemon_up
	run e pull "$REF"
	assert_pulled "$REF"
	assert_complete "$REF"
	[ "$(plog_count m404 "r['path'] == '/v2/test/busybox/manifests/latest' and r['status'] == 404")" -ge 1 ]
	[ "$(plog_count server "r['path'] == '/v2/test/busybox/manifests/latest' and r['status'] == 200")" = 1 ]
	[ "$(plog_count server "$(is_blob_get $M_LAYERS) and r['status'] == 200")" = 1 ]
}

# ---- progress -----------------------------------------------------------------------------

@test "pull: progress: plain lines per blob and state; --json lines with the phases resolving, fetching, unpacking, done" {
	busybox_on r
	daemon_up
	run -0 --separate-stderr e pull --plain-http "$REF"
	printf '%s\n' "${lines[@]}"
	[ "${lines[-1]}" = "$REF: pulled $IMAGE_DIGEST" ]
	local l seen=
	for l in "${lines[@]:0:${#lines[@]}-1}"; do
		[[ "$l" =~ ^(sha256:[0-9a-f]{64})\ (waiting|downloading|retrying|committing|done|exists|unpacking|unpacked)\ \((.+)\)$ ]]
		[ "${BASH_REMATCH[1]}" = "$M_LAYERS" ]
		[ "${BASH_REMATCH[3]}" = "1008.4 KiB" ]
		seen+="${BASH_REMATCH[2]} "
	done
	# Each state once, in order (the commit, fsync and rename, runs as a
	# job; the unpack may start before "done" is shown), ending with the
	# layer unpacked.
	[[ "$seen" =~ ^(waiting\ )?downloading\ (committing\ )?(done\ )?unpacking\ unpacked\ $ ]]

	# --json: JSON lines (on a fresh store, so the layer is fetched again).
	e images rm "$REF"
	e content gc
	run -0 --separate-stderr e --json pull --plain-http "$REF"
	printf '%s\n' "${lines[@]}" >"$T/progress.jsonl"
	cat "$T/progress.jsonl"
	"$PYTHON" - "$T/progress.jsonl" "$M_LAYERS" "$IMAGE_DIGEST" "$REF" <<'EOF'
import json, sys
path, layer, digest, ref = sys.argv[1:]
recs = [json.loads(l) for l in open(path)]
phases = [r["phase"] for r in recs]
# resolving before fetching before unpacking before done, each present
order = {"resolving": 0, "fetching": 1, "unpacking": 2, "done": 3}
assert set(phases) == set(order), phases
assert [order[p] for p in phases] == sorted(order[p] for p in phases), phases
last = recs[-1]
assert last["image"]["name"] == ref and last["image"]["target"]["digest"] == digest, last
for r in recs[:-1]:
    assert r["reference"] == ref, r
    for b in r["blobs"]:
        assert set(b) >= {"digest", "size", "offset", "status"}, b
        assert b["digest"] == layer and b["size"] == 1032571, b
        assert 0 <= b["offset"] <= b["size"], b
        assert b["status"] in ("waiting", "downloading", "retrying", "committing", "done", "exists", "unpacking", "unpacked"), b
done = [r for r in recs if r["phase"] == "done" and "blobs" in r]
assert done and all(b["status"] == "unpacked" and b["offset"] == b["size"] for b in done[-1]["blobs"]), done
EOF
}

# ---- more ---------------------------------------------------------------------------------

@test "pull: two pulls of the same image at once both succeed, and each blob is fetched once" {
	busybox_on r
	faultproxy_start p r
	# The layer takes a second: the pulls overlap.
	faultproxy_set p "{\"rules\": [{\"path\": \"/blobs/$M_LAYERS\", \"delay\": 1}]}"
	daemon_up
	local ref=$PROXY_P_ADDR/test/busybox:latest
	timeout 120 "$EMBER" --address "$SOCK" -n one pull --plain-http "$ref" >"$T/one.out" 2>&1 &
	local p1=$!
	timeout 120 "$EMBER" --address "$SOCK" -n two pull --plain-http "$ref" >"$T/two.out" 2>&1 &
	local p2=$!
	bg_track "$p1" "$p2"
	local r1=0 r2=0
	wait "$p1" || r1=$?
	wait "$p2" || r2=$?
	cat "$T/one.out" "$T/two.out"
	[ "$r1" = 0 ] && [ "$r2" = 0 ]
	[ "$(tail -1 "$T/one.out")" = "$ref: pulled $IMAGE_DIGEST" ]
	[ "$(tail -1 "$T/two.out")" = "$ref: pulled $IMAGE_DIGEST" ]
	assert_complete "$ref" one
	assert_complete "$ref" two
	[ "$(plog_count p "$(is_blob_get $M_LAYERS) and r['status'] == 200")" = 1 ]
	[ "$(store_digests)" = "$(busybox_blobs)" ]
}

@test "pull: a token the registry stops taking (401 invalid_token) is replaced by a fresh one" {
	busybox_on tok token
	faultproxy_start p tok
	# Once, the layer's request is refused as a registry refuses an expired
	# or revoked token. (Tokens that expire by the clock are no test here:
	# ember treats every token as good for at least 60 s, as the token
	# spec says, and docker-registry allows 60 s of skew.)
	local challenge="Bearer realm=\\\"$REGISTRY_TOK_TOKEN_REALM\\\",service=\\\"ember-test-registry\\\",scope=\\\"repository:test/busybox:pull\\\",error=\\\"invalid_token\\\""
	faultproxy_set p "{\"rules\": [{\"path\": \"/blobs/$M_LAYERS\", \"method\": \"GET\", \"first\": 1, \"status\": 401, \"headers\": {\"WWW-Authenticate\": \"$challenge\"}}]}"
	daemon_up
	local ref=$PROXY_P_ADDR/test/busybox:latest before
	before=$(grep -c '"account": "ember"' "$REGISTRY_TOK_TOKEN_LOG" || true)
	run e pull --plain-http -u "$REGISTRY_TOK_CREDS" "$ref"
	assert_pulled "$ref"
	assert_complete "$ref"
	[ "$(plog_count p "$(is_blob_get $M_LAYERS) and r['status'] == 401 and r['auth']")" = 1 ]
	[ "$(plog_count p "$(is_blob_get $M_LAYERS) and r['status'] == 200 and r['auth']")" = 1 ]
	# One token at the start, one after the refusal.
	[ "$(grep -c '"account": "ember"' "$REGISTRY_TOK_TOKEN_LOG")" = $((before + 2)) ]
}

@test "pull: a hosts.toml with a wrong type is a clear error naming the file and line" {
	busybox_on r
	hosts_toml "$REGISTRY_R_ADDR" <<EOF
server = "http://$REGISTRY_R_ADDR"
ca = 5
EOF
	daemon_up
	run -1 e --debug pull "$REF"
	echo "$output"
	[[ "$output" == *"$T/certs.d/$REGISTRY_R_ADDR/hosts.toml:2:"* ]]
	[[ "$output" == *'"ca" must be a string or an array of strings'* ]]
	[[ "$output" == *"io.ember.InvalidArgument"* ]]
	assert_no_image "$REF"
	hosts_toml "$REGISTRY_R_ADDR" <<EOF
server = "ftp://$REGISTRY_R_ADDR"
EOF
	run -1 e pull "$REF"
	echo "$output"
	[[ "$output" == *"unsupported scheme"* ]]
	# Fixed, it works (server with http://: no --plain-http needed).
	hosts_toml "$REGISTRY_R_ADDR" <<EOF
server = "http://$REGISTRY_R_ADDR"
EOF
	run e pull "$REF"
	assert_pulled "$REF"
}
