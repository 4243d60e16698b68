# SPDX-License-Identifier: Apache-2.0
# Real registries for the pull/push tests: Debian's docker-registry (2.8) on
# 127.0.0.1, with TLS, basic or token auth, a token server (tokenserver.py)
# and a fault-injecting proxy (faultproxy.py). Everything lives in
# $BATS_TEST_TMPDIR/NAME and is stopped by PID. Call the start functions
# directly (not under `run`: they export variables and own the processes),
# and infra_cleanup (or the stop functions) from teardown.
#
#   registry_start NAME [MODE]    MODE: plain (default), tls, basic, token,
#                                 tls-basic, tls-token, mtls (TLS + client
#                                 certificates required)
#     exports, with N the upper-cased NAME (non-alphanumerics as _):
#       REGISTRY_N_ADDR   127.0.0.1:PORT       REGISTRY_N_PID
#       REGISTRY_N_URL    http(s)://127.0.0.1:PORT
#       REGISTRY_N_DIR    its directory (config.yml, storage/, registry.log)
#       REGISTRY_N_MODE   the mode
#     tls*, mtls:
#       REGISTRY_N_CA       the CA certificate (PEM) that signed the server's
#                           (SAN: DNS localhost, IP 127.0.0.1, IP ::1)
#       REGISTRY_N_CERTDIR  a directory with ca.crt (and for mtls
#                           client.cert/client.key), as skopeo/docker want
#     mtls:
#       REGISTRY_N_CLIENT_CERT, REGISTRY_N_CLIENT_KEY
#     basic, token (and tls-*):
#       REGISTRY_N_USER, REGISTRY_N_PASS, REGISTRY_N_CREDS (USER:PASS)
#       REGISTRY_N_HTPASSWD (basic)
#     token:
#       REGISTRY_N_TOKEN_ADDR, REGISTRY_N_TOKEN_PID, REGISTRY_N_TOKEN_REALM,
#       REGISTRY_N_TOKEN_SERVICE, REGISTRY_N_TOKEN_ISSUER,
#       REGISTRY_N_TOKEN_LOG (one JSON line per token request),
#       REGISTRY_N_TOKEN_CONTROL (JSON re-read per request, see tokenserver.py)
#   Knobs, read when starting: REGISTRY_USER, REGISTRY_PASS (default ember /
#   ember-secret), REGISTRY_TOKEN_EXPIRES_IN (300), REGISTRY_TOKEN_ANONYMOUS
#   ("" = anonymous callers are refused; "pull" = they may pull),
#   REGISTRY_TOKEN_ALG (RS256 or ES256), REGISTRY_TLS_KEY (rsa or ec).
#
#   registry_stop NAME            stops it (and its token server), waits
#   registry_push_oci DIR REF [skopeo-copy-flags...]
#                                 skopeo copy oci:DIR:latest docker://REF,
#                                 with the TLS and credential flags of the
#                                 registry or proxy REF names (an index is
#                                 pushed whole: --all)
#   registry_pull_oci REF DIR [skopeo-copy-flags...]
#                                 skopeo copy docker://REF oci:DIR:latest
#   registry_inspect REF [skopeo-inspect-flags...]
#                                 skopeo inspect (e.g. --raw) with the flags
#   registry_digest REF           prints the digest the registry serves for
#                                 REF (Docker-Content-Digest of a HEAD)
#   registry_curl NAME CURL-ARGS... curl with NAME's CA and credentials
#                                 (basic; for token mode a fresh token)
#
#   faultproxy_start NAME UPSTREAM-REGISTRY-NAME|URL [tls]
#     exports PROXY_N_ADDR, PROXY_N_URL, PROXY_N_PID, PROXY_N_CONTROL (the
#     rules, see faultproxy.py; empty = no faults), PROXY_N_LOG (JSON lines),
#     PROXY_N_DIR, PROXY_N_UPSTREAM (the registry's name). With "tls" (for a
#     TLS registry) the proxy serves HTTPS with the registry's certificate:
#     PROXY_N_CA, PROXY_N_CERTDIR are the registry's.
#   faultproxy_set NAME JSON      writes the rules (atomically)
#   faultproxy_clear NAME         no faults
#   faultproxy_stop NAME
#   faultproxy_log NAME [PYTHON-CONDITION]
#                                 prints the log's lines (those where the
#                                 condition on r, one record, holds)
#   infra_cleanup                 stops every registry, token server and
#                                 proxy this test started

