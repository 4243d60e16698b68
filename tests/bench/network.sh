#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Bridge networks, in one run, as ratios:
#   - what a bridge network adds to a container's start: `ember run --rm
#     --net bridge REF id true` against `--net none` (its own network
#     namespace, loopback, hosts and hostname files) and no --net flag
#     (loopback only, the image's files), each run with an ID of its own;
#     and a restart (the same ID every run);
#   - the same for `ctr run --rm --null-io --cni` against `ctr run --rm
#     --null-io` (containerd 1.6, Debian's containernetworking-plugins
#     1.1.1: bridge + host-local, ipMasq), and the bridge plugin's ADD and
#     DEL timed alone; each side's set-up cost as the difference of the
#     medians and as the median of pairs run in turn;
#   - the ember daemon's memory per container: 20 `run -d --net bridge`
#     against 20 `run -d --net none`, each kind in a fresh daemon.
# Nothing touches the host's network or files: the ember daemon runs in a
# network namespace of this run's own (emb-bench-PID: ember0, the veths,
# the nf_tables table), containerd and ctr in a second one (emb-bench-PID-cni:
# cni0, the veths, iptables-nft's nat table) and in a mount namespace of
# their own, where /run is a tmpfs and /etc, /opt and /var/lib are overlays
# whose writes land under $T: /etc/cni/net.d holds the bench's conflist,
# /opt/cni/bin is /usr/lib/cni bound, /var/lib/cni (host-local's leases,
# libcni's cache) is new.
# Part of tests/bench/run.sh; runs alone too:  network.sh path/to/ember
set -euo pipefail
cd "$(dirname "$0")/../.."

EMBER=$(realpath "${1:?usage: network.sh path/to/ember}")
T=$(mktemp -d /tmp/ember-bench-net.XXXXXX)
NS=emb-bench-$$
NS2=emb-bench-$$-cni
PIDS=()
N_MEM=${BENCH_NET_CONTAINERS:-20}
# The cgroup parents the daemons make (…/ember/default, …/default): this
# run removes those that were not there before it, once empty.
CG_NEW=()
for d in /sys/fs/cgroup/*/ /sys/fs/cgroup/; do
	for c in ember/default ember default; do [ -d "$d$c" ] || CG_NEW+=("$d$c"); done
done
# shellcheck source=lib.sh
source tests/bench/lib.sh
cleanup() {
	set +e
	local p f id
	for id in $(seq 1 "$N_MEM") keep; do
		[ -S "$T/ember.sock" ] || break
		"$EMBER" -a "$T/ember.sock" tasks kill -s KILL "n$id" >/dev/null 2>&1
	done
	for id in nc1 nc2 nc0; do
		[ -S "$T/ctd/c.sock" ] || break
		ctr --address "$T/ctd/c.sock" -n default tasks kill -s SIGKILL "$id" >/dev/null 2>&1
		ctr --address "$T/ctd/c.sock" -n default tasks delete "$id" >/dev/null 2>&1
		ctr --address "$T/ctd/c.sock" -n default containers rm "$id" >/dev/null 2>&1
	done
	# ember inits outlive their daemon by design, containerd's shims theirs
	# (and a shim holds containerd's mount namespace): stop those of this
	# run, by pid.
	for f in "$T"/state/tasks/default/*/task.json; do
		[ -e "$f" ] || continue
		p=$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["pid"])' "$f" 2>/dev/null)
		[ -n "$p" ] && [ "$(readlink "/proc/$p/exe")" = "$EMBER" ] && kill -KILL "$p" 2>/dev/null
	done
	for p in $(pgrep -f containerd-shim-runc-v2); do
		grep -q "$T/ctd" "/proc/$p/cmdline" 2>/dev/null && kill -KILL "$p" 2>/dev/null
	done
	for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
	for f in "$NS" "$NS2"; do [ -e "/run/netns/$f" ] && ip netns del "$f"; done
	for f in /sys/fs/cgroup/*/default/n* /sys/fs/cgroup/*/*/default/n* /sys/fs/cgroup/default/n*; do
		[ -d "$f" ] && rmdir "$f" 2>/dev/null
	done
	for f in "${CG_NEW[@]}"; do [ -d "$f" ] && rmdir "$f" 2>/dev/null; done
	for m in $(grep -o "${T}[^ ]*" /proc/mounts | sort -r); do umount -l "$m" 2>/dev/null; done
	rm -rf "$T"
}
trap cleanup EXIT
hf_fail() { cat "$T/hyperfine.err" >&2; tail -20 "$T/ember.log" >&2; exit 1; }

