#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# `ember init`, the PID 1 of each container, run directly (no daemon): exit
# status and exit file, exec errors on the report fd, PATH lookup, signal
# forwarding, reaping (as a real PID 1 under unshare, and as a subreaper),
# the two size-bounded log files and their order, a full log file system,
# draining after exit, the terminal, and its memory.

bats_require_minimum_version 1.5.0
load helpers

setup() {
	T=$BATS_TEST_TMPDIR
	MOUNTED=
	INIT_PID=
}

teardown() {
	if [ -n "$INIT_PID" ]; then
		kill -KILL "$INIT_PID" 2>/dev/null || true
		wait "$INIT_PID" 2>/dev/null || true
	fi
	kill_bg
	if [ -n "$MOUNTED" ]; then
		umount "$MOUNTED"
	fi
}

# json FILE EXPR: EXPR over the JSON object in FILE (see jget).
json() {
	jget "$2" <"$1"
}

# The two log files in the order the rule in runtime.h gives: the file
# with the newer mtime is the current one, a tie means the first (A).
logs_in_order() {
	"$PYTHON" -c '
import os, sys
a, b = sys.argv[1], sys.argv[2]
first, second = (a, b) if os.stat(b).st_mtime_ns > os.stat(a).st_mtime_ns else (b, a)
sys.stdout.buffer.write(open(first, "rb").read() + open(second, "rb").read())' "$1" "$2"
}

# has_app PID: init PID has forked its application (wait_until runs a
# command again each time; a "$(...)" argument would be expanded once).
has_app() {
	[ -n "$(cat "/proc/$1/task/$1/children" 2>/dev/null)" ]
}

# lines_are FILE N: FILE has N lines.
lines_are() {
	[ "$(wc -l <"$1" 2>/dev/null)" = "$2" ]
}

# ---- exit status and exit file --------------------------------------------------

@test "init: exits with the application's code and writes the exit file" {
	run -3 "$EMBER" init --exit-fd 3 -- sh -c 'echo $$ >"$0"; exit 3' "$T/pid" 3>"$T/exit.json"
	cat "$T/exit.json"
	[ "$(json "$T/exit.json" 'j["exit_code"]')" = 3 ]
	[ "$(json "$T/exit.json" 'j["pid"]')" = "$(cat "$T/pid")" ]
	[ "$(json "$T/exit.json" 'sorted(j)')" = '["exit_code", "exited_at", "pid"]' ]
	[[ "$(json "$T/exit.json" 'j["exited_at"]')" =~ ^20[0-9]{2}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{9}Z$ ]]
	# One object, and a shorter one replaces a longer one entirely.
	printf '%*s' 400 x >"$T/exit.json"
	run -0 "$EMBER" init --exit-fd 3 -- true 3<>"$T/exit.json"
	[ "$(json "$T/exit.json" 'j["exit_code"]')" = 0 ]
	[ "$(wc -c <"$T/exit.json")" -lt 200 ]
}

@test "init: an inherited SIG_IGN for SIGCHLD does not lose the exit status" {
	# With SIGCHLD ignored the kernel would reap the application itself.
	run -3 "$PYTHON" -c '
import os, signal, sys
signal.signal(signal.SIGCHLD, signal.SIG_IGN)
os.execv(sys.argv[1], sys.argv[1:])' "$EMBER" init --exit-fd 3 -- sh -c 'exit 3' 3>"$T/exit.json"
	[ "$(json "$T/exit.json" 'j["exit_code"]')" = 3 ]
}

@test "init: an application killed by a signal gives 128+signal and the signal in the exit file" {
	run -137 "$EMBER" init --exit-fd 3 -- sh -c 'kill -KILL $$' 3>"$T/exit.json"
	cat "$T/exit.json"
	[ "$(json "$T/exit.json" 'j["signal"]')" = 9 ]
	[ "$(json "$T/exit.json" 'j["signal_name"]')" = SIGKILL ]
	[ "$(json "$T/exit.json" 'j["core_dumped"]')" = false ]
	[ "$(json "$T/exit.json" '"exit_code" in j')" = false ]
	run -143 "$EMBER" init --exit-fd 3 -- sh -c 'kill -TERM $$' 3>"$T/exit.json"
	[ "$(json "$T/exit.json" 'j["signal_name"]')" = SIGTERM ]
}

