# SPDX-License-Identifier: Apache-2.0
# Shared helpers for ember's bats tests. Every test gets its own root, state
# and socket under $BATS_TEST_TMPDIR and stops every process it started.

EMBER=${EMBER_BIN:?set EMBER_BIN to the ember binary under test}
PYTHON=/usr/bin/python3
TESTS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
unset EMBER_ADDRESS EMBER_NAMESPACE NOTIFY_SOCKET
# shellcheck source=lib/common.bash
. "$TESTS_DIR/lib/common.bash"

setup_dirs() {
	T=$BATS_TEST_TMPDIR
	ROOT=$T/root
	STATE=$T/state
	SOCK=$T/state/ember.sock
	CONFIG=$T/config.toml
	DAEMON_LOG=$T/daemon.log
	export EMBER_ADDRESS=$SOCK
}

# ember against this test's daemon.
e() {
	"$EMBER" --address "$SOCK" "$@"
}

# Start a daemon in the background and wait until it answers.
# Extra arguments go to `ember daemon`.
start_daemon() {
	[ -n "${T:-}" ] || setup_dirs
	# A private, empty config: never the machine's /etc/ember/config.toml.
	[ -n "${DAEMON_CONFIG:-}" ] || { DAEMON_CONFIG=$T/empty.toml; : >"$DAEMON_CONFIG"; }
	"$EMBER" daemon --config "$DAEMON_CONFIG" --root "$ROOT" --state "$STATE" \
		--address "$SOCK" "$@" >>"$DAEMON_LOG" 2>&1 &
	DAEMON_PID=$!
	wait_for_daemon
}

wait_for_daemon() {
	local i
	for i in $(seq 1 100); do
		if "$EMBER" --address "$SOCK" call io.ember.System.Version >/dev/null 2>&1; then
			return 0
		fi
		if ! kill -0 "$DAEMON_PID" 2>/dev/null; then
			echo "daemon exited during start-up:" >&2
			cat "$DAEMON_LOG" >&2
			return 1
		fi
		sleep 0.05
	done
	echo "daemon did not answer within 5 s:" >&2
	cat "$DAEMON_LOG" >&2
	return 1
}

# In the teardown of a test that failed or timed out: what the daemon was
# doing, for the test's output (a hang seen once on a CI machine must be
# understood from that output alone).
daemon_diagnose() {
	[ -n "${BATS_TEARDOWN_STARTED:-}" ] && [ -z "${BATS_TEST_COMPLETED:-}" ] || return 0
	[ -n "${DAEMON_PID:-}" ] && kill -0 "$DAEMON_PID" 2>/dev/null || return 0
	local t
	echo "--- the daemon (pid $DAEMON_PID) at teardown of a failed test"
	timeout 5 "$EMBER" --address "$SOCK" --json jobs ls --all 2>&1 || true
	timeout 5 "$EMBER" --address "$SOCK" content active 2>&1 || true
	for t in /proc/"$DAEMON_PID"/task/*; do
		echo "thread ${t##*/} $(cat "$t/comm" 2>/dev/null) $(cut -d' ' -f3 "$t/stat" 2>/dev/null) $(cat "$t/wchan" 2>/dev/null)"
		sed 's/^/    /' "$t/stack" 2>/dev/null || true
	done
	echo "--- the daemon's log (last 60 lines)"
	tail -n 60 "$DAEMON_LOG" 2>/dev/null || true
	echo "---"
}

# Stop the daemon with SIGTERM and check it exits cleanly.
stop_daemon() {
	local i
	[ -n "${DAEMON_PID:-}" ] || return 0
	daemon_diagnose
	kill -TERM "$DAEMON_PID" 2>/dev/null || true
	for i in $(seq 1 100); do
		kill -0 "$DAEMON_PID" 2>/dev/null || break
		sleep 0.05
	done
	if kill -0 "$DAEMON_PID" 2>/dev/null; then
		kill -KILL "$DAEMON_PID"
		wait "$DAEMON_PID" 2>/dev/null || true
		DAEMON_PID=
		echo "daemon did not stop on SIGTERM" >&2
		return 1
	fi
	local rc=0
	wait "$DAEMON_PID" || rc=$?
	DAEMON_PID=
	return $rc
}

# kill -9: what a crash or power cut looks like to the process.
kill_daemon() {
	[ -n "${DAEMON_PID:-}" ] || return 0
	kill -KILL "$DAEMON_PID" 2>/dev/null || true
	wait "$DAEMON_PID" 2>/dev/null || true
	DAEMON_PID=
}

