# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
# What oci.bats and oci-exec.bats share: a busybox bundle per test, an
# --root per runtime (ember oci, and runc as the reference), and teardown
# of every container, process and cgroup the test made.

setup() {
	setup_dirs
	require_runtime
	"$EMBER" oci --help >/dev/null 2>&1 || skip "this ember has no oci role"
	OCI_ROOT=$T/oci-root
	RUNC_ROOT=$T/runc-root
	CT_ID=$(ct oci)
	mkdir -p "$T"
	image_busybox "$T/bb"
	image_unpack_root "$T/bb" "$T/bundle"
}

teardown() {
	local p d
	# Without an id the globs below are every hierarchy's root cgroup, whose
	# processes it would kill: the whole machine (setup failed early).
	[ -n "${CT_ID:-}" ] || return 0
	# The containers first (a run killed leaves its container running, as
	# runc's does), then the runs, then the cgroups.
	runc --root "$RUNC_ROOT" delete --force "$CT_ID" >/dev/null 2>&1 || true
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

# console_recv SOCKET OUT [INPUT]: a --console-socket receiver in the
# background (lib/console_recv.py), listening once this returns.
console_recv() {
	rm -f "$2" "$2.ready" "$2.name"
	"$PYTHON" "$TESTS_DIR/lib/console_recv.py" "$@" </dev/null >/dev/null 2>"$2.err" &
	bg_track $!
	RECV_PID=$!
	wait_until 10 test -e "$2.ready"
}

# rt runc|ember: R is that runtime's command with this test's root.
rt() {
	if [ "$1" = runc ]; then
		R=(runc --root "$RUNC_ROOT")
	else
		R=("$EMBER" oci --root "$OCI_ROOT")
	fi
}

# The runtimes to compare: ember, and runc where it runs.
runtimes() {
	if runc_here; then echo runc ember; else echo ember; fi
}

# status_is RUNTIME-ARRAY-NAME... : the container's status is $1.
status_is() {
	[ "$("${R[@]}" state "$CT_ID" 2>/dev/null | jget 'j["status"]')" = "$1" ]
}

# set_process JSON: the bundle's process fields replaced (python dict syntax).
set_process() {
	"$PYTHON" -c '
import json, sys
p = sys.argv[1] + "/config.json"
c = json.load(open(p))
c["process"].update(eval(sys.argv[2]))
json.dump(c, open(p, "w"), indent=1)' "$T/bundle" "$1"
}
