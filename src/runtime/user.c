/* SPDX-License-Identifier: Apache-2.0 */
#include "runtime/runtime.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/openat2.h>

#include "runtime/runtime-internal.h"
#include "util/err.h"

#ifndef SYS_openat2
#define SYS_openat2 437 /* the same number on every architecture */
#endif
#ifndef RESOLVE_NO_MAGICLINKS
#define RESOLVE_NO_MAGICLINKS 0x02
#endif
#ifndef RESOLVE_IN_ROOT
#define RESOLVE_IN_ROOT 0x10
#endif

int runtime_user_force_walk;

/* ---- "user[:group]" ---- */

/* A decimal id, 0 .. 2^32-2, the whole of s. */
static int parse_id(const char *s, size_t n, uint32_t *id)
{
	uint64_t v = 0;

	if (n == 0 || n > 10)
		return 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return 0;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (v > 4294967294u)
		return 0;
	*id = (uint32_t)v;
	return 1;
}

static int name_ok(const char *s, size_t n)
{
	if (n == 0 || n > RUNTIME_USER_MAX)
		return 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c <= ' ' || c == 0x7f || c == ':' || c == ',' || c == '/')
			return 0;
	}
	return 1;
}

int rt_user_parse(const char *what, const char *s, struct rt_user *u, struct ember_error *e)
{
	char q[RT_QUOTE_MAX];

	memset(u, 0, sizeof(*u));
	if (!s || !*s)
		return rt_bad(e, "%s: empty", what);
	if (strlen(s) > RUNTIME_USER_MAX)
		return rt_bad(e, "%s: longer than %d bytes", what, RUNTIME_USER_MAX);
	size_t n = strcspn(s, ":");
	const char *g = s[n] ? s + n + 1 : NULL;
	if (!name_ok(s, n) || (g && !name_ok(g, strlen(g))))
		return rt_bad(e, "%s \"%s\": want user, uid, user:group or uid:gid (no spaces, ',' or '/')", what,
			      rt_quote(s, q));
	memcpy(u->user, s, n);
	u->user_numeric = parse_id(s, n, &u->uid);
	if (!u->user_numeric && strspn(s, "0123456789") == n)
		return rt_bad(e, "%s \"%s\": uid out of range (0 .. 4294967294)", what, rt_quote(s, q));
	if (g) {
		snprintf(u->group, sizeof(u->group), "%s", g);
		u->group_numeric = parse_id(g, strlen(g), &u->gid);
		if (!u->group_numeric && strspn(g, "0123456789") == strlen(g))
			return rt_bad(e, "%s \"%s\": gid out of range (0 .. 4294967294)", what, rt_quote(s, q));
	}
	return 0;
}

/* ---- reading /etc files inside the rootfs ---- */

/* path ("etc/passwd") below rootfs_fd without leaving it; -ENOENT when it
   is missing. */
static int open_in_root(int rootfs_fd, const char *dir, const char *name, struct ember_error *e)
{
	char path[64];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (!runtime_user_force_walk) {
		struct open_how how = {
			.flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK,
			.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
		};
		for (int i = 0; i < 8; i++) {
			long r = syscall(SYS_openat2, rootfs_fd, path, &how, sizeof(how));
			if (r >= 0)
				return (int)r;
			if (errno != EAGAIN && errno != EINTR)
				break;
		}
		/* Missing, or refused by a seccomp filter or an old kernel:
		   walk, following nothing. */
		if (errno != ENOSYS && errno != EPERM && errno != EINVAL && errno != E2BIG) {
			if (errno == ENOENT || errno == ENOTDIR)
				return err_set_name(e, EMBER_ERROR_NOT_FOUND, ENOENT, "no /%s in the image", path);
			return err_sys(e, errno, "open /%s in the image", path);
		}
	}
	struct stat st;
	_cleanup_close_ int dfd = openat(rootfs_fd, dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd >= 0)
		fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	else if (errno == ENOTDIR && fstatat(rootfs_fd, dir, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode))
		fd = (errno = ELOOP, -1); /* O_DIRECTORY said ENOTDIR for a symlink */
	else
		fd = -1;
	if (fd >= 0)
		return fd;
	if (errno == ENOENT || errno == ENOTDIR)
		return err_set_name(e, EMBER_ERROR_NOT_FOUND, ENOENT, "no /%s in the image", path);
	if (errno == ELOOP)
		return rt_bad(e, "/%s in the image is a symbolic link: not followed (no openat2 here)", path);
	return err_sys(e, errno, "open /%s in the image", path);
}

