# SPDX-License-Identifier: Apache-2.0
# The helpers of the tests that run inside a qemu guest (tests/guest/run
# under BusyBox init, tests/guest/systemd under systemd), sourced from
# /guest/lib.sh. Results go to the console as "GUEST ok DESC" or "GUEST not
# ok DESC" (then "GUEST # ..." lines of detail), which the bats files read.
# Plain POSIX sh: BusyBox ash and dash run it.

say() { echo "GUEST $*" >/dev/console; }
ok() { say "ok $*"; }
# check DESC CMD...: ok when CMD succeeds, else not ok with its output.
check() {
	d=$1
	shift
	if out=$("$@" 2>&1); then
		ok "$d"
	else
		say "not ok $d"
		echo "$out" | tail -n 15 | sed 's/^/GUEST # /' >/dev/console
	fi
}
# expect DESC WANT CMD...: CMD's output (stdout and stderr) is WANT.
expect() {
	d=$1 want=$2
	shift 2
	got=$("$@" 2>&1)
	if [ "$got" = "$want" ]; then
		ok "$d"
	else
		say "not ok $d"
		say "# wanted: $want"
		echo "$got" | tail -n 15 | sed 's/^/GUEST # got: /' >/dev/console
	fi
}
uptime_s() { cut -d' ' -f1 /proc/uptime; }
task_pid() { ember tasks ls | awk -v id="$1" '$1 == id { print $2 }'; }
# wait_for SECONDS CMD...: until CMD succeeds.
wait_for() {
	n=$(($1 * 10))
	shift
	while ! "$@" >/dev/null 2>&1; do
		[ $n -gt 0 ] || return 1
		n=$((n - 1))
		sleep 0.1
	done
}
