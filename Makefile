# SPDX-License-Identifier: Apache-2.0
#
# ember's build. `make help` lists the targets. Everything generated goes
# to $(O) (default build/). Honours CC CROSS_COMPILE ARCH CFLAGS LDFLAGS
# PKG_CONFIG SYSROOT WERROR O= V=1 DESTDIR prefix.

VERSION := 0.1.0

SHELL := /bin/bash
.DEFAULT_GOAL := all
.SUFFIXES:
.DELETE_ON_ERROR:

O ?= build
# One spelling per directory (relative to the tree when inside it): the
# flags name it, and a build ID that changed with the spelling would
# rebuild the same directory when a caller gives an absolute path.
override O := $(patsubst $(CURDIR)/%,%,$(abspath $(O)))

ifeq ($(V),1)
Q :=
quiet := @:
else
Q := @
quiet := @printf '  %-9s %s\n'
endif

# Debian ships kconfiglib as modules for its own python3 only.
PYTHON ?= /usr/bin/python3
export srctree := $(CURDIR)
export KCONFIG_CONFIG := $(O)/.config

# ---------------------------------------------------------------------------
# Architecture and flavour
#
# FLAVOUR=static  the product: stripped, static, musl (default)
# FLAVOUR=dev     glibc, dynamic, ASan+UBSan: unit tests and debugging
# FLAVOUR=fuzz    clang, libFuzzer instrumentation: fuzz harnesses

HOSTARCH := $(shell uname -m)
ifneq ($(CROSS_COMPILE),)
ARCH ?= $(firstword $(subst -, ,$(notdir $(CROSS_COMPILE))))
endif
ARCH ?= $(HOSTARCH)
override ARCH := $(patsubst arm64,aarch64,$(patsubst amd64,x86_64,$(ARCH)))
ifneq ($(ARCH),$(HOSTARCH))
CROSS_COMPILE ?= $(ARCH)-linux-gnu-
endif

FLAVOUR ?= static

# Goals that never compile ember itself, so they must not build the sysroot
# (they may run before the packages it needs are installed).
NOBUILD_GOALS := help clean distclean deps check check-unit check-fuzz \
	check-integration check-cross check-qemu check-powercut fuzz demo dev bench sizes menuconfig \
	defconfig olddefconfig savedefconfig randconfig allnoconfig allyesconfig \
	alldefconfig %_defconfig
BUILD_GOALS := $(if $(MAKECMDGOALS),$(filter-out $(NOBUILD_GOALS),$(MAKECMDGOALS)),all)

ifeq ($(FLAVOUR),static)
  # Our own sysroot of static libraries built from Debian sources, unless
  # the caller (Buildroot, Yocto, a developer) brings a toolchain.
  ifeq ($(origin CC)$(SYSROOT),default)
    ifneq ($(BUILD_GOALS),)
      include $(O)/toolchain-$(ARCH).mk
    endif
    # Its libraries exist nowhere else: libember.a carries its own jansson.
    BUNDLE_JANSSON := y
    # It has no libmnl (Debian serves no source of it): mnl-lite, whatever
    # the configuration asked (allyesconfig). A caller's sysroot may have it.
    FLAVOUR_CONFIG := LIBMNL=n
  else
    CC := $(if $(filter default,$(origin CC)),$(CROSS_COMPILE)gcc,$(CC))
    AR := $(if $(filter default,$(origin AR)),$(CROSS_COMPILE)ar,$(AR))
    STRIP ?= $(CROSS_COMPILE)strip
    ifneq ($(SYSROOT),)
      PKG_CONFIG ?= PKG_CONFIG_LIBDIR=$(SYSROOT)/usr/lib/pkgconfig:$(SYSROOT)/lib/pkgconfig PKG_CONFIG_SYSROOT_DIR=$(SYSROOT) pkg-config
    endif
  endif
  CFLAGS ?= -Os
  FLAVOUR_CFLAGS := -ffunction-sections -fdata-sections \
	-fno-asynchronous-unwind-tables -fno-unwind-tables
  FLAVOUR_LDFLAGS := -static -Wl,--gc-sections
  PKG_STATIC := --static
  DEFCONFIG_FILE ?= defconfig
