#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Running containers, ember next to its peers in one run, as ratios:
#   - start to exit of `true` in a fresh container: `ember run --rm`,
#     `ctr run --rm` (containerd 1.6 + shim + runc), `crun run` and
#     `runc run` of a prepared bundle, and `unshare ... chroot ... true`
#     as the floor;
#   - memory per container with 10 and 100 sleeping containers: the PSS of
#     each `ember init` and the daemon's growth, against containerd's shim
#     per container and its growth.
# Part of tests/bench/run.sh; runs alone too:  containers.sh path/to/ember
set -euo pipefail
cd "$(dirname "$0")/../.."

EMBER=$(realpath "${1:?usage: containers.sh path/to/ember}")
T=$(mktemp -d /tmp/ember-bench-run.XXXXXX)
PIDS=()
N_BIG=${BENCH_CONTAINERS:-100}
# shellcheck source=lib.sh
source tests/bench/lib.sh
cleanup() {
	set +e
	for id in $(seq 1 "$N_BIG"); do
		"$EMBER" -a "$T/ember.sock" tasks kill -s KILL "s$id" >/dev/null 2>&1
		ctr --address "$T/ctd/c.sock" -n default tasks kill -s SIGKILL "s$id" >/dev/null 2>&1
	done
	sleep 1
	# A shim outlives containerd until its task is deleted: delete them,
	# and stop any shim of this run still there (by pid).
	for id in $(seq 1 "$N_BIG"); do
		ctr --address "$T/ctd/c.sock" -n default tasks delete "s$id" >/dev/null 2>&1
	done
	local p
	for p in $(declare -F shims >/dev/null && shims); do kill -KILL "$p" 2>/dev/null; done
	for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
	bench_cgroups_cleanup s
	for m in $(grep -o "$T[^ ]*" /proc/mounts | sort -r); do umount -l "$m" 2>/dev/null; done
	rm -rf "$T"
}
trap cleanup EXIT

bench_infra
image_busybox "$T/bb" >/dev/null
registry_start benchrun plain >/dev/null
PIDS+=("$REGISTRY_BENCHRUN_PID")
registry_push_oci "$T/bb" "$REGISTRY_BENCHRUN_ADDR/bb:latest" >/dev/null
REF=$REGISTRY_BENCHRUN_ADDR/bb:latest

bench_daemons
"${E[@]}" pull --plain-http "$REF" >/dev/null
"${C[@]}" images pull --plain-http "$REF" >/dev/null

# A bundle for crun and runc: the image's tree and crun's default spec,
# running /bin/true without a terminal.
mkdir -p "$T/bundle/rootfs" "$T/mnt"
"${E[@]}" images mount "$REF" "$T/mnt" >/dev/null
cp -a "$T/mnt/." "$T/bundle/rootfs/"
"${E[@]}" images unmount "$T/mnt" >/dev/null
(cd "$T/bundle" && crun spec)
/usr/bin/python3 - "$T/bundle/config.json" <<'EOF'
import json, sys
s = json.load(open(sys.argv[1]))
s["process"]["terminal"] = False
s["process"]["args"] = ["/bin/true"]
json.dump(s, open(sys.argv[1], "w"))
EOF

median_ms() {
	/usr/bin/python3 -c '
import json, statistics, sys
for r in json.load(open(sys.argv[1]))["results"]:
    print("%s\t%.2f" % (r["command"], statistics.median(r["times"]) * 1000))' "$1"
}
# crun refuses the v1/v2 hybrid layout of this machine outright; it runs
# in a mount namespace where the (controller-less) v2 tree is unmounted,
# which leaves it plain v1 as ember and runc see it.
cat >"$T/crun.sh" <<EOF
#!/bin/sh
exec unshare -m --propagation private sh -c 'umount /sys/fs/cgroup/unified 2>/dev/null; exec crun run -b "$T/bundle" "\$1" >/dev/null' sh "\$1"
EOF
chmod +x "$T/crun.sh"
cat >"$T/unshare-floor.sh" <<EOF
#!/bin/sh
exec unshare -m -p -n -i -u -f chroot "$T/bundle/rootfs" /bin/true
EOF
chmod +x "$T/unshare-floor.sh"
runs=${BENCH_RUNS:-30}
cmds=("${E[*]} run --rm $REF r1 true" "${E[*]} run --rm --uidmap 0:100000:65536 $REF r2 true"
	"${C[*]} run --rm --null-io $REF r1 true" "$T/crun.sh c1" "runc run -b $T/bundle r1"
	"$T/unshare-floor.sh")
