#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# Tasks: limits and the OOM killer, pause and resume, signals, terminals,
# logs, restart policies, and supervision across daemon restarts (kill -9
# while ten tasks run).

bats_require_minimum_version 1.5.0
load helpers
load lib/image
load lib/registry
load lib/remote
load lib/unpack
load lib/tasks

setup() {
	setup_dirs
	require_runtime
}

teardown() {
	tasks_teardown
}

@test "tasks: a memory limit ends in the OOM killer, reported as such" {
	bb_up
	local id; id=$(ct oom)
	run -0 e namespaces create probe
	EVENTS_OUT=$T/events.out
	start_events "$EVENTS_OUT" 'e namespaces label probe n=$i'
	run -137 e run --rm --memory-limit 16m "$REF" "$id" sh -c 'tail /dev/zero'
	wait_until 10 grep -q /tasks/oom "$EVENTS_OUT"
	grep -q "\"id\":\"$id\"" "$EVENTS_OUT"
	# Kept (no --rm): the exit says OOM.
	run -137 e run --memory-limit 16m "$REF" "$id" sh -c 'tail /dev/zero'
	run -0 e --json tasks ls
	[ "$(jget '[t["exit"]["oom"] for t in j if t["id"] == "'"$id"'"][0]' <<<"$output")" = true ]
	run -0 e tasks ls
	[[ "$output" == *"$id"*"stopped (exit 137, OOM)"* ]]
	run -0 e tasks delete "$id"
	run -0 e containers rm "$id"
	assert_gone "$id"
}

@test "tasks: the pids limit stops fork, cpus and memory land in the cgroup" {
	bb_up
	local id; id=$(ct pids)
	run -2 e run --rm --pids-limit 3 "$REF" "$id" sh -c 'for i in 1 2 3 4 5; do sleep 1 & done; wait'
	[[ "$output" == *"can't fork"* ]]
	run -0 e run -d --memory-limit 32m --cpus 0.5 --pids-limit 10 "$REF" "$id" sleep 30
	local cg; cg=$(task_cgroup "$id" memory)
	[ "$(cat "$cg/memory.limit_in_bytes" 2>/dev/null || cat "$cg/memory.max")" = 33554432 ]
	cg=$(task_cgroup "$id" pids)
	[ "$(cat "$cg/pids.max")" = 10 ]
	cg=$(task_cgroup "$id" cpu)
	[ "$(cat "$cg/cpu.cfs_quota_us" 2>/dev/null || cut -d' ' -f1 "$cg/cpu.max")" = 50000 ]
	run -0 e tasks metrics "$id"
	[[ "$output" == *"memory"*"limit 32.0 MiB"* ]]
	run -0 e --json tasks metrics "$id"
	[ "$(jget 'j["pids"]["limit"]' <<<"$output")" = 10 ]
	[ "$(jget 'j["pids"]["current"]' <<<"$output")" -ge 1 ]
	run -0 e tasks kill -s KILL "$id"
	run -137 e tasks wait "$id"
	run -0 e tasks delete "$id"
	run -0 e containers rm "$id"
	assert_gone "$id"
}

