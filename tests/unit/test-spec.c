/* SPDX-License-Identifier: Apache-2.0 */
#include "unit.h"

#include <sys/syscall.h>
#include <linux/openat2.h>

#ifndef SYS_openat2
#define SYS_openat2 437
#endif

#include <signal.h>
#include <sys/stat.h>

#include "runtime/runtime.h"
#include "util/cleanup.h"

/* ---- helpers ---- */

static json_t *J(const char *text)
{
	json_error_t je;
	json_t *j = json_loads(text, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &je);

	if (!j)
		fail_msg("bad fixture JSON (%s): %s", je.text, text);
	return j;
}

/* A value by path: "process.args[0]", "linux.resources.cpu.quota". */
static json_t *jget(json_t *root, const char *path)
{
	char key[128];
	json_t *v = root;

	while (v && *path) {
		size_t n = strcspn(path, ".[");
		if (n) {
			assert_true(n < sizeof(key));
			memcpy(key, path, n);
			key[n] = '\0';
			v = json_object_get(v, key);
			path += n;
		}
		if (*path == '[') {
			char *end;
			v = json_array_get(v, strtoul(path + 1, &end, 10));
			assert_int_equal(*end, ']');
			path = end + 1;
		}
		if (*path == '.')
			path++;
	}
	return v;
}

static const char *jstr(json_t *root, const char *path)
{
	return json_string_value(jget(root, path));
}

static void assert_json(json_t *v, const char *expected)
{
	json_t *want = J(expected);

	if (!json_equal(v, want)) {
		char *got = v ? json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
		fail_msg("got %s, want %s", got ? got : "(nothing)", expected);
	}
	json_decref(want);
}

static int has_string(json_t *a, const char *s)
{
	size_t i;
	json_t *v;

	json_array_foreach(a, i, v)
		if (json_is_string(v) && strcmp(json_string_value(v), s) == 0)
			return 1;
	return 0;
}

static json_t *mount_at(json_t *spec, const char *dst)
{
	size_t i;
	json_t *m;

	json_array_foreach(json_object_get(spec, "mounts"), i, m)
		if (strcmp(json_string_value(json_object_get(m, "destination")), dst) == 0)
			return m;
	return NULL;
}

/* Options with a fresh image config from text (NULL: none). */
struct fixture {
	struct runtime_spec_options o;
	json_t *owned[8];
	size_t n;
};

static json_t *own(struct fixture *f, json_t *j)
{
	assert_true(f->n < ARRAY_SIZE(f->owned));
	f->owned[f->n++] = j;
	return j;
}

static void fixture_init(struct fixture *f, const char *image_config)
{
	memset(f, 0, sizeof(*f));
	f->o.id = "web";
	f->o.rootfs = "/run/ember/rootfs/web";
	if (image_config)
		f->o.image_config = own(f, J(image_config));
}

static void fixture_done(struct fixture *f)
{
	for (size_t i = 0; i < f->n; i++)
		json_decref(f->owned[i]);
}

static json_t *build_ok(struct fixture *f)
{
	struct ember_error e = { 0 };
	json_t *spec = NULL;

	int r = runtime_spec_build(&f->o, &spec, &e);
	if (r < 0)
		fail_msg("runtime_spec_build: %s", e.message);
	assert_non_null(spec);
	assert_int_equal(runtime_spec_check(spec, &e), 0);
	return spec;
}

static void build_fails(struct fixture *f, const char *needle)
{
	struct ember_error e = { 0 };
	json_t *spec = (json_t *)1;

	int r = runtime_spec_build(&f->o, &spec, &e);
	if (r == 0)
		fail_msg("runtime_spec_build succeeded, want \"%s\"", needle);
	assert_int_equal(r, -e.code);
	assert_null(spec);
	assert_string_equal(e.name, EMBER_ERROR_INVALID_ARGUMENT);
	assert_null(strchr(e.message, '\n'));
	assert_msg_contains(&e, needle);
}

/* ---- the command ---- */

