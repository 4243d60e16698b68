#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# Revisions, as far as they go: `ember revisions stage` checks a document,
# pins each container's image by digest and records the revision (nothing
# that runs changes); ls, show, rm; bad documents get one line naming the
# field and leave nothing; the images a revision pins are kept by garbage
# collection and the GC policy.

bats_require_minimum_version 1.5.0
load helpers
load lib/image
load lib/registry
load lib/remote

setup() {
	setup_dirs
}

teardown() {
	kill_bg
	cleanup_daemon
	infra_cleanup
	assert_log_clean
}

# doc ID [CONTAINER-JSON...]: a revision document in $T/ID.json.
doc() {
	local id=$1 c sep=
	shift
	{
		printf '{"id": "%s", "containers": [' "$id"
		for c in "$@"; do
			printf '%s%s' "$sep" "$c"
			sep=', '
		done
		printf ']}\n'
	} >"$T/$id.json"
}

# The revision files of namespace NS (default: default), sorted.
revision_files() {
	find "$ROOT/meta/${1:-default}/revisions" -name '*.json' -printf '%f\n' 2>/dev/null | LC_ALL=C sort
}

@test "revisions: stage pins each container's image by digest and records the revision; the same document again is a no-op" {
	start_daemon
	import_bb
	start_events "$T/events" 'e namespaces label default n=$i'
	doc r1 '{"id": "web", "image": "example.com/bb:latest", "restart": "always", "options": {"args": ["sleep", "100"]}}' \
		'{"id": "job", "image": "example.com/bb:latest", "health": {"exited": 0}}'
	run -0 e revisions stage "$T/r1.json"
	[ "$output" = "r1: staged (2 container(s))" ]
	run -0 e --json revisions show r1
	echo "$output"
	[ "$(jget 'j["state"]' <<<"$output")" = staged ]
	[ "$(jget 'j["images"]["web"]["digest"]' <<<"$output")" = "$IMAGE_DIGEST" ]
	[ "$(jget 'j["images"]["job"]["name"]' <<<"$output")" = example.com/bb:latest ]
	# Defaults filled in.
	[ "$(jget 'j["document"]["test_timeout"]' <<<"$output")" = 60 ]
	[ "$(jget 'j["document"]["containers"][0]["health"]' <<<"$output")" = '{"running": 5}' ]
	[ "$(revision_files)" = r1.json ]
	# Nothing ran, no container was made.
	[ -z "$(e containers ls -q)" ]
	wait_until 5 grep -q ' default /revisions/staged {"id":"r1","containers":2}$' "$T/events"

	# The same document: its record, unchanged.
	local created
	created=$(e --json revisions show r1 | jget 'j["created_at"]')
	run -0 e revisions stage "$T/r1.json"
	[ "$(e --json revisions show r1 | jget 'j["created_at"]')" = "$created" ]
	# Another document under that id: refused.
	doc r1 '{"id": "web", "image": "example.com/bb:latest"}'
	run -1 e revisions stage "$T/r1.json"
	[ "$output" = "ember: revision r1 exists with another document: stage it under a new id" ]

	# ls and rm; a revision survives a restart.
	doc r2 '{"id": "web", "image": "example.com/bb:latest"}'
	run -0 e revisions stage - <"$T/r2.json"
	run -0 e revisions ls
	echo "$output"
	[[ "${lines[0]}" =~ ^ID\ +STATE\ +CONTAINERS\ +CREATED\ AT$ ]]
	[[ "${lines[1]}" =~ ^r1\ +staged\ +2\  ]]
	[[ "${lines[2]}" =~ ^r2\ +staged\ +1\  ]]
	stop_daemon
	start_daemon
	[ "$(e revisions ls -q | tr '\n' ' ')" = "r1 r2 " ]
	run -0 e revisions rm r2
	[ "$output" = r2 ]
	[ "$(e revisions ls -q)" = r1 ]
	run -1 e revisions rm r2
	[ "$output" = 'ember: revision "r2" not found' ]
	# Namespaces are separate; a namespace with a revision stays.
	[ -z "$(e -n other revisions ls -q)" ]
	doc r0
	run -0 e -n other revisions stage "$T/r0.json"
	[ "$(e revisions ls -q)" = r1 ]
	run -1 e namespaces rm other
	echo "$output"
	[ "$output" = 'ember: namespace "other" is not empty: it holds 1 revisions' ]
	run -0 e -n other revisions rm r0
	run -0 e namespaces rm other
}

