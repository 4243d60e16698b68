#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# Checkpoint and restore with CRIU (CONFIG_CHECKPOINT): a counter that goes
# on from where it was, --exit and leaving it running, a restore on another
# daemon root; and the failures that leave the task running with one line
# why: criu missing, what this kernel and criu cannot do, a bind mount a
# restore could not mount again.

bats_require_minimum_version 1.5.0
load helpers
load lib/image
load lib/registry
load lib/remote
load lib/unpack
load lib/tasks

# A counter kept in the shell's memory, written out each tick: after a
# restore it goes on from its value, not from 0.
COUNTER='i=0; while :; do i=$((i+1)); echo $i >/tmp/n; echo $i; sleep 0.1; done'

setup() {
	setup_dirs
	require_runtime
	[[ " $("$EMBER" version | sed -n 's/^features: //p') " == *" checkpoint "* ]] ||
		skip "this ember has no checkpoint/restore"
	command -v criu >/dev/null || skip "criu is not installed (board/deps.sh integration)"
}

teardown() {
	oci_teardown
	tasks_teardown
}

# Whether criu works here at all; CRIU_WHY says why not.
criu_works() {
	CRIU_WHY=$(criu check 2>&1 | grep -m1 'Error' | sed 's/^.*): //')
	criu check >/dev/null 2>&1
}

# counter_up ID [RUN OPTIONS...]: busybox imported offline, the counter
# running detached.
counter_up() {
	local id=$1
	shift
	[ -n "${DAEMON_PID:-}" ] || start_daemon
	[ -f "$T/bb.tar" ] || { image_busybox "$T/bb" && tar -C "$T/bb" -cf "$T/bb.tar" .; }
	run -0 e images import --base-name example.com/bb "$T/bb.tar"
	run -0 e run -d "$@" example.com/bb:latest "$id" sh -c "$COUNTER"
	wait_log "$id" 3
}

# n ID: the counter's value now, as the container's /tmp/n says (read
# again when caught between the shell's truncation and its write).
n() {
	local v i
	for i in $(seq 1 20); do
		v=$(e tasks exec "$1" cat /tmp/n)
		[ -z "$v" ] || break
		sleep 0.02
	done
	echo "$v"
}

# still_counting ID: it runs and its counter goes up.
still_counting() {
	local a b
	run -0 e tasks ls
	[[ "$output" == *"$1"*running* ]]
	a=$(n "$1")
	sleep 0.5
	b=$(n "$1")
	[ "$b" -gt "$a" ]
}

@test "checkpoint: criu missing from PATH: refused in one line, the task runs on" {
	# criu is /usr/sbin/criu: a daemon whose PATH lacks it.
	PATH=/usr/bin:/bin start_daemon
	local id; id=$(ct nocriu)
	counter_up "$id"
	run -1 e tasks checkpoint "$id"
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == *"checkpoint $id: criu is not installed: no \"criu\" in PATH \"/usr/bin:/bin\""* ]]
	still_counting "$id"
	kill_remove "$id"
}

@test "checkpoint: a bind mount whose source is gone from the host: refused in one line, the task runs on" {
	local id; id=$(ct bind)
	mkdir -p "$T/data"
	counter_up "$id" --mount "type=bind,src=$T/data,dst=/data"
	# Gone from the host while the container keeps its mount: a restore
	# could not mount it again, so no checkpoint is made of it.
	rmdir "$T/data"
	run -1 e tasks checkpoint --exit "$id"
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == *"checkpoint $id: container: bind mount \"/data\": its source \"$T/data\" is not on the host"* ]]
	still_counting "$id"
	kill_remove "$id"
}

@test "checkpoint: what this kernel and criu cannot do is said in one line, the task runs on" {
	if criu_works; then
		skip "criu works here: the restore tests show it"
	fi
	local id; id=$(ct kernel)
	counter_up "$id"
	run -1 e tasks checkpoint --exit --image-path "$T/ck" "$id"
	[ "${#lines[@]}" -eq 1 ]
	# CRIU's own complaint, and where its log is.
	[[ "$output" == *"checkpoint $id: criu dump: $CRIU_WHY"*"(log: $T/ck/dump.log)"* ]]
	[ -s "$T/ck/dump.log" ]
	still_counting "$id"
	kill_remove "$id"
}

