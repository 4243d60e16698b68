#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# make install and board/common's service files: what lands where in a
# staging directory, the README's agent built against the staged library
# with pkg-config alone (static musl and glibc builds), the example
# configuration against the daemon's parser, S60ember driven on this host
# under BusyBox ash, dash and bash (start waits for the daemon, status codes,
# bounded stop, containers that outlive restarts), ember.openrc's functions
# under stand-ins for OpenRC's helpers, and ember.service checked by
# systemd-analyze. Neither openrc-run nor systemd runs here: booting them is
# left to the qemu guests (see board/common/README.md).

bats_require_minimum_version 1.5.0
load helpers
load lib/image
load lib/registry
load lib/remote
load lib/unpack
load lib/tasks

REPO=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
COMMON=$REPO/board/common

setup_file() {
	# The builds make check lays out: the static one where $EMBER_BIN is
	# (else build/), the development one in its dev/.
	local d
	d=$(dirname "$(readlink -f "$EMBER")")
	[ -f "$d/.config" ] || d=$REPO/build
	export STATIC_O=$d DEV_O=$d/dev
	# Up to date (nothing to do after make check; a first dev build takes
	# minutes, more than a test's timeout), at a low priority: this machine
	# is shared.
	build static
	build dev
	# BusyBox's applets alone, for S60ember under BusyBox ash.
	export BB_PATH=$BATS_FILE_TMPDIR/busybox
	mkdir -p "$BB_PATH"
	local a bb
	bb=$(command -v busybox)
	for a in $("$bb" --list); do
		ln -sf "$bb" "$BB_PATH/$a"
	done
}

setup() {
	setup_dirs
	STAGE=$T/stage
	PIDFILE=$T/ember.pid
}

teardown() {
	cleanup_agent
	rc_cleanup
	tasks_teardown
}

# build FLAVOUR: make all in that build's directory.
build() {
	local o=$STATIC_O
	[ "$1" = static ] || o=$DEV_O
	nice make -C "$REPO" -s -j2 FLAVOUR="$1" O="$o" all >"$BATS_FILE_TMPDIR/make-$1.log" 2>&1 || {
		cat "$BATS_FILE_TMPDIR/make-$1.log" >&2
		return 1
	}
}

# stage FLAVOUR MAKE-ARGS...: make install into $STAGE.
stage() {
	local flavour=$1 o=$STATIC_O
	shift
	[ "$flavour" = static ] || o=$DEV_O
	run -0 make -C "$REPO" -s FLAVOUR="$flavour" O="$o" install DESTDIR="$STAGE" "$@"
}

# conf KEY: a string value of this build's configuration, unquoted.
conf() {
	sed -n "s/^CONFIG_$1=\"\\(.*\\)\"\$/\\1/p" "$STATIC_O/include/config/auto.conf"
}

# pc ARGS...: pkg-config over the staged ember.pc alone (and, for a
# development build's jansson, the system's own .pc files).
pc() {
	PKG_CONFIG_SYSROOT_DIR=$STAGE PKG_CONFIG_LIBDIR=$STAGE/usr/lib/pkgconfig${PC_SYSTEM:+:$PC_SYSTEM} \
		pkg-config "$@"
}

# staged_daemon: the staged emberd (the link, so the name picks the role)
# as this test's daemon.
staged_daemon() {
	: >"$T/empty.toml"
	"$STAGE/usr/bin/emberd" --config "$T/empty.toml" --root "$ROOT" --state "$STATE" \
		--address "$SOCK" >>"$DAEMON_LOG" 2>&1 3>&- &
	DAEMON_PID=$!
	wait_for_daemon
}

# ---- S60ember on this host ------------------------------------------------

# rc_settings [LINE...]: this test's /etc/default/ember: every path in $T,
# short timeouts; LINEs are added at the end.
rc_settings() {
	{
		echo "EMBER=$EMBER"
		echo "EMBER_CONFIG=$COMMON/config.toml"
		echo "EMBER_ROOT=$ROOT"
		echo "EMBER_STATE=$STATE"
		echo "EMBER_ADDRESS=$SOCK"
		echo "EMBER_PIDFILE=$PIDFILE"
		echo "EMBER_LOG=$DAEMON_LOG"
		echo "EMBER_START_TIMEOUT=20"
		echo "EMBER_STOP_TIMEOUT=10"
		printf '%s\n' "$@"
	} >"$T/ember.default"
}

