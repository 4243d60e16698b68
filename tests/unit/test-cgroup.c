/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cgroups: v1 for real on the machine's hierarchies (root only), v2 for
 * real on a cgroup2 mounted for the test, and the v2 file formats on a
 * tmpfs of regular files. Every test works below its own
 * "ember-test-<pid>-<n>" cgroups and its own mounts, and its teardown
 * removes them, kills its children and unmounts, also after a failure.
 */
#include "unit.h"

#include <dirent.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>

#include <linux/sched.h>

#include "runtime/runtime.h"
#include "util/cleanup.h"

#define V1 "/sys/fs/cgroup"
#define MAX_KIDS 4

static const char *const v1_ctrls[] = { "memory", "cpu", "cpuacct", "pids", "devices", "freezer", "cpuset" };

struct t {
	char top[64];      /* the first component of every rel: "ember-test-<pid>-<n>" */
	char rel[128];     /* top + "/c" */
	char *dir;         /* a temporary directory, for mounts */
	char mnt[1024];    /* dir + "/m": a cgroup2 or tmpfs mounted there */
	int mounted;
	struct runtime_cgroup *cg;
	pid_t kids[MAX_KIDS];
	int go[MAX_KIDS];  /* write end: the child starts when it gets a byte */
	int ack[MAX_KIDS]; /* read end: the child says it did its part */
	int nkids;
};

static json_t *J(const char *text)
{
	json_error_t je;
	json_t *j = json_loads(text, 0, &je);

	if (!j)
		fail_msg("bad fixture JSON (%s): %s", je.text, text);
	return j;
}

static int is_root_with_v1(void)
{
	return geteuid() == 0 && access(V1 "/memory/memory.limit_in_bytes", F_OK) == 0;
}

static int setup(void **state)
{
	static int n;
	struct t *t = calloc(1, sizeof(*t));

	snprintf(t->top, sizeof(t->top), "ember-test-%d-%d", (int)getpid(), ++n);
	snprintf(t->rel, sizeof(t->rel), "%s/c", t->top);
	t->dir = unit_mkdtemp();
	snprintf(t->mnt, sizeof(t->mnt), "%s/m", t->dir);
	assert_int_equal(mkdir(t->mnt, 0755), 0);
	*state = t;
	return 0;
}

/* rmdir every directory of path, deepest first (cgroup directories go
   with rmdir only). */
static void rmdir_tree(const char *path)
{
	char cmd[4400];

	if (access(path, F_OK) < 0)
		return;
	snprintf(cmd, sizeof(cmd), "find '%s' -depth -type d -exec rmdir {} + 2>/dev/null", path);
	for (int i = 0; i < 50 && system(cmd) != 0 && access(path, F_OK) == 0; i++)
		usleep(20000);
}

/* Thaw whatever a test froze below path (v1 freezer.state, v2 cgroup.freeze). */
static void thaw_tree(const char *path)
{
	char cmd[4400];

	if (access(path, F_OK) < 0)
		return;
	snprintf(cmd, sizeof(cmd),
		 "find '%s' -name freezer.state -exec sh -c 'echo THAWED > \"$1\"' _ {} \\; 2>/dev/null;"
		 "find '%s' -name cgroup.freeze -exec sh -c 'echo 0 > \"$1\"' _ {} \\; 2>/dev/null",
		 path, path);
	(void)system(cmd);
}

static int teardown(void **state)
{
	struct t *t = *state;
	char path[4400];

	for (int i = 0; i < t->nkids; i++)
		if (t->kids[i] > 0)
			kill(t->kids[i], SIGKILL);
	snprintf(path, sizeof(path), "%s/freezer/%s", V1, t->top);
	thaw_tree(path);
	if (t->mounted) {
		snprintf(path, sizeof(path), "%s/%s", t->mnt, t->top);
		thaw_tree(path);
	}
	for (int i = 0; i < t->nkids; i++) {
		if (t->kids[i] > 0)
			(void)waitpid(t->kids[i], NULL, 0);
		close(t->go[i]);
		close(t->ack[i]);
	}
	runtime_cgroup_free(t->cg);
	for (size_t i = 0; i < ARRAY_SIZE(v1_ctrls); i++) {
		snprintf(path, sizeof(path), "%s/%s/%s", V1, v1_ctrls[i], t->top);
		rmdir_tree(path);
	}
	if (t->mounted) {
		snprintf(path, sizeof(path), "%s/%s", t->mnt, t->top);
		rmdir_tree(path);
		if (umount2(t->mnt, MNT_DETACH) < 0)
			fprintf(stderr, "umount %s: %s\n", t->mnt, strerror(errno));
	}
	unit_rmdir(t->dir);
	free(t);
	return 0;
}

/* ---- children ---- */

enum {
	KID_WAIT,  /* ack, then sleep until killed */
	KID_TOUCH, /* touch 4 MiB, spin 200 ms, ack, sleep */
	KID_SPIN,  /* ack, spin forever */
	KID_FORK,  /* exit 0 when fork() fails with EAGAIN */
	KID_OOM,   /* touch 64 MiB, exit 0 if still alive */
	KID_TREE,  /* fork 3 sleeping children, ack, sleep */
};

static void spin_ms(long ms)
{
	struct timespec b;

	do
		clock_gettime(CLOCK_THREAD_CPUTIME_ID, &b);
	while ((b.tv_sec * 1000 + b.tv_nsec / 1000000) < ms);
}

static void touch(size_t bytes)
{
	char *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		_exit(3);
	for (size_t i = 0; i < bytes; i += 4096)
		p[i] = 1;
}

static void kid_main(int mode, int go, int ack)
{
	char c;

	if (read(go, &c, 1) != 1)
		_exit(4);
	switch (mode) {
	case KID_WAIT:
		break;
	case KID_TOUCH:
		touch(4 << 20);
		spin_ms(200);
		break;
	case KID_SPIN:
		(void)!write(ack, "k", 1);
		for (;;)
			;
	case KID_FORK: {
		pid_t p = fork();
		if (p == 0)
			_exit(0);
		if (p > 0) {
			(void)waitpid(p, NULL, 0);
			_exit(1);
		}
		_exit(errno == EAGAIN ? 0 : 2);
	}
	case KID_OOM:
		touch(64 << 20);
		_exit(0);
	case KID_TREE:
		for (int i = 0; i < 3; i++) {
			pid_t p = fork();
			if (p == 0) {
				for (;;)
					pause();
			}
		}
		break;
	}
	(void)!write(ack, "k", 1);
	for (;;)
		pause();
}

/* A child waiting for go(); its index. */
static int spawn(struct t *t, int mode)
{
	int go[2], ack[2], i = t->nkids;

	assert_true(i < MAX_KIDS);
	assert_int_equal(pipe2(go, O_CLOEXEC), 0);
	assert_int_equal(pipe2(ack, O_CLOEXEC), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(go[1]);
		close(ack[0]);
		kid_main(mode, go[0], ack[1]);
		_exit(5);
	}
	close(go[0]);
	close(ack[1]);
	t->kids[i] = pid;
	t->go[i] = go[1];
	t->ack[i] = ack[0];
	t->nkids++;
	return i;
}

static void go(struct t *t, int i)
{
	assert_int_equal(write(t->go[i], "g", 1), 1);
}

static void wait_ack(struct t *t, int i)
{
	char c;

	assert_int_equal(read(t->ack[i], &c, 1), 1);
}

/* The wait status of a child that must end within 10 s (it is reaped). */
static int reap_pid(pid_t pid)
{
	int status;

	for (int i = 0; i < 1000; i++) {
		pid_t r = waitpid(pid, &status, WNOHANG);
		assert_true(r >= 0);
		if (r == pid)
			return status;
		usleep(10000);
	}
	fail_msg("child %d still running after 10 s", (int)pid);
	return -1;
}

