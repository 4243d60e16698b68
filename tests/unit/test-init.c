/* SPDX-License-Identifier: Apache-2.0 */
/* ember init's pure parts: options, the log switch rule, the exit file's
   JSON, the report line, and the reader's order of the two log files.
   The process itself is tested by tests/integration/init.bats. */
#include "unit.h"

#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "runtime/runtime-internal.h"

static int parse(struct rt_init_options *o, struct ember_error *e, ...)
{
	char *argv[32];
	int argc = 0;
	va_list ap;

	va_start(ap, e);
	while ((argv[argc] = va_arg(ap, char *)))
		argc++;
	va_end(ap);
	/* parse keeps pointers into argv: copy to a static array. */
	static char *keep[32];
	memcpy(keep, argv, sizeof(argv));
	return rt_init_parse(argc, keep, o, e);
}

static void test_init_parse_ok(void **state)
{
	struct rt_init_options o;
	struct ember_error e;

	(void)state;
	assert_int_equal(parse(&o, &e, "init", "--", "/bin/sh", "-c", "x", NULL), 0);
	assert_int_equal(o.report_fd, -1);
	assert_int_equal(o.exit_fd, -1);
	assert_int_equal(o.log_fd[0], -1);
	assert_int_equal(o.log_fd[1], -1);
	assert_string_equal(o.argv[0], "/bin/sh");
	assert_string_equal(o.argv[2], "x");
	assert_null(o.argv[3]);

	/* argv[0] may be anything; "--" is optional; options after the
	   program are the program's. */
	assert_int_equal(parse(&o, &e, "whatever", "--report-fd", "3", "--exit-fd", "4", "--log-fd", "5",
			       "--log-fd", "6", "--log-max", "8192", "prog", "--exit-fd", "9", NULL),
			 0);
	assert_int_equal(o.report_fd, 3);
	assert_int_equal(o.exit_fd, 4);
	assert_int_equal(o.log_fd[0], 5);
	assert_int_equal(o.log_fd[1], 6);
	assert_int_equal(o.log_max, 8192);
	assert_string_equal(o.argv[0], "prog");
	assert_string_equal(o.argv[1], "--exit-fd");

	/* The default size. */
	assert_int_equal(parse(&o, &e, "init", "--log-fd", "5", "--log-fd", "6", "--", "p", NULL), 0);
	assert_int_equal(o.log_max, RUNTIME_INIT_LOG_MAX);
	assert_int_equal(o.pty_fd, -1);
	/* A terminal's master, with the logs it goes to. */
	assert_int_equal(parse(&o, &e, "init", "--log-fd", "5", "--log-fd", "6", "--pty-fd", "17", "p", NULL), 0);
	assert_int_equal(o.pty_fd, 17);
	assert_int_equal(parse(&o, &e, "init", "--pty-fd", "17", "p", NULL), -EINVAL);
	assert_string_equal(e.message, "--pty-fd without --log-fd");
	assert_int_equal(parse(&o, &e, "init", "--log-fd", "5", "--log-fd", "6", "--pty-fd", "1", "p", NULL), -EINVAL);
	/* A program named like an option, after "--". */
	assert_int_equal(parse(&o, &e, "init", "--", "--exit-fd", NULL), 0);
	assert_string_equal(o.argv[0], "--exit-fd");
}

static void test_init_parse_bad(void **state)
{
	struct rt_init_options o;
	struct ember_error e;

	(void)state;
	assert_int_equal(parse(&o, &e, "init", NULL), -EINVAL);
	assert_msg_contains(&e, "no program to run");
	assert_int_equal(parse(&o, &e, "init", "--", NULL), -EINVAL);
	assert_int_equal(parse(&o, &e, "init", "--", "", NULL), -EINVAL);
	assert_int_equal(parse(&o, &e, "init", "--bogus", "--", "p", NULL), -EINVAL);
	assert_string_equal(e.message, "unknown option \"--bogus\"");
	assert_int_equal(parse(&o, &e, "init", "--exit-fd", NULL), -EINVAL);
	assert_string_equal(e.message, "--exit-fd: missing value");
	assert_int_equal(parse(&o, &e, "init", "--exit-fd", "x3", "p", NULL), -EINVAL);
	assert_string_equal(e.message, "--exit-fd: \"x3\" is not a file descriptor");
	assert_int_equal(parse(&o, &e, "init", "--exit-fd", "-4", "p", NULL), -EINVAL);
	assert_int_equal(parse(&o, &e, "init", "--exit-fd", "99999999999", "p", NULL), -EINVAL);
	assert_int_equal(parse(&o, &e, "init", "--exit-fd", "2", "p", NULL), -EINVAL);
	assert_msg_contains(&e, "use 3 or more");
	assert_int_equal(parse(&o, &e, "init", "--log-fd", "5", "p", NULL), -EINVAL);
	assert_msg_contains(&e, "give two files");
	assert_int_equal(parse(&o, &e, "init", "--log-fd", "5", "--log-fd", "5", "p", NULL), -EINVAL);
	assert_int_equal(parse(&o, &e, "init", "--log-fd", "5", "--log-fd", "6", "--log-fd", "7", "p", NULL),
			 -EINVAL);
	assert_int_equal(parse(&o, &e, "init", "--log-max", "8192", "p", NULL), -EINVAL);
	assert_string_equal(e.message, "--log-max without --log-fd");
	assert_int_equal(parse(&o, &e, "init", "--log-fd", "5", "--log-fd", "6", "--log-max", "4095", "p", NULL),
			 -EINVAL);
	assert_string_equal(e.message, "--log-max: at least 4096 bytes");
	assert_int_equal(parse(&o, &e, "init", "--log-fd", "5", "--log-fd", "6", "--log-max", "1k", "p", NULL),
			 -EINVAL);
	/* The report fd is kept even when a later option is wrong, so that
	   the error can go there. */
	assert_int_equal(parse(&o, &e, "init", "--report-fd", "7", "--bogus", "p", NULL), -EINVAL);
	assert_int_equal(o.report_fd, 7);
}

