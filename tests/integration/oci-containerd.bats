#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# ember as containerd's runc: Debian's containerd 1.6 and its runc shim
# (io.containerd.runc.v2) drive `ember oci` through a link named runc
# (`ctr run --runc-binary`): run attached, run detached, exec into it,
# kill, delete; the same commands with Debian's runc give the same
# answers. containerd runs in a mount namespace of its own with a tmpfs on
# /run (it writes /run/containerd whatever its flags say), and ctr joins
# it, with its root (the FIFOs of a task's stdio are made by ctr, opened
# by the shim; under a chroot a bare setns would leave ctr outside it).
# runc, the reference, runs only where it can pivot (not in a chroot whose
# / is no mount point: lib/oci.bash's runc_here); ember runs everywhere.

bats_require_minimum_version 1.5.0
load helpers
load lib/image
load lib/unpack
load lib/tasks

setup() {
	setup_dirs
	[ "$(id -u)" = 0 ] || skip "containerd needs root"
	command -v containerd >/dev/null && command -v ctr >/dev/null || skip "containerd and ctr are not installed"
	[[ " $("$EMBER" version | sed -n 's/^features: //p') " == *" oci "* ]] || skip "this ember has no CONFIG_OCI"
	file -L "$EMBER" | grep -q 'statically linked' || skip "the shim runs ember in containers' namespaces: it must be static"
	ID=bt$$
	mkdir -p "$T/bin" "$T/ctd"
	ln -s "$EMBER" "$T/bin/runc"
	printf 'version = 2\ndisabled_plugins = ["io.containerd.grpc.v1.cri"]\n[plugins."io.containerd.internal.v1.opt"]\n  path = "%s"\n' \
		"$T/ctd/opt" >"$T/ctd/config.toml"
	# (--propagation private fails where / is no mount point, as in a
	# chroot: the mount that holds /run is made private instead, in this
	# namespace only, so the tmpfs never reaches the host.)
	unshare --mount --propagation unchanged sh -c \
		'mount --make-rprivate "$(findmnt -n -o TARGET -T /run)" && mount -t tmpfs tmpfs /run &&
		exec containerd --config "$1/config.toml" --root "$1/root" --state "$1/state" --address "$1/c.sock"' \
		sh "$T/ctd" >"$T/ctd.log" 2>&1 3>&- &
	CTD_PID=$!
	wait_until 60 c version || { cat "$T/ctd.log" >&2; false; }
	image_busybox "$T/bb"
	tar -C "$T/bb" -cf "$T/bb.tar" .
	run -0 c images import --base-name example.com/bb "$T/bb.tar"
	IMG=example.com/bb:latest
	RUNTIMES=(ember)
	if ! in_chroot; then RUNTIMES=(runc ember); fi
}

teardown() {
	local p c
	# Nothing was started before setup named the test's directory and ids
	# (and empty ones would match others' processes and cgroups).
	[ -n "${ID:-}" ] && [ -n "${T:-}" ] || return 0
	# The shims (one per task) and containerd, by the pids of this test's.
	for p in $(grep -lsF "$T/ctd" /proc/[0-9]*/cmdline | cut -d/ -f3); do
		[ "$p" = "$CTD_PID" ] || kill -9 "$p" 2>/dev/null || true
	done
	[ -z "${CTD_PID:-}" ] || { kill -9 "$CTD_PID" 2>/dev/null; wait "$CTD_PID" 2>/dev/null || true; }
	unmount_under "$T"
	# containerd's cgroups: /default/ID under each hierarchy (v1 here).
	for c in /sys/fs/cgroup/*/default/"$ID"* /sys/fs/cgroup/default/"$ID"*; do
		[ -d "$c" ] || continue
		for p in $(cat "$c/cgroup.procs" 2>/dev/null); do kill -9 "$p" 2>/dev/null || true; done
		wait_until 5 rmdir "$c" 2>/dev/null || true
	done
	for c in /sys/fs/cgroup/*/default /sys/fs/cgroup/default; do
		[ ! -d "$c" ] || rmdir "$c" 2>/dev/null || true
	done
}

# ctr in containerd's mount namespace.
c() {
	nsenter -t "$CTD_PID" -m -r ctr --address "$T/ctd/c.sock" -n default "$@"
}

# with RUNTIME ARGS...: `ctr ARGS` with runc (RUNTIME "runc") or ember as it.
with() {
	local rt=$1 cmd=$2
	shift 2
	if [ "$rt" = ember ]; then
		c "$cmd" --runc-binary "$T/bin/runc" "$@"
	else
		c "$cmd" "$@"
	fi
}

@test "oci containerd: ctr run --runc-binary ember: the output and the exit code, as with runc" {
	local rt out=()
	for rt in "${RUNTIMES[@]}"; do
		run -0 with "$rt" run --rm "$IMG" "$ID-$rt-a" sh -c 'echo hello; id -u; hostname; ls /'
		echo "$output"
		[ "${lines[0]}" = hello ]
		out+=("$output")
		run -3 with "$rt" run --rm "$IMG" "$ID-$rt-b" sh -c 'exit 3'
		run -0 with "$rt" run --rm "$IMG" "$ID-$rt-c" cat /proc/self/cgroup
		grep -q ":/default/$ID-$rt-c$" <<<"$output"
	done
	[ "${#out[@]}" = 1 ] || [ "${out[0]}" = "${out[1]}" ]
	run -0 c containers ls -q
	[ -z "$output" ]
	# ember's state for containerd's namespace went with each container.
	run -0 nsenter -t "$CTD_PID" -m -r find /run/containerd/runc/default -mindepth 1
	[ -z "$output" ]
}

@test "oci containerd: detached, exec into it, kill, delete: ember as runc answers as runc does" {
	local rt
	for rt in "${RUNTIMES[@]}"; do
		local id=$ID-$rt-d
		run -0 with "$rt" run -d "$IMG" "$id" sleep 1000
		run -0 c task ls
		grep -Eq "^$id +[0-9]+ +RUNNING$" <<<"$output"
		# The exec joins the task: it sees the task's sleep as PID 1.
		run -0 c task exec --exec-id e1 "$id" sh -c 'echo in; tr "\0" " " </proc/1/cmdline'
		[ "$output" = "$(printf 'in\nsleep 1000 ')" ]
		run -7 c task exec --exec-id e2 "$id" sh -c 'exit 7'
		run -0 c task ps "$id"
		[ "${#lines[@]}" -ge 2 ]
		run -0 c task pause "$id"
		run -0 c task ls
		grep -Eq "^$id +[0-9]+ +PAUSED$" <<<"$output"
		run -0 c task resume "$id"
		run -0 c task kill -s SIGKILL "$id"
		wait_until 10 sh -c "nsenter -t $CTD_PID -m -r ctr --address $T/ctd/c.sock -n default task ls | grep -Eq '^$id +[0-9]+ +STOPPED$'"
		run -0 c task rm "$id"
		run -0 c containers rm "$id"
	done
	run -0 nsenter -t "$CTD_PID" -m -r find /run/containerd/runc/default -mindepth 1
	[ -z "$output" ]
}
