#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Checks of the tree itself, as TAP lines (tests/run.sh counts them):
#
#  1. Tests that assert nothing. Under bats (set -e), a line "! cmd" that
#     does not end the test or function is ignored by bash whatever cmd
#     does. Every "! ..." line must end in "|| false" (or "|| <something>"),
#     or be written with `run !`, `[ ]`, or an if (a condition line ending
#     in "then", "&&" or "\" is part of one).
#  2. The source layout's one-way dependencies (DESIGN.md §3): a folder of
#     src/ includes headers only from folders of a lower rank, so no folder
#     includes one above it and no two folders include each other.
#  3. Every CONFIG_ symbol named in the sources is defined by a Kconfig file.
#  4. board/common/ember.openrc holds S60ember's shared part unchanged.
set -u
cd "$(dirname "$0")/.."

n=0 bad=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
fail() { n=$((n + 1)); bad=$((bad + 1)); echo "not ok $n - $1"; }

# 1. "! cmd" lines in bats files and their helpers.
hits=$(grep -rnE '^[[:space:]]*![[:space:]]' tests/integration tests/bench --include='*.bats' --include='*.bash' \
	--include='*.sh' 2>/dev/null | grep -vE '(\|\|[^|]*|;[[:space:]]*then|&&|\\)[[:space:]]*$')
if [ -z "$hits" ]; then
	ok "tests: no negated command that asserts nothing (use run !, [ ], or || false)"
else
	fail "tests: negated commands that assert nothing (use run !, [ ], or || false)"
	echo "$hits" | sed 's/^/#   /'
fi

# 2. Include ranks. A folder may include its own headers and those of
#    folders with a lower rank.
declare -A rank=(
	[generated]=-1 [util]=0
	[content]=1 [metadata]=1 [api]=1
	[image]=2
	[remote]=3 [snapshot]=3 [runtime]=3 [net]=3
	[daemon]=4 [oci]=4 [cli]=4
	[main.c]=5
)
arrows=""
while IFS= read -r f; do
	from=${f#src/}
	from=${from%%/*}
	[ -n "${rank[$from]+x}" ] || { arrows+="$f: folder $from has no rank in tests/lint.sh"$'\n'; continue; }
	while IFS= read -r to; do
		[ "$to" = "$from" ] && continue
		if [ -z "${rank[$to]+x}" ] || [ "${rank[$to]}" -ge "${rank[$from]}" ]; then
			arrows+="$f includes $to/ (rank ${rank[$to]:-?}, not below $from's ${rank[$from]})"$'\n'
		fi
	done < <(sed -n 's|^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([a-z_]*\)/.*|\1|p' "$f" | sort -u)
done < <(find src -name '*.[ch]' | sort)
if [ -z "$arrows" ]; then
	ok "sources: every folder includes only folders below it (DESIGN.md §3)"
else
	fail "sources: includes that point up or sideways (DESIGN.md §3)"
	printf '%s' "$arrows" | sed 's/^/#   /'
fi

# 3. Every CONFIG_ symbol the sources name is defined in a Kconfig file: a
#    misspelt or removed one is silently off under ENABLED() or #ifdef.
#    Not in string literals: messages name the kernel's options too
#    ("this kernel has no overlay file system (CONFIG_OVERLAY_FS)").
defined=$(sed -n 's/^[[:space:]]*\(menu\)\?config[[:space:]]\+\([A-Z0-9_]*\).*/\2/p' Kconfig src/*/Kconfig | sort -u)
unknown=$(find src include -name '*.[ch]' -print0 | xargs -0 sed -E 's/"([^"\\]|\\.)*"//g' |
	cat - Makefile src/*/Makefile.inc | grep -oE '\bCONFIG_[A-Z0-9_]+' | sed 's/^CONFIG_//' | sort -u |
	grep -vx X | comm -23 - <(echo "$defined")) # CONFIG_X: the comments' placeholder
if [ -z "$unknown" ]; then
	ok "sources: every CONFIG_ symbol they name is defined in a Kconfig file"
else
	fail "sources: CONFIG_ symbols no Kconfig file defines"
	echo "$unknown" | sed 's/^/#   CONFIG_/'
fi

# 4. The init scripts share their start, stop and status code (sync-rc.sh).
if out=$(board/common/sync-rc.sh --check 2>&1); then
	ok "board: ember.openrc's shared part is S60ember's"
else
	fail "board: ember.openrc's shared part is not S60ember's (run board/common/sync-rc.sh)"
	echo "$out" | sed 's/^/#   /'
fi

echo "1..$n"
[ "$bad" -eq 0 ]
