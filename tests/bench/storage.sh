#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# What the store costs the device, against containerd 1.6 + ctr (Debian's,
# overlayfs snapshotter), in one run:
#  1. write amplification of a pull: bytes written to the device and flush
#     requests, per pull + unpack of the big test image (image_big, as the
#     pull benches), for ember's overlay, native and btrfs snapshotters and
#     for containerd. Each store is alone on its own loop device (ext4 made
#     without lazy initialisation, so that nothing writes in the background;
#     btrfs for the btrfs snapshotter); counters from /sys/block/loopN/stat
#     (field 7: sectors written; field 16: flush requests completed, which
#     counts FUA writes too: a loop device has a write cache and no FUA, so
#     the block layer turns a FUA write into a write and a flush), from a
#     `sync -f` before the pull to a `sync -f` one second after it returns.
#     Each round empties every store first; a discarded warm-up round and
#     BENCH_STORAGE_ROUNDS (3) measured ones, the order rotating; medians.
#  2. disk used by one image in 1, 2 and 4 namespaces: the same stores, the
#     image pulled into more namespaces; du of the blobs, the snapshots and
#     the whole root, and the file system's used bytes above its empty state.
#  3. start-up with BENCH_STORAGE_IMAGES (100) images (busybox plus 16 KiB of
#     their own each) and as many containers (created, not running), ember
#     against containerd on two fresh ext4 loop devices: the time from the
#     daemon's start to the first answer of its client tried in a loop, and
#     to the daemon's own log line once its socket listens, with a cold
#     cache (the file system unmounted and mounted again before the start)
#     and a warm one (started again at once); and each one's own figure:
#     ember's "check: ... in N ms" (the start-up check, a job that runs after
#     the socket answers) and containerd's "successfully booted in".
#     BENCH_STORAGE_STARTS (5) of each, taking turns, medians. Both start
#     with an empty state directory (a tmpfs, as after a boot).
# Part of tests/bench/run.sh; runs alone too:  storage.sh path/to/ember
set -euo pipefail
cd "$(dirname "$0")/../.."

EMBER=$(realpath "${1:?usage: storage.sh path/to/ember}")
ROUNDS=${BENCH_STORAGE_ROUNDS:-3}
STARTS=${BENCH_STORAGE_STARTS:-5}
NIMG=${BENCH_STORAGE_IMAGES:-100}
SIZE_MB=${BENCH_STORAGE_MB:-2048}
T=$(mktemp -d /tmp/ember-bench-storage.XXXXXX)
PIDS=()
LOOPS=()
# shellcheck source=lib.sh
source tests/bench/lib.sh

trap bench_devices_cleanup EXIT

echo "## Storage: writes per pull, shared layers, start-up (tests/bench/storage.sh)"
echo
HAVE_BTRFS=1
if ! command -v mkfs.btrfs >/dev/null || ! { grep -qw btrfs /proc/filesystems || modprobe btrfs 2>/dev/null; } ||
	! "$EMBER" version | grep -q ' snapshot-btrfs'; then
	HAVE_BTRFS=0
fi
if ! command -v mkfs.ext4 >/dev/null || ! command -v containerd >/dev/null; then
	echo "Skipped: no mkfs.ext4 (e2fsprogs) or no containerd."
	exit 0
fi

declare -A DEV=() # NAME -> its loop device, mounted at $T/NAME
# fs_up NAME ext4|btrfs: a SIZE_MB sparse file, a file system on it, a loop
# device, mounted at $T/NAME.
fs_up() {
	local name=$1
	truncate -s "${SIZE_MB}M" "$T/$name.img"
	case "$2" in
	ext4) mkfs.ext4 -q -F -E lazy_itable_init=0,lazy_journal_init=0 "$T/$name.img" ;;
	btrfs) mkfs.btrfs -q -f "$T/$name.img" >/dev/null ;;
	esac
	DEV[$name]=$(losetup --find --show "$T/$name.img")
	LOOPS+=("${DEV[$name]}")
	mkdir -p "$T/$name"
	mount "${DEV[$name]}" "$T/$name"
}

