# Build configurations (name -> GN args) and the gn gen + ninja step shared by all commands.

import os
import shutil
import subprocess

from scalloc_tool.errors import ToolError
from scalloc_tool.paths import REPO_ROOT, out_dir
from scalloc_tool.process import run

# Each configuration builds into out/<name>. Values are GN literals (strings keep their quotes).
CONFIGS = {
    "release": {"is_debug": "false"},
    "debug": {"is_debug": "true"},
    "asan": {"use_asan": "true", "is_debug": "false"},
    "fuzz": {"use_libfuzzer": "true", "use_asan": "true", "use_ubsan": "true", "is_debug": "false"},
    "gcc": {"compiler": '"gcc"', "is_debug": "false"},
    "coverage": {"use_coverage": "true", "is_debug": "false"},
}


def _gn_literal(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def render_args(gn_args):
    """The args.gn text for a dict of GN args (sorted, so equal args give equal text)."""
    lines = ["# Written by tools/scalloc build for this configuration; rewritten when its arguments change."]
    lines += [f"{name} = {_gn_literal(gn_args[name])}" for name in sorted(gn_args)]
    return "\n".join(lines) + "\n"


def _resolve_args(config, gn_args):
    if config not in CONFIGS and gn_args is None:
        raise ToolError(f"unknown build configuration {config!r} (known: {', '.join(CONFIGS)})")
    merged = dict(CONFIGS.get(config, {}))
    merged.update(gn_args or {})
    return merged


def gn_gen(config, gn_args=None, force=False):
    """Writes out/<config>/args.gn and runs `gn gen` unless the directory already has those args.

    Returns the output directory. Once generated, ninja itself reruns gn when BUILD files change.
    """
    directory = out_dir(config)
    text = render_args(_resolve_args(config, gn_args))
    args_file = directory / "args.gn"
    current = args_file.read_text() if args_file.exists() else None
    if not force and current == text and (directory / "build.ninja").exists():
        return directory
    directory.mkdir(parents=True, exist_ok=True)
    args_file.write_text(text)
    run(["gn", "gen", os.path.relpath(directory, REPO_ROOT)], cwd=REPO_ROOT)
    return directory


def _jobs():
    value = os.environ.get("SCALLOC_JOBS")
    if value:
        if not value.isdigit() or int(value) < 1:
            raise ToolError(f"SCALLOC_JOBS must be a positive integer, got {value!r}")
        return int(value)
    return os.cpu_count() or 2


def _up_to_date(directory, targets):
    """True when ninja has nothing to do for targets (a dry run, no output)."""
    result = subprocess.run(["ninja", "-C", str(directory), "-n"] + list(targets or []),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False)
    return result.returncode == 0 and "ninja: no work to do." in result.stdout


def build(config, targets=None, gn_args=None, quiet=False):
    """Generates (when needed) and builds out/<config>; returns the output directory.

    targets: ninja targets (default: the default target, i.e. everything for that config).
    gn_args: dict of extra or overriding GN args; required for a config not in CONFIGS.
    quiet: print nothing when everything is already up to date.
    Raises ToolError when gn or ninja fail.
    """
    for tool in ("gn", "ninja"):
        if not shutil.which(tool):
            raise ToolError(f"{tool} not found; run tools/scalloc setup")
    directory = gn_gen(config, gn_args)
    if quiet and _up_to_date(directory, targets):
        return directory
    run(["ninja", "-C", os.path.relpath(directory, REPO_ROOT), f"-j{_jobs()}"] + list(targets or []),
        cwd=REPO_ROOT)
    return directory
