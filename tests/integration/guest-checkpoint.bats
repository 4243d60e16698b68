#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# Checkpoint and restore with CRIU where Debian 12's criu (3.17.1) works: a
# qemu guest (TCG) boots Debian 12's own kernel (6.1) into a minimal Debian
# 12 root with systemd as init, cgroup v2 only, and criu from Debian's
# package and iproute2, which it recommends (board/qemu/debian-root.sh
# systemd amd64 criu iproute2 docker-registry: debootstrap from apt's
# mirror, cached).
# Hosts on Linux 6.13 or later cannot run that criu (its vDSO check fails:
# checkpoint.bats only sees the one-line refusal there), so this is where a
# restore is proven. ember is installed as an
# integrator does it (make install INIT=systemd, the unit enabled), and
# tests/guest/checkpoint runs as a unit: a counter kept in a shell's memory
# is checkpointed with --exit, is gone, is restored and goes on from its
# value; a checkpoint that leaves it running restores after a kill; a
# checkpoint image goes through Debian's docker-registry to another daemon
# root and restores there; `ember oci checkpoint` / `restore` of a bundle;
# a task with a terminal (run -d -t), and an oci bundle with
# process.terminal whose master goes to a --console-socket.
# One boot, then a poweroff.
# x86_64 only. Tagged slow (one emulated Debian boot and the test, ~3.5
# min here; the first run also bootstraps the root with criu, ~2 min more):
# make check-qemu runs it, make check does not.
# bats file_tags=slow

bats_require_minimum_version 1.5.0
load helpers
load lib/debian-guest

# The bundle's counter, as the guest's tasks run it.
COUNTER='i=0; while :; do i=$((i+1)); echo $i >/tmp/n; echo $i; sleep 0.2; done'
# ... and the terminal bundle's, which also reads its terminal.
TTYCOUNTER='i=0; while :; do i=$((i+1)); echo $i >/tmp/n; echo $i; if read -t 0.2 l; then echo "$l" >/tmp/in; fi; done'

setup_file() {
	local dir=$BATS_FILE_TMPDIR root=$BATS_FILE_TMPDIR/root b a
	[[ " $("$EMBER" version | sed -n 's/^features: //p') " == *" checkpoint "* ]] ||
		{ echo "this ember has no checkpoint/restore (CONFIG_CHECKPOINT)" >"$dir/skip"; return 0; }
	debian_guest_skip_file systemd criu iproute2 docker-registry || return 0
	debian_guest_root systemd "$root" criu iproute2 docker-registry
	# The test runs a registry of its own, on 127.0.0.1:5999.
	systemctl --root="$root" mask docker-registry.service >>"$dir/enable.log" 2>&1
	install -m 0755 "$BATS_TEST_DIRNAME/../guest/checkpoint" "$root/guest/checkpoint"
	sed 's|^ExecStart=.*|ExecStart=/guest/checkpoint|' "$BATS_TEST_DIRNAME/../guest/ember-guest.service" \
		>"$root/etc/systemd/system/ember-guest.service"
	systemctl --root="$root" enable ember.service ember-guest.service >"$dir/enable.log" 2>&1
	# An OCI bundle for `ember oci`: busybox, its root writable (the
	# counter's /tmp/n), no terminal.
	b=$root/guest/bundle
	mkdir -p "$b/rootfs/bin" "$b/rootfs/tmp" "$b/rootfs/proc" "$b/rootfs/dev" "$b/rootfs/sys"
	install -m 0755 /bin/busybox "$b/rootfs/bin/busybox"
	for a in sh cat sleep; do ln -s busybox "$b/rootfs/bin/$a"; done
	"$EMBER" oci spec --bundle "$b"
	"$PYTHON" -c '
import json, sys
p = sys.argv[1] + "/config.json"
c = json.load(open(p))
c["process"].update({"terminal": False, "args": ["sh", "-c", sys.argv[2]]})
c["root"]["readonly"] = False
json.dump(c, open(p, "w"), indent=1)' "$b" "$COUNTER"
	# The same with process.terminal, on a rootfs of its own, for a
	# checkpoint of a terminal whose master went to a --console-socket.
	cp -a "$b" "$root/guest/tbundle"
	"$PYTHON" -c '
import json, sys
p = sys.argv[1] + "/config.json"
c = json.load(open(p))
c["process"].update({"terminal": True, "args": ["sh", "-c", sys.argv[2]]})
json.dump(c, open(p, "w"), indent=1)' "$root/guest/tbundle" "$TTYCOUNTER"
	install -m 0755 "$BATS_TEST_DIRNAME/lib/console_recv.py" "$root/guest/console_recv.py"
	# The root has no modules: what CRIU needs is loaded by the initramfs
	# (the socket diag modules to dump sockets; tun, veth and nf_tables
	# for its kernel feature probe and its nftables network lock;
	# nf_conntrack_netlink to dump a network namespace's conntrack; the
	# bridge and what ember's NAT table uses for a bridge network).
	GUEST_MODULES="unix_diag inet_diag tcp_diag udp_diag raw_diag netlink_diag af_packet_diag tun veth nf_tables nf_conntrack_netlink bridge nft_chain_nat nft_nat nft_masq nft_ct nft_fib_inet" \
		debian_guest_boot "$root" systemd.getty_auto=0 systemd.firstboot=0
}

