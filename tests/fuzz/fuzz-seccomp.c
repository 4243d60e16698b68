/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer: seccomp profiles (--seccomp-profile FILE, linux.seccomp)
   compiled for both architectures with the capabilities the input picks.
   Compile only: nothing is ever loaded. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <linux/audit.h>
#include <linux/filter.h>

#include "runtime/runtime.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                        \
	do {                               \
		if (!(cond))               \
			__builtin_trap();  \
	} while (0)

static void check_error(const struct ember_error *e, int r)
{
	CHECK(r < 0 && e->code > 0 && r == -e->code);
	CHECK(e->name[0] != '\0');
	CHECK(e->message[0] != '\0');
	CHECK(strncmp(e->message, "seccomp: ", 9) == 0);
	for (const char *c = e->message; *c; c++)
		CHECK(*c >= 0x20 && *c < 0x7f); /* one line of plain text */
}

/* What the kernel's checker would refuse: jumps out of the program, loads
   outside seccomp_data, a last instruction that is not a return. */
static void check_program(const struct runtime_seccomp *s, uint32_t arch)
{
	CHECK(s->insns && s->len > 4 && s->len <= BPF_MAXINSNS);
	CHECK(s->insns[0].code == (BPF_LD | BPF_W | BPF_ABS) && s->insns[0].k == 4);
	CHECK(s->insns[1].code == (BPF_JMP | BPF_JEQ | BPF_K) && s->insns[1].k == arch);
	CHECK(s->insns[s->len - 1].code == (BPF_RET | BPF_K));
	for (size_t i = 0; i < s->len; i++) {
		const struct sock_filter *f = &s->insns[i];
		switch (f->code) {
		case BPF_LD | BPF_W | BPF_ABS:
			CHECK(f->k % 4 == 0 && f->k < 64);
			break;
		case BPF_JMP | BPF_JA:
			CHECK(f->k < s->len - i - 1);
			break;
		case BPF_JMP | BPF_JEQ | BPF_K:
		case BPF_JMP | BPF_JGT | BPF_K:
		case BPF_JMP | BPF_JGE | BPF_K:
		case BPF_JMP | BPF_JSET | BPF_K:
			CHECK(i + 1 + f->jt < s->len && i + 1 + f->jf < s->len);
			break;
		case BPF_ALU | BPF_AND | BPF_K:
		case BPF_RET | BPF_K:
			break;
		default:
			CHECK(0);
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint32_t arches[] = { AUDIT_ARCH_X86_64, AUDIT_ARCH_AARCH64 };
	struct ember_error e;

	json_t *doc = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, NULL);
	if (!doc)
		return 0;
	/* The last bytes choose the capabilities includes/excludes see. */
	uint64_t caps = 0;
	for (size_t i = 0; i < 8 && i < size; i++)
		caps = caps << 8 | data[size - 1 - i];
	for (size_t a = 0; a < 2; a++) {
		struct runtime_seccomp s = { 0 };
		int r = runtime_seccomp_compile(doc, arches[a], caps, &s, &e);
		if (r < 0) {
			check_error(&e, r);
			CHECK(s.insns == NULL && s.len == 0);
			/* Validity does not depend on the architecture, only
			   the length can. */
			continue;
		}
		check_program(&s, arches[a]);
		runtime_seccomp_free(&s);
	}
	json_decref(doc);
	return 0;
}
