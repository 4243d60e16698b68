/* SPDX-License-Identifier: Apache-2.0 */
/* ember images ls|inspect|rm|tag|pull, and ember pull */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "util/cleanup.h"

void cli_format_size(int64_t n, char out[16])
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	double v = (double)n;
	int u = 0;

	while (v >= 1024 && u < 4) {
		v /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(out, 16, "%" PRId64 " B", n);
	else
		snprintf(out, 16, "%.1f %s", v, units[u]);
}

static int images_ls(struct cli *cli, const struct cli_args *a)
{
	json_t *reply, *img;
	size_t i;

	if (cli_call(cli, "io.ember.Images.List", cli_with_namespace(cli, json_object()), &reply) < 0)
		return CLI_FAILED;
	json_t *list = json_object_get(reply, "images");
	if (cli->json) {
		cli_print_json(list);
	} else if (cli_flag(a, "quiet")) {
		json_array_foreach(list, i, img)
			puts(json_string_value(json_object_get(img, "name")));
	} else {
		static const char *const head[] = { "REF", "TYPE", "DIGEST", "SIZE", "LABELS" };
		struct cli_table *t = cli_table_new(head, 5);
		json_array_foreach(list, i, img) {
			json_t *target = json_object_get(img, "target");
			const char *mt = json_string_value(json_object_get(target, "mediaType"));
			char size[16];
			cli_format_size(json_integer_value(json_object_get(target, "size")), size);
			_cleanup_free_ char *labels = cli_format_labels(json_object_get(img, "labels"));
			const char *row[] = { json_string_value(json_object_get(img, "name")), mt ? mt : "",
					      json_string_value(json_object_get(target, "digest")), size, labels };
			cli_table_add(t, row);
		}
		cli_table_print_free(t);
	}
	json_decref(reply);
	return CLI_OK;
}

static int images_inspect(struct cli *cli, const struct cli_args *a)
{
	json_t *reply;

	if (cli_call(cli, "io.ember.Images.Get", cli_with_namespace(cli, json_pack("{s:s}", "name", a->pos[0])),
		     &reply) < 0)
		return CLI_FAILED;
	cli_print_json(json_object_get(reply, "image"));
	json_decref(reply);
	return CLI_OK;
}

static int images_rm(struct cli *cli, const struct cli_args *a)
{
	int failed = 0;

	for (int i = 0; i < a->npos; i++) {
		if (cli_call(cli, "io.ember.Images.Delete",
			     cli_with_namespace(cli, json_pack("{s:s}", "name", a->pos[i])), NULL) < 0) {
			failed = 1;
			continue;
		}
		puts(a->pos[i]);
	}
	return failed ? CLI_FAILED : CLI_OK;
}

static int images_tag(struct cli *cli, const struct cli_args *a)
{
	int failed = 0;

	for (int i = 1; i < a->npos; i++) {
		json_t *reply;
		if (cli_call(cli, "io.ember.Images.Tag",
			     cli_with_namespace(cli, json_pack("{s:s, s:s}", "source", a->pos[0], "target", a->pos[i])),
			     &reply) < 0) {
			failed = 1;
			continue;
		}
		puts(json_string_value(json_object_get(json_object_get(reply, "image"), "name")));
		json_decref(reply);
	}
	return failed ? CLI_FAILED : CLI_OK;
}

/* ---- pull ------------------------------------------------------------------ */

struct pull_view {
	struct cli *cli;
	int tty;
	int lines;        /* drawn last time (tty) */
	json_t *seen;     /* digest -> last status printed (plain) */
	uint64_t start_ms;
	json_t *last;     /* the last reply */
};

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void short_digest(const char *digest, char out[20])
{
	const char *hex = digest ? strchr(digest, ':') : NULL;
	snprintf(out, 20, "%.12s", hex ? hex + 1 : digest ? digest : "?");
}

