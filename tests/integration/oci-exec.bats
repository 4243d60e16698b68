#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# `ember oci exec`: a process in a running container (its namespaces,
# root and cgroup), compared with runc's exec on the same bundle: output
# and exit status, runc's flags (--env, --cwd, --user, --cap, -t, -d,
# --pid-file, --console-socket, --preserve-fds, -p process.json), and
# bad input as one line, exit 255, nothing left behind.

bats_require_minimum_version 1.5.0
load lib/oci

stop_bg() {
	"${R[@]}" delete --force "$CT_ID"
}

# cg_procs: the pids in the container's ember cgroup (pids hierarchy).
cg_procs() {
	cat /sys/fs/cgroup/pids/ember-oci/"$CT_ID"/cgroup.procs 2>/dev/null ||
		cat /sys/fs/cgroup/ember-oci/"$CT_ID"/cgroup.procs
}

@test "oci exec: runs in the container as runc's exec does: the same output and exit status, its pid namespace, its cgroup" {
	set_process '{"terminal": False, "args": ["sleep", "1000"], "env": ["PATH=/bin:/usr/bin", "A=1"], "cwd": "/"}'
	local rt out=()
	for rt in $(runtimes); do
		start_bg "$rt"
		run -7 "${R[@]}" exec "$CT_ID" sh -c 'echo $$ $A $(hostname) $(cat /proc/1/comm); exit 7'
		echo "$rt: $output"
		out+=("$output")
		# --env adds, --cwd and --user set, --cap adds to the sets. runc is
		# the reference here: crun 1.8's --env replaces the environment
		# (PATH goes) and its --cap replaces the capability sets.
		if [ "$rt" != crun ]; then
			run -0 "${R[@]}" exec --env B=2 --cwd /tmp --user 1000:50 --cap CAP_NET_RAW "$CT_ID" \
				sh -c 'echo $A $B $(pwd) $(id -u):$(id -g); grep -E "^Cap(Eff|Bnd)" /proc/self/status'
			echo "$rt: $output"
			out+=("$output")
		fi
		# The exit status of a process killed by a signal, as a shell's.
		run -137 "${R[@]}" exec "$CT_ID" sh -c 'kill -9 $$'
		stop_bg
	done
	# ember's are last: its plain exec, then with the flags.
	local n=${#out[@]}
	[ "${out[n - 2]}" = "2 1 ember sleep" ] || [[ "${out[n - 2]}" =~ ^[0-9]+\ 1\ .*\ sleep$ ]]
	[[ "${out[n - 1]}" == "1 2 /tmp 1000:50"* ]]
	# runc's, then crun's plain exec, where they ran.
	if runc_here; then
		[ "${out[0]}" = "${out[n - 2]}" ] && [ "${out[1]}" = "${out[n - 1]}" ]
	fi
	if crun_here; then
		[ "${out[n - 3]}" = "${out[n - 2]}" ]
	fi
	[ -z "$(ls -A "$OCI_ROOT")" ]
}

@test "oci exec: -d with --pid-file leaves the process running in the container's cgroup; -t relays a terminal; -p process.json" {
	set_process '{"terminal": False, "args": ["sleep", "1000"]}'
	start_bg ember
	# Not under run: the process would hold its output pipe.
	oci exec -d --pid-file "$T/x.pid" "$CT_ID" sleep 500 </dev/null >/dev/null 2>&1
	local p
	p=$(cat "$T/x.pid")
	kill -0 "$p"
	cg_procs | grep -qx "$p"
	[ "$(cat /proc/"$p"/comm)" = sleep ]
	# -t: the process's stdio is a terminal, relayed.
	run -0 oci exec -t "$CT_ID" sh -c 'tty; echo out'
	echo "$output"
	[[ "${lines[0]}" == /dev/pts/* ]] && [[ "${lines[1]}" == out* ]]
	# -p: a whole process; runc's spec for the same.
	cat >"$T/p.json" <<-'J'
	{"terminal": false, "args": ["sh", "-c", "echo from $X in $(pwd); exit 5"], "env": ["PATH=/bin:/usr/bin", "X=json"], "cwd": "/etc", "user": {"uid": 0, "gid": 0}}
	J
	run -5 oci exec -p "$T/p.json" "$CT_ID"
	[ "$output" = "from json in /etc" ]
	stop_bg
	# The detached exec went with the container.
	wait_until 5 bash -c "! kill -0 $p 2>/dev/null"
	if runc_here; then
		start_bg runc
		run "${R[@]}" exec -p "$T/p.json" "$CT_ID"
		echo "$output"
		[ "$status" = 5 ]
		[ "$output" = "from json in /etc" ]
		stop_bg
	fi
}

@test "oci exec: -t -d --console-socket sends the terminal to the socket; --preserve-fds passes descriptors" {
	set_process '{"terminal": False, "args": ["sleep", "1000"]}'
	start_bg ember
	console_recv "$T/c.sock" "$T/c.out"
	oci exec -t -d --console-socket "$T/c.sock" "$CT_ID" sh -c 'tty; echo hello' </dev/null >"$T/x.out" 2>&1
	[ ! -s "$T/x.out" ]
	wait "$RECV_PID"
	cat -A "$T/c.out"
	grep -q "^hello" "$T/c.out"
	grep -q "^/dev/pts/" "$T/c.out"
	echo three >"$T/f3"
	run -0 oci exec --preserve-fds 1 "$CT_ID" sh -c 'cat <&3' 3<"$T/f3"
	[ "$output" = three ]
	run -255 oci exec --preserve-fds 1 "$CT_ID" true 3<&-
	[ "$output" = "ember oci: exec: --preserve-fds 1: descriptor 3 is not open" ]
	stop_bg
}

@test "oci exec: bad input: a missing or stopped container, a bad process.json, a missing console socket: one line, 255, nothing left behind" {
	set_process '{"terminal": False, "args": ["sleep", "1000"]}'
	run -255 oci exec nope true
	[ "$output" = "ember oci: container nope does not exist" ]
	if runc_here; then
		run -255 runc --root "$RUNC_ROOT" exec nope true
	fi
	run -255 oci exec
	[ "$output" = "ember oci: exec: give the container's id" ]
	start_bg ember
	local before
	before=$(cg_procs | sort)
	run -255 oci exec "$CT_ID"
	[ "$output" = "ember oci: exec: give the process: -p process.json, or its arguments after the id" ]
	run -255 oci exec -p "$T/none.json" "$CT_ID"
	[[ "$output" == "ember oci: exec: -p $T/none.json: "*"No such file or directory" ]]
	echo '{"args": ' >"$T/bad.json"
	run -255 oci exec -p "$T/bad.json" "$CT_ID"
	[[ "$output" == "ember oci: exec: -p $T/bad.json: "*"(line 2)" ]]
	echo '{"args": ["true"], "cwd": "relative"}' >"$T/bad.json"
	run -255 oci exec -p "$T/bad.json" "$CT_ID"
	echo "$output"
	[[ "$output" == "ember oci: exec: spec: process.cwd: "* ]]
	[ "${#lines[@]}" = 1 ]
	run -255 oci exec --cap NET_FOO "$CT_ID" true
	[[ "$output" == *'unknown capability "CAP_NET_FOO"' ]]
	run -255 oci exec --user bob "$CT_ID" true
	[ "$output" = 'ember oci: exec: --user "bob": UID[:GID], numbers' ]
	run -255 oci exec -t -d --console-socket "$T/nope.sock" "$CT_ID" true
	[ "$output" = "ember oci: --console-socket $T/nope.sock: No such file or directory" ]
	run -255 oci exec "$CT_ID" /no/such/program
	[[ "$output" == *'exec "/no/such/program": no such file or directory'* ]]
	# Nothing new runs in the container.
	[ "$(cg_procs | sort)" = "$before" ]
	run -0 oci kill "$CT_ID" KILL
	wait_until 5 status_is stopped
	run -255 oci exec "$CT_ID" true
	[ "$output" = "ember oci: cannot exec in a stopped container: $CT_ID" ]
	run -0 oci delete "$CT_ID"
	[ -z "$(ls -A "$OCI_ROOT")" ]
}

@test "oci pause, resume, ps: the freezer and the cgroup's pids, with runc's states and exit statuses" {
	set_process '{"terminal": False, "args": ["sleep", "1000"]}'
	local rt
	for rt in $(runtimes); do
		start_bg "$rt"
		"${R[@]}" exec -d --pid-file "$T/x.pid" "$CT_ID" sleep 500 </dev/null >/dev/null 2>&1
		# ps: the container's PID 1 and the exec, as JSON and as ps -ef lines.
		run -0 "${R[@]}" ps --format json "$CT_ID"
		[ "$(jget 'sorted(j)' <<<"$output")" = "$(printf '[%s, %s]' $(printf '%s\n' "$(cat "$T/$rt.ct.pid")" "$(cat "$T/x.pid")" | sort -n))" ]
		run -0 "${R[@]}" ps "$CT_ID"
		[[ "${lines[0]}" == "UID "*"PID"* ]] && [ "${#lines[@]}" = 3 ]
		# ps's own options after the id: runc's; crun 1.8 takes none.
		if [ "$rt" != crun ]; then
			run -0 "${R[@]}" ps "$CT_ID" -o pid,comm
			[ "${#lines[@]}" = 3 ]
			grep -qE "^ *$(cat "$T/$rt.ct.pid") sleep$" <<<"$output"
		fi
		# pause: frozen, state paused; no second pause, no exec, no delete.
		run -0 "${R[@]}" pause "$CT_ID"
		status_is paused
		if [ "$rt" = ember ]; then
			[ "$(cat /sys/fs/cgroup/freezer/ember-oci/"$CT_ID"/freezer.state)" = FROZEN ]
		fi
		# A second pause fails, as a resume of a running one does (runc;
		# crun 1.8 says 0 to both).
		if [ "$rt" != crun ]; then run -1 "${R[@]}" pause "$CT_ID"; fi
		fails_as_runc "$rt" 255 exec "$CT_ID" true
		fails_as_runc "$rt" 1 delete "$CT_ID"
		run -0 "${R[@]}" resume "$CT_ID"
		status_is running
		if [ "$rt" != crun ]; then run -1 "${R[@]}" resume "$CT_ID"; fi
		# delete --force takes a paused one too, at once.
		run -0 "${R[@]}" pause "$CT_ID"
		run -0 timeout 3 "${R[@]}" delete --force "$CT_ID"
		run ! "${R[@]}" state "$CT_ID"
	done
	run -1 oci pause "$CT_ID"
	[ "$output" = "ember oci: container $CT_ID does not exist" ]
	run -1 oci ps --format xml "$CT_ID"
	[ "$output" = "ember oci: ps: --format xml: use table or json" ]
	[ -z "$(ls -A "$OCI_ROOT")" ]
	[ -z "$(find /sys/fs/cgroup -maxdepth 3 -path "*ember-oci/$CT_ID" 2>/dev/null)" ]
}

@test "oci features: runc 1.1's shape, listing only what this ember does" {
	run -0 "$EMBER" oci features
	echo "$output"
	[ "$(jget 'sorted(j)' <<<"$output")" = '["hooks", "linux", "mountOptions", "ociVersionMax", "ociVersionMin"]' ]
	[ "$(jget 'sorted(j["linux"])' <<<"$output")" = '["apparmor", "capabilities", "cgroup", "mountExtensions", "namespaces", "seccomp", "selinux"]' ]
	[ "$(jget 'j["linux"]["namespaces"]' <<<"$output")" = '["cgroup", "ipc", "mount", "network", "pid", "user", "uts", "time"]' ]
	# The runtime spec 1.1's: idmapped mounts, and the recursive options.
	[ "$(jget '[j["linux"]["mountExtensions"], "rro" in j["mountOptions"], "ridmap" in j["mountOptions"]]' <<<"$output")" = \
		'[{"idmap": {"enabled": true}}, true, true]' ]
	[ "$(jget '[j["linux"]["cgroup"]["systemd"], "rbind" in j["mountOptions"], "CAP_SYS_ADMIN" in j["linux"]["capabilities"]]' <<<"$output")" = '[false, true, true]' ]
	[ "$(jget '"SCMP_ACT_NOTIFY" in j["linux"]["seccomp"]["actions"]' <<<"$output")" = false ]
	[ "$(jget 'j["hooks"]' <<<"$output")" = '["prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"]' ]
	if runc_here; then
		# The same keys as runc's (but its annotations, and 1.1's
		# mountExtensions, which runc 1.1.5 predates), and each list a
		# part of runc's where runc has one.
		local theirs=$T/runc-features.json
		runc features >"$theirs"
		[ "$(jget 'sorted(k for k in j if k != "annotations")' <"$theirs")" = "$(jget 'sorted(j)' <<<"$output")" ]
		[ "$(jget 'sorted(j["linux"])' <"$theirs")" = "$(jget 'sorted(k for k in j["linux"] if k != "mountExtensions")' <<<"$output")" ]
		echo "$output" >"$T/ours.json"
		"$PYTHON" -c '
import json, sys
ours, theirs = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
assert set(ours["linux"]["capabilities"]) <= set(theirs["linux"]["capabilities"]) | {"CAP_BPF", "CAP_PERFMON", "CAP_CHECKPOINT_RESTORE"}
assert set(ours["linux"]["seccomp"]["actions"]) <= set(theirs["linux"]["seccomp"]["actions"])
assert set(ours["linux"]["seccomp"]["operators"]) <= set(theirs["linux"]["seccomp"]["operators"])
assert set(ours["hooks"]) <= set(theirs["hooks"])
' "$T/ours.json" "$theirs"
	fi
}

# set_hooks PYTHON-DICT: the bundle's hooks replaced; hook K is $T/hook.sh
# with args [hook.sh, K] and env X=K, appending "K STDIN args=... X=..." to
# $T/hooks.log. hc(K) is the same hook by the container's path: $T is
# bound at /t (bind_t).
set_hooks() {
	cat >"$T/hook.sh" <<-'H'
	#!/bin/sh
	echo "$1 $(cat) args=$* X=$X" >>"${0%/*}/hooks.log"
	H
	chmod +x "$T/hook.sh"
	spec '
h = lambda k, **kw: [dict({"path": sys.argv[3], "args": ["hook.sh", k], "env": ["X=" + k]}, **kw)]
hc = lambda k, **kw: h(k, path="/t/hook.sh", **kw)
c["hooks"] = eval(sys.argv[4])' "$T/hook.sh" "$1"
}

# bind_t: $T bound at /t in the container (hooks that run there log to
# the same file).
bind_t() {
	spec 'c["mounts"].append({"destination": "/t", "type": "bind", "source": sys.argv[3], "options": ["rbind"]})' "$T"
}

# hooks_seen: the log's kinds, statuses and state fields, one line each.
hooks_seen() {
	"$PYTHON" -c '
import json, sys
for line in open(sys.argv[1]):
    kind, rest = line.split(" ", 1)
    state, tail = rest.rsplit(" args=", 1)
    j = json.loads(state)
    print(kind, j["status"], sorted(j), "args=" + tail.strip())' "$T/hooks.log"
}

@test "oci hooks: all six kinds run in runc's order with the state on stdin, their args and env" {
	set_hooks '{**{k: h(k, timeout=10) for k in ["prestart", "createRuntime", "createContainer", "poststart", "poststop"]},
		"startContainer": hc("startContainer", timeout=10)}'
	bind_t
	set_process '{"terminal": False, "args": ["sh", "-c", "echo app >>/app.log"]}'
	local rt
	for rt in $(runtimes); do
		rt "$rt"
		rm -f "$T/hooks.log"
		run -0 "${R[@]}" run --bundle "$T/bundle" "$CT_ID"
		hooks_seen >"$T/$rt.seen"
		cat "$T/$rt.seen"
		# The state's pid is the container's, the bundle this one.
		[ "$(head -1 "$T/hooks.log" | sed 's/^prestart //; s/ args=.*//' | jget 'j["bundle"]')" = "$T/bundle" ]
	done
	# (umoci's bundle has annotations; args[0] is the hook's argv[0].)
	[ "$(cat "$T/ember.seen")" = "prestart creating ['annotations', 'bundle', 'id', 'ociVersion', 'pid', 'status'] args=prestart X=prestart
createRuntime creating ['annotations', 'bundle', 'id', 'ociVersion', 'pid', 'status'] args=createRuntime X=createRuntime
createContainer creating ['annotations', 'bundle', 'id', 'ociVersion', 'pid', 'status'] args=createContainer X=createContainer
startContainer created ['annotations', 'bundle', 'id', 'ociVersion', 'pid', 'status'] args=startContainer X=startContainer
poststart running ['annotations', 'bundle', 'id', 'ociVersion', 'pid', 'status'] args=poststart X=poststart
poststop stopped ['annotations', 'bundle', 'id', 'ociVersion', 'status'] args=poststop X=poststop" ]
	if runc_here; then
		# runc 1.1 says "created" to poststart (the runtime spec: running),
		# and runs it while the container runs its startContainer hooks
		# (either may come first): the same lines, and the same order but
		# for that one.
		[ "$(sed 's/^poststart created/poststart running/' "$T/runc.seen" | sort)" = "$(sort "$T/ember.seen")" ]
		[ "$(grep -v ^startContainer "$T/runc.seen" | cut -d' ' -f1)" = "$(grep -v ^startContainer "$T/ember.seen" | cut -d' ' -f1)" ]
	fi
	# create, start, delete: the first three at create, startContainer and
	# poststart at start (runc 1.1 runs poststart at create), poststop at
	# delete.
	rm -f "$T/hooks.log"
	"$EMBER" oci --root "$OCI_ROOT" create --bundle "$T/bundle" "$CT_ID" </dev/null >/dev/null 2>&1
	[ "$(cut -d' ' -f1 "$T/hooks.log" | xargs)" = "prestart createRuntime createContainer" ]
	run -0 oci start "$CT_ID"
	wait_until 5 grep -q poststart "$T/hooks.log"
	[ "$(cut -d' ' -f1 "$T/hooks.log" | sort | xargs)" = "createContainer createRuntime poststart prestart startContainer" ]
	wait_until 5 bash -c "'$EMBER' oci --root '$OCI_ROOT' state $CT_ID | grep -q stopped"
	run -0 oci delete "$CT_ID"
	[ "$(cut -d' ' -f1 "$T/hooks.log" | sed -n '$p')" = poststop ]
	[ -z "$(ls -A "$OCI_ROOT")" ]
}

@test "oci hooks: a failing or slow prestart fails create with one line and leaves nothing; poststart and poststop failures are warnings; bad hooks are refused" {
	set_process '{"terminal": False, "args": ["sleep", "1000"]}'
	set_hooks '{"prestart": [{"path": "/bin/sh", "args": ["sh", "-c", "echo no way; exit 3"]}], "poststop": h("poststop")}'
	run -1 oci create --bundle "$T/bundle" "$CT_ID" </dev/null
	[ "$output" = "ember oci: hooks.prestart[0] /bin/sh: exit status 3: no way" ]
	# The container was stopped and deleted: poststop ran, nothing stays.
	[ "$(cut -d' ' -f1 "$T/hooks.log")" = poststop ]
	[ -z "$(ls -A "$OCI_ROOT")" ]
	[ -z "$(find /sys/fs/cgroup -maxdepth 3 -path "*ember-oci/$CT_ID" 2>/dev/null)" ]
	if runc_here; then
		run ! runc --root "$RUNC_ROOT" create --bundle "$T/bundle" "$CT_ID" </dev/null
	fi
	set_hooks '{"createRuntime": [{"path": "/bin/sleep", "args": ["sleep", "100"], "timeout": 1}]}'
	run -1 timeout 20 "$EMBER" oci --root "$OCI_ROOT" run --bundle "$T/bundle" "$CT_ID" </dev/null
	[ "$output" = "ember oci: hooks.createRuntime[0] /bin/sleep: timed out after 1 s" ]
	[ -z "$(ls -A "$OCI_ROOT")" ]
	# poststart and poststop: warnings, the container runs and goes.
	set_hooks '{"poststart": [{"path": "/bin/false"}], "poststop": [{"path": "/bin/false"}]}'
	set_process '{"args": ["true"]}'
	run -0 oci run --bundle "$T/bundle" "$CT_ID"
	[ "$output" = "ember oci: warning: hooks.poststart[0] /bin/false: exit status 1
ember oci: warning: hooks.poststop[0] /bin/false: exit status 1" ]
	# Bad hooks: refused, naming the field.
	set_hooks '{"preStart": h("prestart")}'
	run -1 oci run --bundle "$T/bundle" "$CT_ID"
	[[ "$output" == *": hooks.preStart: not a hook ember knows" ]]
	set_hooks '{"prestart": [{"path": "hook.sh"}]}'
	run -1 oci run --bundle "$T/bundle" "$CT_ID"
	[[ "$output" == *": hooks.prestart[0].path: must be an absolute path" ]]
	set_hooks '{"poststop": [{"path": "/bin/true", "timeout": 0}]}'
	run -1 oci run --bundle "$T/bundle" "$CT_ID"
	[[ "$output" == *": hooks.poststop[0].timeout: seconds, from 1" ]]
	[ -z "$(ls -A "$OCI_ROOT")" ]
}

@test "oci hooks: createContainer runs in the container's namespaces with the host's root, from the rootfs; startContainer in the container's root; as runc" {
	# Each says its kind, its mount and pid namespaces, its root, its cwd
	# and the pid on its stdin; the application says its namespaces.
	cat >"$T/where.sh" <<-'H'
	#!/bin/sh
	pid=$(cat | sed 's/.*"pid":\([0-9]*\).*/\1/')
	echo "$1 mnt=$(readlink /proc/self/ns/mnt) pid=$(readlink /proc/self/ns/pid) root=$(ls / | tr '\n' ,) cwd=$(pwd) state-pid=$pid" >>"${0%/*}/where.log"
	H
	chmod +x "$T/where.sh"
	bind_t
	set_hooks '{"createContainer": [{"path": "'"$T"'/where.sh", "args": ["where.sh", "createContainer"]}],
		"startContainer": [{"path": "/t/where.sh", "args": ["where.sh", "startContainer"]}]}'
	set_process '{"terminal": False, "cwd": "/", "args": ["sh", "-c", "echo app mnt=$(readlink /proc/self/ns/mnt) pid=$(readlink /proc/self/ns/pid) >>/t/where.log"]}'
	local rt host_root rootfs
	host_root=$(ls / | tr '\n' ,)
	rootfs=$(realpath "$T/bundle/rootfs")
	# runc is the reference: crun 1.8 runs createContainer from the bundle
	# and gives both hooks a state whose pid is 0.
	for rt in $(runtimes_runc); do
		rt "$rt"
		rm -f "$T/where.log"
		run -0 "${R[@]}" run --bundle "$T/bundle" "$CT_ID"
		cat "$T/where.log"
		local app cc sc
		app=$(grep '^app ' "$T/where.log")
		cc=$(grep '^createContainer ' "$T/where.log")
		sc=$(grep '^startContainer ' "$T/where.log")
		[ "$(cut -d' ' -f1 "$T/where.log" | xargs)" = "createContainer startContainer app" ]
		# The container's namespaces for both (not the host's).
		local ns=${app#app }
		[[ "$cc" == "createContainer $ns root="* ]]
		[[ "$sc" == "startContainer $ns root="* ]]
		[[ "$ns" != *"mnt=$(readlink /proc/self/ns/mnt) "* ]]
		# createContainer: the host's root, cwd the rootfs, before pivot_root.
		[[ "$cc" == *" root=$host_root cwd=$rootfs state-pid=1" ]]
		# startContainer: the container's root and cwd.
		[[ "$sc" == *" root=$(ls "$T/bundle/rootfs" | tr '\n' ,) cwd=/ state-pid=1" ]]
	done
	[ -z "$(ls -A "$OCI_ROOT")" ]
}

# hook_mounts: for runc (the reference) and ember, $T/RT.mounts: what the
# createContainer hook $T/mounts.sh found from its cwd, the rootfs, and
# what the application found of what it left there. Its log is in $T/log
# (open to the container's root of a user namespace too).
hook_mounts() {
	local rt
	for rt in $(runtimes_runc); do
		rt "$rt"
		rm -f "$T/log/mounts.log"
		run -0 "${R[@]}" run --bundle "$T/bundle" "$CT_ID"
		cp "$T/log/mounts.log" "$T/$rt.mounts"
		echo "$rt:"
		cat "$T/$rt.mounts"
	done
}

@test "oci hooks: createContainer finds the spec's mounts and /dev under its cwd (the rootfs), in a user namespace too, and what it puts there the application sees; as runc" {
	# From its cwd, the rootfs: the container's proc (its pid namespace),
	# the bind of $T at /t, /dev a tmpfs with its nodes, a tmpfs of the
	# spec's (where it leaves a file) and /sys.
	cat >"$T/mounts.sh" <<-'H'
	#!/bin/sh
	{
		echo "proc: $(test -e "$PWD/proc/self/ns/mnt" && echo self) $(stat -f -c %T "$PWD/proc")"
		echo "bind: $(cat "$PWD/t/marker")"
		echo "dev: $(stat -f -c %T "$PWD/dev") $(stat -c %F "$PWD/dev/null") $(readlink "$PWD/dev/fd") $(stat -f -c %T "$PWD/dev/pts")"
		echo "scratch: $(stat -f -c %T "$PWD/scratch") $(grep -c " $PWD/scratch " /proc/self/mountinfo)"
		echo "sys: $(stat -f -c %T "$PWD/sys")"
	} >>"${0%/*}/log/mounts.log" 2>&1
	echo left by the hook >"$PWD/scratch/hello"
	H
	chmod +x "$T/mounts.sh"
	mkdir -m 1777 "$T/log"
	echo bound >"$T/marker"
	bind_t
	"$PYTHON" -c '
import json, sys
p = sys.argv[1] + "/config.json"
c = json.load(open(p))
c["mounts"].append({"destination": "/scratch", "type": "tmpfs", "source": "tmpfs", "options": ["size=1m"]})
json.dump(c, open(p, "w"), indent=1)' "$T/bundle"
	set_hooks '{"createContainer": [{"path": "'"$T"'/mounts.sh"}]}'
	set_process '{"terminal": False, "cwd": "/", "args": ["sh", "-c", "echo app: $(cat /scratch/hello) >>/t/log/mounts.log"]}'
	# runc is the reference; crun 1.8 runs createContainer from the bundle.
	local want="proc: self proc
bind: bound
dev: tmpfs character special file /proc/self/fd devpts
scratch: tmpfs 1
sys: sysfs
app: left by the hook"
	hook_mounts
	[ "$(cat "$T/ember.mounts")" = "$want" ]
	if runc_here; then
		[ "$(cat "$T/runc.mounts")" = "$want" ]
	fi
	# In a user namespace: the rootfs the namespace's root owns, on a path
	# it can walk (runc's conditions; the test's directories are the
	# host root's, 0700).
	in_chroot && skip "user namespaces are refused in a chroot"
	local d modes=()
	[ "${T%/test/*}" = "$BATS_RUN_TMPDIR" ]
	for d in "$BATS_RUN_TMPDIR" "$BATS_RUN_TMPDIR/test" "$T" "$T/bundle"; do
		modes+=("$(stat -c %a "$d")")
		chmod o+x "$d"
	done
	chown -R 100000:100000 "$T/bundle/rootfs"
	"$PYTHON" -c '
import json, sys
p = sys.argv[1] + "/config.json"
c = json.load(open(p))
c["linux"]["namespaces"].append({"type": "user"})
c["linux"]["uidMappings"] = c["linux"]["gidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]
c["mounts"] = [m for m in c["mounts"] if m["destination"] != "/sys/fs/cgroup"]
json.dump(c, open(p, "w"), indent=1)' "$T/bundle"
	hook_mounts
	[ "$(cat "$T/ember.mounts")" = "$want" ]
	if runc_here; then
		[ "$(cat "$T/runc.mounts")" = "$want" ]
	fi
	local i=0
	for d in "$BATS_RUN_TMPDIR" "$BATS_RUN_TMPDIR/test" "$T" "$T/bundle"; do
		chmod "${modes[i++]}" "$d"
	done
	[ -z "$(ls -A "$OCI_ROOT")" ]
}

@test "oci hooks: a failing createContainer fails create with one line and leaves nothing; a failing startContainer stops the application, as runc's does" {
	set_process '{"terminal": False, "args": ["sh", "-c", "echo app ran"]}'
	set_hooks '{"createContainer": [{"path": "/bin/sh", "args": ["sh", "-c", "echo no way; exit 3"]}], "poststop": h("poststop")}'
	run -1 oci create --bundle "$T/bundle" "$CT_ID" </dev/null
	[ "$output" = "ember oci: hooks.createContainer[0] /bin/sh: exit status 3: no way" ]
	[ "$(cut -d' ' -f1 "$T/hooks.log")" = poststop ]
	[ -z "$(ls -A "$OCI_ROOT")" ]
	[ -z "$(find /sys/fs/cgroup -maxdepth 3 -path "*ember-oci/$CT_ID" 2>/dev/null)" ]
	if runc_here; then
		run -1 runc --root "$RUNC_ROOT" create --bundle "$T/bundle" "$CT_ID" </dev/null
		[[ "$output" == *"error running hook #0: error running hook: exit status 3, stdout: no way"* ]]
	fi
	# startContainer: its path is the container's; a failure is the
	# application's end, the hook's error on its stderr, and start's (or
	# run's) failure: exit status 1, as runc's.
	set_hooks '{"startContainer": [{"path": "/bin/sh", "args": ["sh", "-c", "echo not now; exit 4"]}]}'
	run -1 oci run --bundle "$T/bundle" "$CT_ID" </dev/null
	[ "$output" = "hooks.startContainer[0] /bin/sh: exit status 4: not now
ember oci: start $CT_ID: its process did not pass the gate (a startContainer hook failed, or it died)" ]
	[ -z "$(ls -A "$OCI_ROOT")" ]
	oci create --bundle "$T/bundle" "$CT_ID" </dev/null 2>"$T/create.err"
	run -1 oci start "$CT_ID"
	[ "$output" = "ember oci: start $CT_ID: its process did not pass the gate (a startContainer hook failed, or it died)" ]
	[ "$(cat "$T/create.err")" = "hooks.startContainer[0] /bin/sh: exit status 4: not now" ]
	run -0 oci delete "$CT_ID"
	if runc_here; then
		run -1 runc --root "$RUNC_ROOT" run --bundle "$T/bundle" "$CT_ID" </dev/null
		[[ "$output" != *"app ran"* ]]
	fi
	# A timeout there too.
	set_hooks '{"createContainer": [{"path": "/bin/sleep", "args": ["sleep", "100"], "timeout": 1}]}'
	run -1 timeout 20 "$EMBER" oci --root "$OCI_ROOT" run --bundle "$T/bundle" "$CT_ID" </dev/null
	[ "$output" = "ember oci: hooks.createContainer[0] /bin/sleep: timed out after 1 s" ]
	[ -z "$(ls -A "$OCI_ROOT")" ]
}
