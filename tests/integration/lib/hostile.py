#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Builds hostile images, offline: one OCI image layout per case, each a
busybox base layer, sometimes a harmless middle layer, then the hostile
layer. Manifests, configs and digests are all correct (a registry takes
them and a pull fetches them): only unpacking the last layer may fail (or,
for lying-diffid, the check of its diff ID).

    hostile.py OUTDIR CANARY [CASE...]

CANARY is an absolute directory outside the store the layers aim at (with
"../" climbs, absolute names and symlinks); a test fills it and checks it is
untouched. Every file a hostile layer would create is named
EMBER-HOSTILE-* (or is CANARY/victim), so a test can look for them. Builds
every case, or the CASEs named, into OUTDIR/CASE, and prints one JSON object
a line per case:

    name        the case
    layout      its OCI layout directory ("latest")
    fail        true: unpacking must fail; false: must succeed (the entry is
                harmless once confined to the root); null: either (it depends
                on the snapshotter, or on policy), but nothing may escape
    keywords    when it fails, what the error must say (case-insensitive)
    good        how many layers before the hostile one are valid (their
                snapshots may be committed)
    diff_ids    the config's diff_ids, in order
    inside      when it succeeds: paths (relative to the image root) that
                must exist in the unpacked tree
    absent      paths that must not exist in the unpacked tree
    about       one line on the case

    hostile.py --list              the case names, one a line
