/* SPDX-License-Identifier: Apache-2.0 */
/* Jobs that answer an API call (see jobs.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/daemon.h"
#include "daemon/jobs.h"
#include "util/err.h"

struct call_job {
	struct daemon *d;
	struct api_call *call; /* NULL once the client is gone */
	int had_call;          /* 0: a job of the daemon's own (its done hook reports) */
	const struct call_job_ops *ops;
	void *data;
	struct job *job;
};

static int run(struct job *j, struct ember_error *e)
{
	struct call_job *cj = job_data(j);

	return cj->ops->run(j, cj->data, e);
}

/* Messages are {"progress": ...} or {"event": topic, "namespace": ns, "payload": ...}. */
static void message(struct job *j, json_t *msg)
{
	struct call_job *cj = job_data(j);
	json_t *progress = json_object_get(msg, "progress");
	const char *topic = json_string_value(json_object_get(msg, "event"));

	if (topic)
		events_publish(cj->d, json_string_value(json_object_get(msg, "namespace")), topic,
			       json_incref(json_object_get(msg, "payload")));
	else if (progress && cj->call && api_call_wants_more(cj->call))
		(void)api_notify(cj->call, json_incref(progress)); /* a vanished client cancels us */
	json_decref(msg);
}

static void done(struct job *j, int result, const struct ember_error *e)
{
	struct call_job *cj = job_data(j);

	if (cj->call) {
		api_call_on_cancel(cj->call, NULL, NULL);
		if (result < 0)
			api_error_from(cj->call, e);
		else
			api_reply(cj->call, cj->ops->reply ? cj->ops->reply(cj->d, cj->data) : NULL);
	} else if (cj->had_call && result < 0 && e->code != ECANCELED) {
		log_warn(&cj->d->log, "%s (its client had gone): %s", cj->ops->kind, e->message);
	}
	if (cj->ops->done)
		cj->ops->done(cj->d, cj->data, result, result < 0 ? e : NULL);
	if (cj->ops->free)
		cj->ops->free(cj->data);
	free(cj);
}

static void on_call_gone(struct api_call *call, void *userdata)
{
	struct call_job *cj = userdata;

	(void)call;
	cj->call = NULL;
	if (!cj->ops->keep_going)
		job_cancel(cj->job);
}

static const struct job_ops call_ops = { .run = run, .message = message, .done = done };

struct job *call_job_start(struct daemon *d, struct api_call *call, const struct call_job_ops *ops, void *data,
			   const char *ns, const char *what)
{
	struct call_job *cj = calloc(1, sizeof(*cj));
	struct ember_error e;

	if (!cj) {
		if (ops->free)
			ops->free(data);
		if (call)
			api_error(call, EMBER_ERROR_RESOURCE_EXHAUSTED, NULL, "out of memory");
		return NULL;
	}
	cj->d = d;
	cj->call = call;
	cj->had_call = call != NULL;
	cj->ops = ops;
	cj->data = data;
	cj->job = job_start(d->jobs, &call_ops, cj, ops->kind, ns, what, &e);
	if (!cj->job) {
		if (ops->free)
			ops->free(data);
		free(cj);
		if (call)
			api_error_from(call, &e);
		else
			log_warn(&d->log, "%s: %s", ops->kind, e.message);
		return NULL;
	}
	if (call)
		api_call_on_cancel(call, on_call_gone, cj);
	return cj->job;
}

void call_job_progress(struct job *j, json_t *progress)
{
	if (progress)
		job_post(j, json_pack("{s:o}", "progress", progress));
}

void call_job_event(struct job *j, const char *ns, const char *topic, json_t *payload)
{
	job_post(j, json_pack("{s:s, s:s, s:o}", "event", topic, "namespace", ns, "payload",
			      payload ? payload : json_object()));
}

char *call_job_strdup(const char *s, int *failed)
{
	char *c = s ? strdup(s) : NULL;
	*failed |= s && !c;
	return c;
}
