#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# The command line: help at every level, usage errors, addresses, version,
# bash completion, and `ember call`.

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

# help_ok "USAGE PREFIX" ARGS...: exit 0, the usage line first, on stdout.
help_ok() {
	local want=$1
	shift
	run --separate-stderr -0 "$EMBER" "$@"
	if [[ "${lines[0]}" != "Usage: $want"* ]]; then
		echo "ember $*: first line is \"${lines[0]}\", expected \"Usage: $want...\"" >&2
		return 1
	fi
	[ -z "$stderr" ]
}

# ---- help ------------------------------------------------------------------------

@test "cli: --help and -h at every level" {
	help_ok "ember [OPTIONS] COMMAND" --help
	help_ok "ember [OPTIONS] COMMAND" -h
	help_ok "ember namespaces" namespaces --help
	help_ok "ember namespaces" ns -h
	help_ok "ember namespaces ls" namespaces ls --help
	help_ok "ember namespaces ls" namespaces ls -h
	help_ok "ember namespaces create" namespaces create --help
	help_ok "ember namespaces rm" namespaces rm --help
	help_ok "ember namespaces label" namespaces label --help
	help_ok "ember namespaces info" namespaces info --help
	help_ok "ember call" call --help
	help_ok "ember events" events --help
	help_ok "ember completion" completion --help
	help_ok "ember info" info --help
	help_ok "ember info" info -h
	help_ok "ember version" version --help
	help_ok "ember namespaces ls" help namespaces ls
	help_ok "ember namespaces" help namespaces
	help_ok "ember [OPTIONS] COMMAND" help
	help_ok "ember daemon" daemon --help
	help_ok "ember daemon" daemon -h
	# Help wins over missing arguments, and never needs a daemon.
	help_ok "ember namespaces create" --address /nonexistent namespaces create --help
	# Options are named once in a usage line.
	local c
	for c in "run" "containers create" "tasks exec" "images pull" "images import"; do
		# shellcheck disable=SC2086 # the words of a command
		run -0 "$EMBER" $c --help
		[[ "${lines[0]}" == "Usage: ember $c [OPTIONS] "* ]]
		[[ "${lines[0]}" != *"[OPTIONS] [OPTIONS]"* ]]
	done
}

@test "cli: help lists the commands and the global options" {
	run -0 "$EMBER" --help
	local c
	for c in call completion events info namespaces version --address --namespace --json --debug; do
		[[ "$output" == *"$c"* ]] || { echo "missing $c" >&2; return 1; }
	done
	run -0 "$EMBER" namespaces --help
	for c in create info label ls rm; do
		[[ "$output" == *"  $c "* ]] || { echo "missing $c" >&2; return 1; }
	done
	run -0 "$EMBER" namespaces ls --help
	[[ "$output" == *--quiet* ]]
	run -0 "$EMBER" namespaces label --help
	[[ "$output" == *--replace* ]]
	run -2 "$EMBER" help nothing
	[[ "$output" == *nothing* ]]
}

# ---- usage errors: exit 2 ------------------------------------------------------------

@test "cli: an unknown command exits 2 with a message" {
	run --separate-stderr -2 "$EMBER" frobnicate
	echo "$stderr"
	[[ "$stderr" == *'unknown command "frobnicate"'* ]]
	[ -z "$output" ]
	run -2 "$EMBER" namespaces frobnicate
	[[ "$output" == *frobnicate* ]]
	# A group without its subcommand: its usage, on stderr.
	run --separate-stderr -2 "$EMBER" namespaces
	[[ "$stderr" == *"Usage: ember namespaces"* ]]
	run -2 "$EMBER"
}

@test "cli: an unknown option exits 2 with a message" {
	run -2 "$EMBER" --frobnicate info
	echo "$output"
	[[ "$output" == *--frobnicate* ]]
	run -2 "$EMBER" namespaces ls --all
	[[ "$output" == *--all* ]]
	run -2 "$EMBER" namespaces ls -x
	[[ "$output" == *-x* ]]
	run -2 "$EMBER" info --json=yes
	[[ "$output" == *json* ]]
	run -2 "$EMBER" version --bogus
	[[ "$output" == *--bogus* ]]
}

@test "cli: a missing argument or value exits 2 with a message" {
	run -2 "$EMBER" namespaces create
	echo "$output"
	[[ "$output" == *NAME* ]]
	run -2 "$EMBER" namespaces info
	run -2 "$EMBER" namespaces label
	run -2 "$EMBER" call
	[[ "$output" == *METHOD* ]]
	run -2 "$EMBER" completion
	run -2 "$EMBER" info --address
	[[ "$output" == *address* ]]
	run -2 "$EMBER" -n
}

@test "cli: an extra argument exits 2 with a message" {
	run -2 "$EMBER" info extra
	echo "$output"
	[[ "$output" == *'"extra"'* ]]
	run -2 "$EMBER" namespaces info a b
	[[ "$output" == *'"b"'* ]]
	run -2 "$EMBER" namespaces ls extra
	run -2 "$EMBER" call io.ember.System.Version '{}' extra
	run -2 "$EMBER" completion bash extra
	run -2 "$EMBER" version extra
}

