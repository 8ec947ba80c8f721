# The measuring loop: runs each (workload, threads) configuration under each allocator, interleaved, N
# times, recording wall time, CPU time and peak RSS of every run, and the result lines the workload printed.
import dataclasses
import os
import signal
import subprocess
import tempfile
import threading
import time

from scalloc_bench import allocators as allocators_lib


@dataclasses.dataclass
class Run:
    workload: str
    threads: int
    allocator: str
    index: int              # run number, 0-based
    wall_s: float = 0.0     # spawn to reap, measured here
    cpu_s: float = 0.0      # user + system, from wait4
    rss_kib: int = 0        # peak RSS of the workload (see measure())
    maxrss_kib: int = 0     # wait4's ru_maxrss, kept for reference
    status: int = 0         # exit status; negative: killed by that signal
    timed_out: bool = False
    values: dict = dataclasses.field(default_factory=dict)  # key=value lines the workload printed
    stderr: str = ""

    @property
    def ok(self):
        return self.status == 0 and not self.timed_out and "checksum" in self.values

    @property
    def skipped(self):
        return self.values.get("skipped") == 1


def parse_values(text):
    """Every `key=value` token of the output; integer values become ints."""
    values = {}
    for token in text.split():
        key, sep, value = token.partition("=")
        if not sep or not key:
            continue
        try:
            values[key] = int(value)
        except ValueError:
            values[key] = value
    return values


def _kill_group(pid, fired):
    fired.set()
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def measure(cmd, env, timeout_s):
    """Runs cmd once; returns a Run with the measurements filled in (the caller sets the labels).

    Peak RSS: the workloads print the kernel's high-water mark of their own image (VmHWM). wait4's
    ru_maxrss cannot be used alone: Linux carries the pages the child had before exec (a copy of this Python
    process, tens of MiB) into it, which would swamp small workloads. It is used when no VmHWM was printed.
    """
    run = Run("", 0, "", 0)
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        fired = threading.Event()
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                                start_new_session=True)
        timer = threading.Timer(timeout_s, _kill_group, (proc.pid, fired))
        timer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        except BaseException:
            _kill_group(proc.pid, threading.Event())
            proc.wait()
            raise
        finally:
            timer.cancel()
        run.wall_s = time.perf_counter() - start
        run.status = os.waitstatus_to_exitcode(status)
        proc.returncode = run.status  # reaped here, not by Popen
        run.timed_out = fired.is_set()
        run.cpu_s = usage.ru_utime + usage.ru_stime
        run.maxrss_kib = usage.ru_maxrss
        out.seek(0)
        err.seek(0)
        run.values = parse_values(out.read().decode("utf-8", errors="replace"))
        run.stderr = err.read().decode("utf-8", errors="replace")
    run.rss_kib = run.values.get("peak_rss_kib") or run.maxrss_kib
    return run


def command_for(workload, threads, bin_dir, quick, trace_path):
    cmd = [os.path.join(bin_dir, workload.binary), "--threads", str(threads)]
    if quick:
        cmd.append("--quick")
    cmd += list(workload.args)
    if workload.name == "trace_replay" and trace_path:
        cmd += ["--trace", str(trace_path)]
    return cmd


def describe_failure(run):
    if run.timed_out:
        why = "timed out"
    elif run.status < 0:
        why = f"killed by signal {-run.status}"
    elif run.status != 0:
        why = f"exit status {run.status}"
    else:
        why = "no checksum= line in its output"
    tail = " | ".join(run.stderr.strip().splitlines()[-3:])
    return f"{run.workload} t={run.threads} {run.allocator} run {run.index + 1}: {why}" + (
        f": {tail}" if tail else "")


def run_suite(configs, allocators, runs, quick, bin_dir, trace_path, timeout_s, progress):
    """Runs everything interleaved: for each run index, for each configuration, each allocator in turn.

    Interleaving spreads slow drifts of a shared machine (other jobs, thermal state) over all allocators
    instead of charging them to whichever ran last. Returns (runs, errors).
    """
    results, errors = [], []
    for index in range(runs):
        for workload, threads in configs:
            for allocator in allocators:
                progress.step(f"{workload.name} t={threads} {allocator.name} run {index + 1}/{runs}")
                cmd = command_for(workload, threads, bin_dir, quick, trace_path)
                run = measure(cmd, allocators_lib.child_env(allocator), timeout_s)
                run.workload, run.threads, run.index = workload.name, threads, index
                run.allocator = allocator.name
                results.append(run)
                if not run.ok:
                    message = "error: " + describe_failure(run)
                    errors.append(message)
                    progress.note(message)
    return results, errors
