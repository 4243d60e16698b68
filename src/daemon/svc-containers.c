/* SPDX-License-Identifier: Apache-2.0 */
/* io.ember.Containers: container records (create and delete are jobs: containers.c). */
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "daemon/containers.h"
#include "daemon/services.h"
#include "daemon/tasks.h"
#include "util/cleanup.h"
#include "util/err.h"
#include "util/timestamp.h"

void svc_containers_create(struct api_call *call, json_t *params, void *ctx)
{
	static const struct api_param table[] = {
		{ "namespace", API_T_STRING, offsetof(struct container_create, namespace), 0 },
		{ "id", API_T_STRING, offsetof(struct container_create, id), API_MANDATORY },
		{ "image", API_T_STRING, offsetof(struct container_create, image), 0 },
		{ "snapshotter", API_T_STRING, offsetof(struct container_create, snapshotter), 0 },
		{ "platform", API_T_STRING, offsetof(struct container_create, platform), 0 },
		{ "rootfs", API_T_STRING, offsetof(struct container_create, rootfs), 0 },
		{ "restart", API_T_STRING, offsetof(struct container_create, restart), 0 },
		{ "spec", API_T_OBJECT, offsetof(struct container_create, spec), 0 },
		{ "options", API_T_OBJECT, offsetof(struct container_create, options), 0 },
		{ "labels", API_T_STRING_MAP, offsetof(struct container_create, labels), 0 },
		{ "checkpoint", API_T_STRING, offsetof(struct container_create, checkpoint), 0 },
		{ NULL, 0, 0, 0 },
	};
	struct container_create p = { 0 };

	if (api_params_parse(call, params, table, &p) < 0)
		return;
	p.namespace = daemon_namespace(p.namespace);
	containers_create(ctx, call, &p);
}

struct id_params {
	const char *namespace, *id;
	int keep_snapshot;
	json_t *labels;
};

#define P_NS { "namespace", API_T_STRING, offsetof(struct id_params, namespace), 0 }
#define P_ID { "id", API_T_STRING, offsetof(struct id_params, id), API_MANDATORY }
#define P_END { NULL, 0, 0, 0 }

static int id_begin(struct api_call *call, json_t *params, const struct api_param *table, struct id_params *p)
{
	struct ember_error e;

	memset(p, 0, sizeof(*p));
	if (api_params_parse(call, params, table, p) < 0)
		return -1;
	p->namespace = daemon_namespace(p->namespace);
	if (meta_identifier_check("namespace", p->namespace, &e) < 0 ||
	    (p->labels && meta_labels_check(p->labels, &e) < 0)) {
		api_error_from(call, &e);
		return -1;
	}
	return 0;
}

void svc_containers_list(struct api_call *call, json_t *params, void *ctx)
{
	static const struct api_param table[] = { P_NS, P_END };
	struct daemon *d = ctx;
	struct id_params p;
	struct ember_error e;
	json_t *list;

	if (id_begin(call, params, table, &p) < 0)
		return;
	if (meta_object_list(&d->meta, p.namespace, "containers", &list, &e) < 0) {
		api_error_from(call, &e);
		return;
	}
	api_reply(call, json_pack("{s:o}", "containers", list));
}

void svc_containers_get(struct api_call *call, json_t *params, void *ctx)
{
	static const struct api_param table[] = { P_NS, P_ID, P_END };
	struct id_params p;
	struct ember_error e;
	json_t *rec;

	if (id_begin(call, params, table, &p) < 0)
		return;
	if (container_get(ctx, p.namespace, p.id, &rec, &e) < 0)
		api_error_from(call, &e);
	else
		api_reply(call, json_pack("{s:o}", "container", rec));
}

void svc_containers_delete(struct api_call *call, json_t *params, void *ctx)
{
	static const struct api_param table[] = {
		P_NS, P_ID, { "keep_snapshot", API_T_BOOL, offsetof(struct id_params, keep_snapshot), 0 }, P_END,
	};
	struct id_params p;

	if (id_begin(call, params, table, &p) < 0)
		return;
	containers_delete(ctx, call, p.namespace, p.id, p.keep_snapshot);
}

void svc_containers_set_labels(struct api_call *call, json_t *params, void *ctx)
{
	static const struct api_param table[] = {
		P_NS, P_ID, { "labels", API_T_STRING_MAP, offsetof(struct id_params, labels), API_MANDATORY }, P_END,
	};
	struct daemon *d = ctx;
	struct id_params p;
	struct ember_error e;
	char now[TIMESTAMP_LEN];
	_cleanup_(json_decrefp) json_t *rec = NULL;
	const char *k;
	json_t *v;

	if (id_begin(call, params, table, &p) < 0)
		return;
	if (container_get(d, p.namespace, p.id, &rec, &e) < 0)
		goto fail;
	json_t *labels = json_object_get(rec, "labels");
	if (!json_is_object(labels)) {
		labels = json_object();
		json_object_set_new(rec, "labels", labels);
	}
	json_object_foreach(p.labels, k, v) {
		if (!*json_string_value(v))
			json_object_del(labels, k);
		else
			json_object_set(labels, k, v);
	}
	if (meta_labels_check(labels, &e) < 0)
		goto fail;
	timestamp_now(now);
	json_object_set_new(rec, "updated_at", json_string(now));
	if (meta_object_put(&d->meta, p.namespace, "containers", p.id, rec, &e) < 0)
		goto fail;
	events_publish(d, p.namespace, "/containers/update", json_pack("{s:s}", "id", p.id));
	api_reply(call, json_pack("{s:O}", "container", rec));
	return;
fail:
	api_error_from(call, &e);
}
