#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# ember under systemd, as a distribution runs it: a qemu guest (TCG) boots
# Debian's kernel into a minimal Debian 12 root whose init is systemd
# (board/qemu/debian-root.sh: debootstrap from apt's mirror, cached), with
# cgroup v2 only. ember is installed into that root the way an integrator
# does it (`make install prefix=/usr INIT=systemd DESTDIR=root`, `systemctl
# --root enable ember`), the busybox image is in the preload directory, and
# tests/guest/systemd runs as a unit and checks from inside: Type=notify
# readiness, the preload, a container's cgroup v2 and memory.max, its
# device cgroup (eBPF), the
# container kept and adopted across restart, stop + start, a SIGKILL of
# the daemon (Restart=on-failure) and a daemon-reload, then a reboot after
# which the --restart always container is back, and a clean poweroff.
# x86_64 only (a foreign root needs debootstrap's second stage under
# qemu-user). Tagged slow (two emulated Debian boots, ~2.5 min; the first
# run also bootstraps the root, ~1.5 min): make check-qemu runs it, make
# check does not.
# bats file_tags=slow

bats_require_minimum_version 1.5.0
load helpers
load lib/debian-guest

setup_file() {
	local dir=$BATS_FILE_TMPDIR root=$BATS_FILE_TMPDIR/root
	debian_guest_skip_file systemd || return 0
	debian_guest_root systemd "$root"
	# The in-guest test as a unit.
	install -m 0644 "$BATS_TEST_DIRNAME/../guest/ember-guest.service" "$root/etc/systemd/system/ember-guest.service"
	systemctl --root="$root" enable ember.service ember-guest.service >"$dir/enable.log" 2>&1
	# No getty (without udev its tty device unit never appears) and no
	# first-boot questions on the console.
	debian_guest_boot "$root" systemd.getty_auto=0 systemd.firstboot=0
}

setup() {
	debian_guest_setup
}

@test "guest: systemd: Debian 12 boots, runs its test, reboots once and powers off by itself (qemu exits 0 in time)" {
	debian_guest_ran
	# systemd stopped the service at the reboot and at the poweroff.
	[ "$(console | grep -c 'Stopped ember.service')" -ge 2 ]
}

@test "guest: systemd: the unit reaches Type=notify readiness; cgroup v2 is the only hierarchy; the image is preloaded" {
	guest_ok "systemd is PID 1"
	guest_ok "cgroup v2 only: one cgroup mount, the unified one"
	guest_ok "the unit is active (Type=notify: READY=1 reached systemd)"
	guest_ok "its main process is the daemon"
	guest_ok "the daemon answers"
	guest_ok "the daemon runs in the service's cgroup"
	guest_ok "the image shipped in /usr/share/ember/images is preloaded at start-up"
}

@test "guest: systemd: a container's --memory-limit is memory.max in its cgroup v2, ember's own beside the service's" {
	guest_ok "a --restart always container with --memory-limit 48m starts"
	guest_ok "the container's cgroup is ember's own, at the hierarchy's root"
	guest_ok "memory.max is set in it"
	guest_ok "a container sees its own memory.max at /sys/fs/cgroup"
	guest_ok "tasks exec into the container sees its memory.max (cgroup2 with nsdelegate)"
	guest_ok "the service's cgroup holds the daemon alone"
}

@test "guest: systemd: the device cgroup on cgroup v2 (an eBPF program) allows a container the standard nodes and denies others" {
	guest_ok "the device cgroup (eBPF, cgroup v2): a container writes /dev/null and reads /dev/zero"
	guest_ok "... makes nodes, but a block and a char device not in its list do not open (EPERM)"
}

@test "guest: systemd: restart, stop + start, a killed daemon (Restart=on-failure) and a daemon-reload leave the container running, adopted" {
	guest_ok "systemctl restart ember"
	guest_ok "the unit is active again"
	console | grep -q '^GUEST ok a new daemon runs (pid [0-9]*, then [0-9]*)$'
	local when
	for when in "after systemctl restart" "after stop and start" "after the daemon was killed"; do
		console | grep -q "^GUEST ok the container still runs (pid [0-9]*) $when\$"
		guest_ok "the daemon adopted it: tasks ls shows it running with that pid $when"
	done
	guest_ok "systemctl stop ember"
	guest_ok "the unit is inactive"
	guest_ok "the container outlives the stopped service"
	guest_ok "the service's cgroup is gone with the daemon (nothing of the container was in it)"
	guest_ok "systemctl start ember"
	guest_ok "after a SIGKILL of the daemon systemd starts it again (Restart=on-failure)"
	guest_ok "... and counts it"
	guest_ok "systemctl daemon-reload"
	guest_ok "after a daemon-reload the container is still in its cgroup"
	guest_ok "... with its memory.max"
	guest_ok "the system is running (no failed unit)"
}

@test "guest: systemd: after a reboot the unit starts and the --restart always container is back" {
	guest_ok "after the reboot the unit is active"
	guest_ok "the --restart always container is running again after the reboot"
	guest_ok "in its cgroup again"
	guest_ok "with its memory.max"
	guest_ok "the container is removed"
}
