# SPDX-License-Identifier: Apache-2.0
# Shared by pull.bats, faults.bats, push.bats, archive.bats and content.bats:
# a daemon with a registry configuration, hosts.toml files, and questions
# about the store, the image records and the fault proxy's log.
# Load after helpers, lib/image and lib/registry.

# With the ASan build, catch reads of dead stack frames too (a request sent
# again from the event loop once its caller has returned). Ignored by
# builds without ASan.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_stack_use_after_return=1}

# daemon_up [LINE...]: write $T/daemon.toml ([registry] config_path =
# $T/certs.d, then the LINEs: keys of that table, or "[table]" and its keys)
# and start the daemon with it.
daemon_up() {
	local l
	mkdir -p "$T/certs.d"
	{
		echo '[registry]'
		echo "config_path = \"$T/certs.d\""
		for l in "$@"; do
			echo "$l"
		done
	} >"$T/daemon.toml"
	DAEMON_CONFIG=$T/daemon.toml
	start_daemon
}

# hosts_toml HOST[:PORT]: $T/certs.d/HOST[:PORT]/hosts.toml from stdin.
hosts_toml() {
	mkdir -p "$T/certs.d/$1"
	cat >"$T/certs.d/$1/hosts.toml"
}

# ijson EXPR: EXPR over $IMAGE_INFO (bound to j), as jget prints it.
ijson() {
	jget "$1" <<<"$IMAGE_INFO"
}

# The manifest entry of $IMAGE_INFO for a platform (default: the host's):
# sets M_DIGEST, M_CONFIG, M_LAYERS (digests, space-separated), M_SIZES.
info_manifest() {
	local plat=${1:-$(image_host_platform)}
	M_DIGEST=$(ijson "[m for m in j['manifests'] if m['platform'] == '$plat'][0]['digest']")
	M_CONFIG=$(ijson "[m for m in j['manifests'] if m['platform'] == '$plat'][0]['config']")
	M_LAYERS=$(ijson "' '.join(l['digest'] for l in [m for m in j['manifests'] if m['platform'] == '$plat'][0]['layers'])")
	M_SIZES=$(ijson "' '.join(str(l['size']) for l in [m for m in j['manifests'] if m['platform'] == '$plat'][0]['layers'])")
}

# import_bb [NS]: busybox imported as example.com/bb:latest (IMAGE_DIGEST,
# M_CONFIG, M_LAYERS; BLOBS: its three digests, sorted).
import_bb() {
	image_busybox "$T/bb"
	info_manifest
	[ -f "$T/bb.tar" ] || tar -C "$T/bb" -cf "$T/bb.tar" .
	run e -n "${1:-default}" images import --base-name example.com/bb "$T/bb.tar"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${lines[-1]}" = "example.com/bb:latest: imported $IMAGE_DIGEST" ]
	BLOBS=$(sorted_words "$IMAGE_DIGEST" "$M_CONFIG" $M_LAYERS)
}

# sorted_words WORD...: one a line, sorted (to compare sets).
sorted_words() {
	printf '%s\n' "$@" | LC_ALL=C sort -u
}

# The digests in the content store, sorted, one a line.
store_digests() {
	e content ls -q | LC_ALL=C sort
}

# The image names of a namespace (default: default), one a line, sorted.
image_names() {
	e -n "${1:-default}" images ls -q | LC_ALL=C sort
}

# record_digest NAME [NS]: the target digest of an image record.
record_digest() {
	e -n "${2:-default}" images inspect "$1" | jget 'j["target"]["digest"]'
}

# blob_path DIGEST: where the store keeps a committed blob.
blob_path() {
	echo "$ROOT/content/blobs/sha256/${1#sha256:}"
}

# layout_blob DIR DIGEST: a blob of an OCI layout.
layout_blob() {
	echo "$1/blobs/sha256/${2#sha256:}"
}

# assert_no_image NAME [NS]: `images inspect` says NotFound.
assert_no_image() {
	run e --debug -n "${2:-default}" images inspect "$1"
	if [ "$status" -ne 1 ] || [[ "$output" != *"io.ember.NotFound"* ]]; then
		echo "image $1 should not exist: status $status: $output" >&2
		return 1
	fi
}

# assert_complete NAME [NS]: `images check --verify` says complete.
assert_complete() {
	run e -n "${2:-default}" images check --verify "$1"
	echo "$output"
	[ "$status" -eq 0 ] || return 1
	[[ "${lines[-1]}" == *": complete ("*" blobs, verified)" ]]
}

# plog NAME [CONDITION]: the proxy's log lines (see faultproxy_log).
plog() {
	faultproxy_log "$@"
}

# plog_count NAME [CONDITION]: how many lines match.
plog_count() {
	faultproxy_log "$@" | wc -l
}

# plog_sum NAME FIELD [CONDITION]: the sum of a numeric field over the lines.
plog_sum() {
	local name=$1 field=$2
	shift 2
	faultproxy_log "$name" "$@" | "$PYTHON" -c '
import json, sys
print(sum(json.loads(l)[sys.argv[1]] or 0 for l in sys.stdin))' "$field"
}

# A Python condition on a proxy log record: a GET of blob DIGEST (either
# directly or through a redirect).
is_blob_get() {
	echo "r['method'] == 'GET' and r['path'].endswith('/blobs/$1')"
}

# The proxy log records after line N (for "what did the second pull do").
plog_after() {
	local name=$1 n=$2 l
	shift 2
	l=PROXY_$(infra_var "$name")_LOG
	tail -n +"$((n + 1))" "${!l}" >"${!l}.after"
	"$PYTHON" -c '
import json, sys
cond = sys.argv[2] if len(sys.argv) > 2 else "True"
for line in open(sys.argv[1]):
    r = json.loads(line)
    if eval(cond, {}, {"r": r}):
        print(line, end="")' "${!l}.after" "$@"
}

plog_lines() {
	local l
	l=PROXY_$(infra_var "$1")_LOG
	wc -l <"${!l}"
}

# The ingests the daemon lists, as JSON.
ingests_json() {
	e --json content active
}

# The teardown of the registry suites: background jobs, the daemon (a clean
# exit on SIGTERM; with ASan, no leak report either), the registries.
remote_teardown() {
	kill_bg
	local rc=0
	stop_daemon || rc=$?
	cleanup_daemon
	infra_cleanup
	assert_log_clean
	return "$rc"
}
