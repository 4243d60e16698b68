/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer: image archive import (tar with index.json / manifest.json) into a scratch store. */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "content/content.h"
#include "image/image.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct content_store cs;
static int ready;

static int drop(const char *digest, int64_t size, int64_t mtime, void *userdata)
{
	struct ember_error e;
	(void)size;
	(void)mtime;
	(void)userdata;
	(void)content_blob_delete(&cs, digest, &e);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ember_error e;
	struct image_import_result res;

	if (!ready) {
		char dir[] = "/tmp/ember-fuzz-import.XXXXXX";
		if (!mkdtemp(dir))
			abort();
		int root = open(dir, O_RDONLY | O_DIRECTORY);
		if (root < 0 || content_open(&cs, root, &e) < 0)
			abort();
		ready = 1;
	}
	int fd = memfd_create("archive", MFD_CLOEXEC);
	if (fd < 0 || write(fd, data, size) != (ssize_t)size || lseek(fd, 0, SEEK_SET) != 0)
		abort();
	if (image_import(&cs, fd, "fuzz/base", NULL, &res, &e) == 0) {
		for (size_t i = 0; i < res.n; i++) {
			struct ember_error e2;
			/* What import returns is a stored, well-formed descriptor. */
			if (!res.images[i].name || digest_check(res.images[i].target.digest, &e2) < 0 ||
			    content_blob_stat(&cs, res.images[i].target.digest, NULL, &e2) < 0)
				__builtin_trap();
		}
		image_import_result_done(&res);
	} else if (e.code <= 0 || !e.message[0] || strchr(e.message, '\n')) {
		__builtin_trap();
	}
	close(fd);
	(void)content_walk(&cs, drop, NULL, &e);
	return 0;
}
