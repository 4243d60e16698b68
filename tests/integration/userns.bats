#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# Containers in their own user namespace (--uidmap/--gidmap): the
# container's root is an unprivileged host user, the image's files are
# still root's inside (idmapped layers), binds and --rootfs, exec, a
# terminal, and bad maps as one line with nothing left behind.

bats_require_minimum_version 1.5.0
load helpers
load lib/image
load lib/registry
load lib/remote
load lib/unpack

load lib/tasks

MAP=0:100000:65536

setup() {
	setup_dirs
	require_runtime
	[[ " $("$EMBER" version | sed -n 's/^features: //p') " == *" userns "* ]] ||
		skip "this ember has no user namespaces"
}

teardown() {
	tasks_teardown
}

# The kernel refuses user namespaces to a chrooted process; overlay takes
# (idmapped) layers as descriptors from Linux 6.13.
require_userns() {
	in_chroot && skip "user namespaces are refused in a chroot"
	local v; v=$(uname -r | awk -F'[.-]' '{print $1 * 1000 + $2}')
	[ "$v" -ge 6013 ] || skip "Linux $(uname -r): overlay takes no layers by descriptor before 6.13"
	return 0
}

# uid line of /proc/PID/status: real effective saved fs.
host_uids() {
	awk '/^Uid:/ {print $2, $3, $4, $5}' "/proc/$1/status"
}

@test "userns: the container's root is host uid 100000, the image's files are root's inside, writes land shifted" {
	require_userns
	bb_up
	local id; id=$(ct u1)
	run -0 e run -d --uidmap "$MAP" --gidmap "$MAP" "$REF" "$id" sleep 1000
	local pid; pid=$(task_pids)
	[ -n "$pid" ]
	# init and the application run as host uid 100000.
	[ "$(host_uids "$pid")" = "100000 100000 100000 100000" ]
	local app; app=$(tr -d " " <"/proc/$pid/task/$pid/children")
	[ "$(host_uids "$app")" = "100000 100000 100000 100000" ]
	# None of the daemon's supplementary groups stay with them.
	[ "$(awk '/^Groups:/ {print NF}' "/proc/$pid/status")" = 1 ]
	[ "$(awk '/^Groups:/ {print NF}' "/proc/$app/status")" = 1 ]
	run -0 e tasks exec --exec-id a "$id" sh -c \
		'cat /proc/self/uid_map /proc/self/gid_map; id -u; id -g; stat -c %u:%g /etc/passwd /bin/busybox /'
	[ "$(echo "${lines[0]}" | tr -s ' ')" = " 0 100000 65536" ]
	[ "$(echo "${lines[1]}" | tr -s ' ')" = " 0 100000 65536" ]
	[ "${lines[2]}" = 0 ] && [ "${lines[3]}" = 0 ]
	[ "${lines[4]}" = 0:0 ] && [ "${lines[5]}" = 0:0 ] && [ "${lines[6]}" = 0:0 ]
	# Root inside may write the image's /etc (a copy-up): on the host the
	# file is the mapped root's.
	run -0 e tasks exec --exec-id b "$id" sh -c 'echo x >/etc/made && echo y >>/etc/passwd && stat -c %u /etc/made'
	[ "$output" = 0 ]
	local made; made=$(find "$ROOT/snapshots" -path '*/fs/etc/made')
	[ -n "$made" ]
	[ "$(stat -c %u:%g "$made")" = 100000:100000 ]
	# An exec joins the namespace too: the same map, the same host uid.
	run -0 e tasks exec --exec-id c "$id" sh -c 'cat /proc/self/uid_map; grep ^Uid /proc/self/status'
	[[ "$output" == *"0     100000      65536"* ]]
	[[ "$output" == *"Uid:	0	0	0	0"* ]]
	run -0 e tasks kill -s KILL "$id"
	run -137 e tasks wait "$id"
	run -0 e tasks delete "$id"
	run -0 e containers rm "$id"
	assert_gone "$id"
}

@test "userns: root inside is nobody special outside, even --privileged" {
	require_userns
	bb_up
	local id; id=$(ct u2)
	# Without a user namespace --privileged may make device nodes ...
	run -0 e run --rm --privileged "$REF" "$id" sh -c 'mknod /tmp/n c 1 3 && echo made'
	[ "$output" = made ]
	# ... in one, the kernel refuses it to every capability set.
	run -1 e run --rm --privileged --uidmap "$MAP" "$REF" "$id" sh -c 'mknod /tmp/n c 1 3'
	[[ "$output" == *"Operation not permitted"* ]]
	# The host's root-only files stay closed: a bind of a 0700 directory.
	mkdir "$T/secret" && chmod 700 "$T/secret" && echo s >"$T/secret/s"
	run -1 e run --rm --uidmap "$MAP" --mount "type=bind,src=$T/secret,dst=/secret" "$REF" "$id" cat /secret/s
	[[ "$output" == *"Permission denied"* ]]
	# The default devices are the host's own nodes, bound.
	run -0 e run --rm --uidmap "$MAP" "$REF" "$id" sh -c 'echo gone >/dev/null && head -c 4 /dev/zero | wc -c'
	[ "$output" = 4 ]
	assert_gone "$id"
}

