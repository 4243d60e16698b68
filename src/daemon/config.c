/* SPDX-License-Identifier: Apache-2.0 */
#include "daemon/config.h"

#include <errno.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "util/cleanup.h"
#include "util/toml.h"

static int replace_str(char **field, const char *value)
{
	char *s = strdup(value);

	if (!s)
		return -ENOMEM;
	free(*field);
	*field = s;
	return 0;
}

static void add_warning(struct daemon_config *cfg, const char *path, const char *key)
{
	size_t old = cfg->warnings ? strlen(cfg->warnings) : 0;
	size_t add = strlen(path) + strlen(key) + 48;
	char *w = realloc(cfg->warnings, old + add);

	if (!w)
		return;
	snprintf(w + old, add, "%s%s: unknown key \"%s\" ignored", old ? "\n" : "", path, key);
	cfg->warnings = w;
}

struct key {
	const char *name;
	int (*apply)(struct daemon_config *cfg, json_t *v, const char *path, const char *key,
		     struct ember_error *e);
};

static int want_string(json_t *v, const char *path, const char *key, struct ember_error *e)
{
	if (!json_is_string(v) || json_string_length(v) == 0)
		return err_set(e, EINVAL, "%s: \"%s\" must be a non-empty string", path, key);
	if (strlen(json_string_value(v)) != json_string_length(v))
		return err_set(e, EINVAL, "%s: \"%s\" holds a NUL byte", path, key);
	return 0;
}

static int want_path(json_t *v, const char *path, const char *key, struct ember_error *e)
{
	if (want_string(v, path, key, e) < 0)
		return -e->code;
	if (json_string_value(v)[0] != '/')
		return err_set(e, EINVAL, "%s: \"%s\" must be an absolute path, not \"%s\"", path, key,
			       json_string_value(v));
	return 0;
}

#define APPLY_PATH(field)                                                                     \
	static int apply_##field(struct daemon_config *cfg, json_t *v, const char *path,      \
				 const char *key, struct ember_error *e)                      \
	{                                                                                     \
		if (want_path(v, path, key, e) < 0)                                           \
			return -e->code;                                                      \
		if (replace_str(&cfg->field, json_string_value(v)) < 0)                        \
			return err_set(e, ENOMEM, "out of memory");                           \
		return 0;                                                                     \
	}

APPLY_PATH(root)
APPLY_PATH(state)
APPLY_PATH(address)
APPLY_PATH(certs_dir)
APPLY_PATH(docker_config)
APPLY_PATH(preload)

static int apply_stall_timeout(struct daemon_config *cfg, json_t *v, const char *path,
			       const char *key, struct ember_error *e)
{
	if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > 3600)
		return err_set(e, EINVAL, "%s: \"%s\" must be a number of seconds from 1 to 3600", path, key);
	cfg->stall_timeout_s = (long)json_integer_value(v);
	return 0;
}

static int apply_snapshotter(struct daemon_config *cfg, json_t *v, const char *path, const char *key,
			     struct ember_error *e)
{
	if (want_string(v, path, key, e) < 0)
		return -e->code;
	const char *name = json_string_value(v);
	if (!strcmp(name, "overlayfs"))
		name = "overlay";
	if (strcmp(name, "overlay") && strcmp(name, "native") && strcmp(name, "btrfs"))
		return err_set(e, EINVAL, "%s: \"%s\" must be \"overlay\", \"native\" or \"btrfs\"", path, key);
	if (replace_str(&cfg->snapshotter, name) < 0)
		return err_set(e, ENOMEM, "out of memory");
	return 0;
}

static int apply_subnet_pool(struct daemon_config *cfg, json_t *v, const char *path, const char *key,
			     struct ember_error *e)
{
	if (want_string(v, path, key, e) < 0)
		return -e->code;
	if (replace_str(&cfg->subnet_pool, json_string_value(v)) < 0)
		return err_set(e, ENOMEM, "out of memory");
	return 0;
}

