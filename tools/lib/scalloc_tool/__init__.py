# Shared helpers for tools/scalloc command modules: paths, setup, building, running commands, progress.
"""Helpers for the modules in tools/lib/commands/.

A command module imports what it needs from here:

    from scalloc_tool import REPO_ROOT, ToolError, build, ensure_setup, out_dir, run

    REPO_ROOT                  pathlib.Path of the repository root.
    out_dir(config)            REPO_ROOT/out/<config> (the directory need not exist yet).
    CONFIGS                    build configurations: name -> dict of GN args (release, debug, asan, fuzz,
                               gcc, coverage).
    ensure_setup()             installs missing Debian packages (see packages.py); quiet when nothing is
                               missing; raises ToolError if they cannot be installed.
    build(config, targets=None, gn_args=None, quiet=False)
                               runs `gn gen` when the args changed or the directory is new, then ninja;
                               returns out_dir(config). gn_args overrides or extends CONFIGS[config] and
                               is required for a config name not in CONFIGS. quiet=True prints
                               nothing when the targets are already up to date.
    run(cmd, **kwargs)         echoes and runs a command (subprocess.run keywords accepted); raises
                               ToolError on a nonzero exit unless check=False.
    Progress(total)            prints "[i/total] text" lines; .step(text), .note(text).
    ToolError                  raise it with a message: tools/scalloc prints "scalloc: <message>" and
                               exits 1 (or ToolError.exit_code).
"""

from scalloc_tool.builder import CONFIGS, build, gn_gen
from scalloc_tool.environment import ensure_setup, missing_packages
from scalloc_tool.errors import ToolError
from scalloc_tool.paths import REPO_ROOT, out_dir
from scalloc_tool.process import run
from scalloc_tool.progress import Progress

__all__ = [
    "CONFIGS",
    "Progress",
    "REPO_ROOT",
    "ToolError",
    "build",
    "ensure_setup",
    "gn_gen",
    "missing_packages",
    "out_dir",
    "run",
]
