#!/usr/bin/env bash
# Build (once) the static musl sysroot ember links against, from Debian source
# packages, and print a GNU make fragment that points the Makefile at it.
#
#   board/sysroot/sysroot.sh [--arch x86_64|aarch64] [--out FILE]
#
# See README.md next to this script for the cache layout and host packages.
set -euo pipefail

readonly SYSROOT_CFLAGS="-Os -ffunction-sections -fdata-sections -fno-asynchronous-unwind-tables -fno-unwind-tables -pipe"
# Source package names: private Sources-only lists know no binary->source mapping.
readonly SOURCE_PACKAGES=(zlib libzstd bearssl jansson libarchive curl cmocka)
# The configure flags below were written against these upstream releases.
declare -A TESTED_UPSTREAM=([libarchive]=3.6.2 [curl]=7.88.1)

SCRIPT=$(readlink -f "${BASH_SOURCE[0]}")
HERE=$(dirname "$SCRIPT")
JOBS=${JOBS:-$(nproc)}

say() { printf 'sysroot: %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

# A calling make exports its command-line variables (MAKEFLAGS) and often the
# user's CFLAGS/CC; any of them would silently change what the libraries'
# own makefiles and configure scripts do.
unset MAKEFLAGS MFLAGS MAKELEVEL MAKEOVERRIDES GNUMAKEFLAGS \
      CC CXX CPP LD AR RANLIB STRIP NM CFLAGS CXXFLAGS CPPFLAGS LDFLAGS LIBS \
      PKG_CONFIG PKG_CONFIG_PATH PKG_CONFIG_LIBDIR PKG_CONFIG_SYSROOT_DIR \
      CROSS_COMPILE SYSROOT DESTDIR PREFIX CHOST CONF
export LC_ALL=C   # apt output is parsed below

# ---------------------------------------------------------------------------
# Arguments, architecture, tools

usage() { echo "usage: $0 [--arch x86_64|aarch64] [--out FILE]" >&2; exit 2; }

parse_args() {
	ARCH=$(uname -m)
	OUT=
	while (($#)); do
		case $1 in
		--arch) (($# >= 2)) || usage; ARCH=$2; shift 2 ;;
		--arch=*) ARCH=${1#*=}; shift ;;
		--out) (($# >= 2)) || usage; OUT=$2; shift 2 ;;
		--out=*) OUT=${1#*=}; shift ;;
		*) usage ;;
		esac
	done
	case $ARCH in x86_64 | aarch64) ;; *) die "unsupported --arch '$ARCH' (x86_64 or aarch64)" ;; esac
}

# Sets CC AR RANLIB STRIP, the compiler identity and the UAPI header source.
# Building for the host's own architecture uses Debian's musl-gcc; aarch64 on
# an x86_64 host uses the glibc cross gcc with a private musl (see toolchain_aarch64).
setup_arch() {
	if [[ $ARCH == "$(uname -m)" ]]; then
		CROSS=
		CC=musl-gcc AR=ar RANLIB=ranlib STRIP=strip
		ID_CC=musl-gcc
		need_tools musl-gcc gcc ar ranlib strip
		local multiarch
		multiarch=$(gcc -print-multiarch)
		KHEADERS=(/usr/include/linux /usr/include/asm-generic "/usr/include/$multiarch/asm")
		KHEADERS_PKG=linux-libc-dev
		LIBC_ID="musl-dev $(dpkg-query -W -f '${Version}' musl-dev 2>/dev/null)" ||
			die "musl-dev is not installed"
	elif [[ $ARCH == aarch64 && $(uname -m) == x86_64 ]]; then
		CROSS=aarch64-linux-musl
		CC= # set by toolchain_aarch64 (the wrapper lives in the cache)
		AR=aarch64-linux-gnu-ar RANLIB=aarch64-linux-gnu-ranlib STRIP=aarch64-linux-gnu-strip
		ID_CC=aarch64-linux-gnu-gcc
		KHEADERS=(/usr/aarch64-linux-gnu/include/linux /usr/aarch64-linux-gnu/include/asm-generic
			/usr/aarch64-linux-gnu/include/asm)
		KHEADERS_PKG=linux-libc-dev-arm64-cross
		need_tools aarch64-linux-gnu-gcc "$AR" "$RANLIB" "$STRIP"
		LIBC_ID= # known once the arm64 package index is read
	else
		die "cannot build for $ARCH on a $(uname -m) host"
	fi
	need_tools apt-get dpkg-source dpkg-deb dpkg-query make cmake pkg-config flock sha256sum patch
	# The compiler's identity is part of the cache key.
	COMPILER_ID=$("$ID_CC" --version | head -n 1)
	KHEADERS_ID="$KHEADERS_PKG $(dpkg-query -W -f '${Version}' "$KHEADERS_PKG" 2>/dev/null)" ||
		die "$KHEADERS_PKG is not installed (Linux UAPI headers)"
	HOST_PKG_CONFIG=$(command -v pkg-config)
}

need_tools() {
	local t missing=()
	for t; do command -v "$t" >/dev/null || missing+=("$t"); done
	((${#missing[@]} == 0)) ||
		die "missing host tools: ${missing[*]} (install the packages in $HERE/host-packages.txt)"
}

# ---------------------------------------------------------------------------
# Private apt: the system's apt configuration and state are never touched.

# Print the system's binary repositories as "uri|suite|components|signed-by|archs",
# from deb822 *.sources stanzas and one-line "deb" entries. Reusing them means
# no mirror host is hard-coded and a proxy/local mirror setup keeps working.
system_repos() {
	local f
	for f in /etc/apt/sources.list.d/*.sources; do
		[[ -f $f ]] || continue
		awk '
		function flush() {
			if (types ~ /(^|[ \t])deb([ \t]|$)/ && tolower(enabled) != "no") {
				if (signed == "EMBEDDED") {
					print "sysroot: skipping a repository in " FILENAME " (embedded Signed-By key)" > "/dev/stderr"
				} else {
					n = split(uris, U, /[ \t]+/); m = split(suites, S, /[ \t]+/)
					for (i = 1; i <= n; i++) for (j = 1; j <= m; j++)
						if (U[i] != "" && S[j] != "") print U[i] "|" S[j] "|" comps "|" signed "|" archs
				}
			}
			types = uris = suites = comps = signed = archs = enabled = key = ""
		}
		/^[ \t]*#/ { next }
		/^[ \t]*$/ { flush(); next }
		/^[ \t]/ { if (key == "signed-by") signed = "EMBEDDED"; next }
		{
			i = index($0, ":"); key = tolower(substr($0, 1, i - 1)); val = substr($0, i + 1)
			gsub(/^[ \t]+|[ \t]+$/, "", val)
			if (key == "types") types = val; else if (key == "uris") uris = val
			else if (key == "suites") suites = val; else if (key == "components") comps = val
			else if (key == "signed-by") signed = val; else if (key == "architectures") archs = val
			else if (key == "enabled") enabled = val
		}
		END { flush() }' "$f"
	done
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[[ -f $f ]] || continue
		awk '
		/^[ \t]*deb[ \t]/ {
			line = $0; sub(/#.*/, "", line); signed = ""; archs = ""
			if (match(line, /\[[^]]*\]/)) {
				n = split(substr(line, RSTART + 1, RLENGTH - 2), O, /[ \t]+/)
				for (i = 1; i <= n; i++) {
					if (O[i] ~ /^signed-by=/) signed = substr(O[i], 11)
					if (O[i] ~ /^arch=/) { archs = substr(O[i], 6); gsub(/,/, " ", archs) }
				}
				line = substr(line, 1, RSTART - 1) " " substr(line, RSTART + RLENGTH)
			}
			n = split(line, F, /[ \t]+/); k = 0
			for (i = 1; i <= n; i++) if (F[i] != "") W[++k] = F[i]
			comps = ""; for (i = 4; i <= k; i++) comps = comps (i > 4 ? " " : "") W[i]
			if (k >= 3) print W[2] "|" W[3] "|" comps "|" signed "|" archs
		}' "$f"
	done
}

# Write a private sources.list: kind "src" turns every binary repository into
# deb-src; kind "arm64" keeps them binary but for arm64 only (foreign packages
# without `dpkg --add-architecture`).
write_sources_list() {
	local kind=$1 file=$2 uri suite comps signed archs opts
	: >"$file.new"
	while IFS='|' read -r uri suite comps signed archs; do
		opts=
		if [[ $kind == arm64 ]]; then
			[[ -z $archs || " $archs " == *" arm64 "* ]] || continue
			opts="arch=arm64"
		fi
		[[ -n $signed ]] && opts="${opts:+$opts }signed-by=$signed"
		printf '%s %s%s %s %s\n' "$([[ $kind == src ]] && echo deb-src || echo deb)" \
			"${opts:+[$opts] }" "$uri" "$suite" "$comps" >>"$file.new"
	done < <(system_repos)
	[[ -s $file.new ]] || die "no 'deb' repositories found in /etc/apt/sources.list{,.d/}"
	mv "$file.new" "$file"
}

# apt-get against a private configuration directory ($1: src or arm64).
apt_private() {
	local dir=$CACHE/apt/$1 extra=()
	[[ $1 == arm64 ]] && extra=(-o APT::Architectures::=arm64)
	shift
	apt-get -q -o Dir::Etc::SourceList="$dir/sources.list" -o Dir::Etc::SourceParts=/nonexistent \
		-o Dir::State::Lists="$dir/lists" -o Dir::Cache="$dir/cache" \
		-o Dir::Cache::pkgcache= -o Dir::Cache::srcpkgcache= \
		-o APT::Sandbox::User=root "${extra[@]}" "$@"
}

# Refresh one private index; returns non-zero when offline. Without
# Error-Mode=any, apt-get update exits 0 even when no mirror answered.
apt_update() {
	local kind=$1 dir=$CACHE/apt/$1
	mkdir -p "$dir/lists/partial" "$dir/cache/archives/partial"
	write_sources_list "$kind" "$dir/sources.list"
	apt_private "$kind" -o APT::Update::Error-Mode=any update >"$CACHE/logs/apt-update-$kind.log" 2>&1
}

# Print "url file size sha256" for what `apt-get $@ --print-uris` would fetch.
apt_uris() {
	local kind=$1
	shift
	apt_private "$kind" --print-uris "$@" 2>"$CACHE/logs/apt-uris-$kind.log" |
		sed -n "s/^'\([^']*\)' \([^ ]*\) \([0-9]*\) SHA256:\([0-9a-f]*\)\$/\1 \2 \3 \4/p"
}

# Fills DSC[pkg]=file and DSC_SHA[pkg]=sha256 from the signed Sources index,
# and makes sure the files are in $CACHE/src. A mirror may list a version
# (typically a fresh security update) whose files it does not serve yet; then
# the next older version in the index is used, with a warning, rather than
# failing the whole build.
resolve_sources() {
	local pkg ver uris dir=$CACHE/src
	declare -gA DSC=() DSC_SHA=()
	mkdir -p "$dir"
	for pkg in "${SOURCE_PACKAGES[@]}"; do
		local found=
		for ver in $(source_versions "$pkg"); do
			uris=$(apt_uris src -o APT::Get::Only-Source=true source "$pkg=$ver") || uris=
			[[ -n $uris ]] || continue
			if ! have_files "$dir" <<<"$uris"; then
				if ! (cd "$dir" && apt_private src -o APT::Get::Only-Source=true source \
					--download-only "$pkg=$ver") >>"$CACHE/logs/apt-source.log" 2>&1; then
					say "warning: the mirror does not serve $pkg $ver (log: $CACHE/logs/apt-source.log); trying an older version"
					continue
				fi
			fi
			have_files "$dir" <<<"$uris" || continue
			found=$ver
			break
		done
		[[ -n $found ]] || die "no version of source package $pkg could be downloaded (log: $CACHE/logs/apt-source.log)"
		local file sha
		while read -r _ file _ sha; do
			[[ $file == *.dsc ]] && DSC[$pkg]=$file DSC_SHA[$pkg]=$sha
		done <<<"$uris"
		local up; up=$(upstream_version "$pkg")
		[[ -z ${TESTED_UPSTREAM[$pkg]:-} || $up == "${TESTED_UPSTREAM[$pkg]}" ]] ||
			say "warning: $pkg $up is not the tested ${TESTED_UPSTREAM[$pkg]}; its configure flags may need review"
	done
}

# The versions of source package $1 in the private index, newest first.
source_versions() {
	local v sorted=() i
	while read -r v; do
		i=${#sorted[@]}
		sorted+=("$v")
		while ((i > 0)) && dpkg --compare-versions "${sorted[i - 1]}" lt "$v"; do
			sorted[i]=${sorted[i - 1]} sorted[i - 1]=$v
			i=$((i - 1))
		done
	done < <(apt-cache -o Dir::Etc::SourceList="$CACHE/apt/src/sources.list" \
		-o Dir::Etc::SourceParts=/nonexistent -o Dir::State::Lists="$CACHE/apt/src/lists" \
		-o Dir::Cache="$CACHE/apt/src/cache" -o Dir::Cache::pkgcache= -o Dir::Cache::srcpkgcache= \
		showsrc "$1" 2>/dev/null | awk -v p="$1" '/^Package:/ { ok = ($2 == p) } ok && /^Version:/ { print $2 }' | sort -u)
	printf '%s\n' "${sorted[@]}"
}

# True when every file of an "url file size sha256" list on stdin is in $1.
have_files() {
	local file
	while read -r _ file _ _; do
		[[ -f $1/$file ]] || return 1
	done
	return 0
}

# "curl_7.88.1-10+deb12u15.dsc" -> "7.88.1" ("+dfsg" repacks keep the upstream number).
upstream_version() {
	local v=${DSC[$1]#*_}
	v=${v%.dsc}
	v=${v%-*}
	echo "${v%%+*}"
}

# Check every source file: the .dsc against the signed index, everything
# else against the .dsc's Checksums-Sha256.
verify_sources() {
	local dir=$CACHE/src pkg sha file
	for pkg in "${SOURCE_PACKAGES[@]}"; do
		check_sha256 "$dir/${DSC[$pkg]}" "${DSC_SHA[$pkg]}" "the Sources index"
		while read -r sha _ file; do
			check_sha256 "$dir/$file" "$sha" "${DSC[$pkg]}"
		done < <(awk '/^Checksums-Sha256:/ { on = 1; next } /^[^ ]/ { on = 0 } on && NF == 3' "$dir/${DSC[$pkg]}")
	done
}

check_sha256() {
	local file=$1 want=$2 from=$3 got
	[[ -f $file ]] || die "$file is missing after download"
	got=$(sha256sum <"$file")
	got=${got%% *}
	if [[ $got != "$want" ]]; then
		rm -f "$file" # so that a re-run fetches it again
		die "SHA-256 mismatch for $file: $from says $want, file has $got (file removed; re-run to fetch it again)"
	fi
}

# ---------------------------------------------------------------------------
# aarch64 toolchain: Debian's glibc cross gcc + musl-dev:arm64 unpacked into
# the cache (the system's dpkg never learns about arm64), wrapped the same way
# Debian's own musl-gcc wraps the native gcc.

toolchain_aarch64() {
	local uris file sha ver
	uris=$(apt_uris arm64 download musl-dev:arm64 musl:arm64) ||
		die "cannot resolve musl-dev:arm64 (log: $CACHE/logs/apt-uris-arm64.log)"
	[[ $(wc -l <<<"$uris") -eq 2 ]] || die "musl-dev:arm64/musl:arm64 not found in the arm64 index"
	ver=$(awk '$2 ~ /^musl-dev_/ { v = $2; sub(/^musl-dev_/, "", v); sub(/_arm64\.deb$/, "", v); print v }' <<<"$uris")
	LIBC_ID="musl-dev:arm64 $ver"
	TOOLCHAIN=$CACHE/toolchain-aarch64-musl-$ver
	CC=$TOOLCHAIN/bin/aarch64-linux-musl-gcc
	[[ -x $CC ]] && return 0

	say "preparing the aarch64 musl toolchain in $TOOLCHAIN"
	local debs=$CACHE/debs tmp=$CACHE/.toolchain-aarch64.tmp
	mkdir -p "$debs"
	(cd "$debs" && apt_private arm64 download musl-dev:arm64 musl:arm64) \
		>"$CACHE/logs/apt-download-arm64.log" 2>&1 ||
		die "downloading musl-dev:arm64 failed (log: $CACHE/logs/apt-download-arm64.log)"
	rm -rf "$tmp"
	mkdir -p "$tmp/bin"
	while read -r _ file _ sha; do
		check_sha256 "$debs/$file" "$sha" "the arm64 Packages index"
		dpkg-deb -x "$debs/$file" "$tmp"
	done <<<"$uris"
	# The specs carry absolute /usr/... paths; point them at the cache. The
	# dynamic-linker path stays: it names the file on the target.
	sed -e "s#/usr/include/aarch64-linux-musl#$TOOLCHAIN/usr/include/aarch64-linux-musl#g" \
		-e "s#/usr/lib/aarch64-linux-musl#$TOOLCHAIN/usr/lib/aarch64-linux-musl#g" \
		"$tmp/usr/lib/aarch64-linux-musl/musl-gcc.specs" >"$tmp/musl-gcc.specs"
	cat >"$tmp/bin/aarch64-linux-musl-gcc" <<-EOF
		#!/bin/sh
		exec "\${REALGCC:-aarch64-linux-gnu-gcc}" "\$@" -specs "$TOOLCHAIN/musl-gcc.specs"
	EOF
	chmod +x "$tmp/bin/aarch64-linux-musl-gcc"
	mv -T "$tmp" "$TOOLCHAIN"
}

# ---------------------------------------------------------------------------
# Cache key and stamp

# What the sysroot depends on, one "name=value" per line. Its hash names the
# sysroot directory; the text is kept in the sysroot as sysroot.stamp so that
# an offline run can find a compatible build.
key_material() {
	local pkg
	echo "arch=$ARCH"
	echo "script=$(sha256sum <"$SCRIPT" | cut -d' ' -f1)"
	echo "patches=$(patches_id)"
	echo "compiler=$COMPILER_ID"
	echo "cflags=$SYSROOT_CFLAGS"
	echo "libc=$LIBC_ID"
	echo "kheaders=$KHEADERS_ID"
	for pkg in "${SOURCE_PACKAGES[@]}"; do
		echo "source=${DSC[$pkg]} ${DSC_SHA[$pkg]}"
	done
}

# One hash over ember's patches to the libraries (names and contents).
patches_id() {
	(cd "$HERE" && find patches -type f -name '*.patch' 2>/dev/null | LC_ALL=C sort | xargs -r sha256sum) |
		sha256sum | cut -d' ' -f1
}

# Offline: newest complete sysroot made by this script with this compiler and CFLAGS.
offline_fallback() {
	local want stamp best='' newest=0 t
	want=$(printf 'arch=%s\nscript=%s\ncompiler=%s\ncflags=%s\n' "$ARCH" \
		"$(sha256sum <"$SCRIPT" | cut -d' ' -f1)" "$COMPILER_ID" "$SYSROOT_CFLAGS")
	for stamp in "$CACHE"/sysroot-"$ARCH"-*/sysroot.stamp; do
		[[ -f $stamp ]] || continue
		[[ $(grep -E '^(arch|script|compiler|cflags)=' "$stamp") == "$want" ]] || continue
		t=$(stat -c %Y "$stamp")
		((t > newest)) && newest=$t best=${stamp%/sysroot.stamp}
	done
	[[ -n $best ]] || die "private apt-get update failed (offline?) and no cached sysroot matches (log: $CACHE/logs/apt-update-src.log)"
	say "offline: private apt-get update failed; reusing $best"
	SYSROOT=$best
	CC=$(sed -n 's/^cc=//p' "$SYSROOT/sysroot.stamp")
	[[ $CC == musl-gcc || -x $CC ]] || die "$SYSROOT was built with $CC, which is gone"
}

# ---------------------------------------------------------------------------
# Library builds. Each runs in a subshell with `set -ex`, inside $BUILD, with
# output to its own log; $S is the (temporary) install prefix.

common_env() {
	export CC AR RANLIB STRIP
	# The prefix map keeps the cache path out of assert() strings (jansson,
	# cmocka), so ember's binary does not depend on where the cache lives.
	CFLAGS="$SYSROOT_CFLAGS -ffile-prefix-map=$BUILD/="
	export CFLAGS CPPFLAGS="-I$S/include" LDFLAGS="-L$S/lib"
	# Without this, curl's configure finds the host's glibc .pc files.
	export PKG_CONFIG=$S/bin/pkg-config
	export PKG_CONFIG_LIBDIR=$S/lib/pkgconfig PKG_CONFIG_PATH='' PKG_CONFIG_SYSROOT_DIR=''
	HOST_ARGS=()
	# Natively, no --host: configure then runs its test programs, which musl runs fine.
	[[ -n $CROSS ]] && HOST_ARGS=(--host="$CROSS")
	CMAKE_ARGS=(-DCMAKE_C_COMPILER="$CC" -DCMAKE_AR="$(command -v "$AR")"
		-DCMAKE_RANLIB="$(command -v "$RANLIB")" -DCMAKE_BUILD_TYPE=None
		-DCMAKE_C_FLAGS="$CFLAGS" -DCMAKE_INSTALL_PREFIX="$S" -DCMAKE_INSTALL_LIBDIR=lib
		# keep find_library() away from the host's glibc libraries (cmocka looks for librt)
		-DCMAKE_FIND_ROOT_PATH="$S" -DCMAKE_FIND_ROOT_PATH_MODE_LIBRARY=ONLY
		-DCMAKE_FIND_ROOT_PATH_MODE_INCLUDE=ONLY -DCMAKE_FIND_ROOT_PATH_MODE_PACKAGE=ONLY
		-DCMAKE_FIND_ROOT_PATH_MODE_PROGRAM=NEVER)
	[[ -n $CROSS ]] && CMAKE_ARGS+=(-DCMAKE_SYSTEM_NAME=Linux -DCMAKE_SYSTEM_PROCESSOR=aarch64)
	return 0
}

# Unpack a source package (Debian patches applied) into $BUILD/<pkg> and cd
# there, then apply ember's own fixes from patches/<pkg>/ (each says why).
unpack() {
	local p
	rm -rf "${BUILD:?}/$1"
	dpkg-source -x "$CACHE/src/${DSC[$1]}" "$BUILD/$1"
	cd "$BUILD/$1"
	for p in "$HERE/patches/$1"/*.patch; do
		[[ -f $p ]] || continue
		patch -p1 --forward --no-backup-if-mismatch <"$p"
	done
}

# The layout plus the pkg-config wrapper the later builds and the Makefile use.
build_layout() {
	mkdir -p "$S/bin" "$S/include" "$S/lib/pkgconfig"
	cat >"$S/bin/pkg-config" <<-EOF
		#!/bin/sh
		# pkg-config that sees only this sysroot's .pc files, never the host's.
		PKG_CONFIG_LIBDIR=$S/lib/pkgconfig
		PKG_CONFIG_PATH=
		PKG_CONFIG_SYSROOT_DIR=
		export PKG_CONFIG_LIBDIR PKG_CONFIG_PATH PKG_CONFIG_SYSROOT_DIR
		exec $HOST_PKG_CONFIG "\$@"
	EOF
	chmod +x "$S/bin/pkg-config"
}

# musl-gcc's specs use -nostdinc, so <linux/netlink.h> is invisible unless the
# UAPI headers are in the sysroot; copies (not symlinks) keep it self-contained.
build_kheaders() {
	cp -rL "${KHEADERS[@]}" "$S/include/"
}

build_zlib() {
	unpack zlib
	./configure --prefix="$S" --static
	make -j"$JOBS" libz.a
	make install
}

# Library only; the legacy formats, deprecated API and dictionary builder are not needed.
build_zstd() {
	unpack libzstd
	local vars=(ZSTD_LEGACY_SUPPORT=0 ZSTD_LIB_DEPRECATED=0 ZSTD_LIB_DICTBUILDER=0
		CC="$CC" AR="$AR" CFLAGS="$CFLAGS" PREFIX="$S")
	# The same variables for install, or its config hash differs and it rebuilds.
	make -C lib -j"$JOBS" libzstd.a "${vars[@]}"
	make -C lib install-static install-includes install-pc "${vars[@]}"
}

# Own makefile without install target; the Debian +dfsg tarball still has the
# generated T0 code, so no mono is needed.
build_bearssl() {
	unpack bearssl
	make -j"$JOBS" CONF=Unix CC="$CC" AR="$AR" CFLAGS="-W -Wall $CFLAGS" lib
	cp build/libbearssl.a "$S/lib/"
	cp inc/*.h "$S/include/"
	cat >"$S/lib/pkgconfig/bearssl.pc" <<-EOF
		prefix=$S
		libdir=\${prefix}/lib
		includedir=\${prefix}/include

		Name: BearSSL
		Description: small TLS library
		Version: $(upstream_version bearssl)
		Libs: -L\${libdir} -lbearssl
		Cflags: -I\${includedir}
	EOF
}

# The orig tarball is a git export without configure, and autotools are not a
# host dependency, so CMake.
build_jansson() {
	unpack jansson
	cmake -S . -B _build "${CMAKE_ARGS[@]}" -DJANSSON_BUILD_SHARED_LIBS=OFF \
		-DJANSSON_BUILD_DOCS=OFF -DJANSSON_EXAMPLES=OFF -DJANSSON_WITHOUT_TESTS=ON -DJANSSON_INSTALL=ON
	cmake --build _build -j"$JOBS"
	cmake --install _build
}

# --disable-maintainer-mode: Debian's patches touch configure.ac/Makefile.am and
# libarchive enables maintainer mode by default, so make would rerun automake.
build_libarchive() {
	unpack libarchive
	./configure --prefix="$S" "${HOST_ARGS[@]}" \
		--enable-static --disable-shared --disable-dependency-tracking --disable-maintainer-mode \
		--disable-bsdtar --disable-bsdcat --disable-bsdcpio --disable-acl --disable-xattr \
		--with-zlib --with-zstd --without-bz2lib --without-libb2 --without-iconv --without-lz4 \
		--without-lzma --without-lzo2 --without-cng --without-mbedtls --without-nettle \
		--without-openssl --without-xml2 --without-expat
	make -j"$JOBS"
	make install-libLTLIBRARIES install-includeHEADERS install-pkgconfigDATA
}

# HTTP(S) only, BearSSL backend (TLS 1.2), explicit CA bundle path because
# configure cannot probe it when crossing. Only the library; no curl tool.
build_curl() {
	unpack curl
	./configure --prefix="$S" "${HOST_ARGS[@]}" \
		--enable-static --disable-shared --disable-dependency-tracking --disable-maintainer-mode \
		--with-bearssl="$S" --without-openssl --without-gnutls --without-mbedtls --without-wolfssl \
		--without-rustls --without-hyper --with-zlib="$S" --without-zstd --without-brotli \
		--without-libpsl --without-libidn2 --without-nghttp2 --without-ngtcp2 --without-nghttp3 \
		--without-quiche --without-msh3 --without-libssh2 --without-libssh --without-wolfssh \
		--without-librtmp --without-libgsasl --without-gssapi --enable-http --disable-ftp \
		--disable-file --disable-ldap --disable-ldaps --disable-rtsp --disable-dict --disable-telnet \
		--disable-tftp --disable-pop3 --disable-imap --disable-smb --disable-smtp --disable-gopher \
		--disable-mqtt --disable-websockets --disable-manual --disable-ntlm --disable-ntlm-wb \
		--disable-tls-srp --disable-alt-svc --disable-hsts --disable-doh --disable-netrc \
		--disable-sspi --disable-versioned-symbols --disable-ares --enable-threaded-resolver \
		--enable-ipv6 --with-ca-bundle=/etc/ssl/certs/ca-certificates.crt --without-ca-path \
		--without-ca-fallback --without-zsh-functions-dir --without-fish-functions-dir
	make -C lib -j"$JOBS"
	make -C lib install-libLTLIBRARIES
	make -C include install
	make install-pkgconfigDATA install-binSCRIPTS
}

# For statically linked unit tests (aarch64 ones run under qemu). cmocka 1.1.5
# always builds a shared library and names the static one libcmocka-static.a;
# build only the static target and install it as libcmocka.a, which is what
# cmocka.pc's -lcmocka then finds.
build_cmocka() {
	unpack cmocka
	# cmocka.h guesses glibc's __WORDSIZE (musl has it only in <bits/reg.h>)
	# as 32 on any LP64 target but x86_64, and then typedefs a 32-bit
	# uintptr_t that clashes with musl's on aarch64. Musl marks its own
	# typedef with __DEFINED_uintptr_t.
	sed -i -e 's/ || defined(__sparcv9)$/ || defined(__sparcv9) || defined(_LP64)/' \
		-e 's/^#if !defined(_UINTPTR_T) && !defined(_UINTPTR_T_DEFINED)$/& \&\& !defined(__DEFINED_uintptr_t)/' \
		include/cmocka.h
	grep -q 'defined(_LP64)' include/cmocka.h
	grep -q '!defined(__DEFINED_uintptr_t)' include/cmocka.h
	cmake -S . -B _build "${CMAKE_ARGS[@]}" -DWITH_STATIC_LIB=ON -DWITH_EXAMPLES=OFF -DUNIT_TESTING=OFF
	cmake --build _build -j"$JOBS" --target cmocka-static
	cp _build/src/libcmocka-static.a "$S/lib/libcmocka.a"
	cp include/cmocka.h include/cmocka_pbc.h "$S/include/"
	cp _build/cmocka.pc "$S/lib/pkgconfig/"
}

# Run build_$1 with its output in a log; on failure show the log's tail and stop.
step() {
	local name=$1 log=$LOGS/$1.log start=$SECONDS rc
	say "building $name (log: $log)"
	set +e
	(
		set -ex
		cd "$BUILD"
		common_env
		"build_$name"
	) >"$log" 2>&1
	rc=$?
	set -e
	if ((rc != 0)); then
		tail -n 30 "$log" >&2
		die "$name failed (exit $rc); full log: $log"
	fi
	echo "$name $((SECONDS - start))s" >>"$LOGS/times.txt"
}

build_sysroot() {
	local start=$SECONDS
	S=$CACHE/.$(basename "$SYSROOT").tmp
	BUILD=$CACHE/build-$ARCH-$KEY
	LOGS=$CACHE/logs/$ARCH-$KEY
	# We hold the lock, so any other temporary tree is left over from an
	# interrupted or failed run (and a $SYSROOT without stamp is not ours).
	rm -rf "$CACHE"/.sysroot-*.tmp "$CACHE"/build-* "$SYSROOT"
	verify_sources
	mkdir -p "$S" "$BUILD" "$LOGS"
	: >"$LOGS/times.txt"

	local lib
	for lib in layout kheaders zlib zstd bearssl jansson libarchive curl cmocka; do
		step "$lib"
	done

	# libtool archives and man pages are of no use to a static link; the
	# absolute paths in .pc files and curl-config must name the final directory.
	find "$S" -name '*.la' -delete
	rm -rf "$S/share/man"
	rmdir "$S/share" 2>/dev/null || true
	local from to
	from=$(sed 's/[][\.*^$#]/\\&/g' <<<"$S")
	to=$(sed 's/[\&#]/\\&/g' <<<"$SYSROOT")
	{ grep -rlIZ -F "$S" "$S" || true; } | xargs -0 -r sed -i "s#$from#$to#g"
	{
		key_material
		echo "cc=$CC"
		echo "built=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
	} >"$S/sysroot.stamp"
	mv -T "$S" "$SYSROOT"
	rm -rf "$BUILD"
	say "built $SYSROOT in $((SECONDS - start)) s"
}

# ---------------------------------------------------------------------------

write_fragment() {
	local text
	text=$(
		cat <<-EOF
			# generated by board/sysroot/sysroot.sh --arch $ARCH
			SYSROOT := $SYSROOT
			CC := $CC
			AR := $AR
			RANLIB := $RANLIB
			STRIP := $STRIP
			PKG_CONFIG := $SYSROOT/bin/pkg-config
		EOF
	)
	if [[ -z $OUT ]]; then
		printf '%s\n' "$text"
	else
		# Through a temporary file, so make never includes half a fragment.
		mkdir -p "$(dirname "$OUT")"
		printf '%s\n' "$text" >"$OUT.tmp.$$"
		mv -f "$OUT.tmp.$$" "$OUT"
	fi
}

main() {
	parse_args "$@"
	setup_arch
	CACHE=${EMBER_CACHE:-${XDG_CACHE_HOME:-${HOME:?}/.cache}/ember}
	mkdir -p "$CACHE/logs"
	CACHE=$(cd "$CACHE" && pwd)

	# One build at a time per cache: a second make waits here, then finds the
	# sysroot the first one built. The lock also covers the shared apt lists.
	exec 9>"$CACHE/lock"
	if ! flock -n 9; then
		say "waiting for another sysroot build (lock: $CACHE/lock)"
		flock 9
	fi

	local online=1
	apt_update src || online=0
	if ((online)) && [[ -n $CROSS ]]; then
		apt_update arm64 || online=0
	fi
	if ((online)); then
		resolve_sources
		[[ -n $CROSS ]] && toolchain_aarch64
		KEY=$(key_material | sha256sum | cut -c1-16)
		SYSROOT=$CACHE/sysroot-$ARCH-$KEY
		if [[ -f $SYSROOT/sysroot.stamp ]]; then
			say "using $SYSROOT"
		else
			say "building $SYSROOT (JOBS=$JOBS)"
			build_sysroot
		fi
	else
		offline_fallback
	fi
	write_fragment
}

main "$@"
