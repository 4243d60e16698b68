#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Checkpoint and restore of a process with 64 MiB of written memory,
# `ember oci` against runc, in the one place where Debian's criu 3.17.1
# dumps: the Debian 12 qemu guest of tests/integration/guest-checkpoint.bats
# (kernel 6.1; hosts on 6.13 or later fail criu's vDSO check). One boot;
# tests/guest/checkpoint-bench runs in it as a unit, the two runtimes
# taking turns on one bundle (tests/guest/hog.c, built static here), and
# prints its figures on the console. TCG emulates the CPU: absolute times
# are the emulator's, only ember / runc of the same boot means anything.
#   tests/bench/checkpoint.sh path/to/ember (static, with CONFIG_CHECKPOINT)
#   BENCH_ROUNDS (3): rounds in the guest
# Not part of tests/bench/run.sh (one emulated boot: minutes).
set -euo pipefail
cd "$(dirname "$0")/../.."

EMBER=$(realpath "${1:?usage: checkpoint.sh path/to/ember}")
ROUNDS=${BENCH_ROUNDS:-3}
T=$(mktemp -d /tmp/ember-bench-ck.XXXXXX)
trap 'rm -rf "$T"' EXIT
export EMBER BATS_FILE_TMPDIR=$T
# shellcheck source=../integration/lib/debian-guest.bash
source tests/integration/lib/debian-guest.bash
PKGS=(criu iproute2 runc)

[[ " $("$EMBER" version | sed -n 's/^features: //p') " == *" checkpoint "* ]] ||
	{ echo "bench: $EMBER has no checkpoint/restore (CONFIG_CHECKPOINT)" >&2; exit 1; }
why=$(debian_guest_cannot_run systemd "${PKGS[@]}")
[ -z "$why" ] || { echo "bench: the guest cannot run here: $why" >&2; exit 1; }
root=$T/root
debian_guest_root systemd "$root" "${PKGS[@]}"
install -m 0755 tests/guest/checkpoint-bench "$root/guest/checkpoint-bench"
sed 's|^ExecStart=.*|ExecStart=/guest/checkpoint-bench|' tests/guest/ember-guest.service \
	>"$root/etc/systemd/system/ember-guest.service"
systemctl --root="$root" enable ember-guest.service >"$T/enable.log" 2>&1
# The bundle: the hog alone, its root writable (it writes /tmp/ready and
# /tmp/check there), no terminal, and no network namespace: CRIU locks a
# dumped network namespace with iptables by default (not in this root)
# and runc 1.1.5 can only ask for nftables through /etc/criu/runc.conf, on
# which criu 3.17.1 crashes (a segfault in swrk, seen here); with the
# host's network neither runtime needs a lock. ember oci spec's config
# otherwise, as guest-checkpoint.bats runs it.
b=$root/guest/bundle
mkdir -p "$b/rootfs/tmp" "$b/rootfs/proc" "$b/rootfs/dev" "$b/rootfs/sys"
cc -static -O2 -Wall -Werror -o "$b/rootfs/hog" tests/guest/hog.c
"$EMBER" oci spec --bundle "$b"
/usr/bin/python3 - "$b/config.json" <<'EOF'
import json, sys
c = json.load(open(sys.argv[1]))
c["process"].update({"terminal": False, "args": ["/hog", "64", "/tmp/ready", "/tmp/check"]})
c["root"]["readonly"] = False
c["linux"]["namespaces"] = [n for n in c["linux"]["namespaces"] if n["type"] != "network"]
json.dump(c, open(sys.argv[1], "w"), indent=1)
EOF
# What CRIU needs, loaded by the initramfs (the root has no modules), as
# guest-checkpoint.bats loads them.
GUEST_MODULES="unix_diag inet_diag tcp_diag udp_diag raw_diag netlink_diag af_packet_diag tun veth nf_tables nf_conntrack_netlink" \
	debian_guest_boot "$root" systemd.getty_auto=0 systemd.firstboot=0 "ckbench.rounds=$ROUNDS"

console | grep -a '^GUEST' >"$T/guest.txt" || true
if [ "$(cat "$T/status")" != 0 ] || grep -q '^GUEST not ok' "$T/guest.txt" || ! grep -q '^GUEST # bench:' "$T/guest.txt"; then
	echo "bench: the guest's run failed (qemu: $(cat "$T/status")); its GUEST lines:" >&2
	tail -n 60 "$T/guest.txt" >&2
	exit 1
fi

# fig RUNTIME KEY: the median of KEY over the rounds; range RUNTIME KEY.
vals() { sed -n "s/^GUEST # bench: $1 [0-9]*.* $2=\([0-9]*\).*/\1/p" "$T/guest.txt"; }
# shellcheck disable=SC2046 # numbers
fig() { median $(vals "$1" "$2"); }
range() { vals "$1" "$2" | sort -n | awk 'NR == 1 {a = $1} {b = $1} END {print a "–" b}'; }
median() { printf '%s\n' "$@" | sort -n | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.2f", a/b}'; }

echo "## Checkpoint and restore of a 64 MiB process: \`ember oci\` against runc (Debian 12 guest under TCG, median of $ROUNDS)"
echo
sed -n 's/^GUEST # \(kernel\|criu\|runc\|memory\): /\1: /p' "$T/guest.txt" | paste -sd';' | sed 's/;/; /g'
echo
echo "| step (\`--image-path\` on the guest's ext4 disk) | ember oci ms | runc ms | ember / runc |"
echo "|---|---:|---:|---:|"
for k in checkpoint restore; do
	e=$(fig ember "${k}_ms") r=$(fig runc "${k}_ms")
	echo "| \`$k\` | $e ($(range ember "${k}_ms")) | $r ($(range runc "${k}_ms")) | $(ratio "$e" "$r") |"
done
echo "| the hog's RSS before, KiB | $(fig ember rss_kib) | $(fig runc rss_kib) | |"
echo "| … after the restore, KiB | $(fig ember restored_rss_kib) | $(fig runc restored_rss_kib) | |"
echo "| the image, KiB (\`du -sk\`) | $(fig ember image_kib) | $(fig runc image_kib) | |"
echo
echo "Rounds, in the order run:"
echo
sed -n 's/^GUEST # bench: \(.*\)/    \1/p' "$T/guest.txt"
echo
echo "Every round's restored hog found its 64 MiB intact ($(grep -c '^GUEST ok .*memory intact' "$T/guest.txt") checks)."
echo "Guest times: $(cat "$T/times")."