# ---- exec errors ------------------------------------------------------------------

@test "init: a missing program is reported on the report fd (errno, step, text), exit 127, no exit file" {
	run -127 "$EMBER" init --report-fd 4 --exit-fd 3 -- /nonexistent arg 3>"$T/exit.json" 4>"$T/report"
	[ "$(cat "$T/report")" = '2 exec exec "/nonexistent": no such file or directory' ]
	# One line, no newline.
	[ "$(wc -c <"$T/report")" -eq 53 ]
	[ ! -s "$T/exit.json" ]
	# Without a report fd, the line goes to stderr.
	run -127 --separate-stderr "$EMBER" init -- /nonexistent
	[ "$stderr" = 'ember init: exec "/nonexistent": no such file or directory' ]
}

@test "init: success writes nothing to the report fd, which the application does not inherit" {
	: >"$T/l1"; : >"$T/l2"
	run -0 "$EMBER" init --report-fd 4 --exit-fd 3 --log-fd 5 --log-fd 6 -- \
		sh -c 'for fd in 3 4 5 6; do [ ! -e /proc/$$/fd/$fd ] || exit 9; done; ls -l /proc/$$/fd' \
		3>"$T/exit.json" 4>"$T/report" 5>>"$T/l1" 6>>"$T/l2"
	[ -e "$T/report" ] && [ ! -s "$T/report" ]
	[ "$(json "$T/exit.json" 'j["exit_code"]')" = 0 ]
}

@test "init: a relative name is looked up in the PATH init was given" {
	mkdir "$T/bin" "$T/empty"
	printf '#!/bin/sh\necho "found $1"\n' >"$T/bin/prog"
	chmod +x "$T/bin/prog"
	run -0 env -i PATH="$T/empty:$T/bin" "$EMBER" init -- prog x
	[ "$output" = "found x" ]
	# Not in that PATH (though in the test's own PATH).
	run -127 env -i PATH="$T/empty" "$EMBER" init --report-fd 4 -- prog 4>"$T/report"
	[ "$(cat "$T/report")" = '2 exec exec "prog": no such file or directory' ]
	run -127 env -i PATH="$T/empty" "$EMBER" init --report-fd 4 -- sh 4>"$T/report"
	[ "$(cat "$T/report")" = '2 exec exec "sh": no such file or directory' ]
}

@test "init: the application gets exactly init's environment" {
	run -0 env -i FOO=bar "$EMBER" init -- /usr/bin/env
	[ "$output" = "FOO=bar" ]
	run -0 env -i FOO=bar /usr/bin/env -C "$T" "$EMBER" init -- /usr/bin/env
	[ "$output" = "FOO=bar" ]
	run -0 env -i /usr/bin/env -C "$T" "$EMBER" init -- /bin/pwd
	[ "$output" = "$T" ]
}

@test "init: a file that is not executable gives permission denied" {
	mkdir "$T/bin"
	printf '#!/bin/sh\nexit 0\n' >"$T/bin/prog"
	chmod 0644 "$T/bin/prog"
	run -127 "$EMBER" init --report-fd 4 -- "$T/bin/prog" 4>"$T/report"
	[ "$(cat "$T/report")" = "13 exec exec \"$T/bin/prog\": permission denied" ]
	run -127 env -i PATH="$T/bin" "$EMBER" init --report-fd 4 -- prog 4>"$T/report"
	[ "$(cat "$T/report")" = '13 exec exec "prog": permission denied' ]
	# Not a program at all.
	printf 'just text\n' >"$T/bin/text"
	chmod +x "$T/bin/text"
	run -127 "$EMBER" init --report-fd 4 -- "$T/bin/text" 4>"$T/report"
	[ "$(cat "$T/report")" = "8 exec exec \"$T/bin/text\": exec format error" ]
}

