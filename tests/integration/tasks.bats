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
	run -1 e run -d "$REF" "$id" true
	[ "$output" = "ember: container $id already exists" ]
	run -1 e tasks start -d "$id"
	[[ "$output" == "ember: task $id is already running (pid "* ]]
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
	run -2 e run -d -t "$REF" "$id" true
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
	for p in $(task_pids); do kill -9 "$p"; done
	sleep 0.2
	rm -rf "$STATE/tasks"
	cgroups_cleanup
	daemon_up
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
	run -1 e tasks exec "$id" /bin/nope
	[ "$output" = "ember: exec in task $id: exec \"/bin/nope\": no such file or directory" ]
	run -0 "$PYTHON" "$INFRA_LIB/pty_run.py" 30 90 "$EMBER" --address "$SOCK" tasks exec -t "$id" \
		sh -c 'test -t 0 && echo tty-ok; stty size'
	[[ "$output" == *"tty-ok"* && "$output" == *"30 90"* && "$output" == *"exit=0"* ]]
	run -1 e tasks exec nosuch true
	[ "$output" = "ember: no task nosuch (start it: ember tasks start nosuch)" ]
	run -0 e tasks kill -s KILL "$id"
	run -137 e tasks wait "$id"
	run -1 e tasks exec "$id" true
	[ "$output" = "ember: task $id is not running" ]
	run -0 e tasks delete "$id"
	run -0 e containers rm "$id"
	assert_gone "$id"
}