static void test_init_log_full(void **state)
{
	(void)state;
	/* An empty file takes any chunk, even one larger than max. */
	assert_false(rt_init_log_full(0, 4096, 4096));
	assert_false(rt_init_log_full(0, 100000, 4096));
	/* Exactly max fits; one byte more switches. */
	assert_false(rt_init_log_full(4000, 96, 4096));
	assert_true(rt_init_log_full(4000, 97, 4096));
	assert_true(rt_init_log_full(4096, 1, 4096));
	assert_false(rt_init_log_full(1, 0, 4096));
	/* No overflow near the top. */
	assert_true(rt_init_log_full((uint64_t)1 << 62, 16384, (uint64_t)1 << 62));
}

static void test_init_exit_json(void **state)
{
	const char *at = "2026-12-01T13:00:00.123456789Z";
	char buf[256], small[16];
	int n;

	(void)state;
	/* Wait statuses as Linux encodes them. */
	assert_true(rt_init_exit_json(buf, sizeof(buf), 7, 3 << 8, at) > 0);
	assert_string_equal(buf, "{\"pid\":7,\"exit_code\":3,\"exited_at\":\"2026-12-01T13:00:00.123456789Z\"}\n");
	assert_true(rt_init_exit_json(buf, sizeof(buf), 7, SIGKILL, at) > 0);
	assert_string_equal(buf, "{\"pid\":7,\"signal\":9,\"signal_name\":\"SIGKILL\",\"core_dumped\":false,"
				 "\"exited_at\":\"2026-12-01T13:00:00.123456789Z\"}\n");
	assert_true(rt_init_exit_json(buf, sizeof(buf), 12, SIGSEGV | 0x80, at) > 0);
	assert_non_null(strstr(buf, "\"signal\":11,\"signal_name\":\"SIGSEGV\",\"core_dumped\":true"));
	assert_true(rt_init_exit_json(buf, sizeof(buf), 12, 37, at) > 0);
	assert_non_null(strstr(buf, "\"signal_name\":\"SIGRTMIN+3\""));
	n = rt_init_exit_json(buf, sizeof(buf), 1, 0, at);
	assert_int_equal(n, (int)strlen(buf));
	assert_int_equal(rt_init_exit_json(small, sizeof(small), 1, 0, at), -1);
}

static void test_init_exec_message(void **state)
{
	char buf[512];

	(void)state;
	rt_init_exec_message(buf, sizeof(buf), "/nonexistent", ENOENT, 0);
	assert_string_equal(buf, "exec \"/nonexistent\": no such file or directory");
	rt_init_exec_message(buf, sizeof(buf), "prog", EACCES, 0);
	assert_string_equal(buf, "exec \"prog\": permission denied");
	rt_init_exec_message(buf, sizeof(buf), "/x", ENOEXEC, 0);
	assert_string_equal(buf, "exec \"/x\": exec format error");
	/* musl's "I/O error" keeps its capitals; glibc's text is a sentence. */
	rt_init_exec_message(buf, sizeof(buf), "/x", EIO, 0);
	if (strcmp(buf, "exec \"/x\": I/O error") && strcmp(buf, "exec \"/x\": input/output error"))
		fail_msg("EIO: %s", buf);
	rt_init_exec_message(buf, sizeof(buf), "/script", ENOENT, 1);
	assert_string_equal(buf, "exec \"/script\": no such file or directory (the file exists: its ELF "
				 "interpreter or #! interpreter is missing)");
	/* Input-derived text is quoted safely. */
	rt_init_exec_message(buf, sizeof(buf), "a\"b\nc", ENOENT, 0);
	assert_string_equal(buf, "exec \"a?b?c\": no such file or directory");
}

static void set_mtime(int fd, time_t sec, long nsec)
{
	struct timespec ts[2] = { { sec, nsec }, { sec, nsec } };

	assert_int_equal(futimens(fd, ts), 0);
}

static void test_log_order(void **state)
{
	char *dir = unit_mkdtemp();
	int d = open(dir, O_RDONLY | O_DIRECTORY), a, b, first = -1;
	struct ember_error e;

	(void)state;
	a = openat(d, "a", O_RDWR | O_CREAT, 0600);
	b = openat(d, "b", O_RDWR | O_CREAT, 0600);
	assert_true(a >= 0 && b >= 0);
	/* The newer file is the current one: read the other first. */
	set_mtime(a, 1000, 5);
	set_mtime(b, 1000, 6);
	assert_int_equal(runtime_log_order(a, b, &first, &e), 0);
	assert_int_equal(first, 0);
	set_mtime(a, 1001, 0);
	assert_int_equal(runtime_log_order(a, b, &first, &e), 0);
	assert_int_equal(first, 1);
	/* A tie: A is current. */
	set_mtime(b, 1001, 0);
	assert_int_equal(runtime_log_order(a, b, &first, &e), 0);
	assert_int_equal(first, 1);
	assert_int_equal(runtime_log_order(a, -1, &first, &e), -EBADF);
	assert_msg_contains(&e, "stat log file");
	close(a);
	close(b);
	close(d);
	unit_rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_init_parse_ok),   cmocka_unit_test(test_init_parse_bad),
		cmocka_unit_test(test_init_log_full),   cmocka_unit_test(test_init_exit_json),
		cmocka_unit_test(test_init_exec_message), cmocka_unit_test(test_log_order),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
