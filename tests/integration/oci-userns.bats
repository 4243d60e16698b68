#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# `ember oci` with user namespaces and namespaces given by path: a user
# namespace joined by path (one a held `unshare -U` made), a new user
# namespace with a network namespace joined by path (`ip netns add`), and
# a pid namespace joined by path; each on a busybox bundle under ember and
# under runc, the reference (runc 1.1.5 wants a joined namespace's maps in
# the spec too: the bundles give them, ember takes them or none, as runc
# 1.2 does). And what cannot work, refused in one line with nothing left
# behind.

bats_require_minimum_version 1.5.0
load lib/oci

MAPS="[{'containerID': 0, 'hostID': 100000, 'size': 65536}]"

# lib/oci's teardown, and the network namespace a test made.
teardown() {
	oci_teardown
	if [ -n "${NETNS:-}" ]; then
		ip netns del "$NETNS" 2>/dev/null || true
	fi
}

# User namespaces are refused to a chrooted process.
require_userns() {
	[[ " $("$EMBER" version | sed -n 's/^features: //p') " == *" userns "* ]] ||
		skip "this ember has no user namespaces"
	if in_chroot; then skip "user namespaces are refused in a chroot"; fi
	return 0
}

# runs_as_runc WANT: the bundle run under runc and under ember, each
# exiting 0 with WANT as its output.
runs_as_runc() {
	local rt
	for rt in $(runtimes_runc); do
		rt "$rt"
		run "${R[@]}" run --bundle "$T/bundle" "$CT_ID"
		echo "$rt: $output"
		[ "$status" = 0 ]
		[ "$output" = "$1" ]
	done
}

# args SHELL-COMMAND: the process, without a terminal. No cgroup mount:
# in a user namespace the kernel mounts no cgroup v1 hierarchy (as ember
# oci spec --rootless writes it).
args() {
	spec "c['process']['terminal'] = False; c['process']['args'] = ['sh', '-c', sys.argv[3]]; c['mounts'] = [m for m in c['mounts'] if m['destination'] != '/sys/fs/cgroup']" "$1"
}

holder_unshared() {
	[ "$(readlink "/proc/$HOLDER/ns/user")" != "$(readlink /proc/self/ns/user)" ]
}

# hold_userns: HOLDER, a process in a user namespace of its own mapping
# 0 to host 100000 (65536 ids), its maps written from here (util-linux's
# --map-users needs newuidmap).
hold_userns() {
	unshare -U sleep 1000 </dev/null >/dev/null 2>&1 &
	HOLDER=$!
	bg_track "$HOLDER"
	wait_until 5 holder_unshared
	echo '0 100000 65536' >"/proc/$HOLDER/uid_map"
	echo '0 100000 65536' >"/proc/$HOLDER/gid_map"
}

# reachable: the bundle's rootfs given to the namespace's root (host uid
# 100000), as runc needs it (it binds the rootfs from inside; ember's
# parent takes it before) and both make its mount points. The test's
# directories are 0700.
reachable() {
	local d=$T/bundle/rootfs
	chown -R 100000:100000 "$d"
	while [ "$d" != / ] && [ "$d" != /tmp ]; do
		chmod o+x "$d"
		d=$(dirname "$d")
	done
}

# refused TEXT: ember oci run fails in one line holding TEXT, with no
# state, cgroup or mount left behind.
refused() {
	local before
	before=$(grep -c "$T" /proc/self/mountinfo || true)
	run -1 oci run --bundle "$T/bundle" "$CT_ID"
	echo "$output"
	[ "${#lines[@]}" = 1 ]
	[[ "$output" == "ember oci: "*"$1"* ]]
	[ -z "$(ls -A "$OCI_ROOT" 2>/dev/null)" ]
	[ -z "$(find /sys/fs/cgroup -maxdepth 3 -path "*ember-oci/$CT_ID" 2>/dev/null)" ]
	[ "$(grep -c "$T" /proc/self/mountinfo || true)" = "$before" ]
}

