#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# What each Kconfig feature costs: builds the smallest daemon (allnoconfig
# with DAEMON), the tiny and full boards, defconfig, and defconfig with each
# user-visible feature toggled alone, then prints every stripped static
# binary's size and its difference from defconfig. Differences are in
# text + data (what the binary loads), counted to the byte; the file's size
# moves by whole pages. Toggling a feature off
# takes what depends on it along (CONTENT off is no images at all), so a
# delta is the feature's whole cost. It also checks the "Cost:" line of each
# help text in Kconfig against what it measured.
#   board/sizes.sh OUT ARCH [MAKE_ARGS...]
# Writes OUT/sizes-ARCH.md (a table for README) and prints it.
# SIZES_ONLY="SYM ..." builds defconfig and those toggles only (minutes
# instead of the whole list: what one change costs).
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:?usage: sizes.sh OUT ARCH [MAKE_ARGS...]}
arch=${2:?usage: sizes.sh OUT ARCH [MAKE_ARGS...]}
shift 2
py=${PYTHON:-/usr/bin/python3}
mkdir -p "$out"

args=("$@")

# build NAME HOW: configure $out/size-ARCH-NAME, build it, print its size.
build() {
	local name=$1 o=$out/size-$arch-$1
	shift
	mkdir -p "$o"
	case $1 in
	make) make -s O="$o" ARCH="$arch" "$2" >/dev/null ;;
	*) KCONFIG_CONFIG=$o/.config "$py" board/kconfig.py "$@" ;;
	esac
	if ! make -s O="$o" ARCH="$arch" "${args[@]}" all >"$o/build.log" 2>&1; then
		echo "sizes.sh: $name does not build (log: $o/build.log)" >&2
		tail -5 "$o/build.log" >&2
		return 1
	fi
	echo "$(stat -c %s "$o/ember") $(size "$o/ember" | awk 'NR == 2 { print $1 + $2 }')"
}

declare -A file size
rows=()
row() { # row NAME "FILE_BYTES TEXT_DATA_BYTES"
	rows+=("$1")
	file[$1]=${2% *}
	size[$1]=${2#* }
}

only=" ${SIZES_ONLY:-} "
row defconfig "$(build defconfig make defconfig)"
if [ -z "${SIZES_ONLY:-}" ]; then
	row "allnoconfig + DAEMON" "$(build allno-daemon set DAEMON=y)"
	row tiny "$(build tiny make tiny_defconfig)"
	row full "$(build full make full_defconfig)"
fi
toggles=()
while read -r sym val; do
	[ -z "${SIZES_ONLY:-}" ] || [[ "$only" == *" $sym "* ]] || continue
	flip=$([ "$val" = y ] && echo n || echo y)
	row "$sym=$flip" "$(build "$sym-$flip" toggle defconfig "$sym")"
	toggles+=("$sym=$flip")
done < <("$py" board/kconfig.py features defconfig)

base=${size[defconfig]}
md=$out/sizes-$arch.md
{
	echo "| $arch | stripped file, bytes | text + data, bytes | vs defconfig |"
	echo "|---|---:|---:|---:|"
	for r in "${rows[@]}"; do
		d=$((size[$r] - base))
		[ "$r" = defconfig ] && d=
		printf '| %s | %d | %d | %s |\n' "$r" "${file[$r]}" "${size[$r]}" "${d:+$(printf '%+d' "$d")}"
	done
} >"$md"
cat "$md"

# The costs the help texts state: "Cost: ARCH N KiB[, ARCH M KiB]" for
# the feature switched on from defconfig's point of view. A stated figure
# further than 1 KiB and 10 % from the measured one is reported.
stale=0
for t in "${toggles[@]}"; do
	sym=${t%=*}
	d=$((base - size[$t]))
	[ "${t#*=}" = y ] && d=$((-d))
	said=$(awk -v s="config $sym" -v a="$arch" '
		$0 == s { on = 1; next }
		on && /^(config|menuconfig|endmenu|menu|choice) / { exit }
		on && /Cost:/ { if (match($0, a " [-+]?[0-9.]+ KiB")) { split(substr($0, RSTART, RLENGTH), f, " "); print f[2] } ; exit }
	' Kconfig src/*/Kconfig)
	kib=$(awk -v d="$d" 'BEGIN { printf "%.0f", d / 1024 }')
	if [ -z "$said" ]; then
		echo "sizes.sh: $sym: its help has no \"Cost: $arch ...\" (measured $kib KiB)" >&2
		stale=1
	elif ! awk -v s="$said" -v d="$d" 'BEGIN { e = s * 1024 - d; if (e < 0) e = -e; exit !(e <= 1024 || e <= 0.1 * (d < 0 ? -d : d)) }'; then
		echo "sizes.sh: $sym: help says $arch $said KiB, measured $kib KiB" >&2
		stale=1
	fi
done
[ $stale = 0 ] || echo "sizes.sh: update the Cost: lines above in Kconfig" >&2
