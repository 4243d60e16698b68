# SPDX-License-Identifier: Apache-2.0
SUMMARY = "Kconfiglib, a Kconfig implementation in Python"
DESCRIPTION = "Runs ember's Kconfig when ember is built (olddefconfig, genconfig)."
HOMEPAGE = "https://github.com/ulfalizer/Kconfiglib"
LICENSE = "ISC"
LIC_FILES_CHKSUM = "file://LICENSE.txt;md5=712177a72a3937909543eda3ad1bfb7c"

# The v14.1.0 tag. destsuffix=${BP} unpacks to the default ${S} of every
# release this layer supports.
SRC_URI = "git://github.com/ulfalizer/Kconfiglib.git;protocol=https;branch=master;destsuffix=${BP}"
SRCREV = "061e71f7d78cb057762d88de088055361863deff"

inherit setuptools3

BBCLASSEXTEND = "native nativesdk"
