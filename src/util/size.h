/* SPDX-License-Identifier: Apache-2.0 */
#ifndef EMBER_UTIL_SIZE_H
#define EMBER_UTIL_SIZE_H

#include <stdint.h>

/*
 * A size in bytes as Docker and runc take one (go-units' RAMInBytes): a
 * decimal number ("64", "1.5", ".5", "1e3"), one optional space, then an
 * optional unit k, m, g, t or p (powers of 1024), an optional "i" and an
 * optional "b", in any case: "64m", "1.5g", "48 MiB", "4096", "2kb".
 * A fraction of a byte is dropped. 0, or -1 when s is empty, negative,
 * malformed ("12x", "1.5.5m") or 2^63 bytes or more ("99999999999p").
 * The "-1" that means unlimited in runc's flags is the caller's to take.
 */
int size_parse(const char *s, int64_t *out);

#endif
