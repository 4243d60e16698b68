#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# Layers shared by namespaces: an unpacked layer is stored once whatever
# the number of namespaces whose images use it (each namespace has its own
# record naming the one tree), garbage collection stays correct per
# namespace, and what an unpack did not make is never shared.

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

# trees SNAPSHOTTER: the tree ids the store holds, sorted, on one line.
trees() {
	names "$ROOT/snapshots/${1:-overlay}/trees"
}

# tree_ids NS [SNAPSHOTTER]: "key id" of each record of NS, sorted.
tree_ids() {
	"$PYTHON" -c '
import glob, json, sys
for f in glob.glob(sys.argv[1] + "/*.json"):
    r = json.load(open(f))
    print(r["key"], r["id"])' "$ROOT/snapshots/${2:-overlay}/records/$1" | LC_ALL=C sort
}

# The bytes of allocated blocks under the snapshotter's trees (du counts
# each inode once).
trees_bytes() {
	du -sB1 "$ROOT/snapshots/${1:-overlay}/trees" | cut -f1
}

@test "shared layers: an image imported into a second namespace names the first one's trees, nothing is unpacked twice" {
	local sn
	for sn in overlay native; do
		setup_dirs
		daemon_up "[snapshots]" "default = \"$sn\""
		import_bb
		local chain before bytes
		chain=$(chain_ids "$T/bb")
		[ "$(snapshot_keys)" = "$chain" ]
		before=$(trees "$sn")
		bytes=$(trees_bytes "$sn")
		[ -n "$before" ]
		import_bb ota
		# The same trees, no new one; the records of "ota" name them.
		[ "$(trees "$sn")" = "$before" ]
		[ "$(trees_bytes "$sn")" = "$bytes" ]
		[ "$(tree_ids ota "$sn")" = "$(tree_ids default "$sn")" ]
		[ "$(e -n ota snapshots ls | awk 'NR > 1 { print $1 }' | LC_ALL=C sort)" = "$chain" ]
		# The shared layer mounts in "ota" with busybox's files.
		mkdir -p "$T/m"
		run -0 e -n ota images mount example.com/bb:latest "$T/m"
		[ -x "$T/m/bin/busybox" ]
		run -0 e -n ota images unmount "$T/m"
		run -0 e system check
		echo "$output"
		[[ "${lines[-1]}" == *" 0 problem(s)" ]]
		stop_daemon
	done
}

@test "shared layers: removing the image of one namespace keeps the trees the other needs; the last removal takes them" {
	daemon_up
	import_bb
	import_bb ota
	local before
	before=$(trees)
	run -0 e images rm example.com/bb:latest
	run -0 e content gc
	# default's records are gone, the trees stay for "ota".
	[ -z "$(tree_ids default)" ]
	[ "$(trees)" = "$before" ]
	assert_complete example.com/bb:latest ota
	mkdir -p "$T/m"
	run -0 e -n ota images mount example.com/bb:latest "$T/m"
	[ -x "$T/m/bin/busybox" ]
	run -0 e -n ota images unmount "$T/m"
	# A restart (start-up recovery) keeps them too.
	stop_daemon
	start_daemon
	[ "$(trees)" = "$before" ]
	run -0 e -n ota images rm example.com/bb:latest
	run -0 e -n ota content gc
	[ -z "$(tree_ids ota)" ]
	[ -z "$(trees)" ]
}

@test "shared layers: a namespace's records go even while another namespace has the tree mounted" {
	daemon_up
	import_bb
	import_bb ota
	local before
	before=$(trees)
	# "ota" mounts the image: a view on the shared top layer.
	mkdir -p "$T/m"
	run -0 e -n ota images mount example.com/bb:latest "$T/m"
	run -0 e images rm example.com/bb:latest
	run -0 e content gc
	[ -z "$(tree_ids default)" ]
	# Nothing of the shared trees went (a view adds one of its own).
	[ -z "$(comm -23 <(tr ' ' '\n' <<<"$before") <(trees | tr ' ' '\n'))" ]
	[ -x "$T/m/bin/busybox" ]
	run -0 e -n ota images unmount "$T/m"
	# A layer record of the one namespace removed by hand while the other
	# mounts it: allowed, the tree stays.
	import_bb
	run -0 e -n ota images mount example.com/bb:latest "$T/m"
	local top
	top=$(chain_ids "$T/bb" | tail -n 1)
	run -0 e snapshots rm "$top"
	[ -z "$(tree_ids default)" ]
	[ -x "$T/m/bin/busybox" ]
	run -0 e images rm example.com/bb:latest
	run -0 e -n ota images unmount "$T/m"
}

@test "shared layers: a snapshot committed through the API under a layer's key is not shared" {
	daemon_up
	local chain
	image_busybox "$T/bb"
	chain=$(chain_ids "$T/bb")
	# "other" commits an empty tree under the key of busybox's only layer.
	[ "$(wc -l <<<"$chain")" = 1 ]
	run -0 e -n other snapshots prepare work
	run -0 e -n other snapshots commit "$chain" work
	local fake
	fake=$(tree_ids other)
	import_bb
	# default unpacked its own tree: a different id, with busybox in it.
	[ "$(tree_ids default | awk '{ print $2 }')" != "$(awk '{ print $2 }' <<<"$fake")" ]
	mkdir -p "$T/m"
	run -0 e images mount example.com/bb:latest "$T/m"
	[ -x "$T/m/bin/busybox" ]
	run -0 e images unmount "$T/m"
}

@test "shared layers: a pull into a second namespace fetches no layer blob when blobs are dropped after unpacking" {
	image_on image_busybox bb
	faultproxy_start p "$REGISTRY_R_ADDR"
	daemon_up '[snapshots]' 'drop_blobs = true'
	local ref=$PROXY_P_ADDR/test/bb:latest before n
	run -0 e pull --plain-http "$ref"
	info_manifest
	before=$(trees)
	# The layer's blob went after its unpack.
	[ ! -e "$(blob_path "$M_LAYERS")" ]
	n=$(plog_lines p)
	run -0 e -n ota pull --plain-http "$ref"
	echo "$output"
	[ "$(plog_after p "$n" "$(is_blob_get $M_LAYERS)" | wc -l)" = 0 ]
	[ "$(trees)" = "$before" ]
	[ "$(tree_ids ota)" = "$(tree_ids default)" ]
	run -0 e -n ota images check "$ref"
	mkdir -p "$T/m"
	run -0 e -n ota images mount "$ref" "$T/m"
	[ -x "$T/m/bin/busybox" ]
	run -0 e -n ota images unmount "$T/m"
}

@test "shared layers: system df counts a shared tree once, as shared by both namespaces" {
	daemon_up
	import_bb
	local one df
	one=$(e --json system df | jget 'j["total"]["snapshots"]["bytes"]')
	[ "$one" -gt 0 ]
	import_bb ota
	df=$(e --json system df)
	echo "$df"
	[ "$(jget 'j["total"]["snapshots"]["bytes"]' <<<"$df")" = "$one" ]
	[ "$(jget 'j["total"]["snapshots"]["shared"]' <<<"$df")" = "$one" ]
	[ "$(jget '[n["snapshots"]["shared"] for n in j["namespaces"]]' <<<"$df")" = "[$one, $one]" ]
}