static int reap(struct t *t, int i)
{
	int status = reap_pid(t->kids[i]);

	t->kids[i] = 0;
	return status;
}

/* ---- file helpers ---- */

static char *slurp(const char *path)
{
	static char buf[4096];
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		fail_msg("open %s: %s", path, strerror(errno));
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	assert_true(n >= 0);
	buf[n] = '\0';
	return buf;
}

static void assert_file(const char *want, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void assert_file(const char *want, const char *fmt, ...)
{
	char path[4400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(path, sizeof(path), fmt, ap);
	va_end(ap);
	const char *got = slurp(path);
	if (strcmp(got, want) != 0)
		fail_msg("%s: got \"%s\", want \"%s\"", path, got, want);
}

static int exists(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int exists(const char *fmt, ...)
{
	char path[4400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(path, sizeof(path), fmt, ap);
	va_end(ap);
	return access(path, F_OK) == 0;
}

/* /proc/pid/cgroup has "N:<list with ctrl>:/rel" (ctrl "" for v2's "0::"). */
static int in_cgroup(pid_t pid, const char *ctrl, const char *rel)
{
	char path[64], line[512];
	int found = 0;

	snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)pid);
	FILE *f = fopen(path, "re");
	assert_non_null(f);
	while (!found && fgets(line, sizeof(line), f)) {
		char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
		if (!c2)
			continue;
		*c2 = '\0';
		char *p = c2 + 1;
		p[strcspn(p, "\n")] = '\0';
		int match = !*ctrl ? c1[1] == '\0' : 0;
		for (char *tok = strtok(c1 + 1, ","); *ctrl && tok; tok = strtok(NULL, ","))
			match |= strcmp(tok, ctrl) == 0;
		found = match && p[0] == '/' && strcmp(p + 1, rel) == 0;
	}
	fclose(f);
	return found;
}

/* The number of tasks (threads) of pid. */
static int tasks_of(pid_t pid)
{
	char path[64];
	int n = 0;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	DIR *d = opendir(path);
	assert_non_null(d);
	for (struct dirent *de; (de = readdir(d));)
		n += de->d_name[0] != '.';
	closedir(d);
	return n;
}

static void set_ok(struct runtime_cgroup *cg, const char *json)
{
	struct ember_error e = { 0 };
	json_t *j = J(json);

	if (runtime_cgroup_set(cg, j, &e) < 0)
		fail_msg("set %s: %s", json, e.message);
	json_decref(j);
}

static int set_err(struct runtime_cgroup *cg, const char *json, struct ember_error *e)
{
	json_t *j = J(json);
	int r = runtime_cgroup_set(cg, j, e);

	json_decref(j);
	assert_true(r < 0);
	assert_int_equal(r, -e->code);
	assert_null(strchr(e->message, '\n'));
	return r;
}

#define SKIP_UNLESS_V1()                                                              \
	do {                                                                          \
		if (!is_root_with_v1()) {                                             \
			print_message("skipped: needs root and cgroup v1 memory at " V1 "\n"); \
			skip();                                                       \
		}                                                                     \
	} while (0)

/* ---- detection ---- */

static void test_detect(void **state)
{
	struct t *t = *state;
	struct ember_error e = { 0 };
	int v = 0;

	if (geteuid() != 0)
		skip();
	if (is_root_with_v1()) {
		/* This machine: v1 hierarchies, maybe a hybrid's unified tree. */
		assert_int_equal(runtime_cgroup_detect(V1, &v, &e), 0);
		assert_int_equal(v, RUNTIME_CGROUP_V1);
	}
	assert_int_equal(mount("none", t->mnt, "tmpfs", 0, "size=1m"), 0);
	t->mounted = 1;
	assert_int_equal(runtime_cgroup_detect(t->mnt, &v, &e), 0);
	assert_int_equal(v, RUNTIME_CGROUP_V1);
	assert_int_equal(umount2(t->mnt, 0), 0);
	assert_int_equal(mount("none", t->mnt, "cgroup2", 0, NULL), 0);
	assert_int_equal(runtime_cgroup_detect(t->mnt, &v, &e), 0);
	assert_int_equal(v, RUNTIME_CGROUP_V2);

	assert_int_equal(runtime_cgroup_detect("/nonexistent-ember", &v, &e), -ENOENT);
	assert_msg_contains(&e, "cgroup: statfs /nonexistent-ember: ");
}

/* ---- v1, for real ---- */

static void test_v1_limits(void **state)
{
	struct t *t = *state;
	struct ember_error e = { 0 };

	SKIP_UNLESS_V1();
	assert_int_equal(runtime_cgroup_create(V1, t->rel, &t->cg, &e), 0);
	assert_int_equal(runtime_cgroup_version(t->cg), RUNTIME_CGROUP_V1);
	assert_int_equal(runtime_cgroup_fd(t->cg), -1);
	for (size_t i = 0; i < ARRAY_SIZE(v1_ctrls); i++)
		assert_int_equal(runtime_cgroup_has(t->cg, v1_ctrls[i]), exists(V1 "/%s/%s", v1_ctrls[i], t->rel));
	assert_true(runtime_cgroup_has(t->cg, "memory"));
	assert_false(runtime_cgroup_has(t->cg, "nosuch"));

	set_ok(t->cg, "{\"memory\": {\"limit\": 67108864}, \"cpu\": {\"shares\": 512, \"quota\": 50000, "
		      "\"period\": 100000}, \"pids\": {\"limit\": 20}}");
	assert_file("67108864\n", V1 "/memory/%s/memory.limit_in_bytes", t->rel);
	if (runtime_cgroup_has(t->cg, "cpu")) {
		assert_file("512\n", V1 "/cpu/%s/cpu.shares", t->rel);
		assert_file("50000\n", V1 "/cpu/%s/cpu.cfs_quota_us", t->rel);
		assert_file("100000\n", V1 "/cpu/%s/cpu.cfs_period_us", t->rel);
	}
	if (runtime_cgroup_has(t->cg, "pids"))
		assert_file("20\n", V1 "/pids/%s/pids.max", t->rel);

	/* memory+swap, raised past the limit and lowered again: order matters. */
	if (exists(V1 "/memory/%s/memory.memsw.limit_in_bytes", t->rel)) {
		set_ok(t->cg, "{\"memory\": {\"limit\": 134217728, \"swap\": 268435456}}");
		assert_file("134217728\n", V1 "/memory/%s/memory.limit_in_bytes", t->rel);
		assert_file("268435456\n", V1 "/memory/%s/memory.memsw.limit_in_bytes", t->rel);
		set_ok(t->cg, "{\"memory\": {\"limit\": 33554432, \"swap\": 33554432}}");
		assert_file("33554432\n", V1 "/memory/%s/memory.memsw.limit_in_bytes", t->rel);
		assert_file("33554432\n", V1 "/memory/%s/memory.limit_in_bytes", t->rel);
	}
	/* Unlimited again; pids <= 0 is unlimited. */
	set_ok(t->cg, "{\"memory\": {\"limit\": -1, \"swap\": -1}, \"cpu\": {\"quota\": -1}, \"pids\": {\"limit\": 0}}");
	assert_file("max\n", V1 "/pids/%s/pids.max", t->rel);
	assert_file("-1\n", V1 "/cpu/%s/cpu.cfs_quota_us", t->rel);
	struct runtime_cgroup_stats st;
	assert_int_equal(runtime_cgroup_stats(t->cg, &st, &e), 0);
	assert_int_equal(st.memory_limit, -1);
	assert_int_equal(st.pids_limit, -1);

	/* Re-adoption finds the same files. */
	struct runtime_cgroup *again = NULL;
	assert_int_equal(runtime_cgroup_open(V1, t->rel, &again, &e), 0);
	json_t *j = J("{\"pids\": {\"limit\": 7}}");
	assert_int_equal(runtime_cgroup_set(again, j, &e), 0);
	json_decref(j);
	assert_file("7\n", V1 "/pids/%s/pids.max", t->rel);
	runtime_cgroup_free(again);
}

static void test_v1_enter_stats(void **state)
{
	struct t *t = *state;
	struct ember_error e = { 0 };
	struct runtime_cgroup_stats st;

	SKIP_UNLESS_V1();
	assert_int_equal(runtime_cgroup_create(V1, t->rel, &t->cg, &e), 0);
	int k = spawn(t, KID_TOUCH);
	assert_int_equal(runtime_cgroup_enter(t->cg, t->kids[k], &e), 0);
	for (size_t i = 0; i < ARRAY_SIZE(v1_ctrls); i++)
		if (runtime_cgroup_has(t->cg, v1_ctrls[i]) && !in_cgroup(t->kids[k], v1_ctrls[i], t->rel))
			fail_msg("/proc/%d/cgroup: not in %s:/%s", (int)t->kids[k], v1_ctrls[i], t->rel);
	go(t, k);
	wait_ack(t, k);

	pid_t *pids = NULL;
	size_t n = 0;
	assert_int_equal(runtime_cgroup_pids(t->cg, &pids, &n, &e), 0);
	assert_int_equal(n, 1);
	assert_int_equal(pids[0], t->kids[k]);
	free(pids);

	assert_int_equal(runtime_cgroup_stats(t->cg, &st, &e), 0);
	assert_true(st.memory_usage >= 4 << 20);
	assert_true(st.memory_max_usage >= st.memory_usage);
	assert_int_equal(st.memory_limit, -1);
	/* One process; under qemu-user it has qemu's own threads too, and
	   pids.current counts tasks. */
	assert_int_equal(st.pids_current, tasks_of(t->kids[k]));
	assert_int_equal(st.pids_limit, -1);
	if (runtime_cgroup_has(t->cg, "cpuacct")) {
		assert_true(st.cpu_usage_ns >= 100000000); /* it spun 200 ms */
		assert_true(st.cpu_user_ns + st.cpu_system_ns > 0);
	}
	assert_false(st.frozen);
	assert_int_equal(st.oom_kills, 0);
}

static void test_v1_pids_limit(void **state)
{
	struct t *t = *state;
	struct ember_error e = { 0 };

	SKIP_UNLESS_V1();
	assert_int_equal(runtime_cgroup_create(V1, t->rel, &t->cg, &e), 0);
	if (!runtime_cgroup_has(t->cg, "pids"))
		skip();
	set_ok(t->cg, "{\"pids\": {\"limit\": 1}}");
	int k = spawn(t, KID_FORK);
	assert_int_equal(runtime_cgroup_enter(t->cg, t->kids[k], &e), 0);
	go(t, k);
	int status = reap(t, k);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0); /* fork() failed with EAGAIN */
}

static uint64_t cpuacct_usage(struct t *t)
{
	struct runtime_cgroup_stats st;
	struct ember_error e = { 0 };

	assert_int_equal(runtime_cgroup_stats(t->cg, &st, &e), 0);
	return st.cpu_usage_ns;
}

static void test_v1_freeze(void **state)
{
	struct t *t = *state;
	struct ember_error e = { 0 };
	struct runtime_cgroup_stats st;

	SKIP_UNLESS_V1();
	assert_int_equal(runtime_cgroup_create(V1, t->rel, &t->cg, &e), 0);
	if (!runtime_cgroup_has(t->cg, "freezer"))
		skip();
	int k = spawn(t, KID_SPIN);
	assert_int_equal(runtime_cgroup_enter(t->cg, t->kids[k], &e), 0);
	go(t, k);
	wait_ack(t, k);

	assert_int_equal(runtime_cgroup_freeze(t->cg, true, &e), 0);
	assert_file("FROZEN\n", V1 "/freezer/%s/freezer.state", t->rel);
	assert_int_equal(runtime_cgroup_stats(t->cg, &st, &e), 0);
	assert_true(st.frozen);
	if (runtime_cgroup_has(t->cg, "cpuacct")) {
		/* A spinning task that is frozen uses no CPU. */
		uint64_t a = cpuacct_usage(t);
		usleep(100000);
		assert_true(cpuacct_usage(t) - a < 1000000);
	}
	assert_int_equal(runtime_cgroup_freeze(t->cg, false, &e), 0);
	assert_file("THAWED\n", V1 "/freezer/%s/freezer.state", t->rel);
	assert_int_equal(runtime_cgroup_stats(t->cg, &st, &e), 0);
	assert_false(st.frozen);
	if (runtime_cgroup_has(t->cg, "cpuacct")) {
		uint64_t a = cpuacct_usage(t);
		usleep(100000);
		assert_true(cpuacct_usage(t) - a > 10000000);
	}
}

static void test_v1_oom(void **state)
{
	struct t *t = *state;
	struct ember_error e = { 0 };
	struct runtime_cgroup_stats st;

	SKIP_UNLESS_V1();
	assert_int_equal(runtime_cgroup_create(V1, t->rel, &t->cg, &e), 0);
	/* No swap for it: memsw when the kernel accounts swap, else swappiness 0. */
	if (exists(V1 "/memory/%s/memory.memsw.limit_in_bytes", t->rel))
		set_ok(t->cg, "{\"memory\": {\"limit\": 16777216, \"swap\": 16777216}}");
	else
		set_ok(t->cg, "{\"memory\": {\"limit\": 16777216, \"swappiness\": 0}}");
	int k = spawn(t, KID_OOM);
	assert_int_equal(runtime_cgroup_enter(t->cg, t->kids[k], &e), 0);
	go(t, k);
	int status = reap(t, k);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGKILL);
	assert_int_equal(runtime_cgroup_stats(t->cg, &st, &e), 0);
	assert_int_equal(st.memory_limit, 16777216);
	if (strstr(slurp(V1 "/memory/memory.oom_control"), "oom_kill "))
		assert_true(st.oom_kills >= 1);
	else
		print_message("no oom_kill in memory.oom_control (kernel < 4.13): oom_kills not checked\n");
}

