#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# Namespaces through the CLI: create, ls, label, info, rm, names, labels,
# persistence, counts, and their events.

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

# ---- create, ls, info ------------------------------------------------------------

@test "namespaces: create with labels, then ls shows a table" {
	start_daemon
	run -0 e namespaces create ota team=edge tier=1
	[ -z "$output" ]
	run -0 e namespaces create operator
	run -0 e namespaces ls
	echo "$output"
	[ "${#lines[@]}" -eq 3 ]
	[[ "${lines[0]}" =~ ^NAME\ +LABELS$ ]]
	# Sorted by name; labels sorted by key.
	[[ "${lines[1]}" =~ ^operator\ *$ ]]
	[[ "${lines[2]}" =~ ^ota\ +team=edge,tier=1$ ]]
	# The columns line up.
	[ "$(echo "${lines[0]}" | awk '{ print index($0, "LABELS") }')" = "$(echo "${lines[2]}" | awk '{ print index($0, "team") }')" ]
	# Aliases.
	run -0 e ns list
	[ "${#lines[@]}" -eq 3 ]
	run -0 e namespace ls
	[ "${#lines[@]}" -eq 3 ]
}

@test "namespaces: ls -q prints only names, ls --json prints the records" {
	start_daemon
	e namespaces create b2 k=v
	e namespaces create a1
	e namespaces create c.3
	run -0 e namespaces ls -q
	echo "$output"
	[ "$output" = "$(printf 'a1\nb2\nc.3')" ]
	run -0 e namespaces ls --quiet
	[ "${#lines[@]}" -eq 3 ]
	run -0 e --json namespaces ls
	echo "$output"
	[ "$(echo "$output" | jget '[n["name"] for n in j]')" = '["a1", "b2", "c.3"]' ]
	[ "$(echo "$output" | jget 'j[1]["labels"]')" = '{"k": "v"}' ]
	[ "$(echo "$output" | jget 'j[0]["labels"]')" = '{}' ]
	[ "$(echo "$output" | jget 'all(n["created_at"].endswith("Z") and n["updated_at"] == n["created_at"] for n in j)')" = true ]
	# --json after the command works too.
	run -0 e namespaces ls --json
	[ "$(echo "$output" | jget 'len(j)')" = 3 ]
	# No namespaces: a header only, or nothing with -q, or [] in JSON.
	e namespaces rm a1 b2 c.3
	run -0 e namespaces ls -q
	[ -z "$output" ]
	run -0 e --json namespaces ls
	[ "$(echo "$output" | jget 'j')" = '[]' ]
}

@test "namespaces: info prints the namespace as JSON; a missing one fails" {
	start_daemon
	e namespaces create ota team=edge
	run -0 e namespaces info ota
	echo "$output"
	[ "$(echo "$output" | jget 'j["name"]')" = ota ]
	[ "$(echo "$output" | jget 'j["labels"]')" = '{"team": "edge"}' ]
	[ "$(echo "$output" | jget 'sorted(j)')" = '["created_at", "labels", "name", "updated_at"]' ]
	run -0 e namespaces inspect ota
	run -1 e namespaces info ghost
	echo "$output"
	[[ "$output" == *ghost* ]]
	[[ "$output" == *"not found"* ]]
	run -1 e --debug namespaces info ghost
	[[ "$output" == *io.ember.NotFound* ]]
}

# ---- labels --------------------------------------------------------------------------------

