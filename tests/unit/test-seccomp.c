/* SPDX-License-Identifier: Apache-2.0 */
#include "unit.h"

#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>

#include "runtime/runtime.h"
#include "util/cleanup.h"

#ifndef SECCOMP_RET_KILL_PROCESS
#define SECCOMP_RET_KILL_PROCESS 0x80000000U
#endif
#ifndef SECCOMP_RET_KILL_THREAD
#define SECCOMP_RET_KILL_THREAD 0U
#endif
#ifndef SECCOMP_RET_LOG
#define SECCOMP_RET_LOG 0x7ffc0000U
#endif

#define CAP(n) (UINT64_C(1) << (n))
/* Docker's default set: CHOWN DAC_OVERRIDE FOWNER FSETID KILL SETGID SETUID
   SETPCAP NET_BIND_SERVICE NET_RAW SYS_CHROOT MKNOD AUDIT_WRITE SETFCAP. */
#define DOCKER_CAPS                                                                                     \
	(CAP(0) | CAP(1) | CAP(3) | CAP(4) | CAP(5) | CAP(6) | CAP(7) | CAP(8) | CAP(10) | CAP(13) |    \
	 CAP(18) | CAP(27) | CAP(29) | CAP(31))
#define CAP_SYS_ADMIN_ 21
#define RT_CAP_ALL_TEST ((UINT64_C(1) << 41) - 1)

#define ALLOW SECCOMP_RET_ALLOW
#define ERRNO(n) (SECCOMP_RET_ERRNO | (n))

/* Syscall numbers of both targets (from their tables), for the interpreter. */
#define X86_OPENAT 257
#define X86_KEYCTL 250
#define X86_UNSHARE 272
#define X86_CLONE 56
#define X86_CLONE3 435
#define X86_PERSONALITY 135
#define X86_GETPPID 110
#define X86_MOUNT 165
#define X86_REBOOT 169
#define X86_SOCKET 41
#define X86_ARCH_PRCTL 158
#define X86_PTRACE 101
#define X86_SETTIMEOFDAY 164
#define X86_IOPL 172
#define A64_OPENAT 56
#define A64_CLONE 220
#define A64_UNSHARE 97
#define A64_GETPPID 173

static json_t *J(const char *text)
{
	json_error_t je;
	json_t *j = json_loads(text, JSON_REJECT_DUPLICATES, &je);

	if (!j)
		fail_msg("bad fixture JSON (%s): %s", je.text, text);
	return j;
}

static void compile_ok(const char *text, uint32_t arch, uint64_t caps, struct runtime_seccomp *s)
{
	struct ember_error e;
	json_t *j = text ? J(text) : NULL;
	int r = runtime_seccomp_compile(j, arch, caps, s, &e);

	if (r < 0)
		fail_msg("compile: %s", e.message);
	assert_non_null(s->insns);
	assert_true(s->len > 0 && s->len <= BPF_MAXINSNS);
	json_decref(j);
}

/* ---- an interpreter of the BPF the compiler writes ---- */

/* What the filter s returns for a syscall; fails on anything a seccomp
   filter may not do (loads outside seccomp_data, jumps out of the program). */
static uint32_t run(const struct runtime_seccomp *s, uint32_t arch, int nr, const uint64_t args[6])
{
	struct seccomp_data d = { .nr = nr, .arch = arch };
	uint32_t a = 0;
	size_t pc = 0;

	if (args)
		memcpy(d.args, args, sizeof(d.args));
	for (;;) {
		if (pc >= s->len)
			fail_msg("pc %zu runs off the program (%zu instructions)", pc, s->len);
		const struct sock_filter *f = &s->insns[pc];
		switch (f->code) {
		case BPF_LD | BPF_W | BPF_ABS:
			assert_true(f->k % 4 == 0 && f->k + 4 <= sizeof(d));
			memcpy(&a, (const char *)&d + f->k, 4);
			pc++;
			break;
		case BPF_ALU | BPF_AND | BPF_K:
			a &= f->k;
			pc++;
			break;
		case BPF_JMP | BPF_JA:
			pc += 1 + f->k;
			break;
		case BPF_JMP | BPF_JEQ | BPF_K:
			pc += 1 + (a == f->k ? f->jt : f->jf);
			break;
		case BPF_JMP | BPF_JGT | BPF_K:
			pc += 1 + (a > f->k ? f->jt : f->jf);
			break;
		case BPF_JMP | BPF_JGE | BPF_K:
			pc += 1 + (a >= f->k ? f->jt : f->jf);
			break;
		case BPF_JMP | BPF_JSET | BPF_K:
			pc += 1 + ((a & f->k) ? f->jt : f->jf);
			break;
		case BPF_RET | BPF_K:
			return f->k;
		default:
			fail_msg("unexpected instruction 0x%x at %zu", f->code, pc);
		}
	}
}

static uint32_t run1(const struct runtime_seccomp *s, uint32_t arch, int nr, uint64_t a0)
{
	uint64_t args[6] = { a0 };
	return run(s, arch, nr, args);
}

/* ---- loading in a child ---- */

/* Runs fn in a child that set no_new_privs and loaded s; returns the
   child's wait status. fn returns the exit code (0: all checks held). */
static int in_child(const struct runtime_seccomp *s, int (*fn)(void))
{
	int status;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		struct ember_error e;
		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
			_exit(errno == EINVAL ? 121 : 120);
		if (runtime_seccomp_load(s, &e) < 0)
			_exit(errno == EINVAL || errno == ENOSYS ? 121 : 122);
		_exit(fn());
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return status;
}

static int nothing(void)
{
	return 0;
}

/* Whether filters load here. Under qemu-user (make check-cross) seccomp(2)
   is refused (ENOSYS, or EINVAL from its prctl): the tests that load a
   filter skip there, those that only compile still run. A qemu that
   passed the filter to the host kernel would see the process killed
   (SIGSYS) at once, the host's arch not being the filter's: the same. */
