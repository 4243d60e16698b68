/* SPDX-License-Identifier: Apache-2.0 */
/* cgroups v1 and v2 for containers: see runtime.h. */
#include "runtime/runtime.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>

#include "runtime/runtime-internal.h"
#include "util/err.h"

#ifndef CGROUP_SUPER_MAGIC
#define CGROUP_SUPER_MAGIC 0x27e0eb
#endif
#ifndef SYSFS_MAGIC
#define SYSFS_MAGIC 0x62656572
#endif
#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif

#define CG_VALUE_MAX 4096          /* a value or keyed file: more is not a cgroup file */
#define CG_PROCS_MAX ((size_t)8 << 20) /* cgroup.procs: 4M pids of 7 digits and more */
#define CG_DEPTH_MAX 32            /* components of rel */
#define CG_KILL_PASSES 32          /* over cgroup.procs while new processes show up */
#define CG_WALK_TRIES 16           /* creations whose parents another removal took */
#define CG_UNLIMITED_V1 ((uint64_t)1 << 62) /* PAGE_COUNTER_MAX and its page-rounded kin */

/* v1 controllers, in the order they are entered (freezer and cpuset
   last: they matter least for accounting). v2 uses only slot 0; its
   device cgroup is an eBPF program, not a controller. devices only with
   CONFIG_CGROUP_DEVICES: without it nothing writes the rules there. */
enum { CG_MEMORY, CG_CPU, CG_CPUACCT, CG_PIDS, CG_DEVICES, CG_FREEZER, CG_CPUSET, CG_NCTRL };
static const char *const cg_names[CG_NCTRL] = { "memory", "cpu", "cpuacct", "pids", "devices", "freezer", "cpuset" };

/* v2 controllers ember enables, as bits of runtime_cgroup.v2_have. */
static const char *const cg_v2_enable[] = { "memory", "cpu", "pids", "io" };

/* v1 keeps no descriptor between operations (a daemon supervises many
   tasks, each with up to six hierarchies): each public call opens what it
   needs in a view of its own (cg_attach()) and closes it again
   (cg_detach()); v2 keeps the one cgroup directory, clone3's
   CLONE_INTO_CGROUP needs it. */
struct cg_dir {
	int root;        /* the hierarchy's root (O_PATH), -1 when missing or detached */
	int fd;          /* the cgroup (O_PATH|O_DIRECTORY), -1 when missing or detached */
	int same_as;     /* an earlier slot on the same hierarchy (cpu,cpuacct), else -1 */
	int present;     /* v1: the cgroup exists in this hierarchy */
	char *root_path; /* v1: where the hierarchy is mounted */
};

struct runtime_cgroup {
	atomic_int refs; /* a task and the jobs acting on it share one */
	int version;
	char *rel;
	unsigned v2_have; /* v2: controllers cgroup.controllers lists, bit i = cg_names[i] */
	struct cg_dir d[CG_NCTRL];
};

/* ---- small helpers ---- */

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Backoff for the bounded waits: 1, 2, 4 .. 64 ms. */
static long backoff(long ms)
{
	return ms < 64 ? ms * 2 : ms;
}

