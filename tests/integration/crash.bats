#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# Crash safety of the metadata store: kill -9 in the middle of writes, and
# start-up recovery of what a crash leaves behind.

bats_require_minimum_version 1.5.0
load helpers

setup() {
	setup_dirs
}

teardown() {
	kill_bg
	cleanup_daemon
	assert_log_clean
}

@test "crash: kill -9 during writes leaves only complete records (5 rounds)" {
	start_daemon
	local round ms pa pb leftovers
	for round in 1 2 3 4 5; do
		# Two writers on two connections, as fast as they can.
		raw churn "r${round}a" --log "$T/churn-${round}a.log" >"$T/churn-${round}a.out" 2>&1 3>&- &
		pa=$!
		raw churn "r${round}b" --log "$T/churn-${round}b.log" >"$T/churn-${round}b.out" 2>&1 3>&- &
		pb=$!
		bg_track "$pa" "$pb"
		# Once both are writing, a random 50-500 ms later: kill -9.
		wait_until 10 grep -q '"ack"' "$T/churn-${round}a.log"
		wait_until 10 grep -q '"ack"' "$T/churn-${round}b.log"
		ms=$((50 + RANDOM % 451))
		sleep "$(printf '%d.%03d' $((ms / 1000)) $((ms % 1000)))"
		kill_daemon
		leftovers=$(find "$ROOT/meta" -name '.tmp-*' | wc -l)
		# The writers notice the daemon is gone and stop by themselves.
		wait "$pa" "$pb"
		echo "round $round: killed after ${ms} ms; $(cat "$T/churn-${round}a.out") + $(cat "$T/churn-${round}b.out") calls; $leftovers temporary entries left"
		start_daemon
		grep -q 'recovery: removed [0-9]* unfinished record(s)' "$DAEMON_LOG"
		assert_records_valid
		assert_no_tmp_records
		# Everything acknowledged is there, nothing else.
		run -0 raw churn-verify "r${round}a" --log "$T/churn-${round}a.log"
		echo "  a: $output"
		run -0 raw churn-verify "r${round}b" --log "$T/churn-${round}b.log"
		echo "  b: $output"
	done
	# Every directory is a namespace the daemon lists, and the other way round.
	run -0 e namespaces ls -q
	[ "$output" = "$(ls "$ROOT/meta" | LC_ALL=C sort)" ]
	[ "${#lines[@]}" -gt 5 ]
	# The store still works normally.
	e namespaces create after-the-storm x=1
	e namespaces label after-the-storm y=2
	e namespaces rm after-the-storm
}

@test "crash: leftovers of a crash are removed at start-up" {
	start_daemon
	e namespaces create real a=1
	e namespaces create other
	local real_before
	real_before=$(cat "$ROOT/meta/real/namespace.json")
	stop_daemon
	# A half-created namespace, a half-deleted one, a half-written record.
	mkdir "$ROOT/meta/.tmp-ns-abc"
	echo '{"name":"abc","labels":{}' >"$ROOT/meta/.tmp-ns-abc/namespace.json"
	mkdir -p "$ROOT/meta/.tmp-del-xyz/images"
	echo '{"name":"xyz","labels":{}}' >"$ROOT/meta/.tmp-del-xyz/namespace.json"
	echo '{}' >"$ROOT/meta/.tmp-del-xyz/images/img.json"
	echo '{"name":"real","lab' >"$ROOT/meta/real/.tmp-x-namespace.json"
	start_daemon
	grep 'recovery:' "$DAEMON_LOG"
	grep -q 'recovery: removed 3 unfinished record(s)' "$DAEMON_LOG"
	assert_no_tmp_records
	assert_records_valid
	[ "$(ls -A "$ROOT/meta")" = "$(printf 'other\nreal')" ]
	[ "$(ls -A "$ROOT/meta/real")" = namespace.json ]
	[ "$(cat "$ROOT/meta/real/namespace.json")" = "$real_before" ]
	run -0 e namespaces ls -q
	[ "$output" = "$(printf 'other\nreal')" ]
	[ "$(e namespaces info real | jget 'j["labels"]')" = '{"a": "1"}' ]
	# A clean start removes nothing.
	stop_daemon
	: >"$DAEMON_LOG"
	start_daemon
	grep -q 'recovery: removed 0 unfinished record(s)' "$DAEMON_LOG"
}

@test "crash: leftovers inside object directories are removed too, records are kept" {
	start_daemon
	e namespaces create ns1
	stop_daemon
	mkdir -p "$ROOT/meta/ns1/images" "$ROOT/meta/ns1/containers"
	echo '{"name":"x"}' >"$ROOT/meta/ns1/images/x.json"
	echo '{"name":"y"' >"$ROOT/meta/ns1/images/.tmp-y.json"
	echo '{"name":"c"' >"$ROOT/meta/ns1/containers/.tmp-c.json"
	start_daemon
	grep -q 'recovery: removed 2 unfinished record(s)' "$DAEMON_LOG"
	assert_no_tmp_records
	[ -e "$ROOT/meta/ns1/images/x.json" ]
	# x.json is an object: the namespace is not empty.
	run -1 e namespaces rm ns1
}