static int loads(void)
{
	static int known = -1;

	if (known < 0) {
		struct runtime_seccomp s;
		compile_ok("{\"defaultAction\": \"SCMP_ACT_ALLOW\"}", 0, 0, &s);
		int status = in_child(&s, nothing);
		runtime_seccomp_free(&s);
		if (WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS)
			known = 0;
		else if (!WIFEXITED(status) || (WEXITSTATUS(status) != 0 && WEXITSTATUS(status) != 121))
			fail_msg("loading an allow-all filter: child status 0x%x", status);
		else
			known = WEXITSTATUS(status) == 0;
	}
	return known;
}

#define need_load()             \
	do {                    \
		if (!loads())   \
			skip(); \
	} while (0)

/* In children: report a failed check on stderr and exit with its line. */
#define CHECK(cond)                                                                            \
	do {                                                                                   \
		if (!(cond)) {                                                                 \
			char m_[160];                                                          \
			int n_ = snprintf(m_, sizeof(m_), "child: %s:%d: %s (errno %d)\n",    \
					  __FILE__, __LINE__, #cond, errno);                   \
			(void)!write(2, m_, (size_t)n_);                                       \
			return 1;                                                              \
		}                                                                              \
	} while (0)
#define CHECK_ERRNO(call, err) CHECK((errno = 0, (call)) == -1 && errno == (err))

static void assert_exit0(int status)
{
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fail_msg("child: %s %d", WIFEXITED(status) ? "exited" : "killed by signal",
			 WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
}

/* ---- the default profile, loaded ---- */

static int default_checks(void)
{
	CHECK(syscall(SYS_getpid) == getpid());
	CHECK(write(2, "", 0) == 0);
	CHECK_ERRNO(syscall(SYS_keyctl, 0 /* KEYCTL_GET_KEYRING_ID */, -1, 0, 0, 0), EPERM);
	CHECK_ERRNO(unshare(CLONE_NEWUTS), EPERM);
	CHECK_ERRNO(syscall(SYS_mount, "none", "/", "tmpfs", 0, NULL), EPERM);
	/* clone with a namespace flag is refused, a plain fork works. */
	long r = syscall(SYS_clone, CLONE_NEWNS | SIGCHLD, 0, 0, 0, 0);
	if (r == 0)
		_exit(0);
	CHECK(r == -1 && errno == EPERM);
	pid_t pid = fork();
	if (pid == 0)
		_exit(7);
	CHECK(pid > 0);
	int status;
	CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 7);
#ifdef SYS_clone3
	CHECK_ERRNO(syscall(SYS_clone3, NULL, 0), ENOSYS);
#endif
	CHECK(syscall(SYS_personality, 0xffffffffUL) >= 0);
	CHECK_ERRNO(syscall(SYS_personality, 0x0400000UL), EPERM);
	CHECK_ERRNO(socket(40 /* AF_VSOCK */, SOCK_STREAM, 0), EPERM);
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	CHECK(fd >= 0);
	close(fd);
	return 0;
}

static void test_default_load(void **state)
{
	(void)state;
	struct runtime_seccomp s;

	need_load();
	compile_ok(NULL, 0, DOCKER_CAPS, &s);
	assert_exit0(in_child(&s, default_checks));
	runtime_seccomp_free(&s);
	runtime_seccomp_free(&s); /* twice is fine */
	runtime_seccomp_free(NULL);
}

static int sys_admin_checks(void)
{
	/* Tests run as root: with CAP_SYS_ADMIN the filter lets this through. */
	CHECK(unshare(CLONE_NEWUTS) == 0);
#ifdef SYS_clone3
	/* Reaches the kernel, which finds the arguments bad. */
	CHECK((errno = 0, syscall(SYS_clone3, NULL, 0)) == -1 && errno != ENOSYS && errno != EPERM);
#endif
	CHECK_ERRNO(syscall(SYS_keyctl, 0, -1, 0, 0, 0), EPERM);
	return 0;
}

static void test_default_load_sys_admin(void **state)
{
	(void)state;
	struct runtime_seccomp s;

	need_load();
	if (geteuid() != 0)
		skip(); /* unshare needs the real capability too */
	compile_ok(NULL, 0, DOCKER_CAPS | CAP(CAP_SYS_ADMIN_), &s);
	assert_exit0(in_child(&s, sys_admin_checks));
	runtime_seccomp_free(&s);
}

/* ---- the default profile, interpreted ---- */

static void test_default_structure(void **state)
{
	(void)state;
	struct runtime_seccomp s;
	const uint32_t x86 = AUDIT_ARCH_X86_64;

	compile_ok(NULL, x86, DOCKER_CAPS, &s);
	/* Architecture check first, then the x32 refusal. */
	assert_int_equal(s.insns[0].code, BPF_LD | BPF_W | BPF_ABS);
	assert_int_equal(s.insns[0].k, 4);
	assert_int_equal(s.insns[1].code, BPF_JMP | BPF_JEQ | BPF_K);
	assert_int_equal(s.insns[1].k, AUDIT_ARCH_X86_64);
	assert_int_equal(s.insns[2].code, BPF_RET | BPF_K);
	assert_int_equal(s.insns[2].k, SECCOMP_RET_KILL_PROCESS);
	assert_int_equal(run(&s, AUDIT_ARCH_I386, 20, NULL), SECCOMP_RET_KILL_PROCESS);
	assert_int_equal(run(&s, AUDIT_ARCH_AARCH64, A64_OPENAT, NULL), SECCOMP_RET_KILL_PROCESS);
	assert_int_equal(run(&s, x86, X86_OPENAT, NULL), ALLOW);
	assert_int_equal(run(&s, x86, X86_OPENAT | 0x40000000, NULL), ERRNO(EPERM)); /* x32 */
	assert_int_equal(run(&s, x86, 0 /* read */, NULL), ALLOW);
	assert_int_equal(run(&s, x86, X86_KEYCTL, NULL), ERRNO(EPERM));
	assert_int_equal(run(&s, x86, X86_UNSHARE, NULL), ERRNO(EPERM));
	assert_int_equal(run(&s, x86, X86_MOUNT, NULL), ERRNO(EPERM));
	assert_int_equal(run(&s, x86, X86_REBOOT, NULL), ERRNO(EPERM));
	assert_int_equal(run(&s, x86, X86_SETTIMEOFDAY, NULL), ERRNO(EPERM));
	assert_int_equal(run(&s, x86, X86_IOPL, NULL), ERRNO(EPERM));
	assert_int_equal(run(&s, x86, X86_ARCH_PRCTL, NULL), ALLOW);
	assert_int_equal(run(&s, x86, X86_PTRACE, NULL), ALLOW);
	assert_int_equal(run(&s, x86, 9999, NULL), ERRNO(EPERM));
	assert_int_equal(run(&s, x86, -1, NULL), ERRNO(EPERM));
	assert_int_equal(run(&s, x86, X86_CLONE3, NULL), ERRNO(ENOSYS));
	assert_int_equal(run1(&s, x86, X86_CLONE, SIGCHLD | 0x00100000 /* CLONE_PARENT_SETTID */), ALLOW);
	assert_int_equal(run1(&s, x86, X86_CLONE, SIGCHLD | 0x00020000 /* CLONE_NEWNS */), ERRNO(EPERM));
	assert_int_equal(run1(&s, x86, X86_CLONE, 0x40000000 /* CLONE_NEWNET */), ERRNO(EPERM));
	assert_int_equal(run1(&s, x86, X86_CLONE, UINT64_C(0x100000000) | SIGCHLD), ALLOW);
	static const uint64_t ok_persona[] = { 0, 8, 0x20000, 0x20008, 0xffffffff };
	for (size_t i = 0; i < 5; i++)
		assert_int_equal(run1(&s, x86, X86_PERSONALITY, ok_persona[i]), ALLOW);
	assert_int_equal(run1(&s, x86, X86_PERSONALITY, 0x0400000), ERRNO(EPERM));
	assert_int_equal(run1(&s, x86, X86_PERSONALITY, UINT64_C(0x1ffffffff)), ERRNO(EPERM));
	assert_int_equal(run1(&s, x86, X86_SOCKET, 40), ERRNO(EPERM));
	assert_int_equal(run1(&s, x86, X86_SOCKET, UINT64_C(0x100000028)), ALLOW);
	assert_int_equal(run1(&s, x86, X86_SOCKET, 1), ALLOW);
	runtime_seccomp_free(&s);

	/* The capability groups. */
	static const struct {
		int cap, nr;
	} groups[] = {
		{ 21, X86_MOUNT }, { 21, X86_UNSHARE }, { 22, X86_REBOOT }, { 25, X86_SETTIMEOFDAY },
		{ 17, X86_IOPL },  { 16, 175 /* init_module */ }, { 34, 103 /* syslog */ }, { 20, 163 /* acct */ },
		{ 18, 161 /* chroot */ }, { 19, 312 /* kcmp */ }, { 23, 237 /* mbind */ }, { 39, 321 /* bpf */ },
		{ 38, 298 /* perf_event_open */ }, { 2, 304 /* open_by_handle_at */ }, { 26, 153 /* vhangup */ },
	};
	for (size_t i = 0; i < ARRAY_SIZE(groups); i++) {
		compile_ok(NULL, x86, CAP(groups[i].cap), &s);
		assert_int_equal(run(&s, x86, groups[i].nr, NULL), ALLOW);
		runtime_seccomp_free(&s);
		compile_ok(NULL, x86, RT_CAP_ALL_TEST & ~CAP(groups[i].cap), &s);
		if (groups[i].nr != 103 && groups[i].nr != 321 && groups[i].nr != 298)
			assert_int_equal(run(&s, x86, groups[i].nr, NULL), ERRNO(EPERM));
		runtime_seccomp_free(&s);
	}
	compile_ok(NULL, x86, CAP(CAP_SYS_ADMIN_), &s);
	assert_int_equal(run1(&s, x86, X86_CLONE, 0x00020000), ALLOW);
	assert_int_equal(run(&s, x86, X86_CLONE3, NULL), ALLOW);
	assert_int_equal(run(&s, x86, X86_KEYCTL, NULL), ERRNO(EPERM));
	runtime_seccomp_free(&s);
}

static void test_aarch64(void **state)
{
	(void)state;
	struct runtime_seccomp s;
	const uint32_t a64 = AUDIT_ARCH_AARCH64;

	compile_ok(NULL, a64, DOCKER_CAPS, &s);
	assert_int_equal(s.insns[0].code, BPF_LD | BPF_W | BPF_ABS);
	assert_int_equal(s.insns[0].k, 4);
	assert_int_equal(s.insns[1].code, BPF_JMP | BPF_JEQ | BPF_K);
	assert_int_equal(s.insns[1].k, AUDIT_ARCH_AARCH64);
	assert_int_equal(s.insns[2].k, SECCOMP_RET_KILL_PROCESS);
	/* No x32 check: the dispatch starts right after loading nr. */
	assert_int_equal(s.insns[3].code, BPF_LD | BPF_W | BPF_ABS);
	assert_int_equal(s.insns[3].k, 0);
	assert_int_not_equal(s.insns[4].code, BPF_JMP | BPF_JSET | BPF_K);
	assert_int_equal(run(&s, AUDIT_ARCH_X86_64, X86_OPENAT, NULL), SECCOMP_RET_KILL_PROCESS);
	assert_int_equal(run(&s, a64, A64_OPENAT, NULL), ALLOW);
	assert_int_equal(run(&s, a64, A64_UNSHARE, NULL), ERRNO(EPERM));
	assert_int_equal(run1(&s, a64, A64_CLONE, SIGCHLD), ALLOW);
	assert_int_equal(run1(&s, a64, A64_CLONE, SIGCHLD | 0x00020000), ERRNO(EPERM));
	assert_int_equal(run(&s, a64, 435 /* clone3 */, NULL), ERRNO(ENOSYS));
	runtime_seccomp_free(&s);

	/* A profile's names take the aarch64 numbers; x86-only names are skipped. */
	compile_ok("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"openat\", \"arch_prctl\","
		   " \"open\"], \"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 5}]}",
		   a64, 0, &s);
	int found = 0;
	for (size_t i = 0; i < s.len; i++)
		if (s.insns[i].code == (BPF_JMP | BPF_JEQ | BPF_K) && s.insns[i].k == A64_OPENAT)
			found = 1;
	assert_true(found);
	assert_int_equal(run(&s, a64, A64_OPENAT, NULL), ERRNO(5));
	assert_int_equal(run(&s, a64, X86_OPENAT, NULL), ALLOW);
	assert_int_equal(run(&s, a64, X86_ARCH_PRCTL, NULL), ALLOW);
	runtime_seccomp_free(&s);
}

/* ---- operators ---- */

static const char *const ops[] = {
	"SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE", "SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_MASKED_EQ",
};

static const uint64_t V = UINT64_C(0x100000005);
static const uint64_t MASK = UINT64_C(0xff000000ff), WANT = UINT64_C(0x1200000034);
static const uint64_t probes[] = {
	0, 5, 6, 4, UINT64_C(0x100000000), UINT64_C(0x100000004), UINT64_C(0x100000005), UINT64_C(0x100000006),
	UINT64_C(0x200000005), UINT64_C(0x200000000), UINT64_C(0xffffffff), UINT64_C(0xffffffff00000005),
	UINT64_MAX, UINT64_C(0x1200000034), UINT64_C(0x12ffffff34), UINT64_C(0x1300000034), UINT64_C(0x1200000035),
	UINT64_C(0xab12cdef0034),
};

static int holds(int op, uint64_t x)
{
	switch (op) {
	case 0: return x != V;
	case 1: return x < V;
	case 2: return x <= V;
	case 3: return x == V;
	case 4: return x >= V;
	case 5: return x > V;
	default: return (x & MASK) == WANT;
	}
}

static json_t *op_profile(int op, int index)
{
	return json_pack("{s:s, s:[{s:[s], s:s, s:i, s:[{s:i, s:I, s:I, s:s}]}]}", "defaultAction", "SCMP_ACT_ALLOW",
			 "syscalls", "names", "getppid", "action", "SCMP_ACT_ERRNO", "errnoRet", 100 + op, "args",
			 "index", index, "value", (json_int_t)(op == 6 ? MASK : V), "valueTwo",
			 (json_int_t)(op == 6 ? WANT : 0), "op", ops[op]);
}

static void test_operators(void **state)
{
	(void)state;
	struct ember_error e;

	for (int op = 0; op < 7; op++) {
		for (int index = 0; index < 6; index++) {
			struct runtime_seccomp s;
			json_t *p = op_profile(op, index);
			assert_non_null(p);
			assert_int_equal(runtime_seccomp_compile(p, AUDIT_ARCH_X86_64, 0, &s, &e), 0);
			for (size_t i = 0; i < ARRAY_SIZE(probes); i++) {
				uint64_t args[6] = { 0 };
				args[index] = probes[i];
				uint32_t want = holds(op, probes[i]) ? ERRNO(100 + op) : ALLOW;
				if (run(&s, AUDIT_ARCH_X86_64, X86_GETPPID, args) != want)
					fail_msg("%s args[%d] = 0x%llx: want 0x%x", ops[op], index,
						 (unsigned long long)probes[i], want);
				/* The other arguments do not matter. */
				for (int k = 0; k < 6; k++)
					if (k != index)
						args[k] = probes[(i + k) % ARRAY_SIZE(probes)];
				assert_int_equal(run(&s, AUDIT_ARCH_X86_64, X86_GETPPID, args), want);
			}
			runtime_seccomp_free(&s);
			json_decref(p);
		}
	}
}

/* The kernel agrees with the interpreter: each operator, loaded. */
static int cur_op;

static int op_checks(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(probes); i++) {
		errno = 0;
		long r = syscall(SYS_getppid, 0, probes[i], 0, 0, 0, 0);
		if (holds(cur_op, probes[i]))
			CHECK(r == -1 && errno == 100 + cur_op);
		else
			CHECK(r == getppid());
	}
	return 0;
}