for c in "${cmds[@]}"; do
	# shellcheck disable=SC2086
	$c >"$T/one.out" 2>&1 || { echo "bench: $c failed:" >&2; cat "$T/one.out" >&2; exit 1; }
done
hyperfine -N --warmup 3 --runs "$runs" --style none --export-json "$T/run.json" \
	"${E[*]} run --rm $REF r1 true" \
	"${E[*]} run --rm --uidmap 0:100000:65536 $REF r2 true" \
	"${C[*]} run --rm --null-io $REF r1 true" \
	"$T/crun.sh c1" \
	"runc run -b $T/bundle r1" \
	"$T/unshare-floor.sh" >"$T/hyperfine.out" 2>"$T/hyperfine.err" || { tail -5 "$T/hyperfine.out" "$T/hyperfine.err" >&2; tail -20 "$T/ember.log" >&2; exit 1; }

echo "## Run a container (\`true\`, start to exit, hyperfine -N, median of $runs)"
echo
echo "| | median ms | ratio to ember |"
echo "|---|---:|---:|"
base=$(median_ms "$T/run.json" | awk -F'\t' 'NR == 1 {print $2; exit}')
median_ms "$T/run.json" | while IFS=$'\t' read -r cmd ms; do
	case "$cmd" in
	*crun.sh*) what='`crun run -b BUNDLE` (prepared bundle, no snapshot, no daemon)' ;;
	runc*) what='`runc run -b BUNDLE` (prepared bundle, no snapshot, no daemon)' ;;
	*unshare-floor*) what='floor: `unshare -mpniuf chroot ROOTFS /bin/true`' ;;
	ctr*) what='`ctr run --rm --null-io REF id true` (containerd 1.6, shim, runc, overlay snapshot; no stdio fifos)' ;;
	*--uidmap*) what='`ember run --rm --uidmap 0:100000:65536 REF id true` (own user namespace: idmapped layers, bound devices)' ;;
	*) what='`ember run --rm REF id true` (daemon, ember init, overlay snapshot, stdio passed)' ;;
	esac
	echo "| $what | $ms | $(awk -v a="$ms" -v b="$base" 'BEGIN{printf "%.2f", a/b}') |"
done
echo

# ---- where the start's time goes ------------------------------------------------------
# By difference, every figure from this run: the same run with the daemon's
# root on a tmpfs (no disk: fsyncs and ext4 cost nothing), with the host's
# network (no network namespace), a container's create alone and its
# removal alone, and a client's bare round trip.
mkdir -p "$T/tmpfs-root"
mount -t tmpfs tmpfs "$T/tmpfs-root"
"$EMBER" daemon --config "$T/empty.toml" --root "$T/tmpfs-root/root" --state "$T/tmpfs-root/state" \
	--address "$T/tmpfs-root/ember.sock" 2>"$T/ember-tmpfs.log" &
PIDS+=("$!")
ET=("$EMBER" -a "$T/tmpfs-root/ember.sock")
bench_wait_api ember-tmpfs "${ET[@]}" info
"${ET[@]}" pull --plain-http "$REF" >/dev/null
hyperfine -N --warmup 3 --runs "$runs" --style none --export-json "$T/parts.json" \
	"${E[*]} run --rm $REF p1 true" \
	"${ET[*]} run --rm $REF p2 true" \
	"${E[*]} run --rm --net-host $REF p3 true" \
	"${E[*]} call io.ember.System.Version" \
	"$T/unshare-floor.sh" >/dev/null 2>"$T/hyperfine.err" || { cat "$T/hyperfine.err" >&2; exit 1; }
hyperfine -N --warmup 3 --runs "$runs" --style none --export-json "$T/create.json" \
	--prepare "sh -c '${E[*]} containers rm p4 >/dev/null 2>&1 || true'" \
	"${E[*]} containers create $REF p4" >/dev/null 2>"$T/hyperfine.err" || { cat "$T/hyperfine.err" >&2; exit 1; }
hyperfine -N --warmup 3 --runs "$runs" --style none --export-json "$T/rm.json" \
	--prepare "sh -c '${E[*]} containers create $REF p4 >/dev/null 2>&1 || true'" \
	"${E[*]} containers rm p4" >/dev/null 2>"$T/hyperfine.err" || { cat "$T/hyperfine.err" >&2; exit 1; }