else ifeq ($(FLAVOUR),dev)
  ifeq ($(origin CC),default)
    CC := gcc
  endif
  CFLAGS ?= -O1 -g
  SANITIZE ?= -fsanitize=address,undefined -fno-sanitize-recover=all
  FLAVOUR_CFLAGS := -fno-omit-frame-pointer $(SANITIZE)
  FLAVOUR_LDFLAGS := $(SANITIZE)
  DEFCONFIG_FILE ?= board/full/defconfig
  # Debian has libmnl: the development build runs the netlink code on it,
  # the static build (its sysroot has no libmnl) on mnl-lite. Applied to
  # whatever configuration the development build has.
  FLAVOUR_CONFIG := LIBMNL=y
else ifeq ($(FLAVOUR),fuzz)
  ifeq ($(origin CC),default)
    CC := clang
  endif
  CFLAGS ?= -O1 -g
  FLAVOUR_CFLAGS := -fno-omit-frame-pointer -fsanitize=fuzzer-no-link,address,undefined
  FLAVOUR_LDFLAGS := -fsanitize=address,undefined
  DEFCONFIG_FILE ?= board/full/defconfig
else
  $(error FLAVOUR must be static, dev or fuzz, not "$(FLAVOUR)")
endif

AR ?= ar
STRIP ?= strip
OBJCOPY ?= $(CROSS_COMPILE)objcopy
PKG_CONFIG ?= pkg-config

# ---------------------------------------------------------------------------
# Configuration (Kconfig)

KCONFIG_FILES := Kconfig $(wildcard src/*/Kconfig)
AUTOCONF := $(O)/include/generated/autoconf.h
AUTOCONF_MK := $(O)/include/config/auto.conf

ifneq ($(BUILD_GOALS),)
-include $(AUTOCONF_MK)
endif

kconfig = $(Q)mkdir -p $(O) && $(PYTHON) -m

$(O)/.config:
	$(quiet) DEFCONFIG $(DEFCONFIG_FILE)
	$(kconfig) defconfig --kconfig Kconfig $(DEFCONFIG_FILE) >/dev/null

# genconfig leaves unchanged files alone, so objects rebuild only when the
# configuration really changed; auto.conf is touched to record the check.
$(AUTOCONF_MK): $(O)/.config $(KCONFIG_FILES)
	$(quiet) GEN $(AUTOCONF)
	$(Q)mkdir -p $(dir $(AUTOCONF)) $(dir $(AUTOCONF_MK))
	$(Q)$(PYTHON) -m olddefconfig Kconfig >/dev/null
	$(if $(FLAVOUR_CONFIG),$(Q)$(PYTHON) -m setconfig --kconfig Kconfig --no-check-value $(FLAVOUR_CONFIG) >/dev/null)
	$(Q)$(PYTHON) -m genconfig --header-path $(AUTOCONF) --config-out $@ Kconfig
	$(Q)touch $@

$(AUTOCONF): $(AUTOCONF_MK) ;

defconfig:
	$(kconfig) defconfig --kconfig Kconfig defconfig

%_defconfig: board/%/defconfig
	$(kconfig) defconfig --kconfig Kconfig $<

menuconfig olddefconfig allnoconfig allyesconfig alldefconfig:
	$(kconfig) $@ Kconfig

# SEED= repeats one; without it, a new one (printed).
randconfig:
	$(Q)mkdir -p $(O)
	$(Q)$(PYTHON) board/kconfig.py randconfig $(SEED)

savedefconfig: $(O)/.config
	$(kconfig) savedefconfig --kconfig Kconfig --out $(O)/defconfig
	@echo "wrote $(O)/defconfig"

# ---------------------------------------------------------------------------
# Toolchain (static flavour, no toolchain given): the sysroot script builds
# or reuses a cached sysroot and describes it in a make fragment.

$(O)/toolchain-$(ARCH).mk: board/sysroot/sysroot.sh
	$(quiet) SYSROOT $(ARCH)
	$(Q)mkdir -p $(O)
	$(Q)board/sysroot/sysroot.sh --arch $(ARCH) --out $@

# ---------------------------------------------------------------------------
# Sources. Each component's Makefile.inc adds to:
#   lib-y   objects of libember (the client library), also in the binary
#   obj-y   the rest of the binary, except src/main.c
#   idl-y   .varlink interface files the daemon serves

lib-y :=
obj-y :=
idl-y :=
include $(sort $(wildcard src/*/Makefile.inc))

