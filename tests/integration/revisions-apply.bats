#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# Revisions applied to real containers: `ember revisions apply` switches a
# namespace to a staged revision (unchanged containers keep running, same
# pid), tests its health conditions, then commits, or rolls back by itself
# to the containers as they were, on their own snapshots and data. A
# daemon killed while a revision is tested rolls it back when it starts
# again ("unexpected"). Update locks defer an apply.

bats_require_minimum_version 1.5.0
load helpers
load lib/image
load lib/registry
load lib/remote
load lib/unpack
load lib/tasks

setup() {
	setup_dirs
	require_runtime
	WEB=$(ct web) DB=$(ct db) JOB=$(ct job) NEW=$(ct new)
}

teardown() {
	tasks_teardown
}

# doc ID [CONTAINER-JSON...]: a revision document in $T/ID.json; extra
# top-level keys in $DOC_EXTRA ("test_timeout": 5, ...).
doc() {
	local id=$1 c sep=
	shift
	{
		printf '{"id": "%s", %s "containers": [' "$id" "${DOC_EXTRA:-}"
		for c in "$@"; do
			printf '%s%s' "$sep" "$c"
			sep=', '
		done
		printf ']}\n'
	} >"$T/$id.json"
}

# svc ID ARGS-JSON [HEALTH-JSON]: a container entry running ARGS.
svc() {
	printf '{"id": "%s", "image": "example.com/bb:latest", "options": {"args": %s}%s}' "$1" "$2" \
		"${3:+, \"health\": $3}"
}

pid_of() {
	e --json tasks ls | jget '([t["pid"] for t in j if t["id"] == "'"$1"'" and t["status"] == "running"] + [""])[0]'
}

status_json() {
	e --json revisions status
}

up() {
	start_daemon
	import_bb
}

# r1's db: it appends to a file of its snapshot.
db_v1() {
	svc "$DB" '["sh", "-c", "echo v1 >>/state; exec sleep 1000"]' '{"running": 1}'
}

# Apply r1 (web and db), committed after 1 s of running.
base() {
	doc r1 "$(svc "$WEB" '["sleep", "1000"]' '{"running": 1}')" "$(db_v1)"
	run -0 e revisions stage "$T/r1.json"
	run -0 e revisions apply r1
	echo "$output"
	[ "$output" = "r1: committed" ]
	WEB_PID=$(pid_of "$WEB")
	DB_PID=$(pid_of "$DB")
	[ -n "$WEB_PID" ] && [ -n "$DB_PID" ]
}

@test "revisions apply: a healthy revision commits; an unchanged container keeps running with the same pid" {
	printf '[revisions]\nkeep = 1\n' >"$T/config.toml"
	DAEMON_CONFIG=$T/config.toml up
	base
	run -0 e --json revisions status
	[ "$(jget '[j["committed"], j["phase"]]' <<<"$output")" = '["r1", "idle"]' ]
	# db changes, web does not, new is new.
	doc r2 "$(svc "$WEB" '["sleep", "1000"]' '{"running": 1}')" \
		"$(svc "$DB" '["sh", "-c", "echo v2 >>/state; exec sleep 1001"]' '{"running": 1}')" \
		"$(svc "$NEW" '["sleep", "1002"]' '{"exec": {"cmd": ["test", "-d", "/proc/1"], "interval": 1}}')"
	run -0 e revisions stage "$T/r2.json"
	start_events "$T/events" 'e namespaces label default n=$i'
	run -0 e revisions apply r2
	[ "$output" = "r2: committed" ]
	[ "$(pid_of "$WEB")" = "$WEB_PID" ]
	[ -n "$(pid_of "$DB")" ] && [ "$(pid_of "$DB")" != "$DB_PID" ]
	[ -n "$(pid_of "$NEW")" ]
	# The new db runs on a snapshot of its own: what r1's wrote is not there.
	run -0 e tasks exec --exec-id c "$DB" cat /state
	[ "$output" = v2 ]
	run -0 e --json revisions ls
	[ "$(jget '{r["name"]: r["state"] for r in j}' <<<"$output")" = '{"r1": "superseded", "r2": "committed"}' ]
	# r1's db snapshot went with the commit; web's r1 snapshot stays (it runs).
	run -0 e snapshots ls -q
	grep -qxF "$WEB@r1" <<<"$output"
	grep -qxF "$DB@r2" <<<"$output"
	run ! grep -qxF "$DB@r1" <<<"$output"
	run ! grep -qxF "$WEB@r2" <<<"$output"
	wait_until 5 grep -q "/revisions/committed {\"id\":\"r2\"}" "$T/events"
	grep -q "/revisions/testing {\"id\":\"r2\"" "$T/events"
	grep -q "/revisions/healthy {\"id\":\"r2\",\"container\":\"$NEW\"}" "$T/events"
	# The committed revision cannot be removed, nor applied again.
	run -1 e revisions rm r2
	[[ "$output" == "ember: revision r2 is committed: the committed one and one being applied stay" ]]
	run -1 e revisions apply r2
	[ "$output" = "ember: revision r2 is the committed one already" ]
	# A revision that drops a container removes it.
	doc r3 "$(svc "$WEB" '["sleep", "1000"]' '{"running": 1}')"
	run -0 e revisions stage "$T/r3.json"
	run -0 e revisions apply r3
	[ "$(pid_of "$WEB")" = "$WEB_PID" ]
	run -0 e containers ls -q
	[ "$(sort <<<"$output")" = "$WEB" ]
	# [revisions] keep = 1: r1, the oldest superseded one, went.
	run -0 e --json revisions ls
	[ "$(jget '{r["name"]: r["state"] for r in j}' <<<"$output")" = '{"r2": "superseded", "r3": "committed"}' ]
}

