/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ember oci events [--stats] [--interval DUR] ID: runc 1.1's event lines,
 * one JSON object a line:
 *
 *   {"type":"stats","id":ID,"data":{"cpu":…,"cpuset":…,"memory":…,"pids":…,
 *    "blkio":{},"hugetlb":{},"intel_rdt":{},"network_interfaces":null}}
 *   {"type":"oom","id":ID}
 *
 * with the field names of runc's types/events.go, filled from the files
 * runc reads (v1: cpuacct.*, cpu.stat, cpuset.*, memory.* with memsw, kmem
 * and kmem.tcp, memory.stat as "raw", pids.*; v2: cpu.stat, memory.current,
 * .max, .swap.*, memory.stat, pids.*). Numbers that runc's encoder omits
 * when 0 are omitted when 0 or unknown; the others are always there, as in
 * runc's output. ember has no blkio, hugetlb or RDT controller: those are
 * empty, as runc prints them where the host has none.
 *
 * --stats prints one and exits. Otherwise a stats line every interval
 * (default 5s, the first after one interval) and an oom line whenever the
 * kernel's OOM killer acts in the cgroup (v1: an eventfd on
 * memory.oom_control through cgroup.event_control; v2: inotify on
 * memory.events, its oom_kill count). It ends, status 0, where runc's
 * does: on v1 once the cgroup is gone (delete; a stopped container's
 * cgroup still gives stats until then), on v2 once cgroup.events says
 * "populated 0" (the last process gone); or on SIGINT or SIGTERM.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "oci/oci-internal.h"
#include "runtime/runtime.h"
#include "util/cleanup.h"
#include "util/err.h"

#define FILE_MAX (64 * 1024) /* cpuacct.usage_all of a few hundred CPUs */
#define RAW_MAX 128          /* memory.stat keys */
#define CPUS_MAX 1024

/* ---- the cgroup's files ---- */

/* The whole of controller's file into buf; -1 when it is not there. */
static int cg_text(const struct runtime_cgroup *cg, const char *ctl, const char *file, char *buf, size_t size)
{
	struct ember_error ignored;
	size_t got = 0;
	ssize_t n = 0;

	_cleanup_close_ int fd = runtime_cgroup_open_file(cg, ctl, file, O_RDONLY, &ignored);
	if (fd < 0)
		return -1;
	while (got < size - 1 && ((n = read(fd, buf + got, size - 1 - got)) > 0 || (n < 0 && errno == EINTR)))
		got += n > 0 ? (size_t)n : 0;
	buf[got] = '\0';
	return n < 0 ? -1 : 0;
}

/* A number file: "max" is UINT64_MAX, as runc reads it; absent is 0. */
static uint64_t cg_u64(const struct runtime_cgroup *cg, const char *ctl, const char *file)
{
	char buf[64];

	if (cg_text(cg, ctl, file, buf, sizeof(buf)) < 0)
		return 0;
	return !strncmp(buf, "max", 3) ? UINT64_MAX : strtoull(buf, NULL, 10);
}

/* "key N" in a keyed text (cpu.stat, memory.events); 0 when absent. */
static uint64_t keyed(const char *text, const char *key)
{
	size_t n = strlen(key);

	for (const char *p = text; *p;) {
		if (!strncmp(p, key, n) && p[n] == ' ')
			return strtoull(p + n + 1, NULL, 10);
		p = strchrnul(p, '\n');
		p += *p == '\n';
	}
	return 0;
}

static uint64_t cg_keyed(const struct runtime_cgroup *cg, const char *ctl, const char *file, const char *key)
{
	static char buf[FILE_MAX];
	return cg_text(cg, ctl, file, buf, sizeof(buf)) < 0 ? 0 : keyed(buf, key);
}

/* ---- writing runc's JSON (jansson has no unsigned 64-bit numbers) ---- */

struct out {
	FILE *f;
	int first; /* no comma before the next member */
};

static void key(struct out *o, const char *k)
{
	fprintf(o->f, "%s\"%s\":", o->first ? "" : ",", k);
	o->first = 0;
}

static void obj_open(struct out *o, const char *k)
{
	key(o, k);
	fputc('{', o->f);
	o->first = 1;
}

static void obj_close(struct out *o)
{
	fputc('}', o->f);
	o->first = 0;
}

/* omit: runc's omitempty, a 0 is left out. */
static void num(struct out *o, const char *k, uint64_t v, int omit)
{
	if (omit && !v)
		return;
	key(o, k);
	fprintf(o->f, "%" PRIu64, v);
}

