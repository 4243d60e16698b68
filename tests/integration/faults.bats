#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# Pulls through the fault proxy (lib/faultproxy.py) in front of a real
# registry: dropped and stalled connections, corrupt, truncated and
# oversize bodies, error statuses, redirects, a daemon killed mid-pull, a
# full disk, and a registry that lies about a manifest's digest. What the
# proxy logs is the proof of what went over the wire.

bats_require_minimum_version 1.5.0
load helpers
load lib/image
load lib/registry
load lib/remote

setup() {
	setup_dirs
	MOUNTED=
}

teardown() {
	kill_bg
	# A clean exit on SIGTERM (with ASan: no leak report either).
	local rc=0
	stop_daemon || rc=$?
	cleanup_daemon
	infra_cleanup
	if [ -n "$MOUNTED" ]; then
		umount "$MOUNTED"
	fi
	assert_log_clean
	return "$rc"
}

# big_setup [MB]: the big image (5 layers) on registry r as test/big:latest,
# behind proxy p; REF is its name through p, BIGL / BIGL_SIZE its largest
# layer (and M_* as info_manifest sets them).
big_setup() {
	registry_start r
	image_big "$T/big" "${1:-40}"
	registry_push_oci "$T/big" "$REGISTRY_R_ADDR/test/big:latest"
	faultproxy_start p r
	REF=$PROXY_P_ADDR/test/big:latest
	info_manifest
	read -r BIGL BIGL_SIZE < <(ijson "' '.join(str(x) for x in max(((l['digest'], l['size']) for l in j['manifests'][0]['layers']), key=lambda t: t[1]))")
	[ "$BIGL_SIZE" -gt $((8 * 1024 * 1024)) ]
}

# rule JSON...: set the proxy's rules (a list of the rule objects given).
rules() {
	local IFS=,
	faultproxy_set p "{\"rules\": [$*]}"
}

# pulled: the pull succeeded, the record is the image, every blob verifies.
assert_pull_ok() {
	echo "$output"
	PULL_OUTPUT=$output
	[ "$status" -eq 0 ]
	[ "${lines[-1]}" = "$REF: pulled $IMAGE_DIGEST" ]
	[ "$(record_digest "$REF")" = "$IMAGE_DIGEST" ]
	assert_complete "$REF"
	[ "${lines[-1]}" = "$REF: complete (7/7 blobs, verified)" ]
	[ "$(ingests_json | jget 'len(j)')" = 0 ]
}

# The failed pull left no image record, the blob is not in the store and
# no ingest of it is left.
assert_pull_left_nothing() {
	assert_no_image "$REF"
	[ "$(image_names)" = "" ]
	run -0 store_digests
	if grep -qx "$1" <<<"$output"; then
		echo "$1 is in the store" >&2
		return 1
	fi
	[ ! -e "$(blob_path "$1")" ]
}

# blob_gets DIGEST: the proxy's records of GETs of that blob, as a JSON list.
blob_gets() {
	plog p "$(is_blob_get "$1")" | "$PYTHON" -c '
import json, sys
print(json.dumps([json.loads(l) for l in sys.stdin]))'
}

# ---- interrupted transfers ---------------------------------------------------------

# check_resumed DIGEST SIZE [reset]: the first GET of the blob broke off
# after some bytes, the next asked Range: bytes=N- with 0 < N <= those
# bytes (and got 206 with the rest, no more), and the bytes served in all
# add up to at most one blob plus 64 KiB. After a TCP reset the receiver's
# kernel drops what it had not yet read, so what the proxy wrote before it
# is not what arrived: "reset" leaves out the sum (the restart point and
# the rest after it are still checked).
check_resumed() {
	blob_gets "$1" >"$T/gets.json"
	"$PYTHON" - "$T/gets.json" "$2" "${3:-}" <<'EOF'
import json, sys
gets = json.load(open(sys.argv[1]))
size = int(sys.argv[2])
reset = sys.argv[3] == "reset"
for g in gets:
    print(g["range"], g["status"], g["bytes"], g["fault"])
assert len(gets) >= 2, gets
first, second = gets[0], gets[1]
assert first["range"] is None and first["fault"] is not None, first
assert 0 < first["bytes"] < size, first
assert second["range"] and second["range"].startswith("bytes=") and second["range"].endswith("-"), second
n = int(second["range"][len("bytes="):-1])
assert 0 < n <= first["bytes"], (n, first)
assert second["status"] == 206, second
assert second["bytes"] == size - n, (second, size - n)
assert len(gets) == 2, gets
total = sum(g["bytes"] for g in gets)
assert reset or total <= size + 65536, ("served", total, "of", size)
EOF
}

