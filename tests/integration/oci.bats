#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# `ember oci`, runc's command line over ember's executor, on bundles that
# umoci unpacks from busybox, with runc and crun (Debian's) run on the same
# bundles as the references (crun under lib/crun.sh, which hides the
# hybrid cgroup2 mount it refuses): spec (and the spec it writes runs under runc), run in
# the foreground and -d (output, exit status, signals passed on), create
# and start, --console-socket, --preserve-fds, state, list, kill, delete,
# and bad bundles as one line with nothing left behind. exec, pause,
# resume, ps, features and hooks are in oci-exec.bats.

bats_require_minimum_version 1.5.0
load lib/oci

@test "oci: spec writes a config.json that ember and runc both run, refuses to overwrite one, and --rootless maps the caller" {
	mkdir -p "$T/s"
	run -0 "$EMBER" oci spec --bundle "$T/s"
	[ -z "$output" ]
	# The same shape as runc's: a shell on a read-only rootfs with a terminal.
	[ "$(jget '[j["process"]["args"], j["process"]["terminal"], j["root"]]' <"$T/s/config.json")" = \
		'[["sh"], true, {"path": "rootfs", "readonly": true}]' ]
	[ "$(jget '"annotations" in j' <"$T/s/config.json")" = false ]
	run -1 "$EMBER" oci spec --bundle "$T/s"
	[ "$output" = "ember oci: spec: $T/s/config.json exists: remove it first" ]
	# It runs under runc and under ember oci, with busybox's rootfs.
	mv "$T/s/config.json" "$T/bundle/config.json"
	set_process '{"terminal": False, "args": ["sh", "-c", "echo in $(hostname)"]}'
	if runc_here; then
		run -0 runc --root "$RUNC_ROOT" run --bundle "$T/bundle" "$CT_ID"
		[ "$output" = "in ember" ]
	fi
	run -0 oci run --bundle "$T/bundle" "$CT_ID"
	[ "$output" = "in ember" ]
	# runc's own spec (ambient capabilities, none inheritable) runs too.
	mkdir -p "$T/rs"
	(cd "$T/rs" && runc spec)
	mv "$T/rs/config.json" "$T/bundle/config.json"
	set_process '{"terminal": False, "args": ["sh", "-c", "grep CapAmb /proc/self/status"]}'
	run -0 oci run --bundle "$T/bundle" "$CT_ID"
	[ "$output" = "CapAmb:	0000000020000420" ]
	# --rootless: a user namespace mapping the caller to root, no network
	# namespace, no cgroup mount or resources.
	mkdir -p "$T/r"
	run -0 "$EMBER" oci spec --rootless -b "$T/r"
	[ "$(jget '[n["type"] for n in j["linux"]["namespaces"] if n["type"] in ("user", "network")]' <"$T/r/config.json")" = '["user"]' ]
	[ "$(jget 'j["linux"]["uidMappings"]' <"$T/r/config.json")" = '[{"containerID": 0, "hostID": 0, "size": 1}]' ]
	[ "$(jget '"resources" in j["linux"] or "/sys/fs/cgroup" in [m["destination"] for m in j["mounts"]]' <"$T/r/config.json")" = false ]
}

@test "oci: run in the foreground as runc does: the same output and exit status, the process is PID 1" {
	set_process '{"terminal": False, "args": ["sh", "-c", "echo pid $$; id -u; cat /etc/hostname 2>/dev/null; exit 7"]}'
	run -7 oci run --bundle "$T/bundle" "$CT_ID"
	[ "${lines[0]}" = "pid 1" ] && [ "${lines[1]}" = 0 ]
	local ours=$output rt
	for rt in $(runtimes); do
		rt "$rt"
		run -7 "${R[@]}" run --bundle "$T/bundle" "$CT_ID"
		echo "$rt: $output"
		echo "ember: $ours"
		[ "$output" = "$ours" ]
	done
	# Nothing stays: no state, no cgroup.
	[ -z "$(ls -A "$OCI_ROOT")" ]
	[ -z "$(find /sys/fs/cgroup -maxdepth 3 -path "*ember-oci/$CT_ID" 2>/dev/null)" ]
}

