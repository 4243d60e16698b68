#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# `ember oci` and the Linux part of the runtime spec that oci.bats does not
# cover: personality, domainname, a time namespace with timeOffsets,
# ioPriority, idmapped mounts (idmap, ridmap), recursive mount options
# (rro), rootfsPropagation, sysctl, linux.devices; each on a busybox bundle under ember
# and under the peer that implements it (runc 1.1.5 has no personality,
# domainname, time namespace or idmapped mounts: crun 1.8.1 is the
# reference there, run in a private mount namespace without the hybrid
# host's cgroup2 mount, which it refuses). And the fields ember does not
# do: refused in one line naming the field, nothing left behind.

bats_require_minimum_version 1.5.0
load lib/oci

# lib/oci's teardown (crun's container too), and the mounts a test made
# for its binds.
teardown() {
	oci_teardown
	if [ -d "${T:-}/src" ]; then
		umount -R "$T/src" 2>/dev/null || true
	fi
}

# args SHELL-COMMAND: the process, without a terminal.
args() {
	spec "c['process']['terminal'] = False; c['process']['args'] = ['sh', '-c', sys.argv[3]]" "$1"
}

# crun_run: crun runs the bundle in the foreground (output and status as
# run's), with no cgroup of its own; 1 where crun is not installed.
crun_run() {
	command -v crun >/dev/null || return 1
	crun_cmd --cgroup-manager=disabled --root "$CRUN_ROOT" run --bundle "$T/bundle" "$CT_ID"
}

# refused FIELD PYTHON: the change is refused by ember oci run in one line
# naming FIELD, exit 1, with no state, cgroup or mount left behind.
refused() {
	local before
	spec "$2"
	# (Mounts of this test's own: other tests on the machine mount too.)
	before=$(grep -c "$T" /proc/self/mountinfo || true)
	run -1 oci run --bundle "$T/bundle" "$CT_ID"
	echo "$output"
	[ "${#lines[@]}" = 1 ]
	[[ "$output" == "ember oci: bundle $T/bundle: config.json: spec: $1"* ]]
	[ -z "$(ls -A "$OCI_ROOT" 2>/dev/null)" ]
	[ -z "$(find /sys/fs/cgroup -maxdepth 3 -path "*ember-oci/$CT_ID" 2>/dev/null)" ]
	[ "$(grep -c "$T" /proc/self/mountinfo || true)" = "$before" ]
	cp "$T/config.json.orig" "$T/bundle/config.json"
}

@test "oci spec: personality LINUX32 makes uname -m 32-bit, in the container and in an exec, as crun's does" {
	[ "$(uname -m)" = x86_64 ] || skip "LINUX32 is i686 on x86_64 only"
	args 'uname -m'
	spec "c['linux']['personality'] = {'domain': 'LINUX32'}"
	run -0 oci run --bundle "$T/bundle" "$CT_ID"
	[ "$output" = i686 ]
	if command -v crun >/dev/null; then
		run -0 crun_run
		[ "$output" = i686 ]
	fi
	# An exec runs with it too; LINUX is the host's own.
	args 'sleep 100'
	oci run -d --bundle "$T/bundle" "$CT_ID" </dev/null >/dev/null 2>&1
	run -0 oci exec "$CT_ID" uname -m
	[ "$output" = i686 ]
	oci delete --force "$CT_ID"
	args 'uname -m'
	spec "c['linux']['personality'] = {'domain': 'LINUX', 'flags': []}"
	run -0 oci run --bundle "$T/bundle" "$CT_ID"
	[ "$output" = x86_64 ]
}

@test "oci spec: domainname and hostname are the container's, as crun sets them (runc 1.1.5 drops domainname)" {
	args 'echo $(hostname) $(cat /proc/sys/kernel/domainname)'
	spec "c['hostname'] = 'box'; c['domainname'] = 'example.org'"
	run -0 oci run --bundle "$T/bundle" "$CT_ID"
	[ "$output" = "box example.org" ]
	if command -v crun >/dev/null; then
		run -0 crun_run
		[ "$output" = "box example.org" ]
	fi
	# The host's stays as it was.
	[ "$(cat /proc/sys/kernel/domainname)" != example.org ]
	cp "$T/bundle/config.json" "$T/config.json.orig"
	refused domainname "c['linux']['namespaces'] = [n for n in c['linux']['namespaces'] if n['type'] != 'uts']; c.pop('hostname')"
}

