/* SPDX-License-Identifier: Apache-2.0 */
#include "remote/parse.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <jansson.h>

#include "remote/remote-internal.h"
#include "util/cleanup.h"
#include "util/err.h"
#include "util/toml.h"

/*
 * hosts.toml after containerd's remotes/docker/config: the TOML subset
 * parser gives a JSON document plus the line of every key, and this file
 * checks types and turns each table into a struct registry_host.
 */

struct ctx {
	const char *file;
	const char *dir;
	struct toml_lines *lines;
	struct ember_error *e;
	char scope[QUOTE_BUF + 16]; /* " in [host.\"…\"]" or "" */
};

static int fail(struct ctx *c, const json_t *table, const char *key, const char *fmt, ...)
	ERR_PRINTF(4, 5);

/* "<file>:<line>: <what>", the line being where key was set in table. */
static int fail(struct ctx *c, const json_t *table, const char *key, const char *fmt, ...)
{
	char what[EMBER_ERROR_MESSAGE_MAX];
	size_t line = toml_line(c->lines, table, key);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (line)
		return err_set_name(c->e, EMBER_ERROR_INVALID_ARGUMENT, EINVAL, "%s:%zu: %s", c->file, line,
				    what);
	return err_set_name(c->e, EMBER_ERROR_INVALID_ARGUMENT, EINVAL, "%s: %s", c->file, what);
}

static int oom(struct ctx *c)
{
	return err_set(c->e, ENOMEM, "%s: out of memory", c->file);
}

static void host_done(struct registry_host *h)
{
	free(h->scheme);
	free(h->host);
	free(h->path);
	for (size_t i = 0; i < h->n_ca; i++)
		free(h->ca[i]);
	free(h->ca);
	for (size_t i = 0; i < h->n_client; i++) {
		free(h->client[i].cert);
		free(h->client[i].key);
	}
	free(h->client);
	for (size_t i = 0; i < h->n_headers; i++) {
		free(h->header_names[i]);
		free(h->header_values[i]);
	}
	free(h->header_names);
	free(h->header_values);
	memset(h, 0, sizeof(*h));
}

void hosts_dedupe(struct registry_hosts *hs)
{
	size_t n = 0;

	for (size_t i = 0; i < hs->n; i++) {
		struct registry_host *h = &hs->v[i];
		size_t k;
		for (k = 0; k < n; k++)
			if (!strcmp(hs->v[k].scheme, h->scheme) && !strcmp(hs->v[k].host, h->host) &&
			    !strcmp(hs->v[k].path, h->path))
				break;
		if (k < n) {
			hs->v[k].caps |= h->caps; /* its capabilities join the first one's */
			host_done(h);
			continue;
		}
		hs->v[n++] = *h;
	}
	hs->n = n;
}

void hosts_done(struct registry_hosts *h)
{
	if (!h)
		return;
	for (size_t i = 0; i < h->n; i++)
		host_done(&h->v[i]);
	free(h->v);
	h->v = NULL;
	h->n = 0;
}

/* Append s (owned; freed on failure) to v[0..n). */
static int push_str(char ***v, size_t *n, char *s)
{
	char **nv;

	if (!s)
		return -ENOMEM;
	nv = realloc(*v, (*n + 1) * sizeof(*nv));
	if (!nv) {
		free(s);
		return -ENOMEM;
	}
	nv[(*n)++] = s;
	*v = nv;
	return 0;
}

/*
 * dir + "/" + rel with "", "." and ".." parts resolved as text (as Go's
 * filepath.Join does); the result starts with '/' and has no trailing one.
 */
static char *join_clean(const char *dir, const char *rel)
{
	const char *parts[2] = { dir, rel };
	char *out = malloc(strlen(dir) + strlen(rel) + 3);
	size_t o = 0;

	if (!out)
		return NULL;
	for (size_t k = 0; k < 2; k++) {
		const char *s = parts[k];

		for (;;) {
			while (*s == '/')
				s++;
			if (!*s)
				break;
			const char *end = strchrnul(s, '/');
			size_t n = (size_t)(end - s);

			if (n == 2 && s[0] == '.' && s[1] == '.') {
				while (o > 0 && out[o - 1] != '/')
					o--;
				if (o > 0)
					o--;
			} else if (!(n == 1 && s[0] == '.')) {
				out[o++] = '/';
				memcpy(out + o, s, n);
				o += n;
			}
			s = end;
		}
	}
	if (o == 0)
		out[o++] = '/';
	out[o] = '\0';
	return out;
}

