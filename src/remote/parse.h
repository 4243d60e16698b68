/* SPDX-License-Identifier: Apache-2.0 */
#ifndef EMBER_REMOTE_PARSE_H
#define EMBER_REMOTE_PARSE_H

/*
 * The pure parsers of the registry client: image references, registry host
 * files (containerd's certs.d/<host>/hosts.toml) and the pieces of registry
 * authentication. They do no I/O and keep no state; their input is
 * untrusted (typed by users, or sent by a registry) and each has a fuzz
 * harness.
 *
 * Conventions: a function fills *e if and only if it returns < 0, and then
 * returns -e->code; bad input is io.ember.InvalidArgument with a one-line
 * message that names what was wrong and quotes (escaped, truncated) the
 * offending input, never a secret. Every string in a result is a separate
 * heap allocation owned by the result; the _done() functions free it all,
 * zero the struct and accept NULL. On error a result is left zeroed.
 */

#include <stddef.h>

#include <ember/error.h>

/* ---- image references -------------------------------------------------- */

#define REFERENCE_NAME_MAX 255 /* domain + '/' + path */
#define REFERENCE_TAG_MAX 128
#define REFERENCE_DEFAULT_DOMAIN "docker.io"
#define REFERENCE_DEFAULT_TAG "latest"
/* Where docker.io really is. */
#define REFERENCE_DOCKER_REGISTRY "registry-1.docker.io"

struct reference {
	char *domain; /* "docker.io", "localhost:5000", "[::1]:5000", "registry.example.com" */
	char *path;   /* "library/busybox" */
	char *tag;    /* "latest", or NULL when only a digest was given */
	char *digest; /* "sha256:<hex>" or NULL */
};

/*
 * Parse a reference the way Docker normalises it:
 *
 *   busybox                      docker.io/library/busybox:latest
 *   user/app:1.0                 docker.io/user/app:1.0
 *   index.docker.io/user/app     docker.io/user/app:latest
 *   localhost:5000/app@sha256:…  localhost:5000/app@sha256:… (tag NULL)
 *   [::1]:5000/a/b:t@sha256:…    both tag and digest kept
 *
 * The first '/'-separated component is a domain if it holds '.' or ':' or
 * is "localhost" (a domain may hold upper case); otherwise the domain is
 * docker.io, where a one-component path gets "library/". Path components
 * are [a-z0-9]+ joined by '.', '_', '__' or '-'+; a tag is
 * [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}; a digest is sha256 only
 * (digest_check()); a port is 1..65535; an IPv6 address is in brackets. The
 * normalised name (domain/path) has at most REFERENCE_NAME_MAX characters.
 * Messages read `invalid reference "Foo": repository name must be lowercase`.
 */
int reference_parse(const char *s, struct reference *ref, struct ember_error *e);

/* The canonical form, domain/path[:tag][@digest]; it parses back to the same
   reference. The caller frees it; NULL when out of memory. */
char *reference_string(const struct reference *ref);

/* "domain/path"; the caller frees it; NULL when out of memory. */
char *reference_name(const struct reference *ref);

/* The host to contact for ref: REFERENCE_DOCKER_REGISTRY for docker.io,
   else the domain. Returns 0, -EINVAL for a reference without a domain, or
   -ENOMEM (no error struct: these are the only failures). */
int reference_registry_host(const struct reference *ref, char **host);

void reference_done(struct reference *ref);

/* ---- hosts.toml -------------------------------------------------------- */

#define HOST_CAP_PULL 1u
#define HOST_CAP_RESOLVE 2u
#define HOST_CAP_PUSH 4u
#define HOST_CAP_ALL (HOST_CAP_PULL | HOST_CAP_RESOLVE | HOST_CAP_PUSH)

struct host_client_cert {
	char *cert;
	char *key; /* NULL: the cert file holds the key too */
};

struct registry_host {
	char *scheme; /* "http" or "https" */
	char *host;   /* "mirror.example:5000" */
	char *path;   /* API path prefix, "/v2" by default; with override_path the
			 URL's path as given (cleaned; "" when it has none) */
	unsigned caps; /* HOST_CAP_*, never 0 */
	char **ca;     /* absolute paths of CA files */
	size_t n_ca;
	struct host_client_cert *client; /* absolute paths */
	size_t n_client;
	int skip_verify;
	char **header_names; /* [header] / [host."…".header]; a name given an */
	char **header_values; /* array of values appears once per value */
	size_t n_headers;
};

/* In the order to try: mirrors first, the server last. */
struct registry_hosts {
	struct registry_host *v;
	size_t n;
};

