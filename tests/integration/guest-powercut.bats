#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# The power-cut matrix (DESIGN.md §4's crash rules): a BusyBox qemu guest
# (board/qemu/guest.sh, TCG, x86_64) whose store is ext4 on a device-mapper
# device over its disk; tests/guest/powercut cuts power at many points of
# an image import, a container create, a container rm and an image rm + gc
# (dm-flakey drop_writes from the cut on, the daemon SIGKILLed, the file
# system mounted again after ext4's journal replay, a new daemon) and
# checks the store after each: system check --verify clean, the image
# complete or absent, every committed layer snapshot equal to its layer tar
# (files made on the host), no orphan, a finished operation durable, the
# operation done again finishes. The image: 5 layers (busybox, host files,
# random data, 3000 small files, whiteouts), ~3 MB. Also cut: a snapshots
# commit of files written through the active snapshot's mount, the import
# of a second image while a --restart always container runs (it must run
# again after the boot), the import with the native snapshotter and with
# the btrfs one (the store on a second disk, btrfs made on the host by
# mkfs.btrfs: where this ember has the btrfs snapshotter), and a
# pull from a registry on the host's 127.0.0.1 (Debian's docker-registry,
# reached over qemu's user-mode network) after which pulling again fetches
# none of the blobs the cut left in the store.
# ember-dmctl (tests/guest/dmctl.c, make guest-tests) is the guest's
# dmsetup. One guest boot runs every operation. By default a quick matrix,
# 2 or 3 cut points per operation (~5 min: make check runs it); POWERCUT=full
# (make check-powercut, make check-qemu) the full one (~20 min);
# POWERCUT_CUTS="import 12 create 10 ..." sets the cut points directly.
# POWERCUT_VERBOSE=1 has the guest print each step.

bats_require_minimum_version 1.5.0
load helpers
load lib/image
load lib/registry

if [ "${POWERCUT:-quick}" = full ]; then
	QEMU_TIMEOUT=${QEMU_TIMEOUT:-3000}
	POWERCUT_CUTS=${POWERCUT_CUTS:-import 12 create 10 rm 10 gc 8 commit 10 restart 8 import_native 10 import_btrfs 10 pull 10 revision 10}
else
	QEMU_TIMEOUT=${QEMU_TIMEOUT:-1200}
	POWERCUT_CUTS=${POWERCUT_CUTS:-import 3 create 3 rm 3 gc 3 commit 3 restart 2 import_native 2 import_btrfs 2 pull 3 revision 3}
fi
REPO=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)

powercut_cannot_run() {
	file -L "$EMBER" 2>/dev/null | grep -q 'statically linked' ||
		{ echo "the guest needs a static ember ($EMBER is not)"; return; }
	if [ "$(uname -m)" != x86_64 ] || [ "${GUEST_ARCH:-x86_64}" != x86_64 ]; then
		echo "the power-cut guest is x86_64 only (GUEST_ARCH=${GUEST_ARCH:-x86_64} on $(uname -m))"
		return
	fi
	command -v qemu-system-x86_64 >/dev/null || { echo "qemu-system-x86_64 is missing (board/deps.sh qemu)"; return; }
	[ -x "$DMCTL" ] || echo "no $DMCTL (make guest-tests)"
}

# Why import_btrfs cannot run here ("" when it can).
btrfs_cannot_run() {
	[[ " $("$EMBER" version | sed -n 's/^features: //p') " == *" snapshot-btrfs "* ]] ||
		{ echo "this ember has no btrfs snapshotter (CONFIG_SNAPSHOT_BTRFS)"; return; }
	command -v mkfs.btrfs >/dev/null || echo "no mkfs.btrfs (board/deps.sh integration installs btrfs-progs)"
}