static void list(struct out *o, const char *k, const uint64_t *v, size_t n)
{
	if (!n)
		return;
	key(o, k);
	for (size_t i = 0; i < n; i++)
		fprintf(o->f, "%c%" PRIu64, i ? ',' : '[', v[i]);
	fputc(']', o->f);
}

/* ---- stats ---- */

static size_t numbers(const char *text, uint64_t *v, size_t max)
{
	size_t n = 0;
	char *end;

	for (const char *p = text; n < max; p = end) {
		uint64_t x = strtoull(p, &end, 10);
		if (end == p)
			break;
		v[n++] = x;
	}
	return n;
}

static void stats_cpu_v1(struct out *o, const struct runtime_cgroup *cg)
{
	static char buf[FILE_MAX];
	static uint64_t percpu[CPUS_MAX], kernel[CPUS_MAX], user[CPUS_MAX];
	size_t n = 0, nk = 0;
	long hz = sysconf(_SC_CLK_TCK);

	if (cg_text(cg, "cpuacct", "cpuacct.usage_percpu", buf, sizeof(buf)) == 0)
		n = numbers(buf, percpu, CPUS_MAX);
	if (cg_text(cg, "cpuacct", "cpuacct.usage_all", buf, sizeof(buf)) == 0) {
		/* "cpu user system", then a line a CPU. */
		const char *p = strchr(buf, '\n');
		while (p && p[1] && nk < CPUS_MAX) {
			uint64_t v[3];
			if (numbers(p + 1, v, 3) != 3)
				break;
			user[nk] = v[1];
			kernel[nk++] = v[2];
			p = strchr(p + 1, '\n');
		}
	}
	if (hz <= 0)
		hz = 100;
	if (cg_text(cg, "cpuacct", "cpuacct.stat", buf, sizeof(buf)) < 0)
		buf[0] = '\0';
	obj_open(o, "usage");
	num(o, "total", cg_u64(cg, "cpuacct", "cpuacct.usage"), 1);
	list(o, "percpu", percpu, n);
	list(o, "percpu_kernel", kernel, nk);
	list(o, "percpu_user", user, nk);
	/* cpuacct.stat is in clock ticks. */
	num(o, "kernel", keyed(buf, "system") * (1000000000 / (uint64_t)hz), 0);
	num(o, "user", keyed(buf, "user") * (1000000000 / (uint64_t)hz), 0);
	obj_close(o);
	if (cg_text(cg, "cpu", "cpu.stat", buf, sizeof(buf)) < 0)
		buf[0] = '\0';
	obj_open(o, "throttling");
	num(o, "periods", keyed(buf, "nr_periods"), 1);
	num(o, "throttledPeriods", keyed(buf, "nr_throttled"), 1);
	num(o, "throttledTime", keyed(buf, "throttled_time"), 1);
	obj_close(o);
}

static void stats_cpu_v2(struct out *o, const struct runtime_cgroup *cg)
{
	static char buf[FILE_MAX];

	if (cg_text(cg, "cpu", "cpu.stat", buf, sizeof(buf)) < 0)
		buf[0] = '\0';
	obj_open(o, "usage");
	num(o, "total", keyed(buf, "usage_usec") * 1000, 1);
	num(o, "kernel", keyed(buf, "system_usec") * 1000, 0);
	num(o, "user", keyed(buf, "user_usec") * 1000, 0);
	obj_close(o);
	obj_open(o, "throttling");
	num(o, "periods", keyed(buf, "nr_periods"), 1);
	num(o, "throttledPeriods", keyed(buf, "nr_throttled"), 1);
	num(o, "throttledTime", keyed(buf, "throttled_usec") * 1000, 1);
	obj_close(o);
}

/* "0-2,5" as a list of numbers. */
static size_t cpu_list(const char *s, uint64_t *v, size_t max)
{
	size_t n = 0;
	char *end;

	while (*s && *s != '\n' && n < max) {
		uint64_t a = strtoull(s, &end, 10), b = a;
		if (end == s)
			break;
		if (*end == '-')
			b = strtoull(end + 1, &end, 10);
		for (uint64_t x = a; x <= b && n < max; x++)
			v[n++] = x;
		s = end + (*end == ',');
	}
	return n;
}