OBJDIR := $(O)/obj
LIB_OBJS := $(addprefix $(OBJDIR)/,$(sort $(lib-y)))
ALL_OBJS := $(LIB_OBJS) $(addprefix $(OBJDIR)/,$(sort $(obj-y)))
MAIN_OBJ := $(OBJDIR)/main.o
GEN := $(O)/gen

PKGS := jansson $(if $(filter y,$(CONFIG_PULL)),libcurl) \
	$(if $(filter y,$(CONFIG_IMAGE_ARCHIVE) $(CONFIG_UNPACK)),libarchive) \
	$(if $(filter y,$(CONFIG_UNPACK)),zlib libzstd) \
	$(if $(filter y,$(CONFIG_LIBMNL)),libmnl)
# BearSSL (SHA-256, and curl's TLS) ships no .pc in Debian's -dev package;
# our sysroot has one. A caller may set BEARSSL_CFLAGS/BEARSSL_LIBS.
ifeq ($(CONFIG_CONTENT),y)
  ifeq ($(FLAVOUR),static)
    BEARSSL_PKG := $(shell $(PKG_CONFIG) --exists bearssl 2>/dev/null && echo bearssl)
  endif
  ifneq ($(BEARSSL_PKG),)
    PKGS += bearssl
  else
    # Debian keeps the headers in include/bearssl/; Buildroot in include/.
    BEARSSL_CFLAGS ?= $(if $(wildcard $(SYSROOT)/usr/include/bearssl/bearssl_hash.h),-I$(SYSROOT)/usr/include/bearssl)
    BEARSSL_LIBS ?= -lbearssl
  endif
endif
# Asked once, on first use (never for goals that do not compile).
pkg-cflags = $(eval pkg-cflags := $(shell $(PKG_CONFIG) --cflags $(PKGS)) $(BEARSSL_CFLAGS))$(pkg-cflags)
pkg-libs = $(eval pkg-libs := $(shell $(PKG_CONFIG) $(PKG_STATIC) --libs $(PKGS)) $(BEARSSL_LIBS))$(pkg-libs)
cmocka-cflags = $(eval cmocka-cflags := $(shell $(PKG_CONFIG) --cflags cmocka))$(cmocka-cflags)
cmocka-libs = $(eval cmocka-libs := $(shell $(PKG_CONFIG) $(PKG_STATIC) --libs cmocka))$(cmocka-libs)

# Warnings are errors in our builds; Buildroot and Yocto pass WERROR= (their
# compilers and hardening flags, e.g. _FORTIFY_SOURCE, warn differently).
WERROR ?= -Werror
EMBER_CFLAGS := -std=gnu11 -Wall -Wextra $(WERROR) -Wvla -Wshadow \
	-Wmissing-prototypes -Wstrict-prototypes -Wno-sign-compare \
	-D_GNU_SOURCE -I$(O)/include -include src/util/kconfig.h -I$(GEN) -Iinclude -Isrc \
	$(FLAVOUR_CFLAGS)

# A change of compiler, flags, sysroot (new libraries) or flavour rebuilds everything.
BUILD_ID := $(CC) | $(SYSROOT) | $(CFLAGS) | $(EMBER_CFLAGS) | $(LDFLAGS) | $(FLAVOUR)
$(O)/.build-id: FORCE
	@mkdir -p $(O)
	@if [ "$$(cat $@ 2>/dev/null)" != '$(BUILD_ID)' ]; then echo '$(BUILD_ID)' > $@; fi