@test "oci spec: a time namespace with timeOffsets: the offsets util-linux's unshare --time gives, for the container and its execs" {
	[ -e /proc/self/ns/time ] || skip "this kernel has no time namespaces"
	args 'cat /proc/self/timens_offsets; cat /proc/uptime'
	spec "c['linux']['namespaces'].append({'type': 'time'}); c['linux']['timeOffsets'] = {'boottime': {'secs': 864000}, 'monotonic': {'secs': 5, 'nanosecs': 7}}"
	local host
	host=$(cut -d. -f1 /proc/uptime)
	run -0 oci run --bundle "$T/bundle" "$CT_ID"
	local ref
	ref=$(unshare --time --boottime 864000 --monotonic 5 cat /proc/self/timens_offsets)
	echo "$output"
	# unshare cannot give nanoseconds: only the monotonic line differs.
	[ "$(echo ${lines[0]})" = "monotonic 5 7" ]
	[ "${lines[1]}" = "$(echo "$ref" | sed -n 2p)" ]
	local up=${lines[2]%%.*}
	[ "$up" -ge $((host + 864000)) ] && [ "$up" -le $((host + 864000 + 30)) ]
	# An exec joins it.
	args 'sleep 100'
	oci run -d --bundle "$T/bundle" "$CT_ID" </dev/null >/dev/null 2>&1
	run -0 oci exec "$CT_ID" cat /proc/self/timens_offsets
	[ "${lines[1]}" = "$(echo "$ref" | sed -n 2p)" ]
	oci delete --force "$CT_ID"
	# Offsets without a new time namespace, or of another clock: refused.
	cp "$T/bundle/config.json" "$T/config.json.orig"
	refused linux.timeOffsets "c['linux']['namespaces'].pop()"
	refused 'linux.timeOffsets: unknown clock "realtime"' "c['linux']['timeOffsets']['realtime'] = {'secs': 1}"
	refused 'linux.timeOffsets.boottime: nanosecs' "c['linux']['timeOffsets']['boottime']['nanosecs'] = 1000000000"
}

