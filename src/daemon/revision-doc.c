/* SPDX-License-Identifier: Apache-2.0 */
/* The revision document (revisions.h): checked field by field, returned
   with its defaults filled in. Pure: no store, no daemon. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "daemon/containers.h"
#include "daemon/revisions.h"
#include "daemon/tasks.h"
#include "metadata/metadata.h"
#include "util/cleanup.h"
#include "util/err.h"

struct field {
	const char *name;
	int type; /* JSON_ type; JSON_TRUE: a boolean */
};

/* Every key of o is one of fields, of its type; what names o in errors. */
static int keys_check(json_t *o, const char *what, const struct field *fields, struct ember_error *e)
{
	const char *key;
	json_t *v;
	char q[ERR_QUOTE_MAX];

	if (!json_is_object(o))
		return err_invalid(e, "%s: must be an object", what);
	json_object_foreach(o, key, v) {
		const struct field *f = fields;
		while (f->name && strcmp(f->name, key))
			f++;
		if (!f->name)
			return err_invalid(e, "%s: unknown key \"%s\"", what, err_quote(key, q));
		int ok = f->type == JSON_TRUE ? json_is_boolean(v) : (int)json_typeof(v) == f->type;
		if (!ok)
			return err_invalid(e, "%s: %s: wrong type", what, key);
	}
	return 0;
}

/* o's integer key in [lo, hi], def when absent; written back. */
static int int_in(json_t *o, const char *what, const char *key, json_int_t lo, json_int_t hi, json_int_t def,
		  const char *unit, json_int_t *out, struct ember_error *e)
{
	json_t *v = json_object_get(o, key);
	json_int_t n = v ? json_integer_value(v) : def;

	if (n < lo || n > hi)
		return err_invalid(e, "%s: %s: must be %lld to %lld%s", what, key, (long long)lo, (long long)hi, unit);
	if (!v && json_object_set_new(o, key, json_integer(n)) < 0)
		return err_set(e, ENOMEM, "out of memory");
	if (out)
		*out = n;
	return 0;
}

static int string_ok(const char *s, size_t max)
{
	size_t n = strlen(s);

	if (!n || n > max)
		return 0;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return 0;
	return 1;
}

static int health_check(json_t *c, const char *what, json_int_t test_timeout, struct ember_error *e)
{
	static const struct field fields[] = {
		{ "running", JSON_INTEGER }, { "exited", JSON_INTEGER }, { "exec", JSON_OBJECT },
		{ "healthcheck", JSON_TRUE }, { NULL, 0 },
	};
	static const struct field exec_fields[] = {
		{ "cmd", JSON_ARRAY }, { "interval", JSON_INTEGER }, { "timeout", JSON_INTEGER },
		{ "retries", JSON_INTEGER }, { NULL, 0 },
	};
	char hw[160], xw[180];
	json_t *h = json_object_get(c, "health");

	snprintf(hw, sizeof(hw), "%s: health", what);
	if (!h) {
		/* Running a few seconds without a restart: what a service shows first. */
		h = json_pack("{s:I}", "running", (json_int_t)REVISION_DEFAULT_RUNNING);
		if (!h || json_object_set_new(c, "health", h) < 0)
			return err_set(e, ENOMEM, "out of memory");
	}
	if (keys_check(h, hw, fields, e) < 0)
		return -e->code;
	if (json_object_size(h) != 1)
		return err_invalid(e, "%s: give one of running, exited, exec or healthcheck", hw);
	json_t *v;
	if ((v = json_object_get(h, "running"))) {
		if (int_in(h, hw, "running", 1, 86400, 0, " seconds", NULL, e) < 0)
			return -e->code;
		if (json_integer_value(v) >= test_timeout)
			return err_invalid(e, "%s: running (%lld s) must be shorter than test_timeout (%lld s)", hw,
					   (long long)json_integer_value(v), (long long)test_timeout);
	} else if (json_object_get(h, "exited")) {
		if (int_in(h, hw, "exited", 0, 255, 0, "", NULL, e) < 0)
			return -e->code;
	} else if ((v = json_object_get(h, "exec"))) {
		snprintf(xw, sizeof(xw), "%s: exec", hw);
		if (keys_check(v, xw, exec_fields, e) < 0)
			return -e->code;
		json_t *cmd = json_object_get(v, "cmd"), *a;
		size_t i;
		if (!cmd || !json_array_size(cmd) || json_array_size(cmd) > REVISION_MAX_ARGS)
			return err_invalid(e, "%s: cmd: give 1 to %d arguments", xw, REVISION_MAX_ARGS);
		json_array_foreach(cmd, i, a)
			if (!json_is_string(a) || strlen(json_string_value(a)) > 4096)
				return err_invalid(e, "%s: cmd[%zu]: must be a string of at most 4096 bytes", xw, i);
		if (!*json_string_value(json_array_get(cmd, 0)))
			return err_invalid(e, "%s: cmd[0]: may not be empty", xw);
		if (int_in(v, xw, "interval", 1, 3600, 5, " seconds", NULL, e) < 0 ||
		    int_in(v, xw, "timeout", 1, 3600, 5, " seconds", NULL, e) < 0 ||
		    int_in(v, xw, "retries", 1, 100, 3, "", NULL, e) < 0)
			return -e->code;
	} else if (!json_is_true(json_object_get(h, "healthcheck"))) {
		return err_invalid(e, "%s: healthcheck: only true means something", hw);
	}
	return 0;
}