/* Terminal: one bar per blob, redrawn in place. */
static void draw_tty(struct pull_view *v, json_t *blobs)
{
	size_t i;
	json_t *b;
	double secs = (double)(now_ms() - v->start_ms) / 1000.0;
	int64_t got = 0, total = 0;

	if (v->lines)
		fprintf(stderr, "\033[%dA", v->lines);
	v->lines = 0;
	json_array_foreach(blobs, i, b) {
		int64_t size = json_integer_value(json_object_get(b, "size"));
		int64_t off = json_integer_value(json_object_get(b, "offset"));
		const char *st = json_string_value(json_object_get(b, "status"));
		char d[20], a[16], t[16], bar[31];
		int fill = size > 0 ? (int)(off * 30 / size) : 30;

		short_digest(json_string_value(json_object_get(b, "digest")), d);
		cli_format_size(off, a);
		cli_format_size(size, t);
		for (int k = 0; k < 30; k++)
			bar[k] = k < fill ? '=' : ' ';
		bar[30] = '\0';
		fprintf(stderr, "\033[2K%s  [%s] %10s / %-10s %s\n", d, bar, a, t, st ? st : "");
		v->lines++;
		got += off;
		total += size;
	}
	char a[16], t[16], r[16];
	cli_format_size(got, a);
	cli_format_size(total, t);
	double rate = secs > 0 ? (double)got / secs : 0;
	cli_format_size((int64_t)rate, r);
	long eta = rate > 0 && total > got ? (long)((double)(total - got) / rate) : 0;
	fprintf(stderr, "\033[2Kelapsed %.1fs  %s / %s  %s/s  ETA %lds\n", secs, a, t, r, eta);
	v->lines++;
}

/* Not a terminal: a line when a blob changes state. */
static void print_plain(struct pull_view *v, json_t *blobs)
{
	size_t i;
	json_t *b;

	json_array_foreach(blobs, i, b) {
		const char *digest = json_string_value(json_object_get(b, "digest"));
		const char *st = json_string_value(json_object_get(b, "status"));
		const char *was = json_string_value(json_object_get(v->seen, digest ? digest : ""));
		if (!digest || !st || (was && !strcmp(was, st)))
			continue;
		json_object_set_new(v->seen, digest, json_string(st));
		char size[16];
		cli_format_size(json_integer_value(json_object_get(b, "size")), size);
		printf("%s %s (%s)\n", digest, st, size);
	}
	fflush(stdout);
}

static int on_pull_reply(ember_client *c, const char *parameters, unsigned flags,
			 const struct ember_error *error, void *userdata)
{
	struct pull_view *v = userdata;

	(void)c;
	if (error)
		return 0;
	json_t *p = json_loads(parameters, 0, NULL);
	if (!p)
		return 0;
	if (v->cli->json) {
		_cleanup_free_ char *s = json_dumps(p, JSON_COMPACT);
		puts(s ? s : "{}");
		fflush(stdout);
	} else {
		json_t *blobs = json_object_get(p, "blobs");
		if (json_is_array(blobs)) {
			if (v->tty)
				draw_tty(v, blobs);
			else
				print_plain(v, blobs);
		}
	}
	if (!(flags & EMBER_REPLY_CONTINUES)) {
		json_decref(v->last);
		v->last = json_incref(p);
	}
	json_decref(p);
	return 0;
}

/* --plain-http and --user USER:PASSWORD, shared by pull and push. */
static int registry_flags(const struct cli_args *a, json_t *params)
{
	if (cli_flag(a, "plain-http"))
		json_object_set_new(params, "plain_http", json_true());
	const char *user = cli_arg(a, "user");
	if (user) {
		const char *colon = strchr(user, ':');
		if (!colon)
			return cli_usage_error("--user wants USER:PASSWORD");
		json_object_set_new(params, "user", json_stringn(user, (size_t)(colon - user)));
		json_object_set_new(params, "secret", json_string(colon + 1));
	}
	if (cli_arg(a, "platform"))
		json_object_set_new(params, "platform", json_string(cli_arg(a, "platform")));
	return 0;
}

/* A job with its progress shown (pull, push, import, unpack); params
   consumed, fd (-1: none) sent with the call. *last (may be NULL) gets the
   final reply's parameters. */
