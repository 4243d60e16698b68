/* SPDX-License-Identifier: Apache-2.0 */
/*
 * An OTA agent's last step, with libember: stage a revision document,
 * apply it, wait for the daemon's verdict and print it.
 *
 *   apply-revision [-n NAMESPACE] FILE
 *
 * Exit status: 0 committed, 1 rolled back (the line says why), 2 refused
 * or failed before anything changed (a bad document, a missing image, an
 * update lock, no daemon).
 *
 * Build (README "Updating devices"):
 *   cc -o apply-revision examples/apply-revision.c -Iinclude build/host/libember.a -ljansson
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include <ember/revisions.h>

static char *read_file(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	size_t len = 0, cap = 0, n;

	if (!f)
		return NULL;
	do {
		if (len + 4096 + 1 > cap) {
			char *more = realloc(buf, cap = 2 * cap + 4096 + 1);
			if (!more) {
				free(buf);
				fclose(f);
				return NULL;
			}
			buf = more;
		}
		n = fread(buf + len, 1, 4096, f);
		len += n;
	} while (n > 0);
	fclose(f);
	buf[len] = '\0';
	return buf;
}

static int refused(ember_client *c, const struct ember_error *err)
{
	fprintf(stderr, "apply-revision: %s\n", err->message);
	if (c)
		ember_client_free(c);
	return 2;
}

int main(int argc, char **argv)
{
	const char *ns = NULL, *path, *why;
	struct ember_error err;
	ember_client *c = NULL;
	char *doc, *rec = NULL, id[128];

	if (argc == 4 && !strcmp(argv[1], "-n")) {
		ns = argv[2];
	} else if (argc != 2) {
		fprintf(stderr, "usage: apply-revision [-n NAMESPACE] FILE\n");
		return 2;
	}
	path = argv[argc - 1];
	if (!(doc = read_file(path))) {
		fprintf(stderr, "apply-revision: %s: %s\n", path, strerror(errno));
		return 2;
	}
	int r = ember_client_connect(&c, NULL, &err);
	if (r == 0)
		r = ember_revision_stage(c, ns, doc, &rec, &err);
	free(doc);
	if (r < 0)
		return refused(c, &err);
	json_t *staged = json_loads(rec, 0, NULL);
	snprintf(id, sizeof(id), "%s", json_string_value(json_object_get(staged, "name")));
	json_decref(staged);
	free(rec);
	printf("%s: staged\n", id);
	fflush(stdout);

	/* Waits for the verdict: the test's timeout at most, plus the stops. */
	if (ember_revision_apply(c, ns, id, 1, 0, &rec, &err) == 0) {
		free(rec);
		printf("%s: committed\n", id);
		ember_client_free(c);
		return 0;
	}
	/* A roll-back is a failed precondition whose message says why. */
	if (strcmp(err.name, EMBER_ERROR_FAILED_PRECONDITION) || !(why = strstr(err.message, " rolled back: ")))
		return refused(c, &err);
	printf("%s: rolled back: %s\n", id, why + strlen(" rolled back: "));
	ember_client_free(c);
	return 1;
}
