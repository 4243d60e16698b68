/* SPDX-License-Identifier: Apache-2.0 */
/* io.ember.Leases: named holds on content that garbage collection respects. */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "daemon/daemon.h"
#include "daemon/services.h"
#include "daemon/images.h"
#include "util/fs.h"
#include "util/timestamp.h"

struct lease_params {
	const char *namespace, *id, *type, *resource;
	json_t *labels;
	int64_t expire;
};

static void reply_lease(struct api_call *call, int r, json_t *lease, const struct ember_error *e)
{
	if (r < 0)
		api_error_from(call, e);
	else
		api_reply(call, json_pack("{s:o}", "lease", lease));
}

void svc_leases_create(struct api_call *call, json_t *params, void *ctx)
{
	static const struct api_param table[] = {
		{ "namespace", API_T_STRING, offsetof(struct lease_params, namespace), 0 },
		{ "id", API_T_STRING, offsetof(struct lease_params, id), 0 },
		{ "labels", API_T_STRING_MAP, offsetof(struct lease_params, labels), 0 },
		{ "expire", API_T_INT, offsetof(struct lease_params, expire), 0 },
		{ NULL, 0, 0, 0 },
	};
	struct daemon *d = ctx;
	struct lease_params p = { 0 };
	struct ember_error e;
	char id[32], now[TIMESTAMP_LEN];
	json_t *old;

	if (api_params_parse(call, params, table, &p) < 0)
		return;
	const char *ns = daemon_namespace(p.namespace);
	if (!p.id) {
		char suffix[13];
		fs_random_suffix(suffix);
		snprintf(id, sizeof(id), "lease-%s", suffix);
		p.id = id;
	}
	if (meta_identifier_check("lease", p.id, &e) < 0 || (p.labels && meta_labels_check(p.labels, &e) < 0)) {
		api_error_from(call, &e);
		return;
	}
	if (p.expire < 0 || p.expire > 10LL * 365 * 86400) {
		api_error(call, EMBER_ERROR_INVALID_ARGUMENT, NULL, "expire must be 0 to ten years, in seconds");
		return;
	}
	if (meta_object_get(&d->meta, ns, "leases", "lease", p.id, &old, &e) == 0) {
		json_decref(old);
		api_error(call, EMBER_ERROR_ALREADY_EXISTS, NULL, "lease \"%s\" already exists", p.id);
		return;
	}
	timestamp_now(now);
	json_t *rec = json_pack("{s:s, s:o, s:s, s:[]}", "name", p.id, "labels",
				p.labels ? json_deep_copy(p.labels) : json_object(), "created_at", now, "resources");
	if (rec && p.expire)
		json_object_set_new(rec, "expires_at", json_integer((json_int_t)time(NULL) + p.expire));
	int r = rec ? meta_object_put(&d->meta, ns, "leases", p.id, rec, &e) : err_set(&e, ENOMEM, "out of memory");
	reply_lease(call, r, rec, &e);
	if (r < 0)
		json_decref(rec);
}

void svc_leases_list(struct api_call *call, json_t *params, void *ctx)
{
	static const struct api_param table[] = {
		{ "namespace", API_T_STRING, offsetof(struct lease_params, namespace), 0 },
		{ NULL, 0, 0, 0 },
	};
	struct daemon *d = ctx;
	struct lease_params p = { 0 };
	struct ember_error e;
	json_t *list;

	if (api_params_parse(call, params, table, &p) < 0)
		return;
	if (meta_object_list(&d->meta, daemon_namespace(p.namespace), "leases", &list, &e) < 0)
		api_error_from(call, &e);
	else
		api_reply(call, json_pack("{s:o}", "leases", list));
}

void svc_leases_delete(struct api_call *call, json_t *params, void *ctx)
{
	static const struct api_param table[] = {
		{ "namespace", API_T_STRING, offsetof(struct lease_params, namespace), 0 },
		{ "id", API_T_STRING, offsetof(struct lease_params, id), API_MANDATORY },
		{ NULL, 0, 0, 0 },
	};
	struct daemon *d = ctx;
	struct lease_params p = { 0 };
	struct ember_error e;

	if (api_params_parse(call, params, table, &p) < 0)
		return;
	if (meta_object_delete(&d->meta, daemon_namespace(p.namespace), "leases", "lease", p.id, &e) < 0)
		api_error_from(call, &e);
	else
		api_reply(call, NULL);
}

static void change_resource(struct api_call *call, json_t *params, void *ctx, int add)
{
	static const struct api_param table[] = {
		{ "namespace", API_T_STRING, offsetof(struct lease_params, namespace), 0 },
		{ "id", API_T_STRING, offsetof(struct lease_params, id), API_MANDATORY },
		{ "type", API_T_STRING, offsetof(struct lease_params, type), API_MANDATORY },
		{ "resource", API_T_STRING, offsetof(struct lease_params, resource), API_MANDATORY },
		{ NULL, 0, 0, 0 },
	};
	struct daemon *d = ctx;
	struct lease_params p = { 0 };
	struct ember_error e;
	json_t *rec, *res;
	size_t i;

	if (api_params_parse(call, params, table, &p) < 0)
		return;
	/* As in containerd: "content" (a digest) or "snapshots/<snapshotter>" (a key). */
	int snap = !strncmp(p.type, "snapshots/", 10) && (!strcmp(p.type + 10, "overlay") || !strcmp(p.type + 10, "native") ||
							  !strcmp(p.type + 10, "btrfs"));
	if (strcmp(p.type, "content") && !snap) {
		api_error(call, EMBER_ERROR_INVALID_ARGUMENT, NULL,
			  "resource type \"%s\" is not known (content, snapshots/overlay, snapshots/native, snapshots/btrfs)",
			  p.type);
		return;
	}
	if (!snap && digest_check(p.resource, &e) < 0) {
		api_error_from(call, &e);
		return;
	}
	if (snap && (!*p.resource || strlen(p.resource) > 1024)) {
		api_error(call, EMBER_ERROR_INVALID_ARGUMENT, NULL, "a snapshot key is 1 to 1024 bytes");
		return;
	}
	const char *ns = daemon_namespace(p.namespace);
	if (meta_object_get(&d->meta, ns, "leases", "lease", p.id, &rec, &e) < 0) {
		api_error_from(call, &e);
		return;
	}
	json_t *list = json_object_get(rec, "resources");
	if (!json_is_array(list))
		json_object_set_new(rec, "resources", list = json_array());
	int found = -1;
	json_array_foreach(list, i, res)
		if (!strcmp(json_string_value(json_object_get(res, "type")) ?: "", p.type) &&
		    !strcmp(json_string_value(json_object_get(res, "id")) ?: "", p.resource))
			found = (int)i;
	if (add && found < 0)
		json_array_append_new(list, json_pack("{s:s, s:s}", "type", p.type, "id", p.resource));
	else if (!add && found >= 0)
		json_array_remove(list, (size_t)found);
	int r = meta_object_put(&d->meta, ns, "leases", p.id, rec, &e);
	reply_lease(call, r, rec, &e);
	if (r < 0)
		json_decref(rec);
}

void svc_leases_add_resource(struct api_call *call, json_t *params, void *ctx)
{
	change_resource(call, params, ctx, 1);
}

void svc_leases_delete_resource(struct api_call *call, json_t *params, void *ctx)
{
	change_resource(call, params, ctx, 0);
}
