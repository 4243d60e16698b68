/* SPDX-License-Identifier: Apache-2.0 */
/* libember: io.ember.Revisions, typed (see include/ember/revisions.h). */
#include <ember/revisions.h>

#include <errno.h>

#include "api/client-typed.h"
#include "util/err.h"

int ember_revision_stage(ember_client *client, const char *ns, const char *document, char **revision,
			 struct ember_error *err)
{
	struct ember_error local;
	json_error_t je;
	json_t *doc = document ? json_loads(document, JSON_REJECT_DUPLICATES, &je) : NULL;

	if (!err)
		err = &local;
	if (!doc)
		return err_set_name(err, EMBER_ERROR_INVALID_ARGUMENT, EINVAL, "revision document: %s (line %d)",
				    document ? je.text : "none given", document ? je.line : 0);
	return client_call_member(client, "io.ember.Revisions.Stage",
				  json_pack("{s:s*, s:o}", "namespace", ns, "document", doc), "revision", revision, err);
}

int ember_revision_get(ember_client *client, const char *ns, const char *id, char **revision,
		       struct ember_error *err)
{
	return client_call_member(client, "io.ember.Revisions.Get", json_pack("{s:s*, s:s?}", "namespace", ns, "id", id),
				  "revision", revision, err);
}

int ember_revision_list(ember_client *client, const char *ns, char **revisions, struct ember_error *err)
{
	return client_call_member(client, "io.ember.Revisions.List", json_pack("{s:s*}", "namespace", ns), "revisions",
				  revisions, err);
}

int ember_revision_remove(ember_client *client, const char *ns, const char *id, struct ember_error *err)
{
	return client_call_member(client, "io.ember.Revisions.Remove",
				  json_pack("{s:s*, s:s?}", "namespace", ns, "id", id), NULL, NULL, err);
}
