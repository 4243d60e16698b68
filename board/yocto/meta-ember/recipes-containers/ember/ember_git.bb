# SPDX-License-Identifier: Apache-2.0
SUMMARY = "ember, a container runtime for embedded Linux"
DESCRIPTION = "One binary pulls, stores, unpacks and runs OCI containers, \
with no shim per container and no external OCI runtime. Needs Linux 5.9 \
or later."
LICENSE = "Apache-2.0"
LIC_FILES_CHKSUM = "file://LICENSE;md5=3b83ef96387f14655fc854ddc3c6bd57"

# The ember repository this layer is part of (EMBER_SRC_TREE, from
# conf/layer.conf), at the newest commit of EMBER_BRANCH. A product pins
# SRCREV (and may point EMBER_GIT_URI at its own clone) in local.conf or
# a bbappend. destsuffix=${BP} unpacks to the default ${S} of every
# release this layer supports.
EMBER_GIT_URI ?= "git://${EMBER_SRC_TREE};protocol=file"
EMBER_BRANCH ?= "main"
SRC_URI = "${EMBER_GIT_URI};branch=${EMBER_BRANCH};destsuffix=${BP}"
SRCREV ?= "${AUTOREV}"
PV = "0.1.0+git"

# ember builds out of tree, in O=${B}, without -Werror (WERROR=): the
# hardening flags of the build (_FORTIFY_SOURCE) add warnings.
B = "${WORKDIR}/build"

inherit pkgconfig python3native update-rc.d systemd

DEPENDS = "bearssl jansson python3-kconfiglib-native"

# Each feature sets the ember Kconfig symbol its PACKAGECONFIG names (the
# "enable,disable" fields, which do_configure writes into .config), and
# brings the libraries it links. The content store under them is always
# on. "tls" is libcurl's: curl's "openssl" PACKAGECONFIG (its default)
# or another TLS backend of curl must be on. "static" links ember
# statically against this build's libraries (their static archives: see
# do_configure).
PACKAGECONFIG ??= "daemon cli pull tls push image-archive unpack \
    snapshot-overlay snapshot-native runtime cgroups userns \
    ${@'seccomp' if d.getVar('TARGET_ARCH') in ('x86_64', 'aarch64') else ''}"
PACKAGECONFIG[daemon] = "CONFIG_DAEMON=y,CONFIG_DAEMON=n"
PACKAGECONFIG[cli] = "CONFIG_CLI=y,CONFIG_CLI=n"
PACKAGECONFIG[pull] = "CONFIG_PULL=y,CONFIG_PULL=n,curl zlib"
PACKAGECONFIG[tls] = ",,curl,ca-certificates"
PACKAGECONFIG[push] = "CONFIG_PUSH=y,CONFIG_PUSH=n"
PACKAGECONFIG[image-archive] = "CONFIG_IMAGE_ARCHIVE=y,CONFIG_IMAGE_ARCHIVE=n,libarchive"
PACKAGECONFIG[unpack] = "CONFIG_UNPACK=y,CONFIG_UNPACK=n,libarchive zlib zstd"
PACKAGECONFIG[snapshot-overlay] = "CONFIG_SNAPSHOT_OVERLAY=y,CONFIG_SNAPSHOT_OVERLAY=n"
PACKAGECONFIG[snapshot-native] = "CONFIG_SNAPSHOT_NATIVE=y,CONFIG_SNAPSHOT_NATIVE=n"
PACKAGECONFIG[runtime] = "CONFIG_RUNTIME=y,CONFIG_RUNTIME=n"
PACKAGECONFIG[cgroups] = "CONFIG_CGROUPS=y,CONFIG_CGROUPS=n"
PACKAGECONFIG[seccomp] = "CONFIG_SECCOMP=y,CONFIG_SECCOMP=n"
PACKAGECONFIG[userns] = "CONFIG_USERNS=y,CONFIG_USERNS=n"
PACKAGECONFIG[static] = ""

# The configuration the features are applied to: ember's own defconfig,
# or another (board/tiny/defconfig, a file of a bbappend's SRC_URI...).
EMBER_DEFCONFIG ?= "${S}/defconfig"