static void test_operators_load(void **state)
{
	(void)state;
	struct ember_error e;

	need_load();
	for (cur_op = 0; cur_op < 7; cur_op++) {
		struct runtime_seccomp s;
		json_t *p = op_profile(cur_op, 1);
		assert_int_equal(runtime_seccomp_compile(p, 0, 0, &s, &e), 0);
		int status = in_child(&s, op_checks);
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
			fail_msg("%s: child status 0x%x", ops[cur_op], status);
		runtime_seccomp_free(&s);
		json_decref(p);
	}
}

/* ---- actions, errnoRet, rule order ---- */

static void test_actions(void **state)
{
	(void)state;
	struct runtime_seccomp s;
	const uint32_t x86 = AUDIT_ARCH_X86_64;

	compile_ok("{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"defaultErrnoRet\": 13, \"syscalls\": ["
		   "{\"names\": [\"read\"], \"action\": \"SCMP_ACT_ALLOW\"},"
		   "{\"name\": \"write\", \"action\": \"SCMP_ACT_LOG\"},"
		   "{\"names\": [\"open\"], \"action\": \"SCMP_ACT_TRAP\"},"
		   "{\"names\": [\"close\"], \"action\": \"SCMP_ACT_KILL\"},"
		   "{\"names\": [\"stat\"], \"action\": \"SCMP_ACT_KILL_THREAD\"},"
		   "{\"names\": [\"fstat\"], \"action\": \"SCMP_ACT_KILL_PROCESS\"},"
		   "{\"names\": [\"lstat\"], \"action\": \"SCMP_ACT_TRACE\", \"errnoRet\": 9},"
		   "{\"names\": [\"poll\"], \"action\": \"SCMP_ACT_ERRNO\"},"
		   "{\"names\": [\"lseek\"], \"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 0},"
		   "{\"names\": [\"mmap\"], \"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 4095},"
		   "{\"names\": [\"mprotect\"], \"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 13}"
		   "]}",
		   x86, 0, &s);
	assert_int_equal(run(&s, x86, 0, NULL), ALLOW);
	assert_int_equal(run(&s, x86, 1, NULL), SECCOMP_RET_LOG);
	assert_int_equal(run(&s, x86, 2, NULL), SECCOMP_RET_TRAP);
	assert_int_equal(run(&s, x86, 3, NULL), SECCOMP_RET_KILL_THREAD);
	assert_int_equal(run(&s, x86, 4, NULL), SECCOMP_RET_KILL_THREAD);
	assert_int_equal(run(&s, x86, 5, NULL), SECCOMP_RET_KILL_PROCESS);
	assert_int_equal(run(&s, x86, 6, NULL), SECCOMP_RET_TRACE | 9);
	assert_int_equal(run(&s, x86, 7, NULL), ERRNO(EPERM));
	assert_int_equal(run(&s, x86, 8, NULL), ERRNO(0));
	assert_int_equal(run(&s, x86, 9, NULL), ERRNO(4095));
	assert_int_equal(run(&s, x86, 10, NULL), ERRNO(13));
	assert_int_equal(run(&s, x86, 11, NULL), ERRNO(13)); /* default */
	runtime_seccomp_free(&s);

	/* Rules with conditions first, in profile order, then the
	   unconditional one; a rule with the default action still shadows
	   later ones. */
	compile_ok("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": ["
		   "{\"names\": [\"getppid\"], \"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 1},"
		   "{\"names\": [\"getppid\"], \"action\": \"SCMP_ACT_ALLOW\", \"args\": [{\"index\": 0, \"value\": 7, \"op\": \"SCMP_CMP_EQ\"}]},"
		   "{\"names\": [\"getppid\"], \"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 2, \"args\": [{\"index\": 0, \"value\": 5, \"op\": \"SCMP_CMP_GE\"}]},"
		   "{\"names\": [\"getppid\"], \"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 3,"
		   " \"args\": [{\"index\": 0, \"value\": 3, \"op\": \"SCMP_CMP_EQ\"}, {\"index\": 1, \"value\": 4, \"op\": \"SCMP_CMP_EQ\"}]},"
		   "{\"names\": [\"getppid\"], \"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 4}"
		   "]}",
		   x86, 0, &s);
	uint64_t a[6] = { 7 };
	assert_int_equal(run(&s, x86, X86_GETPPID, a), ALLOW);
	a[0] = 6;
	assert_int_equal(run(&s, x86, X86_GETPPID, a), ERRNO(2));
	a[0] = 3;
	assert_int_equal(run(&s, x86, X86_GETPPID, a), ERRNO(1));
	a[1] = 4;
	assert_int_equal(run(&s, x86, X86_GETPPID, a), ERRNO(3));
	a[0] = 0;
	assert_int_equal(run(&s, x86, X86_GETPPID, a), ERRNO(1));
	runtime_seccomp_free(&s);
}

static int errno_checks(void)
{
	errno = 0;
	CHECK(syscall(SYS_getppid, 1) == -1 && errno == 42);
	CHECK(syscall(SYS_getppid, 2) == -1 && errno == 4095);
	CHECK(syscall(SYS_getppid, 3) == 0); /* errnoRet 0: "success" */
	CHECK(syscall(SYS_getppid, 4) == getppid());
	CHECK_ERRNO(syscall(SYS_getuid), 13);
	return 0;
}

static int kill_checks(void)
{
	syscall(SYS_getppid);
	return 3; /* not reached */
}

static void test_actions_load(void **state)
{
	(void)state;
	struct runtime_seccomp s;

	need_load();
	/* The default allows: the sanitizers in the child need more than a
	   few syscalls. */
	compile_ok("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": ["
		   "{\"names\": [\"getuid\"], \"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 13},"
		   "{\"names\": [\"getppid\"], \"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 42, \"args\": [{\"index\": 0, \"value\": 1, \"op\": \"SCMP_CMP_EQ\"}]},"
		   "{\"names\": [\"getppid\"], \"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 4095, \"args\": [{\"index\": 0, \"value\": 2, \"op\": \"SCMP_CMP_EQ\"}]},"
		   "{\"names\": [\"getppid\"], \"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 0, \"args\": [{\"index\": 0, \"value\": 3, \"op\": \"SCMP_CMP_EQ\"}]}"
		   "]}",
		   0, 0, &s);
	assert_exit0(in_child(&s, errno_checks));
	runtime_seccomp_free(&s);

	compile_ok("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": ["
		   "{\"names\": [\"getppid\"], \"action\": \"SCMP_ACT_KILL_PROCESS\"}]}",
		   0, 0, &s);
	int status = in_child(&s, kill_checks);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGSYS);
	runtime_seccomp_free(&s);
}

/* ---- includes, excludes, names ---- */

static void test_includes_excludes(void **state)
{
	(void)state;
	struct runtime_seccomp s;
	const uint32_t x86 = AUDIT_ARCH_X86_64, a64 = AUDIT_ARCH_AARCH64;
	const char *p =
		"{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"architectures\": [\"SCMP_ARCH_X86_64\", \"SCMP_ARCH_X86\"],"
		" \"archMap\": [{\"architecture\": \"SCMP_ARCH_AARCH64\", \"subArchitectures\": [\"SCMP_ARCH_ARM\"]},"
		"  {\"architecture\": \"SCMP_ARCH_RISCV64\", \"subArchitectures\": null}],"
		" \"syscalls\": ["
		"{\"names\": [\"getppid\"], \"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 1, \"includes\": {\"caps\": [\"CAP_SYS_ADMIN\", \"CAP_NET_ADMIN\"]}},"
		"{\"names\": [\"getppid\"], \"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 2, \"includes\": {\"arches\": [\"arm64\"]}},"
		"{\"names\": [\"getppid\"], \"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 3, \"excludes\": {\"caps\": [\"CAP_SYS_ADMIN\"], \"arches\": [\"s390x\"]}},"
		"{\"names\": [\"getuid\"], \"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 4, \"includes\": {\"minKernel\": \"2.6\"}},"
		"{\"names\": [\"getgid\"], \"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 5, \"includes\": {\"minKernel\": \"999.0\"}},"
		"{\"names\": [\"geteuid\"], \"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 6, \"excludes\": {\"minKernel\": \"2.6\"}},"
		"{\"names\": [\"getegid\"], \"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 7, \"includes\": {\"arches\": [\"amd64\", \"x32\"], \"caps\": [\"CAP_NO_SUCH\"]}},"
		"{\"names\": [\"no_such_syscall\", \"getpgrp\"], \"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 8, \"comment\": \"skipped names\"}"
		"]}";

	compile_ok(p, x86, CAP(21) | CAP(12), &s);
	assert_int_equal(run(&s, x86, X86_GETPPID, NULL), ERRNO(1));
	assert_int_equal(run(&s, x86, 102 /* getuid */, NULL), ERRNO(4));
	assert_int_equal(run(&s, x86, 104 /* getgid */, NULL), ALLOW);
	assert_int_equal(run(&s, x86, 107 /* geteuid */, NULL), ALLOW);
	assert_int_equal(run(&s, x86, 108 /* getegid */, NULL), ALLOW);
	assert_int_equal(run(&s, x86, 111 /* getpgrp */, NULL), ERRNO(8));
	runtime_seccomp_free(&s);
	compile_ok(p, x86, CAP(21), &s); /* lacks NET_ADMIN, has SYS_ADMIN */
	assert_int_equal(run(&s, x86, X86_GETPPID, NULL), ALLOW);
	runtime_seccomp_free(&s);
	compile_ok(p, x86, 0, &s);
	assert_int_equal(run(&s, x86, X86_GETPPID, NULL), ERRNO(3));
	runtime_seccomp_free(&s);
	compile_ok(p, a64, 0, &s);
	assert_int_equal(run(&s, a64, A64_GETPPID, NULL), ERRNO(2));
	runtime_seccomp_free(&s);
}

/* ---- bad profiles ---- */

static void test_bad_profiles(void **state)
{
	(void)state;
	static const struct {
		const char *json, *msg;
	} cases[] = {
		{ "[]", "seccomp: the profile must be a JSON object" },
		{ "{}", "seccomp: defaultAction: missing" },
		{ "{\"defaultAction\": 1}", "seccomp: defaultAction: must be a string" },
		{ "{\"defaultAction\": \"SCMP_ACT_FOO\"}", "seccomp: defaultAction: unknown action \"SCMP_ACT_FOO\"" },
		{ "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"defaultErrnoRet\": 1}",
		  "seccomp: defaultErrnoRet: only for SCMP_ACT_ERRNO and SCMP_ACT_TRACE" },
		{ "{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"defaultErrnoRet\": 4096}",
		  "seccomp: defaultErrnoRet: must be an integer, 0 .. 4095" },
		{ "{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"defaultErrnoRet\": \"1\"}",
		  "seccomp: defaultErrnoRet: must be an integer, 0 .. 4095" },
		{ "{\"defaultAction\": \"SCMP_ACT_NOTIFY\"}", "seccomp: defaultAction: SCMP_ACT_NOTIFY is not supported" },
		{ "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"architectures\": \"x\"}",
		  "seccomp: architectures: must be an array of strings" },
		{ "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"architectures\": [\"SCMP_ARCH_X86\", 3]}",
		  "seccomp: architectures[1]: must be a string" },
		{ "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"archMap\": [{\"architecture\": 1}]}",
		  "seccomp: archMap[0].architecture: must be a string" },
		{ "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"flags\": [\"SECCOMP_FILTER_FLAG_FOO\"]}",
		  "seccomp: flags[0]: unknown flag \"SECCOMP_FILTER_FLAG_FOO\"" },
		{ "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": {}}", "seccomp: syscalls: must be an array" },
		{ "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [1]}", "seccomp: syscalls[0]: must be an object" },
		{ "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"action\": \"SCMP_ACT_ALLOW\"}]}",
		  "seccomp: syscalls[0].names: must name at least one syscall" },
		{ "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [], \"action\": \"SCMP_ACT_ALLOW\"}]}",
		  "seccomp: syscalls[0].names: must name at least one syscall" },
		{ "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": \"read\", \"action\": \"SCMP_ACT_ALLOW\"}]}",
		  "seccomp: syscalls[0].names: must be an array of strings" },
		{ "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"read\", null], \"action\": \"SCMP_ACT_ALLOW\"}]}",
		  "seccomp: syscalls[0].names[1]: must be a string" },
		{ "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"name\": 5, \"action\": \"SCMP_ACT_ALLOW\"}]}",
		  "seccomp: syscalls[0].name: must be a string" },
		{ "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"read\"]}]}",
		  "seccomp: syscalls[0].action: missing" },
		{ "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"read\"], \"action\": \"SCMP_ACT_BAR\"}]}",
		  "seccomp: syscalls[0].action: unknown action \"SCMP_ACT_BAR\"" },
		{ "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"read\"], \"action\": \"SCMP_ACT_KILL\", \"errnoRet\": 1}]}",
		  "seccomp: syscalls[0].errnoRet: only for SCMP_ACT_ERRNO and SCMP_ACT_TRACE" },
		{ "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"read\"], \"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": -1}]}",
		  "seccomp: syscalls[0].errnoRet: must be an integer, 0 .. 4095" },
		{ "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"read\"], \"action\": \"SCMP_ACT_ERRNO\", \"args\": {}}]}",
		  "seccomp: syscalls[0].args: must be an array" },
		{ "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{}, {}, {}, {\"names\": [\"read\"], \"action\": \"SCMP_ACT_ERRNO\","
		  " \"args\": [{\"index\": 0, \"value\": 1, \"op\": \"FOO\"}]}]}",
		  "seccomp: syscalls[0].names: must name at least one syscall" },
		{ "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"a\"], \"action\": \"SCMP_ACT_LOG\"},"
		  " {\"names\": [\"b\"], \"action\": \"SCMP_ACT_LOG\"}, {\"names\": [\"c\"], \"action\": \"SCMP_ACT_LOG\"},"
		  " {\"names\": [\"read\"], \"action\": \"SCMP_ACT_ERRNO\", \"args\": [{\"index\": 0, \"value\": 1, \"op\": \"FOO\"}]}]}",
		  "seccomp: syscalls[3].args[0].op: unknown operator \"FOO\"" },
		{ "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"read\"], \"action\": \"SCMP_ACT_ERRNO\","
		  " \"args\": [{\"index\": 0, \"value\": 1, \"op\": 3}]}]}",
		  "seccomp: syscalls[0].args[0].op: must be a string" },
		{ "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"read\"], \"action\": \"SCMP_ACT_ERRNO\","
		  " \"args\": [{\"index\": 6, \"value\": 1, \"op\": \"SCMP_CMP_EQ\"}]}]}",
		  "seccomp: syscalls[0].args[0].index: must be an integer, 0 .. 5" },
		{ "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"read\"], \"action\": \"SCMP_ACT_ERRNO\","
		  " \"args\": [{\"index\": \"0\", \"value\": 1, \"op\": \"SCMP_CMP_EQ\"}]}]}",
		  "seccomp: syscalls[0].args[0].index: must be an integer, 0 .. 5" },
		{ "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"read\"], \"action\": \"SCMP_ACT_ERRNO\","
		  " \"args\": [{\"value\": 1, \"op\": \"SCMP_CMP_EQ\"}]}]}",
		  "seccomp: syscalls[0].args[0].index: missing" },
		{ "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"read\"], \"action\": \"SCMP_ACT_ERRNO\","
		  " \"args\": [{\"index\": 1, \"value\": 1.5, \"op\": \"SCMP_CMP_EQ\"}]}]}",
		  "seccomp: syscalls[0].args[0].value: must be an integer" },
		{ "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"read\"], \"action\": \"SCMP_ACT_ERRNO\","
		  " \"args\": [{\"index\": 1, \"value\": 1, \"valueTwo\": \"2\", \"op\": \"SCMP_CMP_MASKED_EQ\"}]}]}",
		  "seccomp: syscalls[0].args[0].valueTwo: must be an integer" },
		{ "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"read\"], \"action\": \"SCMP_ACT_ERRNO\","
		  " \"args\": [{\"index\": 1, \"op\": \"SCMP_CMP_EQ\"}]}]}",
		  "seccomp: syscalls[0].args[0].value: missing" },
		{ "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"read\"], \"action\": \"SCMP_ACT_ERRNO\", \"args\": ["
		  "{\"index\": 0, \"value\": 1, \"op\": \"SCMP_CMP_EQ\"}, {\"index\": 1, \"value\": 1, \"op\": \"SCMP_CMP_EQ\"},"
		  "{\"index\": 2, \"value\": 1, \"op\": \"SCMP_CMP_EQ\"}, {\"index\": 3, \"value\": 1, \"op\": \"SCMP_CMP_EQ\"},"
		  "{\"index\": 4, \"value\": 1, \"op\": \"SCMP_CMP_EQ\"}, {\"index\": 5, \"value\": 1, \"op\": \"SCMP_CMP_EQ\"},"
		  "{\"index\": 0, \"value\": 1, \"op\": \"SCMP_CMP_EQ\"}]}]}",
		  "seccomp: syscalls[0].args: more than 6 conditions" },
		{ "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"read\"], \"action\": \"SCMP_ACT_ERRNO\", \"includes\": []}]}",
		  "seccomp: syscalls[0].includes: must be an object" },
		{ "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"read\"], \"action\": \"SCMP_ACT_ERRNO\", \"excludes\": {\"caps\": \"CAP_SYS_ADMIN\"}}]}",
		  "seccomp: syscalls[0].excludes.caps: must be an array of strings" },
		{ "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"read\"], \"action\": \"SCMP_ACT_ERRNO\", \"includes\": {\"arches\": [1]}}]}",
		  "seccomp: syscalls[0].includes.arches[0]: must be a string" },
		{ "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"read\"], \"action\": \"SCMP_ACT_ERRNO\", \"includes\": {\"minKernel\": \"four\"}}]}",
		  "seccomp: syscalls[0].includes.minKernel: must be a kernel version (\"4.8\"), not \"four\"" },
		{ "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"read\"], \"action\": \"SCMP_ACT_ERRNO\", \"excludes\": {\"minKernel\": \"4.8x\"}}]}",
		  "seccomp: syscalls[0].excludes.minKernel: must be a kernel version (\"4.8\"), not \"4.8x\"" },
		{ "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"read\"], \"action\": \"SCMP_ACT_ERRNO\", \"excludes\": {\"minKernel\": 4}}]}",
		  "seccomp: syscalls[0].excludes.minKernel: must be a string (\"4.8\")" },
		/* Checked even where includes leave the rule out. */
		{ "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"read\"], \"action\": \"SCMP_ACT_ERRNO\","
		  " \"includes\": {\"arches\": [\"s390x\"]}, \"args\": [{\"index\": 9, \"value\": 1, \"op\": \"SCMP_CMP_EQ\"}]}]}",
		  "seccomp: syscalls[0].args[0].index: must be an integer, 0 .. 5" },
	};
	struct ember_error e;

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct runtime_seccomp s = { .len = 99 };
		json_t *j = J(cases[i].json);
		int r = runtime_seccomp_compile(j, AUDIT_ARCH_X86_64, 0, &s, &e);
		if (r >= 0)
			fail_msg("compiled: %s", cases[i].json);
		assert_int_equal(r, -e.code);
		assert_true(e.code == EINVAL || e.code == ENOTSUP);
		assert_msg_contains(&e, cases[i].msg);
		assert_null(s.insns);
		assert_int_equal(s.len, 0);
		json_decref(j);
	}

	/* An architecture without a table. */
	struct runtime_seccomp s;
	assert_int_equal(runtime_seccomp_compile(NULL, AUDIT_ARCH_I386, 0, &s, &e), -ENOTSUP);
	assert_msg_contains(&e, "seccomp: no syscall table for audit architecture 0x40000003");
}

