# `tools/scalloc fuzz`: builds out/fuzz (libFuzzer + ASan + UBSan) and runs the fuzzers on their checked-in corpora,
# merging new inputs back and minimizing crashes into out/fuzz/repro/. Also smoke(seconds), used by the test runner.
"""Run the libFuzzer targets (fuzzers/)."""

import hashlib
import os
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile

from scalloc_tool import CONFIGS, REPO_ROOT, ToolError, build, ensure_setup, out_dir, run

_FUZZERS_DIR = REPO_ROOT / "fuzzers"
_CORPUS_DIR = _FUZZERS_DIR / "corpus"
_CONFIG = "fuzz"
_FUZZER_RULE = re.compile(r'^\s*sc_fuzzer\("([A-Za-z0-9_]+)"\)', re.MULTILINE)

# libFuzzer flags for every run: room for two heaps plus ASan's quarantine, and a per-input time limit well
# above the slowest seed (traces run in milliseconds).
_COMMON_FLAGS = ["-rss_limit_mb=4096", "-timeout=60", "-print_final_stats=1"]
_ARTIFACT_PREFIXES = ("crash-", "leak-", "timeout-", "oom-", "slow-unit-")


def fuzzer_names():
    """The fuzz targets declared in fuzzers/BUILD.gn, in file order."""
    build_file = _FUZZERS_DIR / "BUILD.gn"
    if not build_file.exists():
        raise ToolError("fuzzers/BUILD.gn not found")
    return _FUZZER_RULE.findall(build_file.read_text())


def _environment():
    env = dict(os.environ)
    env.setdefault("ASAN_OPTIONS", "abort_on_error=1:detect_leaks=1:symbolize=1")
    env.setdefault("UBSAN_OPTIONS", "print_stacktrace=1:halt_on_error=1")
    return env


def _dictionary_flags(name):
    dictionary = _FUZZERS_DIR / f"{name}.dict"
    return [f"-dict={dictionary}"] if dictionary.exists() else []


def build_fuzzers(quiet=False, config=_CONFIG):
    """Builds every fuzz target in out/<config> with the fuzz configuration's GN args; returns the directory."""
    ensure_setup()
    return build(config, targets=["fuzzers:all"], gn_args=CONFIGS[_CONFIG], quiet=quiet)


def _binary(directory, name):
    path = directory / name
    if not path.exists():
        raise ToolError(f"{path} was not built (is {name} in fuzzers/BUILD.gn's group(\"all\")?)")
    return path


def _artifacts(directory):
    if not directory.is_dir():
        return set()
    return {p for p in directory.iterdir() if p.is_file() and p.name.startswith(_ARTIFACT_PREFIXES)}