# The layers' lists for the guest: per layer "L CHAIN_ID", then its regular
# files as sha256sum lines (whiteouts and links left out).
layer_lists() {
	"$INFRA_PYTHON" - "$1" <<'EOF'
import gzip, hashlib, json, sys, tarfile
lay = sys.argv[1]
def blob(d):
    return open("%s/blobs/sha256/%s" % (lay, d.split(":")[1]), "rb")
idx = json.load(open(lay + "/index.json"))
man = json.load(blob(idx["manifests"][0]["digest"]))
cfg = json.load(blob(man["config"]["digest"]))
chain = None
for layer, diff in zip(man["layers"], cfg["rootfs"]["diff_ids"]):
    chain = diff if chain is None else "sha256:" + hashlib.sha256((chain + " " + diff).encode()).hexdigest()
    print("L", chain)
    assert layer["mediaType"].endswith("gzip"), layer["mediaType"]
    with tarfile.open(fileobj=gzip.open(blob(layer["digest"]))) as t:
        for m in t:
            name = m.name[2:] if m.name.startswith("./") else m.name.lstrip("/")
            if m.isreg() and not name.split("/")[-1].startswith(".wh."):
                print("%s  %s" % (hashlib.sha256(t.extractfile(m).read()).hexdigest(), name))
EOF
}