@test "init: a missing #! interpreter is named as the cause" {
	printf '#!/nonexistent/sh\nexit 0\n' >"$T/script"
	chmod +x "$T/script"
	run -127 "$EMBER" init --report-fd 4 -- "$T/script" 4>"$T/report"
	[[ "$(cat "$T/report")" == "2 exec exec \"$T/script\": no such file or directory (the file exists: its ELF interpreter or #! interpreter is missing)" ]]
}

@test "init: bad options exit 2 with one line" {
	run -2 --separate-stderr "$EMBER" init --bogus -- true
	[ "$stderr" = 'ember init: unknown option "--bogus"' ]
	run -2 --separate-stderr "$EMBER" init --exit-fd 3 3>/dev/null
	[[ "$stderr" == *"no program to run"* ]]
	run -2 --separate-stderr "$EMBER" init --log-fd 3 -- true 3>/dev/null
	[[ "$stderr" == *"--log-fd: give two files"* ]]
	run -2 --separate-stderr "$EMBER" init --exit-fd 1 -- true
	[[ "$stderr" == *"use 3 or more"* ]]
	run -2 "$EMBER" init --report-fd 4 --log-max 10 --log-fd 5 --log-fd 6 -- true 4>"$T/report" 5>/dev/null 6>/dev/null
	[ "$(cat "$T/report")" = '22 setup --log-max: at least 4096 bytes' ]
	# A closed fd is a start error, on the report fd.
	run -127 "$EMBER" init --report-fd 4 --exit-fd 9 -- true 4>"$T/report"
	[ "$(cat "$T/report")" = '9 setup --exit-fd 9: Bad file descriptor' ]
}

# ---- signals ----------------------------------------------------------------------

@test "init: signals sent to init reach the application; SIGTERM ends it" {
	# Python: it can trap real-time signals, and 34 is one that musl keeps
	# for itself (init must block and forward it all the same).
	"$EMBER" init -- "$PYTHON" -c '
import os, signal, sys, time
log = open(sys.argv[1], "a", buffering=1)
def got(sig, frame):
    log.write("%d\n" % sig)
    if sig == signal.SIGTERM:
        sys.exit(42)
for s in (signal.SIGUSR1, signal.SIGHUP, signal.SIGWINCH, signal.SIGINT, 34, 40, signal.SIGTERM):
    signal.signal(s, got)
open(sys.argv[2], "w").close()
while True:
    time.sleep(0.05)
' "$T/got" "$T/ready" &
	INIT_PID=$!
	wait_until 10 test -e "$T/ready"
	local s n=0
	for s in USR1 HUP WINCH INT 34 40; do
		kill -"$s" "$INIT_PID"
		n=$((n + 1))
		wait_until 5 lines_are "$T/got" "$n"
	done
	[ "$(sort -n "$T/got" | tr '\n' ' ')" = "1 2 10 28 34 40 " ]
	kill -TERM "$INIT_PID"
	local rc=0
	wait "$INIT_PID" || rc=$?
	INIT_PID=
	[ "$rc" -eq 42 ]
}

@test "init: a shell application that traps TERM exits 42 through init" {
	"$EMBER" init -- sh -c 'trap "exit 42" TERM; touch "$0"; while :; do sleep 0.05; done' "$T/ready" &
	INIT_PID=$!
	wait_until 10 test -e "$T/ready"
	kill -TERM "$INIT_PID"
	local rc=0
	wait "$INIT_PID" || rc=$?
	INIT_PID=
	[ "$rc" -eq 42 ]
}

