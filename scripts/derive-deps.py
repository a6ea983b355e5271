#!/usr/bin/env python3
"""Derives the Debian packages Archivist needs from what its build and tests actually read and run,
and checks that scripts/install-deps.sh installs every one of them (listed, or pulled in by a
listed package's Depends).

Usage: scripts/derive-deps.py BUILD_DIR [--fuzz-build DIR] [--markdown]

BUILD_DIR is a built tree (`make build`). What counts as "needed":
  configure  every file a fresh `cmake --trace` configure reads (Qt6*Config.cmake, their
             *Dependencies.cmake, Find modules, …) with the file that made it be read, the
             pkg-config .pc files, and the programs CMakeCache.txt points at;
  build      every header the compiler read (*.o.d), every library the linker got (link.txt),
             every program the build rules run (moc, rcc, lrelease, …);
  run        the Qt plugin and catalogue the tests and the console load;
  commands   the programs the scripts and tests call (the table COMMANDS below);
  fuzz       with --fuzz-build, the same for the libFuzzer build (`make fuzz`) and clang's runtime.
Each file is mapped to its package with dpkg's file lists (as `dpkg -S` does). Exit 1 when a
needed file is absent or its package is not installed by install-deps (or the base toolchain).
"""
import argparse
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
from collections import OrderedDict

SRC = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# What a fresh machine has before install-deps (scripts/fresh-check.sh builds exactly this).
BASE_TOOLCHAIN = ["build-essential", "cmake", "git", "make", "ca-certificates"]

# Programs the scripts and tests call: name -> (group, who calls it).
COMMANDS = OrderedDict([
    ("jq", ("test", "tests/integration/*.sh")),
    ("zstd", ("test", "test_corpus.sh (.jsonl.zst input), tst_segment_writer (reads a segment)")),
    ("node", ("test", "tests/corpus/*.mjs, tests/relay/relay.mjs; make demo")),
    ("npm", ("test", "install-deps: npm ci in tests/")),
    ("python3", ("test", "node-gyp: better-sqlite3 builds from source")),
    ("g++", ("test", "node-gyp: better-sqlite3 builds from source")),
    ("make", ("test", "node-gyp; the Makefile")),
    ("timeout", ("test", "tests/integration/lib.sh")),
    ("mkfifo", ("test", "test_lock.sh, scripts/demo.sh")),
    ("sha256sum", ("test", "tests/integration/*.sh")),
    ("awk", ("test", "tests/integration/*.sh, scripts/demo.sh")),
    ("ctest", ("test", "make test")),
    ("curl", ("bench", "bench/ui_lag.sh")),
    ("clickhouse-server", ("test", "tests/integration/test_clickhouse_sink.sh (a private server on 127.0.0.1)")),
    ("clickhouse-client", ("test", "tests/integration/test_clickhouse_sink.sh, docs/clickhouse.md's tested commands")),
    ("Xvfb", ("bench", "bench/ui_lag.sh, scripts/screenshot.sh: a real window")),
    ("cpack", ("package", "make package")),
    ("dpkg-shlibdeps", ("package", "cpack DEB: CPACK_DEBIAN_PACKAGE_SHLIBDEPS")),
    ("dpkg-deb", ("package", "cpack DEB")),
    ("file", ("package", "cpack DEB: finds the ELF files to strip and scan")),
    ("strip", ("package", "cpack: CPACK_STRIP_FILES")),
])
FUZZ_COMMANDS = OrderedDict([
    ("clang", ("fuzz", "make fuzz: CC=clang")),
    ("clang++", ("fuzz", "make fuzz: CXX=clang++ -fsanitize=fuzzer")),
])


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, text=True, stdout=subprocess.PIPE, **kw).stdout


class Owners:
    """path -> package, from /var/lib/dpkg/info/*.list (what `dpkg -S` reads), for merged /usr."""

    def __init__(self):
        self.owner = {}
        info = "/var/lib/dpkg/info"
        for name in os.listdir(info):
            if not name.endswith(".list"):
                continue
            pkg = name[:-5].split(":")[0]
            with open(os.path.join(info, name), encoding="utf-8", errors="replace") as f:
                for line in f:
                    p = line.rstrip("\n")
                    if p and not os.path.isdir(p):
                        self.owner.setdefault(p, pkg)

    def find(self, path):
        cands = [path, os.path.realpath(path)]
        for c in list(cands):
            if c.startswith("/usr/"):
                cands.append(c[4:])            # /usr/lib/... listed as /lib/... (merged /usr)
            else:
                cands.append("/usr" + c)
        for c in cands:
            if c in self.owner:
                return self.owner[c]
        return None


def outside(path, *dirs):
    return path.startswith("/") and not any(path.startswith(d.rstrip("/") + "/") for d in dirs)