@test "revisions: bad documents: one line naming the field, exit 1, nothing recorded" {
	start_daemon
	import_bb
	local ok='"id": "a", "image": "example.com/bb:latest"'
	local cases=(
		"{\"containers\": []}|ember: revision: id: missing"
		"{\"id\": \"r\", \"containers\": [], \"rollback\": true}|ember: revision: unknown key \"rollback\""
		"{\"id\": \"r\", \"containers\": [{$ok, \"health\": {\"running\": 90}}]}|ember: revision: containers[0] (a): health: running (90 s) must be shorter than test_timeout (60 s)"
		"{\"id\": \"r\", \"containers\": [{$ok}, {$ok}]}|ember: revision: containers[0] and [1] are both \"a\""
		"{\"id\": \"r\", \"containers\": [{$ok, \"options\": {\"memmory\": 1}}]}|ember: revision: containers[0] (a): options: unknown option \"memmory\""
		"{\"id\": \"r\", \"containers\": [{$ok, \"restart\": \"sometimes\"}]}|ember: revision: containers[0] (a): restart: \"sometimes\": use no, on-failure[:N], always or unless-stopped"
		"{\"id\": \"r\", \"containers\": [{\"id\": \"a\", \"image\": \"example.com/nope:1\"}]}|ember: revision: containers[0] (a): image example.com/nope:1 is not in namespace default: pull or import it first"
		"{\"id\": \"r\", \"id\": \"s\", \"containers\": []}|ember: revision (stdin): duplicate object key near '\"id\"' (line 1)"
		"{\"id\": \"r\", \"containers\": [|ember: revision (stdin): ']' expected near end of file (line 2)"
	)
	local c
	for c in "${cases[@]}"; do
		run -1 e revisions stage - <<<"${c%%|*}"
		echo "$output"
		[ "$output" = "${c#*|}" ]
	done
	# A huge document: refused whole (the API's message limit), one line.
	"$PYTHON" -c '
import json
print(json.dumps({"id": "big", "containers": [{"id": "c%d" % i, "image": "x" * 1000,
  "labels": {"k%d" % k: "v" * 1000 for k in range(20)}} for i in range(60)]}))' >"$T/big.json"
	run -1 e revisions stage "$T/big.json"
	echo "$output"
	[ "${#lines[@]}" = 1 ]
	[ -z "$(revision_files)" ]
	[ -z "$(e revisions ls -q)" ]
	assert_daemon_serves
}

@test "revisions: the images a staged revision pins stay through the GC policy and content gc, until it is removed" {
	printf '[gc]\nkeep = 1\nmin_age = 0\ninterval = 3600\n' >"$T/gc.toml"
	DAEMON_CONFIG=$T/gc.toml
	start_daemon
	image_sized "$T/v2" example.com/bb:v2 64 v2
	tar -C "$T/v2" -cf "$T/v2.tar" .
	run -0 e images import --base-name example.com/bb "$T/v2.tar"
	doc r1 '{"id": "web", "image": "example.com/bb:v2"}'
	run -0 e revisions stage "$T/r1.json"
	# A newer image of the repository comes. keep = 1 keeps the most
	# recently used, and a pinned image counts as in use now: v2 stays.
	sleep 1.1
	import_bb
	[ "$(image_names)" = example.com/bb:v2 ]
	grep -q "gc policy: removed image example.com/bb:latest (namespace default; keep;" "$DAEMON_LOG"
	# Without the revision, v2 is the older one, and goes.
	run -0 e revisions rm r1
	sleep 1.1
	import_bb
	[ "$(image_names)" = example.com/bb:latest ]

	# An image record removed by hand: its blobs stay while a revision pins them.
	doc r2 '{"id": "web", "image": "example.com/bb:latest"}'
	run -0 e revisions stage "$T/r2.json"
	run -0 e images rm example.com/bb:latest
	run -0 e content gc
	[ "$(store_digests)" = "$BLOBS" ]
	run -0 e revisions rm r2
	run -0 e content gc
	[ -z "$(store_digests)" ]
}

