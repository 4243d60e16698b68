/* SPDX-License-Identifier: Apache-2.0 */
/* ember revisions stage|apply|commit|rollback|status|lock|unlock|ls|show|rm */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

static int revisions_stage(struct cli *cli, const struct cli_args *a)
{
	const char *path = a->pos[0];
	json_error_t je;
	json_t *doc, *reply;

	/* Duplicate keys are refused here: the API's JSON reader keeps the last. */
	doc = !strcmp(path, "-") ? json_loadf(stdin, JSON_REJECT_DUPLICATES, &je)
				 : json_load_file(path, JSON_REJECT_DUPLICATES, &je);
	if (!doc) {
		fprintf(stderr, "ember: revision %s: %s (line %d)\n", strcmp(path, "-") ? path : "(stdin)", je.text,
			je.line);
		return CLI_FAILED;
	}
	if (cli_call(cli, "io.ember.Revisions.Stage",
		     cli_with_namespace(cli, json_pack("{s:o, s:b, s:b}", "document", doc, "pull",
						       cli_flag(a, "pull") > 0, "plain_http", cli_flag(a, "plain-http") > 0)),
		     &reply) < 0)
		return CLI_FAILED;
	json_t *rev = json_object_get(reply, "revision");
	if (cli->json)
		cli_print_json(rev);
	else
		printf("%s: %s (%zu container(s))\n", json_string_value(json_object_get(rev, "name")),
		       json_string_value(json_object_get(rev, "state")),
		       json_array_size(json_object_get(json_object_get(rev, "document"), "containers")));
	json_decref(reply);
	return CLI_OK;
}

static int revisions_ls(struct cli *cli, const struct cli_args *a)
{
	json_t *reply, *r;
	size_t i;

	if (cli_call(cli, "io.ember.Revisions.List", cli_with_namespace(cli, json_object()), &reply) < 0)
		return CLI_FAILED;
	json_t *list = json_object_get(reply, "revisions");
	if (cli->json) {
		cli_print_json(list);
	} else if (cli_flag(a, "quiet")) {
		json_array_foreach(list, i, r)
			puts(json_string_value(json_object_get(r, "name")));
	} else {
		static const char *const head[] = { "ID", "STATE", "CONTAINERS", "CREATED AT" };
		struct cli_table *t = cli_table_new(head, 4);
		json_array_foreach(list, i, r) {
			char n[24];
			snprintf(n, sizeof(n), "%zu",
				 json_array_size(json_object_get(json_object_get(r, "document"), "containers")));
			const char *row[] = { json_string_value(json_object_get(r, "name")),
					      json_string_value(json_object_get(r, "state")), n,
					      json_string_value(json_object_get(r, "created_at")) };
			cli_table_add(t, row);
		}
		cli_table_print_free(t);
	}
	json_decref(reply);
	return CLI_OK;
}

static int revisions_show(struct cli *cli, const struct cli_args *a)
{
	json_t *reply;

	if (cli_call(cli, "io.ember.Revisions.Get", cli_with_namespace(cli, json_pack("{s:s}", "id", a->pos[0])),
		     &reply) < 0)
		return CLI_FAILED;
	cli_print_json(json_object_get(reply, "revision"));
	json_decref(reply);
	return CLI_OK;
}

static int revisions_rm(struct cli *cli, const struct cli_args *a)
{
	int failed = 0;

	for (int i = 0; i < a->npos; i++) {
		if (cli_call(cli, "io.ember.Revisions.Remove",
			     cli_with_namespace(cli, json_pack("{s:s}", "id", a->pos[i])), NULL) < 0) {
			failed = 1;
			continue;
		}
		puts(a->pos[i]);
	}
	return failed ? CLI_FAILED : CLI_OK;
}

/* "ID: STATE" (and why, when rolled back). */
static void print_outcome(struct cli *cli, json_t *reply)
{
	json_t *rev = json_object_get(reply, "revision");
	const char *reason = json_string_value(json_object_get(rev, "reason"));

	if (cli->json)
		cli_print_json(rev);
	else
		printf("%s: %s%s%s\n", json_string_value(json_object_get(rev, "name")),
		       json_string_value(json_object_get(rev, "state")), reason ? ": " : "", reason ?: "");
}

static int revisions_apply(struct cli *cli, const struct cli_args *a)
{
	json_t *reply;

	if (cli_call(cli, "io.ember.Revisions.Apply",
		     cli_with_namespace(cli, json_pack("{s:s, s:b, s:b}", "id", a->pos[0], "wait",
						       !cli_flag(a, "no-wait"), "force", cli_flag(a, "force") > 0)),
		     &reply) < 0)
		return CLI_FAILED;
	print_outcome(cli, reply);
	json_decref(reply);
	return CLI_OK;
}

static int revisions_end(struct cli *cli, const struct cli_args *a, const char *method, json_t *params)
{
	json_t *reply;

	(void)a;
	if (cli_call(cli, method, cli_with_namespace(cli, params), &reply) < 0)
		return CLI_FAILED;
	print_outcome(cli, reply);
	json_decref(reply);
	return CLI_OK;
}

static int revisions_commit(struct cli *cli, const struct cli_args *a)
{
	return revisions_end(cli, a, "io.ember.Revisions.Commit", json_object());
}

static int revisions_rollback(struct cli *cli, const struct cli_args *a)
{
	return revisions_end(cli, a, "io.ember.Revisions.Rollback", json_pack("{s:s*}", "reason", cli_arg(a, "reason")));
}

