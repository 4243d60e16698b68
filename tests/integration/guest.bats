#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# ember on a device: a qemu guest (board/qemu/guest.sh, TCG) boots Debian's
# kernel with cgroup v2 only and BusyBox init, whose rcS starts ember with
# board/common/S60ember; tests/guest/run checks limits, the freezer,
# metrics, user namespaces, a bridge network, a service restart and a reboot from inside and
# prints its results on the console, which these tests read. A second
# guest with 96 MiB runs ten containers: Debian's generic kernel does not
# boot in less (its decompressor fails at 64 and 72 MiB, and at 80 MiB it
# runs out of memory before init); a board's own kernel is far smaller. GUEST_ARCH=aarch64 (with
# EMBER_BIN an aarch64 ember) boots the arm64 guest: make check-qemu.

bats_require_minimum_version 1.5.0
load helpers
load lib/image

GUEST_ARCH=${GUEST_ARCH:-x86_64}
QEMU_TIMEOUT=${QEMU_TIMEOUT:-900}

guest_busybox() {
	if [ "$GUEST_ARCH" = "$(uname -m)" ]; then
		echo /bin/busybox
	else
		echo "$("$BATS_TEST_DIRNAME/../../board/qemu/deb.sh" busybox arm64)/bin/busybox"
	fi
}

# guest_boot NAME MEM_MB [SRC=DEST...]: build and boot a guest; its console
# is $BATS_FILE_TMPDIR/NAME.log, qemu's status NAME.status.
guest_boot() {
	local name=$1 mem=$2 dir=$BATS_FILE_TMPDIR
	shift 2
	local board=$BATS_TEST_DIRNAME/../../board
	"$board/qemu/guest.sh" initramfs "$GUEST_ARCH" "$EMBER" "$(guest_busybox)" "$dir/$name.cpio.gz" \
		"$BATS_TEST_DIRNAME/../guest/run=/guest/run" "$BATS_TEST_DIRNAME/../guest/lib.sh=/guest/lib.sh" \
		"$board/common/S60ember=/etc/init.d/S60ember" \
		"$dir/busybox.tar=/usr/share/ember/images/busybox.tar" "$@"
	"$board/qemu/guest.sh" disk "$dir/$name.img" 256
	local rc=0
	"$board/qemu/guest.sh" boot "$GUEST_ARCH" "$dir/$name.cpio.gz" "$dir/$name.img" "$mem" "$QEMU_TIMEOUT" \
		"$dir/$name.log" || rc=$?
	echo "$rc" >"$dir/$name.status"
}

setup_file() {
	local dir=$BATS_FILE_TMPDIR
	[ -x "$EMBER" ] || return 0
	file -L "$EMBER" | grep -q 'statically linked' || return 0
	# The image shipped in the firmware: busybox as a named OCI archive.
	image_busybox_for "$dir/bb" "$(guest_busybox)" "$GUEST_ARCH" >/dev/null
	image_archive "$dir/bb" docker.io/library/busybox:latest "$dir/busybox.tar"
	guest_boot main 128
	echo small >"$dir/mode"
	echo overlay >"$dir/skip-modules"
	guest_boot small 96 "$dir/mode=/guest/mode" "$dir/skip-modules=/guest/skip-modules"
}

setup() {
	setup_dirs
	file -L "$EMBER" | grep -q 'statically linked' || skip "the guest needs a static ember ($EMBER is not)"
}

# guest_ok NAME DESC: the guest NAME printed "GUEST ok DESC".
guest_ok() {
	local log=$BATS_FILE_TMPDIR/$1.log
	if ! grep -qxF "GUEST ok $2" <(tr -d '\r' <"$log"); then
		echo "the guest did not print \"GUEST ok $2\"; its GUEST lines:"
		tr -d '\r' <"$log" | grep '^GUEST' | tail -n 40
		return 1
	fi
}

@test "guest: boots, runs its tests, and powers off by itself (qemu exits 0 in time)" {
	echo "console: $(tr -d '\r' <"$BATS_FILE_TMPDIR/main.log" | grep -v '^\[' | tail -n 30)"
	[ "$(cat "$BATS_FILE_TMPDIR/main.status")" = 0 ]
	tr -d '\r' <"$BATS_FILE_TMPDIR/main.log" | grep -qx 'GUEST powering off'
	# The service was stopped at shutdown (rcK), after the reboot too.
	[ "$(tr -d '\r' <"$BATS_FILE_TMPDIR/main.log" | grep -c '^ember stopped')" -ge 2 ]
	# Nothing failed in the guest.
	run ! grep -a '^GUEST not ok' "$BATS_FILE_TMPDIR/main.log"
}

