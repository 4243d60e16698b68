#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# The Buildroot and Yocto packaging (board/buildroot, board/yocto), checked
# without Buildroot or BitBake: the Kconfig symbols they set exist, their
# options give ember the configuration they ask for (ember.mk's fixups
# run by make with stand-ins for Buildroot's macros; the recipe's
# do_configure run by bash), the hashes and checksums match, the files
# they install exist, the kernel fragment's options exist in Debian's
# kernel, and the BitBake files parse. No ember binary is needed.

bats_require_minimum_version 1.5.0

TOP=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
PY=/usr/bin/python3
PKG=$BATS_TEST_DIRNAME/lib/packaging.py
BR=$TOP/board/buildroot
EMBER_MK=$BR/package/ember/ember.mk
BR_CONFIG=$BR/package/ember/Config.in
FRAGMENT=$BR/kernel.fragment
LAYER=$TOP/board/yocto/meta-ember
RECIPE=$LAYER/recipes-containers/ember/ember_git.bb

setup() {
	"$PY" -c 'import kconfiglib' 2>/dev/null || skip "python3-kconfiglib is not installed (board/deps.sh installs it)"
	T=$BATS_TEST_TMPDIR
}

# brmake VAR=VALUE... TARGET: make with ember.mk, stand-ins for the
# Buildroot macros it calls, and the BR2_ options given. Targets:
#   fixup      EMBER_KCONFIG_FIXUP_CMDS on $DOTCONFIG
#   features   EMBER_FEATURES
#   kernel     EMBER_KERNEL_OPTS
#   files      what the install commands take from the source tree ($(@D)/...)
brmake() {
	cat >"$T/br.mk" <<'EOF'
define sep


endef
qstrip = $(strip $(subst ",,$(1)))
# Buildroot's documented behaviour: ENABLE keeps an option already =y or
# =m, else sets it =y; DISABLE writes "is not set". Both drop the old line.
define KCONFIG_ENABLE_OPT
	grep -q '^$(strip $(1))=[my]' $(DOTCONFIG) || { sed -i -e '/^$(strip $(1))=/d' -e '/^# $(strip $(1)) is not set/d' $(DOTCONFIG); echo '$(strip $(1))=y' >>$(DOTCONFIG); }
endef
define KCONFIG_DISABLE_OPT
	sed -i -e '/^$(strip $(1))=/d' -e '/^# $(strip $(1)) is not set/d' $(DOTCONFIG); echo '# $(strip $(1)) is not set' >>$(DOTCONFIG)
endef
kconfig-package =
BR2_EXTERNAL_EMBER_PATH := $(BR)
include $(EMBER_MK)
fixup:
	$(EMBER_KCONFIG_FIXUP_CMDS)
features:
	@echo $(EMBER_FEATURES)
kernel:
	@echo $(EMBER_KERNEL_OPTS)
EMBER_INSTALLS = $(value EMBER_INSTALL_TARGET_CMDS) $(value EMBER_INSTALL_DAEMON) \
	$(value EMBER_INSTALL_INIT_SYSV) $(value EMBER_INSTALL_INIT_OPENRC) $(value EMBER_INSTALL_INIT_SYSTEMD)
files:
	@printf '%s\n' $(patsubst $$(@D)/%,%,$(filter $$(@D)/%,$(EMBER_INSTALLS)))
EOF
	make -s --no-print-directory -f "$T/br.mk" BR="$BR" EMBER_MK="$EMBER_MK" "$@"
}

# br_config OPTION=y|n...: a .config made as Buildroot makes it (ember's
# defconfig, ember.mk's fixups for these options, olddefconfig), in $T/br.
br_config() {
	local a args=()
	for a in "$@"; do
		[ "${a#*=}" = y ] && args+=("BR2_PACKAGE_EMBER_${a%=*}=y")
	done
	mkdir -p "$T/br"
	cp "$TOP/defconfig" "$T/br/.config"
	brmake DOTCONFIG="$T/br/.config" "${args[@]}" fixup
	make -s -C "$TOP" O="$T/br" PYTHON="$PY" olddefconfig >/dev/null
}

# assert_config DIR OPTION=y|n...: DIR/.config has CONFIG_OPTION on or off
# (an option whose dependencies are off has no line at all).
assert_config() {
	local dir=$1 a bad=0
	shift
	grep -q '^CONFIG_' "$dir/.config"
	for a in "$@"; do
		if [ "${a#*=}" = y ]; then
			grep -qx "CONFIG_${a%=*}=y" "$dir/.config" || { echo "CONFIG_${a%=*} is off, wanted on" >&2; bad=1; }
		else
			run -1 grep -q "^CONFIG_${a%=*}=" "$dir/.config" || { echo "CONFIG_${a%=*} is on, wanted off" >&2; bad=1; }
		fi
	done
	return $bad
}

# The features of ember.mk, the options of Config.in that map onto
# ember's Kconfig (all but the configuration file, the fragments and
# TLS, which is libcurl's).
br_features() { brmake features | tr ' ' '\n' | sort; }
br_options() {
	sed -n 's/^config BR2_PACKAGE_EMBER_\([A-Z0-9_]*\)$/\1/p' "$BR_CONFIG" |
		grep -vxE 'CONFIG|CONFIG_FRAGMENT_FILES|TLS' | sort
}

@test "buildroot: each feature option of Config.in sets an ember Kconfig bool of the same name" {
	run br_features
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -ge 10 ]
	# Every option is mapped, and nothing is mapped that has no option.
	diff <(br_options) <(br_features)
	# ... onto a bool of ember's Kconfig a configuration file can set,
	# as is every CONFIG_ symbol ember.mk names itself.
	run "$PY" "$PKG" kconfig-bools $(br_features) $(grep -oE '\bCONFIG_[A-Z0-9][A-Z0-9_]*' "$EMBER_MK" | sort -u)
	echo "$output"
	[ "$status" -eq 0 ]
}

@test "buildroot: the fixups give ember the features the options choose" {
	br_config DAEMON=y CLI=y PULL=y PUSH=y IMAGE_ARCHIVE=y UNPACK=y SNAPSHOT_OVERLAY=y \
		SNAPSHOT_NATIVE=y RUNTIME=y CGROUPS=y SECCOMP=y USERNS=y
	assert_config "$T/br" CONTENT=y DAEMON=y CLI=y PULL=y PUSH=y IMAGE_ARCHIVE=y UNPACK=y \
		SNAPSHOT_OVERLAY=y SNAPSHOT_NATIVE=y RUNTIME=y CGROUPS=y SECCOMP=y USERNS=y

	# A small device: no push, archives, native snapshots, seccomp or
	# user namespaces. Every option left out is off in ember.
	rm -rf "$T/br"
	br_config DAEMON=y CLI=y PULL=y UNPACK=y SNAPSHOT_OVERLAY=y RUNTIME=y CGROUPS=y
	assert_config "$T/br" CONTENT=y DAEMON=y CLI=y PULL=y UNPACK=y SNAPSHOT_OVERLAY=y RUNTIME=y CGROUPS=y \
		PUSH=n IMAGE_ARCHIVE=n SNAPSHOT_NATIVE=n SECCOMP=n USERNS=n
}

@test "buildroot: Config.in's dependencies are those of ember's Kconfig" {
	# An option whose ember symbol depends on another is not offered
	# without it in Config.in: PUSH needs PULL, the runtime's needs
	# RUNTIME, RUNTIME a snapshotter; PULL, archives and unpacking the
	# daemon (the content store).
	local opt dep
	for pair in PUSH:PULL CGROUPS:RUNTIME SECCOMP:RUNTIME USERNS:RUNTIME PULL:DAEMON IMAGE_ARCHIVE:DAEMON \
		UNPACK:DAEMON TLS:PULL; do
		opt=${pair%:*} dep=${pair#*:}
		sed -n "/^config BR2_PACKAGE_EMBER_$opt\$/,/^\$/p" "$BR_CONFIG" | grep -q "depends on BR2_PACKAGE_EMBER_$dep\$" ||
			{ echo "BR2_PACKAGE_EMBER_$opt does not depend on BR2_PACKAGE_EMBER_$dep" >&2; return 1; }
	done
	# And ember agrees: with PULL off, PUSH on stays off.
	br_config DAEMON=y CLI=y PUSH=y UNPACK=y SNAPSHOT_OVERLAY=y RUNTIME=y
	assert_config "$T/br" PULL=n PUSH=n
}

@test "buildroot: the libraries each option needs are selected and built first" {
	# Config.in selects each library, ember.mk orders it before ember.
	sel() { sed -n "/^config BR2_PACKAGE_EMBER$1\$/,/^\$/p" "$BR_CONFIG" | grep -qx "	select BR2_PACKAGE_$2\( #.*\)\?"; }
	sel '' BEARSSL && sel '' JANSSON
	sel _PULL LIBCURL && sel _PULL ZLIB
	sel _IMAGE_ARCHIVE LIBARCHIVE
	sel _UNPACK LIBARCHIVE && sel _UNPACK ZLIB && sel _UNPACK ZSTD
	sel _TLS LIBCURL_FORCE_TLS
	grep -q '^EMBER_DEPENDENCIES = host-pkgconf bearssl jansson$' "$EMBER_MK"
	grep -A1 '^ifeq ($(BR2_PACKAGE_EMBER_PULL),y)$' "$EMBER_MK" | grep -q 'EMBER_DEPENDENCIES += libcurl zlib'
	grep -A1 '^ifeq ($(BR2_PACKAGE_EMBER_UNPACK),y)$' "$EMBER_MK" | grep -q 'EMBER_DEPENDENCIES += libarchive zlib zstd'
	grep -A1 '^ifeq ($(BR2_PACKAGE_EMBER_IMAGE_ARCHIVE),y)$' "$EMBER_MK" | grep -q 'EMBER_DEPENDENCIES += libarchive'
	# The Makefile links these: its pkg-config list names no other.
	run sed -n '/^PKGS := /,/[^\\]$/p' "$TOP/Makefile"
	local lib
	for lib in $(echo "$output" | grep -oE '\b(jansson|libcurl|libarchive|zlib|libzstd)\b' | sort -u); do
		case $lib in libzstd) lib=zstd ;; esac
		grep -q "$lib" "$EMBER_MK" || { echo "the Makefile links $lib, ember.mk does not depend on it" >&2; return 1; }
	done
}

@test "buildroot: ember.hash holds the license file's sha256" {
	local want
	want=$(sha256sum "$TOP/LICENSE" | cut -d' ' -f1)
	grep -qx "sha256  $want  LICENSE" "$BR/package/ember/ember.hash"
	grep -qx 'EMBER_LICENSE_FILES = LICENSE' "$EMBER_MK"
	# Every line of the hash file that is not a comment names a file
	# with its hash: no placeholder.
	run grep -vE '^(#|$)' "$BR/package/ember/ember.hash"
	[ "${#lines[@]}" -ge 1 ]
	for l in "${lines[@]}"; do
		[[ $l =~ ^sha256\ \ [0-9a-f]{64}\ \ [^\ ]+$ ]] || { echo "bad hash line: $l" >&2; return 1; }
	done
}

@test "buildroot: the external tree is named as its files use it" {
	grep -qx 'name: EMBER' "$BR/external.desc"
	grep -qx 'source "$BR2_EXTERNAL_EMBER_PATH/package/ember/Config.in"' "$BR/Config.in"
	# The package's source is this tree: two levels above the external tree.
	grep -qx 'EMBER_SITE = $(BR2_EXTERNAL_EMBER_PATH)/../..' "$EMBER_MK"
	[ "$(cd "$BR/../.." && pwd)" = "$TOP" ]
	# The default configuration file, relative to the external tree, exists.
	run sed -n 's/^\tdefault "$(BR2_EXTERNAL_EMBER_PATH)\(.*\)"$/\1/p' "$BR_CONFIG"
	[ "${#lines[@]}" -eq 1 ]
	[ -f "$BR${lines[0]}" ]
}

@test "buildroot and yocto: the files they install exist, or the Makefile makes them" {
	local f files
	run brmake BR2_PACKAGE_EMBER_DAEMON=y files
	[ "$status" -eq 0 ]
	files=("${lines[@]}")
	# ... and those of the recipe (${S}/... from the tree, ${B}/... built).
	# (Not .git: the recipe only asks whether the fetched copy has one.)
	files+=($(grep -oE '\$\{S\}/[^ ;")]+' "$RECIPE" | sed 's|^${S}/||' | grep -vx '\.git' | sort -u))
	printf '%s\n' "${files[@]}" | grep -qx 'board/common/S60ember'
	printf '%s\n' "${files[@]}" | grep -qx 'board/common/ember.service'
	printf '%s\n' "${files[@]}" | grep -qx 'board/common/ember.openrc'
	printf '%s\n' "${files[@]}" | grep -qx 'board/common/ember.default'
	for f in "${files[@]}"; do
		case $f in
		ember.unstripped) grep -q '^$(O)/ember.unstripped:' "$TOP/Makefile" ;;
		*) [ -f "$TOP/$f" ] || { echo "installed but not in the tree: $f" >&2; return 1; } ;;
		esac
	done
	run grep -oE '\$\{B\}/[^ ;")]+' "$RECIPE"
	for f in "${lines[@]}"; do
		case $f in
		'${B}/ember.unstripped') grep -q '^$(O)/ember.unstripped:' "$TOP/Makefile" ;;
		'${B}/.config' | '${B}/packageconfig.fragment') ;;
		*) echo "the recipe takes $f from the build directory" >&2; return 1 ;;
		esac
	done
}