$(OBJDIR)/%.o: src/%.c $(AUTOCONF) $(O)/.build-id | $(GEN)/ember-version.h $(GEN)/ember-features.h
	$(quiet) CC $<
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) $(EMBER_CFLAGS) $(pkg-cflags) -MMD -MP -c $< -o $@

$(OBJDIR)/gen/%.o: $(GEN)/%.c $(AUTOCONF) $(O)/.build-id
	$(quiet) CC $<
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) $(EMBER_CFLAGS) $(pkg-cflags) -c $< -o $@

-include $(shell find $(OBJDIR) -name '*.d' 2>/dev/null)

# version.h changes only when the version or the git revision does.
REVISION := $(shell git describe --always --dirty --abbrev=12 2>/dev/null || echo unknown)
$(GEN)/ember-version.h: FORCE
	@mkdir -p $(GEN)
	@printf '#define EMBER_VERSION "%s"\n#define EMBER_REVISION "%s"\n' '$(VERSION)' '$(REVISION)' > $@.tmp
	@cmp -s $@.tmp $@ && rm -f $@.tmp || mv -f $@.tmp $@

# The compiled-in features, for `ember version`: every bool that is on.
$(GEN)/ember-features.h: $(AUTOCONF_MK)
	@mkdir -p $(GEN)
	$(Q)sed -n 's/^CONFIG_\([A-Z0-9_]*\)=y$$/\1/p' $< | tr 'A-Z_' 'a-z-' | sort | \
		sed 's/.*/"&",/' > $@

$(GEN)/idl.c: $(idl-y) src/api/embed-idl.sh
	$(quiet) GEN $@
	$(Q)mkdir -p $(GEN)
	$(Q)src/api/embed-idl.sh $(idl-y) > $@

ifneq ($(idl-y),)
ALL_OBJS += $(OBJDIR)/gen/idl.o
endif

# ---------------------------------------------------------------------------
# Products

ifeq ($(BUNDLE_JANSSON),y)
# libember and the jansson objects it needs, linked into one object in
# which only ember_* stays global: `pkg-config --static --libs ember` is
# -lember alone, and an agent may link any JSON library (its own jansson
# too) without a clash.
JANSSON_A = $(eval JANSSON_A := $(shell $(PKG_CONFIG) --variable=libdir jansson)/libjansson.a)$(JANSSON_A)
$(O)/libember.a: $(LIB_OBJS)
	$(quiet) AR $@
	$(Q)$(CC) -r -nostdlib -o $(O)/libember.o $^ $(JANSSON_A)
	$(Q)$(OBJCOPY) --wildcard --keep-global-symbol='ember_*' $(O)/libember.o
	$(Q)rm -f $@ && $(AR) rcs $@ $(O)/libember.o
else
$(O)/libember.a: $(LIB_OBJS)
	$(quiet) AR $@
	$(Q)rm -f $@ && $(AR) rcs $@ $^
endif

# Everything but main.o, for unit tests and fuzz harnesses.
$(O)/libember-all.a: $(ALL_OBJS)
	$(quiet) AR $@
	$(Q)rm -f $@ && $(AR) rcs $@ $^

$(O)/ember.unstripped: $(MAIN_OBJ) $(ALL_OBJS)
	$(quiet) LD $@
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) $(FLAVOUR_LDFLAGS) $^ $(pkg-libs) -o $@

ifeq ($(FLAVOUR),static)
$(O)/ember: $(O)/ember.unstripped
	$(quiet) STRIP $@
	$(Q)$(STRIP) -o $@ $<
else
$(O)/ember: $(O)/ember.unstripped
	$(Q)cp -f $< $@
endif

all: $(O)/ember $(O)/libember.a

# ---------------------------------------------------------------------------
# Tests (built in whatever flavour is current; `make check` picks them)

UNIT_SRCS := $(sort $(wildcard tests/unit/test-*.c))
UNIT_BINS := $(patsubst tests/unit/%.c,$(O)/tests/unit/%,$(UNIT_SRCS))
FUZZ_SRCS := $(sort $(wildcard tests/fuzz/fuzz-*.c))
FUZZ_BINS := $(patsubst tests/fuzz/%.c,$(O)/tests/fuzz/%,$(FUZZ_SRCS))

