#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# Unpacking during pull: the tree an image mounts as (overlay and native
# snapshotters) is the tree umoci unpacks; the snapshots are keyed by chain
# ID; hostile layers fail the pull (or are confined) with nothing written
# outside the store, no image record, no snapshot of the bad layer and the
# store intact. The first tests check the tools themselves (the rich image,
# treecmp.py, the hostile layouts) and need no ember unpack.

bats_require_minimum_version 1.5.0
load helpers
load lib/image
load lib/registry
load lib/remote
load lib/unpack

setup() {
	setup_dirs
}

teardown() {
	unmount_under "$T"
	remote_teardown
	# What the daemon may have left mounted in its root.
	unmount_under "$T"
}

# ---- the tools: rich image, treecmp, hostile layouts (no ember unpack) ----------

@test "unpack tools: the rich image: umoci and GNU tar (tarunpack.py) unpack the same tree, with what it promises" {
	image_rich "$T/rich"
	image_unpack_root "$T/rich" "$T/umoci"
	"$PYTHON" "$INFRA_LIB/tarunpack.py" "$T/rich" "$T/gnutar"
	run treecmp "$T/gnutar" "$T/umoci/rootfs"
	echo "$output"
	[ "$status" -eq 0 ]
	# Directory times agree too (the root's is neither layer's).
	run treecmp --dir-mtime --no-root "$T/gnutar" "$T/umoci/rootfs"
	echo "$output"
	[ "$status" -eq 0 ]
	# The oracle has what the image is for (so that agreeing means something).
	cd "$T/umoci/rootfs"
	[ "$(stat -c '%F %t:%T %a %u:%g' rich/dev/null)" = "character special file 1:3 666 0:0" ]
	[ "$(stat -c '%F %t:%T %a %u:%g' rich/dev/loop0)" = "block special file 7:0 660 0:6" ]
	[ "$(stat -c '%F' rich/dev/fifo)" = "fifo" ]
	[ "$(stat -c '%a %u:%g' rich/modes/suid-sgid rich/modes/dir-sticky rich/owners/suid-u1000 rich/owners/id-2000000)" = \
		"$(printf '%s\n' '6755 0:0' '1777 0:0' '4755 1000:1000' '644 2000000:2000000')" ]
	[ "$(getcap rich/xattr/cap)" = "rich/xattr/cap cap_net_bind_service=ep" ]
	"$PYTHON" -c '
import os
assert os.getxattr("rich/xattr/user-foo", "user.foo") == b"bar"
assert os.getxattr("rich/xattr/binary", "user.bin") == b"\xff\x00\x01\xfe"
assert os.getxattr("rich/xattr/dir", "user.dir") == b"yes"
assert os.lstat("rich/files/mtime-frac").st_mtime_ns == 1700000000500000000
assert os.lstat("rich/links/old").st_mtime == 1500000000'
	# Hard links: one inode for a, b and sub/d (c was whited out).
	[ "$(stat -c %i rich/hl/a)" = "$(stat -c %i rich/hl/b)" ]
	[ "$(stat -c %i rich/hl/a)" = "$(stat -c %i rich/hl/sub/d)" ]
	[ ! -e rich/hl/c ]
	# Whiteouts, opaque and recreated directories, replacements.
	[ "$(names rich/gone)" = back ]
	[ "$(names rich/opaque)" = "lower1 new sub" ]
	[ "$(names rich/opaque/sub)" = y ]
	[ "$(names rich/recreated)" = c ]
	[ "$(names rich/wh)" = "drop-then-back keep" ]
	[ ! -e bin/false ] && [ -e bin/true ]
	[ "$(cat rich/files/f511)" = "back, with other content" ]
	[ -d rich/replace/file-to-dir ] && [ -f rich/replace/dir-to-file ]
	[ -L rich/replace/dir-to-symlink ] && [ -d rich/replace/symlink-to-dir ] && [ ! -L rich/replace/symlink-to-dir ]
	[ "$(stat -c '%a %u:%g' rich/replace/meta-only)" = "600 1000:1000" ]
}

