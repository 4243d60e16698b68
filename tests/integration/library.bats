#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# libember as a program outside the tree uses it: the C example in README.md,
# built with the commands README.md shows, against a real daemon.

bats_require_minimum_version 1.5.0
load helpers
load lib/image
load lib/registry
load lib/remote
load lib/unpack
load lib/tasks

REPO=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)

setup_file() {
	# README: make FLAVOUR=dev SANITIZE= O=build/host
	export HOST_O=$BATS_FILE_TMPDIR/host
	make -C "$REPO" -s FLAVOUR=dev SANITIZE= O="$HOST_O" all >"$BATS_FILE_TMPDIR/make.log" 2>&1 || {
		cat "$BATS_FILE_TMPDIR/make.log" >&2
		return 1
	}
	readme_agent "$BATS_FILE_TMPDIR/ota-agent.c"
	cc -Wall -Wextra -Werror -o "$BATS_FILE_TMPDIR/ota-agent" "$BATS_FILE_TMPDIR/ota-agent.c" \
		-I"$REPO/include" "$HOST_O/libember.a" -ljansson
}

setup() { setup_dirs; }
teardown() {
	cleanup_agent
	tasks_teardown
}

@test "library: the README's agent creates its namespace and sees its events" {
	start_daemon
	agent_follows "$BATS_FILE_TMPDIR/ota-agent"
}

@test "library: a second run finds the namespace already there and still works" {
	start_daemon
	e namespaces create ota
	"$BATS_FILE_TMPDIR/ota-agent" >"$T/agent.out" 2>"$T/agent.err" &
	AGENT_PID=$!
	sleep 0.3
	kill -0 "$AGENT_PID"   # still streaming: AlreadyExists was not fatal
	[ ! -s "$T/agent.err" ]
}

@test "library: no daemon gives a clear error and exit 1" {
	run -1 "$BATS_FILE_TMPDIR/ota-agent"
	[[ "$output" == *"$SOCK"*"is the ember daemon running"* ]]
}

@test "library: ember.pc and the headers install where pkg-config finds them" {
	make -C "$REPO" -s install DESTDIR="$T/stage" prefix=/usr FLAVOUR=dev SANITIZE= O="$HOST_O" >/dev/null
	[ -f "$T/stage/usr/include/ember/client.h" ]
	[ -f "$T/stage/usr/include/ember/error.h" ]
	[ -f "$T/stage/usr/lib/libember.a" ]
	[ -L "$T/stage/usr/bin/emberd" ]
	run -0 env PKG_CONFIG_PATH="$T/stage/usr/lib/pkgconfig" PKG_CONFIG_SYSROOT_DIR="$T/stage" \
		pkg-config --static --cflags --libs ember
	[[ "$output" == *"-I$T/stage/usr/include"* ]]
	[[ "$output" == *"-lember"* && "$output" == *"-ljansson"* ]]
}

@test "library: the typed network helpers (include/ember/networks.h) against a real daemon" {
	cat >"$T/nets.c" <<'C'
#include <stdio.h>
#include <stdlib.h>
#include <ember/networks.h>

int main(void)
{
	struct ember_error err;
	ember_client *c;
	char *out = NULL;
	struct ember_network_options o = { .subnet = "10.77.5.0/24", .internal = 1 };

	if (ember_client_connect(&c, NULL, &err) < 0 || ember_network_create(c, "lab", &o, &out, &err) < 0)
		goto fail;
	printf("created %s\n", out);
	free(out);
	if (ember_network_create(c, "lab", &o, NULL, &err) == 0)
		return 2;
	printf("again: %s\n", err.name);
	if (ember_network_list(c, &out, &err) < 0)
		goto fail;
	printf("list %s\n", out);
	free(out);
	if (ember_network_inspect(c, "lab", &out, &err) < 0)
		goto fail;
	printf("inspect %s\n", out);
	free(out);
	if (ember_network_remove(c, "lab", &err) < 0)
		goto fail;
	if (ember_network_inspect(c, "lab", &out, &err) == 0)
		return 2;
	printf("gone: %s\n", err.name);
	ember_client_free(c);
	return 0;
fail:
	fprintf(stderr, "%s: %s\n", err.name, err.message);
	return 1;
}
C
	cc -Wall -Wextra -Werror -o "$T/nets" "$T/nets.c" -I"$REPO/include" "$HOST_O/libember.a" -ljansson
	start_daemon
	run -0 "$T/nets"
	[[ "${lines[0]}" == 'created {'*'"name":"lab"'*'"subnet":"10.77.5.0/24"'*'"internal":true'* ]]
	[ "${lines[1]}" = "again: io.ember.AlreadyExists" ]
	[[ "${lines[2]}" == 'list ['*'"name":"lab"'* ]]
	[[ "${lines[3]}" == 'inspect {'*'"containers":[]'* ]]
	[ "${lines[4]}" = "gone: io.ember.NotFound" ]
	run -0 e network ls -q
	[ -z "$output" ]
}

