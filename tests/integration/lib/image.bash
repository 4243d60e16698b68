# SPDX-License-Identifier: Apache-2.0
# Test images, built offline as OCI image layouts (see mkimage.py).
#
#   image_busybox DIR              BusyBox, one gzip layer, tag "latest"
#   image_busybox_health DIR       the same with a Healthcheck in its config
#   image_big DIR [MB] [zstd|gzip] 5 layers, ~MB MB (default 40); layer 2 zstd
#                                  (default) or gzip; layer 5 has whiteouts
#   image_multiarch DIR            an index: fakes for other platforms, then
#                                  the host's busybox manifest
#   image_rich DIR                 5 layers (gzip, gzip, zstd, tar, gzip): every
#                                  entry type, modes, owners, xattrs, devices,
#                                  hard links, whiteouts (see mkimage.py)
# Each sets IMAGE_DIGEST (what index.json's "latest" points at: a manifest,
# or for multiarch an index) and IMAGE_INFO (JSON: digests and sizes of
# every manifest and layer). Call them directly, not under `run`.
#
#   image_digest DIR               prints the digest "latest" points at
#   image_host_platform            prints linux/amd64, linux/arm64/v8, ...
#   image_unpack DIR BUNDLE [skopeo-copy-flags]
#                                  the oracle: umoci unpacks "latest" (the
#                                  host platform of an index, or what
#                                  --override-arch etc. select) into
#                                  BUNDLE/rootfs; zstd layers are first
#                                  recompressed by skopeo (umoci 0.4.7 has
#                                  no zstd)
#   image_unpack_root DIR BUNDLE [skopeo-copy-flags]
#                                  the same as root, without --rootless: real
#                                  owners, device nodes, security.* xattrs
#
# A build is cached for the bats run (in $BATS_RUN_TMPDIR) and copied, so
# asking again is cheap and every caller gets its own writable copy.

# shellcheck source=common.bash
. "$(dirname "${BASH_SOURCE[0]}")/common.bash"

_image_build() {
	local dir=$1 cache key
	shift
	key=$(echo "$*" | tr ' /' '__')
	if [ -n "${BATS_RUN_TMPDIR:-}" ]; then
		cache=$BATS_RUN_TMPDIR/ember-images/$key
		if [ ! -f "$cache/.info" ]; then
			local tmp
			mkdir -p "$BATS_RUN_TMPDIR/ember-images"
			tmp=$(mktemp -d "$BATS_RUN_TMPDIR/ember-images/.build.XXXXXX")
			"$INFRA_PYTHON" "$INFRA_LIB/mkimage.py" "$1" "$tmp/layout" "${@:2}" >"$tmp/info" || {
				rm -rf "$tmp"
				return 1
			}
			mv "$tmp/info" "$tmp/layout/.info"
			# Another builder may have won: either copy is the same.
			mv -T "$tmp/layout" "$cache" 2>/dev/null || true
			rm -rf "$tmp"
		fi
		mkdir -p "$dir"
		cp -a "$cache/." "$dir/"
		IMAGE_INFO=$(cat "$dir/.info")
		rm -f "$dir/.info"
	else
		IMAGE_INFO=$("$INFRA_PYTHON" "$INFRA_LIB/mkimage.py" "$1" "$dir" "${@:2}") || return 1
	fi
	IMAGE_DIGEST=$(image_digest "$dir")
}

