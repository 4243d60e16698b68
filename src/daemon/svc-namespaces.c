/* SPDX-License-Identifier: Apache-2.0 */
/* io.ember.Namespaces */
#include <stddef.h>

#include "daemon/daemon.h"
#include "daemon/services.h"
#include "daemon/verify.h"
#include "snapshot/snapshot.h"
#include "util/cleanup.h"

struct ns_params {
	const char *name;
	json_t *labels;
	int replace;
};

static const struct api_param name_only[] = {
	{ "name", API_T_STRING, offsetof(struct ns_params, name), API_MANDATORY },
	{ NULL, 0, 0, 0 },
};

static void reply_namespace(struct api_call *call, int r, json_t *ns, const struct ember_error *e)
{
	if (r < 0)
		api_error_from(call, e);
	else
		api_reply(call, json_pack("{s:o}", "namespace", ns));
}

void svc_namespaces_list(struct api_call *call, json_t *params, void *ctx)
{
	static const struct api_param table[] = { { NULL, 0, 0, 0 } };
	struct daemon *d = ctx;
	struct ns_params p = { 0 };
	struct ember_error e;
	json_t *list;

	if (api_params_parse(call, params, table, &p) < 0)
		return;
	if (meta_namespace_list(&d->meta, &list, &e) < 0)
		api_error_from(call, &e);
	else
		api_reply(call, json_pack("{s:o}", "namespaces", list));
}

void svc_namespaces_get(struct api_call *call, json_t *params, void *ctx)
{
	struct daemon *d = ctx;
	struct ns_params p = { 0 };
	struct ember_error e;
	json_t *ns = NULL;

	if (api_params_parse(call, params, name_only, &p) < 0)
		return;
	int r = meta_namespace_get(&d->meta, p.name, &ns, &e);
	reply_namespace(call, r, ns, &e);
}

void svc_namespaces_create(struct api_call *call, json_t *params, void *ctx)
{
	static const struct api_param table[] = {
		{ "name", API_T_STRING, offsetof(struct ns_params, name), API_MANDATORY },
		{ "labels", API_T_STRING_MAP, offsetof(struct ns_params, labels), 0 },
		{ NULL, 0, 0, 0 },
	};
	struct daemon *d = ctx;
	struct ns_params p = { 0 };
	struct ember_error e;
	json_t *ns = NULL;

	if (api_params_parse(call, params, table, &p) < 0)
		return;
	if (p.labels && verify_labels_check(p.labels, &e) < 0) {
		api_error_from(call, &e);
		return;
	}
	int r = meta_namespace_create(&d->meta, p.name, p.labels, &ns, &e);
	if (r == 0) {
		log_info(&d->log, "namespace %s created", p.name);
		events_publish(d, p.name, "/namespaces/create", json_deep_copy(ns));
	}
	reply_namespace(call, r, ns, &e);
}

void svc_namespaces_delete(struct api_call *call, json_t *params, void *ctx)
{
	struct daemon *d = ctx;
	struct ns_params p = { 0 };
	struct ember_error e;

	if (api_params_parse(call, params, name_only, &p) < 0)
		return;
	/* Snapshot records live with their snapshotter, not in meta/<ns>/. */
	for (size_t i = 0; ENABLED(CONFIG_SNAPSHOTS_STORE) && i < ARRAY_SIZE(d->snapshotters); i++) {
		json_t *list;
		if (!d->snapshotters[i] || meta_identifier_check("namespace", p.name, &e) < 0 ||
		    snapshot_list(d->snapshotters[i], p.name, &list, &e) < 0)
			continue;
		size_t n = json_array_size(list);
		json_decref(list);
		if (n) {
			api_error(call, EMBER_ERROR_FAILED_PRECONDITION, NULL,
				  "namespace \"%s\" still holds %zu snapshot(s) (%s)", p.name, n,
				  snapshot_name(d->snapshotters[i]));
			return;
		}
	}
	if (meta_namespace_delete(&d->meta, p.name, &e) < 0) {
		api_error_from(call, &e);
		return;
	}
	log_info(&d->log, "namespace %s deleted", p.name);
	events_publish(d, p.name, "/namespaces/delete", json_pack("{s:s}", "name", p.name));
	api_reply(call, NULL);
}

void svc_namespaces_set_labels(struct api_call *call, json_t *params, void *ctx)
{
	static const struct api_param table[] = {
		{ "name", API_T_STRING, offsetof(struct ns_params, name), API_MANDATORY },
		{ "labels", API_T_STRING_MAP, offsetof(struct ns_params, labels), API_MANDATORY },
		{ "replace", API_T_BOOL, offsetof(struct ns_params, replace), 0 },
		{ NULL, 0, 0, 0 },
	};
	struct daemon *d = ctx;
	struct ns_params p = { 0 };
	struct ember_error e;
	json_t *ns = NULL;

	if (api_params_parse(call, params, table, &p) < 0)
		return;
	if (verify_labels_check(p.labels, &e) < 0) {
		api_error_from(call, &e);
		return;
	}
	int r = meta_namespace_set_labels(&d->meta, p.name, p.labels, p.replace, &ns, &e);
	if (r == 0)
		events_publish(d, p.name, "/namespaces/update", json_deep_copy(ns));
	reply_namespace(call, r, ns, &e);
}

void svc_namespaces_get_verification(struct api_call *call, json_t *params, void *ctx)
{
	struct daemon *d = ctx;
	struct ns_params p = { 0 };
	struct ember_error e;
	struct verify_policy pol;

	if (api_params_parse(call, params, name_only, &p) < 0)
		return;
	if (meta_identifier_check("namespace", p.name, &e) < 0 || verify_policy_get(d, p.name, &pol, &e) < 0) {
		api_error_from(call, &e);
		return;
	}
	json_t *v = pol.json ? json_incref(pol.json)
			     : json_pack("{s:s, s:[]}", "policy", pol.require ? "require" : "none", "keys");
	verify_policy_done(&pol);
	api_reply(call, json_pack("{s:o}", "verification", v));
}