static void test_args(void **state)
{
	(void)state;
	static const struct {
		const char *config, *entrypoint, *args, *want;
	} cases[] = {
		{ "{\"Entrypoint\": [\"/bin/app\", \"-x\"]}", NULL, NULL, "[\"/bin/app\", \"-x\"]" },
		{ "{\"Cmd\": [\"sh\", \"-c\", \"echo hi\"]}", NULL, NULL, "[\"sh\", \"-c\", \"echo hi\"]" },
		{ "{\"Entrypoint\": [\"/init\"], \"Cmd\": [\"--serve\"]}", NULL, NULL, "[\"/init\", \"--serve\"]" },
		/* User args replace Cmd, after the Entrypoint. */
		{ "{\"Entrypoint\": [\"/init\"], \"Cmd\": [\"--serve\"]}", NULL, "[\"--debug\", \"1\"]",
		  "[\"/init\", \"--debug\", \"1\"]" },
		{ "{\"Cmd\": [\"sh\"]}", NULL, "[\"ls\", \"/\"]", "[\"ls\", \"/\"]" },
		{ NULL, NULL, "[\"/bin/true\"]", "[\"/bin/true\"]" },
		{ "{\"Entrypoint\": null, \"Cmd\": [\"top\"]}", NULL, NULL, "[\"top\"]" },
		/* Empty args are none. */
		{ "{\"Cmd\": [\"sh\"]}", NULL, "[]", "[\"sh\"]" },
		/* A new entrypoint drops the image's Cmd (as Docker). */
		{ "{\"Entrypoint\": [\"/init\"], \"Cmd\": [\"--serve\"]}", "[\"/bin/sh\"]", NULL, "[\"/bin/sh\"]" },
		{ "{\"Entrypoint\": [\"/init\"], \"Cmd\": [\"--serve\"]}", "[\"/bin/sh\", \"-c\"]", "[\"date\"]",
		  "[\"/bin/sh\", \"-c\", \"date\"]" },
		/* An empty entrypoint clears the image's. */
		{ "{\"Entrypoint\": [\"/init\"], \"Cmd\": [\"--serve\"]}", "[]", "[\"sh\"]", "[\"sh\"]" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct fixture f;
		fixture_init(&f, cases[i].config);
		if (cases[i].entrypoint)
			f.o.entrypoint = own(&f, J(cases[i].entrypoint));
		if (cases[i].args)
			f.o.args = own(&f, J(cases[i].args));
		json_t *spec = build_ok(&f);
		assert_json(jget(spec, "process.args"), cases[i].want);
		assert_string_equal(jstr(spec, "ociVersion"), "1.0.2");
		json_decref(spec);
		fixture_done(&f);
	}
}

static void test_no_command(void **state)
{
	(void)state;
	static const char *const configs[] = { NULL, "{}", "{\"Entrypoint\": [], \"Cmd\": []}",
					       "{\"Env\": [\"A=1\"]}" };
	struct fixture f;

	for (size_t i = 0; i < ARRAY_SIZE(configs); i++) {
		fixture_init(&f, configs[i]);
		build_fails(&f, "no command: the image has neither Entrypoint nor Cmd and none was given");
		fixture_done(&f);
	}
	/* An empty entrypoint override with only Cmd: nothing left. */
	fixture_init(&f, "{\"Cmd\": [\"sh\"]}");
	f.o.entrypoint = own(&f, J("[]"));
	build_fails(&f, "no command");
	fixture_done(&f);

	fixture_init(&f, "{\"Cmd\": [\"\", \"x\"]}");
	build_fails(&f, "no command: the executable (the first argument) is empty");
	fixture_done(&f);

	fixture_init(&f, NULL);
	f.o.args = own(&f, J("[\"ls\", 3]"));
	build_fails(&f, "args: must be an array of strings");
	fixture_done(&f);

	fixture_init(&f, "{\"Cmd\": \"sh\"}");
	build_fails(&f, "image config: Cmd: must be an array of strings");
	fixture_done(&f);

	fixture_init(&f, NULL);
	f.o.args = own(&f, J("[\"sh\"]"));
	f.o.image_config = own(&f, J("[]"));
	build_fails(&f, "image config: must be an object");
	fixture_done(&f);
}

/* ---- env, cwd ---- */

static void test_env(void **state)
{
	(void)state;
	struct fixture f;

	/* The image's order; options replace in place; new keys after. */
	fixture_init(&f, "{\"Cmd\": [\"sh\"], \"Env\": [\"A=1\", \"PATH=/opt/bin\", \"B=2\", \"EMPTY=\"]}");
	f.o.env = own(&f, J("[\"B=3\", \"C=4\", \"A=5\", \"C=6\", \"D=x=y\"]"));
	json_t *spec = build_ok(&f);
	assert_json(jget(spec, "process.env"), "[\"A=5\", \"PATH=/opt/bin\", \"B=3\", \"EMPTY=\", \"C=6\", \"D=x=y\"]");
	json_decref(spec);
	fixture_done(&f);

	/* PATH by default, last. */
	fixture_init(&f, "{\"Cmd\": [\"sh\"], \"Env\": [\"HOME=/root\"]}");
	spec = build_ok(&f);
	assert_json(jget(spec, "process.env"),
		    "[\"HOME=/root\", \"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\"]");
	json_decref(spec);
	fixture_done(&f);

	/* No image env at all; PATH from the options wins. */
	fixture_init(&f, NULL);
	f.o.args = own(&f, J("[\"sh\"]"));
	f.o.env = own(&f, J("[\"PATH=/bin\"]"));
	spec = build_ok(&f);
	assert_json(jget(spec, "process.env"), "[\"PATH=/bin\"]");
	json_decref(spec);

	/* A terminal gets TERM=xterm, unless TERM is set. */
	f.o.terminal = true;
	spec = build_ok(&f);
	assert_json(jget(spec, "process.env"), "[\"PATH=/bin\", \"TERM=xterm\"]");
	assert_true(json_is_true(jget(spec, "process.terminal")));
	json_decref(spec);
	f.o.env = own(&f, J("[\"TERM=vt100\"]"));
	spec = build_ok(&f);
	assert_true(has_string(jget(spec, "process.env"), "TERM=vt100"));
	assert_false(has_string(jget(spec, "process.env"), "TERM=xterm"));
	json_decref(spec);
	fixture_done(&f);

	static const struct {
		const char *env, *needle;
	} bad[] = {
		{ "[\"FOO\"]", "env: \"FOO\" is not KEY=value" },
		{ "[\"=x\"]", "env: \"=x\" is not KEY=value" },
		{ "[\"A=1\", 7]", "env[1]: must be a string" },
		{ "{\"A\": \"1\"}", "env: must be an array" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		fixture_init(&f, "{\"Cmd\": [\"sh\"]}");
		f.o.env = own(&f, J(bad[i].env));
		build_fails(&f, bad[i].needle);
		fixture_done(&f);
	}
	fixture_init(&f, "{\"Cmd\": [\"sh\"], \"Env\": [\"OK=1\", \"BROKEN\"]}");
	build_fails(&f, "image config: Env: \"BROKEN\" is not KEY=value");
	fixture_done(&f);
}

static void test_cwd(void **state)
{
	(void)state;
	static const struct {
		const char *config, *cwd, *want;
	} cases[] = {
		{ "{\"Cmd\": [\"sh\"]}", NULL, "/" },
		{ "{\"Cmd\": [\"sh\"], \"WorkingDir\": \"\"}", NULL, "/" },
		{ "{\"Cmd\": [\"sh\"], \"WorkingDir\": \"/app\"}", NULL, "/app" },
		{ "{\"Cmd\": [\"sh\"], \"WorkingDir\": \"srv/www\"}", NULL, "/srv/www" },
		{ "{\"Cmd\": [\"sh\"], \"WorkingDir\": \"/app\"}", "/tmp", "/tmp" },
	};
	struct fixture f;

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		fixture_init(&f, cases[i].config);
		f.o.cwd = cases[i].cwd;
		json_t *spec = build_ok(&f);
		assert_string_equal(jstr(spec, "process.cwd"), cases[i].want);
		json_decref(spec);
		fixture_done(&f);
	}
	fixture_init(&f, "{\"Cmd\": [\"sh\"]}");
	f.o.cwd = "tmp";
	build_fails(&f, "cwd \"tmp\": must be an absolute path");
	fixture_done(&f);
}

/* ---- user ---- */

static void test_user(void **state)
{
	(void)state;
	static const struct {
		const char *image_user, *user;
		long long uid, gid;
		const char *pending; /* the ember.io/user annotation */
	} cases[] = {
		{ NULL, NULL, 0, 0, NULL },
		{ "", NULL, 0, 0, NULL },
		{ "1000:1000", NULL, 1000, 1000, NULL },
		{ NULL, "0:0", 0, 0, NULL },
		{ "1000", NULL, 1000, 0, "1000" },
		{ "app", NULL, 65534, 65534, "app" },
		{ "app:staff", NULL, 65534, 65534, "app:staff" },
		{ "app:50", NULL, 65534, 50, "app:50" },
		{ "1000:staff", NULL, 1000, 65534, "1000:staff" },
		/* The option wins over the image. */
		{ "app", "33:33", 33, 33, NULL },
		{ "1000:1000", "nginx", 65534, 65534, "nginx" },
		{ NULL, "4294967294:4294967294", 4294967294LL, 4294967294LL, NULL },
	};
	struct fixture f;
	char config[256];

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		if (cases[i].image_user)
			snprintf(config, sizeof(config), "{\"Cmd\": [\"sh\"], \"User\": \"%s\"}", cases[i].image_user);
		else
			snprintf(config, sizeof(config), "{\"Cmd\": [\"sh\"]}");
		fixture_init(&f, config);
		f.o.user = cases[i].user;
		json_t *spec = build_ok(&f);
		assert_int_equal(json_integer_value(jget(spec, "process.user.uid")), cases[i].uid);
		assert_int_equal(json_integer_value(jget(spec, "process.user.gid")), cases[i].gid);
		const char *pending = json_string_value(json_object_get(jget(spec, "annotations"), RUNTIME_ANN_USER));
		if (cases[i].pending)
			assert_string_equal(pending, cases[i].pending);
		else
			assert_null(pending);
		json_decref(spec);
		fixture_done(&f);
	}

	static const struct {
		const char *user, *needle;
	} bad[] = {
		{ "a b", "user \"a b\": want user, uid, user:group or uid:gid" },
		{ "a:b:c", "user \"a:b:c\"" },
		{ ":", "user \":\"" },
		{ "app:", "user \"app:\"" },
		{ ":staff", "user \":staff\"" },
		{ "a/b", "user \"a/b\"" },
		{ "4294967295", "uid out of range" },
		{ "99999999999:1", "uid out of range" },
		{ "1:4294967295", "gid out of range" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		fixture_init(&f, "{\"Cmd\": [\"sh\"]}");
		f.o.user = bad[i].user;
		build_fails(&f, bad[i].needle);
		fixture_done(&f);
	}
	fixture_init(&f, "{\"Cmd\": [\"sh\"], \"User\": \"x y\"}");
	build_fails(&f, "image config: User \"x y\"");
	fixture_done(&f);
}

/* ---- capabilities ---- */

#define DOCKER_CAPS                                                                                        \
	"[\"CAP_CHOWN\", \"CAP_DAC_OVERRIDE\", \"CAP_FOWNER\", \"CAP_FSETID\", \"CAP_KILL\", \"CAP_SETGID\", " \
	"\"CAP_SETUID\", \"CAP_SETPCAP\", \"CAP_NET_BIND_SERVICE\", \"CAP_NET_RAW\", \"CAP_SYS_CHROOT\", "    \
	"\"CAP_MKNOD\", \"CAP_AUDIT_WRITE\", \"CAP_SETFCAP\"]"

static json_t *caps_with(const char *add, const char *drop, bool privileged)
{
	struct fixture f;

	fixture_init(&f, "{\"Cmd\": [\"sh\"]}");
	if (add)
		f.o.cap_add = own(&f, J(add));
	if (drop)
		f.o.cap_drop = own(&f, J(drop));
	f.o.privileged = privileged;
	json_t *spec = build_ok(&f);
	json_t *caps = json_incref(jget(spec, "process.capabilities"));
	/* The three sets always agree; nothing is inheritable or ambient. */
	assert_true(json_equal(json_object_get(caps, "bounding"), json_object_get(caps, "effective")));
	assert_true(json_equal(json_object_get(caps, "bounding"), json_object_get(caps, "permitted")));
	assert_json(json_object_get(caps, "inheritable"), "[]");
	assert_json(json_object_get(caps, "ambient"), "[]");
	json_decref(spec);
	fixture_done(&f);
	return caps;
}

static void test_capabilities(void **state)
{
	(void)state;
	json_t *caps = caps_with(NULL, NULL, false);
	assert_json(json_object_get(caps, "bounding"), DOCKER_CAPS);
	json_decref(caps);

	caps = caps_with("[\"NET_ADMIN\", \"cap_sys_time\", \"Sys_Ptrace\", \"CAP_CHOWN\"]",
			 "[\"MKNOD\", \"cap_net_raw\", \"SYS_ADMIN\"]", false);
	json_t *b = json_object_get(caps, "bounding");
	assert_true(has_string(b, "CAP_NET_ADMIN") && has_string(b, "CAP_SYS_TIME") && has_string(b, "CAP_SYS_PTRACE"));
	assert_false(has_string(b, "CAP_MKNOD") || has_string(b, "CAP_NET_RAW") || has_string(b, "CAP_SYS_ADMIN"));
	assert_int_equal(json_array_size(b), 14 - 2 + 3);
	json_decref(caps);

	/* Adding what is also dropped: the add wins. */
	caps = caps_with("[\"MKNOD\"]", "[\"MKNOD\"]", false);
	assert_true(has_string(json_object_get(caps, "bounding"), "CAP_MKNOD"));
	json_decref(caps);

	caps = caps_with("[\"NET_BIND_SERVICE\"]", "[\"all\"]", false);
	assert_json(json_object_get(caps, "bounding"), "[\"CAP_NET_BIND_SERVICE\"]");
	json_decref(caps);

	caps = caps_with(NULL, "[\"ALL\"]", false);
	assert_json(json_object_get(caps, "bounding"), "[]");
	json_decref(caps);

	caps = caps_with("[\"ALL\"]", NULL, false);
	b = json_object_get(caps, "bounding");
	assert_int_equal(json_array_size(b), 41);
	assert_string_equal(json_string_value(json_array_get(b, 0)), "CAP_CHOWN");
	assert_string_equal(json_string_value(json_array_get(b, 40)), "CAP_CHECKPOINT_RESTORE");
	assert_true(has_string(b, "CAP_SYS_ADMIN") && has_string(b, "CAP_BPF") && has_string(b, "CAP_PERFMON"));
	json_decref(caps);

	caps = caps_with("[\"ALL\"]", "[\"MKNOD\", \"SYS_MODULE\"]", false);
	b = json_object_get(caps, "bounding");
	assert_int_equal(json_array_size(b), 39);
	assert_false(has_string(b, "CAP_MKNOD") || has_string(b, "CAP_SYS_MODULE"));
	json_decref(caps);

	caps = caps_with(NULL, NULL, true);
	assert_int_equal(json_array_size(json_object_get(caps, "bounding")), 41);
	json_decref(caps);

	caps = caps_with(NULL, "[\"SYS_ADMIN\"]", true);
	assert_int_equal(json_array_size(json_object_get(caps, "bounding")), 40);
	json_decref(caps);

	static const struct {
		const char *add, *drop, *needle;
	} bad[] = {
		{ "[\"NET_FOO\"]", NULL, "cap-add: unknown capability \"NET_FOO\"" },
		{ NULL, "[\"CAP_\"]", "cap-drop: unknown capability \"CAP_\"" },
		{ "[\"CAP_CAP_CHOWN\"]", NULL, "cap-add: unknown capability \"CAP_CAP_CHOWN\"" },
		{ "[\"\"]", NULL, "cap-add: unknown capability \"\"" },
		{ "[1]", NULL, "cap-add[0]: must be a capability name" },
		{ "\"NET_ADMIN\"", NULL, "cap-add: must be an array" },
		{ NULL, "[\"KILL\", \"bogus\\u0001\"]", "cap-drop: unknown capability \"bogus?\"" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		struct fixture f;
		fixture_init(&f, "{\"Cmd\": [\"sh\"]}");
		if (bad[i].add)
			f.o.cap_add = own(&f, J(bad[i].add));
		if (bad[i].drop)
			f.o.cap_drop = own(&f, J(bad[i].drop));
		build_fails(&f, bad[i].needle);
		fixture_done(&f);
	}
}

/* ---- defaults, privileged, read-only, host network ---- */

static void test_defaults(void **state)
{
	(void)state;
	struct fixture f;

	fixture_init(&f, "{\"Cmd\": [\"sh\"]}");
	json_t *spec = build_ok(&f);
	assert_string_equal(jstr(spec, "root.path"), "/run/ember/rootfs/web");
	assert_true(json_is_false(jget(spec, "root.readonly")));
	assert_true(json_is_false(jget(spec, "process.terminal")));
	assert_true(json_is_true(jget(spec, "process.noNewPrivileges")));
	assert_json(jget(spec, "process.rlimits"), "[{\"type\": \"RLIMIT_NOFILE\", \"soft\": 1024, \"hard\": 1024}]");
	assert_json(jget(spec, "linux.namespaces"),
		    "[{\"type\": \"pid\"}, {\"type\": \"ipc\"}, {\"type\": \"uts\"}, {\"type\": \"mount\"}, "
		    "{\"type\": \"network\"}, {\"type\": \"cgroup\"}]");
	assert_null(jget(spec, "linux.resources"));
	assert_string_equal(jstr(spec, "hostname"), "web");

	static const char *const dsts[] = { "/proc", "/dev", "/dev/pts", "/dev/shm", "/dev/mqueue", "/sys",
					    "/sys/fs/cgroup" };
	assert_int_equal(json_array_size(jget(spec, "mounts")), ARRAY_SIZE(dsts));
	for (size_t i = 0; i < ARRAY_SIZE(dsts); i++) {
		json_t *m = json_array_get(jget(spec, "mounts"), i);
		assert_string_equal(json_string_value(json_object_get(m, "destination")), dsts[i]);
	}
	assert_json(mount_at(spec, "/dev"), "{\"destination\": \"/dev\", \"type\": \"tmpfs\", \"source\": \"tmpfs\", "
					    "\"options\": [\"nosuid\", \"strictatime\", \"mode=755\", \"size=65536k\"]}");
	assert_json(mount_at(spec, "/dev/pts"),
		    "{\"destination\": \"/dev/pts\", \"type\": \"devpts\", \"source\": \"devpts\", \"options\": "
		    "[\"nosuid\", \"noexec\", \"newinstance\", \"ptmxmode=0666\", \"mode=0620\", \"gid=5\"]}");
	assert_json(mount_at(spec, "/dev/shm"),
		    "{\"destination\": \"/dev/shm\", \"type\": \"tmpfs\", \"source\": \"shm\", \"options\": "
		    "[\"nosuid\", \"noexec\", \"nodev\", \"mode=1777\", \"size=65536k\"]}");
	assert_string_equal(jstr(mount_at(spec, "/dev/mqueue"), "type"), "mqueue");
	assert_string_equal(jstr(mount_at(spec, "/proc"), "type"), "proc");
	assert_json(mount_at(spec, "/sys"), "{\"destination\": \"/sys\", \"type\": \"sysfs\", \"source\": \"sysfs\", "
					    "\"options\": [\"nosuid\", \"noexec\", \"nodev\", \"ro\"]}");
	assert_true(has_string(jget(mount_at(spec, "/sys/fs/cgroup"), "options"), "ro"));

	json_t *masked = jget(spec, "linux.maskedPaths"), *ro = jget(spec, "linux.readonlyPaths");
	static const char *const want_masked[] = { "/proc/asound", "/proc/acpi", "/proc/kcore", "/proc/keys",
						   "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats",
						   "/proc/sched_debug", "/proc/scsi", "/sys/firmware" };
	for (size_t i = 0; i < ARRAY_SIZE(want_masked); i++)
		assert_true(has_string(masked, want_masked[i]));
	assert_json(ro, "[\"/proc/bus\", \"/proc/fs\", \"/proc/irq\", \"/proc/sys\", \"/proc/sysrq-trigger\"]");
	assert_string_equal(json_string_value(json_object_get(jget(spec, "annotations"), RUNTIME_ANN_SECCOMP)),
			    "default");
	assert_string_equal(json_string_value(json_object_get(jget(spec, "annotations"), RUNTIME_ANN_STOP_SIGNAL)),
			    "SIGTERM");
	json_decref(spec);

	f.o.read_only = true;
	f.o.net_host = true;
	spec = build_ok(&f);
	assert_true(json_is_true(jget(spec, "root.readonly")));
	assert_json(jget(spec, "linux.namespaces"),
		    "[{\"type\": \"pid\"}, {\"type\": \"ipc\"}, {\"type\": \"uts\"}, {\"type\": \"mount\"}, "
		    "{\"type\": \"cgroup\"}]");
	assert_true(has_string(jget(mount_at(spec, "/sys"), "options"), "ro"));
	json_decref(spec);
	fixture_done(&f);
}

static void test_idmap(void **state)
{
	(void)state;
	struct fixture f;

	/* One map serves for both. */
	fixture_init(&f, "{\"Cmd\": [\"sh\"]}");
	f.o.uid_map = own(&f, J("[\"0:100000:65536\", \"65536:1000:1\"]"));
	json_t *spec = build_ok(&f);
	assert_json(jget(spec, "linux.uidMappings"),
		    "[{\"containerID\": 0, \"hostID\": 100000, \"size\": 65536},"
		    " {\"containerID\": 65536, \"hostID\": 1000, \"size\": 1}]");
	assert_json(jget(spec, "linux.gidMappings"), "[{\"containerID\": 0, \"hostID\": 100000, \"size\": 65536},"
						     " {\"containerID\": 65536, \"hostID\": 1000, \"size\": 1}]");
	json_t *ns = jget(spec, "linux.namespaces");
	assert_string_equal(json_string_value(json_object_get(json_array_get(ns, json_array_size(ns) - 1), "type")),
			    "user");
	json_decref(spec);
	f.o.gid_map = own(&f, J("[\"0:200000:10\"]"));
	spec = build_ok(&f);
	assert_json(jget(spec, "linux.gidMappings"), "[{\"containerID\": 0, \"hostID\": 200000, \"size\": 10}]");
	json_decref(spec);
	fixture_done(&f);

	static const struct {
		const char *uid, *gid, *needle;
	} bad[] = {
		{ "[\"0:1\"]", NULL, "uidmap \"0:1\": want container-id:host-id:size" },
		{ "[\"0:1:2:3\"]", NULL, "uidmap \"0:1:2:3\": want" },
		{ "[\"-1:1:2\"]", NULL, "uidmap \"-1:1:2\": want" },
		{ "[\" 0:1:2\"]", NULL, "uidmap \" 0:1:2\": want" },
		{ "[\"0:1:\"]", NULL, "uidmap \"0:1:\": want" },
		{ "[\"4294967296:1:1\"]", NULL, "uidmap \"4294967296:1:1\": want" },
		{ "[\"0:1:0\"]", NULL, "uidmap \"0:1:0\": the range is empty or passes 2^32-1" },
		{ "[\"0:4294967295:1\"]", NULL, "passes 2^32-1" },
		{ "[]", NULL, "uidmap: give container-id:host-id:size" },
		{ "[1]", NULL, "uidmap \"\": want" },
		{ NULL, "[\"0:x:1\"]", "gidmap \"0:x:1\": want" },
		{ "[\"0:1:1\"]", "[\"0:x:1\"]", "gidmap \"0:x:1\": want" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		fixture_init(&f, "{\"Cmd\": [\"sh\"]}");
		if (bad[i].uid)
			f.o.uid_map = own(&f, J(bad[i].uid));
		if (bad[i].gid)
			f.o.gid_map = own(&f, J(bad[i].gid));
		build_fails(&f, bad[i].needle);
		fixture_done(&f);
	}
}

static void test_privileged(void **state)
{
	(void)state;
	struct fixture f;

	fixture_init(&f, "{\"Cmd\": [\"sh\"]}");
	f.o.privileged = true;
	json_t *spec = build_ok(&f);
	assert_true(json_is_false(jget(spec, "process.noNewPrivileges")));
	assert_null(jget(spec, "linux.maskedPaths"));
	assert_null(jget(spec, "linux.readonlyPaths"));
	assert_null(json_object_get(jget(spec, "annotations"), RUNTIME_ANN_SECCOMP));
	assert_false(has_string(jget(mount_at(spec, "/sys"), "options"), "ro"));
	assert_false(has_string(jget(mount_at(spec, "/sys/fs/cgroup"), "options"), "ro"));
	assert_int_equal(json_array_size(jget(spec, "process.capabilities.bounding")), 41);
	/* Every device, as Docker's (the device cgroup). */
	json_t *dev = jget(spec, "linux.resources.devices");
	assert_int_equal(json_array_size(dev), 1);
	assert_true(json_is_true(json_object_get(json_array_get(dev, 0), "allow")));
	assert_string_equal(json_string_value(json_object_get(json_array_get(dev, 0), "access")), "rwm");
	/* Still isolated by namespaces. */
	assert_int_equal(json_array_size(jget(spec, "linux.namespaces")), 6);
	json_decref(spec);
	fixture_done(&f);
}

static void test_hostname_rootfs(void **state)
{
	(void)state;
	struct fixture f;

	fixture_init(&f, "{\"Cmd\": [\"sh\"]}");
	f.o.id = "a-very-long-container-id-0123456789abcdef0123456789abcdef0123456789abcdef";
	json_t *spec = build_ok(&f);
	assert_int_equal(strlen(jstr(spec, "hostname")), 63);
	assert_memory_equal(jstr(spec, "hostname"), f.o.id, 63);
	json_decref(spec);

	f.o.hostname = "db-1.local";
	spec = build_ok(&f);
	assert_string_equal(jstr(spec, "hostname"), "db-1.local");
	json_decref(spec);

	static const char *const bad[] = { "", "has space", "a/b", "x\n",
					   "0123456789012345678901234567890123456789012345678901234567890123" };
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		f.o.hostname = bad[i];
		build_fails(&f, "hostname \"");
	}
	f.o.hostname = NULL;

	f.o.rootfs = "/var/lib/../../etc";
	build_fails(&f, "rootfs \"/var/lib/../../etc\": must not have a \"..\" component");
	f.o.rootfs = "";
	build_fails(&f, "rootfs: missing");
	f.o.rootfs = "rootfs"; /* relative, as in a bundle */
	spec = build_ok(&f);
	json_decref(spec);
	f.o.id = "";
	build_fails(&f, "container id: missing");
	fixture_done(&f);
}

/* ---- resources ---- */

static void test_resources(void **state)
{
	(void)state;
	struct fixture f;

	fixture_init(&f, "{\"Cmd\": [\"sh\"]}");
	f.o.memory = 128 << 20;
	f.o.cpus = 1.5;
	f.o.pids = 100;
	json_t *spec = build_ok(&f);
	assert_json(jget(spec, "linux.resources"), "{\"memory\": {\"limit\": 134217728}, "
						   "\"cpu\": {\"quota\": 150000, \"period\": 100000}, "
						   "\"pids\": {\"limit\": 100}}");
	json_decref(spec);

	f.o.memory = 0;
	f.o.pids = 0;
	f.o.cpus = 0.01;
	spec = build_ok(&f);
	assert_json(jget(spec, "linux.resources"), "{\"cpu\": {\"quota\": 1000, \"period\": 100000}}");
	json_decref(spec);
	f.o.cpus = 0.333;
	spec = build_ok(&f);
	assert_int_equal(json_integer_value(jget(spec, "linux.resources.cpu.quota")), 33300);
	json_decref(spec);
	f.o.cpus = 0;

	f.o.memory = 1024;
	build_fails(&f, "memory: 1024 bytes is below the minimum of 6 MiB");
	f.o.memory = -1;
	build_fails(&f, "memory: must not be negative");
	f.o.memory = 0;
	f.o.cpus = 0.001;
	build_fails(&f, "cpus: 0.001 is out of range (0.01 .. 1024)");
	f.o.cpus = 2000;
	build_fails(&f, "cpus: 2000 is out of range");
	f.o.cpus = -1;
	build_fails(&f, "cpus: must be a number of CPUs");
	f.o.cpus = __builtin_nan("");
	build_fails(&f, "cpus: must be a number of CPUs");
	f.o.cpus = 0;
	f.o.pids = -1;
	build_fails(&f, "pids-limit: must not be negative");
	fixture_done(&f);
}

/* ---- annotations, stop signal ---- */

static void test_annotations(void **state)
{
	(void)state;
	struct fixture f;

	fixture_init(&f, "{\"Cmd\": [\"sh\"], \"Labels\": {\"image.label\": \"not copied\"}}");
	f.o.labels = own(&f, J("{\"com.example.team\": \"edge\", \"version\": \"\"}"));
	json_t *spec = build_ok(&f);
	json_t *ann = jget(spec, "annotations");
	assert_string_equal(json_string_value(json_object_get(ann, "com.example.team")), "edge");
	assert_string_equal(json_string_value(json_object_get(ann, "version")), "");
	assert_null(json_object_get(ann, "image.label"));
	json_decref(spec);
	fixture_done(&f);

	static const struct {
		const char *labels, *needle;
	} bad[] = {
		{ "{\"ember.io/stop-signal\": \"SIGKILL\"}", "labels: \"ember.io/stop-signal\": the ember.io/ prefix is ember's" },
		{ "{\"a\": 1}", "labels: \"a\": must be a string" },
		{ "{\"\": \"x\"}", "labels: empty key" },
		{ "[\"a=b\"]", "labels: must be an object" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		fixture_init(&f, "{\"Cmd\": [\"sh\"]}");
		f.o.labels = own(&f, J(bad[i].labels));
		build_fails(&f, bad[i].needle);
		fixture_done(&f);
	}
}

static void test_stop_signal(void **state)
{
	(void)state;
	static const struct {
		const char *signal, *want;
	} cases[] = {
		{ "SIGTERM", "SIGTERM" }, { "TERM", "SIGTERM" }, { "15", "SIGTERM" },   { "sigquit", "SIGQUIT" },
		{ "SIGKILL", "SIGKILL" }, { "9", "SIGKILL" },    { "SIGUSR1", "SIGUSR1" }, { "SIGWINCH", "SIGWINCH" },
		{ "SIGRTMIN+3", "SIGRTMIN+3" }, { "RTMIN", "SIGRTMIN" }, { "SIGIOT", "SIGABRT" }, { "SIGCLD", "SIGCHLD" },
	};
	char config[128];
	struct fixture f;

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		snprintf(config, sizeof(config), "{\"Cmd\": [\"sh\"], \"StopSignal\": \"%s\"}", cases[i].signal);
		fixture_init(&f, config);
		json_t *spec = build_ok(&f);
		assert_string_equal(json_string_value(json_object_get(jget(spec, "annotations"), RUNTIME_ANN_STOP_SIGNAL)),
				    cases[i].want);
		json_decref(spec);
		fixture_done(&f);
	}
	fixture_init(&f, "{\"Cmd\": [\"sh\"], \"StopSignal\": \"SIGFOO\"}");
	build_fails(&f, "image config: StopSignal: unknown signal \"SIGFOO\"");
	fixture_done(&f);
	fixture_init(&f, "{\"Cmd\": [\"sh\"], \"StopSignal\": \"\"}");
	build_fails(&f, "image config: StopSignal: empty signal");
	fixture_done(&f);
	fixture_init(&f, "{\"Cmd\": [\"sh\"], \"StopSignal\": 15}");
	build_fails(&f, "image config: StopSignal: must be a string");
	fixture_done(&f);
}

static void test_signal_parse(void **state)
{
	(void)state;
	static const struct {
		const char *s;
		int sig;
	} good[] = {
		{ "SIGHUP", SIGHUP }, { "hup", SIGHUP }, { "1", 1 }, { "015", 15 }, { "SIGINT", SIGINT },
		{ "SIGSTOP", SIGSTOP }, { "SIGCONT", SIGCONT }, { "SIGSYS", SIGSYS }, { "SIGPOLL", SIGIO },
		{ "SIGRTMIN", 34 }, { "SIGRTMIN+0", 34 }, { "RTMIN+1", 35 }, { "SIGRTMAX", 64 },
		{ "SIGRTMAX-2", 62 }, { "rtmax-30", 34 }, { "64", 64 }, { "33", 33 },
	};
	static const char *const bad[] = {
		"", "SIG", "0", "65", "999", "1000", "-1", "+1", "SIGRTMIN-1", "SIGRTMAX+1", "SIGRTMIN+31",
		"RTMAX-31", "SIGRTMIN+", "RTMIN+x", "TERM ", " TERM", "SIGTERMX", "15x",
	};
	struct ember_error e;
	char name[RUNTIME_SIGNAL_NAME_MAX];
	int sig;

	for (size_t i = 0; i < ARRAY_SIZE(good); i++) {
		sig = -1;
		if (runtime_signal_parse(good[i].s, &sig, &e) < 0)
			fail_msg("%s: %s", good[i].s, e.message);
		assert_int_equal(sig, good[i].sig);
		/* The canonical name parses back to the same signal. */
		int again = -1;
		assert_int_equal(runtime_signal_parse(runtime_signal_name(sig, name), &again, &e), 0);
		assert_int_equal(again, sig);
	}
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		if (runtime_signal_parse(bad[i], &sig, &e) == 0)
			fail_msg("\"%s\" parsed as %d", bad[i], sig);
		assert_int_equal(e.code, EINVAL);
	}
	assert_string_equal(runtime_signal_name(SIGTERM, name), "SIGTERM");
	assert_string_equal(runtime_signal_name(34, name), "SIGRTMIN");
	assert_string_equal(runtime_signal_name(64, name), "SIGRTMIN+30");
	assert_string_equal(runtime_signal_name(32, name), "32");
}

/* ---- --mount ---- */

static void test_mount_parse(void **state)
{
	(void)state;
	static const struct {
		const char *spec, *want;
	} good[] = {
		{ "type=bind,src=/data,dst=/mnt,options=rbind:ro",
		  "{\"destination\": \"/mnt\", \"type\": \"bind\", \"source\": \"/data\", \"options\": [\"rbind\", \"ro\"]}" },
		{ "type=bind,source=/srv/a,target=/a",
		  "{\"destination\": \"/a\", \"type\": \"bind\", \"source\": \"/srv/a\", \"options\": [\"rbind\"]}" },
		{ "dst=/a,src=/b,type=bind,ro",
		  "{\"destination\": \"/a\", \"type\": \"bind\", \"source\": \"/b\", \"options\": [\"rbind\", \"ro\"]}" },
		{ "type=bind,src=/b,destination=/a,readonly=true,options=ro",
		  "{\"destination\": \"/a\", \"type\": \"bind\", \"source\": \"/b\", \"options\": [\"rbind\", \"ro\"]}" },
		{ "type=bind,src=/b,dst=/a,readonly=false",
		  "{\"destination\": \"/a\", \"type\": \"bind\", \"source\": \"/b\", \"options\": [\"rbind\"]}" },
		{ "type=bind,src=/b,dst=/a,options=bind:nosuid:nodev:rprivate",
		  "{\"destination\": \"/a\", \"type\": \"bind\", \"source\": \"/b\", "
		  "\"options\": [\"bind\", \"nosuid\", \"nodev\", \"rprivate\"]}" },
		{ "type=bind,src=/dev/ttyUSB0,dst=/dev/ttyUSB0,options=rw",
		  "{\"destination\": \"/dev/ttyUSB0\", \"type\": \"bind\", \"source\": \"/dev/ttyUSB0\", "
		  "\"options\": [\"rbind\", \"rw\"]}" },
		{ "type=tmpfs,dst=/tmp",
		  "{\"destination\": \"/tmp\", \"type\": \"tmpfs\", \"source\": \"tmpfs\", \"options\": []}" },
		{ "type=tmpfs,dst=/run,options=size=64m:mode=1777:nosuid:uid=0:nr_inodes=4k",
		  "{\"destination\": \"/run\", \"type\": \"tmpfs\", \"source\": \"tmpfs\", "
		  "\"options\": [\"size=64m\", \"mode=1777\", \"nosuid\", \"uid=0\", \"nr_inodes=4k\"]}" },
		{ "type=tmpfs,src=scratch,dst=/scratch,options=size=50%",
		  "{\"destination\": \"/scratch\", \"type\": \"tmpfs\", \"source\": \"scratch\", \"options\": [\"size=50%\"]}" },
	};
	static const struct {
		const char *spec, *needle;
	} bad[] = {
		{ "", "mount: empty" },
		{ "type=bind,src=/a", "mount: missing dst=" },
		{ "type=bind,src=/a,dst=data", "mount: dst \"data\": must be an absolute path" },
		{ "type=bind,src=/a,dst=/", "mount: dst \"/\": cannot mount over the container's root" },
		{ "type=bind,src=/a,dst=//", "cannot mount over the container's root" },
		{ "type=bind,src=/a,dst=/x/../etc", "mount: dst \"/x/../etc\": must not have a \"..\" component" },
		{ "type=nfs,src=/a,dst=/b", "mount: type \"nfs\" is not supported (want bind or tmpfs)" },
		{ "src=/a,dst=/b", "mount: missing type= (bind or tmpfs)" },
		{ "type=bind,dst=/b", "mount: type=bind needs src=" },
		{ "type=bind,src=a,dst=/b", "mount: src \"a\": must be an absolute path" },
		{ "type=bind,src=/a,dst=/b,options=rbind:bogus", "mount: options: unknown option \"bogus\"" },
		{ "type=bind,src=/a,dst=/b,options=ro:rw", "mount: options: ro and rw contradict each other" },
		{ "type=bind,src=/a,dst=/b,ro,options=rw", "ro and rw contradict" },
		{ "type=bind,src=/a,dst=/b,options=bind:rbind", "bind and rbind contradict" },
		{ "type=bind,src=/a,dst=/b,options=size=1m", "mount: options: \"size=1m\" is only for type=tmpfs" },
		{ "type=tmpfs,dst=/b,options=rbind", "mount: options: \"rbind\" is only for type=bind" },
		{ "type=tmpfs,dst=/b,options=mode=999", "unknown option \"mode=999\"" },
		{ "type=tmpfs,dst=/b,options=mode=", "unknown option \"mode=\"" },
		{ "type=tmpfs,dst=/b,options=size=12q", "unknown option \"size=12q\"" },
		{ "type=tmpfs,dst=/b,options=uid=4294967295", "unknown option \"uid=4294967295\"" },
		{ "type=tmpfs,dst=/b,options=nr_inodes=5%", "unknown option \"nr_inodes=5%\"" },
		{ "type=bind,src=/a,dst=/b,options=ro::nosuid", "mount: options: empty option" },
		{ "type=bind,src=/a,dst=/b,options=ro:", "mount: options: empty option" },
		{ "type=bind,,src=/a,dst=/b", "mount: empty field" },
		{ "type=bind,src=/a,dst=/b,", "mount: empty field" },
		{ "type=bind,src=/a,src=/c,dst=/b", "mount: src given twice" },
		{ "type=bind,src=/a,source=/c,dst=/b", "mount: source given twice" },
		{ "type=bind,src=/a,dst=/b,ro,readonly", "mount: readonly given twice" },
		{ "type=bind,src=,dst=/b", "mount: src: empty value" },
		{ "type,src=/a,dst=/b", "mount: type: empty value" },
		{ "type=bind,src=/a,dst=/b,bogus=1", "mount: unknown key \"bogus\" (want type, src, dst, options, ro)" },
		{ "type=bind,src=/a,dst=/b,ro=maybe", "mount: ro=maybe: want true or false" },
		{ "type=bind,src=/a,dst=/b,Type=bind", "unknown key \"Type\"" },
	};
	struct ember_error e;
	json_t *m;

	for (size_t i = 0; i < ARRAY_SIZE(good); i++) {
		if (runtime_mount_parse(good[i].spec, &m, &e) < 0)
			fail_msg("%s: %s", good[i].spec, e.message);
		assert_json(m, good[i].want);
		json_decref(m);
	}
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		m = (json_t *)1;
		memset(&e, 0, sizeof(e));
		int r = runtime_mount_parse(bad[i].spec, &m, &e);
		if (r == 0)
			fail_msg("\"%s\" parsed", bad[i].spec);
		assert_int_equal(r, -EINVAL);
		assert_null(m);
		assert_string_equal(e.name, EMBER_ERROR_INVALID_ARGUMENT);
		assert_msg_contains(&e, bad[i].needle);
	}
	assert_int_equal(runtime_mount_parse(NULL, &m, &e), -EINVAL);

	/* Oversize specs are refused, not copied around. */
	size_t n = 20000;
	char *big = malloc(n + 1);
	memset(big, 'a', n);
	big[n] = '\0';
	memcpy(big, "type=bind,src=/", 15);
	assert_int_equal(runtime_mount_parse(big, &m, &e), -EINVAL);
	assert_msg_contains(&e, "mount: longer than");
	free(big);
}