image_busybox() {
	[ $# -eq 1 ] || { echo "usage: image_busybox DIR" >&2; return 2; }
	_image_build "$1" busybox
}

image_busybox_health() {
	[ $# -eq 1 ] || { echo "usage: image_busybox_health DIR" >&2; return 2; }
	_image_build "$1" busybox-health
}

image_big() {
	[ $# -ge 1 ] && [ $# -le 3 ] || { echo "usage: image_big DIR [MB] [zstd|gzip]" >&2; return 2; }
	_image_build "$1" big "${2:-40}" "${3:-zstd}"
}

image_multiarch() {
	[ $# -eq 1 ] || { echo "usage: image_multiarch DIR" >&2; return 2; }
	_image_build "$1" multiarch
}

image_rich() {
	[ $# -eq 1 ] || { echo "usage: image_rich DIR" >&2; return 2; }
	_image_build "$1" rich
}

image_busybox_for() {
	[ $# -eq 3 ] || { echo "usage: image_busybox_for DIR BUSYBOX MACHINE" >&2; return 2; }
	_image_build "$1" busybox-for "$2" "$3"
}

image_foreign() {
	[ $# -eq 1 ] || { echo "usage: image_foreign DIR" >&2; return 2; }
	_image_build "$1" foreign
}

# image_sized DIR SEED KIB [TAG]: busybox + a layer of KIB KiB of random bytes.
image_sized() {
	[ $# -ge 3 ] && [ $# -le 4 ] || { echo "usage: image_sized DIR SEED KIB [TAG]" >&2; return 2; }
	_image_build "$1" sized "$2" "$3" ${4:+"$4"}
}

image_layers() {
	[ $# -eq 2 ] || { echo "usage: image_layers DIR N" >&2; return 2; }
	_image_build "$1" layers "$2"
}

image_digest() {
	"$INFRA_PYTHON" -c '
import json, sys
ms = json.load(open(sys.argv[1] + "/index.json"))["manifests"]
for m in ms:
    if m.get("annotations", {}).get("org.opencontainers.image.ref.name") == "latest":
        print(m["digest"])
        break
else:
    if len(ms) != 1:
        sys.exit("no \"latest\" in %s/index.json" % sys.argv[1])
    print(ms[0]["digest"])  # one entry of another tag (image_sized)' "$1"
}

image_host_platform() {
	case "$(uname -m)" in
	x86_64 | amd64) echo linux/amd64 ;;
	aarch64 | arm64) echo linux/arm64/v8 ;;
	armv7*) echo linux/arm/v7 ;;
	armv6*) echo linux/arm/v6 ;;
	*) echo "linux/$(uname -m)" ;;
	esac
}

image_unpack() {
	_image_unpack --rootless "$@"
}

image_unpack_root() {
	_image_unpack "" "$@"
}

_image_unpack() {
	local rootless=$1 dir=$2 bundle=$3 t src
	shift 3
	t=$(infra_tmp) || return 1
	src=$(mktemp -d "$t/.unpack-src.XXXXXX")
	# One image (platform selection by skopeo, as for a pull), every layer
	# gzip: a form umoci 0.4.7 unpacks.
	skopeo_t copy -q "$@" --dest-compress-format gzip --dest-compress \
		"oci:$dir:latest" "oci:$src:latest" || { rm -rf "$src"; return 1; }
	umoci unpack ${rootless:+"$rootless"} --image "$src:latest" "$bundle" >/dev/null || { rm -rf "$src"; return 1; }
	rm -rf "$src"
}

# image_archive LAYOUT NAME OUT: LAYOUT's "latest" as an OCI archive named
# NAME (io.containerd.image.name, as `ember images export` writes it), its
# index.json first.
image_archive() {
	[ $# -eq 3 ] || { echo "usage: image_archive LAYOUT NAME OUT" >&2; return 2; }
	local tmp
	tmp=$(mktemp -d "${INFRA_TMPDIR:-/tmp}/archive.XXXXXX")
	cp -a "$1/." "$tmp/"
	"$INFRA_PYTHON" -c '
import json, sys
p = sys.argv[1] + "/index.json"
idx = json.load(open(p))
for m in idx["manifests"]:
    m.setdefault("annotations", {})["io.containerd.image.name"] = sys.argv[2]
json.dump(idx, open(p, "w"))' "$tmp" "$2"
	tar -C "$tmp" -cf "$3" oci-layout index.json blobs
	rm -rf "$tmp"
}
