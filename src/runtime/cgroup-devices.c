/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The device cgroup. One list of rules (the spec's, then runc's
 * defaults), two back-ends: on cgroup v2 an eBPF program of type
 * BPF_PROG_TYPE_CGROUP_DEVICE, written here instruction by instruction
 * from the rules (no libbpf: a static binary, and a dozen instructions),
 * loaded with bpf(BPF_PROG_LOAD) and attached to the container's cgroup;
 * on v1 the lines of the devices controller's devices.deny and
 * devices.allow, as runc 1.1 writes them. See runtime.h.
 */
#include "runtime/runtime.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/bpf.h>

#include "runtime/runtime-internal.h"

#define DEV_RULES_MAX 1024
#define DEV_WILD -1
#define DEV_LOG_SIZE 4096 /* the verifier's words, when it refuses */

struct dev_rule {
	int allow;
	int type;        /* 0: any, else BPF_DEVCG_DEV_BLOCK or BPF_DEVCG_DEV_CHAR */
	int64_t major, minor; /* DEV_WILD: any */
	unsigned access; /* BPF_DEVCG_ACC_* bits */
};

/* What every container may use after the spec's own rules, as runc adds
   them: mknod of any node (using one is what the rules decide), the
   standard character devices, the terminals. */
static const struct dev_rule dev_defaults[] = {
	{ 1, BPF_DEVCG_DEV_CHAR, DEV_WILD, DEV_WILD, BPF_DEVCG_ACC_MKNOD },
	{ 1, BPF_DEVCG_DEV_BLOCK, DEV_WILD, DEV_WILD, BPF_DEVCG_ACC_MKNOD },
	{ 1, BPF_DEVCG_DEV_CHAR, 1, 3, 7 },  /* null */
	{ 1, BPF_DEVCG_DEV_CHAR, 1, 8, 7 },  /* random */
	{ 1, BPF_DEVCG_DEV_CHAR, 1, 7, 7 },  /* full */
	{ 1, BPF_DEVCG_DEV_CHAR, 5, 0, 7 },  /* tty */
	{ 1, BPF_DEVCG_DEV_CHAR, 1, 5, 7 },  /* zero */
	{ 1, BPF_DEVCG_DEV_CHAR, 1, 9, 7 },  /* urandom */
	{ 1, BPF_DEVCG_DEV_CHAR, 136, DEV_WILD, 7 }, /* pts/N */
	{ 1, BPF_DEVCG_DEV_CHAR, 5, 2, 7 },  /* ptmx */
	{ 1, BPF_DEVCG_DEV_CHAR, 10, 200, 7 }, /* net/tun */
};

struct dev_rules {
	struct dev_rule r[DEV_RULES_MAX + ARRAY_SIZE(dev_defaults)];
	size_t n;
};

static int dev_number(json_t *o, const char *key, const char *where, size_t i, int64_t *out,
		      struct ember_error *e)
{
	json_t *v = json_object_get(o, key);

	*out = DEV_WILD;
	if (!v || json_is_null(v))
		return 0;
	/* Linux's are 12 and 20 bits; an instruction's immediate is 32. */
	if (!json_is_integer(v) || json_integer_value(v) < -1 || json_integer_value(v) > INT32_MAX)
		return rt_bad(e, "%s[%zu].%s: a device number, or -1 for any", where, i, key);
	*out = json_integer_value(v);
	return 0;
}