/* A string value that is a usable path, made absolute; *out is owned. */
static int want_path(struct ctx *c, const json_t *table, const char *key, const json_t *v,
		     bool empty_ok, char **out)
{
	const char *p = json_string_value(v);

	*out = NULL;
	if (!p || strlen(p) != json_string_length(v))
		return fail(c, table, key, "\"%s\"%s must hold strings (paths)", QUOTE(key), c->scope);
	if (!*p) {
		if (empty_ok)
			return 0;
		return fail(c, table, key, "\"%s\"%s holds an empty path", QUOTE(key), c->scope);
	}
	if (p[0] == '/')
		*out = strdup(p);
	else if (!c->dir || c->dir[0] != '/')
		return fail(c, table, key,
			    "\"%s\"%s: relative path \"%s\" but the directory of %s is not known",
			    QUOTE(key), c->scope, QUOTE(p), c->file);
	else
		*out = join_clean(c->dir, p);
	return *out ? 0 : oom(c);
}

static int want_bool(struct ctx *c, const json_t *t, const char *key, int *out)
{
	const json_t *v = json_object_get(t, key);

	if (!v)
		return 0;
	if (!json_is_boolean(v))
		return fail(c, t, key, "\"%s\"%s must be true or false", key, c->scope);
	*out = json_is_true(v);
	return 0;
}

static int parse_caps(struct ctx *c, const json_t *t, struct registry_host *h)
{
	static const struct {
		const char *name;
		unsigned cap;
	} caps[] = { { "pull", HOST_CAP_PULL }, { "resolve", HOST_CAP_RESOLVE }, { "push", HOST_CAP_PUSH } };
	const json_t *v = json_object_get(t, "capabilities"), *x;
	size_t i;

	h->caps = 0;
	if (v && !json_is_array(v))
		return fail(c, t, "capabilities", "\"capabilities\"%s must be an array of strings",
			    c->scope);
	json_array_foreach(v, i, x) {
		const char *name = json_string_value(x);
		size_t k;

		if (!name)
			return fail(c, t, "capabilities", "\"capabilities\"%s must be an array of strings",
				    c->scope);
		for (k = 0; k < ARRAY_SIZE(caps); k++)
			if (!strcasecmp(name, caps[k].name))
				break;
		if (k == ARRAY_SIZE(caps))
			return fail(c, t, "capabilities",
				    "unknown capability \"%s\"%s (pull, resolve, push)", QUOTE(name),
				    c->scope);
		h->caps |= caps[k].cap;
	}
	if (!h->caps)
		h->caps = HOST_CAP_ALL;
	return 0;
}

static int parse_ca(struct ctx *c, const json_t *t, struct registry_host *h)
{
	const json_t *v = json_object_get(t, "ca"), *x;
	char *p;
	size_t i;

	if (!v)
		return 0;
	if (json_is_string(v)) {
		if (want_path(c, t, "ca", v, false, &p) < 0)
			return -c->e->code;
		return push_str(&h->ca, &h->n_ca, p) < 0 ? oom(c) : 0;
	}
	if (!json_is_array(v))
		return fail(c, t, "ca", "\"ca\"%s must be a string or an array of strings", c->scope);
	json_array_foreach(v, i, x) {
		if (!json_is_string(x))
			return fail(c, t, "ca", "\"ca\"%s must be a string or an array of strings",
				    c->scope);
		if (want_path(c, t, "ca", x, false, &p) < 0)
			return -c->e->code;
		if (push_str(&h->ca, &h->n_ca, p) < 0)
			return oom(c);
	}
	return 0;
}

static int push_client(struct ctx *c, struct registry_host *h, char *cert, char *key)
{
	struct host_client_cert *v = realloc(h->client, (h->n_client + 1) * sizeof(*v));

	if (!v) {
		free(cert);
		free(key);
		return oom(c);
	}
	v[h->n_client].cert = cert;
	v[h->n_client].key = key;
	h->n_client++;
	h->client = v;
	return 0;
}

