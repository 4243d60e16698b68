/* SPDX-License-Identifier: Apache-2.0 */
#ifndef EMBER_DAEMON_CHECK_H
#define EMBER_DAEMON_CHECK_H

/* The store's records against what it holds (check.c): a job answering
   call with the problems found (and repaired, with repair; blobs hashed
   again with verify). call NULL: start-up's, its findings logged. */

#include "util/kconfig.h"

struct daemon;
struct api_call;

#ifdef CONFIG_CONTENT_STORE
void system_check(struct daemon *d, struct api_call *call, int verify, int repair);
#else
static inline void system_check(struct daemon *d, struct api_call *call, int verify, int repair)
{
	(void)d, (void)call, (void)verify, (void)repair;
}
#endif

#endif