@test "checkpoint: the task's options are refused before criu runs" {
	start_daemon
	run -1 e tasks checkpoint nosuch
	[[ "$output" == *"no task nosuch"* ]]
	local id; id=$(ct stopped)
	counter_up "$id"
	run -0 e tasks kill -s KILL "$id"
	run -137 e tasks wait "$id"
	run -1 e tasks checkpoint "$id"
	[[ "$output" == *"task $id is not running"* ]]
	run -1 e tasks restore --image-path "$T/none" "$id"
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == *"restore: $T/none: No such file or directory"* ]]
	run -0 e tasks delete "$id"
	run -0 e containers rm "$id"
	assert_gone "$id"
}

@test "checkpoint: the counter is checkpointed, killed, restored and goes on from its value" {
	criu_works || skip "criu cannot work here: $CRIU_WHY"
	local id; id=$(ct counter)
	counter_up "$id"
	sleep 1
	run -0 e tasks checkpoint --exit --image-path "$T/ck" "$id"
	[ "$output" = "$T/ck" ]
	run -137 e tasks wait "$id"
	local at; at=$(cat "$STATE/tasks/default/$id/rootfs/tmp/n" 2>/dev/null || e logs "$id" | tail -1)
	run -0 e tasks restore --image-path "$T/ck" "$id"
	wait_until 5 bash -c "[ \"\$('$EMBER' --address '$SOCK' tasks exec '$id' cat /tmp/n)\" -gt $at ]"
	# From its value on: the log's numbers after the restore start past
	# where they stopped, not at 1.
	run -0 e logs "$id"
	[[ $'\n'"$output" != *$'\n1\n2\n'*$'\n1\n2\n'* ]]
	still_counting "$id"
	kill_remove "$id"
}

@test "checkpoint: without --exit the task runs on; the copy restores on another daemon root" {
	criu_works || skip "criu cannot work here: $CRIU_WHY"
	local id; id=$(ct copy)
	counter_up "$id"
	run -0 e tasks checkpoint --image-path "$T/ck" "$id"
	still_counting "$id"
	local at; at=$(n "$id")
	kill_remove "$id"
	# Another daemon (root and state), the image directory copied there.
	stop_daemon
	cp -a "$T/ck" "$T/ck2"
	ROOT=$T/root2 STATE=$T/state2 SOCK=$T/state2/ember.sock EMBER_ADDRESS=$T/state2/ember.sock
	DAEMON_PID=
	counter_up "$id"
	run -0 e tasks kill -s KILL "$id"
	run -137 e tasks wait "$id"
	run -0 e tasks restore --image-path "$T/ck2" "$id"
	wait_until 5 bash -c "[ \"\$('$EMBER' --address '$SOCK' tasks exec '$id' cat /tmp/n)\" -gt $at ]"
	still_counting "$id"
	kill_remove "$id"
}

# ember oci: a bundle of busybox running the counter (its root writable,
# so the host reads /tmp/n in the rootfs).
oci_counter_up() {
	OCI_ROOT=$T/oci-root
	OCI_ID=$(ct oci)
	image_busybox "$T/bb"
	image_unpack_root "$T/bb" "$T/bundle"
	"$PYTHON" -c '
import json, sys
p = sys.argv[1] + "/config.json"
c = json.load(open(p))
c["process"].update({"terminal": False, "args": ["sh", "-c", sys.argv[2]]})
c["root"]["readonly"] = False
json.dump(c, open(p, "w"), indent=1)' "$T/bundle" "$COUNTER"
	"$EMBER" oci --root "$OCI_ROOT" create --bundle "$T/bundle" "$OCI_ID" </dev/null >/dev/null 2>&1
	run -0 "$EMBER" oci --root "$OCI_ROOT" start "$OCI_ID"
	wait_until 5 test -s "$T/bundle/rootfs/tmp/n"
}

oci_teardown() {
	[ -n "${OCI_ID:-}" ] || return 0
	"$EMBER" oci --root "$OCI_ROOT" delete --force "$OCI_ID" >/dev/null 2>&1 || true
	local d
	for d in /sys/fs/cgroup/*/ember-oci/"$OCI_ID" /sys/fs/cgroup/ember-oci/"$OCI_ID"; do
		[ ! -d "$d" ] || wait_until 5 rmdir "$d" || true
	done
	for d in /sys/fs/cgroup/*/ember-oci/ /sys/fs/cgroup/ember-oci/; do
		[ ! -d "$d" ] || rmdir "$d" 2>/dev/null || true
	done
}

