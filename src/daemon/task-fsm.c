/* SPDX-License-Identifier: Apache-2.0 */
/* Task supervision's state machine and restart policy: pure functions, the tables tasks.c follows (see tasks.h). */
#include "daemon/tasks.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/cleanup.h"
#include "util/err.h"

#define RESTART_BASE_MS 100u
#define RESTART_MAX_MS 60000u
#define RESTART_RESET_MS 10000u /* a run this long forgets earlier crashes */

/* Every (state, event) pair a task accepts; any other is refused. */
static const struct task_rule rules[] = {
	{ TASK_STOPPED, TEV_START, TASK_STARTING, TA_LAUNCH },
	{ TASK_STOPPED, TEV_KILL, TASK_STOPPED, TA_HALT_RESTART },
	{ TASK_STOPPED, TEV_DELETE, TASK_STOPPED, TA_REMOVE },
	{ TASK_STOPPED, TEV_PAUSED, TASK_STOPPED, TA_NONE },  /* a freeze that finished after the exit */
	{ TASK_STOPPED, TEV_RESUMED, TASK_STOPPED, TA_NONE },
	{ TASK_STOPPED, TEV_CHECKPOINTED, TASK_STOPPED, TA_DUMPED }, /* --exit: it is gone already */

	{ TASK_STARTING, TEV_STARTED, TASK_RUNNING, TA_RUN },
	{ TASK_STARTING, TEV_START_FAILED, TASK_STOPPED, TA_UNLAUNCH },
	{ TASK_STARTING, TEV_KILL, TASK_STARTING, TA_PEND_SIGNAL },

	{ TASK_RUNNING, TEV_EXITED, TASK_STOPPED, TA_EXIT },
	{ TASK_RUNNING, TEV_KILL, TASK_RUNNING, TA_SIGNAL },
	{ TASK_RUNNING, TEV_EXEC, TASK_RUNNING, TA_EXEC },
	{ TASK_RUNNING, TEV_PAUSE, TASK_RUNNING, TA_FREEZE },
	{ TASK_RUNNING, TEV_PAUSED, TASK_PAUSED, TA_NOTE },
	{ TASK_RUNNING, TEV_RESUMED, TASK_RUNNING, TA_NONE },
	{ TASK_RUNNING, TEV_CHECKPOINT, TASK_RUNNING, TA_DUMP },
	{ TASK_RUNNING, TEV_CHECKPOINTED, TASK_RUNNING, TA_DUMPED },

	{ TASK_PAUSED, TEV_EXITED, TASK_STOPPED, TA_EXIT },
	{ TASK_PAUSED, TEV_KILL, TASK_PAUSED, TA_SIGNAL },
	{ TASK_PAUSED, TEV_RESUME, TASK_PAUSED, TA_THAW },
	{ TASK_PAUSED, TEV_RESUMED, TASK_RUNNING, TA_NOTE },
	{ TASK_PAUSED, TEV_PAUSED, TASK_PAUSED, TA_NONE },
};

const struct task_rule *task_fsm_rule(enum task_state s, enum task_event ev)
{
	for (size_t i = 0; i < ARRAY_SIZE(rules); i++)
		if (rules[i].from == s && rules[i].ev == ev)
			return &rules[i];
	return NULL;
}

const char *task_state_name(enum task_state s)
{
	switch (s) {
	case TASK_STARTING:
		return "starting";
	case TASK_RUNNING:
		return "running";
	case TASK_PAUSED:
		return "paused";
	default:
		return "stopped";
	}
}

enum task_restart_verdict task_restart_plan(const struct task_restart_input *in, unsigned *restarts,
					    uint64_t *delay_ms)
{
	const struct restart *rp = &in->policy;
	unsigned n = in->ran_ms >= RESTART_RESET_MS ? 0 : in->restarts;

	*restarts = n;
	*delay_ms = 0;
	if (in->user_stopped || rp->policy == RESTART_NO || (rp->policy == RESTART_ON_FAILURE && !in->failed))
		return TASK_RESTART_NO;
	if (rp->policy == RESTART_ON_FAILURE && rp->max && n >= (unsigned)rp->max)
		return TASK_RESTART_GIVE_UP;
	/* 100 ms, doubling, at most a minute. */
	uint64_t delay = RESTART_BASE_MS;
	for (unsigned i = 0; i < n && delay < RESTART_MAX_MS; i++)
		delay *= 2;
	*delay_ms = delay > RESTART_MAX_MS ? RESTART_MAX_MS : delay;
	*restarts = n + 1;
	return TASK_RESTART_AFTER;
}

int restart_parse(const char *s, struct restart *out, struct ember_error *e)
{
	static const char *const names[] = { "no", "on-failure", "always", "unless-stopped" };
	char q[ERR_QUOTE_MAX];

	memset(out, 0, sizeof(*out));
	if (!s || !*s)
		return 0;
	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		size_t n = strlen(names[i]);
		if (strncmp(s, names[i], n))
			continue;
		if (s[n] == '\0') {
			out->policy = (enum restart_policy)i;
			return 0;
		}
		if (i == RESTART_ON_FAILURE && s[n] == ':') {
			char *end;
			errno = 0;
			long v = strtol(s + n + 1, &end, 10);
			if (errno || *end || end == s + n + 1 || v < 1 || v > 1000000)
				break;
			out->policy = RESTART_ON_FAILURE;
			out->max = (int)v;
			return 0;
		}
	}
	return err_invalid(e, "restart: \"%s\": use no, on-failure[:N], always or unless-stopped", err_quote(s, q));
}

const char *restart_format(const struct restart *r, char buf[32])
{
	static const char *const names[] = { "no", "on-failure", "always", "unless-stopped" };
	if (r->policy == RESTART_ON_FAILURE && r->max)
		snprintf(buf, 32, "on-failure:%d", r->max);
	else
		snprintf(buf, 32, "%s", names[r->policy]);
	return buf;
}