static void test_v1_kill_remove(void **state)
{
	struct t *t = *state;
	struct ember_error e = { 0 };
	char rel[200];

	SKIP_UNLESS_V1();
	snprintf(rel, sizeof(rel), "%s/a/b/c", t->top);
	assert_int_equal(runtime_cgroup_create(V1, rel, &t->cg, &e), 0);
	int k = spawn(t, KID_TREE);
	assert_int_equal(runtime_cgroup_enter(t->cg, t->kids[k], &e), 0);
	go(t, k);
	wait_ack(t, k);
	pid_t *pids = NULL;
	size_t n = 0;
	assert_int_equal(runtime_cgroup_pids(t->cg, &pids, &n, &e), 0);
	free(pids);
	assert_int_equal(n, 4);

	/* Frozen first: SIGKILL must still get every one of them. */
	if (runtime_cgroup_has(t->cg, "freezer"))
		assert_int_equal(runtime_cgroup_freeze(t->cg, true, &e), 0);
	assert_int_equal(runtime_cgroup_kill(t->cg, SIGKILL, &e), 0);
	int status = reap(t, k);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGKILL);
	/* The grandchildren were reparented; remove waits for them. */
	assert_int_equal(runtime_cgroup_remove(t->cg, &e), 0);
	for (size_t i = 0; i < ARRAY_SIZE(v1_ctrls); i++) {
		if (!runtime_cgroup_has(t->cg, v1_ctrls[i]))
			continue;
		assert_false(exists(V1 "/%s/%s/a", v1_ctrls[i], t->top));
		assert_true(exists(V1 "/%s/%s", v1_ctrls[i], t->top)); /* the first component stays */
	}
	/* Removing again is fine; opening is ENOENT. */
	assert_int_equal(runtime_cgroup_remove(t->cg, &e), 0);
	struct runtime_cgroup *gone = (struct runtime_cgroup *)&e;
	assert_int_equal(runtime_cgroup_open(V1, rel, &gone, &e), -ENOENT);
	assert_null(gone);
	assert_msg_contains(&e, rel);
	assert_string_equal(e.name, EMBER_ERROR_NOT_FOUND);
}

