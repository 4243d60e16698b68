/* SPDX-License-Identifier: Apache-2.0 */
#ifndef EMBER_UTIL_VERSION_H
#define EMBER_UTIL_VERSION_H

#include <stddef.h>
#include <stdio.h>

#include "ember-version.h" /* generated: EMBER_VERSION, EMBER_REVISION */

/* The Kconfig bools that are on, lower-case with dashes ("cli-call"). */
extern const char *const ember_features[];
extern const size_t ember_features_count;

/* `ember version [--json]` output. */
void version_print(FILE *f, int json);

#endif