/* Rule i of linux.resources.devices. */
static int dev_parse(json_t *o, size_t i, struct dev_rule *r, struct ember_error *e)
{
	static const char where[] = "linux.resources.devices";
	const char *type = json_string_value(json_object_get(o, "type"));
	const char *access = json_string_value(json_object_get(o, "access"));

	if (!json_is_object(o))
		return rt_bad(e, "%s[%zu]: must be an object", where, i);
	if (!json_is_boolean(json_object_get(o, "allow")))
		return rt_bad(e, "%s[%zu].allow: must be true or false", where, i);
	if ((json_object_get(o, "type") && !type) || (json_object_get(o, "access") && !access))
		return rt_bad(e, "%s[%zu]: type and access are strings", where, i);
	r->allow = json_is_true(json_object_get(o, "allow"));
	if (!type || !strcmp(type, "a"))
		r->type = 0;
	else if (!strcmp(type, "c"))
		r->type = BPF_DEVCG_DEV_CHAR;
	else if (!strcmp(type, "b"))
		r->type = BPF_DEVCG_DEV_BLOCK;
	else
		return rt_bad(e, "%s[%zu].type \"%.8s\": must be a, b or c", where, i, type);
	if (dev_number(o, "major", where, i, &r->major, e) < 0 || dev_number(o, "minor", where, i, &r->minor, e) < 0)
		return -e->code;
	r->access = 0;
	for (const char *a = access ? access : "rwm"; *a; a++) {
		if (*a == 'r')
			r->access |= BPF_DEVCG_ACC_READ;
		else if (*a == 'w')
			r->access |= BPF_DEVCG_ACC_WRITE;
		else if (*a == 'm')
			r->access |= BPF_DEVCG_ACC_MKNOD;
		else
			return rt_bad(e, "%s[%zu].access \"%.8s\": letters of \"rwm\"", where, i, access);
	}
	return 0;
}

/* ---- the program ---- */

#define INSN(c, d, s, o, i) ((struct bpf_insn){ .code = (c), .dst_reg = (d), .src_reg = (s), .off = (o), .imm = (i) })

/* Jump targets: the section of access bit 0, 1, 2, then "allowed" and
   "denied". */
enum { LBL_ALLOW = 3, LBL_DENY = 4, LBL_N = 5 };

struct prog {
	struct bpf_insn *in;
	signed char *to; /* per instruction: the label its jump goes to, -1 none */
	size_t n;
	size_t at[LBL_N]; /* where each label is */
};

static void emit(struct prog *p, struct bpf_insn i, int to)
{
	p->in[p->n] = i;
	p->to[p->n++] = (signed char)to;
}

/* Skip the next `skip` instructions unless reg == imm. */
static void emit_jne(struct prog *p, int reg, int64_t imm, int skip)
{
	emit(p, INSN(BPF_JMP | BPF_JNE | BPF_K, reg, 0, (short)skip, (int)imm), -1);
}

/* Instructions prog_build() needs at most for n rules. */
static size_t prog_size(size_t n)
{
	return 6 + 3 * (4 + 4 * n) + 4;
}

/*
 * Registers: r2 the device type, r3 the access asked, r4 major, r5 minor.
 * For each access bit asked (mknod, read, write: an open for reading and
 * writing asks two), the rules that name it are tried last to first: the
 * first that matches the device decides (allow: on to the next bit;
 * deny: denied), and none matching denies. So the last matching rule
 * wins for each kind of access, as v1's devices.allow/deny lists do.
 */