setup_file() {
	local dir=$BATS_FILE_TMPDIR board=$REPO/board why o
	o=$(dirname "$(readlink -f "$EMBER")")
	DMCTL=$o/tests/guest/ember-dmctl
	if [ ! -x "$DMCTL" ] && [ -f "$o/.config" ]; then
		o=${o#"$REPO"/}
		nice make -C "$REPO" -s O="$o" guest-tests >"$dir/dmctl.log" 2>&1 || true
	fi
	why=$(powercut_cannot_run)
	if [ -n "$why" ]; then
		echo "$why" >"$dir/skip"
		return 0
	fi
	image_big "$dir/big" 3 gzip >/dev/null
	image_archive "$dir/big" example.com/powercut/big:1 "$dir/big.tar"
	# What restart imports while its container runs: 2 MiB of random bytes.
	image_sized "$dir/other" powercut 2048 >/dev/null
	image_archive "$dir/other" example.com/powercut/other:1 "$dir/other.tar"
	layer_lists "$dir/big" >"$dir/layers"
	# The registry pull's cuts pull from: the guest reaches the host's
	# 127.0.0.1 at 10.0.2.2.
	registry_start pc
	registry_push_oci "$dir/big" "$REGISTRY_PC_ADDR/powercut/big:1"
	echo "10.0.2.2:${REGISTRY_PC_ADDR##*:}" >"$dir/registry"
	echo "$POWERCUT_CUTS" | xargs -n 2 >"$dir/cuts"
	why=$(btrfs_cannot_run)
	if [ -n "$why" ]; then
		echo "$why" >"$dir/no-btrfs"
		sed -i '/^import_btrfs /d' "$dir/cuts"
	fi
	# import_btrfs's store: a second disk, 1 GiB (sparse). btrfs frees a
	# destroyed subvolume's space in the background after the commit, and a
	# cut throws that work away: the trees of earlier points add up (256 MiB
	# ran out at the 9th of 10; emptied, the store shrinks back in seconds).
	truncate -s 1024M "$dir/btrfs.img"
	[ -n "$why" ] || mkfs.btrfs -q -f "$dir/btrfs.img" >/dev/null
	local verbose=()
	[ -z "${POWERCUT_VERBOSE:-}" ] || { : >"$dir/verbose"; verbose=("$dir/verbose=/guest/verbose"); }
	GUEST_MODULES="virtio_net btrfs" "$board/qemu/guest.sh" initramfs x86_64 "$EMBER" /bin/busybox "$dir/pc.cpio.gz" \
		"$BATS_TEST_DIRNAME/../guest/powercut=/guest/run" "$BATS_TEST_DIRNAME/../guest/lib.sh=/guest/lib.sh" \
		"$DMCTL=/usr/bin/ember-dmctl" "$dir/big.tar=/guest/big.tar" "$dir/layers=/guest/layers" \
		"$dir/other.tar=/guest/other.tar" "$dir/registry=/guest/registry" \
		"$dir/cuts=/guest/cuts" "${verbose[@]}"
	"$board/qemu/guest.sh" disk "$dir/pc.img" 256
	local rc=0 t0 t1
	t0=$(date +%s)
	GUEST_NET=user GUEST_DISK2=$dir/btrfs.img "$board/qemu/guest.sh" boot x86_64 "$dir/pc.cpio.gz" "$dir/pc.img" \
		256 "$QEMU_TIMEOUT" "$dir/pc.log" || rc=$?
	t1=$(date +%s)
	registry_stop pc
	echo "$rc" >"$dir/pc.status"
	echo $((t1 - t0)) >"$dir/pc.seconds"
}

# The registry, should setup_file have stopped before it did.
teardown_file() {
	infra_cleanup
}

setup() {
	setup_dirs
	[ ! -e "$BATS_FILE_TMPDIR/skip" ] || skip "$(cat "$BATS_FILE_TMPDIR/skip")"
}

console() { tr -d '\r' <"$BATS_FILE_TMPDIR/pc.log"; }

# guest_ok DESC: the guest printed "GUEST ok DESC" (else its GUEST lines).
guest_ok() {
	if ! console | grep -qxF "GUEST ok $1"; then
		echo "the guest did not print \"GUEST ok $1\"; its GUEST lines:"
		console | grep '^GUEST' | tail -n 60
		return 1
	fi
}

# cuts_pass OP: every cut point of OP passed.
cuts_pass() {
	local n
	n=$(echo "$POWERCUT_CUTS" | xargs -n 2 | awk -v op="$1" '$1 == op { print $2 }')
	[ -n "$n" ] || skip "POWERCUT_CUTS has no cut points for $1"
	[ "$1" != import_btrfs ] || [ ! -e "$BATS_FILE_TMPDIR/no-btrfs" ] || skip "$(cat "$BATS_FILE_TMPDIR/no-btrfs")"
	# The counts, for the log (fd 3: shown whether the test passes or not).
	console | grep "^GUEST # figure: power cut during $1 " | sed 's/^GUEST # /# /' >&3 || true
	[ "$1" != import_btrfs ] || console | grep "^GUEST # figure: the btrfs store" | sed 's/^GUEST # /# /' >&3 || true
	guest_ok "$1: the store is consistent after a power cut at each of $n points"
}

@test "guest: powercut: the guest runs the matrix and powers off by itself (qemu exits 0 in time)" {
	echo "console: $(console | grep -v '^\[' | tail -n 40)"
	echo "qemu ran $(cat "$BATS_FILE_TMPDIR/pc.seconds") s"
	[ "$(cat "$BATS_FILE_TMPDIR/pc.status")" = 0 ]
	console | grep -qx 'GUEST powering off'
}

@test "guest: powercut: the store is on dm; a cut keeps what was synced and loses what was not" {
	guest_ok "the store is on a device-mapper device"
	guest_ok "a cut keeps what was synced and loses what was not"
}

@test "guest: powercut: images import" {
	cuts_pass import
}

# A cut after create's snapshot prepare and before its record leaves a
# labelled snapshot of no container: start-up removes it (found by this
# matrix; it used to stay, which content gc never removed).
@test "guest: powercut: containers create" {
	cuts_pass create
}

# rm deletes the record before the snapshot: a cut between them leaves a
# snapshot of no container, removed at start-up (found by this matrix: the
# other order left a container whose snapshot was missing).
@test "guest: powercut: containers rm" {
	cuts_pass rm
}

@test "guest: powercut: images rm + content gc" {
	cuts_pass gc
}

# The files are written through the active snapshot's overlay mount and
# not synced: commit's sync must take them before the committed record.
@test "guest: powercut: snapshots commit (prepare, write, commit)" {
	cuts_pass commit
}

# The container dies with the power; the new daemon's start-up applies its
# policy, whatever the cut did to the import beside it.
@test "guest: powercut: a --restart always container runs again after a cut during another import" {
	cuts_pass restart
}

@test "guest: powercut: images import with the native snapshotter" {
	cuts_pass import_native
}

@test "guest: powercut: images import with the btrfs snapshotter (the store on btrfs)" {
	cuts_pass import_btrfs
}

# A pull is an import from the network: the same checks, and the blobs
# recovery kept (verified ones) are not fetched again.
@test "guest: powercut: pull from a registry on the host; pulling again fetches no blob the cut left" {
	guest_ok "the host's registry answers"
	cuts_pass pull
}

# An OTA apply: stage r2, switch, a 2 s health test, commit, over a
# committed r1. After the boot exactly one of the two is committed and its
# container runs on its own snapshot (an unfinished apply is rolled back
# by the start-up), and the store checks pass.
@test "guest: powercut: revisions stage + apply (switch, test, commit): one revision runs after the boot" {
	cuts_pass revision
}
