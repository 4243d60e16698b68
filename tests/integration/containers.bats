#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# Containers and tasks with real containers from the busybox image: ember
# run, the spec's settings seen from inside, errors that name the step, and
# nothing left behind (records, task state, snapshots, mounts, cgroups).

bats_require_minimum_version 1.5.0
load helpers
load lib/image
load lib/registry
load lib/remote
load lib/unpack

load lib/tasks

setup() {
	setup_dirs
	require_runtime
}

teardown() {
	tasks_teardown
}

@test "run: --rm prints the command's output, exits with its status and leaves nothing" {
	bb_up
	local id; id=$(ct a)
	run -0 e run --rm "$REF" "$id" echo hello from the image
	[ "$output" = "hello from the image" ]
	assert_gone "$id"
	run -3 e run --rm "$REF" "$id" sh -c 'echo out; echo err >&2; exit 3'
	[[ "$output" == *out* && "$output" == *err* ]]
	assert_gone "$id"
	# stdin is the client's.
	run -0 bash -c "echo piped | $EMBER --address $SOCK run --rm $REF $id cat"
	[ "$output" = piped ]
	assert_gone "$id"
}

@test "run: four clients starting and removing containers at once all succeed (starts are jobs in threads)" {
	bb_up
	# Each start clones from a daemon with threads (a clone that took a
	# lock another thread held would hang until the 10 s setup timeout),
	# and each removal takes the empty ember/<namespace> cgroups along
	# (which another start may have just made).
	local k
	for k in 1 2 3 4; do
		bash -c 'for i in $(seq 1 30); do
			"$1" --address "$2" run --rm "$3" "$4" true </dev/null || { echo "run $i of $4 failed: $?"; exit 1; }
		done' sh "$EMBER" "$SOCK" "$REF" "$(ct c$k)" >"$T/client$k.out" 2>&1 3>&- &
		bg_track $!
	done
	local failed=0 p
	for p in "${BG_PIDS[@]}"; do wait "$p" || failed=1; done
	cat "$T"/client*.out
	[ "$failed" = 0 ]
	for k in 1 2 3 4; do assert_gone "$(ct c$k)"; done
}

@test "run: the image's Cmd, env, working directory, user and hostname reach the process" {
	bb_up
	local id; id=$(ct b)
	run -0 e run --rm --env FOO=bar --cwd /tmp --user 65534:65534 --hostname box "$REF" "$id" \
		sh -c 'echo "$FOO $(pwd) $(id -u):$(id -g) $(hostname)"; echo "$PATH"'
	[ "${lines[0]}" = "bar /tmp 65534:65534 box" ]
	[ "${lines[1]}" = /usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin ]
	# A user name comes from the image's /etc/passwd.
	run -0 e run --rm --user nobody "$REF" "$id" id
	[[ "$output" == "uid=65534(nobody) gid=65534(nobody)"* ]]
	# The hostname defaults to the id; an env file adds variables.
	printf 'A=1\n# comment\nB=two words\n' >"$T/env"
	run -0 e run --rm --env-file "$T/env" "$REF" "$id" sh -c 'echo "$(hostname) $A $B"'
	[ "$output" = "$id 1 two words" ]
	assert_gone "$id"
}

@test "run: capabilities are Docker's by default, really dropped, and --privileged gets all" {
	bb_up
	local id; id=$(ct c)
	run -0 e run --rm "$REF" "$id" grep Cap /proc/self/status
	[[ "$output" == *"CapEff:	$(default_capeff)"* ]]
	[[ "$output" == *"CapBnd:	$(default_capeff)"* ]]
	run -0 e run --rm --cap-drop ALL "$REF" "$id" grep CapEff /proc/self/status
	[ "$output" = "CapEff:	0000000000000000" ]
	# Without CAP_CHOWN, chown fails even as root.
	run -1 e run --rm --cap-drop CHOWN "$REF" "$id" sh -c 'touch /tmp/f && chown 1 /tmp/f'
	run -0 e run --rm --cap-add NET_ADMIN "$REF" "$id" grep CapEff /proc/self/status
	[ "$output" = "CapEff:	$(printf '%016x' $((0x$(default_capeff) | 1 << 12)))" ]
	# Every capability the daemon has (containerd's privileged: the current set).
	local mine; mine=$(awk '/^CapEff/ {print $2}' /proc/self/status)
	in_chroot && mine=$(printf '%016x' $((0x$mine & ~(1 << 18))))
	run -0 e run --rm --privileged "$REF" "$id" grep CapEff /proc/self/status
	[ "$output" = "CapEff:	$mine" ]
	# no_new_privs unless privileged.
	run -0 e run --rm "$REF" "$id" grep NoNewPrivs /proc/self/status
	[ "$output" = "NoNewPrivs:	1" ]
	assert_gone "$id"
}

