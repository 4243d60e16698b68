#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Pull + unpack of the big test image (image_big, 5 layers) into btrfs
# snapshots against overlay snapshots, in one run: two ember daemons, one
# with its root on a loop-mounted btrfs (snapshotter btrfs), one on a
# loop-mounted ext4 with a journal (snapshotter overlay), the two files the
# same size, pulling from one local docker-registry whose data is on
# neither. Rounds alternate which goes first; each round empties both
# stores first (images rm, content gc, checked empty; btrfs: `btrfs
# subvolume sync` waits for its cleaner to drop what was deleted) and
# syncs both file systems. A discarded warm-up and BENCH_BTRFS_ROUNDS (5)
# measured rounds, medians. Besides the time until `ember pull` returns,
# what each pull wrote to its device (the loop device's write sectors and
# flush requests from /sys/block/loopN/stat, from a sync before the pull to
# a `sync -f` after it, so the file system's later write-back counts too).
# Part of tests/bench/run.sh; runs alone too:  btrfs.sh path/to/ember
set -euo pipefail
cd "$(dirname "$0")/../.."

EMBER=$(realpath "${1:?usage: btrfs.sh path/to/ember}")
ROUNDS=${BENCH_BTRFS_ROUNDS:-5}
SIZE_MB=${BENCH_BTRFS_MB:-4096}
T=$(mktemp -d /tmp/ember-bench-btrfs.XXXXXX)
PIDS=()
LOOPS=()
# shellcheck source=lib.sh
source tests/bench/lib.sh

trap bench_devices_cleanup EXIT

echo "## btrfs against overlay: pull + unpack (tests/bench/btrfs.sh)"
echo
have_btrfs() {
	command -v mkfs.btrfs >/dev/null && { grep -qw btrfs /proc/filesystems || modprobe btrfs 2>/dev/null; }
}
if ! have_btrfs; then
	echo "Skipped: no mkfs.btrfs (btrfs-progs) or no btrfs in the kernel."
	exit 0
fi
if ! "$EMBER" version | grep -q ' snapshot-btrfs'; then
	echo "Skipped: this ember has no btrfs snapshotter."
	exit 0
fi

# fs_up NAME MKFS...: a SIZE_MB sparse file, a file system on it, a loop
# device, mounted at $T/NAME; prints the loop device.
fs_up() {
	local name=$1 dev
	shift
	truncate -s "${SIZE_MB}M" "$T/$name.img"
	"$@" "$T/$name.img" >/dev/null
	dev=$(losetup --find --show "$T/$name.img")
	mkdir -p "$T/$name"
	mount "$dev" "$T/$name"
	echo "$dev"
}

# daemon_up NAME SNAPSHOTTER: an ember daemon with its root on $T/NAME.
daemon_up() {
	local name=$1 snap=$2
	mkdir -p "$T/$name-state"
	mount -t tmpfs -o mode=0711 tmpfs "$T/$name-state"
	printf '[snapshots]\ndefault = "%s"\n' "$snap" >"$T/$name.toml"
	"$EMBER" daemon --config "$T/$name.toml" --root "$T/$name/root" --state "$T/$name-state" \
		--address "$T/$name.sock" 2>"$T/$name.log" &
	PIDS+=($!)
	bench_wait_api "$name" "$EMBER" -a "$T/$name.sock" info
}

# stat_of DEV: "write-sectors flushes" of a block device.
stat_of() {
	awk '{ print $7, $16 }' "/sys/block/${1#/dev/}/stat"
}

DEV_B=$(fs_up btrfs mkfs.btrfs -q -f)
LOOPS+=("$DEV_B")
DEV_X=$(fs_up ext4 mkfs.ext4 -q -F)
LOOPS+=("$DEV_X")
daemon_up btrfs btrfs
daemon_up ext4 overlay

bench_infra
image_big "$T/big" 40 >/dev/null
registry_start bench plain >/dev/null
PIDS+=("$REGISTRY_BENCH_PID")
registry_push_oci "$T/big" "$REGISTRY_BENCH_ADDR/big:latest" >/dev/null
REF=$REGISTRY_BENCH_ADDR/big:latest
image_bytes=$(/usr/bin/python3 -c 'import json,sys; i=json.load(open(sys.argv[1])); print(sum(l["size"] for m in i["manifests"] for l in m["layers"]))' <(echo "$IMAGE_INFO") 2>/dev/null || echo "?")

declare -A times writes flushes
# pull NAME DEV: one timed pull into daemon NAME, its device's writes.
pull() {
	local name=$1 dev=$2 t0 t1 s0 s1
	sync -f "$T/$name"
	read -r -a s0 <<<"$(stat_of "$dev")"
	t0=$(now_ms)
	"$EMBER" -a "$T/$name.sock" pull --plain-http "$REF" >/dev/null
	t1=$(now_ms)
	sync -f "$T/$name"
	read -r -a s1 <<<"$(stat_of "$dev")"
	[ "$round" -eq 0 ] && return 0
	times[$name]+=" $((t1 - t0))"
	writes[$name]+=" $(((s1[0] - s0[0]) * 512))"
	flushes[$name]+=" $((s1[1] - s0[1]))"
}

for round in $(seq 0 "$ROUNDS"); do
	for name in btrfs ext4; do
		# shellcheck disable=SC2034 # bench_ember_empty's client
		E=("$EMBER" -a "$T/$name.sock")
		bench_ember_empty
	done
	btrfs subvolume sync "$T/btrfs" >/dev/null
	sync -f "$T/btrfs"
	sync -f "$T/ext4"
	if [ $((round % 2)) -eq 0 ]; then
		pull btrfs "$DEV_B"
		pull ext4 "$DEV_X"
	else
		pull ext4 "$DEV_X"
		pull btrfs "$DEV_B"
	fi
done
# The last round's trees: what each made.
n_sub=$(btrfs subvolume list "$T/btrfs" | wc -l)
n_snap=$("$EMBER" -a "$T/ext4.sock" snapshots ls -q | wc -l)

# shellcheck disable=SC2086 # the lists are words
{
	mb=$(median ${times[btrfs]}) mo=$(median ${times[ext4]})
	wb=$(median ${writes[btrfs]}) wo=$(median ${writes[ext4]})
	fb=$(median ${flushes[btrfs]}) fo=$(median ${flushes[ext4]})
}
mib() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1048576 }'; }
echo "The big test image ($image_bytes bytes in 5 layers, one zstd) from a local"
echo "docker-registry; each root on its own ${SIZE_MB} MiB loop-mounted file system;"
echo "a discarded warm-up and $ROUNDS rounds, the order alternating, medians."
echo
echo "| snapshotter (root's file system) | pull + unpack, ms | ratio | written to the device, MiB | flushes |"
echo "|---|---:|---:|---:|---:|"
echo "| overlay (ext4 with journal), $n_snap snapshots | $mo | 1 | $(mib "$wo") | $fo |"
echo "| btrfs (btrfs), $n_sub subvolumes | $mb | $(ratio "$mb" "$mo") | $(mib "$wb") | $fb |"
echo
echo "Rounds, ms: overlay${times[ext4]}; btrfs${times[btrfs]}."
