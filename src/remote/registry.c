/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Requests to one repository of a registry, over the hosts its hosts.toml
 * lists (mirrors first), with authentication: a 401 answer's challenge is
 * met with basic credentials or a bearer token fetched from the challenge's
 * realm, and the request is sent again once. Tokens are kept per host and
 * scope until they expire.
 */
#include "remote/remote.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "remote/remote-internal.h"
#include "util/base64.h"
#include "util/cleanup.h"
#include "util/err.h"
#include "util/fs.h"

struct token {
	char *host;
	char *scope;
	char *value;
	time_t expires;
	struct token *next;
};

struct registry {
	struct http *http;
	struct reference ref;
	struct registry_hosts hosts;
	char *user, *secret;
	int has_creds;
	int use_basic;  /* a host asked for basic auth: send it up front from now on */
	struct token *tokens;
	long stall_timeout_s;
};

struct registry_call {
	struct registry *reg;
	struct registry_call_options o;
	size_t host;        /* index into reg->hosts */
	int auth_tries;
	char *path;         /* "/manifests/latest" */
	struct http_request *req;
	struct http_request *token_req;
	struct auth_challenge challenge;
	int intercepted;    /* this response is ours (401): hide it from the caller */
	int error_body;     /* this response is an error (not 2xx): its body is not data */
	int64_t delivered;  /* body bytes handed to the caller, over every attempt */
	char *token_body;
	size_t token_len;
	char tried[600];    /* the hosts skipped, and why: "host: what; host: what" */
	struct registry_call **owner; /* cleared when the call ends */
	char **headers;     /* our copy of o.headers: a call outlives its caller's frame */
};

/* ---- set-up ---------------------------------------------------------------- */

static int load_hosts(struct registry *reg, const struct registry_config *cfg, struct ember_error *e)
{
	const char *domain = reg->ref.domain;

	if (cfg->certs_dir && *cfg->certs_dir) {
		char dir[4096], file[4200];
		snprintf(dir, sizeof(dir), "%s/%s", cfg->certs_dir, domain);
		snprintf(file, sizeof(file), "%s/hosts.toml", dir);
		char *text = NULL;
		size_t len;
		struct ember_error fe;
		int r = fs_read_file(AT_FDCWD, file, 1 << 20, &text, &len, &fe);
		if (r == 0) {
			r = hosts_parse(text, len, file, dir, domain, &reg->hosts, e);
			free(text);
			if (r < 0)
				return r;
			if (cfg->plain_http)
				for (size_t i = 0; i < reg->hosts.n; i++)
					if (!strcmp(reg->hosts.v[i].scheme, "https")) {
						free(reg->hosts.v[i].scheme);
						reg->hosts.v[i].scheme = strdup("http");
					}
			hosts_dedupe(&reg->hosts);
			return 0;
		}
		if (r != -ENOENT)
			return err_set(e, fe.code, "%s", fe.message);
	}
	return hosts_default(domain, cfg->plain_http, &reg->hosts, e);
}

static void load_creds(struct registry *reg, const struct registry_config *cfg)
{
	if (cfg->user) {
		reg->user = strdup(cfg->user);
		reg->secret = strdup(cfg->secret ? cfg->secret : "");
		reg->has_creds = reg->user && reg->secret;
		return;
	}
	struct ember_error e;
	if (cfg->auths &&
	    auth_dockercfg_lookup(cfg->auths, strlen(cfg->auths), reg->ref.domain, &reg->user, &reg->secret, &e) == 0) {
		reg->has_creds = 1;
		return;
	}
	if (!cfg->docker_config || !*cfg->docker_config)
		return;
	char *text = NULL;
	size_t len;
	if (fs_read_file(AT_FDCWD, cfg->docker_config, 1 << 20, &text, &len, &e) < 0)
		return;
	if (auth_dockercfg_lookup(text, len, reg->ref.domain, &reg->user, &reg->secret, &e) == 0)
		reg->has_creds = 1;
	free(text);
}