def _minimize(binary, crash, repro_dir, env):
    """Minimizes one crashing input; returns the path of the smallest reproducer."""
    digest = hashlib.sha1(crash.read_bytes()).hexdigest()[:12]
    minimized = repro_dir / f"{crash.name.split('-')[0]}-{binary.name}-min-{digest}"
    result = run([binary, "-minimize_crash=1", "-runs=20000", f"-exact_artifact_path={minimized}", crash],
                 check=False, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if result.returncode != 0 and not minimized.exists():
        print(f"scalloc: could not minimize {crash} (exit status {result.returncode}); keeping it as is",
              file=sys.stderr)
        return crash
    return minimized if minimized.exists() else crash


def _merge(binary, corpus, new_inputs, env):
    """Adds the new inputs that bring new coverage to the checked-in corpus (libFuzzer -merge=1)."""
    if not any(new_inputs.iterdir()):
        return 0
    before = len(list(corpus.iterdir()))
    run([binary, "-merge=1", *_COMMON_FLAGS[:2], corpus, new_inputs], env=env, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL)
    return len(list(corpus.iterdir())) - before


def fuzz_one(directory, name, seconds, jobs):
    """Fuzzes one target; returns the list of minimized reproducers (empty: no crash)."""
    binary = _binary(directory, name)
    env = _environment()
    corpus = _CORPUS_DIR / name
    corpus.mkdir(parents=True, exist_ok=True)
    repro_dir = directory / "repro"
    repro_dir.mkdir(parents=True, exist_ok=True)
    artifacts_dir = directory / "artifacts" / name
    artifacts_dir.mkdir(parents=True, exist_ok=True)
    before = _artifacts(artifacts_dir)
    with tempfile.TemporaryDirectory(prefix=f"{name}-new-", dir=directory) as scratch:
        new_inputs = pathlib.Path(scratch)
        cmd = [binary, *_COMMON_FLAGS, f"-max_total_time={seconds}", f"-artifact_prefix={artifacts_dir}/",
               *_dictionary_flags(name)]
        if jobs > 1:
            cmd.append(f"-fork={jobs}")
        # New inputs go to the scratch directory (the first one named); the checked-in corpus only seeds.
        cmd += [new_inputs, corpus]
        result = run(cmd, check=False, env=env)
        added = _merge(binary, corpus, new_inputs, env)
    print(f"{name}: fuzzer exit status {result.returncode}; {added} new input(s) merged into "
          f"{corpus.relative_to(REPO_ROOT)}")
    reproducers = []
    for crash in sorted(_artifacts(artifacts_dir) - before):
        reproducers.append(_minimize(binary, crash, repro_dir, env))
    if result.returncode != 0 and not reproducers:
        raise ToolError(f"{name} failed (exit status {result.returncode}) without leaving a crash file")
    return reproducers


def smoke(seconds):
    """Builds out/fuzz and runs each fuzzer for about `seconds` on a scratch copy of its corpus.

    The checked-in corpora are not modified. Returns (passed, failed), one count per fuzzer.
    """
    directory = build_fuzzers(quiet=True)
    env = _environment()
    passed = failed = 0
    for name in fuzzer_names():
        binary = directory / name
        if not binary.exists():
            print(f"FAIL: fuzz smoke {name}: {binary} was not built")
            failed += 1
            continue
        with tempfile.TemporaryDirectory(prefix=f"{name}-smoke-") as scratch:
            scratch = pathlib.Path(scratch)
            corpus = scratch / "corpus"
            if (_CORPUS_DIR / name).is_dir():
                shutil.copytree(_CORPUS_DIR / name, corpus)
            else:
                corpus.mkdir()
            cmd = [str(binary), *_COMMON_FLAGS, f"-max_total_time={seconds}", f"-artifact_prefix={scratch}/",
                   *_dictionary_flags(name), str(corpus)]
            try:
                proc = subprocess.run(cmd, env=env, cwd=scratch, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                      timeout=seconds * 3 + 120, check=False)
                status, output = proc.returncode, proc.stdout.decode("utf-8", errors="replace")
            except subprocess.TimeoutExpired as error:
                status, output = None, (error.stdout or b"").decode("utf-8", errors="replace")
            if status == 0:
                print(f"PASS: fuzz smoke {name} ({seconds}s)")
                passed += 1
            else:
                kept = out_dir(_CONFIG) / "repro"
                kept.mkdir(parents=True, exist_ok=True)
                for artifact in _artifacts(scratch):
                    shutil.copy(artifact, kept / f"{name}-{artifact.name}")
                print(f"FAIL: fuzz smoke {name} ({'timed out' if status is None else f'exit status {status}'}); "
                      f"crash inputs copied to {kept.relative_to(REPO_ROOT)}")
                print("\n".join(output.splitlines()[-40:]))
                failed += 1
    return passed, failed


def _command(args):
    names = fuzzer_names()
    if args.list:
        print("\n".join(names))
        return 0
    if args.name and args.name not in names:
        raise ToolError(f"unknown fuzzer {args.name!r} (known: {', '.join(names)})")
    if args.time < 1 or args.jobs < 1:
        raise ToolError("--time and --jobs must be at least 1")
    directory = build_fuzzers(config=args.build_dir)
    selected = [args.name] if args.name else names
    found = {}
    for name in selected:
        print(f"== {name}: {args.time}s, {args.jobs} job(s)", flush=True)
        reproducers = fuzz_one(directory, name, args.time, args.jobs)
        if reproducers:
            found[name] = reproducers
    if not found:
        print(f"no crashes in {len(selected)} fuzzer(s)")
        return 0
    for name, reproducers in found.items():
        for path in reproducers:
            shown = path.relative_to(REPO_ROOT) if path.is_relative_to(REPO_ROOT) else path
            print(f"CRASH {name}: {shown}\n  reproduce: SCALLOC_FUZZ_TRACE=1 out/{args.build_dir}/{name} {shown}\n"
                  f"  replay build: out/<config>/{name}_replay {shown}\n"
                  f"  as text: tools/scalloc record --dump {shown}")
    return 1


def register(subparsers):
    parser = subparsers.add_parser(
        "fuzz", help="run the libFuzzer targets (builds out/fuzz)",
        description="Builds out/fuzz (use_libfuzzer, use_asan, use_ubsan) and runs one fuzzer, or each in turn, "
                    "on fuzzers/corpus/<name>. Inputs that add coverage are merged back into that corpus "
                    "(libFuzzer -merge=1); crashes are minimized into out/fuzz/repro/ (raw crash files stay in "
                    "out/fuzz/artifacts/<name>/). Exit status 1 when a "
                    "fuzzer crashed. See fuzzers/README.md.")
    parser.add_argument("name", nargs="?", help="fuzzer to run (default: all, one after another)")
    parser.add_argument("--time", type=int, default=60, metavar="S", help="seconds per fuzzer (default 60)")
    parser.add_argument("--jobs", type=int, default=1, metavar="N",
                        help="parallel fuzzing processes (libFuzzer -fork=N; default 1)")
    parser.add_argument("--list", action="store_true", help="list the fuzzers and exit")
    parser.add_argument("--build-dir", default=_CONFIG, metavar="NAME",
                        help="build in out/NAME instead of out/fuzz (same GN args)")
    parser.set_defaults(func=_command)