static int apply_drop_blobs(struct daemon_config *cfg, json_t *v, const char *path, const char *key,
			    struct ember_error *e)
{
	if (!json_is_boolean(v))
		return err_set(e, EINVAL, "%s: \"%s\" must be true or false", path, key);
	cfg->drop_blobs = json_is_true(v);
	return 0;
}

/* ---- [verify] ------------------------------------------------------------------------ */

static void rule_done(struct verify_rule *r)
{
	for (char **k = r->keys; k && *k; k++)
		free(*k);
	free(r->keys);
	free(r->ns);
	memset(r, 0, sizeof(*r));
}

static int rule_apply(struct verify_rule *r, json_t *table, const char *path, const char *where,
		      struct ember_error *e)
{
	const char *name;
	json_t *v;

	json_object_foreach(table, name, v) {
		if (!strcmp(name, "policy")) {
			const char *m = json_string_value(v);
			if (m && !strcmp(m, "none"))
				r->mode = VERIFY_NONE;
			else if (m && !strcmp(m, "require"))
				r->mode = VERIFY_REQUIRE;
			else
				return err_set(e, EINVAL, "%s: \"%s.policy\" must be \"none\" or \"require\"", path, where);
		} else if (!strcmp(name, "keys")) {
			size_t i;
			json_t *k;
			if (!json_is_array(v))
				return err_set(e, EINVAL, "%s: \"%s.keys\" must be an array of key files", path, where);
			if (!(r->keys = calloc(json_array_size(v) + 1, sizeof(*r->keys))))
				return err_set(e, ENOMEM, "out of memory");
			json_array_foreach(v, i, k) {
				char what[160];
				snprintf(what, sizeof(what), "%s.keys[%zu]", where, i);
				if (want_path(k, path, what, e) < 0)
					return -e->code;
				if (!(r->keys[i] = strdup(json_string_value(k))))
					return err_set(e, ENOMEM, "out of memory");
			}
		} else if (r->ns || strcmp(name, "namespaces")) {
			char full[160];
			snprintf(full, sizeof(full), "%s.%s", where, name);
			return err_set(e, EINVAL, "%s: \"%s\": unknown key (policy, keys%s)", path, full,
				       r->ns ? "" : ", namespaces");
		}
	}
	return 0;
}

/* Unknown keys are errors here, not warnings: a misspelt "polcy" must not
   leave a device accepting unsigned images. */
static int apply_verify(struct daemon_config *cfg, json_t *v, const char *path, struct ember_error *e)
{
	const char *ns;
	json_t *t;

	if (!json_is_object(v))
		return err_set(e, EINVAL, "%s: \"verify\" must be a table", path);
	json_t *nss = json_object_get(v, "namespaces");
	if (nss && !json_is_object(nss))
		return err_set(e, EINVAL, "%s: \"verify.namespaces\" must be a table of namespaces", path);
	cfg->verify = calloc(1 + json_object_size(nss), sizeof(*cfg->verify));
	if (!cfg->verify)
		return err_set(e, ENOMEM, "out of memory");
	cfg->n_verify = 1;
	if (rule_apply(&cfg->verify[0], v, path, "verify", e) < 0)
		return -e->code;
	json_object_foreach(nss, ns, t) {
		char where[160];
		struct verify_rule *r = &cfg->verify[cfg->n_verify++];
		snprintf(where, sizeof(where), "verify.namespaces.%s", ns);
		if (!json_is_object(t))
			return err_set(e, EINVAL, "%s: \"%s\" must be a table", path, where);
		if (!(r->ns = strdup(ns)))
			return err_set(e, ENOMEM, "out of memory");
		if (rule_apply(r, t, path, where, e) < 0)
			return -e->code;
	}
	return 0;
}

/* ---- [gc] ---------------------------------------------------------------------------- */