def configure_files(tmp):
    """Files a fresh configure reads or checks: (path, what made it be read)."""
    trace = os.path.join(tmp, "trace.json")
    run(["cmake", "-S", SRC, "-B", os.path.join(tmp, "b"), "--trace-format=json-v1",
         "--trace-redirect=" + trace], stderr=subprocess.STDOUT)
    generic = re.compile(r"^/usr/share/cmake-[^/]+/Modules/|/Qt[^/]*(Helpers|Macros|Functions)\.cmake$")
    stack, seen = {}, OrderedDict()
    with open(trace, encoding="utf-8", errors="replace") as f:
        for line in f:
            try:
                e = json.loads(line)
            except ValueError:
                continue
            if "file" not in e:
                continue
            fr, fl = e.get("frame", 1), e["file"]
            stack[fr] = fl
            if fl in seen:
                continue
            # Who asked for it: the nearest caller that is a project or package file, not one of
            # CMake's own modules or Qt's helper functions, and not from the same directory.
            by = ""
            for up in range(fr - 1, 0, -1):
                c = stack.get(up, "")
                if c and not generic.search(c) and os.path.dirname(c) != os.path.dirname(fl):
                    by = c
                    break
            seen[fl] = by
    out = []
    for f, by in seen.items():
        if not outside(f, SRC, tmp):
            continue
        out.append((f, "required by " + (os.path.relpath(by, SRC) if by.startswith(SRC) else os.path.basename(by))))
        # The files an imported target must find (Qt's Targets files stop configure without them).
        if re.search(r"Targets-[^/]*\.cmake$", f):
            prefix = os.path.dirname(f)
            ups = open(os.path.join(prefix, re.sub(r"-[^/-]*\.cmake$", ".cmake", os.path.basename(f)))).read() \
                .count("get_filename_component(_IMPORT_PREFIX") if os.path.exists(
                    os.path.join(prefix, re.sub(r"-[^/-]*\.cmake$", ".cmake", os.path.basename(f)))) else 0
            for _ in range(max(ups - 1, 0)):
                prefix = os.path.dirname(prefix)
            for m in re.findall(r'_cmake_import_check_files_for_\S+ "\$\{_IMPORT_PREFIX\}([^"]+)"', open(f).read()):
                out.append((prefix + m, "checked by " + os.path.basename(f)))
    mods = re.findall(r"archivist_find_pkgconfig\(\w+ (\S+) ", open(os.path.join(SRC, "CMakeLists.txt")).read())
    for mod in mods:
        for pc in run(["pkg-config", "--path", mod]).split():
            out.append((pc, "pkg-config " + mod))
    pkgconf = shutil.which("pkg-config")
    if pkgconf:
        out.append((pkgconf, "pkg-config: CMakeLists.txt"))
    return out


def target_of(path):
    return next((c[:-4] for c in reversed(path.split("/")) if c.endswith(".dir")), os.path.basename(path))


def build_files(build):
    """Headers compiled, libraries linked and programs run by the build rules of BUILD."""
    out, seen = [], set()
    libdirs = ["/usr/lib/x86_64-linux-gnu", "/usr/lib", "/lib/x86_64-linux-gnu"]
    for root, _, files in os.walk(build):
        for name in files:
            p = os.path.join(root, name)
            if name.endswith(".o.d"):
                text = open(p, encoding="utf-8", errors="replace").read().replace("\\\n", " ")
                for tok in text.split():
                    tok = tok.rstrip(":")
                    if tok not in seen and outside(tok, SRC, build) and os.path.exists(tok):
                        seen.add(tok)
                        out.append((os.path.normpath(tok), "compiled in " + target_of(p)))
            elif name == "link.txt":
                tgt = target_of(p)
                for tok in shlex.split(open(p).read()):
                    cand = None
                    if tok.startswith("-l") and len(tok) > 2:
                        for d in libdirs:
                            for ext in (".so", ".a"):
                                if os.path.exists(f"{d}/lib{tok[2:]}{ext}"):
                                    cand = cand or f"{d}/lib{tok[2:]}{ext}"
                    elif outside(tok, SRC, build) and os.path.isfile(tok):
                        cand = tok
                    if cand and cand not in seen:
                        seen.add(cand)
                        out.append((cand, "linked into " + tgt))
            elif name == "build.make":
                for tok in re.findall(r"(/usr/[^\s;:\"']+)", open(p, encoding="utf-8", errors="replace").read()):
                    if tok not in seen and os.path.isfile(tok) and os.access(tok, os.X_OK):
                        seen.add(tok)
                        out.append((tok, "run by the build (" + target_of(p) + ")"))
    return out