# shellcheck source=common.bash
. "$(dirname "${BASH_SOURCE[0]}")/common.bash"

INFRA_NAMES_REGISTRY=()
INFRA_NAMES_PROXY=()

# The name whose server answers at host:port HOSTPORT ("" if none).
_infra_owner() {
	local n v
	for n in "${INFRA_NAMES_REGISTRY[@]}"; do
		v=REGISTRY_$(infra_var "$n")_ADDR
		if [ "${!v:-}" = "$1" ] || [ "${!v/127.0.0.1/localhost}" = "$1" ]; then
			echo "registry $n"
			return
		fi
	done
	for n in "${INFRA_NAMES_PROXY[@]}"; do
		v=PROXY_$(infra_var "$n")_ADDR
		if [ "${!v:-}" = "$1" ] || [ "${!v/127.0.0.1/localhost}" = "$1" ]; then
			echo "proxy $n"
			return
		fi
	done
}

# ---- certificates ---------------------------------------------------------

# _infra_certs DIR KEYTYPE [client]: a CA, a server certificate for
# localhost, 127.0.0.1 and ::1, and with "client" a client certificate, in DIR.
_infra_certs() {
	local d=$1 kt=${2:-rsa} newkey
	case "$kt" in
	rsa) newkey=(-newkey rsa:2048) ;;
	ec) newkey=(-newkey ec -pkeyopt ec_paramgen_curve:P-256) ;;
	*) echo "REGISTRY_TLS_KEY: rsa or ec, not $kt" >&2; return 2 ;;
	esac
	mkdir -p "$d"
	(
		set -e
		cd "$d"
		openssl req -x509 -nodes "${newkey[@]}" -keyout ca.key -out ca.pem -days 3650 \
			-subj "/CN=ember test CA" \
			-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign
		openssl req -new -nodes "${newkey[@]}" -keyout server.key -out server.csr -subj "/CN=localhost"
		printf '%s\n' "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1" \
			"basicConstraints=critical,CA:FALSE" "keyUsage=critical,digitalSignature,keyEncipherment" \
			"extendedKeyUsage=serverAuth" >server.ext
		openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -set_serial 2 -days 825 \
			-extfile server.ext -out server.pem
		mkdir -p certs.d
		cp ca.pem certs.d/ca.crt
		[ "$3" = client ] || exit 0
		openssl req -new -nodes "${newkey[@]}" -keyout client.key -out client.csr -subj "/CN=ember test client"
		printf '%s\n' "basicConstraints=critical,CA:FALSE" "keyUsage=critical,digitalSignature,keyEncipherment" \
			"extendedKeyUsage=clientAuth" >client.ext
		openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -set_serial 3 -days 825 \
			-extfile client.ext -out client.pem
	) >"$d/openssl.log" 2>&1 || {
		cat "$d/openssl.log" >&2
		return 1
	}
}

# ---- docker-registry --------------------------------------------------------