static void prog_build(const struct dev_rules *rs, struct prog *p)
{
	static const unsigned bits[] = { BPF_DEVCG_ACC_MKNOD, BPF_DEVCG_ACC_READ, BPF_DEVCG_ACC_WRITE };

	emit(p, INSN(BPF_LDX | BPF_W | BPF_MEM, 2, 1, 0, 0), -1);
	emit(p, INSN(BPF_ALU | BPF_AND | BPF_K, 2, 0, 0, 0xffff), -1);
	emit(p, INSN(BPF_LDX | BPF_W | BPF_MEM, 3, 1, 0, 0), -1);
	emit(p, INSN(BPF_ALU | BPF_RSH | BPF_K, 3, 0, 0, 16), -1);
	emit(p, INSN(BPF_LDX | BPF_W | BPF_MEM, 4, 1, 4, 0), -1);
	emit(p, INSN(BPF_LDX | BPF_W | BPF_MEM, 5, 1, 8, 0), -1);
	for (int b = 0; b < (int)ARRAY_SIZE(bits); b++) {
		p->at[b] = p->n;
		emit(p, INSN(BPF_ALU | BPF_MOV | BPF_X, 1, 3, 0, 0), -1);
		emit(p, INSN(BPF_ALU | BPF_AND | BPF_K, 1, 0, 0, (int)bits[b]), -1);
		emit(p, INSN(BPF_JMP | BPF_JEQ | BPF_K, 1, 0, 0, 0), b + 1); /* not asked */
		for (size_t k = rs->n; k-- > 0;) {
			const struct dev_rule *r = &rs->r[k];
			if (!(r->access & bits[b]))
				continue;
			int conds = !!r->type + (r->major != DEV_WILD) + (r->minor != DEV_WILD), left = conds;
			if (r->type)
				emit_jne(p, 2, r->type, left--);
			if (r->major != DEV_WILD)
				emit_jne(p, 4, r->major, left--);
			if (r->minor != DEV_WILD)
				emit_jne(p, 5, r->minor, left--);
			emit(p, INSN(BPF_JMP | BPF_JA, 0, 0, 0, 0), r->allow ? b + 1 : LBL_DENY);
			/* It matches every device: the rules before it never
			   decide, nor does the default (the verifier refuses
			   code that cannot be reached). */
			if (!conds)
				goto next;
		}
		emit(p, INSN(BPF_JMP | BPF_JA, 0, 0, 0, 0), LBL_DENY);
	next:;
	}
	p->at[LBL_ALLOW] = p->n;
	emit(p, INSN(BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 1), -1);
	emit(p, INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0), -1);
	p->at[LBL_DENY] = p->n;
	emit(p, INSN(BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 0), -1);
	emit(p, INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0), -1);
	for (size_t i = 0; i < p->n; i++)
		if (p->to[i] >= 0)
			p->in[i].off = (short)(p->at[(int)p->to[i]] - i - 1);
}

/* The rules of lx (the spec's "linux"): resources.devices, then
   dev_defaults. */
static int dev_rules_of(json_t *lx, struct dev_rules *rs, struct ember_error *e)
{
	json_t *list = json_object_get(json_object_get(lx, "resources"), "devices"), *o;
	size_t i;

	rs->n = 0;
	if (list && !json_is_array(list))
		return rt_bad(e, "linux.resources.devices: must be an array");
	if (json_array_size(list) > DEV_RULES_MAX)
		return rt_bad(e, "linux.resources.devices: more than %d rules", DEV_RULES_MAX);
	json_array_foreach(list, i, o)
		if (dev_parse(o, i, &rs->r[rs->n++], e) < 0)
			return -e->code;
	memcpy(&rs->r[rs->n], dev_defaults, sizeof(dev_defaults));
	rs->n += ARRAY_SIZE(dev_defaults);
	return 0;
}

/* The program of the rules rs: *n instructions in *out (malloc'd). */
static int program_of(const struct dev_rules *rs, struct bpf_insn **out, size_t *n, struct ember_error *e)
{
	struct prog p = { 0 };
	size_t cap = prog_size(rs->n);

	*out = NULL;
	*n = 0;
	p.in = calloc(cap, sizeof(*p.in));
	p.to = calloc(cap, 1);
	if (!p.in || !p.to) {
		free(p.in);
		free(p.to);
		return rt_oom(e);
	}
	prog_build(rs, &p);
	free(p.to);
	*out = p.in;
	*n = p.n;
	return 0;
}

int rt_devices_program(json_t *lx, struct bpf_insn **out, size_t *n, struct ember_error *e)
{
	_cleanup_free_ struct dev_rules *rs = malloc(sizeof(*rs));

	*out = NULL;
	*n = 0;
	if (!rs)
		return rt_oom(e);
	if (dev_rules_of(lx, rs, e) < 0)
		return -e->code;
	return program_of(rs, out, n, e);
}

/* ---- v1: devices.deny and devices.allow ---- */

