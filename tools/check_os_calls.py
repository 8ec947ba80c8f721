#!/usr/bin/env python3
# Enforces the OS boundary: only src/os/ may include system headers for memory mapping, threads, syscalls,
# randomness or limits, or call those functions; src/api/ may additionally include <pthread.h> and <errno.h>.
"""Checks that src/ talks to the operating system only through src/os/.

Prints file:line for every violation and exits 1; prints "check_os_calls: ok" otherwise.
Usage: check_os_calls.py [SRC_DIR]   (default: src/ of this repository)
"""

import pathlib
import re
import sys

FORBIDDEN_HEADERS = {
    "sys/mman.h",
    "sys/syscall.h",
    "unistd.h",
    "pthread.h",
    "sys/random.h",
    "sys/resource.h",
    "sched.h",
    "dlfcn.h",
}
# Headers a layer may include although they are in FORBIDDEN_HEADERS (errno.h is listed for clarity).
ALLOWED_HEADERS_BY_DIR = {
    "api": {"pthread.h", "errno.h"},
}
FORBIDDEN_CALLS = [
    "mmap",
    "munmap",
    "mremap",
    "madvise",
    "mprotect",
    "getrandom",
    "syscall",
    "pthread_key_create",
    "pthread_atfork",
    "getenv",
    "write",
    "dlsym",
]
SOURCE_SUFFIXES = {".h", ".hh", ".hpp", ".c", ".cc", ".cpp", ".inc"}

_INCLUDE = re.compile(r'^\s*#\s*include\s*[<"]([^>"]+)[>"]')
# A call: the name as a whole identifier followed by "(", not a member access (x.write(...), p->write(...)).
_CALL = re.compile(r"(?<![\w.>])(?<!->)(" + "|".join(FORBIDDEN_CALLS) + r")\s*\(")


def strip_comments_and_strings(text):
    """Blanks out comments and string/char literals, keeping newlines so line numbers stay right."""
    out = []
    i = 0
    n = len(text)
    while i < n:
        c = text[i]
        nxt = text[i + 1] if i + 1 < n else ""
        if c == "/" and nxt == "/":
            end = text.find("\n", i)
            end = n if end < 0 else end
            out.append(" " * (end - i))
            i = end
        elif c == "/" and nxt == "*":
            end = text.find("*/", i + 2)
            end = n if end < 0 else end + 2
            out.append("".join(ch if ch == "\n" else " " for ch in text[i:end]))
            i = end
        elif c == "R" and nxt == '"' and (i == 0 or not (text[i - 1].isalnum() or text[i - 1] == "_")):
            open_paren = text.find("(", i + 2)
            delimiter = text[i + 2:open_paren] if open_paren >= 0 else ""
            end = text.find(")" + delimiter + '"', open_paren) if open_paren >= 0 else -1
            end = n if end < 0 else end + len(delimiter) + 2
            out.append("".join(ch if ch == "\n" else " " for ch in text[i:end]))
            i = end
        elif c in "\"'":
            j = i + 1
            while j < n and text[j] != c and text[j] != "\n":
                j += 2 if text[j] == "\\" else 1
            j = min(j + 1, n)
            out.append(" " * (j - i))
            i = j
        else:
            out.append(c)
            i += 1
    return "".join(out)


def check_file(path, layer):
    """Returns a list of "path:line: message" strings."""
    problems = []
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as error:
        return [f"{path}: cannot read: {error.strerror}"]
    allowed = ALLOWED_HEADERS_BY_DIR.get(layer, set())
    for number, line in enumerate(text.splitlines(), 1):
        match = _INCLUDE.match(line)
        if match and match.group(1) in FORBIDDEN_HEADERS and match.group(1) not in allowed:
            problems.append(f"{path}:{number}: includes <{match.group(1)}>; only src/os/ may "
                            "(add what you need to the Os interface in src/os/os.h)")
    code = strip_comments_and_strings(text)
    for number, line in enumerate(code.splitlines(), 1):
        if line.lstrip().startswith("#"):
            continue
        for match in _CALL.finditer(line):
            problems.append(f"{path}:{number}: calls {match.group(1)}(); only src/os/ may "
                            "(go through the Os interface in src/os/os.h)")
    return problems


def main(argv):
    repo = pathlib.Path(__file__).resolve().parent.parent
    src = pathlib.Path(argv[0]) if argv else repo / "src"
    if not src.is_dir():
        print(f"check_os_calls: {src} is not a directory", file=sys.stderr)
        return 2
    problems = []
    for path in sorted(src.rglob("*")):
        if not path.is_file() or path.suffix not in SOURCE_SUFFIXES:
            continue
        relative = path.relative_to(src)
        layer = relative.parts[0] if len(relative.parts) > 1 else ""
        if layer == "os":
            continue
        try:
            shown = path.relative_to(repo)
        except ValueError:
            shown = path
        problems += [p.replace(str(path), str(shown), 1) for p in check_file(path, layer)]
    for problem in problems:
        print(problem)
    if problems:
        print(f"check_os_calls: {len(problems)} violation(s)")
        return 1
    print("check_os_calls: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
