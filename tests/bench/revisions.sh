#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Revisions (issue 16), each measurement in a private daemon of its own:
#   1. `ember revisions apply` to committed, 3 containers changed, each
#      with {"running": 2}; and the switch alone: the daemon's events
#      /revisions/applying -> /revisions/testing, and the wall time of
#      `apply --no-wait` (it answers when the test begins);
#   2. the same switch of 3 containers by hand with containerd 1.6's ctr, as
#      an OTA agent would script it (per container: `ctr task kill` and a
#      poll until STOPPED, `ctr task rm`, `ctr c rm`, `ctr run -d` of the
#      new definition), in the same rounds: ember switch / ctr switch. ctr
#      has no health test and no roll-back: only the switch compares;
#   3. a revision whose 3 containers exit 3 at once: from the unhealthy
#      verdict to the old containers running again ("ms" of
#      /revisions/rolled-back), and the apply call's wall time;
#   4. the disk one old revision keeps: `du -sb` of the daemon's root with
#      r1 kept after r2 committed (another image), then after `revisions rm
#      r1`, `images rm` of r1's image and `content gc`.
# Part of tests/bench/run.sh; runs alone too:  revisions.sh path/to/ember
#   BENCH_RUNS (default 5): measured rounds (after one discarded warm-up).
set -euo pipefail
cd "$(dirname "$0")/../.."

EMBER=$(realpath "${1:?usage: revisions.sh path/to/ember}")
T=$(mktemp -d /tmp/ember-bench-rev.XXXXXX)
PIDS=()
RUNS=${BENCH_RUNS:-5}
WINDOW=2                         # s: the health window, {"running": 2}
P=rb$$                           # this run's container ids: rbPID-a, ...
IDS=("$P-a" "$P-b" "$P-c")
REF=example.com/bb:latest
SOCKS=() # every ember daemon's socket, for the clean-up
# shellcheck source=lib.sh
source tests/bench/lib.sh

cleanup() {
	set +e
	local s id p
	# What still runs: ember's containers (killed, deleted: a kill by a
	# user is not restarted), then containerd's tasks and their shims.
	for s in "${SOCKS[@]}"; do
		[ -S "$s" ] || continue
		for id in "${IDS[@]}"; do "$EMBER" -a "$s" tasks kill -s KILL "$id" >/dev/null 2>&1; done
	done
	if [ -n "${C+set}" ]; then
		for id in "${IDS[@]}"; do "${C[@]}" tasks kill -s SIGKILL "$id" >/dev/null 2>&1; done
	fi
	sleep 0.5
	for s in "${SOCKS[@]}"; do
		[ -S "$s" ] || continue
		for id in "${IDS[@]}"; do
			"$EMBER" -a "$s" tasks delete "$id" >/dev/null 2>&1
			"$EMBER" -a "$s" containers rm "$id" >/dev/null 2>&1
		done
	done
	if [ -n "${C+set}" ]; then
		for id in "${IDS[@]}"; do
			"${C[@]}" tasks delete "$id" >/dev/null 2>&1
			"${C[@]}" containers rm "$id" >/dev/null 2>&1
		done
		for p in $(shims); do kill -KILL "$p" 2>/dev/null; done
	fi
	for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
	bench_cgroups_cleanup "$P"
	for m in $(grep -o "${T}[^ ]*" /proc/mounts | sort -r); do umount "$m" 2>/dev/null || umount -l "$m"; done
	rm -rf "$T"
}
trap cleanup EXIT

shims() { # containerd-shim-runc-v2 processes of this run's containerd
	local p
	for p in $(pgrep -f containerd-shim-runc-v2 || true); do
		grep -q "$T/ctd" "/proc/$p/cmdline" 2>/dev/null && echo "$p"
	done
}

