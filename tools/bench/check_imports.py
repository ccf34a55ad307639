#!/usr/bin/env python3
"""Checks that each benchmark peer script imports only what it declares, without running it (so
the check works where torch or faiss are not installed).

Each script declares, at module level, REQUIRES = {"module": "Debian package", ...}. This walks
every import statement in the script, anywhere (module level, functions, try blocks), follows the
imports of project modules it can find (beside the script and in tools/train, where the scripts
put themselves on sys.path) and does the same there, transitively; any module that is neither in
the standard library, nor a project module, nor declared is reported with the chain of files
that leads to it. Exit status 0 when every script is clean, 1 otherwise.

    python3 tools/bench/check_imports.py [SCRIPT...]   (default: the --peers scripts and torch_gpu.py)
"""
import ast
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
SEARCH = [HERE, os.path.normpath(os.path.join(HERE, "..", "train"))]
DEFAULT = ["torch_extract.py", "peers.py", "torch_gpu.py", "similars_peers.py"]


def declared(tree, path):
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "REQUIRES" for t in node.targets):
            value = ast.literal_eval(node.value)
            return set(value)
    raise SystemExit(f"{path}: no module-level REQUIRES = {{module: Debian package}} declaration")


def imports(tree):
    """(top-level module name, line) of every import in the file, however deeply nested."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                yield a.name.split(".")[0], node.lineno
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.module.split(".")[0], node.lineno


def local(name):
    for d in SEARCH:
        p = os.path.join(d, name + ".py")
        if os.path.isfile(p):
            return p
    return None


def check(script):
    script = os.path.abspath(script)
    with open(script, encoding="utf-8") as f:
        tree = ast.parse(f.read(), script)
    allowed = declared(tree, script)
    problems, seen, todo = [], {script}, [(script, tree, [script])]
    used = set()
    while todo:
        path, t, chain = todo.pop()
        for name, line in imports(t):
            if name in sys.stdlib_module_names or name == "__future__":
                continue
            mod = local(name)
            if mod is not None:
                if mod not in seen:
                    seen.add(mod)
                    with open(mod, encoding="utf-8") as f:
                        todo.append((mod, ast.parse(f.read(), mod), chain + [mod]))
                continue
            used.add(name)
            if name not in allowed:
                via = " -> ".join(os.path.relpath(c) for c in chain)
                problems.append(f"{os.path.relpath(path)}:{line}: imports {name!r}, which "
                                f"{os.path.basename(script)} does not declare in REQUIRES (via {via})")
    unused = sorted(allowed - used)
    if unused:
        problems.append(f"{os.path.relpath(script)}: REQUIRES declares {unused}, which it never imports")
    return sorted(allowed), problems


def main():
    scripts = sys.argv[1:] or [os.path.join(HERE, s) for s in DEFAULT]
    bad = False
    for s in scripts:
        needs, problems = check(s)
        for p in problems:
            print(p, file=sys.stderr)
        bad |= bool(problems)
        print(f"{os.path.relpath(s)}: {'FAIL' if problems else 'ok'}; needs {', '.join(needs) or 'nothing'}"
              " beyond the standard library")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
