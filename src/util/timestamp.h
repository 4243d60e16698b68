/* SPDX-License-Identifier: Apache-2.0 */
#ifndef EMBER_UTIL_TIMESTAMP_H
#define EMBER_UTIL_TIMESTAMP_H

#include <time.h>

/* Length of "2026-11-23T17:56:00.123456789Z" plus its NUL. */
#define TIMESTAMP_LEN 31

/* The current UTC time as RFC 3339 with nanoseconds (records, events, logs). */
void timestamp_now(char out[TIMESTAMP_LEN]);
/* The same for whole seconds since the epoch. */
void timestamp_format(time_t t, char out[TIMESTAMP_LEN]);

#endif