"""
import gzip
import io
import json
import os
import subprocess
import sys
import tarfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mkimage  # noqa: E402

UP = "../" * 64  # enough to climb from any store to /
MT = mkimage.MTIME


def info(name, kind=tarfile.REGTYPE, size=0, mode=0o644, link="", pax=None, dev=(0, 0)):
    ti = tarfile.TarInfo(name)
    ti.type, ti.size, ti.mode, ti.mtime = kind, size, mode, MT
    ti.uid = ti.gid = 0
    ti.uname = ti.gname = ""
    ti.linkname = link
    ti.devmajor, ti.devminor = dev
    if pax:
        ti.pax_headers = dict(pax)
    return ti


class Raw:
    """A tar written entry by entry, in the order given, with no implicit
    parent directories, and room for broken headers."""

    def __init__(self):
        self.out = io.BytesIO()

    def header(self, ti):
        self.out.write(ti.tobuf(tarfile.PAX_FORMAT, "utf-8", "surrogateescape"))

    def data(self, b):
        self.out.write(b)
        if len(b) % 512:
            self.out.write(b"\0" * (512 - len(b) % 512))

    def file(self, name, content=b"EMBER-HOSTILE\n", **kw):
        self.header(info(name, size=len(content), **kw))
        self.data(content)

    def dir(self, name, **kw):
        self.header(info(name, tarfile.DIRTYPE, mode=0o755, **kw))

    def symlink(self, name, target):
        self.header(info(name, tarfile.SYMTYPE, mode=0o777, link=target))

    def hardlink(self, name, target):
        self.header(info(name, tarfile.LNKTYPE, link=target))

    def node(self, name, kind, major, minor, mode=0o600):
        self.header(info(name, kind, mode=mode, dev=(major, minor)))

    def end(self):
        self.out.write(b"\0" * 1024)

    def bytes(self):
        return self.out.getvalue()


def corrupt_header(ti):
    """A ustar header (no PAX record) whose checksum field is wrong."""
    h = bytearray(ti.tobuf(tarfile.USTAR_FORMAT, "utf-8", "strict"))
    assert len(h) == 512
    good = int(h[148:154].decode().strip("\0 ") or "0", 8)
    h[148:156] = b"%06o\0 " % ((good + 1) & 0o777777)
    return bytes(h)


def simple(f):
    """A case whose hostile layer is one Raw tar (gzip), with the default
    diff_id."""
    def build(canary):
        t = Raw()
        f(t, canary)
        t.end()
        return [("gzip", t.bytes())]
    build.__doc__ = f.__doc__
    return build


# ---- the cases -----------------------------------------------------------------
# Each returns a list of layers after the base: (compression, raw tar bytes)
# or (compression, raw, blob override, diff_id override).

@simple
def dotdot_escape(t, c):
    """a file named ../../..CANARY/EMBER-HOSTILE-escaped"""
    t.file(UP + c.lstrip("/") + "/EMBER-HOSTILE-escaped")


@simple
def dotdot_inside(t, c):
    """a ".." that stays inside the root: etc/../EMBER-HOSTILE-dotdot"""
    t.file("etc/../EMBER-HOSTILE-dotdot")


@simple
def absolute(t, c):
    """an absolute name, CANARY/EMBER-HOSTILE-absolute: lands inside the root"""
    t.file(c + "/EMBER-HOSTILE-absolute")


@simple
def symlink_write(t, c):
    """a symlink to CANARY, then a file written through it (one layer)"""
    t.symlink("evil", c)
    t.file("evil/victim", b"EMBER-HOSTILE written through a symlink\n")


def symlink_write_lower(c):
    """a symlink to CANARY in a lower layer, a file through it in the upper"""
    lower, upper = Raw(), Raw()
    lower.symlink("evil", c)
    lower.end()
    upper.file("evil/victim", b"EMBER-HOSTILE written through a lower symlink\n")
    upper.end()
    return [("gzip", lower.bytes()), ("gzip", upper.bytes())]


def symlink_mkdir_lower(c):
    """a symlink to CANARY in a lower layer, a directory made through it"""
    lower, upper = Raw(), Raw()
    lower.symlink("evil", c)
    lower.end()
    upper.dir("evil/EMBER-HOSTILE-dir")
    upper.file("evil/EMBER-HOSTILE-dir/f")
    upper.end()
    return [("gzip", lower.bytes()), ("gzip", upper.bytes())]


@simple
def symlink_final(t, c):
    """a symlink to CANARY/victim, then a regular file of the same name:
    replaces the symlink, never writes through it"""
    t.symlink("EMBER-HOSTILE-final", c + "/victim")
    t.file("EMBER-HOSTILE-final", b"EMBER-HOSTILE replaced the symlink\n")


def symlink_final_lower(c):
    """etc/motd -> CANARY/victim in a lower layer, a file etc/motd in the
    upper: replaces the symlink"""
    lower, upper = Raw(), Raw()
    lower.dir("etc")
    lower.symlink("etc/motd", c + "/victim")
    lower.end()
    upper.dir("etc")
    upper.file("etc/motd", b"EMBER-HOSTILE replaced the lower symlink\n")
    upper.end()
    return [("gzip", lower.bytes()), ("gzip", upper.bytes())]


@simple
def symlink_chain(t, c):
    """a -> b -> c -> ../../..CANARY, then a file a/victim"""
    t.symlink("a", "b")
    t.symlink("b", "c")
    t.symlink("c", UP + c.lstrip("/"))
    t.file("a/victim", b"EMBER-HOSTILE written through a chain\n")


@simple
def symlink_chain_hardlink(t, c):
    """a -> b -> ../../..CANARY, a hard link to a/victim, then a file over it"""
    t.symlink("a", "b")
    t.symlink("b", UP + c.lstrip("/"))
    t.hardlink("EMBER-HOSTILE-steal", "a/victim")
    t.file("EMBER-HOSTILE-steal", b"EMBER-HOSTILE written through a stolen link\n")


@simple
def hardlink_dotdot(t, c):
    """a hard link to ../../..CANARY/victim, then a file over it"""
    t.hardlink("EMBER-HOSTILE-hl", UP + c.lstrip("/") + "/victim")
    t.file("EMBER-HOSTILE-hl", b"EMBER-HOSTILE written through a hard link\n")


@simple
def hardlink_absolute(t, c):
    """a hard link to CANARY/victim (absolute: no such file in the root)"""
    t.hardlink("EMBER-HOSTILE-hl", c + "/victim")
    t.file("EMBER-HOSTILE-hl", b"EMBER-HOSTILE written through a hard link\n")


@simple
def hardlink_passwd(t, c):
    """a hard link to /etc/passwd: the image's own at most, never the host's"""
    t.hardlink("EMBER-HOSTILE-passwd", "/etc/passwd")


@simple
def hardlink_passwd_dotdot(t, c):
    """a hard link to ../../../etc/passwd"""
    t.hardlink("EMBER-HOSTILE-passwd", UP + "etc/passwd")


@simple
def whiteout_dotdot(t, c):
    """a whiteout ../../..CANARY/.wh.victim (would delete CANARY/victim)"""
    t.file(UP + c.lstrip("/") + "/.wh.victim", b"")


@simple
def opaque_dotdot(t, c):
    """an opaque whiteout ../../..CANARY/.wh..wh..opq (would empty CANARY)"""
    t.file(UP + c.lstrip("/") + "/.wh..wh..opq", b"")


def whiteout_symlink_lower(c):
    """a symlink to CANARY in a lower layer, a whiteout evil/.wh.victim"""
    lower, upper = Raw(), Raw()
    lower.symlink("evil", c)
    lower.end()
    upper.file("evil/.wh.victim", b"")
    upper.end()
    return [("gzip", lower.bytes()), ("gzip", upper.bytes())]


@simple
def whiteout_bad_name(t, c):
    """a whiteout named ".wh.." (whites out "."? ".."?)"""
    t.dir("etc")
    t.file("etc/.wh..", b"")


@simple
def device(t, c):
    """device nodes: /dev/mem (1:1) and a disk (block 8:0)"""
    t.dir("dev")
    t.node("dev/EMBER-HOSTILE-mem", tarfile.CHRTYPE, 1, 1)
    t.node("dev/EMBER-HOSTILE-sda", tarfile.BLKTYPE, 8, 0)


@simple
def forged_whiteout_device(t, c):
    """a 0:0 character device over etc/passwd (what overlayfs takes for a
    whiteout)"""
    t.dir("etc")
    t.node("etc/passwd", tarfile.CHRTYPE, 0, 0, 0)


def forged_overlay_xattr(c):
    """trusted.overlay.opaque and user.overlay.opaque on a directory the lower
    layer filled: must be dropped, the lower files stay visible"""
    lower, upper = Raw(), Raw()
    lower.dir("data")
    lower.file("data/EMBER-HOSTILE-keep", b"must stay visible\n")
    lower.end()
    upper.dir("data", pax={"SCHILY.xattr.trusted.overlay.opaque": "y",
                           "SCHILY.xattr.user.overlay.opaque": "y"})
    upper.file("data/EMBER-HOSTILE-new", b"new\n")
    upper.end()
    return [("gzip", lower.bytes()), ("gzip", upper.bytes())]


@simple
def deep_path(t, c):
    """a name of 4202 bytes (2100 components "d")"""
    t.file("d/" * 2100 + "EMBER-HOSTILE-deep")


@simple
def long_component(t, c):
    """a name component of 256 bytes"""
    t.file("EMBER-HOSTILE-" + "x" * 242)


def truncated_entry(c):
    """an entry that declares 1 MiB and the stream ends after 1000 bytes"""
    t = Raw()
    t.file("etc/EMBER-HOSTILE-ok", b"a good entry first\n")
    t.header(info("EMBER-HOSTILE-big", size=1 << 20))
    t.out.write(b"x" * 1000)
    return [("gzip", t.bytes())]


@simple
def declared_huge(t, c):
    """an entry that declares 100 GiB (a PAX size record), with no data"""
    t.header(info("EMBER-HOSTILE-huge", size=100 << 30))


@simple
def bad_checksum_first(t, c):
    """the first header's checksum is wrong"""
    t.out.write(corrupt_header(info("EMBER-HOSTILE-bad", size=0)))