# Runtimes that size themselves from their limits (the JVM, Go, Node) read
# them at /sys/fs/cgroup, as Docker and containerd show them: cgroup2 of the
# container's own cgroup on v2, Docker's per-controller layout on v1 (and on
# the hybrid layout of this machine); read-only.
@test "tasks: a container sees its own cgroup, read-only, at /sys/fs/cgroup" {
	bb_up
	local id; id=$(ct cgview)
	run -0 e run -d --memory-limit 48m --pids-limit 20 "$REF" "$id" sleep 30
	local v=1
	[ "$(stat -f -c %T /sys/fs/cgroup)" = cgroup2fs ] && v=2
	if [ "$v" = 2 ]; then
		run -0 e tasks exec "$id" cat /sys/fs/cgroup/memory.max /sys/fs/cgroup/pids.max
		[ "${lines[0]}" = 50331648 ]
		[ "${lines[1]}" = 20 ]
	else
		run -0 e tasks exec "$id" cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/pids/pids.max
		[ "${lines[0]}" = 50331648 ]
		[ "${lines[1]}" = 20 ]
		# cpu and cpuacct share a hierarchy: both names lead to it.
		run -0 e tasks exec "$id" ls /sys/fs/cgroup/cpu/cpu.shares /sys/fs/cgroup/cpuacct/cpuacct.usage
		# Only what the container has a cgroup of (not the daemon's
		# blkio cgroup); devices its own, with its rules.
		run -0 e tasks exec "$id" ls /sys/fs/cgroup
		[[ "$output" != *blkio* ]]
		[[ "$output" == *memory* ]]
		[[ "$output" == *devices* ]]
		run -0 e tasks exec "$id" cat /sys/fs/cgroup/devices/devices.list
		[ "${lines[0]}" = "c *:* m" ]
	fi
	# Its own: the container's processes are at the root of what it sees.
	run -0 e tasks exec "$id" cat /proc/1/cgroup
	[[ "$output" != *ember* ]]
	run ! e tasks exec "$id" mkdir /sys/fs/cgroup/x
	[[ "$output" == *"Read-only file system"* ]]
	run -0 e tasks kill -s KILL "$id"
	run -137 e tasks wait "$id"
	run -0 e tasks delete "$id"
	run -0 e containers rm "$id"
	assert_gone "$id"
}

@test "tasks: pause freezes every process, resume thaws them; ps lists them" {
	bb_up
	local id; id=$(ct pause)
	run -0 e run -d "$REF" "$id" sh -c 'while :; do sleep 0.05; done'
	run -0 e tasks ps "$id"
	[ "${lines[0]}" = PID ]
	[ "${#lines[@]}" -ge 2 ]
	local pid=${lines[1]}
	run -0 e tasks pause "$id"
	run -0 e tasks ls
	[[ "$output" == *"$id"*paused* ]]
	[ "$(cat "$(task_cgroup "$id" freezer)/freezer.state" 2>/dev/null || echo FROZEN)" = FROZEN ]
	local t0; t0=$(awk '{print $14+$15}' "/proc/$pid/stat")
	sleep 0.5
	[ "$(awk '{print $14+$15}' "/proc/$pid/stat")" = "$t0" ]
	run -0 e tasks resume "$id"
	run -0 e tasks ls
	[[ "$output" == *"$id"*running* ]]
	run -0 e tasks kill -a -s KILL "$id"
	run -137 e tasks wait "$id"
	run -0 e tasks delete "$id"
	run -0 e containers rm "$id"
	assert_gone "$id"
}

@test "tasks: kill, wait and delete; a running task and its container are not removed" {
	bb_up
	local id; id=$(ct kill)
	run -0 e run -d "$REF" "$id" sleep 60
	run -1 e tasks delete "$id"
	[ "$output" = "ember: task $id is running: kill it first (ember tasks kill $id)" ]
	run -1 e containers rm "$id"
	[ "$output" = "ember: container $id has a running task: kill it first (ember tasks kill $id)" ]
	run -1 e tasks kill -s SIGFOO "$id"
	[[ "$output" == *'"SIGFOO"'* ]]
	run -125 e run -d "$REF" "$id" true
	[ "$output" = "ember: container $id already exists" ]
	run -125 e tasks start -d "$id"
	[[ "$output" == "ember: task $id is already running (pid "* ]]
	run -125 e tasks wait nosuch
	run -1 e tasks kill nosuch
	[ "$output" = "ember: no task nosuch (start it: ember tasks start nosuch)" ]
	run -0 e tasks kill -s KILL "$id"
	run -137 e tasks wait "$id"
	run -0 e --json tasks delete "$id"
	[ "$(jget 'j["signal_name"]' <<<"$output")" = SIGKILL ]
	run -0 e containers rm "$id"
	assert_gone "$id"
}

