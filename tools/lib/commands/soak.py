# `tools/scalloc soak [--minutes M] [--mode fast|hardened|both]`: the long form of the soak test
# (tests/soak/soak_test.cc); the test suite runs the same binaries for 15 s each.

import os

from scalloc_tool import ToolError, build, ensure_setup, run


def _soak(args):
    ensure_setup()
    modes = ["fast", "hardened"] if args.mode == "both" else [args.mode]
    targets = [f"soak_{mode}_tests" for mode in modes]
    directory = build("release", targets)
    env = dict(os.environ)
    env["SCALLOC_SOAK_SECONDS"] = str(args.minutes * 60 / len(modes))
    for target in targets:
        result = run([str(directory / target)], check=False, env=env)
        if result.returncode != 0:
            raise ToolError(f"{target} failed (exit status {result.returncode})")


def register(subparsers):
    parser = subparsers.add_parser(
        "soak",
        help="long multi-threaded random churn through the malloc override (default 10 minutes)",
        description="Runs the soak test binaries (threads created and destroyed, remote frees, reallocs, "
        "every size class, content checks, an RSS bound) for the given time, split over the modes.")
    parser.add_argument("--minutes", type=float, default=10.0, help="total duration [10]")
    parser.add_argument("--mode", choices=["fast", "hardened", "both"], default="both",
                        help="which library to soak [both]")
    parser.set_defaults(func=_soak)
