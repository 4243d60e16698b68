#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# `ember system check [--verify] [--repair]` and the same check at every
# start-up: damaged records, images that miss a blob or hold a corrupt
# one, containers without their snapshot; what --repair does about each,
# and that a pull or import repairs an image labelled incomplete.

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

restart_daemon() {
	stop_daemon
	start_daemon
}

image_labels() {
	e --json images inspect "$1" | "$PYTHON" -c 'import json,sys; print(json.load(sys.stdin).get("labels", {}))'
}

@test "system check: a whole store is clean, and start-up says so in its log" {
	import_bb
	run -0 e containers create "$BB" c1
	run -0 e system check
	[[ "${lines[-1]}" == "checked "*" 1 image(s), 1 container(s), "*" 0 problem(s)" ]]
	run -0 e system check --verify
	[[ "${lines[-1]}" == *", 3 blob(s) hashed in "*" 0 problem(s)" ]]
	run -0 e --json system check
	[ "$(jget 'j["problems"]' <<<"$output")" = "[]" ]
	[ "$(jget 'j["checked"]["images"]' <<<"$output")" = 1 ]
	[ "$(jget 'j["checked"]["containers"]' <<<"$output")" = 1 ]
	restart_daemon
	wait_until 10 grep -q 'check: .* 1 image(s), 1 container(s), .*: 0 problem(s)' "$DAEMON_LOG"
	run -0 e containers rm c1
}

@test "system check: a record that does not parse is named, logged at start-up, moved aside by --repair" {
	import_bb
	local f="$ROOT/meta/default/images/example.com%2Fbb%3Alatest.json"
	[ -f "$f" ]
	printf '{"name": "example.com/bb:lat' >"$f"
	run -1 e system check
	[[ "$output" == *"record default/example.com%2Fbb%3Alatest.json: images record does not parse"* ]]
	[[ "${lines[-1]}" == *": 1 problem(s)" ]]
	[ -f "$f" ]
	restart_daemon
	wait_until 10 grep -q 'check: record default/example.com%2Fbb%3Alatest.json: images record does not parse' "$DAEMON_LOG"
	run -0 e system check --repair
	[[ "$output" == *"moved aside to example.com%2Fbb%3Alatest.json.damaged"* ]]
	[[ "${lines[-1]}" == *": 1 problem(s), 1 repaired" ]]
	[ ! -e "$f" ]
	[ "$(cat "$f.damaged")" = '{"name": "example.com/bb:lat' ]
	run -0 e system check
	[[ "${lines[-1]}" == *": 0 problem(s)" ]]
	# The name is free again: an import makes the image anew.
	run -0 e images import --base-name example.com/bb "$T/bb.tar"
	assert_complete "$BB"
}

@test "system check: an image that misses a blob is labelled incomplete by --repair; an import repairs it" {
	import_bb
	rm -f "$(blob_path "$M_CONFIG")"
	run -1 e system check
	[[ "$output" == *"image default/$BB: blob $M_CONFIG is missing; pull it again"* ]]
	run -0 e system check --repair
	[[ "$output" == *"image default/$BB: blob $M_CONFIG is missing; labelled ember.io/incomplete: pull it again"* ]]
	[[ "$(image_labels "$BB")" == *"'ember.io/incomplete': 'blob $M_CONFIG missing'"* ]]
	# Still reported (the blob is still missing), not labelled twice.
	run -1 e system check --repair
	[[ "$output" == *"blob $M_CONFIG is missing; pull it again"* ]]
	run -0 e images import --base-name example.com/bb "$T/bb.tar"
	[[ "$(image_labels "$BB")" != *incomplete* ]]
	assert_complete "$BB"
	run -0 e system check
}

