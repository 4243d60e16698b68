#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# ember's oci role next to runc and crun, in one run, as ratios:
#   - `run` of /bin/true on one busybox bundle (umoci's, as
#     tests/integration/lib/oci.bash makes them; process.terminal false),
#     each runtime with a --root of its own on a tmpfs; then create, start
#     and delete each timed alone; the peak RSS of each runtime (GNU
#     time's %M);
#   - `ctr run --rm --null-io IMG id /bin/true` by containerd 1.6 with
#     runc, with ember as its runc (`--runc-binary`, a link named runc)
#     and with crun.
# crun 1.8.1 refuses this machine's v1/v2 hybrid cgroups, so it runs in a
# private mount namespace without the controller-less cgroup2 mount
# (../../shared/notes/peers.md): every runtime runs in that same wrapper,
# and the wrapper's own cost is measured beside it (bare ember and runc,
# and the wrapper running /bin/true). Rounds of hyperfine -N, the three
# interleaved in each; medians of the rounds' medians and their range.
# Part of tests/bench/run.sh; runs alone too:  oci.sh path/to/ember
#   BENCH_ROUNDS (5), BENCH_RUNS per round (20)
set -euo pipefail
cd "$(dirname "$0")/../.."

EMBER=$(realpath "${1:?usage: oci.sh path/to/ember}")
T=$(mktemp -d /tmp/ember-bench-oci.XXXXXX)
PIDS=()
ROUNDS=${BENCH_ROUNDS:-5}
RUNS=${BENCH_RUNS:-20}
ID=ob$$
# shellcheck source=lib.sh
source tests/bench/lib.sh
CG_BEFORE=" $(echo /sys/fs/cgroup/*/default /sys/fs/cgroup/*/ember-oci) "
cleanup() {
	set +e
	local p d
	"$T/ns" "$EMBER" oci --root "$T/run/ember" delete --force "$ID-e" >/dev/null 2>&1
	"$T/ns" runc --root "$T/run/runc" delete --force "$ID-r" >/dev/null 2>&1
	"$T/ns" crun --root "$T/run/crun" delete --force "$ID-c" >/dev/null 2>&1
	# containerd's shims (one per task; ctr run --rm leaves none unless
	# interrupted), then containerd.
	for p in $(pgrep -f containerd-shim-runc-v2); do
		grep -qsF "$T/ctd" "/proc/$p/cmdline" && kill -KILL "$p" 2>/dev/null
	done
	for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
	for d in /sys/fs/cgroup/*/ember-oci/"$ID"* /sys/fs/cgroup/*/"$ID"* /sys/fs/cgroup/*/default/"$ID"*; do
		[ -d "$d" ] && rmdir "$d" 2>/dev/null
	done
	for d in /sys/fs/cgroup/*/ember-oci /sys/fs/cgroup/*/default; do
		[[ "$CG_BEFORE" == *" $d "* ]] || rmdir "$d" 2>/dev/null
	done
	for m in $(grep -o "${T}[^ ]*" /proc/mounts | sort -r); do umount -l "$m" 2>/dev/null; done
	rm -rf "$T"
}
trap cleanup EXIT

bench_infra
image_busybox "$T/bb" >/dev/null
image_unpack_root "$T/bb" "$T/bundle"
/usr/bin/python3 - "$T/bundle/config.json" <<'EOF'
import json, sys
s = json.load(open(sys.argv[1]))
s["process"]["terminal"] = False
s["process"]["args"] = ["/bin/true"]
json.dump(s, open(sys.argv[1], "w"))
EOF

# The wrapper: a private mount namespace without the cgroup2 mount.
cat >"$T/ns" <<'EOF'
#!/bin/sh
exec unshare -m --propagation private sh -c 'umount /sys/fs/cgroup/unified 2>/dev/null; exec "$@"' sh "$@"
EOF
chmod +x "$T/ns"
B=$T/bundle
# The runtimes' state on a tmpfs, as /run is (their defaults are there).
mkdir "$T/run"
mount -t tmpfs -o mode=0711 tmpfs "$T/run"
declare -A RT=(
	[ember]="$EMBER oci --root $T/run/ember"
	[runc]="runc --root $T/run/runc"
	[crun]="crun --root $T/run/crun"
)
declare -A CID=([ember]=$ID-e [runc]=$ID-r [crun]=$ID-c)
NAMES=(ember runc crun)
load=$(cut -d' ' -f1-3 /proc/loadavg)

# rounds NAME ARGS...: ROUNDS hyperfine runs of the same commands into
# $T/NAME-ROUND.json.
rounds() {
	local name=$1 r
	shift
	for r in $(seq 1 "$ROUNDS"); do
		hyperfine -N --warmup 3 --runs "$RUNS" --style none --export-json "$T/$name-$r.json" "$@" \
			>"$T/hyperfine.out" 2>&1 || { tail -20 "$T/hyperfine.out" >&2; exit 1; }
	done
}
# summary NAME: "median<TAB>min-max" of the rounds' medians (ms), a line
# per command in the order given.
summary() {
	/usr/bin/python3 - "$T/$1" "$ROUNDS" <<'EOF'
import json, statistics, sys
rounds = [json.load(open("%s-%d.json" % (sys.argv[1], r)))["results"] for r in range(1, int(sys.argv[2]) + 1)]
for i in range(len(rounds[0])):
    m = [statistics.median(rs[i]["times"]) * 1000 for rs in rounds]
    print("%.2f\t%.2f–%.2f" % (statistics.median(m), min(m), max(m)))
EOF
}
once() { # every command must work before it is timed
	"$@" >"$T/one.out" 2>&1 || { echo "bench: $* failed:" >&2; cat "$T/one.out" >&2; exit 1; }
}

# ---- run --------------------------------------------------------------------
cmds=()
for n in "${NAMES[@]}"; do cmds+=("$T/ns ${RT[$n]} run -b $B ${CID[$n]}"); done
cmds+=("${RT[ember]} run -b $B ${CID[ember]}" "${RT[runc]} run -b $B ${CID[runc]}" "$T/ns /bin/true"
	"unshare -mpniuf chroot $B/rootfs /bin/true")
# shellcheck disable=SC2086 # the commands are words
for c in "${cmds[@]}"; do once $c; done
rounds run "${cmds[@]}"
mapfile -t S < <(summary run)
med() { echo "${S[$1]%%$'\t'*}"; }
rng() { echo "${S[$1]#*$'\t'}"; }
echo "## \`ember oci\` against runc and crun: run /bin/true (hyperfine -N, $ROUNDS rounds of $RUNS, median of the rounds' medians)"
echo
echo "Load average at the start: $load."
echo
echo "| command (busybox bundle, no terminal) | median ms | range of rounds | ratio to ember |"
echo "|---|---:|---:|---:|"
what=("\`ember oci run\`, in the wrapper" "\`runc run\` 1.1.5, in the wrapper" "\`crun run\` 1.8.1, in the wrapper"
	"\`ember oci run\`, bare" "\`runc run\`, bare" "the wrapper alone: \`unshare -m\`, \`sh\`, \`umount\`, \`/bin/true\`"
	"floor: \`unshare -mpniuf chroot ROOTFS /bin/true\`")
for i in "${!what[@]}"; do
	echo "| ${what[$i]} | $(med "$i") | $(rng "$i") | $(ratio "$(med "$i")" "$(med 0)") |"
done
echo
echo "ember / crun: $(ratio "$(med 0)" "$(med 2)") (goal ≤ 1.2); ember / runc: $(ratio "$(med 0)" "$(med 1)") (goal < 1)."
echo "The wrapper is \`unshare -m --propagation private sh -c 'umount /sys/fs/cgroup/unified; exec RUNTIME …'\`."
echo

# ---- create, start, delete alone ------------------------------------------------
# Each timed alone, what comes before it done untimed (hyperfine's
# --prepare, one per command): create after the last one's delete; start
# of a created container; delete of one whose true has exited (its state
# says stopped).
args=()
for op in create start delete; do
	for n in "${NAMES[@]}"; do
		r="$T/ns ${RT[$n]}" id=${CID[$n]}
		pre="$r delete --force $id >/dev/null 2>&1;"
		[ "$op" = create ] || pre+=" $r create -b $B $id >/dev/null 2>&1 || exit 1;"
		[ "$op" = delete ] && pre+=" $r start $id || exit 1; until $r state $id | grep -q stopped; do sleep 0.01; done"
		case $op in
		create) c="$r create -b $B $id" ;;
		*) c="$r $op $id" ;;
		esac
		args+=(--prepare "sh -c '$pre'" "$c")
	done
	rounds "$op" "${args[@]}"
	args=()
done
echo "## create, start, delete, each timed alone (every runtime in the wrapper; hyperfine -N, $ROUNDS rounds of $RUNS)"
echo
echo "| step | ember ms | runc ms | crun ms | ember / runc | ember / crun |"
echo "|---|---:|---:|---:|---:|---:|"
for op in create start delete; do
	mapfile -t S < <(summary "$op")
	echo "| \`$op\` | $(med 0) ($(rng 0)) | $(med 1) ($(rng 1)) | $(med 2) ($(rng 2)) | $(ratio "$(med 0)" "$(med 1)") | $(ratio "$(med 0)" "$(med 2)") |"
done
echo

# ---- peak RSS -------------------------------------------------------------------
# GNU time's %M is the wait4 rusage's ru_maxrss: the largest resident set of
# the runtime's process or of any descendant it reaped, kept across exec.
# For `run` that includes the container's own true; for `create` it is the
# runtime's processes alone (the container's init is left waiting, not
# reaped; runc's intermediate `runc init` is).
declare -A rss=()
for r in $(seq 1 "$((ROUNDS * 3))"); do
	for n in "${NAMES[@]}"; do
		for op in run create; do
			# shellcheck disable=SC2086 # the runtime's command is words
			once "$T/ns" /usr/bin/time -f %M -o "$T/rss" ${RT[$n]} $op -b "$B" "${CID[$n]}"
			rss[$n-$op]+=" $(cat "$T/rss")"
		done
		# shellcheck disable=SC2086
		once "$T/ns" ${RT[$n]} delete --force "${CID[$n]}"
	done
done
# The container's own true (busybox, static) run on the host.
once /usr/bin/time -f %M -o "$T/rss" "$B/rootfs/bin/true"
floor_rss=$(cat "$T/rss")
# shellcheck disable=SC2086 # lists of numbers
rss_of() { median ${rss[$1-$2]}; }
# shellcheck disable=SC2086
rss_range() { printf '%s\n' ${rss[$1-$2]} | sort -n | awk 'NR == 1 {a = $1} {b = $1} END {print a "–" b}'; }
echo "## Peak RSS (GNU time %M, KiB, median of $((ROUNDS * 3)), every runtime in the wrapper)"
echo
echo "| runtime | \`run\` (the container's true included) | range | ratio to ember | \`create\` (the runtime's processes alone) | range | ratio to ember |"
echo "|---|---:|---:|---:|---:|---:|---:|"
for n in "${NAMES[@]}"; do
	echo "| $n | $(rss_of "$n" run) | $(rss_range "$n" run) | $(ratio "$(rss_of "$n" run)" "$(rss_of ember run)") |" \
		"$(rss_of "$n" create) | $(rss_range "$n" create) | $(ratio "$(rss_of "$n" create)" "$(rss_of ember create)") |"
done
echo
echo "%M is the largest process of the runtime's tree (reaped descendants count);"
echo "for scale, the bundle's own \`/bin/true\` (busybox, static) run alone: $floor_rss KiB."
echo

# ---- ember as containerd's runc -----------------------------------------------------
# containerd in a private mount namespace (its own /run, and without the
# cgroup2 mount so that crun works under it too; runc and ember see the
# same plain v1).
mkdir -p "$T/bin"
ln -s "$EMBER" "$T/bin/runc"
bench_containerd 'umount /sys/fs/cgroup/unified 2>/dev/null'
tar -C "$T/bb" -cf "$T/bb.tar" .
once "${C[@]}" images import --base-name example.com/bb "$T/bb.tar"
IMG=example.com/bb:latest
ccmds=("${C[*]} run --rm --null-io $IMG $ID-cr /bin/true"
	"${C[*]} run --rm --null-io --runc-binary $T/bin/runc $IMG $ID-ce /bin/true"
	"${C[*]} run --rm --null-io --runc-binary /usr/bin/crun $IMG $ID-cc /bin/true")
# shellcheck disable=SC2086
for c in "${ccmds[@]}"; do once $c; done
rounds ctr "${ccmds[@]}"
mapfile -t S < <(summary ctr)
echo "## ember as containerd's runc: \`ctr run --rm --null-io IMG id /bin/true\` (hyperfine -N, $ROUNDS rounds of $RUNS)"
echo
echo "| runtime under containerd 1.6 (io.containerd.runc.v2 shim) | median ms | range of rounds | ratio to runc |"
echo "|---|---:|---:|---:|"
echo "| runc 1.1.5 (the default) | $(med 0) | $(rng 0) | 1 |"
echo "| ember (\`--runc-binary\`: a link named runc) | $(med 1) | $(rng 1) | $(ratio "$(med 1)" "$(med 0)") |"
echo "| crun 1.8.1 (\`--runc-binary /usr/bin/crun\`) | $(med 2) | $(rng 2) | $(ratio "$(med 2)" "$(med 0)") |"
echo
echo "Load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)."
