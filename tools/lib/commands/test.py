# `tools/scalloc test`: builds the release and asan configurations, runs every googletest binary, corpus
# replay and integration script, and ends with the line "N passed, M failed".

import importlib
import os
import re
import signal
import subprocess
import sys
import time
import traceback

from scalloc_tool import REPO_ROOT, Progress, ToolError, build, ensure_setup, out_dir

_GTEST_PASSED = re.compile(r"^\[  PASSED  \] (\d+) tests?\.", re.MULTILINE)
# Printed by the default printer only; --gtest_brief=1 lists each failed test once instead.
_GTEST_FAILED_SUMMARY = re.compile(r"^\[  FAILED  \] (\d+) tests?, listed below", re.MULTILINE)
_GTEST_FAILED_TEST = re.compile(r"^\[  FAILED  \] ([^\s,]+)", re.MULTILINE)
_SCRIPT_PASS = re.compile(r"^PASS: ", re.MULTILINE)
_SCRIPT_FAIL = re.compile(r"^FAIL: ", re.MULTILINE)

_INTEGRATION_DIR = REPO_ROOT / "tests" / "integration"
_CORPUS_DIR = REPO_ROOT / "fuzzers" / "corpus"


class _Result:
    def __init__(self, label, passed=0, failed=0, seconds=0.0, output="", note=""):
        self.label = label
        self.passed = passed
        self.failed = failed
        self.seconds = seconds
        self.output = output
        self.note = note