@test "system check --verify: a blob whose bytes changed is found; --repair removes it; a pull brings it back" {
	registry_start r
	image_busybox "$T/bb"
	info_manifest
	registry_push_oci "$T/bb" "$REGISTRY_R_ADDR/test/busybox:latest"
	local ref=$REGISTRY_R_ADDR/test/busybox:latest f
	run -0 e pull --plain-http "$ref"
	f=$(blob_path "$M_LAYERS")
	chmod u+w "$f"
	printf 'X' | dd of="$f" bs=1 seek=1000 conv=notrunc status=none
	# Presence alone is fine.
	run -0 e system check
	run -1 e system check --verify
	[[ "$output" == *"image default/$ref: blob $M_LAYERS does not hash to its digest"* ]]
	[ -e "$f" ]
	run -0 e system check --verify --repair
	[[ "$output" == *"blob $M_LAYERS does not hash to its digest; removed, image labelled ember.io/incomplete"* ]]
	[ ! -e "$f" ]
	[[ "$(image_labels "$ref")" == *"'ember.io/incomplete': 'blob $M_LAYERS corrupt'"* ]]
	# Pulling again fetches the missing layer and clears the label.
	run -0 e pull --plain-http "$ref"
	[[ "$(image_labels "$ref")" != *incomplete* ]]
	assert_complete "$ref"
	run -0 e system check --verify
}

@test "system check: a container whose snapshot is gone is reported, never removed" {
	import_bb
	run -0 e containers create "$BB" c1
	local rec
	rec=$(grep -lE '"key": ?"c1"' "$ROOT"/snapshots/*/records/*/* 2>/dev/null | head -1)
	[ -n "$rec" ]
	rm -f "$rec"
	run -1 e system check --repair
	[[ "$output" == *"container default/c1: its snapshot c1 (overlay) is missing: it cannot start"* ]]
	run -0 e containers info c1
	run -0 e containers rm c1
	run -0 e system check
}

@test "system check: 100 images and 100 containers, counted and timed" {
	import_bb
	local i
	for i in $(seq 1 99); do e images tag "$BB" "example.com/bb:t$i" >/dev/null; done
	for i in $(seq 1 100); do e containers create "$BB" "c$i" >/dev/null; done
	run -0 e --json system check
	[ "$(jget 'j["checked"]["images"]' <<<"$output")" = 100 ]
	[ "$(jget 'j["checked"]["containers"]' <<<"$output")" = 100 ]
	[ "$(jget 'j["problems"]' <<<"$output")" = "[]" ]
	echo "# system check, 100 images and 100 containers: $(jget 'j["elapsed_ms"]' <<<"$output") ms" >&3
	restart_daemon
	wait_until 10 grep -q 'check: .* 100 image(s), 100 container(s), .*: 0 problem(s), in [0-9]* ms' "$DAEMON_LOG"
	grep 'check: .* 100 image(s)' "$DAEMON_LOG" | sed 's/^/# start-up: /' >&3
}

@test "start-up: a container snapshot whose record is gone (a create or delete cut short) is removed; a kept one is not" {
	import_bb
	run -0 e containers create "$BB" c1
	run -0 e containers create "$BB" c2
	run -0 e containers create "$BB" c3
	# rm --keep-snapshot: the snapshot stays, no longer the container's.
	run -0 e containers rm --keep-snapshot c3
	run -0 e --json snapshots info c3
	[[ "$output" != *ember.io/container* ]]
	stop_daemon
	# What a power cut between the record and the snapshot leaves, both
	# ways: c1's record gone (a delete: record first), c2's never written
	# (a create: snapshot first).
	rm "$ROOT/meta/default/containers/c1.json" "$ROOT/meta/default/containers/c2.json"
	start_daemon
	grep -q 'recovery: snapshot default/c1 (overlay) of no container removed (a create or delete cut short)' "$DAEMON_LOG"
	grep -q 'recovery: snapshot default/c2 (overlay) of no container removed' "$DAEMON_LOG"
	run -0 e snapshots ls -q
	[[ " ${lines[*]} " != *" c1 "* && " ${lines[*]} " != *" c2 "* ]]
	[[ " ${lines[*]} " == *" c3 "* ]]
	run -0 e system check
	# A create of the same id works as before.
	run -0 e containers create "$BB" c1
	run -0 e containers rm c1
	run -0 e snapshots rm c3
}
