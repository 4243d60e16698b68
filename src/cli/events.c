/* SPDX-License-Identifier: Apache-2.0 */
/* ember events */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli/cli.h"
#include "util/cleanup.h"

struct events_ctx {
	struct cli *cli;
};

static int on_event(ember_client *c, const char *parameters, unsigned flags,
		    const struct ember_error *error, void *userdata)
{
	struct events_ctx *ctx = userdata;
	json_t *params, *ev;

	(void)c;
	(void)flags;
	if (error)
		return 0; /* reported by the caller */
	params = json_loads(parameters, 0, NULL);
	ev = json_object_get(params, "event");
	if (json_is_object(ev)) { /* the first reply has none: subscribed */
		if (ctx->cli->json) {
			_cleanup_free_ char *s = json_dumps(ev, JSON_COMPACT);
			puts(s ? s : "{}");
		} else {
			_cleanup_free_ char *payload = json_dumps(json_object_get(ev, "event"), JSON_COMPACT);
			printf("%s %s %s %s\n", json_string_value(json_object_get(ev, "timestamp")),
			       json_string_value(json_object_get(ev, "namespace")),
			       json_string_value(json_object_get(ev, "topic")), payload ? payload : "{}");
		}
		if (fflush(stdout) != 0) {
			json_decref(params);
			return -EPIPE; /* the reader went away: stop */
		}
	}
	json_decref(params);
	return 0;
}

static int events_run(struct cli *cli, const struct cli_args *a)
{
	struct events_ctx ctx = { cli };
	struct ember_error e;
	json_t *topics = json_array();

	for (int i = 0; i < a->npos; i++)
		json_array_append_new(topics, json_string(a->pos[i]));
	json_t *params = json_pack("{s:o}", "topics", topics);
	if (cli->namespace_set)
		json_object_set_new(params, "namespace", json_string(cli->namespace));
	_cleanup_free_ char *text = json_dumps(params, JSON_COMPACT);
	json_decref(params);
	if (cli_connect(cli) < 0)
		return CLI_FAILED;
	if (ember_call_more(cli->client, "io.ember.Events.Subscribe", text, on_event, &ctx, &e) < 0) {
		if (e.code == EPIPE)
			return CLI_OK;
		cli_error(cli, &e);
		return CLI_FAILED;
	}
	return CLI_OK;
}

const struct cli_command cli_cmd_events = {
	.name = "events",
	.args = "[TOPIC...]",
	.summary = "print events as they happen",
	.help = CLI_HELP("Prints \"TIMESTAMP NAMESPACE TOPIC EVENT\" lines (JSON lines with --json) until\n"
			 "interrupted. TOPIC prefixes such as /namespaces filter them; -n NAME keeps\n"
			 "one namespace's events."),
	.max_args = -1,
	.run = events_run,
};