@test "userns: bind mounts, --rootfs, --net-host and a terminal" {
	require_userns
	bb_up
	local id; id=$(ct u3)
	# A bind source the daemon reaches (under this test's 0700 directory)
	# though the container's root could not walk there; writes to a
	# directory the mapped root owns land as host uid 100000.
	mkdir "$T/shared" && chown 100000:100000 "$T/shared"
	run -0 e run --rm --uidmap "$MAP" --mount "type=bind,src=$T/shared,dst=/shared" "$REF" "$id" \
		sh -c 'touch /shared/f && stat -c %u /shared/f'
	[ "$output" = 0 ]
	[ "$(stat -c %u "$T/shared/f")" = 100000 ]
	# A bind under a shared host mount stays out of the host's propagation:
	# what the container mounts below it is not seen (nor left) on the host.
	mkdir -p "$T/peer/sub"
	mount --bind "$T/peer" "$T/peer"
	mount --make-shared "$T/peer"
	run -0 e run --rm --uidmap "$MAP" --mount "type=bind,src=$T/peer,dst=/peer" \
		--mount "type=tmpfs,dst=/peer/sub" "$REF" "$id" sh -c 'grep -c " /peer/sub " /proc/self/mountinfo'
	[ "$output" = 1 ]
	run ! grep -q "$T/peer/sub" /proc/self/mountinfo
	# --rootfs: bound as it is (as runc does), from a shared mount too; the
	# user gives it to the mapped ids, and what root writes is host uid 100000.
	mkdir -p "$T/peer/rootfs/bin"
	cp /bin/busybox "$T/peer/rootfs/bin/"
	ln -s busybox "$T/peer/rootfs/bin/sh"
	chown -R 100000:100000 "$T/peer/rootfs"
	run -0 e run --rm --uidmap "$MAP" --rootfs "$T/peer/rootfs" "$id" /bin/sh -c \
		'/bin/busybox touch /made && /bin/busybox stat -c %u /made /bin/busybox'
	[ "$output" = "$(printf '0\n0')" ]
	[ "$(stat -c %u "$T/peer/rootfs/made")" = 100000 ]
	# Not given to them, the image's files are nobody's and root may not write.
	chown -R 0:0 "$T/peer/rootfs"
	run -1 e run --rm --uidmap "$MAP" --rootfs "$T/peer/rootfs" "$id" /bin/sh -c '/bin/busybox touch /no'
	[[ "$output" == *"Permission denied"* ]]
	umount "$T/peer"
	# --net-host: sysfs cannot be made for the host's network, so the
	# host's is bound, read-only.
	run -0 e run --rm --net-host --uidmap "$MAP" "$REF" "$id" sh -c 'ls /sys/class/net; touch /sys/x 2>&1 || true'
	[[ "$output" == *lo* ]]
	[[ "$output" == *"Read-only file system"* ]]
	# A terminal from the container's own devpts.
	run -0 "$PYTHON" "$INFRA_LIB/pty_run.py" 30 90 "$EMBER" --address "$SOCK" run --rm -t --uidmap "$MAP" \
		"$REF" "$id" sh -c 'test -t 0 && echo is-a-tty; stty size; id -u'
	[[ "$output" == *"is-a-tty"* ]]
	[[ "$output" == *"30 90"* ]]
	[[ "$output" == *"exit=0"* ]]
	assert_gone "$id"
	# A detached terminal in a user namespace, attached to.
	run -0 e run -d -t --uidmap "$MAP" "$REF" "$id" sh -c 'read l; echo "got $l as $(id -u)"; exit 3'
	run -0 "$PYTHON" "$INFRA_LIB/pty_run.py" 24 80 --input 'hi\r' "$EMBER" --address "$SOCK" tasks attach "$id"
	[[ "$output" == *"got hi as 0"* ]]
	[[ "$output" == *"exit=3"* ]]
	run -0 e tasks delete "$id"
	run -0 e containers rm "$id"
	assert_gone "$id"
}

@test "userns: bad maps and refusals are one line, nothing left behind" {
	bb_up
	local id; id=$(ct u4)
	run -125 e run --rm --uidmap 0:100000 "$REF" "$id" true
	[ "$output" = 'ember: uidmap "0:100000": want container-id:host-id:size' ]
	run -125 e run --rm --uidmap 0:4294967290:10 "$REF" "$id" true
	[ "$output" = 'ember: uidmap "0:4294967290:10": the range is empty or passes 2^32-1' ]
	run -125 e run --rm --gidmap 0:x:1 "$REF" "$id" true
	[ "$output" = 'ember: gidmap "0:x:1": want container-id:host-id:size' ]
	assert_gone "$id"
	# A spec with a user namespace must map it.
	cat >"$T/spec.json" <<-'EOF'
	{"ociVersion": "1.0.2", "process": {"args": ["true"], "cwd": "/"}, "root": {"path": "x"},
	 "linux": {"namespaces": [{"type": "mount"}, {"type": "user"}]}}
	EOF
	run -1 e containers create --spec "$T/spec.json" "$REF" "$id"
	[ "$output" = "ember: spec: linux.uidMappings: a new user namespace needs one" ]
	assert_gone "$id"
	if in_chroot; then
		run -125 e run --rm --uidmap "$MAP" "$REF" "$id" true
		[[ "$output" == *"clone3 with a new user namespace"* ]]
		assert_gone "$id"
		return
	fi
	# A map without the container's root: the setup says so.
	run -125 e run --rm --uidmap 1:100000:100 "$REF" "$id" true
	[ "$(wc -l <<<"$output")" = 1 ]
	[[ "$output" == *"user namespace: become its root (uid and gid 0 must be mapped)"* ]]
	assert_gone "$id"
}
