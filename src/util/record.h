/* SPDX-License-Identifier: Apache-2.0 */
#ifndef EMBER_UTIL_RECORD_H
#define EMBER_UTIL_RECORD_H

/* JSON records on disk, always written through fs_write_atomic(). */

#include <stddef.h>
#include <jansson.h>

#include <ember/error.h>

/* Records are small; anything bigger is damage or an attack. */
#define RECORD_MAX_SIZE (1u << 20)

int record_read(int dirfd, const char *name, json_t **out, struct ember_error *e);
int record_write(int dirfd, const char *name, json_t *record, struct ember_error *e);

/* Sort an array of records by the string field (missing: ""); -ENOMEM. */
int record_sort(json_t *records, const char *field);

#endif
