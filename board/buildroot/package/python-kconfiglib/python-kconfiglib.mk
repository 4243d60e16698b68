################################################################################
#
# python-kconfiglib
#
################################################################################

# Kconfiglib runs ember's Kconfig (ember-menuconfig, olddefconfig,
# genconfig). Debian's copy of the upstream v14.1.0 release archive.
PYTHON_KCONFIGLIB_VERSION = 14.1.0
PYTHON_KCONFIGLIB_SOURCE = kconfiglib_$(PYTHON_KCONFIGLIB_VERSION).orig.tar.gz
PYTHON_KCONFIGLIB_SITE = https://deb.debian.org/debian/pool/main/k/kconfiglib
PYTHON_KCONFIGLIB_SETUP_TYPE = setuptools
PYTHON_KCONFIGLIB_LICENSE = ISC
PYTHON_KCONFIGLIB_LICENSE_FILES = LICENSE.txt

$(eval $(host-python-package))
