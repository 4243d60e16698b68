#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Checks of the Buildroot and Yocto packaging (tests/integration/packaging.bats),
with neither Buildroot nor BitBake at hand.

  packaging.py kconfig-bools SYMBOL...
      each SYMBOL (CONFIG_X or X) must be a bool of ember's Kconfig that a
      configuration file can set (it has a prompt); prints the ones that
      are not, exits 1 if any.
  packaging.py bb-parse FILE...
      parses BitBake files (.bb, .bbappend, .conf) the way BitBake reads
      the constructs they use; exits 1 on a line it cannot read, a value
      whose ${@...} is not a Python expression, or a shell function bash
      cannot parse.
  packaging.py bb-get FILE VAR [FLAG]
      the value of VAR (or of its flag) as assigned in FILE, unexpanded.
  packaging.py bb-flags FILE VAR
      "flag<TAB>value" lines, one per flag of VAR.
  packaging.py yocto-configure RECIPE TREE BUILD PACKAGECONFIG...
      runs the recipe's do_configure for TREE (an ember source tree) into
      BUILD, with PACKAGECONFIG as given, and the recipe's own values for
      what do_configure uses.

The Python expressions in values are evaluated with the few bb.utils
functions recipes use (contains, contains_any); d.getVar expands.
"""
import os
import re
import subprocess
import sys

TREE = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))

# ---- ember's Kconfig -----------------------------------------------------------


def kconfig():
    os.environ["srctree"] = TREE
    import kconfiglib

    return kconfiglib.Kconfig(os.path.join(TREE, "Kconfig"), warn=False)


def kconfig_bools(symbols):
    import kconfiglib

    kc = kconfig()
    bad = []
    for s in symbols:
        name = s[len("CONFIG_"):] if s.startswith("CONFIG_") else s
        sym = kc.syms.get(name)
        if sym is None or not sym.nodes:
            bad.append("%s: not in ember's Kconfig" % s)
        elif sym.orig_type != kconfiglib.BOOL:
            bad.append("%s: not a bool" % s)
        elif not any(n.prompt for n in sym.nodes):
            bad.append("%s: has no prompt (a configuration file cannot set it)" % s)
    for b in bad:
        print(b)
    return 1 if bad else 0


# ---- BitBake files -----------------------------------------------------------------

ASSIGN = re.compile(
    r"^(?:export\s+)?(?P<var>[A-Za-z0-9_\-${}.+/~]+(?::[A-Za-z0-9_\-${}.+/~]+)*)"
    r"(?:\[(?P<flag>[A-Za-z0-9_\-+.]+)\])?\s*"
    r"(?P<op>\?\?=|\?=|:=|\+=|=\+|\.=|=\.|=)\s*"
    r"(?P<q>[\"'])(?P<value>.*)(?P=q)\s*$",
    re.S,
)
SHELLFUNC = re.compile(r"^(?:fakeroot\s+)?(?P<name>[A-Za-z0-9_\-${}.:+]+)\s*\(\s*\)\s*\{\s*$")
INHERIT = re.compile(r"^inherit\s+[A-Za-z0-9_\-${}. ]+$")


class BBFile:
    def __init__(self, path):
        self.path = path
        self.assignments = []  # (var, flag, op, value)
        self.functions = {}
        self.inherits = []
        self.errors = []
        self._parse()

    def _parse(self):
        lines = open(self.path).read().split("\n")
        i = 0
        while i < len(lines):
            line, start = lines[i], i + 1
            i += 1
            # A line ending in a backslash goes on on the next one.
            while line.endswith("\\") and i < len(lines):
                line = line[:-1] + lines[i]
                i += 1
            s = line.strip()
            if not s or s.startswith("#"):
                continue
            m = SHELLFUNC.match(s)
            if m:
                body = []
                while i < len(lines) and lines[i].rstrip() != "}":
                    body.append(lines[i])
                    i += 1
                if i == len(lines):
                    self.errors.append("%s:%d: function %s has no closing }" % (self.path, start, m["name"]))
                i += 1
                self.functions[m["name"]] = "\n".join(body)
                continue
            if INHERIT.match(s):
                self.inherits += s.split()[1:]
                continue
            m = ASSIGN.match(s)
            if m:
                self.assignments.append((m["var"], m["flag"], m["op"], m["value"]))
                continue
            self.errors.append("%s:%d: not BitBake syntax: %s" % (self.path, start, s))

    def get(self, var, flag=None):
        """The value as the file's assignments leave it (unexpanded)."""
        value = None
        for v, f, op, val in self.assignments:
            if v != var or f != flag:
                continue
            if op in ("=", ":="):
                value = val
            elif op == "?=" or op == "??=":
                value = val if value is None else value
            elif op == "+=":
                value = (value + " " if value else "") + val
            elif op == ".=":
                value = (value or "") + val
            elif op == "=+":
                value = val + (" " + value if value else "")
            elif op == "=.":
                value = val + (value or "")
        return value

    def flags(self, var):
        out = {}
        for v, f, _, _ in self.assignments:
            if v == var and f is not None:
                out[f] = self.get(var, f)
        return out

    def check(self):
        errors = list(self.errors)
        for var, flag, _, value in self.assignments:
            for expr in inline_python(value):
                try:
                    compile(re.sub(r"\$\{[^@}]*\}", "X", expr), "<%s>" % var, "eval")
                except SyntaxError as e:
                    errors.append("%s: %s: ${@%s}: %s" % (self.path, var, expr, e))
        for name, body in self.functions.items():
            text = body
            for expr in inline_python(body):
                text = text.replace("${@%s}" % expr, "true")
            r = subprocess.run(["bash", "-n"], input="f() {\n%s\n}\n" % text, text=True, capture_output=True)
            if r.returncode:
                errors.append("%s: function %s: %s" % (self.path, name, r.stderr.strip()))
        return errors