bench_infra
image_busybox "$T/bb" >/dev/null
tar -C "$T/bb" -cf "$T/bb.tar" .
ip netns add "$NS"
ip -n "$NS" link set lo up
: >"$T/empty.toml"
mkdir -p "$T/state"
mount -t tmpfs -o mode=0711 tmpfs "$T/state"
# ember_daemon: a daemon in $NS on $T's root and state, its pid in EPID.
ember_daemon() {
	nsenter --net="/run/netns/$NS" "$EMBER" daemon --config "$T/empty.toml" --root "$T/root" --state "$T/state" \
		--address "$T/ember.sock" 2>>"$T/ember.log" &
	EPID=$!
	PIDS+=("$EPID")
	bench_wait_api ember "${E[@]}" info
}
E=("$EMBER" -a "$T/ember.sock")
ember_daemon
"${E[@]}" images import --base-name example.com/bb "$T/bb.tar" >/dev/null
REF=example.com/bb:latest
# The network and its bridge, once; and a check that eth0 has the default route.
"${E[@]}" run --rm --net bridge "$REF" n0 cat /proc/net/route >"$T/route.ember"
grep -Eq '^eth0[[:space:]]+00000000' "$T/route.ember" || { echo "bench: no default route in an ember bridge container:" >&2; cat "$T/route.ember" >&2; exit 1; }

# ---- containerd and ctr --cni, in $NS2 and a mount namespace of their own ----
# The CNI network: the bridge plugin (cni0, a veth per container, the
# gateway's address on the bridge, a default route, ipMasq: a chain of
# its own per container in iptables' nat table, masquerading what leaves
# the subnet) with host-local addresses from 10.88.0.0/24. No loopback
# plugin: runc brings a new network namespace's lo up by itself.
ip netns add "$NS2"
ip -n "$NS2" link set lo up
mkdir -p "$T/ctd" "$T/ovl"
printf 'version = 2\n' >"$T/ctd/config.toml"
cat >"$T/bridge.json" <<'EOF'
{"cniVersion": "1.0.0", "name": "bench", "type": "bridge", "bridge": "cni0", "isGateway": true, "ipMasq": true,
 "ipam": {"type": "host-local", "ranges": [[{"subnet": "10.88.0.0/24"}]], "routes": [{"dst": "0.0.0.0/0"}]}}
EOF
/usr/bin/python3 -c '
import json, sys
p = json.load(open(sys.argv[1]))
l = {"cniVersion": p.pop("cniVersion"), "name": p.pop("name"), "plugins": [p]}
json.dump(l, open(sys.argv[2], "w"))' "$T/bridge.json" "$T/bench.conflist"
cat >"$T/ctd/start.sh" <<'EOF'
#!/bin/sh
# In a new mount namespace whose mounts are private: containerd 1.6 and
# what ctr --cni reads and writes, with every write under $1 ($T).
set -e
T=$1
mount -t tmpfs tmpfs /run
for d in etc opt var/lib; do
	n=$(echo "$d" | tr / -)
	mkdir -p "$T/ovl/$n/up" "$T/ovl/$n/work"
	mount -t overlay overlay -o "lowerdir=/$d,upperdir=$T/ovl/$n/up,workdir=$T/ovl/$n/work" "/$d"
done
rm -rf /etc/cni/net.d /var/lib/cni
mkdir -p /etc/cni/net.d /opt/cni/bin
cp "$T/bench.conflist" /etc/cni/net.d/10-bench.conflist
mount --bind /usr/lib/cni /opt/cni/bin
exec containerd --config "$T/ctd/config.toml" --root "$T/ctd/root" --state "$T/ctd/state" --address "$T/ctd/c.sock"
EOF
cat >"$T/cni-flush.sh" <<'EOF'
#!/bin/sh
# The nat table as a correct DEL would leave it: no container's chain.
iptables -t nat -F && iptables -t nat -X
EOF
cat >"$T/plugin.sh" <<EOF
#!/bin/sh
# The bridge plugin alone, as libcni calls it, for each command given
# (ADD, DEL) on the network namespace $T/target.
for c in "\$@"; do
	CNI_COMMAND=\$c CNI_CONTAINERID=direct CNI_NETNS=$T/target CNI_IFNAME=eth0 CNI_PATH=/opt/cni/bin \
		/opt/cni/bin/bridge <$T/bridge.json >/dev/null || exit 1