@test "cli: --memory-limit takes runc's sizes; anything else exits 2 before the daemon is asked" {
	local v
	# Taken: the next step is the daemon, which is not there.
	for v in 4096 64m 1.5g "48 MiB" 2KB 1t; do
		run -1 "$EMBER" --address "$T/none.sock" containers create --memory-limit "$v" img id
		[[ "$output" == *connect* ]]
	done
	for v in "" -1 12x 1.5.5m 99999999999p; do
		run -2 "$EMBER" --address "$T/none.sock" containers create --memory-limit "$v" img id
		[ "$output" = "ember: --memory-limit: \"$v\" is not a size" ]
	done
}

# ---- addresses ---------------------------------------------------------------------------

@test "cli: no daemon: exit 1 with a message naming the socket" {
	run --separate-stderr -1 "$EMBER" --address "$T/none.sock" info
	echo "$stderr"
	[[ "$stderr" == *"$T/none.sock"* ]]
	run -1 "$EMBER" --address "$T/none.sock" namespaces ls
	[[ "$output" == *"$T/none.sock"* ]]
	# A socket file with nobody behind it.
	"$PYTHON" -c 'import socket, sys; s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])' "$T/dead.sock"
	run -1 "$EMBER" --address "$T/dead.sock" info
	echo "$output"
	[[ "$output" == *"$T/dead.sock"* ]]
	# The default comes from EMBER_ADDRESS.
	EMBER_ADDRESS=$T/env.sock run -1 "$EMBER" info
	[[ "$output" == *"$T/env.sock"* ]]
}

@test "cli: EMBER_ADDRESS, --address and -a select the daemon" {
	start_daemon
	e namespaces create here
	unset EMBER_ADDRESS
	EMBER_ADDRESS=$SOCK run -0 "$EMBER" namespaces ls -q
	[ "$output" = here ]
	run -0 "$EMBER" --address "$SOCK" namespaces ls -q
	[ "$output" = here ]
	run -0 "$EMBER" -a "$SOCK" namespaces ls -q
	[ "$output" = here ]
	run -0 "$EMBER" --address="$SOCK" namespaces ls -q
	[ "$output" = here ]
	run -0 "$EMBER" namespaces ls -q -a "$SOCK"
	[ "$output" = here ]
	# The flag wins over the environment.
	EMBER_ADDRESS=$T/wrong.sock run -0 "$EMBER" -a "$SOCK" namespaces ls -q
	[ "$output" = here ]
	EMBER_ADDRESS=$T/wrong.sock run -1 "$EMBER" namespaces ls -q
	[[ "$output" == *"$T/wrong.sock"* ]]
}

# ---- version -----------------------------------------------------------------------------

@test "cli: ember version and ember version --json" {
	run -0 "$EMBER" version
	echo "$output"
	[[ "${lines[0]}" =~ ^ember\ [0-9]+\.[0-9]+\.[0-9]+ ]]
	[[ "$output" == *daemon* ]]
	run -0 "$EMBER" version --json
	echo "$output"
	[ "$(echo "$output" | jget 'sorted(j)')" = '["features", "revision", "version"]' ]
	[ -n "$(echo "$output" | jget 'j["version"]')" ]
	[ -n "$(echo "$output" | jget 'j["revision"]')" ]
	[ "$(echo "$output" | jget '"daemon" in j["features"] and "cli" in j["features"]')" = true ]
	# The same through the global options, and the same as the daemon's.
	run -0 "$EMBER" --json version
	[ "$(echo "$output" | jget 'j["version"]')" = "$("$EMBER" version --json | jget 'j["version"]')" ]
	start_daemon
	[ "$(e call io.ember.System.Version | jget 'j["revision"]')" = "$("$EMBER" version --json | jget 'j["revision"]')" ]
}

# ---- completion --------------------------------------------------------------------------

@test "cli: ember completion bash completes commands and subcommands" {
	run -0 "$EMBER" completion bash
	echo "$output" >"$T/completion.bash"
	run -0 bash -c '
		source "$1"
		complete -p ember
		c() {
			COMP_WORDS=("$@")
			COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
			COMPREPLY=()
			_ember
			printf "%s\n" "${COMPREPLY[@]}" | sort | tr "\n" " "
			echo
		}
		echo "na: $(c ember na)"
		echo "nsl: $(c ember namespaces l)"
		echo "sub: $(c ember -n x namespaces "")"
		echo "top: $(c ember "")"
		echo "val: $(c ember --address "")"
		echo "opt: $(c ember namespaces ls --q)"
	' _ "$T/completion.bash"
	echo "$output"
	[[ "$output" == *"complete -F _ember ember"* ]]
	grep -q '^na: namespace namespaces $' <<<"$output"
	grep -q '^nsl: label list ls $' <<<"$output"
	local sub
	sub=$(sed -n 's/^sub: //p' <<<"$output")
	for w in create info label ls rm; do
		[[ " $sub" == *" $w "* ]] || { echo "sub: missing $w" >&2; return 1; }
	done
	[[ " $sub" != *" call "* ]]
	local top
	top=$(sed -n 's/^top: //p' <<<"$output")
	for w in call completion events info namespaces version; do
		[[ " $top" == *" $w "* ]] || { echo "top: missing $w" >&2; return 1; }
	done
	# After an option that takes a value, no command words.
	grep -q '^val: *$' <<<"$output"
	grep -q '^opt: --quiet $' <<<"$output"
	run -2 "$EMBER" completion zsh
	[[ "$output" == *zsh* ]]
}

