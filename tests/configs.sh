#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Builds the product in several Kconfig configurations and checks that a
# feature switched off leaves no code behind (its symbols are absent from
# the unstripped binary) and that what remains works. Prints TAP.
#   tests/configs.sh BUILD_DIR
set -u
cd "$(dirname "$0")/.."
out=${1:?usage: configs.sh BUILD_DIR}
n=0

ok() { n=$((n + 1)); echo "ok $n - $*"; }
not_ok() { n=$((n + 1)); echo "not ok $n - $*"; }
check() { # check NAME COMMAND...
	local name=$1; shift
	if "$@" >/dev/null 2>&1; then ok "$name"; else not_ok "$name"; fi
}

# build NAME: configure from $fragment (or a make target), then build.
build() {
	local name=$1 how=$2 o=$out/cfg-$1
	mkdir -p "$o"
	case "$how" in
	*_defconfig|allnoconfig|allyesconfig) make -s O="$o" "$how" >/dev/null ;;
	randconfig:*) make -s O="$o" randconfig SEED="${how#randconfig:}" >/dev/null ;;
	*) printf '%b' "$how" >"$o/.config"; make -s O="$o" olddefconfig >/dev/null ;;
	esac
	if make -s O="$o" all >"$o/build.log" 2>&1; then
		ok "config $name builds"
	else
		not_ok "config $name builds"; tail -20 "$o/build.log" | sed 's/^/# /'
		return 1
	fi
}

has() { nm "$out/cfg-$1/ember.unstripped" 2>/dev/null | grep -qw "$2"; }
lacks() { ! has "$@"; }

check "every user-visible feature's help states its cost (make sizes)" \
	sh -c "[ -z \"\$(/usr/bin/python3 board/kconfig.py uncosted)\" ]"

if build full full_defconfig; then
	b=$out/cfg-full/ember
	for sym in completion_run call_run idl_files syslog daemon_main cli_main image_unpack unpacker_start \
		snapshot_tree_copy snapshot_btrfs gc_snapshots mount_apply runtime_start runtime_cgroup_create runtime_seccomp_compile \
		task_start svc_tasks_exec cli_cmd_run runtime_init_main; do
		check "full has $sym" has full "$sym"
	done
	check "full: ember version lists cli-completion" sh -c "'$b' version | grep -q cli-completion"
	check "full: ember version lists seccomp" sh -c "'$b' version | grep -qw seccomp"
	for sym in sig_verify sig_sign sig_payload_parse verify_policy_get; do
		check "full has $sym" has full "$sym"
	done
fi

# Networking: the full board compiles src/net on mnl-lite (the static
# sysroot has no libmnl), and its programs link it.
if [ -x "$out/cfg-full/ember" ]; then
	o=$out/cfg-full
	check "full: ember version lists net" sh -c "'$o/ember' version | grep -qw net"
	for sym in networks_start networks_attach network_nat_write svc_networks_create cli_cmd_networks net_attach \
		net_nat_add; do
		check "full has $sym" has full "$sym"
	done
	check "full: ember version does not list libmnl" sh -c "! '$o/ember' version | grep -qw libmnl"
	if make -s O="$o" net-tests >"$o/net-tests.log" 2>&1; then
		ok "full: make net-tests builds ember-nettest"
		for sym in net_attach net_veth_create net_link_dump net_reply_parse net_ipam_next net_nat_add \
			mnl_cb_run2 mnl_socket_open2 mnl_nlmsg_batch_start; do
			check "full: ember-nettest has $sym" sh -c "nm '$o/tests/net/ember-nettest' | grep -qw $sym"
		done
		check "full: ember-nettest runs on mnl-lite" sh -c "'$o/tests/net/ember-nettest' impl | grep -qx mnl-lite"
	else
		not_ok "full: make net-tests builds ember-nettest"; tail -20 "$o/net-tests.log" | sed 's/^/# /'
	fi
fi