@simple
def bad_checksum(t, c):
    """a good entry, then a header with a wrong checksum"""
    t.file("etc/EMBER-HOSTILE-ok", b"a good entry first\n")
    t.out.write(corrupt_header(info("EMBER-HOSTILE-bad", size=0)))


def _payload():
    t = Raw()
    for i in range(64):
        t.file("EMBER-HOSTILE-payload/f%02d" % i, bytes(range(256)) * 64 + b"%d\n" % i)
    t.end()
    return t.bytes()


def truncated_gzip(c):
    """a gzip stream cut in the middle (the diff_id is the whole tar's)"""
    raw = _payload()
    blob = gzip.compress(raw, compresslevel=6, mtime=0)
    return [("gzip", raw, blob[:len(blob) // 2], None)]


def gzip_trailing_garbage(c):
    """a whole gzip stream with junk after it"""
    raw = _payload()
    blob = gzip.compress(raw, compresslevel=6, mtime=0) + b"EMBER-HOSTILE junk after the gzip trailer\n"
    return [("gzip", raw, blob, None)]


def truncated_zstd(c):
    """a zstd stream cut in the middle"""
    raw = _payload()
    blob, _ = mkimage.compress(raw, "zstd")
    return [("zstd", raw, blob[:len(blob) // 2], None)]


def lying_diffid(c):
    """a valid layer whose diff_id in the config is another tar's"""
    t = Raw()
    t.file("EMBER-HOSTILE-lie", b"the config says this layer is something else\n")
    t.end()
    other = Raw()
    other.file("EMBER-HOSTILE-other", b"what the diff_id names\n")
    other.end()
    return [("gzip", t.bytes(), None, mkimage.sha256(other.bytes()))]


# name -> (builder, fail, keywords, inside, absent)
CASES = {
    "dotdot-escape": (dotdot_escape, True, ["path escapes the root"], [], []),
    "dotdot-inside": (dotdot_inside, True, ['".." component'], [], []),
    "absolute": (absolute, False, [], ["{c}/EMBER-HOSTILE-absolute"], []),
    "symlink-write": (symlink_write, True, ['"evil" is a symbolic link (not followed)'], [], []),
    "symlink-write-lower": (symlink_write_lower, True, ['"evil" is a symbolic link (not followed)'], [], []),
    "symlink-mkdir-lower": (symlink_mkdir_lower, True, ['"evil" is a symbolic link (not followed)'], [], []),
    "symlink-final": (symlink_final, False, [], ["EMBER-HOSTILE-final"], []),
    "symlink-final-lower": (symlink_final_lower, False, [], ["etc/motd"], []),
    "symlink-chain": (symlink_chain, True, ['"a" is a symbolic link (not followed)'], [], []),
    "symlink-chain-hardlink": (symlink_chain_hardlink, True, ['"a" is a symbolic link (not followed)'], [], []),
    "hardlink-dotdot": (hardlink_dotdot, True, ["path escapes the root"], [], []),
    "hardlink-absolute": (hardlink_absolute, True, ["does not exist"], [], []),
    "hardlink-passwd": (hardlink_passwd, None, ["EMBER-HOSTILE-passwd"], [], []),
    "hardlink-passwd-dotdot": (hardlink_passwd_dotdot, True, ["path escapes the root"], [], []),
    "whiteout-dotdot": (whiteout_dotdot, True, ["path escapes the root"], [], []),
    "opaque-dotdot": (opaque_dotdot, True, ["path escapes the root"], [], []),
    "whiteout-symlink-lower": (whiteout_symlink_lower, True, ['"evil" is a symbolic link (not followed)'], [], []),
    "whiteout-bad-name": (whiteout_bad_name, True, ["etc/.wh.."], [], []),
    "device": (device, None, ["device"], [], []),
    "forged-whiteout-device": (forged_whiteout_device, None, ["etc/passwd"], [], []),
    "forged-overlay-xattr": (forged_overlay_xattr, False, [], ["data/EMBER-HOSTILE-keep", "data/EMBER-HOSTILE-new"], []),
    "deep-path": (deep_path, True, ["name longer than 4095 bytes"], [], []),
    "long-component": (long_component, True, ["component longer than 255 bytes"], [], []),
    "truncated-entry": (truncated_entry, True, ["EMBER-HOSTILE-big", "truncated"], [], []),
    "declared-huge": (declared_huge, True, ["more than the layer may expand to"], [], []),
    "bad-checksum-first": (bad_checksum_first, True, ["not a tar archive"], [], []),
    "bad-checksum": (bad_checksum, True, ["damaged"], [], []),
    "truncated-gzip": (truncated_gzip, True, ["gzip: truncated stream"], [], []),
    "gzip-trailing-garbage": (gzip_trailing_garbage, True, ["data after the end of the compressed stream"], [], []),
    "truncated-zstd": (truncated_zstd, True, ["zstd"], [], []),
    "lying-diffid": (lying_diffid, True, ["diff"], [], []),
}


def build(outdir, name, canary, base):
    f, fail, keywords, inside, absent = CASES[name]
    layout = mkimage.Layout(os.path.join(outdir, name))
    layers = [(layout.put(base[0], mkimage.MT_LAYER_GZIP), base[1])]
    for layer in f(canary):
        how, raw = layer[0], layer[1]
        blob = layer[2] if len(layer) > 2 and layer[2] is not None else mkimage.compress(raw, how)[0]
        diff_id = layer[3] if len(layer) > 3 and layer[3] is not None else mkimage.sha256(raw)
        mt = {"gzip": mkimage.MT_LAYER_GZIP, "zstd": mkimage.MT_LAYER_ZSTD,
              "tar": mkimage.MT_LAYER_TAR}[how]
        layers.append((layout.put(blob, mt), diff_id))
    top = mkimage.add_image(layout, layers, mkimage.host_platform(),
                            history=["ember tests: busybox"] +
                            ["ember tests: hostile %s, layer %d" % (name, i) for i in range(1, len(layers))])
    layout.write_index([dict(top, annotations={mkimage.REF_NAME: "latest"})])
    lc = canary.lstrip("/")
    return {"name": name, "layout": layout.path, "fail": fail, "keywords": keywords,
            "good": len(layers) - 1, "diff_ids": [d for _, d in layers],
            "inside": [p.format(c=lc) for p in inside], "absent": [p.format(c=lc) for p in absent],
            "about": " ".join((f.__doc__ or "").split())}


def main(argv):
    if len(argv) == 2 and argv[1] == "--list":
        print("\n".join(CASES))
        return 0
    if len(argv) < 3 or not os.path.isabs(argv[2]):
        print(__doc__.strip(), file=sys.stderr)
        return 2
    names = argv[3:] or list(CASES)
    for n in names:
        if n not in CASES:
            print("hostile.py: no case %r (see --list)" % n, file=sys.stderr)
            return 2
    raw = mkimage.busybox_tar().bytes()
    base = (mkimage.compress(raw, "gzip")[0], mkimage.sha256(raw))
    for n in names:
        print(json.dumps(build(argv[1], n, os.path.normpath(argv[2]), base), sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