@test "revisions apply: a crash-looping container rolls back by itself to the old containers and their data" {
	up
	base
	doc r2 "$(svc "$WEB" '["sleep", "1000"]' '{"running": 1}')" \
		"$(svc "$DB" '["sh", "-c", "echo broken >>/state; exit 3"]' '{"running": 3}')"
	run -0 e revisions stage "$T/r2.json"
	run -1 e revisions apply r2
	echo "$output"
	[ "$output" = "ember: revision r2 rolled back: container $DB exited (code 3) while revision r2 was tested" ]
	# web never stopped; db is r1's again, on its own snapshot: its file
	# has r1's line twice (it ran twice), and none of r2's.
	[ "$(pid_of "$WEB")" = "$WEB_PID" ]
	wait_until 5 [ -n "$(pid_of "$DB")" ]
	[ "$(pid_of "$DB")" != "$DB_PID" ]
	run -0 e tasks exec --exec-id c "$DB" cat /state
	[ "$output" = "$(printf 'v1\nv1')" ]
	run -0 e --json revisions status
	[ "$(jget '[j["committed"], j["phase"], j["history"][-1]["outcome"], j["history"][-1]["unexpected"]]' <<<"$output")" = \
		'["r1", "idle", "rolled-back", false]' ]
	run -0 e --json revisions show r2
	[ "$(jget 'j["state"]' <<<"$output")" = rolled-back ]
	# r2's snapshots went.
	run -0 e snapshots ls -q
	run ! grep -q "@r2$" <<<"$output"
	# The figure: from the verdict to the old revision running again.
	grep -E "revision default/r2 rolled back \(the old containers ran again [0-9]+ ms after the verdict\)" "$DAEMON_LOG"
}

