#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# The daemon under load, ember next to containerd 1.6 in one run:
#   - API latency: p50/p99/max of io.ember.System.Info from a separate
#     client (tests/integration/varlink_raw.py latency: a new connection per
#     call, 5 ms apart), idle and while each of these runs: an import of a
#     1 GiB image (unpacked as it is read), the big test image's pull +
#     unpack, 50 concurrent `run -d`, a GC of 1,000 blobs;
#   - import + unpack of the big test image: `ember images import` against
#     `ctr images import` (which unpacks too), wall time and daemon peak RSS;
#   - 50 concurrent `run -d`: ember against `ctr run -d`, wall time until
#     all 50 clients returned.
# Part of tests/bench/run.sh; runs alone too:  jobs.sh path/to/ember
#   BENCH_HUGE_MB (default 1024): the size of the image imported under load.
set -euo pipefail
cd "$(dirname "$0")/../.."

EMBER=$(realpath "${1:?usage: jobs.sh path/to/ember}")
T=$(mktemp -d /tmp/ember-bench-jobs.XXXXXX)
PIDS=()
N_RUN=50
HUGE_MB=${BENCH_HUGE_MB:-1024}
# shellcheck source=lib.sh
source tests/bench/lib.sh

cleanup() {
	set +e
	bench_kill_runs
	for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
	bench_cgroups_cleanup j
	for m in $(grep -o "$T[^ ]*" /proc/mounts | sort -r); do umount -l "$m" 2>/dev/null; done
	rm -rf "$T"
}
trap cleanup EXIT

# The 50 containers of a `run -d` round, on both sides, gone again.
bench_kill_runs() {
	local i
	[ -n "${E+set}" ] || return 0
	for i in $(seq 1 "$N_RUN"); do
		"${E[@]}" tasks kill -s KILL "j$i" >/dev/null 2>&1 || true
		"${C[@]}" tasks kill -s SIGKILL "j$i" >/dev/null 2>&1 || true
	done
	sleep 1
	for i in $(seq 1 "$N_RUN"); do
		"${E[@]}" tasks delete "j$i" >/dev/null 2>&1 || true
		"${E[@]}" containers rm "j$i" >/dev/null 2>&1 || true
		"${C[@]}" tasks delete "j$i" >/dev/null 2>&1 || true
		"${C[@]}" containers rm "j$i" >/dev/null 2>&1 || true
	done
}

bench_infra
image_busybox "$T/bb" >/dev/null
image_big "$T/big" 40 >/dev/null
tar -C "$T/big" -cf "$T/big.tar" .
image_big "$T/huge" "$HUGE_MB" >/dev/null
tar -C "$T/huge" -cf "$T/huge.tar" .
rm -rf "$T/huge"
registry_start benchjobs plain >/dev/null
PIDS+=("$REGISTRY_BENCHJOBS_PID")
registry_push_oci "$T/bb" "$REGISTRY_BENCHJOBS_ADDR/bb:latest" >/dev/null
registry_push_oci "$T/big" "$REGISTRY_BENCHJOBS_ADDR/big:latest" >/dev/null
BB=$REGISTRY_BENCHJOBS_ADDR/bb:latest
BIG=$REGISTRY_BENCHJOBS_ADDR/big:latest
bench_daemons
"${E[@]}" pull --plain-http "$BB" >/dev/null
"${C[@]}" images pull --plain-http "$BB" >/dev/null

# ---- API latency under load ------------------------------------------------------

# runs50 CLIENT...: 50 `run -d` of `sleep 3600` at once; returns when all did.
# A failure says which and why (from its stderr).
runs50() {
	local i pids=() rc=0
	for i in $(seq 1 "$N_RUN"); do
		"$@" "j$i" sleep 3600 >/dev/null 2>"$T/run-j$i.err" &
		pids+=($!)
	done
	for i in $(seq 1 "$N_RUN"); do
		wait "${pids[$((i - 1))]}" && continue
		[ "$rc" = 1 ] || echo "bench: j$i: $(head -c 300 "$T/run-j$i.err")" >&2
		rc=1
	done
	return $rc
}
# 1,000 blobs no record uses, written straight into the store (GC's input).
thousand_blobs() {
	/usr/bin/python3 - "$T/ember/root/content/blobs/sha256" <<'EOF'
import hashlib, os, sys
for i in range(1000):
    data = os.urandom(64 + i)
    path = os.path.join(sys.argv[1], hashlib.sha256(data).hexdigest())
    with open(path, "wb") as f:
        f.write(data)
EOF
}

declare -A LAT=() WALL=()
# under NAME COMMAND...: the command's wall time, and the probe's figures
# while it ran.
# Each from a clean page cache state (sync first): a case is measured
# alone, not under the writeback of the one before.
under() {
	local name=$1 t0 t1
	shift
	sync
	rm -f "$T/done"
	/usr/bin/python3 tests/integration/varlink_raw.py "$T/ember.sock" latency --until-file "$T/done" \
		--count 200000 >"$T/lat.out" 2>&1 &
	local probe=$!
	sleep 0.2
	t0=$(now_ms)
	"$@" >"$T/under.out" 2>&1 || { echo "bench: $name: $* failed:" >&2; cat "$T/under.out" >&2; exit 1; }
	t1=$(now_ms)
	touch "$T/done"
	wait "$probe" || { echo "bench: the latency probe failed:" >&2; cat "$T/lat.out" >&2; exit 1; }
	LAT[$name]=$(cat "$T/lat.out")
	WALL[$name]=$((t1 - t0))
}

