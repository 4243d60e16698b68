#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# ember images import as an air-gapped device uses it: the layers are
# unpacked as the archive is read (the same unpacker as pull), so the image
# runs without a registry; --no-unpack and `ember images unpack`; imports
# from a pipe; and what a job promises: other calls are answered meanwhile,
# a client that goes away or `ember jobs cancel` stops it and nothing is
# left, a daemon killed in the middle leaves a store the next import
# finishes, hostile, truncated or oversized archives fail with one line and
# leave nothing.

bats_require_minimum_version 1.5.0
load helpers
load lib/image
load lib/registry
load lib/remote
load lib/unpack
load lib/tasks

BB=example.com/bb:latest

setup() {
	setup_dirs
}

teardown() {
	kill_bg
	tasks_teardown
	[ -z "${SMALL:-}" ] || ! mountpoint -q "$SMALL" || umount "$SMALL" || umount -l "$SMALL"
}

# bb_tar: busybox as an OCI archive in $T/bb.tar (IMAGE_DIGEST, M_*).
bb_tar() {
	image_busybox "$T/bb"
	info_manifest
	tar -C "$T/bb" -cf "$T/bb.tar" .
}

# big_tar MB: the 5-layer image (whiteouts, a zstd layer) as $T/big.tar.
big_tar() {
	image_big "$T/big" "$1"
	tar -C "$T/big" -cf "$T/big.tar" .
}

# The store holds no blob, no snapshot, no image, no ingest.
assert_store_empty() {
	[ -z "$(image_names)" ]
	[ -z "$(store_digests)" ]
	[ -z "$(snapshot_keys)" ]
	[ -z "$(find "$ROOT/content/blobs" -type f)" ]
}

# jobs_of KIND: the ids of this daemon's jobs of that kind.
jobs_of() {
	e --json jobs ls --all | jget '"\n".join(str(x["id"]) for x in j if x["kind"] == "'"$1"'")'
}

# slow_import ARCHIVE BYTES: an import reading ARCHIVE through a pipe that
# gives BYTES of it and then stalls (for ever, as a stuck USB stick would);
# the client's pid in IMPORT_PID, the feeder's in FEED_PID. Returns once
# the daemon stored the first blob of it.
slow_import() {
	mkfifo "$T/feed"
	# One process each (exec), so that their pids are the ones to kill.
	{ head -c "$2" "$1"; exec sleep 600; } >"$T/feed" 3>&- &
	FEED_PID=$!
	"$EMBER" --address "$SOCK" images import --base-name example.com/big - <"$T/feed" >"$T/import.out" 2>&1 3>&- &
	IMPORT_PID=$!
	bg_track "$FEED_PID" "$IMPORT_PID"
	wait_until 20 bash -c "[ -n \"\$(find '$ROOT/content/blobs' -type f -name '[0-9a-f]*' -print -quit)\" ]"
}

@test "import: the image is unpacked as it is read and runs with no registry; images check says where" {
	require_runtime
	bb_tar
	start_daemon
	# Not a terminal: a line per blob and state (as pull prints them), then the result.
	run -0 e images import --base-name example.com/bb "$T/bb.tar"
	echo "$output"
	[ "${lines[-1]}" = "$BB: imported $IMAGE_DIGEST" ]
	[[ "$output" == *"$M_LAYERS unpacking"* ]]
	[[ "$output" == *"$M_LAYERS unpacked"* ]]
	# One committed snapshot per layer, keyed by chain ID: nothing else to do.
	[ "$(snapshot_keys)" = "$(chain_ids "$T/bb" | LC_ALL=C sort)" ]
	run -0 e images check "$BB"
	[[ "$output" == *"unpacked in overlay"* ]]
	[[ "$output" == *"$BB: complete (3/3 blobs)"* ]]
	local id; id=$(ct imp)
	run -0 e run --rm "$BB" "$id" echo hello from an imported image
	[ "$output" = "hello from an imported image" ]
	assert_gone "$id"
	assert_log_clean
}

