#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# The btrfs snapshotter, on a btrfs of the test's own (a loop device
# mounted as the daemon's root): the same checks as overlay and native get
# (the tree against umoci's, hostile layers, kill -9 mid-unpack), and what
# is btrfs's own: layers are read-only subvolumes, a container's rootfs a
# writable one bind mounted, removal destroys them, start-up sweeps
# subvolumes no record names, usage comes from quota groups where they are
# on, and a root that is not btrfs gets one clear line.

bats_require_minimum_version 1.5.0
load helpers
load lib/image
load lib/registry
load lib/remote
load lib/unpack
load lib/tasks
load lib/btrfs

setup() {
	setup_dirs
	require_unpack
	require_btrfs
	btrfs_root_up
}

teardown() {
	local p rc=0
	# Containers first (they hold their rootfs), then the daemon, then the mounts.
	for p in $(task_pids); do kill -9 "$p" 2>/dev/null || true; done
	for p in $(task_pids); do wait_until 5 bash -c "! kill -0 $p 2>/dev/null" || true; done
	remote_teardown || rc=$?
	btrfs_teardown
	cgroups_cleanup
	return "$rc"
}

btrfs_dir() {
	echo "$ROOT/snapshots/btrfs"
}

# The tree of snapshot KEY (namespace default), from its record.
tree_of() {
	echo "$(btrfs_dir)/trees/$(jget 'j["id"]' <"$(btrfs_dir)/records/default/$(key_file "$1")")/fs"
}

