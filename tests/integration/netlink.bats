#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# src/net's netlink operations on real kernel objects, through
# tests/net/ember-nettest, for both netlink builds: the static program on
# mnl-lite and the development one on Debian's libmnl (`make net-tests`
# and `make FLAVOUR=dev O=build/dev net-tests`; `make check` builds both).
# Everything happens in network namespaces each test makes and deletes
# (emnl-<pid>-<test>-a/b/c); `ip` and busybox's ping are the oracles.

bats_require_minimum_version 1.5.0
load helpers

# The two builds: beside the ember under test, or as the environment says.
LITE=${EMBER_NETTEST_LITE:-$(dirname "$EMBER")/tests/net/ember-nettest}
LIBMNL=${EMBER_NETTEST_LIBMNL:-$(dirname "$EMBER")/dev/tests/net/ember-nettest}

setup() {
	[ "$(id -u)" = 0 ] || skip "network namespaces need root"
	P=emnl-$$-$BATS_TEST_NUMBER
	A=$P-a B=$P-b C=$P-c
	ip netns add "$A"
	ip netns add "$B"
}

teardown() {
	local n p
	exec 5>&- 2>/dev/null || true
	for p in ${PIDS:-}; do
		kill "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	for n in "$A" "$B" "$C"; do
		[ -e "/run/netns/$n" ] && ip netns del "$n"
	done
	# Nothing of ours is left in any namespace list.
	! ip netns list | grep -q "^$P-" || false
}

# Namespaces are entered with nsenter --net, not `ip netns exec`: that one
# also makes a mount namespace and fails where / is no mount point (a
# chroot, as on a fresh CI machine).
# nt BIN [--in NS] ARGS: the program inside namespace A.
nt() {
	local bin=$1
	shift
	nsenter --net="/run/netns/$A" "$bin" "$@"
}

# An `ip link show` output whose flags have UP (a port whose peer is down
# shows "<NO-CARRIER,BROADCAST,MULTICAST,UP>").
up() {
	[[ "$1" =~ \<([A-Z_-]+,)*UP[,\>] ]]
}

need() {
	if [ ! -x "$1" ]; then
		echo "missing $1: build it (make net-tests; make FLAVOUR=dev O=build/dev net-tests)" >&2
		return 1
	fi
}

# ---- one body per behaviour, run for each build below ----

pair_and_ping() {
	local bin=$1
	need "$bin"
	nt "$bin" bridge em0 --mtu 1400
	nt "$bin" addr em0 10.89.0.1/24
	run -0 nt "$bin" attach em0 ve0 "/run/netns/$B" 10.89.0.0/24 --mtu 1400
	[ "$output" = 10.89.0.2 ]

	run -0 ipn "$A" -d link show em0
	[[ "$output" == *"mtu 1400"* && "$output" == *"bridge forward_delay"* && "$output" == *",UP,"* ]]
	run -0 ipn "$A" -d link show ve0
	[[ "$output" == *"mtu 1400"* && "$output" == *"master em0"* && "$output" == *"link-netns $B"* ]]
	[[ "$output" == *$'\n    veth'* && "$output" == *",UP,"* ]]
	# The peer was made in B: it never was in A.
	run ! ipn "$A" link show eth0
	run -0 ipn "$B" -d link show eth0
	[[ "$output" == *"mtu 1400"* && "$output" == *"link-netns $A"* && "$output" == *",UP,"* ]]
	run -0 ipn "$B" -4 -o addr show dev eth0
	[[ "$output" == *"inet 10.89.0.2/24 "* ]]
	run -0 ipn "$B" route show default
	[ "$output" = "default via 10.89.0.1 dev eth0 proto static " ]

	nsenter --net="/run/netns/$B" busybox ping -c 1 -W 2 10.89.0.1
	nsenter --net="/run/netns/$A" busybox ping -c 1 -W 2 10.89.0.2

	# get and dump say what ip says.
	local br
	br=$(ipn "$A" -o link show em0 | cut -d: -f1)
	run -0 nt "$bin" get ve0
	[ "$output" = "$(ipn "$A" -o link show ve0 | cut -d: -f1) ve0 veth 1400 $br up" ]
	run -0 nt "$bin" get "#$br"
	[ "$output" = "$br em0 bridge 1400 0 up" ]
	run -0 nt "$bin" dump
	[ "${lines[0]}" = "1 lo - 65536 0 down" ]
	[ "${#lines[@]}" -eq 3 ]

	# Deleting the host end takes the peer with it.
	nt "$bin" del ve0
	run ! ipn "$A" link show ve0
	run ! ipn "$B" link show eth0
	nt "$bin" del em0
	run -0 ipn "$A" -o link show
	[ "${#lines[@]}" -eq 1 ]
}

