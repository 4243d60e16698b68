# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
# What oci.bats, oci-exec.bats, oci-update.bats and oci-spec.bats share
# (each loads this alone): the libraries they use, a busybox bundle per
# test, an --root per runtime (ember oci, and runc and crun as the
# references), and teardown of every container, process and cgroup the
# test made (oci_teardown, for a file's teardown that does more).

# (Paths are the test file's: lib/ is beside it.)
load helpers
load lib/image
load lib/registry
load lib/remote
load lib/unpack
load lib/tasks

setup() {
	setup_dirs
	require_runtime
	"$EMBER" oci --help >/dev/null 2>&1 || skip "this ember has no oci role"
	OCI_ROOT=$T/oci-root
	RUNC_ROOT=$T/runc-root
	CRUN_ROOT=$T/crun-root
	CT_ID=$(ct oci)
	mkdir -p "$T"
	image_busybox "$T/bb"
	image_unpack_root "$T/bb" "$T/bundle"
}

teardown() {
	oci_teardown
}

oci_teardown() {
	local p d
	# A setup that skipped before naming the container has nothing to
	# clean, and an empty id would make /sys/fs/cgroup/*/"$CT_ID" the
	# root cgroups: every process of the machine.
	[ -n "${CT_ID:-}" ] || return 0
	# The containers first (a run killed leaves its container running, as
	# runc's does), then the runs, then the cgroups.
	runc --root "$RUNC_ROOT" delete --force "$CT_ID" >/dev/null 2>&1 || true
	! command -v crun >/dev/null || crun_cmd --root "$CRUN_ROOT" delete --force "$CT_ID" >/dev/null 2>&1 || true
	"$EMBER" oci --root "$OCI_ROOT" delete --force "$CT_ID" >/dev/null 2>&1 || true
	for d in /sys/fs/cgroup/*/ember-oci/"$CT_ID" /sys/fs/cgroup/ember-oci/"$CT_ID" /sys/fs/cgroup/*/"$CT_ID"; do
		[ -d "$d" ] || continue
		for p in $(cat "$d/cgroup.procs" 2>/dev/null); do kill -9 "$p" 2>/dev/null || true; done
	done
	kill_bg
	for p in $(cat "$T"/*.pid 2>/dev/null); do kill -9 "$p" 2>/dev/null || true; done
	for d in /sys/fs/cgroup/*/ember-oci/"$CT_ID" /sys/fs/cgroup/ember-oci/"$CT_ID" /sys/fs/cgroup/*/"$CT_ID"; do
		[ ! -d "$d" ] || wait_until 5 rmdir "$d" || true
	done
	for d in /sys/fs/cgroup/*/ember-oci/ /sys/fs/cgroup/ember-oci/; do
		[ ! -d "$d" ] || rmdir "$d" 2>/dev/null || true
	done
}

oci() {
	"$EMBER" oci --root "$OCI_ROOT" "$@"
}

# Whether runc, the reference, runs here: it pivots into the rootfs, which
# the kernel refuses under a chroot whose / is no mount point (ember
# falls back to a move and a chroot there).
runc_here() {
	if in_chroot; then return 1; fi
}

# crun_cmd ARGS...: Debian's crun, run as lib/crun.sh runs it.
crun_cmd() {
	"$TESTS_DIR/lib/crun.sh" "$@"
}

# Whether crun, the other reference, runs here (it pivots too).
crun_here() {
	command -v crun >/dev/null && ! in_chroot
}

# console_recv SOCKET OUT [INPUT]: a --console-socket receiver in the
# background (lib/console_recv.py), listening once this returns.
console_recv() {
	rm -f "$2" "$2.ready" "$2.name"
	"$PYTHON" "$TESTS_DIR/lib/console_recv.py" "$@" </dev/null >/dev/null 2>"$2.err" &
	bg_track $!
	RECV_PID=$!
	wait_until 10 test -e "$2.ready"
}

# rt runc|crun|ember: R is that runtime's command with this test's root.
rt() {
	case $1 in
	runc) R=(runc --root "$RUNC_ROOT") ;;
	crun) R=("$TESTS_DIR/lib/crun.sh" --root "$CRUN_ROOT") ;;
	*) R=("$EMBER" oci --root "$OCI_ROOT") ;;
	esac
}

# The runtimes to compare: ember, and runc and crun where they run.
runtimes() {
	local r=()
	if runc_here; then r+=(runc); fi
	if crun_here; then r+=(crun); fi
	echo "${r[@]}" ember
}

# The runtimes to compare where runc is the only reference: crun 1.8 has
# no `events`, and its `update` takes no size units (--memory 64m).
runtimes_runc() {
	if runc_here; then echo runc ember; else echo ember; fi
}

# fails_as_runc RT CODE ARGS...: "${R[@]}" ARGS fails; with runc's exit status
# CODE for runc and ember, with any for crun (whose statuses are its own:
# 1 where runc's exec says 255).
fails_as_runc() {
	local rt=$1 code=$2
	shift 2
	if [ "$rt" = crun ]; then
		run ! "${R[@]}" "$@"
	else
		run "-$code" "${R[@]}" "$@"
	fi
}

# status_is RUNTIME-ARRAY-NAME... : the container's status is $1.
status_is() {
	[ "$("${R[@]}" state "$CT_ID" 2>/dev/null | jget 'j["status"]')" = "$1" ]
}

# start_bg RUNTIME: the bundle's process running detached under RUNTIME
# (rt sets R), its stdio away from bats, its pid in $T/RUNTIME.ct.pid.
start_bg() {
	rt "$1"
	"${R[@]}" run -d --bundle "$T/bundle" --pid-file "$T/$1.ct.pid" "$CT_ID" </dev/null >/dev/null 2>&1
	status_is running
}

# spec PYTHON [ARG...]: the bundle's config.json changed by python
# statements on c (ARGs: sys.argv[3] on).
spec() {
	"$PYTHON" -c '
import json, sys
p = sys.argv[1] + "/config.json"
c = json.load(open(p))
exec(sys.argv[2])
json.dump(c, open(p, "w"), indent=1)' "$T/bundle" "$@"
}

# set_process JSON: the bundle's process fields replaced (python dict syntax).
set_process() {
	spec 'c["process"].update(eval(sys.argv[3]))' "$1"
}