@test "oci userns: a user namespace joined by path is the container's (its maps, its inode, root inside, PID 1 of a new pid namespace), as runc's; and an exec's" {
	require_userns
	hold_userns
	local want_map want_ns
	want_map=$(cat "/proc/$HOLDER/uid_map")
	want_ns=$(readlink "/proc/$HOLDER/ns/user")
	args 'id -u; cat /proc/self/uid_map; readlink /proc/self/ns/user; echo $$'
	spec "c['linux']['namespaces'].append({'type': 'user', 'path': sys.argv[3]}); c['linux']['uidMappings'] = c['linux']['gidMappings'] = $MAPS" "/proc/$HOLDER/ns/user"
	reachable
	runs_as_runc "0
$want_map
$want_ns
1"
	# Without the maps (runc 1.2 takes it so too), and an exec joins it.
	spec "c['linux'].pop('uidMappings'); c['linux'].pop('gidMappings'); c['process']['args'] = ['sleep', '100']"
	oci run -d --bundle "$T/bundle" "$CT_ID" </dev/null >/dev/null 2>&1
	run -0 oci exec "$CT_ID" sh -c 'id -u; cat /proc/self/uid_map; readlink /proc/self/ns/user'
	[ "$output" = "0
$want_map
$want_ns" ]
	[ "$(readlink "/proc/$(oci state "$CT_ID" | jget 'j["pid"]')/ns/user")" = "$want_ns" ]
	oci delete --force "$CT_ID"
	# The holder's namespace outlives the container.
	[ "$(readlink "/proc/$HOLDER/ns/user")" = "$want_ns" ]
}

@test "oci userns: a new user namespace with a network namespace joined by path sees that network, as runc's; its /sys too" {
	require_userns
	NETNS=e$CT_ID
	ip netns add "$NETNS"
	ip -n "$NETNS" link add emb0 type veth peer name emb1
	local want_ns
	want_ns="net:[$(stat -L -c %i "/run/netns/$NETNS")]"
	args 'id -u; cat /proc/self/uid_map; readlink /proc/self/ns/net; ip -o link | cut -d: -f2 | tr -d " " | sed "s/@.*//" | sort | tr "\n" " "'
	spec "c['linux']['namespaces'] = [n for n in c['linux']['namespaces'] if n['type'] != 'network'] + [{'type': 'user'}, {'type': 'network', 'path': sys.argv[3]}]; c['linux']['uidMappings'] = c['linux']['gidMappings'] = $MAPS" "/run/netns/$NETNS"
	cp "$T/bundle/config.json" "$T/config.json.sys"
	# (runc 1.1.5 cannot mount sysfs there: without it for the comparison.)
	spec "c['mounts'] = [m for m in c['mounts'] if m['type'] != 'sysfs']"
	reachable
	runs_as_runc "0
         0     100000      65536
$want_ns
emb0 emb1 lo "
	# ember's /sys is that network's (made before it joins the user
	# namespace), not the host's.
	cp "$T/config.json.sys" "$T/bundle/config.json"
	args 'ls /sys/class/net | tr "\n" " "'
	run -0 oci run --bundle "$T/bundle" "$CT_ID"
	[ "$output" = "emb0 emb1 lo " ]
	# An exec joins them both.
	args 'sleep 100'
	oci run -d --bundle "$T/bundle" "$CT_ID" </dev/null >/dev/null 2>&1
	run -0 oci exec "$CT_ID" sh -c 'id -u; readlink /proc/self/ns/net; ip link show emb1 >/dev/null && echo has-emb1'
	[ "$output" = "0
$want_ns
has-emb1" ]
	oci delete --force "$CT_ID"
}

@test "oci userns: a pid namespace joined by path holds PID 1, as runc's" {
	# (The sleep is the namespace's init: TERM does not reach it, and it
	# dies with unshare, SIGKILL, only by --kill-child.)
	unshare --pid --fork --kill-child sleep 1000 </dev/null >/dev/null 2>&1 &
	local unshare=$! holder=""
	bg_track "$unshare"
	wait_until 5 pgrep -P "$unshare" sleep
	holder=$(pgrep -P "$unshare" sleep)
	[ -n "$holder" ]
	bg_track "$holder"
	args 'readlink /proc/$$/ns/pid; [ $$ -gt 1 ] && echo not-pid-1'
	spec "c['linux']['namespaces'] = [n for n in c['linux']['namespaces'] if n['type'] != 'pid'] + [{'type': 'pid', 'path': sys.argv[3]}]" "/proc/$holder/ns/pid"
	runs_as_runc "$(readlink "/proc/$holder/ns/pid")
not-pid-1"
}

@test "oci userns: what cannot be joined is refused in one line, nothing left behind" {
	require_userns
	hold_userns
	args 'true'
	cp "$T/bundle/config.json" "$T/config.json.orig"
	# Maps that are not the joined namespace's (runc 1.2 refuses them too).
	spec "c['linux']['namespaces'].append({'type': 'user', 'path': sys.argv[3]}); c['linux']['uidMappings'] = c['linux']['gidMappings'] = [{'containerID': 0, 'hostID': 200000, 'size': 65536}]" "/proc/$HOLDER/ns/user"
	refused "spec: linux.uidMappings, linux.gidMappings: not those of the user namespace at \"/proc/$HOLDER/ns/user\""
	spec "c['linux'].pop('gidMappings')"
	refused 'spec: linux.namespaces: a user namespace joined by path takes both maps (its own) or neither'
	# ember's own (setns refuses the namespace one is in), and not a user
	# namespace at all.
	cp "$T/config.json.orig" "$T/bundle/config.json"
	spec "c['linux']['namespaces'].append({'type': 'user', 'path': '/proc/self/ns/user'})"
	refused 'namespace user: "/proc/self/ns/user" is ember'"'"'s own (leave the user namespace out)'
	cp "$T/config.json.orig" "$T/bundle/config.json"
	spec "c['linux']['namespaces'].append({'type': 'user', 'path': '/proc/self/ns/net'})"
	refused 'namespace user: "/proc/self/ns/net" is not a user namespace'
}