@test "init: run unprivileged, init is not dumpable but the application is" {
	command -v setpriv >/dev/null || skip "no setpriv"
	# A non-dumpable process's /proc files belong to root: the application
	# (same uid) can neither ptrace init nor read its fds.
	setpriv --reuid 65534 --regid 65534 --clear-groups "$EMBER" init -- sleep 30 &
	INIT_PID=$!
	wait_until 5 has_app "$INIT_PID"
	local app
	app=$(cat /proc/$INIT_PID/task/$INIT_PID/children)
	app=${app% }
	[ "$(sed -n 's/^Uid:[[:space:]]*\([0-9]*\).*/\1/p' /proc/$INIT_PID/status)" = 65534 ]
	[ "$(stat -c %u /proc/$INIT_PID/fd)" = 0 ]
	[ "$(stat -c %u /proc/$app/fd)" = 65534 ]
}

# ---- reaping ----------------------------------------------------------------------

@test "init: as PID 1 of a pid namespace, orphans are reaped" {
	command -v unshare >/dev/null || skip "no unshare"
	# The application counts zombies in its namespace after its orphans
	# (reparented to init, PID 1) have exited.
	# (No --mount-proc: it makes "/" private first, which fails where "/"
	# is not a mount point, in a chroot; a private /proc is enough.)
	printf '#!/bin/sh\nmount --make-private /proc && mount -t proc proc /proc || exit 99\nexec "$@"\n' >"$T/pid1.sh"
	chmod +x "$T/pid1.sh"
	run -0 unshare -pf -m --propagation unchanged "$T/pid1.sh" "$EMBER" init --exit-fd 3 -- sh -c '
		(sleep 0.1 &) ; (sleep 0.1 &) ; (sleep 0.1 &)
		sleep 0.6
		echo "pid1=$(tr "\0" " " </proc/1/cmdline)"
		z=0
		for f in /proc/[0-9]*/stat; do
			s=$(sed "s/.*) //" "$f" 2>/dev/null | cut -d" " -f1)
			[ "$s" = Z ] && z=$((z + 1))
		done
		echo "zombies=$z"' 3>"$T/exit.json"
	echo "$output"
	[[ "$output" == *"pid1=$EMBER init "* ]]
	[[ "$output" == *"zombies=0"* ]]
	# The pid as init sees it: a child of PID 1 in its namespace (the two
	# mount commands before init took pids too).
	local apid; apid=$(json "$T/exit.json" 'j["pid"]')
	[ "$apid" -ge 2 ] && [ "$apid" -le 5 ]
}

@test "init: not PID 1, init is a subreaper and reaps orphans" {
	run -0 "$EMBER" init -- sh -c '
		(sleep 0.2 & echo $! >"$0")
		o=$(cat "$0")
		pp=$(sed -n "s/^PPid:[[:space:]]*//p" /proc/$o/status)
		[ "$pp" = "$PPID" ] || { echo "orphan $o has parent $pp, not init $PPID"; exit 10; }
		sleep 0.8
		if [ -e /proc/$o/stat ]; then echo "orphan $o not reaped: $(cat /proc/$o/stat)"; exit 11; fi
		echo reaped' "$T/orphan"
	echo "$output"
	[ "$output" = reaped ]
}

# ---- logs -------------------------------------------------------------------------

@test "init: logs switch between two files at --log-max; the newest lines are kept in order" {
	: >"$T/a"; : >"$T/b"
	run -5 "$EMBER" init --exit-fd 3 --log-fd 4 --log-fd 5 --log-max 4096 -- \
		sh -c 'i=0; while [ $i -lt 10000 ]; do echo "line $i"; i=$((i + 1)); done; echo "err" >&2; exit 5' \
		3>"$T/exit.json" 4>>"$T/a" 5>>"$T/b"
	[ "$(json "$T/exit.json" 'j["exit_code"]')" = 5 ]
	local sa sb
	sa=$(stat -c %s "$T/a") sb=$(stat -c %s "$T/b")
	echo "sizes: $sa $sb"
	[ "$sa" -le 4096 ] && [ "$sb" -le 4096 ] && [ $((sa + sb)) -gt 4096 ]
	logs_in_order "$T/a" "$T/b" >"$T/all"
	# stderr shares the pipe: the last line; before it, a run of
	# consecutive lines ending with the last one (the first may be cut).
	[ "$(tail -n 1 "$T/all")" = err ]
	"$PYTHON" -c '
import sys
lines = open(sys.argv[1]).read().split("\n")[1:-2]
nums = [int(l.split()[1]) for l in lines]
assert nums[-1] == 9999, nums[-1]
assert nums == list(range(nums[0], 10000)), "not in order"
assert len(nums) > 400, len(nums)
' "$T/all"
}

