/* SPDX-License-Identifier: Apache-2.0 */
#include "runtime/runtime.h"

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "runtime/runtime-internal.h"
#include "util/err.h"

/* ---- errors ---- */

int rt_oom(struct ember_error *e)
{
	return err_set_name(e, EMBER_ERROR_RESOURCE_EXHAUSTED, ENOMEM, "out of memory");
}

/* ---- paths ---- */

int rt_path_absolute(const char *s)
{
	return s && s[0] == '/';
}

int rt_path_has_dotdot(const char *s)
{
	for (const char *p = s; *p;) {
		size_t n = strcspn(p, "/");
		if (n == 2 && p[0] == '.' && p[1] == '.')
			return 1;
		p += n;
		p += strspn(p, "/");
	}
	return 0;
}

/* ---- capabilities ---- */

/* capabilities(7), by number. */
static const char *const cap_names[RT_CAP_COUNT] = {
	"CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER", "FSETID", "KILL", "SETGID", "SETUID",
	"SETPCAP", "LINUX_IMMUTABLE", "NET_BIND_SERVICE", "NET_BROADCAST", "NET_ADMIN", "NET_RAW",
	"IPC_LOCK", "IPC_OWNER", "SYS_MODULE", "SYS_RAWIO", "SYS_CHROOT", "SYS_PTRACE", "SYS_PACCT",
	"SYS_ADMIN", "SYS_BOOT", "SYS_NICE", "SYS_RESOURCE", "SYS_TIME", "SYS_TTY_CONFIG", "MKNOD",
	"LEASE", "AUDIT_WRITE", "AUDIT_CONTROL", "SETFCAP", "MAC_OVERRIDE", "MAC_ADMIN", "SYSLOG",
	"WAKE_ALARM", "BLOCK_SUSPEND", "AUDIT_READ", "PERFMON", "BPF", "CHECKPOINT_RESTORE",
};

#define CAPB(n) (UINT64_C(1) << (n))
/* Docker's default set: CHOWN DAC_OVERRIDE FOWNER FSETID KILL SETGID
   SETUID SETPCAP NET_BIND_SERVICE NET_RAW SYS_CHROOT MKNOD AUDIT_WRITE
   SETFCAP. */
static const uint64_t cap_default = CAPB(0) | CAPB(1) | CAPB(3) | CAPB(4) | CAPB(5) | CAPB(6) | CAPB(7) |
				    CAPB(8) | CAPB(10) | CAPB(13) | CAPB(18) | CAPB(27) | CAPB(29) | CAPB(31);

uint64_t runtime_cap_mask(json_t *names)
{
	uint64_t set = 0;
	size_t i;
	json_t *x;
	json_array_foreach(names, i, x) {
		int n = rt_cap_lookup(json_string_value(x), 0);
		if (n >= 0)
			set |= UINT64_C(1) << n;
	}
	return set;
}

const char *rt_cap_name(int n)
{
	return n >= 0 && n < RT_CAP_COUNT ? cap_names[n] : NULL;
}

const char *runtime_cap_name(int n)
{
	return rt_cap_name(n);
}

int rt_cap_lookup(const char *s, int exact)
{
	if (exact) {
		if (strncmp(s, "CAP_", 4) != 0)
			return -1;
		s += 4;
	} else if (strncasecmp(s, "CAP_", 4) == 0) {
		s += 4;
	}
	for (int i = 0; i < RT_CAP_COUNT; i++)
		if (exact ? strcmp(s, cap_names[i]) == 0 : strcasecmp(s, cap_names[i]) == 0)
			return i;
	return -1;
}

/* A --cap-add/--cap-drop list: its mask, and whether it says ALL. */
static int cap_list(const char *what, json_t *list, uint64_t *mask, int *all, struct ember_error *e)
{
	char q[RT_QUOTE_MAX];
	size_t i;
	json_t *v;

	*mask = 0;
	*all = 0;
	if (!list)
		return 0;
	if (!json_is_array(list))
		return rt_bad(e, "%s: must be an array of capability names", what);
	json_array_foreach(list, i, v) {
		const char *s = json_string_value(v);
		if (!s)
			return rt_bad(e, "%s[%zu]: must be a capability name", what, i);
		if (strcasecmp(s, "ALL") == 0) {
			*all = 1;
			continue;
		}
		int n = rt_cap_lookup(s, 0);
		if (n < 0)
			return rt_bad(e, "%s: unknown capability \"%s\"", what, rt_quote(s, q));
		*mask |= CAPB(n);
	}
	return 0;
}

