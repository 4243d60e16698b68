#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# What a signature check costs a pull: the same image (BusyBox, signed in
# cosign's format by tests/integration/lib/cosignsign.py) pulled from
# Debian's docker-registry on 127.0.0.1 into a namespace with policy
# "none" and into one with policy "require", taking turns in one run:
#   cold: from an empty store (images rm, content gc, every round);
#   warm: the image already there (the pull fetches the manifest again,
#         and with "require" the signature manifest and its payload).
# Prints medians and the ratio require/none. Not a pass/fail test.
#   tests/bench/signatures.sh path/to/ember [rounds]
set -euo pipefail
cd "$(dirname "$0")/../.."

EMBER=$(realpath "${1:?usage: signatures.sh path/to/ember [rounds]}")
ROUNDS=${2:-15}
T=$(mktemp -d /tmp/ember-bench-sig.XXXXXX)
export INFRA_TMPDIR=$T
# shellcheck source=../integration/lib/registry.bash
. tests/integration/lib/registry.bash
# shellcheck source=../integration/lib/image.bash
. tests/integration/lib/image.bash
DPID=
cleanup() {
	[ -z "$DPID" ] || { kill -TERM "$DPID" 2>/dev/null; wait "$DPID" 2>/dev/null || true; }
	infra_cleanup
	rm -rf "$T"
}
trap cleanup EXIT

registry_start r >/dev/null
image_busybox "$T/bb"
REF=$REGISTRY_R_ADDR/test/bb:v1
registry_push_oci "$T/bb" "$REF"
DIGEST=$(registry_digest "$REF")
openssl ecparam -genkey -name prime256v1 -noout -out "$T/fleet.pem" 2>/dev/null
openssl ec -in "$T/fleet.pem" -pubout -out "$T/fleet.pub" 2>/dev/null
"$INFRA_PYTHON" tests/integration/lib/cosignsign.py "$REGISTRY_R_URL" test/bb "$DIGEST" "$T/fleet.pem" >/dev/null
printf '[verify.namespaces.signed]\npolicy = "require"\nkeys = ["%s"]\n' "$T/fleet.pub" >"$T/config.toml"
"$EMBER" daemon --config "$T/config.toml" --root "$T/root" --state "$T/state" --address "$T/sock" 2>"$T/daemon.log" &
DPID=$!
E=("$EMBER" --address "$T/sock")
for _ in $(seq 100); do "${E[@]}" info >/dev/null 2>&1 && break; sleep 0.05; done

pull_ms() { # NS: one pull, its wall time in ms
	local t0 t1
	t0=$(date +%s%N)
	"${E[@]}" -n "$1" pull --plain-http "$REF" >/dev/null 2>&1
	t1=$(date +%s%N)
	echo $(((t1 - t0) / 1000))
}
empty() {
	local ns
	for ns in plain signed; do "${E[@]}" -n "$ns" images rm "$REF" >/dev/null 2>&1 || true; done
	"${E[@]}" content gc >/dev/null
}
median() { sort -n | awk '{a[NR]=$1} END {m = NR % 2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2; printf "%.1f", m/1000}'; }

declare -A t
for mode in cold warm; do
	: >"$T/$mode.plain" && : >"$T/$mode.signed"
	for _ in $(seq "$ROUNDS"); do
		for ns in plain signed; do
			[ "$mode" = warm ] || empty
			pull_ms "$ns" >>"$T/$mode.$ns"
		done
	done
	t[$mode.plain]=$(median <"$T/$mode.plain")
	t[$mode.signed]=$(median <"$T/$mode.signed")
done
"${E[@]}" -n signed images inspect "$REF" | grep -q '"verified"' || { echo "bench: the signed pull was not verified" >&2; exit 1; }

echo "## Signature check per pull ($ROUNDS rounds each, medians, $(nproc) cores)"
echo
echo "| pull of BusyBox (1 layer) | policy none | policy require | ratio |"
echo "|---|---|---|---|"
for mode in cold warm; do
	awk -v m="$mode" -v a="${t[$mode.plain]}" -v b="${t[$mode.signed]}" \
		'BEGIN { printf "| %s | %.1f ms | %.1f ms | %.2f |\n", m == "cold" ? "cold (empty store)" : "warm (image there)", a, b, b / a }'
done