# oci_n: the oci container's counter (as n does it).
oci_n() {
	local v i
	for i in $(seq 1 20); do
		v=$(cat "$T/bundle/rootfs/tmp/n")
		[ -z "$v" ] || break
		sleep 0.02
	done
	echo "$v"
}

oci_counting() {
	local a b
	[ "$("$EMBER" oci --root "$OCI_ROOT" state "$OCI_ID" | jget 'j["status"]')" = running ]
	a=$(oci_n)
	sleep 0.5
	b=$(oci_n)
	[ "$b" -gt "$a" ]
}

@test "checkpoint: ember oci checkpoint and restore as runc's, or one line why not with the container running on" {
	"$EMBER" oci --help 2>&1 | grep -q checkpoint || skip "this ember has no oci role"
	oci_counter_up
	if ! criu_works; then
		run -1 "$EMBER" oci --root "$OCI_ROOT" checkpoint --image-path "$T/oci-ck" "$OCI_ID"
		[ "${#lines[@]}" -eq 1 ]
		[[ "$output" == "ember oci: checkpoint $OCI_ID: criu dump: $CRIU_WHY"*"(log: $T/oci-ck/dump.log)" ]]
		oci_counting
		oci_teardown
		return 0
	fi
	run -0 "$EMBER" oci --root "$OCI_ROOT" checkpoint --image-path "$T/oci-ck" --work-path "$T/oci-work" "$OCI_ID"
	[ -s "$T/oci-work/dump.log" ]
	local at; at=$(oci_n)
	# Gone, as after runc's checkpoint: no state, no cgroup.
	run -1 "$EMBER" oci --root "$OCI_ROOT" state "$OCI_ID"
	[ "$output" = "ember oci: container $OCI_ID does not exist" ]
	[ -z "$(find /sys/fs/cgroup -maxdepth 3 -path "*ember-oci/$OCI_ID" 2>/dev/null)" ]
	run -0 "$EMBER" oci --root "$OCI_ROOT" restore -d --image-path "$T/oci-ck" --bundle "$T/bundle" "$OCI_ID"
	wait_until 5 bash -c "[ \"\$(cat '$T/bundle/rootfs/tmp/n')\" -gt $at ] 2>/dev/null"
	oci_counting
	# --leave-running: dumped, and it goes on.
	run -0 "$EMBER" oci --root "$OCI_ROOT" checkpoint --leave-running --image-path "$T/oci-ck2" "$OCI_ID"
	oci_counting
	oci_teardown
}

# A task with a terminal (run -d -t): ember init holds the master, so
# nothing is refused by ember; CRIU dumps the pair (the guest proves the
# restore: guest-checkpoint.bats), or says in one line what it cannot here.
@test "checkpoint: a task with a terminal goes to CRIU whole; where CRIU cannot dump, its one line, the task runs on" {
	local id; id=$(ct tty)
	counter_up "$id" -t
	if ! criu_works; then
		run -1 e tasks checkpoint --exit --image-path "$T/ck" "$id"
		[ "${#lines[@]}" -eq 1 ]
		[[ "$output" == *"checkpoint $id: criu dump: $CRIU_WHY"*"(log: $T/ck/dump.log)"* ]]
		[[ "$output" != *terminal* ]]
		# ember.json says which descriptor of init is the master.
		[ "$(jget 'j["pty_fd"]' <"$T/ck/ember.json")" -ge 3 ]
		still_counting "$id"
		kill_remove "$id"
		return 0
	fi
	local at; at=$(n "$id")
	run -0 e tasks checkpoint --exit --image-path "$T/ck" "$id"
	run -0 e tasks restore --image-path "$T/ck" "$id"
	wait_until 5 bash -c "[ \"\$(e tasks exec $id cat /tmp/n)\" -gt $at ]"
	still_counting "$id"
	kill_remove "$id"
}

