#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# S60ember and ember.openrc share their start, stop, reload and status code:
# the lines from "# >>> ember-rc" to "# <<< ember-rc". S60ember holds the
# original; this copies it into ember.openrc, so each script stays one
# file an integrator can read and install alone.
#   board/common/sync-rc.sh           rewrite ember.openrc's copy
#   board/common/sync-rc.sh --check   exit 1 if the copy differs
set -eu
cd "$(dirname "$0")"

part() {
	sed -n '/^# >>> ember-rc/,/^# <<< ember-rc/p' "$1"
}

if [ "$(part S60ember | wc -l)" -lt 2 ]; then
	echo "sync-rc.sh: no ember-rc part in S60ember" >&2
	exit 2
fi
if [ "${1:-}" = --check ]; then
	if [ "$(part S60ember)" != "$(part ember.openrc)" ]; then
		echo "board/common/ember.openrc: its ember-rc part differs from S60ember's (run board/common/sync-rc.sh)" >&2
		exit 1
	fi
	exit 0
fi
tmp=$(mktemp ember.openrc.XXXXXX)
trap 'rm -f "$tmp" "$tmp.part"' EXIT
part S60ember >"$tmp.part"
awk -v part="$tmp.part" '
	/^# >>> ember-rc/ { while ((getline l < part) > 0) print l; skip = 1; next }
	/^# <<< ember-rc/ { skip = 0; next }
	!skip' ember.openrc >"$tmp"
chmod 755 "$tmp"
mv "$tmp" ember.openrc