@test "oci: state, list and kill while run waits in the foreground; delete refuses a running container without --force" {
	set_process '{"terminal": False, "args": ["sh", "-c", "trap \"echo got TERM; exit 3\" TERM; echo up; while :; do sleep 0.1; done"]}'
	"$EMBER" oci --root "$OCI_ROOT" run --bundle "$T/bundle" --pid-file "$T/ct.pid" "$CT_ID" >"$T/out" 2>&1 &
	echo $! >"$T/run.pid"
	# The pid file is written once the state is.
	wait_until 10 test -s "$T/ct.pid"
	wait_until 10 grep -q up "$T/out"
	run -0 oci state "$CT_ID"
	echo "$output"
	[ "$(jget '[j["id"], j["status"], j["pid"], j["bundle"], j["ociVersion"]]' <<<"$output")" = \
		"[\"$CT_ID\", \"running\", $(cat "$T/ct.pid"), \"$T/bundle\", \"$(jget 'j["ociVersion"]' <"$T/bundle/config.json")\"]" ]
	# runc's state has the same fields.
	[ "$(jget 'sorted(j)' <<<"$output")" = '["bundle", "created", "id", "ociVersion", "owner", "pid", "rootfs", "status"]' ]
	run -0 oci list -q
	[ "$output" = "$CT_ID" ]
	run -0 oci list --format json
	[ "$(jget '[c["id"] for c in j]' <<<"$output")" = "[\"$CT_ID\"]" ]
	run -1 oci delete "$CT_ID"
	[ "$output" = "ember oci: cannot delete container $CT_ID that is not stopped: running" ]
	# kill: the container's process gets the signal; run exits with its status.
	run -0 oci kill "$CT_ID" TERM
	local rc=0
	wait "$(cat "$T/run.pid")" || rc=$?
	[ "$rc" = 3 ]
	grep -q "got TERM" "$T/out"
	run -1 oci state "$CT_ID"
	[ "$output" = "ember oci: container $CT_ID does not exist" ]
	run -0 oci list -q
	[ -z "$output" ]
}

@test "oci: create sets the container up and leaves it waiting, start runs it: the states runc goes through" {
	set_process '{"terminal": False, "args": ["sh", "-c", "echo started >/started; exec sleep 1000"]}'
	local rt
	for rt in $(runtimes); do
		rm -f "$T/bundle/rootfs/started"
		rt "$rt"
		# The container gets create's stdio (as with runc): not bats's pipe.
		"${R[@]}" create --bundle "$T/bundle" --pid-file "$T/$rt.pid" "$CT_ID" </dev/null >"$T/create.out" 2>&1
		[ ! -s "$T/create.out" ]
		# Created: its process is there (the pid file names it), the
		# application has not run.
		[ "$("${R[@]}" state "$CT_ID" | jget '[j["status"], j["pid"]]')" = "[\"created\", $(cat "$T/$rt.pid")]" ]
		kill -0 "$(cat "$T/$rt.pid")"
		sleep 0.3
		[ ! -e "$T/bundle/rootfs/started" ]
		run -0 "${R[@]}" start "$CT_ID"
		wait_until 5 test -e "$T/bundle/rootfs/started"
		[ "$("${R[@]}" state "$CT_ID" | jget 'j["status"]')" = running ]
		# Started once only; a running one is deleted only by force.
		run ! "${R[@]}" start "$CT_ID"
		run ! "${R[@]}" delete "$CT_ID"
		run -0 "${R[@]}" kill "$CT_ID" KILL
		wait_until 5 bash -c "[ \"\$($(printf '%q ' "${R[@]}") state $CT_ID | $PYTHON -c 'import json,sys; print(json.load(sys.stdin)[\"status\"])')\" = stopped ]"
		run -0 "${R[@]}" delete "$CT_ID"
		run ! "${R[@]}" state "$CT_ID"
		# A created one that never started is deleted as it is.
		"${R[@]}" create --bundle "$T/bundle" "$CT_ID" </dev/null >"$T/create.out" 2>&1
		run -0 "${R[@]}" delete "$CT_ID"
		run ! "${R[@]}" state "$CT_ID"
	done
	[ -z "$(ls -A "$OCI_ROOT")" ]
	# A terminal needs --console-socket, which ember oci does not take yet.
	set_process '{"terminal": True}'
	run -1 oci create --bundle "$T/bundle" "$CT_ID" </dev/null
	[[ "$output" == "ember oci: process.terminal: "*"--console-socket"* ]]
	[ -z "$(ls -A "$OCI_ROOT")" ]
}

