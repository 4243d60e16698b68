# SPDX-License-Identifier: Apache-2.0
# The btrfs snapshotter's tests (btrfs.bats) and the bench: a btrfs file
# system of the test's own, in a sparse file on a loop device, mounted as
# the daemon's root. Load after helpers and lib/unpack.

require_btrfs() {
	[[ " $("$EMBER" version | sed -n 's/^features: //p') " == *" snapshot-btrfs "* ]] ||
		skip "this ember has no btrfs snapshotter"
	if ! command -v mkfs.btrfs >/dev/null || ! command -v btrfs >/dev/null; then
		skip "no mkfs.btrfs (board/deps.sh integration installs btrfs-progs)"
	fi
	grep -qw btrfs /proc/filesystems || modprobe btrfs 2>/dev/null ||
		skip "the kernel has no btrfs"
	[ -e /dev/loop-control ] || skip "no loop devices"
}

# btrfs_root_up [MB]: a fresh btrfs (default 1024 MiB, sparse) mounted on
# $ROOT; BTRFS_LOOP names its loop device.
btrfs_root_up() {
	truncate -s "${1:-1024}M" "$T/btrfs.img"
	mkfs.btrfs -q -f "$T/btrfs.img" >/dev/null
	BTRFS_LOOP=$(losetup --find --show "$T/btrfs.img")
	mkdir -p "$ROOT"
	mount -t btrfs "$BTRFS_LOOP" "$ROOT"
}

# For teardown(), after the daemon is stopped: every mount below $T (the
# btrfs last, deepest first), then the loop device and its file.
btrfs_teardown() {
	unmount_under "$T"
	if [ -n "${BTRFS_LOOP:-}" ]; then
		losetup -d "$BTRFS_LOOP" 2>/dev/null || true
		BTRFS_LOOP=
	fi
	rm -f "$T/btrfs.img"
}

# subvols: the subvolumes of the btrfs at $ROOT (paths below it), sorted.
subvols() {
	btrfs subvolume list "$ROOT" | awk '{ print $NF }' | LC_ALL=C sort
}

# is_ro PATH: the subvolume at PATH is read-only.
is_ro() {
	[ "$(btrfs property get -ts "$1" ro)" = "ro=true" ]
}

is_rw() {
	[ "$(btrfs property get -ts "$1" ro)" = "ro=false" ]
}
