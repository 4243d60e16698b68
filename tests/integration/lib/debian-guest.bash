# SPDX-License-Identifier: Apache-2.0
# A qemu guest (TCG, x86_64) that boots Debian's kernel into a minimal
# Debian 12 root whose init is a real init system (board/qemu/debian-root.sh,
# cached), with ember installed as an integrator does it; shared by
# guest-systemd.bats and guest-openrc.bats. In setup_file:
#
#   debian_guest_skip_file INIT [PKG...]
#                                     whether this guest can run here: if
#                                     not, why, in $BATS_FILE_TMPDIR/skip
#                                     (non-zero: setup_file returns)
#   debian_guest_root INIT ROOT [PKG...]
#                                     a copy of the cached root (with Debian's
#                                     PKGs too: debian-root.sh) in ROOT with
#                                     `make install prefix=/usr INIT=INIT`
#                                     from $EMBER's build, the busybox image in
#                                     /usr/share/ember/images, tests/guest/lib.sh
#                                     and tests/guest/INIT in /guest
#   debian_guest_boot ROOT [APPEND...]
#                                     ROOT on a disk (ROOT is removed), then
#                                     boots until the guest powers off or
#                                     QEMU_TIMEOUT passes
#
# setup() calls debian_guest_setup (skips when setup_file said why); the
# tests read console (the console log without CRs), debian_guest_ran and
# guest_ok DESC.
# Files in $BATS_FILE_TMPDIR: skip (why not), status (qemu's), times,
# install-differs, console.log.

# shellcheck source=image.bash
. "$(dirname "${BASH_SOURCE[0]}")/image.bash"

GUEST_ARCH=${GUEST_ARCH:-x86_64}
QEMU_TIMEOUT=${QEMU_TIMEOUT:-900}
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)

# Why the guest cannot be run here, if it cannot; nothing when it can.
debian_guest_cannot_run() {
	local init=$1 url
	shift
	file -L "$EMBER" 2>/dev/null | grep -q 'statically linked' ||
		{ echo "the guest needs a static ember ($EMBER is not)"; return; }
	[ "$GUEST_ARCH" = x86_64 ] ||
		{ echo "the $init guest is x86_64 only (a root for $GUEST_ARCH needs debootstrap's second stage under qemu-user)"; return; }
	command -v qemu-system-x86_64 >/dev/null || { echo "qemu-system-x86_64 is missing (board/deps.sh integration)"; return; }
	command -v debootstrap >/dev/null || { echo "debootstrap is missing (board/deps.sh integration)"; return; }
	[ "$(id -u)" = 0 ] || { echo "debootstrap needs root"; return; }
	url=$("$REPO/board/qemu/debian-root.sh" mirror)
	# Cached already, or the mirror answers.
	"$REPO/board/qemu/debian-root.sh" cached "$init" amd64 "$@" >/dev/null 2>&1 ||
		curl -fsS -o /dev/null --max-time 20 "$url/dists/bookworm/Release" 2>/dev/null ||
		echo "the Debian mirror $url cannot be reached (and no root is cached)"
}

debian_guest_skip_file() {
	local why
	why=$(debian_guest_cannot_run "$@")
	[ -n "$why" ] || return 0
	echo "$why" >"$BATS_FILE_TMPDIR/skip"
	return 1
}

debian_guest_setup() {
	setup_dirs
	[ ! -e "$BATS_FILE_TMPDIR/skip" ] || skip "$(cat "$BATS_FILE_TMPDIR/skip")"
}

debian_guest_root() {
	local init=$1 root=$2 dir=$BATS_FILE_TMPDIR o t0 t1
	shift 2
	t0=$(date +%s.%N)
	"$REPO/board/qemu/debian-root.sh" "$init" amd64 "$@" >"$dir/cached-root"
	t1=$(date +%s.%N)
	awk -v a="$t0" -v b="$t1" 'BEGIN { printf "debian root %.1f s (cached or debootstrap)", b - a }' >"$dir/times"
	# A copy to install into; the cached root stays as debootstrap left it.
	mkdir "$root"
	cp -a "$(cat "$dir/cached-root")/." "$root/"
	# ember as an integrator installs it, from the build $EMBER is in.
	o=$(dirname "$(readlink -f "$EMBER")")
	[ -f "$o/.config" ] || o=$REPO/build
	# Relative to the tree, as make check builds it: the build's flags hold
	# O (-I$(O)/include), and an absolute O would rebuild everything.
	o=${o#"$REPO"/}
	nice make -C "$REPO" -s O="$o" install prefix=/usr INIT="$init" DESTDIR="$root" >"$dir/install.log" 2>&1
	cmp "$root/usr/bin/ember" "$EMBER" >/dev/null || {
		echo "make install (O=$o) installed another binary than $EMBER" >"$dir/install-differs"
		install -m 0755 "$EMBER" "$root/usr/bin/ember"
	}
	# The image shipped in the firmware, and the in-guest test.
	image_busybox_for "$dir/bb" /bin/busybox x86_64 >/dev/null
	mkdir -p "$root/usr/share/ember/images" "$root/guest"
	image_archive "$dir/bb" docker.io/library/busybox:latest "$root/usr/share/ember/images/busybox.tar"
	install -m 0755 "$REPO/tests/guest/$init" "$root/guest/$init"
	install -m 0644 "$REPO/tests/guest/lib.sh" "$root/guest/lib.sh"
}

debian_guest_boot() {
	local root=$1 dir=$BATS_FILE_TMPDIR rc=0 t2 t3
	shift
	"$REPO/board/qemu/guest.sh" rootinitramfs x86_64 /bin/busybox "$dir/initrd.gz"
	"$REPO/board/qemu/guest.sh" disk "$dir/disk.img" 1024 "$root"
	rm -rf "$root"
	t2=$(date +%s.%N)
	"$REPO/board/qemu/guest.sh" boot x86_64 "$dir/initrd.gz" "$dir/disk.img" 256 "$QEMU_TIMEOUT" \
		"$dir/console.log" "$@" || rc=$?
	t3=$(date +%s.%N)
	rm -f "$dir/disk.img" "$dir/initrd.gz"
	echo "$rc" >"$dir/status"
	awk -v c="$t2" -v d="$t3" 'BEGIN { printf ", guest (two boots) %.1f s\n", d - c }' >>"$dir/times"
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

# debian_guest_ran: qemu exited 0 in time, the guest rebooted once and
# powered off by itself, and printed no "GUEST not ok" line.
debian_guest_ran() {
	cat "$BATS_FILE_TMPDIR/times"
	[ ! -e "$BATS_FILE_TMPDIR/install-differs" ] || cat "$BATS_FILE_TMPDIR/install-differs"
	echo "console: $(console | grep -v '^\[' | tail -n 40)"
	[ "$(cat "$BATS_FILE_TMPDIR/status")" = 0 ]
	[ "$(console | grep -cx 'GUEST rebooting')" = 1 ]
	console | grep -qx 'GUEST powering off'
	console | grep -q 'reboot: Power down'
	run ! grep -a '^GUEST not ok' "$BATS_FILE_TMPDIR/console.log"
}
