# `tools/scalloc setup`: installs the Debian packages the project needs (only the missing ones).

from scalloc_tool import ensure_setup
from scalloc_tool.packages import PACKAGES


def _setup(args):
    if args.list:
        print("\n".join(PACKAGES))
        return 0
    ensure_setup(verbose=args.verbose)
    return 0


def register(subparsers):
    parser = subparsers.add_parser(
        "setup",
        help="install missing build/test dependencies (Debian packages)",
        description="Installs the Debian packages listed in tools/lib/scalloc_tool/packages.py that are "
        "not installed yet (apt-get, as root or through sudo). Prints nothing when all are present.")
    parser.add_argument("--list", action="store_true", help="print the package list and exit")
    parser.add_argument("-v", "--verbose", action="store_true", help="say so when nothing is missing")
    parser.set_defaults(func=_setup)