setup() {
	debian_guest_setup
}

# One boot: qemu exited 0 in time, the guest powered off by itself, no
# "GUEST not ok" line.
guest_ran() {
	cat "$BATS_FILE_TMPDIR/times"
	[ ! -e "$BATS_FILE_TMPDIR/install-differs" ] || cat "$BATS_FILE_TMPDIR/install-differs"
	echo "console: $(console | grep -v '^\[' | tail -n 60)"
	[ "$(cat "$BATS_FILE_TMPDIR/status")" = 0 ]
	console | grep -qx 'GUEST powering off'
	console | grep -q 'reboot: Power down'
	run ! grep -a '^GUEST not ok' "$BATS_FILE_TMPDIR/console.log"
}

@test "guest: checkpoint: Debian 12 (kernel 6.1, criu 3.17.1) boots, runs its test and powers off by itself" {
	guest_ran
	console | grep -q '^GUEST # kernel: 6\.1\.'
	console | grep -q '^GUEST # criu: Version: 3\.17'
	guest_ok "criu check passes on this kernel"
	guest_ok "the image shipped in /usr/share/ember/images is preloaded"
}

@test "guest: checkpoint: tasks checkpoint --exit, the task gone, tasks restore: the counter goes on from its value" {
	guest_ok "a container whose shell counts in memory runs detached"
	guest_ok "tasks checkpoint --exit"
	guest_ok "the task is gone after the checkpoint"
	guest_ok "nothing counts while it is checkpointed"
	guest_ok "tasks restore"
	guest_ok "the restored task runs"
	guest_ok "the restored counter goes on"
	guest_ok "after the restore the counter goes on from its value (the first line it writes is the next one)"
	guest_ok "it keeps counting"
	guest_ok "the restored task's PID 1 is in the container's cgroup"
	guest_ok "a restored task checkpoints again (--exit)"
	guest_ok "... and restores again"
	guest_ok "... on from its value"
	guest_ok "the container is removed"
	console | grep '^GUEST # figure:'
}

@test "guest: checkpoint: without --exit the task runs on, and the image restores after a kill" {
	guest_ok "tasks checkpoint (it goes on running)"
	guest_ok "it goes on counting"
	guest_ok "killed, it restores from the image"
	guest_ok "the restored copy counts"
	guest_ok "the copy goes on from the checkpoint's value (below where it was killed, not 1)"
}

