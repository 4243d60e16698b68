#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# The content store through the CLI and the raw API: garbage collection and
# what keeps blobs (images in any namespace, gc.root labels, leases), blob
# removal, malformed digests, partial ingests, image names, and calls with
# parameters of the wrong type.

bats_require_minimum_version 1.5.0
load helpers
load lib/image
load lib/registry
load lib/remote

setup() {
	setup_dirs
	daemon_up
}

teardown() {
	remote_teardown
}

BB=example.com/bb:latest

# gc: run it; GC_REMOVED and GC_KEPT are its counts.
gc() {
	local out
	out=$(e --json content gc)
	echo "gc: $out"
	GC_REMOVED=$(jget 'j["removed_blobs"]' <<<"$out")
	GC_KEPT=$(jget 'j["kept_blobs"]' <<<"$out")
	GC_BYTES=$(jget 'j["removed_bytes"]' <<<"$out")
}

# The size of a blob of busybox's layout.
bb_size() {
	stat -c %s "$(layout_blob "$T/bb" "$1")"
}

# ---- garbage collection ------------------------------------------------------------

@test "content: images rm collects the image's blobs and their files at once; content gc finds nothing left" {
	import_bb
	[ "$(store_digests)" = "$BLOBS" ]
	# While the image is there, gc keeps everything.
	gc
	[ "$GC_REMOVED" = 0 ] && [ "$GC_KEPT" = 3 ]
	[ "$(store_digests)" = "$BLOBS" ]
	run -0 e images rm "$BB"
	[ "$output" = "$BB" ]
	# The removal ran a collection before it answered.
	[ "$(store_digests)" = "" ]
	grep -q "garbage collection: removed 3 blob(s), $(($(bb_size "$IMAGE_DIGEST") + $(bb_size "$M_CONFIG") + $(bb_size "$M_LAYERS"))) bytes" "$DAEMON_LOG"
	local d
	for d in $BLOBS; do
		[ ! -e "$(blob_path "$d")" ]
	done
	run -0 e content gc
	[ "$output" = "removed 0 blob(s), 0 B; kept 0" ]
}

@test "content: a second namespace holding the same image keeps its blobs through gc" {
	import_bb
	import_bb other
	e images rm "$BB"
	[ "$(store_digests)" = "$BLOBS" ]
	gc
	[ "$GC_REMOVED" = 0 ] && [ "$GC_KEPT" = 3 ]
	[ "$(store_digests)" = "$BLOBS" ]
	assert_complete "$BB" other
	assert_no_image "$BB"
	e -n other images rm "$BB"
	[ "$(store_digests)" = "" ]
	gc
	[ "$GC_REMOVED" = 0 ] && [ "$GC_KEPT" = 0 ]
}

@test "content: a gc.root label keeps a blob through gc; clearing the label lets gc take it" {
	import_bb
	run -0 e content label "$M_LAYERS" ember.io/gc.root=1 note=keep
	[ "$output" = "$(printf '%s\n' ember.io/gc.root=1 note=keep)" ]
	[ "$(e content info "$M_LAYERS" | jget 'j["labels"]')" = '{"ember.io/gc.root": "1", "note": "keep"}' ]
	run -0 e content label "$M_CONFIG" containerd.io/gc.root=2024-01-01
	e images rm "$BB"
	gc
	[ "$GC_REMOVED" = 1 ] && [ "$GC_KEPT" = 2 ]
	[ "$(store_digests)" = "$(sorted_words "$M_CONFIG" "$M_LAYERS")" ]
	# Labels are per namespace; other namespaces see none on the blob.
	[ "$(e -n other content info "$M_LAYERS" | jget 'j["labels"]')" = '{}' ]
	# An empty value removes the label; the other one stays, and no longer protects.
	run -0 e content label "$M_LAYERS" ember.io/gc.root=
	[ "$output" = note=keep ]
	gc
	[ "$GC_REMOVED" = 1 ] && [ "$GC_KEPT" = 1 ]
	[ "$(store_digests)" = "$M_CONFIG" ]
	# --replace makes the given labels the only ones.
	run -0 e content label --replace "$M_CONFIG" a=b
	[ "$output" = a=b ]
	gc
	[ "$(store_digests)" = "" ]
	# A label on a blob that is not there: NotFound.
	run -1 e --debug content label "$M_CONFIG" a=b
	[[ "$output" == *"io.ember.NotFound"* ]]
}