# Events: "TIMESTAMP NAMESPACE TOPIC JSON" lines (ember events).
#   ev.py span FILE REV FROM TO      ms from FROM to TO (events of REV)
#   ev.py field FILE REV TOPIC KEY   KEY of REV's TOPIC event
#   ev.py has FILE REV TOPIC         exit 0 if there is one
#   ev.py started FILE REV           ms from the verdict (the rolled-back
#                                    event less its "ms") to the last
#                                    /tasks/start before that event
#   ev.py restarts FILE REV          /tasks/restart events between REV's
#                                    applying and its testing
#   ev.py parts FILE REV             ms from applying to the first
#                                    /tasks/start, from it to the last, and
#                                    from the last to testing
cat >"$T/ev.py" <<'EOF'
import calendar, json, sys, time

def ts(s):
    d, _, frac = s.rstrip("Z").partition(".")
    return calendar.timegm(time.strptime(d, "%Y-%m-%dT%H:%M:%S")) + int((frac or "0").ljust(9, "0")[:9]) / 1e9

def events(path):
    for line in open(path):
        f = line.rstrip("\n").split(" ", 3)
        if len(f) == 4 and f[3].startswith("{"):
            try:
                yield ts(f[0]), f[2], json.loads(f[3])
            except ValueError:
                pass

def first(path, rev, topic):
    for t, top, ev in events(path):
        if top == topic and ev.get("id") == rev:
            return t, ev
    return None, None

cmd, path, rev = sys.argv[1:4]
if cmd == "span":
    a, _ = first(path, rev, sys.argv[4])
    b, _ = first(path, rev, sys.argv[5])
    print("%.1f" % ((b - a) * 1000))
elif cmd == "field":
    print(first(path, rev, sys.argv[4])[1][sys.argv[5]])
elif cmd == "has":
    sys.exit(0 if first(path, rev, sys.argv[4])[0] is not None else 1)
elif cmd == "started":
    end, ev = first(path, rev, "/revisions/rolled-back")
    verdict = end - ev["ms"] / 1000.0
    last = max(t for t, top, e in events(path) if top == "/tasks/start" and verdict <= t <= end)
    print("%.1f" % ((last - verdict) * 1000))
elif cmd == "parts":
    a, _ = first(path, rev, "/revisions/applying")
    b, _ = first(path, rev, "/revisions/testing")
    st = [t for t, top, e in events(path) if top == "/tasks/start" and a <= t <= b]
    print("%.1f %.1f %.1f" % ((st[0] - a) * 1000, (st[-1] - st[0]) * 1000, (b - st[-1]) * 1000))
elif cmd == "restarts":
    a, _ = first(path, rev, "/revisions/applying")
    b, _ = first(path, rev, "/revisions/testing")
    print(sum(1 for t, top, e in events(path) if top == "/tasks/restart" and a <= t <= b))
EOF
ev() { /usr/bin/python3 "$T/ev.py" "$@"; }

# wait_event FILE REV TOPIC: until the stream wrote it (10 s at most).
wait_event() {
	local i
	for i in $(seq 1 200); do
		ev has "$@" && return 0
		sleep 0.05
	done
	echo "bench: no $3 event of $2 in $1 within 10 s" >&2
	tail -20 "$1" >&2
	exit 1
}

# ember_start NAME: a private daemon, root $T/NAME/root, its state on a
# tmpfs, its events streamed to $T/NAME.events; E and EPID for the caller.
ember_start() {
	local n=$1 i
	mkdir -p "$T/$n/state"
	mount -t tmpfs -o mode=0711 tmpfs "$T/$n/state"
	: >"$T/empty.toml"
	"$EMBER" daemon --config "$T/empty.toml" --root "$T/$n/root" --state "$T/$n/state" \
		--address "$T/$n/ember.sock" 2>"$T/$n.log" &
	EPID=$!
	PIDS+=("$EPID")
	SOCKS+=("$T/$n/ember.sock")
	E=("$EMBER" -a "$T/$n/ember.sock")
	bench_wait_api "$n" "${E[@]}" info
	events_start "$T/$n.events"
}