static void test_user_mounts(void **state)
{
	(void)state;
	struct ember_error e;
	struct fixture f;
	json_t *m1, *m2;

	fixture_init(&f, "{\"Cmd\": [\"sh\"]}");
	assert_int_equal(runtime_mount_parse("type=bind,src=/srv/data,dst=/data,options=ro", &m1, &e), 0);
	assert_int_equal(runtime_mount_parse("type=tmpfs,dst=/dev/shm/,options=size=256m", &m2, &e), 0);
	json_t *mounts = own(&f, json_pack("[o, o]", m1, m2));
	f.o.mounts = mounts;
	json_t *spec = build_ok(&f);
	json_t *all = jget(spec, "mounts");
	/* /dev/shm is replaced by the user's; theirs come last, in order. */
	assert_int_equal(json_array_size(all), 7 - 1 + 2);
	assert_null(mount_at(spec, "/dev/shm"));
	assert_string_equal(jstr(spec, "mounts[6].destination"), "/data");
	assert_string_equal(jstr(spec, "mounts[7].destination"), "/dev/shm/");
	assert_json(jget(spec, "mounts[7].options"), "[\"size=256m\"]");
	json_decref(spec);
	fixture_done(&f);

	static const struct {
		const char *mounts, *needle;
	} bad[] = {
		{ "[{\"destination\": \"data\", \"type\": \"bind\", \"source\": \"/a\"}]",
		  "mounts[0].destination: \"data\" must be an absolute path" },
		{ "[{\"type\": \"tmpfs\"}]", "mounts[0].destination: missing" },
		{ "[{\"destination\": \"/x\", \"type\": \"bind\"}]", "mounts[0].source: a bind mount needs a source" },
		{ "[{\"destination\": \"/x\", \"options\": [\"rbind\", 1], \"source\": \"/y\"}]",
		  "mounts[0].options: must be an array of strings" },
		{ "[7]", "mounts[0]: must be an object" },
		{ "{}", "mounts: must be an array" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		fixture_init(&f, "{\"Cmd\": [\"sh\"]}");
		f.o.mounts = own(&f, J(bad[i].mounts));
		build_fails(&f, bad[i].needle);
		fixture_done(&f);
	}
}

/* ---- runtime_spec_check ---- */

/* A small valid spec; each bad case edits it. */
static const char good_spec[] =
	"{\"ociVersion\": \"1.0.2\","
	" \"root\": {\"path\": \"rootfs\", \"readonly\": true},"
	" \"process\": {\"terminal\": false, \"user\": {\"uid\": 0, \"gid\": 0, \"additionalGids\": [10]},"
	"   \"args\": [\"sh\"], \"env\": [\"PATH=/bin\"], \"cwd\": \"/\","
	"   \"capabilities\": {\"bounding\": [\"CAP_KILL\"], \"effective\": [\"CAP_KILL\"]},"
	"   \"rlimits\": [{\"type\": \"RLIMIT_NOFILE\", \"hard\": 1024, \"soft\": 1024}],"
	"   \"noNewPrivileges\": true},"
	" \"hostname\": \"box\","
	" \"mounts\": [{\"destination\": \"/proc\", \"type\": \"proc\", \"source\": \"proc\"},"
	"              {\"destination\": \"/data\", \"type\": \"bind\", \"source\": \"/srv\", \"options\": [\"rbind\"]}],"
	" \"annotations\": {\"a\": \"b\"},"
	" \"linux\": {\"namespaces\": [{\"type\": \"pid\"}, {\"type\": \"mount\"}, {\"type\": \"uts\"},"
	"                             {\"type\": \"network\"}, {\"type\": \"user\"}],"
	"            \"maskedPaths\": [\"/proc/kcore\"], \"readonlyPaths\": [\"/proc/sys\"],"
	"            \"resources\": {\"memory\": {\"limit\": 1000000}, \"pids\": {\"limit\": 10}},"
	"            \"uidMappings\": [{\"containerID\": 0, \"hostID\": 100000, \"size\": 65536}],"
	"            \"gidMappings\": [{\"containerID\": 0, \"hostID\": 100000, \"size\": 65536}]},"
	" \"x-unknown\": {\"ignored\": true}}";

/* good_spec with the value at path set to value (JSON; NULL deletes). */
static json_t *edited(const char *path, const char *value)
{
	json_t *spec = J(good_spec);
	char parent[128];
	const char *last = strrchr(path, '.');
	const char *key = last ? last + 1 : path;

	snprintf(parent, sizeof(parent), "%.*s", last ? (int)(last - path) : 0, path);
	json_t *p = *parent ? jget(spec, parent) : spec;
	assert_non_null(p);
	if (value)
		assert_int_equal(json_object_set_new(p, key, J(value)), 0);
	else
		assert_int_equal(json_object_del(p, key), 0);
	return spec;
}

static void test_spec_check(void **state)
{
	(void)state;
	struct ember_error e;
	json_t *spec = J(good_spec);

	if (runtime_spec_check(spec, &e) < 0)
		fail_msg("%s", e.message);
	json_decref(spec);

	static const struct {
		const char *path, *value, *needle;
	} bad[] = {
		{ "ociVersion", NULL, "spec: ociVersion: missing" },
		{ "ociVersion", "2", "spec: ociVersion: must be a string" },
		{ "ociVersion", "\"2.0.0\"", "spec: ociVersion: \"2.0.0\": ember runs 1.x specs" },
		{ "ociVersion", "\"1.0\"", "spec: ociVersion: \"1.0\" is not a SemVer version" },
		{ "ociVersion", "\"01.0.0\"", "is not a SemVer version" },
		{ "ociVersion", "\"1.0.2-\"", "is not a SemVer version" },
		{ "root", NULL, "spec: root: missing" },
		{ "root", "\"rootfs\"", "spec: root: must be an object" },
		{ "root.path", NULL, "spec: root.path: missing" },
		{ "root.path", "\"\"", "spec: root.path: empty" },
		{ "root.path", "\"..\"", "spec: root.path: \"..\" must not have a \"..\" component" },
		{ "root.path", "\"rootfs/../../etc\"", "spec: root.path: \"rootfs/../../etc\" must not" },
		{ "root.path", "\"/a/b/..\"", "must not have a \"..\" component" },
		{ "root.readonly", "\"yes\"", "spec: root.readonly: must be true or false" },
		{ "process", NULL, "spec: process: missing" },
		{ "process.args", NULL, "spec: process.args: must be a non-empty array of strings" },
		{ "process.args", "[]", "spec: process.args: must be a non-empty array of strings" },
		{ "process.args", "[\"sh\", 1]", "spec: process.args: must be a non-empty array of strings" },
		{ "process.args", "\"sh\"", "spec: process.args: must be a non-empty array of strings" },
		{ "process.args", "[\"\"]", "spec: process.args[0]: the executable is empty" },
		{ "process.cwd", NULL, "spec: process.cwd: missing" },
		{ "process.cwd", "\"tmp\"", "spec: process.cwd: \"tmp\" must be an absolute path" },
		{ "process.env", "[\"PATH\"]", "spec: process.env[0]: \"PATH\" is not KEY=value" },
		{ "process.env", "[\"A=1\", null]", "spec: process.env: must be an array of strings" },
		{ "process.terminal", "1", "spec: process.terminal: must be true or false" },
		{ "process.user", "{\"uid\": -1, \"gid\": 0}", "spec: process.user.uid: must be an id" },
		{ "process.user", "{\"uid\": 4294967295, \"gid\": 0}", "spec: process.user.uid: must be an id" },
		{ "process.user", "{\"uid\": \"0\", \"gid\": 0}", "spec: process.user.uid: must be an id" },
		{ "process.user", "{\"uid\": 0}", "spec: process.user.gid: missing" },
		{ "process.user", "{\"uid\": 0, \"gid\": 0, \"additionalGids\": [1, -2]}",
		  "spec: process.user.additionalGids: must be an array of ids" },
		{ "process.user", "{\"uid\": 0, \"gid\": 0, \"umask\": 4096}", "spec: process.user.umask: must be 0 .. 0777" },
		{ "process.user", "[0, 0]", "spec: process.user: must be an object" },
		{ "process.capabilities", "{\"bounding\": [\"CAP_KILL\", \"CAP_FOO\"]}",
		  "spec: process.capabilities.bounding[1]: unknown capability \"CAP_FOO\"" },
		{ "process.capabilities", "{\"ambient\": [\"KILL\"]}",
		  "spec: process.capabilities.ambient[0]: unknown capability \"KILL\"" },
		{ "process.capabilities", "{\"effective\": \"CAP_KILL\"}",
		  "spec: process.capabilities.effective: must be an array of capability names" },
		{ "process.capabilities", "[\"CAP_KILL\"]", "spec: process.capabilities: must be an object" },
		{ "process.rlimits", "[{\"type\": \"RLIMIT_FOO\", \"hard\": 1, \"soft\": 1}]",
		  "spec: process.rlimits[0]: unknown type \"RLIMIT_FOO\"" },
		{ "process.rlimits", "[{\"type\": \"RLIMIT_CORE\", \"hard\": 1, \"soft\": 2}]",
		  "spec: process.rlimits[0]: soft is above hard" },
		{ "process.rlimits", "[{\"type\": \"RLIMIT_CORE\", \"hard\": 1}]", "spec: process.rlimits[0].soft: missing" },
		{ "process.rlimits", "[{\"type\": \"RLIMIT_CORE\", \"hard\": -1, \"soft\": -1}]",
		  "spec: process.rlimits[0].soft: must be an integer >= 0" },
		{ "process.rlimits",
		  "[{\"type\": \"RLIMIT_CORE\", \"hard\": 1, \"soft\": 1}, {\"type\": \"RLIMIT_CORE\", \"hard\": 1, \"soft\": 1}]",
		  "spec: process.rlimits[1]: RLIMIT_CORE is set twice" },
		{ "process.oomScoreAdj", "5000", "spec: process.oomScoreAdj: must be -1000 .. 1000" },
		{ "process.consoleSize", "{\"height\": 10}", "spec: process.consoleSize.width: missing" },
		{ "hostname", "7", "spec: hostname: must be a string" },
		{ "hostname", "\"0123456789012345678901234567890123456789012345678901234567890123456789\"",
		  "spec: hostname: longer than 64 bytes" },
		{ "mounts", "{}", "spec: mounts: must be an array" },
		{ "mounts", "[{\"destination\": \"/proc\"}, {\"destination\": \"proc\"}]",
		  "spec: mounts[1].destination: \"proc\" must be an absolute path" },
		{ "mounts", "[{\"destination\": \"/a/../../etc\"}]",
		  "spec: mounts[0].destination: \"/a/../../etc\" must not have a \"..\" component" },
		{ "mounts", "[{\"type\": \"tmpfs\"}]", "spec: mounts[0].destination: missing" },
		{ "mounts", "[{\"destination\": \"/x\", \"options\": [\"bind\"]}]",
		  "spec: mounts[0].source: a bind mount needs a source" },
		{ "mounts", "[{\"destination\": \"/x\", \"type\": 1}]", "spec: mounts[0].type: must be a string" },
		{ "mounts", "[\"/x\"]", "spec: mounts[0]: must be an object" },
		{ "annotations", "{\"a\": 1}", "spec: annotations: must be an object of strings" },
		{ "hooks", "{\"prestart\": {}}", "spec: hooks.prestart: must be an array" },
		{ "hooks", "[]", "spec: hooks: must be an object" },
		{ "linux", "[]", "spec: linux: must be an object" },
		{ "linux", NULL, "spec: linux.namespaces: ember needs a mount namespace" },
		{ "linux.namespaces", "[{\"type\": \"pid\"}]", "spec: linux.namespaces: ember needs a mount namespace" },
		{ "linux.namespaces", "[{\"type\": \"mount\"}, {\"type\": \"bogus\"}]",
		  "spec: linux.namespaces[1]: unknown type \"bogus\"" },
		{ "linux.namespaces", "[{\"type\": \"mount\"}, {\"type\": \"mount\"}]",
		  "spec: linux.namespaces[1]: mount is listed twice" },
		{ "linux.namespaces", "[{\"type\": \"mount\", \"path\": \"ns/mnt\"}]",
		  "spec: linux.namespaces[0]: path \"ns/mnt\" must be an absolute path" },
		{ "linux.namespaces", "[{\"path\": \"/proc/1/ns/mnt\"}]", "spec: linux.namespaces[0].type: missing" },
		{ "linux.namespaces", "[{\"type\": \"mount\"}, {\"type\": \"user\"}]", "spec: hostname: needs a uts namespace" },
		{ "linux.maskedPaths", "[\"proc/kcore\"]", "spec: linux.maskedPaths: must be an array of absolute paths" },
		{ "linux.readonlyPaths", "[\"/proc/../etc\"]", "spec: linux.readonlyPaths: must be an array of absolute paths" },
		{ "linux.resources", "{\"pids\": {}}", "spec: linux.resources.pids.limit: missing" },
		{ "linux.resources", "{\"memory\": {\"limit\": \"1g\"}}", "spec: linux.resources.memory.limit: must be an integer" },
		{ "linux.resources", "{\"cpu\": {\"period\": -5}}", "spec: linux.resources.cpu.period: must be an integer >= 0" },
		{ "linux.resources", "{\"devices\": [{\"access\": \"rwm\"}]}", "spec: linux.resources.devices[0].allow: missing" },
		{ "linux.uidMappings", "[{\"containerID\": 0, \"hostID\": 1}]", "spec: linux.uidMappings[0].size: missing" },
		{ "linux.uidMappings", NULL, "spec: linux.uidMappings: a new user namespace needs one" },
		{ "linux.gidMappings", "[]", "spec: linux.gidMappings: a new user namespace needs one" },
		{ "linux.gidMappings", "[{\"containerID\": 0, \"hostID\": 1, \"size\": 0}]",
		  "spec: linux.gidMappings[0]: the range is empty or passes 2^32-1" },
		{ "linux.uidMappings", "[{\"containerID\": 4294967295, \"hostID\": 1, \"size\": 2}]",
		  "spec: linux.uidMappings[0]: the range is empty or passes 2^32-1" },
		{ "linux.namespaces", "[{\"type\": \"mount\"}, {\"type\": \"uts\"}]",
		  "spec: linux.uidMappings: only with a new user namespace" },
		{ "linux.gidMappings", NULL, "spec: linux.gidMappings: a new user namespace needs one" },
		{ "linux.sysctl", "{\"net.ipv4.ip_forward\": 1}", "spec: linux.sysctl: must be an object of strings" },
		{ "linux.seccomp", "{\"syscalls\": []}", "spec: linux.seccomp.defaultAction: missing" },
		{ "linux.devices", "[{\"path\": \"dev/null\", \"type\": \"c\"}]", "spec: linux.devices[0].path: must be an absolute path" },
		{ "linux.cgroupsPath", "[]", "spec: linux.cgroupsPath: must be a string" },
		{ "linux.personality", "{}", "spec: linux.personality.domain: missing" },
		{ "linux.personality", "{\"domain\": \"SVR4\"}", "spec: linux.personality.domain: unknown domain \"SVR4\"" },
		{ "linux.timeOffsets", "{\"boottime\": {\"secs\": 1}}",
		  "spec: linux.timeOffsets: only with a new time namespace" },
		{ "process.ioPriority", "{\"class\": \"IOPRIO_CLASS_X\"}",
		  "spec: process.ioPriority.class: unknown class \"IOPRIO_CLASS_X\"" },
		{ "process.ioPriority", "{\"class\": \"IOPRIO_CLASS_BE\", \"priority\": 8}",
		  "spec: process.ioPriority.priority: must be 0 .. 7" },
		{ "domainname", "7", "spec: domainname: must be a string" },
		{ "linux.sysctl", "{\"kernel.shmmni\": \"1\"}",
		  "spec: linux.sysctl[\"kernel.shmmni\"]: needs the container's own ipc namespace" },
		{ "linux.sysctl", "{\"net/../x\": \"1\"}", "not a sysctl name" },
		{ "linux.rootfsPropagation", "\"sideways\"", "spec: linux.rootfsPropagation: unknown propagation \"sideways\"" },
		{ "linux.devices", "[{\"path\": \"/dev/x\", \"type\": \"q\"}]", "spec: linux.devices[0]: type \"q\"" },
		{ "linux.devices", "[{\"path\": \"/dev/x\", \"type\": \"c\", \"major\": 1}]",
		  "spec: linux.devices[0]: a character device needs major" },
		{ "mounts", "[{\"destination\": \"/x\", \"type\": \"bind\", \"source\": \"/y\", \"options\": [\"rbind\"],"
			    " \"uidMappings\": [{\"containerID\": 0, \"hostID\": 1, \"size\": 1}]}]",
		  "spec: mounts[0].uidMappings: an idmapped mount needs gidMappings too" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		spec = edited(bad[i].path, bad[i].value);
		memset(&e, 0, sizeof(e));
		int r = runtime_spec_check(spec, &e);
		if (r == 0)
			fail_msg("%s = %s: passed, want \"%s\"", bad[i].path, bad[i].value ? bad[i].value : "(deleted)",
				 bad[i].needle);
		assert_int_equal(r, -EINVAL);
		assert_string_equal(e.name, EMBER_ERROR_INVALID_ARGUMENT);
		assert_msg_contains(&e, bad[i].needle);
		json_decref(spec);
	}

	/* Fields ember knows and does not do: ENOTSUP, naming them. */
	static const struct {
		const char *path, *value, *needle;
	} refused[] = {
		{ "linux.intelRdt", "{}", "spec: linux.intelRdt: not supported by ember" },
		{ "linux.memoryPolicy", "{\"mode\": \"MPOL_BIND\"}", "spec: linux.memoryPolicy: not supported by ember" },
		{ "linux.netDevices", "{}", "spec: linux.netDevices: not supported by ember" },
		{ "process.scheduler", "{\"policy\": \"SCHED_IDLE\"}", "spec: process.scheduler: not supported by ember" },
		{ "process.apparmorProfile", "\"docker-default\"", "spec: process.apparmorProfile: ember applies no AppArmor" },
		{ "linux.mountLabel", "\"x\"", "spec: linux.mountLabel: ember sets no SELinux label" },
		{ "linux.personality", "{\"domain\": \"LINUX\", \"flags\": [\"X\"]}",
		  "spec: linux.personality.flags: \"X\" is not supported by ember" },
		{ "linux.sysctl", "{\"vm.swappiness\": \"1\"}", "spec: linux.sysctl[\"vm.swappiness\"]: not in a namespace" },
		{ "linux.seccomp", "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"listenerPath\": \"/a\"}",
		  "spec: linux.seccomp.listenerPath: ember runs no seccomp agent" },
		{ "mounts", "[{\"destination\": \"/x\", \"type\": \"bind\", \"source\": \"/y\", \"options\": [\"mode=1\"]}]",
		  "spec: mounts[0].options: \"mode=1\": a bind mount takes no file system options" },
		{ "mounts", "[{\"destination\": \"/x\", \"type\": \"tmpfs\", \"options\": [\"tmpcopyup\"]}]",
		  "spec: mounts[0].options: \"tmpcopyup\" is not supported by ember" },
		{ "mounts", "[{\"destination\": \"/x\", \"type\": \"bind\", \"source\": \"/y\", \"options\": [\"idmap\"]}]",
		  "spec: mounts[0].options: idmap without the mount's uidMappings" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(refused); i++) {
		spec = edited(refused[i].path, refused[i].value);
		int r = runtime_spec_check(spec, &e);
		if (r != -ENOTSUP)
			fail_msg("%s = %s: %d, want ENOTSUP \"%s\"", refused[i].path, refused[i].value, r, refused[i].needle);
		assert_msg_contains(&e, refused[i].needle);
		json_decref(spec);
	}

	/* The 1.1 fields ember does. */
	static const char *const good[][2] = {
		{ "linux.personality", "{\"domain\": \"LINUX32\", \"flags\": []}" },
		{ "domainname", "\"example.org\"" },
		{ "process.ioPriority", "{\"class\": \"IOPRIO_CLASS_IDLE\"}" },
		{ "linux.rootfsPropagation", "\"runbindable\"" },
		{ "linux.sysctl", "{\"net.ipv4.ip_forward\": \"1\", \"kernel.domainname\": \"x\"}" },
		{ "linux.devices", "[{\"path\": \"/dev/x\", \"type\": \"c\", \"major\": 1, \"minor\": 3, \"fileMode\": 438},"
				   " {\"path\": \"/dev/p\", \"type\": \"p\"}]" },
		{ "mounts", "[{\"destination\": \"/x\", \"type\": \"bind\", \"source\": \"/y\", \"options\": [\"rbind\", \"ridmap\","
			    " \"rro\", \"rnoatime\", \"nosymfollow\"], \"uidMappings\": [{\"containerID\": 0, \"hostID\": 1, \"size\": 1}],"
			    " \"gidMappings\": [{\"containerID\": 0, \"hostID\": 1, \"size\": 1}]}]" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(good); i++) {
		spec = edited(good[i][0], good[i][1]);
		if (runtime_spec_check(spec, &e) < 0)
			fail_msg("%s = %s: %s", good[i][0], good[i][1], e.message);
		json_decref(spec);
	}
	/* A user namespace joined by path: with its maps (compared when it is
	   joined) or none, not one of them; a new one with others joined. */
	spec = edited("linux.namespaces", "[{\"type\": \"mount\"}, {\"type\": \"uts\"}, {\"type\": \"user\", \"path\": \"/proc/9/ns/user\"}]");
	if (runtime_spec_check(spec, &e) < 0)
		fail_msg("joined user namespace with maps: %s", e.message);
	assert_int_equal(json_object_del(jget(spec, "linux"), "gidMappings"), 0);
	assert_int_equal(runtime_spec_check(spec, &e), -EINVAL);
	assert_msg_contains(&e, "spec: linux.namespaces: a user namespace joined by path takes both maps (its own) or neither");
	assert_int_equal(json_object_del(jget(spec, "linux"), "uidMappings"), 0);
	if (runtime_spec_check(spec, &e) < 0)
		fail_msg("joined user namespace without maps: %s", e.message);
	json_decref(spec);
	spec = edited("linux.namespaces", "[{\"type\": \"mount\"}, {\"type\": \"uts\"}, {\"type\": \"user\"}, {\"type\": \"network\", \"path\": \"/run/netns/x\"}]");
	if (runtime_spec_check(spec, &e) < 0)
		fail_msg("new user namespace, network joined: %s", e.message);
	json_decref(spec);

	/* A time namespace with its offsets. */
	spec = edited("linux.timeOffsets", "{\"monotonic\": {\"secs\": -5, \"nanosecs\": 7}, \"boottime\": {\"secs\": 9}}");
	assert_int_equal(json_array_append_new(jget(spec, "linux.namespaces"), J("{\"type\": \"time\"}")), 0);
	if (runtime_spec_check(spec, &e) < 0)
		fail_msg("time namespace: %s", e.message);
	assert_int_equal(json_object_set_new(jget(spec, "linux.timeOffsets"), "realtime", J("{}")), 0);
	assert_int_equal(runtime_spec_check(spec, &e), -EINVAL);
	assert_msg_contains(&e, "spec: linux.timeOffsets: unknown clock \"realtime\"");
	json_decref(spec);

	/* Hooks: ENOTSUP, unless there are none. */
	spec = edited("hooks", "{\"prestart\": [{\"path\": \"/bin/true\"}]}");
	assert_int_equal(runtime_spec_check(spec, &e), -ENOTSUP);
	assert_msg_contains(&e, "spec: hooks.prestart: ember does not run hooks");
	json_decref(spec);
	spec = edited("hooks", "{\"prestart\": [], \"poststop\": []}");
	assert_int_equal(runtime_spec_check(spec, &e), 0);
	json_decref(spec);

	/* Optional parts may go; a hostname needs no uts namespace when empty. */
	static const char *const optional[] = { "mounts", "annotations", "process.user", "process.env",
						"process.capabilities", "process.rlimits", "hostname", "root.readonly" };
	for (size_t i = 0; i < ARRAY_SIZE(optional); i++) {
		spec = edited(optional[i], NULL);
		if (runtime_spec_check(spec, &e) < 0)
			fail_msg("without %s: %s", optional[i], e.message);
		json_decref(spec);
	}
	spec = edited("ociVersion", "\"1.1.0-rc.1+dev\"");
	assert_int_equal(runtime_spec_check(spec, &e), 0);
	json_decref(spec);

	spec = J("[]");
	assert_int_equal(runtime_spec_check(spec, &e), -EINVAL);
	assert_string_equal(e.message, "spec: must be a JSON object");
	json_decref(spec);
	assert_int_equal(runtime_spec_check(NULL, &e), -EINVAL);
}

/* ---- runtime_user_resolve ---- */

static const char passwd[] =
	"root:x:0:0:root:/root:/bin/sh\n"
	"# a comment:x:5:5\n"
	"+nis:x:7:7::/:\n"
	"daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n"
	"broken:x:notanumber:1::/:\n"
	"short:x:9\n"
	"app:x:1000:1000:App,,,:/home/app:/bin/sh\n"
	"bob:x:1001:1001::/home/bob:/bin/sh\r\n"
	"app:x:2000:2000:a second app is ignored:/:\n";

static const char group[] =
	"root:x:0:\n"
	"wheel:x:10:root,app\n"
	"staff:x:50:bob,app\n"
	"video:x:44:app\n"
	"app:x:1000:\n"
	"bob:x:1001:\n"
	"apps:x:1002:application,ap,app2\n"
	"dup:x:50:app\n"
	"crlf:x:60:bob\r\n";

struct rootfs {
	char *dir;
	int fd;
};

static void rootfs_make(struct rootfs *r, const char *pw, const char *gr)
{
	r->dir = unit_mkdtemp();
	r->fd = open(r->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(r->fd >= 0);
	if (pw || gr)
		assert_int_equal(mkdirat(r->fd, "etc", 0755), 0);
	if (pw)
		unit_write(r->fd, "etc/passwd", pw);
	if (gr)
		unit_write(r->fd, "etc/group", gr);
}

static void rootfs_done(struct rootfs *r)
{
	close(r->fd);
	unit_rmdir(r->dir);
}

static void expect_user(int fd, const char *user, uid_t want_uid, gid_t want_gid, const char *want_groups)
{
	struct ember_error e;
	gid_t groups[RUNTIME_GROUPS_MAX];
	size_t n = ARRAY_SIZE(groups);
	uid_t uid = 12345;
	gid_t gid = 12345;
	char got[256] = "";

	if (runtime_user_resolve(fd, user, &uid, &gid, groups, &n, &e) < 0)
		fail_msg("%s: %s", user, e.message);
	assert_int_equal(uid, want_uid);
	assert_int_equal(gid, want_gid);
	for (size_t i = 0; i < n; i++)
		snprintf(got + strlen(got), sizeof(got) - strlen(got), "%s%u", i ? "," : "", (unsigned)groups[i]);
	assert_string_equal(got, want_groups);
}

static int expect_user_fails(int fd, const char *user, const char *needle)
{
	struct ember_error e = { 0 };
	gid_t groups[2];
	size_t n = ARRAY_SIZE(groups);
	uid_t uid;
	gid_t gid;

	int r = runtime_user_resolve(fd, user, &uid, &gid, groups, &n, &e);
	if (r == 0)
		fail_msg("%s resolved to %u:%u", user, (unsigned)uid, (unsigned)gid);
	assert_int_equal(r, -e.code);
	assert_msg_contains(&e, needle);
	return r;
}

static void user_cases(void)
{
	struct rootfs rf;

	rootfs_make(&rf, passwd, group);
	expect_user(rf.fd, "app", 1000, 1000, "10,50,44");
	expect_user(rf.fd, "1000", 1000, 1000, "10,50,44");
	expect_user(rf.fd, "root", 0, 0, "10");
	expect_user(rf.fd, "0", 0, 0, "10");
	expect_user(rf.fd, "bob", 1001, 1001, "50,60"); /* CRLF lines */
	expect_user(rf.fd, "daemon", 1, 1, "");
	expect_user(rf.fd, "app:staff", 1000, 50, "");
	expect_user(rf.fd, "app:7", 1000, 7, "");
	expect_user(rf.fd, "4242", 4242, 0, "");
	expect_user(rf.fd, "4242:video", 4242, 44, "");
	expect_user(rf.fd, "1000:1000", 1000, 1000, "");
	assert_int_equal(expect_user_fails(rf.fd, "nobody", "user \"nobody\": not found in /etc/passwd"), -ENOENT);
	assert_int_equal(expect_user_fails(rf.fd, "app:nogroup", "group \"nogroup\": not found in /etc/group"), -ENOENT);
	expect_user_fails(rf.fd, "broken", "user \"broken\": not found");
	expect_user_fails(rf.fd, "short", "user \"short\": not found");
	expect_user_fails(rf.fd, "+nis", "user \"+nis\": not found");
	expect_user_fails(rf.fd, "a b", "user \"a b\": want user");
	expect_user_fails(rf.fd, "ap", "user \"ap\": not found"); /* no prefix matches */
	/* Too many groups for the room given. */
	assert_int_equal(expect_user_fails(rf.fd, "app", "user \"app\": in more than"), -E2BIG);
	rootfs_done(&rf);

	/* No /etc at all: numbers work, names do not. */
	rootfs_make(&rf, NULL, NULL);
	expect_user(rf.fd, "1000", 1000, 0, "");
	expect_user(rf.fd, "0:0", 0, 0, "");
	expect_user(rf.fd, "5:6", 5, 6, "");
	assert_int_equal(expect_user_fails(rf.fd, "app", "user \"app\": no /etc/passwd in the image"), -ENOENT);
	expect_user_fails(rf.fd, "5:staff", "user \"5:staff\": no /etc/group in the image");
	rootfs_done(&rf);

	/* /etc a regular file: as good as missing. */
	rootfs_make(&rf, NULL, NULL);
	unit_write(rf.fd, "etc", "not a directory\n");
	expect_user(rf.fd, "1000", 1000, 0, "");
	expect_user_fails(rf.fd, "app", "user \"app\": no /etc/passwd in the image");
	rootfs_done(&rf);

	/* passwd without group. */
	rootfs_make(&rf, passwd, NULL);
	expect_user(rf.fd, "app", 1000, 1000, "");
	expect_user_fails(rf.fd, "app:staff", "no /etc/group in the image");
	rootfs_done(&rf);

	/* Not regular files: a directory, a FIFO (must not block). */
	rootfs_make(&rf, NULL, group);
	assert_int_equal(mkdirat(rf.fd, "etc/passwd", 0755), 0);
	expect_user_fails(rf.fd, "app", "/etc/passwd in the image is not a regular file");
	expect_user_fails(rf.fd, "1000", "/etc/passwd in the image is not a regular file");
	assert_int_equal(unlinkat(rf.fd, "etc/passwd", AT_REMOVEDIR), 0);
	assert_int_equal(mkfifoat(rf.fd, "etc/passwd", 0644), 0);
	expect_user_fails(rf.fd, "app", "/etc/passwd in the image is not a regular file");
	rootfs_done(&rf);
}

static void test_user_resolve(void **state)
{
	(void)state;
	runtime_user_force_walk = 0;
	user_cases();
	runtime_user_force_walk = 1;
	user_cases();
	runtime_user_force_walk = 0;
}

static void test_user_resolve_symlinks(void **state)
{
	(void)state;
	struct rootfs rf, outside;

	/* A passwd outside the rootfs that would make "app" root. */
	rootfs_make(&outside, "app:x:0:0::/:\nother:x:1000:4321::/:\n", "staff:x:0:app,other\n");
	char target[4200];
	snprintf(target, sizeof(target), "%s/etc/passwd", outside.dir);

	/* Under qemu-user (check-cross) openat2 is ENOSYS: the walk runs then. */
	struct open_how how = { .flags = O_PATH };
	long probe = syscall(SYS_openat2, AT_FDCWD, ".", &how, sizeof(how));
	int have_openat2 = probe >= 0;
	if (have_openat2)
		close((int)probe);
	for (int forced = 0; forced <= 1; forced++) {
		int walk = forced || !have_openat2;
		runtime_user_force_walk = forced;
		rootfs_make(&rf, NULL, NULL);
		assert_int_equal(mkdirat(rf.fd, "etc", 0755), 0);

		/* Absolute symlink to the host's file. */
		assert_int_equal(symlinkat(target, rf.fd, "etc/passwd"), 0);
		expect_user_fails(rf.fd, "app", walk ? "is a symbolic link" : "no /etc/passwd in the image");
		if (walk)
			expect_user_fails(rf.fd, "1000", "is a symbolic link");
		else
			expect_user(rf.fd, "1000", 1000, 0, ""); /* not the outside's 4321 */
		assert_int_equal(unlinkat(rf.fd, "etc/passwd", 0), 0);

		/* Relative symlink climbing out. */
		char up[4300];
		snprintf(up, sizeof(up), "../../../../../../../../..%s", target);
		assert_int_equal(symlinkat(up, rf.fd, "etc/passwd"), 0);
		expect_user_fails(rf.fd, "app", walk ? "is a symbolic link" : "no /etc/passwd in the image");
		assert_int_equal(unlinkat(rf.fd, "etc/passwd", 0), 0);

		/* /etc itself a symlink to the outside /etc. */
		assert_int_equal(unlinkat(rf.fd, "etc", AT_REMOVEDIR), 0);
		snprintf(up, sizeof(up), "%s/etc", outside.dir);
		assert_int_equal(symlinkat(up, rf.fd, "etc"), 0);
		expect_user_fails(rf.fd, "app", walk ? "is a symbolic link" : "no /etc/passwd in the image");
		assert_int_equal(unlinkat(rf.fd, "etc", 0), 0);

		/* A symlink inside the rootfs resolves as in the container
		   (openat2 only: the walk follows none). */
		assert_int_equal(mkdirat(rf.fd, "etc", 0755), 0);
		unit_write(rf.fd, "etc/passwd.real", passwd);
		assert_int_equal(symlinkat("/etc/passwd.real", rf.fd, "etc/passwd"), 0);
		if (walk)
			expect_user_fails(rf.fd, "app", "is a symbolic link");
		else
			expect_user(rf.fd, "app", 1000, 1000, "");
		rootfs_done(&rf);
	}
	runtime_user_force_walk = 0;
	rootfs_done(&outside);
}

static void test_user_resolve_sizes(void **state)
{
	(void)state;
	struct rootfs rf;

	/* A 300 KiB line before the entry, and one after. */
	size_t junk = 300 << 10;
	char *pw = malloc(2 * junk + 256);
	memset(pw, 'x', junk);
	strcpy(pw + junk, ":x:1:1::/:\napp:x:1000:1000::/:\n");
	size_t len = strlen(pw);
	memset(pw + len, ':', junk);
	strcpy(pw + len + junk, "\n");
	rootfs_make(&rf, pw, "big:x:77:" "app\n");
	expect_user(rf.fd, "app", 1000, 1000, "77");
	rootfs_done(&rf);
	free(pw);

	/* More than RUNTIME_ETC_FILE_MAX: refused, whatever it holds. */
	size_t n = RUNTIME_ETC_FILE_MAX + 10;
	pw = malloc(n + 1);
	strcpy(pw, "app:x:1000:1000::/:\n");
	memset(pw + strlen(pw), '#', n - strlen(pw));
	pw[n] = '\0';
	rootfs_make(&rf, pw, group);
	expect_user_fails(rf.fd, "app", "/etc/passwd in the image is larger than 1024 KiB");
	rootfs_done(&rf);
	free(pw);

	/* Exactly the limit is fine. */
	n = RUNTIME_ETC_FILE_MAX;
	pw = malloc(n + 1);
	strcpy(pw, "app:x:1000:1000::/:\n");
	memset(pw + strlen(pw), '\n', n - strlen(pw));
	pw[n] = '\0';
	rootfs_make(&rf, pw, NULL);
	expect_user(rf.fd, "app", 1000, 1000, "");
	rootfs_done(&rf);
	free(pw);

	/* A NUL byte ends the data. */
	rootfs_make(&rf, NULL, NULL);
	assert_int_equal(mkdirat(rf.fd, "etc", 0755), 0);
	int fd = openat(rf.fd, "etc/passwd", O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	static const char nul[] = "root:x:0:0::/:\n\0app:x:1000:1000::/:\n";
	assert_int_equal(write(fd, nul, sizeof(nul) - 1), (ssize_t)sizeof(nul) - 1);
	close(fd);
	expect_user(rf.fd, "root", 0, 0, "");
	expect_user_fails(rf.fd, "app", "not found");
	rootfs_done(&rf);
}

static void test_spec_resolve_user(void **state)
{
	(void)state;
	struct ember_error e;
	struct rootfs rf;
	struct fixture f;

	rootfs_make(&rf, passwd, group);
	fixture_init(&f, "{\"Cmd\": [\"sh\"], \"User\": \"app\"}");
	json_t *spec = build_ok(&f);
	assert_int_equal(runtime_spec_resolve_user(spec, rf.fd, &e), 0);
	assert_json(jget(spec, "process.user"), "{\"uid\": 1000, \"gid\": 1000, \"additionalGids\": [10, 50, 44]}");
	assert_int_equal(runtime_spec_check(spec, &e), 0);
	json_decref(spec);
	fixture_done(&f);

	/* Nothing to resolve: untouched. */
	fixture_init(&f, "{\"Cmd\": [\"sh\"], \"User\": \"5:5\"}");
	spec = build_ok(&f);
	assert_int_equal(runtime_spec_resolve_user(spec, -1, &e), 0);
	assert_json(jget(spec, "process.user"), "{\"uid\": 5, \"gid\": 5}");
	json_decref(spec);
	fixture_done(&f);

	fixture_init(&f, "{\"Cmd\": [\"sh\"], \"User\": \"ghost\"}");
	spec = build_ok(&f);
	assert_int_equal(runtime_spec_resolve_user(spec, rf.fd, &e), -ENOENT);
	assert_msg_contains(&e, "user \"ghost\": not found in /etc/passwd");
	assert_string_equal(e.name, EMBER_ERROR_NOT_FOUND);
	json_decref(spec);
	fixture_done(&f);
	rootfs_done(&rf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_args),
		cmocka_unit_test(test_no_command),
		cmocka_unit_test(test_env),
		cmocka_unit_test(test_cwd),
		cmocka_unit_test(test_user),
		cmocka_unit_test(test_capabilities),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_idmap),
		cmocka_unit_test(test_privileged),
		cmocka_unit_test(test_hostname_rootfs),
		cmocka_unit_test(test_resources),
		cmocka_unit_test(test_annotations),
		cmocka_unit_test(test_stop_signal),
		cmocka_unit_test(test_signal_parse),
		cmocka_unit_test(test_mount_parse),
		cmocka_unit_test(test_user_mounts),
		cmocka_unit_test(test_spec_check),
		cmocka_unit_test(test_user_resolve),
		cmocka_unit_test(test_user_resolve_symlinks),
		cmocka_unit_test(test_user_resolve_sizes),
		cmocka_unit_test(test_spec_resolve_user),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
