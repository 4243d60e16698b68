/* SPDX-License-Identifier: Apache-2.0 */
/* Common includes and helpers for ember's cmocka unit tests. */
#ifndef EMBER_TESTS_UNIT_H
#define EMBER_TESTS_UNIT_H

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>

#include <cmocka.h>

/* A fresh directory under $TMPDIR (or /tmp), removed by unit_rmdir(). */
static inline char *unit_mkdtemp(void)
{
	const char *base = getenv("TMPDIR");
	char *path = malloc(4096);

	snprintf(path, 4096, "%s/ember-unit.XXXXXX", base && *base ? base : "/tmp");
	assert_non_null(mkdtemp(path));
	return path;
}

static inline void unit_rmdir(char *path)
{
	char cmd[4200];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", path);
	assert_int_equal(system(cmd), 0);
	free(path);
}

/* Write a file below dirfd for a fixture (path may have several parts). */
static inline void unit_write(int dirfd, const char *path, const char *data)
{
	int fd = openat(dirfd, path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	if (fd < 0)
		fail_msg("create %s: %s", path, strerror(errno));
	assert_int_equal(write(fd, data, strlen(data)), (ssize_t)strlen(data));
	close(fd);
}

/* The message of e contains needle. */
#define assert_msg_contains(e, needle)                                                   \
	do {                                                                             \
		if (!strstr((e)->message, (needle)))                                     \
			fail_msg("message \"%s\" lacks \"%s\"", (e)->message, (needle)); \
	} while (0)

#endif
