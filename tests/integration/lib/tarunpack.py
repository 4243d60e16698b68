#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""A second unpack oracle, independent of umoci: GNU tar applies the layers.

    tarunpack.py LAYOUT ROOTFS [REF]

Unpacks the image REF (default "latest") of the OCI image layout LAYOUT,
one manifest (not an index), into ROOTFS (created; must not exist). For
each layer in order: the layer's whiteouts are applied to the tree below
(".wh.NAME" removes NAME, ".wh..wh..opq" empties its directory), then GNU
tar extracts the rest (-p --same-owner --numeric-owner, every xattr),
after removing what an entry replaces with another type. gzip, zstd and uncompressed layers. Run it as root for real owners,
devices and security.* xattrs.

For trusted images only (the tests' own): like GNU tar run layer by layer,
it follows a symlink a lower layer made (hostile.py's symlink-write-lower
writes through it).
"""
import gzip
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile


def blob(layout, digest):
    return os.path.join(layout, "blobs", digest.split(":", 1)[0], digest.split(":", 1)[1])


def manifest(layout, ref):
    with open(os.path.join(layout, "index.json")) as f:
        index = json.load(f)
    for m in index["manifests"]:
        if m.get("annotations", {}).get("org.opencontainers.image.ref.name") == ref:
            break
    else:
        raise SystemExit("tarunpack: no %r in %s/index.json" % (ref, layout))
    if m["mediaType"] != "application/vnd.oci.image.manifest.v1+json":
        raise SystemExit("tarunpack: %r is a %s, not a manifest" % (ref, m["mediaType"]))
    with open(blob(layout, m["digest"])) as f:
        return json.load(f)


def decompress(src, media_type, out):
    if media_type.endswith("+gzip"):
        with gzip.open(src) as f, open(out, "wb") as o:
            shutil.copyfileobj(f, o, 1 << 20)
    elif media_type.endswith("+zstd"):
        with open(out, "wb") as o:
            subprocess.run(["zstd", "-q", "-d", "-c", src], stdout=o, check=True)
    elif media_type.endswith(".tar") or media_type.endswith(".tar+"):
        shutil.copyfile(src, out)
    else:
        raise SystemExit("tarunpack: unknown layer type %s" % media_type)


def inside(root, name):
    """ROOT/NAME for a layer name, refusing what would climb out."""
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise SystemExit("tarunpack: refusing the layer name %r" % name)
    return os.path.join(root, *parts) if parts else root


def remove(path):
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path)
    elif os.path.lexists(path):
        os.unlink(path)


def prepare(root, tar):
    """Applies the whiteouts of the layer TAR to the tree below, and removes
    what a member replaces with another type (GNU tar replaces a file with
    a file, not a non-empty directory with a file, and --recursive-unlink
    would empty every directory a member names)."""
    with tarfile.open(tar) as tf:
        members = tf.getmembers()
    for m in members:
        d, _, base = m.name.rstrip("/").rpartition("/")
        if base == ".wh..wh..opq":
            top = inside(root, d)
            if os.path.isdir(top) and not os.path.islink(top):
                for n in os.listdir(top):
                    remove(os.path.join(top, n))
        elif base.startswith(".wh."):
            remove(inside(root, d + "/" + base[4:]))
    for m in members:
        if os.path.basename(m.name.rstrip("/")).startswith(".wh."):
            continue
        p = inside(root, m.name)
        if p != root and os.path.lexists(p) and \
                m.isdir() != (os.path.isdir(p) and not os.path.islink(p)):
            remove(p)


def main(argv):
    if len(argv) not in (3, 4):
        print(__doc__.strip(), file=sys.stderr)
        return 2
    layout, root = argv[1], argv[2]
    m = manifest(layout, argv[3] if len(argv) > 3 else "latest")
    os.makedirs(root)
    with tempfile.TemporaryDirectory(prefix=".tarunpack.", dir=os.path.dirname(os.path.abspath(root))) as tmp:
        for i, layer in enumerate(m["layers"]):
            tar = os.path.join(tmp, "layer-%d.tar" % i)
            decompress(blob(layout, layer["digest"]), layer["mediaType"], tar)
            prepare(root, tar)
            r = subprocess.run(["tar", "-C", root, "-x", "-f", tar, "-p", "--same-owner",
                                "--numeric-owner", "--xattrs", "--xattrs-include=*",
                                "--exclude=.wh.*",
                                "--warning=no-unknown-keyword"],
                               stderr=subprocess.PIPE, text=True)
            if r.returncode:
                print("tarunpack: layer %d (%s): tar: %s" % (i, layer["digest"], r.stderr.strip()),
                      file=sys.stderr)
                return 1
            os.unlink(tar)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