if build tiny tiny_defconfig; then
	b=$out/cfg-tiny/ember
	for sym in completion_run call_run idl_files syslog openlog; do
		check "tiny lacks $sym" lacks tiny "$sym"
	done
	check "tiny: still has the daemon and the CLI" sh -c "nm '$out/cfg-tiny/ember.unstripped' | grep -qw daemon_main && nm '$out/cfg-tiny/ember.unstripped' | grep -qw cli_main"
	check "tiny: ember version does not list cli-completion" sh -c "! '$b' version | grep -q cli-completion"
	check "tiny: ember completion is an unknown command (exit 2)" sh -c "'$b' completion bash; [ \$? -eq 2 ]"
	check "tiny: --log syslog is refused" sh -c "'$b' daemon --log syslog --root /nonexistent/x 2>&1 | grep -q 'not compiled in'"
	# Checkpoint/restore is off in tiny: no CRIU driver, codec, job or API.
	for sym in runtime_checkpoint rt_criu_resp_decode pb_next task_dump_run svc_tasks_checkpoint \
		checkpoint_image_write image_tar_tree; do
		check "full has $sym" has full "$sym"
		check "tiny lacks $sym" lacks tiny "$sym"
	done
	check "tiny: ember tasks checkpoint is an unknown command (exit 2)" \
		sh -c "'$b' tasks checkpoint x; [ \$? -eq 2 ]"
	for sym in sig_verify sig_sign sig_payload_parse sig_key_parse_spki verify_policy_get verify_start; do
		check "tiny (no SIGNATURES) lacks $sym" lacks tiny "$sym"
	done
	check "tiny lacks the native snapshotter" lacks tiny snapshot_native
	check "tiny lacks the btrfs snapshotter" lacks tiny snapshot_btrfs
	check "tiny: ember version does not list snapshot-btrfs" sh -c "! '$b' version | grep -q snapshot-btrfs"
	check "tiny keeps overlay and unpack" sh -c "nm '$out/cfg-tiny/ember.unstripped' | grep -qw snapshot_overlay && nm '$out/cfg-tiny/ember.unstripped' | grep -qw unpacker_start"
	check "tiny drops unpacked blobs by default" grep -qx CONFIG_UNPACK_DROP_BLOBS=y "$out/cfg-tiny/.config"
	check "tiny is smaller than full" test "$(stat -c %s "$b")" -lt "$(stat -c %s "$out/cfg-full/ember")"
fi

if build daemon-only 'CONFIG_DAEMON=y\n# CONFIG_CLI is not set\n'; then
	b=$out/cfg-daemon-only/ember
	check "daemon-only lacks the CLI" lacks daemon-only cli_main
	check "daemon-only: ember daemon --help works" "$b" daemon --help
	check "daemon-only: a client command exits 127" sh -c "'$b' namespaces ls; [ \$? -eq 127 ]"
fi

if build client-only '# CONFIG_DAEMON is not set\nCONFIG_CLI=y\n'; then
	b=$out/cfg-client-only/ember
	for sym in daemon_main server_listen loop_run meta_namespace_create toml_parse; do
		check "client-only lacks $sym" lacks client-only "$sym"
	done
	check "client-only: ember daemon is not a command (exit 2)" sh -c "'$b' daemon; [ \$? -eq 2 ]"
fi

if build no-pull 'CONFIG_DAEMON=y\nCONFIG_CLI=y\nCONFIG_CONTENT=y\n# CONFIG_PULL is not set\n'; then
	for sym in pull_start http_new curl_multi_init registry_open br_ssl_client_init_full; do
		check "no-pull lacks $sym" lacks no-pull "$sym"
	done
	check "no-pull keeps the content store" has no-pull content_walk
	check "no-pull keeps import" has no-pull image_import
	check "no-pull keeps import's unpack (an air-gapped device)" has no-pull unpacker_start
fi

# No libarchive at all: neither image archives nor layer unpack.
if build no-archive 'CONFIG_DAEMON=y\nCONFIG_CLI=y\nCONFIG_CONTENT=y\nCONFIG_PULL=y\n# CONFIG_IMAGE_ARCHIVE is not set\n# CONFIG_PUSH is not set\n# CONFIG_UNPACK is not set\n'; then
	for sym in image_import image_export archive_read_new archive_write_new push_start image_unpack image_tar_tree \
		ZSTD_decompressStream; do
		check "no-archive lacks $sym" lacks no-archive "$sym"
	done
	check "no-archive still pulls" has no-archive pull_start
fi