# stat_of NAME: "sectors-written flushes" of NAME's device.
stat_of() {
	awk '{ print $7, $16 }' "/sys/block/${DEV[$1]#/dev/}/stat"
}

drop_pid() {
	local i
	for i in "${!PIDS[@]}"; do [ "${PIDS[$i]}" != "$1" ] || unset 'PIDS[i]'; done
}
# stop NAME: its daemon, and waits for it.
declare -A DPID=()
stop() {
	[ -n "${DPID[$1]:-}" ] || return 0
	kill -TERM "${DPID[$1]}" 2>/dev/null || true
	wait "${DPID[$1]}" 2>/dev/null || true
	drop_pid "${DPID[$1]}"
	DPID[$1]=
}

# launch NAME: its daemon (ember, or containerd for names ctd*), root on
# $T/NAME, socket $T/NAME.sock; does not wait.
# ember's config is $T/NAME.toml. containerd writes to /run/containerd
# whatever its flags say: it runs in a mount namespace of its own with a
# tmpfs on /run, where its state goes too.
launch() {
	local name=$1
	rm -f "$T/$name.sock"
	case "$name" in
	ctd*)
		printf 'version = 2\ndisabled_plugins = ["io.containerd.grpc.v1.cri"]\n[plugins."io.containerd.internal.v1.opt"]\n  path = "%s"\n' \
			"$T/$name-opt" >"$T/$name.toml"
		# shellcheck disable=SC2016 # sh's
		unshare --mount --propagation private sh -c \
			'mount -t tmpfs tmpfs /run && exec containerd --config "$1" --root "$2" --state /run/ctd-state --address "$3"' \
			sh "$T/$name.toml" "$T/$name/root" "$T/$name.sock" >"$T/$name.log" 2>&1 &
		;;
	*)
		"$EMBER" daemon --config "$T/$name.toml" --root "$T/$name/root" --state "$T/$name-state" \
			--address "$T/$name.sock" 2>"$T/$name.log" &
		;;
	esac
	DPID[$name]=$!
	PIDS+=($!)
}
# fresh_state NAME: an empty tmpfs for an ember's state (as after a boot).
fresh_state() {
	case "$1" in ctd*) return 0 ;; esac
	if mountpoint -q "$T/$1-state"; then umount "$T/$1-state"; fi
	mkdir -p "$T/$1-state"
	mount -t tmpfs -o mode=0711 tmpfs "$T/$1-state"
}
up() {
	fresh_state "$1"
	launch "$1"
	case "$1" in
	ctd*) bench_wait_api "$1" ctr --address "$T/$1.sock" version ;;
	*) bench_wait_api "$1" "$EMBER" -a "$T/$1.sock" info ;;
	esac
}
# cli NAME [-n NS] ARGS...: ember's or ctr's client for NAME.
cli() {
	local name=$1
	shift
	case "$name" in
	ctd*) ctr --address "$T/$name.sock" "$@" ;;
	*) "$EMBER" -a "$T/$name.sock" "$@" ;;
	esac
}
pull_into() { # NAME NS
	case "$1" in
	ctd*) cli "$1" -n "$2" images pull --plain-http --snapshotter overlayfs "$REF" >/dev/null 2>"$T/pull.err" ||
		{ echo "bench: ctr images pull failed:" >&2; cat "$T/pull.err" >&2; exit 1; } ;;
	*) cli "$1" -n "$2" pull --plain-http "$REF" >/dev/null ;;
	esac
}
# measure NAME NS: one pull into NAME's namespace NS; its device's bytes
# written and flushes into WB and FL.
WB=0 FL=0
measure() {
	local s0 s1
	sync -f "$T/$1"
	read -r -a s0 <<<"$(stat_of "$1")"
	pull_into "$1" "$2"
	sleep 1
	sync -f "$T/$1"
	read -r -a s1 <<<"$(stat_of "$1")"
	WB=$(((s1[0] - s0[0]) * 512)) FL=$((s1[1] - s0[1]))
}
used_of() { # NAME: bytes the file system has in use (after a sync)
	sync -f "$T/$1"
	df -B1 --output=used "$T/$1" | tail -n 1 | tr -d ' '
}
du_of() { du -s -B1 "$1" 2>/dev/null | cut -f1; }
empty() { # NAME: no image, blob or snapshot in its default namespace
	case "$1" in
	ctd*)
		# shellcheck disable=SC2034 # bench_ctd_empty's client
		C=(ctr --address "$T/$1.sock" -n default)
		bench_ctd_empty
		;;
	*)
		# shellcheck disable=SC2034 # bench_ember_empty's client
		E=("$EMBER" -a "$T/$1.sock")
		bench_ember_empty
		;;
	esac
}
mib() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1048576 }'; }
fmt() { echo "$1" | sed ':a; s/\B[0-9]\{3\}\>/,&/; ta'; } # 1234567 -> 1,234,567