$(O)/tests/unit/%: tests/unit/%.c tests/unit/unit.h $(O)/libember-all.a
	$(quiet) CC $<
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) $(EMBER_CFLAGS) $(pkg-cflags) -Wno-missing-prototypes \
		$(cmocka-cflags) $(LDFLAGS) $(FLAVOUR_LDFLAGS) \
		$< $(O)/libember-all.a $(pkg-libs) $(cmocka-libs) -o $@

$(O)/tests/fuzz/%: tests/fuzz/%.c $(O)/libember-all.a
	$(quiet) CC $<
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) $(EMBER_CFLAGS) $(pkg-cflags) -Wno-missing-prototypes \
		-fsanitize=fuzzer $(LDFLAGS) $(FLAVOUR_LDFLAGS) $< $(O)/libember-all.a $(pkg-libs) -o $@

# src/net on real kernel objects (tests/integration/netlink.bats): a
# program of its own, static on mnl-lite or dynamic on libmnl as the
# flavour's configuration says.
$(O)/tests/net/ember-nettest: tests/net/ember-nettest.c $(O)/libember-all.a
	$(quiet) CC $<
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) $(EMBER_CFLAGS) $(pkg-cflags) -Wno-missing-prototypes \
		$(LDFLAGS) $(FLAVOUR_LDFLAGS) $< $(O)/libember-all.a $(pkg-libs) -o $@

# The power-cut test's device-mapper tool (tests/guest/dmctl.c): static
# like ember, for the BusyBox guest, which has no dmsetup.
$(O)/tests/guest/ember-dmctl: tests/guest/dmctl.c
	$(quiet) CC $<
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) $(EMBER_CFLAGS) $(pkg-cflags) $(LDFLAGS) $(FLAVOUR_LDFLAGS) $< -o $@

guest-tests: $(O)/tests/guest/ember-dmctl

unit-tests: $(UNIT_BINS)
fuzzers: $(FUZZ_BINS)
net-tests: $(if $(filter y,$(CONFIG_NET)),$(O)/tests/net/ember-nettest)

# ---------------------------------------------------------------------------
# Orchestration: these recurse, so each step gets its own flavour and O.

DEV_O := $(O)/dev
FUZZ_O := $(O)/fuzz
CROSS_O := $(O)/aarch64
FUZZ_SECONDS ?= 10

deps:
	board/deps.sh build

dev:
	$(MAKE) FLAVOUR=dev O=$(DEV_O) all unit-tests

fuzz:
	board/deps.sh check
	$(MAKE) FLAVOUR=fuzz O=$(FUZZ_O) fuzzers
	tests/run.sh --fuzz-only --fuzz $(FUZZ_O)/tests/fuzz --fuzz-seconds $(or $(FUZZ_TIME),300)

check:
	board/deps.sh check
	$(MAKE) all unit-tests net-tests guest-tests
	$(MAKE) FLAVOUR=dev O=$(DEV_O) all unit-tests net-tests
	$(MAKE) FLAVOUR=fuzz O=$(FUZZ_O) fuzzers
	tests/run.sh --bin $(abspath $(O)/ember) --unit $(DEV_O)/tests/unit --unit $(O)/tests/unit \
		--fuzz $(FUZZ_O)/tests/fuzz --fuzz-seconds $(FUZZ_SECONDS) --configs $(O) --tags '!slow'

check-unit:
	$(MAKE) FLAVOUR=dev O=$(DEV_O) unit-tests
	$(MAKE) unit-tests
	tests/run.sh --unit-only --unit $(DEV_O)/tests/unit --unit $(O)/tests/unit

# netlink.bats runs src/net on both netlink builds: mnl-lite (static) and
# libmnl (dev).
check-integration:
	$(MAKE) all net-tests
	$(MAKE) FLAVOUR=dev O=$(DEV_O) net-tests
	tests/run.sh --integration-only --bin $(abspath $(O)/ember) $(if $(T),--filter '$(T)')

