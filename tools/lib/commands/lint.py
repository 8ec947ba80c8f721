# `tools/scalloc lint`: clang-format, gn format, gn check and the OS-boundary check, each reported separately.

import os
import pathlib
import shutil
import subprocess
import sys

from scalloc_tool import REPO_ROOT, ToolError, gn_gen, out_dir, run

_CPP_DIRS = ["src", "tests", "fuzzers", "tools/bench", "tools/record"]
_CPP_SUFFIXES = {".h", ".hh", ".hpp", ".c", ".cc", ".cpp", ".inc"}
# Never formatted or scanned: build output, VCS data, fuzzer corpora.
_SKIP_DIRS = {"out", ".git", "corpus", "__pycache__"}


def _walk(roots, keep):
    files = []
    for root in roots:
        base = REPO_ROOT / root
        if base.is_file():
            files.append(base)
            continue
        for directory, subdirs, names in os.walk(base):
            subdirs[:] = sorted(d for d in subdirs if d not in _SKIP_DIRS)
            files += [pathlib.Path(directory, n) for n in sorted(names) if keep(n)]
    return files


def _relative(paths):
    return [os.path.relpath(p, REPO_ROOT) for p in paths]


def _clang_format_binary():
    for name in ("clang-format", "clang-format-14"):
        if shutil.which(name):
            return name
    raise ToolError("clang-format not found; run tools/scalloc setup")


def _clang_format(fix):
    files = _relative(_walk(_CPP_DIRS, lambda n: os.path.splitext(n)[1] in _CPP_SUFFIXES))
    if not files:
        return True, "no C++ files"
    binary = _clang_format_binary()
    mode = ["-i"] if fix else ["--dry-run", "-Werror"]
    result = run([binary] + mode + files, check=False, echo=False, cwd=REPO_ROOT)
    return result.returncode == 0, f"{len(files)} files"


def _gn_format(fix):
    files = _relative(_walk(["."], lambda n: n.endswith((".gn", ".gni"))))
    unformatted = []
    for path in files:
        cmd = ["gn", "format"] + ([] if fix else ["--dry-run"]) + [path]
        result = subprocess.run(cmd, cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                text=True, check=False)
        if result.returncode != 0:
            unformatted.append(path)
            if result.returncode != 2:  # 2 = parses but needs formatting; anything else is an error.
                print(result.stdout.rstrip())
    for path in unformatted:
        print(f"{path}: needs `gn format {path}`")
    return not unformatted, f"{len(files)} files"


def _gn_check(_fix):
    gn_gen("release")
    result = run(["gn", "check", os.path.relpath(out_dir("release"), REPO_ROOT)], check=False,
                 echo=False, cwd=REPO_ROOT)
    return result.returncode == 0, "out/release"


def _os_calls(_fix):
    result = run([sys.executable, REPO_ROOT / "tools" / "check_os_calls.py"], check=False, echo=False,
                 cwd=REPO_ROOT)
    return result.returncode == 0, "src/"


_CHECKS = [
    ("clang-format", _clang_format),
    ("gn format", _gn_format),
    ("gn check", _gn_check),
    ("check_os_calls", _os_calls),
]


def _lint(args):
    failed = []
    for name, check in _CHECKS:
        print(f"== {name}", flush=True)
        try:
            ok, scope = check(args.fix)
        except ToolError as error:
            ok, scope = False, str(error)
        print(f"== {name}: {'ok' if ok else 'FAILED'} ({scope})", flush=True)
        if not ok:
            failed.append(name)
    if failed:
        print("lint: failed: " + ", ".join(failed))
        return 1
    print("lint: ok")
    return 0


def register(subparsers):
    parser = subparsers.add_parser(
        "lint",
        help="check formatting, GN include rules and the OS boundary",
        description="Runs clang-format (src/, tests/, fuzzers/, tools/bench/, tools/record/), gn format on "
        "every .gn/.gni file, gn check on out/release, and tools/check_os_calls.py.")
    parser.add_argument("--fix", action="store_true", help="reformat files in place instead of checking")
    parser.set_defaults(func=_lint)
