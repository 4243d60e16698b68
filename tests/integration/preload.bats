#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# Images shipped in the firmware: [images] preload names a directory whose
# OCI or docker save archives the daemon imports and unpacks at start-up,
# once, in the default namespace; damaged ones, ones for another machine
# and files that are no archive are reported in one log line each and
# skipped, and nothing of them is recorded. The containers that start at
# boot start after that.

bats_require_minimum_version 1.5.0
load helpers
load lib/image
load lib/registry
load lib/remote
load lib/unpack
load lib/tasks

BB=docker.io/library/busybox:latest

setup() {
	setup_dirs
	PRE=$T/preload
	mkdir -p "$PRE"
	image_busybox "$T/bb" >/dev/null
	image_archive "$T/bb" "$BB" "$PRE/10-busybox.tar"
}

teardown() {
	tasks_teardown
}

preload_daemon() {
	DAEMON_CONFIG=$T/preload.toml
	printf '[images]\npreload = "%s"\n' "$PRE" >"$DAEMON_CONFIG"
	start_daemon
}

# The preload job has ended (its summary or its log lines are there).
preload_done() {
	# shellcheck disable=SC2016 # for eval
	wait_until 60 eval '[ -z "$(e --json jobs ls | jget "[x for x in j if x[\"kind\"] == \"preload\"]" | tr -d "[]")" ]'
}

@test "preload: an archive in [images] preload is imported and unpacked at start-up, once; it runs" {
	preload_daemon
	preload_done
	run -0 e images ls -q
	[ "$output" = "$BB" ]
	grep -q "preload: $PRE/10-busybox.tar: imported \[\"$BB\"\]" "$DAEMON_LOG"
	# Unpacked: it runs with no registry at all.
	run -0 e run --rm "$BB" "$(ct pre)" echo from the firmware
	[ "$output" = "from the firmware" ]
	# Once: the next start-up imports nothing, even after the image is removed.
	stop_daemon
	start_daemon
	preload_done
	[ "$(grep -c 'preload: .*: imported \[' "$DAEMON_LOG")" = 1 ]
	run -0 e images rm "$BB"
	stop_daemon
	start_daemon
	preload_done
	[ "$(grep -c 'preload: .*: imported \[' "$DAEMON_LOG")" = 1 ]
	run -0 e images ls -q
	[ -z "$output" ]
	# An update that replaces the archive is imported again.
	touch -d '2030-01-01' "$PRE/10-busybox.tar"
	stop_daemon
	start_daemon
	preload_done
	[ "$(grep -c 'preload: .*: imported \[' "$DAEMON_LOG")" = 2 ]
	run -0 e images ls -q
	[ "$output" = "$BB" ]
}

@test "preload: a truncated archive, one for another machine and a file that is no archive are each reported in one line and skipped; the others load; nothing of them is kept" {
	head -c 300000 "$PRE/10-busybox.tar" >"$PRE/20-truncated.tar"
	image_foreign "$T/foreign" >/dev/null
	image_archive "$T/foreign" example.com/foreign:latest "$PRE/30-foreign.tar"
	echo "not an archive" >"$PRE/40-readme.txt"
	preload_daemon
	preload_done
	run -0 e images ls -q
	[ "$output" = "$BB" ]
	[ "$(grep -c 'preload: .*20-truncated.tar: .*: skipped$' "$DAEMON_LOG")" = 1 ]
	[ "$(grep -c 'preload: .*30-foreign.tar: .*no image in the archive runs on this machine.*: skipped$' "$DAEMON_LOG")" = 1 ]
	[ "$(grep -c 'preload: .*40-readme.txt: .*: skipped$' "$DAEMON_LOG")" = 1 ]
	grep -q 'preload: 1 archive(s) imported, 3 failed' "$DAEMON_LOG"
	# Nothing partial: no ingest, no snapshot but busybox's one layer.
	run -0 e content active
	[ "${#lines[@]}" -le 1 ]
	[ "$(snapshot_keys | wc -l)" = 1 ]
	run -0 e images check --verify "$BB"
	# A failed archive that did not change is not read again, but said again.
	stop_daemon
	start_daemon
	preload_done
	[ "$(grep -c 'preload: .*20-truncated.tar: skipped: it failed before' "$DAEMON_LOG")" = 1 ]
}

@test "preload: a daemon killed during the import leaves no image; the next start-up finishes it" {
	big_layout() { image_big "$1" 40; }
	big_layout "$T/big" >/dev/null
	image_archive "$T/big" example.com/big:latest "$PRE/20-big.tar"
	preload_daemon
	wait_until 30 grep -q '"preload"' <(e --json jobs ls)
	kill_daemon
	# Nothing half-recorded.
	[ ! -e "$ROOT/preload.json" ] || ! grep -q 20-big "$ROOT/preload.json"
	start_daemon
	preload_done
	run -0 e images ls -q
	[ "${#lines[@]}" = 2 ]
	run -0 e images check --verify example.com/big:latest
	grep -q 'preload: .*20-big.tar: imported' "$DAEMON_LOG"
}

@test "preload: a --restart always container starts at boot once its image is preloaded" {
	preload_daemon
	preload_done
	local id; id=$(ct boot)
	run -0 e run -d --restart always "$BB" "$id" sleep 300
	# A reboot: the container's processes end, /run is empty, and the
	# firmware brings a new version of the archive.
	run -0 e tasks kill -s KILL "$id"
	run -137 e tasks wait "$id"
	stop_daemon
	rm -rf "$STATE"
	touch -d '2030-01-01' "$PRE/10-busybox.tar"
	start_daemon
	wait_until 30 eval 'e tasks ls | grep -q "^$id .*running"'
	# The import ended before the boot start began (both are UTC
	# timestamps of the same form).
	local pre_at started_at
	pre_at=$(grep 'preload: 1 archive(s) imported' "$DAEMON_LOG" | tail -1 | cut -d' ' -f1)
	[ -n "$pre_at" ]
	run -0 e --json tasks ls
	started_at=$(jget "[t['started_at'] for t in j if t['id'] == '$id'][0]" <<<"$output")
	echo "preload ended $pre_at, task started $started_at"
	[[ "$started_at" > "$pre_at" ]]
}

@test "preload: a preload path that is no directory is one warning; the daemon serves and boots its containers" {
	rm -rf "$PRE"
	echo "not a directory" >"$PRE"
	preload_daemon
	preload_done
	run -0 e info
	[ "$(grep -c "preload: $PRE" "$DAEMON_LOG")" = 1 ]
	grep -q "warn  preload: $PRE: Not a directory" "$DAEMON_LOG"
	run ! grep -q "client had gone" "$DAEMON_LOG"
}