@test "oci: a signal to the foreground run goes to the container; delete --force ends a running one" {
	set_process '{"terminal": False, "args": ["sh", "-c", "trap \"echo got HUP; exit 4\" HUP; echo up; while :; do sleep 0.1; done"]}'
	"$EMBER" oci --root "$OCI_ROOT" run --bundle "$T/bundle" "$CT_ID" >"$T/out" 2>&1 &
	local rp=$!
	echo "$rp" >"$T/run.pid"
	wait_until 10 grep -q up "$T/out"
	kill -HUP "$rp"
	local rc=0
	wait "$rp" || rc=$?
	[ "$rc" = 4 ]
	grep -q "got HUP" "$T/out"
	# delete --force: killed, and its state and cgroup go.
	set_process '{"args": ["sleep", "1000"]}'
	"$EMBER" oci --root "$OCI_ROOT" run --bundle "$T/bundle" --pid-file "$T/ct.pid" "$CT_ID" >"$T/out2" 2>&1 &
	rp=$!
	echo "$rp" >"$T/run.pid"
	wait_until 10 test -s "$T/ct.pid"
	run -0 oci delete --force "$CT_ID"
	rc=0
	wait "$rp" || rc=$?
	[ "$rc" = 137 ]
	[ -z "$(ls -A "$OCI_ROOT")" ]
	# --force on nothing is no error, as with runc.
	run -0 oci delete --force "$CT_ID"
}

