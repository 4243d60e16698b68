#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# Container networking: networks and their records, leases, --net bridge
# (veth, eth0, hosts/hostname/resolv.conf), NAT to "the outside" and
# published ports, and what a crash leaves. The daemon of each test runs in
# a network namespace the test makes (emb-<pid>-<n>), with an "outside"
# namespace linked to it by a veth pair when a test needs one: bridges,
# veths, routes, ip_forward and nf_tables tables never touch the host's.

bats_require_minimum_version 1.5.0
load helpers
load lib/image
load lib/registry
load lib/remote
load lib/unpack
load lib/tasks

setup() {
	[ "$(id -u)" = 0 ] || skip "network namespaces need root"
	setup_dirs
	P=emb-$$-$BATS_TEST_NUMBER
	NS=$P-d OUT=$P-o
	require_runtime
	[[ " $("$EMBER" version | sed -n 's/^features: //p') " == *" net "* ]] || skip "this ember has no CONFIG_NET"
	ip netns add "$NS"
	ipn "$NS" link set lo up
}

teardown() {
	local n
	kill_bg
	stop_daemon || true
	tasks_teardown
	for n in "$NS" "$OUT"; do
		[ -n "$n" ] && [ -e "/run/netns/$n" ] && ip netns del "$n"
	done
	! ip netns list | grep -q "^$P-" || false
}

# The daemon inside $NS (only its network namespace: nsenter keeps the
# mounts and cgroups that `ip netns exec` would replace; that one also fails
# where / is no mount point, as in a chroot).
net_daemon() {
	[ -n "${DAEMON_CONFIG:-}" ] || { DAEMON_CONFIG=$T/empty.toml; : >"$DAEMON_CONFIG"; }
	nsenter --net="/run/netns/$NS" "$EMBER" daemon --config "$DAEMON_CONFIG" --root "$ROOT" --state "$STATE" \
		--address "$SOCK" >>"$DAEMON_LOG" 2>&1 &
	DAEMON_PID=$!
	wait_for_daemon
}

# busybox imported into a fresh daemon in $NS; sets REF.
net_up() {
	net_daemon
	image_busybox "$T/bb"
	tar -C "$T/bb" -cf "$T/bb.tar" .
	run -0 e images import --base-name example.com/bb "$T/bb.tar"
	REF=example.com/bb:latest
}

# in_ns CMD...: a command in the daemon's namespace.
in_ns() {
	nsenter --net="/run/netns/$NS" "$@"
}

# outside: namespace $OUT linked to the daemon's: 192.0.2.1 (the daemon's
# side, its default route's way) and 192.0.2.2 (outside).
outside() {
	ip netns add "$OUT"
	ipn "$OUT" link set lo up
	ip link add "$P-a" netns "$NS" type veth peer name "$P-b" netns "$OUT"
	ipn "$NS" addr add 192.0.2.1/24 dev "$P-a"
	ipn "$NS" link set "$P-a" up
	ipn "$OUT" addr add 192.0.2.2/24 dev "$P-b"
	ipn "$OUT" link set "$P-b" up
	ipn "$NS" route add default via 192.0.2.2
}

# The address a container holds, from its record.
addr_of() {
	e --json containers info "$1" | "$PYTHON" -c 'import json,sys; print(json.load(sys.stdin)["network"]["address"])'
}

# No container's veth is left in the daemon's namespace.
no_veths() {
	[ -z "$(in_ns ip -o link show | grep ' em[0-9a-f]\{10\}@')" ]
}

leases() {
	find "$ROOT/net/leases" -type f | sort
}

