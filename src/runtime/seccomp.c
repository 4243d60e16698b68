/* SPDX-License-Identifier: Apache-2.0 */
#include "runtime/runtime.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>

#include "runtime/runtime-internal.h"
#include "util/fs.h"

/*
 * The compiler reads a profile (or the built-in default) into a list of
 * rules (syscall number, action, argument conditions), groups them by
 * syscall and writes the program backwards, from its last instruction to
 * its first: every jump's target then already has its place, so a target
 * further away than a conditional jump's 8-bit offset reaches gets a
 * BPF_JA (32-bit offset) trampoline on the spot, with no second pass.
 */

struct rt_syscall {
	const char *name;
	int nr;
};

#include "runtime/syscalls-aarch64.h"
#include "runtime/syscalls-x86_64.h"

#ifndef SECCOMP_RET_KILL_THREAD
#define SECCOMP_RET_KILL_THREAD 0U
#endif
#ifndef SECCOMP_RET_KILL_PROCESS
#define SECCOMP_RET_KILL_PROCESS 0x80000000U
#endif
#ifndef SECCOMP_RET_LOG
#define SECCOMP_RET_LOG 0x7ffc0000U
#endif
#ifndef SECCOMP_FILTER_FLAG_LOG
#define SECCOMP_FILTER_FLAG_LOG (1UL << 1)
#endif
#ifndef SECCOMP_FILTER_FLAG_SPEC_ALLOW
#define SECCOMP_FILTER_FLAG_SPEC_ALLOW (1UL << 2)
#endif

#define X32_SYSCALL_BIT 0x40000000U
#define ERRNO_MAX 4095
#define NAME_MAX_LEN 64
#define PATH_LEN 96

/* struct seccomp_data: int nr; __u32 arch; __u64 ip; __u64 args[6];
   both targets are little-endian, so an argument's low half comes first. */
#define OFF_NR 0
#define OFF_ARCH 4
#define OFF_ARG_LO(i) (16 + 8 * (i))
#define OFF_ARG_HI(i) (20 + 8 * (i))

/* Capability numbers the default profile uses (kernel headers may be older). */
enum {
	C_DAC_READ_SEARCH = 2,
	C_SYS_MODULE = 16,
	C_SYS_RAWIO = 17,
	C_SYS_CHROOT = 18,
	C_SYS_PTRACE = 19,
	C_SYS_PACCT = 20,
	C_SYS_ADMIN = 21,
	C_SYS_BOOT = 22,
	C_SYS_NICE = 23,
	C_SYS_TIME = 25,
	C_SYS_TTY_CONFIG = 26,
	C_SYSLOG = 34,
	C_PERFMON = 38,
	C_BPF = 39,
};

struct arch_info {
	uint32_t audit;
	const char *names[3]; /* libseccomp's, Go's (Docker's includes), uname's */
	const struct rt_syscall *table;
	size_t n;
};

static const struct arch_info arches[] = {
	{ AUDIT_ARCH_X86_64, { "SCMP_ARCH_X86_64", "amd64", "x86_64" }, syscalls_x86_64, ARRAY_SIZE(syscalls_x86_64) },
	{ AUDIT_ARCH_AARCH64, { "SCMP_ARCH_AARCH64", "arm64", "aarch64" }, syscalls_aarch64,
	  ARRAY_SIZE(syscalls_aarch64) },
};

enum op { OP_NE, OP_LT, OP_LE, OP_EQ, OP_GE, OP_GT, OP_MASKED_EQ };

static const char *const op_names[] = {
	[OP_NE] = "SCMP_CMP_NE", [OP_LT] = "SCMP_CMP_LT", [OP_LE] = "SCMP_CMP_LE",
	[OP_EQ] = "SCMP_CMP_EQ", [OP_GE] = "SCMP_CMP_GE", [OP_GT] = "SCMP_CMP_GT",
	[OP_MASKED_EQ] = "SCMP_CMP_MASKED_EQ",
};

struct cond {
	uint8_t index, op;
	uint64_t value, value_two;
};

struct rule {
	int nr;
	uint32_t action;
	size_t order; /* position in the profile: ties keep it */
	uint8_t nargs;
	struct cond args[6];
};

struct ctx {
	const struct arch_info *arch;
	uint64_t caps;
	uint32_t def; /* the default action */
	unsigned int flags;
	struct rule *rules;
	size_t n, cap;
	int kernel; /* major << 16 | minor, 0 until asked, -1 unknown */
};

static int bad_at(struct ember_error *e, const char *path, const char *fmt, ...) ERR_PRINTF(3, 4);
static int bad_at(struct ember_error *e, const char *path, const char *fmt, ...)
{
	char msg[EMBER_ERROR_MESSAGE_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return rt_bad(e, "seccomp: %s: %s", path, msg);
}

static const char *sub(char buf[PATH_LEN], const char *path, const char *key)
{
	/* A path cut short in a message is fine. */
	if (snprintf(buf, PATH_LEN, "%s%s%s", path, *path ? "." : "", key) >= PATH_LEN)
		buf[PATH_LEN - 1] = '\0';
	return buf;
}

static const char *idx(char buf[PATH_LEN], const char *path, size_t i)
{
	if (snprintf(buf, PATH_LEN, "%s[%zu]", path, i) >= PATH_LEN)
		buf[PATH_LEN - 1] = '\0';
	return buf;
}

static int cmp_syscall(const void *a, const void *b)
{
	return strcmp(((const struct rt_syscall *)a)->name, ((const struct rt_syscall *)b)->name);
}

/* The number of name on the target, -1 when it has no such syscall. */
static int syscall_nr(const struct arch_info *a, const char *name)
{
	struct rt_syscall key = { .name = name };
	const struct rt_syscall *s = bsearch(&key, a->table, a->n, sizeof(*a->table), cmp_syscall);

	return s ? s->nr : -1;
}

static int arch_named(const struct arch_info *a, const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(a->names); i++)
		if (strcmp(a->names[i], name) == 0)
			return 1;
	return 0;
}

