#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# A small qemu guest for ember's tests: Debian's kernel (board/qemu/deb.sh),
# an initramfs with Debian's static BusyBox as init, the static ember, the
# init script from board/common, and whatever files a test adds; a virtio
# disk (ext4) holds ember's store across reboots. cgroup v2 only: no v1
# hierarchy is mounted and the kernel is told cgroup_no_v1=all.
#
#   guest.sh initramfs ARCH EMBER BUSYBOX OUT [SRC=DEST ...]
#       ARCH x86_64|aarch64; EMBER and BUSYBOX static binaries for ARCH;
#       SRC=DEST copies host file SRC to DEST in the guest (mode kept).
#       GUEST_MODULES="btrfs ..." adds those modules (and what they need).
#   guest.sh rootinitramfs ARCH BUSYBOX OUT
#       for a guest whose root is the disk (a Debian root from
#       board/qemu/debian-root.sh): an initramfs that loads the modules
#       below, mounts /dev/vda read-write and switches to its /sbin/init.
#       The root has no modules: GUEST_MODULES are loaded here too (CRIU's
#       socket diag, tun, veth and nf_tables for guest-checkpoint.bats).
#   guest.sh disk FILE MB [DIR]
#       an ext4 file system, empty (for /var/lib/ember) or holding a copy
#       of DIR (mkfs.ext4 -d: owners, modes and links kept, no mount).
#   guest.sh boot ARCH INITRAMFS DISK MEM_MB TIMEOUT_S LOG [APPEND...]
#       boot under TCG (no KVM here) with the console on LOG; returns when
#       the guest powers off (0), or 124 when TIMEOUT_S passed (the guest
#       is killed: a stalled guest fails, it never hangs the caller).
#       GUEST_NET=user gives it a virtio NIC on qemu's user-mode network
#       (10.0.2.15/24; the host's 127.0.0.1 is 10.0.2.2 there; its
#       initramfs needs GUEST_MODULES=virtio_net), for a registry the test
#       starts on the host. GUEST_DISK2=FILE: a second disk, /dev/vdb.
#
# In the guest, /etc/init.d/rcS mounts the pseudo file systems and the disk,
# then runs every /etc/init.d/S??* start (as BusyBox's own rcS examples do);
# /etc/inittab then runs /guest/run if present, whose output goes to the
# console.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)

die() { echo "guest.sh: $*" >&2; exit 1; }

debarch() {
	case $1 in x86_64) echo amd64 ;; aarch64) echo arm64 ;; *) die "ARCH is x86_64 or aarch64, not \"$1\"" ;; esac
}

# The modules the guest loads (and, through modules.dep, what they need).
MODULES="virtio_pci virtio_blk virtio_mmio ext4 crc32c_generic overlay"
# ... and those it has for the kernel to load on first use (through
# modules.alias: rtnl-link-veth, nft-expr-masq, ...): bridge networks.
NET_MODULES="veth bridge nf_tables nft_chain_nat nft_nat nft_masq nft_ct nft_fib_inet"
# ... and those a test loads itself: device-mapper for the power-cut matrix
# (tests/guest/powercut); GUEST_MODULES adds more (its NIC, btrfs), only to
# the guests that ask: the 96 MiB guest of guest.bats has no RAM to spare.
TEST_MODULES="dm-mod dm-flakey ${GUEST_MODULES:-}"