@test "faults: a connection dropped mid-blob: the pull resumes with Range from where it broke off" {
	big_setup
	rules "{\"path\": \"/blobs/$BIGL\", \"method\": \"GET\", \"first\": 1, \"drop_after\": 10000000}"
	daemon_up
	run e pull --plain-http "$REF"
	assert_pull_ok
	check_resumed "$BIGL" "$BIGL_SIZE"
	[ "$(blob_gets "$BIGL" | jget 'j[0]["bytes"]')" = 10000000 ]
	# The other layers were fetched once, whole.
	local l
	for l in $M_LAYERS; do
		[ "$l" = "$BIGL" ] && continue
		[ "$(blob_gets "$l" | jget 'len(j)')" = 1 ]
	done
}

@test "faults: a connection reset (TCP RST) mid-blob: resumed the same way" {
	big_setup
	rules "{\"path\": \"/blobs/$BIGL\", \"method\": \"GET\", \"first\": 1, \"drop_after\": 3000000, \"reset\": true}"
	daemon_up
	run e pull --plain-http "$REF"
	assert_pull_ok
	check_resumed "$BIGL" "$BIGL_SIZE" reset
}

@test "faults: a stalled transfer: with stall_timeout = 2 the pull retries from the stall point and completes" {
	big_setup
	rules "{\"path\": \"/blobs/$BIGL\", \"method\": \"GET\", \"first\": 1, \"stall_after\": 5000000, \"stall_seconds\": 60}"
	daemon_up "stall_timeout = 2"
	local t0=$SECONDS
	run e pull --plain-http "$REF"
	assert_pull_ok
	# Well before the proxy would have given up (60 s).
	[ $((SECONDS - t0)) -lt 30 ]
	[[ "$PULL_OUTPUT" == *"$BIGL retrying ("* ]]
	check_resumed "$BIGL" "$BIGL_SIZE"
	[ "$(blob_gets "$BIGL" | jget 'j[0]["fault"]')" = stall_after ]
}

@test "faults: a truncated body (the full length declared, the end missing) is retried and completes" {
	big_setup
	rules "{\"path\": \"/blobs/$BIGL\", \"method\": \"GET\", \"first\": 1, \"truncate\": 1000}"
	daemon_up
	run e pull --plain-http "$REF"
	assert_pull_ok
	check_resumed "$BIGL" "$BIGL_SIZE"
	[ "$(blob_gets "$BIGL" | jget 'j[1]["range"]')" = "bytes=$((BIGL_SIZE - 1000))-" ]
}

# ---- wrong bytes ------------------------------------------------------------------------

@test "faults: corrupt bytes: digest mismatch, exit 1, no image, the blob not in the store" {
	big_setup
	rules "{\"path\": \"/blobs/$BIGL\", \"method\": \"GET\", \"corrupt\": true}"
	daemon_up
	run -1 e pull --plain-http "$REF"
	echo "$output"
	[[ "$output" == *"digest mismatch"* ]]
	[[ "$output" == *"$BIGL"* ]]
	assert_pull_left_nothing "$BIGL"
	[ "$(ingests_json | jget '[i for i in j if i["digest"] == "'"$BIGL"'"]')" = "[]" ]
	# The registry is fine again: the next pull fetches the layer whole.
	faultproxy_clear p
	run e pull --plain-http "$REF"
	assert_pull_ok
}