static int revisions_status(struct cli *cli, const struct cli_args *a)
{
	json_t *reply, *h;
	const char *k;
	size_t i;

	(void)a;
	if (cli_call(cli, "io.ember.Revisions.Status", cli_with_namespace(cli, json_object()), &reply) < 0)
		return CLI_FAILED;
	json_t *st = json_object_get(reply, "status");
	if (cli->json) {
		cli_print_json(st);
	} else {
		const char *pending = json_string_value(json_object_get(st, "pending"));
		printf("committed: %s\n", json_string_value(json_object_get(st, "committed")) ?: "(none)");
		printf("phase: %s%s%s\n", json_string_value(json_object_get(st, "phase")), pending ? " " : "",
		       pending ?: "");
		json_object_foreach(json_object_get(st, "locks"), k, h) {
			const char *why = json_string_value(json_object_get(h, "reason"));
			printf("locked by %s%s%s\n", k, why ? ": " : "", why ?: "");
		}
		json_array_foreach(json_object_get(st, "history"), i, h) {
			const char *why = json_string_value(json_object_get(h, "reason"));
			printf("%s %s %s%s%s%s\n", json_string_value(json_object_get(h, "at")),
			       json_string_value(json_object_get(h, "id")), json_string_value(json_object_get(h, "outcome")),
			       json_is_true(json_object_get(h, "unexpected")) ? " (unexpected)" : "", why ? ": " : "",
			       why ?: "");
		}
	}
	json_decref(reply);
	return CLI_OK;
}

static int revisions_lock(struct cli *cli, const struct cli_args *a)
{
	if (cli_call(cli, "io.ember.Revisions.Lock",
		     cli_with_namespace(cli, json_pack("{s:s, s:s*}", "holder", a->pos[0], "reason", cli_arg(a, "reason"))),
		     NULL) < 0)
		return CLI_FAILED;
	return CLI_OK;
}

static int revisions_unlock(struct cli *cli, const struct cli_args *a)
{
	if (cli_call(cli, "io.ember.Revisions.Unlock", cli_with_namespace(cli, json_pack("{s:s}", "holder", a->pos[0])),
		     NULL) < 0)
		return CLI_FAILED;
	return CLI_OK;
}

static const struct cli_opt apply_opts[] = {
	{ "no-wait", 0, NULL, "return when the test begins, not with its outcome" },
	{ "force", 0, NULL, "apply despite update locks" },
	{ NULL, 0, NULL, NULL },
};
static const struct cli_opt reason_opts[] = {
	{ "reason", 0, "TEXT", "why (kept in the history)" },
	{ NULL, 0, NULL, NULL },
};

static const struct cli_opt ls_opts[] = {
	{ "quiet", 'q', NULL, "print only the ids" },
	{ NULL, 0, NULL, NULL },
};

static const struct cli_opt stage_opts[] = {
	{ "pull", 0, NULL, "pull the images the namespace lacks first (else they must be there)" },
	{ "plain-http", 0, NULL, "pull over http (a test registry)" },
	{ NULL, 0, NULL, NULL },
};

static const struct cli_command stage_cmd = {
	.name = "stage", .args = "FILE",
	.summary = "check a revision document (- reads stdin), pin its images, prepare its containers",
	.opts = stage_opts, .min_args = 1, .max_args = 1, .run = revisions_stage,
};
static const struct cli_command ls_cmd = {
	.name = "ls", .aliases = "list", .summary = "list revisions", .opts = ls_opts, .run = revisions_ls,
};
static const struct cli_command show_cmd = {
	.name = "show", .aliases = "info inspect", .args = "ID", .summary = "print a revision's record",
	.min_args = 1, .max_args = 1, .run = revisions_show,
};
static const struct cli_command rm_cmd = {
	.name = "rm", .aliases = "remove delete", .args = "ID...", .summary = "remove revisions (not the committed one)",
	.min_args = 1, .max_args = -1, .run = revisions_rm,
};

static const struct cli_command apply_cmd = {
	.name = "apply", .args = "ID",
	.summary = "switch to a staged revision, test it, then commit it or roll back by itself",
	.opts = apply_opts, .min_args = 1, .max_args = 1, .run = revisions_apply,
};
static const struct cli_command commit_cmd = {
	.name = "commit", .summary = "commit the revision being tested now", .run = revisions_commit,
};
static const struct cli_command rollback_cmd = {
	.name = "rollback", .summary = "roll the revision being tested back now", .opts = reason_opts,
	.run = revisions_rollback,
};
static const struct cli_command status_cmd = {
	.name = "status", .summary = "the committed revision, an apply in progress, locks and history",
	.run = revisions_status,
};
static const struct cli_command lock_cmd = {
	.name = "lock", .args = "HOLDER", .summary = "defer applies until HOLDER unlocks", .opts = reason_opts,
	.min_args = 1, .max_args = 1, .run = revisions_lock,
};
static const struct cli_command unlock_cmd = {
	.name = "unlock", .args = "HOLDER", .summary = "give back HOLDER's update lock", .min_args = 1,
	.max_args = 1, .run = revisions_unlock,
};

static const struct cli_command *const revisions_sub[] = { &apply_cmd,	 &commit_cmd, &lock_cmd,   &ls_cmd,
							   &rm_cmd,	 &rollback_cmd, &show_cmd,  &stage_cmd,
							   &status_cmd, &unlock_cmd,	NULL };

const struct cli_command cli_cmd_revisions = {
	.name = "revisions",
	.aliases = "revision",
	.summary = "revisions: the whole set of a namespace's containers, applied and tested as one, for OTA agents",
	.sub = revisions_sub,
};