# For teardown(): never leave a daemon behind, whatever the test did.
cleanup_daemon() {
	daemon_diagnose
	if [ -n "${DAEMON_PID:-}" ] && kill -0 "$DAEMON_PID" 2>/dev/null; then
		kill -KILL "$DAEMON_PID" 2>/dev/null || true
		wait "$DAEMON_PID" 2>/dev/null || true
	fi
	DAEMON_PID=
}

# Raw varlink client (independent of libember): see varlink_raw.py.
raw() {
	"$PYTHON" "$TESTS_DIR/varlink_raw.py" "$SOCK" "$@"
}

# No temporary or partial record anywhere under the metadata tree.
assert_no_tmp_records() {
	local left
	left=$(find "$ROOT/meta" -name '.tmp-*' 2>/dev/null)
	if [ -n "$left" ]; then
		echo "temporary records left behind:" >&2
		echo "$left" >&2
		return 1
	fi
}

# Every namespace directory holds a complete, parseable record.
# (One python for all of them: a crash test leaves hundreds.)
assert_records_valid() {
	"$PYTHON" -c '
import json, os, sys
meta = sys.argv[1]
bad = 0
for name in sorted(os.listdir(meta)) if os.path.isdir(meta) else []:
    d = os.path.join(meta, name)
    if name.startswith(".") or not os.path.isdir(d):
        continue
    try:
        r = json.load(open(os.path.join(d, "namespace.json")))
        assert r["name"] == name, r
    except Exception as e:
        print("damaged record in %s/: %r" % (d, e), file=sys.stderr)
        bad += 1
sys.exit(1 if bad else 0)' "$ROOT/meta"
}

# ---- added for the api, daemon, namespaces, cli and crash tests ------------

IDL_DIR=$(cd "$TESTS_DIR/../../src/api/idl" 2>/dev/null && pwd)

# Start `ember daemon ARGS...` exactly as given (no default --root, --state,
# --address, --config), logging to $DAEMON_LOG, and wait until it answers
# on $SOCK. For tests that take settings from a config file.
start_daemon_args() {
	[ -n "${T:-}" ] || setup_dirs
	"$EMBER" daemon "$@" >>"$DAEMON_LOG" 2>&1 3>&- &
	DAEMON_PID=$!
	wait_for_daemon
}

# Other background processes of a test (event readers, loops, listeners):
# bg_track PID... remembers them, kill_bg stops them by PID (TERM, then KILL).
BG_PIDS=()
bg_track() {
	BG_PIDS+=("$@")
}

kill_bg() {
	local p i
	for p in "${BG_PIDS[@]}"; do
		kill -TERM "$p" 2>/dev/null || true
	done
	for p in "${BG_PIDS[@]}"; do
		for i in $(seq 1 40); do
			kill -0 "$p" 2>/dev/null || break
			sleep 0.05
		done
		kill -KILL "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	BG_PIDS=()
}

# ipn NAME ARGS...: `ip ARGS` in the network namespace /run/netns/NAME.
# Not `ip -n NAME` nor `ip netns exec`: both also make a mount namespace
# whose first step (mount --make-rslave /) fails where / is no mount
# point, as in the chroot of a fresh CI machine.
ipn() {
	local ns=$1
	shift
	nsenter --net="/run/netns/$ns" ip "$@"
}

# wait_until SECONDS CMD...: run CMD every 50 ms until it succeeds.
wait_until() {
	local end=$(($(date +%s%N) + $1 * 1000000000))
	shift
	until "$@"; do
		if [ "$(date +%s%N)" -gt "$end" ]; then
			echo "timed out waiting for: $*" >&2
			return 1
		fi
		sleep 0.05
	done
}

# Evaluate a Python expression over the JSON document on stdin (bound to j).
# Strings print bare, everything else as compact JSON.
jget() {
	"$PYTHON" -c '
import json, sys
j = json.load(sys.stdin)
v = eval(sys.argv[1])
print(v if isinstance(v, str) else json.dumps(v, sort_keys=True))' "$1"
}

# The daemon is alive and another client is served.
assert_daemon_serves() {
	if ! kill -0 "$DAEMON_PID" 2>/dev/null; then
		echo "the daemon died:" >&2
		cat "$DAEMON_LOG" >&2
		return 1
	fi
	local out
	out=$(raw call io.ember.System.Version) || {
		echo "the daemon did not serve another client: $out" >&2
		return 1
	}
	case "$out" in
	*'"version"'*) ;;
	*) echo "unexpected reply: $out" >&2; return 1 ;;
	esac
}

