#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# The daemon's life: start, readiness, stop, lock, stale socket, config file,
# flags, SIGHUP reload.

bats_require_minimum_version 1.5.0
load helpers

setup() {
	setup_dirs
}

teardown() {
	kill_bg
	cleanup_daemon
	assert_log_clean
}

# A config file naming this test's paths, plus whatever is given.
write_config() {
	{
		echo 'version = 1'
		echo "root = \"$ROOT\""
		echo "state = \"$STATE\""
		echo
		echo '[api]'
		echo "address = \"$SOCK\""
		printf '%s\n' "$@"
	} >"$CONFIG"
}

# ---- start and stop --------------------------------------------------------------

@test "daemon: SIGTERM stops it cleanly; socket and pidfile are removed" {
	start_daemon --pidfile "$T/ember.pid"
	[ -S "$SOCK" ]
	[ "$(cat "$T/ember.pid")" = "$DAEMON_PID" ]
	grep -q "ready: root $ROOT, state $STATE, socket $SOCK, pid $DAEMON_PID" "$DAEMON_LOG"
	stop_daemon
	[ ! -e "$SOCK" ]
	[ ! -e "$T/ember.pid" ]
	grep -q 'received Terminated, shutting down' "$DAEMON_LOG"
	grep -q 'stopped' "$DAEMON_LOG"
}

@test "daemon: SIGINT stops it cleanly" {
	start_daemon --pidfile "$T/ember.pid"
	kill -INT "$DAEMON_PID"
	local rc=0
	wait "$DAEMON_PID" || rc=$?
	DAEMON_PID=
	[ "$rc" -eq 0 ]
	[ ! -e "$SOCK" ]
	[ ! -e "$T/ember.pid" ]
	grep -q 'received Interrupt, shutting down' "$DAEMON_LOG"
}

@test "daemon: it stops cleanly with clients connected and a stream open" {
	start_daemon
	raw hold 3 --hold 30 3>&- &
	bg_track $!
	raw call io.ember.Events.Subscribe '{}' --more --timeout 30 >"$T/sub.out" 3>&- &
	local sub=$!
	bg_track "$sub"
	wait_until 5 test -s "$T/sub.out"
	stop_daemon
	[ ! -e "$SOCK" ]
	# The stream ends with an error reply, not a cut.
	wait "$sub" || true
	cat "$T/sub.out"
	grep -q '"error":"io.ember.Unavailable"' "$T/sub.out"
}

@test "daemon: --pidfile holds the PID once it answers" {
	start_daemon --pidfile "$T/ember.pid"
	[ "$(cat "$T/ember.pid")" = "$DAEMON_PID" ]
	# A complete line, written atomically (no temporary file left).
	[ "$(od -An -c "$T/ember.pid" | tr -d ' \n' | tail -c 2)" = '\n' ]
	run -0 find "$T" -maxdepth 1 -name '.tmp-*'
	[ -z "$output" ]
}

@test "daemon: a --pidfile that cannot be written stops the start-up and removes the socket" {
	: >"$T/empty.toml"
	run -1 "$EMBER" daemon --config "$T/empty.toml" --root "$ROOT" --state "$STATE" --address "$SOCK" \
		--pidfile "$T/no/such/dir/ember.pid"
	echo "$output"
	[[ "$output" == *"pidfile: $T/no/such/dir/ember.pid: "* ]]
	[ ! -e "$SOCK" ]
	run -0 flock -n "$ROOT/ember.lock" true
}

@test "daemon: --notify-fd 3 gets a newline once it answers, then is closed" {
	mkfifo "$T/ready.fifo"
	cat "$T/ready.fifo" >"$T/ready.out" 3>&- &
	local reader=$!
	bg_track "$reader"
	: >"$T/empty.toml"
	"$EMBER" daemon --config "$T/empty.toml" --root "$ROOT" --state "$STATE" --address "$SOCK" \
		--notify-fd 3 3>"$T/ready.fifo" >>"$DAEMON_LOG" 2>&1 &
	DAEMON_PID=$!
	# cat ends when the daemon, the only writer, closes its end.
	wait_until 10 eval '! kill -0 '"$reader"' 2>/dev/null'
	[ "$(od -An -c "$T/ready.out" | tr -d ' \n')" = '\n' ]
	# Ready means ready: the first call works without a retry.
	run -0 e info
	kill -0 "$DAEMON_PID"
}