static void stats_cpuset(struct out *o, const struct runtime_cgroup *cg, int v1)
{
	static const char *const flags[] = { "cpu_exclusive",	   "mem_hardwall",	 "mem_exclusive",
					     "memory_migrate",	   "memory_spread_page", "memory_spread_slab",
					     "memory_pressure",	   "sched_load_balance" };
	static uint64_t cpus[CPUS_MAX], mems[CPUS_MAX];
	char buf[4096], file[64];
	size_t nc = 0, nm = 0;

	/* runc 1.1 reads them on v1 only; on v2 its zero values. */
	if (v1 && cg_text(cg, "cpuset", "cpuset.cpus", buf, sizeof(buf)) == 0)
		nc = cpu_list(buf, cpus, CPUS_MAX);
	if (v1 && cg_text(cg, "cpuset", "cpuset.mems", buf, sizeof(buf)) == 0)
		nm = cpu_list(buf, mems, CPUS_MAX);
	obj_open(o, "cpuset");
	list(o, "cpus", cpus, nc);
	num(o, flags[0], v1 ? cg_u64(cg, "cpuset", "cpuset.cpu_exclusive") : 0, 0);
	list(o, "mems", mems, nm);
	for (size_t i = 1; i < ARRAY_SIZE(flags); i++) {
		snprintf(file, sizeof(file), "cpuset.%s", flags[i]);
		num(o, flags[i], v1 ? cg_u64(cg, "cpuset", file) : 0, 0);
	}
	long long level = 0;
	if (v1 && cg_text(cg, "cpuset", "cpuset.sched_relax_domain_level", buf, sizeof(buf)) == 0)
		level = strtoll(buf, NULL, 10);
	key(o, "sched_relax_domain_level");
	fprintf(o->f, "%lld", level);
	obj_close(o);
}

/* runc's MemoryEntry from v1's <prefix>.{limit_in_bytes,usage_in_bytes,
   max_usage_in_bytes,failcnt}. */
static void mem_entry_v1(struct out *o, const struct runtime_cgroup *cg, const char *k, const char *prefix)
{
	char file[64];

	obj_open(o, k);
	snprintf(file, sizeof(file), "%s.limit_in_bytes", prefix);
	num(o, "limit", cg_u64(cg, "memory", file), 0);
	snprintf(file, sizeof(file), "%s.usage_in_bytes", prefix);
	num(o, "usage", cg_u64(cg, "memory", file), 1);
	snprintf(file, sizeof(file), "%s.max_usage_in_bytes", prefix);
	num(o, "max", cg_u64(cg, "memory", file), 1);
	snprintf(file, sizeof(file), "%s.failcnt", prefix);
	num(o, "failcnt", cg_u64(cg, "memory", file), 0);
	obj_close(o);
}

static void mem_entry(struct out *o, const char *k, uint64_t limit, uint64_t usage)
{
	obj_open(o, k);
	num(o, "limit", limit, 0);
	num(o, "usage", usage, 1);
	num(o, "failcnt", 0, 0);
	obj_close(o);
}

struct raw {
	char *key;
	uint64_t v;
};

static int raw_cmp(const void *a, const void *b)
{
	return strcmp(((const struct raw *)a)->key, ((const struct raw *)b)->key);
}

/* memory.stat, its keys sorted (Go's encoder sorts a map's keys). */
static void stats_raw(struct out *o, char *text, uint64_t *cache, const char *cache_key)
{
	static struct raw raw[RAW_MAX];
	size_t n = 0;

	for (char *p = text, *save = NULL, *line; (line = strtok_r(p, "\n", &save)) && n < RAW_MAX; p = NULL) {
		char *sp = strchr(line, ' ');
		if (!sp || strspn(line, "abcdefghijklmnopqrstuvwxyz0123456789_") != (size_t)(sp - line))
			continue;
		*sp = '\0';
		raw[n++] = (struct raw){ line, strtoull(sp + 1, NULL, 10) };
		if (!strcmp(line, cache_key))
			*cache = raw[n - 1].v;
	}
	if (!n)
		return;
	qsort(raw, n, sizeof(raw[0]), raw_cmp);
	obj_open(o, "raw");
	for (size_t i = 0; i < n; i++)
		num(o, raw[i].key, raw[i].v, 0);
	obj_close(o);
}

