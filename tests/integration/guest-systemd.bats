#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# ember under systemd, as a distribution runs it: a qemu guest (TCG) boots
# Debian's kernel into a minimal Debian 12 root whose init is systemd
# (board/qemu/debian-root.sh: debootstrap from apt's mirror, cached), with
# cgroup v2 only. ember is installed into that root the way an integrator
# does it (`make install prefix=/usr INIT=systemd DESTDIR=root`, `systemctl
# --root enable ember`), the busybox image is in the preload directory, and
# tests/guest/systemd runs as a unit and checks from inside: Type=notify
# readiness, the preload, a container's cgroup v2 and memory.max, the
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
load lib/image

GUEST_ARCH=${GUEST_ARCH:-x86_64}
QEMU_TIMEOUT=${QEMU_TIMEOUT:-900}
REPO=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)

# Why this guest cannot be run here, if it cannot; nothing when it can.
cannot_run() {
	[ "$GUEST_ARCH" = x86_64 ] ||
		{ echo "the systemd guest is x86_64 only (a root for $GUEST_ARCH needs debootstrap's second stage under qemu-user)"; return; }
	command -v qemu-system-x86_64 >/dev/null || { echo "qemu-system-x86_64 is missing (board/deps.sh integration)"; return; }
	command -v debootstrap >/dev/null || { echo "debootstrap is missing (board/deps.sh integration)"; return; }
	[ "$(id -u)" = 0 ] || { echo "debootstrap needs root"; return; }
	local url
	url=$("$REPO/board/qemu/debian-root.sh" mirror)
	# Cached already, or the mirror answers.
	"$REPO/board/qemu/debian-root.sh" cached systemd >/dev/null 2>&1 ||
		curl -fsS -o /dev/null --max-time 20 "$url/dists/bookworm/Release" 2>/dev/null ||
		echo "the Debian mirror $url cannot be reached (and no root is cached)"
}

setup_file() {
	local dir=$BATS_FILE_TMPDIR why
	[ -x "$EMBER" ] || return 0
	file -L "$EMBER" | grep -q 'statically linked' || return 0
	why=$(cannot_run)
	if [ -n "$why" ]; then
		echo "$why" >"$dir/skip"
		return 0
	fi
	local t0 t1 root=$dir/root o
	t0=$(date +%s.%N)
	"$REPO/board/qemu/debian-root.sh" systemd >"$dir/cached-root"
	t1=$(date +%s.%N)
	# A copy to install into; the cached root stays as debootstrap left it.
	mkdir "$root"
	cp -a "$(cat "$dir/cached-root")/." "$root/"
	# ember as an integrator installs it, from the build $EMBER is in.
	o=$(dirname "$(readlink -f "$EMBER")")
	[ -f "$o/.config" ] || o=$REPO/build
	# Relative to the tree, as make check builds it: the build's flags hold
	# O (-I$(O)/include), and an absolute O would rebuild everything.
	o=${o#"$REPO"/}
	nice make -C "$REPO" -s O="$o" install prefix=/usr INIT=systemd DESTDIR="$root" >"$dir/install.log" 2>&1
	cmp "$root/usr/bin/ember" "$EMBER" >/dev/null || {
		echo "make install (O=$o) installed another binary than $EMBER" >"$dir/install-differs"
		install -m 0755 "$EMBER" "$root/usr/bin/ember"
	}
	# The image shipped in the firmware, and the in-guest test as a unit.
	image_busybox_for "$dir/bb" /bin/busybox x86_64 >/dev/null
	mkdir -p "$root/usr/share/ember/images" "$root/guest"
	image_archive "$dir/bb" docker.io/library/busybox:latest "$root/usr/share/ember/images/busybox.tar"
	install -m 0755 "$BATS_TEST_DIRNAME/../guest/systemd" "$root/guest/systemd"
	install -m 0644 "$BATS_TEST_DIRNAME/../guest/lib.sh" "$root/guest/lib.sh"
	install -m 0644 "$BATS_TEST_DIRNAME/../guest/ember-guest.service" "$root/etc/systemd/system/ember-guest.service"
	systemctl --root="$root" enable ember.service ember-guest.service >"$dir/enable.log" 2>&1
	"$REPO/board/qemu/guest.sh" rootinitramfs x86_64 /bin/busybox "$dir/initrd.gz"
	"$REPO/board/qemu/guest.sh" disk "$dir/disk.img" 1024 "$root"
	rm -rf "$root"
	local rc=0 t2 t3
	t2=$(date +%s.%N)
	# No getty (without udev its tty device unit never appears) and no
	# first-boot questions on the console.
	"$REPO/board/qemu/guest.sh" boot x86_64 "$dir/initrd.gz" "$dir/disk.img" 256 "$QEMU_TIMEOUT" \
		"$dir/console.log" systemd.getty_auto=0 systemd.firstboot=0 || rc=$?
	t3=$(date +%s.%N)
	echo "$rc" >"$dir/status"
	awk -v a="$t0" -v b="$t1" -v c="$t2" -v d="$t3" \
		'BEGIN { printf "debian root %.1f s (cached or debootstrap), guest (two boots) %.1f s\n", b - a, d - c }' >"$dir/times"
}

setup() {
	setup_dirs
	[ ! -e "$BATS_FILE_TMPDIR/skip" ] || skip "$(cat "$BATS_FILE_TMPDIR/skip")"
	file -L "$EMBER" | grep -q 'statically linked' || skip "the guest needs a static ember ($EMBER is not)"
}

console() {
	tr -d '\r' <"$BATS_FILE_TMPDIR/console.log"
}

# guest_ok DESC: the guest printed "GUEST ok DESC".
guest_ok() {
	if ! console | grep -qxF "GUEST ok $1"; then
		echo "the guest did not print \"GUEST ok $1\"; its GUEST lines:"
		console | grep '^GUEST' | tail -n 60
		return 1
	fi
}

@test "guest: systemd: Debian 12 boots, runs its test, reboots once and powers off by itself (qemu exits 0 in time)" {
	cat "$BATS_FILE_TMPDIR/times"
	[ ! -e "$BATS_FILE_TMPDIR/install-differs" ] || cat "$BATS_FILE_TMPDIR/install-differs"
	echo "console: $(console | grep -v '^\[' | tail -n 40)"
	[ "$(cat "$BATS_FILE_TMPDIR/status")" = 0 ]
	[ "$(console | grep -cx 'GUEST rebooting')" = 1 ]
	console | grep -qx 'GUEST powering off'
	console | grep -q 'reboot: Power down'
	# systemd stopped the service at the reboot and at the poweroff.
	[ "$(console | grep -c 'Stopped ember.service')" -ge 2 ]
	run ! grep -a '^GUEST not ok' "$BATS_FILE_TMPDIR/console.log"
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