single_operations() {
	local bin=$1
	need "$bin"
	nt "$bin" bridge em1
	# The peer by namespace path, managed afterwards from inside B (--in).
	nt "$bin" veth x0 y0 --peer-netns "/run/netns/$B" --master em1 --mtu 1300 --up
	run -0 ipn "$A" -d link show x0
	[[ "$output" == *"mtu 1300"* && "$output" == *"master em1"* ]]
	up "$output"
	run -0 ipn "$B" link show y0
	[[ "$output" == *"mtu 1300"* ]]
	! up "$output" || false

	nt "$bin" --in "/run/netns/$B" set y0 --up --mtu 1280
	nt "$bin" --in "/run/netns/$B" addr y0 10.77.0.5/16
	nt "$bin" --in "/run/netns/$B" addr y0 fd00:77::5/64
	nt "$bin" --in "/run/netns/$B" route y0 10.77.0.1
	run -0 ipn "$B" -o addr show dev y0
	[[ "$output" == *"inet 10.77.0.5/16 "* && "$output" == *"inet6 fd00:77::5/64 "* ]]
	# IFA_F_NODAD: usable at once, never "tentative".
	[[ "$output" != *"fd00:77::5/64 scope global tentative"* ]]
	run -0 ipn "$B" link show y0
	[[ "$output" == *"mtu 1280"* ]]
	up "$output"
	run -0 ipn "$B" route show default
	[ "$output" = "default via 10.77.0.1 dev y0 proto static " ]

	# An IPv6 default route too.
	nt "$bin" --in "/run/netns/$B" route y0 fd00:77::1
	run -0 ipn "$B" -6 route show default
	[[ "$output" == "default via fd00:77::1 dev y0 proto static "* ]]

	nt "$bin" set x0 --nomaster --down
	run -0 ipn "$A" link show x0
	[[ "$output" != *master* ]]
	! up "$output" || false
	nt "$bin" set x0 --master em1
	run -0 ipn "$A" link show x0
	[[ "$output" == *"master em1"* ]]

	# A rename of the link (down: kernels before 6.x refuse one that is
	# up), which keeps its master, then up again under the new name.
	nt "$bin" set x0 --rename x1
	run -1 ipn "$A" link show x0
	run -0 ipn "$A" link show x1
	[[ "$output" == *"master em1"* ]]
	nt "$bin" set x1 --up
	run -0 ipn "$A" link show x1
	up "$output"
	# ... and the old name is gone for good: renaming it fails, naming it.
	run -1 nt "$bin" set x0 --rename x2
	[[ "$output" == *'"x0"'* ]]
	nt "$bin" set x1 --down
	nt "$bin" set x1 --rename x0
}