@test "import: the 5-layer image's tree is umoci's (overlay and native), the layers unpacked as the archive arrives" {
	require_unpack
	big_tar 40
	start_daemon
	image_unpack_root "$T/big" "$T/oracle"
	local snap
	for snap in overlay native; do
		run -0 e --json images import --snapshotter "$snap" --base-name example.com/big "$T/big.tar"
		# Progress named the layers unpacking, then unpacked.
		grep -q '"status":"unpacking"' <<<"$output"
		grep -q '"status":"unpacked"' <<<"$output"
		mkdir -p "$T/m-$snap"
		run -0 e images mount --snapshotter "$snap" example.com/big:latest "$T/m-$snap"
		run treecmp "$T/m-$snap" "$T/oracle/rootfs"
		echo "$output"
		[ "$status" -eq 0 ]
		run -0 e images unmount "$T/m-$snap"
	done
	# The layers unpacked while the archive was still being read: ember's
	# own archives (export) have the manifest and config before the layers
	# (a tar of the layout directory has them in readdir order), so fed as
	# a slow medium gives it, a layer is unpacked before the last is read.
	run -0 e images export "$T/own.tar" example.com/big:latest
	run -0 e images rm example.com/big:latest
	run -0 bash -c '"$1" -c "
import sys, time
data = open(sys.argv[1], \"rb\").read()
for i in range(0, len(data), 1 << 20):
    sys.stdout.buffer.write(data[i:i + (1 << 20)])
    sys.stdout.flush()
    time.sleep(0.02)" "$2" | "$3" --address "$4" --json images import -' _ "$PYTHON" "$T/own.tar" "$EMBER" "$SOCK"
	"$PYTHON" -c '
import json, sys
seen_unpacked = False
for line in sys.argv[1].splitlines():
    try:
        j = json.loads(line)
    except ValueError:
        continue  # the result, indented over several lines
    if not isinstance(j, dict) or j.get("phase") != "importing":
        continue
    st = [b["status"] for b in j["blobs"]]
    seen_unpacked |= "unpacked" in st
    if seen_unpacked and "reading" in st:
        sys.exit(0)
sys.exit("no layer was unpacked while the archive was still being read")' "$output"
	assert_log_clean
}

@test "import: --no-unpack stores only; run names images unpack, which makes it run; unpack of a missing image is NotFound" {
	require_runtime
	bb_tar
	start_daemon
	run -0 e images import --no-unpack --base-name example.com/bb "$T/bb.tar"
	[ -z "$(snapshot_keys)" ]
	local id; id=$(ct nounp)
	run -125 e run --rm "$BB" "$id" true
	echo "$output"
	[[ "$output" == *"is not unpacked in snapshotter overlay"* ]]
	[[ "$output" == *"ember images unpack --snapshotter overlay $BB"* ]]
	run -0 e images unpack "$BB"
	[ "${lines[-1]}" = "$BB: unpacked in overlay" ]
	[ "$(snapshot_keys)" = "$(chain_ids "$T/bb" | LC_ALL=C sort)" ]
	# Again: nothing to do, the same answer.
	run -0 e images unpack "$BB"
	run -0 e run --rm "$BB" "$id" echo runs now
	[ "$output" = "runs now" ]
	run -0 e images unpack --snapshotter native "$BB"
	[ "$(snapshot_keys --snapshotter native)" = "$(chain_ids "$T/bb" | LC_ALL=C sort)" ]
	run -1 e --debug images unpack example.com/nope:1
	[[ "$output" == *"io.ember.NotFound"* ]]
	run -1 e images unpack --snapshotter zfs "$BB"
	[[ "$output" == *"snapshotter \"zfs\" is not compiled in"* ]]
	assert_gone "$id"
}

@test "import: a daemon killed during images unpack commits no partial snapshot; the next unpack finishes the same tree as umoci" {
	require_unpack
	big_tar 40
	start_daemon
	run -0 e images import --no-unpack --base-name example.com/big "$T/big.tar"
	local big=example.com/big:latest
	"$EMBER" --address "$SOCK" images unpack --snapshotter native "$big" >"$T/unpack.out" 2>&1 3>&- &
	bg_track $!
	wait_unpacking native
	kill_daemon
	local committed; committed=$(snapshot_keys_offline native)
	start_daemon
	grep -q 'snapshots (native): removed 1 unfinished tree' "$DAEMON_LOG"
	[ -z "$(ls -A "$ROOT/snapshots/native/tmp")" ]
	[ "$(snapshot_keys --snapshotter native)" = "$committed" ]
	# The image and its blobs are as the import left them.
	[ "$(image_names)" = "$big" ]
	run -0 e images check --verify "$big"
	[[ "$output" == *"complete"* ]]
	run -0 e images unpack --snapshotter native "$big"
	[ "${lines[-1]}" = "$big: unpacked in native" ]
	[ "$(snapshot_keys --snapshotter native)" = "$(chain_ids "$T/big" | LC_ALL=C sort)" ]
	image_unpack_root "$T/big" "$T/oracle"
	mkdir "$T/m"
	run -0 e images mount --snapshotter native "$big" "$T/m"
	run treecmp "$T/m" "$T/oracle/rootfs"
	echo "$output"
	[ "$status" -eq 0 ]
	run -0 e images unmount "$T/m"
	assert_log_clean
}

@test "import: from a pipe (standard input), plain and zstd, with no spooling" {
	require_runtime
	bb_tar
	start_daemon
	run -0 bash -c "cat '$T/bb.tar' | '$EMBER' --address '$SOCK' images import --base-name example.com/bb -"
	[ "${lines[-1]}" = "$BB: imported $IMAGE_DIGEST" ]
	run -0 e images rm "$BB"
	[ -z "$(snapshot_keys)" ]
	zstd -q -c "$T/bb.tar" >"$T/bb.tar.zst"
	run -0 bash -c "cat '$T/bb.tar.zst' | '$EMBER' --address '$SOCK' images import --base-name example.com/bb -"
	[ "${lines[-1]}" = "$BB: imported $IMAGE_DIGEST" ]
	local id; id=$(ct pipe)
	run -0 e run --rm "$BB" "$id" true
	assert_gone "$id"
}

@test "import: a client that goes away cancels the import: no record, and the blobs and snapshots it made are removed" {
	require_unpack
	big_tar 40
	start_daemon
	slow_import "$T/big.tar" 12000000
	[ -n "$(jobs_of import)" ]
	kill "$IMPORT_PID"
	wait_until 10 bash -c "[ -z \"\$('$EMBER' --address '$SOCK' --json jobs ls --all | tr -d '[]\n ')\" ]"
	kill "$FEED_PID" 2>/dev/null || true
	assert_store_empty
	assert_daemon_serves
	assert_log_clean
}

@test "import: jobs ls shows the import with its progress; jobs cancel stops it (io.ember.Canceled) and it leaves nothing" {
	require_unpack
	big_tar 40
	start_daemon
	slow_import "$T/big.tar" 12000000
	local id; id=$(jobs_of import)
	[ -n "$id" ]
	run -0 e jobs ls
	[[ "$output" == *"$id"*import*default*running* ]]
	run -0 e --json jobs ls
	[ "$(jget '[x for x in j if x["kind"] == "import"][0]["progress"]["phase"]' <<<"$output")" = importing ]
	# Another namespace does not see it, nor cancel it.
	run -0 e -n other jobs ls -q
	[ -z "$output" ]
	run -1 e -n other jobs cancel "$id"
	[[ "$output" == *"no job $id in namespace other"* ]]
	run -2 e jobs cancel nope
	run -0 e jobs cancel "$id"
	wait "$IMPORT_PID" || true
	run cat "$T/import.out"
	echo "$output"
	[[ "$output" == *cancel* ]]
	kill "$FEED_PID" 2>/dev/null || true
	wait_until 10 bash -c "[ -z \"\$('$EMBER' --address '$SOCK' jobs ls -q --all)\" ]"
	assert_store_empty
	assert_log_clean
}

@test "import: a daemon killed in the middle leaves no image, GC removes the rest, and the next import finishes" {
	require_runtime
	big_tar 40
	start_daemon
	slow_import "$T/big.tar" 25000000
	kill_daemon
	kill "$FEED_PID" "$IMPORT_PID" 2>/dev/null || true
	start_daemon
	[ -z "$(image_names)" ]
	run -0 e content gc
	[ -z "$(store_digests)" ]
	[ -z "$(snapshot_keys)" ]
	run -0 e images import --base-name example.com/big "$T/big.tar"
	run -0 e images check --verify example.com/big:latest
	[[ "$output" == *"complete"* ]]
	local id; id=$(ct kill9)
	run -0 e run --rm example.com/big:latest "$id" true
	assert_gone "$id"
}

@test "import: hostile layers (the pull corpus) fail with one line; the store is as it was, no snapshot of them" {
	require_unpack
	bb_tar
	start_daemon
	run -0 e images import --base-name example.com/bb "$T/bb.tar"
	local before_blobs before_snaps c name keywords n=0
	before_blobs=$(store_digests)
	before_snaps=$(snapshot_keys)
	mkdir -p "$T/canary"
	while IFS= read -r c; do
		[ "$(jget 'j["fail"]' <<<"$c")" = true ] || continue
		name=$(jget 'j["name"]' <<<"$c")
		# Confined rather than refused by overlay (see unpack.bats).
		case $name in symlink-write-lower | symlink-mkdir-lower | whiteout-symlink-lower) continue ;; esac
		keywords=$(jget '"\n".join(j["keywords"])' <<<"$c")
		tar -C "$(jget 'j["layout"]' <<<"$c")" -cf "$T/h.tar" .
		run --separate-stderr e images import --base-name "example.com/hostile-$name" "$T/h.tar"
		echo "$name: $status: $stderr"
		[ "$status" -eq 1 ]
		[ "${#stderr_lines[@]}" -eq 1 ]
		"$PYTHON" -c '
import sys
out, kws = sys.argv[1].lower(), [k.lower() for k in sys.argv[2].splitlines() if k]
if not all(k in out for k in kws):
    sys.exit("the error does not say all of %r" % kws)' "$stderr" "$keywords"
		[ "$(image_names)" = "$BB" ]
		[ "$(store_digests)" = "$before_blobs" ]
		[ "$(snapshot_keys)" = "$before_snaps" ]
		n=$((n + 1))
	done < <("$PYTHON" "$INFRA_LIB/hostile.py" "$T/hostile" "$T/canary")
	echo "$n hostile archives refused"
	[ "$n" -ge 20 ]
	[ -z "$(find "$ROOT" -name 'EMBER-HOSTILE*' -print -quit)" ]
	assert_daemon_serves
	assert_log_clean
}