# rc SHELL ACTION: S60ember ACTION as init runs it (an empty environment),
# under SHELL: busybox (ash, with nothing but BusyBox's applets on PATH),
# dash or bash.
rc() {
	local sh=$1 path=/usr/sbin:/usr/bin:/sbin:/bin
	shift
	local cmd=("$(command -v "$sh")")
	if [ "$sh" = busybox ]; then
		path=$BB_PATH
		cmd+=(sh)
	fi
	env -i PATH="$path" EMBER_DEFAULTS="$T/ember.default" "${cmd[@]}" "$COMMON/S60ember" "$@" 3>&-
}

# alive PID: the process exists and is not a zombie (the service's daemon
# is not this shell's child: whoever reaps it may take a moment).
alive() {
	case $(cat "/proc/$1/stat" 2>/dev/null) in
	'' | *') Z '*) return 1 ;;
	esac
}

# The daemon's PID from the pidfile (the service's only record of it).
rc_pid() {
	cat "$PIDFILE"
}

# For teardown(): the service's daemons, which are not this shell's
# children (those with this test's pidfile on their command line, ready or
# not), and any stand-in a test started.
rc_cleanup() {
	local p
	for p in $(grep -lsF -- "$PIDFILE" /proc/[0-9]*/cmdline | cut -d/ -f3) ${RC_EXTRA_PIDS:-}; do
		kill -KILL "$p" 2>/dev/null || true
		wait_until 5 eval '! alive '"$p" || true
	done
	RC_EXTRA_PIDS=
}

# ---- make install -----------------------------------------------------------

@test "install: prefix=/usr DESTDIR puts the binary, headers, library, ember.pc (saying /usr) and the configuration in place" {
	stage static prefix=/usr
	[ -x "$STAGE/usr/bin/ember" ]
	cmp "$STAGE/usr/bin/ember" "$STATIC_O/ember"
	[ "$(readlink "$STAGE/usr/bin/emberd")" = ember ]
	diff -r "$REPO/include/ember" "$STAGE/usr/include/ember"
	cmp "$STAGE/usr/lib/libember.a" "$STATIC_O/libember.a"
	# ember.pc names the install's directories, not the build's defaults.
	local v
	for v in prefix=/usr libdir=/usr/lib includedir=/usr/include; do
		run -0 env PKG_CONFIG_LIBDIR="$STAGE/usr/lib/pkgconfig" pkg-config --variable="${v%%=*}" ember
		[ "$output" = "${v#*=}" ]
	done
	run ! grep -e /usr/local -e "$STAGE" -e "$STATIC_O" "$STAGE/usr/lib/pkgconfig/ember.pc"
	# The private sysroot's jansson is inside libember.a, hidden: only the
	# ember_* API is global, and nothing json_* is left to find elsewhere.
	run ! grep -i jansson "$STAGE/usr/lib/pkgconfig/ember.pc"
	run -0 nm -g --defined-only "$STAGE/usr/lib/libember.a"
	[[ "$output" == *" T ember_client_connect"* ]]
	run ! grep -v -e '^$' -e ':$' -e ' ember_' <<<"$output"
	run -0 nm -u "$STAGE/usr/lib/libember.a"
	run ! grep json_ <<<"$output"
	# The example configuration, with this build's defaults.
	local c=$STAGE$(conf DEFAULT_CONFIG)
	[ -f "$c" ]
	grep -qx "#root = \"$(conf DEFAULT_ROOT)\"" "$c"
	grep -qx "#state = \"$(conf DEFAULT_STATE)\"" "$c"
	grep -qx "#address = \"$(conf DEFAULT_ADDRESS)\"" "$c"
	grep -qx "#config_path = \"$(conf DEFAULT_CERTS_DIR)\"" "$c"
	# No service file unless INIT asks.
	[ ! -e "$STAGE/etc/init.d" ]
	[ ! -e "$STAGE/etc/default" ]
	[ ! -e "$STAGE/usr/lib/systemd" ]
}