/* A string (cert and key in one file), an array of those, or of [cert, key]. */
static int parse_client(struct ctx *c, const json_t *t, struct registry_host *h)
{
	static const char types[] = "must be a path, an array of paths or an array of [cert, key] pairs";
	const json_t *v = json_object_get(t, "client"), *x;
	char *cert, *key;
	size_t i;

	if (!v)
		return 0;
	if (json_is_string(v)) {
		if (want_path(c, t, "client", v, false, &cert) < 0)
			return -c->e->code;
		return push_client(c, h, cert, NULL);
	}
	if (!json_is_array(v))
		return fail(c, t, "client", "\"client\"%s %s", c->scope, types);
	json_array_foreach(v, i, x) {
		if (json_is_string(x)) {
			if (want_path(c, t, "client", x, false, &cert) < 0)
				return -c->e->code;
			if (push_client(c, h, cert, NULL) < 0)
				return -c->e->code;
			continue;
		}
		if (!json_is_array(x))
			return fail(c, t, "client", "\"client\"%s %s", c->scope, types);
		if (json_array_size(x) != 2 || !json_is_string(json_array_get(x, 0)) ||
		    !json_is_string(json_array_get(x, 1)))
			return fail(c, t, "client",
				    "\"client\"%s: pair %zu must be [cert, key] (two strings; key \"\" when "
				    "the cert file holds it)",
				    c->scope, i + 1);
		if (want_path(c, t, "client", json_array_get(x, 0), false, &cert) < 0)
			return -c->e->code;
		if (want_path(c, t, "client", json_array_get(x, 1), true, &key) < 0) {
			free(cert);
			return -c->e->code;
		}
		if (push_client(c, h, cert, key) < 0)
			return -c->e->code;
	}
	return 0;
}

static bool is_tchar(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c && strchr("!#$%&'*+-.^_`|~", c));
}

static int push_header(struct ctx *c, struct registry_host *h, const json_t *hdr, const char *name,
		       const json_t *v)
{
	const char *value = json_string_value(v);
	size_t n = h->n_headers;
	char **nn, **nv;

	if (!value)
		return fail(c, hdr, name, "header \"%s\"%s must be a string or an array of strings",
			    QUOTE(name), c->scope);
	/* The value is not quoted: headers may carry credentials. */
	for (size_t i = 0; i < json_string_length(v); i++) {
		unsigned char ch = (unsigned char)value[i];

		if ((ch < 0x20 && ch != '\t') || ch == 0x7f)
			return fail(c, hdr, name, "header \"%s\"%s has a control character in its value",
				    QUOTE(name), c->scope);
	}
	nn = realloc(h->header_names, (n + 1) * sizeof(*nn));
	if (!nn)
		return oom(c);
	h->header_names = nn;
	nv = realloc(h->header_values, (n + 1) * sizeof(*nv));
	if (!nv)
		return oom(c);
	h->header_values = nv;
	nn[n] = strdup(name);
	nv[n] = strdup(value);
	if (!nn[n] || !nv[n]) {
		free(nn[n]);
		free(nv[n]);
		return oom(c);
	}
	h->n_headers++;
	return 0;
}

static int parse_headers(struct ctx *c, const json_t *t, struct registry_host *h)
{
	const json_t *hdr = json_object_get(t, "header"), *v, *x;
	const char *name;
	size_t i;

	if (!hdr)
		return 0;
	if (!json_is_object(hdr))
		return fail(c, t, "header", "\"header\"%s must be a table", c->scope);
	json_object_foreach((json_t *)hdr, name, v) {
		bool ok = *name != '\0';

		for (const char *q = name; *q; q++)
			ok = ok && is_tchar((unsigned char)*q);
		if (!ok)
			return fail(c, hdr, name, "invalid header name \"%s\"%s", QUOTE(name), c->scope);
		if (!json_is_array(v)) {
			if (push_header(c, h, hdr, name, v) < 0)
				return -c->e->code;
			continue;
		}
		json_array_foreach(v, i, x)
			if (push_header(c, h, hdr, name, x) < 0)
				return -c->e->code;
	}
	return 0;
}

/* The keys a host table and the top level share. */
static int parse_config(struct ctx *c, const json_t *t, struct registry_host *h, int *override_path)
{
	*override_path = 0;
	if (parse_caps(c, t, h) < 0 || parse_ca(c, t, h) < 0 || parse_client(c, t, h) < 0 ||
	    want_bool(c, t, "skip_verify", &h->skip_verify) < 0 ||
	    want_bool(c, t, "override_path", override_path) < 0 || parse_headers(c, t, h) < 0)
		return -c->e->code;
	return 0;
}