/*
 * Parse the text of a hosts.toml as containerd does. file names it in
 * messages ("<file>:<line>: …"); dir is its directory, which relative CA
 * and client paths are taken from (it must be absolute if the file has
 * relative paths); domain is the registry the file is for.
 *
 *   server = "https://registry.example"     # optional, tried last
 *   ca = "ca.pem"                           # top-level ca, client,
 *   [host."https://mirror.example:5000"]    # skip_verify, capabilities,
 *     capabilities = ["pull", "resolve"]    # override_path and [header]
 *     ca = ["/etc/ca1.pem", "ca2.pem"]      # apply to the server
 *     client = [["c.pem", "k.pem"]]
 *     skip_verify = false
 *     override_path = false
 *     [host."https://mirror.example:5000".header]
 *       x-custom = ["a", "b"]
 *
 * Hosts come in file order, then the server. Without `server` the last
 * entry is https://<domain>/v2 (docker.io: registry-1.docker.io) with all
 * capabilities. capabilities default to all three (also when empty); ca is
 * a string or an array of strings; client is a string (cert and key in one
 * file), an array of such strings, or an array of [cert, key] pairs (key ""
 * when the cert holds it); a URL without a scheme is https. The path gets
 * "/v2" appended unless it ends in "/v2" or override_path is true. Unknown
 * keys are ignored; a wrong type, a bad URL or an unknown capability is an
 * error naming the line.
 */
int hosts_parse(const char *text, size_t len, const char *file, const char *dir, const char *domain,
		struct registry_hosts *out, struct ember_error *e);

/* No hosts.toml: the one default host for domain (https, or http when
   plain_http; docker.io is REFERENCE_DOCKER_REGISTRY), path /v2, all
   capabilities. */
int hosts_default(const char *domain, int plain_http, struct registry_hosts *out, struct ember_error *e);

/*
 * The directories under certs.d to look in for domain's hosts.toml, in
 * containerd's order: "host_port_" (only when domain has a port),
 * "host:port" as is (docker.io is "docker.io"), then "_default". Fills
 * names[0..n) (the caller frees each) and returns n; the domain must be a
 * valid registry host, so no name can climb out of certs.d.
 */
#define HOSTS_DIRS_MAX 3
#define HOSTS_DEFAULT_DIR "_default"
int hosts_dir_names(const char *domain, char *names[HOSTS_DIRS_MAX], struct ember_error *e);

void hosts_done(struct registry_hosts *h);
/* Drop a host that repeats an earlier one's URL (scheme, host, path),
   adding its capabilities to the earlier one's: the fallback server is
   often the [host] entry that carries the CA or client certificate, and
   trying it again without them only buries the first error. */
void hosts_dedupe(struct registry_hosts *h);

/* ---- authentication ---------------------------------------------------- */

#define AUTH_HEADER_MAX (16 * 1024)
#define AUTH_DOCKERCFG_MAX (1024 * 1024)
#define AUTH_TOKEN_MAX (64 * 1024)
#define AUTH_TOKEN_DEFAULT_EXPIRES 60
#define AUTH_TOKEN_MAX_EXPIRES (366L * 24 * 3600)

struct auth_challenge {
	char *scheme; /* "basic" or "bearer", lowercased */
	char *realm;  /* always set for bearer: an http(s) URL */
	char *service, *scope, *error; /* NULL when absent */
};

/*
 * Parse one WWW-Authenticate header value (RFC 7235: a scheme, then a
 * token68 or comma-separated name=token / name="quoted \"string\"" pairs;
 * several challenges may share the header). Takes the first Bearer
 * challenge, else the first Basic one; parameter names are case-insensitive
 * and known ones (realm, service, scope, error) may appear once. A bearer
 * challenge without an http(s) realm is an error; one with no Basic or
 * Bearer challenge fails with ENOTSUP.
 */
int auth_challenge_parse(const char *header, struct auth_challenge *c, struct ember_error *e);
void auth_challenge_done(struct auth_challenge *c);

/*
 * Look up host ("registry.example:5000", "docker.io") in the text of a
 * docker config.json:
 *
 *   {"auths": {"<key>": {"auth": base64("user:pass")}
 *                     | {"username": "…", "password": "…"}
 *                     | {"identitytoken": "…"}}}
 *
 * A key is "host", "https://host", "http://host/v1/" or the like (scheme
 * and path are ignored, host names compare case-insensitively); an exact
 * key is preferred. docker.io, index.docker.io and registry-1.docker.io
 * are one registry (Docker writes "https://index.docker.io/v1/").
 * identitytoken wins over auth, which wins over username/password; for an
 * identity token *user is "" and *secret the token (an OAuth2 refresh
 * token). Returns 0 and sets *user and *secret (the caller frees both); 1
 * when there is no usable entry (also for entries that only name a
 * credential helper: credsStore and credHelpers are not supported); < 0
 * for a malformed file or entry. Messages never quote credentials.
 */
int auth_dockercfg_lookup(const char *json, size_t len, const char *host, char **user, char **secret,
			  struct ember_error *e);

/*
 * A token endpoint's response: {"token": "…"} or {"access_token": "…"}
 * ("token" is preferred when both are set), with an optional "expires_in"
 * in seconds: default AUTH_TOKEN_DEFAULT_EXPIRES, raised to it when lower
 * (as containerd does; the Docker token spec gives 60 s as the minimum),
 * capped at AUTH_TOKEN_MAX_EXPIRES. "issued_at" and other keys are
 * ignored. A missing, empty or non-string token, one longer than
 * AUTH_TOKEN_MAX bytes, or one with bytes that cannot go in an HTTP header
 * is an error. expires_in may be NULL.
 */
int auth_token_parse(const char *json, size_t len, char **token, long *expires_in, struct ember_error *e);

#endif