@test "tasks: -t gives the task a real terminal, with the client's window size" {
	bb_up
	local id; id=$(ct tty)
	run -0 "$PYTHON" "$INFRA_LIB/pty_run.py" 40 100 "$EMBER" --address "$SOCK" run --rm -t "$REF" "$id" \
		sh -c 'test -t 0 && test -t 1 && echo is-a-tty; stty size; readlink /proc/self/fd/0; exit 5'
	[[ "$output" == *"is-a-tty"* ]]
	[[ "$output" == *"40 100"* ]]
	[[ "$output" == *"/dev/pts/0"* ]]
	[[ "$output" == *"exit=5"* ]]
	# Input typed at the terminal reaches the task.
	run -0 "$PYTHON" "$INFRA_LIB/pty_run.py" 24 80 --input 'hello tty\n' "$EMBER" --address "$SOCK" run --rm -t \
		"$REF" "$id" sh -c 'read line; echo "got: $line"'
	[[ "$output" == *"got: hello tty"* ]]
	assert_gone "$id"
}

@test "tasks attach: a detached terminal (-d -t) held by init, logged, typed into, resized, left and rejoined, across a daemon restart" {
	bb_up
	local id; id=$(ct att)
	run -0 e run -d -t "$REF" "$id" sh -c \
		'echo started; while read l; do [ "$l" = size ] && stty size; echo "got $l"; [ "$l" = quit ] && exit 7; done'
	wait_log "$id" started
	# init holds the master: it is in the container, not in the daemon.
	local pid; pid=$(task_pids)
	ls -l "/proc/$pid/fd" | grep -q ptmx
	run ! grep -q ptmx <<<"$(ls -l "/proc/$DAEMON_PID/fd")"
	# Ctrl-P Ctrl-Q leaves the task running.
	run -0 "$PYTHON" "$INFRA_LIB/pty_run.py" 24 80 --input 'one\r\x10\x11' "$EMBER" --address "$SOCK" tasks attach "$id"
	[[ "$output" == *"exit=0"* ]]
	wait_log "$id" "got one"
	run -0 e tasks ls
	[[ "$output" == *"$id"*running* ]]
	# The task and its terminal survive the daemon.
	kill_daemon
	start_daemon
	# The attaching terminal's size becomes the task's; its exit status is ember's.
	run -0 "$PYTHON" "$INFRA_LIB/pty_run.py" 33 101 --input 'size\rquit\r' "$EMBER" --address "$SOCK" tasks attach "$id"
	[[ "$output" == *"33 101"* ]]
	[[ "$output" == *"got quit"* ]]
	[[ "$output" == *"exit=7"* ]]
	# Everything went to the logs too.
	run -0 e logs "$id"
	[[ "$output" == *started*"got one"*"33 101"*"got quit"* ]]
	run -125 e tasks attach "$id"
	[ "$output" = "ember: task $id is not running" ]
	run -0 e tasks delete "$id"
	run -0 e containers rm "$id"
	assert_gone "$id"
	# A restart policy with a terminal: each run gets one, held by init.
	local id2; id2=$(ct att2)
	run -0 e run -d -t --restart on-failure:1 "$REF" "$id2" sh -c 'tty; exit 3'
	wait_until 10 bash -c "[ \$('$EMBER' --address '$SOCK' logs '$id2' | grep -c /dev/pts/0) = 2 ]"
	wait_until 10 bash -c "'$EMBER' --address '$SOCK' tasks ls | grep -q '$id2.*stopped (exit 3)'"
	run -0 e tasks delete "$id2"
	run -0 e containers rm "$id2"
	assert_gone "$id2"
}

@test "restart: a restart whose setup fails keeps the earlier runs' logs and state" {
	bb_up
	local id; id=$(ct rf)
	run -0 e run -d --restart on-failure:3 "$REF" "$id" sh -c 'echo first-run; rm /bin/sh; exit 1'
	wait_until 10 bash -c "grep -q 'restart failed' '$DAEMON_LOG'"
	grep -q "task default/$id: restart failed: exec \"sh\": no such file or directory" "$DAEMON_LOG"
	run -0 e logs "$id"
	[ "$output" = first-run ]
	run -0 e tasks ls
	[[ "$output" == *"$id"*"stopped (exit 1)"* ]]
	# ... and after a daemon restart too (its state is still there).
	stop_daemon
	start_daemon
	run -0 e logs "$id"
	[ "$output" = first-run ]
	run -0 e tasks delete "$id"
	run -0 e containers rm "$id"
	assert_gone "$id"
}

