#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Compares two directory trees, e.g. an `ember images mount` of an image
with the rootfs umoci unpacked from it.

    treecmp.py [OPTIONS] A B

Both trees are walked without following any symlink. For every path (the
root included, as "."), what must agree:

  - type (regular, directory, symlink, fifo, char or block device, socket)
  - mode: the permission bits with setuid, setgid and sticky
  - uid and gid
  - regular files: size and the sha256 of the content
  - symlinks: the target
  - devices: major and minor
  - xattrs, names and values, except trusted.overlay.*, user.overlay.* (an
    overlay mount's own) and security.selinux (the host's labelling)
  - hard links: the paths that share an inode with a path in A share one
    in B, and no more (the groups, not st_nlink: a merged overlay view shows
    the lower inode's count, whiteouts of its other names included)
  - mtimes, to the nanosecond, of everything but directories (unless
    --no-mtime). Directory mtimes are left out by default (--dir-mtime
    compares them): an overlay mount shows the upper-most layer's directory
    and unpackers differ on whether creating an entry, or a whiteout
    removing one, leaves the parent's time as its own layer set it.

st_nlink, atime, ctime, inode numbers, st_dev and directory sizes are never
compared. The root's mode, owner and xattrs are compared unless --no-root
(a mount point may not carry the image's).

Options:
  --no-mtime            do not compare mtimes at all
  --dir-mtime           compare directory mtimes too
  --no-root             leave the root directory's own metadata out
  --exclude GLOB        leave out paths (relative, e.g. "proc/*") matching
                        GLOB (fnmatch; may be given several times); a
                        directory matched leaves out its whole tree
  --ignore-xattr GLOB   more xattr names to ignore (fnmatch)
  --max N               print at most N differences (default 200)
  -q                    print only the count line

Prints one line per difference ("PATH: WHAT: A-VALUE != B-VALUE", or "only
in A: PATH") and a last line "treecmp: N differences (M paths)"; exits 0
when the trees agree, 1 when they differ, 2 on a usage or walk error.
"""
import fnmatch
import hashlib
import os
import stat
import sys

IGNORED_XATTRS = ["trusted.overlay.*", "user.overlay.*", "security.selinux"]

TYPES = [(stat.S_ISREG, "file"), (stat.S_ISDIR, "dir"), (stat.S_ISLNK, "symlink"),
         (stat.S_ISFIFO, "fifo"), (stat.S_ISCHR, "char"), (stat.S_ISBLK, "block"),
         (stat.S_ISSOCK, "socket")]


def kind(mode):
    for test, name in TYPES:
        if test(mode):
            return name
    return "unknown(%o)" % stat.S_IFMT(mode)


def digest(path):
    h = hashlib.sha256()
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NOCTTY | os.O_NONBLOCK)
    try:
        while True:
            b = os.read(fd, 1 << 20)
            if not b:
                break
            h.update(b)
    finally:
        os.close(fd)
    return h.hexdigest()


def xattrs(path, ignored):
    try:
        names = os.listxattr(path, follow_symlinks=False)
    except OSError:
        return {}
    out = {}
    for n in names:
        if any(fnmatch.fnmatchcase(n, g) for g in ignored):
            continue
        try:
            out[n] = os.getxattr(path, n, follow_symlinks=False)
        except OSError as e:
            out[n] = "<unreadable: %s>" % e.strerror
    return out


def show_xattr(v):
    if isinstance(v, str):
        return v
    try:
        s = v.decode("ascii")
        if s.isprintable():
            return repr(s)
    except UnicodeDecodeError:
        pass
    return "0x" + v.hex()


class Tree:
    def __init__(self, root, opts):
        self.root = root
        self.opts = opts
        self.entries = {}  # rel -> dict
        self.inodes = {}   # (dev, ino) -> [rel] of non-directories
        self._walk()

    def excluded(self, rel):
        return any(fnmatch.fnmatchcase(rel, g) for g in self.opts["exclude"])

    def _walk(self):
        st = os.lstat(self.root)
        if not stat.S_ISDIR(st.st_mode):
            raise SystemExit("treecmp: %s is not a directory" % self.root)
        self._add(".", self.root, st)
        stack = [("", self.root)]
        while stack:
            rel_dir, abs_dir = stack.pop()
            for name in sorted(os.listdir(abs_dir)):
                rel = rel_dir + name
                p = os.path.join(abs_dir, name)
                if self.excluded(rel):
                    continue
                st = os.lstat(p)
                self._add(rel, p, st)
                if stat.S_ISDIR(st.st_mode):
                    stack.append((rel + "/", p))

    def _add(self, rel, p, st):
        k = kind(st.st_mode)
        e = {"type": k, "mode": "%04o" % stat.S_IMODE(st.st_mode),
             "owner": "%d:%d" % (st.st_uid, st.st_gid),
             "xattrs": xattrs(p, self.opts["ignored_xattrs"])}
        if k == "file":
            e["size"] = st.st_size
            e["sha256"] = digest(p)
        elif k == "symlink":
            e["target"] = os.readlink(p)
        elif k in ("char", "block"):
            e["device"] = "%d:%d" % (os.major(st.st_rdev), os.minor(st.st_rdev))
        if self.opts["mtime"] and (k != "dir" or self.opts["dir_mtime"]):
            e["mtime"] = st.st_mtime_ns
        if rel == "." and not self.opts["root"]:
            e = {"type": k}
        self.entries[rel] = e
        if k != "dir":
            self.inodes.setdefault((st.st_dev, st.st_ino), []).append(rel)

    def links(self):
        """rel -> the other names of its inode (only for shared inodes)."""
        out = {}
        for names in self.inodes.values():
            if len(names) > 1:
                for n in names:
                    out[n] = sorted(set(names) - {n})
        return out


def fmt_mtime(ns):
    return "%d.%09d" % divmod(ns, 10 ** 9)


def compare(a, b):
    diffs = []
    for rel in sorted(set(a.entries) | set(b.entries)):
        ea, eb = a.entries.get(rel), b.entries.get(rel)
        if eb is None:
            diffs.append("only in A: %s (%s)" % (rel, ea["type"]))
            continue
        if ea is None:
            diffs.append("only in B: %s (%s)" % (rel, eb["type"]))
            continue
        if ea["type"] != eb["type"]:
            diffs.append("%s: type: %s != %s" % (rel, ea["type"], eb["type"]))
            continue
        for field in ("mode", "owner", "size", "sha256", "target", "device", "mtime"):
            va, vb = ea.get(field), eb.get(field)
            if va != vb:
                if field == "mtime" and va is not None and vb is not None:
                    va, vb = fmt_mtime(va), fmt_mtime(vb)
                diffs.append("%s: %s: %s != %s" % (rel, field, va, vb))
        xa, xb = ea.get("xattrs", {}), eb.get("xattrs", {})
        for n in sorted(set(xa) | set(xb)):
            if n not in xb:
                diffs.append("%s: xattr %s: %s != (none)" % (rel, n, show_xattr(xa[n])))
            elif n not in xa:
                diffs.append("%s: xattr %s: (none) != %s" % (rel, n, show_xattr(xb[n])))
            elif xa[n] != xb[n]:
                diffs.append("%s: xattr %s: %s != %s" % (rel, n, show_xattr(xa[n]), show_xattr(xb[n])))
    la, lb = a.links(), b.links()
    for rel in sorted(set(la) | set(lb)):
        if rel not in a.entries or rel not in b.entries:
            continue
        ga, gb = la.get(rel, []), lb.get(rel, [])
        if ga != gb:
            diffs.append("%s: hard links: [%s] != [%s]" % (rel, " ".join(ga), " ".join(gb)))
    return diffs


def main(argv):
    opts = {"mtime": True, "dir_mtime": False, "root": True, "exclude": [],
            "ignored_xattrs": list(IGNORED_XATTRS), "max": 200, "quiet": False}
    args = []
    i = 1
    try:
        while i < len(argv):
            a = argv[i]
            if a == "--no-mtime":
                opts["mtime"] = False
            elif a == "--dir-mtime":
                opts["dir_mtime"] = True
            elif a == "--no-root":
                opts["root"] = False
            elif a == "--exclude":
                i += 1
                opts["exclude"].append(argv[i])
            elif a == "--ignore-xattr":
                i += 1
                opts["ignored_xattrs"].append(argv[i])
            elif a == "--max":
                i += 1
                opts["max"] = int(argv[i])
            elif a == "-q":
                opts["quiet"] = True
            elif a.startswith("-") and a != "-":
                raise ValueError(a)
            else:
                args.append(a)
            i += 1
    except (IndexError, ValueError):
        args = []
    if len(args) != 2:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    try:
        a, b = Tree(args[0], opts), Tree(args[1], opts)
    except OSError as e:
        print("treecmp: %s: %s" % (e.filename, e.strerror), file=sys.stderr)
        return 2
    diffs = compare(a, b)
    if not opts["quiet"]:
        if diffs:
            print("treecmp: A = %s, B = %s" % (args[0], args[1]))
        for d in diffs[:opts["max"]]:
            print(d)
        if len(diffs) > opts["max"]:
            print("... and %d more" % (len(diffs) - opts["max"]))
    print("treecmp: %d differences (%d paths)" % (len(diffs), len(set(a.entries) | set(b.entries))))
    return 1 if diffs else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