int registry_open(struct http *http, const char *reference, const struct registry_config *cfg,
		  struct registry **out, struct ember_error *e)
{
	struct registry *reg = calloc(1, sizeof(*reg));

	if (!reg)
		return err_set(e, ENOMEM, "out of memory");
	reg->http = http;
	reg->stall_timeout_s = cfg->stall_timeout_s;
	if (reference_parse(reference, &reg->ref, e) < 0) {
		free(reg);
		return -e->code;
	}
	if (load_hosts(reg, cfg, e) < 0) {
		registry_close(reg);
		return -e->code;
	}
	load_creds(reg, cfg);
	*out = reg;
	return 0;
}

void registry_close(struct registry *reg)
{
	if (!reg)
		return;
	while (reg->tokens) {
		struct token *t = reg->tokens;
		reg->tokens = t->next;
		free(t->host);
		free(t->scope);
		free(t->value);
		free(t);
	}
	reference_done(&reg->ref);
	hosts_done(&reg->hosts);
	free(reg->user);
	free(reg->secret);
	free(reg);
}

const struct reference *registry_reference(const struct registry *reg)
{
	return &reg->ref;
}


/* ---- tokens ---------------------------------------------------------------- */

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* "type:name:b,a" with the actions sorted; NULL when out of memory. */
static char *sort_actions(const char *scope)
{
	const char *colon = strrchr(scope, ':');
	char *out = malloc(strlen(scope) + 1), *acts[16], *save = NULL, *list;
	size_t na = 0;

	if (!out)
		return NULL;
	strcpy(out, scope);
	if (!colon || !(list = strdup(colon + 1)))
		return colon ? (free(out), NULL) : out;
	for (char *a = strtok_r(list, ",", &save); a; a = strtok_r(NULL, ",", &save)) {
		if (na == ARRAY_SIZE(acts)) {
			free(list);
			return out; /* more than anyone asks for: as it is */
		}
		acts[na++] = a;
	}
	qsort(acts, na, sizeof(*acts), cmp_str);
	char *w = out + (colon + 1 - scope);
	*w = '\0';
	for (size_t k = 0; k < na; k++)
		w += sprintf(w, "%s%s", k ? "," : "", acts[k]);
	free(list);
	return out;
}

/*
 * The cache key of a scope: "repository:x:push,pull" and
 * "repository:x:pull,push" ask for the same thing, and docker-registry
 * names the actions of its challenges in either order (from a Go map), so
 * the key lists each scope's actions sorted, and the scopes sorted.
 * NULL when out of memory.
 */
static char *scope_key(const char *scope)
{
	char *copy = strdup(scope), *out = malloc(strlen(scope) + 1), *parts[16], *save = NULL;
	size_t n = 0, len = 0;
	int ok = copy && out;

	for (char *s = ok ? strtok_r(copy, " ", &save) : NULL; s; s = strtok_r(NULL, " ", &save)) {
		if (n == ARRAY_SIZE(parts) || !(parts[n] = sort_actions(s))) {
			ok = 0;
			break;
		}
		n++;
	}
	if (ok) {
		qsort(parts, n, sizeof(*parts), cmp_str);
		out[0] = '\0';
		for (size_t i = 0; i < n; i++)
			len += (size_t)sprintf(out + len, "%s%s", i ? " " : "", parts[i]);
	} else if (out && copy && n == ARRAY_SIZE(parts)) {
		strcpy(out, scope); /* more scopes than anyone sends: as it is */
		ok = 1;
	}
	for (size_t i = 0; i < n; i++)
		free(parts[i]);
	free(copy);
	if (!ok) {
		free(out);
		return NULL;
	}
	return out;
}

static const char *token_find(struct registry *reg, const char *host, const char *scope)
{
	time_t now = time(NULL);
	_cleanup_free_ char *key = scope_key(scope);

	if (!key)
		return NULL;
	for (struct token *t = reg->tokens; t; t = t->next)
		if (!strcmp(t->host, host) && !strcmp(t->scope, key) && t->expires > now)
			return t->value;
	return NULL;
}

