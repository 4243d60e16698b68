# SPDX-License-Identifier: Apache-2.0
# Shared by unpack.bats and snapshots.bats: mounts, tree comparison, chain
# IDs and the `ember snapshots ls` table. Load after helpers, lib/image,
# lib/registry and lib/remote.

# unmount_under DIR: unmount every mount at or below DIR, deepest first.
unmount_under() {
	local m
	[ -n "$1" ] || return 0
	"$PYTHON" -c '
import sys
top = sys.argv[1].rstrip("/")
def unescape(s):
    return s.encode().decode("unicode_escape").encode("latin-1").decode()
ms = [unescape(l.split()[4]) for l in open("/proc/self/mountinfo")]
for m in sorted({m for m in ms if m == top or m.startswith(top + "/")}, key=len, reverse=True):
    print(m)' "$1" | while IFS= read -r m; do
		umount "$m" 2>/dev/null || umount -l "$m" || true
	done
}

treecmp() {
	"$PYTHON" "$INFRA_LIB/treecmp.py" "$@"
}

# names DIR: the names in DIR, sorted, on one line.
names() {
	find "$1" -mindepth 1 -maxdepth 1 -printf '%f\n' | LC_ALL=C sort | paste -sd ' '
}

# The tests that unpack (pull, import) need a build with the unpacker.
require_unpack() {
	local f
	f=$("$EMBER" version | sed -n 's/^features: //p')
	[[ " $f " == *" image-unpack "* && " $f " == *" cli-snapshots "* ]] ||
		skip "this ember has no unpack during pull (features: $f)"
}

# image_on BUILDER NAME: an image built by BUILDER (image_busybox,
# image_rich...) in $T/NAME, pushed to registry r (started if need be) as
# test/NAME:latest; sets REF.
image_on() {
	local builder=$1 name=$2
	[ -n "${REGISTRY_R_ADDR:-}" ] || registry_start r
	"$builder" "$T/$name"
	registry_push_oci "$T/$name" "$REGISTRY_R_ADDR/test/$name:latest"
	REF=$REGISTRY_R_ADDR/test/$name:latest
}

# chain_ids LAYOUT: the chain IDs of the layers of LAYOUT's "latest"
# manifest, in order, one a line: chainID(L0) = diffID(L0), chainID(Ln) =
# sha256(chainID(Ln-1) + " " + diffID(Ln)), all as "sha256:<hex>".
chain_ids() {
	"$PYTHON" -c '
import hashlib, json, sys
lay = sys.argv[1]
def blob(d):
    return json.load(open("%s/blobs/sha256/%s" % (lay, d.split(":")[1])))
m = [m for m in json.load(open(lay + "/index.json"))["manifests"]
     if m.get("annotations", {}).get("org.opencontainers.image.ref.name") == "latest"][0]
chain = None
for d in blob(blob(m["digest"])["config"]["digest"])["rootfs"]["diff_ids"]:
    chain = d if chain is None else "sha256:" + hashlib.sha256((chain + " " + d).encode()).hexdigest()
    print(chain)' "$1"
}

# The keys `ember snapshots ls` lists (its first column, header left out),
# sorted. The one place that knows the table's layout (KEY PARENT KIND, as
# ctr prints it).
snapshot_keys() {
	e snapshots "$@" ls | awk 'NR == 1 && toupper($1) == "KEY" { next } NF { print $1 }' | LC_ALL=C sort
}

# snapshot_keys_offline SNAPSHOTTER: the keys of namespace default, read
# from the records while no daemon runs, sorted.
snapshot_keys_offline() {
	"$PYTHON" -c '
import glob, json, sys
for f in sorted(glob.glob(sys.argv[1] + "/*.json")):
    print(json.load(open(f))["key"])' "$ROOT/snapshots/$1/records/default" | LC_ALL=C sort
}

# wait_unpacking SNAPSHOTTER: until a tree is being built while another is
# committed already (at most 12 s); fails if none is.
wait_unpacking() {
	local i
	for i in $(seq 1 600); do
		if [ -n "$(ls -A "$ROOT/snapshots/$1/tmp" 2>/dev/null)" ] && [ -n "$(snapshot_keys --snapshotter "$1")" ]; then
			break
		fi
		sleep 0.02
	done
	[ -n "$(ls -A "$ROOT/snapshots/$1/tmp")" ]
}

# snapshot_line KEY [ls-args]: the line `snapshots ls` prints for KEY.
snapshot_line() {
	local key=$1
	shift
	e snapshots "$@" ls | awk -v k="$key" '$1 == k'
}

# assert_mounted DIR / assert_not_mounted DIR
assert_mounted() {
	mountpoint -q "$1" || { echo "$1 is not a mount point" >&2; return 1; }
}

assert_not_mounted() {
	! mountpoint -q "$1" || { echo "$1 is still mounted" >&2; return 1; }
}