registry_start() {
	local name=$1 mode=${2:-plain} t dir v port scheme=http tls=no auth=none i
	[ -n "$name" ] || { echo "usage: registry_start NAME [MODE]" >&2; return 2; }
	case "$mode" in
	plain) ;;
	tls) tls=yes ;;
	mtls) tls=client ;;
	basic) auth=basic ;;
	token) auth=token ;;
	tls-basic) tls=yes auth=basic ;;
	tls-token) tls=yes auth=token ;;
	*) echo "registry_start: unknown mode $mode" >&2; return 2 ;;
	esac
	t=$(infra_tmp) || return 1
	dir=$t/$name
	v=REGISTRY_$(infra_var "$name")
	mkdir -p "$dir/storage"
	local user=${REGISTRY_USER:-ember} pass=${REGISTRY_PASS:-ember-secret}

	if [ "$tls" != no ]; then
		_infra_certs "$dir/tls" "${REGISTRY_TLS_KEY:-rsa}" "$tls" || return 1
		scheme=https
		export "${v}_CA=$dir/tls/ca.pem" "${v}_CERTDIR=$dir/tls/certs.d"
		if [ "$tls" = client ]; then
			cp "$dir/tls/client.pem" "$dir/tls/certs.d/client.cert"
			cp "$dir/tls/client.key" "$dir/tls/certs.d/client.key"
			export "${v}_CLIENT_CERT=$dir/tls/client.pem" "${v}_CLIENT_KEY=$dir/tls/client.key"
		fi
	fi
	if [ "$auth" != none ]; then
		export "${v}_USER=$user" "${v}_PASS=$pass" "${v}_CREDS=$user:$pass"
	fi
	if [ "$auth" = basic ]; then
		htpasswd -Bbn "$user" "$pass" >"$dir/htpasswd" 2>"$dir/htpasswd.err" || {
			cat "$dir/htpasswd.err" >&2
			return 1
		}
		export "${v}_HTPASSWD=$dir/htpasswd"
	fi
	if [ "$auth" = token ]; then
		_infra_token_start "$name" "$dir/token" "$user" "$pass" || return 1
	fi

	INFRA_NAMES_REGISTRY+=("$name")
	for i in 1 2 3; do
		port=$(infra_free_port) || return 1
		_infra_registry_config "$dir" "$port" "$tls" "$auth" "$v" >"$dir/config.yml"
		: >"$dir/registry.log"
		# An empty environment: docker-registry reads REGISTRY_* variables
		# (such as those exported here) as overrides of its configuration.
		env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
			docker-registry serve "$dir/config.yml" >>"$dir/registry.log" 2>&1 3>&- &
		export "${v}_PID=$!" "${v}_ADDR=127.0.0.1:$port" "${v}_URL=$scheme://127.0.0.1:$port" \
			"${v}_DIR=$dir" "${v}_MODE=$mode"
		if infra_wait 20 _infra_registry_up "$v"; then
			return 0
		fi
		local pidv=${v}_PID
		infra_kill "${!pidv}"
		# Another process took the port between the probe and the start.
		grep -q 'address already in use' "$dir/registry.log" && continue
		break
	done
	echo "registry_start $name: docker-registry did not answer:" >&2
	tail -20 "$dir/registry.log" >&2
	return 1
}

_infra_registry_up() {
	local a=${1}_URL ca=${1}_CA pid=${1}_PID cert=${1}_CLIENT_CERT key=${1}_CLIENT_KEY code args=()
	kill -0 "${!pid}" 2>/dev/null || return 2
	[ -n "${!ca:-}" ] && args+=(--cacert "${!ca}")
	[ -n "${!cert:-}" ] && args+=(--cert "${!cert}" --key "${!key}")
	code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "${args[@]}" "${!a}/v2/") || return 1
	[ "$code" = 200 ] || [ "$code" = 401 ]
}

_infra_registry_config() {
	local dir=$1 port=$2 tls=$3 auth=$4 v=$5 tv
	cat <<EOF
version: 0.1
log:
  level: info
  formatter: text
  accesslog:
    disabled: false
storage:
  filesystem:
    rootdirectory: $dir/storage
  delete:
    enabled: true
  maintenance:
    uploadpurging:
      enabled: false
  redirect:
    disable: true
http:
  addr: 127.0.0.1:$port
  secret: ember-test-secret
  headers:
    X-Content-Type-Options: [nosniff]
EOF
	if [ "$tls" != no ]; then
		cat <<EOF
  tls:
    certificate: $dir/tls/server.pem
    key: $dir/tls/server.key
    minimumtls: tls1.2
EOF
		if [ "$tls" = client ]; then
			cat <<EOF
    clientcas:
      - $dir/tls/ca.pem
EOF
		fi
	fi
	case "$auth" in
	basic)
		cat <<EOF
auth:
  htpasswd:
    realm: ember-test
    path: $dir/htpasswd
