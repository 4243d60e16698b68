# SPDX-License-Identifier: Apache-2.0
SUMMARY = "BearSSL, a small implementation of the SSL/TLS protocol"
DESCRIPTION = "ember's SHA-256 engine (the content store's digests) and its \
TLS helpers."
HOMEPAGE = "https://bearssl.org"
LICENSE = "MIT"
LIC_FILES_CHKSUM = "file://LICENSE.txt;md5=1fc37e1037ae673975fbcb96a98f7191"

SRC_URI = "https://bearssl.org/bearssl-${PV}.tar.gz"
SRC_URI[sha256sum] = "6705bba1714961b41a728dfc5debbe348d2966c117649392f8c8139efc83ff14"

# Only the static library: BearSSL's Makefile gives the shared one no
# soname. Position-independent, for the PIE programs that link it.
EXTRA_OEMAKE = "CC='${CC}' AR='${AR}' CFLAGS='${CFLAGS} -fPIC'"
# Its Makefile does not order the creation of build/ before the objects.
PARALLEL_MAKE = ""

do_compile() {
	oe_runmake lib
}

do_install() {
	install -d ${D}${includedir} ${D}${libdir}
	install -m 0644 ${S}/inc/*.h ${D}${includedir}/
	install -m 0644 ${S}/build/libbearssl.a ${D}${libdir}/
}

# Nothing goes to ${PN} itself: -dev and -staticdev stand alone.
RDEPENDS:${PN}-dev = ""

BBCLASSEXTEND = "native nativesdk"
