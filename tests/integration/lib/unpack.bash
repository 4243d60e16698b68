# SPDX-License-Identifier: Apache-2.0
# Shared by unpack.bats, snapshots.bats and btrfs.bats: mounts, tree
# comparison, chain IDs, the `ember snapshots ls` table, and two checks
# that every snapshotter runs: the tree against umoci's
# (mount_matches_oracle) and the hostile layers (hostile_case). Load after
# helpers, lib/image, lib/registry and lib/remote.

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

# mount_matches_oracle BUILDER NAME SNAPSHOTTER: pull the image with
# SNAPSHOTTER, mount it, compare with umoci's tree (as root: owners,
# devices, security.capability are real), unmount.
mount_matches_oracle() {
	local builder=$1 name=$2 snap=$3 before
	require_unpack
	image_on "$builder" "$name"
	daemon_up
	run e pull --plain-http --snapshotter "$snap" "$REF"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${lines[-1]}" = "$REF: pulled $IMAGE_DIGEST" ]
	image_unpack_root "$T/$name" "$T/oracle"
	before=$(snapshot_keys --snapshotter "$snap")
	mkdir "$T/m"
	run -0 e images mount --snapshotter "$snap" "$REF" "$T/m"
	assert_mounted "$T/m"
	run treecmp "$T/m" "$T/oracle/rootfs"
	echo "$output"
	[ "$status" -eq 0 ]
	# Read-only.
	run touch "$T/m/ember-write-test"
	[ "$status" -ne 0 ]
	[ ! -e "$T/oracle/rootfs/ember-write-test" ]
	run -0 e images unmount "$T/m"
	assert_not_mounted "$T/m"
	# The view is gone with the mount; the layers stay.
	[ "$(snapshot_keys --snapshotter "$snap")" = "$before" ]
	# Nothing of the image was left in the mount point.
	[ -z "$(ls -A "$T/m")" ]
}

