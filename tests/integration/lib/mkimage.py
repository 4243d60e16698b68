#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Builds OCI image layouts for the tests, offline and deterministically.

    mkimage.py busybox DIR          BusyBox from Debian's busybox-static
    mkimage.py busybox-health DIR   the same, its config with a Healthcheck
                                    (CMD-SHELL test -f /healthy, 1 s, 2 retries)
    mkimage.py big DIR [MB [zstd|gzip]]
                                    5 layers (whiteouts, hard links), ~MB MB
                                    (default 40); layer 2 is zstd unless gzip
    mkimage.py multiarch DIR        an index: the host's busybox + fake platforms
    mkimage.py busybox-for DIR BUSYBOX MACHINE
                                    busybox as above from the static binary
                                    BUSYBOX for MACHINE (x86_64, aarch64)
    mkimage.py foreign DIR          busybox's layer as an image of another
                                    architecture only (arm/v7 or arm64)
    mkimage.py layers DIR N         N tiny layers of one file each (layer i
                                    writes /layers/i): many short unpacks
    mkimage.py sized DIR SEED KIB [TAG]
                                    busybox plus an uncompressed layer of one
                                    file, /data/SEED, of KIB KiB of random
                                    bytes (from SEED): images of known sizes
                                    that share their base layer; tag TAG
    mkimage.py rich DIR             5 layers (gzip, gzip, zstd, tar, gzip): every
                                    entry type, modes, owners, xattrs, devices,
                                    hard links, whiteouts, opaque directories

