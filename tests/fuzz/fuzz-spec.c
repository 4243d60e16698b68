/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer: OCI runtime specs a user brings (--spec FILE, a bundle's
   config.json), image configs and options turned into specs, a spec's
   device cgroup program, --mount strings and signal names. A document is
   checked as it is and laid over a spec that passes, with every field of
   the schema ember knows, so that small inputs reach the checks deep in
   it. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <linux/bpf.h>

#include "runtime/runtime.h"
#include "util/mount.h"
#include "runtime/runtime-internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                        \
	do {                               \
		if (!(cond))               \
			__builtin_trap();  \
	} while (0)

#define TEXT_MAX 16384

static void check_error(const struct ember_error *e, int r)
{
	CHECK(r < 0 && e->code > 0 && r == -e->code);
	CHECK(e->name[0] != '\0');
	CHECK(e->message[0] != '\0');
	for (const char *c = e->message; *c; c++)
		CHECK(*c >= 0x20 && *c < 0x7f); /* one line of plain text */
}

/* Options taken from the document's own fields (any type: building must
   refuse what is wrong with a clear error, never crash). */
static void fuzz_build(json_t *doc, unsigned flags)
{
	struct runtime_spec_options o = {
		.id = "fuzz",
		.rootfs = "/run/ember/rootfs/fuzz",
		.image_config = json_object_get(doc, "config") ? json_object_get(doc, "config") : doc,
		.args = json_object_get(doc, "args"),
		.entrypoint = json_object_get(doc, "entrypoint"),
		.env = json_object_get(doc, "env"),
		.cwd = json_string_value(json_object_get(doc, "cwd")),
		.user = json_string_value(json_object_get(doc, "user")),
		.hostname = json_string_value(json_object_get(doc, "hostname")),
		.terminal = flags & 1,
		.read_only = flags & 2,
		.privileged = flags & 4,
		.net_host = flags & 8,
		.cap_add = json_object_get(doc, "cap_add"),
		.cap_drop = json_object_get(doc, "cap_drop"),
		.mounts = json_object_get(doc, "mounts"),
		.memory = json_integer_value(json_object_get(doc, "memory")),
		.cpus = json_number_value(json_object_get(doc, "cpus")),
		.pids = json_integer_value(json_object_get(doc, "pids")),
		.labels = json_object_get(doc, "labels"),
		.uid_map = json_object_get(doc, "uid_map"),
		.gid_map = json_object_get(doc, "gid_map"),
	};
	struct ember_error e;
	json_t *spec = NULL;

	int r = runtime_spec_build(&o, &spec, &e);
	if (r < 0) {
		check_error(&e, r);
		CHECK(spec == NULL);
		return;
	}
	/* What is built is runnable, and says so again after a round trip. */
	CHECK(runtime_spec_check(spec, &e) == 0);
	char *text = json_dumps(spec, JSON_COMPACT);
	CHECK(text);
	json_t *back = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
	CHECK(back && json_equal(back, spec));
	CHECK(runtime_spec_check(back, &e) == 0);
	json_decref(back);
	free(text);
	json_t *args = json_object_get(json_object_get(spec, "process"), "args");
	CHECK(json_array_size(args) > 0 && *json_string_value(json_array_get(args, 0)));
	json_decref(spec);
}

/* A spec that passes runtime_spec_check(), with the 1.1 fields. */
static const char base_spec[] =
	"{\"ociVersion\": \"1.1.0\", \"hostname\": \"h\", \"domainname\": \"d.example\","
	" \"root\": {\"path\": \"rootfs\", \"readonly\": true},"
	" \"process\": {\"args\": [\"sh\"], \"cwd\": \"/\", \"env\": [\"A=1\"], \"user\": {\"uid\": 0, \"gid\": 0},"
	"  \"rlimits\": [{\"type\": \"RLIMIT_NOFILE\", \"soft\": 1, \"hard\": 2}],"
	"  \"capabilities\": {\"bounding\": [\"CAP_KILL\"], \"ambient\": []}, \"noNewPrivileges\": true,"
	"  \"oomScoreAdj\": 0, \"ioPriority\": {\"class\": \"IOPRIO_CLASS_BE\", \"priority\": 4}},"
	" \"mounts\": [{\"destination\": \"/proc\", \"type\": \"proc\", \"source\": \"proc\"},"
	"  {\"destination\": \"/m\", \"type\": \"bind\", \"source\": \"/s\", \"options\": [\"rbind\", \"ridmap\", \"rro\"],"
	"   \"uidMappings\": [{\"containerID\": 0, \"hostID\": 1000, \"size\": 1}],"
	"   \"gidMappings\": [{\"containerID\": 0, \"hostID\": 1000, \"size\": 1}]}],"
	" \"linux\": {\"namespaces\": [{\"type\": \"mount\"}, {\"type\": \"uts\"}, {\"type\": \"time\"},"
	"  {\"type\": \"network\"}, {\"type\": \"ipc\"}],"
	"  \"timeOffsets\": {\"boottime\": {\"secs\": 1}}, \"personality\": {\"domain\": \"LINUX32\"},"
	"  \"sysctl\": {\"net.ipv4.ip_forward\": \"1\", \"kernel.shmmni\": \"9\"}, \"rootfsPropagation\": \"rslave\","
	"  \"maskedPaths\": [\"/proc/kcore\"], \"readonlyPaths\": [\"/proc/sys\"],"
	"  \"devices\": [{\"path\": \"/dev/n\", \"type\": \"c\", \"major\": 1, \"minor\": 3, \"fileMode\": 438}],"
	"  \"seccomp\": {\"defaultAction\": \"SCMP_ACT_ALLOW\", \"flags\": [], \"syscalls\": []}}}";