static int container_check(json_t *c, size_t i, json_int_t test_timeout, struct ember_error *e)
{
	static const struct field fields[] = {
		{ "id", JSON_STRING },	    { "image", JSON_STRING }, { "snapshotter", JSON_STRING },
		{ "platform", JSON_STRING }, { "restart", JSON_STRING }, { "options", JSON_OBJECT },
		{ "labels", JSON_OBJECT },   { "health", JSON_OBJECT }, { NULL, 0 },
	};
	char what[128];
	const char *id = json_string_value(json_object_get(c, "id"));
	char q[ERR_QUOTE_MAX];

	struct ember_error ignored;

	/* Named by its id where that is an identifier (short, plain characters). */
	if (id && meta_identifier_check("container", id, &ignored) == 0)
		snprintf(what, sizeof(what), "revision: containers[%zu] (%s)", i, id);
	else
		snprintf(what, sizeof(what), "revision: containers[%zu]", i);
	if (keys_check(c, what, fields, e) < 0)
		return -e->code;
	if (!id)
		return err_invalid(e, "%s: id: missing", what);
	if (meta_identifier_check("container", id, e) < 0)
		return err_wrap(e, "%s", what);
	const char *image = json_string_value(json_object_get(c, "image"));
	if (!image)
		return err_invalid(e, "%s: image: missing", what);
	if (!string_ok(image, 1024))
		return err_invalid(e, "%s: image \"%s\": not an image name", what, err_quote(image, q));
	const char *sn = json_string_value(json_object_get(c, "snapshotter"));
	if (sn && !string_ok(sn, 32))
		return err_invalid(e, "%s: snapshotter: not a snapshotter's name", what);
	const char *pl = json_string_value(json_object_get(c, "platform"));
	if (pl && !string_ok(pl, 128))
		return err_invalid(e, "%s: platform: not a platform", what);
	const char *restart = json_string_value(json_object_get(c, "restart"));
	struct restart rs;
	if (restart && restart_parse(restart, &rs, e) < 0)
		return err_wrap(e, "%s", what); /* "restart: ..." */
	json_t *labels = json_object_get(c, "labels");
	if (labels && meta_labels_check(labels, e) < 0)
		return err_wrap(e, "%s: labels", what);
	json_t *options = json_object_get(c, "options");
	if (options && containers_options_check(options, e) < 0)
		return err_wrap(e, "%s", what);
	if (health_check(c, what, test_timeout, e) < 0)
		return -e->code;
	/* A revision is what the device runs, also after a reboot: a service
	   restarts always, a one-shot job never. */
	if (!restart && json_object_set_new(c, "restart", json_string(json_object_get(json_object_get(c, "health"),
										      "exited")
									      ? "no"
									      : "always")) < 0)
		return err_set(e, ENOMEM, "out of memory");
	return 0;
}

int revision_doc_check(json_t *doc, json_t **out, struct ember_error *e)
{
	static const struct field fields[] = {
		{ "id", JSON_STRING },		{ "test_timeout", JSON_INTEGER }, { "commit_delay", JSON_INTEGER },
		{ "stop_timeout", JSON_INTEGER },
		{ "containers", JSON_ARRAY }, { "labels", JSON_OBJECT },       { NULL, 0 },
	};
	_cleanup_(json_decrefp) json_t *d = NULL;
	json_int_t test_timeout;

	*out = NULL;
	if (!json_is_object(doc))
		return err_invalid(e, "revision: must be a JSON object");
	if (!(d = json_deep_copy(doc)))
		return err_set(e, ENOMEM, "out of memory");
	if (keys_check(d, "revision", fields, e) < 0)
		return -e->code;
	const char *id = json_string_value(json_object_get(d, "id"));
	if (!id)
		return err_invalid(e, "revision: id: missing");
	if (meta_identifier_check("revision", id, e) < 0)
		return -e->code;
	if (int_in(d, "revision", "test_timeout", 2, 86400, REVISION_DEFAULT_TEST_TIMEOUT, " seconds", &test_timeout,
		   e) < 0 ||
	    int_in(d, "revision", "commit_delay", 0, 86400, 0, " seconds", NULL, e) < 0 ||
	    int_in(d, "revision", "stop_timeout", 1, 3600, REVISION_DEFAULT_STOP_TIMEOUT, " seconds", NULL, e) < 0)
		return -e->code;
	json_t *labels = json_object_get(d, "labels");
	if (labels && meta_labels_check(labels, e) < 0)
		return err_wrap(e, "revision: labels");
	json_t *cs = json_object_get(d, "containers"), *c;
	if (!cs)
		return err_invalid(e, "revision: containers: missing (an empty list runs nothing)");
	if (json_array_size(cs) > REVISION_MAX_CONTAINERS)
		return err_invalid(e, "revision: containers: %zu of them, at most %d", json_array_size(cs),
				   REVISION_MAX_CONTAINERS);
	size_t i;
	json_array_foreach(cs, i, c) {
		if (container_check(c, i, test_timeout, e) < 0)
			return -e->code;
		const char *cid = json_string_value(json_object_get(c, "id"));
		for (size_t k = 0; k < i; k++)
			if (!strcmp(cid, json_string_value(json_object_get(json_array_get(cs, k), "id"))))
				return err_invalid(e, "revision: containers[%zu] and [%zu] are both \"%s\"", k, i, cid);
	}
	*out = TAKE_PTR(d);
	return 0;
}