static int run_job(struct cli *cli, const char *method, json_t *params, int fd, json_t **last)
{
	struct pull_view v = { .cli = cli, .tty = cli_fancy_terminal(2) && !cli->json, .start_ms = now_ms() };
	struct ember_error e;
	_cleanup_free_ char *text = json_dumps(params, JSON_COMPACT);

	json_decref(params);
	if (last)
		*last = NULL;
	if (cli_connect(cli) < 0)
		return CLI_FAILED;
	if (fd >= 0)
		ember_client_attach_fds(cli->client, &fd, 1);
	v.seen = json_object();
	int r = ember_call_more(cli->client, method, text, on_pull_reply, &v, &e);
	json_decref(v.seen);
	if (r < 0) {
		cli_error(cli, &e);
		json_decref(v.last);
		return CLI_FAILED;
	}
	if (last)
		*last = v.last;
	else
		json_decref(v.last);
	return CLI_OK;
}

/* The "NAME: pulled DIGEST" line of a pull or push. */
static int registry_job(struct cli *cli, const char *method, json_t *params, const char *verb)
{
	const char *ref = json_string_value(json_object_get(params, "reference"));
	_cleanup_free_ char *refcopy = ref ? strdup(ref) : NULL;
	json_t *last;

	if (run_job(cli, method, params, -1, &last) != CLI_OK)
		return CLI_FAILED;
	json_t *image = json_object_get(last, "image");
	if (!cli->json) {
		if (image)
			printf("%s: %s %s\n", json_string_value(json_object_get(image, "name")), verb,
			       json_string_value(json_object_get(json_object_get(image, "target"), "digest")));
		else
			printf("%s: %s\n", refcopy ? refcopy : "", verb);
	}
	json_decref(last);
	return CLI_OK;
}

static int pull_or_fetch(struct cli *cli, const struct cli_args *a, int content_only)
{
	json_t *params = cli_with_namespace(cli, json_pack("{s:s, s:b}", "reference", a->pos[0], "content_only", content_only));
	int r = registry_flags(a, params);

	if (r) {
		json_decref(params);
		return r;
	}
	if (cli_flag(a, "all-platforms"))
		json_object_set_new(params, "all_platforms", json_true());
	if (cli_flag(a, "no-unpack"))
		json_object_set_new(params, "no_unpack", json_true());
	if (cli_arg(a, "snapshotter"))
		json_object_set_new(params, "snapshotter", json_string(cli_arg(a, "snapshotter")));
	for (int i = 0; i < a->nopts; i++) {
		if (strcmp(a->opts[i].opt->name, "label"))
			continue;
		const char *eq = strchr(a->opts[i].value, '=');
		if (!eq || eq == a->opts[i].value) {
			json_decref(params);
			return cli_usage_error("--label wants KEY=VALUE");
		}
		json_t *labels = json_object_get(params, "labels");
		if (!labels)
			json_object_set_new(params, "labels", labels = json_object());
		char key[1025];
		snprintf(key, sizeof(key), "%.*s", (int)(eq - a->opts[i].value), a->opts[i].value);
		json_object_set_new(labels, key, json_string(eq + 1));
	}
	return registry_job(cli, "io.ember.Images.Pull", params, content_only ? "fetched" : "pulled");
}

static int images_pull(struct cli *cli, const struct cli_args *a)
{
	return pull_or_fetch(cli, a, 0);
}

static int content_fetch(struct cli *cli, const struct cli_args *a)
{
	return pull_or_fetch(cli, a, 1);
}

static int images_push(struct cli *cli, const struct cli_args *a)
{
	json_t *params = cli_with_namespace(cli, json_pack("{s:s}", "reference", a->pos[0]));
	int r = registry_flags(a, params);

	if (r) {
		json_decref(params);
		return r;
	}
	if (a->npos > 1)
		json_object_set_new(params, "source", json_string(a->pos[1]));
	const char *chunk = cli_arg(a, "chunk-size");
	if (chunk) {
		char *end;
		long long n = strtoll(chunk, &end, 10);
		if (end == chunk || n <= 0 || (*end && strcmp(end, "k") && strcmp(end, "m"))) {
			json_decref(params);
			return cli_usage_error("--chunk-size wants a positive number of bytes (suffix k or m)");
		}
		n *= *end == 'k' ? 1024 : *end == 'm' ? 1024 * 1024 : 1;
		json_object_set_new(params, "chunk_size", json_integer(n));
	}
	const char *key_file = cli_arg(a, "sign-key");
	if (key_file) {
		char *pem;
		if (cli_read_text(key_file, 16384, &pem)) {
			json_decref(params);
			return CLI_FAILED;
		}
		json_object_set_new(params, "sign_key", json_string(pem));
		explicit_bzero(pem, strlen(pem));
		free(pem);
	}
	return registry_job(cli, "io.ember.Images.Push", params, "pushed");
}