/* to with from's fields laid over it, objects merged all the way down. */
static void overlay(json_t *to, json_t *from, int depth)
{
	const char *k;
	json_t *v;

	json_object_foreach(from, k, v) {
		json_t *t = json_object_get(to, k);
		if (depth < 8 && json_is_object(t) && json_is_object(v))
			overlay(t, v, depth + 1);
		else
			CHECK(json_object_set(to, k, v) == 0);
	}
}

/* What passes the check is what the executor takes without a second
   look: its mounts' options parse, its personality is one it knows. */
static void check_passed(json_t *spec)
{
	struct ember_error e;
	struct mount_options mo;
	size_t i;
	json_t *m;

	json_array_foreach(json_object_get(spec, "mounts"), i, m)
		CHECK(mount_options_parse(json_object_get(m, "options"), &mo, "fuzz", &e) == 0);
	json_t *pers = json_object_get(json_object_get(spec, "linux"), "personality");
	if (pers)
		CHECK(json_is_string(json_object_get(pers, "domain")));
	/* And it passes again after a round trip. */
	char *text = json_dumps(spec, JSON_COMPACT);
	CHECK(text);
	json_t *back = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
	CHECK(back && runtime_spec_check(back, &e) == 0);
	json_decref(back);
	free(text);
}

static void fuzz_overlay(json_t *doc)
{
	struct ember_error e;
	json_t *base = json_loads(base_spec, 0, NULL);

	CHECK(base && runtime_spec_check(base, &e) == 0);
	overlay(base, doc, 0);
	int r = runtime_spec_check(base, &e);
	if (r < 0)
		check_error(&e, r);
	else
		check_passed(base);
	json_decref(base);
}

static void fuzz_text(const char *s)
{
	struct ember_error e;
	json_t *m = NULL;
	int r, sig;

	r = runtime_mount_parse(s, &m, &e);
	if (r < 0) {
		check_error(&e, r);
		CHECK(m == NULL);
	} else {
		/* Any mount it parses, a spec takes. */
		struct runtime_spec_options o = { .id = "fuzz", .rootfs = "rootfs" };
		json_t *spec = NULL;
		o.args = json_pack("[s]", "/bin/sh");
		o.mounts = json_pack("[o]", m);
		CHECK(o.args && o.mounts);
		CHECK(runtime_spec_build(&o, &spec, &e) == 0);
		json_decref(spec);
		json_decref(o.args);
		json_decref(o.mounts);
	}

	/* The text as a --uidmap: refused in one line, or a spec that runs. */
	{
		struct runtime_spec_options o = { .id = "fuzz", .rootfs = "rootfs" };
		json_t *spec = NULL;
		o.args = json_pack("[s]", "/bin/sh");
		o.uid_map = json_pack("[s]", s); /* NULL: not UTF-8, as no JSON string is */
		CHECK(o.args);
		r = o.uid_map ? runtime_spec_build(&o, &spec, &e) : 1;
		if (r < 0)
			check_error(&e, r);
		else if (r == 0)
			CHECK(runtime_spec_check(spec, &e) == 0);
		json_decref(spec);
		json_decref(o.args);
		json_decref(o.uid_map);
	}

	r = runtime_signal_parse(s, &sig, &e);
	if (r < 0) {
		check_error(&e, r);
	} else {
		char name[RUNTIME_SIGNAL_NAME_MAX];
		int again = 0;
		CHECK(sig > 0);
		CHECK(runtime_signal_parse(runtime_signal_name(sig, name), &again, &e) == 0 && again == sig);
	}
}

/* The device cgroup's program of a "linux" object: refused in one line,
   or instructions the verifier could take: every jump forward and inside
   the program, which ends with an exit. */
static void fuzz_devices(json_t *lx)
{
	struct ember_error e;
	struct bpf_insn *in = NULL;
	size_t n = 0;

	int r = rt_devices_program(lx, &in, &n, &e);
	if (r < 0) {
		check_error(&e, r);
		CHECK(in == NULL);
		return;
	}
	CHECK(n > 0 && in[n - 1].code == (BPF_JMP | BPF_EXIT));
	for (size_t i = 0; i < n; i++) {
		unsigned cls = BPF_CLASS(in[i].code), op = BPF_OP(in[i].code);
		if (cls == BPF_JMP && op != BPF_EXIT)
			CHECK(in[i].off >= 0 && i + 1 + (size_t)in[i].off < n);
	}
	free(in);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ember_error e;

	json_t *doc = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, NULL);
	if (doc) {
		int r = runtime_spec_check(doc, &e);
		if (r < 0)
			check_error(&e, r);
		else
			check_passed(doc);
		if (json_is_object(doc)) {
			fuzz_overlay(doc);
			fuzz_build(doc, size ? data[size - 1] : 0);
		}
		if (ENABLED(CONFIG_CGROUP_DEVICES) && json_is_object(doc))
			fuzz_devices(json_object_get(doc, "linux"));
		json_decref(doc);
	}

	if (size < TEXT_MAX && !memchr(data, '\0', size)) {
		char *s = malloc(size + 1);
		CHECK(s);
		memcpy(s, data, size);
		s[size] = '\0';
		fuzz_text(s);
		free(s);
	}
	return 0;
}
