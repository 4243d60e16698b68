# SPDX-License-Identifier: Apache-2.0
# Shared by the bench scripts (sourced): a private ember daemon and a
# private containerd 1.6 under $T, emptying their stores, and the small
# statistics the reports use. Needs EMBER and T set, and a PIDS array.

# bench_daemons: start both; EPID, CPID, and E and C (the two clients as
# arrays) for the caller. containerd 1.6 writes to /run/containerd
# whatever its flags say: it gets a private /run in its own mount
# namespace so nothing leaks onto the host.
bench_daemons() {
	: >"$T/empty.toml"
	# The state directory on a tmpfs, as /run/ember is on a device.
	mkdir -p "$T/ember/state"
	mount -t tmpfs -o mode=0711 tmpfs "$T/ember/state"
	"$EMBER" daemon --config "$T/empty.toml" --root "$T/ember/root" --state "$T/ember/state" \
		--address "$T/ember.sock" 2>"$T/ember.log" &
	EPID=$!
	PIDS+=("$EPID")
	E=("$EMBER" -a "$T/ember.sock")
	bench_wait_api ember "${E[@]}" info
	bench_containerd
}

# bench_containerd [SHELL]: containerd alone, as bench_daemons starts it;
# CPID and C (its client) for the caller. SHELL, if given, runs first in
# containerd's mount namespace.
bench_containerd() {
	mkdir -p "$T/ctd"
	# Nothing on the host: no CRI plugin (a bench has no kubelet, and CRI
	# makes /etc/cni/net.d), and the opt plugin's directory (by default
	# /opt/containerd) under $T.
	printf 'version = 2\ndisabled_plugins = ["io.containerd.grpc.v1.cri"]\n[plugins."io.containerd.internal.v1.opt"]\n  path = "%s"\n' \
		"$T/ctd/opt" >"$T/ctd/config.toml"
	unshare --mount --propagation private sh -c \
		"${1:-:}"'; mount -t tmpfs tmpfs /run && exec containerd --config "$1/config.toml" --root "$1/root" --state "$1/state" --address "$1/c.sock"' \
		sh "$T/ctd" >"$T/ctd.log" 2>&1 &
	CPID=$!
	PIDS+=("$CPID")
	C=(ctr --address "$T/ctd/c.sock" -n default)
	bench_wait_api ctd "${C[@]}" version
}

# bench_wait_api NAME COMMAND...: until the command succeeds (60 s at most;
# containerd's first start on a new or loaded machine takes seconds).
bench_wait_api() {
	local what=$1 end=$((SECONDS + 60))
	shift
	while [ "$SECONDS" -lt "$end" ]; do
		timeout 5 "$@" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	echo "bench: $what did not answer within 60 s; its log:" >&2
	cat "$T/$what.log" >&2
	return 1
}

# ember's store without images, blobs or snapshots (checked).
bench_ember_empty() {
	local n
	"${E[@]}" images ls -q | xargs -r "${E[@]}" images rm >/dev/null
	"${E[@]}" content gc >/dev/null
	n=$("${E[@]}" content ls -q | wc -l)
	[ "$n" -eq 0 ] || { echo "bench: ember store not empty ($n blobs)" >&2; exit 1; }
	n=$("${E[@]}" snapshots ls -q | wc -l) || { echo "bench: ember snapshots ls failed" >&2; exit 1; }
	[ "$n" -eq 0 ] || { echo "bench: ember left $n snapshots" >&2; exit 1; }
}

bench_ctd_snapshots() { "${C[@]}" snapshots --snapshotter overlayfs ls | awk 'NR > 1 {print $1}'; }

# containerd's store likewise. --sync waits for its garbage collection,
# which takes the snapshots the image's blobs referenced; whatever it
# leaves is removed by hand.
bench_ctd_empty() {
	local n i s
	"${C[@]}" images ls -q | xargs -r "${C[@]}" images rm --sync >/dev/null 2>&1 || true
	"${C[@]}" content ls -q | xargs -r "${C[@]}" content rm >/dev/null 2>&1 || true
	for i in 1 2 3 4 5 6 7 8; do # children first: retry what still had one
		[ -n "$(bench_ctd_snapshots)" ] || break
		for s in $(bench_ctd_snapshots); do "${C[@]}" snapshots --snapshotter overlayfs rm "$s" >/dev/null 2>&1 || true; done
	done
	n=$("${C[@]}" content ls -q | wc -l)
	[ "$n" -eq 0 ] || { echo "bench: containerd store not empty ($n blobs)" >&2; exit 1; }
	n=$(bench_ctd_snapshots | wc -l)
	[ "$n" -eq 0 ] || { echo "bench: containerd left $n snapshots" >&2; exit 1; }
}

# Peak memory of a process since the reset (VmHWM after clear_refs 5).
# The test suite's image builders and registry, with their files under $T.
bench_infra() {
	INFRA_TMPDIR=$T/infra
	mkdir -p "$INFRA_TMPDIR"
	export INFRA_TMPDIR
	# shellcheck source=../integration/lib/image.bash
	source tests/integration/lib/image.bash
	# shellcheck source=../integration/lib/registry.bash
	source tests/integration/lib/registry.bash
}

hwm_reset() { echo 5 >"/proc/$1/clear_refs"; }
hwm_kib() { awk '/^VmHWM/ {print $2}' "/proc/$1/status"; }
now_ms() { date +%s%3N; }
median() { printf '%s\n' "$@" | sort -n | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.2f", a/b}'; }

# The daemons' cgroup parents that were there before the bench (another
# ember's, or a run's before): bench_cgroups_cleanup leaves them alone.
BENCH_CGROUPS_BEFORE=" $(echo /sys/fs/cgroup/*/ember/default /sys/fs/cgroup/*/ember /sys/fs/cgroup/ember/default \
	/sys/fs/cgroup/ember) "

# bench_cgroups_cleanup PREFIX: the cgroups of the containers named
# PREFIX*, then the parents the daemons made, once empty (rmdir refuses
# any other).
bench_cgroups_cleanup() {
	local d
	for d in /sys/fs/cgroup/*/ember/default/"$1"* /sys/fs/cgroup/*/default/"$1"*; do rmdir "$d" 2>/dev/null; done
	for d in /sys/fs/cgroup/*/ember/default /sys/fs/cgroup/*/ember /sys/fs/cgroup/ember/default /sys/fs/cgroup/ember; do
		[[ "$BENCH_CGROUPS_BEFORE" == *" $d "* ]] && continue
		[ -d "$d" ] && rmdir "$d" 2>/dev/null
	done
	return 0
}

# The loop-device benches' end (btrfs.sh, storage.sh), whatever happened:
# the daemons in PIDS stopped, whatever is mounted below T unmounted, the
# devices in LOOPS detached, T removed.
bench_devices_cleanup() {
	set +e
	for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
	for m in $(grep -o "${T}[^ ]*" /proc/mounts | sort -r); do umount "$m" 2>/dev/null || umount -l "$m"; done
	for l in "${LOOPS[@]}"; do losetup -d "$l" 2>/dev/null; done
	rm -rf "$T"
}