static void token_store(struct registry *reg, const char *host, const char *scope, char *value,
			long expires_in)
{
	struct token *t = calloc(1, sizeof(*t));

	if (!t) {
		free(value);
		return;
	}
	t->host = strdup(host);
	t->scope = scope_key(scope);
	t->value = value;
	if (!t->host || !t->scope) {
		free(t->host);
		free(t->scope);
		free(t->value);
		free(t);
		return;
	}
	/* A little early, so a token never expires on its way. */
	t->expires = time(NULL) + (expires_in > 10 ? expires_in - 5 : expires_in);
	t->next = reg->tokens;
	reg->tokens = t;
}

static const char *call_scope(const struct registry_call *c, char *buf, size_t len)
{
	const char *path = c->reg->ref.path;
	snprintf(buf, len, "repository:%s:%s", path,
		 c->o.cap == HOST_CAP_PUSH ? "pull,push" : "pull");
	return buf;
}

/* ---- calls ----------------------------------------------------------------- */

static int call_send(struct registry_call *c, struct ember_error *e);

static void free_headers(char **h)
{
	for (size_t i = 0; h && h[i]; i++)
		free(h[i]);
	free(h);
}

/* A NULL-terminated copy of a NULL-terminated list; NULL when out of memory. */
static char **copy_headers(const char *const *h)
{
	size_t n = 0;

	while (h[n])
		n++;
	char **v = calloc(n + 1, sizeof(*v));
	for (size_t i = 0; v && i < n; i++)
		if (!(v[i] = strdup(h[i]))) {
			free_headers(v);
			return NULL;
		}
	return v;
}

static void call_finish(struct registry_call *c, int result, const struct http_response *resp,
			const struct ember_error *err)
{
	struct ember_error all;

	if (c->owner)
		*c->owner = NULL;
	c->req = NULL;
	/* Every host failed: each one's error, not only the last. */
	if (result < 0 && err && c->tried[0]) {
		all = *err;
		size_t len = strlen(all.message);
		snprintf(all.message + len, sizeof(all.message) - len, " (tried before: %.200s)", c->tried);
		err = &all;
	}
	if (c->o.on_done)
		c->o.on_done(c, result, resp, err, c->o.userdata);
	auth_challenge_done(&c->challenge);
	free(c->token_body);
	free(c->path);
	free_headers(c->headers);
	free(c);
}

/* Index of the next host with the call's capability, from i on. */
static size_t next_host(const struct registry *reg, size_t i, unsigned cap)
{
	while (i < reg->hosts.n && !(reg->hosts.v[i].caps & cap))
		i++;
	return i;
}

static int on_headers(struct http_request *r, const struct http_response *resp, void *userdata)
{
	struct registry_call *c = userdata;

	(void)r;
	c->intercepted = resp->status == 401 && resp->www_authenticate && c->auth_tries < 2;
	if (c->intercepted)
		return 0;
	/* The body of an error answer (404 from a mirror, 429, 500...) is a
	   message, not the caller's data: a blob's ingest must not get it, and
	   it must not keep the call from going on to the next host. */
	c->error_body = resp->status < 200 || resp->status >= 300;
	return c->o.on_headers ? c->o.on_headers(c, resp, c->o.userdata) : 0;
}

static int on_data(struct http_request *r, const char *data, size_t len, void *userdata)
{
	struct registry_call *c = userdata;

	(void)r;
	if (c->intercepted || c->error_body)
		return 0;
	c->delivered += (int64_t)len;
	return c->o.on_data ? c->o.on_data(c, data, len, c->o.userdata) : 0;
}

static void fail_call(struct registry_call *c, const struct ember_error *err)
{
	call_finish(c, -err->code, NULL, err);
}

static void on_token_data_done(struct http_request *r, int result, const struct http_response *resp,
			       const struct ember_error *err, void *userdata);

