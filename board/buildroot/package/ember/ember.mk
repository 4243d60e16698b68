################################################################################
#
# ember
#
################################################################################

# This BR2_EXTERNAL tree lives in ember's own source tree (board/buildroot),
# which is built with the local site method: nothing is downloaded, so
# ember.hash only holds the hash of the license file. The rsync of the
# tree leaves out ember's default build directory.
EMBER_VERSION = 0.1.0
EMBER_SITE = $(BR2_EXTERNAL_EMBER_PATH)/../..
EMBER_SITE_METHOD = local
EMBER_OVERRIDE_SRCDIR_RSYNC_EXCLUSIONS = --exclude /build
EMBER_LICENSE = Apache-2.0
EMBER_LICENSE_FILES = LICENSE
EMBER_INSTALL_STAGING = YES
EMBER_DEPENDENCIES = host-pkgconf bearssl jansson

# The copy has no .git: name the revision of the tree it came from, or
# `git describe` would find Buildroot's own repository.
EMBER_REVISION = $(shell [ -e $(EMBER_SITE)/.git ] && \
	git -C $(EMBER_SITE) describe --always --dirty --abbrev=12 2>/dev/null || \
	echo unknown)

# ember's Makefile builds in O= (its .config is $(O)/.config, and
# savedefconfig writes $(O)/defconfig, where Buildroot looks for them).
# FLAVOUR=static links with -static and pkg-config --static; the dev
# flavour links against the target's shared libraries (its sanitizers
# are turned off with SANITIZE=). WERROR= keeps warnings of this
# toolchain and its hardening flags from failing the build. prefix is
# that of ember.pc, made with the binary.
EMBER_MAKE_ENV = $(TARGET_MAKE_ENV)
EMBER_MAKE_OPTS = \
	O=. \
	V=1 \
	CC="$(TARGET_CC)" \
	AR="$(TARGET_AR)" \
	STRIP="$(TARGET_CROSS)strip" \
	CROSS_COMPILE="$(TARGET_CROSS)" \
	CFLAGS="$(TARGET_CFLAGS)" \
	LDFLAGS="$(TARGET_LDFLAGS)" \
	PKG_CONFIG="$(PKG_CONFIG_HOST_BINARY)" \
	SYSROOT="$(STAGING_DIR)" \
	PYTHON="$(HOST_DIR)/bin/python3" \
	REVISION="$(EMBER_REVISION)" \
	WERROR= \
	prefix=/usr

ifeq ($(BR2_STATIC_LIBS),y)
EMBER_MAKE_OPTS += FLAVOUR=static
else
EMBER_MAKE_OPTS += FLAVOUR=dev SANITIZE=
endif

ifeq ($(BR2_PACKAGE_EMBER_PULL),y)
EMBER_DEPENDENCIES += libcurl zlib
endif

ifeq ($(BR2_PACKAGE_EMBER_IMAGE_ARCHIVE),y)
EMBER_DEPENDENCIES += libarchive
endif

ifeq ($(BR2_PACKAGE_EMBER_UNPACK),y)
EMBER_DEPENDENCIES += libarchive zlib zstd
endif

# ember's Kconfig runs on kconfiglib, in Buildroot's host python.
EMBER_KCONFIG_FILE = $(call qstrip,$(BR2_PACKAGE_EMBER_CONFIG))
EMBER_KCONFIG_FRAGMENT_FILES = $(call qstrip,$(BR2_PACKAGE_EMBER_CONFIG_FRAGMENT_FILES))
EMBER_KCONFIG_OPTS = $(EMBER_MAKE_OPTS)
EMBER_KCONFIG_DEPENDENCIES = host-python-kconfiglib

# Each BR2_PACKAGE_EMBER_<NAME> option sets ember's CONFIG_<NAME>, on or
# off, whatever the configuration file says. The content store under
# them is always on.
EMBER_FEATURES = \
	DAEMON \
	CLI \
	PULL \
	PUSH \
	IMAGE_ARCHIVE \
	UNPACK \
	SNAPSHOT_OVERLAY \
	SNAPSHOT_NATIVE \
	RUNTIME \
	CGROUPS \
	SECCOMP \
	USERNS