@test "oci spec: process.user.umask is the process's, as runc sets it" {
	args 'umask; touch /tmp/f && stat -c %a /tmp/f'
	spec "c['process']['user']['umask'] = 0o027; c['root']['readonly'] = False; c['mounts'].append({'destination': '/tmp', 'type': 'tmpfs', 'source': 'tmpfs'})"
	local rt
	for rt in $(runtimes); do
		rt "$rt"
		run -0 "${R[@]}" run --bundle "$T/bundle" "$CT_ID"
		echo "$rt: $output"
		[ "$output" = "0027
640" ]
	done
}

@test "oci spec: ioPriority sets the process's I/O class and priority (runc 1.1.5 and crun 1.8.1 ignore it)" {
	args 'ionice'
	spec "c['process']['ioPriority'] = {'class': 'IOPRIO_CLASS_IDLE'}"
	run -0 oci run --bundle "$T/bundle" "$CT_ID"
	[ "$output" = idle ]
	spec "c['process']['ioPriority'] = {'class': 'IOPRIO_CLASS_BE', 'priority': 6}"
	run -0 oci run --bundle "$T/bundle" "$CT_ID"
	[ "$output" = "best-effort: prio 6" ]
	# What util-linux's ionice gives the same process.
	[ "$(ionice -c 2 -n 6 "$T/bundle/rootfs/bin/busybox" ionice)" = "$output" ]
	cp "$T/bundle/config.json" "$T/config.json.orig"
	refused 'process.ioPriority.class' "c['process']['ioPriority'] = {'class': 'IOPRIO_CLASS_NONE'}"
	refused 'process.ioPriority.priority' "c['process']['ioPriority'] = {'class': 'IOPRIO_CLASS_RT', 'priority': 8}"
}

# A tmpfs at $T/src with a file and, at sub, another tmpfs with one: both
# root's on disk.
make_src() {
	mkdir -p "$T/src"
	mount -t tmpfs tmpfs "$T/src"
	mkdir "$T/src/sub"
	mount -t tmpfs tmpfs "$T/src/sub"
	touch "$T/src/f" "$T/src/sub/g"
}

@test "oci spec: an idmapped bind mount (idmap, the mount's uidMappings) shifts owners both ways, as crun's; ridmap shifts the mounts below too" {
	make_src
	local maps="'uidMappings': [{'containerID': 0, 'hostID': 1000, 'size': 10}], 'gidMappings': [{'containerID': 0, 'hostID': 2000, 'size': 10}]"
	spec "c['mounts'].append({'destination': '/mnt', 'type': 'bind', 'source': '$T/src', 'options': ['rbind', 'idmap'], $maps})"
	spec "c['process']['user'] = {'uid': 1003, 'gid': 2004}"
	args 'stat -c "%u %g" /mnt/f /mnt/sub/g; touch /mnt/new && stat -c "%u %g" /mnt/new'
	chmod 1777 "$T/src"
	run -0 oci run --bundle "$T/bundle" "$CT_ID"
	echo "$output"
	# idmap: on the top mount only; what the process makes is stored
	# with the ids it maps from.
	[ "$output" = "1000 2000
0 0
1003 2004" ]
	[ "$(stat -c '%u %g' "$T/src/new")" = "3 4" ]
	if command -v crun >/dev/null; then
		rm "$T/src/new"
		run -0 crun_run
		echo "crun: $output"
		# crun 1.8.1 binds the top mount alone (no /mnt/sub/g).
		[ "${lines[0]}" = "1000 2000" ] && [ "${lines[2]}" = "1003 2004" ]
	fi
	# ridmap (crun 1.8.1 has it not).
	rm "$T/src/new"
	spec "c['mounts'][-1]['options'] = ['rbind', 'ridmap']"
	run -0 oci run --bundle "$T/bundle" "$CT_ID"
	[ "$output" = "1000 2000
1000 2000
1003 2004" ]
	# The host's view is untouched; nothing stays mounted.
	[ "$(stat -c '%u %g' "$T/src/f")" = "0 0" ]
	[ "$(grep -c " $T/src" /proc/self/mountinfo)" = 2 ]
	cp "$T/bundle/config.json" "$T/config.json.orig"
	refused 'mounts[' "c['mounts'][-1].pop('uidMappings'); c['mounts'][-1].pop('gidMappings')"
	refused 'mounts[' "c['mounts'][-1].pop('gidMappings')"
	refused 'mounts[' "c['mounts'][-1]['type'] = 'tmpfs'; c['mounts'][-1]['options'] = ['idmap']"
}

@test "oci spec: rro makes the whole bound tree read-only, ro its top only, as runc's" {
	make_src
	spec "c['mounts'].append({'destination': '/mnt', 'type': 'bind', 'source': '$T/src', 'options': ['rbind', 'rro']})"
	args 'touch /mnt/x 2>/dev/null; echo top $?; touch /mnt/sub/x 2>/dev/null; echo sub $?'
	local rt out=()
	for rt in $(runtimes); do
		rt "$rt"
		run -0 "${R[@]}" run --bundle "$T/bundle" "$CT_ID"
		[ "$output" = "top 1
sub 1" ]
	done
	spec "c['mounts'][-1]['options'] = ['rbind', 'ro']"
	for rt in $(runtimes); do
		rt "$rt"
		run -0 "${R[@]}" run --bundle "$T/bundle" "$CT_ID"
		[ "$output" = "top 1
sub 0" ]
		rm "$T/src/sub/x"
	done
	# rro then rrw: the last word wins.
	spec "c['mounts'][-1]['options'] = ['rbind', 'rro', 'rrw']"
	run -0 oci run --bundle "$T/bundle" "$CT_ID"
	[ "$output" = "top 0
sub 0" ]
}

@test "oci spec: a mount's destination through a symlink, absolute or climbing with ../, stays in the rootfs (made before pivot_root), as runc's" {
	# /escape in the rootfs leads to a host directory by its absolute
	# path, /climb by ../ past the rootfs's root: both land inside the
	# rootfs, the host's directory gets nothing.
	mkdir -p "$T/outside" "$T/src"
	echo bound >"$T/src/f"
	ln -s "$T/outside" "$T/bundle/rootfs/escape"
	ln -s "../../../../../../../../../..$T/outside" "$T/bundle/rootfs/climb"
	spec "c['mounts'] += [{'destination': '/escape/m', 'type': 'tmpfs', 'source': 'tmpfs'},
		{'destination': '/escape/b', 'type': 'bind', 'source': '$T/src', 'options': ['bind']},
		{'destination': '/climb/up', 'type': 'tmpfs', 'source': 'tmpfs'}]"
	args 'stat -f -c %T /escape/m "$1/outside/up"; cat /escape/b/f; touch /escape/m/x "$1/outside/up/y"'
	spec "c['process']['args'] += ['sh', sys.argv[3]]" "$T"
	local rt
	for rt in $(runtimes_runc); do
		rt "$rt"
		run -0 "${R[@]}" run --bundle "$T/bundle" "$CT_ID"
		echo "$rt: $output"
		[ "$output" = "tmpfs
tmpfs
bound" ]
		[ -z "$(ls -A "$T/outside")" ]
		[ -d "$T/bundle/rootfs$T/outside/m" ] && [ -d "$T/bundle/rootfs$T/outside/up" ]
		[ -z "$(grep -F " $T/" /proc/self/mountinfo)" ]
	done
}

@test "oci spec: rootfsPropagation rshared (as crun's) and runbindable; sysctl of the container's namespaces, as runc; a host's sysctl refused as runc refuses it" {
	args 'awk '"'"'$5 == "/" {print $7}'"'"' /proc/self/mountinfo | cut -d: -f1'
	spec "c['linux']['rootfsPropagation'] = 'rshared'"
	run -0 oci run --bundle "$T/bundle" "$CT_ID"
	[ "$output" = shared ]
	if command -v crun >/dev/null; then
		run -0 crun_run
		[ "$output" = shared ]
	fi
	# runc 1.1.5 fails to bind an unbindable rootfs; crun 1.8.1 too.
	spec "c['linux']['rootfsPropagation'] = 'runbindable'"
	run -0 oci run --bundle "$T/bundle" "$CT_ID"
	[ "$output" = unbindable ]
	args 'cat /proc/sys/net/ipv4/ip_forward /proc/sys/kernel/shmmni'
	spec "c['linux'].pop('rootfsPropagation'); c['linux']['sysctl'] = {'net.ipv4.ip_forward': '1', 'kernel.shmmni': '1234'}"
	local rt
	for rt in $(runtimes); do
		rt "$rt"
		run -0 "${R[@]}" run --bundle "$T/bundle" "$CT_ID"
		echo "$rt: $output"
		[ "$output" = "1
1234" ]
	done
	cp "$T/bundle/config.json" "$T/config.json.orig"
	refused 'linux.sysctl["vm.swappiness"]: not in a namespace' "c['linux']['sysctl'] = {'vm.swappiness': '10'}"
	if runc_here; then
		spec "c['linux']['sysctl'] = {'vm.swappiness': '10'}"
		run -1 runc --root "$RUNC_ROOT" run --bundle "$T/bundle" "$CT_ID"
		[[ "$output" == *'vm.swappiness\" is not in a separate kernel namespace'* ]]
		cp "$T/config.json.orig" "$T/bundle/config.json"
	fi
	refused 'linux.sysctl["net.ipv4.ip_forward"]: needs' "c['linux']['namespaces'] = [n for n in c['linux']['namespaces'] if n['type'] != 'network']"
	refused 'linux.rootfsPropagation: unknown' "c['linux']['rootfsPropagation'] = 'sideways'"
}

@test "oci spec: linux.devices nodes with their mode and owner, as runc makes them; in a user namespace the host's are bound" {
	args 'stat -c "%t,%T %a %u %g %F" /dev/mynull /dev/sub/fifo'
	spec "c['linux']['devices'] = [{'path': '/dev/mynull', 'type': 'c', 'major': 1, 'minor': 3, 'fileMode': 0o620, 'uid': 5, 'gid': 6}, {'path': '/dev/sub/fifo', 'type': 'p'}]"
	local rt
	for rt in $(runtimes); do
		rt "$rt"
		run "${R[@]}" run --bundle "$T/bundle" "$CT_ID"
		echo "$rt: $output"
		[ "$status" = 0 ]
		[ "$output" = "1,3 620 5 6 character special file
0,0 666 0 0 fifo" ]
	done
	# A user namespace cannot mknod a device: the host's node is bound.
	args 'stat -c "%t,%T %F" /dev/kmsg /dev/sub/fifo'
	spec "c['linux']['devices'] = [{'path': '/dev/kmsg', 'type': 'c', 'major': 1, 'minor': 11}, {'path': '/dev/sub/fifo', 'type': 'p'}]"
	spec "c['linux']['namespaces'].append({'type': 'user'}); c['linux']['uidMappings'] = c['linux']['gidMappings'] = [{'containerID': 0, 'hostID': 100000, 'size': 65536}]"
	# (No cgroup mount: as ember oci spec --rootless writes it.)
	spec "c['mounts'] = [m for m in c['mounts'] if m['destination'] != '/sys/fs/cgroup']"
	run oci run --bundle "$T/bundle" "$CT_ID"
	echo "$output"
	[ "$status" = 0 ]
	[ "$output" = "1,b character special file
0,0 fifo" ]
	cp "$T/bundle/config.json" "$T/config.json.orig"
	refused 'linux.devices[0]: type "x"' "c['linux']['devices'][0]['type'] = 'x'"
	refused 'linux.devices[0]: a character device needs major' "c['linux']['devices'][0].pop('minor')"
	refused 'linux.devices[1]: fileMode' "c['linux']['devices'][1]['fileMode'] = 0o10000"
}

@test "oci spec: the fields ember does not do are refused naming the field, with nothing left behind" {
	args 'true'
	cp "$T/bundle/config.json" "$T/config.json.orig"
	refused 'linux.intelRdt: not supported' "c['linux']['intelRdt'] = {'closID': 'x'}"
	refused 'linux.memoryPolicy: not supported' "c['linux']['memoryPolicy'] = {'mode': 'MPOL_BIND', 'nodes': '0'}"
	refused 'linux.netDevices: not supported' "c['linux']['netDevices'] = {'eth9': {}}"
	refused 'process.scheduler: not supported' "c['process']['scheduler'] = {'policy': 'SCHED_IDLE'}"
	refused 'process.execCPUAffinity: not supported' "c['process']['execCPUAffinity'] = {'initial': '0'}"
	refused 'process.apparmorProfile: ember applies no AppArmor' "c['process']['apparmorProfile'] = 'docker-default'"
	refused 'process.selinuxLabel: ember sets no SELinux' "c['process']['selinuxLabel'] = 'system_u:system_r:container_t:s0'"
	refused 'linux.mountLabel: ember sets no SELinux' "c['linux']['mountLabel'] = 'system_u:object_r:container_file_t:s0'"
	refused 'linux.seccomp.listenerPath: ember runs no seccomp agent' "c['linux']['seccomp'] = {'defaultAction': 'SCMP_ACT_ALLOW', 'listenerPath': '/run/agent.sock'}"
	refused 'linux.personality.flags: "ADDR_NO_RANDOMIZE"' "c['linux']['personality'] = {'domain': 'LINUX', 'flags': ['ADDR_NO_RANDOMIZE']}"
	refused 'linux.personality.domain: unknown' "c['linux']['personality'] = {'domain': 'SVR4'}"
	refused 'mounts[0].options: "tmpcopyup"' "c['mounts'][0]['options'] = ['tmpcopyup']"
	refused 'mounts[0].options: "mode=755": a bind mount takes no' "c['mounts'][0] = {'destination': '/mnt', 'type': 'bind', 'source': '/tmp', 'options': ['rbind', 'mode=755']}"
	refused 'mounts[0].options: "sync"' "c['mounts'][0] = {'destination': '/mnt', 'type': 'bind', 'source': '/tmp', 'options': ['rbind', 'sync']}"
}
