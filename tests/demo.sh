#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# `make demo`: ember's main job, end to end, in a private temporary root.
# Usage: tests/demo.sh path/to/ember
set -euo pipefail

EMBER=$(realpath "${1:?usage: demo.sh path/to/ember}")
T=$(mktemp -d /tmp/ember-demo.XXXXXX)
SOCK=$T/state/ember.sock
DAEMON_PID=
EVENTS_PID=

cleanup() {
	set +e # every step runs, whatever failed before
	# Never let rm -rf below walk into a mounted image.
	mountpoint -q "$T/mnt" 2>/dev/null && umount "$T/mnt"
	# A task outlives its daemon: stop ours.
	[ -n "${TICKER_PID:-}" ] && kill -9 "$TICKER_PID" 2>/dev/null
	if [ -n "$DAEMON_PID" ] && kill -0 "$DAEMON_PID" 2>/dev/null; then
		kill -TERM "$DAEMON_PID"
		wait "$DAEMON_PID" 2>/dev/null
	fi
	if [ -n "$EVENTS_PID" ]; then
		kill "$EVENTS_PID" 2>/dev/null
		wait "$EVENTS_PID" 2>/dev/null
	fi
	declare -F infra_cleanup >/dev/null && infra_cleanup >/dev/null 2>&1
	# The cgroup parents the daemon made (ember/NAMESPACE, ember), once
	# empty: rmdir refuses a cgroup that still has children or processes.
	local d
	for d in /sys/fs/cgroup/*/ember/*/ /sys/fs/cgroup/ember/*/ /sys/fs/cgroup/*/ember/ /sys/fs/cgroup/ember/; do
		[ -d "$d" ] && rmdir "$d" 2>/dev/null
	done
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ember() { "$EMBER" --address "$SOCK" "$@"; }
# Headings in bold only on a terminal that has it (no escapes in a log).
if [ -t 1 ] && [ "${TERM:-dumb}" != dumb ]; then
	say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
else
	say() { printf '\n== %s\n' "$*"; }
fi
show() { printf '$ ember %s\n' "$*"; ember "$@"; }

say "the binary: one static file"
ls -l "$EMBER" | awk '{print $5, "bytes", $NF}'
file "$EMBER" 2>/dev/null | sed 's/.*: //' || true
show version

say "a private daemon (root $T/root, socket $SOCK)"
: >"$T/empty.toml"
exec 3>"$T/ready"
"$EMBER" daemon --config "$T/empty.toml" --root "$T/root" --state "$T/state" --address "$SOCK" \
	--notify-fd 3 2>"$T/daemon.log" &
DAEMON_PID=$!
exec 3>&-
for _ in $(seq 100); do [ -s "$T/ready" ] && break; sleep 0.05; done
[ -s "$T/ready" ] || { cat "$T/daemon.log"; echo "demo: the daemon did not start" >&2; exit 1; }
sed 's/^/  daemon: /' "$T/daemon.log"

show info

say "events, streamed by the daemon while we work"
"$EMBER" --address "$SOCK" events >"$T/events" 2>/dev/null &
EVENTS_PID=$!
for _ in $(seq 100); do ember info --json | grep -q '"connections": 2' && break; sleep 0.05; done

say "namespaces"
show namespaces create ota-agent owner=fleet channel=beta
show namespaces create scratch
show namespaces label ota-agent channel=stable
show namespaces ls
show namespaces rm scratch
show namespaces ls --json

say "the same over the raw API (varlink: JSON + NUL on a unix socket)"
show call io.ember.Namespaces.Get '{"name": "ota-agent"}'

say "bad input gets a clear error and a non-zero exit"
show namespaces create 'bad name' || echo "(exit $?)"
show namespaces create ota-agent || echo "(exit $?)"

say "a local registry (Debian's docker-registry on 127.0.0.1) and a BusyBox image built offline"
export INFRA_TMPDIR=$T/infra
mkdir -p "$INFRA_TMPDIR"
cd "$(dirname "$0")/.."
source tests/integration/lib/image.bash
source tests/integration/lib/registry.bash
image_busybox "$T/busybox" >/dev/null
registry_start demo plain >/dev/null
REG=$REGISTRY_DEMO_ADDR
registry_push_oci "$T/busybox" "$REG/library/busybox:1.35" >/dev/null
echo "registry at $REG; published $REG/library/busybox:1.35 ($IMAGE_DIGEST) with skopeo"

say "pull it (progress streamed by the daemon; bars on a terminal, lines otherwise)"
show pull --plain-http "$REG/library/busybox:1.35"
show images ls
show images check --verify "$REG/library/busybox:1.35"
show content ls

say "each layer was unpacked into an overlay snapshot as it arrived (keyed by chain ID)"
show snapshots tree
show snapshots usage
mkdir -p "$T/mnt"
show images mount "$REG/library/busybox:1.35" "$T/mnt"
echo "\$ $T/mnt/bin/busybox echo hello from the image"
"$T/mnt/bin/busybox" echo hello from the image
show images unmount "$T/mnt"

say "run containers: no shim, no runc; ember init is PID 1 inside"
show run --rm "$REG/library/busybox:1.35" hello echo hello from a container
show run --rm --memory-limit 32m --cap-drop ALL "$REG/library/busybox:1.35" limits \
	sh -c 'grep CapEff /proc/self/status; cat /proc/1/cmdline | tr "\0" " "; echo'
show run --rm "$REG/library/busybox:1.35" broken /bin/nope || echo "(exit $?)"

say "a detached task writes to its logs"
show run -d "$REG/library/busybox:1.35" ticker sh -c 'i=0; while :; do i=$((i+1)); echo "tick $i"; sleep 0.2; done'
sleep 1
show tasks ls
show logs --tail 3 ticker
TICKER_PID=$(ember --json tasks ls | /usr/bin/python3 -c 'import json,sys; print([t["pid"] for t in json.load(sys.stdin) if t["id"] == "ticker"][0])')

say "restart the daemon: the task keeps running and is adopted"
kill -TERM "$DAEMON_PID"
wait "$DAEMON_PID" || true
echo "daemon stopped; the ticker's ember init (pid $TICKER_PID) still runs: $(tr '\0' ' ' </proc/$TICKER_PID/cmdline)"
exec 3>"$T/ready2"
"$EMBER" daemon --config "$T/empty.toml" --root "$T/root" --state "$T/state" --address "$SOCK" \
	--notify-fd 3 2>>"$T/daemon.log" &
DAEMON_PID=$!
exec 3>&-
for _ in $(seq 100); do [ -s "$T/ready2" ] && break; sleep 0.05; done
grep adopted "$T/daemon.log" | sed 's/^/  daemon: /'
# (the event stream ended with the old daemon: follow the new one)
"$EMBER" --address "$SOCK" events >>"$T/events" 2>/dev/null &
EVENTS_PID=$!
show tasks ls
sleep 0.5
show logs --tail 2 ticker
show tasks kill ticker
show tasks wait ticker || echo "(exit $?: SIGTERM)"
show tasks delete ticker
show containers rm ticker
show containers ls

say "pull again: nothing is downloaded twice"
show pull --plain-http "$REG/library/busybox:1.35"

say "push it under another name (blobs are mounted, not uploaded again)"
show images tag "$REG/library/busybox:1.35" "$REG/apps/shell:stable"
show push --plain-http "$REG/apps/shell:stable"

say "export to an OCI archive, import into another namespace"
show images export "$T/busybox.tar" "$REG/library/busybox:1.35"
tar tf "$T/busybox.tar" | sed 's/^/  /'
show -n staging images import "$T/busybox.tar"
show -n staging images ls -q

say "bad input: a malformed reference, a missing tag"
show pull 'Bad//Name' || echo "(exit $?)"
show pull --plain-http "$REG/library/busybox:nope" || echo "(exit $?)"

say "remove the image; garbage collection frees what nothing uses"
show images rm "$REG/apps/shell:stable" "$REG/library/busybox:1.35"
show content gc
echo "(kept: the staging namespace still uses them)"
show -n staging images rm "$REG/library/busybox:1.35"
show content gc

sleep 0.2
kill "$EVENTS_PID" 2>/dev/null || true
wait "$EVENTS_PID" 2>/dev/null || true
EVENTS_PID=
say "what 'ember events' printed"
cat "$T/events"

say "clean stop (SIGTERM)"
kill -TERM "$DAEMON_PID"
wait "$DAEMON_PID"
DAEMON_PID=
tail -n 2 "$T/daemon.log" | sed 's/^/  daemon: /'
[ ! -e "$SOCK" ] && echo "socket removed; the store stays in the root for the next start"
echo
echo "demo finished"