@test "run: the device cgroup lets a container open the standard nodes and make any, open no other; --privileged opens all" {
	bb_up
	local id; id=$(ct dev)
	# Nodes of numbers no driver has here (local major 240) and loop's:
	# EPERM from the device cgroup; allowed, the kernel's ENXIO or ok.
	local script='head -c1 /dev/zero | wc -c; echo x >/dev/null && echo null ok; head -c1 /dev/urandom | wc -c
		for n in "c 240 7" "b 7 250"; do rm -f /tmp/k; mknod /tmp/k $n && echo "$n: $(head -c0 /tmp/k 2>&1 | sed "s/.*: //")"; done
		if [ -t 0 ]; then echo x >"$(tty)" && echo tty ok; fi'
	run -0 e run --rm "$REF" "$id" sh -c "$script"
	echo "$output"
	[ "$output" = "1
null ok
1
c 240 7: Operation not permitted
b 7 250: Operation not permitted" ]
	run -0 e run --rm -t "$REF" "$id" sh -c "$script"
	[[ "$output" == *"tty ok"* ]]
	run -0 e run --rm --privileged "$REF" "$id" sh -c "$script"
	[[ "$output" == *"c 240 7: No such device or address"* ]]
	[[ "$output" != *"Operation not permitted"* ]]
	assert_gone "$id"
	# v1: a devices cgroup of its own while it runs (the list, not "a
	# *:* rwm"), gone with it.
	[ -d /sys/fs/cgroup/devices ] || return 0
	run -0 e run -d "$REF" "$id" sleep 30
	local cg; cg=$(task_cgroup "$id" devices)
	[ "$(head -1 "$cg/devices.list")" = "c *:* m" ]
	grep -qxF "c 1:3 rwm" "$cg/devices.list"
	[ -n "$(cat "$cg/cgroup.procs")" ]
	kill_remove "$id"
	[ ! -e "$cg" ]
}

@test "run: mounts, masked paths, a read-only rootfs and bind mounts (ro and rw)" {
	bb_up
	local id; id=$(ct d)
	mkdir -p "$T/data"
	echo host >"$T/data/file"
	run -0 e run --rm --mount "type=bind,src=$T/data,dst=/data" "$REF" "$id" \
		sh -c 'cat /data/file; echo written >/data/new'
	[ "$output" = host ]
	[ "$(cat "$T/data/new")" = written ]
	run -1 e run --rm --mount "type=bind,src=$T/data,dst=/data,options=rbind:ro" "$REF" "$id" \
		sh -c 'echo x >/data/other'
	[[ "$output" == *"Read-only file system"* ]]
	[ ! -e "$T/data/other" ]
	run -1 e run --rm --read-only "$REF" "$id" touch /newfile
	[[ "$output" == *"Read-only file system"* ]]
	run -0 e run --rm --mount type=tmpfs,dst=/scratch "$REF" "$id" sh -c 'echo ok >/scratch/f && cat /scratch/f'
	[ "$output" = ok ]
	# /proc, /dev, /sys as a container expects; masked and read-only paths.
	run -0 e run --rm "$REF" "$id" sh -c 'ls /dev; cat /proc/keys | wc -c; grep " /sys " /proc/self/mountinfo | grep -c " /sys ro,"'
	for n in null zero full random urandom tty ptmx pts shm mqueue fd stdin stdout stderr; do
		[[ " ${lines[*]} " == *" $n "* ]]
	done
	[ "${lines[-2]}" = 0 ]
	[ "${lines[-1]}" = 1 ]
	# Its own network namespace, loopback up; --net-host shares the host's.
	run -0 e run --rm "$REF" "$id" cat /proc/net/dev
	[ "$(grep -c : <<<"$output")" -eq 1 ]
	[[ "$output" == *"lo:"* ]]
	run -0 e run --rm "$REF" "$id" sh -c 'grep -c "" /sys/class/net/lo/operstate; cat /sys/class/net/lo/flags'
	[ $(( ${lines[1]} & 1 )) -eq 1 ]
	run -0 e run --rm --net-host "$REF" "$id" cat /proc/net/dev
	[ "$(grep -c : <<<"$output")" -eq "$(grep -c : /proc/net/dev)" ]
	# pid 1 is ember init, in the container's own pid namespace: init,
	# sh, ls and grep are all there is.
	run -0 e run --rm "$REF" "$id" sh -c 'cat /proc/1/comm; ls /proc | grep -c "^[0-9]"'
	[ "${lines[0]}" = ember ]
	[ "${lines[1]}" -le 4 ]
	# None of the daemon's descriptors reach the container (ls's own
	# directory is the 4th); a host directory as stdin is refused.
	run -0 e run --rm "$REF" "$id" ls /proc/self/fd
	[ "$(echo $output)" = "0 1 2 3" ]
	run -125 e run --rm "$REF" "$id" true </
	[ "$output" = "ember: attach: a directory cannot be stdio" ]
	# The host's /etc stays unseen and untouched.
	run -0 e run --rm "$REF" "$id" cat /etc/passwd
	[ "${lines[0]}" = "root:x:0:0:root:/root:/bin/sh" ]
	[ "${#lines[@]}" -eq 2 ]
	assert_gone "$id"
}

@test "run: each failed step is one line naming it, exits as Docker's (125 ember, 126 cannot invoke, 127 not found), nothing is left behind" {
	bb_up
	local id; id=$(ct e)
	run -127 e run --rm "$REF" "$id" /bin/nope
	[ "$output" = 'ember: exec "/bin/nope": no such file or directory' ]
	assert_gone "$id"
	run -127 e run --rm "$REF" "$id" nope
	[ "$output" = 'ember: exec "nope": no such file or directory' ]
	assert_gone "$id"
	run -126 e run --rm "$REF" "$id" /etc/passwd
	[ "$output" = 'ember: exec "/etc/passwd": permission denied' ]
	assert_gone "$id"
	run -126 e run --rm "$REF" "$id" /etc
	[ "$output" = 'ember: exec "/etc": permission denied' ]
	assert_gone "$id"
	# --debug names the error: io.ember.ExecFailed with the real errno.
	run -127 e --debug run --rm "$REF" "$id" /bin/nope
	[[ "$output" == *"io.ember.ExecFailed, errno 2"* ]]
	assert_gone "$id"
	run -125 e run --rm --user nosuchuser "$REF" "$id" true
	[[ "$output" == 'ember: user "nosuchuser": not found in /etc/passwd'* ]]
	assert_gone "$id"
	run -125 e run --rm --mount "type=bind,src=$T/missing,dst=/x" "$REF" "$id" true
	[[ "$output" == "ember: bind mount \"/x\": source \"$T/missing\": no such file or directory" ]]
	assert_gone "$id"
	run -125 e run --rm --mount "type=bind,dst=/x" "$REF" "$id" true
	[[ "$output" == "ember: mount: "*"src"* ]]
	run -125 e run --rm --mount "type=bind,src=/tmp,dst=relative" "$REF" "$id" true
	[[ "$output" == *"dst"* ]]
	assert_gone "$id"
	run -125 e run --rm --cap-add NET_FOO "$REF" "$id" true
	[ "$output" = 'ember: cap-add: unknown capability "NET_FOO"' ]
	run -125 e run --rm "$REGISTRY_R_ADDR/test/nope:latest" "$id" true
	[[ "$output" == *"not found"* ]]
	assert_gone "$id"
	run -125 e run --rm --restart sometimes "$REF" "$id" true
	[[ "$output" == *'restart: "sometimes"'* ]]
	echo '{"ociVersion": "1.0.2", "process": {"args": []}}' >"$T/spec.json"
	run -125 e run --rm --spec "$T/spec.json" "$REF" "$id"
	[ "$output" = 'ember: spec: process.args: must be a non-empty array of strings' ]
	echo '{not json' >"$T/bad.json"
	run -125 e run --rm --spec "$T/bad.json" "$REF" "$id"
	[[ "$output" == "ember: spec $T/bad.json: "* ]]
	assert_gone "$id"
	# ember's own usage errors, and no daemon: 125 too; the application's
	# own statuses are its own (1, 2, 125, 126, 127 included).
	run -125 e run --no-such-flag "$REF" "$id" true
	run -125 e run
	run -125 "$EMBER" --address "$T/nowhere.sock" run --rm "$REF" "$id" true
	[[ "$output" == *"$T/nowhere.sock"* ]]
	local code
	for code in 1 2 125 126 127; do
		run -"$code" e run --rm "$REF" "$id" sh -c "exit $code"
	done
	assert_gone "$id"
	# A duplicate id: the first container stays as it was.
	run -0 e containers create "$REF" "$id" sleep 1
	run -1 e containers create "$REF" "$id" true
	[ "$output" = "ember: container $id already exists" ]
	run -0 e containers info "$id"
	[[ "$output" == *'"sleep"'* ]]
	run -0 e containers rm "$id"
	assert_gone "$id"
}

@test "containers: create, ls, info, label, rm; a container's snapshot is kept from GC and from rm" {
	bb_up
	local id; id=$(ct f)
	run -0 e containers create --label team=edge "$REF" "$id" echo hi
	run -0 e containers ls
	[[ "$output" == *"$id"*"$REF"* ]]
	run -0 e containers info --spec "$id"
	[ "$(jget 'j["process"]["args"]' <<<"$output")" = '["echo", "hi"]' ]
	[ "$(jget 'j["annotations"]["team"]' <<<"$output")" = edge ]
	run -0 e containers label "$id" team= site=lab
	[ "$output" = site=lab ]
	# The snapshot is the container's: GC and snapshots rm leave it.
	run -0 e snapshots ls -q
	[[ "$output" == *"$id"* ]]
	run -0 e content gc
	run -0 e snapshots ls -q
	[[ "$output" == *"$id"* ]]
	run -1 e snapshots rm "$id"
	[ "$output" = "ember: snapshot $id is container $id's rootfs: remove the container (ember containers rm $id)" ]
	# It runs, more than once (tasks start replaces a stopped task).
	run -0 e tasks start "$id"
	[ "$output" = hi ]
	run -0 e tasks start "$id"
	[ "$output" = hi ]
	run -0 e tasks ls
	[[ "$output" == *"$id"*stopped* ]]
	run -0 e containers rm "$id"
	assert_gone "$id"
	# --spec FILE: a spec brought by the user.
	e containers create "$REF" "$id" true
	e containers info --spec "$id" | "$PYTHON" -c '
import json, sys
s = json.load(sys.stdin)
s["process"]["args"] = ["sh", "-c", "echo from the spec $X"]
s["process"]["env"].append("X=42")
json.dump(s, open(sys.argv[1], "w"))' "$T/spec.json"
	e containers rm "$id"
	run -0 e run --rm --spec "$T/spec.json" "$REF" "$id"
	[ "$output" = "from the spec 42" ]
	assert_gone "$id"
}

@test "run --rootfs: a plain directory as the root file system" {
	daemon_up
	local id; id=$(ct g)
	mkdir -p "$T/rootfs/bin"
	cp /bin/busybox "$T/rootfs/bin/"
	ln -s busybox "$T/rootfs/bin/sh"
	run -0 e run --rm --rootfs "$T/rootfs" "$id" /bin/sh -c 'echo rootfs; exit 0'
	[ "$output" = rootfs ]
	run -125 e run --rm --rootfs relative "$id" /bin/sh
	[[ "$output" == *"rootfs"*"absolute"* ]]
	assert_gone "$id"
}

@test "run: the default seccomp profile blocks what Docker's does; --privileged and a profile opt out" {
	bb_up
	local id; id=$(ct sc)
	# A filter is loaded by default, none with --privileged.
	run -0 e run --rm "$REF" "$id" grep Seccomp: /proc/self/status
	[ "$output" = "Seccomp:	2" ]
	run -0 e run --rm --privileged "$REF" "$id" grep Seccomp: /proc/self/status
	[ "$output" = "Seccomp:	0" ]
	# unshare(CLONE_NEWUSER) needs no capability: only seccomp stops it
	# (and, in a chroot, the kernel itself: nothing to tell apart there).
	if ! in_chroot; then
		run -1 e run --rm "$REF" "$id" unshare -U true
		[[ "$output" == *"Operation not permitted"* ]]
		run -0 e run --rm --privileged "$REF" "$id" unshare -U true
	fi
	# A profile of the user's: allow everything but mkdir.
	cat >"$T/profile.json" <<-'JSON'
	{"defaultAction": "SCMP_ACT_ALLOW",
	 "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}]}
	JSON
	in_chroot || run -0 e run --rm --seccomp-profile "$T/profile.json" "$REF" "$id" unshare -U true
	run -1 e run --rm --seccomp-profile "$T/profile.json" "$REF" "$id" mkdir /tmp/x
	[[ "$output" == *"Operation not permitted"* ]]
	echo '{"defaultAction": "SCMP_ACT_SOMETIMES"}' >"$T/bad.json"
	run -125 e run --rm --seccomp-profile "$T/bad.json" "$REF" "$id" true
	[[ "$output" == "ember: "*"defaultAction"*"SCMP_ACT_SOMETIMES"* ]]
	assert_gone "$id"
}

@test "run: the larger 5-layer image, with whiteouts and opaque directories, as the container sees it; writes stay in its snapshot" {
	big8() { image_big "$1" 8; }
	image_on big8 big
	daemon_up
	run -0 e pull --plain-http "$REF"
	local id; id=$(ct big)
	run -0 e run --rm "$REF" "$id" sh -c 'cat /etc/motd; ls /data/opaque; test ! -e /data/victim && test ! -e /data/victim-dir && echo gone; ls /data/many | wc -l; cat /data/many/hardlink-to-f0000.txt | head -1'
	[ "${lines[0]}" = "big image, layer 5" ]
	[ "${lines[1]}" = new ]
	[ "${lines[2]}" = gone ]
	[ "${lines[3]}" -ge 50 ]
	[ "${lines[4]}" = "file 0" ]
	# A write goes to the container's own snapshot, not to the image's layers.
	run -0 e run "$REF" "$id" sh -c 'echo changed >/etc/motd'
	run -0 e tasks delete "$id"
	run -0 e containers rm "$id"
	run -0 e run --rm "$REF" "$id" cat /etc/motd
	[ "$output" = "big image, layer 5" ]
	assert_gone "$id"
}

@test "run: a daemon inside a chroot (/ not a mount point) still runs containers, without CAP_SYS_CHROOT for them" {
	file -L "$EMBER" | grep -q 'statically linked' || skip "needs the static ember to run inside a bare chroot"
	in_chroot && skip "the whole suite runs in a chroot here already"
	local c=$T/chroot
	mkdir -p "$c/bin" "$c/proc" "$c/sys" "$c/dev" "$c/tmp" "$c/run" "$c/rootfs/bin"
	cp /bin/busybox "$c/bin/"
	cp /bin/busybox "$c/rootfs/bin/"
	for a in sh sleep grep chroot true test; do
		ln -s busybox "$c/bin/$a"
		ln -s busybox "$c/rootfs/bin/$a"
	done
	cp "$EMBER" "$c/bin/ember"
	: >"$c/rootfs/marker-of-the-rootfs"
	cat >"$c/test.sh" <<-'EOF2'
	#!/bin/sh
	ember daemon --config /dev/null --root /tmp/r --state /run/s --address /run/s.sock >/tmp/d.log 2>&1 &
	d=$!
	i=0; while [ ! -S /run/s.sock ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i+1)); done
	ember --address /run/s.sock run --rm --rootfs /rootfs c1 sh -c 'echo inside; grep CapEff /proc/self/status; chroot / true 2>/dev/null; echo "chroot=$?"'
	echo "rc=$?"
	# An exec lands in the task's root, not in the namespace's (the chroot's) one.
	ember --address /run/s.sock run -d --rootfs /rootfs c2 sleep 30
	ember --address /run/s.sock tasks exec c2 sh -c 'test -e /marker-of-the-rootfs && echo "in the task" || echo "elsewhere"'
	ember --address /run/s.sock tasks kill -s KILL c2
	ember --address /run/s.sock tasks wait c2 >/dev/null
	ember --address /run/s.sock tasks delete c2
	ember --address /run/s.sock containers rm c2
	kill $d
	wait $d
	EOF2
	chmod +x "$c/test.sh"
	run -0 unshare -m --propagation private sh -c \
		'mount -t proc proc "$1/proc" && mount --rbind /sys "$1/sys" && mount --rbind /dev "$1/dev" &&
		 mount -t tmpfs t "$1/tmp" && mount -t tmpfs t "$1/run" && exec chroot "$1" /test.sh' sh "$c"
	[ "${lines[0]}" = inside ]
	# Docker's set without CAP_SYS_CHROOT (bit 18).
	[ "${lines[1]}" = "CapEff:	00000000a80025fb" ]
	[ "${lines[2]}" = "chroot=1" ]
	[ "${lines[3]}" = "rc=0" ]
	[ "${lines[4]}" = "in the task" ]
}