static int on_token_data(struct http_request *r, const char *data, size_t len, void *userdata)
{
	struct registry_call *c = userdata;

	(void)r;
	if (c->token_len + len > 65536 + 1024) {
		struct ember_error e;
		err_set(&e, E2BIG, "token response is too large");
		http_request_fail(r, &e);
		return -1;
	}
	char *n = realloc(c->token_body, c->token_len + len + 1);
	if (!n)
		return -1;
	memcpy(n + c->token_len, data, len);
	c->token_len += len;
	n[c->token_len] = '\0';
	c->token_body = n;
	return 0;
}

/* Meet a 401's challenge: basic credentials, or fetch a token. */
static void answer_challenge(struct registry_call *c, const struct http_response *resp)
{
	struct ember_error e;
	struct registry_host *h = &c->reg->hosts.v[c->host];

	c->auth_tries++;
	auth_challenge_done(&c->challenge);
	if (auth_challenge_parse(resp->www_authenticate, &c->challenge, &e) < 0) {
		err_wrap(&e, "%s: authentication challenge", h->host);
		fail_call(c, &e);
		return;
	}
	if (!strcmp(c->challenge.scheme, "basic")) {
		if (!c->reg->has_creds || c->auth_tries > 1) {
			err_set_name(&e, EMBER_ERROR_PERMISSION_DENIED, EACCES,
				     "%s: %s", h->host, c->reg->has_creds ? "unauthorized: the credentials were refused"
					     : "authentication required (give --user or a credentials file)");
			fail_call(c, &e);
			return;
		}
		c->reg->use_basic = 1;
		if (call_send(c, &e) < 0)
			fail_call(c, &e);
		return;
	}
	if (c->auth_tries > 1 && !c->challenge.error) {
		err_set_name(&e, EMBER_ERROR_PERMISSION_DENIED, EACCES,
			     "%s: unauthorized: the token was refused", h->host);
		fail_call(c, &e);
		return;
	}
	if (c->auth_tries > 1) {
		err_set_name(&e, EMBER_ERROR_PERMISSION_DENIED, EACCES, "%s: unauthorized: %s", h->host,
			     c->challenge.error);
		fail_call(c, &e);
		return;
	}
	/* Bearer: GET realm?service=...&scope=... */
	char scope[600];
	const char *want = c->challenge.scope ? c->challenge.scope : call_scope(c, scope, sizeof(scope));
	_cleanup_free_ char *url = NULL;
	_cleanup_free_ char *svc = c->challenge.service ? url_escape(c->challenge.service) : NULL;
	_cleanup_free_ char *sc = url_escape(want);
	if (asprintf(&url, "%s%sservice=%s&scope=%s", c->challenge.realm,
		     strchr(c->challenge.realm, '?') ? "&" : "?", svc ? svc : "", sc ? sc : "") < 0) {
		err_set(&e, ENOMEM, "out of memory");
		fail_call(c, &e);
		return;
	}
	struct http_tls tls = { 0 };
	registry_host_tls(h, &tls);
	struct http_options o = {
		.url = url,
		.range_from = -1,
		.body_fd = -1,
		.tls = &tls,
		.user = c->reg->has_creds ? c->reg->user : NULL,
		.password = c->reg->secret,
		.follow_redirects = 1,
		.stall_timeout_s = c->reg->stall_timeout_s,
		.on_data = on_token_data,
		.on_done = on_token_data_done,
		.userdata = c,
	};
	free(c->token_body);
	c->token_body = NULL;
	c->token_len = 0;
	c->token_req = http_start(c->reg->http, &o, &e);
	if (!c->token_req)
		fail_call(c, &e);
}

