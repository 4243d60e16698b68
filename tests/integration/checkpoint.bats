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
	[ "$("$EMBER" oci --root "$OCI_ROOT" state "$OCI_ID" | jget 'j["status"]')" = stopped ]
	run -0 "$EMBER" oci --root "$OCI_ROOT" delete "$OCI_ID"
	run -0 "$EMBER" oci --root "$OCI_ROOT" restore -d --image-path "$T/oci-ck" --bundle "$T/bundle" "$OCI_ID"
	wait_until 5 bash -c "[ \"\$(cat '$T/bundle/rootfs/tmp/n')\" -gt $at ] 2>/dev/null"
	oci_counting
	# --leave-running: dumped, and it goes on.
	run -0 "$EMBER" oci --root "$OCI_ROOT" checkpoint --leave-running --image-path "$T/oci-ck2" "$OCI_ID"
	oci_counting
	oci_teardown
}