@test "unpack tools: treecmp reports each kind of difference, ignores overlay xattrs, and exits 1" {
	image_rich "$T/rich"
	image_unpack_root "$T/rich" "$T/a"
	local A=$T/a/rootfs B=$T/b
	cp -a "$A" "$B"
	run -0 treecmp "$A" "$B"
	[ "${lines[-1]}" = "treecmp: 0 differences ($(cd "$A" && find . | wc -l) paths)" ]
	chmod 0700 "$B/rich/modes/suid"
	chown 1001:1000 "$B/rich/owners/u1000"
	printf 'X' | dd of="$B/rich/files/f512" bs=1 seek=100 conv=notrunc status=none
	truncate -s 100 "$B/rich/files/f513"
	ln -sfn ../files/f513 "$B/rich/links/rel"
	rm "$B/rich/dev/null" && mknod -m 666 "$B/rich/dev/null" c 1 7
	"$PYTHON" -c '
import os, sys
b = sys.argv[1]
os.setxattr(b + "/rich/xattr/user-foo", "user.foo", b"baz")
os.removexattr(b + "/rich/xattr/cap", "security.capability")
os.setxattr(b + "/rich/xattr/multi", "user.new", b"\x00\x01")
os.setxattr(b + "/rich/many", "trusted.overlay.opaque", b"y")
os.setxattr(b + "/rich/many", "user.overlay.origin", b"x")' "$B"
	cp -p "$B/rich/hl/b" "$B/rich/hl/b.new" && mv "$B/rich/hl/b.new" "$B/rich/hl/b"
	# Only the changes asked for: the times of what was rewritten as they were.
	local p
	for p in rich/files/f512 rich/files/f513 rich/links/rel rich/dev/null; do
		touch -h -r "$A/$p" "$B/$p"
	done
	touch -h -d @1 "$B/rich/links/old"
	rm "$B/rich/files/f1" && mkdir "$B/rich/files/f1"
	rm "$B/rich/files/f0"
	echo extra >"$B/rich/files/extra"
	touch -d @2 "$B/rich/many"
	run -1 treecmp "$A" "$B"
	echo "$output"
	local want=(
		"rich/modes/suid: mode: 4755 != 0700"
		"rich/owners/u1000: owner: 1000:1000 != 1001:1000"
		"rich/files/f512: sha256: "
		"rich/files/f513: size: 513 != 100"
		"rich/files/f513: sha256: "
		"rich/links/rel: target: ../files/f512 != ../files/f513"
		"rich/dev/null: device: 1:3 != 1:7"
		"rich/xattr/user-foo: xattr user.foo: 'bar' != 'baz'"
		"rich/xattr/cap: xattr security.capability: 0x0100000200040000000000000000000000000000 != (none)"
		"rich/xattr/multi: xattr user.new: (none) != 0x0001"
		"rich/hl/a: hard links: [rich/hl/b rich/hl/sub/d] != [rich/hl/sub/d]"
		"rich/hl/b: hard links: [rich/hl/a rich/hl/sub/d] != []"
		"rich/hl/sub/d: hard links: [rich/hl/a rich/hl/b] != [rich/hl/a]"
		"rich/links/old: mtime: 1500000000.000000000 != 1.000000000"
		"rich/files/f1: type: file != dir"
		"only in A: rich/files/f0 (file)"
		"only in B: rich/files/extra (file)"
	)
	local w
	for w in "${want[@]}"; do
		grep -qF -- "$w" <<<"$output" || { echo "missing: $w" >&2; return 1; }
	done
	# Exactly those (the overlay xattrs and the directory time are not
	# differences by default).
	[[ "${lines[-1]}" == "treecmp: ${#want[@]} differences ("* ]]
	run -1 treecmp --dir-mtime "$A" "$B"
	[[ "$output" == *"rich/many: mtime: "*" != 2.000000000"* ]]
	run -1 treecmp --no-mtime "$A" "$B"
	[[ "${lines[-1]}" == "treecmp: $((${#want[@]} - 1)) differences ("* ]]
	run -1 treecmp --exclude 'rich/hl' --exclude 'rich/files/*' "$A" "$B"
	[[ "$output" != *"rich/hl/"* && "$output" != *"rich/files/"* ]]
	[[ "${lines[-1]}" == "treecmp: 8 differences ("* ]]
	run -2 treecmp "$A"
	run -2 treecmp "$A" "$T/none"
}

