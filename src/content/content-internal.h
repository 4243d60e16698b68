/* SPDX-License-Identifier: Apache-2.0 */
#ifndef EMBER_CONTENT_INTERNAL_H
#define EMBER_CONTENT_INTERNAL_H

/* Shared by the files of src/content/ only. */

#include "content/content.h"

int content_check_digest(const char *digest, struct ember_error *e);
/* Hash the first limit bytes of fd (limit < 0: all) into a fresh digester. */
int content_hash_fd(int fd, int64_t limit, struct digester *d, int64_t *bytes, struct ember_error *e);
int content_ingest_recover(struct content_store *cs, struct content_recovery *st, struct ember_error *e);

#endif