# ---- the image and the registry ------------------------------------------------
bench_infra
image_big "$T/big" 40 >/dev/null
registry_start bench plain >/dev/null
PIDS+=("$REGISTRY_BENCH_PID")
registry_push_oci "$T/big" "$REGISTRY_BENCH_ADDR/big:latest" >/dev/null
REF=$REGISTRY_BENCH_ADDR/big:latest
mapfile -t LAYERS < <(/usr/bin/python3 -c '
import json, sys
for l in json.loads(sys.argv[1])["manifests"][0]["layers"]:
    print(l["digest"], l["mediaType"], l["size"])' "$IMAGE_INFO")
[ "${#LAYERS[@]}" -gt 0 ] || { echo "bench: no layers in IMAGE_INFO" >&2; exit 1; }
z_bytes=0 u_bytes=0
for l in "${LAYERS[@]}"; do
	read -r digest mt size <<<"$l"
	blob=$T/big/blobs/sha256/${digest#sha256:}
	case "$mt" in
	*zstd) n=$(zstd -dc "$blob" | wc -c) ;;
	*gzip) n=$(gzip -dc "$blob" | wc -c) ;;
	*) n=$(wc -c <"$blob") ;;
	esac
	z_bytes=$((z_bytes + size)) u_bytes=$((u_bytes + n))
done

# ---- 1. writes per pull ------------------------------------------------------
STORES=(ov na)
fs_up ov ext4
fs_up na ext4
printf '[snapshots]\ndefault = "overlay"\n' >"$T/ov.toml"
printf '[snapshots]\ndefault = "native"\n' >"$T/na.toml"
if [ "$HAVE_BTRFS" = 1 ]; then
	STORES+=(bt)
	fs_up bt btrfs
	printf '[snapshots]\ndefault = "btrfs"\n' >"$T/bt.toml"
fi
STORES+=(ctd)
fs_up ctd ext4
for s in "${STORES[@]}"; do up "$s"; done
if ! cli ctd plugins ls | awk '$2 == "overlayfs" && $4 == "ok" {f = 1} END {exit !f}'; then
	echo "bench: containerd's overlayfs snapshotter did not load; its log:" >&2
	grep -i overlay "$T/ctd.log" >&2 || true
	exit 1
fi