# No sanitizer report in the daemon's log (UBSan reports and carries on).
assert_log_clean() {
	[ -f "$DAEMON_LOG" ] || return 0
	if grep -E 'runtime error:|AddressSanitizer|LeakSanitizer|SUMMARY: ' "$DAEMON_LOG" >&2; then
		echo "sanitizer report in the daemon log" >&2
		return 1
	fi
}

# Let another uid reach $SOCK: every directory above it must be searchable
# (bats makes its temporary directories 0700).
open_path_to_socket() {
	local d
	d=$(dirname "$SOCK")
	while [ "$d" != / ] && [ "$d" != /tmp ]; do
		chmod a+x "$d"
		d=$(dirname "$d")
	done
}

# The daemon's resident memory in KiB.
daemon_rss_kib() {
	awk '/^VmRSS:/ { print $2 }' "/proc/$DAEMON_PID/status"
}

# Start `ember events ARGS...` in the background, writing to FILE, and wait
# until it is subscribed: PROBE (a command) is run until one of the events
# it makes shows up in FILE. `ember events` prints nothing when the daemon
# confirms the subscription, so this is the only way to know from outside.
#   start_events FILE "PROBE" [ARGS...]    sets EVENTS_PID
start_events() {
	local file=$1 probe=$2 i
	shift 2
	e events "$@" >"$file" 2>"$file.err" 3>&- &
	EVENTS_PID=$!
	bg_track "$EVENTS_PID"
	for i in $(seq 1 100); do
		eval "$probe" >/dev/null 2>&1 || true
		[ -s "$file" ] && return 0
		if ! kill -0 "$EVENTS_PID" 2>/dev/null; then
			echo "ember events exited:" >&2
			cat "$file.err" >&2
			return 1
		fi
		sleep 0.05
	done
	echo "ember events never saw a probe event" >&2
	return 1
}

# make_big_namespaces N: N namespaces big-1..big-N, each with 15 labels of
# 4000 bytes (60 KiB, under the 64 KiB a namespace may hold), in one write.
make_big_namespaces() {
	"$PYTHON" -c '
import json, sys
n = int(sys.argv[2])
with open(sys.argv[1], "wb") as f:
    for i in range(1, n + 1):
        labels = {"k%02d" % j: "v" * 4000 for j in range(15)}
        f.write(json.dumps({"method": "io.ember.Namespaces.Create",
                            "parameters": {"name": "big-%d" % i, "labels": labels}}).encode() + b"\0")
' "$T/big.msgs" "$1"
	local out
	out=$(raw --timeout 30 send --file "$T/big.msgs" --replies "$1")
	if [ "$(grep -c '"namespace"' <<<"$out")" -ne "$1" ]; then
		echo "creating $1 big namespaces failed:" >&2
		echo "${out:0:2000}" >&2
		return 1
	fi
}

# ---- the README's example agent (library.bats, install.bats) ---------------

# readme_agent FILE: the C block after <!-- example-agent --> in README.md.
readme_agent() {
	awk '/<!-- example-agent -->/ {on=1; next} on && /^```c/ {code=1; next} code && /^```/ {exit} code' \
		"$TESTS_DIR/../../README.md" >"$1"
	[ -s "$1" ]
}

# agent_follows AGENT: with this test's daemon running, the README's agent
# AGENT makes its namespace, prints that namespace's events only, and
# exits 1 saying so when the daemon stops (stops the daemon).
agent_follows() {
	"$1" >"$T/agent.out" 2>"$T/agent.err" 3>&- &
	AGENT_PID=$!
	wait_until 5 eval 'e namespaces ls -q | grep -qx ota'
	run -0 e namespaces label ota
	[ "$output" = "owner=fleet" ]
	e namespaces create other
	e namespaces label other x=1 >/dev/null
	e namespaces label ota channel=stable >/dev/null
	wait_until 5 grep -q channel "$T/agent.out"
	# Only its namespace's events, and the update it caused.
	run -0 cat "$T/agent.out"
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == *'"topic":"/namespaces/update"'* ]]
	[[ "$output" == *'"channel":"stable"'* ]]
	# When the daemon stops, the agent's stream ends with a clear error.
	stop_daemon
	local rc=0
	wait "$AGENT_PID" || rc=$?
	AGENT_PID=
	[ "$rc" -eq 1 ]
	grep -q "shutting down" "$T/agent.err"
}

# For teardown(): the agent, if a test left it running.
cleanup_agent() {
	if [ -n "${AGENT_PID:-}" ]; then
		kill "$AGENT_PID" 2>/dev/null || true
		wait "$AGENT_PID" 2>/dev/null || true
	fi
	AGENT_PID=
}
