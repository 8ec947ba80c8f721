# Running external commands with the command line echoed, so logs show exactly what ran.

import shlex
import subprocess
import sys

from scalloc_tool.errors import ToolError


def format_command(cmd):
    return shlex.join(str(part) for part in cmd)


def run(cmd, check=True, echo=True, **kwargs):
    """Runs cmd (a list) like subprocess.run, echoing "+ cmd" to stderr first.

    With check=True (default) a nonzero exit raises ToolError. Other keyword arguments go to
    subprocess.run (cwd, env, stdout, timeout, ...). A missing program raises ToolError as well.
    """
    cmd = [str(part) for part in cmd]
    if echo:
        print("+ " + format_command(cmd), file=sys.stderr, flush=True)
    try:
        result = subprocess.run(cmd, check=False, **kwargs)
    except FileNotFoundError as error:
        raise ToolError(f"cannot run {cmd[0]}: {error.strerror}") from error
    if check and result.returncode != 0:
        raise ToolError(f"command failed with exit status {result.returncode}: {format_command(cmd)}",
                        exit_code=result.returncode if 0 < result.returncode < 126 else 1)
    return result