/* Rule r as the lines the v1 controller takes ("c 1:3 rwm", "a"), into
   line[0] and line[1]; how many. The kernel reads a type of "a" as every
   device with every access whatever follows it: a rule of any type with
   a number or fewer letters becomes one line for b and one for c. */
static int v1_lines(const struct dev_rule *r, char line[2][64])
{
	static const int types[] = { BPF_DEVCG_DEV_BLOCK, BPF_DEVCG_DEV_CHAR };
	char maj[24] = "*", min[24] = "*", acc[4] = "";
	const unsigned all = BPF_DEVCG_ACC_MKNOD | BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE;
	int n = 0;

	if (!r->access) /* access "": a rule about nothing */
		return 0;
	if (!r->type && r->major == DEV_WILD && r->minor == DEV_WILD && r->access == all) {
		strcpy(line[0], "a");
		return 1;
	}
	if (r->major != DEV_WILD)
		snprintf(maj, sizeof(maj), "%" PRId64, r->major);
	if (r->minor != DEV_WILD)
		snprintf(min, sizeof(min), "%" PRId64, r->minor);
	if (r->access & BPF_DEVCG_ACC_READ)
		strcat(acc, "r");
	if (r->access & BPF_DEVCG_ACC_WRITE)
		strcat(acc, "w");
	if (r->access & BPF_DEVCG_ACC_MKNOD)
		strcat(acc, "m");
	for (size_t t = 0; t < ARRAY_SIZE(types); t++)
		if (!r->type || r->type == types[t])
			snprintf(line[n++], 64, "%c %s:%s %s", types[t] == BPF_DEVCG_DEV_BLOCK ? 'b' : 'c', maj, min,
				 acc);
	return n;
}

static int v1_write(int fd, const char *file, const char *line, struct ember_error *e)
{
	ssize_t n = write(fd, line, strlen(line));

	if (n < 0)
		return err_sys(e, errno, "cgroup: devices: %s: \"%s\"", file, line);
	if ((size_t)n != strlen(line))
		return err_set(e, EIO, "cgroup: devices: %s: \"%s\": short write", file, line);
	return 0;
}

/* In a user namespace the controller's files refuse every write (they
   want CAP_SYS_ADMIN of the first namespace): runc leaves them alone
   there, and so does this. */
static bool in_userns(void)
{
	char map[128];
	unsigned long inside, outside, count;

	_cleanup_fclose_ FILE *f = fopen("/proc/self/uid_map", "re");
	if (!f || !fgets(map, sizeof(map), f))
		return false;
	return sscanf(map, "%lu %lu %lu", &inside, &outside, &count) != 3 || inside != 0 || outside != 0 ||
	       count != 4294967295UL;
}

/*
 * As runc 1.1 on v1: "a" to devices.deny (a new cgroup allows what its
 * parent does, and the rules are exceptions to denying all, as in the
 * eBPF program), then each rule in its order, an allow to devices.allow,
 * a deny to devices.deny. The kernel keeps a list of exceptions: an allow
 * adds one (EPERM when the parent's list does not allow it), a deny takes
 * away the access of the exceptions naming exactly its device, so a deny
 * narrower or wider than the allow before it takes nothing away (the
 * eBPF program's last match wins there).
 */
static int devices_v1(const struct runtime_cgroup *cg, const struct dev_rules *rs, struct ember_error *e)
{
	char line[2][64];

	if (!runtime_cgroup_has(cg, "devices") || in_userns())
		return 0;
	_cleanup_close_ int allow = runtime_cgroup_open_file(cg, "devices", "devices.allow", O_WRONLY, e);
	if (allow < 0)
		return -e->code;
	_cleanup_close_ int deny = runtime_cgroup_open_file(cg, "devices", "devices.deny", O_WRONLY, e);
	if (deny < 0)
		return -e->code;
	if (v1_write(deny, "devices.deny", "a", e) < 0)
		return -e->code;
	for (size_t i = 0; i < rs->n; i++) {
		int n = v1_lines(&rs->r[i], line);
		for (int k = 0; k < n; k++)
			if (v1_write(rs->r[i].allow ? allow : deny, rs->r[i].allow ? "devices.allow" : "devices.deny",
				     line[k], e) < 0)
				return -e->code;
	}
	return 0;
}

