/* SPDX-License-Identifier: Apache-2.0 */
/* Output helpers shared by the commands: tables, JSON, labels. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "util/cleanup.h"

#include <unistd.h>

struct cli_table {
	int ncols;
	int nrows, cap;
	char **cells; /* nrows * ncols, row-major; row 0 is the header */
};

struct cli_table *cli_table_new(const char *const *headers, int ncols)
{
	struct cli_table *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->ncols = ncols;
	cli_table_add(t, headers);
	return t;
}

void cli_table_add(struct cli_table *t, const char *const *cells)
{
	if (!t)
		return;
	if (t->nrows == t->cap) {
		int cap = t->cap ? t->cap * 2 : 16;
		char **c = realloc(t->cells, (size_t)cap * (size_t)t->ncols * sizeof(*c));
		if (!c)
			return;
		t->cells = c;
		t->cap = cap;
	}
	for (int i = 0; i < t->ncols; i++)
		t->cells[t->nrows * t->ncols + i] = strdup(cells[i] ? cells[i] : "");
	t->nrows++;
}

/* Columns padded to their widest cell plus three spaces, like ctr's output. */
void cli_table_print_free(struct cli_table *t)
{
	if (!t)
		return;
	_cleanup_free_ size_t *width = calloc((size_t)t->ncols, sizeof(*width));
	for (int r = 0; width && r < t->nrows; r++)
		for (int c = 0; c < t->ncols; c++) {
			const char *s = t->cells[r * t->ncols + c];
			size_t n = s ? strlen(s) : 0;
			if (n > width[c])
				width[c] = n;
		}
	for (int r = 0; width && r < t->nrows; r++) {
		/* Pad every column but the last, and never end a line in blanks. */
		int last = t->ncols - 1;
		while (last > 0 && (!t->cells[r * t->ncols + last] || !*t->cells[r * t->ncols + last]))
			last--;
		for (int c = 0; c <= last; c++) {
			const char *s = t->cells[r * t->ncols + c];
			if (c == last)
				printf("%s\n", s ? s : "");
			else
				printf("%-*s   ", (int)width[c], s ? s : "");
		}
	}
	for (int i = 0; i < t->nrows * t->ncols; i++)
		free(t->cells[i]);
	free(t->cells);
	free(t);
}

void cli_print_json(json_t *j)
{
	char *s = json_dumps(j, JSON_INDENT(2) | JSON_ENCODE_ANY);

	if (s) {
		puts(s);
		free(s);
	}
}

int cli_read_text(const char *file, size_t max, char **out)
{
	_cleanup_close_ int fd = open(file, O_RDONLY | O_CLOEXEC);
	char *buf = fd < 0 ? NULL : malloc(max + 1);
	size_t len = 0;
	ssize_t n = 0;

	while (buf && len <= max && (n = read(fd, buf + len, max + 1 - len)) > 0)
		len += (size_t)n;
	if (fd < 0 || !buf || n < 0 || len > max) {
		fprintf(stderr, "ember: %s: %s\n", file, fd < 0 || n < 0 ? strerror(errno)
							   : !buf ? "out of memory" : "too large");
		free(buf);
		return CLI_FAILED;
	}
	buf[len] = '\0';
	*out = buf;
	return 0;
}

int cli_parse_labels(char **words, int n, json_t **out)
{
	json_t *labels = json_object();

	for (int i = 0; i < n; i++) {
		const char *eq = strchr(words[i], '=');
		if (!eq || eq == words[i]) {
			json_decref(labels);
			return cli_usage_error("\"%s\" is not a label: use KEY=VALUE (KEY= removes it)", words[i]);
		}
		_cleanup_free_ char *key = strndup(words[i], (size_t)(eq - words[i]));
		json_object_set_new(labels, key, json_string(eq + 1));
	}
	*out = labels;
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

const char **cli_sorted_keys(json_t *obj, size_t *n)
{
	const char *key;
	json_t *v;
	size_t i = 0;
	const char **keys = calloc(json_object_size(obj) + 1, sizeof(*keys));

	if (!keys)
		return NULL;
	json_object_foreach(obj, key, v)
		keys[i++] = key;
	qsort(keys, i, sizeof(*keys), cmp_str);
	*n = i;
	return keys;
}

void cli_print_labels(const struct cli *cli, json_t *labels)
{
	if (cli->json) {
		cli_print_json(labels);
		return;
	}
	size_t n;
	_cleanup_free_ const char **keys = cli_sorted_keys(labels, &n);
	for (size_t i = 0; keys && i < n; i++)
		printf("%s=%s\n", keys[i], json_string_value(json_object_get(labels, keys[i])));
}

char *cli_format_labels(json_t *labels)
{
	size_t n, len = 1;
	_cleanup_free_ const char **keys = cli_sorted_keys(labels, &n);

	if (!keys)
		return NULL;
	for (size_t i = 0; i < n; i++)
		len += strlen(keys[i]) + json_string_length(json_object_get(labels, keys[i])) + 2;
	char *out = malloc(len);
	if (!out)
		return NULL;
	out[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		strcat(out, i ? "," : "");
		strcat(out, keys[i]);
		strcat(out, "=");
		strcat(out, json_string_value(json_object_get(labels, keys[i])));
	}
	return out;
}

/* A temporary file for "-" (the daemon needs a regular file). */
int cli_tmp_file(void)
{
	const char *dir = getenv("TMPDIR");
	return open(dir && *dir ? dir : "/tmp", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
}

int cli_copy_fd(int from, int to)
{
	char buf[64 * 1024];
	for (;;) {
		ssize_t n = read(from, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : 0;
		for (ssize_t off = 0; off < n;) {
			ssize_t w = write(to, buf + off, (size_t)(n - off));
			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0)
				return -errno;
			off += w;
		}
	}
}


json_t *cli_with_namespace(const struct cli *cli, json_t *params)
{
	if (params)
		json_object_set_new(params, "namespace", json_string(cli->namespace));
	return params;
}

int cli_fancy_terminal(int fd)
{
	const char *term = getenv("TERM");

	return isatty(fd) && term && *term && strcmp(term, "dumb") != 0;
}