part() { median_ms "$1" | awk -F'\t' -v n="$2" 'NR == n {print $2}'; }
p_run=$(part "$T/parts.json" 1) p_tmpfs=$(part "$T/parts.json" 2) p_host=$(part "$T/parts.json" 3)
p_call=$(part "$T/parts.json" 4) p_floor=$(part "$T/parts.json" 5)
p_create=$(part "$T/create.json" 1) p_rm=$(part "$T/rm.json" 1)
calc() { awk "BEGIN {printf \"%.2f\", $1}"; }
echo "## Where \`ember run --rm REF id true\` spends its time (medians of $runs, one run)"
echo
echo "| part | ms | how it is found |"
echo "|---|---:|---|"
echo "| the whole \`run --rm\` | $p_run | measured |"
echo "| floor: \`unshare -mpniuf chroot ROOTFS /bin/true\` | $p_floor | measured; ember / floor = $(calc "$p_run / $p_floor") |"
echo "| a client process and one API call (\`ember call io.ember.System.Version\`) | $p_call | measured |"
echo "| the daemon's part of \`containers create\` (spec, overlay snapshot, records) | $(calc "$p_create - $p_call") | \`containers create\` ($p_create) − a call |"
echo "| the daemon's part of \`containers rm\` (snapshot tree, records) | $(calc "$p_rm - $p_call") | \`containers rm\` ($p_rm) − a call |"
echo "| the task: start (cgroups, clone3, mounts, ember init), wait, delete | $(calc "$p_run - $p_create - $p_rm + $p_call") | the whole − create − rm + a call |"
echo "| … of all that, the disk (fsyncs of records and trees, ext4) | $(calc "$p_run - $p_tmpfs") | the whole ($p_run) − the same with the root on a tmpfs ($p_tmpfs) |"
echo "| … of all that, the network namespace | $(calc "$p_run - $p_host") | the whole − the same with \`--net-host\` ($p_host) |"
echo

# ---- memory per container ------------------------------------------------------
pss_kib() { awk '/^Pss:/ {print $2}' "/proc/$1/smaps_rollup"; }
rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
# PSS of the processes whose parent is $1... (shims), or the given pids.
sum_pss() {
	local s=0 p
	for p in "$@"; do s=$((s + $(pss_kib "$p"))); done
	echo "$s"
}
ember_inits() {
	local f
	for f in "$T"/ember/state/tasks/default/*/task.json; do
		/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["pid"])' "$f"
	done
}
shims() { # containerd-shim-runc-v2 processes started by this containerd
	local p
	for p in $(pgrep -x containerd-shim || true) $(pgrep -f containerd-shim-runc-v2 || true); do
		grep -q "$T/ctd" "/proc/$p/cmdline" 2>/dev/null && echo "$p"
	done | sort -u
}
e_base=$(rss_kib "$EPID") c_base=$(rss_kib "$CPID")
echo "## Memory per sleeping container"
echo
echo "| containers | ember init PSS KiB (each, median) | ember daemon RSS growth KiB (per container) | containerd shim PSS KiB (each, median) | containerd RSS growth KiB (per container) | ratio (per-container PSS) |"
echo "|---:|---:|---:|---:|---:|---:|"
started=0
for n in 10 "$N_BIG"; do
	while [ "$started" -lt "$n" ]; do
		started=$((started + 1))
		"${E[@]}" run -d "$REF" "s$started" sleep 3600 >/dev/null
		"${C[@]}" run -d --null-io "$REF" "s$started" sleep 3600 >/dev/null
	done
	sleep 2
	mapfile -t ip < <(ember_inits)
	mapfile -t sp < <(shims)
	med() { printf '%s\n' "$@" | sort -n | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }
	ipss=() spss=()
	for p in "${ip[@]}"; do ipss+=("$(pss_kib "$p")"); done
	for p in "${sp[@]}"; do spss+=("$(pss_kib "$p")"); done
	ei=$(med "${ipss[@]}") cs=$(med "${spss[@]:-0}")
	eg=$(( ($(rss_kib "$EPID") - e_base) / n )) cg=$(( ($(rss_kib "$CPID") - c_base) / n ))
	echo "| $n | $ei | $eg | $cs (${#sp[@]} shims) | $cg | $(awk -v a="$cs" -v b="$ei" 'BEGIN{printf "%.0f", b ? a/b : 0}') |"
done
echo
echo "ember: no process per container besides its \`ember init\` (PID 1 inside it); containerd: one shim per container (plus runc's init, not counted)."
