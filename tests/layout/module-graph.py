#!/usr/bin/env python3
"""Prints how seqpipe's modules include each other, and fails on a cycle.

A module is a header and the .c files that implement it: pipeline/host-config.h with
host-config.c and host-config-values.c is the module `host-config`; a .c file without
a header of its own (a verb, a plugin stage) is a module by itself.  For every module
the script lists the project headers its files include, then checks that no two
modules depend on each other through any chain (a cycle), and that the layers keep
their direction: models/ includes nothing from pipeline/ or plugins/; plugins/
include only <seqpipe/...> and models/ headers; pipeline/ includes nothing from
plugins/.

    tests/layout/module-graph.py [SOURCE_ROOT] [--dot]

Exit status 0 when the graph is acyclic and layered, 1 otherwise (each problem is
printed)."""
import os
import re
import sys

INCLUDE = re.compile(r'^\s*#\s*include\s+([<"])([^>"]+)[>"]', re.M)


def module_of(path):
    """pipeline/host-config-values.c -> pipeline/host-config (the header it implements)."""
    d, base = os.path.split(path)
    stem, _ = os.path.splitext(base)
    if stem.endswith("-private"):
        stem = stem[: -len("-private")]     # a module's private header is part of it
    headers = MODULES_BY_DIR.get(d, [])
    # the longest header stem that is a prefix of the file's stem
    best = None
    for h in headers:
        if stem == h or stem.startswith(h + "-"):
            if best is None or len(h) > len(best):
                best = h
    return os.path.join(d, best if best else stem)


def resolve(src_dir, kind, name, root):
    """The project file an include names, or None for a system header."""
    cands = []
    if kind == '"':
        cands.append(os.path.join(src_dir, name))
    for d in ("pipeline/include", "pipeline", "models"):
        cands.append(os.path.join(d, name))
    for c in cands:
        if os.path.isfile(os.path.join(root, c)):
            return os.path.normpath(c)
    return None


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    root = args[0] if args else os.path.join(os.path.dirname(__file__), "..", "..")
    dot = "--dot" in sys.argv
    files = []
    for top in ("pipeline", "models", "plugins"):
        for d, _, names in os.walk(os.path.join(root, top)):
            for n in names:
                if n.endswith((".c", ".h")):
                    files.append(os.path.relpath(os.path.join(d, n), root))
    global MODULES_BY_DIR
    MODULES_BY_DIR = {}
    for f in files:
        if f.endswith(".h") and not f.endswith("-private.h"):
            d, base = os.path.split(f)
            MODULES_BY_DIR.setdefault(d, []).append(base[:-2])
    deps = {}
    problems = []
    for f in sorted(files):
        m = module_of(f)
        deps.setdefault(m, set())
        with open(os.path.join(root, f), encoding="utf-8") as fh:
            text = fh.read()
        for kind, name in INCLUDE.findall(text):
            target = resolve(os.path.dirname(f), kind, name, root)
            if target is None:
                continue
            tm = module_of(target)
            if tm != m:
                deps[m].add(tm)
            layer, tlayer = f.split("/")[0], target.split("/")[0]
            if layer == "models" and tlayer != "models":
                problems.append(f"{f}: models/ includes {target}")
            if layer == "plugins" and tlayer == "pipeline" and not target.startswith(
                    "pipeline/include/seqpipe/"):
                problems.append(f"{f}: a plugin includes the host's private {target}")
            if layer == "pipeline" and tlayer == "plugins":
                problems.append(f"{f}: pipeline/ includes a plugin's {target}")

    # cycles: Tarjan's strongly connected components
    index, low, on, stack, sccs, counter = {}, {}, set(), [], [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(deps.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                sccs.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in sorted(deps):
        if v not in index:
            visit(v)
    for comp in sccs:
        problems.append("cycle between modules: " + " <-> ".join(comp))

    if dot:
        print("digraph seqpipe {")
        for m in sorted(deps):
            for t in sorted(deps[m]):
                print(f'  "{m}" -> "{t}";')
        print("}")
    else:
        for m in sorted(deps):
            print(f"{m}: {' '.join(sorted(deps[m])) or '-'}")
    for p in problems:
        print("module-graph: " + p, file=sys.stderr)
    print(f"module-graph: {len(deps)} modules, {sum(len(v) for v in deps.values())} "
          f"dependencies, {len(problems)} problem(s)", file=sys.stderr)
    return 1 if problems else 0


MODULES_BY_DIR = {}
if __name__ == "__main__":
    sys.exit(main())