/* ---- rules ---- */

static int rule_add(struct ctx *c, int nr, uint32_t action, const struct cond *args, size_t nargs,
		    struct ember_error *e)
{
	if (c->n == c->cap) {
		if (c->n >= RUNTIME_SECCOMP_RULES_MAX)
			return rt_bad(e, "seccomp: more than %d rules", RUNTIME_SECCOMP_RULES_MAX);
		size_t cap = c->cap ? c->cap * 2 : 256;
		struct rule *v = realloc(c->rules, cap * sizeof(*v));
		if (!v)
			return rt_oom(e);
		c->rules = v;
		c->cap = cap;
	}
	struct rule *r = &c->rules[c->n];
	*r = (struct rule){ .nr = nr, .action = action, .order = c->n, .nargs = (uint8_t)nargs };
	if (nargs)
		memcpy(r->args, args, nargs * sizeof(*args));
	c->n++;
	return 0;
}

/* A rule for name, when the target has it. */
static int rule_add_name(struct ctx *c, const char *name, uint32_t action, const struct cond *args, size_t nargs,
			 struct ember_error *e)
{
	int nr = syscall_nr(c->arch, name);

	return nr < 0 ? 0 : rule_add(c, nr, action, args, nargs, e);
}

/* ---- the default profile ---- */

/*
 * Docker's default profile (moby profiles/seccomp, 2023), as ember's own
 * table: everything below is allowed, the rest is EPERM. Names a target
 * lacks (the 32-bit *_time64 calls, i386's socketcall, ...) are skipped,
 * as in Docker, which lists every architecture's. Differences from
 * Docker:
 *  - ptrace, process_vm_readv/_writev: Docker allows them on kernels
 *    >= 4.8 only; the filter needs 4.14 (SECCOMP_RET_KILL_PROCESS), so
 *    here they are always allowed.
 *  - only x86_64 and aarch64 syscalls reach the table: 32-bit (i386,
 *    arm) syscalls kill the process where Docker filters them with the
 *    32-bit table, and x32 syscalls get EPERM.
 */
static const char default_allow[] =
	"accept accept4 access adjtimex alarm bind brk capget capset chdir chmod chown chown32 "
	"clock_adjtime clock_adjtime64 clock_getres clock_getres_time64 clock_gettime clock_gettime64 "
	"clock_nanosleep clock_nanosleep_time64 close close_range connect copy_file_range creat dup dup2 "
	"dup3 epoll_create epoll_create1 epoll_ctl epoll_ctl_old epoll_pwait epoll_pwait2 epoll_wait "
	"epoll_wait_old eventfd eventfd2 execve execveat exit exit_group faccessat faccessat2 fadvise64 "
	"fadvise64_64 fallocate fanotify_mark fchdir fchmod fchmodat fchown fchown32 fchownat fcntl fcntl64 "
	"fdatasync fgetxattr flistxattr flock fork fremovexattr fsetxattr fstat fstat64 fstatat64 fstatfs "
	"fstatfs64 fsync ftruncate ftruncate64 futex futex_time64 futex_waitv futimesat getcpu getcwd "
	"getdents getdents64 getegid getegid32 geteuid geteuid32 getgid getgid32 getgroups getgroups32 "
	"getitimer getpeername getpgid getpgrp getpid getppid getpriority getrandom getresgid getresgid32 "
	"getresuid getresuid32 getrlimit get_robust_list getrusage getsid getsockname getsockopt "
	"get_thread_area gettid gettimeofday getuid getuid32 getxattr inotify_add_watch inotify_init "
	"inotify_init1 inotify_rm_watch io_cancel ioctl io_destroy io_getevents io_pgetevents "
	"io_pgetevents_time64 ioprio_get ioprio_set io_setup io_submit io_uring_enter io_uring_register "
	"io_uring_setup ipc kill landlock_add_rule landlock_create_ruleset landlock_restrict_self lchown "
	"lchown32 lgetxattr link linkat listen listxattr llistxattr _llseek lremovexattr lseek lsetxattr "
	"lstat lstat64 madvise membarrier memfd_create memfd_secret mincore mkdir mkdirat mknod mknodat "
	"mlock mlock2 mlockall mmap mmap2 mprotect mq_getsetattr mq_notify mq_open mq_timedreceive "
	"mq_timedreceive_time64 mq_timedsend mq_timedsend_time64 mq_unlink mremap msgctl msgget msgrcv "
	"msgsnd msync munlock munlockall munmap name_to_handle_at nanosleep newfstatat _newselect open "
	"openat openat2 pause pidfd_open pidfd_send_signal pipe pipe2 pkey_alloc pkey_free pkey_mprotect "
	"poll ppoll ppoll_time64 prctl pread64 preadv preadv2 prlimit64 process_mrelease pselect6 "
	"pselect6_time64 pwrite64 pwritev pwritev2 read readahead readlink readlinkat readv recv recvfrom "
	"recvmmsg recvmmsg_time64 recvmsg remap_file_pages removexattr rename renameat renameat2 "
	"restart_syscall rmdir rseq rt_sigaction rt_sigpending rt_sigprocmask rt_sigqueueinfo rt_sigreturn "
	"rt_sigsuspend rt_sigtimedwait rt_sigtimedwait_time64 rt_tgsigqueueinfo sched_getaffinity "
	"sched_getattr sched_getparam sched_get_priority_max sched_get_priority_min sched_getscheduler "
	"sched_rr_get_interval sched_rr_get_interval_time64 sched_setaffinity sched_setattr sched_setparam "
	"sched_setscheduler sched_yield seccomp select semctl semget semop semtimedop semtimedop_time64 "
	"send sendfile sendfile64 sendmmsg sendmsg sendto setfsgid setfsgid32 setfsuid setfsuid32 setgid "
	"setgid32 setgroups setgroups32 setitimer setpgid setpriority setregid setregid32 setresgid "
	"setresgid32 setresuid setresuid32 setreuid setreuid32 setrlimit set_robust_list setsid setsockopt "
	"set_thread_area set_tid_address setuid setuid32 setxattr shmat shmctl shmdt shmget shutdown "
	"sigaltstack signalfd signalfd4 sigprocmask sigreturn socketcall socketpair splice stat stat64 "
	"statfs statfs64 statx symlink symlinkat sync sync_file_range syncfs sysinfo tee tgkill time "
	"timer_create timer_delete timer_getoverrun timer_gettime timer_gettime64 timer_settime "
	"timer_settime64 timerfd_create timerfd_gettime timerfd_gettime64 timerfd_settime "
	"timerfd_settime64 times tkill truncate truncate64 ugetrlimit umask uname unlink unlinkat utime "
	"utimensat utimensat_time64 utimes vfork vmsplice wait4 waitid waitpid write writev "
	"ptrace process_vm_readv process_vm_writev";