static bool path_char_ok(const char *p, size_t i)
{
	unsigned char ch = (unsigned char)p[i];

	if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9'))
		return true;
	if (ch == '%')
		return p[i + 1] && strchr("0123456789abcdefABCDEF", p[i + 1]) && p[i + 2] &&
		       strchr("0123456789abcdefABCDEF", p[i + 2]);
	return ch && strchr("-._~!$&'()*+,;=:@/", ch);
}

/* [scheme://]host[:port][/path] into h->scheme, h->host and h->path. */
static int parse_url(struct ctx *c, const json_t *t, const char *key, const char *url, int override_path,
		     struct registry_host *h)
{
	const char *rest = url, *sep = strstr(url, "://");
	const char *scheme = "https";

#define BAD_URL(...) fail(c, t, key, "invalid host URL \"%s\": " __VA_ARGS__)
	if (sep) {
		size_t n = (size_t)(sep - url);

		if (n == 4 && !strncasecmp(url, "http", 4))
			scheme = "http";
		else if (!(n == 5 && !strncasecmp(url, "https", 5)))
			return BAD_URL("unsupported scheme \"%s\" (http or https)", QUOTE(url),
				       QUOTE_N(url, n));
		rest = sep + 3;
	}
	if (strpbrk(rest, "?#"))
		return BAD_URL("a host URL has no query or fragment", QUOTE(url));

	const char *slash = strchrnul(rest, '/');
	size_t alen = (size_t)(slash - rest);
	const char *why;

	if (memchr(rest, '@', alen))
		return BAD_URL("user information is not allowed (credentials go in config.json)",
			       QUOTE(url));
	why = remote_host_check(rest, alen);
	if (why)
		return BAD_URL("%s", QUOTE(url), why);
	for (size_t i = 0; slash[i]; i++)
		if (!path_char_ok(slash, i))
			return BAD_URL("invalid character in the path", QUOTE(url));
#undef BAD_URL

	_cleanup_free_ char *path = join_clean("", slash);
	if (!path)
		return oom(c);
	if (!strcmp(path, "/"))
		path[0] = '\0';
	size_t plen = strlen(path);
	bool v2 = plen >= 3 && !strcmp(path + plen - 3, "/v2");

	h->scheme = strdup(scheme);
	h->host = strndup(rest, alen);
	if (override_path || v2)
		h->path = TAKE_PTR(path);
	else if (asprintf(&h->path, "%s/v2", path) < 0)
		h->path = NULL;
	if (!h->scheme || !h->host || !h->path)
		return oom(c);
	return 0;
}

struct host_table {
	const char *url;
	const json_t *t;
	size_t line;
	size_t index;
};

static int by_line(const void *a, const void *b)
{
	const struct host_table *x = a, *y = b;

	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	return x->index < y->index ? -1 : x->index > y->index;
}

/* The host for a domain when nothing says otherwise. */
static const char *default_host(const char *domain)
{
	if (!strcmp(domain, REFERENCE_DEFAULT_DOMAIN) || !strcmp(domain, "index.docker.io"))
		return REFERENCE_DOCKER_REGISTRY;
	return domain;
}

static int check_domain(const char *domain, struct ember_error *e)
{
	const char *why;

	if (!domain)
		return err_set_name(e, EMBER_ERROR_INVALID_ARGUMENT, EINVAL, "no registry host given");
	why = remote_host_check(domain, strlen(domain));
	if (why)
		return err_set_name(e, EMBER_ERROR_INVALID_ARGUMENT, EINVAL,
				    "invalid registry host \"%s\": %s", QUOTE(domain), why);
	return 0;
}

