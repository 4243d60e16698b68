/* SPDX-License-Identifier: Apache-2.0 */
#include "runtime/runtime.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

#include "runtime/runtime-internal.h"
#include "util/err.h"
#include "util/mount.h"

/*
 * Messages are "spec: <JSON path>: <what is wrong>". Paths are built in
 * bounded buffers: a path cut short still names where it went wrong.
 */
#define PATH_MAX_LEN 160
#define ID_MAX 4294967294LL /* uid_t/gid_t, but (uid_t)-1 */
#define RT_IDMAP_MAX 340     /* lines of an id map the kernel takes */

static int bad_at(struct ember_error *e, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int bad_at(struct ember_error *e, const char *path, const char *fmt, ...)
{
	char msg[EMBER_ERROR_MESSAGE_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return rt_bad(e, "spec: %s: %s", path, msg);
}

enum ftype {
	F_STRING,
	F_BOOL,
	F_INT,     /* any integer */
	F_UINT,    /* integer >= 0 */
	F_ID,      /* 0 .. 2^32-2 */
	F_UINT32,  /* 0 .. 2^32-1 */
	F_OBJECT,
	F_ARRAY,
	F_STRINGS, /* array of strings */
	F_STRMAP,  /* object of strings */
	F_ABS,     /* absolute path */
	F_ABSLIST, /* array of absolute paths */
	F_IDS,     /* array of F_ID */
};

#define REQ 1

struct field {
	const char *key;
	enum ftype type;
	int flags;
};

static const char *const type_text[] = {
	[F_STRING] = "must be a string",
	[F_BOOL] = "must be true or false",
	[F_INT] = "must be an integer",
	[F_UINT] = "must be an integer >= 0",
	[F_ID] = "must be an id (an integer, 0 .. 4294967294)",
	[F_UINT32] = "must be an integer, 0 .. 4294967295",
	[F_OBJECT] = "must be an object",
	[F_ARRAY] = "must be an array",
	[F_STRINGS] = "must be an array of strings",
	[F_STRMAP] = "must be an object of strings",
	[F_ABS] = "must be an absolute path",
	[F_ABSLIST] = "must be an array of absolute paths",
	[F_IDS] = "must be an array of ids (integers, 0 .. 4294967294)",
};

static int int_in(json_t *v, long long lo, long long hi)
{
	return json_is_integer(v) && json_integer_value(v) >= lo && json_integer_value(v) <= hi;
}

static int is_abs(json_t *v)
{
	const char *s = json_string_value(v);
	return s && rt_path_absolute(s) && !rt_path_has_dotdot(s);
}

static int type_ok(json_t *v, enum ftype t)
{
	size_t i;
	json_t *x;
	const char *k;

	switch (t) {
	case F_STRING:
		return json_is_string(v);
	case F_BOOL:
		return json_is_boolean(v);
	case F_INT:
		return json_is_integer(v);
	case F_UINT:
		return int_in(v, 0, LLONG_MAX);
	case F_ID:
		return int_in(v, 0, ID_MAX);
	case F_UINT32:
		return int_in(v, 0, ID_MAX + 1);
	case F_OBJECT:
		return json_is_object(v);
	case F_ARRAY:
		return json_is_array(v);
	case F_ABS:
		return is_abs(v);
	case F_STRINGS:
	case F_ABSLIST:
	case F_IDS:
		if (!json_is_array(v))
			return 0;
		json_array_foreach(v, i, x)
			if (!type_ok(x, t == F_STRINGS ? F_STRING : t == F_ABSLIST ? F_ABS : F_ID))
				return 0;
		return 1;
	case F_STRMAP:
		if (!json_is_object(v))
			return 0;
		json_object_foreach(v, k, x)
			if (!json_is_string(x))
				return 0;
		return 1;
	}
	return 0;
}

/* "a.b" from path "a" and key "b" (just "b" at the top). */
static const char *join(char buf[PATH_MAX_LEN], const char *path, const char *key)
{
	if (snprintf(buf, PATH_MAX_LEN, "%s%s%s", path, *path ? "." : "", key) < 0)
		buf[0] = '\0';
	return buf;
}

static const char *index_of(char buf[PATH_MAX_LEN], const char *path, size_t i)
{
	if (snprintf(buf, PATH_MAX_LEN, "%s[%zu]", path, i) < 0)
		buf[0] = '\0';
	return buf;
}

/* Type-checks obj's fields; obj must be an object. */
static int fields(json_t *obj, const char *path, const struct field *f, size_t n, struct ember_error *e)
{
	char sub[PATH_MAX_LEN];

	for (size_t i = 0; i < n; i++) {
		json_t *v = json_object_get(obj, f[i].key);
		if (!v) {
			if (f[i].flags & REQ)
				return bad_at(e, join(sub, path, f[i].key), "missing");
			continue;
		}
		if (!type_ok(v, f[i].type))
			return bad_at(e, join(sub, path, f[i].key), "%s", type_text[f[i].type]);
	}
	return 0;
}

/* obj[key] when it is an object, NULL when absent; *r < 0 otherwise. */
static json_t *object_at(json_t *obj, const char *path, const char *key, int required, int *r,
			 struct ember_error *e)
{
	char sub[PATH_MAX_LEN];
	json_t *v = json_object_get(obj, key);

	*r = 0;
	if (!v && required)
		*r = bad_at(e, join(sub, path, key), "missing");
	else if (v && !json_is_object(v))
		*r = bad_at(e, join(sub, path, key), "must be an object");
	return *r < 0 ? NULL : v;
}

/* Each element of array v (already checked to be an array) must be an
   object with these fields. */
static int objects(json_t *v, const char *path, const struct field *f, size_t n, struct ember_error *e)
{
	char sub[PATH_MAX_LEN];
	size_t i;
	json_t *x;
	int r;

	json_array_foreach(v, i, x) {
		if (!json_is_object(x))
			return bad_at(e, index_of(sub, path, i), "must be an object");
		if ((r = fields(x, index_of(sub, path, i), f, n, e)) < 0)
			return r;
	}
	return 0;
}

/* Fields of the runtime spec ember knows and does not do: refused by
   name (never ignored), why said once for all. */
static int refuse_fields(json_t *obj, const char *path, const char *const *keys, size_t n, const char *why,
			 struct ember_error *e)
{
	char sub[PATH_MAX_LEN];

	for (size_t i = 0; i < n; i++)
		if (json_object_get(obj, keys[i]))
			return rt_unsupported(e, "spec: %s: %s", join(sub, path, keys[i]), why);
	return 0;
}

/* A non-empty string field that asks for something ember cannot give. */
static int refuse_nonempty(json_t *obj, const char *path, const char *key, const char *why, struct ember_error *e)
{
	char sub[PATH_MAX_LEN];
	const char *v = json_string_value(json_object_get(obj, key));

	return v && *v ? rt_unsupported(e, "spec: %s: %s", join(sub, path, key), why) : 0;
}

/* ---- ociVersion ---- */

static int digits(const char **p)
{
	size_t n = strspn(*p, "0123456789");

	if (n == 0 || (n > 1 && **p == '0'))
		return 0;
	*p += n;
	return 1;
}

static int check_version(json_t *spec, struct ember_error *e)
{
	char q[RT_QUOTE_MAX];
	json_t *v = json_object_get(spec, "ociVersion");
	const char *s = json_string_value(v), *p = s;

	if (!v)
		return bad_at(e, "ociVersion", "missing");
	if (!s)
		return bad_at(e, "ociVersion", "must be a string");
	/* SemVer: MAJOR.MINOR.PATCH[-pre][+build]. */
	int ok = digits(&p) && *p++ == '.' && digits(&p) && *p++ == '.' && digits(&p) &&
		 (!*p || ((*p == '-' || *p == '+') && p[1] &&
			  strspn(p + 1, "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz.+-") ==
				  strlen(p + 1)));
	if (!ok)
		return bad_at(e, "ociVersion", "\"%s\" is not a SemVer version", rt_quote(s, q));
	if (strncmp(s, "1.", 2) != 0)
		return bad_at(e, "ociVersion", "\"%s\": ember runs 1.x specs", rt_quote(s, q));
	return 0;
}

/* ---- root ---- */

static int check_root(json_t *spec, struct ember_error *e)
{
	static const struct field f[] = { { "path", F_STRING, REQ }, { "readonly", F_BOOL, 0 } };
	char q[RT_QUOTE_MAX];
	int r;

	json_t *root = object_at(spec, "", "root", 1, &r, e);
	if (r < 0 || (r = fields(root, "root", f, ARRAY_SIZE(f), e)) < 0)
		return r;
	const char *path = json_string_value(json_object_get(root, "path"));
	if (!*path)
		return bad_at(e, "root.path", "empty");
	if (rt_path_has_dotdot(path))
		return bad_at(e, "root.path", "\"%s\" must not have a \"..\" component", rt_quote(path, q));
	return 0;
}

/* ---- process ---- */

static const struct {
	const char *name;
	int resource;
} rlimit_types[] = {
	{ "RLIMIT_AS", RLIMIT_AS },         { "RLIMIT_CORE", RLIMIT_CORE },
	{ "RLIMIT_CPU", RLIMIT_CPU },       { "RLIMIT_DATA", RLIMIT_DATA },
	{ "RLIMIT_FSIZE", RLIMIT_FSIZE },   { "RLIMIT_LOCKS", RLIMIT_LOCKS },
	{ "RLIMIT_MEMLOCK", RLIMIT_MEMLOCK }, { "RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE },
	{ "RLIMIT_NICE", RLIMIT_NICE },     { "RLIMIT_NOFILE", RLIMIT_NOFILE },
	{ "RLIMIT_NPROC", RLIMIT_NPROC },   { "RLIMIT_RSS", RLIMIT_RSS },
	{ "RLIMIT_RTPRIO", RLIMIT_RTPRIO }, { "RLIMIT_RTTIME", RLIMIT_RTTIME },
	{ "RLIMIT_SIGPENDING", RLIMIT_SIGPENDING }, { "RLIMIT_STACK", RLIMIT_STACK },
};

int rt_rlimit_lookup(const char *name)
{
	for (size_t t = 0; name && t < ARRAY_SIZE(rlimit_types); t++)
		if (!strcmp(name, rlimit_types[t].name))
			return rlimit_types[t].resource;
	return -1;
}

static int check_rlimits(json_t *rlimits, struct ember_error *e)
{
	static const struct field f[] = { { "type", F_STRING, REQ }, { "soft", F_UINT, REQ }, { "hard", F_UINT, REQ } };
	char sub[PATH_MAX_LEN], q[RT_QUOTE_MAX];
	unsigned seen = 0;
	size_t i;
	json_t *x;
	int r;

	if ((r = objects(rlimits, "process.rlimits", f, ARRAY_SIZE(f), e)) < 0)
		return r;
	json_array_foreach(rlimits, i, x) {
		const char *type = json_string_value(json_object_get(x, "type"));
		size_t t = 0;
		while (t < ARRAY_SIZE(rlimit_types) && strcmp(type, rlimit_types[t].name) != 0)
			t++;
		index_of(sub, "process.rlimits", i);
		if (t == ARRAY_SIZE(rlimit_types))
			return bad_at(e, sub, "unknown type \"%s\"", rt_quote(type, q));
		if (seen & (1u << t))
			return bad_at(e, sub, "%s is set twice", type);
		seen |= 1u << t;
		if (json_integer_value(json_object_get(x, "soft")) > json_integer_value(json_object_get(x, "hard")))
			return bad_at(e, sub, "soft is above hard");
	}
	return 0;
}

static int check_capabilities(json_t *caps, struct ember_error *e)
{
	static const char *const sets[] = { "bounding", "effective", "inheritable", "permitted", "ambient" };
	char sub[PATH_MAX_LEN], path[PATH_MAX_LEN], q[RT_QUOTE_MAX];
	size_t i;
	json_t *x;

	for (size_t s = 0; s < ARRAY_SIZE(sets); s++) {
		json_t *v = json_object_get(caps, sets[s]);
		join(path, "process.capabilities", sets[s]);
		if (!v)
			continue;
		if (!type_ok(v, F_STRINGS))
			return bad_at(e, path, "must be an array of capability names");
		json_array_foreach(v, i, x) {
			const char *name = json_string_value(x);
			if (rt_cap_lookup(name, 1) < 0)
				return bad_at(e, index_of(sub, path, i), "unknown capability \"%s\"", rt_quote(name, q));
		}
	}
	return 0;
}

/* ioprio_set(2)'s classes, by name. */
static const char *const ioprio_classes[] = { "IOPRIO_CLASS_RT", "IOPRIO_CLASS_BE", "IOPRIO_CLASS_IDLE" };

int rt_ioprio_class(const char *name)
{
	for (size_t i = 0; name && i < ARRAY_SIZE(ioprio_classes); i++)
		if (!strcmp(name, ioprio_classes[i]))
			return (int)i + 1;
	return -1;
}

static int check_io_priority(json_t *io, struct ember_error *e)
{
	static const struct field f[] = { { "class", F_STRING, REQ }, { "priority", F_INT, 0 } };
	char q[RT_QUOTE_MAX];
	int r;

	if ((r = fields(io, "process.ioPriority", f, ARRAY_SIZE(f), e)) < 0)
		return r;
	const char *class = json_string_value(json_object_get(io, "class"));
	if (rt_ioprio_class(class) < 0)
		return bad_at(e, "process.ioPriority.class", "unknown class \"%s\" (IOPRIO_CLASS_RT, _BE or _IDLE)",
			      rt_quote(class, q));
	json_t *prio = json_object_get(io, "priority");
	if (prio && !int_in(prio, 0, 7))
		return bad_at(e, "process.ioPriority.priority", "must be 0 .. 7");
	return 0;
}

static int check_process(json_t *spec, struct ember_error *e)
{
	static const struct field f[] = {
		{ "terminal", F_BOOL, 0 }, { "consoleSize", F_OBJECT, 0 }, { "cwd", F_STRING, REQ },
		{ "env", F_STRINGS, 0 }, { "rlimits", F_ARRAY, 0 }, { "noNewPrivileges", F_BOOL, 0 },
		{ "oomScoreAdj", F_INT, 0 }, { "apparmorProfile", F_STRING, 0 }, { "selinuxLabel", F_STRING, 0 },
	};
	static const struct field console[] = { { "height", F_UINT, REQ }, { "width", F_UINT, REQ } };
	static const struct field user[] = {
		{ "uid", F_ID, REQ }, { "gid", F_ID, REQ }, { "umask", F_UINT, 0 }, { "additionalGids", F_IDS, 0 },
	};
	char sub[PATH_MAX_LEN], q[RT_QUOTE_MAX];
	size_t i;
	json_t *x, *o;
	int r;

	json_t *p = object_at(spec, "", "process", 1, &r, e);
	if (r < 0)
		return r;
	json_t *args = json_object_get(p, "args");
	if (!type_ok(args, F_STRINGS) || json_array_size(args) == 0)
		return bad_at(e, "process.args", "must be a non-empty array of strings");
	if (!*json_string_value(json_array_get(args, 0)))
		return bad_at(e, "process.args[0]", "the executable is empty");
	if ((r = fields(p, "process", f, ARRAY_SIZE(f), e)) < 0)
		return r;

	const char *cwd = json_string_value(json_object_get(p, "cwd"));
	if (!rt_path_absolute(cwd))
		return bad_at(e, "process.cwd", "\"%s\" must be an absolute path", rt_quote(cwd, q));
	json_array_foreach(json_object_get(p, "env"), i, x) {
		const char *s = json_string_value(x);
		if (s[0] == '=' || !strchr(s, '='))
			return bad_at(e, index_of(sub, "process.env", i), "\"%s\" is not KEY=value", rt_quote(s, q));
	}
	if ((o = json_object_get(p, "consoleSize")) && (r = fields(o, "process.consoleSize", console, 2, e)) < 0)
		return r;
	if ((o = object_at(p, "process", "user", 0, &r, e)) &&
	    (r = fields(o, "process.user", user, ARRAY_SIZE(user), e)) < 0)
		return r;
	if (r < 0)
		return r;
	if (o && json_object_get(o, "umask") && json_integer_value(json_object_get(o, "umask")) > 0777)
		return bad_at(e, "process.user.umask", "must be 0 .. 0777");
	if ((o = json_object_get(p, "rlimits")) && (r = check_rlimits(o, e)) < 0)
		return r;
	if ((o = object_at(p, "process", "capabilities", 0, &r, e)) && (r = check_capabilities(o, e)) < 0)
		return r;
	if (r < 0)
		return r;
	if ((o = json_object_get(p, "oomScoreAdj")) && !int_in(o, -1000, 1000))
		return bad_at(e, "process.oomScoreAdj", "must be -1000 .. 1000");
	if ((o = object_at(p, "process", "ioPriority", 0, &r, e)) && (r = check_io_priority(o, e)) < 0)
		return r;
	if (r < 0)
		return r;
	static const char *const refused[] = { "scheduler", "execCPUAffinity" };
	if ((r = refuse_fields(p, "process", refused, ARRAY_SIZE(refused), "not supported by ember", e)) < 0 ||
	    (r = refuse_nonempty(p, "process", "apparmorProfile", "ember applies no AppArmor profile", e)) < 0 ||
	    (r = refuse_nonempty(p, "process", "selinuxLabel", "ember sets no SELinux label", e)) < 0)
		return r;
	return 0;
}

/* ---- mounts ---- */

/* A mount's uidMappings and gidMappings (an idmapped mount, 1.1): both or
   neither. */
static int mount_idmaps_check(const char *what, json_t *m, int *have, struct ember_error *e)
{
	static const char *const keys[] = { "uidMappings", "gidMappings" };
	json_t *maps[2];

	for (size_t k = 0; k < 2; k++) {
		maps[k] = json_object_get(m, keys[k]);
		size_t i;
		json_t *x;
		if (!maps[k])
			continue;
		if (!json_is_array(maps[k]) || json_array_size(maps[k]) == 0 || json_array_size(maps[k]) > RT_IDMAP_MAX)
			return rt_bad(e, "%s.%s: must be an array of 1 .. %d mappings", what, keys[k], RT_IDMAP_MAX);
		json_array_foreach(maps[k], i, x) {
			json_t *c = json_object_get(x, "containerID"), *h = json_object_get(x, "hostID");
			json_t *n = json_object_get(x, "size");
			if (!int_in(c, 0, UINT32_MAX) || !int_in(h, 0, UINT32_MAX) || !int_in(n, 1, UINT32_MAX) ||
			    json_integer_value(c) + json_integer_value(n) > (json_int_t)UINT32_MAX ||
			    json_integer_value(h) + json_integer_value(n) > (json_int_t)UINT32_MAX)
				return rt_bad(e, "%s.%s[%zu]: want containerID, hostID and size, a range below 2^32-1", what,
					      keys[k], i);
		}
	}
	if (!maps[0] != !maps[1])
		return rt_bad(e, "%s.%s: an idmapped mount needs %s too", what, keys[maps[0] ? 0 : 1], keys[maps[0] ? 1 : 0]);
	*have = maps[0] != NULL;
	return 0;
}

/* Options: what a bind mount cannot take (the file system's own options
   and flags, which a bind ignores) is refused, not passed on to nothing. */
static int mount_options_check(const char *what, json_t *m, int bind, struct ember_error *e)
{
	static const char *const sb_flags[] = { "sync", "dirsync", "mand", "lazytime", "iversion", "silent" };
	char q[RT_QUOTE_MAX];
	struct mount_options mo;
	json_t *x;
	size_t i;
	int maps = 0, r;

	if ((r = mount_idmaps_check(what, m, &maps, e)) < 0)
		return r;
	if ((r = mount_options_parse(json_object_get(m, "options"), &mo, what, e)) < 0)
		return r;
	json_array_foreach(json_object_get(m, "options"), i, x) {
		const char *o = json_string_value(x);
		if (!strcmp(o, "tmpcopyup"))
			return rt_unsupported(e, "%s.options: \"tmpcopyup\" is not supported by ember", what);
		for (size_t k = 0; bind && k < ARRAY_SIZE(sb_flags); k++)
			if (!strcmp(o, sb_flags[k]))
				return rt_unsupported(e, "%s.options: \"%s\" is the file system's, which a bind mount does not set",
						      what, o);
	}
	if (bind && mo.data[0])
		return rt_unsupported(e, "%s.options: \"%s\": a bind mount takes no file system options", what,
				      rt_quote(mo.data, q));
	if ((mo.idmap || maps) && !bind)
		return rt_unsupported(e, "%s: an idmapped mount (idmap, uidMappings) must be a bind mount", what);
	if (mo.idmap && !maps)
		return rt_unsupported(e, "%s.options: %s without the mount's uidMappings and gidMappings (ember does not "
					 "take the container's)", what, mo.idmap == 2 ? "ridmap" : "idmap");
	return 0;
}

int rt_mount_check(const char *what, json_t *m, struct ember_error *e)
{
	char q[RT_QUOTE_MAX];
	size_t i;
	json_t *x;

	if (!json_is_object(m))
		return rt_bad(e, "%s: must be an object", what);
	json_t *dst = json_object_get(m, "destination");
	if (!dst)
		return rt_bad(e, "%s.destination: missing", what);
	if (!json_is_string(dst))
		return rt_bad(e, "%s.destination: must be a string", what);
	if (!rt_path_absolute(json_string_value(dst)))
		return rt_bad(e, "%s.destination: \"%s\" must be an absolute path", what,
			      rt_quote(json_string_value(dst), q));
	if (rt_path_has_dotdot(json_string_value(dst)))
		return rt_bad(e, "%s.destination: \"%s\" must not have a \"..\" component", what,
			      rt_quote(json_string_value(dst), q));
	json_t *type = json_object_get(m, "type"), *src = json_object_get(m, "source");
	json_t *opts = json_object_get(m, "options");
	if (type && !json_is_string(type))
		return rt_bad(e, "%s.type: must be a string", what);
	if (src && !json_is_string(src))
		return rt_bad(e, "%s.source: must be a string", what);
	if (opts && !type_ok(opts, F_STRINGS))
		return rt_bad(e, "%s.options: must be an array of strings", what);
	int bind = type && strcmp(json_string_value(type), "bind") == 0;
	json_array_foreach(opts, i, x)
		bind |= strcmp(json_string_value(x), "bind") == 0 || strcmp(json_string_value(x), "rbind") == 0;
	if (bind && (!src || !*json_string_value(src)))
		return rt_bad(e, "%s.source: a bind mount needs a source", what);
	return mount_options_check(what, m, bind, e);
}

static int check_mounts(json_t *spec, struct ember_error *e)
{
	char sub[PATH_MAX_LEN], what[PATH_MAX_LEN + 8];
	json_t *mounts = json_object_get(spec, "mounts"), *m;
	size_t i;
	int r;

	if (!mounts)
		return 0;
	if (!json_is_array(mounts))
		return bad_at(e, "mounts", "must be an array");
	json_array_foreach(mounts, i, m) {
		if (snprintf(what, sizeof(what), "spec: %s", index_of(sub, "mounts", i)) < 0)
			what[0] = '\0';
		if ((r = rt_mount_check(what, m, e)) < 0)
			return r;
	}
	return 0;
}

/* ---- linux ---- */

static const char *const ns_types[] = { "pid", "network", "mount", "ipc", "uts", "user", "cgroup", "time" };

/* Which namespace types the spec has (bit i: ns_types[i]). */
static int check_namespaces(json_t *lx, unsigned *have, struct ember_error *e)
{
	static const struct field f[] = { { "type", F_STRING, REQ }, { "path", F_STRING, 0 } };
	char sub[PATH_MAX_LEN], q[RT_QUOTE_MAX];
	json_t *v = json_object_get(lx, "namespaces"), *x;
	size_t i;
	int r;

	*have = 0;
	if (!v)
		return 0;
	if (!json_is_array(v))
		return bad_at(e, "linux.namespaces", "must be an array");
	if ((r = objects(v, "linux.namespaces", f, ARRAY_SIZE(f), e)) < 0)
		return r;
	json_array_foreach(v, i, x) {
		const char *type = json_string_value(json_object_get(x, "type"));
		size_t t = 0;
		while (t < ARRAY_SIZE(ns_types) && strcmp(type, ns_types[t]) != 0)
			t++;
		index_of(sub, "linux.namespaces", i);
		if (t == ARRAY_SIZE(ns_types))
			return bad_at(e, sub, "unknown type \"%s\"", rt_quote(type, q));
		if (*have & (1u << t))
			return bad_at(e, sub, "%s is listed twice", type);
		*have |= 1u << t;
		json_t *path = json_object_get(x, "path");
		if (path && !is_abs(path))
			return bad_at(e, sub, "path \"%s\" must be an absolute path", rt_quote(json_string_value(path), q));
	}
	return 0;
}

/* A new user namespace needs both maps (which the kernel takes at most
   340 lines of); maps without one mean nothing. One joined by path has
   its own: both may be given only as those (the executor compares them,
   as runc does: containerd and CRI-O write them so), or neither. */
static int check_idmaps(json_t *lx, struct ember_error *e)
{
	static const char *const keys[] = { "uidMappings", "gidMappings" };
	json_t *x, *userns = NULL;
	size_t i;

	json_array_foreach(json_object_get(lx, "namespaces"), i, x)
		if (!strcmp(json_string_value(json_object_get(x, "type")), "user"))
			userns = x;
	int joined = userns && json_object_get(userns, "path");
	if (joined && !json_array_size(json_object_get(lx, "uidMappings")) != !json_array_size(json_object_get(lx, "gidMappings")))
		return bad_at(e, "linux.namespaces", "a user namespace joined by path takes both maps (its own) or neither");
	for (i = 0; i < ARRAY_SIZE(keys); i++) {
		char sub[PATH_MAX_LEN];
		json_t *maps = json_object_get(lx, keys[i]), *m;
		size_t n = json_array_size(maps), k;
		snprintf(sub, sizeof(sub), "linux.%s", keys[i]);
		if (!userns) {
			if (n)
				return bad_at(e, sub, "only with a new user namespace");
			continue;
		}
		if (!n && !joined)
			return bad_at(e, sub, "a new user namespace needs one");
		if (n > RT_IDMAP_MAX)
			return bad_at(e, sub, "more than %d", RT_IDMAP_MAX);
		json_array_foreach(maps, k, m) {
			json_int_t c = json_integer_value(json_object_get(m, "containerID"));
			json_int_t h = json_integer_value(json_object_get(m, "hostID"));
			json_int_t sz = json_integer_value(json_object_get(m, "size"));
			if (sz == 0 || c + sz > (json_int_t)UINT32_MAX || h + sz > (json_int_t)UINT32_MAX) {
				index_of(sub, keys[i][0] == 'u' ? "linux.uidMappings" : "linux.gidMappings", k);
				return bad_at(e, sub, "the range is empty or passes 2^32-1");
			}
		}
	}
	return 0;
}

static int check_resources(json_t *res, struct ember_error *e)
{
	static const struct field memory[] = {
		{ "limit", F_INT, 0 }, { "reservation", F_INT, 0 }, { "swap", F_INT, 0 }, { "kernel", F_INT, 0 },
		{ "kernelTCP", F_INT, 0 }, { "swappiness", F_UINT, 0 }, { "disableOOMKiller", F_BOOL, 0 },
	};
	static const struct field cpu[] = {
		{ "shares", F_UINT, 0 }, { "quota", F_INT, 0 }, { "period", F_UINT, 0 },
		{ "realtimeRuntime", F_INT, 0 }, { "realtimePeriod", F_UINT, 0 }, { "cpus", F_STRING, 0 },
		{ "mems", F_STRING, 0 },
	};
	static const struct field pids[] = { { "limit", F_INT, REQ } };
	static const struct field device[] = {
		{ "allow", F_BOOL, REQ }, { "type", F_STRING, 0 }, { "major", F_INT, 0 }, { "minor", F_INT, 0 },
		{ "access", F_STRING, 0 },
	};
	static const struct {
		const char *key;
		const struct field *f;
		size_t n;
	} parts[] = { { "memory", memory, ARRAY_SIZE(memory) }, { "cpu", cpu, ARRAY_SIZE(cpu) },
		      { "pids", pids, ARRAY_SIZE(pids) } };
	char sub[PATH_MAX_LEN];
	json_t *v;
	int r;

	for (size_t i = 0; i < ARRAY_SIZE(parts); i++) {
		json_t *o = object_at(res, "linux.resources", parts[i].key, 0, &r, e);
		if (r < 0 || (o && (r = fields(o, join(sub, "linux.resources", parts[i].key), parts[i].f, parts[i].n, e)) < 0))
			return r;
	}
	if ((v = json_object_get(res, "devices"))) {
		if (!json_is_array(v))
			return bad_at(e, "linux.resources.devices", "must be an array");
		return objects(v, "linux.resources.devices", device, ARRAY_SIZE(device), e);
	}
	return 0;
}

int rt_personality_domain(const char *name)
{
	return !name ? -1 : !strcmp(name, "LINUX") ? 0x0000 : !strcmp(name, "LINUX32") ? 0x0008 : -1;
}

static int check_personality(json_t *pers, struct ember_error *e)
{
	static const struct field f[] = { { "domain", F_STRING, REQ }, { "flags", F_STRINGS, 0 } };
	char q[RT_QUOTE_MAX];
	int r;

	if ((r = fields(pers, "linux.personality", f, ARRAY_SIZE(f), e)) < 0)
		return r;
	const char *domain = json_string_value(json_object_get(pers, "domain"));
	if (rt_personality_domain(domain) < 0)
		return bad_at(e, "linux.personality.domain", "unknown domain \"%s\" (LINUX or LINUX32)", rt_quote(domain, q));
	/* The spec defines none yet. */
	json_t *flag = json_array_get(json_object_get(pers, "flags"), 0);
	if (flag)
		return rt_unsupported(e, "spec: linux.personality.flags: \"%s\" is not supported by ember",
				      rt_quote(json_string_value(flag), q));
	return 0;
}

/* time_namespaces(7)'s clocks, in the order /proc/PID/timens_offsets names
   them. */
const char *const rt_time_clocks[RT_TIME_CLOCKS] = { "monotonic", "boottime" };

static int check_time_offsets(json_t *offs, unsigned have_ns, int time_joined, struct ember_error *e)
{
	static const struct field f[] = { { "secs", F_INT, 0 }, { "nanosecs", F_UINT, 0 } };
	char sub[PATH_MAX_LEN], q[RT_QUOTE_MAX];
	const char *key;
	json_t *v;
	int r;

	if (!(have_ns & (1u << 7)) || time_joined)
		return bad_at(e, "linux.timeOffsets", "only with a new time namespace (linux.namespaces, without a path)");
	json_object_foreach(offs, key, v) {
		size_t k = 0;
		while (k < RT_TIME_CLOCKS && strcmp(key, rt_time_clocks[k]) != 0)
			k++;
		if (k == RT_TIME_CLOCKS)
			return bad_at(e, "linux.timeOffsets", "unknown clock \"%s\" (monotonic or boottime)", rt_quote(key, q));
		join(sub, "linux.timeOffsets", key);
		if (!json_is_object(v))
			return bad_at(e, sub, "must be an object");
		if ((r = fields(v, sub, f, ARRAY_SIZE(f), e)) < 0)
			return r;
		json_t *ns = json_object_get(v, "nanosecs");
		if (ns && json_integer_value(ns) > 999999999)
			return bad_at(e, sub, "nanosecs must be 0 .. 999999999");
		/* The kernel takes offsets of up to about 146 years either way. */
		json_t *secs = json_object_get(v, "secs");
		if (secs && !int_in(secs, -(1LL << 32), 1LL << 32))
			return bad_at(e, sub, "secs must be -2^32 .. 2^32");
	}
	return 0;
}

/* A sysctl is written in the container's /proc/sys, which is the host's
   for every key no namespace of the container's own holds: refused then,
   as runc does (vm.*, kernel.*: the host's). */
static int check_sysctl(json_t *sysctl, unsigned have_ns, struct ember_error *e)
{
	static const char *const ipc[] = { "kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem",
					   "kernel.shmall", "kernel.shmmax", "kernel.shmmni", "kernel.shm_rmid_forced" };
	char sub[PATH_MAX_LEN], q[RT_QUOTE_MAX];
	const char *key;
	json_t *v;

	json_object_foreach(sysctl, key, v) {
		unsigned ns = 0; /* bit of ns_types[] that holds it */
		for (size_t i = 0; i < ARRAY_SIZE(ipc); i++)
			if (!strcmp(key, ipc[i]))
				ns = 1u << 3;
		if (!strncmp(key, "fs.mqueue.", 10))
			ns = 1u << 3;
		else if (!strncmp(key, "net.", 4))
			ns = 1u << 1;
		else if (!strcmp(key, "kernel.hostname") || !strcmp(key, "kernel.domainname"))
			ns = 1u << 4;
		snprintf(sub, sizeof(sub), "linux.sysctl[\"%s\"]", rt_quote(key, q));
		if (!*key || strchr(key, '/') || strstr(key, ".."))
			return bad_at(e, sub, "not a sysctl name");
		if (!ns)
			return rt_unsupported(e, "spec: %s: not in a namespace of the container's (it would set the host's)", sub);
		/* One joined by path is taken as the container's. */
		if (!(have_ns & ns))
			return bad_at(e, sub, "needs the container's own %s namespace", ns == 2 ? "network" : ns == 8 ? "ipc" : "uts");
	}
	return 0;
}

/* linux.devices: nodes of a kind mknod makes, with a mode of permissions. */
static int check_devices(json_t *list, struct ember_error *e)
{
	char sub[PATH_MAX_LEN], q[RT_QUOTE_MAX];
	size_t i;
	json_t *d;

	json_array_foreach(list, i, d) {
		const char *type = json_string_value(json_object_get(d, "type"));
		index_of(sub, "linux.devices", i);
		if (strcmp(type, "c") && strcmp(type, "b") && strcmp(type, "u") && strcmp(type, "p"))
			return bad_at(e, sub, "type \"%s\": want c, b, u or p", rt_quote(type, q));
		json_t *major = json_object_get(d, "major"), *minor = json_object_get(d, "minor");
		if (type[0] != 'p' && (!int_in(major, 0, 4095) || !int_in(minor, 0, 1048575)))
			return bad_at(e, sub, "a %s device needs major (0 .. 4095) and minor (0 .. 1048575)",
				      type[0] == 'b' ? "block" : "character");
		json_t *mode = json_object_get(d, "fileMode");
		if (mode && json_integer_value(mode) > 07777)
			return bad_at(e, sub, "fileMode must be permissions, 0 .. 07777");
		if (!strcmp(json_string_value(json_object_get(d, "path")), "/dev"))
			return bad_at(e, sub, "path \"/dev\" is the directory of the nodes");
	}
	return 0;
}

/* The fields of linux that are more than types. */
static int check_linux_more(json_t *lx, unsigned have_ns, struct ember_error *e)
{
	static const char *const props[] = { "private", "rprivate", "slave", "rslave", "shared", "rshared",
					     "unbindable", "runbindable" };
	static const char *const refused[] = { "intelRdt", "memoryPolicy", "netDevices" };
	char q[RT_QUOTE_MAX];
	json_t *v, *x;
	size_t i;
	int r, time_joined = 0;

	if ((r = refuse_fields(lx, "linux", refused, ARRAY_SIZE(refused), "not supported by ember", e)) < 0 ||
	    (r = refuse_nonempty(lx, "linux", "mountLabel", "ember sets no SELinux label", e)) < 0)
		return r;
	const char *rp = json_string_value(json_object_get(lx, "rootfsPropagation"));
	for (i = 0; rp && i < ARRAY_SIZE(props) && strcmp(rp, props[i]) != 0;)
		i++;
	if (rp && i == ARRAY_SIZE(props))
		return bad_at(e, "linux.rootfsPropagation", "unknown propagation \"%s\"", rt_quote(rp, q));
	if ((v = object_at(lx, "linux", "personality", 0, &r, e)) && (r = check_personality(v, e)) < 0)
		return r;
	if (r < 0)
		return r;
	json_array_foreach(json_object_get(lx, "namespaces"), i, x)
		time_joined |= !strcmp(json_string_value(json_object_get(x, "type")), "time") &&
			       json_object_get(x, "path") != NULL;
	if ((r = check_sysctl(json_object_get(lx, "sysctl"), have_ns, e)) < 0 ||
	    (r = check_devices(json_object_get(lx, "devices"), e)) < 0)
		return r;
	if ((v = object_at(lx, "linux", "timeOffsets", 0, &r, e)) && (r = check_time_offsets(v, have_ns, time_joined, e)) < 0)
		return r;
	if (r < 0)
		return r;
	if ((v = json_object_get(lx, "seccomp"))) {
		static const struct field f[] = { { "defaultErrnoRet", F_UINT32, 0 }, { "flags", F_STRINGS, 0 },
						  { "listenerPath", F_STRING, 0 }, { "listenerMetadata", F_STRING, 0 } };
		if ((r = fields(v, "linux.seccomp", f, ARRAY_SIZE(f), e)) < 0 ||
		    (r = refuse_nonempty(v, "linux.seccomp", "listenerPath", "ember runs no seccomp agent (SCMP_ACT_NOTIFY)", e)) < 0 ||
		    (r = refuse_nonempty(v, "linux.seccomp", "listenerMetadata", "ember runs no seccomp agent (SCMP_ACT_NOTIFY)", e)) < 0)
			return r;
	}
	return 0;
}

static int check_linux(json_t *spec, unsigned *have_ns, struct ember_error *e)
{
	static const struct field f[] = {
		{ "uidMappings", F_ARRAY, 0 }, { "gidMappings", F_ARRAY, 0 }, { "sysctl", F_STRMAP, 0 },
		{ "resources", F_OBJECT, 0 }, { "cgroupsPath", F_STRING, 0 }, { "maskedPaths", F_ABSLIST, 0 },
		{ "readonlyPaths", F_ABSLIST, 0 }, { "seccomp", F_OBJECT, 0 }, { "devices", F_ARRAY, 0 },
		{ "rootfsPropagation", F_STRING, 0 }, { "mountLabel", F_STRING, 0 },
	};
	static const struct field idmap[] = {
		{ "containerID", F_UINT32, REQ }, { "hostID", F_UINT32, REQ }, { "size", F_UINT32, REQ },
	};
	static const struct field device[] = {
		{ "path", F_ABS, REQ }, { "type", F_STRING, REQ }, { "major", F_INT, 0 }, { "minor", F_INT, 0 },
		{ "fileMode", F_UINT, 0 }, { "uid", F_ID, 0 }, { "gid", F_ID, 0 },
	};
	static const struct field seccomp[] = {
		{ "defaultAction", F_STRING, REQ }, { "architectures", F_STRINGS, 0 }, { "syscalls", F_ARRAY, 0 },
	};
	static const struct field syscall[] = { { "names", F_STRINGS, REQ }, { "action", F_STRING, REQ } };
	json_t *v;
	int r;

	*have_ns = 0;
	json_t *lx = object_at(spec, "", "linux", 0, &r, e);
	if (r < 0)
		return r;
	if (lx) {
		if ((r = check_namespaces(lx, have_ns, e)) < 0 || (r = fields(lx, "linux", f, ARRAY_SIZE(f), e)) < 0)
			return r;
		if ((v = json_object_get(lx, "uidMappings")) && (r = objects(v, "linux.uidMappings", idmap, 3, e)) < 0)
			return r;
		if ((v = json_object_get(lx, "gidMappings")) && (r = objects(v, "linux.gidMappings", idmap, 3, e)) < 0)
			return r;
		if ((v = json_object_get(lx, "devices")) &&
		    (r = objects(v, "linux.devices", device, ARRAY_SIZE(device), e)) < 0)
			return r;
		if ((v = json_object_get(lx, "resources")) && (r = check_resources(v, e)) < 0)
			return r;
		if ((v = json_object_get(lx, "seccomp"))) {
			if ((r = fields(v, "linux.seccomp", seccomp, ARRAY_SIZE(seccomp), e)) < 0)
				return r;
			json_t *sc = json_object_get(v, "syscalls");
			if (sc && (r = objects(sc, "linux.seccomp.syscalls", syscall, ARRAY_SIZE(syscall), e)) < 0)
				return r;
		}
	}
	if (lx && (r = check_linux_more(lx, *have_ns, e)) < 0)
		return r;
	/* ember's executor pivots into the rootfs: never in the host's mount
	   namespace. */
	if (!(*have_ns & (1u << 2)))
		return bad_at(e, "linux.namespaces", "ember needs a mount namespace");
	return check_idmaps(lx, e);
}

/* ---- the rest ---- */

static int check_hooks(json_t *spec, struct ember_error *e)
{
	char sub[PATH_MAX_LEN];
	const char *key;
	json_t *v;
	int r;

	json_t *hooks = object_at(spec, "", "hooks", 0, &r, e);
	if (r < 0)
		return r;
	json_object_foreach(hooks, key, v) {
		/* The key as the user wrote it may be anything: quoted then. */
		char q[RT_QUOTE_MAX];
		if (*key && strspn(key, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") == strlen(key))
			join(sub, "hooks", key);
		else
			snprintf(sub, sizeof(sub), "hooks[\"%s\"]", rt_quote(key, q));
		if (!json_is_array(v))
			return bad_at(e, sub, "must be an array");
		if (json_array_size(v) > 0)
			return rt_unsupported(e, "spec: %s: ember does not run hooks", sub);
	}
	return 0;
}

int runtime_spec_check(json_t *spec, struct ember_error *e)
{
	static const struct field top[] = { { "hostname", F_STRING, 0 }, { "domainname", F_STRING, 0 },
					    { "annotations", F_STRMAP, 0 } };
	unsigned have_ns;
	int r;

	if (!json_is_object(spec))
		return rt_bad(e, "spec: must be a JSON object");
	if ((r = check_version(spec, e)) < 0 || (r = check_root(spec, e)) < 0 || (r = check_process(spec, e)) < 0 ||
	    (r = check_mounts(spec, e)) < 0 || (r = fields(spec, "", top, ARRAY_SIZE(top), e)) < 0 ||
	    (r = check_hooks(spec, e)) < 0 || (r = check_linux(spec, &have_ns, e)) < 0)
		return r;
	const char *host = json_string_value(json_object_get(spec, "hostname"));
	if (host && strlen(host) > RUNTIME_HOSTNAME_MAX + 1)
		return bad_at(e, "hostname", "longer than %d bytes", RUNTIME_HOSTNAME_MAX + 1);
	if (host && *host && !(have_ns & (1u << 4)))
		return bad_at(e, "hostname", "needs a uts namespace (linux.namespaces)");
	const char *domain = json_string_value(json_object_get(spec, "domainname"));
	if (domain && strlen(domain) > RUNTIME_HOSTNAME_MAX + 1)
		return bad_at(e, "domainname", "longer than %d bytes", RUNTIME_HOSTNAME_MAX + 1);
	if (domain && *domain && !(have_ns & (1u << 4)))
		return bad_at(e, "domainname", "needs a uts namespace (linux.namespaces)");
	return 0;
}