static void stats_memory(struct out *o, const struct runtime_cgroup *cg, int v1)
{
	static char stat[FILE_MAX];
	uint64_t cache = 0;
	FILE *saved = o->f;
	char *rawtext = NULL;
	size_t rawlen = 0;

	/* raw comes last but gives cache, which comes first. */
	o->f = open_memstream(&rawtext, &rawlen);
	if (o->f) {
		o->first = 0;
		if (cg_text(cg, "memory", "memory.stat", stat, sizeof(stat)) == 0)
			stats_raw(o, stat, &cache, v1 ? "cache" : "file");
		fclose(o->f);
	}
	o->f = saved;
	obj_open(o, "memory");
	num(o, "cache", cache, 1);
	if (v1) {
		mem_entry_v1(o, cg, "usage", "memory");
		mem_entry_v1(o, cg, "swap", "memory.memsw");
		mem_entry_v1(o, cg, "kernel", "memory.kmem");
		mem_entry_v1(o, cg, "kernelTCP", "memory.kmem.tcp");
	} else {
		/* runc reports v2's swap as memory + swap, v1's way. */
		uint64_t limit = cg_u64(cg, "memory", "memory.max"), usage = cg_u64(cg, "memory", "memory.current");
		uint64_t slimit = cg_u64(cg, "memory", "memory.swap.max"), susage = cg_u64(cg, "memory", "memory.swap.current");
		mem_entry(o, "usage", limit, usage);
		mem_entry(o, "swap", slimit == UINT64_MAX ? slimit : slimit + limit, susage + usage);
		mem_entry(o, "kernel", 0, 0);
		mem_entry(o, "kernelTCP", 0, 0);
	}
	if (rawtext && rawlen)
		fputs(rawtext, o->f);
	free(rawtext);
	obj_close(o);
}

/* One stats line on stdout; -1 when the cgroup is gone. */
static int stats_print(const char *id, const struct runtime_cgroup *cg)
{
	struct out o = { stdout, 1 };
	int v1 = runtime_cgroup_version(cg) == RUNTIME_CGROUP_V1;
	struct ember_error ignored;
	pid_t *pids = NULL;
	size_t n;

	/* Gone from under us (delete): nothing to print. */
	if (runtime_cgroup_pids(cg, &pids, &n, &ignored) < 0)
		return -1;
	free(pids);
	printf("{\"type\":\"stats\",\"id\":\"%s\",\"data\":{", id);
	obj_open(&o, "cpu");
	if (v1)
		stats_cpu_v1(&o, cg);
	else
		stats_cpu_v2(&o, cg);
	obj_close(&o);
	stats_cpuset(&o, cg, v1);
	stats_memory(&o, cg, v1);
	obj_open(&o, "pids");
	num(&o, "current", cg_u64(cg, "pids", "pids.current"), 1);
	uint64_t limit = cg_u64(cg, "pids", "pids.max");
	num(&o, "limit", limit == UINT64_MAX ? 0 : limit, 1);
	obj_close(&o);
	fputs(",\"blkio\":{},\"hugetlb\":{},\"intel_rdt\":{},\"network_interfaces\":null}}\n", stdout);
	fflush(stdout);
	return 0;
}

/* ---- OOM notifications ---- */

struct oom {
	int fd;         /* poll this: v1 the eventfd, v2 the inotify descriptor */
	int v1;
	int cg_wd;      /* v2: the watch on cgroup.events */
	int mem_wd;     /* v2: the watch on memory.events (-1: no memory controller) */
	uint64_t kills; /* v2: memory.events oom_kill seen so far */
};

/* v2: whether cgroup.events says "populated 0" (runc's v2 events end
   there, when the container's last process has gone). */
static int v2_empty(const struct runtime_cgroup *cg)
{
	static char buf[256];
	return cg_text(cg, "freezer", "cgroup.events", buf, sizeof(buf)) < 0 || strstr(buf, "populated 0") != NULL;
}

/* An inotify watch on a file of the cgroup (through /proc/self/fd:
   inotify takes a path). */
static int v2_watch(const struct runtime_cgroup *cg, int ifd, const char *ctl, const char *file, struct ember_error *e)
{
	char path[64];

	_cleanup_close_ int fd = runtime_cgroup_open_file(cg, ctl, file, O_RDONLY, e);
	if (fd < 0)
		return -e->code;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	int wd = inotify_add_watch(ifd, path, IN_MODIFY);
	return wd < 0 ? err_sys(e, errno, "inotify on %s", file) : wd;
}