@test "faults: an oversize body (more bytes than the descriptor's size) is a clear error" {
	big_setup
	rules "{\"path\": \"/blobs/$BIGL\", \"method\": \"GET\", \"oversize\": 16}"
	daemon_up
	run -1 e --debug pull --plain-http "$REF"
	echo "$output"
	[[ "$output" == *"$BIGL"* ]]
	[[ "$output" == *"$((BIGL_SIZE + 16)) bytes for a blob of $BIGL_SIZE"* ]]
	[[ "$output" == *"io.ember.InvalidArgument"* ]]
	assert_pull_left_nothing "$BIGL"
}

@test "faults: a registry that lies about a manifest's digest (Docker-Content-Digest) is refused" {
	big_setup
	local lie=sha256:$(printf 'not the manifest' | sha256sum | cut -d' ' -f1)
	rules "{\"path\": \"/manifests/latest\", \"headers\": {\"Docker-Content-Digest\": \"$lie\"}}"
	daemon_up
	run -1 e --debug pull --plain-http "$REF"
	echo "$output"
	[[ "$output" == *"the registry says its digest is $lie, its bytes hash to $IMAGE_DIGEST"* ]]
	[[ "$output" == *"io.ember.InvalidArgument"* ]]
	assert_no_image "$REF"
	[ "$(plog_count p "'/blobs/' in r['path']")" = 0 ]
	# Bytes changed on the way (the header is the registry's true digest).
	rules "{\"path\": \"/manifests/latest\", \"corrupt\": true, \"offset\": 20}"
	run -1 e pull --plain-http "$REF"
	echo "$output"
	[[ "$output" == *"the registry says its digest is $IMAGE_DIGEST"* ]]
	assert_no_image "$REF"
	[ "$(plog_count p "'/blobs/' in r['path']")" = 0 ]
}

# ---- error statuses -----------------------------------------------------------------------

@test "faults: 404 on a blob is an error (NotFound), exit 1, no image" {
	big_setup
	rules "{\"path\": \"/blobs/$BIGL\", \"status\": 404}"
	daemon_up
	run -1 e --debug pull --plain-http "$REF"
	echo "$output"
	[[ "$output" == *"blob $BIGL"* ]]
	[[ "$output" == *"HTTP 404"* ]]
	[[ "$output" == *"io.ember.NotFound"* ]]
	assert_pull_left_nothing "$BIGL"
}

# gaps DIGEST: the seconds between consecutive GETs of a blob.
gaps() {
	blob_gets "$1" | jget '" ".join("%.2f" % (b["time"] - a["time"]) for a, b in zip(j, j[1:]))'
}

@test "faults: 429 with Retry-After on a blob: retried after the time asked, and the pull succeeds" {
	big_setup
	rules "{\"path\": \"/blobs/$BIGL\", \"method\": \"GET\", \"first\": 2, \"status\": 429, \"retry_after\": 1}"
	daemon_up
	run e pull --plain-http "$REF"
	assert_pull_ok
	[ "$(blob_gets "$BIGL" | jget '[g["status"] for g in j]')" = "[429, 429, 200]" ]
	local g
	for g in $(gaps "$BIGL"); do
		echo "gap $g"
		[ "$("$PYTHON" -c "print(int(float('$g') >= 0.9))")" = 1 ]
	done
}

@test "faults: 429 that persists: the pull gives up with a clear message, exit 1" {
	big_setup
	rules "{\"path\": \"/blobs/$BIGL\", \"method\": \"GET\", \"status\": 429, \"retry_after\": 1}"
	daemon_up
	# Bounded: a pull that never gives up fails here (exit 124).
	run -1 timeout 90 "$EMBER" --address "$SOCK" --debug pull --plain-http "$REF"
	echo "$output"
	[[ "$output" == *"blob $BIGL: giving up after "*" attempts"* ]]
	[[ "$output" == *"HTTP 429"* ]]
	[[ "$output" == *"io.ember.ResourceExhausted"* ]]
	assert_pull_left_nothing "$BIGL"
	[ "$(blob_gets "$BIGL" | jget 'len(j)')" -ge 3 ]
}

