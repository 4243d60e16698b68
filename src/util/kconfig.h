/* SPDX-License-Identifier: Apache-2.0 */
#ifndef EMBER_UTIL_KCONFIG_H
#define EMBER_UTIL_KCONFIG_H

/*
 * Included into every compilation unit by the Makefile (as the kernel does
 * with linux/kconfig.h): the configuration, and ENABLED(CONFIG_X), which is
 * 1 or 0 for a bool so that options are tested in plain `if`s and both
 * branches are always compiled (STYLE.md §14).
 */

#include "generated/autoconf.h"

#define ENABLED(option) __enabled_one(option)
#define __enabled_one(x) __enabled_two(__ENABLED_ARG_##x)
#define __ENABLED_ARG_1 0,
#define __enabled_two(x) __enabled_three(x 1, 0)
#define __enabled_three(_ignored, val, ...) val

#endif
