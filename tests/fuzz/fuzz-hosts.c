/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer: hosts.toml (TOML subset + containerd's keys). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "remote/parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(x)                          \
	do {                              \
		if (!(x))                 \
			__builtin_trap(); \
	} while (0)

static void check_path(const char *p)
{
	CHECK(p && p[0] == '/');
}

static void check_host(const struct registry_host *h)
{
	struct registry_hosts again;
	struct ember_error e;

	CHECK(!strcmp(h->scheme, "http") || !strcmp(h->scheme, "https"));
	/* The host is valid on its own. */
	CHECK(hosts_default(h->host, 0, &again, &e) == 0);
	hosts_done(&again);
	CHECK(h->path && (!h->path[0] || (h->path[0] == '/' && !strstr(h->path, "//"))));
	CHECK(h->caps != 0 && (h->caps & ~HOST_CAP_ALL) == 0);
	CHECK(h->skip_verify == 0 || h->skip_verify == 1);
	for (size_t i = 0; i < h->n_ca; i++)
		check_path(h->ca[i]);
	for (size_t i = 0; i < h->n_client; i++) {
		check_path(h->client[i].cert);
		if (h->client[i].key)
			check_path(h->client[i].key);
	}
	for (size_t i = 0; i < h->n_headers; i++) {
		CHECK(h->header_names[i][0]);
		CHECK(!strpbrk(h->header_names[i], " \t\r\n:"));
		CHECK(!strpbrk(h->header_values[i], "\r\n"));
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct registry_hosts h = { 0 };
	struct ember_error e = { 0 };
	int r = hosts_parse((const char *)data, size, "hosts.toml", "/etc/ember/certs.d/reg:5000",
			    "reg:5000", &h, &e);

	if (r < 0) {
		CHECK(r == -e.code && e.code > 0 && !h.v && h.n == 0);
		CHECK(!strncmp(e.message, "hosts.toml:", 11) && !strchr(e.message, '\n'));
		return 0;
	}
	CHECK(r == 0 && e.code == 0 && h.n >= 1);
	for (size_t i = 0; i < h.n; i++)
		check_host(&h.v[i]);
	hosts_done(&h);

	/* Short inputs double as registry hosts for the certs.d names. */
	if (size < 300) {
		char *s = malloc(size + 1), *names[HOSTS_DIRS_MAX];

		if (!s)
			return 0;
		memcpy(s, data, size);
		s[size] = '\0';
		r = hosts_dir_names(s, names, &e);
		CHECK(r < 0 ? e.code > 0 && !names[0] : r >= 2 && r <= HOSTS_DIRS_MAX);
		for (int i = 0; i < r; i++) {
			CHECK(names[i][0] && !strchr(names[i], '/') && strcmp(names[i], ".") &&
			      strcmp(names[i], ".."));
			free(names[i]);
		}
		free(s);
	}
	return 0;
}
