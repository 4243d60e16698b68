/* SPDX-License-Identifier: Apache-2.0 */
#include "unit.h"

#include <signal.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include "util/loop.h"

struct counters {
	struct loop *loop;
	int timer, defer, io, sig;
	struct loop_source *victim;
	struct loop_source *defer_src;
	int order[8], norder;
};

static void on_timer_exit(struct loop_source *s, void *ud)
{
	struct counters *c = ud;

	(void)s;
	c->timer++;
	c->order[c->norder++] = 't';
	loop_exit(c->loop, 7);
}

static void test_timer_fires_and_exit_code(void **state)
{
	struct ember_error e;
	struct counters c = { 0 };

	(void)state;
	c.loop = loop_new(&e);
	uint64_t t0 = loop_now_ms();
	assert_non_null(loop_add_timer(c.loop, 20, 0, on_timer_exit, &c, "t", &e));
	assert_int_equal(loop_run(c.loop, &e), 7);
	assert_int_equal(c.timer, 1);
	assert_true(loop_now_ms() - t0 >= 19);
	loop_free(c.loop);
}

static void on_defer(struct loop_source *s, void *ud)
{
	struct counters *c = ud;

	(void)s;
	c->defer++;
	c->order[c->norder++] = 'd';
}

static void on_io_arm(struct loop_source *s, int fd, uint32_t ev, void *ud)
{
	struct counters *c = ud;
	char b;

	(void)s;
	(void)ev;
	assert_int_equal(read(fd, &b, 1), 1);
	c->io++;
	c->order[c->norder++] = 'i';
	loop_defer_arm(c->defer_src);
	loop_defer_arm(c->defer_src); /* armed twice: runs once */
}

static void test_defer_runs_after_events_once(void **state)
{
	struct ember_error e;
	struct counters c = { 0 };
	int sv[2];

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	c.loop = loop_new(&e);
	c.defer_src = loop_add_defer(c.loop, on_defer, &c, "d", &e);
	assert_non_null(loop_add_io(c.loop, sv[0], EPOLLIN, on_io_arm, &c, "io", &e));
	assert_non_null(loop_add_timer(c.loop, 50, 0, on_timer_exit, &c, "t", &e));
	assert_int_equal(write(sv[1], "x", 1), 1);
	assert_int_equal(loop_run(c.loop, &e), 7);
	assert_int_equal(c.io, 1);
	assert_int_equal(c.defer, 1);
	assert_int_equal(c.order[0], 'i');
	assert_int_equal(c.order[1], 'd');
	assert_int_equal(c.order[2], 't');
	loop_free(c.loop);
	close(sv[0]);
	close(sv[1]);
}

static void on_io_kill_other(struct loop_source *s, int fd, uint32_t ev, void *ud)
{
	struct counters *c = ud;
	char b;

	(void)s;
	(void)ev;
	(void)read(fd, &b, 1);
	c->io++;
	/* Free the other ready source: its pending event must be dropped. */
	c->victim = loop_source_free(c->victim);
	loop_source_free(s);
}

static void test_free_other_source_in_same_batch(void **state)
{
	struct ember_error e;
	struct counters c = { 0 };
	int a[2], b[2];

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, a), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, b), 0);
	c.loop = loop_new(&e);
	struct loop_source *s1 = loop_add_io(c.loop, a[0], EPOLLIN, on_io_kill_other, &c, "a", &e);
	struct loop_source *s2 = loop_add_io(c.loop, b[0], EPOLLIN, on_io_kill_other, &c, "b", &e);
	assert_non_null(s1);
	assert_non_null(s2);
	/* Whichever runs first frees the other. */
	c.victim = s2;
	assert_int_equal(write(a[1], "x", 1), 1);
	assert_int_equal(write(b[1], "x", 1), 1);
	assert_non_null(loop_add_timer(c.loop, 30, 0, on_timer_exit, &c, "t", &e));
	assert_int_equal(loop_run(c.loop, &e), 7);
	assert_int_equal(c.io, 1);
	loop_free(c.loop);
	close(a[0]); close(a[1]); close(b[0]); close(b[1]);
}

static void on_sig(struct loop_source *s, const struct signalfd_siginfo *si, void *ud)
{
	struct counters *c = ud;

	(void)s;
	assert_int_equal(si->ssi_signo, SIGUSR1);
	c->sig++;
	loop_exit(c->loop, 3);
}

static void test_signals(void **state)
{
	struct ember_error e;
	struct counters c = { 0 };
	sigset_t set;

	(void)state;
	c.loop = loop_new(&e);
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	struct loop_source *s = loop_add_signals(c.loop, &set, on_sig, &c, &e);
	assert_non_null(s);
	raise(SIGUSR1); /* blocked: waits in the signalfd */
	assert_int_equal(loop_run(c.loop, &e), 3);
	assert_int_equal(c.sig, 1);
	loop_free(c.loop); /* unblocks SIGUSR1 again */
	sigset_t now;
	sigprocmask(SIG_BLOCK, NULL, &now);
	assert_false(sigismember(&now, SIGUSR1));
}

static void on_tick(struct loop_source *s, void *ud)
{
	struct counters *c = ud;

	if (++c->timer == 3) {
		loop_source_free(s);
		loop_exit(c->loop, 0);
	}
}

static void test_periodic_timer(void **state)
{
	struct ember_error e;
	struct counters c = { 0 };

	(void)state;
	c.loop = loop_new(&e);
	assert_non_null(loop_add_timer(c.loop, 0, 5, on_tick, &c, "tick", &e));
	assert_int_equal(loop_run(c.loop, &e), 0);
	assert_int_equal(c.timer, 3);
	loop_free(c.loop);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_timer_fires_and_exit_code),
		cmocka_unit_test(test_defer_runs_after_events_once),
		cmocka_unit_test(test_free_other_source_in_same_batch),
		cmocka_unit_test(test_signals),
		cmocka_unit_test(test_periodic_timer),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
