#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# ember images export / import: archives read by skopeo and umoci, archives
# made by skopeo read by ember, and hostile archives refused with the store
# left as it was.

bats_require_minimum_version 1.5.0
load helpers
load lib/image
load lib/registry
load lib/remote

setup() {
	setup_dirs
	daemon_up
}

teardown() {
	remote_teardown
}

BB=example.com/bb:latest

# layout_tar DIR OUT: an OCI layout directory as a tar.
layout_tar() {
	tar -C "$1" -cf "$2" .
}

# import_bb: busybox imported as example.com/bb:latest (IMAGE_DIGEST, M_*).
import_bb() {
	image_busybox "$T/bb"
	info_manifest
	layout_tar "$T/bb" "$T/bb.tar"
	run e images import --base-name example.com/bb "$T/bb.tar"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${lines[-1]}" = "$BB: imported $IMAGE_DIGEST" ]
	BB_DIGEST=$IMAGE_DIGEST
}

# assert_store_as_before: only busybox is recorded, and it is whole.
assert_store_as_before() {
	[ "$(image_names)" = "$BB" ]
	[ "$(record_digest "$BB")" = "$BB_DIGEST" ]
	assert_complete "$BB"
}

# refused FILE FRAGMENT: import FILE fails (exit 1) saying FRAGMENT; no
# record is written and busybox is intact.
refused() {
	run -1 e --debug images import --base-name example.com/hostile "$1"
	echo "$output"
	REFUSED=$output
	[[ "$output" == *"$2"* ]]
	[[ "$output" == *"io.ember.InvalidArgument"* || "$output" == *"io.ember.NotFound"* ]]
	assert_store_as_before
}

# ---- export --------------------------------------------------------------------------