/* syscalls[] entries for one rule per name: n conditional rules on getppid. */
static json_t *many_rules(size_t entries, size_t names_each, int with_args)
{
	json_t *scs = json_array();
	for (size_t i = 0; i < entries; i++) {
		json_t *names = json_array();
		for (size_t k = 0; k < names_each; k++)
			json_array_append_new(names, json_string("getppid"));
		json_t *sc = json_pack("{s:o, s:s, s:i}", "names", names, "action", "SCMP_ACT_ERRNO", "errnoRet",
				       (int)(1 + i % 4000));
		if (with_args)
			json_object_set_new(sc, "args", json_pack("[{s:i, s:I, s:s}]", "index", 0, "value",
								   (json_int_t)i, "op", "SCMP_CMP_EQ"));
		json_array_append_new(scs, sc);
	}
	return json_pack("{s:s, s:o}", "defaultAction", "SCMP_ACT_ALLOW", "syscalls", scs);
}

static void test_limits(void **state)
{
	(void)state;
	struct runtime_seccomp s;
	struct ember_error e;

	/* Too many rules. */
	json_t *p = many_rules(2, 2100, 1);
	assert_int_equal(runtime_seccomp_compile(p, AUDIT_ARCH_X86_64, 0, &s, &e), -EINVAL);
	assert_msg_contains(&e, "seccomp: more than 4096 rules");
	json_decref(p);

	/* Too many names in one entry. */
	p = many_rules(1, 4097, 0);
	assert_int_equal(runtime_seccomp_compile(p, AUDIT_ARCH_X86_64, 0, &s, &e), -EINVAL);
	assert_msg_contains(&e, "seccomp: syscalls[0].names: more than 4096 entries");
	json_decref(p);

	/* Too long a program: 1000 conditions of 4 instructions and a return. */
	p = many_rules(1000, 1, 1);
	assert_int_equal(runtime_seccomp_compile(p, AUDIT_ARCH_X86_64, 0, &s, &e), -E2BIG);
	assert_msg_contains(&e, "seccomp: the filter needs more than 4096 BPF instructions");
	assert_null(s.insns);
	json_decref(p);
}