@test "install: INIT=sysv, openrc, systemd install the service files for the install's bindir; an edited configuration is kept" {
	stage static prefix=/usr/local INIT="sysv openrc systemd"
	local f
	for f in etc/init.d/S60ember etc/init.d/ember; do
		[ "$(stat -c %a "$STAGE/$f")" = 755 ]
	done
	[ "$(stat -c %a "$STAGE/usr/local/lib/systemd/system/ember.service")" = 644 ]
	# The board files, with the install's bindir for /usr/bin.
	for f in S60ember:etc/init.d/S60ember ember.openrc:etc/init.d/ember ember.default:etc/default/ember \
		ember.default:etc/conf.d/ember ember.service:usr/local/lib/systemd/system/ember.service; do
		diff <(sed 's|/usr/bin/ember|/usr/local/bin/ember|g' "$COMMON/${f%%:*}") "$STAGE/${f#*:}"
	done
	grep -qx 'ExecStart=/usr/local/bin/emberd' "$STAGE/usr/local/lib/systemd/system/ember.service"
	grep -q '"${EMBER:=/usr/local/bin/ember}"' "$STAGE/etc/init.d/S60ember"
	# Configuration is the owner's: a changed file stays, the new one goes
	# beside it; an unchanged one is left alone.
	local c=$STAGE$(conf DEFAULT_CONFIG)
	echo 'root = "/data/ember"' >>"$c"
	echo 'EMBER_ARGS="--log syslog"' >>"$STAGE/etc/default/ember"
	cp "$c" "$T/config.mine"
	cp "$STAGE/etc/default/ember" "$T/default.mine"
	stage static prefix=/usr/local INIT="sysv openrc systemd"
	[[ "$output" == *"kept $c (it differs); the new one is $c.new"* ]]
	cmp "$c" "$T/config.mine"
	cmp "$STAGE/etc/default/ember" "$T/default.mine"
	diff <(head -n -1 "$c") "$c.new"
	diff <(head -n -1 "$STAGE/etc/default/ember") "$STAGE/etc/default/ember.new"
	[ ! -e "$STAGE/etc/conf.d/ember.new" ]
	# An init system it does not know is refused.
	run -2 make -C "$REPO" -s O="$STATIC_O" install DESTDIR="$T/other" INIT=upstart
	[[ "$output" == *'INIT takes sysv, openrc or systemd (or several), not "upstart"'* ]]
	[ ! -e "$T/other" ]
}

@test "install: the README's agent builds with musl against the staged static install from pkg-config --static alone, and runs" {
	stage static prefix=/usr
	readme_agent "$T/agent.c"
	# The compiler of the static build (musl-gcc from its toolchain file).
	local cc
	cc=$(sed -n 's/^CC := //p' "$STATIC_O"/toolchain-*.mk)
	[ -n "$cc" ]
	PC_SYSTEM= run -0 pc --static --cflags --libs ember
	local flags=${output% }
	[ "$flags" = "-I$STAGE/usr/include -L$STAGE/usr/lib -lember" ]
	# shellcheck disable=SC2086
	"$cc" -static -Wall -Wextra -Werror -o "$T/agent" "$T/agent.c" $flags
	run -0 file "$T/agent"
	[[ "$output" == *"statically linked"* ]]
	staged_daemon
	agent_follows "$T/agent"
}

@test "install: the README's agent builds with the development build (glibc, Debian's jansson) from pkg-config --static alone, and runs" {
	stage dev prefix=/usr
	grep -qx 'Requires.private: jansson' "$STAGE/usr/lib/pkgconfig/ember.pc"
	readme_agent "$T/agent.c"
	# jansson is the system's: its .pc files are searched after the stage.
	PC_SYSTEM=$(pkg-config --variable pc_path pkg-config) run -0 pc --static --cflags --libs ember
	local flags=$output
	[[ "$flags" == "-I$STAGE/usr/include -L$STAGE/usr/lib -lember "* ]]
	[[ "$flags" == *" -ljansson"* ]]
	# shellcheck disable=SC2086
	gcc -Wall -Wextra -Werror -o "$T/agent" "$T/agent.c" $flags
	staged_daemon
	agent_follows "$T/agent"
	assert_log_clean
}