static int export_to(struct cli *cli, const struct cli_args *a, int fd);

static int images_export(struct cli *cli, const struct cli_args *a)
{
	const char *file = a->pos[0];
	int to_stdout = !strcmp(file, "-");
	/* Written beside FILE and renamed over it at the end: a failed export
	   leaves no half archive, and an older FILE stays as it was. */
	_cleanup_free_ char *tmp = NULL;
	if (!to_stdout && asprintf(&tmp, "%s.ember-XXXXXX", file) < 0)
		return CLI_FAILED;
	_cleanup_close_ int fd = to_stdout ? cli_tmp_file() : mkostemp(tmp, O_CLOEXEC);

	if (fd < 0) {
		fprintf(stderr, "ember: export: %s: %s\n", to_stdout ? "temporary file" : file, strerror(errno));
		return CLI_FAILED;
	}
	int r = export_to(cli, a, fd);
	if (r == CLI_OK && !to_stdout && (fchmod(fd, 0644) < 0 || rename(tmp, file) < 0)) {
		fprintf(stderr, "ember: export: %s: %s\n", file, strerror(errno));
		r = CLI_FAILED;
	}
	if (r != CLI_OK && !to_stdout)
		(void)unlink(tmp);
	if (r == CLI_OK && to_stdout && (lseek(fd, 0, SEEK_SET) < 0 || cli_copy_fd(fd, 1) < 0)) {
		fprintf(stderr, "ember: export: write to standard output: %s\n", strerror(errno));
		r = CLI_FAILED;
	}
	return r;
}

static int export_to(struct cli *cli, const struct cli_args *a, int fd)
{
	json_t *names = json_array();
	for (int i = 1; i < a->npos; i++)
		json_array_append_new(names, json_string(a->pos[i]));
	json_t *params = cli_with_namespace(cli, json_pack("{s:o}", "names", names));
	if (cli_arg(a, "platform"))
		json_object_set_new(params, "platform", json_string(cli_arg(a, "platform")));
	if (cli_connect(cli) < 0) {
		json_decref(params);
		return CLI_FAILED;
	}
	ember_client_attach_fds(cli->client, &fd, 1);
	return cli_call(cli, "io.ember.Images.Export", params, NULL) < 0 ? CLI_FAILED : CLI_OK;
}

static int images_import(struct cli *cli, const struct cli_args *a)
{
	const char *file = a->pos[0];
	struct stat st;
	_cleanup_close_ int fd = !strcmp(file, "-") ? dup(0) : open(file, O_RDONLY | O_CLOEXEC);
	json_t *last, *img;
	size_t i;

	if (fd < 0 || fstat(fd, &st) < 0) {
		fprintf(stderr, "ember: import: %s: %s\n", file, strerror(errno));
		return CLI_FAILED;
	}
	/* A file, or a pipe the daemon reads at its own pace (in a job of its
	   own: nothing waits for it but this command). */
	if (!S_ISREG(st.st_mode) && !S_ISFIFO(st.st_mode) && !S_ISSOCK(st.st_mode)) {
		fprintf(stderr, "ember: import: %s: not a file or a pipe%s\n", file,
			isatty(fd) ? " (redirect the archive to standard input)" : "");
		return CLI_FAILED;
	}
	json_t *params = cli_with_namespace(cli, json_object());
	if (cli_arg(a, "base-name"))
		json_object_set_new(params, "base_name", json_string(cli_arg(a, "base-name")));
	if (cli_flag(a, "no-unpack"))
		json_object_set_new(params, "no_unpack", json_true());
	if (cli_arg(a, "snapshotter"))
		json_object_set_new(params, "snapshotter", json_string(cli_arg(a, "snapshotter")));
	if (run_job(cli, "io.ember.Images.Import", params, fd, &last) != CLI_OK)
		return CLI_FAILED;
	if (cli->json)
		cli_print_json(json_object_get(last, "images"));
	else
		json_array_foreach(json_object_get(last, "images"), i, img)
			printf("%s: imported %s\n", json_string_value(json_object_get(img, "name")),
			       json_string_value(json_object_get(json_object_get(img, "target"), "digest")));
	json_decref(last);
	return CLI_OK;
}