@test "content: a lease holds a blob (and a manifest everything below it); deleting the lease frees them" {
	import_bb
	run -0 e leases create --id hold team=ota
	[ "$output" = hold ]
	run -0 e leases add hold "$M_LAYERS"
	[ "$(e --json leases ls | jget '[(l["name"], l["resources"], l["labels"]) for l in j]')" = \
		"[[\"hold\", [{\"id\": \"$M_LAYERS\", \"type\": \"content\"}], {\"team\": \"ota\"}]]" ]
	e images rm "$BB"
	gc
	[ "$GC_REMOVED" = 2 ] && [ "$GC_KEPT" = 1 ]
	[ "$(store_digests)" = "$M_LAYERS" ]
	# A blob a lease holds cannot be removed by hand either.
	run -1 e --debug content rm "$M_LAYERS"
	echo "$output"
	[[ "$output" == *"is in use by lease hold"* ]]
	[[ "$output" == *"io.ember.FailedPrecondition"* ]]
	run -0 e leases rm hold
	[ "$output" = hold ]
	[ "$(e --json leases ls | jget 'len(j)')" = 0 ]
	gc
	[ "$GC_REMOVED" = 1 ]
	[ "$(store_digests)" = "" ]

	# A lease on the manifest keeps its config and layer too; release
	# lets them go.
	import_bb
	e leases create --id m
	e leases add m "$IMAGE_DIGEST"
	e images rm "$BB"
	gc
	[ "$GC_REMOVED" = 0 ] && [ "$GC_KEPT" = 3 ]
	run -0 e leases release m "$IMAGE_DIGEST"
	[ "$(e --json leases ls | jget '[l["resources"] for l in j]')" = "[[]]" ]
	gc
	[ "$GC_REMOVED" = 3 ]
	# Errors: an unknown lease, a lease that exists, an unknown type of id.
	run -1 e --debug leases add nope "$M_LAYERS"
	[[ "$output" == *"io.ember.NotFound"* ]]
	run -1 e --debug leases create --id m
	[[ "$output" == *"io.ember.AlreadyExists"* ]]
	run -2 e leases create --expires soon
	[[ "$output" == *"--expires wants a duration"* ]]
}

@test "content: an expired lease no longer protects, and gc deletes it" {
	import_bb
	run -0 e leases create --id short --expires 1s
	run -0 e leases add short "$M_LAYERS"
	local exp
	exp=$(e --json leases ls | jget 'j[0]["expires_at"]')
	[ "$exp" -le $(($(date +%s) + 1)) ]
	e images rm "$BB"
	# Before it expires it holds the layer.
	if [ "$(date +%s)" -lt "$exp" ]; then
		gc
		[ "$(store_digests)" = "$M_LAYERS" ]
	fi
	wait_until 5 now_after "$exp"
	gc
	[ "$(store_digests)" = "" ]
	[ "$(e --json leases ls | jget 'len(j)')" = 0 ]
	# A lease without expiry stays.
	e leases create --id forever
	gc
	[ "$(e --json leases ls | jget '[l["name"] for l in j]')" = '["forever"]' ]
	[ "$(e --json leases ls | jget '"expires_at" in j[0]')" = false ]
}

# now_after T: the clock is past unix second T.
now_after() {
	[ "$(date +%s)" -gt "$1" ]
}

# ---- removing blobs --------------------------------------------------------------------