@test "guest: the init script starts the daemon; cgroup v2 is the only hierarchy" {
	guest_ok main "the init script started the daemon, which answers"
	guest_ok main "cgroup v2 only: one cgroup mount, the unified one"
}

@test "guest: the image shipped in the firmware is preloaded at start-up and runs" {
	guest_ok main "the image shipped in /usr/share/ember/images is preloaded at start-up"
	guest_ok main "the first container prints"
}

@test "guest: --memory-limit: memory.max seen from inside; beyond it, the OOM killer, reported" {
	guest_ok main "a container reads its own memory.max at /sys/fs/cgroup"
	guest_ok main "an allocation beyond --memory-limit is OOM-killed (exit 137)"
	guest_ok main "tasks ls reports the OOM"
}

@test "guest: --pids-limit stops a fork loop" {
	guest_ok main "--pids-limit stops a fork loop"
}

@test "guest: --cpus sets cpu.max and the task is throttled" {
	guest_ok main "a busy container with --cpus 0.5 starts"
	guest_ok main "--cpus 0.5 sets cpu.max"
	grep -aq "^GUEST ok the busy container is throttled (cpu.stat nr_throttled [1-9]" "$BATS_FILE_TMPDIR/main.log"
}

@test "guest: tasks exec where cgroup2 has nsdelegate (systemd mounts it so)" {
	guest_ok main "tasks exec into the task sees its cpu.max (cgroup2 with nsdelegate)"
}

@test "guest: pause and resume through the v2 freezer; metrics from v2" {
	guest_ok main "tasks pause"
	guest_ok main "the cgroup is frozen (cgroup.events)"
	guest_ok main "tasks resume"
	guest_ok main "the cgroup is thawed"
	guest_ok main "tasks metrics gives v2 figures"
	guest_ok main "tasks metrics (table)"
}

@test "guest: run --uidmap" {
	guest_ok main "run --uidmap: root inside is uid 100000 outside"
}

@test "guest: a bridge network: a published port, reached over the bridge and from the guest; again after the service restarts" {
	guest_ok main "a container on the default bridge network with a published port starts"
	grep -aq "^GUEST ok its eth0 has an address of the default subnet (10\.213\.0\.[0-9]*)" "$BATS_FILE_TMPDIR/main.log"
	guest_ok main "another container on the bridge reaches it"
	guest_ok main "the published port answers the guest on the bridge's address (DNAT)"
	guest_ok main "after the restart the published port answers again"
}

@test "guest: restarting the service leaves the container running" {
	guest_ok main "a --restart always container starts"
	guest_ok main "the service restarts"
	guest_ok main "the daemon answers after the restart"
	grep -aq "^GUEST ok the container survived the service's restart (pid [0-9]" "$BATS_FILE_TMPDIR/main.log"
}

@test "guest: after a reboot with nothing on /sys/fs/cgroup, the daemon mounts cgroup v2 and the --restart always container is back" {
	guest_ok main "the daemon answers after the reboot"
	guest_ok main "the daemon mounted cgroup v2 where nothing was"
	guest_ok main "... and it is the only cgroup mount"
	guest_ok main "the --restart always container is running again after the reboot"
	guest_ok main "limits work under the daemon's own mount"
}

@test "guest: 96 MiB of RAM, booted without overlayfs: run names CONFIG_OVERLAY_FS; with it loaded, ten containers run" {
	echo "console: $(tr -d '\r' <"$BATS_FILE_TMPDIR/small.log" | grep '^GUEST' | tail -n 20)"
	[ "$(cat "$BATS_FILE_TMPDIR/small.status")" = 0 ]
	guest_ok small "the init script started the daemon, which answers"
	guest_ok small "the image shipped in /usr/share/ember/images is preloaded at start-up"
	guest_ok small "without overlayfs, run says which kernel option is missing"
	guest_ok small "ten sleep containers run"
}