# $(1): a name of EMBER_FEATURES
define EMBER_SET_FEATURE
	$(if $(BR2_PACKAGE_EMBER_$(1)),\
		$(call KCONFIG_ENABLE_OPT,CONFIG_$(1)),\
		$(call KCONFIG_DISABLE_OPT,CONFIG_$(1)))
endef

define EMBER_KCONFIG_FIXUP_CMDS
	$(call KCONFIG_ENABLE_OPT,CONFIG_CONTENT)
	$(foreach f,$(EMBER_FEATURES),$(call EMBER_SET_FEATURE,$(f))$(sep))
endef

define EMBER_BUILD_CMDS
	$(EMBER_MAKE_ENV) $(MAKE) -C $(@D) $(EMBER_MAKE_OPTS) all
endef

# libember (headers, static library, ember.pc) for programs that drive
# the daemon, such as OTA agents.
define EMBER_INSTALL_STAGING_CMDS
	$(EMBER_MAKE_ENV) $(MAKE) -C $(@D) $(EMBER_MAKE_OPTS) \
		DESTDIR=$(STAGING_DIR) install
endef

# The unstripped binary: Buildroot strips it (or not) as configured.
define EMBER_INSTALL_TARGET_CMDS
	$(INSTALL) -D -m 0755 $(@D)/ember.unstripped $(TARGET_DIR)/usr/bin/ember
endef

# The daemon's start-up files, shared with the Yocto layer (board/common).
ifeq ($(BR2_PACKAGE_EMBER_DAEMON),y)
define EMBER_INSTALL_DAEMON
	ln -sf ember $(TARGET_DIR)/usr/bin/emberd
	$(INSTALL) -D -m 0644 $(@D)/board/common/ember.default \
		$(TARGET_DIR)/etc/default/ember
endef
EMBER_POST_INSTALL_TARGET_HOOKS += EMBER_INSTALL_DAEMON

define EMBER_INSTALL_INIT_SYSV
	$(INSTALL) -D -m 0755 $(@D)/board/common/S60ember \
		$(TARGET_DIR)/etc/init.d/S60ember
endef

define EMBER_INSTALL_INIT_OPENRC
	$(INSTALL) -D -m 0755 $(@D)/board/common/ember.openrc \
		$(TARGET_DIR)/etc/init.d/ember
endef

define EMBER_INSTALL_INIT_SYSTEMD
	$(INSTALL) -D -m 0644 $(@D)/board/common/ember.service \
		$(TARGET_DIR)/usr/lib/systemd/system/ember.service
endef
endif

# The kernel options of kernel.fragment, by section: those of the chosen
# features are turned on when Buildroot builds the kernel.
EMBER_KERNEL_FRAGMENT = $(BR2_EXTERNAL_EMBER_PATH)/kernel.fragment
EMBER_KERNEL_SECTIONS = \
	base \
	$(if $(BR2_PACKAGE_EMBER_RUNTIME),containers) \
	$(if $(BR2_PACKAGE_EMBER_SNAPSHOT_OVERLAY),overlay) \
	$(if $(BR2_PACKAGE_EMBER_CGROUPS),cgroups) \
	$(if $(BR2_PACKAGE_EMBER_SECCOMP),seccomp) \
	$(if $(BR2_PACKAGE_EMBER_USERNS),userns)
EMBER_KERNEL_OPTS = $(shell awk -v want=" $(strip $(EMBER_KERNEL_SECTIONS)) " \
	'/^\# section: / { on = index(want, " " $$3 " ") } \
	on && /^CONFIG_/ { sub(/=.*/, ""); print }' $(EMBER_KERNEL_FRAGMENT))

define EMBER_LINUX_CONFIG_FIXUPS
	$(foreach o,$(EMBER_KERNEL_OPTS),$(call KCONFIG_ENABLE_OPT,$(o))$(sep))
endef

$(eval $(kconfig-package))
