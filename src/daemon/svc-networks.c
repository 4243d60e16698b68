/* SPDX-License-Identifier: Apache-2.0 */
/* io.ember.Networks: every call is a job (records on disk, links in the
   kernel, and the networks' lock, which a container's start may hold). */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/daemon.h"
#include "daemon/jobs.h"
#include "daemon/networks.h"
#include "daemon/services.h"
#include "util/err.h"

enum net_op { NET_LIST, NET_INSPECT, NET_CREATE, NET_REMOVE };

struct net_params {
	const char *namespace; /* the caller's, for the events */
	const char *name, *subnet, *gateway, *bridge;
	int64_t mtu;
	int internal;
};

struct net_job {
	struct daemon *d;
	enum net_op op;
	struct network_create p; /* strings its own */
	char *ns;
	json_t *out;
};

static void net_job_free(void *data)
{
	struct net_job *j = data;

	free((char *)j->p.name);
	free((char *)j->p.subnet);
	free((char *)j->p.gateway);
	free((char *)j->p.bridge);
	free(j->ns);
	json_decref(j->out);
	free(j);
}

static int net_job_run(struct job *job, void *data, struct ember_error *e)
{
	struct net_job *j = data;

	switch (j->op) {
	case NET_LIST:
		return networks_list(j->d, &j->out, e);
	case NET_INSPECT:
		return networks_inspect(j->d, j->p.name, &j->out, e);
	case NET_CREATE:
		if (networks_create(j->d, &j->p, &j->out, e) < 0)
			return -e->code;
		call_job_event(job, j->ns, "/networks/create", json_deep_copy(j->out));
		return 0;
	case NET_REMOVE:
		if (networks_remove(j->d, j->p.name, e) < 0)
			return -e->code;
		call_job_event(job, j->ns, "/networks/delete", json_pack("{s:s}", "name", j->p.name));
		return 0;
	}
	return err_set(e, EINVAL, "network: nothing to do");
}

static json_t *net_job_reply(struct daemon *d, void *data)
{
	struct net_job *j = data;

	(void)d;
	switch (j->op) {
	case NET_LIST:
		return json_pack("{s:O}", "networks", j->out);
	case NET_INSPECT:
	case NET_CREATE:
		return json_pack("{s:O}", "network", j->out);
	default:
		return NULL;
	}
}

static void net_job_done(struct daemon *d, void *data, int result, const struct ember_error *e)
{
	struct net_job *j = data;

	(void)e;
	if (result == 0 && j->op == NET_CREATE)
		log_info(&d->log, "network %s created", j->p.name);
	else if (result == 0 && j->op == NET_REMOVE)
		log_info(&d->log, "network %s removed", j->p.name);
}

static const struct call_job_ops net_ops = {
	.kind = "network",
	.run = net_job_run,
	.reply = net_job_reply,
	.done = net_job_done,
	.free = net_job_free,
};

static void net_call(struct api_call *call, json_t *params, void *ctx, enum net_op op, const struct api_param *table)
{
	struct daemon *d = ctx;
	struct net_params p = { 0 };
	int failed = 0;

	if (api_params_parse(call, params, table, &p) < 0)
		return;
	struct net_job *j = calloc(1, sizeof(*j));
	if (!j) {
		api_error(call, EMBER_ERROR_RESOURCE_EXHAUSTED, NULL, "out of memory");
		return;
	}
	j->d = d;
	j->op = op;
	j->p.name = call_job_strdup(p.name, &failed);
	j->p.subnet = call_job_strdup(p.subnet, &failed);
	j->p.gateway = call_job_strdup(p.gateway, &failed);
	j->p.bridge = call_job_strdup(p.bridge, &failed);
	j->p.mtu = p.mtu;
	j->p.internal = p.internal;
	j->ns = call_job_strdup(daemon_namespace(p.namespace), &failed);
	if (failed) {
		net_job_free(j);
		api_error(call, EMBER_ERROR_RESOURCE_EXHAUSTED, NULL, "out of memory");
		return;
	}
	call_job_start(d, call, &net_ops, j, j->ns, j->p.name ? j->p.name : "networks");
}

#define P_NAME { "name", API_T_STRING, offsetof(struct net_params, name), API_MANDATORY }
#define P_END { NULL, 0, 0, 0 }

void svc_networks_list(struct api_call *call, json_t *params, void *ctx)
{
	static const struct api_param table[] = { P_END };
	net_call(call, params, ctx, NET_LIST, table);
}

void svc_networks_inspect(struct api_call *call, json_t *params, void *ctx)
{
	static const struct api_param table[] = { P_NAME, P_END };
	net_call(call, params, ctx, NET_INSPECT, table);
}

void svc_networks_create(struct api_call *call, json_t *params, void *ctx)
{
	static const struct api_param table[] = {
		P_NAME,
		{ "subnet", API_T_STRING, offsetof(struct net_params, subnet), 0 },
		{ "gateway", API_T_STRING, offsetof(struct net_params, gateway), 0 },
		{ "bridge", API_T_STRING, offsetof(struct net_params, bridge), 0 },
		{ "mtu", API_T_INT, offsetof(struct net_params, mtu), 0 },
		{ "internal", API_T_BOOL, offsetof(struct net_params, internal), 0 },
		P_END,
	};
	net_call(call, params, ctx, NET_CREATE, table);
}

void svc_networks_remove(struct api_call *call, json_t *params, void *ctx)
{
	static const struct api_param table[] = { P_NAME, P_END };
	net_call(call, params, ctx, NET_REMOVE, table);
}