errors() {
	local bin=$1
	need "$bin"
	nt "$bin" bridge em0
	run -1 nt "$bin" bridge em0
	[ "$output" = 'network: create bridge "em0": File exists' ]
	run -1 nt "$bin" bridge a-name-too-long-for-linux
	[ "$output" = 'network: create bridge "a-name-too-long-for-linux": a name has at most 15 characters' ]

	# A descriptor that is not open, and one that is no network
	# namespace: one line each, and no veth half made.
	run -1 nt "$bin" veth x1 y1 --peer-fd 99
	[ "$output" = 'network: create veth "x1" (peer "y1"): Bad file descriptor' ]
	run -1 nt "$bin" veth x1 y1 --peer-netns /dev/null
	[ "$output" = 'network: create veth "x1" (peer "y1"): Invalid argument' ]
	run ! ipn "$A" link show x1
	run ! ipn "$A" link show y1
	run -1 nt "$bin" --in /dev/null dump
	[[ "$output" == 'network: enter the network namespace of fd '[0-9]*': Invalid argument' ]]

	# The kernel's own words (extended ACK) when it gives some.
	nt "$bin" veth x2 y2 --peer-netns "/run/netns/$B"
	run -1 nt "$bin" set x2 --mtu 100000
	[[ "$output" == 'network: change link "x2": Invalid argument (kernel: '*')' ]]
	run -1 nt "$bin" route x2 10.50.0.1
	# (glibc: "Network is unreachable", musl: "Network unreachable")
	[[ "$output" == 'network: add default route via 10.50.0.1 on "x2": Network '*'unreachable'* ]]
	run -1 nt "$bin" del nope0
	[ "$output" = 'network: delete link "nope0": No such device' ]
	run -1 nt "$bin" get nope0
	[ "$output" = 'network: find link "nope0": No such device' ]
	run -1 nt "$bin" get '#4242'
	[ "$output" = 'network: find link 4242: No such device' ]

	# net_attach is all or nothing: C has a default route already, so the
	# last step fails, and the pair is gone again on both sides.
	ip netns add "$C"
	ipn "$C" link add d0 type veth peer name d1
	ipn "$C" link set d0 up
	ipn "$C" link set d1 up
	ipn "$C" addr add 10.99.0.1/24 dev d0
	ipn "$C" route add default via 10.99.0.2
	nt "$bin" addr em0 10.89.0.1/24
	run -1 nt "$bin" attach em0 ve2 "/run/netns/$C" 10.89.0.0/24
	[ "$output" = 'network: add default route via 10.89.0.1 on "eth0": File exists' ]
	run ! ipn "$A" link show ve2
	run ! ipn "$C" link show eth0
}

dump_many() {
	local bin=$1 i
	need "$bin"
	# 80 pairs: the dump spans several datagrams.
	for i in $(seq 1 80); do
		nt "$bin" veth "h$i" "p$i" --peer-netns "/run/netns/$B"
	done
	run -0 nt "$bin" dump
	[ "${#lines[@]}" -eq 81 ]
	diff <(printf '%s\n' "${lines[@]}" | awk '{print $1, $2}') \
		<(ipn "$A" -o link show | sed 's/^\([0-9]*\): \([^:@]*\)[:@].*/\1 \2/')
	run -0 nt "$bin" --in "/run/netns/$B" dump
	[ "${#lines[@]}" -eq 81 ]
	[ "${lines[80]}" = "$(ipn "$B" -o link show p80 | cut -d: -f1) p80 veth 1500 0 down" ]
}

bench() {
	local bin=$1
	need "$bin"
	run -0 nt "$bin" bench 100 "/run/netns/$B" 10.90.0.0/24
	[ "${lines[0]}" = "runs 100" ]
	[[ "${lines[1]}" =~ ^bridge\+veth\+addr\+route\ median_us\ [0-9]+\  ]]
	[[ "${lines[2]}" =~ ^veth\+addr\+route\ median_us\ [0-9]+\  ]]
	echo "# $($bin impl): ${lines[1]}; ${lines[2]}" >&3
	# Each run deleted what it made.
	run -0 ipn "$A" -o link show
	[ "${#lines[@]}" -eq 1 ]
	run -0 ipn "$B" -o link show
	[ "${#lines[@]}" -eq 1 ]
}