done
EOF
chmod +x "$T/ctd/start.sh" "$T/cni-flush.sh" "$T/plugin.sh"
nsenter --net="/run/netns/$NS2" unshare --mount --propagation private "$T/ctd/start.sh" "$T" >"$T/ctd.log" 2>&1 &
CPID=$!
PIDS+=("$CPID")
# Everything of ctr's runs where containerd does (mounts and network).
X=(nsenter --mount="/proc/$CPID/ns/mnt" --net="/run/netns/$NS2")
C=(ctr --address "$T/ctd/c.sock" -n default)
bench_wait_api ctd "${C[@]}" version
"${C[@]}" images import --base-name example.com/bb "$T/bb.tar" >/dev/null
"${C[@]}" images ls -q | grep -qx "$REF" || { echo "bench: ctr images import did not make $REF" >&2; exit 1; }
"${X[@]}" "${C[@]}" run --rm --cni "$REF" nc0 cat /proc/net/route >"$T/route.ctr" 2>&1
grep -Eq '^eth0[[:space:]]+00000000' "$T/route.ctr" || { echo "bench: no default route in a ctr --cni container:" >&2; cat "$T/route.ctr" >&2; exit 1; }
# ctr --rm hands the network's DEL no namespace path: the bridge plugin then
# only releases the address, and the container's masquerade chain stays.
cni_chains=$("${X[@]}" iptables -t nat -S | grep -c '^-N CNI-' || true)
# A network namespace for the plugin alone, made where its bind mount is
# private (containerd's mount namespace); it goes with that namespace.
# shellcheck disable=SC2016 # $1 is sh's
"${X[@]}" sh -c 'touch "$1" && unshare --net="$1" ip link set lo up' sh "$T/target"

