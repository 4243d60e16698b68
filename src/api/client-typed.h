/* SPDX-License-Identifier: Apache-2.0 */
#ifndef EMBER_API_CLIENT_TYPED_H
#define EMBER_API_CLIENT_TYPED_H

/* What libember's typed helpers (include/ember/networks.h, revisions.h)
   share. */

#include <jansson.h>

#include <ember/client.h>

/* One call of method with params (taken; NULL: out of memory), and the
   reply's member key as JSON text in *out (malloc'd; key NULL: no reply
   wanted). A reply without key is EPROTO, named. */
int client_call_member(ember_client *c, const char *method, json_t *params, const char *key, char **out,
		       struct ember_error *err);

#endif