static json_t *cap_array(uint64_t mask)
{
	json_t *a = json_array();

	for (int i = 0; a && i < RT_CAP_COUNT; i++) {
		char name[32];
		if (!(mask & CAPB(i)))
			continue;
		snprintf(name, sizeof(name), "CAP_%s", cap_names[i]);
		if (json_array_append_new(a, json_string(name)) < 0) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

/* ---- signals ---- */

#define RT_SIGRTMIN 34 /* glibc's (and Docker's) first real-time signal */

static const struct {
	const char *name;
	int sig;
} signals[] = {
	/* Canonical names first: runtime_signal_name() takes the first. */
	{ "HUP", SIGHUP }, { "INT", SIGINT }, { "QUIT", SIGQUIT }, { "ILL", SIGILL },
	{ "TRAP", SIGTRAP }, { "ABRT", SIGABRT }, { "BUS", SIGBUS }, { "FPE", SIGFPE },
	{ "KILL", SIGKILL }, { "USR1", SIGUSR1 }, { "SEGV", SIGSEGV }, { "USR2", SIGUSR2 },
	{ "PIPE", SIGPIPE }, { "ALRM", SIGALRM }, { "TERM", SIGTERM },
#ifdef SIGSTKFLT
	{ "STKFLT", SIGSTKFLT },
#endif
	{ "CHLD", SIGCHLD }, { "CONT", SIGCONT }, { "STOP", SIGSTOP }, { "TSTP", SIGTSTP },
	{ "TTIN", SIGTTIN }, { "TTOU", SIGTTOU }, { "URG", SIGURG }, { "XCPU", SIGXCPU },
	{ "XFSZ", SIGXFSZ }, { "VTALRM", SIGVTALRM }, { "PROF", SIGPROF }, { "WINCH", SIGWINCH },
	{ "IO", SIGIO },
#ifdef SIGPWR
	{ "PWR", SIGPWR },
#endif
	{ "SYS", SIGSYS },
	/* Aliases. */
	{ "IOT", SIGABRT }, { "CLD", SIGCHLD }, { "POLL", SIGIO },
};

static int rt_sigmax(void)
{
	return SIGRTMAX;
}

/* A decimal number of at most 3 digits, the whole of s; -1 otherwise. */
static int small_number(const char *s)
{
	int n = 0;

	if (!*s || strlen(s) > 3)
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		n = n * 10 + (*s - '0');
	}
	return n;
}

int runtime_signal_parse(const char *s, int *sig, struct ember_error *e)
{
	char q[RT_QUOTE_MAX];
	const char *name = s;
	int n;

	if (!s || !*s)
		return rt_bad(e, "empty signal");
	n = small_number(s);
	if (n >= 0) {
		if (n < 1 || n > rt_sigmax())
			return rt_bad(e, "signal %s is out of range (1 .. %d)", s, rt_sigmax());
		*sig = n;
		return 0;
	}
	if (strncasecmp(name, "SIG", 3) == 0)
		name += 3;
	for (size_t i = 0; i < ARRAY_SIZE(signals); i++) {
		if (strcasecmp(name, signals[i].name) == 0) {
			*sig = signals[i].sig;
			return 0;
		}
	}
	if (strncasecmp(name, "RTMIN", 5) == 0 || strncasecmp(name, "RTMAX", 5) == 0) {
		int max = strncasecmp(name, "RTMAX", 5) == 0;
		const char *off = name + 5;
		n = 0;
		if (*off) {
			if (*off != (max ? '-' : '+') || (n = small_number(off + 1)) < 0)
				return rt_bad(e, "unknown signal \"%s\"", rt_quote(s, q));
		}
		int v = max ? rt_sigmax() - n : RT_SIGRTMIN + n;
		if (v < RT_SIGRTMIN || v > rt_sigmax())
			return rt_bad(e, "signal \"%s\" is out of range", rt_quote(s, q));
		*sig = v;
		return 0;
	}
	return rt_bad(e, "unknown signal \"%s\"", rt_quote(s, q));
}

const char *runtime_signal_name(int sig, char buf[RUNTIME_SIGNAL_NAME_MAX])
{
	for (size_t i = 0; i < ARRAY_SIZE(signals); i++) {
		if (signals[i].sig == sig) {
			snprintf(buf, RUNTIME_SIGNAL_NAME_MAX, "SIG%s", signals[i].name);
			return buf;
		}
	}
	if (sig == RT_SIGRTMIN)
		snprintf(buf, RUNTIME_SIGNAL_NAME_MAX, "SIGRTMIN");
	else if (sig > RT_SIGRTMIN && sig <= rt_sigmax())
		snprintf(buf, RUNTIME_SIGNAL_NAME_MAX, "SIGRTMIN+%d", sig - RT_SIGRTMIN);
	else
		snprintf(buf, RUNTIME_SIGNAL_NAME_MAX, "%d", sig);
	return buf;
}

/* ---- --mount ---- */

#define MOUNT_SPEC_MAX 12288

/* Options both types take, as mount(8) spells them. */
static const char *const mount_flags[] = {
	"ro", "rw", "nosuid", "suid", "nodev", "dev", "noexec", "exec", "noatime", "relatime",
	"strictatime", "nodiratime", "private", "rprivate", "shared", "rshared", "slave", "rslave",
	"unbindable", "runbindable",
};

/* digits, then for sizes one of k m g (or %: size only). */
static int mount_number(const char *s, const char *suffixes)
{
	size_t n = strspn(s, "0123456789");

	if (n == 0 || n > 20)
		return 0;
	if (!s[n])
		return 1;
	return suffixes && s[n + 1] == '\0' && strchr(suffixes, s[n]);
}

static int tmpfs_option(const char *o)
{
	if (strncmp(o, "mode=", 5) == 0) {
		const char *m = o + 5;
		return *m && strlen(m) <= 5 && strspn(m, "01234567") == strlen(m) && strtoul(m, NULL, 8) <= 07777;
	}
	if (strncmp(o, "size=", 5) == 0)
		return mount_number(o + 5, "kKmMgG%");
	if (strncmp(o, "nr_inodes=", 10) == 0)
		return mount_number(o + 10, "kKmMgG");
	if (strncmp(o, "uid=", 4) == 0 || strncmp(o, "gid=", 4) == 0)
		return mount_number(o + 4, NULL) && strtoull(o + 4, NULL, 10) <= 4294967294ULL;
	return 0;
}

static int mount_dst_check(const char *what, const char *dst, struct ember_error *e)
{
	char q[RT_QUOTE_MAX];

	if (!rt_path_absolute(dst))
		return rt_bad(e, "%s \"%s\": must be an absolute path", what, rt_quote(dst, q));
	if (rt_path_has_dotdot(dst))
		return rt_bad(e, "%s \"%s\": must not have a \"..\" component", what, rt_quote(dst, q));
	if (strspn(dst, "/") == strlen(dst))
		return rt_bad(e, "%s \"/\": cannot mount over the container's root", what);
	return 0;
}

struct mount_fields {
	const char *type, *src, *dst, *options;
	int ro;
};

static int mount_fields_parse(char *buf, struct mount_fields *f, struct ember_error *e)
{
	char q[RT_QUOTE_MAX];
	int have_ro = 0;

	for (char *field = buf, *next; field; field = next) {
		next = strchr(field, ',');
		if (next)
			*next++ = '\0';
		if (!*field)
			return rt_bad(e, "mount: empty field (two commas, or a comma at an end)");
		char *value = strchr(field, '=');
		if (value)
			*value++ = '\0';
		const char **slot = NULL;
		if (strcmp(field, "type") == 0)
			slot = &f->type;
		else if (strcmp(field, "src") == 0 || strcmp(field, "source") == 0)
			slot = &f->src;
		else if (strcmp(field, "dst") == 0 || strcmp(field, "destination") == 0 ||
			 strcmp(field, "target") == 0)
			slot = &f->dst;
		else if (strcmp(field, "options") == 0)
			slot = &f->options;
		if (slot) {
			if (*slot)
				return rt_bad(e, "mount: %s given twice", rt_quote(field, q));
			if (!value || !*value)
				return rt_bad(e, "mount: %s: empty value", rt_quote(field, q));
			*slot = value;
			continue;
		}
		if (strcmp(field, "ro") == 0 || strcmp(field, "readonly") == 0) {
			if (have_ro++)
				return rt_bad(e, "mount: %s given twice", field);
			if (!value || strcmp(value, "true") == 0 || strcmp(value, "1") == 0)
				f->ro = 1;
			else if (strcmp(value, "false") != 0 && strcmp(value, "0") != 0)
				return rt_bad(e, "mount: %s=%s: want true or false", field, rt_quote(value, q));
			continue;
		}
		return rt_bad(e, "mount: unknown key \"%s\" (want type, src, dst, options, ro)", rt_quote(field, q));
	}
	return 0;
}

int runtime_mount_parse(const char *spec, json_t **mount, struct ember_error *e)
{
	struct mount_fields f = { 0 };
	char q[RT_QUOTE_MAX];
	int r;

	*mount = NULL;
	if (!spec || !*spec)
		return rt_bad(e, "mount: empty");
	if (strlen(spec) > MOUNT_SPEC_MAX)
		return rt_bad(e, "mount: longer than %d bytes", MOUNT_SPEC_MAX);
	_cleanup_free_ char *buf = strdup(spec);
	if (!buf)
		return rt_oom(e);
	r = mount_fields_parse(buf, &f, e);
	if (r < 0)
		return r;

	if (!f.type)
		return rt_bad(e, "mount: missing type= (bind or tmpfs)");
	int bind = strcmp(f.type, "bind") == 0;
	if (!bind && strcmp(f.type, "tmpfs") != 0)
		return rt_bad(e, "mount: type \"%s\" is not supported (want bind or tmpfs)", rt_quote(f.type, q));
	if (!f.dst)
		return rt_bad(e, "mount: missing dst=");
	r = mount_dst_check("mount: dst", f.dst, e);
	if (r < 0)
		return r;
	if (bind && !f.src)
		return rt_bad(e, "mount: type=bind needs src=");
	if (bind && !rt_path_absolute(f.src))
		return rt_bad(e, "mount: src \"%s\": must be an absolute path", rt_quote(f.src, q));

	_cleanup_json_ json_t *opts = json_array();
	if (!opts)
		return rt_oom(e);
	int ro = f.ro, rw = 0, recursive = 0, plain = 0;
	for (char *o = (char *)f.options, *next; o; o = next) {
		next = strchr(o, ':');
		if (next)
			*next++ = '\0';
		if (!*o)
			return rt_bad(e, "mount: options: empty option (two colons, or a colon at an end)");
		int known = 0;
		for (size_t i = 0; i < ARRAY_SIZE(mount_flags) && !known; i++)
			known = strcmp(o, mount_flags[i]) == 0;
		if (strcmp(o, "bind") == 0 || strcmp(o, "rbind") == 0) {
			if (!bind)
				return rt_bad(e, "mount: options: \"%s\" is only for type=bind", o);
			known = 1;
			recursive |= o[0] == 'r';
			plain |= o[0] == 'b';
		} else if (!known && tmpfs_option(o)) {
			if (bind)
				return rt_bad(e, "mount: options: \"%s\" is only for type=tmpfs", rt_quote(o, q));
			known = 1;
		}
		if (!known)
			return rt_bad(e, "mount: options: unknown option \"%s\"", rt_quote(o, q));
		ro |= strcmp(o, "ro") == 0;
		rw |= strcmp(o, "rw") == 0;
		if (strcmp(o, "ro") == 0)
			continue; /* added once, below */
		if (json_array_append_new(opts, json_string(o)) < 0)
			return rt_oom(e);
	}
	if (ro && rw)
		return rt_bad(e, "mount: options: ro and rw contradict each other");
	if (recursive && plain)
		return rt_bad(e, "mount: options: bind and rbind contradict each other");
	if (bind && !recursive && !plain && json_array_insert_new(opts, 0, json_string("rbind")) < 0)
		return rt_oom(e);
	if (ro && json_array_append_new(opts, json_string("ro")) < 0)
		return rt_oom(e);

	json_t *m = json_pack("{s:s, s:s, s:s, s:O}", "destination", f.dst, "type", f.type, "source",
			      f.src ? f.src : "tmpfs", "options", opts);
	if (!m)
		return rt_oom(e);
	*mount = m;
	return 0;
}

/* ---- building a spec ---- */

#define NOBODY 65534

static int is_string_array(json_t *a)
{
	size_t i;
	json_t *v;

	if (!json_is_array(a))
		return 0;
	json_array_foreach(a, i, v)
		if (!json_is_string(v))
			return 0;
	return 1;
}

/* An image config field: NULL when absent or null, else it must be an
   array of strings (or a string, for type 's'). */
static int image_field(json_t *ic, const char *name, int type, json_t **v, struct ember_error *e)
{
	json_t *f = ic ? json_object_get(ic, name) : NULL;

	*v = NULL;
	if (!f || json_is_null(f))
		return 0;
	if (type == 's' ? !json_is_string(f) : !is_string_array(f))
		return rt_bad(e, "image config: %s: must be %s", name, type == 's' ? "a string" : "an array of strings");
	*v = f;
	return 0;
}

static int append_all(json_t *to, json_t *from)
{
	size_t i;
	json_t *v;

	json_array_foreach(from, i, v)
		if (json_array_append(to, v) < 0)
			return -1;
	return 0;
}

static int build_args(const struct runtime_spec_options *o, json_t *ic, json_t **out, struct ember_error *e)
{
	json_t *entrypoint, *cmd;
	int r;

	if ((r = image_field(ic, "Entrypoint", 'a', &entrypoint, e)) < 0 ||
	    (r = image_field(ic, "Cmd", 'a', &cmd, e)) < 0)
		return r;
	if (o->entrypoint) {
		if (!is_string_array(o->entrypoint))
			return rt_bad(e, "entrypoint: must be an array of strings");
		entrypoint = o->entrypoint;
		cmd = NULL; /* as Docker: a new entrypoint drops the image's Cmd */
	}
	if (o->args) {
		if (!is_string_array(o->args))
			return rt_bad(e, "args: must be an array of strings");
		if (json_array_size(o->args) > 0)
			cmd = o->args;
	}
	_cleanup_json_ json_t *args = json_array();
	if (!args || (entrypoint && append_all(args, entrypoint) < 0) || (cmd && append_all(args, cmd) < 0))
		return rt_oom(e);
	if (json_array_size(args) == 0)
		return rt_bad(e, "no command: the image has neither Entrypoint nor Cmd and none was given");
	if (!*json_string_value(json_array_get(args, 0)))
		return rt_bad(e, "no command: the executable (the first argument) is empty");
	*out = TAKE_PTR(args);
	return 0;
}

/* The key of "KEY=value" is s[0 .. n). */
static size_t env_key_len(const char *s)
{
	return strcspn(s, "=");
}

static int env_find(json_t *env, const char *s, size_t n)
{
	size_t i;
	json_t *v;

	json_array_foreach(env, i, v) {
		const char *t = json_string_value(v);
		if (env_key_len(t) == n && strncmp(t, s, n) == 0)
			return (int)i;
	}
	return -1;
}

static int env_entry_check(const char *what, size_t i, json_t *v, struct ember_error *e)
{
	char q[RT_QUOTE_MAX];
	const char *s = json_string_value(v);

	if (!s)
		return rt_bad(e, "%s[%zu]: must be a string", what, i);
	if (!strchr(s, '=') || s[0] == '=')
		return rt_bad(e, "%s: \"%s\" is not KEY=value", what, rt_quote(s, q));
	return 0;
}

/* Sets (replacing the value of the same key) or appends s. */
static int env_set(json_t *env, const char *s)
{
	int at = env_find(env, s, env_key_len(s));

	if (at >= 0)
		return json_array_set_new(env, (size_t)at, json_string(s));
	return json_array_append_new(env, json_string(s));
}

static int build_env(const struct runtime_spec_options *o, json_t *ic, json_t **out, struct ember_error *e)
{
	json_t *image_env, *v;
	size_t i;
	int r;

	if ((r = image_field(ic, "Env", 'a', &image_env, e)) < 0)
		return r;
	_cleanup_json_ json_t *env = json_array();
	if (!env)
		return rt_oom(e);
	if (image_env) {
		json_array_foreach(image_env, i, v) {
			if ((r = env_entry_check("image config: Env", i, v, e)) < 0)
				return r;
			if (env_set(env, json_string_value(v)) < 0)
				return rt_oom(e);
		}
	}
	if (o->env) {
		if (!json_is_array(o->env))
			return rt_bad(e, "env: must be an array of KEY=value strings");
		json_array_foreach(o->env, i, v) {
			if ((r = env_entry_check("env", i, v, e)) < 0)
				return r;
			if (env_set(env, json_string_value(v)) < 0)
				return rt_oom(e);
		}
	}
	if (env_find(env, "PATH", 4) < 0 && json_array_append_new(env, json_string(RUNTIME_DEFAULT_PATH)) < 0)
		return rt_oom(e);
	if (o->terminal && env_find(env, "TERM", 4) < 0 && json_array_append_new(env, json_string("TERM=xterm")) < 0)
		return rt_oom(e);
	*out = TAKE_PTR(env);
	return 0;
}

static int build_cwd(const struct runtime_spec_options *o, json_t *ic, json_t **out, struct ember_error *e)
{
	char q[RT_QUOTE_MAX];
	json_t *wd;
	int r;

	if (o->cwd) {
		if (!rt_path_absolute(o->cwd))
			return rt_bad(e, "cwd \"%s\": must be an absolute path", rt_quote(o->cwd, q));
		*out = json_string(o->cwd);
	} else {
		if ((r = image_field(ic, "WorkingDir", 's', &wd, e)) < 0)
			return r;
		const char *s = wd ? json_string_value(wd) : "";
		if (!*s)
			*out = json_string("/");
		else if (rt_path_absolute(s))
			*out = json_string(s);
		else
			*out = json_sprintf("/%s", s);
	}
	return *out ? 0 : rt_oom(e);
}

/* process.user, and the ember.io/user annotation (*pending) when the ids
   still need /etc/passwd or /etc/group. */
static int build_user(const struct runtime_spec_options *o, json_t *ic, json_t **out, const char **pending,
		      struct ember_error *e)
{
	const char *s = o->user, *what = "user";
	struct rt_user u;
	json_t *iu;
	int r;

	*pending = NULL;
	if (!s || !*s) {
		if ((r = image_field(ic, "User", 's', &iu, e)) < 0)
			return r;
		s = iu ? json_string_value(iu) : NULL;
		what = "image config: User";
	}
	uint32_t uid = 0, gid = 0;
	if (s && *s) {
		if ((r = rt_user_parse(what, s, &u, e)) < 0)
			return r;
		uid = u.user_numeric ? u.uid : NOBODY;
		if (u.group[0])
			gid = u.group_numeric ? u.gid : NOBODY;
		else
			gid = u.user_numeric ? 0 : NOBODY;
		if (!(u.user_numeric && u.group[0] && u.group_numeric))
			*pending = s;
	}
	*out = json_pack("{s:I, s:I}", "uid", (json_int_t)uid, "gid", (json_int_t)gid);
	return *out ? 0 : rt_oom(e);
}

static int hostname_ok(const char *s)
{
	size_t n = strlen(s);

	return n > 0 && n <= RUNTIME_HOSTNAME_MAX &&
	       strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_") == n;
}

static int build_capabilities(const struct runtime_spec_options *o, json_t **out, struct ember_error *e)
{
	uint64_t add, drop, set;
	int add_all, drop_all, r;

	if ((r = cap_list("cap-add", o->cap_add, &add, &add_all, e)) < 0 ||
	    (r = cap_list("cap-drop", o->cap_drop, &drop, &drop_all, e)) < 0)
		return r;
	if (add_all) {
		set = RT_CAP_ALL & ~drop;
	} else {
		uint64_t base = o->privileged ? RT_CAP_ALL : cap_default;
		if (drop_all)
			base = 0;
		set = (base & ~drop) | add;
	}
	*out = json_pack("{s:o, s:o, s:o, s:[], s:[]}", "bounding", cap_array(set), "effective", cap_array(set),
			 "permitted", cap_array(set), "inheritable", "ambient");
	return *out ? 0 : rt_oom(e);
}

static const struct default_mount {
	const char *dst, *type, *src;
	const char *options[7];
	int ro_unless_privileged;
} default_mounts[] = {
	{ "/proc", "proc", "proc", { "nosuid", "noexec", "nodev" }, 0 },
	{ "/dev", "tmpfs", "tmpfs", { "nosuid", "strictatime", "mode=755", "size=65536k" }, 0 },
	{ "/dev/pts", "devpts", "devpts",
	  { "nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5" }, 0 },
	{ "/dev/shm", "tmpfs", "shm", { "nosuid", "noexec", "nodev", "mode=1777", "size=65536k" }, 0 },
	{ "/dev/mqueue", "mqueue", "mqueue", { "nosuid", "noexec", "nodev" }, 0 },
	{ "/sys", "sysfs", "sysfs", { "nosuid", "noexec", "nodev" }, 1 },
	{ "/sys/fs/cgroup", "cgroup", "cgroup", { "nosuid", "noexec", "nodev", "relatime" }, 1 },
};

/* Docker's defaults. */
static const char *const masked_paths[] = {
	"/proc/asound", "/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
	"/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi", "/sys/firmware",
	"/sys/devices/virtual/powercap",
};
static const char *const readonly_paths[] = {
	"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger",
};

static json_t *strings(const char *const *list, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; a && i < n && list[i]; i++) {
		if (json_array_append_new(a, json_string(list[i])) < 0) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

/* Equal paths but for trailing slashes. */
static int same_path(const char *a, const char *b)
{
	size_t na = strlen(a), nb = strlen(b);

	while (na > 1 && a[na - 1] == '/')
		na--;
	while (nb > 1 && b[nb - 1] == '/')
		nb--;
	return na == nb && strncmp(a, b, na) == 0;
}

static int user_mount_at(json_t *mounts, const char *dst)
{
	size_t i;
	json_t *m;

	json_array_foreach(mounts, i, m)
		if (same_path(json_string_value(json_object_get(m, "destination")), dst))
			return 1;
	return 0;
}

static int build_mounts(const struct runtime_spec_options *o, json_t **out, struct ember_error *e)
{
	size_t i;
	json_t *m;
	int r;

	if (o->mounts) {
		char what[48];
		if (!json_is_array(o->mounts))
			return rt_bad(e, "mounts: must be an array of mounts");
		json_array_foreach(o->mounts, i, m) {
			snprintf(what, sizeof(what), "mounts[%zu]", i);
			if ((r = rt_mount_check(what, m, e)) < 0)
				return r;
		}
	}
	_cleanup_json_ json_t *mounts = json_array();
	if (!mounts)
		return rt_oom(e);
	for (i = 0; i < ARRAY_SIZE(default_mounts); i++) {
		const struct default_mount *d = &default_mounts[i];
		if (o->mounts && user_mount_at(o->mounts, d->dst))
			continue;
		json_t *opts = strings(d->options, ARRAY_SIZE(d->options));
		if (opts && d->ro_unless_privileged && !o->privileged && json_array_append_new(opts, json_string("ro")) < 0)
			opts = (json_decref(opts), NULL);
		m = json_pack("{s:s, s:s, s:s, s:o}", "destination", d->dst, "type", d->type, "source", d->src,
			      "options", opts);
		if (json_array_append_new(mounts, m) < 0)
			return rt_oom(e);
	}
	if (o->mounts && append_all(mounts, o->mounts) < 0)
		return rt_oom(e);
	*out = TAKE_PTR(mounts);
	return 0;
}

static int build_resources(const struct runtime_spec_options *o, json_t *lx, struct ember_error *e)
{
	if (o->memory < 0)
		return rt_bad(e, "memory: must not be negative");
	if (o->memory > 0 && o->memory < RUNTIME_MEMORY_MIN)
		return rt_bad(e, "memory: %lld bytes is below the minimum of 6 MiB", (long long)o->memory);
	if (!isfinite(o->cpus) || o->cpus < 0)
		return rt_bad(e, "cpus: must be a number of CPUs, 0.01 or more");
	if (o->cpus > 0 && (o->cpus < 0.01 || o->cpus > 1024))
		return rt_bad(e, "cpus: %g is out of range (0.01 .. 1024)", o->cpus);
	if (o->pids < 0)
		return rt_bad(e, "pids-limit: must not be negative");
	if (!o->memory && !o->cpus && !o->pids && !o->privileged)
		return 0;

	json_t *res = json_object();
	if (json_object_set_new(lx, "resources", res) < 0)
		return rt_oom(e);
	/* Every device, as Docker's --privileged: the device cgroup allows
	   the others only the standard nodes. */
	if (o->privileged &&
	    json_object_set_new(res, "devices", json_pack("[{s:b, s:s}]", "allow", 1, "access", "rwm")) < 0)
		return rt_oom(e);
	if (o->memory && json_object_set_new(res, "memory", json_pack("{s:I}", "limit", (json_int_t)o->memory)) < 0)
		return rt_oom(e);
	if (o->cpus) {
		json_int_t quota = (json_int_t)(o->cpus * RUNTIME_CPU_PERIOD + 0.5); /* > 0: no libm */
		if (json_object_set_new(res, "cpu", json_pack("{s:I, s:I}", "quota", quota, "period",
							      (json_int_t)RUNTIME_CPU_PERIOD)) < 0)
			return rt_oom(e);
	}
	if (o->pids && json_object_set_new(res, "pids", json_pack("{s:I}", "limit", (json_int_t)o->pids)) < 0)
		return rt_oom(e);
	return 0;
}

/* "containerID:hostID:size" strings into a spec's mappings. */
static int build_idmap(const char *what, json_t *list, json_t *lx, const char *key, struct ember_error *e)
{
	char q[RT_QUOTE_MAX];
	size_t i;
	json_t *v;

	if (!json_is_array(list) || !json_array_size(list))
		return rt_bad(e, "%s: give container-id:host-id:size", what);
	json_t *maps = json_array();
	if (!maps || json_object_set_new(lx, key, maps) < 0)
		return rt_oom(e);
	json_array_foreach(list, i, v) {
		const char *s = json_string_value(v);
		unsigned long long f[3];
		char *end = (char *)s;
		int k;
		for (k = 0; s && k < 3; k++) {
			if (*end < '0' || *end > '9')
				break;
			errno = 0;
			f[k] = strtoull(end, &end, 10);
			if (errno || f[k] > UINT32_MAX || *end != (k < 2 ? ':' : '\0'))
				break;
			if (k < 2)
				end++;
		}
		if (k < 3)
			return rt_bad(e, "%s \"%s\": want container-id:host-id:size", what, s ? rt_quote(s, q) : "");
		if (f[2] == 0 || f[0] + f[2] > UINT32_MAX || f[1] + f[2] > UINT32_MAX)
			return rt_bad(e, "%s \"%s\": the range is empty or passes 2^32-1", what, rt_quote(s, q));
		if (json_array_append_new(maps, json_pack("{s:I, s:I, s:I}", "containerID", (json_int_t)f[0], "hostID",
							  (json_int_t)f[1], "size", (json_int_t)f[2])) < 0)
			return rt_oom(e);
	}
	return 0;
}

static int build_linux(const struct runtime_spec_options *o, json_t **out, struct ember_error *e)
{
	static const char *const ns[] = { "pid", "ipc", "uts", "mount", "network", "cgroup" };
	int r;

	_cleanup_json_ json_t *lx = json_object();
	json_t *namespaces = json_array();
	if (!lx || json_object_set_new(lx, "namespaces", namespaces) < 0)
		return rt_oom(e);
	for (size_t i = 0; i < ARRAY_SIZE(ns); i++) {
		if (o->net_host && strcmp(ns[i], "network") == 0)
			continue;
		if (json_array_append_new(namespaces, json_pack("{s:s}", "type", ns[i])) < 0)
			return rt_oom(e);
	}
	if (o->uid_map || o->gid_map) {
		if (json_array_append_new(namespaces, json_pack("{s:s}", "type", "user")) < 0)
			return rt_oom(e);
		/* One alone serves for both; errors name the one given. */
		if ((r = build_idmap(o->uid_map ? "uidmap" : "gidmap", o->uid_map ?: o->gid_map, lx, "uidMappings", e)) < 0 ||
		    (r = build_idmap(o->gid_map ? "gidmap" : "uidmap", o->gid_map ?: o->uid_map, lx, "gidMappings", e)) < 0)
			return r;
	}
	if ((r = build_resources(o, lx, e)) < 0)
		return r;
	if (!o->privileged &&
	    (json_object_set_new(lx, "maskedPaths", strings(masked_paths, ARRAY_SIZE(masked_paths))) < 0 ||
	     json_object_set_new(lx, "readonlyPaths", strings(readonly_paths, ARRAY_SIZE(readonly_paths))) < 0))
		return rt_oom(e);
	*out = TAKE_PTR(lx);
	return 0;
}

static int build_annotations(const struct runtime_spec_options *o, json_t *ic, const char *user,
			     json_t **out, struct ember_error *e)
{
	char q[RT_QUOTE_MAX], name[RUNTIME_SIGNAL_NAME_MAX];
	const char *key;
	json_t *v, *stop;
	int sig = SIGTERM, r;

	_cleanup_json_ json_t *ann = json_object();
	if (!ann)
		return rt_oom(e);
	if (o->labels) {
		if (!json_is_object(o->labels))
			return rt_bad(e, "labels: must be an object of strings");
		json_object_foreach(o->labels, key, v) {
			if (!json_is_string(v))
				return rt_bad(e, "labels: \"%s\": must be a string", rt_quote(key, q));
			if (!*key)
				return rt_bad(e, "labels: empty key");
			if (strncmp(key, RUNTIME_ANN_PREFIX, strlen(RUNTIME_ANN_PREFIX)) == 0)
				return rt_bad(e, "labels: \"%s\": the " RUNTIME_ANN_PREFIX " prefix is ember's",
					      rt_quote(key, q));
			if (json_object_set(ann, key, v) < 0)
				return rt_oom(e);
		}
	}
	if ((r = image_field(ic, "StopSignal", 's', &stop, e)) < 0)
		return r;
	if (stop && (r = runtime_signal_parse(json_string_value(stop), &sig, e)) < 0)
		return err_wrap(e, "image config: StopSignal");
	if (json_object_set_new(ann, RUNTIME_ANN_STOP_SIGNAL, json_string(runtime_signal_name(sig, name))) < 0 ||
	    (user && json_object_set_new(ann, RUNTIME_ANN_USER, json_string(user)) < 0) ||
	    (!o->privileged && json_object_set_new(ann, RUNTIME_ANN_SECCOMP, json_string("default")) < 0))
		return rt_oom(e);
	*out = TAKE_PTR(ann);
	return 0;
}

int runtime_spec_build(const struct runtime_spec_options *o, json_t **out, struct ember_error *e)
{
	char q[RT_QUOTE_MAX], host[RUNTIME_HOSTNAME_MAX + 1];
	json_t *args = NULL, *env = NULL, *cwd = NULL, *user = NULL, *caps = NULL, *mounts = NULL;
	json_t *lx = NULL, *ann = NULL;
	const char *pending = NULL;
	int r;

	*out = NULL;
	if (!o->id || !*o->id)
		return rt_bad(e, "container id: missing");
	if (!o->rootfs || !*o->rootfs)
		return rt_bad(e, "rootfs: missing");
	if (rt_path_has_dotdot(o->rootfs))
		return rt_bad(e, "rootfs \"%s\": must not have a \"..\" component", rt_quote(o->rootfs, q));
	if (o->hostname && !hostname_ok(o->hostname))
		return rt_bad(e, "hostname \"%s\": want 1 .. %d letters, digits, '.', '-' or '_'",
			      rt_quote(o->hostname, q), RUNTIME_HOSTNAME_MAX);
	snprintf(host, sizeof(host), "%s", o->hostname ? o->hostname : o->id);

	json_t *ic = json_is_object(o->image_config) ? o->image_config : NULL;
	if (o->image_config && !ic && !json_is_null(o->image_config))
		return rt_bad(e, "image config: must be an object");

	/* Each part is owned here until json_pack's "o" takes it. */
	if ((r = build_args(o, ic, &args, e)) < 0 || (r = build_env(o, ic, &env, e)) < 0 ||
	    (r = build_cwd(o, ic, &cwd, e)) < 0 || (r = build_user(o, ic, &user, &pending, e)) < 0 ||
	    (r = build_capabilities(o, &caps, e)) < 0 || (r = build_mounts(o, &mounts, e)) < 0 ||
	    (r = build_linux(o, &lx, e)) < 0 || (r = build_annotations(o, ic, pending, &ann, e)) < 0) {
		json_t *parts[] = { args, env, cwd, user, caps, mounts, lx, ann };
		for (size_t i = 0; i < ARRAY_SIZE(parts); i++)
			json_decref(parts[i]);
		return r;
	}

	json_t *spec = json_pack(
		"{s:s, s:{s:b, s:o, s:o, s:o, s:o, s:o, s:[{s:s, s:i, s:i}], s:b}, s:{s:s, s:b}, s:s, s:o, s:o, s:o}",
		"ociVersion", RUNTIME_OCI_VERSION,
		"process", "terminal", (int)o->terminal, "user", user, "args", args, "env", env, "cwd", cwd,
		"capabilities", caps, "rlimits", "type", "RLIMIT_NOFILE", "hard", 1024, "soft", 1024,
		"noNewPrivileges", (int)!o->privileged,
		"root", "path", o->rootfs, "readonly", (int)o->read_only,
		"hostname", host,
		"mounts", mounts, "linux", lx, "annotations", ann);
	if (!spec)
		return rt_oom(e);
	/* Every spec built here is one ember runs: a failure is a bug. */
	if ((r = runtime_spec_check(spec, e)) < 0) {
		json_decref(spec);
		return err_wrap(e, "generated spec");
	}
	*out = spec;
	return 0;
}

int runtime_spec_resolve_user(json_t *spec, int rootfs_fd, struct ember_error *e)
{
	gid_t groups[RUNTIME_GROUPS_MAX];
	size_t n = ARRAY_SIZE(groups);
	uid_t uid;
	gid_t gid;
	int r;

	const char *user = json_string_value(json_object_get(json_object_get(spec, "annotations"), RUNTIME_ANN_USER));
	if (!user)
		return 0;
	json_t *process = json_object_get(spec, "process");
	if (!json_is_object(process))
		return rt_bad(e, "spec: process: must be an object");
	if ((r = runtime_user_resolve(rootfs_fd, user, &uid, &gid, groups, &n, e)) < 0)
		return r;
	json_t *gids = json_array();
	for (size_t i = 0; gids && i < n; i++)
		if (json_array_append_new(gids, json_integer(groups[i])) < 0)
			gids = (json_decref(gids), NULL);
	json_t *u = json_pack("{s:I, s:I, s:o}", "uid", (json_int_t)uid, "gid", (json_int_t)gid, "additionalGids", gids);
	if (!u || json_object_set_new(process, "user", u) < 0)
		return rt_oom(e);
	return 0;
}

int runtime_seccomp_for(json_t *spec, struct runtime_seccomp *sc, int *have, struct ember_error *e)
{
	json_t *ann = json_object_get(spec, "annotations");
	json_t *profile = json_object_get(json_object_get(spec, "linux"), "seccomp");
	const char *want = json_string_value(json_object_get(ann, RUNTIME_ANN_SECCOMP));
	uint64_t caps = runtime_cap_mask(
		json_object_get(json_object_get(json_object_get(spec, "process"), "capabilities"), "effective"));

	*have = 0;
	if (!ENABLED(CONFIG_SECCOMP) || (!profile && !(want && !strcmp(want, "default"))))
		return 0;
	if (runtime_seccomp_compile(profile, 0, caps, sc, e) < 0)
		return err_wrap(e, "seccomp");
	*have = 1;
	return 0;
}
