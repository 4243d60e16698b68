/* SPDX-License-Identifier: Apache-2.0 */
/* The typed helpers' one call (client-typed.h). */
#include "api/client-typed.h"

#include <errno.h>
#include <stdlib.h>

#include "util/cleanup.h"
#include "util/err.h"

int client_call_member(ember_client *c, const char *method, json_t *params, const char *key, char **out,
		       struct ember_error *err)
{
	struct ember_error local;
	_cleanup_free_ char *text = params ? json_dumps(params, JSON_COMPACT) : NULL;
	_cleanup_free_ char *reply = NULL;

	json_decref(params);
	if (!err)
		err = &local;
	if (!text)
		return err_set(err, ENOMEM, "%s: out of memory", method);
	int r = ember_call(c, method, text, key ? &reply : NULL, err);
	if (r < 0 || !key)
		return r;
	json_t *j = json_loads(reply, 0, NULL);
	json_t *v = json_object_get(j, key);
	char *s = v ? json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
	json_decref(j);
	if (!s)
		return err_set(err, EPROTO, "%s: the reply has no \"%s\"", method, key);
	if (out)
		*out = s;
	else
		free(s);
	return 0;
}