static const struct {
	uint32_t arch; /* 0: any */
	int cap;       /* -1: none needed */
	const char *names;
} default_groups[] = {
	{ AUDIT_ARCH_X86_64, -1, "arch_prctl modify_ldt" },
	{ AUDIT_ARCH_AARCH64, -1, "arm_fadvise64_64 arm_sync_file_range sync_file_range2 breakpoint cacheflush set_tls" },
	{ 0, C_DAC_READ_SEARCH, "open_by_handle_at" },
	{ 0, C_SYS_ADMIN, "bpf clone clone3 fanotify_init fsconfig fsmount fsopen fspick lookup_dcookie mount "
			  "mount_setattr move_mount open_tree perf_event_open quotactl quotactl_fd setdomainname "
			  "sethostname setns syslog umount umount2 unshare" },
	{ 0, C_SYS_BOOT, "reboot" },
	{ 0, C_SYS_CHROOT, "chroot" },
	{ 0, C_SYS_MODULE, "delete_module init_module finit_module" },
	{ 0, C_SYS_PACCT, "acct" },
	{ 0, C_SYS_PTRACE, "kcmp pidfd_getfd process_madvise" },
	{ 0, C_SYS_RAWIO, "iopl ioperm" },
	{ 0, C_SYS_TIME, "settimeofday stime clock_settime clock_settime64" },
	{ 0, C_SYS_TTY_CONFIG, "vhangup" },
	{ 0, C_SYS_NICE, "get_mempolicy mbind set_mempolicy set_mempolicy_home_node" },
	{ 0, C_SYSLOG, "syslog" },
	{ 0, C_BPF, "bpf" },
	{ 0, C_PERFMON, "perf_event_open" },
};

/* personality(2) values Docker allows: PER_LINUX, UNAME26, PER_LINUX32,
   PER_LINUX32|UNAME26, and 0xffffffff (query). */
static const uint64_t default_personality[] = { 0x0, 0x8, 0x20000, 0x20008, 0xffffffff };

/* The namespace flags of clone(2): CLONE_NEWNS, NEWCGROUP, NEWUTS, NEWIPC,
   NEWUSER, NEWPID, NEWNET. */
#define CLONE_NS_MASK 0x7E020000U
#define AF_VSOCK_NR 40

static int add_names(struct ctx *c, const char *names, uint32_t action, struct ember_error *e)
{
	char name[NAME_MAX_LEN];
	int r;

	for (const char *p = names; *p;) {
		size_t n = strcspn(p, " ");
		if (n > 0 && n < sizeof(name)) {
			memcpy(name, p, n);
			name[n] = '\0';
			if ((r = rule_add_name(c, name, action, NULL, 0, e)) < 0)
				return r;
		}
		p += n;
		p += strspn(p, " ");
	}
	return 0;
}