@test "revisions apply: an exec probe that fails, and a test that times out, roll back; one that passes commits" {
	up
	base
	doc r2 "$(svc "$WEB" '["sleep", "1001"]' '{"exec": {"cmd": ["false"], "interval": 1, "retries": 2}}')" "$(db_v1)"
	run -0 e revisions stage "$T/r2.json"
	run -1 e revisions apply r2
	[ "$output" = "ember: revision r2 rolled back: container $WEB: its health probe failed 2 times (last: exit code 1)" ]
	[ "$(pid_of "$DB")" = "$DB_PID" ]
	wait_until 5 [ -n "$(pid_of "$WEB")" ]

	DOC_EXTRA='"test_timeout": 3,' doc r3 \
		"$(svc "$WEB" '["sleep", "1002"]' '{"exec": {"cmd": ["sleep", "10"], "interval": 1, "timeout": 9, "retries": 5}}')" \
		"$(db_v1)"
	run -0 e revisions stage "$T/r3.json"
	run -1 e revisions apply r3
	[ "$output" = "ember: revision r3 rolled back: timed out after 3 s: not healthy: $WEB" ]

	doc r4 "$(svc "$WEB" '["sleep", "1003"]' '{"exec": {"cmd": ["true"], "interval": 1}}')" \
		"$(svc "$JOB" '["sh", "-c", "exit 0"]' '{"exited": 0}')"
	run -0 e revisions stage "$T/r4.json"
	run -0 e revisions apply r4
	[ "$output" = "r4: committed" ]
	# db is not in r4: gone.
	run -0 e containers ls -q
	[ "$(sort <<<"$output")" = "$(printf '%s\n' "$JOB" "$WEB" | sort)" ]
	# A one-shot job that fails rolls back.
	doc r5 "$(svc "$WEB" '["sleep", "1003"]' '{"exec": {"cmd": ["true"], "interval": 1}}')" \
		"$(svc "$JOB" '["sh", "-c", "exit 4"]' '{"exited": 0}')"
	run -0 e revisions stage "$T/r5.json"
	run -1 e revisions apply r5
	[ "$output" = "ember: revision r5 rolled back: container $JOB exited with code 4, not 0" ]

	# A container that crashes once while the next ones start, and that
	# its restart policy runs again before the test begins: that exit
	# counts (whichever comes first, the test or the restart).
	local crash='["sh", "-c", "[ -f /x ] \u0026\u0026 exec sleep 1000; touch /x; exit 3"]' more=() i
	for i in 1 2 3 4 5; do more+=("$(svc "$(ct "m$i")" '["sleep", "1000"]' '{"running": 1}')"); done
	doc r6 "$(svc "$WEB" "$crash" '{"running": 2}')" "${more[@]}"
	run -0 e revisions stage "$T/r6.json"
	run -1 e revisions apply r6
	echo "$output"
	[[ "$output" == "ember: revision r6 rolled back: container $WEB exited (code 3) while revision r6 was tested" ||
		"$output" == "ember: revision r6 rolled back: container $WEB exited and was restarted while revision r6 was applied" ]]

	# A revision of no container commits at once: every container goes.
	doc r7
	run -0 e revisions stage "$T/r7.json"
	run -0 e revisions apply r7
	[ "$output" = "r7: committed" ]
	run -0 e containers ls -q
	[ -z "$output" ]
}

@test "revisions apply: commit and rollback by hand; update locks defer an apply" {
	up
	base
	doc r2 "$(svc "$WEB" '["sleep", "1001"]' '{"running": 30}')" "$(db_v1)"
	run -0 e revisions stage "$T/r2.json"
	run -0 e revisions lock agent --reason "a call is in progress"
	run -1 e revisions apply r2
	[ "$output" = "ember: namespace default is locked for updates by agent (a call is in progress): wait for \`ember revisions unlock\`, or apply --force" ]
	run -0 e revisions status
	grep -qx "locked by agent: a call is in progress" <<<"$output"
	run -0 e revisions unlock agent
	run -1 e revisions unlock agent
	[ "$output" = "ember: namespace default has no update lock of agent" ]

	run -1 e revisions commit
	[ "$output" = "ember: namespace default: no revision is being tested" ]
	run -0 e revisions apply --no-wait r2
	[ "$output" = "r2: testing" ]
	run -1 e revisions apply r2
	[ "$output" = "ember: namespace default: revision r2 is being applied" ]
	run -0 e revisions rollback --reason "operator said so"
	[ "$output" = "r2: rolled-back: rolled back by a user: operator said so" ]
	wait_until 5 [ -n "$(pid_of "$WEB")" ]
	[ "$(pid_of "$DB")" = "$DB_PID" ]

	run -0 e revisions lock agent
	run -0 e revisions apply --force --no-wait r2
	run -0 e revisions commit
	[ "$output" = "r2: committed" ]
	run -0 e --json revisions status
	[ "$(jget '[j["committed"], sorted(j["locks"])]' <<<"$output")" = '["r2", ["agent"]]' ]
}

@test "revisions apply: a daemon killed while a revision is tested rolls it back when it starts again" {
	up
	base
	doc r2 "$(svc "$WEB" '["sleep", "1001"]' '{"running": 50}')" \
		"$(svc "$DB" '["sh", "-c", "echo v2 >>/state; exec sleep 1001"]' '{"running": 50}')"
	run -0 e revisions stage "$T/r2.json"
	run -0 e revisions apply --no-wait r2
	local new_web; new_web=$(pid_of "$WEB")
	[ -n "$new_web" ] && [ "$new_web" != "$WEB_PID" ]
	kill -KILL "$DAEMON_PID"
	wait "$DAEMON_PID" || true
	start_daemon
	wait_until 10 sh -c "$EMBER --address $SOCK revisions status | grep -q '^phase: idle'"
	run -0 e --json revisions status
	echo "$output"
	[ "$(jget '[j["committed"], j["history"][-1]["id"], j["history"][-1]["outcome"], j["history"][-1]["unexpected"]]' <<<"$output")" = \
		'["r1", "r2", "rolled-back", true]' ]
	[[ "$(jget 'j["history"][-1]["reason"]' <<<"$output")" == "the daemon stopped while revision r2 was tested"* ]]
	# r2's containers were stopped; r1's run again on their data.
	# (Its init is no child of this daemon: a zombie until its reaper looks.)
	wait_until 5 sh -c "! kill -0 $new_web 2>/dev/null || grep -q '^State:.*Z' /proc/$new_web/status"
	wait_until 5 [ -n "$(pid_of "$WEB")" ]
	wait_until 5 [ -n "$(pid_of "$DB")" ]
	run -0 e tasks exec --exec-id c "$DB" cat /state
	[ "$output" = "$(printf 'v1\nv1')" ]
	run -0 e snapshots ls -q
	run ! grep -q "@r2$" <<<"$output"
	# Records and store agree; nothing of r2 is left.
	run -0 e system check
	echo "$output"
	[[ "${lines[-1]}" == *" 0 problem(s)"* ]]
}