# ---- the example configuration ----------------------------------------------

@test "config.toml: it names every key the daemon's parser knows; commented out it changes nothing, uncommented it starts a daemon with no warning" {
	# The keys of src/daemon/config.c's tables, and the tables.
	local keys k
	keys=$(grep -o '{ "[a-z_]*", apply_' "$REPO/src/daemon/config.c" | cut -d'"' -f2 | grep -vx auths)
	[ "$(wc -w <<<"$keys")" -ge 12 ]
	for k in $keys; do
		grep -qE "^#$k = " "$COMMON/config.toml" || { echo "config.toml lacks $k" >&2; false; }
	done
	for k in api debug registry snapshots network gc 'registry.auths."registry.example.com"'; do
		grep -qxF "#[$k]" "$COMMON/config.toml"
	done
	# As shipped: the daemon's defaults, no warning.
	DAEMON_CONFIG=$COMMON/config.toml start_daemon
	run -0 e info
	[[ "$output" == *"Root:"*"$ROOT"* ]]
	run ! grep -E 'warn|unknown' "$DAEMON_LOG"
	stop_daemon
	# Every setting uncommented: all known (the group must exist here, and
	# the flags keep the paths in $T).
	sed -E 's/^#(\[|[a-z_]+ = )/\1/' "$COMMON/config.toml" >"$T/all.toml"
	grep -qx 'stall_timeout = 30' "$T/all.toml"
	: >"$DAEMON_LOG"
	DAEMON_CONFIG=$T/all.toml start_daemon --group 0
	run ! grep -E 'warn|unknown' "$DAEMON_LOG"
	stop_daemon
}

# ---- S60ember (BusyBox init, sysvinit) ----------------------------------------

@test "S60ember: start returns once the daemon answers, status is 0 running and 3 stopped, stop ends it; BusyBox ash with BusyBox alone, dash, bash" {
	# A daemon that takes a second to come up, so that start must wait.
	printf '#!/bin/sh\nsleep 1\nexec "%s" "$@"\n' "$EMBER" >"$T/slow"
	chmod +x "$T/slow"
	rc_settings "EMBER=$T/slow"
	local sh pid t0 started
	for sh in busybox dash bash; do
		run -3 rc "$sh" status
		[ "$output" = "ember is not running" ]
		t0=$(date +%s%N)
		run -0 rc "$sh" start
		started=$output
		# Ready means ready: the first call works without a retry.
		run -0 e call io.ember.System.Version
		[ $(($(date +%s%N) - t0)) -ge 1000000000 ]
		pid=$(rc_pid)
		[ "$started" = "ember started (pid $pid)" ]
		run -0 rc "$sh" status
		[ "$output" = "ember is running (pid $pid)" ]
		# Its own session, / as its directory, the log as its output.
		[ "$(ps -o sid= -p "$pid" | tr -d ' ')" = "$pid" ]
		[ "$(readlink "/proc/$pid/cwd")" = / ]
		[ "$(readlink "/proc/$pid/fd/2")" = "$DAEMON_LOG" ]
		# Started again: nothing to do.
		run -0 rc "$sh" start
		[ "$output" = "ember is already running (pid $pid)" ]
		[ "$(rc_pid)" = "$pid" ]
		run -0 rc "$sh" stop
		[ "$output" = "ember stopped (containers keep running)" ]
		run ! alive "$pid"
		[ ! -e "$PIDFILE" ]
		run -3 rc "$sh" status
		run -0 rc "$sh" stop
		[ "$output" = "ember is not running" ]
	done
	run -2 rc busybox bogus
	[[ "$output" == "Usage: "*"{start|stop|restart|reload|force-reload|status}" ]]
}

