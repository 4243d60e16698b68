#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Benchmarks of ember next to its peers (containerd 1.6 + ctr, runc, crun
# from Debian), measured in the same run and reported as ratios. Not a
# pass/fail test: this machine is noisy, only same-run ratios mean much.
#   tests/bench/run.sh path/to/ember [tiny-ember]
set -euo pipefail
cd "$(dirname "$0")/../.."

EMBER=$(realpath "${1:?usage: run.sh path/to/ember [path/to/tiny-ember]}")
TINY=${2:+$(realpath "$2")}
T=$(mktemp -d /tmp/ember-bench.XXXXXX)
PIDS=()
FS_NOTE="the machine's own /tmp"
cleanup() {
	for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
	for m in $(grep -o "$T/[^ ]*" /proc/mounts | sort -r); do umount -l "$m" 2>/dev/null; done
	if mountpoint -q "$T"; then
		rm -rf "${T:?}"/* 2>/dev/null
		umount "$T" || umount -l "$T"
	fi
	rm -rf "$T" "$T.img"
}
trap cleanup EXIT
# Everything below runs on a fresh ext4 with a journal (what a device's
# data partition has), in a loop-mounted file: this machine's disk is an
# ext4 *without* a journal, where creating a file soon after others were
# deleted costs up to a millisecond (the allocator reads the inode table
# to skip recently deleted inodes), which buries any unpacker's own cost
# under whoever deleted files last. Without mkfs.ext4 or loop devices, the
# bench runs in /tmp as it is and says so.
if truncate -s 8G "$T.img" 2>/dev/null && mkfs.ext4 -q -F "$T.img" 2>/dev/null &&
	mount -o loop "$T.img" "$T" 2>/dev/null; then
	FS_NOTE="a fresh 8 GiB ext4 (with journal) loop-mounted at \$T"
else
	rm -f "$T.img"
fi

median_ms() { # hyperfine JSON -> "name median_ms" lines
	/usr/bin/python3 -c '
import json, statistics, sys
for r in json.load(open(sys.argv[1]))["results"]:
    print("%s\t%.3f" % (r["command"], statistics.median(r["times"]) * 1000))' "$1"
}

rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
pss_kib() { awk '/^Pss:/ {print $2}' "/proc/$1/smaps_rollup"; }

echo "# ember benchmarks, $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, kernel $(uname -r)"
echo
echo "Stores, registry and trees on $FS_NOTE."
echo

# ---- size on disk --------------------------------------------------------
size_of() { stat -L -c %s "$1"; }
peer_bytes=0
for f in /usr/bin/containerd /usr/bin/ctr /usr/bin/containerd-shim-runc-v2 /usr/sbin/runc; do
	[ -e "$f" ] && peer_bytes=$((peer_bytes + $(size_of "$f")))
done
ember_bytes=$(size_of "$EMBER")
echo "## Size on disk"
echo
echo "| what | bytes | ratio to ember |"
echo "|---|---:|---:|"
echo "| ember (one static binary: daemon + client) | $ember_bytes | 1 |"
[ -n "$TINY" ] && echo "| ember, tiny board config | $(size_of "$TINY") | $(awk -v a="$(size_of "$TINY")" -v b="$ember_bytes" 'BEGIN{printf "%.2f", a/b}') |"
echo "| containerd + ctr + shim + runc (Debian, dynamic) | $peer_bytes | $(awk -v a="$peer_bytes" -v b="$ember_bytes" 'BEGIN{printf "%.0f", a/b}') |"
[ -e /usr/bin/crun ] && echo "| crun alone (dynamic, without its 10 shared libraries) | $(size_of /usr/bin/crun) | $(awk -v a="$(size_of /usr/bin/crun)" -v b="$ember_bytes" 'BEGIN{printf "%.2f", a/b}') |"
echo

# ---- daemons: start, idle memory, API round trip -------------------------
# shellcheck source=lib.sh
source tests/bench/lib.sh
bench_daemons
sleep 2 # let both settle

e_rss=$(rss_kib "$EPID") e_pss=$(pss_kib "$EPID")
c_rss=$(rss_kib "$CPID") c_pss=$(pss_kib "$CPID")
echo "## Idle daemon memory (after start-up and one API call)"
echo
echo "| daemon | RSS KiB | PSS KiB | ratio (PSS) |"
echo "|---|---:|---:|---:|"
echo "| ember daemon | $e_rss | $e_pss | 1 |"
echo "| containerd 1.6 (default plugins) | $c_rss | $c_pss | $(awk -v a="$c_pss" -v b="$e_pss" 'BEGIN{printf "%.0f", a/b}') |"
echo

# ---- command latency ------------------------------------------------------
H="hyperfine -N --warmup 20 --runs 200 --style none"
$H --export-json "$T/local.json" \
	"/bin/true" \
	"$EMBER version" \
	"ctr --version" \
	"runc --version" \
	"crun --version" >/dev/null 2>&1
$H --export-json "$T/api.json" \
	"$EMBER -a $T/ember.sock call io.ember.System.Version" \
	"ctr --address $T/ctd/c.sock version" \
	"$EMBER -a $T/ember.sock namespaces ls" \
	"ctr --address $T/ctd/c.sock namespaces ls" >/dev/null 2>&1

echo "## Command latency (hyperfine -N, median of 200 runs)"
echo
echo "| command | median ms | ratio to ember |"
echo "|---|---:|---:|"
show_group() { # file ember-pattern
	local base
	base=$(median_ms "$1" | awk -F'\t' -v p="$2" 'index($1, p) {print $2; exit}')
	median_ms "$1" | while IFS=$'\t' read -r cmd ms; do
		cmd=${cmd//$T/\$T}; cmd=${cmd//$EMBER/ember}
		echo "| \`$cmd\` | $ms | $(awk -v a="$ms" -v b="$base" 'BEGIN{printf "%.2f", a/b}') |"
	done
}
show_group "$T/local.json" "version"
show_group "$T/api.json" "System.Version"
echo
echo "Ratios above 1 mean the peer is slower. In the API group the base is"
echo "\`ember call io.ember.System.Version\` (client start + connect + one call)."
echo

# ---- pull (content only) --------------------------------------------------
# The larger test image (5 layers, ~38 MB, one zstd) from a local
# docker-registry; each run starts from an empty store (checked), the two
# tools take turns, and each daemon's peak RSS is read from VmHWM after
# resetting it (clear_refs 5) before the pull.
bench_infra
image_big "$T/big" 40 >/dev/null
registry_start bench plain >/dev/null
PIDS+=("$REGISTRY_BENCH_PID")
registry_push_oci "$T/big" "$REGISTRY_BENCH_ADDR/big:latest" >/dev/null
REF=$REGISTRY_BENCH_ADDR/big:latest
image_bytes=$(/usr/bin/python3 -c 'import json,sys; i=json.load(open(sys.argv[1])); print(sum(l["size"] for m in i["manifests"] for l in m["layers"]))' <(echo "$IMAGE_INFO") 2>/dev/null || echo "?")

e_times=() c_times=() e_hwm=0 c_hwm=0
for round in 0 1 2 3 4 5; do
	bench_ember_empty
	hwm_reset "$EPID"
	t0=$(now_ms)
	"$EMBER" -a "$T/ember.sock" pull --plain-http --no-unpack "$REF" >/dev/null
	t1=$(now_ms)
	h=$(hwm_kib "$EPID")
	bench_ctd_empty
	hwm_reset "$CPID"
	t2=$(now_ms)
	ctr --address "$T/ctd/c.sock" content fetch --plain-http "$REF" >/dev/null 2>&1
	t3=$(now_ms)
	hc=$(hwm_kib "$CPID")
	[ "$round" -eq 0 ] && continue # warm-up
	e_times+=($((t1 - t0))) c_times+=($((t3 - t2)))
	[ "$h" -gt "$e_hwm" ] && e_hwm=$h
	[ "$hc" -gt "$c_hwm" ] && c_hwm=$hc
done
em=$(median "${e_times[@]}") cm=$(median "${c_times[@]}")
echo "## Pull, content only ($image_bytes bytes in 5 layers, local docker-registry, median of 5)"
echo
echo "| | wall ms | ratio | peak daemon RSS KiB | ratio |"
echo "|---|---:|---:|---:|---:|"
echo "| \`ember pull --plain-http --no-unpack\` | $em | 1 | $e_hwm | 1 |"
echo "| \`ctr content fetch --plain-http\` (containerd 1.6) | $cm | $(awk -v a="$cm" -v b="$em" 'BEGIN{printf "%.2f", a/b}') | $c_hwm | $(awk -v a="$c_hwm" -v b="$e_hwm" 'BEGIN{printf "%.1f", a/b}') |"
echo
echo "Runs (ms): ember ${e_times[*]}; ctr ${c_times[*]}."
echo

# ---- pull + unpack -----------------------------------------------------------
# The same image, now into snapshots: `ember pull` (which unpacks every layer
# into an overlay snapshot once snapshots land; content only before that)
# against `ctr images pull` (containerd 1.6, overlayfs snapshotter) and a
# floor made of standard tools: per layer, curl | tee >(sha256sum) |
# gzip/zstd -dc | tar -x into a fresh directory, then sync -f (ember syncs
# before committing a snapshot), with the layers in parallel (as ember
# does) and one after another. Each round starts from an empty store
# (blobs and snapshots, checked) and with no dirty pages (sync, untimed);
# a discarded warm-up and 5 measured rounds, the four taking turns in an
# order that rotates from round to round.
mapfile -t LAYERS < <(/usr/bin/python3 -c '
import json, sys
for l in json.loads(sys.argv[1])["manifests"][0]["layers"]:
    print(l["digest"], l["mediaType"])' "$IMAGE_INFO")
[ "${#LAYERS[@]}" -gt 0 ] || { echo "bench: no layers in IMAGE_INFO" >&2; exit 1; }

# containerd's overlayfs snapshotter must load in its private root and mount
# namespace (it needs d_type and a working overlay mount there).
if ! "${C[@]}" plugins ls | awk '$2 == "overlayfs" && $4 == "ok" {f = 1} END {exit !f}'; then
	echo "bench: containerd's overlayfs snapshotter did not load; its log:" >&2
	grep -i overlay "$T/ctd.log" >&2 || true
	exit 1
fi
host_overlays=$(grep -c ' overlay ' /proc/mounts || true)

# floor_layer DIGEST MEDIATYPE DIR: fetch, hash (into DIR.sha256) and
# extract one layer; the hash is complete when this returns.
floor_layer() {
	local dec
	case "$2" in
	*zstd) dec=(zstd -dc) ;;
	*gzip) dec=(gzip -dc) ;;
	*) echo "bench: layer media type $2?" >&2; return 1 ;;
	esac
	mkdir "$3"
	curl -sf "$REGISTRY_BENCH_URL/v2/big/blobs/$1" |
		{ tee >(sha256sum >"$3.sha256") && wait $!; } | "${dec[@]}" | tar -x -C "$3"
}
# floor_pull par|seq DIR
floor_pull() {
	local mode=$1 dir=$2 i pids=() rc=0
	mkdir "$dir"
	for i in "${!LAYERS[@]}"; do
		# shellcheck disable=SC2086 # "digest mediatype"
		if [ "$mode" = par ]; then
			floor_layer ${LAYERS[$i]} "$dir/$i" &
			pids+=($!)
		else
			floor_layer ${LAYERS[$i]} "$dir/$i" || rc=1
		fi
	done
	for i in "${pids[@]}"; do wait "$i" || rc=1; done
	sync -f "$dir"
	return $rc
}
floor_check() { # DIR: every layer's hash is its digest
	local i d
	for i in "${!LAYERS[@]}"; do
		d=${LAYERS[$i]%% *}
		[ "sha256:$(cut -d' ' -f1 "$1/$i.sha256")" = "$d" ] ||
			{ echo "bench: floor layer $i: hash is not $d" >&2; exit 1; }
	done
}

# One contender's turn: times it (ms into DUR) and reads its daemon's peak.
DUR=0 HWM=0
turn() {
	local t0 t1
	case "$1" in
	ember)
		hwm_reset "$EPID"
		t0=$(now_ms)
		"${E[@]}" pull --plain-http "$REF" >/dev/null
		t1=$(now_ms)
		HWM=$(hwm_kib "$EPID")
		e_snaps=$("${E[@]}" snapshots ls -q | wc -l)
		;;
	ctr)
		hwm_reset "$CPID"
		t0=$(now_ms)
		"${C[@]}" images pull --plain-http --snapshotter overlayfs "$REF" >/dev/null 2>"$T/ctr-pull.err" ||
			{ echo "bench: ctr images pull failed:" >&2; cat "$T/ctr-pull.err" >&2; exit 1; }
		t1=$(now_ms)
		HWM=$(hwm_kib "$CPID")
		c_snaps=$(bench_ctd_snapshots | wc -l)
		[ "$c_snaps" -eq "${#LAYERS[@]}" ] ||
			{ echo "bench: ctr images pull left $c_snaps snapshots, not ${#LAYERS[@]}" >&2; exit 1; }
		;;
	par | seq)
		t0=$(now_ms)
		floor_pull "$1" "$T/floor/$round-$1"
		t1=$(now_ms)
		floor_check "$T/floor/$round-$1"
		;;
	esac
	DUR=$((t1 - t0))
}

# Deleting is done for every contender at the start of a round, and the
# order rotates from round to round: on an ext4 without a journal (this
# machine's), creating files soon after deleting others in the same block
# group costs up to ~1 ms each (the allocator skips inodes deleted in the
# last minute), which would otherwise load it on whoever comes after a
# clean-up. The floor's trees are kept until the end for the same reason.
declare -A times=()
ue_hwm=0 uc_hwm=0 e_snaps=- c_snaps=-
contenders=(ember ctr par seq)
mkdir "$T/floor"
for round in 0 1 2 3 4 5; do
	bench_ember_empty
	bench_ctd_empty
	for k in 0 1 2 3; do
		c=${contenders[$(((k + round) % 4))]}
		sync
		turn "$c"
		[ "$round" -eq 0 ] && continue # warm-up
		times[$c]+=" $DUR"
		[ "$c" = ember ] && [ "$HWM" -gt "$ue_hwm" ] && ue_hwm=$HWM
		[ "$c" = ctr ] && [ "$HWM" -gt "$uc_hwm" ] && uc_hwm=$HWM
	done
done
rm -rf "$T/floor"
read -ra ue_times <<<"${times[ember]}"
read -ra uc_times <<<"${times[ctr]}"
read -ra fp_times <<<"${times[par]}"
read -ra fs_times <<<"${times[seq]}"
[ "$(grep -c ' overlay ' /proc/mounts || true)" -eq "$host_overlays" ] ||
	echo "bench: warning: overlay mounts appeared in the host's mount namespace" >&2

uem=$(median "${ue_times[@]}") ucm=$(median "${uc_times[@]}")
fpm=$(median "${fp_times[@]}") fsm=$(median "${fs_times[@]}")
e_what="unpacks ($e_snaps snapshots)"
echo "## Pull + unpack ($image_bytes bytes in ${#LAYERS[@]} layers, local docker-registry, median of 5)"
echo
echo "| | wall ms | ratio to ember | peak daemon RSS KiB | ratio |"
echo "|---|---:|---:|---:|---:|"
echo "| \`ember pull --plain-http\`, $e_what | $uem | 1 | $ue_hwm | 1 |"
echo "| \`ctr images pull --plain-http\` (containerd 1.6, overlayfs, $c_snaps snapshots) | $ucm | $(ratio "$ucm" "$uem") | $uc_hwm | $(awk -v a="$uc_hwm" -v b="$ue_hwm" 'BEGIN{printf "%.1f", a/b}') |"
echo "| floor: \`curl \| tee >(sha256sum) \| gzip/zstd -dc \| tar -x\`, layers in parallel, \`sync -f\` | $fpm | $(ratio "$fpm" "$uem") | – | – |"
echo "| floor, layers one after another | $fsm | $(ratio "$fsm" "$uem") | – | – |"
echo
echo "ember / floor: $(ratio "$uem" "$fpm") (parallel floor), $(ratio "$uem" "$fsm") (sequential floor)."
echo "Runs (ms): ember ${ue_times[*]}; ctr ${uc_times[*]}; floor parallel ${fp_times[*]}; floor sequential ${fs_times[*]}."
t_src=$(findmnt -n -o SOURCE --target "$T" 2>/dev/null || true)
if [ "$(findmnt -n -o FSTYPE --target "$T" 2>/dev/null || true)" = ext4 ] &&
	! find /proc/fs/jbd2 -maxdepth 1 -name "${t_src##*/}-*" 2>/dev/null | grep -q .; then
	echo
	echo "\$T is on an ext4 without a journal: there, creating a file soon after"
	echo "others were deleted in the same block group costs up to ~1 ms, so the"
	echo "times depend on what else deleted files lately (other builds included)."
fi

# ---- containers -----------------------------------------------------------------
echo
tests/bench/containers.sh "$EMBER"
echo
tests/bench/oci.sh "$EMBER"
echo
tests/bench/network.sh "$EMBER"
echo
tests/bench/jobs.sh "$EMBER"
echo
tests/bench/btrfs.sh "$EMBER"
echo
tests/bench/storage.sh "$EMBER"
echo
tests/bench/revisions.sh "$EMBER"
echo
tests/bench/signatures.sh "$EMBER"