@test "tasks attach: without a terminal, the output from now on until the task exits, with its status" {
	bb_up
	local id; id=$(ct atn)
	run -0 e run -d "$REF" "$id" sh -c 'echo early; while [ ! -e /tmp/go ]; do sleep 0.1; done; echo late; exit 4'
	wait_log "$id" early
	local pid; pid=$(task_pids)
	( sleep 1; touch "/proc/$pid/root/tmp/go" ) &
	local bg=$!
	run -4 e tasks attach "$id"
	wait "$bg"
	[ "$output" = late ]
	run -0 e tasks delete "$id"
	run -125 e tasks attach "$id"
	[[ "$output" == "ember: no task $id"* ]]
	run -0 e containers rm "$id"
	assert_gone "$id"
}

@test "tasks: restart policies restart a crashing task with backoff, as events; a user's kill stops it for good" {
	bb_up
	local id; id=$(ct rst)
	run -0 e namespaces create probe
	EVENTS_OUT=$T/events.out
	start_events "$EVENTS_OUT" 'e namespaces label probe n=$i'
	# on-failure:3 : three restarts (100, 200, 400 ms apart), then it gives up.
	run -0 e run -d --restart on-failure:3 "$REF" "$id" sh -c 'exit 3'
	wait_until 20 grep -q /tasks/restart-gave-up "$EVENTS_OUT"
	[ "$(grep -c '/tasks/exit' "$EVENTS_OUT")" -eq 4 ]
	[ "$(grep -c '/tasks/restart ' "$EVENTS_OUT")" -eq 3 ]
	grep '/tasks/restart ' "$EVENTS_OUT" | grep -q '"delay_ms":100'
	grep '/tasks/restart ' "$EVENTS_OUT" | grep -q '"delay_ms":400'
	run -0 e tasks ls
	[[ "$output" == *"$id"*"stopped (exit 3)"* ]]
	run -0 e tasks delete "$id"
	run -0 e containers rm "$id"
	# on-failure leaves a clean exit alone; always restarts it.
	run -0 e run -d --restart on-failure "$REF" "$id" true
	sleep 1
	[ "$(grep -c "/tasks/restart .*$id" "$EVENTS_OUT")" -eq 3 ]
	run -0 e tasks delete "$id"
	run -0 e containers rm "$id"
	run -0 e run -d --restart always "$REF" "$id" sh -c 'sleep 0.2'
	wait_until 20 bash -c "[ \$(grep -c '/tasks/start.*$id' '$EVENTS_OUT') -ge 4 ]"
	# A kill by the user ends it: no restart follows.
	run -0 e tasks kill -s KILL "$id" || true
	sleep 1.5
	local n; n=$(grep -c "/tasks/start.*$id" "$EVENTS_OUT")
	sleep 1
	[ "$(grep -c "/tasks/start.*$id" "$EVENTS_OUT")" -eq "$n" ]
	run -0 e tasks delete "$id"
	run -0 e containers rm "$id"
	assert_gone "$id"
}

@test "tasks: unless-stopped and always start again after a reboot (empty state), a stopped unless-stopped does not" {
	bb_up
	local a b c; a=$(ct ra); b=$(ct rb); c=$(ct rc)
	run -0 e run -d --restart always "$REF" "$a" sleep 60
	run -0 e run -d --restart unless-stopped "$REF" "$b" sleep 60
	run -0 e run -d --restart unless-stopped "$REF" "$c" sleep 60
	run -0 e tasks kill "$c"
	run -143 e tasks wait "$c"
	# A reboot: every process gone, /run empty.
	stop_daemon
	local p
	local pids; pids=$(task_pids)
	for p in $pids; do kill -9 "$p"; done
	for p in $pids; do wait_until 5 bash -c "! kill -0 $p 2>/dev/null"; done
	rm -rf "$STATE/tasks"
	cgroups_cleanup
	daemon_up
	# They start as jobs: the daemon answers meanwhile, and lists them
	# starting, then running.
	wait_until 10 bash -c "[ \$('$EMBER' --address '$SOCK' tasks ls | grep -c running) = 2 ]"
	run -0 e tasks ls
	[[ "$output" == *"$a"*running* ]]
	[[ "$output" == *"$b"*running* ]]
	[[ "$output" != *"$c"* ]]
	grep -q "container default/$a started (restart policy)" "$DAEMON_LOG"
}