# No snapshotter: pull fetches only, no snapshot code or command is left.
if build no-snapshots 'CONFIG_DAEMON=y\nCONFIG_CLI=y\nCONFIG_CONTENT=y\nCONFIG_PULL=y\n# CONFIG_SNAPSHOT_OVERLAY is not set\n# CONFIG_SNAPSHOT_NATIVE is not set\n# CONFIG_SNAPSHOT_BTRFS is not set\n'; then
	for sym in snapshot_open snapshot_tree_copy snapshot_btrfs unpacker_start gc_snapshots svc_snapshots_list cli_cmd_snapshots mount_apply; do
		check "no-snapshots lacks $sym" lacks no-snapshots "$sym"
	done
	check "no-snapshots still pulls" has no-snapshots pull_start
	check "no-snapshots: no runtime, so no seccomp" sh -c "! '$out/cfg-no-snapshots/ember' version | grep -qw seccomp"
	check "no-snapshots: ember snapshots is an unknown command (exit 2)" sh -c "'$out/cfg-no-snapshots/ember' snapshots ls; [ \$? -eq 2 ]"
	for sym in runtime_start task_start cli_cmd_run runtime_cgroup_create runtime_seccomp_compile; do
		check "no-snapshots (so no runtime) lacks $sym" lacks no-snapshots "$sym"
	done
	check "no-snapshots: ember run is an unknown command (exit 2)" sh -c "'$out/cfg-no-snapshots/ember' run x y; [ \$? -eq 2 ]"
fi

if build no-cgroups-seccomp 'CONFIG_DAEMON=y\nCONFIG_CLI=y\nCONFIG_CONTENT=y\nCONFIG_PULL=y\nCONFIG_SNAPSHOT_OVERLAY=y\nCONFIG_RUNTIME=y\n# CONFIG_CGROUPS is not set\n# CONFIG_SECCOMP is not set\n# CONFIG_INIT is not set\n# CONFIG_USERNS is not set\n'; then
	check "no-cgroups-seccomp still runs containers" has no-cgroups-seccomp runtime_start
	for sym in runtime_cgroup_create runtime_seccomp_compile runtime_seccomp_load runtime_init_main; do
		check "no-cgroups-seccomp lacks $sym" lacks no-cgroups-seccomp "$sym"
	done
fi

if build no-content 'CONFIG_DAEMON=y\nCONFIG_CLI=y\n# CONFIG_CONTENT is not set\n'; then
	for sym in content_open digest_check manifest_parse images_start br_sha256_init runtime_init_main; do
		check "no-content lacks $sym" lacks no-content "$sym"
	done
fi

# Bridge networks without NAT: no nf_tables code.
if build no-nat 'CONFIG_DAEMON=y\nCONFIG_CLI=y\n# CONFIG_NET_NAT is not set\n'; then
	o=$out/cfg-no-nat
	check "no-nat compiles no nat.o" test ! -e "$o/obj/net/nat.o"
	check "no-nat has networks_attach" has no-nat networks_attach
	check "no-nat lacks net_nat_add" lacks no-nat net_nat_add
	if make -s O="$o" net-tests >"$o/net-tests.log" 2>&1; then
		check "no-nat: ember-nettest has net_attach" sh -c "nm '$o/tests/net/ember-nettest' | grep -qw net_attach"
		check "no-nat: ember-nettest lacks net_nat_add" sh -c "! nm '$o/tests/net/ember-nettest' | grep -qw net_nat_add"
		check "no-nat: ember-nettest nat is refused" sh -c "'$o/tests/net/ember-nettest' nat x 2>&1 | grep -q 'not compiled in'"
	else
		not_ok "no-nat: make net-tests builds ember-nettest"; tail -20 "$o/net-tests.log" | sed 's/^/# /'
	fi
fi

# Without networking nothing of src/net is compiled, mnl-lite included.
if build no-net 'CONFIG_DAEMON=y\nCONFIG_CLI=y\n# CONFIG_NET is not set\n'; then
	o=$out/cfg-no-net
	check "no-net compiles no object of src/net" test ! -e "$o/obj/net"
	check "no-net: ember version does not list net" sh -c "! '$o/ember' version | grep -qw net"
	for sym in networks_start networks_attach network_nat_write svc_networks_create cli_cmd_networks; do
		check "no-net lacks $sym" lacks no-net "$sym"
	done
	check "no-net: ember network is an unknown command (exit 2)" sh -c "'$o/ember' network ls; [ \$? -eq 2 ]"
	if make -s O="$o" "$o/libember-all.a" net-tests >"$o/net-tests.log" 2>&1; then
		for sym in net_attach net_nl_open net_ipam_next net_nat_add mnl_cb_run2 mnl_attr_parse; do
			check "no-net: no object has $sym" sh -c "! nm '$o/libember-all.a' 2>/dev/null | grep -qw $sym"
		done
		check "no-net: make net-tests builds no program" test ! -e "$o/tests/net/ember-nettest"
	else
		not_ok "no-net: libember-all.a and net-tests build"; tail -20 "$o/net-tests.log" | sed 's/^/# /'
	fi
