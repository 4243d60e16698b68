#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Adds a checkpoint image, laid out as containerd 1.6 (and ember tasks
checkpoint --image) lays it out, to an OCI image layout of busybox, for
the tests of the restore side where CRIU cannot dump (checkpoint.bats):

    mkcheckpoint.py LAYOUT SPEC.json TAG ARCH [--no-criu]

The layout's index.json gets one more entry, TAG: an index of busybox's
manifest, a CRIU images tar (ember.json and a file that is no CRIU image),
the spec as containerd's protobuf Any, and an rw layer (/hello.txt, and a
whiteout of /bin/tee), each entry for linux/ARCH. --no-criu leaves the
CRIU images out (not a checkpoint). This is the shape, not the proof: a
real dump is made and restored in the qemu guest (guest-checkpoint.bats).
"""
import hashlib
import io
import json
import os
import sys
import tarfile


def blob(layout, data):
    d = hashlib.sha256(data).hexdigest()
    with open(os.path.join(layout, "blobs", "sha256", d), "wb") as f:
        f.write(data)
    return "sha256:" + d, len(data)


def tar(entries):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        for name, data in entries:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o644
            info.mtime = 1700000000
            t.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def varint(n):
    out = b""
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out += bytes([b | 0x80])
        else:
            return out + bytes([b])


def field(num, data):
    return varint(num << 3 | 2) + varint(len(data)) + data


def main():
    layout, spec_path, tag, arch = sys.argv[1:5]
    with_criu = "--no-criu" not in sys.argv[5:]
    with open(os.path.join(layout, "index.json")) as f:
        index = json.load(f)
    image = dict(index["manifests"][0])
    image.pop("annotations", None)
    plat = {"os": "linux", "architecture": arch}
    image["platform"] = plat
    entries = [image]

    def add(media_type, data):
        d, n = blob(layout, data)
        entries.append({"mediaType": media_type, "digest": d, "size": n, "platform": plat})

    if with_criu:
        meta = {"files": {}, "tcp_established": False, "file_locks": False, "namespace": "default", "id": "x"}
        add("application/vnd.containerd.container.criu.checkpoint.criu.tar",
            tar([("ember.json", json.dumps(meta).encode()), ("inventory.img", b"not a CRIU image")]))
    with open(spec_path, "rb") as f:
        spec = f.read()
    any_ = field(1, b"types.containerd.io/opencontainers/runtime-spec/1/Spec") + field(2, spec)
    add("application/vnd.containerd.container.checkpoint.config.v1+proto", any_)
    add("application/vnd.containerd.container.rw.tar",
        tar([("hello.txt", b"written before the checkpoint\n"), ("bin/.wh.tee", b"")]))
    ck = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": entries,
        "annotations": {
            "org.opencontainers.image.ref.name": "example.com/bb:latest",
            "io.containerd.checkpoint.runtime": "io.ember.v1",
            "io.containerd.checkpoint.snapshotter": "overlay",
        },
    }
    d, n = blob(layout, json.dumps(ck).encode())
    index["manifests"].append({"mediaType": "application/vnd.oci.image.index.v1+json", "digest": d, "size": n,
                               "annotations": {"org.opencontainers.image.ref.name": tag}})
    with open(os.path.join(layout, "index.json"), "w") as f:
        json.dump(index, f)
    print(d)


if __name__ == "__main__":
    main()