@test "tasks: exec runs in the task's namespaces, with its exit status, a pty with -t, and errors that name the step" {
	bb_up
	local id; id=$(ct ex)
	run -0 e run -d --hostname inner "$REF" "$id" sleep 60
	run -4 e tasks exec "$id" sh -c 'hostname; cat /proc/1/cmdline | tr "\\0" " "; echo; echo "$PATH"; exit 4'
	[ "${lines[0]}" = inner ]
	[[ "${lines[1]}" == *"sleep 60 " ]]
	[ "${lines[2]}" = /usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin ]
	run -0 e tasks exec --env X=1 --cwd /tmp --user 65534 "$id" sh -c 'echo "$X $(pwd) $(id -u)"'
	[ "$output" = "1 /tmp 65534" ]
	# The exec is in the task's cgroup: its pids count there.
	run -0 e tasks exec "$id" cat /proc/self/cgroup
	[[ "$output" == *"pids:/"* || "$output" == "0::/" ]]
	run -127 e tasks exec "$id" /bin/nope
	[ "$output" = "ember: exec in task $id: exec \"/bin/nope\": no such file or directory" ]
	run -126 e tasks exec "$id" /etc/passwd
	run -3 e tasks exec "$id" sh -c 'exit 3' 
	run -0 "$PYTHON" "$INFRA_LIB/pty_run.py" 30 90 "$EMBER" --address "$SOCK" tasks exec -t "$id" \
		sh -c 'test -t 0 && echo tty-ok; stty size'
	[[ "$output" == *"tty-ok"* && "$output" == *"30 90"* && "$output" == *"exit=0"* ]]
	run -125 e tasks exec nosuch true
	[ "$output" = "ember: no task nosuch (start it: ember tasks start nosuch)" ]
	run -0 e tasks kill -s KILL "$id"
	run -137 e tasks wait "$id"
	run -125 e tasks exec "$id" true
	[ "$output" = "ember: task $id is not running" ]
	run -0 e tasks delete "$id"
	run -0 e containers rm "$id"
	assert_gone "$id"
}

@test "tasks: SIGTERM reaches the application through ember init; the image's stop signal is honoured" {
	bb_up
	local id; id=$(ct sig)
	run -0 e run -d "$REF" "$id" sh -c 'trap "echo got TERM; exit 42" TERM; while :; do sleep 0.1; done'
	sleep 0.5
	run -0 e tasks kill "$id"
	run -42 e tasks wait "$id"
	run -0 e logs "$id"
	[ "$output" = "got TERM" ]
	run -0 e tasks delete "$id"
	run -0 e containers rm "$id"
	# A container whose stop signal is SIGUSR1 (the spec's annotation, as
	# an image's StopSignal sets it) is stopped with it by default.
	run -0 e containers create "$REF" "$id" sh -c 'trap "echo got USR1; exit 7" USR1; while :; do sleep 0.1; done'
	e containers info --spec "$id" | "$PYTHON" -c '
import json, sys
s = json.load(sys.stdin)
s["annotations"]["ember.io/stop-signal"] = "SIGUSR1"
json.dump(s, open(sys.argv[1], "w"))' "$T/spec.json"
	run -0 e containers rm "$id"
	run -0 e containers create --spec "$T/spec.json" "$REF" "$id"
	run -0 e tasks start -d "$id"
	sleep 0.5
	run -0 e tasks kill "$id"
	run -7 e tasks wait "$id"
	run -0 e logs "$id"
	[ "$output" = "got USR1" ]
	# Attached: a signal to the client is forwarded.
	e tasks delete "$id"
	e containers rm "$id"
	# (SIGTERM: a background job of a script starts with SIGINT ignored.)
	"$EMBER" --address "$SOCK" run --rm "$REF" "$id" sh -c 'trap "echo forwarded; exit 9" TERM; while :; do sleep 0.1; done' >"$T/out" &
	local cpid=$!
	sleep 1
	kill -TERM "$cpid"
	local rc=0
	wait "$cpid" || rc=$?
	[ "$rc" -eq 9 ]
	[ "$(cat "$T/out")" = forwarded ]
	assert_gone "$id"
}