under idle sleep 2
under import "${E[@]}" images import --base-name bench/huge "$T/huge.tar"
under pull "${E[@]}" pull --plain-http "$BIG"
under run50 runs50 "${E[@]}" run -d "$BB"
bench_kill_runs
thousand_blobs
under gc "${E[@]}" content gc
huge_bytes=$(stat -c %s "$T/huge.tar")
"${E[@]}" images rm bench/huge:latest "$BIG" >/dev/null
rm -f "$T/huge.tar"

echo "## API latency under load (\`io.ember.System.Info\`, a new connection per call, one every 5 ms)"
echo
echo "| while | its wall ms | calls | p50 ms | p99 ms | max ms |"
echo "|---|---:|---:|---:|---:|---:|"
row() { # name description
	local calls p50 p99 max
	read -r _ calls _ p50 _ p99 _ max <<<"${LAT[$1]}"
	echo "| $2 | ${WALL[$1]} | $calls | $p50 | $p99 | $max |"
}
row idle "nothing (idle daemon, 2 s)"
row import "\`ember images import\` of a $HUGE_MB MiB image ($huge_bytes bytes, 5 layers, unpacked as read)"
row pull "\`ember pull\` + unpack of the big test image (5 layers, 38 MB)"
row run50 "$N_RUN concurrent \`ember run -d\`"
row gc "\`ember content gc\` of 1,000 unused blobs"
echo
echo "Goal (issue 13): p99 under 20 ms and max under 100 ms in every case."
echo

# ---- import + unpack against ctr ------------------------------------------------------
declare -A TIMES=()
e_hwm=0 c_hwm=0 e_snaps=- c_snaps=-
for round in 0 1 2 3 4 5; do
	bench_ember_empty
	bench_ctd_empty
	for k in 0 1; do
		sync
		if [ $(((k + round) % 2)) -eq 0 ]; then
			hwm_reset "$EPID"
			t0=$(now_ms)
			"${E[@]}" images import --base-name bench/big "$T/big.tar" >/dev/null
			t1=$(now_ms)
			h=$(hwm_kib "$EPID") c=ember
			e_snaps=$("${E[@]}" snapshots ls -q | wc -l)
		else
			hwm_reset "$CPID"
			t0=$(now_ms)
			"${C[@]}" images import --base-name bench/big "$T/big.tar" >/dev/null 2>"$T/ctr.err" ||
				{ echo "bench: ctr images import failed:" >&2; cat "$T/ctr.err" >&2; exit 1; }
			t1=$(now_ms)
			h=$(hwm_kib "$CPID") c=ctr
			c_snaps=$(bench_ctd_snapshots | wc -l)
		fi
		[ "$round" -eq 0 ] && continue # warm-up
		TIMES[$c]+=" $((t1 - t0))"
		if [ "$c" = ember ]; then [ "$h" -le "$e_hwm" ] || e_hwm=$h; else [ "$h" -le "$c_hwm" ] || c_hwm=$h; fi
	done
done
read -ra et <<<"${TIMES[ember]}"
read -ra ct <<<"${TIMES[ctr]}"
em=$(median "${et[@]}") cm=$(median "${ct[@]}")
echo "## Import + unpack of the big test image ($(stat -c %s "$T/big.tar") bytes of OCI archive, median of 5)"
echo
echo "| | wall ms | ratio to ember | peak daemon RSS KiB | ratio |"
echo "|---|---:|---:|---:|---:|"
echo "| \`ember images import\` ($e_snaps snapshots) | $em | 1 | $e_hwm | 1 |"
echo "| \`ctr images import\` (containerd 1.6, overlayfs, $c_snaps snapshots) | $cm | $(ratio "$cm" "$em") | $c_hwm | $(ratio "$c_hwm" "$e_hwm") |"
echo
echo "Runs (ms): ember ${et[*]}; ctr ${ct[*]}. Goal (issue 13): ≥ 2× faster, peak RSS ≤ 2 MiB."
echo

# ---- 50 concurrent run -d -------------------------------------------------------------
# The import rounds emptied both stores: busybox again, on both sides.
bench_ember_empty
bench_ctd_empty
"${E[@]}" pull --plain-http "$BB" >/dev/null
"${C[@]}" images pull --plain-http "$BB" >/dev/null
declare -A RUNS=()
for round in 1 2 3; do
	for c in ember ctr; do
		t0=$(now_ms)
		if [ "$c" = ember ]; then runs50 "${E[@]}" run -d "$BB"; else runs50 "${C[@]}" run -d --null-io "$BB"; fi ||
			{ echo "bench: $c: a run -d failed" >&2; exit 1; }
		t1=$(now_ms)
		RUNS[$c]+=" $((t1 - t0))"
		bench_kill_runs
	done
done
read -ra er <<<"${RUNS[ember]}"
read -ra cr <<<"${RUNS[ctr]}"
erm=$(median "${er[@]}") crm=$(median "${cr[@]}")
echo "## $N_RUN concurrent \`run -d\` (\`sleep 3600\`, busybox; wall time until every client returned, median of 3)"
echo
echo "| | wall ms | ratio to ember |"
echo "|---|---:|---:|"
echo "| \`ember run -d\` | $erm | 1 |"
echo "| \`ctr run -d --null-io\` (containerd 1.6, shim, runc) | $crm | $(ratio "$crm" "$erm") |"
echo
echo "Runs (ms): ember ${er[*]}; ctr ${cr[*]}. Goal (issue 13): ≤ 0.5 s for ember on a quiet machine."
