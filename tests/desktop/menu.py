#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Reads a dbusmenu GetLayout reply as `busctl --json=short` prints it.

  menu.py tree          the labels, indented, with ids: "  id label"
  menu.py id L1 L2 ...  the id of the item labelled L2 under L1 (each a
                        label as shown, or a prefix of it ending in '*')
Exit 1 when the item is not there.
"""
import json
import sys


def node(v):
    # a (ia{sv}av) as busctl gives it, or a variant holding one
    if isinstance(v, dict) and "data" in v:
        v = v["data"]
    ident, props, kids = v
    p = {k: (x["data"] if isinstance(x, dict) and "data" in x else x)
         for k, x in props.items()}
    return ident, p, [node(k) for k in kids]


def label(p):
    if p.get("type") == "separator":
        return "-"
    s = p.get("label", "")
    return s.replace("__", "\0").replace("_", "").replace("\0", "_")


def tree(n, depth, out):
    ident, p, kids = n
    if depth >= 0:
        extra = "" if p.get("enabled", True) else " (disabled)"
        if "icon-data" in p:
            extra += " [icon]"
        out.append("%s%d %s%s" % ("  " * depth, ident, label(p), extra))
    for k in kids:
        tree(k, depth + 1, out)


def match(want, got):
    return got.startswith(want[:-1]) if want.endswith("*") else want == got


def find(n, path):
    if not path:
        return n[0]
    for k in n[2]:
        if match(path[0], label(k[1])):
            r = find(k, path[1:])
            if r is not None:
                return r
    return None


def main():
    reply = json.load(sys.stdin)
    root = node(reply["data"][1])
    if sys.argv[1] == "tree":
        out = []
        tree(root, -1, out)
        print("\n".join(out))
        return 0
    r = find(root, sys.argv[2:])
    if r is None:
        return 1
    print(r)
    return 0


sys.exit(main())