static void test_v1_kill_signal(void **state)
{
	struct t *t = *state;
	struct ember_error e = { 0 };

	SKIP_UNLESS_V1();
	assert_int_equal(runtime_cgroup_create(V1, t->rel, &t->cg, &e), 0);
	int k = spawn(t, KID_WAIT);
	assert_int_equal(runtime_cgroup_enter(t->cg, t->kids[k], &e), 0);

	/* A process that stays: removal retries for a bounded time, then says why. */
	struct timespec a, b;
	clock_gettime(CLOCK_MONOTONIC, &a);
	assert_int_equal(runtime_cgroup_remove(t->cg, &e), -EBUSY);
	clock_gettime(CLOCK_MONOTONIC, &b);
	long ms = (b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000;
	assert_true(ms >= RUNTIME_CGROUP_WAIT_MS && ms < RUNTIME_CGROUP_WAIT_MS + 2000);
	char want[300];
	snprintf(want, sizeof(want), "cgroup: memory: rmdir %s: %s", t->rel, strerror(EBUSY));
	assert_string_equal(e.message, want);
	assert_true(exists(V1 "/memory/%s", t->rel));

	assert_int_equal(runtime_cgroup_kill(t->cg, SIGTERM, &e), 0);
	int status = reap(t, k);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGTERM);
	/* The process has gone; removal then needs no retry. */
	assert_int_equal(runtime_cgroup_remove(t->cg, &e), 0);
	assert_false(exists(V1 "/memory/%s", t->rel));
}

static void test_v1_errors(void **state)
{
	struct t *t = *state;
	struct ember_error e = { 0 };
	struct runtime_cgroup *cg = NULL;

	SKIP_UNLESS_V1();
	/* Paths that would leave the hierarchy or are not one. */
	static const char *const bad[] = { "", "/abs", "a/../b", "a//b", "a/", ".", "..", "a/./b" };
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		assert_int_equal(runtime_cgroup_create(V1, bad[i], &cg, &e), -EINVAL);
		assert_null(cg);
		assert_msg_contains(&e, "cgroup: path \"");
	}

	assert_int_equal(runtime_cgroup_create(V1, t->rel, &t->cg, &e), 0);
	set_err(t->cg, "{\"blockIO\": {\"weight\": 10}}", &e);
	assert_int_equal(e.code, ENOTSUP);
	assert_string_equal(e.message, "cgroup: linux.resources.blockIO: not supported");
	set_err(t->cg, "{\"memory\": {\"limit\": 1, \"huge\": 1}}", &e);
	assert_string_equal(e.message, "cgroup: linux.resources.memory.huge: not supported");
	set_err(t->cg, "{\"memory\": {\"limit\": \"1g\"}}", &e);
	assert_int_equal(e.code, EINVAL);
	assert_string_equal(e.message, "cgroup: linux.resources.memory.limit: must be an integer");
	set_err(t->cg, "{\"pids\": 3}", &e);
	assert_string_equal(e.message, "cgroup: linux.resources.pids: must be an object");
	set_err(t->cg, "{\"cpu\": {\"shares\": -5}}", &e);
	assert_int_equal(e.code, EINVAL);

	/* What the kernel refuses names the file and the value: a limit of
	   1 byte below the 4 MiB a child holds (no swap to reclaim to). */
	int k = spawn(t, KID_TOUCH);
	assert_int_equal(runtime_cgroup_enter(t->cg, t->kids[k], &e), 0);
	go(t, k);
	wait_ack(t, k);
	if (exists(V1 "/memory/%s/memory.memsw.limit_in_bytes", t->rel))
		set_ok(t->cg, "{\"memory\": {\"limit\": 67108864, \"swap\": 67108864}}");
	set_err(t->cg, "{\"memory\": {\"limit\": 1}}", &e);
	assert_msg_contains(&e, "cgroup: memory.limit_in_bytes: \"1\": ");
	assert_msg_contains(&e, strerror(e.code));
	set_err(t->cg, "{\"memory\": {\"limit\": 67108864, \"swap\": 33554432}}", &e);
	assert_string_equal(e.message, "cgroup: linux.resources.memory.swap: below the memory limit");
	/* A value the kernel cannot parse. */
	if (runtime_cgroup_has(t->cg, "cpu")) {
		set_err(t->cg, "{\"cpu\": {\"period\": 1}}", &e);
		assert_string_equal(e.message, "cgroup: cpu.cfs_period_us: \"1\": Invalid argument");
	}
	/* Entering a pid that is not there. */
	assert_true(runtime_cgroup_enter(t->cg, 0x7ffffff0, &e) < 0);
	assert_msg_contains(&e, "/cgroup.procs: \"2147483632\": ");
}

/* A hierarchy mounted under a name that is not the controller's is found
   in /proc/self/mountinfo; controllers not mounted are skipped. The mount
   is the machine's pids hierarchy again, so the cgroup also shows up (and
   is cleaned up) in /sys/fs/cgroup/pids. */
static void test_v1_mountinfo(void **state)
{
	struct t *t = *state;
	struct ember_error e = { 0 };
	char path[1200];
	int v = 0;

	SKIP_UNLESS_V1();
	if (!exists(V1 "/pids/pids.max") && !exists(V1 "/pids/cgroup.procs"))
		skip();
	assert_int_equal(mount("none", t->mnt, "tmpfs", 0, "size=1m"), 0);
	t->mounted = 1;
	snprintf(path, sizeof(path), "%s/tasks-limit", t->mnt);
	assert_int_equal(mkdir(path, 0755), 0);
	assert_int_equal(mount("none", path, "cgroup", 0, "pids"), 0);
	/* A bare directory named like a controller is no hierarchy. */
	snprintf(path, sizeof(path), "%s/memory", t->mnt);
	assert_int_equal(mkdir(path, 0755), 0);

	assert_int_equal(runtime_cgroup_detect(t->mnt, &v, &e), 0);
	assert_int_equal(v, RUNTIME_CGROUP_V1);
	assert_int_equal(runtime_cgroup_create(t->mnt, t->rel, &t->cg, &e), 0);
	assert_true(runtime_cgroup_has(t->cg, "pids"));
	assert_false(runtime_cgroup_has(t->cg, "memory"));
	assert_false(runtime_cgroup_has(t->cg, "cpu"));
	assert_true(exists("%s/tasks-limit/%s", t->mnt, t->rel));
	assert_true(exists(V1 "/pids/%s", t->rel));
	assert_false(exists("%s/memory/%s", t->mnt, t->top));

	set_ok(t->cg, "{\"pids\": {\"limit\": 5}}");
	assert_file("5\n", V1 "/pids/%s/pids.max", t->rel);
	set_err(t->cg, "{\"memory\": {\"limit\": 67108864}}", &e);
	assert_int_equal(e.code, ENOENT);
	assert_string_equal(e.message, "cgroup: memory.limit_in_bytes: \"67108864\": no memory hierarchy");
	struct runtime_cgroup_stats st;
	assert_int_equal(runtime_cgroup_stats(t->cg, &st, &e), 0);
	assert_int_equal(st.memory_usage, -1);
	assert_int_equal(st.pids_current, 0);
	assert_int_equal(st.pids_limit, 5);
	assert_int_equal(runtime_cgroup_freeze(t->cg, true, &e), -ENOTSUP);
	assert_string_equal(e.message, "cgroup: freezer.state: no freezer hierarchy");

	assert_int_equal(runtime_cgroup_remove(t->cg, &e), 0);
	assert_false(exists(V1 "/pids/%s", t->rel));
}

