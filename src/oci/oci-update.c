/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ember oci update: runc 1.1's flags, or -r (a linux.resources JSON, "-"
 * for stdin; the flags are then ignored, as runc ignores them), onto the
 * cgroup of a container that is created, running or paused, through the
 * runtime's cgroup writers (runtime_cgroup_set), and into the spec its
 * state.json keeps (linux.resources), where runc keeps them too: the next
 * update starts from there. As with runc, 0 or "" leaves a value as it
 * was, kernel memory limits are ignored with runc's warning, and a write
 * the kernel refuses puts the old values back. Unlike runc, what ember
 * cannot do (blockIO, Intel RDT, devices) is refused naming it, and a
 * controller the host lacks is found before anything is written.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "oci/oci-internal.h"
#include "runtime/runtime.h"
#include "util/cleanup.h"
#include "util/err.h"
#include "util/size.h"

#define RESOURCES_MAX ((size_t)1 << 20)

enum kind {
	SIZE, /* bytes with runc's units (go-units RAMInBytes), or -1 */
	U64,  /* decimal, no sign (Go's ParseUint) */
	I64,  /* decimal, a sign allowed (ParseInt) */
	INT,  /* an int flag (Go's flag package: 0x, 0o, 0b too) */
	STR,
};

static const struct flag {
	const char *name, *group, *key;
	enum kind kind;
} flags[] = {
	{ "--memory", "memory", "limit", SIZE },
	{ "--memory-reservation", "memory", "reservation", SIZE },
	{ "--memory-swap", "memory", "swap", SIZE },
	{ "--kernel-memory", "memory", "kernel", SIZE },
	{ "--kernel-memory-tcp", "memory", "kernelTCP", SIZE },
	{ "--cpu-share", "cpu", "shares", U64 }, /* runc's spelling */
	{ "--cpu-shares", "cpu", "shares", U64 },
	{ "--cpu-quota", "cpu", "quota", I64 },
	{ "--cpu-period", "cpu", "period", U64 },
	{ "--cpu-rt-period", "cpu", "realtimePeriod", U64 },
	{ "--cpu-rt-runtime", "cpu", "realtimeRuntime", I64 },
	{ "--cpuset-cpus", "cpu", "cpus", STR },
	{ "--cpuset-mems", "cpu", "mems", STR },
	{ "--pids-limit", "pids", "limit", INT },
	{ "--blkio-weight", "blockIO", "weight", INT },
};

/* runc's size flags: go-units' RAMInBytes, and "-1" for unlimited. */
static int parse_size(const char *s, int64_t *out)
{
	if (!strcmp(s, "-1")) {
		*out = -1;
		return 0;
	}
	return size_parse(s, out);
}

static int parse_int(const char *s, enum kind kind, int64_t *out)
{
	char *end;

	/* Go's ParseUint takes no sign, ParseInt one. */
	if (!*s || (kind == U64 && !strchr("0123456789", *s)) || (kind == I64 && !strchr("+-0123456789", *s)))
		return -1;
	errno = 0;
	long long v = strtoll(s, &end, kind == INT ? 0 : 10);
	if (errno || *end || (kind == U64 && v < 0))
		return -1;
	*out = v;
	return 0;
}

/* One flag's value into req.group.key. */
static int flag_set(const struct oci *o, json_t *req, const struct flag *f, const char *v)
{
	int64_t n = 0;
	json_t *g = json_object_get(req, f->group), *val;

	if (f->kind == STR)
		val = json_string(v);
	else if (f->kind == SIZE ? parse_size(v, &n) : parse_int(v, f->kind, &n))
		return oci_fail(o, "update: %s \"%.40s\": %s", f->name, v,
				f->kind == SIZE ? "not a size (bytes, or with a unit k, m, g, t or p; -1 for unlimited)"
				: f->kind == U64 ? "not a decimal number of 0 or more"
						 : "not an integer");
	else
		val = json_integer(n);
	if (!g)
		json_object_set_new(req, f->group, g = json_object());
	json_object_set_new(g, f->key, val);
	return 0;
}

/* -r FILE: linux.resources, a JSON object. */
static int resources_read(const struct oci *o, const char *path, json_t **out)
{
	json_error_t je;
	FILE *f = strcmp(path, "-") ? fopen(path, "re") : stdin;

	if (!f)
		return oci_fail(o, "update: --resources %s: %s", path, strerror(errno));
	*out = json_loadf(f, JSON_REJECT_DUPLICATES, &je);
	if (f != stdin)
		fclose(f);
	if (!*out)
		return oci_fail(o, "update: --resources %s: %s (line %d)", path, je.text, je.line);
	if (!json_is_object(*out))
		return oci_fail(o, "update: --resources %s: not a JSON object (linux.resources)", path);
	return 0;
}

/* What runc would leave alone taken out of req: 0 and "" (unchanged),
   kernel memory (ignored, with runc's warning), an empty group. What
   ember cannot change is refused naming it. */