@test "revisions: stage pulls the images the namespace lacks, then pins and prepares them; a pull that fails records nothing" {
	registry_start r
	image_busybox "$T/bb"
	info_manifest
	registry_push_oci "$T/bb" "$REGISTRY_R_ADDR/test/busybox:latest"
	start_daemon
	local ref=$REGISTRY_R_ADDR/test/busybox:latest
	doc r1 "{\"id\": \"a\", \"image\": \"$ref\"}" "{\"id\": \"b\", \"image\": \"$ref\"}"
	# Without --pull, a missing image is refused.
	run -1 e revisions stage "$T/r1.json"
	[ "$output" = "ember: revision: containers[0] (a): image $ref is not in namespace default: pull or import it first" ]
	run -0 e revisions stage --pull --plain-http "$T/r1.json"
	[ "$output" = "r1: staged (2 container(s))" ]
	run -0 e images ls -q
	[ "$output" = "$ref" ]
	run -0 e --json revisions show r1
	[ "$(jget 'j["images"]["a"]["digest"]' <<<"$output")" = "$IMAGE_DIGEST" ]
	# Each container's snapshot is prepared, under ID@REVISION.
	run -0 e snapshots ls
	[ "$(awk '$NF == "active" { print $1 }' <<<"$output" | sort | tr '\n' ' ')" = "a@r1 b@r1 " ]
	# A tag the registry lacks: one line naming the container and the pull.
	doc r2 "{\"id\": \"a\", \"image\": \"$REGISTRY_R_ADDR/test/busybox:nope\"}"
	run -1 e revisions stage --pull --plain-http "$T/r2.json"
	echo "$output"
	[ "${#lines[@]}" = 1 ]
	[[ "$output" == "ember: revision: containers[0] (a): pull $REGISTRY_R_ADDR/test/busybox:nope: "*"not found"* ]]
	[ "$(revision_files)" = r1.json ]
	# Removing the staged revision takes its prepared snapshots.
	run -0 e revisions rm r1
	run -0 e snapshots ls
	[ -z "$(awk '$NF == "active"' <<<"$output")" ]
}

@test "revisions: start-up removes the snapshots of a revision whose record is gone (a remove cut short), and keeps every other" {
	start_daemon
	import_bb
	doc r1 '{"id": "web", "image": "example.com/bb:latest"}' '{"id": "db", "image": "example.com/bb:latest"}'
	doc r2 '{"id": "web", "image": "example.com/bb:latest"}'
	run -0 e revisions stage "$T/r1.json"
	run -0 e revisions stage "$T/r2.json"
	import_bb other
	run -0 e -n other revisions stage "$T/r1.json"
	run -0 e containers create example.com/bb:latest plain
	run -0 e snapshots ls -q
	[ "$(grep -v '^sha256:' <<<"$output" | sort | tr '\n' ' ')" = "db@r1 plain web@r1 web@r2 " ]
	stop_daemon
	# r1's record goes as `revisions rm` removes it first; its snapshots
	# stay, as after a crash there.
	rm "$ROOT/meta/default/revisions/r1.json"
	start_daemon
	run -0 e snapshots ls -q
	[ "$(grep -v '^sha256:' <<<"$output" | sort | tr '\n' ' ')" = "plain web@r2 " ]
	grep -q "recovery: snapshot default/web@r1 of no revision removed (a stage cut short)" "$DAEMON_LOG"
	grep -q "recovery: snapshot default/db@r1 of no revision removed (a stage cut short)" "$DAEMON_LOG"
	# The other namespace's r1 is whole.
	run -0 e -n other snapshots ls -q
	[ "$(grep -v '^sha256:' <<<"$output" | sort | tr '\n' ' ')" = "db@r1 web@r1 " ]
	run -0 e system check
	run -0 e -n other revisions rm r1
	run -0 e revisions rm r2
	run -0 e containers rm plain
}
