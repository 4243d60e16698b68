#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# `ember oci update` and `ember oci events`, against Debian's runc on the
# same busybox bundle: the cgroup files an update writes, what state.json
# keeps, the stats JSON's keys, oom events, and bad input as one line that
# changes nothing.

bats_require_minimum_version 1.5.0
load lib/oci

# cgfile RUNTIME CONTROLLER FILE: a file of the v1 cgroup RUNTIME's
# container is in (runc and ember place it differently).
cgfile() {
	local rel
	rel=$(awk -F: -v c="$2" '$2 == c {print $3}' /proc/"$(cat "$T/$1.ct.pid")"/cgroup)
	cat "/sys/fs/cgroup/$2$rel/$3"
}

# v1 here (the hybrid layout counts as v1); the cgroup files tests below
# read are v1's.
need_v1() {
	if [ ! -d /sys/fs/cgroup/memory ] || [ ! -d /sys/fs/cgroup/pids ] || [ ! -d /sys/fs/cgroup/cpu ]; then
		skip "cgroup v1 memory, pids and cpu hierarchies needed"
	fi
}

# sig_blocked PID: PID holds SIGINT and SIGTERM back (for its signalfd).
sig_blocked() {
	[ $((0x$(awk '/^SigBlk:/ {print $2}' /proc/"$1"/status) & 0x4002)) = $((0x4002)) ]
}

# lines_ge FILE N: FILE has N lines or more.
lines_ge() {
	[ "$(wc -l <"$1")" -ge "$2" ]
}

resources() {
	"$PYTHON" -c 'import json; print(json.dumps(json.load(open("'"$OCI_ROOT/$CT_ID"'/state.json"))["spec"]["linux"].get("resources", {}), sort_keys=True))'
}

@test "oci update: memory, swap, pids and cpu reach the cgroup as runc writes them; state.json keeps them for the next update" {
	need_v1
	set_process '{"terminal": False, "args": ["sleep", "1000"]}'
	local rt vals=()
	for rt in $(runtimes_runc); do
		start_bg "$rt"
		run -0 "${R[@]}" update --memory 64m --memory-swap 128m --memory-reservation 32M --pids-limit 20 \
			--cpu-share 512 --cpu-quota 20000 --cpu-period 100000 "$CT_ID"
		vals+=("$(cgfile "$rt" memory memory.limit_in_bytes) $(cgfile "$rt" memory memory.memsw.limit_in_bytes)" \
			"$(cgfile "$rt" memory memory.soft_limit_in_bytes) $(cgfile "$rt" pids pids.max)" \
			"$(cgfile "$rt" cpu cpu.shares) $(cgfile "$rt" cpu cpu.cfs_quota_us) $(cgfile "$rt" cpu cpu.cfs_period_us)")
		# Only the quota: the period stays; -1 lifts the pids limit.
		run -0 "${R[@]}" update --cpu-quota 50000 --pids-limit -1 "$CT_ID"
		vals+=("$(cgfile "$rt" cpu cpu.cfs_quota_us) $(cgfile "$rt" cpu cpu.cfs_period_us) $(cgfile "$rt" pids pids.max)")
		# -r: a linux.resources JSON on stdin, the flags ignored.
		run -0 "${R[@]}" update -r - --pids-limit 7 "$CT_ID" <<<'{"memory": {"limit": 100663296, "swap": 201326592}, "pids": {"limit": 9}}'
		vals+=("$(cgfile "$rt" memory memory.limit_in_bytes) $(cgfile "$rt" pids pids.max) $(cgfile "$rt" cpu cpu.shares)")
		# runc's size forms: a fraction, a space, MiB.
		run -0 "${R[@]}" update --memory 1.5g --memory-swap 2048m --memory-reservation "48 MiB" "$CT_ID"
		vals+=("$(cgfile "$rt" memory memory.limit_in_bytes) $(cgfile "$rt" memory memory.memsw.limit_in_bytes) $(cgfile "$rt" memory memory.soft_limit_in_bytes)")
		status_is running
		"${R[@]}" delete --force "$CT_ID"
	done
	printf '%s\n' "${vals[@]}"
	[ "${vals[0]}" = "67108864 134217728" ] && [ "${vals[1]}" = "33554432 20" ] && [ "${vals[2]}" = "512 20000 100000" ]
	[ "${vals[3]}" = "50000 100000 max" ] && [ "${vals[4]}" = "100663296 9 512" ]
	[ "${vals[5]}" = "1610612736 2147483648 50331648" ]
	if [ "${#vals[@]}" = 12 ]; then
		# runc first, then ember: the same files, the same values.
		[ "${vals[*]:0:6}" = "${vals[*]:6:6}" ]
	fi

	# state.json: the values merged into the spec's linux.resources, so the
	# next update and a re-read start from them; events shows them.
	start_bg ember
	run -0 oci update --memory 64m --pids-limit 20 "$CT_ID"
	run -0 oci update --cpu-share 256 "$CT_ID"
	[ "$(resources | jget '[j["memory"], j["pids"], j["cpu"]]')" = '[{"limit": 67108864}, {"limit": 20}, {"shares": 256}]' ]
	run -0 oci events --stats "$CT_ID"
	[ "$(jget '[j["data"]["memory"]["usage"]["limit"], j["data"]["pids"]["limit"]]' <<<"$output")" = "[67108864, 20]" ]
	# runc 1.1: kernel memory is ignored, with its warning.
	run -0 oci update --kernel-memory 10m --kernel-memory-tcp 1m "$CT_ID"
	[ "$output" = "ember oci: warning: Kernel memory settings are ignored and will be removed" ]
	[ "$(resources | jget 'sorted(j["memory"])')" = '["limit"]' ]
	# A paused container takes an update too, as runc's does.
	run -0 oci pause "$CT_ID"
	run -0 oci update --pids-limit 30 "$CT_ID"
	[ "$(cgfile ember pids pids.max)" = 30 ]
	run -0 oci resume "$CT_ID"
	run -0 oci state "$CT_ID"
	[ "$(jget 'j["status"]' <<<"$output")" = running ]
	run -0 oci delete --force "$CT_ID"
	[ -z "$(ls -A "$OCI_ROOT")" ]
	[ -z "$(find /sys/fs/cgroup -maxdepth 3 -path "*ember-oci/$CT_ID" 2>/dev/null)" ]
}