# ---- timings --------------------------------------------------------------------
runs=${BENCH_RUNS:-50}
# Every run gets a container ID of its own (the wrapper's pid), as
# different containers have: an ID's veth name is fixed, and a new start
# under the previous run's ID, a few milliseconds after it ended, finds
# that veth still there (the kernel removes the dead network namespace's
# links a little later), deletes it and waits for the kernel (an RCU
# barrier). That case, a restart, has its own row. The wrappers' shell
# costs the same on every row.
cat >"$T/run-ember.sh" <<EOF
#!/bin/sh
# run-ember.sh ID|- [OPTION...]: ember run --rm OPTION... REF ID true (-: an ID of this run's own)
id=\$1; shift; [ "\$id" = - ] && id=n\$\$
exec ${E[*]} run --rm "\$@" $REF "\$id" true
EOF
cat >"$T/run-ctr.sh" <<EOF
#!/bin/sh
# run-ctr.sh [OPTION...]: ctr run --rm --null-io OPTION... REF ID true, an ID of its own, where containerd runs
exec ${X[*]} ${C[*]} run --rm --null-io "\$@" $REF nc\$\$ true
EOF
chmod +x "$T/run-ember.sh" "$T/run-ctr.sh"
# pairs.py N PREPARE|- A B: the set-up's cost more directly than a
# difference of two medians taken minutes apart: A and B run in turn (the
# order swapped every pair), 3 pairs of warm-up, then N pairs; prints the
# median of A − B within a pair, in ms. PREPARE runs before each, untimed.
cat >"$T/pairs.py" <<'EOF'
import statistics, subprocess, sys, time
n, prep, a, b = int(sys.argv[1]), sys.argv[2], sys.argv[3].split(), sys.argv[4].split()
def timed(cmd):
    if prep != "-":
        subprocess.run(prep.split(), check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return (time.perf_counter() - t0) * 1000
d = []
for i in range(n + 3):
    if i % 2:
        tb = timed(b); ta = timed(a)
    else:
        ta = timed(a); tb = timed(b)
    if i >= 3:
        d.append(ta - tb)
print("%.2f" % statistics.median(d))
EOF
# Alone on its network, a container's start writes the NAT table (the
# network's masquerade) and its delete removes it; with another container
# running there, neither does.
hyperfine -N --warmup 3 --runs "$runs" --style none --export-json "$T/alone.json" \
	"$T/run-ember.sh - --net bridge" >/dev/null 2>"$T/hyperfine.err" || hf_fail
pair_alone=$(/usr/bin/python3 "$T/pairs.py" "$runs" - "$T/run-ember.sh - --net bridge" "$T/run-ember.sh - --net none")
"${E[@]}" run -d --net bridge "$REF" nkeep sleep 3600 >/dev/null
pair_e=$(/usr/bin/python3 "$T/pairs.py" "$runs" - "$T/run-ember.sh - --net bridge" "$T/run-ember.sh - --net none")
hyperfine -N --warmup 3 --runs "$runs" --style none --export-json "$T/net.json" \
	"$T/run-ember.sh - --net bridge" \
	"$T/run-ember.sh n1 --net bridge" \
	"$T/run-ember.sh - --net none" \
	"$T/run-ember.sh -" >/dev/null 2>"$T/hyperfine.err" || hf_fail
"${E[@]}" tasks kill -s KILL nkeep >/dev/null
# ctr: before each run the nat table is put back as a correct DEL would
# have left it (ctr leaves each container's masquerade chain behind).
hyperfine -N --warmup 3 --runs "$runs" --style none --export-json "$T/ctr.json" \
	--prepare "${X[*]} $T/cni-flush.sh" "$T/run-ctr.sh --cni" \
	--prepare "${X[*]} $T/cni-flush.sh" "$T/run-ctr.sh" \
	>/dev/null 2>"$T/hyperfine.err" || hf_fail
pair_c=$(/usr/bin/python3 "$T/pairs.py" "$runs" "${X[*]} $T/cni-flush.sh" "$T/run-ctr.sh --cni" "$T/run-ctr.sh")
hyperfine -N --warmup 3 --runs "$runs" --style none --export-json "$T/plugin.json" \
	--prepare "${X[*]} $T/plugin.sh DEL" "${X[*]} $T/plugin.sh ADD" \
	--prepare "${X[*]} $T/plugin.sh DEL ADD" "${X[*]} $T/plugin.sh DEL" \
	--prepare "${X[*]} true" "${X[*]} true" >/dev/null 2>"$T/hyperfine.err" || hf_fail
"${X[@]}" "$T/plugin.sh" DEL
"${E[@]}" tasks wait nkeep >/dev/null 2>&1 || true
"${E[@]}" containers rm nkeep >/dev/null
left=$("${C[@]}" containers ls -q | wc -l)
[ "$left" -eq 0 ] || { echo "bench: ctr left $left containers" >&2; exit 1; }
left=$("${E[@]}" containers ls -q | wc -l)
[ "$left" -eq 0 ] || { echo "bench: ember left $left containers" >&2; exit 1; }
leases=$(find "$T/ovl/var-lib/up/cni/networks/bench" -name '10.88.*' | wc -l)
# Nothing left in either namespace but the bridges (the kernel removes a
# dead namespace's veth a little after its last process).
sleep 1
for f in "$NS" "$NS2"; do
	left=$(ip -n "$f" -o link show type veth | wc -l)
	[ "$left" -eq 0 ] || { echo "bench: $left veths left in $f:" >&2; ip -n "$f" link >&2; exit 1; }
done

ms() {
	/usr/bin/python3 -c '
import json, statistics, sys
r = json.load(open(sys.argv[1]))["results"][int(sys.argv[2])]
print("%.2f" % (statistics.median(r["times"]) * 1000))' "$1" "$2"
}
sub() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a - b}'; }
# A ratio of two set-up costs: none when ember's is within noise of zero.
sratio() { awk -v a="$1" -v b="$2" 'BEGIN {if (b > 0) printf "%.2f", a / b; else printf "(ember %s ms)", b}'; }
b=$(ms "$T/net.json" 0) r=$(ms "$T/net.json" 1) n=$(ms "$T/net.json" 2) d=$(ms "$T/net.json" 3) a=$(ms "$T/alone.json" 0)
cc=$(ms "$T/ctr.json" 0) cn=$(ms "$T/ctr.json" 1)
padd=$(ms "$T/plugin.json" 0) pdel=$(ms "$T/plugin.json" 1) pnil=$(ms "$T/plugin.json" 2)
echo "## What \`--net bridge\` adds to \`ember run --rm REF id true\` (medians of $runs, one run)"
echo
echo "| command | ms | ratio to --net none |"
echo "|---|---:|---:|"
echo "| \`run --rm --net bridge\` (lease, veth, eth0, address, route, 3 files) | $b | $(ratio "$b" "$n") |"
echo "| … the network's only container (its NAT table written, then removed) | $a | $(ratio "$a" "$n") |"
echo "| … the same ID every run (a restart: the previous run's veth still there, deleted) | $r | $(ratio "$r" "$n") |"
echo "| \`run --rm --net none\` (loopback, hosts and hostname files) | $n | 1.00 |"
echo "| \`run --rm\` (loopback, the image's files) | $d | $(ratio "$d" "$n") |"
echo
echo "bridge − none: $(sub "$b" "$n") ms by these medians (alone on its network: $(sub "$a" "$n") ms; the same ID every run: $(sub "$r" "$n") ms);"
echo "$pair_e ms as the median of $runs pairs run in turn ($pair_alone ms alone on its network)."
echo "Each run through a \`sh\` wrapper that gives it an ID of its own (the same cost on every row)."
echo
eb=$(sub "$b" "$n") ea=$(sub "$a" "$n") cdiff=$(sub "$cc" "$cn") pa=$(sub "$padd" "$pnil") pd=$(sub "$pdel" "$pnil")
echo "## Against \`ctr run --cni\` (containerd 1.6, containernetworking-plugins 1.1.1: bridge + host-local, ipMasq; medians of $runs, same run)"
echo
echo "| | ember ms | ctr ms | ratio (ctr / ember) |"
echo "|---|---:|---:|---:|"
echo "| whole start, with a bridge network: \`ember run --rm --net bridge\` / \`ctr run --rm --null-io --cni\` | $b | $cc | $(ratio "$cc" "$b") |"
echo "| … ember alone on its network | $a | $cc | $(ratio "$cc" "$a") |"
echo "| whole start, without: \`ember run --rm --net none\` / \`ctr run --rm --null-io\` | $n | $cn | $(ratio "$cn" "$n") |"
echo "| network set-up (and tear-down), median of $runs pairs run in turn: bridge − none / --cni − no --cni | $pair_e | $pair_c | $(sratio "$pair_c" "$pair_e") |"
echo "| … ember alone on its network | $pair_alone | $pair_c | $(sratio "$pair_c" "$pair_alone") |"
echo "| the same by the difference of the medians above | $eb | $cdiff | $(sratio "$cdiff" "$eb") |"
echo "| … ember alone on its network | $ea | $cdiff | $(sratio "$cdiff" "$ea") |"
echo "| ctr's side as the bridge plugin's ADD alone (what ctr --cni waits for before the task starts), ember's in pairs | $pair_e | $pa | $(sratio "$pa" "$pair_e") |"
echo "| … ember alone on its network | $pair_alone | $pa | $(sratio "$pa" "$pair_alone") |"
echo
echo "Network set-up (goal: ember ≥ 10× faster than ctr --cni): $(sratio "$pair_c" "$pair_e")× in pairs ($(sratio "$pair_c" "$pair_alone")× alone on its network), $(sratio "$pa" "$pair_e")× against the plugin's ADD alone ($(sratio "$pa" "$pair_alone")×)."
echo "ctr's runs include the \`nsenter\` into containerd's namespaces ($pnil ms alone)."
echo "The bridge plugin alone, as libcni runs it (\`CNI_COMMAND=… /opt/cni/bin/bridge\`, host-local and iptables under it), the nsenter deducted:"
echo "ADD $pa ms; DEL with the namespace path (veth, masquerade chain, address; ctr does not give one) $pd ms."
echo "After one \`ctr run --rm --cni\`: $cni_chains masquerade chain(s) left in the nat table (ctr gives DEL no namespace path); after them all, $leases host-local lease(s) left."
echo