# listen NS PORT OUT: a one-shot TCP server in NS writing what it gets to
# OUT, listening once this returns.
listen() {
	local i
	nsenter --net="/run/netns/$1" busybox nc -l -p "$2" >"$3" &
	PIDS="${PIDS:-} $!"
	for i in $(seq 1 50); do
		nsenter --net="/run/netns/$1" ss -ltn | grep -q ":$2 " && return 0
		sleep 0.1
	done
	echo "nothing listens on $1:$2" >&2
	return 1
}

# got FILE TEXT: what a listener wrote is TEXT, once it has written it (the
# sender's nc may end before the listener's is scheduled: on a loaded
# machine, right after send, the file can still be empty).
got() {
	local i
	for i in $(seq 1 50); do
		[ "$(cat "$1")" = "$2" ] && return 0
		sleep 0.1
	done
	echo "$1 holds \"$(cat "$1")\", not \"$2\"" >&2
	return 1
}

# send NS ADDRESS PORT TEXT: one TCP connection, 2 s at most.
send() {
	echo "$4" | timeout 5 nsenter --net="/run/netns/$1" busybox nc -w 2 "$2" "$3"
}

nat() {
	local bin=$1 T=$BATS_TEST_TMPDIR i
	need "$bin"
	ip netns add "$C"
	# A is the host: the bridge and the container B on it, and a link
	# to C, the outside, which has no route back to the bridge's subnet.
	nt "$bin" bridge em0
	nt "$bin" addr em0 10.89.0.1/24
	nt "$bin" attach em0 ve0 "/run/netns/$B" 10.89.0.0/24
	ipn "$A" link add up0 type veth peer name out0 netns "$C"
	ipn "$A" addr add 192.0.2.1/24 dev up0
	ipn "$A" link set up0 up
	ipn "$C" addr add 192.0.2.2/24 dev out0
	ipn "$C" link set out0 up
	ipn "$C" link set lo up
	nsenter --net="/run/netns/$A" sysctl -qw net.ipv4.ip_forward=1

	# Without NAT the outside cannot answer the container.
	listen "$C" 9000 "$T/c0"
	run ! send "$B" 192.0.2.2 9000 lost
	run ! send "$C" 192.0.2.1 8080 lost

	# The table, held by the program's socket (its owner) until fd 5 closes.
	mkfifo "$T/hold"
	nt "$bin" nat ember --subnet 10.89.0.0/24 --bridge em0 --publish tcp:8080:10.89.0.2:80 \
		<"$T/hold" >"$T/nat.out" 2>&1 &
	PIDS="${PIDS:-} $!"
	exec 5>"$T/hold"
	for i in $(seq 1 50); do grep -q ready "$T/nat.out" && break; sleep 0.1; done
	grep -qx ready "$T/nat.out"
	run -0 nsenter --net="/run/netns/$A" nft list table inet ember
	[[ "$output" == *"flags owner"* ]]
	[[ "$output" == *'ip saddr 10.89.0.0/24 oifname != "em0" masquerade'* ]]
	[ "$(grep -c 'fib daddr type local tcp dport 8080 dnat ip to 10.89.0.2:80' <<<"$output")" -eq 2 ]

	# Masquerade: the container reaches the outside.
	listen "$C" 9001 "$T/c1"
	send "$B" 192.0.2.2 9001 masqueraded
	got "$T/c1" masqueraded
	# The published port, from the outside and from the host itself.
	listen "$B" 80 "$T/b1"
	send "$C" 192.0.2.1 8080 from-outside
	got "$T/b1" from-outside
	listen "$B" 80 "$T/b2"
	send "$A" 192.0.2.1 8080 from-host
	got "$T/b2" from-host

	# Written again: the same rules, once (the whole table is replaced).
	echo add >&5
	for i in $(seq 1 50); do [ "$(grep -c ready "$T/nat.out")" -eq 2 ] && break; sleep 0.1; done
	run -0 nsenter --net="/run/netns/$A" nft list table inet ember
	[ "$(grep -c 'dnat ip to 10.89.0.2:80' <<<"$output")" -eq 2 ]
	[ "$(grep -c 'oifname != "em0" masquerade' <<<"$output")" -eq 1 ]
	[ "$(grep -c 'oifname "em0" ct status dnat masquerade' <<<"$output")" -eq 1 ]

	# Owned: another program can neither flush nor delete it.
	nsenter --net="/run/netns/$A" nft flush ruleset 2>/dev/null || true
	run -0 nsenter --net="/run/netns/$A" nft list tables
	[ "$output" = "table inet ember" ]
	run -1 nt "$bin" nat-del ember
	[[ "$output" == 'network: nf_tables table "ember": '*'Operation not permitted'* ]]

	# Deleted by its owner in one batch: no rule works any more.
	echo del >&5
	for i in $(seq 1 50); do grep -q deleted "$T/nat.out" && break; sleep 0.1; done
	grep -qx deleted "$T/nat.out"
	run -0 nsenter --net="/run/netns/$A" nft list tables
	[ -z "$output" ]
	run ! send "$C" 192.0.2.1 8080 lost

	# Made again, then the owner's socket closes: the table goes with it.
	echo add >&5
	for i in $(seq 1 50); do [ "$(grep -c ready "$T/nat.out")" -eq 3 ] && break; sleep 0.1; done
	run -0 nsenter --net="/run/netns/$A" nft list tables
	[ "$output" = "table inet ember" ]
	exec 5>&-
	for i in $(seq 1 50); do [ -z "$(nsenter --net="/run/netns/$A" nft list tables)" ] && break; sleep 0.1; done
	run -0 nsenter --net="/run/netns/$A" nft list tables
	[ -z "$output" ]
}