@test "daemon: --notify-fd needs a descriptor above 2" {
	: >"$T/empty.toml"
	run -2 "$EMBER" daemon --config "$T/empty.toml" --root "$ROOT" --state "$STATE" --address "$SOCK" --notify-fd 1
	[[ "$output" == *notify-fd* ]]
	run -2 "$EMBER" daemon --config "$T/empty.toml" --root "$ROOT" --state "$STATE" --address "$SOCK" --notify-fd x
	[ ! -e "$SOCK" ]
}

@test "daemon: NOTIFY_SOCKET receives READY=1" {
	"$PYTHON" -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
open(sys.argv[2], "w").close()
s.settimeout(15)
print(s.recv(4096).decode(), flush=True)' "$T/notify.sock" "$T/listening" >"$T/notify.out" 2>&1 3>&- &
	local listener=$!
	bg_track "$listener"
	wait_until 5 test -e "$T/listening"
	NOTIFY_SOCKET=$T/notify.sock start_daemon
	wait "$listener"
	cat "$T/notify.out"
	[ "$(cat "$T/notify.out")" = READY=1 ]
}

@test "daemon: NOTIFY_SOCKET in the abstract namespace (@name) receives READY=1" {
	local name="ember-test-$$-$RANDOM"
	"$PYTHON" -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind("\0" + sys.argv[1])
open(sys.argv[2], "w").close()
s.settimeout(15)
print(s.recv(4096).decode(), flush=True)' "$name" "$T/listening" >"$T/notify.out" 2>&1 3>&- &
	local listener=$!
	bg_track "$listener"
	wait_until 5 test -e "$T/listening"
	NOTIFY_SOCKET=@$name start_daemon
	wait "$listener"
	[ "$(cat "$T/notify.out")" = READY=1 ]
}

@test "daemon: invoked as emberd through a symlink" {
	ln -s "$EMBER" "$T/emberd"
	run -0 "$T/emberd" --help
	[[ "${lines[0]}" == "Usage: ember daemon"* ]]
	: >"$T/empty.toml"
	"$T/emberd" --config "$T/empty.toml" --root "$ROOT" --state "$STATE" --address "$SOCK" \
		>>"$DAEMON_LOG" 2>&1 3>&- &
	DAEMON_PID=$!
	wait_for_daemon
	[ "$(e info --json | jget 'j["pid"]')" = "$DAEMON_PID" ]
	stop_daemon
}

# ---- one daemon per root, one per socket -------------------------------------------

@test "daemon: a second daemon on the same root fails, naming the first one's PID" {
	start_daemon
	run -1 "$EMBER" daemon --config "$T/empty.toml" --root "$ROOT" --state "$T/state2" --address "$T/state2/ember.sock"
	echo "$output"
	[[ "$output" == *"pid $DAEMON_PID"* ]]
	[[ "$output" == *"$ROOT"* ]]
	[ ! -e "$T/state2/ember.sock" ]
	# The first is untouched.
	[ -S "$SOCK" ]
	assert_daemon_serves
}

@test "daemon: a refused second daemon leaves the first one's socket and pidfile alone" {
	start_daemon --pidfile "$T/ember.pid"
	run -1 "$EMBER" daemon --config "$T/empty.toml" --root "$ROOT" --state "$STATE" --address "$SOCK" --pidfile "$T/ember.pid"
	echo "$output"
	[[ "$output" == *"pid $DAEMON_PID"* ]]
	[ -S "$SOCK" ]
	[ -e "$T/ember.pid" ]
	[ "$(cat "$T/ember.pid")" = "$DAEMON_PID" ]
	assert_daemon_serves
}