@test "faults: 429 with Retry-After on the manifest: retried, and the pull succeeds" {
	big_setup
	rules "{\"path\": \"/manifests/latest\", \"first\": 1, \"status\": 429, \"retry_after\": 1}"
	daemon_up
	run e pull --plain-http "$REF"
	assert_pull_ok
	[ "$(plog_count p "r['path'].endswith('/manifests/latest') and r['status'] == 429")" = 1 ]
	[ "$(plog_count p "r['path'].endswith('/manifests/latest') and r['status'] == 200")" = 1 ]
}

@test "faults: 500 on a blob twice: retried with back-off, the pull succeeds and the blob is whole" {
	big_setup
	rules "{\"path\": \"/blobs/$BIGL\", \"method\": \"GET\", \"first\": 2, \"status\": 500}"
	daemon_up
	run e pull --plain-http "$REF"
	assert_pull_ok
	[ "$(blob_gets "$BIGL" | jget '[g["status"] for g in j]')" = "[500, 500, 200]" ]
	# The error bodies were not taken for blob bytes: the third GET asked
	# for the whole blob.
	[ "$(blob_gets "$BIGL" | jget 'j[2]["range"]')" = null ]
	[ "$(blob_gets "$BIGL" | jget 'j[2]["bytes"]')" = "$BIGL_SIZE" ]
}

@test "faults: 500 that persists: the pull gives up with a clear message, exit 1" {
	big_setup
	rules "{\"path\": \"/blobs/$BIGL\", \"method\": \"GET\", \"status\": 500}"
	daemon_up
	# Bounded: a pull that never gives up fails here (exit 124).
	run -1 timeout 90 "$EMBER" --address "$SOCK" --debug pull --plain-http "$REF"
	echo "$output"
	[[ "$output" == *"blob $BIGL: giving up after "*" attempts"* ]]
	[[ "$output" == *"HTTP 500"* ]]
	[[ "$output" == *"io.ember.Unavailable"* ]]
	assert_pull_left_nothing "$BIGL"
}

# ---- redirects --------------------------------------------------------------------------------

@test "faults: blob GETs redirected (307) to /_redirect/ are followed, to the same host or another" {
	big_setup
	rules '{"path": "/blobs/sha256:", "method": "GET", "redirect": true}'
	daemon_up
	run e pull --plain-http "$REF"
	assert_pull_ok
	local l
	for l in $M_CONFIG $M_LAYERS; do
		[ "$(plog_count p "r['path'].endswith('/blobs/$l') and r['status'] == 307")" = 1 ]
		[ "$(plog_count p "r['path'] == '/_redirect/v2/test/big/blobs/$l' and r['status'] == 200")" = 1 ]
	done
	# To another host name (localhost): followed too.
	e images rm "$REF"
	e content gc
	rules '{"path": "/blobs/sha256:", "method": "GET", "redirect": true, "host": "localhost"}'
	run e pull --plain-http "$REF"
	assert_pull_ok
	[ "$(plog_count p "r['path'] == '/_redirect/v2/test/big/blobs/$BIGL' and r['status'] == 200")" = 2 ]
}