/* ---- v2: the program, loaded and attached ---- */

static long sys_bpf(int cmd, union bpf_attr *a)
{
	return syscall(SYS_bpf, cmd, a, sizeof(*a));
}

/* The verifier's complaint, for the error: its last line before the
   statistics ("processed N insns ..."). */
static const char *log_tail(char *log)
{
	char *last = log;

	for (char *line = log; *line;) {
		char *nl = strchr(line, '\n');
		if (nl)
			*nl = '\0';
		if (*line && strncmp(line, "processed ", 10))
			last = line;
		if (!nl)
			break;
		line = nl + 1;
	}
	return last;
}

static int devices_v2(const struct runtime_cgroup *cg, const struct dev_rules *rs, struct ember_error *e)
{
	_cleanup_free_ struct bpf_insn *insns = NULL;
	size_t n;

	if (program_of(rs, &insns, &n, e) < 0)
		return -e->code;
	/* BPF_PROG_ATTACH wants a descriptor that is not O_PATH. */
	_cleanup_close_ int dir = openat(runtime_cgroup_fd(cg), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dir < 0)
		return err_sys(e, errno, "cgroup: devices: open the cgroup");
	union bpf_attr a;
	memset(&a, 0, sizeof(a));
	a.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
	a.insns = (uint64_t)(uintptr_t)insns;
	a.insn_cnt = (uint32_t)n;
	a.license = (uint64_t)(uintptr_t)"Apache-2.0";
	long prog = sys_bpf(BPF_PROG_LOAD, &a);
	if (prog < 0) {
		int err = errno;
		if (err == EPERM || err == ENOSYS)
			return err_sys(e, err, "cgroup: devices: load the eBPF program (CONFIG_BPF_SYSCALL, "
						  "CONFIG_CGROUP_BPF, CAP_BPF?)");
		/* Again, to say what the verifier did not like. */
		_cleanup_free_ char *log = calloc(1, DEV_LOG_SIZE);
		if (log) {
			a.log_buf = (uint64_t)(uintptr_t)log;
			a.log_size = DEV_LOG_SIZE;
			a.log_level = 1;
			if (sys_bpf(BPF_PROG_LOAD, &a) < 0 && *log)
				return err_set(e, err, "cgroup: devices: the kernel refused the eBPF program: %s",
					       log_tail(log));
		}
		return err_sys(e, err, "cgroup: devices: load the eBPF program");
	}
	memset(&a, 0, sizeof(a));
	a.target_fd = (uint32_t)dir;
	a.attach_bpf_fd = (uint32_t)prog;
	a.attach_type = BPF_CGROUP_DEVICE;
	/* Beside what the cgroups above have (systemd attaches its own). */
	a.attach_flags = BPF_F_ALLOW_MULTI;
	long r = sys_bpf(BPF_PROG_ATTACH, &a);
	int err = errno;
	close((int)prog); /* attached, the cgroup holds it */
	if (r < 0)
		return err_sys(e, err, "cgroup: devices: attach the eBPF program");
	return 0;
}

int runtime_cgroup_devices(const struct runtime_cgroup *cg, json_t *lx, struct ember_error *e)
{
	_cleanup_free_ struct dev_rules *rs = malloc(sizeof(*rs));

	if (!rs)
		return rt_oom(e);
	/* The rules first: a bad one is refused before anything is written. */
	if (dev_rules_of(lx, rs, e) < 0)
		return -e->code;
	return runtime_cgroup_version(cg) == RUNTIME_CGROUP_V2 ? devices_v2(cg, rs, e) : devices_v1(cg, rs, e);
}