# key_file KEY: the record's file name (metadata's escaping: what `ls` shows).
key_file() {
	local f
	for f in "$(btrfs_dir)"/records/default/*.json; do
		[ "$(jget 'j["key"]' <"$f")" = "$1" ] && { basename "$f"; return 0; }
	done
	return 1
}

# ---- the tree is umoci's --------------------------------------------------------------

@test "btrfs: busybox: images mount shows umoci's tree, read-only; images unmount removes the view" {
	mount_matches_oracle image_busybox bb btrfs
}

@test "btrfs: rich image: devices, owners, modes, xattrs, hard links, whiteouts and opaque directories as umoci has them" {
	mount_matches_oracle image_rich rich btrfs
}

@test "btrfs: btrfs and overlay unpack the rich image to the same tree" {
	image_on image_rich rich
	daemon_up
	run -0 e pull --plain-http "$REF"
	run -0 e pull --plain-http --snapshotter btrfs "$REF"
	mkdir "$T/mo" "$T/mb"
	run -0 e images mount "$REF" "$T/mo"
	run -0 e images mount --snapshotter btrfs "$REF" "$T/mb"
	run treecmp "$T/mo" "$T/mb"
	echo "$output"
	[ "$status" -eq 0 ]
	run -0 e images unmount "$T/mo"
	run -0 e images unmount "$T/mb"
	assert_not_mounted "$T/mb"
}

@test "btrfs: the 5-layer image (whiteouts, zstd) imported is umoci's tree; config.toml's default snapshotter is btrfs" {
	image_big "$T/big" 20
	tar -C "$T/big" -cf "$T/big.tar" .
	DAEMON_CONFIG=$T/daemon.toml
	printf '[snapshots]\ndefault = "btrfs"\n' >"$DAEMON_CONFIG"
	start_daemon
	run -0 e images import --base-name example.com/big "$T/big.tar"
	[ "$(snapshot_keys --snapshotter btrfs)" = "$(chain_ids "$T/big" | LC_ALL=C sort)" ]
	[ -z "$(snapshot_keys --snapshotter overlay)" ]
	image_unpack_root "$T/big" "$T/oracle"
	mkdir "$T/m"
	run -0 e images mount example.com/big:latest "$T/m"
	run treecmp "$T/m" "$T/oracle/rootfs"
	echo "$output"
	[ "$status" -eq 0 ]
	run -0 e images unmount "$T/m"
	assert_log_clean
}

# ---- subvolumes -------------------------------------------------------------------------

@test "btrfs: each layer is a read-only subvolume; removing the image destroys them all" {
	image_on image_rich rich
	daemon_up
	run -0 e pull --plain-http --snapshotter btrfs "$REF"
	local chains c t n
	chains=$(chain_ids "$T/rich")
	n=$(wc -l <<<"$chains")
	# One subvolume per layer, nothing else (no rw left, nothing in tmp).
	[ "$(subvols | wc -l)" -eq "$n" ]
	[ -z "$(ls -A "$(btrfs_dir)/tmp")" ]
	for c in $chains; do
		t=$(tree_of "$c")
		btrfs subvolume show "$t" >/dev/null
		is_ro "$t"
		[ "$(ls -A "$(dirname "$t")")" = fs ]
	done
	# Read-only: not even root writes into a layer.
	run touch "$t/ember-write-test"
	[ "$status" -ne 0 ]
	run -0 e images rm "$REF"
	run -0 e content gc
	[ -z "$(snapshot_keys --snapshotter btrfs)" ]
	[ -z "$(subvols)" ]
	[ -z "$(ls -A "$(btrfs_dir)/trees")" ]
}

@test "btrfs: a second namespace's pull names the same read-only subvolumes; they go with the last namespace's image" {
	image_on image_rich rich
	daemon_up
	run -0 e pull --plain-http --snapshotter btrfs "$REF"
	local n
	n=$(subvols | wc -l)
	[ "$n" -eq "$(chain_ids "$T/rich" | wc -l)" ]
	run -0 e -n ota pull --plain-http --snapshotter btrfs "$REF"
	[ "$(subvols | wc -l)" -eq "$n" ]
	[ "$(e -n ota snapshots --snapshotter btrfs ls | awk 'NR > 1 { print $1 }' | LC_ALL=C sort)" = "$(chain_ids "$T/rich" | LC_ALL=C sort)" ]
	run -0 e images rm "$REF"
	run -0 e content gc
	[ -z "$(snapshot_keys --snapshotter btrfs)" ]
	[ "$(subvols | wc -l)" -eq "$n" ]
	mkdir "$T/m"
	run -0 e -n ota images mount --snapshotter btrfs "$REF" "$T/m"
	[ -e "$T/m/bin/busybox" ]
	run -0 e -n ota images unmount "$T/m"
	run -0 e -n ota images rm "$REF"
	run -0 e -n ota content gc
	[ -z "$(subvols)" ]
	[ -z "$(ls -A "$(btrfs_dir)/trees")" ]
}

@test "btrfs: a container's rootfs is a writable snapshot of its image, bind mounted; rm destroys it" {
	require_runtime
	image_on image_busybox bb
	daemon_up
	run -0 e pull --plain-http --snapshotter btrfs "$REF"
	local id; id=$(ct bt)
	run -0 e run --snapshotter btrfs "$REF" "$id" sh -c 'echo kept >/made; awk "\$5 == \"/\"" /proc/self/mountinfo'
	echo "$output"
	# The root is a btrfs subvolume of the store (a bind mount, no overlay).
	[[ "$output" == *" - btrfs "* ]]
	[[ "$output" != *overlay* ]]
	local t; t=$(tree_of "$id")
	btrfs subvolume show "$t" >/dev/null
	is_rw "$t"
	[ "$(cat "$t/made")" = kept ]
	# The layer below did not change.
	[ ! -e "$(tree_of "$(chain_ids "$T/bb" | tail -1)")/made" ]
	[ "$(subvols | wc -l)" -eq 2 ]
	run -0 e containers rm "$id"
	[ "$(subvols | wc -l)" -eq 1 ]
	[ ! -e "$t" ]
}

@test "btrfs: a container in its own user namespace: its rootfs is an idmapped bind mount of the subvolume, the image's files root's inside" {
	require_runtime
	[[ " $("$EMBER" version | sed -n 's/^features: //p') " == *" userns "* ]] || skip "this ember has no user namespaces"
	in_chroot && skip "user namespaces are refused in a chroot"
	image_on image_busybox bb
	daemon_up
	run -0 e pull --plain-http --snapshotter btrfs "$REF"
	local id; id=$(ct bu)
	# btrfs takes idmapped bind mounts: no overlay, no Linux 6.13 needed.
	run -0 e run --snapshotter btrfs --uidmap 0:100000:65536 "$REF" "$id" \
		sh -c 'tr -s " " </proc/self/uid_map; id -u; stat -c %u:%g /etc/passwd /bin/busybox; echo x >/etc/made; stat -c %u /etc/made; awk "\$5 == \"/\"" /proc/self/mountinfo'
	echo "$output"
	[ "${lines[0]}" = " 0 100000 65536" ]
	[ "${lines[1]}" = 0 ]
	[ "${lines[2]}" = 0:0 ] && [ "${lines[3]}" = 0:0 ] && [ "${lines[4]}" = 0 ]
	[[ "${lines[5]}" == *idmapped*" - btrfs "* ]]
	# The whole tree is idmapped (overlay maps only the layers below its
	# upper directory): what root inside writes is stored as root, like
	# the image's files, and the host's uid 100000 owns nothing there.
	local t; t=$(tree_of "$id")
	[ "$(stat -c %u:%g "$t/etc/made")" = 0:0 ]
	[ -z "$(find "$t" -uid 100000 | head -n 1)" ]
	run -0 e containers rm "$id"
	[ ! -e "$t" ]
}

@test "btrfs: the snapshots commands: prepare (writable), commit (read-only), view (its parent), usage, rm" {
	image_on image_busybox bb
	daemon_up
	run -0 e pull --plain-http --snapshotter btrfs "$REF"
	local base w line
	base=$(chain_ids "$T/bb")
	run -0 e snapshots --snapshotter btrfs prepare work "$base"
	w=$(tree_of work)
	is_rw "$w"
	[ -x "$w/bin/busybox" ]
	echo new >"$w/new-file"
	run -0 e snapshots --snapshotter btrfs mounts "$T/m" work
	echo "$output"
	[[ "$output" == *"$w"* ]]
	run -0 e snapshots --snapshotter btrfs commit mine work
	line=$(snapshot_line mine --snapshotter btrfs)
	[[ "${line,,}" == *committed* ]]
	[ -z "$(snapshot_line work --snapshotter btrfs)" ]
	# The same subvolume, now read-only.
	[ "$(tree_of mine)" = "$w" ]
	is_ro "$w"
	run -0 e snapshots --snapshotter btrfs view look mine
	mkdir "$T/v"
	run -0 e snapshots --snapshotter btrfs mounts "$T/v" look
	[[ "$output" == *"$w"* ]]
	run -0 e snapshots --snapshotter btrfs usage mine
	echo "$output"
	run -0 e snapshots --snapshotter btrfs rm look
	run e snapshots --snapshotter btrfs rm "$base"
	[ "$status" -ne 0 ]
	run -0 e snapshots --snapshotter btrfs rm mine
	[ "$(snapshot_keys --snapshotter btrfs)" = "$base" ]
	[ "$(subvols | wc -l)" -eq 1 ]
}

@test "btrfs: usage is a walk of the tree without quotas, the quota group's exclusive bytes with them" {
	image_on image_busybox bb
	daemon_up
	run -0 e pull --plain-http --snapshotter btrfs "$REF"
	local base t id walk
	base=$(chain_ids "$T/bb")
	run -0 e --json snapshots --snapshotter btrfs usage "$base"
	echo "$output"
	walk=$(jget '[u for u in j if u["key"] == "'"$base"'"][0]' <<<"$output")
	[ "$(jget 'j["inodes"]' <<<"$walk")" -gt 10 ]
	[ "$(jget 'j["size"]' <<<"$walk")" -gt 100000 ]
	btrfs quota enable "$ROOT"
	btrfs quota rescan -w "$ROOT" >/dev/null
	t=$(tree_of "$base")
	id=$(btrfs subvolume show "$t" | awk '$1 == "Subvolume" && $2 == "ID:" { print $3 }')
	local excl
	excl=$(btrfs qgroup show --raw "$ROOT" | awk -v q="0/$id" '$1 == q { print $3 }')
	echo "qgroup 0/$id: excl $excl"
	[ -n "$excl" ]
	run -0 e --json snapshots --snapshotter btrfs usage "$base"
	echo "$output"
	[ "$(jget 'j[0]["size"]' <<<"$output")" = "$excl" ]
	[ "$(jget 'j[0]["inodes"]' <<<"$output")" = 0 ]
}

# Linux before 5.7 has no BTRFS_IOC_SNAP_DESTROY_V2: a seccomp filter makes
# it unknown (ENOTTY) to the daemon, which then destroys by name.
@test "btrfs: without BTRFS_IOC_SNAP_DESTROY_V2 (before Linux 5.7), subvolumes are destroyed by name" {
	image_on image_busybox bb
	DAEMON_CONFIG=$T/daemon.toml
	printf '[registry]\nconfig_path = "%s"\n' "$T/certs.d" >"$DAEMON_CONFIG"
	mkdir -p "$T/certs.d"
	"$PYTHON" "$INFRA_LIB/no-destroy-v2.py" "$EMBER" daemon --config "$DAEMON_CONFIG" --root "$ROOT" \
		--state "$STATE" --address "$SOCK" >>"$DAEMON_LOG" 2>&1 &
	DAEMON_PID=$!
	wait_for_daemon
	grep -q Seccomp:.*2 "/proc/$DAEMON_PID/status"
	run -0 e pull --plain-http --snapshotter btrfs "$REF"
	run -0 e snapshots --snapshotter btrfs prepare work "$(chain_ids "$T/bb")"
	[ "$(subvols | wc -l)" -eq 2 ]
	run -0 e snapshots --snapshotter btrfs rm work
	run -0 e images rm "$REF"
	run -0 e content gc
	[ -z "$(subvols)" ]
	[ -z "$(ls -A "$(btrfs_dir)/trees")" ]
}

# ---- crash safety -----------------------------------------------------------------------

@test "btrfs: kill -9 mid-unpack: no partial snapshot is committed, recovery destroys the rest, the next pull finishes the same tree" {
	image_on image_big big
	daemon_up
	e pull --plain-http --snapshotter btrfs "$REF" >"$T/pull.out" 2>&1 &
	local pull=$!
	bg_track "$pull"
	wait_unpacking btrfs
	kill -KILL "$DAEMON_PID"
	wait "$DAEMON_PID" 2>/dev/null || true
	DAEMON_PID=
	wait "$pull" || true
	local committed
	committed=$(snapshot_keys_offline btrfs)
	echo "committed before the restart: $committed"
	# The layer being unpacked is a subvolume in tmp/ (rw, maybe fs too).
	[ -n "$(subvols | grep '/tmp/')" ]
	daemon_up
	grep -q 'snapshots (btrfs): removed 1 unfinished tree' "$DAEMON_LOG"
	[ -z "$(ls -A "$(btrfs_dir)/tmp")" ]
	[ "$(snapshot_keys --snapshotter btrfs)" = "$committed" ]
	# A subvolume for each committed layer, and none other.
	[ "$(subvols | wc -l)" -eq "$(wc -w <<<"$committed")" ]
	assert_no_image "$REF"
	local chains
	chains=$(chain_ids "$T/big")
	for k in $committed; do grep -qxF -- "$k" <<<"$chains"; done
	run -0 e pull --plain-http --snapshotter btrfs "$REF"
	[ "$(snapshot_keys --snapshotter btrfs)" = "$(LC_ALL=C sort <<<"$chains")" ]
	image_unpack_root "$T/big" "$T/oracle"
	mkdir "$T/m"
	run -0 e images mount --snapshotter btrfs "$REF" "$T/m"
	run treecmp "$T/m" "$T/oracle/rootfs"
	echo "$output"
	[ "$status" -eq 0 ]
	run -0 e images unmount "$T/m"
}

@test "btrfs: start-up destroys subvolumes no record names, keeps the rest, and makes an active snapshot's tree writable again" {
	image_on image_busybox bb
	daemon_up
	run -0 e pull --plain-http --snapshotter btrfs "$REF"
	run -0 e snapshots --snapshotter btrfs prepare work "$(chain_ids "$T/bb")"
	local w; w=$(tree_of work)
	stop_daemon
	local before; before=$(subvols)
	# Orphans: a tree without a record (a read-only subvolume in it, and a
	# writable one), and a layer cut short in tmp/.
	mkdir -p "$(btrfs_dir)/trees/0123456789ab" "$(btrfs_dir)/tmp/ba9876543210"
	btrfs subvolume create "$(btrfs_dir)/trees/0123456789ab/rw" >/dev/null
	btrfs subvolume snapshot -r "$(btrfs_dir)/trees/0123456789ab/rw" "$(btrfs_dir)/trees/0123456789ab/fs" >/dev/null
	btrfs subvolume snapshot "$w" "$(btrfs_dir)/tmp/ba9876543210/rw" >/dev/null
	# A commit cut between making the tree read-only and its record.
	btrfs property set -ts "$w" ro true
	daemon_up
	grep -q 'snapshots (btrfs): removed 1 unfinished tree(s), 1 tree(s) without a record' "$DAEMON_LOG"
	[ "$(subvols)" = "$before" ]
	[ ! -e "$(btrfs_dir)/trees/0123456789ab" ]
	[ -z "$(ls -A "$(btrfs_dir)/tmp")" ]
	is_rw "$w"
	touch "$w/writable-again"
}

@test "btrfs: committed snapshots and mounts survive a daemon restart" {
	image_on image_busybox bb
	daemon_up
	run -0 e pull --plain-http --snapshotter btrfs "$REF"
	mkdir "$T/m"
	run -0 e images mount --snapshotter btrfs "$REF" "$T/m"
	local before; before=$(e snapshots --snapshotter btrfs ls)
	local subs; subs=$(subvols)
	stop_daemon
	daemon_up
	[ "$(e snapshots --snapshotter btrfs ls)" = "$before" ]
	[ "$(subvols)" = "$subs" ]
	assert_mounted "$T/m"
	[ -x "$T/m/bin/busybox" ]
	run -0 e images unmount "$T/m"
	assert_not_mounted "$T/m"
}

# ---- not on btrfs -------------------------------------------------------------------------

@test "btrfs: a root that is not btrfs: one line naming it, wherever btrfs is asked for; overlay serves" {
	image_on image_busybox bb
	# The root on the test's own directory (ext4, tmpfs...): not btrfs.
	btrfs_teardown
	[ "$(stat -f -c %T "$T")" != btrfs ] || skip "the test directory is on btrfs"
	daemon_up
	local want="snapshotter btrfs: $ROOT/snapshots/btrfs is not a btrfs file system"
	grep -qF "$want" "$DAEMON_LOG"
	run -1 e pull --plain-http --snapshotter btrfs "$REF"
	echo "$output"
	[[ "$output" == *"$want"* ]]
	[ "$(grep -c . <<<"$output")" -le 2 ]
	assert_no_image "$REF"
	run -1 e snapshots --snapshotter btrfs ls
	[[ "$output" == *"$want"* ]]
	run -1 e --debug snapshots --snapshotter btrfs ls
	[[ "$output" == *io.ember.Unavailable* ]]
	# The others are not held up: and unmount, which asks each in turn,
	# still finds an overlay view.
	run -0 e pull --plain-http "$REF"
	mkdir "$T/m"
	run -0 e images mount "$REF" "$T/m"
	run -0 e images unmount "$T/m"
	assert_not_mounted "$T/m"
	run -1 e images unmount "$T/m"
	[[ "$output" != *"btrfs"* ]]
	[ ! -e "$ROOT/snapshots/btrfs/records" ]
}

# ---- hostile layers (as native: whiteouts are applied to the layer below) -----------------

@test "btrfs: hostile: ../ climbing out of the root is refused" {
	hostile_case dotdot-escape btrfs
}

@test "btrfs: hostile: a .. inside the root is refused" {
	hostile_case dotdot-inside btrfs
}

@test "btrfs: hostile: an absolute name lands inside the root" {
	hostile_case absolute btrfs
}

@test "btrfs: hostile: a file through a symlink of the same layer is refused" {
	hostile_case symlink-write btrfs
}

@test "btrfs: hostile: a file through a lower layer's symlink is refused" {
	hostile_case symlink-write-lower btrfs
}

@test "btrfs: hostile: a directory through a lower layer's symlink is refused" {
	hostile_case symlink-mkdir-lower btrfs
}

@test "btrfs: hostile: a file over a symlink out replaces the symlink" {
	hostile_case symlink-final btrfs
}

@test "btrfs: hostile: a file over a lower layer's symlink out replaces it" {
	hostile_case symlink-final-lower btrfs
}

@test "btrfs: hostile: a symlink chain out, then a file through it, is refused" {
	hostile_case symlink-chain btrfs
}

@test "btrfs: hostile: a hard link through a symlink chain out is refused" {
	hostile_case symlink-chain-hardlink btrfs
}

@test "btrfs: hostile: a hard link to ../ out of the root is refused" {
	hostile_case hardlink-dotdot btrfs
}

@test "btrfs: hostile: a hard link to an absolute path is resolved in the root" {
	hostile_case hardlink-absolute btrfs
}

@test "btrfs: hostile: a hard link to /etc/passwd never links the host's" {
	hostile_case hardlink-passwd btrfs
}

@test "btrfs: hostile: a hard link to ../../etc/passwd is refused" {
	hostile_case hardlink-passwd-dotdot btrfs
}

@test "btrfs: hostile: a whiteout climbing out of the root is refused" {
	hostile_case whiteout-dotdot btrfs
}

@test "btrfs: hostile: an opaque whiteout climbing out of the root is refused" {
	hostile_case opaque-dotdot btrfs
}

@test "btrfs: hostile: a whiteout through a lower layer's symlink is refused" {
	hostile_case whiteout-symlink-lower btrfs
}

@test "btrfs: hostile: a whiteout named .wh.. is refused" {
	hostile_case whiteout-bad-name btrfs
}

@test "btrfs: hostile: device nodes stay in the store" {
	hostile_case device btrfs
}

@test "btrfs: hostile: a 0:0 character device over a lower file" {
	hostile_case forged-whiteout-device btrfs
}

@test "btrfs: hostile: forged overlay xattrs are dropped" {
	hostile_case forged-overlay-xattr btrfs
}

@test "btrfs: hostile: a name longer than 4095 bytes is refused" {
	hostile_case deep-path btrfs
}

@test "btrfs: hostile: a name component longer than 255 bytes is refused" {
	hostile_case long-component btrfs
}

@test "btrfs: hostile: an entry that declares more than the stream holds is refused" {
	hostile_case truncated-entry btrfs
}

@test "btrfs: hostile: an entry that declares 100 GiB is refused before any data" {
	hostile_case declared-huge btrfs
}

@test "btrfs: hostile: a first header with a bad checksum: not a tar archive" {
	hostile_case bad-checksum-first btrfs
}

@test "btrfs: hostile: a later header with a bad checksum is refused" {
	hostile_case bad-checksum btrfs
}