@test "daemon: a second daemon on another root but the same socket fails" {
	start_daemon
	run -1 "$EMBER" daemon --config "$T/empty.toml" --root "$T/root2" --state "$T/state2" --address "$SOCK"
	echo "$output"
	[[ "$output" == *"another daemon is answering there"* ]]
	[[ "$output" == *"$SOCK"* ]]
	[ -S "$SOCK" ]
	assert_daemon_serves
	# The lock of the refused daemon was released.
	run -0 flock -n "$T/root2/ember.lock" true
}

@test "daemon: a stale socket left by a kill -9 is replaced on restart" {
	start_daemon
	local first=$DAEMON_PID
	e namespaces create survivor
	kill_daemon
	[ -S "$SOCK" ]
	run -1 e info
	start_daemon
	[ "$DAEMON_PID" != "$first" ]
	[ "$(e info --json | jget 'j["pid"]')" = "$DAEMON_PID" ]
	[ "$(stat -c %a "$SOCK")" = 660 ]
	run -0 e namespaces ls -q
	[ "$output" = survivor ]
}

@test "daemon: a file that is not a socket at the address is left alone" {
	mkdir -p "$STATE"
	echo precious >"$SOCK"
	: >"$T/empty.toml"
	run -1 "$EMBER" daemon --config "$T/empty.toml" --root "$ROOT" --state "$STATE" --address "$SOCK"
	echo "$output"
	[[ "$output" == *"not a socket"* ]]
	[ "$(cat "$SOCK")" = precious ]
}

# ---- the config file ----------------------------------------------------------------------

@test "daemon: root, state, address, group and level come from the config file" {
	write_config 'group = 4242' '' '[debug]' 'level = "debug"'
	start_daemon_args --config "$CONFIG"
	run -0 e info --json
	[ "$(echo "$output" | jget 'j["root"]')" = "$ROOT" ]
	[ "$(echo "$output" | jget 'j["state"]')" = "$STATE" ]
	[ "$(echo "$output" | jget 'j["address"]')" = "$SOCK" ]
	[ -e "$ROOT/ember.lock" ]
	[ "$(stat -c %g "$SOCK")" = 4242 ]
	wait_until 5 grep -q 'debug api: pid [0-9]* calls io.ember.System.Info' "$DAEMON_LOG"
}

@test "daemon: a group given by name in the config file" {
	local name
	name=$(getent group 0 | cut -d: -f1)
	[ -n "$name" ]
	write_config "group = \"$name\""
	start_daemon_args --config "$CONFIG"
	[ "$(stat -c %g "$SOCK")" = 0 ]
	write_config 'group = "no-such-group-ember"'
	stop_daemon
	run -1 "$EMBER" daemon --config "$CONFIG"
	echo "$output"
	[[ "$output" == *no-such-group-ember* ]]
}

@test "daemon: flags override the config file" {
	write_config 'group = 4242' '' '[debug]' 'level = "debug"'
	local sock2=$T/s2/ember.sock
	SOCK=$sock2 start_daemon_args --config "$CONFIG" --root "$T/root2" --state "$T/state2" \
		--address "$sock2" --group 4243 --log-level warn
	[ ! -e "$SOCK" ]
	SOCK=$sock2
	run -0 e info --json
	[ "$(echo "$output" | jget 'j["root"]')" = "$T/root2" ]
	[ "$(echo "$output" | jget 'j["state"]')" = "$T/state2" ]
	[ "$(stat -c %g "$sock2")" = 4243 ]
	[ ! -e "$ROOT/ember.lock" ]
	[ -e "$T/root2/ember.lock" ]
	# warn: neither info nor debug lines.
	run -1 grep -q ' debug ' "$DAEMON_LOG"
	run -1 grep -q ' info ' "$DAEMON_LOG"
}