# oci_tty_bundle TERMINAL: the busybox bundle with process.terminal TERMINAL.
oci_tty_bundle() {
	[ -d "$T/bundle" ] || { image_busybox "$T/bb" && image_unpack_root "$T/bb" "$T/bundle"; }
	"$PYTHON" -c '
import json, sys
p = sys.argv[1] + "/config.json"
c = json.load(open(p))
c["process"].update({"terminal": sys.argv[2] == "1", "args": ["sh", "-c", sys.argv[3]]})
json.dump(c, open(p, "w"), indent=1)' "$T/bundle" "$1" "$COUNTER"
}

@test "checkpoint: ember oci restore of a terminal needs --console-socket; without one or with a wrong one, one line and nothing left" {
	"$EMBER" oci --help 2>&1 | grep -q checkpoint || skip "this ember has no oci role"
	OCI_ROOT=$T/oci-root
	OCI_ID=$(ct otty)
	oci_tty_bundle 1
	mkdir -p "$T/no-ck"
	local r=("$EMBER" oci --root "$OCI_ROOT" restore -d --image-path "$T/no-ck" --bundle "$T/bundle")
	run -1 "${r[@]}" "$OCI_ID"
	[ "$output" = "ember oci: restore $OCI_ID: process.terminal: the restored container's terminal goes to --console-socket: give one" ]
	run -1 "${r[@]}" --console-socket "$T/none.sock" "$OCI_ID"
	[ "$output" = "ember oci: restore $OCI_ID: --console-socket $T/none.sock: No such file or directory" ]
	# A socket that listens, and images CRIU cannot restore: CRIU's one
	# line; no state, no cgroup, and the socket got no terminal.
	"$PYTHON" "$BATS_TEST_DIRNAME/lib/console_recv.py" "$T/cs.sock" "$T/cs.out" &
	local recv=$!
	wait_until 5 test -e "$T/cs.out.ready"
	run -1 "${r[@]}" --console-socket "$T/cs.sock" "$OCI_ID"
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == "ember oci: restore $OCI_ID: criu restore: "* ]]
	[ ! -e "$OCI_ROOT/$OCI_ID" ]
	[ -z "$(find /sys/fs/cgroup -maxdepth 3 -path "*ember-oci/$OCI_ID" 2>/dev/null)" ]
	# (ember connected, then closed it with nothing sent.)
	local rc=0
	wait "$recv" 2>/dev/null || rc=$?
	[ "$rc" -ne 0 ] && [ ! -s "$T/cs.out.name" ]
	# Without a terminal, a console socket is a mistake, as runc has it.
	oci_tty_bundle 0
	run -1 "${r[@]}" --console-socket "$T/cs.sock" "$OCI_ID"
	[ "$output" = "ember oci: restore $OCI_ID: --console-socket: only for a container with a terminal (process.terminal)" ]
}

# ---- checkpoint images (containerd's layout), the restore side --------------
# CRIU cannot dump here (see above), so these images are made by
# lib/mkcheckpoint.py in the layout `tasks checkpoint --image` writes; the
# guest (guest-checkpoint.bats) checkpoints, pushes, pulls and restores a
# real one.

# ck_image TAG ARCH [--no-criu]: busybox and the checkpoint image
# example.com/ck:TAG imported; its spec is a container's of busybox that
# prints /hello.txt (the rw layer's) and whether /bin/tee (whited out) is
# there.
ck_image() {
	local tag=$1 arch=$2
	shift 2
	[ -n "${DAEMON_PID:-}" ] || start_daemon
	[ -f "$T/bb.tar" ] || { image_busybox "$T/bb" && tar -C "$T/bb" -cf "$T/bb.tar" .; }
	run -0 e images import --base-name example.com/bb "$T/bb.tar"
	run -0 e containers create example.com/bb:latest spec-src sh -c \
		'cat /hello.txt; if [ -e /bin/tee ]; then echo tee-there; else echo tee-gone; fi'
	e containers info spec-src | jget 'json.dumps(j["spec"])' >"$T/spec.json"
	run -0 e containers rm spec-src
	rm -rf "$T/ck-layout"
	cp -a "$T/bb" "$T/ck-layout"
	"$PYTHON" "$BATS_TEST_DIRNAME/lib/mkcheckpoint.py" "$T/ck-layout" "$T/spec.json" "$tag" "$arch" "$@" >/dev/null
	tar -C "$T/ck-layout" -cf "$T/ck.tar" .
	run -0 e images import --base-name example.com/ck "$T/ck.tar"
}