/* "10%", "512M", "2GiB", "1.5G" or a number of bytes. */
static int parse_level(json_t *v, struct gc_level *l)
{
	char buf[64];

	if (json_is_integer(v)) {
		if (json_integer_value(v) < 0)
			return -1;
		*l = (struct gc_level){ (uint64_t)json_integer_value(v), 0 };
		return 0;
	}
	if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) >= sizeof(buf))
		return -1;
	snprintf(buf, sizeof(buf), "%s", json_string_value(v));
	char *end;
	errno = 0;
	double x = strtod(buf, &end);
	if (end == buf || errno || !(x >= 0) || buf[0] == '-' || buf[0] == '+' || buf[0] == ' ' ||
	    strspn(buf, "0123456789.") != (size_t)(end - buf))
		return -1;
	while (*end == ' ')
		end++;
	if (!strcmp(end, "%")) {
		if (x > 100)
			return -1;
		*l = (struct gc_level){ (uint64_t)x, 1 };
		return x == (double)(uint64_t)x ? 0 : -1;
	}
	static const char units[] = "bkmgt";
	const char *u = *end ? strchr(units, end[0] | 0x20) : units;
	if (!u || !*u)
		return -1;
	if (*end && end[1] && strcmp(end + 1, "B") && strcmp(end + 1, "iB") && strcmp(end + 1, "ib"))
		return -1;
	if (*end && (end[0] | 0x20) == 'b' && end[1])
		return -1;
	for (const char *k = units; k < u; k++)
		x *= 1024;
	if (x >= 18446744073709549568.0)
		return -1;
	*l = (struct gc_level){ (uint64_t)x, 0 };
	return 0;
}

static int apply_gc_level(struct gc_level *l, json_t *v, const char *path, const char *key, struct ember_error *e)
{
	char q[80];

	if (parse_level(v, l) < 0) {
		if (json_is_string(v))
			snprintf(q, sizeof(q), "\"%.64s\"", json_string_value(v));
		else
			snprintf(q, sizeof(q), "%s", json_is_integer(v) ? "a negative number" : "that");
		return err_set(e, EINVAL,
			       "%s: \"%s\" must be free space in bytes (\"512M\", \"2G\") or a share of the file system "
			       "(\"10%%\", 0 to 100), not %s",
			       path, key, q);
	}
	return 0;
}

static int apply_free_low(struct daemon_config *cfg, json_t *v, const char *path, const char *key,
			  struct ember_error *e)
{
	return apply_gc_level(&cfg->gc.free_low, v, path, key, e);
}

static int apply_free_high(struct daemon_config *cfg, json_t *v, const char *path, const char *key,
			   struct ember_error *e)
{
	return apply_gc_level(&cfg->gc.free_high, v, path, key, e);
}

static int want_range(json_t *v, long lo, long hi, long *out)
{
	if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi)
		return -1;
	*out = (long)json_integer_value(v);
	return 0;
}

static int apply_keep(struct daemon_config *cfg, json_t *v, const char *path, const char *key,
		      struct ember_error *e)
{
	if (want_range(v, 0, 10000, &cfg->gc.keep) < 0)
		return err_set(e, EINVAL, "%s: \"%s\" must be a number of images per repository from 0 (no limit) to 10000",
			       path, key);
	return 0;
}

static int apply_revisions_keep(struct daemon_config *cfg, json_t *v, const char *path, const char *key,
				struct ember_error *e)
{
	if (want_range(v, 0, 1000, &cfg->revisions_keep) < 0)
		return err_set(e, EINVAL, "%s: \"%s\" must be a number of old revisions from 0 to 1000", path, key);
	return 0;
}

static int apply_min_age(struct daemon_config *cfg, json_t *v, const char *path, const char *key,
			 struct ember_error *e)
{
	if (want_range(v, 0, 366L * 86400, &cfg->gc.min_age_s) < 0)
		return err_set(e, EINVAL, "%s: \"%s\" must be a number of seconds from 0 to 31622400", path, key);
	return 0;
}