# The qemu guests (board/qemu, tests/integration/guest.bats): x86_64, then
# aarch64 with the cross-built ember (TCG: a few minutes each); the systemd
# and OpenRC guests (guest-systemd.bats, guest-openrc.bats, their tests
# named "guest: systemd: ..." and "guest: openrc: ..."), checkpoint and
# restore with Debian 12's criu on its 6.1 kernel (guest-checkpoint.bats,
# "guest: checkpoint: ...") and the full
# power-cut matrix (guest-powercut.bats, "guest: powercut: ...", POWERCUT=full,
# ~20 min; make check runs a quick subset, 2 or 3 cut points per operation) on
# x86_64 only. check-powercut runs the full matrix alone.
check-qemu:
	board/deps.sh qemu cross
	$(MAKE) all guest-tests
	$(MAKE) ARCH=aarch64 O=$(CROSS_O) all
	POWERCUT=full tests/run.sh --integration-only --bin $(abspath $(O)/ember) --filter '^guest: '
	GUEST_ARCH=aarch64 tests/run.sh --integration-only --bin $(abspath $(CROSS_O)/ember) --filter '^guest: '

check-powercut:
	board/deps.sh qemu
	$(MAKE) all guest-tests
	POWERCUT=full tests/run.sh --integration-only --bin $(abspath $(O)/ember) --filter '^guest: powercut: '

check-cross:
	board/deps.sh cross
	$(MAKE) ARCH=aarch64 O=$(CROSS_O) all unit-tests
	tests/run.sh --cross qemu-aarch64-static --bin $(abspath $(CROSS_O)/ember) --unit $(CROSS_O)/tests/unit

demo:
	board/deps.sh demo
	$(MAKE) all
	tests/demo.sh $(abspath $(O)/ember)

bench:
	board/deps.sh bench
	$(MAKE) all
	$(MAKE) O=$(O)/size-tiny tiny_defconfig >/dev/null
	$(MAKE) O=$(O)/size-tiny all
	tests/bench/run.sh $(abspath $(O)/ember) $(abspath $(O)/size-tiny/ember)

# What each feature costs (board/sizes.sh; ARCH=aarch64 for the other table).
sizes:
	board/deps.sh build $(if $(filter-out $(shell uname -m),$(ARCH)),cross)
	PYTHON=$(PYTHON) board/sizes.sh $(O) $(ARCH)

# ---------------------------------------------------------------------------
# Install

prefix ?= /usr/local
bindir ?= $(prefix)/bin
includedir ?= $(prefix)/include
libdir ?= $(prefix)/lib
sysconfdir ?= /etc
initddir ?= $(sysconfdir)/init.d
systemdunitdir ?= $(prefix)/lib/systemd/system
# Service files to install: sysv (BusyBox init, sysvinit), openrc, systemd.
INIT ?=

INIT_SYSTEMS := sysv openrc systemd
ifneq ($(filter install,$(MAKECMDGOALS)),)
  ifneq ($(filter-out $(INIT_SYSTEMS),$(INIT)),)
    $(error INIT takes sysv, openrc or systemd (or several), not "$(INIT)")
  endif
  # (Once the configuration exists: make reads this again after making it.)
  ifneq ($(INIT)$(wildcard $(AUTOCONF_MK)),$(INIT))
    ifneq ($(CONFIG_DAEMON),y)
      $(error INIT=$(INIT): this configuration has no daemon to run)
    endif
  endif
endif

unquote = $(patsubst "%",%,$(1))
INSTALL_TMP := $(O)/install