@test "archive: export is an OCI archive and a docker archive for skopeo; umoci unpacks the extracted layout" {
	import_bb
	run -0 e images export "$T/out.tar" "$BB"
	[ -z "$output" ]
	run -0 skopeo_t inspect "oci-archive:$T/out.tar"
	[ "$(jget 'j["Digest"]' <<<"$output")" = "$IMAGE_DIGEST" ]
	[ "$(jget 'j["Layers"]' <<<"$output")" = "[\"$M_LAYERS\"]" ]
	run -0 skopeo_t inspect --raw "oci-archive:$T/out.tar"
	[ "sha256:$(printf '%s' "$output" | sha256sum | cut -d' ' -f1)" = "$IMAGE_DIGEST" ]
	# skopeo shows a docker archive's layers by their uncompressed digests.
	local diff_ids
	diff_ids=$(jget 'j["rootfs"]["diff_ids"]' <"$(layout_blob "$T/bb" "$M_CONFIG")")
	run -0 skopeo_t inspect "docker-archive:$T/out.tar"
	echo "$output"
	[ "$(jget 'j["Layers"]' <<<"$output")" = "$diff_ids" ]
	[ "$(jget 'j["Os"] + "/" + j["Architecture"]' <<<"$output")" = "$(image_host_platform | cut -d/ -f1-2)" ]
	skopeo_t copy -q "docker-archive:$T/out.tar" "oci:$T/fromdocker:latest"
	# The names: the full one and the tag.
	mkdir "$T/x"
	tar -C "$T/x" -xf "$T/out.tar"
	[ "$(jget 'j["manifests"][0]["annotations"]["io.containerd.image.name"]' <"$T/x/index.json")" = "$BB" ]
	[ "$(jget 'j["manifests"][0]["annotations"]["org.opencontainers.image.ref.name"]' <"$T/x/index.json")" = latest ]
	[ "$(jget 'j[0]["RepoTags"]' <"$T/x/manifest.json")" = "[\"$BB\"]" ]
	# Every blob as imported, and umoci unpacks it.
	local f
	for f in "$T/bb"/blobs/sha256/*; do
		cmp "$f" "$T/x/blobs/sha256/$(basename "$f")"
	done
	umoci unpack --rootless --image "$T/x:latest" "$T/bundle" >/dev/null
	cmp "$T/bundle/rootfs/bin/busybox" /bin/busybox
	[ "$(readlink "$T/bundle/rootfs/bin/sh")" = busybox ]
	# To standard output: the same bytes (an export is deterministic).
	e images export - "$BB" >"$T/stdout.tar"
	cmp "$T/out.tar" "$T/stdout.tar"
}

@test "archive: several images in one archive (one with a zstd layer); skopeo picks each; a re-import gives the same" {
	import_bb
	image_big "$T/big" 8
	local big_digest=$IMAGE_DIGEST
	layout_tar "$T/big" "$T/big.tar"
	run -0 e images import --base-name example.com/big "$T/big.tar"
	e images tag example.com/big:latest example.com/big:v1
	run -0 e images export "$T/two.tar" "$BB" example.com/big:v1
	run -0 skopeo_t inspect "oci-archive:$T/two.tar:v1"
	[ "$(jget 'j["Digest"]' <<<"$output")" = "$big_digest" ]
	[ "$(jget 'len(j["Layers"])' <<<"$output")" = 5 ]
	run -0 skopeo_t inspect "oci-archive:$T/two.tar:latest"
	[ "$(jget 'j["Digest"]' <<<"$output")" = "$BB_DIGEST" ]
	run -0 skopeo_t inspect "docker-archive:$T/two.tar:example.com/big:v1"
	[ "$(jget 'len(j["Layers"])' <<<"$output")" = 5 ]
	# Back into another namespace: both names, both whole.
	run -0 e -n again images import "$T/two.tar"
	echo "$output"
	[ "$(image_names again)" = "$(sorted_words "$BB" example.com/big:v1)" ]
	[ "$(record_digest example.com/big:v1 again)" = "$big_digest" ]
	assert_complete example.com/big:v1 again
	assert_complete "$BB" again
	# A name that is not there: NotFound, and no archive is written.
	run -1 e --debug images export "$T/none.tar" example.com/no/such:thing
	[[ "$output" == *"io.ember.NotFound"* ]]
	[ ! -s "$T/none.tar" ]
}

# ---- import of archives skopeo made --------------------------------------------------------

@test "archive: skopeo's oci-archive and docker-archive import whole, under the names they carry" {
	image_busybox "$T/bb"
	info_manifest
	local diff_id
	diff_id=$(jget 'j["rootfs"]["diff_ids"][0]' <"$(layout_blob "$T/bb" "$M_CONFIG")")
	skopeo_t copy -q "oci:$T/bb:latest" "oci-archive:$T/sk-oci.tar:example.com/sk/oci:1.0"
	run -0 e images import "$T/sk-oci.tar"
	echo "$output"
	[ "${lines[-1]}" = "example.com/sk/oci:1.0: imported $IMAGE_DIGEST" ]
	assert_complete example.com/sk/oci:1.0

	skopeo_t copy -q "oci:$T/bb:latest" "docker-archive:$T/sk-docker.tar:example.com/sk/docker:2.0"
	run -0 e images import "$T/sk-docker.tar"
	echo "$output"
	[[ "${lines[-1]}" == "example.com/sk/docker:2.0: imported sha256:"* ]]
	assert_complete example.com/sk/docker:2.0
	[ "${lines[-1]}" = "example.com/sk/docker:2.0: complete (3/3 blobs, verified)" ]
	# docker-archive holds the layer uncompressed: the manifest ember made
	# names it by its diff_id, with the config skopeo wrote.
	local m
	m=$(record_digest example.com/sk/docker:2.0)
	[ "$(jget 'j["layers"][0]["digest"]' <"$(blob_path "$m")")" = "$diff_id" ]
	[ "$(jget 'j["layers"][0]["mediaType"]' <"$(blob_path "$m")")" = application/vnd.oci.image.layer.v1.tar ]
	[ "$(jget 'j["config"]["digest"]' <"$(blob_path "$m")")" = "$(tar -xOf "$T/sk-docker.tar" manifest.json | jget '"sha256:" + j[0]["Config"].split("/")[-1].replace(".json", "")')" ]

	# A familiar name: normalised as Docker does.
	skopeo_t copy -q "oci:$T/bb:latest" "docker-archive:$T/sk-short.tar:busybox:v2"
	run -0 e images import "$T/sk-short.tar"
	[[ "${lines[-1]}" == "docker.io/library/busybox:v2: imported sha256:"* ]]
	assert_complete busybox:v2
	[ "$(image_names)" = "$(sorted_words docker.io/library/busybox:v2 example.com/sk/docker:2.0 example.com/sk/oci:1.0)" ]
}

@test "archive: compressed archives (gzip, zstd) and standard input import too" {
	image_busybox "$T/bb"
	layout_tar "$T/bb" "$T/bb.tar"
	gzip -c "$T/bb.tar" >"$T/bb.tar.gz"
	zstd -q -c "$T/bb.tar" >"$T/bb.tar.zst"
	run -0 e images import --base-name example.com/gz "$T/bb.tar.gz"
	[ "${lines[-1]}" = "example.com/gz:latest: imported $IMAGE_DIGEST" ]
	run -0 e images import --base-name example.com/zst "$T/bb.tar.zst"
	[ "${lines[-1]}" = "example.com/zst:latest: imported $IMAGE_DIGEST" ]
	run -0 bash -c "cat '$T/bb.tar' | '$EMBER' --address '$SOCK' images import --base-name example.com/stdin -"
	[ "${lines[-1]}" = "example.com/stdin:latest: imported $IMAGE_DIGEST" ]
	assert_complete example.com/zst:latest
	assert_complete example.com/stdin:latest
	# Without --base-name, an entry named only "latest" cannot be named.
	run -1 e images import "$T/bb.tar"
	echo "$output"
	[[ "$output" == *"give a base name (--base-name)"* ]]
	[ "$(image_names)" = "$(sorted_words example.com/gz:latest example.com/stdin:latest example.com/zst:latest)" ]
}

# ---- hostile archives -------------------------------------------------------------------------

@test "archive: not a tar: a clear error, no record, earlier images intact" {
	import_bb
	head -c 20000 /dev/urandom >"$T/random.bin"
	refused "$T/random.bin" "not a tar archive"
	echo "just some text, no archive" >"$T/text"
	refused "$T/text" "not a tar archive"
	: >"$T/empty"
	run -1 e images import --base-name example.com/hostile "$T/empty"
	echo "$output"
	assert_store_as_before
	# A tar with neither index.json nor manifest.json.
	mkdir -p "$T/plain"
	echo hello >"$T/plain/hello.txt"
	tar -C "$T/plain" -cf "$T/plain.tar" .
	refused "$T/plain.tar" "neither index.json (OCI layout) nor manifest.json (docker save) in the archive"
	# A real archive cut short in the middle of the layer.
	image_big "$T/big" 8
	layout_tar "$T/big" "$T/big.tar"
	head -c $(($(stat -c %s "$T/big.tar") / 2)) "$T/big.tar" >"$T/cut.tar"
	refused "$T/cut.tar" "runcated"
}

@test "archive: a blobs/sha256/<hex> entry whose bytes do not match its name is refused and not stored" {
	import_bb
	cp -a "$T/bb" "$T/bad"
	local layer=$(layout_blob "$T/bad" "$M_LAYERS")
	chmod u+w "$layer"
	printf 'these are not the bytes you are looking for' >"$layer"
	local wrong=sha256:$(sha256sum "$layer" | cut -d' ' -f1)
	layout_tar "$T/bad" "$T/bad.tar"
	run -1 e images import --base-name example.com/hostile "$T/bad.tar"
	echo "$output"
	[[ "$output" == *"digest mismatch"* ]]
	[[ "$output" == *"${M_LAYERS#sha256:}"* ]]
	assert_store_as_before
	run -0 store_digests
	run ! grep -qx "$wrong" <<<"$output"
	[ ! -e "$(blob_path "$wrong")" ]
	# Nothing half-written left in the blob directory.
	[ -z "$(find "$ROOT/content/blobs" -type f ! -name '[0-9a-f]*[0-9a-f]')" ]
	# A name that is not a digest at all under blobs/sha256/.
	cp -a "$T/bb" "$T/badname"
	mv "$(layout_blob "$T/badname" "$M_CONFIG")" "$T/badname/blobs/sha256/not-a-digest"
	layout_tar "$T/badname" "$T/badname.tar"
	refused "$T/badname.tar" "not a sha256 blob name"
}

@test "archive: an index.json naming a blob the archive lacks, or a manifest whose layer is missing" {
	import_bb
	# The manifest named by index.json is not in the archive (and not in
	# the store: a manifest no one has).
	mkdir -p "$T/noman/blobs/sha256"
	cp "$T/bb/oci-layout" "$T/noman/"
	local ghost=sha256:$(printf 'a manifest that is nowhere' | sha256sum | cut -d' ' -f1)
	printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"%s","size":400,"annotations":{"org.opencontainers.image.ref.name":"v9"}}]}' \
		"$ghost" >"$T/noman/index.json"
	layout_tar "$T/noman" "$T/noman.tar"
	refused "$T/noman.tar" "index.json: manifests[0]"
	[[ "$REFUSED" == *"$ghost"* ]]

	# A new manifest (another annotation, so another digest) whose layer is
	# not in the archive nor in the store.
	mkdir -p "$T/nolayer/blobs/sha256"
	cp "$T/bb/oci-layout" "$T/nolayer/"
	cp "$(layout_blob "$T/bb" "$M_CONFIG")" "$T/nolayer/blobs/sha256/"
	local ghost_layer=sha256:$(printf 'a layer that is nowhere' | sha256sum | cut -d' ' -f1)
	"$PYTHON" - "$T/nolayer" "$(layout_blob "$T/bb" "$IMAGE_DIGEST")" "$ghost_layer" <<'EOF'
import hashlib, json, os, sys
d, src, ghost = sys.argv[1:]
m = json.load(open(src))
m["layers"][0]["digest"] = ghost
m["annotations"] = {"test": "missing layer"}
data = json.dumps(m).encode()
h = hashlib.sha256(data).hexdigest()
open(os.path.join(d, "blobs", "sha256", h), "wb").write(data)
json.dump({"schemaVersion": 2, "manifests": [{"mediaType": m["mediaType"], "digest": "sha256:" + h,
           "size": len(data), "annotations": {"org.opencontainers.image.ref.name": "v8"}}]},
          open(os.path.join(d, "index.json"), "w"))
EOF
	layout_tar "$T/nolayer" "$T/nolayer.tar"
	refused "$T/nolayer.tar" "needs blob $ghost_layer, which the archive lacks"
}

@test "archive: a docker manifest.json pointing at a layer the archive lacks is refused" {
	import_bb
	skopeo_t copy -q "oci:$T/bb:latest" "docker-archive:$T/d.tar:example.com/d:1"
	mkdir "$T/d"
	tar -C "$T/d" -xf "$T/d.tar"
	local layer
	layer=$(jget 'j[0]["Layers"][0]' <"$T/d/manifest.json")
	rm "$T/d/$layer"
	tar -C "$T/d" -cf "$T/d-nolayer.tar" .
	refused "$T/d-nolayer.tar" "manifest.json[0]: layer 0 is missing from the archive"
	# Or at a config it lacks.
	rm -rf "$T/d"
	mkdir "$T/d"
	tar -C "$T/d" -xf "$T/d.tar"
	rm "$T/d/$(jget 'j[0]["Config"]' <"$T/d/manifest.json")"
	tar -C "$T/d" -cf "$T/d-noconfig.tar" .
	refused "$T/d-noconfig.tar" "manifest.json[0]: its Config or Layers are missing from the archive"
	# manifest.json that is not a list.
	rm -rf "$T/d"
	mkdir "$T/d"
	tar -C "$T/d" -xf "$T/d.tar"
	echo '{"Config": "x"}' >"$T/d/manifest.json"
	tar -C "$T/d" -cf "$T/d-notlist.tar" .
	refused "$T/d-notlist.tar" "manifest.json: not a JSON array"
}

@test "archive: an oversized index.json is refused before it is read" {
	import_bb
	cp -a "$T/bb" "$T/huge"
	"$PYTHON" - "$T/huge/index.json" <<'EOF'
import json, sys
ix = json.load(open(sys.argv[1]))
text = json.dumps(ix)
# Valid JSON, 5 MiB of it: whitespace after the object.
open(sys.argv[1], "w").write(text + " " * (5 * 1024 * 1024 - len(text)))
EOF
	[ "$(stat -c %s "$T/huge/index.json")" = $((5 * 1024 * 1024)) ]
	layout_tar "$T/huge" "$T/huge.tar"
	refused "$T/huge.tar" "index.json: 5242880 bytes is over the limit of 4194304"
}

@test "archive: entries with .. or absolute paths, links and devices write nothing outside the store" {
	import_bb
	mkdir -p "$T/victim"
	"$PYTHON" - "$T/evil.tar" "$T/victim" "$T/bb" <<'EOF'
import io, os, sys, tarfile
out, victim, layout = sys.argv[1:]
def add(t, name, data=b"evil", **kw):
    ti = tarfile.TarInfo(name)
    ti.size = len(data)
    for k, v in kw.items():
        setattr(ti, k, v)
    t.addfile(ti, io.BytesIO(data) if ti.isreg() else None)
with tarfile.open(out, "w", format=tarfile.PAX_FORMAT) as t:
    add(t, "../../../../../../.." + victim + "/dotdot")
    add(t, victim + "/absolute")
    ti = tarfile.TarInfo("link"); ti.type = tarfile.SYMTYPE; ti.linkname = victim + "/linked"
    t.addfile(ti)
    ti = tarfile.TarInfo("hard"); ti.type = tarfile.LNKTYPE; ti.linkname = "/etc/passwd"
    t.addfile(ti)
    ti = tarfile.TarInfo("dev"); ti.type = tarfile.CHRTYPE; ti.devmajor = 1; ti.devminor = 3
    t.addfile(ti)
    for root, dirs, files in os.walk(layout):
        for f in files:
            p = os.path.join(root, f)
            t.add(p, arcname=os.path.relpath(p, layout))
EOF
	run e images import --base-name example.com/evil "$T/evil.tar"
	echo "$output"
	# Whatever the verdict, nothing was written outside the store...
	[ -z "$(ls -A "$T/victim")" ]
	[ ! -e "$T/victim/dotdot" ] && [ ! -e "$T/victim/absolute" ] && [ ! -e "$T/victim/linked" ]
	# ...and every file in the store is a blob named by its digest.
	local f
	for f in "$ROOT"/content/blobs/sha256/*; do
		[ "$(sha256sum "$f" | cut -d' ' -f1)" = "$(basename "$f")" ]
	done
	[ -z "$(find "$ROOT/content" -type l -o -type c -o -type b)" ]
	assert_complete "$BB"
}

# ---- export of an index ---------------------------------------------------------------------

@test "archive: exporting an index whose other platforms are not in the store is a clear error; --platform works" {
	registry_start r
	image_multiarch "$T/ma"
	registry_push_oci "$T/ma" "$REGISTRY_R_ADDR/test/ma:latest"
	local ref=$REGISTRY_R_ADDR/test/ma:latest
	run e pull --plain-http "$ref"
	[ "$status" -eq 0 ]
	info_manifest linux/arm/v7
	local v7=$M_DIGEST
	info_manifest
	run -1 e --debug images export "$T/ma.tar" "$ref"
	echo "$output"
	[[ "$output" == *"the index lists sha256:"*", which is not in the store: export one --platform, or pull with --all-platforms"* ]]
	[[ "$output" == *"io.ember.FailedPrecondition"* ]]
	# A failed export leaves no file, and no temporary one beside it.
	[ ! -e "$T/ma.tar" ]
	[ "$(ls "$T" | grep -c 'ma.tar.ember-')" = 0 ]
	# The host's platform: one manifest, which skopeo and umoci read.
	run -0 e images export --platform "$(image_host_platform)" "$T/ma.tar" "$ref"
	run -0 skopeo_t inspect "oci-archive:$T/ma.tar"
	[ "$(jget 'j["Digest"]' <<<"$output")" = "$M_DIGEST" ]
	mkdir "$T/x"
	tar -C "$T/x" -xf "$T/ma.tar"
	umoci unpack --rootless --image "$T/x:latest" "$T/bundle" >/dev/null
	cmp "$T/bundle/rootfs/bin/busybox" /bin/busybox
	# A platform the store does not hold: an error naming what is missing;
	# an archive already at that name stays as it was.
	cp "$T/ma.tar" "$T/v7.tar"
	run -1 e images export --platform linux/arm/v7 "$T/v7.tar" "$ref"
	echo "$output"
	[[ "$output" == *"$v7"* ]]
	cmp "$T/ma.tar" "$T/v7.tar"
	# Every platform pulled: the whole index exports, and skopeo copies all.
	run e pull --plain-http --all-platforms "$ref"
	[ "$status" -eq 0 ]
	run -0 e images export "$T/all.tar" "$ref"
	skopeo_t copy -q --all "oci-archive:$T/all.tar" "oci:$T/all:latest"
	[ "$(image_digest "$T/all")" = "$IMAGE_DIGEST" ]
	[ "$(ls "$T/all/blobs/sha256" | wc -l)" = 10 ]
}
