/* SPDX-License-Identifier: Apache-2.0 */
/* io.ember.System */
#include <unistd.h>

#include <stddef.h>

#include "daemon/daemon.h"
#include "daemon/gc-policy.h"
#include "daemon/services.h"
#include "util/version.h"


static json_t *features_json(void)
{
	json_t *a = json_array();

	for (size_t i = 0; i < ember_features_count; i++)
		json_array_append_new(a, json_string(ember_features[i]));
	return a;
}

static int no_params(struct api_call *call, json_t *params)
{
	static const struct api_param table[] = { { NULL, 0, 0, 0 } };
	int dummy;

	return api_params_parse(call, params, table, &dummy);
}

void svc_system_version(struct api_call *call, json_t *params, void *ctx)
{
	(void)ctx;
	if (no_params(call, params) < 0)
		return;
	api_reply(call, json_pack("{s:s, s:s, s:o}", "version", EMBER_VERSION, "revision",
				  EMBER_REVISION, "features", features_json()));
}

void svc_system_info(struct api_call *call, json_t *params, void *ctx)
{
	struct daemon *d = ctx;
	json_t *namespaces = NULL;
	struct ember_error e;

	if (no_params(call, params) < 0)
		return;
	if (meta_namespace_list(&d->meta, &namespaces, &e) < 0) {
		api_error_from(call, &e);
		return;
	}
	json_t *counts = json_pack("{s:I, s:I, s:I, s:I}",
				   "namespaces", (json_int_t)json_array_size(namespaces),
				   "images", (json_int_t)meta_count(&d->meta, "images"),
				   "containers", (json_int_t)meta_count(&d->meta, "containers"),
				   "connections", (json_int_t)server_connections(d->server));
	json_decref(namespaces);
	api_reply(call, json_pack("{s:s, s:s, s:o, s:s, s:s, s:s, s:I, s:s, s:I, s:o}",
				  "version", EMBER_VERSION, "revision", EMBER_REVISION,
				  "features", features_json(), "root", d->cfg.root, "state", d->cfg.state,
				  "address", d->cfg.address, "pid", (json_int_t)getpid(),
				  "started", d->started_at,
				  "uptime", (json_int_t)((loop_now_ms() - d->start_ms) / 1000),
				  "counts", counts));
}

void svc_system_disk_usage(struct api_call *call, json_t *params, void *ctx)
{
	struct df_params {
		const char *namespace;
	} p = { NULL };
	static const struct api_param table[] = {
		{ "namespace", API_T_STRING, offsetof(struct df_params, namespace), 0 },
		{ NULL, 0, 0, 0 },
	};

	if (api_params_parse(call, params, table, &p) < 0)
		return;
	gc_policy_disk_usage(ctx, call, p.namespace);
}
