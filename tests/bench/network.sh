#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# What a bridge network adds to a container's start, in one run, as
# ratios: `ember run --rm --net bridge REF id true` against `--net none`
# (its own network namespace, loopback, hosts and hostname files) and no
# --net flag (loopback only, the image's files). The daemon runs in a
# network namespace of this run's own (emb-bench-PID): ember0, the veths
# and the nf_tables table never touch the host's. Not here yet: `ctr run
# --cni` with Debian's containernetworking-plugins, which reads
# /etc/cni/net.d and /opt/cni/bin (the host's).
# Part of tests/bench/run.sh; runs alone too:  network.sh path/to/ember
set -euo pipefail
cd "$(dirname "$0")/../.."

EMBER=$(realpath "${1:?usage: network.sh path/to/ember}")
T=$(mktemp -d /tmp/ember-bench-net.XXXXXX)
NS=emb-bench-$$
PIDS=()
# shellcheck source=lib.sh
source tests/bench/lib.sh
cleanup() {
	set +e
	local p
	for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
	[ -e "/run/netns/$NS" ] && ip netns del "$NS"
	bench_cgroups_cleanup n
	for m in $(grep -o "$T[^ ]*" /proc/mounts | sort -r); do umount -l "$m" 2>/dev/null; done
	rm -rf "$T"
}
trap cleanup EXIT

bench_infra
image_busybox "$T/bb" >/dev/null
tar -C "$T/bb" -cf "$T/bb.tar" .
ip netns add "$NS"
ip -n "$NS" link set lo up
: >"$T/empty.toml"
mkdir -p "$T/state"
mount -t tmpfs -o mode=0711 tmpfs "$T/state"
nsenter --net="/run/netns/$NS" "$EMBER" daemon --config "$T/empty.toml" --root "$T/root" --state "$T/state" \
	--address "$T/ember.sock" 2>"$T/ember.log" &
PIDS+=("$!")
E=("$EMBER" -a "$T/ember.sock")
bench_wait_api ember "${E[@]}" info
"${E[@]}" images import --base-name example.com/bb "$T/bb.tar" >/dev/null
REF=example.com/bb:latest
"${E[@]}" run --rm --net bridge "$REF" n0 true # the network and its bridge, once

runs=${BENCH_RUNS:-50}
# Alone on its network, a container's start writes the NAT table (the
# network's masquerade) and its delete removes it; with another container
# running there, neither does.
hyperfine -N --warmup 3 --runs "$runs" --style none --export-json "$T/alone.json" \
	"${E[*]} run --rm --net bridge $REF n1 true" >/dev/null 2>"$T/hyperfine.err" || { cat "$T/hyperfine.err" >&2; exit 1; }
"${E[@]}" run -d --net bridge "$REF" nkeep sleep 3600 >/dev/null
hyperfine -N --warmup 3 --runs "$runs" --style none --export-json "$T/net.json" \
	"${E[*]} run --rm --net bridge $REF n1 true" \
	"${E[*]} run --rm --net none $REF n2 true" \
	"${E[*]} run --rm $REF n3 true" >/dev/null 2>"$T/hyperfine.err" || { cat "$T/hyperfine.err" >&2; exit 1; }
"${E[@]}" tasks kill -s KILL nkeep >/dev/null
ms() {
	/usr/bin/python3 -c '
import json, statistics, sys
r = json.load(open(sys.argv[1]))["results"][int(sys.argv[2])]
print("%.2f" % (statistics.median(r["times"]) * 1000))' "$1" "$2"
}
b=$(ms "$T/net.json" 0) n=$(ms "$T/net.json" 1) d=$(ms "$T/net.json" 2) a=$(ms "$T/alone.json" 0)
echo "## What \`--net bridge\` adds to \`ember run --rm REF id true\` (medians of $runs, one run)"
echo
echo "| command | ms | ratio to --net none |"
echo "|---|---:|---:|"
echo "| \`run --rm --net bridge\` (lease, veth, eth0, address, route, 3 files) | $b | $(ratio "$b" "$n") |"
echo "| … the network's only container (its NAT table written, then removed) | $a | $(ratio "$a" "$n") |"
echo "| \`run --rm --net none\` (loopback, hosts and hostname files) | $n | 1.00 |"
echo "| \`run --rm\` (loopback, the image's files) | $d | $(ratio "$d" "$n") |"
echo
echo "bridge − none: $(awk -v a="$b" -v c="$n" 'BEGIN {printf "%.2f", a - c}') ms (alone on its network: $(awk -v a="$a" -v c="$n" 'BEGIN {printf "%.2f", a - c}') ms)"