static int cg_rel_check(const char *rel, struct ember_error *e)
{
	char q[RT_QUOTE_MAX];
	size_t parts = 0;

	if (!rel || !*rel || rel[0] == '/')
		return rt_bad(e, "cgroup: path \"%s\": must be relative and not empty", rt_quote(rel ? rel : "", q));
	for (const char *p = rel; *p;) {
		size_t n = strcspn(p, "/");
		if (n == 0 || (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
			return rt_bad(e, "cgroup: path \"%s\": empty, \".\" or \"..\" component", rt_quote(rel, q));
		if (++parts > CG_DEPTH_MAX)
			return rt_bad(e, "cgroup: path \"%s\": more than %d components", rt_quote(rel, q), CG_DEPTH_MAX);
		p += n;
		if (*p == '/' && !*++p)
			return rt_bad(e, "cgroup: path \"%s\": trailing '/'", rt_quote(rel, q));
	}
	return 0;
}

/* label: the file, or "freezer/cgroup.procs" where the file alone does
   not say which hierarchy. */
static int cg_write(int dirfd, const char *label, const char *file, const char *value,
		    struct ember_error *e)
{
	size_t len = strlen(value);

	_cleanup_close_ int fd = openat(dirfd, file, O_WRONLY | O_TRUNC | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return err_sys(e, errno, "cgroup: %s: \"%s\"", label, value);
	ssize_t n = write(fd, value, len);
	if (n < 0)
		return err_sys(e, errno, "cgroup: %s: \"%s\"", label, value);
	if ((size_t)n != len)
		return err_set(e, EIO, "cgroup: %s: \"%s\": short write", label, value);
	return 0;
}

/* The whole of a small file into buf (NUL-terminated). E2BIG when it
   does not fit. */
static int cg_read(int dirfd, const char *file, char *buf, size_t size, struct ember_error *e)
{
	size_t got = 0;

	_cleanup_close_ int fd = openat(dirfd, file, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return err_sys(e, errno, "cgroup: read %s", file);
	for (;;) {
		char extra;
		/* Full: one more byte tells a file of exactly size - 1 from a longer one. */
		ssize_t n = got < size - 1 ? read(fd, buf + got, size - 1 - got) : read(fd, &extra, 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return err_sys(e, errno, "cgroup: read %s", file);
		if (n == 0)
			break;
		if (got == size - 1)
			return err_set(e, E2BIG, "cgroup: read %s: more than %zu bytes", file, size - 1);
		got += (size_t)n;
	}
	buf[got] = '\0';
	return 0;
}

/* A decimal u64 from s .. end (exclusive), nothing else. */
static int parse_u64(const char *s, const char *end, uint64_t *v)
{
	uint64_t x = 0;

	if (s == end)
		return -EINVAL;
	for (; s < end; s++) {
		if (*s < '0' || *s > '9')
			return -EINVAL;
		if (x > (UINT64_MAX - (uint64_t)(*s - '0')) / 10)
			return -ERANGE;
		x = x * 10 + (uint64_t)(*s - '0');
	}
	*v = x;
	return 0;
}

/* A one-value file: "N\n", or "max\n" (-1 when max_ok). */
static int cg_read_value(int dirfd, const char *file, int max_ok, int64_t *v, struct ember_error *e)
{
	char buf[64];
	uint64_t x;
	int r;

	if ((r = cg_read(dirfd, file, buf, sizeof(buf), e)) < 0)
		return r;
	size_t n = strlen(buf);
	if (n && buf[n - 1] == '\n')
		buf[--n] = '\0';
	if (max_ok && strcmp(buf, "max") == 0) {
		*v = -1;
		return 0;
	}
	if (parse_u64(buf, buf + n, &x) < 0 || x > INT64_MAX)
		return err_set(e, EINVAL, "cgroup: %s: not a number: \"%.32s\"", file, buf);
	*v = (int64_t)x;
	return 0;
}

/* "key N" in a keyed file (memory.events, cpu.stat, memory.oom_control):
   0 found, 1 absent, < 0 malformed value. */
static int keyed(const char *buf, const char *key, uint64_t *v)
{
	size_t klen = strlen(key);

	for (const char *p = buf; *p;) {
		const char *eol = strchrnul(p, '\n');
		if ((size_t)(eol - p) > klen && strncmp(p, key, klen) == 0 && p[klen] == ' ')
			return parse_u64(p + klen + 1, eol, v);
		p = *eol ? eol + 1 : eol;
	}
	return 1;
}

/* A keyed file's value, or nothing (*found 0) when the file or the key is
   absent. */
static int cg_read_keyed(int dirfd, const char *file, const char *key, uint64_t *v, int *found,
			 struct ember_error *e)
{
	char buf[CG_VALUE_MAX];
	int r;

	*found = 0;
	if ((r = cg_read(dirfd, file, buf, sizeof(buf), e)) < 0)
		return r == -ENOENT ? (err_clear(e), 0) : r;
	if ((r = keyed(buf, key, v)) < 0)
		return err_set(e, EINVAL, "cgroup: %s: %s: not a number", file, key);
	*found = r == 0;
	return 0;
}

/* Whether word is one of the space- or comma-separated words of list. */
static int has_word(const char *list, const char *word)
{
	size_t n = strlen(word);

	for (const char *p = list; *p;) {
		size_t m = strcspn(p, " ,\n");
		if (m == n && strncmp(p, word, n) == 0)
			return 1;
		p += m;
		p += strspn(p, " ,\n");
	}
	return 0;
}

/* ---- detection and hierarchies ---- */

int runtime_cgroup_detect(const char *mnt, int *version, struct ember_error *e)
{
	struct statfs sf;

	if (statfs(mnt, &sf) < 0)
		return err_sys(e, errno, "cgroup: statfs %s", mnt);
	*version = (uint32_t)sf.f_type == CGROUP2_SUPER_MAGIC ? RUNTIME_CGROUP_V2 : RUNTIME_CGROUP_V1;
	return 0;
}

int runtime_cgroup_mount_if_none(const char *mnt, int *mounted, struct ember_error *e)
{
	struct statfs sf;

	*mounted = 0;
	if (statfs(mnt, &sf) < 0)
		return err_sys(e, errno, "cgroup: %s (is sysfs mounted?)", mnt);
	/* sysfs's own directory: no init system mounted anything there. */
	if ((uint32_t)sf.f_type != SYSFS_MAGIC)
		return 0;
	if (mount("cgroup2", mnt, "cgroup2", MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RELATIME, NULL) < 0)
		return errno == ENODEV ? err_set(e, ENODEV, "cgroup: this kernel has no cgroup v2 (CONFIG_CGROUPS)")
				       : err_sys(e, errno, "cgroup: mount cgroup2 on %s", mnt);
	*mounted = 1;
	return 0;
}

/* mountinfo escapes ' ', '\t', '\n' and '\\' as \ooo. */
static void unescape(char *s)
{
	char *w = s;

	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' && s[3] >= '0' &&
		    s[3] <= '7') {
			*w++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
			s += 3;
		} else {
			*w++ = *s;
		}
	}
	*w = '\0';
}

/* A v1 hierarchy carrying name mounted directly below mnt, by
   /proc/self/mountinfo: its mount point in out, 1 found, 0 not. */
static int mountinfo_find(const char *mnt, const char *name, char *out, size_t size)
{
	char line[4096];
	size_t mlen = strlen(mnt);

	_cleanup_fclose_ FILE *f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		/* id parent major:minor root mountpoint options [optional...] - fstype source superoptions */
		char *save = NULL, *field[5] = { 0 };
		char *sep = strstr(line, " - ");
		if (!sep)
			continue;
		*sep = '\0';
		char *tok = strtok_r(line, " ", &save);
		for (int i = 0; tok && i < 5; i++, tok = strtok_r(NULL, " ", &save))
			field[i] = tok;
		char *rest = sep + 3, *fstype = strtok_r(rest, " ", &save);
		char *source = strtok_r(NULL, " ", &save), *super = strtok_r(NULL, " \n", &save);
		if (!field[4] || !fstype || !source || !super || strcmp(fstype, "cgroup") != 0 ||
		    !has_word(super, name))
			continue;
		unescape(field[4]);
		const char *mp = field[4];
		if (strncmp(mp, mnt, mlen) != 0 || mp[mlen] != '/' || !mp[mlen + 1] || strchr(mp + mlen + 1, '/'))
			continue;
		if (strlen(mp) >= size)
			continue;
		strcpy(out, mp);
		return 1;
	}
	return 0;
}

/* The root of the v1 hierarchy of name below mnt (mntfd) into *out (an
   O_PATH fd), or -1 when there is none. */
static int v1_root(int mntfd, const char *mnt, const char *name, int *out, char **where, struct ember_error *e)
{
	struct statfs sf;
	char path[4096];

	*out = -1;
	snprintf(path, sizeof(path), "%s/%s", mnt, name);
	_cleanup_close_ int fd = openat(mntfd, name, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 && errno != ENOENT)
		return err_sys(e, errno, "cgroup: open %s/%s", mnt, name);
	if (fd < 0 && mountinfo_find(mnt, name, path, sizeof(path))) {
		fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0 && errno != ENOENT)
			return err_sys(e, errno, "cgroup: open %s", path);
	}
	if (fd < 0)
		return 0;
	/* A bare directory on the tmpfs is no hierarchy: cgroups made there
	   would limit nothing. */
	if (fstatfs(fd, &sf) < 0)
		return err_sys(e, errno, "cgroup: statfs %s/%s", mnt, name);
	if ((uint32_t)sf.f_type == CGROUP_SUPER_MAGIC) {
		if (!(*where = strdup(path)))
			return rt_oom(e);
		*out = TAKE_FD(fd);
	}
	return 0;
}

/* Copy a cpuset file of the parent into a new cpuset cgroup when it is
   empty there (a v1 cpuset cgroup starts with none, and no task can
   enter it then). */
static int cpuset_inherit(int parent, int dir, const char *file, struct ember_error *e)
{
	char have[CG_VALUE_MAX], want[CG_VALUE_MAX];
	int r;

	if ((r = cg_read(dir, file, have, sizeof(have), e)) < 0)
		return r;
	if (have[strspn(have, " \n")])
		return 0;
	if ((r = cg_read(parent, file, want, sizeof(want), e)) < 0)
		return r;
	want[strcspn(want, "\n")] = '\0';
	return cg_write(dir, file, file, want, e);
}

/* Open (or, with create, mkdir -p) rel below root; an O_PATH fd.
   what names the hierarchy in messages ("memory", "cgroup2"). */
static int walk_once(int root, const char *rel, int create, int cpuset, unsigned v2_want, const char *what,
		     struct ember_error *e)
{
	char comp[256];
	int r;

	if (!create) {
		int fd = openat(root, rel, O_PATH | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
		if (fd < 0)
			return errno == ENOENT ? err_set_name(e, EMBER_ERROR_NOT_FOUND, ENOENT,
							      "cgroup: %s: %s: not found", what, rel)
					       : err_sys(e, errno, "cgroup: %s: open %s", what, rel);
		return fd;
	}
	_cleanup_close_ int cur = fcntl(root, F_DUPFD_CLOEXEC, 3);
	if (cur < 0)
		return err_sys(e, errno, "cgroup: %s: dup", what);
	for (const char *p = rel; *p;) {
		size_t n = strcspn(p, "/");
		if (n >= sizeof(comp))
			return rt_bad(e, "cgroup: %s: component of %zu bytes in %s", what, n, rel);
		memcpy(comp, p, n);
		comp[n] = '\0';
		int at = (int)(p - rel), upto = (int)(p + n - rel); /* rel[0 .. at) is cur */
		p += n + (p[n] == '/');

		if (v2_want) {
			char avail[CG_VALUE_MAX], on[CG_VALUE_MAX], add[64] = "", label[320];
			if ((r = cg_read(cur, "cgroup.controllers", avail, sizeof(avail), e)) < 0 ||
			    (r = cg_read(cur, "cgroup.subtree_control", on, sizeof(on), e)) < 0)
				return r;
			for (size_t i = 0; i < ARRAY_SIZE(cg_v2_enable); i++)
				if ((v2_want & (1u << i)) && has_word(avail, cg_v2_enable[i]) && !has_word(on, cg_v2_enable[i]))
					snprintf(add + strlen(add), sizeof(add) - strlen(add), "%s+%s", *add ? " " : "",
						 cg_v2_enable[i]);
			/* Which ancestor: mnt's own file, or "ember/cgroup.subtree_control". */
			snprintf(label, sizeof(label), "%.*scgroup.subtree_control", at, rel);
			if (*add && (r = cg_write(cur, label, "cgroup.subtree_control", add, e)) < 0)
				return r;
		}
		int made = mkdirat(cur, comp, 0755) == 0;
		if (!made && errno != EEXIST)
			return err_sys(e, errno, "cgroup: %s: mkdir %.*s", what, upto, rel);
		int next = openat(cur, comp, O_PATH | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
		if (next < 0)
			return err_sys(e, errno, "cgroup: %s: open %.*s", what, upto, rel);
		/* Not only when made here: another thread may have made it a
		   moment ago and not filled it yet (two tasks starting). */
		if (cpuset && ((r = cpuset_inherit(cur, next, "cpuset.cpus", e)) < 0 ||
			       (r = cpuset_inherit(cur, next, "cpuset.mems", e)) < 0)) {
			close(next);
			return r;
		}
		close(cur);
		cur = next;
	}
	return TAKE_FD(cur);
}

/* walk_once(), again while a parent it made or opened vanishes under it
   (ENOENT, or ENODEV from a file of a removed cgroup): another task's
   removal takes its parents along once they are empty, and may come
   between this mkdir of a parent and the mkdir of the cgroup inside. */
static int walk(int root, const char *rel, int create, int cpuset, unsigned v2_want, const char *what,
		struct ember_error *e)
{
	int r;

	for (int tries = 1;; tries++) {
		r = walk_once(root, rel, create, cpuset, v2_want, what, e);
		if (!create || (r != -ENOENT && r != -ENODEV) || tries == CG_WALK_TRIES)
			return r;
		err_clear(e);
	}
}

struct runtime_cgroup *runtime_cgroup_ref(struct runtime_cgroup *cg)
{
	if (cg)
		atomic_fetch_add(&cg->refs, 1);
	return cg;
}

struct runtime_cgroup *runtime_cgroup_free(struct runtime_cgroup *cg)
{
	if (!cg || atomic_fetch_sub(&cg->refs, 1) > 1)
		return NULL;
	for (int i = 0; i < CG_NCTRL; i++) {
		close_keep_errno(cg->d[i].fd);
		close_keep_errno(cg->d[i].root);
		free(cg->d[i].root_path);
	}
	free(cg->rel);
	free(cg);
	return NULL;
}

/* v1: close every descriptor until the next call. */
static void cg_detach(struct runtime_cgroup *cg)
{
	if (cg->version == RUNTIME_CGROUP_V2)
		return;
	for (int i = 0; i < CG_NCTRL; i++) {
		cg->d[i].fd = close_keep_errno(cg->d[i].fd);
		cg->d[i].root = close_keep_errno(cg->d[i].root);
	}
}

/* v1: open the hierarchies' roots and the cgroup in each, as get_v1()
   found them, into a copy of cg (the view): threads may act on one cgroup
   at once (the loop reads a task's stats while a job kills it), each with
   its own descriptors. A cgroup gone from a hierarchy meanwhile is missing
   there. cg_detach(view) closes them again. */
static int cg_attach(const struct runtime_cgroup *orig, struct runtime_cgroup *cg, struct ember_error *e)
{
	*cg = *orig;
	if (cg->version == RUNTIME_CGROUP_V2)
		return 0;
	for (int i = 0; i < CG_NCTRL; i++) {
		if (!cg->d[i].present)
			continue;
		if (cg->d[i].same_as >= 0) {
			int j = cg->d[i].same_as;
			if (cg->d[j].fd >= 0 && (cg->d[i].fd = fcntl(cg->d[j].fd, F_DUPFD_CLOEXEC, 3)) < 0)
				goto fail;
			continue;
		}
		cg->d[i].root = open(cg->d[i].root_path, O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (cg->d[i].root < 0)
			goto fail;
		cg->d[i].fd = openat(cg->d[i].root, cg->rel, O_PATH | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
		if (cg->d[i].fd < 0 && errno != ENOENT)
			goto fail;
	}
	return 0;
fail:;
	int err = errno;
	cg_detach(cg);
	return err_sys(e, err, "cgroup: open %s", cg->rel);
}

static void cgroup_freep(struct runtime_cgroup **cg)
{
	runtime_cgroup_free(*cg);
}

static int get_v2(struct runtime_cgroup *cg, int mntfd, int create, struct ember_error *e)
{
	char avail[CG_VALUE_MAX];
	int r;

	cg->d[0].root = fcntl(mntfd, F_DUPFD_CLOEXEC, 3);
	if (cg->d[0].root < 0)
		return err_sys(e, errno, "cgroup: dup");
	unsigned want = create ? (1u << ARRAY_SIZE(cg_v2_enable)) - 1 : 0;
	if ((r = walk(mntfd, cg->rel, create, 0, want, "cgroup2", e)) < 0)
		return r;
	cg->d[0].fd = r;
	if ((r = cg_read(cg->d[0].fd, "cgroup.controllers", avail, sizeof(avail), e)) < 0)
		return r;
	for (int i = 0; i < CG_NCTRL; i++)
		if (has_word(avail, cg_names[i]))
			cg->v2_have |= 1u << i;
	return 0;
}

static int get_v1(struct runtime_cgroup *cg, int mntfd, const char *mnt, int create, struct ember_error *e)
{
	struct stat st[CG_NCTRL];
	int r, found = 0;

	for (int i = 0; i < CG_NCTRL; i++) {
		if (i == CG_DEVICES && !ENABLED(CONFIG_CGROUP_DEVICES))
			continue;
		if ((r = v1_root(mntfd, mnt, cg_names[i], &cg->d[i].root, &cg->d[i].root_path, e)) < 0)
			return r;
		if (cg->d[i].root < 0)
			continue;
		if (fstat(cg->d[i].root, &st[i]) < 0)
			return err_sys(e, errno, "cgroup: stat %s/%s", mnt, cg_names[i]);
		for (int j = 0; j < i; j++)
			if (cg->d[j].root >= 0 && cg->d[j].same_as < 0 && st[j].st_dev == st[i].st_dev)
				cg->d[i].same_as = j;
		if (cg->d[i].same_as >= 0) {
			if (cg->d[cg->d[i].same_as].fd < 0) {
				close(cg->d[i].root);
				cg->d[i].root = -1;
				cg->d[i].same_as = -1;
				continue;
			}
			cg->d[i].fd = fcntl(cg->d[cg->d[i].same_as].fd, F_DUPFD_CLOEXEC, 3);
			if (cg->d[i].fd < 0)
				return err_sys(e, errno, "cgroup: dup");
			continue;
		}
		if ((r = walk(cg->d[i].root, cg->rel, create, i == CG_CPUSET, 0, cg_names[i], e)) == -ENOENT && !create) {
			/* Gone from this hierarchy (or made before it was mounted). */
			err_clear(e);
			close(cg->d[i].root);
			cg->d[i].root = -1;
			continue;
		}
		if (r < 0)
			return r;
		cg->d[i].fd = r;
		found = 1;
	}
	if (!found && !create)
		return err_set_name(e, EMBER_ERROR_NOT_FOUND, ENOENT, "cgroup: %s: not found", cg->rel);
	if (!found)
		return err_set(e, ENOENT, "cgroup: no v1 hierarchy of memory, cpu, pids or freezer below %s", mnt);
	for (int i = 0; i < CG_NCTRL; i++)
		cg->d[i].present = cg->d[i].fd >= 0;
	cg_detach(cg);
	return 0;
}

int runtime_cgroup_get(const char *mnt, const char *rel, int version, int flags,
		       struct runtime_cgroup **out, struct ember_error *e)
{
	int r;

	*out = NULL;
	if ((r = cg_rel_check(rel, e)) < 0)
		return r;
	if (!version && (r = runtime_cgroup_detect(mnt, &version, e)) < 0)
		return r;
	_cleanup_close_ int mntfd = open(mnt, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (mntfd < 0)
		return err_sys(e, errno, "cgroup: open %s", mnt);
	_cleanup_(cgroup_freep) struct runtime_cgroup *cg = calloc(1, sizeof(*cg));
	if (!cg || !(cg->rel = strdup(rel)))
		return rt_oom(e);
	cg->refs = 1;
	cg->version = version;
	for (int i = 0; i < CG_NCTRL; i++)
		cg->d[i] = (struct cg_dir){ .root = -1, .fd = -1, .same_as = -1 };
	int create = flags & RUNTIME_CGROUP_CREATE;
	r = version == RUNTIME_CGROUP_V2 ? get_v2(cg, mntfd, create, e) : get_v1(cg, mntfd, mnt, create, e);
	if (r < 0)
		return r;
	*out = TAKE_PTR(cg);
	return 0;
}

int runtime_cgroup_create(const char *mnt, const char *rel, struct runtime_cgroup **out,
			  struct ember_error *e)
{
	return runtime_cgroup_get(mnt, rel, 0, RUNTIME_CGROUP_CREATE, out, e);
}

int runtime_cgroup_open(const char *mnt, const char *rel, struct runtime_cgroup **out,
			struct ember_error *e)
{
	return runtime_cgroup_get(mnt, rel, 0, 0, out, e);
}

int runtime_cgroup_version(const struct runtime_cgroup *cg)
{
	return cg->version;
}

int runtime_cgroup_fd(const struct runtime_cgroup *cg)
{
	return cg->version == RUNTIME_CGROUP_V2 ? cg->d[0].fd : -1;
}

bool runtime_cgroup_has(const struct runtime_cgroup *cg, const char *controller)
{
	for (int i = 0; i < CG_NCTRL; i++) {
		if (strcmp(controller, cg_names[i]) != 0)
			continue;
		if (cg->version == RUNTIME_CGROUP_V2)
			return i == CG_FREEZER || (cg->v2_have & (1u << i));
		return cg->d[i].present;
	}
	return false;
}

/* The directory that holds controller i's files (v2: the one). */
static int dir_of(const struct runtime_cgroup *cg, int i)
{
	return cg->version == RUNTIME_CGROUP_V2 ? cg->d[0].fd : cg->d[i].fd;
}

/* ---- limits ---- */

/* An integer at o[key] into *v: 1 given, 0 absent. */
static int get_int(json_t *o, const char *path, const char *key, int64_t *v, struct ember_error *e)
{
	json_t *j = json_object_get(o, key);

	if (!j || json_is_null(j))
		return 0;
	if (!json_is_integer(j))
		return rt_bad(e, "cgroup: linux.resources.%s.%s: must be an integer", path, key);
	*v = (int64_t)json_integer_value(j);
	return 1;
}

/* Every key of o is one of keys. */
static int known_keys(json_t *o, const char *path, const char *const *keys, size_t n, struct ember_error *e)
{
	char q[RT_QUOTE_MAX];
	const char *k;
	json_t *v;

	if (!json_is_object(o))
		return rt_bad(e, "cgroup: linux.resources%s%s: must be an object", *path ? "." : "", path);
	json_object_foreach(o, k, v) {
		size_t i = 0;
		while (i < n && strcmp(k, keys[i]) != 0)
			i++;
		if (i == n)
			return rt_unsupported(e, "cgroup: linux.resources%s%s.%s: not supported", *path ? "." : "", path,
					      rt_quote(k, q));
	}
	return 0;
}

/* A file of controller i, which must be there. */
static int set_file(struct runtime_cgroup *cg, int i, const char *file, const char *value,
		    struct ember_error *e)
{
	int dir = dir_of(cg, i);

	if (dir < 0)
		return err_set(e, ENOENT, "cgroup: %s: \"%s\": no %s hierarchy", file, value, cg_names[i]);
	return cg_write(dir, file, file, value, e);
}

/* Like set_file, but a file that is not there is skipped (memsw and
   swap.max without swap accounting). */
static int set_file_opt(struct runtime_cgroup *cg, int i, const char *file, const char *value,
			struct ember_error *e)
{
	int dir = dir_of(cg, i);

	if (dir < 0 || faccessat(dir, file, F_OK, 0) < 0)
		return 0;
	return cg_write(dir, file, file, value, e);
}

static void fmt_i64(char buf[24], int64_t v, int v2)
{
	if (v2 && v == -1)
		strcpy(buf, "max");
	else
		snprintf(buf, 24, "%" PRId64, v);
}

/* A number into a file of controller i; -1 is "max" on v2. */
static int set_num(struct runtime_cgroup *cg, int i, const char *file, int64_t v, struct ember_error *e)
{
	char a[24];

	fmt_i64(a, v, cg->version == RUNTIME_CGROUP_V2);
	return set_file(cg, i, file, a, e);
}

static int set_num_opt(struct runtime_cgroup *cg, int i, const char *file, int64_t v, struct ember_error *e)
{
	char a[24];

	fmt_i64(a, v, cg->version == RUNTIME_CGROUP_V2);
	return set_file_opt(cg, i, file, a, e);
}

static int set_memory(struct runtime_cgroup *cg, json_t *m, struct ember_error *e)
{
	static const char *const keys[] = { "limit", "reservation", "swap", "kernel", "kernelTCP", "swappiness",
					    "disableOOMKiller" };
	int v2 = cg->version == RUNTIME_CGROUP_V2;
	int64_t limit = 0, swap = 0, resv = 0, swappiness = 0;
	int r, has_limit, has_swap, has_resv, has_swappiness;

	if ((r = known_keys(m, "memory", keys, ARRAY_SIZE(keys), e)) < 0 ||
	    (has_limit = r = get_int(m, "memory", "limit", &limit, e)) < 0 ||
	    (has_swap = r = get_int(m, "memory", "swap", &swap, e)) < 0 ||
	    (has_resv = r = get_int(m, "memory", "reservation", &resv, e)) < 0 ||
	    (has_swappiness = r = get_int(m, "memory", "swappiness", &swappiness, e)) < 0)
		return r;
	json_t *dis = json_object_get(m, "disableOOMKiller");
	if (dis && !json_is_boolean(dis))
		return rt_bad(e, "cgroup: linux.resources.memory.disableOOMKiller: must be a boolean");
	if ((has_limit && limit < -1) || (has_swap && swap < -1) || (has_resv && resv < -1))
		return rt_bad(e, "cgroup: linux.resources.memory: limits are bytes or -1");

	if (v2) {
		if (has_limit && (r = set_num(cg, CG_MEMORY, "memory.max", limit, e)) < 0)
			return r;
		if (has_swap && swap != 0) {
			/* memory.swap.max is swap alone; the spec's swap is memory + swap. */
			int64_t s = swap;
			if (swap != -1) {
				if (!has_limit || limit <= 0)
					return rt_bad(e, "cgroup: linux.resources.memory.swap: needs a memory limit");
				if (swap < limit)
					return rt_bad(e, "cgroup: linux.resources.memory.swap: below the memory limit");
				s = swap - limit;
			}
			if ((r = set_num_opt(cg, CG_MEMORY, "memory.swap.max", s, e)) < 0)
				return r;
		}
		if (has_resv && (r = set_num(cg, CG_MEMORY, "memory.low", resv, e)) < 0)
			return r;
		/* swappiness and the OOM killer switch have no v2 file; crun
		   ignores them too. */
		return 0;
	}

	if (has_swap && swap > 0 && has_limit && limit > 0 && swap < limit)
		return rt_bad(e, "cgroup: linux.resources.memory.swap: below the memory limit");
	if (has_swap && swap != 0) {
		/* The kernel keeps limit <= memsw: raise memsw first, lower it last. */
		int64_t cur = -1;
		int have_memsw = cg->d[CG_MEMORY].fd >= 0 &&
				 faccessat(cg->d[CG_MEMORY].fd, "memory.memsw.limit_in_bytes", F_OK, 0) == 0;
		if (have_memsw &&
		    (r = cg_read_value(cg->d[CG_MEMORY].fd, "memory.memsw.limit_in_bytes", 0, &cur, e)) < 0)
			return r;
		int memsw_first = swap == -1 || (uint64_t)swap >= (uint64_t)cur;
		if (memsw_first && (r = set_num_opt(cg, CG_MEMORY, "memory.memsw.limit_in_bytes", swap, e)) < 0)
			return r;
		if (has_limit && (r = set_num(cg, CG_MEMORY, "memory.limit_in_bytes", limit, e)) < 0)
			return r;
		if (!memsw_first && (r = set_num_opt(cg, CG_MEMORY, "memory.memsw.limit_in_bytes", swap, e)) < 0)
			return r;
	} else if (has_limit &&
		   (r = set_num(cg, CG_MEMORY, "memory.limit_in_bytes", limit, e)) < 0) {
		return r;
	}
	if (has_resv && (r = set_num(cg, CG_MEMORY, "memory.soft_limit_in_bytes", resv, e)) < 0)
		return r;
	if (has_swappiness) {
		if (swappiness < 0 || swappiness > 100)
			return rt_bad(e, "cgroup: linux.resources.memory.swappiness: must be 0 .. 100");
		if ((r = set_num(cg, CG_MEMORY, "memory.swappiness", swappiness, e)) < 0)
			return r;
	}
	if (dis && (r = set_file(cg, CG_MEMORY, "memory.oom_control", json_is_true(dis) ? "1" : "0", e)) < 0)
		return r;
	return 0;
}

static int set_cpu(struct runtime_cgroup *cg, json_t *c, struct ember_error *e)
{
	static const char *const keys[] = { "shares", "quota", "period", "realtimeRuntime", "realtimePeriod",
					    "cpus", "mems" };
	int v2 = cg->version == RUNTIME_CGROUP_V2;
	int64_t shares = 0, quota = 0, period = 0, rt_runtime = 0, rt_period = 0;
	char b[64];
	int r, has_shares, has_quota, has_period, has_rt_runtime, has_rt_period;

	if ((r = known_keys(c, "cpu", keys, ARRAY_SIZE(keys), e)) < 0 ||
	    (has_shares = r = get_int(c, "cpu", "shares", &shares, e)) < 0 ||
	    (has_quota = r = get_int(c, "cpu", "quota", &quota, e)) < 0 ||
	    (has_period = r = get_int(c, "cpu", "period", &period, e)) < 0 ||
	    (has_rt_runtime = r = get_int(c, "cpu", "realtimeRuntime", &rt_runtime, e)) < 0 ||
	    (has_rt_period = r = get_int(c, "cpu", "realtimePeriod", &rt_period, e)) < 0)
		return r;
	if ((has_shares && shares < 0) || (has_period && period < 0) || (has_rt_period && rt_period < 0))
		return rt_bad(e, "cgroup: linux.resources.cpu: shares and periods must not be negative");
	has_shares = has_shares && shares != 0; /* 0: not set, as runc reads it */
	has_quota = has_quota && quota != 0;
	has_period = has_period && period != 0;

	if (v2) {
		if (has_shares) {
			uint64_t s = shares < 2 ? 2 : shares > 262144 ? 262144 : (uint64_t)shares;
			if ((r = set_num(cg, CG_CPU, "cpu.weight", (int64_t)(1 + ((s - 2) * 9999) / 262142), e)) < 0)
				return r;
		}
		if (has_quota || has_period) {
			if (has_quota && quota > 0)
				snprintf(b, sizeof(b), "%" PRId64, quota);
			else
				strcpy(b, "max");
			if (has_period)
				snprintf(b + strlen(b), sizeof(b) - strlen(b), " %" PRId64, period);
			if ((r = set_file(cg, CG_CPU, "cpu.max", b, e)) < 0)
				return r;
		}
		if (has_rt_runtime || has_rt_period)
			return rt_unsupported(e, "cgroup: linux.resources.cpu.realtimeRuntime: not on cgroup v2");
	} else {
		if (has_shares && (r = set_num(cg, CG_CPU, "cpu.shares", shares, e)) < 0)
			return r;
		/* The period first: a quota is checked against it. */
		if (has_period && (r = set_num(cg, CG_CPU, "cpu.cfs_period_us", period, e)) < 0)
			return r;
		if (has_quota && (r = set_num(cg, CG_CPU, "cpu.cfs_quota_us", quota < 0 ? -1 : quota, e)) < 0)
			return r;
		if (has_rt_period && (r = set_num(cg, CG_CPU, "cpu.rt_period_us", rt_period, e)) < 0)
			return r;
		if (has_rt_runtime && (r = set_num(cg, CG_CPU, "cpu.rt_runtime_us", rt_runtime, e)) < 0)
			return r;
	}

	static const char *const sets[][2] = { { "cpus", "cpuset.cpus" }, { "mems", "cpuset.mems" } };
	for (size_t i = 0; i < ARRAY_SIZE(sets); i++) {
		json_t *v = json_object_get(c, sets[i][0]);
		if (!v || json_is_null(v))
			continue;
		if (!json_is_string(v))
			return rt_bad(e, "cgroup: linux.resources.cpu.%s: must be a string", sets[i][0]);
		if (*json_string_value(v) && (r = set_file(cg, CG_CPUSET, sets[i][1], json_string_value(v), e)) < 0)
			return r;
	}
	return 0;
}

static int set_pids(struct runtime_cgroup *cg, json_t *p, struct ember_error *e)
{
	static const char *const keys[] = { "limit" };
	int64_t limit = 0;
	int r;

	if ((r = known_keys(p, "pids", keys, ARRAY_SIZE(keys), e)) < 0 ||
	    (r = get_int(p, "pids", "limit", &limit, e)) <= 0)
		return r;
	if (limit <= 0)
		return set_file(cg, CG_PIDS, "pids.max", "max", e);
	return set_num(cg, CG_PIDS, "pids.max", limit, e);
}

static int set_at(struct runtime_cgroup *cg, json_t *resources, struct ember_error *e)
{
	static const char *const keys[] = { "memory", "cpu", "pids", "devices" };
	json_t *v;
	int r;

	if (!resources || json_is_null(resources))
		return 0;
	if ((r = known_keys(resources, "", keys, ARRAY_SIZE(keys), e)) < 0)
		return r;
	if ((v = json_object_get(resources, "memory")) && (r = set_memory(cg, v, e)) < 0)
		return r;
	if ((v = json_object_get(resources, "cpu")) && (r = set_cpu(cg, v, e)) < 0)
		return r;
	if ((v = json_object_get(resources, "pids")) && (r = set_pids(cg, v, e)) < 0)
		return r;
	return 0;
}

/* ---- processes ---- */

static int enter_at(struct runtime_cgroup *cg, pid_t pid, struct ember_error *e)
{
	char value[24], label[32];
	int r;

	snprintf(value, sizeof(value), "%d", (int)pid);
	for (int i = 0; i < CG_NCTRL; i++) {
		if (cg->d[i].fd < 0 || cg->d[i].same_as >= 0)
			continue;
		snprintf(label, sizeof(label), "%s/cgroup.procs",
			 cg->version == RUNTIME_CGROUP_V2 ? "cgroup2" : cg_names[i]);
		if ((r = cg_write(cg->d[i].fd, label, "cgroup.procs", value, e)) < 0)
			return r;
	}
	return 0;
}

/* The first hierarchy there (every one lists the same processes). */
static int procs_dir(const struct runtime_cgroup *cg)
{
	for (int i = 0; i < CG_NCTRL; i++)
		if (cg->d[i].fd >= 0)
			return cg->d[i].fd;
	return -1;
}

static int pids_at(struct runtime_cgroup *cg, pid_t **pids, size_t *n, struct ember_error *e)
{
	size_t got = 0, cap = 0, size = 0;
	int dir = procs_dir(cg);

	*pids = NULL;
	*n = 0;
	_cleanup_close_ int fd = openat(dir, "cgroup.procs", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return err_sys(e, errno, "cgroup: read cgroup.procs");
	_cleanup_free_ char *buf = NULL;
	for (;;) {
		if (got + 1 >= size) {
			if (size >= CG_PROCS_MAX)
				return err_set(e, E2BIG, "cgroup: read cgroup.procs: more than %zu bytes", CG_PROCS_MAX);
			size_t nsize = size ? size * 2 : 4096;
			char *nb = realloc(buf, nsize);
			if (!nb)
				return rt_oom(e);
			buf = nb;
			size = nsize;
		}
		ssize_t r = read(fd, buf + got, size - 1 - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return err_sys(e, errno, "cgroup: read cgroup.procs");
		if (r == 0)
			break;
		got += (size_t)r;
	}
	buf[got] = '\0';

	_cleanup_free_ pid_t *list = NULL;
	size_t count = 0;
	for (char *p = buf; *p;) {
		char *eol = strchrnul(p, '\n');
		uint64_t v;
		if (parse_u64(p, eol, &v) < 0 || v == 0 || v > INT32_MAX)
			return err_set(e, EINVAL, "cgroup: cgroup.procs: not a pid: \"%.*s\"",
				       (int)(eol - p > 20 ? 20 : eol - p), p);
		if (count == cap) {
			cap = cap ? cap * 2 : 16;
			pid_t *nl = realloc(list, cap * sizeof(*nl));
			if (!nl)
				return rt_oom(e);
			list = nl;
		}
		list[count++] = (pid_t)v;
		p = *eol ? eol + 1 : eol;
	}
	*pids = TAKE_PTR(list);
	*n = count;
	return 0;
}

/* ---- freezer ---- */

/* v1: write state until freezer.state reads it (writing again pushes a
   freeze that stalled on a task in the middle of a fork). */
static int freeze_v1(struct runtime_cgroup *cg, bool frozen, struct ember_error *e)
{
	const char *want = frozen ? "FROZEN" : "THAWED";
	int dir = cg->d[CG_FREEZER].fd;
	char state[64];
	long start = now_ms(), ms = 1;
	int r;

	if (dir < 0)
		return rt_unsupported(e, "cgroup: freezer.state: no freezer hierarchy");
	for (;;) {
		if ((r = cg_write(dir, "freezer.state", "freezer.state", want, e)) < 0 ||
		    (r = cg_read(dir, "freezer.state", state, sizeof(state), e)) < 0)
			return r;
		state[strcspn(state, "\n")] = '\0';
		if (strcmp(state, want) == 0)
			return 0;
		if (now_ms() - start >= RUNTIME_CGROUP_WAIT_MS)
			return err_set(e, ETIMEDOUT, "cgroup: freezer.state: still %s after %d ms", state,
				       RUNTIME_CGROUP_WAIT_MS);
		sleep_ms(ms);
		ms = backoff(ms);
	}
}

static int freeze_v2(struct runtime_cgroup *cg, bool frozen, struct ember_error *e)
{
	int dir = cg->d[0].fd, r, found;
	long start = now_ms(), ms = 1;
	uint64_t v;

	if ((r = cg_write(dir, "cgroup.freeze", "cgroup.freeze", frozen ? "1" : "0", e)) < 0)
		return r;
	for (;;) {
		if ((r = cg_read_keyed(dir, "cgroup.events", "frozen", &v, &found, e)) < 0)
			return r;
		if (!found)
			return err_set(e, ENOENT, "cgroup: cgroup.events: no \"frozen\" line");
		if (v == (frozen ? 1 : 0))
			return 0;
		if (now_ms() - start >= RUNTIME_CGROUP_WAIT_MS)
			return err_set(e, ETIMEDOUT, "cgroup: cgroup.events: not frozen %d after %d ms", frozen ? 1 : 0,
				       RUNTIME_CGROUP_WAIT_MS);
		sleep_ms(ms);
		ms = backoff(ms);
	}
}

static int freeze_at(struct runtime_cgroup *cg, bool frozen, struct ember_error *e)
{
	return cg->version == RUNTIME_CGROUP_V2 ? freeze_v2(cg, frozen, e) : freeze_v1(cg, frozen, e);
}

/* ---- stats ---- */

/* A one-value file of controller i into *v; absent stays as it is. */
static int stat_value(struct runtime_cgroup *cg, int i, const char *file, int64_t *v, struct ember_error *e)
{
	int dir = dir_of(cg, i), r;
	int64_t x;

	if (dir < 0)
		return 0;
	if ((r = cg_read_value(dir, file, 1, &x, e)) < 0)
		return r == -ENOENT ? (err_clear(e), 0) : r;
	*v = x;
	return 0;
}

static int stat_keyed(struct runtime_cgroup *cg, int i, const char *file, const char *key, uint64_t *v,
		      int *found, struct ember_error *e)
{
	int dir = dir_of(cg, i);

	*found = 0;
	return dir < 0 ? 0 : cg_read_keyed(dir, file, key, v, found, e);
}

static int stats_v1(struct runtime_cgroup *cg, struct runtime_cgroup_stats *st, struct ember_error *e)
{
	char state[64];
	int64_t v = -1;
	uint64_t u;
	int r, found;

	if ((r = stat_value(cg, CG_MEMORY, "memory.usage_in_bytes", &st->memory_usage, e)) < 0 ||
	    (r = stat_value(cg, CG_MEMORY, "memory.max_usage_in_bytes", &st->memory_max_usage, e)) < 0 ||
	    (r = stat_value(cg, CG_MEMORY, "memory.limit_in_bytes", &v, e)) < 0)
		return r;
	st->memory_limit = v >= 0 && (uint64_t)v >= CG_UNLIMITED_V1 ? -1 : v;
	if ((r = stat_keyed(cg, CG_MEMORY, "memory.oom_control", "oom_kill", &st->oom_kills, &found, e)) < 0)
		return r;

	v = -1;
	if ((r = stat_value(cg, CG_CPUACCT, "cpuacct.usage", &v, e)) < 0)
		return r;
	if (v >= 0)
		st->cpu_usage_ns = (uint64_t)v;
	/* cpuacct.usage_user and _sys (4.7) are ns; cpuacct.stat is ticks. */
	int64_t user = -1, sys = -1;
	if ((r = stat_value(cg, CG_CPUACCT, "cpuacct.usage_user", &user, e)) < 0 ||
	    (r = stat_value(cg, CG_CPUACCT, "cpuacct.usage_sys", &sys, e)) < 0)
		return r;
	if (user >= 0 && sys >= 0) {
		st->cpu_user_ns = (uint64_t)user;
		st->cpu_system_ns = (uint64_t)sys;
	} else {
		long hz = sysconf(_SC_CLK_TCK);
		if (hz <= 0)
			hz = 100;
		if ((r = stat_keyed(cg, CG_CPUACCT, "cpuacct.stat", "user", &u, &found, e)) < 0)
			return r;
		if (found)
			st->cpu_user_ns = u * (1000000000 / (uint64_t)hz);
		if ((r = stat_keyed(cg, CG_CPUACCT, "cpuacct.stat", "system", &u, &found, e)) < 0)
			return r;
		if (found)
			st->cpu_system_ns = u * (1000000000 / (uint64_t)hz);
	}

	if ((r = stat_value(cg, CG_PIDS, "pids.current", &st->pids_current, e)) < 0 ||
	    (r = stat_value(cg, CG_PIDS, "pids.max", &st->pids_limit, e)) < 0)
		return r;
	if (cg->d[CG_FREEZER].fd >= 0) {
		if ((r = cg_read(cg->d[CG_FREEZER].fd, "freezer.state", state, sizeof(state), e)) < 0)
			return r;
		st->frozen = strncmp(state, "FROZEN", 6) == 0;
	}
	return 0;
}

static int stats_v2(struct runtime_cgroup *cg, struct runtime_cgroup_stats *st, struct ember_error *e)
{
	static const struct {
		const char *key;
		size_t off;
	} cpu[] = { { "usage_usec", offsetof(struct runtime_cgroup_stats, cpu_usage_ns) },
		    { "user_usec", offsetof(struct runtime_cgroup_stats, cpu_user_ns) },
		    { "system_usec", offsetof(struct runtime_cgroup_stats, cpu_system_ns) } };
	uint64_t u;
	int r, found;

	if ((r = stat_value(cg, 0, "memory.current", &st->memory_usage, e)) < 0 ||
	    (r = stat_value(cg, 0, "memory.peak", &st->memory_max_usage, e)) < 0 ||
	    (r = stat_value(cg, 0, "memory.max", &st->memory_limit, e)) < 0 ||
	    (r = stat_keyed(cg, 0, "memory.events", "oom_kill", &st->oom_kills, &found, e)) < 0)
		return r;
	for (size_t i = 0; i < ARRAY_SIZE(cpu); i++) {
		if ((r = stat_keyed(cg, 0, "cpu.stat", cpu[i].key, &u, &found, e)) < 0)
			return r;
		if (found)
			*(uint64_t *)((char *)st + cpu[i].off) = u * 1000;
	}
	if ((r = stat_value(cg, 0, "pids.current", &st->pids_current, e)) < 0 ||
	    (r = stat_value(cg, 0, "pids.max", &st->pids_limit, e)) < 0 ||
	    (r = stat_keyed(cg, 0, "cgroup.events", "frozen", &u, &found, e)) < 0)
		return r;
	st->frozen = found && u == 1;
	return 0;
}

static int stats_at(struct runtime_cgroup *cg, struct runtime_cgroup_stats *st, struct ember_error *e)
{
	*st = (struct runtime_cgroup_stats){ .memory_usage = -1, .memory_max_usage = -1, .memory_limit = -1,
					     .pids_current = -1, .pids_limit = -1 };
	return cg->version == RUNTIME_CGROUP_V2 ? stats_v2(cg, st, e) : stats_v1(cg, st, e);
}

/* ---- kill and remove ---- */

/* Signal every process listed, passes until none is new; seen keeps the
   pids signalled. */
static int kill_procs(struct runtime_cgroup *cg, int sig, int passes, struct ember_error *e)
{
	_cleanup_free_ pid_t *seen = NULL;
	size_t nseen = 0, cap = 0;
	int r;

	for (int pass = 0; pass < passes; pass++) {
		_cleanup_free_ pid_t *pids = NULL;
		size_t n, fresh = 0;
		if ((r = pids_at(cg, &pids, &n, e)) < 0)
			return r;
		for (size_t i = 0; i < n; i++) {
			size_t j = 0;
			while (j < nseen && seen[j] != pids[i])
				j++;
			if (j < nseen)
				continue;
			if (kill(pids[i], sig) < 0 && errno != ESRCH)
				return err_sys(e, errno, "cgroup: kill %d", (int)pids[i]);
			if (nseen == cap) {
				cap = cap ? cap * 2 : 16;
				pid_t *ns = realloc(seen, cap * sizeof(*ns));
				if (!ns)
					return rt_oom(e);
				seen = ns;
			}
			seen[nseen++] = pids[i];
			fresh++;
		}
		if (!fresh)
			break;
	}
	return 0;
}

static int kill_at(struct runtime_cgroup *cg, int sig, struct ember_error *e)
{
	int v2 = cg->version == RUNTIME_CGROUP_V2, r;

	if (procs_dir(cg) < 0)
		return err_set(e, ENOENT, "cgroup: %s: no hierarchy", cg->rel);
	if (sig != SIGKILL)
		return kill_procs(cg, sig, 1, e);
	if (v2) {
		if (faccessat(cg->d[0].fd, "cgroup.kill", F_OK, 0) == 0)
			return cg_write(cg->d[0].fd, "cgroup.kill", "cgroup.kill", "1", e);
		/* Frozen v2 tasks die of SIGKILL; thawing lets them get there
		   sooner, and the cgroup is for nothing else now. */
		if ((r = kill_procs(cg, SIGKILL, CG_KILL_PASSES, e)) < 0)
			return r;
		struct ember_error ignored;
		(void)cg_write(cg->d[0].fd, "cgroup.freeze", "cgroup.freeze", "0", &ignored);
		return 0;
	}
	if (cg->d[CG_FREEZER].fd < 0)
		return kill_procs(cg, SIGKILL, CG_KILL_PASSES, e);
	/* Frozen, none forks or exits (so no pid is reused) while the list is
	   read; a freeze that times out (a task in D state) still beats none. */
	struct ember_error ignored;
	(void)freeze_v1(cg, true, &ignored);
	r = kill_procs(cg, SIGKILL, CG_KILL_PASSES, e);
	/* Thaw even when killing failed: frozen tasks would never see the
	   signal; the first error wins. */
	struct ember_error thaw;
	int t = cg_write(cg->d[CG_FREEZER].fd, "freezer.state", "freezer.state", "THAWED", &thaw);
	if (r < 0)
		return r;
	if (t < 0)
		*e = thaw;
	return t;
}

/* rmdir rel below root, retrying on EBUSY while the last tasks exit. */
static int rmdir_wait(int root, const char *rel, const char *what, struct ember_error *e)
{
	long start = now_ms(), ms = 1;

	while (unlinkat(root, rel, AT_REMOVEDIR) < 0) {
		if (errno == ENOENT)
			return 0;
		if (errno != EBUSY || now_ms() - start >= RUNTIME_CGROUP_WAIT_MS)
			return err_sys(e, errno, "cgroup: %s: rmdir %s", what, rel);
		sleep_ms(ms);
		ms = backoff(ms);
	}
	return 0;
}

static int remove_at(struct runtime_cgroup *cg, struct ember_error *e)
{
	char path[4096];
	int r;

	if (strlen(cg->rel) >= sizeof(path))
		return rt_bad(e, "cgroup: path of %zu bytes", strlen(cg->rel));
	for (int i = 0; i < CG_NCTRL; i++) {
		if (cg->d[i].root < 0 || cg->d[i].same_as >= 0)
			continue;
		const char *what = cg->version == RUNTIME_CGROUP_V2 ? "cgroup2" : cg_names[i];
		if ((r = rmdir_wait(cg->d[i].root, cg->rel, what, e)) < 0)
			return r;
		/* The parents, while empty: one still in use (EBUSY), with other
		   children or gone ends it. The first component stays. */
		strcpy(path, cg->rel);
		for (char *slash = strrchr(path, '/'); slash; slash = strrchr(path, '/')) {
			*slash = '\0';
			if (!strchr(path, '/') || unlinkat(cg->d[i].root, path, AT_REMOVEDIR) < 0)
				break;
		}
	}
	return 0;
}

int runtime_cgroup_set(const struct runtime_cgroup *cg, json_t *resources, struct ember_error *e)
{
	struct runtime_cgroup view;
	if (cg_attach(cg, &view, e) < 0)
		return -e->code;
	int r = set_at(&view, resources, e);
	cg_detach(&view);
	return r;
}

int runtime_cgroup_enter(const struct runtime_cgroup *cg, pid_t pid, struct ember_error *e)
{
	struct runtime_cgroup view;
	if (cg_attach(cg, &view, e) < 0)
		return -e->code;
	int r = enter_at(&view, pid, e);
	cg_detach(&view);
	return r;
}

int runtime_cgroup_pids(const struct runtime_cgroup *cg, pid_t **pids, size_t *n, struct ember_error *e)
{
	struct runtime_cgroup view;
	if (cg_attach(cg, &view, e) < 0)
		return -e->code;
	int r = pids_at(&view, pids, n, e);
	cg_detach(&view);
	return r;
}

int runtime_cgroup_freeze(const struct runtime_cgroup *cg, bool frozen, struct ember_error *e)
{
	struct runtime_cgroup view;
	if (cg_attach(cg, &view, e) < 0)
		return -e->code;
	int r = freeze_at(&view, frozen, e);
	cg_detach(&view);
	return r;
}

int runtime_cgroup_stats(const struct runtime_cgroup *cg, struct runtime_cgroup_stats *st, struct ember_error *e)
{
	struct runtime_cgroup view;
	if (cg_attach(cg, &view, e) < 0)
		return -e->code;
	int r = stats_at(&view, st, e);
	cg_detach(&view);
	return r;
}

int runtime_cgroup_open_file(const struct runtime_cgroup *cg, const char *controller, const char *file, int flags,
			     struct ember_error *e)
{
	struct runtime_cgroup view;
	int i = 0;

	while (i < CG_NCTRL && strcmp(controller, cg_names[i]) != 0)
		i++;
	if (i == CG_NCTRL)
		return rt_bad(e, "cgroup: no controller \"%.32s\" here", controller);
	if (cg_attach(cg, &view, e) < 0)
		return -e->code;
	/* v2: whether the file is there says whether the controller is. */
	int dir = dir_of(&view, i), r = dir < 0 ? -1 : openat(dir, file, flags | O_CLOEXEC | O_NOFOLLOW);
	if (dir < 0)
		r = err_set(e, ENOENT, "cgroup: %s: no %s controller", file, controller);
	else if (r < 0)
		r = err_sys(e, errno, "cgroup: %s", file);
	cg_detach(&view);
	return r;
}

int runtime_cgroup_kill(const struct runtime_cgroup *cg, int sig, struct ember_error *e)
{
	struct runtime_cgroup view;
	if (cg_attach(cg, &view, e) < 0)
		return -e->code;
	int r = kill_at(&view, sig, e);
	cg_detach(&view);
	return r;
}

int runtime_cgroup_remove(const struct runtime_cgroup *cg, struct ember_error *e)
{
	struct runtime_cgroup view;
	if (cg_attach(cg, &view, e) < 0)
		return -e->code;
	int r = remove_at(&view, e);
	cg_detach(&view);
	return r;
}