@test "revisions apply: the image's Healthcheck; an exit during commit_delay; stop_timeout's SIGKILL" {
	up
	base
	image_busybox_health "$T/hc"
	tar -C "$T/hc" -cf "$T/hc.tar" .
	run -0 e images import --base-name example.com/hc "$T/hc.tar"
	# hc WEB ARGS-JSON: WEB on the image with a Healthcheck, health from it.
	hc() {
		printf '{"id": "%s", "image": "example.com/hc:latest", "options": {"args": %s}, "health": {"healthcheck": true}}' \
			"$WEB" "$1"
	}
	# busybox's config has none: refused at staging, nothing recorded.
	doc r2 "$(svc "$WEB" '["sleep", "1000"]' '{"healthcheck": true}')" "$(db_v1)"
	run -1 e revisions stage "$T/r2.json"
	echo "$output"
	[ "$output" = "ember: revision: containers[0] ($WEB): health: healthcheck: the image config has no Healthcheck" ]
	run -1 e revisions show r2

	# The image's probe (test -f /healthy, every second, 2 retries).
	doc r3 "$(hc '["sh", "-c", "touch /healthy; exec sleep 1000"]')" "$(db_v1)"
	run -0 e revisions stage "$T/r3.json"
	run -0 e revisions apply r3
	[ "$output" = "r3: committed" ]
	doc r4 "$(hc '["sleep", "1001"]')" "$(db_v1)"
	run -0 e revisions stage "$T/r4.json"
	run -1 e revisions apply r4
	[ "$output" = "ember: revision r4 rolled back: container $WEB: its health probe failed 2 times (last: exit code 1)" ]

	# Healthy after 1 s, then an exit while commit_delay still watches.
	DOC_EXTRA='"commit_delay": 5,' doc r5 "$(svc "$WEB" '["sh", "-c", "sleep 2; exit 5"]' '{"running": 1}')" "$(db_v1)"
	run -0 e revisions stage "$T/r5.json"
	run -1 e revisions apply r5
	echo "$output"
	[ "$output" = "ember: revision r5 rolled back: container $WEB exited (code 5) while revision r5 was tested" ]
	run -0 e --json revisions status
	[ "$(jget '[j["committed"], j["history"][-1]["outcome"]]' <<<"$output")" = '["r3", "rolled-back"]' ]

	# A container deaf to SIGTERM is killed after the new revision's
	# stop_timeout (2 s here; the default, 10 s, would show).
	doc r6 "$(svc "$WEB" '["sh", "-c", "trap \"\" TERM; while :; do sleep 0.2; done"]' '{"running": 1}')" "$(db_v1)"
	run -0 e revisions stage "$T/r6.json"
	run -0 e revisions apply r6
	[ "$output" = "r6: committed" ]
	local deaf
	deaf=$(pid_of "$WEB")
	DOC_EXTRA='"stop_timeout": 2,' doc r7 "$(svc "$WEB" '["sleep", "1002"]' '{"running": 1}')" "$(db_v1)"
	run -0 e revisions stage "$T/r7.json"
	local start end
	start=$(date +%s%N)
	run -0 e revisions apply r7
	end=$(date +%s%N)
	[ "$output" = "r7: committed" ]
	echo "apply took $(((end - start) / 1000000)) ms"
	# 2 s to the SIGKILL, then the 1 s test.
	[ $(((end - start) / 1000000)) -ge 3000 ] && [ $(((end - start) / 1000000)) -lt 9000 ]
	[ ! -e "/proc/$deaf" ] || [ "$(awk '{ print $3 }' "/proc/$deaf/stat")" = Z ]
	[ "$(pid_of "$DB")" = "$DB_PID" ]
}