static int apply_interval(struct daemon_config *cfg, json_t *v, const char *path, const char *key,
			  struct ember_error *e)
{
	if (want_range(v, 1, 86400, &cfg->gc.interval_s) < 0)
		return err_set(e, EINVAL, "%s: \"%s\" must be a number of seconds from 1 to 86400", path, key);
	return 0;
}

/* What one key cannot say alone. */
static int gc_check(const struct gc_policy *gc, const char *path, struct ember_error *e)
{
	char lo[32], hi[32];

	if (!!gc->free_low.n != !!gc->free_high.n)
		return err_set(e, EINVAL, "%s: \"gc.%s\" is set but \"gc.%s\" is not: give both watermarks, or neither",
			       path, gc->free_low.n ? "free_low" : "free_high", gc->free_low.n ? "free_high" : "free_low");
	if (gc->free_low.percent == gc->free_high.percent && gc->free_high.n < gc->free_low.n) {
		config_gc_level_format(&gc->free_low, lo, sizeof(lo));
		config_gc_level_format(&gc->free_high, hi, sizeof(hi));
		return err_set(e, EINVAL, "%s: \"gc.free_high\" (%s) must be at least \"gc.free_low\" (%s)", path, hi, lo);
	}
	return 0;
}

uint64_t config_gc_level_bytes(const struct gc_level *l, uint64_t size)
{
	if (!l->percent)
		return l->n;
	return (uint64_t)((long double)size * l->n / 100);
}

void config_gc_level_format(const struct gc_level *l, char *buf, size_t len)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	double x = (double)l->n;
	size_t u = 0;

	if (l->percent) {
		snprintf(buf, len, "%llu%%", (unsigned long long)l->n);
		return;
	}
	while (x >= 1024 && u + 1 < sizeof(units) / sizeof(units[0])) {
		x /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(buf, len, "%llu B", (unsigned long long)l->n);
	else
		snprintf(buf, len, "%.*f %s", x < 10 ? 1 : 0, x, units[u]);
}

static int apply_version(struct daemon_config *cfg, json_t *v, const char *path, const char *key,
			 struct ember_error *e)
{
	(void)cfg;
	if (!json_is_integer(v) || json_integer_value(v) != 1)
		return err_set(e, EINVAL, "%s: \"%s\" must be 1 (the only format this ember knows)", path, key);
	return 0;
}

static int apply_group(struct daemon_config *cfg, json_t *v, const char *path, const char *key,
		       struct ember_error *e)
{
	char num[32];
	const char *value;

	if (json_is_integer(v)) {
		if (json_integer_value(v) < 0 || json_integer_value(v) > 0x7fffffff)
			return err_set(e, EINVAL, "%s: \"%s\" is not a group id", path, key);
		snprintf(num, sizeof(num), "%lld", (long long)json_integer_value(v));
		value = num;
	} else {
		if (want_string(v, path, key, e) < 0)
			return -e->code;
		value = json_string_value(v);
	}
	if (replace_str(&cfg->group, value) < 0)
		return err_set(e, ENOMEM, "out of memory");
	return 0;
}

static int apply_level(struct daemon_config *cfg, json_t *v, const char *path, const char *key,
		       struct ember_error *e)
{
	if (want_string(v, path, key, e) < 0)
		return -e->code;
	if (log_level_parse(json_string_value(v), &cfg->level) < 0)
		return err_set(e, EINVAL, "%s: \"%s\": unknown level \"%s\" (debug, info, warn, error)",
			       path, key, json_string_value(v));
	return 0;
}

static int apply_log(struct daemon_config *cfg, json_t *v, const char *path, const char *key,
		     struct ember_error *e)
{
	if (want_string(v, path, key, e) < 0)
		return -e->code;
	if (!strcmp(json_string_value(v), "syslog"))
		cfg->use_syslog = 1;
	else if (!strcmp(json_string_value(v), "stderr"))
		cfg->use_syslog = 0;
	else
		return err_set(e, EINVAL, "%s: \"%s\" must be \"stderr\" or \"syslog\"", path, key);
	return 0;
}