static int parse_doc(struct ctx *c, const json_t *doc, const char *domain, struct registry_hosts *out)
{
	const json_t *hosts = json_object_get(doc, "host"), *server = json_object_get(doc, "server");
	_cleanup_free_ struct host_table *tables = NULL;
	size_t n = 0;
	int override;

	if (hosts && !json_is_object(hosts))
		return fail(c, doc, "host", "\"host\" must be a table of [host.\"URL\"] tables");
	if (server && (!json_is_string(server) ||
		       strlen(json_string_value(server)) != json_string_length(server)))
		return fail(c, doc, "server", "\"server\" must be a string (a URL)");
	if (hosts) {
		const char *url;
		json_t *t;

		tables = calloc(json_object_size(hosts) + 1, sizeof(*tables));
		if (!tables)
			return oom(c);
		json_object_foreach((json_t *)hosts, url, t) {
			if (!json_is_object(t))
				return fail(c, hosts, url, "host \"%s\" must be a table", QUOTE(url));
			tables[n] = (struct host_table){ url, t, toml_line(c->lines, hosts, url), n };
			n++;
		}
		/* File order, which is what containerd tries them in. */
		qsort(tables, n, sizeof(*tables), by_line);
	}

	out->v = calloc(n + 1, sizeof(*out->v));
	if (!out->v)
		return oom(c);
	for (size_t i = 0; i < n; i++) {
		struct registry_host *h = &out->v[out->n++];

		snprintf(c->scope, sizeof(c->scope), " in [host.\"%s\"]", QUOTE(tables[i].url));
		if (parse_config(c, tables[i].t, h, &override) < 0 ||
		    parse_url(c, hosts, tables[i].url, tables[i].url, override, h) < 0)
			return -c->e->code;
	}

	struct registry_host *h = &out->v[out->n++];
	const char *url = server ? json_string_value(server) : "";

	c->scope[0] = '\0';
	if (parse_config(c, doc, h, &override) < 0)
		return -c->e->code;
	if (*url)
		return parse_url(c, doc, "server", url, override, h);

	/* No server: the registry itself, as containerd falls back to. */
	if (!domain)
		return fail(c, NULL, NULL, "no \"server\" and no registry domain to fall back to");
	if (check_domain(domain, c->e) < 0)
		return err_wrap(c->e, "%s", c->file);
	h->caps = HOST_CAP_ALL;
	h->scheme = strdup("https");
	h->host = strdup(default_host(domain));
	h->path = strdup("/v2");
	if (!h->scheme || !h->host || !h->path)
		return oom(c);
	return 0;
}

int hosts_parse(const char *text, size_t len, const char *file, const char *dir, const char *domain,
		struct registry_hosts *out, struct ember_error *e)
{
	struct ctx c = { .file = file ? file : "hosts.toml", .dir = dir, .e = e };
	json_t *doc;
	int r;

	memset(out, 0, sizeof(*out));
	doc = toml_parse_lines(text, len, c.file, &c.lines, e);
	if (!doc)
		return -e->code;
	r = parse_doc(&c, doc, domain, out);
	toml_lines_free(c.lines);
	json_decref(doc);
	if (r < 0)
		hosts_done(out);
	return r;
}

int hosts_default(const char *domain, int plain_http, struct registry_hosts *out, struct ember_error *e)
{
	struct registry_host *h;

	memset(out, 0, sizeof(*out));
	if (check_domain(domain, e) < 0)
		return -e->code;
	h = out->v = calloc(1, sizeof(*h));
	if (!h)
		return err_set(e, ENOMEM, "registry hosts: out of memory");
	out->n = 1;
	h->caps = HOST_CAP_ALL;
	h->scheme = strdup(plain_http ? "http" : "https");
	h->host = strdup(default_host(domain));
	h->path = strdup("/v2");
	if (!h->scheme || !h->host || !h->path) {
		hosts_done(out);
		return err_set(e, ENOMEM, "registry hosts: out of memory");
	}
	return 0;
}

int hosts_dir_names(const char *domain, char *names[HOSTS_DIRS_MAX], struct ember_error *e)
{
	size_t len, hlen;
	int n = 0;

	for (size_t i = 0; i < HOSTS_DIRS_MAX; i++)
		names[i] = NULL;
	if (check_domain(domain, e) < 0)
		return -e->code;
	if (!strcmp(domain, "index.docker.io"))
		domain = REFERENCE_DEFAULT_DOMAIN;
	len = strlen(domain);
	hlen = remote_host_name_len(domain, len);
	if (hlen < len && asprintf(&names[n++], "%.*s_%s_", (int)hlen, domain, domain + hlen + 1) < 0)
		names[n - 1] = NULL;
	names[n++] = strdup(domain);
	names[n++] = strdup(HOSTS_DEFAULT_DIR);
	for (int i = 0; i < n; i++) {
		if (names[i])
			continue;
		for (int k = 0; k < n; k++) {
			free(names[k]);
			names[k] = NULL;
		}
		return err_set(e, ENOMEM, "registry hosts: out of memory");
	}
	return n;
}
