/* SPDX-License-Identifier: Apache-2.0 */
#ifndef EMBER_REVISIONS_H
#define EMBER_REVISIONS_H

/*
 * libember: revisions (io.ember.Revisions), typed: the whole set of a
 * namespace's containers as one document (README "Updating devices").
 * Each function is one call on client (see client.h for connections,
 * timeouts and errors); ns NULL means "default". A revision comes back as
 * the JSON text of the interface's Revision object (name, state, document
 * with its defaults, images pinned by container id), malloc'd, for the
 * caller to free.
 *
 * Errors by name (err->name): EMBER_ERROR_INVALID_ARGUMENT for a document
 * that is not JSON or that the daemon refuses (the message names the
 * field), EMBER_ERROR_NOT_FOUND for an image the namespace does not have
 * or an unknown revision, EMBER_ERROR_ALREADY_EXISTS for another document
 * under a staged id, EMBER_ERROR_FAILED_PRECONDITION for removing the
 * committed one, for an apply the namespace's update locks refuse, and
 * for an apply that was rolled back (the message says why).
 */

#include <ember/client.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Stage document (a revision document's JSON text); *revision (if not
   NULL) gets its record. */
int ember_revision_stage(ember_client *client, const char *ns, const char *document, char **revision,
			 struct ember_error *err);

/* One revision's record. */
int ember_revision_get(ember_client *client, const char *ns, const char *id, char **revision,
		       struct ember_error *err);

/* The namespace's revisions, as a JSON array's text. */
int ember_revision_list(ember_client *client, const char *ns, char **revisions, struct ember_error *err);

/* Remove a revision (not the committed one nor one being applied). */
int ember_revision_remove(ember_client *client, const char *ns, const char *id, struct ember_error *err);

/* Apply a staged revision. wait: return with the outcome (0 and the
   record: committed; EMBER_ERROR_FAILED_PRECONDITION: rolled back, the
   message names why); else return once its test began. force: despite
   update locks. */
int ember_revision_apply(ember_client *client, const char *ns, const char *id, int wait, int force, char **revision,
			 struct ember_error *err);
/* End the test now: commit, or roll back (reason may be NULL). */
int ember_revision_commit(ember_client *client, const char *ns, char **revision, struct ember_error *err);
int ember_revision_rollback(ember_client *client, const char *ns, const char *reason, char **revision,
			    struct ember_error *err);
/* The namespace's status (committed, phase, pending, locks, history) as
   the JSON text of the interface's Status object. */
int ember_revision_status(ember_client *client, const char *ns, char **status, struct ember_error *err);
/* Take (lock) or give back holder's update lock; reason may be NULL. */
int ember_revision_lock(ember_client *client, const char *ns, const char *holder, const char *reason, int lock,
			struct ember_error *err);

#ifdef __cplusplus
}
#endif

#endif