initramfs() {
	local arch=$1 ember=$2 busybox=$3 out=$4
	shift 4
	local root a
	root=$(mktemp -d)
	trap 'rm -rf "$root"' RETURN
	mkdir -p "$root"/{etc/init.d,run,tmp,root,var/lib/ember,guest,usr/bin}
	busybox_tree "$root" "$busybox"
	for a in init poweroff reboot halt mdev; do ln -sf ../bin/busybox "$root/sbin/$a"; done
	# What the kernel runs from the initramfs. Containers need pivot_root,
	# which the initial root refuses: as initramfs-based devices that run
	# containers do, move everything to a tmpfs, then BusyBox init.
	cat >"$root/init" <<'EOF'
#!/bin/busybox sh
/bin/busybox mkdir -p /newroot
/bin/busybox mount -t tmpfs -o mode=0755 tmpfs /newroot
for d in bin sbin etc lib usr root var guest; do /bin/busybox cp -a "/$d" /newroot/; done
/bin/busybox mkdir -p /newroot/proc /newroot/sys /newroot/dev /newroot/run /newroot/tmp
exec /bin/busybox switch_root /newroot /sbin/init
EOF
	chmod 0755 "$root/init"
	install -m 0755 "$ember" "$root/usr/bin/ember"
	ln -s ember "$root/usr/bin/emberd"
	add_modules "$root" "$arch"
	# init: BusyBox's, with our inittab and rcS.
	cat >"$root/etc/inittab" <<'EOF'
::sysinit:/etc/init.d/rcS
::once:/guest/run
::ctrlaltdel:/sbin/reboot
::shutdown:/etc/init.d/rcK
EOF
	install -m 0755 "$here/rcS" "$root/etc/init.d/rcS"
	install -m 0755 "$here/rcK" "$root/etc/init.d/rcK"
	echo "root:x:0:0:root:/root:/bin/sh" >"$root/etc/passwd"
	echo "root:x:0:" >"$root/etc/group"
	local f
	for f in "$@"; do
		mkdir -p "$root/$(dirname "${f#*=}")"
		cp -a "${f%%=*}" "$root/${f#*=}"
	done
	pack "$root" "$out"
}

# busybox_tree ROOT BUSYBOX: /bin/busybox with a link per applet, modprobe
# and insmod in /sbin, and the directories an init mounts on.
busybox_tree() {
	local root=$1 busybox=$2 a
	mkdir -p "$root"/{bin,sbin,etc,proc,sys,dev,lib/modules}
	install -m 0755 "$busybox" "$root/bin/busybox"
	for a in $("$busybox" --list 2>/dev/null || busybox --list); do
		[ -e "$root/bin/$a" ] || ln -s busybox "$root/bin/$a"
	done
	for a in modprobe insmod; do ln -sf ../bin/busybox "$root/sbin/$a"; done
}

# add_modules ROOT ARCH: the kernel's modules in ROOT/lib/modules, only
# those in MODULES and their dependencies, with BusyBox's modules.dep.
add_modules() {
	local root=$1 kdir kver m dep
	kdir=$("$here/deb.sh" kernel "$(debarch "$2")")
	kver=$(basename "$(ls -d "$kdir"/lib/modules/*)")
	local src=$kdir/lib/modules/$kver dst=$root/lib/modules/$kver
	mkdir -p "$dst"
	cp "$src/modules.builtin" "$src/modules.order" "$dst/"
	local want=() seen=" "
	for m in $MODULES $NET_MODULES $TEST_MODULES; do
		while IFS= read -r dep; do
			case "$seen" in *" $dep "*) continue ;; esac
			seen+="$dep "
			want+=("$dep")
		done < <(module_closure "$src" "$m")
	done
	for m in "${want[@]}"; do
		mkdir -p "$dst/$(dirname "$m")"
		cp "$src/$m" "$dst/$m"
	done
	busybox depmod -b "$root" "$kver"
}

# pack ROOT OUT: ROOT as a gzipped newc cpio archive.
pack() {
	(cd "$1" && find . | LC_ALL=C sort | busybox cpio -o -H newc 2>/dev/null) | gzip -1 >"$2"
}

