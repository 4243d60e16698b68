/* SPDX-License-Identifier: Apache-2.0 */
/* io.ember.Events: fan-out of daemon events to streaming subscribers. */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/daemon.h"
#include "daemon/gc-policy.h"
#include "daemon/services.h"
#include "util/record.h"
#include "util/timestamp.h"

struct subscriber {
	struct subscriber *next, *prev;
	struct daemon *d;
	struct api_call *call;
	json_t *topics;    /* array of prefixes, or NULL for all */
	char *namespace;   /* or NULL for all */
};

static void subscriber_unlink(struct subscriber *s)
{
	if (s->prev)
		s->prev->next = s->next;
	else
		s->d->events.head = s->next;
	if (s->next)
		s->next->prev = s->prev;
	json_decref(s->topics);
	free(s->namespace);
	free(s);
}

/* The client went away: forget it (the server frees the call). */
static void subscriber_cancel(struct api_call *call, void *userdata)
{
	(void)call;
	subscriber_unlink(userdata);
}

static int matches(const struct subscriber *s, const char *ns, const char *topic)
{
	json_t *v;
	size_t i;

	if (s->namespace && strcmp(s->namespace, ns))
		return 0;
	if (!s->topics || json_array_size(s->topics) == 0)
		return 1;
	json_array_foreach(s->topics, i, v)
		if (!strncmp(topic, json_string_value(v), json_string_length(v)))
			return 1;
	return 0;
}

void events_publish(struct daemon *d, const char *ns, const char *topic, json_t *payload)
{
	char now[TIMESTAMP_LEN];
	struct subscriber *s, *next;

	gc_policy_notice(d, topic);
	if (!d->events.head) {
		json_decref(payload);
		return;
	}
	timestamp_now(now);
	json_t *event = json_pack("{s:s, s:s, s:s, s:o}", "timestamp", now, "namespace", ns,
				  "topic", topic, "event", payload ? payload : json_object());
	for (s = d->events.head; s; s = next) {
		next = s->next;
		if (matches(s, ns, topic))
			/* A subscriber that does not keep up is disconnected by the
			   server; its cancel callback then removes it. */
			(void)api_notify(s->call, json_pack("{s:O}", "event", event));
	}
	json_decref(event);
}

void events_shutdown(struct daemon *d)
{
	while (d->events.head) {
		struct subscriber *s = d->events.head;
		struct api_call *call = s->call;
		subscriber_unlink(s);
		api_error(call, EMBER_ERROR_UNAVAILABLE, NULL, "the ember daemon is shutting down");
	}
}

void svc_events_subscribe(struct api_call *call, json_t *params, void *ctx)
{
	struct p {
		json_t *topics;
		const char *namespace;
	} p = { 0 };
	static const struct api_param table[] = {
		{ "topics", API_T_STRING_ARRAY, offsetof(struct p, topics), 0 },
		{ "namespace", API_T_STRING, offsetof(struct p, namespace), 0 },
		{ NULL, 0, 0, 0 },
	};
	struct daemon *d = ctx;

	if (api_params_parse(call, params, table, &p) < 0)
		return;
	struct subscriber *s = calloc(1, sizeof(*s));
	if (!s || (p.namespace && !(s->namespace = strdup(p.namespace)))) {
		free(s);
		api_error(call, EMBER_ERROR_RESOURCE_EXHAUSTED, NULL, "out of memory");
		return;
	}
	s->d = d;
	s->call = call;
	s->topics = p.topics ? json_incref(p.topics) : NULL;
	s->next = d->events.head;
	if (s->next)
		s->next->prev = s;
	d->events.head = s;
	api_call_on_cancel(call, subscriber_cancel, s);
	/* The first reply has no event: the subscription is active from here. */
	api_notify(call, json_object());
}