static void on_token_data_done(struct http_request *r, int result, const struct http_response *resp,
			       const struct ember_error *err, void *userdata)
{
	struct registry_call *c = userdata;
	struct registry_host *h = &c->reg->hosts.v[c->host];
	struct ember_error e;
	char *token = NULL;
	long expires = 60;
	char scope[600];

	(void)r;
	c->token_req = NULL;
	if (result < 0) {
		e = *err;
		err_wrap(&e, "fetch token from %s", c->challenge.realm);
		fail_call(c, &e);
		return;
	}
	if (resp->status != 200) {
		err_set_name(&e, EMBER_ERROR_PERMISSION_DENIED, EACCES,
			     "fetch token from %s: HTTP %ld%s", c->challenge.realm, resp->status,
			     resp->status == 401 ? " (the credentials were refused)" : "");
		fail_call(c, &e);
		return;
	}
	if (auth_token_parse(c->token_body ? c->token_body : "", c->token_len, &token, &expires, &e) < 0) {
		err_wrap(&e, "token from %s", c->challenge.realm);
		fail_call(c, &e);
		return;
	}
	const char *want = c->challenge.scope ? c->challenge.scope : call_scope(c, scope, sizeof(scope));
	token_store(c->reg, h->host, want, token, expires);
	if (call_send(c, &e) < 0)
		fail_call(c, &e);
}

static int retryable_status(long status)
{
	return status == 404 || status == 408 || status == 429 || status >= 500;
}

static void on_done(struct http_request *r, int result, const struct http_response *resp,
		    const struct ember_error *err, void *userdata)
{
	struct registry_call *c = userdata;
	struct ember_error e;

	(void)r;
	c->req = NULL;
	if (result == 0 && c->intercepted) {
		answer_challenge(c, resp);
		return;
	}
	/* Mirrors: a host that cannot serve this is skipped for the next. */
	size_t next = next_host(c->reg, c->host + 1, c->o.cap);
	int try_next = next < c->reg->hosts.n && !c->o.no_fallback &&
		       (result < 0 || retryable_status(resp->status)) && c->delivered == 0;
	if (try_next) {
		/* Why it was skipped, for the error when every host fails. */
		size_t len = strlen(c->tried);
		if (len < sizeof(c->tried) - 1) {
			char why[300];
			if (result < 0)
				snprintf(why, sizeof(why), "%.280s", err->message);
			else
				snprintf(why, sizeof(why), "HTTP %ld", resp->status);
			snprintf(c->tried + len, sizeof(c->tried) - len, "%s%s: %s", len ? "; " : "",
				 c->reg->hosts.v[c->host].host, why);
		}
		c->host = next;
		c->auth_tries = 0;
		if (call_send(c, &e) < 0)
			fail_call(c, &e);
		return;
	}
	call_finish(c, result, resp, err);
}

void registry_host_tls(const struct registry_host *h, struct http_tls *tls)
{
	memset(tls, 0, sizeof(*tls));
	tls->ca_file = h->n_ca ? h->ca[0] : NULL;
	if (h->n_client) {
		tls->cert_file = h->client[0].cert;
		tls->key_file = h->client[0].key;
	}
	tls->skip_verify = h->skip_verify;
}