@test "guest: checkpoint: an image of it (containerd's layout) is pushed, pulled by another root and restored there" {
	guest_ok "a counter that wrote a file in its rootfs runs"
	guest_ok "tasks checkpoint --exit --image"
	guest_ok "the scratch image directory is gone"
	guest_ok "its index lists application/vnd.containerd.container.criu.checkpoint.criu.tar"
	guest_ok "its index lists application/vnd.containerd.container.checkpoint.config.v1+proto"
	guest_ok "its index lists application/vnd.containerd.container.rw.tar"
	guest_ok "... the image's manifest, and names the image"
	guest_ok "ember push of the checkpoint image to docker-registry"
	guest_ok "another daemon root starts"
	guest_ok "it pulls the checkpoint image (and the image's layers with it)"
	guest_ok "a container from the pulled checkpoint (its spec, image, rw layer, CRIU images)"
	guest_ok "tasks restore of it on the other root"
	guest_ok "the restored counter goes on on the other root"
	guest_ok "... from its value (the first line it writes is the next one)"
	guest_ok "the file it wrote before the checkpoint is in its rootfs"
	guest_ok "the restored container is removed, its CRIU images with it"
	guest_ok "ember run --restore of the same image as another container"
	guest_ok "... on from the same value"
}

@test "guest: checkpoint: ember oci checkpoint (the container gone, as runc's), restore -d of a bundle; --leave-running" {
	guest_ok "oci create + start of the bundle"
	guest_ok "oci checkpoint"
	guest_ok "the container is gone after the checkpoint"
	guest_ok "its cgroup is gone"
	guest_ok "oci restore -d"
	guest_ok "the restored bundle's counter goes on"
	guest_ok "it is running"
	guest_ok "oci checkpoint --leave-running"
	guest_ok "it goes on"
}

@test "guest: checkpoint: a task with a terminal (run -d -t): checkpoint --exit, restore, on from its value, attach reaches it" {
	guest_ok "a task with a terminal (run -d -t) counts in memory"
	guest_ok "tasks checkpoint --exit of a task with a terminal"
	guest_ok "tasks restore of the task with a terminal"
	guest_ok "the restored terminal's counter goes on"
	guest_ok "... from its value on the terminal (the first line it writes is the next one)"
	guest_ok "its shell's stdin and stdout are still the terminal"
	guest_ok "a line sent by tasks attach reaches the restored shell's terminal"
	guest_ok "... and attach showed the terminal's output"
}

@test "guest: checkpoint: ember oci with process.terminal: checkpoint, restore -d with a new master to --console-socket" {
	guest_ok "oci create --console-socket + start of a bundle with process.terminal"
	guest_ok "its counter counts on the terminal the console socket got"
	guest_ok "oci checkpoint of the container with a terminal"
	guest_ok "the terminal's container is gone after the checkpoint"
	guest_ok "the first terminal closed with it"
	guest_ok "oci restore -d --console-socket"
	guest_ok "the restore's console socket got a terminal master"
	guest_ok "the restored oci counter goes on"
	guest_ok "... and writes on the new terminal from its value"
	guest_ok "the line typed on the new terminal reached the restored shell"
	guest_ok "a restore of a terminal without --console-socket is refused in one line"
}

@test "guest: checkpoint: a task on a bridge network with a published port: restored on its address, its port published again" {
	guest_ok "a counter on the bridge network, a port published, serves its count"
	guest_ok "it serves on its address and on the published port"
	guest_ok "a checkpoint image of it is refused in one line, and it runs on"
	guest_ok "tasks checkpoint --exit of a task on a bridge network"
	guest_ok "its veth went with it"
	guest_ok "tasks restore of the task on the bridge network"
	guest_ok "the restored network counter goes on"
	guest_ok "... from its value on the bridge network (the first line it writes is the next one)"
	guest_ok "it serves on the same address, its listening socket restored"
	guest_ok "the published port reaches it again"
	guest_ok "one host end on the bridge, named as a start names one (em + 10 hex)"
	guest_ok "after a daemon restart the restored task's veth stays and serves"
	guest_ok "its veth is gone once it is removed"
}