@test "network: create, ls, inspect, rm; bad input is one line and leaves nothing" {
	net_daemon
	run -0 e namespaces create probe
	start_events "$T/events" 'e namespaces label probe n=$i'
	run -0 e network ls -q
	[ -z "$output" ]
	run -0 e network create --subnet 10.77.1.0/24 blue
	[ "$output" = "blue: 10.77.1.0/24 on em-blue, gateway 10.77.1.1" ]
	[ -f "$ROOT/net/networks/blue.json" ]
	run -0 e network create --gateway 10.77.2.254 --subnet 10.77.2.0/24 --mtu 1400 --internal \
		a-rather-long-network-name
	run -0 e --json network inspect a-rather-long-network-name
	[ "$(jget 'j["bridge"]' <<<"$output")" = em-a-rather-lon ]
	[ "$(jget 'j["gateway"]' <<<"$output")" = 10.77.2.254 ]
	[ "$(jget 'j["mtu"]' <<<"$output")" = 1400 ]
	[ "$(jget 'j["internal"]' <<<"$output")" = true ]
	run -0 e network create auto
	[[ "$output" == "auto: 10.213.0.0/24 on em-auto, gateway 10.213.0.1" ]]
	run -0 e network ls
	[[ "${lines[0]}" == NAME*BRIDGE*SUBNET*GATEWAY*CONTAINERS* ]]
	[ "${#lines[@]}" -eq 4 ]

	# One line each, and no record, no device.
	in_ns ip link add em-taken type bridge
	local bad
	for bad in "--subnet 10.77.1.128/25 x:overlaps network \"blue\"" \
		"--subnet 10.77.3.1/24 x:host bits are set" \
		"--subnet nonsense x:" \
		"--subnet 10.77.4.0/24 --gateway 10.77.5.1 x:" \
		"--subnet 10.77.6.0/24 taken:exists and is not ember's" \
		"blue:already exists"; do
		local args=${bad%%:*} want=${bad#*:}
		# shellcheck disable=SC2086
		run -1 e network create $args
		[ "${#lines[@]}" -eq 1 ]
		[[ "$output" == *"$want"* ]]
	done
	run -1 e network inspect nope
	[ "$output" = 'ember: network "nope" not found' ]
	run -0 e network ls -q
	[ "$output" = "$(printf 'a-rather-long-network-name\nauto\nblue')" ]
	run -0 in_ns ip -o link show
	[[ "$output" != *em-blue* && "$output" != *em-auto* ]]

	run -0 e network rm blue auto
	[ ! -e "$ROOT/net/networks/blue.json" ]
	run -1 e network rm blue
	[[ "$output" == *'network "blue" not found'* ]]
	wait_until 5 grep -q '/networks/delete.*"name":"auto"' "$T/events"
	grep -q '/networks/create.*"name":"blue".*"subnet":"10.77.1.0/24"' "$T/events"
	grep -q '/networks/delete.*"name":"blue"' "$T/events"
	[ "$(grep -c /networks/create "$T/events")" -eq 3 ]
	in_ns ip link del em-taken

	# The pool comes from config.toml; a bad one stops the start-up.
	kill_bg
	stop_daemon
	DAEMON_CONFIG=$T/pool.toml
	printf '[network]\nsubnet_pool = "10.88.1.0/16"\n' >"$DAEMON_CONFIG"
	run ! net_daemon
	grep -q 'subnet_pool "10.88.1.0/16": .*host bits are set' "$DAEMON_LOG"
	printf '[network]\nsubnet_pool = "10.88.0.0/16"\n' >"$DAEMON_CONFIG"
	net_daemon
	run -0 e network create pooled
	[ "$output" = "pooled: 10.88.0.0/24 on em-pooled, gateway 10.88.0.1" ]
}

@test "network: leases are taken at create, released at delete, reconciled at start-up" {
	net_up
	local a b; a=$(ct la) b=$(ct lb)
	run -0 e containers create --net bridge "$REF" "$a"
	run -0 e containers create --net bridge "$REF" "$b"
	[ "$(addr_of "$a")" = 10.213.0.2 ]
	[ "$(addr_of "$b")" = 10.213.0.3 ]
	[ "$(cat "$ROOT/net/leases/bridge/10.213.0.2")" = "default/$a" ]
	[ "$(leases | wc -l)" -eq 2 ]
	run -0 e --json network inspect bridge
	[ "$(jget 'j["bridge"]' <<<"$output")" = ember0 ]
	[ "$(jget 'sorted(c["id"] for c in j["containers"])' <<<"$output")" = "[\"$a\", \"$b\"]" ]
	run -1 e network rm bridge
	[[ "$output" == *'network "bridge" is used by 2 container(s)'* ]]
	run -0 e containers rm "$a"
	[ ! -e "$ROOT/net/leases/bridge/10.213.0.2" ]
	# The lowest free address is the next: a's.
	run -0 e containers create --net bridge "$REF" "$a"
	[ "$(addr_of "$a")" = 10.213.0.2 ]

	# What a crash leaves: a lease of no container (cut between lease
	# and record), a veth of no task. Both go at start-up; b's stays.
	# What a power cut leaves (lease files are not synced, the records
	# are): a's lease file gone, b's naming a container deleted before.
	# Both are restored from the records.
	stop_daemon
	echo -n "default/ghost" >"$ROOT/net/leases/bridge/10.213.0.9"
	rm "$ROOT/net/leases/bridge/10.213.0.2"
	echo -n "default/gone" >"$ROOT/net/leases/bridge/10.213.0.3"
	in_ns ip link add em0123456789 type veth peer name em0123456789p
	net_daemon
	[ ! -e "$ROOT/net/leases/bridge/10.213.0.9" ]
	[ "$(leases | wc -l)" -eq 2 ]
	[ "$(cat "$ROOT/net/leases/bridge/10.213.0.2")" = "default/$a" ]
	[ "$(cat "$ROOT/net/leases/bridge/10.213.0.3")" = "default/$b" ]
	run ! in_ns ip link show em0123456789
	grep -q 'lease 10.213.0.9 of no container removed' "$DAEMON_LOG"
	grep -q "lease 10.213.0.2 of container default/$a restored from its record" "$DAEMON_LOG"
	grep -q "lease 10.213.0.3 of container default/$b restored from its record" "$DAEMON_LOG"
	grep -q 'veth em0123456789 of no running container deleted' "$DAEMON_LOG"
	# The restored lease holds: the next container gets neither address.
	local c; c=$(ct lc)
	run -0 e containers create --net bridge "$REF" "$c"
	[ "$(addr_of "$c")" = 10.213.0.4 ]
	run -0 e containers rm "$c"
	run -0 e containers rm "$a" "$b"
	[ -z "$(leases)" ]
	run -0 e network rm bridge
}

@test "network: two containers on a bridge reach each other; hosts, hostname, resolv.conf, --add-host, --dns" {
	net_up
	local a b; a=$(ct pa) b=$(ct pb)
	run -0 e run -d --net bridge --add-host db.local:10.213.0.3 "$REF" "$a" sleep 60
	run -0 e run -d --net bridge --hostname bee --dns 192.0.2.53 "$REF" "$b" sleep 60
	run -0 e tasks exec "$a" busybox ip -o -4 addr show dev eth0
	[[ "$output" == *"inet 10.213.0.2/24"* ]]
	run -0 e tasks exec "$a" busybox ip route
	[[ "$output" == *"default via 10.213.0.1 dev eth0"* ]]
	run -0 e tasks exec "$a" busybox ping -c 1 -W 2 10.213.0.3
	run -0 e tasks exec "$b" busybox ping -c 1 -W 2 10.213.0.2
	run -0 e tasks exec "$a" busybox ping -c 1 -W 2 db.local
	run -0 e tasks exec "$b" busybox ping -c 1 -W 2 10.213.0.1
	# The host's ends: ember0 with the gateway, two veths on it.
	run -0 in_ns ip -o -4 addr show dev ember0
	[[ "$output" == *"inet 10.213.0.1/24"* ]]
	[ "$(in_ns ip -o link show master ember0 | grep -c ' em[0-9a-f]\{10\}@')" -eq 2 ]

	run -0 e tasks exec "$a" cat /etc/hosts
	[[ "$output" == *$'10.213.0.2\t'"$a"* && "$output" == *$'10.213.0.3\tdb.local'* && "$output" == *$'127.0.0.1\tlocalhost'* ]]
	run -0 e tasks exec "$b" cat /etc/hostname
	[ "$output" = bee ]
	run -0 e tasks exec "$b" cat /etc/resolv.conf
	[[ "$output" == *"nameserver 192.0.2.53"* ]]
	[ "$(grep -c nameserver <<<"$output")" -eq 1 ]
	# Without --dns: the host's nameservers, but none on loopback.
	local want; want=$(grep '^nameserver' /etc/resolv.conf | grep -v -e ' 127\.' -e ' ::1$' || true)
	run -0 e tasks exec "$a" sh -c 'grep ^nameserver /etc/resolv.conf || true'
	[ "$output" = "$want" ]

	# --net none: hosts and hostname, no resolv.conf of ours, loopback only.
	run -0 e run --rm --net none "$REF" "$(ct pn)" sh -c 'cat /etc/hostname /etc/hosts; busybox ip -o link'
	[[ "$output" == *$'127.0.1.1\t'"$(ct pn)"* && "$output" != *eth0* ]]
	# --net host: the host's files, read-only.
	run -1 e run --rm --net host "$REF" "$(ct ph)" sh -c 'echo x >>/etc/hosts'

	# An unknown network and a malformed mode are one line each, nothing made.
	run -125 e run --rm --net bridge:nope "$REF" "$(ct px)" true
	[[ "$output" == *'network "nope" not found'* ]]
	run -125 e run --rm --net bridg "$REF" "$(ct px)" true
	[[ "$output" == *'want none, host, bridge or bridge:NAME'* ]]
	run -0 e tasks kill -s KILL "$a"
	run -0 e tasks kill -s KILL "$b"
	wait_until 10 no_veths
}

# serve_outside: an HTTP server in $OUT on 192.0.2.2:8000.
serve_outside() {
	mkdir -p "$T/www"
	echo outside >"$T/www/x"
	nsenter --net="/run/netns/$OUT" busybox httpd -f -p 192.0.2.2:8000 -h "$T/www" &
	bg_track $!
	wait_until 5 nsenter --net="/run/netns/$OUT" busybox wget -q -O /dev/null http://192.0.2.2:8000/x
}

@test "network: a container in a user namespace on a bridge (its veth end made in the user namespace's network namespace)" {
	in_chroot && skip "user namespaces are refused in a chroot"
	net_up
	local a; a=$(ct pa)
	run -0 e run -d --net bridge "$REF" "$a" sleep 60
	run -0 e run --rm --net bridge --uidmap 0:100000:65536 "$REF" "$(ct pu)" sh -c \
		'busybox ip -o -4 addr show dev eth0; busybox ping -c 1 -W 2 10.213.0.2; cat /etc/hostname'
	[[ "$output" == *"inet 10.213.0.3/24"* && "$output" == *"$(ct pu)" ]]
	run -0 e tasks kill -s KILL "$a"
	run -137 e tasks wait "$a"
	run -0 e tasks delete "$a"
	run -0 e containers rm "$a"
}

@test "network: a container reaches the outside through masquerade; --internal has no way out" {
	net_up
	outside
	serve_outside
	run -0 e network create --internal --subnet 10.77.9.0/24 inner
	local a; a=$(ct na)
	[ "$(in_ns cat /proc/sys/net/ipv4/ip_forward)" = 0 ]
	run -0 e run -d --net bridge "$REF" "$a" sleep 60
	# The outside has no route to 10.213.0.0/24: only NAT brings the reply.
	run -0 e tasks exec "$a" busybox wget -q -O - http://192.0.2.2:8000/x
	[ "$output" = outside ]
	grep -q 'IPv4 forwarding enabled' "$DAEMON_LOG"
	[ "$(in_ns cat /proc/sys/net/ipv4/ip_forward)" = 1 ]
	run -0 in_ns nft list table inet ember
	[ "$(grep -c 'masquerade' <<<"$output")" -eq 2 ]
	[[ "$output" == *'ip saddr 10.213.0.0/24 oifname != "ember0" masquerade'* ]]
	[[ "$output" == *'ip saddr 10.213.0.0/24 oifname "ember0" ct status dnat masquerade'* ]]
	# Its task gone: the table goes with its last container.
	run -0 e tasks kill -s KILL "$a"
	run -0 e tasks delete "$a"
	run ! in_ns nft list table inet ember

	run -0 e run --rm --net bridge:inner "$REF" "$(ct ni)" sh -c \
		'busybox ip route; busybox ping -c 1 -W 2 10.77.9.1; busybox wget -q -O - http://192.0.2.2:8000/x; echo "wget: $?"'
	# (No -T: Debian's busybox 1.35 wget crashes with it, which would
	# pass for a failure.)
	[[ "$output" != *default* && "$output" == *"10.77.9.0/24 dev eth0"* ]]
	[[ "$output" == *"Network is unreachable"* && "$output" == *"wget: 1"* ]]
	run ! in_ns nft list table inet ember
	kill_bg
}

# A UDP echo server on port 53 in a busybox container whose /usr is the
# host's (busybox has no UDP server), and its client: one datagram, the
# answer printed. /usr/bin comes first in PATH there: busybox by its path.
UDP_ECHO='/bin/busybox ln -s usr/lib /lib; /bin/busybox ln -s usr/lib64 /lib64 2>/dev/null
/usr/bin/python3 -c "
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((\"0.0.0.0\", 53))
while True:
    d, a = s.recvfrom(512)
    s.sendto(b\"echo: \" + d, a)
" &'
UDP_ASK='
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(1)
for i in range(10):
    s.sendto(b"from outside", (sys.argv[1], int(sys.argv[2])))
    try:
        print(s.recv(512).decode()); break
    except socket.timeout:
        pass
else:
    sys.exit("no answer")'

@test "network: published TCP and UDP ports are reachable from outside and from the daemon's namespace" {
	net_up
	outside
	local a b; a=$(ct wa) b=$(ct wb)
	run -0 e run -d --net bridge -p 8080:80 -p 192.0.2.1:8081:80/tcp -p 5353:53/udp \
		--mount type=bind,src=/usr,dst=/usr,options=rbind:ro "$REF" "$a" /bin/sh -c "$UDP_ECHO"'
		/bin/mkdir -p /www && echo inside >/www/x && exec /bin/busybox httpd -f -p 80 -h /www'
	wait_until 5 in_ns busybox wget -q -O /dev/null http://10.213.0.2:80/x
	run -0 nsenter --net="/run/netns/$OUT" busybox wget -q -O - http://192.0.2.1:8080/x
	[ "$output" = inside ]
	run -0 nsenter --net="/run/netns/$OUT" busybox wget -q -O - http://192.0.2.1:8081/x
	[ "$output" = inside ]
	run -0 in_ns busybox wget -q -O - http://192.0.2.1:8080/x
	[ "$output" = inside ]
	# From another container, through the host's address (hairpin).
	run -0 e run --rm --net bridge "$REF" "$(ct wc)" busybox wget -q -O - http://192.0.2.1:8080/x
	[ "$output" = inside ]
	run -0 in_ns nft list table inet ember
	[ "$(grep -c 'tcp dport 8080 dnat ip to 10.213.0.2:80' <<<"$output")" -eq 2 ]
	[ "$(grep -c 'ip daddr 192.0.2.1 tcp dport 8081 dnat ip to 10.213.0.2:80' <<<"$output")" -eq 2 ]
	[ "$(grep -c 'udp dport 5353 dnat ip to 10.213.0.2:53' <<<"$output")" -eq 2 ]
	# UDP, through the host's python (its /usr bound into the container).
	run -0 nsenter --net="/run/netns/$OUT" "$PYTHON" -c "$UDP_ASK" 192.0.2.1 5353
	[ "$output" = "echo: from outside" ]
	run -0 in_ns "$PYTHON" -c "$UDP_ASK" 192.0.2.1 5353
	[ "$output" = "echo: from outside" ]

	# Taken: one line, and no lease, no veth, no rule of b's.
	run -125 e run --rm --net bridge -p 8080:81 "$REF" "$b" true
	[[ "$output" == *"publish tcp/8080: the host port is published by container default/$a"* ]]
	[ "${#lines[@]}" -eq 1 ]
	# Taken by a program of the host (a listening socket in the daemon's
	# namespace, on loopback only): the same.
	in_ns "$PYTHON" -c 'import socket, time
s = socket.socket(); s.bind(("127.0.0.1", 8090)); s.listen(); time.sleep(60)' &
	bg_track $!
	wait_until 5 sh -c "nsenter --net=/run/netns/$NS ss -ltn | grep -q '127.0.0.1:8090 '"
	run -125 e run --rm --net bridge -p 8090:80 "$REF" "$b" true
	[[ "$output" == *"publish tcp/8090: the host port is in use by a program of the host"* ]]
	[ "${#lines[@]}" -eq 1 ]
	[ "$(leases | wc -l)" -eq 1 ]
	[ "$(in_ns ip -o link show | grep -c ' em[0-9a-f]\{10\}@')" -eq 1 ]
	run -0 in_ns nft list table inet ember
	[ "$(grep -c 'dnat ip to' <<<"$output")" -eq 6 ]
	# A daemon restart keeps the task and writes its rules again, once.
	stop_daemon
	net_daemon
	run -0 in_ns nft list table inet ember
	[ "$(grep -c 'tcp dport 8080 dnat ip to 10.213.0.2:80' <<<"$output")" -eq 2 ]
	run -0 nsenter --net="/run/netns/$OUT" busybox wget -q -O - http://192.0.2.1:8080/x
	[ "$output" = inside ]
	run -0 e tasks kill -s KILL "$a"
	run -137 e tasks wait "$a"
	run -0 e tasks delete "$a"
	run ! in_ns nft list table inet ember
}

# The state of the daemon's namespace and root against its records: every
# lease names a container whose record holds that address, no address
# twice, one veth per running bridge task, each published port's rules
# exactly twice (prerouting, output). Prints the number of running tasks.
assert_consistent() {
	local f who rec addrs running veths
	for f in $(leases); do
		who=$(cat "$f")
		rec=$(e -n "${who%%/*}" --json containers info "${who#*/}")
		[ "$(jget 'j["network"]["address"]' <<<"$rec")" = "$(basename "$f")" ]
	done
	addrs=$(e --json containers ls | "$PYTHON" -c '
import json, sys
print("\n".join(c["network"]["address"] for c in json.load(sys.stdin) if c.get("network", {}).get("address")))')
	[ -z "$(sort <<<"$addrs" | uniq -d)" ]
	[ "$(grep -c . <<<"$addrs")" -eq "$(leases | wc -l)" ]
	running=$(e tasks ls | grep -c ' running' || true)
	veths=$(in_ns ip -o link show | grep -c ' em[0-9a-f]\{10\}@' || true)
	[ "$veths" -eq "$running" ]
	local table; table=$(in_ns nft list table inet ember)
	[ -z "$(grep -o 'dport [0-9]* dnat' <<<"$table" | sort | uniq -c | grep -v ' 2 dport')" ]
	[ "$(grep -c 'dport [0-9]* dnat' <<<"$table")" -eq $((2 * running)) ]
	[ "$(grep -c masquerade <<<"$table")" -eq 2 ]
	echo "$running"
}

@test "network: 50 concurrent starts get distinct addresses; kill -9 while starting leaves nothing doubled or leaked" {
	net_up
	local i pids=()
	for i in $(seq 1 50); do
		e run -d --net bridge -p $((9000 + i)):80 "$REF" "$(ct c$i)" sleep 300 >/dev/null 2>&1 &
		pids+=($!)
	done
	for i in "${pids[@]}"; do wait "$i"; done
	[ "$(leases | wc -l)" -eq 50 ]
	run -0 assert_consistent
	[ "$output" -eq 50 ]
	# The kernel agrees with the records: a few containers' eth0.
	for i in 1 25 50; do
		run -0 e tasks exec "$(ct c$i)" busybox ip -o -4 addr show dev eth0
		[[ "$output" == *"inet $(addr_of "$(ct c$i)")/24"* ]]
	done

	# Twelve more, the daemon killed while they start.
	pids=()
	for i in $(seq 51 62); do
		e run -d --net bridge -p $((9000 + i)):80 "$REF" "$(ct c$i)" sleep 300 >/dev/null 2>&1 &
		pids+=($!)
	done
	sleep 0.7
	kill_daemon
	for i in "${pids[@]}"; do wait "$i" || true; done
	net_daemon
	run -0 assert_consistent
	[ "$output" -ge 50 ]
	# Those cut short start now, with the address they hold.
	for i in $(seq 51 62); do
		if e containers info "$(ct c$i)" >/dev/null 2>&1 && ! e tasks ls | grep -q "$(ct c$i) .*running"; then
			run -0 e tasks start -d "$(ct c$i)"
		fi
	done
	run -0 assert_consistent
}

@test "network: a full subnet and bad network options are one line each, nothing made" {
	net_up
	run -0 e network create --subnet 10.77.8.0/30 tiny
	run -0 e containers create --net bridge:tiny "$REF" "$(ct f1)"
	run -1 e containers create --net bridge:tiny "$REF" "$(ct f2)"
	[ "$output" = "ember: container $(ct f2): network \"tiny\": no free address in 10.77.8.0/30" ]
	run -1 e containers info "$(ct f2)"
	local bad
	for bad in "--net bridge -p 80:http|publish \"80:http\": want [HOSTIP:]HOSTPORT:CONTAINERPORT" \
		"--net bridge -p 70000:80|publish \"70000:80\"" \
		"--net bridge -p 80:80/sctp|publish \"80:80/sctp\"" \
		"--net bridge -p 8080:80 -p 8080:81|host port tcp/8080 given twice" \
		"-p 8080:80|publish needs net bridge" \
		"--net none --dns 192.0.2.53|dns needs net bridge" \
		"--net bridge --dns nameserver|dns[0]: an IP address" \
		"--net bridge --add-host nocolon|add_host \"nocolon\": want NAME:IP" \
		"--net host --add-host a:192.0.2.9|net host uses the host's /etc/hosts" \
		"--net-host --net bridge|net_host and net \"bridge\" disagree"; do
		local args=${bad%%|*} want=${bad#*|}
		# shellcheck disable=SC2086
		run -1 e containers create $args "$REF" "$(ct f3)"
		[ "${#lines[@]}" -eq 1 ]
		[[ "$output" == *"$want"* ]]
	done
	run -1 e containers info "$(ct f3)"
	[ "$(leases | wc -l)" -eq 1 ]
	[ -z "$(in_ns ip -o link show | grep -e ' em' -e ember0)" ]
}

@test "network: a restart-policy restart keeps the address and gets a fresh veth" {
	net_up
	local a; a=$(ct ra)
	run -0 e run -d --net bridge --restart always "$REF" "$a" sh -c 'busybox ip -o -4 addr show dev eth0 >>/tmp/addrs; sleep 0.3'
	wait_until 20 sh -c "grep -c restarted '$DAEMON_LOG' | grep -qx '[3-9]'"
	# Between two runs the task may be down: its file, from the snapshot.
	local f; f=$(find "$ROOT/snapshots" -name addrs -path '*/tmp/*' | head -1)
	[ -n "$f" ]
	[ "$(grep -c 'inet 10.213.0.2/24' "$f")" -ge 3 ]
	[ "$(grep -c 'inet ' "$f")" -eq "$(grep -c 'inet 10.213.0.2/24' "$f")" ]
	run -0 e tasks kill -s KILL "$a"
	wait_until 10 no_veths
	[ "$(leases)" = "$ROOT/net/leases/bridge/10.213.0.2" ]
}

# A revision (README "Updating devices") whose container changes keeps its
# address on the same network; a roll-back gives the old container its own
# back, and no lease of the rolled-back one is left.
@test "network: revisions: a changed container keeps its address across an apply; a roll-back restores the old one's" {
	net_up
	local id; id=$(ct rev)
	rev() {
		printf '{"id": "%s", "containers": [{"id": "%s", "image": "%s", "options": {"args": %s, "net": "bridge"}, "health": {"running": 1}}]}\n' \
			"$1" "$id" "$REF" "$2" >"$T/$1.json"
		run -0 e revisions stage "$T/$1.json"
	}
	rev r1 '["sleep", "1000"]'
	run -0 e revisions apply r1
	local a1; a1=$(addr_of "$id")
	[ -n "$a1" ]
	rev r2 '["sleep", "1001"]'
	run -0 e revisions apply r2
	[ "$output" = "r2: committed" ]
	[ "$(addr_of "$id")" = "$a1" ]
	# Reachable at it: the new task's veth is up with that address.
	in_ns busybox ping -c 1 -W 2 "$a1"
	rev r3 '["sh", "-c", "exit 5"]'
	run -1 e revisions apply r3
	[[ "$output" == "ember: revision r3 rolled back: container $id exited (code 5)"* ]]
	[ "$(addr_of "$id")" = "$a1" ]
	wait_until 5 in_ns busybox ping -c 1 -W 2 "$a1"
	# One lease: the container's.
	[ "$(leases | xargs grep -l "^default/$id$" | wc -l)" = 1 ]
}