#ifdef CONFIG_CLI_SNAPSHOTS
static int images_unpack(struct cli *cli, const struct cli_args *a)
{
	json_t *params = cli_with_namespace(cli, json_pack("{s:s}", "name", a->pos[0]));
	json_t *last;

	if (cli_arg(a, "snapshotter"))
		json_object_set_new(params, "snapshotter", json_string(cli_arg(a, "snapshotter")));
	if (cli_arg(a, "platform"))
		json_object_set_new(params, "platform", json_string(cli_arg(a, "platform")));
	if (run_job(cli, "io.ember.Images.Unpack", params, -1, &last) != CLI_OK)
		return CLI_FAILED;
	if (cli->json)
		cli_print_json(last);
	else
		printf("%s: unpacked in %s\n", json_string_value(json_object_get(last, "name")),
		       json_string_value(json_object_get(last, "snapshotter")));
	json_decref(last);
	return CLI_OK;
}
#endif

static json_t *check_params(struct cli *cli, const struct cli_args *a, const char *name)
{
	json_t *params = cli_with_namespace(cli, json_pack("{s:s, s:b, s:b}", "name", name, "verify", cli_flag(a, "verify") > 0,
						"all_platforms", cli_flag(a, "all-platforms") > 0));
	if (cli_arg(a, "platform"))
		json_object_set_new(params, "platform", json_string(cli_arg(a, "platform")));
	return params;
}

static int images_check(struct cli *cli, const struct cli_args *a)
{
	int failed = 0;

	for (int i = 0; i < a->npos; i++) {
		json_t *reply;
		if (cli_call(cli, "io.ember.Images.Check",
			     check_params(cli, a, a->pos[i]), &reply) < 0) {
			failed = 1;
			continue;
		}
		int complete = json_is_true(json_object_get(reply, "complete"));
		if (cli->json) {
			cli_print_json(reply);
		} else {
			size_t k, present = 0, total = json_array_size(json_object_get(reply, "blobs"));
			json_t *b, *unpacked = json_object_get(reply, "unpacked");
			int only_layers = 1; /* every missing blob is a layer */
			json_array_foreach(json_object_get(reply, "blobs"), k, b) {
				present += json_is_true(json_object_get(b, "present"));
				const char *err = json_string_value(json_object_get(b, "error"));
				const char *mt = json_string_value(json_object_get(b, "mediaType"));
				if (!json_is_true(json_object_get(b, "present"))) {
					printf("  missing %s\n", json_string_value(json_object_get(b, "digest")));
					only_layers &= mt && strstr(mt, "layer") != NULL;
				} else if (err) {
					printf("  %s\n", err);
					only_layers = 0;
				}
			}
			json_t *sn;
			json_array_foreach(unpacked, k, sn)
				printf("  unpacked in %s\n", json_string_value(sn));
			/* Layers dropped after unpacking (drop_blobs): runnable, not exportable. */
			if (!complete && only_layers && json_array_size(unpacked)) {
				complete = 1;
				printf("%s: unpacked, layer blobs dropped (%zu/%zu blobs)\n",
				       json_string_value(json_object_get(reply, "name")), present, total);
			} else {
				printf("%s: %s (%zu/%zu blobs%s)\n", json_string_value(json_object_get(reply, "name")),
				       complete ? "complete" : "incomplete", present, total,
				       cli_flag(a, "verify") ? ", verified" : "");
			}
		}
		failed |= !complete;
		json_decref(reply);
	}
	return failed ? CLI_FAILED : CLI_OK;
}