static int default_profile(struct ctx *c, struct ember_error *e)
{
	const uint32_t allow = SECCOMP_RET_ALLOW;
	int r;

	c->def = SECCOMP_RET_ERRNO | EPERM;
	if ((r = add_names(c, default_allow, allow, e)) < 0)
		return r;
	for (size_t i = 0; i < ARRAY_SIZE(default_groups); i++) {
		if (default_groups[i].arch && default_groups[i].arch != c->arch->audit)
			continue;
		if (default_groups[i].cap >= 0 && !(c->caps & (UINT64_C(1) << default_groups[i].cap)))
			continue;
		if ((r = add_names(c, default_groups[i].names, allow, e)) < 0)
			return r;
	}
	/* socket(2) but AF_VSOCK, which reaches the host's services. */
	struct cond vsock = { .index = 0, .op = OP_NE, .value = AF_VSOCK_NR };
	if ((r = rule_add_name(c, "socket", allow, &vsock, 1, e)) < 0)
		return r;
	for (size_t i = 0; i < ARRAY_SIZE(default_personality); i++) {
		struct cond p = { .index = 0, .op = OP_EQ, .value = default_personality[i] };
		if ((r = rule_add_name(c, "personality", allow, &p, 1, e)) < 0)
			return r;
	}
	if (!(c->caps & (UINT64_C(1) << C_SYS_ADMIN))) {
		/* clone without new namespaces (the flags are argument 0 on
		   both targets; s390 would differ); clone3's flags sit in
		   memory a filter cannot read, so ENOSYS makes libcs fall
		   back to clone. */
		struct cond noflags = { .index = 0, .op = OP_MASKED_EQ, .value = CLONE_NS_MASK, .value_two = 0 };
		if ((r = rule_add_name(c, "clone", allow, &noflags, 1, e)) < 0 ||
		    (r = rule_add_name(c, "clone3", SECCOMP_RET_ERRNO | ENOSYS, NULL, 0, e)) < 0)
			return r;
	}
	return 0;
}

/* ---- reading a profile ---- */

static const struct {
	const char *name;
	uint32_t ret;
	int data; /* takes errnoRet */
} actions[] = {
	{ "SCMP_ACT_ALLOW", SECCOMP_RET_ALLOW, 0 },
	{ "SCMP_ACT_ERRNO", SECCOMP_RET_ERRNO, 1 },
	{ "SCMP_ACT_KILL", SECCOMP_RET_KILL_THREAD, 0 },
	{ "SCMP_ACT_KILL_THREAD", SECCOMP_RET_KILL_THREAD, 0 },
	{ "SCMP_ACT_KILL_PROCESS", SECCOMP_RET_KILL_PROCESS, 0 },
	{ "SCMP_ACT_TRAP", SECCOMP_RET_TRAP, 0 },
	{ "SCMP_ACT_TRACE", SECCOMP_RET_TRACE, 1 },
	{ "SCMP_ACT_LOG", SECCOMP_RET_LOG, 0 },
};

/* The action v names, with errno_ret (NULL: EPERM) as its data. */
static int parse_action(json_t *v, json_t *errno_ret, const char *path, const char *errno_path, uint32_t *out,
			struct ember_error *e)
{
	char q[RT_QUOTE_MAX];
	const char *s = json_string_value(v);

	if (!v)
		return bad_at(e, path, "missing");
	if (!s)
		return bad_at(e, path, "must be a string");
	if (strcmp(s, "SCMP_ACT_NOTIFY") == 0)
		return rt_unsupported(e, "seccomp: %s: SCMP_ACT_NOTIFY is not supported (ember runs no seccomp agent)",
				      path);
	for (size_t i = 0; i < ARRAY_SIZE(actions); i++) {
		if (strcmp(s, actions[i].name) != 0)
			continue;
		if (errno_ret && !actions[i].data)
			return bad_at(e, errno_path, "only for SCMP_ACT_ERRNO and SCMP_ACT_TRACE");
		uint32_t data = EPERM;
		if (errno_ret) {
			if (!json_is_integer(errno_ret) || json_integer_value(errno_ret) < 0 ||
			    json_integer_value(errno_ret) > ERRNO_MAX)
				return bad_at(e, errno_path, "must be an integer, 0 .. %d", ERRNO_MAX);
			data = (uint32_t)json_integer_value(errno_ret);
		}
		*out = actions[i].ret | (actions[i].data ? data : 0);
		return 0;
	}
	return bad_at(e, path, "unknown action \"%s\"", rt_quote(s, q));
}

/* v, when present, is an array of at most max strings. */
static int strings(json_t *v, const char *path, size_t max, struct ember_error *e)
{
	char p[PATH_LEN];
	size_t i;
	json_t *x;

	if (!v || json_is_null(v))
		return 0;
	if (!json_is_array(v))
		return bad_at(e, path, "must be an array of strings");
	if (json_array_size(v) > max)
		return bad_at(e, path, "more than %zu entries", max);
	json_array_foreach(v, i, x)
		if (!json_is_string(x))
			return bad_at(e, idx(p, path, i), "must be a string");
	return 0;
}

static int in_strings(json_t *v, int (*match)(const struct ctx *, const char *), const struct ctx *c)
{
	size_t i;
	json_t *x;

	json_array_foreach(v, i, x)
		if (match(c, json_string_value(x)))
			return 1;
	return 0;
}

static int is_target(const struct ctx *c, const char *s)
{
	return arch_named(c->arch, s);
}

static int has_cap(const struct ctx *c, const char *s)
{
	int n = rt_cap_lookup(s, 0);
	return n >= 0 && (c->caps & (UINT64_C(1) << n));
}

static int lacks_cap(const struct ctx *c, const char *s)
{
	return !has_cap(c, s);
}

/* "4.8" as major << 16 | minor; -1 when it is not such a version. strict:
   nothing may follow (a profile's); else "6.1.0-18-amd64" (uname's). */
