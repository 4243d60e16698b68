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
# random data, 3000 small files, whiteouts), ~3 MB.
# ember-dmctl (tests/guest/dmctl.c, make guest-tests) is the guest's
# dmsetup. POWERCUT_CUTS="import 12 create 10 rm 10 gc 8" sets the cut points;
# POWERCUT_VERBOSE=1 has the guest print each step.
# Tagged slow (one guest, ~10 min): make check-qemu runs it, make check does not.
# bats file_tags=slow

bats_require_minimum_version 1.5.0
load helpers
load lib/image

QEMU_TIMEOUT=${QEMU_TIMEOUT:-1500}
POWERCUT_CUTS=${POWERCUT_CUTS:-import 12 create 10 rm 10 gc 8}
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
	layer_lists "$dir/big" >"$dir/layers"
	echo "$POWERCUT_CUTS" | xargs -n 2 >"$dir/cuts"
	local verbose=()
	[ -z "${POWERCUT_VERBOSE:-}" ] || { : >"$dir/verbose"; verbose=("$dir/verbose=/guest/verbose"); }
	"$board/qemu/guest.sh" initramfs x86_64 "$EMBER" /bin/busybox "$dir/pc.cpio.gz" \
		"$BATS_TEST_DIRNAME/../guest/powercut=/guest/run" "$BATS_TEST_DIRNAME/../guest/lib.sh=/guest/lib.sh" \
		"$DMCTL=/usr/bin/ember-dmctl" "$dir/big.tar=/guest/big.tar" "$dir/layers=/guest/layers" \
		"$dir/cuts=/guest/cuts" "${verbose[@]}"
	"$board/qemu/guest.sh" disk "$dir/pc.img" 256
	local rc=0 t0 t1
	t0=$(date +%s)
	"$board/qemu/guest.sh" boot x86_64 "$dir/pc.cpio.gz" "$dir/pc.img" 256 "$QEMU_TIMEOUT" "$dir/pc.log" || rc=$?
	t1=$(date +%s)
	echo "$rc" >"$dir/pc.status"
	echo $((t1 - t0)) >"$dir/pc.seconds"
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
	# The counts, for the log (fd 3: shown whether the test passes or not).
	console | grep "^GUEST # figure: power cut during $1 " | sed 's/^GUEST # /# /' >&3 || true
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