# The initramfs of a guest whose root is the disk: the modules (MODULES,
# GUEST_MODULES), then the disk's /sbin/init. They stay loaded (overlay
# too: the root has none).
rootinitramfs() {
	local arch=$1 busybox=$2 out=$3 root
	root=$(mktemp -d)
	trap 'rm -rf "$root"' RETURN
	busybox_tree "$root" "$busybox"
	add_modules "$root" "$arch"
	{
		echo '#!/bin/busybox sh'
		echo "modules=\"$MODULES ${GUEST_MODULES:-}\""
		cat <<'INIT'
export PATH=/bin:/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
for m in $modules; do modprobe "$m"; done
i=0
while [ ! -b /dev/vda ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
mkdir -p /newroot
# /sbin/init is often an absolute link (to /lib/systemd/systemd): -L.
if ! mount -t ext4 -o rw /dev/vda /newroot || ! [ -L /newroot/sbin/init -o -x /newroot/sbin/init ]; then
	echo "initramfs: no root with /sbin/init on /dev/vda" >/dev/console
	poweroff -f
fi
mount --move /dev /newroot/dev
umount /proc /sys
exec switch_root /newroot /sbin/init
INIT
	} >"$root/init"
	chmod 0755 "$root/init"
	pack "$root" "$out"
}

# module_closure SRC NAME: NAME's file and those it depends on (from modinfo).
module_closure() {
	local src=$1 name=$2 file d
	file=$(cd "$src" && find kernel -name "$name.ko" | head -1)
	[ -n "$file" ] || return 0 # built in
	echo "$file"
	# .modinfo holds NUL-terminated "key=value" strings, "depends=a,b" among them.
	for d in $(tr '\0' '\n' <"$src/$file" | sed -n 's/^depends=//p' | tr ',' ' '); do
		module_closure "$src" "$d"
	done
}

disk() {
	local file=$1 mb=$2 from=()
	[ -z "${3:-}" ] || from=(-d "$3")
	rm -f "$file"
	truncate -s "${mb}M" "$file"
	mkfs.ext4 -q -F -L ember "${from[@]}" "$file"
}

boot() {
	local arch=$1 initrd=$2 disk=$3 mem=$4 timeout_s=$5 log=$6
	shift 6
	local kdir kernel qemu console machine=() extra=()
	kdir=$("$here/deb.sh" kernel "$(debarch "$arch")")
	kernel=$(ls "$kdir"/boot/vmlinuz-* | head -1)
	case $arch in
	x86_64) qemu=qemu-system-x86_64 console=ttyS0 machine=(-M q35 -cpu max) ;;
	aarch64) qemu=qemu-system-aarch64 console=ttyAMA0 machine=(-M virt -cpu max) ;;
	*) die "unknown ARCH $arch" ;;
	esac
	command -v "$qemu" >/dev/null || die "$qemu is not installed (board/deps.sh qemu)"
	case ${GUEST_NET:-} in
	"") ;;
	user) extra=(-netdev "user,id=n0" -device "virtio-net-pci,netdev=n0,romfile=") ;;
	*) die "GUEST_NET is user or empty, not \"$GUEST_NET\"" ;;
	esac
	[ -z "${GUEST_DISK2:-}" ] ||
		extra+=(-drive "file=$GUEST_DISK2,if=none,id=d1,format=raw,cache=unsafe" -device "virtio-blk-pci,drive=d1")
	: >"$log"
	local rc=0
	timeout --kill-after=10 "$timeout_s" "$qemu" "${machine[@]}" -smp 2 -m "$mem" \
		-display none -monitor none -serial "file:$log" -no-user-config -nodefaults \
		-kernel "$kernel" -initrd "$initrd" \
		-drive "file=$disk,if=none,id=d0,format=raw,cache=unsafe" -device virtio-blk-pci,drive=d0 "${extra[@]}" \
		-append "console=$console panic=-1 cgroup_no_v1=all loglevel=4 $*" &
	local qpid=$!
	# A panic reboots the guest (panic=-1), which would loop until the
	# timeout: end it at the first one.
	while kill -0 "$qpid" 2>/dev/null; do
		if grep -q "Kernel panic" "$log"; then
			kill "$qpid" 2>/dev/null
			wait "$qpid" 2>/dev/null
			echo "guest.sh: the guest's kernel panicked (see $log)" >&2
			return 125
		fi
		sleep 0.5
	done
	wait "$qpid" || rc=$?
	return "$rc"
}

cmd=${1:-}
shift || true
case $cmd in
initramfs) [ $# -ge 4 ] || die "usage: guest.sh initramfs ARCH EMBER BUSYBOX OUT [SRC=DEST ...]"; initramfs "$@" ;;
rootinitramfs) [ $# -eq 3 ] || die "usage: guest.sh rootinitramfs ARCH BUSYBOX OUT"; rootinitramfs "$@" ;;
disk) [ $# -ge 2 ] && [ $# -le 3 ] || die "usage: guest.sh disk FILE MB [DIR]"; disk "$@" ;;
boot) [ $# -ge 6 ] || die "usage: guest.sh boot ARCH INITRAMFS DISK MEM_MB TIMEOUT_S LOG [APPEND...]"; boot "$@" ;;
*) die "usage: guest.sh initramfs|rootinitramfs|disk|boot ..." ;;
esac
