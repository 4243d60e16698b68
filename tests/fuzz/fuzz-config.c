/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer: the daemon's config file (TOML subset + ember's keys). */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "daemon/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct daemon_config cfg;
	struct ember_error e;

	if (config_parse(&cfg, (const char *)data, size, "fuzz.toml", &e) == 0) {
		/* Accepted: every path is absolute, as the daemon relies on it. */
		if (cfg.root[0] != '/' || cfg.state[0] != '/' || cfg.address[0] != '/')
			__builtin_trap();
		config_done(&cfg);
	} else if (e.code <= 0 || strncmp(e.message, "config: ", 8) != 0) {
		__builtin_trap();
	}
	return 0;
}