def _execute(cmd, timeout, env=None):
    """Runs cmd in its own process group with stdout+stderr captured.

    Returns (exit status or None on timeout, output, seconds).
    """
    start = time.monotonic()
    proc = subprocess.Popen([str(c) for c in cmd], cwd=REPO_ROOT, env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        raw, _ = proc.communicate(timeout=timeout)
        status = proc.returncode
    except subprocess.TimeoutExpired:
        status = proc.poll()
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        try:
            raw, _ = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            raw = b""
    output = raw.decode("utf-8", errors="replace")
    return status, output, time.monotonic() - start


def _describe_status(status, timeout):
    if status is None:
        return f"timed out after {timeout}s"
    if status < 0:
        try:
            return f"killed by {signal.Signals(-status).name}"
        except ValueError:
            return f"killed by signal {-status}"
    return f"exit status {status}"


def _run_gtest(label, binary, timeout):
    env = dict(os.environ, GTEST_COLOR="no")
    env.setdefault("UBSAN_OPTIONS", "print_stacktrace=1")
    status, output, seconds = _execute([binary, "--gtest_brief=1"], timeout, env)
    result = _Result(label, seconds=seconds, output=output)
    passed = _GTEST_PASSED.findall(output)
    result.passed = int(passed[-1]) if passed else 0
    summary = _GTEST_FAILED_SUMMARY.findall(output)
    if summary:
        result.failed = int(summary[-1])
    else:
        names = {n for n in _GTEST_FAILED_TEST.findall(output) if not n[0].isdigit()}
        result.failed = len(names)
    if status != 0 and result.failed == 0:
        # A crash, timeout or sanitizer report outside any test: one failure for the binary.
        result.failed = 1
        result.note = _describe_status(status, timeout) + " without a failed test"
    elif status == 0 and not passed:
        result.failed = 1
        result.note = "no googletest summary in the output"
    return result


def _run_replay(label, binary, timeout):
    name = binary.name[:-len("_replay")]
    corpus = _CORPUS_DIR / name
    if not corpus.is_dir():
        return _Result(label, note=f"skipped (no fuzzers/corpus/{name})")
    status, output, seconds = _execute([binary, corpus], timeout)
    result = _Result(label, seconds=seconds, output=output)
    if status == 0:
        result.passed = 1
    else:
        result.failed = 1
        result.note = _describe_status(status, timeout)
    return result


def _run_script(label, script, timeout, release_dir):
    env = dict(os.environ, SCALLOC_OUT=str(release_dir))
    if os.access(script, os.X_OK):
        cmd = [script]
    else:
        # Not marked executable (e.g. lost in a copy): run it through its interpreter anyway.
        cmd = ["bash", script] if script.suffix == ".sh" else [sys.executable, script]
    status, output, seconds = _execute(cmd, timeout, env)
    result = _Result(label, seconds=seconds, output=output)
    result.passed = len(_SCRIPT_PASS.findall(output))
    result.failed = len(_SCRIPT_FAIL.findall(output))
    if status != 0 and result.failed == 0:
        result.failed = 1
        result.note = _describe_status(status, timeout) + " without a FAIL line"
    return result


def _executables(directory, pattern):
    return sorted(p for p in directory.glob(pattern) if p.is_file() and os.access(p, os.X_OK))


def _ninja_outputs(directory):
    """Files the current build graph produces, so binaries left from removed targets are not run."""
    try:
        listing = subprocess.run(["ninja", "-C", str(directory), "-t", "targets", "all"],
                                 stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                                 check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    return {os.path.normpath(line.split(":")[0]) for line in listing.splitlines() if ":" in line}


def _discover(config, directory, timeout, printer):
    known = _ninja_outputs(directory)
    jobs = []
    for pattern, runner in (("*_tests", _run_gtest), ("*fuzzer*_replay", _run_replay)):
        for binary in _executables(directory, pattern):
            if known is not None and binary.name not in known:
                printer(f"== {config}/{binary.name}: skipped (stale: no longer in the build)")
                continue
            label = f"{config}/{binary.name}"
            jobs.append((label, lambda b=binary, l=label, r=runner: r(l, b, timeout)))
    return jobs


def _fuzz_smoke(seconds):
    """Runs commands.fuzz.smoke(seconds) when that module provides it; returns a _Result or None."""
    label = "fuzz smoke"
    try:
        module = importlib.import_module("commands.fuzz")
    except ModuleNotFoundError as error:
        if error.name in ("commands.fuzz", "commands"):
            return _Result(label, note="skipped (tools/lib/commands/fuzz.py is not there)")
        return _Result(label, failed=1, output=traceback.format_exc(), note="cannot import fuzz.py")
    except Exception:  # pylint: disable=broad-except
        return _Result(label, failed=1, output=traceback.format_exc(), note="cannot import fuzz.py")
    smoke = getattr(module, "smoke", None)
    if not callable(smoke):
        return _Result(label, note="skipped (fuzz.py has no smoke())")
    start = time.monotonic()
    try:
        passed, failed = smoke(seconds)
    except (Exception, SystemExit) as error:  # pylint: disable=broad-except
        return _Result(label, failed=1, seconds=time.monotonic() - start, output=traceback.format_exc(),
                       note=f"smoke() raised {type(error).__name__}: {error}")
    return _Result(label, passed=int(passed), failed=int(failed), seconds=time.monotonic() - start)


def _report(progress, result):
    if result.passed == 0 and result.failed == 0 and result.note:
        progress.note(f"== {result.label}: {result.note}")
        return
    line = f"== {result.label}: {result.passed} passed, {result.failed} failed ({result.seconds:.1f}s)"
    if result.note:
        line += f" [{result.note}]"
    progress.note(line)
    if result.failed and result.output:
        progress.note(f"---- output of {result.label} ----")
        progress.note(result.output.rstrip("\n"))
        progress.note(f"---- end of {result.label} ----")


def _test(args):
    ensure_setup()
    configs = ["release"] if args.quick or args.no_asan else ["release", "asan"]
    results = []
    jobs = []
    built = set()
    printer = print
    for config in configs:
        print(f"== building {config} (out/{config})", flush=True)
        try:
            directory = build(config)
        except ToolError as error:
            results.append(_Result(f"build {config}", failed=1, note=str(error)))
            print(f"== build {config}: FAILED: {error}", flush=True)
            continue
        built.add(config)
        jobs += _discover(config, directory, args.timeout, printer)

    release_dir = out_dir("release")
    scripts = sorted(list(_INTEGRATION_DIR.glob("*_test.sh")) + list(_INTEGRATION_DIR.glob("*_test.py")))
    if "release" in built:
        for script in scripts:
            label = f"integration/{script.name}"
            jobs.append((label, lambda s=script, l=label: _run_script(l, s, args.timeout, release_dir)))
    elif scripts:
        print(f"== integration: skipped {len(scripts)} scripts (release build failed)")

    fuzz_smoke = args.fuzz_smoke or os.environ.get("CI", "").lower() == "true"
    total = len(jobs) + (1 if fuzz_smoke else 0)
    progress = Progress(total)
    for label, job in jobs:
        progress.step(label)
        result = job()
        results.append(result)
        _report(progress, result)
    if fuzz_smoke:
        progress.step(f"fuzz smoke ({args.fuzz_seconds}s per fuzzer)")
        sys.stdout.flush()
        result = _fuzz_smoke(args.fuzz_seconds)
        results.append(result)
        _report(progress, result)

    passed = sum(r.passed for r in results)
    failed = sum(r.failed for r in results)
    if passed == 0 and failed == 0:
        print("== no tests found (no out/<config>/*_tests, replays or tests/integration scripts)")
        failed = 1
    failures = [r.label for r in results if r.failed]
    if failures:
        print("== failed: " + ", ".join(failures))
    print(f"{passed} passed, {failed} failed", flush=True)
    return 1 if failed else 0


def register(subparsers):
    parser = subparsers.add_parser(
        "test",
        help="build and run the whole test suite",
        description="Builds out/release and out/asan, then runs every googletest binary "
        "(out/<config>/*_tests), corpus replay (out/<config>/*fuzzer*_replay over fuzzers/corpus/<name>) "
        "and integration script (tests/integration/*_test.{sh,py}). With --fuzz-smoke or CI=true it "
        "also runs each fuzzer briefly. The last line is \"N passed, M failed\"; the exit status is 1 "
        "if anything failed.")
    parser.add_argument("--quick", action="store_true", help="release configuration only")
    parser.add_argument("--no-asan", action="store_true", help="skip the asan configuration")
    parser.add_argument("--fuzz-smoke", action="store_true",
                        help="also run each fuzzer briefly (default when CI=true)")
    parser.add_argument("--fuzz-seconds", type=int, default=20, metavar="S",
                        help="seconds per fuzzer for the smoke run (default 20)")
    parser.add_argument("--timeout", type=int, default=600, metavar="S",
                        help="time limit per test binary or script in seconds (default 600)")
    parser.set_defaults(func=_test)