/* The whole file, NUL-terminated, at most RUNTIME_ETC_FILE_MAX bytes. */
static int read_etc(int rootfs_fd, const char *name, char **out, struct ember_error *e)
{
	size_t len = 0, cap = 4096;
	struct stat st;

	*out = NULL;
	_cleanup_close_ int fd = open_in_root(rootfs_fd, "etc", name, e);
	if (fd < 0)
		return fd;
	if (fstat(fd, &st) < 0)
		return err_sys(e, errno, "stat /etc/%s in the image", name);
	if (!S_ISREG(st.st_mode))
		return rt_bad(e, "/etc/%s in the image is not a regular file", name);
	_cleanup_free_ char *buf = malloc(cap);
	if (!buf)
		return rt_oom(e);
	/* Room for one byte more than allowed tells an oversize file. */
	const size_t cap_max = RUNTIME_ETC_FILE_MAX + 2;
	for (;;) {
		if (len + 1 >= cap) {
			if (cap >= cap_max)
				return rt_bad(e, "/etc/%s in the image is larger than %zu KiB", name,
					      RUNTIME_ETC_FILE_MAX >> 10);
			size_t bigger_cap = cap * 2 < cap_max ? cap * 2 : cap_max;
			char *bigger = realloc(buf, bigger_cap);
			if (!bigger)
				return rt_oom(e);
			buf = bigger;
			cap = bigger_cap;
		}
		ssize_t n = read(fd, buf + len, cap - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return err_sys(e, errno, "read /etc/%s in the image", name);
		if (n == 0)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
	*out = TAKE_PTR(buf);
	return 0;
}

/* ---- passwd(5) and group(5) lines ---- */

#define FIELDS_MAX 7

struct line {
	const char *f[FIELDS_MAX];
	size_t n[FIELDS_MAX];
	int count;
};

/* The next line of *p (without a trailing '\r'), split at ':'; 0 at the
   end. A NUL byte ends the data. Fields past FIELDS_MAX are left in the
   last one. */
static int next_line(const char **p, struct line *l)
{
	const char *s = *p;

	if (!*s)
		return 0;
	size_t len = strcspn(s, "\n");
	*p = s[len] ? s + len + 1 : s + len;
	if (len > 0 && s[len - 1] == '\r')
		len--;
	l->count = 0;
	for (size_t i = 0; l->count < FIELDS_MAX;) {
		size_t n = 0;
		while (i + n < len && s[i + n] != ':')
			n++;
		l->f[l->count] = s + i;
		l->n[l->count++] = n;
		i += n;
		if (i >= len)
			break;
		i++; /* ':' */
	}
	return 1;
}

static int field_is(const struct line *l, int i, const char *s)
{
	return i < l->count && l->n[i] == strlen(s) && strncmp(l->f[i], s, l->n[i]) == 0;
}

/* Comments, NIS compatibility entries (+/-) and short lines are skipped. */
static int usable(const struct line *l, int min_fields)
{
	return l->count >= min_fields && l->n[0] > 0 && l->f[0][0] != '#' && l->f[0][0] != '+' && l->f[0][0] != '-';
}

struct pw {
	char name[RUNTIME_USER_MAX + 1];
	uint32_t uid, gid;
};

/* The first passwd entry for name (or, name NULL, for uid). */
static int passwd_find(const char *data, const char *name, uint32_t uid, struct pw *pw)
{
	struct line l;
	uint32_t u, g;

	for (const char *p = data; next_line(&p, &l);) {
		if (!usable(&l, 4) || !parse_id(l.f[2], l.n[2], &u) || !parse_id(l.f[3], l.n[3], &g))
			continue;
		if (name ? !field_is(&l, 0, name) : u != uid)
			continue;
		if (l.n[0] > RUNTIME_USER_MAX)
			continue;
		memcpy(pw->name, l.f[0], l.n[0]);
		pw->name[l.n[0]] = '\0';
		pw->uid = u;
		pw->gid = g;
		return 1;
	}
	return 0;
}

static int group_find(const char *data, const char *name, uint32_t *gid)
{
	struct line l;

	for (const char *p = data; next_line(&p, &l);)
		if (usable(&l, 3) && field_is(&l, 0, name) && parse_id(l.f[2], l.n[2], gid))
			return 1;
	return 0;
}

/* l's member list (field 3) has user. */
static int has_member(const struct line *l, const char *user)
{
	size_t ulen = strlen(user);

	if (l->count < 4)
		return 0;
	for (const char *m = l->f[3], *end = l->f[3] + l->n[3]; m < end;) {
		size_t n = 0;
		while (m + n < end && m[n] != ',')
			n++;
		if (n == ulen && strncmp(m, user, n) == 0)
			return 1;
		m += n + 1;
	}
	return 0;
}

static int groups_of(const char *data, const char *user, gid_t *groups, size_t room, size_t *count,
		     struct ember_error *e)
{
	char q[RT_QUOTE_MAX];
	struct line l;
	uint32_t g;

	*count = 0;
	for (const char *p = data; next_line(&p, &l);) {
		if (!usable(&l, 4) || !parse_id(l.f[2], l.n[2], &g) || !has_member(&l, user))
			continue;
		size_t i = 0;
		while (i < *count && groups[i] != g)
			i++;
		if (i < *count)
			continue;
		if (*count == room)
			return err_set_name(e, EMBER_ERROR_INVALID_ARGUMENT, E2BIG,
					    "user \"%s\": in more than %zu groups", rt_quote(user, q), room);
		groups[(*count)++] = g;
	}
	return 0;
}

int runtime_user_resolve(int rootfs_fd, const char *user, uid_t *uid, gid_t *gid, gid_t *groups,
			 size_t *ngroups, struct ember_error *e)
{
	char q[RT_QUOTE_MAX];
	struct rt_user u;
	struct pw pw;
	size_t room = *ngroups;
	int r, found = 0;

	if ((r = rt_user_parse("user", user, &u, e)) < 0)
		return r;
	*ngroups = 0;
	if (u.user_numeric && u.group[0] && u.group_numeric) {
		*uid = u.uid;
		*gid = u.gid;
		return 0;
	}

	_cleanup_free_ char *passwd = NULL;
	struct ember_error pe;
	r = read_etc(rootfs_fd, "passwd", &passwd, &pe);
	if (r < 0 && !(r == -ENOENT && u.user_numeric)) {
		*e = pe;
		return err_wrap(e, "user \"%s\"", rt_quote(user, q));
	}
	if (passwd)
		found = u.user_numeric ? passwd_find(passwd, NULL, u.uid, &pw) : passwd_find(passwd, u.user, 0, &pw);
	if (!found && !u.user_numeric)
		return err_set_name(e, EMBER_ERROR_NOT_FOUND, ENOENT, "user \"%s\": not found in /etc/passwd",
				    rt_quote(u.user, q));
	*uid = found ? pw.uid : u.uid;

	if (u.group[0] && u.group_numeric) {
		*gid = u.gid;
		return 0;
	}

	_cleanup_free_ char *group = NULL;
	r = read_etc(rootfs_fd, "group", &group, &pe);
	if (r < 0 && !(r == -ENOENT && !u.group[0])) {
		*e = pe;
		return err_wrap(e, "user \"%s\"", rt_quote(user, q));
	}
	if (u.group[0]) {
		uint32_t g;
		if (!group || !group_find(group, u.group, &g))
			return err_set_name(e, EMBER_ERROR_NOT_FOUND, ENOENT, "group \"%s\": not found in /etc/group",
					    rt_quote(u.group, q));
		*gid = g;
		return 0;
	}
	*gid = found ? pw.gid : 0;
	if (found && group && (r = groups_of(group, pw.name, groups, room, ngroups, e)) < 0)
		return r;
	return 0;
}
