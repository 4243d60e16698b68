#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# A Debian package for a guest, extracted from its .deb (never installed):
#   board/qemu/deb.sh kernel|busybox amd64|arm64
# prints the directory it is extracted in. kernel: the package
# linux-image-ARCH depends on (boot/vmlinuz-*, boot/config-*,
# lib/modules/*); busybox: busybox-static (bin/busybox). Cached under
# $EMBER_CACHE (default ~/.cache/ember), keyed by package name and version.
# arm64 packages need `dpkg --add-architecture arm64` and an apt update,
# which this does once.
set -euo pipefail

what=${1:?usage: deb.sh kernel|busybox amd64|arm64}
arch=${2:?usage: deb.sh kernel|busybox amd64|arm64}
case $arch in amd64 | arm64) ;; *) echo "deb.sh: amd64 or arm64, not \"$arch\"" >&2; exit 2 ;; esac
cache=${EMBER_CACHE:-${XDG_CACHE_HOME:-${HOME:?}/.cache}/ember}/deb
export LC_ALL=C

if [ "$arch" != "$(dpkg --print-architecture)" ] &&
	! dpkg --print-foreign-architectures | grep -qx "$arch"; then
	echo "deb.sh: adding the $arch architecture to dpkg (apt-get update)" >&2
	dpkg --add-architecture "$arch"
	apt-get update -q >/dev/null
fi
case $what in
kernel)
	# linux-image-amd64 depends on the versioned package, e.g. linux-image-6.1.0-57-amd64.
	pkg=$(apt-cache depends "linux-image-$arch:$arch" 2>/dev/null |
		sed -n 's/^ *Depends: \(linux-image-[0-9][^:]*\).*/\1/p' | head -1)
	[ -n "$pkg" ] || { echo "deb.sh: apt knows no linux-image-$arch (apt-get update?)" >&2; exit 1; } ;;
busybox) pkg=busybox-static ;;
*) echo "deb.sh: kernel or busybox, not \"$what\"" >&2; exit 2 ;;
esac
ver=$(apt-cache policy "$pkg:$arch" | sed -n 's/^ *Candidate: //p')
[ -n "$ver" ] && [ "$ver" != "(none)" ] || { echo "deb.sh: apt has no $pkg:$arch" >&2; exit 1; }
dir=$cache/$pkg-$arch-$ver
if [ ! -e "$dir/.complete" ]; then
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' EXIT
	(cd "$tmp" && apt-get download -q -o APT::Sandbox::User=root "$pkg:$arch=$ver" >/dev/null)
	rm -rf "$dir"
	mkdir -p "$dir"
	dpkg-deb -x "$tmp"/*.deb "$dir"
	touch "$dir/.complete"
fi
echo "$dir"