@test "namespaces: label sets, clears with KEY=, replaces, and shows" {
	start_daemon
	e namespaces create ota a=1 b=2
	local created
	created=$(e namespaces info ota | jget 'j["created_at"]')
	sleep 0.01
	# Set: merged into the others; prints the labels.
	run -0 e namespaces label ota c=3 a=10
	echo "$output"
	[ "$(echo "$output" | sort)" = "$(printf 'a=10\nb=2\nc=3')" ]
	run -0 e namespaces info ota
	[ "$(echo "$output" | jget 'j["labels"]')" = '{"a": "10", "b": "2", "c": "3"}' ]
	[ "$(echo "$output" | jget 'j["created_at"]')" = "$created" ]
	[ "$(echo "$output" | jget 'j["updated_at"] > j["created_at"]')" = true ]
	# KEY= clears one.
	run -0 e namespaces label ota b=
	[ "$(e namespaces info ota | jget 'j["labels"]')" = '{"a": "10", "c": "3"}' ]
	# No labels: shows them, changes nothing.
	local updated
	updated=$(e namespaces info ota | jget 'j["updated_at"]')
	run -0 e namespaces label ota
	echo "$output"
	[ "$(echo "$output" | sort)" = "$(printf 'a=10\nc=3')" ]
	[ "$(e namespaces info ota | jget 'j["updated_at"]')" = "$updated" ]
	run -0 e --json namespaces label ota
	[ "$(echo "$output" | jget 'j')" = '{"a": "10", "c": "3"}' ]
	# --replace: only the given ones remain.
	run -0 e namespaces label --replace ota z=26
	[ "$output" = z=26 ]
	[ "$(e namespaces info ota | jget 'j["labels"]')" = '{"z": "26"}' ]
	# --replace without labels clears them all.
	run -0 e namespaces label ota --replace
	[ -z "$output" ]
	[ "$(e namespaces info ota | jget 'j["labels"]')" = '{}' ]
	# Values may hold '=' and spaces.
	run -0 e namespaces label ota 'url=http://x/?a=b c'
	[ "$(e namespaces info ota | jget 'j["labels"]["url"]')" = 'http://x/?a=b c' ]
	# A missing namespace.
	run -1 e namespaces label ghost a=1
	[[ "$output" == *ghost* ]]
}

@test "namespaces: an invalid label is refused" {
	start_daemon
	e namespaces create ota
	# From the CLI: no key, or no '='.
	run -2 e namespaces create bad =v
	echo "$output"
	[[ "$output" == *'"=v"'* ]]
	run -2 e namespaces label ota novalue
	run -2 e namespaces label ota =v
	run -1 e namespaces info bad
	# From the API: the daemon checks too.
	run -1 raw call io.ember.Namespaces.Create '{"name":"bad","labels":{"":"v"}}'
	echo "$output"
	[ "$(echo "$output" | jget 'j["error"]')" = io.ember.InvalidArgument ]
	run -1 raw call io.ember.Namespaces.SetLabels '{"name":"ota","labels":{"a=b":"v"}}'
	[ "$(echo "$output" | jget 'j["error"]')" = io.ember.InvalidArgument ]
	run -1 raw call io.ember.Namespaces.SetLabels '{"name":"ota","labels":{"a\nb":"v"}}'
	[ "$(echo "$output" | jget 'j["error"]')" = io.ember.InvalidArgument ]
	# Too long: a label over 4096 bytes.
	run -1 e namespaces label ota "k=$(head -c 5000 /dev/zero | tr '\0' v)"
	echo "${output:0:200}"
	[ "$(e namespaces info ota | jget 'j["labels"]')" = '{}' ]
	run -1 e namespaces info bad
}

# ---- rm --------------------------------------------------------------------------------------

@test "namespaces: rm prints each name removed" {
	start_daemon
	e namespaces create one
	e namespaces create two
	e namespaces create three
	run -0 e namespaces rm one
	[ "$output" = one ]
	run -0 e namespaces rm two three
	[ "$output" = "$(printf 'two\nthree')" ]
	run -0 e namespaces ls -q
	[ -z "$output" ]
	[ -z "$(ls -A "$ROOT/meta")" ]
}

@test "namespaces: rm with a missing name removes the others and exits 1" {
	start_daemon
	e namespaces create one
	e namespaces create two
	run -1 e namespaces rm one ghost two
	echo "$output"
	[[ "$output" == *one* ]]
	[[ "$output" == *two* ]]
	[[ "$output" == *ghost* ]]
	run -0 e namespaces ls -q
	[ -z "$output" ]
	run -0 e namespaces remove --help
	run -2 e namespaces rm
}

@test "namespaces: a duplicate create fails with already exists" {
	start_daemon
	e namespaces create ota a=1
	run -1 e namespaces create ota b=2
	echo "$output"
	[[ "$output" == *"already exists"* ]]
	[[ "$output" != *io.ember.* ]]
	run -1 e --debug namespaces create ota
	echo "$output"
	[[ "$output" == *io.ember.AlreadyExists* ]]
	# The first one is unchanged.
	[ "$(e namespaces info ota | jget 'j["labels"]')" = '{"a": "1"}' ]
}

