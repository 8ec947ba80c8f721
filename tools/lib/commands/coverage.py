# `tools/scalloc coverage`: source-based coverage of the allocator from the fuzz corpora. Builds out/coverage
# (use_coverage=true), replays every corpus with LLVM_PROFILE_FILE set, merges the profiles and reports src/.
"""Line coverage of src/ reached by the fuzz corpora (and optionally the unit tests)."""

import json
import os
import pathlib
import shutil
import subprocess

from scalloc_tool import CONFIGS, REPO_ROOT, ToolError, build, ensure_setup, run

_CONFIG = "coverage"
_CORPUS_DIR = REPO_ROOT / "fuzzers" / "corpus"
_PROFDATA = "llvm-profdata-14"
_COV = "llvm-cov-14"


def _tool(name):
    path = shutil.which(name)
    if path is None:
        raise ToolError(f"{name} not found (Debian package llvm-14); run tools/scalloc setup")
    return path


def _replays(directory):
    return sorted(p for p in directory.glob("*_replay") if p.is_file() and os.access(p, os.X_OK))


def _run_with_profile(cmd, profile_dir, label, env_extra=None, quiet=False):
    env = dict(os.environ)
    # %p: one file per process (the death tests fork); %m would merge in place but needs a shared binary.
    env["LLVM_PROFILE_FILE"] = str(profile_dir / f"{label}-%p.profraw")
    env.update(env_extra or {})
    result = run(cmd, check=False, echo=not quiet, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    if result.returncode != 0 and not quiet:
        tail = result.stderr.decode("utf-8", errors="replace").splitlines()[-5:]
        print(f"scalloc: warning: {label} exited with status {result.returncode}; its coverage still counts\n  "
              + "\n  ".join(tail))
    return result.returncode == 0


def _summaries(export):
    """Per-file line counts (path relative to the repository root -> (covered, total))."""
    files = {}
    for data in export.get("data", []):
        for entry in data.get("files", []):
            path = os.path.normpath(entry["filename"])
            try:
                relative = os.path.relpath(path, REPO_ROOT)
            except ValueError:
                continue
            lines = entry["summary"]["lines"]
            files[relative] = (lines["covered"], lines["count"])
    return files


def _print_directory_table(files):
    directories = {}
    for path, (covered, count) in files.items():
        if not path.startswith("src" + os.sep):
            continue
        directory = os.path.dirname(path)
        c, n = directories.get(directory, (0, 0))
        directories[directory] = (c + covered, n + count)
    print("\nline coverage by directory:")
    for directory in sorted(directories):
        covered, count = directories[directory]
        percent = 100.0 * covered / count if count else 0.0
        print(f"  {directory:<12} {covered:6d} / {count:6d} lines  {percent:6.2f}%")
    print("\nsrc/core line coverage by file:")
    core_prefix = os.path.join("src", "core") + os.sep
    for path in sorted(p for p in files if p.startswith(core_prefix)):
        covered, count = files[path]
        if count:
            print(f"  {path[len(core_prefix):]:<24} {covered:5d} / {count:5d} lines  {100.0 * covered / count:6.2f}%")
    core = directories.get(os.path.join("src", "core"), (0, 0))
    percent = 100.0 * core[0] / core[1] if core[1] else 0.0
    print(f"\nsrc/core line coverage: {percent:.2f}% ({core[0]} of {core[1]} lines)")


def _command(args):
    ensure_setup()
    profdata, cov = _tool(_PROFDATA), _tool(_COV)
    targets = ["fuzzers:all"] + (["tests:all"] if args.with_tests else [])
    directory = build(args.build_dir, targets=targets, gn_args=CONFIGS[_CONFIG])
    profile_dir = directory / "profiles"
    if profile_dir.exists():
        shutil.rmtree(profile_dir)
    profile_dir.mkdir(parents=True)

    corpus_root = pathlib.Path(args.corpus).resolve() if args.corpus else _CORPUS_DIR
    if not corpus_root.is_dir():
        raise ToolError(f"no corpus directory {corpus_root}")
    binaries = []
    for replay in _replays(directory):
        name = replay.name[:-len("_replay")]
        corpus = corpus_root / name
        if not corpus.is_dir():
            print(f"scalloc: warning: no corpus for {name}; skipped")
            continue
        # One process per input: a crashing input (which writes no profile) costs only its own coverage.
        failures = 0
        inputs = sorted(p for p in corpus.iterdir() if p.is_file())
        for path in inputs:
            failures += not _run_with_profile([replay, path], profile_dir, name, quiet=True)
        if failures:
            print(f"scalloc: warning: {failures} of {len(inputs)} {name} inputs failed; replay "
                  f"{replay.relative_to(REPO_ROOT)} {corpus} to see why")
        binaries.append(replay)
    if args.with_tests:
        for test in sorted(directory.glob("*_tests")):
            if test.is_file() and os.access(test, os.X_OK):
                _run_with_profile([test, "--gtest_brief=1"], profile_dir, test.name, {"GTEST_COLOR": "no"})
                binaries.append(test)
    if not binaries:
        raise ToolError(f"nothing ran: no *_replay executables in {directory}")
    raw = sorted(profile_dir.glob("*.profraw"))
    if not raw:
        raise ToolError("no profiles written (is use_coverage honoured by build/config?)")
    merged = directory / "coverage.profdata"
    run([profdata, "merge", "-sparse", *raw, "-o", merged])

    objects = [str(binaries[0])] + [arg for b in binaries[1:] for arg in ("-object", str(b))]
    # Only the allocator: harness, test and system code are left out of the tables.
    sources = [r"-ignore-filename-regex=(^|/)(fuzzers|tests|third_party|tools|usr)/"]
    run([cov, "report", *objects, f"-instr-profile={merged}", *sources])
    export = run([cov, "export", "-summary-only", *objects, f"-instr-profile={merged}", *sources],
                 stdout=subprocess.PIPE, echo=False)
    _print_directory_table(_summaries(json.loads(export.stdout)))
    if args.html:
        html_dir = directory / "html"
        run([cov, "show", *objects, f"-instr-profile={merged}", "-format=html", f"-output-dir={html_dir}",
             "-show-line-counts-or-regions", *sources])
        print(f"HTML report: {(html_dir / 'index.html').relative_to(REPO_ROOT)}")
    return 0


def register(subparsers):
    parser = subparsers.add_parser(
        "coverage", help="line coverage of src/ from the fuzz corpora (builds out/coverage)",
        description="Builds out/coverage (use_coverage=true: clang -fprofile-instr-generate -fcoverage-mapping), "
                    "runs every *_replay executable over fuzzers/corpus/<name> with LLVM_PROFILE_FILE, merges the "
                    "profiles with llvm-profdata-14 and reports src/ with llvm-cov-14, ending with the line "
                    "coverage of src/core.")
    parser.add_argument("--with-tests", action="store_true",
                        help="also build and run the googletest binaries (coverage of corpora plus unit tests)")
    parser.add_argument("--html", action="store_true", help="also write an HTML report to out/coverage/html")
    parser.add_argument("--corpus", metavar="DIR",
                        help="replay DIR/<fuzzer> instead of fuzzers/corpus/<fuzzer> (to compare two corpora)")
    parser.add_argument("--build-dir", default=_CONFIG, metavar="NAME",
                        help="build in out/NAME instead of out/coverage (same GN args)")
    parser.set_defaults(func=_command)