static int parse_kernel(const char *s, int strict)
{
	char *end;
	long major = strtol(s, &end, 10), minor = 0;

	if (end == s || *s < '0' || *s > '9' || major > 0x7fff)
		return -1;
	if (*end == '.') {
		const char *m = end + 1;
		minor = strtol(m, &end, 10);
		if (end == m || *m < '0' || *m > '9' || minor > 0xffff)
			return -1;
	}
	if (strict && *end)
		return -1;
	return (int)(major << 16 | minor);
}

static int kernel_version(struct ctx *c)
{
	struct utsname u;

	if (c->kernel == 0) {
		c->kernel = -1;
		if (uname(&u) == 0)
			c->kernel = parse_kernel(u.release, 0);
	}
	return c->kernel;
}

/*
 * Whether includes/excludes let the rule in, as Docker decides: excluded
 * when the target is one of excludes.arches, the container has any of
 * excludes.caps or the kernel is at least excludes.minKernel; included
 * only when the target is one of includes.arches (when given), it has
 * every one of includes.caps and the kernel is at least
 * includes.minKernel. Everything is checked whatever the outcome.
 */
static int applies(struct ctx *c, json_t *sc, const char *path, int *ok, struct ember_error *e)
{
	static const char *const which[] = { "includes", "excludes" };
	char p[PATH_LEN], pp[PATH_LEN], q[RT_QUOTE_MAX];
	int r;

	*ok = 1;
	for (int w = 0; w < 2; w++) {
		json_t *o = json_object_get(sc, which[w]);
		if (!o || json_is_null(o))
			continue;
		sub(p, path, which[w]);
		if (!json_is_object(o))
			return bad_at(e, p, "must be an object");
		json_t *arch = json_object_get(o, "arches"), *caps = json_object_get(o, "caps");
		json_t *mk = json_object_get(o, "minKernel");
		if ((r = strings(arch, sub(pp, p, "arches"), RUNTIME_SECCOMP_SYSCALLS_MAX, e)) < 0 ||
		    (r = strings(caps, sub(pp, p, "caps"), RUNTIME_SECCOMP_SYSCALLS_MAX, e)) < 0)
			return r;
		int kernel_ok = 1;
		if (mk && !json_is_null(mk)) {
			const char *s = json_string_value(mk);
			int want = s ? parse_kernel(s, 1) : -1;
			if (!s)
				return bad_at(e, sub(pp, p, "minKernel"), "must be a string (\"4.8\")");
			if (want < 0)
				return bad_at(e, sub(pp, p, "minKernel"), "must be a kernel version (\"4.8\"), not \"%s\"",
					      rt_quote(s, q));
			int have = kernel_version(c);
			kernel_ok = have < 0 || have >= want; /* unknown: assume new enough */
		}
		if (w == 0) {
			if (json_array_size(arch) > 0 && !in_strings(arch, is_target, c))
				*ok = 0;
			if (in_strings(caps, lacks_cap, c) || !kernel_ok)
				*ok = 0;
		} else {
			if (in_strings(arch, is_target, c) || in_strings(caps, has_cap, c))
				*ok = 0;
			if (mk && !json_is_null(mk) && kernel_ok)
				*ok = 0;
		}
	}
	return 0;
}

static int parse_value(json_t *v, const char *path, int required, uint64_t *out, struct ember_error *e)
{
	*out = 0;
	if (!v)
		return required ? bad_at(e, path, "missing") : 0;
	if (!json_is_integer(v))
		return bad_at(e, path, "must be an integer");
	*out = (uint64_t)json_integer_value(v);
	return 0;
}

static int parse_args(json_t *args, const char *path, struct cond *out, size_t *n, struct ember_error *e)
{
	char p[PATH_LEN], pp[PATH_LEN], q[RT_QUOTE_MAX];
	size_t i;
	json_t *a;
	int r;

	*n = 0;
	if (!args || json_is_null(args))
		return 0;
	if (!json_is_array(args))
		return bad_at(e, path, "must be an array");
	if (json_array_size(args) > 6)
		return bad_at(e, path, "more than 6 conditions");
	json_array_foreach(args, i, a) {
		struct cond *c = &out[i];
		idx(p, path, i);
		if (!json_is_object(a))
			return bad_at(e, p, "must be an object");
		json_t *index = json_object_get(a, "index");
		if (!index)
			return bad_at(e, sub(pp, p, "index"), "missing");
		if (!json_is_integer(index) || json_integer_value(index) < 0 || json_integer_value(index) > 5)
			return bad_at(e, sub(pp, p, "index"), "must be an integer, 0 .. 5");
		c->index = (uint8_t)json_integer_value(index);
		if ((r = parse_value(json_object_get(a, "value"), sub(pp, p, "value"), 1, &c->value, e)) < 0 ||
		    (r = parse_value(json_object_get(a, "valueTwo"), sub(pp, p, "valueTwo"), 0, &c->value_two, e)) < 0)
			return r;
		json_t *op = json_object_get(a, "op");
		const char *s = json_string_value(op);
		if (!op)
			return bad_at(e, sub(pp, p, "op"), "missing");
		if (!s)
			return bad_at(e, sub(pp, p, "op"), "must be a string");
		size_t k;
		for (k = 0; k < ARRAY_SIZE(op_names); k++)
			if (strcmp(s, op_names[k]) == 0)
				break;
		if (k == ARRAY_SIZE(op_names))
			return bad_at(e, sub(pp, p, "op"), "unknown operator \"%s\"", rt_quote(s, q));
		c->op = (uint8_t)k;
	}
	*n = json_array_size(args);
	return 0;
}