@test "daemon: an unknown config key is a warning and the daemon starts" {
	write_config 'colour = "blue"' '' '[future]' 'knob = 1'
	start_daemon_args --config "$CONFIG"
	grep 'unknown key' "$DAEMON_LOG"
	grep -q "$CONFIG: unknown key \"api.colour\" ignored" "$DAEMON_LOG"
	grep -q "unknown key \"future\"" "$DAEMON_LOG"
	assert_daemon_serves
}

@test "daemon: a config syntax error fails with the file name and line:col" {
	printf 'version = 1\n# a comment\nroot = "/var/lib/x" trailing\n' >"$CONFIG"
	run -1 "$EMBER" daemon --config "$CONFIG" --root "$ROOT" --state "$STATE" --address "$SOCK"
	echo "$output"
	[[ "$output" == *"$CONFIG:3:"[0-9]* ]]
	[ ! -e "$SOCK" ]
	printf 'version = 1\n[api\n' >"$CONFIG"
	run -1 "$EMBER" daemon --config "$CONFIG" --root "$ROOT" --state "$STATE" --address "$SOCK"
	echo "$output"
	[[ "$output" == *"$CONFIG:2:"[0-9]* ]]
	printf 'root = "unterminated\n' >"$CONFIG"
	run -1 "$EMBER" daemon --config "$CONFIG" --root "$ROOT" --state "$STATE" --address "$SOCK"
	echo "$output"
	[[ "$output" == *"$CONFIG:1:"[0-9]* ]]
	[ ! -e "$ROOT/ember.lock" ]
}

@test "daemon: a config value of the wrong type fails naming the key" {
	printf 'root = 5\n' >"$CONFIG"
	run -1 "$EMBER" daemon --config "$CONFIG" --state "$STATE" --address "$SOCK"
	echo "$output"
	[[ "$output" == *'"root"'* ]]
	[[ "$output" == *"$CONFIG"* ]]
	printf '[debug]\nlevel = true\n' >"$CONFIG"
	run -1 "$EMBER" daemon --config "$CONFIG" --root "$ROOT" --state "$STATE" --address "$SOCK"
	echo "$output"
	[[ "$output" == *level* ]]
	printf 'api = "x"\n' >"$CONFIG"
	run -1 "$EMBER" daemon --config "$CONFIG" --root "$ROOT" --state "$STATE" --address "$SOCK"
	echo "$output"
	[[ "$output" == *'"api"'* ]]
	[ ! -e "$SOCK" ]
}

@test "daemon: relative paths are refused, in the file and in flags" {
	printf 'root = "var/lib/ember"\n' >"$CONFIG"
	run -1 "$EMBER" daemon --config "$CONFIG" --state "$STATE" --address "$SOCK"
	echo "$output"
	[[ "$output" == *"absolute path"* ]]
	[[ "$output" == *root* ]]
	printf '[api]\naddress = "ember.sock"\n' >"$CONFIG"
	run -1 "$EMBER" daemon --config "$CONFIG" --root "$ROOT" --state "$STATE"
	[[ "$output" == *"absolute path"* ]]
	: >"$CONFIG"
	run -1 "$EMBER" daemon --config "$CONFIG" --root rel/root --state "$STATE" --address "$SOCK"
	echo "$output"
	[[ "$output" == *"--root"* ]]
	[[ "$output" == *"absolute path"* ]]
	[ ! -e rel ]
}

@test "daemon: config version 2 is refused" {
	printf 'version = 2\n' >"$CONFIG"
	run -1 "$EMBER" daemon --config "$CONFIG" --root "$ROOT" --state "$STATE" --address "$SOCK"
	echo "$output"
	[[ "$output" == *version* ]]
	[ ! -e "$SOCK" ]
}

@test "daemon: a missing --config file is an error" {
	run -1 "$EMBER" daemon --config "$T/nope.toml" --root "$ROOT" --state "$STATE" --address "$SOCK"
	echo "$output"
	[[ "$output" == *"$T/nope.toml"* ]]
	[ ! -e "$SOCK" ]
}

# ---- SIGHUP -------------------------------------------------------------------------------------