@test "logs: a detached task's output, --tail, -f until it exits, and rotation between two capped files" {
	bb_up
	local id; id=$(ct log)
	run -0 e run -d "$REF" "$id" sh -c 'i=0; while [ $i -lt 30000 ]; do i=$((i+1)); echo "line $i"; done'
	run -0 e tasks wait "$id"
	run -0 e logs --tail 2 "$id"
	[ "${lines[0]}" = "line 29999" ]
	[ "${lines[1]}" = "line 30000" ]
	# 30000 lines are ~330 KB: all kept (2 files of 1 MiB), in order.
	e logs "$id" >"$T/all"
	[ "$(wc -l <"$T/all")" -eq 30000 ]
	[ "$(head -1 "$T/all")" = "line 1" ]
	seq 1 30000 | sed 's/^/line /' | cmp - "$T/all"
	run -0 e tasks delete "$id"
	run -0 e containers rm "$id"
	# Rotation: 4 MiB of output through 1 MiB files keeps the newest 1-2 MiB, in order.
	run -0 e run -d "$REF" "$id" sh -c 'i=0; while [ $i -lt 250000 ]; do i=$((i+1)); echo "record $i"; done'
	run -0 e tasks wait "$id"
	local a b
	a=$(stat -c %s "$STATE/tasks/default/$id/log.0")
	b=$(stat -c %s "$STATE/tasks/default/$id/log.1")
	[ "$a" -le 1048576 ] && [ "$b" -le 1048576 ]
	[ $((a + b)) -gt 1048576 ]
	e logs "$id" >"$T/all"
	[ "$(tail -1 "$T/all")" = "record 250000" ]
	# Every line after the first (possibly cut) one follows its predecessor.
	tail -n +2 "$T/all" | "$PYTHON" -c '
import sys
prev = None
for l in sys.stdin:
    n = int(l.split()[1])
    assert prev is None or n == prev + 1, (prev, n)
    prev = n'
	run -0 e tasks delete "$id"
	run -0 e containers rm "$id"
	# -f follows until the task exits.
	run -0 e run -d "$REF" "$id" sh -c 'for i in 1 2 3; do echo "tick $i"; sleep 0.3; done'
	run -0 timeout 20 "$EMBER" --address "$SOCK" logs -f "$id"
	[ "$output" = "$(printf 'tick 1\ntick 2\ntick 3')" ]
	run -0 e tasks delete "$id"
	run -0 e containers rm "$id"
	assert_gone "$id"
}