@test "namespaces: invalid names are refused" {
	start_daemon
	local name long
	long=$(printf 'a%.0s' $(seq 1 77))
	for name in "bad name" "a..b" "$long" "a/b" ".." "." ".tmp-ns-x" "a_" "_a" "a.-b" "ä" ""; do
		run -1 e namespaces create -- "$name"
		echo "[$name] -> $status: $output"
		[[ "$output" == *invalid* ]] || [[ "$output" == *name* ]]
	done
	run -1 e namespaces create -- -x
	echo "$output"
	# The daemon refuses them too, whatever the CLI does.
	for name in "-x" "a/b" "../../etc" "$long" ""; do
		run -1 raw call io.ember.Namespaces.Create "{\"name\":\"$name\"}"
		echo "[$name] -> $output"
		[ "$(echo "$output" | jget 'j["error"]')" = io.ember.InvalidArgument ]
	done
	run -0 e namespaces ls -q
	[ -z "$output" ]
	[ -z "$(ls -A "$ROOT/meta")" ]
	[ ! -e "$ROOT/etc" ]
	# 76 characters and the separators are fine.
	run -0 e namespaces create "${long:1}"
	run -0 e namespaces create a.b_c-d9
	run -0 e namespaces create 0ota
}

@test "namespaces: a namespace holding objects is not removed" {
	start_daemon
	e namespaces create busy
	e namespaces create empty
	mkdir -p "$ROOT/meta/busy/images"
	echo '{}' >"$ROOT/meta/busy/images/x.json"
	run -1 e --debug namespaces rm busy empty
	echo "$output"
	[[ "$output" == *io.ember.FailedPrecondition* ]]
	[[ "$output" == *busy* ]]
	[[ "$output" == *empty* ]]
	run -0 e namespaces ls -q
	[ "$output" = busy ]
	run -1 raw call io.ember.Namespaces.Delete '{"name":"busy"}'
	[ "$(echo "$output" | jget 'j["error"]')" = io.ember.FailedPrecondition ]
	[ -e "$ROOT/meta/busy/images/x.json" ]
	[ -e "$ROOT/meta/busy/namespace.json" ]
	# Emptied, it goes.
	rm "$ROOT/meta/busy/images/x.json"
	run -0 e namespaces rm busy
	[ ! -e "$ROOT/meta/busy" ]
}

@test "namespaces: ls works when their labels add up to more than the API output limit" {
	start_daemon
	# Each namespace within its own 64 KiB label limit; together 1.2 MiB,
	# more than one reply may carry (CONFIG_API_MAX_OUTPUT_KIB=1024).
	make_big_namespaces 20
	run -0 e info
	[[ "$output" =~ Namespaces:\ +20 ]]
	run -0 e namespaces ls -q
	echo "${output:0:500}"
	[ "${#lines[@]}" -eq 20 ]
	run -0 e namespaces ls
	[ "${#lines[@]}" -eq 21 ]
}

# ---- persistence and counts ----------------------------------------------------------------------

@test "namespaces: they persist across a daemon restart" {
	start_daemon
	e namespaces create ota team=edge
	e namespaces create ops
	e namespaces label ops on=call
	before=$(e --json namespaces ls)
	stop_daemon
	start_daemon
	after=$(e --json namespaces ls)
	echo "$before"
	echo "$after"
	[ "$before" = "$after" ]
	# And after a kill -9.
	e namespaces rm ops
	kill_daemon
	start_daemon
	run -0 e namespaces ls -q
	[ "$output" = ota ]
}

@test "namespaces: ember info counts them" {
	start_daemon
	run -0 e info
	echo "$output"
	[[ "$output" =~ Namespaces:\ +0 ]]
	e namespaces create a
	e namespaces create b
	e namespaces create c
	e namespaces rm b
	run -0 e info
	echo "$output"
	[[ "$output" =~ Namespaces:\ +2 ]]
	[ "$(e --json info | jget 'j["counts"]["namespaces"]')" = 2 ]
}