@test "oci update: bad flags and values, a stopped or unknown container, what the kernel refuses: one line, exit 1, nothing changed" {
	need_v1
	set_process '{"terminal": False, "args": ["sleep", "1000"]}'
	start_bg ember
	run -0 oci update --memory 64m --cpuset-cpus 0 "$CT_ID"
	local before
	before=$(resources)
	while IFS='|' read -r args msg; do
		# shellcheck disable=SC2086 # the flags are words
		run -1 oci update $args "$CT_ID"
		[ "$output" = "ember oci: ${msg//CTID/$CT_ID}" ] || { echo "$args: $output"; false; }
	done <<'EOF'
--memory 12x|update: --memory "12x": not a size (bytes, or with a unit k, m, g, t or p; -1 for unlimited)
--cpu-share -5|update: --cpu-share "-5": not a decimal number of 0 or more
--pids-limit 1.5|update: --pids-limit "1.5": not an integer
--blkio-weight 500|update: linux.resources.blockIO (--blkio-weight): ember's cgroups have no blkio/io controller
--l3-cache-schema L3:0=f|update: --l3-cache-schema: Intel RDT is not supported (no linux.intelRdt)
--mem-bw-schema MB:0=50|update: --mem-bw-schema: Intel RDT is not supported (no linux.intelRdt)
--frob 1|update: unknown option "--frob"
--memory 100m --memory-swap 50m|update CTID: cgroup: linux.resources.memory.swap: below the memory limit
EOF
	# (musl and glibc word ERANGE differently)
	run -1 oci update --memory 32m --cpuset-cpus 4095 "$CT_ID"
	[[ "$output" == "ember oci: update $CT_ID: cgroup: cpuset.cpus: \"4095\": "* ]] && [ "${#lines[@]}" = 1 ]
	run -1 oci update --pids-limit 5 "$CT_ID" extra
	[ "$output" = "ember oci: update: one container id, not \"extra\" too" ]
	run -1 oci update -r - "$CT_ID" <<<'{"memory": {"limit": "1g"}}'
	[ "$output" = "ember oci: update $CT_ID: cgroup: linux.resources.memory.limit: must be an integer" ]
	run -1 oci update -r - "$CT_ID" <<<'{"memory": '
	[[ "$output" == "ember oci: update: --resources -: "* ]] && [ "${#lines[@]}" = 1 ]
	run -1 oci update -r - "$CT_ID" <<<'{"rdma": {"x": {}}}'
	[ "$output" = "ember oci: update: linux.resources.rdma: not supported" ]
	run -1 oci update -r - "$CT_ID" <<<'{"devices": []}'
	[ "$output" = "ember oci: update: linux.resources.devices: update does not change devices" ]
	run -0 "$EMBER" oci --help
	[[ "$output" == *"  update [-r FILE|-] [--memory N]"* ]] && [[ "$output" == *"  events [--stats] [--interval DURATION] ID"* ]]
	# Nothing changed: the files and state.json as they were (the memory
	# limit that came before the refused cpuset went back).
	[ "$(cgfile ember memory memory.limit_in_bytes)" = 67108864 ]
	[ "$(cgfile ember cpuset cpuset.cpus)" = 0 ]
	[ "$(resources)" = "$before" ]
	# A controller the container's cgroup lacks (its pids cgroup taken away
	# here): found before anything is written.
	cat "$T/ember.ct.pid" >/sys/fs/cgroup/pids/cgroup.procs
	rmdir /sys/fs/cgroup/pids/ember-oci/"$CT_ID"
	run -1 oci update --memory 32m --pids-limit 5 "$CT_ID"
	[ "$output" = "ember oci: update: linux.resources.pids.limit: the container's cgroup has no pids controller" ]
	[ "$(cgfile ember memory memory.limit_in_bytes)" = 67108864 ]
	run -1 oci update --memory 1m nosuch
	[ "$output" = "ember oci: container nosuch does not exist" ]
	run -0 oci kill "$CT_ID" KILL
	wait_until 5 status_is stopped
	run -1 oci update --memory 32m "$CT_ID"
	[ "$output" = "ember oci: update: container $CT_ID is not running" ]
	[ "$(resources)" = "$before" ]
	# runc refuses the same: a bad value and a stopped container.
	if runc_here; then
		start_bg runc
		run -1 "${R[@]}" update --memory 12x "$CT_ID"
		run -0 "${R[@]}" kill "$CT_ID" KILL
		wait_until 5 status_is stopped
		run -1 "${R[@]}" update --memory 32m "$CT_ID"
	fi
}