@test "init: the order rule holds right after every switch" {
	# Each step writes filler and then, at once (in the same clock tick),
	# a marker that does not fit: init switches files between the two.
	# The file the rule calls newer must end with the marker's last byte
	# (a letter per step: init may read filler and marker as one chunk).
	: >"$T/a"; : >"$T/b"
	"$EMBER" init --log-fd 4 --log-fd 5 --log-max 4096 -- "$PYTHON" -c '
import os, sys, time
for i in range(8):
    os.write(1, b"f" * 4090)
    os.write(1, b"-" * 9 + b"abcdefgh"[i:i + 1])
    open("%s.%d" % (sys.argv[1], i), "w").close()
    while not os.path.exists(sys.argv[1] + ".ack"):
        time.sleep(0.01)
    os.unlink(sys.argv[1] + ".ack")' "$T/step" 4>>"$T/a" 5>>"$T/b" &
	INIT_PID=$!
	local i c last
	for i in 0 1 2 3 4 5 6 7; do
		c=$(echo abcdefgh | cut -c $((i + 1)))
		wait_until 10 test -e "$T/step.$i"
		# Until init has copied the marker (the last byte of one file).
		wait_until 5 sh -c "[ \"\$(tail -c 1 '$T/a')\" = $c ] || [ \"\$(tail -c 1 '$T/b')\" = $c ]"
		last=$(logs_in_order "$T/a" "$T/b" | tail -c 1)
		echo "step $i: newest ends with '$last'"
		[ "$last" = "$c" ]
		touch "$T/step.ack"
	done
	wait "$INIT_PID"
	INIT_PID=
}

@test "init: output written just before the application exits is all in the log" {
	: >"$T/a"; : >"$T/b"
	run -0 "$EMBER" init --log-fd 4 --log-fd 5 --log-max 1048576 -- sh -c 'seq 1 30000' 4>>"$T/a" 5>>"$T/b"
	[ -z "$output" ]
	seq 1 30000 | cmp - "$T/a"
	[ ! -s "$T/b" ]
	# A tiny write and an immediate exit.
	: >"$T/a"
	run -0 "$EMBER" init --log-fd 4 --log-fd 5 -- sh -c 'echo last words' 4>>"$T/a" 5>>"$T/b"
	[ "$(cat "$T/a")" = "last words" ]
}

@test "init: output still in the pipe when init learns of the exit is drained" {
	: >"$T/a"; : >"$T/b"
	"$EMBER" init --log-fd 4 --log-fd 5 --log-max 1048576 -- "$PYTHON" -c '
import os, sys, time
while not os.path.exists(sys.argv[1]):
    time.sleep(0.01)
os.write(1, b"x" * 60000 + b"\n")
os._exit(0)' "$T/go" 4>>"$T/a" 5>>"$T/b" &
	INIT_PID=$!
	wait_until 5 has_app "$INIT_PID"
	local app
	app=$(cat /proc/$INIT_PID/task/$INIT_PID/children)
	# init stopped: the application writes 60 KB into the pipe and is a
	# zombie before init reads a byte; init then has both at once.
	kill -STOP "$INIT_PID"
	touch "$T/go"
	wait_until 10 grep -q '^State:.*Z' "/proc/${app% }/status"
	kill -CONT "$INIT_PID"
	wait "$INIT_PID"
	INIT_PID=
	[ "$(stat -c %s "$T/a")" -eq 60001 ]
}

