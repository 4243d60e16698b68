#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# ember under OpenRC, as a distribution runs it: a qemu guest (TCG) boots
# Debian's kernel into a minimal Debian 12 root whose init is sysvinit's
# with OpenRC 0.45 as its rc (board/qemu/debian-root.sh openrc: debootstrap
# from apt's mirror, cached; rc.conf's rc_cgroup_mode="unified", so cgroup
# v2 alone). ember is installed into that root the way an integrator does
# it (`make install prefix=/usr INIT=openrc DESTDIR=root`, the link in
# /etc/runlevels/default that `rc-update add ember default` makes), the
# busybox image is in the preload directory, rc.conf says
# rc_cgroup_cleanup="YES" (the script's "NO" must win), and
# tests/guest/openrc runs from inittab once OpenRC's default runlevel is
# up and checks from inside: openrc-run starts the script (depend(), status
# codes), the preload, a container's cgroup v2 and memory.max seen from
# inside and through tasks exec, the container kept and adopted across
# `rc-service ember restart` and `stop` + `start`, where the daemon's
# cgroup is, then a reboot after which the --restart always container is
# back, and a clean poweroff. x86_64 only. Tagged slow (two emulated
# Debian boots, ~2 min; the first run also bootstraps the root, ~2 min):
# make check-qemu runs it, make check does not.
# bats file_tags=slow

bats_require_minimum_version 1.5.0
load helpers
load lib/debian-guest

setup_file() {
	local root=$BATS_FILE_TMPDIR/root
	debian_guest_skip_file openrc || return 0
	debian_guest_root openrc "$root"
	# rc-update add ember default
	ln -s /etc/init.d/ember "$root/etc/runlevels/default/ember"
	echo 'rc_cgroup_cleanup="YES"' >>"$root/etc/rc.conf"
	# The in-guest test, after `rc 2` (a wait entry) is done.
	echo "eg:2:once:/guest/openrc" >>"$root/etc/inittab"
	debian_guest_boot "$root"
}

setup() {
	debian_guest_setup
}

@test "guest: openrc: Debian 12 boots, runs its test, reboots once and powers off by itself (qemu exits 0 in time)" {
	debian_guest_ran
	# OpenRC started the service at both boots and stopped it at the
	# reboot and at the poweroff (ebegin's lines, then the script's).
	[ "$(console | grep -c 'Starting ember')" -ge 2 ]
	[ "$(console | grep -c 'Stopping ember')" -ge 2 ]
}

@test "guest: openrc: openrc-run starts the service at boot; status says so; cgroup v2 is the only hierarchy; the image is preloaded" {
	guest_ok "sysvinit's init is PID 1"
	guest_ok "OpenRC ran the boot: the default runlevel"
	guest_ok "cgroup v2 only: one cgroup mount, the unified one"
	guest_ok "OpenRC's cgroups service mounted it (rc_cgroup_mode=\"unified\": nsdelegate)"
	guest_ok "OpenRC has the service started at boot"
	guest_ok "rc-service ember status exits 0 at boot"
	guest_ok "the pidfile's process is the daemon at boot"
	guest_ok "the daemon answers at boot"
	guest_ok "the image shipped in /usr/share/ember/images is preloaded at start-up"
}

@test "guest: openrc: a container's --memory-limit is memory.max in its cgroup v2; the daemon is outside ember's tree" {
	guest_ok "a --restart always container with --memory-limit 48m starts"
	guest_ok "the container's cgroup is ember's own, at the hierarchy's root"
	guest_ok "memory.max is set in it"
	guest_ok "a container sees its own memory.max at /sys/fs/cgroup"
	guest_ok "tasks exec into the container sees its memory.max (cgroup2 with nsdelegate)"
	local when
	for when in "at boot" "after restart" "after stop and start" "after the reboot"; do
		guest_ok "the daemon runs in the root cgroup, outside ember's tree $when"
		guest_ok "no process is in /sys/fs/cgroup/ember itself $when"
	done
}

@test "guest: openrc: rc-service ember restart, stop + start and reload leave the container running, adopted" {
	guest_ok "rc-service ember restart"
	local when
	for when in "after restart" "after stop and start"; do
		guest_ok "OpenRC has the service started $when"
		guest_ok "rc-service ember status exits 0 $when"
		guest_ok "the pidfile's process is the daemon $when"
		guest_ok "the daemon answers $when"
	done
	console | grep -q '^GUEST ok a new daemon runs (pid [0-9]*, then [0-9]*)$'
	for when in "after rc-service ember restart" "after stop and start"; do
		console | grep -q "^GUEST ok the container still runs (pid [0-9]*) $when\$"
		guest_ok "the daemon adopted it: tasks ls shows it running with that pid $when"
	done
	guest_ok "rc-service ember stop"
	guest_ok "OpenRC has the service stopped"
	guest_ok "rc-service ember status exits 3 (not running)"
	guest_ok "the daemon is gone"
	guest_ok "the container outlives the stopped service (the script's rc_cgroup_cleanup=NO beats rc.conf's YES)"
	guest_ok "rc-service ember start"
	guest_ok "... still in its cgroup with its memory.max"
	guest_ok "reload (SIGHUP) leaves the daemon running"
	guest_ok "no service failed"
}

@test "guest: openrc: after a reboot the service starts and the --restart always container is back" {
	guest_ok "OpenRC has the service started after the reboot"
	guest_ok "rc-service ember status exits 0 after the reboot"
	guest_ok "the daemon answers after the reboot"
	guest_ok "the --restart always container is running again after the reboot"
	guest_ok "in its cgroup again"
	guest_ok "with its memory.max"
	guest_ok "the container is removed"
}