# Nothing of a container ID is left: no record, snapshot, task, images.
assert_nothing_of() {
	assert_gone "$1"
	[ ! -e "$ROOT/checkpoints/default/$1" ]
}

@test "checkpoint image: a new container from it gets its spec, its image and its rw layer; rm removes its CRIU images" {
	ck_image v1 "$(image_host_platform | cut -d/ -f2)"
	local id; id=$(ct fromck)
	run -0 e call io.ember.Containers.Create "{\"id\":\"$id\",\"checkpoint\":\"example.com/ck:v1\"}"
	# The CRIU images are unpacked where Tasks.Restore looks by default.
	[ "$(cat "$ROOT/checkpoints/default/$id/inventory.img")" = "not a CRIU image" ]
	[ -f "$ROOT/checkpoints/default/$id/ember.json" ]
	run -0 e containers info "$id"
	[ "$(jget 'j["image"]' <<<"$output")" = example.com/ck:v1 ]
	[ "$(jget 'j["checkpoint"]' <<<"$output")" = example.com/ck:v1 ]
	# Started instead of restored, its spec's command shows its files:
	# the rw layer's, and the image's file it deleted is gone.
	run -0 e tasks start "$id"
	[ "$output" = "written before the checkpoint
tee-gone" ]
	run -0 e tasks delete "$id"
	run -0 e containers rm "$id"
	assert_nothing_of "$id"
	# An id whose default checkpoint directory exists is refused.
	mkdir -p "$ROOT/checkpoints/default/$id"
	run -1 e call io.ember.Containers.Create "{\"id\":\"$id\",\"checkpoint\":\"example.com/ck:v1\"}"
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == *"$ROOT/checkpoints/default/$id exists (an earlier checkpoint"* ]]
	rmdir "$ROOT/checkpoints/default/$id"
	assert_nothing_of "$id"
}

@test "checkpoint image: a restore CRIU refuses removes the container it made; CRIU's log stays where the error says" {
	ck_image v1 "$(image_host_platform | cut -d/ -f2)"
	local id; id=$(ct badck)
	local log="$ROOT/checkpoints/default/$id.restore.log"
	# inventory.img is no CRIU image: criu (or its kernel check) refuses.
	run -1 e tasks restore --image example.com/ck:v1 "$id"
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == *restore* ]]
	[[ "$output" == *"(log: $log)" ]]
	assert_nothing_of "$id"
	# The log the error names outlives the container and its images.
	grep -q 'Error (' "$log"
	# The next failure's log replaces it.
	echo "an older restore's log" >"$log"
	run -125 e run --restore example.com/ck:v1 "$id"
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == *restore* ]]
	[[ "$output" != *"--restore REF ID"* ]]
	[[ "$output" == *"(log: $log)" ]]
	assert_nothing_of "$id"
	grep -q 'Error (' "$log"
	run ! grep -q "an older restore's log" "$log"
}

@test "checkpoint image: not a checkpoint, another architecture, criu missing, options: one line, nothing left" {
	ck_image nocriu "$(image_host_platform | cut -d/ -f2)" --no-criu
	local id; id=$(ct refused) other=arm64
	[ "$(uname -m)" != aarch64 ] || other=amd64
	run -1 e tasks restore --image example.com/bb:latest "$id"
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == *"example.com/bb:latest is not a checkpoint: an image manifest, not an index"* ]]
	assert_nothing_of "$id"
	run -1 e tasks restore --image example.com/ck:nocriu "$id"
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == *"example.com/ck:nocriu is not a checkpoint: its index has no application/vnd.containerd.container.criu.checkpoint.criu.tar"* ]]
	assert_nothing_of "$id"
	ck_image foreign "$other"
	run -1 e tasks restore --image example.com/ck:foreign "$id"
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == *"example.com/ck:foreign is a checkpoint taken on linux/$other: CRIU restores it only there (this is linux/"* ]]
	assert_nothing_of "$id"
	run -1 e tasks restore --image example.com/nosuch:1 "$id"
	[ "${#lines[@]}" -eq 1 ]
	assert_nothing_of "$id"
	run -125 e run --restore -t example.com/ck:foreign "$id"
	[[ "$output" == *"--restore REF ID: the checkpoint gives the command"* ]]
	run -125 e run --restore example.com/ck:foreign "$id" sh
	assert_nothing_of "$id"
	run -2 e tasks restore --image example.com/ck:foreign --image-path /tmp "$id"
	[[ "$output" == *"--image or --image-path, not both"* ]]
	stop_daemon
	PATH=/usr/bin:/bin start_daemon
	run -1 e tasks restore --image example.com/ck:foreign "$id"
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == *"criu is not installed: no \"criu\" in PATH \"/usr/bin:/bin\""* ]]
	assert_nothing_of "$id"
}