# events_start FILE: ember's events streamed to FILE, connected (a label
# set on the namespace until one shows).
events_start() {
	local i
	"${E[@]}" events >"$1" 2>&1 &
	PIDS+=("$!")
	"${E[@]}" namespaces create default >/dev/null
	for i in $(seq 1 100); do
		"${E[@]}" namespaces label default "bench=$i" >/dev/null
		[ -s "$1" ] && return 0
		sleep 0.05
	done
	echo "bench: ember events wrote nothing" >&2
	exit 1
}

# ember_stop STATE: the containers killed (a kill by a user is not
# restarted) and removed, the daemon stopped, its state unmounted. (Not
# with a revision without containers: it cannot commit, see the README.)
ember_stop() {
	local id
	for id in "${IDS[@]}"; do "${E[@]}" tasks kill -s KILL "$id" >/dev/null 2>&1 || true; done
	for id in "${IDS[@]}"; do
		for _ in $(seq 1 100); do "${E[@]}" tasks delete "$id" >/dev/null 2>&1 && break; sleep 0.05; done
		"${E[@]}" containers rm "$id" >/dev/null
	done
	[ -z "$("${E[@]}" containers ls -q)" ] || { echo "bench: containers left" >&2; exit 1; }
	kill -TERM "$EPID"
	wait "$EPID" 2>/dev/null || true
	umount "$1"
}