@test "S60ember: a container started with ember run -d keeps running across restart and across stop and start; each new daemon adopts it" {
	require_runtime
	rc_settings
	run -0 rc busybox start
	image_busybox "$T/bb"
	tar -C "$T/bb" -cf "$T/bb.tar" .
	run -0 e images import --base-name example.com/bb "$T/bb.tar"
	local id pid
	id=$(ct svc)
	run -0 e run -d example.com/bb:latest "$id" sleep 600
	pid=$(e --json tasks ls | jget '[t["pid"] for t in j if t["id"] == "'"$id"'"][0]')
	alive "$pid"
	local old
	old=$(rc_pid)
	run -0 rc busybox restart
	[[ "$output" == *"ember stopped (containers keep running)"* ]]
	[ "$(rc_pid)" != "$old" ]
	run ! alive "$old"
	run -0 e tasks ls
	[[ "$output" == *"$id"*"$pid"*running* ]]
	run -0 rc busybox stop
	# No daemon: the container still runs.
	alive "$pid"
	run -0 rc busybox start
	run -0 e tasks ls
	[[ "$output" == *"$id"*"$pid"*running* ]]
	kill_remove "$id"
	run -0 rc busybox stop
}

@test "S60ember: stop ends a daemon deaf to SIGTERM after EMBER_STOP_TIMEOUT (SIGKILL); a killed daemon's pidfile is status 1 and the next start replaces it" {
	rc_settings EMBER_STOP_TIMEOUT=1
	run -0 rc busybox start
	local pid
	pid=$(rc_pid)
	# Stopped, it cannot act on SIGTERM; SIGKILL still ends it.
	kill -STOP "$pid"
	local t0=$SECONDS
	run -0 rc busybox stop
	[[ "$output" == *"did not stop within 1 s of SIGTERM: sending SIGKILL (containers keep running)"* ]]
	[[ "$output" == *"ember stopped" ]]
	[ $((SECONDS - t0)) -le 4 ]
	run ! alive "$pid"
	[ ! -e "$PIDFILE" ]
	run -3 rc busybox status
	# Killed behind the service's back: its pidfile stays.
	run -0 rc busybox start
	pid=$(rc_pid)
	kill -KILL "$pid"
	wait_until 5 eval '! alive '"$pid"
	run -1 rc busybox status
	[ "$output" = "ember is not running (a stale pidfile: $PIDFILE)" ]
	run -0 rc busybox start
	[ "$(rc_pid)" != "$pid" ]
	run -0 rc busybox status
	run -0 rc busybox stop
	# A pidfile naming a PID that no process has (once the killed daemon is
	# reaped): the same answers, and no word from the shell.
	pid=$(($(cat /proc/sys/kernel/pid_max) - 1))
	while [ -e "/proc/$pid" ]; do pid=$((pid - 1)); done
	echo "$pid" >"$PIDFILE"
	run -1 rc busybox status
	[ "$output" = "ember is not running (a stale pidfile: $PIDFILE)" ]
	run -0 rc busybox stop
	[ "$output" = "ember is not running" ]
	[ ! -e "$PIDFILE" ]
}

@test "S60ember: a daemon that fails fails start at once, with its log; one that never answers fails it after EMBER_START_TIMEOUT; reload is SIGHUP" {
	rc_settings 'EMBER_ARGS="--log-level nope"'
	local t0=$SECONDS
	run -1 rc busybox start
	[[ "$output" == *"the daemon exited during start-up (status 1); the end of $DAEMON_LOG:"* ]]
	[[ "$output" == *'--log-level: unknown level "nope"'* ]]
	[ $((SECONDS - t0)) -le 3 ]
	run -3 rc busybox status
	# A stand-in that never writes the pidfile.
	printf '#!/bin/sh\nexec sleep 60\n' >"$T/never"
	chmod +x "$T/never"
	rc_settings "EMBER=$T/never" EMBER_START_TIMEOUT=1
	run -1 rc busybox start
	[[ "$output" == *"did not answer within 1 s; it is left to finish starting (see $DAEMON_LOG)"* ]]
	RC_EXTRA_PIDS=$(sed -n 's/.*the daemon (pid \([0-9]*\)).*/\1/p' <<<"$output")
	[ -n "$RC_EXTRA_PIDS" ]
	kill -0 "$RC_EXTRA_PIDS"
	# Nothing to run at all.
	rc_settings "EMBER=$T/nothing"
	run -5 rc busybox start
	[[ "$output" == *"$T/nothing is not an executable file"* ]]
	# Bad settings.
	rc_settings EMBER_STOP_TIMEOUT=soon
	run -6 rc busybox status
	# reload: the daemon reads its configuration again.
	rc_settings
	run -7 rc busybox reload
	run -0 rc busybox start
	run -0 rc busybox force-reload
	[ "$output" = "ember (pid $(rc_pid)) reloads its configuration" ]
	wait_until 5 grep -q "configuration reloaded" "$DAEMON_LOG"
	run -0 rc busybox stop
}

