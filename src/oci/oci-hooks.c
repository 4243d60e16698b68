/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ember oci: the runtime spec's hooks, each a program given the
 * container's state as JSON on stdin, with its args, env and timeout:
 * prestart, createRuntime, poststart, poststop in the runtime's
 * namespaces, createContainer and startContainer in the container's
 * process (oci.c says when each runs).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "oci/oci-internal.h"
#include "util/cleanup.h"
#include "util/err.h"

#define HOOK_OUTPUT_MAX 1024 /* what a failed hook said, in its error */
#define HOOK_ARGS_MAX 256

static const char *const kinds[] = { "prestart",       "createRuntime", "createContainer",
				     "startContainer", "poststart",     "poststop" };

json_t *oci_hooks_supported(void)
{
	json_t *a = json_array();
	for (size_t i = 0; i < ARRAY_SIZE(kinds); i++)
		json_array_append_new(a, json_string(kinds[i]));
	return a;
}

static int strings_ok(json_t *a)
{
	json_t *x;
	size_t i;

	if (!json_is_array(a) || json_array_size(a) > HOOK_ARGS_MAX)
		return 0;
	json_array_foreach(a, i, x)
		if (!json_is_string(x))
			return 0;
	return 1;
}

int oci_hooks_check(json_t *hooks, struct ember_error *e)
{
	const char *kind;
	json_t *list, *h;
	size_t i, k;

	if (!hooks)
		return 0;
	if (!json_is_object(hooks))
		return err_invalid(e, "hooks: must be an object");
	json_object_foreach(hooks, kind, list) {
		for (k = 0; k < ARRAY_SIZE(kinds) && strcmp(kind, kinds[k]); k++)
			;
		if (k == ARRAY_SIZE(kinds))
			return err_unsupported(e, "hooks.%.40s: not a hook ember knows", kind);
		if (!json_is_array(list))
			return err_invalid(e, "hooks.%s: must be an array", kind);
		json_array_foreach(list, i, h) {
			const char *path = json_string_value(json_object_get(h, "path"));
			json_t *t = json_object_get(h, "timeout");
			if (!path || path[0] != '/')
				return err_invalid(e, "hooks.%s[%zu].path: must be an absolute path", kind, i);
			if (json_object_get(h, "args") && !strings_ok(json_object_get(h, "args")))
				return err_invalid(e, "hooks.%s[%zu].args: must be an array of strings", kind, i);
			if (json_object_get(h, "env") && !strings_ok(json_object_get(h, "env")))
				return err_invalid(e, "hooks.%s[%zu].env: must be an array of strings", kind, i);
			if (t && (!json_is_integer(t) || json_integer_value(t) <= 0 || json_integer_value(t) > 86400))
				return err_invalid(e, "hooks.%s[%zu].timeout: seconds, from 1", kind, i);
		}
	}
	return 0;
}

json_t *oci_hook_state(json_t *st, const char *status)
{
	json_t *spec = json_object_get(st, "spec"), *ann = json_object_get(spec, "annotations");
	json_t *h = json_pack("{s:O, s:O, s:s}", "ociVersion", json_object_get(st, "ociVersion"), "id",
			      json_object_get(st, "id"), "status", status);

	if (!h)
		return NULL;
	/* runc's: no pid once stopped, no annotations when there are none. */
	if (strcmp(status, "stopped"))
		json_object_set(h, "pid", json_object_get(st, "pid"));
	json_object_set(h, "bundle", json_object_get(st, "bundle"));
	if (json_object_size(ann))
		json_object_set(h, "annotations", ann);
	return h;
}

/* NULL-terminated copies of a JSON array of strings (the pointers only). */
static const char **argv_of(json_t *a, const char *first)
{
	size_t n = json_array_size(a), k = 0;
	const char **v = calloc(n + 2, sizeof(*v));
	json_t *x;
	size_t i;

	if (!v)
		return NULL;
	if (!n && first)
		v[k++] = first;
	json_array_foreach(a, i, x)
		v[k++] = json_string_value(x);
	return v;
}