/* ---- v2, for real on a cgroup2 mounted here ---- */

static int mount_cgroup2(struct t *t)
{
	if (geteuid() != 0 || mount("none", t->mnt, "cgroup2", 0, NULL) < 0) {
		print_message("skipped: cannot mount cgroup2: %s\n", strerror(errno));
		return 0;
	}
	t->mounted = 1;
	return 1;
}

static void test_v2_real(void **state)
{
	struct t *t = *state;
	struct ember_error e = { 0 };
	struct runtime_cgroup_stats st;
	char rel[200];

	if (!mount_cgroup2(t))
		skip();
	snprintf(rel, sizeof(rel), "%s/a/b", t->top);
	assert_int_equal(runtime_cgroup_create(t->mnt, rel, &t->cg, &e), 0);
	assert_int_equal(runtime_cgroup_version(t->cg), RUNTIME_CGROUP_V2);
	int fd = runtime_cgroup_fd(t->cg);
	assert_true(fd >= 0);
	assert_true(runtime_cgroup_has(t->cg, "freezer"));
	{
		char path[4400];
		snprintf(path, sizeof(path), "%s/%s/cgroup.controllers", t->mnt, rel);
		const char *c = slurp(path);
		assert_int_equal(runtime_cgroup_has(t->cg, "memory"), strstr(c, "memory") != NULL);
	}
	/* Creating again is fine. */
	struct runtime_cgroup *again = NULL;
	assert_int_equal(runtime_cgroup_create(t->mnt, rel, &again, &e), 0);
	runtime_cgroup_free(again);

	int k = spawn(t, KID_SPIN);
	assert_int_equal(runtime_cgroup_enter(t->cg, t->kids[k], &e), 0);
	assert_true(in_cgroup(t->kids[k], "", rel));
	go(t, k);
	wait_ack(t, k);
	pid_t *pids = NULL;
	size_t n = 0;
	assert_int_equal(runtime_cgroup_pids(t->cg, &pids, &n, &e), 0);
	assert_int_equal(n, 1);
	assert_int_equal(pids[0], t->kids[k]);
	free(pids);

	assert_int_equal(runtime_cgroup_freeze(t->cg, true, &e), 0);
	char path[4400];
	snprintf(path, sizeof(path), "%s/%s/cgroup.events", t->mnt, rel);
	assert_non_null(strstr(slurp(path), "frozen 1\n"));
	assert_int_equal(runtime_cgroup_stats(t->cg, &st, &e), 0);
	assert_true(st.frozen);
	uint64_t frozen_cpu = st.cpu_usage_ns;
	usleep(100000);
	assert_int_equal(runtime_cgroup_stats(t->cg, &st, &e), 0);
	assert_true(st.cpu_usage_ns - frozen_cpu < 1000000);
	assert_int_equal(runtime_cgroup_freeze(t->cg, false, &e), 0);
	assert_non_null(strstr(slurp(path), "frozen 0\n"));
	usleep(100000);
	assert_int_equal(runtime_cgroup_stats(t->cg, &st, &e), 0);
	assert_false(st.frozen);
	assert_true(st.cpu_usage_ns > frozen_cpu + 10000000); /* cpu.stat is core: always there */
	assert_true(st.cpu_user_ns > 0);
	if (!runtime_cgroup_has(t->cg, "memory")) {
		assert_int_equal(st.memory_usage, -1);
		/* A limit without the controller names the missing file. */
		set_err(t->cg, "{\"memory\": {\"limit\": 67108864}}", &e);
		assert_string_equal(e.message, "cgroup: memory.max: \"67108864\": No such file or directory");
	}
	if (!runtime_cgroup_has(t->cg, "pids"))
		assert_int_equal(st.pids_current, -1);

	/* Frozen, then killed: SIGKILL gets frozen tasks on v2. */
	assert_int_equal(runtime_cgroup_freeze(t->cg, true, &e), 0);
	assert_int_equal(runtime_cgroup_kill(t->cg, SIGKILL, &e), 0);
	int status = reap(t, k);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGKILL);

	/* Another one, with a signal that cgroup.kill cannot send. */
	assert_int_equal(runtime_cgroup_freeze(t->cg, false, &e), 0);
	k = spawn(t, KID_WAIT);
	assert_int_equal(runtime_cgroup_enter(t->cg, t->kids[k], &e), 0);
	assert_int_equal(runtime_cgroup_kill(t->cg, SIGTERM, &e), 0);
	status = reap(t, k);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGTERM);

	assert_int_equal(runtime_cgroup_remove(t->cg, &e), 0);
	assert_false(exists("%s/%s/a", t->mnt, t->top));
	assert_true(exists("%s/%s", t->mnt, t->top));
	struct runtime_cgroup *gone = NULL;
	assert_int_equal(runtime_cgroup_open(t->mnt, rel, &gone, &e), -ENOENT);
	assert_null(gone);
}

/* ---- the device cgroup's eBPF program, on a cgroup2 mounted here ---- */

/* What a process in cg may do: "NAME:FLAGS=ok|EPERM|..." for each try,
   from a child moved into the cgroup. Nodes are made in dir first (as
   the test, outside: mknod itself is one of the tries). */
static char *devices_try(struct t *t, const char *dir)
{
	static char out[512];
	static const struct {
		const char *name;
		int flags; /* -1: mknod */
		mode_t type;
		unsigned major, minor;
	} tries[] = {
		{ "null", O_RDWR, S_IFCHR, 1, 3 },     { "zero", O_RDONLY, S_IFCHR, 1, 5 },
		{ "kmsg", O_RDONLY, S_IFCHR, 1, 11 },  { "kmsg", O_WRONLY, S_IFCHR, 1, 11 },
		{ "kmsg", O_RDWR, S_IFCHR, 1, 11 },    { "loop0", O_RDONLY, S_IFBLK, 7, 0 },
		{ "mknod-c", -1, S_IFCHR, 1, 11 },     { "mknod-b", -1, S_IFBLK, 7, 0 },
	};
	char path[4500 + 64];
	int pfd[2];

	for (size_t i = 0; i < ARRAY_SIZE(tries); i++) {
		snprintf(path, sizeof(path), "%.4400s/%s", dir, tries[i].name);
		if (tries[i].flags >= 0)
			(void)mknod(path, tries[i].type | 0600, makedev(tries[i].major, tries[i].minor));
	}
	assert_int_equal(pipe(pfd), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct ember_error e;
		char res[512] = "";
		if (runtime_cgroup_enter(t->cg, getpid(), &e) < 0)
			_exit(2);
		for (size_t i = 0; i < ARRAY_SIZE(tries); i++) {
			int r;
			snprintf(path, sizeof(path), "%.4400s/%s", dir, tries[i].name);
			if (tries[i].flags < 0) {
				r = mknod(path, tries[i].type | 0600, makedev(tries[i].major, tries[i].minor));
				(void)unlink(path);
			} else {
				r = open(path, tries[i].flags | O_CLOEXEC | O_NONBLOCK);
				if (r >= 0)
					close(r);
			}
			snprintf(res + strlen(res), sizeof(res) - strlen(res), "%s%s:%s=%s", i ? " " : "",
				 tries[i].name, tries[i].flags == O_RDONLY ? "r" : tries[i].flags == O_WRONLY ? "w" : "rw",
				 r >= 0 ? "ok" : errno == EPERM ? "EPERM" : strerror(errno));
		}
		(void)!write(pfd[1], res, strlen(res));
		_exit(0);
	}
	close(pfd[1]);
	ssize_t n = read(pfd[0], out, sizeof(out) - 1);
	close(pfd[0]);
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	out[n > 0 ? n : 0] = '\0';
	return out;
}

struct dev_case {
	const char *lx, *want;
};

/* Each case in a cgroup of its own below mnt (v2: programs add up,
   ALLOW_MULTI): its rules, then what devices_try() gets there. 0 done,
   1 when the first case says the kernel cannot (skipped). */