def inline_python(value):
    """The expressions of the ${@...} of a value (nested ${...} kept)."""
    out, i = [], 0
    while True:
        i = value.find("${@", i)
        if i < 0:
            return out
        depth, j = 1, i + 3
        while j < len(value) and depth:
            if value.startswith("${", j):
                depth += 1
                j += 2
                continue
            if value[j] == "}":
                depth -= 1
            j += 1
        out.append(value[i + 3:j - 1])
        i = j


# ---- expansion, for running do_configure ---------------------------------------


class Datastore:
    def __init__(self, values):
        self.values = values

    def getVar(self, name, expand=True):
        v = self.values.get(name)
        return self.expand(v) if (v is not None and expand) else v

    def expand(self, value, depth=0):
        if depth > 20:
            raise RuntimeError("expansion loop in %r" % value)
        for expr in inline_python(value):
            result = eval(self.expand(expr, depth + 1), {"bb": _BB, "d": self, "os": os})
            value = value.replace("${@%s}" % expr, str(result), 1)
        return re.sub(
            r"\$\{([A-Za-z0-9_\-.:+/~]+)\}",
            lambda m: self.expand(self.values[m[1]], depth + 1) if m[1] in self.values else m[0],
            value,
        )


class _Utils:
    @staticmethod
    def contains(var, items, truevalue, falsevalue, d):
        have = set((d.getVar(var) or "").split())
        return truevalue if set(items.split()) <= have else falsevalue

    @staticmethod
    def contains_any(var, items, truevalue, falsevalue, d):
        have = set((d.getVar(var) or "").split())
        return truevalue if set(items.split()) & have else falsevalue


class _BB:
    utils = _Utils


def yocto_configure(recipe, tree, build, packageconfig):
    bb = BBFile(recipe)
    values = {v: bb.get(v) for v, f, _, _ in bb.assignments if f is None}
    values.update(
        S=tree,
        B=build,
        PACKAGECONFIG=" ".join(packageconfig),
        PYTHON="/usr/bin/python3",
        CC="gcc",
        AR="ar",
        STRIP="strip",
        TARGET_PREFIX="",
        CFLAGS="-O2",
        LDFLAGS="",
        STAGING_DIR_TARGET="/",
        STAGING_LIBDIR="/usr/lib",
        prefix="/usr",
        bindir="/usr/bin",
        includedir="/usr/include",
        libdir="/usr/lib",
        TARGET_ARCH="x86_64",
        DISTRO_FEATURES="",
    )
    # What base.bbclass makes of PACKAGECONFIG's flags: the "enable"
    # field of each chosen item, the "disable" field of the others.
    args = []
    for item, flag in bb.flags("PACKAGECONFIG").items():
        fields = (flag.split(",") + ["", ""])[:2]
        args.append(fields[0] if item in packageconfig else fields[1])
    values["PACKAGECONFIG_CONFARGS"] = " ".join(a for a in args if a)
    d = Datastore(values)
    body = d.expand(bb.functions["do_configure"])
    script = (
        "set -e\n"
        "bbfatal() { echo \"ERROR: $*\" >&2; exit 1; }\n"
        "oe_runmake() { make %s \"$@\"; }\n%s\n" % (d.expand(values["EXTRA_OEMAKE"]), body)
    )
    os.makedirs(build, exist_ok=True)
    return subprocess.run(["bash", "-c", script]).returncode


def main(argv):
    cmd = argv[1] if len(argv) > 1 else ""
    if cmd == "kconfig-bools":
        return kconfig_bools(argv[2:])
    if cmd == "bb-parse":
        errors = []
        for f in argv[2:]:
            errors += BBFile(f).check()
        for e in errors:
            print(e)
        return 1 if errors else 0
    if cmd == "bb-get":
        v = BBFile(argv[2]).get(argv[3], argv[4] if len(argv) > 4 else None)
        if v is None:
            return 1
        print(v)
        return 0
    if cmd == "bb-flags":
        for flag, value in BBFile(argv[2]).flags(argv[3]).items():
            print("%s\t%s" % (flag, value))
        return 0
    if cmd == "yocto-configure":
        return yocto_configure(argv[2], argv[3], argv[4], argv[5:])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
