# `tools/scalloc build`: gn gen (when the arguments changed) and ninja for one configuration.

from scalloc_tool import CONFIGS, build, ensure_setup


def _build(args):
    ensure_setup()
    if not args.gcc:
        build(args.config, args.targets)
    elif args.config == "release":
        build("gcc", args.targets)
    else:
        # g++ with another mode gets its own directory, so out/gcc keeps its release args.
        build(f"gcc_{args.config}", args.targets, gn_args=dict(CONFIGS[args.config], compiler='"gcc"'))
    return 0


def register(subparsers):
    parser = subparsers.add_parser(
        "build",
        help="build one configuration into out/<config>",
        description="Builds everything for one configuration: out/release (default), out/debug, "
        "out/asan or out/fuzz. --gcc builds with g++ into out/gcc (out/gcc_<config> with another mode).")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--release", dest="config", action="store_const", const="release",
                      help="optimized build (default): out/release")
    mode.add_argument("--debug", dest="config", action="store_const", const="debug",
                      help="-O0 with DCHECKs: out/debug")
    mode.add_argument("--asan", dest="config", action="store_const", const="asan",
                      help="AddressSanitizer build: out/asan")
    mode.add_argument("--fuzz", dest="config", action="store_const", const="fuzz",
                      help="libFuzzer + ASan + UBSan build: out/fuzz")
    parser.add_argument("--gcc", action="store_true", help="compile with g++ instead of clang")
    parser.add_argument("targets", nargs="*", help="ninja targets (default: everything)")
    parser.set_defaults(func=_build, config="release")