@test "supervision: kill -9 of the daemon while 10 tasks run; one exits meanwhile; the next daemon adopts 9 and reports the 10th's real status" {
	bb_up
	local idx ids=()
	for idx in $(seq 1 10); do
		ids+=("$(ct "s$idx")")
	done
	for idx in $(seq 0 8); do
		run -0 e run -d "$REF" "${ids[$idx]}" sleep 600
	done
	run -0 e run -d "$REF" "${ids[9]}" sh -c 'while [ ! -e /tmp/go ]; do sleep 0.1; done; exit 23'
	local before; before=$(task_pids | sort | paste -sd ' ')
	kill -9 "$DAEMON_PID"
	wait "$DAEMON_PID" 2>/dev/null || true
	# The tasks do not depend on the daemon: still running, and the 10th
	# ends now, with nobody watching.
	for p in $before; do kill -0 "$p"; done
	run -0 e --address /nonexistent version
	# (the 10th task: tell it to go, through its own root)
	local p10; p10=$("$PYTHON" -c 'import json,sys; print(json.load(open(sys.argv[1]))["pid"])' "$STATE/tasks/default/${ids[9]}/task.json")
	touch "/proc/$p10/root/tmp/go"
	wait_until 10 bash -c "! kill -0 $p10 2>/dev/null"
	start_daemon
	run -0 e tasks ls
	for idx in $(seq 0 8); do
		[[ "$output" == *"${ids[$idx]}"*running* ]]
	done
	[[ "$output" == *"${ids[9]}"*"stopped (exit 23)"* ]]
	[ "$(grep -c 'adopted' "$DAEMON_LOG")" -ge 9 ]
	# Adopted tasks are supervised as before: kill, wait, exit status.
	run -0 e tasks kill "${ids[0]}"
	run -143 e tasks wait "${ids[0]}"
	run -23 e --json tasks wait "${ids[9]}"
	[ "$(jget 'j["exit_code"]' <<<"$output")" = 23 ]
	[ "$(jget 'j["known"]' <<<"$output")" = true ]
	for idx in $(seq 1 8); do
		run -0 e tasks kill -s KILL "${ids[$idx]}"
		run -137 e tasks wait "${ids[$idx]}"
	done
	for idx in $(seq 0 9); do
		run -0 e tasks delete "${ids[$idx]}"
		run -0 e containers rm "${ids[$idx]}"
		assert_gone "${ids[$idx]}"
	done
}

# task_pids_of ID: the PID 1 of a container's task, from its record.
task_pids_of() {
	"$PYTHON" -c 'import json,sys; print(json.load(open(sys.argv[1]))["pid"])' "$STATE/tasks/default/$1/task.json"
}

# procs_of ID: the processes in a cgroup of that container, wherever they are.
procs_of() {
	"$PYTHON" -c '
import glob, sys
for f in glob.glob("/proc/[0-9]*/cgroup"):
    try:
        if "/ember/default/" + sys.argv[1] + "\n" in open(f).read():
            print(f.split("/")[2])
    except OSError:
        pass' "$1"
}