static int devices_cases(struct t *t, const char *mnt, const struct dev_case *cases, size_t n)
{
	struct ember_error e = { 0 };
	char rel[200], dir[4400];

	snprintf(dir, sizeof(dir), "%s/nodes", t->dir);
	assert_int_equal(mkdir(dir, 0755), 0);
	for (size_t i = 0; i < n; i++) {
		snprintf(rel, sizeof(rel), "%s/d%zu", t->top, i);
		runtime_cgroup_free(t->cg);
		t->cg = NULL;
		assert_int_equal(runtime_cgroup_create(mnt, rel, &t->cg, &e), 0);
		json_t *lx = J(cases[i].lx);
		int r = runtime_cgroup_devices(t->cg, lx, &e);
		json_decref(lx);
		if (r < 0 && i == 0 && (e.code == EPERM || e.code == ENOSYS)) {
			print_message("skipped: %s\n", e.message);
			return 1;
		}
		if (r < 0) fail_msg("%s", e.message);
		char *got = devices_try(t, dir);
		/* loop0 without the device allowed is EPERM; allowed, ENXIO or ok
		   (no loop device there): only "not EPERM" matters. */
		char *lp = strstr(got, "loop0:r=");
		if (lp && strncmp(lp + 8, "EPERM", 5)) {
			memmove(lp + 10, lp + 8 + strcspn(lp + 8, " "), strlen(lp + 8 + strcspn(lp + 8, " ")) + 1);
			memcpy(lp + 8, "ok", 2);
		}
		assert_string_equal(got, cases[i].want);
		assert_int_equal(runtime_cgroup_remove(t->cg, &e), 0);
	}
	char cmd[4500];
	snprintf(cmd, sizeof(cmd), "rm -rf '%.4400s'", dir);
	(void)system(cmd);
	return 0;
}

/* runc's default spec: deny all; the standard nodes and mknod stay. */
#define DEV_DENY_ALL "{\"resources\": {\"devices\": [{\"allow\": false, \"access\": \"rwm\"}]}}"
#define DEV_DENY_ALL_GOT                                                                               \
	"null:rw=ok zero:r=ok kmsg:r=EPERM kmsg:w=EPERM kmsg:rw=EPERM loop0:r=EPERM mknod-c:rw=ok " \
	"mknod-b:rw=ok"
/* Read and write of kmsg allowed, then write denied of c 1:* (v2: the
   last match wins per access; v1: a deny takes only from an allow of
   exactly its device, this one of none). */
#define DEV_ALLOW_NARROW_DENY_WIDE                                                                          \
	"{\"resources\": {\"devices\": [{\"allow\": false, \"access\": \"rwm\"}, {\"allow\": true, \"type\": \"c\", " \
	"\"major\": 1, \"minor\": 11, \"access\": \"rw\"}, {\"allow\": false, \"type\": \"c\", \"major\": 1, "      \
	"\"access\": \"w\"}]}}"
/* Wildcards (-1, absent); a type alone. */
#define DEV_WILDCARDS                                                                                  \
	"{\"resources\": {\"devices\": [{\"allow\": false, \"access\": \"rwm\"}, {\"allow\": true, \"type\": " \
	"\"c\", \"major\": 1}, {\"allow\": true, \"type\": \"b\", \"major\": -1, \"access\": \"r\"}]}}"
#define DEV_ALL_OK "null:rw=ok zero:r=ok kmsg:r=ok kmsg:w=ok kmsg:rw=ok loop0:r=ok mknod-c:rw=ok mknod-b:rw=ok"

static void test_v2_devices(void **state)
{
	struct t *t = *state;
	struct ember_error e = { 0 };

	if (!ENABLED(CONFIG_CGROUP_DEVICES) || !mount_cgroup2(t)) {
		skip();
		return; /* (without the symbol: none of what follows links) */
	}
	/* A bad rule is refused, naming it, before anything is loaded. */
	json_t *bad = J("{\"resources\": {\"devices\": [{\"allow\": false}, {\"allow\": true, \"access\": \"rx\"}]}}");
	assert_int_equal(runtime_cgroup_devices(NULL, bad, &e), -EINVAL);
	assert_string_equal(e.message, "linux.resources.devices[1].access \"rx\": letters of \"rwm\"");
	json_decref(bad);
	bad = J("{\"resources\": {\"devices\": [{\"allow\": true, \"type\": \"c\", \"major\": -2}]}}");
	assert_int_equal(runtime_cgroup_devices(NULL, bad, &e), -EINVAL);
	assert_string_equal(e.message, "linux.resources.devices[0].major: a device number, or -1 for any");
	json_decref(bad);
	bad = J("{\"resources\": {\"devices\": [{\"allow\": true, \"type\": 99}]}}");
	assert_int_equal(runtime_cgroup_devices(NULL, bad, &e), -EINVAL);
	assert_string_equal(e.message, "linux.resources.devices[0]: type and access are strings");
	json_decref(bad);

	static const struct dev_case cases[] = {
		{ DEV_DENY_ALL, DEV_DENY_ALL_GOT },
		{ DEV_ALLOW_NARROW_DENY_WIDE,
		  "null:rw=ok zero:r=ok kmsg:r=ok kmsg:w=EPERM kmsg:rw=EPERM loop0:r=EPERM mknod-c:rw=ok mknod-b:rw=ok" },
		{ DEV_WILDCARDS, DEV_ALL_OK },
	};
	if (devices_cases(t, t->mnt, cases, ARRAY_SIZE(cases)))
		skip();
}

/* v1: the devices controller's lists, as runc writes them. */
static void test_v1_devices(void **state)
{
	struct t *t = *state;
	struct ember_error e = { 0 };

	SKIP_UNLESS_V1();
	if (!ENABLED(CONFIG_CGROUP_DEVICES) || !exists(V1 "/devices/devices.list")) {
		skip();
		return; /* (without the symbol: none of what follows links) */
	}
	/* The list: deny all, then the rules in order (a type "a" rule with a
	   number as a b and a c line, one of no access none), then runc's
	   defaults. */
	assert_int_equal(runtime_cgroup_create(V1, t->rel, &t->cg, &e), 0);
	assert_true(runtime_cgroup_has(t->cg, "devices"));
	json_t *lx = J("{\"resources\": {\"devices\": [{\"allow\": false, \"access\": \"rwm\"}, {\"allow\": true, "
		       "\"major\": 7, \"access\": \"r\"}, {\"allow\": false, \"type\": \"c\", \"major\": 7, \"minor\": 3, "
		       "\"access\": \"r\"}, {\"allow\": true, \"type\": \"c\", \"access\": \"\"}]}}");
	assert_int_equal(runtime_cgroup_devices(t->cg, lx, &e), 0);
	json_decref(lx);
	assert_file("b 7:* r\nc 7:* r\nc *:* m\nb *:* m\nc 1:3 rwm\nc 1:8 rwm\nc 1:7 rwm\nc 5:0 rwm\nc 1:5 rwm\n"
		    "c 1:9 rwm\nc 136:* rwm\nc 5:2 rwm\nc 10:200 rwm\n",
		    V1 "/devices/%s/devices.list", t->rel);
	/* Written again (a restore): the same list, not twice. */
	lx = J("{}");
	assert_int_equal(runtime_cgroup_devices(t->cg, lx, &e), 0);
	json_decref(lx);
	assert_file("c *:* m\nb *:* m\nc 1:3 rwm\nc 1:8 rwm\nc 1:7 rwm\nc 5:0 rwm\nc 1:5 rwm\nc 1:9 rwm\n"
		    "c 136:* rwm\nc 5:2 rwm\nc 10:200 rwm\n",
		    V1 "/devices/%s/devices.list", t->rel);
	/* Allow all: the defaults after it change nothing. */
	lx = J("{\"resources\": {\"devices\": [{\"allow\": true, \"access\": \"rwm\"}]}}");
	assert_int_equal(runtime_cgroup_devices(t->cg, lx, &e), 0);
	json_decref(lx);
	assert_file("a *:* rwm\n", V1 "/devices/%s/devices.list", t->rel);
	assert_int_equal(runtime_cgroup_remove(t->cg, &e), 0);
	assert_false(exists(V1 "/devices/%s", t->rel));

	static const struct dev_case cases[] = {
		{ DEV_DENY_ALL, DEV_DENY_ALL_GOT },
		/* v1's kernel semantics: the wide deny leaves kmsg's allow. */
		{ DEV_ALLOW_NARROW_DENY_WIDE,
		  "null:rw=ok zero:r=ok kmsg:r=ok kmsg:w=ok kmsg:rw=ok loop0:r=EPERM mknod-c:rw=ok mknod-b:rw=ok" },
		{ DEV_WILDCARDS, DEV_ALL_OK },
	};
	if (devices_cases(t, V1, cases, ARRAY_SIZE(cases)))
		skip();
}