static const struct key top_keys[] = {
	{ "version", apply_version }, { "root", apply_root }, { "state", apply_state }, { NULL, NULL },
};
static const struct key api_keys[] = {
	{ "address", apply_address }, { "group", apply_group }, { NULL, NULL },
};
static const struct key debug_keys[] = {
	{ "level", apply_level }, { "log", apply_log }, { NULL, NULL },
};
/* [registry.auths."host"]: docker config.json's "auths" entries, in TOML. */
static int apply_auths(struct daemon_config *cfg, json_t *v, const char *path, const char *key,
		       struct ember_error *e)
{
	const char *host;
	json_t *entry, *field;

	if (!json_is_object(v))
		return err_set(e, EINVAL, "%s: \"%s\" must be a table of registries", path, key);
	json_object_foreach(v, host, entry) {
		const char *name;
		if (!json_is_object(entry))
			return err_set(e, EINVAL, "%s: \"%s.%s\" must be a table", path, key, host);
		json_object_foreach(entry, name, field) {
			if (strcmp(name, "username") && strcmp(name, "password") && strcmp(name, "auth") &&
			    strcmp(name, "identitytoken"))
				return err_set(e, EINVAL,
					       "%s: \"%s.%s.%s\": unknown key (username, password, auth, identitytoken)",
					       path, key, host, name);
			if (!json_is_string(field))
				return err_set(e, EINVAL, "%s: \"%s.%s.%s\" must be a string", path, key, host, name);
		}
	}
	json_t *doc = json_pack("{s:O}", "auths", v);
	char *text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
	json_decref(doc);
	if (!text)
		return err_set(e, ENOMEM, "out of memory");
	free(cfg->auths);
	cfg->auths = text;
	return 0;
}

static const struct key registry_keys[] = {
	{ "auths", apply_auths },
	{ "config_path", apply_certs_dir },
	{ "docker_config", apply_docker_config },
	{ "stall_timeout", apply_stall_timeout },
	{ NULL, NULL },
};
static const struct key snapshots_keys[] = {
	{ "default", apply_snapshotter },
	{ "drop_blobs", apply_drop_blobs },
	{ NULL, NULL },
};
static const struct key network_keys[] = {
	{ "subnet_pool", apply_subnet_pool },
	{ NULL, NULL },
};
static const struct key gc_keys[] = {
	{ "free_high", apply_free_high },
	{ "free_low", apply_free_low },
	{ "interval", apply_interval },
	{ "keep", apply_keep },
	{ "min_age", apply_min_age },
	{ NULL, NULL },
};
static const struct key revisions_keys[] = {
	{ "keep", apply_revisions_keep },
	{ NULL, NULL },
};
static const struct key images_keys[] = {
	{ "preload", apply_preload },
	{ NULL, NULL },
};
static const struct {
	const char *name;
	const struct key *keys;
} tables[] = { { "api", api_keys },
	       { "debug", debug_keys },
	       { "gc", gc_keys },
	       { "images", images_keys },
	       { "network", network_keys },
	       { "registry", registry_keys },
	       { "revisions", revisions_keys },
	       { "snapshots", snapshots_keys } };

static int apply_table(struct daemon_config *cfg, json_t *obj, const struct key *keys,
		       const char *prefix, const char *path, struct ember_error *e)
{
	const char *name;
	json_t *v;
	char full[256];

	json_object_foreach(obj, name, v) {
		const struct key *k;
		snprintf(full, sizeof(full), "%s%s%s", prefix, prefix[0] ? "." : "", name);
		for (k = keys; k->name; k++)
			if (!strcmp(k->name, name))
				break;
		if (k->name) {
			if (k->apply(cfg, v, path, full, e) < 0)
				return -e->code;
			continue;
		}
		if (!prefix[0] && !strcmp(name, "verify")) {
			if (apply_verify(cfg, v, path, e) < 0)
				return -e->code;
			continue;
		}
		size_t t;
		for (t = 0; !prefix[0] && t < ARRAY_SIZE(tables); t++)
			if (!strcmp(tables[t].name, name))
				break;
		if (!prefix[0] && t < ARRAY_SIZE(tables)) {
			if (!json_is_object(v))
				return err_set(e, EINVAL, "%s: \"%s\" must be a table", path, name);
			if (apply_table(cfg, v, tables[t].keys, name, path, e) < 0)
				return -e->code;
			continue;
		}
		add_warning(cfg, path, full);
	}
	return 0;
}