EMBER_FLAVOUR = "${@bb.utils.contains('PACKAGECONFIG', 'static', 'FLAVOUR=static', 'FLAVOUR=dev SANITIZE=', d)}"
EXTRA_OEMAKE = "-C ${S} O=${B} V=1 ${EMBER_FLAVOUR} \
    CC='${CC}' AR='${AR}' STRIP='${STRIP}' CROSS_COMPILE='${TARGET_PREFIX}' \
    CFLAGS='${CFLAGS}' LDFLAGS='${LDFLAGS}' PKG_CONFIG=pkg-config \
    SYSROOT='${STAGING_DIR_TARGET}' PYTHON='${PYTHON}' WERROR= \
    prefix=${prefix} bindir=${bindir} includedir=${includedir} libdir=${libdir}"

# A static link needs the static archives, which most recipes leave out
# (DISABLE_STATIC).
EMBER_STATIC_LIBS = "libbearssl.a libjansson.a \
    ${@bb.utils.contains('PACKAGECONFIG', 'pull', 'libcurl.a libz.a', '', d)} \
    ${@bb.utils.contains_any('PACKAGECONFIG', 'image-archive unpack', 'libarchive.a', '', d)} \
    ${@bb.utils.contains('PACKAGECONFIG', 'unpack', 'libz.a libzstd.a', '', d)}"

do_configure() {
	if ${@bb.utils.contains('PACKAGECONFIG', 'static', 'true', 'false', d)}; then
		for lib in ${EMBER_STATIC_LIBS}; do
			[ -e ${STAGING_LIBDIR}/$lib ] || bbfatal "PACKAGECONFIG static: ${STAGING_LIBDIR}/$lib is missing (set DISABLE_STATIC:pn-<its recipe> = \"\" in local.conf)"
		done
	fi
	install -m 0644 ${EMBER_DEFCONFIG} ${B}/.config
	echo CONFIG_CONTENT=y > ${B}/packageconfig.fragment
	for opt in ${PACKAGECONFIG_CONFARGS}; do
		case $opt in
		CONFIG_*=n) echo "# ${opt%=n} is not set" ;;
		CONFIG_*) echo "$opt" ;;
		esac
	done >> ${B}/packageconfig.fragment
	for sym in $(sed -n 's/^\(# \)\?\(CONFIG_[A-Z0-9_]*\).*/\2/p' ${B}/packageconfig.fragment); do
		sed -i -e "/^$sym=/d" -e "/^# $sym is not set/d" ${B}/.config
	done
	cat ${B}/packageconfig.fragment >> ${B}/.config
	oe_runmake olddefconfig
}

# The copy fetched has its .git; name its revision (never a parent
# directory's repository).
do_compile() {
	revision=unknown
	if [ -e ${S}/.git ]; then
		revision=$(git -C ${S} describe --always --dirty --abbrev=12 2>/dev/null || echo unknown)
	fi
	oe_runmake REVISION=$revision all
}

# libember (headers, static library, ember.pc) for OTA agents, and the
# unstripped binary: the build strips and splits it as it is configured to.
do_install() {
	oe_runmake DESTDIR=${D} install
	install -m 0755 ${B}/ember.unstripped ${D}${bindir}/ember
	if ${@bb.utils.contains('PACKAGECONFIG', 'daemon', 'true', 'false', d)}; then
		install -D -m 0644 ${S}/board/common/ember.default ${D}${sysconfdir}/default/ember
		if ${@bb.utils.contains('DISTRO_FEATURES', 'sysvinit', 'true', 'false', d)}; then
			install -D -m 0755 ${S}/board/common/S60ember ${D}${sysconfdir}/init.d/ember
		fi
		if ${@bb.utils.contains('DISTRO_FEATURES', 'systemd', 'true', 'false', d)}; then
			install -D -m 0644 ${S}/board/common/ember.service ${D}${systemd_system_unitdir}/ember.service
		fi
	else
		rm -f ${D}${bindir}/emberd
	fi
}

INITSCRIPT_PACKAGES = "${@bb.utils.contains('PACKAGECONFIG', 'daemon', '${PN}', '', d)}"
INITSCRIPT_NAME = "ember"
INITSCRIPT_PARAMS = "defaults 60"
SYSTEMD_PACKAGES = "${@bb.utils.contains('PACKAGECONFIG', 'daemon', '${PN}', '', d)}"
SYSTEMD_SERVICE:${PN} = "ember.service"

CONFFILES:${PN} += "${sysconfdir}/default/ember"