# ---- events ---------------------------------------------------------------------------------------

@test "namespaces: ember events sees create, update and delete in order" {
	start_daemon
	e namespaces create probe
	start_events "$T/ev" 'e namespaces label probe n=$i'
	e namespaces create watched a=1
	e namespaces label watched b=2
	e namespaces rm watched
	wait_until 5 grep -q ' watched /namespaces/delete ' "$T/ev"
	cat "$T/ev"
	grep -v ' probe ' "$T/ev" >"$T/ev.watched"
	[ "$(awk '{ print $2, $3 }' "$T/ev.watched")" = "$(printf 'watched /namespaces/create\nwatched /namespaces/update\nwatched /namespaces/delete')" ]
	# The payloads: the record, then the record with new labels, then the name.
	[ "$(sed -n 1p "$T/ev.watched" | cut -d' ' -f4- | jget 'j["labels"]')" = '{"a": "1"}' ]
	[ "$(sed -n 2p "$T/ev.watched" | cut -d' ' -f4- | jget 'j["labels"]')" = '{"a": "1", "b": "2"}' ]
	[ "$(sed -n 3p "$T/ev.watched" | cut -d' ' -f4- | jget 'j["name"]')" = watched ]
	# Timestamps: RFC 3339, in order.
	awk '{ print $1 }' "$T/ev.watched" >"$T/ts"
	sort -c "$T/ts"
	grep -qE '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z$' "$T/ts"
	# --json: one object per line.
	kill_bg
	start_events "$T/evj" 'e namespaces label probe m=$i' --json
	e namespaces create j1
	wait_until 5 grep -q '"j1"' "$T/evj"
	[ "$(grep '"j1"' "$T/evj" | jget 'j["topic"]')" = /namespaces/create ]
}

@test "namespaces: ember -n NS events shows only that namespace's events" {
	start_daemon
	e namespaces create mine
	start_events "$T/ev" 'e namespaces label mine probe=$i' -n mine
	e namespaces create other
	e namespaces label other x=1
	e namespaces label mine x=1
	e namespaces rm other
	e namespaces rm mine
	wait_until 5 grep -q ' mine /namespaces/delete ' "$T/ev"
	cat "$T/ev"
	[ "$(awk '{ print $2 }' "$T/ev" | sort -u)" = mine ]
	grep -q ' mine /namespaces/update .*"x":"1"' "$T/ev"
	# EMBER_NAMESPACE does the same.
	kill_bg
	e namespaces create envns
	EMBER_NAMESPACE=envns start_events "$T/ev2" 'e namespaces label envns p=$i'
	e namespaces create noise
	e namespaces label envns y=1
	wait_until 5 grep -q '"y":"1"' "$T/ev2"
	[ "$(awk '{ print $2 }' "$T/ev2" | sort -u)" = envns ]
}

@test "namespaces: ember events /namespaces/delete shows only deletes" {
	start_daemon
	start_events "$T/ev" 'e namespaces create probe$i && e namespaces rm probe$i' /namespaces/delete
	e namespaces create gone a=1
	e namespaces label gone b=1
	e namespaces rm gone
	wait_until 5 grep -q ' gone /namespaces/delete ' "$T/ev"
	cat "$T/ev"
	[ "$(awk '{ print $3 }' "$T/ev" | sort -u)" = /namespaces/delete ]
	# Several prefixes.
	kill_bg
	start_events "$T/ev2" 'e namespaces create q$i && e namespaces rm q$i' /namespaces/delete /namespaces/create
	e namespaces create both
	e namespaces label both c=1
	e namespaces rm both
	wait_until 5 grep -q ' both /namespaces/delete ' "$T/ev2"
	grep -q ' both /namespaces/create ' "$T/ev2"
	run -1 grep -q '/namespaces/update' "$T/ev2"
}

@test "namespaces: the event stream ends with an error when the daemon stops" {
	start_daemon
	e namespaces create probe
	start_events "$T/ev" 'e namespaces label probe n=$i'
	stop_daemon
	local rc=0
	wait "$EVENTS_PID" || rc=$?
	cat "$T/ev.err"
	[ "$rc" -eq 1 ]
	grep -q 'shutting down' "$T/ev.err"
}
