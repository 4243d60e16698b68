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

int ember_revision_apply(ember_client *client, const char *ns, const char *id, int wait, int force, char **revision,
			 struct ember_error *err)
{
	return client_call_member(client, "io.ember.Revisions.Apply",
				  json_pack("{s:s*, s:s?, s:b, s:b}", "namespace", ns, "id", id, "wait", wait, "force",
					    force),
				  "revision", revision, err);
}

int ember_revision_commit(ember_client *client, const char *ns, char **revision, struct ember_error *err)
{
	return client_call_member(client, "io.ember.Revisions.Commit", json_pack("{s:s*}", "namespace", ns), "revision",
				  revision, err);
}

int ember_revision_rollback(ember_client *client, const char *ns, const char *reason, char **revision,
			    struct ember_error *err)
{
	return client_call_member(client, "io.ember.Revisions.Rollback",
				  json_pack("{s:s*, s:s*}", "namespace", ns, "reason", reason), "revision", revision, err);
}

int ember_revision_status(ember_client *client, const char *ns, char **status, struct ember_error *err)
{
	return client_call_member(client, "io.ember.Revisions.Status", json_pack("{s:s*}", "namespace", ns), "status",
				  status, err);
}

int ember_revision_lock(ember_client *client, const char *ns, const char *holder, const char *reason, int lock,
			struct ember_error *err)
{
	if (lock)
		return client_call_member(client, "io.ember.Revisions.Lock",
					  json_pack("{s:s*, s:s?, s:s*}", "namespace", ns, "holder", holder, "reason",
						    reason),
					  NULL, NULL, err);
	return client_call_member(client, "io.ember.Revisions.Unlock",
				  json_pack("{s:s*, s:s?}", "namespace", ns, "holder", holder), NULL, NULL, err);
}
