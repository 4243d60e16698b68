/* SPDX-License-Identifier: Apache-2.0 */
#include "util/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/timestamp.h"

static const char *const level_names[] = { "error", "warn", "info", "debug" };

int log_level_parse(const char *name, enum log_level *level)
{
	static const struct {
		const char *name;
		enum log_level level;
	} names[] = {
		{ "trace", LOG_LEVEL_DEBUG }, { "debug", LOG_LEVEL_DEBUG },
		{ "info", LOG_LEVEL_INFO },   { "warn", LOG_LEVEL_WARN },
		{ "warning", LOG_LEVEL_WARN }, { "error", LOG_LEVEL_ERROR },
		{ "fatal", LOG_LEVEL_ERROR }, { "panic", LOG_LEVEL_ERROR },
	};

	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		if (strcmp(names[i].name, name) == 0) {
			*level = names[i].level;
			return 0;
		}
	}
	return -EINVAL;
}

const char *log_level_name(enum log_level level)
{
	return level_names[level];
}

int log_set_syslog(struct logger *log, int on, struct ember_error *e)
{
	if (!ENABLED(CONFIG_LOG_SYSLOG)) {
		if (on)
			return err_set(e, EOPNOTSUPP, "syslog logging is not compiled in (CONFIG_LOG_SYSLOG)");
		return 0;
	}
	/* Without a syslog daemon every line would vanish without a trace. */
	if (on && access("/dev/log", W_OK) < 0)
		return err_sys(e, errno, "log to syslog: /dev/log");
	if (on && !log->use_syslog)
		openlog("ember", LOG_PID | LOG_NDELAY, LOG_DAEMON);
	else if (!on && log->use_syslog)
		closelog();
	log->use_syslog = on;
	return 0;
}

void log_msg(const struct logger *log, enum log_level level, const char *fmt, ...)
{
	static const int priorities[] = { LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG };
	char msg[1024];
	va_list ap;
	int saved = errno;

	if (level > log->level)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);

	if (ENABLED(CONFIG_LOG_SYSLOG) && log->use_syslog) {
		syslog(priorities[level], "%s", msg);
	} else {
		char stamp[TIMESTAMP_LEN];

		timestamp_now(stamp);
		fprintf(stderr, "%s %-5s %s\n", stamp, level_names[level], msg);
	}
	errno = saved;
}
