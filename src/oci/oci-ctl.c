/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ember oci pause, resume (the cgroup freezer, v1 or v2, through the
 * runtime's cgroup code the daemon uses), ps (the cgroup's processes) and
 * features (what this build supports, as runc 1.1 prints it).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

#include "oci/oci-internal.h"
#include "runtime/runtime.h"
#include "util/cleanup.h"
#include "util/err.h"
#include "util/mount.h"

/* The container's state and cgroup, when its status is want. */
static int ctl_open(const struct oci *o, const char *cmd, const char *id, const char *want, json_t **st,
		    struct runtime_cgroup **cg, struct ember_error *e)
{
	*cg = NULL;
	if (oci_state_read(o, id, st, e) < 0)
		return -e->code;
	const char *status = oci_status(o, *st);
	if (want && strcmp(status, want))
		return err_set_name(e, EMBER_ERROR_FAILED_PRECONDITION, EINVAL, "cannot %s a container that is %s: %s", cmd,
				    status, id);
	if (!want && !strcmp(status, "stopped"))
		return err_set_name(e, EMBER_ERROR_FAILED_PRECONDITION, EINVAL, "container %s is not running", id);
	return oci_cgroup_open(*st, id, cg, e);
}

static int freeze(const struct oci *o, int argc, char **argv, bool frozen)
{
	const char *cmd = frozen ? "pause" : "resume";
	struct runtime_cgroup *cg = NULL;
	struct ember_error e;
	json_t *st = NULL;

	if (argc != 2)
		return oci_fail(o, "%s: give one container id", cmd);
	if (!ENABLED(CONFIG_CGROUPS))
		return oci_fail(o, "%s: the freezer is a cgroup's, and cgroups are not in this build (CONFIG_CGROUPS)", cmd);
	int r = ctl_open(o, cmd, argv[1], frozen ? "running" : "paused", &st, &cg, &e);
	if (r == 0 && runtime_cgroup_freeze(cg, frozen, &e) < 0)
		r = err_wrap(&e, "%s %s", cmd, argv[1]);
	if (ENABLED(CONFIG_CGROUPS))
		runtime_cgroup_free(cg);
	json_decref(st);
	return r < 0 ? oci_fail_e(o, &e) : 0;
}

int oci_cmd_pause(const struct oci *o, int argc, char **argv)
{
	return freeze(o, argc, argv, true);
}

int oci_cmd_resume(const struct oci *o, int argc, char **argv)
{
	return freeze(o, argc, argv, false);
}

static int pid_in(pid_t pid, const pid_t *pids, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (pids[i] == pid)
			return 1;
	return 0;
}

/* runc's table: ps(1) with the options given (default -ef), its header
   and the lines whose PID column is one of pids. */
static int ps_table(const struct oci *o, char **opts, int nopts, const pid_t *pids, size_t n)
{
	char *argv[64];
	int k = 0, fds[2];

	argv[k++] = "ps";
	if (nopts == 0)
		argv[k++] = "-ef";
	for (int i = 0; i < nopts && k < (int)ARRAY_SIZE(argv) - 1; i++)
		argv[k++] = opts[i];
	argv[k] = NULL;
	if (pipe2(fds, O_CLOEXEC) < 0)
		return oci_fail(o, "ps: pipe: %s", strerror(errno));
	pid_t child = fork();
	if (child < 0)
		return oci_fail(o, "ps: fork: %s", strerror(errno));
	if (child == 0) {
		if (dup2(fds[1], 1) < 0)
			_exit(127);
		execvp("ps", argv);
		fprintf(stderr, "ember oci: ps: exec ps: %s\n", strerror(errno));
		_exit(127);
	}
	close(fds[1]);
	FILE *f = fdopen(fds[0], "r");
	char line[4096];
	int col = -1, first = 1;
	while (f && fgets(line, sizeof(line), f)) {
		if (first) {
			/* Which column is PID. */
			char copy[4096], *save = NULL;
			snprintf(copy, sizeof(copy), "%s", line);
			int c = 0;
			for (char *w = strtok_r(copy, " \t\n", &save); w; w = strtok_r(NULL, " \t\n", &save), c++)
				if (!strcmp(w, "PID"))
					col = c;
			fputs(line, stdout);
			first = 0;
			continue;
		}
		char copy[4096], *save = NULL, *w;
		snprintf(copy, sizeof(copy), "%s", line);
		w = strtok_r(copy, " \t\n", &save);
		for (int c = 0; w && c < col; c++)
			w = strtok_r(NULL, " \t\n", &save);
		if (w && pid_in((pid_t)atoi(w), pids, n))
			fputs(line, stdout);
	}
	if (f)
		fclose(f);
	int status = 0;
	while (waitpid(child, &status, 0) < 0 && errno == EINTR)
		;
	if (col < 0)
		return oci_fail(o, "ps: its output has no PID column");
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : oci_fail(o, "ps: ps failed (status %d)", status);
}