@test "faults: a redirected blob whose second leg drops is resumed with Range through the redirect" {
	big_setup
	rules '{"path": "/v2/test/big/blobs/sha256:", "method": "GET", "redirect": true}' \
		"{\"path\": \"^/_redirect/.*$BIGL\", \"first\": 1, \"drop_after\": 4000000}"
	daemon_up
	run e pull --plain-http "$REF"
	assert_pull_ok
	# The legs that carried bytes: the dropped one, then a 206 from its end.
	plog p "r['path'] == '/_redirect/v2/test/big/blobs/$BIGL'" >"$T/legs"
	cat "$T/legs"
	[ "$(sed -n 1p "$T/legs" | jget '[j["fault"], j["bytes"], j["range"]]')" = '["drop_after", 4000000, null]' ]
	local r2
	r2=$(sed -n 2p "$T/legs" | jget 'j["range"]')
	[[ "$r2" == bytes=*- ]]
	local n=${r2#bytes=}
	n=${n%-}
	[ "$n" -gt 0 ] && [ "$n" -le 4000000 ]
	[ "$(sed -n 2p "$T/legs" | jget '[j["status"], j["bytes"]]')" = "[206, $((BIGL_SIZE - n))]" ]
}

# ---- a crash mid-pull -------------------------------------------------------------------------

@test "faults: kill -9 mid-pull: the partial ingest survives, the next pull resumes it from its offset" {
	big_setup
	# Hold the big layer after 20 MB (two 8 MiB syncs have made 16 MiB durable).
	rules "{\"path\": \"/blobs/$BIGL\", \"method\": \"GET\", \"first\": 1, \"stall_after\": 20000000, \"stall_seconds\": 120}"
	daemon_up
	timeout 120 "$EMBER" --address "$SOCK" pull --plain-http "$REF" >"$T/pull1.out" 2>&1 &
	local pull_pid=$!
	bg_track "$pull_pid"
	wait_until 60 grep -q '"fault": "stall_after"' "$PROXY_P_LOG"
	# Everything else is in; only the big layer is left.
	wait_until 30 bash -c "[ \$(grep -c '\"status\": 200' '$PROXY_P_LOG') -ge 6 ]"
	sleep 0.5
	kill_daemon
	wait "$pull_pid" || true
	cat "$T/pull1.out"
	[ ! -e "$(blob_path "$BIGL")" ]

	start_daemon
	assert_no_image "$REF"
	ingests_json >"$T/ingests.json"
	cat "$T/ingests.json"
	[ "$(jget '[i["digest"] for i in j]' <"$T/ingests.json")" = "[\"$BIGL\"]" ]
	local off
	off=$(jget 'j[0]["offset"]' <"$T/ingests.json")
	[ "$(jget 'j[0]["size"]' <"$T/ingests.json")" = "$BIGL_SIZE" ]
	[ "$off" -ge $((8 * 1024 * 1024)) ] && [ "$off" -le 20000000 ]
	run -0 e content active
	[[ "$output" == *"$REF"* ]]

	faultproxy_clear p
	local n
	n=$(plog_lines p)
	run e pull --plain-http "$REF"
	assert_pull_ok
	# The big layer went on from the ingest's offset; the others were not
	# fetched again.
	plog_after p "$n" "$(is_blob_get "$BIGL")" >"$T/after"
	cat "$T/after"
	[ "$(wc -l <"$T/after")" = 1 ]
	[ "$(jget '[j["range"], j["status"], j["bytes"]]' <"$T/after")" = "[\"bytes=$off-\", 206, $((BIGL_SIZE - off))]" ]
	[ "$(plog_after p "$n" "'/blobs/' in r['path'] and not r['path'].endswith('/$BIGL')" | wc -l)" = 0 ]
}

# ---- a full disk --------------------------------------------------------------------------------

@test "faults: a full disk: busybox fits, the big image does not: not enough free space, exit 1, busybox intact" {
	big_setup
	image_busybox "$T/bb"
	registry_push_oci "$T/bb" "$REGISTRY_R_ADDR/test/busybox:latest"
	local bb_digest=$IMAGE_DIGEST bbref=$PROXY_P_ADDR/test/busybox:latest
	mkdir -p "$ROOT"
	mount -t tmpfs -o size=24m ember-test-full "$ROOT"
	MOUNTED=$ROOT
	daemon_up
	run -0 e pull --plain-http "$bbref"
	echo "$output"
	[ "${lines[-1]}" = "$bbref: pulled $bb_digest" ]
	assert_complete "$bbref"

	image_big "$T/big"   # IMAGE_DIGEST back to the big image's
	run -1 e --debug pull --plain-http "$REF"
	echo "$output"
	[[ "$output" == *"not enough free space"* ]]
	[[ "$output" == *"io.ember.ResourceExhausted"* ]]
	assert_no_image "$REF"
	[ "$(image_names)" = "$bbref" ]
	assert_complete "$bbref"
	[ "$(ingests_json | jget 'len(j)')" = 0 ]
	# No layer of the big image was fetched (the check came first).
	[ "$(plog_count p "r['path'].endswith('/blobs/$BIGL')")" = 0 ]
	# The store still has room and works: busybox again is fine.
	run -0 e pull --plain-http "$bbref"
	assert_complete "$bbref"
	stop_daemon
}

# ---- more -----------------------------------------------------------------------------------------

@test "faults: garbage collection during a pull keeps what the pull has fetched so far" {
	big_setup
	rules "{\"path\": \"/blobs/$BIGL\", \"method\": \"GET\", \"first\": 1, \"stall_after\": 2000000, \"stall_seconds\": 60}"
	daemon_up "stall_timeout = 3"
	timeout 120 "$EMBER" --address "$SOCK" pull --plain-http "$REF" >"$T/pull.out" 2>&1 &
	local pid=$!
	bg_track "$pid"
	wait_until 60 grep -q '"fault": "stall_after"' "$PROXY_P_LOG"
	# The manifest and the config at least are in the store now; gc must
	# leave them (and every finished layer) to the pull.
	local before
	before=$(store_digests)
	grep -qx "$IMAGE_DIGEST" <<<"$before"
	grep -qx "$M_CONFIG" <<<"$before"
	run -0 e --json content gc
	echo "$output"
	[ "$(jget 'j["removed_blobs"]' <<<"$output")" = 0 ]
	# (The pull goes on meanwhile: the store may have grown, not shrunk.)
	local d after
	after=$(store_digests)
	for d in $before; do
		grep -qx "$d" <<<"$after"
	done
	local r=0
	wait "$pid" || r=$?
	cat "$T/pull.out"
	[ "$r" = 0 ]
	[ "$(tail -1 "$T/pull.out")" = "$REF: pulled $IMAGE_DIGEST" ]
	assert_complete "$REF"
}

@test "faults: a redirect to another host carries no credentials (basic and token)" {
	local mode
	for mode in basic token; do
		registry_start "r$mode" "$mode"
		image_busybox "$T/bb"
		info_manifest
		local a=REGISTRY_R${mode^^}_ADDR c=REGISTRY_R${mode^^}_CREDS
		registry_push_oci "$T/bb" "${!a}/test/busybox:latest"
		faultproxy_start "p$mode" "r$mode"
		faultproxy_set "p$mode" '{"rules": [{"path": "/blobs/sha256:", "method": "GET", "redirect": true, "host": "localhost"}]}'
	done
	daemon_up
	for mode in basic token; do
		local pa=PROXY_P${mode^^}_ADDR c=REGISTRY_R${mode^^}_CREDS
		REF=${!pa}/test/busybox:latest
		run e pull --plain-http -u "${!c}" "$REF"
		echo "$output"
		[ "$status" -eq 0 ]
		assert_complete "$REF"
		# The first leg had them, the leg to localhost did not.
		[ "$(plog_count "p$mode" "$(is_blob_get $M_LAYERS) and r['status'] == 307 and r['auth']")" = 1 ]
		[ "$(plog_count "p$mode" "r['path'] == '/_redirect/v2/test/busybox/blobs/$M_LAYERS' and r['status'] == 200")" = 1 ]
		[ "$(plog_count "p$mode" "r['path'].startswith('/_redirect/') and r['auth']")" = 0 ]
		# A fresh store for the next mode (the blobs would be there).
		e images rm "$REF"
		e content gc
		[ "$(store_digests)" = "" ]
	done
}