@test "oci: bad bundles and arguments: one line naming what is wrong, exit 1 or 2, nothing left behind" {
	run -1 oci run --bundle "$T/nope" "$CT_ID"
	[[ "$output" == "ember oci: bundle $T/nope: "* ]]
	echo '{"ociVersion": "1.0.2", "process": ' >"$T/bundle/config.json.bad"
	mkdir -p "$T/b2" && mv "$T/bundle/config.json.bad" "$T/b2/config.json" && ln -s "$T/bundle/rootfs" "$T/b2/rootfs"
	run -1 oci run --bundle "$T/b2" "$CT_ID"
	echo "$output"
	[[ "$output" == "ember oci: bundle $T/b2: config.json: "*" (line 2)" ]]
	set_process '{"args": []}'
	run -1 oci run --bundle "$T/bundle" "$CT_ID"
	echo "$output"
	[[ "$output" == "ember oci: bundle $T/bundle: config.json: "*"args"* ]]
	[ "${#lines[@]}" = 1 ]
	run -1 oci run --bundle "$T/bundle" "bad/id"
	[ "$output" = 'ember oci: run: invalid container id "bad/id"' ]
	run -1 oci run --keep --bundle "$T/bundle" "$CT_ID"
	[ "$output" = "ember oci: run: --keep is not supported" ]
	run -2 oci frobnicate
	[ "$output" = 'ember oci: unknown command "frobnicate" (see: ember oci --help)' ]
	run -2 "$EMBER" oci --log-format xml list
	# A program that is not there fails create (and run), as runc's does,
	# naming it; nothing stays.
	local rt junk
	for rt in $(runtimes_runc); do
		rt "$rt"
		set_process '{"terminal": False, "args": ["nonexist"]}'
		run -1 "${R[@]}" run --bundle "$T/bundle" "$CT_ID"
		echo "$rt: $output"
		[[ "$output" == *'exec'*'nonexist'* ]]
		"${R[@]}" create --bundle "$T/bundle" "$CT_ID" </dev/null >"$T/create.out" 2>&1 && false
		run ! "${R[@]}" state "$CT_ID"
		# One that is there but cannot be executed: found at create, it
		# fails past the start gate, on the application's stderr.
		printf '\001\002junk' >"$T/bundle/rootfs/junk"
		chmod 0755 "$T/bundle/rootfs/junk"
		set_process '{"terminal": False, "args": ["/junk"]}'
		run ! "${R[@]}" run --bundle "$T/bundle" "$CT_ID"
		echo "$rt: $output"
		[[ "$output" == *'/junk'*'exec format error'* ]]
		junk=$output
		run -0 "${R[@]}" delete --force "$CT_ID"
		rm "$T/bundle/rootfs/junk"
	done
	[ "$(cat "$T/create.out")" = 'ember oci: exec "nonexist": no such file or directory' ]
	[ "$junk" = 'ember oci: exec "/junk": exec format error' ]
	[ -z "$(find /sys/fs/cgroup -maxdepth 3 -path "*ember-oci/$CT_ID" 2>/dev/null)" ]
	# An id that exists: refused, the running one untouched.
	set_process '{"args": ["sleep", "1000"]}'
	"$EMBER" oci --root "$OCI_ROOT" run --bundle "$T/bundle" --pid-file "$T/ct.pid" "$CT_ID" >/dev/null 2>&1 &
	echo $! >"$T/run.pid"
	wait_until 10 test -s "$T/ct.pid"
	run -1 oci run --bundle "$T/bundle" "$CT_ID"
	[ "$output" = "ember oci: container with id $CT_ID exists" ]
	[ "$(oci state "$CT_ID" | jget 'j["status"]')" = running ]
	run -0 oci delete --force "$CT_ID"
	# Errors also go to --log, as runc writes them (containerd reads them).
	run -1 "$EMBER" oci --root "$OCI_ROOT" --log "$T/log.json" --log-format json state nope
	[ "$(jget '[j["level"], j["msg"]]' <"$T/log.json")" = '["error", "container nope does not exist"]' ]
	[ -z "$(ls -A "$OCI_ROOT")" ]
}

