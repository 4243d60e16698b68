/* SPDX-License-Identifier: Apache-2.0 */
/* ember: one binary, several roles, chosen by argv[0] or argv[1]. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "daemon/daemon.h"
#include "oci/oci.h"
#include "runtime/runtime.h"
#include "util/cleanup.h"
#include "util/version.h"

/* `ember version`: works in every build, with or without the daemon. */
static int version_main(int argc, char **argv)
{
	int json = 0;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json")) {
			json = 1;
		} else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			puts("Usage: ember version [--json]\n\nPrint ember's version, git revision and compiled-in features.");
			return 0;
		} else {
			fprintf(stderr, "ember version: unknown argument \"%s\"\n", argv[i]);
			return 2;
		}
	}
	version_print(stdout, json);
	return 0;
}

struct role {
	const char *name;
	int (*main)(int argc, char **argv);
};

/* Sorted by name. */
static const struct role roles[] = {
#ifdef CONFIG_DAEMON
	{ "daemon", daemon_main },
#endif
#ifdef CONFIG_INIT
	{ RUNTIME_INIT_ROLE, runtime_init_main }, /* dispatched first in main() */
#endif
#ifdef CONFIG_OCI
	{ "oci", oci_main },
#endif
	{ "version", version_main },
};

static const struct role *find_role(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(roles); i++)
		if (!strcmp(roles[i].name, name))
			return &roles[i];
	return NULL;
}

int main(int argc, char **argv)
{
	const char *self = argc > 0 ? strrchr(argv[0], '/') : NULL;
	const struct role *role;

	/* ember init is every container's PID 1: before anything else, so
	   that it touches as little of the binary as it can, and whatever
	   argv[0] the executor gave (execveat of an fd). */
	if (ENABLED(CONFIG_INIT) && argc > 1 && !strcmp(argv[1], RUNTIME_INIT_ROLE))
		return runtime_init_main(argc - 1, argv + 1);
	self = self ? self + 1 : (argc > 0 ? argv[0] : "ember");
	if (ENABLED(CONFIG_DAEMON) && !strcmp(self, "emberd"))
		return daemon_main(argc, argv);
	/* Installed or linked as runc: a runc-compatible runtime for
	   containerd, podman or scripts (--runc-binary, runtime paths). */
	if (ENABLED(CONFIG_OCI) && !strcmp(self, "runc"))
		return oci_main(argc, argv);
	if (argc > 1 && (role = find_role(argv[1])))
		return role->main(argc - 1, argv + 1);
	if (ENABLED(CONFIG_CLI))
		return cli_main(argc, argv);
	fprintf(stderr, "ember: this build has no command-line client; roles:");
	for (size_t i = 0; i < ARRAY_SIZE(roles); i++)
		fprintf(stderr, " %s", roles[i].name);
	fputc('\n', stderr);
	return 127;
}