# hostile_case NAME [SNAPSHOTTER]: build the case (hostile.py) aimed at
# $T/canary, push it, pull it, and check: the pull fails with one line that
# says what is wrong (or succeeds where the case is harmless once confined),
# the canary and the host are untouched, no image record, no snapshot but of
# the good lower layers, the pulled blobs intact.
hostile_case() {
	local name=$1 snap=${2:-overlay} c fail keywords good layout k d chains good_chains passwd line
	require_unpack
	mkdir -p "$T/canary/dir"
	echo canary >"$T/canary/victim"
	echo canary >"$T/canary/dir/file"
	cp -a "$T/canary" "$T/canary.orig"
	c=$("$PYTHON" "$INFRA_LIB/hostile.py" "$T/hostile" "$T/canary" "$name")
	echo "case: $c"
	fail=$(jget 'j["fail"]' <<<"$c")
	# A snapshotter may confine a case instead of refusing it.
	fail=${HOSTILE_FAIL:-$fail}
	keywords=$(jget '"\n".join(j["keywords"])' <<<"$c")
	good=$(jget 'j["good"]' <<<"$c")
	layout=$(jget 'j["layout"]' <<<"$c")
	registry_start r
	registry_push_oci "$layout" "$REGISTRY_R_ADDR/hostile/$name:latest"
	IMAGE_DIGEST=$(image_digest "$layout")
	REF=$REGISTRY_R_ADDR/hostile/$name:latest
	daemon_up
	passwd=$(stat -c '%d:%i %h %s %Y' /etc/passwd /etc/shadow)

	run e pull --plain-http --snapshotter "$snap" "$REF"
	echo "status $status: $output"
	local pull_status=$status
	if [ "$fail" = true ] || { [ "$fail" = null ] && [ "$status" -ne 0 ]; }; then
		# A refusal, not a usage error (2) or a crash.
		[ "$status" -eq 1 ]
		# One line names the problem: every keyword on it.
		"$PYTHON" -c '
import sys
out, kws = sys.argv[1].lower().splitlines(), [k.lower() for k in sys.argv[2].splitlines() if k]
hit = [l for l in out if all(k in l for k in kws)]
if not hit:
    sys.exit("no line of the output has all of %r" % kws)' "$output" "$keywords"
		[ -z "$(image_names)" ]
		assert_no_image "$REF"
		# The partial tree of the bad layer is gone (its names are
		# EMBER-HOSTILE-*; no good layer of a failing case has one).
		# shellcheck disable=SC2016 # for eval
		wait_until 5 eval '[ -z "$(find "$ROOT" -name "EMBER-HOSTILE*" -print -quit)" ]'
	else
		[ "$status" -eq 0 ]
		[ "${lines[-1]}" = "$REF: pulled $IMAGE_DIGEST" ]
		[ "$(image_names)" = "$REF" ]
		mkdir "$T/m"
		run -0 e images mount --snapshotter "$snap" "$REF" "$T/m"
		for k in $(jget '" ".join(j["inside"])' <<<"$c"); do
			[ -e "$T/m/$k" ] || [ -L "$T/m/$k" ] || { echo "$k missing in the image" >&2; return 1; }
		done
		for k in $(jget '" ".join(j["absent"])' <<<"$c"); do
			if [ -e "$T/m/$k" ] || [ -L "$T/m/$k" ]; then
				echo "$k is in the image" >&2
				return 1
			fi
		done
		run -0 e images unmount "$T/m"
	fi

	# Nothing outside the store: the canary as it was, no EMBER-HOSTILE-*
	# file outside $ROOT (the registry keeps blobs by digest), the host's
	# /etc/passwd and /etc/shadow not linked to or changed.
	run treecmp --dir-mtime "$T/canary.orig" "$T/canary"
	echo "$output"
	[ "$status" -eq 0 ]
	[ -z "$(find "$T" -path "$ROOT" -prune -o -name 'EMBER-HOSTILE*' -print)" ]
	[ -z "$(find / /tmp /etc /dev -maxdepth 1 -name 'EMBER-HOSTILE*' -print)" ]
	[ "$(stat -c '%d:%i %h %s %Y' /etc/passwd /etc/shadow)" = "$passwd" ]

	# Snapshots: at most those of the good lower layers (committed), none of
	# the bad one, nothing active left over.
	chains=$(chain_ids "$layout")
	good_chains=$(head -n "$good" <<<"$chains" | LC_ALL=C sort)
	if [ "$pull_status" -ne 0 ] || [ "$fail" = true ]; then
		for k in $(snapshot_keys --snapshotter "$snap"); do
			grep -qxF -- "$k" <<<"$good_chains" || { echo "snapshot $k left by a failed pull" >&2; return 1; }
			line=$(snapshot_line "$k" --snapshotter "$snap")
			[[ "${line,,}" == *committed* ]]
		done
	else
		# Confined and committed, every layer.
		[ "$(snapshot_keys --snapshotter "$snap")" = "$(LC_ALL=C sort <<<"$chains")" ]
	fi

	# The store is intact: every blob it holds is the registry's, byte for
	# byte. The hostile layer itself was stored (unpacking starts on a
	# stored, verified blob); a failed unpack stops the pull, so a layer
	# still downloading then stays a resumable ingest instead.
	local hostile_blob
	hostile_blob=$(jget 'j["layers"][-1]["digest"]' <"$(layout_blob "$layout" "$IMAGE_DIGEST")")
	if [ "$pull_status" -ne 0 ]; then
		grep -qxF -- "$hostile_blob" <<<"$(store_digests)" || { echo "hostile blob not in the store" >&2; return 1; }
	fi
	for d in "$IMAGE_DIGEST" $(jget '" ".join([j["config"]["digest"]] + [l["digest"] for l in j["layers"]])' \
		<"$(layout_blob "$layout" "$IMAGE_DIGEST")"); do
		if [ "$pull_status" -eq 0 ] || grep -qxF -- "$d" <<<"$(store_digests)"; then
			cmp "$(blob_path "$d")" "$(layout_blob "$layout" "$d")"
		fi
	done
	assert_daemon_serves
}