@test "kernel fragment: its sections are the ones ember.mk applies, per feature" {
	run brmake kernel
	[ "$status" -eq 0 ]
	# Nothing chosen but the package: the base section only.
	[[ " $output " == *" CONFIG_UNIX "* ]]
	[[ " $output " != *" CONFIG_OVERLAY_FS "* ]]
	run brmake BR2_PACKAGE_EMBER_RUNTIME=y BR2_PACKAGE_EMBER_SNAPSHOT_OVERLAY=y BR2_PACKAGE_EMBER_CGROUPS=y \
		BR2_PACKAGE_EMBER_SECCOMP=y BR2_PACKAGE_EMBER_USERNS=y kernel
	local o
	for o in CONFIG_PID_NS CONFIG_OVERLAY_FS CONFIG_MEMCG CONFIG_CGROUP_FREEZER CONFIG_SECCOMP_FILTER CONFIG_USER_NS; do
		[[ " $output " == *" $o "* ]] || { echo "$o is not applied" >&2; return 1; }
	done
	# Networking is not a feature yet: its section is never applied.
	[[ " $output " != *" CONFIG_VETH "* ]]
	# Every option of the fragment is in a section, every section
	# ember.mk names exists.
	[ "$(grep -m1 -E '^(# section: |CONFIG_)' "$FRAGMENT" | cut -c1-11)" = '# section: ' ]
	for s in $(sed -n '/^EMBER_KERNEL_SECTIONS = /,/[^\\]$/p' "$EMBER_MK" | grep -oE '\b(base|[a-z]+\))' | tr -d ')'); do
		grep -qx "# section: $s" "$FRAGMENT" || { echo "no section $s in kernel.fragment" >&2; return 1; }
	done
}