__attribute__((noreturn)) static void hook_child(const char *path, const char **argv, const char **envp, int in,
						 int out)
{
	if (dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(out, 2) < 0)
		_exit(127);
	(void)syscall(SYS_close_range, 3, ~0U, 0);
	execve(path, (char *const *)argv, (char *const *)envp);
	dprintf(2, "exec %s: %s", path, strerror(errno));
	_exit(127);
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* One hook: its output (cut to HOOK_OUTPUT_MAX) kept for the error. */
static int hook_run(const char *kind, size_t idx, json_t *h, const char *state, struct ember_error *e)
{
	const char *path = json_string_value(json_object_get(h, "path"));
	int64_t timeout = json_integer_value(json_object_get(h, "timeout"));
	_cleanup_free_ const char **argv = argv_of(json_object_get(h, "args"), path);
	_cleanup_free_ const char **envp = argv_of(json_object_get(h, "env"), NULL);
	int in[2], out[2];
	char said[HOOK_OUTPUT_MAX + 1];
	size_t n = 0;

	if (!argv || !envp)
		return err_set(e, ENOMEM, "out of memory");
	if (pipe2(in, O_CLOEXEC) < 0)
		return err_sys(e, errno, "hooks.%s[%zu]: pipe", kind, idx);
	if (pipe2(out, O_CLOEXEC) < 0) {
		int saved = errno;
		close(in[0]);
		close(in[1]);
		return err_sys(e, saved, "hooks.%s[%zu]: pipe", kind, idx);
	}
	pid_t pid = fork();
	if (pid == 0)
		hook_child(path, argv, envp, in[0], out[1]);
	int saved = errno;
	close(in[0]);
	close(out[1]);
	if (pid < 0) {
		close(in[1]);
		close(out[0]);
		return err_sys(e, saved, "hooks.%s[%zu]: fork", kind, idx);
	}
	/* The state is small (a pipe holds it); a hook that does not read it
	   gets EPIPE on our side, which is no error of its. */
	struct sigaction ign = { .sa_handler = SIG_IGN }, old;
	sigaction(SIGPIPE, &ign, &old);
	(void)!write(in[1], state, strlen(state));
	close(in[1]);
	sigaction(SIGPIPE, &old, NULL);
	int64_t deadline = timeout > 0 ? now_ms() + timeout * 1000 : -1;
	int timed_out = 0;
	for (;;) {
		int wait = deadline < 0 ? -1 : (int)(deadline - now_ms());
		if (deadline >= 0 && wait <= 0) {
			timed_out = 1;
			break;
		}
		struct pollfd p = { out[0], POLLIN, 0 };
		int r = poll(&p, 1, wait);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			continue;
		char buf[512];
		ssize_t got = read(out[0], buf, sizeof(buf));
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			break; /* it closed its output: it ends */
		size_t keep = (size_t)got < HOOK_OUTPUT_MAX - n ? (size_t)got : HOOK_OUTPUT_MAX - n;
		memcpy(said + n, buf, keep);
		n += keep;
	}
	close(out[0]);
	if (timed_out)
		(void)kill(pid, SIGKILL);
	int status = 0;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	said[n] = '\0';
	char *nl = strchr(said, '\n');
	if (nl)
		*nl = '\0';
	if (timed_out)
		return err_set(e, ETIMEDOUT, "hooks.%s[%zu] %s: timed out after %lld s", kind, idx, path, (long long)timeout);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	if (WIFSIGNALED(status))
		return err_set(e, EIO, "hooks.%s[%zu] %s: killed by signal %d%s%s", kind, idx, path, WTERMSIG(status),
			       n ? ": " : "", said);
	return err_set(e, EIO, "hooks.%s[%zu] %s: exit status %d%s%s", kind, idx, path, WEXITSTATUS(status),
		       n ? ": " : "", said);
}

int oci_hooks_run(const struct oci *warn, json_t *spec, const char *kind, json_t *state, struct ember_error *e)
{
	json_t *list = json_object_get(json_object_get(spec, "hooks"), kind), *h;
	size_t i;

	if (!json_array_size(list))
		return 0;
	_cleanup_free_ char *text = json_dumps(state, JSON_COMPACT | JSON_PRESERVE_ORDER);
	if (!text)
		return err_set(e, ENOMEM, "out of memory");
	json_array_foreach(list, i, h) {
		if (hook_run(kind, i, h, text, e) == 0)
			continue;
		if (!warn)
			return -e->code;
		oci_warn(warn, "%s", e->message);
	}
	return 0;
}