static int request_norm(const struct oci *o, json_t *req)
{
	const char *g, *k;
	json_t *grp, *v;
	void *t1, *t2;
	int kernel = 0;

	json_object_foreach_safe(req, t1, g, grp) {
		if (!strcmp(g, "devices"))
			return oci_fail(o, "update: linux.resources.devices: update does not change devices");
		if (!json_is_object(grp))
			return oci_fail(o, "update: linux.resources.%.40s: must be an object", g);
		json_object_foreach_safe(grp, t2, k, v) {
			int zero = json_is_null(v) || (json_is_integer(v) && json_integer_value(v) == 0) ||
				   (json_is_string(v) && !*json_string_value(v));
			int is_kernel = !strcmp(g, "memory") && (!strcmp(k, "kernel") || !strcmp(k, "kernelTCP"));
			kernel |= is_kernel && !zero;
			if (zero || is_kernel)
				json_object_del(grp, k);
		}
		if (!json_object_size(grp)) {
			json_object_del(req, g);
			continue;
		}
		if (!strcmp(g, "blockIO"))
			return oci_fail(o, "update: linux.resources.blockIO (--blkio-weight): ember's cgroups have no "
					   "blkio/io controller");
		if (strcmp(g, "memory") && strcmp(g, "cpu") && strcmp(g, "pids"))
			return oci_fail(o, "update: linux.resources.%.40s: not supported", g);
	}
	if (kernel)
		oci_warn(o, "Kernel memory settings are ignored and will be removed");
	return 0;
}

/* The controller each requested value is written to must be there: found
   before anything is written. */
static int request_check(const struct oci *o, const struct runtime_cgroup *cg, json_t *req)
{
	const char *g, *k, *ctl;
	json_t *grp, *v;

	json_object_foreach(req, g, grp) {
		json_object_foreach(grp, k, v) {
			ctl = !strcmp(g, "cpu") && (!strcmp(k, "cpus") || !strcmp(k, "mems")) ? "cpuset" : g;
			if (!runtime_cgroup_has(cg, ctl))
				return oci_fail(o, "update: linux.resources.%s.%s: the container's cgroup has no %s controller",
						g, k, ctl);
		}
	}
	return 0;
}

/* old with req's values on top (a new object). */
static json_t *resources_merge(json_t *old, json_t *req)
{
	json_t *m = json_is_object(old) ? json_deep_copy(old) : json_object(), *grp, *mg;
	const char *g;

	json_object_foreach(req, g, grp) {
		if (!json_is_object(mg = json_object_get(m, g)))
			json_object_set_new(m, g, mg = json_object());
		json_object_update(mg, grp);
	}
	return m;
}

static int update_apply(const struct oci *o, const char *id, json_t *req)
{
	struct runtime_cgroup *cg = NULL;
	struct ember_error e;
	json_t *st = NULL, *merged = NULL;
	int rc = 1;

	if (!ENABLED(CONFIG_CGROUPS))
		return oci_fail(o, "update: resources are a cgroup's, and cgroups are not in this build (CONFIG_CGROUPS)");
	if (oci_state_read(o, id, &st, &e) < 0) {
		rc = oci_fail_e(o, &e);
		goto out;
	}
	if (!strcmp(oci_status(o, st), "stopped")) {
		rc = oci_fail(o, "update: container %s is not running", id);
		goto out;
	}
	if (oci_cgroup_open(st, id, &cg, &e) < 0) {
		rc = oci_fail_e(o, &e);
		goto out;
	}
	if (request_check(o, cg, req))
		goto out;
	json_t *lx = json_object_get(json_object_get(st, "spec"), "linux"), *old = json_object_get(lx, "resources");
	if (!json_is_object(lx) || !(merged = resources_merge(old, req))) {
		rc = oci_fail(o, "update %s: its state.json has no spec.linux", id);
		goto out;
	}
	if (runtime_cgroup_set(cg, merged, &e) < 0) {
		struct ember_error back;
		rc = oci_fail(o, "update %s: %s", id, e.message);
		if (runtime_cgroup_set(cg, old, &back) < 0)
			oci_warn(o, "update %s: putting the old values back: %s", id, back.message);
		goto out;
	}
	json_object_set(lx, "resources", merged);
	rc = oci_state_write(o, id, st, &e) < 0 ? oci_fail(o, "update %s: cgroup changed, state.json not: %s", id, e.message)
						: 0;
out:
	runtime_cgroup_free(cg);
	json_decref(merged);
	json_decref(st);
	return rc;
}

int oci_cmd_update(const struct oci *o, int argc, char **argv)
{
	static const char *const other[] = { "--resources", "-r", "--l3-cache-schema", "--mem-bw-schema" };
	const char *id = NULL, *file = NULL, *v;
	json_t *req = json_object();
	int rc = 1;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *name = NULL;
		const struct flag *f = NULL;
		for (size_t k = 0; k < ARRAY_SIZE(flags) && !name; k++)
			if (oci_is_opt(a, flags[k].name))
				name = (f = &flags[k])->name;
		for (size_t k = 0; k < ARRAY_SIZE(other) && !name; k++)
			if (oci_is_opt(a, other[k]))
				name = other[k];
		if (!name && a[0] == '-') {
			oci_fail(o, "update: unknown option \"%.80s\"", a);
			goto out;
		}
		if (!name && id) {
			oci_fail(o, "update: one container id, not \"%.80s\" too", a);
			goto out;
		}
		if (!name) {
			id = a;
			continue;
		}
		if (!(v = oci_opt_value(argc, argv, &i, name))) {
			oci_fail(o, "update: %s needs a value", name);
			goto out;
		}
		if (f && flag_set(o, req, f, v))
			goto out;
		if (!f && strstr(name, "schema")) {
			oci_fail(o, "update: %s: Intel RDT is not supported (no linux.intelRdt)", name);
			goto out;
		}
		if (!f)
			file = v;
	}
	if (!id) {
		oci_fail(o, "update: give the container's id");
		goto out;
	}
	if (file) {
		/* As runc: the file's values, the flags ignored. */
		json_decref(req);
		if (resources_read(o, file, &req))
			goto out;
	}
	if (request_norm(o, req) == 0)
		rc = update_apply(o, id, req);
out:
	json_decref(req);
	return rc;
}