@test "import: a truncated archive, and one larger than the free space, fail with one line and leave nothing" {
	require_unpack
	big_tar 40
	SMALL=$T/small
	mkdir -p "$SMALL"
	mount -t tmpfs -o size=24m tmpfs "$SMALL"
	ROOT=$SMALL/root
	start_daemon
	run -1 --separate-stderr e images import --base-name example.com/big "$T/big.tar"
	echo "$stderr"
	[ "${#stderr_lines[@]}" -eq 1 ]
	[[ "$stderr" == *"No space left on device"* ]]
	assert_store_empty
	# Truncated: cut in the middle of a layer.
	head -c 9000000 "$T/big.tar" >"$T/cut.tar"
	run -1 --separate-stderr e images import --base-name example.com/big "$T/cut.tar"
	echo "$stderr"
	[ "${#stderr_lines[@]}" -eq 1 ]
	[[ "$stderr" == *"import: "*"runcated tar archive" ]]
	assert_store_empty
	[ -z "$(find "$ROOT" -name '.tmp*' -print -quit)" ]
	stop_daemon
}

@test "import: other calls are answered while a large import runs (no call over 1 s)" {
	require_unpack
	big_tar 150
	start_daemon
	# A separate client calls System.Info, each call on a new connection,
	# until the import is over (the bench measures the same precisely).
	"$PYTHON" "$TESTS_DIR/varlink_raw.py" "$SOCK" latency --until-file "$T/imported" \
		--count 20000 >"$T/latency.out" 2>&1 3>&- &
	local probe=$!
	bg_track "$probe"
	run -0 e images import --base-name example.com/big "$T/big.tar"
	touch "$T/imported"
	wait "$probe"
	cat "$T/latency.out"
	local calls max
	read -r _ calls _ _ _ _ _ max <"$T/latency.out"
	[ "$calls" -ge 5 ]
	awk -v m="$max" 'BEGIN { exit !(m < 1000) }'
	run -0 e images check example.com/big:latest
}