# ---- OpenRC, systemd: what this host can check --------------------------------

@test "ember.openrc: S60ember's shared part, valid sh; with OpenRC's helpers stood in for, its start, status and stop run the daemon from /etc/conf.d settings" {
	run -0 "$COMMON/sync-rc.sh" --check
	[ "$(head -n 1 "$COMMON/ember.openrc")" = '#!/sbin/openrc-run' ]
	busybox sh -n "$COMMON/ember.openrc"
	dash -n "$COMMON/ember.openrc"
	# openrc-run sources conf.d, then the script, then calls its functions.
	rc_settings
	cat >"$T/openrc-run" <<-EOF
		ebegin() { echo "* \$*"; }
		eend() { echo "[\$1]"; return \$1; }
		einfo() { echo "* \$*"; }
		eerror() { echo "! \$*"; }
		. "$T/ember.default"
		. "$COMMON/ember.openrc"
		type depend >/dev/null
		[ "\$extra_started_commands" = reload ] && [ "\$rc_cgroup_cleanup" = NO ]
		"\$1"
	EOF
	run -0 env -i PATH="$BB_PATH" busybox sh "$T/openrc-run" start 3>&-
	[ "${lines[0]}" = "* Starting ember" ]
	[ "${lines[1]}" = "* ember started (pid $(rc_pid))" ]
	[ "${lines[2]}" = "[0]" ]
	run -0 e call io.ember.System.Version
	run -0 env -i PATH="$BB_PATH" busybox sh "$T/openrc-run" status
	[ "$output" = "* ember is running (pid $(rc_pid))" ]
	run -0 env -i PATH="$BB_PATH" busybox sh "$T/openrc-run" reload
	local pid
	pid=$(rc_pid)
	run -0 env -i PATH="$BB_PATH" busybox sh "$T/openrc-run" stop
	[ "$output" = $'* Stopping ember\n* ember stopped (containers keep running)\n[0]' ]
	run ! alive "$pid"
	run -3 env -i PATH="$BB_PATH" busybox sh "$T/openrc-run" status
}

@test "ember.service: systemd-analyze verify has nothing to say; notify readiness, only the daemon signalled, cgroups delegated" {
	command -v systemd-analyze >/dev/null || {
		echo "systemd-analyze is missing: board/deps.sh integration installs it (package systemd)" >&2
		false
	}
	stage static prefix=/usr INIT=systemd
	local unit=$STAGE/usr/lib/systemd/system/ember.service
	# verify wants ExecStart's program on this host: the staged one.
	mkdir -p "$T/units"
	sed "s|^ExecStart=/usr/bin/emberd|ExecStart=$STAGE/usr/bin/emberd|" "$unit" >"$T/units/ember.service"
	run -0 systemd-analyze verify "$T/units/ember.service"
	[ -z "$output" ]
	local want
	for want in Type=notify ExecStart=/usr/bin/emberd 'ExecReload=/bin/kill -HUP $MAINPID' KillMode=process \
		Delegate=yes Restart=on-failure LimitNOFILE=65536 WantedBy=multi-user.target; do
		grep -qxF "$want" "$unit" || { echo "ember.service lacks $want" >&2; false; }
	done
}
