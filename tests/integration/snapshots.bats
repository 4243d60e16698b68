#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# Snapshots beyond the unpacked tree (unpack.bats has that): garbage
# collection, dropped blobs, crash safety of unpacking (kill -9 mid-unpack,
# restart, pull again), daemon restarts, and bad requests.

bats_require_minimum_version 1.5.0
load helpers
load lib/image
load lib/registry
load lib/remote
load lib/unpack

setup() {
	setup_dirs
	require_unpack
}

teardown() {
	unmount_under "$T"
	remote_teardown
	unmount_under "$T"
}

# trees SNAPSHOTTER: how many snapshot trees the store holds.
trees() {
	find "$ROOT/snapshots/${1:-overlay}/trees" -mindepth 1 -maxdepth 1 | wc -l
}

@test "snapshots: removing an image collects its snapshots, not the layers another image shares" {
	image_on image_busybox bb
	image_on image_big big
	daemon_up
	run -0 e pull --plain-http "$REGISTRY_R_ADDR/test/bb:latest"
	run -0 e pull --plain-http "$REGISTRY_R_ADDR/test/big:latest"
	local bb big
	bb=$(chain_ids "$T/bb")
	big=$(chain_ids "$T/big")
	# The big image's base layer is busybox's: one snapshot for both.
	[ "$(head -1 <<<"$big")" = "$bb" ]
	[ "$(snapshot_keys)" = "$(LC_ALL=C sort <<<"$big")" ]
	[ "$(trees)" -eq 5 ]
	run -0 e images rm "$REGISTRY_R_ADDR/test/big:latest"
	[ "$(snapshot_keys)" = "$bb" ]
	[ "$(trees)" -eq 1 ]
	run -0 e images rm "$REGISTRY_R_ADDR/test/bb:latest"
	[ -z "$(snapshot_keys)" ]
	[ "$(trees)" -eq 0 ]
}

@test "snapshots: an active snapshot, a lease and a gc.root label keep their chains; GC removes them once released" {
	image_on image_big big
	daemon_up
	run -0 e pull --plain-http "$REF"
	local chains top base
	chains=$(chain_ids "$T/big")
	top=$(tail -1 <<<"$chains")
	base=$(head -1 <<<"$chains")
	run -0 e snapshots prepare work "$top"
	run -0 e snapshots commit mine work
	run -0 e snapshots prepare work2 mine
	run -0 e images rm "$REF"
	# work2 is active: it, its parent and the whole chain stay.
	[ "$(snapshot_keys | wc -l)" -eq 7 ]
	run -0 e snapshots rm work2
	run -0 e content gc
	[[ "$output" == *"removed 6 snapshot(s)"* ]]
	[ -z "$(snapshot_keys)" ]

	run -0 e pull --plain-http "$REF"
	run -0 e leases create --id hold
	run -0 e call io.ember.Leases.AddResource "{\"id\": \"hold\", \"type\": \"snapshots/overlay\", \"resource\": \"$top\"}"
	run -0 e snapshots label "$base" ember.io/gc.root=yes
	run -0 e images rm "$REF"
	[ "$(snapshot_keys)" = "$(LC_ALL=C sort <<<"$chains")" ]
	run -0 e leases rm hold
	run -0 e content gc
	# The label keeps the base only.
	[ "$(snapshot_keys)" = "$base" ]
	run -0 e snapshots label "$base" ember.io/gc.root=
	run -0 e content gc
	[ -z "$(snapshot_keys)" ]
	[ "$(trees)" -eq 0 ]
}

@test "snapshots: drop_blobs removes each layer's blob once unpacked; the image mounts, a second pull fetches nothing" {
	image_on image_big big
	daemon_up '[snapshots]' 'drop_blobs = true'
	run -0 e pull --plain-http "$REF"
	info_manifest
	local d
	# The manifest and config stay; no layer blob does.
	for d in $M_LAYERS; do
		run ! grep -qxF -- "$d" <<<"$(store_digests)"
	done
	grep -qxF -- "$IMAGE_DIGEST" <<<"$(store_digests)"
	grep -qxF -- "$M_CONFIG" <<<"$(store_digests)"
	# The image is whole without them: the same tree as umoci's.
	image_unpack_root "$T/big" "$T/oracle"
	mkdir "$T/m"
	run -0 e images mount "$REF" "$T/m"
	run treecmp "$T/m" "$T/oracle/rootfs"
	echo "$output"
	[ "$status" -eq 0 ]
	run -0 e images unmount "$T/m"
	run -0 e images check "$REF"
	[ "${lines[-1]}" = "$REF: unpacked, layer blobs dropped (2/7 blobs)" ]
	[[ "$output" == *"unpacked in overlay"* ]]
	# Pulled again: every layer is "unpacked" already, none downloads.
	run -0 e pull --plain-http "$REF"
	echo "$output"
	[[ "$output" != *downloading* ]]
	[ "$(grep -c ' unpacked ' <<<"$output")" -eq "$(wc -w <<<"$M_LAYERS")" ]
	[ "$(record_digest "$REF")" = "$IMAGE_DIGEST" ]
	# GC leaves the image's snapshots alone, and takes them with the image.
	run -0 e content gc
	[ "$(snapshot_keys | wc -l)" -eq 5 ]
	run -0 e images rm "$REF"
	[ -z "$(snapshot_keys)" ]
}

