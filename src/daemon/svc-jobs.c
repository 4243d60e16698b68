/* SPDX-License-Identifier: Apache-2.0 */
/* io.ember.Jobs: the daemon's long work, listed and cancelled. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "daemon/daemon.h"
#include "daemon/jobs.h"
#include "daemon/services.h"

struct job_params {
	const char *namespace;
	int all;
	int64_t id;
};

void svc_jobs_list(struct api_call *call, json_t *params, void *ctx)
{
	static const struct api_param table[] = {
		{ "namespace", API_T_STRING, offsetof(struct job_params, namespace), 0 },
		{ "all", API_T_BOOL, offsetof(struct job_params, all), 0 },
		{ NULL, 0, 0, 0 },
	};
	struct daemon *d = ctx;
	struct job_params p = { 0 };

	if (api_params_parse(call, params, table, &p) < 0)
		return;
	api_reply(call, json_pack("{s:o}", "jobs", jobs_list(d->jobs, p.all ? NULL : daemon_namespace(p.namespace))));
}

void svc_jobs_cancel(struct api_call *call, json_t *params, void *ctx)
{
	static const struct api_param table[] = {
		{ "namespace", API_T_STRING, offsetof(struct job_params, namespace), 0 },
		{ "id", API_T_INT, offsetof(struct job_params, id), API_MANDATORY },
		{ NULL, 0, 0, 0 },
	};
	struct daemon *d = ctx;
	struct job_params p = { 0 };

	if (api_params_parse(call, params, table, &p) < 0)
		return;
	struct job *j = p.id > 0 ? jobs_find(d->jobs, (uint64_t)p.id) : NULL;
	const char *ns = daemon_namespace(p.namespace);
	/* Another namespace's job is not there for this caller; GC belongs
	   to none. */
	if (!j || (job_ns(j)[0] && strcmp(job_ns(j), ns))) {
		api_error(call, EMBER_ERROR_NOT_FOUND, NULL, "no job %lld in namespace %s (ember jobs ls)",
			  (long long)p.id, ns);
		return;
	}
	job_cancel(j);
	api_reply(call, NULL);
}