@test "checkpoint image: pushed to a registry and pulled on another daemon root whole, exported and imported whole" {
	ck_image v1 "$(image_host_platform | cut -d/ -f2)"
	registry_start ck
	local ref=$REGISTRY_CK_ADDR/ck/counter:v1 digest
	run -0 e images tag example.com/ck:v1 "$ref"
	run -0 e push --plain-http "$ref"
	# The registry has the index as it was, and each of its blobs.
	digest=$(e images inspect "$ref" | jget 'j["target"]["digest"]')
	[ "$(registry_digest "$ref")" = "$digest" ]
	registry_curl ck -s "$REGISTRY_CK_URL/v2/ck/counter/manifests/v1" \
		-H 'Accept: application/vnd.oci.image.index.v1+json' >"$T/index.json"
	local mt
	for mt in criu.checkpoint.criu.tar checkpoint.config.v1+proto rw.tar; do
		d=$(jget "[m['digest'] for m in j['manifests'] if m['mediaType'] == 'application/vnd.containerd.container.$mt'][0]" <"$T/index.json")
		run -0 registry_curl ck -s -I "/v2/ck/counter/blobs/$d"
		[[ "${lines[0]}" == "HTTP/1.1 200"* ]]
	done
	e images export "$T/ck-out.tar" "$ref"
	# Another daemon root pulls it: the checkpoint's blobs come with it.
	stop_daemon
	ROOT=$T/root2 STATE=$T/state2 SOCK=$T/state2/ember.sock EMBER_ADDRESS=$T/state2/ember.sock
	DAEMON_PID=
	start_daemon
	run -0 e pull --plain-http "$ref"
	run -0 e images check "$ref"
	local id; id=$(ct pulled)
	run -0 e call io.ember.Containers.Create "{\"id\":\"$id\",\"checkpoint\":\"$ref\"}"
	[ "$(cat "$ROOT/checkpoints/default/$id/inventory.img")" = "not a CRIU image" ]
	run -0 e containers rm "$id"
	assert_nothing_of "$id"
	# ... and an export of it imports whole.
	run -0 e images rm "$ref"
	run -0 e images import "$T/ck-out.tar"
	run -0 e images check "$ref"
	run -0 e call io.ember.Containers.Create "{\"id\":\"$id\",\"checkpoint\":\"$ref\"}"
	run -0 e containers rm "$id"
	assert_nothing_of "$id"
}

@test "checkpoint image: what --image cannot take is refused before the dump, the task runs on; a failed dump makes no image" {
	local id; id=$(ct ckimg)
	start_daemon
	[ -f "$T/bb.tar" ] || { image_busybox "$T/bb" && tar -C "$T/bb" -cf "$T/bb.tar" .; }
	run -0 e images import --base-name example.com/bb "$T/bb.tar"
	run -0 e images unpack --snapshotter native example.com/bb:latest
	counter_up "$id" --snapshotter native
	run -1 e tasks checkpoint --exit --image example.com/ck:native "$id"
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == *"checkpoint $id: checkpoint --image: its rw layer is an overlay snapshot's upper directory: snapshotter native is not supported"* ]]
	[ ! -e "$ROOT/checkpoints/default/.$id.image" ]
	still_counting "$id"
	kill_remove "$id"
	if criu_works; then
		skip "criu works here: the guest shows a checkpoint image made"
	fi
	counter_up "$id"
	run -1 e tasks checkpoint --exit --image example.com/ck:v2 "$id"
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == *"checkpoint $id: criu dump: $CRIU_WHY"*"(log: $ROOT/checkpoints/default/.$id.image/dump.log)"* ]]
	run -1 e images inspect example.com/ck:v2
	still_counting "$id"
	kill_remove "$id"
}