@test "kernel fragment: every option exists in Debian's kernel; those it leaves unset say so" {
	local arch kdir config sym state
	command -v apt-get >/dev/null && command -v dpkg-deb >/dev/null || skip "apt-get and dpkg-deb are needed for Debian's kernel"
	arch=$(dpkg --print-architecture)
	case $arch in amd64 | arm64) ;; *) arch=amd64 ;; esac
	kdir=$("$TOP/board/qemu/deb.sh" kernel "$arch")
	config=$(ls "$kdir"/boot/config-*)
	[ -f "$config" ]
	run grep -c '^CONFIG_[A-Z0-9_]*=[ym]$' "$FRAGMENT"
	[ "$output" -ge 30 ]
	while IFS= read -r sym; do
		if grep -qE "^$sym=[ym]\$" "$config"; then
			continue
		elif grep -qx "# $sym is not set" "$config"; then
			# The comment just above the option names Debian.
			state=$(awk -v sym="$sym" '/^#/ { c = c $0 "\n"; next } $0 ~ "^" sym "=" { print c } { c = "" }' "$FRAGMENT")
			[[ $state == *Debian* ]] || { echo "$sym is unset in Debian's kernel; the fragment does not say so" >&2; return 1; }
		else
			echo "$sym is not an option of Debian's $arch kernel ($(basename "$config"))" >&2
			return 1
		fi
	done < <(sed -n 's/^\(CONFIG_[A-Z0-9_]*\)=.*/\1/p' "$FRAGMENT")
}

