#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# ember on a small device: the qemu guest of tests/integration/guest.bats
# ("small" mode: start-up from the init script, the preloaded busybox, ten
# `sleep` containers) booted with less and less RAM, 8 MiB at a time from
# 128 MiB down, until it no longer runs them; prints the smallest that
# worked and the figures the guest printed there (daemon RSS and PSS idle
# and with ten containers, free memory).
#   guest-ram.sh path/to/ember [x86_64|aarch64]   (ember built for that machine)
set -euo pipefail
cd "$(dirname "$0")/../.."

EMBER=$(realpath "${1:?usage: guest-ram.sh path/to/ember [x86_64|aarch64]}")
ARCH=${2:-x86_64}
T=$(mktemp -d /tmp/ember-bench-guest.XXXXXX)
trap 'rm -rf "$T"' EXIT
# shellcheck source=lib.sh
source tests/bench/lib.sh
bench_infra

busybox=/bin/busybox
[ "$ARCH" = "$(uname -m)" ] || busybox=$(board/qemu/deb.sh busybox arm64)/bin/busybox
image_busybox_for "$T/bb" "$busybox" "$ARCH" >/dev/null
image_archive "$T/bb" docker.io/library/busybox:latest "$T/busybox.tar"
echo small >"$T/mode"
board/qemu/guest.sh initramfs "$ARCH" "$EMBER" "$busybox" "$T/initrd.gz" tests/guest/run=/guest/run \
	tests/guest/lib.sh=/guest/lib.sh \
	board/common/S60ember=/etc/init.d/S60ember "$T/busybox.tar=/usr/share/ember/images/busybox.tar" \
	"$T/mode=/guest/mode"

best= figures=
for mem in $(seq 128 -8 48); do
	board/qemu/guest.sh disk "$T/disk.img" 256 >/dev/null
	rc=0
	board/qemu/guest.sh boot "$ARCH" "$T/initrd.gz" "$T/disk.img" "$mem" 300 "$T/console.log" 2>/dev/null || rc=$?
	if [ "$rc" = 0 ] && tr -d '\r' <"$T/console.log" | grep -qx 'GUEST ok ten sleep containers run'; then
		best=$mem
		figures=$(tr -d '\r' <"$T/console.log" | grep '^GUEST # figure' | sed 's/^GUEST # figure: /  /')
		echo "$mem MiB: ten containers run"
	else
		echo "$mem MiB: no (qemu status $rc; $(tr -d '\r' <"$T/console.log" | grep -m1 -E 'Kernel panic|Out of memory|GUEST not ok' || echo 'no line from the guest'))"
		break
	fi
done
echo "smallest RAM that runs ten containers ($ARCH guest, Debian's kernel): ${best:-none} MiB"
[ -z "$figures" ] || printf 'there:\n%s\n' "$figures"