# ---- daemon memory per container ------------------------------------------------------
# A fresh daemon for each kind (same root: the image and the network are
# there), warmed by one `run --rm` of that kind; its memory before and
# after N `run -d … sleep 3600`, and after they are killed and removed.
kib() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/status"; }
pss() { awk '/^Pss:/ {print $2}' "/proc/$1/smaps_rollup"; }
kill -TERM "$EPID"
wait "$EPID" 2>/dev/null || true
declare -A M=()
for kind in none bridge; do
	ember_daemon
	"${E[@]}" run --rm --net "$kind" "$REF" n0 true
	sleep 1
	M[$kind.rss0]=$(kib "$EPID" VmRSS) M[$kind.anon0]=$(kib "$EPID" RssAnon) M[$kind.pss0]=$(pss "$EPID")
	for i in $(seq 1 "$N_MEM"); do "${E[@]}" run -d --net "$kind" "$REF" "n$i" sleep 3600 >/dev/null; done
	sleep 2
	running=$("${E[@]}" tasks ls -q | wc -l)
	[ "$running" -eq "$N_MEM" ] || { echo "bench: $running tasks running, not $N_MEM" >&2; exit 1; }
	M[$kind.rss1]=$(kib "$EPID" VmRSS) M[$kind.anon1]=$(kib "$EPID" RssAnon) M[$kind.pss1]=$(pss "$EPID")
	if [ "$kind" = bridge ]; then
		veths=$(ip -n "$NS" -o link show type veth | wc -l)
		[ "$veths" -eq "$N_MEM" ] || { echo "bench: $veths veths for $N_MEM containers" >&2; exit 1; }
	fi
	for i in $(seq 1 "$N_MEM"); do "${E[@]}" tasks kill -s KILL "n$i" >/dev/null; done
	for i in $(seq 1 "$N_MEM"); do
		"${E[@]}" tasks wait "n$i" >/dev/null 2>&1 || true
		"${E[@]}" containers rm "n$i" >/dev/null
	done
	sleep 1
	M[$kind.rss2]=$(kib "$EPID" VmRSS) M[$kind.anon2]=$(kib "$EPID" RssAnon)
	kill -TERM "$EPID"
	wait "$EPID" 2>/dev/null || true