@test "unpack tools: every hostile layout is valid up to its layer (a registry takes it as built); umoci confines them all; GNU tar does not" {
	mkdir -p "$T/canary"
	echo canary >"$T/canary/victim"
	cp -a "$T/canary" "$T/canary.orig"
	run -0 "$PYTHON" "$INFRA_LIB/hostile.py" "$T/hostile" "$T/canary"
	local cases=$output n=0 name layout digest
	[ "$(wc -l <<<"$cases")" = "$("$PYTHON" "$INFRA_LIB/hostile.py" --list | wc -l)" ]
	registry_start r
	while IFS= read -r line; do
		name=$(jget 'j["name"]' <<<"$line")
		layout=$(jget 'j["layout"]' <<<"$line")
		registry_push_oci "$layout" "$REGISTRY_R_ADDR/hostile/$name:latest"
		digest=$(registry_digest "$REGISTRY_R_ADDR/hostile/$name:latest")
		[ "$digest" = "$(image_digest "$layout")" ] || { echo "$name: the registry serves $digest" >&2; return 1; }
		# umoci (securejoin) keeps every case inside its rootfs, or fails.
		run umoci unpack --image "$layout:latest" "$T/u-$name"
		local last=${output##*$'\n'}
		echo "$name: umoci: $status: ${last:0:200}"
		run treecmp --dir-mtime "$T/canary.orig" "$T/canary"
		[ "$status" -eq 0 ] || { echo "$name: umoci changed the canary: $output" >&2; return 1; }
		n=$((n + 1))
	done <<<"$cases"
	echo "$n cases"
	# What umoci refuses, as ember must.
	run -1 umoci unpack --image "$T/hostile/lying-diffid:latest" "$T/u2"
	[[ "$output" == *"diffid mismatch"* ]]
	run -1 umoci unpack --image "$T/hostile/bad-checksum:latest" "$T/u3"
	[[ "$output" == *"invalid tar header"* ]]
	run -1 umoci unpack --image "$T/hostile/truncated-entry:latest" "$T/u4"
	[[ "$output" == *"unexpected EOF"* ]]
	run -1 umoci unpack --image "$T/hostile/gzip-trailing-garbage:latest" "$T/u5"
	[[ "$output" == *"gzip: invalid header"* ]]
	# GNU tar run layer after layer writes through a lower layer's symlink:
	# the case is real.
	run -0 "$PYTHON" "$INFRA_LIB/tarunpack.py" "$T/hostile/symlink-write-lower" "$T/gt"
	run -1 treecmp "$T/canary.orig" "$T/canary"
	echo "$output"
	[[ "$output" == *"victim: sha256: "* ]]
	grep -q 'EMBER-HOSTILE written through a lower symlink' "$T/canary/victim"
}

# ---- (a) the mounted tree is the oracle's ----------------------------------------

@test "unpack: busybox, overlay: images mount shows umoci's tree, read-only; images unmount removes the view" {
	mount_matches_oracle image_busybox bb overlay
}

@test "unpack: busybox, native: images mount shows umoci's tree, read-only; images unmount removes the view" {
	mount_matches_oracle image_busybox bb native
}

@test "unpack: rich image, overlay: devices, owners, modes, xattrs, hard links, whiteouts and opaque directories as umoci has them" {
	mount_matches_oracle image_rich rich overlay
}

@test "unpack: rich image, native: devices, owners, modes, xattrs, hard links, whiteouts and opaque directories as umoci has them" {
	mount_matches_oracle image_rich rich native
}

@test "unpack: overlay and native unpack the rich image to the same tree" {
	require_unpack
	image_on image_rich rich
	daemon_up
	run -0 e pull --plain-http "$REF"
	run -0 e pull --plain-http --snapshotter native "$REF"
	mkdir "$T/mo" "$T/mn"
	run -0 e images mount "$REF" "$T/mo"
	run -0 e images mount --snapshotter native "$REF" "$T/mn"
	run treecmp "$T/mo" "$T/mn"
	echo "$output"
	[ "$status" -eq 0 ]
	run -0 e images unmount "$T/mo"
	run -0 e images unmount "$T/mn"
	assert_not_mounted "$T/mo"
	assert_not_mounted "$T/mn"
}

# Many short unpacks: a worker that ends while the coordinator reports the
# next start must not be missed (a pull once waited for ever on a native
# layer that was done). Each namespace unpacks all 40 again.
@test "unpack: 40 tiny layers unpack with native and overlay, again and again, none lost" {
	require_unpack
	layers40() { image_layers "$1" 40; }
	image_on layers40 layers
	daemon_up
	local ns s i=0
	for s in native overlay native overlay native; do
		i=$((i + 1))
		ns=n$i
		run -0 timeout 60 "$EMBER" --address "$SOCK" -n "$ns" pull --plain-http --snapshotter "$s" "$REF"
		mkdir "$T/m$i"
		run -0 e -n "$ns" images mount --snapshotter "$s" "$REF" "$T/m$i"
		[ "$(ls "$T/m$i/layers" | wc -l)" = 40 ]
		[ "$(cat "$T/m$i/layers/39")" = "layer 39" ]
		run -0 e -n "$ns" images unmount "$T/m$i"
	done
}

# ---- (c) snapshots: chain IDs, the tree, --no-unpack --------------------------

@test "unpack: snapshots ls lists one committed snapshot per layer, keyed by its chain ID, each the child of the one below" {
	require_unpack
	image_on image_rich rich
	daemon_up
	run -0 e pull --plain-http "$REF"
	local chains prev='' c line
	chains=$(chain_ids "$T/rich")
	[ "$(wc -l <<<"$chains")" = 5 ]
	# Exactly the five, nothing active left over.
	[ "$(snapshot_keys)" = "$(LC_ALL=C sort <<<"$chains")" ]
	for c in $chains; do
		line=$(snapshot_line "$c")
		echo "$line"
		[[ "${line,,}" == *committed* ]]
		if [ -n "$prev" ]; then
			[ "$(awk '{ print $2 }' <<<"$line")" = "$prev" ]
		fi
		run -0 e snapshots info "$c"
		[[ "$output" == *"$c"* ]]
		[[ "${output,,}" == *committed* ]]
		[ -z "$prev" ] || [[ "$output" == *"$prev"* ]]
		prev=$c
	done
	# The store: one directory per snapshot under snapshots/overlay.
	[ -d "$ROOT/snapshots/overlay" ]
	[ ! -e "$ROOT/snapshots/native" ] || [ -z "$(snapshot_keys --snapshotter native)" ]
}

@test "unpack: snapshots tree shows the chain; a second image on the same base shares its snapshot" {
	require_unpack
	image_on image_busybox bb
	local bb_ref=$REF
	image_on image_rich rich
	daemon_up
	run -0 e pull --plain-http "$bb_ref"
	run -0 e pull --plain-http "$REF"
	local chains bb_chain c col prev=-1 n=0
	chains=$(chain_ids "$T/rich")
	bb_chain=$(chain_ids "$T/bb")
	# busybox's one layer is rich's first: one snapshot for both.
	[ "$bb_chain" = "$(head -1 <<<"$chains")" ]
	[ "$(snapshot_keys)" = "$(LC_ALL=C sort <<<"$chains")" ]
	run -0 e snapshots tree
	echo "$output"
	# Each chain ID once, in order, each deeper than its parent.
	for c in $chains; do
		[ "$(grep -cF -- "$c" <<<"$output")" = 1 ]
		line=$(grep -nF -- "$c" <<<"$output")
		[ "${line%%:*}" -gt "$n" ]
		n=${line%%:*}
		col=$(awk -v c="$c" '{ i = index($0, c); if (i) print i }' <<<"$output")
		[ "$col" -gt "$prev" ]
		prev=$col
	done
}

@test "unpack: pull --no-unpack fetches the image and makes no snapshot; a later pull unpacks it" {
	require_unpack
	image_on image_busybox bb
	daemon_up
	run e pull --plain-http --no-unpack "$REF"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${lines[-1]}" = "$REF: pulled $IMAGE_DIGEST" ]
	[ "$(image_names)" = "$REF" ]
	[ -z "$(snapshot_keys)" ]
	[ -z "$(snapshot_keys --snapshotter native)" ]
	run e snapshots tree
	[[ "$output" != *sha256:* ]]
	run -0 e pull --plain-http "$REF"
	[ "$(snapshot_keys)" = "$(chain_ids "$T/bb")" ]
}

@test "unpack: the snapshots commands: prepare, mounts, commit, view, usage, rm" {
	require_unpack
	image_on image_busybox bb
	daemon_up
	run -0 e pull --plain-http "$REF"
	local base line
	base=$(chain_ids "$T/bb")
	run -0 e snapshots usage "$base"
	echo "$output"
	run -0 e snapshots prepare work "$base"
	[[ "$(snapshot_line work)" == *"$base"* ]]
	line=$(snapshot_line work)
	[[ "${line,,}" == *active* ]]
	run -0 e snapshots mounts "$T/m" work
	echo "$output"
	[[ "$output" == *mount* ]]
	run -0 e snapshots commit mine work
	line=$(snapshot_line mine)
	[[ "${line,,}" == *committed* ]]
	[ -z "$(snapshot_line work)" ]
	run -0 e snapshots view look mine
	run -0 e snapshots rm look
	# A parent with children is not removed.
	run e snapshots rm "$base"
	[ "$status" -ne 0 ]
	run -0 e snapshots rm mine
	[ "$(snapshot_keys)" = "$base" ]
}

# ---- (b) hostile layers --------------------------------------------------------------

@test "unpack: hostile: ../ climbing out of the root is refused" {
	hostile_case dotdot-escape
}

@test "unpack: hostile: a .. inside the root is refused" {
	hostile_case dotdot-inside
}

@test "unpack: hostile: an absolute name lands inside the root" {
	hostile_case absolute
}

@test "unpack: hostile: a file through a symlink of the same layer is refused" {
	hostile_case symlink-write
}

# An overlay layer is unpacked into an empty tree of its own: its "evil/"
# is a directory there, which hides the lower symlink in the merged view.
# Nothing is written through the symlink, so the pull may succeed.
@test "unpack: hostile: a file through a lower layer's symlink stays inside (overlay)" {
	HOSTILE_FAIL=null hostile_case symlink-write-lower
}

@test "unpack: hostile: a file through a lower layer's symlink is refused (native)" {
	hostile_case symlink-write-lower native
}

# An overlay layer is unpacked into an empty tree of its own: its "evil/"
# is a directory there, which hides the lower symlink in the merged view.
# Nothing is written through the symlink, so the pull may succeed.
@test "unpack: hostile: a directory through a lower layer's symlink stays inside (overlay)" {
	HOSTILE_FAIL=null hostile_case symlink-mkdir-lower
}

@test "unpack: hostile: a directory through a lower layer's symlink is refused (native)" {
	hostile_case symlink-mkdir-lower native
}

@test "unpack: hostile: a file over a symlink out replaces the symlink" {
	hostile_case symlink-final
}

@test "unpack: hostile: a file over a lower layer's symlink out replaces it (overlay)" {
	hostile_case symlink-final-lower
}

@test "unpack: hostile: a file over a lower layer's symlink out replaces it (native)" {
	hostile_case symlink-final-lower native
}

@test "unpack: hostile: a symlink chain out, then a file through it, is refused" {
	hostile_case symlink-chain
}

@test "unpack: hostile: a hard link through a symlink chain out is refused" {
	hostile_case symlink-chain-hardlink
}

@test "unpack: hostile: a hard link to ../ out of the root is refused" {
	hostile_case hardlink-dotdot
}

@test "unpack: hostile: a hard link to an absolute path is resolved in the root (and is not there)" {
	hostile_case hardlink-absolute
}

@test "unpack: hostile: a hard link to an absolute path, native: resolved in the root" {
	hostile_case hardlink-absolute native
}

@test "unpack: hostile: a hard link to /etc/passwd never links the host's (overlay)" {
	hostile_case hardlink-passwd
}

@test "unpack: hostile: a hard link to /etc/passwd never links the host's (native)" {
	hostile_case hardlink-passwd native
}

@test "unpack: hostile: a hard link to ../../etc/passwd is refused" {
	hostile_case hardlink-passwd-dotdot
}

@test "unpack: hostile: a whiteout climbing out of the root is refused (overlay)" {
	hostile_case whiteout-dotdot
}

@test "unpack: hostile: a whiteout climbing out of the root is refused (native)" {
	hostile_case whiteout-dotdot native
}

@test "unpack: hostile: an opaque whiteout climbing out of the root is refused (overlay)" {
	hostile_case opaque-dotdot
}

@test "unpack: hostile: an opaque whiteout climbing out of the root is refused (native)" {
	hostile_case opaque-dotdot native
}

@test "unpack: hostile: a whiteout through a lower layer's symlink stays inside (overlay)" {
	HOSTILE_FAIL=null hostile_case whiteout-symlink-lower
}

@test "unpack: hostile: a whiteout through a lower layer's symlink is refused (native)" {
	hostile_case whiteout-symlink-lower native
}

@test "unpack: hostile: a whiteout named .wh.. is refused" {
	hostile_case whiteout-bad-name
}

@test "unpack: hostile: device nodes stay in the store" {
	hostile_case device
}

@test "unpack: hostile: a 0:0 character device over a lower file (overlay)" {
	hostile_case forged-whiteout-device
}

@test "unpack: hostile: a 0:0 character device over a lower file (native)" {
	hostile_case forged-whiteout-device native
}

@test "unpack: hostile: forged overlay xattrs are dropped, the lower files stay visible (overlay)" {
	hostile_case forged-overlay-xattr
}

@test "unpack: hostile: forged overlay xattrs are dropped (native)" {
	hostile_case forged-overlay-xattr native
}

@test "unpack: hostile: a name longer than 4095 bytes is refused" {
	hostile_case deep-path
}

@test "unpack: hostile: a name component longer than 255 bytes is refused" {
	hostile_case long-component
}

@test "unpack: hostile: an entry that declares more than the stream holds is refused" {
	hostile_case truncated-entry
}

@test "unpack: hostile: an entry that declares 100 GiB is refused before any data" {
	hostile_case declared-huge
}

@test "unpack: hostile: a first header with a bad checksum: not a tar archive" {
	hostile_case bad-checksum-first
}

@test "unpack: hostile: a later header with a bad checksum is refused" {
	hostile_case bad-checksum
}

@test "unpack: hostile: a truncated gzip stream is refused" {
	hostile_case truncated-gzip
}

@test "unpack: hostile: data after the gzip stream is refused" {
	hostile_case gzip-trailing-garbage
}

@test "unpack: hostile: a truncated zstd stream is refused" {
	hostile_case truncated-zstd
}

@test "unpack: hostile: a layer whose diff_id lies is refused and not committed (overlay)" {
	hostile_case lying-diffid
}

@test "unpack: hostile: a layer whose diff_id lies is refused and not committed (native)" {
	hostile_case lying-diffid native
}