@test "content: rm of a blob an image uses is refused (FailedPrecondition); of an unused one it is gone" {
	import_bb
	run -1 e --debug content rm "$M_LAYERS"
	echo "$output"
	[[ "$output" == *"blob $M_LAYERS is in use by image $BB (namespace default); remove that first"* ]]
	[[ "$output" == *"io.ember.FailedPrecondition"* ]]
	[ -e "$(blob_path "$M_LAYERS")" ]
	# Used from another namespace: refused too.
	import_bb other
	e images rm "$BB"
	run -1 e content rm "$IMAGE_DIGEST"
	[[ "$output" == *"in use by image $BB (namespace other)"* ]]
	# A lease keeps two blobs through the removal of the last image; once
	# the lease is gone nothing uses them, and content rm takes them.
	e -n other leases create --id keep >/dev/null
	e -n other leases add keep "$M_LAYERS" "$M_CONFIG"
	e -n other images rm "$BB"
	[ "$(store_digests)" = "$(sorted_words "$M_CONFIG" "$M_LAYERS")" ]
	run -1 e content rm "$M_LAYERS"
	[[ "$output" == *"in use by lease keep (namespace other)"* ]]
	e -n other leases rm keep
	run -0 e content rm "$M_LAYERS" "$M_CONFIG"
	[ "$output" = "$(printf '%s\n' "$M_LAYERS" "$M_CONFIG")" ]
	[ ! -e "$(blob_path "$M_LAYERS")" ]
	run -1 e --debug content info "$M_LAYERS"
	[[ "$output" == *"io.ember.NotFound"* ]]
	[ "$(store_digests)" = "" ]
	# Gone is gone.
	run -1 e --debug content rm "$M_LAYERS"
	[[ "$output" == *"io.ember.NotFound"* ]]
	assert_daemon_serves
}