# ---- ember call --------------------------------------------------------------------------

@test "cli: ember call takes parameters from an argument or from stdin" {
	start_daemon
	run -0 e call io.ember.Namespaces.Create '{"name":"arg","labels":{"a":"1"}}'
	echo "$output"
	[ "$(echo "$output" | jget 'j["namespace"]["name"]')" = arg ]
	run -0 e call io.ember.Namespaces.Create - <<<'{"name": "stdin", "labels": {"b": "2"}}'
	echo "$output"
	[ "$(echo "$output" | jget 'j["namespace"]["labels"]')" = '{"b": "2"}' ]
	# Without parameters.
	run -0 e call io.ember.Namespaces.List
	[ "$(echo "$output" | jget '[n["name"] for n in j["namespaces"]]')" = '["arg", "stdin"]' ]
	# A large document from stdin (a 60 KiB label set).
	"$PYTHON" -c 'import json; print(json.dumps({"name": "big", "labels": {"k%d" % i: "v" * 3000 for i in range(20)}}))' >"$T/big.json"
	run -0 e call io.ember.Namespaces.Create - <"$T/big.json"
	[ "$(e namespaces info big | jget 'len(j["labels"])')" = 20 ]
	# --oneway: nothing printed, the call is made.
	run -0 e call --oneway io.ember.Namespaces.Create '{"name":"quiet"}'
	[ -z "$output" ]
	wait_until 5 e namespaces info quiet
}

@test "cli: ember call --more prints one line per reply" {
	start_daemon
	e call --more io.ember.Events.Subscribe '{}' >"$T/stream" 2>"$T/stream.err" 3>&- &
	local sub=$!
	bg_track "$sub"
	# The first line is the confirmation: the subscription is live.
	wait_until 5 test -s "$T/stream"
	[ "$(head -1 "$T/stream")" = '{}' ]
	e namespaces create streamed
	e namespaces rm streamed
	wait_until 5 eval '[ "$(wc -l <"$T/stream")" -ge 3 ]'
	cat "$T/stream"
	[ "$(sed -n 2p "$T/stream" | jget 'j["event"]["topic"]')" = /namespaces/create ]
	[ "$(sed -n 3p "$T/stream" | jget 'j["event"]["topic"]')" = /namespaces/delete ]
	# Each reply on one line.
	[ "$(wc -l <"$T/stream")" -eq 3 ]
	# It ends when the daemon stops, with the error name.
	stop_daemon
	local rc=0
	wait "$sub" || rc=$?
	cat "$T/stream.err"
	[ "$rc" -eq 1 ]
	grep -q 'io.ember.Unavailable' "$T/stream.err"
}

@test "cli: ember call --more stops quietly when its reader goes away" {
	start_daemon
	# head exits after one line; ember must notice the closed pipe and end.
	timeout 10 bash -c '"$1" --address "$2" call --more io.ember.Events.Subscribe "{}" | head -1' _ "$EMBER" "$SOCK" >"$T/one" 3>&- &
	local pipeline=$!
	bg_track "$pipeline"
	wait_until 5 test -s "$T/one"
	e namespaces create poke
	e namespaces label poke a=1
	local rc=0
	wait "$pipeline" || rc=$?
	[ "$rc" -eq 0 ]
	[ "$(cat "$T/one")" = '{}' ]
	assert_daemon_serves
}

@test "cli: an error reply prints the error name and exits 1" {
	start_daemon
	run --separate-stderr -1 e call io.ember.Namespaces.Get '{"name":"ghost"}'
	echo "$stderr"
	[[ "$stderr" == *io.ember.NotFound* ]]
	[[ "$stderr" == *ghost* ]]
	[ -z "$output" ]
	run -1 e call io.ember.Nope.Get '{}'
	[[ "$output" == *org.varlink.service.InterfaceNotFound* ]]
	run -1 e call io.ember.Namespaces.Create '{"name":1}'
	[[ "$output" == *org.varlink.service.InvalidParameter* ]]
	run -1 e call io.ember.Events.Subscribe '{}'
	[[ "$output" == *org.varlink.service.ExpectedMore* ]]
}

@test "cli: bad JSON parameters exit 2" {
	start_daemon
	run -2 e call io.ember.Namespaces.Create '{name: x}'
	echo "$output"
	[[ "$output" == *parameters* ]]
	run -2 e call io.ember.Namespaces.Create '["x"]'
	run -2 e call io.ember.Namespaces.Create '"x"'
	run -2 e call io.ember.Namespaces.Create - <<<'{"name": '
	run -2 e call not-a-method '{}'
	# Nothing reached the daemon.
	run -0 e namespaces ls -q
	[ -z "$output" ]
	assert_daemon_serves
}
