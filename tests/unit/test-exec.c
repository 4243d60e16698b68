/* SPDX-License-Identifier: Apache-2.0 */
/* The executor on its own: real containers on a plain rootfs directory
   (BusyBox from the host), without the daemon. Needs root, clone3 and
   /bin/busybox; skips where they are missing (qemu-user has no clone3). */
#include "unit.h"

#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "runtime/runtime.h"
#include "util/cleanup.h"

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

struct fixture {
	char *dir;
	char rootfs[4200];
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char cmd[20000];

	if (geteuid() != 0 || access("/bin/busybox", X_OK) != 0) {
		free(f);
		*state = NULL;
		return 0;
	}
	f->dir = unit_mkdtemp();
	snprintf(f->rootfs, sizeof(f->rootfs), "%s/rootfs", f->dir);
	snprintf(cmd, sizeof(cmd),
		 "mkdir -p '%s/bin' '%s/tmp' && cp /bin/busybox '%s/bin/' && for a in sh echo true cat; do ln -s busybox '%s/bin/'$a; done",
		 f->rootfs, f->rootfs, f->rootfs, f->rootfs);
	assert_int_equal(system(cmd), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	if (f) {
		unit_rmdir(f->dir);
		free(f);
	}
	return 0;
}

static json_t *spec_for(const struct fixture *f, const char *args_json, int net_host)
{
	json_error_t je;
	json_t *args = json_loads(args_json, 0, &je);
	struct runtime_spec_options o = { .id = "unit", .rootfs = f->rootfs, .args = args, .net_host = net_host };
	struct ember_error e;
	json_t *spec = NULL;

	assert_non_null(args);
	if (runtime_spec_build(&o, &spec, &e) < 0)
		fail_msg("%s", e.message);
	json_decref(args);
	return spec;
}

/* Run args; returns the wait status, or -1 with e filled. out gets stdout. */
static int run(const struct fixture *f, const char *args_json, char *out, size_t outsz, struct ember_error *e)
{
	int pipefd[2];
	struct runtime_started st;
	json_t *spec = spec_for(f, args_json, 0);

	assert_int_equal(pipe2(pipefd, O_CLOEXEC), 0);
	struct runtime_start s = {
		.spec = spec, .rootfs = f->rootfs, .self_fd = -1, .stdio = { -1, pipefd[1], -1 },
		.exit_fd = -1, .log_fd = { -1, -1 }, .cgroup_fd = -1, .join_pidfd = -1,
	};
	int r = runtime_start(&s, &st, e);
	close(pipefd[1]);
	json_decref(spec);
	if (r < 0) {
		close(pipefd[0]);
		return -1;
	}
	ssize_t n, len = 0;
	while ((n = read(pipefd[0], out + len, outsz - 1 - (size_t)len)) > 0)
		len += n;
	out[len] = '\0';
	close(pipefd[0]);
	siginfo_t si = { 0 };
	assert_int_equal(waitid((idtype_t)P_PIDFD, (id_t)st.pidfd, &si, WEXITED), 0);
	close(st.pidfd);
	return si.si_code == CLD_EXITED ? si.si_status : 128 + si.si_status;
}

static int usable(void **state)
{
	if (!*state)
		return 0;
	/* qemu-user: no clone3. */
	long r = syscall(SYS_clone3, NULL, 0);
	return !(r < 0 && errno == ENOSYS);
}

static void test_runs_and_exits(void **state)
{
	struct fixture *f = *state;
	struct ember_error e;
	char out[4096];

	if (!usable(state))
		skip();
	assert_int_equal(run(f, "[\"sh\", \"-c\", \"echo $$ $(hostname); exit 3\"]", out, sizeof(out), &e), 3);
	/* PID 1 of its own pid namespace, its own hostname. */
	assert_string_equal(out, "1 unit\n");
	assert_int_equal(run(f, "[\"true\"]", out, sizeof(out), &e), 0);
}

static void test_step_errors(void **state)
{
	struct fixture *f = *state;
	struct ember_error e;
	char out[64];

	if (!usable(state))
		skip();
	assert_int_equal(run(f, "[\"/bin/nope\"]", out, sizeof(out), &e), -1);
	assert_string_equal(e.message, "exec \"/bin/nope\": no such file or directory");
	assert_int_equal(run(f, "[\"nope\"]", out, sizeof(out), &e), -1);
	assert_string_equal(e.message, "exec \"nope\": no such file or directory");
	/* A rootfs that is not there fails at that step. */
	struct fixture g = *f;
	snprintf(g.rootfs, sizeof(g.rootfs), "%s/missing", f->dir);
	assert_int_equal(run(&g, "[\"true\"]", out, sizeof(out), &e), -1);
	/* (Where the test runs in a chroot, the step that needs the rootfs
	   directory first is making "/" a mount point.) */
	if (!strstr(e.message, "bind the rootfs") && !strstr(e.message, "ember runs in a chroot"))
		fail_msg("unexpected: %s", e.message);
	assert_non_null(strstr(e.message, "no such file or directory"));
}

static void test_start_time(void **state)
{
	char buf[2048], *q;
	uint64_t st, want;
	struct ember_error e;

	(void)state;
	int fd = open("/proc/self/stat", O_RDONLY);
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	assert_true(n > 0);
	buf[n] = '\0';
	/* Field 22, counted after the command's closing parenthesis. */
	q = strrchr(buf, ')') + 2;
	for (int i = 3; i < 22; i++)
		q = strchr(q, ' ') + 1;
	want = strtoull(q, NULL, 10);
	assert_int_equal(runtime_pid_start_time(getpid(), &st, &e), 0);
	assert_int_equal(st, want);
	assert_int_equal(runtime_pid_start_time(999999999, &st, &e), -ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_runs_and_exits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_step_errors, setup, teardown),
		cmocka_unit_test(test_start_time),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