static int parse_syscall(struct ctx *c, json_t *sc, const char *path, struct ember_error *e)
{
	char p[PATH_LEN], ep[PATH_LEN];
	struct cond args[6];
	size_t nargs, i;
	uint32_t action;
	json_t *x;
	int ok, r;

	if (!json_is_object(sc))
		return bad_at(e, path, "must be an object");
	json_t *names = json_object_get(sc, "names"), *name = json_object_get(sc, "name");
	if ((r = strings(names, sub(p, path, "names"), RUNTIME_SECCOMP_SYSCALLS_MAX, e)) < 0)
		return r;
	if (name && !json_is_string(name))
		return bad_at(e, sub(p, path, "name"), "must be a string");
	if (!json_array_size(names) && !name)
		return bad_at(e, sub(p, path, "names"), "must name at least one syscall");
	if ((r = parse_action(json_object_get(sc, "action"), json_object_get(sc, "errnoRet"), sub(p, path, "action"),
			      sub(ep, path, "errnoRet"), &action, e)) < 0 ||
	    (r = parse_args(json_object_get(sc, "args"), sub(p, path, "args"), args, &nargs, e)) < 0 ||
	    (r = applies(c, sc, path, &ok, e)) < 0)
		return r;
	/* What the default does anyway needs no rule when nothing follows
	   it; with conditions it still shadows later rules, so it stays. */
	if (!ok || (action == c->def && nargs == 0))
		return 0;
	if (name && (r = rule_add_name(c, json_string_value(name), action, args, nargs, e)) < 0)
		return r;
	json_array_foreach(names, i, x)
		if ((r = rule_add_name(c, json_string_value(x), action, args, nargs, e)) < 0)
			return r;
	return 0;
}

static const struct {
	const char *name;
	unsigned int flag;
} filter_flags[] = {
	{ "SECCOMP_FILTER_FLAG_TSYNC", SECCOMP_FILTER_FLAG_TSYNC },
	{ "SECCOMP_FILTER_FLAG_LOG", SECCOMP_FILTER_FLAG_LOG },
	{ "SECCOMP_FILTER_FLAG_SPEC_ALLOW", SECCOMP_FILTER_FLAG_SPEC_ALLOW },
};

static int parse_profile(struct ctx *c, json_t *pr, struct ember_error *e)
{
	char p[PATH_LEN], q[RT_QUOTE_MAX];
	size_t i;
	json_t *x;
	int r;

	if (!json_is_object(pr))
		return rt_bad(e, "seccomp: the profile must be a JSON object");
	if ((r = parse_action(json_object_get(pr, "defaultAction"), json_object_get(pr, "defaultErrnoRet"),
			      "defaultAction", "defaultErrnoRet", &c->def, e)) < 0)
		return r;
	if ((r = strings(json_object_get(pr, "architectures"), "architectures", 64, e)) < 0)
		return r;
	json_t *map = json_object_get(pr, "archMap");
	if (map && !json_is_null(map)) {
		if (!json_is_array(map))
			return bad_at(e, "archMap", "must be an array");
		if (json_array_size(map) > 64)
			return bad_at(e, "archMap", "more than 64 entries");
		json_array_foreach(map, i, x) {
			char pp[PATH_LEN];
			idx(p, "archMap", i);
			if (!json_is_object(x))
				return bad_at(e, p, "must be an object");
			if (!json_is_string(json_object_get(x, "architecture")))
				return bad_at(e, sub(pp, p, "architecture"), "must be a string");
			if ((r = strings(json_object_get(x, "subArchitectures"), sub(pp, p, "subArchitectures"), 64, e)) < 0)
				return r;
		}
	}
	json_t *flags = json_object_get(pr, "flags");
	if ((r = strings(flags, "flags", 16, e)) < 0)
		return r;
	json_array_foreach(flags, i, x) {
		size_t k;
		for (k = 0; k < ARRAY_SIZE(filter_flags); k++)
			if (strcmp(json_string_value(x), filter_flags[k].name) == 0)
				break;
		if (k == ARRAY_SIZE(filter_flags))
			return bad_at(e, idx(p, "flags", i), "unknown flag \"%s\"",
				      rt_quote(json_string_value(x), q));
		c->flags |= filter_flags[k].flag;
	}
	json_t *scs = json_object_get(pr, "syscalls");
	if (!scs || json_is_null(scs))
		return 0;
	if (!json_is_array(scs))
		return bad_at(e, "syscalls", "must be an array");
	if (json_array_size(scs) > RUNTIME_SECCOMP_SYSCALLS_MAX)
		return bad_at(e, "syscalls", "more than %d entries", RUNTIME_SECCOMP_SYSCALLS_MAX);
	json_array_foreach(scs, i, x)
		if ((r = parse_syscall(c, x, idx(p, "syscalls", i), e)) < 0)
			return r;
	return 0;
}

/* ---- code generation ---- */

/*
 * The program is written backwards into v: v[0] is its last instruction.
 * A "label" is an instruction's index in v; a jump at index i reaches
 * label t with the forward offset i - t - 1.
 */
struct prog {
	struct sock_filter *v;
	size_t n;
	int full; /* more than BPF_MAXINSNS were asked for */
};