@test "content: malformed digests are clear errors (InvalidArgument), never a path" {
	import_bb
	e leases create --id l1 >/dev/null
	local bad cmd
	for bad in "sha256:xyz" "md5:0123456789abcdef" "nothex" "sha256:" "../../../../etc/passwd" \
		"sha256:${M_LAYERS#sha256:}0" "sha256:$(tr a-f A-F <<<"${M_LAYERS#sha256:}")" \
		"sha256:../../blobs/sha256/${M_LAYERS#sha256:}"; do
		for cmd in "content info" "content rm" "content label"; do
			# shellcheck disable=SC2086
			run -1 e --debug $cmd "$bad" $([ "$cmd" = "content label" ] && echo k=v)
			echo "$cmd $bad: $output"
			[[ "$output" == *"io.ember.InvalidArgument"* ]]
			[[ "$output" == *"digest"* ]]
		done
		run -1 e --debug leases add l1 "$bad"
		[[ "$output" == *"io.ember.InvalidArgument"* ]]
	done
	[ "$(store_digests)" = "$BLOBS" ]
	assert_complete "$BB"
	[ -e /etc/passwd ]
	assert_daemon_serves
}

# ingest_data_size_is N: some ingest holds N bytes of data.
ingest_data_size_is() {
	local f
	for f in "$ROOT"/content/ingest/*/data; do
		[ -f "$f" ] && [ "$(stat -c %s "$f")" = "$1" ] && return 0
	done
	return 1
}

# ingest_offset_is N: the daemon lists one ingest, at offset N.
ingest_offset_is() {
	[ "$(ingests_json | jget '[i["offset"] for i in j]')" = "[$1]" ]
}

# ---- ingests ----------------------------------------------------------------------------

@test "content: active lists a partial download; abort removes it; the next pull starts over" {
	registry_start r
	image_busybox "$T/bb"
	info_manifest
	registry_push_oci "$T/bb" "$REGISTRY_R_ADDR/test/busybox:latest"
	faultproxy_start p r
	local ref=$PROXY_P_ADDR/test/busybox:latest size
	size=$(ijson 'j["manifests"][0]["layers"][0]["size"]')
	faultproxy_set p "{\"rules\": [{\"path\": \"/blobs/$M_LAYERS\", \"method\": \"GET\", \"first\": 1, \"stall_after\": 500000, \"stall_seconds\": 60}]}"
	timeout 120 "$EMBER" --address "$SOCK" pull --plain-http "$ref" >"$T/pull.out" 2>&1 &
	local pid=$!
	bg_track "$pid"
	wait_until 30 grep -q '"fault": "stall_after"' "$PROXY_P_LOG"
	wait_until 10 ingest_data_size_is 500000
	# The client goes away: the daemon stops the pull, keeping the bytes.
	kill "$pid"
	wait "$pid" || true
	wait_until 10 ingest_offset_is 500000
	run -0 e --json content active
	echo "$output"
	[ "$(jget 'len(j)' <<<"$output")" = 1 ]
	[ "$(jget '[j[0]["ref"], j[0]["digest"], j[0]["size"], j[0]["offset"]]' <<<"$output")" = "[\"$ref\", \"$M_LAYERS\", $size, 500000]" ]
	local key
	key=$(jget 'j[0]["key"]' <<<"$output")
	[ -d "$ROOT/content/ingest/$key" ]
	run -0 e content active
	[[ "${lines[0]}" == KEY*REF*OFFSET*SIZE ]]
	[[ "${lines[1]}" == "$key"*"$ref"* ]]
	assert_no_image "$ref"
	# gc leaves ingests alone.
	e content gc
	[ "$(e --json content active | jget 'len(j)')" = 1 ]
	# abort
	run -0 e content abort "$key"
	[ "$output" = "$key" ]
	[ "$(e --json content active | jget 'len(j)')" = 0 ]
	[ ! -e "$ROOT/content/ingest/$key" ]
	run -1 e --debug content abort "$key"
	[[ "$output" == *"io.ember.NotFound"* ]]
	run -1 e --debug content abort ../../meta
	[[ "$output" == *"io.ember.InvalidArgument"* ]]
	[ -d "$ROOT/meta" ]
	# The next pull fetches the layer from its first byte.
	local n
	n=$(plog_lines p)
	run e pull --plain-http "$ref"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(plog_after p "$n" "$(is_blob_get "$M_LAYERS")" | jget '[j["range"], j["bytes"]]')" = "[null, $size]" ]
	assert_complete "$ref"
}

# ---- image names ------------------------------------------------------------------------------

@test "content: images tag gives several names at once; images rm removes several, and reports the missing" {
	import_bb
	run -0 e images tag "$BB" example.com/a:1 example.com/b:2 c:3
	[ "$output" = "$(printf '%s\n' example.com/a:1 example.com/b:2 docker.io/library/c:3)" ]
	[ "$(image_names)" = "$(sorted_words "$BB" example.com/a:1 example.com/b:2 docker.io/library/c:3)" ]
	local n
	for n in example.com/a:1 example.com/b:2 c:3; do
		[ "$(record_digest "$n")" = "$IMAGE_DIGEST" ]
	done
	# A bad target name: refused, the good ones still made.
	run -1 --separate-stderr e images tag "$BB" example.com/d:4 'Bad/Name:x'
	[ "$output" = example.com/d:4 ]
	[[ "$stderr" == *"invalid reference"* ]]
	run -0 e images rm example.com/a:1 example.com/b:2
	[ "$output" = "$(printf '%s\n' example.com/a:1 example.com/b:2)" ]
	run -1 e --debug images rm c:3 example.com/nope:0 example.com/d:4
	echo "$output"
	[[ "$output" == *"io.ember.NotFound"* ]]
	[[ "$output" == *c:3* ]] && [[ "$output" == *example.com/d:4* ]]
	[ "$(image_names)" = "$BB" ]
	# Tagging from a name that does not exist.
	run -1 e --debug images tag example.com/nope:0 example.com/e:5
	[[ "$output" == *"io.ember.NotFound"* ]]
	[ "$(image_names)" = "$BB" ]
	# Only the removal of the last name lets the content go.
	[ "$(store_digests)" = "$BLOBS" ]
	e images rm "$BB"
	[ "$(image_names)" = "" ]
	[ "$(store_digests)" = "" ]
}

# ---- the raw API ------------------------------------------------------------------------------

@test "content: raw calls with parameters of the wrong type are InvalidParameter; the daemon keeps serving" {
	import_bb
	local more
	while IFS='|' read -r method params param; do
		[ -n "$method" ] || continue
		# Pull and Push stream: they are called with "more".
		more=
		case "$method" in *.Pull | *.Push) more=--more ;; esac
		run -1 raw call $more "$method" "$params"
		echo "$method $params: $output"
		[ "$(jget 'j["error"]' <<<"$output")" = org.varlink.service.InvalidParameter ]
		[ "$(jget 'j["parameters"]["parameter"]' <<<"$output")" = "$param" ]
		assert_daemon_serves
	done <<EOF
io.ember.Content.Info|{"digest": 5}|digest
io.ember.Content.Delete|{"digest": ["$M_LAYERS"]}|digest
io.ember.Content.SetLabels|{"digest": "$M_LAYERS", "labels": {"a": 1}}|labels
io.ember.Content.SetLabels|{"digest": "$M_LAYERS", "labels": "a=b"}|labels
io.ember.Content.SetLabels|{"digest": "$M_LAYERS", "labels": {}, "replace": "yes"}|replace
io.ember.Content.List|{"namespace": 7}|namespace
io.ember.Content.AbortIngest|{"key": null}|key
io.ember.Content.GarbageCollect|{"namespace": false}|namespace
io.ember.Images.Get|{"name": {"n": 1}}|name
io.ember.Images.Tag|{"source": "$BB", "target": 3}|target
io.ember.Images.Check|{"name": "$BB", "verify": "true"}|verify
io.ember.Images.Pull|{"reference": ["x"]}|reference
io.ember.Images.Pull|{"reference": "x", "all_platforms": 1}|all_platforms
io.ember.Images.Pull|{"reference": "x", "labels": ["a"]}|labels
io.ember.Images.Push|{"reference": "x", "chunk_size": "big"}|chunk_size
io.ember.Images.Export|{"names": "$BB"}|names
io.ember.Images.Export|{"names": [1, 2]}|names
io.ember.Images.Import|{"base_name": 1}|base_name
io.ember.Leases.Create|{"expire": "soon"}|expire
io.ember.Leases.Create|{"expire": 1.5}|expire
io.ember.Leases.AddResource|{"id": "x", "type": "content", "resource": 1}|resource
EOF
	# Missing mandatory parameters, and unknown ones.
	run -1 raw call io.ember.Content.Delete '{}'
	[ "$(jget 'j["error"]' <<<"$output")" = org.varlink.service.InvalidParameter ]
	[ "$(jget 'j["parameters"]["parameter"]' <<<"$output")" = digest ]
	run -1 raw call io.ember.Images.Tag "{\"source\": \"$BB\"}"
	[ "$(jget 'j["parameters"]["parameter"]' <<<"$output")" = target ]
	run -1 raw call io.ember.Content.List '{"nope": 1}'
	[ "$(jget 'j["parameters"]["parameter"]' <<<"$output")" = nope ]
	# Export and Import without a file descriptor: InvalidArgument.
	run -1 raw call io.ember.Images.Export "{\"names\": [\"$BB\"]}"
	[ "$(jget 'j["error"]' <<<"$output")" = io.ember.InvalidArgument ]
	[[ "$(jget 'j["parameters"]["message"]' <<<"$output")" == *"file descriptor"* ]]
	run -1 raw call io.ember.Images.Import '{}'
	[ "$(jget 'j["error"]' <<<"$output")" = io.ember.InvalidArgument ]
	# Nothing changed, and everything still works.
	assert_daemon_serves
	assert_complete "$BB"
	[ "$(store_digests)" = "$BLOBS" ]
	run -0 raw call io.ember.Content.Info "{\"digest\": \"$M_LAYERS\"}"
	[ "$(jget 'j["parameters"]["blob"]["size"]' <<<"$output")" = "$(bb_size "$M_LAYERS")" ]
}

@test "content: images check --verify finds a blob whose bytes changed on disk" {
	import_bb
	assert_complete "$BB"
	local f
	f=$(blob_path "$M_LAYERS")
	chmod u+w "$f"
	printf 'X' | dd of="$f" bs=1 seek=1000 conv=notrunc status=none
	# Without --verify only presence is checked.
	run -0 e images check "$BB"
	[ "${lines[-1]}" = "$BB: complete (3/3 blobs)" ]
	run -1 e images check --verify "$BB"
	echo "$output"
	[[ "$output" == *"$M_LAYERS"* ]]
	[ "${lines[-1]}" = "$BB: incomplete (3/3 blobs, verified)" ]
	run -1 e --json images check --verify "$BB"
	[ "$(jget '[b["verified"] for b in j["blobs"] if b["digest"] == "'"$M_LAYERS"'"]' <<<"$output")" = "[false]" ]
	[ "$(jget 'j["complete"]' <<<"$output")" = false ]
	# A missing blob: incomplete, named.
	rm -f "$(blob_path "$M_CONFIG")"
	run -1 e images check "$BB"
	echo "$output"
	[[ "$output" == *"  missing $M_CONFIG"* ]]
	[ "${lines[-1]}" = "$BB: incomplete (2/3 blobs)" ]
}