/* clone3(CLONE_INTO_CGROUP) with the fd: the child starts in the cgroup. */
static void test_v2_clone_into(void **state)
{
	struct t *t = *state;
	struct ember_error e = { 0 };

	if (!mount_cgroup2(t))
		skip();
	assert_int_equal(runtime_cgroup_create(t->mnt, t->rel, &t->cg, &e), 0);
	struct clone_args ca = { 0 };
	ca.flags = CLONE_INTO_CGROUP;
	ca.exit_signal = SIGCHLD;
	ca.cgroup = (uint64_t)runtime_cgroup_fd(t->cg);
	long pid = syscall(SYS_clone3, &ca, sizeof(ca));
	if (pid < 0 && (errno == ENOSYS || errno == E2BIG)) {
		print_message("skipped: no clone3 here (qemu-user?): %s\n", strerror(errno));
		skip();
	}
	assert_true(pid >= 0);
	if (pid == 0) {
		for (;;)
			syscall(SYS_ppoll, NULL, 0, NULL, NULL, 0);
	}
	t->kids[t->nkids] = (pid_t)pid;
	t->go[t->nkids] = t->ack[t->nkids] = -1;
	t->nkids++;
	assert_true(in_cgroup((pid_t)pid, "", t->rel));
	assert_int_equal(runtime_cgroup_kill(t->cg, SIGKILL, &e), 0);
	int status = reap(t, t->nkids - 1);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(runtime_cgroup_remove(t->cg, &e), 0);
	assert_false(exists("%s/%s", t->mnt, t->rel));
}

/* ---- v2 files, on a tmpfs of regular files ---- */