@test "daemon: SIGHUP applies a new log level" {
	write_config '' '[debug]' 'level = "info"'
	start_daemon_args --config "$CONFIG"
	e info >/dev/null
	run -1 grep -q ' debug ' "$DAEMON_LOG"
	write_config '' '[debug]' 'level = "debug"'
	kill -HUP "$DAEMON_PID"
	wait_until 5 grep -q 'configuration reloaded (log level debug)' "$DAEMON_LOG"
	e namespaces ls >/dev/null
	wait_until 5 grep -q 'debug api: pid [0-9]* calls io.ember.Namespaces.List' "$DAEMON_LOG"
	# And back.
	# (An unknown key marks the reload: warnings still show at warn.)
	write_config 'marker = 1' '' '[debug]' 'level = "warn"'
	kill -HUP "$DAEMON_PID"
	wait_until 5 grep -q 'unknown key "api.marker"' "$DAEMON_LOG"
	local n
	n=$(grep -c ' debug ' "$DAEMON_LOG")
	e info >/dev/null
	e info >/dev/null
	[ "$(grep -c ' debug ' "$DAEMON_LOG")" = "$n" ]
	assert_daemon_serves
}

@test "daemon: SIGHUP with a broken config keeps the daemon running and logs an error" {
	write_config '' '[debug]' 'level = "info"'
	start_daemon_args --config "$CONFIG"
	printf 'version = 1\n[debug\n' >"$CONFIG"
	kill -HUP "$DAEMON_PID"
	wait_until 5 grep -q 'error reload: .*keeping the running configuration' "$DAEMON_LOG"
	grep 'error reload' "$DAEMON_LOG" | grep -q "$CONFIG:2:"
	assert_daemon_serves
	[ -S "$SOCK" ]
	# A wrong value is refused the same way.
	printf 'version = 1\n[debug]\nlevel = "shout"\n' >"$CONFIG"
	kill -HUP "$DAEMON_PID"
	wait_until 5 grep -q 'shout' "$DAEMON_LOG"
	assert_daemon_serves
	# The file deleted altogether.
	rm "$CONFIG"
	kill -HUP "$DAEMON_PID"
	wait_until 5 grep -q "error reload: .*$CONFIG: No such file" "$DAEMON_LOG"
	assert_daemon_serves
	# The running level (info) was kept throughout.
	run -1 grep -q ' debug ' "$DAEMON_LOG"
}

@test "daemon: SIGHUP with a new root logs that a restart is needed" {
	write_config
	start_daemon_args --config "$CONFIG"
	e namespaces create kept
	{
		echo 'version = 1'
		echo "root = \"$T/other-root\""
		echo "state = \"$STATE\""
		echo '[api]'
		echo "address = \"$SOCK\""
	} >"$CONFIG"
	kill -HUP "$DAEMON_PID"
	wait_until 5 grep -q "root changed to $T/other-root: takes effect after a restart" "$DAEMON_LOG"
	# Still the old root.
	[ "$(e info --json | jget 'j["root"]')" = "$ROOT" ]
	run -0 e namespaces ls -q
	[ "$output" = kept ]
	[ ! -e "$T/other-root" ]
}

@test "daemon: SIGHUP applies a new socket group" {
	write_config
	start_daemon_args --config "$CONFIG"
	[ "$(stat -c %g "$SOCK")" = 0 ]
	write_config 'group = 4242'
	kill -HUP "$DAEMON_PID"
	wait_until 5 grep -q 'configuration reloaded' "$DAEMON_LOG"
	[ "$(stat -c %g "$SOCK")" = 4242 ]
	[ "$(stat -c %a "$SOCK")" = 660 ]
	open_path_to_socket
	run -0 setpriv --reuid 65534 --regid 65534 --groups 4242 \
		"$PYTHON" "$TESTS_DIR/varlink_raw.py" "$SOCK" call io.ember.System.Version
}

# ---- flags ------------------------------------------------------------------------------------

