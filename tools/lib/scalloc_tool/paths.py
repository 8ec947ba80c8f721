# Locations in the repository that every command needs.

import pathlib

# tools/lib/scalloc_tool/paths.py -> repository root.
REPO_ROOT = pathlib.Path(__file__).resolve().parents[3]


def out_dir(config):
    """Build directory of a configuration: out/<config> under the repository root."""
    return REPO_ROOT / "out" / config