@test "init: a grandchild holding the log pipe delays the exit by at most the drain time" {
	command -v unshare >/dev/null || skip "no unshare"
	: >"$T/a"; : >"$T/b"
	# Under unshare -pf init is PID 1, so its exit takes the sleeper along.
	local start end
	start=$(date +%s%N)
	run -4 unshare -pf "$EMBER" init --log-fd 4 --log-fd 5 -- sh -c '(sleep 30 &); echo bye; exit 4' 4>>"$T/a" 5>>"$T/b"
	end=$(date +%s%N)
	echo "took $(((end - start) / 1000000)) ms"
	[ $(((end - start) / 1000000)) -ge 1500 ] && [ $(((end - start) / 1000000)) -lt 8000 ]
	[ "$(cat "$T/a")" = bye ]
}

@test "init: a full log file system drops output but not the application" {
	mkdir "$T/full"
	mount -t tmpfs -o size=64k tmpfs "$T/full" || skip "cannot mount a tmpfs"
	MOUNTED=$T/full
	: >"$T/full/a"; : >"$T/full/b"
	run -7 timeout 60 "$EMBER" init --exit-fd 3 --log-fd 4 --log-fd 5 --log-max 1048576 -- \
		sh -c 'head -c 3000000 /dev/zero | tr "\0" x; echo done; exit 7' \
		3>"$T/exit.json" 4>>"$T/full/a" 5>>"$T/full/b"
	[ "$(json "$T/exit.json" 'j["exit_code"]')" = 7 ]
	[ "$(stat -c %s "$T/full/a")" -le 65536 ]
}

# ---- terminal ---------------------------------------------------------------------

@test "init: with a terminal on stdin the application is its foreground process group" {
	command -v script >/dev/null || skip "no script"
	# /proc/PID/stat fields 5 and 8: process group and the terminal's
	# foreground process group.
	# script runs the command with $SHELL -c: bash execs it (init leads
	# script's session), dash forks it first (init is in the shell's
	# session and must not leave it, or the terminal is lost).
	local sh out pgrp tpgid
	for sh in /bin/bash /bin/dash; do
		[ -x "$sh" ] || continue
		run -0 env SHELL=$sh script -qec "$EMBER init -- sh -c 'cut -d\" \" -f5,8 /proc/\$\$/stat'" /dev/null
		out=${output//$'\r'/}
		echo "$sh: $out"
		pgrp=${out%% *} tpgid=${out##* }
		[ -n "$pgrp" ] && [ "$pgrp" = "$tpgid" ]
	done
}

@test "init: without a terminal the application leads its own session" {
	run -0 "$EMBER" init -- sh -c 'set -- $(sed "s/.*) //" /proc/$$/stat); [ "$4" = $$ ] && echo "session leader"' </dev/null
	[ "$output" = "session leader" ]
}

# ---- memory -----------------------------------------------------------------------

@test "init: memory (PSS) while the application sleeps" {
	# The figure is the static product's (an ASan build is ten times that).
	file -L "$EMBER" | grep -q 'statically linked' || skip "not the static build"
	"$EMBER" init -- sleep 30 &
	INIT_PID=$!
	wait_until 5 has_app "$INIT_PID"
	sleep 0.2
	local pss anon
	pss=$(awk '/^Pss:/ { print $2 }' "/proc/$INIT_PID/smaps_rollup")
	anon=$(awk '/^Pss_Anon:/ { print $2 }' "/proc/$INIT_PID/smaps_rollup")
	echo "# ember init: Pss ${pss} kB (Pss_Anon ${anon} kB), alone" >&3
	# A sanity bound only: the target (200 KiB) is reported, not timed.
	[ "$pss" -lt 1024 ]
}