declare -A W=() F=() U0=()
n=${#STORES[@]}
for round in $(seq 0 "$ROUNDS"); do
	for s in "${STORES[@]}"; do empty "$s"; done
	[ "$HAVE_BTRFS" = 0 ] || btrfs subvolume sync "$T/bt" >/dev/null
	for s in "${STORES[@]}"; do U0[$s]=$(used_of "$s"); done
	for k in $(seq 0 $((n - 1))); do
		s=${STORES[$(((k + round) % n))]}
		measure "$s" default
		[ "$round" -eq 0 ] && continue # warm-up
		W[$s]+=" $WB" F[$s]+=" $FL"
	done
done

label() {
	case "$1" in
	ov) echo "ember, overlay (ext4)" ;;
	na) echo "ember, native (ext4)" ;;
	bt) echo "ember, btrfs (btrfs)" ;;
	ctd) echo "containerd 1.6 + ctr, overlayfs (ext4)" ;;
	esac
}
range() { # the words' min–max
	local r
	r=$(printf '%s\n' "$@" | sort -n | awk 'NR == 1 {a = $1} {b = $1} END {print a, b}')
	echo "$(fmt "${r% *}")–$(fmt "${r#* }")"
}
echo "### Writes per pull + unpack"
echo
echo "The big test image: ${#LAYERS[@]} layers, $(fmt "$z_bytes") bytes compressed,"
echo "$(fmt "$u_bytes") bytes as tar streams; a local docker-registry; each store alone on a"
echo "${SIZE_MB} MiB loop device; a discarded warm-up and $ROUNDS rounds, medians (range)."
echo
echo "| store | written to the device, bytes | × compressed | × uncompressed | flushes | ratio to containerd (bytes, flushes) |"
echo "|---|---:|---:|---:|---:|---:|"
# shellcheck disable=SC2086 # the lists are words
{
	cw=$(median ${W[ctd]}) cf=$(median ${F[ctd]})
	for s in "${STORES[@]}"; do
		w=$(median ${W[$s]}) f=$(median ${F[$s]})
		echo "| $(label "$s") | $(fmt "$w") ($(range ${W[$s]})) | $(ratio "$w" "$z_bytes") | $(ratio "$w" "$u_bytes") | $f ($(range ${F[$s]})) | $(ratio "$w" "$cw"), $(ratio "$f" "$cf") |"
	done
}
echo

# ---- 2. one image in 1, 2 and 4 namespaces -----------------------------------------
# The last round left the image in each store's namespace "default".
declare -A SZ=()
sizes() { # NAME K: du of blobs, snapshots, root; used above empty
	local s=$1 b p
	case "$s" in
	ctd*) b=$T/$s/root/io.containerd.content.v1.content p=$T/$s/root/io.containerd.snapshotter.v1.overlayfs ;;
	*) b=$T/$s/root/content p=$T/$s/root/snapshots ;;
	esac
	SZ[$s,$2]="$(du_of "$b") $(du_of "$p") $(du_of "$T/$s/root") $(($(used_of "$s") - U0[$s]))"
}
declare -A W2=() F2=()
for s in "${STORES[@]}"; do
	sizes "$s" 1
	measure "$s" ns2
	W2[$s]=$WB F2[$s]=$FL
	sizes "$s" 2
	pull_into "$s" ns3
	pull_into "$s" ns4
	sizes "$s" 4
done
echo "### One image in 1, 2 and 4 namespaces"
echo
echo "du -s -B1 of the blobs, of the snapshots and of the whole root, and the"
echo "file system's used bytes above the empty store's (\`df\`, after a sync);"
echo "the second namespace's pull: bytes written to the device and flushes."
echo
echo "| store | namespaces | blobs | snapshots | root | file system used | 2nd pull writes, flushes |"
echo "|---|---:|---:|---:|---:|---:|---:|"
for s in "${STORES[@]}"; do
	for k in 1 2 4; do
		read -r b p r u <<<"${SZ[$s,$k]}"
		x=
		[ "$k" -eq 2 ] && x="$(fmt "${W2[$s]}"), ${F2[$s]}"
		echo "| $(label "$s") | $k | $(fmt "$b") | $(fmt "$p") | $(fmt "$r") | $(fmt "$u") | $x |"
	done
done
echo
read -r _ _ e4 _ <<<"${SZ[ov,4]}"
read -r _ _ c4 _ <<<"${SZ[ctd,4]}"
read -r _ _ e1 _ <<<"${SZ[ov,1]}"
read -r _ _ c1 _ <<<"${SZ[ctd,1]}"
echo "Root in 4 namespaces over root in 1: ember overlay $(ratio "$e4" "$e1"), containerd $(ratio "$c4" "$c1");"
echo "containerd's root over ember's (overlay): $(ratio "$c1" "$e1") in 1 namespace, $(ratio "$c4" "$e4") in 4."
if [ "$HAVE_BTRFS" = 1 ]; then
	echo "(btrfs: du counts a snapshot's extents once per subvolume that holds them; the file system's figure does not.)"
