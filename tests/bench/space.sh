#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# The cost of `ember system df` and of a [gc] policy pass over ~100 images
# (10 repositories x 10 tags, busybox plus 64 KiB of their own each, one
# namespace; 5 containers): the daemon's model of the store is built from
# the files every time, so these grow with the store. ember alone: neither
# ctr nor containerd 1.6 has an image removal policy or a df.
#   tests/bench/space.sh path/to/ember [REPOS] [TAGS]
set -euo pipefail
cd "$(dirname "$0")/../.."
EMBER=$(realpath "${1:?usage: space.sh path/to/ember [REPOS] [TAGS]}")
REPOS=${2:-10}
TAGS=${3:-10}
T=$(mktemp -d /var/tmp/ember-bench-space.XXXXXX)
EPID=
cleanup() {
	[ -z "$EPID" ] || { kill "$EPID" 2>/dev/null || true; wait "$EPID" 2>/dev/null || true; }
	mountpoint -q "$T/state" && umount "$T/state"
	rm -rf "$T"
}
trap cleanup EXIT

E=("$EMBER" -a "$T/ember.sock")
: >"$T/config.toml"
mkdir -p "$T/state"
mount -t tmpfs -o mode=0711 tmpfs "$T/state"
"$EMBER" daemon --config "$T/config.toml" --root "$T/root" --state "$T/state" --address "$T/ember.sock" \
	2>"$T/ember.log" &
EPID=$!
for _ in $(seq 1 100); do "${E[@]}" info >/dev/null 2>&1 && break; sleep 0.05; done

# ms COMMAND...: its wall time in milliseconds.
ms() {
	local t0 t1
	t0=$(date +%s%N)
	"$@" >/dev/null
	t1=$(date +%s%N)
	echo $(((t1 - t0) / 1000000))
}
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

for r in $(seq 1 "$REPOS"); do
	for t in $(seq 1 "$TAGS"); do
		d=$T/img/r$r-v$t
		python3 tests/integration/lib/mkimage.py sized "$d" "bench/app$r:v$t" 64 "v$t" >/dev/null
		tar -C "$d" -cf "$d.tar" .
		"${E[@]}" images import --base-name "bench.example/app$r" "$d.tar" >/dev/null
		rm -rf "$d" "$d.tar"
	done
done
for c in $(seq 1 5); do
	"${E[@]}" containers create "bench.example/app$c:v1" "c$c" >/dev/null
done
n=$("${E[@]}" images ls -q | wc -l)
blobs=$("${E[@]}" content ls -q | wc -l)
snaps=$("${E[@]}" snapshots ls -q | wc -l)

df=$(for _ in 1 2 3 4 5; do ms "${E[@]}" system df; done | median)
# The policy: keep 5 per repository (half of them go).
printf '[gc]\nkeep = 5\nmin_age = 0\ninterval = 3600\n' >"$T/config.toml"
kill -HUP "$EPID"
sleep 0.5
dry=$(for _ in 1 2 3 4 5; do ms "${E[@]}" content gc --dry-run; done | median)
would=$("${E[@]}" --json content gc --dry-run | python3 -c 'import json,sys; print(json.load(sys.stdin)["removed_images"])')
pass=$(ms "${E[@]}" content gc)
left=$("${E[@]}" images ls -q | wc -l)
df2=$(for _ in 1 2 3 4 5; do ms "${E[@]}" system df; done | median)
nogc=$(for _ in 1 2 3 4 5; do ms "${E[@]}" content gc --no-policy; done | median)

echo "| store | images | blobs | snapshots | system df | gc --dry-run | policy pass | gc, nothing to do |"
echo "|---|---|---|---|---|---|---|---|"
echo "| before | $n | $blobs | $snaps | $df ms | $dry ms ($would would go) | $pass ms ($((n - left)) went) | |"
echo "| after | $left | $("${E[@]}" content ls -q | wc -l) | $("${E[@]}" snapshots ls -q | wc -l) | $df2 ms | | | $nogc ms |"
for c in $(seq 1 5); do "${E[@]}" containers rm "c$c" >/dev/null; done