/* cgroup.events for the end (as runc v2), memory.events for OOM kills. */
static int oom_watch_v2(const struct runtime_cgroup *cg, struct oom *w, struct ember_error *e)
{
	if ((w->fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK)) < 0)
		return err_sys(e, errno, "inotify");
	if ((w->cg_wd = v2_watch(cg, w->fd, "freezer", "cgroup.events", e)) < 0)
		return -e->code;
	w->kills = cg_keyed(cg, "memory", "memory.events", "oom_kill");
	return (w->mem_wd = v2_watch(cg, w->fd, "memory", "memory.events", e)) < 0 ? -e->code : 0;
}

static int oom_watch_v1(const struct runtime_cgroup *cg, struct oom *w, struct ember_error *e)
{
	char line[64];

	_cleanup_close_ int oc = runtime_cgroup_open_file(cg, "memory", "memory.oom_control", O_RDONLY, e);
	if (oc < 0)
		return -e->code;
	_cleanup_close_ int ctl = runtime_cgroup_open_file(cg, "memory", "cgroup.event_control", O_WRONLY, e);
	if (ctl < 0)
		return -e->code;
	if ((w->fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0)
		return err_sys(e, errno, "eventfd");
	int n = snprintf(line, sizeof(line), "%d %d", w->fd, oc);
	if (write(ctl, line, (size_t)n) != n)
		return err_sys(e, errno, "cgroup: cgroup.event_control: \"%s\"", line);
	return 0;
}

/* Without the memory controller (or its files) there are only stats. */
static void oom_watch(const struct oci *o, const struct runtime_cgroup *cg, struct oom *w)
{
	struct ember_error e;

	*w = (struct oom){ .fd = -1, .v1 = runtime_cgroup_version(cg) == RUNTIME_CGROUP_V1, .cg_wd = -1, .mem_wd = -1 };
	if ((w->v1 ? oom_watch_v1(cg, w, &e) : oom_watch_v2(cg, w, &e)) < 0) {
		oci_warn(o, "events: no oom events: %s", e.message);
		/* v2 without memory.events still watches cgroup.events. */
		if (w->v1 || w->cg_wd < 0)
			w->fd = close_keep_errno(w->fd);
	}
}

/* After w->fd polled readable: OOM_KILL to report one, OOM_END at the
   end: v1 signals the cgroup's removal on the same eventfd, v2 the last
   process gone in cgroup.events (or the cgroup's removal). */
enum { OOM_KILL = 1, OOM_END = 2 };
static int oom_read(const struct runtime_cgroup *cg, struct oom *w)
{
	struct ember_error ignored;
	char buf[4096];

	if (w->v1) {
		uint64_t n;
		if (read(w->fd, &n, sizeof(n)) != sizeof(n))
			return 0;
		_cleanup_close_ int ctl = runtime_cgroup_open_file(cg, "memory", "cgroup.event_control", O_WRONLY, &ignored);
		return ctl < 0 ? OOM_END : OOM_KILL;
	}
	ssize_t r = read(w->fd, buf, sizeof(buf));
	for (ssize_t off = 0; r > 0 && off < r;) {
		const struct inotify_event *ev = (const void *)(buf + off);
		if (ev->mask & IN_IGNORED)
			return OOM_END; /* the file went with its cgroup */
		off += (ssize_t)sizeof(*ev) + ev->len;
	}
	int r2 = v2_empty(cg) ? OOM_END : 0;
	if (w->mem_wd >= 0) {
		uint64_t now = cg_keyed(cg, "memory", "memory.events", "oom_kill");
		r2 |= now > w->kills ? OOM_KILL : 0;
		w->kills = now;
	}
	return r2;
}

/* ---- the command ---- */

/* Go's time.ParseDuration, which runc's --interval goes through: a
   sign, then decimal numbers, each with a unit (ns, us, µs, ms, s, m, h);
   "0" alone. *ns; -1 when it does not parse. */
static int duration_parse(const char *s, int64_t *ns)
{
	static const struct {
		const char *unit;
		double ns;
	} units[] = { { "ns", 1 }, { "us", 1e3 }, { "\xc2\xb5s", 1e3 }, { "\xce\xbcs", 1e3 }, { "ms", 1e6 },
		      { "s", 1e9 },  { "m", 60e9 }, { "h", 3600e9 } };
	double total = 0;
	int neg = *s == '-';

	s += *s == '-' || *s == '+';
	*ns = 0;
	if (!strcmp(s, "0"))
		return 0;
	if (!*s)
		return -1;
	while (*s) {
		char *end;
		if (!strchr("0123456789.", *s))
			return -1;
		double v = strtod(s, &end);
		if (end == s)
			return -1;
		s = end;
		size_t best = 0, k = ARRAY_SIZE(units);
		for (size_t i = 0; i < ARRAY_SIZE(units); i++) {
			size_t n = strlen(units[i].unit);
			if (!strncmp(s, units[i].unit, n) && n > best)
				best = n, k = i;
		}
		if (k == ARRAY_SIZE(units))
			return -1;
		total += v * units[k].ns;
		s += best;
	}
	if (total > 9.2e18)
		return -1;
	*ns = neg ? -(int64_t)total : (int64_t)total;
	return 0;
}

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Stats every interval and OOM events until the cgroup is gone or a
   signal; 0 either way. */
static int events_loop(const struct oci *o, const char *id, const struct runtime_cgroup *cg, int64_t interval)
{
	struct oom w;
	sigset_t mask;

	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	/* Held for the signalfd; an ignored one (a shell's background job
	   ignores SIGINT) would never arrive there. */
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	_cleanup_close_ int sfd = sigprocmask(SIG_BLOCK, &mask, NULL) < 0 ? -1 : signalfd(-1, &mask, SFD_CLOEXEC);
	if (sfd < 0)
		return oci_fail(o, "events: signalfd: %s", strerror(errno));
	oom_watch(o, cg, &w);
	int64_t next = now_ns() + interval;
	/* Stopped between the check and the watch: no event would come. */
	for (int end = !w.v1 && w.fd >= 0 && v2_empty(cg); !end;) {
		struct pollfd p[2] = { { sfd, POLLIN, 0 }, { w.fd, POLLIN, 0 } };
		int64_t ms = (next - now_ns() + 999999) / 1000000;
		int r = poll(p, w.fd >= 0 ? 2 : 1, ms <= 0 ? 0 : ms > 3600000 ? 3600000 : (int)ms);
		if (r < 0 && errno != EINTR)
			break;
		if (r > 0 && p[0].revents)
			break; /* SIGINT, SIGTERM: done */
		int n = r > 0 && p[1].revents ? oom_read(cg, &w) : 0;
		if (n & OOM_KILL) {
			printf("{\"type\":\"oom\",\"id\":\"%s\"}\n", id);
			fflush(stdout);
		}
		end = n & OOM_END;
		if (!end && now_ns() >= next) {
			end = stats_print(id, cg) < 0;
			next += interval;
		}
	}
	close_keep_errno(w.fd);
	return 0;
}

int oci_cmd_events(const struct oci *o, int argc, char **argv)
{
	const char *id = NULL, *v;
	int64_t interval = 5000000000;
	int once = 0, rc;
	struct runtime_cgroup *cg = NULL;
	struct ember_error e;
	json_t *st = NULL;

	for (int i = 1; i < argc; i++) {
		if ((v = oci_opt_value(argc, argv, &i, "--interval"))) {
			if (duration_parse(v, &interval) < 0)
				return oci_fail(o, "events: --interval \"%.40s\": not a duration (5s, 500ms, 1m30s)", v);
			if (interval <= 0)
				return oci_fail(o, "events: --interval \"%.40s\": duration interval must be greater than 0", v);
		} else if (oci_is_opt(argv[i], "--interval")) {
			return oci_fail(o, "events: --interval needs a value");
		} else if (!strcmp(argv[i], "--stats")) {
			once = 1;
		} else if (argv[i][0] == '-') {
			return oci_fail(o, "events: unknown option \"%.80s\"", argv[i]);
		} else if (!id) {
			id = argv[i];
		} else {
			return oci_fail(o, "events: one container id, not \"%.80s\" too", argv[i]);
		}
	}
	if (!id)
		return oci_fail(o, "events: give the container's id");
	if (!ENABLED(CONFIG_CGROUPS))
		return oci_fail(o, "events: a container's stats are its cgroup's, and cgroups are not in this build "
				   "(CONFIG_CGROUPS)");
	if (oci_state_read(o, id, &st, &e) < 0)
		rc = oci_fail_e(o, &e);
	else if (!strcmp(oci_status(o, st), "stopped"))
		rc = oci_fail(o, "events: container with id %s is not running", id);
	else if (oci_cgroup_open(st, id, &cg, &e) < 0)
		rc = oci_fail_e(o, &e);
	else if (once)
		rc = stats_print(id, cg) < 0 ? oci_fail(o, "events: container %s: its cgroup is gone", id) : 0;
	else
		rc = events_loop(o, id, cg, interval);
	runtime_cgroup_free(cg);
	json_decref(st);
	return rc;
}
