/* SPDX-License-Identifier: Apache-2.0 */
/* Task supervision without a container: the state machine's table and the
   restart policy (daemon/task-fsm.c). */
#include "unit.h"

#include "daemon/tasks.h"
#include "util/cleanup.h"

static void expect(enum task_state s, enum task_event ev, enum task_state to, enum task_action act)
{
	const struct task_rule *r = task_fsm_rule(s, ev);

	assert_non_null(r);
	assert_int_equal(r->to, to);
	assert_int_equal(r->act, act);
}

static void test_fsm_lifecycle(void **state)
{
	(void)state;
	/* start -> running -> exit -> start again */
	expect(TASK_STOPPED, TEV_START, TASK_STARTING, TA_LAUNCH);
	expect(TASK_STARTING, TEV_STARTED, TASK_RUNNING, TA_RUN);
	expect(TASK_RUNNING, TEV_EXITED, TASK_STOPPED, TA_EXIT);
	/* a start that fails leaves it stopped */
	expect(TASK_STARTING, TEV_START_FAILED, TASK_STOPPED, TA_UNLAUNCH);
	/* pause and resume: asked, then done */
	expect(TASK_RUNNING, TEV_PAUSE, TASK_RUNNING, TA_FREEZE);
	expect(TASK_RUNNING, TEV_PAUSED, TASK_PAUSED, TA_NOTE);
	expect(TASK_PAUSED, TEV_RESUME, TASK_PAUSED, TA_THAW);
	expect(TASK_PAUSED, TEV_RESUMED, TASK_RUNNING, TA_NOTE);
	/* a paused task exits too (a kill -9) */
	expect(TASK_PAUSED, TEV_EXITED, TASK_STOPPED, TA_EXIT);
	/* signals: sent, or kept for when it runs; a stopped one's pending restart goes */
	expect(TASK_RUNNING, TEV_KILL, TASK_RUNNING, TA_SIGNAL);
	expect(TASK_PAUSED, TEV_KILL, TASK_PAUSED, TA_SIGNAL);
	expect(TASK_STARTING, TEV_KILL, TASK_STARTING, TA_PEND_SIGNAL);
	expect(TASK_STOPPED, TEV_KILL, TASK_STOPPED, TA_HALT_RESTART);
	/* delete and exec */
	expect(TASK_STOPPED, TEV_DELETE, TASK_STOPPED, TA_REMOVE);
	expect(TASK_RUNNING, TEV_EXEC, TASK_RUNNING, TA_EXEC);
	/* late reports: a freeze that ends after the exit changes nothing */
	expect(TASK_STOPPED, TEV_PAUSED, TASK_STOPPED, TA_NONE);
	expect(TASK_STOPPED, TEV_RESUMED, TASK_STOPPED, TA_NONE);
}

static void test_fsm_refusals(void **state)
{
	(void)state;
	/* What a user may not ask in each state. */
	assert_null(task_fsm_rule(TASK_STARTING, TEV_START));
	assert_null(task_fsm_rule(TASK_RUNNING, TEV_START));
	assert_null(task_fsm_rule(TASK_PAUSED, TEV_START));
	assert_null(task_fsm_rule(TASK_RUNNING, TEV_DELETE));
	assert_null(task_fsm_rule(TASK_STARTING, TEV_DELETE));
	assert_null(task_fsm_rule(TASK_PAUSED, TEV_DELETE));
	assert_null(task_fsm_rule(TASK_PAUSED, TEV_EXEC));
	assert_null(task_fsm_rule(TASK_STOPPED, TEV_EXEC));
	assert_null(task_fsm_rule(TASK_STARTING, TEV_EXEC));
	assert_null(task_fsm_rule(TASK_STOPPED, TEV_PAUSE));
	assert_null(task_fsm_rule(TASK_PAUSED, TEV_PAUSE));
	assert_null(task_fsm_rule(TASK_RUNNING, TEV_RESUME));
	/* Nothing exits that does not run. */
	assert_null(task_fsm_rule(TASK_STOPPED, TEV_EXITED));
	/* A checkpoint: only of a running task, and its end is told also
	   once the task is gone (CRIU killed it: --exit). */
	expect(TASK_RUNNING, TEV_CHECKPOINT, TASK_RUNNING, TA_DUMP);
	expect(TASK_RUNNING, TEV_CHECKPOINTED, TASK_RUNNING, TA_DUMPED);
	expect(TASK_STOPPED, TEV_CHECKPOINTED, TASK_STOPPED, TA_DUMPED);
	assert_null(task_fsm_rule(TASK_STOPPED, TEV_CHECKPOINT));
	assert_null(task_fsm_rule(TASK_PAUSED, TEV_CHECKPOINT));
	assert_null(task_fsm_rule(TASK_STARTING, TEV_CHECKPOINT));
	/* Every state's name. */
	assert_string_equal(task_state_name(TASK_STOPPED), "stopped");
	assert_string_equal(task_state_name(TASK_STARTING), "starting");
	assert_string_equal(task_state_name(TASK_RUNNING), "running");
	assert_string_equal(task_state_name(TASK_PAUSED), "paused");
}