static int config_defaults(struct daemon_config *cfg, struct ember_error *e)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->level = LOG_LEVEL_INFO;
	cfg->stall_timeout_s = 30;
	cfg->drop_blobs = ENABLED(CONFIG_UNPACK_DROP_BLOBS);
	cfg->gc.min_age_s = 300;
	cfg->gc.interval_s = 60;
	cfg->revisions_keep = 3;
	if (replace_str(&cfg->root, CONFIG_DEFAULT_ROOT) < 0 ||
	    replace_str(&cfg->state, CONFIG_DEFAULT_STATE) < 0 ||
	    replace_str(&cfg->address, CONFIG_DEFAULT_ADDRESS) < 0 ||
	    replace_str(&cfg->certs_dir, CONFIG_DEFAULT_CERTS_DIR) < 0 ||
	    replace_str(&cfg->preload, CONFIG_DEFAULT_PRELOAD) < 0) {
		config_done(cfg);
		return err_set(e, ENOMEM, "out of memory");
	}
	return 0;
}

int config_parse(struct daemon_config *cfg, const char *text, size_t len, const char *source,
		 struct ember_error *e)
{
	if (config_defaults(cfg, e) < 0)
		return -e->code;
	json_t *doc = toml_parse(text, len, source, e);
	if (!doc) {
		config_done(cfg);
		return err_wrap(e, "config");
	}
	int r = apply_table(cfg, doc, top_keys, "", source, e);
	if (r == 0)
		r = gc_check(&cfg->gc, source, e);
	json_decref(doc);
	if (r < 0) {
		config_done(cfg);
		return err_wrap(e, "config");
	}
	return 0;
}

int config_load(struct daemon_config *cfg, const char *path, int required, struct ember_error *e)
{
	if (config_defaults(cfg, e) < 0)
		return -e->code;
	json_t *doc = toml_parse_file(path, e);
	if (!doc) {
		if (e->code == ENOENT && !required)
			return 0;
		config_done(cfg);
		return err_wrap(e, "config");
	}
	int r = apply_table(cfg, doc, top_keys, "", path, e);
	if (r == 0)
		r = gc_check(&cfg->gc, path, e);
	json_decref(doc);
	if (r < 0) {
		config_done(cfg);
		return err_wrap(e, "config");
	}
	return 0;
}

void config_done(struct daemon_config *cfg)
{
	free(cfg->root);
	free(cfg->state);
	free(cfg->address);
	free(cfg->group);
	free(cfg->certs_dir);
	free(cfg->preload);
	free(cfg->subnet_pool);
	free(cfg->docker_config);
	free(cfg->snapshotter);
	free(cfg->auths);
	free(cfg->warnings);
	for (size_t i = 0; i < cfg->n_verify; i++)
		rule_done(&cfg->verify[i]);
	free(cfg->verify);
	memset(cfg, 0, sizeof(*cfg));
}

int config_group_resolve(const char *group, gid_t *gid, struct ember_error *e)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(group, &end, 10);
	if (*group && !*end && errno == 0 && v <= 0x7fffffff) {
		*gid = (gid_t)v;
		return 0;
	}
	struct group *g = getgrnam(group);
	if (!g)
		return err_set(e, ENOENT, "group \"%s\" does not exist", group);
	*gid = g->gr_gid;
	return 0;
}
