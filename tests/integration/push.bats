#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# ember push to real registries, read back with skopeo (the independent
# oracle): monolithic and chunked uploads, cross-repository mounts, basic
# and token auth, indexes, and skopeo pushes pulled with ember. The fault
# proxy's log shows what went over the wire.

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

# src_image KIND [DIR]: KIND (busybox, big, multiarch) built, pushed by
# skopeo to a source registry "src" as test/KIND:latest and pulled by
# ember (--all-platforms for an index); SRC is its local name.
src_image() {
	local kind=$1 dir=${2:-$T/$1}
	[ -n "${REGISTRY_SRC_ADDR:-}" ] || registry_start src
	case "$kind" in
	busybox) image_busybox "$dir" ;;
	big) image_big "$dir" 12 ;;
	multiarch) image_multiarch "$dir" ;;
	esac
	registry_push_oci "$dir" "$REGISTRY_SRC_ADDR/test/$kind:latest"
	SRC=$REGISTRY_SRC_ADDR/test/$kind:latest
	run e pull --plain-http --all-platforms "$SRC"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${lines[-1]}" = "$SRC: pulled $IMAGE_DIGEST" ]
}

# readback REF DIR LAYOUT: skopeo copies REF into DIR; its digest and every
# blob equal those of the OCI layout LAYOUT.
readback() {
	registry_pull_oci "$1" "$2"
	[ "$(image_digest "$2")" = "$(image_digest "$3")" ]
	local f n=0
	for f in "$2"/blobs/sha256/*; do
		cmp "$f" "$3/blobs/sha256/$(basename "$f")"
		n=$((n + 1))
	done
	[ "$n" -ge 3 ]
}

# The blobs of the host's manifest in $IMAGE_INFO: config and layers.
image_blob_count() {
	info_manifest
	echo $((1 + $(wc -w <<<"$M_LAYERS")))
}

@test "push: to a second registry; skopeo reads back the same digest and bytes" {
	daemon_up
	src_image busybox
	registry_start dst
	local dst=$REGISTRY_DST_ADDR/test/copy:v1
	run e push --plain-http "$dst" "$SRC"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${lines[-1]}" = "$dst: pushed" ]
	[ "$(registry_digest "$dst")" = "$IMAGE_DIGEST" ]
	run -0 registry_inspect "$dst" --raw
	[ "sha256:$(printf '%s' "$output" | sha256sum | cut -d' ' -f1)" = "$IMAGE_DIGEST" ]
	readback "$dst" "$T/back" "$T/busybox"
	# And a five-layer image with a zstd layer.
	src_image big
	run e push --plain-http "$REGISTRY_DST_ADDR/test/big:v1" "$SRC"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(registry_digest "$REGISTRY_DST_ADDR/test/big:v1")" = "$IMAGE_DIGEST" ]
	readback "$REGISTRY_DST_ADDR/test/big:v1" "$T/bigback" "$T/big"
	run -0 registry_inspect "$REGISTRY_DST_ADDR/test/big:v1"
	[ "$(jget 'len(j["Layers"])' <<<"$output")" = 5 ]
}

@test "push: REMOTE alone pushes the local image of that name" {
	daemon_up
	src_image busybox
	registry_start dst
	local dst=$REGISTRY_DST_ADDR/test/named:v2
	e images tag "$SRC" "$dst"
	run e push --plain-http "$dst"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(registry_digest "$dst")" = "$IMAGE_DIGEST" ]
}

@test "push: monolithic uploads: a POST and one PUT with digest= per blob, no PATCH" {
	daemon_up
	src_image big
	registry_start dst
	faultproxy_start p dst
	local dst=$PROXY_P_ADDR/test/mono:v1 nblobs
	nblobs=$(image_blob_count)
	run e push --plain-http "$dst" "$SRC"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(plog_count p "r['method'] == 'HEAD' and '/blobs/sha256:' in r['path'] and r['status'] == 404")" = "$nblobs" ]
	[ "$(plog_count p "r['method'] == 'POST' and r['path'].endswith('/blobs/uploads/') and r['status'] == 202")" = "$nblobs" ]
	[ "$(plog_count p "r['method'] == 'POST' and 'mount=' in r['query']")" = 0 ]
	[ "$(plog_count p "r['method'] == 'PATCH'")" = 0 ]
	[ "$(plog_count p "r['method'] == 'PUT' and '/blobs/uploads/' in r['path'] and 'digest=sha256' in r['query'] and r['status'] == 201")" = "$nblobs" ]
	[ "$(plog_count p "r['method'] == 'PUT' and r['path'] == '/v2/test/mono/manifests/v1' and r['status'] == 201")" = 1 ]
	# Every blob's PUT named that blob.
	local d
	for d in $M_CONFIG $M_LAYERS; do
		[ "$(plog_count p "r['method'] == 'PUT' and 'digest=$d' in r['query'].replace('%3A', ':')")" = 1 ]
	done
	[ "$(registry_digest "$REGISTRY_DST_ADDR/test/mono:v1")" = "$IMAGE_DIGEST" ]
	readback "$REGISTRY_DST_ADDR/test/mono:v1" "$T/back" "$T/big"
	# A second push sends no blob: the registry has them all.
	local n
	n=$(plog_lines p)
	run e push --plain-http "$dst" "$SRC"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"${M_LAYERS%% *} exists ("* ]]
	[ "$(plog_after p "$n" "r['method'] in ('POST', 'PATCH') or (r['method'] == 'PUT' and '/blobs/' in r['path'])" | wc -l)" = 0 ]
	[ "$(plog_after p "$n" "r['method'] == 'HEAD' and r['status'] == 200" | wc -l)" = "$nblobs" ]
}

@test "push: --chunk-size: PATCH chunks of that size, then a PUT with the digest" {
	daemon_up
	src_image busybox
	registry_start dst
	faultproxy_start p dst
	info_manifest
	local dst=$PROXY_P_ADDR/test/chunked:v1 layer_size
	layer_size=$(ijson 'j["manifests"][0]["layers"][0]["size"]')
	run e push --plain-http --chunk-size 256k "$dst" "$SRC"
	echo "$output"
	[ "$status" -eq 0 ]
	# The 1032571-byte layer in ceil(size / 256 KiB) = 4 chunks; the
	# 384-byte config in one PUT.
	local chunks=$(((layer_size + 262143) / 262144))
	[ "$chunks" = 4 ]
	[ "$(plog_count p "r['method'] == 'PATCH' and '/blobs/uploads/' in r['path'] and r['status'] == 202")" = "$chunks" ]
	[ "$(plog_count p "r['method'] == 'PATCH'")" = "$chunks" ]
	[ "$(plog_count p "r['method'] == 'PUT' and '/blobs/uploads/' in r['path'] and r['status'] == 201")" = 2 ]
	[ "$(registry_digest "$REGISTRY_DST_ADDR/test/chunked:v1")" = "$IMAGE_DIGEST" ]
	readback "$REGISTRY_DST_ADDR/test/chunked:v1" "$T/back" "$T/busybox"
	# A chunk size over the blob's size: one request.
	local n
	n=$(plog_lines p)
	run e push --plain-http --chunk-size 1m "$PROXY_P_ADDR/test/chunked2:v1" "$SRC"
	[ "$status" -eq 0 ]
	[ "$(plog_after p "$n" "r['method'] == 'PATCH'" | wc -l)" = 0 ]
	[ "$(registry_digest "$REGISTRY_DST_ADDR/test/chunked2:v1")" = "$IMAGE_DIGEST" ]
	# Bad sizes are usage errors.
	run -2 e push --plain-http --chunk-size 0 "$dst" "$SRC"
	[[ "$output" == *"--chunk-size wants a positive number of bytes"* ]]
	run -2 e push --plain-http --chunk-size 12q "$dst" "$SRC"
	[[ "$output" == *"--chunk-size wants a positive number of bytes"* ]]
	run -2 e push --plain-http --chunk-size -5 "$dst" "$SRC"
}

@test "push: to another repository of the same registry, blobs are mounted (POST mount=, no upload)" {
	registry_start reg
	faultproxy_start p reg
	image_big "$T/big" 12
	info_manifest
	# The local image comes from test/origin of this registry (through p).
	registry_push_oci "$T/big" "$REGISTRY_REG_ADDR/test/origin:latest"
	daemon_up
	local src=$PROXY_P_ADDR/test/origin:latest dst=$PROXY_P_ADDR/test/mounted:v1
	run e pull --plain-http "$src"
	[ "$status" -eq 0 ]
	local n
	n=$(plog_lines p)
	run e push --plain-http "$dst" "$src"
	echo "$output"
	[ "$status" -eq 0 ]
	local d
	for d in $M_CONFIG $M_LAYERS; do
		[ "$(plog_after p "$n" "r['method'] == 'POST' and 'mount=$d' in r['query'].replace('%3A', ':') and 'from=test%2Forigin' in r['query'] and r['status'] == 201" | wc -l)" = 1 ]
		[[ "$output" == *"$d mounted ("* ]]
	done
	# No blob data went up: no PATCH, no PUT of a blob upload.
	[ "$(plog_after p "$n" "r['method'] == 'PATCH'" | wc -l)" = 0 ]
	[ "$(plog_after p "$n" "r['method'] == 'PUT' and '/blobs/' in r['path']" | wc -l)" = 0 ]
	[ "$(plog_after p "$n" "r['method'] == 'PUT' and r['path'] == '/v2/test/mounted/manifests/v1' and r['status'] == 201" | wc -l)" = 1 ]
	[ "$(registry_digest "$REGISTRY_REG_ADDR/test/mounted:v1")" = "$IMAGE_DIGEST" ]
	readback "$REGISTRY_REG_ADDR/test/mounted:v1" "$T/back" "$T/big"
}

@test "push: to a basic-auth registry with -u; without credentials or with a wrong password, a clear error" {
	daemon_up
	src_image busybox
	registry_start b basic
	local dst=$REGISTRY_B_ADDR/test/auth:v1
	run -1 e --debug push --plain-http "$dst" "$SRC"
	echo "$output"
	[[ "$output" == *"authentication required"* ]]
	[[ "$output" == *"io.ember.PermissionDenied"* ]]
	run -1 e push --plain-http -u "$REGISTRY_B_USER:wrong" "$dst" "$SRC"
	echo "$output"
	[[ "$output" == *"the credentials were refused"* ]]
	[ "$(registry_curl b -sI "/v2/test/auth/manifests/v1" | awk 'NR == 1 { print $2 }')" = 404 ]
	run e push --plain-http -u "$REGISTRY_B_CREDS" "$dst" "$SRC"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(registry_digest "$dst")" = "$IMAGE_DIGEST" ]
	readback "$dst" "$T/back" "$T/busybox"
}

@test "push: chunked and monolithic to a basic-auth registry (challenged once, then credentials go up front)" {
	daemon_up
	src_image busybox
	registry_start b basic
	faultproxy_start p b
	run e push --plain-http -u "$REGISTRY_B_CREDS" --chunk-size 256k "$PROXY_P_ADDR/test/chunked:v1" "$SRC"
	echo "$output"
	[ "$status" -eq 0 ]
	# One challenge (the first request); from then on every request carries
	# the credentials: no PATCH is challenged, and each is taken once.
	[ "$(plog_count p "r['status'] == 401")" = 1 ]
	[ "$(plog_count p "r['method'] == 'PATCH' and r['status'] == 401")" = 0 ]
	[ "$(plog_count p "r['method'] == 'PATCH' and r['status'] == 202 and r['auth']")" = 4 ]
	[ "$(registry_digest "$REGISTRY_B_ADDR/test/chunked:v1")" = "$IMAGE_DIGEST" ]
	readback "$REGISTRY_B_ADDR/test/chunked:v1" "$T/back" "$T/busybox"
	run e push --plain-http -u "$REGISTRY_B_CREDS" "$PROXY_P_ADDR/test/mono:v1" "$SRC"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(plog_count p "r['path'] == '/v2/test/mono/manifests/v1' and r['method'] == 'PUT' and r['status'] == 201")" = 1 ]
	[ "$(registry_digest "$REGISTRY_B_ADDR/test/mono:v1")" = "$IMAGE_DIGEST" ]
}

@test "push: to a token-auth registry: a pull,push token, reused for the whole push" {
	daemon_up
	src_image big
	registry_start tok token
	local dst=$REGISTRY_TOK_ADDR/test/tok:v1 before
	before=$(wc -l <"$REGISTRY_TOK_TOKEN_LOG")
	run e push --plain-http -u "$REGISTRY_TOK_CREDS" "$dst" "$SRC"
	echo "$output"
	[ "$status" -eq 0 ]
	# (Taken now: the oracles below fetch tokens of their own.)
	tail -n +"$((before + 1))" "$REGISTRY_TOK_TOKEN_LOG" >"$T/tokens"
	cat "$T/tokens"
	[ "$(registry_digest "$dst")" = "$IMAGE_DIGEST" ]
	readback "$dst" "$T/back" "$T/big"
	# Tokens were asked for test/tok only, each scope once, all granted,
	# one of them with push: not one per request (6 blobs and a manifest
	# make 19 requests).
	"$PYTHON" - "$T/tokens" <<'EOF'
import json, sys
recs = [json.loads(line) for line in open(sys.argv[1])]
assert 1 <= len(recs) <= 2, recs
# (docker-registry names the actions in either order: push,pull is pull,push.)
norm = lambda sc: tuple(sorted(x.rsplit(":", 1)[0] + ":" + ",".join(sorted(x.rsplit(":", 1)[1].split(","))) for x in sc))
scopes = [norm(r["scopes"]) for r in recs]
assert len(set(scopes)) == len(scopes), scopes
for r in recs:
    assert r["ok"] and r["auth"] == "basic", r
    assert all(s.startswith("repository:test/tok:") for s in r["scopes"]), r
assert any("push" in s for r in recs for s in r["scopes"]), recs
EOF
	# Wrong password: refused by the token server.
	run -1 e push --plain-http -u "$REGISTRY_TOK_USER:nope" "$REGISTRY_TOK_ADDR/test/tok:v2" "$SRC"
	echo "$output"
	[[ "$output" == *"HTTP 401"* ]]
}

@test "push: token scopes that differ only in the order of their actions share one token" {
	daemon_up
	src_image big
	registry_start tok token
	faultproxy_start p tok
	# The first POST is challenged for "push,pull" (docker-registry says
	# either, as its Go map iterates); every later call asks "pull,push".
	local challenge="Bearer realm=\\\"$REGISTRY_TOK_TOKEN_REALM\\\",service=\\\"ember-test-registry\\\",scope=\\\"repository:test/tok:push,pull\\\""
	faultproxy_set p "{\"rules\": [{\"path\": \"/blobs/uploads/\", \"method\": \"POST\", \"first\": 1, \"status\": 401, \"headers\": {\"WWW-Authenticate\": \"$challenge\"}}]}"
	local before
	before=$(wc -l <"$REGISTRY_TOK_TOKEN_LOG")
	run e push --plain-http -u "$REGISTRY_TOK_CREDS" "$PROXY_P_ADDR/test/tok:v1" "$SRC"
	echo "$output"
	[ "$status" -eq 0 ]
	tail -n +"$((before + 1))" "$REGISTRY_TOK_TOKEN_LOG" >"$T/tokens"
	cat "$T/tokens"
	plog p "r['status'] == 401" | cut -c1-200
	# The pull token of the first HEAD, the push,pull one of the POST: no
	# other token, and no other 401 (each one is a round trip wasted).
	[ "$(wc -l <"$T/tokens")" = 2 ]
	[ "$(plog_count p "r['status'] == 401")" = 2 ]
	[ "$(registry_digest "$REGISTRY_TOK_ADDR/test/tok:v1")" = "$IMAGE_DIGEST" ]
}

@test "push: pushed with skopeo, pulled with ember: the same digests" {
	registry_start r
	image_big "$T/big"
	registry_push_oci "$T/big" "$REGISTRY_R_ADDR/test/big:latest"
	daemon_up
	local ref=$REGISTRY_R_ADDR/test/big:latest
	run e pull --plain-http "$ref"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${lines[-1]}" = "$ref: pulled $(image_digest "$T/big")" ]
	[ "$(record_digest "$ref")" = "$(registry_digest "$ref")" ]
	assert_complete "$ref"
	# Every blob the same bytes as the layout skopeo pushed.
	local f
	for f in "$T/big"/blobs/sha256/*; do
		cmp "$f" "$(blob_path "sha256:$(basename "$f")")"
	done
	# An index, every platform.
	image_multiarch "$T/ma"
	registry_push_oci "$T/ma" "$REGISTRY_R_ADDR/test/ma:latest"
	run e pull --plain-http --all-platforms "$REGISTRY_R_ADDR/test/ma:latest"
	[ "$status" -eq 0 ]
	[ "$(record_digest "$REGISTRY_R_ADDR/test/ma:latest")" = "$(registry_digest "$REGISTRY_R_ADDR/test/ma:latest")" ]
	[ "$(record_digest "$REGISTRY_R_ADDR/test/ma:latest")" = "$IMAGE_DIGEST" ]
	assert_complete "$REGISTRY_R_ADDR/test/ma:latest"
}

@test "push: an index: pushed whole when every platform is here; else a clear error, and --platform pushes one" {
	daemon_up
	src_image multiarch
	registry_start dst
	local dst=$REGISTRY_DST_ADDR/test/ma:v1
	run e push --plain-http "$dst" "$SRC"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(registry_digest "$dst")" = "$IMAGE_DIGEST" ]
	registry_pull_oci "$dst" "$T/back" --all
	[ "$(image_digest "$T/back")" = "$IMAGE_DIGEST" ]
	[ "$(ls "$T/back/blobs/sha256" | wc -l)" = "$(ls "$T/multiarch/blobs/sha256" | wc -l)" ]

	# Only the host's platform in the store (another namespace, pulled
	# without --all-platforms; the other manifests removed by gc).
	e images rm "$SRC"
	e content gc
	run e -n one pull --plain-http "$SRC"
	[ "$status" -eq 0 ]
	run -1 e -n one push --plain-http "$REGISTRY_DST_ADDR/test/ma:v2" "$SRC"
	echo "$output"
	[[ "$output" == *"which is not in the store: pull with --all-platforms, or push one --platform"* ]]
	[ "$(registry_curl dst -sI -H 'Accept: application/vnd.oci.image.index.v1+json' "/v2/test/ma/manifests/v2" | awk 'NR == 1 { print $2 }')" = 404 ]
	info_manifest
	run e -n one push --plain-http --platform "$(image_host_platform)" "$REGISTRY_DST_ADDR/test/ma:v3" "$SRC"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(registry_digest "$REGISTRY_DST_ADDR/test/ma:v3")" = "$M_DIGEST" ]
}

@test "push: a local image that does not exist is NotFound; nothing reaches the registry" {
	registry_start dst
	faultproxy_start p dst
	daemon_up
	run -1 e --debug push --plain-http "$PROXY_P_ADDR/test/none:v1" example.com/no/such:image
	echo "$output"
	[[ "$output" == *"example.com/no/such:image"* ]]
	[[ "$output" == *"io.ember.NotFound"* ]]
	run -1 e --debug push --plain-http "$PROXY_P_ADDR/test/none:v1"
	echo "$output"
	[[ "$output" == *"io.ember.NotFound"* ]]
	[ "$(plog_lines p)" = 0 ]
	# A malformed remote reference: refused before any request.
	run -1 e push --plain-http "$PROXY_P_ADDR/Test/UPPER:v1" example.com/no/such:image
	echo "$output"
	[[ "$output" == *"invalid reference"* ]]
	[ "$(plog_lines p)" = 0 ]
}