def qt_query(var):
    for q in ("/usr/lib/qt6/bin/qtpaths6", "/usr/lib/qt6/bin/qtpaths", "qtpaths6"):
        exe = shutil.which(q) or (q if os.path.exists(q) else None)
        if exe:
            return run([exe, "--query", var]).strip()
    return ""


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("build")
    ap.add_argument("--fuzz-build")
    ap.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    a = ap.parse_args()
    build = os.path.abspath(a.build)
    owners = Owners()

    needs = []          # (group, path or command, reason)
    missing = []
    with tempfile.TemporaryDirectory() as tmp:
        for f, why in configure_files(tmp):
            needs.append(("configure", f, why))
    for f, why in build_files(build):
        needs.append(("build", f, why))
    if a.fuzz_build:
        for f, why in build_files(os.path.abspath(a.fuzz_build)):
            needs.append(("fuzz", f, why))
    tr, plugins = qt_query("QT_INSTALL_TRANSLATIONS"), qt_query("QT_INSTALL_PLUGINS")
    needs.append(("run", f"{tr}/qtbase_de.qm", "Qt's German catalogue (Cancel -> Abbrechen), tst_translations"))
    needs.append(("run", f"{plugins}/platforms/libqoffscreen.so", "QT_QPA_PLATFORM=offscreen (ui tests, CI)"))
    needs.append(("test", "/usr/include/node/node_api.h", "node-gyp headers (npm_config_nodedir=/usr)"))
    cmds = OrderedDict(COMMANDS)
    if a.fuzz_build:
        cmds.update(FUZZ_COMMANDS)
        rt = run(["clang++", "-print-runtime-dir"]).strip()
        needs.append(("fuzz", f"{rt}/libclang_rt.fuzzer-x86_64.a", "-fsanitize=fuzzer"))
    for c, (group, why) in cmds.items():
        p = shutil.which(c)
        if not p:
            missing.append(f"command {c} ({why}) is not on PATH")
            continue
        needs.append((group, p, f"{c}: {why}"))

    # package -> first reason (for a package of CMake configs, its *Config.cmake)
    by_pkg, local = OrderedDict(), []
    for group, f, why in needs:
        if not os.path.exists(f):
            missing.append(f"{f} ({why}) does not exist")
            continue
        pkg = owners.find(f)
        if pkg is None:
            local.append(f"{f} ({why})")
            continue
        old = by_pkg.get(pkg)
        if old is None or (f.endswith("Config.cmake") and not old[1].endswith("Config.cmake")
                           and old[0] == group):
            by_pkg[pkg] = (group, f, why)

    # What install-deps installs: its lists, and everything they pull in through Depends.
    text = open(os.path.join(SRC, "scripts", "install-deps.sh")).read()
    lists = OrderedDict()
    for name, body in re.findall(r"^([A-Z_]+)=\(\s*(.*?)\)", text, re.S | re.M):
        for p in re.sub(r"#.*", "", body).split():
            lists.setdefault(p, name)
    for p in BASE_TOOLCHAIN:
        lists.setdefault(p, "base toolchain")
    installed = set(run(["dpkg-query", "-W", "-f=${Package}\n"]).split())
    essential = {l.split()[0] for l in run(["dpkg-query", "-W", "-f=${Package} ${Essential} ${Priority}\n"]).splitlines()
                 if " yes " in l or l.endswith(" required")}
    via = {}
    for root in lists:
        if root not in installed:
            continue
        out = run(["apt-cache", "depends", "--recurse", "--installed", "--no-recommends", "--no-suggests",
                   "--no-conflicts", "--no-breaks", "--no-replaces", "--no-enhances", root])
        for line in out.splitlines():
            if line and not line.startswith(" ") and not line.startswith("<"):
                via.setdefault(line.split(":")[0], root)

    rows, bad = [], []
    for pkg, (group, f, why) in by_pkg.items():
        if pkg in lists:
            how = f"listed ({lists[pkg]})"
        elif pkg in essential:
            how = "essential/required (every Debian)"
        elif pkg in via:
            how = f"Depends of {via[pkg]}"
        else:
            how = "NOT INSTALLED BY install-deps"
            bad.append(pkg)
        rows.append((group, pkg, how, f, why))
    order = {"configure": 0, "build": 1, "run": 2, "test": 3, "bench": 4, "package": 5, "fuzz": 6}
    rows.sort(key=lambda r: (order.get(r[0], 9), r[1]))
    if a.markdown:
        print("| needed for | package | how install-deps gets it | first file that needs it | why |")
        print("|---|---|---|---|---|")
        for r in rows:
            print("| " + " | ".join(x.replace("|", "\\|") for x in r) + " |")
    else:
        for r in rows:
            print(f"{r[0]:<9} {r[1]:<24} {r[2]:<34} {r[3]}  [{r[4]}]")
    unused = [p for p, n in lists.items() if n != "base toolchain" and p not in by_pkg and p in installed]
    if unused:
        print(f"\nlisted but not seen in this derivation (needed elsewhere, see the comments in install-deps): {' '.join(unused)}")
    for l in local:
        print("not from a Debian package here (fine on a developer's machine): " + l)
    for m in missing:
        print("MISSING: " + m)
    for b in bad:
        print(f"MISSING: {b} is needed ({by_pkg[b][1]}) but install-deps does not install it")
    print(f"\n{len(rows)} packages needed; {len(bad) + len(missing)} problems")
    return 1 if bad or missing else 0


if __name__ == "__main__":
    sys.exit(main())