# stage REV HEALTH ARGS-JSON...: a revision of the 3 containers on
# $IMAGE (default $REF), the i-th running the i-th ARGS (the last one for
# the rest), each with HEALTH, staged.
stage() {
	local rev=$1 health=$2 i sep=
	shift 2
	{
		printf '{"id": "%s", "containers": [' "$rev"
		for i in 0 1 2; do
			printf '%s{"id": "%s", "image": "%s", "options": {"args": %s}, "health": %s}' \
				"$sep" "${IDS[$i]}" "${IMAGE:-$REF}" "$1" "$health"
			sep=', '
			if [ $# -gt 1 ]; then shift; fi
		done
		printf ']}\n'
	} >"$T/$rev.json"
	"${E[@]}" revisions stage "$T/$rev.json" >/dev/null
}

running() { # how many of IDS run (ember)
	"${E[@]}" --json tasks ls | /usr/bin/python3 -c '
import json, sys
ids = sys.argv[1:]
print(sum(1 for t in json.load(sys.stdin) if t["id"] in ids and t["status"] == "running"))' "${IDS[@]}"
}

ms_since() { echo $((($(date +%s%N) - $1) / 1000000)); }
range() { printf '%s\n' "$@" | sort -n | awk 'NR == 1 {lo = $1} {hi = $1} END {print lo "–" hi}'; }

bench_infra
image_busybox "$T/bb" >/dev/null
tar -C "$T/bb" -cf "$T/bb.tar" .

# ---- 1 and 2: the switch, ember against ctr ------------------------------------------------
bench_daemons
SOCKS+=("$T/ember.sock")
events_start "$T/ember.events"
"${E[@]}" images import --base-name example.com/bb "$T/bb.tar" >/dev/null
"${C[@]}" images import --base-name example.com/bb "$T/bb.tar" >/dev/null 2>"$T/ctr.err" ||
	{ echo "bench: ctr images import failed:" >&2; cat "$T/ctr.err" >&2; exit 1; }
EV=$T/ember.events

# ctr_switch N: each container to `sleep N`, one after the other. A
# sleeping process is PID 1 of its container under runc: SIGTERM would
# not end it (no handler), so the script sends SIGKILL (ember stops
# with SIGTERM, which its init passes on: the sleep ends at once too).
ctr_switch() {
	local id st
	for id in "${IDS[@]}"; do
		"${C[@]}" tasks kill -s SIGKILL "$id"
		for _ in $(seq 1 500); do
			st=$("${C[@]}" tasks ls | awk -v i="$id" '$1 == i {print $3}')
			[ "$st" = STOPPED ] && break
		done
		[ "$st" = STOPPED ] || { echo "bench: ctr task $id did not stop" >&2; exit 1; }
		"${C[@]}" tasks rm "$id" >/dev/null 2>>"$T/ctr.err" # it warns of the exit code
		"${C[@]}" containers rm "$id" >/dev/null
		"${C[@]}" run -d --null-io "$REF" "$id" sleep "$1" >/dev/null
	done
}
ctr_running() { "${C[@]}" tasks ls | awk -v p="$P-" 'index($1, p) == 1 && $3 == "RUNNING"' | wc -l; }

# The first revision, and ctr's first containers.
stage r0 "{\"running\": 1}" '["sleep", "1000"]'
"${E[@]}" revisions apply r0 >/dev/null
for id in "${IDS[@]}"; do "${C[@]}" run -d --null-io "$REF" "$id" sleep 1000 >/dev/null; done

e_total=() e_test=() e_switch=() e_nowait=() c_switch=() restarts=0 part1=() part2=() part3=()
for round in $(seq 0 "$RUNS"); do
	n=$((1000 + 2 * round + 1))
	# ember, waiting for the verdict.
	stage "w$round" "{\"running\": $WINDOW}" "[\"sleep\", \"$n\"]"
	sync
	t0=$(date +%s%N)
	out=$("${E[@]}" revisions apply "w$round")
	tw=$(ms_since "$t0")
	[ "$out" = "w$round: committed" ] || { echo "bench: apply w$round: $out" >&2; exit 1; }
	wait_event "$EV" "w$round" /revisions/committed
	sw=$(ev span "$EV" "w$round" /revisions/applying /revisions/testing)
	tt=$(ev span "$EV" "w$round" /revisions/testing /revisions/committed)
	read -r p1 p2 p3 <<<"$(ev parts "$EV" "w$round")"
	restarts=$((restarts + $(ev restarts "$EV" "w$round")))
	# ctr, the same switch.
	sync
	t0=$(date +%s%N)
	ctr_switch "$n"
	tc=$(ms_since "$t0")
	[ "$(ctr_running)" -eq 3 ] || { echo "bench: ctr: $(ctr_running) of 3 running" >&2; exit 1; }
	# ember again, --no-wait: answered when the test begins.
	stage "n$round" "{\"running\": $WINDOW}" "[\"sleep\", \"$((n + 1))\"]"
	sync
	t0=$(date +%s%N)
	out=$("${E[@]}" revisions apply --no-wait "n$round")
	tn=$(ms_since "$t0")
	[ "$out" = "n$round: testing" ] || { echo "bench: apply --no-wait n$round: $out" >&2; exit 1; }
	wait_event "$EV" "n$round" /revisions/committed
	swn=$(ev span "$EV" "n$round" /revisions/applying /revisions/testing)
	read -r q1 q2 q3 <<<"$(ev parts "$EV" "n$round")"
	[ "$(running)" -eq 3 ] || { echo "bench: ember: $(running) of 3 running" >&2; exit 1; }
	[ "$round" -eq 0 ] && continue # warm-up
	e_total+=("$tw") e_test+=("$tt") e_switch+=("$sw" "$swn") e_nowait+=("$tn") c_switch+=("$tc")
	part1+=("$p1" "$q1") part2+=("$p2" "$q2") part3+=("$p3" "$q3")
done
et=$(median "${e_total[@]}") es=$(median "${e_switch[@]}") en=$(median "${e_nowait[@]}") cs=$(median "${c_switch[@]}")
echo "## Revisions: switching 3 containers (median of $RUNS rounds; ember and ctr in turn)"
echo
echo "| | median ms (range) | ember / ctr |"
echo "|---|---:|---:|"
echo "| \`ember revisions apply\` to committed (3 changed containers, \`{\"running\": $WINDOW}\` each) | $et ($(range "${e_total[@]}")) | – |"
echo "| … less the ${WINDOW} s health window | $((et - WINDOW * 1000)) | – |"
echo "| the test and the commit, events \`/revisions/testing\` → \`/revisions/committed\` (window included) | $(median "${e_test[@]}") ($(range "${e_test[@]}")) | – |"
echo "| switch alone, the daemon's events \`/revisions/applying\` → \`/revisions/testing\` ($((2 * RUNS)) applies) | $es ($(range "${e_switch[@]}")) | $(ratio "$es" "$cs") |"
echo "| … \`applying\` → the first \`/tasks/start\` (the 3 old ones stopped with SIGTERM, their tasks deleted, the records written) | $(median "${part1[@]}") ($(range "${part1[@]}")) | – |"
echo "| … the first \`/tasks/start\` → the third (one after the other) | $(median "${part2[@]}") ($(range "${part2[@]}")) | – |"
echo "| … the third \`/tasks/start\` → \`testing\` (the journal and the revision's record written) | $(median "${part3[@]}") ($(range "${part3[@]}")) | – |"
echo "| switch alone, \`ember revisions apply --no-wait\` wall (client, journal, switch, testing record) | $en ($(range "${e_nowait[@]}")) | $(ratio "$en" "$cs") |"
echo "| ctr (containerd 1.6): per container \`ctr task kill -s SIGKILL\`, poll \`ctr task ls\` until STOPPED, \`ctr task rm\`, \`ctr c rm\`, \`ctr run -d --null-io\` | $cs ($(range "${c_switch[@]}")) | 1 |"
echo
echo "ctr has no health test and no roll-back: only the switch compares. Restarts"
echo "during the switches (ember's /tasks/restart events, expected 0): $restarts."
echo "Runs (ms): apply ${e_total[*]}; events switch ${e_switch[*]}; --no-wait ${e_nowait[*]}; ctr ${c_switch[*]}."
echo

# containerd's part is over: its containers and shims go with it.
for id in "${IDS[@]}"; do "${C[@]}" tasks kill -s SIGKILL "$id" >/dev/null 2>&1 || true; done
for id in "${IDS[@]}"; do
	for _ in $(seq 1 100); do "${C[@]}" tasks rm "$id" >/dev/null 2>&1 && break; sleep 0.05; done
	"${C[@]}" containers rm "$id" >/dev/null
done
kill -TERM "$CPID"
wait "$CPID" 2>/dev/null || true
unset C
ember_stop "$T/ember/state"

# ---- 3: roll-back ------------------------------------------------------------------------------
ember_start rb
"${E[@]}" images import --base-name example.com/bb "$T/bb.tar" >/dev/null
stage r0 '{"running": 1}' '["sleep", "1000"]'
"${E[@]}" revisions apply r0 >/dev/null
EV=$T/rb.events
rb_ms=() rb_start=() rb_wall=()
for round in $(seq 0 "$RUNS"); do
	stage "bad$round" "{\"running\": $WINDOW}" '["sh", "-c", "exit 3"]'
	sync
	t0=$(date +%s%N)
	out=$("${E[@]}" revisions apply "bad$round" 2>&1) && { echo "bench: bad$round committed: $out" >&2; exit 1; }
	tw=$(ms_since "$t0")
	wait_event "$EV" "bad$round" /revisions/rolled-back
	[ "$(running)" -eq 3 ] || { echo "bench: after roll-back $(running) of 3 running" >&2; exit 1; }
	[ "$round" -eq 0 ] && continue
	rb_ms+=("$(ev field "$EV" "bad$round" /revisions/rolled-back ms)")
	rb_start+=("$(ev started "$EV" "bad$round")")
	rb_wall+=("$tw")
done
reason=$(ev field "$EV" "bad$RUNS" /revisions/rolled-back reason)
logged=$(grep -c "revision default/bad[0-9]* rolled back (the old containers ran again [0-9]* ms after" "$T/rb.log" || true)
rm_=$(median "${rb_ms[@]}")
echo "## Revisions: roll-back (3 containers that exit 3 at once, \`{\"running\": $WINDOW}\`; median of $RUNS)"
echo
echo "| | median ms (range) |"
echo "|---|---:|"
echo "| unhealthy verdict → old revision running again (\`ms\` of \`/revisions/rolled-back\`) | $rm_ ($(range "${rb_ms[@]}")) |"
echo "| … of which verdict → the last old container's \`/tasks/start\` | $(median "${rb_start[@]}") ($(range "${rb_start[@]}")) |"
echo "| \`ember revisions apply\` of that revision, wall (switch, exits, verdict, roll-back) | $(median "${rb_wall[@]}") ($(range "${rb_wall[@]}")) |"
echo
echo "Goal: under 1 s from the verdict: $([ "$rm_" -lt 1000 ] && echo met || echo "not met"). Reason given: \"$reason\"."
echo "The daemon's log has $logged \"rolled back (the old containers ran again N ms after the verdict)\" lines for $((RUNS + 1)) roll-backs."
echo "Runs (ms): ms ${rb_ms[*]}; to the last start ${rb_start[*]}; apply ${rb_wall[*]}."
echo
ember_stop "$T/rb/state"

# ---- 4: disk kept by one old revision ------------------------------------------------------
ember_start disk
mkdir -p "$T/img"
for v in 1 2; do
	/usr/bin/python3 tests/integration/lib/mkimage.py sized "$T/img/v$v" "rev-bench-$v" 1024 "v$v" >/dev/null
	tar -C "$T/img/v$v" -cf "$T/img/v$v.tar" .
done
R=$T/disk/root
du_b() { du -sb "$1" 2>/dev/null | cut -f1; }
declare -A DU=()
snap() { # LABEL: the root, its parts and the counts
	local l=$1 d
	DU[$l]="$(du_b "$R")"
	for d in content snapshots; do DU[$l.$d]=$(du_b "$R/$d"); done
	DU[$l.rest]=$((${DU[$l]} - ${DU[$l.content]} - ${DU[$l.snapshots]}))
	DU[$l.blobs]=$("${E[@]}" content ls -q | wc -l)
	DU[$l.snaps]=$("${E[@]}" snapshots ls -q | wc -l)
	DU[$l.images]=$("${E[@]}" images ls -q | wc -l)
	DU[$l.r1snaps]=$("${E[@]}" snapshots ls -q | grep -c '@r1$' || true)
}
"${E[@]}" images import --base-name example.com/app "$T/img/v1.tar" >/dev/null
IMAGE=example.com/app:v1 stage r1 '{"running": 1}' '["sleep", "1000"]'
"${E[@]}" revisions apply r1 >/dev/null
sync
snap a
"${E[@]}" images import --base-name example.com/app "$T/img/v2.tar" >/dev/null
IMAGE=example.com/app:v2 stage r2 '{"running": 1}' '["sleep", "1000"]'
snap b
"${E[@]}" revisions apply r2 >/dev/null
snap c
"${E[@]}" revisions rm r1 >/dev/null
"${E[@]}" images rm example.com/app:v1 >/dev/null
"${E[@]}" content gc >/dev/null
snap d
row() { # LABEL TEXT
	echo "| $2 | ${DU[$1]} | ${DU[$1.content]} | ${DU[$1.snapshots]} | ${DU[$1.rest]} | ${DU[$1.images]} | ${DU[$1.blobs]} | ${DU[$1.snaps]} (${DU[$1.r1snaps]} \`@r1\`) |"
}
layer=$(stat -c %s "$T/img/v1/blobs/sha256/"* | sort -n | tail -1)
echo "## Revisions: the disk one old revision keeps (\`du -sb\` of the daemon's root; 3 containers; images busybox + 1 MiB of random bytes, v1 for r1, v2 for r2)"
echo
echo "| state | root | content/ | snapshots/ | the rest (records) | images | blobs | snapshots |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|"
row a "r1 committed (v1)"
row b "v2 imported, r2 staged (its 3 snapshots prepared)"
row c "r2 committed, r1 kept (superseded; pins v1)"
row d "after \`revisions rm r1\`, \`images rm\` of v1, \`content gc\`"
echo
kept() { echo $((${DU[c$1]} - ${DU[d$1]})); } # what r1 and v1 held
echo "Keeping r1 costs $(kept "") bytes (content/ $(kept .content), snapshots/ $(kept .snapshots), records $(kept .rest));"
echo "v1's own layer blob is $layer bytes."
ember_stop "$T/disk/state"