# ember.pc for this install's directories. Debian's or a board's jansson is
# named; the private sysroot's is inside libember.a. A sanitizer build's
# library needs the sanitizers' runtime at link time.
pc-rel = $(patsubst $(prefix)/%,$${prefix}/%,$(1))
PC_LIBS_PRIVATE := $(if $(filter static,$(FLAVOUR)),,$(strip $(FLAVOUR_LDFLAGS)))
PC_LINES := 'prefix=$(prefix)' 'includedir=$(call pc-rel,$(includedir))' \
	'libdir=$(call pc-rel,$(libdir))' '' 'Name: ember' \
	'Description: client library for the ember container daemon' 'Version: $(VERSION)' \
	$(if $(BUNDLE_JANSSON),,'Requires.private: jansson') \
	'Cflags: -I$${includedir}' 'Libs: -L$${libdir} -lember' \
	$(if $(PC_LIBS_PRIVATE),'Libs.private: $(PC_LIBS_PRIVATE)')

# board/common's files are written with the stock paths: this install's
# bindir and this configuration's defaults (Kconfig DEFAULT_*) replace them.
BOARD_SED := sed -e 's|/usr/bin/ember|$(bindir)/ember|g' \
	-e 's|^\#root = .*|\#root = $(CONFIG_DEFAULT_ROOT)|' \
	-e 's|^\#state = .*|\#state = $(CONFIG_DEFAULT_STATE)|' \
	-e 's|^\#address = .*|\#address = $(CONFIG_DEFAULT_ADDRESS)|' \
	-e 's|^\#config_path = .*|\#config_path = $(CONFIG_DEFAULT_CERTS_DIR)|' \
	-e 's|^\#preload = .*|\#preload = $(CONFIG_DEFAULT_PRELOAD)|' \
	-e 's|^\#default = .*|\#default = $(CONFIG_DEFAULT_SNAPSHOTTER)|' \
	-e 's|^\#drop_blobs = .*|\#drop_blobs = $(if $(filter y,$(CONFIG_UNPACK_DROP_BLOBS)),true,false)|' \
	-e 's|^\#EMBER_CONFIG=.*|\#EMBER_CONFIG=$(call unquote,$(CONFIG_DEFAULT_CONFIG))|' \
	-e 's|^\#EMBER_ROOT=.*|\#EMBER_ROOT=$(call unquote,$(CONFIG_DEFAULT_ROOT))|' \
	-e 's|^\#EMBER_STATE=.*|\#EMBER_STATE=$(call unquote,$(CONFIG_DEFAULT_STATE))|' \
	-e 's|^\#EMBER_ADDRESS=.*|\#EMBER_ADDRESS=$(call unquote,$(CONFIG_DEFAULT_ADDRESS))|'

# install_board FILE MODE DEST: a board/common file, its paths replaced.
define install_board
	$(quiet) INSTALL $(DESTDIR)$(3)
	$(Q)$(BOARD_SED) board/common/$(1) >$(INSTALL_TMP)/$(1)
	$(Q)install -D -m $(2) $(INSTALL_TMP)/$(1) $(DESTDIR)$(3)
endef
# install_conf FILE DEST: the same for configuration, which is the owner's
# once it is there: a file that differs is kept, this one goes beside it
# as DEST.new.
define install_conf
	$(quiet) INSTALL $(DESTDIR)$(2)
	$(Q)$(BOARD_SED) board/common/$(1) >$(INSTALL_TMP)/$(1)
	$(Q)if [ ! -e $(DESTDIR)$(2) ]; then install -D -m 0644 $(INSTALL_TMP)/$(1) $(DESTDIR)$(2); \
	elif ! cmp -s $(INSTALL_TMP)/$(1) $(DESTDIR)$(2); then \
		install -m 0644 $(INSTALL_TMP)/$(1) $(DESTDIR)$(2).new && \
		echo "install: kept $(DESTDIR)$(2) (it differs); the new one is $(DESTDIR)$(2).new"; fi
endef