static size_t emit(struct prog *p, uint16_t code, uint32_t k, size_t jt, size_t jf)
{
	if (p->n >= BPF_MAXINSNS) {
		p->full = 1;
		return p->n;
	}
	p->v[p->n] = (struct sock_filter){ .code = code, .jt = (uint8_t)jt, .jf = (uint8_t)jf, .k = k };
	return p->n++;
}

static size_t stmt(struct prog *p, uint16_t code, uint32_t k)
{
	return emit(p, code, k, 0, 0);
}

static size_t ret(struct prog *p, uint32_t action)
{
	return stmt(p, BPF_RET | BPF_K, action);
}

static size_t ld(struct prog *p, uint32_t off)
{
	return stmt(p, BPF_LD | BPF_W | BPF_ABS, off);
}

/* if (A op k) goto t else goto f, through BPF_JA trampolines for targets
   beyond 255 instructions. */
static size_t jump(struct prog *p, uint16_t op, uint32_t k, size_t t, size_t f)
{
	while (!p->full) {
		size_t i = p->n;
		if (i - t - 1 > 255)
			t = stmt(p, BPF_JMP | BPF_JA, (uint32_t)(i - t - 1));
		else if (i - f - 1 > 255)
			f = stmt(p, BPF_JMP | BPF_JA, (uint32_t)(i - f - 1));
		else
			return emit(p, BPF_JMP | op | BPF_K, k, i - t - 1, i - f - 1);
	}
	return p->n;
}

/* One 64-bit comparison of an argument: goto t when it holds, else f. */
static size_t cond(struct prog *p, const struct cond *c, size_t t, size_t f)
{
	uint32_t lo = OFF_ARG_LO(c->index), hi = OFF_ARG_HI(c->index);
	uint32_t vlo = (uint32_t)c->value, vhi = (uint32_t)(c->value >> 32);
	size_t x;

	switch (c->op) {
	case OP_EQ: /* hi == vhi && lo == vlo */
		x = jump(p, BPF_JEQ, vlo, t, f);
		x = ld(p, lo);
		x = jump(p, BPF_JEQ, vhi, x, f);
		break;
	case OP_NE:
		x = jump(p, BPF_JEQ, vlo, f, t);
		x = ld(p, lo);
		x = jump(p, BPF_JEQ, vhi, x, t);
		break;
	case OP_GT: /* hi > vhi || (hi == vhi && lo > vlo) */
	case OP_GE:
		x = jump(p, c->op == OP_GT ? BPF_JGT : BPF_JGE, vlo, t, f);
		x = ld(p, lo);
		x = jump(p, BPF_JEQ, vhi, x, f);
		x = jump(p, BPF_JGT, vhi, t, x);
		break;
	case OP_LT: /* !(A >= v) */
	case OP_LE: /* !(A > v) */
		x = jump(p, c->op == OP_LT ? BPF_JGE : BPF_JGT, vlo, f, t);
		x = ld(p, lo);
		x = jump(p, BPF_JEQ, vhi, x, t);
		x = jump(p, BPF_JGT, vhi, f, x);
		break;
	case OP_MASKED_EQ: { /* (A & value) == valueTwo */
		uint32_t wlo = (uint32_t)c->value_two, whi = (uint32_t)(c->value_two >> 32);
		x = jump(p, BPF_JEQ, wlo, t, f);
		x = stmt(p, BPF_ALU | BPF_AND | BPF_K, vlo);
		x = ld(p, lo);
		x = jump(p, BPF_JEQ, whi, x, f);
		x = stmt(p, BPF_ALU | BPF_AND | BPF_K, vhi);
		break;
	}
	default:
		return f;
	}
	(void)x;
	return ld(p, hi);
}

/* The rules of one syscall, r[0..n), sorted: conditional ones first in
   profile order, then unconditional ones. Returns the entry label. */
static size_t group(struct prog *p, const struct rule *r, size_t n, uint32_t def)
{
	size_t nc = 0;

	while (nc < n && r[nc].nargs > 0)
		nc++;
	uint32_t fallback = nc < n ? r[nc].action : def;
	/* Trailing conditional rules that end where failing them would
	   are no-ops. */
	while (nc > 0 && r[nc - 1].action == fallback)
		nc--;
	size_t fail = ret(p, fallback);
	for (size_t j = nc; j-- > 0;) {
		size_t next = ret(p, r[j].action);
		for (size_t k = r[j].nargs; k-- > 0;)
			next = cond(p, &r[j].args[k], next, fail);
		fail = next;
	}
	return fail;
}

struct span {
	size_t start, n;
	int nr;
};

/* Dispatch on nr (in A) over spans g[lo..hi), sorted by nr: a binary
   tree of BPF_JGE down to runs of a few BPF_JEQ. */
static size_t tree(struct prog *p, const struct rule *rules, const struct span *g, size_t lo, size_t hi, uint32_t def)
{
	if (hi - lo <= 4) {
		size_t next = ret(p, def);
		for (size_t i = hi; i-- > lo;) {
			size_t body = group(p, rules + g[i].start, g[i].n, def);
			next = jump(p, BPF_JEQ, (uint32_t)g[i].nr, body, next);
		}
		return next;
	}
	size_t mid = lo + (hi - lo) / 2;
	size_t right = tree(p, rules, g, mid, hi, def);
	size_t left = tree(p, rules, g, lo, mid, def);
	return jump(p, BPF_JGE, (uint32_t)g[mid].nr, right, left);
}

