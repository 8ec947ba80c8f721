# `tools/scalloc bench`: the benchmark suite against glibc, jemalloc, tcmalloc and mimalloc (table, JSON,
# CSV, charts), and `bench callgrind` (instructions per malloc/free pair). The runner is in tools/bench/.

import datetime
import os
import pathlib
import platform
import shutil
import subprocess
import sys
import time

from scalloc_tool import REPO_ROOT, Progress, ToolError, build, ensure_setup, out_dir, run

sys.path.insert(0, str(REPO_ROOT / "tools" / "bench"))

# These need the sys.path entry above.
from scalloc_bench import allocators as allocators_lib  # noqa: E402
from scalloc_bench import binaries, callgrind, plots, report, runner  # noqa: E402
from scalloc_bench import synthetic_trace, workloads  # noqa: E402

_BUILD_TARGETS = ["tools/bench:all", "src:scalloc", "src:scalloc_hardened"]


def _int_list(text, what):
    try:
        values = sorted({int(part) for part in text.split(",") if part.strip()})
    except ValueError:
        raise ToolError(f"{what} wants comma-separated integers, got {text!r}") from None
    if not values or values[0] < 1:
        raise ToolError(f"{what} wants positive integers, got {text!r}")
    return values


def _names(text):
    return [part.strip() for part in text.split(",") if part.strip()] if text else []


def _prepare(args, needed_workloads):
    """Builds out/release and picks where the binaries come from; returns (bin_dir, release_dir, notes)."""
    release_dir = out_dir("release")
    notes = []
    if not args.no_build:
        ensure_setup()
        try:
            build("release", _BUILD_TARGETS)
        except ToolError as error:
            notes.append(f"note: building out/release failed ({error}); scalloc libraries that are not "
                         "there are skipped and the workloads are compiled standalone")
    if args.bin_dir:
        bin_dir = os.path.abspath(args.bin_dir)
        absent = binaries.missing(bin_dir, needed_workloads)
        if absent:
            raise ToolError(f"--bin-dir {bin_dir} lacks {', '.join(absent)}")
    elif not binaries.missing(release_dir, needed_workloads):
        bin_dir = str(release_dir)
    else:
        bin_dir = os.path.join(args.out, "bin")
        notes.append(f"note: workload binaries not in {release_dir}; compiled standalone into {bin_dir}")
        try:
            binaries.compile_standalone(bin_dir, run)
        except RuntimeError as error:
            raise ToolError(str(error)) from error
    return bin_dir, str(release_dir), notes


def _warn_if_busy(load):
    """Other jobs on the machine distort timings, thread scaling most of all; say so up front."""
    cpus = os.cpu_count() or 1
    if load > max(cpus - 1, 0.5):
        print(f"note: load average {load:.1f} on {cpus} CPUs: other jobs compete for the cores; expect "
              "noisy timings and flat thread scaling", flush=True)


def _setup(args, needed_workloads):
    """Output directory, build, binaries and allocators; prints the notes.

    Returns (bin_dir, allocators, notes).
    """
    args.out = os.path.abspath(args.out or REPO_ROOT / "out" / "bench")
    os.makedirs(args.out, exist_ok=True)
    bin_dir, release_dir, notes = _prepare(args, needed_workloads)
    try:
        allocator_list, skipped = allocators_lib.resolve(_names(args.allocators), release_dir)
    except ValueError as error:
        raise ToolError(str(error)) from error
    notes += skipped
    for note in notes:
        print(note, flush=True)
    if not allocator_list:
        raise ToolError("none of the requested allocators is available")
    return bin_dir, allocator_list, notes


def _git_revision():
    result = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO_ROOT, capture_output=True,
                            text=True, check=False)
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=REPO_ROOT,
                           capture_output=True, text=True, check=False)
    revision = result.stdout.strip() if result.returncode == 0 else "unknown"
    return revision + ("+changes" if dirty.stdout.strip() else "")


def _meta(args, allocator_list, notes, bin_dir, extra):
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "host": platform.node(),
        "kernel": platform.release(),
        "cpus": os.cpu_count(),
        "revision": _git_revision(),
        "command": "tools/scalloc " + " ".join(sys.argv[1:]),
        "allocators": {a.name: a.preload or "(system malloc)" for a in allocator_list},
        "notes": notes,
        "bin_dir": bin_dir,
    } | extra