# The keys of runc's stats JSON at the levels ember fills.
stats_keys() {
	jget '{k: sorted(v) for k, v in [("data", j["data"]), ("cpu", j["data"]["cpu"]), ("usage", j["data"]["cpu"]["usage"]),
		("cpuset", j["data"]["cpuset"]), ("memory", j["data"]["memory"]), ("mem.usage", j["data"]["memory"]["usage"]),
		("mem.swap", j["data"]["memory"]["swap"]), ("mem.kernel", j["data"]["memory"]["kernel"]),
		("raw", j["data"]["memory"]["raw"]), ("pids", j["data"]["pids"]), ("top", j)]}'
}

@test "oci events --stats: runc's JSON, with the keys runc fills for cpu, cpuset, memory and pids; a stopped container is refused" {
	need_v1
	set_process '{"terminal": False, "args": ["sleep", "1000"]}'
	local rt keys=()
	for rt in $(runtimes_runc); do
		start_bg "$rt"
		# Some CPU time, and page cache (runc omits a cache of 0).
		"${R[@]}" exec "$CT_ID" sh -c 'i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done; head -c 1048576 /dev/zero >/dev/shm/f'
		run -0 "${R[@]}" events --stats "$CT_ID"
		[ "${#lines[@]}" = 1 ]
		echo "$rt: $output"
		[ "$(jget '[j["type"], j["id"]]' <<<"$output")" = "[\"stats\", \"$CT_ID\"]" ]
		[ "$(jget 'j["data"]["pids"]["current"]' <<<"$output")" = 1 ]
		[ "$(jget 'j["data"]["cpu"]["usage"]["total"] > 0 and j["data"]["memory"]["usage"]["usage"] > 0' <<<"$output")" = true ]
		keys+=("$(stats_keys <<<"$output")")
		run -0 "${R[@]}" kill "$CT_ID" KILL
		wait_until 5 status_is stopped
		run -1 "${R[@]}" events --stats "$CT_ID"
		"${R[@]}" delete "$CT_ID"
	done
	[ "$output" = "ember oci: events: container with id $CT_ID is not running" ]
	printf '%s\n' "${keys[@]}"
	if [ "${#keys[@]}" = 2 ]; then
		[ "${keys[0]}" = "${keys[1]}" ]
	fi
	run -1 oci events --stats nosuch
	[ "$output" = "ember oci: container nosuch does not exist" ]
	run -1 oci events --interval 0 "$CT_ID"
	[ "$output" = "ember oci: events: --interval \"0\": duration interval must be greater than 0" ]
	run -1 oci events --interval 5 "$CT_ID"
	[ "$output" = "ember oci: events: --interval \"5\": not a duration (5s, 500ms, 1m30s)" ]
	run -1 oci events --stat "$CT_ID"
	[ "$output" = "ember oci: events: unknown option \"--stat\"" ]
}