EOF
		;;
	token)
		tv=${v}_TOKEN_ADDR
		cat <<EOF
auth:
  token:
    realm: http://${!tv}/token
    service: ember-test-registry
    issuer: ember-test-issuer
    rootcertbundle: $dir/token/cert.pem
EOF
		;;
	esac
	cat <<EOF
health:
  storagedriver:
    enabled: false
EOF
}

_infra_token_start() {
	local name=$1 d=$2 user=$3 pass=$4 v pid alg=${REGISTRY_TOKEN_ALG:-RS256} newkey
	v=REGISTRY_$(infra_var "$name")_TOKEN
	mkdir -p "$d"
	case "$alg" in
	RS256) newkey=(-newkey rsa:2048) ;;
	ES256) newkey=(-newkey ec -pkeyopt ec_paramgen_curve:P-256) ;;
	*) echo "REGISTRY_TOKEN_ALG: RS256 or ES256, not $alg" >&2; return 2 ;;
	esac
	openssl req -x509 -nodes "${newkey[@]}" -keyout "$d/key.pem" -out "$d/cert.pem" -days 3650 \
		-subj "/CN=ember test token signer" >"$d/openssl.log" 2>&1 || {
		cat "$d/openssl.log" >&2
		return 1
	}
	: >"$d/token.log"
	: >"$d/control.json"
	rm -f "$d/port"
	"$INFRA_PYTHON" "$INFRA_LIB/tokenserver.py" --key "$d/key.pem" --cert "$d/cert.pem" \
		--port-file "$d/port" --log "$d/token.log" --control "$d/control.json" \
		--issuer ember-test-issuer --service ember-test-registry --user "$user:$pass" \
		--anonymous "${REGISTRY_TOKEN_ANONYMOUS:-}" --expires-in "${REGISTRY_TOKEN_EXPIRES_IN:-300}" \
		--alg "$alg" >>"$d/tokenserver.err" 2>&1 3>&- &
	pid=$!
	export "${v}_PID=$pid" "${v}_LOG=$d/token.log" "${v}_CONTROL=$d/control.json" \
		"${v}_SERVICE=ember-test-registry" "${v}_ISSUER=ember-test-issuer"
	if ! infra_wait 10 test -s "$d/port"; then
		echo "token server did not start:" >&2
		cat "$d/tokenserver.err" >&2
		return 1
	fi
	export "${v}_ADDR=127.0.0.1:$(cat "$d/port")"
	local a=${v}_ADDR
	export "${v}_REALM=http://${!a}/token"
}

registry_stop() {
	local v pid tpid
	v=REGISTRY_$(infra_var "$1")
	pid=${v}_PID tpid=${v}_TOKEN_PID
	infra_kill "${!pid:-}"
	infra_kill "${!tpid:-}"
	unset "${v}_PID" "${v}_TOKEN_PID"
}

# ---- skopeo against them --------------------------------------------------