@test "library: the typed revision helpers (include/ember/revisions.h) against a real daemon" {
	cat >"$T/revs.c" <<'C'
#include <stdio.h>
#include <stdlib.h>
#include <ember/revisions.h>

int main(int argc, char **argv)
{
	struct ember_error err;
	ember_client *c;
	char *out = NULL;

	if (argc != 2)
		return 2;
	if (ember_client_connect(&c, NULL, &err) < 0 || ember_revision_stage(c, "ota", argv[1], &out, &err) < 0)
		goto fail;
	printf("staged %s\n", out);
	free(out);
	if (ember_revision_stage(c, "ota", "{\"id\": \"r1\", \"containers\": [{\"id\": \"x\"}]}", NULL, &err) == 0)
		return 2;
	printf("bad: %s: %s\n", err.name, err.message);
	if (ember_revision_list(c, "ota", &out, &err) < 0)
		goto fail;
	printf("list %s\n", out);
	free(out);
	if (ember_revision_get(c, "ota", "r1", &out, &err) < 0)
		goto fail;
	printf("get %s\n", out);
	free(out);
	if (ember_revision_lock(c, "ota", "agent", "busy", 1, &err) < 0 || ember_revision_status(c, "ota", &out, &err) < 0)
		goto fail;
	printf("status %s\n", out);
	free(out);
	if (ember_revision_apply(c, "ota", "r1", 1, 0, NULL, &err) == 0)
		return 2;
	printf("locked: %s: %s\n", err.name, err.message);
	if (ember_revision_lock(c, "ota", "agent", NULL, 0, &err) < 0)
		goto fail;
	if (ember_revision_commit(c, "ota", NULL, &err) == 0 || ember_revision_rollback(c, "ota", "x", NULL, &err) == 0)
		return 2;
	printf("no test: %s\n", err.message);
	if (ember_revision_remove(c, "ota", "r1", &err) < 0)
		goto fail;
	if (ember_revision_get(c, "ota", "r1", &out, &err) == 0)
		return 2;
	printf("gone: %s\n", err.name);
	ember_client_free(c);
	return 0;
fail:
	fprintf(stderr, "%s: %s\n", err.name, err.message);
	return 1;
}
C
	cc -Wall -Wextra -Werror -o "$T/revs" "$T/revs.c" -I"$REPO/include" "$HOST_O/libember.a" -ljansson
	start_daemon
	run -0 "$T/revs" '{"id": "r1", "containers": []}'
	echo "$output"
	[[ "${lines[0]}" == 'staged {'*'"name":"r1"'*'"state":"staged"'* ]]
	[ "${lines[1]}" = "bad: io.ember.InvalidArgument: revision: containers[0] (x): image: missing" ]
	[[ "${lines[2]}" == 'list [{'*'"name":"r1"'*'}]' ]]
	[[ "${lines[3]}" == 'get {'*'"test_timeout":60'* ]]
	[[ "${lines[4]}" == 'status {"committed":null,"phase":"idle","locks":{"agent":{'*'"reason":"busy"}},"history":[]}' ]]
	[ "${lines[5]}" = 'locked: io.ember.FailedPrecondition: namespace ota is locked for updates by agent (busy): wait for `ember revisions unlock`, or apply --force' ]
	[ "${lines[6]}" = "no test: namespace ota: no revision is being tested" ]
	[ "${lines[7]}" = "gone: io.ember.NotFound" ]
	run -0 e -n ota revisions ls -q
	[ -z "$output" ]
	# A document that is not JSON never reaches the daemon.
	run -1 "$T/revs" '{"id": '
	[[ "$output" == "io.ember.InvalidArgument: revision document: "*" (line 1)" ]]
	[ "${#lines[@]}" = 1 ]
}

@test "library: examples/apply-revision.c stages and applies a revision and prints the daemon's verdict" {
	require_runtime
	cc -Wall -Wextra -Werror -o "$T/apply-revision" "$REPO/examples/apply-revision.c" -I"$REPO/include" \
		"$HOST_O/libember.a" -ljansson
	start_daemon
	import_bb
	local id; id=$(ct svc)
	printf '{"id": "r1", "containers": [{"id": "%s", "image": "example.com/bb:latest", "options": {"args": ["sleep", "100"]}, "health": {"running": 1}}]}' \
		"$id" >"$T/r1.json"
	run -0 "$T/apply-revision" "$T/r1.json"
	[ "$output" = "$(printf 'r1: staged\nr1: committed')" ]
	printf '{"id": "r2", "containers": [{"id": "%s", "image": "example.com/bb:latest", "options": {"args": ["sh", "-c", "exit 3"]}}]}' \
		"$id" >"$T/r2.json"
	run -1 "$T/apply-revision" "$T/r2.json"
	[ "$output" = "$(printf 'r2: staged\nr2: rolled back: container %s exited (code 3) while revision r2 was tested' "$id")" ]
	[ "$(e revisions status | sed -n 's/^committed: //p')" = r1 ]
	printf '{"id": "r3", "containers": [{"id": "x", "image": "example.com/nope:latest"}]}' >"$T/r3.json"
	run -2 "$T/apply-revision" "$T/r3.json"
	[ "$output" = "apply-revision: revision: containers[0] (x): image example.com/nope:latest is not in namespace default: pull or import it first" ]
}
