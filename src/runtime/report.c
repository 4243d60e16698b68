/* SPDX-License-Identifier: Apache-2.0 */
/* How a failed start is reported to the executor (see runtime-internal.h). */
#include "runtime/runtime.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/runtime-internal.h"
#include "util/err.h"

size_t rt_report_format(char *buf, size_t size, int err, int step, const char *text)
{
	int n = snprintf(buf, size, "%d %s %s", err > 0 ? err : 0, step == RT_STEP_EXEC ? "exec" : "setup", text);
	if (n < 0)
		return 0;
	return (size_t)n < size ? (size_t)n : size - 1;
}

int rt_report_parse(const char *msg, struct ember_error *e)
{
	char *end;
	long err = strtol(msg, &end, 10);
	int step = -1;

	if (end != msg && *end == ' ' && err >= 0 && err < 4096) {
		if (!strncmp(end + 1, "exec ", 5))
			step = RT_STEP_EXEC;
		else if (!strncmp(end + 1, "setup ", 6))
			step = RT_STEP_SETUP;
	}
	if (step < 0) /* not a report: say what came, as it came */
		return err_set(e, EIO, "container setup: %.300s", msg);
	const char *text = strchr(end + 1, ' ') + 1;
	int code = err > 0 ? (int)err : EIO;
	if (step == RT_STEP_EXEC)
		return err_set_name(e, EMBER_ERROR_EXEC_FAILED, code, "%s", text);
	return err_set(e, code, "%s", text);
}