# _infra_skopeo_flags REF PREFIX: the TLS/credential flags for the server
# REF names; PREFIX is --dest-, --src- or -- (inspect).
_infra_skopeo_flags() {
	local hostport=${1%%/*} p=$2 owner kind n v mode certdir creds
	owner=$(_infra_owner "$hostport")
	if [ -z "$owner" ]; then
		echo "${p}tls-verify=false"
		return
	fi
	read -r kind n <<<"$owner"
	if [ "$kind" = proxy ]; then
		# Its TLS, and the credentials of the registry behind it.
		v=PROXY_$(infra_var "$n")_CERTDIR
		if [ -n "${!v:-}" ]; then
			echo "${p}cert-dir=${!v}"
		else
			echo "${p}tls-verify=false"
		fi
		v=PROXY_$(infra_var "$n")_UPSTREAM
		n=${!v:-}
		[ -n "$n" ] || return 0
		v=REGISTRY_$(infra_var "$n")
		creds=${v}_CREDS
		[ -n "${!creds:-}" ] && echo "${p}creds=${!creds}"
		return 0
	fi
	v=REGISTRY_$(infra_var "$n")
	mode=${v}_MODE certdir=${v}_CERTDIR creds=${v}_CREDS
	case "${!mode}" in
	tls* | mtls) echo "${p}cert-dir=${!certdir}" ;;
	*) echo "${p}tls-verify=false" ;;
	esac
	[ -n "${!creds:-}" ] && echo "${p}creds=${!creds}"
	return 0
}

# Does "latest" in the layout DIR point at an index?
_infra_is_index() {
	"$INFRA_PYTHON" -c '
import json, sys
for m in json.load(open(sys.argv[1] + "/index.json"))["manifests"]:
    if m.get("annotations", {}).get("org.opencontainers.image.ref.name") == "latest":
        sys.exit(0 if m["mediaType"] == "application/vnd.oci.image.index.v1+json" else 1)
sys.exit(1)' "$1"
}

registry_push_oci() {
	local dir=$1 ref=$2 flags=() all=()
	shift 2
	mapfile -t flags < <(_infra_skopeo_flags "$ref" --dest-)
	# An index goes whole, unless the caller chose.
	if _infra_is_index "$dir" && [[ " $* " != *" --all "* && " $* " != *" --multi-arch"* ]]; then
		all=(--all)
	fi
	skopeo_t copy -q --preserve-digests "${all[@]}" "${flags[@]}" "$@" "oci:$dir:latest" "docker://$ref"
}

registry_pull_oci() {
	local ref=$1 dir=$2 flags=()
	shift 2
	mapfile -t flags < <(_infra_skopeo_flags "$ref" --src-)
	skopeo_t copy -q --preserve-digests "${flags[@]}" "$@" "docker://$ref" "oci:$dir:latest"
}

registry_inspect() {
	local ref=$1 flags=()
	shift
	mapfile -t flags < <(_infra_skopeo_flags "$ref" --)
	skopeo_t inspect "${flags[@]}" "$@" "docker://$ref"
}

registry_digest() {
	local ref=$1 hostport repo tag owner kind n url
	hostport=${ref%%/*}
	repo=${ref#*/}
	if [[ "$repo" == *@* ]]; then
		tag=${repo#*@}
		repo=${repo%@*}
	else
		tag=${repo##*:}
		repo=${repo%:*}
	fi
	owner=$(_infra_owner "$hostport")
	read -r kind n <<<"$owner"
	[ "$kind" = registry ] || { echo "registry_digest: $hostport is not a started registry" >&2; return 1; }
	registry_curl "$n" -sSf -I \
		-H 'Accept: application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json, application/vnd.docker.distribution.manifest.list.v2+json' \
		"/v2/$repo/manifests/$tag" --scope "repository:$repo:pull" |
		tr -d '\r' | sed -n 's/^[Dd]ocker-[Cc]ontent-[Dd]igest: *//p'
}

# registry_curl NAME [--scope SCOPE] CURL-ARGS... PATH: curl against the
# registry with its CA, client certificate and credentials. A PATH that
# starts with / is taken relative to the registry's URL. In token mode a
# token for SCOPE (default: none) is fetched first.
registry_curl() {
	local v args=() scope='' url mode ca cert key creds tok
	v=REGISTRY_$(infra_var "$1")
	shift
	url=${v}_URL mode=${v}_MODE ca=${v}_CA cert=${v}_CLIENT_CERT key=${v}_CLIENT_KEY creds=${v}_CREDS
	while [ $# -gt 0 ]; do
		case "$1" in
		--scope) scope=$2; shift ;;
		/*) args+=("${!url}$1") ;;
		*) args+=("$1") ;;
		esac
		shift
	done
	local opts=()
	[ -n "${!ca:-}" ] && opts+=(--cacert "${!ca}")
	[ -n "${!cert:-}" ] && opts+=(--cert "${!cert}" --key "${!key}")
	case "${!mode}" in
	*basic) opts+=(-u "${!creds}") ;;
	*token)
		local realm=${v}_TOKEN_REALM q="service=ember-test-registry"
		[ -n "$scope" ] && q+="&scope=$scope"
		tok=$(curl -sSf -u "${!creds}" "${!realm}?$q" | "$INFRA_PYTHON" -c 'import json,sys; print(json.load(sys.stdin)["token"])') || return 1
		opts+=(-H "Authorization: Bearer $tok")
		;;
	esac
	curl "${opts[@]}" "${args[@]}"
}

# ---- the fault proxy ----------------------------------------------------------

faultproxy_start() {
	local name=$1 up=$2 tls=${3:-} t d v url ca='' pid upname='' scheme=http
	if [ -z "$name" ] || [ -z "$up" ]; then
		echo "usage: faultproxy_start NAME UPSTREAM [tls]" >&2
		return 2
	fi
	t=$(infra_tmp) || return 1
	d=$t/proxy-$name
	v=PROXY_$(infra_var "$name")
	mkdir -p "$d"
	case "$up" in
	http://* | https://*) url=$up ;;
	*)
		local uv=REGISTRY_$(infra_var "$up")_URL cv=REGISTRY_$(infra_var "$up")_CA
		if [ -n "${!uv:-}" ]; then
			url=${!uv} ca=${!cv:-} upname=$up
		else
			url=http://$up
		fi
		;;
	esac
	: >"$d/control.json"
	: >"$d/log.jsonl"
	rm -f "$d/port"
	local args=(--upstream "$url" --control "$d/control.json" --log "$d/log.jsonl" --port-file "$d/port")
	[ -n "$ca" ] && args+=(--upstream-ca "$ca")
	if [ "$tls" = tls ]; then
		local rd=REGISTRY_$(infra_var "$up")_DIR cd=REGISTRY_$(infra_var "$up")_CERTDIR
		if [ -z "$ca" ]; then
			echo "faultproxy_start $name: tls needs a TLS registry upstream" >&2
			return 2
		fi
		args+=(--tls-cert "${!rd}/tls/server.pem" --tls-key "${!rd}/tls/server.key")
		export "${v}_CA=$ca" "${v}_CERTDIR=${!cd}"
		scheme=https
	fi
	"$INFRA_PYTHON" "$INFRA_LIB/faultproxy.py" "${args[@]}" >>"$d/proxy.err" 2>&1 3>&- &
	pid=$!
	export "${v}_PID=$pid" "${v}_CONTROL=$d/control.json" "${v}_LOG=$d/log.jsonl" \
		"${v}_DIR=$d" "${v}_UPSTREAM=$upname"
	INFRA_NAMES_PROXY+=("$name")
	if ! infra_wait 10 test -s "$d/port"; then
		echo "faultproxy_start $name: the proxy did not start:" >&2
		cat "$d/proxy.err" >&2
		return 1
	fi
	export "${v}_ADDR=127.0.0.1:$(cat "$d/port")"
	local a=${v}_ADDR
	export "${v}_URL=$scheme://${!a}"
}

faultproxy_set() {
	local c
	c=PROXY_$(infra_var "$1")_CONTROL
	printf '%s\n' "$2" >"${!c}.tmp"
	mv -f "${!c}.tmp" "${!c}"
}

faultproxy_clear() {
	faultproxy_set "$1" '{"rules": []}'
}

faultproxy_stop() {
	local p
	p=PROXY_$(infra_var "$1")_PID
	infra_kill "${!p:-}"
	unset "PROXY_$(infra_var "$1")_PID"
}

faultproxy_log() {
	local l
	l=PROXY_$(infra_var "$1")_LOG
	"$INFRA_PYTHON" -c '
import json, sys
cond = sys.argv[2] if len(sys.argv) > 2 else "True"
for line in open(sys.argv[1]):
    r = json.loads(line)
    if eval(cond, {}, {"r": r}):
        print(line, end="")' "${!l}" "${@:2}"
}

infra_cleanup() {
	local n
	for n in "${INFRA_NAMES_PROXY[@]}"; do
		faultproxy_stop "$n"
	done
	for n in "${INFRA_NAMES_REGISTRY[@]}"; do
		registry_stop "$n"
	done
	INFRA_NAMES_PROXY=()
	INFRA_NAMES_REGISTRY=()
}
