# SPDX-License-Identifier: Apache-2.0
# Shared by helpers.bash, lib/image.bash and lib/registry.bash (each
# sources it): the helpers' own directory, a private skopeo, free ports,
# waiting, and a fix to bats itself.

INFRA_LIB=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

# Debian 12's bats (1.8.2) compares versions with a loop over a global i,
# which every `run -N` calls: a test's own i became 2 after each. The same
# comparison, with i its own. (Loaded after bats' libraries, this wins.)
bats_version_lt() { # <version1> <version2>
	bats_check_valid_version "$1"
	bats_check_valid_version "$2"
	local -a version1_parts version2_parts
	local i
	IFS=. read -ra version1_parts <<<"$1"
	IFS=. read -ra version2_parts <<<"$2"
	for i in 0 1 2; do
		if ((version1_parts[i] < version2_parts[i])); then
			return 0
		elif ((version1_parts[i] > version2_parts[i])); then
			return 1
		fi
	done
	return 2
}
INFRA_PYTHON=${INFRA_PYTHON:-/usr/bin/python3}

# Where a helper may write: the test's directory, else the file's (in
# setup_file), else $INFRA_TMPDIR for use outside bats.
infra_tmp() {
	local d=${BATS_TEST_TMPDIR:-${BATS_FILE_TMPDIR:-${INFRA_TMPDIR:-}}}
	if [ -z "$d" ]; then
		echo "infra: no BATS_TEST_TMPDIR, BATS_FILE_TMPDIR or INFRA_TMPDIR to write in" >&2
		return 1
	fi
	echo "$d"
}

# NAME → the part of an environment variable name: "tls-1" → TLS_1.
infra_var() {
	local v=${1^^}
	echo "${v//[^A-Z0-9_]/_}"
}

# skopeo_t ARGS...: skopeo that reads and writes nothing outside the test's
# directory. As root, skopeo keeps a blob-info cache in
# /var/lib/containers/cache; claiming a non-root uid to containers/image
# (_CONTAINERS_ROOTLESS_UID) moves it under $XDG_DATA_HOME. No policy
# (--insecure-policy), an empty registries.conf (no mirrors or aliases from
# the machine), a private auth file and temporary directory.
skopeo_t() {
	local t h
	t=$(infra_tmp) || return 1
	h=$t/.skopeo
	if [ ! -d "$h" ]; then
		mkdir -p "$h/home" "$h/data" "$h/config" "$h/cache" "$h/run" "$h/tmp" "$h/registries.d"
		chmod 700 "$h/run"
		: >"$h/registries.conf"
		echo '{"auths":{}}' >"$h/auth.json"
	fi
	env HOME="$h/home" XDG_DATA_HOME="$h/data" XDG_CONFIG_HOME="$h/config" \
		XDG_CACHE_HOME="$h/cache" XDG_RUNTIME_DIR="$h/run" TMPDIR="$h/tmp" \
		_CONTAINERS_ROOTLESS_UID=4242 \
		REGISTRY_AUTH_FILE="$h/auth.json" CONTAINERS_REGISTRIES_CONF="$h/registries.conf" \
		skopeo --insecure-policy --registries.d "$h/registries.d" --tmpdir "$h/tmp" "$@"
}

# A TCP port on 127.0.0.1 that was free a moment ago (bound to port 0 and
# released): for servers that cannot report the port they got.
infra_free_port() {
	"$INFRA_PYTHON" -c '
import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

# infra_wait SECONDS CMD...: run CMD every 50 ms until it succeeds.
infra_wait() {
	local end=$(($(date +%s%N) + $1 * 1000000000))
	shift
	until "$@"; do
		if [ "$(date +%s%N)" -gt "$end" ]; then
			return 1
		fi
		sleep 0.05
	done
}

# infra_kill PID: SIGTERM, up to 5 s, then SIGKILL; reaps it if it is ours.
infra_kill() {
	local pid=$1 i
	[ -n "$pid" ] || return 0
	kill -TERM "$pid" 2>/dev/null || return 0
	for i in $(seq 1 100); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	kill -KILL "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	# Not our child (started in another subshell): wait for it to go.
	for i in $(seq 1 40); do
		kill -0 "$pid" 2>/dev/null || return 0
		sleep 0.05
	done
	echo "infra: process $pid did not stop" >&2
	return 1
}