fi
echo
for s in "${STORES[@]}"; do stop "$s"; done

# ---- 3. start-up with many images and containers ---------------------------------------
fs_up se ext4
fs_up ctds ext4
printf '[snapshots]\ndefault = "overlay"\n' >"$T/se.toml"
up se
up ctds
mkdir -p "$T/img"
for i in $(seq 1 "$NIMG"); do
	d=$T/img/$i
	python3 tests/integration/lib/mkimage.py sized "$d" "s$i" 16 "v$i" >/dev/null
	tar -C "$d" -cf "$d.tar" .
	rm -rf "$d"
	cli se images import --base-name bench.example/app "$d.tar" >/dev/null
	cli ctds -n default images import --base-name bench.example/app "$d.tar" >/dev/null 2>"$T/import.err" ||
		{ echo "bench: ctr images import failed:" >&2; cat "$T/import.err" >&2; exit 1; }
	rm -f "$d.tar"
done
i=0
while read -r ref; do
	i=$((i + 1))
	cli se containers create "$ref" "c$i" >/dev/null
done < <(cli se images ls -q)
i=0
while read -r ref; do
	i=$((i + 1))
	cli ctds -n default containers create --snapshotter overlayfs "$ref" "c$i" >/dev/null
done < <(cli ctds -n default images ls -q)
ei=$(cli se images ls -q | wc -l) ec=$(cli se containers ls -q | wc -l)
ci=$(cli ctds -n default images ls -q | wc -l) cc=$(cli ctds -n default containers ls -q | wc -l)
es=$(cli se snapshots ls -q | wc -l)
cs=$(cli ctds -n default snapshots --snapshotter overlayfs ls | awk 'NR > 1' | wc -l)
if [ "$ei" -ne "$NIMG" ] || [ "$ec" -ne "$NIMG" ] || [ "$ci" -ne "$NIMG" ] || [ "$cc" -ne "$NIMG" ]; then
	echo "bench: stores not filled: ember $ei images $ec containers, containerd $ci images $cc containers" >&2
	exit 1
fi
stop se
stop ctds

# timed_start NAME: start it; into MS the time to the first answer to a
# client tried in a loop (ember: \`call io.ember.System.Version\`; containerd:
# \`ctr version\`), into RDY the time to the daemon's own line once its socket
# listens (ember's "ready", containerd's "serving..." for its gRPC socket),
# into OWN its own figure (ember's check, containerd's "booted in").
MS=0 RDY=0 OWN=0
ts_ms() { # T0 TIME: milliseconds from T0 (epoch seconds) to TIME (a log's ISO time)
	awk -v a="$1" -v b="$(date -d "$2" +%s.%N)" 'BEGIN { printf "%.0f", (b - a) * 1000 }'
}
timed_start() {
	local name=$1 t0 t1 line end=$((SECONDS + 60))
	rm -f "$T/$name.sock"
	fresh_state "$name"
	t0=$EPOCHREALTIME
	launch "$name"
	case "$name" in
	ctd*) ask=(ctr --address "$T/$name.sock" version) ;;
	*) ask=("$EMBER" -a "$T/$name.sock" call io.ember.System.Version) ;;
	esac
	until "${ask[@]}" >/dev/null 2>&1; do
		if ! kill -0 "${DPID[$name]}" 2>/dev/null || [ "$SECONDS" -ge "$end" ]; then
			echo "bench: $name did not answer; its log:" >&2
			cat "$T/$name.log" >&2
			exit 1
		fi
	done
	t1=$EPOCHREALTIME
	MS=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f", (b - a) * 1000 }')
	OWN='' line=''
	while [ -z "$OWN" ] && [ "$SECONDS" -lt "$end" ]; do
		case "$name" in
		ctd*)
			line=$(awk -v a="address=$T/$name.sock" '/msg=serving/ && $NF == a { print; exit }' "$T/$name.log" | sed 's/^time="\([^"]*\)".*/\1/' || true)
			OWN=$(sed -n 's/.*successfully booted in \([0-9.]*\)s.*/\1/p' "$T/$name.log" |
				awk '{ printf "%.0f", $1 * 1000 }' || true)
			;;
		*)
			line=$(grep -m1 ' ready: ' "$T/$name.log" | cut -d' ' -f1 || true)
			OWN=$(sed -n 's/.*check: .* in \([0-9]*\) ms.*/\1/p' "$T/$name.log")
			;;
		esac
		[ -n "$OWN" ] || sleep 0.05
	done
	[ -n "$OWN" ] && [ -n "$line" ] || { echo "bench: no start-up lines in $name's log:" >&2; cat "$T/$name.log" >&2; exit 1; }
	RDY=$(ts_ms "$t0" "$line")
}
remount() { # NAME: its file system's cache dropped
	sync -f "$T/$1"
	umount "$T/$1"
	mount "${DEV[$1]}" "$T/$1"
}
declare -A ST=() M=()
for r in $(seq 1 "$STARTS"); do
	order=(se ctds)
	[ $((r % 2)) -eq 0 ] && order=(ctds se)
	for s in "${order[@]}"; do
		remount "$s"
		timed_start "$s"
		ST[$s,cold]+=" $MS" ST[$s,coldrdy]+=" $RDY" ST[$s,coldown]+=" $OWN"
		stop "$s"
		timed_start "$s"
		ST[$s,warm]+=" $MS" ST[$s,warmrdy]+=" $RDY" ST[$s,warmown]+=" $OWN"
		stop "$s"
	done