static const struct cli_opt export_opts[] = {
	{ "platform", 0, "OS/ARCH[/VARIANT]", "export only this platform's manifest of an index" },
	{ NULL, 0, NULL, NULL },
};
static const struct cli_opt import_opts[] = {
	{ "base-name", 0, "NAME", "name for entries that carry only a tag (NAME:TAG)" },
#ifdef CONFIG_CLI_SNAPSHOTS
	{ "no-unpack", 0, NULL, "only store the blobs: do not unpack the layers into snapshots" },
	{ "snapshotter", 0, "NAME", "unpack into overlay, native or btrfs (default: the daemon's)" },
#endif
	{ NULL, 0, NULL, NULL },
};
#ifdef CONFIG_CLI_SNAPSHOTS
static const struct cli_opt unpack_opts[] = {
	{ "snapshotter", 0, "NAME", "unpack into overlay, native or btrfs (default: the daemon's)" },
	{ "platform", 0, "OS/ARCH[/VARIANT]", "of an index, this platform (default: this machine's)" },
	{ NULL, 0, NULL, NULL },
};
#endif
static const struct cli_opt check_opts[] = {
	{ "verify", 0, NULL, "hash every blob again" },
	{ "platform", 0, "OS/ARCH[/VARIANT]", "of an index, check this platform (default: this machine's)" },
	{ "all-platforms", 0, NULL, "of an index, check every platform" },
	{ NULL, 0, NULL, NULL },
};

static const struct cli_opt ls_opts[] = {
	{ "quiet", 'q', NULL, "print only the names" },
	{ NULL, 0, NULL, NULL },
};

#define FETCH_OPTS                                                                                     \
	{ "platform", 0, "OS/ARCH[/VARIANT]", "pull for this platform (default: this machine's)" },  \
	{ "all-platforms", 0, NULL, "pull every platform of an index" },                           \
	{ "plain-http", 0, NULL, "talk HTTP, not HTTPS, to the registry" },                        \
	{ "user", 'u', "USER:PASSWORD", "registry credentials" },                                  \
	{ "label", 0, "KEY=VALUE", "label the image (repeatable)" }
static const struct cli_opt fetch_opts[] = { FETCH_OPTS, { NULL, 0, NULL, NULL } };
static const struct cli_opt pull_opts[] = {
	FETCH_OPTS,
#ifdef CONFIG_CLI_SNAPSHOTS
	{ "no-unpack", 0, NULL, "only fetch: do not unpack the layers into snapshots" },
	{ "snapshotter", 0, "NAME", "unpack into overlay, native or btrfs (default: the daemon's)" },
#endif
	{ NULL, 0, NULL, NULL },
};

const struct cli_command cli_cmd_content_fetch = {
	.name = "fetch",
	.args = "REF",
	.summary = "fetch an image's blobs without recording an image",
	.help = CLI_HELP("Like pull, but no image record is written. A lease holds the blobs for\n"
			 "24 hours (see `ember leases ls`)."),
	.opts = fetch_opts,
	.min_args = 1,
	.max_args = 1,
	.run = content_fetch,
};

static const struct cli_opt push_opts[] = {
	{ "platform", 0, "OS/ARCH[/VARIANT]", "push only this platform's manifest of an index" },
	{ "plain-http", 0, NULL, "talk HTTP, not HTTPS, to the registry" },
	{ "user", 'u', "USER:PASSWORD", "registry credentials" },
	{ "chunk-size", 0, "BYTES", "upload blobs in chunks of this size (default: one request each)" },
	{ "sign-key", 0, "KEY.pem", "sign what is pushed (cosign's format) with this ECDSA P-256 private key" },
	{ NULL, 0, NULL, NULL },
};

const struct cli_command cli_cmd_push = {
	.name = "push",
	.args = "REMOTE [LOCAL]",
	.summary = "send an image to a registry",
	.help = CLI_HELP("LOCAL is the image to send (default: REMOTE itself, as in ctr). Blobs the\n"
			 "registry has are skipped, blobs of another repository of the same registry\n"
			 "are mounted from there, the rest are uploaded. With --sign-key, a cosign\n"
			 "signature of the pushed manifest joins those at the tag sha256-<hex>.sig, for\n"
			 "namespaces whose policy requires signed images (ember namespaces verify)."),
	.opts = push_opts,
	.min_args = 1,
	.max_args = 2,
	.run = images_push,
};