@test "supervision: kill -9 of the daemon while 8 tasks start; the next daemon has each running or startable again, and nothing of a start it cut" {
	bb_up
	local idx id ids=() round p clients
	for round in 0 1 2; do
		ids=() clients=()
		for idx in $(seq 1 8); do
			id=$(ct "k$round$idx")
			ids+=("$id")
			run -0 e containers create "$REF" "$id" sleep 600
		done
		for id in "${ids[@]}"; do
			"$EMBER" --address "$SOCK" tasks start -d "$id" >/dev/null 2>&1 3>&- &
			clients+=($!)
			bg_track $!
		done
		# Somewhere in the starts: as the first have begun, then later.
		sleep "0.0$((round * 3))"
		kill_daemon
		start_daemon
		# A client slower than the restart starts on the new daemon: done
		# before the look.
		for p in "${clients[@]}"; do wait "$p" || true; done
		run -0 e --json tasks ls
		local list=$output st
		echo "$list"
		for id in "${ids[@]}"; do
			st=$(jget '"".join(t["status"] for t in j if t["id"] == "'"$id"'")' <<<"$list")
			case $st in
			running) kill -0 "$(jget '[t["pid"] for t in j if t["id"] == "'"$id"'"][0]' <<<"$list")" ;;
			stopped)
				# A start the crash cut: its task is over and goes as any other.
				run -0 e tasks delete "$id" ;;
			"")
				# Not started, or a start the crash cut: nothing of it
				# runs, nor is left.
				[ ! -e "$STATE/tasks/default/$id" ]
				run ! ls -d /sys/fs/cgroup/*/ember/default/"$id" /sys/fs/cgroup/ember/default/"$id"
				[ -z "$(procs_of "$id")" ] ;;
			*) echo "$id: unexpected status $st"; false ;;
			esac
			if [ "$st" != running ]; then
				run -0 e tasks start -d "$id"
			fi
		done
		for id in "${ids[@]}"; do
			kill_remove "$id"
		done
	done
	assert_log_clean
}

@test "supervision: a start cut between its exec and its record (or a restart's, its record still stopped): the next daemon kills what it started" {
	bb_up
	local a b pa pb
	a=$(ct cut1)
	b=$(ct cut2)
	run -0 e run -d "$REF" "$a" sleep 600
	run -0 e run -d "$REF" "$b" sleep 600
	pa=$(task_pids_of "$a")
	pb=$(task_pids_of "$b")
	[ -n "$pa" ] && [ -n "$pb" ]
	kill_daemon
	# The crash's two windows: a's record not written yet; b's record
	# still that of its previous run.
	rm "$STATE/tasks/default/$a/task.json"
	"$PYTHON" -c '
import json, sys
f = sys.argv[1]
j = json.load(open(f))
j["status"] = "stopped"
j["exit"] = {"exit_code": 3, "signal": 0, "known": True, "exited_at": "2026-12-06T00:00:00Z"}
json.dump(j, open(f, "w"))' "$STATE/tasks/default/$b/task.json"
	start_daemon
	wait_until 10 bash -c "! kill -0 $pa 2>/dev/null && ! kill -0 $pb 2>/dev/null"
	[ -z "$(procs_of "$a")" ] && [ -z "$(procs_of "$b")" ]
	grep -q "task default/$a: a start cut by the daemon's end left" "$DAEMON_LOG"
	grep -q "task default/$b: a start cut by the daemon's end left" "$DAEMON_LOG"
	run -0 e tasks ls -q
	[ "$output" = "$b" ]
	[ ! -e "$STATE/tasks/default/$a" ]
	run ! ls -d /sys/fs/cgroup/*/ember/default/"$a" /sys/fs/cgroup/ember/default/"$a" /sys/fs/cgroup/*/ember/default/"$b" /sys/fs/cgroup/ember/default/"$b"
	run -3 e tasks wait "$b"
	# Both start again as usual.
	run -0 e tasks start -d "$a"
	run -0 e tasks delete "$b"
	run -0 e tasks start -d "$b"
	for id in "$a" "$b"; do
		kill_remove "$id"
	done
	assert_log_clean
}

@test "tasks: an exec's exit status outlives a daemon restart" {
	bb_up
	local id; id=$(ct xs)
	run -0 e run -d "$REF" "$id" sleep 60
	run -5 e tasks exec --exec-id five "$id" sh -c 'exit 5'
	kill_daemon
	start_daemon
	run -0 e call io.ember.Tasks.Wait "{\"id\": \"$id\", \"exec_id\": \"five\"}"
	[ "$(jget 'j["exit"]["exit_code"]' <<<"$output")" = 5 ]
	[ "$(jget 'j["exit"]["known"]' <<<"$output")" = true ]
	run -0 e tasks kill -s KILL "$id"
	run -137 e tasks wait "$id"
	run -0 e tasks delete "$id"
	run -0 e containers rm "$id"
	assert_gone "$id"
}

@test "tasks: the daemon holds about one descriptor per task (cgroup v1 hierarchies are opened when used)" {
	bb_up
	local before after n=6 i
	before=$(ls "/proc/$DAEMON_PID/fd" | wc -l)
	for i in $(seq 1 $n); do
		run -0 e run -d --memory-limit 64m "$REF" "$(ct fd$i)" sleep 60
	done
	after=$(ls "/proc/$DAEMON_PID/fd" | wc -l)
	echo "descriptors: $before before, $after with $n tasks"
	[ $((after - before)) -le $((2 * n)) ]
	# Their cgroups still work: limits read back, kill of every process.
	run -0 e tasks metrics "$(ct fd1)"
	[[ "$output" == *"limit 64.0 MiB"* ]]
	for i in $(seq 1 $n); do
		run -0 e tasks kill --all -s KILL "$(ct fd$i)"
		run -137 e tasks wait "$(ct fd$i)"
		run -0 e tasks delete "$(ct fd$i)"
		run -0 e containers rm "$(ct fd$i)"
		assert_gone "$(ct fd$i)"
	done
}