install: all
	install -D -m 0755 $(O)/ember $(DESTDIR)$(bindir)/ember
	ln -sf ember $(DESTDIR)$(bindir)/emberd
	install -d $(DESTDIR)$(includedir)/ember $(DESTDIR)$(libdir)/pkgconfig
	install -m 0644 include/ember/*.h $(DESTDIR)$(includedir)/ember/
	install -m 0644 $(O)/libember.a $(DESTDIR)$(libdir)/libember.a
	printf '%s\n' $(PC_LINES) >$(DESTDIR)$(libdir)/pkgconfig/ember.pc
ifeq ($(CONFIG_DAEMON),y)
	@rm -rf $(INSTALL_TMP) && mkdir -p $(INSTALL_TMP)
	$(call install_conf,config.toml,$(call unquote,$(CONFIG_DEFAULT_CONFIG)))
endif
ifneq ($(filter sysv,$(INIT)),)
	$(call install_board,S60ember,0755,$(initddir)/S60ember)
	$(call install_conf,ember.default,$(sysconfdir)/default/ember)
endif
ifneq ($(filter openrc,$(INIT)),)
	$(call install_board,ember.openrc,0755,$(initddir)/ember)
	$(call install_conf,ember.default,$(sysconfdir)/conf.d/ember)
endif
ifneq ($(filter systemd,$(INIT)),)
	$(call install_board,ember.service,0644,$(systemdunitdir)/ember.service)
endif

clean:
	rm -rf $(OBJDIR) $(GEN) $(O)/ember $(O)/ember.unstripped $(O)/libember*.a \
		$(O)/libember.o $(O)/install $(O)/tests $(O)/.build-id $(DEV_O) $(FUZZ_O) $(CROSS_O) $(O)/size-* \
		$(O)/cfg-*

distclean:
	rm -rf $(O)

help:
	@echo 'Build:'
	@echo '  all (default)     static musl ember + libember.a in O=$(O)'
	@echo '  dev               glibc build with ASan/UBSan in $(DEV_O)'
	@echo "  sizes             what each feature costs (stripped bytes, this ARCH)"
	@echo "  randconfig [SEED=n]  a random configuration (the seed is printed)"
	@echo '  net-tests         tests/net/ember-nettest for netlink.bats (this flavour'\''s netlink)'
	@echo '  guest-tests       tests/guest/ember-dmctl for guest-powercut.bats (static)'
	@echo 'Install:'
	@echo '  install           bin/ember, bin/emberd, include/ember, lib/libember.a,'
	@echo '                    lib/pkgconfig/ember.pc, /etc/ember/config.toml (one that'
	@echo '                    differs is kept, the new one goes beside it as .new)'
	@echo '  install INIT=sysv|openrc|systemd   and a service (several: INIT="sysv systemd")'
	@echo '                    sysv: $$initddir/S60ember and $$sysconfdir/default/ember'
	@echo '                    openrc: $$initddir/ember and $$sysconfdir/conf.d/ember'
	@echo '                    systemd: $$systemdunitdir/ember.service'
	@echo '  Variables: DESTDIR= prefix=$(prefix) bindir=$$prefix/bin libdir=$$prefix/lib'
	@echo '             includedir=$$prefix/include sysconfdir=$(sysconfdir) initddir=$$sysconfdir/init.d'
	@echo '             systemdunitdir=$$prefix/lib/systemd/system'
	@echo 'Configure:'
	@echo '  defconfig menuconfig olddefconfig savedefconfig allnoconfig allyesconfig'
	@echo '  <board>_defconfig for board/<board>/defconfig:' $(notdir $(patsubst %/defconfig,%,$(wildcard board/*/defconfig)))
	@echo 'Test:'
	@echo '  check             install test deps, build, run unit, fuzz and integration tests'
	@echo '  check-unit check-integration [T=regex] check-cross check-qemu check-powercut fuzz [FUZZ_TIME=s]'
	@echo '  demo              the main job end to end'
	@echo '  bench             benchmarks against the peers'
	@echo 'Variables: O= V=1 ARCH= CROSS_COMPILE= CC= CFLAGS= LDFLAGS= SYSROOT= PKG_CONFIG= WERROR='

$(GEN):
	@mkdir -p $@

FORCE:
.PHONY: all dev check check-unit check-integration check-cross check-qemu check-powercut guest-tests fuzz demo bench deps \
	install clean distclean help sizes unit-tests fuzzers defconfig menuconfig \
	olddefconfig allnoconfig allyesconfig alldefconfig savedefconfig randconfig FORCE