static int cmp_rule(const void *a, const void *b)
{
	const struct rule *x = a, *y = b;

	if (x->nr != y->nr)
		return x->nr < y->nr ? -1 : 1;
	if (!x->nargs != !y->nargs)
		return x->nargs ? -1 : 1;
	return x->order < y->order ? -1 : x->order > y->order;
}

static int generate(struct ctx *c, struct runtime_seccomp *out, struct ember_error *e)
{
	if (c->n)
		qsort(c->rules, c->n, sizeof(*c->rules), cmp_rule);
	size_t ng = 0;
	for (size_t i = 0; i < c->n; i++)
		if (i == 0 || c->rules[i].nr != c->rules[i - 1].nr)
			ng++;
	_cleanup_free_ struct span *g = calloc(ng ? ng : 1, sizeof(*g));
	_cleanup_free_ struct sock_filter *v = malloc(BPF_MAXINSNS * sizeof(*v));
	if (!g || !v)
		return rt_oom(e);
	ng = 0;
	for (size_t i = 0; i < c->n; i++) {
		if (i == 0 || c->rules[i].nr != c->rules[i - 1].nr)
			g[ng++] = (struct span){ .start = i, .nr = c->rules[i].nr };
		g[ng - 1].n++;
	}

	struct prog p = { .v = v };
	size_t body = tree(&p, c->rules, g, 0, ng, c->def);
	if (c->arch->audit == AUDIT_ARCH_X86_64) {
		/* x32 syscalls share the arch value with x86_64. */
		size_t x32 = ret(&p, c->def);
		body = jump(&p, BPF_JSET, X32_SYSCALL_BIT, x32, body);
	}
	body = ld(&p, OFF_NR);
	size_t kill = ret(&p, SECCOMP_RET_KILL_PROCESS);
	jump(&p, BPF_JEQ, c->arch->audit, body, kill);
	ld(&p, OFF_ARCH);
	if (p.full)
		return err_set_name(e, EMBER_ERROR_INVALID_ARGUMENT, E2BIG,
				    "seccomp: the filter needs more than %d BPF instructions", BPF_MAXINSNS);

	for (size_t i = 0; i < p.n / 2; i++) {
		struct sock_filter t = v[i];
		v[i] = v[p.n - 1 - i];
		v[p.n - 1 - i] = t;
	}
	struct sock_filter *fit = realloc(v, p.n * sizeof(*v));
	out->insns = fit ? fit : v;
	v = NULL;
	out->len = p.n;
	out->flags = c->flags;
	return 0;
}

int runtime_seccomp_compile(json_t *profile, uint32_t arch, uint64_t caps, struct runtime_seccomp *out,
			    struct ember_error *e)
{
	struct ctx c = { .caps = caps };
	int r;

	*out = (struct runtime_seccomp){ 0 };
	if (arch == 0) {
#if defined(__x86_64__)
		arch = AUDIT_ARCH_X86_64;
#elif defined(__aarch64__)
		arch = AUDIT_ARCH_AARCH64;
#endif
	}
	for (size_t i = 0; i < ARRAY_SIZE(arches); i++)
		if (arches[i].audit == arch)
			c.arch = &arches[i];
	if (!c.arch)
		return rt_unsupported(e, "seccomp: no syscall table for audit architecture 0x%x", (unsigned)arch);

	r = profile ? parse_profile(&c, profile, e) : default_profile(&c, e);
	if (r >= 0)
		r = generate(&c, out, e);
	free(c.rules);
	return r;
}

void runtime_seccomp_free(struct runtime_seccomp *s)
{
	if (!s)
		return;
	free(s->insns);
	s->insns = NULL;
	s->len = 0;
}

int runtime_seccomp_load(const struct runtime_seccomp *s, struct ember_error *e)
{
	if (!s->insns || s->len == 0 || s->len > BPF_MAXINSNS)
		return rt_bad(e, "seccomp: no filter to load");
	struct sock_fprog prog = { .len = (unsigned short)s->len, .filter = s->insns };
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, s->flags, &prog) == 0)
		return 0;
	/* Kernels before 3.17 have only the prctl. */
	if (errno == ENOSYS && s->flags == 0 && prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0) == 0)
		return 0;
	return err_sys(e, errno, "seccomp: load the filter");
}

int runtime_seccomp_profile_read(const char *path, json_t **out, struct ember_error *e)
{
	char q[RT_QUOTE_MAX], qt[RT_QUOTE_MAX];
	_cleanup_free_ char *data = NULL;
	size_t len;
	json_error_t je;
	struct runtime_seccomp s;
	int r;

	*out = NULL;
	if ((r = fs_read_file(AT_FDCWD, path, RUNTIME_SECCOMP_PROFILE_MAX, &data, &len, e)) < 0)
		return err_wrap(e, "seccomp profile");
	_cleanup_json_ json_t *j = json_loadb(data, len, JSON_REJECT_DUPLICATES, &je);
	if (!j)
		return rt_bad(e, "seccomp profile %s: not JSON: %s (line %d)", rt_quote(path, q),
			      rt_quote(je.text, qt), je.line);
	/* With every capability: the most rules includes can let in. */
	if ((r = runtime_seccomp_compile(j, 0, RT_CAP_ALL, &s, e)) < 0)
		return err_wrap(e, "seccomp profile %s", rt_quote(path, q));
	runtime_seccomp_free(&s);
	*out = TAKE_PTR(j);
	return 0;
}
