# SPDX-License-Identifier: Apache-2.0
# Shared by containers.bats and tasks.bats: a daemon with busybox pulled,
# unique container ids, and the checks that a container left nothing
# behind. Load after helpers, lib/image, lib/registry, lib/remote and
# lib/unpack.

require_runtime() {
	require_unpack
	[[ " $("$EMBER" version | sed -n 's/^features: //p') " == *" runtime "* ]] ||
		skip "this ember runs no containers"
}

# Ids unique to this test run, so cgroups never clash between tests.
CT_PREFIX=bt$$
ct() {
	echo "$CT_PREFIX$1"
}

# The PID 1 of every task this test's daemon recorded as not stopped.
task_pids() {
	local f
	for f in "$STATE"/tasks/*/*/task.json; do
		[ -f "$f" ] || continue
		"$PYTHON" -c 'import json,sys; j=json.load(open(sys.argv[1])); print(j["pid"]) if j["status"] != "stopped" else None' "$f"
	done
}

cgroups_cleanup() {
	local d c p
	# This test's containers' cgroups: what still runs there is killed (a
	# restart policy may have started it again after task_pids looked),
	# then each goes once the kernel has let its processes out.
	for d in /sys/fs/cgroup/*/ember/*/ /sys/fs/cgroup/ember/*/; do
		[ -d "$d" ] || continue
		for c in "$d$CT_PREFIX"*; do
			[ -d "$c" ] || continue
			for p in $(cat "$c/cgroup.procs" 2>/dev/null); do kill -9 "$p" 2>/dev/null || true; done
			wait_until 5 rmdir "$c" 2>/dev/null || true
		done
	done
	# The daemon's parents (ember/NAMESPACE, ember) too, once empty: rmdir
	# refuses a cgroup that still has children or processes.
	for d in /sys/fs/cgroup/*/ember/*/ /sys/fs/cgroup/ember/*/ /sys/fs/cgroup/*/ember/ /sys/fs/cgroup/ember/; do
		# (A refusal is no failure: under errexit a failed rmdir ending
		# an && list would be.)
		[ ! -d "$d" ] || rmdir "$d" 2>/dev/null || true
	done
	return 0
}

# Tasks outlive daemons: kill what this test started, then the usual.
tasks_teardown() {
	local p i
	local pids; pids=$(task_pids)
	for p in $pids; do kill -9 "$p" 2>/dev/null || true; done
	# A killed task leaves its cgroup only once it is gone.
	for p in $pids; do
		for i in $(seq 1 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.05; done
	done
	unmount_under "$T"
	remote_teardown
	unmount_under "$T"
	cgroups_cleanup
}

# busybox pulled (and unpacked) into a fresh daemon; sets REF.
bb_up() {
	image_on image_busybox bb
	daemon_up "$@"
	run -0 e pull --plain-http "$REF"
}

# task_cgroup ID CONTROLLER: the task's cgroup directory (v1 or v2).
task_cgroup() {
	if [ -d "/sys/fs/cgroup/$2/ember" ]; then
		echo "/sys/fs/cgroup/$2/ember/default/$1"
	else
		echo "/sys/fs/cgroup/ember/default/$1"
	fi
}

# assert_gone ID: no record, no task, no task state, no snapshot, no
# cgroup, no mount.
assert_gone() {
	local id=$1
	run -0 e containers ls -q
	run ! grep -qxF "$id" <<<"$output"
	run -0 e tasks ls -q
	run ! grep -qxF "$id" <<<"$output"
	[ ! -e "$STATE/tasks/default/$id" ]
	run -0 e snapshots ls -q
	run ! grep -qxF "$id" <<<"$output"
	run ! ls -d /sys/fs/cgroup/*/ember/default/"$id" /sys/fs/cgroup/ember/default/"$id"
	run ! grep -q "$STATE/tasks" /proc/self/mountinfo
}

# kill_remove ID: SIGKILL to a running task, its status read, the task and
# the container removed, and nothing of them left.
kill_remove() {
	run -0 e tasks kill -s KILL "$1"
	run -137 e tasks wait "$1"
	run -0 e tasks delete "$1"
	run -0 e containers rm "$1"
	assert_gone "$1"
}

# The daemon runs in a chroot (its / is not a mount point, as on
# fresh-machine.sh's Debian root): containers then lack CAP_SYS_CHROOT
# (bit 18), and the kernel lets no chrooted process make a user namespace.
in_chroot() {
	if mountpoint -q /; then return 1; fi
}

# Docker's default capability set, as the containers here get it.
default_capeff() {
	if in_chroot; then echo 00000000a80025fb; else echo 00000000a80425fb; fi
}

# wait_log ID TEXT: until the task's logs hold TEXT (at most 10 s).
wait_log() {
	wait_until 10 bash -c "'$EMBER' --address '$SOCK' logs '$1' | grep -qF -- '$2'"
}