/* ---- long jumps ---- */

/* 600 conditional rules on getppid: far more than an 8-bit jump offset
   spans. */
static json_t *long_profile(void)
{
	return many_rules(600, 1, 1);
}

static int long_checks(void)
{
	for (long i = 0; i < 600; i += 37) {
		errno = 0;
		CHECK(syscall(SYS_getppid, i) == -1 && errno == 1 + i);
	}
	CHECK(syscall(SYS_getppid, 600) == getppid());
	CHECK(syscall(SYS_getpid) == getpid());
	return 0;
}

static void test_long_jumps(void **state)
{
	(void)state;
	struct runtime_seccomp s;
	struct ember_error e;
	const uint32_t x86 = AUDIT_ARCH_X86_64;

	json_t *p = long_profile();
	assert_int_equal(runtime_seccomp_compile(p, x86, 0, &s, &e), 0);
	assert_true(s.len > 600 * 4);
	int ja = 0;
	for (size_t i = 0; i < s.len; i++)
		ja += s.insns[i].code == (BPF_JMP | BPF_JA);
	assert_true(ja > 0);
	for (uint64_t i = 0; i < 601; i++) {
		uint64_t a[6] = { i };
		assert_int_equal(run(&s, x86, X86_GETPPID, a), i < 600 ? ERRNO(1 + i) : ALLOW);
		a[0] = i | UINT64_C(0x100000000);
		assert_int_equal(run(&s, x86, X86_GETPPID, a), ALLOW);
	}
	runtime_seccomp_free(&s);

	/* The default profile with every capability group: the largest
	   dispatch tree ember makes. */
	compile_ok(NULL, x86, RT_CAP_ALL_TEST, &s);
	assert_int_equal(run(&s, x86, X86_CLONE3, NULL), ALLOW);
	assert_int_equal(run(&s, x86, 169 /* reboot */, NULL), ALLOW);
	assert_int_equal(run(&s, x86, X86_KEYCTL, NULL), ERRNO(EPERM));
	assert_int_equal(run(&s, x86, 334, NULL), ALLOW); /* rseq */
	assert_int_equal(run(&s, x86, 248, NULL), ERRNO(EPERM)); /* add_key */
	runtime_seccomp_free(&s);

	/* The kernel's checker accepts the trampolines, and agrees. */
	if (loads()) {
		assert_int_equal(runtime_seccomp_compile(p, 0, 0, &s, &e), 0);
		assert_exit0(in_child(&s, long_checks));
		runtime_seccomp_free(&s);
	}
	json_decref(p);
}