done
# What one try of each client costs (the loop's step), daemons up.
call_ms() { # COMMAND...: median of 10 runs, ms
	local i t0 l=()
	for i in 1 2 3 4 5 6 7 8 9 10; do
		t0=$EPOCHREALTIME
		"$@" >/dev/null
		l+=("$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", (b - a) * 1000 }')")
	done
	median "${l[@]}"
}
up se
up ctds
e_call=$(call_ms "$EMBER" -a "$T/se.sock" call io.ember.System.Version)
c_call=$(call_ms ctr --address "$T/ctds.sock" version)
stop se
stop ctds
# shellcheck disable=SC2086 # the lists are words
{
	for k in cold coldrdy coldown warm warmrdy warmown; do
		M[e$k]=$(median ${ST[se,$k]}) M[c$k]=$(median ${ST[ctds,$k]})
	done
}
row() { # LABEL KEY [-]: "-" when the two measure different things
	echo "| $1 | ${M[e$2]} | ${M[c$2]} | ${3:-$(ratio "${M[c$2]}" "${M[e$2]}")} |"
}
echo "### Start-up with $NIMG images and $NIMG containers"
echo
echo "ember: $ei images, $ec containers, $es snapshots (overlay); containerd: $ci images,"
echo "$cc containers, $cs snapshots (overlayfs); each root on its own ext4 loop device, the"
echo "state directory empty. $STARTS starts of each kind, taking turns, medians."
echo
echo "| from the start of the daemon to | ember, ms | containerd 1.6, ms | ratio |"
echo "|---|---:|---:|---:|"
row "its socket listening (its log: ember \`ready\`, containerd \`serving...\`), cold cache" coldrdy
row "the first answer to a client tried in a loop, cold cache" cold
row "its socket listening, warm cache" warmrdy
row "the first answer, warm cache" warm
row "own figure, cold: ember's \`check: … in N ms\` (after the socket answers) / containerd's \`booted in\`" coldown –
row "own figure, warm" warmown –
echo
echo "Cold: the file system unmounted and mounted again before the start; warm: started again at once."
echo "One try of the client against a running daemon: ember $e_call ms, ctr $c_call ms (the loop's step)."
echo "Starts, ms to the first answer (cold; warm): ember${ST[se,cold]};${ST[se,warm]}; containerd${ST[ctds,cold]};${ST[ctds,warm]}."