int oci_cmd_ps(const struct oci *o, int argc, char **argv)
{
	const char *v, *id = NULL, *format = "table";
	struct runtime_cgroup *cg = NULL;
	struct ember_error e;
	json_t *st = NULL;
	pid_t *pids = NULL;
	size_t n = 0;
	int i = 1, rc;

	for (; i < argc && !id; i++) {
		if ((v = oci_opt_value(argc, argv, &i, "--format")) || (v = oci_opt_value(argc, argv, &i, "-f")))
			format = v;
		else if (argv[i][0] == '-')
			return oci_fail(o, "ps: unknown option \"%.80s\"", argv[i]);
		else
			id = argv[i];
	}
	if (!id)
		return oci_fail(o, "ps: give the container's id");
	if (strcmp(format, "table") && strcmp(format, "json"))
		return oci_fail(o, "ps: --format %.40s: use table or json", format);
	if (!ENABLED(CONFIG_CGROUPS))
		return oci_fail(o, "ps: a container's processes are its cgroup's, and cgroups are not in this build "
				   "(CONFIG_CGROUPS)");
	if (ctl_open(o, "ps", id, NULL, &st, &cg, &e) < 0 || runtime_cgroup_pids(cg, &pids, &n, &e) < 0) {
		rc = oci_fail_e(o, &e);
	} else if (!strcmp(format, "json")) {
		if (argc - i > 0)
			rc = oci_fail(o, "ps: ps options are for --format table");
		else {
			putchar('[');
			for (size_t k = 0; k < n; k++)
				printf("%s%d", k ? "," : "", (int)pids[k]);
			puts("]");
			rc = 0;
		}
	} else {
		fflush(stdout);
		rc = ps_table(o, argv + i, argc - i, pids, n);
	}
	free(pids);
	if (ENABLED(CONFIG_CGROUPS))
		runtime_cgroup_free(cg);
	json_decref(st);
	return rc;
}

/* ---- features ---------------------------------------------------------------------------- */

/* The filter is compiled for the build's own architecture only. */
#if defined(__aarch64__)
#define SECCOMP_ARCH "SCMP_ARCH_AARCH64"
#else
#define SECCOMP_ARCH "SCMP_ARCH_X86_64"
#endif

static json_t *features_seccomp(void)
{
	if (!ENABLED(CONFIG_SECCOMP))
		return json_pack("{s:b}", "enabled", 0);
	/* What runtime_seccomp_compile() takes (runtime.h). */
	return json_pack("{s:b, s:[ssssssss], s:[sssssss], s:[s]}", "enabled", 1, "actions", "SCMP_ACT_ALLOW",
			 "SCMP_ACT_ERRNO", "SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD", "SCMP_ACT_LOG",
			 "SCMP_ACT_TRACE", "SCMP_ACT_TRAP", "operators", "SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT",
			 "SCMP_CMP_LE", "SCMP_CMP_LT", "SCMP_CMP_MASKED_EQ", "SCMP_CMP_NE", "archs", SECCOMP_ARCH);
}

int oci_cmd_features(const struct oci *o, int argc, char **argv)
{
	(void)argv;
	if (argc != 1)
		return oci_fail(o, "features: no arguments");
	json_t *mo = json_array(), *caps = json_array();
	const char *name;
	for (size_t i = 0; (name = mount_option_name(i)); i++)
		json_array_append_new(mo, json_string(name));
	char cap[64];
	for (int n = 0; n < 64; n++)
		if ((name = runtime_cap_name(n))) {
			snprintf(cap, sizeof(cap), "CAP_%s", name);
			json_array_append_new(caps, json_string(cap));
		}
	json_t *f = json_pack(
		"{s:s, s:s, s:o, s:o, s:{s:[ssssssss], s:o, s:{s:b, s:b, s:b, s:b}, s:o, s:{s:b}, s:{s:b}, s:{s:{s:b}}}}",
		"ociVersionMin", "1.0.0", "ociVersionMax", RUNTIME_OCI_VERSION, "hooks", oci_hooks_supported(),
		"mountOptions", mo, "linux", "namespaces", "cgroup", "ipc", "mount", "network", "pid", "user", "uts", "time",
		"capabilities", caps, "cgroup", "v1", ENABLED(CONFIG_CGROUPS), "v2", ENABLED(CONFIG_CGROUPS), "systemd", 0,
		"systemdUser", 0, "seccomp", features_seccomp(), "apparmor", "enabled", 0, "selinux", "enabled", 0,
		/* The runtime spec 1.1's features: idmapped mounts. */
		"mountExtensions", "idmap", "enabled", ENABLED(CONFIG_USERNS));
	char *text = f ? json_dumps(f, JSON_INDENT(4) | JSON_PRESERVE_ORDER) : NULL;
	json_decref(f);
	if (!text)
		return oci_fail(o, "features: out of memory");
	puts(text);
	free(text);
	return 0;
}
