# `tools/scalloc run -- CMD ARGS...`: runs a program with scalloc preloaded as its malloc.

import argparse
import os
import sys

from scalloc_tool import ToolError, build, ensure_setup


def _run(args):
    command = list(args.cmd)
    if command and command[0] == "--":
        command = command[1:]
    if not command:
        raise ToolError("nothing to run: tools/scalloc run [--hardened] [--debug] [--stats] -- CMD ARGS...")

    config = "debug" if args.debug else "release"
    library = "libscalloc_hardened.so" if args.hardened else "libscalloc.so"
    ensure_setup()
    # Incremental: ninja has nothing to do when the library is up to date. Build output goes to stderr
    # so the program's stdout stays clean.
    stdout = os.dup(1)
    try:
        os.dup2(2, 1)
        directory = build(config, [library], quiet=True)
    finally:
        os.dup2(stdout, 1)
        os.close(stdout)

    path = directory / library
    if not path.exists():
        raise ToolError(f"{path} was not built")
    env = dict(os.environ)
    preload = env.get("LD_PRELOAD", "").strip()
    env["LD_PRELOAD"] = f"{preload} {path}".strip() if preload else str(path)
    if args.stats:
        # The library prints its statistics table to stderr when the process exits (option stats=1).
        options = env.get("SCALLOC_OPTIONS", "")
        env["SCALLOC_OPTIONS"] = f"{options}:stats=1" if options else "stats=1"
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        os.execvpe(command[0], command, env)
    except OSError as error:
        raise ToolError(f"cannot run {command[0]}: {error.strerror}", exit_code=127) from error


def register(subparsers):
    parser = subparsers.add_parser(
        "run",
        help="run a program with scalloc as its malloc (LD_PRELOAD)",
        description="Builds the preload library if needed (out/release, or out/debug with --debug) and "
        "runs CMD with it added to LD_PRELOAD. Exits with CMD's exit status.",
        usage="tools/scalloc run [--hardened] [--debug] [--stats] -- CMD [ARGS...]")
    parser.add_argument("--hardened", action="store_true", help="use libscalloc_hardened.so")
    parser.add_argument("--debug", action="store_true", help="use the debug build (out/debug)")
    parser.add_argument("--stats", action="store_true",
                        help="print the allocator's per-size-class statistics table when CMD exits")
    parser.add_argument("cmd", nargs=argparse.REMAINDER, help="the program and its arguments")
    parser.set_defaults(func=_run)

