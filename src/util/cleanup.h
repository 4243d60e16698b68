/* SPDX-License-Identifier: Apache-2.0 */
#ifndef EMBER_UTIL_CLEANUP_H
#define EMBER_UTIL_CLEANUP_H

/*
 * Scope-bound ownership. Rules (from the kernel's cleanup.h): declare the
 * variable where it is initialised, and never mix these attributes with goto
 * unwinding in one function. TAKE_PTR/TAKE_FD hand ownership out.
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define _cleanup_(f) __attribute__((cleanup(f)))

static inline void freep(void *p)
{
	free(*(void **)p);
}

/* close() that keeps errno, so it is safe on error paths. */
static inline int close_keep_errno(int fd)
{
	int saved = errno;

	if (fd >= 0)
		(void)close(fd);
	errno = saved;
	return -1;
}

static inline void closep(int *fd)
{
	close_keep_errno(*fd);
}

static inline void fclosep(FILE **f)
{
	if (*f)
		(void)fclose(*f);
}

#define _cleanup_free_ _cleanup_(freep)
#define _cleanup_close_ _cleanup_(closep)
#define _cleanup_fclose_ _cleanup_(fclosep)

#define TAKE_PTR(p)                             \
	({                                      \
		__typeof__(p) _taken_ = (p);    \
		(p) = NULL;                     \
		_taken_;                        \
	})

#define TAKE_FD(fd)                     \
	({                              \
		int _taken_fd_ = (fd);  \
		(fd) = -1;              \
		_taken_fd_;             \
	})

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#endif
