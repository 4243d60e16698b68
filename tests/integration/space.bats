#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# Space: the [gc] image policy (free-space watermarks, keep per repository,
# what holds an image), content gc --dry-run against the pass it
# announces, and system df against du and stat of the store's files. The
# root is a tmpfs of the test's own, so that free space is the test's to
# set.

bats_require_minimum_version 1.5.0
load helpers
load lib/image
load lib/registry
load lib/remote
load lib/unpack
load lib/tasks

setup() {
	setup_dirs
	MOUNTED=
}

teardown() {
	local rc=0
	tasks_teardown || rc=$?
	if [ -n "$MOUNTED" ] && mountpoint -q "$MOUNTED"; then
		umount "$MOUNTED" || umount -l "$MOUNTED"
	fi
	return "$rc"
}

# small_root MB: the root on a tmpfs of MB MiB.
small_root() {
	mkdir -p "$ROOT"
	mount -t tmpfs -o "size=${1}m" ember-test-space "$ROOT"
	MOUNTED=$ROOT
}

# free_bytes: what the daemon sees as free on the root.
free_bytes() {
	stat -f -c '%a %S' "$ROOT" | awk '{ print $1 * $2 }'
}

# import_sized NS REPO TAG KIB: REPO:TAG, busybox plus KIB KiB of its own.
import_sized() {
	local ns=$1 repo=$2 tag=$3 kib=$4 dir
	dir=$T/img-${repo//\//_}-$tag
	image_sized "$dir" "$repo:$tag" "$kib" "$tag"
	tar -C "$dir" -cf "$dir.tar" .
	run -0 e -n "$ns" images import --base-name "$repo" "$dir.tar"
	[ "${lines[-1]}" = "$repo:$tag: imported $IMAGE_DIGEST" ]
}

# policy LINE...: the daemon's config.toml is the [gc] table with LINEs.
policy() {
	printf '[gc]\n' >"$T/gc.toml"
	printf '%s\n' "$@" >>"$T/gc.toml"
	DAEMON_CONFIG=$T/gc.toml
}

# names_of JSON LIST: the "namespace name" of each entry of a gc reply's LIST, in order.
gc_images() {
	jget '"\n".join(i["namespace"] + " " + i["name"] + " " + i["reason"] for i in j["images"])'
}
gc_blobs() {
	jget '"\n".join(sorted(b["digest"] for b in j["blobs"]))'
}
gc_snapshots() {
	jget '"\n".join(sorted(s["namespace"] + " " + s["key"] for s in j["snapshots"]))'
}

task_stopped() {
	[ "$(e -n "$1" --json tasks ls | jget '[t["status"] for t in j if t["id"] == "'"$2"'"]')" = '["stopped"]' ]
}

image_gone() {
	[ -z "$(e images ls -q | grep -xF "$1")" ]
}

all_images() {
	local ns
	for ns in $(e --json namespaces ls | jget '" ".join(n["name"] for n in j)'); do
		e -n "$ns" images ls -q | sed "s|^|$ns |"
	done | LC_ALL=C sort
}

# ---- free-space watermarks ------------------------------------------------------------

@test "gc policy: below free_low, unused images go oldest-used first (a deleted container's image counts as just used) until free_high is free; --dry-run lists exactly what the pass then removes, and removes nothing" {
	small_root 64
	start_daemon
	local i
	for i in 1 2 3 4 5; do
		import_sized default example.com/app$i v1 2048
	done
	# app1, the oldest stored, was used last: a container of it went.
	run -0 e containers create example.com/app1:v1 c1
	run -0 e containers rm c1
	stop_daemon
	# Free space just under free_low; free_high a little over two images' worth away.
	local free low high
	free=$(free_bytes)
	low=$((free + (1 << 20)))
	high=$((free + 9 * (1 << 20)))
	policy "free_low = $low" "free_high = $high" "min_age = 0" "interval = 3600"
	start_daemon

	local before_blobs before_images dry real
	before_blobs=$(store_digests)
	before_images=$(all_images)
	dry=$(e --json content gc --dry-run)
	echo "dry run: $dry"
	[ "$(jget 'j["dry_run"]' <<<"$dry")" = true ]
	# Oldest used first, three of them: two free ~8 MiB, short of 9.
	[ "$(gc_images <<<"$dry")" = "$(printf 'default example.com/app%s:v1 free-space\n' 2 3 4)" ]
	[ "$(jget 'len(j["blobs"])' <<<"$dry")" = 9 ]         # 3 x (manifest, config, data layer)
	[ "$(jget 'len(j["snapshots"])' <<<"$dry")" = 3 ]     # 3 data layers; the base stays
	[ "$(jget 'j["free"] >= '"$high" <<<"$dry")" = true ]
	# Nothing went.
	[ "$(store_digests)" = "$before_blobs" ]
	[ "$(all_images)" = "$before_images" ]
	run -0 e content gc --dry-run
	echo "$output"
	[ "${lines[0]}" = "would remove image example.com/app2:v1 (namespace default): below gc.free_low, last used $(jget 'j["images"][0]["last_used"]' <<<"$dry"), frees $(jget 'str(round(j["images"][0]["frees"] / 1048576, 1))' <<<"$dry") MiB" ]
	[[ "${lines[-1]}" == "dry run: would remove 9 blob(s), "*"; would remove 3 snapshot(s); would remove 3 image(s)" ]]

	real=$(e --json content gc)
	echo "gc: $real"
	[ "$(jget 'j["dry_run"]' <<<"$real")" = false ]
	[ "$(gc_images <<<"$real")" = "$(gc_images <<<"$dry")" ]
	[ "$(gc_blobs <<<"$real")" = "$(gc_blobs <<<"$dry")" ]
	[ "$(gc_snapshots <<<"$real")" = "$(gc_snapshots <<<"$dry")" ]
	[ "$(jget 'j.get("warning")' <<<"$real")" = null ]
	# It stopped at high: free space is over it, and the newest two are whole.
	[ "$(free_bytes)" -ge "$high" ]
	[ "$(all_images)" = "$(printf 'default example.com/app%s:v1\n' 1 5)" ]
	for i in 1 5; do
		[ "$(e --json images check example.com/app$i:v1 | jget 'j["complete"]')" = true ]
	done
	# What the dry run listed is exactly what is gone.
	[ "$(comm -23 <(echo "$before_blobs") <(store_digests))" = "$(gc_blobs <<<"$dry")" ]
	grep -q "gc policy: removed image example.com/app2:v1 (namespace default; free-space; last used " "$DAEMON_LOG"
	# Nothing more to do: a second pass removes nothing.
	[ "$(e --json content gc | jget '[j["removed_images"], j["removed_blobs"]]')" = "[0, 0]" ]
}

@test "gc policy: held images never go (container, lease, gc.root label on the image or its target); one line says free_high cannot be reached; deleting the container lets the automatic pass take its image" {
	small_root 64
	start_daemon
	local i
	for i in 1 2 3 4 5; do
		import_sized default example.com/app$i v1 1024
	done
	run -0 e containers create example.com/app1:v1 c1
	e leases create --id keep2 >/dev/null
	e leases add keep2 "$(record_digest example.com/app2:v1)" >/dev/null
	e content label "$(record_digest example.com/app3:v1)" ember.io/gc.root=1 >/dev/null
	e call io.ember.Images.Tag '{"source":"example.com/app4:v1","target":"example.com/app4:v1","labels":{"containerd.io/gc.root":"x"}}' >/dev/null
	stop_daemon
	# Nothing can bring free space to 99%.
	policy 'free_low = "98%"' 'free_high = "99%"' "min_age = 0" "interval = 3600"
	start_daemon

	run -0 --separate-stderr e content gc
	echo "$output"
	echo "stderr: $stderr"
	[ "${lines[0]}" = "removed image example.com/app5:v1 (namespace default): below gc.free_low, last used ${lines[0]##*last used }" ]
	[ "${#lines[@]}" = 2 ]
	[ "$(wc -l <<<"$stderr")" = 1 ]
	[[ "$stderr" == "ember: warning: cannot free space up to gc.free_high ("*"): "*" free after removing 1 unused image(s); 4 image(s) held (by containers, leases or gc.root labels), 0 younger than gc.min_age" ]]
	[ "$(all_images)" = "$(printf 'default example.com/app%s:v1\n' 1 2 3 4)" ]
	[ "$(grep -c 'gc policy: cannot free space up to gc.free_high' "$DAEMON_LOG")" = 1 ]
	# The JSON says the same, once.
	[[ "$(e --json content gc --dry-run | jget 'j["warning"]')" == "cannot free space up to gc.free_high"*"0 unused image(s); 4 image(s) held"* ]]

	# The container goes: its image is unused now, and the pass that its
	# deletion starts takes it.
	run -0 e containers rm c1
	wait_until 5 image_gone example.com/app1:v1
	[ "$(all_images)" = "$(printf 'default example.com/app%s:v1\n' 2 3 4)" ]
	grep -q "gc policy: removed image example.com/app1:v1 (namespace default; free-space;" "$DAEMON_LOG"
}

# ---- keep = N per repository -----------------------------------------------------------

@test "gc policy: keep = 2 per repository: the two most recently used stay (an image in use counts), other repositories and namespaces apart; a new import takes the next one by itself" {
	small_root 96
	start_daemon
	local i
	for i in 1 2 3 4; do
		import_sized default example.com/app v$i 256
	done
	import_sized default example.com/other v1 256
	import_sized default example.com/other v2 256
	import_sized prod example.com/app v1 256
	run -0 e containers create example.com/app:v1 c1
	stop_daemon
	policy "keep = 2" "min_age = 0" "interval = 3600"
	start_daemon

	local dry real
	dry=$(e --json content gc --dry-run)
	echo "$dry"
	# v1 is in use (and counts), v4 is the newest: v3 then v2 go.
	[ "$(gc_images <<<"$dry")" = "$(printf 'default example.com/app:%s keep\n' v3 v2)" ]
	real=$(e --json content gc)
	[ "$(gc_images <<<"$real")" = "$(gc_images <<<"$dry")" ]
	[ "$(gc_blobs <<<"$real")" = "$(gc_blobs <<<"$dry")" ]
	[ "$(gc_snapshots <<<"$real")" = "$(gc_snapshots <<<"$dry")" ]
	[ "$(all_images)" = "$(printf '%s\n' 'default example.com/app:v1' 'default example.com/app:v4' \
		'default example.com/other:v1' 'default example.com/other:v2' 'prod example.com/app:v1')" ]

	# v5 comes: the pass its import starts removes v4 (v1 is still in use),
	# and says so in events.
	run -0 e namespaces create probe
	start_events "$T/events" 'e namespaces label probe n=$i'
	import_sized default example.com/app v5 256
	wait_until 5 image_gone example.com/app:v4
	wait_until 5 grep -q ' /gc/policy ' "$T/events"
	cat "$T/events"
	grep -q ' default /images/delete {"name":"example.com/app:v4","reason":"keep"}$' "$T/events"
	grep ' /gc/policy ' "$T/events" | grep -q '"removed_images":1'
	[ "$(grep -c ' /content/delete {"digest":"sha256:[0-9a-f]*","reason":"gc"}$' "$T/events")" = 3 ]
	[ "$(grep -c ' /snapshot/remove ' "$T/events")" = 1 ]
	[ "$(e images ls -q | grep '^example.com/app:' | LC_ALL=C sort | tr '\n' ' ')" = "example.com/app:v1 example.com/app:v5 " ]
	grep -q "gc policy: removed image example.com/app:v4 (namespace default; keep;" "$DAEMON_LOG"

	# min_age: an image used less than that ago stays.
	stop_daemon
	policy "keep = 1" "min_age = 3600" "interval = 3600"
	start_daemon
	[ "$(e --json content gc --dry-run | jget 'len(j["images"])')" = 0 ]
}

# ---- system df ----------------------------------------------------------------------------

# du_tree NS KEY: du of a snapshot's tree (overlay), in bytes.
du_tree() {
	local id
	id=$(jget 'j["id"]' <"$ROOT/snapshots/overlay/records/$1/$2.json")
	du -s -B1 "$ROOT/snapshots/overlay/trees/$id/fs" | cut -f1
}

@test "system df: blobs, snapshots (shared and exclusive), containers' writable layers and logs, per namespace and in all, as du and stat count them" {
	small_root 96
	start_daemon
	import_sized a example.com/app1 v1 2048
	import_sized a example.com/app2 v1 1024
	import_sized b example.com/app1 v1 2048
	run -0 e -n a containers create example.com/app1:v1 c1
	# 300 KiB written into c1's writable layer.
	local cid
	cid=$(jget 'j["id"]' <"$ROOT/snapshots/overlay/records/a/c1.json")
	head -c 307200 /dev/urandom >"$ROOT/snapshots/overlay/trees/$cid/fs/written"
	local df
	df=$(e --json system df)
	echo "$df"

	# Blobs in all: every file of the store, each once.
	local blobs_du
	blobs_du=$(find "$ROOT/content/blobs/sha256" -type f -exec stat -c '%b %B' {} + | awk '{ s += $1 * $2 } END { print s }')
	[ "$(jget 'j["total"]["blobs"]["bytes"]' <<<"$df")" = "$blobs_du" ]
	[ "$(jget 'j["total"]["blobs"]["count"]' <<<"$df")" = "$(find "$ROOT/content/blobs/sha256" -type f | wc -l)" ]
	[ "$(jget 'j["total"]["blobs"]["reclaimable"]' <<<"$df")" = 0 ]
	# Namespace b's blobs are all a's too (the same image, and busybox): shared.
	[ "$(jget '[n for n in j["namespaces"] if n["namespace"] == "b"][0]["blobs"]["exclusive"]' <<<"$df")" = 0 ]
	# a's exclusive blobs: app2's manifest, config and data layer.
	local ex=0 d
	for d in $(e -n a --json images check example.com/app2:v1 | jget '" ".join(b["digest"][7:] for b in j["blobs"])'); do
		[ "$(e --json images check example.com/app1:v1 -n b 2>/dev/null | grep -c "$d")" = 0 ] || continue
		ex=$((ex + $(stat -c '%b * %B' "$ROOT/content/blobs/sha256/$d")))
	done
	[ "$(jget '[n for n in j["namespaces"] if n["namespace"] == "a"][0]["blobs"]["exclusive"]' <<<"$df")" = "$ex" ]

	# Snapshots: per namespace, the committed trees, each as du counts it.
	# Layers are stored once for both namespaces (b's records name a's
	# trees): busybox's tree is shared by the three images, app1's data
	# layer by a's app1 and b's; app2's data layer is a's alone.
	local ns key kind sum shared excl other
	for ns in a b; do
		sum=0 shared=0 excl=0
		other=$([ "$ns" = a ] && echo b || echo a)
		for f in "$ROOT"/snapshots/overlay/records/$ns/*.json; do
			kind=$(jget 'j["kind"]' <"$f")
			key=$(jget 'j["key"]' <"$f")
			[ "$kind" = committed ] || continue
			n=$(du_tree "$ns" "$(basename "$f" .json)")
			sum=$((sum + n))
			if [ "$(jget 'j.get("parent") is None' <"$f")" = true ] ||
				grep -qs "\"$(jget 'j["id"]' <"$f")\"" "$ROOT"/snapshots/overlay/records/$other/*.json; then
				shared=$((shared + n))
			else
				excl=$((excl + n))
			fi
		done
		row=$(jget '[n for n in j["namespaces"] if n["namespace"] == "'"$ns"'"][0]["snapshots"]' <<<"$df")
		echo "$ns: du $sum shared $shared exclusive $excl; df $row"
		[ "$(jget '[j["bytes"], j["shared"], j["exclusive"]]' <<<"$row")" = "[$sum, $shared, $excl]" ]
	done
	# Containers: c1's writable layer as du counts it.
	local cdu
	cdu=$(du -s -B1 "$ROOT/snapshots/overlay/trees/$cid/fs" | cut -f1)
	[ "$cdu" -ge 307200 ]
	[ "$(jget '[n for n in j["namespaces"] if n["namespace"] == "a"][0]["containers"]' <<<"$df" | jget '[j["count"], j["bytes"]]')" = "[1, $cdu]" ]
	[ "$(jget 'j["total"]["containers"]["bytes"]' <<<"$df")" = "$cdu" ]
	# Logs: a task's two files, as stat counts their blocks.
	require_runtime
	local c2
	c2=$(ct logs)
	run e -n a run -d example.com/app1:v1 "$c2" sh -c 'seq 1 30000; echo done >&2'
	echo "$output"
	[ "$status" = 0 ]
	wait_until 10 task_stopped a "$c2"
	local logs_du
	logs_du=$(stat -c '%b %B' "$STATE/tasks/a/$c2"/log.* | awk '{ s += $1 * $2 } END { print s }')
	[ "$logs_du" -gt 0 ]
	df=$(e --json system df)
	[ "$(jget '[n for n in j["namespaces"] if n["namespace"] == "a"][0]["logs"]' <<<"$df" | jget '[j["count"], j["bytes"]]')" = "[2, $logs_du]" ]
	[ "$(jget 'j["total"]["logs"]["bytes"]' <<<"$df")" = "$logs_du" ]
	[ "$(jget '[n for n in j["namespaces"] if n["namespace"] == "a"][0]["containers"]["count"]' <<<"$df")" = 2 ]
	# Images: a has 2, one of them in use.
	[ "$(jget '[n for n in j["namespaces"] if n["namespace"] == "a"][0]["images"]' <<<"$df" | jget '[j["count"], j["in_use"]]')" = "[2, 1]" ]
	# Free and size: the file system's.
	[ "$(jget 'j["size"]' <<<"$df")" = "$(($(stat -f -c '%b * %S' "$ROOT")))" ]

	# The table: a row per type and namespace, then the total.
	run -0 e system df
	echo "$output"
	[[ "${lines[0]}" == "NAMESPACE"*"TYPE"*"COUNT"*"IN USE"*"SIZE"*"SHARED"*"EXCLUSIVE"*"RECLAIMABLE" ]]
	[ "$(grep -c '^a ' <<<"$output")" = 5 ]
	[ "$(grep -c '^(all) ' <<<"$output")" = 5 ]
	[[ "${lines[-1]}" == "Free: "*" of 96.0 MiB ("*"%)" ]]
	run -0 e -n b system df
	[ "$(grep -c '^b ' <<<"$output")" = 5 ]
	[ "$(grep -c '^(all)\|^a ' <<<"$output")" = 0 ]
}

# ---- configuration ----------------------------------------------------------------------

@test "gc policy: a bad [gc] value stops the daemon with one line naming the key" {
	local cfg
	for cfg in 'free_low = "ten"' 'keep = -1' 'free_low = "20%"|free_high = "10%"' 'min_age = "5m"' 'free_high = "1G"'; do
		printf '[gc]\n%s\n' "${cfg//|/$'\n'}" >"$T/gc.toml"
		run -1 "$EMBER" daemon --config "$T/gc.toml" --root "$ROOT" --state "$STATE" --address "$SOCK"
		echo "$cfg: $output"
		[ "${#lines[@]}" = 1 ]
		[[ "$output" == "ember daemon: config: $T/gc.toml: \"gc."* ]]
	done
}
