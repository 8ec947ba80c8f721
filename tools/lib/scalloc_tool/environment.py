# Checks for and installs the Debian packages in packages.py (tools/scalloc setup, and before builds).

import os
import shutil
import subprocess

from scalloc_tool.errors import ToolError
from scalloc_tool.packages import PACKAGES
from scalloc_tool.process import run

# Commands the build cannot do without; used when dpkg is not there to ask.
_ESSENTIAL_COMMANDS = ["gn", "ninja", "clang++", "python3"]


def missing_packages(packages=None):
    """Names of the packages (default: all of PACKAGES) that dpkg does not list as installed."""
    packages = list(packages or PACKAGES)
    result = subprocess.run(
        ["dpkg-query", "-W", "-f=${Package}\\t${db:Status-Abbrev}\\n"] + packages,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        check=False,
    )
    installed = set()
    for line in result.stdout.splitlines():
        name, _, status = line.partition("\t")
        # "ii" = desired install, currently installed.
        if status.startswith("ii"):
            installed.add(name.split(":")[0])
    return [p for p in packages if p not in installed]


def _privilege_prefix():
    if os.geteuid() == 0:
        return []
    if shutil.which("sudo"):
        return ["sudo"]
    return None


def ensure_setup(verbose=False):
    """Installs whatever in PACKAGES is missing. Silent when nothing is missing.

    Raises ToolError (naming the packages) when they cannot be installed.
    """
    if not shutil.which("dpkg-query"):
        absent = [c for c in _ESSENTIAL_COMMANDS if not shutil.which(c)]
        if absent:
            raise ToolError(
                "this is not a Debian system (no dpkg-query) and these commands are missing: "
                + " ".join(absent) + ". Install the equivalents of: " + " ".join(PACKAGES))
        if verbose:
            print("setup: no dpkg-query; found gn, ninja, clang++ and python3, assuming the rest is there")
        return

    missing = missing_packages()
    if not missing:
        if verbose:
            print(f"setup: all {len(PACKAGES)} packages are installed")
        return

    names = " ".join(missing)
    prefix = _privilege_prefix()
    if prefix is None:
        raise ToolError(
            f"missing packages: {names}\n"
            "Not running as root and sudo is not available. As root, run:\n"
            f"  apt-get update && apt-get install -y {names}")

    print(f"setup: installing {names}", flush=True)
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    apt = prefix + ["env", "DEBIAN_FRONTEND=noninteractive", "apt-get"] if prefix else ["apt-get"]
    try:
        run(apt + ["update"], env=env, stdin=subprocess.DEVNULL)
        run(apt + ["install", "-y"] + missing, env=env, stdin=subprocess.DEVNULL)
    except ToolError as error:
        raise ToolError(f"installing packages failed ({error}); still missing: {names}") from error

    still_missing = missing_packages()
    if still_missing:
        raise ToolError("apt-get finished but these packages are still not installed: "
                        + " ".join(still_missing))
    print("setup: done", flush=True)