static int call_send(struct registry_call *c, struct ember_error *e)
{
	struct registry *reg = c->reg;
	struct registry_host *h = &reg->hosts.v[c->host];
	_cleanup_free_ char *url = NULL;
	const char *headers[24];
	char *owned[24];
	size_t nh = 0, no = 0;
	int r = 0;

	int n;
	if (!strncmp(c->path, "http://", 7) || !strncmp(c->path, "https://", 8))
		n = asprintf(&url, "%s", c->path); /* a Location the registry gave */
	else if (c->path[0] == '/' && !strncmp(c->path, "/v2/", 4))
		n = asprintf(&url, "%s://%s%s", h->scheme, h->host, c->path);
	else
		n = asprintf(&url, "%s://%s%s/%s%s", h->scheme, h->host, h->path, reg->ref.path, c->path);
	if (n < 0)
		return err_set(e, ENOMEM, "out of memory");

	for (size_t i = 0; c->o.headers && c->o.headers[i] && nh < 12; i++)
		headers[nh++] = c->o.headers[i];
	for (size_t i = 0; i < h->n_headers && nh < 20; i++) {
		char *line;
		if (asprintf(&line, "%s: %s", h->header_names[i], h->header_values[i]) < 0)
			continue;
		owned[no++] = line;
		headers[nh++] = line;
	}
	char scope[600];
	const char *want = c->challenge.scope ? c->challenge.scope : call_scope(c, scope, sizeof(scope));
	const char *token = token_find(reg, h->host, want);
	int basic = !token && reg->has_creds && reg->use_basic;
	if (token) {
		char *line;
		if (asprintf(&line, "Authorization: Bearer %s", token) >= 0) {
			owned[no++] = line;
			headers[nh++] = line;
		}
	}
	headers[nh] = NULL;

	struct http_tls tls;
	registry_host_tls(h, &tls);
	struct http_options o = {
		.method = c->o.method,
		.url = url,
		.headers = headers,
		.range_from = c->o.range_from,
		.tls = &tls,
		.user = basic ? reg->user : NULL,
		.password = basic ? reg->secret : NULL,
		.body = c->o.body,
		.body_len = c->o.body_len,
		.body_fd = c->o.body_fd,
		.body_offset = c->o.body_offset,
		.body_size = c->o.body_size,
		.follow_redirects = 1,
		.stall_timeout_s = reg->stall_timeout_s,
		.on_headers = on_headers,
		.on_data = on_data,
		.on_done = on_done,
		.userdata = c,
	};
	c->intercepted = 0;
	c->error_body = 0;
	c->req = http_start(reg->http, &o, e);
	if (!c->req)
		r = -e->code;
	for (size_t i = 0; i < no; i++)
		free(owned[i]);
	return r;
}

int registry_call(struct registry *reg, const char *path, const struct registry_call_options *o,
		  struct registry_call **out, struct ember_error *e)
{
	struct registry_call *c = calloc(1, sizeof(*c));

	if (!c)
		return err_set(e, ENOMEM, "out of memory");
	c->reg = reg;
	c->o = *o;
	if (!c->o.cap)
		c->o.cap = HOST_CAP_PULL;
	c->path = strdup(path);
	c->host = next_host(reg, 0, c->o.cap);
	/* The caller's headers may live in its stack frame, and the call is
	   sent again later (after a 401, or to the next host): keep a copy. */
	if (o->headers) {
		c->headers = copy_headers(o->headers);
		c->o.headers = (const char *const *)c->headers;
	}
	if (!c->path || (o->headers && !c->headers) || c->host >= reg->hosts.n) {
		int nomem = !c->path || (o->headers && !c->headers);
		free(c->path);
		free_headers(c->headers);
		free(c);
		if (nomem)
			return err_set(e, ENOMEM, "out of memory");
		return err_set_name(e, EMBER_ERROR_FAILED_PRECONDITION, ENOENT,
				    "no host of %s may %s", reg->ref.domain,
				    o->cap == HOST_CAP_PUSH ? "push" : o->cap == HOST_CAP_RESOLVE ? "resolve" : "pull");
	}
	if (call_send(c, e) < 0) {
		free(c->path);
		free_headers(c->headers);
		free(c);
		return -e->code;
	}
	c->owner = out;
	if (out)
		*out = c;
	return 0;
}

void registry_call_cancel(struct registry_call *c)
{
	if (!c)
		return;
	if (c->owner)
		*c->owner = NULL;
	http_cancel(c->req);
	http_cancel(c->token_req);
	auth_challenge_done(&c->challenge);
	free(c->token_body);
	free(c->path);
	free_headers(c->headers);
	free(c);
}

const char *registry_call_host(const struct registry_call *c)
{
	return c->reg->hosts.v[c->host].host;
}

char *url_escape(const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	char *out = malloc(strlen(s) * 3 + 1), *o = out;

	if (!out)
		return NULL;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		    strchr("-._~", *p)) {
			*o++ = (char)*p;
		} else {
			*o++ = '%';
			*o++ = hex[*p >> 4];
			*o++ = hex[*p & 15];
		}
	}
	*o = '\0';
	return out;
}

void registry_call_fail(struct registry_call *c, const struct ember_error *err)
{
	if (c->req)
		http_request_fail(c->req, err);
}

const char *registry_call_tried(const struct registry_call *c)
{
	return c->tried;
}