def _run_suite(args):
    quick = args.quick
    runs = args.runs if args.runs is not None else (3 if quick else 5)
    if runs < 1:
        raise ToolError("--runs must be at least 1")
    thread_counts = _int_list(args.threads or "1,2,4", "--threads")
    try:
        selected = workloads.select(_names(args.workloads))
    except ValueError as error:
        raise ToolError(str(error)) from error
    if args.trace and not os.path.isfile(args.trace):
        raise ToolError(f"--trace {args.trace}: no such file")
    bin_dir, allocator_list, notes = _setup(args, selected)
    names = [a.name for a in allocator_list]
    baseline = allocators_lib.baseline(names)

    trace_path = None
    if any(w.name == "trace_replay" for w in selected):
        trace_path = os.path.abspath(args.trace) if args.trace else synthetic_trace.write(
            os.path.join(args.out, "synthetic.trace"))
    configs = workloads.configurations(selected, thread_counts)
    print(f"bench: {len(configs)} configuration(s) x {len(names)} allocator(s) x {runs} run(s), "
          f"{'quick' if quick else 'full'} sizes, binaries from {bin_dir}", flush=True)

    load_at_start = os.getloadavg()[0]
    _warn_if_busy(load_at_start)

    started = time.monotonic()
    progress = Progress(runs * len(configs) * len(names))
    all_runs, errors = runner.run_suite(configs, allocator_list, runs, quick, bin_dir, trace_path,
                                        args.timeout, progress)
    progress.note(f"bench: {len(all_runs)} runs in {time.monotonic() - started:.0f} s")
    errors += report.checksum_errors(all_runs, configs)

    rows = report.summarize(all_runs, configs, names, baseline)
    geo = report.geomeans(rows, configs, names)
    scale = report.scaling(rows, names, thread_counts)
    print()
    print(report.format_table(rows, configs, names, baseline, runs, geo, scale))
    print(f"Load average (1 min) on {os.cpu_count()} CPUs: {load_at_start:.1f} at start, "
          f"{os.getloadavg()[0]:.1f} at end.")

    meta = _meta(args, allocator_list, notes, bin_dir, {
        "quick": quick, "runs": runs, "threads": thread_counts, "baseline": baseline,
        "trace": trace_path, "load_average_at_start": load_at_start,
        "load_average_at_end": os.getloadavg()[0],
        "workloads": {w.name: " ".join(runner.command_for(w, 1, bin_dir, quick, trace_path))
                      for w in selected},
    })
    out = args.out
    report.write_json(os.path.join(out, "results.json"), meta, rows, all_runs, geo, scale, errors)
    report.write_csv(os.path.join(out, "results.csv"), os.path.join(out, "runs.csv"), rows, all_runs)
    written = ["results.json", "results.csv", "runs.csv"]
    if args.no_plots:
        plot_notes = ["plots skipped (--no-plots)"]
    else:
        images, plot_notes = plots.draw(pathlib.Path(out), rows, configs, names, baseline, runs,
                                        thread_counts)
        written += [image.name for image in images]
    print()
    for note in plot_notes:
        print(f"note: {note}")
    print(f"bench: wrote {', '.join(written)} to {out}")
    for error in errors:
        print(error)
    return 1 if errors else 0


def _run_callgrind(args):
    if not shutil.which("valgrind"):
        raise ToolError("valgrind not found; run tools/scalloc setup")
    sizes = _int_list(args.size or "64", "--size")
    iterations = args.iters
    if iterations < 2:
        raise ToolError("--iters must be at least 2")
    loop = [workloads.BY_NAME["malloc_loop"]]
    bin_dir, allocator_list, notes = _setup(args, loop)
    progress = Progress(len(allocator_list) * len(sizes))
    binary = os.path.join(bin_dir, loop[0].binary)
    results, errors = callgrind.measure_all(binary, allocator_list, sizes, iterations, args.timeout,
                                            progress)
    print()
    print(callgrind.format_table(results, sizes, iterations))
    meta = _meta(args, allocator_list, notes, bin_dir, {"sizes": sizes, "iterations": iterations,
                                                             "load_average": os.getloadavg()[0]})
    path = os.path.join(args.out, "callgrind.json")
    callgrind.write_json(path, meta, results, errors)
    print(f"\nbench: wrote {path}")
    for error in errors:
        print(error)
    return 1 if errors else 0


def _bench(args):
    if args.list:
        print("workloads:")
        for w in workloads.WORKLOADS:
            print(f"  {w.name:<18} {'1..N threads' if w.scalable else '1 thread':<13} {w.description}")
        print("allocators: " + ", ".join(allocators_lib.ORDER))
        return 0
    if args.action == "callgrind":
        return _run_callgrind(args)
    return _run_suite(args)


def register(subparsers):
    parser = subparsers.add_parser(
        "bench",
        help="benchmark suite vs glibc/jemalloc/tcmalloc/mimalloc; `bench callgrind` counts instructions",
        description="Builds out/release, runs every workload under every allocator (LD_PRELOAD), "
        "interleaved, and reports medians of wall time and peak RSS with ratios, checksums checked across "
        "allocators. Writes results.json, results.csv, runs.csv and charts to --out. `bench callgrind` "
        "runs malloc_loop under callgrind and reports instructions per malloc/free pair. Methodology: "
        "docs/benchmarks.md.")
    parser.add_argument("action", nargs="?", choices=["run", "callgrind"], default="run",
                        help="run the suite (default) or count instructions with callgrind")
    parser.add_argument("--quick", action="store_true",
                        help="small problem sizes and 3 runs (a few minutes)")
    parser.add_argument("--allocators", default=",".join(allocators_lib.ORDER),
                        help="comma-separated (default: %(default)s); missing libraries are skipped")
    parser.add_argument("--threads", help="thread counts for the multi-threaded workloads (default: 1,2,4)")
    parser.add_argument("--runs", type=int,
                        help="runs per allocator and configuration (default 5, quick 3)")
    parser.add_argument("--workloads", help="comma-separated subset (default: all; see --list)")
    parser.add_argument("--out", help="output directory (default: out/bench)")
    parser.add_argument("--trace", help="trace file for trace_replay (default: a synthetic trace in --out)")
    parser.add_argument("--timeout", type=int, default=600,
                        help="seconds before one run is killed (default %(default)s)")
    parser.add_argument("--no-build", action="store_true", help="do not build out/release first")
    parser.add_argument("--bin-dir", help="take the bench_* binaries from this directory")
    parser.add_argument("--no-plots", action="store_true", help="skip the gnuplot charts")
    parser.add_argument("--list", action="store_true", help="list workloads and allocators, then exit")
    parser.add_argument("--size", help="callgrind: comma-separated block sizes (default 64)")
    parser.add_argument("--iters", type=int, default=200000,
                        help="callgrind: malloc/free pairs N of the longer run (default %(default)s)")
    parser.set_defaults(func=_bench)