fi

# Without the oci role: none of its code, and `ember oci` is no command.
if build no-oci 'CONFIG_DAEMON=y\nCONFIG_CLI=y\n# CONFIG_OCI is not set\n'; then
	check "full has oci_main" has full oci_main
	check "no-oci lacks oci_main" lacks no-oci oci_main
	check "no-oci: ember oci is an unknown command (exit 2)" sh -c "'$out/cfg-no-oci/ember' oci list; [ \$? -eq 2 ]"
fi

# Without revisions: no document parser, no API, no command.
if build no-revisions 'CONFIG_DAEMON=y\nCONFIG_CLI=y\n# CONFIG_REVISIONS is not set\n'; then
	for sym in revision_doc_check revisions_stage svc_revisions_stage cli_cmd_revisions; do
		check "full has $sym" has full "$sym"
		check "no-revisions lacks $sym" lacks no-revisions "$sym"
	done
	check "no-revisions: ember revisions is an unknown command (exit 2)" \
		sh -c "'$out/cfg-no-revisions/ember' revisions ls; [ \$? -eq 2 ]"
fi

if build allno allnoconfig; then
	check "allnoconfig: ember version works" "$out/cfg-allno/ember" version
	check "allnoconfig lacks ember init" lacks allno runtime_init_main
	check "allnoconfig compiles nothing of src/net" test ! -e "$out/cfg-allno/obj/net"
	check "allnoconfig: ember init is not a role (exit 127)" sh -c "'$out/cfg-allno/ember' init -- true; [ \$? -eq 127 ]"
fi
build allyes allyesconfig || true

# Random configurations, so that every combination keeps compiling; the
# seeds come from the commit, so a failure repeats with
# `make randconfig SEED=...` (RANDCONFIGS=n runs more or fewer).
head=$(git rev-parse --short=10 HEAD 2>/dev/null || date +%s)
for i in $(seq 1 "${RANDCONFIGS:-3}"); do
	if build "rand-$head-$i" "randconfig:$head-$i"; then
		check "randconfig SEED=$head-$i: ember version works" "$out/cfg-rand-$head-$i/ember" version
	fi
	rm -rf "$out/cfg-rand-$head-$i"
done

# A caller's toolchain and sysroot, as Buildroot and Yocto pass them (here
# musl-gcc and the static libraries our sysroot script built, handed over
# by hand): no sysroot fragment of ours is made or read.
o=$out/cfg-caller
mkdir -p "$o"
frag=$out/toolchain-$(uname -m).mk
sysroot=$(sed -n 's/^SYSROOT := //p' "$frag" 2>/dev/null)
if [ -n "$sysroot" ] && make -s O="$o" CC=musl-gcc SYSROOT="$sysroot" PKG_CONFIG="$sysroot/bin/pkg-config" \
	CFLAGS="-O2 -DEMBER_CALLER_FLAG" LDFLAGS="-Wl,--build-id=none" defconfig all >"$o/build.log" 2>&1; then
	ok "a caller's CC, CFLAGS, LDFLAGS and PKG_CONFIG build the product"
	check "caller's build: no sysroot fragment was made" test ! -e "$o/toolchain-$(uname -m).mk"
	check "caller's build: CFLAGS reached the compiler" grep -q -- "-DEMBER_CALLER_FLAG" "$o/.build-id"
	check "caller's build: static and runs" sh -c "file '$o/ember' | grep -q 'statically linked' && '$o/ember' version"
else
	not_ok "a caller's CC, CFLAGS, LDFLAGS and PKG_CONFIG build the product"; tail -20 "$o/build.log" | sed 's/^/# /'
fi

echo "1..$n"
