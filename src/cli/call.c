/* SPDX-License-Identifier: Apache-2.0 */
/* ember call: a raw API call, for scripts and debugging. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "util/cleanup.h"

static int print_reply(ember_client *c, const char *parameters, unsigned flags,
		       const struct ember_error *error, void *userdata)
{
	(void)c;
	(void)flags;
	(void)userdata;
	if (!error) {
		puts(parameters);
		if (fflush(stdout) != 0)
			return -EPIPE;
	}
	return 0;
}

static char *read_stdin(void)
{
	size_t len = 0, cap = 4096;
	char *buf = malloc(cap);

	while (buf) {
		size_t n = fread(buf + len, 1, cap - len - 1, stdin);
		len += n;
		if (n == 0)
			break;
		if (cap - len < 2) {
			char *b = cap < (64u << 20) ? realloc(buf, cap * 2) : NULL;
			if (!b) {
				free(buf);
				return NULL;
			}
			buf = b;
			cap *= 2;
		}
	}
	if (buf)
		buf[len] = '\0';
	return buf;
}

static int call_run(struct cli *cli, const struct cli_args *a)
{
	struct ember_error e;
	_cleanup_free_ char *from_stdin = NULL;
	const char *params = a->npos > 1 ? a->pos[1] : NULL;
	int r;

	if (params && !strcmp(params, "-")) {
		from_stdin = read_stdin();
		if (!from_stdin) {
			fputs("ember: read parameters from stdin: out of memory\n", stderr);
			return CLI_FAILED;
		}
		params = from_stdin;
	}
	if (cli_connect(cli) < 0)
		return CLI_FAILED;
	if (cli_flag(a, "more")) {
		r = ember_call_more(cli->client, a->pos[0], params, print_reply, NULL, &e);
	} else if (cli_flag(a, "oneway")) {
		r = ember_call_async(cli->client, a->pos[0], params, EMBER_CALL_ONEWAY, NULL, NULL, &e);
	} else {
		_cleanup_free_ char *reply = NULL;
		r = ember_call(cli->client, a->pos[0], params, &reply, &e);
		if (r == 0) {
			json_t *j = json_loads(reply, 0, NULL);
			cli_print_json(j);
			json_decref(j);
		}
	}
	if (r < 0) {
		if (e.code == EPIPE)
			return CLI_OK;
		/* The error name matters to scripts: always show it. */
		fprintf(stderr, "ember: %s%s%s\n", e.name, e.name[0] ? ": " : "", e.message);
		return e.code == EINVAL && !e.name[0] ? CLI_USAGE : CLI_FAILED;
	}
	return CLI_OK;
}

static const struct cli_opt call_opts[] = {
	{ "more", 0, NULL, "ask for a stream of replies; print each as one line" },
	{ "oneway", 0, NULL, "send without waiting for a reply" },
	{ NULL, 0, NULL, NULL },
};

const struct cli_command cli_cmd_call = {
	.name = "call",
	.args = "METHOD [PARAMETERS|-]",
	.summary = "call an API method with JSON parameters and print the reply",
	.help = CLI_HELP("PARAMETERS is a JSON object (- reads it from stdin). Example:\n"
			 "  ember call io.ember.Namespaces.Create '{\"name\": \"ota\"}'\n"
			 "  ember call org.varlink.service.GetInterfaceDescription '{\"interface\": \"io.ember.System\"}'"),
	.opts = call_opts,
	.min_args = 1,
	.max_args = 2,
	.run = call_run,
};