static void fake(struct t *t, const char *path, const char *data)
{
	char full[4400];

	snprintf(full, sizeof(full), "%s/%s", t->mnt, path);
	int fd = open(full, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		fail_msg("create %s: %s", full, strerror(errno));
	assert_int_equal(write(fd, data, strlen(data)), (ssize_t)strlen(data));
	close(fd);
}

static void fake_dir(struct t *t, const char *path)
{
	char full[4400];

	snprintf(full, sizeof(full), "%s/%s", t->mnt, path);
	assert_int_equal(mkdir(full, 0755), 0);
}

static void fake_tree(struct t *t)
{
	static const char *const leaf[] = { "memory.max", "memory.swap.max", "memory.low", "cpu.weight",
					    "cpu.max", "pids.max", "cpuset.cpus", "cpuset.mems" };
	char p[256];

	if (geteuid() != 0 || mount("none", t->mnt, "tmpfs", 0, "size=1m") < 0) {
		print_message("skipped: cannot mount a tmpfs: %s\n", strerror(errno));
		skip();
	}
	t->mounted = 1;
	fake(t, "cgroup.controllers", "cpuset cpu io memory hugetlb pids rdma misc\n");
	fake(t, "cgroup.subtree_control", "");
	fake_dir(t, "a");
	fake(t, "a/cgroup.controllers", "cpu memory pids\n");
	fake(t, "a/cgroup.subtree_control", "memory\n");
	fake_dir(t, "a/b");
	fake(t, "a/b/cgroup.controllers", "memory pids\n");
	fake(t, "a/b/cgroup.subtree_control", "");
	fake_dir(t, "a/b/c");
	fake(t, "a/b/c/cgroup.controllers", "memory pids\n");
	for (size_t i = 0; i < ARRAY_SIZE(leaf); i++) {
		snprintf(p, sizeof(p), "a/b/c/%s", leaf[i]);
		fake(t, p, "unset");
	}
}

#define FAKE(want, file) assert_file(want, "%s/a/b/c/%s", t->mnt, file)

static void test_v2_set_fake(void **state)
{
	struct t *t = *state;
	struct ember_error e = { 0 };
	int v = 0;

	fake_tree(t);
	/* A tmpfs is no cgroup2: detected as v1. */
	assert_int_equal(runtime_cgroup_detect(t->mnt, &v, &e), 0);
	assert_int_equal(v, RUNTIME_CGROUP_V1);

	assert_int_equal(runtime_cgroup_get(t->mnt, "a/b/c", RUNTIME_CGROUP_V2, RUNTIME_CGROUP_CREATE, &t->cg, &e), 0);
	/* Each ancestor from mnt down enables what it lists and lacks. */
	assert_file("+memory +cpu +pids +io", "%s/cgroup.subtree_control", t->mnt);
	assert_file("+cpu +pids", "%s/a/cgroup.subtree_control", t->mnt);
	assert_file("+memory +pids", "%s/a/b/cgroup.subtree_control", t->mnt);
	assert_true(runtime_cgroup_has(t->cg, "memory"));
	assert_true(runtime_cgroup_has(t->cg, "pids"));
	assert_false(runtime_cgroup_has(t->cg, "cpu"));

	set_ok(t->cg, "{\"memory\": {\"limit\": 67108864, \"swap\": 100663296, \"reservation\": 33554432}, "
		      "\"cpu\": {\"shares\": 1024, \"quota\": 50000, \"period\": 100000, \"cpus\": \"0-1\", "
		      "\"mems\": \"0\"}, \"pids\": {\"limit\": 20}}");
	FAKE("67108864", "memory.max");
	FAKE("33554432", "memory.swap.max"); /* swap alone: 96 MiB - 64 MiB */
	FAKE("33554432", "memory.low");
	FAKE("39", "cpu.weight");
	FAKE("50000 100000", "cpu.max");
	FAKE("0-1", "cpuset.cpus");
	FAKE("0", "cpuset.mems");
	FAKE("20", "pids.max");

	set_ok(t->cg, "{\"memory\": {\"limit\": -1, \"swap\": -1, \"reservation\": -1, \"swappiness\": 10}, "
		      "\"cpu\": {\"shares\": 2, \"quota\": -1, \"period\": 250000}, \"pids\": {\"limit\": -1}}");
	FAKE("max", "memory.max");
	FAKE("max", "memory.swap.max");
	FAKE("max", "memory.low");
	FAKE("1", "cpu.weight");
	FAKE("max 250000", "cpu.max");
	FAKE("max", "pids.max");

	set_ok(t->cg, "{\"cpu\": {\"shares\": 262144, \"quota\": 20000}, \"pids\": {\"limit\": 0}}");
	FAKE("10000", "cpu.weight");
	FAKE("20000", "cpu.max"); /* the period stays as it is */
	set_ok(t->cg, "{\"cpu\": {\"shares\": 100000}}");
	FAKE("3815", "cpu.weight"); /* 1 + 99998 * 9999 / 262142 */
	set_ok(t->cg, "{\"memory\": {\"limit\": 0}, \"cpu\": {\"shares\": 0, \"quota\": 0}, \"devices\": []}");
	FAKE("0", "memory.max");
	FAKE("3815", "cpu.weight"); /* 0: not set */
	FAKE("20000", "cpu.max");

	set_err(t->cg, "{\"memory\": {\"swap\": 100663296}}", &e);
	assert_string_equal(e.message, "cgroup: linux.resources.memory.swap: needs a memory limit");
	set_err(t->cg, "{\"memory\": {\"limit\": 100663296, \"swap\": 67108864}}", &e);
	assert_string_equal(e.message, "cgroup: linux.resources.memory.swap: below the memory limit");
	set_err(t->cg, "{\"cpu\": {\"realtimeRuntime\": 1000}}", &e);
	assert_int_equal(e.code, ENOTSUP);
	set_err(t->cg, "{\"hugepageLimits\": []}", &e);
	assert_string_equal(e.message, "cgroup: linux.resources.hugepageLimits: not supported");

	/* No swap accounting: memory.swap.max is not there, and skipped. */
	char path[4400];
	snprintf(path, sizeof(path), "%s/a/b/c/memory.swap.max", t->mnt);
	assert_int_equal(unlink(path), 0);
	set_ok(t->cg, "{\"memory\": {\"limit\": 12, \"swap\": 24}}");
	FAKE("12", "memory.max");
	/* A missing file that is needed names file, value and errno. */
	snprintf(path, sizeof(path), "%s/a/b/c/memory.max", t->mnt);
	assert_int_equal(unlink(path), 0);
	set_err(t->cg, "{\"memory\": {\"limit\": 12}}", &e);
	assert_int_equal(e.code, ENOENT);
	assert_string_equal(e.message, "cgroup: memory.max: \"12\": No such file or directory");
}

static void test_v2_stats_fake(void **state)
{
	struct t *t = *state;
	struct ember_error e = { 0 };
	struct runtime_cgroup_stats st;

	fake_tree(t);
	assert_int_equal(runtime_cgroup_get(t->mnt, "a/b/c", RUNTIME_CGROUP_V2, 0, &t->cg, &e), 0);
	/* Nothing written when only opening. */
	assert_file("", "%s/cgroup.subtree_control", t->mnt);

	fake(t, "a/b/c/memory.current", "1234\n");
	fake(t, "a/b/c/memory.peak", "5678\n");
	fake(t, "a/b/c/memory.max", "max\n");
	fake(t, "a/b/c/memory.events", "low 0\nhigh 0\nmax 9\noom 3\noom_kill 2\noom_group_kill 0\n");
	fake(t, "a/b/c/cpu.stat", "usage_usec 10\nuser_usec 6\nsystem_usec 4\nnr_periods 0\n");
	fake(t, "a/b/c/pids.current", "3\n");
	fake(t, "a/b/c/pids.max", "max\n");
	fake(t, "a/b/c/cgroup.events", "populated 1\nfrozen 1\n");
	assert_int_equal(runtime_cgroup_stats(t->cg, &st, &e), 0);
	assert_int_equal(st.memory_usage, 1234);
	assert_int_equal(st.memory_max_usage, 5678);
	assert_int_equal(st.memory_limit, -1);
	assert_int_equal(st.oom_kills, 2);
	assert_int_equal(st.cpu_usage_ns, 10000);
	assert_int_equal(st.cpu_user_ns, 6000);
	assert_int_equal(st.cpu_system_ns, 4000);
	assert_int_equal(st.pids_current, 3);
	assert_int_equal(st.pids_limit, -1);
	assert_true(st.frozen);

	/* Files that are not there stay unknown. */
	char path[4400];
	snprintf(path, sizeof(path), "%s/a/b/c/memory.peak", t->mnt);
	assert_int_equal(unlink(path), 0);
	fake(t, "a/b/c/pids.max", "64\n");
	assert_int_equal(runtime_cgroup_stats(t->cg, &st, &e), 0);
	assert_int_equal(st.memory_max_usage, -1);
	assert_int_equal(st.pids_limit, 64);

	/* Numbers are parsed strictly. */
	static const char *const bad[] = { "12x\n", "\n", "-1\n", " 12\n", "12 \n", "99999999999999999999\n", "max2\n" };
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		fake(t, "a/b/c/memory.current", bad[i]);
		assert_int_equal(runtime_cgroup_stats(t->cg, &st, &e), -EINVAL);
		assert_msg_contains(&e, "cgroup: memory.current: not a number");
	}
	fake(t, "a/b/c/memory.current", "1\n");
	fake(t, "a/b/c/cpu.stat", "usage_usec 1x\n");
	assert_int_equal(runtime_cgroup_stats(t->cg, &st, &e), -EINVAL);
	assert_string_equal(e.message, "cgroup: cpu.stat: usage_usec: not a number");
	fake(t, "a/b/c/cpu.stat", "usage_usec 1\n");

	/* cgroup.procs, strictly too. */
	fake(t, "a/b/c/cgroup.procs", "12\n345\n");
	pid_t *pids = NULL;
	size_t n = 0;
	assert_int_equal(runtime_cgroup_pids(t->cg, &pids, &n, &e), 0);
	assert_int_equal(n, 2);
	assert_int_equal(pids[0], 12);
	assert_int_equal(pids[1], 345);
	free(pids);
	fake(t, "a/b/c/cgroup.procs", "");
	assert_int_equal(runtime_cgroup_pids(t->cg, &pids, &n, &e), 0);
	assert_int_equal(n, 0);
	assert_null(pids);
	fake(t, "a/b/c/cgroup.procs", "12\nabc\n");
	assert_int_equal(runtime_cgroup_pids(t->cg, &pids, &n, &e), -EINVAL);
	assert_msg_contains(&e, "cgroup.procs: not a pid: \"abc\"");

	/* Exactly as much as fits is fine; a file of a size no cgroup file has is not. */
	char fits[4096];
	memset(fits, ' ', sizeof(fits) - 1);
	memcpy(fits, "oom_kill 5\n", 11);
	fits[sizeof(fits) - 1] = '\0';
	fake(t, "a/b/c/memory.events", fits);
	assert_int_equal(runtime_cgroup_stats(t->cg, &st, &e), 0);
	assert_int_equal(st.oom_kills, 5);
	char big[5000];
	memset(big, '1', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	fake(t, "a/b/c/memory.events", big);
	assert_int_equal(runtime_cgroup_stats(t->cg, &st, &e), -E2BIG);
	assert_msg_contains(&e, "memory.events");

	/* An open that finds nothing. */
	struct runtime_cgroup *gone = NULL;
	assert_int_equal(runtime_cgroup_get(t->mnt, "a/x", RUNTIME_CGROUP_V2, 0, &gone, &e), -ENOENT);
	assert_null(gone);
	assert_string_equal(e.message, "cgroup: cgroup2: a/x: not found");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_detect, setup, teardown),
		cmocka_unit_test_setup_teardown(test_v1_limits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_v1_enter_stats, setup, teardown),
		cmocka_unit_test_setup_teardown(test_v1_pids_limit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_v1_freeze, setup, teardown),
		cmocka_unit_test_setup_teardown(test_v1_oom, setup, teardown),
		cmocka_unit_test_setup_teardown(test_v1_kill_remove, setup, teardown),
		cmocka_unit_test_setup_teardown(test_v1_kill_signal, setup, teardown),
		cmocka_unit_test_setup_teardown(test_v1_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_v1_mountinfo, setup, teardown),
		cmocka_unit_test_setup_teardown(test_v1_devices, setup, teardown),
		cmocka_unit_test_setup_teardown(test_v2_real, setup, teardown),
		cmocka_unit_test_setup_teardown(test_v2_clone_into, setup, teardown),
		cmocka_unit_test_setup_teardown(test_v2_devices, setup, teardown),
		cmocka_unit_test_setup_teardown(test_v2_set_fake, setup, teardown),
		cmocka_unit_test_setup_teardown(test_v2_stats_fake, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