@test "snapshots: kill -9 mid-unpack: no partial snapshot is committed, recovery clears the rest, the next pull finishes the same tree" {
	image_on image_big big
	daemon_up
	e pull --plain-http --snapshotter native "$REF" >"$T/pull.out" 2>&1 &
	local pull=$!
	bg_track "$pull"
	# (Native layers take a copy of their parent, then the layer.)
	wait_unpacking native
	kill -KILL "$DAEMON_PID"
	wait "$DAEMON_PID" 2>/dev/null || true
	DAEMON_PID=
	wait "$pull" || true
	local committed
	committed=$(snapshot_keys_offline native)
	echo "committed before the restart: $committed"
	# Restart: the unfinished tree goes, the committed ones stay.
	daemon_up
	grep -q 'snapshots (native): removed 1 unfinished tree' "$DAEMON_LOG"
	[ -z "$(ls -A "$ROOT/snapshots/native/tmp")" ]
	[ "$(snapshot_keys --snapshotter native)" = "$committed" ]
	assert_no_image "$REF"
	# Every committed key is a prefix of the image's chain: nothing else.
	local chains
	chains=$(chain_ids "$T/big")
	for k in $committed; do grep -qxF -- "$k" <<<"$chains"; done
	run -0 e pull --plain-http --snapshotter native "$REF"
	[ "$(snapshot_keys --snapshotter native)" = "$(LC_ALL=C sort <<<"$chains")" ]
	# The tree is whole: the same as umoci's.
	image_unpack_root "$T/big" "$T/oracle"
	mkdir "$T/m"
	run -0 e images mount --snapshotter native "$REF" "$T/m"
	run treecmp "$T/m" "$T/oracle/rootfs"
	echo "$output"
	[ "$status" -eq 0 ]
	run -0 e images unmount "$T/m"
}

@test "snapshots: committed snapshots survive a daemon restart untouched, mounts included" {
	image_on image_busybox bb
	daemon_up
	run -0 e pull --plain-http "$REF"
	mkdir "$T/m"
	run -0 e images mount "$REF" "$T/m"
	local before
	before=$(e snapshots ls)
	stop_daemon
	daemon_up
	[ "$(e snapshots ls)" = "$before" ]
	assert_mounted "$T/m"
	[ -x "$T/m/bin/busybox" ]
	run -0 e images unmount "$T/m"
	assert_not_mounted "$T/m"
	[ "$(snapshot_keys)" = "$(chain_ids "$T/bb")" ]
}

@test "snapshots: bad requests get one clear line and change nothing" {
	image_on image_busybox bb
	daemon_up
	run -1 e pull --plain-http --snapshotter zfs "$REF"
	[[ "$output" == *'snapshotter "zfs" is not compiled in (have: overlay, native, btrfs)'* ]]
	assert_no_image "$REF"
	run -0 e pull --plain-http --no-unpack "$REF"
	mkdir "$T/m"
	run -1 e images mount "$REF" "$T/m"
	[[ "$output" == *"is not unpacked in snapshotter overlay"* ]]
	assert_not_mounted "$T/m"
	run -1 e images mount docker.io/library/nothing:latest "$T/m"
	[[ "$output" == *"not found"* ]]
	run -1 e snapshots rm nothing
	[[ "$output" == *'snapshot "nothing" not found'* ]]
	run -1 e snapshots prepare a missing-parent
	[[ "$output" == *'"missing-parent" not found'* ]]
	run -1 e snapshots commit x nothing
	run -2 e snapshots view v
	run -0 e pull --plain-http "$REF"
	local base
	base=$(chain_ids "$T/bb")
	run -1 e snapshots commit again "$base"
	[[ "$output" == *"is committed, not active"* ]]
	run -1 e snapshots prepare "$base" "$base"
	[[ "$output" == *"already exists"* ]]
	[ "$(snapshot_keys)" = "$base" ]
	[ "$(trees)" -eq 1 ]
	[ -z "$(ls -A "$ROOT/snapshots/overlay/tmp")" ]
}

@test "snapshots: keys are per namespace; a namespace that still holds snapshots is not deleted" {
	image_on image_busybox bb
	daemon_up
	run -0 e -n other pull --plain-http "$REF"
	[ -z "$(snapshot_keys)" ]
	[ "$(e -n other snapshots ls -q)" = "$(chain_ids "$T/bb")" ]
	run -1 e namespaces rm other
	[[ "$output" == *'namespace "other" still holds 1 snapshot(s) (overlay)'* ]]
	run -0 e -n other images rm "$REF"
	[ -z "$(e -n other snapshots ls -q)" ]
	run -0 e namespaces rm other
}

@test "snapshots: a mounted snapshot is neither removed nor committed" {
	image_on image_busybox bb
	daemon_up
	run -0 e pull --plain-http "$REF"
	mkdir "$T/m"
	run -0 e images mount --rw "$REF" "$T/m"
	local key
	key=$(realpath "$T/m")
	run -1 e snapshots rm "$key"
	[[ "$output" == *"is mounted: unmount it first"* ]]
	run -1 e snapshots commit frozen "$key"
	[[ "$output" == *"is mounted"* ]]
	[ -x "$T/m/bin/busybox" ]
	echo kept >"$T/m/written"
	run -0 e images unmount "$T/m"
	[ "$(snapshot_keys)" = "$(chain_ids "$T/bb")" ]
}

@test "snapshots: drop_blobs keeps a blob that an image of another namespace still needs" {
	image_on image_busybox bb
	daemon_up '[snapshots]' 'drop_blobs = true'
	run -0 e -n keep pull --plain-http --no-unpack "$REF"
	run -0 e pull --plain-http "$REF"
	info_manifest
	# The layer is unpacked in "default", and still a blob for "keep".
	grep -qxF -- "$M_LAYERS" <<<"$(store_digests)"
	run -0 e -n keep images check "$REF"
	[ "${lines[-1]}" = "$REF: complete (3/3 blobs)" ]
}