@test "yocto: the layer's kernel fragment is the Buildroot one" {
	[ -L "$LAYER/recipes-kernel/linux/linux-yocto/ember.cfg" ]
	cmp "$LAYER/recipes-kernel/linux/linux-yocto/ember.cfg" "$FRAGMENT"
	grep -qx 'SRC_URI += "file://ember.cfg"' "$LAYER/recipes-kernel/linux/linux-yocto_%.bbappend"
}

@test "yocto: the layer's files parse as BitBake reads them" {
	run "$PY" "$PKG" bb-parse "$LAYER/conf/layer.conf" "$LAYER"/recipes-*/*/*.bb "$LAYER"/recipes-*/*/*.bbappend
	echo "$output"
	[ "$status" -eq 0 ]
	# The parser refuses what is not BitBake.
	printf 'FOO = "a"\nnot bitbake\ndo_x() {\n\tif; then\n}\nBAR = "${@bb.utils.contains(}"\n' >"$T/bad.bb"
	run "$PY" "$PKG" bb-parse "$T/bad.bb"
	[ "$status" -eq 1 ]
	[[ $output == *"not BitBake syntax: not bitbake"* ]]
	[[ $output == *"function do_x"* ]]
	[[ $output == *"BAR"* ]]
	# layer.conf: a collection named ember for current releases, whose
	# BBFILES patterns find every recipe and bbappend of the layer.
	run "$PY" "$PKG" bb-get "$LAYER/conf/layer.conf" LAYERSERIES_COMPAT_ember
	[[ " $output " == *" scarthgap "* ]] && [[ " $output " == *" wrynose "* ]]
	run "$PY" "$PKG" bb-get "$LAYER/conf/layer.conf" BBFILE_COLLECTIONS
	[ "$output" = ember ]
	local f pat found
	for f in "$LAYER"/recipes-*/*/*.bb "$LAYER"/recipes-*/*/*.bbappend; do
		found=
		for pat in $("$PY" "$PKG" bb-get "$LAYER/conf/layer.conf" BBFILES); do
			# shellcheck disable=SC2053
			[[ $f == ${pat//\$\{LAYERDIR\}/$LAYER} ]] && found=1
		done
		[ -n "$found" ] || { echo "BBFILES misses $f" >&2; return 1; }
	done
	# EMBER_SRC_TREE is this tree.
	run "$PY" "$PKG" bb-get "$LAYER/conf/layer.conf" EMBER_SRC_TREE
	[ "$output" = "\${@os.path.normpath('\${LAYERDIR}/../../..')}" ]
	[ "$(cd "$LAYER/../../.." && pwd)" = "$TOP" ]
}

@test "yocto: each PACKAGECONFIG sets an ember Kconfig bool, the same ones Buildroot sets" {
	local item flag syms=()
	while IFS=$'\t' read -r item flag; do
		case $item in
		tls | static) [ -z "$(echo "$flag" | cut -d, -f1-2 | tr -d ,)" ] ;;
		*)
			[[ $flag =~ ^CONFIG_([A-Z0-9_]+)=y,CONFIG_([A-Z0-9_]+)=n(,|$) ]] ||
				{ echo "PACKAGECONFIG[$item] = \"$flag\" does not set one symbol on and off" >&2; return 1; }
			[ "${BASH_REMATCH[1]}" = "${BASH_REMATCH[2]}" ]
			syms+=("${BASH_REMATCH[1]}")
			;;
		esac
	done < <("$PY" "$PKG" bb-flags "$RECIPE" PACKAGECONFIG)
	[ "${#syms[@]}" -ge 10 ]
	run "$PY" "$PKG" kconfig-bools "${syms[@]}"
	echo "$output"
	[ "$status" -eq 0 ]
	diff <(printf '%s\n' "${syms[@]}" | sort) <(br_features)
	# Every default item has its flag.
	run "$PY" "$PKG" bb-get "$RECIPE" PACKAGECONFIG
	for item in $(echo "$output" | sed 's/\${@[^}]*}//g'); do
		"$PY" "$PKG" bb-flags "$RECIPE" PACKAGECONFIG | cut -f1 | grep -qx "$item" ||
			{ echo "PACKAGECONFIG default $item has no flag" >&2; return 1; }
	done
	# The libraries: DEPENDS of each feature as the Makefile links them.
	"$PY" "$PKG" bb-flags "$RECIPE" PACKAGECONFIG | grep -qx $'pull\tCONFIG_PULL=y,CONFIG_PULL=n,curl zlib'
	"$PY" "$PKG" bb-flags "$RECIPE" PACKAGECONFIG | grep -qx $'unpack\tCONFIG_UNPACK=y,CONFIG_UNPACK=n,libarchive zlib zstd'
	run "$PY" "$PKG" bb-get "$RECIPE" DEPENDS
	[[ " $output " == *" bearssl "* ]] && [[ " $output " == *" jansson "* ]] && [[ " $output " == *" python3-kconfiglib-native "* ]]
}

@test "yocto: do_configure gives ember the features of PACKAGECONFIG" {
	"$PY" "$PKG" yocto-configure "$RECIPE" "$TOP" "$T/y1" daemon cli pull tls push image-archive unpack \
		snapshot-overlay snapshot-native runtime cgroups seccomp userns
	assert_config "$T/y1" CONTENT=y DAEMON=y CLI=y PULL=y PUSH=y IMAGE_ARCHIVE=y UNPACK=y SNAPSHOT_OVERLAY=y \
		SNAPSHOT_NATIVE=y RUNTIME=y CGROUPS=y SECCOMP=y USERNS=y
	"$PY" "$PKG" yocto-configure "$RECIPE" "$TOP" "$T/y2" daemon cli pull unpack snapshot-overlay runtime
	assert_config "$T/y2" CONTENT=y DAEMON=y PULL=y UNPACK=y SNAPSHOT_OVERLAY=y RUNTIME=y \
		PUSH=n IMAGE_ARCHIVE=n SNAPSHOT_NATIVE=n CGROUPS=n SECCOMP=n USERNS=n
	# "static" refuses to go on without the static archives it links.
	run "$PY" "$PKG" yocto-configure "$RECIPE" "$TOP" "$T/y3" daemon pull static
	[ "$status" -ne 0 ]
	[[ $output == *"PACKAGECONFIG static: "*"libbearssl.a is missing"* ]]
}

@test "yocto: the recipes' license checksums and the sources they name" {
	local md5
	md5=$(md5sum "$TOP/LICENSE" | cut -d' ' -f1)
	run "$PY" "$PKG" bb-get "$RECIPE" LIC_FILES_CHKSUM
	[ "$output" = "file://LICENSE;md5=$md5" ]
	# ember's git SRC_URI is this tree, by default at branch main.
	run "$PY" "$PKG" bb-get "$RECIPE" EMBER_GIT_URI
	[ "$output" = 'git://${EMBER_SRC_TREE};protocol=file' ]
	run "$PY" "$PKG" bb-get "$RECIPE" EMBER_DEFCONFIG
	[ "$output" = '${S}/defconfig' ]
	[ -f "$TOP/defconfig" ]
	# The version is the Makefile's.
	run "$PY" "$PKG" bb-get "$RECIPE" PV
	[ "$output" = "$(sed -n 's/^VERSION := //p' "$TOP/Makefile")+git" ]
	grep -qx "EMBER_VERSION = $(sed -n 's/^VERSION := //p' "$TOP/Makefile")" "$EMBER_MK"
	# The sysvinit script and the systemd unit are the daemon's.
	run "$PY" "$PKG" bb-get "$RECIPE" SYSTEMD_SERVICE:\${PN}
	[ "$output" = ember.service ]
	run "$PY" "$PKG" bb-get "$RECIPE" INITSCRIPT_NAME
	[ "$output" = ember ]
	grep -q 'install -D -m 0755 ${S}/board/common/S60ember ${D}${sysconfdir}/init.d/ember$' "$RECIPE"
}