/* ---- profile files ---- */

static void test_profile_read(void **state)
{
	(void)state;
	char *dir = unit_mkdtemp();
	char path[4200];
	struct ember_error e;
	json_t *j = NULL;
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	assert_true(dfd >= 0);
	unit_write(dfd, "ok.json", "{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"syscalls\": [{\"names\": [\"read\"], \"action\": \"SCMP_ACT_ALLOW\"}]}");
	snprintf(path, sizeof(path), "%s/ok.json", dir);
	assert_int_equal(runtime_seccomp_profile_read(path, &j, &e), 0);
	assert_string_equal(json_string_value(json_object_get(j, "defaultAction")), "SCMP_ACT_ERRNO");
	json_decref(j);

	unit_write(dfd, "bad.json", "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"read\"], \"action\": \"NOPE\"}]}");
	snprintf(path, sizeof(path), "%s/bad.json", dir);
	assert_int_equal(runtime_seccomp_profile_read(path, &j, &e), -EINVAL);
	assert_null(j);
	assert_msg_contains(&e, "bad.json: seccomp: syscalls[0].action: unknown action \"NOPE\"");

	unit_write(dfd, "text.json", "{\"defaultAction\": ");
	snprintf(path, sizeof(path), "%s/text.json", dir);
	assert_int_equal(runtime_seccomp_profile_read(path, &j, &e), -EINVAL);
	assert_msg_contains(&e, "text.json: not JSON");

	snprintf(path, sizeof(path), "%s/big.json", dir);
	int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)RUNTIME_SECCOMP_PROFILE_MAX + 1), 0);
	close(fd);
	assert_int_equal(runtime_seccomp_profile_read(path, &j, &e), -E2BIG);
	assert_msg_contains(&e, "over the limit of 1048576");

	snprintf(path, sizeof(path), "%s/missing.json", dir);
	assert_int_equal(runtime_seccomp_profile_read(path, &j, &e), -ENOENT);
	assert_int_equal(runtime_seccomp_profile_read(dir, &j, &e), -EINVAL);
	close(dfd);
	unit_rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_default_structure),
		cmocka_unit_test(test_aarch64),
		cmocka_unit_test(test_operators),
		cmocka_unit_test(test_actions),
		cmocka_unit_test(test_includes_excludes),
		cmocka_unit_test(test_bad_profiles),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_long_jumps),
		cmocka_unit_test(test_profile_read),
		cmocka_unit_test(test_default_load),
		cmocka_unit_test(test_default_load_sys_admin),
		cmocka_unit_test(test_operators_load),
		cmocka_unit_test(test_actions_load),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
