#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Configurations that kconfiglib's own tools do not make, for make sizes
and make randconfig (run from the top of the tree, with KCONFIG_CONFIG
naming the .config to write).

  kconfig.py features DEFCONFIG     the user-visible bools, "SYMBOL y|n"
                                    as DEFCONFIG resolves them
  kconfig.py toggle DEFCONFIG SYM   DEFCONFIG with SYM flipped alone
  kconfig.py set SYM=y|n...         all bools off, then these on or off
  kconfig.py uncosted               the user-visible bools whose help does
                                    not say "Cost: x86_64 N KiB, aarch64 M KiB"
  kconfig.py randconfig [SEED]      every visible bool y or n at random
                                    (y three times in four, so that the
                                    features below a menu get their turn)
"""
import os
import random
import re
import sys

import kconfiglib


def visible_bools(kconf):
    """Bools a user can set, in menu order."""
    out = []
    for node in kconf.node_iter():
        sym = node.item
        if (isinstance(sym, kconfiglib.Symbol) and sym.type == kconfiglib.BOOL
                and node.prompt and sym not in out):
            out.append(sym)
    return out


def load(defconfig):
    kconf = kconfiglib.Kconfig("Kconfig", warn_to_stderr=False)
    if defconfig:
        kconf.load_config(defconfig)
    return kconf


def write(kconf):
    kconf.write_config(os.environ.get("KCONFIG_CONFIG", ".config"), header="")


def die(msg):
    sys.stderr.write("kconfig.py: %s\n" % msg)
    sys.exit(2)


def main(argv):
    if len(argv) < 2:
        die(__doc__.strip())
    cmd, args = argv[1], argv[2:]
    if cmd == "features" and len(args) == 1:
        kconf = load(args[0])
        for sym in visible_bools(kconf):
            if sym.visibility:
                print(sym.name, sym.str_value)
    elif cmd == "toggle" and len(args) == 2:
        kconf = load(args[0])
        sym = kconf.syms.get(args[1])
        if sym is None or sym not in visible_bools(kconf):
            die("%s is no user-visible bool" % args[1])
        want = "n" if sym.str_value == "y" else "y"
        if not sym.set_value(want) or sym.str_value != want:
            die("%s cannot be %s here (its dependencies are off)" % (args[1], want))
        write(kconf)
    elif cmd == "set":
        kconf = load(None)
        for sym in visible_bools(kconf):
            sym.set_value("n")
        for arg in args:
            name, _, val = arg.partition("=")
            sym = kconf.syms.get(name)
            if sym is None or val not in ("y", "n"):
                die("set takes SYMBOL=y|n, not %r" % arg)
            sym.set_value(val)
            if sym.str_value != val:
                die("%s cannot be %s here (its dependencies are off)" % (name, val))
        write(kconf)
    elif cmd == "uncosted" and not args:
        cost = re.compile(r"Cost: x86_64 [0-9.]+ KiB, aarch64 [0-9.]+ KiB")
        for sym in visible_bools(load(None)):
            if not any(n.help and cost.search(n.help) for n in sym.nodes):
                print(sym.name)
    elif cmd == "randconfig" and len(args) <= 1:
        seed = args[0] if args else str(random.SystemRandom().randrange(1 << 31))
        print("randconfig: SEED=%s" % seed)
        rng = random.Random(seed)
        kconf = load(None)
        # In menu order, so a symbol sees its dependencies' final values.
        for sym in visible_bools(kconf):
            if sym.visibility:
                sym.set_value("y" if rng.random() < 0.75 else "n")
        write(kconf)
    else:
        die(__doc__.strip())


if __name__ == "__main__":
    main(sys.argv)