@test "oci: linux.resources.devices: the standard nodes open under runc's deny-all list, another is denied (v1 devices controller here, eBPF on v2), a bad rule is one line" {
	# runc spec's list: deny everything; runc and ember add the standard
	# nodes. The container makes a node of a number no driver has here
	# (local major 240) and opens it: EPERM from the device cgroup (with
	# none, ENXIO from the kernel).
	set_process '{"terminal": False, "args": ["sh", "-c", "head -c1 /dev/zero | wc -c; echo x >/dev/null && echo null ok; rm -f /tmp/k; mknod /tmp/k c 240 7 && head -c0 /tmp/k 2>&1 | sed \"s/.*: //\""]}'
	spec 'c["root"]["readonly"] = False
c["process"]["capabilities"] = {k: ["CAP_MKNOD", "CAP_DAC_OVERRIDE"] for k in ("bounding", "effective", "permitted")}
c["linux"].setdefault("resources", {})["devices"] = [{"allow": False, "access": "rwm"}]'
	local rt want
	for rt in $(runtimes); do
		rt "$rt"
		run -0 "${R[@]}" run --bundle "$T/bundle" "$CT_ID"
		echo "$rt: $output"
		want="1
null ok
Operation not permitted"
		[ "$output" = "$want" ]
	done
	# On v1 ember's rules are the devices controller's list, as runc's:
	# deny all, then the spec's rules and runc's defaults in their order;
	# the directory goes with the container.
	if [ -d /sys/fs/cgroup/devices ]; then
		local dev=/sys/fs/cgroup/devices/ember-oci/$CT_ID
		oci create --bundle "$T/bundle" "$CT_ID" </dev/null >"$T/create.out" 2>&1
		[ ! -s "$T/create.out" ]
		run -0 cat "$dev/devices.list"
		[ "$output" = "c *:* m
b *:* m
c 1:3 rwm
c 1:8 rwm
c 1:7 rwm
c 5:0 rwm
c 1:5 rwm
c 1:9 rwm
c 136:* rwm
c 5:2 rwm
c 10:200 rwm" ]
		[ "$(cat "$dev/cgroup.procs")" = "$(oci state "$CT_ID" | jget 'j["pid"]')" ]
		run -0 oci delete --force "$CT_ID"
		[ ! -e "$dev" ]
	fi
	# A bad rule: refused naming it, before anything runs; nothing stays.
	spec 'c["linux"]["resources"]["devices"].append({"allow": True, "type": "c", "access": "rx"})'
	run -1 oci run --bundle "$T/bundle" "$CT_ID"
	[ "$output" = 'ember oci: linux.resources.devices[1].access "rx": letters of "rwm"' ]
	[ -z "$(ls -A "$OCI_ROOT")" ]
	[ -z "$(find /sys/fs/cgroup -maxdepth 3 -path "*ember-oci/$CT_ID" 2>/dev/null)" ]
}

@test "oci: create --console-socket sends the terminal's master to the socket, as runc does; start runs on it" {
	set_process '{"terminal": True, "args": ["sh", "-c", "read x; echo got $x; tty"]}'
	local rt
	for rt in $(runtimes); do
		rt "$rt"
		console_recv "$T/c.sock" "$T/$rt.out" $'hello\n'
		"${R[@]}" create --bundle "$T/bundle" --console-socket "$T/c.sock" --pid-file "$T/$rt.pid" "$CT_ID" \
			</dev/null >"$T/create.out" 2>&1
		[ ! -s "$T/create.out" ]
		status_is created
		run -0 "${R[@]}" start "$CT_ID"
		wait "$RECV_PID"
		wait_until 5 status_is stopped
		run -0 "${R[@]}" delete "$CT_ID"
		cat -A "$T/$rt.out"
	done
	# What the application said through the terminal (the echo of the
	# input too, and the terminal's CR LF line ends).
	grep -q "got hello" "$T/ember.out"
	grep -q "^/dev/pts/0" "$T/ember.out"
	for rt in $(runtimes); do
		[ "$(cat "$T/ember.out")" = "$(cat "$T/$rt.out")" ]
	done
	[ -z "$(ls -A "$OCI_ROOT")" ]
}

@test "oci: --console-socket errors: a missing socket, no terminal, a detached terminal without one: one line, nothing left behind" {
	set_process '{"terminal": True, "args": ["true"]}'
	run -1 oci create --bundle "$T/bundle" --console-socket "$T/nope.sock" "$CT_ID" </dev/null
	[ "$output" = "ember oci: --console-socket $T/nope.sock: No such file or directory" ]
	run -1 oci run -d --bundle "$T/bundle" "$CT_ID" </dev/null
	[ "$output" = "ember oci: process.terminal: a detached container's terminal goes to --console-socket: give one" ]
	console_recv "$T/c.sock" "$T/c.out"
	set_process '{"terminal": False}'
	run -1 oci create --bundle "$T/bundle" --console-socket "$T/c.sock" "$CT_ID" </dev/null
	[[ "$output" == "ember oci: --console-socket: only for the terminal (process.terminal) of a detached container"* ]]
	if runc_here; then
		run ! runc --root "$RUNC_ROOT" create --bundle "$T/bundle" --console-socket "$T/nope.sock" "$CT_ID" </dev/null
	fi
	[ -z "$(ls -A "$OCI_ROOT")" ]
	[ -z "$(find /sys/fs/cgroup -maxdepth 3 -path "*ember-oci/$CT_ID" 2>/dev/null)" ]
}

@test "oci: --preserve-fds N passes descriptors 3 .. 3+N-1 and no other, as runc does; a closed one is refused" {
	echo three >"$T/f3"
	echo four >"$T/f4"
	# ls's own descriptors (the last is the directory it reads).
	set_process '{"terminal": False, "args": ["sh", "-c", "cat <&3; cat <&4; exec ls /proc/self/fd"]}'
	run -0 oci run --bundle "$T/bundle" --preserve-fds 2 "$CT_ID" 3<"$T/f3" 4<"$T/f4" 5<"$T/f4"
	echo "$output"
	[ "${lines[0]}" = three ] && [ "${lines[1]}" = four ]
	[ "${lines[*]:2}" = "0 1 2 3 4 5" ]
	local ours=$output rt
	for rt in $(runtimes); do
		rt "$rt"
		run -0 "${R[@]}" run --bundle "$T/bundle" --preserve-fds 2 "$CT_ID" 3<"$T/f3" 4<"$T/f4" 5<"$T/f4"
		echo "$rt: $output"
		[ "$output" = "$ours" ]
	done
	# create too: the descriptors wait at the gate with the process.
	"$EMBER" oci --root "$OCI_ROOT" create --bundle "$T/bundle" --preserve-fds 1 "$CT_ID" 3<"$T/f3" \
		</dev/null >"$T/out" 2>&1
	run -0 oci start "$CT_ID"
	wait_until 5 grep -q "^4$" "$T/out"
	[ "$(grep -v "^sh:" "$T/out" | xargs)" = "three 0 1 2 3 4" ]
	wait_until 5 bash -c "'$EMBER' oci --root '$OCI_ROOT' state $CT_ID | grep -q stopped"
	run -0 oci delete "$CT_ID"
	run -1 oci run --bundle "$T/bundle" --preserve-fds 2 "$CT_ID" 3<"$T/f3" 4<&-
	[ "$output" = "ember oci: run: --preserve-fds 2: descriptor 4 is not open" ]
	run -1 oci run --bundle "$T/bundle" --preserve-fds x "$CT_ID"
	[ "$output" = 'ember oci: run: --preserve-fds "x": a count from 0 to 1024' ]
	# --no-pivot and --no-new-keyring are taken (what ember does anyway).
	set_process '{"args": ["true"]}'
	run -0 oci run --bundle "$T/bundle" --no-pivot --no-new-keyring "$CT_ID"
	[ -z "$(ls -A "$OCI_ROOT")" ]
}

@test "oci: run -d returns with the container running, as runc's; kill, state stopped once it is gone, delete" {
	set_process '{"terminal": False, "args": ["sleep", "1000"]}'
	local rt
	for rt in $(runtimes); do
		rt "$rt"
		# Its stdio is run's (as with runc): not bats's pipe.
		"${R[@]}" run -d --bundle "$T/bundle" --pid-file "$T/$rt.pid" "$CT_ID" </dev/null >"$T/run.out" 2>&1
		[ ! -s "$T/run.out" ]
		[ "$("${R[@]}" state "$CT_ID" | jget '[j["status"], j["pid"]]')" = "[\"running\", $(cat "$T/$rt.pid")]" ]
		# Not a child of anything of this test's: left to a subreaper or init.
		[ "$(awk '{print $4}' /proc/"$(cat "$T/$rt.pid")"/stat)" != $$ ]
		run -1 "${R[@]}" delete "$CT_ID"
		run -0 "${R[@]}" kill "$CT_ID" KILL
		wait_until 5 status_is stopped
		run -0 "${R[@]}" delete "$CT_ID"
		run ! "${R[@]}" state "$CT_ID"
		# delete --force ends a detached one too.
		"${R[@]}" run -d --bundle "$T/bundle" "$CT_ID" </dev/null >/dev/null 2>&1
		status_is running
		run -0 "${R[@]}" delete --force "$CT_ID"
		run ! "${R[@]}" state "$CT_ID"
	done
	[ -z "$(ls -A "$OCI_ROOT")" ]
	[ -z "$(find /sys/fs/cgroup -maxdepth 3 -path "*ember-oci/$CT_ID" 2>/dev/null)" ]
}