const struct cli_command cli_cmd_pull = {
	.name = "pull",
	.args = "REF",
	.summary = "fetch an image from a registry",
	.help = CLI_HELP("REF is normalised as Docker does: busybox is docker.io/library/busybox:latest.\n"
			 "Progress goes to the terminal as bars, else as one line per blob and state\n"
			 "(JSON lines with --json). An interrupted pull resumes where it stopped;\n"
			 "blobs already in the store are not fetched again. Registry settings come\n"
			 "from <config_path>/<host>/hosts.toml as in containerd. Each layer is\n"
			 "unpacked into a snapshot as soon as it is stored (unless --no-unpack); the\n"
			 "image is recorded once every layer is committed."),
	.opts = pull_opts,
	.min_args = 1,
	.max_args = 1,
	.run = images_pull,
};

static const struct cli_command images_ls_cmd = {
	.name = "ls", .aliases = "list", .summary = "list images",
	.opts = ls_opts, .run = images_ls,
};
static const struct cli_command images_inspect_cmd = {
	.name = "inspect", .aliases = "info", .args = "REF", .summary = "print an image record as JSON",
	.min_args = 1, .max_args = 1, .run = images_inspect,
};
static const struct cli_command images_rm_cmd = {
	.name = "rm", .aliases = "remove delete", .args = "REF...", .summary = "remove images",
	.help = CLI_HELP("Removes the names; their content goes at the next `ember content gc`."),
	.min_args = 1, .max_args = -1, .run = images_rm,
};
static const struct cli_command images_tag_cmd = {
	.name = "tag", .args = "SOURCE TARGET...", .summary = "give an image more names",
	.min_args = 2, .max_args = -1, .run = images_tag,
};

static const struct cli_command images_export_cmd = {
	.name = "export", .args = "FILE REF...", .summary = "write images to an OCI archive",
	.help = CLI_HELP("FILE (- for standard output) gets an OCI image layout tar, which skopeo,\n"
			 "umoci, ctr and docker load read."),
	.opts = export_opts, .min_args = 2, .max_args = -1, .run = images_export,
};
static const struct cli_command images_import_cmd = {
	.name = "import", .args = "FILE", .summary = "read images from an OCI or docker-save archive",
	.help = CLI_HELP("FILE (- for standard input, also a pipe) may be gzip or zstd compressed.\n"
			 "The layers of this machine's platform are unpacked as they are read\n"
			 "(unless --no-unpack), as a pull does. Nothing is recorded unless every\n"
			 "image in it is whole and unpacked; a failed or interrupted import (Ctrl-C)\n"
			 "leaves nothing behind."),
	.opts = import_opts, .min_args = 1, .max_args = 1, .run = images_import,
};
#ifdef CONFIG_CLI_SNAPSHOTS
static const struct cli_command images_unpack_cmd = {
	.name = "unpack", .args = "REF", .summary = "unpack an image already in the store",
	.help = CLI_HELP("For an image imported with --no-unpack, or pulled into another\n"
			 "snapshotter: its layers are unpacked into snapshots, so that it runs."),
	.opts = unpack_opts, .min_args = 1, .max_args = 1, .run = images_unpack,
};
#endif
static const struct cli_command images_check_cmd = {
	.name = "check", .args = "REF...", .summary = "check that every blob of an image is there",
	.opts = check_opts, .min_args = 1, .max_args = -1, .run = images_check,
};

static const struct cli_command *const images_sub[] = {
	&images_check_cmd, &images_export_cmd, &images_import_cmd, &images_inspect_cmd, &images_ls_cmd,
#ifdef CONFIG_CLI_SNAPSHOTS
	&cli_cmd_images_mount,
#endif
	&cli_cmd_pull,
#ifdef CONFIG_PUSH
	&cli_cmd_push,
#endif
	&images_rm_cmd, &images_tag_cmd,
#ifdef CONFIG_CLI_SNAPSHOTS
	&cli_cmd_images_unmount, &images_unpack_cmd,
#endif
	NULL,
};

const struct cli_command cli_cmd_images = {
	.name = "images",
	.aliases = "image i",
	.summary = "manage images",
	.sub = images_sub,
};