Every byte is a function of the inputs (the host's /bin/busybox, a few
/usr/share and /usr/lib trees, fixed seeds): fixed mtimes, uid/gid 0 (rich varies both), sorted
entries, gzip without name or time. Building twice gives the same digests.
Prints one JSON object: the digests and sizes of what it wrote.
"""
import gzip
import hashlib
import io
import json
import os
import platform
import random
import stat
import subprocess
import sys
import sysconfig
import tarfile

MTIME = 1700000000  # 2023-11-14T22:13:20Z, for every file and the configs
CREATED = "2023-11-14T22:13:20Z"
PATH_ENV = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

MT_INDEX = "application/vnd.oci.image.index.v1+json"
MT_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MT_CONFIG = "application/vnd.oci.image.config.v1+json"
MT_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
MT_LAYER_ZSTD = "application/vnd.oci.image.layer.v1.tar+zstd"
MT_LAYER_TAR = "application/vnd.oci.image.layer.v1.tar"
REF_NAME = "org.opencontainers.image.ref.name"

APPLETS = ["sh", "ls", "cat", "echo", "true", "false", "sleep", "env", "id",
           "mkdir", "rm", "touch", "wc", "printf", "test", "[", "hostname",
           "ps", "kill", "uname", "sha256sum", "head", "tail", "grep", "sed",
           "stat", "readlink", "find", "du", "stty", "tty", "chown", "tr", "seq",
           "nproc", "dd", "cut", "unshare"]


def canonical(obj):
    return json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()


def sha256(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def host_platform():
    m = platform.machine()
    if m in ("x86_64", "amd64"):
        return {"architecture": "amd64", "os": "linux"}
    if m in ("aarch64", "arm64"):
        return {"architecture": "arm64", "os": "linux", "variant": "v8"}
    if m.startswith("armv7"):
        return {"architecture": "arm", "os": "linux", "variant": "v7"}
    if m.startswith("armv6"):
        return {"architecture": "arm", "os": "linux", "variant": "v6"}
    return {"architecture": m, "os": "linux"}


class Layout:
    """An OCI image layout directory being written."""

    def __init__(self, path):
        self.path = path
        self.blobs = os.path.join(path, "blobs", "sha256")
        os.makedirs(self.blobs, exist_ok=True)
        with open(os.path.join(path, "oci-layout"), "wb") as f:
            f.write(canonical({"imageLayoutVersion": "1.0.0"}))

    def put(self, data, media_type, **extra):
        digest = sha256(data)
        p = os.path.join(self.blobs, digest[7:])
        if not os.path.exists(p):
            with open(p + ".tmp", "wb") as f:
                f.write(data)
            os.rename(p + ".tmp", p)
        d = {"mediaType": media_type, "digest": digest, "size": len(data)}
        d.update(extra)
        return d

    def write_index(self, manifests):
        index = {"schemaVersion": 2, "mediaType": MT_INDEX, "manifests": manifests}
        with open(os.path.join(self.path, "index.json"), "wb") as f:
            f.write(canonical(index))


class Tar:
    """A layer's entries, written sorted with fixed metadata.

    Every adder takes optional metadata: uid, gid (default 0), mtime
    (default MTIME; a float is written as a PAX record with its fraction)
    and xattrs ({name: str or bytes}, written as PAX SCHILY.xattr.NAME)."""

    def __init__(self):
        self.entries = {}  # name -> (TarInfo, bytes or None)

    def _info(self, name, kind, mode, uid=0, gid=0, mtime=MTIME, xattrs=None):
        ti = tarfile.TarInfo(name)
        ti.type = kind
        ti.mode = mode
        ti.mtime = mtime
        ti.uid, ti.gid = uid, gid
        ti.uname = ti.gname = ""
        if xattrs:
            # tarfile takes str values; bytes that are not UTF-8 go in as
            # surrogates and come out raw, under a "hdrcharset=BINARY" record.
            ti.pax_headers = {"SCHILY.xattr." + k: v.decode("utf-8", "surrogateescape")
                              if isinstance(v, bytes) else v for k, v in xattrs.items()}
        return ti

    def _parents(self, name):
        parts = name.split("/")[:-1]
        for i in range(1, len(parts) + 1):
            d = "/".join(parts[:i])
            if d not in self.entries:
                self.entries[d] = (self._info(d, tarfile.DIRTYPE, 0o755), None)

    def dir(self, name, mode=0o755, **meta):
        self._parents(name)
        self.entries[name] = (self._info(name, tarfile.DIRTYPE, mode, **meta), None)

    def file(self, name, data, mode=0o644, **meta):
        self._parents(name)
        ti = self._info(name, tarfile.REGTYPE, mode, **meta)
        ti.size = len(data)
        self.entries[name] = (ti, data)

    def symlink(self, name, target, **meta):
        self._parents(name)
        ti = self._info(name, tarfile.SYMTYPE, 0o777, **meta)
        ti.linkname = target
        self.entries[name] = (ti, None)

    def hardlink(self, name, target, **meta):
        self._parents(name)
        ti = self._info(name, tarfile.LNKTYPE, 0o644, **meta)
        ti.linkname = target
        self.entries[name] = (ti, None)

    def node(self, name, kind, mode, major=0, minor=0, **meta):
        """A fifo ("fifo"), character ("char") or block ("block") device."""
        self._parents(name)
        ti = self._info(name, {"fifo": tarfile.FIFOTYPE, "char": tarfile.CHRTYPE,
                               "block": tarfile.BLKTYPE}[kind], mode, **meta)
        ti.devmajor, ti.devminor = major, minor
        self.entries[name] = (ti, None)

    def whiteout(self, name):
        """Deletes NAME (a file or directory of a lower layer)."""
        d, _, base = name.rpartition("/")
        self.file((d + "/" if d else "") + ".wh." + base, b"", 0o644)

    def opaque(self, dirname):
        """Hides everything the lower layers had in DIRNAME."""
        self.file(dirname + "/.wh..wh..opq", b"", 0o644)

    def copy_tree(self, src, dest, budget):
        """Copies SRC (regular files, directories, symlinks) to DEST in the
        layer, in sorted order, until BUDGET bytes of file data. Returns the
        bytes copied."""
        used = 0
        for root, dirs, files in os.walk(src):
            dirs[:] = sorted(d for d in dirs if d != "__pycache__")
            rel = os.path.relpath(root, src)
            base = dest if rel == "." else dest + "/" + rel
            st = os.lstat(root)
            self.dir(base, stat.S_IMODE(st.st_mode))
            for name in sorted(files + [d for d in dirs if os.path.islink(os.path.join(root, d))]):
                p = os.path.join(root, name)
                st = os.lstat(p)
                if stat.S_ISLNK(st.st_mode):
                    self.symlink(base + "/" + name, os.readlink(p))
                elif stat.S_ISREG(st.st_mode):
                    if used + st.st_size > budget:
                        return used
                    with open(p, "rb") as f:
                        self.file(base + "/" + name, f.read(), stat.S_IMODE(st.st_mode))
                    used += st.st_size
        return used

    def bytes(self):
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tf:
            for name in sorted(self.entries):
                ti, data = self.entries[name]
                tf.addfile(ti, io.BytesIO(data) if data is not None else None)
        return buf.getvalue()


def compress(data, how):
    if how == "tar":
        return data, MT_LAYER_TAR
    if how == "gzip":
        # What `gzip -n` gives: no name, no time.
        return gzip.compress(data, compresslevel=6, mtime=0), MT_LAYER_GZIP
    if how == "zstd":
        out = subprocess.run(["zstd", "-q", "-c", "-3", "-T1", "--no-progress"],
                             input=data, stdout=subprocess.PIPE, check=True).stdout
        return out, MT_LAYER_ZSTD
    raise ValueError(how)


def add_layer(layout, tar, how="gzip"):
    raw = tar.bytes()
    blob, mt = compress(raw, how)
    return layout.put(blob, mt), sha256(raw)


def add_image(layout, layers, plat, cmd=("sh",), labels=None, history=None, healthcheck=None):
    """Writes config and manifest; LAYERS is [(descriptor, diff_id)]."""
    config = {
        "created": CREATED,
        "architecture": plat["architecture"],
        "os": plat["os"],
        "config": {"Env": [PATH_ENV], "Cmd": list(cmd), "WorkingDir": "/"},
        "rootfs": {"type": "layers", "diff_ids": [d for _, d in layers]},
        "history": [{"created": CREATED, "created_by": h} for h in
                    (history or ["ember tests: layer %d" % i for i in range(len(layers))])],
    }
    if "variant" in plat:
        config["variant"] = plat["variant"]
    if labels:
        config["config"]["Labels"] = labels
    if healthcheck:
        config["config"]["Healthcheck"] = healthcheck
    cdesc = layout.put(canonical(config), MT_CONFIG)
    manifest = {"schemaVersion": 2, "mediaType": MT_MANIFEST, "config": cdesc,
                "layers": [d for d, _ in layers]}
    return layout.put(canonical(manifest), MT_MANIFEST)


def busybox_tar(busybox="/bin/busybox"):
    t = Tar()
    with open(busybox, "rb") as f:
        t.file("bin/busybox", f.read(), 0o755)
    for a in APPLETS:
        t.symlink("bin/" + a, "busybox")
    t.file("etc/passwd", b"root:x:0:0:root:/root:/bin/sh\n"
                         b"nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n")
    t.file("etc/group", b"root:x:0:\nnobody:x:65534:\n")
    t.dir("root", 0o700)
    t.dir("tmp", 0o1777)
    return t


def build_busybox(layout):
    layer = add_layer(layout, busybox_tar())
    return add_image(layout, [layer], host_platform(), history=["ember tests: busybox"])


def build_busybox_health(layout):
    """busybox whose config has a Healthcheck (as docker build writes
    one): healthy once /healthy exists; durations in nanoseconds."""
    layer = add_layer(layout, busybox_tar())
    hc = {"Test": ["CMD-SHELL", "test -f /healthy"], "Interval": 1000000000,
          "Timeout": 2000000000, "Retries": 2}
    return add_image(layout, [layer], host_platform(), history=["ember tests: busybox"], healthcheck=hc)


def build_busybox_for(layout, busybox, machine):
    """BUSYBOX (a static binary for MACHINE, uname -m style) as busybox."""
    plat = {"x86_64": {"architecture": "amd64", "os": "linux"},
            "aarch64": {"architecture": "arm64", "os": "linux", "variant": "v8"}}[machine]
    layer = add_layer(layout, busybox_tar(busybox))
    return add_image(layout, [layer], plat, history=["ember tests: busybox"])


def build_foreign(layout):
    layer = add_layer(layout, busybox_tar())
    return add_image(layout, [layer], other_platforms(host_platform())[0])


def build_layers(layout, n):
    layers = []
    for i in range(n):
        t = Tar()
        t.file("layers/%d" % i, b"layer %d\n" % i, 0o644)
        layers.append(add_layer(layout, t))
    return add_image(layout, layers, host_platform())


def build_sized(layout, seed, kib):
    base = add_layer(layout, busybox_tar())
    t = Tar()
    t.file("data/" + seed, random_bytes(random.Random(seed), kib * 1024), 0o644)
    return add_image(layout, [base, add_layer(layout, t, "tar")], host_platform(),
                     history=["ember tests: busybox", "ember tests: %d KiB" % kib])


def text_block(rng, n):
    words = ["ember", "layer", "blob", "digest", "manifest", "index", "config",
             "snapshot", "overlay", "registry", "resume", "range", "token",
             "push", "pull", "whiteout", "opaque", "zstd", "gzip", "tar"]
    out, size = [], 0
    while size < n:
        line = " ".join(rng.choice(words) for _ in range(rng.randint(4, 14))) + "\n"
        out.append(line)
        size += len(line)
    return "".join(out).encode()[:n]


def random_bytes(rng, n):
    """rng.randbytes(n), in pieces: one call takes at most 2**31 bits."""
    piece = 64 * 1024 * 1024
    return b"".join(rng.randbytes(min(piece, n - at)) for at in range(0, n, piece))


def build_big(layout, mb, layer2="zstd"):
    total = int(mb * 1024 * 1024)
    rng = random.Random(20231114)
    layers = []
    # 1: the busybox base, the same blob as the busybox image's layer.
    layers.append(add_layer(layout, busybox_tar()))
    # 2 (zstd unless LAYER2 is gzip): real files from the host, about half of MB before compression.
    t = Tar()
    budget = total // 2
    stdlib = "/usr/lib/python3.%d" % sys.version_info[1]
    for src in ["/usr/share/zoneinfo", stdlib, "/usr/share/perl", "/usr/share/man"]:
        if budget <= 0:
            break
        if os.path.isdir(src):
            budget -= t.copy_tree(src, src.lstrip("/"), budget)
    t.file("etc/motd", b"big image, layer 2\n")
    layers.append(add_layer(layout, t, layer2))
    # 3: incompressible data, about 3/4 of MB.
    t = Tar()
    left, i = total * 3 // 4, 0
    sizes = [left // 2, left // 4, left // 8]
    sizes.append(left - sum(sizes))
    for n in sizes:
        t.file("data/random/random-%d.bin" % i, random_bytes(rng, n))
        i += 1
    layers.append(add_layer(layout, t))
    # 4: thousands of small text files, hard links, victims for layer 5.
    t = Tar()
    base = text_block(rng, 256 * 1024)
    for i in range(3000):
        off = rng.randrange(0, len(base) - 4096)
        n = rng.randint(64, 3072)
        t.file("data/many/d%02d/f%04d.txt" % (i % 50, i),
               b"file %d\n" % i + base[off:off + n])
    t.hardlink("data/many/hardlink-to-f0000.txt", "data/many/d00/f0000.txt")
    t.symlink("data/many/symlink-to-f0001.txt", "d01/f0001.txt")
    t.file("data/victim", b"deleted by layer 5\n")
    for n in ("a", "b", "c"):
        t.file("data/victim-dir/" + n, b"deleted with its directory by layer 5\n")
        t.file("data/opaque/" + n, b"hidden by layer 5's opaque whiteout\n")
    t.file("etc/motd", b"big image, layer 4\n")
    layers.append(add_layer(layout, t))
    # 5: whiteouts over layers 3 and 4, and a changed file.
    t = Tar()
    t.whiteout("data/victim")
    t.whiteout("data/victim-dir")
    t.whiteout("data/random/random-3.bin")
    t.opaque("data/opaque")
    t.file("data/opaque/new", b"the only file left in data/opaque\n")
    t.file("etc/motd", b"big image, layer 5\n")
    layers.append(add_layer(layout, t))
    return add_image(layout, layers, host_platform(),
                     history=["ember tests: busybox", "ember tests: host files (%s)" % layer2,
                              "ember tests: random data", "ember tests: many small files",
                              "ember tests: whiteouts"])


# security.capability, VFS_CAP_REVISION_2 with the effective bit: permitted
# CAP_NET_BIND_SERVICE (10), nothing inheritable (what `setcap
# cap_net_bind_service=ep` writes). All its bytes are below 0x80.
CAP_NET_BIND_SERVICE_EP = bytes.fromhex("0100000200040000000000000000000000000000")


def build_rich(layout):
    """Every kind of entry and change a layer can carry, for comparing an
    unpacked image with the oracle (see image.bash: image_rich)."""
    rng = random.Random(20240229)
    layers = []
    # 1 (gzip): the busybox base, the same blob as the busybox image's.
    layers.append(add_layer(layout, busybox_tar()))

    # 2 (gzip): the kinds of entry.
    t = Tar()
    t.dir("rich")
    for n in (0, 1, 511, 512, 513, 4096, 65537):
        t.file("rich/files/f%d" % n, rng.randbytes(n))
    t.file("rich/files/big.bin", rng.randbytes(1024 * 1024 + 3))
    t.file("rich/files/text.txt", text_block(rng, 20000))
    t.file("rich/files/" + "long-name-" + "x" * 140, b"a name longer than ustar's 100 bytes\n")
    t.file("rich/files/" + "/".join(["deep%02d" % i for i in range(30)]) + "/leaf",
           b"a path longer than ustar's 255 bytes\n")
    t.file("rich/files/with space", b"space\n")
    t.file("rich/files/caf\u00e9-\u00fc\u2603", b"utf-8 name\n")
    t.file("rich/files/mtime-0", b"epoch\n", mtime=0)
    t.file("rich/files/mtime-frac", b"fraction\n", mtime=1700000000.5)
    t.file("rich/files/mtime-2100", b"future\n", mtime=4102444800)
    t.file("rich/files/mtime-pax", b"beyond 11 octal digits\n", mtime=8 ** 11 + 1)
    t.dir("rich/files/empty-dir", 0o755)
    for name, mode in (("suid", 0o4755), ("sgid", 0o2755), ("suid-sgid", 0o6755),
                       ("sticky-file", 0o1644), ("m0000", 0), ("m0444", 0o444),
                       ("m0600", 0o600), ("m0777", 0o777)):
        t.file("rich/modes/" + name, b"mode %o\n" % mode, mode)
    t.dir("rich/modes/dir-sticky", 0o1777)
    t.dir("rich/modes/dir-sgid", 0o2775, gid=42)
    t.file("rich/modes/dir-sgid/inside", b"in a setgid directory\n", gid=42)
    t.dir("rich/modes/dir-0700", 0o700)
    t.dir("rich/modes/dir-0555", 0o555, mtime=1600000000)
    t.file("rich/modes/dir-0555/inside", b"in a read-only directory\n")
    t.file("rich/owners/u1000", b"1000:1000\n", uid=1000, gid=1000)
    t.file("rich/owners/g42", b"0:42\n", gid=42)
    t.file("rich/owners/nobody", b"65534:65534\n", uid=65534, gid=65534)
    t.file("rich/owners/id-2000000", b"ids beyond 7 octal digits (PAX uid/gid)\n",
           uid=2000000, gid=2000000)
    t.file("rich/owners/suid-u1000", b"setuid, owned by 1000 (chown clears it)\n",
           0o4755, uid=1000, gid=1000)
    t.file("rich/owners/sgid-g42", b"setgid, group 42\n", 0o2755, gid=42)
    t.dir("rich/owners/dir-u1000", 0o750, uid=1000, gid=1000)
    t.file("rich/owners/dir-u1000/inside", b"in 1000's directory\n", 0o640, uid=1000, gid=1000)
    t.symlink("rich/owners/link-u1000", "u1000", uid=1000, gid=1000)
    t.file("rich/hl/a", b"one inode, four names\n")
    t.hardlink("rich/hl/b", "rich/hl/a")
    t.hardlink("rich/hl/c", "rich/hl/a")
    t.hardlink("rich/hl/sub/d", "rich/hl/a")
    t.file("rich/hl/x-suid", b"a hard-linked file with metadata\n", 0o4750,
           uid=1000, gid=42, xattrs={"user.foo": "linked"})
    t.hardlink("rich/hl/y", "rich/hl/x-suid")
    t.symlink("rich/links/rel", "../files/f512")
    t.symlink("rich/links/abs", "/rich/files/f512")
    t.symlink("rich/links/dangling", "does/not/exist")
    t.symlink("rich/links/chain1", "chain2")
    t.symlink("rich/links/chain2", "chain3")
    t.symlink("rich/links/chain3", "../files/f1")
    t.symlink("rich/links/dirlink", "../files")
    t.symlink("rich/links/abs-etc", "/etc/passwd")
    t.symlink("rich/links/climbing", "../../../../../../../etc/shadow")
    t.symlink("rich/links/loop", "loop")
    t.symlink("rich/links/long-target", "/".join(["t%03d" % i for i in range(60)]))
    t.symlink("rich/links/old", "../files/f0", mtime=1500000000)
    t.node("rich/dev/fifo", "fifo", 0o644)
    t.node("rich/dev/null", "char", 0o666, 1, 3)
    t.node("rich/dev/zero", "char", 0o660, 1, 5, gid=42)
    t.node("rich/dev/loop0", "block", 0o660, 7, 0, gid=6)
    t.file("rich/xattr/user-foo", b"user.foo=bar\n", xattrs={"user.foo": "bar"})
    t.file("rich/xattr/cap", b"cap_net_bind_service=ep\n", 0o755,
           xattrs={"security.capability": CAP_NET_BIND_SERVICE_EP})
    # No empty value: a PAX record with an empty value deletes the keyword
    # (POSIX), and umoci drops such an xattr, so the oracle could not agree.
    t.file("rich/xattr/multi", b"two xattrs\n",
           xattrs={"user.a": "1", "user.b": "two"})
    t.file("rich/xattr/binary", b"a value that is not UTF-8\n",
           xattrs={"user.bin": b"\xff\x00\x01\xfe"})
    t.dir("rich/xattr/dir", xattrs={"user.dir": "yes"})
    t.file("rich/xattr/dir/inside", b"in a directory with an xattr\n")
    # Victims of layers 3 and 4.
    t.file("rich/replace/file-to-dir", b"a file, a directory in layer 3\n")
    t.file("rich/replace/dir-to-file/a", b"gone in layer 3\n")
    t.file("rich/replace/dir-to-file/b/c", b"gone in layer 3\n")
    t.file("rich/replace/dir-to-symlink/a", b"gone in layer 3\n")
    t.symlink("rich/replace/symlink-to-dir", "../files")
    t.file("rich/replace/file-to-symlink", b"a symlink in layer 3\n")
    t.symlink("rich/replace/symlink-to-file", "../files/f1")
    t.file("rich/replace/meta-only", b"same bytes, other owner and mode in layer 3\n")
    t.file("rich/replace/content-only", b"layer 2's content\n")
    for n in ("a", "b/c", "b/d"):
        t.file("rich/gone/" + n, b"whited out with its directory in layer 4\n")
    for n in ("lower1", "lower2", "sub/x"):
        t.file("rich/opaque/" + n, b"hidden by layer 4's opaque directory\n")
    for n in ("a", "b"):
        t.file("rich/recreated/" + n, b"layer 4 whites out the directory and makes it anew\n")
    t.file("rich/wh/keep", b"stays\n")
    t.file("rich/wh/drop", b"whited out in layer 4\n")
    t.file("rich/wh/drop-then-back", b"whited out in layer 4, back in layer 5\n")
    layers.append(add_layer(layout, t))

    # 3 (zstd): replacements, changes, many small files.
    t = Tar()
    t.dir("rich/replace/file-to-dir")
    t.file("rich/replace/file-to-dir/inside", b"was a file\n")
    t.file("rich/replace/dir-to-file", b"was a directory\n")
    t.symlink("rich/replace/dir-to-symlink", "../files")
    t.dir("rich/replace/symlink-to-dir")
    t.file("rich/replace/symlink-to-dir/inside", b"was a symlink\n")
    t.symlink("rich/replace/file-to-symlink", "../files/f1")
    t.file("rich/replace/symlink-to-file", b"was a symlink\n")
    t.file("rich/replace/meta-only", b"same bytes, other owner and mode in layer 3\n",
           0o600, uid=1000, gid=1000, mtime=MTIME + 3)
    t.file("rich/replace/content-only", b"layer 3's content, longer than layer 2's\n")
    base = text_block(rng, 64 * 1024)
    for i in range(300):
        off = rng.randrange(0, len(base) - 2048)
        t.file("rich/many/d%d/f%03d" % (i % 7, i), base[off:off + rng.randint(0, 2048)])
    layers.append(add_layer(layout, t, "zstd"))

    # 4 (uncompressed tar): whiteouts.
    t = Tar()
    t.whiteout("rich/files/f511")
    t.whiteout("rich/gone")
    t.opaque("rich/opaque")
    t.file("rich/opaque/lower1", b"layer 4's lower1, in the opaque directory\n")
    t.file("rich/opaque/new", b"new in the opaque directory\n")
    t.file("rich/opaque/sub/y", b"sub/ is new too: sub/x stays hidden\n")
    t.whiteout("rich/recreated")
    t.file("rich/recreated/c", b"the only file of the recreated directory\n")
    t.whiteout("rich/hl/c")
    t.whiteout("rich/wh/drop")
    t.whiteout("rich/wh/drop-then-back")
    t.whiteout("bin/false")
    t.file("etc/group", b"root:x:0:\ndisk:x:6:\nrich:x:42:\nusers:x:1000:\nnobody:x:65534:\n")
    layers.append(add_layer(layout, t, "tar"))

    # 5 (gzip): back after the whiteouts.
    t = Tar()
    t.file("rich/gone/back", b"the directory of layer 4's whiteout, anew\n")
    t.file("rich/files/f511", b"back, with other content\n")
    t.file("rich/wh/drop-then-back", b"back in layer 5\n", 0o640)
    layers.append(add_layer(layout, t))
    return add_image(layout, layers, host_platform(),
                     history=["ember tests: busybox", "ember tests: rich entries",
                              "ember tests: replacements (zstd)",
                              "ember tests: whiteouts (tar)", "ember tests: after whiteouts"])


def other_platforms(host):
    every = [{"architecture": "arm", "os": "linux", "variant": "v7"},
             {"architecture": "arm64", "os": "linux", "variant": "v8"},
             {"architecture": "amd64", "os": "linux"}]
    return [p for p in every if p["architecture"] != host["architecture"]
            or p.get("variant") != host.get("variant")]


def plat_name(p):
    return "/".join([p["os"], p["architecture"]] + ([p["variant"]] if "variant" in p else []))


def build_multiarch(layout):
    host = host_platform()
    entries = []
    # The fakes come first: a client that takes the first entry gets the
    # wrong one. Each is a small valid image naming its platform in
    # /etc/platform (no binary that would run).
    for p in other_platforms(host):
        t = Tar()
        t.file("etc/platform", (plat_name(p) + "\n").encode())
        m = add_image(layout, [add_layer(layout, t)], p, cmd=("/bin/false",),
                      history=["ember tests: fake " + plat_name(p)])
        m["platform"] = p
        entries.append(m)
    m = build_busybox(layout)
    m["platform"] = host
    entries.append(m)
    index = {"schemaVersion": 2, "mediaType": MT_INDEX, "manifests": entries}
    return layout.put(canonical(index), MT_INDEX)


def summary(layout, top):
    """What was written: the top descriptor and, per manifest, its layers."""
    def blob(d):
        with open(os.path.join(layout.blobs, d["digest"][7:]), "rb") as f:
            return json.load(f)
    out = {"digest": top["digest"], "mediaType": top["mediaType"], "size": top["size"]}
    manifests = [top] if top["mediaType"] == MT_MANIFEST else blob(top)["manifests"]
    out["manifests"] = []
    for m in manifests:
        man = blob(m)
        out["manifests"].append({
            "digest": m["digest"], "platform": plat_name(m.get("platform") or host_platform()),
            "config": man["config"]["digest"],
            "layers": [{"digest": l["digest"], "size": l["size"], "mediaType": l["mediaType"]}
                       for l in man["layers"]],
            "total": sum(l["size"] for l in man["layers"]) + man["config"]["size"] + m["size"]})
    return out


def main(argv):
    if len(argv) < 3 or argv[1] not in ("busybox", "big", "multiarch", "rich", "layers", "foreign",
                                          "busybox-for", "sized", "busybox-health") or \
            (argv[1] == "sized" and len(argv) not in (5, 6)) or \
            (argv[1] == "big" and len(argv) > 4 and argv[4] not in ("zstd", "gzip")) or \
            (argv[1] == "busybox-for" and len(argv) != 5):
        print(__doc__.strip(), file=sys.stderr)
        return 2
    layout = Layout(argv[2])
    if argv[1] == "busybox":
        top = build_busybox(layout)
    elif argv[1] == "big":
        top = build_big(layout, float(argv[3]) if len(argv) > 3 else 40,
                        argv[4] if len(argv) > 4 else "zstd")
    elif argv[1] == "rich":
        top = build_rich(layout)
    elif argv[1] == "busybox-health":
        top = build_busybox_health(layout)
    elif argv[1] == "busybox-for":
        top = build_busybox_for(layout, argv[3], argv[4])
    elif argv[1] == "foreign":
        top = build_foreign(layout)
    elif argv[1] == "layers":
        top = build_layers(layout, int(argv[3]))
    elif argv[1] == "sized":
        top = build_sized(layout, argv[3], int(argv[4]))
    else:
        top = build_multiarch(layout)
    tag = argv[5] if argv[1] == "sized" and len(argv) > 5 else "latest"
    top = dict(top, annotations={REF_NAME: tag})
    layout.write_index([top])
    print(json.dumps(summary(layout, top), sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