@test "daemon: --log-level bogus is refused with a clear message" {
	: >"$T/empty.toml"
	run "$EMBER" daemon --config "$T/empty.toml" --root "$ROOT" --state "$STATE" --address "$SOCK" --log-level bogus
	echo "$output"
	[ "$status" -eq 1 ] || [ "$status" -eq 2 ]
	[[ "$output" == *bogus* ]]
	[[ "$output" == *log-level* ]]
	[ ! -e "$SOCK" ]
	run "$EMBER" daemon --config "$T/empty.toml" --root "$ROOT" --state "$STATE" --address "$SOCK" --log bogus
	[ "$status" -eq 1 ] || [ "$status" -eq 2 ]
	[[ "$output" == *bogus* ]]
}

@test "daemon: unknown flags, extra arguments and missing values exit 2" {
	run -2 "$EMBER" daemon --bogus
	echo "$output"
	[[ "$output" == *--bogus* ]]
	run -2 "$EMBER" daemon extra
	[[ "$output" == *extra* ]]
	run -2 "$EMBER" daemon --root
	[[ "$output" == *--root* ]]
	run -0 "$EMBER" daemon --help
	[[ "${lines[0]}" == "Usage: ember daemon"* ]]
}

@test "daemon: a socket path over the 107-byte limit is refused before anything is created" {
	long=$T/$(printf 'd%.0s' $(seq 120))/ember.sock
	run -1 "$EMBER" daemon --config /dev/null --root "$T/r" --state "$T/s" --address "$long"
	[[ "$output" == *"socket path is"*"longer than the limit of 107"* ]]
	[ ! -e "$T/r" ] && [ ! -e "$T/s" ] && [ ! -e "$(dirname "$long")" ]
}

# In a new mount namespace: a private, empty /dev with only null, so
# /dev/log is ours to create or leave absent. Only /dev is made private
# (unshare's default makes / private, which fails where / is not a mount
# point, as in a chroot); nothing else is mounted, so nothing can leak.
PRIVATE_DEV='mount --make-rprivate /dev && mount -t tmpfs tmpfs /dev && mknod -m 666 /dev/null c 1 3'

@test "daemon: --log syslog without a syslog socket (/dev/log) is refused, not silent" {
	# A private mount namespace where /dev/log surely does not exist.
	: >"$T/empty.toml"
	run -1 unshare --mount --propagation unchanged sh -c \
		"$PRIVATE_DEV"'; exec "$0" daemon --config "$1/empty.toml" --root "$1/r" --state "$1/s" --address "$1/s/e.sock" --log syslog' \
		"$EMBER" "$T"
	[[ "$output" == *"log to syslog: /dev/log: No such file or directory"* ]]
}

@test "daemon: --log syslog writes to the syslog socket" {
	# A stand-in syslog daemon on /dev/log, in a private mount namespace.
	cat >"$T/syslogd.py" <<'PY'
import os, socket, sys
os.makedirs("/dev", exist_ok=True)
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind("/dev/log")
open(sys.argv[1], "w").close()
with open(sys.argv[1], "ab", buffering=0) as out:
    while True:
        out.write(s.recv(4096) + b"\n")
PY
	: >"$T/empty.toml"
	unshare --mount --propagation unchanged sh -c "$PRIVATE_DEV"'
		/usr/bin/python3 "$1/syslogd.py" "$1/syslog.out" & sl=$!
		while [ ! -e "$1/syslog.out" ]; do sleep 0.05; done
		"$2" daemon --config "$1/empty.toml" --root "$1/r" --state "$1/s" --address "$1/s/e.sock" --log syslog & d=$!
		for i in $(seq 100); do grep -q ready "$1/syslog.out" && break; sleep 0.05; done
		kill -TERM $d; wait $d; rc=$?
		# The last datagrams may still wait in the socket for the reader.
		for i in $(seq 40); do grep -q stopped "$1/syslog.out" && break; sleep 0.05; done
		kill $sl; exit $rc' sh "$T" "$EMBER"
	grep -q 'ember\[[0-9]*\]: ember .* ready: root' "$T/syslog.out"
	grep -q 'ember\[[0-9]*\]: stopped' "$T/syslog.out"
}
