#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Install the Debian packages a task needs, only those missing.
#   board/deps.sh build|dev|fuzz|integration|check|cross|qemu|demo|bench ...
# Needs root to install; without root it prints the command to run.
set -euo pipefail
cd "$(dirname "$0")/.."

# The static sysroot's own needs live next to its script.
sysroot_pkgs() {
	sed -n "s/^$1: *//p" board/sysroot/host-packages.txt
}

group_pkgs() {
	case "$1" in
	build) echo make gcc libc6-dev python3 python3-kconfiglib pkg-config git "$(sysroot_pkgs x86_64)" ;;
	# libmnl-dev: the development build's netlink (CONFIG_LIBMNL=y).
	dev) echo gcc libc6-dev libjansson-dev libcmocka-dev libbearssl-dev libcurl4-openssl-dev libarchive-dev zlib1g-dev libzstd-dev libmnl-dev pkg-config python3 python3-kconfiglib ;;
	fuzz) echo clang libclang-rt-14-dev libjansson-dev libbearssl-dev libcurl4-openssl-dev libarchive-dev zlib1g-dev libzstd-dev pkg-config ;;
	# The registry tests: Debian's docker-registry, skopeo and umoci as
	# independent oracles, busybox-static for the test images, openssl for
	# certificates and token signatures, htpasswd (apache2-utils), curl,
	# zstd for the zstd layer, ss (iproute2) to see what listens where,
	# systemd for systemd-analyze verify of board/common/ember.service; the
	# x86_64 qemu guest (guest.bats): qemu, mkfs.ext4 for its disk;
	# debootstrap for the Debian root of the systemd guest (guest-systemd.bats);
	# netlink.bats: ip (iproute2) and nft (nftables) as oracles of what
	# ember's netlink code made, busybox's ping and nc for the traffic;
	# btrfs.bats (and the bench's btrfs figures): mkfs.btrfs and btrfs
	# (btrfs-progs) for a loop-mounted btrfs and what its subvolumes are;
	# oci.bats: runc, the reference ember oci is compared with;
	# oci-spec.bats: crun, the reference for the spec's fields runc 1.1
	# lacks (personality, domainname, idmapped mounts);
	# oci-containerd.bats: containerd (and its ctr), which drives ember
	# as its runc;
	# checkpoint.bats: criu, which ember drives for checkpoint/restore;
	# signatures.bats: python3-nacl for cosign's encrypted private keys
	# (lib/cosignkey.py, for a skopeo that can sign).
	integration) echo bats python3 python3-nacl util-linux procps file binutils \
		docker-registry skopeo umoci busybox-static openssl apache2-utils curl zstd gzip \
		iproute2 nftables systemd qemu-system-x86 e2fsprogs debootstrap btrfs-progs runc crun criu containerd ;;
	qemu) group_pkgs integration; echo qemu-system-arm ;;
	check) group_pkgs build; group_pkgs dev; group_pkgs fuzz; group_pkgs integration ;;
	cross) group_pkgs build; sysroot_pkgs aarch64 ;;
	demo) group_pkgs build; echo python3 file docker-registry skopeo busybox-static curl ;;
	# network.sh: ctr run --cni with Debian's CNI plugins (bridge,
	# host-local), whose ipMasq runs iptables; oci.sh: GNU time's peak
	# RSS of each runtime (/usr/bin/time).
	bench) group_pkgs build; group_pkgs integration; echo hyperfine containerd runc crun procps \
		containernetworking-plugins iptables time ;;
	*) echo "deps.sh: unknown group \"$1\" (build dev fuzz integration check cross qemu demo bench)" >&2
	   return 2 ;;
	esac
}

wanted=()
for group in "$@"; do
	list=$(group_pkgs "$group") || exit 2
	wanted+=($list)
done

missing=()
for p in $(printf '%s\n' "${wanted[@]}" | sort -u); do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		missing+=("$p")
	fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" != 0 ]; then
	echo "deps.sh: missing packages: ${missing[*]}" >&2
	echo "deps.sh: run as root: apt-get install ${missing[*]}" >&2
	exit 1
fi
echo "deps.sh: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
# docker-registry's package starts a system-wide registry on :5000 (all
# interfaces) where an init system lets it. Tests start their own on
# 127.0.0.1: where no policy-rc.d exists, one denies service starts for the
# length of the install.
if [ ! -e /usr/sbin/policy-rc.d ]; then
	printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
	chmod 755 /usr/sbin/policy-rc.d
	trap 'rm -f /usr/sbin/policy-rc.d' EXIT
fi
log=$(mktemp /tmp/ember-deps.XXXXXX)
# A fresh machine may have no package lists yet: update once if needed.
if ! apt-get install -y -q --no-install-recommends "${missing[@]}" >"$log" 2>&1; then
	if ! { apt-get update -q && apt-get install -y -q --no-install-recommends "${missing[@]}"; } >>"$log" 2>&1; then
		tail -20 "$log" >&2
		echo "deps.sh: apt-get install failed (log: $log)" >&2
		exit 1
	fi
fi
rm -f "$log"