done
per() { awk -v a="$1" -v b="$2" -v n="$N_MEM" 'BEGIN {printf "%.1f", (a - b) / n}'; }
echo "## The ember daemon's memory per container, $N_MEM \`run -d … sleep 3600\` (KiB; a fresh daemon per kind)"
echo
echo "| | RSS before | RSS with $N_MEM | RSS / container | RssAnon / container | Pss / container | RSS after rm |"
echo "|---|---:|---:|---:|---:|---:|---:|"
for kind in none bridge; do
	echo "| \`--net $kind\` | ${M[$kind.rss0]} | ${M[$kind.rss1]} | $(per "${M[$kind.rss1]}" "${M[$kind.rss0]}") | $(per "${M[$kind.anon1]}" "${M[$kind.anon0]}") | $(per "${M[$kind.pss1]}" "${M[$kind.pss0]}") | ${M[$kind.rss2]} |"
done
echo
echo "bridge − none, per container: RSS $(awk -v a="$(per "${M[bridge.rss1]}" "${M[bridge.rss0]}")" -v b="$(per "${M[none.rss1]}" "${M[none.rss0]}")" 'BEGIN {printf "%.1f", a - b}') KiB, RssAnon $(awk -v a="$(per "${M[bridge.anon1]}" "${M[bridge.anon0]}")" -v b="$(per "${M[none.anon1]}" "${M[none.anon0]}")" 'BEGIN {printf "%.1f", a - b}') KiB."
echo
echo "Pss falls as containers start: each \`ember init\` maps the daemon's binary, so the daemon's share of those pages shrinks; RssAnon is the daemon's own memory."
left=$(ip -n "$NS" -o link show type veth | wc -l)
[ "$left" -eq 0 ] || echo "bench: warning: $left veths left in $NS" >&2