static enum task_restart_verdict plan(const char *policy, int failed, int user_stopped, unsigned restarts,
				      uint64_t ran_ms, unsigned *n, uint64_t *delay)
{
	struct task_restart_input in = { .failed = failed, .user_stopped = user_stopped, .restarts = restarts,
					 .ran_ms = ran_ms };
	struct ember_error e;

	assert_int_equal(restart_parse(policy, &in.policy, &e), 0);
	return task_restart_plan(&in, n, delay);
}

static void test_restart_policies(void **state)
{
	unsigned n;
	uint64_t delay;

	(void)state;
	assert_int_equal(plan("no", 1, 0, 0, 5, &n, &delay), TASK_RESTART_NO);
	assert_int_equal(plan("", 1, 0, 0, 5, &n, &delay), TASK_RESTART_NO);
	/* on-failure: not after a clean exit */
	assert_int_equal(plan("on-failure", 0, 0, 0, 5, &n, &delay), TASK_RESTART_NO);
	assert_int_equal(plan("on-failure", 1, 0, 0, 5, &n, &delay), TASK_RESTART_AFTER);
	assert_int_equal(n, 1);
	assert_int_equal(delay, 100);
	/* always: also after a clean exit */
	assert_int_equal(plan("always", 0, 0, 0, 5, &n, &delay), TASK_RESTART_AFTER);
	assert_int_equal(plan("unless-stopped", 0, 0, 0, 5, &n, &delay), TASK_RESTART_AFTER);
	/* a user's stop wins over every policy */
	assert_int_equal(plan("always", 1, 1, 0, 5, &n, &delay), TASK_RESTART_NO);
	assert_int_equal(plan("unless-stopped", 1, 1, 0, 5, &n, &delay), TASK_RESTART_NO);
	assert_int_equal(plan("on-failure", 1, 1, 0, 5, &n, &delay), TASK_RESTART_NO);
}

static void test_restart_backoff_and_limit(void **state)
{
	unsigned n = 0;
	uint64_t delay;
	uint64_t want[] = { 100, 200, 400, 800, 1600, 3200, 6400, 12800, 25600, 51200, 60000, 60000 };

	(void)state;
	/* Crashes in a row: the delay doubles from 100 ms up to a minute. */
	for (size_t i = 0; i < ARRAY_SIZE(want); i++) {
		assert_int_equal(plan("always", 1, 0, n, 50, &n, &delay), TASK_RESTART_AFTER);
		assert_int_equal(n, i + 1);
		assert_int_equal(delay, want[i]);
	}
	/* A run of 10 s forgets the earlier crashes. */
	assert_int_equal(plan("always", 1, 0, 7, 10000, &n, &delay), TASK_RESTART_AFTER);
	assert_int_equal(n, 1);
	assert_int_equal(delay, 100);
	assert_int_equal(plan("always", 1, 0, 7, 9999, &n, &delay), TASK_RESTART_AFTER);
	assert_int_equal(n, 8);
	/* on-failure:3 gives up after three restarts in a row ... */
	assert_int_equal(plan("on-failure:3", 1, 0, 2, 50, &n, &delay), TASK_RESTART_AFTER);
	assert_int_equal(n, 3);
	assert_int_equal(plan("on-failure:3", 1, 0, 3, 50, &n, &delay), TASK_RESTART_GIVE_UP);
	assert_int_equal(n, 3);
	/* ... but not when the last run was long. */
	assert_int_equal(plan("on-failure:3", 1, 0, 3, 20000, &n, &delay), TASK_RESTART_AFTER);
	assert_int_equal(n, 1);
}

static void test_restart_parse_and_format(void **state)
{
	struct restart r;
	struct ember_error e;
	char buf[32];

	(void)state;
	assert_int_equal(restart_parse("on-failure:5", &r, &e), 0);
	assert_int_equal(r.policy, RESTART_ON_FAILURE);
	assert_int_equal(r.max, 5);
	assert_string_equal(restart_format(&r, buf), "on-failure:5");
	assert_int_equal(restart_parse("unless-stopped", &r, &e), 0);
	assert_string_equal(restart_format(&r, buf), "unless-stopped");
	assert_int_equal(restart_parse("sometimes", &r, &e), -EINVAL);
	assert_non_null(strstr(e.message, "restart: \"sometimes\""));
	assert_int_equal(restart_parse("on-failure:0", &r, &e), -EINVAL);
	assert_int_equal(restart_parse("on-failure:x", &r, &e), -EINVAL);
	assert_int_equal(restart_parse("always:3", &r, &e), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fsm_lifecycle),
		cmocka_unit_test(test_fsm_refusals),
		cmocka_unit_test(test_restart_policies),
		cmocka_unit_test(test_restart_backoff_and_limit),
		cmocka_unit_test(test_restart_parse_and_format),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