# ---- the tests ----

@test "netlink: the two builds are mnl-lite (static) and libmnl (dynamic)" {
	need "$LITE"
	need "$LIBMNL"
	[ "$("$LITE" impl)" = mnl-lite ]
	[ "$("$LIBMNL" impl)" = libmnl ]
	run -0 file "$LITE"
	[[ "$output" == *"statically linked"* ]]
	nm "$LITE" | grep -qw mnl_cb_run2
	run -0 ldd "$LIBMNL"
	[[ "$output" == *"libmnl.so"* ]]
	# The libmnl build has no mnl-lite inside.
	run -0 nm "$LIBMNL"
	[[ "$output" != *" T mnl_cb_run2"* ]]
}

@test "netlink: bridge, veth into a second netns, address, route, ping across (mnl-lite)" {
	pair_and_ping "$LITE"
}

@test "netlink: bridge, veth into a second netns, address, route, ping across (libmnl)" {
	pair_and_ping "$LIBMNL"
}

@test "netlink: set, IPv4 and IPv6 addresses and routes, from inside the peer's netns (mnl-lite)" {
	single_operations "$LITE"
}

@test "netlink: set, IPv4 and IPv6 addresses and routes, from inside the peer's netns (libmnl)" {
	single_operations "$LIBMNL"
}

@test "netlink: errors name the object and the kernel's reason, nothing half made (mnl-lite)" {
	errors "$LITE"
}

@test "netlink: errors name the object and the kernel's reason, nothing half made (libmnl)" {
	errors "$LIBMNL"
}

@test "netlink: a dump of many datagrams lists every link as ip does (mnl-lite)" {
	dump_many "$LITE"
}

@test "netlink: a dump of many datagrams lists every link as ip does (libmnl)" {
	dump_many "$LIBMNL"
}

@test "netlink: bridge+veth+addr+route timed, everything deleted after (mnl-lite)" {
	bench "$LITE"
}

@test "netlink: bridge+veth+addr+route timed, everything deleted after (libmnl)" {
	bench "$LIBMNL"
}

@test "netlink: nf_tables masquerade and a published port, one owned table, real traffic (mnl-lite)" {
	nat "$LITE"
}

@test "netlink: nf_tables masquerade and a published port, one owned table, real traffic (libmnl)" {
	nat "$LIBMNL"
}
