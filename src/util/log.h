/* SPDX-License-Identifier: Apache-2.0 */
#ifndef EMBER_UTIL_LOG_H
#define EMBER_UTIL_LOG_H

#include "util/err.h"

/*
 * The daemon's log. Only main(), the API edge and init log (STYLE.md §7):
 * library code returns errors instead. The state lives in a struct the
 * daemon owns; nothing here is global.
 */

enum log_level { LOG_LEVEL_ERROR, LOG_LEVEL_WARN, LOG_LEVEL_INFO, LOG_LEVEL_DEBUG };

struct logger {
	enum log_level level;
	int use_syslog;
};

/* Parse containerd's level names (trace debug info warn warning error fatal panic). */
int log_level_parse(const char *name, enum log_level *level);
const char *log_level_name(enum log_level level);

/* Switch to syslog (ident "ember") or back to timestamped stderr lines. */
int log_set_syslog(struct logger *log, int on, struct ember_error *e);

void log_msg(const struct logger *log, enum log_level level, const char *fmt, ...) ERR_PRINTF(3, 4);

#define log_error(l, ...) log_msg(l, LOG_LEVEL_ERROR, __VA_ARGS__)
#define log_warn(l, ...) log_msg(l, LOG_LEVEL_WARN, __VA_ARGS__)
#define log_info(l, ...) log_msg(l, LOG_LEVEL_INFO, __VA_ARGS__)
#define log_debug(l, ...) log_msg(l, LOG_LEVEL_DEBUG, __VA_ARGS__)

#endif