@test "oci events: a stats line every --interval until the container is deleted (status 0, as runc); SIGTERM and SIGINT end it cleanly" {
	need_v1
	set_process '{"terminal": False, "args": ["sleep", "1000"]}'
	local rt pid rc
	for rt in $(runtimes_runc); do
		start_bg "$rt"
		"${R[@]}" events --interval 200ms "$CT_ID" >"$T/$rt.ev" 2>"$T/$rt.err" &
		pid=$!
		bg_track "$pid"
		wait_until 10 lines_ge "$T/$rt.ev" 3
		# Stopped, it goes on with the stats of the cgroup, as runc does...
		run -0 "${R[@]}" kill "$CT_ID" KILL
		wait_until 5 status_is stopped
		wait_until 5 lines_ge "$T/$rt.ev" $(($(wc -l <"$T/$rt.ev") + 1))
		kill -0 "$pid"
		# ...and ends once delete takes the cgroup away.
		run -0 "${R[@]}" delete "$CT_ID"
		wait_until 5 eval "! kill -0 $pid 2>/dev/null"
		rc=0
		wait "$pid" || rc=$?
		[ "$rc" = 0 ]
		[ ! -s "$T/$rt.err" ]
		# Every line is a stats event of runc's shape.
		[ "$("$PYTHON" -c '
import json, sys
print(sorted({(j["type"], j["id"], tuple(sorted(j["data"]))) for j in map(json.loads, open(sys.argv[1]))}))' "$T/$rt.ev")" = \
			"[('stats', '$CT_ID', ('blkio', 'cpu', 'cpuset', 'hugetlb', 'intel_rdt', 'memory', 'network_interfaces', 'pids'))]" ]
	done
	start_bg ember
	local sig
	for sig in TERM INT; do
		"$EMBER" oci --root "$OCI_ROOT" events --interval 10s "$CT_ID" >"$T/term.ev" 2>&1 &
		pid=$!
		bg_track "$pid"
		wait_until 10 sig_blocked "$pid"
		kill -"$sig" "$pid"
		rc=0
		wait "$pid" || rc=$?
		[ "$rc" = 0 ]
		[ ! -s "$T/term.ev" ]
	done
	run -0 oci delete --force "$CT_ID"
}

@test "oci events: an oom line when the OOM killer acts in a container with a small memory limit, as runc prints it" {
	need_v1
	set_process '{"terminal": False, "args": ["sleep", "1000"]}'
	spec 'c["linux"].setdefault("resources", {})["memory"] = {"limit": 16777216, "swap": 16777216}'
	local rt pid
	for rt in $(runtimes_runc); do
		start_bg "$rt"
		"${R[@]}" events --interval 1h "$CT_ID" >"$T/$rt.ev" 2>"$T/$rt.err" &
		pid=$!
		bg_track "$pid"
		sleep 0.5
		# tail keeps the one endless line: the kernel kills it at 16 MiB.
		run -137 "${R[@]}" exec "$CT_ID" sh -c 'head -c 100m /dev/zero | tail'
		wait_until 5 grep -q . "$T/$rt.ev"
		[ "$(head -n1 "$T/$rt.ev")" = "{\"type\":\"oom\",\"id\":\"$CT_ID\"}" ]
		"${R[@]}" delete --force "$CT_ID"
		wait_until 5 eval "! kill -0 $pid 2>/dev/null"
	done
	[ ! -s "$T/ember.err" ]
}

# The v2 tests' container lives in the unified tree: what the shared
# teardown (which sees v1) would miss.
teardown() {
	local d=/sys/fs/cgroup/unified/ember-oci/$CT_ID p
	if [ -d "$d" ]; then
		for p in $(cat "$d/cgroup.procs" 2>/dev/null); do kill -9 "$p" 2>/dev/null || true; done
		wait_until 5 rmdir "$d" || true
	fi
	rmdir /sys/fs/cgroup/unified/ember-oci 2>/dev/null || true
	oci_teardown
}

@test "oci events and update on cgroup v2 (the hybrid's unified tree bound over /sys/fs/cgroup in a private mount namespace): cpu.stat, the end once the last process is gone, as runc's v2 events" {
	[ "$(stat -f -c %T /sys/fs/cgroup/unified 2>/dev/null)" = cgroup2fs ] || skip "no cgroup2 tree at /sys/fs/cgroup/unified"
	set_process '{"terminal": False, "args": ["sleep", "1000"]}'
	cat >"$T/v2.sh" <<EOF
mount --bind /sys/fs/cgroup/unified /sys/fs/cgroup || exit 99
E() { "$EMBER" oci --root "$OCI_ROOT" "\$@"; }
E run -d --bundle "$T/bundle" "$CT_ID" </dev/null >/dev/null 2>&1 || exit 98
E events --stats "$CT_ID" >"$T/v2.stats"
E update --pids-limit 5 "$CT_ID" >"$T/v2.update" 2>&1
E events --interval 200ms "$CT_ID" >"$T/v2.ev" 2>"$T/v2.ev.err" &
ev=\$!
sleep 0.7
E kill "$CT_ID" KILL
for i in \$(seq 100); do kill -0 \$ev 2>/dev/null || break; sleep 0.05; done
kill -0 \$ev 2>/dev/null && { kill -9 \$ev; echo alive >"$T/v2.ev.rc"; } || { wait \$ev; echo \$? >"$T/v2.ev.rc"; }
E delete --force "$CT_ID"
EOF
	run -0 unshare -m bash "$T/v2.sh"
	# cpu from v2's cpu.stat (a core file); this tree has no memory or
	# pids controller, so those stay empty, as runc leaves them.
	cat "$T/v2.stats"
	[ "$(jget '[sorted(j["data"]), sorted(j["data"]["cpu"]["usage"]), j["data"]["cpu"]["usage"]["total"] > 0, j["data"]["pids"]]' <"$T/v2.stats")" = \
		'[["blkio", "cpu", "cpuset", "hugetlb", "intel_rdt", "memory", "network_interfaces", "pids"], ["kernel", "total", "user"], true, {}]' ]
	[ "$(cat "$T/v2.update")" = "ember oci: update: linux.resources.pids.limit: the container's cgroup has no pids controller" ]
	# Stats lines until the kill, then the end by itself, status 0.
	[ "$(cat "$T/v2.ev.rc")" = 0 ]
	grep -q '"type":"stats"' "$T/v2.ev"
	[ "$(cat "$T/v2.ev.err")" = "ember oci: warning: events: no oom events: cgroup: memory.events: No such file or directory" ]
	[ ! -d /sys/fs/cgroup/unified/ember-oci/"$CT_ID" ]
	[ -z "$(ls -A "$OCI_ROOT")" ]
}
